/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * server.c: SpiceServer lifecycle (new, init, destroy, vm start/stop),
 * the mouse-mode rules and the broadcast of server events to plugins.
 * The setters live in server-config.c, interface routing in interfaces.c.
 */
#include "server.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <spice/enums.h>

#include "auth-ticket.h"
#include "channel-client.h"
#include "client.h"
#include "interfaces.h"
#include "link.h"
#include "net.h"
#include "plugin-host.h"
#include "registry.h"
#include "sasl-auth.h"
#include "server-config.h"
#include "tls.h"
#include "topics.h"

/* Keys kept ready per server: a full client links about six channels. */
#define KEY_POOL_SIZE 6

SPICE_EXPORT SpiceServer *spice_server_new(void)
{
    SpiceServer *s = g_new0(SpiceServer, 1);
    ServerConfig *c = &s->config;
    c->port = -1;
    c->listen_fd = -1;
    c->tls_port = -1;
    c->ticketing = true; /* with no password set every login is refused */
    c->ticket_expiry_us = INT64_MAX;
    c->image_compression = SPICE_IMAGE_COMPRESSION_AUTO_GLZ;
    c->jpeg_compression = SPICE_WAN_COMPRESSION_AUTO;
    c->zlib_glz_compression = SPICE_WAN_COMPRESSION_AUTO;
    c->streaming_video = SPICE_STREAM_VIDEO_FILTER;
    c->playback_compression = true;
    c->agent_mouse = true;
    c->agent_copypaste = true;
    c->agent_file_xfer = true;
    c->channel_security = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    s->listeners = g_ptr_array_new();
    s->plugins = g_ptr_array_new();
    s->plugins_not_loaded = g_ptr_array_new_with_free_func(g_free);
    s->mouse_mode = SPICE_MOUSE_MODE_SERVER;
    return s;
}

static void publish_mouse_mode(SpiceServer *s);

/* The first display's RAM size is MAIN_INIT's hint. */
static void on_display_topic(SpiceServer *s, const char *topic, uint32_t key, const void *payload,
                             uint32_t size)
{
    (void)topic, (void)key, (void)size;
    const SpiceDisplayInfo *info = payload;
    if (info && SPICE_PAYLOAD_HAS(info, SpiceDisplayInfo, ram_size) && s->qxl_ram_size == 0) {
        s->qxl_ram_size = info->ram_size;
    }
}

/* Client mouse mode needs a primary surface that allows it. */
static void on_primary_topic(SpiceServer *s, const char *topic, uint32_t key, const void *payload,
                             uint32_t size)
{
    (void)topic, (void)key, (void)size;
    const SpicePrimaryInfo *info = payload;
    s->display_allows_client_mouse = info &&
                                     SPICE_PAYLOAD_HAS(info, SpicePrimaryInfo, client_mouse) &&
                                     info->width > 0 && info->client_mouse;
    server_update_mouse_mode(s);
}

/* With agent-mouse on, an attached agent allows client mouse mode. */
static void on_agent_topic(SpiceServer *s, const char *topic, uint32_t key, const void *payload,
                           uint32_t size)
{
    (void)topic, (void)key, (void)size;
    const SpiceAgentInfo *info = payload;
    s->agent_connected =
        info && SPICE_PAYLOAD_HAS(info, SpiceAgentInfo, connected) && info->connected;
    server_update_mouse_mode(s);
}

