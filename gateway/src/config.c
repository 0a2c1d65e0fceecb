/* The gateway's configuration table; see config.h. */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "kv.h"

#include "proto/config.h"
#include "proto/token.h"

/* Each row stores its value in the named field of struct gw_config. */
#define TO(field) PROTO_CFG_INTO(struct gw_config, field)

static const struct proto_cfg_var vars[] = {
    {.name = "GW_PORT",
     .def = "8080",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 65535,
     .help = "HTTP listen port",
     TO(port)},
    {.name = "GW_BIND",
     .def = "127.0.0.1",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 255,
     .help = "HTTP listen address",
     TO(bind)},
    {.name = "AMQP_URL",
     .kind = PROTO_CFG_SECRET,
     .min = 1,
     .max = 2048,
     .help = "broker URL amqp://user:pass@host:port/vhost",
     TO(amqp_url)},
    {.name = "RPC_TIMEOUT_MS",
     .def = "5000",
     .kind = PROTO_CFG_INT,
     .min = 100,
     .max = 60000,
     .help = "deadline of one RPC; later answers 504",
     TO(rpc_timeout_ms)},
    {.name = "GW_MAX_BODY",
     .def = "1048576",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 64 << 20,
     .help = "default request body limit in bytes (413 above)",
     TO(max_body)},
    {.name = "GW_WEB_ROOT",
     .def = "./web/dist",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 1024,
     .help = "directory of the built web app (placeholder page if missing)",
     TO(web_root)},
    {.name = "GW_MAX_INFLIGHT",
     .def = "4096",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 1000000,
     .help = "RPCs in flight before 503 overloaded",
     TO(max_inflight)},
    {.name = "GW_MAX_HEADER_BYTES",
     .def = "16384",
     .kind = PROTO_CFG_INT,
     .min = 9216,
     .max = 60000,
     .help = "bytes of one request head (request line and headers; 431 above)",
     TO(max_header)},
    {.name = "LOG_LEVEL",
     .def = "info",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 16,
     .help = "debug, info, warn or error",
     TO(log_level_name)},
    {.name = "JWT_SECRET",
     .kind = PROTO_CFG_SECRET,
     .min = PROTO_TOKEN_SECRET_MIN,
     .max = 4096,
     .help = "HS256 key of access tokens, >= 32 bytes (shared with the auth worker)",
     TO(jwt_secret)},
    {.name = "JWT_ISSUER",
     .def = "fintwin",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 255,
     .help = "required iss of access tokens",
     TO(jwt_issuer)},
    {.name = "JWT_AUDIENCE",
     .def = "fintwin-api",
     .kind = PROTO_CFG_STR,
     .min = 1,
     .max = 255,
     .help = "required aud of access tokens",
     TO(jwt_audience)},
    {.name = "REDIS_URL",
     .def = "redis://127.0.0.1:6379/0",
     .kind = PROTO_CFG_SECRET,
     .min = 1,
     .max = 2048,
     .help = "Redis with the token denylist, redis://[:pass@]host:port/db",
     TO(redis_url)},
    {.name = "GW_TRUST_PROXY",
     .def = "0",
     .kind = PROTO_CFG_BOOL,
     .min = 0,
     .max = 1,
     .help = "1: the client ip is the last X-Forwarded-For address (behind our proxy)",
     TO(trust_proxy)},
    {.name = "GW_ALLOWED_ORIGINS",
     .def = "",
     .kind = PROTO_CFG_STR,
     .min = 0,
     .max = 4096,
     .help = "comma-separated exact Origins allowed on /api/ws (a request without Origin "
             "is always allowed)",
     TO(allowed_origins)},
    {.name = "GW_WS_AUTH_TIMEOUT_MS",
     .def = "5000",
     .kind = PROTO_CFG_INT,
     .min = 100,
     .max = 60000,
     .help = "time a WebSocket has for its auth message (then 1008)",
     TO(ws_auth_timeout_ms)},
    {.name = "GW_WS_QUEUE_MAX",
     .def = "64",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 100000,
     .help = "frames waiting per WebSocket before it is closed as a slow consumer",
     TO(ws_queue_max)},
    {.name = "GW_WS_QUEUE_BYTES",
     .def = "1048576",
     .kind = PROTO_CFG_INT,
     .min = 65536,
     .max = 256 << 20,
     .help = "bytes waiting per WebSocket before it is closed as a slow consumer",
     TO(ws_queue_bytes)},
    {.name = "GW_WS_PING_S",
     .def = "30",
     .kind = PROTO_CFG_INT,
     .min = 1,
     .max = 3600,
     .help = "idle seconds before a WebSocket ping; no pong within 15 s closes it",
     TO(ws_ping_s)},
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
    int bad = proto_config_load(vars, PROTO_CFG_COUNT(vars), cfg, report);
    if (bad)
        return bad;
    cfg->jwt_secret_len = strlen(cfg->jwt_secret);
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
    if (proto_log_level_parse(cfg->log_level_name, &cfg->log_level) != 0) {
        if (report)
            fprintf(report, "config: LOG_LEVEL=%s is not one of debug, info, warn, error\n",
                    cfg->log_level_name);
        bad++;
    }
    return bad;
}

void gw_config_usage(FILE *out)
{
    proto_config_usage(vars, PROTO_CFG_COUNT(vars), out);
}
