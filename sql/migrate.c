/*
 * fintwin-migrate — applies the numbered migrations in sql/ to DATABASE_URL.
 *
 *   DATABASE_URL=postgresql://admin@host/fintwin fintwin-migrate [--dir DIR] [--create] [--status]
 *
 * --create makes the database first when it does not exist (connecting to the server's
 * `postgres` database to do so). After migrating, each worker role fintwin_<worker> whose
 * FT_DB_PASSWORD_<WORKER> variable is set (FT_DB_PASSWORD_TRANSACTION, ...) gets that
 * password, so deploy scripts and containers need no psql and no secret in argv.
 *
 * Files named NNN_snake_name.sql are applied in NNN order, each in its own transaction
 * together with its row in public.schema_migrations (version, name, sha256, applied_at),
 * so a failed migration leaves nothing behind and a re-run resumes where it stopped.
 * A session-level advisory lock serialises concurrent runs (two up.sh at once are safe).
 * A file whose checksum differs from the applied one is an error: applied migrations
 * are history and never edited; write a new one instead.
 * Exit: 0 applied or up to date, 1 a migration failed or changed, 78 bad configuration.
 */
#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/clock.h"
#include "proto/config.h"
#include "proto/topology.h"

#define MIGRATE_LOCK_KEY 7265630171LL /* arbitrary, fixed: "the fintwin migration lock" */
#define MAX_MIGRATIONS   1000

struct migration {
    int version;
    char name[256];
    char path[4096];
    char sha256[65];
    char *sql;
};

static int valid_name(const char *n, int *version)
{
    size_t len = strlen(n);
    if (len < 9 || len > 200 || strcmp(n + len - 4, ".sql") != 0)
        return 0;
    for (int i = 0; i < 3; i++)
        if (n[i] < '0' || n[i] > '9')
            return 0;
    if (n[3] != '_')
        return 0;
    for (size_t i = 4; i < len - 4; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
            return 0;
    *version = (n[0] - '0') * 100 + (n[1] - '0') * 10 + (n[2] - '0');
    return 1;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct proto_buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        proto_buf_append(&b, chunk, n);
    int err = ferror(f);
    fclose(f);
    if (err) {
        proto_buf_free(&b);
        return NULL;
    }
    if (!b.data)
        proto_buf_append(&b, "", 0);
    *len = b.len;
    return b.data;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < mdlen && i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int by_version(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Lists DIR's migrations, sorted; rejects duplicate versions. Returns the count or -1. */
static int load_migrations(const char *dir, struct migration *out)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "migrate: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int n = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        int v;
        if (!valid_name(e->d_name, &v))
            continue;
        if (n == MAX_MIGRATIONS) {
            fprintf(stderr, "migrate: more than %d migrations\n", MAX_MIGRATIONS);
            rc = -1;
            break;
        }
        struct migration *m = &out[n];
        m->version = v;
        snprintf(m->name, sizeof m->name, "%.*s", (int)(strlen(e->d_name) - 4), e->d_name);
        snprintf(m->path, sizeof m->path, "%s/%s", dir, e->d_name);
        size_t len;
        m->sql = read_file(m->path, &len);
        if (!m->sql) {
            fprintf(stderr, "migrate: cannot read %s\n", m->path);
            rc = -1;
            break;
        }
        sha256_hex(m->sql, len, m->sha256);
        n++;
    }
    closedir(d);
    if (rc == 0) {
        qsort(out, (size_t)n, sizeof *out, by_version);
        for (int i = 1; i < n; i++)
            if (out[i].version == out[i - 1].version) {
                fprintf(stderr, "migrate: two migrations have version %03d\n", out[i].version);
                rc = -1;
            }
    }
    return rc ? -1 : n;
}

static int exec_ok(PGconn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "migrate: %s: %s", what, PQerrorMessage(c));
    PQclear(r);
    return ok ? 0 : -1;
}

static double ms_since(int64_t t0_us)
{
    return (double)(proto_mono_us() - t0_us) / 1e3;
}

