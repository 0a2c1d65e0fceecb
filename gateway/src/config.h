/*
 * gateway/config.h — the gateway's environment variables, read once at start.
 * Call gw_config_load from main before any thread starts.
 */
#ifndef GW_CONFIG_H
#define GW_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include "proto/log.h"

struct gw_config {
    int port;                       /* GW_PORT */
    const char *bind;               /* GW_BIND */
    const char *amqp_url;           /* AMQP_URL (secret: contains a password) */
    int rpc_timeout_ms;             /* RPC_TIMEOUT_MS */
    size_t max_body;                /* GW_MAX_BODY: default request body limit in bytes */
    const char *web_root;           /* GW_WEB_ROOT */
    int max_inflight;               /* GW_MAX_INFLIGHT: pending RPCs before 503 overloaded */
    int max_header;                 /* GW_MAX_HEADER_BYTES: lws max_http_header_data */
    const char *log_level_name;     /* LOG_LEVEL as given */
    enum proto_log_level log_level; /* LOG_LEVEL */
    const char *jwt_secret;         /* JWT_SECRET: HS256 key, >= PROTO_TOKEN_SECRET_MIN bytes */
    size_t jwt_secret_len;
    const char *jwt_issuer;      /* JWT_ISSUER */
    const char *jwt_audience;    /* JWT_AUDIENCE */
    const char *redis_url;       /* REDIS_URL (secret: may contain a password) */
    int trust_proxy;             /* GW_TRUST_PROXY: client ip from the last X-Forwarded-For hop */
    const char *allowed_origins; /* GW_ALLOWED_ORIGINS: comma-separated exact origins, "" none */
    int ws_auth_timeout_ms;      /* GW_WS_AUTH_TIMEOUT_MS: time for the first (auth) message */
    int ws_queue_max;            /* GW_WS_QUEUE_MAX: frames waiting per socket */
    size_t ws_queue_bytes;       /* GW_WS_QUEUE_BYTES: bytes waiting per socket */
    int ws_ping_s;               /* GW_WS_PING_S: idle seconds before a ping */
};

/* 0 if `list` is empty or a comma-separated list of origins "http(s)://host[:port]" (no
 * path, no trailing slash; spaces around commas allowed), else -1. */
int gw_origins_check(const char *list);

/* Steps through a comma-separated list (GW_ALLOWED_ORIGINS): 1 with *item and *len the next element
 * without the spaces around it (possibly empty; not terminated), *cursor moved past it; 0 when
 * *cursor is NULL or at the end. Pure, any thread. */
int gw_origins_next(const char **cursor, const char **item, size_t *len);

/* Fills cfg from the environment. Reports every problem on `report` and returns their
 * count (> 0): the caller then exits PROTO_CONFIG_EXIT. Strings point into the
 * environment or static defaults. */
int gw_config_load(struct gw_config *cfg, FILE *report);

/* Prints the variables with defaults and help. */
void gw_config_usage(FILE *out);

#endif
