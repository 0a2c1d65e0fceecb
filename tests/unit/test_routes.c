/* Unit tests for gateway/routes.c and request.c: matching, params, 404 vs 405, limits.
 * (static.c has its own, test_static.c.) */
#include <CUnit/CUnit.h>
#include <string.h>

#include "ft_test.h"
#include "local.h"
#include "request.h"
#include "routes.h"

#include "proto/topology.h"

static const struct gw_route table[] = {
    {GW_GET, "/api/accounts", "transaction", "acct.list", GW_AUTH_USER, 0, NULL},
    {GW_POST, "/api/accounts", "transaction", "acct.create", GW_AUTH_USER, 4096, NULL},
    {GW_GET, "/api/transactions/account/{account_id}", "transaction", "txn.by_account",
     GW_AUTH_USER, 0, NULL},
    {GW_GET, "/api/transactions/{id}", "transaction", "txn.get", GW_AUTH_USER, 0, NULL},
    {GW_DELETE, "/api/simulate/history/detail/{id}", "twin", "sim.delete", GW_AUTH_USER, 0, NULL},
    {GW_PUT, "/api/x/{a}/y/{b}", "risk", "x.y", GW_AUTH_USER, 0, NULL},
    {GW_GET, "/", "auth", "root", GW_AUTH_PUBLIC, 0, NULL},
};
#define NT (sizeof table / sizeof table[0])

static void test_routes_literal_match(void)
{
    struct gw_match m;
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/accounts", 1, &m), GW_MATCH_OK);
    CU_ASSERT_PTR_EQUAL(m.route, &table[0]);
    CU_ASSERT_EQUAL(m.nparams, 0);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_POST, "/api/accounts", 1, &m), GW_MATCH_OK);
    CU_ASSERT_PTR_EQUAL(m.route, &table[1]);
    CU_ASSERT_EQUAL(m.route->body_limit, 4096);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/", 1, &m), GW_MATCH_OK);
    CU_ASSERT_PTR_EQUAL(m.route, &table[6]);
}

static void test_routes_params_extracted(void)
{
    struct gw_match m;
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/abc-123", 1, &m),
                    GW_MATCH_OK);
    CU_ASSERT_PTR_EQUAL(m.route, &table[3]);
    CU_ASSERT_EQUAL(m.nparams, 1);
    CU_ASSERT_STRING_EQUAL(m.params[0].name, "id");
    CU_ASSERT_STRING_EQUAL(gw_match_param(&m, "id"), "abc-123");
    CU_ASSERT_PTR_NULL(gw_match_param(&m, "nope"));

    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/account/u1", 1, &m),
                    GW_MATCH_OK);
    CU_ASSERT_PTR_EQUAL(m.route, &table[2]);
    CU_ASSERT_STRING_EQUAL(gw_match_param(&m, "account_id"), "u1");

    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_PUT, "/api/x/1/y/2", 1, &m), GW_MATCH_OK);
    CU_ASSERT_EQUAL(m.nparams, 2);
    CU_ASSERT_STRING_EQUAL(gw_match_param(&m, "a"), "1");
    CU_ASSERT_STRING_EQUAL(gw_match_param(&m, "b"), "2");
}

static void test_routes_segment_shapes(void)
{
    struct gw_match m;
    /* A parameter matches exactly one non-empty segment. */
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_PUT, "/api/x//y/2", 1, &m), GW_MATCH_NOT_FOUND);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/a/b/c", 1, &m),
                    GW_MATCH_NOT_FOUND);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/accountsx", 1, &m), GW_MATCH_NOT_FOUND);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/account", 1, &m), GW_MATCH_NOT_FOUND);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "api/accounts", 1, &m), GW_MATCH_NOT_FOUND);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "", 1, &m), GW_MATCH_NOT_FOUND);
}

static void test_routes_trailing_slash(void)
{
    struct gw_match m;
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/accounts/", 1, &m), GW_MATCH_OK);
    CU_ASSERT_PTR_EQUAL(m.route, &table[0]);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/t9/", 1, &m), GW_MATCH_OK);
    CU_ASSERT_STRING_EQUAL(gw_match_param(&m, "id"), "t9");
    /* Only one trailing slash is forgiven. */
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/accounts//", 1, &m),
                    GW_MATCH_NOT_FOUND);
}

