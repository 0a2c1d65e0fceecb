/*
 * gateway/status.h — the body of GET /api/status.
 *
 * /api/status asks every worker for sys.ping through a fan-out (fanout.h), part w being
 * proto_worker_names[w], and reports each answer next to the broker and the session store:
 * {"workers":[{"name","ok","ms","status","version","pid","uptime_ms"}...],
 *  "broker":{"ok"},"redis":{"ok","denylist"},"ok"} — the web app and the e2e tests read it.
 * Pure; any thread.
 */
#ifndef GW_STATUS_H
#define GW_STATUS_H

#include "bridge.h"
#include "fanout.h"

/*
 * Replaces b's contents with the status JSON. f has PROTO_WORKER_COUNT parts in worker
 * order; version, pid and uptime_ms come from each part's JSON body (null when absent).
 */
void gw_status_json(struct proto_buf *b, const struct gw_fanout *f, int broker_connected,
                    enum gw_store_state store);

#endif
