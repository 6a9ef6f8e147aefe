/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * port-channel.c: the PORT and WEBDAV channels (libspice-plugin-port.so).
 *
 * Serves the "port" char devices (QEMU's -chardev spiceport, the demo
 * host's --chardev port:NAME): one channel per device, PORT (type 10) with
 * the first free id, or WEBDAV (type 11) for the port named
 * org.spice-space.webdav.0, as the reference does. A client gets
 * PORT_INIT {name, opened} at connect and PORT_EVENT whenever the guest
 * opens or closes its end (spice_server_port_event); its own PORT_EVENTs
 * go to the device's event() callback. Bytes go both ways as SPICEVMC
 * DATA.
 *
 * Flow, both directions bounded (PORT_QUEUE_MAX, 1 MiB):
 *  - device to client: the device is read (64 KiB at a time) only while
 *    a client is connected and its outgoing queue has room; once it is
 *    full the plugin waits for produce() and reads again. A guest that
 *    writes faster than the client reads is held back in QEMU, never in
 *    our memory.
 *  - client to device: DATA is queued for the device's write(), which may
 *    take less than offered; once 1 MiB waits the client's input is
 *    paused (ABI 1.4) until the device drains, so a client that floods
 *    a guest that does not read fills only its own socket. Partial
 *    writes are retried on wakeup (the host sets NOTIFY_WRITABLE) or
 *    every 100 ms otherwise.
 * One client per port: a second one is refused while the first is there,
 * as in the reference.
 *
 * Threads: everything runs on the host's thread (QEMU calls the char
 * device entry points from its main loop).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "spice-plugin-wire.h"
#include "spice-plugin.h"

#include "../common/chardev.h"

#define PORT_QUEUE_MAX   (1024 * 1024)
#define PORT_READ_CHUNK  (64 * 1024)
#define PORT_RETRY_MS    100
#define PORT_MAX_ID      255
#define PORT_MAX_MESSAGE PORT_QUEUE_MAX
#define WEBDAV_PORT_NAME "org.spice-space.webdav.0"
#define STREAM_PORT_NAME "org.spice-space.stream.0"

static const SpiceHostServices *host;

typedef struct PortBuf {
    uint32_t size;
    uint32_t done; /* bytes the device already took */
    uint8_t data[];
} PortBuf;

typedef struct Port {
    SpicePlugin *plugin;
    SpiceCharDeviceInstance *sin;
    const SpiceCharDeviceInterface *sif;
    SpiceChannel *channel;
    char *name;
    bool opened;            /* the guest has its end open */
    SpiceChannelClient *cc; /* the connected client, or NULL */
    bool input_paused;
    bool removed;     /* the host removed the device; freed with its client */
    GQueue to_device; /* PortBuf* from the client */
    size_t to_device_bytes;
    SpicePluginTimer *retry; /* partial writes, without NOTIFY_WRITABLE */
    uint8_t *read_buf;
} Port;

typedef struct PortPlugin {
    SpicePlugin *plugin;
} PortPlugin;

/* ---- device side ------------------------------------------------------------------ */

static void drop_to_device(Port *p)
{
    PortBuf *b;
    while ((b = g_queue_pop_head(&p->to_device))) {
        free(b);
    }
    p->to_device_bytes = 0;
}

/* Hand queued client data to the device; resume the client once the
 * queue has room again. */
static void flush_to_device(Port *p)
{
    PortBuf *b;
    while (p->sin && (b = g_queue_peek_head(&p->to_device))) {
        int n = p->sif->write(p->sin, b->data + b->done, (int)(b->size - b->done));
        if (n < 0) {
            host->log(p->plugin, SPICE_PLUGIN_LOG_WARNING,
                      "port %s: the device refused a write (%d); %zu bytes dropped", p->name, n,
                      p->to_device_bytes);
            drop_to_device(p);
            break;
        }
        b->done += (uint32_t)n;
        p->to_device_bytes -= (size_t)n;
        if (b->done < b->size) {
            /* The device is full: wait for its wakeup, or poll. */
            if (!chardev_notifies_writable(p->sif)) {
                host->timer_start(p->retry, PORT_RETRY_MS);
            }
            break;
        }
        free(g_queue_pop_head(&p->to_device));
    }
    if (p->cc && p->input_paused && p->to_device_bytes < PORT_QUEUE_MAX) {
        p->input_paused = false;
        host->channel_client_pause_input(p->cc, false);
    }
}

static void retry_write(void *opaque)
{
    flush_to_device(opaque);
}

/* Read what the device has while the client can take it. */
static void read_from_device(Port *p)
{
    if (!p->sin) {
        return;
    }
    while (p->cc && host->channel_client_can_send(p->cc)) {
        int n = p->sif->read(p->sin, p->read_buf, PORT_READ_CHUNK);
        if (n <= 0) {
            return;
        }
        host->channel_client_send(p->cc, SPICE_MSG_SPICEVMC_DATA, p->read_buf,
                                  (uint32_t)MIN(n, PORT_READ_CHUNK));
    }
    if (p->cc) {
        /* Full: read again once it drained. */
        host->channel_client_want_produce(p->cc);
    }
}

