/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * cursor-channel.c: the CURSOR channel (libspice-plugin-cursor.so).
 *
 * One cursor channel per display, with the display's id. The display
 * plugin reads the guest's cursor commands and publishes them as cursor
 * events; this plugin keeps the current cursor of each display and tells
 * its clients: CURSOR_INIT on connect, then SET / MOVE / HIDE / TRAIL /
 * RESET. Shapes the guest marks with a unique id are cached by the client
 * (CACHE_ME, later FROM_CACHE); the per-client list of cached ids is
 * bounded and evictions are announced with INVAL_ONE.
 *
 * The message order follows the reference server, because clients depend
 * on it: a reset (the host's reset_cursor, the primary surface destroyed,
 * all surfaces destroyed) sends INVAL_ALL + RESET, after which spice-gtk
 * ignores SET / MOVE / HIDE / TRAIL until it gets a new CURSOR_INIT; that
 * INIT goes out when the next primary surface is created. While a client
 * waits for it, cursor changes only update the state its INIT will carry.
 *
 * Everything runs on the host's thread: the topics "spice.display",
 * "spice.primary" and "spice.cursor" are delivered there.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "spice-plugin-wire.h"
#include "spice-plugin.h"

#define CURSOR_CACHE_ENTRIES 256
#define CURSOR_MAX_MESSAGE   1024

static const SpiceHostServices *host;

typedef struct CursorPlugin CursorPlugin;

typedef struct CursorDisplay {
    CursorPlugin *cp;
    uint32_t id;
    SpiceChannel *channel;
    GList *clients; /* CursorClient* */
    /* the current cursor */
    int16_t x;
    int16_t y;
    bool visible;
    uint16_t trail_length;
    uint16_t trail_frequency;
    SpiceCursorEvent *shape; /* header + bytes, or NULL */
} CursorDisplay;

typedef struct CursorClient {
    CursorDisplay *d;
    SpiceChannelClient *cc;
    GQueue cached;    /* unique ids (as pointers to uint64 copies), most recent first */
    bool initialized; /* sent CURSOR_INIT since the last RESET */
} CursorClient;

struct CursorPlugin {
    SpicePlugin *plugin;
    GHashTable *displays;            /* id -> CursorDisplay* */
    uint32_t mouse_mode;             /* SPICE_MOUSE_MODE_*, from spice.mouse-mode */
    SpiceTopicSubscription *subs[4]; /* display, primary, cursor, mouse mode */
};

/* ---- messages ---------------------------------------------------------------------- */

static GList *cached_find(CursorClient *c, uint64_t unique)
{
    for (GList *l = c->cached.head; l; l = l->next) {
        if (*(uint64_t *)l->data == unique) {
            return l;
        }
    }
    return NULL;
}

/* Write a SpiceCursor: NONE without a shape; FROM_CACHE when this client
 * has it; otherwise the shape, cached when it has an id. */
static void write_cursor(SpiceWireWriter *w, CursorClient *c, const SpiceCursorEvent *shape)
{
    if (!shape) {
        spice_wire_write_u16(w, SPICE_CURSOR_FLAGS_NONE);
        return;
    }
    uint16_t flags = 0;
    bool send_data = true;
    if (shape->unique) {
        GList *hit = cached_find(c, shape->unique);
        if (hit) {
            g_queue_unlink(&c->cached, hit);
            g_queue_push_head_link(&c->cached, hit);
            flags = SPICE_CURSOR_FLAGS_FROM_CACHE;
            send_data = false;
        } else {
            flags = SPICE_CURSOR_FLAGS_CACHE_ME;
            if (c->cached.length >= CURSOR_CACHE_ENTRIES) {
                uint64_t *old = g_queue_pop_tail(&c->cached);
                uint8_t body[8];
                spice_wire_put_u64(body, *old);
                /* Sent before this message: the client drops the old shape
                 * before it caches the new one. */
                host->channel_client_send(c->cc, SPICE_MSG_CURSOR_INVAL_ONE, body, 8);
                g_free(old);
            }
            g_queue_push_head(&c->cached, g_memdup2(&shape->unique, sizeof(uint64_t)));
        }
    }
    spice_wire_write_u16(w, flags);
    spice_wire_write_u64(w, shape->unique);
    spice_wire_write_u8(w, (uint8_t)shape->shape_type);
    spice_wire_write_u16(w, shape->width);
    spice_wire_write_u16(w, shape->height);
    spice_wire_write_u16(w, shape->hot_x);
    spice_wire_write_u16(w, shape->hot_y);
    if (send_data) {
        spice_wire_write(w, shape + 1, shape->shape_size);
    }
}

