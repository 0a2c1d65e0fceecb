/*
 * The auth worker end to end over AMQP: the real fintwin-auth consumes the real rpc.auth
 * queue and these tests play the gateway (envelope user and args.meta as it sends them),
 * checking replies, PostgreSQL rows (auth.users, auth.refresh_tokens, auth.outbox, read as
 * the admin through PG_URL) and Redis keys. Every test uses fresh emails and client
 * addresses, so tests are order-independent and can run twice against the same servers.
 * Only one auth worker consumes rpc.auth at a time, except in the concurrency test.
 */
#include <CUnit/Basic.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/sha.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ft_amqp.h"
#include "ft_google.h"
#include "ft_test.h"
#include "worker_test.h"
#include "proto/kvkeys.h"
#include "proto/token.h"
#include "proto/topology.h"
#include "proto/uuid.h"

#define WORKER     "auth"
#define TIMEOUT_MS 20000
#define SECRET     "test-secret-for-fintwin-auth-integration-0123456789"
#define CLIENT_ID  "fintwin-test.apps.googleusercontent.com"
#define PASSWORD   "correct horse battery"
/* The worker's AUTH_REGISTER_PER_IP here: every test signs up from 127.0.0.1. */
#define REGISTER_PER_IP 100000
#define STR_(x)         #x
#define STR(x)          STR_(x)

static struct ft_amqp *a;
static PGconn *pg;
static redisContext *kv;
static pid_t worker;
static char log_path[256];
static char db_url[1024];
static struct ft_google_server *google;
static const struct ft_google_key *gkey;

struct session {
    int status;
    char access[PROTO_TOKEN_MAX + 1];
    char refresh[128];
    char user_id[PROTO_UUID_LEN + 1];
    char jti[PROTO_UUID_LEN + 1];
    int64_t exp;
};

/* ---- setup ---- */

/* postgresql://fintwin_auth:<FT_DB_ROLE_PASSWORD>@<host:port of PG_URL>/fintwin */
static pid_t spawn_auth(const char *redis_url)
{
    char db[1100], redis[600], certs[300];
    snprintf(db, sizeof db, "DATABASE_URL=%s", db_url);
    snprintf(redis, sizeof redis, "REDIS_URL=%s", redis_url);
    snprintf(certs, sizeof certs, "GOOGLE_CERTS_URL=%s",
             google ? ft_google_server_url(google) : "http://127.0.0.1:9/certs");
    char *env[] = {db,
                   redis,
                   certs,
                   "GOOGLE_CLIENT_ID=" CLIENT_ID,
                   "JWT_SECRET=" SECRET,
                   "WK_PREFETCH=1",
                   "AUTH_REGISTER_PER_IP=" STR(REGISTER_PER_IP),
                   "WK_RELAY_INTERVAL_MS=50",
                   "LOG_LEVEL=debug",
                   NULL};
    char *argv[] = {"fintwin-auth", NULL};
    return ft_spawn(ft_bin("fintwin-auth"), argv, env, log_path);
}

static int wait_ready(void)
{
    return wt_ready(a, WORKER, TIMEOUT_MS);
}

static int suite_init(void)
{
    wt_log_path("test_auth", log_path, sizeof log_path);
    if (wt_role_db_url(WORKER, db_url, sizeof db_url) != 0 || wt_connect(WORKER, &a, &pg) != 0)
        return -1;
    char host[256];
    int port = 6379;
    if (sscanf(ft_env("REDIS_URL", ""), "redis://%255[^:/]:%d", host, &port) < 1)
        return -1;
    kv = redisConnect(host, port);
    if (!kv || kv->err)
        return -1;
    google = ft_google_server_start();
    if (!google || !(gkey = ft_google_server_add_key(google, "k1", 1)))
        return -1;
    worker = spawn_auth(ft_env("REDIS_URL", ""));
    return worker > 0 && wait_ready() ? 0 : -1;
}

static int suite_clean(void)
{
    if (worker > 0)
        ft_stop(worker, SIGTERM, 10000);
    wt_log_done(log_path);
    ft_google_server_stop(google);
    if (kv)
        redisFree(kv);
    PQfinish(pg);
    ft_amqp_close(a);
    return 0;
}

/* ---- helpers ---- */

static void fresh_email(char *out, size_t size)
{
    char u[PROTO_UUID_LEN + 1];
    proto_uuid_v4(u);
    snprintf(out, size, "User.%.12s@Example.COM", u);
}

static void fresh_ip(char *out, size_t size)
{
    unsigned char b[3];
    char u[PROTO_UUID_LEN + 1];
    proto_uuid_v4(u);
    for (int i = 0; i < 3; i++)
        b[i] = (unsigned char)strtoul((char[]){u[2 * i], u[2 * i + 1], 0}, NULL, 16);
    snprintf(out, size, "10.%u.%u.%u", b[0], b[1], b[2]);
}

static void meta_ip(char *out, size_t size, const char *ip)
{
    snprintf(out, size, "{\"ip\":\"%s\"}", ip);
}

static void meta_session(char *out, size_t size, const struct session *s)
{
    snprintf(out, size, "{\"ip\":\"127.0.0.1\",\"jti\":\"%s\",\"token_exp\":%lld}", s->jti,
             (long long)s->exp);
}

static int call(const char *method, const char *user, const char *meta, const char *body,
                struct ft_reply *r)
{
    int got = ft_amqp_call_as(a, WORKER, method, user, meta, body, TIMEOUT_MS, r);
    CU_ASSERT_EQUAL(got, 1);
    return got == 1 ? r->status : -1;
}

static const char *jstr(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Reads {ft_token, refresh_token, expires_in, user} into s, checking the access token. */
static void read_session(const struct ft_reply *r, struct session *s)
{
    memset(s, 0, sizeof *s);
    s->status = r->status;
    if (r->is_error || !r->body_json)
        return;
    json_t *j = json_loads(r->body_json, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    snprintf(s->access, sizeof s->access, "%s", jstr(j, "ft_token"));
    snprintf(s->refresh, sizeof s->refresh, "%s", jstr(j, "refresh_token"));
    snprintf(s->user_id, sizeof s->user_id, "%s", jstr(json_object_get(j, "user"), "id"));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "expires_in")), 900);
    json_decref(j);
    struct proto_token_keys keys = {SECRET, strlen(SECRET), "fintwin", "fintwin-api"};
    struct proto_token_claims c;
    CU_ASSERT_EQUAL_FATAL(
        proto_token_verify(&keys, s->access, strlen(s->access), (int64_t)time(NULL), &c), 0);
    CU_ASSERT_STRING_EQUAL(c.sub, s->user_id);
    snprintf(s->jti, sizeof s->jti, "%s", c.jti);
    s->exp = c.exp;
}

static int register_named(const char *email, const char *password, const char *name,
                          struct session *s)
{
    char body[1024];
    struct ft_reply r;
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\",\"full_name\":\"%s\"}",
             email, password, name);
    call("auth.register", NULL, "{\"ip\":\"127.0.0.1\"}", body, &r);
    read_session(&r, s);
    ft_reply_free(&r);
    return s->status;
}

static int register_user(const char *email, const char *password, struct session *s)
{
    return register_named(email, password, "Test User", s);
}

static int login(const char *email, const char *password, const char *ip, struct ft_reply *r)
{
    char body[1024], meta[128];
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\"}", email, password);
    meta_ip(meta, sizeof meta, ip);
    return call("auth.login", NULL, meta, body, r);
}

static int refresh(const char *token, struct ft_reply *r)
{
    char body[256];
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", token);
    return call("auth.refresh", NULL, "{\"ip\":\"127.0.0.1\"}", body, r);
}

/* One value from the admin connection ("" for no row / NULL, "<error>" on failure). */
static void sql1(char *out, size_t size, const char *sql, const char *p1)
{
    const char *params[] = {p1};
    PGresult *res = PQexecParams(pg, sql, p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        snprintf(out, size, "<error: %s>", PQresultErrorMessage(res));
    else if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0))
        snprintf(out, size, "%s", "");
    else
        snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
}

static void sha256_hex(const char *s, char out[65])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, strlen(s), md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void expect_error(const char *method, const char *user, const char *body, int status,
                         const char *code)
{
    struct ft_reply r;
    call(method, user, "{\"ip\":\"127.0.0.1\"}", body, &r);
    CU_ASSERT_EQUAL(r.status, status);
    CU_ASSERT_TRUE(r.is_error);
    CU_ASSERT_STRING_EQUAL(r.code, code);
    if (r.status != status || strcmp(r.code, code) != 0)
        fprintf(stderr, "\n  %s %s: got %d %s, want %d %s\n", method, body ? body : "(nil)",
                r.status, r.code, status, code);
    ft_reply_free(&r);
}

