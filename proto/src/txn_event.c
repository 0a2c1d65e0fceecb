/* Reading the ledger's txn.posted event; see proto/txn_event.h. */
#include "proto/txn_event.h"

#include <string.h>

#include "proto/money.h"
#include "proto/msg.h"

/* Large enough for any event string we read as a word; longer ones are malformed. */
#define WORD_BUF 64

/* A str value as a NUL-terminated word in buf: 0, or -1 (absent, not a str, too long). */
static int word(const msgpack_object *data, const char *key, char *buf, size_t size)
{
    const msgpack_object *o = proto_map_get(data, key);
    return o && proto_obj_str(o, buf, size) == 0 ? 0 : -1;
}

int proto_data_uuid(const msgpack_object *data, const char *key, char out[PROTO_UUID_LEN + 1])
{
    const msgpack_object *o = proto_map_get(data, key);
    return o && proto_obj_uuid(o, out) == 0;
}

const char *proto_txn_kind_name(enum proto_txn_kind k)
{
    switch (k) {
    case PROTO_TXN_DEPOSIT:
        return "deposit";
    case PROTO_TXN_WITHDRAWAL:
        return "withdrawal";
    case PROTO_TXN_TRANSFER:
        return "transfer";
    }
    return "";
}

int proto_event_recipient(const char *ev_user, const msgpack_object *data,
                          char out[PROTO_UUID_LEN + 1], const char **why)
{
    char from_data[PROTO_UUID_LEN + 1];
    int has_data =
        data && data->type == MSGPACK_OBJECT_MAP && proto_data_uuid(data, "user_id", from_data);
    if (ev_user && ev_user[0]) {
        if (!proto_uuid_valid(ev_user)) {
            *why = "the event's user is not a UUID";
            return -1;
        }
        for (size_t i = 0; i <= PROTO_UUID_LEN; i++) /* lowercase, as ids are stored */
            out[i] = (ev_user[i] >= 'A' && ev_user[i] <= 'F') ? (char)(ev_user[i] - 'A' + 'a')
                                                              : ev_user[i];
        if (has_data && strcmp(from_data, out) != 0) {
            *why = "data.user_id differs from the event's user";
            return -1;
        }
        return 0;
    }
    if (!has_data) {
        *why = "no recipient: neither the event's user nor data.user_id";
        return -1;
    }
    memcpy(out, from_data, sizeof from_data);
    return 0;
}

int proto_txn_posted_parse(const msgpack_object *data, struct proto_txn_posted *t, const char **why)
{
    memset(t, 0, sizeof *t);
    char buf[WORD_BUF];
    if (!data || data->type != MSGPACK_OBJECT_MAP) {
        *why = "data is not an object";
        return -1;
    }
    if (word(data, "type", buf, sizeof buf) != 0) {
        *why = "type missing";
        return -1;
    }
    if (strcmp(buf, "deposit") == 0) {
        t->kind = PROTO_TXN_DEPOSIT;
    } else if (strcmp(buf, "withdrawal") == 0) {
        t->kind = PROTO_TXN_WITHDRAWAL;
    } else if (strcmp(buf, "transfer") == 0) {
        t->kind = PROTO_TXN_TRANSFER;
    } else {
        *why = "type is not deposit, withdrawal or transfer";
        return -1;
    }
    int has_dir = word(data, "direction", buf, sizeof buf) == 0;
    int in = has_dir && strcmp(buf, "in") == 0;
    if (has_dir && !in && strcmp(buf, "out") != 0) {
        *why = "direction is not in or out";
        return -1;
    }
    if (t->kind == PROTO_TXN_TRANSFER && !has_dir) {
        *why = "a transfer needs a direction";
        return -1;
    }
    if (t->kind != PROTO_TXN_TRANSFER && has_dir && in != (t->kind == PROTO_TXN_DEPOSIT)) {
        *why = "direction contradicts type";
        return -1;
    }
    t->incoming = t->kind == PROTO_TXN_TRANSFER ? in : t->kind == PROTO_TXN_DEPOSIT;
    if (!proto_data_uuid(data, "account_id", t->account_id)) {
        *why = "account_id missing or not a UUID";
        return -1;
    }
    if (word(data, "currency", t->currency, sizeof t->currency) != 0 ||
        (t->exponent = proto_currency_exponent(t->currency)) < 0) {
        *why = "currency missing or unknown";
        return -1;
    }
    if (proto_obj_money(proto_map_get(data, "amount"), t->exponent, &t->amount) != 0 ||
        t->amount <= 0) {
        *why = "amount missing, not positive or not exact in the currency";
        return -1;
    }
    proto_data_uuid(data, "transfer_id", t->transfer_id);
    proto_data_uuid(data, "counterparty_account", t->counterparty);
    t->has_balance =
        proto_obj_money(proto_map_get(data, "balance_after"), t->exponent, &t->balance_after) == 0;
    return 0;
}
