/*
 * runtime/wk.h — the worker runtime: consume -> decode -> dispatch -> reply -> ack.
 *
 * A worker is a table of methods and a call to wk_run:
 *
 *   static int txn_create(struct wk_ctx *ctx, const struct proto_request *req,
 *                         struct wk_reply *rep);
 *   static const struct wk_method methods[] = {
 *       {"txn.create", txn_create},
 *       {NULL, NULL},
 *   };
 *   int main(void) { return wk_run("transaction", methods); }
 *
 * wk_run reads the environment (AMQP_URL, DATABASE_URL, REDIS_URL, LOG_LEVEL and the WK_*
 * variables: the table in run.c, listed in the README's "Configuration"), connects to
 * RabbitMQ, PostgreSQL and Redis,
 * declares the shared topology (proto/topology.h), consumes rpc.<name> and, when
 * the worker has event handlers, events.<name>. It reconnects with backoff when
 * the broker or the database goes away, relays the worker's outbox to ft.events,
 * and on SIGTERM/SIGINT finishes the message in hand and returns 0.
 *
 * Threads: the runtime is single-threaded. Handlers run on the thread that called
 * wk_run, one message at a time; every function below may be called only from a
 * handler (or event handler) on that thread. Scale by running more processes.
 * A handler blocks the loop (and the AMQP heartbeat, 30 s): keep it well under a
 * minute. Delivery is at least once (a crash before the ack redelivers the
 * request; its PROTO_RPC_MAX_DELIVERIES-th delivery is dead-lettered unhandled), so handlers
 * must be idempotent.
 *
 * Errors: int functions return 0 (or a count) or a negative WK_E* / PROTO_E* code;
 * pointer functions return NULL. Library errors (libpq, hiredis, librabbitmq) are
 * logged by the runtime with the current request id and translated to WK_E*.
 */
#ifndef RUNTIME_WK_H
#define RUNTIME_WK_H

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <msgpack.h>
#include <stddef.h>

#include "proto/envelope.h"
#include "proto/reqhash.h"

/* Runtime error codes (below the PROTO_E* range). */
enum wk_err {
    WK_EDB = -100,      /* a statement failed (SQLSTATE in wk_db_sqlstate) */
    WK_EDBDOWN = -101,  /* no database connection; the caller answers 503 */
    WK_ESERIAL = -102,  /* serialization/deadlock retries exhausted */
    WK_EKVDOWN = -103,  /* Redis is unreachable */
    WK_EKV = -104,      /* Redis answered an error reply */
    WK_EMQ = -105,      /* the broker failed a publish */
    WK_EHANDLER = -106, /* a handler asked for the transaction to roll back */
};

struct wk_ctx; /* per process: connections, the request in hand (for logs) */
struct wk_db;  /* the process's PostgreSQL connection */
struct wk_kv;  /* the process's Redis connection (lazily (re)connected) */

/*
 * What a handler answers. The runtime owns it and resets it before each request.
 * A handler either
 *   - packs exactly one msgpack object into `body` (none packs nil) and leaves
 *     `status` at 200 or sets another 2xx/3xx/4xx status, or
 *   - calls wk_reply_error (which discards anything packed; headers are kept).
 * `body` is valid only during the handler call.
 */
struct wk_reply {
    int status;                 /* HTTP status; 200 unless the handler sets it */
    msgpack_packer *body;       /* pack the body object here */
    struct wk_reply_priv *priv; /* runtime internals */
};

/*
 * A request handler. Returns 0 when `rep` holds the answer (a success or an error
 * set with wk_reply_error). Returns < 0 on failure: if wk_reply_error was called
 * that error is sent; otherwise the runtime logs the code and answers
 * 503 "db_unavailable" when the database is down, else 500 "internal".
 * `req` and its `args` ({path, query, body}) are borrowed for the call only.
 */
typedef int (*wk_handler_fn)(struct wk_ctx *ctx, const struct proto_request *req,
                             struct wk_reply *rep);

