/* The gateway's configuration table; see config.h. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "kv.h"

#include "proto/config.h"
#include "proto/token.h"

enum {
    V_PORT,
    V_BIND,
    V_AMQP,
    V_TIMEOUT,
    V_BODY,
    V_ROOT,
    V_INFLIGHT,
    V_HEADER,
    V_LOG,
    V_SECRET,
    V_ISSUER,
    V_AUDIENCE,
    V_REDIS,
    V_PROXY,
    V_ORIGINS,
    V_WS_AUTH,
    V_WS_QMAX,
    V_WS_QBYTES,
    V_WS_PING,
    V_COUNT
};

static struct proto_cfg_var vars[V_COUNT] = {
    [V_PORT] = {"GW_PORT", "8080", PROTO_CFG_INT, 1, 65535, "HTTP listen port", NULL, 0},
    [V_BIND] = {"GW_BIND", "127.0.0.1", PROTO_CFG_STR, 1, 255, "HTTP listen address", NULL, 0},
    [V_AMQP] = {"AMQP_URL", NULL, PROTO_CFG_SECRET, 1, 2048,
                "broker URL amqp://user:pass@host:port/vhost", NULL, 0},
    [V_TIMEOUT] = {"RPC_TIMEOUT_MS", "5000", PROTO_CFG_INT, 100, 60000,
                   "deadline of one RPC; later answers 504", NULL, 0},
    [V_BODY] = {"GW_MAX_BODY", "1048576", PROTO_CFG_INT, 1, 64 << 20,
                "default request body limit in bytes (413 above)", NULL, 0},
    [V_ROOT] = {"GW_WEB_ROOT", "./web/dist", PROTO_CFG_STR, 1, 1024,
                "directory of the built web app (placeholder page if missing)", NULL, 0},
    [V_INFLIGHT] = {"GW_MAX_INFLIGHT", "4096", PROTO_CFG_INT, 1, 1000000,
                    "RPCs in flight before 503 overloaded", NULL, 0},
    [V_HEADER] = {"GW_MAX_HEADER_BYTES", "16384", PROTO_CFG_INT, 9216, 60000,
                  "bytes of one request head (request line and headers; 431 above)", NULL, 0},
    [V_LOG] = {"LOG_LEVEL", "info", PROTO_CFG_STR, 1, 16, "debug, info, warn or error", NULL, 0},
    [V_SECRET] = {"JWT_SECRET", NULL, PROTO_CFG_SECRET, PROTO_TOKEN_SECRET_MIN, 4096,
                  "HS256 key of access tokens, >= 32 bytes (shared with the auth worker)", NULL, 0},
    [V_ISSUER] = {"JWT_ISSUER", "fintwin", PROTO_CFG_STR, 1, 255, "required iss of access tokens",
                  NULL, 0},
    [V_AUDIENCE] = {"JWT_AUDIENCE", "fintwin-api", PROTO_CFG_STR, 1, 255,
                    "required aud of access tokens", NULL, 0},
    [V_REDIS] = {"REDIS_URL", "redis://127.0.0.1:6379/0", PROTO_CFG_SECRET, 1, 2048,
                 "Redis with the token denylist, redis://[:pass@]host:port/db", NULL, 0},
    [V_PROXY] = {"GW_TRUST_PROXY", "0", PROTO_CFG_BOOL, 0, 1,
                 "1: the client ip is the last X-Forwarded-For address (behind our proxy)", NULL,
                 0},
    [V_ORIGINS] = {"GW_ALLOWED_ORIGINS", "", PROTO_CFG_STR, 0, 4096,
                   "comma-separated exact Origins allowed on /api/ws (a request without Origin "
                   "is always allowed)",
                   NULL, 0},
    [V_WS_AUTH] = {"GW_WS_AUTH_TIMEOUT_MS", "5000", PROTO_CFG_INT, 100, 60000,
                   "time a WebSocket has for its auth message (then 1008)", NULL, 0},
    [V_WS_QMAX] = {"GW_WS_QUEUE_MAX", "64", PROTO_CFG_INT, 1, 100000,
                   "frames waiting per WebSocket before it is closed as a slow consumer", NULL, 0},
    [V_WS_QBYTES] = {"GW_WS_QUEUE_BYTES", "1048576", PROTO_CFG_INT, 65536, 256 << 20,
                     "bytes waiting per WebSocket before it is closed as a slow consumer", NULL, 0},
    [V_WS_PING] = {"GW_WS_PING_S", "30", PROTO_CFG_INT, 1, 3600,
                   "idle seconds before a WebSocket ping; no pong within 15 s closes it", NULL, 0},
};

/* One origin: http or https, a host of [A-Za-z0-9.-] or a [v6] literal, optional :port. */
static int origin_ok(const char *s, size_t n)
{
    size_t p;
    if (n > 7 && strncmp(s, "http://", 7) == 0)
        p = 7;
    else if (n > 8 && strncmp(s, "https://", 8) == 0)
        p = 8;
    else
        return 0;
    size_t host = p;
    if (p < n && s[p] == '[') {
        while (p < n && s[p] != ']')
            if (!strchr("0123456789abcdefABCDEF:.[", s[p++]))
                return 0;
        if (p++ >= n)
            return 0;
    } else {
        while (p < n && (isalnum((unsigned char)s[p]) || s[p] == '.' || s[p] == '-'))
            p++;
    }
    if (p == host)
        return 0;
    if (p < n && s[p] == ':') {
        size_t d = ++p;
        while (p < n && isdigit((unsigned char)s[p]))
            p++;
        if (p == d || p - d > 5)
            return 0;
    }
    return p == n;
}

