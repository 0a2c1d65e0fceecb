/*
 * bench_live: commit-to-socket latency of the live channel and the gateway's memory per
 * idle socket (issue 5). Run by tests/bench/live.sh, which starts the servers, a gateway,
 * a transaction worker and a notification worker; not a test.
 *
 *   bench_live PORT GATEWAY_PID SOCKETS DEPOSITS RATE
 *
 * 1. Reads the gateway's VmRSS, then opens SOCKETS WebSockets on /api/ws, one user each
 *    (fresh user ids; access tokens minted here with JWT_SECRET, so no registration), waits
 *    for every {"type":"ready"}, lets the gateway settle and reads VmRSS again:
 *    (after - before) / SOCKETS is the resident memory per idle authenticated socket.
 * 2. A second thread makes DEPOSITS deposits of 1.00 over HTTP (POST /api/transactions/,
 *    each for a random socket's user, at most RATE per second, one at a time) while the
 *    main thread epolls every socket. For each deposit: commit_ms = the notification frame's
 *    arrival minus the 201's arrival (the commit precedes the 201, so this slightly
 *    understates the true commit-to-socket time; a frame that beats the 201 counts as 0)
 *    and send_ms = arrival minus the request's start (an upper bound). Prints p50/p90/p99/
 *    max of both, the frames that went to a socket whose user made no deposit (must be 0),
 *    and deposits whose frame never came (within 5 s).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ft_test.h"
#include "ft_ws.h"
#include "proto/clock.h"
#include "proto/token.h"
#include "proto/uuid.h"

#define FRAME_WAIT_MS 5000

struct sock {
    struct ft_ws *ws;
    char user[PROTO_UUID_LEN + 1];
    char *token;
    /* the deposit in flight for this user (0: none), monotonic ms */
    double sent_ms, ok_ms;
    int pending;
};

static struct sock *socks;
static int nsocks, ndeposits, rate, port;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double *commit_lat, *send_lat;
static int nlat, foreign_frames, http_failures, deposits_done;

static double now_ms(void)
{
    return (double)proto_mono_us() / 1e3;
}

static long rss_kb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
    if (n == 0)
        return 0;
    int i = (int)(p * n);
    return v[i >= n ? n - 1 : i];
}

