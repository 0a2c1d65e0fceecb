/*
 * workers/auth/auth.h — the auth worker's internal interfaces: configuration (main.c),
 * handlers (handlers.c), user rows (users.c), sessions and refresh tokens (tokens.c) and
 * the Redis side: login throttling and the access-token denylist (throttle.c).
 *
 * Threads: the worker runtime is single-threaded; everything here runs on the handler
 * thread. Functions that take a wk_ctx may be called only from a handler, and the ones
 * that say "inside wk_db_tx" only from a transaction callback.
 * Errors: 0 (or a count / 1 = found) or a negative WK_E* / PROTO_E* code.
 */
#ifndef AUTH_AUTH_H
#define AUTH_AUTH_H

#include <libpq-fe.h>
#include <msgpack.h>
#include <stdint.h>

#include "proto/token.h"
#include "proto/uuid.h"
#include "rules.h"
#include "runtime/wk.h"

struct google_verifier;

/* Read once in main before wk_run_spec; read-only afterwards. */
struct auth_config {
    struct proto_token_keys keys; /* JWT_SECRET, JWT_ISSUER, JWT_AUDIENCE */
    int access_ttl_s;             /* ACCESS_TOKEN_TTL_S */
    int refresh_ttl_s;            /* REFRESH_TOKEN_TTL_S */
    long register_per_ip;         /* AUTH_REGISTER_PER_IP: registrations per ip per hour */
    long lookup_per_min;          /* AUTH_LOOKUP_PER_MIN: recipient lookups per user per minute */
    const char *google_client_id; /* GOOGLE_CLIENT_ID, "" when Google sign-in is off */
    const char *google_certs_url; /* GOOGLE_CERTS_URL */
    struct google_verifier *google;
    /* An argon2id hash of a random password: login verifies against it when the account
     * does not exist, so unknown emails cost the same time as wrong passwords. */
    char dummy_hash[AUTH_HASH_BUF];
};

extern struct auth_config auth_cfg;

