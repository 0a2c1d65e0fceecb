/* Unit tests for proto/envelope.h: round trips and hostile input. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>

#include "proto/envelope.h"
#include "proto/msg.h"
#include "proto/status.h"

#define USER "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
#define EVID "9b2d1c1e-7c4a-4b7e-8f3a-2a1d5e6f7a8b"

static void pack_str(msgpack_packer *pk, const char *s)
{
    proto_pack_cstr(pk, s);
}

/* args = {"amount": "12.50", "tags": [1, "x"]} */
static void pack_args(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "amount");
    pack_str(&pk, "12.50");
    pack_str(&pk, "tags");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    pack_str(&pk, "x");
}

static void fill_request(struct proto_request *r)
{
    memset(r, 0, sizeof *r);
    strcpy(r->id, "req-1");
    strcpy(r->method, "txn.create");
    strcpy(r->user, USER);
    strcpy(r->idem, "idem-key-7");
    r->deadline_ms = 1700000000123;
}

/* A valid encoded request in sb (caller destroys). */
static void valid_request(msgpack_sbuffer *sb)
{
    struct proto_request r;
    msgpack_sbuffer args;
    msgpack_sbuffer_init(&args);
    pack_args(&args);
    fill_request(&r);
    msgpack_sbuffer_init(sb);
    CU_ASSERT_EQUAL(proto_request_encode(sb, &r, args.data, args.size), 0);
    msgpack_sbuffer_destroy(&args);
}

static int decode_req(const char *buf, size_t len, struct proto_request *r)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    int rc = proto_request_decode(buf, len, &up, r);
    msgpack_unpacked_destroy(&up);
    return rc;
}

