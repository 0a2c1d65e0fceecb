/*
 * workers/auth/rules.h — the auth worker's pure rules: email normalisation, password and
 * name validation, password hashing (argon2id), request-body field parsing and profile
 * validation. No I/O besides the kernel's random source (for salts); no database, no Redis,
 * so everything here is unit-tested without servers (tests/unit/test_auth_rules.c).
 * Thread-safe. Implemented in passwords.c and profile.c.
 */
#ifndef AUTH_RULES_H
#define AUTH_RULES_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_EMAIL_MAX      254 /* bytes, after trimming */
#define AUTH_PASSWORD_MIN   8   /* code points */
#define AUTH_PASSWORD_MAX   128 /* code points */
#define AUTH_NAME_MAX       100 /* code points: full_name, account_name */
#define AUTH_NAME_BUF       (AUTH_NAME_MAX * 4 + 1)
#define AUTH_PASSWORD_BUF   (AUTH_PASSWORD_MAX * 4 + 1)
#define AUTH_HASH_BUF       128 /* a PHC argon2id string with our parameters is ~97 bytes */
#define AUTH_ARGON2_M_KIB   19456
#define AUTH_ARGON2_T       2
#define AUTH_ARGON2_P       1
#define AUTH_ARGON2_SALT    16
#define AUTH_ARGON2_HASHLEN 32

/* Number of code points in a valid UTF-8 string (NUL-terminated). */
size_t auth_utf8_count(const char *s);

/*
 * Normalises an email address: trims ASCII whitespace, lowercases the domain (the local
 * part keeps its case) into `email`, and the whole address into `norm` (the uniqueness key).
 * Accepts <= AUTH_EMAIL_MAX bytes with exactly one '@', a non-empty local part of at most
 * 64 bytes, and a domain with a dot that neither starts nor ends it and no empty labels;
 * no spaces or control characters. Both buffers need AUTH_EMAIL_MAX + 1 bytes.
 * Returns 0, or PROTO_EINVAL (not a plausible address).
 */
int auth_email_normalize(const char *in, char *email, char *norm);

/* 0 if `pw` has AUTH_PASSWORD_MIN..AUTH_PASSWORD_MAX code points, else PROTO_EINVAL. */
int auth_password_check(const char *pw);

/*
 * Trims ASCII whitespace from `in` into `out` (AUTH_NAME_BUF bytes) and checks it has
 * 1..AUTH_NAME_MAX code points and no control characters. Returns 0 or PROTO_EINVAL.
 */
int auth_name_clean(const char *in, char *out, size_t size);

/*
 * Hashes `pw` with argon2id (m = 19 MiB, t = 2, p = 1, 16-byte random salt, 32-byte hash)
 * into the PHC string form ("$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>") in `out`
 * (AUTH_HASH_BUF bytes). Returns 0, PROTO_EIO (no randomness) or PROTO_EINVAL.
 */
int auth_password_hash(const char *pw, char *out, size_t size);

/* 1 if `pw` matches the PHC-encoded argon2id `encoded`, else 0 (also for a bad string). */
int auth_password_verify(const char *encoded, const char *pw);

/*
 * Reads string field `key` of map `body` into buf. Returns 0, PROTO_EMISSING (absent or
 * nil), PROTO_ETYPE (not a string), PROTO_ELIMIT (does not fit) or PROTO_EUTF8.
 */
int auth_body_str(const msgpack_object *body, const char *key, char *buf, size_t size);

/* What a failed validation answers: 422 and a field-specific code. */
struct auth_invalid {
    const char *code;    /* "invalid_email", ... (static) */
    const char *message; /* a human sentence (static) */
};

/*
 * Reads string field "email" of map `map` (a request body or query; NULL or not a map counts
 * as absent) and normalises it (auth_email_normalize) into `email` and `norm`, each
 * AUTH_EMAIL_MAX + 1 bytes. Returns 0, or PROTO_EINVAL with *bad = invalid_email ("email is
 * required." when absent or nil, else a sentence naming the limits).
 */
int auth_email_parse(const msgpack_object *map, char *email, char *norm, struct auth_invalid *bad);

struct auth_register_input {
    char email[AUTH_EMAIL_MAX + 1];
    char email_norm[AUTH_EMAIL_MAX + 1];
    char password[AUTH_PASSWORD_BUF];
    char full_name[AUTH_NAME_BUF];
};

/* Validates a register body (a map) in field order email, password, full_name.
 * Returns 0, or PROTO_EINVAL with *bad set. */
int auth_register_parse(const msgpack_object *body, struct auth_register_input *in,
                        struct auth_invalid *bad);

#define AUTH_PHONE_BUF 17

struct auth_profile {
    char account_name[AUTH_NAME_BUF];
    char phone_number[AUTH_PHONE_BUF];
    char currency[4];
    int exponent;           /* of currency */
    int64_t monthly_income; /* minor units of currency, >= 0 */
    char financial_goal[16];
    char risk_appetite[8];
};

/*
 * Validates a profile body (a map): all six fields are required, checked in the order
 * account_name, phone_number, currency_preference, monthly_income, financial_goal,
 * risk_appetite; the first bad one is reported (invalid_<field>, invalid_currency for the
 * currency). monthly_income is parsed exactly in the chosen currency and must be >= 0.
 * Returns 0, or PROTO_EINVAL with *bad set.
 */
int auth_profile_parse(const msgpack_object *body, struct auth_profile *p,
                       struct auth_invalid *bad);

#endif
