/* Request head checks (RFC 9112, RFC 6455 4.2); see head.h. */
#include "head.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "request.h"

static int tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void refuse(struct gw_head *h, int status, const char *code, const char *detail)
{
    if (!h->status) {
        h->status = status;
        h->code = code;
        h->detail = detail;
    }
}

size_t gw_head_skip(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == '\r' || p[i] == '\n'))
        i++;
    return i;
}

size_t gw_head_end(const char *p, size_t n, size_t from)
{
    size_t i = gw_head_skip(p, n);
    if (from > i + 3)
        i = from - 3;
    for (; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (i + 1 < n && p[i + 1] == '\n')
            return i + 2;
        if (i + 2 < n && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* 1 if the comma-separated token list v[0..n) holds `tok` (case-insensitive). */
static int list_has(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok);
    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
            return 1;
    }
    return 0;
}

static int field_is(const char *name, size_t n, const char *want)
{
    return n == strlen(want) && strncasecmp(name, want, n) == 0;
}

/* The request line l[0..n) without its line end. Returns the number of query parameters. */
static int request_line(const char *l, size_t n, const char *ws_path, struct gw_head *h,
                        int *ws_target, int *http10)
{
    const char *sp1 = memchr(l, ' ', n);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l)) : NULL;
    size_t ml = sp1 ? (size_t)(sp1 - l) : 0;
    snprintf(h->method, sizeof h->method, "%.*s", (int)ml, l); /* truncated: for the log */
    for (size_t i = 0; i < ml; i++)
        if (!tchar((unsigned char)l[i]))
            ml = 0;
    if (!ml || !sp2 || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - l)) || sp2 == sp1 + 1) {
        refuse(h, 400, "bad_request", "the request line is not METHOD target HTTP/1.1");
        return 0;
    }
    const char *v = sp2 + 1;
    size_t vl = n - (size_t)(v - l);
    if (vl == 8 && (memcmp(v, "HTTP/1.1", 8) == 0 || memcmp(v, "HTTP/1.0", 8) == 0)) {
        *http10 = v[7] == '0';
    } else if (vl == 8 && memcmp(v, "HTTP/", 5) == 0 && v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
               v[7] >= '0' && v[7] <= '9') {
        refuse(h, 505, "http_version_not_supported", "this server speaks HTTP/1.1");
        return 0;
    } else {
        refuse(h, 400, "bad_request", "the request line is not METHOD target HTTP/1.1");
        return 0;
    }
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
    int ok = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok |= ml == strlen(known[i]) && memcmp(l, known[i], ml) == 0;
    if (!ok &&
        ((ml == 7 && memcmp(l, "CONNECT", 7) == 0) || (ml == 5 && memcmp(l, "TRACE", 5) == 0))) {
        h->hname = "Allow";
        h->hvalue = GW_HEAD_ALLOW;
        refuse(h, 405, "method_not_allowed", "this method is not allowed here");
        return 0;
    }
    if (!ok) {
        refuse(h, 501, "not_implemented", "this method is not implemented");
        return 0;
    }
    const char *t = sp1 + 1;
    size_t tl = (size_t)(sp2 - t);
    for (size_t i = 0; i < tl; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f) {
            refuse(h, 400, "invalid_target", "the request target has bytes that must be %-encoded");
            return 0;
        }
    if (t[0] != '/') {
        refuse(h, 400, "invalid_target",
               tl == 1 && t[0] == '*' ? "OPTIONS * is not served: ask about a path"
                                      : "the request target must be a path (no scheme or host)");
        return 0;
    }
    const char *q = memchr(t, '?', tl);
    size_t pl = q ? (size_t)(q - t) : tl;
    *ws_target = pl == strlen(ws_path) && memcmp(t, ws_path, pl) == 0;
    int params = 0;
    if (q && q + 1 < t + tl) {
        params = 1;
        for (const char *c = q + 1; c < t + tl; c++)
            params += *c == '&';
    }
    return params;
}

/* Sec-WebSocket-Key: base64 of 16 bytes (RFC 6455 4.1), so 22 characters and "==". */
static int ws_key_ok(const char *v, size_t n)
{
    if (n != 24 || v[22] != '=' || v[23] != '=')
        return 0;
    for (size_t i = 0; i < 22; i++)
        if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z') ||
              (v[i] >= '0' && v[i] <= '9') || v[i] == '+' || v[i] == '/'))
            return 0;
    return 1;
}

