/*
 * The notification worker end to end over AMQP: a real fintwin-notification consumes the real
 * rpc.notification and events.notification queues. The tests publish events to ft.events the
 * way the outbox relay does (persistent event envelopes), play the gateway for the methods
 * (envelope user, args.path/query), read notify.notifications as the admin through PG_URL, and
 * listen on ft.live with their own exclusive queues. Users and their ledger accounts are fresh
 * random UUIDs (accounts inserted as the admin), so tests are order-independent and can run
 * twice against the same servers. One test also runs the real fintwin-transaction.
 */
#include <CUnit/Basic.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ft_amqp.h"
#include "ft_test.h"
#include "worker_test.h"
#include "proto/envelope.h"
#include "proto/json.h"
#include "proto/topology.h"
#include "proto/uuid.h"

#define WORKER     "notification"
#define TIMEOUT_MS 20000
#define QUIET_MS   1000
#define ID_BUF     (PROTO_UUID_LEN + 1)

static struct ft_amqp *a;
static PGconn *pg;
static pid_t worker, ledger_worker;
static char log_path[256];
static char db_url[1024];

/* ---- setup ---- */

static pid_t spawn(const char *kind, const char *url)
{
    char db[1100], bin[64];
    snprintf(db, sizeof db, "DATABASE_URL=%s", url);
    snprintf(bin, sizeof bin, "fintwin-%s", kind);
    char *env[] = {db, "WK_PREFETCH=8", "WK_RELAY_INTERVAL_MS=50", "LOG_LEVEL=info", NULL};
    char *argv[] = {bin, NULL};
    return ft_spawn(ft_bin(bin), argv, env, log_path);
}

static int suite_init(void)
{
    wt_log_path("test_notify", log_path, sizeof log_path);
    if (wt_role_db_url(WORKER, db_url, sizeof db_url) != 0 || wt_connect(WORKER, &a, &pg) != 0)
        return -1;
    worker = spawn(WORKER, db_url);
    return worker > 0 && wt_ready(a, WORKER, TIMEOUT_MS) ? 0 : -1;
}

static int suite_clean(void)
{
    if (ledger_worker > 0)
        ft_stop(ledger_worker, SIGTERM, 10000);
    if (worker > 0)
        ft_stop(worker, SIGTERM, 10000);
    wt_log_done(log_path);
    PQfinish(pg);
    ft_amqp_close(a);
    return 0;
}

/* ---- helpers ---- */

static void sql1(char *out, size_t size, const char *sql, const char *p1, const char *p2)
{
    wt_sql1(pg, out, size, sql, p1, p2);
}

/* A ledger account of `owner`, inserted as the admin (the notification worker only reads it
 * through ledger.account_owners). */
static void new_account(const char *owner, const char *currency, char out[ID_BUF])
{
    char v[256];
    proto_uuid_v4(out);
    const char *p[] = {out, owner, currency};
    PGresult *r = PQexecParams(pg,
                               "INSERT INTO ledger.accounts (id, owner, name, kind, currency) "
                               "VALUES ($1, $2, 'Notify test', 'checking', $3)",
                               3, NULL, p, NULL, NULL, 0);
    snprintf(v, sizeof v, "%s", PQresultErrorMessage(r));
    CU_ASSERT_EQUAL(PQresultStatus(r), PGRES_COMMAND_OK);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "\n  account insert: %s\n", v);
    PQclear(r);
}

/* Publishes one event envelope to ft.events like the relay (persistent, key = type).
 * user may be NULL; data_json is any JSON (NULL: nil). */
static void publish(const char *type, const char *id, const char *user, const char *data_json)
{
    wt_publish_event(a, type, id, user, data_json);
}

static int inbox_has(void *arg)
{
    char v[64];
    sql1(v, sizeof v, "SELECT count(*) FROM notify.inbox WHERE event_id = $1", arg, NULL);
    return strcmp(v, "1") == 0;
}

/* Waits until the worker handled (committed) event `id`, whatever it made of it. */
static void wait_handled(const char *id)
{
    int ok = ft_wait_until(inbox_has, (void *)id, TIMEOUT_MS);
    CU_ASSERT(ok);
    if (!ok)
        fprintf(stderr, "\n  event %s was not handled in time\n", id);
}

/* Publishes an event with a fresh id (into id_out when not NULL) and waits for it. */
static void event(const char *type, const char *user, const char *data_json, char *id_out)
{
    char id[ID_BUF];
    proto_uuid_v4(id);
    publish(type, id, user, data_json);
    wait_handled(id);
    if (id_out)
        memcpy(id_out, id, ID_BUF);
}

/* txn.posted data as the transaction worker writes it. */
static void txn_data(char *out, size_t size, const char *user, const char *account,
                     const char *kind, const char *amount, const char *currency, const char *dir,
                     const char *balance)
{
    char tid[ID_BUF];
    proto_uuid_v4(tid);
    snprintf(out, size,
             "{\"transfer_id\":\"%s\",\"user_id\":\"%s\",\"account_id\":\"%s\",\"type\":\"%s\","
             "\"amount\":\"%s\",\"currency\":\"%s\",\"direction\":\"%s\","
             "\"balance_after\":\"%s\",\"counterparty_account\":null}",
             tid, user, account, kind, amount, currency, dir, balance);
}

