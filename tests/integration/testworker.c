/*
 * fintwin-testworker: a worker built on wkruntime for the integration tests.
 * Each test runs its own, on its own queue, configured by the environment:
 *   ITEST_NAME        worker name (queue rpc.<name>), required
 *   ITEST_SCHEMA      schema with outbox/inbox/effects tables (optional)
 *   ITEST_EVENT_TYPE  an event type to handle: inserts into <schema>.effects (optional)
 * Methods:
 *   test.echo   answers the request body as is
 *   test.sleep  {ms, mark}: appends "<pid>\n" to the file `mark`, sleeps ms, answers {slept, pid}
 *   test.fail   returns an error code without an answer (-> 500 internal)
 *   test.reject answers 422 "rejected" with a message
 *   test.outbox {type, data}: writes one outbox row through wk_outbox_add
 *   test.db     runs SELECT 1 through a prepared statement, answers {one: 1}
 *   test.retry  {fail_times}: inside wk_db_tx, raises SQLSTATE 40001 on the first
 *               fail_times attempts, answers {attempts}
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/buf.h"
#include "proto/json.h"
#include "proto/msg.h"
#include "runtime/wk.h"

static char effects_sql[256];

static const msgpack_object *body_of(const struct proto_request *req)
{
    return proto_map_get(&req->args, "body");
}

static int t_echo(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    (void)ctx;
    const msgpack_object *b = body_of(req);
    if (b)
        msgpack_pack_object(rep->body, *b);
    else
        msgpack_pack_nil(rep->body);
    return 0;
}

static int t_sleep(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    (void)ctx;
    const msgpack_object *b = body_of(req);
    int64_t ms = 0;
    char mark[512] = "";
    if (!b || proto_obj_int(proto_map_get(b, "ms"), &ms) != 0 || ms < 0 || ms > 60000) {
        wk_reply_error(rep, 422, "invalid_ms", "ms must be 0..60000");
        return 0;
    }
    const msgpack_object *m = proto_map_get(b, "mark");
    if (m && proto_obj_str(m, mark, sizeof mark) == 0 && mark[0]) {
        int fd = open(mark, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0)
            return -1;
        char line[32];
        int n = snprintf(line, sizeof line, "%d\n", (int)getpid());
        ssize_t w = write(fd, line, (size_t)n);
        close(fd);
        if (w != n)
            return -1;
    }
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ; /* SIGTERM must not cut the work short: the runtime stops after the reply */
    msgpack_pack_map(rep->body, 2);
    proto_pack_cstr(rep->body, "slept");
    msgpack_pack_int64(rep->body, ms);
    proto_pack_cstr(rep->body, "pid");
    msgpack_pack_int64(rep->body, (int64_t)getpid());
    return 0;
}

static int t_fail(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    (void)ctx;
    (void)req;
    msgpack_pack_map(rep->body, 1); /* a partial body must never leak into the 500 */
    return -1;
}

static int t_reject(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    (void)ctx;
    (void)req;
    wk_reply_error(rep, 422, "rejected", "rejected on purpose");
    return 0;
}

struct outbox_arg {
    char type[65];
    struct proto_buf data;
};

static int outbox_tx(struct wk_ctx *ctx, void *arg)
{
    struct outbox_arg *o = arg;
    return wk_outbox_add(ctx, o->type, NULL, o->data.data);
}

static int t_outbox(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const msgpack_object *b = body_of(req);
    struct outbox_arg o = {"", {0}};
    if (!b || proto_obj_str(proto_map_get(b, "type"), o.type, sizeof o.type) != 0 ||
        !proto_map_get(b, "data") ||
        proto_msgpack_to_json(proto_map_get(b, "data"), 32, &o.data) != 0) {
        proto_buf_free(&o.data);
        wk_reply_error(rep, 422, "invalid_body", "need {type, data}");
        return 0;
    }
    int rc = wk_db_tx(ctx, outbox_tx, &o);
    proto_buf_free(&o.data);
    if (rc != 0)
        return rc;
    msgpack_pack_true(rep->body);
    return 0;
}

static int t_db(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    (void)req;
    PGresult *r = wk_db_exec_prepared(wk_db(ctx), "test_one", "SELECT 1", 0, NULL);
    if (!r)
        return WK_EDB;
    msgpack_pack_map(rep->body, 1);
    proto_pack_cstr(rep->body, "one");
    msgpack_pack_int64(rep->body, strtoll(PQgetvalue(r, 0, 0), NULL, 10));
    PQclear(r);
    return 0;
}

static int on_event(struct wk_ctx *ctx, const struct proto_event *ev)
{
    const char *params[] = {ev->id};
    PGresult *r = wk_db_exec(wk_db(ctx), effects_sql, 1, params);
    if (!r)
        return WK_EDB;
    PQclear(r);
    return 0;
}

struct retry_arg {
    int64_t fail_times;
    int attempts;
};

static int retry_tx(struct wk_ctx *ctx, void *arg)
{
    struct retry_arg *a = arg;
    const char *sql = ++a->attempts <= a->fail_times
                          ? "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; END $$"
                          : "SELECT 1";
    PGresult *r = wk_db_exec(wk_db(ctx), sql, 0, NULL);
    if (!r)
        return WK_EDB;
    PQclear(r);
    return 0;
}

static int t_retry(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    struct retry_arg a = {0, 0};
    if (proto_obj_int(proto_map_get(body_of(req), "fail_times"), &a.fail_times) != 0) {
        wk_reply_error(rep, 422, "invalid_body", "need {fail_times}");
        return 0;
    }
    int rc = wk_db_tx(ctx, retry_tx, &a);
    if (rc != 0)
        return rc;
    msgpack_pack_map(rep->body, 1);
    proto_pack_cstr(rep->body, "attempts");
    msgpack_pack_int(rep->body, a.attempts);
    return 0;
}

static const struct wk_method methods[] = {
    {"test.echo", t_echo},     {"test.sleep", t_sleep},
    {"test.fail", t_fail},     {"test.reject", t_reject},
    {"test.outbox", t_outbox}, {"test.db", t_db},
    {"test.retry", t_retry},   {NULL, NULL},
};

int main(void)
{
    static struct wk_event_handler events[2];
    const char *name = getenv("ITEST_NAME");
    const char *schema = getenv("ITEST_SCHEMA");
    const char *type = getenv("ITEST_EVENT_TYPE");
    if (!name || !*name) {
        fprintf(stderr, "ITEST_NAME is required\n");
        return 2;
    }
    struct wk_spec spec = {name, schema ? schema : "", methods, NULL};
    if (type && *type && schema && *schema) {
        snprintf(effects_sql, sizeof effects_sql, "INSERT INTO %s.effects (event_id) VALUES ($1)",
                 schema);
        events[0].type = type;
        events[0].fn = on_event;
        spec.events = events;
    }
    return wk_run_spec(&spec);
}
