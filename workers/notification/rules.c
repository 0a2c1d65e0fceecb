/* The notification worker's pure rules; see rules.h. */
#include "rules.h"

#include <stdio.h>
#include <string.h>

#include "proto/json.h"
#include "proto/msg.h"
#include "proto/status.h"

/* Large enough for any event string we read as a word or an id; longer ones are malformed. */
#define WORD_BUF 64

static int invalid(struct notify_invalid *bad, const char *code, const char *message)
{
    bad->status = 422;
    bad->code = code;
    bad->message = message;
    return -1;
}

/* A str value as a NUL-terminated word in buf: 0, or -1 (absent, not a str, too long). */
static int word(const msgpack_object *data, const char *key, char *buf, size_t size)
{
    const msgpack_object *o = proto_map_get(data, key);
    return o && proto_obj_str(o, buf, size) == 0 ? 0 : -1;
}

static void set_text(struct notify_text *out, const char *type, const char *title)
{
    out->type = type;
    snprintf(out->title, sizeof out->title, "%s", title);
}

void notify_txn_text(const struct proto_txn_posted *t, struct notify_text *out)
{
    char amt[PROTO_MONEY_DISPLAY_MAX];
    if (proto_money_display(t->amount, t->currency, amt, sizeof amt) < 0)
        snprintf(amt, sizeof amt, "money"); /* unreachable: currency checked when parsed */
    switch (t->kind) {
    case PROTO_TXN_DEPOSIT:
        set_text(out, "info", "Deposit received");
        snprintf(out->message, sizeof out->message, "%s was added to your account.", amt);
        break;
    case PROTO_TXN_WITHDRAWAL:
        set_text(out, "alert", "Withdrawal processed");
        snprintf(out->message, sizeof out->message, "%s was withdrawn from your account.", amt);
        break;
    case PROTO_TXN_TRANSFER:
        if (t->incoming) {
            set_text(out, "info", "Money received");
            snprintf(out->message, sizeof out->message, "You received %s.", amt);
        } else {
            set_text(out, "info", "Transfer sent");
            snprintf(out->message, sizeof out->message, "You sent %s.", amt);
        }
        break;
    }
}

int notify_welcome_text(const msgpack_object *data, struct notify_text *out, const char **why)
{
    if (data->type != MSGPACK_OBJECT_MAP) {
        *why = "data is not an object";
        return -1;
    }
    const msgpack_object *f = proto_map_get(data, "first_completion");
    if (f && f->type != MSGPACK_OBJECT_BOOLEAN) {
        *why = "first_completion is not a boolean";
        return -1;
    }
    if (!f || !f->via.boolean)
        return 0;
    set_text(out, "info", "Welcome to FinTwin");
    snprintf(out->message, sizeof out->message, "%s",
             "Your profile is complete. Your accounts, simulations and alerts are ready.");
    return 1;
}

int notify_text_ok(const char *s, size_t max_cp)
{
    size_t n = 0;
    int visible = 0;
    if (!proto_utf8_valid(s, strlen(s)))
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7F)
            return 0;
        /* C1 controls are U+0080..U+009F: 0xC2 0x80..0x9F in UTF-8. */
        if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
            return 0;
        if ((*p & 0xC0) != 0x80)
            n++;
        if (*p != ' ')
            visible = 1;
    }
    return visible && n >= 1 && n <= max_cp;
}

/* data.<key> into buf when it is acceptable text of at most max_cp code points: 1, else 0. */
static int data_text(const msgpack_object *data, const char *key, char *buf, size_t size,
                     size_t max_cp)
{
    const msgpack_object *o = proto_map_get(data, key);
    if (!o || proto_obj_str(o, buf, size) != 0 || !notify_text_ok(buf, max_cp)) {
        buf[0] = '\0';
        return 0;
    }
    return 1;
}

void notify_risk_text(const msgpack_object *data, struct notify_text *out)
{
    out->type = "risk";
    if (!data_text(data, "title", out->title, sizeof out->title, NOTIFY_TITLE_MAX))
        snprintf(out->title, sizeof out->title, "%s", "Risk alert");
    if (!data_text(data, "message", out->message, sizeof out->message, NOTIFY_MESSAGE_MAX))
        snprintf(out->message, sizeof out->message, "%s",
                 "Unusual activity was detected on your account. Review your recent "
                 "transactions.");
}

