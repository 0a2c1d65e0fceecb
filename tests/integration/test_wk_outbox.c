/*
 * Worker runtime, events: rows written to a worker's outbox are published once
 * to ft.events (routing key = type, event envelope) and marked sent; an event
 * delivered twice to a worker with an event handler has one effect (inbox); sent
 * rows and inbox ids past their retention are deleted, nothing else is.
 * The test owns a fresh schema itest_xxxxxxxx with outbox, inbox and effects.
 */
#include <CUnit/Basic.h>
#include <libpq-fe.h>
#include <msgpack.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ft_test.h"
#include "itest.h"
#include "proto/buf.h"
#include "proto/envelope.h"
#include "proto/json.h"
#include "proto/msg.h"
#include "proto/topology.h"
#include "proto/uuid.h"

static struct itest t;
static PGconn *pg;
static char schema[64], relay_type[PROTO_METHOD_MAX + 1], evt_type[PROTO_METHOD_MAX + 1];
/* Rows in place before the worker starts, for its first prune (prune.c): past the default
 * retention (WK_OUTBOX_KEEP_HOURS=24, WK_INBOX_KEEP_DAYS=30), within it, and an unsent
 * row older than both, which must be published, never pruned. */
static char out_expired[PROTO_UUID_LEN + 1], out_kept[PROTO_UUID_LEN + 1];
static char out_unsent_old[PROTO_UUID_LEN + 1];
static char in_expired[PROTO_UUID_LEN + 1], in_kept[PROTO_UUID_LEN + 1];
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

/* One integer from a query, or -1. */
static long sql_long(const char *sql)
{
    PGresult *r = PQexec(pg, sql);
    long v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    else
        fprintf(stderr, "sql failed: %s\n", PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

static int suite_init(void)
{
    failures_at_start = CU_get_number_of_failures();
    if (itest_setup(&t) != 0)
        return -1;
    snprintf(schema, sizeof schema, "itest_%.8s", t.name + 6);
    snprintf(relay_type, sizeof relay_type, "itest.%.8s.relay", t.name + 6);
    snprintf(evt_type, sizeof evt_type, "itest.%.8s.evt", t.name + 6);
    pg = PQconnectdb(ft_env("PG_URL", ""));
    if (PQstatus(pg) != CONNECTION_OK) {
        fprintf(stderr, "cannot connect to PG_URL: %s", PQerrorMessage(pg));
        return -1;
    }
    struct proto_buf b = {0};
    proto_buf_printf(&b,
                     "SET client_min_messages = warning;"
                     "CREATE SCHEMA %s;"
                     "CREATE TABLE %s.outbox (id uuid PRIMARY KEY, type text NOT NULL,"
                     " user_id uuid NULL, data jsonb NOT NULL,"
                     " created_at timestamptz NOT NULL DEFAULT now(), sent_at timestamptz NULL);"
                     "CREATE TABLE %s.inbox (event_id uuid PRIMARY KEY,"
                     " received_at timestamptz NOT NULL DEFAULT now());"
                     "CREATE TABLE %s.effects (event_id uuid NOT NULL,"
                     " at timestamptz NOT NULL DEFAULT now(), batch int);"
                     "CREATE INDEX ON %s.outbox (sent_at) WHERE sent_at IS NOT NULL;"
                     "CREATE INDEX ON %s.inbox (received_at);",
                     schema, schema, schema, schema, schema, schema);
    proto_uuid_v4(out_expired);
    proto_uuid_v4(out_kept);
    proto_uuid_v4(out_unsent_old);
    proto_uuid_v4(in_expired);
    proto_uuid_v4(in_kept);
    /* The unsent row's type is one nobody binds: the relay publishes it unroutable. */
    proto_buf_printf(&b,
                     "INSERT INTO %s.outbox (id, type, data, created_at, sent_at) VALUES"
                     " ('%s', 'itest.old', '{}', now() - interval '26 hours',"
                     "  now() - interval '25 hours'),"
                     " ('%s', 'itest.old', '{}', now() - interval '26 hours',"
                     "  now() - interval '23 hours'),"
                     " ('%s', 'itest.old', '{}', now() - interval '40 days', NULL);"
                     "INSERT INTO %s.inbox (event_id, received_at) VALUES"
                     " ('%s', now() - interval '31 days'), ('%s', now() - interval '29 days');"
                     /* More than one prune call deletes: the rest must go a second later,
                      * not a minute later. */
                     "INSERT INTO %s.inbox (event_id, received_at)"
                     " SELECT gen_random_uuid(), now() - interval '40 days'"
                     " FROM generate_series(1, 4500);",
                     schema, out_expired, out_kept, out_unsent_old, schema, in_expired, in_kept,
                     schema);
    int ok = sql_ok(b.data);
    proto_buf_free(&b);
    if (!ok)
        return -1;
    /* The worker handles this suite's events in batches (wk_event_batch_fn); the single path
     * is what a failed batch falls back to, and what every other runtime test uses. */
    t.extra_env = "ITEST_EVENT_BATCH=1";
    if (itest_spawn(&t, schema, evt_type) <= 0 || !itest_wait_ready(&t, 20000))
        return -1;
    /* Our own view of ft.events, for the relay's type only; bound once the worker has
     * declared the exchange (on a fresh broker nobody else may have yet), before any test
     * writes a row. */
    return ft_amqp_bind_temp(t.a, PROTO_EX_EVENTS, relay_type, "ev") == 0 ? 0 : -1;
}

static int suite_clean(void)
{
    char q[128];
    snprintf(q, sizeof q, "%s%s", PROTO_EVENTS_QUEUE_PREFIX, t.name);
    if (t.a)
        ft_amqp_delete_queue(t.a, q);
    itest_teardown(&t, CU_get_number_of_failures() > failures_at_start);
    if (pg) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE", schema);
        sql_ok(sql);
        PQfinish(pg);
    }
    return 0;
}

static int all_sent(void *arg)
{
    (void)arg;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.outbox WHERE sent_at IS NULL", schema);
    return sql_long(sql) == 0;
}

static int rows_with_id(const char *table, const char *key, const char *id, const char *cond)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.%s WHERE %s = '%s' %s", schema, table, key,
             id, cond);
    return (int)sql_long(sql);
}

