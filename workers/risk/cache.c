/*
 * The risk worker's per-user cache (risk.h): each user's recent postings, oldest first, and the
 * Isolation Forest trained on them, so scoring a posting reads only the postings after the last
 * one seen (usually just itself) and trains only on the refresh schedule, not per posting.
 *
 * Bounded: at most risk_cfg.cache_users users (least recently used evicted), each holding at most
 * RISK_USER_CAP postings (the oldest SLACK dropped at once, so appending is amortised
 * O(1)); the detector always looks at the last RISK_HISTORY_MAX before a posting. A process
 * restart or eviction only costs a reload: nothing here is the source of truth, and several risk
 * processes each keep their own (the ledger is read for whatever a process has not seen).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/clock.h"
#include "risk.h"

#define CAP     RISK_USER_CAP
#define SLACK   (RISK_USER_CAP - RISK_HISTORY_MAX)
#define BUCKETS 1024

static struct risk_user *buckets[BUCKETS];
static struct risk_user *lru_head, *lru_tail; /* head: most recently used */
static long count;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void lru_unlink(struct risk_user *u)
{
    if (u->lru_prev)
        u->lru_prev->lru_next = u->lru_next;
    else
        lru_head = u->lru_next;
    if (u->lru_next)
        u->lru_next->lru_prev = u->lru_prev;
    else
        lru_tail = u->lru_prev;
    u->lru_prev = u->lru_next = NULL;
}

static void lru_push_front(struct risk_user *u)
{
    u->lru_next = lru_head;
    if (lru_head)
        lru_head->lru_prev = u;
    lru_head = u;
    if (!lru_tail)
        lru_tail = u;
}

void risk_cache_drop(struct risk_user *u)
{
    struct risk_user **pp = &buckets[fnv1a(u->user) % BUCKETS];
    while (*pp && *pp != u)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = u->hash_next;
    lru_unlink(u);
    risk_forest_free(u->forest);
    free(u->post);
    free(u->meta);
    free(u);
    count--;
}

struct risk_user *risk_cache_get(const char *user_in)
{
    /* The key as ids are stored (lowercase), whoever asks: the ledger answers lowercase. */
    char user[PROTO_UUID_LEN + 1];
    size_t k = 0;
    for (; user_in[k] && k < PROTO_UUID_LEN; k++)
        user[k] =
            (user_in[k] >= 'A' && user_in[k] <= 'F') ? (char)(user_in[k] - 'A' + 'a') : user_in[k];
    user[k] = '\0';
    size_t b = fnv1a(user) % BUCKETS;
    for (struct risk_user *u = buckets[b]; u; u = u->hash_next) {
        if (strcmp(u->user, user) == 0) {
            lru_unlink(u);
            lru_push_front(u);
            u->pinned++;
            return u;
        }
    }
    /* Evict the least recently used entries that no batch in hand is using. */
    struct risk_user *victim = lru_tail;
    while (count >= risk_cfg.cache_users && victim) {
        struct risk_user *prev = victim->lru_prev;
        if (!victim->pinned)
            risk_cache_drop(victim);
        victim = prev;
    }
    struct risk_user *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    snprintf(u->user, sizeof u->user, "%s", user);
    u->hash_next = buckets[b];
    buckets[b] = u;
    lru_push_front(u);
    count++;
    u->pinned = 1;
    return u;
}

void risk_cache_unpin(struct risk_user *u)
{
    if (u->pinned > 0)
        u->pinned--;
}

void risk_cache_append(struct risk_user *u, const struct risk_posting *p, const struct risk_meta *m)
{
    if (u->n == u->cap && u->cap < CAP) {
        /* Room grows with the history (most users hold a few dozen postings, ~160 bytes each). */
        u->cap = u->cap ? (2 * u->cap < CAP ? 2 * u->cap : CAP) : 32;
        u->post = proto_xrealloc(u->post, u->cap * sizeof *u->post);
        u->meta = proto_xrealloc(u->meta, u->cap * sizeof *u->meta);
    }
    if (u->n == CAP) {
        memmove(u->post, u->post + SLACK, (CAP - SLACK) * sizeof *u->post);
        memmove(u->meta, u->meta + SLACK, (CAP - SLACK) * sizeof *u->meta);
        u->n -= SLACK;
    }
    u->post[u->n] = *p;
    u->meta[u->n] = *m;
    u->n++;
    u->last_seq = m->seq;
    u->trained_since++;
}

void risk_cache_clear(struct risk_user *u)
{
    u->n = 0;
    u->last_seq = 0;
    u->loaded = 0;
}

const struct risk_forest *risk_cache_model(struct risk_user *u, size_t i)
{
    size_t first = i > RISK_HISTORY_MAX ? i - RISK_HISTORY_MAX : 0;
    size_t nprev = i - first;
    if (nprev < RISK_FOREST_MIN)
        return NULL;
    int64_t now = proto_mono_ms();
    /* Fresh enough, and trained only on postings before this one (a late event for an older
     * posting must not be judged by a forest that has already seen it). A NULL model is fresh
     * too: the last training found too few outgoing postings, and trying again on every posting
     * would only cost a millisecond each time. */
    if (u->trained_ms && (long)u->trained_since < risk_cfg.refresh_postings &&
        now - u->trained_ms < risk_cfg.refresh_ms && u->trained_seq < u->meta[i].seq)
        return u->forest;
    struct risk_forest *f =
        risk_model_train(u->post + first, nprev, risk_cfg.seed ^ fnv1a(u->user));
    risk_forest_free(u->forest);
    u->forest = f;
    u->trained_seq = u->meta[i - 1].seq;
    u->trained_since = 0;
    u->trained_ms = now > 0 ? now : 1;
    return f;
}
