/*
 * gateway/static.h — the single-page app's files from GW_WEB_ROOT (a Vite build: index.html,
 * content-hashed files under /assets/, a few fixed files such as favicon.ico).
 *
 * A missing path that looks like a client-side route (not under /assets/, no extension in its
 * last segment) is answered with index.html; any other missing path is 404, so a stale hashed
 * script never receives HTML. Files under /assets/ may be cached for a year; index.html and
 * everything else must be revalidated (no-cache), so a new deployment is seen at once. Paths
 * with a segment starting with '.' (dotfiles, "..", however encoded before the HTTP library
 * decoded them) are never served. When the root directory does not exist, client routes
 * (and "/") are a built-in placeholder page.
 * Blocking file reads on small files; lws thread only. The pure helpers are thread-safe.
 */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include "proto/buf.h"

#define GW_STATIC_MAX_FILE (32u << 20)

#define GW_STATIC_IMMUTABLE "public, max-age=31536000, immutable"
#define GW_STATIC_NO_CACHE  "no-cache"

/* What gw_static_load found besides the bytes. Both strings are static. */
struct gw_static_file {
    const char *ctype;         /* Content-Type; set with a 200 */
    const char *cache_control; /* Cache-Control; set for every answer, errors too */
};

/*
 * Loads the file for the decoded request `path` under `root` into `out` (reset first) and
 * fills *f. Returns an HTTP status: 200, 404 (no such file and not a client route, no
 * index.html to fall back to, or a refused path), 500 (unreadable).
 */
int gw_static_load(const char *root, const char *path, struct proto_buf *out,
                   struct gw_static_file *f);

/* Content-Type for a file name by its extension ("application/octet-stream" otherwise). */
const char *gw_static_ctype(const char *name);

/* 1 if a missing `path` may be answered with index.html: it is not /assets or under it, and
 * its last segment has no extension (no '.' after the segment's first byte). */
int gw_static_is_client_route(const char *path);

/* Cache-Control for the file at `path` (not a directory's index): GW_STATIC_IMMUTABLE under
 * /assets/ (Vite names those files by their content hash) except HTML, else
 * GW_STATIC_NO_CACHE. */
const char *gw_static_cache_control(const char *path);

#endif
