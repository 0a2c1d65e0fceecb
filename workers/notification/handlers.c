/*
 * The notification worker's methods: notif.list, notif.list_account, notif.count, notif.read,
 * notif.read_all, notif.delete (README "Notifications").
 *
 * The acting user is always req->user; every statement carries WHERE user_id = $user, so an
 * id of someone else's notification finds nothing and answers 404 like an unknown one. A path
 * {account_id} is the caller's own user id (all of their notifications) or one of their ledger
 * accounts, checked through ledger.account_owners; anything else is 404 account_not_found.
 * Each method is one statement (plus that check), so none needs an explicit transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "proto/msg.h"
#include "proto/status.h"

/* The API's notification object (README "Notifications") from a row of NOTIFY_COLUMNS (the same
 * object as the live frame's). */
static void pack_notification(msgpack_packer *pk, const PGresult *r, int row)
{
    msgpack_pack_map(pk, 7);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, PQgetvalue(r, row, 0));
    proto_pack_cstr(pk, "account_id");
    proto_pack_cstr(pk, PQgetisnull(r, row, 1) ? NULL : PQgetvalue(r, row, 1));
    proto_pack_cstr(pk, "title");
    proto_pack_cstr(pk, PQgetvalue(r, row, 2));
    proto_pack_cstr(pk, "message");
    proto_pack_cstr(pk, PQgetvalue(r, row, 3));
    proto_pack_cstr(pk, "type");
    proto_pack_cstr(pk, PQgetvalue(r, row, 4));
    proto_pack_cstr(pk, "is_read");
    if (strcmp(PQgetvalue(r, row, 5), "t") == 0)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    proto_pack_cstr(pk, "created_at");
    proto_pack_cstr(pk, PQgetvalue(r, row, 6));
}

enum scope {
    SCOPE_ERROR = -1, /* database failure: the code is in *rc */
    SCOPE_NONE = 0,   /* 404 account_not_found was set on rep */
    SCOPE_ALL,        /* every notification of the user */
    SCOPE_ACCOUNT,    /* the one account in `account` */
};

/*
 * The {account_id} path parameter of a request. `required`: absent is a 404 too (the
 * /{account_id} routes), else absent means all of the user's.
 */
static enum scope account_scope(struct wk_ctx *ctx, const struct proto_request *req,
                                struct wk_reply *rep, const char *user, int required,
                                char account[PROTO_UUID_LEN + 1], int *rc)
{
    int got = wk_path_uuid(req, "account_id", account);
    if (got == 0 && !required)
        return SCOPE_ALL;
    if (got == 1 && strcmp(account, user) == 0)
        return SCOPE_ALL;
    if (got == 1) {
        const char *p[] = {account, user};
        PGresult *r = wk_db_exec_prepared(wk_db(ctx), "notif_own_account",
                                          "SELECT 1 FROM ledger.account_owners "
                                          "WHERE id = $1 AND owner = $2",
                                          2, p);
        if (!r) {
            *rc = wk_db_fail(ctx);
            return SCOPE_ERROR;
        }
        int owned = PQntuples(r) == 1;
        PQclear(r);
        if (owned)
            return SCOPE_ACCOUNT;
    }
    wk_reply_error(rep, 404, "account_not_found", "No such account.");
    return SCOPE_NONE;
}

/* ---- notif.list, notif.list_account ---- */

static int list(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep,
                int by_account)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    struct notify_query q;
    struct notify_invalid bad;
    if (notify_query_parse(proto_map_get(&req->args, "query"), &q, &bad) != 0)
        return wk_reply_error(rep, bad.status, bad.code, "%s", bad.message);
    char account[PROTO_UUID_LEN + 1];
    int rc = 0;
    enum scope sc = account_scope(ctx, req, rep, user, by_account, account, &rc);
    if (sc == SCOPE_ERROR)
        return rc;
    if (sc == SCOPE_NONE)
        return 0;
    char limit[24], offset[24];
    snprintf(limit, sizeof limit, "%ld", q.limit);
    snprintf(offset, sizeof offset, "%ld", q.offset);
    const char *p[] = {user,   sc == SCOPE_ACCOUNT ? account : NULL,
                       q.type, q.unread_only ? "true" : "false",
                       limit,  offset};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "notif_list",
        "SELECT " NOTIFY_COLUMNS " FROM notify.notifications "
        "WHERE user_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid) "
        "AND ($3::text IS NULL OR type = $3::text) AND (NOT $4::boolean OR NOT is_read) "
        "ORDER BY created_at DESC, id DESC LIMIT $5::bigint OFFSET $6::bigint",
        6, p);
    if (!r)
        return wk_db_fail(ctx);
    int n = PQntuples(r);
    msgpack_pack_array(rep->body, (size_t)n);
    for (int i = 0; i < n; i++)
        pack_notification(rep->body, r, i);
    PQclear(r);
    return 0;
}

