/*
 * gateway/head.h — the checks a request head passes before libwebsockets parses it.
 *
 * Pure functions over bytes (unit-tested in tests/unit/test_head.c); edge.c feeds them what
 * arrives on a client connection. They decide everything lws 4.1.6 would otherwise decide on
 * its own with an HTML page, a silent hang-up or no answer at all (README "libwebsockets"):
 * methods, request targets, versions, head sizes, framing headers, WebSocket handshakes.
 * A head that passes is one lws parses without running out of space.
 */
#ifndef GW_HEAD_H
#define GW_HEAD_H

#include <stddef.h>
#include <stdint.h>

#define GW_HEAD_LINE_MAX                                                                           \
    8192 /* request line; longer answers 414 (a header line has the head budget) */
#define GW_HEAD_FIELDS_MAX 64 /* header lines; more answer 431 (browsers send about 20) */
/* lws 4.1.6 keeps at most 94 fragments per head (struct allocated_headers.frags): one per
 * header line it knows and one per query parameter. More make its parser fail silently. */
#define GW_HEAD_FRAGS_MAX 88
#define GW_HEAD_ALLOW     "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"

struct gw_head {
    int status;         /* 0: hand the head to lws; else the answer's status */
    const char *code;   /* the error's stable code (static) */
    const char *detail; /* its message (static) */
    const char *hname;  /* one extra response header ("Allow"), or NULL */
    const char *hvalue;
    int websocket;       /* a WebSocket handshake lws will complete */
    uint64_t body;       /* Content-Length (0 when absent) */
    size_t hide_upgrade; /* offset of an "Upgrade" field name to hide from lws (h2c), or 0 */
    char method[12];     /* for the log: the method as sent (truncated), or "" */
};

/*
 * Offset just past the empty line that ends a head in p[0..n), or 0 when it has not ended.
 * `from` is where the previous call stopped looking (0 the first time): the search restarts
 * a few bytes before it. A bare LF ends lines too (RFC 9112 2.2).
 */
size_t gw_head_end(const char *p, size_t n, size_t from);

/* The empty lines before the request line in p[0..n): lws 4.1.6 would close the connection
 * on them, so the edge hands lws the head without them. */
size_t gw_head_skip(const char *p, size_t n);

/*
 * Checks a head. `complete`: p[0..n) is a whole head (ends with its empty line, from
 * gw_head_end); else the first n bytes of one, and only refusals that cannot change with
 * more bytes are decided (h->status stays 0 otherwise). `head_max` is the byte budget of a
 * whole head (431 above), `ws_path` the only path that upgrades, `ws_ok` 0 while upgrades
 * are refused (shutting down: 503).
 */
void gw_head_check(const char *p, size_t n, int complete, size_t head_max, const char *ws_path,
                   int ws_ok, struct gw_head *h);

#endif
