/*
 * Revoked access tokens: PostgreSQL's auth.revoked_tokens is the record (sql/011), Redis's
 * ft:deny:<jti> keys are the copy the gateway reads (proto/kvkeys.h says how the two meet).
 *   - logout: auth_revoke_record in its transaction, plus auth_deny_access (the Redis key);
 *   - auth_denylist_tick, about once a second on the worker's thread: when the marker
 *     ft:denylist:seeded is missing (Redis restarted or was flushed), copies every unexpired
 *     revocation into Redis and then sets the marker; once a minute, deletes expired rows.
 * A logout that commits while a re-seed runs may be missed by the re-seed's snapshot; logout
 * writes its Redis key once more after its commit, so the key is there either way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "proto/kvkeys.h"
#include "proto/log.h"

#define PRUNE_EVERY_S 60
#define PRUNE_BATCH   "1000"

int auth_revoke_record(struct wk_ctx *ctx, const char *user_id, const char *jti, long ttl_s)
{
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%ld", ttl_s);
    const char *p[] = {jti, user_id, ttl};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "auth_revoke",
                                      "INSERT INTO auth.revoked_tokens (jti, user_id, expires_at) "
                                      "VALUES ($1, $2, now() + make_interval(secs => $3::int)) "
                                      "ON CONFLICT (jti) DO NOTHING",
                                      3, p);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}

/* Copies every unexpired revocation into Redis, then sets the marker. 0 or < 0. */
static int seed(struct wk_ctx *ctx)
{
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "auth_revoked_live",
        "SELECT jti, greatest(1, ceil(extract(epoch FROM expires_at - now())))::bigint "
        "FROM auth.revoked_tokens WHERE expires_at > now()",
        0, NULL);
    if (!r)
        return wk_db_fail(ctx);
    int n = PQntuples(r), rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        rc = auth_deny_access(ctx, PQgetvalue(r, i, 0), strtol(PQgetvalue(r, i, 1), NULL, 10));
    PQclear(r);
    if (rc < 0)
        return rc; /* the marker stays missing: the next tick tries again */
    redisReply *k = wk_kv_command(wk_kv(ctx), "SET %s %d", PROTO_KV_DENY_SEEDED, n);
    if (!k)
        return wk_kv_last_error(wk_kv(ctx));
    freeReplyObject(k);
    PROTO_INFO(NULL, "denylist seeded into redis", "revocations=%d", n);
    return 0;
}

static int prune(struct wk_ctx *ctx)
{
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "auth_revoked_prune",
        "DELETE FROM auth.revoked_tokens WHERE jti IN (SELECT jti FROM auth.revoked_tokens "
        "WHERE expires_at < now() ORDER BY expires_at LIMIT " PRUNE_BATCH ")",
        0, NULL);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}

int auth_denylist_tick(struct wk_ctx *ctx)
{
    static time_t next_prune;
    if (!wk_db_up(wk_db(ctx)))
        return 0; /* nothing to copy from: the marker stays as it is */
    if (time(NULL) >= next_prune) {
        next_prune = time(NULL) + PRUNE_EVERY_S;
        int rc = prune(ctx);
        if (rc < 0)
            return rc;
    }
    redisReply *r = wk_kv_command(wk_kv(ctx), "EXISTS %s", PROTO_KV_DENY_SEEDED);
    if (!r)
        return 0; /* Redis is down: the gateway fails closed meanwhile; seed when it is back */
    int seeded = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    freeReplyObject(r);
    return seeded ? 0 : seed(ctx);
}
