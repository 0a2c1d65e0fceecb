/*
 * gateway/jsondoc.h — a small JSON document read as a msgpack object.
 *
 * The gateway reads a few JSON texts itself (a close order on ft.live, a sys.ping body for
 * /api/status): proto_json_to_msgpack packs the text and the packed bytes are unpacked once,
 * so the proto_map_get / proto_obj_* helpers read it. The document owns both buffers; the
 * object points into them and lives until gw_jsondoc_free. Any thread (no shared state).
 */
#ifndef GW_JSONDOC_H
#define GW_JSONDOC_H

#include <stddef.h>
#include <msgpack.h>

#include "proto/json.h"

struct gw_jsondoc {
    msgpack_sbuffer packed;
    msgpack_unpacked up;
};

/*
 * Parses `len` bytes of JSON within `lim` into d (d need not be initialised). Returns the
 * document's top-level value, or NULL when the text is not JSON or breaks a limit. Either
 * way the caller calls gw_jsondoc_free(d) afterwards.
 */
const msgpack_object *gw_jsondoc_parse(struct gw_jsondoc *d, const char *json, size_t len,
                                       const struct proto_json_limits *lim);

void gw_jsondoc_free(struct gw_jsondoc *d);

#endif
