/*
 * The stop flag: SIGTERM or SIGINT raises it; the main loop and every interruptible wait
 * (wk_sleep_ms) check it, so the worker finishes the message in hand and exits 0.
 */
#include <signal.h>
#include <string.h>

#include "internal.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

void wk_stop_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: blocking waits return early; the loop checks the flag every slice. */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* hiredis writes with write(2): a dead Redis must not kill the process. */
    signal(SIGPIPE, SIG_IGN);
}

int wk_stopping(void)
{
    return stop_flag != 0;
}
