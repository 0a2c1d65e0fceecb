/* A request's head and body, up to its handler or its RPC; see intake.h. */
#include "intake.h"
#include "server_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>

#include "edge.h"
#include "http.h"
#include "metrics.h"
#include "registry.h"
#include "request.h"
#include "routes.h"
#include "static.h"

#include "proto/json.h"
#include "proto/log.h"
#include "proto/status.h"
#include "proto/token.h"
#include "proto/uuid.h"

#define DISCARD_MAX (64u << 20) /* larger bodies are not drained before a 413 */

static int header_copy(struct lws *wsi, enum lws_token_indexes h, char *buf, size_t size)
{
    int n = lws_hdr_total_length(wsi, h);
    if (n <= 0)
        return n == 0 ? 0 : -1;
    if ((size_t)n >= size)
        return -2;
    return lws_hdr_copy(wsi, buf, (int)size, h);
}

/* Packs path params and query into c->args (the body value follows). 0 or -1 (answered). */
static int pack_args_head(struct gw_server *s, struct lws *wsi, struct gw_conn *c,
                          const struct gw_match *m)
{
    static char pool[16384];
    struct gw_kv kv[GW_QUERY_MAX];
    int nq = 0;
    size_t used = 0;
    for (int i = 0; i < GW_QUERY_MAX + 1; i++) {
        if (used + 1 >= sizeof pool) {
            gw_server_respond_error(s, wsi, c, 414, "uri_too_long", "the query string is too long");
            return -1;
        }
        int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (flen <= 0)
            break;
        if ((size_t)flen + 1 > sizeof pool - used) {
            gw_server_respond_error(s, wsi, c, 414, "uri_too_long", "the query string is too long");
            return -1;
        }
        int n = lws_hdr_copy_fragment(wsi, pool + used, (int)(sizeof pool - used),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        if (nq == GW_QUERY_MAX) {
            gw_server_respond_error(s, wsi, c, 400, "invalid_query", "too many query parameters");
            return -1;
        }
        if (!proto_utf8_valid(pool + used, (size_t)n)) {
            gw_server_respond_error(s, wsi, c, 400, "invalid_query",
                                    "the query string is not valid UTF-8");
            return -1;
        }
        if (n > 0)
            kv[nq++] = gw_kv_split(pool + used, (size_t)n);
        used += (size_t)n + 1;
    }
    if (!c->args_init) {
        msgpack_sbuffer_init(&c->args);
        c->args_init = 1;
    }
    msgpack_sbuffer_clear(&c->args);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->args, msgpack_sbuffer_write);
    struct gw_meta meta = {c->ip, c->user[0] ? c->jti : NULL, c->token_exp};
    gw_pack_args_head(&pk, m, kv, nq, &meta);
    return 0;
}

/* The client address for args.meta.ip: the socket peer, or behind our proxy its last hop.
 * The peer comes from the edge, which recorded it at accept: asking the kernel was one of the
 * system calls every API request paid for (issue 20). */
static void client_ip(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    char buf[64] = "", xff[1024];
    const char *peer = gw_edge_peer(wsi);
    if (!peer)
        peer = lws_get_peer_simple(wsi, buf, sizeof buf);
    int n = s->cfg->trust_proxy ? header_copy(wsi, WSI_TOKEN_X_FORWARDED_FOR, xff, sizeof xff) : 0;
    gw_client_ip(n > 0 ? xff : NULL, peer, s->cfg->trust_proxy, c->ip, sizeof c->ip);
}

/*
 * Verifies the bearer token of a protected route, locally and before anything is
 * published, so a bad token costs no RPC. On success sets c->user, c->jti and
 * c->token_exp and returns 0; otherwise returns 401 with *code and *detail, and
 * stages the WWW-Authenticate header. (The denylist is checked later, on the bridge.)
 */