static int expired_rows_gone(void *arg)
{
    (void)arg;
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s.inbox WHERE received_at < now() - interval '30 days'",
             schema);
    return rows_with_id("outbox", "id", out_expired, "") == 0 && sql_long(sql) == 0;
}

static void test_wk_prune_deletes_only_expired_event_rows(void)
{
    /* Two prune calls (4,501 expired ids, 4,000 a call): the second one a second later. */
    CU_ASSERT_FATAL(ft_wait_until(expired_rows_gone, NULL, 10000));
    CU_ASSERT_EQUAL(rows_with_id("outbox", "id", out_kept, ""), 1);
    CU_ASSERT_EQUAL(rows_with_id("inbox", "event_id", in_kept, ""), 1);
    /* The 40-day-old unsent row was published and marked, and is kept a day from now. */
    CU_ASSERT(ft_wait_until(all_sent, NULL, 10000));
    CU_ASSERT_EQUAL(
        rows_with_id("outbox", "id", out_unsent_old, "AND sent_at > now() - interval '1 hour'"), 1);
}

static void test_wk_outbox_rows_published_once_and_marked(void)
{
    char ids[3][PROTO_UUID_LEN + 1], user[PROTO_UUID_LEN + 1], sql[1024];
    proto_uuid_v4(user);
    for (int i = 0; i < 3; i++) {
        proto_uuid_v4(ids[i]);
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s.outbox (id, type, user_id, data) VALUES"
                 " ('%s', '%s', %s%s%s, '{\"n\": %d, \"amount\": 12.50}')",
                 schema, ids[i], relay_type, i == 0 ? "NULL" : "'", i == 0 ? "" : user,
                 i == 0 ? "" : "'", i);
        CU_ASSERT_FATAL(sql_ok(sql));
    }
    int seen[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        struct ft_msg m;
        CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(t.a, "ev", 15000, &m), 1);
        CU_ASSERT_STRING_EQUAL(m.routing_key, relay_type);
        msgpack_unpacked up;
        struct proto_event ev;
        msgpack_unpacked_init(&up);
        CU_ASSERT_EQUAL(proto_event_decode(m.body, m.len, &up, &ev), 0);
        CU_ASSERT_STRING_EQUAL(ev.type, relay_type);
        for (int i = 0; i < 3; i++) {
            if (strcmp(ev.id, ids[i]) != 0)
                continue;
            seen[i]++;
            struct proto_buf json = {0};
            CU_ASSERT_EQUAL(proto_msgpack_to_json(&ev.data, 8, &json), 0);
            char want[64];
            snprintf(want, sizeof want, "{\"n\":%d,\"amount\":12.50}", i);
            CU_ASSERT_STRING_EQUAL(json.data ? json.data : "", want);
            CU_ASSERT_STRING_EQUAL(ev.user, i == 0 ? "" : user);
            CU_ASSERT(ev.at_ms > 0);
            proto_buf_free(&json);
        }
        msgpack_unpacked_destroy(&up);
        ft_msg_free(&m);
    }
    CU_ASSERT(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
    CU_ASSERT(ft_wait_until(all_sent, NULL, 10000));
    /* Published once: nothing more arrives. */
    struct ft_msg extra;
    int more = ft_amqp_wait_msg(t.a, "ev", 1000, &extra);
    CU_ASSERT_EQUAL(more, 0);
    if (more == 1)
        ft_msg_free(&extra);
}