/* ---- messages ---------------------------------------------------------------------- */

/* PORT_INIT: u32 name_size, u32 offset of the name (after the fixed part),
 * u8 opened, then the NUL-terminated name. */
static void send_init(Port *p)
{
    uint32_t name_size = (uint32_t)strlen(p->name) + 1;
    uint32_t size = 9 + name_size;
    uint8_t *body = malloc(size);
    if (!body) {
        return;
    }
    spice_wire_put_u32(body, name_size);
    spice_wire_put_u32(body + 4, 9);
    body[8] = p->opened;
    memcpy(body + 9, p->name, name_size);
    host->channel_client_send_owned(p->cc, SPICE_MSG_PORT_INIT, body, size, free);
}

static void send_event(Port *p, uint8_t event)
{
    host->channel_client_send(p->cc, SPICE_MSG_PORT_EVENT, &event, 1);
}

/* ---- the channel ------------------------------------------------------------------- */

static int port_connect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    Port *p = host->channel_get_data(channel);
    if (p->cc) {
        host->log(p->plugin, SPICE_PLUGIN_LOG_MESSAGE,
                  "port %s: a second client is refused while one is connected", p->name);
        return -EBUSY;
    }
    p->cc = cc;
    p->input_paused = false;
    host->channel_client_set_data(cc, p);
    /* WEBDAV is a port too: its client waits for the port to open. */
    send_init(p);
    p->sif->state(p->sin, 1);
    read_from_device(p);
    return 0;
}

static void port_free(Port *p);

static void port_disconnect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    Port *p = host->channel_get_data(channel);
    if (p->cc != cc) {
        return;
    }
    if (p->removed) {
        port_free(p);
        return;
    }
    p->cc = NULL;
    p->input_paused = false;
    /* What the client sent and the device has not taken goes with it. */
    drop_to_device(p);
    host->timer_cancel(p->retry);
    if (p->sin) {
        p->sif->state(p->sin, 0);
    }
}

static int port_handle_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                               uint32_t size)
{
    Port *p = host->channel_client_get_data(cc);
    if (!p->sin) {
        return 0; /* the device is gone; the client is on its way out */
    }
    switch (type) {
    case SPICE_MSGC_SPICEVMC_DATA: {
        if (size == 0) {
            return 0;
        }
        PortBuf *b = malloc(sizeof(*b) + size);
        if (!b) {
            return -ENOMEM;
        }
        b->size = size;
        b->done = 0;
        memcpy(b->data, body, size);
        g_queue_push_tail(&p->to_device, b);
        p->to_device_bytes += size;
        flush_to_device(p);
        if (p->cc && !p->input_paused && p->to_device_bytes >= PORT_QUEUE_MAX) {
            /* The device is behind: the client waits, we do not grow. */
            p->input_paused = true;
            host->channel_client_pause_input(cc, true);
        }
        return 0;
    }
    case SPICE_MSGC_SPICEVMC_COMPRESSED_DATA:
        /* Never offered (no DATA_COMPRESS_LZ4 cap on ports). */
        host->log(p->plugin, SPICE_PLUGIN_LOG_WARNING,
                  "port %s: compressed data, which this channel does not offer", p->name);
        return -EPROTO;
    case SPICE_MSGC_PORT_EVENT: {
        if (size != 1) {
            return -EINVAL; /* as the reference: a bad event disconnects */
        }
        if (p->sif->base.minor_version >= 2 && p->sif->event) {
            p->sif->event(p->sin, body[0]);
        }
        return 0;
    }
    default:
        return -ENOTSUP;
    }
}

static void port_produce(SpiceChannelClient *cc)
{
    read_from_device(host->channel_client_get_data(cc));
}

static const SpiceChannelOps port_ops = {
    .version = SPICE_CHANNEL_OPS_VERSION,
    .connect = port_connect,
    .disconnect = port_disconnect,
    .handle_message = port_handle_message,
    .produce = port_produce,
};

static const SpiceChannelClass port_class = {
    .size = sizeof(SpiceChannelClass),
    .type = SPICE_CHANNEL_PORT,
    .name = "port",
    .flags = SPICE_CHANNEL_CLASS_MULTI_INSTANCE,
    .max_message_size = PORT_MAX_MESSAGE,
    .ops = &port_ops,
};

static const SpiceChannelClass webdav_class = {
    .size = sizeof(SpiceChannelClass),
    .type = SPICE_CHANNEL_WEBDAV,
    .name = "webdav",
    .flags = SPICE_CHANNEL_CLASS_MULTI_INSTANCE,
    .max_message_size = PORT_MAX_MESSAGE,
    .ops = &port_ops,
};

/* ---- the "char_device" interface, subtype "port" ------------------------------------ */

static void e_wakeup(void *data)
{
    Port *p = data;
    flush_to_device(p);
    read_from_device(p);
}

