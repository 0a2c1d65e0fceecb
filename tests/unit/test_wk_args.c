/* Unit tests for the runtime's handler helpers (runtime/wk.h, "handler helpers"; args.c): what
 * every worker answers for a missing user or a body that is not an object, path ids, and
 * idempotency keys. No servers: a reply is made with the runtime's own wk_reply_init. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <string.h>

#include "internal.h"
#include "proto/msg.h"
#include "proto/reqhash.h"
#include "runtime/wk.h"

#define USER "0b7e3c1a-5d2f-4e8a-9c6b-1f2e3d4c5b6a"

/* A request whose args are the object `build` packs (sb and up hold it; the caller destroys). */
struct fixture {
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    struct proto_request req;
    struct wk_reply rep;
    struct wk_reply_priv priv;
};

static void fixture_open(struct fixture *f, void (*build)(msgpack_packer *))
{
    memset(&f->req, 0, sizeof f->req);
    snprintf(f->req.id, sizeof f->req.id, "req-1");
    snprintf(f->req.method, sizeof f->req.method, "txn.create");
    msgpack_sbuffer_init(&f->sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &f->sb, msgpack_sbuffer_write);
    build(&pk);
    msgpack_unpacked_init(&f->up);
    size_t off = 0;
    CU_ASSERT_FATAL(msgpack_unpack_next(&f->up, f->sb.data, f->sb.size, &off) ==
                    MSGPACK_UNPACK_SUCCESS);
    f->req.args = f->up.data;
    wk_reply_init(&f->rep, &f->priv, NULL);
}

static void fixture_close(struct fixture *f)
{
    wk_reply_destroy(&f->rep);
    msgpack_unpacked_destroy(&f->up);
    msgpack_sbuffer_destroy(&f->sb);
}

static void build_nil(msgpack_packer *pk)
{
    msgpack_pack_nil(pk);
}

/* {path: {id: <upper-case uuid>, bad: "nope", n: 7}, body: {amount: "1.00"}} */
static void build_full(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    proto_pack_cstr(pk, "path");
    msgpack_pack_map(pk, 3);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, "0B7E3C1A-5D2F-4E8A-9C6B-1F2E3D4C5B6A");
    proto_pack_cstr(pk, "bad");
    proto_pack_cstr(pk, "nope");
    proto_pack_cstr(pk, "n");
    msgpack_pack_int(pk, 7);
    proto_pack_cstr(pk, "body");
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "amount");
    proto_pack_cstr(pk, "1.00");
}

/* {body: [1]}: a JSON array, not an object */
static void build_array_body(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 1);
    proto_pack_cstr(pk, "body");
    msgpack_pack_array(pk, 1);
    msgpack_pack_int(pk, 1);
}

static void test_args_acting_user_verified(void)
{
    struct fixture f;
    fixture_open(&f, build_nil);
    snprintf(f.req.user, sizeof f.req.user, "%s", USER);
    CU_ASSERT_PTR_EQUAL(wk_acting_user(&f.req, &f.rep), f.req.user);
    CU_ASSERT_EQUAL(wk_reply_is_error(&f.rep), 0);
    CU_ASSERT_EQUAL(f.rep.status, 200);
    fixture_close(&f);
}

static void test_args_acting_user_missing_answers_401(void)
{
    const char *users[] = {"", "not-a-uuid"};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        struct fixture f;
        fixture_open(&f, build_nil);
        snprintf(f.req.user, sizeof f.req.user, "%s", users[i]);
        CU_ASSERT_PTR_NULL(wk_acting_user(&f.req, &f.rep));
        CU_ASSERT_EQUAL(wk_reply_is_error(&f.rep), 1);
        CU_ASSERT_EQUAL(f.rep.status, 401);
        CU_ASSERT_STRING_EQUAL(wk_reply_error_code(&f.rep), "unauthenticated");
        CU_ASSERT_STRING_EQUAL(wk_reply_error_message(&f.rep), "Sign in first.");
        fixture_close(&f);
    }
}

static void test_args_body_map(void)
{
    struct fixture f;
    fixture_open(&f, build_full);
    const msgpack_object *body = wk_body(&f.req, &f.rep);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_EQUAL(body->type, MSGPACK_OBJECT_MAP);
    CU_ASSERT_PTR_NOT_NULL(proto_map_get(body, "amount"));
    CU_ASSERT_EQUAL(wk_reply_is_error(&f.rep), 0);
    fixture_close(&f);
}

