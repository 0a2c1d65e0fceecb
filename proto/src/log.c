/* logfmt lines on stderr, one write(2) each; see proto/log.h. */
#include "proto/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "proto/envelope.h"
#include "proto/status.h"

/* Longest line we emit; longer ones are cut and end in "...". */
#define LINE_MAX_BYTES 8192
#define STR_SLOTS      8
#define STR_SLOT_BYTES 256

/* Set once by proto_log_init before threads start, read-only afterwards. */
static const char *log_service = "-";
static enum proto_log_level log_min = PROTO_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void proto_log_init(const char *service, enum proto_log_level min_level)
{
    log_service = service ? service : "-";
    log_min = min_level;
}

int proto_log_level_parse(const char *s, enum proto_log_level *out)
{
    if (!s)
        return PROTO_EINVAL;
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum proto_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = PROTO_LOG_WARN;
        return 0;
    }
    return PROTO_EINVAL;
}

/* A value may stay bare in logfmt only if nothing in it can be mistaken for syntax. */
static int bare_ok(const char *s)
{
    if (!*s)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p >= 0x7f)
            return 0;
    return 1;
}

/*
 * Writes `s` quoted into dst (size > 5), escaping quotes, backslashes and control
 * characters so a hostile value cannot forge a field or a second line. Cuts with
 * "..." inside the quotes when it does not fit (then sets *cut if cut is not NULL).
 * Returns the length written.
 */
static size_t quote_into(char *dst, size_t size, const char *s, int *cut)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    size_t stop = size - 5; /* room for `..."` and NUL */
    dst[o++] = '"';
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[7];
        size_t n = 0;
        switch (*p) {
        case '"':
            esc[n++] = '\\';
            esc[n++] = '"';
            break;
        case '\\':
            esc[n++] = '\\';
            esc[n++] = '\\';
            break;
        case '\n':
            esc[n++] = '\\';
            esc[n++] = 'n';
            break;
        case '\r':
            esc[n++] = '\\';
            esc[n++] = 'r';
            break;
        case '\t':
            esc[n++] = '\\';
            esc[n++] = 't';
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                memcpy(esc, "\\u00", 4);
                n = 4;
                esc[n++] = hex[*p >> 4];
                esc[n++] = hex[*p & 0xf];
            } else {
                esc[n++] = (char)*p;
            }
        }
        if (o + n > stop) {
            memcpy(dst + o, "...", 3);
            o += 3;
            if (cut)
                *cut = 1;
            break;
        }
        memcpy(dst + o, esc, n);
        o += n;
    }
    dst[o++] = '"';
    dst[o] = '\0';
    return o;
}

const char *proto_log_str(const char *s)
{
    static _Thread_local char slots[STR_SLOTS][STR_SLOT_BYTES];
    static _Thread_local unsigned next;
    char *dst = slots[next++ % STR_SLOTS];
    quote_into(dst, STR_SLOT_BYTES, s ? s : "", NULL);
    return dst;
}

/* Appends at most up to the cap; sets *cut when something did not fit. */
static void append(char *line, size_t cap, size_t *o, const char *s, size_t n, int *cut)
{
    if (n > cap - *o) {
        n = cap - *o;
        *cut = 1;
    }
    memcpy(line + *o, s, n);
    *o += n;
}

void proto_log(enum proto_log_level level, const char *req_id, const char *msg, const char *kv_fmt,
               ...)
{
    if (level < log_min)
        return;
    if ((int)level < 0 || (int)level > PROTO_LOG_ERROR)
        level = PROTO_LOG_ERROR;

    /* One buffer per call on the stack: no lock, and one write(2) keeps lines whole. */
    char line[LINE_MAX_BYTES];
    const size_t cap = sizeof line - 4; /* keep room for "...\n" */
    size_t o = 0;

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char tbuf[64];
    size_t tn = strftime(tbuf, sizeof tbuf, "%Y-%m-%dT%H:%M:%S", &tm);
    int n = snprintf(line, cap, "ts=%.*s.%03ldZ level=%s svc=%s pid=%ld", (int)tn, tbuf,
                     (long)(ts.tv_nsec / 1000000), level_names[level], log_service, (long)getpid());
    /* `cut`: the line was shortened outside a quoted value, so it ends in "...". */
    int cut = 0;
    o = n > 0 ? (size_t)n : 0;
    if (o >= cap) {
        o = cap - 1;
        cut = 1;
    }

    char q[1024];
    if (req_id) {
        append(line, cap, &o, " req=", 5, &cut);
        if (bare_ok(req_id) && strlen(req_id) < sizeof q) {
            append(line, cap, &o, req_id, strlen(req_id), &cut);
        } else {
            size_t qn = quote_into(q, sizeof q, req_id, NULL);
            append(line, cap, &o, q, qn, &cut);
        }
    }
    append(line, cap, &o, " msg=", 5, &cut);
    int msg_cut = 0;
    if (!cut && cap - o > 6)
        o += quote_into(line + o, cap - o, msg ? msg : "", &msg_cut); /* cut inside quotes */
    else
        cut = 1;
    if (kv_fmt && *kv_fmt && !cut && !msg_cut && cap - o > 1) {
        line[o++] = ' ';
        size_t start = o;
        va_list ap;
        va_start(ap, kv_fmt);
        n = vsnprintf(line + o, cap - o, kv_fmt, ap);
        va_end(ap);
        if (n > 0 && (size_t)n < cap - o) {
            o += (size_t)n;
        } else if (n > 0) {
            o = cap - 1; /* cap - 1 holds vsnprintf's NUL */
            cut = 1;
        }
        /* A raw %s value with a newline would forge a second log line: neutralise
         * control characters (proto_log_str output never contains any). */
        for (size_t k = start; k < o; k++)
            if ((unsigned char)line[k] < 0x20 || line[k] == 0x7f)
                line[k] = '_';
    }
    if (cut) {
        memcpy(line + o, "...", 3);
        o += 3;
    }
    line[o++] = '\n';

    /* One write per line; a short write (a signal, a full pipe) is finished rather
     * than losing the tail, accepting that only that rare case can interleave. */
    const char *p = line;
    while (o > 0) {
        ssize_t w = write(STDERR_FILENO, p, o);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        o -= (size_t)w;
    }
}

int proto_log_budget_take(struct proto_log_budget *b, int per_second, uint64_t *dropped)
{
    return proto_log_budget_take_at(b, per_second, proto_mono_ms() / 1000, dropped);
}

int proto_log_budget_take_at(struct proto_log_budget *b, int per_second, int64_t now,
                             uint64_t *dropped)
{
    if (now != b->second) {
        b->second = now;
        b->used = 0;
    }
    if (b->used >= per_second) {
        b->dropped++;
        return 0;
    }
    b->used++;
    *dropped = b->dropped;
    b->dropped = 0;
    return 1;
}
