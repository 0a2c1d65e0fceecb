/*
 * The transaction worker end to end over AMQP: real fintwin-transaction processes consume
 * the real rpc.transaction queue and these tests play the gateway (envelope user, idem,
 * args.path/query/body as it sends them), checking replies and the ledger rows (read as the
 * admin through PG_URL). Users are fresh random UUIDs (the ledger needs no auth row), so
 * tests are order-independent and can run twice against the same servers.
 */
#include <CUnit/Basic.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_amqp.h"
#include "ft_test.h"
#include "worker_test.h"
#include "proto/envelope.h"
#include "proto/json.h"
#include "proto/topology.h"
#include "proto/uuid.h"

#define WORKER     "transaction"
#define TIMEOUT_MS 20000

static struct ft_amqp *a;
static PGconn *pg;
static pid_t workers[2];
static char log_path[256];
static char db_url[1024];

/* ---- setup ---- */

/* A worker with the extra variables (up to 4, NULL-terminated, may be NULL), which win over
 * the defaults: the first of two equal names is the one getenv finds. */
static pid_t spawn_worker_env(const char *const *extra)
{
    char db[1100];
    snprintf(db, sizeof db, "DATABASE_URL=%s", db_url);
    char *env[10];
    size_t n = 0;
    for (size_t i = 0; extra && extra[i] && i < 4; i++)
        env[n++] = (char *)extra[i];
    env[n++] = db;
    env[n++] = "WK_PREFETCH=4";
    env[n++] = "WK_RELAY_INTERVAL_MS=50";
    env[n++] = "LOG_LEVEL=info";
    env[n] = NULL;
    char *argv[] = {"fintwin-transaction", NULL};
    return ft_spawn(ft_bin("fintwin-transaction"), argv, env, log_path);
}

static pid_t spawn_worker(const char *extra)
{
    const char *env[] = {extra, NULL};
    return spawn_worker_env(env);
}

static int wait_ready(void)
{
    return wt_ready(a, WORKER, TIMEOUT_MS);
}

static int suite_init(void)
{
    wt_log_path("test_ledger", log_path, sizeof log_path);
    if (wt_role_db_url(WORKER, db_url, sizeof db_url) != 0 || wt_connect(WORKER, &a, &pg) != 0)
        return -1;
    workers[0] = spawn_worker(NULL);
    return workers[0] > 0 && wait_ready() ? 0 : -1;
}

static int suite_clean(void)
{
    for (int i = 0; i < 2; i++)
        if (workers[i] > 0)
            ft_stop(workers[i], SIGTERM, 10000);
    wt_log_done(log_path);
    PQfinish(pg);
    ft_amqp_close(a);
    return 0;
}

/* ---- helpers ---- */

static void fresh_user(char out[PROTO_UUID_LEN + 1])
{
    proto_uuid_v4(out);
}

static int callx(const char *method, const char *user, const char *idem, const char *path,
                 const char *query, const char *body, struct ft_reply *r)
{
    struct ft_call c = {.user = user,
                        .idem = idem,
                        .meta_json = "{\"ip\":\"127.0.0.1\"}",
                        .path_json = path,
                        .query_json = query,
                        .body_json = body};
    int got = ft_amqp_call_ex(a, WORKER, method, &c, TIMEOUT_MS, r);
    CU_ASSERT_EQUAL(got, 1);
    return got == 1 ? r->status : -1;
}

/* A call whose reply is not kept: returns the status. */
static int status_of(const char *method, const char *user, const char *idem, const char *path,
                     const char *query, const char *body)
{
    struct ft_reply r;
    int st = callx(method, user, idem, path, query, body, &r);
    ft_reply_free(&r);
    return st;
}

/* A call under Idempotency-Key idem (NULL: none) that must answer status with code. */
static void expect_error_idem(const char *method, const char *user, const char *idem,
                              const char *path, const char *query, const char *body, int status,
                              const char *code)
{
    struct ft_reply r;
    int st = callx(method, user, idem, path, query, body, &r);
    CU_ASSERT_EQUAL(st, status);
    CU_ASSERT_EQUAL(r.is_error, 1);
    CU_ASSERT_STRING_EQUAL(r.code, code);
    if (st != status || strcmp(r.code, code) != 0)
        fprintf(stderr, "\n  %s %s: got %d %s, want %d %s\n", method, body ? body : "", st, r.code,
                status, code);
    ft_reply_free(&r);
}

static void expect_error(const char *method, const char *user, const char *path, const char *query,
                         const char *body, int status, const char *code)
{
    expect_error_idem(method, user, NULL, path, query, body, status, code);
}

static void sql1(char *out, size_t size, const char *sql, const char *p1, const char *p2)
{
    wt_sql1(pg, out, size, sql, p1, p2);
}

/* Runs sql as fintwin_transaction; state is its SQLSTATE ("" on success). */
static void as_role(const char *sql, char state[6])
{
    wt_sql_state(db_url, sql, state);
}

/* Runs sql as the admin (a superuser: privileges do not stop it, only the constraints). */
static void as_admin(const char *sql, char state[6])
{
    wt_sql_state(getenv("PG_URL"), sql, state);
}

/* The user's default account id (opened through acct.list). */
static void default_account(const char *user, char out[PROTO_UUID_LEN + 1])
{
    struct ft_reply r;
    out[0] = '\0';
    CU_ASSERT_EQUAL(callx("acct.list", user, NULL, NULL, NULL, NULL, &r), 200);
    json_t *j = wt_jbody(&r);
    snprintf(out, PROTO_UUID_LEN + 1, "%s", wt_jstr(json_array_get(j, 0), "id"));
    json_decref(j);
    ft_reply_free(&r);
}

static int deposit(const char *user, const char *amount)
{
    char body[256];
    snprintf(body, sizeof body, "{\"type\":\"deposit\",\"amount\":%s}", amount);
    return status_of("txn.create", user, NULL, NULL, NULL, body);
}

/* Everything the ledger holds about a user's accounts, as one comparable string (stored
 * refusals aside: a refused posting stores its answer and nothing else). */
static void user_state(const char *user, char *out, size_t size)
{
    sql1(out, size,
         "SELECT concat_ws('/', (SELECT string_agg(id || ':' || balance, ',' ORDER BY id) "
         "FROM ledger.accounts WHERE owner = $1), "
         "(SELECT count(*) FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "
         "WHERE a.owner = $1), "
         "(SELECT count(*) FROM ledger.transfers WHERE initiator = $1), "
         "(SELECT count(*) FROM ledger.outbox WHERE user_id = $1), "
         "(SELECT count(*) FROM ledger.idempotency WHERE user_id = $1 AND error_code IS NULL))",
         user, NULL);
}

static void balance_of(const char *account, char *out, size_t size)
{
    sql1(out, size, "SELECT balance FROM ledger.accounts WHERE id = $1", account, NULL);
}

/* ---- tests ---- */

static void test_ledger_accounts_default_opened_once(void)
{
    char u[PROTO_UUID_LEN + 1], id1[PROTO_UUID_LEN + 1], id2[PROTO_UUID_LEN + 1], v[256];
    fresh_user(u);
    default_account(u, id1);
    default_account(u, id2);
    CU_ASSERT(proto_uuid_valid(id1));
    CU_ASSERT_STRING_EQUAL(id1, id2);
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || currency || ':' || balance || ':' || is_default "
         "FROM ledger.accounts WHERE owner = $1 GROUP BY currency, balance, is_default",
         u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "1:USD:0:true");

    struct ft_reply r;
    CU_ASSERT_EQUAL(callx("acct.create", u, NULL, NULL, NULL,
                          "{\"name\":\"  Travel  \",\"kind\":\"savings\",\"currency\":\"JPY\"}",
                          &r),
                    201);
    CU_ASSERT(wt_has(&r, "\"name\":\"Travel\""));
    CU_ASSERT(wt_has(&r, "\"kind\":\"savings\""));
    CU_ASSERT(wt_has(&r, "\"currency\":\"JPY\""));
    CU_ASSERT(wt_has(&r, "\"balance\":0,"));
    CU_ASSERT(wt_has(&r, "\"is_default\":false"));
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(callx("acct.list", u, NULL, NULL, NULL, NULL, &r), 200);
    json_t *j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 2);
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_array_get(j, 0), "id"), id1); /* default first */
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_array_get(j, 1), "currency"), "JPY");
    CU_ASSERT(wt_has(&r, "\"balance\":0.00"));
    json_decref(j);
    ft_reply_free(&r);
}

