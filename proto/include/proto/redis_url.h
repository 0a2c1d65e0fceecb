/*
 * proto/redis_url.h — the one parser of REDIS_URL, shared by the gateway's and the worker
 * runtime's Redis wrappers (gateway/src/kv.c, workers/runtime/src/kv.c).
 *
 * Grammar: redis://[[user]:password@]host[:port][/db]
 *   user is accepted and ignored (Redis 5 AUTH takes the password only); port defaults to 6379
 *   (1..65535); db defaults to 0 (0..1000); "redis://host/" is db 0. Pure, any thread.
 */
#ifndef PROTO_REDIS_URL_H
#define PROTO_REDIS_URL_H

struct proto_redis_url {
    char host[256];
    int port;
    int db;
    char password[256]; /* "" when the URL has none */
};

/* Parses url (NULL is invalid) into *out. 0, or PROTO_EINVAL for anything outside the grammar
 * or a host/password that does not fit (then *out is unspecified). */
int proto_redis_url_parse(const char *url, struct proto_redis_url *out);

#endif
