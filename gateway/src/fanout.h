/*
 * gateway/fanout.h — one request answered from several RPCs: ask N workers, collect JSON.
 *
 * A local handler (routes.h) that needs several answers starts a fan-out (server.c sends one
 * RPC per part). Each answer is filed with gw_fanout_put under its part's index: the reply's
 * status and JSON body, or the gateway's own failure status with an empty body (503 when it
 * could not be sent or the broker was lost, 504 at the deadline). When the last part is in,
 * the server calls `done`, which builds the response from the parts. The collector knows no
 * reply format: what a body means is the business of `done`.
 *
 * A fan-out belongs to its HTTP connection (struct gw_conn.fan) and to the lws thread;
 * pending RPCs name it through the connection's id and their part index (pending.h).
 */
#ifndef GW_FANOUT_H
#define GW_FANOUT_H

#include "proto/buf.h"
#include "routes.h"

#define GW_FANOUT_MAX 16 /* parts of one fan-out */

struct gw_fanout_part {
    int done;
    int status;            /* HTTP status of the answer */
    double ms;             /* from sending to the answer; 0 when it was never sent */
    struct proto_buf body; /* the reply's JSON body; empty for none or a gateway failure */
};

struct gw_fanout {
    int n, left;       /* parts, and parts not in yet */
    gw_local_fn *done; /* called by the server once left is 0 */
    struct gw_fanout_part part[GW_FANOUT_MAX];
};

/* A fan-out of n parts (1..GW_FANOUT_MAX, asserted), none in yet. Aborts on OOM. */
struct gw_fanout *gw_fanout_new(int n, gw_local_fn *done);

/* Frees the fan-out and the bodies. NULL is a no-op. */
void gw_fanout_free(struct gw_fanout *f);

/*
 * Files part i's answer. `body` may be NULL (no body); otherwise its contents move into the
 * part and *body receives the part's old buffer (empty), so no copy is made. A part already
 * in keeps its first answer. Returns 1 when this answer completed the fan-out, else 0.
 */
int gw_fanout_put(struct gw_fanout *f, int i, int status, double ms, struct proto_buf *body);

#endif
