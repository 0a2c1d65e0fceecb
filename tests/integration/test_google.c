/*
 * Integration: google_verify (workers/auth/google.c) against a local key server
 * (tests/support/ft_google.h) on 127.0.0.1. Needs no database or broker, so it runs anywhere.
 * Every test makes its own verifier, so key caches never leak between tests; the server's
 * request counter shows when the verifier went to the network. Time is passed in explicitly,
 * so cache expiry and the refetch limit are tested without sleeping.
 */
#include <CUnit/Basic.h>
#include <jansson.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ft_google.h"
#include "ft_test.h"
#include "google.h"

#define CLIENT "1234-test.apps.googleusercontent.com"

static struct ft_google_server *g_srv;
static const struct ft_google_key *g_k1;
static int64_t g_now;
static char g_why[256];

static int suite_init(void)
{
    g_now = (int64_t)time(NULL);
    g_srv = ft_google_server_start();
    if (!g_srv)
        return -1;
    g_k1 = ft_google_server_add_key(g_srv, "k1", 1);
    return g_k1 ? 0 : -1;
}

static int suite_clean(void)
{
    ft_google_server_stop(g_srv);
    g_srv = NULL;
    return 0;
}

/* Puts the shared server back to its defaults; every test starts with this. */
static struct google_verifier *fresh(void)
{
    ft_google_server_set_mode(g_srv, FT_GOOGLE_SERVE_JWKS);
    ft_google_server_set_max_age(g_srv, 3600);
    struct google_verifier *v = google_verifier_new(ft_google_server_url(g_srv), CLIENT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    return v;
}

/* Valid claims at `now` with `patch` (a JSON object, may be NULL) applied: its members replace
 * the defaults and a null member removes the claim. Returns malloc'ed JSON. */
static char *claims(int64_t now, const char *patch)
{
    char *base = ft_google_claims(CLIENT, "110169484474386276334", "ann@example.com", now);
    CU_ASSERT_PTR_NOT_NULL_FATAL(base);
    if (!patch)
        return base;
    json_t *c = json_loads(base, 0, NULL);
    json_t *p = json_loads(patch, 0, NULL);
    CU_ASSERT_FATAL(json_is_object(c) && json_is_object(p));
    const char *k;
    json_t *val;
    json_object_foreach(p, k, val)
    {
        if (json_is_null(val))
            json_object_del(c, k);
        else
            json_object_set(c, k, val);
    }
    char *out = json_dumps(c, JSON_COMPACT);
    json_decref(p);
    json_decref(c);
    free(base);
    return out;
}

/* Signs claims(now, patch) with key and verifies at verify_now with verifier v. */
static int sign_verify(struct google_verifier *v, const struct ft_google_key *key, int64_t now,
                       const char *patch, int64_t verify_now, struct google_identity *id)
{
    char *c = claims(now, patch);
    char *tok = ft_google_sign(key, c, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    int rc = google_verify(v, tok, verify_now, id, g_why, sizeof g_why);
    free(tok);
    free(c);
    return rc;
}

/* The verdict for claims patched with `patch`, signed properly with k1 and checked at g_now. */
static int verdict(const char *patch)
{
    struct google_verifier *v = fresh();
    struct google_identity id;
    int rc = sign_verify(v, g_k1, g_now, patch, g_now, &id);
    google_verifier_free(v);
    return rc;
}

static void test_google_valid_token_accepted(void)
{
    struct google_verifier *v = fresh();
    struct google_identity id;
    char *c = claims(g_now, NULL);
    char *tok = ft_google_sign(g_k1, c, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    CU_ASSERT_EQUAL(google_verify(v, tok, g_now, &id, g_why, sizeof g_why), GOOGLE_OK);
    CU_ASSERT_STRING_EQUAL(id.sub, "110169484474386276334");
    CU_ASSERT_STRING_EQUAL(id.email, "ann@example.com");
    CU_ASSERT_EQUAL(id.email_verified, 1);
    CU_ASSERT_STRING_EQUAL(id.name, "Test User");
    CU_ASSERT_STRING_EQUAL(id.picture, "https://lh3.googleusercontent.com/a/test-picture");
    /* the other issuer spelling Google uses */
    CU_ASSERT_EQUAL(verdict("{\"iss\":\"accounts.google.com\"}"), GOOGLE_OK);
    free(tok);
    free(c);
    google_verifier_free(v);
}

static void test_google_wrong_iss_rejected(void)
{
    CU_ASSERT_EQUAL(verdict("{\"iss\":\"https://evil.example.com\"}"), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "wrong iss");
    CU_ASSERT_EQUAL(verdict("{\"iss\":\"http://accounts.google.com\"}"), GOOGLE_EINVALID);
    CU_ASSERT_EQUAL(verdict("{\"iss\":null}"), GOOGLE_EINVALID);
}

static void test_google_wrong_aud_rejected(void)
{
    CU_ASSERT_EQUAL(verdict("{\"aud\":\"other-client.apps.googleusercontent.com\"}"),
                    GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "wrong aud");
    /* arrays are refused even when they name us */
    CU_ASSERT_EQUAL(verdict("{\"aud\":[\"" CLIENT "\"]}"), GOOGLE_EINVALID);
    CU_ASSERT_EQUAL(verdict("{\"aud\":null}"), GOOGLE_EINVALID);
}

static void test_google_expiry_and_leeway(void)
{
    char p[96];
    snprintf(p, sizeof p, "{\"iat\":%lld,\"exp\":%lld}", (long long)(g_now - 3600),
             (long long)(g_now - 29));
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_OK); /* expired 29 s ago: within the leeway */
    snprintf(p, sizeof p, "{\"iat\":%lld,\"exp\":%lld}", (long long)(g_now - 3600),
             (long long)(g_now - 30));
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "token expired");
    snprintf(p, sizeof p, "{\"iat\":%lld,\"exp\":%lld}", (long long)(g_now - 7200),
             (long long)(g_now - 3600));
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_EINVALID);
    CU_ASSERT_EQUAL(verdict("{\"exp\":null}"), GOOGLE_EINVALID);
    snprintf(p, sizeof p, "{\"exp\":\"%lld\"}", (long long)(g_now + 3600));
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_EINVALID); /* a string is not a NumericDate */
}

