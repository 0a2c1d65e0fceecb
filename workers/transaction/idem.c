/*
 * Idempotency records (ledger.idempotency); see ledger.h.
 *
 * The record is claimed in the same transaction as the posting and completed with the
 * reply before that transaction commits, so the effect and its stored answer commit or
 * vanish together: a crash before commit leaves nothing to replay (the retry runs again),
 * a crash after commit (before the ack) replays. A concurrent duplicate's INSERT blocks
 * on the primary key until the holder commits, then finds the record done and replays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger.h"
#include "proto/buf.h"
#include "proto/log.h"
#include "proto/status.h"

/* Records older than this are expired: ignored, reused, and deleted in small batches. */
#define IDEM_TTL    "7 days"
#define SWEEP_EVERY 64    /* claims between two opportunistic sweeps */
#define SWEEP_BATCH "200" /* rows one sweep deletes at most */

int ledger_idem_prepare(struct ledger_idem *id, const struct proto_request *req,
                        const msgpack_object *body)
{
    if (req->idem[0])
        snprintf(id->key, sizeof id->key, "k:%s", req->idem);
    else
        snprintf(id->key, sizeof id->key, "r:%s", req->id);
    return proto_request_hash(req->method, body, id->hash);
}

/* Deletes a bounded batch of expired records; a failure only delays the cleanup, but it
 * aborts the transaction, so it runs in a savepoint. ledger.idem_sweep (sql/007) deletes
 * by ctid (a TID scan) with its plan pinned to the indexes: the old `(user_id, key) IN
 * (...)` form was planned as a join over the whole table, and the statement sent as is
 * was planned from stale statistics as two sequential scans (~6 ms a sweep under the
 * ledger benchmark). */
static int sweep(struct wk_ctx *ctx)
{
    static unsigned calls;
    if (++calls % SWEEP_EVERY != 0)
        return 0;
    PGresult *r = wk_db_exec(wk_db(ctx), "SAVEPOINT idem_sweep", 0, NULL);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    const char *p[] = {IDEM_TTL, SWEEP_BATCH};
    r = wk_db_exec_prepared(wk_db(ctx), "idem_sweep", "SELECT ledger.idem_sweep($1, $2)", 2, p);
    const char *end = r ? "RELEASE SAVEPOINT idem_sweep" : "ROLLBACK TO SAVEPOINT idem_sweep";
    if (r)
        PQclear(r);
    else if (!wk_db_up(wk_db(ctx)))
        return WK_EDBDOWN;
    r = wk_db_exec(wk_db(ctx), end, 0, NULL);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}

