/*
 * Access tokens (ft_token) with libjwt 1.10.2; see proto/token.h.
 *
 * libjwt 1.10 trusts the token: it takes the algorithm from the header (alg:none
 * passes with a NULL key, an HS256 token "signed" with an RSA public PEM passes when
 * that PEM is the key) and validates no claim. So every decision here is ours: the
 * three segments are checked as strict base64url first, the header is decoded and
 * parsed by our own JSON parser and must say alg "HS256" before libjwt sees the token,
 * libjwt only checks the HMAC, jwt_get_alg() is checked again afterwards, and the
 * claims are read from the (now authenticated) payload bytes by our parser, which
 * keeps integers exact and rejects duplicate keys.
 */
#include "proto/token.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>
#include <msgpack.h>

#include "proto/b64.h"
#include "proto/json.h"
#include "proto/msg.h"
#include "proto/status.h"

#define HS256_SIG_B64_LEN 43 /* 32 bytes of HMAC-SHA256 in unpadded base64url */
#define TOKEN_TTL_MAX     86400

/* Limits for a header or payload: both are tiny flat objects. */
static const struct proto_json_limits segment_limits = {
    .max_bytes = PROTO_TOKEN_MAX,
    .max_depth = 4,
    .max_string = 512,
    .max_items = 64,
};

static int keys_ok(const struct proto_token_keys *keys)
{
    return keys && keys->secret && keys->secret_len >= PROTO_TOKEN_SECRET_MIN &&
           keys->secret_len <= INT_MAX && keys->issuer && keys->issuer[0] && keys->audience &&
           keys->audience[0];
}

/*
 * Decodes one base64url JSON segment and parses it into *up (backed by *sb, which the
 * caller destroys). The result must be a JSON object. Returns 0 or PROTO_EAUTH.
 */
static int parse_segment(const char *seg, size_t len, msgpack_sbuffer *sb, msgpack_unpacked *up)
{
    unsigned char json[PROTO_TOKEN_MAX];
    long n = proto_b64url_decode(seg, len, json, sizeof json);
    if (n <= 0)
        return PROTO_EAUTH;
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    if (proto_json_to_msgpack((const char *)json, (size_t)n, &segment_limits, &pk, NULL, 0) != 0)
        return PROTO_EAUTH;
    size_t off = 0;
    if (msgpack_unpack_next(up, sb->data, sb->size, &off) != MSGPACK_UNPACK_SUCCESS)
        return PROTO_EAUTH;
    if (up->data.type != MSGPACK_OBJECT_MAP)
        return PROTO_EAUTH;
    return 0;
}

/* 1 if map[key] is a str exactly equal to want. */
static int str_claim_is(const msgpack_object *map, const char *key, const char *want)
{
    const msgpack_object *o = proto_map_get(map, key);
    size_t n = strlen(want);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, want, n) == 0;
}

/* Copies map[key] into out if it is a UUID string. Returns 0 or PROTO_EAUTH. */
static int uuid_claim(const msgpack_object *map, const char *key, char out[PROTO_UUID_LEN + 1])
{
    const msgpack_object *o = proto_map_get(map, key);
    if (!o || proto_obj_str(o, out, PROTO_UUID_LEN + 1) != 0 || !proto_uuid_valid(out))
        return PROTO_EAUTH;
    return 0;
}

