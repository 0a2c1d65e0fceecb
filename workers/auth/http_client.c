/*
 * workers/auth/http_client.c — blocking GET on libcurl (see http_client.h).
 */
#include "http_client.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/buf.h"

struct get_state {
    struct proto_buf body;
    size_t max_body;
    int too_big;
    long max_age;
};

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct get_state *st = userdata;
    size_t n = size * nmemb;
    if (n > st->max_body - st->body.len) {
        st->too_big = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    proto_buf_append(&st->body, ptr, n);
    return n;
}

/* Finds max-age=<digits> in one Cache-Control value (directives are comma-separated,
 * names case-insensitive). Returns -1 when absent or malformed. */
static long parse_max_age(const char *v, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t start = i;
        while (i < len && v[i] != ',')
            i++;
        const char *d = v + start;
        size_t dl = i - start;
        if (dl > 8 && strncasecmp(d, "max-age=", 8) == 0) {
            long age = 0;
            size_t j = 8;
            if (j >= dl || !isdigit((unsigned char)d[j]))
                return -1;
            for (; j < dl && isdigit((unsigned char)d[j]); j++)
                if (age < 1000000000L)
                    age = age * 10 + (d[j] - '0');
            return age;
        }
    }
    return -1;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    struct get_state *st = userdata;
    size_t n = size * nitems;
    static const char name[] = "cache-control:";
    /* A new status line starts a new response (e.g. after 100 Continue): forget the old one. */
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0)
        st->max_age = -1;
    else if (n > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
        size_t len = n - (sizeof name - 1);
        const char *v = buf + sizeof name - 1;
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n'))
            len--;
        long age = parse_max_age(v, len);
        if (age >= 0)
            st->max_age = age;
    }
    return n;
}

static int translate(CURLcode rc, int too_big)
{
    if (too_big)
        return HTTP_CLIENT_ETOOBIG;
    switch (rc) {
    case CURLE_OK:
        return HTTP_CLIENT_OK;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return HTTP_CLIENT_EINVAL;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return HTTP_CLIENT_ECONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return HTTP_CLIENT_ETIMEOUT;
    case CURLE_FILESIZE_EXCEEDED:
        return HTTP_CLIENT_ETOOBIG;
    default:
        return HTTP_CLIENT_ETRANSPORT;
    }
}

static void set_why(char *why, size_t whylen, const char *msg, CURLcode rc)
{
    if (!why || whylen == 0)
        return;
    /* curl_easy_strerror is a fixed text per code; the error buffer is not used because
     * it may quote the URL. */
    if (rc != CURLE_OK)
        snprintf(why, whylen, "%s: %s", msg, curl_easy_strerror(rc));
    else
        snprintf(why, whylen, "%s", msg);
}

int http_client_get(const char *url, long timeout_ms, size_t max_body,
                    struct http_client_resp *resp, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    if (!resp)
        return HTTP_CLIENT_EINVAL;
    memset(resp, 0, sizeof *resp);
    resp->max_age = -1;
    if (!url || !*url || timeout_ms <= 0 || max_body == 0) {
        set_why(why, whylen, "invalid request", CURLE_OK);
        return HTTP_CLIENT_EINVAL;
    }

    struct get_state st = {.max_body = max_body, .max_age = -1};
    CURL *c = curl_easy_init();
    if (!c) {
        set_why(why, whylen, "curl_easy_init failed", CURLE_OK);
        return HTTP_CLIENT_ETRANSPORT;
    }
    CURLcode rc = CURLE_OK;
    /* Each setopt can fail only on a bad option or out-of-memory; the first failure wins. */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM in a worker */
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HEADERDATA, &st);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_USERAGENT, "fintwin-auth");
    if (rc != CURLE_OK) {
        set_why(why, whylen, "curl setup failed", rc);
        curl_easy_cleanup(c);
        proto_buf_free(&st.body);
        return translate(rc, 0);
    }

    rc = curl_easy_perform(c);
    int err = translate(rc, st.too_big);
    if (err != HTTP_CLIENT_OK) {
        set_why(why, whylen, st.too_big ? "response body too large" : "GET failed", rc);
        curl_easy_cleanup(c);
        proto_buf_free(&st.body);
        return err;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);

    if (!st.body.data)
        proto_buf_append(&st.body, "", 0); /* an empty body is still a NUL-terminated string */
    resp->status = status;
    resp->body = st.body.data;
    resp->body_len = st.body.len;
    resp->max_age = st.max_age;
    return HTTP_CLIENT_OK;
}

void http_client_resp_free(struct http_client_resp *resp)
{
    if (!resp)
        return;
    free(resp->body);
    memset(resp, 0, sizeof *resp);
    resp->max_age = -1;
}
