/* Wall and monotonic clocks; see proto/clock.h. */
#include "proto/clock.h"

#include <stdio.h>
#include <time.h>

int64_t proto_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t proto_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t proto_mono_ms(void)
{
    return proto_mono_us() / 1000;
}

void proto_time_text(int64_t unix_ms, char out[PROTO_TIME_TEXT_MAX])
{
    time_t sec = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    size_t n = strftime(out, PROTO_TIME_TEXT_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, PROTO_TIME_TEXT_MAX - n, ".%03dZ", (int)(unix_ms % 1000));
}
