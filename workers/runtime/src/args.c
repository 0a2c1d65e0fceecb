/*
 * What a request handler reads from its request (runtime/wk.h, "handler helpers"): the verified
 * user, the JSON body, a path id, the idempotency key. One copy, so every worker answers a
 * missing user or a body that is not an object with the same status, code and message.
 */
#include <stdio.h>

#include "proto/msg.h"
#include "runtime/wk.h"

const char *wk_acting_user(const struct proto_request *req, struct wk_reply *rep)
{
    if (proto_uuid_valid(req->user))
        return req->user;
    wk_reply_error(rep, 401, "unauthenticated", "Sign in first.");
    return NULL;
}

const msgpack_object *wk_body(const struct proto_request *req, struct wk_reply *rep)
{
    const msgpack_object *body = proto_map_get(&req->args, "body");
    if (!body || body->type != MSGPACK_OBJECT_MAP) {
        wk_reply_error(rep, 400, "invalid_body", "The request body must be a JSON object.");
        return NULL;
    }
    return body;
}

int wk_path_uuid(const struct proto_request *req, const char *name, char out[PROTO_UUID_LEN + 1])
{
    const msgpack_object *o = proto_map_get(proto_map_get(&req->args, "path"), name);
    if (!o)
        return 0;
    return proto_obj_uuid(o, out) == 0 ? 1 : -1;
}

int wk_idem_prepare(struct wk_idem *id, const struct proto_request *req, const msgpack_object *body)
{
    if (req->idem[0])
        snprintf(id->key, sizeof id->key, "k:%s", req->idem);
    else
        snprintf(id->key, sizeof id->key, "r:%s", req->id);
    return proto_request_hash(req->method, body, id->hash);
}
