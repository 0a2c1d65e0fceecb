/*
 * e2e, the bank test: 20 fresh users move money through the real gateway while two
 * transaction workers share rpc.transaction and a chaos thread SIGKILLs one of them every
 * 2 s (alternately) and starts it again. 16 client threads run 5,000 random deposits,
 * withdrawals and transfers, each under its own Idempotency-Key, and retry the same request
 * with the same key after a 5xx, a 409 (still in flight) or a transport failure until they
 * get a final answer. Afterwards the books must balance: double entry holds globally and per
 * transfer, no user account was ever negative, every balance is the sum of its entries, each
 * key moved money at most once (exactly once, with the id the client saw, when it got a 2xx),
 * a replay returns the stored answer, and each user's balance is what the clients' own
 * record of their 2xx answers says.
 *
 * RabbitMQ hands the requests a killed worker held to the survivor well within the gateway's
 * deadline, so the kills alone rarely reach a client as an error. The chaos must still bite:
 * the test asserts that requests of this run were answered after a redelivery (worker logs),
 * and every 10th op's first attempt gives up after 1-40 ms like an impatient client, so
 * retries with the same key race their own first attempt while workers die. Ops are paced
 * to the kill rounds (op i waits for round i*5/5000), so at least four kills land mid-run
 * however fast the machine is.
 *
 * BANK_SEED=<n> in the environment repeats an operation mix (the kill timing still varies).
 */
#define _POSIX_C_SOURCE 200809L
#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "e2e.h"
#include "proto/money.h"
#include "proto/uuid.h"

#define BANK_USERS           20
#define BANK_THREADS         16
#define BANK_OPS             5000
#define BANK_INITIAL_CENTS   100000 /* each user's first deposit: 1000.00 */
#define BANK_OP_BUDGET_MS    30000  /* one operation, all its retries included */
#define BANK_ATTEMPT_MS      10000  /* one HTTP attempt (the gateway answers 504 after 5 s) */
#define BANK_RUN_BUDGET_MS   240000 /* no new operation starts after this */
#define BANK_CHAOS_MS        2000
#define BANK_MIN_KILLS       4     /* the last fifth of the ops waits for the 4th round */
#define BANK_READY_MS        20000 /* a restarted worker must consume within this */
#define BANK_TXN_KIND        1     /* e2e_kinds[1] == "transaction" */
#define BANK_REPLAY_EVERY    7     /* besides every retried one, replay every 7th 2xx */
#define BANK_IMPATIENT_EVERY 10    /* every 10th op's first attempt gives up after 1-40 ms */

enum op_type { OP_DEPOSIT, OP_WITHDRAWAL, OP_TRANSFER };
static const char *const op_names[] = {"deposit", "withdrawal", "transfer"};

/* Why an attempt was retried. */
enum retry_cause { RC_IMPATIENT, RC_TRANSPORT, RC_409, RC_502, RC_503, RC_504, RC_5XX, RC_N };
static const char *const cause_names[RC_N] = {"impatient", "transport", "409", "502",
                                              "503",       "504",       "5xx"};

struct user {
    char *token, *id;
    int64_t expect_cents; /* what the 2xx answers add up to */
};

struct op {
    enum op_type type;
    int from, to; /* user indexes; to only for transfers */
    int64_t cents;
    char key[64];
    char body[256];
    /* Results: written by the one thread that runs the op, read after the join. */
    long status;    /* final; 0 when the budget ran out without a final answer */
    char code[64];  /* the error code of a final 4xx */
    char *txn_id;   /* "id" of the 2xx body */
    char *txn_body; /* the 2xx body */
    int attempts;   /* HTTP attempts */
    int first_ms;   /* the first attempt's timeout: 0 for BANK_ATTEMPT_MS */
    int replayed;   /* the final 2xx carried Idempotent-Replayed: true */
    int causes[RC_N];
    /* Replay phase. */
    int replay_checked, replay_ok;
    long replay_status;
    char replay_why[128];
};

/* mu guards done and rounds; the rest belongs to the chaos thread until it is joined
 * (pid and life also to the main thread before it starts and after the join). */
struct chaos {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* wakes the chaos thread when done is set */
    int done;
    int rounds; /* kill-and-restart rounds completed */
    pid_t pid[2];
    int life[2];
    int kills, self_exits, not_ready, spawn_failed;
};

struct run {
    struct op *ops;
    int nops;
    atomic_int next;
    atomic_int stop; /* an op gave up or the run budget ran out: start no new op */
    int replay;      /* 0: perform ops; 1: replay chosen 2xx ops */
    int64_t started_ms;
    char url[128];          /* POST /api/transactions/ */
    char accounts_url[128]; /* GET /api/accounts */
};

