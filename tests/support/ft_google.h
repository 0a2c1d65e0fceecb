/*
 * tests/support/ft_google.h — a stand-in for Google's key endpoint and ID-token signer.
 *
 * - ft_google_server: an HTTP server on 127.0.0.1 (free port, background thread) that
 *   answers GET /certs with a JWKS of its published RSA keys ({"keys":[{kid,n,e,kty,alg,use}]},
 *   like https://www.googleapis.com/oauth2/v3/certs) and `Cache-Control: public, max-age=N`.
 *   It counts requests, can publish/unpublish keys (rotation), and can be told to answer
 *   500 or a body that is not JSON. Any other path answers 404 (and is counted too).
 * - keys: 2048-bit RSA keys generated at run time, owned by the server that made them.
 * - tokens: ft_google_sign makes a proper RS256 ID token with libjwt; the ft_google_token_*
 *   helpers make hostile ones (alg none, HS256 keyed with the public PEM, tampered payload).
 *   Every token is a malloc'ed string the caller frees with free().
 * Thread rules: create, configure and stop a server from one test thread; the server's
 * own thread only reads the configuration under a lock. The token helpers are thread-safe.
 */
#ifndef FT_GOOGLE_H
#define FT_GOOGLE_H

#include <stdint.h>

struct ft_google_server;

struct ft_google_key {
    char kid[64];
    char *private_pem; /* PKCS#8 "BEGIN PRIVATE KEY" */
    char *public_pem;  /* "BEGIN PUBLIC KEY" */
    char *n_b64;       /* JWK n and e, base64url without padding */
    char *e_b64;
};

enum ft_google_mode {
    FT_GOOGLE_SERVE_JWKS = 0,   /* 200 with the JWKS (the default) */
    FT_GOOGLE_SERVE_500 = 1,    /* 500 with a short text body */
    FT_GOOGLE_SERVE_GARBAGE = 2 /* 200 with a body that is not JSON */
};

/* Starts a server with no keys and max-age 3600. Returns NULL (after printing why) when
 * the socket or thread could not be set up. */
struct ft_google_server *ft_google_server_start(void);

/* Stops the thread, closes the socket and frees the server and all its keys. NULL is a no-op. */
void ft_google_server_stop(struct ft_google_server *s);

/* "http://127.0.0.1:<port>/certs" — for GOOGLE_CERTS_URL. Owned by the server. */
const char *ft_google_server_url(const struct ft_google_server *s);

/* Generates a 2048-bit key named kid (unique per server, < 64 chars), published in the JWKS
 * when `publish` is non-zero. The key is owned by the server. Returns NULL on failure. */
const struct ft_google_key *ft_google_server_add_key(struct ft_google_server *s, const char *kid,
                                                     int publish);

/* Publishes (1) or withdraws (0) an existing key. Returns 0, or -1 for an unknown kid. */
int ft_google_server_publish(struct ft_google_server *s, const char *kid, int publish);

/* The Cache-Control max-age sent from now on; a negative value sends no Cache-Control. */
void ft_google_server_set_max_age(struct ft_google_server *s, int max_age);

void ft_google_server_set_mode(struct ft_google_server *s, enum ft_google_mode mode);

/* Number of HTTP requests the server has answered so far. */
int ft_google_server_requests(const struct ft_google_server *s);

/*
 * Standard valid claims as a malloc'ed JSON object text: iss "https://accounts.google.com",
 * aud, sub, email (when not NULL) with email_verified true, name "Test User", a https picture,
 * iat = now_s and exp = now_s + 3600.
 */
char *ft_google_claims(const char *aud, const char *sub, const char *email, int64_t now_s);

/*
 * Signs `claims_json` (a JSON object) as an RS256 token with key's private key and header
 * {"alg":"RS256","typ":"JWT","kid":key->kid}. header_json (may be NULL) is a JSON object
 * whose members are added to the header, overriding kid or typ; libjwt always writes alg
 * itself, so use the ft_google_token_* helpers for other algorithms. Returns NULL on failure.
 */
char *ft_google_sign(const struct ft_google_key *key, const char *claims_json,
                     const char *header_json);

/* {"alg":"none","typ":"JWT","kid":kid}.<claims>. — an unsigned token (empty signature). */
char *ft_google_token_alg_none(const char *kid, const char *claims_json);

/* An HS256 token with `secret` as HMAC key and header {"alg":"HS256","typ":"JWT"} plus
 * `kid` when not NULL. With secret = key->public_pem this is the HS/RS confusion attack;
 * with the FinTwin JWT secret it is an access token presented as an ID token. */
char *ft_google_token_hs256(const char *secret, const char *kid, const char *claims_json);

/* `token` with its payload segment replaced by base64url(claims_json); header and signature
 * are kept, so the signature no longer matches. */
char *ft_google_token_tamper(const char *token, const char *claims_json);

#endif
