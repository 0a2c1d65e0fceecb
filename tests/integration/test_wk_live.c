/*
 * Worker runtime, live frames: wk_live_after_commit publishes to ft.live (key user.<uuid>,
 * application/json, transient) only after the outermost wk_db_tx committed — never after a
 * rollback, once after a 40001 retry, at once outside a transaction — and
 * wk_live_close_user sends the gateway's "close" message. The test binds its own exclusive
 * queue to ft.live for a fresh user and owns a schema itest_xxxxxxxx with a marks table.
 */
#include <CUnit/Basic.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_test.h"
#include "itest.h"
#include "proto/status.h"
#include "proto/topology.h"
#include "proto/uuid.h"

#define TIMEOUT_MS 15000
#define QUIET_MS   1000

static struct itest t;
static PGconn *pg;
static char schema[64], user[PROTO_UUID_LEN + 1];
static unsigned failures_at_start;

static int sql_ok(const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "sql failed: %s\n", PQresultErrorMessage(r));
    PQclear(r);
    return ok;
}

static int suite_init(void)
{
    failures_at_start = CU_get_number_of_failures();
    if (itest_setup(&t) != 0)
        return -1;
    snprintf(schema, sizeof schema, "itest_%.8s", t.name + 6);
    proto_uuid_v4(user);
    pg = PQconnectdb(ft_env("PG_URL", ""));
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to PG_URL: %s", PQerrorMessage(pg));
        return -1;
    }
    char sql[256];
    snprintf(sql, sizeof sql, "CREATE SCHEMA %s; CREATE TABLE %s.marks (tag text NOT NULL)", schema,
             schema);
    if (!sql_ok(sql))
        return -1;
    char key[64];
    snprintf(key, sizeof key, "user.%s", user);
    if (ft_amqp_bind_temp(t.a, PROTO_EX_LIVE, key, "live") != 0)
        return -1;
    if (itest_spawn(&t, NULL, NULL) <= 0)
        return -1;
    return itest_wait_ready(&t, 20000) ? 0 : -1;
}

static int suite_clean(void)
{
    itest_teardown(&t, CU_get_number_of_failures() > failures_at_start);
    if (pg) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
        sql_ok(sql);
        PQfinish(pg);
    }
    return 0;
}

/* Calls test.live; returns the status and fills *attempts / *rc from a 200 body. */
static int live_call(const char *who, const char *tag, const char *mode, const char *extra,
                     int *attempts, int *rc)
{
    char body[512];
    snprintf(body, sizeof body, "{\"user\":\"%s\",\"tag\":\"%s\",\"mode\":\"%s\"%s%s}", who, tag,
             mode, extra ? "," : "", extra ? extra : "");
    struct ft_reply r;
    int got = ft_amqp_call(t.a, t.name, "test.live", body, TIMEOUT_MS, &r);
    CU_ASSERT_EQUAL(got, 1);
    int status = got == 1 ? r.status : -1;
    *attempts = *rc = -99;
    if (status == 200 && r.body_json)
        sscanf(r.body_json, "{\"attempts\":%d,\"rc\":%d}", attempts, rc);
    ft_reply_free(&r);
    return status;
}

/* The frame test.live queues for tag at attempt n. */
static void frame_for(const char *tag, int n, char *out, size_t size)
{
    snprintf(out, size, "{\"type\":\"test\",\"tag\":\"%s\",\"attempt\":%d}", tag, n);
}

/* Asserts nothing more arrives on our ft.live queue for QUIET_MS. */
static void expect_quiet(void)
{
    struct ft_msg m;
    int got = ft_amqp_wait_msg(t.a, "live", QUIET_MS, &m);
    CU_ASSERT_EQUAL(got, 0);
    if (got == 1) {
        fprintf(stderr, "\n  unexpected live message: %s\n", m.body);
        ft_msg_free(&m);
    }
}

