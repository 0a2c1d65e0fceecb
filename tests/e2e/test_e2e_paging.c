/*
 * e2e, the list parameters of docs/api.md through the real gateway (its query parsing, the
 * msgpack it builds) and all seven workers, on data seeded over HTTP:
 *   - GET /api/transactions/: no `limit` is a page of 100 (the data has 105), newest first;
 *     `limit`, `offset`, `before` and their combinations select exactly the expected ids;
 *     422 invalid_limit / invalid_offset / invalid_before, 404 transaction_not_found;
 *   - GET /api/transactions/account/{id}: an account id, and what old clients send, the
 *     user's id (all accounts) without `limit` (default 1000: the whole history); `before`
 *     from another account of one's own is 404; another user's account is 404;
 *   - GET /api/notifications/ and /{account_id}: default page 20, `limit`, `offset`, `type`,
 *     `unread_only` (true/false/1/0) after marking some read, and their 422s;
 *   - the query string itself: a repeated key keeps its last value; not UTF-8, or more than 64
 *     parameters, is 400 invalid_query.
 */
#include <CUnit/Basic.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "proto/uuid.h"

/* a's postings: DEPOSITS into the default account, SAVINGS into a second, a withdrawal, and
 * a transfer from b */
#define DEPOSITS 100
#define SAVINGS  3
#define TOTAL    (DEPOSITS + SAVINGS + 2)
#define ID_LEN   (PROTO_UUID_LEN + 1)

static struct e2e st;
static struct e2e_user a, b; /* a owns the data; b is someone else */
static char a_default[ID_LEN], a_savings[ID_LEN], b_default[ID_LEN], b_txn[ID_LEN];
/* a's postings newest first: [0] the incoming transfer, [1] the withdrawal, [2..4] the
 * savings deposits, [5..104] the default account's deposits */
static char txn[TOTAL][ID_LEN];
static int seeded;

/* ---- helpers ---- */

static long call(const char *method, const char *path, const struct e2e_user *u, const char *body,
                 struct ft_http_resp *r)
{
    char key[ID_LEN];
    proto_uuid_v4(key);
    return e2e_call(&st, method, path, u, strcmp(method, "POST") == 0 ? key : NULL, body, r);
}

/* POSTs body and copies the answer's "id" into id (ID_LEN); CUnit-asserts 201. */
static void post_id(const struct e2e_user *u, const char *path, const char *body, char *id)
{
    struct ft_http_resp r;
    long status = call("POST", path, u, body, &r);
    CU_ASSERT_EQUAL(status, 201);
    char *got = status == 201 ? e2e_json_str(r.body, "id") : NULL;
    if (!got)
        fprintf(stderr, "\n  POST %s %s: %ld %s\n", path, body, status, r.body ? r.body : "");
    snprintf(id, ID_LEN, "%s", got ? got : "");
    free(got);
    ft_http_resp_free(&r);
}

/* GET path as u; the answer parsed when it is 200 with a JSON array, else NULL (said why). */
static json_t *list(const struct e2e_user *u, const char *path)
{
    struct ft_http_resp r;
    long status = call("GET", path, u, NULL, &r);
    json_t *arr = status == 200 ? json_loads(r.body, 0, NULL) : NULL;
    if (arr && !json_is_array(arr)) {
        json_decref(arr);
        arr = NULL;
    }
    if (!arr)
        fprintf(stderr, "\n  GET %s: %ld %.300s\n", path, status, r.body ? r.body : "");
    ft_http_resp_free(&r);
    return arr;
}

static const char *str_at(const json_t *arr, size_t i, const char *key)
{
    const char *s = json_string_value(json_object_get(json_array_get(arr, i), key));
    return s ? s : "";
}

/* 1 if GET path lists exactly the ids txn[from], txn[from+1], … txn[from+n-1], in that order. */
static int lists_txns(const char *path, int from, int n)
{
    json_t *arr = list(&a, path);
    int ok = arr && json_array_size(arr) == (size_t)n;
    for (int i = 0; ok && i < n; i++)
        ok = strcmp(str_at(arr, (size_t)i, "id"), txn[from + i]) == 0;
    if (!ok)
        fprintf(stderr, "\n  GET %s: %zu items, want txn[%d..%d)\n", path,
                arr ? json_array_size(arr) : 0, from, from + n);
    json_decref(arr);
    return ok;
}

