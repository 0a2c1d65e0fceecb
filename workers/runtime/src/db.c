/*
 * libpq behind the runtime: one connection per process, reconnect with backoff,
 * lazily prepared statements, and BEGIN/COMMIT with serialization retries.
 * Every PGresult status is checked here; failures are logged (primary message
 * and SQLSTATE only: DETAIL lines may echo row values) and turned into NULL/WK_E*.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "proto/buf.h"
#include "proto/log.h"
#include "proto/status.h"
#include "proto/uuid.h"

#define DB_CONNECT_TIMEOUT "3"
#define DB_TX_ATTEMPTS     5
#define SQLSTATE_CONN_LOST "08006"

struct wk_db {
    PGconn *conn; /* NULL when down */
    char *url;
    char *app_name;
    int in_tx;
    char sqlstate[6];
    struct wk_backoff bo;
    const char **prepared; /* statement names prepared on this connection */
    size_t nprepared, cap;
    const struct wk_log *log; /* request id for log lines */
};

struct wk_db *wk_db_new(const char *url, const char *app_name, const struct wk_log *log)
{
    struct wk_db *db = proto_xcalloc(1, sizeof *db);
    db->url = proto_xstrdup(url);
    db->app_name = proto_xstrdup(app_name);
    db->log = log;
    return db;
}

static void db_drop(struct wk_db *db)
{
    if (db->conn)
        PQfinish(db->conn);
    db->conn = NULL;
    db->nprepared = 0;
    db->in_tx = 0;
}

void wk_db_free(struct wk_db *db)
{
    if (!db)
        return;
    db_drop(db);
    free(db->prepared);
    free(db->url);
    free(db->app_name);
    free(db);
}

int wk_db_up(const struct wk_db *db)
{
    return db->conn != NULL;
}

const char *wk_db_sqlstate(const struct wk_db *db)
{
    return db->sqlstate;
}

static int db_connect(struct wk_db *db)
{
    /* expand_dbname lets DATABASE_URL carry everything; we add a connect timeout so a
     * black-holed server cannot stall the loop for minutes. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {db->url, DB_CONNECT_TIMEOUT, db->app_name, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        const char *msg = c ? PQerrorMessage(c) : "out of memory";
        char line[256];
        size_t n = strcspn(msg, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(n < 255 ? n : 255), msg);
        int delay = wk_backoff_fail(&db->bo);
        PROTO_WARN(NULL, "database unreachable", "err=%s retry_ms=%d", proto_log_str(line), delay);
        if (c)
            PQfinish(c);
        return WK_EDBDOWN;
    }
    db->conn = c;
    db->nprepared = 0;
    wk_backoff_reset(&db->bo);
    PROTO_INFO(NULL, "database connected", NULL);
    return 0;
}

int wk_db_maintain(struct wk_db *db)
{
    if (db->conn && PQstatus(db->conn) != CONNECTION_OK) {
        PROTO_WARN(NULL, "database connection lost", NULL);
        db_drop(db);
    }
    if (!db->conn && wk_backoff_ready(&db->bo))
        db_connect(db);
    return db->conn != NULL;
}

/* Translates a finished result: keeps it on success, else logs, records the SQLSTATE,
 * notices a lost connection, clears it and returns NULL. */
static PGresult *db_check(struct wk_db *db, PGresult *res, const char *what)
{
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        db->sqlstate[0] = '\0';
        return res;
    }
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    int lost = PQstatus(db->conn) != CONNECTION_OK;
    snprintf(db->sqlstate, sizeof db->sqlstate, "%s",
             state ? state : (lost ? SQLSTATE_CONN_LOST : "XX000"));
    if (!primary) {
        const char *m = PQerrorMessage(db->conn);
        primary = m && *m ? m : PQresStatus(st);
    }
    char line[256];
    size_t n = strcspn(primary, "\n");
    snprintf(line, sizeof line, "%.*s", (int)(n < 255 ? n : 255), primary);
    if (strcmp(db->sqlstate, "40001") == 0 || strcmp(db->sqlstate, "40P01") == 0)
        PROTO_INFO(wk_log_id(db->log), "statement failed, will retry", "stmt=%s sqlstate=%s err=%s",
                   proto_log_str(what), db->sqlstate, proto_log_str(line));
    else
        PROTO_ERROR(wk_log_id(db->log), "statement failed", "stmt=%s sqlstate=%s err=%s",
                    proto_log_str(what), db->sqlstate, proto_log_str(line));
    if (res)
        PQclear(res);
    if (lost) {
        PROTO_WARN(wk_log_id(db->log), "database connection lost", NULL);
        db_drop(db);
        snprintf(db->sqlstate, sizeof db->sqlstate, "%s", SQLSTATE_CONN_LOST);
    }
    return NULL;
}

