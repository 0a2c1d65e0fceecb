/*
 * e2e, one user's session over HTTP through the real gateway and auth worker: register,
 * read and complete the profile, refresh, log out — after which the old access token is
 * refused at once (the worker's denylist entry is what the gateway reads) and the refresh
 * chain is dead. And a second user cannot read or change the first one's profile by naming
 * their id anywhere in the request. And what the web app asks before and around a transfer:
 * GET /api/config (public) and GET /api/users/lookup?email= or ?id= (signed in, throttled per
 * user; this suite's auth worker allows LOOKUPS_PER_MIN a minute).
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "proto/uuid.h"

#define LOOKUPS_PER_MIN "3"

static struct e2e st;

static int suite_init(void)
{
    /* The auth worker inherits it (ft_spawn passes the environment on). */
    setenv("AUTH_LOOKUP_PER_MIN", LOOKUPS_PER_MIN, 1);
    e2e_init(&st, "session");
    return e2e_start_with_auth(&st, NULL) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    return 0;
}

struct session {
    char *token;   /* ft_token */
    char *refresh; /* refresh_token */
    char *user_id;
};

static void session_free(struct session *s)
{
    free(s->token);
    free(s->refresh);
    free(s->user_id);
}

static void session_from(const char *body, struct session *s)
{
    s->token = e2e_json_str(body, "ft_token");
    s->refresh = e2e_json_str(body, "refresh_token");
    s->user_id = e2e_json_str(body, "user\":{\"id");
}

/* A request with the session's bearer token (token may be NULL: no Authorization). */
static long call(const char *method, const char *path, const char *token, const char *body,
                 struct ft_http_resp *r)
{
    char h[2200];
    const char *hdrs[] = {h, NULL};
    if (token)
        snprintf(h, sizeof h, "Authorization: Bearer %s", token);
    ft_http(method, e2e_url(&st, path), token ? hdrs : NULL, body, body ? strlen(body) : 0, 10000,
            r);
    return r->status;
}

/* Registers a fresh user "<name>-<random>@example.com" (into `email` when not NULL, 128
 * bytes); returns its session (all fields set, or the test fails). */
static void register_as(const char *name, char *email, struct session *s)
{
    char id[PROTO_UUID_LEN + 1], addr[128], body[256];
    proto_uuid_v4(id);
    snprintf(addr, sizeof addr, "%s-%.8s@example.com", name, id);
    if (email)
        memcpy(email, addr, strlen(addr) + 1);
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"password\":\"a long passphrase\",\"full_name\":\"%s\"}", addr,
             name);
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(call("POST", "/api/auth/register", NULL, body, &r), 201);
    session_from(r.body, s);
    ft_http_resp_free(&r);
    CU_ASSERT_FATAL(s->token && s->refresh && s->user_id);
}

static void register_user(const char *name, struct session *s)
{
    register_as(name, NULL, s);
}

static void test_e2e_session_logout_refuses_old_token_at_once(void)
{
    struct session a = {0};
    register_user("ada", &a);
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(call("GET", "/api/auth/me", a.token, NULL, &r), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, a.user_id));
    ft_http_resp_free(&r);

    CU_ASSERT_EQUAL(call("PUT", "/api/auth/profile", a.token,
                         "{\"account_name\":\"Main\",\"phone_number\":\"+14155550100\","
                         "\"currency_preference\":\"USD\",\"monthly_income\":5000.10,"
                         "\"financial_goal\":\"savings\",\"risk_appetite\":\"low\"}",
                         &r),
                    200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"monthly_income\":5000.10"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"is_profile_complete\":true"));
    ft_http_resp_free(&r);

    /* Refresh: a new pair; the session continues with it. */
    char body[256];
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a.refresh);
    CU_ASSERT_EQUAL(call("POST", "/api/auth/refresh", NULL, body, &r), 200);
    struct session a2 = {0};
    session_from(r.body, &a2);
    ft_http_resp_free(&r);
    CU_ASSERT_FATAL(a2.token && a2.refresh);
    CU_ASSERT_STRING_EQUAL(a2.user_id, a.user_id);

    CU_ASSERT_EQUAL(call("POST", "/api/auth/logout", a2.token, NULL, &r), 204);
    CU_ASSERT_EQUAL(r.body_len, 0);
    ft_http_resp_free(&r);
    /* The very next request with that token is refused by the gateway. */
    CU_ASSERT_EQUAL(call("GET", "/api/auth/me", a2.token, NULL, &r), 401);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"code\":\"token_revoked\""));
    ft_http_resp_free(&r);
    /* And the refresh chain is dead. */
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", a2.refresh);
    CU_ASSERT_EQUAL(call("POST", "/api/auth/refresh", NULL, body, &r), 401);
    ft_http_resp_free(&r);
    session_free(&a);
    session_free(&a2);
}

