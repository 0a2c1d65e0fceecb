/*
 * workers/twin/twin.h — the twin worker's internals: configuration (main.c), what the handlers
 * share (common.c), the simulation handlers (handlers.c) and the history handlers (history.c).
 * The engine (engine.h) computes; rules.h validates bodies; this layer reads live data through
 * the read-only ledger views of sql/006_twin.sql and stores history in twin.simulations.
 * Everything runs on the worker runtime's single thread. The acting user is always the
 * envelope's verified user, and every query is scoped by it in SQL.
 */
#ifndef TWIN_H
#define TWIN_H

#include <stdint.h>

#include "engine.h"
#include "proto/uuid.h"
#include "rules.h"
#include "runtime/wk.h"

struct twin_config {
    int64_t default_return;     /* TWIN_DEFAULT_RETURN, TWIN_RATE_SCALE */
    int64_t default_volatility; /* TWIN_DEFAULT_VOLATILITY, TWIN_RATE_SCALE */
    const char *low_balance;    /* TWIN_LOW_BALANCE, validated by proto_money_table_check */
    char default_currency[4];   /* TWIN_DEFAULT_CURRENCY: an account-less user's currency */
};
extern struct twin_config twin_cfg;

/* The account a simulation reads, as of one statement. */
struct twin_account {
    int exists;                  /* 0: the user has no ledger account yet (balance 0) */
    char id[PROTO_UUID_LEN + 1]; /* "" when !exists */
    char currency[4];
    int exponent;
    int64_t balance;
    char now[40]; /* the database's now(), RFC 3339 in ms: the created_at clients see */
    /* The same now() to the microsecond: the row's created_at, which orders the history. In
     * milliseconds, two simulations of one millisecond tied and the list showed them in random
     * (id) order. */
    char now_exact[48];
};

/*
 * When (user, key) already saved a simulation, answers it (201, stored detail,
 * Idempotent-Replayed: true) or 422 idempotency_key_reused for another request under that key.
 * Returns 1 when rep is answered, 0 when the key is new, < 0 on a database error.
 */
int twin_idem_replay(struct wk_ctx *ctx, const char *user, const struct wk_idem *id,
                     struct wk_reply *rep);

/*
 * What a request reads before it computes, in one statement: the replay of `idem` (when not
 * NULL and already saved; answered as twin_idem_replay does) and the account `ref` names:
 * none or the user's own id means the default account (exists = 0 when the user has none
 * yet); an account id must be the user's. Returns 2 when rep is answered (a replay or 422),
 * 1 with *out filled, 0 when the named account is not the user's (or unknown), < 0 on a
 * database error. out->now is the database's now() in every case.
 */
int twin_lookup(struct wk_ctx *ctx, const char *user, const struct twin_account_ref *ref,
                const struct wk_idem *idem, struct twin_account *out, struct wk_reply *rep);

/* A simulation to save: the columns of twin.simulations. */
struct twin_saved {
    const char *id, *user, *account_id; /* account_id NULL when none */
    const char *kind, *scenario;        /* scenario NULL for a projection */
    const char *currency;
    const char *created_at; /* twin_account.now_exact */
    int64_t amount, current_balance, virtual_balance;
    int has_amount, risk_score;    /* risk_score < 0: none */
    const char *alert_level;       /* NULL: none */
    const msgpack_sbuffer *item;   /* the list form */
    const msgpack_sbuffer *detail; /* NULL when the same as item */
    const char *event_json;        /* twin.simulated data, or NULL for no event */
};

/*
 * In one statement (atomic on its own): inserts the row and, when event_json is set, its
 * twin.simulated event in twin.outbox (a concurrent duplicate under the same key makes this a
 * replay of the row that won, with no event), and answers 201 with the detail (or the item).
 * Returns 0 or a WK_E* code.
 */
int twin_save(struct wk_ctx *ctx, const struct twin_saved *s, const struct wk_idem *idem,
              struct wk_reply *rep);

/* Packs a rate. */
void twin_pack_rate(msgpack_packer *pk, int64_t rate); /* TWIN_RATE_SCALE as a decimal number */

int twin_simulate(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int twin_projection(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int twin_history(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int twin_detail(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int twin_delete(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int twin_clear(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);

#endif
