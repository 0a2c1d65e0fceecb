/*
 * tests/support/ft_google.c — local Google key server and token signer (see ft_google.h).
 */
#include "ft_google.h"

#include "proto/b64.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <jwt.h>
#include <netinet/in.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_KEYS 16

struct entry {
    struct ft_google_key key;
    int published;
};

struct ft_google_server {
    int fd;
    int wake[2]; /* a byte on wake[1] stops the thread */
    pthread_t thread;
    char url[64];
    pthread_mutex_t mu; /* guards keys[].published, nkeys, max_age, mode */
    struct entry keys[MAX_KEYS];
    int nkeys;
    int max_age;
    enum ft_google_mode mode;
    atomic_int requests;
};

static char *b64url(const unsigned char *in, size_t len)
{
    char *out = malloc(PROTO_B64URL_LEN(len) + 1);
    if (!out)
        abort();
    proto_b64url_encode(in, len, out, PROTO_B64URL_LEN(len) + 1);
    return out;
}

static char *bn_b64url(const EVP_PKEY *pkey, const char *param)
{
    BIGNUM *bn = NULL;
    if (!EVP_PKEY_get_bn_param(pkey, param, &bn))
        return NULL;
    int n = BN_num_bytes(bn);
    unsigned char *buf = malloc((size_t)n + 1);
    if (!buf)
        abort();
    BN_bn2bin(bn, buf);
    char *s = b64url(buf, (size_t)n);
    free(buf);
    BN_free(bn);
    return s;
}

static char *bio_string(BIO *bio)
{
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    if (len <= 0)
        return NULL;
    return strndup(data, (size_t)len);
}

static int key_generate(struct ft_google_key *k, const char *kid)
{
    memset(k, 0, sizeof *k);
    snprintf(k->kid, sizeof k->kid, "%s", kid);
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
    int ok = pkey && priv && pub &&
             PEM_write_bio_PrivateKey(priv, pkey, NULL, NULL, 0, NULL, NULL) &&
             PEM_write_bio_PUBKEY(pub, pkey);
    if (ok) {
        k->private_pem = bio_string(priv);
        k->public_pem = bio_string(pub);
        k->n_b64 = bn_b64url(pkey, OSSL_PKEY_PARAM_RSA_N);
        k->e_b64 = bn_b64url(pkey, OSSL_PKEY_PARAM_RSA_E);
        ok = k->private_pem && k->public_pem && k->n_b64 && k->e_b64;
    }
    BIO_free(pub);
    BIO_free(priv);
    EVP_PKEY_free(pkey);
    return ok ? 0 : -1;
}

static void key_clear(struct ft_google_key *k)
{
    free(k->private_pem);
    free(k->public_pem);
    free(k->n_b64);
    free(k->e_b64);
    memset(k, 0, sizeof *k);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Builds the response body for the current configuration (under the lock). */
static char *jwks_body(struct ft_google_server *s)
{
    json_t *arr = json_array();
    for (int i = 0; i < s->nkeys; i++) {
        if (!s->keys[i].published)
            continue;
        const struct ft_google_key *k = &s->keys[i].key;
        json_array_append_new(arr,
                              json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "kid", k->kid, "n", k->n_b64,
                                        "e", k->e_b64, "kty", "RSA", "alg", "RS256", "use", "sig"));
    }
    json_t *root = json_pack("{s:o}", "keys", arr);
    char *body = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return body;
}

