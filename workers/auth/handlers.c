/*
 * The auth worker's request handlers (except Google sign-in, in handlers_google.c).
 *
 * The acting user is always req->user, which the gateway fills from the verified access
 * token; no handler reads a user id from the body, path or query. args.meta carries what
 * the gateway knows about the connection: ip, and on protected routes the access token's
 * jti and exp (for logout's denylist entry).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "proto/log.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"

#define DENY_SLACK_S 30 /* the gateway's clock-skew leeway on exp */

static const msgpack_object *meta_get(const struct proto_request *req, const char *key)
{
    return proto_map_get(proto_map_get(&req->args, "meta"), key);
}

#define IP_BUF 72

/* The client address the gateway put in args.meta.ip into ip (IP_BUF bytes); "" if none. */
static void client_ip(const struct proto_request *req, char ip[IP_BUF])
{
    const msgpack_object *o = meta_get(req, "ip");
    if (!o || proto_obj_str(o, ip, IP_BUF) != 0)
        ip[0] = '\0';
}

int auth_answer_session(struct wk_ctx *ctx, struct wk_reply *rep, const char *user_id,
                        const char *family_id, int status)
{
    struct auth_session s;
    int rc = auth_session_issue(ctx, user_id, family_id, &s);
    if (rc < 0)
        return rc;
    PGresult *u = auth_user_get(ctx, user_id);
    if (!u)
        return wk_db_fail(ctx);
    if (PQntuples(u) != 1) {
        PQclear(u);
        return WK_EDB; /* a row we just locked or inserted vanished: an invariant is broken */
    }
    auth_session_pack(rep->body, &s, u);
    PQclear(u);
    explicit_bzero(&s, sizeof s);
    rep->status = status;
    return 0;
}

/* Redis (throttles, the denylist) cannot answer: sign-up, sign-in and logout fail closed. */
static int kv_unavailable(struct wk_reply *rep)
{
    return wk_reply_error(rep, 503, "auth_unavailable",
                          "Sign-in is temporarily unavailable. Try again shortly.");
}

/* 429 with Retry-After: `what` says what was too much, then "Try again in N seconds." */
static int too_many(struct wk_reply *rep, const char *code, const char *what, long retry_after_s)
{
    char value[24];
    snprintf(value, sizeof value, "%ld", retry_after_s);
    wk_reply_error(rep, 429, code, "%s Try again in %ld seconds.", what, retry_after_s);
    wk_reply_header(rep, "Retry-After", value);
    return 0;
}

/* ---- auth.register ---- */

struct register_tx {
    struct wk_reply *rep;
    const struct auth_register_input *in;
    const char *hash;
    char id[PROTO_UUID_LEN + 1];
};

static int register_tx(struct wk_ctx *ctx, void *arg)
{
    struct register_tx *t = arg;
    struct auth_new_user u = {
        .id = t->id,
        .email = t->in->email,
        .email_norm = t->in->email_norm,
        .email_verified = 0,
        .password_hash = t->hash,
        .full_name = t->in->full_name,
    };
    int rc = auth_user_insert(ctx, &u);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return wk_reply_error(t->rep, 409, "email_taken",
                              "An account with this email address already exists.");
    return auth_answer_session(ctx, t->rep, t->id, NULL, 201);
}

int auth_register(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return 0;
    struct auth_register_input in;
    struct auth_invalid bad;
    char hash[AUTH_HASH_BUF];
    int rc = auth_register_parse(body, &in, &bad);
    if (rc != 0) {
        explicit_bzero(&in, sizeof in);
        return wk_reply_error(rep, 422, bad.code, "%s", bad.message);
    }
    /* Counted before the (memory-hard, deliberately slow) hash, so a flood of sign-ups from
     * one address costs it a 429, not us a core. */
    char ip[IP_BUF];
    client_ip(req, ip);
    long retry_after = 0;
    rc = auth_register_throttle(ctx, ip, auth_cfg.register_per_ip, &retry_after);
    if (rc != 0) {
        explicit_bzero(&in, sizeof in);
        if (rc < 0) {
            PROTO_WARN(wk_request_id(ctx), "registration refused: redis unavailable", NULL);
            return kv_unavailable(rep);
        }
        return too_many(rep, "too_many_registrations", "Too many sign-ups from this address.",
                        retry_after);
    }
    rc = auth_password_hash(in.password, hash, sizeof hash);
    explicit_bzero(in.password, sizeof in.password);
    if (rc != 0)
        return rc;
    struct register_tx t = {.rep = rep, .in = &in, .hash = hash};
    if (proto_uuid_v4(t.id) != 0)
        return PROTO_EIO;
    rc = wk_db_tx(ctx, register_tx, &t);
    if (rc == 0)
        PROTO_INFO(wk_request_id(ctx), "user registered", "user=%s", t.id);
    return rc;
}

