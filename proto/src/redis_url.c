/* REDIS_URL; see proto/redis_url.h. */
#include "proto/redis_url.h"

#include <stdlib.h>
#include <string.h>

#include "proto/status.h"

int proto_redis_url_parse(const char *url, struct proto_redis_url *out)
{
    if (!url || strncmp(url, "redis://", 8) != 0)
        return PROTO_EINVAL;
    const char *p = url + 8;
    /* The last '@': a password may contain '@' (and ':'). */
    const char *at = strrchr(p, '@');
    out->password[0] = '\0';
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon) {
            size_t n = (size_t)(at - colon - 1);
            if (n >= sizeof out->password)
                return PROTO_EINVAL;
            memcpy(out->password, colon + 1, n);
            out->password[n] = '\0';
        }
        p = at + 1;
    }
    size_t hl = strcspn(p, ":/");
    if (hl == 0 || hl >= sizeof out->host)
        return PROTO_EINVAL;
    memcpy(out->host, p, hl);
    out->host[hl] = '\0';
    p += hl;
    out->port = 6379;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535)
            return PROTO_EINVAL;
        out->port = (int)port;
        p = end;
    }
    out->db = 0;
    if (*p == '/') {
        if (p[1]) {
            char *end;
            long db = strtol(p + 1, &end, 10);
            if (end == p + 1 || *end || db < 0 || db > 1000)
                return PROTO_EINVAL;
            out->db = (int)db;
        }
    } else if (*p) {
        return PROTO_EINVAL;
    }
    return 0;
}