static void test_envelope_request_round_trip(void)
{
    msgpack_sbuffer sb;
    valid_request(&sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    struct proto_request r;
    CU_ASSERT_EQUAL_FATAL(proto_request_decode(sb.data, sb.size, &up, &r), 0);
    CU_ASSERT_STRING_EQUAL(r.id, "req-1");
    CU_ASSERT_STRING_EQUAL(r.method, "txn.create");
    CU_ASSERT_STRING_EQUAL(r.user, USER);
    CU_ASSERT_STRING_EQUAL(r.idem, "idem-key-7");
    CU_ASSERT_EQUAL(r.deadline_ms, 1700000000123);
    CU_ASSERT_EQUAL(r.args.type, MSGPACK_OBJECT_MAP);
    char amount[16];
    CU_ASSERT_EQUAL(proto_obj_str(proto_map_get(&r.args, "amount"), amount, sizeof amount), 0);
    CU_ASSERT_STRING_EQUAL(amount, "12.50");
    const msgpack_object *tags = proto_map_get(&r.args, "tags");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tags);
    CU_ASSERT_EQUAL(tags->type, MSGPACK_OBJECT_ARRAY);
    CU_ASSERT_EQUAL(tags->via.array.size, 2);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_request_nil_user_idem(void)
{
    struct proto_request r;
    fill_request(&r);
    r.user[0] = '\0';
    r.idem[0] = '\0';
    r.deadline_ms = -5;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    CU_ASSERT_EQUAL_FATAL(proto_request_encode(&sb, &r, NULL, 0), 0);

    /* on the wire they are nil, and args is an empty map */
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    CU_ASSERT_EQUAL_FATAL(msgpack_unpack_next(&up, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    CU_ASSERT_EQUAL(proto_map_get(&up.data, "user")->type, MSGPACK_OBJECT_NIL);
    CU_ASSERT_EQUAL(proto_map_get(&up.data, "idem")->type, MSGPACK_OBJECT_NIL);
    CU_ASSERT_EQUAL(proto_map_get(&up.data, "args")->type, MSGPACK_OBJECT_MAP);
    CU_ASSERT_EQUAL(proto_map_get(&up.data, "args")->via.map.size, 0);
    CU_ASSERT_EQUAL(proto_map_get(&up.data, "v")->via.u64, 1);

    struct proto_request d;
    strcpy(d.user, "garbage");
    CU_ASSERT_EQUAL(proto_request_decode(sb.data, sb.size, &up, &d), 0);
    CU_ASSERT_STRING_EQUAL(d.user, "");
    CU_ASSERT_STRING_EQUAL(d.idem, "");
    CU_ASSERT_EQUAL(d.deadline_ms, -5);
    CU_ASSERT_EQUAL(d.args.type, MSGPACK_OBJECT_MAP);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_request_encode_rejects(void)
{
    struct proto_request r;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    fill_request(&r);
    r.id[0] = '\0';
    CU_ASSERT_EQUAL(proto_request_encode(&sb, &r, NULL, 0), PROTO_EINVAL);
    fill_request(&r);
    r.method[0] = '\0';
    CU_ASSERT_EQUAL(proto_request_encode(&sb, &r, NULL, 0), PROTO_EINVAL);
    fill_request(&r);
    strcpy(r.user, "not-a-uuid");
    CU_ASSERT_EQUAL(proto_request_encode(&sb, &r, NULL, 0), PROTO_EINVAL);
    fill_request(&r);
    memset(r.id, 'a', sizeof r.id); /* not NUL-terminated within the field */
    CU_ASSERT_EQUAL(proto_request_encode(&sb, &r, NULL, 0), PROTO_ELIMIT);
    fill_request(&r);
    strcpy(r.method, "bad\xff");
    CU_ASSERT_EQUAL(proto_request_encode(&sb, &r, NULL, 0), PROTO_EUTF8);
    CU_ASSERT_EQUAL(sb.size, 0); /* nothing was written */
    fill_request(&r);
    char *huge = calloc(1, PROTO_ENVELOPE_MAX_BYTES + 16);
    CU_ASSERT_EQUAL(proto_request_encode(&sb, &r, huge, PROTO_ENVELOPE_MAX_BYTES + 16),
                    PROTO_ELIMIT);
    CU_ASSERT_EQUAL(sb.size, 0);
    free(huge);
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_reply_round_trip(void)
{
    msgpack_sbuffer body, hdr, sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&body);
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "balance");
    proto_pack_money(&pk, 12550, 2);
    msgpack_sbuffer_init(&hdr);
    msgpack_packer_init(&pk, &hdr, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "Idempotent-Replayed");
    pack_str(&pk, "true");
    msgpack_sbuffer_init(&sb);
    CU_ASSERT_EQUAL_FATAL(
        proto_reply_encode(&sb, "req-1", 201, body.data, body.size, hdr.data, hdr.size), 0);

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    struct proto_reply rep;
    CU_ASSERT_EQUAL_FATAL(proto_reply_decode(sb.data, sb.size, &up, &rep), 0);
    CU_ASSERT_STRING_EQUAL(rep.id, "req-1");
    CU_ASSERT_EQUAL(rep.status, 201);
    CU_ASSERT_EQUAL(rep.is_error, 0);
    int64_t minor = 0;
    CU_ASSERT_EQUAL(proto_obj_money(proto_map_get(&rep.body, "balance"), 2, &minor), 0);
    CU_ASSERT_EQUAL(minor, 12550);
    char v[16];
    CU_ASSERT_EQUAL(proto_obj_str(proto_map_get(&rep.headers, "Idempotent-Replayed"), v, sizeof v),
                    0);
    CU_ASSERT_STRING_EQUAL(v, "true");
    msgpack_unpacked_destroy(&up);

    /* no body, no headers */
    msgpack_sbuffer_clear(&sb);
    CU_ASSERT_EQUAL_FATAL(proto_reply_encode(&sb, "r2", 204, NULL, 0, NULL, 0), 0);
    msgpack_unpacked_init(&up);
    CU_ASSERT_EQUAL(proto_reply_decode(sb.data, sb.size, &up, &rep), 0);
    CU_ASSERT_EQUAL(rep.status, 204);
    CU_ASSERT_EQUAL(rep.body.type, MSGPACK_OBJECT_NIL);
    CU_ASSERT_EQUAL(rep.headers.type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy(&up);

    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&hdr);
    msgpack_sbuffer_destroy(&body);
}

static void test_envelope_reply_error_round_trip(void)
{
    msgpack_sbuffer sb, hdr;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    CU_ASSERT_EQUAL_FATAL(
        proto_reply_encode_error(&sb, "req-9", 422, "insufficient_funds", "balance is 3.00 USD"),
        0);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    struct proto_reply rep;
    CU_ASSERT_EQUAL_FATAL(proto_reply_decode(sb.data, sb.size, &up, &rep), 0);
    CU_ASSERT_EQUAL(rep.is_error, 1);
    CU_ASSERT_EQUAL(rep.status, 422);
    CU_ASSERT_STRING_EQUAL(rep.code, "insufficient_funds");
    CU_ASSERT_STRING_EQUAL(rep.message, "balance is 3.00 USD");
    CU_ASSERT_EQUAL(rep.body.type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy(&up);

    msgpack_sbuffer_init(&hdr);
    msgpack_packer_init(&pk, &hdr, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "Retry-After");
    pack_str(&pk, "3");
    msgpack_sbuffer_clear(&sb);
    CU_ASSERT_EQUAL_FATAL(
        proto_reply_encode_error_headers(&sb, "req-9", 429, "rate_limited", "", hdr.data, hdr.size),
        0);
    msgpack_unpacked_init(&up);
    CU_ASSERT_EQUAL_FATAL(proto_reply_decode(sb.data, sb.size, &up, &rep), 0);
    CU_ASSERT_EQUAL(rep.is_error, 1);
    CU_ASSERT_STRING_EQUAL(rep.message, "");
    char v[8];
    CU_ASSERT_EQUAL(proto_obj_str(proto_map_get(&rep.headers, "Retry-After"), v, sizeof v), 0);
    CU_ASSERT_STRING_EQUAL(v, "3");
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&hdr);

    msgpack_sbuffer_clear(&sb);
    CU_ASSERT_EQUAL(proto_reply_encode_error(&sb, "r", 99, "x", "y"), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_reply_encode_error(&sb, "r", 600, "x", "y"), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_reply_encode_error(&sb, "", 500, "x", "y"), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_reply_encode_error(&sb, "r", 500, "", "y"), PROTO_EINVAL);
    char longmsg[PROTO_MESSAGE_MAX + 2];
    memset(longmsg, 'm', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    CU_ASSERT_EQUAL(proto_reply_encode_error(&sb, "r", 500, "x", longmsg), PROTO_ELIMIT);
    longmsg[PROTO_MESSAGE_MAX] = '\0';
    CU_ASSERT_EQUAL(proto_reply_encode_error(&sb, "r", 500, "x", longmsg), 0);
    msgpack_sbuffer_clear(&sb);
    CU_ASSERT_EQUAL(proto_reply_encode(&sb, "r", 1000, NULL, 0, NULL, 0), PROTO_EINVAL);
    CU_ASSERT_EQUAL(sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_event_round_trip(void)
{
    struct proto_event ev = {0};
    strcpy(ev.id, EVID);
    strcpy(ev.type, "txn.posted");
    strcpy(ev.user, USER);
    ev.at_ms = 1700000000999;
    msgpack_sbuffer data, sb;
    msgpack_sbuffer_init(&data);
    pack_args(&data);
    msgpack_sbuffer_init(&sb);
    CU_ASSERT_EQUAL_FATAL(proto_event_encode(&sb, &ev, data.data, data.size), 0);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    struct proto_event d;
    CU_ASSERT_EQUAL_FATAL(proto_event_decode(sb.data, sb.size, &up, &d), 0);
    CU_ASSERT_STRING_EQUAL(d.id, EVID);
    CU_ASSERT_STRING_EQUAL(d.type, "txn.posted");
    CU_ASSERT_STRING_EQUAL(d.user, USER);
    CU_ASSERT_EQUAL(d.at_ms, 1700000000999);
    CU_ASSERT_EQUAL(d.data.type, MSGPACK_OBJECT_MAP);
    CU_ASSERT_PTR_NOT_NULL(proto_map_get(&d.data, "amount"));
    msgpack_unpacked_destroy(&up);

    ev.user[0] = '\0';
    msgpack_sbuffer_clear(&sb);
    CU_ASSERT_EQUAL_FATAL(proto_event_encode(&sb, &ev, NULL, 0), 0);
    msgpack_unpacked_init(&up);
    CU_ASSERT_EQUAL(proto_event_decode(sb.data, sb.size, &up, &d), 0);
    CU_ASSERT_STRING_EQUAL(d.user, "");
    CU_ASSERT_EQUAL(d.data.type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy(&up);

    msgpack_sbuffer_clear(&sb);
    strcpy(ev.id, "not-a-uuid");
    CU_ASSERT_EQUAL(proto_event_encode(&sb, &ev, NULL, 0), PROTO_EINVAL);
    strcpy(ev.id, EVID);
    ev.type[0] = '\0';
    CU_ASSERT_EQUAL(proto_event_encode(&sb, &ev, NULL, 0), PROTO_EINVAL);
    CU_ASSERT_EQUAL(sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&data);
}

/*
 * Packs a request map field by field; field `bad` (by name) gets `how`:
 * 0 = omitted, 1 = an int, 2 = a str "x", 3 = nil, 4 = an array, 5 = a float,
 * 6 = the string `str_val`. `extra` appends an unknown key.
 */
struct req_spec {
    const char *bad;
    int how;
    const char *str_val;
    int extra;
    int dup_user;
};

static void pack_spec_value(msgpack_packer *pk, const struct req_spec *sp)
{
    switch (sp->how) {
    case 1:
        msgpack_pack_int(pk, 5);
        break;
    case 2:
        pack_str(pk, "x");
        break;
    case 3:
        msgpack_pack_nil(pk);
        break;
    case 4:
        msgpack_pack_array(pk, 0);
        break;
    case 5:
        msgpack_pack_double(pk, 1.5);
        break;
    default:
        msgpack_pack_str(pk, strlen(sp->str_val));
        msgpack_pack_str_body(pk, sp->str_val, strlen(sp->str_val));
    }
}

static int decode_spec(const struct req_spec *sp)
{
    static const char *const keys[] = {"v", "id", "method", "user", "idem", "deadline", "args"};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    size_t n = 7 + (sp->extra ? 1 : 0) + (sp->dup_user ? 1 : 0);
    if (sp->bad && sp->how == 0)
        n--;
    msgpack_pack_map(&pk, n);
    for (int i = 0; i < 7; i++) {
        if (sp->bad && strcmp(sp->bad, keys[i]) == 0) {
            if (sp->how == 0)
                continue;
            pack_str(&pk, keys[i]);
            pack_spec_value(&pk, sp);
            continue;
        }
        pack_str(&pk, keys[i]);
        switch (i) {
        case 0:
            msgpack_pack_int(&pk, 1);
            break;
        case 1:
            pack_str(&pk, "r1");
            break;
        case 2:
            pack_str(&pk, "txn.list");
            break;
        case 3:
            pack_str(&pk, USER);
            break;
        case 4:
            msgpack_pack_nil(&pk);
            break;
        case 5:
            msgpack_pack_int64(&pk, 1700000000000);
            break;
        default:
            msgpack_pack_map(&pk, 0);
        }
    }
    if (sp->extra) {
        pack_str(&pk, "trace");
        msgpack_pack_array(&pk, 1);
        msgpack_pack_true(&pk);
    }
    if (sp->dup_user) {
        pack_str(&pk, "user");
        pack_str(&pk, "11111111-1111-1111-1111-111111111111");
    }
    struct proto_request r;
    int rc = decode_req(sb.data, sb.size, &r);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void test_envelope_request_field_types(void)
{
    struct {
        struct req_spec sp;
        int want;
    } cases[] = {
        {{NULL, 0, NULL, 0, 0}, 0},
        {{NULL, 0, NULL, 1, 0}, 0}, /* unknown keys are ignored */
        {{NULL, 0, NULL, 0, 1}, PROTO_ESYNTAX},
        {{"v", 0, NULL, 0, 0}, PROTO_EMISSING},
        {{"v", 2, NULL, 0, 0}, PROTO_ETYPE},
        {{"v", 5, NULL, 0, 0}, PROTO_ETYPE},
        {{"v", 1, NULL, 0, 0}, PROTO_EVERSION}, /* v: 5 */
        {{"id", 0, NULL, 0, 0}, PROTO_EMISSING},
        {{"id", 1, NULL, 0, 0}, PROTO_ETYPE},
        {{"id", 3, NULL, 0, 0}, PROTO_ETYPE},
        {{"id", 6, "", 0, 0}, PROTO_EINVAL},
        {{"id", 6, "0123456789012345678901234567890123456789012345678901234567890123456789", 0, 0},
         PROTO_ELIMIT},
        {{"method", 0, NULL, 0, 0}, PROTO_EMISSING},
        {{"method", 4, NULL, 0, 0}, PROTO_ETYPE},
        {{"method", 6, "txn.\xc3\x28", 0, 0}, PROTO_EUTF8},
        {{"user", 0, NULL, 0, 0}, 0},
        {{"user", 3, NULL, 0, 0}, 0},
        {{"user", 1, NULL, 0, 0}, PROTO_ETYPE},
        {{"user", 6, "not-a-uuid", 0, 0}, PROTO_EINVAL},
        {{"user", 6, USER "0", 0, 0}, PROTO_EINVAL},
        {{"idem", 1, NULL, 0, 0}, PROTO_ETYPE},
        {{"idem", 2, NULL, 0, 0}, 0},
        {{"deadline", 0, NULL, 0, 0}, PROTO_EMISSING},
        {{"deadline", 2, NULL, 0, 0}, PROTO_ETYPE},
        {{"deadline", 5, NULL, 0, 0}, PROTO_ETYPE},
        {{"deadline", 3, NULL, 0, 0}, PROTO_ETYPE},
        {{"args", 0, NULL, 0, 0}, 0},
        {{"args", 3, NULL, 0, 0}, 0},
        {{"args", 2, NULL, 0, 0}, PROTO_ETYPE},
        {{"args", 4, NULL, 0, 0}, PROTO_ETYPE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = decode_spec(&cases[i].sp);
        if (rc != cases[i].want)
            fprintf(stderr, "case %zu (%s/%d): got %d want %d\n", i,
                    cases[i].sp.bad ? cases[i].sp.bad : "-", cases[i].sp.how, rc, cases[i].want);
        CU_ASSERT_EQUAL(rc, cases[i].want);
    }
}

static void test_envelope_request_nul_in_string(void)
{
    /* A NUL inside a str would shorten the C string: rejected, not truncated. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pack_str(&pk, "v");
    msgpack_pack_int(&pk, 1);
    pack_str(&pk, "id");
    pack_str(&pk, "r1");
    pack_str(&pk, "method");
    msgpack_pack_str(&pk, 8);
    msgpack_pack_str_body(&pk, "txn\0evil", 8);
    pack_str(&pk, "deadline");
    msgpack_pack_int(&pk, 1);
    struct proto_request r;
    CU_ASSERT_EQUAL(decode_req(sb.data, sb.size, &r), PROTO_EUTF8);
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_request_truncated_every_offset(void)
{
    msgpack_sbuffer sb;
    valid_request(&sb);
    struct proto_request r;
    CU_ASSERT_EQUAL(decode_req(sb.data, sb.size, &r), 0);
    for (size_t cut = 0; cut < sb.size; cut++) {
        /* a heap copy of exactly `cut` bytes so ASan sees any over-read */
        char *p = malloc(cut ? cut : 1);
        memcpy(p, sb.data, cut);
        int rc = decode_req(p, cut, &r);
        if (rc != PROTO_ESYNTAX)
            fprintf(stderr, "cut %zu: %d\n", cut, rc);
        CU_ASSERT_EQUAL(rc, PROTO_ESYNTAX);
        CU_ASSERT_EQUAL(r.args.type, MSGPACK_OBJECT_NIL);
        free(p);
    }
    /* and one extra byte is trailing garbage */
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    CU_ASSERT_EQUAL(decode_req(sb.data, sb.size, &r), PROTO_ESYNTAX);
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_not_a_map(void)
{
    struct proto_request r;
    struct proto_reply rep;
    struct proto_event ev;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    CU_ASSERT_EQUAL(proto_request_decode("\x91\x01", 2, &up, &r), PROTO_ESYNTAX); /* [1] */
    CU_ASSERT_EQUAL(proto_request_decode("\x01", 1, &up, &r), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_request_decode("\xa1x", 2, &up, &r), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_request_decode(NULL, 0, &up, &r), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_reply_decode("\xc0", 1, &up, &rep), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_event_decode("\x90", 1, &up, &ev), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_request_decode("\x80", 1, &up, &r), PROTO_EMISSING); /* {} */
    /* lying container sizes fail fast instead of allocating for 4 billion elements */
    CU_ASSERT_EQUAL(proto_request_decode("\xdd\xff\xff\xff\xff", 5, &up, &r), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_request_decode("\xdf\xff\xff\xff\xff\xa1v\x01", 8, &up, &r),
                    PROTO_ESYNTAX);
    /* {1: 1}: non-string key */
    CU_ASSERT_EQUAL(proto_request_decode("\x81\x01\x01", 3, &up, &r), PROTO_ETYPE);
    msgpack_unpacked_destroy(&up);
}

static void test_envelope_version_2(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pack_str(&pk, "v");
    msgpack_pack_int(&pk, 2);
    pack_str(&pk, "id");
    pack_str(&pk, "r1");
    pack_str(&pk, "status");
    msgpack_pack_int(&pk, 200);
    pack_str(&pk, "body");
    msgpack_pack_nil(&pk);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    struct proto_reply rep;
    struct proto_request r;
    CU_ASSERT_EQUAL(proto_reply_decode(sb.data, sb.size, &up, &rep), PROTO_EVERSION);
    CU_ASSERT_EQUAL(proto_request_decode(sb.data, sb.size, &up, &r), PROTO_EVERSION);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_reply_hostile(void)
{
    /* status wrong type / range, body and error together, malformed error, headers */
    struct {
        int variant;
        int want;
    } cases[] = {{0, 0},
                 {1, PROTO_ETYPE},
                 {2, PROTO_EINVAL},
                 {3, PROTO_ETYPE},
                 {4, PROTO_ETYPE},
                 {5, PROTO_EMISSING},
                 {6, PROTO_ETYPE},
                 {7, PROTO_ETYPE},
                 {8, PROTO_ELIMIT},
                 {9, PROTO_EMISSING}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int v = cases[i].variant;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, v == 9 ? 3 : 5);
        pack_str(&pk, "v");
        msgpack_pack_int(&pk, 1);
        pack_str(&pk, "id");
        pack_str(&pk, "r1");
        if (v != 9) {
            pack_str(&pk, "status");
            if (v == 1)
                pack_str(&pk, "200");
            else
                msgpack_pack_int(&pk, v == 2 ? 600 : 400);
        }
        pack_str(&pk, "body");
        if (v == 3)
            msgpack_pack_int(&pk, 1);
        else
            msgpack_pack_nil(&pk);
        if (v == 9)
            goto done;
        if (v == 6 || v == 7) {
            pack_str(&pk, "headers");
            msgpack_pack_map(&pk, 1);
            pack_str(&pk, "Retry-After");
            if (v == 6)
                msgpack_pack_int(&pk, 3);
            else
                msgpack_pack_array(&pk, 0);
            goto done;
        }
        pack_str(&pk, "error");
        if (v == 4) {
            pack_str(&pk, "oops");
            goto done;
        }
        msgpack_pack_map(&pk, v == 5 ? 1 : 2);
        pack_str(&pk, "code");
        pack_str(&pk, "bad_request");
        if (v != 5) {
            pack_str(&pk, "message");
            if (v == 8) {
                char m[PROTO_MESSAGE_MAX + 1];
                memset(m, 'x', sizeof m);
                msgpack_pack_str(&pk, sizeof m);
                msgpack_pack_str_body(&pk, m, sizeof m);
            } else {
                pack_str(&pk, "nope");
            }
        }
    done:;
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        struct proto_reply rep;
        int rc = proto_reply_decode(sb.data, sb.size, &up, &rep);
        if (rc != cases[i].want)
            fprintf(stderr, "reply variant %d: got %d want %d\n", v, rc, cases[i].want);
        CU_ASSERT_EQUAL(rc, cases[i].want);
        if (v == 0) {
            CU_ASSERT_EQUAL(rep.is_error, 1);
            CU_ASSERT_STRING_EQUAL(rep.code, "bad_request");
        }
        msgpack_unpacked_destroy(&up);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_envelope_event_hostile(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    pack_str(&pk, "v");
    msgpack_pack_int(&pk, 1);
    pack_str(&pk, "id");
    pack_str(&pk, "evt-1"); /* not a UUID */
    pack_str(&pk, "type");
    pack_str(&pk, "txn.posted");
    pack_str(&pk, "user");
    msgpack_pack_nil(&pk);
    pack_str(&pk, "at");
    msgpack_pack_int(&pk, 1);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    struct proto_event ev;
    CU_ASSERT_EQUAL(proto_event_decode(sb.data, sb.size, &up, &ev), PROTO_EINVAL);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_huge_string_field(void)
{
    size_t n = 10u << 20;
    char *big = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'a', n);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pack_str(&pk, "v");
    msgpack_pack_int(&pk, 1);
    pack_str(&pk, "method");
    msgpack_pack_str(&pk, n);
    msgpack_pack_str_body(&pk, big, n);
    struct proto_request r;
    CU_ASSERT_EQUAL(decode_req(sb.data, sb.size, &r), PROTO_ELIMIT);
    /* under the byte limit but over the field limit */
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 5);
    pack_str(&pk, "v");
    msgpack_pack_int(&pk, 1);
    pack_str(&pk, "id");
    pack_str(&pk, "r1");
    pack_str(&pk, "method");
    msgpack_pack_str(&pk, 1u << 20);
    msgpack_pack_str_body(&pk, big, 1u << 20);
    pack_str(&pk, "deadline");
    msgpack_pack_int(&pk, 1);
    pack_str(&pk, "args");
    msgpack_pack_map(&pk, 0);
    CU_ASSERT_EQUAL(decode_req(sb.data, sb.size, &r), PROTO_ELIMIT);
    msgpack_sbuffer_destroy(&sb);
    free(big);
}

/* A request whose args hold `depth` nested arrays. */
static int decode_with_depth(int depth)
{
    msgpack_sbuffer args, sb;
    msgpack_sbuffer_init(&args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    pack_str(&pk, "a");
    for (int i = 0; i < depth; i++)
        msgpack_pack_array(&pk, i + 1 < depth ? 1 : 0);
    struct proto_request r;
    fill_request(&r);
    msgpack_sbuffer_init(&sb);
    int rc = proto_request_encode(&sb, &r, args.data, args.size);
    if (rc == 0)
        rc = decode_req(sb.data, sb.size, &r);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&args);
    return rc;
}

static void test_envelope_deep_nesting(void)
{
    /* envelope (1) + args (1) + arrays: 30 arrays is depth 32, the limit */
    CU_ASSERT_EQUAL(decode_with_depth(30), 0);
    CU_ASSERT_EQUAL(decode_with_depth(31), PROTO_ELIMIT);
    CU_ASSERT_EQUAL(decode_with_depth(1000), PROTO_ELIMIT);
    CU_ASSERT_EQUAL(decode_with_depth(100000), PROTO_ELIMIT);
}

static void test_envelope_invalid_utf8_in_args(void)
{
    for (int where = 0; where < 2; where++) {
        msgpack_sbuffer args, sb;
        msgpack_sbuffer_init(&args);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &args, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str(&pk, where == 0 ? 2 : 1);
        msgpack_pack_str_body(&pk, where == 0 ? "\xed\xa0" : "k", where == 0 ? 2 : 1);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_str(&pk, 2);
        msgpack_pack_str_body(&pk, where == 1 ? "\xc0\x80" : "ok", 2);
        struct proto_request r;
        fill_request(&r);
        msgpack_sbuffer_init(&sb);
        CU_ASSERT_EQUAL(proto_request_encode(&sb, &r, args.data, args.size), 0);
        CU_ASSERT_EQUAL(decode_req(sb.data, sb.size, &r), PROTO_EUTF8);
        msgpack_sbuffer_destroy(&sb);
        msgpack_sbuffer_destroy(&args);
    }
}

static void test_envelope_oversized_input(void)
{
    size_t n = PROTO_ENVELOPE_MAX_BYTES + 1;
    char *buf = calloc(1, n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    buf[0] = (char)0x80; /* {} followed by zeros: rejected for size before parsing */
    struct proto_request r;
    CU_ASSERT_EQUAL(decode_req(buf, n, &r), PROTO_ELIMIT);
    free(buf);
}

/* xorshift64*, seeded: reproducible "random" input */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static int allowed_rc(int rc)
{
    return rc == 0 || rc == PROTO_ESYNTAX || rc == PROTO_EVERSION || rc == PROTO_ETYPE ||
           rc == PROTO_EMISSING || rc == PROTO_ELIMIT || rc == PROTO_EUTF8 || rc == PROTO_EINVAL;
}

static void test_envelope_random_bytes(void)
{
    int bad = 0;
    for (int i = 0; i < 4000; i++) {
        size_t n = (size_t)(rnd() % 300);
        unsigned char *buf = malloc(n ? n : 1);
        for (size_t k = 0; k < n; k++)
            buf[k] = (unsigned char)rnd();
        if (n && (i & 1))
            buf[0] = (unsigned char)(0x80 | (rnd() % 16)); /* a fixmap, to get further in */
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        struct proto_request r;
        struct proto_reply rep;
        struct proto_event ev;
        bad += !allowed_rc(proto_request_decode((const char *)buf, n, &up, &r));
        bad += !allowed_rc(proto_reply_decode((const char *)buf, n, &up, &rep));
        bad += !allowed_rc(proto_event_decode((const char *)buf, n, &up, &ev));
        msgpack_unpacked_destroy(&up);
        free(buf);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_envelope_mutated_requests(void)
{
    msgpack_sbuffer sb;
    valid_request(&sb);
    int bad = 0, ok = 0;
    for (int i = 0; i < 3000; i++) {
        char *p = malloc(sb.size);
        memcpy(p, sb.data, sb.size);
        int flips = 1 + (int)(rnd() % 3);
        for (int f = 0; f < flips; f++)
            p[rnd() % sb.size] = (char)rnd();
        struct proto_request r;
        int rc = decode_req(p, sb.size, &r);
        bad += !allowed_rc(rc);
        ok += rc == 0;
        free(p);
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(ok < 3000); /* the mutations really broke something */
    msgpack_sbuffer_destroy(&sb);
}

static void test_envelope_now_ms(void)
{
    int64_t t = proto_now_ms();
    CU_ASSERT(t > 1600000000000LL); /* after 2020 */
    CU_ASSERT(t < 4102444800000LL); /* before 2100 */
    CU_ASSERT(proto_now_ms() - t < 1000);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("envelope", NULL, NULL);
    CU_ADD_TEST(s, test_envelope_request_round_trip);
    CU_ADD_TEST(s, test_envelope_request_nil_user_idem);
    CU_ADD_TEST(s, test_envelope_request_encode_rejects);
    CU_ADD_TEST(s, test_envelope_reply_round_trip);
    CU_ADD_TEST(s, test_envelope_reply_error_round_trip);
    CU_ADD_TEST(s, test_envelope_event_round_trip);
    CU_ADD_TEST(s, test_envelope_request_field_types);
    CU_ADD_TEST(s, test_envelope_request_nul_in_string);
    CU_ADD_TEST(s, test_envelope_request_truncated_every_offset);
    CU_ADD_TEST(s, test_envelope_not_a_map);
    CU_ADD_TEST(s, test_envelope_version_2);
    CU_ADD_TEST(s, test_envelope_reply_hostile);
    CU_ADD_TEST(s, test_envelope_event_hostile);
    CU_ADD_TEST(s, test_envelope_huge_string_field);
    CU_ADD_TEST(s, test_envelope_deep_nesting);
    CU_ADD_TEST(s, test_envelope_invalid_utf8_in_args);
    CU_ADD_TEST(s, test_envelope_oversized_input);
    CU_ADD_TEST(s, test_envelope_random_bytes);
    CU_ADD_TEST(s, test_envelope_mutated_requests);
    CU_ADD_TEST(s, test_envelope_now_ms);
    return ft_cunit_run();
}
