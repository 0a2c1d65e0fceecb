/*
 * gateway/request.h — validating request headers and packing RPC args.
 *
 * Pure helpers used by the lws thread between an HTTP request and its envelope.
 * Thread-safe (no state).
 */
#ifndef GW_REQUEST_H
#define GW_REQUEST_H

#include <stddef.h>
#include <stdint.h>
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

/* What only the gateway knows about a request; packed as args.meta. */
struct gw_meta {
    const char *ip;    /* client address text; NULL packs "" */
    const char *jti;   /* the verified token's jti; NULL on public routes (omitted) */
    int64_t token_exp; /* the verified token's exp (unix s); packed only with jti */
};

/*
 * Packs the args map { path: {params}, query: {k: v}, meta: {ip, jti?, token_exp?},
 * body: <packed by caller> }: this writes the map header, "path", "query", "meta" and
 * the key "body"; the caller then packs exactly one value (nil, or the converted JSON).
 * meta comes only from the gateway, so a client cannot forge it (its JSON is args.body).
 * Repeated query keys: the last one wins. Strings must already be decoded.
 */
void gw_pack_args_head(msgpack_packer *pk, const struct gw_match *m, const struct gw_kv *query,
                       int nquery, const struct gw_meta *meta);

/*
 * Finds the token in an Authorization header value: "Bearer <token>" (scheme
 * case-insensitive, one or more spaces, no trailing whitespace, token non-empty
 * and made of visible ASCII). Returns 1 and sets *tok and *toklen (pointing into `hdr`),
 * else 0.
 */
int gw_bearer_token(const char *hdr, size_t len, const char **tok, size_t *toklen);

#define GW_IP_MAX 46 /* INET6_ADDRSTRLEN */

/*
 * Chooses the client address: with trust_proxy, the last entry of X-Forwarded-For
 * (what our own proxy appended) when it is a valid IPv4/IPv6 address; otherwise
 * (no header, garbage, or trust_proxy 0) the socket peer. Writes out (NUL-terminated,
 * at least GW_IP_MAX + 1 bytes) in one canonical spelling: IPv4-mapped IPv6 as IPv4, IPv6
 * as inet_ntop writes it. xff and peer may be NULL.
 */
void gw_client_ip(const char *xff, const char *peer, int trust_proxy, char *out, size_t outsz);

#endif
