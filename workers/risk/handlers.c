/*
 * The risk worker's methods (README "Risk"): risk.analyze (re-run), risk.score, risk.flags,
 * risk.notifications and risk.history.
 *
 * Scope: a request names one of the caller's accounts, or the caller's own user id (all of
 * their accounts, as older clients send it), or nothing (the same). Anything else, another
 * user's account or id included, answers 404 account_not_found and reads nothing of theirs:
 * every statement filters on the caller, through ledger.risk_accounts' owner or
 * risk.assessments' user_id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/clock.h"
#include "proto/json.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"
#include "risk.h"

enum scope {
    SCOPE_NONE,    /* answered 404 */
    SCOPE_ALL,     /* every account of the caller (acct: the default one, when there is one) */
    SCOPE_ACCOUNT, /* acct */
};

/*
 * Resolves `id` (NULL, the caller's id, or an account id) for `user`. Fills acct with the named
 * account, or for the whole user with the default account (acct->id "" when the user has no
 * account yet). Returns 0 with *sc set (SCOPE_NONE after answering 404), or a wk_db_fail code.
 */
static int resolve(struct wk_ctx *ctx, struct wk_reply *rep, const char *user, const char *id,
                   struct risk_account *acct, enum scope *sc)
{
    int all = !id || strcmp(id, user) == 0;
    const char *p[] = {user, all ? NULL : id};
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "risk_account",
                                      "SELECT id, currency, balance FROM ledger.risk_accounts "
                                      "WHERE owner = $1 AND CASE WHEN $2::uuid IS NULL "
                                      "THEN is_default ELSE id = $2::uuid END",
                                      2, p);
    if (!r)
        return wk_db_fail(ctx);
    memset(acct, 0, sizeof *acct);
    if (PQntuples(r) == 1) {
        snprintf(acct->id, sizeof acct->id, "%s", PQgetvalue(r, 0, 0));
        snprintf(acct->currency, sizeof acct->currency, "%s", PQgetvalue(r, 0, 1));
        acct->balance = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    }
    PQclear(r);
    *sc = all ? SCOPE_ALL : acct->id[0] ? SCOPE_ACCOUNT : SCOPE_NONE;
    if (*sc == SCOPE_NONE)
        wk_reply_error(rep, 404, "account_not_found", "No such account.");
    return 0;
}

/* The path's {account_id} resolved as above; a malformed id is simply not found. */
static int resolve_path(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep,
                        const char *user, struct risk_account *acct, enum scope *sc)
{
    char id[PROTO_UUID_LEN + 1];
    int got = wk_path_uuid(req, "account_id", id);
    if (got < 0) {
        *sc = SCOPE_NONE;
        return wk_reply_error(rep, 404, "account_not_found", "No such account."), 0;
    }
    return resolve(ctx, rep, user, got ? id : NULL, acct, sc);
}

/* Scores acct now and stores it as its latest score; its score object goes into body. */
static int rescore(struct wk_ctx *ctx, const char *user, const struct risk_account *acct,
                   msgpack_sbuffer *body)
{
    struct risk_user *u = risk_cache_get(user);
    if (!u)
        return PROTO_EIO;
    struct risk_assessment a;
    int rc = risk_score_account(ctx, u, acct, &a);
    if (rc < 0) {
        risk_cache_drop(u); /* read again from the ledger next time */
        return rc;
    }
    risk_cache_unpin(u);
    return risk_store_rerun(ctx, user, &a, body);
}

/* A user without any account has nothing to score. */
static int no_account(struct wk_reply *rep)
{
    return wk_reply_error(rep, 404, "account_not_found",
                          "You have no account yet: finish setting up your profile first."),
           0;
}

/* ---- risk.analyze ---- */