static struct e2e st;
static struct user users[BANK_USERS];
static struct chaos chaos = {.mu = PTHREAD_MUTEX_INITIALIZER};
static char run_id[16];

static void log_name(int slot, int life, char *out, size_t size)
{
    snprintf(out, size, "transaction-%d-%d", slot, life);
}

static pid_t spawn_txn(int slot)
{
    char name[64];
    log_name(slot, chaos.life[slot], name, sizeof name);
    return e2e_spawn_worker_instance(&st, BANK_TXN_KIND, name);
}

/* 1 if the log of the current life of worker slot *arg says it consumes its queue. */
static int slot_consuming(void *arg)
{
    int slot = *(int *)arg;
    char name[64], path[600];
    log_name(slot, chaos.life[slot], name, sizeof name);
    snprintf(path, sizeof path, "%s/%s.log", st.dir, name);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[2048];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "msg=\"consuming\"") || strstr(line, "msg=consuming ");
    fclose(f);
    return found;
}

/* Requests of this run that a worker answered after a redelivery (their first holder was
 * killed before it acked), summed over every life of both slots. */
static int count_redelivered(void)
{
    char needle[64];
    snprintf(needle, sizeof needle, "req=bank-%s-", run_id);
    int n = 0;
    for (int slot = 0; slot < 2; slot++)
        for (int life = 0; life <= chaos.life[slot]; life++) {
            char name[64], path[600], line[2048];
            log_name(slot, life, name, sizeof name);
            snprintf(path, sizeof path, "%s/%s.log", st.dir, name);
            FILE *f = fopen(path, "r");
            while (f && fgets(line, sizeof line, f))
                n += strstr(line, needle) && strstr(line, "redelivered=1");
            if (f)
                fclose(f);
        }
    return n;
}

static int wait_consuming(int slot)
{
    return ft_wait_until(slot_consuming, &slot, BANK_READY_MS);
}

static int txn_ok(void *arg)
{
    return e2e_status_worker_ok(arg, BANK_TXN_KIND, 1);
}

static int suite_init(void)
{
    e2e_init(&st, "bank");
    if (e2e_start_with_auth(&st, NULL) != 0)
        return 1;
    for (int s = 0; s < 2; s++)
        chaos.pid[s] = spawn_txn(s);
    if (chaos.pid[0] <= 0 || chaos.pid[1] <= 0 || !wait_consuming(0) || !wait_consuming(1) ||
        !ft_wait_until(txn_ok, &st, 20000)) {
        fprintf(stderr, "the transaction workers did not come up (see %s)\n", st.dir);
        for (int s = 0; s < 2; s++)
            ft_stop(chaos.pid[s], SIGTERM, 10000);
        e2e_stop_all(&st);
        return 1;
    }
    return 0;
}

static int suite_clean(void)
{
    for (int s = 0; s < 2; s++)
        if (chaos.pid[s] > 0)
            ft_stop(chaos.pid[s], SIGTERM, 10000);
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    for (int i = 0; i < BANK_USERS; i++) {
        free(users[i].token);
        free(users[i].id);
    }
    return 0;
}

/* ---- chaos ---- */

/* Kills worker `slot` with SIGKILL, once the other one consumes, and starts it again. */
static void chaos_kill(int slot)
{
    int other = 1 - slot;
    if (!wait_consuming(other))
        chaos.not_ready++;
    int status = 0;
    if (ft_exited(chaos.pid[slot], &status)) {
        fprintf(stderr, "bank: transaction worker %d (pid %d) exited by itself, status 0x%x\n",
                slot, (int)chaos.pid[slot], (unsigned)status);
        chaos.self_exits++;
    } else {
        status = ft_stop(chaos.pid[slot], SIGKILL, 5000);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
            fprintf(stderr,
                    "bank: transaction worker %d (pid %d) ended with 0x%x, not by SIGKILL\n", slot,
                    (int)chaos.pid[slot], (unsigned)status);
            chaos.self_exits++;
        }
        chaos.kills++;
    }
    chaos.life[slot]++;
    chaos.pid[slot] = spawn_txn(slot);
    if (chaos.pid[slot] <= 0)
        chaos.spawn_failed++;
}

/* The CLOCK_MONOTONIC time `ms` from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(int64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

/* However fast the clients are, the chaos must land while requests run: op i starts only
 * after round i * (BANK_MIN_KILLS + 1) / nops has happened, and until then its thread keeps
 * the workers busy reading the user's accounts (so a kill still finds work in flight).
 * Bounded by the op budget, so a stuck chaos thread delays the run but cannot hang it. */
