/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * display-plugin.c: libspice-plugin-display.so. Serves the host's "qxl"
 * interface: each QXL instance gets a worker thread and, as the worker's
 * output, a DISPLAY channel with the instance's id. spice_qxl_* calls
 * reach the worker through the entry table in qxl-worker.c.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "display.h"
#include "display-output.h"
#include "glz-sessions.h"
#include "qxl-worker.h"

const SpiceHostServices *display_host;

typedef struct DisplayPlugin {
    SpicePlugin *plugin;
    GList *workers; /* QxlWorker*, host thread */
    SpiceTopicSubscription *monitors_sub;
    GlzSessions *glz;
    /* sessions whose network test found a slow link (spice.client-link) */
    SpiceTopicSubscription *link_sub;
    GMutex link_lock;
    GHashTable *links; /* session id -> SpiceClientLinkInfo (the network test's) */
} DisplayPlugin;

/* What the session's network test measured: false when no test ran. */
static bool session_link(SpicePlugin *plugin, uint32_t session_id, SpiceClientLinkInfo *out)
{
    DisplayPlugin *dp = display_host->get_data(plugin);
    g_mutex_lock(&dp->link_lock);
    const SpiceClientLinkInfo *link = g_hash_table_lookup(dp->links, GUINT_TO_POINTER(session_id));
    if (link) {
        *out = *link;
    }
    g_mutex_unlock(&dp->link_lock);
    return link != NULL;
}

bool display_low_bandwidth(SpicePlugin *plugin, uint32_t session_id)
{
    SpiceClientLinkInfo link;
    return session_link(plugin, session_id, &link) && link.low_bandwidth;
}

uint64_t display_link_bitrate(SpicePlugin *plugin, uint32_t session_id)
{
    SpiceClientLinkInfo link;
    return session_link(plugin, session_id, &link) ? link.bitrate_bps : 0;
}

static void on_client_link(SpicePlugin *plugin, const char *topic, uint32_t key,
                           const void *payload, uint32_t size, void *opaque)
{
    (void)plugin, (void)topic;
    DisplayPlugin *dp = opaque;
    const SpiceClientLinkInfo *link = payload;
    SpiceClientLinkInfo *copy = NULL;
    if (link && size >= sizeof(uint32_t) && link->size <= size) {
        /* Members the publisher did not know stay 0 (no figure). */
        copy = g_new0(SpiceClientLinkInfo, 1);
        memcpy(copy, link, MIN(link->size, (uint32_t)sizeof(*copy)));
        copy->size = sizeof(*copy);
    }
    g_mutex_lock(&dp->link_lock);
    if (copy) {
        g_hash_table_insert(dp->links, GUINT_TO_POINTER(key), copy);
    } else {
        g_hash_table_remove(dp->links, GUINT_TO_POINTER(key));
    }
    g_mutex_unlock(&dp->link_lock);
}

GlzSessions *display_glz_sessions(SpicePlugin *plugin)
{
    DisplayPlugin *dp = display_host->get_data(plugin);
    return dp->glz;
}

/* The client's monitors config, from the main plugin: to every device. */
static void on_client_monitors_config(SpicePlugin *plugin, const char *topic, uint32_t key,
                                      const void *payload, uint32_t size, void *opaque)
{
    (void)plugin, (void)topic, (void)key;
    DisplayPlugin *dp = opaque;
    const SpiceClientMonitorsConfig *mc = payload;
    if (!mc || !SPICE_PAYLOAD_HAS(mc, SpiceClientMonitorsConfig, config_size) || mc->size > size ||
        mc->config_size > size - mc->size) {
        return;
    }
    const uint8_t *config = (const uint8_t *)payload + mc->size;
    for (GList *l = dp->workers; l; l = l->next) {
        qxl_worker_client_monitors_config(l->data, config, mc->config_size);
    }
}

