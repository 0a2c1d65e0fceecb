/*
 * tests/support/ft_ws.h — a small, real RFC 6455 WebSocket client for tests and benchmarks.
 *
 * Plain TCP to 127.0.0.1 (no TLS). Client frames are masked as the RFC requires; server
 * frames are parsed strictly (an unmasked, well-formed frame; fragments reassembled; a
 * protocol error ends the socket with close code 1002). Pings are answered with pongs while
 * receiving. One struct ft_ws per socket; not thread-safe per socket, but separate sockets
 * may be used from separate threads. Memory per socket is small (a growable receive
 * buffer), so a benchmark can hold 10,000 of them; use ft_ws_fd with poll/epoll and
 * ft_ws_recv(ws, 0, ...) to drain whatever has arrived.
 */
#ifndef FT_WS_H
#define FT_WS_H

#include <stddef.h>

#define FT_WS_OP_TEXT   0x1
#define FT_WS_OP_BINARY 0x2
#define FT_WS_OP_CLOSE  0x8
#define FT_WS_OP_PING   0x9
#define FT_WS_OP_PONG   0xA

/* Close code reported when the TCP connection ended without a close frame (RFC 6455 7.1.5). */
#define FT_WS_CLOSED_ABNORMALLY 1006

struct ft_ws;

/*
 * Connects to 127.0.0.1:port and performs the upgrade handshake for `path` ("/api/ws"),
 * sending `Origin: <origin>` unless origin is NULL. Waits at most timeout_ms in all.
 * Returns the socket after a 101 with a correct Sec-WebSocket-Accept, else NULL (and, when
 * http_status is not NULL, the HTTP status the server answered instead, or 0).
 */
struct ft_ws *ft_ws_connect(int port, const char *path, const char *origin, int timeout_ms,
                            int *http_status);

/* Sends one complete text frame. 0, or -1 when the socket is closed or the write failed. */
int ft_ws_send_text(struct ft_ws *ws, const char *text, size_t len);

/* Sends one raw frame (any opcode, fin bit as given): for tests of limits and protocol
 * errors. 0 or -1. */
int ft_ws_send_frame(struct ft_ws *ws, int opcode, int fin, const void *data, size_t len);

/*
 * Waits up to timeout_ms (0: only what is already readable) for the next complete text or
 * binary message. Returns 1 with *out a malloc'd NUL-terminated copy (caller frees) and
 * *len its length (len may be NULL); 0 on timeout; -1 when the socket is closed (a close
 * frame was received and answered, or the connection ended): ft_ws_close_code then tells
 * the code. Pongs are ignored; pings are answered.
 */
int ft_ws_recv(struct ft_ws *ws, int timeout_ms, char **out, size_t *len);

/* Sends {"type":"auth","token":"<token>"} and waits up to timeout_ms for {"type":"ready"}.
 * Returns 0 when ready arrived, else the close code the server closed with (or -1 on
 * timeout / another first message). */
int ft_ws_auth(struct ft_ws *ws, const char *token, int timeout_ms);

/* Waits up to timeout_ms for the server to close the socket (discarding messages).
 * Returns the close code, or 0 on timeout while still open. */
int ft_ws_wait_close(struct ft_ws *ws, int timeout_ms);

/* 0 while open; else the close code the server sent (1005 for a close frame without a code,
 * FT_WS_CLOSED_ABNORMALLY without a close frame). */
int ft_ws_close_code(const struct ft_ws *ws);

/* The close frame's reason text ("" when none). */
const char *ft_ws_close_reason(const struct ft_ws *ws);

/* The socket's file descriptor (for poll/epoll), -1 once closed. */
int ft_ws_fd(const struct ft_ws *ws);

/* Sends a close frame with `code` (unless already closed) and frees everything. NULL ok. */
void ft_ws_close(struct ft_ws *ws, int code);

#endif