static void test_ledger_deposit_withdraw_transfer_exact(void)
{
    char ua[PROTO_UUID_LEN + 1], ub[PROTO_UUID_LEN + 1], acc_a[PROTO_UUID_LEN + 1],
        acc_b[PROTO_UUID_LEN + 1], v[512], body[256];
    fresh_user(ua);
    fresh_user(ub);
    default_account(ua, acc_a);
    default_account(ub, acc_b);

    struct ft_reply r;
    CU_ASSERT_EQUAL(callx("txn.create", ua, NULL, NULL, NULL,
                          "{\"type\":\"deposit\",\"amount\":\"125.50\",\"note\":\"salary\"}", &r),
                    201);
    CU_ASSERT(wt_has(&r, "\"amount\":125.50"));
    CU_ASSERT(wt_has(&r, "\"balance_after\":125.50"));
    CU_ASSERT(wt_has(&r, "\"direction\":\"in\""));
    CU_ASSERT(wt_has(&r, "\"type\":\"deposit\""));
    CU_ASSERT(wt_has(&r, "\"currency\":\"USD\""));
    CU_ASSERT(wt_has(&r, "\"note\":\"salary\""));
    CU_ASSERT(wt_has(&r, "\"to_account\":null"));
    json_t *j = wt_jbody(&r);
    CU_ASSERT_STRING_EQUAL(wt_jstr(j, "account_id"), acc_a);
    CU_ASSERT(proto_uuid_valid(wt_jstr(j, "id")));
    CU_ASSERT_EQUAL(strlen(wt_jstr(j, "created_at")), 24); /* 2024-01-02T03:04:05.678Z */
    CU_ASSERT_EQUAL(wt_jstr(j, "created_at")[23], 'Z');
    json_decref(j);
    ft_reply_free(&r);

    /* account_id = own user id means the default account; JSON number amount */
    snprintf(body, sizeof body, "{\"type\":\"withdrawal\",\"amount\":25.25,\"account_id\":\"%s\"}",
             ua);
    CU_ASSERT_EQUAL(callx("txn.create", ua, NULL, NULL, NULL, body, &r), 201);
    CU_ASSERT(wt_has(&r, "\"amount\":25.25"));
    CU_ASSERT(wt_has(&r, "\"balance_after\":100.25"));
    CU_ASSERT(wt_has(&r, "\"direction\":\"out\""));
    ft_reply_free(&r);

    /* to a user id: their default account in USD */
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":\"0.25\",\"to_account\":\"%s\"}",
             ub);
    CU_ASSERT_EQUAL(callx("txn.create", ua, NULL, NULL, NULL, body, &r), 201);
    CU_ASSERT(wt_has(&r, "\"balance_after\":100.00"));
    CU_ASSERT(wt_has(&r, "\"direction\":\"out\""));
    /* to_account is what the sender addressed (earlier clients compare it with their own
     * user id); the account credited and both users have fields of their own */
    char to_frag[300];
    snprintf(to_frag, sizeof to_frag,
             "\"to_account\":\"%s\",\"to_account_id\":\"%s\",\"to_user_id\":\"%s\","
             "\"from_user_id\":\"%s\"",
             ub, acc_b, ub, ua);
    CU_ASSERT(wt_has(&r, to_frag));
    j = wt_jbody(&r);
    char tid[PROTO_UUID_LEN + 1];
    snprintf(tid, sizeof tid, "%s", wt_jstr(j, "id"));
    json_decref(j);
    ft_reply_free(&r);

    /* to an account id */
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":1,\"to_account\":\"%s\"}",
             acc_b);
    CU_ASSERT_EQUAL(status_of("txn.create", ua, NULL, NULL, NULL, body), 201);

    balance_of(acc_a, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "9900");
    balance_of(acc_b, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "125");

    /* B sees the incoming transfer from B's side */
    char path[128];
    snprintf(path, sizeof path, "{\"id\":\"%s\"}", tid);
    CU_ASSERT_EQUAL(callx("txn.get", ub, NULL, path, NULL, NULL, &r), 200);
    CU_ASSERT(wt_has(&r, "\"direction\":\"in\""));
    CU_ASSERT(wt_has(&r, "\"balance_after\":0.25"));
    j = wt_jbody(&r);
    CU_ASSERT_STRING_EQUAL(wt_jstr(j, "account_id"), acc_b);
    CU_ASSERT_STRING_EQUAL(wt_jstr(j, "to_account"), ub); /* B's own id: "Received" */
    CU_ASSERT_STRING_EQUAL(wt_jstr(j, "to_account_id"), acc_b);
    CU_ASSERT_STRING_EQUAL(wt_jstr(j, "to_user_id"), ub);
    CU_ASSERT_STRING_EQUAL(wt_jstr(j, "from_user_id"), ua);
    json_decref(j);
    ft_reply_free(&r);
    /* the transfer addressed by account id shows that id; a deposit has no counterparty */
    snprintf(path, sizeof path, "{\"account_id\":\"%s\"}", acc_b);
    CU_ASSERT_EQUAL(callx("txn.list_account", ub, NULL, path, NULL, NULL, &r), 200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 2);
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_array_get(j, 0), "to_account"), acc_b);
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_array_get(j, 1), "to_account"), ub);
    json_decref(j);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(callx("txn.list", ua, NULL, NULL, NULL, NULL, &r), 200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 4);
    json_t *dep = json_array_get(j, 3);
    CU_ASSERT_STRING_EQUAL(wt_jstr(dep, "type"), "deposit");
    CU_ASSERT(json_is_null(json_object_get(dep, "to_account")));
    CU_ASSERT(json_is_null(json_object_get(dep, "to_account_id")));
    CU_ASSERT(json_is_null(json_object_get(dep, "from_user_id")));
    CU_ASSERT_STRING_EQUAL(wt_jstr(dep, "to_user_id"), ua);
    json_decref(j);
    ft_reply_free(&r);

    /* double entry: every transfer of A's has two lines summing to zero, balance_after
     * matches, and the external account carries the other side */
    sql1(v, sizeof v,
         "SELECT count(*) FROM (SELECT e.transfer_id FROM ledger.entries e "
         "JOIN ledger.transfers t ON t.id = e.transfer_id WHERE t.initiator = $1 "
         "GROUP BY e.transfer_id HAVING sum(e.amount) = 0 AND count(*) = 2) x",
         ua, NULL);
    CU_ASSERT_STRING_EQUAL(v, "4");
    sql1(v, sizeof v,
         "SELECT string_agg(amount || '=' || balance_after, ',' ORDER BY seq) "
         "FROM ledger.entries WHERE account_id = $1",
         acc_a, NULL);
    CU_ASSERT_STRING_EQUAL(v, "12550=12550,-2525=10025,-25=10000,-100=9900");
    sql1(v, sizeof v,
         "SELECT count(*) FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id "
         "GROUP BY e.transfer_id HAVING sum(e.amount) <> 0 LIMIT 1",
         NULL, NULL);
    CU_ASSERT_STRING_EQUAL(v, ""); /* no unbalanced transfer anywhere */

    /* one txn.posted event per affected user */
    sql1(v, sizeof v,
         "SELECT string_agg(user_id || ':' || (data->>'direction') || ':' || (data->>'amount') "
         "|| ':' || (data->>'balance_after'), ',' ORDER BY user_id = $2) FROM ledger.outbox "
         "WHERE type = 'txn.posted' AND data->>'transfer_id' = $1",
         tid, ua);
    char want[256];
    snprintf(want, sizeof want, "%s:in:0.25:0.25,%s:out:0.25:100.00", ub, ua);
    CU_ASSERT_STRING_EQUAL(v, want);
}

static void test_ledger_validation_codes(void)
{
    char u[PROTO_UUID_LEN + 1], other[PROTO_UUID_LEN + 1], acc[PROTO_UUID_LEN + 1],
        eur[PROTO_UUID_LEN + 1], body[512], before[1024], after[1024];
    fresh_user(u);
    fresh_user(other);
    default_account(u, acc);
    CU_ASSERT_EQUAL(deposit(u, "\"10.00\""), 201);
    struct ft_reply r;
    CU_ASSERT_EQUAL(callx("acct.create", u, NULL, NULL, NULL,
                          "{\"name\":\"Euro\",\"kind\":\"wallet\",\"currency\":\"EUR\"}", &r),
                    201);
    json_t *j = wt_jbody(&r);
    snprintf(eur, sizeof eur, "%s", wt_jstr(j, "id"));
    json_decref(j);
    ft_reply_free(&r);
    /* JPY has no minor unit: 1.5 JPY is too precise for that account (below). Every account
     * exists before the one snapshot that all refusals must leave unchanged. */
    char jpy[PROTO_UUID_LEN + 1];
    CU_ASSERT_EQUAL(callx("acct.create", u, NULL, NULL, NULL,
                          "{\"name\":\"Yen\",\"kind\":\"wallet\",\"currency\":\"JPY\"}", &r),
                    201);
    j = wt_jbody(&r);
    snprintf(jpy, sizeof jpy, "%s", wt_jstr(j, "id"));
    json_decref(j);
    ft_reply_free(&r);
    user_state(u, before, sizeof before);

    expect_error("txn.create", u, NULL, NULL, NULL, 400, "invalid_body");
    expect_error("txn.create", u, NULL, NULL, "[1]", 400, "invalid_body");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"gift\",\"amount\":1}", 422,
                 "invalid_type");
    expect_error("txn.create", u, NULL, NULL, "{\"amount\":1}", 422, "invalid_type");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"deposit\"}", 422, "invalid_amount");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"deposit\",\"amount\":0}", 422,
                 "invalid_amount");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"deposit\",\"amount\":\"-1\"}", 422,
                 "invalid_amount");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"deposit\",\"amount\":-0.5}", 422,
                 "invalid_amount");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"deposit\",\"amount\":\"1.001\"}", 422,
                 "invalid_amount");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"deposit\",\"amount\":\"abc\"}", 422,
                 "invalid_amount");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"deposit\",\"amount\":1e3}", 422,
                 "invalid_amount");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"deposit\",\"amount\":true}", 422,
                 "invalid_amount");
    expect_error("txn.create", u, NULL, NULL,
                 "{\"type\":\"deposit\",\"amount\":\"92233720368547758.07\"}", 422,
                 "invalid_amount");
    snprintf(body, sizeof body, "{\"type\":\"deposit\",\"amount\":1.5,\"account_id\":\"%s\"}", jpy);
    expect_error("txn.create", u, NULL, NULL, body, 422, "invalid_amount");

    char note[300];
    memset(note, 'n', 201);
    note[201] = '\0';
    snprintf(body, sizeof body, "{\"type\":\"deposit\",\"amount\":1,\"note\":\"%s\"}", note);
    expect_error("txn.create", u, NULL, NULL, body, 422, "invalid_note");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"deposit\",\"amount\":1,\"note\":5}", 422,
                 "invalid_note");
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"transfer\",\"amount\":1}", 422,
                 "invalid_to_account");
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":1,\"to_account\":\"%s\"}", acc);
    expect_error("txn.create", u, NULL, NULL, body, 422, "same_account");
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":1,\"to_account\":\"%s\"}", u);
    expect_error("txn.create", u, NULL, NULL, body, 422, "same_account");
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":1,\"to_account\":\"%s\"}", eur);
    expect_error("txn.create", u, NULL, NULL, body, 422, "currency_mismatch");
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":1,\"to_account\":\"%s\"}",
             other);
    expect_error("txn.create", u, NULL, NULL, body, 404, "recipient_not_found");
    expect_error("txn.create", u, NULL, NULL,
                 "{\"type\":\"transfer\",\"amount\":1,\"to_account\":\"nobody\"}", 404,
                 "recipient_not_found");
    snprintf(body, sizeof body, "{\"type\":\"deposit\",\"amount\":1,\"account_id\":\"%s\"}", other);
    expect_error("txn.create", u, NULL, NULL, body, 404, "account_not_found");
    expect_error("txn.create", u, NULL, NULL,
                 "{\"type\":\"deposit\",\"amount\":1,\"account_id\":\"x\"}", 404,
                 "account_not_found");
    expect_error("txn.create", u, NULL, NULL,
                 "{\"type\":\"deposit\",\"amount\":1,\"account_id\":7}", 422, "invalid_account_id");
    expect_error("txn.create", NULL, NULL, NULL, "{\"type\":\"deposit\",\"amount\":1}", 401,
                 "unauthenticated");

    expect_error("acct.create", u, NULL, NULL, "{\"kind\":\"wallet\",\"currency\":\"USD\"}", 422,
                 "invalid_name");
    expect_error("acct.create", u, NULL, NULL,
                 "{\"name\":\"   \",\"kind\":\"wallet\",\"currency\":\"USD\"}", 422,
                 "invalid_name");
    expect_error("acct.create", u, NULL, NULL,
                 "{\"name\":\"x\",\"kind\":\"external\",\"currency\":\"USD\"}", 422,
                 "invalid_kind");
    expect_error("acct.create", u, NULL, NULL,
                 "{\"name\":\"x\",\"kind\":\"wallet\",\"currency\":\"XYZ\"}", 422,
                 "invalid_currency");
    expect_error("acct.create", u, NULL, NULL,
                 "{\"name\":\"x\",\"kind\":\"wallet\",\"currency\":\"usd\"}", 422,
                 "invalid_currency");

    expect_error("txn.list", u, NULL, "{\"limit\":\"0\"}", NULL, 422, "invalid_limit");
    expect_error("txn.list", u, NULL, "{\"limit\":\"101\"}", NULL, 422, "invalid_limit");
    expect_error("txn.list", u, NULL, "{\"limit\":\"ten\"}", NULL, 422, "invalid_limit");
    expect_error("txn.list", u, NULL, "{\"offset\":\"-1\"}", NULL, 422, "invalid_offset");
    expect_error("txn.list", u, NULL, "{\"offset\":\"\"}", NULL, 422, "invalid_offset");

    user_state(u, after, sizeof after);
    CU_ASSERT_STRING_EQUAL(before, after);
}

