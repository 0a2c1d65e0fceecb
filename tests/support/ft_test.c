/* Shared helpers for the CUnit test binaries; see ft_test.h. */
#include "ft_test.h"

#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/clock.h"

extern char **environ;

const char *ft_env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

int ft_ci(void)
{
    return strcmp(ft_env("CI", ""), "true") == 0;
}

int ft_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", ft_ci() ? ": failing because CI=true" : ": skipping");
    return ft_ci() ? 1 : 77;
}

int ft_need_servers(void)
{
    if (ft_env("PG_URL", NULL) && ft_env("REDIS_URL", NULL) && ft_env("AMQP_URL", NULL))
        return 0;
    return ft_skip("PG_URL, REDIS_URL and AMQP_URL are not all set (run deploy/local/test.sh)");
}

int ft_need_services(void)
{
    if (ft_env("FT_SERVICES", NULL) && ft_env("FT_SVC_DIR", NULL))
        return 0;
    return ft_skip("FT_SERVICES/FT_SVC_DIR unset (deploy/local/test.sh sets them): cannot restart "
                   "servers");
}

const char *ft_bin(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", ft_env("FT_BIN_DIR", FT_DEFAULT_BIN_DIR), name);
    return path;
}

int64_t ft_now_ms(void)
{
    return proto_mono_ms();
}

int ft_wait_until(int (*cond)(void *arg), void *arg, int timeout_ms)
{
    int64_t end = ft_now_ms() + timeout_ms;
    for (;;) {
        if (cond(arg))
            return 1;
        if (ft_now_ms() >= end)
            return 0;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static int env_overridden(const char *entry, char *const env_extra[])
{
    const char *eq = strchr(entry, '=');
    size_t n = eq ? (size_t)(eq - entry) : strlen(entry);
    for (size_t i = 0; env_extra && env_extra[i]; i++)
        if (strncmp(env_extra[i], entry, n) == 0 && env_extra[i][n] == '=')
            return 1;
    return 0;
}

pid_t ft_spawn(const char *path, char *const argv[], char *const env_extra[], const char *log_path)
{
    size_t n = 0, m = 0;
    while (environ[n])
        n++;
    while (env_extra && env_extra[m])
        m++;
    char **envp = calloc(n + m + 1, sizeof *envp);
    if (!envp)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!env_overridden(environ[i], env_extra))
            envp[k++] = environ[i];
    for (size_t i = 0; i < m; i++)
        envp[k++] = env_extra[i];
    envp[k] = NULL;

    pid_t pid = fork();
    if (pid == 0) {
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        execve(path, argv, envp);
        fprintf(stderr, "exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    free(envp);
    return pid;
}

int ft_exited(pid_t pid, int *status)
{
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) {
        if (status)
            *status = st;
        return 1;
    }
    return r < 0 && errno == ECHILD;
}

struct exit_wait {
    pid_t pid;
    int *status;
};

static int has_exited(void *arg)
{
    struct exit_wait *w = arg;
    return ft_exited(w->pid, w->status);
}

int ft_wait_exit(pid_t pid, int timeout_ms, int *status)
{
    struct exit_wait w = {pid, status};
    return ft_wait_until(has_exited, &w, timeout_ms);
}

int ft_stop(pid_t pid, int sig, int timeout_ms)
{
    int st = -1;
    if (pid <= 0)
        return -1;
    kill(pid, sig);
    int64_t end = ft_now_ms() + timeout_ms;
    while (ft_now_ms() < end) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return st;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    if (waitpid(pid, &st, 0) == pid)
        return st;
    return -1;
}

struct grow {
    char *p;
    size_t n;
};

static size_t grow_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct grow *g = userp;
    size_t add = size * nmemb;
    char *np = realloc(g->p, g->n + add + 1);
    if (!np)
        return 0;
    memcpy(np + g->n, data, add);
    g->n += add;
    np[g->n] = '\0';
    g->p = np;
    return add;
}

int ft_http(const char *method, const char *url, const char *const headers[], const char *body,
            size_t body_len, int timeout_ms, struct ft_http_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    struct grow b = {NULL, 0}, h = {NULL, 0};
    struct curl_slist *hl = NULL;
    int has_ct = 0;
    for (size_t i = 0; headers && headers[i]; i++) {
        hl = curl_slist_append(hl, headers[i]);
        if (strncasecmp(headers[i], "Content-Type:", 13) == 0)
            has_ct = 1;
    }
    if (body && !has_ct)
        hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, grow_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, grow_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &resp->seconds);
    }
    resp->body = b.p ? b.p : calloc(1, 1);
    resp->body_len = b.n;
    resp->headers = h.p ? h.p : calloc(1, 1);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? 0 : -1;
}