/* ---- register ---- */

static void test_auth_register_answers_session_and_stores_argon2id(void)
{
    char email[128], want_email[128], v[512];
    struct session s;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    char body[512];
    snprintf(body, sizeof body,
             "{\"email\":\"  %s \",\"password\":\"" PASSWORD "\",\"full_name\":\" Ada Lovelace "
             "\",\"extra\":[1,2]}",
             email);
    CU_ASSERT_EQUAL_FATAL(call("auth.register", NULL, "{\"ip\":\"127.0.0.1\"}", body, &r), 201);
    read_session(&r, &s);
    CU_ASSERT_TRUE(proto_uuid_valid(s.user_id));
    CU_ASSERT_EQUAL(strlen(s.refresh), 43);
    json_t *j = json_loads(r.body_json, 0, NULL);
    json_t *u = json_object_get(j, "user");
    /* The local part keeps its case, the domain is lowercased. */
    snprintf(want_email, sizeof want_email, "%.*s@example.com", (int)strcspn(email, "@"), email);
    CU_ASSERT_STRING_EQUAL(jstr(u, "email"), want_email);
    CU_ASSERT_STRING_EQUAL(jstr(u, "full_name"), "Ada Lovelace");
    CU_ASSERT_EQUAL(json_object_size(u), 12);
    const char *nulls[] = {
        "picture",        "account_name",   "phone_number",  "currency_preference",
        "monthly_income", "financial_goal", "risk_appetite", "default_account_id"};
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        CU_ASSERT_TRUE(json_is_null(json_object_get(u, nulls[i])));
    CU_ASSERT_TRUE(json_is_false(json_object_get(u, "is_profile_complete")));
    json_decref(j);
    ft_reply_free(&r);

    sql1(v, sizeof v, "SELECT password_hash FROM auth.users WHERE id = $1", s.user_id);
    CU_ASSERT_EQUAL(strncmp(v, "$argon2id$v=19$m=19456,t=2,p=1$", 31), 0);
    sql1(v, sizeof v, "SELECT email_norm FROM auth.users WHERE id = $1", s.user_id);
    for (char *p = want_email; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    CU_ASSERT_STRING_EQUAL(v, want_email);
    /* Only the refresh token's hash is stored, next to the access token's jti. */
    char hash[65];
    sha256_hex(s.refresh, hash);
    sql1(v, sizeof v,
         "SELECT access_jti::text FROM auth.refresh_tokens WHERE token_hash = decode($1, 'hex')",
         hash);
    CU_ASSERT_STRING_EQUAL(v, s.jti);
    sql1(v, sizeof v, "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1", s.user_id);
    CU_ASSERT_STRING_EQUAL(v, "1");
    /* the ledger learns of the user in the same transaction (it opens their account) */
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || min(data->>'user_id') FROM auth.outbox "
         "WHERE type = 'user.registered' AND user_id = $1",
         s.user_id);
    char want[64];
    snprintf(want, sizeof want, "1:%s", s.user_id);
    CU_ASSERT_STRING_EQUAL(v, want);
}

struct me_wait {
    const char *user, *needle;
};

static int inbox_has(void *id)
{
    char v[32];
    sql1(v, sizeof v, "SELECT count(*) FROM auth.inbox WHERE event_id = $1", id);
    return strcmp(v, "1") == 0;
}

static int me_shows(void *arg)
{
    struct me_wait *w = arg;
    struct ft_reply r;
    int ok = call("auth.me", w->user, NULL, NULL, &r) == 200 && r.body_json &&
             strstr(r.body_json, w->needle);
    ft_reply_free(&r);
    return ok;
}

/* Sign-ups are counted per client address (ft:register:ip:<ip>, an hour's window): over
 * AUTH_REGISTER_PER_IP the answer is 429 with Retry-After, before any hashing or writing. */
static void test_auth_register_throttled_per_ip(void)
{
    char ip[32], email[128], body[512], meta[96], key[96], v[64];
    fresh_ip(ip, sizeof ip);
    snprintf(key, sizeof key, "ft:register:ip:%s", ip);
    redisReply *rr = redisCommand(kv, "SET %s %d EX 3600", key, REGISTER_PER_IP);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rr);
    freeReplyObject(rr);
    fresh_email(email, sizeof email);
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"password\":\"" PASSWORD "\",\"full_name\":\"Flood\"}", email);
    meta_ip(meta, sizeof meta, ip);
    struct ft_reply r;
    CU_ASSERT_EQUAL(call("auth.register", NULL, meta, body, &r), 429);
    CU_ASSERT_STRING_EQUAL(r.code, "too_many_registrations");
    CU_ASSERT(r.headers_json && strstr(r.headers_json, "\"Retry-After\":\""));
    ft_reply_free(&r);
    sql1(v, sizeof v, "SELECT count(*) FROM auth.users WHERE email_norm = lower($1)", email);
    CU_ASSERT_STRING_EQUAL(v, "0");
    /* another address is not affected, and its sign-up is counted */
    char ip2[32];
    fresh_ip(ip2, sizeof ip2);
    meta_ip(meta, sizeof meta, ip2);
    CU_ASSERT_EQUAL(call("auth.register", NULL, meta, body, &r), 201);
    ft_reply_free(&r);
    snprintf(key, sizeof key, "ft:register:ip:%s", ip2);
    rr = redisCommand(kv, "GET %s", key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rr);
    CU_ASSERT(rr->type == REDIS_REPLY_STRING && strcmp(rr->str, "1") == 0);
    freeReplyObject(rr);
}

static int redis_has(void *key)
{
    redisReply *rr = redisCommand(kv, "EXISTS %s", (const char *)key);
    int yes = rr && rr->type == REDIS_REPLY_INTEGER && rr->integer == 1;
    if (rr)
        freeReplyObject(rr);
    return yes;
}

/* A logout is recorded in PostgreSQL; when Redis loses its keys (a restart without
 * persistence, or a flush: the seeded marker goes with them), the auth worker puts the
 * revocation back, with its remaining lifetime, and then the marker. */
static void test_auth_revocation_survives_redis_losing_its_keys(void)
{
    char email[128], meta[256], key[128];
    struct session s;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    meta_session(meta, sizeof meta, &s);
    CU_ASSERT_EQUAL(call("auth.logout", s.user_id, meta, NULL, &r), 204);
    ft_reply_free(&r);
    /* recorded until the token's exp plus the gateway's 30 s leeway */
    char exp_text[32];
    snprintf(exp_text, sizeof exp_text, "%lld", (long long)s.exp + 30);
    const char *p[] = {s.jti, exp_text};
    PGresult *res = PQexecParams(pg,
                                 "SELECT user_id || ':' || (abs(extract(epoch FROM expires_at) - "
                                 "$2::bigint) <= 2) FROM auth.revoked_tokens WHERE jti = $1",
                                 2, NULL, p, NULL, NULL, 0);
    CU_ASSERT_EQUAL_FATAL(PQresultStatus(res), PGRES_TUPLES_OK);
    char want[64];
    snprintf(want, sizeof want, "%s:true", s.user_id);
    CU_ASSERT_STRING_EQUAL(PQntuples(res) ? PQgetvalue(res, 0, 0) : "", want);
    PQclear(res);

    /* What a restart leaves: neither the marker nor the key. */
    snprintf(key, sizeof key, PROTO_KV_DENY_PREFIX "%s", s.jti);
    redisReply *rr = redisCommand(kv, "DEL %s %s", PROTO_KV_DENY_SEEDED, key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rr);
    freeReplyObject(rr);
    CU_ASSERT(ft_wait_until(redis_has, PROTO_KV_DENY_SEEDED, TIMEOUT_MS));
    CU_ASSERT(redis_has(key)); /* put back before the marker */
    rr = redisCommand(kv, "TTL %s", key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rr);
    CU_ASSERT(rr->integer > 800 && rr->integer <= 900 + 30);
    freeReplyObject(rr);
}