static void test_args_body_not_object_answers_400(void)
{
    void (*builds[])(msgpack_packer *) = {build_nil, build_array_body};
    for (size_t i = 0; i < sizeof builds / sizeof builds[0]; i++) {
        struct fixture f;
        fixture_open(&f, builds[i]);
        CU_ASSERT_PTR_NULL(wk_body(&f.req, &f.rep));
        CU_ASSERT_EQUAL(f.rep.status, 400);
        CU_ASSERT_STRING_EQUAL(wk_reply_error_code(&f.rep), "invalid_body");
        CU_ASSERT_STRING_EQUAL(wk_reply_error_message(&f.rep),
                               "The request body must be a JSON object.");
        fixture_close(&f);
    }
}

static void test_args_path_uuid(void)
{
    struct fixture f;
    fixture_open(&f, build_full);
    char out[PROTO_UUID_LEN + 1] = "untouched";
    CU_ASSERT_EQUAL(wk_path_uuid(&f.req, "id", out), 1);
    CU_ASSERT_STRING_EQUAL(out, USER); /* lowercased */
    snprintf(out, sizeof out, "untouched");
    CU_ASSERT_EQUAL(wk_path_uuid(&f.req, "absent", out), 0);
    CU_ASSERT_EQUAL(wk_path_uuid(&f.req, "bad", out), -1);
    CU_ASSERT_EQUAL(wk_path_uuid(&f.req, "n", out), -1);
    CU_ASSERT_STRING_EQUAL(out, "untouched");
    CU_ASSERT_EQUAL(wk_reply_is_error(&f.rep), 0); /* answers nothing */
    fixture_close(&f);

    fixture_open(&f, build_nil); /* no path map at all */
    CU_ASSERT_EQUAL(wk_path_uuid(&f.req, "id", out), 0);
    fixture_close(&f);
}

static void test_args_idem_prepare(void)
{
    struct fixture f;
    fixture_open(&f, build_full);
    const msgpack_object *body = wk_body(&f.req, &f.rep);
    struct wk_idem id;

    CU_ASSERT_EQUAL(wk_idem_prepare(&id, &f.req, body), 0);
    CU_ASSERT_STRING_EQUAL(id.key, "r:req-1"); /* no Idempotency-Key: the request id */
    unsigned char want[PROTO_HASH_LEN];
    CU_ASSERT_EQUAL_FATAL(proto_request_hash("txn.create", body, want), 0);
    CU_ASSERT_EQUAL(memcmp(id.hash, want, sizeof want), 0);

    snprintf(f.req.idem, sizeof f.req.idem, "client-key-9");
    CU_ASSERT_EQUAL(wk_idem_prepare(&id, &f.req, body), 0);
    CU_ASSERT_STRING_EQUAL(id.key, "k:client-key-9");
    CU_ASSERT_EQUAL(memcmp(id.hash, want, sizeof want), 0); /* the key does not enter the hash */

    snprintf(f.req.method, sizeof f.req.method, "acct.create");
    CU_ASSERT_EQUAL(wk_idem_prepare(&id, &f.req, body), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(id.hash, want, sizeof want), 0); /* the method does */

    /* The longest key and id fit whole. */
    memset(f.req.idem, 'x', PROTO_IDEM_MAX);
    f.req.idem[PROTO_IDEM_MAX] = '\0';
    CU_ASSERT_EQUAL(wk_idem_prepare(&id, &f.req, NULL), 0);
    CU_ASSERT_EQUAL(strlen(id.key), 2 + (size_t)PROTO_IDEM_MAX);
    fixture_close(&f);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("wk_args", NULL, NULL);
    CU_ADD_TEST(s, test_args_acting_user_verified);
    CU_ADD_TEST(s, test_args_acting_user_missing_answers_401);
    CU_ADD_TEST(s, test_args_body_map);
    CU_ADD_TEST(s, test_args_body_not_object_answers_400);
    CU_ADD_TEST(s, test_args_path_uuid);
    CU_ADD_TEST(s, test_args_idem_prepare);
    return ft_cunit_run();
}
