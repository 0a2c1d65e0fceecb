/* Collecting the parts of a fan-out; see fanout.h. */
#include "fanout.h"

#include <assert.h>
#include <stdlib.h>

struct gw_fanout *gw_fanout_new(int n, gw_local_fn *done)
{
    assert(n >= 1 && n <= GW_FANOUT_MAX);
    struct gw_fanout *f = proto_xcalloc(1, sizeof *f);
    f->n = f->left = n;
    f->done = done;
    return f;
}

void gw_fanout_free(struct gw_fanout *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        proto_buf_free(&f->part[i].body);
    free(f);
}

int gw_fanout_put(struct gw_fanout *f, int i, int status, double ms, struct proto_buf *body)
{
    assert(i >= 0 && i < f->n);
    struct gw_fanout_part *p = &f->part[i];
    if (p->done)
        return 0;
    p->done = 1;
    p->status = status;
    p->ms = ms;
    if (body) {
        struct proto_buf tmp = p->body;
        p->body = *body;
        *body = tmp;
    }
    return --f->left == 0;
}