void gw_head_check(const char *p, size_t n, int complete, size_t head_max, const char *ws_path,
                   int ws_ok, struct gw_head *h)
{
    memset(h, 0, sizeof *h);
    size_t i = gw_head_skip(p, n);
    int line_no = 0, fields = 0, params = 0, ws_target = 0, http10 = 0;
    int te = 0, cl_bad = 0, cl_seen = 0, upgrade_ws = 0, conn_upgrade = 0, ws_ver = 0, ws_key = 0;
    int ended = 0;
    while (i < n && !h->status) {
        const char *l = p + i;
        const char *lf = memchr(l, '\n', n - i);
        size_t len = lf ? (size_t)(lf - l) : n - i;
        if (line_no == 0 && len > GW_HEAD_LINE_MAX) {
            refuse(h, 414, "uri_too_long", "the request line is longer than 8192 bytes");
            break;
        }
        if (!lf)
            break; /* the rest has not arrived */
        i += len + 1;
        if (len && l[len - 1] == '\r')
            len--;
        if (line_no++ == 0) {
            params = request_line(l, len, ws_path, h, &ws_target, &http10);
            continue;
        }
        if (len == 0) {
            ended = 1;
            break;
        }
        if (++fields > GW_HEAD_FIELDS_MAX) {
            refuse(h, 431, "headers_too_large", "the request has more than 64 header fields");
            break;
        }
        if (!complete)
            continue;
        if (l[0] == ' ' || l[0] == '\t') {
            refuse(h, 400, "bad_request", "folded header lines (obs-fold) are not accepted");
            break;
        }
        size_t nl = 0;
        while (nl < len && tchar((unsigned char)l[nl]))
            nl++;
        if (nl == 0 || nl == len || l[nl] != ':') {
            refuse(h, 400, "bad_request", "a header line is not name: value");
            break;
        }
        const char *v = l + nl + 1;
        size_t vl = len - nl - 1;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        for (size_t k = 0; k < vl; k++)
            if (((unsigned char)v[k] < 0x20 && v[k] != '\t') || v[k] == 0x7f) {
                refuse(h, 400, "bad_request", "a header value has control characters");
                return;
            }
        if (field_is(l, nl, "content-length")) {
            uint64_t x = 0;
            int ok = vl > 0 && vl <= 18;
            for (size_t k = 0; ok && k < vl; k++) {
                ok = v[k] >= '0' && v[k] <= '9';
                x = x * 10 + (uint64_t)(v[k] - '0');
            }
            if (!ok || (cl_seen && x != h->body))
                cl_bad = 1;
            cl_seen = 1;
            h->body = x;
        } else if (field_is(l, nl, "transfer-encoding")) {
            te = 1;
        } else if (field_is(l, nl, "upgrade")) {
            if (list_has(v, vl, "websocket"))
                upgrade_ws = 1;
            else
                h->hide_upgrade = (size_t)(l - p);
        } else if (field_is(l, nl, "connection")) {
            conn_upgrade |= list_has(v, vl, "upgrade");
        } else if (field_is(l, nl, "sec-websocket-version")) {
            ws_ver = vl == 2 && memcmp(v, "13", 2) == 0 ? 1 : -1;
        } else if (field_is(l, nl, "sec-websocket-key")) {
            ws_key = ws_key_ok(v, vl);
        }
    }
    if (!h->status && n > head_max)
        refuse(h, 431, "headers_too_large",
               "the request headers are larger than the server accepts");
    if (h->status || !complete)
        return;
    if (!ended) {
        refuse(h, 400, "bad_request", "the request head has no end");
        return;
    }
    if (params > GW_QUERY_MAX) {
        refuse(h, 400, "invalid_query", "too many query parameters");
        return;
    }
    if (fields + params > GW_HEAD_FRAGS_MAX) {
        refuse(h, 431, "headers_too_large",
               "too many header fields for this many query parameters");
        return;
    }
    if (te) {
        refuse(h, 411, "length_required", "send the body with a Content-Length");
        return;
    }
    if (cl_bad) {
        refuse(h, 400, "bad_request", "invalid Content-Length");
        return;
    }
    if (!upgrade_ws)
        return;
    h->hide_upgrade = 0;
    if (!ws_target || strcmp(h->method, "GET") != 0) {
        refuse(h, 404, "not_found", "WebSockets are served on GET /api/ws only");
    } else if (http10 || !conn_upgrade || !ws_key) {
        refuse(h, 400, "invalid_websocket_handshake",
               "a WebSocket handshake needs HTTP/1.1, Connection: Upgrade and a Sec-WebSocket-Key");
    } else if (ws_ver != 1) {
        h->hname = "Sec-WebSocket-Version";
        h->hvalue = "13";
        refuse(h, 426, "unsupported_websocket_version", "this server speaks WebSocket version 13");
    } else if (!ws_ok) {
        refuse(h, 503, "shutting_down", "the gateway is shutting down");
    } else {
        h->websocket = 1;
    }
}
