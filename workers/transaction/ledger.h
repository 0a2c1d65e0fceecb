/*
 * workers/transaction/ledger.h — the transaction worker's internals: configuration, the
 * SQL helpers over schema ledger (accounts.c, idem.c) and the method handlers
 * (handlers.c, post.c, history.c). All functions run on the worker runtime's single thread, inside
 * or outside a wk_db_tx as stated; every id they are given is a canonical UUID string.
 * The acting user is always the envelope's verified user; ownership is checked in SQL
 * (WHERE owner = $user), and an id the caller does not own answers like an unknown one.
 */
#ifndef LEDGER_H
#define LEDGER_H

#include <stdint.h>

#include "proto/uuid.h"
#include "rules.h"
#include "runtime/wk.h"

struct ledger_config {
    char default_currency[4]; /* LEDGER_DEFAULT_CURRENCY, a known ISO 4217 code */
};
extern struct ledger_config ledger_cfg;

/* An account row as the worker uses it. */
struct ledger_account {
    char id[PROTO_UUID_LEN + 1];
    char owner[PROTO_UUID_LEN + 1]; /* "" for an external account */
    char currency[4];
    int exponent;
};

/*
 * The user's default account (SQL function ledger.default_account, sql/010): opened if the user
 * has none, in the profile's currency, else `currency`, else LEDGER_DEFAULT_CURRENCY when
 * NULL (concurrent callers agree on one row through the unique index); re-denominated to the
 * profile's currency while it is empty. An opening writes account.default_ready to the outbox.
 * Call inside wk_db_tx (or an event handler). Returns 0 and fills *out, or a WK_E* code.
 */
int ledger_default_account(struct wk_ctx *ctx, const char *user, const char *currency,
                           struct ledger_account *out);

/* The caller's account `id` (WHERE owner = user): 1 found, 0 not the caller's or unknown,
 * < 0 on a database error. */
int ledger_own_account(struct wk_ctx *ctx, const char *user, const char *id,
                       struct ledger_account *out);

/* Resolves a path/body account reference: the caller's own user id means their default
 * account (opened on first use); else ledger_own_account. Same returns. */
int ledger_resolve_account(struct wk_ctx *ctx, const char *user, const char *ref,
                           struct ledger_account *out);

/* ---- idempotency (idem.c) ---- */

/* Records older than this are expired: ignored, reused, and deleted in small batches. */
#define LEDGER_IDEM_TTL "7 days"

/* A request's key and hash (struct wk_idem) come from wk_idem_prepare (runtime/wk.h). */

/*
 * Inside wk_db_tx: claims (user, key) in_flight, or, when the key is taken, waits for its
 * holder to finish (the primary key blocks a second inserter until the first commits or
 * rolls back) and then answers on rep as ledger_idem_answer does. Returns 1 when the key is
 * claimed (run the request, then ledger_idem_finish), 0 when rep holds the answer (the
 * transaction function returns 0), or a WK_E* code.
 */
int ledger_idem_claim(struct wk_ctx *ctx, const char *user, const struct wk_idem *id,
                      struct wk_reply *rep);

/* Inside the same wk_db_tx: stores status + body (msgpack bytes) and marks the key done.
 * transfer_id may be NULL. 0 or a WK_E* code. */
int ledger_idem_finish(struct wk_ctx *ctx, const char *user, const struct wk_idem *id, int status,
                       const char *body, size_t len, const char *transfer_id);

/* Answers a claim that is not 'new' (ledger.idem_claim's word, sql/012) on rep: "replay" the
 * stored answer (`stored`, `len`: the msgpack body, or the refusal's message when error_code is
 * not NULL) with Idempotent-Replayed: true; "mismatch" 422 idempotency_key_reused; otherwise
 * 409 idempotency_key_in_flight. */
void ledger_idem_answer(struct wk_reply *rep, const char *req_id, const char *user,
                        const char *claim, int status, const void *stored, size_t len,
                        const char *error_code);

/* Inside a wk_db_tx, before claiming `claims` keys: now and then deletes a bounded batch of
 * expired records (in a savepoint: a failure only delays the cleanup). 0 or a WK_E* code. */
int ledger_idem_sweep(struct wk_ctx *ctx, unsigned claims);

/* ---- handlers ---- */

int ledger_acct_list(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int ledger_acct_create(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
/* txn.create (post.c): a batch of requests posted in one transaction (sql/012), and one
 * request alone (a redelivery) as a batch of one. */
void ledger_txn_create_batch(struct wk_ctx *ctx, struct wk_call *calls, size_t n);
int ledger_txn_create(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int ledger_txn_list(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int ledger_txn_list_account(struct wk_ctx *ctx, const struct proto_request *req,
                            struct wk_reply *rep);
int ledger_txn_get(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);

/* The event the ledger writes when a default account is opened or a profile's first completion
 * has it ready: {user_id, account_id, currency, first_completion} (sql/010). */
#define LEDGER_EV_DEFAULT_READY "account.default_ready"

/* Event user.registered: opens the new user's default account. */
int ledger_on_user_registered(struct wk_ctx *ctx, const struct proto_event *ev);

/* Event profile.updated: the user's default account in their preferred currency, and
 * account.default_ready for a first completion. */
int ledger_on_profile_updated(struct wk_ctx *ctx, const struct proto_event *ev);

#endif
