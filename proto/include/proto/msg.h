/*
 * proto/msg.h — small helpers to read and write msgpack values in handlers.
 *
 * Readers never allocate; they copy into caller buffers and NUL-terminate.
 * Pure functions, thread-safe. `msgpack_object`s are borrowed from the caller's
 * msgpack_unpacked and live as long as it does.
 */
#ifndef PROTO_MSG_H
#define PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

/* The value under string key `key` in `map`, or NULL if map is not a map or the key is absent. */
const msgpack_object *proto_map_get(const msgpack_object *map, const char *key);

/* Copies a str object into buf (NUL-terminated). PROTO_ETYPE if not a str,
 * PROTO_ELIMIT if it does not fit, PROTO_EUTF8 if invalid UTF-8 or if it contains
 * a NUL byte (which would silently shorten the C string). */
int proto_obj_str(const msgpack_object *o, char *buf, size_t size);

/* Reads a str holding an RFC 4122 UUID (proto_uuid_valid, any case) into out, lowercased, as
 * ids are stored. 0, or -1 when o is not such a str. */
int proto_obj_uuid(const msgpack_object *o, char *out /* PROTO_UUID_LEN + 1 */);

/* A count from a query parameter: a non-negative decimal string of at most 10 digits (as the
 * gateway sends query values) or a positive int, <= max. 0 with *out set, or -1. */
int proto_obj_count(const msgpack_object *o, long max, long *out);

/* Reads an integer (positive or negative msgpack int). PROTO_ETYPE otherwise,
 * PROTO_ERANGE for a positive int above INT64_MAX. */
int proto_obj_int(const msgpack_object *o, int64_t *out);

/* Reads an amount: a str ("12.50"), an int (12), or a PROTO_EXT_DECIMAL (12.5),
 * all through proto_money_parse. Returns its codes, or PROTO_ETYPE. */
int proto_obj_money(const msgpack_object *o, int exponent, int64_t *minor);

/* Packs a NUL-terminated string; NULL packs nil. */
void proto_pack_cstr(msgpack_packer *pk, const char *s);

/* Packs an amount as a JSON-ready exact decimal: a PROTO_EXT_DECIMAL with the
 * proto_money_format text ("125.50"), or an int when exponent is 0. */
void proto_pack_money(msgpack_packer *pk, int64_t minor, int exponent);

/*
 * Walks `o` checking that every str (and map key) is valid UTF-8 and nesting
 * is at most max_depth. Returns 0, PROTO_EUTF8 or PROTO_ELIMIT.
 */
int proto_obj_check(const msgpack_object *o, int max_depth);

/*
 * Checks, without allocating, that the `len` bytes at buf are exactly one
 * well-formed msgpack object: nothing truncated, no trailing bytes, no reserved
 * byte 0xc1, container nesting at most max_depth (a scalar is depth 0), and every
 * declared array/map count small enough to fit in the remaining bytes.
 * Call it before msgpack_unpack_next on untrusted bytes: msgpack-c allocates a
 * container's declared element count up front, so a 5-byte array32 header could
 * otherwise ask for 64 GiB. Returns 0, PROTO_ESYNTAX or PROTO_ELIMIT (too deep).
 */
int proto_msgpack_scan(const char *buf, size_t len, int max_depth);

#endif