/* The ledger's account.default_ready names the user's default account for auth.me. */
static void test_auth_default_account_from_the_ledger(void)
{
    char email[128], id[PROTO_UUID_LEN + 1], acc[PROTO_UUID_LEN + 1], data[256], needle[128];
    struct session s;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    proto_uuid_v4(acc);
    snprintf(data, sizeof data,
             "{\"user_id\":\"%s\",\"account_id\":\"%s\",\"currency\":\"USD\","
             "\"first_completion\":false}",
             s.user_id, acc);
    proto_uuid_v4(id);
    wt_publish_event(a, "account.default_ready", id, s.user_id, data);
    snprintf(needle, sizeof needle, "\"default_account_id\":\"%s\"", acc);
    struct me_wait w = {s.user_id, needle};
    CU_ASSERT(ft_wait_until(me_shows, &w, TIMEOUT_MS));
    /* events that name this user under another envelope user, or another user, change
     * nothing of this one's */
    char other[PROTO_UUID_LEN + 1], v[128], ids[2][PROTO_UUID_LEN + 1];
    proto_uuid_v4(other);
    snprintf(data, sizeof data, "{\"user_id\":\"%s\",\"account_id\":\"%s\"}", s.user_id, other);
    proto_uuid_v4(ids[0]);
    wt_publish_event(a, "account.default_ready", ids[0], other, data);
    snprintf(data, sizeof data, "{\"user_id\":\"%s\",\"account_id\":\"%s\"}", other, other);
    proto_uuid_v4(ids[1]);
    wt_publish_event(a, "account.default_ready", ids[1], other, data);
    for (int i = 0; i < 2; i++)
        CU_ASSERT(ft_wait_until(inbox_has, ids[i], TIMEOUT_MS));
    sql1(v, sizeof v, "SELECT default_account_id FROM auth.users WHERE id = $1", s.user_id);
    CU_ASSERT_STRING_EQUAL(v, acc);
}

static void test_auth_register_duplicate_email_is_409(void)
{
    char email[128], upper[128];
    struct session s;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    /* Uniqueness ignores case in the whole address. */
    snprintf(upper, sizeof upper, "%s", email);
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    char body[512];
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"password\":\"another password\",\"full_name\":\"X\"}", upper);
    expect_error("auth.register", NULL, body, 409, "email_taken");
}

static void test_auth_register_validates_every_field(void)
{
    char email[128], body[2048], long_email[300], long_name[200], pw129[200];
    fresh_email(email, sizeof email);
    memset(long_email, 'a', 250);
    snprintf(long_email + 250, sizeof long_email - 250, "@x.io"); /* 255 bytes */
    memset(long_name, 'n', 101);
    long_name[101] = '\0';
    memset(pw129, 'p', 129);
    pw129[129] = '\0';

    expect_error("auth.register", NULL, NULL, 400, "invalid_body");
    expect_error("auth.register", NULL, "[1]", 400, "invalid_body");
    expect_error("auth.register", NULL, "\"x\"", 400, "invalid_body");

    const char *bad_emails[] = {"\"no-at.example.com\"",
                                "\"a@b\"",
                                "\"a@@b.com\"",
                                "\"a b@c.com\"",
                                "\"@example.com\"",
                                "\"a@.com\"",
                                "\"a@example..com\"",
                                "42",
                                "null"};
    for (size_t i = 0; i < sizeof bad_emails / sizeof bad_emails[0]; i++) {
        snprintf(body, sizeof body,
                 "{\"email\":%s,\"password\":\"" PASSWORD "\",\"full_name\":\"X\"}", bad_emails[i]);
        expect_error("auth.register", NULL, body, 422, "invalid_email");
    }
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"password\":\"" PASSWORD "\",\"full_name\":\"X\"}", long_email);
    expect_error("auth.register", NULL, body, 422, "invalid_email");
    snprintf(body, sizeof body, "{\"password\":\"" PASSWORD "\",\"full_name\":\"X\"}");
    expect_error("auth.register", NULL, body, 422, "invalid_email");

    /* 7 code points (14 bytes) is too short; 129 is too long; a number is not a password. */
    const char *bad_pw[] = {"\"short\"",
                            "\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"",
                            "12345678", "null"};
    for (size_t i = 0; i < sizeof bad_pw / sizeof bad_pw[0]; i++) {
        snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":%s,\"full_name\":\"X\"}", email,
                 bad_pw[i]);
        expect_error("auth.register", NULL, body, 422, "invalid_password");
    }
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"%s\",\"full_name\":\"X\"}", email,
             pw129);
    expect_error("auth.register", NULL, body, 422, "invalid_password");

    const char *bad_names[] = {"\"\"", "\"   \"", "\"a\\u0001b\"", "7", "null"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        snprintf(body, sizeof body,
                 "{\"email\":\"%s\",\"password\":\"" PASSWORD "\",\"full_name\":%s}", email,
                 bad_names[i]);
        expect_error("auth.register", NULL, body, 422, "invalid_full_name");
    }
    snprintf(body, sizeof body,
             "{\"email\":\"%s\",\"password\":\"" PASSWORD "\",\"full_name\":\"%s\"}", email,
             long_name);
    expect_error("auth.register", NULL, body, 422, "invalid_full_name");

    /* Nothing above created the account. */
    char v[64];
    char norm[128];
    snprintf(norm, sizeof norm, "%s", email);
    for (char *p = norm; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    sql1(v, sizeof v, "SELECT count(*) FROM auth.users WHERE email_norm = $1", norm);
    CU_ASSERT_STRING_EQUAL(v, "0");
}

/* Passwords are counted in code points and never truncated: 128 two-byte characters are
 * accepted, and a password differing only in its last character does not match. */
static void test_auth_register_long_multibyte_password_is_exact(void)
{
    char email[128], pw[600], other[600], ip[32];
    struct session s;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    fresh_ip(ip, sizeof ip);
    pw[0] = '\0';
    for (int i = 0; i < 128; i++)
        strcat(pw, "\xc3\xa9");
    snprintf(other, sizeof other, "%s", pw);
    other[strlen(other) - 1] = '\xa8'; /* last é -> è */
    CU_ASSERT_EQUAL_FATAL(register_user(email, pw, &s), 201);
    CU_ASSERT_EQUAL(login(email, other, ip, &r), 401);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(login(email, pw, ip, &r), 200);
    ft_reply_free(&r);
}

/* ---- login ---- */

static void test_auth_login_ok_and_identical_failures(void)
{
    char email[128], messy[160], ip[32], unknown[128];
    struct session s, l;
    struct ft_reply r, wrong, missing;
    fresh_email(email, sizeof email);
    fresh_ip(ip, sizeof ip);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);

    /* Any case of the address and surrounding spaces find the account. */
    snprintf(messy, sizeof messy, " %s ", email);
    for (char *p = messy; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    CU_ASSERT_EQUAL(login(messy, PASSWORD, ip, &r), 200);
    read_session(&r, &l);
    CU_ASSERT_STRING_EQUAL(l.user_id, s.user_id);
    CU_ASSERT_STRING_NOT_EQUAL(l.refresh, s.refresh);
    ft_reply_free(&r);

    fresh_email(unknown, sizeof unknown);
    CU_ASSERT_EQUAL(login(email, "wrong password", ip, &wrong), 401);
    CU_ASSERT_EQUAL(login(unknown, "wrong password", ip, &missing), 401);
    CU_ASSERT_STRING_EQUAL(wrong.code, "invalid_credentials");
    CU_ASSERT_STRING_EQUAL(missing.code, wrong.code);
    CU_ASSERT_STRING_EQUAL(missing.message, wrong.message);
    CU_ASSERT_EQUAL(missing.headers_json == NULL, wrong.headers_json == NULL);
    ft_reply_free(&wrong);
    ft_reply_free(&missing);

    expect_error("auth.login", NULL, "[]", 400, "invalid_body");
    expect_error("auth.login", NULL, "{\"password\":\"x\"}", 422, "invalid_email");
    char body[256];
    snprintf(body, sizeof body, "{\"email\":\"%s\"}", email);
    expect_error("auth.login", NULL, body, 422, "invalid_password");
}

static long retry_after(const struct ft_reply *r)
{
    const char *h = r->headers_json ? strstr(r->headers_json, "\"Retry-After\":\"") : NULL;
    return h ? strtol(h + 15, NULL, 10) : -1;
}

static void test_auth_login_throttles_per_account(void)
{
    char email[128], ip[32];
    struct session s;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    for (int i = 0; i < 10; i++) {
        fresh_ip(ip, sizeof ip); /* a different address each time: only the account counts */
        CU_ASSERT_EQUAL(login(email, "wrong password", ip, &r), 401);
        ft_reply_free(&r);
    }
    fresh_ip(ip, sizeof ip);
    CU_ASSERT_EQUAL(login(email, PASSWORD, ip, &r), 429); /* even the right password */
    CU_ASSERT_STRING_EQUAL(r.code, "too_many_attempts");
    long ra = retry_after(&r);
    CU_ASSERT(ra >= 1 && ra <= 900);
    ft_reply_free(&r);
}