/* 1 if GET path (as u) answers `status` with error `code`. */
static int refused(const struct e2e_user *u, const char *path, long status, const char *code)
{
    struct ft_http_resp r;
    char frag[96];
    snprintf(frag, sizeof frag, "\"code\":\"%s\"", code);
    long got = call("GET", path, u, NULL, &r);
    int ok = got == status && e2e_body_has(&r, frag);
    if (got != status)
        fprintf(stderr, "\n  GET %s: %ld, want %ld %s\n", path, got, status, code);
    ft_http_resp_free(&r);
    return ok;
}

static int notifications_arrived(void *arg)
{
    (void)arg;
    struct ft_http_resp r;
    char want[64];
    snprintf(want, sizeof want, "\"total\":%d", TOTAL);
    int ok = call("GET", "/api/notifications/count", &a, NULL, &r) == 200 && r.body &&
             strstr(r.body, want) != NULL;
    ft_http_resp_free(&r);
    return ok;
}

/* ---- the data ---- */

static int suite_init(void)
{
    e2e_init(&st, "paging");
    return e2e_start_all(&st, NULL) == 0 ? 0 : 1;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_cleanup(&st);
    e2e_user_free(&a);
    e2e_user_free(&b);
    return 0;
}

/* The id of u's default account (GET /api/accounts, is_default; /api/auth/me names it only
 * once the auth worker has heard of it). */
static void default_account(const struct e2e_user *u, char *out)
{
    json_t *arr = list(u, "/api/accounts");
    out[0] = '\0';
    for (size_t i = 0; arr && i < json_array_size(arr); i++)
        if (json_is_true(json_object_get(json_array_get(arr, i), "is_default")))
            snprintf(out, ID_LEN, "%s", str_at(arr, i, "id"));
    json_decref(arr);
}

/* Runs first: every other test reads what it wrote. */
static void test_e2e_paging_seed(void)
{
    char body[256];
    CU_ASSERT_FATAL(e2e_register(&st, "paging-a", &a) == 0);
    CU_ASSERT_FATAL(e2e_register(&st, "paging-b", &b) == 0);
    default_account(&a, a_default);
    default_account(&b, b_default);
    CU_ASSERT_FATAL(proto_uuid_valid(a_default) && proto_uuid_valid(b_default));
    post_id(&a, "/api/accounts", "{\"name\":\"Savings\",\"kind\":\"savings\",\"currency\":\"USD\"}",
            a_savings);
    CU_ASSERT_FATAL(proto_uuid_valid(a_savings));
    /* Distinct amounts, so a wrong order would also show in the amounts. */
    for (int i = 0; i < DEPOSITS; i++) {
        snprintf(body, sizeof body, "{\"type\":\"deposit\",\"amount\":\"%d.%02d\"}", 1 + i / 100,
                 i % 100);
        post_id(&a, "/api/transactions/", body, txn[TOTAL - 1 - i]);
    }
    for (int i = 0; i < SAVINGS; i++) {
        snprintf(body, sizeof body,
                 "{\"type\":\"deposit\",\"amount\":\"%d\",\"account_id\":\"%s\"}", 50 + i,
                 a_savings);
        post_id(&a, "/api/transactions/", body, txn[TOTAL - 1 - DEPOSITS - i]);
    }
    post_id(&a, "/api/transactions/", "{\"type\":\"withdrawal\",\"amount\":\"0.50\"}", txn[1]);
    post_id(&b, "/api/transactions/", "{\"type\":\"deposit\",\"amount\":\"10\"}", b_txn);
    /* what old clients send: the recipient's user id as to_account */
    snprintf(body, sizeof body, "{\"type\":\"transfer\",\"amount\":\"2\",\"to_account\":\"%s\"}",
             a.id);
    post_id(&b, "/api/transactions/", body, txn[0]);
    for (int i = 0; i < TOTAL; i++)
        CU_ASSERT_FATAL(proto_uuid_valid(txn[i]));
    /* One notification per posting of a's (105), made from txn.posted events. */
    CU_ASSERT_FATAL(ft_wait_until(notifications_arrived, NULL, 30000));
    seeded = 1;
}

