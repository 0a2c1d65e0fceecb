/*
 * gateway/intake.h — a request's intake: from its head to a handler or an RPC.
 *
 * For each HTTP request lws hands over, the intake names the connection (registry.h), sets
 * the request id, method and path, and dispatches: a local row to its handler (local.h), a
 * file outside /api to static.h, an API row after checking its head (Idempotency-Key,
 * Content-Length, Content-Type), its bearer token and its query, then reading and packing its
 * JSON body, to server.c's RPC submission. Refusals are answered on c at once, or after the
 * body was drained. The lws thread only.
 */
#ifndef GW_INTAKE_H
#define GW_INTAKE_H

#include <stddef.h>

struct gw_server;
struct gw_conn;
struct lws;

/* LWS_CALLBACK_HTTP: `path` is the request's path (lws's `in`). Returns 0, or -1 to hang up
 * (c NULL: no per-connection data). */
int gw_intake_http(struct gw_server *s, struct lws *wsi, struct gw_conn *c, const char *path);

/* LWS_CALLBACK_HTTP_BODY: len bytes of c's body (kept, or dropped past the limit). */
void gw_intake_body(struct gw_server *s, struct gw_conn *c, const void *in, size_t len);

/* LWS_CALLBACK_HTTP_BODY_COMPLETION: answers a refusal held back, or packs the JSON body and
 * submits the request. */
void gw_intake_body_done(struct gw_server *s, struct lws *wsi, struct gw_conn *c);

#endif