static void test_google_nbf_in_future_rejected(void)
{
    char p[64];
    snprintf(p, sizeof p, "{\"nbf\":%lld}", (long long)(g_now + 31));
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "nbf is in the future");
    snprintf(p, sizeof p, "{\"nbf\":%lld}", (long long)(g_now + 30));
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_OK);
}

static void test_google_iat_in_future_rejected(void)
{
    char p[64];
    snprintf(p, sizeof p, "{\"iat\":%lld}", (long long)(g_now + 31));
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "iat is in the future");
    snprintf(p, sizeof p, "{\"iat\":%lld}", (long long)(g_now + 30));
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_OK);
}

static void test_google_unknown_kid_rotation_and_refetch_limit(void)
{
    struct google_verifier *v = fresh();
    struct google_identity id;
    const struct ft_google_key *k2 = ft_google_server_add_key(g_srv, "rot-k2", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k2);
    int64_t t = g_now;
    int r0 = ft_google_server_requests(g_srv);

    CU_ASSERT_EQUAL(sign_verify(v, g_k1, t, NULL, t, &id), GOOGLE_OK);
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 1);

    /* k2 is not published yet: a refetch (the last one was 61 s ago) still does not know it */
    CU_ASSERT_EQUAL(sign_verify(v, k2, t + 61, NULL, t + 61, &id), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "unknown kid");
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 2);

    /* Google rotates: k2 appears. Within 60 s of the last fetch no request is made. */
    ft_google_server_publish(g_srv, "rot-k2", 1);
    CU_ASSERT_EQUAL(sign_verify(v, k2, t + 62, NULL, t + 62, &id), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "unknown kid");
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 2);

    /* 60 s later the unknown kid refetches and the token is accepted */
    CU_ASSERT_EQUAL(sign_verify(v, k2, t + 121, NULL, t + 121, &id), GOOGLE_OK);
    CU_ASSERT_STRING_EQUAL(id.sub, "110169484474386276334");
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 3);

    /* a second unknown kid within 60 s: refused without asking the server */
    char *c = claims(t + 130, NULL);
    char *tok = ft_google_sign(g_k1, c, "{\"kid\":\"no-such-kid\"}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    CU_ASSERT_EQUAL(google_verify(v, tok, t + 130, &id, g_why, sizeof g_why), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "unknown kid");
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 3);
    CU_ASSERT_STRING_EQUAL(id.sub, ""); /* nothing left over from the last success */

    /* both keys work from the cache */
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, t + 131, NULL, t + 131, &id), GOOGLE_OK);
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 3);
    free(tok);
    free(c);
    ft_google_server_publish(g_srv, "rot-k2", 0);
    google_verifier_free(v);
}