/* ---- handlers (handlers.c) ---- */
int auth_register(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int auth_login(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int auth_refresh(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int auth_logout(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int auth_me(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int auth_profile_update(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int auth_profile_complete(struct wk_ctx *ctx, const struct proto_request *req,
                          struct wk_reply *rep);
int auth_config(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int auth_lookup(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
/* handlers_google.c */
int auth_google(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);

/* Inside wk_db_tx: issues a session for user_id (family NULL: a new one) and packs
 * {ft_token, refresh_token, expires_in, user} with `status`. Returns 0 or < 0. */
int auth_answer_session(struct wk_ctx *ctx, struct wk_reply *rep, const char *user_id,
                        const char *family_id, int status);

/* ---- users (users.c) ---- */

/* A new user row. Strings are borrowed; NULL is SQL NULL. */
struct auth_new_user {
    const char *id;
    const char *email;
    const char *email_norm;
    int email_verified;
    const char *password_hash;
    const char *google_sub;
    const char *full_name;
    const char *picture;
};

/* Inserts a user and, in the same transaction (call inside wk_db_tx), the event
 * user.registered {user_id}, on which the ledger opens the user's default account.
 * Returns 1 inserted, 0 when email_norm or google_sub is taken, or < 0. */
int auth_user_insert(struct wk_ctx *ctx, const struct auth_new_user *u);

/* Event account.default_ready {user_id, account_id} (written by the ledger): stores the
 * account as the user's default_account_id (GET /api/auth/me). 0 or < 0 to retry. */
int auth_on_default_ready(struct wk_ctx *ctx, const struct proto_event *ev);

/* The user's public columns (one row, or none), for auth_user_pack; NULL on failure.
 * The caller PQclears it. */
PGresult *auth_user_get(struct wk_ctx *ctx, const char *user_id);

/* Packs row 0 of an auth_user_get / auth_user_update_profile result as the API's `user` object
 * (README "Signing in"). */
void auth_user_pack(msgpack_packer *pk, const PGresult *res);

/* A recipient lookup by normalised email: packs the user's public face {id, full_name} into pk
 * and returns 1, or 0 (nothing packed) when no user has that email, < 0 on failure. */
int auth_user_lookup(struct wk_ctx *ctx, const char *email_norm, msgpack_packer *pk);

/* The same by user id (a valid UUID, either case): {id, full_name} and 1, 0 when no user has
 * that id, < 0 on failure. How the web app names the other side of a transfer it lists. */
int auth_user_lookup_id(struct wk_ctx *ctx, const char *user_id, msgpack_packer *pk);

/* Login lookup by normalised email: 1 and *id / hash ("" when the account has no
 * password) when found, 0 when not, < 0 on failure. */
int auth_user_credentials(struct wk_ctx *ctx, const char *email_norm, char id[PROTO_UUID_LEN + 1],
                          char *hash, size_t hash_size);

/* Inside wk_db_tx: locks the user row and reads is_profile_complete into *complete.
 * Returns 1 found, 0 not found, < 0. */
int auth_user_lock_profile(struct wk_ctx *ctx, const char *user_id, int *complete);

/* is_profile_complete of a user: 1 found (*complete set), 0 not found, < 0. */
int auth_user_profile_complete(struct wk_ctx *ctx, const char *user_id, int *complete);

/* Inside wk_db_tx: stores a validated profile and sets is_profile_complete; returns the
 * user's public columns (as auth_user_get) or NULL. */
PGresult *auth_user_update_profile(struct wk_ctx *ctx, const char *user_id,
                                   const struct auth_profile *p);

/* Google sign-in lookups, inside wk_db_tx (rows locked). Each returns 1 found, 0, or < 0.
 * by_email also reports whether the account already has a google_sub. */
int auth_user_by_google_sub(struct wk_ctx *ctx, const char *sub, char id[PROTO_UUID_LEN + 1]);
int auth_user_by_email(struct wk_ctx *ctx, const char *email_norm, char id[PROTO_UUID_LEN + 1],
                       int *has_google);

/* Links a Google account to user `id` (sets google_sub, marks the email verified, fills
 * picture when empty). Returns 0 or < 0. */
int auth_user_link_google(struct wk_ctx *ctx, const char *id, const char *sub, const char *picture);

/* ---- sessions (tokens.c) ---- */

#define AUTH_REFRESH_BYTES 32 /* 256 random bits */
#define AUTH_REFRESH_LEN   43 /* unpadded base64url of 32 bytes */

struct auth_session {
    char access[PROTO_TOKEN_MAX + 1];
    char refresh[AUTH_REFRESH_LEN + 1];
    struct proto_token_claims claims;
};

/*
 * Inside wk_db_tx: mints an access token for user_id and a refresh token, and stores the
 * refresh token's SHA-256 with the access token's jti in family `family_id` (NULL starts a
 * new family). Returns 0, PROTO_EIO (no randomness) or a database failure code.
 */
int auth_session_issue(struct wk_ctx *ctx, const char *user_id, const char *family_id,
                       struct auth_session *s);

/* Packs {ft_token, refresh_token, expires_in, user} with the user from row 0 of `user`. */
void auth_session_pack(msgpack_packer *pk, const struct auth_session *s, const PGresult *user);

/* Outcome of presenting a refresh token. */
enum auth_refresh_state {
    AUTH_REFRESH_OK = 0,  /* rotated: *s holds the new pair */
    AUTH_REFRESH_UNKNOWN, /* unknown or expired */
    AUTH_REFRESH_REUSED,  /* used or revoked: the whole family was revoked */
};

/*
 * Inside wk_db_tx: looks up `token` (locking its row), and either rotates it (marks it used
 * and issues the next pair of the family into *s, user id into user_id) or revokes its
 * family on reuse. Returns an auth_refresh_state (>= 0) or < 0 on failure.
 */
int auth_refresh_rotate(struct wk_ctx *ctx, const char *token, struct auth_session *s,
                        char user_id[PROTO_UUID_LEN + 1]);

/* Inside wk_db_tx: revokes every family of user_id that holds a refresh token minted
 * together with access token `jti`. Returns the number of tokens revoked or < 0. */
int auth_refresh_revoke_for_access(struct wk_ctx *ctx, const char *user_id, const char *jti);

/* ---- Redis (throttle.c) ---- */

#define AUTH_LOGIN_MAX_FAILURES 10
#define AUTH_LOGIN_WINDOW_S     900

/*
 * Before checking a password: 0 when the account (email_norm) and the client ip (may be
 * NULL or "") are both under AUTH_LOGIN_MAX_FAILURES failures in their window; 1 when one
 * is not, with *retry_after_s = the longest remaining window. WK_EKVDOWN / WK_EKV when
 * Redis cannot answer (login then fails closed).
 */
int auth_throttle_check(struct wk_ctx *ctx, const char *email_norm, const char *ip,
                        long *retry_after_s);

/* Counts one failed login for the account and the ip. 0 or WK_EKVDOWN / WK_EKV. */
int auth_throttle_fail(struct wk_ctx *ctx, const char *email_norm, const char *ip);

/* Forgets the account's failures after a successful login. 0 or WK_EKVDOWN / WK_EKV. */
int auth_throttle_reset(struct wk_ctx *ctx, const char *email_norm);

/* SET ft:deny:<jti> 1 EX ttl_s: the gateway refuses that access token from now on.
 * 0 or WK_EKVDOWN / WK_EKV. */
int auth_deny_access(struct wk_ctx *ctx, const char *jti, long ttl_s);

/*
 * Before registering: counts one registration from the client ip (a fixed window of
 * AUTH_REGISTER_WINDOW_S) and answers 0 while the count is at most `max`, 1 when over it (with
 * *retry_after_s), WK_EKVDOWN / WK_EKV when Redis cannot answer (registration then fails
 * closed, like login). An ip that is not plain IPv4/IPv6 text counts under one shared key.
 */
#define AUTH_REGISTER_WINDOW_S 3600
int auth_register_throttle(struct wk_ctx *ctx, const char *ip, long max, long *retry_after_s);

/*
 * Before a recipient lookup: counts one lookup by user_id (a UUID from the verified envelope)
 * in a fixed window of AUTH_LOOKUP_WINDOW_S and answers like auth_register_throttle: 0 while at
 * most `max`, 1 over it (*retry_after_s set), WK_EKVDOWN / WK_EKV when Redis cannot answer (the
 * lookup then fails closed). The limit is what keeps the lookup from listing who has an account.
 */
#define AUTH_LOOKUP_WINDOW_S 60
int auth_lookup_throttle(struct wk_ctx *ctx, const char *user_id, long max, long *retry_after_s);

/* ---- revocations (revocations.c) ---- */

/* Inside wk_db_tx: records access token jti of user_id as revoked for ttl_s seconds
 * (auth.revoked_tokens). 0 or a WK_E* code. */
int auth_revoke_record(struct wk_ctx *ctx, const char *user_id, const char *jti, long ttl_s);

/* The worker's tick (wk_spec.tick): re-seeds Redis's denylist from auth.revoked_tokens when
 * its marker is missing, and deletes expired revocations once a minute. 0 or < 0. */
int auth_denylist_tick(struct wk_ctx *ctx);

/* Lowercase hex SHA-256 of len bytes (out: 65 bytes). */
void auth_sha256_hex(const void *data, size_t len, char out[65]);

#endif
