/*
 * gateway/edge.h — what a client sends, checked before libwebsockets reads it.
 *
 * libwebsockets 4.1.6 (Debian 12) decides some things about client bytes where no callback
 * sees them: it hangs on CONNECT, closes without an answer when a head outgrows its tables
 * (logging an error), answers malformed requests with HTML pages, upgrades any
 * Sec-WebSocket-Version, and takes unmasked client frames. The edge sits between the
 * socket and lws: the gateway defines recv(), and the dynamic linker binds lws's recv calls
 * to it (ELF interposition: the executable's definition comes first; lws reads client sockets
 * only with recv, lib/core-net/output.c). For the client connections server.c registers,
 * and only on the lws thread, it
 *  - hands lws one whole request head at a time, after head.c passed it; a refused head is
 *    answered here with the JSON error shape and Connection: close (after the responses
 *    still owed to earlier pipelined requests), then the connection is drained until the
 *    client or lws's idle timeout closes it (lingering close: the answer is not lost to a
 *    reset);
 *  - passes bodies through by Content-Length, and WebSocket frames after a handshake,
 *    noting when the client last sent anything (an empty pong is a sign of life too) and
 *    stopping at an unmasked frame (RFC 6455 5.1): server.c then closes with 1002.
 * Every other recv (the AMQP and Redis threads, other descriptors) goes straight to libc.
 * Not thread-safe beyond that: every function below runs on the lws thread.
 */
#ifndef GW_EDGE_H
#define GW_EDGE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libwebsockets.h>

#include "proto/buf.h"

/* Starts the edge on the calling thread (the one that will run lws) for descriptors below
 * `max_fds`, with a head budget of `head_max` bytes. lws must read heads with a buffer of at
 * least head_max + 1 bytes (server.c sets pt_serv_buf_size). Returns 0 or -1. */
int gw_edge_init(int max_fds, size_t head_max);

/* A new client connection on descriptor fd from `peer` (LWS_CALLBACK_FILTER_NETWORK_CONNECTION). */
void gw_edge_accept(int fd, const struct sockaddr *peer);

/* The address of the client on wsi as the edge recorded it at accept ("127.0.0.1", "::1"), or
 * NULL when the edge does not follow that descriptor. Costs no system call, unlike
 * lws_get_peer_simple (getpeername on every call). */
const char *gw_edge_peer(struct lws *wsi);

/* server.c wrote the whole response to a request on wsi (before the next one is read). */
void gw_edge_http_done(struct lws *wsi);

/* A writeable callback on an HTTP connection with no response in progress. */
void gw_edge_http_writeable(struct lws *wsi);

/* The HTTP connection on wsi is closing (LWS_CALLBACK_CLOSED_HTTP). */
void gw_edge_http_closed(struct lws *wsi);

/* The WebSocket on wsi was established (its descriptor's frames are scanned since its head). */
void gw_edge_websocket(struct lws *wsi);

/* 1 if the client of this WebSocket sent an unmasked frame (then close it with 1002). */
int gw_edge_unmasked(struct lws *wsi);

/* Monotonic ms of the last bytes this WebSocket's client sent (any frame, an empty pong
 * included), or 0 when unknown. */
int64_t gw_edge_last_rx_ms(struct lws *wsi);

/* While set, WebSocket handshakes are answered 503 (shutting down). */
void gw_edge_set_draining(int on);

/* Appends fintwin_gateway_edge_refused_total (Prometheus text). */
void gw_edge_metrics(struct proto_buf *b);

/* Frees the table (at exit). */
void gw_edge_free(void);

#endif
