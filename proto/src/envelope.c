/* RPC request/reply and event envelopes; see proto/envelope.h. */
#include "proto/envelope.h"

#include <string.h>

#include "proto/json.h"
#include "proto/msg.h"
#include "proto/status.h"

/* ---- encoding ---- */

/*
 * Validates a string field before anything is packed, so a rejected envelope
 * leaves `out` untouched. `required` fields must be non-empty.
 */
static int check_field(const char *s, size_t max, int required)
{
    if (!s || !*s)
        return required ? PROTO_EINVAL : 0;
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return PROTO_ELIMIT;
    if (!proto_utf8_valid(s, n))
        return PROTO_EUTF8;
    return 0;
}

static int check_uuid_or_empty(const char *s)
{
    if (!s || !*s)
        return 0;
    return proto_uuid_valid(s) ? 0 : PROTO_EINVAL;
}

/* Empty string -> nil, for the "uuid|nil" and "str|nil" fields. */
static void pack_opt(msgpack_packer *pk, const char *s)
{
    proto_pack_cstr(pk, s && *s ? s : NULL);
}

static void pack_raw(msgpack_sbuffer *out, const char *mp, size_t len)
{
    msgpack_sbuffer_write(out, mp, len);
}

/* The size limit is the decoder's, so an encoder never emits what the peer rejects. */
static int finish(msgpack_sbuffer *out, size_t start)
{
    if (out->size - start > PROTO_ENVELOPE_MAX_BYTES) {
        out->size = start;
        return PROTO_ELIMIT;
    }
    return 0;
}

int proto_request_encode(msgpack_sbuffer *out, const struct proto_request *req, const char *args_mp,
                         size_t args_len)
{
    int rc;
    if (!req)
        return PROTO_EINVAL;
    if ((rc = check_field(req->id, PROTO_ID_MAX, 1)) ||
        (rc = check_field(req->method, PROTO_METHOD_MAX, 1)) ||
        (rc = check_uuid_or_empty(req->user)) || (rc = check_field(req->idem, PROTO_IDEM_MAX, 0)))
        return rc;
    if (args_mp && args_len > PROTO_ENVELOPE_MAX_BYTES)
        return PROTO_ELIMIT;

    size_t start = out->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    proto_pack_cstr(&pk, "v");
    msgpack_pack_int(&pk, PROTO_WIRE_VERSION);
    proto_pack_cstr(&pk, "id");
    proto_pack_cstr(&pk, req->id);
    proto_pack_cstr(&pk, "method");
    proto_pack_cstr(&pk, req->method);
    proto_pack_cstr(&pk, "user");
    pack_opt(&pk, req->user);
    proto_pack_cstr(&pk, "idem");
    pack_opt(&pk, req->idem);
    proto_pack_cstr(&pk, "deadline");
    msgpack_pack_int64(&pk, req->deadline_ms);
    proto_pack_cstr(&pk, "args");
    if (args_mp && args_len)
        pack_raw(out, args_mp, args_len);
    else
        msgpack_pack_map(&pk, 0);
    return finish(out, start);
}

int proto_reply_encode(msgpack_sbuffer *out, const char *id, int status, const char *body_mp,
                       size_t body_len, const char *headers_mp, size_t headers_len)
{
    int rc;
    if ((rc = check_field(id, PROTO_ID_MAX, 1)))
        return rc;
    if (status < 100 || status > 599)
        return PROTO_EINVAL;
    if ((body_mp && body_len > PROTO_ENVELOPE_MAX_BYTES) ||
        (headers_mp && headers_len > PROTO_ENVELOPE_MAX_BYTES))
        return PROTO_ELIMIT;
    int has_headers = headers_mp && headers_len;

    size_t start = out->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, has_headers ? 5 : 4);
    proto_pack_cstr(&pk, "v");
    msgpack_pack_int(&pk, PROTO_WIRE_VERSION);
    proto_pack_cstr(&pk, "id");
    proto_pack_cstr(&pk, id);
    proto_pack_cstr(&pk, "status");
    msgpack_pack_int(&pk, status);
    proto_pack_cstr(&pk, "body");
    if (body_mp && body_len)
        pack_raw(out, body_mp, body_len);
    else
        msgpack_pack_nil(&pk);
    if (has_headers) {
        proto_pack_cstr(&pk, "headers");
        pack_raw(out, headers_mp, headers_len);
    }
    return finish(out, start);
}