static void test_google_other_key_with_known_kid_rejected(void)
{
    const struct ft_google_key *k3 = ft_google_server_add_key(g_srv, "unpub-k3", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(k3);
    struct google_verifier *v = fresh();
    struct google_identity id;
    char *c = claims(g_now, NULL);
    char *tok = ft_google_sign(k3, c, "{\"kid\":\"k1\"}"); /* claims to be k1 */
    CU_ASSERT_EQUAL(google_verify(v, tok, g_now, &id, g_why, sizeof g_why), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "bad signature");
    free(tok);
    free(c);
    google_verifier_free(v);
}

/* Verifies n fresh tokens at times t0 + offs[i] and returns the number of fetches made. */
static int fetches(struct google_verifier *v, int64_t t0, const int64_t *offs, int n)
{
    struct google_identity id;
    int r0 = ft_google_server_requests(g_srv);
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(sign_verify(v, g_k1, t0 + offs[i], NULL, t0 + offs[i], &id), GOOGLE_OK);
    return ft_google_server_requests(g_srv) - r0;
}

static void test_google_keys_cached_for_max_age(void)
{
    /* max-age 3600: ten verifications, one fetch; the cache then expires */
    struct google_verifier *v = fresh();
    const int64_t ten[] = {0, 1, 2, 3, 5, 8, 13, 600, 1800, 3599};
    CU_ASSERT_EQUAL(fetches(v, g_now, ten, 10), 1);
    const int64_t at_expiry[] = {3600, 3601};
    CU_ASSERT_EQUAL(fetches(v, g_now, at_expiry, 2), 1);
    google_verifier_free(v);

    /* a short max-age is honoured */
    v = fresh();
    ft_google_server_set_max_age(g_srv, 120);
    const int64_t short_age[] = {0, 119, 120};
    CU_ASSERT_EQUAL(fetches(v, g_now, short_age, 3), 2);
    google_verifier_free(v);

    /* no Cache-Control: one hour */
    v = fresh();
    ft_google_server_set_max_age(g_srv, -1);
    const int64_t def[] = {0, 3599};
    CU_ASSERT_EQUAL(fetches(v, g_now, def, 2), 1);
    const int64_t def_exp[] = {3600};
    CU_ASSERT_EQUAL(fetches(v, g_now, def_exp, 1), 1);
    google_verifier_free(v);

    /* a huge max-age is capped at 24 h */
    v = fresh();
    ft_google_server_set_max_age(g_srv, 30 * 86400);
    const int64_t cap[] = {0, 86399};
    CU_ASSERT_EQUAL(fetches(v, g_now, cap, 2), 1);
    const int64_t cap_exp[] = {86400};
    CU_ASSERT_EQUAL(fetches(v, g_now, cap_exp, 1), 1);
    google_verifier_free(v);
}

static void test_google_hs256_with_public_key_rejected(void)
{
    char *c = claims(g_now, NULL);
    char *tok = ft_google_token_hs256(g_k1->public_pem, "k1", c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    /* The attack is real: libjwt alone accepts this token with the public PEM. */
    jwt_t *j = NULL;
    CU_ASSERT_EQUAL(
        jwt_decode(&j, tok, (const unsigned char *)g_k1->public_pem, (int)strlen(g_k1->public_pem)),
        0);
    jwt_free(j);

    struct google_verifier *v = fresh();
    struct google_identity id;
    CU_ASSERT_EQUAL(google_verify(v, tok, g_now, &id, g_why, sizeof g_why), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "token alg is not RS256");
    CU_ASSERT_STRING_EQUAL(id.sub, "");
    free(tok);
    free(c);
    google_verifier_free(v);
}

static void test_google_alg_none_rejected(void)
{
    char *c = claims(g_now, NULL);
    char *tok = ft_google_token_alg_none("k1", c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    CU_ASSERT_EQUAL(tok[strlen(tok) - 1], '.'); /* empty signature */
    jwt_t *j = NULL;
    CU_ASSERT_EQUAL(jwt_decode(&j, tok, NULL, 0), 0); /* libjwt alone would accept it */
    jwt_free(j);

    struct google_verifier *v = fresh();
    struct google_identity id;
    int r0 = ft_google_server_requests(g_srv);
    CU_ASSERT_EQUAL(google_verify(v, tok, g_now, &id, g_why, sizeof g_why), GOOGLE_EINVALID);
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0); /* refused before any key lookup */
    free(tok);
    free(c);
    google_verifier_free(v);
}

static void test_google_tampered_payload_rejected(void)
{
    char *c = claims(g_now, NULL);
    char *tok = ft_google_sign(g_k1, c, NULL);
    char *evil = claims(g_now, "{\"sub\":\"999999999999999999999\"}");
    char *bad = ft_google_token_tamper(tok, evil);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bad);
    struct google_verifier *v = fresh();
    struct google_identity id;
    CU_ASSERT_EQUAL(google_verify(v, tok, g_now, &id, g_why, sizeof g_why), GOOGLE_OK);
    CU_ASSERT_EQUAL(google_verify(v, bad, g_now, &id, g_why, sizeof g_why), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "bad signature");
    CU_ASSERT_STRING_EQUAL(id.sub, "");
    free(bad);
    free(evil);
    free(tok);
    free(c);
    google_verifier_free(v);
}

static void test_google_fintwin_access_token_rejected(void)
{
    char c[320];
    snprintf(c, sizeof c,
             "{\"sub\":\"6f1c1a4e-2b7d-4c1e-9a53-0d9e5b1f7c21\",\"iss\":\"fintwin\","
             "\"aud\":\"fintwin-api\",\"typ\":\"access\",\"jti\":"
             "\"0b8e5c9a-1d2f-4e3a-8b7c-6d5e4f3a2b1c\",\"iat\":%lld,\"exp\":%lld}",
             (long long)g_now, (long long)(g_now + 900));
    char *tok = ft_google_token_hs256("fintwin-test-secret-0123456789abcdef", NULL, c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    struct google_verifier *v = fresh();
    struct google_identity id;
    int r0 = ft_google_server_requests(g_srv);
    CU_ASSERT_EQUAL(google_verify(v, tok, g_now, &id, g_why, sizeof g_why), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "token alg is not RS256");
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0);
    free(tok);
    google_verifier_free(v);
}

static void test_google_missing_sub_rejected(void)
{
    CU_ASSERT_EQUAL(verdict("{\"sub\":null}"), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "sub missing or too long");
    CU_ASSERT_EQUAL(verdict("{\"sub\":\"\"}"), GOOGLE_EINVALID);
    CU_ASSERT_EQUAL(verdict("{\"sub\":12345}"), GOOGLE_EINVALID);
    char p[300];
    snprintf(p, sizeof p, "{\"sub\":\"%0256d\"}", 0); /* 256 characters */
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_EINVALID);
    snprintf(p, sizeof p, "{\"sub\":\"%0255d\"}", 0);
    CU_ASSERT_EQUAL(verdict(p), GOOGLE_OK);
}

