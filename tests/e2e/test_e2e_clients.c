/*
 * e2e, what an existing FinTwin client does (the routes of docs/api.md, same origin, the token
 * in Authorization) and what it reads, through the real gateway and all seven workers:
 *   - a user who chose EUR gets a EUR default account however soon they read /api/accounts,
 *     and a USD sender's transfer to them is 422 currency_mismatch naming both currencies;
 *   - a transfer to a user who registered a moment ago and never opened anything succeeds;
 *   - the recipient sees to_account = their own user id ("Received") and the id fields;
 *   - GET /api/auth/me names the default account; the welcome notification carries it;
 *   - no `limit` on the lists: whole histories (up to the documented caps);
 *   - status lines carry their reason phrase.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "proto/uuid.h"

#define WAIT_MS 20000

static struct e2e st;

static int suite_init(void)
{
    e2e_init(&st, "clients");
    return e2e_start_all(&st, NULL) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

static long call(const char *method, const char *path, const struct e2e_user *u, const char *idem,
                 const char *body, struct ft_http_resp *r)
{
    return e2e_call(&st, method, path, u, idem, body, r);
}

static void user(const char *name, struct e2e_user *u)
{
    CU_ASSERT_FATAL(e2e_register(&st, name, u) == 0);
}

/* The profile onboarding step 2 sends, in `currency`. */
static void complete_profile(const struct e2e_user *u, const char *currency)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"account_name\":\"Main\",\"phone_number\":\"+14155550100\","
             "\"currency_preference\":\"%s\",\"monthly_income\":\"3000\","
             "\"financial_goal\":\"savings\",\"risk_appetite\":\"low\"}",
             currency);
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(call("PUT", "/api/auth/profile", u, NULL, body, &r), 200);
    ft_http_resp_free(&r);
}

/* The default account of u from GET /api/accounts (listed first): id into id_out, currency
 * into cur (4 bytes). */
static void default_account(const struct e2e_user *u, char *id_out, char *cur)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(call("GET", "/api/accounts", u, NULL, NULL, &r), 200);
    CU_ASSERT(e2e_body_has(&r, "\"is_default\":true"));
    char *id = e2e_json_str(r.body, "id");
    char *c = e2e_json_str(r.body, "currency");
    snprintf(id_out, PROTO_UUID_LEN + 1, "%s", id ? id : "");
    snprintf(cur, 4, "%s", c ? c : "");
    free(id);
    free(c);
    ft_http_resp_free(&r);
}

static long transfer(const struct e2e_user *from, const char *to, const char *amount,
                     struct ft_http_resp *r)
{
    char body[256], key[PROTO_UUID_LEN + 1];
    proto_uuid_v4(key);
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":\"%s\",\"to_account\":\"%s\"}",
             amount, to);
    return call("POST", "/api/transactions/", from, key, body, r);
}

static long deposit(const struct e2e_user *u, const char *amount)
{
    char body[128], key[PROTO_UUID_LEN + 1];
    proto_uuid_v4(key);
    snprintf(body, sizeof body, "{\"type\":\"deposit\",\"amount\":\"%s\"}", amount);
    struct ft_http_resp r;
    long st_ = call("POST", "/api/transactions/", u, key, body, &r);
    ft_http_resp_free(&r);
    return st_;
}

struct body_wait {
    const struct e2e_user *u;
    const char *path;
    const char *needle;
};

static int body_shows(void *arg)
{
    struct body_wait *w = arg;
    struct ft_http_resp r;
    int ok = call("GET", w->path, w->u, NULL, NULL, &r) == 200 && r.body &&
             strstr(r.body, w->needle) != NULL;
    ft_http_resp_free(&r);
    return ok;
}

