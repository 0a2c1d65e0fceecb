/*
 * tests/e2e/e2e.h — a gateway plus the workers it talks to, for one e2e test.
 *
 * Each test starts its own fintwin-gateway on a free port and the worker processes
 * it needs (they share the broker's rpc.<kind> queues with everyone else), logs to
 * files under a private directory, and stops everything by pid. Single-threaded.
 */
#ifndef E2E_H
#define E2E_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

#include "ft_test.h"
#include "proto/topology.h"

/* The worker kinds the e2e stack runs: proto's list, in its order. */
#define E2E_KINDS PROTO_WORKER_COUNT
#define e2e_kinds proto_worker_names

/* The HS256 key every gateway and auth worker of the e2e tests shares (48 bytes), so a
 * test can mint tokens itself with proto_token_mint. Never used outside tests. */
#define E2E_JWT_SECRET   "e2e-test-secret-0123456789abcdef-0123456789abcde"
#define E2E_JWT_ISSUER   "fintwin"
#define E2E_JWT_AUDIENCE "fintwin-api"

struct e2e {
    int port;
    /* Set before starting the gateway: it also gets GW_ALLOWED_ORIGINS=http://127.0.0.1:<port>,
     * so a page it serves (web/, a browser test's page) may open /api/ws. */
    int self_origin;
    pid_t gw;
    pid_t workers[E2E_KINDS];
    char dir[256]; /* logs */
};

/* Prepares a log directory. Returns 0. */
int e2e_init(struct e2e *e, const char *name);

/* Starts the gateway with `env` extra ("NAME=value", NULL-terminated, may be NULL) on a
 * free port and waits until /healthz answers (5 s). Returns 0 or -1. Unless `env` sets
 * them, it also gets JWT_SECRET=E2E_JWT_SECRET and REDIS_URL from the environment. */
int e2e_start_gateway(struct e2e *e, const char *const env[]);

/* The DATABASE_URL of worker `kind` as up.sh builds it (ft_worker_db_url in deploy/local/lib.sh):
 * postgresql://fintwin_<kind>:$FT_DB_ROLE_PASSWORD@<host:port of PG_URL>/fintwin, into `out`.
 * Returns 0, or -1 (after saying why) when FT_DB_ROLE_PASSWORD or PG_URL is unset. */
int e2e_worker_db_url(int kind, char *out, size_t size);

/* Starts worker `kind` (index into e2e_kinds) with DATABASE_URL = e2e_worker_db_url (its own
 * role, never PG_URL's superuser), REDIS_URL and JWT_SECRET=E2E_JWT_SECRET. Returns 0 or -1. */
int e2e_start_worker(struct e2e *e, int kind);

/* Starts one more process of worker `kind` with the same environment as e2e_start_worker,
 * logging to <dir>/<log_name>.log. `e` is only read and not changed: the caller owns the pid
 * (stop it with ft_stop). Returns the pid or -1. May be called from any one thread at a time
 * (ft_bin's buffer is static), also while other threads make HTTP requests. */
pid_t e2e_spawn_worker_instance(const struct e2e *e, int kind, const char *log_name);

/* Stops worker `kind` with SIGTERM; returns its wait status. */
int e2e_stop_worker(struct e2e *e, int kind);

/* Stops everything still running, once the event queues of its running workers are empty
 * (at most 60 s each): no test leaves an event backlog to the next. */
void e2e_stop_all(struct e2e *e);

/* Removes the log directory when no CUnit assertion has failed so far (call from a
 * suite's cleanup, after e2e_stop_all); on failure the logs stay for reading. */
void e2e_cleanup(struct e2e *e);

/* "http://127.0.0.1:<port><path>" in a static rotating buffer (4 slots). */
const char *e2e_url(const struct e2e *e, const char *path);

/* 1 if GET /api/status reports worker `kind` with ok == want. */
int e2e_status_worker_ok(const struct e2e *e, int kind, int want);

/* Waits until /api/status says every worker is ok (and "ok":true). 1 or 0 on timeout. */
int e2e_wait_all_ok(const struct e2e *e, int timeout_ms);

/* The value of a /metrics sample ("name" or "name{labels}", exactly as printed), or -1. */
double e2e_metric(const struct e2e *e, const char *name);

