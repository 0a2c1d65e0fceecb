/* Interruptible sleeps and the reconnect backoff shared by mq, db and kv. */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "proto/clock.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   5000

void wk_sleep_ms(int ms)
{
    /* Sleep in slices so a SIGTERM during a reconnect wait is noticed quickly. */
    int64_t end = proto_mono_ms() + ms;
    while (!wk_stopping()) {
        int64_t left = end - proto_mono_ms();
        if (left <= 0)
            break;
        if (left > 50)
            left = 50;
        struct timespec ts = {0, (long)left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

unsigned wk_rand(unsigned n)
{
    /* xorshift32: jitter only, so a weak generator seeded from pid and time is fine. */
    static uint32_t s;
    if (s == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        s = (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16) ^ (uint32_t)ts.tv_sec;
        if (s == 0)
            s = 0x9e3779b9u;
    }
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return n ? s % n : 0;
}

int wk_backoff_ready(const struct wk_backoff *b)
{
    return proto_mono_ms() >= b->next_at;
}

int wk_backoff_fail(struct wk_backoff *b)
{
    b->cur_ms = b->cur_ms ? b->cur_ms * 2 : BACKOFF_FIRST_MS;
    if (b->cur_ms > BACKOFF_MAX_MS)
        b->cur_ms = BACKOFF_MAX_MS;
    /* Full delay minus up to a quarter, so a fleet does not reconnect in lockstep. */
    int delay = b->cur_ms - (int)wk_rand((unsigned)b->cur_ms / 4 + 1);
    b->next_at = proto_mono_ms() + delay;
    return delay;
}

void wk_backoff_reset(struct wk_backoff *b)
{
    b->cur_ms = 0;
    b->next_at = 0;
}
