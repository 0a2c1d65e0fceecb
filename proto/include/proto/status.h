/*
 * proto/status.h — the project's error codes and the HTTP status vocabulary.
 *
 * Every proto_* function that can fail returns 0 or one of the negative PROTO_E*
 * codes below. Statuses on the wire are plain HTTP status numbers (ARCHITECTURE,
 * "Wire contract"), so there is no separate enum for them.
 * Thread-safe: everything here is pure.
 */
#ifndef PROTO_STATUS_H
#define PROTO_STATUS_H

enum proto_err {
    PROTO_OK = 0,
    PROTO_ESYNTAX = -1,    /* text or bytes are not of the expected grammar */
    PROTO_ERANGE = -2,     /* a number does not fit */
    PROTO_EPRECISION = -3, /* more fraction digits than the currency allows */
    PROTO_ELIMIT = -4,     /* a size, depth or count limit was exceeded */
    PROTO_ETYPE = -5,      /* a value has the wrong type */
    PROTO_EMISSING = -6,   /* a required field is absent */
    PROTO_EUTF8 = -7,      /* a string is not valid UTF-8 */
    PROTO_ENOMEM = -8,     /* allocation failed (only where we do not abort) */
    PROTO_EIO = -9,        /* the OS failed (getrandom, write, ...) */
    PROTO_EINVAL = -10,    /* an argument is invalid (unknown currency, bad config value) */
    PROTO_EVERSION = -11,  /* envelope version is not PROTO_WIRE_VERSION */
    PROTO_EAUTH = -12,     /* a token is malformed, forged, of the wrong kind or not yet valid */
    PROTO_EEXPIRED = -13,  /* a token's exp has passed (beyond the leeway) */
};

/* Returns a static English description of a PROTO_E* code ("unknown error" otherwise). */
const char *proto_strerror(int err);

/* Returns the HTTP reason phrase for a status ("OK", "Not Found"...); "Unknown" otherwise. */
const char *proto_http_reason(int status);

#endif
