/*
 * Retention of a worker's event tables (sql/001, indexes in sql/008): sent outbox rows
 * older than WK_OUTBOX_KEEP_HOURS and inbox ids older than WK_INBOX_KEEP_DAYS are deleted,
 * oldest first and a bounded batch per statement, once a minute from the main loop (run.c).
 * Without it both tables grew by a row per event forever. Sent rows are kept a while so an
 * operator can see what was published; an id stays in the inbox long enough to dedupe any
 * late copy (see sql/008 for when one can arrive).
 */
#include <libpq-fe.h>
#include <stdio.h>

#include "internal.h"
#include "proto/buf.h"
#include "proto/log.h"

#define PRUNE_ROWS    1000 /* rows one statement deletes at most */
#define PRUNE_BATCHES 10   /* statements one table's prune runs at most per period */

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
        return wk_db_up(ctx->db) ? WK_EDB : WK_EDBDOWN;
    b->rows = wk_db_affected(r);
    PQclear(r);
    return 0;
}

static void prune_table(struct wk_ctx *ctx, const char *table, const char *stmt, const char *sql,
                        int keep)
{
    long total = 0;
    for (int k = 0; k < PRUNE_BATCHES; k++) {
        struct prune_batch b = {stmt, sql, keep, 0};
        int rc = wk_db_tx(ctx, prune_tx, &b);
        if (rc != 0) {
            PROTO_WARN(NULL, "prune failed, the next period retries", "table=%s err=%d", table, rc);
            break;
        }
        total += b.rows;
        if (b.rows < PRUNE_ROWS)
            break;
    }
    if (total > 0)
        PROTO_INFO(NULL, "pruned", "table=%s rows=%ld", table, total);
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
    ctx->prune_next_ms = wk_mono_ms() + WK_PRUNE_PERIOD_MS;
    prune_table(ctx, "outbox", "wk_outbox_prune", ctx->sql_outbox_prune, ctx->outbox_keep_hours);
    if (consumes_events)
        prune_table(ctx, "inbox", "wk_inbox_prune", ctx->sql_inbox_prune, ctx->inbox_keep_days);
}
