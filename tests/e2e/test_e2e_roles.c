/*
 * e2e, the database roles the harness runs workers as: each worker as deployed (up.sh's
 * ft_worker_db_url), as its own fintwin_<worker> role, never as PG_URL's superuser, which
 * would hide a missing GRANT and per-role settings from every e2e test.
 *   - every PostgreSQL session of each of the seven workers e2e_start_all started, found
 *     through the worker process's own TCP sockets (pg_stat_activity.client_port), belongs
 *     to role fintwin_<worker>; so does one more instance from e2e_spawn_worker_instance;
 *   - the twin's role runs with synchronous_commit off (sql/006); no other role sets it.
 * This test's own checks use PG_URL, the superuser, to read pg_stat_activity.
 */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define MAX_PORTS 64
#define TWIN      2 /* e2e_kinds */
#define LEDGER    1

static struct e2e st;
static PGconn *admin;

static int suite_init(void)
{
    admin = PQconnectdb(ft_env("PG_URL", ""));
    if (PQstatus(admin) != CONNECTION_OK) {
        fprintf(stderr, "PG_URL: %s", PQerrorMessage(admin));
        return 1;
    }
    e2e_init(&st, "roles");
    return e2e_start_all(&st, NULL) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    PQfinish(admin);
    return 0;
}

/* The port of PG_URL (after the last '@'): the server the workers' sockets point at. */
static int pg_port(void)
{
    const char *at = strrchr(ft_env("PG_URL", ""), '@');
    const char *colon = at ? strchr(at, ':') : NULL;
    return colon ? atoi(colon + 1) : 5432;
}

/* The local ports of process `pid`'s TCP connections to 127.0.0.1:<pg_port> (from /proc: the
 * socket inodes among its fds, matched in its /proc/<pid>/net/tcp). Returns how many. */