int risk_analyze(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    const msgpack_object *body = wk_body(req, rep);
    if (!body)
        return 0;
    /* Only account_id is read: a client's balance or transaction list is ignored. */
    char id[PROTO_UUID_LEN + 1];
    const msgpack_object *o = proto_map_get(body, "account_id");
    int named = o && o->type != MSGPACK_OBJECT_NIL &&
                !(o->type == MSGPACK_OBJECT_STR && o->via.str.size == 0); /* "" as absent */
    if (named && proto_obj_uuid(o, id) != 0)
        return wk_reply_error(rep, 422, "invalid_account_id",
                              "account_id must be one of your account ids (or your user id).");
    struct risk_account acct;
    enum scope sc;
    int rc = resolve(ctx, rep, user, named ? id : NULL, &acct, &sc);
    if (rc < 0 || sc == SCOPE_NONE)
        return rc;
    if (!acct.id[0])
        return no_account(rep);
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    rc = rescore(ctx, user, &acct, &out);
    if (rc == 0)
        wk_reply_raw(rep, out.data, out.size);
    msgpack_sbuffer_destroy(&out);
    return rc;
}

/* ---- stored scores ---- */

/* A stored score object and the bytes it points into (msgpack strings are not copied). */
struct obj {
    msgpack_unpacked u;
    char *bytes;
};

static void free_objs(struct obj *objs, int n)
{
    for (int i = 0; i < n; i++) {
        msgpack_unpacked_destroy(&objs[i].u);
        free(objs[i].bytes);
    }
}

/* Unpacks len bytes at b (copied) into o: 0, or -1 when they are not one msgpack object. */
static int obj_from(struct obj *o, const void *b, size_t len)
{
    o->bytes = malloc(len ? len : 1);
    msgpack_unpacked_init(&o->u);
    if (o->bytes)
        memcpy(o->bytes, b, len);
    if (!o->bytes || msgpack_unpack_next(&o->u, o->bytes, len, NULL) != MSGPACK_UNPACK_SUCCESS) {
        free_objs(o, 1);
        return -1;
    }
    return 0;
}

/* The stored score objects of the scope, the highest score first, one per account. When there
 * are none for an account the caller named (or, for the whole user, for any account), the
 * account (the default one) is scored now and that object is the one row. Returns the number
 * of objects in objs[0..max) (free_objs them), or < 0. */
static int stored(struct wk_ctx *ctx, const char *user, enum scope sc,
                  const struct risk_account *acct, struct obj *objs, int max)
{
    const char *p[] = {user, sc == SCOPE_ACCOUNT ? acct->id : NULL};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "risk_stored",
        "SELECT s.body FROM risk.scores s JOIN ledger.risk_accounts a ON a.id = s.account_id "
        "AND a.owner = $1 WHERE $2::uuid IS NULL OR s.account_id = $2::uuid "
        "ORDER BY s.score DESC, s.updated_at DESC, s.account_id LIMIT 16",
        2, p);
    if (!r)
        return wk_db_fail(ctx);
    int n = 0;
    for (int i = 0; i < PQntuples(r) && n < max; i++) {
        size_t len = 0;
        unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 0), &len);
        int bad = !b || obj_from(&objs[n], b, len) != 0;
        PQfreemem(b);
        if (bad) {
            PQclear(r);
            free_objs(objs, n);
            return WK_EDB;
        }
        n++;
    }
    PQclear(r);
    if (n > 0 || !acct->id[0] || max < 1)
        return n;
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    int rc = rescore(ctx, user, acct, &out);
    if (rc == 0 && obj_from(&objs[0], out.data, out.size) != 0)
        rc = PROTO_EIO;
    msgpack_sbuffer_destroy(&out);
    return rc < 0 ? rc : 1;
}

#define STORED_MAX 16 /* accounts of one user looked at; users have a handful */

/* What risk.score, risk.flags and risk.notifications start with: the caller (into *user), the
 * path's scope and that scope's stored score objects (at most max, the highest score first; an
 * account never scored is scored now). Returns how many (>= 1; free_objs them), 0 when rep
 * holds the answer (a 404: not the caller's, or a caller without any account), or < 0. */
static int scoped_scores(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep,
                         const char **user, struct risk_account *acct, enum scope *sc,
                         struct obj *objs, int max)
{
    if (!(*user = wk_acting_user(req, rep)))
        return 0;
    int rc = resolve_path(ctx, req, rep, *user, acct, sc);
    if (rc < 0 || *sc == SCOPE_NONE)
        return rc;
    int n = stored(ctx, *user, *sc, acct, objs, max);
    return n == 0 ? no_account(rep) : n;
}