static void serve_one(struct ft_google_server *s, int c)
{
    struct timeval tv = {.tv_sec = 2};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char req[8192];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t r = recv(c, req + n, sizeof req - 1 - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        req[n] = '\0';
        if (strstr(req, "\r\n\r\n"))
            break;
    }
    req[n] = '\0';
    if (n == 0)
        return;
    atomic_fetch_add(&s->requests, 1);

    int is_certs = strncmp(req, "GET /certs ", 11) == 0 || strncmp(req, "GET /certs?", 11) == 0;
    char *body = NULL;
    int status = 200;
    char cache[64] = "";
    pthread_mutex_lock(&s->mu);
    if (!is_certs) {
        status = 404;
        body = strdup("not found\n");
    } else if (s->mode == FT_GOOGLE_SERVE_500) {
        status = 500;
        body = strdup("internal error\n");
    } else if (s->mode == FT_GOOGLE_SERVE_GARBAGE) {
        body = strdup("<html>this is not JSON</html>");
    } else {
        body = jwks_body(s);
    }
    if (status == 200 && s->max_age >= 0)
        snprintf(cache, sizeof cache, "Cache-Control: public, max-age=%d\r\n", s->max_age);
    pthread_mutex_unlock(&s->mu);
    if (!body)
        abort();

    char head[512];
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=UTF-8\r\n"
                      "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
                      status, status == 200 ? "OK" : "Error", strlen(body), cache);
    if (write_all(c, head, (size_t)hl) == 0)
        write_all(c, body, strlen(body));
    free(body);
}

static void *server_main(void *arg)
{
    struct ft_google_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN},
                              {.fd = s->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (p[0].revents & POLLIN) {
            int c = accept(s->fd, NULL, NULL);
            if (c < 0)
                continue;
            serve_one(s, c);
            close(c);
        }
    }
    return NULL;
}

struct ft_google_server *ft_google_server_start(void)
{
    struct ft_google_server *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->fd = -1;
    s->wake[0] = s->wake[1] = -1;
    s->max_age = 3600;
    atomic_init(&s->requests, 0);
    pthread_mutex_init(&s->mu, NULL);

    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->fd, 16) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &al) != 0 || pipe(s->wake) != 0) {
        perror("ft_google_server_start");
        goto fail;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/certs", ntohs(a.sin_port));
    if (pthread_create(&s->thread, NULL, server_main, s) != 0) {
        fprintf(stderr, "ft_google_server_start: pthread_create failed\n");
        goto fail;
    }
    return s;

fail:
    if (s->wake[0] >= 0)
        close(s->wake[0]);
    if (s->wake[1] >= 0)
        close(s->wake[1]);
    if (s->fd >= 0)
        close(s->fd);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
}

void ft_google_server_stop(struct ft_google_server *s)
{
    if (!s)
        return;
    ssize_t w;
    do
        w = write(s->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    close(s->wake[0]);
    close(s->wake[1]);
    close(s->fd);
    for (int i = 0; i < s->nkeys; i++)
        key_clear(&s->keys[i].key);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *ft_google_server_url(const struct ft_google_server *s)
{
    return s->url;
}

const struct ft_google_key *ft_google_server_add_key(struct ft_google_server *s, const char *kid,
                                                     int publish)
{
    if (!kid || strlen(kid) >= sizeof s->keys[0].key.kid)
        return NULL;
    struct ft_google_key k;
    if (key_generate(&k, kid) != 0) {
        key_clear(&k);
        return NULL;
    }
    const struct ft_google_key *out = NULL;
    pthread_mutex_lock(&s->mu);
    int dup = 0;
    for (int i = 0; i < s->nkeys; i++)
        dup |= strcmp(s->keys[i].key.kid, kid) == 0;
    if (!dup && s->nkeys < MAX_KEYS) {
        s->keys[s->nkeys].key = k;
        s->keys[s->nkeys].published = publish != 0;
        out = &s->keys[s->nkeys].key;
        s->nkeys++;
    }
    pthread_mutex_unlock(&s->mu);
    if (!out)
        key_clear(&k);
    return out;
}

int ft_google_server_publish(struct ft_google_server *s, const char *kid, int publish)
{
    int rc = -1;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i].key.kid, kid) == 0) {
            s->keys[i].published = publish != 0;
            rc = 0;
        }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void ft_google_server_set_max_age(struct ft_google_server *s, int max_age)
{
    pthread_mutex_lock(&s->mu);
    s->max_age = max_age;
    pthread_mutex_unlock(&s->mu);
}