static void test_e2e_session_users_cannot_reach_each_other(void)
{
    struct session a = {0}, b = {0};
    register_user("alice", &a);
    register_user("bob", &b);
    struct ft_http_resp r;
    char body[512], path[256];

    /* B names A everywhere a client could: body fields, query, a path-like suffix. */
    snprintf(body, sizeof body,
             "{\"id\":\"%s\",\"user_id\":\"%s\",\"user\":\"%s\",\"account_name\":\"Bob's\","
             "\"phone_number\":\"+14155550101\",\"currency_preference\":\"GBP\","
             "\"monthly_income\":\"10\",\"financial_goal\":\"investment\","
             "\"risk_appetite\":\"high\"}",
             a.user_id, a.user_id, a.user_id);
    snprintf(path, sizeof path, "/api/auth/profile?user_id=%s&id=%s", a.user_id, a.user_id);
    CU_ASSERT_EQUAL(call("PUT", path, b.token, body, &r), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, b.user_id)); /* B's own profile changed */
    ft_http_resp_free(&r);
    snprintf(path, sizeof path, "/api/auth/me?user_id=%s", a.user_id);
    CU_ASSERT_EQUAL(call("GET", path, b.token, NULL, &r), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, b.user_id));
    CU_ASSERT_PTR_NULL(strstr(r.body, a.user_id));
    ft_http_resp_free(&r);
    snprintf(path, sizeof path, "/api/auth/me/%s", a.user_id);
    CU_ASSERT_EQUAL(call("GET", path, b.token, NULL, &r), 404);
    ft_http_resp_free(&r);

    /* A is untouched. */
    CU_ASSERT_EQUAL(call("GET", "/api/auth/me", a.token, NULL, &r), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"account_name\":null"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"is_profile_complete\":false"));
    ft_http_resp_free(&r);
    session_free(&a);
    session_free(&b);
}

/* Public: no token needed, nothing secret; this auth worker has no GOOGLE_CLIENT_ID. HEAD
 * answers the same headers without the body. */
static void test_e2e_session_config_is_public(void)
{
    static const char want[] = "{\"google_client_id\":null,\"google_enabled\":false}";
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(call("GET", "/api/config", NULL, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body, want);
    char *ct = ft_http_header(&r, "Content-Type"), *cc = ft_http_header(&r, "Cache-Control");
    CU_ASSERT_STRING_EQUAL(ct ? ct : "", "application/json");
    CU_ASSERT_STRING_EQUAL(cc ? cc : "", "no-store");
    free(ct);
    free(cc);
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("HEAD", "/api/config", NULL, NULL, &r), 200);
    CU_ASSERT_EQUAL(r.body_len, 0);
    char *cl = ft_http_header(&r, "Content-Length");
    CU_ASSERT_EQUAL(cl ? atoi(cl) : -1, (int)sizeof want - 1);
    free(cl);
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("POST", "/api/config", NULL, "{}", &r), 405);
    ft_http_resp_free(&r);
}

/* 1 when r is the error {detail, code} with `code`; else 0 after printing what came. */
static int is_error(const struct ft_http_resp *r, const char *code)
{
    char needle[96];
    snprintf(needle, sizeof needle, "\",\"code\":\"%s\"}", code);
    int ok = r->body && strncmp(r->body, "{\"detail\":\"", 11) == 0 && strstr(r->body, needle);
    if (!ok)
        fprintf(stderr, "\n  want code %s, got %ld %s\n", code, r->status, r->body ? r->body : "");
    return ok;
}

/* A sender finds the recipient of a transfer by email: {id, full_name} and nothing else. The
 * address is a query parameter, so a '+' in it travels as %2B (encodeURIComponent does that);
 * its case does not matter. */