/* Header check, before any signature work: exactly alg HS256, no "crit" we cannot honour. */
static int check_header(const char *seg, size_t len)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked_init(&up);
    int rc = parse_segment(seg, len, &sb, &up);
    if (rc == 0 && (!str_claim_is(&up.data, "alg", "HS256") || proto_map_get(&up.data, "crit")))
        rc = PROTO_EAUTH;
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static int check_claims(const struct proto_token_keys *keys, const char *seg, size_t len,
                        int64_t now_s, struct proto_token_claims *out)
{
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    struct proto_token_claims c;
    int64_t nbf;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked_init(&up);
    int rc = parse_segment(seg, len, &sb, &up);
    if (rc != 0)
        goto done;
    const msgpack_object *m = &up.data;
    const msgpack_object *o_exp = proto_map_get(m, "exp");
    const msgpack_object *o_iat = proto_map_get(m, "iat");
    const msgpack_object *o_nbf = proto_map_get(m, "nbf");
    rc = PROTO_EAUTH;
    if (!str_claim_is(m, "typ", "access") || !str_claim_is(m, "iss", keys->issuer) ||
        !str_claim_is(m, "aud", keys->audience))
        goto done;
    if (!o_exp || proto_obj_int(o_exp, &c.exp) != 0 || !o_iat || proto_obj_int(o_iat, &c.iat) != 0)
        goto done;
    if (uuid_claim(m, "sub", c.sub) != 0 || uuid_claim(m, "jti", c.jti) != 0)
        goto done;
    /* now_s is a real clock, so now_s +/- leeway cannot overflow; claims may be anything. */
    if (c.iat > now_s + PROTO_TOKEN_LEEWAY_S || c.exp <= c.iat)
        goto done;
    if (o_nbf && (proto_obj_int(o_nbf, &nbf) != 0 || nbf > now_s + PROTO_TOKEN_LEEWAY_S))
        goto done;
    /* Expiry last: only an otherwise valid token is reported as expired. */
    if (c.exp <= now_s - PROTO_TOKEN_LEEWAY_S) {
        rc = PROTO_EEXPIRED;
        goto done;
    }
    if (out)
        *out = c;
    rc = 0;
done:
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

int proto_token_verify(const struct proto_token_keys *keys, const char *token, size_t len,
                       int64_t now_s, struct proto_token_claims *claims)
{
    char buf[PROTO_TOKEN_MAX + 1];
    jwt_t *jwt = NULL;
    if (!keys_ok(keys))
        return PROTO_EINVAL;
    if (!token || len == 0 || len > PROTO_TOKEN_MAX)
        return PROTO_EAUTH;

    const char *d1 = memchr(token, '.', len);
    if (!d1)
        return PROTO_EAUTH;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return PROTO_EAUTH;
    size_t hlen = (size_t)(d1 - token);
    size_t plen = (size_t)(d2 - d1 - 1);
    size_t slen = len - (size_t)(d2 + 1 - token);
    if (slen != HS256_SIG_B64_LEN || proto_b64url_decode(d2 + 1, slen, NULL, PROTO_TOKEN_MAX) != 32)
        return PROTO_EAUTH;
    if (check_header(token, hlen) != 0)
        return PROTO_EAUTH;
    /* The payload must be strict base64url JSON before libjwt's lenient decoder sees it. */
    if (proto_b64url_decode(d1 + 1, plen, NULL, PROTO_TOKEN_MAX) <= 0)
        return PROTO_EAUTH;

    memcpy(buf, token, len); /* jwt_decode wants a C string; no NUL can be inside (checked) */
    buf[len] = '\0';
    if (jwt_decode(&jwt, buf, (const unsigned char *)keys->secret, (int)keys->secret_len) != 0)
        return PROTO_EAUTH;
    jwt_alg_t alg = jwt_get_alg(jwt);
    jwt_free(jwt);
    if (alg != JWT_ALG_HS256)
        return PROTO_EAUTH;
    return check_claims(keys, d1 + 1, plen, now_s, claims);
}

int proto_token_mint(const struct proto_token_keys *keys, const char *sub, int64_t now_s, int ttl_s,
                     char *out, size_t outlen, struct proto_token_claims *claims)
{
    struct proto_token_claims c;
    jwt_t *jwt = NULL;
    char *tok = NULL;
    int rc;
    if (!keys_ok(keys) || !proto_uuid_valid(sub) || ttl_s < 1 || ttl_s > TOKEN_TTL_MAX || !out ||
        now_s < 0 || now_s > (int64_t)LONG_MAX - TOKEN_TTL_MAX)
        return PROTO_EINVAL;
    memcpy(c.sub, sub, PROTO_UUID_LEN + 1);
    if (proto_uuid_v4(c.jti) != 0)
        return PROTO_EIO;
    c.iat = now_s;
    c.exp = now_s + ttl_s;

    rc = PROTO_EIO;
    if (jwt_new(&jwt) != 0)
        goto fail;
    if (jwt_add_grant(jwt, "sub", c.sub) || jwt_add_grant(jwt, "iss", keys->issuer) ||
        jwt_add_grant(jwt, "aud", keys->audience) || jwt_add_grant(jwt, "typ", "access") ||
        jwt_add_grant(jwt, "jti", c.jti) || jwt_add_grant_int(jwt, "iat", (long)c.iat) ||
        jwt_add_grant_int(jwt, "exp", (long)c.exp))
        goto fail;
    if (jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)keys->secret,
                    (int)keys->secret_len) != 0)
        goto fail;
    tok = jwt_encode_str(jwt);
    if (!tok)
        goto fail;
    size_t n = strlen(tok);
    if (n > PROTO_TOKEN_MAX || n + 1 > outlen) {
        rc = PROTO_ELIMIT;
        goto fail;
    }
    memcpy(out, tok, n + 1);
    if (claims)
        *claims = c;
    rc = (int)n;
fail:
    free(tok);
    if (jwt)
        jwt_free(jwt);
    return rc;
}