/* "title|message|type|account_id|is_read" of the notification made from event `id`. */
static void row_of(const char *id, char *out, size_t size)
{
    sql1(out, size,
         "SELECT string_agg(title || '|' || message || '|' || type || '|' || "
         "coalesce(account_id::text, '-') || '|' || is_read, ';') "
         "FROM notify.notifications WHERE source_event = $1",
         id, NULL);
}

static int call(const char *method, const char *user, const char *path, const char *query,
                struct ft_reply *r)
{
    struct ft_call c = {.user = user,
                        .meta_json = "{\"ip\":\"127.0.0.1\"}",
                        .path_json = path,
                        .query_json = query};
    int got = ft_amqp_call_ex(a, WORKER, method, &c, TIMEOUT_MS, r);
    CU_ASSERT_EQUAL(got, 1);
    return got == 1 ? r->status : -1;
}

static int status_of(const char *method, const char *user, const char *path, const char *query)
{
    struct ft_reply r;
    int st = call(method, user, path, query, &r);
    ft_reply_free(&r);
    return st;
}

static void expect_error(const char *method, const char *user, const char *path, const char *query,
                         int status, const char *code)
{
    struct ft_reply r;
    int st = call(method, user, path, query, &r);
    CU_ASSERT_EQUAL(st, status);
    CU_ASSERT_EQUAL(r.is_error, 1);
    CU_ASSERT_STRING_EQUAL(r.code, code);
    if (st != status || strcmp(r.code, code) != 0)
        fprintf(stderr, "\n  %s path=%s query=%s: got %d %s, want %d %s\n", method,
                path ? path : "-", query ? query : "-", st, r.code, status, code);
    ft_reply_free(&r);
}

static void path_of(char *out, size_t size, const char *name, const char *value)
{
    snprintf(out, size, "{\"%s\":\"%s\"}", name, value);
}

/* "total/unread" from notif.count (path: account_id or NULL). */
static void counts(const char *user, const char *account, char *out, size_t size)
{
    char path[128];
    struct ft_reply r;
    if (account)
        path_of(path, sizeof path, "account_id", account);
    CU_ASSERT_EQUAL(call("notif.count", user, account ? path : NULL, NULL, &r), 200);
    json_t *j = wt_jbody(&r);
    snprintf(out, size, "%lld/%lld", (long long)json_integer_value(json_object_get(j, "total")),
             (long long)json_integer_value(json_object_get(j, "unread")));
    json_decref(j);
    ft_reply_free(&r);
}

/* Everything stored for a user, as one comparable string. */
static void user_state(const char *user, char *out, size_t size)
{
    sql1(out, size,
         "SELECT count(*) || ':' || coalesce(string_agg(id || '=' || is_read || '=' || "
         "coalesce(account_id::text, '-'), ',' ORDER BY id), '') "
         "FROM notify.notifications WHERE user_id = $1",
         user, NULL);
}

static void listen_live(const char *user, char *tag, size_t size)
{
    wt_listen_live(a, user, tag, size);
}

static json_t *next_frame(const char *tag)
{
    return wt_next_frame(a, tag, TIMEOUT_MS);
}

static void expect_quiet(const char *tag)
{
    wt_expect_quiet(a, tag, QUIET_MS);
}

/* ---- tests ---- */

static void test_notify_txn_posted_titles_and_amounts(void)
{
    char u[ID_BUF], other[ID_BUF], usd[ID_BUF], inr[ID_BUF], jpy[ID_BUF], foreign[ID_BUF];
    char data[768], id[ID_BUF], v[1024], want[512];
    proto_uuid_v4(u);
    proto_uuid_v4(other);
    new_account(u, "USD", usd);
    new_account(u, "INR", inr);
    new_account(u, "JPY", jpy);
    new_account(other, "USD", foreign);

    txn_data(data, sizeof data, u, usd, "deposit", "12.50", "USD", "in", "12.50");
    event("txn.posted", u, data, id);
    row_of(id, v, sizeof v);
    snprintf(want, sizeof want, "Deposit received|$12.50 was added to your account.|info|%s|false",
             usd);
    CU_ASSERT_STRING_EQUAL(v, want);

    txn_data(data, sizeof data, u, usd, "withdrawal", "1234.50", "USD", "out", "0.00");
    event("txn.posted", u, data, id);
    row_of(id, v, sizeof v);
    snprintf(want, sizeof want,
             "Withdrawal processed|$1,234.50 was withdrawn from your account.|alert|%s|false", usd);
    CU_ASSERT_STRING_EQUAL(v, want);

    txn_data(data, sizeof data, u, inr, "transfer", "123456.78", "INR", "out", "1.00");
    event("txn.posted", u, data, id);
    row_of(id, v, sizeof v);
    snprintf(want, sizeof want, "Transfer sent|You sent ₹1,23,456.78.|info|%s|false", inr);
    CU_ASSERT_STRING_EQUAL(v, want);

    txn_data(data, sizeof data, u, jpy, "transfer", "1500", "JPY", "in", "1500");
    event("txn.posted", u, data, id);
    row_of(id, v, sizeof v);
    snprintf(want, sizeof want, "Money received|You received ¥1,500.|info|%s|false", jpy);
    CU_ASSERT_STRING_EQUAL(v, want);

    /* An envelope without a user: data.user_id names the recipient. */
    txn_data(data, sizeof data, u, usd, "deposit", "0.05", "USD", "in", "0.05");
    event("txn.posted", NULL, data, id);
    row_of(id, v, sizeof v);
    snprintf(want, sizeof want, "Deposit received|$0.05 was added to your account.|info|%s|false",
             usd);
    CU_ASSERT_STRING_EQUAL(v, want);

    /* An account that is not the recipient's is not attached to the notification. */
    txn_data(data, sizeof data, u, foreign, "deposit", "1", "USD", "in", "1.00");
    event("txn.posted", u, data, id);
    row_of(id, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "Deposit received|$1.00 was added to your account.|info|-|false");
    sql1(v, sizeof v, "SELECT count(*) FROM notify.notifications WHERE user_id = $1", other, NULL);
    CU_ASSERT_STRING_EQUAL(v, "0");
}

