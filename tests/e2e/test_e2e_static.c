/*
 * E2E: the web app's files as a Vite build lays them out (index.html, content-hashed files
 * under /assets/, a few fixed ones), served over HTTP by a real gateway and no worker:
 * Cache-Control per file (a year and immutable for /assets/, no-cache for index.html and the
 * rest), X-Content-Type-Options: nosniff, index.html only for paths that look like client
 * routes (a missing script is 404 JSON, never HTML), HEAD, and the placeholder page of a
 * gateway whose web root does not exist.
 */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "e2e.h"

#define INDEX     "<!doctype html><title>e2e-static-index</title><script src=/assets/index-4f1c2b.js>"
#define IMMUTABLE "public, max-age=31536000, immutable"

static struct e2e st;   /* GW_WEB_ROOT = a Vite-like build */
static struct e2e bare; /* GW_WEB_ROOT = a directory that does not exist */

static const struct {
    const char *path, *body, *ctype, *cache;
} files[] = {
    {"/index.html", INDEX, "text/html; charset=utf-8", "no-cache"},
    {"/assets/index-4f1c2b.js", "console.log('e2e-js')", "text/javascript; charset=utf-8",
     IMMUTABLE},
    {"/assets/index-9e8d7c.css", "body{margin:0}", "text/css; charset=utf-8", IMMUTABLE},
    {"/assets/index-4f1c2b.js.map", "{\"version\":3}", "application/json", IMMUTABLE},
    {"/assets/inter-latin-400-5a6b.woff2", "wOF2-e2e", "font/woff2", IMMUTABLE},
    {"/assets/hero-77aa.png", "PNG-e2e", "image/png", IMMUTABLE},
    {"/assets/logo-3c3c.svg", "<svg/>", "image/svg+xml", IMMUTABLE},
    {"/favicon.ico", "ICO-e2e", "image/x-icon", "no-cache"},
    {"/robots.txt", "User-agent: *", "text/plain; charset=utf-8", "no-cache"},
    {"/site.webmanifest", "{\"name\":\"FinTwin\"}", "application/manifest+json", "no-cache"},
};
#define NFILES (sizeof files / sizeof files[0])

/* Writes `text` to root + rel. 0 or -1. */
static int write_file(const char *root, const char *rel, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s%s", root, rel);
    return ft_write_file(path, text);
}

static int suite_init(void)
{
    static char env_root[400], env_bare[400];
    char web[300], dir[400];
    e2e_init(&st, "static");
    e2e_init(&bare, "static-bare");
    snprintf(web, sizeof web, "%s/web", st.dir);
    snprintf(dir, sizeof dir, "%s/assets", web);
    if (mkdir(web, 0755) != 0 || mkdir(dir, 0755) != 0)
        return 1;
    for (size_t i = 0; i < NFILES; i++)
        if (write_file(web, files[i].path, files[i].body) != 0)
            return 1;
    if (write_file(web, "/.env", "SECRET=e2e-dotfile") != 0)
        return 1;
    snprintf(env_root, sizeof env_root, "GW_WEB_ROOT=%s", web);
    snprintf(env_bare, sizeof env_bare, "GW_WEB_ROOT=%s/no-such-dir", bare.dir);
    const char *e1[] = {env_root, NULL}, *e2[] = {env_bare, NULL};
    if (e2e_start_gateway(&st, e1) != 0 || e2e_start_gateway(&bare, e2) != 0) {
        fprintf(stderr, "a gateway did not start (see %s, %s)\n", st.dir, bare.dir);
        e2e_stop_all(&st);
        e2e_stop_all(&bare);
        return 1;
    }
    return 0;
}

static int suite_clean(void)
{
    e2e_stop_all(&st);
    e2e_stop_all(&bare);
    e2e_cleanup(&st);
    e2e_cleanup(&bare);
    return 0;
}

/* 1 if header `name` is exactly `want`; else 0 after saying what came for which path. */
static int header_is(const struct ft_http_resp *r, const char *name, const char *want,
                     const char *path)
{
    char *v = ft_http_header(r, name);
    int ok = v && strcmp(v, want) == 0;
    if (!ok)
        fprintf(stderr, "\n  %s: %s is \"%s\", want \"%s\"\n", path, name, v ? v : "(none)", want);
    free(v);
    return ok;
}

static long get(const struct e2e *e, const char *method, const char *path, struct ft_http_resp *r)
{
    ft_http(method, e2e_url(e, path), NULL, NULL, 0, 5000, r);
    return r->status;
}

static void expect_file(const char *path, const char *body, const char *ctype, const char *cache)
{
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(get(&st, "GET", path, &r), 200);
    CU_ASSERT(r.body_len == strlen(body) && memcmp(r.body, body, r.body_len) == 0);
    CU_ASSERT(header_is(&r, "Content-Type", ctype, path));
    CU_ASSERT(header_is(&r, "Cache-Control", cache, path));
    CU_ASSERT(header_is(&r, "X-Content-Type-Options", "nosniff", path));
    ft_http_resp_free(&r);
}

