/*
 * workers/auth/google.c — Google ID token verification (see google.h).
 *
 * libjwt 1.10 trusts the token header for the algorithm, accepts alg:none without a key,
 * lets an HS256 token keyed with an RSA public PEM verify, and checks no claim
 * (libjwt 1.10.2 as Debian 12 ships it). So the header is parsed here first, the key is
 * always ours (looked up by kid), the algorithm is checked again after jwt_decode, and every
 * claim is checked here on the parsed payload with jansson.
 */
#include "google.h"

#include <assert.h>
#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_client.h"
#include "proto/b64.h"
#include "proto/buf.h"

#define GOOGLE_TOKEN_MAX          16384 /* bytes; Google's ID tokens are ~1-2 KiB */
#define GOOGLE_HEADER_B64_MAX     1024  /* encoded header segment */
#define GOOGLE_LEEWAY_S           30
#define GOOGLE_REFETCH_MIN_S      60 /* an unknown kid refetches at most this often */
#define GOOGLE_RETRY_AFTER_FAIL_S 10 /* after a failed fetch, fail fast for this long */
#define GOOGLE_MAX_AGE_DEFAULT_S  3600
#define GOOGLE_MAX_AGE_CAP_S      86400
#define GOOGLE_FETCH_TIMEOUT_MS   5000
#define GOOGLE_FETCH_MAX_BODY     (1024 * 1024)
#define GOOGLE_MAX_KEYS           32
#define GOOGLE_KID_MAX            128
#define GOOGLE_RSA_MIN_BITS       2048
#define GOOGLE_RSA_MAX_BITS       8192

struct google_key {
    char kid[GOOGLE_KID_MAX + 1];
    char *pem; /* "-----BEGIN PUBLIC KEY-----" (libjwt rejects certificate PEMs) */
    size_t pem_len;
};

struct google_verifier {
    char *certs_url;
    char *client_id;
    struct google_key *keys;
    size_t nkeys;
    int have_keys;       /* a fetch has succeeded at least once */
    int64_t keys_expire; /* keys are fresh while now < keys_expire */
    int have_fetch;      /* a fetch was attempted (last_fetch is valid) */
    int64_t last_fetch;  /* time of the last attempt, successful or not */
    int last_failed;
};

static int fail(char *why, size_t whylen, int code, const char *msg)
{
    if (why && whylen)
        snprintf(why, whylen, "%s", msg);
    return code;
}

/* The string value of obj[key] when it is a string without embedded NULs, else NULL. */
static const char *get_str(json_t *obj, const char *key, size_t *len)
{
    json_t *s = json_object_get(obj, key);
    if (!json_is_string(s))
        return NULL;
    const char *v = json_string_value(s);
    size_t l = json_string_length(s);
    if (strlen(v) != l)
        return NULL;
    if (len)
        *len = l;
    return v;
}