static void test_e2e_session_lookup_recipient_by_email(void)
{
    struct session ada = {0}, bob = {0};
    char email[128], path[512], want[256], esc[400];
    register_as("ada+pay", email, &ada);
    register_user("bob", &bob);
    snprintf(want, sizeof want, "{\"id\":\"%s\",\"full_name\":\"ada+pay\"}", ada.user_id);
    /* percent-encode '+' and '@', upper-case the rest */
    size_t o = 0;
    for (const char *p = email; *p && o + 4 < sizeof esc; p++) {
        if (*p == '+' || *p == '@')
            o += (size_t)snprintf(esc + o, sizeof esc - o, "%%%02X", (unsigned char)*p);
        else
            esc[o++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    }
    esc[o] = '\0';
    struct ft_http_resp r;
    snprintf(path, sizeof path, "/api/users/lookup?email=%s", esc);
    CU_ASSERT_EQUAL(call("GET", path, bob.token, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body, want);
    char *cc = ft_http_header(&r, "Cache-Control");
    CU_ASSERT_STRING_EQUAL(cc ? cc : "", "no-store");
    free(cc);
    ft_http_resp_free(&r);

    /* An unencoded '+' is a space in a query string (as in a submitted form): no address. */
    snprintf(path, sizeof path, "/api/users/lookup?email=%s", email);
    CU_ASSERT_EQUAL(call("GET", path, bob.token, NULL, &r), 422);
    CU_ASSERT(is_error(&r, "invalid_email"));
    ft_http_resp_free(&r);
    snprintf(path, sizeof path, "/api/users/lookup?email=%s", esc);

    /* Signed in only: no RPC without a token. */
    CU_ASSERT_EQUAL(call("GET", path, NULL, NULL, &r), 401);
    CU_ASSERT(is_error(&r, "unauthenticated"));
    ft_http_resp_free(&r);

    snprintf(path, sizeof path, "/api/users/lookup?email=nobody-%.8s%%40example.com", bob.user_id);
    CU_ASSERT_EQUAL(call("GET", path, bob.token, NULL, &r), 404);
    CU_ASSERT(is_error(&r, "user_not_found"));
    ft_http_resp_free(&r);
    const char *bad[] = {"/api/users/lookup",
                         "/api/users/lookup?email=", "/api/users/lookup?email=not-an-address",
                         "/api/users/lookup?mail=x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(call("GET", bad[i], bob.token, NULL, &r), 422);
        CU_ASSERT(is_error(&r, "invalid_email"));
        ft_http_resp_free(&r);
    }

    session_free(&ada);
    session_free(&bob);
}

/* The list of a transfer names the other side by user id: ?id= answers the same {id,
 * full_name}. Malformed ids and email with id are refused before counting (so they never use
 * up the limit); found and unknown ids count, like lookups by email. */
static void test_e2e_session_lookup_user_by_id(void)
{
    struct session eve = {0}, finn = {0};
    char email[128], path[512], want[256], upper[PROTO_UUID_LEN + 1], unknown[PROTO_UUID_LEN + 1];
    register_user("eve", &eve);
    register_as("finn", email, &finn);
    snprintf(want, sizeof want, "{\"id\":\"%s\",\"full_name\":\"finn\"}", finn.user_id);
    struct ft_http_resp r;
    snprintf(path, sizeof path, "/api/users/lookup?id=%s", finn.user_id);
    CU_ASSERT_EQUAL(call("GET", path, eve.token, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body, want);
    char *cc = ft_http_header(&r, "Cache-Control");
    CU_ASSERT_STRING_EQUAL(cc ? cc : "", "no-store");
    free(cc);
    ft_http_resp_free(&r);

    CU_ASSERT_EQUAL(call("GET", path, NULL, NULL, &r), 401);
    CU_ASSERT(is_error(&r, "unauthenticated"));
    ft_http_resp_free(&r);

    memcpy(upper, finn.user_id, sizeof upper);
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    snprintf(path, sizeof path, "/api/users/lookup?id=%s", upper);
    CU_ASSERT_EQUAL(call("GET", path, eve.token, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body, want);
    ft_http_resp_free(&r);

    proto_uuid_v4(unknown);
    snprintf(path, sizeof path, "/api/users/lookup?id=%s", unknown);
    CU_ASSERT_EQUAL(call("GET", path, eve.token, NULL, &r), 404);
    CU_ASSERT(is_error(&r, "user_not_found"));
    ft_http_resp_free(&r);

    /* Three counted: all that follow are refused for what they are, not throttled. */
    char both[2][512];
    snprintf(both[0], sizeof both[0], "/api/users/lookup?email=%.*s%%40%s&id=%s",
             (int)(strchr(email, '@') - email), email, strchr(email, '@') + 1, finn.user_id);
    snprintf(both[1], sizeof both[1], "/api/users/lookup?id=%s&email=", finn.user_id);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(call("GET", both[i], eve.token, NULL, &r), 422);
        CU_ASSERT(is_error(&r, "invalid_query"));
        ft_http_resp_free(&r);
    }
    const char *bad[] = {"/api/users/lookup?id=", "/api/users/lookup?id=finn",
                         "/api/users/lookup?id=12345678-1234-1234-1234-1234567890abc",
                         "/api/users/lookup?id=12345678123412341234123456789abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(call("GET", bad[i], eve.token, NULL, &r), 422);
        CU_ASSERT(is_error(&r, "invalid_user_id"));
        ft_http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(call("GET", "/api/users/lookup", eve.token, NULL, &r), 422);
    CU_ASSERT(is_error(&r, "invalid_email")); /* neither: as before ?id= existed */
    ft_http_resp_free(&r);

    /* The fourth counted lookup is one too many. */
    snprintf(path, sizeof path, "/api/users/lookup?id=%s", finn.user_id);
    CU_ASSERT_EQUAL(call("GET", path, eve.token, NULL, &r), 429);
    CU_ASSERT(is_error(&r, "too_many_lookups"));
    ft_http_resp_free(&r);
    session_free(&eve);
    session_free(&finn);
}

/* LOOKUPS_PER_MIN lookups a minute per user, then 429 too_many_lookups with Retry-After
 * through the gateway, by email and by id alike; another user is not affected. */
static void test_e2e_session_lookup_is_throttled(void)
{
    struct session carol = {0}, dave = {0};
    char email[128], path[256];
    register_as("carol", email, &carol);
    register_user("dave", &dave);
    snprintf(path, sizeof path, "/api/users/lookup?email=%s", email);
    struct ft_http_resp r;
    int limit = atoi(LOOKUPS_PER_MIN), ok = 0;
    for (int i = 0; i < limit; i++) {
        ok += call("GET", path, dave.token, NULL, &r) == 200;
        ft_http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(ok, limit);
    CU_ASSERT_EQUAL(call("GET", path, dave.token, NULL, &r), 429);
    CU_ASSERT(is_error(&r, "too_many_lookups"));
    char *ra = ft_http_header(&r, "Retry-After");
    CU_ASSERT(ra && atoi(ra) >= 1 && atoi(ra) <= 60);
    free(ra);
    ft_http_resp_free(&r);
    char by_id[256];
    snprintf(by_id, sizeof by_id, "/api/users/lookup?id=%s", carol.user_id);
    CU_ASSERT_EQUAL(call("GET", by_id, dave.token, NULL, &r), 429);
    CU_ASSERT(is_error(&r, "too_many_lookups"));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(call("GET", path, carol.token, NULL, &r), 200);
    ft_http_resp_free(&r);
    session_free(&carol);
    session_free(&dave);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_session", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_session_logout_refuses_old_token_at_once",
                test_e2e_session_logout_refuses_old_token_at_once);
    CU_add_test(s, "test_e2e_session_users_cannot_reach_each_other",
                test_e2e_session_users_cannot_reach_each_other);
    CU_add_test(s, "test_e2e_session_config_is_public", test_e2e_session_config_is_public);
    CU_add_test(s, "test_e2e_session_lookup_recipient_by_email",
                test_e2e_session_lookup_recipient_by_email);
    CU_add_test(s, "test_e2e_session_lookup_user_by_id", test_e2e_session_lookup_user_by_id);
    CU_add_test(s, "test_e2e_session_lookup_is_throttled", test_e2e_session_lookup_is_throttled);
    return ft_cunit_run();
}
