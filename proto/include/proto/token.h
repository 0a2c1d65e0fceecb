/*
 * proto/token.h — FinTwin access tokens (ft_token): mint and verify, HS256 only.
 *
 * The auth worker mints them; the gateway verifies them on every protected route before
 * anything is published. Claims: sub (user uuid), iat, exp, iss, aud, jti (uuid),
 * typ = "access". libjwt 1.10 takes the algorithm from the token header, accepts
 * alg:none without a key and checks no claim (as Debian 12's 1.10.2 does), so verification
 * here: parses the header itself and requires {"alg":"HS256"} before any signature work,
 * verifies the HMAC with the secret, requires jwt_get_alg() == HS256 afterwards, and
 * checks every claim itself with PROTO_TOKEN_LEEWAY_S of clock skew.
 * Pure functions (no I/O), thread-safe.
 */
#ifndef PROTO_TOKEN_H
#define PROTO_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/uuid.h"

#define PROTO_TOKEN_LEEWAY_S 30
#define PROTO_TOKEN_MAX 2048        /* longest token we mint or accept, bytes */
#define PROTO_TOKEN_SECRET_MIN 32   /* shorter JWT_SECRETs are refused at start */

struct proto_token_keys {
    const char *secret; /* HS256 key, >= PROTO_TOKEN_SECRET_MIN bytes */
    size_t secret_len;
    const char *issuer;   /* iss, e.g. "fintwin" */
    const char *audience; /* aud, e.g. "fintwin-api" */
};

struct proto_token_claims {
    char sub[PROTO_UUID_LEN + 1];
    char jti[PROTO_UUID_LEN + 1];
    int64_t iat; /* unix seconds */
    int64_t exp; /* unix seconds */
};

/*
 * Mints an access token for user `sub` (a UUID) valid from now_s for ttl_s seconds
 * (1..86400), with a fresh random jti. Writes the NUL-terminated token into out.
 * Fills *claims when not NULL. Returns the token length, or PROTO_EINVAL (bad sub, ttl,
 * or keys), PROTO_ELIMIT (out too small), PROTO_EIO (no randomness / libjwt failure).
 */
int proto_token_mint(const struct proto_token_keys *keys, const char *sub, int64_t now_s,
                     int ttl_s, char *out, size_t outlen, struct proto_token_claims *claims);

/*
 * Verifies `len` bytes of `token` at time now_s. Returns 0 and fills *claims, or
 * PROTO_EEXPIRED (exp + leeway <= now), or PROTO_EAUTH for anything else: not three
 * base64url parts, a header other than alg HS256 (none, RS256, ...), a bad signature,
 * wrong iss/aud/typ, missing or non-numeric exp/iat, iat or nbf in the future beyond the
 * leeway, sub or jti not a UUID, longer than PROTO_TOKEN_MAX.
 */
int proto_token_verify(const struct proto_token_keys *keys, const char *token, size_t len,
                       int64_t now_s, struct proto_token_claims *claims);

#endif
