/* JSON test bodies as msgpack objects; see ft_json.h. */
#include "ft_json.h"

#include <string.h>

#include "proto/json.h"

static msgpack_unpacked up;
static msgpack_sbuffer sb;
static int live;

void ft_json_free(void)
{
    if (!live)
        return;
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    live = 0;
}

const msgpack_object *ft_json_obj(const char *json)
{
    ft_json_free();
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked_init(&up);
    live = 1;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    if (proto_json_to_msgpack(json, strlen(json), NULL, &pk, NULL, 0) != 0)
        return NULL;
    size_t off = 0;
    if (msgpack_unpack_next(&up, sb.data, sb.size, &off) != MSGPACK_UNPACK_SUCCESS)
        return NULL;
    return &up.data;
}