static void test_auth_login_throttles_per_ip(void)
{
    char email[128], ip[32];
    struct session s;
    struct ft_reply r;
    fresh_ip(ip, sizeof ip);
    for (int i = 0; i < 10; i++) {
        fresh_email(email, sizeof email); /* a different (unknown) account each time */
        CU_ASSERT_EQUAL(login(email, "wrong password", ip, &r), 401);
        ft_reply_free(&r);
    }
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    CU_ASSERT_EQUAL(login(email, PASSWORD, ip, &r), 429);
    CU_ASSERT_STRING_EQUAL(r.code, "too_many_attempts");
    long ra = retry_after(&r);
    CU_ASSERT(ra >= 1 && ra <= 900);
    ft_reply_free(&r);
    /* Another address is not affected. */
    fresh_ip(ip, sizeof ip);
    CU_ASSERT_EQUAL(login(email, PASSWORD, ip, &r), 200);
    ft_reply_free(&r);
}

/* ---- refresh ---- */

static void test_auth_refresh_rotates_and_reuse_revokes_family(void)
{
    char email[128], v[64];
    struct session s, n;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);

    CU_ASSERT_EQUAL_FATAL(refresh(s.refresh, &r), 200);
    read_session(&r, &n);
    ft_reply_free(&r);
    CU_ASSERT_STRING_EQUAL(n.user_id, s.user_id);
    CU_ASSERT_STRING_NOT_EQUAL(n.refresh, s.refresh);
    CU_ASSERT_STRING_NOT_EQUAL(n.jti, s.jti);

    /* The spent token again: reuse, and the whole chain dies, the new token included. */
    CU_ASSERT_EQUAL(refresh(s.refresh, &r), 401);
    CU_ASSERT_STRING_EQUAL(r.code, "refresh_token_reused");
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(refresh(n.refresh, &r), 401);
    CU_ASSERT_STRING_EQUAL(r.code, "refresh_token_reused");
    ft_reply_free(&r);
    sql1(v, sizeof v,
         "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL",
         s.user_id);
    CU_ASSERT_STRING_EQUAL(v, "0");
    sql1(v, sizeof v,
         "SELECT count(DISTINCT family_id) FROM auth.refresh_tokens WHERE user_id = $1", s.user_id);
    CU_ASSERT_STRING_EQUAL(v, "1");

    expect_error("auth.refresh", NULL,
                 "{\"refresh_token\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", 401,
                 "invalid_refresh_token");
    expect_error("auth.refresh", NULL, "{\"refresh_token\":\"not-a-token\"}", 401,
                 "invalid_refresh_token");
    expect_error("auth.refresh", NULL, "{}", 422, "invalid_refresh_token");
    expect_error("auth.refresh", NULL, "null", 400, "invalid_body");
}

static void test_auth_refresh_expired_is_invalid(void)
{
    char email[128], hash[65], v[64];
    struct session s;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    sha256_hex(s.refresh, hash);
    sql1(v, sizeof v,
         "WITH u AS (UPDATE auth.refresh_tokens SET expires_at = now() - interval '1 s' "
         "WHERE token_hash = decode($1, 'hex') RETURNING 1) SELECT count(*) FROM u",
         hash);
    CU_ASSERT_STRING_EQUAL(v, "1");
    char body[256];
    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", s.refresh);
    expect_error("auth.refresh", NULL, body, 401, "invalid_refresh_token");

    /* The next sign-in removes the user's expired tokens; the new one stays. */
    struct ft_reply r;
    char ip[32];
    fresh_ip(ip, sizeof ip);
    CU_ASSERT_EQUAL(login(email, PASSWORD, ip, &r), 200);
    ft_reply_free(&r);
    sql1(v, sizeof v,
         "SELECT count(*) FROM auth.refresh_tokens WHERE token_hash = decode($1, 'hex')", hash);
    CU_ASSERT_STRING_EQUAL(v, "0");
    sql1(v, sizeof v,
         "SELECT count(*) FROM auth.refresh_tokens t JOIN auth.users u ON u.id = t.user_id "
         "WHERE u.email_norm = lower($1) AND t.expires_at > now()",
         email);
    CU_ASSERT_STRING_EQUAL(v, "1");
}

/* Refresh tokens are stored only as their SHA-256: no column of any row holds the token. */
static void test_auth_refresh_tokens_stored_only_hashed(void)
{
    char email[128], v[64];
    struct session s;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    CU_ASSERT(strlen(s.refresh) >= 32);
    sql1(v, sizeof v,
         "SELECT count(*) || ':' || min(octet_length(token_hash)) FROM auth.refresh_tokens "
         "WHERE user_id = $1",
         s.user_id);
    CU_ASSERT_STRING_EQUAL(v, "1:32");
    /* The whole table as text (bytea prints as hex), searched for the token and its bytes. */
    sql1(v, sizeof v,
         "SELECT count(*) FROM auth.refresh_tokens t WHERE strpos(t::text, $1) > 0 "
         "OR strpos(t::text, encode(convert_to($1, 'UTF8'), 'hex')) > 0",
         s.refresh);
    CU_ASSERT_STRING_EQUAL(v, "0");
}

/* Eight refreshes of one token at once, served by two worker processes: exactly one
 * rotates it (SELECT ... FOR UPDATE), the others see a spent token. */
static void test_auth_refresh_concurrent_exactly_one_wins(void)
{
    char email[128], ids[8][64], body[256];
    struct session s;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    pid_t second = spawn_auth(ft_env("REDIS_URL", ""));
    CU_ASSERT_FATAL(second > 0);
    /* Both consume rpc.auth before the refreshes go out (prefetch 1 spreads the load). */
    CU_ASSERT_FATAL(wt_consumers(a, WORKER, 2, TIMEOUT_MS));

    snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", s.refresh);
    for (int i = 0; i < 8; i++) {
        ft_rand_name(ids[i], sizeof ids[i], "conc-");
        CU_ASSERT_EQUAL(
            ft_amqp_request_as(a, WORKER, ids[i], "auth.refresh", NULL, NULL, body, TIMEOUT_MS), 0);
    }
    int ok = 0, reused = 0;
    for (int i = 0; i < 8; i++) {
        struct ft_reply r;
        CU_ASSERT_EQUAL(ft_amqp_wait_reply(a, ids[i], TIMEOUT_MS, &r), 1);
        if (r.status == 200)
            ok++;
        else if (r.status == 401 && strcmp(r.code, "refresh_token_reused") == 0)
            reused++;
        ft_reply_free(&r);
    }
    CU_ASSERT_EQUAL(ok, 1);
    CU_ASSERT_EQUAL(reused, 7);
    const pid_t pids[2] = {worker, second};
    wt_assert_served_by_both(log_path, "conc-", pids, 8, TIMEOUT_MS); /* both raced for it */
    ft_stop(second, SIGTERM, 10000);
}

/* ---- logout ---- */

static void test_auth_logout_revokes_session_and_denies_token(void)
{
    char email[128], meta[256], key[128], ip[32], v[64];
    struct session s, other;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    fresh_ip(ip, sizeof ip);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    CU_ASSERT_EQUAL_FATAL(login(email, PASSWORD, ip, &r), 200); /* a second session */
    read_session(&r, &other);
    ft_reply_free(&r);
    /* What the gateway hears on ft.live for this user. */
    char live_key[64], live_tag[64];
    snprintf(live_key, sizeof live_key, "user.%s", s.user_id);
    snprintf(live_tag, sizeof live_tag, "live-%.8s", s.user_id);
    CU_ASSERT_EQUAL_FATAL(ft_amqp_bind_temp(a, PROTO_EX_LIVE, live_key, live_tag), 0);

    meta_session(meta, sizeof meta, &s);
    CU_ASSERT_EQUAL(call("auth.logout", s.user_id, meta, NULL, &r), 204);
    CU_ASSERT_FALSE(r.is_error);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "", "null");
    ft_reply_free(&r);

    /* The gateway is told to close this user's sockets: type "close", code and reason. */
    struct ft_msg m;
    CU_ASSERT_EQUAL_FATAL(ft_amqp_wait_msg(a, live_tag, TIMEOUT_MS, &m), 1);
    CU_ASSERT_STRING_EQUAL(m.type, "close");
    CU_ASSERT_STRING_EQUAL(m.content_type, "application/json");
    CU_ASSERT_EQUAL(m.delivery_mode, 1);
    CU_ASSERT_STRING_EQUAL(m.body, "{\"code\":1008,\"reason\":\"logged out\"}");
    ft_msg_free(&m);

    snprintf(key, sizeof key, "ft:deny:%s", s.jti);
    redisReply *rr = redisCommand(kv, "GET %s", key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rr);
    CU_ASSERT_EQUAL(rr->type, REDIS_REPLY_STRING);
    freeReplyObject(rr);
    rr = redisCommand(kv, "TTL %s", key);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rr);
    CU_ASSERT(rr->integer > 0 && rr->integer <= 900 + 30);
    freeReplyObject(rr);

    /* This session's refresh chain is dead; the other session is untouched. */
    char hash[65];
    sha256_hex(s.refresh, hash);
    sql1(v, sizeof v,
         "SELECT revoked_at IS NOT NULL FROM auth.refresh_tokens WHERE token_hash = "
         "decode($1, 'hex')",
         hash);
    CU_ASSERT_STRING_EQUAL(v, "t");
    CU_ASSERT_EQUAL(refresh(s.refresh, &r), 401);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(refresh(other.refresh, &r), 200);
    ft_reply_free(&r);

    /* No verified user: refused. */
    expect_error("auth.logout", NULL, NULL, 401, "unauthenticated");
}

