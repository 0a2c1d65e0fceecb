/* Static files with SPA fallback and cache headers; see static.h. */
#include "static.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static const char placeholder[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    "<title>FinTwin</title></head>\n<body><h1>FinTwin</h1>"
    "<p>The gateway is running. The web app has not been built "
    "(set GW_WEB_ROOT or run the web build).</p></body></html>\n";

const char *gw_static_ctype(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"json", "application/json"},
        {"map", "application/json"},
        {"webmanifest", "application/manifest+json"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"avif", "image/avif"},
        {"ico", "image/x-icon"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"ttf", "font/ttf"},
        {"otf", "font/otf"},
        {"txt", "text/plain; charset=utf-8"},
        {"wasm", "application/wasm"},
    };
    const char *slash = strrchr(name, '/');
    const char *dot = strrchr(slash ? slash : name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

static int under_assets(const char *path)
{
    return strncmp(path, "/assets", 7) == 0 && (path[7] == '/' || path[7] == '\0');
}

/* The last segment has an extension: a '.' after its first byte and before its end. */
static int has_extension(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *seg = slash ? slash + 1 : path;
    const char *dot = strrchr(seg, '.');
    return dot && dot > seg && dot[1] != '\0';
}

int gw_static_is_client_route(const char *path)
{
    return !under_assets(path) && !has_extension(path);
}

static int is_html(const char *ctype)
{
    return strncmp(ctype, "text/html", 9) == 0;
}

const char *gw_static_cache_control(const char *path)
{
    return under_assets(path) && !is_html(gw_static_ctype(path)) ? GW_STATIC_IMMUTABLE
                                                                 : GW_STATIC_NO_CACHE;
}

/* 1 if every segment is non-hidden and the path has no backslash or control bytes. */
static int path_safe(const char *path)
{
    if (path[0] != '/')
        return 0;
    for (const char *p = path; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == '\\' || *p == 0x7f)
            return 0;
        if (*p == '/' && p[1] == '.')
            return 0;
    }
    return 1;
}

/* Reads a regular file. Returns 200, 404 (missing or not a regular file) or 500. */
static int read_file(const char *file, struct proto_buf *out)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) ? 404 : 500;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 404;
    }
    if ((unsigned long long)st.st_size > GW_STATIC_MAX_FILE) {
        close(fd);
        return 500;
    }
    proto_buf_reset(out);
    char chunk[16384];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return 500;
        }
        if (n == 0)
            break;
        proto_buf_append(out, chunk, (size_t)n);
    }
    close(fd);
    return 200;
}

int gw_static_load(const char *root, const char *path, struct proto_buf *out,
                   struct gw_static_file *f)
{
    static const char html[] = "text/html; charset=utf-8";
    proto_buf_reset(out);
    f->ctype = NULL;
    f->cache_control = GW_STATIC_NO_CACHE;
    if (!path_safe(path))
        return 404;
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (!gw_static_is_client_route(path))
            return 404;
        f->ctype = html;
        proto_buf_append(out, placeholder, sizeof placeholder - 1);
        return 200;
    }
    if (strlen(root) + strlen(path) + 16 > 4096)
        return 404;
    char file[4096];
    size_t plen = strlen(path);
    int is_dir = plen > 0 && path[plen - 1] == '/';
    snprintf(file, sizeof file, "%s%s%s", root, path, is_dir ? "index.html" : "");
    int rc = read_file(file, out);
    if (rc == 200) {
        f->ctype = gw_static_ctype(file);
        f->cache_control = is_dir ? GW_STATIC_NO_CACHE : gw_static_cache_control(path);
        return 200;
    }
    if (rc != 404 || !gw_static_is_client_route(path))
        return rc;
    /* SPA fallback: client-side routes are served index.html. */
    snprintf(file, sizeof file, "%s/index.html", root);
    rc = read_file(file, out);
    if (rc == 200)
        f->ctype = html;
    return rc;
}
