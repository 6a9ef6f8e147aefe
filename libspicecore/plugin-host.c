/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plugin-host.c: plugins inside a server. Loads the enabled plugins,
 * rejects conflicting ones, calls init() with the host-services table and
 * implements that table.
 */
#include "plugin-host.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <gio/gio.h>
#include <spice/enums.h>

#include "spice-plugin-wire.h"

#include "channel-client.h"
#include "client.h"
#include "interfaces.h"
#include "plugin-loader.h"
#include "registry.h"
#include "topics.h"

/* ---- logging ---------------------------------------------------------------- */

static GLogLevelFlags log_level(SpicePluginLogLevel level)
{
    switch (level) {
    case SPICE_PLUGIN_LOG_ERROR:
        return G_LOG_LEVEL_CRITICAL;
    case SPICE_PLUGIN_LOG_WARNING:
        return G_LOG_LEVEL_WARNING;
    case SPICE_PLUGIN_LOG_MESSAGE:
        return G_LOG_LEVEL_MESSAGE;
    case SPICE_PLUGIN_LOG_INFO:
        return G_LOG_LEVEL_INFO;
    default:
        return G_LOG_LEVEL_DEBUG;
    }
}

static void plugin_logv(SpicePlugin *plugin, SpicePluginLogLevel level, const char *format,
                        va_list ap) G_GNUC_PRINTF(3, 0);

static void plugin_logv(SpicePlugin *plugin, SpicePluginLogLevel level, const char *format,
                        va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(format, ap);
    g_log(G_LOG_DOMAIN, log_level(level), "plugin %s: %s", plugin ? plugin->name : "?", msg);
}

void plugin_host_log(SpicePlugin *plugin, SpicePluginLogLevel level, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    plugin_logv(plugin, level, format, ap);
    va_end(ap);
}

/* ---- the services --------------------------------------------------------------- */