/* ---- me, profile ---- */

static void test_auth_me_returns_only_the_callers_user(void)
{
    char ea[128], eb[128], nobody[PROTO_UUID_LEN + 1];
    struct session sa, sb;
    struct ft_reply r;
    fresh_email(ea, sizeof ea);
    fresh_email(eb, sizeof eb);
    CU_ASSERT_EQUAL_FATAL(register_user(ea, PASSWORD, &sa), 201);
    CU_ASSERT_EQUAL_FATAL(register_user(eb, PASSWORD, &sb), 201);

    CU_ASSERT_EQUAL(call("auth.me", sa.user_id, NULL, NULL, &r), 200);
    json_t *j = json_loads(r.body_json ? r.body_json : "", 0, NULL);
    CU_ASSERT_STRING_EQUAL(jstr(j, "id"), sa.user_id);
    json_decref(j);
    ft_reply_free(&r);

    /* B asking, even with A's id in the body and query, gets B. */
    char body[128];
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"user_id\":\"%s\"}", sa.user_id, sa.user_id);
    CU_ASSERT_EQUAL(call("auth.me", sb.user_id, NULL, body, &r), 200);
    j = json_loads(r.body_json ? r.body_json : "", 0, NULL);
    CU_ASSERT_STRING_EQUAL(jstr(j, "id"), sb.user_id);
    CU_ASSERT_PTR_NULL(strstr(r.body_json ? r.body_json : "", sa.user_id));
    json_decref(j);
    ft_reply_free(&r);

    expect_error("auth.me", NULL, NULL, 401, "unauthenticated");
    proto_uuid_v4(nobody);
    expect_error("auth.me", nobody, NULL, 404, "user_not_found");
}

static const char *valid_profile =
    "{\"account_name\":\"Main\",\"phone_number\":\"+15551234567\",\"currency_preference\":\"USD\","
    "\"monthly_income\":1234.5,\"financial_goal\":\"savings\",\"risk_appetite\":\"medium\"}";

static void test_auth_profile_validates_every_field(void)
{
    char email[128], body[1024], name101[128];
    struct session s;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    memset(name101, 'n', 101);
    name101[101] = '\0';
    struct {
        const char *field, *value, *code;
    } cases[] = {
        {"account_name", "\"\"", "invalid_account_name"},
        {"account_name", NULL, "invalid_account_name"},
        {"account_name", "12", "invalid_account_name"},
        {"phone_number", "\"123456\"", "invalid_phone_number"},
        {"phone_number", "\"+1234567890123456\"", "invalid_phone_number"},
        {"phone_number", "\"555-123-4567\"", "invalid_phone_number"},
        {"phone_number", NULL, "invalid_phone_number"},
        {"currency_preference", "\"usd\"", "invalid_currency"},
        {"currency_preference", "\"JPY\"", "invalid_currency"},
        {"currency_preference", NULL, "invalid_currency"},
        {"monthly_income", "\"12.345\"", "invalid_monthly_income"},
        {"monthly_income", "-1", "invalid_monthly_income"},
        {"monthly_income", "\"abc\"", "invalid_monthly_income"},
        {"monthly_income", "1e3", "invalid_monthly_income"},
        {"monthly_income", "null", "invalid_monthly_income"},
        {"monthly_income", NULL, "invalid_monthly_income"},
        {"financial_goal", "\"retire\"", "invalid_financial_goal"},
        {"financial_goal", NULL, "invalid_financial_goal"},
        {"risk_appetite", "\"extreme\"", "invalid_risk_appetite"},
        {"risk_appetite", NULL, "invalid_risk_appetite"},
    };
    const char *fields[] = {"account_name",   "phone_number",   "currency_preference",
                            "monthly_income", "financial_goal", "risk_appetite"};
    const char *good[] = {"\"Main\"",  "\"+15551234567\"", "\"USD\"",
                          "\"10.00\"", "\"savings\"",      "\"low\""};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t off = (size_t)snprintf(body, sizeof body, "{");
        int first = 1;
        for (size_t f = 0; f < 6; f++) {
            const char *val = good[f];
            if (strcmp(fields[f], cases[c].field) == 0) {
                if (!cases[c].value)
                    continue;
                val = cases[c].value;
            }
            off += (size_t)snprintf(body + off, sizeof body - off, "%s\"%s\":%s", first ? "" : ",",
                                    fields[f], val);
            first = 0;
        }
        snprintf(body + off, sizeof body - off, "}");
        expect_error("auth.profile_update", s.user_id, body, 422, cases[c].code);
    }
    snprintf(body, sizeof body,
             "{\"account_name\":\"%s\",\"phone_number\":\"+15551234567\",\"currency_preference\":"
             "\"USD\",\"monthly_income\":1,\"financial_goal\":\"savings\",\"risk_appetite\":"
             "\"low\"}",
             name101);
    expect_error("auth.profile_update", s.user_id, body, 422, "invalid_account_name");
    expect_error("auth.profile_update", s.user_id, "[]", 400, "invalid_body");
    expect_error("auth.profile_update", NULL, valid_profile, 401, "unauthenticated");

    char v[16];
    sql1(v, sizeof v, "SELECT is_profile_complete FROM auth.users WHERE id = $1", s.user_id);
    CU_ASSERT_STRING_EQUAL(v, "f");
}

static void test_auth_profile_first_completion_emits_one_event(void)
{
    char email[128], v[512];
    struct session s;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);

    CU_ASSERT_EQUAL(call("auth.profile_complete", s.user_id, NULL, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "", "{\"is_profile_complete\":false}");
    ft_reply_free(&r);

    CU_ASSERT_EQUAL_FATAL(call("auth.profile_update", s.user_id, NULL, valid_profile, &r), 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body_json);
    /* Money comes back as an exact decimal number printed from minor units. */
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"monthly_income\":1234.50"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"is_profile_complete\":true"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"account_name\":\"Main\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"currency_preference\":\"USD\""));
    ft_reply_free(&r);

    sql1(v, sizeof v, "SELECT monthly_income FROM auth.users WHERE id = $1", s.user_id);
    CU_ASSERT_STRING_EQUAL(v, "123450");
    sql1(v, sizeof v,
         "SELECT count(*) FROM auth.outbox WHERE type = 'profile.updated' AND user_id = $1",
         s.user_id);
    CU_ASSERT_STRING_EQUAL(v, "1");
    sql1(v, sizeof v,
         "SELECT data->>'first_completion' || ' ' || (data->>'monthly_income') || ' ' || "
         "(data->>'currency_preference') || ' ' || (data->>'financial_goal') || ' ' || "
         "(data->>'risk_appetite') || ' ' || (data->>'user_id') FROM auth.outbox "
         "WHERE type = 'profile.updated' AND user_id = $1",
         s.user_id);
    char want[256];
    snprintf(want, sizeof want, "true 1234.50 USD savings medium %s", s.user_id);
    CU_ASSERT_STRING_EQUAL(v, want);

    const char *second =
        "{\"account_name\":\"Home\",\"phone_number\":\"9876543210\",\"currency_preference\":"
        "\"INR\",\"monthly_income\":\"50000\",\"financial_goal\":\"wealth_building\","
        "\"risk_appetite\":\"high\"}";
    CU_ASSERT_EQUAL(call("auth.profile_update", s.user_id, NULL, second, &r), 200);
    ft_reply_free(&r);
    sql1(v, sizeof v,
         "SELECT string_agg(data->>'first_completion', ',' ORDER BY created_at) FROM auth.outbox "
         "WHERE type = 'profile.updated' AND user_id = $1",
         s.user_id);
    CU_ASSERT_STRING_EQUAL(v, "true,false");

    CU_ASSERT_EQUAL(call("auth.me", s.user_id, NULL, NULL, &r), 200);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.body_json);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"monthly_income\":50000.00"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"currency_preference\":\"INR\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"financial_goal\":\"wealth_building\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body_json, "\"phone_number\":\"9876543210\""));
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(call("auth.profile_complete", s.user_id, NULL, NULL, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "", "{\"is_profile_complete\":true}");
    ft_reply_free(&r);
}

