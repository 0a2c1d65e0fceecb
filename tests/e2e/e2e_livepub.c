/* Publishing to ft.live for the e2e tests; see e2e_livepub.h. */
#include "e2e_livepub.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdio.h>
#include <string.h>

#include "ft_test.h"

static amqp_connection_state_t conn;

static int ok(const char *what)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    fprintf(stderr, "amqp %s failed (reply type %d)\n", what, (int)r.reply_type);
    return -1;
}

int e2e_livepub_open(void)
{
    static char url[2048];
    struct amqp_connection_info ci;
    snprintf(url, sizeof url, "%s", ft_env("AMQP_URL", ""));
    amqp_default_connection_info(&ci);
    if (amqp_parse_url(url, &ci) != AMQP_STATUS_OK) {
        fprintf(stderr, "AMQP_URL is not an amqp:// URL\n");
        return -1;
    }
    if (!ci.vhost || !*ci.vhost)
        ci.vhost = "/";
    conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(conn);
    if (!sock || amqp_socket_open(sock, ci.host, ci.port) != AMQP_STATUS_OK) {
        fprintf(stderr, "cannot reach the broker at %s:%d\n", ci.host, ci.port);
        e2e_livepub_close();
        return -1;
    }
    amqp_rpc_reply_t r =
        amqp_login(conn, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "broker login failed\n");
        e2e_livepub_close();
        return -1;
    }
    amqp_channel_open(conn, 1);
    if (ok("channel 1") != 0)
        goto fail;
    amqp_channel_open(conn, 2);
    if (ok("channel 2") != 0)
        goto fail;
    amqp_confirm_select(conn, 2);
    if (ok("confirm.select") != 0)
        goto fail;
    return 0;
fail:
    e2e_livepub_close();
    return -1;
}

void e2e_livepub_close(void)
{
    if (!conn)
        return;
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    conn = NULL;
}

static int publish_on(int ch, const char *user, const char *type, const void *body, size_t len,
                      int mandatory)
{
    if (!conn)
        return -1;
    char key[64];
    snprintf(key, sizeof key, "user.%s", user);
    amqp_basic_properties_t p;
    memset(&p, 0, sizeof p);
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.content_type = amqp_cstring_bytes("application/json");
    p.delivery_mode = 1;
    if (type) {
        p._flags |= AMQP_BASIC_TYPE_FLAG;
        p.type = amqp_cstring_bytes(type);
    }
    amqp_bytes_t b = {len, (void *)body};
    return amqp_basic_publish(conn, (amqp_channel_t)ch, amqp_cstring_bytes("ft.live"),
                              amqp_cstring_bytes(key), mandatory, 0, &p, b) == AMQP_STATUS_OK
               ? 0
               : -1;
}

int e2e_livepub_publish(const char *user, const char *type, const void *body, size_t len)
{
    return publish_on(1, user, type, body, len, 0);
}

int e2e_livepub_routed(const char *user)
{
    if (publish_on(2, user, NULL, "{\"type\":\"probe\"}", 16, 1) != 0)
        return -1;
    int returned = 0;
    for (;;) {
        amqp_frame_t f;
        struct timeval tv = {5, 0};
        if (amqp_simple_wait_frame_noblock(conn, &f, &tv) != AMQP_STATUS_OK)
            return -1;
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_BASIC_RETURN_METHOD) {
            amqp_message_t m;
            if (amqp_read_message(conn, f.channel, &m, 0).reply_type != AMQP_RESPONSE_NORMAL)
                return -1;
            amqp_destroy_message(&m);
            returned = 1;
        } else if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_maybe_release_buffers(conn);
            return returned ? 0 : 1;
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD ||
                   f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                   f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
            return -1;
        }
    }
}