static void test_wk_outbox_handler_row_is_relayed(void)
{
    char body[256];
    snprintf(body, sizeof body, "{\"type\":\"%s\",\"data\":{\"via\":\"method\"}}", relay_type);
    struct ft_reply r;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_call(t.a, t.name, "test.outbox", body, 10000, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_reply_free(&r);
    struct ft_msg m;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(t.a, "ev", 15000, &m), 1);
    msgpack_unpacked up;
    struct proto_event ev;
    msgpack_unpacked_init(&up);
    CU_ASSERT_EQUAL(proto_event_decode(m.body, m.len, &up, &ev), 0);
    struct proto_buf json = {0};
    CU_ASSERT_EQUAL(proto_msgpack_to_json(&ev.data, 8, &json), 0);
    CU_ASSERT_STRING_EQUAL(json.data ? json.data : "", "{\"via\":\"method\"}");
    proto_buf_free(&json);
    msgpack_unpacked_destroy(&up);
    ft_msg_free(&m);
    CU_ASSERT(ft_wait_until(all_sent, NULL, 10000));
}

/* Publishes event `id` of the suite's type; data {"fail": true} when `poison`. */
static int publish_event_data(const char *id, int poison)
{
    struct proto_event ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.id, sizeof ev.id, "%s", id);
    snprintf(ev.type, sizeof ev.type, "%s", evt_type);
    ev.at_ms = proto_now_ms();
    msgpack_sbuffer data;
    msgpack_sbuffer_init(&data);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &data, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    proto_pack_cstr(&pk, "fail");
    if (poison)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = proto_event_encode(&sb, &ev, data.data, data.size);
    msgpack_sbuffer_destroy(&data);
    if (rc == 0)
        rc = ft_amqp_publish(t.a, PROTO_EX_EVENTS, evt_type, NULL, 0, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int publish_event(const char *id)
{
    return publish_event_data(id, 0);
}

static int effect_seen(void *arg)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.effects WHERE event_id = '%s'", schema,
             (const char *)arg);
    return sql_long(sql) > 0;
}

static void test_wk_inbox_duplicate_event_has_one_effect(void)
{
    char dup[PROTO_UUID_LEN + 1], last[PROTO_UUID_LEN + 1], sql[256];
    proto_uuid_v4(dup);
    proto_uuid_v4(last);
    CU_ASSERT_EQUAL_FATAL(publish_event(dup), 0);
    CU_ASSERT_EQUAL_FATAL(publish_event(dup), 0);
    /* One consumer handles its queue in order: once `last` took effect, both copies
     * of `dup` were handled. */
    CU_ASSERT_EQUAL_FATAL(publish_event(last), 0);
    CU_ASSERT_FATAL(ft_wait_until(effect_seen, last, 15000));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.effects WHERE event_id = '%s'", schema, dup);
    CU_ASSERT_EQUAL(sql_long(sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.inbox WHERE event_id IN ('%s', '%s')",
             schema, dup, last);
    CU_ASSERT_EQUAL(sql_long(sql), 2);
}

/* Events already waiting when the worker takes them are handled in batches: 40 events, each
 * with one effect, some of them with a batch of more than one; the same event twice in one
 * batch has one effect. */
static void test_wk_event_batches_apply_each_event_once(void)
{
    char ids[40][PROTO_UUID_LEN + 1], sql[512];
    /* Stopped, the worker lets them pile up in its queue: they arrive together. */
    CU_ASSERT_EQUAL_FATAL(kill(t.pids[0], SIGSTOP), 0);
    for (int i = 0; i < 40; i++) {
        proto_uuid_v4(ids[i]);
        CU_ASSERT_EQUAL_FATAL(publish_event(ids[i]), 0);
        if (i == 20)
            CU_ASSERT_EQUAL_FATAL(publish_event(ids[i]), 0); /* a copy, right behind it */
    }
    CU_ASSERT_EQUAL_FATAL(kill(t.pids[0], SIGCONT), 0);
    CU_ASSERT_FATAL(ft_wait_until(effect_seen, ids[39], 15000));
    struct proto_buf in = {0};
    for (int i = 0; i < 40; i++)
        proto_buf_printf(&in, "%s'%s'", i ? "," : "", ids[i]);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.effects WHERE event_id IN (", schema);
    struct proto_buf q = {0};
    proto_buf_printf(&q, "%s%s)", sql, in.data);
    CU_ASSERT_EQUAL(sql_long(q.data), 40);
    proto_buf_reset(&q);
    proto_buf_printf(&q,
                     "SELECT count(DISTINCT event_id) FROM %s.effects WHERE batch > 1 AND "
                     "event_id IN (%s)",
                     schema, in.data);
    long batched = sql_long(q.data);
    CU_ASSERT(batched > 1);
    if (batched <= 1)
        fprintf(stderr, "\n  no batch of more than one event (%ld)\n", batched);
    proto_buf_free(&q);
    proto_buf_free(&in);
}

/* 1 when the file at path contains needle. */
static int log_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return found;
}

static int inbox_has(void *arg)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.inbox WHERE event_id = '%s'", schema,
             (const char *)arg);
    return sql_long(sql) == 1;
}

