/*
 * workers/notification/notify.h — the notification worker's internals: the event handlers
 * that create notifications (events.c) and the methods that read and change them
 * (handlers.c), over table notify.notifications (sql/004_notify.sql). All functions run on the
 * worker runtime's single thread. There is no method that creates a notification: only events
 * do. The acting user of a method is always the envelope's verified user; ownership is checked
 * in SQL (WHERE user_id = $user), and an id the caller does not own answers like an unknown one.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include "rules.h"
#include "runtime/wk.h"

/* The columns of a notification as the API returns it, in notify_row order. */
#define NOTIFY_COLUMNS "id, account_id, title, message, type, is_read, " WK_SQL_TS("created_at")

/* ---- events (events.c) ----
 * Each runs inside the runtime's inbox transaction: it stores at most one notification for the
 * event's user and queues its live frames with wk_live_after_commit. Malformed data is logged
 * and acknowledged (returns 0); only a database failure returns < 0 (redelivery). */
int notify_on_txn_posted(struct wk_ctx *ctx, const struct proto_event *ev);
int notify_on_txn_posted_batch(struct wk_ctx *ctx, const struct proto_event *evs, size_t n);
int notify_on_default_ready(struct wk_ctx *ctx, const struct proto_event *ev);
int notify_on_risk_alert(struct wk_ctx *ctx, const struct proto_event *ev);
int notify_on_twin_simulated(struct wk_ctx *ctx, const struct proto_event *ev);

/* ---- methods (handlers.c) ---- */
int notify_list(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int notify_list_account(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int notify_count(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int notify_read(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int notify_read_all(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);
int notify_delete(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep);

#endif
