/* The idempotency request hash; see proto/reqhash.h. */
#include "proto/reqhash.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "proto/buf.h"
#include "proto/status.h"

static void put_len(EVP_MD_CTX *md, char tag, uint64_t n)
{
    unsigned char b[9];
    b[0] = (unsigned char)tag;
    for (int i = 0; i < 8; i++)
        b[1 + i] = (unsigned char)(n >> (56 - 8 * i));
    EVP_DigestUpdate(md, b, sizeof b);
}

static _Thread_local const msgpack_object_kv *sort_base;

static int key_cmp(const void *a, const void *b)
{
    const msgpack_object *ka = &sort_base[*(const uint32_t *)a].key;
    const msgpack_object *kb = &sort_base[*(const uint32_t *)b].key;
    /* Keys are strings in JSON bodies; order other key types by type first. */
    if (ka->type != kb->type)
        return ka->type < kb->type ? -1 : 1;
    if (ka->type != MSGPACK_OBJECT_STR)
        return 0;
    uint32_t la = ka->via.str.size, lb = kb->via.str.size;
    int c = memcmp(ka->via.str.ptr, kb->via.str.ptr, la < lb ? la : lb);
    return c ? c : (la < lb ? -1 : la > lb);
}

static void hash_obj(EVP_MD_CTX *md, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        put_len(md, 'n', 0);
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        put_len(md, 'b', o->via.boolean ? 1 : 0);
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        put_len(md, 'u', o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        put_len(md, 'i', (uint64_t)o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: {
        uint64_t bits;
        memcpy(&bits, &o->via.f64, sizeof bits);
        put_len(md, 'f', bits);
        break;
    }
    case MSGPACK_OBJECT_STR:
        put_len(md, 's', o->via.str.size);
        EVP_DigestUpdate(md, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        put_len(md, 'B', o->via.bin.size);
        EVP_DigestUpdate(md, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_EXT:
        put_len(md, 'e', (uint64_t)(uint8_t)o->via.ext.type);
        put_len(md, 'E', o->via.ext.size);
        EVP_DigestUpdate(md, o->via.ext.ptr, o->via.ext.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        put_len(md, 'a', o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++)
            hash_obj(md, &o->via.array.ptr[i]);
        break;
    case MSGPACK_OBJECT_MAP: {
        uint32_t n = o->via.map.size;
        put_len(md, 'm', n);
        uint32_t *idx = proto_xmalloc((n ? n : 1) * sizeof *idx);
        for (uint32_t i = 0; i < n; i++)
            idx[i] = i;
        /* qsort has no context argument in C11; the sort finishes before recursing. */
        sort_base = o->via.map.ptr;
        qsort(idx, n, sizeof *idx, key_cmp);
        for (uint32_t i = 0; i < n; i++) {
            hash_obj(md, &o->via.map.ptr[idx[i]].key);
            hash_obj(md, &o->via.map.ptr[idx[i]].val);
        }
        free(idx);
        break;
    }
    default:
        put_len(md, '?', (uint64_t)o->type);
        break;
    }
}

int proto_request_hash(const char *method, const msgpack_object *body,
                       unsigned char out[PROTO_HASH_LEN])
{
    static const msgpack_object nil = {.type = MSGPACK_OBJECT_NIL};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(md, method, strlen(method) + 1) == 1;
    if (ok) {
        hash_obj(md, body ? body : &nil);
        ok = EVP_DigestFinal_ex(md, out, &len) == 1 && len == PROTO_HASH_LEN;
    }
    EVP_MD_CTX_free(md);
    return ok ? 0 : PROTO_EIO;
}