SPICE_EXPORT int spice_server_init(SpiceServer *s, SpiceCoreInterface *core)
{
    g_return_val_if_fail(s != NULL, -1);
    if (!core) {
        g_critical("spice_server_init: the core interface is NULL");
        return -1;
    }
    if (s->initialized) {
        g_warning("spice_server_init: this server is already initialised");
        return -1;
    }
    if (core->base.major_version != SPICE_INTERFACE_CORE_MAJOR) {
        g_warning("spice_server_init: core interface version %u.%u, this server needs %u.x",
                  core->base.major_version, core->base.minor_version, SPICE_INTERFACE_CORE_MAJOR);
        return -1;
    }
    if (!core->timer_add || !core->timer_start || !core->timer_cancel || !core->timer_remove ||
        !core->watch_add || !core->watch_update_mask || !core->watch_remove) {
        g_warning("spice_server_init: the core interface lacks timer or watch functions");
        return -1;
    }
    s->core = core;
    server_default_video_codecs(s);
    s->loop = event_loop_new_host(core);
    if (!s->loop) {
        return -1;
    }
    s->keys = auth_key_pool_new(KEY_POOL_SIZE);
    s->topics = topic_board_new(s);
    /* The two facts about displays the core decides on; before any
     * plugin, so it sees them first. */
    topic_subscribe_core(s->topics, SPICE_TOPIC_DISPLAY, on_display_topic);
    topic_subscribe_core(s->topics, SPICE_TOPIC_PRIMARY, on_primary_topic);
    topic_subscribe_core(s->topics, SPICE_TOPIC_AGENT, on_agent_topic);
    publish_mouse_mode(s);

    g_autoptr(GError) error = NULL;
    if (!plugin_host_load_all(s, &error)) {
        g_warning("spice_server_init failed: %s", error->message);
        goto fail;
    }
    if (!registry_find(s, SPICE_CHANNEL_MAIN, 0)) {
        g_warning("spice_server_init failed: no plugin registered the main channel "
                  "(is libspice-plugin-main.so installed and enabled?)");
        goto fail;
    }
#ifdef HAVE_SASL
    if (s->config.sasl && !sasl_auth_global_init(s->config.sasl_appname)) {
        g_warning("spice_server_init failed: SASL is enabled but cyrus-sasl cannot start");
        goto fail;
    }
#endif
    if (s->config.tls && !(s->tls_ctx = tls_server_context(&s->config))) {
        g_warning("spice_server_init failed: the TLS settings cannot be used");
        goto fail;
    }
    if (!net_start_listening(s)) {
        g_warning("spice_server_init failed: cannot listen as configured");
        goto fail;
    }
    s->initialized = true;
    server_update_mouse_mode(s);
    return 0;

fail:
    net_stop_listening(s);
    SSL_CTX_free(s->tls_ctx);
    s->tls_ctx = NULL;
    plugin_host_unload_all(s);
    topic_board_free(s->topics);
    s->topics = NULL;
    auth_key_pool_free(s->keys);
    s->keys = NULL;
    event_loop_free(s->loop);
    s->loop = NULL;
    s->core = NULL;
    return -1;
}

SPICE_EXPORT void spice_server_destroy(SpiceServer *s)
{
    if (!s) {
        return;
    }
    if (s->loop) {
        net_stop_listening(s);
        link_free_all(s);
        if (s->client) {
            client_destroy(s->client, "server shutting down");
        }
        event_loop_run_pending(s->loop);
        plugin_host_unload_all(s);
        event_loop_run_pending(s->loop);
        topic_board_free(s->topics);
        s->topics = NULL;
        event_loop_free(s->loop);
    }
    auth_key_pool_free(s->keys);
    SSL_CTX_free(s->tls_ctx);
    ServerConfig *c = &s->config;
    memset(c->password, 0, sizeof(c->password));
    server_config_clear_tls(c);
    g_free(c->addr);
    g_free(c->name);
    g_free(c->sasl_appname);
    g_free(c->video_codecs);
    g_hash_table_unref(c->channel_security);
    g_ptr_array_unref(s->listeners);
    g_ptr_array_unref(s->plugins);
    g_ptr_array_unref(s->plugins_not_loaded);
    g_free(s);
}

void server_prepare_exit(SpiceServer *s)
{
    auth_key_pool_free(s->keys);
    s->keys = NULL;
    fflush(NULL);
}

void server_channel_event(SpiceServer *s, int event, SpiceChannelEventInfo *info)
{
    if (s->core && s->core->channel_event) {
        s->core->channel_event(event, info);
    }
}

uint32_t server_mm_time(SpiceServer *s)
{
    (void)s;
    return (uint32_t)(g_get_monotonic_time() / 1000);
}

void server_emit_event(SpiceServer *s, SpiceServerEventType type, SpiceChannel *channel)
{
    SpiceServerEvent ev = { .size = sizeof(ev), .type = type, .channel = channel };
    for (guint i = 0; i < s->plugins->len; i++) {
        SpicePlugin *p = g_ptr_array_index(s->plugins, i);
        if (p->initialized && p->desc->server_event) {
            p->desc->server_event(p, &ev);
        }
    }
}

/*
 * Client mouse mode (absolute coordinates) is allowed when something can
 * deliver absolute positions: a tablet with at most one display (with two
 * displays a position is ambiguous) whose primary surface allows it, or
 * the guest agent when agent-mouse is on. With no display at all a tablet
 * host still gets positions in its own logical size.
 */
uint32_t server_supported_mouse_modes(SpiceServer *s)
{
    uint32_t modes = SPICE_MOUSE_MODE_SERVER;
    unsigned displays = registry_count_type(s, SPICE_CHANNEL_DISPLAY);
    unsigned qxls = interfaces_count(s, SPICE_INTERFACE_QXL);
    bool tablet = interfaces_count(s, SPICE_INTERFACE_TABLET) > 0;
    /* The main plugin says on "spice.agent" when a guest agent is there
     * to take positions (VD_AGENT_MOUSE_STATE). */
    bool agent = s->config.agent_mouse && s->agent_connected;
    bool one_display = displays <= 1 && qxls <= 1;
    bool primary_ok = qxls == 0 || s->display_allows_client_mouse;
    if (agent || (tablet && one_display && primary_ok)) {
        modes |= SPICE_MOUSE_MODE_CLIENT;
    }
    return modes;
}

