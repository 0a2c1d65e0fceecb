/* Shared helpers for the worker-runtime integration tests; see itest.h. */
#include "itest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ft_test.h"

int itest_setup(struct itest *t)
{
    memset(t, 0, sizeof *t);
    ft_rand_name(t->name, sizeof t->name, "itest-");
    snprintf(t->queue, sizeof t->queue, "rpc.%s", t->name);
    snprintf(t->log, sizeof t->log, "%s/%s.log", ft_env("TMPDIR", "/tmp"), t->name);
    t->a = ft_amqp_open(ft_env("AMQP_URL", ""));
    if (!t->a)
        return -1;
    return ft_amqp_declare_rpc(t->a, t->name);
}

pid_t itest_spawn(struct itest *t, const char *schema, const char *event_type)
{
    return itest_spawn_db(t, schema, event_type, ft_env("PG_URL", ""));
}

pid_t itest_spawn_db(struct itest *t, const char *schema, const char *event_type,
                     const char *database_url)
{
    char name[128], db[2048], sch[128], ev[128];
    snprintf(name, sizeof name, "ITEST_NAME=%s", t->name);
    snprintf(db, sizeof db, "DATABASE_URL=%s", database_url);
    snprintf(sch, sizeof sch, "ITEST_SCHEMA=%s", schema ? schema : "");
    snprintf(ev, sizeof ev, "ITEST_EVENT_TYPE=%s", event_type ? event_type : "");
    char *env[] = {
        name, db, sch, ev, "WK_RELAY_INTERVAL_MS=50", "LOG_LEVEL=debug", (char *)t->extra_env,
        NULL};
    char *argv[] = {"fintwin-testworker", NULL};
    pid_t pid = ft_spawn(ft_bin("fintwin-testworker"), argv, env, t->log);
    if (pid <= 0)
        return -1;
    for (int i = 0; i < ITEST_MAX_PROCS; i++)
        if (t->pids[i] == 0) {
            t->pids[i] = pid;
            break;
        }
    return pid;
}

int itest_wait_ready(struct itest *t, int timeout_ms)
{
    struct ft_reply r;
    int got = ft_amqp_call(t->a, t->name, "sys.ping", NULL, timeout_ms, &r);
    int ok = got == 1 && r.status == 200;
    ft_reply_free(&r);
    return ok;
}

void itest_forget(struct itest *t, pid_t pid)
{
    for (int i = 0; i < ITEST_MAX_PROCS; i++)
        if (t->pids[i] == pid)
            t->pids[i] = 0;
}

void itest_teardown(struct itest *t, int print_log)
{
    for (int i = 0; i < ITEST_MAX_PROCS; i++)
        if (t->pids[i] > 0)
            ft_stop(t->pids[i], SIGTERM, 10000);
    if (t->a) {
        ft_amqp_delete_queue(t->a, t->queue);
        ft_amqp_close(t->a);
    }
    if (print_log) {
        FILE *f = fopen(t->log, "r");
        char line[1024];
        fprintf(stderr, "---- %s ----\n", t->log);
        while (f && fgets(line, sizeof line, f))
            fputs(line, stderr);
        if (f)
            fclose(f);
    }
    if (!ft_env("ITEST_KEEP_LOGS", NULL))
        unlink(t->log);
}

int itest_count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    int n = 0, c;
    if (!f)
        return 0;
    while ((c = fgetc(f)) != EOF)
        if (c == '\n')
            n++;
    fclose(f);
    return n;
}

int itest_services(const char *cmd)
{
    char line[4096];
    snprintf(line, sizeof line, "'%s' %s '%s' '%s' >&2", ft_env("FT_SERVICES", ""), cmd,
             ft_env("FT_SVC_DIR", ""), ft_env("FT_SVC_OFF", "0"));
    return system(line);
}