PGresult *wk_db_exec(struct wk_db *db, const char *sql, int nparams, const char *const *params)
{
    if (!db->conn) {
        snprintf(db->sqlstate, sizeof db->sqlstate, "%s", SQLSTATE_CONN_LOST);
        return NULL;
    }
    PGresult *res = PQexecParams(db->conn, sql, nparams, NULL, params, NULL, NULL, 0);
    /* Log the statement's first words only: enough to find it, never the parameters. */
    char what[48];
    snprintf(what, sizeof what, "%s", sql);
    return db_check(db, res, what);
}

static int is_prepared(const struct wk_db *db, const char *name)
{
    for (size_t i = 0; i < db->nprepared; i++)
        if (strcmp(db->prepared[i], name) == 0)
            return 1;
    return 0;
}

PGresult *wk_db_exec_prepared(struct wk_db *db, const char *name, const char *sql, int nparams,
                              const char *const *params)
{
    if (!db->conn) {
        snprintf(db->sqlstate, sizeof db->sqlstate, "%s", SQLSTATE_CONN_LOST);
        return NULL;
    }
    if (!is_prepared(db, name)) {
        /* Protocol-level prepares survive a ROLLBACK, so once per connection is enough. */
        PGresult *p = db_check(db, PQprepare(db->conn, name, sql, nparams, NULL), name);
        if (!p)
            return NULL;
        PQclear(p);
        if (db->nprepared == db->cap) {
            db->cap = db->cap ? db->cap * 2 : 16;
            db->prepared = proto_xrealloc(db->prepared, db->cap * sizeof *db->prepared);
        }
        db->prepared[db->nprepared++] = name;
    }
    PGresult *res = PQexecPrepared(db->conn, name, nparams, params, NULL, NULL, 0);
    return db_check(db, res, name);
}

char *wk_db_bytea_text(const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *in = data;
    char *out = proto_xmalloc(2 * len + 3);
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = digits[in[i] >> 4];
        out[3 + 2 * i] = digits[in[i] & 15];
    }
    out[2 + 2 * len] = '\0';
    return out;
}

long wk_db_affected(PGresult *res)
{
    const char *t = res ? PQcmdTuples(res) : "";
    return *t ? strtol(t, NULL, 10) : 0;
}

int wk_db_ping(struct wk_db *db)
{
    if (!wk_db_maintain(db))
        return 0;
    PGresult *r = wk_db_exec(db, "SELECT 1", 0, NULL);
    if (!r)
        return 0;
    PQclear(r);
    return 1;
}

void wk_db_end_stray_tx(struct wk_db *db)
{
    if (!db->conn || PQtransactionStatus(db->conn) == PQTRANS_IDLE)
        return;
    PROTO_ERROR(wk_log_id(db->log), "handler left a transaction open, rolling back", NULL);
    PGresult *r = wk_db_exec(db, "ROLLBACK", 0, NULL);
    if (r)
        PQclear(r);
}

static int is_retryable(const char *state)
{
    return strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0;
}

/* Runs a statement that returns no rows; 0 or WK_EDB/WK_EDBDOWN. */
static int db_command(struct wk_db *db, const char *sql)
{
    PGresult *r = wk_db_exec(db, sql, 0, NULL);
    if (!r)
        return db->conn ? WK_EDB : WK_EDBDOWN;
    PQclear(r);
    return 0;
}

