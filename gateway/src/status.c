/* The /api/status body; see status.h. */
#include "status.h"

#include <string.h>

#include "jsondoc.h"

#include "proto/json.h"
#include "proto/msg.h"
#include "proto/topology.h"

/* What /api/status shows of a sys.ping reply body. */
struct ping_fields {
    char version[64];         /* "" when absent */
    long long pid, uptime_ms; /* -1 when absent */
};

/* Reads the fields from a JSON object body; anything else (an error body, none) has none. */
static void ping_fields(const struct proto_buf *body, struct ping_fields *pf)
{
    pf->version[0] = '\0';
    pf->pid = pf->uptime_ms = -1;
    if (!body->len)
        return;
    struct gw_jsondoc doc;
    const msgpack_object *map =
        gw_jsondoc_parse(&doc, body->data, body->len, &proto_json_default_limits);
    /* proto_map_get finds nothing in what is not an object (or NULL). */
    const msgpack_object *v = proto_map_get(map, "version");
    if (v && proto_obj_str(v, pf->version, sizeof pf->version) != 0)
        pf->version[0] = '\0';
    int64_t n;
    v = proto_map_get(map, "pid");
    if (v && proto_obj_int(v, &n) == 0)
        pf->pid = n;
    v = proto_map_get(map, "uptime_ms");
    if (v && proto_obj_int(v, &n) == 0)
        pf->uptime_ms = n;
    gw_jsondoc_free(&doc);
}

void gw_status_json(struct proto_buf *b, const struct gw_fanout *f, int broker_connected,
                    enum gw_store_state store)
{
    proto_buf_reset(b);
    proto_buf_puts(b, "{\"workers\":[");
    int all = 1;
    for (int w = 0; w < PROTO_WORKER_COUNT && w < f->n; w++) {
        const struct gw_fanout_part *p = &f->part[w];
        struct ping_fields pf;
        ping_fields(&p->body, &pf);
        int ok = p->status == 200;
        all &= ok;
        proto_buf_printf(
            b, "%s{\"name\":\"%s\",\"ok\":%s,\"ms\":%.3f,\"status\":%d,\"version\":", w ? "," : "",
            proto_worker_names[w], ok ? "true" : "false", p->ms, p->status);
        /* proto_obj_str already checked UTF-8, so quoting cannot fail. */
        if (!pf.version[0] || proto_json_quote(b, pf.version, strlen(pf.version)) != 0)
            proto_buf_puts(b, "null");
        if (pf.pid >= 0)
            proto_buf_printf(b, ",\"pid\":%lld", pf.pid);
        else
            proto_buf_puts(b, ",\"pid\":null");
        if (pf.uptime_ms >= 0)
            proto_buf_printf(b, ",\"uptime_ms\":%lld}", pf.uptime_ms);
        else
            proto_buf_puts(b, ",\"uptime_ms\":null}");
    }
    /* The session store: every signed-in request needs it (the token denylist). */
    proto_buf_printf(b,
                     "],\"broker\":{\"ok\":%s},\"redis\":{\"ok\":%s,\"denylist\":\"%s\"},"
                     "\"ok\":%s}",
                     broker_connected ? "true" : "false", store == GW_STORE_OK ? "true" : "false",
                     gw_store_state_name(store),
                     all && broker_connected && store == GW_STORE_OK ? "true" : "false");
}