/* ---- risk.score ---- */

int risk_score(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user;
    struct risk_account acct;
    enum scope sc;
    struct obj obj;
    int n = scoped_scores(ctx, req, rep, &user, &acct, &sc, &obj, 1);
    if (n <= 0)
        return n;
    /* For the whole user, the account that most needs attention. */
    msgpack_pack_object(rep->body, obj.u.data);
    free_objs(&obj, 1);
    return 0;
}

/* ---- risk.flags ---- */

/* Packs the concatenation of objs[i].<key> arrays. */
static void pack_joined(msgpack_packer *pk, struct obj *objs, int n, const char *key)
{
    uint32_t total = 0;
    for (int i = 0; i < n; i++) {
        const msgpack_object *a = proto_map_get(&objs[i].u.data, key);
        if (a && a->type == MSGPACK_OBJECT_ARRAY)
            total += a->via.array.size;
    }
    msgpack_pack_array(pk, total);
    for (int i = 0; i < n; i++) {
        const msgpack_object *a = proto_map_get(&objs[i].u.data, key);
        if (a && a->type == MSGPACK_OBJECT_ARRAY)
            for (uint32_t j = 0; j < a->via.array.size; j++)
                msgpack_pack_object(pk, a->via.array.ptr[j]);
    }
}

int risk_flags(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user;
    struct risk_account acct;
    enum scope sc;
    struct obj objs[STORED_MAX];
    int n = scoped_scores(ctx, req, rep, &user, &acct, &sc, objs, STORED_MAX);
    if (n <= 0)
        return n;
    char asked[PROTO_UUID_LEN + 1];
    if (wk_path_uuid(req, "account_id", asked) != 1)
        snprintf(asked, sizeof asked, "%s", user);
    msgpack_pack_map(rep->body, 3);
    proto_pack_cstr(rep->body, "account_id");
    proto_pack_cstr(rep->body, asked);
    proto_pack_cstr(rep->body, "flags");
    pack_joined(rep->body, objs, n, "flags");
    proto_pack_cstr(rep->body, "flag_details");
    pack_joined(rep->body, objs, n, "flag_details");
    free_objs(objs, n);
    return 0;
}

/* ---- risk.notifications ---- */

static void pack_tip(msgpack_packer *pk, const char *message, const char *type)
{
    msgpack_pack_map(pk, 2);
    proto_pack_cstr(pk, "message");
    proto_pack_cstr(pk, message);
    proto_pack_cstr(pk, "type");
    proto_pack_cstr(pk, type);
}

