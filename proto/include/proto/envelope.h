/*
 * proto/envelope.h — the RPC request/reply and event envelopes (msgpack maps).
 *
 * Exactly ARCHITECTURE's wire contract:
 *   request { v: 1, id, method, user: uuid|nil, idem: str|nil, deadline: unix ms, args }
 *   reply   { v: 1, id, status, body }  or  { v: 1, id, status, error: {code, message} }
 *           plus an optional `headers: {name: value}` map of extra HTTP response headers
 *           (e.g. "Idempotent-Replayed", "Retry-After") that the gateway passes on.
 *   event   { v: 1, id: uuid, type, user: uuid|nil, at: unix ms, data }
 * Decoders are strict: wrong version, wrong types, over-long fields, invalid UTF-8,
 * nesting deeper than PROTO_ENVELOPE_MAX_DEPTH or a message larger than
 * PROTO_ENVELOPE_MAX_BYTES are errors. Unknown extra keys are ignored.
 * Decoded structs borrow from the caller's msgpack_unpacked (`args`, `body`,
 * `headers`, `data`) and, because msgpack-c's unpack is zero-copy for str/bin/ext,
 * from the input buffer too: keep both alive, and destroy `up` only after use.
 * Thread-safe.
 */
#ifndef PROTO_ENVELOPE_H
#define PROTO_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include <msgpack.h>

#include "proto/clock.h" /* deadline and at are proto_now_ms() times */
#include "proto/uuid.h"

#define PROTO_WIRE_VERSION       1
#define PROTO_ENVELOPE_MAX_BYTES (4u << 20)
#define PROTO_ENVELOPE_MAX_DEPTH 32
#define PROTO_ID_MAX             64  /* request ids */
#define PROTO_METHOD_MAX         64  /* "txn.create"; also event types */
#define PROTO_IDEM_MAX           255 /* Idempotency-Key */
#define PROTO_CODE_MAX           64  /* error code, snake_case */
#define PROTO_MESSAGE_MAX        512 /* error message */

struct proto_request {
    char id[PROTO_ID_MAX + 1];
    char method[PROTO_METHOD_MAX + 1];
    char user[PROTO_UUID_LEN + 1]; /* "" when nil */
    char idem[PROTO_IDEM_MAX + 1]; /* "" when nil */
    int64_t deadline_ms;           /* unix ms */
    msgpack_object args;           /* decode: borrowed; nil when absent */
};

struct proto_reply {
    char id[PROTO_ID_MAX + 1];
    int status;   /* HTTP status, 100..599 */
    int is_error; /* 1: code/message set and body is nil */
    char code[PROTO_CODE_MAX + 1];
    char message[PROTO_MESSAGE_MAX + 1];
    msgpack_object body;    /* decode: borrowed; nil when absent */
    msgpack_object headers; /* decode: borrowed; a map of str -> str, or nil */
};

struct proto_event {
    char id[PROTO_UUID_LEN + 1];
    char type[PROTO_METHOD_MAX + 1];
    char user[PROTO_UUID_LEN + 1]; /* "" when nil */
    int64_t at_ms;
    msgpack_object data; /* decode: borrowed; nil when absent */
};

/*
 * Encoders append one envelope to `out` (caller owns it, msgpack_sbuffer_init'ed).
 * `*_mp`/`*_len` are one already-packed msgpack object copied in verbatim
 * (NULL means: args -> empty map, body/data -> nil, headers -> absent).
 * Return 0, or PROTO_ELIMIT / PROTO_EINVAL for fields that violate the limits above
 * (an empty id or method, a status outside 100..599, a user that is not a UUID),
 * or PROTO_EUTF8 for a string field that is not valid UTF-8. On error `out` is
 * left as it was. Any thread.
 */
int proto_request_encode(msgpack_sbuffer *out, const struct proto_request *req, const char *args_mp,
                         size_t args_len);
int proto_reply_encode(msgpack_sbuffer *out, const char *id, int status, const char *body_mp,
                       size_t body_len, const char *headers_mp, size_t headers_len);
int proto_reply_encode_error(msgpack_sbuffer *out, const char *id, int status, const char *code,
                             const char *message);
/* Like proto_reply_encode_error, plus an optional headers map (`headers_mp`, one
 * packed map of str -> str, NULL for none), e.g. "Retry-After" on a 429 or 503. */
int proto_reply_encode_error_headers(msgpack_sbuffer *out, const char *id, int status,
                                     const char *code, const char *message, const char *headers_mp,
                                     size_t headers_len);
int proto_event_encode(msgpack_sbuffer *out, const struct proto_event *ev, const char *data_mp,
                       size_t data_len);

/*
 * Decoders: `up` must be msgpack_unpacked_init'ed by the caller, who destroys it
 * after using the borrowed fields. Return 0, or PROTO_ESYNTAX (not one complete
 * msgpack map, trailing bytes, a known key twice), PROTO_EVERSION, PROTO_ETYPE,
 * PROTO_EMISSING, PROTO_ELIMIT, PROTO_EUTF8, or PROTO_EINVAL (an empty id, method,
 * type or error code; a user or event id that is not a UUID; a status outside
 * 100..599). Request `args` must be a map or nil; a reply carries either `body` or
 * `error`, never both. On error the struct holds no borrowed pointers (all nil).
 */
int proto_request_decode(const char *buf, size_t len, msgpack_unpacked *up,
                         struct proto_request *req);
int proto_reply_decode(const char *buf, size_t len, msgpack_unpacked *up, struct proto_reply *rep);
int proto_event_decode(const char *buf, size_t len, msgpack_unpacked *up, struct proto_event *ev);

#endif
