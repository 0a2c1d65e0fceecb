/* Shared harness of the domain-worker integration tests; see worker_test.h. */
#include "worker_test.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_test.h"
#include "proto/envelope.h"
#include "proto/json.h"
#include "proto/topology.h"

int wt_need_servers(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (!ft_env("FT_DB_ROLE_PASSWORD", NULL))
        return ft_skip("FT_DB_ROLE_PASSWORD unset (deploy/local/test.sh sets it)");
    return 0;
}

int wt_role_db_url(const char *kind, char *out, size_t size)
{
    const char *pw = ft_env("FT_DB_ROLE_PASSWORD", NULL);
    const char *at = strrchr(ft_env("PG_URL", ""), '@');
    if (!pw || !at) {
        fprintf(stderr, "FT_DB_ROLE_PASSWORD or PG_URL unset\n");
        return -1;
    }
    size_t hl = strcspn(at + 1, "/?");
    snprintf(out, size, "postgresql://fintwin_%s:%s@%.*s/fintwin", kind, pw, (int)hl, at + 1);
    return 0;
}

int wt_connect(const char *kind, struct ft_amqp **a, PGconn **pg)
{
    *a = ft_amqp_open(ft_env("AMQP_URL", ""));
    if (!*a || ft_amqp_declare_rpc(*a, kind) != 0) {
        fprintf(stderr, "AMQP_URL: cannot connect or declare rpc.%s\n", kind);
        return -1;
    }
    *pg = PQconnectdb(ft_env("PG_URL", ""));
    if (PQstatus(*pg) != CONNECTION_OK) {
        fprintf(stderr, "PG_URL: %s", PQerrorMessage(*pg));
        return -1;
    }
    return 0;
}

int wt_ready(struct ft_amqp *a, const char *kind, int timeout_ms)
{
    struct ft_reply r;
    int got = ft_amqp_call(a, kind, "sys.ping", NULL, timeout_ms, &r);
    int ok = got == 1 && r.status == 200;
    ft_reply_free(&r);
    return ok;
}

struct consumers_wait {
    struct ft_amqp *a;
    char queue[64];
    int want;
};

static int consumers_reached(void *arg)
{
    struct consumers_wait *w = arg;
    return ft_amqp_queue_consumers(w->a, w->queue) >= w->want;
}

int wt_consumers(struct ft_amqp *a, const char *kind, int want, int timeout_ms)
{
    struct consumers_wait w = {a, "", want};
    snprintf(w.queue, sizeof w.queue, "%s%s", PROTO_RPC_QUEUE_PREFIX, kind);
    return ft_wait_until(consumers_reached, &w, timeout_ms);
}

/* The value of ` key=` in a log line (up to the next space), copied into out. */
static int log_field(const char *line, const char *key, char *out, size_t size)
{
    char pat[32];
    snprintf(pat, sizeof pat, " %s=", key);
    const char *p = strstr(line, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    size_t n = strcspn(p, " \n");
    snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
    return 0;
}

int wt_served_by(const char *path, const char *prefix, const pid_t *pids, int n, int *counts)
{
    for (int i = 0; i < n; i++)
        counts[i] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[4096], pid[16], req[128];
    int total = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "msg=\"rpc done\"") || log_field(line, "pid", pid, sizeof pid) ||
            log_field(line, "req", req, sizeof req) || strncmp(req, prefix, strlen(prefix)) != 0)
            continue;
        for (int i = 0; i < n; i++)
            if (atoi(pid) == (int)pids[i]) {
                counts[i]++;
                total++;
            }
    }
    fclose(f);
    return total;
}

struct served_wait {
    const char *path, *prefix;
    const pid_t *pids;
    int n, *counts, total, sum;
};

static int served_all(void *arg)
{
    struct served_wait *w = arg;
    w->sum = wt_served_by(w->path, w->prefix, w->pids, w->n, w->counts);
    return w->sum >= w->total;
}

void wt_assert_served_by_both(const char *path, const char *prefix, const pid_t pids[2], int total,
                              int timeout_ms)
{
    int served[2];
    struct served_wait w = {path, prefix, pids, 2, served, total, 0};
    ft_wait_until(served_all, &w, timeout_ms);
    CU_ASSERT_EQUAL(w.sum, total);
    if (served[0] == 0 || served[1] == 0)
        fprintf(stderr, "\n  %s: worker 1 served %d, worker 2 %d\n", prefix, served[0], served[1]);
    CU_ASSERT(served[0] > 0 && served[1] > 0);
}

int wt_log_count(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

void wt_log_path(const char *test, char *out, size_t size)
{
    snprintf(out, size, "%s/%s-%d.log", ft_env("TMPDIR", "/tmp"), test, (int)getpid());
}

void wt_log_done(const char *path)
{
    if (CU_get_number_of_failures() > 0) {
        FILE *f = fopen(path, "r");
        char line[2048];
        fprintf(stderr, "---- %s ----\n", path);
        while (f && fgets(line, sizeof line, f))
            fputs(line, stderr);
        if (f)
            fclose(f);
    }
    unlink(path);
}

void wt_sql1(PGconn *pg, char *out, size_t size, const char *sql, const char *p1, const char *p2)
{
    const char *params[] = {p1, p2};
    int n = p2 ? 2 : p1 ? 1 : 0;
    PGresult *res = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        snprintf(out, size, "<error: %s>", PQresultErrorMessage(res));
    else if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0))
        snprintf(out, size, "%s", "");
    else
        snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