/* ---- auth.login ---- */

struct login_tx {
    struct wk_reply *rep;
    const char *user_id;
};

static int login_tx(struct wk_ctx *ctx, void *arg)
{
    struct login_tx *t = arg;
    return auth_answer_session(ctx, t->rep, t->user_id, NULL, 200);
}

int auth_login(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return 0;
    char raw[AUTH_EMAIL_MAX + 64], email[AUTH_EMAIL_MAX + 1], norm[AUTH_EMAIL_MAX + 1];
    char pw[AUTH_PASSWORD_BUF], ip[IP_BUF], hash[AUTH_HASH_BUF], id[PROTO_UUID_LEN + 1];
    int rc = auth_body_str(body, "email", raw, sizeof raw);
    if (rc != 0 || auth_email_normalize(raw, email, norm) != 0) {
        return wk_reply_error(rep, 422, "invalid_email", "email must be a valid address.");
    }
    rc = auth_body_str(body, "password", pw, sizeof pw);
    if (rc == PROTO_EMISSING || rc == PROTO_ETYPE || rc == PROTO_EUTF8) {
        return wk_reply_error(rep, 422, "invalid_password", "password is required.");
    }
    /* A password too long to have been registered simply cannot match. */
    int pw_usable = rc == 0 && auth_password_check(pw) == 0;
    client_ip(req, ip);

    long retry_after = 0;
    rc = auth_throttle_check(ctx, norm, ip, &retry_after);
    if (rc < 0) {
        PROTO_WARN(wk_request_id(ctx), "login refused: redis unavailable", NULL);
        explicit_bzero(pw, sizeof pw);
        return kv_unavailable(rep);
    }
    if (rc == 1) {
        explicit_bzero(pw, sizeof pw);
        return too_many(rep, "too_many_attempts", "Too many failed sign-in attempts.", retry_after);
    }

    int found = auth_user_credentials(ctx, norm, id, hash, sizeof hash);
    if (found < 0) {
        explicit_bzero(pw, sizeof pw);
        return found;
    }
    int ok;
    if (found && hash[0] && pw_usable) {
        ok = auth_password_verify(hash, pw);
    } else {
        /* Same work as a real check, so the answer's timing does not tell whether the
         * account exists (or has a password at all). */
        auth_password_verify(auth_cfg.dummy_hash, pw);
        ok = 0;
    }
    explicit_bzero(pw, sizeof pw);
    if (!ok) {
        if (auth_throttle_fail(ctx, norm, ip) < 0)
            return kv_unavailable(rep);
        return wk_reply_error(rep, 401, "invalid_credentials", "Wrong email or password.");
    }
    if (auth_throttle_reset(ctx, norm) < 0)
        PROTO_WARN(wk_request_id(ctx), "could not reset the login failure counter", NULL);
    struct login_tx t = {rep, id};
    return wk_db_tx(ctx, login_tx, &t);
}

/* ---- auth.refresh ---- */

struct refresh_tx {
    struct wk_reply *rep;
    const char *token;
    char user_id[PROTO_UUID_LEN + 1];
};

static int refresh_tx(struct wk_ctx *ctx, void *arg)
{
    struct refresh_tx *t = arg;
    struct auth_session s;
    int state = auth_refresh_rotate(ctx, t->token, &s, t->user_id);
    if (state < 0)
        return state;
    if (state == AUTH_REFRESH_UNKNOWN)
        return wk_reply_error(t->rep, 401, "invalid_refresh_token",
                              "The refresh token is invalid or expired. Sign in again.");
    if (state == AUTH_REFRESH_REUSED) {
        /* Commit the family's revocation, answer the error. */
        wk_reply_error(t->rep, 401, "refresh_token_reused",
                       "This refresh token was already used; the session has been revoked. "
                       "Sign in again.");
        return 0;
    }
    PGresult *u = auth_user_get(ctx, t->user_id);
    if (!u)
        return wk_db_fail(ctx);
    int rows = PQntuples(u);
    if (rows == 1)
        auth_session_pack(t->rep->body, &s, u);
    PQclear(u);
    explicit_bzero(&s, sizeof s);
    return rows == 1 ? 0 : WK_EDB;
}