/* ---- transactions ---- */

static void test_e2e_paging_transactions_limit(void)
{
    CU_ASSERT_FATAL(seeded);
    /* no limit: the default page of 100, the newest, though the data has 105 */
    CU_ASSERT(lists_txns("/api/transactions/", 0, 100));
    CU_ASSERT(lists_txns("/api/transactions", 0, 100));
    CU_ASSERT(lists_txns("/api/transactions/?limit=1", 0, 1));
    CU_ASSERT(lists_txns("/api/transactions/?limit=7", 0, 7));
    CU_ASSERT(lists_txns("/api/transactions/?limit=100", 0, 100));
    /* a repeated key keeps its last value */
    CU_ASSERT(lists_txns("/api/transactions/?limit=50&limit=3", 0, 3));
    const char *bad[] = {"0", "101", "-1", "abc", "", "1.5", "99999999999", "%201"};
    char path[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/transactions/?limit=%s", bad[i]);
        CU_ASSERT(refused(&a, path, 422, "invalid_limit"));
    }
}

static void test_e2e_paging_transactions_offset(void)
{
    CU_ASSERT_FATAL(seeded);
    CU_ASSERT(lists_txns("/api/transactions/?offset=0&limit=4", 0, 4));
    CU_ASSERT(lists_txns("/api/transactions/?offset=3&limit=4", 3, 4));
    CU_ASSERT(lists_txns("/api/transactions/?limit=4&offset=101", 101, 4));
    /* no limit: the rest after the default page */
    CU_ASSERT(lists_txns("/api/transactions/?offset=100", 100, 5));
    CU_ASSERT(lists_txns("/api/transactions/?offset=104", 104, 1));
    CU_ASSERT(lists_txns("/api/transactions/?offset=105", 0, 0));
    CU_ASSERT(lists_txns("/api/transactions/?offset=1000000000", 0, 0));
    const char *bad[] = {"-1", "x", "", "1000000001"};
    char path[128];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/transactions/?offset=%s", bad[i]);
        CU_ASSERT(refused(&a, path, 422, "invalid_offset"));
    }
}

static void test_e2e_paging_transactions_before(void)
{
    CU_ASSERT_FATAL(seeded);
    char path[256], upper[ID_LEN];
    snprintf(path, sizeof path, "/api/transactions/?before=%s&limit=3", txn[9]);
    CU_ASSERT(lists_txns(path, 10, 3));
    /* the incoming transfer is a's too */
    snprintf(path, sizeof path, "/api/transactions/?before=%s", txn[0]);
    CU_ASSERT(lists_txns(path, 1, 100));
    snprintf(path, sizeof path, "/api/transactions/?before=%s", txn[95]);
    CU_ASSERT(lists_txns(path, 96, 9));
    snprintf(path, sizeof path, "/api/transactions/?before=%s", txn[TOTAL - 1]);
    CU_ASSERT(lists_txns(path, 0, 0));
    /* offset counts from the anchor */
    snprintf(path, sizeof path, "/api/transactions/?before=%s&offset=2&limit=2", txn[9]);
    CU_ASSERT(lists_txns(path, 12, 2));
    for (int i = 0; i < PROTO_UUID_LEN + 1; i++)
        upper[i] = (txn[20][i] >= 'a' && txn[20][i] <= 'f') ? (char)(txn[20][i] - 32) : txn[20][i];
    snprintf(path, sizeof path, "/api/transactions/?limit=2&before=%s", upper);
    CU_ASSERT(lists_txns(path, 21, 2));
    /* empty: no anchor */
    CU_ASSERT(lists_txns("/api/transactions/?before=&limit=2", 0, 2));

    CU_ASSERT(refused(&a, "/api/transactions/?before=12345", 422, "invalid_before"));
    snprintf(path, sizeof path, "/api/transactions/?before=%.35s", txn[3]);
    CU_ASSERT(refused(&a, path, 422, "invalid_before"));
    char rnd[ID_LEN];
    proto_uuid_v4(rnd);
    snprintf(path, sizeof path, "/api/transactions/?before=%s", rnd);
    CU_ASSERT(refused(&a, path, 404, "transaction_not_found"));
    /* b's own deposit is not a's: as if it did not exist */
    snprintf(path, sizeof path, "/api/transactions/?before=%s", b_txn);
    CU_ASSERT(refused(&a, path, 404, "transaction_not_found"));
    /* and b sees the transfer it sent, a's deposits not */
    snprintf(path, sizeof path, "/api/transactions/?before=%s", txn[0]);
    json_t *arr = list(&b, path);
    CU_ASSERT(arr && json_array_size(arr) == 1 && strcmp(str_at(arr, 0, "id"), b_txn) == 0);
    json_decref(arr);
    snprintf(path, sizeof path, "/api/transactions/?before=%s", txn[1]);
    CU_ASSERT(refused(&b, path, 404, "transaction_not_found"));
}