static void host_set_error(SpicePlugin *plugin, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void host_set_error(SpicePlugin *plugin, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_free(plugin->error);
    plugin->error = g_strdup_vprintf(format, ap);
    va_end(ap);
}

static void host_set_data(SpicePlugin *plugin, void *data)
{
    plugin->data = data;
}

static void *host_get_data(SpicePlugin *plugin)
{
    return plugin->data;
}

static const char *host_config_get(SpicePlugin *plugin, const char *key)
{
    return plugin->config ? g_hash_table_lookup(plugin->config, key) : NULL;
}

static SpiceChannel *host_channel_register(SpicePlugin *plugin, const SpiceChannelClass *klass,
                                           uint8_t id, void *data)
{
    return registry_add(plugin->server, plugin, klass, id, data);
}

static void host_channel_unregister(SpiceChannel *channel)
{
    registry_remove(channel);
}

static void *host_channel_get_data(SpiceChannel *channel)
{
    return channel->data;
}

static uint8_t host_channel_get_type(SpiceChannel *channel)
{
    return channel->type;
}

static uint8_t host_channel_get_id(SpiceChannel *channel)
{
    return channel->id;
}

static uint32_t host_channel_list(SpicePlugin *plugin, SpiceChannelId *ids, uint32_t max)
{
    return registry_list(plugin->server, ids, max);
}

static uint32_t host_client_get_session_id(SpiceClient *client)
{
    return client->session_id;
}

typedef struct Notify {
    SpiceClient *client;
    uint8_t *body;
    uint32_t size;
} Notify;

/* Host thread: the main channel client belongs to the host loop. */
static void notify_on_host(void *opaque)
{
    Notify *n = opaque;
    if (n->client->main_cc) {
        channel_client_send_owned(n->client->main_cc, SPICE_MSG_NOTIFY, n->body, n->size, g_free);
    } else {
        g_free(n->body);
    }
    client_unref(n->client);
    g_free(n);
}

static void host_client_notify(SpiceClient *client, uint32_t severity, uint32_t visibility,
                               uint32_t what, const char *message)
{
    if (!client || !message) {
        return;
    }
    size_t len = strlen(message);
    if (len > 4096) {
        len = 4096;
    }
    /* NOTIFY: u64 time stamp, u32 severity, visibility, what, message
     * length, message bytes with a NUL. */
    Notify *n = g_new0(Notify, 1);
    n->client = client_ref(client);
    n->size = 8 + 4 * 4 + (uint32_t)len + 1;
    n->body = g_malloc0(n->size);
    spice_wire_put_u64(n->body, (uint64_t)g_get_real_time());
    spice_wire_put_u32(n->body + 8, severity);
    spice_wire_put_u32(n->body + 12, visibility);
    spice_wire_put_u32(n->body + 16, what);
    spice_wire_put_u32(n->body + 20, (uint32_t)len);
    memcpy(n->body + 24, message, len);
    EventLoop *host = client->server->loop;
    if (event_loop_is_current(host)) {
        notify_on_host(n);
    } else {
        event_loop_invoke(host, notify_on_host, n, false);
    }
}

static uint32_t host_mouse_mode_get(SpicePlugin *plugin, uint32_t *supported)
{
    SpiceServer *s = plugin->server;
    if (supported) {
        *supported = server_supported_mouse_modes(s);
    }
    return s->mouse_mode;
}

static int host_mouse_mode_request(SpicePlugin *plugin, uint32_t mode)
{
    return server_request_mouse_mode(plugin->server, mode);
}

static const char *host_server_get_name(SpicePlugin *plugin)
{
    return plugin->server->config.name;
}

static bool host_server_get_uuid(SpicePlugin *plugin, uint8_t uuid[16])
{
    ServerConfig *c = &plugin->server->config;
    if (c->uuid_set) {
        memcpy(uuid, c->uuid, 16);
    }
    return c->uuid_set;
}

static int64_t host_server_get_int(SpicePlugin *plugin, SpiceServerInt key)
{
    SpiceServer *s = plugin->server;
    ServerConfig *c = &s->config;
    switch (key) {
    case SPICE_SERVER_INT_AGENT_MOUSE:
        return c->agent_mouse;
    case SPICE_SERVER_INT_AGENT_COPYPASTE:
        return c->agent_copypaste;
    case SPICE_SERVER_INT_AGENT_FILE_XFER:
        return c->agent_file_xfer;
    case SPICE_SERVER_INT_IMAGE_COMPRESSION:
        return c->image_compression;
    case SPICE_SERVER_INT_JPEG_COMPRESSION:
        return c->jpeg_compression;
    case SPICE_SERVER_INT_ZLIB_GLZ_COMPRESSION:
        return c->zlib_glz_compression;
    case SPICE_SERVER_INT_STREAMING_VIDEO:
        return c->streaming_video;
    case SPICE_SERVER_INT_PLAYBACK_COMPRESSION:
        return c->playback_compression;
    case SPICE_SERVER_INT_VM_RUNNING:
        return s->vm_running;
    case SPICE_SERVER_INT_DISPLAY_CHANNELS:
        return registry_count_type(s, SPICE_CHANNEL_DISPLAY);
    case SPICE_SERVER_INT_QXL_RAM_SIZE:
        return s->qxl_ram_size;
    case SPICE_SERVER_INT_VIDEO_CODECS:
        return c->video_codec_mask;
    }
    return -1;
}

static uint32_t host_mm_time(SpicePlugin *plugin)
{
    return server_mm_time(plugin->server);
}

EventLoop *plugin_host_loop_get(SpiceServer *s, SpicePluginLoop *loop)
{
    return loop ? loop->loop : s->loop;
}

static SpicePluginTimer *host_timer_new(SpicePlugin *plugin, SpicePluginLoop *loop,
                                        SpicePluginFunc func, void *opaque)
{
    return (SpicePluginTimer *)event_loop_timer_new(plugin_host_loop_get(plugin->server, loop),
                                                    func, opaque);
}

static void host_timer_start(SpicePluginTimer *timer, uint32_t ms)
{
    event_loop_timer_start((EventLoopTimer *)timer, ms);
}

static void host_timer_cancel(SpicePluginTimer *timer)
{
    event_loop_timer_cancel((EventLoopTimer *)timer);
}

static void host_timer_free(SpicePluginTimer *timer)
{
    event_loop_timer_free((EventLoopTimer *)timer);
}

static SpicePluginWatch *host_watch_new(SpicePlugin *plugin, SpicePluginLoop *loop, int fd,
                                        int events, SpicePluginWatchFunc func, void *opaque)
{
    return (SpicePluginWatch *)event_loop_watch_new(plugin_host_loop_get(plugin->server, loop), fd,
                                                    events, func, opaque);
}

static void host_watch_update(SpicePluginWatch *watch, int events)
{
    event_loop_watch_update((EventLoopWatch *)watch, events);
}

static void host_watch_free(SpicePluginWatch *watch)
{
    event_loop_watch_free((EventLoopWatch *)watch);
}

static SpicePluginLoop *host_loop_new(SpicePlugin *plugin, const char *name)
{
    EventLoop *loop = event_loop_new_thread(name ? name : plugin->name);
    if (!loop) {
        return NULL;
    }
    SpicePluginLoop *pl = g_new0(SpicePluginLoop, 1);
    pl->plugin = plugin;
    pl->loop = loop;
    plugin->loops = g_list_prepend(plugin->loops, pl);
    return pl;
}

static void host_loop_free(SpicePluginLoop *loop)
{
    if (!loop) {
        return;
    }
    SpiceServer *s = loop->plugin->server;
    unsigned left = s->topics ? topic_board_release_loop(s->topics, loop->loop) : 0;
    if (left) {
        plugin_host_log(loop->plugin, SPICE_PLUGIN_LOG_WARNING,
                        "loop_free: %u topic subscriptions on the loop were still active", left);
    }
    loop->plugin->loops = g_list_remove(loop->plugin->loops, loop);
    event_loop_free(loop->loop);
    g_free(loop);
}

static void host_loop_invoke(SpicePlugin *plugin, SpicePluginLoop *loop, SpicePluginFunc func,
                             void *opaque, bool wait)
{
    event_loop_invoke(plugin_host_loop_get(plugin->server, loop), func, opaque, wait);
}

/* ---- 1.2 events and 1.3 topics ----------------------------------------------------- */

/*
 * The 1.2 events are three topics in another form. A 1.2 plugin's event
 * is published on its topic for 1.3 subscribers; a 1.3 plugin's value on
 * one of these topics reaches 1.2 plugins (those with plugin_event) as the
 * event. The publisher never gets its own event back, as in 1.2.
 */
typedef struct EventTopic {
    uint32_t event;
    const char *topic;
    uint32_t flags;
} EventTopic;

static const EventTopic event_topics[] = {
    { SPICE_PLUGIN_EVENT_DISPLAY_ADDED, SPICE_TOPIC_DISPLAY, SPICE_TOPIC_RETAIN },
    { SPICE_PLUGIN_EVENT_DISPLAY_REMOVED, SPICE_TOPIC_DISPLAY, SPICE_TOPIC_RETAIN },
    { SPICE_PLUGIN_EVENT_PRIMARY, SPICE_TOPIC_PRIMARY, SPICE_TOPIC_RETAIN },
    { SPICE_PLUGIN_EVENT_CURSOR, SPICE_TOPIC_CURSOR, 0 },
};

typedef struct QueuedEvent {
    SpiceServer *server;
    SpicePlugin *publisher; /* compared, never dereferenced */
    SpicePluginEvent event;
    uint8_t data[]; /* event.data points here */
} QueuedEvent;

static bool has_plugin_event(const SpicePlugin *p)
{
    /* The member is read only when the plugin's descriptor covers it. */
    return p->initialized && p->desc->abi_minor >= 2 &&
           p->desc->size >=
               offsetof(SpicePluginDescriptor, plugin_event) + sizeof(p->desc->plugin_event) &&
           p->desc->plugin_event;
}

/* Host thread: every listening plugin but the publisher. */
static void deliver_event(void *opaque)
{
    QueuedEvent *q = opaque;
    SpiceServer *s = q->server;
    for (guint i = 0; i < s->plugins->len; i++) {
        SpicePlugin *p = g_ptr_array_index(s->plugins, i);
        if (p != q->publisher && has_plugin_event(p)) {
            p->desc->plugin_event(p, &q->event);
        }
    }
    g_free(q);
}

/* Copy and queue an event for the 1.2 listeners (always queued, so that
 * events from one thread arrive in order). */
static void queue_event(SpicePlugin *publisher, uint32_t type, uint32_t display_id,
                        const void *data, uint32_t size)
{
    /* Nothing to copy (a cursor shape may be megabytes) when no other
     * plugin listens. */
    SpiceServer *s = publisher->server;
    bool listener = false;
    for (guint i = 0; i < s->plugins->len && !listener; i++) {
        SpicePlugin *p = g_ptr_array_index(s->plugins, i);
        listener = p != publisher && has_plugin_event(p);
    }
    if (!listener) {
        return;
    }
    QueuedEvent *q = g_malloc(sizeof(QueuedEvent) + size);
    q->server = publisher->server;
    q->publisher = publisher;
    q->event = (SpicePluginEvent){ .size = sizeof(SpicePluginEvent),
                                   .type = type,
                                   .display_id = display_id,
                                   .data_size = size,
                                   .data = q->data };
    if (size) {
        memcpy(q->data, data, size);
    }
    event_loop_invoke(publisher->server->loop, deliver_event, q, false);
}

static void host_event_publish(SpicePlugin *plugin, const SpicePluginEvent *event)
{
    if (!event || event->size < sizeof(SpicePluginEvent) || (event->data_size && !event->data) ||
        event->data_size > 16 * 1024 * 1024) {
        plugin_host_log(plugin, SPICE_PLUGIN_LOG_WARNING, "event_publish: malformed event ignored");
        return;
    }
    queue_event(plugin, event->type, event->display_id, event->data, event->data_size);
    for (unsigned i = 0; i < G_N_ELEMENTS(event_topics); i++) {
        const EventTopic *et = &event_topics[i];
        if (et->event != event->type) {
            continue;
        }
        bool withdraw = event->type == SPICE_PLUGIN_EVENT_DISPLAY_REMOVED;
        uint32_t size = withdraw ? 0 : event->data_size;
        g_autofree uint8_t *data = withdraw || !size ? NULL : g_memdup2(event->data, size);
        /* 1.2 readers went by data_size: a display or primary payload
         * whose size member was left wrong gets data_size, as it meant. */
        if (data && size >= sizeof(uint32_t) && event->type != SPICE_PLUGIN_EVENT_CURSOR &&
            topic_payload_problem(data, size)) {
            memcpy(data, &size, sizeof(size));
        }
        /* A payload that still is no valid topic payload stays an event. */
        if ((data || withdraw) && !topic_payload_problem(data, size)) {
            topic_publish(plugin->server->topics, plugin, et->topic, event->display_id, data, size,
                          et->flags);
        }
    }
}

static int host_topic_publish(SpicePlugin *plugin, const char *topic, uint32_t key,
                              const void *payload, uint32_t size, uint32_t flags)
{
    int reached = topic_publish(plugin->server->topics, plugin, topic, key, payload, size, flags);
    if (reached < 0) {
        return reached;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(event_topics); i++) {
        const EventTopic *et = &event_topics[i];
        if (strcmp(et->topic, topic) != 0 ||
            (et->flags & SPICE_TOPIC_RETAIN) != (flags & SPICE_TOPIC_RETAIN)) {
            continue;
        }
        bool removed = et->event == SPICE_PLUGIN_EVENT_DISPLAY_REMOVED;
        if (removed == (payload == NULL)) {
            queue_event(plugin, et->event, key, payload, size);
        }
    }
    return reached;
}

static SpiceTopicSubscription *host_topic_subscribe(SpicePlugin *plugin, const char *topic,
                                                    SpicePluginLoop *loop, SpiceTopicFunc func,
                                                    void *opaque)
{
    return topic_subscribe(plugin->server->topics, plugin, topic,
                           plugin_host_loop_get(plugin->server, loop), func, opaque);
}

static int host_topic_get(SpicePlugin *plugin, const char *topic, uint32_t key, void *payload,
                          uint32_t max)
{
    return topic_get(plugin->server->topics, topic, key, payload, max);
}

static void host_log(SpicePlugin *plugin, SpicePluginLogLevel level, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

static void host_log(SpicePlugin *plugin, SpicePluginLogLevel level, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    plugin_logv(plugin, level, format, ap);
    va_end(ap);
}

static const SpiceHostServices host_services = {
    .size = sizeof(SpiceHostServices),
    .abi_major = SPICE_PLUGIN_ABI_MAJOR,
    .abi_minor = SPICE_PLUGIN_ABI_MINOR,

    .log = host_log,
    .set_error = host_set_error,
    .set_data = host_set_data,
    .get_data = host_get_data,
    .config_get = host_config_get,

    .channel_register = host_channel_register,
    .channel_unregister = host_channel_unregister,
    .channel_get_data = host_channel_get_data,
    .channel_get_type = host_channel_get_type,
    .channel_get_id = host_channel_get_id,
    .channel_set_cap = registry_channel_set_cap,
    .channel_list = host_channel_list,

    .channel_client_set_data = channel_client_set_data,
    .channel_client_get_data = channel_client_get_data,
    .channel_client_get_channel = channel_client_get_channel,
    .channel_client_get_client = channel_client_get_client,
    .channel_client_test_cap = channel_client_test_cap,
    .channel_client_test_common_cap = channel_client_test_common_cap,
    .channel_client_send = channel_client_send,
    .channel_client_send_owned = channel_client_send_owned,
    .channel_client_can_send = channel_client_can_send,
    .channel_client_want_produce = channel_client_want_produce,
    .channel_client_ping = channel_client_ping,
    .channel_client_disconnect = channel_client_disconnect,
    .channel_client_get_family = channel_client_get_family,

    .client_get_session_id = host_client_get_session_id,
    .client_notify = host_client_notify,

    .mouse_mode_get = host_mouse_mode_get,
    .mouse_mode_request = host_mouse_mode_request,
    .server_get_name = host_server_get_name,
    .server_get_uuid = host_server_get_uuid,
    .server_get_int = host_server_get_int,
    .mm_time = host_mm_time,

    .timer_new = host_timer_new,
    .timer_start = host_timer_start,
    .timer_cancel = host_timer_cancel,
    .timer_free = host_timer_free,
    .watch_new = host_watch_new,
    .watch_update = host_watch_update,
    .watch_free = host_watch_free,

    .loop_new = host_loop_new,
    .loop_free = host_loop_free,
    .loop_invoke = host_loop_invoke,
    .channel_client_move = channel_client_move,

    .event_publish = host_event_publish,

    .topic_publish = host_topic_publish,
    .topic_subscribe = host_topic_subscribe,
    .topic_unsubscribe = topic_unsubscribe,
    .topic_get = host_topic_get,
    .channel_client_pause_input = channel_client_pause_input,
};

/* ---- loading -------------------------------------------------------------------- */

static void plugin_unregister_channels(SpicePlugin *plugin)
{
    SpiceServer *s = plugin->server;
    GList *l = s->channels;
    while (l) {
        GList *next = l->next;
        SpiceChannel *ch = l->data;
        if (ch->plugin == plugin) {
            registry_remove(ch);
        }
        l = next;
    }
}

static void drain_nothing(void *opaque)
{
    (void)opaque;
}

/* Release what a plugin holds in the server, deinit it (only after a
 * successful init) and unload it. */
static void plugin_free(SpicePlugin *plugin)
{
    SpiceServer *s = plugin->server;
    interfaces_release_plugin(s, plugin);
    /* Its subscriptions end (deliveries still queued for it will find
     * them ended) and its facts are withdrawn, before its channels go and
     * before deinit frees what the callbacks use. */
    if (s->topics) {
        topic_board_release_plugin(s->topics, plugin);
    }
    plugin_unregister_channels(plugin);
    if (s->loop) {
        /* Let the channel clients' disconnects reach the plugin now, on
         * its worker loops first (their teardowns then queue work for the
         * host loop), before deinit frees the plugin's state. This also
         * waits for a topic callback already running on a worker loop. */
        for (GList *l = plugin->loops; l; l = l->next) {
            SpicePluginLoop *pl = l->data;
            event_loop_invoke(pl->loop, drain_nothing, NULL, true);
        }
        event_loop_run_pending(s->loop);
    }
    if (plugin->initialized) {
        plugin->initialized = false;
        if (plugin->desc->deinit) {
            plugin->desc->deinit(plugin);
        }
    }
    while (plugin->loops) {
        plugin_host_log(plugin, SPICE_PLUGIN_LOG_WARNING, "deinit left a worker loop running");
        host_loop_free(plugin->loops->data);
    }
    if (s->topics) {
        topic_board_forget_plugin(s->topics, plugin);
    }
    /* SPICE_PLUGIN_NO_UNLOAD keeps modules mapped so leak checkers and
     * profilers can still name their code after the server is gone. */
    if (plugin->module && !g_getenv("SPICE_PLUGIN_NO_UNLOAD")) {
        g_module_close(plugin->module);
    }
    if (plugin->config) {
        g_hash_table_unref(plugin->config);
    }
    g_free(plugin->error);
    g_free(plugin->name);
    g_free(plugin->path);
    g_free(plugin);
}

/* plugin_host_load_all() as a plugin_load_walk() caller: the walk
 * decides, these callbacks open, initialise and record. */
typedef struct LoadContext {
    SpiceServer *server;
    const PluginConfig *config;
    SpicePlugin *pending; /* opened, not yet accepted */
    GError *error;        /* the first fatal verdict */
} LoadContext;

static const SpicePluginDescriptor *load_open(void *opaque, const PluginFile *file, bool enabled,
                                              GError **error)
{
    LoadContext *ctx = opaque;
    (void)enabled; /* the server opens enabled files only */
    SpicePlugin *plugin = g_new0(SpicePlugin, 1);
    plugin->server = ctx->server;
    plugin->name = g_strdup(file->name);
    plugin->path = g_strdup(file->path);
    if (!plugin_module_open(file->path, file->name, &plugin->module, &plugin->desc, error)) {
        plugin_free(plugin);
        return NULL;
    }
    ctx->pending = plugin;
    return plugin->desc;
}

static bool load_accept(void *opaque, const PluginFile *file, const SpicePluginDescriptor *desc,
                        GError **error)
{
    LoadContext *ctx = opaque;
    SpiceServer *s = ctx->server;
    SpicePlugin *plugin = g_steal_pointer(&ctx->pending);
    (void)desc;
    plugin->config = plugin_config_section(ctx->config, file->name);
    g_ptr_array_add(s->plugins, plugin);
    plugin->initialized = true;
    int rc = plugin->desc->init(plugin, &host_services);
    if (rc < 0) {
        plugin->initialized = false; /* init cleans up after itself */
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: init failed: %s (%s)", plugin->path,
                    plugin->error ? plugin->error : "no reason given", g_strerror(-rc));
        g_ptr_array_remove(s->plugins, plugin);
        plugin_free(plugin);
        return false;
    }
    g_debug("plugin %s %s loaded from %s", plugin->name, plugin->desc->version, plugin->path);
    return true;
}

static void load_verdict(void *opaque, const char *name, const PluginFile *file,
                         PluginVerdict verdict, const char *reason, bool fatal)
{
    LoadContext *ctx = opaque;
    SpiceServer *s = ctx->server;
    (void)file;
    if (ctx->pending) {
        /* Opened, then refused before accept (a conflict). */
        plugin_free(g_steal_pointer(&ctx->pending));
    }
    if (verdict == PLUGIN_VERDICT_LOADED) {
        return;
    }
    if (fatal) {
        if (!ctx->error) {
            ctx->error = g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "%s", reason);
        }
        return;
    }
    if (verdict == PLUGIN_VERDICT_DISABLED) {
        g_debug("plugin %s not loaded: %s", name, reason);
        g_ptr_array_add(s->plugins_not_loaded, g_strdup_printf("%s (%s)", name, reason));
        return;
    }
    /* An optional plugin that failed or is missing. */
    g_message("optional plugin %s skipped: %s", name, reason);
    if (verdict == PLUGIN_VERDICT_FAILED) {
        g_ptr_array_add(s->plugins_not_loaded, g_strdup_printf("%s (failed to load)", name));
    }
}