int auth_refresh(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return 0;
    char token[AUTH_REFRESH_LEN + 16];
    int rc = auth_body_str(body, "refresh_token", token, sizeof token);
    if (rc == PROTO_EMISSING || rc == PROTO_ETYPE) {
        return wk_reply_error(rep, 422, "invalid_refresh_token", "refresh_token is required.");
    }
    if (rc != 0) {
        return wk_reply_error(rep, 401, "invalid_refresh_token",
                              "The refresh token is invalid or expired. Sign in again.");
    }
    struct refresh_tx t = {.rep = rep, .token = token};
    rc = wk_db_tx(ctx, refresh_tx, &t);
    explicit_bzero(token, sizeof token);
    if (rc == 0 && wk_reply_is_error(rep))
        PROTO_WARN(wk_request_id(ctx), "refresh token reused: family revoked", "user=%s",
                   t.user_id);
    return rc;
}

/* ---- auth.logout ---- */

struct logout_tx {
    struct wk_reply *rep;
    const char *user_id;
    char jti[PROTO_UUID_LEN + 1];
    long deny_ttl_s;
};

static int logout_tx(struct wk_ctx *ctx, void *arg)
{
    struct logout_tx *t = arg;
    int n = auth_refresh_revoke_for_access(ctx, t->user_id, t->jti);
    if (n < 0)
        return n;
    /* The record that outlives Redis (revocations.c re-seeds Redis from it). */
    if ((n = auth_revoke_record(ctx, t->user_id, t->jti, t->deny_ttl_s)) < 0)
        return n;
    /* Inside the transaction: if Redis cannot take the denylist entry, the revocation rolls
     * back too and the client retries the whole logout. */
    if (auth_deny_access(ctx, t->jti, t->deny_ttl_s) < 0)
        return kv_unavailable(t->rep);
    /* After the commit, the gateway closes the user's live sockets (best effort). */
    wk_live_close_user(ctx, t->user_id, 1008, "logged out");
    msgpack_pack_nil(t->rep->body);
    t->rep->status = 204;
    return 0;
}

int auth_logout(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    struct logout_tx t = {.rep = rep, .user_id = user};
    const msgpack_object *jti = meta_get(req, "jti");
    const msgpack_object *exp = meta_get(req, "token_exp");
    int64_t exp_s;
    if (!jti || proto_obj_str(jti, t.jti, sizeof t.jti) != 0 || !proto_uuid_valid(t.jti) || !exp ||
        proto_obj_int(exp, &exp_s) != 0) {
        return wk_reply_error(rep, 401, "unauthenticated", "Sign in first.");
    }
    int64_t ttl = exp_s - (int64_t)time(NULL) + DENY_SLACK_S;
    if (ttl < 1)
        ttl = 1;
    if (ttl > 86400 + DENY_SLACK_S)
        ttl = 86400 + DENY_SLACK_S; /* access tokens never live longer */
    t.deny_ttl_s = (long)ttl;
    int rc = wk_db_tx(ctx, logout_tx, &t);
    if (rc == 0 && !wk_reply_is_error(rep)) {
        /* Once more after the commit: a re-seed of Redis that read auth.revoked_tokens before
         * this commit (and after a flush took the first key) would otherwise miss it. */
        if (auth_deny_access(ctx, t.jti, t.deny_ttl_s) < 0)
            PROTO_WARN(wk_request_id(ctx), "denylist key not rewritten after commit", NULL);
        PROTO_INFO(wk_request_id(ctx), "signed out", "user=%s", user);
    }
    return rc;
}

/* ---- auth.me, auth.profile_complete ---- */

static int user_not_found(struct wk_reply *rep)
{
    return wk_reply_error(rep, 404, "user_not_found", "This account no longer exists.");
}

int auth_me(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    PGresult *u = auth_user_get(ctx, user);
    if (!u)
        return wk_db_fail(ctx);
    if (PQntuples(u) == 1)
        auth_user_pack(rep->body, u);
    else
        user_not_found(rep);
    PQclear(u);
    return 0;
}

int auth_profile_complete(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    int complete = 0;
    int found = auth_user_profile_complete(ctx, user, &complete);
    if (found < 0)
        return found;
    if (!found) {
        return user_not_found(rep);
    }
    msgpack_pack_map(rep->body, 1);
    proto_pack_cstr(rep->body, "is_profile_complete");
    if (complete)
        msgpack_pack_true(rep->body);
    else
        msgpack_pack_false(rep->body);
    return 0;
}

/* ---- auth.config, auth.lookup ---- */

/* GET /api/config (public): what the web app needs before anyone signs in. Nothing secret:
 * a Google client id is public by design (every page that offers the button embeds it). */
int auth_config(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    (void)ctx;
    (void)req;
    const char *id = auth_cfg.google_client_id;
    msgpack_pack_map(rep->body, 2);
    proto_pack_cstr(rep->body, "google_client_id");
    if (id[0])
        proto_pack_cstr(rep->body, id);
    else
        msgpack_pack_nil(rep->body);
    proto_pack_cstr(rep->body, "google_enabled");
    if (id[0])
        msgpack_pack_true(rep->body);
    else
        msgpack_pack_false(rep->body);
    return 0;
}

