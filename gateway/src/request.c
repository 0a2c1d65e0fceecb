/* Request validation and args packing; see request.h. */
#include "request.h"

#include <string.h>
#include <strings.h>

int gw_request_id_ok(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

int gw_idem_ok(const char *s, size_t len)
{
    if (len == 0 || len > 255)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

int gw_content_type_json(const char *ct)
{
    if (!ct)
        return 0;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    size_t n = strcspn(ct, "; \t");
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return 1;
    /* application/problem+json and friends */
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

struct gw_kv gw_kv_split(const char *frag, size_t len)
{
    struct gw_kv kv = {frag, len, "", 0};
    const char *eq = memchr(frag, '=', len);
    if (eq) {
        kv.klen = (size_t)(eq - frag);
        kv.v = eq + 1;
        kv.vlen = len - kv.klen - 1;
    }
    return kv;
}

static void pack_str(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str_with_body(pk, s, n);
}

/* 1 if a later entry has the same key (so this one loses). */
static int shadowed(const struct gw_kv *q, int n, int i)
{
    for (int j = i + 1; j < n; j++)
        if (q[j].klen == q[i].klen && memcmp(q[j].k, q[i].k, q[i].klen) == 0)
            return 1;
    return 0;
}

void gw_pack_args_head(msgpack_packer *pk, const struct gw_match *m, const struct gw_kv *query,
                       int nquery)
{
    msgpack_pack_map(pk, 3);
    pack_str(pk, "path", 4);
    int np = m ? m->nparams : 0;
    msgpack_pack_map(pk, (size_t)np);
    for (int i = 0; i < np; i++) {
        pack_str(pk, m->params[i].name, strlen(m->params[i].name));
        pack_str(pk, m->params[i].value, strlen(m->params[i].value));
    }
    pack_str(pk, "query", 5);
    int unique = 0;
    for (int i = 0; i < nquery; i++)
        unique += !shadowed(query, nquery, i);
    msgpack_pack_map(pk, (size_t)unique);
    for (int i = 0; i < nquery; i++) {
        if (shadowed(query, nquery, i))
            continue;
        pack_str(pk, query[i].k, query[i].klen);
        pack_str(pk, query[i].v, query[i].vlen);
    }
    pack_str(pk, "body", 4);
}
