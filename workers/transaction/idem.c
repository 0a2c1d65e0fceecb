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

#define SWEEP_EVERY 64    /* claims between two opportunistic sweeps */
#define SWEEP_BATCH "200" /* rows one sweep deletes at most */

/* Deletes a bounded batch of expired records; a failure only delays the cleanup, but it
 * aborts the transaction, so it runs in a savepoint. ledger.idem_sweep (sql/007) deletes
 * by ctid (a TID scan) with its plan pinned to the indexes: the old `(user_id, key) IN
 * (...)` form was planned as a join over the whole table, and the statement sent as is
 * was planned from stale statistics as two sequential scans (~6 ms a sweep under the
 * ledger benchmark). */
int ledger_idem_sweep(struct wk_ctx *ctx, unsigned claims)
{
    static unsigned since;
    since += claims;
    if (since < SWEEP_EVERY)
        return 0;
    since = 0;
    PGresult *r = wk_db_exec(wk_db(ctx), "SAVEPOINT idem_sweep", 0, NULL);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    const char *p[] = {LEDGER_IDEM_TTL, SWEEP_BATCH};
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

void ledger_idem_answer(struct wk_reply *rep, const char *req_id, const char *user,
                        const char *claim, int status, const void *stored, size_t len,
                        const char *error_code)
{
    if (strcmp(claim, "mismatch") == 0) {
        wk_reply_error(rep, 422, "idempotency_key_reused",
                       "This Idempotency-Key was already used with a different request.");
        return;
    }
    if (strcmp(claim, "replay") != 0) {
        wk_reply_error(rep, 409, "idempotency_key_in_flight",
                       "A request with this Idempotency-Key is being processed; retry.");
        return;
    }
    if (error_code)
        wk_reply_error(rep, status, error_code, "%.*s", (int)len, (const char *)stored);
    else {
        wk_reply_raw(rep, stored, len);
        rep->status = status;
    }
    wk_reply_header(rep, "Idempotent-Replayed", "true");
    PROTO_INFO(req_id, "idempotent replay", "user=%s", user);
}

/* Through ledger.idem_claim (sql/012), which takes the request hash as bytea text. */
int ledger_idem_claim(struct wk_ctx *ctx, const char *user, const struct wk_idem *id,
                      struct wk_reply *rep)
{
    int rc = ledger_idem_sweep(ctx, 1);
    if (rc < 0)
        return rc;
    char *hash = wk_db_bytea_text(id->hash, sizeof id->hash);
    const char *p[] = {user, id->key, hash, LEDGER_IDEM_TTL};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "idem_claim",
        "SELECT claim, status, body, error_code FROM ledger.idem_claim($1, $2, $3, $4)", 4, p);
    free(hash);
    if (!r)
        return wk_db_fail(ctx);
    const char *claim = PQgetvalue(r, 0, 0);
    if (strcmp(claim, "new") == 0) {
        PQclear(r);
        return 1;
    }
    size_t len = 0;
    unsigned char *body = NULL;
    if (!PQgetisnull(r, 0, 2) &&
        !(body = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 2), &len))) {
        PQclear(r);
        return WK_EDB;
    }
    ledger_idem_answer(rep, wk_request_id(ctx), user, claim, atoi(PQgetvalue(r, 0, 1)), body,
                       len, PQgetisnull(r, 0, 3) ? NULL : PQgetvalue(r, 0, 3));
    PQclear(r);
    if (body)
        PQfreemem(body);
    return 0;
}

int ledger_idem_finish(struct wk_ctx *ctx, const char *user, const struct wk_idem *id, int status,
                       const char *body, size_t len, const char *transfer_id)
{
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    char *hex = wk_db_bytea_text(body, len);
    const char *p[] = {user, id->key, st, hex, transfer_id};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "idem_store",
                                      "UPDATE ledger.idempotency SET state = 'done', status = $3, "
                                      "body = $4, transfer_id = $5 "
                                      "WHERE user_id = $1 AND key = $2 AND state = 'in_flight'",
                                      5, p);
    free(hex);
    if (!r)
        return wk_db_fail(ctx);
    long n = wk_db_affected(r);
    PQclear(r);
    return n == 1 ? 0 : WK_EDB;
}
