/* UUID v4 from the kernel's CSPRNG; see proto/uuid.h. */
#include "proto/uuid.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#include "proto/status.h"

/*
 * One getrandom per UUID was one of the system calls every gateway request paid for (perf,
 * issue 20), and a system call costs more than the rest of a UUID: each thread draws POOL
 * bytes at a time and hands out 16 per UUID, wiping them as it goes. A forked child would
 * repeat its parent's next UUIDs from the copied pool, so the child's pool starts empty.
 */
#define POOL 256

static _Thread_local uint8_t pool[POOL];
static _Thread_local size_t pool_left; /* unused bytes at the end of pool */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void empty_pool(void)
{
    pool_left = 0; /* in the child, on the thread that forked: the only one there */
}

static void watch_fork(void)
{
    pthread_atfork(NULL, NULL, empty_pool);
}

static int fill_pool(void)
{
    size_t got = 0;
    /* getrandom may return short reads or EINTR before the pool is ready; loop. */
    while (got < sizeof pool) {
        ssize_t n = getrandom(pool + got, sizeof pool - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return PROTO_EIO;
        }
        got += (size_t)n;
    }
    pool_left = sizeof pool;
    return 0;
}

int proto_uuid_v4(char out[PROTO_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    pthread_once(&atfork_once, watch_fork);
    if (pool_left < sizeof b && fill_pool() != 0)
        return PROTO_EIO;
    uint8_t *p = pool + sizeof pool - pool_left;
    memcpy(b, p, sizeof b);
    memset(p, 0, sizeof b);
    pool_left -= sizeof b;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0x0f];
    }
    out[o] = '\0';
    return 0;
}

static int is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int proto_uuid_valid(const char *s)
{
    if (!s)
        return 0;
    for (int i = 0; i < PROTO_UUID_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return 0;
        } else if (!is_hex(s[i])) {
            /* also stops at an early NUL, so we never read past a short string */
            return 0;
        }
    }
    return s[PROTO_UUID_LEN] == '\0';
}
