/* Process helpers for the e2e tests; see e2e.h. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "e2e.h"

#include <CUnit/CUnit.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_amqp.h"
#include "proto/kvkeys.h"
#include "proto/topology.h"
#include "proto/uuid.h"

int e2e_init(struct e2e *e, const char *name)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ft-e2e-%s-%d", name, (int)getpid());
    mkdir(e->dir, 0755);
    fprintf(stderr, "e2e logs in %s\n", e->dir);
    return 0;
}

const char *e2e_url(const struct e2e *e, const char *path)
{
    static char bufs[4][2048];
    static int slot;
    char *b = bufs[slot++ & 3];
    snprintf(b, sizeof bufs[0], "http://127.0.0.1:%d%s", e->port, path);
    return b;
}

long e2e_get_status(const struct e2e *e, const char *path)
{
    struct ft_http_resp r;
    ft_http("GET", e2e_url(e, path), NULL, NULL, 0, 3000, &r);
    long st = r.status;
    ft_http_resp_free(&r);
    return st;
}

double e2e_metric(const struct e2e *e, const char *name)
{
    struct ft_http_resp r;
    double v = -1;
    if (ft_http("GET", e2e_url(e, "/metrics"), NULL, NULL, 0, 3000, &r) == 0 && r.status == 200) {
        char key[256];
        snprintf(key, sizeof key, "\n%s ", name);
        const char *p = strstr(r.body, key);
        if (p)
            v = strtod(p + strlen(key), NULL);
    }
    ft_http_resp_free(&r);
    return v;
}

struct body_wait {
    const struct e2e *e;
    const char *path, *needle;
};

static int body_has(void *arg)
{
    struct body_wait *w = arg;
    struct ft_http_resp r;
    int ok = ft_http("GET", e2e_url(w->e, w->path), NULL, NULL, 0, 3000, &r) == 0 &&
             strstr(r.body, w->needle) != NULL;
    ft_http_resp_free(&r);
    return ok;
}

int e2e_wait_body(const struct e2e *e, const char *path, const char *needle, int timeout_ms)
{
    struct body_wait w = {e, path, needle};
    return ft_wait_until(body_has, &w, timeout_ms);
}

static int healthy(void *arg)
{
    return e2e_get_status(arg, "/healthz") == 200;
}

/* 1 if env (NULL-terminated, may be NULL) sets `name`. */
static int env_sets(const char *const env[], const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], name, n) == 0 && env[i][n] == '=')
            return 1;
    return 0;
}

int e2e_start_gateway(struct e2e *e, const char *const env[])
{
    static char redis[2100];
    char port[32], origin[80], log[300];
    e->port = ft_free_port();
    snprintf(port, sizeof port, "GW_PORT=%d", e->port);
    snprintf(origin, sizeof origin, "GW_ALLOWED_ORIGINS=http://127.0.0.1:%d", e->port);
    snprintf(log, sizeof log, "%s/gateway.log", e->dir);
    snprintf(redis, sizeof redis, "REDIS_URL=%s", ft_env("REDIS_URL", ""));
    const char *all[32];
    size_t n = 0;
    all[n++] = port;
    /* The caller's values win: ft_spawn's child sees the first of duplicate names. */
    for (size_t i = 0; env && env[i] && n < 28; i++)
        all[n++] = env[i];
    if (!env_sets(env, "JWT_SECRET"))
        all[n++] = "JWT_SECRET=" E2E_JWT_SECRET;
    if (e->self_origin && !env_sets(env, "GW_ALLOWED_ORIGINS"))
        all[n++] = origin;
    if (!env_sets(env, "REDIS_URL") && ft_env("REDIS_URL", NULL))
        all[n++] = redis;
    all[n] = NULL;
    /* The store a deployed auth worker keeps seeded; suites with an auth worker get the same
     * from it, the others (gateways alone) from here. test_e2e_revocation flushes it. */
    if (ft_env("REDIS_URL", NULL) && e2e_seed_denylist() != 0)
        fprintf(stderr, "e2e: could not mark the test Redis's denylist seeded\n");
    char *argv[] = {"fintwin-gateway", NULL};
    e->gw = ft_spawn(ft_bin("fintwin-gateway"), argv, (char *const *)all, log);
    if (e->gw <= 0)
        return -1;
    return ft_wait_until(healthy, e, 5000) ? 0 : -1;
}

