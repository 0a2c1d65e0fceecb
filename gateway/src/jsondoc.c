/* A JSON document read as a msgpack object; see jsondoc.h. */
#include "jsondoc.h"

const msgpack_object *gw_jsondoc_parse(struct gw_jsondoc *d, const char *json, size_t len,
                                       const struct proto_json_limits *lim)
{
    msgpack_sbuffer_init(&d->packed);
    msgpack_unpacked_init(&d->up);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &d->packed, msgpack_sbuffer_write);
    if (proto_json_to_msgpack(json, len, lim, &pk, NULL, 0) != 0 ||
        msgpack_unpack_next(&d->up, d->packed.data, d->packed.size, NULL) != MSGPACK_UNPACK_SUCCESS)
        return NULL;
    return &d->up.data;
}

void gw_jsondoc_free(struct gw_jsondoc *d)
{
    msgpack_unpacked_destroy(&d->up);
    msgpack_sbuffer_destroy(&d->packed);
}
