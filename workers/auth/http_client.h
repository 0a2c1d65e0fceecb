/*
 * workers/auth/http_client.h — the one file that wraps libcurl: a blocking HTTP GET.
 *
 * Only http:// and https:// are allowed, redirects are not followed, the whole request is
 * bounded by a timeout and the body by a size limit. curl errors are translated into
 * HTTP_CLIENT_E* codes and a short reason; neither the reason nor anything this module logs
 * contains the URL (it may carry credentials).
 * Thread rules: any thread may call http_client_get; each call uses its own curl handle.
 */
#ifndef AUTH_HTTP_CLIENT_H
#define AUTH_HTTP_CLIENT_H

#include <stddef.h>

enum http_client_err {
    HTTP_CLIENT_OK = 0,
    HTTP_CLIENT_EINVAL = -1,    /* bad arguments or a URL curl refuses */
    HTTP_CLIENT_ECONNECT = -2,  /* DNS, connect or TLS failure */
    HTTP_CLIENT_ETIMEOUT = -3,  /* the request did not finish within timeout_ms */
    HTTP_CLIENT_ETOOBIG = -4,   /* the body exceeded max_body */
    HTTP_CLIENT_ETRANSPORT = -5 /* any other transfer error */
};

struct http_client_resp {
    long status;     /* HTTP status; 0 when the request failed */
    char *body;      /* NUL-terminated, malloc'ed (never NULL after HTTP_CLIENT_OK) */
    size_t body_len; /* excludes the NUL */
    long max_age;    /* Cache-Control max-age in seconds, -1 when absent or unparsable */
};

/*
 * GETs `url` (borrowed) within timeout_ms, accepting at most max_body body bytes.
 * On HTTP_CLIENT_OK *resp is filled for any status (check resp->status) and the caller
 * releases it with http_client_resp_free. On error *resp is left empty (status 0, body
 * NULL) and a short reason without the URL is written to `why` (may be NULL).
 */
int http_client_get(const char *url, long timeout_ms, size_t max_body,
                    struct http_client_resp *resp, char *why, size_t whylen);

/* Frees resp->body and empties *resp. NULL or an empty resp is a no-op. */
void http_client_resp_free(struct http_client_resp *resp);

#endif
