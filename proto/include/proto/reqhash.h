/*
 * proto/reqhash.h — the hash that tells an idempotent retry from a different request under the
 * same Idempotency-Key (the ledger and the twin worker store it beside each key).
 * Pure, thread-safe (libcrypto's digests only).
 */
#ifndef PROTO_REQHASH_H
#define PROTO_REQHASH_H

#include <msgpack.h>

#define PROTO_HASH_LEN 32 /* SHA-256 */

/*
 * SHA-256 of `method`, a NUL, and a canonical encoding of `body` (maps with their keys in
 * byte order, every value tagged with its type and length), so the same JSON document with
 * its keys in another order hashes the same and any other document does not.
 * `body` may be NULL (hashed as nil). Returns 0 or PROTO_EIO (the digest failed).
 */
int proto_request_hash(const char *method, const msgpack_object *body,
                       unsigned char out[PROTO_HASH_LEN]);

#endif
