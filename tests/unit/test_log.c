/* Unit tests for proto/log.h: logfmt lines on stderr. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/log.h"
#include "proto/status.h"

/* stderr is swapped for a temporary file while a test logs; CUnit writes to stdout. */
static FILE *capture_file;
static int saved_stderr = -1;

static void capture_start(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    saved_stderr = dup(STDERR_FILENO);
    dup2(fileno(capture_file), STDERR_FILENO);
}

/* Restores stderr and returns what was written (malloc'ed). */
static char *capture_end(void)
{
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    off_t n = lseek(fileno(capture_file), 0, SEEK_END);
    char *buf = calloc(1, (size_t)n + 1);
    lseek(fileno(capture_file), 0, SEEK_SET);
    size_t got = 0;
    while (got < (size_t)n) {
        ssize_t r = read(fileno(capture_file), buf + got, (size_t)n - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    fclose(capture_file);
    return buf;
}

static int matches(const char *re, const char *s)
{
    regex_t rx;
    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0)
        return -1;
    int ok = regexec(&rx, s, 0, NULL, 0) == 0;
    regfree(&rx);
    return ok;
}

#define TS_RE "ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"

static void test_log_line_format(void)
{
    proto_log_init("gateway", PROTO_LOG_DEBUG);
    capture_start();
    proto_log(PROTO_LOG_INFO, "r-1", "rpc done", "status=%d ms=%s", 200, "1.2");
    char *out = capture_end();
    char re[512];
    snprintf(re, sizeof re,
             "^" TS_RE " level=info svc=gateway pid=%ld req=r-1 msg=\"rpc done\" status=200 "
             "ms=1\\.2\n$",
             (long)getpid());
    CU_ASSERT_EQUAL(matches(re, out), 1);
    if (matches(re, out) != 1)
        fprintf(stderr, "line: %s", out);
    free(out);
}

static void test_log_timestamp_is_utc_now(void)
{
    proto_log_init("t", PROTO_LOG_DEBUG);
    time_t before = time(NULL);
    capture_start();
    proto_log(PROTO_LOG_WARN, NULL, "x", NULL);
    char *out = capture_end();
    time_t after = time(NULL);
    struct tm tm = {0};
    int ms = -1;
    CU_ASSERT_EQUAL_FATAL(sscanf(out, "ts=%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon,
                                 &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms),
                          7);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    CU_ASSERT(t >= before && t <= after);
    CU_ASSERT(ms >= 0 && ms <= 999);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, " level=warn svc=t pid="));
    CU_ASSERT_PTR_NULL(strstr(out, "req="));
    CU_ASSERT_STRING_EQUAL(strstr(out, " msg="), " msg=\"x\"\n");
    free(out);
}

static void test_log_level_filter(void)
{
    proto_log_init("svc", PROTO_LOG_WARN);
    capture_start();
    PROTO_DEBUG(NULL, "d", NULL);
    PROTO_INFO(NULL, "i", NULL);
    PROTO_WARN(NULL, "w", NULL);
    PROTO_ERROR(NULL, "e", NULL);
    char *out = capture_end();
    CU_ASSERT_PTR_NULL(strstr(out, "msg=\"d\""));
    CU_ASSERT_PTR_NULL(strstr(out, "msg=\"i\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "level=warn svc=svc"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "level=error svc=svc"));
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 2);
    free(out);
}

static void test_log_escaping_keeps_one_line(void)
{
    proto_log_init("svc", PROTO_LOG_DEBUG);
    capture_start();
    proto_log(PROTO_LOG_INFO, "bad id\nlevel=error", "say \"hi\"\\\n\tnext\x01", "user=%s raw=%s",
              proto_log_str("a b\"c"), "x\ny");
    char *out = capture_end();
    const char *tail = strstr(out, " req=");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tail);
    CU_ASSERT_STRING_EQUAL(tail, " req=\"bad id\\nlevel=error\" msg=\"say \\\"hi\\\"\\\\\\n\\tnext"
                                 "\\u0001\" user=\"a b\\\"c\" raw=x_y\n");
    free(out);
}