/* Status of GET path (0 on transport failure), with a 3 s timeout. */
long e2e_get_status(const struct e2e *e, const char *path);

/* Waits until the body of a fresh `GET path` contains `needle`. Returns 1 or 0. */
int e2e_wait_body(const struct e2e *e, const char *path, const char *needle, int timeout_ms);

/* Starts the gateway (env_extra may be NULL) and the auth worker only, and waits up to 20 s for
 * /api/status to show auth ok. Returns 0, or -1 after saying why and stopping what it started. */
int e2e_start_with_auth(struct e2e *e, const char *const env_extra[]);

/* The string value of the first `"key":"` in a JSON body (no unescaping: for ids and tokens),
 * malloc'ed, or NULL when absent. `key` may be a path prefix like "user\":{\"id". */
char *e2e_json_str(const char *body, const char *key);

/* Revokes a token as logout does: SET ft:deny:<jti> (60 s) on the test Redis (REDIS_URL =
 * redis://host:port[/db]). 0 or -1. */
int e2e_deny_jti(const char *jti);

/* FLUSHDB on the test Redis (what a restart of a Redis without persistence leaves). 0 or -1. */
int e2e_redis_flush(void);

/* 1 if `key` exists on the test Redis, 0 if not, -1 when Redis cannot be asked. */
int e2e_redis_has(const char *key);

/* The integer stored at `key` on the test Redis (a counter; 0 when missing), or -1 when Redis
 * cannot be asked or the value is not an integer. */
long long e2e_redis_int(const char *key);

/* Sets the denylist's seeded marker (proto/kvkeys.h) unless present: what an auth worker does
 * for a deployed gateway. e2e_start_gateway calls it. 0 or -1. */
int e2e_seed_denylist(void);

/* Starts the gateway (with env_extra, may be NULL) and one of each worker, then waits up to
 * 30 s for /api/status to show all seven ok. Returns 0, or -1 after saying why on stderr
 * and stopping what it started (CUnit skips the cleanup of a suite whose init failed). */
int e2e_start_all(struct e2e *e, const char *const env_extra[]);

/* ---- a real browser (tests/browser) ---- */

struct e2e_browser {
    char dir[4096];  /* <source>/tests/browser */
    char node[4200]; /* its pinned Node: <dir>/node_modules/.bin/node */
};

/* Finds what a browser test needs: Debian's Chromium (FT_CHROMIUM, default /usr/bin/chromium)
 * and tests/browser's npm packages under `source_dir` (FT_SOURCE_DIR overrides it). Returns 0,
 * or says what is missing and returns ft_skip's 77 (1 under CI=true). */
int e2e_need_browser(struct e2e_browser *b, const char *source_dir);

/* Runs tests/browser/<script> on its pinned Node with `env` ("NAME=value", NULL-terminated, at
 * most 14) plus FT_RESULT=<e->dir>/<script>.json, its output in <e->dir>/<script>.log, for at
 * most timeout_s (then SIGTERM: playwright-core closes its browser). Returns the script's JSON
 * report (json_decref it), or NULL after saying why on stderr. */
json_t *e2e_run_browser_script(const struct e2e *e, const struct e2e_browser *b, const char *script,
                               char *const env[], int timeout_s);

/* ---- acting as a user (helpers for the tests written since; older tests keep their own) ---- */

struct e2e_user {
    char *token;   /* ft_token */
    char *refresh; /* refresh_token */
    char *id;      /* the user's id */
};

/* A request to the gateway of `e` as user `u` (NULL: no Authorization), with Idempotency-Key
 * `idem` (NULL: none) and JSON `body` (NULL: none); 10 s timeout. Returns the status (0 on a
 * transport failure); the caller frees `r`. */
long e2e_call(const struct e2e *e, const char *method, const char *path, const struct e2e_user *u,
              const char *idem, const char *body, struct ft_http_resp *r);

/* Registers a fresh user "<name>-<random>@example.com" (CUnit-asserts 201) and fills `u`
 * (free with e2e_user_free). Returns 0, or -1 when the answer lacked the session. */
int e2e_register(const struct e2e *e, const char *name, struct e2e_user *u);
void e2e_user_free(struct e2e_user *u);

/* 1 if the response body contains frag; else 0, after printing the body (for CU_ASSERT). */
int e2e_body_has(const struct ft_http_resp *r, const char *frag);

#endif
