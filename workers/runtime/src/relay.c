/*
 * Outbox relay: publishes rows of <schema>.outbox to ft.events on a separate
 * connection in confirm mode, then marks them sent, all in one transaction that
 * holds the rows (FOR UPDATE SKIP LOCKED, so several instances of a worker share
 * the work). A failure anywhere rolls back: the rows stay unsent and are published
 * again later, so delivery is at least once and consumers dedupe by event id.
 */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "proto/buf.h"
#include "proto/json.h"
#include "proto/log.h"
#include "proto/status.h"
#include "proto/topology.h"

#define RELAY_BATCH              100
#define RELAY_MAX_BATCHES        10
#define RELAY_CONFIRM_TIMEOUT_MS 5000

struct relay_batch {
    int rows;      /* rows selected */
    int published; /* messages sent to the broker */
};

/* Encodes one outbox row as an event envelope into out; 0 or a PROTO_E* code. */
static int encode_row(PGresult *res, int i, msgpack_sbuffer *out, msgpack_sbuffer *data)
{
    struct proto_event ev;
    memset(&ev, 0, sizeof ev);
    const char *id = PQgetvalue(res, i, 0);
    const char *type = PQgetvalue(res, i, 1);
    const char *user = PQgetvalue(res, i, 2);
    if (strlen(id) > PROTO_UUID_LEN || strlen(type) > PROTO_METHOD_MAX ||
        strlen(user) > PROTO_UUID_LEN)
        return PROTO_ELIMIT;
    strcpy(ev.id, id);
    strcpy(ev.type, type);
    strcpy(ev.user, user);
    ev.at_ms = strtoll(PQgetvalue(res, i, 3), NULL, 10);

    msgpack_packer pk;
    msgpack_sbuffer_clear(data);
    msgpack_packer_init(&pk, data, msgpack_sbuffer_write);
    char err[128];
    int rc = proto_json_to_msgpack(PQgetvalue(res, i, 4), (size_t)PQgetlength(res, i, 4),
                                   &proto_json_default_limits, &pk, err, sizeof err);
    if (rc != 0) {
        PROTO_ERROR(NULL, "outbox data is not convertible", "event=%s err=%s", id,
                    proto_log_str(err));
        return rc;
    }
    msgpack_sbuffer_clear(out);
    return proto_event_encode(out, &ev, data->data, data->size);
}

static int relay_tx(struct wk_ctx *ctx, void *arg)
{
    struct relay_batch *b = arg;
    /* Both statements below must use their index whatever the statistics say: the unsent
     * rows come and go within seconds while the table holds a day of sent ones, so the
     * estimates are always stale. Left to them, the planner picked a bitmap scan of
     * outbox_unsent (which visits the heap page of every entry of an already relayed row,
     * 2,000-3,000 of them under tests/bench/ledger.sh) or a sequential scan, for the select
     * and for the mark. A plain index scan walks outbox_unsent in order, stops at the LIMIT
     * and marks the dead entries it passes, so the next scan skips them. */
    int pin = wk_db_pin_index_scans(ctx);
    if (pin != 0)
        return pin;
    PGresult *res =
        wk_db_exec_prepared(ctx->db, "wk_outbox_select", ctx->sql_outbox_select, 0, NULL);
    if (!res)
        return wk_db_fail(ctx);
    b->rows = PQntuples(res);
    if (b->rows == 0) {
        PQclear(res);
        return 0;
    }
    struct proto_buf ids = {0};
    msgpack_sbuffer out, data;
    msgpack_sbuffer_init(&out);
    msgpack_sbuffer_init(&data);
    int rc = 0;
    proto_buf_puts(&ids, "{");
    for (int i = 0; i < b->rows; i++) {
        const char *id = PQgetvalue(res, i, 0);
        proto_buf_printf(&ids, "%s%s", i ? "," : "", id);
        /* A row that can never be encoded is marked sent (and logged) rather than
         * blocking the rows behind it forever. */
        if (encode_row(res, i, &out, &data) != 0) {
            PROTO_ERROR(NULL, "outbox row dropped", "event=%s", id);
            continue;
        }
        rc = wk_mq_publish(&ctx->relay_mq, PROTO_EX_EVENTS, PQgetvalue(res, i, 1), NULL, NULL, id,
                           1, out.data, out.size);
        if (rc != 0)
            goto done;
        b->published++;
    }
    proto_buf_puts(&ids, "}");
    if (b->published > 0 && (rc = wk_mq_wait_confirms(&ctx->relay_mq, RELAY_CONFIRM_TIMEOUT_MS)))
        goto done;
    const char *params[] = {ids.data};
    PGresult *upd = wk_db_exec_prepared(ctx->db, "wk_outbox_mark", ctx->sql_outbox_mark, 1, params);
    if (!upd) {
        rc = wk_db_fail(ctx);
        goto done;
    }
    PQclear(upd);
done:
    msgpack_sbuffer_destroy(&out);
    msgpack_sbuffer_destroy(&data);
    proto_buf_free(&ids);
    PQclear(res);
    return rc;
}

int wk_relay_run(struct wk_ctx *ctx)
{
    if (!ctx->sql_outbox_select || !wk_db_up(ctx->db) || !wk_backoff_ready(&ctx->relay_bo))
        return 0;
    ctx->relay_next_ms = proto_mono_ms() + ctx->relay_interval_ms;
    if (!wk_mq_up(&ctx->relay_mq) &&
        wk_mq_connect(&ctx->relay_mq, ctx->amqp_url, 0, 1, &ctx->log) != 0) {
        wk_backoff_fail(&ctx->relay_bo);
        return WK_EMQ;
    }
    int total = 0;
    for (int k = 0; k < RELAY_MAX_BATCHES; k++) {
        struct relay_batch b = {0, 0};
        int rc = wk_db_tx(ctx, relay_tx, &b);
        if (rc != 0) {
            int delay = wk_backoff_fail(&ctx->relay_bo);
            PROTO_WARN(NULL, "outbox relay failed, rows stay unsent", "err=%d retry_ms=%d", rc,
                       delay);
            /* Confirms of a failed batch may still arrive: start the next one afresh. */
            wk_mq_close(&ctx->relay_mq);
            return rc;
        }
        wk_backoff_reset(&ctx->relay_bo);
        total += b.published;
        if (b.rows < RELAY_BATCH)
            break;
    }
    if (total > 0)
        PROTO_DEBUG(NULL, "outbox relayed", "events=%d", total);
    return total;
}