static void test_ledger_insufficient_funds_writes_nothing(void)
{
    char u[PROTO_UUID_LEN + 1], before[1024], after[1024];
    fresh_user(u);
    CU_ASSERT_EQUAL(deposit(u, "\"5.00\""), 201);
    user_state(u, before, sizeof before);
    expect_error("txn.create", u, NULL, NULL, "{\"type\":\"withdrawal\",\"amount\":\"5.01\"}", 422,
                 "insufficient_funds");
    char ub[PROTO_UUID_LEN + 1], acc_b[PROTO_UUID_LEN + 1], body[256];
    fresh_user(ub);
    default_account(ub, acc_b);
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":6,\"to_account\":\"%s\"}",
             acc_b);
    expect_error("txn.create", u, NULL, NULL, body, 422, "insufficient_funds");
    user_state(u, after, sizeof after);
    CU_ASSERT_STRING_EQUAL(before, after);
    char v[64];
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || string_agg(DISTINCT status || ' ' || error_code, ',') "
         "FROM ledger.idempotency WHERE user_id = $1 AND error_code IS NOT NULL",
         u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "2:422 insufficient_funds");
    char bal[64];
    balance_of(acc_b, bal, sizeof bal);
    CU_ASSERT_STRING_EQUAL(bal, "0");
    /* exactly the balance is fine */
    CU_ASSERT_EQUAL(
        status_of("txn.create", u, NULL, NULL, NULL, "{\"type\":\"withdrawal\",\"amount\":\"5\"}"),
        201);
}

static void test_ledger_idempotency_replay_and_reuse(void)
{
    char u[PROTO_UUID_LEN + 1], key[64], v[256];
    fresh_user(u);
    ft_rand_name(key, sizeof key, "idem-");
    const char *body = "{\"type\":\"deposit\",\"amount\":\"42.10\",\"note\":\"once\"}";
    struct ft_reply r1, r2;
    CU_ASSERT_EQUAL(callx("txn.create", u, key, NULL, NULL, body, &r1), 201);
    CU_ASSERT(r1.headers_json == NULL || strstr(r1.headers_json, "Idempotent-Replayed") == NULL);
    /* the same body with its keys in another order is the same request */
    CU_ASSERT_EQUAL(callx("txn.create", u, key, NULL, NULL,
                          "{\"note\":\"once\",\"amount\":\"42.10\",\"type\":\"deposit\"}", &r2),
                    201);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r1.body_json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r2.body_json);
    CU_ASSERT_STRING_EQUAL(r1.body_json, r2.body_json);
    CU_ASSERT_PTR_NOT_NULL(r2.headers_json);
    CU_ASSERT(r2.headers_json && strstr(r2.headers_json, "\"Idempotent-Replayed\":\"true\""));
    ft_reply_free(&r1);
    ft_reply_free(&r2);
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || min(idem_key) FROM ledger.transfers "
         "WHERE initiator = $1",
         u, NULL);
    char want[128];
    snprintf(want, sizeof want, "1:%s", key);
    CU_ASSERT_STRING_EQUAL(v, want);

    expect_error("txn.create", u, NULL, NULL, NULL, 400, "invalid_body");
    expect_error_idem("txn.create", u, key, NULL, NULL,
                      "{\"type\":\"deposit\",\"amount\":\"42.11\",\"note\":\"once\"}", 422,
                      "idempotency_key_reused");
    /* keys are per user: another user may use the same key */
    char u2[PROTO_UUID_LEN + 1];
    fresh_user(u2);
    CU_ASSERT_EQUAL(status_of("txn.create", u2, key, NULL, NULL, body), 201);
    sql1(v, sizeof v, "SELECT sum(balance) FROM ledger.accounts WHERE owner = $1", u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "4210");

    /* acct.create is idempotent too */
    const char *ab = "{\"name\":\"Idem\",\"kind\":\"wallet\",\"currency\":\"GBP\"}";
    CU_ASSERT_EQUAL(callx("acct.create", u, key, NULL, NULL, ab, &r1), 422); /* key used */
    CU_ASSERT_STRING_EQUAL(r1.code, "idempotency_key_reused");
    ft_reply_free(&r1);
    char key2[64];
    ft_rand_name(key2, sizeof key2, "idem-");
    CU_ASSERT_EQUAL(callx("acct.create", u, key2, NULL, NULL, ab, &r1), 201);
    CU_ASSERT_EQUAL(callx("acct.create", u, key2, NULL, NULL, ab, &r2), 201);
    CU_ASSERT(r1.body_json && r2.body_json && strcmp(r1.body_json, r2.body_json) == 0);
    ft_reply_free(&r1);
    ft_reply_free(&r2);
    sql1(v, sizeof v, "SELECT count(*) FROM ledger.accounts WHERE owner = $1 AND name = 'Idem'", u,
         NULL);
    CU_ASSERT_STRING_EQUAL(v, "1");
}

/* A refusal decided after the key was claimed is the key's outcome, like a success: the
 * same request again replays it even when it would now succeed (issue 16: a retry answered
 * 422 while a redelivered copy of the same key posted 201). */
static void test_ledger_idempotency_refusal_is_replayed(void)
{
    char u[PROTO_UUID_LEN + 1], key[64], v[256];
    fresh_user(u);
    ft_rand_name(key, sizeof key, "refused-");
    const char *withdraw = "{\"type\":\"withdrawal\",\"amount\":\"50\"}";
    struct ft_reply r;
    CU_ASSERT_EQUAL(callx("txn.create", u, key, NULL, NULL, withdraw, &r), 422);
    CU_ASSERT_STRING_EQUAL(r.code, "insufficient_funds");
    char first_message[PROTO_MESSAGE_MAX + 1];
    snprintf(first_message, sizeof first_message, "%s", r.message);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(deposit(u, "\"100\""), 201);
    CU_ASSERT_EQUAL(callx("txn.create", u, key, NULL, NULL, withdraw, &r), 422);
    CU_ASSERT_EQUAL(r.is_error, 1);
    CU_ASSERT_STRING_EQUAL(r.code, "insufficient_funds");
    CU_ASSERT_STRING_EQUAL(r.message, first_message);
    CU_ASSERT(r.headers_json && strstr(r.headers_json, "\"Idempotent-Replayed\":\"true\""));
    ft_reply_free(&r);
    /* the stored refusal still guards the key against another body */
    expect_error_idem("txn.create", u, key, NULL, NULL,
                      "{\"type\":\"withdrawal\",\"amount\":\"40\"}", 422, "idempotency_key_reused");
    sql1(v, sizeof v,
         "SELECT (SELECT balance FROM ledger.accounts WHERE owner = $1) || ':' || "
         "(SELECT count(*) FROM ledger.transfers WHERE initiator = $1)",
         u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "10000:1");

    /* The crash case without a key: the same envelope delivered twice (a redelivery of an
     * attempt whose worker died), with the balance changed in between by another request. */
    char u2[PROTO_UUID_LEN + 1], id[64], acc[PROTO_UUID_LEN + 1], payee[PROTO_UUID_LEN + 1];
    char payee_acc[PROTO_UUID_LEN + 1], body[256];
    fresh_user(u2);
    fresh_user(payee);
    default_account(u2, acc);
    default_account(payee, payee_acc);
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":\"7\",\"to_account\":\"%s\"}",
             payee_acc);
    ft_rand_name(id, sizeof id, "req-refused-");
    struct ft_call c = {.user = u2, .body_json = body};
    struct ft_reply r1, r2;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, id, "txn.create", &c, TIMEOUT_MS), 0);
    CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, id, TIMEOUT_MS, &r1), 1);
    CU_ASSERT_EQUAL(deposit(u2, "\"10\""), 201);
    CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, id, "txn.create", &c, TIMEOUT_MS), 0);
    CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, id, TIMEOUT_MS, &r2), 1);
    CU_ASSERT_EQUAL(r1.status, 422);
    CU_ASSERT_EQUAL(r2.status, 422);
    CU_ASSERT_STRING_EQUAL(r1.code, "insufficient_funds");
    CU_ASSERT_STRING_EQUAL(r2.code, "insufficient_funds");
    ft_reply_free(&r1);
    ft_reply_free(&r2);
    balance_of(acc, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "1000");
    balance_of(payee_acc, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "0");

    /* validation before the claim is not stored: a fixed body under the same key runs */
    char key2[64];
    ft_rand_name(key2, sizeof key2, "invalid-");
    expect_error_idem("txn.create", u, key2, NULL, NULL, "{\"type\":\"withdrawal\"}", 422,
                      "invalid_amount");
    CU_ASSERT_EQUAL(status_of("txn.create", u, key2, NULL, NULL, withdraw), 201);
}

/* One keyed deposit by *arg's user, then: 1 when the user's expired records are gone. */
static int sweep_done(void *arg)
{
    const char *u = arg;
    char key[64], v[32];
    ft_rand_name(key, sizeof key, "sweep-");
    CU_ASSERT_EQUAL(
        status_of("txn.create", u, key, NULL, NULL, "{\"type\":\"deposit\",\"amount\":\"0.01\"}"),
        201);
    sql1(v, sizeof v,
         "SELECT count(*) FROM ledger.idempotency WHERE user_id = $1 AND key LIKE 'k:old-%'", u,
         NULL);
    return strcmp(v, "0") == 0;
}

/* Postings now and then delete a batch of records older than 7 days (ledger.idem_sweep). */
static void test_ledger_idempotency_sweep_deletes_expired(void)
{
    char u[PROTO_UUID_LEN + 1], sql[512], state[6], v[32];
    fresh_user(u);
    snprintf(sql, sizeof sql,
             "INSERT INTO ledger.idempotency (user_id, key, request_hash, state, status, body, "
             "created_at) SELECT '%s', 'k:old-' || i, decode(repeat('00', 32), 'hex'), 'done', "
             "201, '\\x80', now() - interval '8 days' FROM generate_series(1, 3) i",
             u);
    as_admin(sql, state);
    CU_ASSERT_STRING_EQUAL(state, "");
    /* a sweep runs every 64 claims of each worker process (one or two here) */
    CU_ASSERT(ft_wait_until(sweep_done, u, TIMEOUT_MS));
    sql1(v, sizeof v, "SELECT count(*) FROM ledger.idempotency WHERE user_id = $1", u, NULL);
    CU_ASSERT(atoi(v) >= 1 && atoi(v) <= 128);
}

/* A transaction worker's backend waits on a lock (the condition for ft_wait_until). */
static int worker_waits_on_lock(void *arg)
{
    (void)arg;
    char v[32];
    sql1(v, sizeof v,
         "SELECT count(*) FROM pg_stat_activity WHERE usename = 'fintwin_transaction' "
         "AND wait_event_type = 'Lock'",
         NULL, NULL);
    return strcmp(v, "0") != 0;
}

/* The less travelled paths of a posting's idempotency record (workers/transaction/idem.c):
 * a reused key on a body that would fail validation, an expired record, and a record that
 * another transaction holds uncommitted when the claim arrives (the claim waits for it). */