static void send_writer(CursorClient *c, uint16_t type, SpiceWireWriter *w)
{
    size_t size;
    uint8_t *body = spice_wire_writer_steal(w, &size);
    if (!body) {
        host->channel_client_disconnect(c->cc, "out of memory");
        return;
    }
    host->channel_client_send_owned(c->cc, type, body, (uint32_t)size, free);
}

static void send_init(CursorClient *c)
{
    CursorDisplay *d = c->d;
    SpiceWireWriter w;
    /* The client empties its shape cache when it takes an INIT. */
    g_queue_clear_full(&c->cached, g_free);
    c->initialized = true;
    spice_wire_writer_init(&w, 64);
    spice_wire_write_u16(&w, (uint16_t)d->x);
    spice_wire_write_u16(&w, (uint16_t)d->y);
    spice_wire_write_u16(&w, d->trail_length);
    spice_wire_write_u16(&w, d->trail_frequency);
    spice_wire_write_u8(&w, d->visible);
    write_cursor(&w, c, d->shape);
    send_writer(c, SPICE_MSG_CURSOR_INIT, &w);
}

static void send_reset(CursorClient *c)
{
    g_queue_clear_full(&c->cached, g_free);
    c->initialized = false;
    host->channel_client_send(c->cc, SPICE_MSG_CURSOR_INVAL_ALL, NULL, 0);
    host->channel_client_send(c->cc, SPICE_MSG_CURSOR_RESET, NULL, 0);
}

static void send_event(CursorClient *c, const SpiceCursorEvent *ev)
{
    CursorDisplay *d = c->d;
    SpiceWireWriter w;
    uint8_t body[4];
    if (ev->kind == SPICE_CURSOR_EVENT_RESET) {
        send_reset(c);
        return;
    }
    if (!c->initialized) {
        /* The INIT that ends the wait carries the state. */
        return;
    }
    switch (ev->kind) {
    case SPICE_CURSOR_EVENT_SET:
        spice_wire_writer_init(&w, 64);
        spice_wire_write_u16(&w, (uint16_t)d->x);
        spice_wire_write_u16(&w, (uint16_t)d->y);
        spice_wire_write_u8(&w, d->visible);
        write_cursor(&w, c, d->shape);
        send_writer(c, SPICE_MSG_CURSOR_SET, &w);
        break;
    case SPICE_CURSOR_EVENT_MOVE:
        spice_wire_put_u16(body, (uint16_t)d->x);
        spice_wire_put_u16(body + 2, (uint16_t)d->y);
        host->channel_client_send(c->cc, SPICE_MSG_CURSOR_MOVE, body, 4);
        break;
    case SPICE_CURSOR_EVENT_HIDE:
        host->channel_client_send(c->cc, SPICE_MSG_CURSOR_HIDE, NULL, 0);
        break;
    case SPICE_CURSOR_EVENT_TRAIL:
        spice_wire_put_u16(body, d->trail_length);
        spice_wire_put_u16(body + 2, d->trail_frequency);
        host->channel_client_send(c->cc, SPICE_MSG_CURSOR_TRAIL, body, 4);
        break;
    default:
        break;
    }
}

/* ---- state ------------------------------------------------------------------------ */

/* Fold an event into the display's current cursor. ev is in this
 * plugin's layout (size == sizeof); a shape's bytes are at shape. */