static void test_notify_duplicate_event_one_notification(void)
{
    char u[ID_BUF], acc[ID_BUF], tag[64], data[768], dup[ID_BUF], last[ID_BUF], v[256];
    proto_uuid_v4(u);
    new_account(u, "USD", acc);
    listen_live(u, tag, sizeof tag);
    proto_uuid_v4(dup);
    txn_data(data, sizeof data, u, acc, "deposit", "3", "USD", "in", "3.00");
    publish("txn.posted", dup, u, data);
    publish("txn.posted", dup, u, data);
    /* One consumer takes its queue in order: once `last` is handled, both copies were. */
    proto_uuid_v4(last);
    publish("risk.alert", last, u, "{}");
    wait_handled(last);
    sql1(v, sizeof v, "SELECT count(*) FROM notify.notifications WHERE source_event = $1", dup,
         NULL);
    CU_ASSERT_STRING_EQUAL(v, "1");
    /* Frames: one notification and one balance for dup, then last's notification. */
    json_t *f = next_frame(tag);
    CU_ASSERT_STRING_EQUAL(wt_jstr(f, "type"), "notification");
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_object_get(f, "notification"), "title"),
                           "Deposit received");
    json_decref(f);
    f = next_frame(tag);
    CU_ASSERT_STRING_EQUAL(wt_jstr(f, "type"), "balance");
    json_decref(f);
    f = next_frame(tag);
    CU_ASSERT_STRING_EQUAL(wt_jstr(f, "type"), "notification");
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_object_get(f, "notification"), "type"), "risk");
    json_decref(f);
    expect_quiet(tag);

    /* Behind the inbox, UNIQUE (source_event, user_id): an event the inbox forgot (its row
     * deleted here) still makes no second notification, and no frame. */
    sql1(v, sizeof v, "DELETE FROM notify.inbox WHERE event_id = $1", dup, NULL);
    publish("txn.posted", dup, u, data);
    wait_handled(dup);
    sql1(v, sizeof v, "SELECT count(*) FROM notify.notifications WHERE source_event = $1", dup,
         NULL);
    CU_ASSERT_STRING_EQUAL(v, "1");
    expect_quiet(tag);
}

/* 1 if the worker logged a warning for event `id`. */
static int warned(const char *id)
{
    char needle[96], line[4096];
    snprintf(needle, sizeof needle, " req=%s ", id);
    FILE *f = fopen(log_path, "r");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, needle) && strstr(line, " level=warn ");
    if (f)
        fclose(f);
    return found;
}

