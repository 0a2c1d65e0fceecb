/*
 * workers/notification/rules.h — the notification worker's pure rules: what each event says
 * (title, message, type), reading event data defensively, the list query (error codes in
 * README "Notifications"), and the live frames' JSON. No I/O, no database, so everything here is
 * unit-tested without servers (tests/unit/test_notify_rules.c). Thread-safe. Implemented in
 * rules.c.
 */
#ifndef NOTIFY_RULES_H
#define NOTIFY_RULES_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/money.h"
#include "proto/txn_event.h"
#include "proto/uuid.h"

#define NOTIFY_TITLE_MAX     120  /* code points (sql/004_notify.sql checks the same) */
#define NOTIFY_MESSAGE_MAX   1000 /* code points */
#define NOTIFY_TITLE_BUF     (NOTIFY_TITLE_MAX * 4 + 1)
#define NOTIFY_MESSAGE_BUF   (NOTIFY_MESSAGE_MAX * 4 + 1)
#define NOTIFY_LIMIT_DEFAULT 20
#define NOTIFY_LIMIT_MAX     100
#define NOTIFY_OFFSET_MAX    1000000000L

/* What one notification says. `type` is "info", "alert" or "risk" (static). */
struct notify_text {
    char title[NOTIFY_TITLE_BUF];
    char message[NOTIFY_MESSAGE_BUF];
    const char *type;
};

/* Why a request is invalid: a 4xx status, a stable code and a human sentence (static). */
struct notify_invalid {
    int status;
    const char *code;
    const char *message;
};

/* ---- events (txn.posted is read by proto/txn_event.h) ---- */

/*
 * The notification of a txn.posted, the amount rendered by proto_money_display:
 *   deposit      "Deposit received"     "$12.50 was added to your account."      info
 *   withdrawal   "Withdrawal processed" "$12.50 was withdrawn from your account." alert
 *   transfer out "Transfer sent"        "You sent $12.50."                        info
 *   transfer in  "Money received"       "You received $12.50."                    info
 */
void notify_txn_text(const struct proto_txn_posted *t, struct notify_text *out);

/*
 * The welcome of an account.default_ready event: 1 with out filled when data.first_completion
 * is true; 0 when it is false or absent (an account opened, nothing to say); -1 with *why
 * when the event is unreadable (data not an object, first_completion not a boolean).
 */
int notify_welcome_text(const msgpack_object *data, struct notify_text *out, const char **why);

/* risk.alert: type "risk", data.title / data.message when they are acceptable text (see
 * notify_text_ok), else generic sentences. Never fails. */
void notify_risk_text(const msgpack_object *data, struct notify_text *out);

/* twin.simulated: "Simulation completed", naming data.scenario when it is a known scenario
 * and data.alert_level when it is medium or high. */
void notify_twin_text(const msgpack_object *data, struct notify_text *out);

/* 1 if s is valid UTF-8 with 1..max_cp code points, not only spaces, and no control
 * characters (so it can be shown and stored as is). */
int notify_text_ok(const char *s, size_t max_cp);

/* ---- requests ---- */

/* A list request's filters. type is NULL (any) or "info"/"alert"/"risk" (static). */
struct notify_query {
    const char *type;
    int unread_only;
    long limit, offset;
};

/*
 * Reads type, unread_only, limit and offset from the query map (string values, as the gateway
 * sends them; nil or an absent map means the defaults): type info|alert|risk (422
 * invalid_type), unread_only true|false|1|0 (422 invalid_unread_only), limit 1..100, default
 * 20 (422 invalid_limit), offset 0..NOTIFY_OFFSET_MAX, default 0 (422 invalid_offset).
 * Unknown keys are ignored. Returns 0, or -1 with *bad filled.
 */
int notify_query_parse(const msgpack_object *query, struct notify_query *q,
                       struct notify_invalid *bad);

/* ---- live frames ---- */

/* A stored notification as the REST API returns it. account_id NULL for none. */
struct notify_row {
    const char *id;
    const char *account_id;
    const char *title;
    const char *message;
    const char *type;
    int is_read;
    const char *created_at; /* RFC 3339 UTC */
};

/* Appends {"type":"notification","notification":{id, account_id, title, message, type,
 * is_read, created_at}} (keys in the REST order, strings JSON-escaped). 0 or PROTO_EUTF8. */
int notify_frame_notification(struct proto_buf *out, const struct notify_row *row);

/* Appends {"type":"balance","account_id","currency","balance":"<decimal>","transfer_id"}
 * (transfer_id null when ""). 0 or a PROTO_E* code of proto_money_format. */
int notify_frame_balance(struct proto_buf *out, const struct proto_txn_posted *t);

#endif
