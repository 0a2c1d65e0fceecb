/*
 * txn.posted: every posting of a user's account is scored once (risk.h). The handler runs inside
 * the runtime's inbox transaction (a redelivered event does nothing), and risk.assessments'
 * UNIQUE (account_id, transfer_id) stands behind it, so a posting has one score and at most one
 * risk.alert however often its event arrives. The event names the posting; everything scored
 * is read from the ledger, not from the event.
 *
 * An event that cannot be understood, or names a posting that is not its user's, is logged and
 * acknowledged (returning < 0 would only redeliver it until the delivery limit dead-letters it).
 *
 * Under load the runtime hands over every txn.posted already delivered at once
 * (risk_on_txn_posted_batch), and one event is a batch of one: the batch's users are brought up
 * to date in two statements, its postings scored in memory in delivery order, and stored with
 * their scores and alerts in one more (score.c), then committed once.
 */
#include "proto/buf.h"
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
    return risk_on_txn_posted_batch(ctx, ev, 1);
}

/* One event of a batch: who, which posting, and what was found. */
struct item {
    char user[PROTO_UUID_LEN + 1];
    struct proto_txn_posted t;
    struct risk_user *u;
};

int risk_on_txn_posted_batch(struct wk_ctx *ctx, const struct proto_event *evs, size_t n)
{
    struct item *it = proto_xcalloc(n, sizeof *it);
    struct risk_user **us = proto_xcalloc(n, sizeof *us);
    struct risk_assessment *a = proto_xcalloc(n, sizeof *a);
    const char **owners = proto_xcalloc(n, sizeof *owners);
    size_t m = 0, k = 0;
    int rc = 0;
    /* The users' cache entries, pinned so none is evicted before the batch is done. */
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *why;
        if (proto_event_recipient(evs[i].user, &evs[i].data, it[m].user, &why) != 0 ||
            proto_txn_posted_parse(&evs[i].data, &it[m].t, &why) != 0) {
            ignore(&evs[i], why);
            continue;
        }
        if (!it[m].t.transfer_id[0]) {
            ignore(&evs[i], "no transfer_id");
            continue;
        }
        if (!(it[m].u = risk_cache_get(it[m].user))) {
            rc = PROTO_EIO;
            break;
        }
        us[m] = it[m].u;
        m++;
    }
    /* Two statements read what every user's cache lacks; scoring is in memory, in order. */
    if (rc == 0)
        rc = risk_sync_many(ctx, us, m);
    for (size_t i = 0; i < m && rc == 0; i++) {
        int found =
            risk_score_posting(ctx, it[i].u, it[i].t.account_id, it[i].t.transfer_id, &a[k]);
        if (found < 0)
            rc = found;
        else if (found == 0)
            PROTO_WARN(wk_request_id(ctx), "event ignored", "type=txn.posted why=%s account=%s",
                       "the posting is not among the user's", it[i].t.account_id);
        else
            owners[k++] = it[i].user;
    }
    if (rc == 0)
        rc = risk_store_postings(ctx, owners, a, k);
    for (size_t i = 0; i < m; i++) {
        risk_cache_unpin(us[i]);
        if (rc < 0 && us[i]->loaded)
            risk_cache_clear(us[i]); /* read again from the ledger next time */
    }
    free(it);
    free(us);
    free(a);
    free(owners);
    return rc;
}
