/*
 * gateway/http.h — one HTTP connection's state and response writing.
 *
 * struct gw_conn is libwebsockets' per-session data of the HTTP protocol. It lives
 * on the lws thread only; other threads and async gaps name it by `id` (the server's
 * gw_registry, registry.h), never by pointer. A response is staged with gw_http_respond /
 * gw_http_error and written only from LWS_CALLBACK_HTTP_WRITEABLE by gw_http_write.
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <libwebsockets.h>
#include <msgpack.h>

#include "proto/buf.h"
#include "proto/envelope.h"
#include "fanout.h"
#include "routes.h"

enum gw_conn_state {
    GW_CONN_IDLE,    /* between requests */
    GW_CONN_BODY,    /* reading a request body */
    GW_CONN_DISCARD, /* reading and dropping a body, then answering err_* */
    GW_CONN_WAIT,    /* waiting for the RPC reply(ies) */
    GW_CONN_RESPOND, /* response staged, being written */
};

struct gw_conn {
    uint64_t id;  /* registry id; 0 when not registered */
    uint32_t seq; /* HTTP transaction number on this connection */
    enum gw_conn_state state;
    enum gw_method method;
    int is_api;
    int64_t t0_us;
    char req_id[PROTO_ID_MAX + 1];
    char path[GW_PATH_MAX + 1];

    /* The request in progress. */
    const struct gw_route *route;
    char idem[PROTO_IDEM_MAX + 1];
    size_t body_limit;
    msgpack_sbuffer args; /* the args map, body packed last */
    int args_init;
    struct proto_buf body;
    char user[PROTO_UUID_LEN + 1]; /* the verified token's sub; "" when unauthenticated */
    char jti[PROTO_UUID_LEN + 1];  /* the verified token's jti */
    int64_t token_exp;
    char ip[64];    /* client address (see gw_client_ip) */
    int err_status; /* for GW_CONN_DISCARD */
    const char *err_code;
    char err_detail[128];

    struct gw_fanout *fan; /* a local handler's fan-out (fanout.h), or NULL */

    /* The response. */
    int status;
    const char *ctype; /* static string or NULL */
    struct proto_buf resp;
    struct proto_buf xhdr; /* extra headers: "name:\0value\0" pairs */
    size_t sent;
    int hdr_done, close_after;
};

/* Resets the response part for a new request. */
void gw_http_reset(struct gw_conn *c);

/* Adds a response header; `name` without the colon ("Retry-After"). */
void gw_http_header(struct gw_conn *c, const char *name, const char *value);

/* Stages c->resp (already filled) as the response and asks for a writeable callback. */
void gw_http_respond(struct lws *wsi, struct gw_conn *c, int status, const char *ctype);

/* Fills b with the error shape {"detail": detail, "code": code}. */
void gw_http_error_body(struct proto_buf *b, const char *code, const char *detail);

/* RFC 9110's reason phrase of a status the gateway answers ("" for others). */
const char *gw_http_reason(int status);

/* Stages {"detail": detail, "code": code} with `status`. */
void gw_http_error(struct lws *wsi, struct gw_conn *c, int status, const char *code,
                   const char *detail);

/*
 * Writes the staged response (headers, then the body in chunks) from
 * LWS_CALLBACK_HTTP_WRITEABLE. Returns 1 when everything was written, 0 when more
 * writeable callbacks are needed, -1 when the connection must close.
 */
int gw_http_write(struct lws *wsi, struct gw_conn *c);

/* Releases the connection's buffers. */
void gw_http_free(struct gw_conn *c);

#endif
