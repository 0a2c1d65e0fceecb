/* Staging and writing HTTP responses; see http.h. */
#include "http.h"

#include <string.h>

#include "proto/json.h"

#define CHUNK 65536

/* The lws thread is the only writer, so one scratch buffer serves every connection. */
static unsigned char scratch[LWS_PRE + CHUNK];

void gw_http_reset(struct gw_conn *c)
{
    proto_buf_reset(&c->resp);
    proto_buf_reset(&c->xhdr);
    c->status = 0;
    c->ctype = NULL;
    c->sent = 0;
    c->hdr_done = 0;
    c->close_after = 0;
    c->err_status = 0;
    gw_fanout_free(c->fan);
    c->fan = NULL;
    c->route = NULL;
    c->idem[0] = '\0';
    c->user[0] = '\0';
    c->jti[0] = '\0';
    c->token_exp = 0;
    c->ip[0] = '\0';
}

void gw_http_header(struct gw_conn *c, const char *name, const char *value)
{
    proto_buf_puts(&c->xhdr, name);
    proto_buf_append(&c->xhdr, ":", 2); /* the colon and a NUL */
    proto_buf_append(&c->xhdr, value, strlen(value) + 1);
}

void gw_http_respond(struct lws *wsi, struct gw_conn *c, int status, const char *ctype)
{
    c->status = status;
    c->ctype = ctype;
    c->state = GW_CONN_RESPOND;
    c->sent = 0;
    c->hdr_done = 0;
    lws_callback_on_writable(wsi);
}

void gw_http_error_body(struct proto_buf *b, const char *code, const char *detail)
{
    proto_buf_reset(b);
    proto_buf_puts(b, "{\"detail\":");
    if (proto_json_quote(b, detail, strlen(detail)) != 0)
        proto_buf_puts(b, "\"error\"");
    proto_buf_puts(b, ",\"code\":");
    if (proto_json_quote(b, code, strlen(code)) != 0)
        proto_buf_puts(b, "\"error\"");
    proto_buf_puts(b, "}");
}

void gw_http_error(struct lws *wsi, struct gw_conn *c, int status, const char *code,
                   const char *detail)
{
    gw_http_error_body(&c->resp, code, detail);
    gw_http_respond(wsi, c, status, "application/json");
}

static int add_header(struct lws *wsi, const char *name_colon, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name_colon,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* RFC 9110's reason phrases for every status the gateway answers. */
static const struct {
    int status;
    const char *phrase;
} reasons[] = {
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {304, "Not Modified"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

const char *gw_http_reason(int status)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].status == status)
            return reasons[i].phrase;
    return "";
}

/*
 * The status line with its reason phrase: lws 4.1 knows phrases only for 200, 304, 400-417 and
 * 500-505, and writes "HTTP/1.1 201 " for the rest (clients that show the phrase show nothing).
 * lws writes the line into a scratch buffer first, which tells the request's HTTP version
 * (lws keeps it private); an HTTP/2 stream's status is a pseudo-header with no phrase, so lws
 * writes that itself.
 */
static int add_status(struct lws *wsi, int status, unsigned char **p, unsigned char *end)
{
    unsigned char probe[128], *pp = probe;
    if (lws_add_http_header_status(wsi, (unsigned)status, &pp, probe + sizeof probe))
        return -1;
    if (pp - probe < 9 || memcmp(probe, "HTTP/1.", 7) != 0)
        return lws_add_http_header_status(wsi, (unsigned)status, p, end) ? -1 : 0;
    char line[96];
    int n = snprintf(line, sizeof line, "%.8s %d %s", (const char *)probe, status,
                     gw_http_reason(status));
    return lws_add_http_header_by_name(wsi, NULL, (const unsigned char *)line, n, p, end) ? -1 : 0;
}

/*
 * Writes the headers and, when it fits in the scratch buffer, the whole body in the
 * same write: one TCP segment per small response instead of two. Returns 1 when the
 * body went with the headers, 0 when it must follow, -1 on error.
 * The body's length is always known, so these are lws_add_http_common_headers' headers for
 * that case (status, content type, content length) with our status line.
 */
static int write_headers(struct lws *wsi, struct gw_conn *c)
{
    unsigned char *start = scratch + LWS_PRE, *p = start, *end = scratch + sizeof scratch - 1;
    if (add_status(wsi, c->status, &p, end) != 0)
        return -1;
    if (c->ctype && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                                 (const unsigned char *)c->ctype,
                                                 (int)strlen(c->ctype), &p, end))
        return -1;
    if (lws_add_http_header_content_length(wsi, (lws_filepos_t)c->resp.len, &p, end))
        return -1;
    if (add_header(wsi, "x-request-id:", c->req_id, &p, end))
        return -1;
    if (c->is_api && add_header(wsi, "cache-control:", "no-store", &p, end))
        return -1;
    for (size_t off = 0; off < c->xhdr.len;) {
        const char *name = c->xhdr.data + off;
        const char *value = name + strlen(name) + 1;
        off = (size_t)(value - c->xhdr.data) + strlen(value) + 1;
        if (add_header(wsi, name, value, &p, end))
            return -1;
    }
    if (c->close_after && add_header(wsi, "connection:", "close", &p, end))
        return -1;
    if (lws_finalize_http_header(wsi, &p, end))
        return -1;
    c->hdr_done = 1;
    size_t body = c->method == GW_HEAD ? 0 : c->resp.len;
    int all = body <= (size_t)(end - p);
    if (all && body) {
        memcpy(p, c->resp.data, body);
        p += body;
        c->sent = body;
    }
    /* h1 headers are raw bytes on the socket, so the body may ride along. */
    if (lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) < (int)(p - start))
        return -1;
    return all;
}

int gw_http_write(struct lws *wsi, struct gw_conn *c)
{
    if (!c->hdr_done) {
        int rc = write_headers(wsi, c);
        if (rc != 0)
            return rc;
        lws_callback_on_writable(wsi);
        return 0;
    }
    size_t n = c->resp.len - c->sent;
    if (n > CHUNK)
        n = CHUNK;
    memcpy(scratch + LWS_PRE, c->resp.data + c->sent, n);
    int last = c->sent + n == c->resp.len;
    if (lws_write(wsi, scratch + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < (int)n)
        return -1;
    c->sent += n;
    if (last)
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

void gw_http_free(struct gw_conn *c)
{
    proto_buf_free(&c->resp);
    proto_buf_free(&c->xhdr);
    proto_buf_free(&c->body);
    gw_fanout_free(c->fan);
    c->fan = NULL;
    if (c->args_init) {
        msgpack_sbuffer_destroy(&c->args);
        c->args_init = 0;
    }
}
