/*
 * bench_rpc — RPC round trips straight over AMQP, the baseline for the gateway benchmark.
 *
 *   AMQP_URL=... bench_rpc [worker] [outstanding] [seconds]      (defaults: auth 32 10)
 *
 * Publishes `sys.ping` request envelopes to ft.rpc/<worker> exactly as the gateway does
 * (mandatory, direct reply-to, correlation id, expiration, msgpack), keeping `outstanding`
 * requests in flight (like wrk's connections), for `seconds`. Prints requests/s and the
 * p50/p99/max latency of the replies, one line, parseable by rpc.sh.
 * One thread, one connection: the same shape as the gateway's bridge.
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/envelope.h"
#include "proto/topology.h"

#define MAX_OUTSTANDING 1024

static double now_s(void)
{
    return (double)proto_mono_us() / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int die_on(amqp_rpc_reply_t r, const char *what)
{
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    fprintf(stderr, "bench_rpc: %s failed (reply type %d)\n", what, (int)r.reply_type);
    exit(1);
}

static double sent_at[MAX_OUTSTANDING];
static unsigned long long seq_of[MAX_OUTSTANDING];

static void publish(amqp_connection_state_t c, const char *worker, int slot, unsigned long long seq)
{
    struct proto_request req = {0};
    snprintf(req.id, sizeof req.id, "b%d-%llu", slot, seq);
    strcpy(req.method, "sys.ping");
    req.deadline_ms = proto_now_ms() + 5000;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (proto_request_encode(&sb, &req, NULL, 0) != 0) {
        fprintf(stderr, "bench_rpc: encode failed\n");
        exit(1);
    }
    amqp_basic_properties_t p = {0};
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG |
               AMQP_BASIC_REPLY_TO_FLAG | AMQP_BASIC_CORRELATION_ID_FLAG |
               AMQP_BASIC_EXPIRATION_FLAG;
    p.content_type = amqp_cstring_bytes(PROTO_CONTENT_TYPE);
    p.delivery_mode = 1;
    p.reply_to = amqp_cstring_bytes(PROTO_REPLY_TO);
    p.correlation_id = amqp_cstring_bytes(req.id);
    p.expiration = amqp_cstring_bytes("5000");
    amqp_bytes_t body = {sb.size, sb.data};
    if (amqp_basic_publish(c, 1, amqp_cstring_bytes(PROTO_EX_RPC), amqp_cstring_bytes(worker), 1, 0,
                           &p, body) != AMQP_STATUS_OK) {
        fprintf(stderr, "bench_rpc: publish failed\n");
        exit(1);
    }
    msgpack_sbuffer_destroy(&sb);
    sent_at[slot] = now_s();
    seq_of[slot] = seq;
}

int main(int argc, char **argv)
{
    const char *worker = argc > 1 ? argv[1] : "auth";
    int k = argc > 2 ? atoi(argv[2]) : 32;
    double seconds = argc > 3 ? atof(argv[3]) : 10;
    const char *url = getenv("AMQP_URL");
    if (!url || k < 1 || k > MAX_OUTSTANDING || seconds <= 0) {
        fprintf(stderr, "usage: AMQP_URL=... bench_rpc [worker] [outstanding 1..%d] [seconds]\n",
                MAX_OUTSTANDING);
        return 2;
    }
    struct amqp_connection_info ci;
    char *urlcopy = strdup(url);
    if (amqp_parse_url(urlcopy, &ci) != AMQP_STATUS_OK) {
        fprintf(stderr, "bench_rpc: bad AMQP_URL\n");
        return 2;
    }
    if (!*ci.vhost) /* "amqp://host:port/" parses to an empty vhost; we mean "/" */
        ci.vhost = "/";
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (!s || amqp_socket_open(s, ci.host, ci.port) != AMQP_STATUS_OK) {
        fprintf(stderr, "bench_rpc: cannot connect\n");
        return 1;
    }
    die_on(amqp_login(c, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password),
           "login");
    amqp_channel_open(c, 1);
    die_on(amqp_get_rpc_reply(c), "channel.open");
    amqp_basic_consume(c, 1, amqp_cstring_bytes(PROTO_REPLY_TO), amqp_empty_bytes, 0, 1, 0,
                       amqp_empty_table);
    die_on(amqp_get_rpc_reply(c), "consume reply-to");

    size_t cap = 1 << 20, n = 0;
    double *lat = malloc(cap * sizeof *lat);
    unsigned long long seq = 0;
    for (int i = 0; i < k; i++)
        publish(c, worker, i, seq++);
    double t0 = now_s(), end = t0 + seconds;
    int inflight = k, bad = 0;
    while (inflight > 0) {
        amqp_envelope_t env;
        struct timeval tv = {5, 0};
        amqp_maybe_release_buffers(c);
        amqp_rpc_reply_t r = amqp_consume_message(c, &env, &tv, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL) {
            fprintf(stderr, "bench_rpc: no reply within 5 s (is the worker running?)\n");
            return 1;
        }
        int slot = -1;
        unsigned long long got = 0;
        char cid[80] = "";
        size_t cl = env.message.properties.correlation_id.len;
        if (cl < sizeof cid) {
            memcpy(cid, env.message.properties.correlation_id.bytes, cl);
            cid[cl] = '\0';
        }
        if (sscanf(cid, "b%d-%llu", &slot, &got) != 2 || slot < 0 || slot >= k ||
            seq_of[slot] != got) {
            bad++;
            amqp_destroy_envelope(&env);
            continue;
        }
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        struct proto_reply rep;
        if (proto_reply_decode(env.message.body.bytes, env.message.body.len, &up, &rep) != 0 ||
            rep.status != 200)
            bad++;
        msgpack_unpacked_destroy(&up);
        amqp_destroy_envelope(&env);
        double t = now_s();
        if (n == cap) {
            cap *= 2;
            lat = realloc(lat, cap * sizeof *lat);
        }
        lat[n++] = (t - sent_at[slot]) * 1e3;
        if (t < end)
            publish(c, worker, slot, seq++);
        else
            inflight--;
    }
    double elapsed = now_s() - t0;
    qsort(lat, n, sizeof *lat, cmp_double);
    printf("amqp_rpc worker=%s outstanding=%d requests=%zu seconds=%.2f rps=%.0f p50_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f bad=%d\n",
           worker, k, n, elapsed, (double)n / elapsed, lat[n / 2], lat[(size_t)(n * 0.99)],
           lat[n - 1], bad);
    free(lat);
    free(urlcopy);
    amqp_connection_close(c, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(c);
    return bad ? 1 : 0;
}
