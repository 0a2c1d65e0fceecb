/*
 * proto/clock.h — the clocks every process reads: wall time for deadlines that cross processes
 * (an envelope's deadline_ms), monotonic time for durations and deadlines within one process.
 * Any thread.
 */
#ifndef PROTO_CLOCK_H
#define PROTO_CLOCK_H

#include <stdint.h>

/* Current time in unix milliseconds (CLOCK_REALTIME). */
int64_t proto_now_ms(void);

/* Monotonic time (CLOCK_MONOTONIC) in milliseconds / microseconds: for durations and deadlines
 * within one process. */
int64_t proto_mono_ms(void);
int64_t proto_mono_us(void);

/* Enough for "2026-12-08T10:00:00.123Z" and its NUL. */
#define PROTO_TIME_TEXT_MAX 25

/* Unix milliseconds (>= 0, before year 10000) as the API prints times: RFC 3339 UTC to the
 * millisecond, "2026-12-08T10:00:00.123Z" (what workers' SQL renders with WK_SQL_TS). */
void proto_time_text(int64_t unix_ms, char out[PROTO_TIME_TEXT_MAX]);

#endif
