/*
 * SQL for auth.users; see auth.h. Every statement is keyed by the user id the handler got
 * from the verified envelope (or by an email / Google sub while signing in), never by an id
 * from a request body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "proto/log.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"

/* The API's `user` object (README "Signing in"), in this order (auth_user_pack reads the columns by
 * position). */
#define USER_COLS                                                                                  \
    "id, email, full_name, picture, account_name, phone_number, currency_preference, "             \
    "monthly_income, financial_goal, risk_appetite, is_profile_complete, default_account_id"

enum {
    COL_ID,
    COL_EMAIL,
    COL_FULL_NAME,
    COL_PICTURE,
    COL_ACCOUNT_NAME,
    COL_PHONE,
    COL_CURRENCY,
    COL_INCOME,
    COL_GOAL,
    COL_RISK,
    COL_COMPLETE,
    COL_DEFAULT_ACCOUNT,
};

int auth_user_insert(struct wk_ctx *ctx, const struct auth_new_user *u)
{
    const char *params[] = {u->id,
                            u->email,
                            u->email_norm,
                            u->email_verified ? "true" : "false",
                            u->password_hash,
                            u->google_sub,
                            u->full_name,
                            u->picture};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "auth_user_insert",
        "INSERT INTO auth.users (id, email, email_norm, email_verified, password_hash, "
        "google_sub, full_name, picture) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT DO NOTHING RETURNING id",
        8, params);
    if (!r)
        return wk_db_fail(ctx);
    int inserted = PQntuples(r) == 1;
    PQclear(r);
    if (!inserted)
        return 0;
    char data[64];
    snprintf(data, sizeof data, "{\"user_id\":\"%s\"}", u->id); /* a UUID: no escaping */
    int rc = wk_outbox_add(ctx, "user.registered", u->id, data);
    return rc < 0 ? rc : 1;
}

int auth_on_default_ready(struct wk_ctx *ctx, const struct proto_event *ev)
{
    char user[PROTO_UUID_LEN + 1], account[PROTO_UUID_LEN + 1];
    if (proto_obj_uuid(proto_map_get(&ev->data, "user_id"), user) != 0 ||
        proto_obj_uuid(proto_map_get(&ev->data, "account_id"), account) != 0 ||
        (ev->user[0] && strcasecmp(ev->user, user) != 0)) {
        PROTO_WARN(ev->id, "account.default_ready without user_id/account_id, ignored", NULL);
        return 0;
    }
    const char *params[] = {user, account};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "auth_user_default_account",
                                      "UPDATE auth.users SET default_account_id = $2 "
                                      "WHERE id = $1 AND default_account_id IS DISTINCT FROM $2",
                                      2, params);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}

PGresult *auth_user_get(struct wk_ctx *ctx, const char *user_id)
{
    const char *params[] = {user_id};
    return wk_db_exec_prepared(wk_db(ctx), "auth_user_get",
                               "SELECT " USER_COLS " FROM auth.users WHERE id = $1", 1, params);
}

/* A text column, or nil for SQL NULL. */
static void pack_col(msgpack_packer *pk, const PGresult *r, int col)
{
    if (PQgetisnull(r, 0, col))
        msgpack_pack_nil(pk);
    else
        proto_pack_cstr(pk, PQgetvalue(r, 0, col));
}

void auth_user_pack(msgpack_packer *pk, const PGresult *r)
{
    msgpack_pack_map(pk, 12);
    proto_pack_cstr(pk, "id");
    pack_col(pk, r, COL_ID);
    proto_pack_cstr(pk, "email");
    pack_col(pk, r, COL_EMAIL);
    proto_pack_cstr(pk, "full_name");
    pack_col(pk, r, COL_FULL_NAME);
    proto_pack_cstr(pk, "picture");
    pack_col(pk, r, COL_PICTURE);
    proto_pack_cstr(pk, "account_name");
    pack_col(pk, r, COL_ACCOUNT_NAME);
    proto_pack_cstr(pk, "phone_number");
    pack_col(pk, r, COL_PHONE);
    proto_pack_cstr(pk, "currency_preference");
    pack_col(pk, r, COL_CURRENCY);
    proto_pack_cstr(pk, "monthly_income");
    int exponent = PQgetisnull(r, 0, COL_CURRENCY)
                       ? -1
                       : proto_currency_exponent(PQgetvalue(r, 0, COL_CURRENCY));
    if (PQgetisnull(r, 0, COL_INCOME) || exponent < 0)
        msgpack_pack_nil(pk);
    else
        proto_pack_money(pk, strtoll(PQgetvalue(r, 0, COL_INCOME), NULL, 10), exponent);
    proto_pack_cstr(pk, "financial_goal");
    pack_col(pk, r, COL_GOAL);
    proto_pack_cstr(pk, "risk_appetite");
    pack_col(pk, r, COL_RISK);
    proto_pack_cstr(pk, "is_profile_complete");
    if (strcmp(PQgetvalue(r, 0, COL_COMPLETE), "t") == 0)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    proto_pack_cstr(pk, "default_account_id");
    pack_col(pk, r, COL_DEFAULT_ACCOUNT);
}

/* Packs a lookup's row (id, full_name) into pk when there is one: 1, else 0. Only the two
 * columns a sender needs to confirm the recipient, never the email, picture or profile of
 * someone who did not choose to share them. Clears r. */
