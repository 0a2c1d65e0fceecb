/* The worker kinds both sides agree on; see proto/topology.h. */
#include "proto/topology.h"

const char *const proto_worker_names[] = {
    "auth", "transaction", "twin", "risk", "portfolio", "persona", "notification", NULL,
};