static void e_port_event(void *data, uint8_t event)
{
    Port *p = data;
    if (event == SPICE_PORT_EVENT_OPENED || event == SPICE_PORT_EVENT_CLOSED) {
        p->opened = event == SPICE_PORT_EVENT_OPENED;
    }
    if (p->cc) {
        send_event(p, event);
    }
}

static const SpiceCharDeviceEntries port_entries = {
    .size = sizeof(SpiceCharDeviceEntries),
    .wakeup = e_wakeup,
    .port_event = e_port_event,
};

static void port_free(Port *p)
{
    drop_to_device(p);
    host->timer_free(p->retry);
    free(p->read_buf);
    free(p->name);
    free(p);
}

/* The lowest id no channel of this type has (the reference's rule). */
static int first_free_id(SpicePlugin *plugin, uint8_t type)
{
    SpiceChannelId ids[512];
    uint32_t n = host->channel_list(plugin, ids, G_N_ELEMENTS(ids));
    bool taken[PORT_MAX_ID + 1] = { false };
    for (uint32_t i = 0; i < n && i < G_N_ELEMENTS(ids); i++) {
        if (ids[i].type == type) {
            taken[ids[i].id] = true;
        }
    }
    for (int id = 0; id <= PORT_MAX_ID; id++) {
        if (!taken[id]) {
            return id;
        }
    }
    return -1;
}

static int port_add(SpicePlugin *plugin, SpiceBaseInstance *base, void **data)
{
    SpiceCharDeviceInstance *sin = (SpiceCharDeviceInstance *)base;
    const SpiceCharDeviceInterface *sif = (const SpiceCharDeviceInterface *)base->sif;
    if (!sin->portname || !*sin->portname) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING, "a port char device without a port name");
        return -EINVAL;
    }
    if (strcmp(sin->portname, STREAM_PORT_NAME) == 0) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING,
                  "port %s: the streaming device (a display fed by a guest agent) is not "
                  "supported",
                  sin->portname);
        return -ENOTSUP;
    }
    if (!sif->state || !sif->write || !sif->read) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING,
                  "port %s: the host's char device lacks state, write or read", sin->portname);
        return -EINVAL;
    }
    Port *p = calloc(1, sizeof(*p));
    if (!p || !(p->name = strdup(sin->portname)) || !(p->read_buf = malloc(PORT_READ_CHUNK))) {
        if (p) {
            free(p->name);
        }
        free(p);
        return -ENOMEM;
    }
    p->plugin = plugin;
    p->sin = sin;
    p->sif = sif;
    g_queue_init(&p->to_device);
    p->retry = host->timer_new(plugin, NULL, retry_write, p);
    const SpiceChannelClass *klass =
        strcmp(p->name, WEBDAV_PORT_NAME) == 0 ? &webdav_class : &port_class;
    int id = first_free_id(plugin, klass->type);
    if (id >= 0) {
        p->channel = host->channel_register(plugin, klass, (uint8_t)id, p);
    }
    if (!p->channel) {
        host->log(plugin, SPICE_PLUGIN_LOG_WARNING, "port %s: no free %s channel id", p->name,
                  klass->name);
        port_free(p);
        return -ENOSPC;
    }
    host->log(plugin, SPICE_PLUGIN_LOG_INFO, "port %s: %s channel %u", p->name, klass->name,
              host->channel_get_id(p->channel));
    *data = p;
    return 0;
}

static void port_remove(SpicePlugin *plugin, SpiceBaseInstance *base, void *data)
{
    (void)plugin, (void)base;
    Port *p = data;
    /* The device is gone: nothing more is read or written. A connected
     * client goes with the channel, and the port is freed once it has. */
    p->sin = NULL;
    drop_to_device(p);
    host->timer_cancel(p->retry);
    host->channel_unregister(p->channel);
    if (p->cc) {
        p->removed = true;
    } else {
        port_free(p);
    }
}

static const SpiceInterfaceClass port_iface = {
    .size = sizeof(SpiceInterfaceClass),
    .type = SPICE_INTERFACE_CHAR_DEVICE,
    .subtype = "port",
    .major = SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
    .minor = SPICE_INTERFACE_CHAR_DEVICE_MINOR,
    .add = port_add,
    .remove = port_remove,
    .entries = &port_entries,
};

/* ---- plugin ------------------------------------------------------------------------- */

static int port_init(SpicePlugin *plugin, const SpiceHostServices *services)
{
    host = services;
    if (!SPICE_HOST_HAS(host, channel_client_pause_input)) {
        host->set_error(plugin, "needs plugin ABI 1.4 (input flow control)");
        return -ENOTSUP;
    }
    return 0;
}

static const SpiceChannelClass *const port_channels[] = { &port_class, &webdav_class, NULL };
static const SpiceInterfaceClass *const port_interfaces[] = { &port_iface, NULL };

SPICE_PLUGIN_DEFINE(port, .version = "0.1.0", .license = "LGPL-2.1-or-later",
                    .description = "Port and WebDAV channels: the host's spiceport char devices",
                    .origin = "spicecore", .channels = port_channels, .interfaces = port_interfaces,
                    .init = port_init)