static int pack_lookup(msgpack_packer *pk, PGresult *r)
{
    int found = PQntuples(r) == 1;
    if (found) {
        msgpack_pack_map(pk, 2);
        proto_pack_cstr(pk, "id");
        pack_col(pk, r, 0);
        proto_pack_cstr(pk, "full_name");
        pack_col(pk, r, 1);
    }
    PQclear(r);
    return found;
}

int auth_user_lookup(struct wk_ctx *ctx, const char *email_norm, msgpack_packer *pk)
{
    const char *params[] = {email_norm};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "auth_user_lookup",
                                      "SELECT id, full_name FROM auth.users WHERE email_norm = $1",
                                      1, params);
    if (!r)
        return wk_db_fail(ctx);
    return pack_lookup(pk, r);
}

int auth_user_lookup_id(struct wk_ctx *ctx, const char *user_id, msgpack_packer *pk)
{
    const char *params[] = {user_id};
    PGresult *r =
        wk_db_exec_prepared(wk_db(ctx), "auth_user_lookup_id",
                            "SELECT id, full_name FROM auth.users WHERE id = $1", 1, params);
    if (!r)
        return wk_db_fail(ctx);
    return pack_lookup(pk, r);
}

int auth_user_credentials(struct wk_ctx *ctx, const char *email_norm, char id[PROTO_UUID_LEN + 1],
                          char *hash, size_t hash_size)
{
    const char *params[] = {email_norm};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "auth_user_credentials",
        "SELECT id, coalesce(password_hash, '') FROM auth.users WHERE email_norm = $1", 1, params);
    if (!r)
        return wk_db_fail(ctx);
    int found = PQntuples(r) == 1;
    if (found) {
        snprintf(id, PROTO_UUID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
        snprintf(hash, hash_size, "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return found;
}

int auth_user_lock_profile(struct wk_ctx *ctx, const char *user_id, int *complete)
{
    const char *params[] = {user_id};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "auth_user_lock_profile",
        "SELECT is_profile_complete FROM auth.users WHERE id = $1 FOR UPDATE", 1, params);
    if (!r)
        return wk_db_fail(ctx);
    int found = PQntuples(r) == 1;
    if (found)
        *complete = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return found;
}

int auth_user_profile_complete(struct wk_ctx *ctx, const char *user_id, int *complete)
{
    const char *params[] = {user_id};
    PGresult *r =
        wk_db_exec_prepared(wk_db(ctx), "auth_user_profile_complete",
                            "SELECT is_profile_complete FROM auth.users WHERE id = $1", 1, params);
    if (!r)
        return wk_db_fail(ctx);
    int found = PQntuples(r) == 1;
    if (found)
        *complete = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return found;
}

PGresult *auth_user_update_profile(struct wk_ctx *ctx, const char *user_id,
                                   const struct auth_profile *p)
{
    char income[32];
    snprintf(income, sizeof income, "%lld", (long long)p->monthly_income);
    const char *params[] = {user_id, p->account_name,   p->phone_number, p->currency,
                            income,  p->financial_goal, p->risk_appetite};
    return wk_db_exec_prepared(
        wk_db(ctx), "auth_user_update_profile",
        "UPDATE auth.users SET account_name = $2, phone_number = $3, currency_preference = $4, "
        "monthly_income = $5, financial_goal = $6, risk_appetite = $7, "
        "is_profile_complete = true, updated_at = now() WHERE id = $1 RETURNING " USER_COLS,
        7, params);
}

int auth_user_by_google_sub(struct wk_ctx *ctx, const char *sub, char id[PROTO_UUID_LEN + 1])
{
    const char *params[] = {sub};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "auth_user_by_google_sub",
                                      "SELECT id FROM auth.users WHERE google_sub = $1 FOR UPDATE",
                                      1, params);
    if (!r)
        return wk_db_fail(ctx);
    int found = PQntuples(r) == 1;
    if (found)
        snprintf(id, PROTO_UUID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return found;
}

int auth_user_by_email(struct wk_ctx *ctx, const char *email_norm, char id[PROTO_UUID_LEN + 1],
                       int *has_google)
{
    const char *params[] = {email_norm};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "auth_user_by_email",
        "SELECT id, google_sub IS NOT NULL FROM auth.users WHERE email_norm = $1 FOR UPDATE", 1,
        params);
    if (!r)
        return wk_db_fail(ctx);
    int found = PQntuples(r) == 1;
    if (found) {
        snprintf(id, PROTO_UUID_LEN + 1, "%s", PQgetvalue(r, 0, 0));
        *has_google = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    }
    PQclear(r);
    return found;
}

int auth_user_link_google(struct wk_ctx *ctx, const char *id, const char *sub, const char *picture)
{
    const char *params[] = {id, sub, picture};
    PGresult *r =
        wk_db_exec_prepared(wk_db(ctx), "auth_user_link_google",
                            "UPDATE auth.users SET google_sub = $2, email_verified = true, "
                            "picture = coalesce(picture, $3), updated_at = now() WHERE id = $1",
                            3, params);
    if (!r)
        return wk_db_fail(ctx);
    PQclear(r);
    return 0;
}
