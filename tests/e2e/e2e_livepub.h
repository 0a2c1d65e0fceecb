/*
 * tests/e2e/e2e_livepub.h — publishing to ft.live as the workers do, for the GET /api/ws tests.
 *
 * One AMQP connection: channel 1 publishes plainly, channel 2 is in publisher-confirm mode
 * for mandatory probes ("is anything bound to user.<uuid> right now?"). Single-threaded.
 */
#ifndef E2E_LIVEPUB_H
#define E2E_LIVEPUB_H

#include <stddef.h>

/* Connects to $AMQP_URL. 0 or -1 (said why on stderr). */
int e2e_livepub_open(void);
void e2e_livepub_close(void);

/* Publishes body to ft.live with routing key user.<user>; type (the AMQP basic property)
 * may be NULL, or "close" for a close order. 0 or -1. */
int e2e_livepub_publish(const char *user, const char *type, const void *body, size_t len);

/* 1 if a mandatory publish of {"type":"probe"} to user.<user> reached a queue (bound
 * sockets receive it), 0 if the broker returned it unroutable, -1 on a broker error. */
int e2e_livepub_routed(const char *user);

#endif
