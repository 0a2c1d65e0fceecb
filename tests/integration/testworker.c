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
 *   test.live   {user, tag, mode, mark?, code?, reason?}: queues the live frame
 *               {"type":"test","tag":tag,"attempt":n} with wk_live_after_commit, then by mode:
 *                 commit   inserts tag into table `mark` (if given), sleeps 300 ms, commits
 *                 rollback answers 422 "rolled_back" from inside the transaction
 *                 retry    raises 40001 on the first attempt, commits the second
 *                 nested   queues inside a nested wk_db_tx, then the outer one rolls back
 *                 outside  no transaction at all (the frame goes out at once)
 *                 close    wk_live_close_user(user, code, reason) instead, then commits
 *               answers {attempts, rc} (rc: what the wk_live_* call returned)
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
static char batch_sql[256];

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

/* An event whose data has "fail": true fails its handler (a poison event). */
static int on_event(struct wk_ctx *ctx, const struct proto_event *ev)
{
    const msgpack_object *fail = proto_map_get(&ev->data, "fail");
    if (fail && fail->type == MSGPACK_OBJECT_BOOLEAN && fail->via.boolean)
        return WK_EHANDLER;
    const char *params[] = {ev->id};
    PGresult *r = wk_db_exec(wk_db(ctx), effects_sql, 1, params);
    if (!r)
        return WK_EDB;
    PQclear(r);
    return 0;
}

/* ITEST_EVENT_BATCH=1: the same effect per event, in batches; each effect row also records how
 * many events its batch had (effects.batch), so tests can see that batches happened. */
