/* Unit tests for proto/msg.h: reading and writing msgpack values. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <string.h>

#include "proto/json.h"
#include "proto/msg.h"
#include "proto/uuid.h"
#include "proto/status.h"

/* One object built by `build`, unpacked into up (caller destroys up and sb). */
static const msgpack_object *obj_of(void (*build)(msgpack_packer *), msgpack_sbuffer *sb,
                                    msgpack_unpacked *up)
{
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    build(&pk);
    msgpack_unpacked_init(up);
    size_t off = 0;
    if (msgpack_unpack_next(up, sb->data, sb->size, &off) != MSGPACK_UNPACK_SUCCESS)
        return NULL;
    return &up->data;
}

static void build_map(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 9);
    proto_pack_cstr(pk, "name");
    proto_pack_cstr(pk, "Ada");
    proto_pack_cstr(pk, "n");
    msgpack_pack_int64(pk, -42);
    proto_pack_cstr(pk, "big");
    msgpack_pack_uint64(pk, (uint64_t)INT64_MAX + 1);
    proto_pack_cstr(pk, "amt_str");
    proto_pack_cstr(pk, "12.50");
    proto_pack_cstr(pk, "amt_int");
    msgpack_pack_int(pk, 12);
    proto_pack_cstr(pk, "amt_dec");
    msgpack_pack_ext(pk, 4, PROTO_EXT_DECIMAL);
    msgpack_pack_ext_body(pk, "12.5", 4);
    proto_pack_cstr(pk, "nil");
    proto_pack_cstr(pk, NULL);
    proto_pack_cstr(pk, "bad");
    msgpack_pack_str(pk, 2);
    msgpack_pack_str_body(pk, "\xc3\x28", 2);
    msgpack_pack_int(pk, 7); /* a non-string key is skipped by proto_map_get */
    proto_pack_cstr(pk, "seven");
}

static void test_msg_map_get(void)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    const msgpack_object *m = obj_of(build_map, &sb, &up);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    const msgpack_object *v = proto_map_get(m, "name");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(v->type, MSGPACK_OBJECT_STR);
    CU_ASSERT_PTR_NULL(proto_map_get(m, "nam"));   /* prefix is not a match */
    CU_ASSERT_PTR_NULL(proto_map_get(m, "names")); /* nor is a longer key */
    CU_ASSERT_PTR_NULL(proto_map_get(m, "7"));
    CU_ASSERT_PTR_NULL(proto_map_get(v, "name")); /* not a map */
    CU_ASSERT_PTR_NULL(proto_map_get(NULL, "name"));
    CU_ASSERT_EQUAL(proto_map_get(m, "nil")->type, MSGPACK_OBJECT_NIL);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void test_msg_obj_str(void)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    const msgpack_object *m = obj_of(build_map, &sb, &up);
    char buf[4];
    CU_ASSERT_EQUAL(proto_obj_str(proto_map_get(m, "name"), buf, sizeof buf), 0);
    CU_ASSERT_STRING_EQUAL(buf, "Ada");
    CU_ASSERT_EQUAL(proto_obj_str(proto_map_get(m, "name"), buf, 3), PROTO_ELIMIT);
    CU_ASSERT_EQUAL(proto_obj_str(proto_map_get(m, "name"), buf, 0), PROTO_ELIMIT);
    CU_ASSERT_EQUAL(proto_obj_str(proto_map_get(m, "n"), buf, sizeof buf), PROTO_ETYPE);
    CU_ASSERT_EQUAL(proto_obj_str(proto_map_get(m, "bad"), buf, sizeof buf), PROTO_EUTF8);
    CU_ASSERT_EQUAL(proto_obj_str(NULL, buf, sizeof buf), PROTO_ETYPE);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

/* A str msgpack_object over `text` (borrowed). */
static msgpack_object str_obj(const char *text)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = text;
    o.via.str.size = (uint32_t)strlen(text);
    return o;
}