/* ---- config, lookup ---- */

/* Public (no user in the envelope): the Google client id the web app's button needs. */
static void test_auth_config_is_public_and_names_the_client_id(void)
{
    struct ft_reply r;
    CU_ASSERT_EQUAL(call("auth.config", NULL, NULL, NULL, &r), 200);
    CU_ASSERT_FALSE(r.is_error);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "",
                           "{\"google_client_id\":\"" CLIENT_ID "\",\"google_enabled\":true}");
    ft_reply_free(&r);
}

/* auth.lookup as the gateway sends GET /api/users/lookup?<query> for `user`. */
static int lookup(const char *user, const char *query_json, struct ft_reply *r)
{
    struct ft_call c = {
        .user = user, .meta_json = "{\"ip\":\"127.0.0.1\"}", .query_json = query_json};
    int got = ft_amqp_call_ex(a, WORKER, "auth.lookup", &c, TIMEOUT_MS, r);
    CU_ASSERT_EQUAL(got, 1);
    return got == 1 ? r->status : -1;
}

static int lookup_email(const char *user, const char *email, struct ft_reply *r)
{
    char q[512];
    snprintf(q, sizeof q, "{\"email\":\"%s\"}", email);
    return lookup(user, q, r);
}

static int lookup_id(const char *user, const char *id, struct ft_reply *r)
{
    char q[512];
    snprintf(q, sizeof q, "{\"id\":\"%s\"}", id);
    return lookup(user, q, r);
}

/* The caller's lookup counter in Redis (ft:lookup:user:<id>): its value and TTL, -1 when absent. */
static long lookup_count(const char *user, long *ttl)
{
    redisReply *rr = redisCommand(kv, "GET ft:lookup:user:%s", user);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rr);
    long n = rr->type == REDIS_REPLY_STRING ? strtol(rr->str, NULL, 10) : -1;
    freeReplyObject(rr);
    if (ttl) {
        rr = redisCommand(kv, "TTL ft:lookup:user:%s", user);
        CU_ASSERT_PTR_NOT_NULL_FATAL(rr);
        *ttl = rr->type == REDIS_REPLY_INTEGER ? (long)rr->integer : -3;
        freeReplyObject(rr);
    }
    return n;
}

/* {id, full_name} of the address's owner and nothing else, whatever the case or surrounding
 * spaces of the address (as login matches it); yourself too; an unknown address is 404. Every
 * lookup, found or not, counts against the caller. */
static void test_auth_lookup_finds_the_recipient_ignoring_case(void)
{
    char ea[128], eb[128], upper[160], unknown[128], name[64], want[256];
    struct session sa, sb;
    struct ft_reply r;
    fresh_email(ea, sizeof ea);
    fresh_email(eb, sizeof eb);
    snprintf(name, sizeof name, "Ada L %.6s", ea + 5);
    CU_ASSERT_EQUAL_FATAL(register_named(ea, PASSWORD, name, &sa), 201);
    CU_ASSERT_EQUAL_FATAL(register_user(eb, PASSWORD, &sb), 201);
    snprintf(want, sizeof want, "{\"id\":\"%s\",\"full_name\":\"%s\"}", sa.user_id, name);

    snprintf(upper, sizeof upper, "  %s ", ea);
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    CU_ASSERT_EQUAL(lookup_email(sb.user_id, upper, &r), 200);
    CU_ASSERT_FALSE(r.is_error);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "", want);
    ft_reply_free(&r);

    /* Other query parameters change nothing (as on every route: unknown ones are ignored). */
    char q[512];
    snprintf(q, sizeof q, "{\"email\":\"%s\",\"user_id\":\"%s\",\"fields\":\"email,picture\"}", ea,
             sb.user_id);
    CU_ASSERT_EQUAL(lookup(sb.user_id, q, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "", want);
    ft_reply_free(&r);

    /* Looking yourself up answers you. */
    CU_ASSERT_EQUAL(lookup_email(sa.user_id, ea, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "", want);
    ft_reply_free(&r);

    fresh_email(unknown, sizeof unknown);
    CU_ASSERT_EQUAL(lookup_email(sb.user_id, unknown, &r), 404);
    CU_ASSERT_TRUE(r.is_error);
    CU_ASSERT_STRING_EQUAL(r.code, "user_not_found");
    CU_ASSERT_STRING_EQUAL(r.message, "No user has this email address.");
    ft_reply_free(&r);

    long ttl = 0;
    CU_ASSERT_EQUAL(lookup_count(sb.user_id, &ttl), 3);
    CU_ASSERT(ttl >= 1 && ttl <= 60);
    CU_ASSERT_EQUAL(lookup_count(sa.user_id, NULL), 1);

    /* No verified user: refused, and nothing is looked up or counted. */
    CU_ASSERT_EQUAL(lookup_email(NULL, ea, &r), 401);
    CU_ASSERT_STRING_EQUAL(r.code, "unauthenticated");
    ft_reply_free(&r);
}

/* A missing, empty or implausible address is 422 invalid_email, like register's rules, and is
 * not counted against the caller. */
static void test_auth_lookup_validates_the_email(void)
{
    char email[128], long_local[300], too_long[300];
    struct session s;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    memset(long_local, 'a', 65);
    snprintf(long_local + 65, sizeof long_local - 65, "@example.com"); /* local part > 64 */
    memset(too_long, 'd', 255);
    memcpy(too_long, "u@", 2);
    snprintf(too_long + 251, sizeof too_long - 251, ".org"); /* 255 bytes */
    const char *bad[] = {"",
                         "   ",
                         "ada",
                         "ada@example",
                         "a@b@example.com",
                         "a b@example.com",
                         "@example.com",
                         "ada@.example.com",
                         long_local,
                         too_long};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(lookup_email(s.user_id, bad[i], &r), 422);
        CU_ASSERT_STRING_EQUAL(r.code, "invalid_email");
        if (r.status != 422)
            fprintf(stderr, "\n  lookup of \"%s\": got %d %s\n", bad[i], r.status, r.code);
        ft_reply_free(&r);
    }
    const char *queries[] = {NULL, "{}", "{\"mail\":\"x@example.com\"}"};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        CU_ASSERT_EQUAL(lookup(s.user_id, queries[i], &r), 422);
        CU_ASSERT_STRING_EQUAL(r.code, "invalid_email");
        CU_ASSERT_STRING_EQUAL(r.message, "email is required.");
        ft_reply_free(&r);
    }
    CU_ASSERT_EQUAL(lookup_count(s.user_id, NULL), -1);
}

/* ?id=<user id>: the same {id, full_name} (how the web app names the other side of a transfer
 * it lists), whatever the id's case; an unknown id is 404 user_not_found. Each counts against
 * the caller like a lookup by email. */
