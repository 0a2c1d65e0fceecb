/*
 * tests/integration/itest.h — what the worker-runtime integration tests share:
 * a unique worker name and queue per test, spawning fintwin-testworker on it,
 * and cleanup (stop by pid, delete the queue). Single-threaded.
 */
#ifndef ITEST_H
#define ITEST_H

#include <sys/types.h>

#include "ft_amqp.h"

#define ITEST_MAX_PROCS 4

struct itest {
    char name[64];  /* itest-xxxxxxxx: the worker name and routing key */
    char queue[80]; /* rpc.<name> */
    char log[256];  /* the workers' stderr, appended */
    struct ft_amqp *a;
    pid_t pids[ITEST_MAX_PROCS];
    const char *extra_env; /* one more "NAME=value" for the workers itest_spawn starts, or NULL */
};

/* Fresh name, client connection, rpc queue declared like the gateway does.
 * Returns 0, or -1 (a CUnit failure was already recorded by the caller's assert). */
int itest_setup(struct itest *t);

/* Starts fintwin-testworker for t->name. schema and event_type may be NULL.
 * Returns the pid (also remembered for itest_teardown) or -1. */
pid_t itest_spawn(struct itest *t, const char *schema, const char *event_type);

/* Like itest_spawn with another DATABASE_URL (e.g. one where nothing listens). */
pid_t itest_spawn_db(struct itest *t, const char *schema, const char *event_type,
                     const char *database_url);

/* Waits until a sys.ping through t->name answers 200 (a worker is consuming). */
int itest_wait_ready(struct itest *t, int timeout_ms);

/* Forgets a pid the test stopped or killed itself. */
void itest_forget(struct itest *t, pid_t pid);

/* Stops remaining workers (SIGTERM), deletes the queue, closes the client, and
 * prints the worker log when `print_log`. */
void itest_teardown(struct itest *t, int print_log);

/* Runs `$FT_SERVICES <cmd> $FT_SVC_DIR $FT_SVC_OFF` (deploy/local/services.sh: stop-rabbit,
 * start-rabbit, stop-pg, start-pg). Returns the shell's exit status. */
int itest_services(const char *cmd);

/* Number of lines in a file (0 if missing). */
int itest_count_lines(const char *path);

#endif
