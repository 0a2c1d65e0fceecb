/*
 * The notification worker's event handlers: txn.posted, account.default_ready (the welcome),
 * risk.alert and twin.simulated each become at most one notification for the event's user.
 *
 * They run inside the runtime's inbox transaction (the event id is recorded in notify.inbox
 * first, so a redelivered event does nothing), and UNIQUE (source_event, user_id) stands behind
 * it. The account an event names is stored only when it is the recipient's own ledger account
 * (checked through ledger.account_owners), so a confused producer cannot attach someone else's
 * account id to a user's notification. Live frames are queued with wk_live_after_commit: they
 * leave only after the notification is committed, and never for a duplicate.
 *
 * Producers other than the ledger do not exist yet, so every field is read defensively: an
 * event that cannot be understood is logged and acknowledged (returning < 0 would only
 * redeliver it until the delivery limit dead-letters it).
 */
#include <string.h>

#include "notify.h"
#include "proto/log.h"
#include "proto/status.h"

static int ignore(const struct proto_event *ev, const char *why)
{
    PROTO_WARN(ev->id, "event ignored", "type=%s why=%s", proto_log_str(ev->type),
               proto_log_str(why));
    return 0;
}

/*
 * Stores the notification and queues its frame. account may be NULL. Returns 1 stored (with
 * *account_kept telling whether the account was the user's), 0 duplicate, < 0 on a database
 * error.
 */
static int store(struct wk_ctx *ctx, const struct proto_event *ev, const char *user,
                 const char *account, const struct notify_text *text, int *account_kept)
{
    char id[PROTO_UUID_LEN + 1];
    if (proto_uuid_v4(id) != 0)
        return PROTO_EIO;
    const char *p[] = {id, user, account, text->title, text->message, text->type, ev->id};
    PGresult *r = wk_db_exec_prepared(
        wk_db(ctx), "notif_insert",
        "INSERT INTO notify.notifications (id, user_id, account_id, title, message, type, "
        "source_event) SELECT $1::uuid, $2::uuid, (SELECT o.id FROM ledger.account_owners o "
        "WHERE o.id = $3::uuid AND o.owner = $2::uuid), $4, $5, $6, $7::uuid "
        "ON CONFLICT (source_event, user_id) DO NOTHING RETURNING " NOTIFY_COLUMNS,
        7, p);
    if (!r)
        return wk_db_fail(ctx);
    if (PQntuples(r) == 0) {
        PQclear(r);
        PROTO_INFO(ev->id, "notification exists for this event, skipped", NULL);
        return 0;
    }
    struct notify_row row = {
        .id = PQgetvalue(r, 0, 0),
        .account_id = PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1),
        .title = PQgetvalue(r, 0, 2),
        .message = PQgetvalue(r, 0, 3),
        .type = PQgetvalue(r, 0, 4),
        .is_read = strcmp(PQgetvalue(r, 0, 5), "t") == 0,
        .created_at = PQgetvalue(r, 0, 6),
    };
    *account_kept = row.account_id != NULL;
    if (account && !row.account_id)
        PROTO_WARN(ev->id, "event names an account the user does not own, not stored", "type=%s",
                   proto_log_str(ev->type));
    struct proto_buf frame = {0};
    if (notify_frame_notification(&frame, &row) == 0)
        wk_live_after_commit(ctx, user, frame.data, frame.len);
    proto_buf_free(&frame);
    PQclear(r);
    return 1;
}

int notify_on_txn_posted(struct wk_ctx *ctx, const struct proto_event *ev)
{
    char user[PROTO_UUID_LEN + 1];
    const char *why;
    struct proto_txn_posted t;
    if (proto_event_recipient(ev->user, &ev->data, user, &why) != 0 ||
        proto_txn_posted_parse(&ev->data, &t, &why) != 0)
        return ignore(ev, why);
    struct notify_text text;
    notify_txn_text(&t, &text);
    int kept = 0;
    int rc = store(ctx, ev, user, t.account_id, &text, &kept);
    if (rc <= 0)
        return rc;
    /* The balance frame only for the user's own account, and only with a balance. */
    if (kept && t.has_balance) {
        struct proto_buf frame = {0};
        if (notify_frame_balance(&frame, &t) == 0)
            wk_live_after_commit(ctx, user, frame.data, frame.len);
        proto_buf_free(&frame);
    }
    return 0;
}

/* txn.posted already delivered, all in one transaction (wk_event_batch_fn): each as alone, but
 * one commit for all of them. Under tests/bench/risk_lag.sh's transfer load one commit per
 * event left this worker 18 s behind the ledger (p99), the commit's wait for the WAL flush
 * being most of each event's time. */
int notify_on_txn_posted_batch(struct wk_ctx *ctx, const struct proto_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = notify_on_txn_posted(ctx, &evs[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The welcome comes from the ledger's account.default_ready for a first profile completion
 * (not from profile.updated itself), so it names the default account, ready in the profile's
 * currency. */
int notify_on_default_ready(struct wk_ctx *ctx, const struct proto_event *ev)
{
    char user[PROTO_UUID_LEN + 1], account[PROTO_UUID_LEN + 1];
    const char *why;
    struct notify_text text;
    int welcome = notify_welcome_text(&ev->data, &text, &why);
    if (welcome < 0)
        return ignore(ev, why);
    if (welcome == 0)
        return 0; /* an account opened, no first completion: nothing to say */
    if (proto_event_recipient(ev->user, &ev->data, user, &why) != 0)
        return ignore(ev, why);
    int has_account = proto_data_uuid(&ev->data, "account_id", account);
    int kept;
    int rc = store(ctx, ev, user, has_account ? account : NULL, &text, &kept);
    return rc < 0 ? rc : 0;
}

/* risk.alert and twin.simulated: text from the rules, the account when data names one. */
static int on_simple(struct wk_ctx *ctx, const struct proto_event *ev,
                     void (*text_of)(const msgpack_object *, struct notify_text *))
{
    char user[PROTO_UUID_LEN + 1], account[PROTO_UUID_LEN + 1];
    const char *why;
    if (proto_event_recipient(ev->user, &ev->data, user, &why) != 0)
        return ignore(ev, why);
    struct notify_text text;
    text_of(&ev->data, &text);
    int has_account = proto_data_uuid(&ev->data, "account_id", account);
    int kept;
    int rc = store(ctx, ev, user, has_account ? account : NULL, &text, &kept);
    return rc < 0 ? rc : 0;
}

int notify_on_risk_alert(struct wk_ctx *ctx, const struct proto_event *ev)
{
    return on_simple(ctx, ev, notify_risk_text);
}

int notify_on_twin_simulated(struct wk_ctx *ctx, const struct proto_event *ev)
{
    return on_simple(ctx, ev, notify_twin_text);
}