static void test_e2e_paging_transactions_of_one_account(void)
{
    CU_ASSERT_FATAL(seeded);
    char path[256];
    /* savings: txn[2..4] */
    snprintf(path, sizeof path, "/api/transactions/account/%s", a_savings);
    CU_ASSERT(lists_txns(path, 2, 3));
    snprintf(path, sizeof path, "/api/transactions/account/%s?limit=2", a_savings);
    CU_ASSERT(lists_txns(path, 2, 2));
    snprintf(path, sizeof path, "/api/transactions/account/%s?offset=1", a_savings);
    CU_ASSERT(lists_txns(path, 3, 2));
    snprintf(path, sizeof path, "/api/transactions/account/%s?before=%s", a_savings, txn[2]);
    CU_ASSERT(lists_txns(path, 3, 2));
    /* an anchor on another of a's accounts is not in this list */
    snprintf(path, sizeof path, "/api/transactions/account/%s?before=%s", a_savings, txn[50]);
    CU_ASSERT(refused(&a, path, 404, "transaction_not_found"));

    /* the default account: the transfer, the withdrawal and the 100 deposits, all of them
     * without limit (default 1000) */
    snprintf(path, sizeof path, "/api/transactions/account/%s", a_default);
    json_t *arr = list(&a, path);
    CU_ASSERT(arr && json_array_size(arr) == 102);
    CU_ASSERT(arr && strcmp(str_at(arr, 0, "id"), txn[0]) == 0 &&
              strcmp(str_at(arr, 1, "id"), txn[1]) == 0 &&
              strcmp(str_at(arr, 2, "id"), txn[5]) == 0 &&
              strcmp(str_at(arr, 101, "id"), txn[TOTAL - 1]) == 0);
    json_decref(arr);
    snprintf(path, sizeof path, "/api/transactions/account/%s?limit=1&offset=2", a_default);
    CU_ASSERT(lists_txns(path, 5, 1));

    /* what old clients send: their user id, no limit: every posting of every account */
    snprintf(path, sizeof path, "/api/transactions/account/%s", a.id);
    CU_ASSERT(lists_txns(path, 0, TOTAL));
    snprintf(path, sizeof path, "/api/transactions/account/%s?limit=1000", a.id);
    CU_ASSERT(lists_txns(path, 0, TOTAL));
    snprintf(path, sizeof path, "/api/transactions/account/%s?limit=101&offset=3", a.id);
    CU_ASSERT(lists_txns(path, 3, 101));
    snprintf(path, sizeof path, "/api/transactions/account/%s?before=%s&limit=5", a.id, txn[2]);
    CU_ASSERT(lists_txns(path, 3, 5));

    snprintf(path, sizeof path, "/api/transactions/account/%s?limit=1001", a.id);
    CU_ASSERT(refused(&a, path, 422, "invalid_limit"));
    snprintf(path, sizeof path, "/api/transactions/account/%s?limit=0", a_savings);
    CU_ASSERT(refused(&a, path, 422, "invalid_limit"));
    snprintf(path, sizeof path, "/api/transactions/account/%s?offset=-2", a_savings);
    CU_ASSERT(refused(&a, path, 422, "invalid_offset"));
    snprintf(path, sizeof path, "/api/transactions/account/%s?before=nope", a_savings);
    CU_ASSERT(refused(&a, path, 422, "invalid_before"));
    /* someone else's account, and someone else's user id, are no accounts of a's */
    snprintf(path, sizeof path, "/api/transactions/account/%s", b_default);
    CU_ASSERT(refused(&a, path, 404, "account_not_found"));
    snprintf(path, sizeof path, "/api/transactions/account/%s", b.id);
    CU_ASSERT(refused(&a, path, 404, "account_not_found"));
    CU_ASSERT(refused(&a, "/api/transactions/account/not-an-id", 404, "account_not_found"));
}

