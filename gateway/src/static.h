/*
 * gateway/static.h — the single-page app's files from GW_WEB_ROOT.
 *
 * Unknown non-/api GET paths fall back to index.html (client-side routing). Paths
 * with a segment starting with '.' (dotfiles, "..", however encoded before the HTTP
 * library decoded them) are never served. When the root directory does not exist,
 * "/" (and the SPA fallback) serve a built-in placeholder page.
 * Blocking file reads on small files; lws thread only.
 */
#ifndef GW_STATIC_H
#define GW_STATIC_H

#include "proto/buf.h"

#define GW_STATIC_MAX_FILE (32u << 20)

/*
 * Loads the file for the decoded request `path` under `root` into `out` (reset first)
 * and sets *ctype to a static Content-Type. Returns an HTTP status: 200, 404 (no such
 * file and no index.html to fall back to, or a refused path), 500 (unreadable).
 */
int gw_static_load(const char *root, const char *path, struct proto_buf *out, const char **ctype);

/* Content-Type for a file name by its extension ("application/octet-stream" otherwise). */
const char *gw_static_ctype(const char *name);

#endif