/* Query parameter `key` when it is there and not nil, else NULL. */
static const msgpack_object *query_arg(const msgpack_object *query, const char *key)
{
    const msgpack_object *o = proto_map_get(query, key);
    return o && o->type != MSGPACK_OBJECT_NIL ? o : NULL;
}

/*
 * GET /api/users/lookup?email= or ?id= (signed in): who receives a transfer to this address,
 * or who is on the other side of a transfer the caller lists, as {id, full_name}, so the
 * sender can confirm the name before sending to the id and the list can show names. Exactly
 * one of the two: both is 422 invalid_query (which one would be meant?); neither is what a
 * missing email always was, 422 invalid_email. Either way it tells whether someone has an
 * account, so every lookup is counted per caller (fixed window, AUTH_LOOKUP_PER_MIN, one
 * counter for both kinds) before the database is asked, and Redis down refuses (fail closed).
 * Malformed input is refused before counting. The address is never logged.
 */
int auth_lookup(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    const msgpack_object *query = proto_map_get(&req->args, "query");
    const msgpack_object *by_id = query_arg(query, "id");
    if (by_id && query_arg(query, "email"))
        return wk_reply_error(rep, 422, "invalid_query", "Send either email or id, not both.");
    char id[PROTO_UUID_LEN + 1], email[AUTH_EMAIL_MAX + 1], norm[AUTH_EMAIL_MAX + 1];
    if (by_id) {
        if (proto_obj_str(by_id, id, sizeof id) != 0 || !proto_uuid_valid(id))
            return wk_reply_error(rep, 422, "invalid_user_id", "id must be a user id (a UUID).");
    } else {
        struct auth_invalid bad;
        if (auth_email_parse(query, email, norm, &bad) != 0)
            return wk_reply_error(rep, 422, bad.code, "%s", bad.message);
    }
    long retry_after = 0;
    int rc = auth_lookup_throttle(ctx, user, auth_cfg.lookup_per_min, &retry_after);
    if (rc < 0) {
        PROTO_WARN(wk_request_id(ctx), "lookup refused: redis unavailable", NULL);
        return kv_unavailable(rep);
    }
    if (rc == 1)
        return too_many(rep, "too_many_lookups", "Too many recipient lookups.", retry_after);
    int found =
        by_id ? auth_user_lookup_id(ctx, id, rep->body) : auth_user_lookup(ctx, norm, rep->body);
    if (found < 0)
        return found;
    if (!found)
        return wk_reply_error(rep, 404, "user_not_found",
                              by_id ? "No user has this id." : "No user has this email address.");
    return 0;
}

/* ---- auth.profile_update ---- */

struct profile_tx {
    struct wk_reply *rep;
    const char *user_id;
    const struct auth_profile *p;
};

static int profile_tx(struct wk_ctx *ctx, void *arg)
{
    struct profile_tx *t = arg;
    int was_complete = 0;
    int found = auth_user_lock_profile(ctx, t->user_id, &was_complete);
    if (found < 0)
        return found;
    if (!found)
        return user_not_found(t->rep);
    PGresult *u = auth_user_update_profile(ctx, t->user_id, t->p);
    if (!u)
        return wk_db_fail(ctx);
    if (PQntuples(u) != 1) {
        PQclear(u);
        return user_not_found(t->rep);
    }
    /* Every value below is a UUID, a number or one of a fixed set of words: no escaping. */
    char income[PROTO_MONEY_TEXT_MAX], data[512];
    proto_money_format(t->p->monthly_income, t->p->exponent, income, sizeof income);
    snprintf(data, sizeof data,
             "{\"user_id\":\"%s\",\"currency_preference\":\"%s\",\"monthly_income\":\"%s\","
             "\"financial_goal\":\"%s\",\"risk_appetite\":\"%s\",\"first_completion\":%s}",
             t->user_id, t->p->currency, income, t->p->financial_goal, t->p->risk_appetite,
             was_complete ? "false" : "true");
    int rc = wk_outbox_add(ctx, "profile.updated", t->user_id, data);
    if (rc == 0)
        auth_user_pack(t->rep->body, u);
    PQclear(u);
    return rc;
}

int auth_profile_update(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return 0;
    struct auth_profile p;
    struct auth_invalid bad;
    if (auth_profile_parse(body, &p, &bad) != 0) {
        return wk_reply_error(rep, 422, bad.code, "%s", bad.message);
    }
    struct profile_tx t = {rep, user, &p};
    return wk_db_tx(ctx, profile_tx, &t);
}