static int authenticate(struct gw_server *s, struct lws *wsi, struct gw_conn *c, const char **code,
                        const char **detail)
{
    char hdr[PROTO_TOKEN_MAX + 64];
    const char *tok;
    size_t toklen;
    struct proto_token_claims cl;
    int rc = PROTO_EAUTH;
    int n = header_copy(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, hdr, sizeof hdr);
    if (n > 0 && gw_bearer_token(hdr, (size_t)n, &tok, &toklen))
        rc = proto_token_verify(&s->keys, tok, toklen, (int64_t)time(NULL), &cl);
    if (rc == 0) {
        memcpy(c->user, cl.sub, sizeof c->user);
        memcpy(c->jti, cl.jti, sizeof c->jti);
        c->token_exp = cl.exp;
        return 0;
    }
    gw_metrics_auth_refused(&s->m);
    if (n == 0) {
        gw_http_header(c, "WWW-Authenticate", "Bearer realm=\"fintwin\"");
        *code = "unauthenticated";
        *detail = "this request needs an access token (Authorization: Bearer)";
        return 401;
    }
    gw_http_header(c, "WWW-Authenticate", "Bearer realm=\"fintwin\", error=\"invalid_token\"");
    if (rc == PROTO_EEXPIRED) {
        *code = "token_expired";
        *detail = "the access token has expired";
        return 401;
    }
    /* The reason stays in the log (never the token): the client only learns "invalid". */
    PROTO_INFO(c->req_id, "token refused", "err=%s", proto_log_str(proto_strerror(rc)));
    *code = "invalid_token";
    *detail = "the access token is invalid";
    return 401;
}

/*
 * Answers an error before the request body was read: at once when there is no body
 * (or it is too large to drain, or the client waits for 100-continue, then closing),
 * else after draining it, like the 415 path.
 */
static void refuse_early(struct gw_server *s, struct lws *wsi, struct gw_conn *c,
                         unsigned long long clen, int status, const char *code, const char *detail)
{
    if (clen == 0 || clen > DISCARD_MAX || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_EXPECT) > 0) {
        if (clen)
            c->close_after = 1;
        gw_server_respond_error(s, wsi, c, status, code, detail);
        return;
    }
    c->err_status = status;
    c->err_code = code;
    snprintf(c->err_detail, sizeof c->err_detail, "%s", detail);
    gw_server_set_state(s, c, GW_CONN_DISCARD);
}

static void start_api(struct gw_server *s, struct lws *wsi, struct gw_conn *c,
                      const struct gw_match *m)
{
    char buf[PROTO_IDEM_MAX + 2];
    c->route = m->route;
    c->body_limit = m->route->body_limit ? m->route->body_limit : s->cfg->max_body;

    int n = lws_hdr_custom_length(wsi, "idempotency-key:", 16);
    if (n >= 0) {
        if (n > PROTO_IDEM_MAX ||
            lws_hdr_custom_copy(wsi, buf, sizeof buf, "idempotency-key:", 16) < 0 ||
            !gw_idem_ok(buf, strlen(buf))) {
            gw_server_respond_error(s, wsi, c, 400, "invalid_idempotency_key",
                                    "Idempotency-Key must be 1 to 255 printable ASCII characters");
            return;
        }
        memcpy(c->idem, buf, strlen(buf) + 1); /* <= PROTO_IDEM_MAX, checked above */
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        c->close_after = 1;
        gw_server_respond_error(s, wsi, c, 411, "length_required",
                                "send the body with a Content-Length");
        return;
    }
    unsigned long long clen = 0;
    char num[32];
    n = header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, num, sizeof num);
    if (n > 0) {
        char *end;
        clen = strtoull(num, &end, 10);
        if (num[0] < '0' || num[0] > '9' || *end) {
            c->close_after = 1;
            gw_server_respond_error(s, wsi, c, 400, "bad_request", "invalid Content-Length");
            return;
        }
    }
    client_ip(s, wsi, c);
    if (m->route->auth == GW_AUTH_USER) {
        const char *code, *detail;
        int st = authenticate(s, wsi, c, &code, &detail);
        if (st) {
            refuse_early(s, wsi, c, clen, st, code, detail);
            return;
        }
    }
    if (pack_args_head(s, wsi, c, m) != 0)
        return;
    if (clen == 0) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &c->args, msgpack_sbuffer_write);
        msgpack_pack_nil(&pk);
        gw_server_submit_request(s, wsi, c);
        return;
    }
    if (clen > c->body_limit) {
        /* With "Expect: 100-continue" the client waits: refuse before it sends anything. */
        if (clen > DISCARD_MAX || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_EXPECT) > 0) {
            c->close_after = 1;
            gw_server_respond_error(s, wsi, c, 413, "payload_too_large",
                                    "the request body is too large");
            return;
        }
        c->err_status = 413;
        c->err_code = "payload_too_large";
        snprintf(c->err_detail, sizeof c->err_detail, "the request body is larger than %zu bytes",
                 c->body_limit);
        gw_server_set_state(s, c, GW_CONN_DISCARD);
        return;
    }
    char ct[256];
    if (header_copy(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, ct, sizeof ct) <= 0 ||
        !gw_content_type_json(ct)) {
        c->err_status = 415;
        c->err_code = "unsupported_media_type";
        snprintf(c->err_detail, sizeof c->err_detail, "the request body must be application/json");
        gw_server_set_state(s, c, GW_CONN_DISCARD);
        return;
    }
    proto_buf_reset(&c->body);
    gw_server_set_state(s, c, GW_CONN_BODY);
}

