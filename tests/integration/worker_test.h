/*
 * tests/integration/worker_test.h — what the integration tests of a real domain worker
 * (fintwin-auth, fintwin-transaction, …) share: the worker's own DATABASE_URL, an AMQP client
 * on rpc.<kind> with an admin PostgreSQL connection beside it, a readiness probe, and the
 * worker's log shown when a test failed. Single-threaded.
 */
#ifndef WORKER_TEST_H
#define WORKER_TEST_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <sys/types.h>

#include "ft_amqp.h"

/* What a test binary's main checks first: the servers (ft_need_servers) and the worker
 * roles' password. 0 to go on, else the exit code: 77 (skip) outside CI, 1 under CI=true. */
int wt_need_servers(void);

/* postgresql://fintwin_<kind>:$FT_DB_ROLE_PASSWORD@<host:port of PG_URL>/fintwin into out.
 * Returns 0, or -1 (after saying why) when FT_DB_ROLE_PASSWORD or PG_URL is unset. */
int wt_role_db_url(const char *kind, char *out, size_t size);

/* Opens the AMQP client (queue rpc.<kind> declared as the gateway does) and the admin
 * connection to PG_URL. Returns 0, or -1 after saying why. */
int wt_connect(const char *kind, struct ft_amqp **a, PGconn **pg);

/* 1 when a sys.ping through rpc.<kind> answers 200 within timeout_ms. */
int wt_ready(struct ft_amqp *a, const char *kind, int timeout_ms);

/* The first column of the first row of `sql` with up to two text parameters (NULL: fewer),
 * on pg: "" for no row or NULL, "<error: ...>" when the statement failed. */
void wt_sql1(PGconn *pg, char *out, size_t size, const char *sql, const char *p1, const char *p2);

/* Runs sql on a new connection to `url`; the SQLSTATE into state ("" on success). For
 * privilege checks as a worker's role (42501 is "insufficient privilege"). */
void wt_sql_state(const char *url, const char *sql, char state[6]);

/* Raw-text check on a reply's JSON body (money must print exactly: "balance":125.50); says
 * what the body was when it lacks frag. 1 or 0. */
int wt_has(const struct ft_reply *r, const char *frag);

/* The reply's JSON body parsed (caller json_decref's), or NULL. */
json_t *wt_jbody(const struct ft_reply *r);

/* o[key] as a string, "" when absent or not a string. */
const char *wt_jstr(json_t *o, const char *key);

/* Starts `bin` (in the build tree) with only the environment entry `env` ("NAME=value") added,
 * waits for it to exit and returns its exit code (-1 when it did not exit normally). For the
 * configuration checks: a bad value must exit 78 before connecting anywhere. */
int wt_exit_code(const char *bin, const char *env, const char *log_path);

/* Publishes one event to ft.events as a worker's relay does: envelope {v, id, type, user
 * (NULL: none), at, data} with data_json (NULL: none) as msgpack; CUnit-asserts each step. */
void wt_publish_event(struct ft_amqp *a, const char *type, const char *id, const char *user,
                      const char *data_json);

/* Waits up to timeout_ms until rpc.<kind> has at least `want` consumers: a worker just
 * started takes part in what is published next. 1 or 0. */
int wt_consumers(struct ft_amqp *a, const char *kind, int want, int timeout_ms);

/* From the workers' shared log at `path`: fills counts[i] with the "rpc done" lines that
 * process pids[i] logged for request ids starting with `prefix`; returns their sum. Proves
 * which workers served a concurrency test. */
int wt_served_by(const char *path, const char *prefix, const pid_t *pids, int n, int *counts);

/* CUnit-asserts that the two workers pids[0..1] together logged `total` "rpc done" lines for
 * requests starting with `prefix`, each some of them: a concurrency test's proof that both
 * took part. Waits up to timeout_ms for the lines (a worker logs just after its reply). */
void wt_assert_served_by_both(const char *path, const char *prefix, const pid_t pids[2], int total,
                              int timeout_ms);

/* Lines of the log at `path` that contain `needle`. */
int wt_log_count(const char *path, const char *needle);

/* What a domain worker's integration suite sets up: the worker `kind` beside a real transaction
 * worker (the ledger it reads or reacts to), each as its own role, both answering sys.ping. */
struct wt_suite {
    struct ft_amqp *a;   /* the test's broker connection */
    PGconn *pg;          /* the admin connection (PG_URL), for the test's own checks */
    pid_t worker;        /* fintwin-<kind>; a test that restarts it updates this */
    pid_t ledger;        /* fintwin-transaction */
    char log_path[256];  /* both workers' stderr */
    char role_url[1024]; /* DATABASE_URL of fintwin_<kind> */
};

/* Sets up s for test binary `test` (log file name): 0, or -1. */
int wt_suite_init(struct wt_suite *s, const char *test, const char *kind);

/* Stops both workers (SIGTERM), prints the log if an assertion failed, closes connections. */
void wt_suite_clean(struct wt_suite *s);

/* Starts fintwin-<kind> as its own role (DATABASE_URL from wt_role_db_url), relaying every 50 ms
 * and logging at info to log_path, plus `extra` ("NAME=value", or NULL). The pid, or -1. */
pid_t wt_spawn_worker(const char *kind, const char *log_path, const char *extra);

/* Live frames as the gateway receives them: wt_listen_live binds an exclusive queue to ft.live
 * for `user` under consumer tag "live-<user's first 8>" (into tag); wt_next_frame waits up to
 * timeout_ms for the next frame and CUnit-asserts it is one transient application/json message
 * (the parsed frame, json_decref it; NULL after a failure); wt_expect_quiet asserts that no frame
 * arrives within quiet_ms. */
void wt_listen_live(struct ft_amqp *a, const char *user, char *tag, size_t size);
json_t *wt_next_frame(struct ft_amqp *a, const char *tag, int timeout_ms);
void wt_expect_quiet(struct ft_amqp *a, const char *tag, int quiet_ms);

/* "<TMPDIR>/<test>-<pid>.log" into out. */
void wt_log_path(const char *test, char *out, size_t size);

/* Prints the worker log at `path` when a CUnit assertion has failed so far, then removes it. */
void wt_log_done(const char *path);

#endif
