/*
 * The twin worker's history: twin.history (the 10 most recent), twin.detail, twin.delete and
 * twin.clear. Rows are read as they were saved (item and detail, packed when computed), never
 * recomputed. Ownership is part of every WHERE clause (user_id = the acting user); a path
 * {account_id} may be the caller's own user id (every simulation of the user) or one of the
 * caller's account ids (checked through ledger.twin_accounts, so another user's account id
 * answers 404 exactly like an unknown one). Items read back carry before_balance and
 * after_balance beside current_balance/virtual_balance (pack_row says why).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/money.h"
#include "proto/msg.h"
#include "twin.h"

#define HISTORY_LIMIT "10"

/* The path's account reference: NULL for "every account of the user" (no parameter, or the
 * user's own id), else the account id in out. 0 to go on, 1 after answering 404, < 0 on a
 * database error. */
static int path_scope(struct wk_ctx *ctx, const struct proto_request *req, const char *user,
                      char out[PROTO_UUID_LEN + 1], const char **scope, struct wk_reply *rep)
{
    *scope = NULL;
    int got = wk_path_uuid(req, "account_id", out);
    if (got == 0)
        return 0;
    if (got < 0) {
        wk_reply_error(rep, 404, "account_not_found", "No such account.");
        return 1;
    }
    if (strcmp(out, user) == 0)
        return 0;
    struct twin_account_ref ref = {.has = 1};
    memcpy(ref.id, out, sizeof ref.id);
    struct twin_account acct;
    int rc = twin_lookup(ctx, user, &ref, NULL, &acct, rep);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        wk_reply_error(rep, 404, "account_not_found", "No such account.");
        return 1;
    }
    *scope = out;
    return 0;
}

/* The columns pack_row reads after the stored item (see ITEM_COLS). */
#define ITEM_COLS(item) item ", current_balance, virtual_balance, currency"

static int is_alias(const msgpack_object_kv *kv)
{
    const msgpack_object *k = &kv->key;
    return k->type == MSGPACK_OBJECT_STR &&
           ((k->via.str.size == 14 && memcmp(k->via.str.ptr, "before_balance", 14) == 0) ||
            (k->via.str.size == 13 && memcmp(k->via.str.ptr, "after_balance", 13) == 0));
}

/* Writes row i of r (ITEM_COLS: a stored item, then its balances and currency) as the item's
 * map plus `before_balance` and `after_balance`: the names earlier FinTwin clients read (they
 * show "NaN" without them) for the balance before and after the simulation (a projection's
 * start and end). Rows saved since carry them and are written as stored; older rows get them
 * appended. 0 or WK_EDB. */
static int pack_row(struct wk_reply *rep, PGresult *r, int i)
{
    size_t len = 0;
    unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 0), &len);
    if (!b)
        return WK_EDB;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    int rc = WK_EDB;
    if (proto_msgpack_scan((const char *)b, len, 32) != 0 ||
        msgpack_unpack_next(&up, (const char *)b, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP)
        goto done;
    const msgpack_object_map *m = &up.data.via.map;
    uint32_t aliases = 0;
    for (uint32_t k = 0; k < m->size; k++)
        aliases += is_alias(&m->ptr[k]);
    if (aliases == 2) { /* saved with them: the bytes as they were answered */
        wk_reply_raw(rep, b, len);
        rc = 0;
        goto done;
    }
    int e = proto_currency_exponent(PQgetvalue(r, i, 3));
    if (e < 0)
        goto done;
    msgpack_pack_map(rep->body, m->size - aliases + 2);
    for (uint32_t k = 0; k < m->size; k++) {
        if (is_alias(&m->ptr[k]))
            continue;
        msgpack_pack_object(rep->body, m->ptr[k].key);
        msgpack_pack_object(rep->body, m->ptr[k].val);
    }
    proto_pack_cstr(rep->body, "before_balance");
    proto_pack_money(rep->body, strtoll(PQgetvalue(r, i, 1), NULL, 10), e);
    proto_pack_cstr(rep->body, "after_balance");
    proto_pack_money(rep->body, strtoll(PQgetvalue(r, i, 2), NULL, 10), e);
    rc = 0;
done:
    msgpack_unpacked_destroy(&up);
    PQfreemem(b);
    return rc;
}

