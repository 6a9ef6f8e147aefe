/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * registry.c: the ring of registered channels.
 */
#include "registry.h"

#include <spice/enums.h>

#include "channel-client.h"
#include "plugin-host.h"
#include "plugin-loader.h"

SpiceChannel *registry_channel_ref(SpiceChannel *channel)
{
    g_atomic_int_inc(&channel->refs);
    return channel;
}

void registry_channel_unref(SpiceChannel *channel)
{
    if (!g_atomic_int_dec_and_test(&channel->refs)) {
        return;
    }
    g_array_unref(channel->caps);
    g_mutex_clear(&channel->lock);
    g_free(channel);
}

SpiceChannel *registry_find(SpiceServer *s, uint8_t type, uint8_t id)
{
    for (GList *l = s->channels; l; l = l->next) {
        SpiceChannel *ch = l->data;
        if (ch->type == type && ch->id == id) {
            return ch;
        }
    }
    return NULL;
}

SpiceChannel *registry_add(SpiceServer *s, SpicePlugin *plugin, const SpiceChannelClass *klass,
                           uint8_t id, void *data)
{
    bool declared = false;
    for (const SpiceChannelClass *const *k = plugin->desc->channels; k && *k; k++) {
        declared |= *k == klass;
    }
    if (!declared) {
        plugin_host_log(plugin, SPICE_PLUGIN_LOG_WARNING,
                        "channel_register: class '%s' is not one of the plugin's declared classes",
                        klass && klass->name ? klass->name : "(null)");
        return NULL;
    }
    if (registry_find(s, klass->type, id)) {
        plugin_host_log(plugin, SPICE_PLUGIN_LOG_WARNING,
                        "channel_register: %s channel %u is already registered", klass->name, id);
        return NULL;
    }
    if (id != 0 && !(klass->flags & SPICE_CHANNEL_CLASS_MULTI_INSTANCE)) {
        plugin_host_log(plugin, SPICE_PLUGIN_LOG_WARNING,
                        "channel_register: %s channel id %u: the class allows only id 0",
                        klass->name, id);
        return NULL;
    }
    SpiceChannel *ch = g_new0(SpiceChannel, 1);
    ch->refs = 1;
    ch->server = s;
    ch->plugin = plugin;
    ch->klass = klass;
    ch->type = klass->type;
    ch->id = id;
    ch->data = data;
    ch->registered = true;
    g_mutex_init(&ch->lock);
    ch->caps = g_array_new(FALSE, TRUE, sizeof(uint32_t));
    for (uint32_t i = 0; i < klass->n_caps; i++) {
        registry_channel_set_cap(ch, klass->caps[i].cap, true);
    }
    s->channels = g_list_append(s->channels, ch);
    g_debug("registered %s channel %u (plugin %s)", klass->name, id, plugin->name);
    if (s->initialized) {
        server_emit_event(s, SPICE_SERVER_EVENT_CHANNEL_ADDED, ch);
    }
    server_update_mouse_mode(s);
    return ch;
}

static gpointer copy_cc_ref(gconstpointer cc, gpointer unused)
{
    (void)unused;
    return channel_client_ref((SpiceChannelClient *)cc);
}

void registry_remove(SpiceChannel *channel)
{
    SpiceServer *s = channel->server;
    if (!channel->registered) {
        return;
    }
    channel->registered = false;
    s->channels = g_list_remove(s->channels, channel);

    g_mutex_lock(&channel->lock);
    GList *clients = g_list_copy_deep(channel->clients, copy_cc_ref, NULL);
    g_mutex_unlock(&channel->lock);
    for (GList *l = clients; l; l = l->next) {
        channel_client_disconnect_async(l->data, "channel unregistered");
    }
    g_list_free_full(clients, (GDestroyNotify)channel_client_unref);

    if (s->initialized) {
        server_emit_event(s, SPICE_SERVER_EVENT_CHANNEL_REMOVED, channel);
    }
    server_update_mouse_mode(s);
    registry_channel_unref(channel);
}

uint32_t registry_list(SpiceServer *s, SpiceChannelId *ids, uint32_t max)
{
    uint32_t n = 0;
    for (GList *l = s->channels; l; l = l->next) {
        SpiceChannel *ch = l->data;
        if (ch->type == SPICE_CHANNEL_MAIN) {
            continue;
        }
        if (n < max && ids) {
            ids[n].type = ch->type;
            ids[n].id = ch->id;
        }
        n++;
    }
    return n;
}

unsigned registry_count_type(SpiceServer *s, uint8_t type)
{
    unsigned n = 0;
    for (GList *l = s->channels; l; l = l->next) {
        n += ((SpiceChannel *)l->data)->type == type;
    }
    return n;
}

void registry_channel_set_cap(SpiceChannel *channel, uint32_t cap, bool enabled)
{
    /* Capability numbers are small; refuse silly ones rather than allocate. */
    g_return_if_fail(cap < 32 * 64);
    guint word = cap / 32;
    if (word >= channel->caps->len) {
        if (!enabled) {
            return;
        }
        g_array_set_size(channel->caps, word + 1);
    }
    uint32_t *w = &g_array_index(channel->caps, uint32_t, word);
    if (enabled) {
        *w |= 1u << (cap % 32);
    } else {
        *w &= ~(1u << (cap % 32));
    }
}