static void test_routes_percent_decoding(void)
{
    struct gw_match m;
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/a%2Db%2eC", 1, &m),
                    GW_MATCH_OK);
    CU_ASSERT_STRING_EQUAL(gw_match_param(&m, "id"), "a-b.C");
    /* decode = 0: the HTTP library already decoded; '%' is then just a byte (not allowed). */
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/a%2Db", 0, &m),
                    GW_MATCH_BAD_PARAM);
    /* An encoded slash stays inside the segment and is then refused by the charset. */
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/a%2Fb", 1, &m),
                    GW_MATCH_BAD_PARAM);
    /* Malformed escapes and encoded NUL. */
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/a%2", 1, &m),
                    GW_MATCH_BAD_PARAM);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/a%zz", 1, &m),
                    GW_MATCH_BAD_PARAM);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/transactions/a%00", 1, &m),
                    GW_MATCH_BAD_PARAM);

    char out[16];
    CU_ASSERT_EQUAL(gw_percent_decode("a%20b", 5, out, sizeof out), 3);
    CU_ASSERT_STRING_EQUAL(out, "a b");
    CU_ASSERT_EQUAL(gw_percent_decode("a+b", 3, out, sizeof out), 3);
    CU_ASSERT_STRING_EQUAL(out, "a+b");
    CU_ASSERT_EQUAL(gw_percent_decode("%4", 2, out, sizeof out), -1);
    CU_ASSERT_EQUAL(gw_percent_decode("0123456789abcdef", 16, out, sizeof out), -1);
}

static void test_routes_404_vs_405(void)
{
    struct gw_match m;
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/nothing/here", 1, &m),
                    GW_MATCH_NOT_FOUND);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_DELETE, "/api/accounts", 1, &m), GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD, POST");
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, "/api/simulate/history/detail/7", 1, &m),
                    GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "DELETE");
    CU_ASSERT_PTR_NULL(m.route);
    /* HEAD is GET without a body: it matches GET routes, and only those. */
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_HEAD, "/api/accounts", 1, &m), GW_MATCH_OK);
    CU_ASSERT_EQUAL(m.route->method, GW_GET);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_HEAD, "/api/simulate/history/detail/7", 1, &m),
                    GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "DELETE");
}

static void test_routes_overlong_path(void)
{
    struct gw_match m;
    char path[GW_PATH_MAX + 64];
    strcpy(path, "/api/transactions/");
    size_t n = strlen(path);
    memset(path + n, 'a', sizeof path - n - 1);
    path[sizeof path - 1] = '\0';
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, path, 1, &m), GW_MATCH_TOO_LONG);
    path[GW_PATH_MAX] = '\0'; /* exactly the limit: a too-long parameter instead */
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, path, 1, &m), GW_MATCH_BAD_PARAM);
}

static void test_routes_param_charset(void)
{
    struct gw_match m;
    char path[256];
    const char *good[] = {"abc", "ABC-xyz_09.~", "a@b:c+d,e=f",
                          "123e4567-e89b-12d3-a456-426614174000"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        snprintf(path, sizeof path, "/api/transactions/%s", good[i]);
        CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, path, 1, &m), GW_MATCH_OK);
        CU_ASSERT_STRING_EQUAL(gw_match_param(&m, "id"), good[i]);
    }
    const char *bad[] = {"a%20b", "a%22b", "%3Cscript%3E", "a%0Ab", "caf%C3%A9", "a'b", "a;b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/transactions/%s", bad[i]);
        CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, path, 1, &m), GW_MATCH_BAD_PARAM);
    }
    /* Length: GW_PARAM_VALUE_MAX bytes pass, one more does not. */
    char v[GW_PARAM_VALUE_MAX + 2];
    memset(v, 'x', sizeof v);
    v[GW_PARAM_VALUE_MAX] = '\0';
    snprintf(path, sizeof path, "/api/transactions/%s", v);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, path, 1, &m), GW_MATCH_OK);
    v[GW_PARAM_VALUE_MAX] = 'x';
    v[GW_PARAM_VALUE_MAX + 1] = '\0';
    snprintf(path, sizeof path, "/api/transactions/%s", v);
    CU_ASSERT_EQUAL(gw_route_match(table, NT, GW_GET, path, 1, &m), GW_MATCH_BAD_PARAM);
}

