/*
 * workers/transaction/rules.h — the ledger's pure rules: request-body and query parsing
 * (error codes in README "Money"), amounts, and the idempotency request hash. No I/O, no
 * database, so everything here is unit-tested without servers (tests/unit/test_ledger_rules.c).
 * Thread-safe. Implemented in rules.c.
 */
#ifndef LEDGER_RULES_H
#define LEDGER_RULES_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/reqhash.h"
#include "proto/uuid.h"

/* Limits. Page sizes: earlier FinTwin clients send no limit and sum what they get, so the list of
 * all accounts answers its maximum, 100 (the earlier default), and an account's history up to 1,000
 * rows, so they see whole histories unless they are longer; `before` pages on. */
#define LEDGER_NOTE_MAX          200 /* code points */
#define LEDGER_NOTE_BUF          (LEDGER_NOTE_MAX * 4 + 1)
#define LEDGER_NAME_MAX          100 /* code points: account names */
#define LEDGER_NAME_BUF          (LEDGER_NAME_MAX * 4 + 1)
#define LEDGER_LIMIT_MAX         100  /* GET /api/transactions/: default and maximum */
#define LEDGER_ACCOUNT_LIMIT_MAX 1000 /* GET /api/transactions/account/{id}: the same */
#define LEDGER_OFFSET_MAX        1000000000L
#define LEDGER_HASH_LEN          PROTO_HASH_LEN

enum ledger_txn_type {
    LEDGER_DEPOSIT,
    LEDGER_WITHDRAWAL,
    LEDGER_TRANSFER,
};

/* Why a request is invalid: a 4xx status, a stable code and a human sentence (static). */
struct ledger_invalid {
    int status;
    const char *code;
    const char *message;
};

/*
 * A parsed POST /api/transactions/ body. Ids are copied only when they are UUIDs; an id
 * that is a string but not a UUID cannot name anything, so it is flagged (the handler
 * answers 404 like for any unknown id) rather than rejected as malformed.
 */
struct ledger_txn_input {
    enum ledger_txn_type type;
    const msgpack_object *amount; /* borrowed from the body; pre-checked > 0 */
    int has_account;              /* account_id present (not null) */
    int account_unknown;          /* account_id present but not a UUID */
    char account_id[PROTO_UUID_LEN + 1];
    int has_to; /* to_account present (not null) */
    int to_unknown;
    char to_account[PROTO_UUID_LEN + 1];
    int has_note;
    char note[LEDGER_NOTE_BUF];
};

/*
 * Parses a txn.create body (a msgpack map). Checks, in this order: type (422
 * invalid_type), amount present, a number > 0 with at most 4 decimals (422 invalid_amount;
 * the exact check against the account's currency is ledger_amount_parse's, later),
 * account_id / to_account a string or null (422 invalid_account_id / invalid_to_account),
 * to_account present for a transfer (422 invalid_to_account), note a string of at most
 * 200 code points without control characters or null (422 invalid_note).
 * Returns 0, or -1 with *bad filled.
 */
int ledger_txn_parse(const msgpack_object *body, struct ledger_txn_input *in,
                     struct ledger_invalid *bad);

/* An amount in minor units of a currency with `exponent` digits: 0 if it parses exactly
 * and is > 0, else -1 (too many decimals, not a number, <= 0, out of range). */
int ledger_amount_parse(const msgpack_object *o, int exponent, int64_t *minor);

/* "deposit", "withdrawal", "transfer". */
const char *ledger_type_name(enum ledger_txn_type t);

struct ledger_account_input {
    char name[LEDGER_NAME_BUF];
    char kind[16];
    char currency[4];
    int exponent;
};

/*
 * Parses an acct.create body: name 1..100 code points after trimming ASCII whitespace, no
 * control characters (422 invalid_name); kind checking/savings/wallet (422 invalid_kind);
 * currency a known ISO 4217 code (422 invalid_currency). Returns 0 or -1 with *bad.
 */
int ledger_account_parse(const msgpack_object *body, struct ledger_account_input *in,
                         struct ledger_invalid *bad);

/*
 * Reads limit and offset from the query map (string values, as the gateway sends them;
 * integers accepted too; nil or absent map = defaults). limit defaults to max_limit
 * (LEDGER_LIMIT_MAX or LEDGER_ACCOUNT_LIMIT_MAX) and must be 1..max_limit (422
 * invalid_limit); offset defaults to 0 and must be 0..LEDGER_OFFSET_MAX (422 invalid_offset).
 * Returns 0 or -1 with *bad.
 */
int ledger_page_parse(const msgpack_object *query, long max_limit, long *limit, long *offset,
                      struct ledger_invalid *bad);

/* Reads the optional `before` query parameter, a transaction id (any case), into out
 * (lowercase) and sets *has; absent or empty: *has = 0. Not a UUID: 422 invalid_before.
 * Returns 0 or -1 with *bad. */
int ledger_before_parse(const msgpack_object *query, char out[PROTO_UUID_LEN + 1], int *has,
                        struct ledger_invalid *bad);

/* Number of code points in a valid UTF-8 string (NUL-terminated). */
size_t ledger_utf8_count(const char *s);

#endif