void ft_google_server_set_mode(struct ft_google_server *s, enum ft_google_mode mode)
{
    pthread_mutex_lock(&s->mu);
    s->mode = mode;
    pthread_mutex_unlock(&s->mu);
}

int ft_google_server_requests(const struct ft_google_server *s)
{
    return atomic_load(&((struct ft_google_server *)s)->requests);
}

char *ft_google_claims(const char *aud, const char *sub, const char *email, int64_t now_s)
{
    json_t *c =
        json_pack("{s:s,s:s,s:s,s:I,s:I,s:s,s:s}", "iss", "https://accounts.google.com", "aud", aud,
                  "sub", sub, "iat", (json_int_t)now_s, "exp", (json_int_t)(now_s + 3600), "name",
                  "Test User", "picture", "https://lh3.googleusercontent.com/a/test-picture");
    if (!c)
        return NULL;
    if (email) {
        json_object_set_new(c, "email", json_string(email));
        json_object_set_new(c, "email_verified", json_true());
    }
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    return s;
}

/* Signs claims with libjwt; kid (may be NULL) and header_json (may be NULL) go to the header. */
static char *jwt_sign(jwt_alg_t alg, const char *key, size_t key_len, const char *kid,
                      const char *claims_json, const char *header_json)
{
    jwt_t *j = NULL;
    char *tok = NULL;
    if (jwt_new(&j) != 0)
        return NULL;
    if (jwt_add_grants_json(j, claims_json) != 0)
        goto done;
    if (kid && jwt_add_header(j, "kid", kid) != 0)
        goto done;
    if (header_json && jwt_add_headers_json(j, header_json) != 0)
        goto done;
    if (jwt_set_alg(j, alg, (const unsigned char *)key, (int)key_len) != 0)
        goto done;
    tok = jwt_encode_str(j);
done:
    jwt_free(j);
    return tok;
}

char *ft_google_sign(const struct ft_google_key *key, const char *claims_json,
                     const char *header_json)
{
    const char *kid = key->kid;
    json_t *h = header_json ? json_loads(header_json, 0, NULL) : NULL;
    if (header_json && !json_is_object(h)) {
        json_decref(h);
        return NULL;
    }
    if (h && json_object_get(h, "kid"))
        kid = NULL; /* the override wins; jwt_add_header refuses to replace */
    char *tok = jwt_sign(JWT_ALG_RS256, key->private_pem, strlen(key->private_pem), kid,
                         claims_json, header_json);
    json_decref(h);
    return tok;
}

static char *b64url_str(const char *s)
{
    return b64url((const unsigned char *)s, strlen(s));
}

char *ft_google_token_alg_none(const char *kid, const char *claims_json)
{
    json_t *h = json_pack("{s:s,s:s}", "alg", "none", "typ", "JWT");
    if (kid)
        json_object_set_new(h, "kid", json_string(kid));
    char *hs = json_dumps(h, JSON_COMPACT);
    json_decref(h);
    char *h64 = b64url_str(hs);
    char *p64 = b64url_str(claims_json);
    size_t n = strlen(h64) + strlen(p64) + 3;
    char *tok = malloc(n);
    if (!tok)
        abort();
    snprintf(tok, n, "%s.%s.", h64, p64);
    free(p64);
    free(h64);
    free(hs);
    return tok;
}

char *ft_google_token_hs256(const char *secret, const char *kid, const char *claims_json)
{
    return jwt_sign(JWT_ALG_HS256, secret, strlen(secret), kid, claims_json, NULL);
}

char *ft_google_token_tamper(const char *token, const char *claims_json)
{
    const char *d1 = strchr(token, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        return NULL;
    char *p64 = b64url_str(claims_json);
    size_t n = (size_t)(d1 - token) + strlen(p64) + strlen(d2) + 2;
    char *tok = malloc(n);
    if (!tok)
        abort();
    snprintf(tok, n, "%.*s.%s%s", (int)(d1 - token), token, p64, d2);
    free(p64);
    return tok;
}
