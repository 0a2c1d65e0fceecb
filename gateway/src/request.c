/* Request validation and args packing; see request.h. */
#include "request.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
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
                       int nquery, const struct gw_meta *meta)
{
    msgpack_pack_map(pk, 4);
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
    pack_str(pk, "meta", 4);
    int tok = meta && meta->jti;
    msgpack_pack_map(pk, tok ? 3 : 1);
    pack_str(pk, "ip", 2);
    const char *ip = meta && meta->ip ? meta->ip : "";
    pack_str(pk, ip, strlen(ip));
    if (tok) {
        pack_str(pk, "jti", 3);
        pack_str(pk, meta->jti, strlen(meta->jti));
        pack_str(pk, "token_exp", 9);
        msgpack_pack_int64(pk, meta->token_exp);
    }
    pack_str(pk, "body", 4);
}

int gw_bearer_token(const char *hdr, size_t len, const char **tok, size_t *toklen)
{
    if (!hdr || len < 7 || strncasecmp(hdr, "Bearer ", 7) != 0)
        return 0;
    size_t i = 7;
    while (i < len && hdr[i] == ' ')
        i++;
    if (i == len)
        return 0;
    for (size_t k = i; k < len; k++)
        if ((unsigned char)hdr[k] <= 0x20 || (unsigned char)hdr[k] >= 0x7f)
            return 0;
    *tok = hdr + i;
    *toklen = len - i;
    return 1;
}

/* 1 if s is a literal IPv4 or IPv6 address (inet_pton accepts nothing else). */
static int ip_valid(const char *s)
{
    unsigned char a[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

/* Writes one spelling per address, so a client has one rate-limit key: IPv4-mapped IPv6
 * ("::ffff:1.2.3.4", what a dual-stack socket reports) becomes "1.2.3.4", other IPv6 the
 * inet_ntop form. Anything unparsable is copied as is. */
static void canonical_ip(const char *in, char *out, size_t outsz)
{
    struct in6_addr a6;
    char buf[INET6_ADDRSTRLEN];
    if (inet_pton(AF_INET6, in, &a6) == 1) {
        const char *p = IN6_IS_ADDR_V4MAPPED(&a6)
                            ? inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof buf)
                            : inet_ntop(AF_INET6, &a6, buf, sizeof buf);
        if (p) {
            snprintf(out, outsz, "%s", p);
            return;
        }
    }
    snprintf(out, outsz, "%s", in);
}

void gw_client_ip(const char *xff, const char *peer, int trust_proxy, char *out, size_t outsz)
{
    if (trust_proxy && xff) {
        /* The last hop is the one our proxy added; earlier entries are client-supplied. */
        const char *last = strrchr(xff, ',');
        last = last ? last + 1 : xff;
        while (*last == ' ' || *last == '\t')
            last++;
        size_t n = strlen(last);
        while (n && (last[n - 1] == ' ' || last[n - 1] == '\t'))
            n--;
        char ip[GW_IP_MAX + 1];
        if (n > 0 && n <= GW_IP_MAX) {
            memcpy(ip, last, n);
            ip[n] = '\0';
            if (ip_valid(ip)) {
                canonical_ip(ip, out, outsz);
                return;
            }
        }
    }
    canonical_ip(peer ? peer : "", out, outsz);
}