/* The outermost transaction with its retries; 0 only after a COMMIT that committed. */
static int db_tx_attempts(struct wk_ctx *ctx, wk_tx_fn fn, void *arg)
{
    struct wk_db *db = ctx->db;
    for (int attempt = 1;; attempt++) {
        if (!db->conn)
            return WK_EDBDOWN;
        /* Frames a failed attempt queued describe changes that never happened. */
        wk_live_discard(ctx);
        int rc = db_command(db, "BEGIN");
        if (rc != 0)
            return rc;
        db->in_tx = 1;
        rc = fn(ctx, arg);
        db->in_tx = 0;
        char state[6];
        if (rc == 0) {
            PGresult *r = wk_db_exec(db, "COMMIT", 0, NULL);
            if (r) {
                /* COMMIT of a transaction that already failed reports "ROLLBACK". */
                int committed = strcmp(PQcmdStatus(r), "COMMIT") == 0;
                PQclear(r);
                if (committed)
                    return 0;
                PROTO_ERROR(wk_log_id(db->log), "transaction was rolled back at commit", "hint=%s",
                            proto_log_str("a statement failed but fn returned 0"));
                return WK_EDB;
            }
            if (!db->conn)
                return WK_EDBDOWN;
            snprintf(state, sizeof state, "%s", db->sqlstate);
            rc = WK_EDB;
        } else {
            snprintf(state, sizeof state, "%s", db->sqlstate);
            if (db->conn)
                db_command(db, "ROLLBACK");
            if (!db->conn)
                return WK_EDBDOWN;
        }
        if (!is_retryable(state))
            return rc;
        if (attempt >= DB_TX_ATTEMPTS) {
            PROTO_WARN(wk_log_id(db->log), "transaction retries exhausted",
                       "attempts=%d sqlstate=%s", attempt, state);
            return WK_ESERIAL;
        }
        if (ctx->cur_reply)
            wk_reply_reset(ctx->cur_reply);
        /* 5..20 ms times the attempt number, jittered, so two colliding
         * transactions do not collide again in lockstep. */
        int ms = attempt * (5 + (int)wk_rand(16));
        struct timespec ts = {0, (long)ms * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int wk_db_tx(struct wk_ctx *ctx, wk_tx_fn fn, void *arg)
{
    if (ctx->tx_open || ctx->db->in_tx)
        return fn(ctx, arg);
    ctx->tx_open = 1;
    int rc = db_tx_attempts(ctx, fn, arg);
    ctx->tx_open = 0;
    /* Live frames go out only once what they announce is committed (wk_live_after_commit). */
    if (rc == 0)
        wk_live_flush(ctx);
    else
        wk_live_discard(ctx);
    return rc;
}

int wk_db_pin_index_scans(struct wk_ctx *ctx)
{
    /* set_config(..., true) is SET LOCAL: the settings end with the transaction. */
    PGresult *r = wk_db_exec(ctx->db,
                             "SELECT set_config('enable_seqscan', 'off', true), "
                             "set_config('enable_bitmapscan', 'off', true)",
                             0, NULL);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}

struct wk_db *wk_db(struct wk_ctx *ctx)
{
    return ctx->db;
}

int wk_db_fail(struct wk_ctx *ctx)
{
    return wk_db_up(ctx->db) ? WK_EDB : WK_EDBDOWN;
}

void wk_outbox_written(struct wk_ctx *ctx)
{
    ctx->outbox_written = 1;
}

int wk_outbox_add(struct wk_ctx *ctx, const char *type, const char *user, const char *data_json)
{
    if (!ctx->sql_outbox_insert)
        return PROTO_EINVAL;
    char id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(id) != 0)
        return PROTO_EIO;
    const char *params[] = {id, type, user, data_json};
    PGresult *r =
        wk_db_exec_prepared(ctx->db, "wk_outbox_insert", ctx->sql_outbox_insert, 4, params);
    if (!r)
        return ctx->db->conn ? WK_EDB : WK_EDBDOWN;
    PQclear(r);
    ctx->outbox_written = 1;
    return 0;
}
