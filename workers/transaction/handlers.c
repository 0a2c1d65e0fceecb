/*
 * The transaction worker's account handlers: acct.list (opens the default account on first
 * use), acct.create, and the user.registered and profile.updated events. txn.create is in
 * post.c, the history in history.c.
 *
 * The acting user is always req->user (the gateway fills it from the verified token); ids
 * in the body name accounts and are checked against it in SQL.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ledger.h"
#include "proto/buf.h"
#include "proto/log.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"

/* created_at as RFC 3339 UTC with milliseconds. */

/* ---- accounts ---- */

#define ACCOUNT_COLS "id, name, kind, currency, balance, " WK_SQL_TS("created_at") ", is_default"

/* The API's account object (README "Money") from a row of ACCOUNT_COLS. */
static void pack_account(msgpack_packer *pk, const PGresult *r, int row)
{
    const char *currency = PQgetvalue(r, row, 3);
    msgpack_pack_map(pk, 7);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, PQgetvalue(r, row, 0));
    proto_pack_cstr(pk, "name");
    proto_pack_cstr(pk, PQgetvalue(r, row, 1));
    proto_pack_cstr(pk, "kind");
    proto_pack_cstr(pk, PQgetvalue(r, row, 2));
    proto_pack_cstr(pk, "currency");
    proto_pack_cstr(pk, currency);
    proto_pack_cstr(pk, "balance");
    proto_pack_money(pk, strtoll(PQgetvalue(r, row, 4), NULL, 10),
                     proto_currency_exponent(currency));
    proto_pack_cstr(pk, "created_at");
    proto_pack_cstr(pk, PQgetvalue(r, row, 5));
    proto_pack_cstr(pk, "is_default");
    if (strcmp(PQgetvalue(r, row, 6), "t") == 0)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

struct list_tx {
    struct wk_reply *rep;
    const char *user;
};

static int acct_list_tx(struct wk_ctx *ctx, void *arg)
{
    struct list_tx *t = arg;
    struct ledger_account def;
    int rc = ledger_default_account(ctx, t->user, NULL, &def);
    if (rc < 0)
        return rc;
    const char *p[] = {t->user};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "acct_list",
                                      "SELECT " ACCOUNT_COLS " FROM ledger.accounts "
                                      "WHERE owner = $1 ORDER BY is_default DESC, created_at, id",
                                      1, p);
    if (!r)
        return wk_db_fail(ctx);
    int n = PQntuples(r);
    msgpack_pack_array(t->rep->body, (size_t)n);
    for (int i = 0; i < n; i++)
        pack_account(t->rep->body, r, i);
    PQclear(r);
    return 0;
}

int ledger_acct_list(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    struct list_tx t = {rep, user};
    return wk_db_tx(ctx, acct_list_tx, &t);
}

/* Stores the packed 201 body `sb` as the reply of the request's idempotency key (in the
 * posting's transaction, so a replay returns exactly it) and answers it. */
static int answer_created(struct wk_ctx *ctx, struct wk_reply *rep, const char *user,
                          const struct wk_idem *idem, const msgpack_sbuffer *sb,
                          const char *transfer_id)
{
    int rc = ledger_idem_finish(ctx, user, idem, 201, sb->data, sb->size, transfer_id);
    if (rc < 0)
        return rc;
    wk_reply_raw(rep, sb->data, sb->size);
    rep->status = 201;
    return 0;
}

struct acct_create_tx {
    struct wk_reply *rep;
    const char *user;
    const struct ledger_account_input *in;
    struct wk_idem idem;
    msgpack_sbuffer sb;
};