int proto_reply_encode_error_headers(msgpack_sbuffer *out, const char *id, int status,
                                     const char *code, const char *message, const char *headers_mp,
                                     size_t headers_len)
{
    int rc;
    if ((rc = check_field(id, PROTO_ID_MAX, 1)) || (rc = check_field(code, PROTO_CODE_MAX, 1)) ||
        (rc = check_field(message, PROTO_MESSAGE_MAX, 0)))
        return rc;
    if (status < 100 || status > 599)
        return PROTO_EINVAL;
    if (headers_mp && headers_len > PROTO_ENVELOPE_MAX_BYTES)
        return PROTO_ELIMIT;
    int has_headers = headers_mp && headers_len;

    size_t start = out->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, has_headers ? 5 : 4);
    proto_pack_cstr(&pk, "v");
    msgpack_pack_int(&pk, PROTO_WIRE_VERSION);
    proto_pack_cstr(&pk, "id");
    proto_pack_cstr(&pk, id);
    proto_pack_cstr(&pk, "status");
    msgpack_pack_int(&pk, status);
    proto_pack_cstr(&pk, "error");
    msgpack_pack_map(&pk, 2);
    proto_pack_cstr(&pk, "code");
    proto_pack_cstr(&pk, code);
    proto_pack_cstr(&pk, "message");
    proto_pack_cstr(&pk, message ? message : "");
    if (has_headers) {
        proto_pack_cstr(&pk, "headers");
        pack_raw(out, headers_mp, headers_len);
    }
    return finish(out, start);
}

int proto_reply_encode_error(msgpack_sbuffer *out, const char *id, int status, const char *code,
                             const char *message)
{
    return proto_reply_encode_error_headers(out, id, status, code, message, NULL, 0);
}

int proto_event_encode(msgpack_sbuffer *out, const struct proto_event *ev, const char *data_mp,
                       size_t data_len)
{
    int rc;
    if (!ev || !proto_uuid_valid(ev->id))
        return PROTO_EINVAL;
    if ((rc = check_field(ev->type, PROTO_METHOD_MAX, 1)) || (rc = check_uuid_or_empty(ev->user)))
        return rc;
    if (data_mp && data_len > PROTO_ENVELOPE_MAX_BYTES)
        return PROTO_ELIMIT;

    size_t start = out->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    proto_pack_cstr(&pk, "v");
    msgpack_pack_int(&pk, PROTO_WIRE_VERSION);
    proto_pack_cstr(&pk, "id");
    proto_pack_cstr(&pk, ev->id);
    proto_pack_cstr(&pk, "type");
    proto_pack_cstr(&pk, ev->type);
    proto_pack_cstr(&pk, "user");
    pack_opt(&pk, ev->user);
    proto_pack_cstr(&pk, "at");
    msgpack_pack_int64(&pk, ev->at_ms);
    proto_pack_cstr(&pk, "data");
    if (data_mp && data_len)
        pack_raw(out, data_mp, data_len);
    else
        msgpack_pack_nil(&pk);
    return finish(out, start);
}

/* ---- decoding ---- */

#define MAX_FIELDS 8

/*
 * Unpacks exactly one map from buf and finds the known keys in it.
 * fields[i] is set to the value of names[i] or NULL when absent.
 */