static int pg_client_ports(pid_t pid, int ports[MAX_PORTS])
{
    unsigned long inodes[256];
    int ni = 0, n = 0;
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    for (struct dirent *de; (de = readdir(d)) != NULL && ni < 256;) {
        char fd[320];
        snprintf(fd, sizeof fd, "%s/%s", path, de->d_name);
        ssize_t len = readlink(fd, link, sizeof link - 1);
        if (len <= 0)
            continue;
        link[len] = '\0';
        if (sscanf(link, "socket:[%lu]", &inodes[ni]) == 1)
            ni++;
    }
    closedir(d);
    snprintf(path, sizeof path, "/proc/%d/net/tcp", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    int want = pg_port();
    while (fgets(line, sizeof line, f) && n < MAX_PORTS) {
        unsigned lport, rport, state;
        unsigned long inode;
        /* sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode */
        if (sscanf(line, " %*d: %*x:%x %*x:%x %x %*s %*s %*s %*u %*u %lu", &lport, &rport, &state,
                   &inode) != 4 ||
            (int)rport != want)
            continue;
        for (int i = 0; i < ni; i++)
            if (inodes[i] == inode)
                ports[n++] = (int)lport;
    }
    fclose(f);
    return n;
}

struct sessions {
    pid_t pid;
    int found;       /* sessions of pid in pg_stat_activity */
    char roles[256]; /* their roles, space-separated */
    char apps[256];  /* their application names */
};

/* Fills s from pg_stat_activity: the sessions whose client port is one of pid's. */
static void sessions_of(struct sessions *s)
{
    int ports[MAX_PORTS];
    int n = pg_client_ports(s->pid, ports);
    s->found = 0;
    s->roles[0] = s->apps[0] = '\0';
    char list[MAX_PORTS * 8] = "{";
    for (int i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%d", i ? "," : "", ports[i]);
    strcat(list, "}");
    const char *p[] = {list};
    PGresult *r = PQexecParams(admin,
                               "SELECT usename, application_name FROM pg_stat_activity "
                               "WHERE client_addr = '127.0.0.1' AND client_port = ANY($1::int[]) "
                               /* ours, inherited by a child between fork and exec */
                               "AND pid <> pg_backend_pid()",
                               1, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "pg_stat_activity: %s", PQerrorMessage(admin));
        PQclear(r);
        return;
    }
    s->found = PQntuples(r);
    for (int i = 0; i < s->found; i++) {
        snprintf(s->roles + strlen(s->roles), sizeof s->roles - strlen(s->roles), "%s%s",
                 i ? " " : "", PQgetvalue(r, i, 0));
        snprintf(s->apps + strlen(s->apps), sizeof s->apps - strlen(s->apps), "%s%s", i ? " " : "",
                 PQgetvalue(r, i, 1));
    }
    PQclear(r);
}

static int has_session(void *arg)
{
    sessions_of(arg);
    return ((struct sessions *)arg)->found > 0;
}

/* Every session of worker process `pid` (of kind `kind`) is role fintwin_<kind>; at least one. */
static void assert_own_role(pid_t pid, int kind)
{
    struct sessions s = {.pid = pid};
    CU_ASSERT_FATAL(pid > 0);
    CU_ASSERT(ft_wait_until(has_session, &s, 10000));
    char want[64];
    snprintf(want, sizeof want, "fintwin_%s", e2e_kinds[kind]);
    int ok = s.found > 0;
    for (const char *r = s.roles; ok && *r;) {
        size_t len = strcspn(r, " ");
        ok = len == strlen(want) && strncmp(r, want, len) == 0;
        r += len + (r[len] == ' ');
    }
    if (!ok)
        fprintf(stderr, "\n  %s worker (pid %d): %d session(s) as [%s] (apps [%s]), want %s\n",
                e2e_kinds[kind], (int)pid, s.found, s.roles, s.apps, want);
    CU_ASSERT(ok);
}

static void test_e2e_roles_each_worker_connects_as_its_own_role(void)
{
    for (int k = 0; k < E2E_KINDS; k++)
        assert_own_role(st.workers[k], k);
}

static void test_e2e_roles_extra_instances_too(void)
{
    pid_t pid = e2e_spawn_worker_instance(&st, LEDGER, "transaction-2");
    assert_own_role(pid, LEDGER);
    if (pid > 0)
        CU_ASSERT_EQUAL(ft_stop(pid, SIGTERM, 10000), 0);
}

/* synchronous_commit and where its value came from (pg_settings.source) in a session of
 * worker `kind`'s role, connected as the worker connects: "off/user", "on/default", … */
static void role_setting(int kind, char *out, size_t size)
{
    char url[2048];
    snprintf(out, size, "?");
    CU_ASSERT_FATAL(e2e_worker_db_url(kind, url, sizeof url) == 0);
    PGconn *c = PQconnectdb(url);
    CU_ASSERT_FATAL(PQstatus(c) == CONNECTION_OK);
    PGresult *r = PQexec(
        c, "SELECT setting || '/' || source FROM pg_settings WHERE name = 'synchronous_commit'");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
}

/* The test servers run with synchronous_commit off for speed (services.sh), so the value alone
 * proves nothing: its source must be the role (sql/006's ALTER ROLE), and only for the twin. */
static void test_e2e_roles_twin_commits_asynchronously(void)
{
    char v[64];
    role_setting(TWIN, v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "off/user");
    /* every other role stays as durable as the server: no role-level setting */
    for (int k = 0; k < E2E_KINDS; k++) {
        if (k == TWIN)
            continue;
        role_setting(k, v, sizeof v);
        if (strcmp(v, "?") == 0 || strstr(v, "/user"))
            fprintf(stderr, "%s role: synchronous_commit %s\n", e2e_kinds[k], v);
        CU_ASSERT(strcmp(v, "?") != 0 && strstr(v, "/user") == NULL);
    }
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (!ft_env("FT_DB_ROLE_PASSWORD", NULL))
        return ft_skip("FT_DB_ROLE_PASSWORD (the workers' role password) is unset");
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_roles", suite_init, suite_clean);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_e2e_roles_each_worker_connects_as_its_own_role);
    ADD(test_e2e_roles_extra_instances_too);
    ADD(test_e2e_roles_twin_commits_asynchronously);
#undef ADD
    return ft_cunit_run();
}