static void test_msg_obj_uuid(void)
{
    char out[PROTO_UUID_LEN + 1];
    msgpack_object o = str_obj("5F0C1D2E-3A4B-4C5D-8E6F-7A8B9C0D1E2F");
    CU_ASSERT_EQUAL(proto_obj_uuid(&o, out), 0);
    CU_ASSERT_STRING_EQUAL(out, "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f");
    o = str_obj("5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2");
    CU_ASSERT_EQUAL(proto_obj_uuid(&o, out), -1);
    o = str_obj("5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2ff");
    CU_ASSERT_EQUAL(proto_obj_uuid(&o, out), -1);
    o = str_obj("mine");
    CU_ASSERT_EQUAL(proto_obj_uuid(&o, out), -1);
    msgpack_object n = {.type = MSGPACK_OBJECT_POSITIVE_INTEGER};
    CU_ASSERT_EQUAL(proto_obj_uuid(&n, out), -1);
    CU_ASSERT_EQUAL(proto_obj_uuid(NULL, out), -1);
}

static void test_msg_obj_count(void)
{
    msgpack_object o;
    long v = -7;
    o.type = MSGPACK_OBJECT_STR;
    const char *ok[] = {"0", "100", "0007", "2147483647"};
    const long want[] = {0, 100, 7, 2147483647L};
    for (int i = 0; i < 4; i++) {
        o.via.str.ptr = ok[i];
        o.via.str.size = (uint32_t)strlen(ok[i]);
        CU_ASSERT_EQUAL(proto_obj_count(&o, 2147483647L, &v), 0);
        CU_ASSERT_EQUAL(v, want[i]);
    }
    const char *bad[] = {"", "-1", "1.5", " 1", "1e3", "12345678901", "101"};
    for (int i = 0; i < 7; i++) {
        o.via.str.ptr = bad[i];
        o.via.str.size = (uint32_t)strlen(bad[i]);
        CU_ASSERT_EQUAL(proto_obj_count(&o, 100, &v), -1);
    }
    o.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    o.via.u64 = 100;
    CU_ASSERT_EQUAL(proto_obj_count(&o, 100, &v), 0);
    CU_ASSERT_EQUAL(v, 100);
    o.via.u64 = 101;
    CU_ASSERT_EQUAL(proto_obj_count(&o, 100, &v), -1);
    o.type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
    o.via.i64 = -1;
    CU_ASSERT_EQUAL(proto_obj_count(&o, 100, &v), -1);
    o.type = MSGPACK_OBJECT_NIL;
    CU_ASSERT_EQUAL(proto_obj_count(&o, 100, &v), -1);
}

static void test_msg_obj_int(void)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    const msgpack_object *m = obj_of(build_map, &sb, &up);
    int64_t v = 0;
    CU_ASSERT_EQUAL(proto_obj_int(proto_map_get(m, "n"), &v), 0);
    CU_ASSERT_EQUAL(v, -42);
    CU_ASSERT_EQUAL(proto_obj_int(proto_map_get(m, "amt_int"), &v), 0);
    CU_ASSERT_EQUAL(v, 12);
    CU_ASSERT_EQUAL(proto_obj_int(proto_map_get(m, "big"), &v), PROTO_ERANGE);
    CU_ASSERT_EQUAL(proto_obj_int(proto_map_get(m, "name"), &v), PROTO_ETYPE);
    CU_ASSERT_EQUAL(proto_obj_int(proto_map_get(m, "amt_dec"), &v), PROTO_ETYPE);
    CU_ASSERT_EQUAL(proto_obj_int(NULL, &v), PROTO_ETYPE);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void test_msg_obj_money(void)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    const msgpack_object *m = obj_of(build_map, &sb, &up);
    int64_t v = 0;
    CU_ASSERT_EQUAL(proto_obj_money(proto_map_get(m, "amt_str"), 2, &v), 0);
    CU_ASSERT_EQUAL(v, 1250);
    CU_ASSERT_EQUAL(proto_obj_money(proto_map_get(m, "amt_int"), 2, &v), 0);
    CU_ASSERT_EQUAL(v, 1200);
    CU_ASSERT_EQUAL(proto_obj_money(proto_map_get(m, "amt_dec"), 2, &v), 0);
    CU_ASSERT_EQUAL(v, 1250);
    CU_ASSERT_EQUAL(proto_obj_money(proto_map_get(m, "n"), 0, &v), 0);
    CU_ASSERT_EQUAL(v, -42);
    CU_ASSERT_EQUAL(proto_obj_money(proto_map_get(m, "amt_dec"), 0, &v), PROTO_EPRECISION);
    CU_ASSERT_EQUAL(proto_obj_money(proto_map_get(m, "big"), 0, &v), PROTO_ERANGE);
    CU_ASSERT_EQUAL(proto_obj_money(proto_map_get(m, "nil"), 2, &v), PROTO_ETYPE);
    CU_ASSERT_EQUAL(proto_obj_money(proto_map_get(m, "name"), 2, &v), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_obj_money(NULL, 2, &v), PROTO_ETYPE);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void build_money(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 4);
    proto_pack_money(pk, 12550, 2);
    proto_pack_money(pk, -5, 2);
    proto_pack_money(pk, 700, 0);
    proto_pack_money(pk, INT64_MIN, 3);
}