static void test_routes_gateway_table(void)
{
    size_t n;
    const struct gw_route *t = gw_routes(&n);
    CU_ASSERT(n >= PROTO_WORKER_COUNT);
    for (int w = 0; w < PROTO_WORKER_COUNT; w++) {
        char path[64];
        struct gw_match m;
        snprintf(path, sizeof path, "/api/sys/%s/ping", proto_worker_names[w]);
        CU_ASSERT_EQUAL_FATAL(gw_route_match(t, n, GW_GET, path, 0, &m), GW_MATCH_OK);
        CU_ASSERT_STRING_EQUAL(m.route->worker, proto_worker_names[w]);
        CU_ASSERT_STRING_EQUAL(m.route->rpc_method, "sys.ping");
        CU_ASSERT_EQUAL(m.route->auth, GW_AUTH_PUBLIC);
        CU_ASSERT_EQUAL(gw_route_match(t, n, GW_POST, path, 0, &m), GW_MATCH_METHOD);
        CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD");
    }
    struct gw_match m;
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/sys/nobody/ping", 0, &m),
                    GW_MATCH_NOT_FOUND);
    /* routes.c lists the sys.ping rows by hand: exactly one per name of proto_worker_names */
    int seen[PROTO_WORKER_COUNT] = {0}, nping = 0;
    for (size_t i = 0; i < n; i++) {
        if (!t[i].rpc_method || strcmp(t[i].rpc_method, "sys.ping") != 0)
            continue;
        nping++;
        for (int w = 0; w < PROTO_WORKER_COUNT; w++) {
            char path[64];
            snprintf(path, sizeof path, "/api/sys/%s/ping", proto_worker_names[w]);
            if (strcmp(t[i].worker, proto_worker_names[w]) == 0 &&
                strcmp(t[i].pattern, path) == 0 && t[i].method == GW_GET)
                seen[w]++;
        }
    }
    CU_ASSERT_EQUAL(nping, PROTO_WORKER_COUNT);
    for (int w = 0; w < PROTO_WORKER_COUNT; w++)
        CU_ASSERT_EQUAL(seen[w], 1);
}