static void test_ledger_idempotency_edges(void)
{
    char u[PROTO_UUID_LEN + 1], key[64], v[256], stored_key[80];
    fresh_user(u);
    ft_rand_name(key, sizeof key, "edge-");
    CU_ASSERT_EQUAL(
        status_of("txn.create", u, key, NULL, NULL, "{\"type\":\"deposit\",\"amount\":\"5.00\"}"),
        201);
    /* the key answers as reused even when the new body names an id that is not a uuid */
    expect_error_idem("txn.create", u, key, NULL, NULL,
                      "{\"type\":\"transfer\",\"amount\":1,\"to_account\":\"nobody\"}", 422,
                      "idempotency_key_reused");
    expect_error_idem("txn.create", u, key, NULL, NULL,
                      "{\"type\":\"deposit\",\"amount\":1,\"account_id\":\"nope\"}", 422,
                      "idempotency_key_reused");

    /* an expired record (older than 7 days) is ignored and replaced by the new posting */
    struct ft_reply r;
    char state[6], sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE ledger.idempotency SET created_at = now() - interval '8 days' "
             "WHERE user_id = '%s' AND key = 'k:%s'",
             u, key);
    as_admin(sql, state);
    CU_ASSERT_STRING_EQUAL(state, "");
    CU_ASSERT_EQUAL(
        callx("txn.create", u, key, NULL, NULL, "{\"type\":\"deposit\",\"amount\":\"6.00\"}", &r),
        201);
    CU_ASSERT(r.headers_json == NULL || strstr(r.headers_json, "Idempotent-Replayed") == NULL);
    ft_reply_free(&r);
    snprintf(stored_key, sizeof stored_key, "k:%s", key);
    sql1(v, sizeof v,
         "SELECT (SELECT count(*) FROM ledger.transfers WHERE initiator = $1) || ':' || "
         "(SELECT t.amount FROM ledger.idempotency i JOIN ledger.transfers t "
         "ON t.id = i.transfer_id WHERE i.user_id = $1 AND i.key = $2 "
         "AND i.created_at > now() - interval '1 hour')",
         u, stored_key);
    CU_ASSERT_STRING_EQUAL(v, "2:600");
    /* and the old body is now the reused one */
    expect_error_idem("txn.create", u, key, NULL, NULL,
                      "{\"type\":\"deposit\",\"amount\":\"5.00\"}", 422, "idempotency_key_reused");

    /* Another transaction holds the record of a fresh key, uncommitted, with another
     * request hash: the claim waits on its primary key, then answers reused and posts
     * nothing. */
    char u2[PROTO_UUID_LEN + 1], key2[64], id[64];
    fresh_user(u2);
    ft_rand_name(key2, sizeof key2, "race-");
    PGconn *holder = PQconnectdb(ft_env("PG_URL", ""));
    CU_ASSERT_FATAL(PQstatus(holder) == CONNECTION_OK);
    snprintf(sql, sizeof sql,
             "BEGIN; INSERT INTO ledger.idempotency (user_id, key, request_hash, state, status, "
             "body) VALUES ('%s', 'k:%s', decode(repeat('00', 32), 'hex'), 'done', 201, "
             "'\\x80')",
             u2, key2);
    PGresult *res = PQexec(holder, sql);
    CU_ASSERT_EQUAL(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    struct ft_call c = {
        .user = u2, .idem = key2, .body_json = "{\"type\":\"deposit\",\"amount\":\"1.00\"}"};
    ft_rand_name(id, sizeof id, "req-race-");
    CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, id, "txn.create", &c, TIMEOUT_MS), 0);
    CU_ASSERT(ft_wait_until(worker_waits_on_lock, NULL, TIMEOUT_MS));
    res = PQexec(holder, "COMMIT");
    CU_ASSERT_EQUAL(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    PQfinish(holder);
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, id, TIMEOUT_MS, &r), 1);
    CU_ASSERT_EQUAL(r.status, 422);
    CU_ASSERT_STRING_EQUAL(r.code, "idempotency_key_reused");
    ft_reply_free(&r);
    sql1(v, sizeof v,
         "SELECT (SELECT count(*) FROM ledger.transfers WHERE initiator = $1) || ':' || "
         "(SELECT count(*) FROM ledger.accounts WHERE owner = $1 AND balance <> 0)",
         u2, NULL);
    CU_ASSERT_STRING_EQUAL(v, "0:0");
}

static void test_ledger_redelivered_request_posts_once(void)
{
    /* The same envelope twice (what a redelivery after a crash between commit and ack
     * looks like), without an Idempotency-Key: one posting, the second answer replays. */
    char u[PROTO_UUID_LEN + 1], id[64], v[256];
    fresh_user(u);
    ft_rand_name(id, sizeof id, "req-redeliver-");
    struct ft_call c = {.user = u, .body_json = "{\"type\":\"deposit\",\"amount\":\"3.30\"}"};
    struct ft_reply r1, r2;
    memset(&r1, 0, sizeof r1);
    memset(&r2, 0, sizeof r2);
    CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, id, "txn.create", &c, TIMEOUT_MS), 0);
    CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, id, TIMEOUT_MS, &r1), 1);
    CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, id, "txn.create", &c, TIMEOUT_MS), 0);
    CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, id, TIMEOUT_MS, &r2), 1);
    CU_ASSERT_EQUAL(r1.status, 201);
    CU_ASSERT_EQUAL(r2.status, 201);
    CU_ASSERT(r1.body_json && r2.body_json && strcmp(r1.body_json, r2.body_json) == 0);
    ft_reply_free(&r1);
    ft_reply_free(&r2);
    sql1(v, sizeof v, "SELECT count(*) FROM ledger.transfers WHERE initiator = $1", u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "1");
}

/* Starts the second worker unless it runs, and waits until both consume rpc.transaction. */
static void two_workers(void)
{
    if (workers[1] <= 0)
        workers[1] = spawn_worker(NULL);
    CU_ASSERT_FATAL(workers[1] > 0);
    CU_ASSERT_FATAL(wt_consumers(a, WORKER, 2, TIMEOUT_MS));
}

/* Asserts that each of the two workers served some of the `total` requests with ids starting
 * with prefix (else the test proved nothing about two workers). */
static void served_by_both(const char *prefix, int total)
{
    wt_assert_served_by_both(log_path, prefix, workers, total, TIMEOUT_MS);
}

static void test_ledger_concurrent_duplicates_one_effect(void)
{
    enum { N = 50 };
    two_workers();
    char u[PROTO_UUID_LEN + 1], key[64], ids[N][64], v[256];
    fresh_user(u);
    ft_rand_name(key, sizeof key, "dup-");
    struct ft_call c = {
        .user = u, .idem = key, .body_json = "{\"type\":\"deposit\",\"amount\":\"7.77\"}"};
    for (int i = 0; i < N; i++) {
        ft_rand_name(ids[i], sizeof ids[i], "req-dup-");
        CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, ids[i], "txn.create", &c, TIMEOUT_MS), 0);
    }
    int created = 0, replayed = 0, conflict = 0, other = 0;
    char *first = NULL;
    for (int i = 0; i < N; i++) {
        struct ft_reply r;
        if (ft_amqp_wait_reply(a, ids[i], TIMEOUT_MS, &r) != 1) {
            other++;
            continue;
        }
        if (r.status == 201) {
            int rep = r.headers_json && strstr(r.headers_json, "Idempotent-Replayed");
            replayed += rep;
            created += !rep;
            if (!first)
                first = strdup(r.body_json);
            else
                CU_ASSERT_STRING_EQUAL(first, r.body_json);
        } else if (r.status == 409 && strcmp(r.code, "idempotency_key_in_flight") == 0) {
            conflict++;
        } else {
            other++;
        }
        ft_reply_free(&r);
    }
    free(first);
    CU_ASSERT_EQUAL(created, 1);
    CU_ASSERT_EQUAL(created + replayed + conflict, N);
    CU_ASSERT_EQUAL(other, 0);
    served_by_both("req-dup-", N);
    sql1(v, sizeof v, "SELECT count(*) FROM ledger.transfers WHERE initiator = $1", u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "1");
    sql1(v, sizeof v, "SELECT balance FROM ledger.accounts WHERE owner = $1", u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "777");
}

static void test_ledger_opposite_transfers_never_fail(void)
{
    /* A->B and B->A at once on two workers: the fixed lock order means no deadlock (so no
     * retry) and no 5xx, and the money is conserved. */
    enum { N = 20 };
    two_workers();
    int deadlocks = wt_log_count(log_path, "sqlstate=40P01");
    char ua[PROTO_UUID_LEN + 1], ub[PROTO_UUID_LEN + 1], acc_a[PROTO_UUID_LEN + 1],
        acc_b[PROTO_UUID_LEN + 1], ids[2 * N][64], ba[256], bb[256], v[64];
    fresh_user(ua);
    fresh_user(ub);
    default_account(ua, acc_a);
    default_account(ub, acc_b);
    CU_ASSERT_EQUAL(deposit(ua, "100"), 201);
    CU_ASSERT_EQUAL(deposit(ub, "100"), 201);
    snprintf(ba, sizeof ba, "{\"type\":\"transfer\",\"amount\":\"1.00\",\"to_account\":\"%s\"}",
             acc_b);
    snprintf(bb, sizeof bb, "{\"type\":\"transfer\",\"amount\":\"1.00\",\"to_account\":\"%s\"}",
             acc_a);
    for (int i = 0; i < 2 * N; i++) {
        struct ft_call c = {.user = i % 2 ? ub : ua, .body_json = i % 2 ? bb : ba};
        ft_rand_name(ids[i], sizeof ids[i], "req-opp-");
        CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, ids[i], "txn.create", &c, TIMEOUT_MS), 0);
    }
    int ok = 0;
    for (int i = 0; i < 2 * N; i++) {
        struct ft_reply r;
        if (ft_amqp_wait_reply(a, ids[i], TIMEOUT_MS, &r) == 1 && r.status == 201)
            ok++;
        else
            fprintf(stderr, "\n  opposite transfer %d: %d %s\n", i, r.status, r.code);
        ft_reply_free(&r);
    }
    CU_ASSERT_EQUAL(ok, 2 * N);
    served_by_both("req-opp-", 2 * N);
    /* No 5xx could also come from retrying deadlocks (wk_db_tx does): the lock order means
     * there is none to retry (a worker logs each retried 40P01). */
    CU_ASSERT_EQUAL(wt_log_count(log_path, "sqlstate=40P01"), deadlocks);
    balance_of(acc_a, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "10000");
    balance_of(acc_b, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "10000");
    sql1(v, sizeof v,
         "SELECT count(*) FROM ledger.entries e JOIN ledger.transfers t ON t.id = e.transfer_id "
         "WHERE t.initiator IN ($1, $2)",
         ua, ub);
    CU_ASSERT_STRING_EQUAL(v, "84"); /* (2 deposits + 40 transfers) x 2 lines */
}

/* A connection of this test holding one account row locked (FOR UPDATE) in an open
 * transaction; returns it (and its backend pid in *pid). */
static PGconn *hold_row(const char *account, int *pid)
{
    PGconn *c = PQconnectdb(ft_env("PG_URL", ""));
    CU_ASSERT_FATAL(PQstatus(c) == CONNECTION_OK);
    *pid = PQbackendPID(c);
    PQclear(PQexec(c, "BEGIN"));
    PGresult *r = PQexecParams(c, "SELECT id FROM ledger.accounts WHERE id = $1::uuid FOR UPDATE",
                               1, NULL, &account, NULL, NULL, 0);
    CU_ASSERT_EQUAL(PQntuples(r), 1);
    PQclear(r);
    return c;
}

static void release(PGconn *c)
{
    PQclear(PQexec(c, "COMMIT"));
    PQfinish(c);
}

/* The transaction workers' backends: `waiting` on a lock, and blocked by backend `by`. */
struct lock_state {
    int by, waiting, blocked_by;
};

static int lock_state_is(void *arg)
{
    struct lock_state *w = arg;
    char pid[16], v[64];
    snprintf(pid, sizeof pid, "%d", w->by);
    sql1(v, sizeof v,
         "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') || ':' || "
         "count(*) FILTER (WHERE $1::int = ANY (pg_blocking_pids(pid))) "
         "FROM pg_stat_activity WHERE usename = 'fintwin_transaction'",
         pid, NULL);
    int waiting = 0, blocked = 0;
    sscanf(v, "%d:%d", &waiting, &blocked);
    return waiting == w->waiting && blocked >= w->blocked_by;
}