void ft_http_resp_free(struct ft_http_resp *resp)
{
    free(resp->body);
    free(resp->headers);
    resp->body = resp->headers = NULL;
}

char *ft_http_header(const struct ft_http_resp *resp, const char *name)
{
    size_t n = strlen(name);
    for (const char *line = resp->headers; line && *line;) {
        const char *end = strstr(line, "\r\n");
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ')
                v++;
            return strndup(v, (size_t)(line + len - v));
        }
        if (!end)
            break;
        line = end + 2;
    }
    return NULL;
}

int ft_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* ---- CUnit ---- */

static void print_not_run(const CU_Suite *suite, const CU_Test *test, const char *why)
{
    fprintf(stderr, "  did not run: %s / %s (%s)\n", suite->pName, test->pName, why);
}

/* CUnit runs no test of an inactive suite or of one whose init failed, and no inactive test, and
 * counts none of them as a failed test; its failure records are where they show. Returns the
 * number of tests it names. */
static unsigned report_not_run(void)
{
    unsigned n = 0;
    for (CU_pFailureRecord f = CU_get_failure_list(); f; f = f->pNext) {
        const char *why = f->type == CUF_SuiteInitFailed ? "suite setup failed"
                          : f->type == CUF_SuiteInactive ? "suite inactive"
                                                         : NULL;
        if (why && f->pSuite)
            for (CU_pTest t = f->pSuite->pTest; t; t = t->pNext, n++)
                print_not_run(f->pSuite, t, why);
        else if (f->type == CUF_TestInactive && f->pSuite && f->pTest) {
            print_not_run(f->pSuite, f->pTest, "test inactive");
            n++;
        } else if (f->type == CUF_SuiteCleanupFailed && f->pSuite)
            fprintf(stderr, "  suite %s failed to clean up\n", f->pSuite->pName);
    }
    return n;
}

int ft_cunit_run(void)
{
    if (!CU_get_registry()) {
        fprintf(stderr, "no CUnit registry\n");
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_ErrorCode err = CU_basic_run_tests();
    const CU_RunSummary *r = CU_get_run_summary();
    unsigned registered = CU_get_registry()->uiNumberOfTests;
    unsigned not_run = registered > r->nTestsRun ? registered - r->nTestsRun : 0;
    /* Green means every registered test ran and passed: a skipped test is not a passed one. */
    int bad = registered == 0 || not_run || r->nTestsFailed || r->nAssertsFailed ||
              r->nSuitesFailed || r->nSuitesInactive || r->nTestsInactive || err != CUE_SUCCESS;
    if (bad) {
        fprintf(stderr,
                "FAILED: %u of %u registered tests ran, %u failed; %u suite(s) failed to set up "
                "or clean up, %u inactive suite(s), %u inactive test(s)\n",
                r->nTestsRun, registered, r->nTestsFailed, r->nSuitesFailed, r->nSuitesInactive,
                r->nTestsInactive);
        unsigned named = report_not_run();
        if (named < not_run)
            fprintf(stderr, "  and %u more registered test(s) did not run\n", not_run - named);
        if (registered == 0)
            fprintf(stderr, "  no test is registered\n");
        if (err != CUE_SUCCESS)
            fprintf(stderr, "  CUnit: %s\n", CU_get_error_msg());
    }
    CU_cleanup_registry();
    return bad ? 1 : 0;
}

int ft_cunit_run_one(const char *suite, const char *name, void (*fn)(void))
{
    if (CU_initialize_registry() != CUE_SUCCESS) {
        fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
        return 1;
    }
    CU_pSuite s = CU_add_suite(suite, NULL, NULL);
    if (!s || !CU_add_test(s, name, fn)) {
        fprintf(stderr, "cannot register %s / %s: %s\n", suite, name, CU_get_error_msg());
        CU_cleanup_registry();
        return 1;
    }
    return ft_cunit_run();
}

int ft_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}