/* ---- notifications ---- */

/* The ids of GET path (as a), into ids (malloc'ed strings, caller frees); the list's size or -1.
 * Asserts that it is newest first, and that every item has type `type` when not NULL and is
 * unread when `unread`. */
static int notification_ids(const char *path, char **ids, int max, const char *type, int unread)
{
    json_t *arr = list(&a, path);
    if (!arr)
        return -1;
    int n = (int)json_array_size(arr);
    for (int i = 0; i < n; i++) {
        if (i < max)
            ids[i] = strdup(str_at(arr, (size_t)i, "id"));
        if (i > 0)
            CU_ASSERT(strcmp(str_at(arr, (size_t)i - 1, "created_at"),
                             str_at(arr, (size_t)i, "created_at")) >= 0);
        if (type)
            CU_ASSERT_STRING_EQUAL(str_at(arr, (size_t)i, "type"), type);
        if (unread)
            CU_ASSERT(json_is_false(json_object_get(json_array_get(arr, (size_t)i), "is_read")));
    }
    json_decref(arr);
    return n;
}

static void free_ids(char **ids, int n)
{
    for (int i = 0; i < n; i++) {
        free(ids[i]);
        ids[i] = NULL;
    }
}

static int count_of(const char *path)
{
    return notification_ids(path, NULL, 0, NULL, 0);
}

static void test_e2e_paging_notifications_limit_offset(void)
{
    CU_ASSERT_FATAL(seeded);
    static char *page[TOTAL], *all[TOTAL], *tail[TOTAL];
    /* no limit: the default 20 of 105, the newest */
    CU_ASSERT_EQUAL(notification_ids("/api/notifications/", page, TOTAL, NULL, 0), 20);
    CU_ASSERT_EQUAL(notification_ids("/api/notifications/?limit=100", all, TOTAL, NULL, 0), 100);
    CU_ASSERT_EQUAL(
        notification_ids("/api/notifications/?limit=100&offset=100", tail, TOTAL, NULL, 0), 5);
    for (int i = 0; i < 20; i++)
        CU_ASSERT(page[i] && all[i] && strcmp(page[i], all[i]) == 0);
    /* the two pages hold every notification of a's once */
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 100; j++)
            CU_ASSERT(tail[i] && all[j] && strcmp(tail[i], all[j]) != 0);
    free_ids(page, TOTAL);
    CU_ASSERT_EQUAL(notification_ids("/api/notifications/?offset=37&limit=6", page, TOTAL, NULL, 0),
                    6);
    for (int i = 0; i < 6; i++)
        CU_ASSERT(page[i] && strcmp(page[i], all[37 + i]) == 0);
    free_ids(page, TOTAL);
    /* no limit, an offset: 20 from there */
    CU_ASSERT_EQUAL(notification_ids("/api/notifications/?offset=90", page, TOTAL, NULL, 0), 15);
    CU_ASSERT(page[0] && strcmp(page[0], all[90]) == 0);
    CU_ASSERT_EQUAL(count_of("/api/notifications/?offset=50"), 20);
    CU_ASSERT_EQUAL(count_of("/api/notifications/?offset=105"), 0);
    CU_ASSERT_EQUAL(count_of("/api/notifications/?limit=1"), 1);
    CU_ASSERT_EQUAL(count_of("/api/notifications/?limit=9&limit=2"), 2);
    /* the user's id, as old clients send it: the same as all of a's */
    char path[256];
    snprintf(path, sizeof path, "/api/notifications/%s?limit=100&offset=100", a.id);
    CU_ASSERT_EQUAL(count_of(path), 5);
    snprintf(path, sizeof path, "/api/notifications/%s", a.id);
    CU_ASSERT_EQUAL(count_of(path), 20);
    free_ids(page, TOTAL);
    free_ids(all, TOTAL);
    free_ids(tail, TOTAL);

    const char *bad_limit[] = {"0", "101", "-5", "ten", ""};
    for (size_t i = 0; i < sizeof bad_limit / sizeof bad_limit[0]; i++) {
        snprintf(path, sizeof path, "/api/notifications/?limit=%s", bad_limit[i]);
        CU_ASSERT(refused(&a, path, 422, "invalid_limit"));
    }
    const char *bad_offset[] = {"-1", "1e3", ""};
    for (size_t i = 0; i < sizeof bad_offset / sizeof bad_offset[0]; i++) {
        snprintf(path, sizeof path, "/api/notifications/?offset=%s", bad_offset[i]);
        CU_ASSERT(refused(&a, path, 422, "invalid_offset"));
    }
}

