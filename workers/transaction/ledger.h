/*
 * workers/transaction/ledger.h — the transaction worker's internals: configuration, the
 * SQL helpers over schema ledger (accounts.c, idem.c) and the method handlers
 * (handlers.c, history.c). All functions run on the worker runtime's single thread, inside
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

enum ledger_idem_state {
    LEDGER_IDEM_NEW = 0,   /* claimed: run the request, then ledger_idem_finish */
    LEDGER_IDEM_REPLAYED,  /* the stored reply was written to rep (with the header) */
    LEDGER_IDEM_MISMATCH,  /* same key, other request: 422 set on rep */
    LEDGER_IDEM_IN_FLIGHT, /* another request holds the key: 409 set on rep */
};

struct ledger_idem {
    char key[PROTO_IDEM_MAX + PROTO_ID_MAX + 8]; /* "k:<Idempotency-Key>" or "r:<request id>" */
    unsigned char hash[LEDGER_HASH_LEN];
};

/* Derives the stored key and the request hash for req (body may be NULL). 0 or PROTO_EIO. */
int ledger_idem_prepare(struct ledger_idem *id, const struct proto_request *req,
                        const msgpack_object *body);

/*
 * Inside wk_db_tx: claims (user, key) in_flight, or, when the key is taken, waits for its
 * holder to finish (the primary key blocks a second inserter until the first commits or
 * rolls back) and then replays its stored reply into rep. Returns an enum ledger_idem_state
 * or a WK_E* code.
 */
int ledger_idem_begin(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id,
                      struct wk_reply *rep);

/* ledger_idem_begin for a transaction function: 1 when the key is claimed (run the request),
 * 0 when rep holds the answer (a replay, or 422/409 for a key reused or in flight: the
 * function returns 0), or a WK_E* code. */
int ledger_idem_claim(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id,
                      struct wk_reply *rep);

/* Inside the same wk_db_tx: stores status + body (msgpack bytes) and marks the key done.
 * transfer_id may be NULL. 0 or a WK_E* code. */
int ledger_idem_finish(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id,
                       int status, const char *body, size_t len, const char *transfer_id);

/*
 * Inside the same wk_db_tx, after a claimed (LEDGER_IDEM_NEW) request's work returned rc:
 * when rc is WK_EHANDLER with a 4xx error on rep (a refusal the request decided once it ran),
 * stores that error under the key and returns 0, so the transaction commits the refusal
 * (and nothing else: the work refuses before it writes) and every later copy replays it.
 * Otherwise returns rc unchanged. A failure to store returns a WK_E* code.
 */
int ledger_idem_settle(struct wk_ctx *ctx, const char *user, const struct ledger_idem *id,
                       struct wk_reply *rep, int rc);

/* ---- handlers ---- */

/* The envelope's verified user, or NULL after answering 401 (the gateway never sends a
 * protected method without one). */
const char *ledger_acting_user(const struct proto_request *req, struct wk_reply *rep);

int ledger_acct_list(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int ledger_acct_create(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
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
