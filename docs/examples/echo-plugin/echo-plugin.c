/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * echo-plugin.c: an example third-party channel plugin for libspicecore.
 *
 * It adds channel type 240 ("echo"), which a client may link like any
 * other channel:
 *
 *   client -> ECHO (101) {bytes}           server -> ECHO (101) {same bytes}
 *   client -> STREAM (102) {u32 count, u32 size}
 *                                          server -> DATA (102) x count,
 *                                            each {u32 sequence, size-4 bytes}
 *
 * STREAM shows the pull model: the plugin produces only when the core
 * says the client can take more (ACK window open, outgoing queue short),
 * so a client that reads slowly never makes the server buffer without
 * bound.
 *
 * Build it against the installed SDK only:
 *   meson setup build && ninja -C build      (uses pkg-config spicecore-plugin)
 * and point the server at it:
 *   SPICE_PLUGIN_PATH=$PWD/build spice-plugin-list echo
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <spice-plugin-wire.h>
#include <spice-plugin.h>

#define ECHO_CHANNEL_TYPE 240
#define ECHO_MSG_ECHO     101
#define ECHO_MSG_STREAM   102
#define ECHO_MAX_MESSAGE  (64 * 1024)
#define ECHO_MAX_COUNT    1000000u

/* The same table for every server in the process (see spice-plugin.h). */
static const SpiceHostServices *host;

typedef struct EchoClient {
    uint32_t remaining; /* DATA messages still to send */
    uint32_t size;
    uint32_t sequence;
} EchoClient;

static int echo_connect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    (void)channel;
    EchoClient *ec = calloc(1, sizeof(*ec));
    if (!ec) {
        return -ENOMEM;
    }
    host->channel_client_set_data(cc, ec);
    return 0;
}

static void echo_disconnect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    (void)channel;
    free(host->channel_client_get_data(cc));
    host->channel_client_set_data(cc, NULL);
}

/* Send DATA while the client can take it; ask to be called again when it
 * can take more. */
static void echo_produce(SpiceChannelClient *cc)
{
    EchoClient *ec = host->channel_client_get_data(cc);
    while (ec->remaining > 0 && host->channel_client_can_send(cc)) {
        uint8_t *body = malloc(ec->size);
        if (!body) {
            host->channel_client_disconnect(cc, "out of memory");
            return;
        }
        memset(body, 0x5a, ec->size);
        spice_wire_put_u32(body, ec->sequence++);
        if (host->channel_client_send_owned(cc, ECHO_MSG_STREAM, body, ec->size, free) < 0) {
            return;
        }
        ec->remaining--;
    }
    if (ec->remaining > 0) {
        host->channel_client_want_produce(cc);
    }
}

static int echo_handle_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                               uint32_t size)
{
    EchoClient *ec = host->channel_client_get_data(cc);
    switch (type) {
    case ECHO_MSG_ECHO:
        return host->channel_client_send(cc, ECHO_MSG_ECHO, body, size);
    case ECHO_MSG_STREAM: {
        SpiceWireReader r = spice_wire_reader(body, size);
        uint32_t count = spice_wire_u32(&r);
        uint32_t msg_size = spice_wire_u32(&r);
        if (r.error || count > ECHO_MAX_COUNT || msg_size < 4 || msg_size > ECHO_MAX_MESSAGE) {
            return -EINVAL;
        }
        ec->remaining = count;
        ec->size = msg_size;
        host->channel_client_want_produce(cc);
        return 0;
    }
    default:
        return -ENOTSUP;
    }
}

static const SpiceChannelOps echo_ops = {
    .version = SPICE_CHANNEL_OPS_VERSION,
    .connect = echo_connect,
    .disconnect = echo_disconnect,
    .handle_message = echo_handle_message,
    .produce = echo_produce,
};

static const SpiceChannelCap echo_caps[] = {
    { 0, "ECHO_STREAM" },
};

static const SpiceChannelClass echo_class = {
    .size = sizeof(SpiceChannelClass),
    .type = ECHO_CHANNEL_TYPE,
    .name = "echo",
    .flags = SPICE_CHANNEL_CLASS_HANDLE_ACKS,
    .max_message_size = ECHO_MAX_MESSAGE,
    .caps = echo_caps,
    .n_caps = 1,
    .ops = &echo_ops,
};

static int echo_init(SpicePlugin *plugin, const SpiceHostServices *services)
{
    host = services;
    if (!host->channel_register(plugin, &echo_class, 0, NULL)) {
        host->set_error(plugin, "channel type %d is taken", ECHO_CHANNEL_TYPE);
        return -EEXIST;
    }
    host->log(plugin, SPICE_PLUGIN_LOG_INFO, "echo channel ready");
    return 0;
}

static const SpiceChannelClass *const echo_channels[] = { &echo_class, NULL };

SPICE_PLUGIN_DEFINE(echo, .version = "1.0.0", .license = "LGPL-2.1-or-later",
                    .description = "Example third-party channel: echo and flow-controlled stream",
                    .origin = "docs/examples/echo-plugin", .channels = echo_channels,
                    .init = echo_init)