int e2e_worker_db_url(int kind, char *out, size_t size)
{
    const char *pw = ft_env("FT_DB_ROLE_PASSWORD", NULL);
    const char *at = strrchr(ft_env("PG_URL", ""), '@');
    if (!pw || !*pw || !at) {
        fprintf(stderr, "e2e: FT_DB_ROLE_PASSWORD or PG_URL unset: workers run as their own role "
                        "(deploy/local/test.sh and dev-env.sh set both)\n");
        return -1;
    }
    size_t hl = strcspn(at + 1, "/?");
    int n = snprintf(out, size, "postgresql://fintwin_%s:%s@%.*s/fintwin", e2e_kinds[kind], pw,
                     (int)hl, at + 1);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

pid_t e2e_spawn_worker_instance(const struct e2e *e, int kind, const char *log_name)
{
    char bin[64], log[600], url[2048], db[2100], redis[2100];
    snprintf(bin, sizeof bin, "fintwin-%s", e2e_kinds[kind]);
    snprintf(log, sizeof log, "%s/%s.log", e->dir, log_name);
    /* As deployed (up.sh's ft_worker_db_url): the worker's own role, never the superuser of
     * PG_URL, so a missing GRANT or a per-role setting shows here too. */
    if (e2e_worker_db_url(kind, url, sizeof url) != 0)
        return -1;
    snprintf(db, sizeof db, "DATABASE_URL=%s", url);
    snprintf(redis, sizeof redis, "REDIS_URL=%s", ft_env("REDIS_URL", ""));
    char secret[] = "JWT_SECRET=" E2E_JWT_SECRET;
    /* every e2e test signs up from 127.0.0.1: the production limit (20 an hour) would refuse */
    char signups[] = "AUTH_REGISTER_PER_IP=1000000";
    char *env[] = {db, secret, signups, ft_env("REDIS_URL", NULL) ? redis : NULL, NULL};
    char *argv[] = {bin, NULL};
    return ft_spawn(ft_bin(bin), argv, env, log);
}

int e2e_start_worker(struct e2e *e, int kind)
{
    e->workers[kind] = e2e_spawn_worker_instance(e, kind, e2e_kinds[kind]);
    return e->workers[kind] > 0 ? 0 : -1;
}

int e2e_stop_worker(struct e2e *e, int kind)
{
    int st = ft_stop(e->workers[kind], SIGTERM, 10000);
    e->workers[kind] = 0;
    return st;
}

struct depth_wait {
    struct ft_amqp *a;
    char queue[64];
};

static int queue_empty(void *arg)
{
    struct depth_wait *w = arg;
    return ft_amqp_queue_depth(w->a, w->queue) == 0;
}

/*
 * A test leaves no event backlog behind for the next one's workers (the bank test's thousands
 * of txn.posted events used to wait in events.notification, which it runs no consumer of, for
 * test_e2e_live's notification worker). For each worker kind: when e runs it, waits (up to
 * 60 s) until its event queue is empty; when not, drops what waits there - events of this
 * test's users that no worker of this test would handle. A kind without an event queue is
 * skipped.
 */
static void wait_events_drained(const struct e2e *e)
{
    int any = 0;
    for (int k = 0; k < E2E_KINDS; k++)
        any |= e->workers[k] > 0;
    if (!any)
        return; /* a gateway alone produces no event (and another stack may be mid-test) */
    for (int k = 0; k < E2E_KINDS; k++) {
        struct depth_wait w = {ft_amqp_open(ft_env("AMQP_URL", "")), ""};
        if (!w.a)
            return;
        snprintf(w.queue, sizeof w.queue, "%s%s", PROTO_EVENTS_QUEUE_PREFIX, e2e_kinds[k]);
        /* (a passive declare of a queue that does not exist closes the channel: a fresh
         * connection per kind keeps that to this kind) */
        if (e->workers[k] <= 0)
            ft_amqp_purge_queue(w.a, w.queue);
        else if (ft_amqp_queue_depth(w.a, w.queue) > 0 && !ft_wait_until(queue_empty, &w, 60000))
            fprintf(stderr, "e2e: %s still holds events after 60 s\n", w.queue);
        ft_amqp_close(w.a);
    }
}

void e2e_stop_all(struct e2e *e)
{
    if (ft_env("AMQP_URL", NULL))
        wait_events_drained(e);
    for (int k = 0; k < E2E_KINDS; k++)
        if (e->workers[k] > 0)
            e2e_stop_worker(e, k);
    if (e->gw > 0)
        ft_stop(e->gw, SIGTERM, 10000);
    e->gw = 0;
}

int e2e_status_worker_ok(const struct e2e *e, int kind, int want)
{
    struct ft_http_resp r;
    char needle[96];
    snprintf(needle, sizeof needle, "{\"name\":\"%s\",\"ok\":%s", e2e_kinds[kind],
             want ? "true" : "false");
    int ok = ft_http("GET", e2e_url(e, "/api/status"), NULL, NULL, 0, 10000, &r) == 0 &&
             r.status == 200 && strstr(r.body, needle) != NULL;
    ft_http_resp_free(&r);
    return ok;
}

int e2e_wait_all_ok(const struct e2e *e, int timeout_ms)
{
    return e2e_wait_body(e, "/api/status", "},\"ok\":true}", timeout_ms); /* the last key */
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void e2e_cleanup(struct e2e *e)
{
    if (e->dir[0] && CU_get_number_of_failures() == 0)
        nftw(e->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int e2e_start_all(struct e2e *e, const char *const env_extra[])
{
    if (e2e_start_gateway(e, env_extra) != 0) {
        fprintf(stderr, "gateway did not start (see %s)\n", e->dir);
        goto fail;
    }
    for (int k = 0; k < E2E_KINDS; k++)
        if (e2e_start_worker(e, k) != 0)
            goto fail;
    if (!e2e_wait_all_ok(e, 30000)) {
        fprintf(stderr, "workers did not all answer /api/status within 30 s (see %s)\n", e->dir);
        goto fail;
    }
    return 0;
fail:
    e2e_stop_all(e);
    return -1;
}

static int auth_ok(void *arg)
{
    return e2e_status_worker_ok(arg, 0 /* auth */, 1);
}

int e2e_start_with_auth(struct e2e *e, const char *const env_extra[])
{
    if (e2e_start_gateway(e, env_extra) != 0 || e2e_start_worker(e, 0) != 0 ||
        !ft_wait_until(auth_ok, e, 20000)) {
        fprintf(stderr, "gateway or auth worker did not come up (see %s)\n", e->dir);
        e2e_stop_all(e);
        return -1;
    }
    return 0;
}

char *e2e_json_str(const char *body, const char *key)
{
    char prefix[128];
    snprintf(prefix, sizeof prefix, "\"%s\":\"", key);
    const char *p = body ? strstr(body, prefix) : NULL;
    if (!p)
        return NULL;
    p += strlen(prefix);
    const char *end = strchr(p, '"');
    return end ? strndup(p, (size_t)(end - p)) : NULL;
}

/* One command (with at most one %s argument) on the test Redis (REDIS_URL =
 * redis://host:port[/db]). Returns the reply's type (REDIS_REPLY_*) with an integer reply, or
 * a string reply that holds one (-1 if it does not), in *num (may be NULL), or -1 when Redis
 * could not be asked. */
static int test_redis(const char *cmd, const char *arg, long long *num)
{
    char host[256] = "127.0.0.1";
    int port = 6379, db = 0;
    if (sscanf(ft_env("REDIS_URL", ""), "redis://%255[^:/]:%d/%d", host, &port, &db) < 2)
        return -1;
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return -1;
    }
    int type = -1;
    redisReply *r = redisCommand(c, "SELECT %d", db);
    if (r && r->type != REDIS_REPLY_ERROR) {
        freeReplyObject(r);
        r = arg ? redisCommand(c, cmd, arg) : redisCommand(c, cmd);
        if (r) {
            type = r->type;
            if (num && r->type == REDIS_REPLY_STRING) {
                char *end;
                *num = strtoll(r->str, &end, 10);
                if (end == r->str || *end)
                    *num = -1;
            } else if (num) {
                *num = r->integer;
            }
        }
    }
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return type;
}

int e2e_deny_jti(const char *jti)
{
    return test_redis("SET " PROTO_KV_DENY_PREFIX "%s 1 EX 60", jti, NULL) == REDIS_REPLY_STATUS
               ? 0
               : -1;
}

int e2e_redis_flush(void)
{
    return test_redis("FLUSHDB", NULL, NULL) == REDIS_REPLY_STATUS ? 0 : -1;
}

int e2e_redis_has(const char *key)
{
    long long n = 0;
    return test_redis("EXISTS %s", key, &n) == REDIS_REPLY_INTEGER ? n == 1 : -1;
}

long long e2e_redis_int(const char *key)
{
    long long n = -1;
    int t = test_redis("GET %s", key, &n);
    return t == REDIS_REPLY_NIL ? 0 : t == REDIS_REPLY_STRING ? n : -1;
}

int e2e_seed_denylist(void)
{
    int t = test_redis("SET " PROTO_KV_DENY_SEEDED " e2e NX", NULL, NULL);
    return t == REDIS_REPLY_STATUS || t == REDIS_REPLY_NIL ? 0 : -1;
}

/* ---- acting as a user ---- */

long e2e_call(const struct e2e *e, const char *method, const char *path, const struct e2e_user *u,
              const char *idem, const char *body, struct ft_http_resp *r)
{
    char auth[2200], key[160];
    const char *hdrs[3] = {NULL, NULL, NULL};
    int n = 0;
    if (u) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", u->token);
        hdrs[n++] = auth;
    }
    if (idem) {
        snprintf(key, sizeof key, "Idempotency-Key: %s", idem);
        hdrs[n++] = key;
    }
    ft_http(method, e2e_url(e, path), hdrs, body, body ? strlen(body) : 0, 10000, r);
    return r->status;
}

int e2e_register(const struct e2e *e, const char *name, struct e2e_user *u)
{
    char rnd[PROTO_UUID_LEN + 1], body[256];
    proto_uuid_v4(rnd);
    snprintf(body, sizeof body,
             "{\"email\":\"%s-%.8s@example.com\",\"password\":\"a long passphrase\","
             "\"full_name\":\"%s\"}",
             name, rnd, name);
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(e2e_call(e, "POST", "/api/auth/register", NULL, NULL, body, &r), 201);
    u->token = e2e_json_str(r.body, "ft_token");
    u->refresh = e2e_json_str(r.body, "refresh_token");
    u->id = e2e_json_str(r.body, "user\":{\"id");
    ft_http_resp_free(&r);
    return u->token && u->refresh && u->id ? 0 : -1;
}

void e2e_user_free(struct e2e_user *u)
{
    free(u->token);
    free(u->refresh);
    free(u->id);
    u->token = u->refresh = u->id = NULL;
}

int e2e_body_has(const struct ft_http_resp *r, const char *frag)
{
    int ok = r->body && strstr(r->body, frag) != NULL;
    if (!ok)
        fprintf(stderr, "\n  body %s lacks %s\n", r->body ? r->body : "(null)", frag);
    return ok;
}

int e2e_need_browser(struct e2e_browser *b, const char *source_dir)
{
    snprintf(b->dir, sizeof b->dir, "%s/tests/browser", ft_env("FT_SOURCE_DIR", source_dir));
    snprintf(b->node, sizeof b->node, "%s/node_modules/.bin/node", b->dir);
    const char *chromium = ft_env("FT_CHROMIUM", "/usr/bin/chromium");
    const char *missing = NULL;
    if (access(chromium, X_OK) != 0)
        missing = chromium;
    else if (access(b->node, X_OK) != 0)
        missing = b->node;
    if (!missing)
        return 0;
    return ft_skip("%s is missing (apt-get install chromium; npm ci --prefix %s, as "
                   "deploy/local/test.sh does)",
                   missing, b->dir);
}

json_t *e2e_run_browser_script(const struct e2e *e, const struct e2e_browser *b, const char *script,
                               char *const env[], int timeout_s)
{
    char path[4400], result[600], res_env[620], log[600];
    snprintf(path, sizeof path, "%s/%s", b->dir, script);
    snprintf(result, sizeof result, "%s/%s.json", e->dir, script);
    snprintf(res_env, sizeof res_env, "FT_RESULT=%s", result);
    snprintf(log, sizeof log, "%s/%s.log", e->dir, script);
    char *all[16];
    size_t n = 0;
    for (; env && env[n] && n < 14; n++)
        all[n] = env[n];
    all[n++] = res_env;
    all[n] = NULL;
    char *argv[] = {(char *)b->node, path, NULL};
    unlink(result);
    pid_t pid = ft_spawn(b->node, argv, all, log);
    int status = -1;
    if (pid <= 0) {
        fprintf(stderr, "\n  could not start %s (see %s)\n", script, log);
        return NULL;
    }
    if (!ft_wait_exit(pid, timeout_s * 1000, &status)) {
        fprintf(stderr, "\n  %s ran over %d s (see %s)\n", script, timeout_s, log);
        ft_stop(pid, SIGTERM, 10000);
        return NULL;
    }
    json_error_t err;
    json_t *j = json_load_file(result, 0, &err);
    if (!j)
        fprintf(stderr, "\n  no report from %s (exit status %d; see %s)\n", script, status, log);
    return j;
}
