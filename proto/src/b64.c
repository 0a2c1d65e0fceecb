/* Unpadded base64url; see proto/b64.h. */
#include "proto/b64.h"

#include <stdint.h>

#include "proto/status.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long proto_b64url_encode(const void *in, size_t n, char *out, size_t outcap)
{
    const unsigned char *p = in;
    if (outcap < PROTO_B64URL_LEN(n) + 1)
        return PROTO_ELIMIT;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = alphabet[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = alphabet[v & 63];
    }
    out[o] = '\0';
    return (long)o;
}

long proto_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap)
{
    if (len % 4 == 1)
        return PROTO_ESYNTAX;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = value_of((unsigned char)in[i]);
        if (v < 0)
            return PROTO_ESYNTAX;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= outcap)
                return PROTO_ELIMIT;
            if (out)
                out[o] = (unsigned char)(acc >> bits);
            o++;
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits are padding and must be zero: one encoding per byte string. */
    return acc ? PROTO_ESYNTAX : (long)o;
}
