/* The reply a handler fills: body packer, error, extra headers, and its encoding. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "proto/buf.h"
#include "proto/log.h"
#include "proto/msg.h"
#include "proto/status.h"

void wk_reply_init(struct wk_reply *rep, struct wk_reply_priv *priv, const struct wk_log *log)
{
    memset(priv, 0, sizeof *priv);
    priv->log = log;
    msgpack_sbuffer_init(&priv->sb);
    msgpack_packer_init(&priv->pk, &priv->sb, msgpack_sbuffer_write);
    rep->priv = priv;
    rep->body = &priv->pk;
    rep->status = 200;
}

static void clear_headers(struct wk_reply_priv *p)
{
    for (int i = 0; i < p->nheaders; i++) {
        free(p->hname[i]);
        free(p->hvalue[i]);
        p->hname[i] = p->hvalue[i] = NULL;
    }
    p->nheaders = 0;
}

void wk_reply_reset(struct wk_reply *rep)
{
    struct wk_reply_priv *p = rep->priv;
    msgpack_sbuffer_clear(&p->sb);
    p->is_error = 0;
    p->code[0] = p->message[0] = '\0';
    clear_headers(p);
    rep->status = 200;
}

void wk_reply_destroy(struct wk_reply *rep)
{
    clear_headers(rep->priv);
    msgpack_sbuffer_destroy(&rep->priv->sb);
}

int wk_reply_error(struct wk_reply *rep, int status, const char *code, const char *fmt, ...)
{
    struct wk_reply_priv *p = rep->priv;
    msgpack_sbuffer_clear(&p->sb);
    p->is_error = 1;
    rep->status = status;
    snprintf(p->code, sizeof p->code, "%s", code);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
    return WK_EHANDLER;
}

void wk_reply_raw(struct wk_reply *rep, const void *body, size_t len)
{
    rep->body->callback(rep->body->data, body, len);
}

int wk_reply_is_error(const struct wk_reply *rep)
{
    return rep->priv->is_error;
}

const char *wk_reply_error_code(const struct wk_reply *rep)
{
    return rep->priv->code;
}

const char *wk_reply_error_message(const struct wk_reply *rep)
{
    return rep->priv->message;
}

void wk_reply_header(struct wk_reply *rep, const char *name, const char *value)
{
    struct wk_reply_priv *p = rep->priv;
    if (p->nheaders >= WK_MAX_HEADERS) {
        PROTO_WARN(wk_log_id(p->log), "too many reply headers, dropped", "name=%s",
                   proto_log_str(name));
        return;
    }
    p->hname[p->nheaders] = proto_xstrdup(name);
    p->hvalue[p->nheaders] = proto_xstrdup(value);
    p->nheaders++;
}

/* 1 if buf holds exactly one complete msgpack object. */
static int one_object(const char *buf, size_t len)
{
    msgpack_unpacked up;
    size_t off = 0;
    msgpack_unpacked_init(&up);
    msgpack_unpack_return r = msgpack_unpack_next(&up, buf, len, &off);
    msgpack_unpacked_destroy(&up);
    return r == MSGPACK_UNPACK_SUCCESS && off == len;
}

int wk_reply_encode(struct wk_reply *rep, const char *id, msgpack_sbuffer *out)
{
    struct wk_reply_priv *p = rep->priv;
    if (!p->is_error && p->sb.size > 0 && !one_object(p->sb.data, p->sb.size)) {
        PROTO_ERROR(wk_log_id(p->log), "handler packed a body that is not exactly one object",
                    NULL);
        return PROTO_ESYNTAX;
    }
    msgpack_sbuffer hsb;
    msgpack_packer hpk;
    msgpack_sbuffer_init(&hsb);
    msgpack_packer_init(&hpk, &hsb, msgpack_sbuffer_write);
    if (p->nheaders > 0) {
        msgpack_pack_map(&hpk, (size_t)p->nheaders);
        for (int i = 0; i < p->nheaders; i++) {
            proto_pack_cstr(&hpk, p->hname[i]);
            proto_pack_cstr(&hpk, p->hvalue[i]);
        }
    }
    int rc;
    if (p->is_error)
        rc = proto_reply_encode_error_headers(out, id, rep->status, p->code, p->message,
                                              hsb.size ? hsb.data : NULL, hsb.size);
    else
        rc = proto_reply_encode(out, id, rep->status, p->sb.size ? p->sb.data : NULL, p->sb.size,
                                hsb.size ? hsb.data : NULL, hsb.size);
    msgpack_sbuffer_destroy(&hsb);
    return rc;
}