static void wait_for_round(int index, int nops, const char *url, int user)
{
    int need = (int)((int64_t)index * (BANK_MIN_KILLS + 1) / nops);
    int64_t end = ft_now_ms() + BANK_OP_BUDGET_MS;
    char auth[2200], reqid[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", users[user].token);
    snprintf(reqid, sizeof reqid, "X-Request-Id: bank-%s-fill", run_id);
    const char *hdrs[] = {auth, reqid, NULL};
    pthread_mutex_lock(&chaos.mu);
    while (chaos.rounds < need && ft_now_ms() < end) {
        pthread_mutex_unlock(&chaos.mu);
        struct ft_http_resp resp;
        ft_http("GET", url, hdrs, NULL, 0, BANK_ATTEMPT_MS, &resp);
        ft_http_resp_free(&resp);
        pthread_mutex_lock(&chaos.mu);
    }
    pthread_mutex_unlock(&chaos.mu);
}

static void *chaos_main(void *arg)
{
    (void)arg;
    int64_t next = ft_now_ms() + BANK_CHAOS_MS;
    pthread_mutex_lock(&chaos.mu);
    while (!chaos.done) {
        int64_t left = next - ft_now_ms();
        if (left > 0) {
            struct timespec ts = deadline_in(left);
            pthread_cond_timedwait(&chaos.cv, &chaos.mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&chaos.mu);
        chaos_kill(chaos.rounds % 2);
        next = ft_now_ms() + BANK_CHAOS_MS;
        pthread_mutex_lock(&chaos.mu);
        chaos.rounds++;
    }
    pthread_mutex_unlock(&chaos.mu);
    return NULL;
}

/* ---- operations ---- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* An amount in [1, max_cents] minor units; never floating point. */
static int64_t rng_cents(uint64_t *s, int64_t max_cents)
{
    return 1 + (int64_t)(rng_next(s) % (uint64_t)max_cents);
}

/* Fills the op's key and body; amounts go as a string or (every other op) as a JSON number. */
static void op_prepare(struct op *o, int index, int as_number)
{
    char amount[PROTO_MONEY_TEXT_MAX], to[128] = "";
    if (proto_money_format(o->cents, 2, amount, sizeof amount) < 0)
        abort();
    snprintf(o->key, sizeof o->key, "bank-%s-%05d", run_id, index);
    if (o->type == OP_TRANSFER)
        snprintf(to, sizeof to, ",\"to_account\":\"%s\"", users[o->to].id);
    snprintf(o->body, sizeof o->body, "{\"type\":\"%s\",\"amount\":%s%s%s%s,\"note\":\"%s\"}",
             op_names[o->type], as_number ? "" : "\"", amount, as_number ? "" : "\"", to, o->key);
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs one op to a final answer: the same request, with the same key, after every 5xx, 409
 * or transport failure, until a 2xx or another 4xx or the budget is spent. Any thread. */
static void op_run(const struct run *r, struct op *o)
{
    char auth[2200], idem[128], reqid[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", users[o->from].token);
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", o->key);
    snprintf(reqid, sizeof reqid, "X-Request-Id: %s", o->key);
    const char *hdrs[] = {auth, idem, reqid, NULL};
    int64_t start = ft_now_ms();
    o->status = 0;
    for (;;) {
        struct ft_http_resp resp;
        int tmo = o->attempts == 0 && o->first_ms ? o->first_ms : BANK_ATTEMPT_MS;
        ft_http("POST", r->url, hdrs, o->body, strlen(o->body), tmo, &resp);
        o->attempts++;
        long s = resp.status;
        if (s >= 200 && s < 300) {
            o->status = s;
            o->txn_id = e2e_json_str(resp.body, "id");
            o->txn_body = strdup(resp.body);
            char *rep = ft_http_header(&resp, "Idempotent-Replayed");
            o->replayed = rep && strcmp(rep, "true") == 0;
            free(rep);
        } else if (s >= 400 && s < 500 && s != 409) {
            o->status = s;
            char *code = e2e_json_str(resp.body, "code");
            snprintf(o->code, sizeof o->code, "%s", code ? code : "(none)");
            free(code);
        } else {
            o->causes[s == 0 && tmo < BANK_ATTEMPT_MS ? RC_IMPATIENT
                      : s == 0                        ? RC_TRANSPORT
                      : s == 409                      ? RC_409
                      : s == 502                      ? RC_502
                      : s == 503                      ? RC_503
                      : s == 504                      ? RC_504
                                                      : RC_5XX]++;
            o->status = s; /* kept as the final one only if the budget runs out */
        }
        ft_http_resp_free(&resp);
        if ((s >= 200 && s < 500 && s != 409) || ft_now_ms() - start > BANK_OP_BUDGET_MS)
            break;
        /* A client's back-off before it tries again, growing to 500 ms. */
        pause_ms(o->attempts < 10 ? 50 * o->attempts : 500);
    }
    if (o->status == 0 || o->status == 409 || o->status >= 500)
        o->status = o->status ? -o->status : -1; /* negative: never got a final answer */
}

/* Sends a 2xx op's request once more (retrying transient failures like op_run) and checks
 * that the stored answer comes back: same status, same body, Idempotent-Replayed: true. */
static void op_replay(const struct run *r, struct op *o)
{
    char auth[2200], idem[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", users[o->from].token);
    snprintf(idem, sizeof idem, "Idempotency-Key: %s", o->key);
    const char *hdrs[] = {auth, idem, NULL};
    int64_t start = ft_now_ms();
    o->replay_checked = 1;
    for (int attempt = 1;; attempt++) {
        struct ft_http_resp resp;
        ft_http("POST", r->url, hdrs, o->body, strlen(o->body), BANK_ATTEMPT_MS, &resp);
        long s = resp.status;
        o->replay_status = s;
        if (s != 0 && s != 409 && s < 500) {
            char *rep = ft_http_header(&resp, "Idempotent-Replayed");
            char *id = e2e_json_str(resp.body, "id");
            if (s != o->status)
                snprintf(o->replay_why, sizeof o->replay_why, "status %ld, first %ld", s,
                         o->status);
            else if (!id || !o->txn_id || strcmp(id, o->txn_id) != 0)
                snprintf(o->replay_why, sizeof o->replay_why, "txn id %s, first %s",
                         id ? id : "(none)", o->txn_id ? o->txn_id : "(none)");
            else if (strcmp(resp.body, o->txn_body) != 0)
                snprintf(o->replay_why, sizeof o->replay_why, "same id, another body");
            else if (!rep || strcmp(rep, "true") != 0)
                snprintf(o->replay_why, sizeof o->replay_why, "no Idempotent-Replayed: true");
            else
                o->replay_ok = 1;
            free(rep);
            free(id);
            ft_http_resp_free(&resp);
            return;
        }
        ft_http_resp_free(&resp);
        if (ft_now_ms() - start > BANK_OP_BUDGET_MS) {
            snprintf(o->replay_why, sizeof o->replay_why, "no final answer (last %ld)", s);
            return;
        }
        pause_ms(attempt < 10 ? 50 * attempt : 500);
    }
}

static int replay_wanted(const struct op *o, int index)
{
    return o->status >= 200 && o->status < 300 &&
           (o->attempts > 1 || index % BANK_REPLAY_EVERY == 0);
}

static void *client_main(void *arg)
{
    struct run *r = arg;
    for (;;) {
        if (atomic_load(&r->stop))
            break;
        int i = atomic_fetch_add(&r->next, 1);
        if (i >= r->nops)
            break;
        struct op *o = &r->ops[i];
        if (r->replay) {
            if (replay_wanted(o, i))
                op_replay(r, o);
            continue;
        }
        wait_for_round(i, r->nops, r->accounts_url, o->from);
        op_run(r, o);
        if (o->status < 0 || ft_now_ms() - r->started_ms > BANK_RUN_BUDGET_MS)
            atomic_store(&r->stop, 1);
    }
    return NULL;
}

/* Runs r->ops on BANK_THREADS client threads. */
static void run_clients(struct run *r)
{
    pthread_t th[BANK_THREADS];
    atomic_store(&r->next, 0);
    atomic_store(&r->stop, 0);
    r->started_ms = ft_now_ms();
    for (int t = 0; t < BANK_THREADS; t++)
        if (pthread_create(&th[t], NULL, client_main, r) != 0)
            abort();
    for (int t = 0; t < BANK_THREADS; t++)
        pthread_join(th[t], NULL);
}

/* ---- setup ---- */

static void register_user(int i)
{
    char id[PROTO_UUID_LEN + 1], body[256];
    proto_uuid_v4(id);
    snprintf(body, sizeof body,
             "{\"email\":\"bank-%.8s-%02d@example.com\",\"password\":\"a long passphrase\","
             "\"full_name\":\"Bank User %02d\"}",
             id, i, i);
    struct ft_http_resp r;
    ft_http("POST", e2e_url(&st, "/api/auth/register"), NULL, body, strlen(body), 10000, &r);
    CU_ASSERT_EQUAL(r.status, 201);
    users[i].token = e2e_json_str(r.body, "ft_token");
    users[i].id = e2e_json_str(r.body, "user\":{\"id");
    ft_http_resp_free(&r);
    CU_ASSERT_FATAL(users[i].token && users[i].id);
}

/* The sum of the "balance" numbers of GET /api/accounts for user i, in minor units, or -1. */
static int64_t api_balance(int i)
{
    char auth[2200];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", users[i].token);
    const char *hdrs[] = {auth, NULL};
    struct ft_http_resp r;
    ft_http("GET", e2e_url(&st, "/api/accounts"), hdrs, NULL, 0, 10000, &r);
    int64_t sum = r.status == 200 ? 0 : -1;
    for (const char *p = r.body; sum >= 0 && (p = strstr(p, "\"balance\":")) != NULL;) {
        p += strlen("\"balance\":");
        if (*p == '"')
            p++;
        size_t n = strspn(p, "-0123456789.");
        int64_t v;
        if (proto_money_parse(p, n, 2, &v) != 0)
            sum = -1;
        else
            sum += v;
        p += n;
    }
    ft_http_resp_free(&r);
    return sum;
}

/* ---- database checks ---- */

/* The single integer a query answers, or INT64_MIN after saying why. */
static int64_t q_int(PGconn *db, const char *sql, int nparams, const char *const *params)
{
    PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL, NULL, 0);
    int64_t v = INT64_MIN;
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1 || PQnfields(res) != 1)
        fprintf(stderr, "bank: query failed: %s\n  %s\n", PQresultErrorMessage(res), sql);
    else
        v = PQgetisnull(res, 0, 0) ? 0 : strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

/* Runs a check that must answer 0 and says which one failed. */
static void expect_zero(PGconn *db, const char *what, const char *sql, int nparams,
                        const char *const *params)
{
    int64_t v = q_int(db, sql, nparams, params);
    if (v != 0)
        fprintf(stderr, "bank: FAILED %s: %" PRId64 "\n", what, v);
    CU_ASSERT_EQUAL(v, 0);
}

static void check_books(PGconn *db, const char *user_ids, const char *key_like)
{
    const char *u[] = {user_ids};
    const char *k[] = {key_like};
    expect_zero(db, "all entries sum to 0", "SELECT sum(amount) FROM ledger.entries", 0, NULL);
    expect_zero(db, "transfers whose entries do not sum to 0",
                "SELECT count(*) FROM (SELECT transfer_id FROM ledger.entries GROUP BY transfer_id"
                " HAVING sum(amount) <> 0) t",
                0, NULL);
    expect_zero(db, "currencies whose account balances do not sum to 0",
                "SELECT count(*) FROM (SELECT currency FROM ledger.accounts GROUP BY currency"
                " HAVING sum(balance) <> 0) c",
                0, NULL);
    expect_zero(db, "user accounts with a negative balance",
                "SELECT count(*) FROM ledger.accounts WHERE owner IS NOT NULL AND balance < 0", 0,
                NULL);
    expect_zero(
        db, "entries leaving a user account negative",
        "SELECT count(*) FROM ledger.entries e JOIN ledger.accounts a ON a.id = e.account_id"
        " WHERE a.owner IS NOT NULL AND e.balance_after < 0",
        0, NULL);
    expect_zero(db, "our accounts whose balance is not the sum of their entries",
                "SELECT count(*) FROM ledger.accounts a LEFT JOIN (SELECT account_id, sum(amount) s"
                " FROM ledger.entries GROUP BY account_id) e ON e.account_id = a.id"
                " WHERE a.owner = ANY($1::uuid[]) AND a.balance <> coalesce(e.s, 0)",
                1, u);
    expect_zero(db, "our entries whose balance_after is not the running sum",
                "SELECT count(*) FROM (SELECT e.balance_after, sum(e.amount) OVER (PARTITION BY"
                " e.account_id ORDER BY e.seq) run FROM ledger.entries e JOIN ledger.accounts a"
                " ON a.id = e.account_id WHERE a.owner = ANY($1::uuid[])) x"
                " WHERE balance_after <> run",
                1, u);
    expect_zero(db, "keys of this run on more than one transfer",
                "SELECT count(*) FROM (SELECT idem_key FROM ledger.transfers WHERE idem_key LIKE $1"
                " GROUP BY idem_key HAVING count(*) > 1) d",
                1, k);
}

/* Every key: at most one transfer; exactly one, with the client's txn id, after a 2xx;
 * none after a final 4xx (money must not move when the client was told it did not). */
static void check_keys(PGconn *db, const struct op *ops, int nops, const char *key_like)
{
    const char *k[] = {key_like};
    PGresult *res = PQexecParams(db,
                                 "SELECT idem_key, count(*), min(id::text) FROM ledger.transfers"
                                 " WHERE idem_key LIKE $1 GROUP BY idem_key",
                                 1, NULL, k, NULL, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(PQresultStatus(res), PGRES_TUPLES_OK);
    int rows = PQntuples(res), missing = 0, wrong_id = 0, moved_on_4xx = 0, dup = 0, found = 0;
    /* Keys are "bank-<run>-NNNNN": the index is the number after the last dash. */
    char *seen = calloc((size_t)nops, 1);
    for (int i = 0; i < rows; i++) {
        const char *key = PQgetvalue(res, i, 0);
        const char *dash = strrchr(key, '-');
        int idx = dash ? atoi(dash + 1) : -1;
        if (idx < 0 || idx >= nops || strcmp(ops[idx].key, key) != 0)
            continue; /* the initial deposits use another key series */
        found++;
        seen[idx] = 1;
        const struct op *o = &ops[idx];
        if (atoi(PQgetvalue(res, i, 1)) != 1)
            dup++;
        if (o->status >= 200 && o->status < 300) {
            if (!o->txn_id || strcmp(o->txn_id, PQgetvalue(res, i, 2)) != 0) {
                if (wrong_id++ < 5)
                    fprintf(stderr, "bank: key %s: client saw txn %s, the ledger has %s\n", key,
                            o->txn_id ? o->txn_id : "(none)", PQgetvalue(res, i, 2));
            }
        } else if (o->status >= 400 && o->status < 500) {
            if (moved_on_4xx++ < 5)
                fprintf(stderr, "bank: key %s: final %ld %s, yet transfer %s exists\n", key,
                        o->status, o->code, PQgetvalue(res, i, 2));
        }
    }
    PQclear(res);
    for (int i = 0; i < nops; i++)
        if (ops[i].status >= 200 && ops[i].status < 300 && !seen[i] && missing++ < 5)
            fprintf(stderr, "bank: key %s got %ld (txn %s) but no transfer has it\n", ops[i].key,
                    ops[i].status, ops[i].txn_id ? ops[i].txn_id : "(none)");
    free(seen);
    if (missing || wrong_id || moved_on_4xx || dup)
        fprintf(stderr,
                "bank: FAILED keys: %d transfers found, %d 2xx without transfer, %d with another"
                " id, %d 4xx with a transfer, %d on several transfers\n",
                found, missing, wrong_id, moved_on_4xx, dup);
    CU_ASSERT_EQUAL(missing, 0);
    CU_ASSERT_EQUAL(wrong_id, 0);
    CU_ASSERT_EQUAL(moved_on_4xx, 0);
    CU_ASSERT_EQUAL(dup, 0);
}

/* ---- the test ---- */

/* "code=n ..." of the final 4xx answers, into buf. */
static void codes_summary(const struct op *ops, int nops, char *buf, size_t size)
{
    char codes[16][96];
    int counts[16] = {0}, n = 0;
    for (int i = 0; i < nops; i++) {
        if (ops[i].status < 400 || ops[i].status >= 500)
            continue;
        char c[96];
        snprintf(c, sizeof c, "%ld:%s", ops[i].status, ops[i].code);
        int j = 0;
        while (j < n && strcmp(codes[j], c) != 0)
            j++;
        if (j == n && n < 16)
            snprintf(codes[n++], sizeof codes[0], "%s", c);
        if (j < n)
            counts[j]++;
    }
    size_t o = 0;
    buf[0] = '\0';
    for (int j = 0; j < n && o < size; j++)
        o += (size_t)snprintf(buf + o, size - o, "%s%s=%d", j ? " " : "", codes[j], counts[j]);
}

static void test_e2e_bank_books_balance_while_workers_die(void)
{
    char uuid[PROTO_UUID_LEN + 1];
    proto_uuid_v4(uuid);
    snprintf(run_id, sizeof run_id, "%.8s%.4s", uuid, uuid + 9);
    uint64_t seed = strtoull(ft_env("BANK_SEED", "0"), NULL, 10);
    if (!seed)
        seed = (uint64_t)time(NULL) ^ (uint64_t)ft_now_ms();
    fprintf(stderr, "bank: run %s, BANK_SEED=%" PRIu64 "\n", run_id, seed);
    uint64_t rng = seed;

    for (int i = 0; i < BANK_USERS; i++)
        register_user(i);

    /* Initial deposits, before the chaos, through the same client code. */
    struct run r = {0};
    snprintf(r.url, sizeof r.url, "http://127.0.0.1:%d/api/transactions/", st.port);
    snprintf(r.accounts_url, sizeof r.accounts_url, "http://127.0.0.1:%d/api/accounts", st.port);
    struct op init[BANK_USERS];
    memset(init, 0, sizeof init);
    for (int i = 0; i < BANK_USERS; i++) {
        init[i].type = OP_DEPOSIT;
        init[i].from = i;
        init[i].cents = BANK_INITIAL_CENTS;
        op_prepare(&init[i], i, 0);
        init[i].key[4] = 'i'; /* "banki-...": not in the operations' key series */
        op_run(&r, &init[i]);
        CU_ASSERT_EQUAL(init[i].status, 201);
        if (init[i].status != 201)
            fprintf(stderr, "bank: initial deposit of user %d: %ld %s\n", i, init[i].status,
                    init[i].code);
        else
            users[i].expect_cents = BANK_INITIAL_CENTS;
        free(init[i].txn_id);
        free(init[i].txn_body);
    }
    CU_ASSERT_FATAL(CU_get_number_of_failures() == 0);

    struct op *ops = calloc(BANK_OPS, sizeof *ops);
    CU_ASSERT_FATAL(ops != NULL);
    for (int i = 0; i < BANK_OPS; i++) {
        struct op *o = &ops[i];
        uint64_t t = rng_next(&rng) % 100;
        o->type = t < 30 ? OP_DEPOSIT : t < 65 ? OP_WITHDRAWAL : OP_TRANSFER;
        o->from = (int)(rng_next(&rng) % BANK_USERS);
        o->to = (o->from + 1 + (int)(rng_next(&rng) % (BANK_USERS - 1))) % BANK_USERS;
        o->cents = rng_cents(&rng, o->type == OP_DEPOSIT      ? 50000
                                   : o->type == OP_WITHDRAWAL ? 50000
                                                              : 30000);
        op_prepare(o, i, (int)(rng_next(&rng) & 1));
        if (i % BANK_IMPATIENT_EVERY == 3)
            o->first_ms = 1 + (int)(rng_next(&rng) % 40);
    }

    r.ops = ops;
    r.nops = BANK_OPS;
    pthread_t chaos_th;
    CU_ASSERT_FATAL(pthread_create(&chaos_th, NULL, chaos_main, NULL) == 0);
    run_clients(&r);
    int64_t wall_ms = ft_now_ms() - r.started_ms;
    pthread_mutex_lock(&chaos.mu);
    chaos.done = 1;
    pthread_cond_signal(&chaos.cv);
    pthread_mutex_unlock(&chaos.mu);
    pthread_join(chaos_th, NULL);

    /* The summary. */
    int n2xx = 0, n4xx = 0, unfinished = 0, notrun = 0, retries = 0, replayed = 0;
    int causes[RC_N] = {0};
    for (int i = 0; i < BANK_OPS; i++) {
        const struct op *o = &ops[i];
        if (o->attempts == 0)
            notrun++;
        else if (o->status >= 200 && o->status < 300)
            n2xx++;
        else if (o->status >= 400 && o->status < 500)
            n4xx++;
        else
            unfinished++;
        retries += o->attempts > 1 ? o->attempts - 1 : 0;
        replayed += o->replayed;
        for (int c = 0; c < RC_N; c++)
            causes[c] += o->causes[c];
    }
    char codes[512], why[256];
    codes_summary(ops, BANK_OPS, codes, sizeof codes);
    size_t w = 0;
    for (int c = 0; c < RC_N; c++)
        w += (size_t)snprintf(why + w, sizeof why - w, "%s%s=%d", c ? " " : "", cause_names[c],
                              causes[c]);
    int done = BANK_OPS - notrun, redelivered = count_redelivered();
    fprintf(stderr,
            "bank: ops=%d 2xx=%d 4xx=%d [%s] unfinished=%d not_run=%d retries=%d [%s]"
            " replayed_2xx=%d kills=%d redelivered=%d wall=%.1fs ops/s=%.1f\n",
            done, n2xx, n4xx, codes, unfinished, notrun, retries, why, replayed, chaos.kills,
            redelivered, (double)wall_ms / 1000.0,
            wall_ms > 0 ? done * 1000.0 / (double)wall_ms : 0.0);

    /* Every op got a final answer, and the only refusal is a lack of funds. */
    CU_ASSERT_EQUAL(notrun, 0);
    CU_ASSERT_EQUAL(unfinished, 0);
    int other4xx = 0, shown = 0;
    for (int i = 0; i < BANK_OPS; i++) {
        const struct op *o = &ops[i];
        if (o->status >= 400 && o->status < 500 &&
            !(o->status == 422 && strcmp(o->code, "insufficient_funds") == 0) && other4xx++ < 5)
            fprintf(stderr, "bank: op %s (%s) answered %ld %s\n", o->key, o->body, o->status,
                    o->code);
        if (o->status < 0 && shown++ < 5)
            fprintf(stderr, "bank: op %s never got a final answer (last %ld)\n", o->key,
                    -o->status);
    }
    CU_ASSERT_EQUAL(other4xx, 0);
    CU_ASSERT(n2xx > BANK_OPS / 2);
    /* The chaos bit: workers died holding requests, which the other one then answered, and
     * clients did try again with the same key. */
    CU_ASSERT(chaos.kills >= BANK_MIN_KILLS);
    CU_ASSERT(redelivered > 0);
    CU_ASSERT(retries > 0);
    CU_ASSERT_EQUAL(chaos.self_exits, 0);
    CU_ASSERT_EQUAL(chaos.not_ready, 0);
    CU_ASSERT_EQUAL(chaos.spawn_failed, 0);

    /* Both workers serve again before the replays and the reads. */
    CU_ASSERT(wait_consuming(0) && wait_consuming(1));

    /* A replay of a 2xx returns the stored answer. */
    r.replay = 1;
    run_clients(&r);
    int replays = 0, replay_bad = 0;
    for (int i = 0; i < BANK_OPS; i++) {
        const struct op *o = &ops[i];
        if (!o->replay_checked)
            continue;
        replays++;
        if (!o->replay_ok && replay_bad++ < 5)
            fprintf(stderr, "bank: replay of %s: %s\n", o->key, o->replay_why);
    }
    fprintf(stderr, "bank: replayed %d 2xx requests, %d differed\n", replays, replay_bad);
    CU_ASSERT(replays > 0);
    CU_ASSERT_EQUAL(replay_bad, 0);

    /* Each user's balance is what the 2xx answers say (exact only if every op finished). */
    for (int i = 0; i < BANK_OPS; i++) {
        const struct op *o = &ops[i];
        if (o->status < 200 || o->status >= 300)
            continue;
        users[o->from].expect_cents += o->type == OP_DEPOSIT ? o->cents : -o->cents;
        if (o->type == OP_TRANSFER)
            users[o->to].expect_cents += o->cents;
    }
    int balance_bad = 0;
    for (int i = 0; i < BANK_USERS && unfinished == 0; i++) {
        int64_t got = api_balance(i);
        if (got != users[i].expect_cents && balance_bad++ < 5)
            fprintf(stderr,
                    "bank: user %d (%s): balance %" PRId64 ", the 2xx answers say %" PRId64 "\n", i,
                    users[i].id, got, users[i].expect_cents);
    }
    CU_ASSERT_EQUAL(balance_bad, 0);

    /* The books, with the admin connection. */
    PGconn *db = PQconnectdb(ft_env("PG_URL", ""));
    CU_ASSERT_EQUAL_FATAL(PQstatus(db), CONNECTION_OK);
    char ids[BANK_USERS * (PROTO_UUID_LEN + 1) + 3], like[64];
    size_t o = 0;
    ids[o++] = '{';
    for (int i = 0; i < BANK_USERS; i++)
        o += (size_t)snprintf(ids + o, sizeof ids - o, "%s%s", i ? "," : "", users[i].id);
    snprintf(ids + o, sizeof ids - o, "}");
    snprintf(like, sizeof like, "bank-%s-%%", run_id);
    check_books(db, ids, like);
    check_keys(db, ops, BANK_OPS, like);
    PQfinish(db);

    for (int i = 0; i < BANK_OPS; i++) {
        free(ops[i].txn_id);
        free(ops[i].txn_body);
    }
    free(ops);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    /* Before any thread: libcurl's global init is not thread-safe. */
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
        return 1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&chaos.cv, &ca);
    pthread_condattr_destroy(&ca);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_bank", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_bank_books_balance_while_workers_die",
                test_e2e_bank_books_balance_while_workers_die);
    rc = ft_cunit_run();
    curl_global_cleanup();
    return rc;
}