/* One request of a batch (below): the runtime fills req and rep; the batch handler answers
 * on rep and sets rc as a wk_handler_fn would return it. */
struct wk_call {
    const struct proto_request *req;
    struct wk_reply *rep;
    int rc;
};

/*
 * A batch handler: answers calls[0..n) (n >= 1, all the same method, in delivery order), each
 * as `fn` would. The runtime calls it with every request of that method the broker has already
 * delivered to this process (up to the prefetch window and WK_BATCH_MAX) that is a first
 * delivery: by default it never waits for a batch to fill (WK_BATCH_WAIT_MS). A redelivered request
 * (its earlier delivery may have been a batch that killed the worker) goes alone through `fn`, so a
 * poison request is dead-lettered alone (PROTO_RPC_MAX_DELIVERIES). Replies and acks follow the
 * handler's return.
 */
typedef void (*wk_batch_fn)(struct wk_ctx *ctx, struct wk_call *calls, size_t n);

struct wk_method {
    const char *name; /* "txn.create"; a table ends with {NULL, NULL} */
    wk_handler_fn fn;
};

/* A method that is also served in batches: it must be in the methods table too (its fn
 * serves redelivered requests). */
struct wk_batch_method {
    const char *name; /* a table ends with {NULL, NULL} */
    wk_batch_fn fn;
};

/*
 * An event handler, called inside the database transaction that recorded the
 * event id in <schema>.inbox, so a duplicate delivery has no second effect.
 * Returns 0 to commit, < 0 to roll back (the event is redelivered up to the
 * queue's delivery limit, then dead-lettered). `ev` is borrowed for the call.
 */
typedef int (*wk_event_fn)(struct wk_ctx *ctx, const struct proto_event *ev);

/*
 * An event batch handler (optional, beside fn): handles evs[0..n) (n >= 1), all of its type,
 * first deliveries, in delivery order, and new: the runtime recorded their ids in <schema>.inbox
 * in the same transaction and left out the ones it had already seen. It takes every event of
 * that type the broker has already delivered to this process (up to the prefetch window and
 * WK_BATCH_MAX), never waiting for more, so one transaction and one commit carry many events
 * under load and one event when it is quiet. Runs inside that transaction: returns 0 to commit
 * them all, < 0 to roll them all back, after which the runtime hands each event alone to fn (so
 * one bad event fails alone and is redelivered up to the delivery limit, as without batches).
 * A redelivered event always goes alone to fn. `evs` is borrowed for the call.
 */
typedef int (*wk_event_batch_fn)(struct wk_ctx *ctx, const struct proto_event *evs, size_t n);

struct wk_event_handler {
    const char *type;        /* "txn.posted": the routing key bound on ft.events */
    wk_event_fn fn;          /* a table ends with {NULL, NULL, NULL} */
    wk_event_batch_fn batch; /* may be NULL: every event goes alone to fn */
};

struct wk_spec {
    const char *name;                /* worker name: queue rpc.<name>, events.<name>, log svc */
    const char *schema;              /* outbox/inbox schema; NULL: wk_schema_for(name);
                                        "" : none (no relay, no event handlers allowed) */
    const struct wk_method *methods; /* may be NULL (only sys.ping) */
    const struct wk_batch_method *batches; /* may be NULL */
    const struct wk_event_handler *events; /* may be NULL */
    /* Called on the worker's thread between messages, about every tick_ms (default 1000),
     * for upkeep a worker owns (the auth worker re-seeds Redis's denylist). Its return value is
     * only logged when < 0. May be NULL. */
    int (*tick)(struct wk_ctx *ctx);
    int tick_ms;
    /* Default of WK_PREFETCH for this worker (0: 16). A worker with a batch method wants a
     * window as large as the batches it can post. */
    int prefetch;
};