static long marks_with(const char *tag)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.marks WHERE tag = $1", schema);
    const char *p[] = {tag};
    PGresult *r = PQexecParams(pg, sql, 1, NULL, p, NULL, NULL, 0);
    long n = PQresultStatus(r) == PGRES_TUPLES_OK ? strtol(PQgetvalue(r, 0, 0), NULL, 10) : -1;
    PQclear(r);
    return n;
}

static void test_wk_live_frame_published_after_commit(void)
{
    char tag[32], mark[96], want[160];
    int attempts = -99, rc = -99;
    ft_rand_name(tag, sizeof tag, "commit-");
    snprintf(mark, sizeof mark, "\"mark\":\"%s.marks\"", schema);
    /* Not waiting for the reply first: the frame is read while the request may still run. */
    char id[64], body[512];
    ft_rand_name(id, sizeof id, "req-live-");
    snprintf(body, sizeof body, "{\"user\":\"%s\",\"tag\":\"%s\",\"mode\":\"commit\",%s}", user,
             tag, mark);
    CU_ASSERT_EQUAL_FATAL(ft_amqp_request(t.a, t.name, id, "test.live", body, TIMEOUT_MS), 0);
    struct ft_msg m;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(t.a, "live", TIMEOUT_MS, &m), 1);
    /* The handler slept 300 ms between queueing and COMMIT: a frame published early would
     * arrive before the row is visible to anybody else. */
    CU_ASSERT_EQUAL(marks_with(tag), 1);
    struct ft_reply r;
    CU_ASSERT_EQUAL(ft_amqp_wait_reply(t.a, id, TIMEOUT_MS, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    if (r.body_json)
        sscanf(r.body_json, "{\"attempts\":%d,\"rc\":%d}", &attempts, &rc);
    CU_ASSERT_EQUAL(attempts, 1);
    CU_ASSERT_EQUAL(rc, 0);
    ft_reply_free(&r);
    frame_for(tag, 1, want, sizeof want);
    CU_ASSERT_STRING_EQUAL(m.body, want);
    char key[64];
    snprintf(key, sizeof key, "user.%s", user);
    CU_ASSERT_STRING_EQUAL(m.routing_key, key);
    CU_ASSERT_STRING_EQUAL(m.content_type, "application/json");
    CU_ASSERT_EQUAL(m.delivery_mode, 1); /* transient */
    CU_ASSERT_STRING_EQUAL(m.type, "");
    ft_msg_free(&m);
    expect_quiet();
}

static void test_wk_live_nothing_after_rollback(void)
{
    char tag[32], tag2[32], want[160];
    int attempts, rc;
    ft_rand_name(tag, sizeof tag, "rollback-");
    CU_ASSERT_EQUAL(live_call(user, tag, "rollback", NULL, &attempts, &rc), 422);
    /* Queued inside a nested wk_db_tx that succeeded, but the outer one rolled back. */
    CU_ASSERT_EQUAL(live_call(user, tag, "nested", NULL, &attempts, &rc), 422);
    expect_quiet();
    /* The discarded frames do not leak into the next transaction either. */
    ft_rand_name(tag2, sizeof tag2, "after-");
    CU_ASSERT_EQUAL(live_call(user, tag2, "commit", NULL, &attempts, &rc), 200);
    struct ft_msg m;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(t.a, "live", TIMEOUT_MS, &m), 1);
    frame_for(tag2, 1, want, sizeof want);
    CU_ASSERT_STRING_EQUAL(m.body, want);
    ft_msg_free(&m);
    expect_quiet();
}

static void test_wk_live_one_frame_after_serialization_retry(void)
{
    char tag[32], want[160];
    int attempts, rc;
    ft_rand_name(tag, sizeof tag, "retry-");
    CU_ASSERT_EQUAL(live_call(user, tag, "retry", NULL, &attempts, &rc), 200);
    CU_ASSERT_EQUAL(attempts, 2);
    struct ft_msg m;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(t.a, "live", TIMEOUT_MS, &m), 1);
    frame_for(tag, 2, want, sizeof want); /* the committed attempt's, not the first one's */
    CU_ASSERT_STRING_EQUAL(m.body, want);
    ft_msg_free(&m);
    expect_quiet();
}

