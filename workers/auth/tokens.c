/*
 * Sessions: access tokens (proto_token_mint) and rotating refresh tokens in
 * auth.refresh_tokens; see auth.h. A refresh token is 256 random bits in base64url; only
 * its SHA-256 is stored, so a database leak yields no usable token.
 */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "auth.h"
#include "proto/msg.h"
#include "proto/b64.h"
#include "proto/status.h"

void auth_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int auth_session_issue(struct wk_ctx *ctx, const char *user_id, const char *family_id,
                       struct auth_session *s)
{
    unsigned char raw[AUTH_REFRESH_BYTES];
    char hash[65], row_id[PROTO_UUID_LEN + 1], family[PROTO_UUID_LEN + 1], ttl[24];

    int n = proto_token_mint(&auth_cfg.keys, user_id, (int64_t)time(NULL), auth_cfg.access_ttl_s,
                             s->access, sizeof s->access, &s->claims);
    if (n < 0)
        return n;
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return PROTO_EIO;
    proto_b64url_encode(raw, sizeof raw, s->refresh, sizeof s->refresh);
    auth_sha256_hex(s->refresh, strlen(s->refresh), hash);
    if (proto_uuid_v4(row_id) != 0 || (!family_id && proto_uuid_v4(family) != 0))
        return PROTO_EIO;
    if (!family_id) {
        /* A sign-in is the moment to drop this user's expired refresh tokens: they can never
         * be used again, and without this the table only grows. Bounded by one user's rows. */
        const char *uid[] = {user_id};
        PGresult *d = wk_db_exec_prepared(
            wk_db(ctx), "auth_refresh_prune",
            "DELETE FROM auth.refresh_tokens WHERE user_id = $1 AND expires_at < now()", 1, uid);
        if (!d)
            return wk_db_fail(ctx);
        PQclear(d);
    }
    snprintf(ttl, sizeof ttl, "%d", auth_cfg.refresh_ttl_s);
    const char *params[] = {row_id, user_id,       family_id ? family_id : family,
                            hash,   s->claims.jti, ttl};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "auth_refresh_insert",
        "INSERT INTO auth.refresh_tokens (id, user_id, family_id, token_hash, access_jti, "
        "expires_at) VALUES ($1, $2, $3, decode($4, 'hex'), $5, "
        "now() + make_interval(secs => $6::int))",
        6, params);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}

void auth_session_pack(msgpack_packer *pk, const struct auth_session *s, const PGresult *user)
{
    msgpack_pack_map(pk, 4);
    proto_pack_cstr(pk, "ft_token");
    proto_pack_cstr(pk, s->access);
    proto_pack_cstr(pk, "refresh_token");
    proto_pack_cstr(pk, s->refresh);
    proto_pack_cstr(pk, "expires_in");
    msgpack_pack_int(pk, auth_cfg.access_ttl_s);
    proto_pack_cstr(pk, "user");
    auth_user_pack(pk, user);
}

/* Our tokens are exactly AUTH_REFRESH_LEN base64url characters; anything else is unknown
 * without a database round trip. */
static int refresh_shape_ok(const char *t)
{
    size_t len = strlen(t);
    return len == AUTH_REFRESH_LEN &&
           proto_b64url_decode(t, len, NULL, AUTH_REFRESH_BYTES) == AUTH_REFRESH_BYTES;
}

static int revoke_family(struct wk_ctx *ctx, const char *family_id)
{
    const char *params[] = {family_id};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "auth_refresh_revoke_family",
                                      "UPDATE auth.refresh_tokens SET revoked_at = now() "
                                      "WHERE family_id = $1 AND revoked_at IS NULL",
                                      1, params);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}

int auth_refresh_rotate(struct wk_ctx *ctx, const char *token, struct auth_session *s,
                        char user_id[PROTO_UUID_LEN + 1])
{
    char hash[65], id[PROTO_UUID_LEN + 1], family[PROTO_UUID_LEN + 1];
    if (!refresh_shape_ok(token))
        return AUTH_REFRESH_UNKNOWN;
    auth_sha256_hex(token, strlen(token), hash);
    const char *params[] = {hash};
    /* FOR UPDATE: of two concurrent refreshes of one token, the second waits here and then
     * sees used_at set, so exactly one rotates it. */
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "auth_refresh_lookup",
        "SELECT id, user_id, family_id, used_at IS NOT NULL OR revoked_at IS NOT NULL, "
        "expires_at <= now() FROM auth.refresh_tokens WHERE token_hash = decode($1, 'hex') "
        "FOR UPDATE",
        1, params);
    if (!r)
        return wk_db_fail(ctx);
    if (PQntuples(r) != 1) {
        PQclear(r);
        return AUTH_REFRESH_UNKNOWN;
    }
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    snprintf(user_id, PROTO_UUID_LEN + 1, "%s", PQgetvalue(r, 0, 1));
    snprintf(family, sizeof family, "%s", PQgetvalue(r, 0, 2));
    int spent = strcmp(PQgetvalue(r, 0, 3), "t") == 0;
    int expired = strcmp(PQgetvalue(r, 0, 4), "t") == 0;
    PQclear(r);

    if (spent) {
        int rc = revoke_family(ctx, family);
        return rc < 0 ? rc : AUTH_REFRESH_REUSED;
    }
    if (expired)
        return AUTH_REFRESH_UNKNOWN;

    /* Guarded as well, so a spent token can never be rotated twice even if the lock
     * above were lost in a later edit. */
    const char *used[] = {id};
    r = wk_db_exec_prepared(wk_db(ctx), "auth_refresh_mark_used",
                            "UPDATE auth.refresh_tokens SET used_at = now() WHERE id = $1 "
                            "AND used_at IS NULL AND revoked_at IS NULL",
                            1, used);
    if (!r)
        return wk_db_fail(ctx);
    long marked = wk_db_affected(r);
    PQclear(r);
    if (marked != 1) {
        int rc = revoke_family(ctx, family);
        return rc < 0 ? rc : AUTH_REFRESH_REUSED;
    }
    int rc = auth_session_issue(ctx, user_id, family, s);
    return rc < 0 ? rc : AUTH_REFRESH_OK;
}

int auth_refresh_revoke_for_access(struct wk_ctx *ctx, const char *user_id, const char *jti)
{
    const char *params[] = {user_id, jti};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "auth_refresh_revoke_for_access",
        "UPDATE auth.refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND "
        "revoked_at IS NULL AND family_id IN (SELECT family_id FROM auth.refresh_tokens "
        "WHERE user_id = $1 AND access_jti = $2)",
        2, params);
    if (!r)
        return wk_db_fail(ctx);
    long n = wk_db_affected(r);
    PQclear(r);
    return (int)n;
}