/* index.html, asked for by name, as "/" or as the fallback of a client route, must be
 * revalidated: it names the current hashed files. */
static void test_e2e_static_index_is_revalidated(void)
{
    const char *paths[] = {"/",
                           "/index.html",
                           "/dashboard",
                           "/settings/profile",
                           "/transactions/",
                           "/twin?scenario=withdrawal"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        expect_file(paths[i], INDEX, "text/html; charset=utf-8", "no-cache");
}

/* Every file with its type; /assets/ (named by content hash) for a year, the rest no-cache. */
static void test_e2e_static_files_types_and_caching(void)
{
    for (size_t i = 0; i < NFILES; i++)
        expect_file(files[i].path, files[i].body, files[i].ctype, files[i].cache);
}

/* A missing file, or anything under /assets/, is 404 not_found in JSON: a browser holding an
 * old page asks for last deployment's script and must not be handed HTML. */
static void test_e2e_static_missing_files_are_404(void)
{
    const char *paths[] = {"/assets/index-0ld0ld.js",
                           "/assets/index-0ld0ld.css",
                           "/assets/missing",
                           "/assets/",
                           "/favicon-32x32.png",
                           "/user/ada.lovelace",
                           "/.env"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        struct ft_http_resp r;
        CU_ASSERT_EQUAL(get(&st, "GET", paths[i], &r), 404);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"code\":\"not_found\""));
        CU_ASSERT_PTR_NULL(strstr(r.body, "e2e-static-index"));
        CU_ASSERT_PTR_NULL(strstr(r.body, "e2e-dotfile"));
        CU_ASSERT(header_is(&r, "Content-Type", "application/json", paths[i]));
        CU_ASSERT(header_is(&r, "Cache-Control", "no-cache", paths[i]));
        CU_ASSERT(header_is(&r, "X-Content-Type-Options", "nosniff", paths[i]));
        ft_http_resp_free(&r);
    }
}

/* HEAD: the GET's status and headers, Content-Length included, without the body. */
static void test_e2e_static_head(void)
{
    struct ft_http_resp r;
    const char *js = "/assets/index-4f1c2b.js";
    CU_ASSERT_EQUAL(get(&st, "HEAD", js, &r), 200);
    CU_ASSERT_EQUAL(r.body_len, 0);
    char len[16];
    snprintf(len, sizeof len, "%zu", strlen("console.log('e2e-js')"));
    CU_ASSERT(header_is(&r, "Content-Length", len, js));
    CU_ASSERT(header_is(&r, "Cache-Control", IMMUTABLE, js));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(get(&st, "HEAD", "/settings", &r), 200);
    CU_ASSERT_EQUAL(r.body_len, 0);
    snprintf(len, sizeof len, "%zu", strlen(INDEX));
    CU_ASSERT(header_is(&r, "Content-Length", len, "/settings"));
    CU_ASSERT(header_is(&r, "Cache-Control", "no-cache", "/settings"));
    ft_http_resp_free(&r);
    CU_ASSERT_EQUAL(get(&st, "HEAD", "/assets/index-0ld0ld.js", &r), 404);
    CU_ASSERT_EQUAL(r.body_len, 0);
    ft_http_resp_free(&r);
}

/* No web root: client routes get the built-in page, never cached; files are still 404. */
static void test_e2e_static_placeholder_without_root(void)
{
    const char *routes[] = {"/", "/dashboard"};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        struct ft_http_resp r;
        CU_ASSERT_EQUAL(get(&bare, "GET", routes[i], &r), 200);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "The web app has not been built"));
        CU_ASSERT(header_is(&r, "Content-Type", "text/html; charset=utf-8", routes[i]));
        CU_ASSERT(header_is(&r, "Cache-Control", "no-cache", routes[i]));
        CU_ASSERT(header_is(&r, "X-Content-Type-Options", "nosniff", routes[i]));
        ft_http_resp_free(&r);
    }
    struct ft_http_resp r;
    CU_ASSERT_EQUAL(get(&bare, "GET", "/assets/index-4f1c2b.js", &r), 404);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.body, "\"code\":\"not_found\""));
    ft_http_resp_free(&r);
}

int main(void)
{
    int rc = ft_need_servers();
    if (rc)
        return rc;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("e2e_static", suite_init, suite_clean);
    CU_add_test(s, "test_e2e_static_index_is_revalidated", test_e2e_static_index_is_revalidated);
    CU_add_test(s, "test_e2e_static_files_types_and_caching",
                test_e2e_static_files_types_and_caching);
    CU_add_test(s, "test_e2e_static_missing_files_are_404", test_e2e_static_missing_files_are_404);
    CU_add_test(s, "test_e2e_static_head", test_e2e_static_head);
    CU_add_test(s, "test_e2e_static_placeholder_without_root",
                test_e2e_static_placeholder_without_root);
    return ft_cunit_run();
}