int gw_origins_next(const char **cursor, const char **item, size_t *len)
{
    const char *s = *cursor;
    if (!s || !*s)
        return 0;
    size_t n = strcspn(s, ",");
    const char *a = s, *e = s + n;
    while (a < e && *a == ' ')
        a++;
    while (e > a && e[-1] == ' ')
        e--;
    *item = a;
    *len = (size_t)(e - a);
    *cursor = s[n] == ',' ? s + n + 1 : s + n;
    return 1;
}

int gw_origins_check(const char *list)
{
    const char *a;
    size_t n;
    while (gw_origins_next(&list, &a, &n))
        if (!origin_ok(a, n))
            return -1;
    return 0;
}

int gw_config_load(struct gw_config *cfg, FILE *report)
{
    int bad = proto_config_load(vars, V_COUNT, report);
    if (bad)
        return bad;
    cfg->port = (int)vars[V_PORT].num;
    cfg->bind = vars[V_BIND].str;
    cfg->amqp_url = vars[V_AMQP].str;
    cfg->rpc_timeout_ms = (int)vars[V_TIMEOUT].num;
    cfg->max_body = (size_t)vars[V_BODY].num;
    cfg->web_root = vars[V_ROOT].str;
    cfg->max_inflight = (int)vars[V_INFLIGHT].num;
    cfg->max_header = (int)vars[V_HEADER].num;
    cfg->jwt_secret = vars[V_SECRET].str;
    cfg->jwt_secret_len = strlen(vars[V_SECRET].str);
    cfg->jwt_issuer = vars[V_ISSUER].str;
    cfg->jwt_audience = vars[V_AUDIENCE].str;
    cfg->redis_url = vars[V_REDIS].str;
    cfg->trust_proxy = (int)vars[V_PROXY].num;
    cfg->allowed_origins = vars[V_ORIGINS].str;
    cfg->ws_auth_timeout_ms = (int)vars[V_WS_AUTH].num;
    cfg->ws_queue_max = (int)vars[V_WS_QMAX].num;
    cfg->ws_queue_bytes = (size_t)vars[V_WS_QBYTES].num;
    cfg->ws_ping_s = (int)vars[V_WS_PING].num;
    if (gw_origins_check(cfg->allowed_origins) != 0) {
        if (report)
            fprintf(report,
                    "config: GW_ALLOWED_ORIGINS=%s is not a comma-separated list of "
                    "http(s)://host[:port] origins\n",
                    cfg->allowed_origins);
        bad++;
    }
    if (gw_store_check_url(cfg->redis_url) != 0) {
        if (report) /* no value: it may hold a password */
            fprintf(report,
                    "config: REDIS_URL is not redis://[[user]:password@]host[:port][/db]\n");
        bad++;
    }
    if (proto_log_level_parse(vars[V_LOG].str, &cfg->log_level) != 0) {
        if (report)
            fprintf(report, "config: LOG_LEVEL=%s is not one of debug, info, warn, error\n",
                    vars[V_LOG].str);
        bad++;
    }
    return bad;
}

void gw_config_usage(FILE *out)
{
    proto_config_usage(vars, V_COUNT, out);
}
