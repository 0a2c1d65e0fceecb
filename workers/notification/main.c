/*
 * fintwin-notification: notifications, stored and pushed live (sql/004_notify.sql).
 * Events (txn.posted, account.default_ready, risk.alert, twin.simulated) create them and send
 * frames to ft.live after their transaction commits; the methods list, count, mark read and
 * delete the caller's own. See notify.h.
 */
#include <stddef.h>

#include "notify.h"

static const struct wk_method methods[] = {
    {"notif.list", notify_list},
    {"notif.list_account", notify_list_account},
    {"notif.count", notify_count},
    {"notif.read", notify_read},
    {"notif.read_all", notify_read_all},
    {"notif.delete", notify_delete},
    {NULL, NULL},
};

static const struct wk_event_handler events[] = {
    {"txn.posted", notify_on_txn_posted, notify_on_txn_posted_batch},
    {"account.default_ready", notify_on_default_ready, NULL},
    {"risk.alert", notify_on_risk_alert, NULL},
    {"twin.simulated", notify_on_twin_simulated, NULL},
    {NULL, NULL, NULL},
};

static const struct wk_spec spec = {
    .name = "notification",
    .schema = NULL, /* notify */
    .methods = methods,
    .events = events,
    .prefetch = 64, /* an event batch is at most what the broker sent ahead */
};

int main(void)
{
    return wk_run_spec(&spec);
}