static void test_wk_live_outside_transaction_published_at_once(void)
{
    char tag[32], want[160], upper[PROTO_UUID_LEN + 1];
    int attempts, rc;
    ft_rand_name(tag, sizeof tag, "outside-");
    /* The routing key carries the UUID lowercased whatever the caller's spelling. */
    for (int i = 0; i <= PROTO_UUID_LEN; i++)
        upper[i] = (char)((user[i] >= 'a' && user[i] <= 'f') ? user[i] - 'a' + 'A' : user[i]);
    CU_ASSERT_EQUAL(live_call(upper, tag, "outside", NULL, &attempts, &rc), 200);
    CU_ASSERT_EQUAL(rc, 0);
    struct ft_msg m;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(t.a, "live", TIMEOUT_MS, &m), 1);
    frame_for(tag, 1, want, sizeof want);
    CU_ASSERT_STRING_EQUAL(m.body, want);
    ft_msg_free(&m);
    /* Not a UUID: refused, nothing sent. */
    CU_ASSERT_EQUAL(live_call("not-a-user", tag, "outside", NULL, &attempts, &rc), 200);
    CU_ASSERT_EQUAL(rc, PROTO_EINVAL);
    expect_quiet();
}

static void test_wk_live_close_user_message(void)
{
    int attempts, rc;
    CU_ASSERT_EQUAL(
        live_call(user, "x", "close", "\"code\":1008,\"reason\":\"logged out\"", &attempts, &rc),
        200);
    CU_ASSERT_EQUAL(rc, 0);
    struct ft_msg m;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(t.a, "live", TIMEOUT_MS, &m), 1);
    CU_ASSERT_STRING_EQUAL(m.type, "close");
    CU_ASSERT_STRING_EQUAL(m.content_type, "application/json");
    CU_ASSERT_EQUAL(m.delivery_mode, 1);
    CU_ASSERT_STRING_EQUAL(m.body, "{\"code\":1008,\"reason\":\"logged out\"}");
    ft_msg_free(&m);
    /* The reason is JSON-escaped. */
    CU_ASSERT_EQUAL(live_call(user, "x", "close",
                              "\"code\":4000,\"reason\":\"say \\\"bye\\\"\\\\\"", &attempts, &rc),
                    200);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(t.a, "live", TIMEOUT_MS, &m), 1);
    CU_ASSERT_STRING_EQUAL(m.body, "{\"code\":4000,\"reason\":\"say \\\"bye\\\"\\\\\"}");
    ft_msg_free(&m);
    /* Codes a close frame cannot carry, and over-long reasons, are refused. */
    char too_long[200];
    snprintf(too_long, sizeof too_long, "\"code\":1008,\"reason\":\"%0124d\"", 0);
    const char *bad[] = {"\"code\":1006,\"reason\":\"x\"", "\"code\":999,\"reason\":\"x\"",
                         "\"code\":5000,\"reason\":\"x\"", "\"code\":1015,\"reason\":\"x\"",
                         too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(live_call(user, "x", "close", bad[i], &attempts, &rc), 200);
        CU_ASSERT_EQUAL(rc, PROTO_EINVAL);
    }
    /* 123 bytes is the most a close frame can carry: accepted. */
    snprintf(too_long, sizeof too_long, "\"code\":1008,\"reason\":\"%0123d\"", 0);
    CU_ASSERT_EQUAL(live_call(user, "x", "close", too_long, &attempts, &rc), 200);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(t.a, "live", TIMEOUT_MS, &m), 1);
    CU_ASSERT_EQUAL(m.len, strlen("{\"code\":1008,\"reason\":\"\"}") + 123);
    ft_msg_free(&m);
    expect_quiet();
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("wk_live", suite_init, suite_clean);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_wk_live_frame_published_after_commit);
    ADD(test_wk_live_nothing_after_rollback);
    ADD(test_wk_live_one_frame_after_serialization_retry);
    ADD(test_wk_live_outside_transaction_published_at_once);
    ADD(test_wk_live_close_user_message);
#undef ADD
    return ft_cunit_run();
}
