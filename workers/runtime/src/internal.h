/*
 * Runtime internals, shared by the files of workers/runtime/src. Not installed; everything
 * here runs on the wk_run thread.
 *
 * The files, each calling only files listed above it (so the calls form no circle):
 *   stop.c     the stop flag: SIGTERM/SIGINT raise it, wk_stopping reads it
 *   backoff.c  sleeps that end early on stop, reconnect backoff
 *   mq.c       librabbitmq: connect, topology, consume, coalesced acks, publish
 *   kv.c       hiredis: lazy connection with backoff, commands
 *   reply.c    the reply a handler fills, and its envelope encoding
 *   args.c     handler helpers: the acting user, the body, a path id, idempotency keys
 *   live.c     frames for ft.live: queued inside a transaction, published after its commit
 *   db.c       libpq: connection, statements, wk_db_tx (flushes live.c, resets reply.c on retry)
 *   relay.c    publishes outbox rows to ft.events (db.c, mq.c)
 *   prune.c    deletes expired outbox rows and inbox ids (db.c)
 *   run.c      configuration, the consume -> dispatch -> reply -> ack loop, events, reconnects
 * mq, kv, db and reply log with the request id of the ctx's struct wk_log, which run.c
 * sets per message and hands to each of them when it creates them.
 */
#ifndef WK_INTERNAL_H
#define WK_INTERNAL_H

#include <amqp.h>
#include <stdint.h>

#include "proto/clock.h"
#include "proto/envelope.h"
#include "runtime/wk.h"

#define WK_NAME_MAX    64
#define WK_MAX_HEADERS 8

/* ---- log context ---- */

/* The request or event in hand, for log lines; owned by the ctx, read through a pointer by
 * the objects run.c creates (mq, db, kv, replies). run.c sets it per message. */
struct wk_log {
    char req_id[PROTO_ID_MAX + 1]; /* "" between messages */
};

/* The request id to log with: NULL when there is none (or no log context). */
static inline const char *wk_log_id(const struct wk_log *log)
{
    return log && log->req_id[0] ? log->req_id : NULL;
}

/* ---- stop flag (stop.c) ---- */

/* Makes SIGTERM and SIGINT raise the stop flag (no SA_RESTART), and ignores SIGPIPE. */
void wk_stop_install(void);
/* 1 once the stop flag is raised. */
int wk_stopping(void);

/* ---- sleeps, backoff (backoff.c); the clock is proto_mono_ms (proto/clock.h) ---- */

/* Sleeps up to ms, returning early when the stop flag is raised. */
void wk_sleep_ms(int ms);
/* Uniform in [0, n) (n > 0); not for secrets. */
unsigned wk_rand(unsigned n);

/* 100 ms doubling to 5 s with jitter; a fresh (zeroed) backoff is ready at once. */
struct wk_backoff {
    int cur_ms;
    int64_t next_at;
};
int wk_backoff_ready(const struct wk_backoff *b);
/* Records a failure; returns the delay (ms) until the next attempt. */
int wk_backoff_fail(struct wk_backoff *b);
void wk_backoff_reset(struct wk_backoff *b);

/* ---- AMQP (mq.c) ---- */

struct wk_mq {
    amqp_connection_state_t conn; /* NULL when down */
    int confirm;                  /* confirm mode on channel 1 */
    uint64_t next_tag;            /* confirm mode: tag of the next publish */
    uint64_t acked_upto;          /* confirm mode: every tag <= this is acked */
    int nacked;                   /* confirm mode: a nack arrived since the last wait */
    uint64_t ack_upto;            /* deliveries up to this tag are settled, not yet acked */
    int ack_waiting;              /* how many acks that one multiple ack will carry */
    const struct wk_log *log;     /* request id for log lines (set by wk_mq_connect) */
};

struct wk_delivery {
    amqp_envelope_t env;
    int from_events; /* 1: events.<name>, 0: rpc.<name> */
};

/* Connects, logs in and opens channel 1 (confirm mode when `confirm`).
 * `url` is an amqp:// URL; `log` (kept, may be NULL) gives log lines their request id.
 * Returns 0 or WK_EMQ (logged; mq stays down). */
int wk_mq_connect(struct wk_mq *mq, const char *url, int heartbeat_s, int confirm,
                  const struct wk_log *log);
void wk_mq_close(struct wk_mq *mq);
int wk_mq_up(const struct wk_mq *mq);