static void test_e2e_paging_notifications_type(void)
{
    CU_ASSERT_FATAL(seeded);
    char *ids[TOTAL] = {0};
    /* the withdrawal is the one alert */
    CU_ASSERT_EQUAL(notification_ids("/api/notifications/?type=alert", ids, TOTAL, "alert", 0), 1);
    free_ids(ids, TOTAL);
    CU_ASSERT_EQUAL(notification_ids("/api/notifications/?type=info", ids, TOTAL, "info", 0), 20);
    free_ids(ids, TOTAL);
    CU_ASSERT_EQUAL(notification_ids("/api/notifications/?type=info&limit=100&offset=100", ids,
                                     TOTAL, "info", 0),
                    4);
    free_ids(ids, TOTAL);
    CU_ASSERT_EQUAL(count_of("/api/notifications/?type=risk"), 0);
    char path[256];
    /* by account: savings has 3 deposits, no alert; the default account has the alert */
    snprintf(path, sizeof path, "/api/notifications/%s?type=info", a_savings);
    CU_ASSERT_EQUAL(notification_ids(path, ids, TOTAL, "info", 0), 3);
    free_ids(ids, TOTAL);
    snprintf(path, sizeof path, "/api/notifications/%s?type=alert", a_savings);
    CU_ASSERT_EQUAL(count_of(path), 0);
    snprintf(path, sizeof path, "/api/notifications/%s?type=alert", a_default);
    CU_ASSERT_EQUAL(count_of(path), 1);
    snprintf(path, sizeof path, "/api/notifications/%s?type=info&limit=100", a_default);
    CU_ASSERT_EQUAL(count_of(path), 100);
    snprintf(path, sizeof path, "/api/notifications/%s?limit=1&offset=2", a_savings);
    CU_ASSERT_EQUAL(count_of(path), 1);

    const char *bad[] = {"warning", "INFO", "", "info,alert"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/notifications/?type=%s", bad[i]);
        CU_ASSERT(refused(&a, path, 422, "invalid_type"));
    }
    snprintf(path, sizeof path, "/api/notifications/%s", b_default);
    CU_ASSERT(refused(&a, path, 404, "account_not_found"));
    snprintf(path, sizeof path, "/api/notifications/%s?type=info", b.id);
    CU_ASSERT(refused(&a, path, 404, "account_not_found"));
}