/* Writes every row of r (ITEM_COLS) as one msgpack array. 0 or WK_EDB. */
static int pack_rows(struct wk_reply *rep, PGresult *r)
{
    int n = PQntuples(r);
    msgpack_pack_array(rep->body, (size_t)n);
    for (int i = 0; i < n; i++)
        if (pack_row(rep, r, i) != 0)
            return WK_EDB;
    return 0;
}

/*
 * The acting user's rows of twin.simulations in the path's scope: runs `sql` with $1 the user
 * and $2 the account id or NULL (every account). The result, or NULL with *rc set: 0 when rep
 * is answered (401, 404), < 0 on a database error.
 */
static PGresult *scoped(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep,
                        const char *name, const char *sql, int *rc)
{
    const char *user = wk_acting_user(req, rep);
    *rc = 0;
    if (!user)
        return NULL;
    char buf[PROTO_UUID_LEN + 1];
    const char *scope;
    int st = path_scope(ctx, req, user, buf, &scope, rep);
    if (st != 0) {
        *rc = st < 0 ? st : 0;
        return NULL;
    }
    const char *p[] = {user, scope};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), name, sql, 2, p);
    if (!r)
        *rc = wk_db_fail(ctx);
    return r;
}

int twin_history(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    int rc;
    PGresult *r = scoped(ctx, req, rep, "twin_history",
                         "SELECT " ITEM_COLS("item") " FROM twin.simulations WHERE user_id = $1 "
                         "AND ($2::uuid IS NULL OR account_id = $2) "
                         "ORDER BY created_at DESC, id DESC LIMIT " HISTORY_LIMIT,
                         &rc);
    if (!r)
        return rc;
    rc = pack_rows(rep, r);
    PQclear(r);
    return rc;
}

static int bad_id(struct wk_reply *rep)
{
    return wk_reply_error(rep, 404, "simulation_not_found", "No such simulation.");
}

int twin_detail(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    char id[PROTO_UUID_LEN + 1];
    if (wk_path_uuid(req, "id", id) != 1)
        return bad_id(rep);
    const char *p[] = {id, user};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "twin_detail",
                                      "SELECT " ITEM_COLS("coalesce(detail, item)")
                                      " FROM twin.simulations WHERE id = $1 AND user_id = $2",
                                      2, p);
    if (!r)
        return wk_db_fail(ctx);
    if (PQntuples(r) == 0) {
        PQclear(r);
        return bad_id(rep);
    }
    int rc = pack_row(rep, r, 0);
    PQclear(r);
    return rc;
}

static void pack_message(struct wk_reply *rep, const char *message, long deleted)
{
    msgpack_pack_map(rep->body, deleted >= 0 ? 2 : 1);
    proto_pack_cstr(rep->body, "message");
    proto_pack_cstr(rep->body, message);
    if (deleted >= 0) {
        proto_pack_cstr(rep->body, "deleted_count");
        msgpack_pack_long(rep->body, deleted);
    }
}

int twin_delete(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    char id[PROTO_UUID_LEN + 1];
    if (wk_path_uuid(req, "id", id) != 1)
        return bad_id(rep);
    const char *p[] = {id, user};
    PGresult *r =
        wk_db_exec_prepared(wk_db(ctx), "twin_delete",
                            "DELETE FROM twin.simulations WHERE id = $1 AND user_id = $2", 2, p);
    if (!r)
        return wk_db_fail(ctx);
    long n = wk_db_affected(r);
    PQclear(r);
    if (n == 0)
        return bad_id(rep);
    pack_message(rep, "Simulation deleted.", -1);
    return 0;
}

int twin_clear(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    int rc;
    PGresult *r = scoped(ctx, req, rep, "twin_clear",
                         "DELETE FROM twin.simulations WHERE user_id = $1 "
                         "AND ($2::uuid IS NULL OR account_id = $2)",
                         &rc);
    if (!r)
        return rc;
    long n = wk_db_affected(r);
    PQclear(r);
    char message[64];
    snprintf(message, sizeof message, "%ld simulation%s deleted.", n, n == 1 ? "" : "s");
    pack_message(rep, message, n);
    return 0;
}
