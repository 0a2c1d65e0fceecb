/*
 * e2e, Sign in with Google the way a browser does it: POST /api/auth/google through the
 * real gateway to the real auth worker, whose GOOGLE_CERTS_URL points at a local JWKS
 * server (tests/support/ft_google.h) holding this test's RSA key. A valid ID token gives a
 * FinTwin session whose ft_token then works on /api/auth/me; hostile tokens answer 401
 * invalid_google_token. Production code is unchanged: only the key URL differs.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "ft_google.h"
#include "proto/envelope.h"
#include "proto/uuid.h"

#define CLIENT_ID "e2e-client.apps.googleusercontent.com"

static struct e2e st;
static struct ft_google_server *keys;
static const struct ft_google_key *key;

static int suite_init(void)
{
    keys = ft_google_server_start();
    if (!keys || !(key = ft_google_server_add_key(keys, "e2e-k1", 1)))
        return 1;
    /* The auth worker inherits these (ft_spawn passes the environment on). */
    setenv("GOOGLE_CLIENT_ID", CLIENT_ID, 1);
    setenv("GOOGLE_CERTS_URL", ft_google_server_url(keys), 1);
    e2e_init(&st, "google");
    return e2e_start_with_auth(&st, NULL) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    ft_google_server_stop(keys);
    return 0;
}

/* POSTs {"credential": token} (or `raw_body` when not NULL); returns the status. */
static long sign_in(const char *token, const char *raw_body, struct ft_http_resp *r)
{
    char *body = NULL;
    if (!raw_body) {
        size_t n = strlen(token) + 32;
        body = malloc(n);
        snprintf(body, n, "{\"credential\":\"%s\"}", token);
    }
    const char *b = raw_body ? raw_body : body;
    ft_http("POST", e2e_url(&st, "/api/auth/google"), NULL, b, strlen(b), 10000, r);
    free(body);
    return r->status;
}

static void test_e2e_google_valid_token_gives_a_working_session(void)
{
    char sub[PROTO_UUID_LEN + 1], email[80];
    proto_uuid_v4(sub);
    snprintf(email, sizeof email, "g-%.8s@example.com", sub);
    char *claims = ft_google_claims(CLIENT_ID, sub, email, proto_now_ms() / 1000);
    char *tok = ft_google_sign(key, claims, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);

    struct ft_http_resp r;
    CU_ASSERT_EQUAL(sign_in(tok, NULL, &r), 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"refresh_token\":\""));
    char *ft = e2e_json_str(r.body, "ft_token");
    char *user1 = e2e_json_str(r.body, "user\":{\"id");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ft);
    CU_ASSERT_PTR_NOT_NULL_FATAL(user1);
    ft_http_resp_free(&r);

    char auth[PROTO_ID_MAX + 2100];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", ft);
    const char *hdrs[] = {auth, NULL};
    ft_http("GET", e2e_url(&st, "/api/auth/me"), hdrs, NULL, 0, 5000, &r);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, email));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"full_name\":\"Test User\""));
    ft_http_resp_free(&r);

    /* Signing in again with a fresh token for the same Google account is the same user. */
    char *tok2 = ft_google_sign(key, claims, NULL);
    CU_ASSERT_EQUAL(sign_in(tok2, NULL, &r), 200);
    char *user2 = e2e_json_str(r.body, "user\":{\"id");
    ft_http_resp_free(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(user2);
    CU_ASSERT_STRING_EQUAL(user1, user2);
    free(user1);
    free(user2);
    free(tok2);
    free(ft);
    free(tok);
    free(claims);
}

static void expect_invalid(const char *what, char *token)
{
    struct ft_http_resp r;
    CU_ASSERT_PTR_NOT_NULL_FATAL(token);
    long status = sign_in(token, NULL, &r);
    int ok = status == 401 && strstr(r.body, "\"code\":\"invalid_google_token\"") != NULL;
    if (!ok)
        fprintf(stderr, "%s: expected 401 invalid_google_token, got %ld %s\n", what, status,
                r.body);
    CU_ASSERT_TRUE(ok);
    ft_http_resp_free(&r);
    free(token);
}

static void test_e2e_google_hostile_tokens_are_401(void)
{
    char sub[PROTO_UUID_LEN + 1], email[80];
    proto_uuid_v4(sub);
    snprintf(email, sizeof email, "h-%.8s@example.com", sub);
    int64_t now = proto_now_ms() / 1000;
    char *good = ft_google_claims(CLIENT_ID, sub, email, now);
    char *wrong_aud = ft_google_claims("someone-else.apps.googleusercontent.com", sub, NULL, now);
    char *expired = ft_google_claims(CLIENT_ID, sub, NULL, now - 7200);

    expect_invalid("wrong aud", ft_google_sign(key, wrong_aud, NULL));
    expect_invalid("expired", ft_google_sign(key, expired, NULL));
    expect_invalid("alg none", ft_google_token_alg_none("e2e-k1", good));
    expect_invalid("HS256 with the RSA public key",
                   ft_google_token_hs256(key->public_pem, "e2e-k1", good));
    expect_invalid("our own HS256 secret", ft_google_token_hs256(E2E_JWT_SECRET, NULL, good));
    char *signed_good = ft_google_sign(key, good, NULL);
    expect_invalid("tampered payload", ft_google_token_tamper(signed_good, wrong_aud));
    expect_invalid("unknown kid", ft_google_sign(key, good, "{\"kid\":\"nobody\"}"));
    free(signed_good);
    free(good);
    free(wrong_aud);
    free(expired);
}

static void test_e2e_google_malformed_body(void)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(sign_in(NULL, "{\"credential\":42}", &r), 422);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"code\":\"invalid_credential\""));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(sign_in(NULL, "{\"credential\":", &r), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"code\":\"invalid_json\""));
    ft_http_resp_free(&r);
}

/* What the web app reads before showing the Google button: the client id the worker checks
 * `aud` against, with no token needed. */
static void test_e2e_google_config_names_the_client_id(void)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(ft_http("GET", e2e_url(&st, "/api/config"), NULL, NULL, 0, 5000, &r), 0);
    CU_ASSERT_EQUAL(r.status, 200);
    CU_ASSERT_STRING_EQUAL(r.body,
                           "{\"google_client_id\":\"" CLIENT_ID "\",\"google_enabled\":true}");
    ft_http_resp_free(&r);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_google", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_google_valid_token_gives_a_working_session",
                test_e2e_google_valid_token_gives_a_working_session);
    CU_add_test(s, "test_e2e_google_hostile_tokens_are_401",
                test_e2e_google_hostile_tokens_are_401);
    CU_add_test(s, "test_e2e_google_malformed_body", test_e2e_google_malformed_body);
    CU_add_test(s, "test_e2e_google_config_names_the_client_id",
                test_e2e_google_config_names_the_client_id);
    return ft_cunit_run();
}