static void test_routes_auth_table(void)
{
    static const struct {
        enum gw_method method;
        const char *path, *rpc;
        enum gw_auth auth;
    } want[] = {
        {GW_POST, "/api/auth/google", "auth.google", GW_AUTH_PUBLIC},
        {GW_POST, "/api/auth/register", "auth.register", GW_AUTH_PUBLIC},
        {GW_POST, "/api/auth/login", "auth.login", GW_AUTH_PUBLIC},
        {GW_POST, "/api/auth/refresh", "auth.refresh", GW_AUTH_PUBLIC},
        {GW_POST, "/api/auth/logout", "auth.logout", GW_AUTH_USER},
        {GW_GET, "/api/auth/me", "auth.me", GW_AUTH_USER},
        {GW_PUT, "/api/auth/profile", "auth.profile_update", GW_AUTH_USER},
        {GW_GET, "/api/auth/profile/complete", "auth.profile_complete", GW_AUTH_USER},
        {GW_GET, "/api/auth/me/", "auth.me", GW_AUTH_USER},
        {GW_GET, "/api/config", "auth.config", GW_AUTH_PUBLIC},
        {GW_HEAD, "/api/config/", "auth.config", GW_AUTH_PUBLIC},
        {GW_GET, "/api/users/lookup", "auth.lookup", GW_AUTH_USER},
        {GW_HEAD, "/api/users/lookup/", "auth.lookup", GW_AUTH_USER},
    };
    size_t n;
    const struct gw_route *t = gw_routes(&n);
    struct gw_match m;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(gw_route_match(t, n, want[i].method, want[i].path, 0, &m),
                              GW_MATCH_OK);
        CU_ASSERT_STRING_EQUAL(m.route->worker, "auth");
        CU_ASSERT_STRING_EQUAL(m.route->rpc_method, want[i].rpc);
        CU_ASSERT_EQUAL(m.route->auth, want[i].auth);
    }
    /* wrong methods are 405 with the right Allow; unknown auth paths 404 */
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/auth/login", 0, &m), GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "POST");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_POST, "/api/auth/me", 0, &m), GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/auth/profile", 0, &m), GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "PUT");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/auth/logout", 0, &m), GW_MATCH_METHOD);
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/auth/nope", 0, &m), GW_MATCH_NOT_FOUND);
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/auth", 0, &m), GW_MATCH_NOT_FOUND);
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_POST, "/api/config", 0, &m), GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_PUT, "/api/users/lookup", 0, &m), GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/users", 0, &m), GW_MATCH_NOT_FOUND);
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/users/lookup/ada@example.com", 0, &m),
                    GW_MATCH_NOT_FOUND);
    /* every RPC row names a known worker and has an RPC method; a local row has neither */
    for (size_t i = 0; i < n; i++) {
        if (t[i].local) {
            CU_ASSERT_PTR_NULL(t[i].worker);
            CU_ASSERT_PTR_NULL(t[i].rpc_method);
            continue;
        }
        int known = 0;
        for (int w = 0; w < PROTO_WORKER_COUNT; w++)
            known |= strcmp(t[i].worker, proto_worker_names[w]) == 0;
        CU_ASSERT(known);
        CU_ASSERT(t[i].rpc_method && t[i].rpc_method[0]);
    }
}

/* /healthz, /readyz, /metrics and /api/status are local rows: public, GET and HEAD only. */
static void test_routes_local_rows(void)
{
    static const struct {
        const char *path;
        gw_local_fn *fn;
    } want[] = {
        {"/healthz", gw_local_healthz},    {"/readyz", gw_local_readyz},
        {"/metrics", gw_local_metrics},    {"/api/status", gw_local_status},
        {"/api/status/", gw_local_status},
    };
    size_t n;
    const struct gw_route *t = gw_routes(&n);
    struct gw_match m;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(gw_route_match(t, n, GW_GET, want[i].path, 0, &m), GW_MATCH_OK);
        CU_ASSERT_PTR_EQUAL(m.route->local, want[i].fn);
        CU_ASSERT_EQUAL(m.route->auth, GW_AUTH_PUBLIC);
        CU_ASSERT_EQUAL(gw_route_match(t, n, GW_HEAD, want[i].path, 0, &m), GW_MATCH_OK);
        CU_ASSERT_PTR_EQUAL(m.route->local, want[i].fn);
        CU_ASSERT_EQUAL(gw_route_match(t, n, GW_POST, want[i].path, 0, &m), GW_MATCH_METHOD);
        CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD");
    }
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/status/x", 0, &m), GW_MATCH_NOT_FOUND);
    /* an RPC row is not local */
    CU_ASSERT_EQUAL_FATAL(gw_route_match(t, n, GW_GET, "/api/sys/auth/ping", 0, &m), GW_MATCH_OK);
    CU_ASSERT_PTR_NULL(m.route->local);
}