static void test_ledger_lock_order_no_deadlock(void)
{
    /*
     * Deterministic: X < Y by id. This test locks X (h1) and Y (h2); then X->Y and Y->X start,
     * one on each worker, and block. h1 lets go: X->Y takes X and waits for Y. h2 lets go.
     * - In the fixed order (X first for both), Y->X was waiting for X behind X->Y, so X->Y
     *   finishes and Y->X follows.
     * - In a transfer's own order (source first), Y->X held nothing but waited for Y; it takes
     *   Y and wants X, which X->Y holds while it wants Y: a deadlock, every time. The worker
     *   retries the 40P01 to a 201, so only the absence of a retried 40P01 shows the order.
     */
    two_workers();
    int deadlocks = wt_log_count(log_path, "sqlstate=40P01");
    char u[2][PROTO_UUID_LEN + 1], acc[2][PROTO_UUID_LEN + 1], ids[2][64], body[2][256], v[64];
    for (int i = 0; i < 2; i++) {
        fresh_user(u[i]);
        default_account(u[i], acc[i]);
        CU_ASSERT_EQUAL(deposit(u[i], "10"), 201);
    }
    int x = strcmp(acc[0], acc[1]) < 0 ? 0 : 1, y = 1 - x; /* uuids order as their text */
    int p1, p2;
    PGconn *h1 = hold_row(acc[x], &p1), *h2 = hold_row(acc[y], &p2);
    const int from[2] = {x, y}, to[2] = {y, x};
    for (int i = 0; i < 2; i++) {
        snprintf(body[i], sizeof body[i],
                 "{\"type\":\"transfer\",\"amount\":\"1.00\",\"to_account\":\"%s\"}", acc[to[i]]);
        struct ft_call c = {.user = u[from[i]], .body_json = body[i]};
        ft_rand_name(ids[i], sizeof ids[i], "req-lock-");
        CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, ids[i], "txn.create", &c, TIMEOUT_MS), 0);
    }
    /* Both inside posting_accounts, waiting; then X->Y waiting for h2 alone. */
    struct lock_state both = {p1, 2, 1};
    CU_ASSERT(ft_wait_until(lock_state_is, &both, TIMEOUT_MS));
    release(h1);
    struct lock_state on_y = {p2, 2, 1};
    CU_ASSERT(ft_wait_until(lock_state_is, &on_y, TIMEOUT_MS));
    release(h2);
    for (int i = 0; i < 2; i++) {
        struct ft_reply r;
        CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, ids[i], TIMEOUT_MS, &r), 1);
        CU_ASSERT_EQUAL(r.status, 201);
        ft_reply_free(&r);
    }
    served_by_both("req-lock-", 2);
    CU_ASSERT_EQUAL(wt_log_count(log_path, "sqlstate=40P01"), deadlocks);
    balance_of(acc[0], v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "1000");
    balance_of(acc[1], v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "1000");
}

struct sql_wait {
    const char *sql, *p1, *want;
};

static int sql_says(void *arg)
{
    struct sql_wait *w = arg;
    char v[512];
    sql1(v, sizeof v, w->sql, w->p1, NULL);
    return strcmp(v, w->want) == 0;
}

/* Waits until sql ($1 = p1) answers want; asserts it did. */
static void wait_sql(const char *sql, const char *p1, const char *want)
{
    struct sql_wait w = {sql, p1, want};
    int ok = ft_wait_until(sql_says, &w, TIMEOUT_MS);
    CU_ASSERT(ok);
    if (!ok) {
        char v[512];
        sql1(v, sizeof v, sql, p1, NULL);
        fprintf(stderr, "\n  %s: got %s, want %s\n", sql, v, want);
    }
}

/* The same key while the first request is still running (deterministic: this test holds
 * the account, so the first blocks after its claim; the second, on the other worker, blocks
 * on the claim): once the first commits, the second answers its replay - never a second
 * posting, and no 409 either (the claim waits for the holder). */
static void test_ledger_duplicate_in_flight_waits_and_replays(void)
{
    two_workers();
    char u[PROTO_UUID_LEN + 1], acc[PROTO_UUID_LEN + 1], key[64], ids[2][64], v[256];
    fresh_user(u);
    default_account(u, acc);
    ft_rand_name(key, sizeof key, "inflight-");
    int pid;
    PGconn *h = hold_row(acc, &pid);
    struct ft_call c = {
        .user = u, .idem = key, .body_json = "{\"type\":\"deposit\",\"amount\":\"4.00\"}"};
    ft_rand_name(ids[0], sizeof ids[0], "req-inflight-");
    CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, ids[0], "txn.create", &c, TIMEOUT_MS), 0);
    struct lock_state first = {pid, 1, 1}; /* claimed, waiting for the account */
    CU_ASSERT(ft_wait_until(lock_state_is, &first, TIMEOUT_MS));
    ft_rand_name(ids[1], sizeof ids[1], "req-inflight-");
    CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, ids[1], "txn.create", &c, TIMEOUT_MS), 0);
    struct lock_state second = {pid, 2, 1}; /* and the duplicate waiting for the claim */
    CU_ASSERT(ft_wait_until(lock_state_is, &second, TIMEOUT_MS));
    release(h);
    struct ft_reply r[2];
    char *bodies[2] = {NULL, NULL};
    int replayed = 0;
    for (int i = 0; i < 2; i++) {
        memset(&r[i], 0, sizeof r[i]);
        CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, ids[i], TIMEOUT_MS, &r[i]), 1);
        CU_ASSERT_EQUAL(r[i].status, 201);
        replayed += r[i].headers_json && strstr(r[i].headers_json, "Idempotent-Replayed") != NULL;
        bodies[i] = r[i].body_json;
    }
    CU_ASSERT_EQUAL(replayed, 1);
    CU_ASSERT(bodies[0] && bodies[1] && strcmp(bodies[0], bodies[1]) == 0);
    for (int i = 0; i < 2; i++)
        ft_reply_free(&r[i]);
    served_by_both("req-inflight-", 2);
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || sum(balance) FROM ledger.accounts WHERE owner = $1", u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "1:400");
}

/* Many first reads of a user's accounts at once, on two workers: one default account. */
static void test_ledger_default_account_opened_once_concurrently(void)
{
    enum { N = 20 };
    two_workers();
    char u[PROTO_UUID_LEN + 1], ids[N][64], first[PROTO_UUID_LEN + 1] = "", v[64];
    fresh_user(u);
    struct ft_call c = {.user = u};
    for (int i = 0; i < N; i++) {
        ft_rand_name(ids[i], sizeof ids[i], "req-defacct-");
        CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, ids[i], "acct.list", &c, TIMEOUT_MS), 0);
    }
    int same = 0;
    for (int i = 0; i < N; i++) {
        struct ft_reply r;
        memset(&r, 0, sizeof r);
        CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, ids[i], TIMEOUT_MS, &r), 1);
        CU_ASSERT_EQUAL(r.status, 200);
        json_t *j = wt_jbody(&r);
        const char *id = wt_jstr(json_array_get(j, 0), "id");
        if (!first[0])
            snprintf(first, sizeof first, "%s", id);
        same += strcmp(first, id) == 0 && json_array_size(j) == 1;
        json_decref(j);
        ft_reply_free(&r);
    }
    CU_ASSERT_EQUAL(same, N);
    sql1(v, sizeof v, "SELECT count(*) FROM ledger.accounts WHERE owner = $1", u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "1");
    served_by_both("req-defacct-", N);
}

/* A worker killed after its posting committed and before its reply and ack (the fault hook of
 * test builds, WK_FAULT_EXIT_AFTER): the broker redelivers the request to the next worker,
 * which answers the stored reply - one posting, and the client gets its 201. */
static void test_ledger_killed_between_commit_and_ack_replays(void)
{
    for (int i = 0; i < 2; i++)
        if (workers[i] > 0) {
            ft_stop(workers[i], SIGTERM, 10000);
            workers[i] = 0;
        }
    pid_t faulty = spawn_worker("WK_FAULT_EXIT_AFTER=txn.create");
    int status = -1;
    CU_ASSERT_FATAL(faulty > 0);
    CU_ASSERT_FATAL(wt_consumers(a, WORKER, 1, TIMEOUT_MS)); /* (a ping would be answered) */
    char u[PROTO_UUID_LEN + 1], id[64], v[256];
    fresh_user(u);
    struct ft_call c = {.user = u, .body_json = "{\"type\":\"deposit\",\"amount\":\"6.00\"}"};
    ft_rand_name(id, sizeof id, "req-fault-");
    CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, id, "txn.create", &c, TIMEOUT_MS), 0);
    int exited = ft_wait_exit(faulty, TIMEOUT_MS, &status);
    if (!exited)
        ft_stop(faulty, SIGKILL, 5000); /* never leave it consuming */
    CU_ASSERT_FATAL(exited);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 86);
    /* committed, never answered */
    sql1(v, sizeof v, "SELECT count(*) FROM ledger.transfers WHERE initiator = $1", u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "1");
    CU_ASSERT_EQUAL(ft_amqp_count_replies(a, id, 200), 0);
    workers[0] = spawn_worker(NULL);
    CU_ASSERT_FATAL(workers[0] > 0);
    struct ft_reply r;
    memset(&r, 0, sizeof r);
    CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, id, TIMEOUT_MS, &r), 1);
    CU_ASSERT_EQUAL(r.status, 201);
    CU_ASSERT(r.headers_json && strstr(r.headers_json, "Idempotent-Replayed"));
    CU_ASSERT(wt_has(&r, "\"amount\":6.00"));
    ft_reply_free(&r);
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || (SELECT balance FROM ledger.accounts WHERE owner = $1) "
         "FROM ledger.transfers WHERE initiator = $1",
         u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "1:600");
    CU_ASSERT(wait_ready());
}

/* ---- batches (sql/012, workers/transaction/post.c) ---- */

/* Stops every worker: requests published next wait in the queue for the next one. */
static void stop_workers(void)
{
    for (int i = 0; i < 2; i++)
        if (workers[i] > 0) {
            ft_stop(workers[i], SIGTERM, 10000);
            workers[i] = 0;
        }
    CU_ASSERT_FATAL(wt_consumers(a, WORKER, 0, TIMEOUT_MS));
}

/* A worker that takes exactly n requests as one batch, however fast they arrive. */
static pid_t spawn_batch_worker(int n, const char *extra)
{
    char max[32];
    snprintf(max, sizeof max, "WK_BATCH_MAX=%d", n);
    const char *env[] = {max, "WK_BATCH_WAIT_MS=10000", "WK_PREFETCH=64", extra, NULL};
    return spawn_worker_env(env);
}

struct queued {
    const char *idem; /* NULL: none */
    const char *body;
    int status;         /* the answer expected */
    const char *expect; /* the error code, or a fragment of the 201 body */
    int replayed;       /* Idempotent-Replayed expected */
    char id[64];
};

/* Publishes q[0..n) as user u, in order, while no worker consumes. */
static void publish_all(const char *u, struct queued *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct ft_call c = {.user = u, .idem = q[i].idem, .body_json = q[i].body};
        ft_rand_name(q[i].id, sizeof q[i].id, "req-batch-");
        CU_ASSERT_EQUAL(ft_amqp_request_ex(a, WORKER, q[i].id, "txn.create", &c, TIMEOUT_MS), 0);
    }
}