/* The mouse-mode topic: what the core reports and allows. */
static void publish_mouse_mode(SpiceServer *s)
{
    SpiceMouseModeInfo info = { .size = sizeof(info),
                                .current = s->mouse_mode,
                                .supported = server_supported_mouse_modes(s) };
    topic_publish(s->topics, NULL, SPICE_TOPIC_MOUSE_MODE, 0, &info, sizeof(info),
                  SPICE_TOPIC_RETAIN);
}

static void mouse_mode_changed(SpiceServer *s)
{
    publish_mouse_mode(s);
    /* For plugins of ABI 1.0 .. 1.2. */
    server_emit_event(s, SPICE_SERVER_EVENT_MOUSE_MODE_CHANGED, NULL);
}

void server_update_mouse_mode(SpiceServer *s)
{
    uint32_t supported = server_supported_mouse_modes(s);
    uint32_t mode = s->mouse_mode;
    if (!(supported & mode)) {
        mode = SPICE_MOUSE_MODE_SERVER;
    }
    if (supported != s->mouse_supported_last || mode != s->mouse_mode) {
        s->mouse_mode = mode;
        s->mouse_supported_last = supported;
        if (s->initialized) {
            mouse_mode_changed(s);
        }
    }
}

int server_request_mouse_mode(SpiceServer *s, uint32_t mode)
{
    uint32_t supported = server_supported_mouse_modes(s);
    if ((mode != SPICE_MOUSE_MODE_SERVER && mode != SPICE_MOUSE_MODE_CLIENT) ||
        !(supported & mode)) {
        return -EPERM;
    }
    if (mode != s->mouse_mode) {
        s->mouse_mode = mode;
        s->mouse_supported_last = supported;
        mouse_mode_changed(s);
    }
    return 0;
}

SPICE_EXPORT int spice_server_is_server_mouse(SpiceServer *s)
{
    g_return_val_if_fail(s != NULL, 1);
    return s->mouse_mode == SPICE_MOUSE_MODE_SERVER;
}

SPICE_EXPORT void spice_server_vm_start(SpiceServer *s)
{
    g_return_if_fail(s != NULL);
    if (s->vm_running) {
        return;
    }
    s->vm_running = true;
    server_emit_event(s, SPICE_SERVER_EVENT_VM_START, NULL);
}

SPICE_EXPORT void spice_server_vm_stop(SpiceServer *s)
{
    g_return_if_fail(s != NULL);
    if (!s->vm_running) {
        return;
    }
    s->vm_running = false;
    server_emit_event(s, SPICE_SERVER_EVENT_VM_STOP, NULL);
}

SPICE_EXPORT int spice_server_get_num_clients(SpiceServer *s)
{
    g_return_val_if_fail(s != NULL, 0);
    return s->client && s->client->main_cc ? 1 : 0;
}

static int main_socket_info(SpiceServer *s, struct sockaddr *sa, socklen_t *salen, bool peer)
{
    g_return_val_if_fail(s != NULL && sa != NULL && salen != NULL, -1);
    if (!s->client || !s->client->main_cc) {
        return -1;
    }
    int fd = channel_client_get_fd(s->client->main_cc);
    int rc = peer ? getpeername(fd, sa, salen) : getsockname(fd, sa, salen);
    return rc == 0 ? 0 : -1;
}

SPICE_EXPORT int spice_server_get_sock_info(SpiceServer *s, struct sockaddr *sa, socklen_t *salen)
{
    return main_socket_info(s, sa, salen, false);
}

SPICE_EXPORT int spice_server_get_peer_info(SpiceServer *s, struct sockaddr *sa, socklen_t *salen)
{
    return main_socket_info(s, sa, salen, true);
}

static int add_client(SpiceServer *s, int socket, int skip_auth, bool tls)
{
    g_return_val_if_fail(s != NULL, -1);
    if (!s->initialized) {
        g_warning("spice_server_add_client: the server is not initialised");
        return -1;
    }
    if (tls && !s->tls_ctx) {
        g_warning("spice_server_add_ssl_client: TLS is not configured (spice_server_set_tls)");
        return -1;
    }
    if (socket < 0 || !net_setup_client_socket(socket)) {
        g_warning("spice_server_add_client: unusable socket %d", socket);
        return -1;
    }
    link_start(s, socket, skip_auth != 0, tls);
    return 0;
}

SPICE_EXPORT int spice_server_add_client(SpiceServer *s, int socket, int skip_auth)
{
    return add_client(s, socket, skip_auth, false);
}

SPICE_EXPORT int spice_server_add_ssl_client(SpiceServer *s, int socket, int skip_auth)
{
    return add_client(s, socket, skip_auth, true);
}
