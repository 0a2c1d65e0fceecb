/*
 * tests/support/ft_amqp.h — a small blocking AMQP client for integration tests.
 *
 * It plays the gateway's part of the wire contract: declares rpc.<worker> with
 * the same arguments, publishes request envelopes to ft.rpc with reply_to =
 * amq.rabbitmq.reply-to, correlation_id = request id and an expiration, and waits
 * for replies with a deadline. It can also publish raw bytes, bind a private
 * queue to an exchange, read ft.dlq, and take a message without acking it.
 *
 * One struct ft_amqp is one connection with channel 1; every delivery it
 * receives (replies and private queues) is buffered until asked for.
 * Single-threaded. Functions return 0 / 1 (found) / -1 (broker error, logged on
 * stderr) unless they say otherwise.
 */
#ifndef FT_AMQP_H
#define FT_AMQP_H

#include <stddef.h>
#include <stdint.h>

struct ft_amqp;

/* Connects to url (amqp://...). Returns NULL (and prints why) on failure. */
struct ft_amqp *ft_amqp_open(const char *url);
void ft_amqp_close(struct ft_amqp *a); /* NULL is a no-op */

/* Declares the exchanges, ft.dlq and rpc.<worker> bound with key <worker>: proto/topology.h's
 * rows, as the gateway and the runtime declare them (a mismatch with an existing queue fails). */
int ft_amqp_declare_rpc(struct ft_amqp *a, const char *worker);

/* Deletes a queue (test cleanup). */
int ft_amqp_delete_queue(struct ft_amqp *a, const char *queue);

/* Messages in a queue right now (passive declare), or -1 (also, without a message, when the
 * queue does not exist: the connection's channel is then closed). */
long ft_amqp_queue_depth(struct ft_amqp *a, const char *queue);

/* Drops every ready message of a queue that exists (test cleanup). 0, or -1 when it does not
 * exist (quietly, as ft_amqp_queue_depth) or the purge failed. */
int ft_amqp_purge_queue(struct ft_amqp *a, const char *queue);

/* Consumers of a queue right now (passive declare), or -1. */
long ft_amqp_queue_consumers(struct ft_amqp *a, const char *queue);

/*
 * Publishes a request envelope { v:1, id, method, user: nil, deadline: now+ttl_ms,
 * args: { path: {}, query: {}, body: <body_json as msgpack or nil> } } to ft.rpc
 * with routing key `worker`, direct reply-to, correlation_id = id, expiration = ttl_ms.
 */
int ft_amqp_request(struct ft_amqp *a, const char *worker, const char *id, const char *method,
                    const char *body_json, int ttl_ms);

/*
 * Like ft_amqp_request, as the gateway sends a request for a signed-in caller: the
 * envelope's user is `user` (a UUID, or NULL for nil) and, when meta_json is not NULL,
 * args also carries meta: <meta_json as msgpack> ({ip, jti, token_exp}).
 */
int ft_amqp_request_as(struct ft_amqp *a, const char *worker, const char *id, const char *method,
                       const char *user, const char *meta_json, const char *body_json, int ttl_ms);

/* Publishes raw bytes. reply_to: 1 to ask for a direct reply. corr may be NULL. */
int ft_amqp_publish(struct ft_amqp *a, const char *exchange, const char *key, const char *corr,
                    int reply_to, const void *body, size_t len);

struct ft_reply {
    int status;
    int is_error;
    char code[65];
    char *body_json;    /* malloc'ed JSON of body ("null" when absent); NULL for errors */
    char *headers_json; /* malloc'ed JSON of headers or NULL */
    char message[513];  /* the error's human message ("" when not an error) */
};
void ft_reply_free(struct ft_reply *r);

/* Waits up to timeout_ms for the reply with correlation id `id` (consuming it).
 * Returns 1 (r filled), 0 on timeout, -1 on a broker error or an undecodable reply. */
