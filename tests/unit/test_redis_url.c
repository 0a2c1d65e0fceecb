/* Unit tests for proto/redis_url.h: the REDIS_URL grammar both Redis wrappers share. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <string.h>

#include "proto/redis_url.h"
#include "proto/status.h"

static void test_redis_url_defaults(void)
{
    struct proto_redis_url u;
    memset(&u, 'x', sizeof u);
    CU_ASSERT_EQUAL_FATAL(proto_redis_url_parse("redis://localhost", &u), 0);
    CU_ASSERT_STRING_EQUAL(u.host, "localhost");
    CU_ASSERT_EQUAL(u.port, 6379);
    CU_ASSERT_EQUAL(u.db, 0);
    CU_ASSERT_STRING_EQUAL(u.password, "");
    CU_ASSERT_EQUAL(proto_redis_url_parse("redis://127.0.0.1/", &u), 0);
    CU_ASSERT_EQUAL(u.db, 0);
}

static void test_redis_url_full(void)
{
    struct proto_redis_url u;
    CU_ASSERT_EQUAL_FATAL(proto_redis_url_parse("redis://user:s3cret@cache.local:22579/7", &u), 0);
    CU_ASSERT_STRING_EQUAL(u.host, "cache.local");
    CU_ASSERT_EQUAL(u.port, 22579);
    CU_ASSERT_EQUAL(u.db, 7);
    CU_ASSERT_STRING_EQUAL(u.password, "s3cret"); /* the user is accepted and ignored */
    CU_ASSERT_EQUAL(proto_redis_url_parse("redis://:pw@h:1", &u), 0);
    CU_ASSERT_STRING_EQUAL(u.password, "pw");
    CU_ASSERT_EQUAL(u.port, 1);
    CU_ASSERT_EQUAL(proto_redis_url_parse("redis://user@h/1000", &u), 0); /* no ':' no password */
    CU_ASSERT_STRING_EQUAL(u.password, "");
    CU_ASSERT_EQUAL(u.db, 1000);
}

static void test_redis_url_password_with_at_and_colon(void)
{
    struct proto_redis_url u;
    CU_ASSERT_EQUAL_FATAL(proto_redis_url_parse("redis://:p@ss:w@rd@h:6380", &u), 0);
    CU_ASSERT_STRING_EQUAL(u.password, "p@ss:w@rd");
    CU_ASSERT_STRING_EQUAL(u.host, "h");
    CU_ASSERT_EQUAL(u.port, 6380);
}

static void test_redis_url_rejects(void)
{
    static const char *const bad[] = {
        "",
        "localhost:6379",
        "rediss://h",
        "redis://",
        "redis://:6379",
        "redis://h:",
        "redis://h:0",
        "redis://h:65536",
        "redis://h:x",
        "redis://h/x",
        "redis://h/1x",
        "redis://h/-1",
        "redis://h/1001",
        "redis://h:6379x",
        "redis://pw@",
    };
    struct proto_redis_url u;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CU_ASSERT_EQUAL(proto_redis_url_parse(bad[i], &u), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_redis_url_parse(NULL, &u), PROTO_EINVAL);
}

static void test_redis_url_too_long(void)
{
    struct proto_redis_url u;
    char url[700];
    memset(url, 0, sizeof url);
    strcpy(url, "redis://");
    memset(url + 8, 'h', 255);
    CU_ASSERT_EQUAL(proto_redis_url_parse(url, &u), 0); /* 255 bytes of host fit */
    url[8 + 255] = 'h';
    CU_ASSERT_EQUAL(proto_redis_url_parse(url, &u), PROTO_EINVAL);
    memset(url, 0, sizeof url);
    strcpy(url, "redis://:");
    memset(url + 9, 'p', 256);
    strcat(url, "@h");
    CU_ASSERT_EQUAL(proto_redis_url_parse(url, &u), PROTO_EINVAL);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("redis_url", NULL, NULL);
    CU_ADD_TEST(s, test_redis_url_defaults);
    CU_ADD_TEST(s, test_redis_url_full);
    CU_ADD_TEST(s, test_redis_url_password_with_at_and_colon);
    CU_ADD_TEST(s, test_redis_url_rejects);
    CU_ADD_TEST(s, test_redis_url_too_long);
    return ft_cunit_run();
}
