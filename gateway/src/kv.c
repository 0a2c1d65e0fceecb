/*
 * Redis for the gateway (the token denylist); see kv.h. Everything named redis* is
 * used only here, and its errors become GW_KV_* codes.
 */
#include "kv.h"

#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/envelope.h"
#include "proto/buf.h"
#include "proto/log.h"
#include "proto/redis_url.h"

#define CONNECT_TIMEOUT_MS 500
#define COMMAND_TIMEOUT_MS 500
#define BACKOFF_MIN_MS     100
#define BACKOFF_MAX_MS     5000

struct gw_store {
    redisContext *c; /* NULL when down */
    struct proto_redis_url url;
    int64_t next_attempt_ms; /* monotonic; no connect before this */
    int backoff_ms;
};

int gw_store_check_url(const char *url)
{
    struct proto_redis_url tmp;
    return proto_redis_url_parse(url, &tmp) == 0 ? 0 : -1;
}

struct gw_store *gw_store_new(const char *url)
{
    struct gw_store *st = proto_xcalloc(1, sizeof *st);
    if (proto_redis_url_parse(url, &st->url) != 0) {
        free(st);
        return NULL;
    }
    st->backoff_ms = BACKOFF_MIN_MS;
    return st;
}

static void drop(struct gw_store *st, const char *why)
{
    if (st->c) {
        PROTO_WARN(NULL, "redis connection lost", "err=%s",
                   proto_log_str(st->c->errstr[0] ? st->c->errstr : why));
        redisFree(st->c);
    }
    st->c = NULL;
    st->next_attempt_ms = proto_mono_ms() + st->backoff_ms;
    st->backoff_ms = st->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : st->backoff_ms * 2;
}

void gw_store_free(struct gw_store *st)
{
    if (!st)
        return;
    if (st->c)
        redisFree(st->c);
    free(st);
}

/* Runs AUTH or SELECT on a fresh connection; 0 or -1 (logged). */
static int setup_command(struct gw_store *st, const char *what, redisReply *r)
{
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        PROTO_WARN(NULL, "redis setup failed", "cmd=%s err=%s", what,
                   proto_log_str(r ? r->str : st->c->errstr));
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

static int store_connect(struct gw_store *st)
{
    if (proto_mono_ms() < st->next_attempt_ms)
        return GW_KV_EDOWN;
    struct timeval tv = {0, CONNECT_TIMEOUT_MS * 1000};
    st->c = redisConnectWithTimeout(st->url.host, st->url.port, tv);
    if (!st->c || st->c->err) {
        PROTO_WARN(NULL, "redis unreachable", "host=%s port=%d err=%s retry_ms=%d", st->url.host,
                   st->url.port, proto_log_str(st->c ? st->c->errstr : "out of memory"),
                   st->backoff_ms);
        if (st->c)
            redisFree(st->c);
        st->c = NULL;
        drop(st, "connect failed");
        return GW_KV_EDOWN;
    }
    struct timeval ctv = {COMMAND_TIMEOUT_MS / 1000, (COMMAND_TIMEOUT_MS % 1000) * 1000};
    if (redisSetTimeout(st->c, ctv) != REDIS_OK ||
        (st->url.password[0] &&
         setup_command(st, "AUTH", redisCommand(st->c, "AUTH %s", st->url.password)) != 0) ||
        (st->url.db &&
         setup_command(st, "SELECT", redisCommand(st->c, "SELECT %d", st->url.db)) != 0)) {
        drop(st, "setup failed");
        return GW_KV_EDOWN;
    }
    st->backoff_ms = BACKOFF_MIN_MS;
    PROTO_INFO(NULL, "redis connected", "host=%s port=%d", st->url.host, st->url.port);
    return 0;
}

int gw_store_exists(struct gw_store *st, const char *const *keys, size_t n, int *out)
{
    if (n == 0)
        return 0;
    if (!st->c && store_connect(st) != 0)
        return GW_KV_EDOWN;
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommand(st->c, "EXISTS %s", keys[i]) != REDIS_OK) {
            drop(st, "append failed");
            return GW_KV_EDOWN;
        }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;
        if (redisGetReply(st->c, &v) != REDIS_OK || !v) {
            /* The context is unusable after an I/O error or a timeout: reconnect later. */
            drop(st, "no reply");
            return GW_KV_EDOWN;
        }
        redisReply *r = v;
        if (r->type == REDIS_REPLY_INTEGER) {
            out[i] = r->integer > 0;
        } else {
            if (rc == 0)
                PROTO_WARN(
                    NULL, "redis error reply", "err=%s",
                    proto_log_str(r->type == REDIS_REPLY_ERROR ? r->str : "unexpected type"));
            rc = GW_KV_EREPLY; /* keep reading so the pipeline stays in step */
        }
        freeReplyObject(r);
    }
    return rc;
}