/* Each request's one reply as expected. */
static void expect_all(const struct queued *q, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct ft_reply r;
        CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_reply(a, q[i].id, TIMEOUT_MS, &r), 1);
        int replayed = r.headers_json && strstr(r.headers_json, "Idempotent-Replayed") != NULL;
        int ok = r.status == q[i].status && replayed == q[i].replayed &&
                 (r.is_error ? strcmp(r.code, q[i].expect) == 0 : wt_has(&r, q[i].expect));
        CU_ASSERT(ok);
        if (!ok)
            fprintf(stderr,
                    "\n  batch item %zu %s: got %d %s%s replayed=%d, want %d %s replayed=%d\n", i,
                    q[i].body, r.status, r.code, r.body_json ? r.body_json : "", replayed,
                    q[i].status, q[i].expect, q[i].replayed);
        ft_reply_free(&r);
    }
}

/* One batch decides each posting in arrival order against the balances the earlier ones left:
 * an overdraft fails alone, the same Idempotency-Key twice applies once (the second gets the
 * first's answer as a replay), the key with another body is refused, refusals are stored with
 * their keys, and every posting of the batch commits in one transaction. */
static void test_ledger_batch_decides_each_posting_in_order(void)
{
    stop_workers();
    char u[PROTO_UUID_LEN + 1], nobody[PROTO_UUID_LEN + 1], to[128], v[256];
    fresh_user(u);
    fresh_user(nobody);
    snprintf(to, sizeof to, "{\"type\":\"transfer\",\"amount\":\"1.00\",\"to_account\":\"%s\"}",
             nobody);
    struct queued q[] = {
        {"b0", "{\"type\":\"deposit\",\"amount\":\"10.00\"}", 201, "\"balance_after\":10.00", 0,
         ""},
        {"b1", "{\"type\":\"withdrawal\",\"amount\":\"6.00\"}", 201, "\"balance_after\":4.00", 0,
         ""},
        {"b2", "{\"type\":\"withdrawal\",\"amount\":\"6.00\"}", 422, "insufficient_funds", 0, ""},
        {"b3", "{\"type\":\"deposit\",\"amount\":\"1.00\"}", 201, "\"balance_after\":5.00", 0, ""},
        {"b3", "{\"type\":\"deposit\",\"amount\":\"1.00\"}", 201, "\"balance_after\":5.00", 1, ""},
        {"b3", "{\"type\":\"deposit\",\"amount\":\"2.00\"}", 422, "idempotency_key_reused", 0, ""},
        {"b6", "{\"type\":\"withdrawal\",\"amount\":\"5.00\"}", 201, "\"balance_after\":0.00", 0,
         ""},
        {"b7", to, 404, "recipient_not_found", 0, ""},
        {NULL, "{\"type\":\"deposit\",\"amount\":\"abc\"}", 422, "invalid_amount", 0, ""},
        {"b9", "{\"type\":\"transfer\",\"amount\":\"1.00\",\"to_account\":\"nope\"}", 404,
         "recipient_not_found", 0, ""},
    };
    size_t n = sizeof q / sizeof q[0];
    publish_all(u, q, n);
    workers[0] = spawn_batch_worker((int)n, NULL);
    CU_ASSERT_FATAL(workers[0] > 0);
    expect_all(q, n);

    /* four postings, one transaction, each entry's balance_after in order */
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || count(DISTINCT t.xmin::text) || ':' || "
         "(SELECT string_agg(e.balance_after::text, ',' ORDER BY e.seq) FROM ledger.entries e "
         " JOIN ledger.accounts ac ON ac.id = e.account_id WHERE ac.owner = $1) || ':' || "
         "(SELECT balance FROM ledger.accounts WHERE owner = $1) "
         "FROM ledger.transfers t WHERE t.initiator = $1",
         u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "4:1:1000,400,500,0:0");
    /* every key settled, refusals too */
    sql1(v, sizeof v,
         "SELECT string_agg(key || '=' || status, ',' ORDER BY key) FROM ledger.idempotency "
         "WHERE user_id = $1 AND key LIKE 'k:%' AND state = 'done'",
         u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "k:b0=201,k:b1=201,k:b2=422,k:b3=201,k:b6=201,k:b7=404,k:b9=404");

    /* later copies replay, alone as in a batch (through a worker that does not wait) */
    stop_workers();
    workers[0] = spawn_worker(NULL);
    CU_ASSERT_FATAL(workers[0] > 0 && wait_ready());
    struct queued again[] = {
        {"b2", "{\"type\":\"withdrawal\",\"amount\":\"6.00\"}", 422, "insufficient_funds", 1, ""},
        {"b3", "{\"type\":\"deposit\",\"amount\":\"1.00\"}", 201, "\"balance_after\":5.00", 1, ""},
    };
    publish_all(u, again, 2);
    expect_all(again, 2);
    sql1(v, sizeof v, "SELECT count(*) FROM ledger.transfers WHERE initiator = $1", u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "4");
}

/* A worker killed after its batch committed and before any reply or ack: the broker redelivers
 * every request of it, each alone to the next worker, which answers each stored reply. */
static void test_ledger_batch_killed_before_ack_replays_all(void)
{
    char u[PROTO_UUID_LEN + 1], w[PROTO_UUID_LEN + 1], v[256], xfer[160];
    fresh_user(u);
    fresh_user(w);
    CU_ASSERT_EQUAL(deposit(w, "1.00"), 201); /* a recipient with an account */
    stop_workers();
    snprintf(xfer, sizeof xfer, "{\"type\":\"transfer\",\"amount\":\"2.50\",\"to_account\":\"%s\"}",
             w);
    struct queued q[] = {
        {NULL, "{\"type\":\"deposit\",\"amount\":\"7.00\"}", 201, "\"balance_after\":7.00", 1, ""},
        {NULL, xfer, 201, "\"balance_after\":4.50", 1, ""},
        {"kx", "{\"type\":\"withdrawal\",\"amount\":\"9.00\"}", 422, "insufficient_funds", 1, ""},
        {NULL, "{\"type\":\"withdrawal\",\"amount\":\"0.50\"}", 201, "\"balance_after\":4.00", 1,
         ""},
    };
    size_t n = sizeof q / sizeof q[0];
    publish_all(u, q, n);
    pid_t faulty = spawn_batch_worker((int)n, "WK_FAULT_EXIT_AFTER=txn.create");
    CU_ASSERT_FATAL(faulty > 0);
    int status = -1;
    int exited = ft_wait_exit(faulty, TIMEOUT_MS, &status);
    if (!exited)
        ft_stop(faulty, SIGKILL, 5000);
    CU_ASSERT_FATAL(exited);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 86);
    /* committed as one, never answered */
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || count(DISTINCT xmin::text) FROM ledger.transfers "
         "WHERE initiator = $1",
         u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "3:1");
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(ft_amqp_count_replies(a, q[i].id, i == 0 ? 200 : 0), 0);

    workers[0] = spawn_worker(NULL);
    CU_ASSERT_FATAL(workers[0] > 0);
    expect_all(q, n);
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || (SELECT balance FROM ledger.accounts WHERE owner = $1) || ':' "
         "|| (SELECT balance FROM ledger.accounts WHERE owner = $2) "
         "FROM ledger.transfers WHERE initiator = $1",
         u, w);
    CU_ASSERT_STRING_EQUAL(v, "3:400:350");
    CU_ASSERT(wait_ready());
}

/* LEDGER_DEFAULT_CURRENCY: a user the ledger knows no currency for gets it. Runs one worker
 * with it alone on the queue, then restores the usual one. */
static void test_ledger_default_currency_config(void)
{
    for (int i = 0; i < 2; i++)
        if (workers[i] > 0) {
            ft_stop(workers[i], SIGTERM, 10000);
            workers[i] = 0;
        }
    workers[0] = spawn_worker("LEDGER_DEFAULT_CURRENCY=EUR");
    CU_ASSERT_FATAL(workers[0] > 0 && wait_ready());
    char u[PROTO_UUID_LEN + 1], acc[PROTO_UUID_LEN + 1], v[64];
    fresh_user(u);
    default_account(u, acc);
    sql1(v, sizeof v, "SELECT currency FROM ledger.accounts WHERE id = $1", acc, NULL);
    CU_ASSERT_STRING_EQUAL(v, "EUR");
    ft_stop(workers[0], SIGTERM, 10000);
    workers[0] = spawn_worker(NULL);
    CU_ASSERT_FATAL(workers[0] > 0 && wait_ready());
    fresh_user(u);
    default_account(u, acc);
    sql1(v, sizeof v, "SELECT currency FROM ledger.accounts WHERE id = $1", acc, NULL);
    CU_ASSERT_STRING_EQUAL(v, "USD"); /* the default's default */
}

/* Publishes one event as a worker's relay does, twice (a duplicate has no second effect);
 * its id goes to evid. Then waits until a barrier event (a throwaway user's profile.updated),
 * published after both copies, is handled: with one consumer the queue is taken in order, so
 * both copies were handled by then (the second worker of the concurrency tests is stopped). */
static void publish_event(const char *type, const char *user, const char *data,
                          char evid[PROTO_UUID_LEN + 1])
{
    if (workers[1] > 0) {
        ft_stop(workers[1], SIGTERM, 10000);
        workers[1] = 0;
    }
    proto_uuid_v4(evid);
    for (int i = 0; i < 2; i++)
        wt_publish_event(a, type, evid, user, data);
    char other[PROTO_UUID_LEN + 1], barrier[PROTO_UUID_LEN + 1], bdata[256];
    proto_uuid_v4(other);
    proto_uuid_v4(barrier);
    snprintf(bdata, sizeof bdata,
             "{\"user_id\":\"%s\",\"currency_preference\":\"USD\",\"monthly_income\":\"1.00\"}",
             other);
    wt_publish_event(a, "profile.updated", barrier, other, bdata);
    wait_sql("SELECT count(*) FROM ledger.inbox WHERE event_id = $1", barrier, "1");
}

#define DEFAULT_OF                                                                                 \
    "SELECT count(*) || ':' || min(currency) || ':' || bool_and(is_default) "                      \
    "FROM ledger.accounts WHERE owner = $1"

static void test_ledger_profile_updated_opens_default(void)
{
    char u[PROTO_UUID_LEN + 1], evid[PROTO_UUID_LEN + 1], data[256], v[256];
    fresh_user(u);
    snprintf(data, sizeof data,
             "{\"user_id\":\"%s\",\"currency_preference\":\"EUR\",\"monthly_income\":\"10.00\"}",
             u);
    publish_event("profile.updated", u, data, evid);
    wait_sql(DEFAULT_OF, u, "1:EUR:true");
    sql1(v, sizeof v, "SELECT count(*) FROM ledger.inbox WHERE event_id = $1", evid, NULL);
    CU_ASSERT_STRING_EQUAL(v, "1");
    struct ft_reply r;
    CU_ASSERT_EQUAL(
        callx("txn.create", u, NULL, NULL, NULL, "{\"type\":\"deposit\",\"amount\":\"1.5\"}", &r),
        201);
    CU_ASSERT(wt_has(&r, "\"currency\":\"EUR\""));
    CU_ASSERT(wt_has(&r, "\"balance_after\":1.50"));
    ft_reply_free(&r);
}

/* A registered user (a row in auth.users, read through auth.currency_preferences): the default
 * account opens at user.registered, follows the profile's currency while empty, keeps its
 * currency once used; a transfer to a registered user without any account opens theirs. */
