/*
 * hiredis 0.14 (old synchronous API) behind the runtime. Redis is a cache and a
 * limiter, never the source of truth, so a worker starts and serves while it is
 * down: we connect lazily and retry at most once per backoff step.
 */
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdlib.h>

#include "internal.h"
#include "proto/buf.h"
#include "proto/log.h"
#include "proto/redis_url.h"

#define KV_CONNECT_TIMEOUT_MS 500
#define KV_COMMAND_TIMEOUT_MS 1000

struct wk_kv {
    redisContext *c; /* NULL when down */
    struct proto_redis_url url;
    struct wk_backoff bo;
    int last_error;
    const struct wk_log *log; /* request id for log lines */
};

int wk_kv_check_url(const char *url)
{
    struct proto_redis_url tmp;
    return proto_redis_url_parse(url, &tmp);
}

struct wk_kv *wk_kv_new(const char *url, const struct wk_log *log)
{
    struct wk_kv *kv = proto_xcalloc(1, sizeof *kv);
    if (proto_redis_url_parse(url, &kv->url) != 0) {
        free(kv);
        return NULL;
    }
    kv->log = log;
    return kv;
}

static void kv_drop(struct wk_kv *kv)
{
    if (kv->c)
        redisFree(kv->c);
    kv->c = NULL;
}

void wk_kv_free(struct wk_kv *kv)
{
    if (!kv)
        return;
    kv_drop(kv);
    free(kv);
}

/* Runs a setup command (AUTH, SELECT) on a fresh connection; 0 or -1. */
static int setup_command(struct wk_kv *kv, const char *what, redisReply *r)
{
    if (!r || r->type == REDIS_REPLY_ERROR) {
        PROTO_WARN(NULL, "redis setup failed", "cmd=%s err=%s", what,
                   proto_log_str(r ? r->str : kv->c->errstr));
        if (r)
            freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

static int kv_connect(struct wk_kv *kv)
{
    struct timeval tv = {0, KV_CONNECT_TIMEOUT_MS * 1000};
    kv->c = redisConnectWithTimeout(kv->url.host, kv->url.port, tv);
    if (!kv->c || kv->c->err) {
        int delay = wk_backoff_fail(&kv->bo);
        PROTO_WARN(wk_log_id(kv->log), "redis unreachable", "err=%s retry_ms=%d",
                   proto_log_str(kv->c ? kv->c->errstr : "out of memory"), delay);
        kv_drop(kv);
        return WK_EKVDOWN;
    }
    struct timeval ctv = {KV_COMMAND_TIMEOUT_MS / 1000, (KV_COMMAND_TIMEOUT_MS % 1000) * 1000};
    redisSetTimeout(kv->c, ctv);
    if ((kv->url.password[0] &&
         setup_command(kv, "AUTH", redisCommand(kv->c, "AUTH %s", kv->url.password)) != 0) ||
        (kv->url.db &&
         setup_command(kv, "SELECT", redisCommand(kv->c, "SELECT %d", kv->url.db)) != 0)) {
        wk_backoff_fail(&kv->bo);
        kv_drop(kv);
        return WK_EKVDOWN;
    }
    wk_backoff_reset(&kv->bo);
    PROTO_INFO(wk_log_id(kv->log), "redis connected", NULL);
    return 0;
}

struct wk_kv *wk_kv(struct wk_ctx *ctx)
{
    return ctx->kv;
}

int wk_kv_last_error(const struct wk_kv *kv)
{
    return kv->last_error;
}

redisReply *wk_kv_command(struct wk_kv *kv, const char *fmt, ...)
{
    kv->last_error = 0;
    if (!kv->c && (!wk_backoff_ready(&kv->bo) || kv_connect(kv) != 0)) {
        kv->last_error = WK_EKVDOWN;
        return NULL;
    }
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(kv->c, fmt, ap);
    va_end(ap);
    if (!r) {
        /* The context is unusable after an I/O error or timeout: drop it, retry later. */
        PROTO_WARN(wk_log_id(kv->log), "redis connection lost", "err=%s",
                   proto_log_str(kv->c->errstr));
        kv_drop(kv);
        wk_backoff_fail(&kv->bo);
        kv->last_error = WK_EKVDOWN;
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        PROTO_WARN(wk_log_id(kv->log), "redis error reply", "err=%s", proto_log_str(r->str));
        freeReplyObject(r);
        kv->last_error = WK_EKV;
        return NULL;
    }
    return r;
}
