/*
 * proto/txn_event.h — reading the ledger's txn.posted event, for every worker that reacts to it
 * (notification: texts and balance frames; risk: scoring). The transaction worker writes it
 * (workers/transaction/post.c add_event): one event per user side of a posting,
 *
 *   { transfer_id, user_id, account_id, type: deposit|withdrawal|transfer, amount: "12.50",
 *     currency, direction: in|out, balance_after: "100.00", counterparty_account: uuid|null }
 *
 * Consumers read it defensively (a producer bug must not crash them): every reader says why it
 * refused. Pure functions, thread-safe.
 */
#ifndef PROTO_TXN_EVENT_H
#define PROTO_TXN_EVENT_H

#include <msgpack.h>
#include <stdint.h>

#include "proto/uuid.h"

/*
 * The recipient of an event: the envelope's user when set (`ev_user`, "" when nil), else
 * data.user_id. Both present and different is a malformed event. Copies the UUID lowercased
 * into out. Returns 0, or -1 with *why set (static text for the log).
 */
int proto_event_recipient(const char *ev_user, const msgpack_object *data,
                          char out[PROTO_UUID_LEN + 1], const char **why);

/* data.<key> as a lowercased UUID into out: 1, or 0 when absent or not a UUID. */
int proto_data_uuid(const msgpack_object *data, const char *key, char out[PROTO_UUID_LEN + 1]);

enum proto_txn_kind {
    PROTO_TXN_DEPOSIT,
    PROTO_TXN_WITHDRAWAL,
    PROTO_TXN_TRANSFER,
};

/* "deposit", "withdrawal", "transfer". */
const char *proto_txn_kind_name(enum proto_txn_kind k);

struct proto_txn_posted {
    enum proto_txn_kind kind;
    int incoming; /* direction "in" (a deposit always, a withdrawal never) */
    char account_id[PROTO_UUID_LEN + 1];
    char transfer_id[PROTO_UUID_LEN + 1];  /* "" when absent or not a UUID */
    char counterparty[PROTO_UUID_LEN + 1]; /* the other user account; "" for external or absent */
    char currency[4];
    int exponent;
    int64_t amount; /* minor units, > 0 */
    int has_balance;
    int64_t balance_after; /* minor units, when has_balance */
};

/*
 * Reads txn.posted data: type deposit|withdrawal|transfer, account_id a UUID, currency a known
 * ISO 4217 code, amount a decimal (string or number) > 0 exact in that currency, direction
 * in|out (required for a transfer; for a deposit or withdrawal it must agree when present);
 * transfer_id, counterparty_account and balance_after are optional (ignored when malformed).
 * Returns 0, or -1 with *why set.
 */
int proto_txn_posted_parse(const msgpack_object *data, struct proto_txn_posted *t,
                           const char **why);

#endif
