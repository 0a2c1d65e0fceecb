/*
 * e2e, the web app in a real browser (issue 19): the gateway serves the built SPA
 * (FT_WEB_DIST, which deploy/local/test.sh builds; default <source>/web/dist) with all seven
 * workers behind it, and tests/browser/journeys.mjs drives Debian's Chromium through the
 * journeys a person takes: sign up and onboard, send money to a second person whose open page
 * shows it live, be refused an overdraft, run a simulation and a projection, reload, see the
 * Risk page follow a large withdrawal live, sign out.
 * The script asserts what the pages show; this file asserts the script's verdicts and then
 * the database behind them: the double-clicked first deposit posted once, the transfer and
 * the refusal and the large withdrawal moved exactly what the pages said, and the signed-out
 * user's socket is gone.
 *
 * Without Chromium, tests/browser/node_modules or a built web app it skips outside CI and
 * fails under CI=true, like a missing server. On a failure the script saves screenshots of
 * every open page in this test's log directory.
 */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

#define BROWSER_S 300 /* the script's own watchdog fires at 240 s */

static struct e2e st;
static struct e2e_browser br;
static char web_dist[4200];

/* 0 when the app is built (FT_WEB_DIST, default <source>/web/dist); else ft_skip's answer. */
static int need_web_dist(void)
{
    snprintf(web_dist, sizeof web_dist, "%s", ft_env("FT_WEB_DIST", ""));
    if (!web_dist[0])
        snprintf(web_dist, sizeof web_dist, "%s/web/dist",
                 ft_env("FT_SOURCE_DIR", FT_DEFAULT_SOURCE_DIR));
    char index[4300];
    snprintf(index, sizeof index, "%s/index.html", web_dist);
    if (access(index, R_OK) == 0)
        return 0;
    return ft_skip("%s is missing (npm ci && npm run build in web/, as deploy/local/test.sh does)",
                   index);
}

