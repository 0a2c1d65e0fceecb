/* Reading and writing msgpack values in handlers; see proto/msg.h. */
#include "proto/msg.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "proto/json.h"
#include "proto/money.h"
#include "proto/status.h"
#include "proto/uuid.h"

const msgpack_object *proto_map_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP || !key)
        return NULL;
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

int proto_obj_count(const msgpack_object *o, long max, long *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)max)
            return -1;
        *out = (long)o->via.u64;
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_STR || o->via.str.size == 0 || o->via.str.size > 10)
        return -1;
    long v = 0;
    for (uint32_t i = 0; i < o->via.str.size; i++) {
        char c = o->via.str.ptr[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    if (v > max)
        return -1;
    *out = v;
    return 0;
}

int proto_obj_str(const msgpack_object *o, char *buf, size_t size)
{
    if (!o || o->type != MSGPACK_OBJECT_STR)
        return PROTO_ETYPE;
    size_t n = o->via.str.size;
    if (size == 0 || n > size - 1)
        return PROTO_ELIMIT;
    if (!proto_utf8_valid(o->via.str.ptr, n))
        return PROTO_EUTF8;
    /* A NUL inside would silently cut the C string short ("a\0b" read as "a"). */
    if (n && memchr(o->via.str.ptr, '\0', n))
        return PROTO_EUTF8;
    if (n)
        memcpy(buf, o->via.str.ptr, n);
    buf[n] = '\0';
    return 0;
}

int proto_obj_uuid(const msgpack_object *o, char *out)
{
    char buf[PROTO_UUID_LEN + 2];
    if (proto_obj_str(o, buf, sizeof buf) != 0 || !proto_uuid_valid(buf))
        return -1;
    for (size_t i = 0; i <= PROTO_UUID_LEN; i++)
        out[i] = (buf[i] >= 'A' && buf[i] <= 'F') ? (char)(buf[i] - 'A' + 'a') : buf[i];
    return 0;
}

int proto_obj_int(const msgpack_object *o, int64_t *out)
{
    if (!o)
        return PROTO_ETYPE;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return PROTO_ERANGE;
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    return PROTO_ETYPE;
}

int proto_obj_money(const msgpack_object *o, int exponent, int64_t *minor)
{
    char text[32];
    int n;
    if (!o)
        return PROTO_ETYPE;
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        return proto_money_parse(o->via.str.ptr, o->via.str.size, exponent, minor);
    case MSGPACK_OBJECT_EXT:
        if (o->via.ext.type != PROTO_EXT_DECIMAL)
            return PROTO_ETYPE;
        return proto_money_parse(o->via.ext.ptr, o->via.ext.size, exponent, minor);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        /* Through the text path so the exponent scaling gets the same range checks. */
        n = snprintf(text, sizeof text, "%" PRIu64, o->via.u64);
        return proto_money_parse(text, (size_t)n, exponent, minor);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        n = snprintf(text, sizeof text, "%" PRId64, o->via.i64);
        return proto_money_parse(text, (size_t)n, exponent, minor);
    default:
        return PROTO_ETYPE;
    }
}

void proto_pack_cstr(msgpack_packer *pk, const char *s)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void proto_pack_money(msgpack_packer *pk, int64_t minor, int exponent)
{
    if (exponent == 0) {
        msgpack_pack_int64(pk, minor);
        return;
    }
    char text[PROTO_MONEY_TEXT_MAX];
    int n = proto_money_format(minor, exponent, text, sizeof text);
    assert(n > 0 && "exponent comes from proto_currency_exponent");
    if (n <= 0) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_ext(pk, (size_t)n, PROTO_EXT_DECIMAL);
    msgpack_pack_ext_body(pk, text, (size_t)n);
}

int proto_obj_check(const msgpack_object *o, int max_depth)
{
    int rc;
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        return proto_utf8_valid(o->via.str.ptr, o->via.str.size) ? 0 : PROTO_EUTF8;
    case MSGPACK_OBJECT_ARRAY:
        /* Checked before recursing, so the walk's own stack is bounded by max_depth. */
        if (max_depth < 1)
            return PROTO_ELIMIT;
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if ((rc = proto_obj_check(&o->via.array.ptr[i], max_depth - 1)) != 0)
                return rc;
        return 0;
    case MSGPACK_OBJECT_MAP:
        if (max_depth < 1)
            return PROTO_ELIMIT;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if ((rc = proto_obj_check(&o->via.map.ptr[i].key, max_depth - 1)) != 0)
                return rc;
            if ((rc = proto_obj_check(&o->via.map.ptr[i].val, max_depth - 1)) != 0)
                return rc;
        }
        return 0;
    default:
        return 0;
    }
}