static void test_notify_malformed_events_are_acknowledged(void)
{
    char u[ID_BUF], other[ID_BUF], acc[ID_BUF], data[1024], ids[16][ID_BUF], good[ID_BUF], v[256];
    proto_uuid_v4(u);
    proto_uuid_v4(other);
    new_account(u, "USD", acc);
    char deep[600] = "";
    for (int i = 0; i < 20; i++)
        strcat(deep, "{\"x\":");
    strcat(deep, "1");
    for (int i = 0; i < 20; i++)
        strcat(deep, "}");
    struct {
        const char *type;
        const char *user;
        char data[700];
    } bad[] = {
        {"txn.posted", u, "null"},
        {"txn.posted", u, "[1,2,3]"},
        {"txn.posted", u, "\"deposit\""},
        {"txn.posted", u, ""},
        {"txn.posted", u, ""},
        {"txn.posted", u, ""},
        {"txn.posted", u, ""},
        {"txn.posted", NULL, ""},
        {"txn.posted", u, ""},
        {"risk.alert", NULL, "{\"title\":\"no user\"}"},
        {"risk.alert", "", "{\"user_id\":42}"},
        {"twin.simulated", NULL, "\"just text\""},
        {"account.default_ready", u, "{\"first_completion\":\"true\"}"},
        {"account.default_ready", u, "{\"first_completion\":false}"},
        {"account.default_ready", u, "[true]"},
        {"txn.posted", u, ""},
    };
    snprintf(
        bad[3].data, sizeof bad[3].data,
        "{\"type\":\"deposit\",\"amount\":{\"v\":1},\"currency\":\"USD\",\"account_id\":\"%s\"}",
        acc);
    snprintf(bad[4].data, sizeof bad[4].data,
             "{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"ZZZ\",\"account_id\":\"%s\"}",
             acc);
    snprintf(bad[5].data, sizeof bad[5].data,
             "{\"type\":\"refund\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"%s\"}",
             acc);
    snprintf(bad[6].data, sizeof bad[6].data,
             "{\"type\":\"deposit\",\"amount\":\"1.001\",\"currency\":\"USD\",\"account_id\":"
             "\"%s\"}",
             acc);
    /* no user anywhere */
    snprintf(bad[7].data, sizeof bad[7].data,
             "{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"%s\"}",
             acc);
    /* data.user_id contradicts the envelope */
    snprintf(bad[8].data, sizeof bad[8].data,
             "{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"USD\",\"account_id\":\"%s\","
             "\"user_id\":\"%s\"}",
             acc, other);
    /* unknown fields, deep nesting, no account */
    snprintf(bad[15].data, sizeof bad[15].data,
             "{\"type\":\"deposit\",\"amount\":\"1\",\"currency\":\"USD\",\"extra\":%s}", deep);
    size_t n = sizeof bad / sizeof bad[0];
    for (size_t i = 0; i < n; i++) {
        proto_uuid_v4(ids[i]);
        publish(bad[i].type, ids[i], bad[i].user, bad[i].data);
    }
    /* A good event behind them is handled: nothing was stuck or crashed. */
    txn_data(data, sizeof data, u, acc, "deposit", "2", "USD", "in", "2.00");
    proto_uuid_v4(good);
    publish("txn.posted", good, u, data);
    wait_handled(good);
    for (size_t i = 0; i < n; i++) {
        /* acknowledged and recorded (so never redelivered), but no notification */
        CU_ASSERT(inbox_has(ids[i]));
        sql1(v, sizeof v, "SELECT count(*) FROM notify.notifications WHERE source_event = $1",
             ids[i], NULL);
        CU_ASSERT_STRING_EQUAL(v, "0");
        if (strcmp(v, "0") != 0)
            fprintf(stderr, "\n  malformed event %zu made a notification\n", i);
        /* and logged as a warning under its event id, saying why (never dropped silently;
         * every event also gets an info "event done" line, which does not count) */
        if (strcmp(bad[i].data, "{\"first_completion\":false}") == 0)
            continue; /* readable, with nothing to say: no warning */
        int logged = warned(ids[i]);
        if (!logged)
            fprintf(stderr, "\n  malformed event %zu was not logged\n", i);
        CU_ASSERT(logged);
    }
    row_of(good, v, sizeof v);
    CU_ASSERT_PTR_NOT_NULL(strstr(v, "$2.00 was added"));
    CU_ASSERT(wt_ready(a, WORKER, TIMEOUT_MS));
    int st = 0;
    CU_ASSERT_FALSE(ft_exited(worker, &st));
}

static void test_notify_welcome_risk_and_twin_events(void)
{
    char u[ID_BUF], acc[ID_BUF], data[512], id[ID_BUF], v[1024], want[512];
    proto_uuid_v4(u);
    new_account(u, "EUR", acc);

    /* the ledger's account.default_ready for a first profile completion: the welcome, on the
     * default account */
    snprintf(data, sizeof data,
             "{\"user_id\":\"%s\",\"account_id\":\"%s\",\"currency\":\"EUR\","
             "\"first_completion\":true}",
             u, acc);
    event("account.default_ready", u, data, id);
    row_of(id, v, sizeof v);
    snprintf(want, sizeof want,
             "Welcome to FinTwin|Your profile is complete. Your accounts, simulations and alerts "
             "are ready.|info|%s|false",
             acc);
    CU_ASSERT_STRING_EQUAL(v, want);
    /* an account opened without a first completion says nothing */
    snprintf(data, sizeof data,
             "{\"user_id\":\"%s\",\"account_id\":\"%s\",\"first_completion\":false}", u, acc);
    event("account.default_ready", u, data, id);
    row_of(id, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "");

    snprintf(data, sizeof data,
             "{\"title\":\"Large withdrawal\",\"message\":\"80%% of \\\"Main\\\" left today.\","
             "\"account_id\":\"%s\",\"score\":91}",
             acc);
    event("risk.alert", u, data, id);
    row_of(id, v, sizeof v);
    snprintf(want, sizeof want, "Large withdrawal|80%% of \"Main\" left today.|risk|%s|false", acc);
    CU_ASSERT_STRING_EQUAL(v, want);
    /* unusable text: generic sentences, still a risk notification */
    event("risk.alert", u, "{\"title\":\"\",\"message\":[1]}", id);
    row_of(id, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "Risk alert|Unusual activity was detected on your account. Review "
                              "your recent transactions.|risk|-|false");

    snprintf(data, sizeof data,
             "{\"scenario\":\"rate_change\",\"account_id\":\"%s\",\"alert_level\":\"medium\"}",
             acc);
    event("twin.simulated", u, data, id);
    row_of(id, v, sizeof v);
    snprintf(want, sizeof want,
             "Simulation completed|Your rate change simulation is complete: medium risk. Open "
             "the digital twin to see the result.|info|%s|false",
             acc);
    CU_ASSERT_STRING_EQUAL(v, want);
}