/*
 * Runs the worker until SIGTERM/SIGINT. Returns the process exit code: 0 after a
 * clean stop, 78 (PROTO_CONFIG_EXIT) for bad configuration, 1 for a fatal setup
 * error. Call once from main, before starting any thread. The tables are borrowed
 * for the whole run (use static storage).
 */
int wk_run(const char *name, const struct wk_method *methods);
int wk_run_spec(const struct wk_spec *spec);

/* Schema of a built-in worker ("transaction" -> "ledger"), or NULL if unknown. */
const char *wk_schema_for(const char *worker_name);

/* ---- replies ---- */

/*
 * Sets an error answer: status (4xx/5xx), a stable snake_case code and a
 * printf-formatted human message (truncated to PROTO_MESSAGE_MAX). Discards the
 * body packed so far. Returns WK_EHANDLER so a handler can `return wk_reply_error(...)`
 * from inside a wk_db_tx callback to roll back, or return 0 from the handler itself.
 */
int wk_reply_error(struct wk_reply *rep, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Adds an extra HTTP response header ("Retry-After", "Idempotent-Replayed"); both
 * strings are copied. At most 8 headers per reply; more are dropped with a warning. */
void wk_reply_header(struct wk_reply *rep, const char *name, const char *value);

/* Writes `len` bytes that are exactly one packed msgpack object (a stored reply) into the
 * body as they are; the bytes are copied. */
void wk_reply_raw(struct wk_reply *rep, const void *body, size_t len);

/* 1 if wk_reply_error was called for this reply. */
int wk_reply_is_error(const struct wk_reply *rep);

/* The code and message wk_reply_error set ("" when it was not called); valid until the reply
 * is reset or set again. */
const char *wk_reply_error_code(const struct wk_reply *rep);
const char *wk_reply_error_message(const struct wk_reply *rep);

/* ---- handler helpers (args.c) ----
 * What a request handler reads from its request, in one place so every worker answers a missing
 * user or a malformed body alike. A handler starts
 *
 *   const char *user = wk_acting_user(req, rep);
 *   if (!user)
 *       return 0;
 *
 * and answers a refusal with `return wk_reply_error(rep, 4xx, "code", "message");`: the runtime
 * sends that error, and inside a wk_db_tx callback the transaction rolls back (a refusal whose
 * transaction must still commit sets the error and returns 0). Map keys and other C strings are
 * packed with proto_pack_cstr (proto/msg.h). These helpers are pure (no I/O, no logging, no
 * shared state): any thread may call them.
 */

/* The envelope's verified user (req->user, filled by the gateway from the access token; no
 * handler reads a user id from the body, path or query), or NULL after answering 401
 * "unauthenticated" on rep: a protected method reached without a verified user, which the
 * gateway never sends. The result is borrowed from req. */
const char *wk_acting_user(const struct proto_request *req, struct wk_reply *rep);

/* args.body when it is a map (a JSON object), or NULL after answering 400 "invalid_body" on
 * rep. The result is borrowed from req. */
const msgpack_object *wk_body(const struct proto_request *req, struct wk_reply *rep);

/* The path parameter args.path.<name> as a lowercase UUID in out: 1; 0 when absent; -1 when
 * present but not a UUID (out is written only on 1). Answers nothing: what a missing or bad id
 * means (404, "every account") is the method's to say. */
int wk_path_uuid(const struct proto_request *req, const char *name, char out[PROTO_UUID_LEN + 1]);

/* A request's idempotency record key and request hash, as a worker stores them beside its
 * effect: the Idempotency-Key when the client sent one, else the request id (so a redelivery
 * after a crash between commit and ack replays too). */
struct wk_idem {
    char key[PROTO_IDEM_MAX + PROTO_ID_MAX + 8]; /* "k:<Idempotency-Key>" or "r:<request id>" */
    unsigned char hash[PROTO_HASH_LEN];          /* proto_request_hash(method, body) */
};

/* Fills id for req and its body (may be NULL: hashed as nil; borrowed). 0 or PROTO_EIO (the
 * digest failed). */
int wk_idem_prepare(struct wk_idem *id, const struct proto_request *req,
                    const msgpack_object *body);

/* ---- context ---- */

/* The worker name given to wk_run, and the schema in use ("" when none). */
const char *wk_name(const struct wk_ctx *ctx);
const char *wk_schema(const struct wk_ctx *ctx);

/* Id of the request or event in hand, for logs ("" between messages). */
const char *wk_request_id(const struct wk_ctx *ctx);

/* ---- PostgreSQL (db.c) ---- */

/* The process's database handle; never NULL (it may be disconnected). */
struct wk_db *wk_db(struct wk_ctx *ctx);

/* 1 if the database connection is up. */
int wk_db_up(const struct wk_db *db);

/*
 * Runs one statement with text parameters (params[i] NULL = SQL NULL).
 * Returns a result the caller must PQclear (PGRES_TUPLES_OK or PGRES_COMMAND_OK),
 * or NULL on failure: the error is logged, its SQLSTATE kept in wk_db_sqlstate,
 * and a lost connection marks the handle down (wk_db_up() == 0).
 */
PGresult *wk_db_exec(struct wk_db *db, const char *sql, int nparams, const char *const *params);

/*
 * Like wk_db_exec, through a named prepared statement: `name` is prepared from
 * `sql` the first time it is used on a connection (again after a reconnect).
 * `name` and `sql` must be string literals (or otherwise outlive the process).
 */
PGresult *wk_db_exec_prepared(struct wk_db *db, const char *name, const char *sql, int nparams,
                              const char *const *params);

/* SQL text that renders a timestamptz column (or expression) as the API prints times: RFC 3339
 * UTC to the millisecond, "2026-12-08T10:00:00.123Z". `col` must be a string literal. */
#define WK_SQL_TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* What a handler returns after a failed statement: WK_EDBDOWN when the connection is gone (the
 * runtime answers 503 db_unavailable), else WK_EDB. */