void notify_twin_text(const msgpack_object *data, struct notify_text *out)
{
    static const struct {
        const char *scenario, *words;
    } names[] = {
        {"withdrawal", "withdrawal"},
        {"deposit", "deposit"},
        {"rate_change", "rate change"},
        {"recurring_expense", "recurring expense"},
        {"investment_growth", "investment growth"},
        {"emergency_fund", "emergency fund"},
    };
    char buf[WORD_BUF];
    const char *words = NULL;
    if (word(data, "scenario", buf, sizeof buf) == 0)
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strcmp(buf, names[i].scenario) == 0)
                words = names[i].words;
    /* The twin announces medium and high outcomes only (workers/twin); a known level is
     * named, anything else left out. */
    const char *level = NULL;
    char lv[WORD_BUF];
    if (word(data, "alert_level", lv, sizeof lv) == 0 &&
        (strcmp(lv, "medium") == 0 || strcmp(lv, "high") == 0))
        level = lv[0] == 'm' ? "medium" : "high";
    set_text(out, "info", "Simulation completed");
    snprintf(out->message, sizeof out->message,
             "Your %s%ssimulation is complete%s%s%s. Open the digital twin to see the result.",
             words ? words : "", words ? " " : "", level ? ": " : "", level ? level : "",
             level ? " risk" : "");
}

/* ---- requests ---- */

int notify_query_parse(const msgpack_object *query, struct notify_query *q,
                       struct notify_invalid *bad)
{
    q->type = NULL;
    q->unread_only = 0;
    q->limit = NOTIFY_LIMIT_DEFAULT;
    q->offset = 0;
    char buf[16];
    const msgpack_object *o = proto_map_get(query, "type");
    if (o) {
        static const char *const types[] = {"info", "alert", "risk"};
        if (proto_obj_str(o, buf, sizeof buf) == 0)
            for (size_t i = 0; i < 3; i++)
                if (strcmp(buf, types[i]) == 0)
                    q->type = types[i];
        if (!q->type)
            return invalid(bad, "invalid_type", "type must be info, alert or risk.");
    }
    o = proto_map_get(query, "unread_only");
    if (o) {
        if (o->type == MSGPACK_OBJECT_BOOLEAN)
            q->unread_only = o->via.boolean;
        else if (proto_obj_str(o, buf, sizeof buf) == 0 &&
                 (strcmp(buf, "true") == 0 || strcmp(buf, "1") == 0))
            q->unread_only = 1;
        else if (proto_obj_str(o, buf, sizeof buf) == 0 &&
                 (strcmp(buf, "false") == 0 || strcmp(buf, "0") == 0))
            q->unread_only = 0;
        else
            return invalid(bad, "invalid_unread_only", "unread_only must be true or false.");
    }
    o = proto_map_get(query, "limit");
    if (o && (proto_obj_count(o, NOTIFY_LIMIT_MAX, &q->limit) != 0 || q->limit < 1))
        return invalid(bad, "invalid_limit", "limit must be an integer from 1 to 100.");
    o = proto_map_get(query, "offset");
    if (o && proto_obj_count(o, NOTIFY_OFFSET_MAX, &q->offset) != 0)
        return invalid(bad, "invalid_offset", "offset must be an integer >= 0.");
    return 0;
}

/* ---- live frames ---- */

static int put_str(struct proto_buf *b, const char *key, const char *v)
{
    proto_buf_printf(b, "\"%s\":", key);
    if (!v) {
        proto_buf_puts(b, "null");
        return 0;
    }
    return proto_json_quote(b, v, strlen(v));
}

int notify_frame_notification(struct proto_buf *out, const struct notify_row *r)
{
    proto_buf_puts(out, "{\"type\":\"notification\",\"notification\":{");
    int rc = put_str(out, "id", r->id);
    proto_buf_puts(out, ",");
    rc = rc ? rc : put_str(out, "account_id", r->account_id);
    proto_buf_puts(out, ",");
    rc = rc ? rc : put_str(out, "title", r->title);
    proto_buf_puts(out, ",");
    rc = rc ? rc : put_str(out, "message", r->message);
    proto_buf_puts(out, ",");
    rc = rc ? rc : put_str(out, "type", r->type);
    proto_buf_printf(out, ",\"is_read\":%s,", r->is_read ? "true" : "false");
    rc = rc ? rc : put_str(out, "created_at", r->created_at);
    proto_buf_puts(out, "}}");
    return rc;
}

int notify_frame_balance(struct proto_buf *out, const struct proto_txn_posted *t)
{
    char bal[PROTO_MONEY_TEXT_MAX];
    int rc = proto_money_format(t->balance_after, t->exponent, bal, sizeof bal);
    if (rc < 0)
        return rc;
    /* Every value is a UUID, a currency code or a decimal: nothing to escape. */
    proto_buf_printf(out,
                     "{\"type\":\"balance\",\"account_id\":\"%s\",\"currency\":\"%s\","
                     "\"balance\":%s,\"transfer_id\":",
                     t->account_id, t->currency, bal);
    if (t->transfer_id[0])
        proto_buf_printf(out, "\"%s\"}", t->transfer_id);
    else
        proto_buf_puts(out, "null}");
    return 0;
}