static void test_notify_validation_codes(void)
{
    char u[ID_BUF], other[ID_BUF], acc[ID_BUF], path[128];
    proto_uuid_v4(u);
    proto_uuid_v4(other);
    new_account(u, "USD", acc);
    event("risk.alert", u, "{}", NULL);
    char before[2048], after[2048];
    user_state(u, before, sizeof before);

    expect_error("notif.list", u, NULL, "{\"type\":\"warning\"}", 422, "invalid_type");
    expect_error("notif.list", u, NULL, "{\"type\":\"\"}", 422, "invalid_type");
    expect_error("notif.list", u, NULL, "{\"unread_only\":\"yes\"}", 422, "invalid_unread_only");
    expect_error("notif.list", u, NULL, "{\"limit\":\"0\"}", 422, "invalid_limit");
    expect_error("notif.list", u, NULL, "{\"limit\":\"101\"}", 422, "invalid_limit");
    expect_error("notif.list", u, NULL, "{\"limit\":\"ten\"}", 422, "invalid_limit");
    expect_error("notif.list", u, NULL, "{\"offset\":\"-1\"}", 422, "invalid_offset");
    expect_error("notif.list", u, NULL, "{\"offset\":\"\"}", 422, "invalid_offset");
    path_of(path, sizeof path, "account_id", acc);
    expect_error("notif.list_account", u, path, "{\"type\":\"x\"}", 422, "invalid_type");

    expect_error("notif.list_account", u, NULL, NULL, 404, "account_not_found");
    expect_error("notif.list_account", u, "{\"account_id\":\"nope\"}", NULL, 404,
                 "account_not_found");
    path_of(path, sizeof path, "account_id", other); /* an unknown id */
    expect_error("notif.list_account", u, path, NULL, 404, "account_not_found");
    expect_error("notif.count", u, path, NULL, 404, "account_not_found");
    expect_error("notif.read_all", u, path, NULL, 404, "account_not_found");
    expect_error("notif.count", u, "{\"account_id\":\"x\"}", NULL, 404, "account_not_found");

    expect_error("notif.read", u, NULL, NULL, 404, "notification_not_found");
    expect_error("notif.read", u, "{\"id\":\"nope\"}", NULL, 404, "notification_not_found");
    path_of(path, sizeof path, "id", other);
    expect_error("notif.read", u, path, NULL, 404, "notification_not_found");
    expect_error("notif.delete", u, path, NULL, 404, "notification_not_found");
    expect_error("notif.delete", u, "{\"id\":\"count\"}", NULL, 404, "notification_not_found");

    static const char *const methods[] = {"notif.list", "notif.list_account", "notif.count",
                                          "notif.read", "notif.read_all",     "notif.delete"};
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        expect_error(methods[i], NULL, NULL, NULL, 401, "unauthenticated");
    /* there is no method to create one */
    expect_error("notif.create", u, NULL, NULL, 404, "unknown_method");

    user_state(u, after, sizeof after);
    CU_ASSERT_STRING_EQUAL(before, after);
}

static void test_notify_pagination_newest_first(void)
{
    char u[ID_BUF], acc[ID_BUF], data[768];
    proto_uuid_v4(u);
    new_account(u, "USD", acc);
    for (int i = 1; i <= 7; i++) {
        char amt[16];
        snprintf(amt, sizeof amt, "%d", i);
        txn_data(data, sizeof data, u, acc, "deposit", amt, "USD", "in", amt);
        event("txn.posted", u, data, NULL);
    }
    const char *queries[] = {"{\"limit\":\"3\"}", "{\"limit\":\"3\",\"offset\":\"3\"}",
                             "{\"limit\":\"3\",\"offset\":\"6\"}",
                             "{\"limit\":\"3\",\"offset\":\"9\"}"};
    const char *want[] = {"$7.00,$6.00,$5.00", "$4.00,$3.00,$2.00", "$1.00", ""};
    for (int by = 0; by < 3; by++) {
        char seen[8][ID_BUF], path[128];
        int nseen = 0;
        path_of(path, sizeof path, "account_id", by == 1 ? acc : u);
        for (int q = 0; q < 4; q++) {
            struct ft_reply r;
            CU_ASSERT_EQUAL(
                call(by ? "notif.list_account" : "notif.list", u, by ? path : NULL, queries[q], &r),
                200);
            json_t *j = wt_jbody(&r);
            char got[128] = "";
            for (size_t i = 0; i < json_array_size(j); i++) {
                json_t *n = json_array_get(j, i);
                char amt[32] = "";
                sscanf(wt_jstr(n, "message"), "%31s", amt);
                if (i)
                    strcat(got, ",");
                strcat(got, amt);
                for (int k = 0; k < nseen; k++)
                    CU_ASSERT(strcmp(seen[k], wt_jstr(n, "id")) != 0);
                if (nseen < 8)
                    snprintf(seen[nseen++], ID_BUF, "%s", wt_jstr(n, "id"));
            }
            CU_ASSERT_STRING_EQUAL(got, want[q]);
            json_decref(j);
            ft_reply_free(&r);
        }
        CU_ASSERT_EQUAL(nseen, 7);
    }
    /* the whole object, every field a client reads (README "Notifications") */
    struct ft_reply r;
    CU_ASSERT_EQUAL(call("notif.list", u, NULL, "{\"limit\":\"1\"}", &r), 200);
    json_t *j = wt_jbody(&r);
    json_t *n = json_array_get(j, 0);
    CU_ASSERT_EQUAL(json_object_size(n), 7);
    CU_ASSERT(proto_uuid_valid(wt_jstr(n, "id")));
    CU_ASSERT_STRING_EQUAL(wt_jstr(n, "account_id"), acc);
    CU_ASSERT_STRING_EQUAL(wt_jstr(n, "title"), "Deposit received");
    CU_ASSERT_STRING_EQUAL(wt_jstr(n, "message"), "$7.00 was added to your account.");
    CU_ASSERT_STRING_EQUAL(wt_jstr(n, "type"), "info");
    CU_ASSERT(json_is_false(json_object_get(n, "is_read")));
    CU_ASSERT_EQUAL(strlen(wt_jstr(n, "created_at")), 24); /* 2024-01-02T03:04:05.678Z */
    json_decref(j);
    ft_reply_free(&r);

    /* filters: type and unread_only */
    txn_data(data, sizeof data, u, acc, "withdrawal", "1", "USD", "out", "27.00");
    event("txn.posted", u, data, NULL);
    CU_ASSERT_EQUAL(call("notif.list", u, NULL, "{\"type\":\"alert\"}", &r), 200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 1);
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_array_get(j, 0), "title"), "Withdrawal processed");
    json_decref(j);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(call("notif.list", u, NULL, "{\"type\":\"info\"}", &r), 200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 7);
    json_decref(j);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(call("notif.list", u, NULL, "{\"type\":\"risk\"}", &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json, "[]");
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(call("notif.read_all", u, NULL, NULL, &r), 200);
    ft_reply_free(&r);
    txn_data(data, sizeof data, u, acc, "deposit", "9", "USD", "in", "36.00");
    event("txn.posted", u, data, NULL);
    CU_ASSERT_EQUAL(call("notif.list", u, NULL, "{\"unread_only\":\"true\"}", &r), 200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 1);
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_array_get(j, 0), "message"),
                           "$9.00 was added to your account.");
    json_decref(j);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(call("notif.list", u, NULL, "{\"unread_only\":\"0\",\"limit\":\"100\"}", &r),
                    200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 9);
    json_decref(j);
    ft_reply_free(&r);
}

