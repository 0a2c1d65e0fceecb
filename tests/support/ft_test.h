/*
 * tests/support/ft_test.h — what every CUnit binary in tests/ shares.
 *
 * - ft_cunit_run: runs the registered suites in CUnit basic (verbose) mode and
 *   returns non-zero unless every registered test ran and passed (CUnit itself never
 *   sets the exit code, and counts a test it skipped as neither run nor failed).
 * - server discovery: integration/e2e tests read PG_URL, REDIS_URL, AMQP_URL
 *   (set by deploy/local/test.sh). ft_need_servers() returns 77 (ctest "skipped")
 *   when they are unset outside CI, and 1 (failure) under CI=true; ft_skip() is that
 *   decision for anything else a test needs, and the only place it is made.
 * - processes: spawn our executables with extra environment, stop them by pid.
 * - waiting: poll a condition until a deadline (never a bare sleep).
 * - HTTP: a blocking libcurl request that returns status, headers and body.
 * Single-threaded use unless a function says otherwise.
 */
#ifndef FT_TEST_H
#define FT_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Returns the environment value or `def` when unset or empty. */
const char *ft_env(const char *name, const char *def);

/* 1 when CI=true (exactly "true"), else 0. */
int ft_ci(void);

/* What a test binary's main returns when something it needs is missing: prints the printf-style
 * reason and ": skipping" or ": failing because CI=true" to stderr, and returns 77 (ctest's
 * "skipped") or, under CI=true, 1. Use as: if (!found) return ft_skip("%s is missing", path); */
int ft_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 0 if PG_URL, REDIS_URL and AMQP_URL are all set; otherwise ft_skip's 77 or (CI=true) 1.
 * Use as: if ((rc = ft_need_servers())) return rc; */
int ft_need_servers(void);

/* 0 if FT_SERVICES and FT_SVC_DIR (deploy/local/services.sh and its directory, which tests that
 * stop and restart a server need) are set; otherwise ft_skip's 77 or (CI=true) 1. */
int ft_need_services(void);

/* Absolute path of a built executable ("fintwin-gateway") in FT_BIN_DIR (the build tree). */
const char *ft_bin(const char *name);

/* Monotonic milliseconds: proto_mono_ms(). */
int64_t ft_now_ms(void);

/* Polls cond(arg) every 10 ms until it returns non-zero or timeout_ms passes.
 * Returns 1 if the condition held, 0 on timeout. */
int ft_wait_until(int (*cond)(void *arg), void *arg, int timeout_ms);

/*
 * Starts `path` with argv (NULL-terminated, argv[0] included) and the current
 * environment plus `env_extra` ("NAME=value" strings, NULL-terminated, may be NULL;
 * they override). stdout and stderr go to `log_path` (appended) when not NULL.
 * Returns the pid or -1.
 */
pid_t ft_spawn(const char *path, char *const argv[], char *const env_extra[], const char *log_path);

/* Sends sig to pid and waits up to timeout_ms for it to exit (reaping it).
 * Escalates to SIGKILL after the timeout. Returns the wait status or -1. */
int ft_stop(pid_t pid, int sig, int timeout_ms);

/* 1 if the child `pid` has exited (reaping it and storing the status when not NULL). */
int ft_exited(pid_t pid, int *status);

/* Waits up to timeout_ms for the child `pid` to exit (reaping it, the status in *status when
 * not NULL). 1 when it exited, 0 when it still runs (the caller decides what to do with it). */
int ft_wait_exit(pid_t pid, int timeout_ms, int *status);

/* Writes `text` to the file at `path` (created or truncated). 0 or -1. */
int ft_write_file(const char *path, const char *text);

struct ft_http_resp {
    long status; /* 0 when the request failed at transport level */
    char *body;  /* NUL-terminated, malloc'ed; may be empty */
    size_t body_len;
    char *headers;  /* raw response header block, malloc'ed */
    double seconds; /* total time */
};

/*
 * One HTTP request. headers: NULL-terminated "Name: value" list or NULL.
 * body may be NULL (no body) and is sent with Content-Type: application/json
 * unless a header overrides it. timeout_ms bounds the whole request.
 * Returns 0 (resp filled, even for 4xx/5xx) or -1 on transport failure (resp->status 0).
 */
int ft_http(const char *method, const char *url, const char *const headers[], const char *body,
            size_t body_len, int timeout_ms, struct ft_http_resp *resp);
void ft_http_resp_free(struct ft_http_resp *resp);

/* Returns a malloc'ed copy of the value of response header `name` (case-insensitive) or NULL. */
char *ft_http_header(const struct ft_http_resp *resp, const char *name);

/* A TCP port on 127.0.0.1 that is free right now (bind to port 0 and read it back). */
int ft_free_port(void);

/* Runs all registered CUnit suites (basic mode, verbose) and cleans the registry up. Returns 0
 * only if at least one test is registered, every registered test ran, and no assertion, test or
 * suite init/cleanup failed; otherwise 1, naming on stderr each test that did not run (its
 * suite's setup failed, or it or its suite is inactive). */
int ft_cunit_run(void);

/* The whole main of a binary with one test: initialises the registry, registers `fn` as
 * test `name` in suite `suite`, runs it. Returns the exit code for main. */
int ft_cunit_run_one(const char *suite, const char *name, void (*fn)(void));

#endif