static int acct_create_tx(struct wk_ctx *ctx, void *arg)
{
    struct acct_create_tx *t = arg;
    t->sb.size = 0; /* a retried attempt starts over */
    int rc = ledger_idem_claim(ctx, t->user, &t->idem, t->rep);
    if (rc <= 0)
        return rc;
    struct ledger_account def;
    rc = ledger_default_account(ctx, t->user, NULL, &def);
    if (rc < 0)
        return rc;
    char id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(id) != 0)
        return PROTO_EIO;
    const char *p[] = {id, t->user, t->in->name, t->in->kind, t->in->currency};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "acct_create",
                                      "INSERT INTO ledger.accounts (id, owner, name, kind, "
                                      "currency) VALUES ($1, $2, $3, $4, $5) "
                                      "RETURNING " ACCOUNT_COLS,
                                      5, p);
    if (!r)
        return wk_db_fail(ctx);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &t->sb, msgpack_sbuffer_write);
    pack_account(&pk, r, 0);
    PQclear(r);
    return answer_created(ctx, t->rep, t->user, &t->idem, &t->sb, NULL);
}

int ledger_acct_create(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return 0;
    struct ledger_account_input in;
    struct ledger_invalid bad;
    if (ledger_account_parse(body, &in, &bad) != 0)
        return wk_reply_error(rep, bad.status, bad.code, "%s", bad.message);
    struct acct_create_tx t = {.rep = rep, .user = user, .in = &in};
    if (wk_idem_prepare(&t.idem, req, body) != 0)
        return PROTO_EIO;
    msgpack_sbuffer_init(&t.sb);
    int rc = wk_db_tx(ctx, acct_create_tx, &t);
    msgpack_sbuffer_destroy(&t.sb);
    return rc;
}

/* ---- events ---- */

/* The event's user_id (lowercased into user, which holds PROTO_UUID_LEN + 2), checked against
 * the envelope's user: 0, or -1 after logging that the event is ignored. */
static int event_user(const struct proto_event *ev, char *user, size_t cap)
{
    const msgpack_object *u = proto_map_get(&ev->data, "user_id");
    if (!u || proto_obj_str(u, user, cap) != 0 || !proto_uuid_valid(user) ||
        (ev->user[0] && strcasecmp(ev->user, user) != 0)) {
        PROTO_WARN(ev->id, "event without a valid user_id, ignored", "type=%s",
                   proto_log_str(ev->type));
        return -1;
    }
    for (char *p = user; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

/* user.registered: the new user's default account, so a transfer to their id finds it and
 * GET /api/auth/me names it (the account.default_ready event the opening writes). */
int ledger_on_user_registered(struct wk_ctx *ctx, const struct proto_event *ev)
{
    char user[PROTO_UUID_LEN + 2];
    if (event_user(ev, user, sizeof user) != 0)
        return 0;
    struct ledger_account def;
    return ledger_default_account(ctx, user, NULL, &def);
}

/* profile.updated: the default account in the profile's currency (opened, or re-denominated
 * while still empty: sql/010 says when), and for a first completion the account.default_ready
 * event the notification worker welcomes the user on. */
int ledger_on_profile_updated(struct wk_ctx *ctx, const struct proto_event *ev)
{
    char user[PROTO_UUID_LEN + 2];
    if (event_user(ev, user, sizeof user) != 0)
        return 0;
    char currency[8];
    const msgpack_object *c = proto_map_get(&ev->data, "currency_preference");
    const char *cur = NULL;
    if (c && proto_obj_str(c, currency, sizeof currency) == 0 &&
        proto_currency_exponent(currency) >= 0)
        cur = currency;
    struct ledger_account def;
    int rc = ledger_default_account(ctx, user, cur, &def);
    if (rc < 0)
        return rc;
    const msgpack_object *f = proto_map_get(&ev->data, "first_completion");
    if (!f || f->type != MSGPACK_OBJECT_BOOLEAN || !f->via.boolean)
        return 0;
    char data[256];
    /* a UUID, a UUID and a currency code: no escaping */
    snprintf(data, sizeof data,
             "{\"user_id\":\"%s\",\"account_id\":\"%s\",\"currency\":\"%s\","
             "\"first_completion\":true}",
             user, def.id, def.currency);
    return wk_outbox_add(ctx, LEDGER_EV_DEFAULT_READY, user, data);
}
