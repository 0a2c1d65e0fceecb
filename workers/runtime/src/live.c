/*
 * Live frames for ft.live (the gateway forwards them to the user's WebSockets). Inside the
 * outermost wk_db_tx a frame is queued on the ctx and published only after the COMMIT
 * (wk_live_flush), or dropped after a rollback or before a retry (wk_live_discard), so a
 * frame never announces a change that did not happen. Outside a transaction it goes at once.
 * Depends on mq.c only; db.c calls the flush and the discard.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "proto/buf.h"
#include "proto/json.h"
#include "proto/log.h"
#include "proto/status.h"
#include "proto/topology.h"

/* "user.<uuid>" with the UUID lowercased, as the gateway binds it; PROTO_EINVAL if not a UUID. */
static int live_key(const char *user, char key[WK_LIVE_KEY_MAX + 1])
{
    if (!proto_uuid_valid(user))
        return PROTO_EINVAL;
    memcpy(key, "user.", 5);
    for (size_t i = 0; i <= PROTO_UUID_LEN; i++) {
        char c = user[i];
        key[5 + i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    return 0;
}

int wk_live_publish(struct wk_ctx *ctx, const char *user, const char *json, size_t len)
{
    char key[WK_LIVE_KEY_MAX + 1];
    if (live_key(user, key) != 0)
        return PROTO_EINVAL;
    return wk_mq_publish(&ctx->mq, PROTO_EX_LIVE, key, "application/json", NULL, NULL, 0, json,
                         len);
}

static void live_send(struct wk_ctx *ctx, const struct wk_live_frame *f)
{
    if (wk_mq_publish_typed(&ctx->mq, PROTO_EX_LIVE, f->key, "application/json", f->type, NULL,
                            NULL, 0, f->body, f->len) != 0)
        PROTO_WARN(wk_log_id(&ctx->log), "live frame dropped", "key=%s type=%s",
                   proto_log_str(f->key), proto_log_str(f->type ? f->type : "frame"));
}

/* Queues (inside a wk_db_tx) or sends at once (outside) one message for ft.live. */
static int live_enqueue(struct wk_ctx *ctx, const char *user, const char *type, const char *body,
                        size_t len)
{
    struct wk_live_frame f;
    if (!body || len == 0 || live_key(user, f.key) != 0)
        return PROTO_EINVAL;
    f.type = type;
    if (!ctx->tx_open) {
        f.body = (char *)body;
        f.len = len;
        live_send(ctx, &f);
        return 0;
    }
    if (ctx->nlive >= WK_LIVE_QUEUE_MAX) {
        PROTO_WARN(wk_log_id(&ctx->log), "live frame queue full, frame dropped", "max=%d",
                   WK_LIVE_QUEUE_MAX);
        return PROTO_ELIMIT;
    }
    if (ctx->nlive == ctx->live_cap) {
        ctx->live_cap = ctx->live_cap ? ctx->live_cap * 2 : 8;
        ctx->live = proto_xrealloc(ctx->live, ctx->live_cap * sizeof *ctx->live);
    }
    f.body = proto_xmalloc(len);
    memcpy(f.body, body, len);
    f.len = len;
    ctx->live[ctx->nlive++] = f;
    return 0;
}

int wk_live_after_commit(struct wk_ctx *ctx, const char *user, const char *json, size_t len)
{
    return live_enqueue(ctx, user, NULL, json, len);
}

int wk_live_close_user(struct wk_ctx *ctx, const char *user, int code, const char *reason)
{
    /* What a WebSocket close frame can carry: an application or registered code that may be
     * sent (not 1005/1006/1015), and a reason of at most 123 bytes of UTF-8. */
    if (code < 1000 || code > 4999 || (code > 1014 && code < 3000) || code == 1004 ||
        code == 1005 || code == 1006 || !reason || strlen(reason) > WK_LIVE_REASON_MAX ||
        !proto_utf8_valid(reason, strlen(reason)))
        return PROTO_EINVAL;
    struct proto_buf b = {0};
    proto_buf_printf(&b, "{\"code\":%d,\"reason\":", code);
    int rc = proto_json_quote(&b, reason, strlen(reason));
    if (rc == 0) {
        proto_buf_puts(&b, "}");
        rc = live_enqueue(ctx, user, WK_LIVE_TYPE_CLOSE, b.data, b.len);
    }
    proto_buf_free(&b);
    return rc;
}

void wk_live_flush(struct wk_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nlive; i++)
        live_send(ctx, &ctx->live[i]);
    wk_live_discard(ctx);
}

void wk_live_discard(struct wk_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nlive; i++)
        free(ctx->live[i].body);
    ctx->nlive = 0;
}