int wk_db_fail(struct wk_ctx *ctx);

/* SQLSTATE of the last failed statement ("" if none, "08006" for a lost connection). */
const char *wk_db_sqlstate(const struct wk_db *db);

/* `len` bytes as the text form of a bytea parameter ("\\x0a1b..."); malloc'd, the caller
 * frees. Read a bytea column back with PQunescapeBytea. */
char *wk_db_bytea_text(const void *data, size_t len);

/* Rows affected by a COMMAND_OK result (PQcmdTuples as a number; 0 when empty). */
long wk_db_affected(PGresult *res);

typedef int (*wk_tx_fn)(struct wk_ctx *ctx, void *arg);

/*
 * Runs fn(ctx, arg) inside BEGIN ... COMMIT. fn returns 0 to commit or < 0 to roll
 * back. On SQLSTATE 40001 (serialization) or 40P01 (deadlock), whether from fn's
 * statements or from COMMIT, rolls back, resets the reply in hand (status, body,
 * error, headers) and retries, up to 5 attempts with a small jittered backoff.
 * A wk_db_tx inside another one just calls fn (the outer one owns the transaction).
 * Returns 0 after COMMIT, fn's code after ROLLBACK, WK_ESERIAL when retries run out,
 * WK_EDBDOWN when there is no connection, WK_EDB when BEGIN/COMMIT fail otherwise.
 */
int wk_db_tx(struct wk_ctx *ctx, wk_tx_fn fn, void *arg);

/*
 * Writes one event to <schema>.outbox in the current transaction (call it inside
 * wk_db_tx). type: "txn.posted"; user: a UUID or NULL; data_json: a JSON document
 * (jsonb). The relay publishes it to ft.events after commit.
 * Returns 0, PROTO_EINVAL (no schema for this worker) or a wk_db_exec failure code.
 */
int wk_outbox_add(struct wk_ctx *ctx, const char *type, const char *user, const char *data_json);

