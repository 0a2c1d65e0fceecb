/*
 * fintwin-transaction: the double-entry ledger: deposits, withdrawals, transfers.
 * A method table on the worker runtime (runtime/wk.h); every worker also answers
 * sys.ping. Domain methods arrive with later issues.
 */
#include <stddef.h>

#include "runtime/wk.h"

static const struct wk_method methods[] = {
    {NULL, NULL},
};

int main(void)
{
    return wk_run("transaction", methods);
}