static void test_msg_pack_money(void)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    const msgpack_object *a = obj_of(build_money, &sb, &up);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    const msgpack_object *e = a->via.array.ptr;
    CU_ASSERT_EQUAL(e[0].type, MSGPACK_OBJECT_EXT);
    CU_ASSERT_EQUAL(e[0].via.ext.type, PROTO_EXT_DECIMAL);
    CU_ASSERT_EQUAL(e[0].via.ext.size, 6);
    CU_ASSERT_EQUAL(memcmp(e[0].via.ext.ptr, "125.50", 6), 0);
    CU_ASSERT_EQUAL(e[2].type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    CU_ASSERT_EQUAL(e[2].via.u64, 700);
    struct proto_buf out = {0};
    CU_ASSERT_EQUAL(proto_msgpack_to_json(a, 4, &out), 0);
    CU_ASSERT_STRING_EQUAL(out.data, "[125.50,-0.05,700,-9223372036854775.808]");
    proto_buf_free(&out);
    int64_t v;
    CU_ASSERT_EQUAL(proto_obj_money(&e[3], 3, &v), 0);
    CU_ASSERT_EQUAL(v, INT64_MIN);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void build_nested(msgpack_packer *pk)
{
    /* {"a": [ {"b": "ok"} ]}: depth 3 */
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "a");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "b");
    proto_pack_cstr(pk, "ok");
}

static void build_bad_key(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 1);
    msgpack_pack_str(pk, 1);
    msgpack_pack_str_body(pk, "\xff", 1);
    msgpack_pack_nil(pk);
}

