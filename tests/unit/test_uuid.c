/* Unit tests for proto/uuid.h. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/uuid.h"

static void test_uuid_v4_format(void)
{
    char u[PROTO_UUID_LEN + 1];
    for (int i = 0; i < 200; i++) {
        memset(u, 'Z', sizeof u);
        CU_ASSERT_EQUAL_FATAL(proto_uuid_v4(u), 0);
        CU_ASSERT_EQUAL(strlen(u), PROTO_UUID_LEN);
        CU_ASSERT_EQUAL(u[8], '-');
        CU_ASSERT_EQUAL(u[13], '-');
        CU_ASSERT_EQUAL(u[18], '-');
        CU_ASSERT_EQUAL(u[23], '-');
        CU_ASSERT_EQUAL(u[14], '4');                   /* version */
        CU_ASSERT_PTR_NOT_NULL(strchr("89ab", u[19])); /* variant */
        for (int k = 0; k < PROTO_UUID_LEN; k++)
            CU_ASSERT_PTR_NOT_NULL(strchr("0123456789abcdef-", u[k])); /* lowercase */
        CU_ASSERT_EQUAL(proto_uuid_valid(u), 1);
    }
}

static void test_uuid_v4_unique(void)
{
    char a[PROTO_UUID_LEN + 1], b[PROTO_UUID_LEN + 1];
    CU_ASSERT_EQUAL(proto_uuid_v4(a), 0);
    CU_ASSERT_EQUAL(proto_uuid_v4(b), 0);
    CU_ASSERT_STRING_NOT_EQUAL(a, b);
}

static int cmp_uuid(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Many more than one draw of random bytes holds (uuid.c hands out 16 UUIDs per draw). */
static void test_uuid_v4_many_unique(void)
{
    enum { N = 1000 };
    static char u[N][PROTO_UUID_LEN + 1];
    for (int i = 0; i < N; i++) {
        CU_ASSERT_EQUAL_FATAL(proto_uuid_v4(u[i]), 0);
        CU_ASSERT_EQUAL(proto_uuid_valid(u[i]), 1);
    }
    qsort(u, N, sizeof u[0], cmp_uuid);
    int dup = 0;
    for (int i = 1; i < N; i++)
        dup += strcmp(u[i - 1], u[i]) == 0;
    CU_ASSERT_EQUAL(dup, 0);
}

/* A forked child does not hand out the UUIDs its parent drew the bytes for. */
static void test_uuid_v4_fork_does_not_repeat(void)
{
    char mine[PROTO_UUID_LEN + 1], theirs[PROTO_UUID_LEN + 1] = "";
    CU_ASSERT_EQUAL_FATAL(proto_uuid_v4(mine), 0); /* bytes for the next ones are drawn */
    int fd[2];
    CU_ASSERT_EQUAL_FATAL(pipe(fd), 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char u[PROTO_UUID_LEN + 1];
        int ok = proto_uuid_v4(u) == 0 && write(fd[1], u, PROTO_UUID_LEN) == PROTO_UUID_LEN;
        _exit(ok ? 0 : 1);
    }
    close(fd[1]);
    CU_ASSERT_EQUAL(read(fd[0], theirs, PROTO_UUID_LEN), PROTO_UUID_LEN);
    close(fd[0]);
    int status = -1;
    CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT_EQUAL_FATAL(proto_uuid_v4(mine), 0);
    CU_ASSERT_EQUAL(proto_uuid_valid(theirs), 1);
    CU_ASSERT_STRING_NOT_EQUAL(mine, theirs);
}

static void test_uuid_valid(void)
{
    CU_ASSERT_EQUAL(proto_uuid_valid("3f2504e0-4f89-41d3-9a0c-0305e82c3301"), 1);
    CU_ASSERT_EQUAL(proto_uuid_valid("3F2504E0-4F89-11D3-9A0C-0305E82C3301"), 1); /* v1, upper */
    CU_ASSERT_EQUAL(proto_uuid_valid("00000000-0000-0000-0000-000000000000"), 1);
    CU_ASSERT_EQUAL(proto_uuid_valid(NULL), 0);
    CU_ASSERT_EQUAL(proto_uuid_valid(""), 0);
    CU_ASSERT_EQUAL(proto_uuid_valid("3f2504e0-4f89-41d3-9a0c-0305e82c330"), 0);   /* short */
    CU_ASSERT_EQUAL(proto_uuid_valid("3f2504e0-4f89-41d3-9a0c-0305e82c33011"), 0); /* long */
    CU_ASSERT_EQUAL(proto_uuid_valid("3f2504e0-4f89-41d3-9a0c-0305e82c330g"), 0);  /* non-hex */
    CU_ASSERT_EQUAL(proto_uuid_valid("3f2504e0a4f89-41d3-9a0c-0305e82c3301"), 0);  /* dash */
    CU_ASSERT_EQUAL(proto_uuid_valid("3f2504e04f8941d39a0c0305e82c3301"), 0);      /* no dashes */
    CU_ASSERT_EQUAL(proto_uuid_valid("{3f2504e0-4f89-41d3-9a0c-0305e82c3301}"), 0);
    CU_ASSERT_EQUAL(proto_uuid_valid(" 3f2504e0-4f89-41d3-9a0c-0305e82c3301"), 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("uuid", NULL, NULL);
    CU_ADD_TEST(s, test_uuid_v4_format);
    CU_ADD_TEST(s, test_uuid_v4_unique);
    CU_ADD_TEST(s, test_uuid_v4_many_unique);
    CU_ADD_TEST(s, test_uuid_v4_fork_does_not_repeat);
    CU_ADD_TEST(s, test_uuid_valid);
    return ft_cunit_run();
}
