/*
 * Unit tests for gateway/static.c: content types of what a Vite build emits, which missing
 * paths fall back to index.html, Cache-Control per file, and loading from a web root made in a
 * temporary directory (and from a missing one: the placeholder page).
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ft_test.h"
#include "static.h"

#define HTML "text/html; charset=utf-8"

static void test_static_types(void)
{
    static const struct {
        const char *name, *type;
    } want[] = {
        {"/index.html", HTML},
        {"/assets/index-4f1c2b.js", "text/javascript; charset=utf-8"},
        {"/assets/app.JS", "text/javascript; charset=utf-8"},
        {"/assets/worker-1a.mjs", "text/javascript; charset=utf-8"},
        {"/assets/index-9e8d.css", "text/css; charset=utf-8"},
        {"/assets/index-4f1c2b.js.map", "application/json"},
        {"/manifest.json", "application/json"},
        {"/site.webmanifest", "application/manifest+json"},
        {"/logo.svg", "image/svg+xml"},
        {"/assets/hero-77.png", "image/png"},
        {"/assets/photo.jpg", "image/jpeg"},
        {"/assets/photo.webp", "image/webp"},
        {"/assets/photo.avif", "image/avif"},
        {"/favicon.ico", "image/x-icon"},
        {"/assets/inter-latin-400.woff2", "font/woff2"},
        {"/assets/inter.woff", "font/woff"},
        {"/assets/inter.ttf", "font/ttf"},
        {"/assets/inter.otf", "font/otf"},
        {"/robots.txt", "text/plain; charset=utf-8"},
        {"/assets/engine.wasm", "application/wasm"},
        {"/dir.v1/file", "application/octet-stream"},
        {"/archive.tar.zst", "application/octet-stream"},
        {"/noext", "application/octet-stream"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = gw_static_ctype(want[i].name);
        CU_ASSERT_STRING_EQUAL(got, want[i].type);
        if (strcmp(got, want[i].type) != 0)
            fprintf(stderr, "\n  %s: %s, want %s\n", want[i].name, got, want[i].type);
    }
}

static void test_static_client_routes(void)
{
    static const char *const routes[] = {"/",          "/dashboard",    "/settings/profile",
                                         "/tx/42/",    "/v1.2/notes",   "/assetsx/a",
                                         "/trailing.", "/a/b/c/d/e/f/g"};
    static const char *const files[] = {"/favicon.ico", "/assets/app-abc123.js", "/assets/",
                                        "/assets",      "/assets/deep/x",        "/robots.txt",
                                        "/user/ada.l",  "/index.html",           "/app.js.map"};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        CU_ASSERT_EQUAL(gw_static_is_client_route(routes[i]), 1);
        if (!gw_static_is_client_route(routes[i]))
            fprintf(stderr, "\n  %s should fall back to index.html\n", routes[i]);
    }
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        CU_ASSERT_EQUAL(gw_static_is_client_route(files[i]), 0);
        if (gw_static_is_client_route(files[i]))
            fprintf(stderr, "\n  %s should not fall back to index.html\n", files[i]);
    }
}

static void test_static_cache_control(void)
{
    CU_ASSERT_STRING_EQUAL(GW_STATIC_IMMUTABLE, "public, max-age=31536000, immutable");
    CU_ASSERT_STRING_EQUAL(GW_STATIC_NO_CACHE, "no-cache");
    static const char *const immutable[] = {"/assets/index-4f1c2b.js", "/assets/index-9e8d.css",
                                            "/assets/fonts/inter-400.woff2",
                                            "/assets/index-4f1c2b.js.map"};
    static const char *const revalidate[] = {
        "/index.html",        "/favicon.ico",  "/robots.txt",    "/site.webmanifest",
        "/assets/embed.html", "/assetsx/a.js", "/js/assets/a.js"};
    for (size_t i = 0; i < sizeof immutable / sizeof immutable[0]; i++)
        CU_ASSERT_STRING_EQUAL(gw_static_cache_control(immutable[i]), GW_STATIC_IMMUTABLE);
    for (size_t i = 0; i < sizeof revalidate / sizeof revalidate[0]; i++)
        CU_ASSERT_STRING_EQUAL(gw_static_cache_control(revalidate[i]), GW_STATIC_NO_CACHE);
}

/* ---- loading from a root ---- */

static char root[64];

static void put(const char *rel, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    CU_ASSERT_EQUAL_FATAL(fclose(f), 0);
}

static void rm(const char *rel)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    CU_ASSERT_EQUAL(remove(path), 0);
}