static int on_event_batch(struct wk_ctx *ctx, const struct proto_event *evs, size_t n)
{
    char size[24];
    snprintf(size, sizeof size, "%zu", n);
    for (size_t i = 0; i < n; i++) {
        int rc = on_event(ctx, &evs[i]);
        if (rc < 0)
            return rc;
        const char *params[] = {evs[i].id, size};
        PGresult *r = wk_db_exec(wk_db(ctx), batch_sql, 2, params);
        if (!r)
            return WK_EDB;
        PQclear(r);
    }
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

struct live_arg {
    struct wk_reply *rep;
    char user[64], tag[64], mode[16], mark[64], reason[256];
    int64_t code;
    int attempts;
    int rc;
};

static int live_queue(struct wk_ctx *ctx, struct live_arg *l)
{
    if (strcmp(l->mode, "close") == 0) {
        l->rc = wk_live_close_user(ctx, l->user, (int)l->code, l->reason);
        return 0;
    }
    char frame[256];
    int n = snprintf(frame, sizeof frame, "{\"type\":\"test\",\"tag\":\"%s\",\"attempt\":%d}",
                     l->tag, l->attempts);
    l->rc = wk_live_after_commit(ctx, l->user, frame, (size_t)n);
    return 0;
}

static int live_inner_tx(struct wk_ctx *ctx, void *arg)
{
    return live_queue(ctx, arg);
}

static int live_tx(struct wk_ctx *ctx, void *arg)
{
    struct live_arg *l = arg;
    l->attempts++;
    if (strcmp(l->mode, "nested") == 0) {
        int rc = wk_db_tx(ctx, live_inner_tx, l); /* joins this transaction */
        return rc != 0 ? rc : wk_reply_error(l->rep, 422, "rolled_back", "outer rolled back");
    }
    live_queue(ctx, l);
    if (strcmp(l->mode, "rollback") == 0)
        return wk_reply_error(l->rep, 422, "rolled_back", "rolled back on purpose");
    const char *sql = "SELECT 1";
    if (strcmp(l->mode, "retry") == 0 && l->attempts == 1)
        sql = "DO $$ BEGIN RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; END $$";
    PGresult *r = wk_db_exec(wk_db(ctx), sql, 0, NULL);
    if (!r)
        return WK_EDB;
    PQclear(r);
    if (strcmp(l->mode, "commit") == 0 && l->mark[0]) {
        char ins[160];
        snprintf(ins, sizeof ins, "INSERT INTO %s (tag) VALUES ($1)", l->mark);
        const char *p[] = {l->tag};
        r = wk_db_exec(wk_db(ctx), ins, 1, p);
        if (!r)
            return WK_EDB;
        PQclear(r);
        /* Long enough that a frame published before COMMIT would arrive first. */
        r = wk_db_exec(wk_db(ctx), "SELECT pg_sleep(0.3)", 0, NULL);
        if (!r)
            return WK_EDB;
        PQclear(r);
    }
    return 0;
}

static int valid_table(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

static int t_live(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    const msgpack_object *b = body_of(req);
    struct live_arg l;
    memset(&l, 0, sizeof l);
    l.rep = rep;
    if (!b || proto_obj_str(proto_map_get(b, "user"), l.user, sizeof l.user) != 0 ||
        proto_obj_str(proto_map_get(b, "tag"), l.tag, sizeof l.tag) != 0 ||
        proto_obj_str(proto_map_get(b, "mode"), l.mode, sizeof l.mode) != 0) {
        wk_reply_error(rep, 422, "invalid_body", "need {user, tag, mode}");
        return 0;
    }
    const msgpack_object *o = proto_map_get(b, "mark");
    if (o && (proto_obj_str(o, l.mark, sizeof l.mark) != 0 || !valid_table(l.mark))) {
        wk_reply_error(rep, 422, "invalid_body", "mark must be a table name");
        return 0;
    }
    if ((o = proto_map_get(b, "code")) && proto_obj_int(o, &l.code) != 0)
        l.code = -1;
    if ((o = proto_map_get(b, "reason")))
        proto_obj_str(o, l.reason, sizeof l.reason);
    int rc = 0;
    if (strcmp(l.mode, "outside") == 0) {
        l.attempts = 1;
        live_queue(ctx, &l);
    } else {
        rc = wk_db_tx(ctx, live_tx, &l);
    }
    if (rc != 0 && !wk_reply_is_error(rep))
        return rc;
    if (wk_reply_is_error(rep))
        return 0;
    msgpack_pack_map(rep->body, 2);
    proto_pack_cstr(rep->body, "attempts");
    msgpack_pack_int(rep->body, l.attempts);
    proto_pack_cstr(rep->body, "rc");
    msgpack_pack_int(rep->body, l.rc);
    return 0;
}

/* test.die: the process ends inside the handler, before any reply or ack - a poison request
 * (test_wk_poison). */
static int t_die(struct wk_ctx *ctx, const struct proto_request *req, struct wk_reply *rep)
{
    (void)ctx;
    (void)req;
    (void)rep;
    _exit(3);
}

static const struct wk_method methods[] = {
    {"test.echo", t_echo},     {"test.sleep", t_sleep},
    {"test.fail", t_fail},     {"test.reject", t_reject},
    {"test.outbox", t_outbox}, {"test.db", t_db},
    {"test.retry", t_retry},   {"test.live", t_live},
    {"test.die", t_die},       {NULL, NULL},
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
    struct wk_spec spec = {
        .name = name, .schema = schema ? schema : "", .methods = methods, .events = NULL};
    if (type && *type && schema && *schema) {
        snprintf(effects_sql, sizeof effects_sql, "INSERT INTO %s.effects (event_id) VALUES ($1)",
                 schema);
        events[0].type = type;
        events[0].fn = on_event;
        const char *batch = getenv("ITEST_EVENT_BATCH");
        if (batch && strcmp(batch, "1") == 0) {
            snprintf(batch_sql, sizeof batch_sql,
                     "UPDATE %s.effects SET batch = $2::int WHERE event_id = $1", schema);
            events[0].batch = on_event_batch;
        }
        spec.events = events;
    }
    return wk_run_spec(&spec);
}