static int qxl_add(SpicePlugin *plugin, SpiceBaseInstance *sin, void **data)
{
    DisplayPlugin *dp = display_host->get_data(plugin);
    const char *why = NULL;
    QxlWorker *w = qxl_worker_new(plugin, (QXLInstance *)sin, &display_channel_output, &why);
    if (!w) {
        display_host->log(plugin, SPICE_PLUGIN_LOG_WARNING, "QXL instance refused: %s", why);
        return -EINVAL;
    }
    dp->workers = g_list_append(dp->workers, w);
    /* Before attaching: the host may call entry points from attache_worker. */
    *data = w;
    qxl_worker_attach(w);
    if (display_host->server_get_int(plugin, SPICE_SERVER_INT_VM_RUNNING)) {
        qxl_worker_set_running(w, true);
    }
    return 0;
}

static void qxl_remove(SpicePlugin *plugin, SpiceBaseInstance *sin, void *data)
{
    DisplayPlugin *dp = display_host->get_data(plugin);
    (void)sin;
    dp->workers = g_list_remove(dp->workers, data);
    qxl_worker_free(data);
}

static const SpiceInterfaceClass qxl_iface = {
    .size = sizeof(SpiceInterfaceClass),
    .type = SPICE_INTERFACE_QXL,
    .major = SPICE_INTERFACE_QXL_MAJOR,
    .minor = SPICE_INTERFACE_QXL_MINOR,
    .add = qxl_add,
    .remove = qxl_remove,
    .entries = &qxl_worker_entries,
};

static void display_server_event(SpicePlugin *plugin, const SpiceServerEvent *ev)
{
    DisplayPlugin *dp = display_host->get_data(plugin);
    if (!dp ||
        (ev->type != SPICE_SERVER_EVENT_VM_START && ev->type != SPICE_SERVER_EVENT_VM_STOP)) {
        return;
    }
    for (GList *l = dp->workers; l; l = l->next) {
        qxl_worker_set_running(l->data, ev->type == SPICE_SERVER_EVENT_VM_START);
    }
}

static int display_init(SpicePlugin *plugin, const SpiceHostServices *host)
{
    display_host = host;
    if (!SPICE_HOST_HAS(host, topic_publish)) {
        host->set_error(plugin, "needs plugin ABI 1.3 (topics)");
        return -ENOTSUP;
    }
    DisplayPlugin *dp = g_new0(DisplayPlugin, 1);
    dp->plugin = plugin;
    dp->glz = glz_sessions_new();
    g_mutex_init(&dp->link_lock);
    dp->links = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    dp->link_sub = host->topic_subscribe(plugin, SPICE_TOPIC_CLIENT_LINK, NULL, on_client_link, dp);
    dp->monitors_sub = host->topic_subscribe(plugin, SPICE_TOPIC_CLIENT_MONITORS_CONFIG, NULL,
                                             on_client_monitors_config, dp);
    host->set_data(plugin, dp);
    return 0;
}

static void display_deinit(SpicePlugin *plugin)
{
    DisplayPlugin *dp = display_host->get_data(plugin);
    display_host->topic_unsubscribe(dp->monitors_sub);
    display_host->topic_unsubscribe(dp->link_sub);
    /* The core removed every QXL instance (and so every worker) first. */
    while (dp->workers) {
        qxl_worker_free(dp->workers->data);
        dp->workers = g_list_delete_link(dp->workers, dp->workers);
    }
    glz_sessions_free(dp->glz);
    g_hash_table_unref(dp->links);
    g_mutex_clear(&dp->link_lock);
    g_free(dp);
}

static const SpiceChannelClass *const display_channels[] = { &display_channel_class, NULL };
static const SpiceInterfaceClass *const display_interfaces[] = { &qxl_iface, NULL };

SPICE_PLUGIN_DEFINE(display, .version = "0.1.0", .license = "LGPL-2.1-or-later",
                    .description = "Display channel: QXL worker, rendering, image codecs",
                    .origin = "spicecore", .channels = display_channels,
                    .interfaces = display_interfaces, .init = display_init,
                    .deinit = display_deinit, .server_event = display_server_event)