static void test_e2e_paging_notifications_unread_only(void)
{
    CU_ASSERT_FATAL(seeded);
    char *ids[TOTAL] = {0}, *unread[TOTAL] = {0};
    char path[256];
    /* read: the alert, and the savings account's three */
    CU_ASSERT_EQUAL_FATAL(notification_ids("/api/notifications/?type=alert", ids, 1, NULL, 0), 1);
    snprintf(path, sizeof path, "/api/notifications/%s", a_savings);
    CU_ASSERT_EQUAL_FATAL(notification_ids(path, ids + 1, 3, NULL, 0), 3);
    for (int i = 0; i < 4; i++) {
        struct ft_http_resp r;
        snprintf(path, sizeof path, "/api/notifications/read/%s", ids[i]);
        CU_ASSERT_EQUAL(call("PUT", path, &a, NULL, &r), 200);
        ft_http_resp_free(&r);
    }
    CU_ASSERT_EQUAL(
        notification_ids("/api/notifications/?unread_only=true&limit=100", unread, TOTAL, NULL, 1),
        100);
    free_ids(unread, TOTAL);
    CU_ASSERT_EQUAL(notification_ids("/api/notifications/?unread_only=1&limit=100&offset=100",
                                     unread, TOTAL, NULL, 1),
                    1);
    for (int i = 0; i < 4; i++)
        CU_ASSERT(unread[0] && strcmp(unread[0], ids[i]) != 0);
    free_ids(unread, TOTAL);
    CU_ASSERT_EQUAL(
        notification_ids("/api/notifications/?unread_only=true", unread, TOTAL, NULL, 1), 20);
    free_ids(unread, TOTAL);
    /* false and 0: read ones too */
    CU_ASSERT_EQUAL(count_of("/api/notifications/?unread_only=false&limit=100&offset=100"), 5);
    CU_ASSERT_EQUAL(count_of("/api/notifications/?unread_only=0&limit=100&offset=100"), 5);
    CU_ASSERT_EQUAL(count_of("/api/notifications/?type=alert&unread_only=true"), 0);
    CU_ASSERT_EQUAL(count_of("/api/notifications/?type=alert&unread_only=false"), 1);
    snprintf(path, sizeof path, "/api/notifications/%s?unread_only=true", a_savings);
    CU_ASSERT_EQUAL(count_of(path), 0);
    snprintf(path, sizeof path, "/api/notifications/%s?unread_only=true&type=info&limit=100", a.id);
    CU_ASSERT_EQUAL(count_of(path), 100);
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(call("GET", "/api/notifications/count", &a, NULL, &r), 200);
    char want[64];
    snprintf(want, sizeof want, "{\"total\":%d,\"unread\":%d}", TOTAL, TOTAL - 4);
    CU_ASSERT(e2e_body_has(&r, want));
    ft_http_resp_free(&r);
    free_ids(ids, TOTAL);

    const char *bad[] = {"yes", "TRUE", "2", "", "true%20"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "/api/notifications/?unread_only=%s", bad[i]);
        CU_ASSERT(refused(&a, path, 422, "invalid_unread_only"));
    }
}

/* ---- the query string ---- */

static void test_e2e_paging_query_string_refusals(void)
{
    CU_ASSERT_FATAL(seeded);
    CU_ASSERT(refused(&a, "/api/transactions/?limit=%FF", 400, "invalid_query"));
    CU_ASSERT(refused(&a, "/api/notifications/?type=%C3%28", 400, "invalid_query"));
    char path[1024] = "/api/notifications/?limit=1";
    for (int i = 0; i < 64; i++)
        snprintf(path + strlen(path), sizeof path - strlen(path), "&p%d=1", i);
    CU_ASSERT(refused(&a, path, 400, "invalid_query")); /* 65 parameters */
    /* 64 are fine; unknown ones are ignored */
    *strrchr(path, '&') = '\0';
    CU_ASSERT_EQUAL(count_of(path), 1);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_paging", suite_init, suite_clean);
#define ADD(fn) CU_add_test(s, #fn, fn)
    ADD(test_e2e_paging_seed);
    ADD(test_e2e_paging_transactions_limit);
    ADD(test_e2e_paging_transactions_offset);
    ADD(test_e2e_paging_transactions_before);
    ADD(test_e2e_paging_transactions_of_one_account);
    ADD(test_e2e_paging_notifications_limit_offset);
    ADD(test_e2e_paging_notifications_type);
    ADD(test_e2e_paging_notifications_unread_only);
    ADD(test_e2e_paging_query_string_refusals);
#undef ADD
    return ft_cunit_run();
}
