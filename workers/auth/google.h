/*
 * workers/auth/google.h — verifies Google ID tokens (Sign in with Google).
 *
 * Checks, in order: the header is {"alg":"RS256", "kid":...} (anything else is refused
 * before any key is looked at); the kid names a key from GOOGLE_CERTS_URL (JWKS, fetched
 * with libcurl through http_client.c, cached for the response's Cache-Control max-age;
 * an unknown kid refetches at most once a minute); the RS256 signature verifies with that
 * key and jwt_get_alg() == RS256 afterwards; iss is accounts.google.com or
 * https://accounts.google.com; aud equals the client id; exp (+30 s leeway) is in the
 * future; nbf/iat, when present, are not in the future beyond the leeway; sub is present.
 * One verifier per process; not thread-safe (the worker runtime is single-threaded).
 *
 * Network behaviour (google.c): google_verify may block on a key fetch for up to 5 s
 * (body limit 1 MiB). Keys are cached for max-age (1 h without one, at most 24 h). After a
 * failed fetch, verifications needing keys answer GOOGLE_EKEYS for 10 s without retrying,
 * so an outage at Google does not stall every message. Tokens longer than 16 KiB, malformed
 * tokens and wrong headers are refused without any network call. An aud given as an array
 * is refused (Google's ID tokens carry a single string).
 */
#ifndef AUTH_GOOGLE_H
#define AUTH_GOOGLE_H

#include <stddef.h>
#include <stdint.h>

enum google_err {
    GOOGLE_OK = 0,
    GOOGLE_EINVALID = -1, /* the token is not acceptable: answer 401 invalid_google_token */
    GOOGLE_EKEYS = -2,    /* Google's keys could not be fetched or parsed: answer 503 */
    GOOGLE_ECONFIG = -3,  /* no client id configured: answer 503 google_not_configured */
};

struct google_identity {
    char sub[256];
    char email[321];
    int email_verified; /* 1 only for a JSON true */
    char name[256];
    char picture[1024];
};

struct google_verifier;

/* Creates a verifier. certs_url: the JWKS URL; client_id may be "" (then every verify is
 * GOOGLE_ECONFIG). Both strings are copied. Returns NULL only on out-of-memory. */
struct google_verifier *google_verifier_new(const char *certs_url, const char *client_id);
void google_verifier_free(struct google_verifier *v);

/*
 * Verifies `id_token` at time now_s (unix seconds). On success fills *id and returns 0.
 * Otherwise returns a GOOGLE_E* code and writes a short reason for the logs into `why`
 * (never the token itself).
 */
int google_verify(struct google_verifier *v, const char *id_token, int64_t now_s,
                  struct google_identity *id, char *why, size_t whylen);

#endif
