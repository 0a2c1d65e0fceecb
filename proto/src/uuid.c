/* UUID v4 from the kernel's CSPRNG; see proto/uuid.h. */
#include "proto/uuid.h"

#include <errno.h>
#include <stdint.h>
#include <sys/random.h>

#include "proto/status.h"

int proto_uuid_v4(char out[PROTO_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    size_t got = 0;
    /* getrandom may return short reads or EINTR before the pool is ready; loop. */
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return PROTO_EIO;
        }
        got += (size_t)n;
    }
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