static void apply_event(CursorDisplay *d, const SpiceCursorEvent *ev, const uint8_t *shape)
{
    switch (ev->kind) {
    case SPICE_CURSOR_EVENT_SET:
        d->x = ev->x;
        d->y = ev->y;
        d->visible = ev->visible != 0;
        if (ev->has_shape && shape) {
            /* Kept as the header followed by the bytes (write_cursor). */
            g_free(d->shape);
            d->shape = g_malloc(sizeof(*ev) + ev->shape_size);
            memcpy(d->shape, ev, sizeof(*ev));
            memcpy(d->shape + 1, shape, ev->shape_size);
        }
        break;
    case SPICE_CURSOR_EVENT_MOVE:
        d->x = ev->x;
        d->y = ev->y;
        d->visible = true;
        break;
    case SPICE_CURSOR_EVENT_HIDE:
        d->visible = false;
        break;
    case SPICE_CURSOR_EVENT_TRAIL:
        d->trail_length = ev->trail_length;
        d->trail_frequency = ev->trail_frequency;
        break;
    case SPICE_CURSOR_EVENT_RESET:
        /* As the reference: no shape, at 0,0, visible once it has one. */
        g_free(d->shape);
        d->shape = NULL;
        d->x = d->y = 0;
        d->visible = true;
        d->trail_length = d->trail_frequency = 0;
        break;
    default:
        break;
    }
}

static int cursor_connect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    CursorDisplay *d = host->channel_get_data(channel);
    CursorClient *c = g_new0(CursorClient, 1);
    c->d = d;
    c->cc = cc;
    g_queue_init(&c->cached);
    host->channel_client_set_data(cc, c);
    d->clients = g_list_append(d->clients, c);
    send_init(c);
    return 0;
}

static void cursor_disconnect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    (void)channel;
    CursorClient *c = host->channel_client_get_data(cc);
    if (c->d) { /* NULL when its display went first */
        c->d->clients = g_list_remove(c->d->clients, c);
    }
    g_queue_clear_full(&c->cached, g_free);
    g_free(c);
}

static int cursor_handle_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                                 uint32_t size)
{
    (void)cc, (void)type, (void)body, (void)size;
    /* Clients send nothing of their own on this channel. */
    return -ENOTSUP;
}

static const SpiceChannelOps cursor_ops = {
    .version = SPICE_CHANNEL_OPS_VERSION,
    .connect = cursor_connect,
    .disconnect = cursor_disconnect,
    .handle_message = cursor_handle_message,
};

static const SpiceChannelClass cursor_class = {
    .size = sizeof(SpiceChannelClass),
    .type = SPICE_CHANNEL_CURSOR,
    .name = "cursor",
    .flags = SPICE_CHANNEL_CLASS_HANDLE_ACKS | SPICE_CHANNEL_CLASS_MULTI_INSTANCE,
    .max_message_size = CURSOR_MAX_MESSAGE,
    .ops = &cursor_ops,
};

/* ---- events ------------------------------------------------------------------------ */

static void display_free(gpointer data)
{
    CursorDisplay *d = data;
    /* Its clients are disconnected asynchronously: cut them loose. */
    for (GList *l = d->clients; l; l = l->next) {
        ((CursorClient *)l->data)->d = NULL;
    }
    g_list_free(d->clients);
    if (d->channel) {
        host->channel_unregister(d->channel);
    }
    g_free(d->shape);
    g_free(d);
}

/* "spice.display": a display came (one cursor channel with its id) or went. */
static void on_display(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                       uint32_t size, void *opaque)
{
    (void)topic, (void)size;
    CursorPlugin *cp = opaque;
    gpointer k = GUINT_TO_POINTER(key);
    CursorDisplay *d = g_hash_table_lookup(cp->displays, k);
    if (!payload) {
        g_hash_table_remove(cp->displays, k);
        return;
    }
    if (d || key > 255) {
        return;
    }
    d = g_new0(CursorDisplay, 1);
    d->cp = cp;
    d->id = key;
    d->visible = true;
    d->channel = host->channel_register(plugin, &cursor_class, (uint8_t)key, d);
    g_hash_table_insert(cp->displays, k, d);
}

/* "spice.primary": a new primary surface ends a cursor reset. Clients
 * reset since their last INIT get one now (the reference sends it to
 * every client; one that is still initialised would take a second INIT as
 * a protocol error, so it keeps its state, which is the current one). */
static void on_primary(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                       uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)size;
    CursorPlugin *cp = opaque;
    CursorDisplay *d = g_hash_table_lookup(cp->displays, GUINT_TO_POINTER(key));
    const SpicePrimaryInfo *info = payload;
    if (!d || !info || !SPICE_PAYLOAD_HAS(info, SpicePrimaryInfo, width) || info->width == 0) {
        return;
    }
    for (GList *l = d->clients; l; l = l->next) {
        CursorClient *c = l->data;
        if (!c->initialized) {
            send_init(c);
        }
    }
}