static void test_auth_lookup_by_id_finds_the_user(void)
{
    char ea[128], eb[128], name[64], want[256], upper[PROTO_UUID_LEN + 1],
        unknown[PROTO_UUID_LEN + 1];
    struct session sa, sb;
    struct ft_reply r;
    fresh_email(ea, sizeof ea);
    fresh_email(eb, sizeof eb);
    snprintf(name, sizeof name, "Bob B %.6s", eb + 5);
    CU_ASSERT_EQUAL_FATAL(register_user(ea, PASSWORD, &sa), 201);
    CU_ASSERT_EQUAL_FATAL(register_named(eb, PASSWORD, name, &sb), 201);
    snprintf(want, sizeof want, "{\"id\":\"%s\",\"full_name\":\"%s\"}", sb.user_id, name);

    CU_ASSERT_EQUAL(lookup_id(sa.user_id, sb.user_id, &r), 200);
    CU_ASSERT_FALSE(r.is_error);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "", want);
    ft_reply_free(&r);

    memcpy(upper, sb.user_id, sizeof upper);
    for (char *p = upper; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
    CU_ASSERT_EQUAL(lookup_id(sa.user_id, upper, &r), 200);
    CU_ASSERT_STRING_EQUAL(r.body_json ? r.body_json : "", want); /* the id as stored */
    ft_reply_free(&r);

    proto_uuid_v4(unknown);
    CU_ASSERT_EQUAL(lookup_id(sa.user_id, unknown, &r), 404);
    CU_ASSERT_TRUE(r.is_error);
    CU_ASSERT_STRING_EQUAL(r.code, "user_not_found");
    CU_ASSERT_STRING_EQUAL(r.message, "No user has this id.");
    CU_ASSERT_PTR_NULL(r.body_json);
    ft_reply_free(&r);

    CU_ASSERT_EQUAL(lookup_count(sa.user_id, NULL), 3);
    CU_ASSERT_EQUAL(lookup_count(sb.user_id, NULL), -1);

    CU_ASSERT_EQUAL(lookup_id(NULL, sb.user_id, &r), 401);
    CU_ASSERT_STRING_EQUAL(r.code, "unauthenticated");
    ft_reply_free(&r);
}

/* A malformed id is 422 invalid_user_id; email and id together is 422 invalid_query (neither
 * stays 422 invalid_email, test_auth_lookup_validates_the_email). None of them is counted. */
static void test_auth_lookup_by_id_validates_the_query(void)
{
    char email[128], other[128], q[512], longer[PROTO_UUID_LEN + 2];
    struct session s, o;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    fresh_email(other, sizeof other);
    CU_ASSERT_EQUAL_FATAL(register_user(email, PASSWORD, &s), 201);
    CU_ASSERT_EQUAL_FATAL(register_user(other, PASSWORD, &o), 201);
    snprintf(longer, sizeof longer, "%sa", o.user_id);
    char nodash[PROTO_UUID_LEN + 1];
    size_t k = 0;
    for (const char *p = o.user_id; *p; p++)
        if (*p != '-')
            nodash[k++] = *p;
    nodash[k] = '\0';
    const char *bad[] = {
        "", " ", "abc", nodash, longer, other, "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CU_ASSERT_EQUAL(lookup_id(s.user_id, bad[i], &r), 422);
        CU_ASSERT_STRING_EQUAL(r.code, "invalid_user_id");
        if (r.status != 422 || strcmp(r.code, "invalid_user_id") != 0)
            fprintf(stderr, "\n  lookup of id \"%s\": got %d %s\n", bad[i], r.status, r.code);
        ft_reply_free(&r);
    }
    /* A number where a string should be (the gateway sends strings; a worker checks anyway). */
    CU_ASSERT_EQUAL(lookup(s.user_id, "{\"id\":7}", &r), 422);
    CU_ASSERT_STRING_EQUAL(r.code, "invalid_user_id");
    ft_reply_free(&r);

    /* Both, valid or not, and in either order: which one would be meant? */
    snprintf(q, sizeof q, "{\"email\":\"%s\",\"id\":\"%s\"}", other, o.user_id);
    CU_ASSERT_EQUAL(lookup(s.user_id, q, &r), 422);
    CU_ASSERT_STRING_EQUAL(r.code, "invalid_query");
    CU_ASSERT_STRING_EQUAL(r.message, "Send either email or id, not both.");
    ft_reply_free(&r);
    snprintf(q, sizeof q, "{\"id\":\"x\",\"email\":\"\"}");
    CU_ASSERT_EQUAL(lookup(s.user_id, q, &r), 422);
    CU_ASSERT_STRING_EQUAL(r.code, "invalid_query");
    ft_reply_free(&r);

    CU_ASSERT_EQUAL(lookup_count(s.user_id, NULL), -1);
}

/* AUTH_LOOKUP_PER_MIN (30 by default, this worker's) lookups a minute per user, then 429
 * too_many_lookups with Retry-After, for known and unknown addresses alike (the limit comes
 * before the database, so it is no oracle either); other users are not affected. */
static void test_auth_lookup_throttled_per_user(void)
{
    char ea[128], eb[128], ec[128], unknown[128];
    struct session sa, sb, sc;
    struct ft_reply r;
    fresh_email(ea, sizeof ea);
    fresh_email(eb, sizeof eb);
    fresh_email(ec, sizeof ec);
    CU_ASSERT_EQUAL_FATAL(register_user(ea, PASSWORD, &sa), 201);
    CU_ASSERT_EQUAL_FATAL(register_user(eb, PASSWORD, &sb), 201);
    CU_ASSERT_EQUAL_FATAL(register_user(ec, PASSWORD, &sc), 201);
    /* Lookups by email and by id share the one counter. */
    int found = 0;
    for (int i = 0; i < 30; i++) {
        found += (i % 2 ? lookup_id(sb.user_id, sa.user_id, &r)
                        : lookup_email(sb.user_id, ea, &r)) == 200;
        ft_reply_free(&r);
    }
    CU_ASSERT_EQUAL(found, 30);
    CU_ASSERT_EQUAL(lookup_count(sb.user_id, NULL), 30);

    CU_ASSERT_EQUAL(lookup_email(sb.user_id, ea, &r), 429);
    CU_ASSERT_STRING_EQUAL(r.code, "too_many_lookups");
    CU_ASSERT_PTR_NULL(r.body_json);
    long ra = retry_after(&r);
    CU_ASSERT(ra >= 1 && ra <= 60);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "Try again in"));
    ft_reply_free(&r);
    fresh_email(unknown, sizeof unknown);
    CU_ASSERT_EQUAL(lookup_email(sb.user_id, unknown, &r), 429);
    CU_ASSERT_STRING_EQUAL(r.code, "too_many_lookups");
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(lookup_id(sb.user_id, sa.user_id, &r), 429);
    CU_ASSERT_STRING_EQUAL(r.code, "too_many_lookups");
    CU_ASSERT_PTR_NULL(r.body_json);
    ra = retry_after(&r);
    CU_ASSERT(ra >= 1 && ra <= 60);
    ft_reply_free(&r);

    CU_ASSERT_EQUAL(lookup_email(sc.user_id, ea, &r), 200);
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(lookup_count(sc.user_id, NULL), 1);
}

/* ---- Redis down ---- */

/* With Redis unreachable, login and logout answer 503 auth_unavailable instead of
 * pretending; register (no Redis) still works. Only this worker consumes meanwhile. */
static void test_auth_redis_down_fails_closed(void)
{
    char email[128], redis_url[64], meta[256], v[64], ip[32];
    struct session s;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    fresh_ip(ip, sizeof ip);
    CU_ASSERT_EQUAL(register_user(email, PASSWORD, &s), 201); /* while Redis answers */
    ft_stop(worker, SIGTERM, 10000);
    snprintf(redis_url, sizeof redis_url, "redis://127.0.0.1:%d/0", ft_free_port());
    worker = spawn_auth(redis_url);
    CU_ASSERT_FATAL(worker > 0 && wait_ready());

    /* Sign-up is throttled through Redis too: it fails closed like login, and creates no user */
    char email2[128];
    struct session s2;
    fresh_email(email2, sizeof email2);
    CU_ASSERT_EQUAL(register_user(email2, PASSWORD, &s2), 503);
    sql1(v, sizeof v, "SELECT count(*) FROM auth.users WHERE email_norm = lower($1)", email2);
    CU_ASSERT_STRING_EQUAL(v, "0");
    CU_ASSERT_EQUAL(login(email, PASSWORD, ip, &r), 503);
    CU_ASSERT_STRING_EQUAL(r.code, "auth_unavailable");
    ft_reply_free(&r);
    /* Recipient lookups cannot be counted: refused too, even of an address that exists. */
    CU_ASSERT_EQUAL(lookup_email(s.user_id, email, &r), 503);
    CU_ASSERT_STRING_EQUAL(r.code, "auth_unavailable");
    ft_reply_free(&r);
    CU_ASSERT_EQUAL(lookup_id(s.user_id, s.user_id, &r), 503);
    CU_ASSERT_STRING_EQUAL(r.code, "auth_unavailable");
    ft_reply_free(&r);
    char live_key[64], live_tag[64];
    snprintf(live_key, sizeof live_key, "user.%s", s.user_id);
    snprintf(live_tag, sizeof live_tag, "live-%.8s", s.user_id);
    CU_ASSERT_EQUAL_FATAL(ft_amqp_bind_temp(a, PROTO_EX_LIVE, live_key, live_tag), 0);
    meta_session(meta, sizeof meta, &s);
    CU_ASSERT_EQUAL(call("auth.logout", s.user_id, meta, NULL, &r), 503);
    CU_ASSERT_STRING_EQUAL(r.code, "auth_unavailable");
    ft_reply_free(&r);
    /* A logout that rolled back closes no socket. */
    struct ft_msg m;
    int got = ft_amqp_wait_msg(a, live_tag, 1000, &m);
    CU_ASSERT_EQUAL(got, 0);
    if (got == 1)
        ft_msg_free(&m);
    /* The refresh chain was not revoked either (the logout rolled back). */
    sql1(v, sizeof v,
         "SELECT count(*) FROM auth.refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL",
         s.user_id);
    CU_ASSERT_STRING_EQUAL(v, "1");

    ft_stop(worker, SIGTERM, 10000);
    worker = spawn_auth(ft_env("REDIS_URL", ""));
    CU_ASSERT_FATAL(worker > 0 && wait_ready());
}