/* Copies at most cap-1 bytes, cutting before a split UTF-8 sequence. */
static void copy_trunc(char *dst, size_t cap, const char *src, size_t len)
{
    if (len >= cap) {
        len = cap - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static void keys_free(struct google_key *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(keys[i].pem);
    free(keys);
}

/* Decodes a JWK base64url big-endian integer (padding tolerated) into a BIGNUM. */
static BIGNUM *jwk_bn(const char *b64, size_t len)
{
    unsigned char buf[GOOGLE_RSA_MAX_BITS / 8 + 8];
    while (len > 0 && b64[len - 1] == '=')
        len--;
    long n = proto_b64url_decode(b64, len, buf, sizeof buf);
    if (n <= 0)
        return NULL;
    return BN_bin2bn(buf, (int)n, NULL);
}

/* Builds an RSA public key from a JWK's n and e and returns it as a malloc'ed
 * SubjectPublicKeyInfo PEM, or NULL when the numbers are unacceptable. */
static char *jwk_to_pem(const char *n_b64, size_t n_len, const char *e_b64, size_t e_len,
                        size_t *pem_len)
{
    char *pem = NULL;
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;

    n = jwk_bn(n_b64, n_len);
    e = jwk_bn(e_b64, e_len);
    if (!n || !e)
        goto fail;
    int bits = BN_num_bits(n);
    if (bits < GOOGLE_RSA_MIN_BITS || bits > GOOGLE_RSA_MAX_BITS)
        goto fail;
    if (!BN_is_odd(e) || BN_num_bits(e) < 2 || BN_num_bits(e) > 64)
        goto fail;

    bld = OSSL_PARAM_BLD_new();
    if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        goto fail;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto fail;

    bio = BIO_new(BIO_s_mem());
    if (!bio || !PEM_write_bio_PUBKEY(bio, pkey))
        goto fail;
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || !data)
        goto fail;
    pem = proto_xstrndup(data, (size_t)len);
    *pem_len = (size_t)len;

fail:
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(e);
    BN_free(n);
    return pem;
}

/* Parses a JWKS document. Keys that are not RSA signing keys for RS256, or whose numbers
 * are unacceptable, are skipped; duplicate kids keep the first. Returns the number of keys
 * (*out malloc'ed when > 0) or -1 when the document itself is malformed. */
static long parse_jwks(const char *body, size_t len, struct google_key **out)
{
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *arr = json_is_object(root) ? json_object_get(root, "keys") : NULL;
    if (!json_is_array(arr)) {
        json_decref(root);
        return -1;
    }
    struct google_key *keys = proto_xcalloc(GOOGLE_MAX_KEYS, sizeof *keys);
    size_t nkeys = 0;
    size_t i;
    json_t *jk;
    json_array_foreach(arr, i, jk)
    {
        if (nkeys == GOOGLE_MAX_KEYS)
            break;
        /* get_str sets a length only when it returns non-NULL; gcc -O2 cannot see that */
        size_t kid_len = 0, n_len = 0, e_len = 0;
        const char *kty = get_str(jk, "kty", NULL);
        const char *alg = get_str(jk, "alg", NULL);
        const char *use = get_str(jk, "use", NULL);
        const char *kid = get_str(jk, "kid", &kid_len);
        const char *n = get_str(jk, "n", &n_len);
        const char *e = get_str(jk, "e", &e_len);
        if (!kty || strcmp(kty, "RSA") != 0 || !kid || kid_len == 0 || kid_len > GOOGLE_KID_MAX ||
            !n || !e)
            continue;
        if ((json_object_get(jk, "alg") && (!alg || strcmp(alg, "RS256") != 0)) ||
            (json_object_get(jk, "use") && (!use || strcmp(use, "sig") != 0)))
            continue;
        int dup = 0;
        for (size_t k = 0; k < nkeys; k++)
            dup |= strcmp(keys[k].kid, kid) == 0;
        if (dup)
            continue;
        size_t pem_len = 0;
        char *pem = jwk_to_pem(n, n_len, e, e_len, &pem_len);
        if (!pem)
            continue;
        memcpy(keys[nkeys].kid, kid, kid_len + 1);
        keys[nkeys].pem = pem;
        keys[nkeys].pem_len = pem_len;
        nkeys++;
    }
    json_decref(root);
    if (nkeys == 0) {
        free(keys);
        keys = NULL;
    }
    *out = keys;
    return (long)nkeys;
}

/* Fetches the JWKS and replaces the cache. Returns GOOGLE_OK or GOOGLE_EKEYS (the old keys
 * stay in place on failure). */
static int fetch_keys(struct google_verifier *v, int64_t now, char *why, size_t whylen)
{
    char hwhy[160];
    struct http_client_resp resp;
    v->have_fetch = 1;
    v->last_fetch = now;
    v->last_failed = 1;
    int rc = http_client_get(v->certs_url, GOOGLE_FETCH_TIMEOUT_MS, GOOGLE_FETCH_MAX_BODY, &resp,
                             hwhy, sizeof hwhy);
    if (rc != HTTP_CLIENT_OK) {
        if (why && whylen)
            snprintf(why, whylen, "google keys fetch failed: %s", hwhy);
        return GOOGLE_EKEYS;
    }
    if (resp.status != 200) {
        if (why && whylen)
            snprintf(why, whylen, "google keys fetch: HTTP %ld", resp.status);
        http_client_resp_free(&resp);
        return GOOGLE_EKEYS;
    }
    struct google_key *keys = NULL;
    long n = parse_jwks(resp.body, resp.body_len, &keys);
    long max_age = resp.max_age;
    http_client_resp_free(&resp);
    if (n < 0)
        return fail(why, whylen, GOOGLE_EKEYS, "google keys: malformed JWKS");
    if (n == 0)
        return fail(why, whylen, GOOGLE_EKEYS, "google keys: no usable RS256 key");

    keys_free(v->keys, v->nkeys);
    v->keys = keys;
    v->nkeys = (size_t)n;
    v->have_keys = 1;
    v->last_failed = 0;
    if (max_age < 0)
        max_age = GOOGLE_MAX_AGE_DEFAULT_S;
    if (max_age > GOOGLE_MAX_AGE_CAP_S)
        max_age = GOOGLE_MAX_AGE_CAP_S;
    v->keys_expire = now + max_age;
    return GOOGLE_OK;
}

static const struct google_key *find_key(const struct google_verifier *v, const char *kid)
{
    for (size_t i = 0; i < v->nkeys; i++)
        if (strcmp(v->keys[i].kid, kid) == 0)
            return &v->keys[i];
    return NULL;
}

/* 1 when the last attempt was less than `s` seconds ago. A clock that went backwards
 * counts as "long ago" so that it cannot block fetching forever. */
static int fetched_within(const struct google_verifier *v, int64_t now, int64_t s)
{
    return v->have_fetch && now >= v->last_fetch && now - v->last_fetch < s;
}

/* Returns the key for kid, fetching when the cache is stale, or (rate-limited) when the
 * kid is unknown: Google publishes a new key before signing with it, so an unknown kid
 * usually means our cache predates a rotation. */
static int lookup_key(struct google_verifier *v, const char *kid, int64_t now,
                      const struct google_key **key, char *why, size_t whylen)
{
    if (!v->have_keys || now >= v->keys_expire) {
        if (v->last_failed && fetched_within(v, now, GOOGLE_RETRY_AFTER_FAIL_S))
            return fail(why, whylen, GOOGLE_EKEYS, "google keys unavailable (recent fetch failed)");
        int rc = fetch_keys(v, now, why, whylen);
        if (rc != GOOGLE_OK)
            return rc;
    }
    *key = find_key(v, kid);
    if (*key)
        return GOOGLE_OK;
    if (fetched_within(v, now, GOOGLE_REFETCH_MIN_S))
        return fail(why, whylen, GOOGLE_EINVALID, "unknown kid");
    int rc = fetch_keys(v, now, why, whylen);
    if (rc != GOOGLE_OK)
        return rc;
    *key = find_key(v, kid);
    return *key ? GOOGLE_OK : fail(why, whylen, GOOGLE_EINVALID, "unknown kid");
}

/* Checks the shape of the token and its header: three base64url segments, a JSON object
 * header with alg "RS256", a string kid, and no "crit" (we implement no extension). */
static int check_header(const char *token, size_t len, char *kid, char *why, size_t whylen)
{
    for (size_t i = 0; i < len; i++) {
        char c = token[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return fail(why, whylen, GOOGLE_EINVALID, "token has invalid characters");
    }
    const char *dot1 = memchr(token, '.', len);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
    if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
        return fail(why, whylen, GOOGLE_EINVALID, "token is not three segments");
    size_t hlen = (size_t)(dot1 - token);
    if (hlen == 0 || hlen > GOOGLE_HEADER_B64_MAX || dot2 == dot1 + 1 || dot2 + 1 == token + len)
        return fail(why, whylen, GOOGLE_EINVALID, "token has an empty or oversized segment");

    unsigned char buf[GOOGLE_HEADER_B64_MAX];
    long n = proto_b64url_decode(token, hlen, buf, sizeof buf);
    if (n <= 0)
        return fail(why, whylen, GOOGLE_EINVALID, "token header is not base64url");
    json_error_t jerr;
    json_t *h = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    int rc = GOOGLE_EINVALID;
    size_t kid_len = 0;
    const char *alg = json_is_object(h) ? get_str(h, "alg", NULL) : NULL;
    const char *k = json_is_object(h) ? get_str(h, "kid", &kid_len) : NULL;
    if (!json_is_object(h))
        fail(why, whylen, rc, "token header is not a JSON object");
    else if (!alg || strcmp(alg, "RS256") != 0)
        fail(why, whylen, rc, "token alg is not RS256");
    else if (!k || kid_len == 0 || kid_len > GOOGLE_KID_MAX)
        fail(why, whylen, rc, "token has no usable kid");
    else if (json_object_get(h, "crit"))
        fail(why, whylen, rc, "token header has crit");
    else {
        memcpy(kid, k, kid_len + 1);
        rc = GOOGLE_OK;
    }
    json_decref(h);
    return rc;
}

static int check_time_claim(json_t *claims, const char *name, int64_t now, char *why, size_t whylen)
{
    json_t *t = json_object_get(claims, name);
    if (!t)
        return GOOGLE_OK;
    if (!json_is_integer(t)) {
        if (why && whylen)
            snprintf(why, whylen, "%s is not an integer", name);
        return GOOGLE_EINVALID;
    }
    if (json_integer_value(t) > now + GOOGLE_LEEWAY_S) {
        if (why && whylen)
            snprintf(why, whylen, "%s is in the future", name);
        return GOOGLE_EINVALID;
    }
    return GOOGLE_OK;
}

static int check_claims(const struct google_verifier *v, json_t *c, int64_t now,
                        struct google_identity *id, char *why, size_t whylen)
{
    if (!json_is_object(c))
        return fail(why, whylen, GOOGLE_EINVALID, "claims are not a JSON object");

    const char *iss = get_str(c, "iss", NULL);
    if (!iss || (strcmp(iss, "accounts.google.com") != 0 &&
                 strcmp(iss, "https://accounts.google.com") != 0))
        return fail(why, whylen, GOOGLE_EINVALID, "wrong iss");

    /* RFC 7519 allows aud to be an array; Google sets a single string for ID tokens, so an
     * array (possibly naming other audiences too) is refused rather than searched. */
    const char *aud = get_str(c, "aud", NULL);
    if (!aud || strcmp(aud, v->client_id) != 0)
        return fail(why, whylen, GOOGLE_EINVALID, "wrong aud");

    json_t *exp = json_object_get(c, "exp");
    if (!json_is_integer(exp))
        return fail(why, whylen, GOOGLE_EINVALID, "exp missing or not an integer");
    /* now < exp + leeway, written so that a huge exp cannot overflow. */
    if (json_integer_value(exp) <= now - GOOGLE_LEEWAY_S)
        return fail(why, whylen, GOOGLE_EINVALID, "token expired");
    int rc = check_time_claim(c, "nbf", now, why, whylen);
    if (rc == GOOGLE_OK)
        rc = check_time_claim(c, "iat", now, why, whylen);
    if (rc != GOOGLE_OK)
        return rc;

    size_t len = 0;
    const char *sub = get_str(c, "sub", &len);
    if (!sub || len == 0 || len >= sizeof id->sub)
        return fail(why, whylen, GOOGLE_EINVALID, "sub missing or too long");
    memcpy(id->sub, sub, len + 1);

    /* The optional fields never reject the token; unusable values are left empty. An email
     * that does not fit is dropped (and with it email_verified): a cut address is another
     * address. */
    const char *email = get_str(c, "email", &len);
    if (email && len < sizeof id->email) {
        memcpy(id->email, email, len + 1);
        id->email_verified = json_is_true(json_object_get(c, "email_verified")) && len > 0;
    }
    const char *name = get_str(c, "name", &len);
    if (name)
        copy_trunc(id->name, sizeof id->name, name, len);
    const char *pic = get_str(c, "picture", &len);
    if (pic && len < sizeof id->picture && strncmp(pic, "https://", 8) == 0)
        memcpy(id->picture, pic, len + 1);
    return GOOGLE_OK;
}

struct google_verifier *google_verifier_new(const char *certs_url, const char *client_id)
{
    struct google_verifier *v = proto_xcalloc(1, sizeof *v);
    v->certs_url = proto_xstrdup(certs_url ? certs_url : "");
    v->client_id = proto_xstrdup(client_id ? client_id : "");
    return v;
}

void google_verifier_free(struct google_verifier *v)
{
    if (!v)
        return;
    keys_free(v->keys, v->nkeys);
    free(v->client_id);
    free(v->certs_url);
    free(v);
}

int google_verify(struct google_verifier *v, const char *id_token, int64_t now_s,
                  struct google_identity *id, char *why, size_t whylen)
{
    assert(v && id);
    memset(id, 0, sizeof *id);
    if (why && whylen)
        why[0] = '\0';
    if (v->client_id[0] == '\0')
        return fail(why, whylen, GOOGLE_ECONFIG, "google client id not configured");
    if (!id_token || id_token[0] == '\0')
        return fail(why, whylen, GOOGLE_EINVALID, "empty token");
    size_t len = strnlen(id_token, GOOGLE_TOKEN_MAX + 1);
    if (len > GOOGLE_TOKEN_MAX)
        return fail(why, whylen, GOOGLE_EINVALID, "token too long");

    char kid[GOOGLE_KID_MAX + 1];
    int rc = check_header(id_token, len, kid, why, whylen);
    if (rc != GOOGLE_OK)
        return rc;
    const struct google_key *key = NULL;
    rc = lookup_key(v, kid, now_s, &key, why, whylen);
    if (rc != GOOGLE_OK)
        return rc;

    jwt_t *jwt = NULL;
    char *grants = NULL;
    json_t *claims = NULL;
    if (jwt_decode(&jwt, id_token, (const unsigned char *)key->pem, (int)key->pem_len) != 0) {
        rc = fail(why, whylen, GOOGLE_EINVALID, "bad signature");
        goto done;
    }
    if (jwt_get_alg(jwt) != JWT_ALG_RS256) {
        rc = fail(why, whylen, GOOGLE_EINVALID, "token alg is not RS256");
        goto done;
    }
    grants = jwt_get_grants_json(jwt, NULL);
    json_error_t jerr;
    claims = grants ? json_loads(grants, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    rc = check_claims(v, claims, now_s, id, why, whylen);

done:
    if (rc != GOOGLE_OK)
        memset(id, 0, sizeof *id);
    json_decref(claims);
    free(grants);
    jwt_free(jwt);
    return rc;
}