static int unpack_envelope(const char *buf, size_t len, msgpack_unpacked *up,
                           const char *const *names, size_t nnames, const msgpack_object **fields)
{
    /* Checked before unpacking so a huge message costs nothing. */
    if (len > PROTO_ENVELOPE_MAX_BYTES)
        return PROTO_ELIMIT;
    if (!buf || len == 0)
        return PROTO_ESYNTAX;
    /* Our own allocation-free pass first: msgpack-c trusts declared container sizes
     * and would allocate for them before noticing the bytes are missing. */
    int rc = proto_msgpack_scan(buf, len, PROTO_ENVELOPE_MAX_DEPTH);
    if (rc)
        return rc;
    size_t off = 0;
    switch (msgpack_unpack_next(up, buf, len, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
    case MSGPACK_UNPACK_EXTRA_BYTES:
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        /* msgpack-c's parser has a fixed nesting stack and reports overflowing it as
         * NOMEM: for our bounded messages that means "too deep", a limit. */
        return PROTO_ELIMIT;
    default:
        return PROTO_ESYNTAX;
    }
    if (off != len)
        return PROTO_ESYNTAX;
    const msgpack_object *root = &up->data;
    if (root->type != MSGPACK_OBJECT_MAP)
        return PROTO_ESYNTAX;

    unsigned seen = 0;
    for (size_t i = 0; i < nnames; i++)
        fields[i] = NULL;
    for (uint32_t k = 0; k < root->via.map.size; k++) {
        const msgpack_object *key = &root->via.map.ptr[k].key;
        if (key->type != MSGPACK_OBJECT_STR)
            return PROTO_ETYPE;
        for (size_t i = 0; i < nnames; i++) {
            size_t n = strlen(names[i]);
            if (key->via.str.size == n && memcmp(key->via.str.ptr, names[i], n) == 0) {
                /* A second "user" could make two readers see two different users. */
                if (seen & (1u << i))
                    return PROTO_ESYNTAX;
                seen |= 1u << i;
                fields[i] = &root->via.map.ptr[k].val;
                break;
            }
        }
    }

    /* Version first: a v2 message gets the precise error whatever else changed. */
    const msgpack_object *v = fields[0];
    int64_t ver;
    if (!v)
        return PROTO_EMISSING;
    if (proto_obj_int(v, &ver) != 0)
        return PROTO_ETYPE;
    if (ver != PROTO_WIRE_VERSION)
        return PROTO_EVERSION;
    return proto_obj_check(root, PROTO_ENVELOPE_MAX_DEPTH);
}

static int is_nil(const msgpack_object *o)
{
    return !o || o->type == MSGPACK_OBJECT_NIL;
}

/* A required, non-empty string. */
static int get_str(const msgpack_object *o, char *buf, size_t size)
{
    if (!o)
        return PROTO_EMISSING;
    int rc = proto_obj_str(o, buf, size);
    if (rc)
        return rc;
    return buf[0] ? 0 : PROTO_EINVAL;
}

/* nil/absent -> "", else a string. */
static int get_opt_str(const msgpack_object *o, char *buf, size_t size)
{
    buf[0] = '\0';
    if (is_nil(o))
        return 0;
    return proto_obj_str(o, buf, size);
}

static int get_opt_uuid(const msgpack_object *o, char *buf, size_t size)
{
    int rc = get_opt_str(o, buf, size);
    if (rc == PROTO_ELIMIT)
        return PROTO_EINVAL; /* too long to be a UUID */
    if (rc)
        return rc;
    return !buf[0] || proto_uuid_valid(buf) ? 0 : PROTO_EINVAL;
}

static int get_int(const msgpack_object *o, int64_t *out)
{
    if (!o)
        return PROTO_EMISSING;
    return proto_obj_int(o, out) == 0 ? 0 : PROTO_ETYPE;
}

static const msgpack_object nil_object = {.type = MSGPACK_OBJECT_NIL};

int proto_request_decode(const char *buf, size_t len, msgpack_unpacked *up,
                         struct proto_request *req)
{
    static const char *const names[] = {"v", "id", "method", "user", "idem", "deadline", "args"};
    const msgpack_object *f[MAX_FIELDS];
    int rc;
    memset(req, 0, sizeof *req);
    req->args = nil_object;
    if ((rc = unpack_envelope(buf, len, up, names, 7, f)))
        return rc;
    if ((rc = get_str(f[1], req->id, sizeof req->id)) ||
        (rc = get_str(f[2], req->method, sizeof req->method)) ||
        (rc = get_opt_uuid(f[3], req->user, sizeof req->user)) ||
        (rc = get_opt_str(f[4], req->idem, sizeof req->idem)) ||
        (rc = get_int(f[5], &req->deadline_ms)))
        return rc;
    if (!is_nil(f[6])) {
        if (f[6]->type != MSGPACK_OBJECT_MAP)
            return PROTO_ETYPE;
        req->args = *f[6];
    }
    return 0;
}

/* headers: a map of str -> str. */
static int check_headers(const msgpack_object *h)
{
    if (h->type != MSGPACK_OBJECT_MAP)
        return PROTO_ETYPE;
    for (uint32_t i = 0; i < h->via.map.size; i++)
        if (h->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR ||
            h->via.map.ptr[i].val.type != MSGPACK_OBJECT_STR)
            return PROTO_ETYPE;
    return 0;
}

int proto_reply_decode(const char *buf, size_t len, msgpack_unpacked *up, struct proto_reply *rep)
{
    static const char *const names[] = {"v", "id", "status", "body", "error", "headers"};
    const msgpack_object *f[MAX_FIELDS];
    int rc;
    int64_t status;
    memset(rep, 0, sizeof *rep);
    rep->body = nil_object;
    rep->headers = nil_object;
    if ((rc = unpack_envelope(buf, len, up, names, 6, f)))
        return rc;
    if ((rc = get_str(f[1], rep->id, sizeof rep->id)) || (rc = get_int(f[2], &status)))
        return rc;
    if (status < 100 || status > 599)
        return PROTO_EINVAL;
    rep->status = (int)status;
    if (!is_nil(f[4])) {
        const msgpack_object *e = f[4];
        if (e->type != MSGPACK_OBJECT_MAP)
            return PROTO_ETYPE;
        /* Exactly one of body and error: a reply that is both is ambiguous. */
        if (!is_nil(f[3]))
            return PROTO_ETYPE;
        if ((rc = get_str(proto_map_get(e, "code"), rep->code, sizeof rep->code)))
            return rc;
        const msgpack_object *m = proto_map_get(e, "message");
        if (!m)
            return PROTO_EMISSING;
        if ((rc = proto_obj_str(m, rep->message, sizeof rep->message)))
            return rc;
        rep->is_error = 1;
    }
    if (!is_nil(f[5]) && (rc = check_headers(f[5])))
        return rc;
    /* Borrowed objects only once everything passed, so a failed decode exposes none. */
    if (!rep->is_error && f[3])
        rep->body = *f[3];
    if (!is_nil(f[5]))
        rep->headers = *f[5];
    return 0;
}

int proto_event_decode(const char *buf, size_t len, msgpack_unpacked *up, struct proto_event *ev)
{
    static const char *const names[] = {"v", "id", "type", "user", "at", "data"};
    const msgpack_object *f[MAX_FIELDS];
    int rc;
    memset(ev, 0, sizeof *ev);
    ev->data = nil_object;
    if ((rc = unpack_envelope(buf, len, up, names, 6, f)))
        return rc;
    if (!f[1])
        return PROTO_EMISSING;
    if ((rc = proto_obj_str(f[1], ev->id, sizeof ev->id)) == PROTO_ELIMIT)
        return PROTO_EINVAL;
    if (rc)
        return rc;
    if (!proto_uuid_valid(ev->id))
        return PROTO_EINVAL;
    if ((rc = get_str(f[2], ev->type, sizeof ev->type)) ||
        (rc = get_opt_uuid(f[3], ev->user, sizeof ev->user)) || (rc = get_int(f[4], &ev->at_ms)))
        return rc;
    if (f[5])
        ev->data = *f[5];
    return 0;
}
