/*
 * gateway/server.h — the HTTP server: the lws context, its callbacks, RPC replies.
 *
 * Threads: gw_server_run runs the lws service loop on the calling thread (the "lws
 * thread"); gw_server_new starts the AMQP bridge thread (bridge.h). Everything in
 * the server except gw_server_request_stop belongs to the lws thread.
 */
#ifndef GW_SERVER_H
#define GW_SERVER_H

#include "config.h"

struct gw_server;

/* Creates the lws context (listening on cfg->bind:cfg->port) and starts the bridge.
 * `cfg` must outlive the server. Returns NULL (after logging why) on failure. */
struct gw_server *gw_server_new(const struct gw_config *cfg);

/*
 * Serves until gw_server_request_stop, then stops accepting, lets in-flight requests
 * finish or time out (bounded by RPC_TIMEOUT_MS plus a second) and returns 0.
 */
int gw_server_run(struct gw_server *s);

/* Asks gw_server_run to stop. Async-signal-safe (sets a flag, lws_cancel_service). */
void gw_server_request_stop(struct gw_server *s);

/* Stops the bridge, destroys the context, frees everything. NULL is a no-op. */
void gw_server_free(struct gw_server *s);

#endif
