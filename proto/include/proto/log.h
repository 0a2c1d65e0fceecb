/*
 * proto/log.h — one logfmt line per event on stderr.
 *
 *   ts=2026-11-22T02:10:00.123Z level=info svc=gateway pid=42 req=<id> msg="rpc done" status=200
 * ms=1.2
 *
 * Each line is written with a single write(2), so lines from several threads or
 * processes never interleave. Never pass a secret, a token or a body.
 * proto_log_init is called once at start (before threads); proto_log from any thread.
 */
#ifndef PROTO_LOG_H
#define PROTO_LOG_H

#include <stdint.h>

#include <stddef.h> /* NULL, for kv_fmt in the PROTO_* macros */

enum proto_log_level {
    PROTO_LOG_DEBUG = 0,
    PROTO_LOG_INFO = 1,
    PROTO_LOG_WARN = 2,
    PROTO_LOG_ERROR = 3,
};

/* service: short static name ("gateway", "transaction"); kept by pointer. */
void proto_log_init(const char *service, enum proto_log_level min_level);

/* "debug"/"info"/"warn"/"error" -> level. Returns 0 or PROTO_EINVAL. */
int proto_log_level_parse(const char *s, enum proto_log_level *out);

/*
 * Logs one line. req_id may be NULL (then no req= field). msg is quoted and
 * escaped. kv_fmt (may be NULL) is a printf format for extra `key=value` pairs;
 * values that may contain spaces or quotes should go through proto_log_str.
 */
void proto_log(enum proto_log_level level, const char *req_id, const char *msg, const char *kv_fmt,
               ...) __attribute__((format(printf, 4, 5)));

/*
 * Returns `s` quoted/escaped for logfmt in a thread-local rotating buffer
 * (8 slots of 256 bytes, truncated with "..."), valid until 8 more calls on
 * this thread. For use as a %s argument to proto_log.
 */
const char *proto_log_str(const char *s);

/*
 * A budget of log lines per second, for lines an outsider can cause at will (a client's
 * malformed requests). proto_log_budget_take returns 1 when a line may be written now, with
 * *dropped set to the lines refused since the last one written (say it in that line), or 0
 * when the second's budget is spent (the line is counted). Zero-initialise; not thread-safe.
 */
struct proto_log_budget {
    int64_t second;
    int used;
    uint64_t dropped;
};
int proto_log_budget_take(struct proto_log_budget *b, int per_second, uint64_t *dropped);
/* The same at monotonic second `now` (tests). */
int proto_log_budget_take_at(struct proto_log_budget *b, int per_second, int64_t now,
                             uint64_t *dropped);

/* Convenience wrappers; pass NULL as the third argument when there are no extra pairs:
 * PROTO_INFO(req, "started", NULL). */
#define PROTO_DEBUG(req, msg, ...) proto_log(PROTO_LOG_DEBUG, (req), (msg), __VA_ARGS__)
#define PROTO_INFO(req, msg, ...)  proto_log(PROTO_LOG_INFO, (req), (msg), __VA_ARGS__)
#define PROTO_WARN(req, msg, ...)  proto_log(PROTO_LOG_WARN, (req), (msg), __VA_ARGS__)
#define PROTO_ERROR(req, msg, ...) proto_log(PROTO_LOG_ERROR, (req), (msg), __VA_ARGS__)

#endif
