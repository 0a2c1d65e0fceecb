/* The ledger's pure rules; see rules.h. */
#include "rules.h"

#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/money.h"
#include "proto/msg.h"
#include "proto/status.h"

/* The largest ISO 4217 exponent: an amount with more decimals fits no currency. */
#define MAX_EXPONENT 4

static int invalid(struct ledger_invalid *bad, const char *code, const char *message)
{
    bad->status = 422;
    bad->code = code;
    bad->message = message;
    return -1;
}

size_t ledger_utf8_count(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int has_control(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7F)
            return 1;
    }
    return 0;
}

const char *ledger_type_name(enum ledger_txn_type t)
{
    switch (t) {
    case LEDGER_DEPOSIT:
        return "deposit";
    case LEDGER_WITHDRAWAL:
        return "withdrawal";
    case LEDGER_TRANSFER:
        return "transfer";
    }
    return "?";
}

int ledger_amount_parse(const msgpack_object *o, int exponent, int64_t *minor)
{
    int64_t v;
    if (!o || exponent < 0 || proto_obj_money(o, exponent, &v) != 0 || v <= 0)
        return -1;
    *minor = v;
    return 0;
}

/* An optional id field: absent or nil -> *present = 0; a UUID -> copied (lowercased, so
 * it compares equal to the database's text form); another string -> *unknown = 1;
 * anything else -> -1. */
static int read_id(const msgpack_object *body, const char *key, int *present, int *unknown,
                   char out[PROTO_UUID_LEN + 1])
{
    const msgpack_object *o = proto_map_get(body, key);
    *present = 0;
    *unknown = 0;
    out[0] = '\0';
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (o->type != MSGPACK_OBJECT_STR)
        return -1;
    *present = 1;
    char buf[PROTO_UUID_LEN + 2];
    if (proto_obj_str(o, buf, sizeof buf) != 0 || !proto_uuid_valid(buf)) {
        *unknown = 1;
        return 0;
    }
    for (size_t i = 0; i <= PROTO_UUID_LEN; i++)
        out[i] = (buf[i] >= 'A' && buf[i] <= 'F') ? (char)(buf[i] - 'A' + 'a') : buf[i];
    return 0;
}

int ledger_txn_parse(const msgpack_object *body, struct ledger_txn_input *in,
                     struct ledger_invalid *bad)
{
    memset(in, 0, sizeof *in);
    char type[16];
    const msgpack_object *t = proto_map_get(body, "type");
    if (!t || proto_obj_str(t, type, sizeof type) != 0)
        return invalid(bad, "invalid_type", "type must be deposit, withdrawal or transfer.");
    if (strcmp(type, "deposit") == 0)
        in->type = LEDGER_DEPOSIT;
    else if (strcmp(type, "withdrawal") == 0)
        in->type = LEDGER_WITHDRAWAL;
    else if (strcmp(type, "transfer") == 0)
        in->type = LEDGER_TRANSFER;
    else
        return invalid(bad, "invalid_type", "type must be deposit, withdrawal or transfer.");

    int64_t probe;
    in->amount = proto_map_get(body, "amount");
    if (ledger_amount_parse(in->amount, MAX_EXPONENT, &probe) != 0)
        return invalid(bad, "invalid_amount",
                       "amount must be a positive number with no more decimals than the "
                       "currency allows.");

    if (read_id(body, "account_id", &in->has_account, &in->account_unknown, in->account_id) != 0)
        return invalid(bad, "invalid_account_id", "account_id must be a string id.");
    if (read_id(body, "to_account", &in->has_to, &in->to_unknown, in->to_account) != 0)
        return invalid(bad, "invalid_to_account", "to_account must be an account id or a user id.");
    if (in->type == LEDGER_TRANSFER && !in->has_to)
        return invalid(bad, "invalid_to_account", "A transfer needs to_account.");

    const msgpack_object *note = proto_map_get(body, "note");
    if (note && note->type != MSGPACK_OBJECT_NIL) {
        if (proto_obj_str(note, in->note, sizeof in->note) != 0 || has_control(in->note) ||
            ledger_utf8_count(in->note) > LEDGER_NOTE_MAX)
            return invalid(bad, "invalid_note",
                           "note must be text of at most 200 characters, no control characters.");
        in->has_note = 1;
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

int ledger_account_parse(const msgpack_object *body, struct ledger_account_input *in,
                         struct ledger_invalid *bad)
{
    memset(in, 0, sizeof *in);
    char raw[LEDGER_NAME_BUF + 64];
    const msgpack_object *o = proto_map_get(body, "name");
    if (!o || proto_obj_str(o, raw, sizeof raw) != 0)
        return invalid(bad, "invalid_name", "name must have 1 to 100 characters.");
    const char *s = raw;
    size_t len = strlen(raw);
    while (len && is_space(*s))
        s++, len--;
    while (len && is_space(s[len - 1]))
        len--;
    if (len == 0 || len >= sizeof in->name)
        return invalid(bad, "invalid_name", "name must have 1 to 100 characters.");
    memcpy(in->name, s, len);
    in->name[len] = '\0';
    if (has_control(in->name) || ledger_utf8_count(in->name) > LEDGER_NAME_MAX)
        return invalid(bad, "invalid_name",
                       "name must have 1 to 100 characters and no control characters.");

    o = proto_map_get(body, "kind");
    if (!o || proto_obj_str(o, in->kind, sizeof in->kind) != 0 ||
        (strcmp(in->kind, "checking") != 0 && strcmp(in->kind, "savings") != 0 &&
         strcmp(in->kind, "wallet") != 0))
        return invalid(bad, "invalid_kind", "kind must be checking, savings or wallet.");

    o = proto_map_get(body, "currency");
    if (!o || proto_obj_str(o, in->currency, sizeof in->currency) != 0 ||
        (in->exponent = proto_currency_exponent(in->currency)) < 0)
        return invalid(bad, "invalid_currency", "currency must be an ISO 4217 code such as USD.");
    return 0;
}

int ledger_page_parse(const msgpack_object *query, long max_limit, long *limit, long *offset,
                      struct ledger_invalid *bad)
{
    *limit = max_limit;
    *offset = 0;
    const msgpack_object *o = proto_map_get(query, "limit");
    if (o && (proto_obj_count(o, max_limit, limit) != 0 || *limit < 1))
        return invalid(bad, "invalid_limit",
                       max_limit == LEDGER_ACCOUNT_LIMIT_MAX
                           ? "limit must be an integer from 1 to 1000."
                           : "limit must be an integer from 1 to 100.");
    o = proto_map_get(query, "offset");
    if (o && proto_obj_count(o, LEDGER_OFFSET_MAX, offset) != 0)
        return invalid(bad, "invalid_offset", "offset must be an integer >= 0.");
    return 0;
}

int ledger_before_parse(const msgpack_object *query, char out[PROTO_UUID_LEN + 1], int *has,
                        struct ledger_invalid *bad)
{
    *has = 0;
    const msgpack_object *o = proto_map_get(query, "before");
    if (!o)
        return 0;
    char buf[PROTO_UUID_LEN + 2];
    if (proto_obj_str(o, buf, sizeof buf) != 0 || (buf[0] && !proto_uuid_valid(buf)))
        return invalid(bad, "invalid_before", "before must be a transaction id.");
    if (!buf[0])
        return 0;
    for (size_t i = 0; i <= PROTO_UUID_LEN; i++)
        out[i] = (buf[i] >= 'A' && buf[i] <= 'F') ? (char)(buf[i] - 'A' + 'a') : buf[i];
    *has = 1;
    return 0;
}
