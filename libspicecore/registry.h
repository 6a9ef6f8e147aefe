/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * registry.h: the registration ring. Every channel a client may link to
 * is a SpiceChannel registered here by the plugin that implements it; the
 * main channel's CHANNELS_LIST and the link handshake both read it.
 */
#ifndef SPICECORE_REGISTRY_H_
#define SPICECORE_REGISTRY_H_

#include "server.h"

struct SpiceChannel {
    gint refs;
    SpiceServer *server;
    SpicePlugin *plugin;
    const SpiceChannelClass *klass;
    uint8_t type;
    uint8_t id;
    bool registered;
    void *data;
    GArray *caps; /* uint32_t words advertised in the link reply */

    GMutex lock;    /* guards clients: worker threads add and remove */
    GList *clients; /* SpiceChannelClient*, connected */
};

/* Host thread. Returns NULL (logged) when (type, id) is taken. */
SpiceChannel *registry_add(SpiceServer *s, SpicePlugin *plugin, const SpiceChannelClass *klass,
                           uint8_t id, void *data);
/* Host thread. Disconnects the channel's clients and drops the ring's
 * reference. */
void registry_remove(SpiceChannel *channel);
SpiceChannel *registry_find(SpiceServer *s, uint8_t type, uint8_t id);
uint32_t registry_list(SpiceServer *s, SpiceChannelId *ids, uint32_t max);
unsigned registry_count_type(SpiceServer *s, uint8_t type);

SpiceChannel *registry_channel_ref(SpiceChannel *channel);
void registry_channel_unref(SpiceChannel *channel);
void registry_channel_set_cap(SpiceChannel *channel, uint32_t cap, bool enabled);

#endif /* SPICECORE_REGISTRY_H_ */