/* The deposit thread: one request at a time, at most `rate` per second. */
static void *depositor(void *arg)
{
    (void)arg;
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/api/transactions/", port);
    double start = now_ms();
    for (int i = 0; i < ndeposits; i++) {
        double due = start + i * 1000.0 / rate;
        while (now_ms() < due)
            usleep(500);
        int k;
        pthread_mutex_lock(&mu);
        do
            k = (int)((unsigned)random() % (unsigned)nsocks);
        while (socks[k].pending);
        socks[k].pending = 1;
        socks[k].sent_ms = now_ms();
        socks[k].ok_ms = 0;
        pthread_mutex_unlock(&mu);
        char auth[PROTO_TOKEN_MAX + 32], idem[96], id[PROTO_UUID_LEN + 1];
        proto_uuid_v4(id);
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", socks[k].token);
        snprintf(idem, sizeof idem, "Idempotency-Key: bench-live-%s", id);
        const char *hdrs[] = {auth, idem, NULL};
        const char *body = "{\"type\":\"deposit\",\"amount\":\"1.00\"}";
        struct ft_http_resp r;
        ft_http("POST", url, hdrs, body, strlen(body), 10000, &r);
        double ok = now_ms();
        pthread_mutex_lock(&mu);
        if (r.status == 201) {
            if (socks[k].pending)
                socks[k].ok_ms = ok;
        } else {
            http_failures++;
            socks[k].pending = 0;
            if (http_failures <= 3)
                fprintf(stderr, "deposit: HTTP %ld %.200s\n", r.status, r.body ? r.body : "");
        }
        pthread_mutex_unlock(&mu);
        ft_http_resp_free(&r);
    }
    pthread_mutex_lock(&mu);
    deposits_done = 1;
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* Reads whatever arrived on any socket without waiting (pings are answered inside
 * ft_ws_recv); a frame before the deposits start is unexpected. 0, or -1 when a socket
 * was closed. */
static int drain(int ep)
{
    struct epoll_event evs[256];
    int n;
    while ((n = epoll_wait(ep, evs, 256, 0)) > 0) {
        for (int i = 0; i < n; i++) {
            struct sock *s = &socks[evs[i].data.u32];
            char *f = NULL;
            while (ft_ws_recv(s->ws, 0, &f, NULL) == 1) {
                foreign_frames++;
                free(f);
                f = NULL;
            }
            if (ft_ws_close_code(s->ws)) {
                fprintf(stderr, "bench_live: a socket was closed (%d %s)\n",
                        ft_ws_close_code(s->ws), ft_ws_close_reason(s->ws));
                return -1;
            }
        }
        if (n < 256)
            break;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_live PORT GATEWAY_PID SOCKETS DEPOSITS RATE\n");
        return 2;
    }
    port = atoi(argv[1]);
    int gw_pid = atoi(argv[2]);
    nsocks = atoi(argv[3]);
    ndeposits = atoi(argv[4]);
    rate = atoi(argv[5]);
    const char *secret = getenv("JWT_SECRET");
    if (port <= 0 || gw_pid <= 0 || nsocks < 1 || nsocks > 15000 || ndeposits < 1 ||
        ndeposits > 100000 || rate < 1 || !secret) {
        fprintf(stderr, "bench_live: bad arguments or no JWT_SECRET\n");
        return 2;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)nsocks + 64) {
        fprintf(stderr, "bench_live: RLIMIT_NOFILE %llu is too small for %d sockets\n",
                (unsigned long long)rl.rlim_cur, nsocks);
        return 2;
    }
    srandom((unsigned)time(NULL));
    struct proto_token_keys keys = {secret, strlen(secret), "fintwin", "fintwin-api"};
    socks = calloc((size_t)nsocks, sizeof *socks);
    commit_lat = calloc((size_t)ndeposits, sizeof *commit_lat);
    send_lat = calloc((size_t)ndeposits, sizeof *send_lat);

    long rss0 = rss_kb(gw_pid);
    double t0 = now_ms();
    int ep = epoll_create1(0);
    for (int i = 0; i < nsocks; i++) {
        struct sock *s = &socks[i];
        char tok[PROTO_TOKEN_MAX + 1];
        struct proto_token_claims cl;
        proto_uuid_v4(s->user);
        if (proto_token_mint(&keys, s->user, (int64_t)time(NULL), 3600, tok, sizeof tok, &cl) <= 0) {
            fprintf(stderr, "bench_live: cannot mint a token\n");
            return 1;
        }
        s->token = strdup(tok);
        int http = 0;
        s->ws = ft_ws_connect(port, "/api/ws", NULL, 10000, &http);
        if (!s->ws || ft_ws_auth(s->ws, s->token, 10000) != 0) {
            fprintf(stderr, "bench_live: socket %d failed (HTTP %d, close %d)\n", i, http,
                    s->ws ? ft_ws_close_code(s->ws) : 0);
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, ft_ws_fd(s->ws), &ev);
        if (i % 256 == 255 && drain(ep) != 0) /* answer the gateway's pings meanwhile */
            return 1;
    }
    double t_open = now_ms() - t0;
    /* Let the gateway finish binding and settle, then read its memory. */
    for (int i = 0; i < 10; i++) {
        usleep(100 * 1000);
        if (drain(ep) != 0)
            return 1;
    }
    long rss1 = rss_kb(gw_pid);
    printf("sockets=%d opened+authenticated in %.1f s; gateway VmRSS %ld kB -> %ld kB: "
           "%.1f KB per idle socket\n",
           nsocks, t_open / 1000, rss0, rss1, (double)(rss1 - rss0) / nsocks);

    pthread_t th;
    pthread_create(&th, NULL, depositor, NULL);
    struct epoll_event evs[256];
    double last_activity = now_ms();
    for (;;) {
        int n = epoll_wait(ep, evs, 256, 50);
        double t = now_ms();
        for (int i = 0; i < n; i++) {
            struct sock *s = &socks[evs[i].data.u32];
            char *f = NULL;
            while (ft_ws_recv(s->ws, 0, &f, NULL) == 1) {
                if (strstr(f, "\"type\":\"notification\"")) {
                    pthread_mutex_lock(&mu);
                    if (!s->pending) {
                        foreign_frames++;
                    } else {
                        double ok = s->ok_ms > 0 ? s->ok_ms : t; /* frame beat the 201 */
                        commit_lat[nlat] = t > ok ? t - ok : 0;
                        send_lat[nlat] = t - s->sent_ms;
                        nlat++;
                        s->pending = 0;
                    }
                    pthread_mutex_unlock(&mu);
                }
                free(f);
                f = NULL;
            }
            if (ft_ws_close_code(s->ws)) {
                fprintf(stderr, "bench_live: a socket was closed (%d %s)\n",
                        ft_ws_close_code(s->ws), ft_ws_close_reason(s->ws));
                return 1;
            }
            last_activity = t;
        }
        pthread_mutex_lock(&mu);
        int done = deposits_done;
        int pending = 0;
        for (int i = 0; done && i < nsocks; i++)
            pending += socks[i].pending;
        pthread_mutex_unlock(&mu);
        if (done && (pending == 0 || t - last_activity > FRAME_WAIT_MS))
            break;
    }
    pthread_join(th, NULL);
    int missing = 0;
    for (int i = 0; i < nsocks; i++)
        missing += socks[i].pending;
    qsort(commit_lat, (size_t)nlat, sizeof *commit_lat, cmp_double);
    qsort(send_lat, (size_t)nlat, sizeof *send_lat, cmp_double);
    printf("deposits=%d at <= %d/s: frames=%d missing=%d foreign=%d http_failures=%d\n", ndeposits,
           rate, nlat, missing, foreign_frames, http_failures);
    printf("  201->frame (commit-to-socket) ms: p50=%.2f p90=%.2f p99=%.2f max=%.2f\n",
           pct(commit_lat, nlat, 0.50), pct(commit_lat, nlat, 0.90), pct(commit_lat, nlat, 0.99),
           nlat ? commit_lat[nlat - 1] : 0);
    printf("  request start->frame ms:          p50=%.2f p90=%.2f p99=%.2f max=%.2f\n",
           pct(send_lat, nlat, 0.50), pct(send_lat, nlat, 0.90), pct(send_lat, nlat, 0.99),
           nlat ? send_lat[nlat - 1] : 0);
    for (int i = 0; i < nsocks; i++) {
        ft_ws_close(socks[i].ws, 1000);
        free(socks[i].token);
    }
    free(socks);
    free(commit_lat);
    free(send_lat);
    return missing || foreign_frames || http_failures ? 1 : 0;
}