static void test_google_optional_fields_sanitised(void)
{
    struct google_verifier *v = fresh();
    struct google_identity id;
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now, "{\"email_verified\":\"true\"}", g_now, &id),
                    GOOGLE_OK);
    CU_ASSERT_STRING_EQUAL(id.email, "ann@example.com");
    CU_ASSERT_EQUAL(id.email_verified, 0);
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now, "{\"email_verified\":1}", g_now, &id), GOOGLE_OK);
    CU_ASSERT_EQUAL(id.email_verified, 0);
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now, "{\"email\":null}", g_now, &id), GOOGLE_OK);
    CU_ASSERT_STRING_EQUAL(id.email, "");
    CU_ASSERT_EQUAL(id.email_verified, 0); /* no email, nothing verified */

    CU_ASSERT_EQUAL(
        sign_verify(v, g_k1, g_now, "{\"picture\":\"http://example.com/a.png\"}", g_now, &id),
        GOOGLE_OK);
    CU_ASSERT_STRING_EQUAL(id.picture, "");
    CU_ASSERT_EQUAL(
        sign_verify(v, g_k1, g_now, "{\"picture\":\"javascript:alert(1)\"}", g_now, &id),
        GOOGLE_OK);
    CU_ASSERT_STRING_EQUAL(id.picture, "");

    /* a long name is cut to 255 bytes without splitting a UTF-8 character */
    char p[1200] = "{\"name\":\"";
    for (int i = 0; i < 300; i++)
        strcat(p, "\xc3\xa9"); /* é, 2 bytes */
    strcat(p, "\"}");
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now, p, g_now, &id), GOOGLE_OK);
    CU_ASSERT_EQUAL(strlen(id.name), 254);
    CU_ASSERT_EQUAL((unsigned char)id.name[253], 0xa9);
    google_verifier_free(v);
}