static void test_ledger_default_account_follows_the_profile(void)
{
    char u[PROTO_UUID_LEN + 1], evid[PROTO_UUID_LEN + 1], data[256], v[512], sql[512], st[6];
    fresh_user(u);
    snprintf(sql, sizeof sql,
             "INSERT INTO auth.users (id, email, email_norm, password_hash, full_name) VALUES "
             "('%s', '%s@example.com', '%s@example.com', '$argon2id$x', 'Reg')",
             u, u, u);
    as_admin(sql, st);
    CU_ASSERT_STRING_EQUAL_FATAL(st, "");
    snprintf(data, sizeof data, "{\"user_id\":\"%s\"}", u);
    publish_event("user.registered", u, data, evid);
    wait_sql(DEFAULT_OF, u, "1:USD:true");
    char acc[PROTO_UUID_LEN + 1];
    sql1(acc, sizeof acc, "SELECT id FROM ledger.accounts WHERE owner = $1", u, NULL);
    /* the opening told the auth worker which account it is */
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || min(data->>'account_id') || ':' || "
         "bool_and((data->>'first_completion')::boolean) FROM ledger.outbox "
         "WHERE type = 'account.default_ready' AND user_id = $1",
         u, NULL);
    char want[128];
    snprintf(want, sizeof want, "1:%s:false", acc);
    CU_ASSERT_STRING_EQUAL(v, want);

    /* the profile says GBP: the empty account follows (read before the event is applied) */
    snprintf(sql, sizeof sql, "UPDATE auth.users SET currency_preference = 'GBP' WHERE id = '%s'",
             u);
    as_admin(sql, st);
    struct ft_reply r;
    CU_ASSERT_EQUAL(callx("acct.list", u, NULL, NULL, NULL, NULL, &r), 200);
    CU_ASSERT(wt_has(&r, "\"currency\":\"GBP\""));
    ft_reply_free(&r);
    snprintf(data, sizeof data,
             "{\"user_id\":\"%s\",\"currency_preference\":\"GBP\",\"first_completion\":true}", u);
    publish_event("profile.updated", u, data, evid);
    snprintf(want, sizeof want, "1:%s:GBP", acc);
    wait_sql("SELECT count(*) || ':' || min(data->>'account_id') || ':' || min(data->>'currency') "
             "FROM ledger.outbox WHERE type = 'account.default_ready' AND user_id = $1 "
             "AND (data->>'first_completion')::boolean",
             u, want);

    /* once it has an entry, its currency is fixed */
    CU_ASSERT_EQUAL(deposit(u, "\"2\""), 201);
    snprintf(sql, sizeof sql, "UPDATE auth.users SET currency_preference = 'EUR' WHERE id = '%s'",
             u);
    as_admin(sql, st);
    CU_ASSERT_EQUAL(callx("acct.list", u, NULL, NULL, NULL, NULL, &r), 200);
    CU_ASSERT(wt_has(&r, "\"currency\":\"GBP\""));
    ft_reply_free(&r);
    sql1(v, sizeof v, DEFAULT_OF, u, NULL);
    CU_ASSERT_STRING_EQUAL(v, "1:GBP:true");

    /* a transfer to a registered user who has no account yet opens it (in their currency) */
    char reg[PROTO_UUID_LEN + 1], body[256];
    fresh_user(reg);
    snprintf(sql, sizeof sql,
             "INSERT INTO auth.users (id, email, email_norm, password_hash, full_name, "
             "currency_preference) VALUES ('%s', '%s@example.com', '%s@example.com', "
             "'$argon2id$x', 'New', 'GBP')",
             reg, reg, reg);
    as_admin(sql, st);
    CU_ASSERT_STRING_EQUAL(st, "");
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":\"0.50\",\"to_account\":\"%s\"}",
             reg);
    CU_ASSERT_EQUAL(callx("txn.create", u, NULL, NULL, NULL, body, &r), 201);
    snprintf(want, sizeof want, "\"to_user_id\":\"%s\"", reg);
    CU_ASSERT(wt_has(&r, want));
    ft_reply_free(&r);
    sql1(v, sizeof v, "SELECT currency || ':' || balance FROM ledger.accounts WHERE owner = $1",
         reg, NULL);
    CU_ASSERT_STRING_EQUAL(v, "GBP:50");
    /* an unknown id still answers 404; another currency 422 naming both currencies */
    char nobody[PROTO_UUID_LEN + 1];
    fresh_user(nobody);
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":\"0.50\",\"to_account\":\"%s\"}",
             nobody);
    expect_error("txn.create", u, NULL, NULL, body, 404, "recipient_not_found");
    char eur_user[PROTO_UUID_LEN + 1], eur_acc[PROTO_UUID_LEN + 1];
    fresh_user(eur_user);
    snprintf(body, sizeof body, "{\"name\":\"E\",\"kind\":\"wallet\",\"currency\":\"EUR\"}");
    CU_ASSERT_EQUAL(status_of("acct.create", eur_user, NULL, NULL, NULL, body), 201);
    sql1(eur_acc, sizeof eur_acc,
         "SELECT id FROM ledger.accounts WHERE owner = $1 AND currency = 'EUR'", eur_user, NULL);
    for (int by_account = 0; by_account < 2; by_account++) {
        snprintf(body, sizeof body,
                 "{\"type\":\"transfer\",\"amount\":\"0.50\",\"to_account\":\"%s\"}",
                 by_account ? eur_acc : eur_user);
        CU_ASSERT_EQUAL(callx("txn.create", u, NULL, NULL, NULL, body, &r), 422);
        CU_ASSERT_STRING_EQUAL(r.code, "currency_mismatch");
        /* by user id: their default account, which acct.create opened in USD */
        CU_ASSERT(strstr(r.message, "GBP") && strstr(r.message, by_account ? "EUR" : "USD"));
        ft_reply_free(&r);
    }
}

/* Earlier clients send no limit and sum what they get: the list of all accounts answers 100
 * rows (the most it pages), an account's history up to 1,000. */
static void test_ledger_no_limit_answers_whole_histories(void)
{
    char u[PROTO_UUID_LEN + 1], path[128];
    fresh_user(u);
    for (int i = 0; i < 120; i++)
        CU_ASSERT_EQUAL(deposit(u, "\"0.01\""), 201);
    struct ft_reply r;
    CU_ASSERT_EQUAL(callx("txn.list", u, NULL, NULL, NULL, NULL, &r), 200);
    json_t *j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 100);
    json_decref(j);
    ft_reply_free(&r);
    snprintf(path, sizeof path, "{\"account_id\":\"%s\"}", u); /* old clients: the user id */
    CU_ASSERT_EQUAL(callx("txn.list_account", u, NULL, path, NULL, NULL, &r), 200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 120);
    json_decref(j);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(callx("txn.list_account", u, NULL, path, "{\"limit\":\"1000\"}", NULL, &r),
                    200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 120);
    json_decref(j);
    ft_reply_free(&r);
    expect_error("txn.list_account", u, path, "{\"limit\":\"1001\"}", NULL, 422, "invalid_limit");
    expect_error("txn.list", u, NULL, "{\"limit\":\"101\"}", NULL, 422, "invalid_limit");
}

static void test_ledger_pagination_newest_first(void)
{
    char u[PROTO_UUID_LEN + 1], acc[PROTO_UUID_LEN + 1], path[128];
    fresh_user(u);
    default_account(u, acc);
    for (int i = 1; i <= 7; i++) {
        char amt[16];
        snprintf(amt, sizeof amt, "%d", i);
        CU_ASSERT_EQUAL(deposit(u, amt), 201);
    }
    const char *queries[] = {"{\"limit\":\"3\"}", "{\"limit\":\"3\",\"offset\":\"3\"}",
                             "{\"limit\":\"3\",\"offset\":\"6\"}",
                             "{\"limit\":\"3\",\"offset\":\"9\"}"};
    const char *want[] = {"7.00,6.00,5.00", "4.00,3.00,2.00", "1.00", ""};
    char seen[8][PROTO_UUID_LEN + 1];
    int nseen = 0;
    for (int by = 0; by < 3; by++) {
        nseen = 0;
        for (int q = 0; q < 4; q++) {
            struct ft_reply r;
            const char *method = by ? "txn.list_account" : "txn.list";
            snprintf(path, sizeof path, "{\"account_id\":\"%s\"}", by == 1 ? acc : u);
            CU_ASSERT_EQUAL(callx(method, u, NULL, by ? path : NULL, queries[q], NULL, &r), 200);
            json_t *j = wt_jbody(&r);
            char got[128] = "";
            for (size_t i = 0; i < json_array_size(j); i++) {
                json_t *t = json_array_get(j, i);
                char amt[32];
                snprintf(amt, sizeof amt, "%.2f", json_number_value(json_object_get(t, "amount")));
                if (i)
                    strcat(got, ",");
                strcat(got, amt);
                for (int k = 0; k < nseen; k++)
                    CU_ASSERT(strcmp(seen[k], wt_jstr(t, "id")) != 0);
                if (nseen < 8)
                    snprintf(seen[nseen++], sizeof seen[0], "%s", wt_jstr(t, "id"));
            }
            CU_ASSERT_STRING_EQUAL(got, want[q]);
            json_decref(j);
            ft_reply_free(&r);
        }
        CU_ASSERT_EQUAL(nseen, 7);
    }
    struct ft_reply r;
    CU_ASSERT_EQUAL(callx("txn.list", u, NULL, NULL, NULL, NULL, &r), 200);
    json_t *j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 7); /* default limit 100 */
    json_decref(j);
    ft_reply_free(&r);

    /* before=<id>: the page after a given transaction stays put while new postings arrive
     * (offset would shift by them) */
    char query[160], last[PROTO_UUID_LEN + 1];
    CU_ASSERT_EQUAL(callx("txn.list", u, NULL, NULL, "{\"limit\":\"3\"}", NULL, &r), 200);
    j = wt_jbody(&r);
    snprintf(last, sizeof last, "%s", wt_jstr(json_array_get(j, 2), "id")); /* the 5.00 */
    json_decref(j);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(deposit(u, "8"), 201);
    CU_ASSERT_EQUAL(deposit(u, "9"), 201);
    for (int by = 0; by < 2; by++) {
        snprintf(query, sizeof query, "{\"limit\":\"3\",\"before\":\"%s\"}", last);
        snprintf(path, sizeof path, "{\"account_id\":\"%s\"}", acc);
        CU_ASSERT_EQUAL(
            callx(by ? "txn.list_account" : "txn.list", u, NULL, by ? path : NULL, query, NULL, &r),
            200);
        CU_ASSERT(wt_has(&r, "\"amount\":4.00,"));
        j = wt_jbody(&r);
        CU_ASSERT_EQUAL(json_array_size(j), 3);
        CU_ASSERT_EQUAL(json_number_value(json_object_get(json_array_get(j, 0), "amount")), 4.0);
        CU_ASSERT_EQUAL(json_number_value(json_object_get(json_array_get(j, 2), "amount")), 2.0);
        json_decref(j);
        ft_reply_free(&r);
    }
    /* not an id: 422; someone else's transaction or an unknown one: 404 */
    CU_ASSERT_EQUAL(callx("txn.list", u, NULL, NULL, "{\"before\":\"nope\"}", NULL, &r), 422);
    CU_ASSERT_STRING_EQUAL(r.code, "invalid_before");
    ft_reply_free(&r);
    char other[PROTO_UUID_LEN + 1];
    fresh_user(other);
    snprintf(query, sizeof query, "{\"before\":\"%s\"}", last);
    CU_ASSERT_EQUAL(callx("txn.list", other, NULL, NULL, query, NULL, &r), 404);
    CU_ASSERT_STRING_EQUAL(r.code, "transaction_not_found");
    ft_reply_free(&r);
}

