/*
 * gateway/local.h — the handlers of routes.c's local rows (see gw_local_fn in routes.h).
 *
 * /healthz, /readyz, /metrics and /api/status are answered by the gateway itself, from the
 * bridge's state, the counters (metrics.h, ws.c, edge.c) and, for /api/status, a sys.ping
 * fan-out to every worker (fanout.h, status.h). The lws thread only.
 */
#ifndef GW_LOCAL_H
#define GW_LOCAL_H

#include "routes.h"

gw_local_fn gw_local_healthz; /* 200 {"status":"ok"} */
gw_local_fn gw_local_readyz;  /* 200 {"status":"ready"}, or 503 not_ready saying what is missing */
gw_local_fn gw_local_metrics; /* the Prometheus text (metrics.h, ws.c, edge.c) */
gw_local_fn gw_local_status;  /* sys.ping to every worker, then status.h's JSON */

#endif
