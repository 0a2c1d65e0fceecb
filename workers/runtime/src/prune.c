/*
 * Retention of a worker's event tables (sql/001, indexes in sql/008): sent outbox rows
 * older than WK_OUTBOX_KEEP_HOURS and inbox ids older than WK_INBOX_KEEP_DAYS are deleted,
 * oldest first and a bounded batch per statement, from the main loop (run.c): once a minute,
 * or every second while a table has more expired rows than one call deletes (a backlog
 * after an upgrade, or more events than a minute's batches hold). A call runs at most
 * PRUNE_BATCHES short transactions per table, so it holds up the worker's requests for
 * milliseconds, not for the whole backlog. Without it both tables grew by a row per event
 * forever. Sent rows are kept a while so an operator can see what was published; an id
 * stays in the inbox long enough to dedupe any late copy (see sql/008 for when one can
 * arrive).
 */
#include <libpq-fe.h>
#include <stdio.h>

#include "internal.h"
#include "proto/buf.h"
#include "proto/log.h"

#define PRUNE_ROWS      1000  /* rows one statement deletes at most */
#define PRUNE_BATCHES   4     /* statements one call runs at most per table */
#define PRUNE_PERIOD_MS 60000 /* between calls when nothing was left behind */
#define PRUNE_BEHIND_MS 1000  /* between calls while a table has a backlog */

struct prune_batch {
    const char *stmt; /* prepared statement name */
    const char *sql;
    int keep;  /* hours or days, as the statement reads it */
    long rows; /* deleted */
};

/* The tables' statistics lag their churn (relay.c says how that went wrong there), so the
 * statement is pinned to the index it was written for. */
static int prune_tx(struct wk_ctx *ctx, void *arg)
{
    struct prune_batch *b = arg;
    int rc = wk_db_pin_index_scans(ctx);
    if (rc != 0)
        return rc;
    char keep[16], limit[16];
    snprintf(keep, sizeof keep, "%d", b->keep);
    snprintf(limit, sizeof limit, "%d", PRUNE_ROWS);
    const char *params[] = {keep, limit};
    PGresult *r = wk_db_exec_prepared(ctx->db, b->stmt, b->sql, 2, params);
    if (!r)
        return wk_db_fail(ctx);
    b->rows = wk_db_affected(r);
    PQclear(r);
    return 0;
}

/* 1 when the table may hold more expired rows (its last statement deleted a full batch). */
static int prune_table(struct wk_ctx *ctx, const char *table, const char *stmt, const char *sql,
                       int keep)
{
    long total = 0;
    int behind = 0;
    int64_t started = proto_mono_ms();
    for (int k = 0; k < PRUNE_BATCHES; k++) {
        struct prune_batch b = {stmt, sql, keep, 0};
        int rc = wk_db_tx(ctx, prune_tx, &b);
        if (rc != 0) {
            PROTO_WARN(NULL, "prune failed, the next period retries", "table=%s err=%d", table, rc);
            behind = 0;
            break;
        }
        total += b.rows;
        behind = b.rows == PRUNE_ROWS;
        if (!behind)
            break;
    }
    if (total > 0)
        PROTO_DEBUG(NULL, "pruned", "table=%s rows=%ld ms=%lld more=%d", table, total,
                    (long long)(proto_mono_ms() - started), behind);
    return behind;
}

void wk_prune_build_sql(struct wk_ctx *ctx)
{
    const char *s = ctx->schema; /* a validated identifier from code, never user input */
    struct proto_buf b = {0};
    proto_buf_printf(&b,
                     "DELETE FROM %s.outbox WHERE id = ANY (ARRAY(SELECT id FROM %s.outbox"
                     " WHERE sent_at < now() - make_interval(hours => $1::int)"
                     " ORDER BY sent_at LIMIT $2::int))",
                     s, s);
    ctx->sql_outbox_prune = b.data;
    b = (struct proto_buf){0};
    proto_buf_printf(&b,
                     "DELETE FROM %s.inbox WHERE event_id = ANY (ARRAY(SELECT event_id"
                     " FROM %s.inbox WHERE received_at < now() - make_interval(days => $1::int)"
                     " ORDER BY received_at LIMIT $2::int))",
                     s, s);
    ctx->sql_inbox_prune = b.data;
}

void wk_prune_run(struct wk_ctx *ctx, int consumes_events)
{
    int behind = prune_table(ctx, "outbox", "wk_outbox_prune", ctx->sql_outbox_prune,
                             ctx->outbox_keep_hours);
    if (consumes_events)
        behind |=
            prune_table(ctx, "inbox", "wk_inbox_prune", ctx->sql_inbox_prune, ctx->inbox_keep_days);
    ctx->prune_next_ms = proto_mono_ms() + (behind ? PRUNE_BEHIND_MS : PRUNE_PERIOD_MS);
}