/* Applies one migration and its record atomically. */
static int apply(PGconn *c, const struct migration *m)
{
    int64_t t0 = proto_mono_us();
    if (exec_ok(c, "BEGIN", "begin") != 0)
        return -1;
    if (exec_ok(c, m->sql, m->name) != 0)
        goto fail;
    char vbuf[16];
    snprintf(vbuf, sizeof vbuf, "%d", m->version);
    const char *params[3] = {vbuf, m->name, m->sha256};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO public.schema_migrations (version, name, sha256) "
                               "VALUES ($1, $2, $3)",
                               3, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "migrate: recording %s: %s", m->name, PQerrorMessage(c));
    PQclear(r);
    if (!ok || exec_ok(c, "COMMIT", "commit") != 0)
        goto fail;
    printf("applied %s (%.0f ms)\n", m->name, ms_since(t0));
    return 0;
fail:
    exec_ok(c, "ROLLBACK", "rollback");
    fprintf(stderr, "migrate: %s failed and was rolled back\n", m->name);
    return -1;
}

/* Connects to DATABASE_URL; with `create`, first makes the database if it is missing. */
static PGconn *connect_db(const char *url, int create)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) == CONNECTION_OK || !create)
        return c;
    PQconninfoOption *opts = PQconninfoParse(url, NULL);
    const char *dbname = NULL;
    for (PQconninfoOption *o = opts; o && o->keyword; o++)
        if (strcmp(o->keyword, "dbname") == 0)
            dbname = o->val;
    if (!dbname || strcmp(dbname, "postgres") == 0) {
        PQconninfoFree(opts);
        return c;
    }
    /* Same server and credentials, maintenance database instead. */
    const char *kw[] = {"dbname", "dbname", NULL};
    const char *vw[] = {url, "postgres", NULL};
    PGconn *admin = PQconnectdbParams(kw, vw, 1);
    if (PQstatus(admin) == CONNECTION_OK) {
        PGresult *r = PQexecParams(admin, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL,
                                   &dbname, NULL, NULL, 0);
        int exists = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
        PQclear(r);
        if (!exists) {
            char *ident = PQescapeIdentifier(admin, dbname, strlen(dbname));
            char sql[512];
            snprintf(sql, sizeof sql, "CREATE DATABASE %s", ident ? ident : "\"\"");
            PQfreemem(ident);
            if (exec_ok(admin, sql, "creating the database") == 0)
                printf("created database %s\n", dbname);
        }
    } else {
        fprintf(stderr, "migrate: cannot connect to create the database: %s",
                PQerrorMessage(admin));
    }
    PQfinish(admin);
    PQconninfoFree(opts);
    PQfinish(c);
    return PQconnectdb(url);
}