/* Big-endian unsigned of n (1, 2 or 4) bytes. */
static uint32_t be(const unsigned char *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

int proto_msgpack_scan(const char *buf, size_t len, int max_depth)
{
    /* Items still expected at each open level; level 0 is the document (one item).
     * The fixed array bounds our own stack; deeper limits are clamped to it. */
    enum { SCAN_MAX_DEPTH = 256 };
    uint64_t need[SCAN_MAX_DEPTH + 1];
    int depth = 0;
    const unsigned char *p = (const unsigned char *)buf;
    size_t pos = 0;
    if (max_depth > SCAN_MAX_DEPTH)
        max_depth = SCAN_MAX_DEPTH;
    if (!buf || len == 0)
        return PROTO_ESYNTAX;
    need[0] = 1;
    for (;;) {
        while (depth > 0 && need[depth] == 0)
            depth--;
        if (depth == 0 && need[0] == 0)
            break;
        if (pos >= len)
            return PROTO_ESYNTAX;
        unsigned char b = p[pos++];
        size_t rest = len - pos;
        uint64_t skip = 0;  /* payload bytes after the header */
        uint64_t items = 0; /* elements of a container (2 per map entry) */
        int container = 0;
        int hdr = 0; /* length-field bytes that follow b */
        need[depth]--;
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
            /* fixint, nil, bool: nothing more */
        } else if (b <= 0x8f) {
            container = 1;
            items = 2u * (b & 0x0f);
        } else if (b <= 0x9f) {
            container = 1;
            items = b & 0x0f;
        } else if (b <= 0xbf) {
            skip = b & 0x1f;
        } else {
            switch (b) {
            case 0xc4:
            case 0xd9:
                hdr = 1;
                break; /* bin8, str8 */
            case 0xc5:
            case 0xda:
                hdr = 2;
                break;
            case 0xc6:
            case 0xdb:
                hdr = 4;
                break;
            case 0xc7:
                hdr = 1;
                skip = 1;
                break; /* ext8: + type byte */
            case 0xc8:
                hdr = 2;
                skip = 1;
                break;
            case 0xc9:
                hdr = 4;
                skip = 1;
                break;
            case 0xca:
                skip = 4;
                break;
            case 0xcb:
                skip = 8;
                break;
            case 0xcc:
            case 0xd0:
                skip = 1;
                break;
            case 0xcd:
            case 0xd1:
                skip = 2;
                break;
            case 0xce:
            case 0xd2:
                skip = 4;
                break;
            case 0xcf:
            case 0xd3:
                skip = 8;
                break;
            case 0xd4:
                skip = 2;
                break; /* fixext: type + data */
            case 0xd5:
                skip = 3;
                break;
            case 0xd6:
                skip = 5;
                break;
            case 0xd7:
                skip = 9;
                break;
            case 0xd8:
                skip = 17;
                break;
            case 0xdc:
                container = 1;
                hdr = 2;
                break;
            case 0xdd:
                container = 1;
                hdr = 4;
                break;
            case 0xde:
                container = 2;
                hdr = 2;
                break;
            case 0xdf:
                container = 2;
                hdr = 4;
                break;
            default:
                return PROTO_ESYNTAX; /* 0xc1 is reserved */
            }
            if (hdr) {
                if (rest < (size_t)hdr)
                    return PROTO_ESYNTAX;
                uint64_t n = be(p + pos, hdr);
                pos += (size_t)hdr;
                rest -= (size_t)hdr;
                if (container)
                    items = container == 2 ? 2 * n : n;
                else
                    skip += n;
            }
        }
        if (container) {
            if (depth >= max_depth)
                return PROTO_ELIMIT;
            /* Every element takes at least one byte: a larger count is a lie. */
            if (items > rest)
                return PROTO_ESYNTAX;
            need[++depth] = items;
        } else {
            if (skip > rest)
                return PROTO_ESYNTAX;
            pos += (size_t)skip;
        }
    }
    return pos == len ? 0 : PROTO_ESYNTAX;
}