static void test_google_key_server_failures(void)
{
    struct google_verifier *v = fresh();
    struct google_identity id;
    int r0 = ft_google_server_requests(g_srv);

    ft_google_server_set_mode(g_srv, FT_GOOGLE_SERVE_500);
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now, NULL, g_now, &id), GOOGLE_EKEYS);
    CU_ASSERT_STRING_EQUAL(g_why, "google keys fetch: HTTP 500");
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 1);
    /* right after a failure it fails fast instead of stalling every request */
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now + 1, NULL, g_now + 1, &id), GOOGLE_EKEYS);
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 1);

    ft_google_server_set_mode(g_srv, FT_GOOGLE_SERVE_GARBAGE);
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now + 20, NULL, g_now + 20, &id), GOOGLE_EKEYS);
    CU_ASSERT_STRING_EQUAL(g_why, "google keys: malformed JWKS");
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 2);

    /* recovery */
    ft_google_server_set_mode(g_srv, FT_GOOGLE_SERVE_JWKS);
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now + 40, NULL, g_now + 40, &id), GOOGLE_OK);
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0 + 3);
    google_verifier_free(v);

    /* nothing listening */
    int port = ft_free_port();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/certs", port);
    v = google_verifier_new(url, CLIENT);
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now, NULL, g_now, &id), GOOGLE_EKEYS);
    google_verifier_free(v);
}

static void test_google_no_client_id_is_config_error(void)
{
    struct google_verifier *v = google_verifier_new(ft_google_server_url(g_srv), "");
    struct google_identity id;
    int r0 = ft_google_server_requests(g_srv);
    CU_ASSERT_EQUAL(sign_verify(v, g_k1, g_now, NULL, g_now, &id), GOOGLE_ECONFIG);
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0);
    google_verifier_free(v);
}

