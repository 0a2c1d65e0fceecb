/*
 * gateway/request.h — validating request headers and packing RPC args.
 *
 * Pure helpers used by the lws thread between an HTTP request and its envelope.
 * Thread-safe (no state).
 */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stddef.h>
#include <msgpack.h>

#include "routes.h"

#define GW_QUERY_MAX 64 /* query parameters kept per request; more answer 400 */

struct gw_kv {
    const char *k;
    size_t klen;
    const char *v;
    size_t vlen;
};

/* 1 if `len` bytes of s match [A-Za-z0-9._-]{1,64} (an acceptable X-Request-Id). */
int gw_request_id_ok(const char *s, size_t len);

/* 1 if `len` bytes of s are 1..255 printable ASCII characters (an Idempotency-Key). */
int gw_idem_ok(const char *s, size_t len);

/* 1 if a Content-Type value names JSON ("application/json", optional parameters,
 * or "application/<x>+json"), case-insensitive. NULL is 0. */
int gw_content_type_json(const char *ct);

/* Splits one decoded "k=v" fragment (v may be absent: "k" -> ""). */
struct gw_kv gw_kv_split(const char *frag, size_t len);

/*
 * Packs the args map { path: {params}, query: {k: v}, body: <packed by caller> }:
 * this writes the map header, "path", "query" and the key "body"; the caller then
 * packs exactly one value (nil, or the converted JSON). Repeated query keys: the
 * last one wins. Strings must already be decoded.
 */
void gw_pack_args_head(msgpack_packer *pk, const struct gw_match *m, const struct gw_kv *query,
                       int nquery);

#endif