static void test_notify_count_read_read_all_delete(void)
{
    char u[ID_BUF], a1[ID_BUF], a2[ID_BUF], data[768], ev1[ID_BUF], v[256], path[128];
    proto_uuid_v4(u);
    new_account(u, "USD", a1);
    new_account(u, "GBP", a2);
    txn_data(data, sizeof data, u, a1, "deposit", "1", "USD", "in", "1.00");
    event("txn.posted", u, data, ev1);
    txn_data(data, sizeof data, u, a1, "deposit", "2", "USD", "in", "3.00");
    event("txn.posted", u, data, NULL);
    txn_data(data, sizeof data, u, a2, "deposit", "5", "GBP", "in", "5.00");
    event("txn.posted", u, data, NULL);
    snprintf(data, sizeof data, "{\"first_completion\":true,\"user_id\":\"%s\"}", u);
    event("account.default_ready", u, data, NULL);

    counts(u, NULL, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "4/4");
    counts(u, u, v, sizeof v); /* the user's own id means all of theirs */
    CU_ASSERT_STRING_EQUAL(v, "4/4");
    counts(u, a1, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "2/2");
    counts(u, a2, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "1/1");

    /* read one */
    char nid[ID_BUF];
    sql1(nid, sizeof nid, "SELECT id FROM notify.notifications WHERE source_event = $1", ev1, NULL);
    path_of(path, sizeof path, "id", nid);
    struct ft_reply r;
    CU_ASSERT_EQUAL(call("notif.read", u, path, NULL, &r), 200);
    json_t *j = wt_jbody(&r);
    CU_ASSERT_STRING_EQUAL(wt_jstr(j, "id"), nid);
    CU_ASSERT(json_is_true(json_object_get(j, "is_read")));
    CU_ASSERT_STRING_EQUAL(wt_jstr(j, "message"), "$1.00 was added to your account.");
    json_decref(j);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(status_of("notif.read", u, path, NULL), 200); /* again: still fine */
    counts(u, a1, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "2/1");
    counts(u, NULL, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "4/3");

    /* read-all of one account, then of everything */
    path_of(path, sizeof path, "account_id", a1);
    CU_ASSERT_EQUAL(call("notif.read_all", u, path, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json, "{\"message\":\"1 notification marked as read.\","
                                        "\"count\":1}");
    ft_reply_free(&r);
    counts(u, a2, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "1/1");
    CU_ASSERT_EQUAL(call("notif.read_all", u, NULL, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json, "{\"message\":\"2 notifications marked as read.\","
                                        "\"count\":2}");
    ft_reply_free(&r);
    counts(u, NULL, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "4/0");
    sql1(v, sizeof v, "SELECT count(*) FROM notify.notifications WHERE user_id = $1 AND is_read", u,
         NULL);
    CU_ASSERT_STRING_EQUAL(v, "4");

    /* delete */
    path_of(path, sizeof path, "id", nid);
    CU_ASSERT_EQUAL(call("notif.delete", u, path, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json, "{\"message\":\"Notification deleted.\"}");
    ft_reply_free(&r);
    expect_error("notif.delete", u, path, NULL, 404, "notification_not_found");
    expect_error("notif.read", u, path, NULL, 404, "notification_not_found");
    sql1(v, sizeof v, "SELECT count(*) FROM notify.notifications WHERE id = $1", nid, NULL);
    CU_ASSERT_STRING_EQUAL(v, "0");
    counts(u, NULL, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "3/0");
    path_of(path, sizeof path, "account_id", a2);
    CU_ASSERT_EQUAL(call("notif.list_account", u, path, NULL, &r), 200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 1);
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_array_get(j, 0), "message"),
                           "£5.00 was added to your account.");
    json_decref(j);
    ft_reply_free(&r);
}

static void test_notify_cross_user_isolation(void)
{
    char ua[ID_BUF], ub[ID_BUF], acc_a[ID_BUF], acc_b[ID_BUF], data[768], ev[ID_BUF], nid[ID_BUF],
        path[128], before[2048], after[2048], v[64];
    proto_uuid_v4(ua);
    proto_uuid_v4(ub);
    new_account(ua, "USD", acc_a);
    new_account(ub, "USD", acc_b);
    txn_data(data, sizeof data, ua, acc_a, "deposit", "50", "USD", "in", "50.00");
    event("txn.posted", ua, data, ev);
    sql1(nid, sizeof nid, "SELECT id FROM notify.notifications WHERE source_event = $1", ev, NULL);
    CU_ASSERT_FATAL(proto_uuid_valid(nid));
    user_state(ua, before, sizeof before);

    /* B names A's notification: 404, and nothing changes */
    path_of(path, sizeof path, "id", nid);
    expect_error("notif.read", ub, path, NULL, 404, "notification_not_found");
    expect_error("notif.delete", ub, path, NULL, 404, "notification_not_found");
    /* ... A's account or A's user id */
    static const char *const by_account[] = {"notif.list_account", "notif.count", "notif.read_all"};
    for (size_t i = 0; i < 3; i++) {
        path_of(path, sizeof path, "account_id", acc_a);
        expect_error(by_account[i], ub, path, NULL, 404, "account_not_found");
        path_of(path, sizeof path, "account_id", ua);
        expect_error(by_account[i], ub, path, NULL, 404, "account_not_found");
    }
    /* ... in the query: ignored, B sees only B's */
    char query[160];
    snprintf(query, sizeof query, "{\"user_id\":\"%s\",\"account_id\":\"%s\"}", ua, acc_a);
    struct ft_reply r;
    CU_ASSERT_EQUAL(call("notif.list", ub, NULL, query, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json, "[]");
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(call("notif.read_all", ub, NULL, query, &r), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json ? r.body_json : "", "\"count\":0"));
    ft_reply_free(&r);
    counts(ub, NULL, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "0/0");
    counts(ub, acc_b, v, sizeof v); /* B's own account is fine */
    CU_ASSERT_STRING_EQUAL(v, "0/0");

    user_state(ua, after, sizeof after);
    CU_ASSERT_STRING_EQUAL(before, after);
    counts(ua, NULL, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "1/1");
    path_of(path, sizeof path, "id", nid);
    CU_ASSERT_EQUAL(status_of("notif.read", ua, path, NULL), 200);
}

static void test_notify_live_frames_for_the_user_only(void)
{
    char ua[ID_BUF], ub[ID_BUF], acc[ID_BUF], data[768], tag_a[64], tag_b[64];
    proto_uuid_v4(ua);
    proto_uuid_v4(ub);
    new_account(ua, "INR", acc);
    listen_live(ua, tag_a, sizeof tag_a);
    listen_live(ub, tag_b, sizeof tag_b);
    char tid[ID_BUF];
    proto_uuid_v4(tid);
    snprintf(data, sizeof data,
             "{\"transfer_id\":\"%s\",\"user_id\":\"%s\",\"account_id\":\"%s\",\"type\":"
             "\"deposit\",\"amount\":\"123456.78\",\"currency\":\"INR\",\"direction\":\"in\","
             "\"balance_after\":\"200000.5\",\"counterparty_account\":null}",
             tid, ua, acc);
    event("txn.posted", ua, data, NULL);

    json_t *f = next_frame(tag_a);
    CU_ASSERT_STRING_EQUAL(wt_jstr(f, "type"), "notification");
    json_t *n = json_object_get(f, "notification");
    CU_ASSERT_STRING_EQUAL(wt_jstr(n, "message"), "₹1,23,456.78 was added to your "
                                                  "account.");
    /* exactly the object the REST API returns */
    struct ft_reply r;
    CU_ASSERT_EQUAL(call("notif.list", ua, NULL, NULL, &r), 200);
    json_t *j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 1);
    CU_ASSERT(json_equal(n, json_array_get(j, 0)));
    CU_ASSERT_EQUAL(json_object_size(f), 2);
    json_decref(j);
    ft_reply_free(&r);
    json_decref(f);

    struct ft_msg m;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(a, tag_a, TIMEOUT_MS, &m), 1);
    char want[512];
    snprintf(want, sizeof want,
             "{\"type\":\"balance\",\"account_id\":\"%s\",\"currency\":\"INR\",\"balance\":"
             "200000.50,\"transfer_id\":\"%s\"}",
             acc, tid);
    CU_ASSERT_STRING_EQUAL(m.body, want);
    CU_ASSERT_EQUAL(m.delivery_mode, 1);
    ft_msg_free(&m);
    expect_quiet(tag_a);
    expect_quiet(tag_b);
}

