/* fintwin-gateway: reads the environment, serves HTTP until SIGTERM/SIGINT, exits 0. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "server.h"

#include "proto/config.h"
#include "proto/log.h"

static struct gw_server *server;

static void on_signal(int sig)
{
    (void)sig;
    if (server)
        gw_server_request_stop(server);
}

/* Keep-alive connections and WebSockets are one descriptor each: use the hard limit (lws
 * sizes its tables from it when the context is created, so this runs first). */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    PROTO_INFO(NULL, "open file limit", "fds=%llu", (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: fintwin-gateway (configured by environment variables)\n");
        gw_config_usage(stdout);
        return 0;
    }
    struct gw_config cfg;
    if (gw_config_load(&cfg, stderr) != 0)
        return PROTO_CONFIG_EXIT;
    proto_log_init("gateway", cfg.log_level);
    raise_fd_limit();

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    server = gw_server_new(&cfg);
    if (!server)
        return 1;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    int rc = gw_server_run(server);
    gw_server_free(server);
    server = NULL;
    PROTO_INFO(NULL, "stopped", NULL);
    return rc;
}