static void test_google_oversized_token_rejected(void)
{
    char *pad = malloc(20 * 1024 + 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pad);
    int n = sprintf(pad, "{\"pad\":\"");
    memset(pad + n, 'a', 15 * 1024);
    strcpy(pad + n + 15 * 1024, "\"}");
    struct google_verifier *v = fresh();
    struct google_identity id;
    int r0 = ft_google_server_requests(g_srv);
    char *c = claims(g_now, pad);
    char *tok = ft_google_sign(g_k1, c, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    CU_ASSERT(strlen(tok) > 20 * 1024); /* 15 KiB of claims grow by a third in base64 */
    CU_ASSERT_EQUAL(google_verify(v, tok, g_now, &id, g_why, sizeof g_why), GOOGLE_EINVALID);
    CU_ASSERT_STRING_EQUAL(g_why, "token too long");
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0);
    free(tok);
    free(c);
    free(pad);
    google_verifier_free(v);
}

static void test_google_malformed_tokens_rejected(void)
{
    struct google_verifier *v = fresh();
    struct google_identity id;
    static const char *const bad[] = {
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0..c2ln",    /* empty payload */
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.",     /* empty signature */
        "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",                /* no kid */
        "eyJhbGciOiJSUzI1NiIsImtpZCI6MX0.e30.c2ln",     /* kid not a string */
        "eyJhbGciOiJSUzUxMiIsImtpZCI6ImsxIn0.e30.c2ln", /* RS512 */
        "bm90IGpzb24.e30.c2ln",                         /* header not JSON */
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.c2l=", /* padding */
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e 30.c2ln",
    };
    int r0 = ft_google_server_requests(g_srv);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        g_why[0] = '\0';
        CU_ASSERT_EQUAL(google_verify(v, bad[i], g_now, &id, g_why, sizeof g_why), GOOGLE_EINVALID);
        CU_ASSERT(g_why[0] != '\0');
    }
    CU_ASSERT_EQUAL(google_verify(v, NULL, g_now, &id, g_why, sizeof g_why), GOOGLE_EINVALID);
    CU_ASSERT_EQUAL(ft_google_server_requests(g_srv), r0);
    google_verifier_free(v);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("google", suite_init, suite_clean);
    if (!s)
        return 1;
    CU_ADD_TEST(s, test_google_valid_token_accepted);
    CU_ADD_TEST(s, test_google_wrong_iss_rejected);
    CU_ADD_TEST(s, test_google_wrong_aud_rejected);
    CU_ADD_TEST(s, test_google_expiry_and_leeway);
    CU_ADD_TEST(s, test_google_nbf_in_future_rejected);
    CU_ADD_TEST(s, test_google_iat_in_future_rejected);
    CU_ADD_TEST(s, test_google_unknown_kid_rotation_and_refetch_limit);
    CU_ADD_TEST(s, test_google_other_key_with_known_kid_rejected);
    CU_ADD_TEST(s, test_google_keys_cached_for_max_age);
    CU_ADD_TEST(s, test_google_hs256_with_public_key_rejected);
    CU_ADD_TEST(s, test_google_alg_none_rejected);
    CU_ADD_TEST(s, test_google_tampered_payload_rejected);
    CU_ADD_TEST(s, test_google_fintwin_access_token_rejected);
    CU_ADD_TEST(s, test_google_missing_sub_rejected);
    CU_ADD_TEST(s, test_google_optional_fields_sanitised);
    CU_ADD_TEST(s, test_google_key_server_failures);
    CU_ADD_TEST(s, test_google_no_client_id_is_config_error);
    CU_ADD_TEST(s, test_google_oversized_token_rejected);
    CU_ADD_TEST(s, test_google_malformed_tokens_rejected);
    return ft_cunit_run();
}