bool plugin_host_load_all(SpiceServer *s, GError **error)
{
    g_autoptr(PluginConfig) config = plugin_config_load(NULL, error);
    if (!config) {
        return false;
    }
    g_auto(GStrv) dirs = plugin_search_path();
    g_autoptr(GPtrArray) files = plugin_scan(dirs);
    g_autofree char *path_text = g_strjoinv(":", dirs);
    LoadContext ctx = { .server = s, .config = config };
    static const PluginLoadOps ops = {
        .open = load_open,
        .accept = load_accept,
        .verdict = load_verdict,
        .stop_on_fatal = true,
    };
    if (!plugin_load_walk(config, files, path_text, &ops, &ctx)) {
        g_propagate_error(error, ctx.error);
        return false;
    }
    return true;
}

void plugin_host_unload_all(SpiceServer *s)
{
    /* Unload in reverse: plugins loaded later may use earlier ones' channels. */
    while (s->plugins->len > 0) {
        SpicePlugin *p = g_ptr_array_index(s->plugins, s->plugins->len - 1);
        plugin_free(p);
        g_ptr_array_remove_index(s->plugins, s->plugins->len - 1);
    }
    interfaces_release_plugin(s, NULL);
}

SpicePlugin *plugin_host_find_interface(SpiceServer *s, const char *type, const char *subtype,
                                        const char *portname, const SpiceInterfaceClass **klass)
{
    /* A plugin that names the port first, then one that serves any. */
    for (int pass = portname ? 0 : 1; pass < 2; pass++) {
        for (guint i = 0; i < s->plugins->len; i++) {
            SpicePlugin *p = g_ptr_array_index(s->plugins, i);
            const SpiceInterfaceClass *k =
                plugin_descriptor_find_interface(p->desc, type, subtype, pass ? NULL : portname);
            if (k) {
                *klass = k;
                return p;
            }
        }
    }
    return NULL;
}