/*
 * Declares the shared topology with the arguments every party uses:
 *   ft.rpc direct durable; ft.dlx fanout durable -> ft.dlq (classic, max length);
 *   ft.events topic durable; ft.live topic durable;
 *   rpc.<worker> quorum (DLX ft.dlx, delivery limit) bound to ft.rpc with key <worker>;
 *   when ntypes > 0, events.<worker> (same arguments) bound to ft.events per type.
 * worker may be NULL (exchanges and ft.dlq only). Returns 0 or WK_EMQ.
 */
int wk_mq_declare(struct wk_mq *mq, const char *worker, const char *const *types, size_t ntypes);

/* basic.qos and basic.consume (manual ack) on the given queues. */
int wk_mq_consume(struct wk_mq *mq, int prefetch, const char *rpc_queue, const char *events_queue);

/* Starts / stops consuming events.<worker> alone (paused while the database is down,
 * so events are not burnt against the delivery limit). 0 or WK_EMQ. */
int wk_mq_consume_events(struct wk_mq *mq, const char *events_queue);
int wk_mq_cancel_events(struct wk_mq *mq);

/* Waits up to timeout_ms for one delivery: 1 (d filled; wk_mq_delivery_free it),
 * 0 (nothing arrived), WK_EMQ (connection or channel lost; close and reconnect). */
int wk_mq_next(struct wk_mq *mq, struct wk_delivery *d, int timeout_ms);
void wk_mq_delivery_free(struct wk_delivery *d);

/*
 * Acks are coalesced: wk_mq_ack records the tag, and one basic.ack with `multiple` settles
 * every delivery up to it when the worker would wait for the broker (wk_mq_next finds nothing
 * ready), after MQ_ACK_BATCH acks, and at close. Deliveries are handled one at a time in tag
 * order, so every tag below the newest is already settled (acked here, or rejected). Under
 * load this saves the broker one frame per request; idle, the ack leaves at once. A crash
 * before the flush redelivers those requests, which their idempotency records replay.
 */
int wk_mq_ack(struct wk_mq *mq, uint64_t tag);
int wk_mq_flush_acks(struct wk_mq *mq);
int wk_mq_reject(struct wk_mq *mq, uint64_t tag, int requeue);

/* Publishes one message. content_type may be NULL (msgpack). correlation_id and
 * message_id may be NULL. persistent: delivery_mode 2. Returns 0 or WK_EMQ. */
int wk_mq_publish(struct wk_mq *mq, const char *exchange, const char *key, const char *content_type,
                  const char *correlation_id, const char *message_id, int persistent,
                  const void *body, size_t len);

/* Like wk_mq_publish, plus the basic property `type` when not NULL ("close" on ft.live). */
int wk_mq_publish_typed(struct wk_mq *mq, const char *exchange, const char *key,
                        const char *content_type, const char *type, const char *correlation_id,
                        const char *message_id, int persistent, const void *body, size_t len);

/* Confirm mode: waits until every publish so far is acked (0), a nack arrived or
 * the timeout passed (WK_EMQ; the caller should close the connection). */
int wk_mq_wait_confirms(struct wk_mq *mq, int timeout_ms);

/* ---- PostgreSQL (db.c) ---- */

/* `log` (kept, may be NULL) gives log lines their request id. */
struct wk_db *wk_db_new(const char *url, const char *app_name, const struct wk_log *log);
void wk_db_free(struct wk_db *db);
/* Reconnects when down and the backoff allows; returns 1 if the connection is up. */
int wk_db_maintain(struct wk_db *db);
/* Runs SELECT 1; returns 1 when the database answers. */
int wk_db_ping(struct wk_db *db);
/* Rolls back (and logs) a transaction a handler opened by hand and left open, so it
 * cannot leak into the next message. */
void wk_db_end_stray_tx(struct wk_db *db);

/* ---- Redis (kv.c) ---- */

/* Parses redis://[[user]:password@]host[:port][/db]; returns 0 or PROTO_EINVAL. */
int wk_kv_check_url(const char *url);
/* NULL if url does not parse; `log` (kept, may be NULL) gives log lines their request id. */
struct wk_kv *wk_kv_new(const char *url, const struct wk_log *log);
void wk_kv_free(struct wk_kv *kv);

/* ---- replies (reply.c) ---- */

struct wk_reply_priv {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int is_error;
    char code[PROTO_CODE_MAX + 1];
    char message[PROTO_MESSAGE_MAX + 1];
    int nheaders;
    char *hname[WK_MAX_HEADERS];
    char *hvalue[WK_MAX_HEADERS];
    const struct wk_log *log; /* request id for log lines */
};