/* ---- configuration ---- */

static void test_auth_bad_config_exits_78(void)
{
    char *env[] = {"JWT_SECRET=too-short", "ACCESS_TOKEN_TTL_S=5", NULL};
    char *argv[] = {"fintwin-auth", NULL};
    pid_t pid = ft_spawn(ft_bin("fintwin-auth"), argv, env, log_path);
    CU_ASSERT_FATAL(pid > 0);
    int status = -1;
    int64_t end = ft_now_ms() + 10000;
    while (!ft_exited(pid, &status) && ft_now_ms() < end)
        usleep(10000);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 78);
}

/* ---- Google ---- */

static char *google_token(const char *sub, const char *email, int verified)
{
    char *claims = ft_google_claims(CLIENT_ID, sub, email, (int64_t)time(NULL));
    if (!claims)
        return NULL;
    if (!verified) {
        char *p = strstr(claims, "\"email_verified\":true");
        if (p) {
            /* "true" -> "0   " would not be false; rebuild the text instead. */
            size_t head = (size_t)(p - claims);
            size_t len = strlen(claims) + 2;
            char *out = malloc(len);
            snprintf(out, len, "%.*s\"email_verified\":false%s", (int)head, claims,
                     p + strlen("\"email_verified\":true"));
            free(claims);
            claims = out;
        }
    }
    char *tok = ft_google_sign(gkey, claims, NULL);
    free(claims);
    return tok;
}

static int google_signin(const char *token, struct ft_reply *r)
{
    size_t len = strlen(token) + 32;
    char *body = malloc(len);
    snprintf(body, len, "{\"credential\":\"%s\"}", token);
    int st = call("auth.google", NULL, "{\"ip\":\"127.0.0.1\"}", body, r);
    free(body);
    return st;
}

static void test_auth_google_signs_in_by_sub(void)
{
    char email[128], sub[64], v[128];
    struct session s1, s2;
    struct ft_reply r;
    fresh_email(email, sizeof email);
    ft_rand_name(sub, sizeof sub, "sub-");
    char *tok = google_token(sub, email, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tok);
    CU_ASSERT_EQUAL(google_signin(tok, &r), 200);
    read_session(&r, &s1);
    ft_reply_free(&r);
    free(tok);
    CU_ASSERT_TRUE_FATAL(proto_uuid_valid(s1.user_id));
    sql1(v, sizeof v, "SELECT google_sub FROM auth.users WHERE id = $1", s1.user_id);
    CU_ASSERT_STRING_EQUAL(v, sub);
    sql1(
        v, sizeof v,
        "SELECT email_verified::text || coalesce(password_hash, '-') FROM auth.users WHERE id = $1",
        s1.user_id);
    CU_ASSERT_STRING_EQUAL(v, "true-");

    /* Again (the same sub, even with another email): the same user. */
    char other[128];
    fresh_email(other, sizeof other);
    tok = google_token(sub, other, 1);
    CU_ASSERT_EQUAL(google_signin(tok, &r), 200);
    read_session(&r, &s2);
    ft_reply_free(&r);
    free(tok);
    CU_ASSERT_STRING_EQUAL(s2.user_id, s1.user_id);

    /* A tampered token is refused. */
    tok = google_token(sub, email, 1);
    char *claims = ft_google_claims(CLIENT_ID, "someone-else", email, (int64_t)time(NULL));
    char *bad = ft_google_token_tamper(tok, claims);
    CU_ASSERT_EQUAL(google_signin(bad, &r), 401);
    CU_ASSERT_STRING_EQUAL(r.code, "invalid_google_token");
    ft_reply_free(&r);
    free(tok);
    free(claims);
    free(bad);
    expect_error("auth.google", NULL, "{}", 422, "invalid_credential");
}

static void test_auth_google_links_verified_email_only(void)
{
    char ev[128], eu[128], sub1[64], sub2[64], v[128];
    struct session pv, pu, g;
    struct ft_reply r;
    fresh_email(ev, sizeof ev);
    fresh_email(eu, sizeof eu);
    CU_ASSERT_EQUAL_FATAL(register_user(ev, PASSWORD, &pv), 201);
    CU_ASSERT_EQUAL_FATAL(register_user(eu, PASSWORD, &pu), 201);
    ft_rand_name(sub1, sizeof sub1, "sub-");
    ft_rand_name(sub2, sizeof sub2, "sub-");

    /* Verified by Google: linked to the existing password account. */
    char *tok = google_token(sub1, ev, 1);
    CU_ASSERT_EQUAL(google_signin(tok, &r), 200);
    read_session(&r, &g);
    ft_reply_free(&r);
    free(tok);
    CU_ASSERT_STRING_EQUAL(g.user_id, pv.user_id);
    sql1(v, sizeof v, "SELECT google_sub FROM auth.users WHERE id = $1", pv.user_id);
    CU_ASSERT_STRING_EQUAL(v, sub1);

    /* Not verified: refused, nothing linked. */
    tok = google_token(sub2, eu, 0);
    CU_ASSERT_EQUAL(google_signin(tok, &r), 409);
    CU_ASSERT_STRING_EQUAL(r.code, "email_unverified");
    CU_ASSERT_PTR_NOT_NULL(strstr(r.message, "verif"));
    ft_reply_free(&r);
    free(tok);
    sql1(v, sizeof v, "SELECT coalesce(google_sub, '') FROM auth.users WHERE id = $1", pu.user_id);
    CU_ASSERT_STRING_EQUAL(v, "");
    sql1(v, sizeof v, "SELECT count(*) FROM auth.users WHERE google_sub = $1", sub2);
    CU_ASSERT_STRING_EQUAL(v, "0");
}

int main(void)
{
    int rc = wt_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("auth", suite_init, suite_clean);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_auth_register_answers_session_and_stores_argon2id);
    ADD(test_auth_refresh_tokens_stored_only_hashed);
    ADD(test_auth_default_account_from_the_ledger);
    ADD(test_auth_register_throttled_per_ip);
    ADD(test_auth_revocation_survives_redis_losing_its_keys);
    ADD(test_auth_register_duplicate_email_is_409);
    ADD(test_auth_register_validates_every_field);
    ADD(test_auth_register_long_multibyte_password_is_exact);
    ADD(test_auth_login_ok_and_identical_failures);
    ADD(test_auth_login_throttles_per_account);
    ADD(test_auth_login_throttles_per_ip);
    ADD(test_auth_refresh_rotates_and_reuse_revokes_family);
    ADD(test_auth_refresh_expired_is_invalid);
    ADD(test_auth_refresh_concurrent_exactly_one_wins);
    ADD(test_auth_logout_revokes_session_and_denies_token);
    ADD(test_auth_me_returns_only_the_callers_user);
    ADD(test_auth_profile_validates_every_field);
    ADD(test_auth_profile_first_completion_emits_one_event);
    ADD(test_auth_config_is_public_and_names_the_client_id);
    ADD(test_auth_lookup_finds_the_recipient_ignoring_case);
    ADD(test_auth_lookup_validates_the_email);
    ADD(test_auth_lookup_by_id_finds_the_user);
    ADD(test_auth_lookup_by_id_validates_the_query);
    ADD(test_auth_lookup_throttled_per_user);
    ADD(test_auth_redis_down_fails_closed);
    ADD(test_auth_bad_config_exits_78);
    ADD(test_auth_google_signs_in_by_sub);
    ADD(test_auth_google_links_verified_email_only);
#undef ADD
    return ft_cunit_run();
}