/* A poison event in a batch rolls the batch back; its other events are then handled one by
 * one and take effect; the poison one has none (it is redelivered until the delivery limit). */
static void test_wk_event_batch_with_poison_falls_back_to_singles(void)
{
    char ids[10][PROTO_UUID_LEN + 1], sql[512];
    CU_ASSERT_EQUAL_FATAL(kill(t.pids[0], SIGSTOP), 0);
    for (int i = 0; i < 10; i++) {
        proto_uuid_v4(ids[i]);
        CU_ASSERT_EQUAL_FATAL(publish_event_data(ids[i], i == 4), 0);
    }
    CU_ASSERT_EQUAL_FATAL(kill(t.pids[0], SIGCONT), 0);
    for (int i = 0; i < 10; i++) {
        if (i == 4)
            continue;
        CU_ASSERT(ft_wait_until(inbox_has, ids[i], 15000));
        snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.effects WHERE event_id = '%s'", schema,
                 ids[i]);
        CU_ASSERT_EQUAL(sql_long(sql), 1);
    }
    snprintf(sql, sizeof sql,
             "SELECT (SELECT count(*) FROM %s.effects WHERE event_id = '%s') + "
             "(SELECT count(*) FROM %s.inbox WHERE event_id = '%s')",
             schema, ids[4], schema, ids[4]);
    CU_ASSERT_EQUAL(sql_long(sql), 0);
    CU_ASSERT(log_has(t.log, "event batch failed, handling its events one by one"));
}

/* Every other setting as itest_spawn gives it: only the retention is wrong. */
static int exit_code_with(const char *bad)
{
    char db[2048];
    snprintf(db, sizeof db, "DATABASE_URL=%s", ft_env("PG_URL", ""));
    char *env[] = {"ITEST_NAME=itest_badconfig", db, (char *)bad, NULL};
    char *argv[] = {"fintwin-testworker", NULL};
    pid_t pid = ft_spawn(ft_bin("fintwin-testworker"), argv, env, t.log);
    int status = -1;
    if (pid <= 0)
        return -1;
    if (!ft_wait_exit(pid, 10000, &status)) {
        ft_stop(pid, SIGKILL, 5000);
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_wk_retention_out_of_range_exits_78(void)
{
    CU_ASSERT_EQUAL(exit_code_with("WK_INBOX_KEEP_DAYS=0"), 78);
    CU_ASSERT_EQUAL(exit_code_with("WK_OUTBOX_KEEP_HOURS=8761"), 78);
    CU_ASSERT_EQUAL(exit_code_with("WK_OUTBOX_KEEP_HOURS=many"), 78);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("wk_outbox", suite_init, suite_clean);
    CU_add_test(s, "test_wk_prune_deletes_only_expired_event_rows",
                test_wk_prune_deletes_only_expired_event_rows);
    CU_add_test(s, "test_wk_outbox_rows_published_once_and_marked",
                test_wk_outbox_rows_published_once_and_marked);
    CU_add_test(s, "test_wk_outbox_handler_row_is_relayed", test_wk_outbox_handler_row_is_relayed);
    CU_add_test(s, "test_wk_inbox_duplicate_event_has_one_effect",
                test_wk_inbox_duplicate_event_has_one_effect);
    CU_add_test(s, "test_wk_event_batches_apply_each_event_once",
                test_wk_event_batches_apply_each_event_once);
    CU_add_test(s, "test_wk_event_batch_with_poison_falls_back_to_singles",
                test_wk_event_batch_with_poison_falls_back_to_singles);
    CU_add_test(s, "test_wk_retention_out_of_range_exits_78",
                test_wk_retention_out_of_range_exits_78);
    return ft_cunit_run();
}
