/*
 * proto/b64.h — unpadded base64url (RFC 4648 §5), the encoding of JWT segments (RFC 7515 §2),
 * JWK numbers and our refresh tokens. Pure functions, thread-safe.
 */
#ifndef PROTO_B64_H
#define PROTO_B64_H

#include <stddef.h>

/* Characters needed to encode n bytes (without the NUL). */
#define PROTO_B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/* Encodes n bytes into out, NUL-terminated. Returns the length written, or PROTO_ELIMIT
 * when outcap < PROTO_B64URL_LEN(n) + 1 (out is then untouched). */
long proto_b64url_encode(const void *in, size_t n, char *out, size_t outcap);

/*
 * Decodes strictly: only the 64 URL-safe characters (no '=', no whitespace), no length of
 * 1 mod 4, and the unused low bits of the last character must be zero, so every byte
 * string has exactly one accepted encoding. out may be NULL to only validate and count.
 * Returns the decoded length (0 for empty input), PROTO_ESYNTAX, or PROTO_ELIMIT when
 * the result would exceed outcap.
 */
long proto_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap);

#endif