static int three_notifications(void *arg)
{
    const char **users = arg;
    char v[64];
    sql1(v, sizeof v, "SELECT count(*) FROM notify.notifications WHERE user_id IN ($1, $2)",
         users[0], users[1]);
    return strcmp(v, "3") == 0;
}

/* The real producer: postings through fintwin-transaction notify both sides. */
static void test_notify_real_ledger_postings(void)
{
    char tx_url[1024], ua[ID_BUF], ub[ID_BUF], acc_a[ID_BUF], v[1024], body[256];
    CU_ASSERT_FATAL(wt_role_db_url("transaction", tx_url, sizeof tx_url) == 0);
    CU_ASSERT_FATAL(ft_amqp_declare_rpc(a, "transaction") == 0);
    ledger_worker = spawn("transaction", tx_url);
    CU_ASSERT_FATAL(ledger_worker > 0 && wt_ready(a, "transaction", TIMEOUT_MS));
    proto_uuid_v4(ua);
    proto_uuid_v4(ub);
    struct ft_call c = {.user = ua, .body_json = "{\"type\":\"deposit\",\"amount\":\"1250.50\"}"};
    struct ft_reply r;
    CU_ASSERT_EQUAL(ft_amqp_call_ex(a, "transaction", "txn.create", &c, TIMEOUT_MS, &r), 1);
    CU_ASSERT_EQUAL(r.status, 201);
    json_t *j = wt_jbody(&r);
    snprintf(acc_a, sizeof acc_a, "%s", wt_jstr(j, "account_id"));
    json_decref(j);
    ft_reply_free(&r);
    struct ft_call open_b = {.user = ub}; /* opens B's default account */
    CU_ASSERT_EQUAL(ft_amqp_call_ex(a, "transaction", "acct.list", &open_b, TIMEOUT_MS, &r), 1);
    CU_ASSERT_EQUAL(r.status, 200);
    ft_reply_free(&r);
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":\"20\",\"to_account\":\"%s\"}",
             ub);
    c.body_json = body;
    CU_ASSERT_EQUAL(ft_amqp_call_ex(a, "transaction", "txn.create", &c, TIMEOUT_MS, &r), 1);
    CU_ASSERT_EQUAL(r.status, 201);
    ft_reply_free(&r);

    /* The relay and our worker are asynchronous: wait for all three notifications. */
    const char *pair[] = {ua, ub};
    CU_ASSERT(ft_wait_until(three_notifications, pair, TIMEOUT_MS));
    sql1(v, sizeof v,
         "SELECT string_agg(title || '|' || message || '|' || type || '|' || "
         "(account_id = $2)::text, ';' ORDER BY created_at, title) "
         "FROM notify.notifications WHERE user_id = $1",
         ua, acc_a);
    CU_ASSERT_STRING_EQUAL(v, "Deposit received|$1,250.50 was added to your account.|info|true;"
                              "Transfer sent|You sent $20.00.|info|true");
    sql1(v, sizeof v,
         "SELECT string_agg(title || '|' || message || '|' || type || '|' || "
         "(account_id IS NOT NULL)::text, ';') FROM notify.notifications WHERE user_id = $1",
         ub, NULL);
    CU_ASSERT_STRING_EQUAL(v, "Money received|You received $20.00.|info|true");
    ft_stop(ledger_worker, SIGTERM, 10000);
    ledger_worker = 0;
}