static void test_routes_ledger_table(void)
{
    static const struct {
        enum gw_method method;
        const char *path, *rpc, *param, *value;
    } want[] = {
        {GW_GET, "/api/accounts", "acct.list", NULL, NULL},
        {GW_POST, "/api/accounts", "acct.create", NULL, NULL},
        {GW_POST, "/api/transactions/", "txn.create", NULL, NULL},
        {GW_POST, "/api/transactions", "txn.create", NULL, NULL},
        {GW_GET, "/api/transactions/", "txn.list", NULL, NULL},
        {GW_GET, "/api/transactions/account/5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f",
         "txn.list_account", "account_id", "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"},
        {GW_GET, "/api/transactions/9a8b7c6d-1111-4222-8333-444455556666", "txn.get", "id",
         "9a8b7c6d-1111-4222-8333-444455556666"},
        {GW_GET, "/api/transactions/account", "txn.get", "id", "account"},
    };
    size_t n;
    const struct gw_route *t = gw_routes(&n);
    struct gw_match m;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(gw_route_match(t, n, want[i].method, want[i].path, 0, &m),
                              GW_MATCH_OK);
        CU_ASSERT_STRING_EQUAL(m.route->worker, "transaction");
        CU_ASSERT_STRING_EQUAL(m.route->rpc_method, want[i].rpc);
        CU_ASSERT_EQUAL(m.route->auth, GW_AUTH_USER);
        if (want[i].param) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(gw_match_param(&m, want[i].param));
            CU_ASSERT_STRING_EQUAL(gw_match_param(&m, want[i].param), want[i].value);
        } else {
            CU_ASSERT_EQUAL(m.nparams, 0);
        }
    }
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_DELETE, "/api/accounts", 0, &m), GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD, POST");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_POST, "/api/transactions/x", 0, &m), GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/transactions/account/a/b", 0, &m),
                    GW_MATCH_NOT_FOUND);
}

#define NOTIF_ID "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"
static void test_routes_notification_table(void)
{
    static const struct {
        enum gw_method method;
        const char *path, *rpc, *param;
    } want[] = {
        {GW_GET, "/api/notifications/", "notif.list", NULL},
        {GW_GET, "/api/notifications", "notif.list", NULL},
        {GW_GET, "/api/notifications/count", "notif.count", NULL},
        {GW_GET, "/api/notifications/count/", "notif.count", NULL},
        {GW_GET, "/api/notifications/count/" NOTIF_ID, "notif.count", "account_id"},
        {GW_GET, "/api/notifications/" NOTIF_ID, "notif.list_account", "account_id"},
        {GW_GET, "/api/notifications/" NOTIF_ID "/", "notif.list_account", "account_id"},
        {GW_PUT, "/api/notifications/read/" NOTIF_ID, "notif.read", "id"},
        {GW_PUT, "/api/notifications/read-all", "notif.read_all", NULL},
        {GW_PUT, "/api/notifications/read-all/" NOTIF_ID, "notif.read_all", "account_id"},
        {GW_DELETE, "/api/notifications/" NOTIF_ID, "notif.delete", "id"},
    };
    size_t n;
    const struct gw_route *t = gw_routes(&n);
    struct gw_match m;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(gw_route_match(t, n, want[i].method, want[i].path, 0, &m),
                              GW_MATCH_OK);
        CU_ASSERT_STRING_EQUAL(m.route->worker, "notification");
        CU_ASSERT_STRING_EQUAL(m.route->rpc_method, want[i].rpc);
        CU_ASSERT_EQUAL(m.route->auth, GW_AUTH_USER);
        if (want[i].param) {
            CU_ASSERT_EQUAL(m.nparams, 1);
            CU_ASSERT_PTR_NOT_NULL_FATAL(gw_match_param(&m, want[i].param));
            CU_ASSERT_STRING_EQUAL(gw_match_param(&m, want[i].param), NOTIF_ID);
        } else {
            CU_ASSERT_EQUAL(m.nparams, 0);
        }
    }
    /* There is no method that creates a notification. */
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_POST, "/api/notifications/", 0, &m), GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "GET, HEAD");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/notifications/read/x", 0, &m),
                    GW_MATCH_METHOD);
    CU_ASSERT_STRING_EQUAL(m.allow, "PUT");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/notifications/read-all", 0, &m),
                    GW_MATCH_OK); /* read-all as an account id: the worker answers 404 */
    CU_ASSERT_STRING_EQUAL(m.route->rpc_method, "notif.list_account");
    CU_ASSERT_EQUAL(gw_route_match(t, n, GW_GET, "/api/notifications/a/b/c", 0, &m),
                    GW_MATCH_NOT_FOUND);
}

