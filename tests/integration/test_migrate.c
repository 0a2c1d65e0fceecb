/*
 * Integration: fintwin-migrate against a real PostgreSQL.
 * Each test creates its own database (ft_mig_<random>) on the server of PG_URL, so tests are
 * independent of the shared, already-migrated database and of each other.
 */
#include <CUnit/Basic.h>
#include <glob.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ft_test.h"
#include "proto/uuid.h"

static char g_db[64];
static char g_url[1024];

static PGconn *connect_url(const char *url)
{
    PGconn *c = PQconnectdb(url);
    CU_ASSERT_EQUAL_FATAL(PQstatus(c), CONNECTION_OK);
    return c;
}

/* PG_URL with its database replaced by `db`. */
static void url_for(const char *db, char *out, size_t n)
{
    const char *base = getenv("PG_URL");
    const char *slash = strrchr(base, '/');
    snprintf(out, n, "%.*s/%s", (int)(slash - base), base, db);
}

static int exec_sql(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

static char *scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    char *v = NULL;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        v = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

static int setup_db(void)
{
    char id[PROTO_UUID_LEN + 1];
    proto_uuid_v4(id);
    snprintf(g_db, sizeof g_db, "ft_mig_%.8s", id);
    char admin[1024], sql[128];
    url_for("postgres", admin, sizeof admin);
    PGconn *c = PQconnectdb(admin);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", g_db);
    int ok = PQstatus(c) == CONNECTION_OK && exec_sql(c, sql);
    PQfinish(c);
    url_for(g_db, g_url, sizeof g_url);
    return ok ? 0 : -1;
}

static int teardown_db(void)
{
    char admin[1024], sql[160];
    url_for("postgres", admin, sizeof admin);
    PGconn *c = PQconnectdb(admin);
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", g_db);
    exec_sql(c, sql);
    PQfinish(c);
    return 0;
}

/* Runs fintwin-migrate with DATABASE_URL=g_url (and an optional --dir); returns its exit code,
 * and its output in `log` (a file path) when given. */
static pid_t start_migrate(const char *dir, const char *log)
{
    static char env_url[1100];
    snprintf(env_url, sizeof env_url, "DATABASE_URL=%s", g_url);
    char *env[] = {env_url, NULL};
    char *argv_dir[] = {"fintwin-migrate", "--dir", (char *)dir, NULL};
    char *argv_plain[] = {"fintwin-migrate", NULL};
    return ft_spawn(ft_bin("fintwin-migrate"), dir ? argv_dir : argv_plain, env, log);
}

static int wait_rc(pid_t pid)
{
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_migrate_applies_then_is_idempotent(void)
{
    CU_ASSERT_EQUAL(wait_rc(start_migrate(NULL, "/dev/null")), 0);
    PGconn *c = connect_url(g_url);
    char *n = scalar(c, "SELECT count(*) FROM public.schema_migrations");
    CU_ASSERT_PTR_NOT_NULL_FATAL(n);
    int applied = atoi(n);
    CU_ASSERT(applied >= 1);
    free(n);
    char *schemas = scalar(c, "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace "
                              "WHERE nspname IN ('auth','ledger','twin','risk','portfolio',"
                              "'persona','notify')");
    CU_ASSERT_STRING_EQUAL(schemas, "auth,ledger,notify,persona,portfolio,risk,twin");
    free(schemas);

    CU_ASSERT_EQUAL(wait_rc(start_migrate(NULL, "/dev/null")), 0);
    n = scalar(c, "SELECT count(*) FROM public.schema_migrations");
    CU_ASSERT_EQUAL(atoi(n), applied);
    free(n);
    PQfinish(c);
}

static void test_migrate_concurrent_runs_apply_once(void)
{
    pid_t a = start_migrate(NULL, "/dev/null"), b = start_migrate(NULL, "/dev/null");
    CU_ASSERT_EQUAL(wait_rc(a), 0);
    CU_ASSERT_EQUAL(wait_rc(b), 0);
    /* Each migration of sql/ recorded once: as many rows as files (version is the key, so a
     * second application would have failed one run above, or left a row missing). */
    glob_t g;
    char pattern[1100];
    snprintf(pattern, sizeof pattern, "%s/sql/[0-9]*.sql", ft_env("FT_SOURCE_DIR", "."));
    CU_ASSERT_EQUAL_FATAL(glob(pattern, 0, NULL, &g), 0);
    char files[32];
    snprintf(files, sizeof files, "%zu", g.gl_pathc);
    globfree(&g);
    PGconn *c = connect_url(g_url);
    char *n = scalar(c, "SELECT count(*) FROM public.schema_migrations");
    CU_ASSERT_STRING_EQUAL(n ? n : "", files);
    free(n);
    PQfinish(c);
}

/* A copy of sql/ in a temp dir, so the test can edit an applied migration. */
static void copy_sql_dir(char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cp %s/sql/*.sql %s/", ft_env("FT_SOURCE_DIR", "."), dir);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

static void test_migrate_refuses_edited_migration(void)
{
    char dir[] = "/tmp/ft-migrate-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    copy_sql_dir(dir);
    CU_ASSERT_EQUAL(wait_rc(start_migrate(dir, "/dev/null")), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/001_worker_schemas.sql", dir);
    FILE *f = fopen(path, "a");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("\n-- edited after it was applied\n", f);
    fclose(f);
    char log[300];
    snprintf(log, sizeof log, "%s/out.log", dir);
    CU_ASSERT_EQUAL(wait_rc(start_migrate(dir, log)), 1);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "grep -q 'was changed after it was applied' %s", log);
    CU_ASSERT_EQUAL(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

static void test_migrate_failed_migration_leaves_nothing(void)
{
    char dir[] = "/tmp/ft-migrate-XXXXXX";
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    copy_sql_dir(dir);
    char path[256];
    snprintf(path, sizeof path, "%s/999_broken.sql", dir);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("CREATE TABLE public.half_written (x int);\nSELECT no_such_function();\n", f);
    fclose(f);
    CU_ASSERT_EQUAL(wait_rc(start_migrate(dir, "/dev/null")), 1);
    PGconn *c = connect_url(g_url);
    char *t = scalar(c, "SELECT to_regclass('public.half_written') IS NULL");
    CU_ASSERT_STRING_EQUAL(t, "t");
    free(t);
    char *v = scalar(c, "SELECT count(*) FROM public.schema_migrations WHERE version = 999");
    CU_ASSERT_STRING_EQUAL(v, "0");
    free(v);
    PQfinish(c);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
}

/* The privilege rules of ARCHITECTURE "Data": a worker's role writes only its own schema. */
static void test_migrate_worker_roles_are_confined(void)
{
    CU_ASSERT_EQUAL(wait_rc(start_migrate(NULL, "/dev/null")), 0);
    PGconn *c = connect_url(g_url);
    const char *checks[][2] = {
        {"SELECT has_table_privilege('fintwin_transaction', 'ledger.outbox', 'INSERT')", "t"},
        {"SELECT has_table_privilege('fintwin_transaction', 'auth.outbox', 'SELECT')", "f"},
        {"SELECT has_schema_privilege('fintwin_auth', 'ledger', 'USAGE')", "f"},
        {"SELECT has_schema_privilege('fintwin_auth', 'auth', 'CREATE')", "f"},
        {"SELECT has_schema_privilege('fintwin_notification', 'notify', 'USAGE')", "t"},
        {"SELECT has_schema_privilege('fintwin_twin', 'public', 'CREATE')", "f"},
        /* The notification worker reads who owns which ledger account through one view, and
         * nothing else of the ledger; nobody writes through that view. */
        {"SELECT has_table_privilege('fintwin_notification', 'notify.notifications', 'INSERT')",
         "t"},
        {"SELECT has_table_privilege('fintwin_notification', 'ledger.account_owners', 'SELECT')",
         "t"},
        {"SELECT has_table_privilege('fintwin_notification', 'ledger.account_owners', 'UPDATE')",
         "f"},
        {"SELECT has_table_privilege('fintwin_notification', 'ledger.accounts', 'SELECT')", "f"},
        {"SELECT has_table_privilege('fintwin_notification', 'ledger.entries', 'SELECT')", "f"},
        {"SELECT has_table_privilege('fintwin_notification', 'ledger.outbox', 'SELECT')", "f"},
        {"SELECT has_schema_privilege('fintwin_notification', 'ledger', 'CREATE')", "f"},
        {"SELECT has_table_privilege('fintwin_transaction', 'ledger.account_owners', 'DELETE')",
         "f"},
        {"SELECT has_table_privilege('fintwin_transaction', 'ledger.account_owners', 'UPDATE')",
         "f"},
        {"SELECT has_table_privilege('fintwin_transaction', 'notify.notifications', 'SELECT')",
         "f"},
        {"SELECT has_table_privilege('fintwin_auth', 'ledger.account_owners', 'SELECT')", "f"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        char *v = scalar(c, checks[i][0]);
        CU_ASSERT_PTR_NOT_NULL(v);
        if (v && strcmp(v, checks[i][1]) != 0)
            fprintf(stderr, "privilege check failed: %s -> %s\n", checks[i][0], v);
        CU_ASSERT(v && strcmp(v, checks[i][1]) == 0);
        free(v);
    }
    PQfinish(c);
}

/* Every worker schema has the event tables the runtime relies on, with the indexes its relay
 * and its prunes walk, and its role may delete what the prunes delete (prune.c, sql/008). */
static void test_migrate_every_schema_has_event_tables(void)
{
    CU_ASSERT_EQUAL(wait_rc(start_migrate(NULL, "/dev/null")), 0);
    PGconn *c = connect_url(g_url);
    static const char workers[] = "(VALUES ('auth', 'auth'), ('transaction', 'ledger'),"
                                  " ('twin', 'twin'), ('risk', 'risk'),"
                                  " ('portfolio', 'portfolio'), ('persona', 'persona'),"
                                  " ('notification', 'notify')) w(worker, nsp)";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_indexes JOIN %s ON schemaname = nsp"
             " WHERE indexname IN ('outbox_unsent', 'outbox_sent', 'inbox_received')",
             workers);
    char *v = scalar(c, sql);
    CU_ASSERT_STRING_EQUAL(v ? v : "", "21");
    free(v);
    snprintf(sql, sizeof sql,
             "SELECT bool_and(has_table_privilege('fintwin_' || worker, nsp || '.outbox', 'DELETE')"
             " AND has_table_privilege('fintwin_' || worker, nsp || '.inbox', 'DELETE')) FROM %s",
             workers);
    v = scalar(c, sql);
    CU_ASSERT_STRING_EQUAL(v ? v : "", "t");
    free(v);
    PQfinish(c);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    /* One suite per test: each starts from its own empty database. */
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"test_migrate_applies_then_is_idempotent", test_migrate_applies_then_is_idempotent},
        {"test_migrate_concurrent_runs_apply_once", test_migrate_concurrent_runs_apply_once},
        {"test_migrate_failed_migration_leaves_nothing",
         test_migrate_failed_migration_leaves_nothing},
        {"test_migrate_worker_roles_are_confined", test_migrate_worker_roles_are_confined},
        {"test_migrate_every_schema_has_event_tables", test_migrate_every_schema_has_event_tables},
        {"test_migrate_refuses_edited_migration", test_migrate_refuses_edited_migration},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        CU_pSuite s = CU_add_suite(tests[i].name + 5, setup_db, teardown_db);
        CU_add_test(s, tests[i].name, tests[i].fn);
    }
    return ft_cunit_run();
}