/* Loads `path` and checks status, body (NULL: empty), type (NULL: none) and cache policy. */
static void expect(const char *path, int status, const char *body, const char *ctype,
                   const char *cache)
{
    struct proto_buf b = {0};
    struct gw_static_file f = {"junk", "junk"};
    int st = gw_static_load(root, path, &b, &f);
    int ok = st == status &&
             (body ? b.len == strlen(body) && memcmp(b.data, body, b.len) == 0 : b.len == 0) &&
             (ctype ? f.ctype && strcmp(f.ctype, ctype) == 0 : f.ctype == NULL) &&
             strcmp(f.cache_control, cache) == 0;
    if (!ok)
        fprintf(stderr, "\n  %s: %d %.*s (%s, %s), want %d %s (%s, %s)\n", path, st, (int)b.len,
                b.data ? b.data : "", f.ctype ? f.ctype : "-", f.cache_control, status,
                body ? body : "", ctype ? ctype : "-", cache);
    CU_ASSERT_TRUE(ok);
    proto_buf_free(&b);
}

static void test_static_load_a_vite_build(void)
{
    snprintf(root, sizeof root, "/tmp/ft-test-static-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(root));
    char dir[128];
    snprintf(dir, sizeof dir, "%s/assets", root);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    snprintf(dir, sizeof dir, "%s/help", root);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0755), 0);
    put("index.html", "<!doctype html>spa");
    put("assets/index-4f1c2b.js", "js!");
    put("favicon.ico", "ico");
    put("help/index.html", "help");
    put(".env", "SECRET=1");

    const char *js = "text/javascript; charset=utf-8";
    expect("/", 200, "<!doctype html>spa", HTML, GW_STATIC_NO_CACHE);
    expect("/index.html", 200, "<!doctype html>spa", HTML, GW_STATIC_NO_CACHE);
    expect("/dashboard/settings", 200, "<!doctype html>spa", HTML, GW_STATIC_NO_CACHE);
    expect("/assets/index-4f1c2b.js", 200, "js!", js, GW_STATIC_IMMUTABLE);
    expect("/favicon.ico", 200, "ico", "image/x-icon", GW_STATIC_NO_CACHE);
    expect("/help/", 200, "help", HTML, GW_STATIC_NO_CACHE);
    /* Missing files that are not client routes: 404, never index.html. */
    expect("/assets/index-0ld0ld.js", 404, NULL, NULL, GW_STATIC_NO_CACHE);
    expect("/assets/missing", 404, NULL, NULL, GW_STATIC_NO_CACHE);
    expect("/assets/", 404, NULL, NULL, GW_STATIC_NO_CACHE);
    expect("/assets", 404, NULL, NULL, GW_STATIC_NO_CACHE); /* a directory, not a file */
    expect("/apple-touch-icon.png", 404, NULL, NULL, GW_STATIC_NO_CACHE);
    expect("/user/ada.l", 404, NULL, NULL, GW_STATIC_NO_CACHE);
    /* A directory without a trailing slash is a client route. */
    expect("/help", 200, "<!doctype html>spa", HTML, GW_STATIC_NO_CACHE);
    expect("/.env", 404, NULL, NULL, GW_STATIC_NO_CACHE);
    expect("/help/../.env", 404, NULL, NULL, GW_STATIC_NO_CACHE);

    /* Without index.html a client route has nothing to fall back to. */
    rm("index.html");
    expect("/dashboard", 404, NULL, NULL, GW_STATIC_NO_CACHE);
    expect("/assets/index-4f1c2b.js", 200, "js!", js, GW_STATIC_IMMUTABLE);

    rm("assets/index-4f1c2b.js");
    rm("favicon.ico");
    rm("help/index.html");
    rm(".env");
    rm("help");
    rm("assets");
    CU_ASSERT_EQUAL(rmdir(root), 0);
}

static void test_static_placeholder_without_root(void)
{
    snprintf(root, sizeof root, "/nonexistent-ft-web-root");
    struct proto_buf b = {0};
    struct gw_static_file f;
    const char *routes[] = {"/", "/dashboard", "/settings/"};
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        CU_ASSERT_EQUAL(gw_static_load(root, routes[i], &b, &f), 200);
        CU_ASSERT(b.len > 0 && strstr(b.data, "The web app has not been built"));
        CU_ASSERT_STRING_EQUAL(f.ctype, HTML);
        CU_ASSERT_STRING_EQUAL(f.cache_control, GW_STATIC_NO_CACHE);
    }
    const char *refused[] = {"/assets/index-4f1c2b.js", "/favicon.ico", "/.env", "/a/../b",
                             "/.git/config"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        expect(refused[i], 404, NULL, NULL, GW_STATIC_NO_CACHE);
    CU_ASSERT_EQUAL(gw_static_load("/etc", "/.git/config", &b, &f), 404);
    proto_buf_free(&b);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("static", NULL, NULL);
    CU_add_test(s, "test_static_types", test_static_types);
    CU_add_test(s, "test_static_client_routes", test_static_client_routes);
    CU_add_test(s, "test_static_cache_control", test_static_cache_control);
    CU_add_test(s, "test_static_load_a_vite_build", test_static_load_a_vite_build);
    CU_add_test(s, "test_static_placeholder_without_root", test_static_placeholder_without_root);
    return ft_cunit_run();
}