/* Sets fintwin_<worker>'s password from FT_DB_PASSWORD_<WORKER> for each one that is set. */
static int set_role_passwords(PGconn *c)
{
    int rc = 0;
    for (const char *const *w = proto_worker_names; *w; w++) {
        char var[64], role[64];
        snprintf(var, sizeof var, "FT_DB_PASSWORD_");
        for (size_t i = 0; (*w)[i] && strlen(var) < sizeof var - 1; i++) {
            size_t n = strlen(var);
            var[n] = (char)((*w)[i] >= 'a' && (*w)[i] <= 'z' ? (*w)[i] - 32 : (*w)[i]);
            var[n + 1] = '\0';
        }
        const char *pw = getenv(var);
        if (!pw || !*pw)
            continue;
        snprintf(role, sizeof role, "fintwin_%s", *w);
        char *lit = PQescapeLiteral(c, pw, strlen(pw));
        char *ident = PQescapeIdentifier(c, role, strlen(role));
        if (!lit || !ident) {
            fprintf(stderr, "migrate: cannot quote the password for %s\n", role);
            rc = -1;
        } else {
            struct proto_buf sql = {0};
            proto_buf_printf(&sql, "ALTER ROLE %s PASSWORD %s", ident, lit);
            /* The statement holds a secret: report failures without echoing it. */
            if (exec_ok(c, sql.data, role) != 0)
                rc = -1;
            proto_buf_free(&sql);
        }
        PQfreemem(lit);
        PQfreemem(ident);
    }
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int status_only = 0, create = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--status") == 0)
            status_only = 1;
        else if (strcmp(argv[i], "--create") == 0)
            create = 1;
        else {
            fprintf(stderr, "usage: fintwin-migrate [--dir DIR] [--create] [--status]\n");
            return 2;
        }
    }
    struct migrate_env {
        const char *database_url;
        const char *sql_dir;
    } env = {0};
    static const struct proto_cfg_var vars[] = {
        {.name = "DATABASE_URL",
         .kind = PROTO_CFG_SECRET,
         .min = 1,
         .max = 4096,
         .help = "admin URL of the fintwin database",
         PROTO_CFG_INTO(struct migrate_env, database_url)},
        {.name = "FT_SQL_DIR",
         .def = FT_SQL_DIR,
         .kind = PROTO_CFG_STR,
         .min = 1,
         .max = 4096,
         .help = "directory of NNN_name.sql files",
         PROTO_CFG_INTO(struct migrate_env, sql_dir)},
    };
    if (proto_config_load(vars, PROTO_CFG_COUNT(vars), &env, stderr) != 0)
        return PROTO_CONFIG_EXIT;
    if (!dir)
        dir = env.sql_dir;

    static struct migration ms[MAX_MIGRATIONS];
    int n = load_migrations(dir, ms);
    if (n < 0)
        return 1;

    PGconn *c = connect_db(env.database_url, create);
    if (PQstatus(c) != CONNECTION_OK) {
        /* PQerrorMessage never contains the password. */
        fprintf(stderr, "migrate: cannot connect: %s", PQerrorMessage(c));
        PQfinish(c);
        return 1;
    }
    int rc = 1;
    exec_ok(c, "SET client_min_messages = warning", "settings");
    char lock[96];
    snprintf(lock, sizeof lock, "SELECT pg_advisory_lock(%lld)", MIGRATE_LOCK_KEY);
    if (exec_ok(c, lock, "lock") != 0)
        goto out;
    if (exec_ok(c,
                "CREATE TABLE IF NOT EXISTS public.schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                "creating schema_migrations") != 0)
        goto out;

    PGresult *r = PQexec(c, "SELECT version, name, sha256 FROM public.schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "migrate: reading schema_migrations: %s", PQerrorMessage(c));
        PQclear(r);
        goto out;
    }
    int applied = 0, pending = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        const char *have = NULL;
        for (int row = 0; row < PQntuples(r); row++)
            if (atoi(PQgetvalue(r, row, 0)) == ms[i].version)
                have = PQgetvalue(r, row, 2);
        if (have && strcmp(have, ms[i].sha256) != 0) {
            fprintf(stderr, "migrate: %s was changed after it was applied; write a new migration\n",
                    ms[i].name);
            bad = 1;
        } else if (have) {
            applied++;
        } else {
            pending++;
        }
    }
    for (int row = 0; row < PQntuples(r); row++) {
        int v = atoi(PQgetvalue(r, row, 0)), known = 0;
        for (int i = 0; i < n; i++)
            known |= ms[i].version == v;
        if (!known)
            fprintf(stderr, "migrate: warning: applied migration %s has no file here\n",
                    PQgetvalue(r, row, 1));
    }
    if (bad) {
        PQclear(r);
        goto out;
    }
    if (status_only) {
        printf("%d applied, %d pending\n", applied, pending);
        PQclear(r);
        rc = 0;
        goto out;
    }
    rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        int done = 0;
        for (int row = 0; row < PQntuples(r); row++)
            done |= atoi(PQgetvalue(r, row, 0)) == ms[i].version;
        if (!done && apply(c, &ms[i]) != 0)
            rc = 1;
    }
    PQclear(r);
    if (rc == 0 && pending == 0)
        printf("database is up to date (%d migrations)\n", applied);
    if (rc == 0 && set_role_passwords(c) != 0)
        rc = 1;
out:
    for (int i = 0; i < n; i++)
        free(ms[i].sql);
    PQfinish(c);
    return rc;
}