/* ledger_idem_begin with the request hash as bytea text. */
static int idem_begin(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id,
                      const char *hash, struct wk_reply *rep)
{
    int rc = sweep(ctx);
    if (rc < 0)
        return rc;
    const char *p[] = {user, id->key, hash};
    PGresult *r =
        wk_db_exec_prepared(wk_db(ctx), "idem_claim",
                            "INSERT INTO ledger.idempotency (user_id, key, request_hash, state) "
                            "VALUES ($1, $2, $3, 'in_flight') ON CONFLICT DO NOTHING RETURNING 1",
                            3, p);
    if (!r)
        return wk_db_fail(ctx);
    int claimed = PQntuples(r) == 1;
    PQclear(r);
    if (claimed)
        return LEDGER_IDEM_NEW;

    /* Taken, and its holder has committed (the INSERT waited for it). FOR UPDATE keeps a
     * sweep from deleting it under us and serialises the expired-reuse below. */
    r = wk_db_exec_prepared(wk_db(ctx), "idem_get",
                            "SELECT request_hash = $3, state, status, body, "
                            "created_at < now() - interval '" IDEM_TTL "', error_code "
                            "FROM ledger.idempotency WHERE user_id = $1 AND key = $2 FOR UPDATE",
                            3, p);
    if (!r)
        return wk_db_fail(ctx);
    if (PQntuples(r) != 1) {
        /* Swept between our INSERT and SELECT (it had expired): the client retries. */
        PQclear(r);
        return wk_reply_error(rep, 409, "idempotency_key_in_flight",
                              "A request with this Idempotency-Key is being processed; retry.");
    }
    int same = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    int done = strcmp(PQgetvalue(r, 0, 1), "done") == 0;
    int expired = strcmp(PQgetvalue(r, 0, 4), "t") == 0;
    if (expired) {
        PQclear(r);
        r = wk_db_exec_prepared(wk_db(ctx), "idem_reuse",
                                "UPDATE ledger.idempotency SET request_hash = $3, "
                                "state = 'in_flight', status = NULL, body = NULL, headers = NULL, "
                                "transfer_id = NULL, error_code = NULL, created_at = now() "
                                "WHERE user_id = $1 AND key = $2",
                                3, p);
        if (!r)
            return wk_db_fail(ctx);
        PQclear(r);
        return LEDGER_IDEM_NEW;
    }
    if (!same) {
        PQclear(r);
        wk_reply_error(rep, 422, "idempotency_key_reused",
                       "This Idempotency-Key was already used with a different request.");
        return LEDGER_IDEM_MISMATCH;
    }
    if (!done) {
        PQclear(r);
        wk_reply_error(rep, 409, "idempotency_key_in_flight",
                       "A request with this Idempotency-Key is being processed; retry.");
        return LEDGER_IDEM_IN_FLIGHT;
    }
    size_t len = 0;
    unsigned char *body = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 3), &len);
    int status = atoi(PQgetvalue(r, 0, 2));
    char code[PROTO_CODE_MAX + 1];
    int refused = !PQgetisnull(r, 0, 5);
    snprintf(code, sizeof code, "%s", PQgetvalue(r, 0, 5));
    PQclear(r);
    if (!body)
        return WK_EDB;
    if (refused)
        wk_reply_error(rep, status, code, "%.*s", (int)len, (const char *)body);
    else {
        wk_reply_raw(rep, (const char *)body, len);
        rep->status = status;
    }
    PQfreemem(body);
    wk_reply_header(rep, "Idempotent-Replayed", "true");
    PROTO_INFO(wk_request_id(ctx), "idempotent replay", "user=%s", user);
    return LEDGER_IDEM_REPLAYED;
}

int ledger_idem_begin(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id,
                      struct wk_reply *rep)
{
    char *hash = wk_db_bytea_text(id->hash, LEDGER_HASH_LEN);
    int rc = idem_begin(ctx, user, id, hash, rep);
    free(hash);
    return rc;
}

/* Marks the in-flight record done with status and body (msgpack, or an error's message when
 * error_code is not NULL). 0 or a WK_E* code. */
static int store(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id, int status,
                 const char *body, size_t len, const char *transfer_id, const char *error_code)
{
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    char *hex = wk_db_bytea_text(body, len);
    const char *p[] = {user, id->key, st, hex, transfer_id, error_code};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "idem_store",
                                      "UPDATE ledger.idempotency SET state = 'done', status = $3, "
                                      "body = $4, transfer_id = $5, error_code = $6 "
                                      "WHERE user_id = $1 AND key = $2 AND state = 'in_flight'",
                                      6, p);
    free(hex);
    if (!r)
        return wk_db_fail(ctx);
    long n = wk_db_affected(r);
    PQclear(r);
    return n == 1 ? 0 : WK_EDB;
}

int ledger_idem_finish(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id,
                       int status, const char *body, size_t len, const char *transfer_id)
{
    return store(ctx, user, id, status, body, len, transfer_id, NULL);
}

int ledger_idem_claim(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id,
                      struct wk_reply *rep)
{
    int rc = ledger_idem_begin(ctx, user, id, rep);
    return rc < 0 ? rc : rc == LEDGER_IDEM_NEW ? 1 : 0;
}

int ledger_idem_settle(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id,
                       struct wk_reply *rep, int rc)
{
    if (rc != WK_EHANDLER || !wk_reply_is_error(rep) || rep->status < 400 || rep->status > 499)
        return rc;
    const char *msg = wk_reply_error_message(rep);
    rc = store(ctx, user, id, rep->status, msg, strlen(msg), NULL, wk_reply_error_code(rep));
    if (rc == 0)
        PROTO_INFO(wk_request_id(ctx), "refusal stored with its key", "user=%s code=%s", user,
                   wk_reply_error_code(rep));
    return rc;
}
