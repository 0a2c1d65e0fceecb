/*
 * proto/uuid.h — UUID v4 generation (getrandom) and validation. Thread-safe: each thread
 * draws random bytes for 16 UUIDs per getrandom call, and a forked child never repeats its
 * parent's UUIDs.
 */
#ifndef PROTO_UUID_H
#define PROTO_UUID_H

#define PROTO_UUID_LEN 36 /* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" */

/* Writes a random RFC 4122 version-4 UUID, lowercase, NUL-terminated, into out.
 * Returns 0 or PROTO_EIO if the kernel's random source fails. */
int proto_uuid_v4(char out[PROTO_UUID_LEN + 1]);

/* 1 if `s` (NUL-terminated) is a canonical 8-4-4-4-12 hex UUID (either case), else 0.
 * NULL is 0. Versions are not checked: ids minted elsewhere are accepted. */
int proto_uuid_valid(const char *s);

#endif