/* Tells the runtime that the current transaction wrote <schema>.outbox rows by other means
 * than wk_outbox_add (e.g. inside a SQL function), so the relay publishes them as promptly
 * as wk_outbox_add's rows. */
void wk_outbox_written(struct wk_ctx *ctx);

/* ---- Redis (kv.c) ---- */

/* The process's Redis handle; never NULL (Redis may be down). */
struct wk_kv *wk_kv(struct wk_ctx *ctx);

/*
 * One Redis command (hiredis format rules: %s, %b with a length, %d...). Connects
 * lazily, reconnecting at most every few hundred ms while Redis is down. Returns
 * a reply the caller must freeReplyObject, or NULL when Redis is down (WK_EKVDOWN)
 * or answered an error (WK_EKV; logged); wk_kv_last_error tells which.
 */
redisReply *wk_kv_command(struct wk_kv *kv, const char *fmt, ...);
int wk_kv_last_error(const struct wk_kv *kv);

/* ---- live push ---- */

/*
 * ft.live is the gateway's only input for browser sockets. Contract with the gateway: a message
 * on exchange ft.live, routing key user.<uuid> (the UUID lowercase), content type
 * application/json, transient (delivery mode 1), is for every open socket of that user, and
 *   - when its basic property `type` is "close" (WK_LIVE_TYPE_CLOSE), its body is
 *     {"code": <WebSocket close code>, "reason": "<text>"}: the gateway closes every socket of
 *     that user with that code and reason (e.g. 1008 "logged out");
 *   - otherwise its body is one JSON frame ({"type":"notification",...}, {"type":"balance",...})
 *     that the gateway forwards verbatim as one text frame to each of the user's sockets.
 * Delivery is best effort: a user without sockets has no bound queue and the message is
 * dropped; nothing is replayed after a reconnect (clients catch up over REST).
 */
#define WK_LIVE_TYPE_CLOSE "close"
#define WK_LIVE_REASON_MAX 123 /* bytes: a close frame's payload is at most 125 */

/*
 * Publishes a browser-ready JSON frame to ft.live with routing key user.<uuid> at once
 * (transient, best effort: a frame for a user without sockets is dropped), whether or not a
 * transaction is open; prefer wk_live_after_commit for frames that announce a change.
 * Returns 0, PROTO_EINVAL (user not a UUID) or WK_EMQ.
 */
int wk_live_publish(struct wk_ctx *ctx, const char *user, const char *json, size_t len);

/*
 * Queues the JSON frame `json` (`len` bytes, copied) for user `user` (a UUID). Inside a
 * wk_db_tx (at any nesting depth) the frame waits for the OUTERMOST transaction: it is published
 * right after that COMMIT succeeds, in the order queued, and discarded when the transaction
 * rolls back, fails, or is retried after 40001/40P01 (the retry queues its own frames again).
 * Event handlers run inside the inbox transaction, so the same holds for them. Outside a
 * transaction the frame is published at once. A publish failure is only logged: frames are
 * best effort and never fail the handler, so callers usually ignore the result.
 * Returns 0 (queued or sent), PROTO_EINVAL (user not a UUID, empty frame) or PROTO_ELIMIT
 * (more than 256 frames queued in one transaction; this one is dropped and logged).
 */
int wk_live_after_commit(struct wk_ctx *ctx, const char *user, const char *json, size_t len);

/*
 * Like wk_live_after_commit for a "close every socket of this user" message (see the contract
 * above): type "close", body {"code": code, "reason": reason} (reason JSON-escaped). code must
 * be one a close frame may carry (1000-1003, 1007-1014, 3000-4999); reason valid UTF-8 of at
 * most WK_LIVE_REASON_MAX bytes. The auth worker sends (user, 1008, "logged out") on logout.
 * Returns 0, PROTO_EINVAL (bad user, code or reason) or PROTO_ELIMIT.
 */
int wk_live_close_user(struct wk_ctx *ctx, const char *user, int code, const char *reason);

#endif