static void test_log_long_line_is_capped(void)
{
    proto_log_init("svc", PROTO_LOG_DEBUG);
    size_t n = 20000;
    char *big = malloc(n + 1);
    memset(big, 'm', n);
    big[n] = '\0';
    capture_start();
    proto_log(PROTO_LOG_INFO, NULL, big, NULL);
    proto_log(PROTO_LOG_INFO, NULL, "short", "blob=%s", big);
    char *out = capture_end();
    char *nl = strchr(out, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(nl);
    size_t first = (size_t)(nl - out) + 1;
    CU_ASSERT(first <= 8192);
    CU_ASSERT(first > 8000);
    CU_ASSERT_EQUAL(memcmp(nl - 4, "...\"", 4), 0); /* quote closed after the cut */
    char *nl2 = strchr(nl + 1, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(nl2);
    CU_ASSERT((size_t)(nl2 - nl) <= 8192);
    CU_ASSERT_EQUAL(memcmp(nl2 - 3, "...", 3), 0);
    CU_ASSERT_EQUAL(nl2[1], '\0');
    free(out);
    free(big);
}

static void test_log_level_parse(void)
{
    enum proto_log_level l = PROTO_LOG_ERROR;
    CU_ASSERT_EQUAL(proto_log_level_parse("debug", &l), 0);
    CU_ASSERT_EQUAL(l, PROTO_LOG_DEBUG);
    CU_ASSERT_EQUAL(proto_log_level_parse("INFO", &l), 0);
    CU_ASSERT_EQUAL(l, PROTO_LOG_INFO);
    CU_ASSERT_EQUAL(proto_log_level_parse("warn", &l), 0);
    CU_ASSERT_EQUAL(l, PROTO_LOG_WARN);
    CU_ASSERT_EQUAL(proto_log_level_parse("error", &l), 0);
    CU_ASSERT_EQUAL(l, PROTO_LOG_ERROR);
    CU_ASSERT_EQUAL(proto_log_level_parse("verbose", &l), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_log_level_parse("", &l), PROTO_EINVAL);
    CU_ASSERT_EQUAL(proto_log_level_parse(NULL, &l), PROTO_EINVAL);
    CU_ASSERT_EQUAL(l, PROTO_LOG_ERROR);
}

static void test_log_str_slots(void)
{
    const char *a = proto_log_str("first");
    CU_ASSERT_STRING_EQUAL(a, "\"first\"");
    const char *others[7];
    for (int i = 0; i < 7; i++)
        others[i] = proto_log_str("other");
    CU_ASSERT_STRING_EQUAL(a, "\"first\""); /* still valid after 7 more calls */
    for (int i = 0; i < 7; i++)
        CU_ASSERT_PTR_NOT_EQUAL(others[i], a);
    CU_ASSERT_PTR_EQUAL(proto_log_str("ninth"), a); /* the 9th call reuses slot 1 */
    CU_ASSERT_STRING_EQUAL(proto_log_str(""), "\"\"");
    CU_ASSERT_STRING_EQUAL(proto_log_str(NULL), "\"\"");
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    const char *t = proto_log_str(big);
    CU_ASSERT_EQUAL(strlen(t), 255);
    CU_ASSERT_EQUAL(memcmp(t + 251, "...\"", 4), 0);
    CU_ASSERT_EQUAL(t[0], '"');
}

struct writer {
    int id;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char msg[600];
    memset(msg, 'a' + w->id, sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    for (int i = 0; i < 300; i++)
        proto_log(PROTO_LOG_INFO, NULL, msg, "thread=%d i=%d", w->id, i);
    return NULL;
}

static void test_log_threads_do_not_interleave(void)
{
    proto_log_init("svc", PROTO_LOG_DEBUG);
    capture_start();
    pthread_t th[8];
    struct writer w[8];
    for (int i = 0; i < 8; i++) {
        w[i].id = i;
        pthread_create(&th[i], NULL, writer_main, &w[i]);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    char *out = capture_end();
    int lines = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lines++;
        int id = -1, i = -1;
        const char *t = strstr(line, " thread=");
        if (!t || sscanf(t, " thread=%d i=%d", &id, &i) != 2 || id < 0 || id > 7) {
            bad++;
            continue;
        }
        /* the message must be 599 copies of this thread's letter */
        const char *m = strstr(line, "msg=\"");
        if (!m || strspn(m + 5, (char[]){(char)('a' + id), 0}) != 599)
            bad++;
    }
    CU_ASSERT_EQUAL(lines, 8 * 300);
    CU_ASSERT_EQUAL(bad, 0);
    free(out);
}

/* The per-second budget: lines beyond it are counted and reported by the next one written. */
static void test_log_budget(void)
{
    struct proto_log_budget b = {0};
    uint64_t dropped = 99;
    CU_ASSERT_EQUAL(proto_log_budget_take_at(&b, 2, 1, &dropped), 1);
    CU_ASSERT_EQUAL(dropped, 0);
    CU_ASSERT_EQUAL(proto_log_budget_take_at(&b, 2, 1, &dropped), 1);
    CU_ASSERT_EQUAL(proto_log_budget_take_at(&b, 2, 1, &dropped), 0);
    CU_ASSERT_EQUAL(proto_log_budget_take_at(&b, 2, 1, &dropped), 0);
    CU_ASSERT_EQUAL(proto_log_budget_take_at(&b, 2, 2, &dropped), 1); /* the next second */
    CU_ASSERT_EQUAL(dropped, 2);
    CU_ASSERT_EQUAL(proto_log_budget_take_at(&b, 2, 2, &dropped), 1);
    CU_ASSERT_EQUAL(dropped, 0);
    CU_ASSERT_EQUAL(proto_log_budget_take(&b, 2, &dropped), 1); /* the clock (seconds since boot, never 2 here) */
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("log", NULL, NULL);
    CU_ADD_TEST(s, test_log_line_format);
    CU_ADD_TEST(s, test_log_timestamp_is_utc_now);
    CU_ADD_TEST(s, test_log_level_filter);
    CU_ADD_TEST(s, test_log_escaping_keeps_one_line);
    CU_ADD_TEST(s, test_log_long_line_is_capped);
    CU_ADD_TEST(s, test_log_level_parse);
    CU_ADD_TEST(s, test_log_str_slots);
    CU_ADD_TEST(s, test_log_threads_do_not_interleave);
    CU_ADD_TEST(s, test_log_budget);
    return ft_cunit_run();
}