/* "spice.cursor": the guest changed the display's cursor. */
static void on_cursor(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                      uint32_t size, void *opaque)
{
    (void)plugin, (void)topic;
    CursorPlugin *cp = opaque;
    CursorDisplay *d = g_hash_table_lookup(cp->displays, GUINT_TO_POINTER(key));
    const SpiceCursorEvent *in = payload;
    /* The payload-growth rule: members up to the publisher's size, the
     * shape's bytes right after it. */
    if (!d || !in || size < sizeof(uint32_t) || in->size > size ||
        !SPICE_PAYLOAD_HAS(in, SpiceCursorEvent, shape_size)) {
        return;
    }
    SpiceCursorEvent ev = { 0 };
    memcpy(&ev, in, MIN(in->size, sizeof(ev)));
    ev.size = sizeof(ev);
    const uint8_t *shape = NULL;
    if (ev.has_shape) {
        if (ev.shape_size > size - in->size) {
            return; /* a shape longer than the payload: ignore the event */
        }
        shape = (const uint8_t *)in + in->size;
    }
    const SpiceCursorEvent *cev = &ev;
    /* In client mouse mode the client draws the pointer where its own
     * mouse is: the guest's moves are not sent unless one shows a hidden
     * cursor (as in the reference). */
    bool is_move = cev->kind == SPICE_CURSOR_EVENT_MOVE;
    bool shows = is_move && !d->visible;
    apply_event(d, cev, shape);
    if (is_move && !shows && cp->mouse_mode == SPICE_MOUSE_MODE_CLIENT) {
        return;
    }
    for (GList *l = d->clients; l; l = l->next) {
        send_event(l->data, cev);
    }
}

/* "spice.mouse-mode": which mode the core reports to clients. */
static void on_mouse_mode(SpicePlugin *plugin, const char *topic, uint32_t key, const void *payload,
                          uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)key, (void)size;
    CursorPlugin *cp = opaque;
    const SpiceMouseModeInfo *info = payload;
    if (info && SPICE_PAYLOAD_HAS(info, SpiceMouseModeInfo, current)) {
        cp->mouse_mode = info->current;
    }
}

static int cursor_init(SpicePlugin *plugin, const SpiceHostServices *services)
{
    host = services;
    if (!SPICE_HOST_HAS(host, topic_subscribe)) {
        host->set_error(plugin, "needs plugin ABI 1.3 (topics)");
        return -ENOTSUP;
    }
    CursorPlugin *cp = g_new0(CursorPlugin, 1);
    cp->plugin = plugin;
    cp->displays = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, display_free);
    cp->subs[0] = host->topic_subscribe(plugin, SPICE_TOPIC_DISPLAY, NULL, on_display, cp);
    cp->subs[1] = host->topic_subscribe(plugin, SPICE_TOPIC_PRIMARY, NULL, on_primary, cp);
    cp->subs[2] = host->topic_subscribe(plugin, SPICE_TOPIC_CURSOR, NULL, on_cursor, cp);
    cp->mouse_mode = SPICE_MOUSE_MODE_SERVER;
    cp->subs[3] = host->topic_subscribe(plugin, SPICE_TOPIC_MOUSE_MODE, NULL, on_mouse_mode, cp);
    host->set_data(plugin, cp);
    return 0;
}

static void cursor_deinit(SpicePlugin *plugin)
{
    CursorPlugin *cp = host->get_data(plugin);
    for (unsigned i = 0; i < G_N_ELEMENTS(cp->subs); i++) {
        host->topic_unsubscribe(cp->subs[i]);
    }
    /* Channels were unregistered by the core already. */
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, cp->displays);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        ((CursorDisplay *)value)->channel = NULL;
    }
    g_hash_table_unref(cp->displays);
    g_free(cp);
}

static const SpiceChannelClass *const cursor_channels[] = { &cursor_class, NULL };

SPICE_PLUGIN_DEFINE(cursor, .version = "0.1.0", .license = "LGPL-2.1-or-later",
                    .description = "Cursor channel: the guest's pointer shape and position",
                    .origin = "spicecore", .channels = cursor_channels, .init = cursor_init,
                    .deinit = cursor_deinit)
