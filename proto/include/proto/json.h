/*
 * proto/json.h — JSON text <-> msgpack, with limits, for the gateway's edge.
 *
 * The gateway turns request bodies into msgpack with proto_json_to_msgpack and
 * reply bodies back into JSON with proto_msgpack_to_json. Our own parser (not
 * jansson) so that numbers keep their exact text: an integer that fits int64
 * becomes a msgpack int; any other number (fraction, exponent, beyond int64, and
 * "-0", whose sign would otherwise be lost) becomes a msgpack ext of type
 * PROTO_EXT_DECIMAL whose payload is the number's literal ASCII text, and is
 * printed back verbatim. That is how money stays exact end to end.
 * Pure functions, thread-safe.
 */
#ifndef PROTO_JSON_H
#define PROTO_JSON_H

#include <stddef.h>
#include <msgpack.h>

#include "proto/buf.h"

/* msgpack ext type: payload is a JSON number literal (ASCII, no NUL). */
#define PROTO_EXT_DECIMAL 1

struct proto_json_limits {
    size_t max_bytes;  /* whole document */
    int max_depth;     /* nesting of arrays/objects; a scalar at top level is depth 0 */
    size_t max_string; /* bytes of one string (after unescaping), one key or one number */
    size_t max_items;  /* total values in the document (keys not counted) */
};

/* 1 MiB, depth 32, 64 KiB strings, 100,000 items. Passing NULL limits means these. */
extern const struct proto_json_limits proto_json_default_limits;

/*
 * Parses one JSON document (RFC 8259; surrounding whitespace allowed; nothing
 * else after it) and packs it into `pk`. Strings must be valid UTF-8 (overlongs,
 * surrogates and > U+10FFFF are rejected; \u escapes with lone surrogates too).
 * Duplicate keys in one object are rejected (PROTO_ESYNTAX).
 * On error returns PROTO_ESYNTAX, PROTO_EUTF8 or PROTO_ELIMIT and, if errbuf is
 * not NULL, writes a short human message with the byte offset ("unexpected ',' at
 * byte 17"); what was already packed into pk must then be discarded by the caller.
 */
int proto_json_to_msgpack(const char *json, size_t len, const struct proto_json_limits *lim,
                          msgpack_packer *pk, char *errbuf, size_t errlen);

/*
 * Appends `obj` as compact JSON to `out`. Maps need string keys; str must be
 * valid UTF-8 and is escaped; PROTO_EXT_DECIMAL is printed as its text (after
 * checking it is a valid JSON number); nil -> null; float -> shortest text that
 * round-trips ("%.17g" fallback), NaN/Inf rejected. bin and other ext types are
 * rejected. Depth beyond max_depth is PROTO_ELIMIT.
 * Returns 0, or PROTO_ETYPE / PROTO_EUTF8 / PROTO_ELIMIT (out then holds a partial
 * document the caller must discard).
 */
int proto_msgpack_to_json(const msgpack_object *obj, int max_depth, struct proto_buf *out);

/* Appends `s` (len bytes) as a JSON string literal with quotes. Returns 0 or PROTO_EUTF8. */
int proto_json_quote(struct proto_buf *out, const char *s, size_t len);

/* 1 if the `len` bytes at s are valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int proto_utf8_valid(const char *s, size_t len);

#endif
