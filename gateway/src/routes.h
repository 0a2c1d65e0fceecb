/*
 * gateway/routes.h — the HTTP route table and path matching.
 *
 * A route row maps {HTTP method, path pattern} either to {worker, RPC method, auth level,
 * body limit} (an RPC row) or to a local handler that answers in the gateway itself (a local
 * row: /healthz, /readyz, /metrics, /api/status). Patterns are literal segments and "{name}"
 * parameters, each matching exactly one non-empty segment. "/api/x/" and "/api/x" are the same
 * path. Pure functions over caller-owned data: thread-safe. (The handlers of local rows are not:
 * the server calls them on the lws thread.)
 */
#ifndef GW_ROUTES_H
#define GW_ROUTES_H

#include <stddef.h>

#define GW_PATH_MAX        1024 /* longer paths answer 414 */
#define GW_PARAM_MAX       8    /* parameters per pattern */
#define GW_PARAM_NAME_MAX  31
#define GW_PARAM_VALUE_MAX 128 /* bytes of one decoded parameter */

enum gw_method {
    GW_GET,
    GW_POST,
    GW_PUT,
    GW_PATCH,
    GW_DELETE,
    GW_HEAD,
    GW_OPTIONS,
    GW_METHOD_COUNT,
};

enum gw_auth {
    GW_AUTH_PUBLIC, /* no token needed */
    GW_AUTH_USER,   /* a valid, unrevoked access token (Authorization: Bearer) */
};

struct gw_server;
struct gw_conn;
struct lws;

/*
 * A local row's handler (local.h): answers the request on connection c, or starts answering
 * it (a fan-out, fanout.h). Called on the lws thread instead of reading a body and sending an
 * RPC; c's path, method and request id are set.
 */
typedef void gw_local_fn(struct gw_server *s, struct lws *wsi, struct gw_conn *c);

struct gw_route {
    enum gw_method method;
    const char *pattern;    /* "/api/transactions/{id}" */
    const char *worker;     /* one of proto_worker_names; NULL on a local row */
    const char *rpc_method; /* "txn.get"; NULL on a local row */
    enum gw_auth auth;
    size_t body_limit;  /* bytes; 0 means the gateway default (GW_MAX_BODY) */
    gw_local_fn *local; /* a local row's handler; NULL on an RPC row */
};

struct gw_param {
    char name[GW_PARAM_NAME_MAX + 1];
    char value[GW_PARAM_VALUE_MAX + 1];
};

struct gw_match {
    const struct gw_route *route; /* set on GW_MATCH_OK */
    int nparams;
    struct gw_param params[GW_PARAM_MAX];
    char allow[64]; /* on GW_MATCH_METHOD: "GET, POST" for the Allow header */
};

enum gw_match_result {
    GW_MATCH_OK = 0,
    GW_MATCH_NOT_FOUND = -1, /* no pattern matches the path: 404 */
    GW_MATCH_METHOD = -2,    /* a pattern matches but not for this method: 405 + Allow */
    GW_MATCH_TOO_LONG = -3,  /* path longer than GW_PATH_MAX: 414 */
    GW_MATCH_BAD_PARAM = -4, /* a parameter has bytes outside its charset or is too long: 400 */
};

/* The gateway's route table (static storage); *n receives the row count. */
const struct gw_route *gw_routes(size_t *n);

/*
 * Matches `path` (NUL-terminated, no query string) against `table`. When `decode`
 * is non-zero, parameters are percent-decoded ("%20" -> ' '); pass 0 when the HTTP
 * library already decoded the path (libwebsockets does). Parameter values must be
 * 1..GW_PARAM_VALUE_MAX bytes of [A-Za-z0-9._~@:+,=-] after decoding.
 * Rows are tried in table order; the first that matches path and method wins.
 * Returns a gw_match_result; `out` is filled as described there.
 */
int gw_route_match(const struct gw_route *table, size_t n, enum gw_method method, const char *path,
                   int decode, struct gw_match *out);

/* Value of parameter `name` in a match, or NULL. */
const char *gw_match_param(const struct gw_match *m, const char *name);

/* "GET", "POST", ... */
const char *gw_method_name(enum gw_method m);

/*
 * Percent-decodes `len` bytes of `in` into `out` (NUL-terminated). '+' is kept.
 * Returns the decoded length, or -1 for a malformed escape, an encoded NUL, or
 * when the result does not fit in outsz - 1 bytes.
 */
int gw_percent_decode(const char *in, size_t len, char *out, size_t outsz);

#endif
