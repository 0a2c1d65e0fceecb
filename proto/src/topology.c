/* The worker kinds both sides agree on; see proto/topology.h. */
#include "proto/topology.h"

#include <stdlib.h>
#include <string.h>

const char *const proto_worker_names[] = {
    "auth", "transaction", "twin", "risk", "portfolio", "persona", "notification", NULL,
};

int proto_rpc_queue_quorum(void)
{
    /* Read at each (re)declaration, which is rare; nothing in the processes sets it. */
    const char *t = getenv("FT_RPC_QUEUE_TYPE");
    return t && strcmp(t, "quorum") == 0;
}