void wk_reply_init(struct wk_reply *rep, struct wk_reply_priv *priv, const struct wk_log *log);
void wk_reply_reset(struct wk_reply *rep);
void wk_reply_destroy(struct wk_reply *rep);
/* Encodes the reply envelope for request id into out; 0 or a PROTO_E* code. */
int wk_reply_encode(struct wk_reply *rep, const char *id, msgpack_sbuffer *out);

/* ---- the process context (run.c) ---- */

struct wk_pending;    /* a request in hand (run.c) */
struct wk_event_slot; /* an event in hand, for an event batch (run.c) */

struct wk_ctx {
    const struct wk_spec *spec;
    char name[WK_NAME_MAX + 1];
    char schema[WK_NAME_MAX + 1];
    /* Configuration (run.c's table fills these by name). */
    const char *amqp_url;  /* AMQP_URL */
    const char *db_url;    /* DATABASE_URL */
    const char *redis_url; /* REDIS_URL */
    const char *log_level; /* LOG_LEVEL as given */
    int prefetch;          /* WK_PREFETCH */
    int relay_interval_ms; /* WK_RELAY_INTERVAL_MS */
    int outbox_keep_hours; /* WK_OUTBOX_KEEP_HOURS */
    int inbox_keep_days;   /* WK_INBOX_KEEP_DAYS */
    int64_t started_ms;

    struct wk_mq mq;       /* consume, replies, live frames */
    struct wk_mq relay_mq; /* outbox relay, confirm mode */
    struct wk_backoff relay_bo;
    int64_t relay_next_ms;
    int outbox_written; /* a handler added outbox rows since the last relay run */
    int64_t prune_next_ms;
    int64_t tick_next_ms; /* spec->tick's next call */
    struct wk_db *db;
    struct wk_kv *kv;
    char events_queue[WK_NAME_MAX + 16]; /* "" when the worker handles no events */
    int events_paused;                   /* events consumer cancelled: database down */

    struct wk_log log;          /* the request id in hand */
    struct wk_reply *cur_reply; /* the reply in hand, for wk_db_tx retries */
    int batch_max;              /* WK_BATCH_MAX */
    int batch_wait_ms;          /* WK_BATCH_WAIT_MS */
    struct wk_pending *batch;   /* requests in hand: batch_max with batch methods, else 1 */
    struct wk_call *calls;      /* as many calls, for a batch method */
    struct wk_event_slot *evs;  /* events in hand: batch_max with event batches, else NULL */

    /* 1 while the outermost wk_db_tx runs (even if the connection dropped inside it). */
    int tx_open;
    /* Live frames queued inside the outermost wk_db_tx, published after its COMMIT. */
    struct wk_live_frame *live;
    size_t nlive, live_cap;

    /* SQL with the schema spliced in (built once at start). */
    char *sql_outbox_select;
    char *sql_outbox_mark;
    char *sql_outbox_insert;
    char *sql_inbox_insert;
    char *sql_inbox_insert_many; /* $1 a uuid[]; RETURNING the ids that were new */
    char *sql_outbox_prune;
    char *sql_inbox_prune;
};

/* ---- live frames (live.c) ---- */

#define WK_LIVE_KEY_MAX   (5 + PROTO_UUID_LEN) /* "user.<uuid>" */
#define WK_LIVE_QUEUE_MAX 256                  /* frames one transaction may queue */

struct wk_live_frame {
    char key[WK_LIVE_KEY_MAX + 1];
    const char *type; /* NULL, or "close" (static) */
    char *body;       /* owned */
    size_t len;
};

/* Called by wk_db_tx (db.c) for the outermost transaction only: publishes the queued frames
 * in order after a COMMIT (failures logged), or drops them after a rollback or before a retry. */
void wk_live_flush(struct wk_ctx *ctx);
void wk_live_discard(struct wk_ctx *ctx);

/* ---- transactions (db.c), the outbox relay (relay.c) ---- */

/* Inside a transaction (db.c): turns sequential and bitmap scans off until it ends, for
 * statements whose tables' statistics are always stale. 0, WK_EDB or WK_EDBDOWN. */
int wk_db_pin_index_scans(struct wk_ctx *ctx);

/* Publishes pending outbox rows (relay.c). Returns rows published or < 0. */
int wk_relay_run(struct wk_ctx *ctx);

/* ---- retention of the outbox and inbox (prune.c) ---- */

/* Builds ctx->sql_outbox_prune and sql_inbox_prune for ctx->schema. */
void wk_prune_build_sql(struct wk_ctx *ctx);
/* Deletes expired outbox rows, and inbox ids if the worker consumes events, and sets
 * ctx->prune_next_ms (0 at start: the first call comes at once); failures are logged and
 * retried next period. */
void wk_prune_run(struct wk_ctx *ctx, int consumes_events);

#endif