static void test_e2e_clients_eur_user_gets_a_eur_account(void)
{
    struct e2e_user usd = {0}, eur = {0};
    user("usd", &usd);
    user("eur", &eur);
    complete_profile(&eur, "EUR");
    char acc[PROTO_UUID_LEN + 1], cur[4];
    default_account(&eur, acc, cur); /* at once: whichever event the ledger has seen */
    CU_ASSERT_STRING_EQUAL(cur, "EUR");
    CU_ASSERT_EQUAL(deposit(&usd, "50"), 201);
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(transfer(&usd, eur.id, "5", &r), 422);
    CU_ASSERT(e2e_body_has(&r, "\"code\":\"currency_mismatch\""));
    CU_ASSERT(e2e_body_has(&r, "USD") && e2e_body_has(&r, "EUR"));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(transfer(&usd, acc, "5", &r), 422); /* by account id too */
    CU_ASSERT(e2e_body_has(&r, "\"code\":\"currency_mismatch\""));
    ft_http_resp_free(&r);
    /* the account stays EUR and empty */
    char acc2[PROTO_UUID_LEN + 1];
    default_account(&eur, acc2, cur);
    CU_ASSERT_STRING_EQUAL(acc2, acc);
    CU_ASSERT_STRING_EQUAL(cur, "EUR");
    e2e_user_free(&usd);
    e2e_user_free(&eur);
}

static void test_e2e_clients_transfer_to_a_new_user_and_back(void)
{
    struct e2e_user a = {0}, b = {0};
    user("sender", &a);
    user("newcomer", &b); /* registered a moment ago, never read anything */
    CU_ASSERT_EQUAL(deposit(&a, "20.00"), 201);
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(transfer(&a, b.id, "7.50", &r), 201);
    char frag[256];
    snprintf(frag, sizeof frag, "\"to_account\":\"%s\"", b.id);
    CU_ASSERT(e2e_body_has(&r, frag));
    ft_http_resp_free(&r);

    /* the recipient's history: to_account is their own id (how the client tells "Received"),
     * the credited account and both users have their fields */
    char acc[PROTO_UUID_LEN + 1], cur[4];
    default_account(&b, acc, cur);
    CU_ASSERT_STRING_EQUAL(cur, "USD");
    CU_ASSERT_EQUAL(call("GET", "/api/transactions/", &b, NULL, NULL, &r), 200);
    snprintf(frag, sizeof frag,
             "\"to_account\":\"%s\",\"to_account_id\":\"%s\",\"to_user_id\":\"%s\","
             "\"from_user_id\":\"%s\"",
             b.id, acc, b.id, a.id);
    CU_ASSERT(e2e_body_has(&r, frag));
    CU_ASSERT(e2e_body_has(&r, "\"direction\":\"in\""));
    ft_http_resp_free(&r);

    /* /me names the default account (the ledger tells the auth worker by event) */
    char needle[128];
    snprintf(needle, sizeof needle, "\"default_account_id\":\"%s\"", acc);
    struct body_wait w = {&b, "/api/auth/me", needle};
    CU_ASSERT(ft_wait_until(body_shows, &w, WAIT_MS));
    e2e_user_free(&a);
    e2e_user_free(&b);
}

static void test_e2e_clients_welcome_names_the_default_account(void)
{
    struct e2e_user u = {0};
    user("welcome", &u);
    complete_profile(&u, "GBP");
    char acc[PROTO_UUID_LEN + 1], cur[4];
    default_account(&u, acc, cur);
    CU_ASSERT_STRING_EQUAL(cur, "GBP");
    char needle[128];
    snprintf(needle, sizeof needle, "\"account_id\":\"%s\"", acc);
    struct body_wait w = {&u, "/api/notifications/", "Welcome to FinTwin"};
    CU_ASSERT(ft_wait_until(body_shows, &w, WAIT_MS));
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(call("GET", "/api/notifications/", &u, NULL, NULL, &r), 200);
    CU_ASSERT(e2e_body_has(&r, needle));
    CU_ASSERT(r.body && !strstr(r.body, "\"account_id\":null"));
    ft_http_resp_free(&r);
    e2e_user_free(&u);
}