void gw_intake_body(struct gw_server *s, struct gw_conn *c, const void *in, size_t len)
{
    if (c->state == GW_CONN_BODY) {
        if (c->body.len + len > c->body_limit) {
            c->err_status = 413;
            c->err_code = "payload_too_large";
            snprintf(c->err_detail, sizeof c->err_detail,
                     "the request body is larger than %zu bytes", c->body_limit);
            proto_buf_free(&c->body);
            gw_server_set_state(s, c, GW_CONN_DISCARD);
            return;
        }
        proto_buf_append(&c->body, in, len);
    }
}

void gw_intake_body_done(struct gw_server *s, struct lws *wsi, struct gw_conn *c)
{
    if (c->state == GW_CONN_DISCARD) {
        gw_server_respond_error(s, wsi, c, c->err_status, c->err_code, c->err_detail);
        return;
    }
    if (c->state != GW_CONN_BODY)
        return;
    struct proto_json_limits lim = proto_json_default_limits;
    lim.max_bytes = c->body_limit;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->args, msgpack_sbuffer_write);
    char err[160], detail[200];
    int rc = proto_json_to_msgpack(c->body.data ? c->body.data : "", c->body.len, &lim, &pk, err,
                                   sizeof err);
    if (c->body.cap > 65536)
        proto_buf_free(&c->body);
    else
        proto_buf_reset(&c->body);
    if (rc != 0) {
        snprintf(detail, sizeof detail, "invalid JSON: %s", err);
        gw_server_respond_error(s, wsi, c, 400, "invalid_json", detail);
        return;
    }
    gw_server_submit_request(s, wsi, c);
}

static int lws_to_method(int m, enum gw_method *out)
{
    switch (m) {
    case LWSHUMETH_GET:
        *out = GW_GET;
        return 0;
    case LWSHUMETH_POST:
        *out = GW_POST;
        return 0;
    case LWSHUMETH_PUT:
        *out = GW_PUT;
        return 0;
    case LWSHUMETH_PATCH:
        *out = GW_PATCH;
        return 0;
    case LWSHUMETH_DELETE:
        *out = GW_DELETE;
        return 0;
    case LWSHUMETH_HEAD:
        *out = GW_HEAD;
        return 0;
    case LWSHUMETH_OPTIONS:
        *out = GW_OPTIONS;
        return 0;
    default:
        return -1;
    }
}

