/*
 * The auth worker's Redis keys; see auth.h.
 *   ft:login:acct:<sha256(email_norm)>  failed logins for an account (the hash keeps email
 *                                       addresses out of Redis)
 *   ft:login:ip:<ip>                    failed logins from one client address
 *   ft:register:ip:<ip>                 registrations from one client address
 *   ft:lookup:user:<uuid>               recipient lookups by one signed-in user
 *   ft:deny:<jti>                       access tokens revoked by logout (read by the gateway;
 *                                       proto/kvkeys.h, revocations.c)
 * Counters are fixed windows: the first failure starts a AUTH_LOGIN_WINDOW_S window.
 * Redis keeps no data across a restart: the counters start again from zero then, which gives
 * a guesser at most one more window of AUTH_LOGIN_MAX_FAILURES tries per account and address
 * per restart (each costing an argon2id hash); revocations are restored (revocations.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "proto/kvkeys.h"

#define KEY_MAX 128

static int kv_fail(struct wk_ctx *ctx)
{
    int e = wk_kv_last_error(wk_kv(ctx));
    return e < 0 ? e : WK_EKVDOWN;
}

static void account_key(const char *email_norm, char key[KEY_MAX])
{
    char hex[65];
    auth_sha256_hex(email_norm, strlen(email_norm), hex);
    snprintf(key, KEY_MAX, "ft:login:acct:%s", hex);
}

/* Only plain IPv4/IPv6 text becomes part of a key. */
static int plain_ip(const char *ip)
{
    size_t n = ip ? strlen(ip) : 0;
    return n > 0 && n <= 64 && strspn(ip, "0123456789abcdefABCDEF.:") == n;
}

static int ip_key(const char *ip, char key[KEY_MAX])
{
    if (!plain_ip(ip))
        return 0;
    snprintf(key, KEY_MAX, "ft:login:ip:%s", ip);
    return 1;
}

static long reply_int(const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return (long)r->integer;
    if (r->type == REDIS_REPLY_STRING)
        return strtol(r->str, NULL, 10);
    return 0;
}

/* Seconds left in a blocked key's window; repairs a counter that lost its expiry. */
static int window_left(struct wk_ctx *ctx, const char *key, int window_s, long *left)
{
    redisReply *r = wk_kv_command(wk_kv(ctx), "TTL %s", key);
    if (!r)
        return kv_fail(ctx);
    long ttl = reply_int(r);
    freeReplyObject(r);
    if (ttl == -1) {
        r = wk_kv_command(wk_kv(ctx), "EXPIRE %s %d", key, window_s);
        if (!r)
            return kv_fail(ctx);
        freeReplyObject(r);
        ttl = window_s;
    }
    *left = ttl > 0 ? ttl : 1;
    return 0;
}

int auth_throttle_check(struct wk_ctx *ctx, const char *email_norm, const char *ip,
                        long *retry_after_s)
{
    char keys[2][KEY_MAX];
    int n = 1;
    account_key(email_norm, keys[0]);
    if (ip_key(ip, keys[1]))
        n = 2;
    redisReply *r = n == 2 ? wk_kv_command(wk_kv(ctx), "MGET %s %s", keys[0], keys[1])
                           : wk_kv_command(wk_kv(ctx), "MGET %s", keys[0]);
    if (!r)
        return kv_fail(ctx);
    long counts[2] = {0, 0};
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)n) {
        freeReplyObject(r);
        return WK_EKV;
    }
    for (int i = 0; i < n; i++)
        counts[i] = reply_int(r->element[i]);
    freeReplyObject(r);

    int blocked = 0;
    *retry_after_s = 0;
    for (int i = 0; i < n; i++) {
        if (counts[i] < AUTH_LOGIN_MAX_FAILURES)
            continue;
        long left;
        int rc = window_left(ctx, keys[i], AUTH_LOGIN_WINDOW_S, &left);
        if (rc < 0)
            return rc;
        if (left > *retry_after_s)
            *retry_after_s = left;
        blocked = 1;
    }
    return blocked;
}

static int count_failure(struct wk_ctx *ctx, const char *key)
{
    redisReply *r = wk_kv_command(wk_kv(ctx), "INCR %s", key);
    if (!r)
        return kv_fail(ctx);
    long count = reply_int(r);
    freeReplyObject(r);
    if (count != 1)
        return 0;
    r = wk_kv_command(wk_kv(ctx), "EXPIRE %s %d", key, AUTH_LOGIN_WINDOW_S);
    if (!r)
        return kv_fail(ctx);
    freeReplyObject(r);
    return 0;
}

int auth_throttle_fail(struct wk_ctx *ctx, const char *email_norm, const char *ip)
{
    char key[KEY_MAX];
    account_key(email_norm, key);
    int rc = count_failure(ctx, key);
    if (rc == 0 && ip_key(ip, key))
        rc = count_failure(ctx, key);
    return rc;
}

int auth_throttle_reset(struct wk_ctx *ctx, const char *email_norm)
{
    char key[KEY_MAX];
    account_key(email_norm, key);
    redisReply *r = wk_kv_command(wk_kv(ctx), "DEL %s", key);
    if (!r)
        return kv_fail(ctx);
    freeReplyObject(r);
    return 0;
}

/*
 * Counts one event under `key` in a fixed window of window_s seconds (the first count starts
 * it): 0 while the count is at most `max`, 1 when over it (with *retry_after_s), < 0 when
 * Redis cannot answer.
 */
static int window_count(struct wk_ctx *ctx, const char *key, int window_s, long max,
                        long *retry_after_s)
{
    redisReply *r = wk_kv_command(wk_kv(ctx), "INCR %s", key);
    if (!r)
        return kv_fail(ctx);
    long count = reply_int(r);
    freeReplyObject(r);
    if (count == 1) {
        r = wk_kv_command(wk_kv(ctx), "EXPIRE %s %d", key, window_s);
        if (!r)
            return kv_fail(ctx);
        freeReplyObject(r);
    }
    if (count <= max)
        return 0;
    long left;
    int rc = window_left(ctx, key, window_s, &left);
    if (rc < 0)
        return rc;
    *retry_after_s = left;
    return 1;
}

int auth_register_throttle(struct wk_ctx *ctx, const char *ip, long max, long *retry_after_s)
{
    char key[KEY_MAX];
    snprintf(key, sizeof key, "ft:register:ip:%s", plain_ip(ip) ? ip : "unknown");
    return window_count(ctx, key, AUTH_REGISTER_WINDOW_S, max, retry_after_s);
}

int auth_lookup_throttle(struct wk_ctx *ctx, const char *user_id, long max, long *retry_after_s)
{
    char key[KEY_MAX];
    snprintf(key, sizeof key, "ft:lookup:user:%s", user_id);
    return window_count(ctx, key, AUTH_LOOKUP_WINDOW_S, max, retry_after_s);
}

int auth_deny_access(struct wk_ctx *ctx, const char *jti, long ttl_s)
{
    redisReply *r =
        wk_kv_command(wk_kv(ctx), "SET " PROTO_KV_DENY_PREFIX "%s 1 EX %ld", jti, ttl_s);
    if (!r)
        return kv_fail(ctx);
    int ok = r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    return ok ? 0 : WK_EKV;
}