static void test_e2e_clients_lists_without_limit(void)
{
    struct e2e_user u = {0};
    user("history", &u);
    for (int i = 0; i < 105; i++)
        CU_ASSERT_EQUAL(deposit(&u, "0.01"), 201);
    struct ft_http_resp r;
    char path[128];
    CU_ASSERT_EQUAL(call("GET", "/api/transactions/", &u, NULL, NULL, &r), 200);
    int n = 0;
    for (const char *p = r.body; p && (p = strstr(p, "\"type\":\"deposit\"")); p++)
        n++;
    CU_ASSERT_EQUAL(n, 100);
    ft_http_resp_free(&r);
    snprintf(path, sizeof path, "/api/transactions/account/%s", u.id); /* old clients: user id */
    CU_ASSERT_EQUAL(call("GET", path, &u, NULL, NULL, &r), 200);
    n = 0;
    for (const char *p = r.body; p && (p = strstr(p, "\"type\":\"deposit\"")); p++)
        n++;
    CU_ASSERT_EQUAL(n, 105);
    ft_http_resp_free(&r);
    snprintf(path, sizeof path, "/api/transactions/account/%s?limit=1001", u.id);
    CU_ASSERT_EQUAL(call("GET", path, &u, NULL, NULL, &r), 422);
    CU_ASSERT(e2e_body_has(&r, "\"code\":\"invalid_limit\""));
    ft_http_resp_free(&r);
    e2e_user_free(&u);
}

/* The status line as it reached the client: "HTTP/1.1 <code> <phrase>". */
static int status_line_is(const struct ft_http_resp *r, const char *want)
{
    size_t n = strlen(want);
    int ok = r->headers && strncmp(r->headers, want, n) == 0 && r->headers[n] == '\r';
    if (!ok)
        fprintf(stderr, "\n  status line %.40s, want %s\n", r->headers ? r->headers : "", want);
    return ok;
}

static void test_e2e_clients_status_lines_have_reason_phrases(void)
{
    struct e2e_user u = {0};
    user("phrases", &u);
    struct ft_http_resp r;
    char key[PROTO_UUID_LEN + 1];
    proto_uuid_v4(key);
    CU_ASSERT_EQUAL(
        call("POST", "/api/transactions/", &u, key, "{\"type\":\"deposit\",\"amount\":\"1\"}", &r),
        201);
    CU_ASSERT(status_line_is(&r, "HTTP/1.1 201 Created"));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("POST", "/api/transactions/", &u, NULL,
                         "{\"type\":\"withdrawal\",\"amount\":\"5\"}", &r),
                    422);
    CU_ASSERT(status_line_is(&r, "HTTP/1.1 422 Unprocessable Content"));
    CU_ASSERT(e2e_body_has(&r, "\"code\":\"insufficient_funds\""));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("GET", "/api/auth/me", &u, NULL, NULL, &r), 200);
    CU_ASSERT(status_line_is(&r, "HTTP/1.1 200 OK"));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("GET", "/api/nothing-here", &u, NULL, NULL, &r), 404);
    CU_ASSERT(status_line_is(&r, "HTTP/1.1 404 Not Found"));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("POST", "/api/auth/logout", &u, NULL, NULL, &r), 204);
    CU_ASSERT(status_line_is(&r, "HTTP/1.1 204 No Content"));
    ft_http_resp_free(&r);
    e2e_user_free(&u);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_clients", suite_init, suite_clean);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_e2e_clients_eur_user_gets_a_eur_account);
    ADD(test_e2e_clients_transfer_to_a_new_user_and_back);
    ADD(test_e2e_clients_welcome_names_the_default_account);
    ADD(test_e2e_clients_lists_without_limit);
    ADD(test_e2e_clients_status_lines_have_reason_phrases);
#undef ADD
    return ft_cunit_run();
}
