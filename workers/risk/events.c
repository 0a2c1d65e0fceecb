/*
 * txn.posted: every posting of a user's account is scored once (risk.h). The handler runs inside
 * the runtime's inbox transaction (a redelivered event does nothing), and risk.assessments'
 * UNIQUE (account_id, transfer_id) stands behind it, so a posting has one score and at most one
 * risk.alert however often its event arrives. The event names the posting; everything scored
 * is read from the ledger, not from the event.
 *
 * An event that cannot be understood, or names a posting that is not its user's, is logged and
 * acknowledged (returning < 0 would only redeliver it until the delivery limit dead-letters it).
 */
#include "proto/log.h"
#include "proto/status.h"
#include "risk.h"

static int ignore(const struct proto_event *ev, const char *why)
{
    PROTO_WARN(ev->id, "event ignored", "type=%s why=%s", proto_log_str(ev->type),
               proto_log_str(why));
    return 0;
}

int risk_on_txn_posted(struct wk_ctx *ctx, const struct proto_event *ev)
{
    char user[PROTO_UUID_LEN + 1];
    const char *why;
    struct proto_txn_posted t;
    if (proto_event_recipient(ev->user, &ev->data, user, &why) != 0 ||
        proto_txn_posted_parse(&ev->data, &t, &why) != 0)
        return ignore(ev, why);
    if (!t.transfer_id[0])
        return ignore(ev, "no transfer_id");
    struct risk_user *u = risk_cache_get(user);
    if (!u)
        return PROTO_EIO;
    struct risk_assessment a;
    int rc = risk_score_posting(ctx, u, t.account_id, t.transfer_id, &a);
    if (rc < 0) {
        risk_cache_drop(u); /* reloaded from the ledger next time */
        return rc;
    }
    if (rc == 0)
        return ignore(ev, "the posting is not among the user's");
    rc = risk_store_posting(ctx, user, &a);
    if (rc == 0)
        PROTO_INFO(ev->id, "posting already scored, skipped", "account=%s", t.account_id);
    return rc < 0 ? rc : 0;
}