int risk_notifications(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user;
    struct risk_account acct;
    enum scope sc;
    struct obj objs[STORED_MAX];
    int n = scoped_scores(ctx, req, rep, &user, &acct, &sc, objs, STORED_MAX);
    if (n <= 0)
        return n;
    const char *p[] = {user, sc == SCOPE_ACCOUNT ? acct.id : NULL};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "risk_recent",
        "SELECT count(*), count(*) FILTER (WHERE amount < 0) FROM risk.assessments "
        "WHERE user_id = $1 AND ($2::uuid IS NULL OR account_id = $2::uuid) "
        "AND posted_at > now() - interval '24 hours'",
        2, p);
    if (!r) {
        free_objs(objs, n);
        return wk_db_fail(ctx);
    }
    long recent = atol(PQgetvalue(r, 0, 0)), out = atol(PQgetvalue(r, 0, 1));
    PQclear(r);

    /* One warning per flag (the most serious account first), then recent activity, or a
     * reassurance when nothing is wrong. */
    uint32_t flags = 0;
    for (int i = 0; i < n; i++) {
        const msgpack_object *d = proto_map_get(&objs[i].u.data, "flag_details");
        if (d && d->type == MSGPACK_OBJECT_ARRAY)
            flags += d->via.array.size;
    }
    msgpack_pack_array(rep->body, flags + (recent > 0) + (flags == 0));
    char text[RISK_FLAG_TEXT + 64], code[32], message[RISK_FLAG_TEXT];
    for (int i = 0; i < n; i++) {
        const msgpack_object *d = proto_map_get(&objs[i].u.data, "flag_details");
        if (!d || d->type != MSGPACK_OBJECT_ARRAY)
            continue;
        for (uint32_t j = 0; j < d->via.array.size; j++) {
            const msgpack_object *f = &d->via.array.ptr[j];
            if (proto_obj_str(proto_map_get(f, "code"), code, sizeof code) != 0 ||
                proto_obj_str(proto_map_get(f, "message"), message, sizeof message) != 0)
                snprintf(code, sizeof code, "%s", ""), message[0] = '\0';
            const char *title = risk_flag_title(code);
            snprintf(text, sizeof text, "%s: %s.", title ? title : "Risk", message);
            pack_tip(rep->body, text, "warning");
        }
    }
    if (recent > 0) {
        snprintf(text, sizeof text, "%ld transaction%s in the last 24 hours, %ld of them outgoing.",
                 recent, recent == 1 ? "" : "s", out);
        pack_tip(rep->body, text, "info");
    }
    if (flags == 0)
        pack_tip(rep->body, "Your account looks healthy: nothing unusual in your recent activity.",
                 "success");
    free_objs(objs, n);
    return 0;
}

/* ---- risk.history ---- */

enum {
    H_ID,
    H_ACCOUNT,
    H_TRANSFER,
    H_KIND,
    H_AMOUNT,
    H_CURRENCY,
    H_BALANCE,
    H_SCORE,
    H_LEVEL,
    H_FLAGS,
    H_SENTENCES,
    H_ANOMALY,
    H_ALERTED,
    H_POSTED,
    H_CREATED,
};

/* Packs a jsonb column's text as the msgpack value it stands for (nil if unreadable). */
static void pack_json(msgpack_packer *pk, const char *json)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer tmp;
    msgpack_packer_init(&tmp, &sb, msgpack_sbuffer_write);
    if (proto_json_to_msgpack(json, strlen(json), NULL, &tmp, NULL, 0) == 0) {
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        if (msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS)
            msgpack_pack_object(pk, u.data);
        else
            msgpack_pack_nil(pk);
        msgpack_unpacked_destroy(&u);
    } else {
        msgpack_pack_nil(pk);
    }
    msgpack_sbuffer_destroy(&sb);
}

#define HISTORY_TIMES WK_SQL_TS("h.posted_at") ", " WK_SQL_TS("h.created_at")

static void pack_history_row(msgpack_packer *pk, PGresult *r, int i)
{
    int64_t amount = strtoll(PQgetvalue(r, i, H_AMOUNT), NULL, 10);
    int64_t after = strtoll(PQgetvalue(r, i, H_BALANCE), NULL, 10);
    int exp = proto_currency_exponent(PQgetvalue(r, i, H_CURRENCY));
    msgpack_pack_map(pk, 17);
    proto_pack_cstr(pk, "id");
    proto_pack_cstr(pk, PQgetvalue(r, i, H_ID));
    proto_pack_cstr(pk, "account_id");
    proto_pack_cstr(pk, PQgetvalue(r, i, H_ACCOUNT));
    proto_pack_cstr(pk, "transfer_id");
    proto_pack_cstr(pk, PQgetvalue(r, i, H_TRANSFER));
    proto_pack_cstr(pk, "type");
    proto_pack_cstr(pk, PQgetvalue(r, i, H_KIND));
    proto_pack_cstr(pk, "direction");
    proto_pack_cstr(pk, amount < 0 ? "out" : "in");
    proto_pack_cstr(pk, "amount");
    proto_pack_money(pk, amount < 0 ? -amount : amount, exp);
    proto_pack_cstr(pk, "currency");
    proto_pack_cstr(pk, PQgetvalue(r, i, H_CURRENCY));
    proto_pack_cstr(pk, "balance_before");
    proto_pack_money(pk, after - amount, exp);
    proto_pack_cstr(pk, "balance_after");
    proto_pack_money(pk, after, exp);
    proto_pack_cstr(pk, "score");
    msgpack_pack_int(pk, atoi(PQgetvalue(r, i, H_SCORE)));
    proto_pack_cstr(pk, "alert_level");
    proto_pack_cstr(pk, PQgetvalue(r, i, H_LEVEL));
    /* flags as old clients show them (sentences), and their details */
    proto_pack_cstr(pk, "flags");
    pack_json(pk, PQgetvalue(r, i, H_SENTENCES));
    proto_pack_cstr(pk, "flag_details");
    pack_json(pk, PQgetvalue(r, i, H_FLAGS));
    proto_pack_cstr(pk, "anomaly");
    pack_json(pk, PQgetvalue(r, i, H_ANOMALY));
    proto_pack_cstr(pk, "alerted");
    if (strcmp(PQgetvalue(r, i, H_ALERTED), "t") == 0)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
    proto_pack_cstr(pk, "posted_at");
    proto_pack_cstr(pk, PQgetvalue(r, i, H_POSTED));
    proto_pack_cstr(pk, "created_at");
    proto_pack_cstr(pk, PQgetvalue(r, i, H_CREATED));
}