static void test_msg_obj_check(void)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    const msgpack_object *o = obj_of(build_nested, &sb, &up);
    CU_ASSERT_EQUAL(proto_obj_check(o, 3), 0);
    CU_ASSERT_EQUAL(proto_obj_check(o, 2), PROTO_ELIMIT);
    CU_ASSERT_EQUAL(proto_obj_check(o, 0), PROTO_ELIMIT);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    o = obj_of(build_bad_key, &sb, &up);
    CU_ASSERT_EQUAL(proto_obj_check(o, 8), PROTO_EUTF8);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    o = obj_of(build_map, &sb, &up);
    CU_ASSERT_EQUAL(proto_obj_check(o, 8), PROTO_EUTF8); /* the "bad" value */
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void test_msg_scan(void)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    obj_of(build_map, &sb, &up);
    CU_ASSERT_EQUAL(proto_msgpack_scan(sb.data, sb.size, 1), 0);
    CU_ASSERT_EQUAL(proto_msgpack_scan(sb.data, sb.size, 0), PROTO_ELIMIT);
    for (size_t cut = 0; cut < sb.size; cut++)
        CU_ASSERT_EQUAL(proto_msgpack_scan(sb.data, cut, 1), PROTO_ESYNTAX);
    msgpack_sbuffer_write(&sb, "\x01", 1);
    CU_ASSERT_EQUAL(proto_msgpack_scan(sb.data, sb.size, 1), PROTO_ESYNTAX); /* trailing */
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);

    /* a 5-byte array32 claiming 4 billion elements: rejected without allocating */
    CU_ASSERT_EQUAL(proto_msgpack_scan("\xdd\xff\xff\xff\xff", 5, 32), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_msgpack_scan("\xdf\x00\x00\x00\x01\x01", 6, 32), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_msgpack_scan("\xdf\x00\x00\x00\x01\x01\x02", 7, 32), 0);
    CU_ASSERT_EQUAL(proto_msgpack_scan("\xdb\x00\x00\x00\x03"
                                       "ab",
                                       7, 32),
                    PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_msgpack_scan("\xdb\x00\x00\x00\x03"
                                       "abc",
                                       8, 32),
                    0);
    CU_ASSERT_EQUAL(proto_msgpack_scan("\xc1", 1, 32), PROTO_ESYNTAX);     /* reserved */
    CU_ASSERT_EQUAL(proto_msgpack_scan("\xd4\x01", 2, 32), PROTO_ESYNTAX); /* fixext1 short */
    CU_ASSERT_EQUAL(proto_msgpack_scan("\xd4\x01\x02", 3, 32), 0);
    CU_ASSERT_EQUAL(proto_msgpack_scan("\xcb\x00\x00", 3, 32), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_msgpack_scan("", 0, 32), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_msgpack_scan(NULL, 0, 32), PROTO_ESYNTAX);
    CU_ASSERT_EQUAL(proto_msgpack_scan("\x90", 1, 1), 0);                /* [] is depth 1 */
    CU_ASSERT_EQUAL(proto_msgpack_scan("\x91\x90", 2, 1), PROTO_ELIMIT); /* [[]] is 2 */
    CU_ASSERT_EQUAL(proto_msgpack_scan("\x92\x90\x90", 3, 2), 0);
    char deep[1000];
    memset(deep, (char)0x91, sizeof deep);
    deep[sizeof deep - 1] = (char)0xc0;
    CU_ASSERT_EQUAL(proto_msgpack_scan(deep, sizeof deep, 100000), PROTO_ELIMIT);
    CU_ASSERT_EQUAL(proto_msgpack_scan(deep + 990, 10, 9), 0);
}

static void test_msg_status_strings(void)
{
    CU_ASSERT_STRING_EQUAL(proto_strerror(PROTO_OK), "success");
    CU_ASSERT_STRING_EQUAL(proto_strerror(PROTO_EPRECISION),
                           "too many fraction digits for the currency");
    CU_ASSERT_STRING_EQUAL(proto_strerror(PROTO_EVERSION), "unsupported envelope version");
    CU_ASSERT_STRING_EQUAL(proto_strerror(-999), "unknown error");
    for (int e = PROTO_EVERSION; e <= PROTO_OK; e++)
        CU_ASSERT_STRING_NOT_EQUAL(proto_strerror(e), "unknown error");
    CU_ASSERT_STRING_EQUAL(proto_http_reason(200), "OK");
    CU_ASSERT_STRING_EQUAL(proto_http_reason(404), "Not Found");
    CU_ASSERT_STRING_EQUAL(proto_http_reason(422), "Unprocessable Content");
    CU_ASSERT_STRING_EQUAL(proto_http_reason(429), "Too Many Requests");
    CU_ASSERT_STRING_EQUAL(proto_http_reason(503), "Service Unavailable");
    CU_ASSERT_STRING_EQUAL(proto_http_reason(504), "Gateway Timeout");
    CU_ASSERT_STRING_EQUAL(proto_http_reason(299), "Unknown");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("msg", NULL, NULL);
    CU_ADD_TEST(s, test_msg_map_get);
    CU_ADD_TEST(s, test_msg_obj_str);
    CU_ADD_TEST(s, test_msg_obj_uuid);
    CU_ADD_TEST(s, test_msg_obj_count);
    CU_ADD_TEST(s, test_msg_obj_int);
    CU_ADD_TEST(s, test_msg_obj_money);
    CU_ADD_TEST(s, test_msg_pack_money);
    CU_ADD_TEST(s, test_msg_obj_check);
    CU_ADD_TEST(s, test_msg_scan);
    CU_ADD_TEST(s, test_msg_status_strings);
    return ft_cunit_run();
}