void wt_sql_state(const char *url, const char *sql, char state[6])
{
    PGconn *c = PQconnectdb(url);
    CU_ASSERT_EQUAL_FATAL(PQstatus(c), CONNECTION_OK);
    PGresult *res = PQexec(c, sql);
    const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    snprintf(state, 6, "%s", s ? s : "");
    PQclear(res);
    PQfinish(c);
}

int wt_has(const struct ft_reply *r, const char *frag)
{
    int ok = r->body_json && strstr(r->body_json, frag) != NULL;
    if (!ok)
        fprintf(stderr, "\n  body %s lacks %s\n", r->body_json ? r->body_json : "(null)", frag);
    return ok;
}

json_t *wt_jbody(const struct ft_reply *r)
{
    return r->body_json ? json_loads(r->body_json, JSON_DECODE_ANY, NULL) : NULL;
}

const char *wt_jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

int wt_exit_code(const char *bin, const char *env, const char *log_path)
{
    char *argv[] = {(char *)bin, NULL};
    char *envs[] = {(char *)env, NULL};
    pid_t p = ft_spawn(ft_bin(bin), argv, envs, log_path);
    int st = 0;
    if (p <= 0 || waitpid(p, &st, 0) != p || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

void wt_publish_event(struct ft_amqp *a, const char *type, const char *id, const char *user,
                      const char *data_json)
{
    msgpack_sbuffer dsb, esb;
    msgpack_sbuffer_init(&dsb);
    msgpack_sbuffer_init(&esb);
    if (data_json) {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &dsb, msgpack_sbuffer_write);
        CU_ASSERT_EQUAL_FATAL(
            proto_json_to_msgpack(data_json, strlen(data_json), NULL, &pk, NULL, 0), 0);
    }
    struct proto_event ev;
    memset(&ev, 0, sizeof ev);
    snprintf(ev.id, sizeof ev.id, "%s", id);
    snprintf(ev.type, sizeof ev.type, "%s", type);
    snprintf(ev.user, sizeof ev.user, "%s", user ? user : "");
    ev.at_ms = proto_now_ms();
    CU_ASSERT_EQUAL_FATAL(
        proto_event_encode(&esb, &ev, data_json ? dsb.data : NULL, data_json ? dsb.size : 0), 0);
    CU_ASSERT_EQUAL(ft_amqp_publish(a, PROTO_EX_EVENTS, type, NULL, 0, esb.data, esb.size), 0);
    msgpack_sbuffer_destroy(&dsb);
    msgpack_sbuffer_destroy(&esb);
}

pid_t wt_spawn_worker(const char *kind, const char *log_path, const char *extra)
{
    char url[1024], db[1100], bin[64];
    if (wt_role_db_url(kind, url, sizeof url) != 0)
        return -1;
    snprintf(db, sizeof db, "DATABASE_URL=%s", url);
    snprintf(bin, sizeof bin, "fintwin-%s", kind);
    char *env[] = {db, "WK_RELAY_INTERVAL_MS=50", "LOG_LEVEL=info", (char *)extra, NULL};
    char *argv[] = {bin, NULL};
    return ft_spawn(ft_bin(bin), argv, env, log_path);
}

void wt_listen_live(struct ft_amqp *a, const char *user, char *tag, size_t size)
{
    char key[64];
    snprintf(key, sizeof key, "user.%s", user);
    snprintf(tag, size, "live-%.8s", user);
    CU_ASSERT_EQUAL_FATAL(ft_amqp_bind_temp(a, PROTO_EX_LIVE, key, tag), 0);
}

json_t *wt_next_frame(struct ft_amqp *a, const char *tag, int timeout_ms)
{
    struct ft_msg m;
    if (ft_amqp_wait_msg(a, tag, timeout_ms, &m) != 1) {
        CU_FAIL("no live frame arrived");
        return NULL;
    }
    CU_ASSERT_STRING_EQUAL(m.content_type, "application/json");
    CU_ASSERT_EQUAL(m.delivery_mode, 1);
    CU_ASSERT_STRING_EQUAL(m.type, "");
    json_t *j = json_loads(m.body, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(j);
    ft_msg_free(&m);
    return j;
}

void wt_expect_quiet(struct ft_amqp *a, const char *tag, int quiet_ms)
{
    struct ft_msg m;
    int got = ft_amqp_wait_msg(a, tag, quiet_ms, &m);
    CU_ASSERT_EQUAL(got, 0);
    if (got == 1) {
        fprintf(stderr, "\n  unexpected frame on %s: %s\n", tag, m.body);
        ft_msg_free(&m);
    }
}

int wt_suite_init(struct wt_suite *s, const char *test, const char *kind)
{
    wt_log_path(test, s->log_path, sizeof s->log_path);
    if (wt_role_db_url(kind, s->role_url, sizeof s->role_url) != 0 ||
        wt_connect(kind, &s->a, &s->pg) != 0 || ft_amqp_declare_rpc(s->a, "transaction") != 0)
        return -1;
    s->worker = wt_spawn_worker(kind, s->log_path, NULL);
    s->ledger = wt_spawn_worker("transaction", s->log_path, NULL);
    return s->worker > 0 && s->ledger > 0 && wt_ready(s->a, kind, 20000) &&
                   wt_ready(s->a, "transaction", 20000)
               ? 0
               : -1;
}

void wt_suite_clean(struct wt_suite *s)
{
    if (s->worker > 0)
        ft_stop(s->worker, SIGTERM, 10000);
    if (s->ledger > 0)
        ft_stop(s->ledger, SIGTERM, 10000);
    wt_log_done(s->log_path);
    PQfinish(s->pg);
    ft_amqp_close(s->a);
}