static int suite_init(void)
{
    static char root[4300];
    e2e_init(&st, "web");
    snprintf(root, sizeof root, "GW_WEB_ROOT=%s", web_dist);
    const char *env[] = {root, NULL};
    st.self_origin = 1; /* the pages open /api/ws from the gateway's own origin */
    return e2e_start_all(&st, env) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

/* Runs journeys.mjs and returns its JSON report (NULL when there is none). */
static json_t *run_journeys(void)
{
    char url[80], art[300];
    snprintf(url, sizeof url, "FT_GATEWAY_URL=http://127.0.0.1:%d", st.port);
    snprintf(art, sizeof art, "FT_ARTIFACTS=%s", st.dir);
    char secret[] = "FT_JWT_SECRET=" E2E_JWT_SECRET; /* the gateway's; mints an expired token */
    char *env[] = {url, art, secret, NULL};
    return e2e_run_browser_script(&st, &br, "journeys.mjs", env, BROWSER_S);
}

/* One value of a one-row, one-column query with one text parameter; "" on any failure. */
static void sql1(PGconn *db, char *out, size_t size, const char *sql, const char *p1)
{
    const char *params[] = {p1};
    PGresult *r = PQexecParams(db, sql, 1, NULL, params, NULL, NULL, 0);
    out[0] = '\0';
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
        snprintf(out, size, "%s", PQgetvalue(r, 0, 0));
    else
        fprintf(stderr, "\n  query failed (%s): %s", sql, PQresultErrorMessage(r));
    PQclear(r);
}

/* A's risk state as "assessments:score+level of the 700.00 withdrawal:alerts:risk
 * notifications", until it reads "3:40medium:1:1". */
struct risk_wait {
    PGconn *db;
    const char *user;
    char got[64];
};

static int risk_settled(void *arg)
{
    struct risk_wait *w = arg;
    sql1(w->db, w->got, sizeof w->got,
         "SELECT (SELECT count(*) FROM risk.assessments WHERE user_id = $1::uuid) || ':' || "
         "(SELECT score || alert_level FROM risk.assessments WHERE user_id = $1::uuid "
         "AND amount = -70000) || ':' || (SELECT count(*) FROM risk.outbox WHERE user_id = "
         "$1::uuid AND type = 'risk.alert') || ':' || (SELECT count(*) FROM notify.notifications "
         "WHERE user_id = $1::uuid AND type = 'risk')",
         w->user);
    return strcmp(w->got, "3:40medium:1:1") == 0;
}

static const char *user_id(const json_t *report, const char *who)
{
    const char *id = json_string_value(
        json_object_get(json_object_get(json_object_get(report, "users"), who), "id"));
    return id ? id : "";
}

static void test_e2e_web_journeys(void)
{
    int64_t t0 = ft_now_ms();
    json_t *r = run_journeys();
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const char *chromium = json_string_value(json_object_get(r, "chromium"));
    fprintf(stderr, "\n  browser journeys took %.1f s (Chromium %s)\n",
            (double)(ft_now_ms() - t0) / 1000, chromium ? chromium : "?");
    CU_ASSERT(json_is_null(json_object_get(r, "error")));
    if (!json_is_null(json_object_get(r, "error")))
        fprintf(stderr, "  harness error: %s\n", json_string_value(json_object_get(r, "error")));

    static const char *const want[] = {"signup_onboarding",
                                       "second_user",
                                       "transfer_live",
                                       "notifications",
                                       "overdraw_refused",
                                       "twin",
                                       "expired_token_refreshes",
                                       "reload_keeps_session",
                                       "risk",
                                       "logout"};
    const json_t *js = json_object_get(r, "journeys");
    CU_ASSERT_EQUAL(json_array_size(js), sizeof want / sizeof want[0]);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const json_t *j = json_array_get(js, i);
        const char *name = json_string_value(json_object_get(j, "name"));
        CU_ASSERT_STRING_EQUAL(name ? name : "(none)", want[i]);
        int ok = json_is_true(json_object_get(j, "ok"));
        CU_ASSERT(ok);
        fprintf(stderr, "  %-22s %s %5lld ms%s%s\n", name ? name : "?", ok ? "ok  " : "FAIL",
                (long long)json_integer_value(json_object_get(j, "ms")), ok ? "" : "  ",
                ok ? "" : json_string_value(json_object_get(j, "error")));
    }

    /* The database behind what the pages showed. */
    PGconn *db = PQconnectdb(ft_env("PG_URL", ""));
    CU_ASSERT_EQUAL_FATAL(PQstatus(db), CONNECTION_OK);
    const char *a = user_id(r, "a"), *b = user_id(r, "b");
    char v[64];
    /* A double-clicked Finish: one deposit of 1234.56, then 25.50 sent, nothing for the refusal,
     * and the risk journey's withdrawal of 700.00. */
    sql1(db, v, sizeof v,
         "SELECT count(*) FROM ledger.transfers t JOIN ledger.accounts a ON a.id = t.to_account "
         "WHERE a.owner = $1::uuid AND t.kind = 'deposit'",
         a);
    CU_ASSERT_STRING_EQUAL(v, "1");
    sql1(db, v, sizeof v,
         "SELECT count(*) FROM ledger.transfers t JOIN ledger.accounts a ON a.id = t.from_account "
         "WHERE a.owner = $1::uuid AND t.kind = 'withdrawal'",
         a);
    CU_ASSERT_STRING_EQUAL(v, "1");
    sql1(db, v, sizeof v, "SELECT sum(balance) FROM ledger.accounts WHERE owner = $1::uuid", a);
    CU_ASSERT_STRING_EQUAL(v, "50906");
    sql1(db, v, sizeof v, "SELECT sum(balance) FROM ledger.accounts WHERE owner = $1::uuid", b);
    CU_ASSERT_STRING_EQUAL(v, "3550");
    /* B marked every notification read on the page. */
    sql1(db, v, sizeof v,
         "SELECT count(*) FILTER (WHERE NOT is_read) || '/' || count(*) FROM notify.notifications "
         "WHERE user_id = $1::uuid",
         b);
    CU_ASSERT_STRING_EQUAL(v, "0/3");
    /* Every posting of A was scored once; the 700.00 withdrawal raised A to medium, and that
     * one alert became one risk notification (the page toasted it once). The notification
     * follows the alert through the outbox, so it is waited for. */
    struct risk_wait w = {db, a, ""};
    CU_ASSERT(ft_wait_until(risk_settled, &w, 10000));
    CU_ASSERT_STRING_EQUAL(w.got, "3:40medium:1:1");
    /* The simulation ran on the twin: saved there, and the ledger untouched by it. */
    sql1(db, v, sizeof v, "SELECT count(*) > 0 FROM twin.simulations WHERE user_id = $1::uuid", a);
    CU_ASSERT_STRING_EQUAL(v, "t");
    PQfinish(db);
    json_decref(r);

    /* Every page is closed now: the gateway holds no socket. */
    CU_ASSERT(e2e_wait_body(&st, "/metrics", "\nfintwin_gateway_ws_sockets 0\n", 5000));
}

int main(void)
{
    int rc;
    if ((rc = ft_need_servers()) != 0 || (rc = e2e_need_browser(&br, FT_DEFAULT_SOURCE_DIR)) != 0 ||
        (rc = need_web_dist()) != 0)
        return rc;
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("e2e_web", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_web_journeys", test_e2e_web_journeys);
    return ft_cunit_run();
}
