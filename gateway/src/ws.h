/*
 * gateway/ws.h — GET /api/ws: authenticated WebSocket push from ft.live.
 *
 * A socket's life (the "fintwin-ws" protocol; server.c's callback calls in here):
 *   1. The upgrade is allowed on GET /api/ws only (server.c). A request with an Origin
 *      header that is not exactly one of GW_ALLOWED_ORIGINS is closed 1008 "origin not
 *      allowed" before anything else; a request without Origin (not a browser, so no
 *      cross-site hijacking) is allowed.
 *   2. The first message must be {"type":"auth","token":"<ft_token>"} within
 *      GW_WS_AUTH_TIMEOUT_MS. The token is verified here like on HTTP routes
 *      (proto_token_verify, same 30 s leeway); then its jti is checked against the
 *      Redis denylist by the bridge thread (GW_JOB_WS_AUTH), never on this thread.
 *      A revoked token is 1008 "token revoked"; Redis unavailable is 1011 "auth
 *      unavailable" (fail closed; the client retries later).
 *   3. The first authenticated socket of a user asks the bridge to bind user.<uuid>;
 *      once bound (GW_RES_LIVE_BOUND) every waiting socket of that user gets
 *      {"type":"ready"}. Further sockets of a bound user get it at once. Messages from
 *      the client after its auth message are ignored (still size-limited).
 *   4. Each frame from ft.live for the user is queued on every ready socket of that
 *      user (one shared copy) and written from the writeable callback. A socket whose
 *      queue would pass GW_WS_QUEUE_MAX frames or GW_WS_QUEUE_BYTES is closed 1008
 *      "slow consumer" (bursts are paced so that only a client that stopped reading gets
 *      there; see ws.c). A close order (type "close") closes every socket of the user
 *      with its code and reason ("logged out").
 *   5. At exp + PROTO_TOKEN_LEEWAY_S of its token (the moment an HTTP route would
 *      start refusing the same token) the socket is closed 1008 "token expired" (checked
 *      by gw_ws_tick, so up to 250 ms late).
 *   6. When the last socket of a user closes, the binding is removed.
 * Other closes: a message over GW_WS_MSG_MAX bytes 1009, a binary message 1003, the
 * gateway shutting down 1001. One log line per socket open and close (never a token).
 *
 * Memory per idle authenticated socket: this struct plus lws's own state; the queue,
 * the auth message buffer and the close reason are allocated only while used.
 * Everything here runs on the lws thread; other threads name a socket by its id.
 */
#ifndef GW_WS_H
#define GW_WS_H

#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "bridge.h"
#include "config.h"

#include "proto/buf.h"
#include "proto/token.h"

#define GW_WS_PATH      "/api/ws"
#define GW_WS_MSG_MAX   4096 /* largest message a client may send (1009 above) */
#define GW_WS_RX_BUFFER 512  /* lws receive chunk per socket: keeps idle sockets small */

struct gw_ws_user;
struct gw_ws_out;

/* One socket: lws's per-session data of the "fintwin-ws" protocol (zeroed by lws). */
struct gw_ws {
    struct lws *wsi;
    uint64_t id;                      /* registry id; 0 before ESTABLISHED */
    struct gw_ws_user *user;          /* set once the denylist said ok */
    struct gw_ws *unext, *uprev;      /* the user's sockets */
    struct gw_ws_out *out, *out_tail; /* frames to write, oldest first */
    uint32_t out_count, out_bytes;
    char *rx;                 /* the auth message being received, or NULL */
    uint32_t rx_len, msg_len; /* bytes kept / bytes of the current message */
    int64_t expires_s;        /* unix s: token exp + leeway */
    int64_t opened_ms;        /* monotonic */
    int64_t last_rx_ms;       /* monotonic: the last message or pong from the client */
    char *close_reason;       /* malloc'ed once a close is decided */
    uint16_t close_code;
    uint8_t state; /* enum in ws.c */
    uint8_t send_ready, in_msg, by_peer;
    uint8_t want_ping, ping_out; /* a ping to write / written and not yet answered */
};

struct gw_ws_hub;

/* A hub for cfg (which must outlive it), verifying tokens with keys and talking to
 * bridge. Parses cfg->allowed_origins (already checked by gw_config_load). */
struct gw_ws_hub *gw_ws_hub_new(const struct gw_config *cfg, const struct proto_token_keys *keys,
                                struct gw_bridge *bridge);
/* Forgets the bridge (before it stops): later socket closes send it nothing. */
void gw_ws_hub_detach(struct gw_ws_hub *h);
/* Frees the hub (sockets still open are lws's to close). NULL is a no-op. */
void gw_ws_hub_free(struct gw_ws_hub *h);

/* LWS_CALLBACK_ESTABLISHED (request headers still readable): registers the socket,
 * checks Origin, starts the auth timer. */
void gw_ws_established(struct gw_ws_hub *h, struct lws *wsi, struct gw_ws *ws);
/* LWS_CALLBACK_RECEIVE: one chunk of a client message. */
void gw_ws_receive(struct gw_ws_hub *h, struct gw_ws *ws, const void *in, size_t len);
/* LWS_CALLBACK_SERVER_WRITEABLE: writes one thing. Returns -1 when lws must close. */
int gw_ws_writeable(struct gw_ws_hub *h, struct gw_ws *ws);
/* LWS_CALLBACK_WS_PEER_INITIATED_CLOSE: remembers the client's code for the log. */
void gw_ws_peer_close(struct gw_ws *ws, const void *in, size_t len);
/* The client broke RFC 6455 (the edge saw an unmasked frame): closes with 1002 `reason`.
 * Call from LWS_CALLBACK_SERVER_WRITEABLE; returns what that callback returns. */
int gw_ws_protocol_error(struct gw_ws_hub *h, struct gw_ws *ws, const char *reason);
/* LWS_CALLBACK_RECEIVE_PONG. */
void gw_ws_pong(struct gw_ws *ws);
/* Call often (the server's sweep, every 50 ms): at most 4 times a second walks every socket
 * for its deadlines - the auth timeout, the token's expiry (1008), a ping after
 * GW_WS_PING_S idle seconds, and dropping a socket that then stays silent for 15 s. */
void gw_ws_tick(struct gw_ws_hub *h);
/* LWS_CALLBACK_CLOSED: unlinks and frees everything of the socket, logs the close. */
void gw_ws_closed(struct gw_ws_hub *h, struct gw_ws *ws);

/* Starts a round of results (one service loop iteration's worth). */
void gw_ws_round(struct gw_ws_hub *h);
/* Handles a GW_RES_WS_AUTH / GW_RES_LIVE* result from the bridge (r stays the caller's; a
 * frame body may be taken from it). Returns 1, or 0 when r must wait for the next round
 * (its user already got its share of frames in this one): the caller keeps r, and every
 * result after it, in order. */
int gw_ws_result(struct gw_ws_hub *h, struct gw_result *r);

/* Closes every socket with 1001 "going away" (shutdown). */
void gw_ws_shutdown(struct gw_ws_hub *h);

/* Sockets open now. */
size_t gw_ws_count(const struct gw_ws_hub *h);

/* Appends the WebSocket metrics (Prometheus text). */
void gw_ws_metrics(const struct gw_ws_hub *h, struct proto_buf *b);

#endif