static void test_ledger_cross_user_gets_404_and_changes_nothing(void)
{
    char ua[PROTO_UUID_LEN + 1], ub[PROTO_UUID_LEN + 1], acc_a[PROTO_UUID_LEN + 1],
        acc_b[PROTO_UUID_LEN + 1], tid[PROTO_UUID_LEN + 1], body[256], path[128], before[1024],
        after[1024];
    fresh_user(ua);
    fresh_user(ub);
    default_account(ua, acc_a);
    default_account(ub, acc_b);
    struct ft_reply r;
    CU_ASSERT_EQUAL(
        callx("txn.create", ua, NULL, NULL, NULL, "{\"type\":\"deposit\",\"amount\":\"50\"}", &r),
        201);
    json_t *j = wt_jbody(&r);
    snprintf(tid, sizeof tid, "%s", wt_jstr(j, "id"));
    json_decref(j);
    ft_reply_free(&r);
    user_state(ua, before, sizeof before);

    /* B names A's account (or A's user id) in the body: not B's, so 404 */
    const char *types[] = {"withdrawal", "deposit", "transfer"};
    for (int i = 0; i < 3; i++) {
        snprintf(body, sizeof body,
                 "{\"type\":\"%s\",\"amount\":1,\"account_id\":\"%s\",\"to_account\":\"%s\"}",
                 types[i], acc_a, acc_b);
        expect_error("txn.create", ub, NULL, NULL, body, 404, "account_not_found");
        snprintf(body, sizeof body,
                 "{\"type\":\"%s\",\"amount\":1,\"account_id\":\"%s\",\"to_account\":\"%s\"}",
                 types[i], ua, acc_b);
        expect_error("txn.create", ub, NULL, NULL, body, 404, "account_not_found");
    }
    /* ... in the path */
    snprintf(path, sizeof path, "{\"account_id\":\"%s\"}", acc_a);
    expect_error("txn.list_account", ub, path, NULL, NULL, 404, "account_not_found");
    snprintf(path, sizeof path, "{\"id\":\"%s\"}", tid);
    expect_error("txn.get", ub, path, NULL, NULL, 404, "transaction_not_found");
    expect_error("txn.get", ub, "{\"id\":\"nope\"}", NULL, NULL, 404, "transaction_not_found");
    /* A's user id in B's path is not A's default account */
    snprintf(path, sizeof path, "{\"account_id\":\"%s\"}", ua);
    expect_error("txn.list_account", ub, path, NULL, NULL, 404, "account_not_found");
    /* ... in the query: ignored, B lists only B's */
    char query[128];
    snprintf(query, sizeof query, "{\"account_id\":\"%s\",\"user_id\":\"%s\"}", acc_a, ua);
    CU_ASSERT_EQUAL(callx("txn.list", ub, NULL, NULL, query, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json, "[]");
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(callx("acct.list", ub, NULL, NULL, query, NULL, &r), 200);
    j = wt_jbody(&r);
    CU_ASSERT_EQUAL(json_array_size(j), 1);
    CU_ASSERT_STRING_EQUAL(wt_jstr(json_array_get(j, 0), "id"), acc_b);
    json_decref(j);
    ft_reply_free(&r);

    user_state(ua, after, sizeof after);
    CU_ASSERT_STRING_EQUAL(before, after);
    /* and A still sees it */
    snprintf(path, sizeof path, "{\"id\":\"%s\"}", tid);
    CU_ASSERT_EQUAL(status_of("txn.get", ua, NULL, path, NULL, NULL), 200);
}

static void test_ledger_role_cannot_rewrite_history(void)
{
    char u[PROTO_UUID_LEN + 1], state[6], sql[1024], acc[PROTO_UUID_LEN + 1], v[64];
    fresh_user(u);
    default_account(u, acc);
    CU_ASSERT_EQUAL(deposit(u, "1"), 201);
    as_role("UPDATE ledger.entries SET amount = amount WHERE false", state);
    CU_ASSERT_STRING_EQUAL(state, "42501");
    as_role("DELETE FROM ledger.entries WHERE false", state);
    CU_ASSERT_STRING_EQUAL(state, "42501");
    as_role("UPDATE ledger.transfers SET note = 'x' WHERE false", state);
    CU_ASSERT_STRING_EQUAL(state, "42501");
    as_role("DELETE FROM ledger.transfers WHERE false", state);
    CU_ASSERT_STRING_EQUAL(state, "42501");
    as_role("SELECT count(*) FROM ledger.entries", state);
    CU_ASSERT_STRING_EQUAL(state, "");
    /* postings and balances change only through ledger.batch_write (sql/012) */
    as_role("INSERT INTO ledger.entries (transfer_id, account_id, amount, balance_after) "
            "SELECT transfer_id, account_id, amount, balance_after FROM ledger.entries WHERE false",
            state);
    CU_ASSERT_STRING_EQUAL(state, "42501");
    as_role("INSERT INTO ledger.transfers SELECT * FROM ledger.transfers WHERE false", state);
    CU_ASSERT_STRING_EQUAL(state, "42501");
    as_role("UPDATE ledger.accounts SET balance = balance WHERE false", state);
    CU_ASSERT_STRING_EQUAL(state, "42501");
    /* batch_write moves a balance only along the entries: each balance_after must follow
     * from the balance before the batch and the entries before it... */
    char tid[PROTO_UUID_LEN + 1], tid2[PROTO_UUID_LEN + 1], ext[PROTO_UUID_LEN + 1];
    sql1(ext, sizeof ext, "SELECT id FROM ledger.accounts WHERE owner IS NULL AND currency = 'USD'",
         NULL, NULL);
    char ext_bal[32];
    sql1(ext_bal, sizeof ext_bal, "SELECT balance FROM ledger.accounts WHERE id = $1", ext, NULL);
    long long eb = atoll(ext_bal);
    proto_uuid_v4(tid);
#define BATCH_WRITE_TAIL                                                                           \
    "p_notes => '{NULL}', p_initiators => '{%s}', p_client_keys => '{NULL}', "                     \
    "p_to_addressed => '{NULL}', p_events => '[]', p_idem_users => '{}', p_idem_keys => '{}', "    \
    "p_statuses => '{}', p_bodies => '{}', p_error_codes => '{}', p_idem_transfers => '{}')"
    snprintf(sql, sizeof sql,
             "SELECT ledger.batch_write(p_transfers => '{%s}', p_kinds => '{deposit}', "
             "p_amounts => '{5}', p_currencies => '{USD}', p_froms => '{%s}', p_tos => '{%s}', "
             "p_from_afters => '{%lld}', p_to_afters => '{999}', " BATCH_WRITE_TAIL,
             tid, ext, acc, eb - 5, u);
    as_role(sql, state);
    CU_ASSERT_STRING_EQUAL(state, "23514");
    /* ...and no user balance goes below zero on the way, even if it ends above it */
    proto_uuid_v4(tid2);
    snprintf(sql, sizeof sql,
             "SELECT ledger.batch_write(p_transfers => '{%s,%s}', "
             "p_kinds => '{withdrawal,deposit}', p_amounts => '{150,100}', "
             "p_currencies => '{USD,USD}', p_froms => '{%s,%s}', p_tos => '{%s,%s}', "
             "p_from_afters => '{-50,%lld}', p_to_afters => '{%lld,50}', "
             "p_notes => '{NULL,NULL}', p_initiators => '{%s,%s}', "
             "p_client_keys => '{NULL,NULL}', p_to_addressed => '{NULL,NULL}', p_events => '[]', "
             "p_idem_users => '{}', p_idem_keys => '{}', p_statuses => '{}', p_bodies => '{}', "
             "p_error_codes => '{}', p_idem_transfers => '{}')",
             tid, tid2, acc, ext, ext, acc, eb + 150 - 100, eb + 150, u, u);
    as_role(sql, state);
    CU_ASSERT_STRING_EQUAL(state, "23514");
#undef BATCH_WRITE_TAIL
    /* an unbalanced posting cannot commit, even written by hand by the admin */
    proto_uuid_v4(tid);
    snprintf(sql, sizeof sql,
             "BEGIN; INSERT INTO ledger.transfers (id, kind, amount, currency, from_account, "
             "to_account, initiator) VALUES ('%s', 'deposit', 5, 'USD', '%s', '%s', '%s'); "
             "INSERT INTO ledger.entries (transfer_id, account_id, amount, balance_after) "
             "VALUES ('%s', '%s', 5, 105); COMMIT;",
             tid, ext, acc, u, tid, acc);
    as_admin(sql, state);
    CU_ASSERT_STRING_EQUAL(state, "23514");
    /* nor can a stray line be added to a committed posting */
    snprintf(sql, sizeof sql,
             "INSERT INTO ledger.entries (transfer_id, account_id, amount, balance_after) "
             "SELECT e.transfer_id, a.id, 1, 1 FROM ledger.entries e, ledger.accounts a "
             "WHERE e.account_id = '%s' AND a.id NOT IN ('%s', '%s') LIMIT 1",
             acc, acc, ext);
    as_admin(sql, state);
    CU_ASSERT_STRING_EQUAL(state, "23514");
    /* a user balance below zero is refused by the CHECK */
    snprintf(sql, sizeof sql, "UPDATE ledger.accounts SET balance = -1 WHERE id = '%s'", acc);
    as_admin(sql, state);
    CU_ASSERT_STRING_EQUAL(state, "23514");
    sql1(v, sizeof v, "SELECT count(*) FROM ledger.transfers WHERE id = $1", tid, NULL);
    CU_ASSERT_STRING_EQUAL(v, "0");
    sql1(v, sizeof v, "SELECT balance FROM ledger.accounts WHERE id = $1", acc, NULL);
    CU_ASSERT_STRING_EQUAL(v, "100");
}

static void test_ledger_bad_config_exits_78(void)
{
    CU_ASSERT_EQUAL(wt_exit_code("fintwin-transaction", "LEDGER_DEFAULT_CURRENCY=XYZ", log_path),
                    78);
}

int main(void)
{
    int rc = wt_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("ledger", suite_init, suite_clean);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_ledger_accounts_default_opened_once);
    ADD(test_ledger_deposit_withdraw_transfer_exact);
    ADD(test_ledger_validation_codes);
    ADD(test_ledger_insufficient_funds_writes_nothing);
    ADD(test_ledger_idempotency_replay_and_reuse);
    ADD(test_ledger_idempotency_refusal_is_replayed);
    ADD(test_ledger_idempotency_edges);
    ADD(test_ledger_idempotency_sweep_deletes_expired);
    ADD(test_ledger_redelivered_request_posts_once);
    ADD(test_ledger_profile_updated_opens_default);
    ADD(test_ledger_default_account_follows_the_profile);
    ADD(test_ledger_pagination_newest_first);
    ADD(test_ledger_no_limit_answers_whole_histories);
    ADD(test_ledger_cross_user_gets_404_and_changes_nothing);
    ADD(test_ledger_role_cannot_rewrite_history);
    ADD(test_ledger_bad_config_exits_78);
    ADD(test_ledger_concurrent_duplicates_one_effect);
    ADD(test_ledger_opposite_transfers_never_fail);
    ADD(test_ledger_lock_order_no_deadlock);
    ADD(test_ledger_duplicate_in_flight_waits_and_replays);
    ADD(test_ledger_default_account_opened_once_concurrently);
    ADD(test_ledger_killed_between_commit_and_ack_replays);
    ADD(test_ledger_batch_decides_each_posting_in_order);
    ADD(test_ledger_batch_killed_before_ack_replays_all);
    ADD(test_ledger_default_currency_config);
#undef ADD
    return ft_cunit_run();
}