int risk_history(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const char *user = wk_acting_user(req, rep);
    if (!user)
        return 0;
    struct risk_history_query q;
    const char *code, *message;
    if (risk_history_query_parse(proto_map_get(&req->args, "query"), &q, &code, &message) != 0)
        return wk_reply_error(rep, 422, code, "%s", message);
    struct risk_account acct;
    enum scope sc;
    int rc = resolve(ctx, rep, user, q.has_account ? q.account : NULL, &acct, &sc);
    if (rc < 0 || sc == SCOPE_NONE)
        return rc;
    char limit[16];
    snprintf(limit, sizeof limit, "%ld", q.limit);
    const char *p[] = {user, sc == SCOPE_ACCOUNT ? acct.id : NULL, q.has_before ? q.before : NULL,
                       limit};
    /* before: the page goes on after that entry of the caller's, (seq, id) descending. */
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "risk_history",
        "SELECT h.id, h.account_id, h.transfer_id, h.kind, h.amount, h.currency, "
        "h.balance_after, h.score, h.alert_level, h.flags::text, (SELECT coalesce(jsonb_agg("
        "f->'message' ORDER BY o), '[]') FROM jsonb_array_elements(h.flags) WITH ORDINALITY "
        "x(f, o))::text, h.anomaly::text, "
        "h.alerted, " HISTORY_TIMES " FROM risk.assessments h "
        "WHERE h.user_id = $1 AND ($2::uuid IS NULL OR h.account_id = $2::uuid) "
        "AND ($3::uuid IS NULL OR (h.seq, h.id) < (SELECT c.seq, c.id FROM risk.assessments c "
        "WHERE c.id = $3::uuid AND c.user_id = $1)) "
        "ORDER BY h.seq DESC, h.id DESC LIMIT $4::int",
        4, p);
    if (!r)
        return wk_db_fail(ctx);
    if (q.has_before) {
        /* The cursor's existence, asked separately only when the page came back empty. */
        int found = PQntuples(r) > 0;
        if (!found) {
            const char *p2[] = {q.before, user};
            PGresult *c = wk_db_exec_prepared(
                wk_db(ctx), "risk_cursor",
                "SELECT 1 FROM risk.assessments WHERE id = $1::uuid AND user_id = $2", 2, p2);
            if (!c) {
                PQclear(r);
                return wk_db_fail(ctx);
            }
            found = PQntuples(c) > 0;
            PQclear(c);
        }
        if (!found) {
            PQclear(r);
            return wk_reply_error(rep, 404, "assessment_not_found",
                                  "before names no entry of your risk history.");
        }
    }
    int n = PQntuples(r);
    msgpack_pack_array(rep->body, (size_t)n);
    for (int i = 0; i < n; i++)
        pack_history_row(rep->body, r, i);
    PQclear(r);
    return 0;
}