/* A file of the web app (static.h), outside /api. */
static void serve_file(struct gw_server *s, struct lws *wsi, struct gw_conn *c, int get)
{
    if (!get) {
        gw_http_header(c, "Allow", "GET, HEAD");
        gw_server_respond_error(s, wsi, c, 405, "method_not_allowed", "only GET is allowed here");
        return;
    }
    struct gw_static_file f;
    int st = gw_static_load(s->cfg->web_root, c->path, &c->resp, &f);
    gw_http_header(c, "Cache-Control", f.cache_control);
    gw_http_header(c, "X-Content-Type-Options", "nosniff");
    if (st == 200)
        gw_http_respond(wsi, c, 200, f.ctype);
    else if (st == 404)
        gw_server_respond_error(s, wsi, c, 404, "not_found", "no such file");
    else
        gw_server_respond_error(s, wsi, c, 500, "internal", "the file could not be read");
}

int gw_intake_http(struct gw_server *s, struct lws *wsi, struct gw_conn *c, const char *path)
{
    if (!c)
        return -1;
    if (!c->id)
        c->id = gw_registry_add(&s->conns, wsi);
    c->seq++;
    c->t0_us = proto_mono_us();
    gw_http_reset(c);
    gw_server_set_state(s, c, GW_CONN_RESPOND); /* until a handler says otherwise */

    char *uri;
    int ulen, lm = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    int method_ok = lws_to_method(lm, &c->method) == 0;
    if (!method_ok)
        c->method = GW_GET;
    snprintf(c->path, sizeof c->path, "%s", path ? path : "/");
    c->is_api = strncmp(c->path, "/api", 4) == 0 && (c->path[4] == '/' || c->path[4] == '\0');

    char rid[PROTO_ID_MAX + 2];
    int n = lws_hdr_custom_length(wsi, "x-request-id:", 13);
    if (n > 0 && n <= PROTO_ID_MAX &&
        lws_hdr_custom_copy(wsi, rid, sizeof rid, "x-request-id:", 13) > 0 &&
        gw_request_id_ok(rid, strlen(rid)))
        strcpy(c->req_id, rid);
    else if (proto_uuid_v4(c->req_id) != 0)
        snprintf(c->req_id, sizeof c->req_id, "gw-%" PRIu64 "-%u", c->id, c->seq);

    if (s->draining) {
        c->close_after = 1;
        gw_server_respond_unavailable(s, wsi, c, "shutting_down", "the gateway is shutting down");
        return 0;
    }
    if (!method_ok) {
        c->close_after = 1;
        gw_server_respond_error(s, wsi, c, 405, "method_not_allowed",
                                "this method is not supported");
        return 0;
    }
    if (strlen(path ? path : "") > GW_PATH_MAX) {
        gw_server_respond_error(s, wsi, c, 414, "uri_too_long", "the path is too long");
        return 0;
    }
    int get = c->method == GW_GET || c->method == GW_HEAD;
    if (c->method == GW_HEAD)
        c->close_after = 1;
    struct gw_match m;
    int rc = gw_route_match(s->routes, s->nroutes, c->method, c->path, 0, &m);
    if (!c->is_api) {
        /* There a local row answers its exact path only ("/healthz/" is a file). */
        if (rc == GW_MATCH_OK && m.route->local && strcmp(m.route->pattern, c->path) == 0)
            m.route->local(s, wsi, c);
        else
            serve_file(s, wsi, c, get);
        return 0;
    }
    switch (rc) {
    case GW_MATCH_OK:
        if (m.route->local)
            m.route->local(s, wsi, c);
        else
            start_api(s, wsi, c, &m);
        break;
    case GW_MATCH_METHOD:
        gw_http_header(c, "Allow", m.allow);
        gw_server_respond_error(s, wsi, c, 405, "method_not_allowed",
                                "this method is not allowed here");
        break;
    case GW_MATCH_TOO_LONG:
        gw_server_respond_error(s, wsi, c, 414, "uri_too_long", "the path is too long");
        break;
    case GW_MATCH_BAD_PARAM:
        gw_server_respond_error(s, wsi, c, 400, "invalid_path_param",
                                "a path parameter is malformed");
        break;
    default:
        gw_server_respond_error(s, wsi, c, 404, "not_found", "no such route");
        break;
    }
    return 0;
}