int ft_amqp_wait_reply(struct ft_amqp *a, const char *id, int timeout_ms, struct ft_reply *r);

/* Waits window_ms and returns how many replies with correlation id `id` arrived
 * (consuming them). Used to assert "answered exactly once". */
int ft_amqp_count_replies(struct ft_amqp *a, const char *id, int window_ms);

/* Sends `method` and waits for its reply: ft_amqp_request + ft_amqp_wait_reply
 * with a fresh request id. Returns 1, 0 (timeout) or -1. */
int ft_amqp_call(struct ft_amqp *a, const char *worker, const char *method, const char *body_json,
                 int timeout_ms, struct ft_reply *r);

/* ft_amqp_call with ft_amqp_request_as's user and meta. Returns 1, 0 (timeout) or -1. */
int ft_amqp_call_as(struct ft_amqp *a, const char *worker, const char *method, const char *user,
                    const char *meta_json, const char *body_json, int timeout_ms,
                    struct ft_reply *r);

/* Everything a gateway request can carry, for ft_amqp_request_ex; NULL fields are absent
 * (user, idem: nil; path, query: {}; meta: no key; body: nil). JSON fields are converted
 * to msgpack like the gateway does (numbers with a fraction become decimal exts). */
struct ft_call {
    const char *user;
    const char *idem; /* the Idempotency-Key */
    const char *meta_json;
    const char *path_json;  /* {"account_id":"..."}: values as strings, like the gateway */
    const char *query_json; /* {"limit":"20"} */
    const char *body_json;
};

/* Publishes a request with every field of `c` (see ft_amqp_request_as). */
int ft_amqp_request_ex(struct ft_amqp *a, const char *worker, const char *id, const char *method,
                       const struct ft_call *c, int ttl_ms);

/* ft_amqp_request_ex + ft_amqp_wait_reply with a fresh request id: 1, 0 (timeout) or -1. */
int ft_amqp_call_ex(struct ft_amqp *a, const char *worker, const char *method,
                    const struct ft_call *c, int timeout_ms, struct ft_reply *r);

/* Declares an exclusive server-named queue bound to exchange/key and consumes it
 * (auto-ack) under consumer tag `tag`. */
int ft_amqp_bind_temp(struct ft_amqp *a, const char *exchange, const char *key, const char *tag);

struct ft_msg {
    char *body; /* malloc'ed */
    size_t len;
    char corr[256];
    char routing_key[256];
    char type[256];         /* the basic property `type` ("" when absent) */
    char content_type[256]; /* "" when absent */
    int delivery_mode;      /* 1 transient, 2 persistent, 0 absent */
};
void ft_msg_free(struct ft_msg *m);

/* Waits up to timeout_ms for the next delivery to consumer `tag`: 1, 0 or -1. */
int ft_amqp_wait_msg(struct ft_amqp *a, const char *tag, int timeout_ms, struct ft_msg *m);

/* Scans ft.dlq with basic.get for a message with correlation id `corr`, acks it
 * (others are put back), repeating until timeout_ms. Returns 1 found, 0, -1.
 * reason (may be NULL) receives its x-first-death-reason ("rejected", "delivery_limit"). */
int ft_amqp_dlq_take(struct ft_amqp *a, const char *corr, int timeout_ms, char *reason,
                     size_t reason_size);

/*
 * Opens its own connection, consumes `queue` with manual ack and prefetch 1, and
 * waits up to timeout_ms for a delivery; then closes the connection WITHOUT
 * acking (a consumer that died). Returns 1 if a message with correlation id
 * `corr` was taken, 2 if another message was, 0 if none came, -1 on error.
 */
int ft_amqp_take_and_die(const char *url, const char *queue, const char *corr, int timeout_ms);

/* A fresh lowercase random id with a prefix: "itest-1a2b3c4d". */
void ft_rand_name(char *out, size_t size, const char *prefix);

#endif