static void test_routes_bearer_token(void)
{
    const char *tok;
    size_t n;
    const char *h = "Bearer abc.def.ghi";
    CU_ASSERT_TRUE(gw_bearer_token(h, strlen(h), &tok, &n));
    CU_ASSERT_EQUAL(n, 11);
    CU_ASSERT_EQUAL(strncmp(tok, "abc.def.ghi", n), 0);
    h = "bearer   x.y.z";
    CU_ASSERT_TRUE(gw_bearer_token(h, strlen(h), &tok, &n));
    CU_ASSERT_EQUAL(strncmp(tok, "x.y.z", n), 0);
    const char *bad[] = {"",
                         "Bearer",
                         "Bearer ",
                         "Bearer  ",
                         "Basic dXNlcjpwYXNz",
                         "Bearerx.y.z",
                         "Bearer a b",
                         "Bearer a\t",
                         "Bearer a\x80",
                         "Token x.y.z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_FALSE(gw_bearer_token(bad[i], strlen(bad[i]), &tok, &n));
    CU_ASSERT_FALSE(gw_bearer_token(NULL, 0, &tok, &n));
}

static void test_routes_client_ip(void)
{
    char ip[GW_IP_MAX + 1];
    gw_client_ip("1.2.3.4, 10.0.0.9", "127.0.0.1", 0, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "127.0.0.1"); /* not trusted: the peer */
    gw_client_ip("1.2.3.4, 10.0.0.9", "127.0.0.1", 1, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "10.0.0.9"); /* trusted: the last hop */
    gw_client_ip("203.0.113.7", "127.0.0.1", 1, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "203.0.113.7");
    gw_client_ip("1.1.1.1,2001:db8::1 ", "127.0.0.1", 1, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "2001:db8::1");
    gw_client_ip("1.1.1.1, evil", "127.0.0.1", 1, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "127.0.0.1"); /* garbage: the peer */
    gw_client_ip("1.1.1.1,", "::1", 1, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "::1");
    gw_client_ip(NULL, "127.0.0.1", 1, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "127.0.0.1");
    gw_client_ip(NULL, NULL, 1, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "");
    /* One spelling per address, so one client has one rate-limit key. */
    gw_client_ip(NULL, "::ffff:127.0.0.1", 0, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "127.0.0.1");
    gw_client_ip("::FFFF:203.0.113.7", "::1", 1, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "203.0.113.7");
    gw_client_ip("2001:DB8:0:0::1", "::1", 1, ip, sizeof ip);
    CU_ASSERT_STRING_EQUAL(ip, "2001:db8::1");
}

static void test_routes_request_headers(void)
{
    CU_ASSERT_TRUE(gw_request_id_ok("abc-DEF_1.2", 11));
    CU_ASSERT_FALSE(gw_request_id_ok("", 0));
    CU_ASSERT_FALSE(gw_request_id_ok("a b", 3));
    CU_ASSERT_FALSE(gw_request_id_ok("a/b", 3));
    char id[66];
    memset(id, 'a', sizeof id);
    CU_ASSERT_TRUE(gw_request_id_ok(id, 64));
    CU_ASSERT_FALSE(gw_request_id_ok(id, 65));

    CU_ASSERT_TRUE(gw_idem_ok("key 1/2:3", 9));
    CU_ASSERT_FALSE(gw_idem_ok("", 0));
    CU_ASSERT_FALSE(gw_idem_ok("a\tb", 3));
    CU_ASSERT_FALSE(gw_idem_ok("caf\xc3\xa9", 5));
    char k[257];
    memset(k, 'k', sizeof k);
    CU_ASSERT_TRUE(gw_idem_ok(k, 255));
    CU_ASSERT_FALSE(gw_idem_ok(k, 256));

    CU_ASSERT_TRUE(gw_content_type_json("application/json"));
    CU_ASSERT_TRUE(gw_content_type_json("Application/JSON; charset=utf-8"));
    CU_ASSERT_TRUE(gw_content_type_json("application/problem+json"));
    CU_ASSERT_FALSE(gw_content_type_json("text/plain"));
    CU_ASSERT_FALSE(gw_content_type_json("application/jsonx"));
    CU_ASSERT_FALSE(gw_content_type_json(NULL));
}

static void test_routes_args_query_last_wins(void)
{
    struct gw_match m;
    CU_ASSERT_EQUAL_FATAL(gw_route_match(table, NT, GW_GET, "/api/transactions/t1", 1, &m),
                          GW_MATCH_OK);
    const char *frags[] = {"a=1", "b", "a=2", "c=x=y"};
    struct gw_kv kv[4];
    for (int i = 0; i < 4; i++)
        kv[i] = gw_kv_split(frags[i], strlen(frags[i]));
    CU_ASSERT_EQUAL(kv[1].klen, 1);
    CU_ASSERT_EQUAL(kv[1].vlen, 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    struct gw_meta meta = {"10.0.0.1", NULL, 0};
    gw_pack_args_head(&pk, &m, kv, 4, &meta);
    msgpack_pack_nil(&pk);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    CU_ASSERT_EQUAL_FATAL(msgpack_unpack_next(&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    char text[256];
    msgpack_object_print_buffer(text, sizeof text, up.data);
    CU_ASSERT_STRING_EQUAL(text,
                           "{\"path\"=>{\"id\"=>\"t1\"}, \"query\"=>{\"b\"=>\"\", \"a\"=>\"2\", "
                           "\"c\"=>\"x=y\"}, \"meta\"=>{\"ip\"=>\"10.0.0.1\"}, \"body\"=>nil}");
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

static void test_routes_args_meta_token(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    struct gw_meta meta = {"::1", "0b9c2f1e-7d4a-4c55-8e0f-1a2b3c4d5e6f", 1700000900};
    gw_pack_args_head(&pk, NULL, NULL, 0, &meta);
    msgpack_pack_map(&pk, 1); /* a body that tries to forge meta stays inside body */
    msgpack_pack_str_with_body(&pk, "meta", 4);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    CU_ASSERT_EQUAL_FATAL(msgpack_unpack_next(&up, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    char text[512];
    msgpack_object_print_buffer(text, sizeof text, up.data);
    CU_ASSERT_STRING_EQUAL(text, "{\"path\"=>{}, \"query\"=>{}, \"meta\"=>{\"ip\"=>\"::1\", "
                                 "\"jti\"=>\"0b9c2f1e-7d4a-4c55-8e0f-1a2b3c4d5e6f\", "
                                 "\"token_exp\"=>1700000900}, \"body\"=>{\"meta\"=>\"x\"}}");
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("routes", NULL, NULL);
    CU_add_test(s, "test_routes_literal_match", test_routes_literal_match);
    CU_add_test(s, "test_routes_params_extracted", test_routes_params_extracted);
    CU_add_test(s, "test_routes_segment_shapes", test_routes_segment_shapes);
    CU_add_test(s, "test_routes_trailing_slash", test_routes_trailing_slash);
    CU_add_test(s, "test_routes_percent_decoding", test_routes_percent_decoding);
    CU_add_test(s, "test_routes_404_vs_405", test_routes_404_vs_405);
    CU_add_test(s, "test_routes_overlong_path", test_routes_overlong_path);
    CU_add_test(s, "test_routes_param_charset", test_routes_param_charset);
    CU_add_test(s, "test_routes_gateway_table", test_routes_gateway_table);
    CU_add_test(s, "test_routes_auth_table", test_routes_auth_table);
    CU_add_test(s, "test_routes_local_rows", test_routes_local_rows);
    CU_add_test(s, "test_routes_ledger_table", test_routes_ledger_table);
    CU_add_test(s, "test_routes_notification_table", test_routes_notification_table);
    CU_add_test(s, "test_routes_bearer_token", test_routes_bearer_token);
    CU_add_test(s, "test_routes_client_ip", test_routes_client_ip);
    CU_add_test(s, "test_routes_request_headers", test_routes_request_headers);
    CU_add_test(s, "test_routes_args_query_last_wins", test_routes_args_query_last_wins);
    CU_add_test(s, "test_routes_args_meta_token", test_routes_args_meta_token);
    return ft_cunit_run();
}