/* The worker's role reads ledger.account_owners and nothing else of the ledger. */
static void test_notify_role_reads_only_the_owner_view(void)
{
    static const struct {
        const char *sql, *state;
    } checks[] = {
        {"SELECT count(*) FROM ledger.account_owners", ""},
        {"SELECT count(*) FROM ledger.accounts", "42501"},
        {"SELECT count(*) FROM ledger.entries", "42501"},
        {"DELETE FROM ledger.account_owners WHERE false", "42501"},
        {"UPDATE ledger.account_owners SET owner = owner WHERE false", "42501"},
        {"SELECT count(*) FROM notify.notifications", ""},
        {"CREATE TABLE notify.x (i int)", "42501"},
    };
    PGconn *c = PQconnectdb(db_url);
    CU_ASSERT_EQUAL_FATAL(PQstatus(c), CONNECTION_OK);
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        PGresult *res = PQexec(c, checks[i].sql);
        const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        CU_ASSERT_STRING_EQUAL(s ? s : "", checks[i].state);
        if (strcmp(s ? s : "", checks[i].state) != 0)
            fprintf(stderr, "\n  %s: sqlstate %s, want %s\n", checks[i].sql, s ? s : "",
                    checks[i].state);
        PQclear(res);
    }
    PQfinish(c);
}

int main(void)
{
    int rc = wt_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("notify", suite_init, suite_clean);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_notify_txn_posted_titles_and_amounts);
    ADD(test_notify_duplicate_event_one_notification);
    ADD(test_notify_malformed_events_are_acknowledged);
    ADD(test_notify_welcome_risk_and_twin_events);
    ADD(test_notify_validation_codes);
    ADD(test_notify_pagination_newest_first);
    ADD(test_notify_count_read_read_all_delete);
    ADD(test_notify_cross_user_isolation);
    ADD(test_notify_live_frames_for_the_user_only);
    ADD(test_notify_real_ledger_postings);
    ADD(test_notify_role_reads_only_the_owner_view);
#undef ADD
    return ft_cunit_run();
}
