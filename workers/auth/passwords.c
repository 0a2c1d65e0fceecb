/*
 * Email, password and name rules, and argon2id password hashing; see rules.h.
 */
#include <argon2.h>
#include <string.h>
#include <sys/random.h>

#include "proto/msg.h"
#include "proto/status.h"
#include "rules.h"

#define EMAIL_LOCAL_MAX 64

size_t auth_utf8_count(const char *s)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80) /* not a continuation byte: a code point starts here */
            n++;
    return n;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trimmed [*start, *start + *len) of s. */
static void trim(const char *s, const char **start, size_t *len)
{
    size_t n = strlen(s);
    while (n > 0 && is_space((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_space((unsigned char)s[n - 1]))
        n--;
    *start = s;
    *len = n;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int auth_email_normalize(const char *in, char *email, char *norm)
{
    const char *s;
    size_t len;
    trim(in, &s, &len);
    if (len < 3 || len > AUTH_EMAIL_MAX)
        return PROTO_EINVAL;
    const char *at = memchr(s, '@', len);
    if (!at || memchr(at + 1, '@', len - (size_t)(at - s) - 1))
        return PROTO_EINVAL;
    size_t local = (size_t)(at - s), dlen = len - local - 1;
    if (local == 0 || local > EMAIL_LOCAL_MAX || dlen < 3)
        return PROTO_EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7F)
            return PROTO_EINVAL;
    }
    const char *d = at + 1;
    if (d[0] == '.' || d[dlen - 1] == '.' || !memchr(d, '.', dlen))
        return PROTO_EINVAL;
    for (size_t i = 0; i + 1 < dlen; i++)
        if (d[i] == '.' && d[i + 1] == '.')
            return PROTO_EINVAL;
    for (size_t i = 0; i < len; i++) {
        email[i] = i > local ? lower(s[i]) : s[i];
        norm[i] = lower(s[i]);
    }
    email[len] = norm[len] = '\0';
    return 0;
}

int auth_password_check(const char *pw)
{
    size_t n = auth_utf8_count(pw);
    return n >= AUTH_PASSWORD_MIN && n <= AUTH_PASSWORD_MAX ? 0 : PROTO_EINVAL;
}

int auth_name_clean(const char *in, char *out, size_t size)
{
    const char *s;
    size_t len;
    trim(in, &s, &len);
    if (len == 0 || len >= size)
        return PROTO_EINVAL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            return PROTO_EINVAL;
    }
    memcpy(out, s, len);
    out[len] = '\0';
    return auth_utf8_count(out) <= AUTH_NAME_MAX ? 0 : PROTO_EINVAL;
}

int auth_password_hash(const char *pw, char *out, size_t size)
{
    unsigned char salt[AUTH_ARGON2_SALT];
    if (getrandom(salt, sizeof salt, 0) != (ssize_t)sizeof salt)
        return PROTO_EIO;
    int rc = argon2id_hash_encoded(AUTH_ARGON2_T, AUTH_ARGON2_M_KIB, AUTH_ARGON2_P, pw, strlen(pw),
                                   salt, sizeof salt, AUTH_ARGON2_HASHLEN, out, size);
    return rc == ARGON2_OK ? 0 : PROTO_EINVAL;
}

int auth_password_verify(const char *encoded, const char *pw)
{
    /* argon2id_verify compares in constant time and takes its parameters from `encoded`. */
    return argon2id_verify(encoded, pw, strlen(pw)) == ARGON2_OK;
}

int auth_body_str(const msgpack_object *body, const char *key, char *buf, size_t size)
{
    const msgpack_object *o = proto_map_get(body, key);
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return PROTO_EMISSING;
    return proto_obj_str(o, buf, size);
}

static int invalid(struct auth_invalid *bad, const char *code, const char *message)
{
    bad->code = code;
    bad->message = message;
    return PROTO_EINVAL;
}

int auth_email_parse(const msgpack_object *map, char *email, char *norm, struct auth_invalid *bad)
{
    char raw[AUTH_EMAIL_MAX + 64]; /* room for whitespace that trimming removes */
    int rc = auth_body_str(map, "email", raw, sizeof raw);
    if (rc == PROTO_EMISSING)
        return invalid(bad, "invalid_email", "email is required.");
    if (rc != 0 || auth_email_normalize(raw, email, norm) != 0)
        return invalid(bad, "invalid_email",
                       "email must be a valid address of at most 254 characters.");
    return 0;
}

int auth_register_parse(const msgpack_object *body, struct auth_register_input *in,
                        struct auth_invalid *bad)
{
    int rc = auth_email_parse(body, in->email, in->email_norm, bad);
    if (rc != 0)
        return rc;

    rc = auth_body_str(body, "password", in->password, sizeof in->password);
    if (rc == PROTO_EMISSING)
        return invalid(bad, "invalid_password", "password is required.");
    if (rc != 0 || auth_password_check(in->password) != 0)
        return invalid(bad, "invalid_password", "password must have 8 to 128 characters.");

    char name[AUTH_NAME_BUF + 64];
    rc = auth_body_str(body, "full_name", name, sizeof name);
    if (rc == PROTO_EMISSING)
        return invalid(bad, "invalid_full_name", "full_name is required.");
    if (rc != 0 || auth_name_clean(name, in->full_name, sizeof in->full_name) != 0)
        return invalid(bad, "invalid_full_name",
                       "full_name must have 1 to 100 characters and no control characters.");
    return 0;
}
