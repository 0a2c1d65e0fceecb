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

#endif