int notify_list(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    return list(ctx, req, rep, 0);
}

int notify_list_account(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    return list(ctx, req, rep, 1);
}

/* ---- notif.count ---- */

int notify_count(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    char account[PROTO_UUID_LEN + 1];
    int rc = 0;
    enum scope sc = account_scope(ctx, req, rep, user, 0, account, &rc);
    if (sc == SCOPE_ERROR)
        return rc;
    if (sc == SCOPE_NONE)
        return 0;
    const char *p[] = {user, sc == SCOPE_ACCOUNT ? account : NULL};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "notif_count",
        "SELECT count(*), count(*) FILTER (WHERE NOT is_read) FROM notify.notifications "
        "WHERE user_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid)",
        2, p);
    if (!r)
        return wk_db_fail(ctx);
    msgpack_pack_map(rep->body, 2);
    proto_pack_cstr(rep->body, "total");
    msgpack_pack_int64(rep->body, strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    proto_pack_cstr(rep->body, "unread");
    msgpack_pack_int64(rep->body, strtoll(PQgetvalue(r, 0, 1), NULL, 10));
    PQclear(r);
    return 0;
}

/* ---- notif.read, notif.read_all, notif.delete ---- */

static int not_found(struct wk_reply *rep)
{
    return wk_reply_error(rep, 404, "notification_not_found", "No such notification.");
}

int notify_read(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    char id[PROTO_UUID_LEN + 1];
    if (wk_path_uuid(req, "id", id) != 1)
        return not_found(rep);
    const char *p[] = {id, user};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "notif_read",
                                      "UPDATE notify.notifications SET is_read = true "
                                      "WHERE id = $1 AND user_id = $2 RETURNING " NOTIFY_COLUMNS,
                                      2, p);
    if (!r)
        return wk_db_fail(ctx);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return not_found(rep);
    }
    pack_notification(rep->body, r, 0);
    PQclear(r);
    return 0;
}

int notify_read_all(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    char account[PROTO_UUID_LEN + 1];
    int rc = 0;
    enum scope sc = account_scope(ctx, req, rep, user, 0, account, &rc);
    if (sc == SCOPE_ERROR)
        return rc;
    if (sc == SCOPE_NONE)
        return 0;
    const char *p[] = {user, sc == SCOPE_ACCOUNT ? account : NULL};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "notif_read_all",
        "UPDATE notify.notifications SET is_read = true "
        "WHERE user_id = $1 AND NOT is_read AND ($2::uuid IS NULL OR account_id = $2::uuid)",
        2, p);
    if (!r)
        return wk_db_fail(ctx);
    long n = wk_db_affected(r);
    PQclear(r);
    char msg[96];
    snprintf(msg, sizeof msg, "%ld notification%s marked as read.", n, n == 1 ? "" : "s");
    msgpack_pack_map(rep->body, 2);
    proto_pack_cstr(rep->body, "message");
    proto_pack_cstr(rep->body, msg);
    proto_pack_cstr(rep->body, "count");
    msgpack_pack_int64(rep->body, n);
    return 0;
}

int notify_delete(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    char id[PROTO_UUID_LEN + 1];
    if (wk_path_uuid(req, "id", id) != 1)
        return not_found(rep);
    const char *p[] = {id, user};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "notif_delete",
                                      "DELETE FROM notify.notifications "
                                      "WHERE id = $1 AND user_id = $2",
                                      2, p);
    if (!r)
        return wk_db_fail(ctx);
    long n = wk_db_affected(r);
    PQclear(r);
    if (n == 0)
        return not_found(rep);
    msgpack_pack_map(rep->body, 1);
    proto_pack_cstr(rep->body, "message");
    proto_pack_cstr(rep->body, "Notification deleted.");
    return 0;
}
