/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * channel-client.h: one client's connection to one channel after the
 * link: message framing (mini or full header), the incoming size limit,
 * the bounded outgoing queue with partial writes, the ACK window and
 * PING/PONG. Plugins see it as the opaque SpiceChannelClient.
 */
#ifndef SPICECORE_CHANNEL_CLIENT_H_
#define SPICECORE_CHANNEL_CLIENT_H_

#include "server.h"
#include "stream.h"

/* Hard limit of queued outgoing bytes: a client that lets this much pile
 * up is not reading and is disconnected. */
#define CC_OUT_HARD_LIMIT (64u * 1024 * 1024)
/* can_send() turns false above this many queued bytes. */
#define CC_OUT_LOW_WATER (256u * 1024)
/* Messages per ACK the client is asked for (SET_ACK window). */
#define CC_ACK_WINDOW 20

/* Parameters the link hands over. */
typedef struct ChannelClientParams {
    Stream *stream;              /* taken */
    SpiceChannelEventInfo *info; /* taken */
    GArray *common_caps;         /* taken: uint32_t words the client sent */
    GArray *caps;                /* taken */
} ChannelClientParams;

/* Host thread. Creates the connection, registers it with the channel and
 * the client session, reports INITIALIZED to the host and calls the
 * plugin's connect(). Returns false when the plugin refused (the socket is
 * closed and everything released). */
bool channel_client_create(SpiceServer *s, SpiceChannel *channel, SpiceClient *client,
                           ChannelClientParams *params);

/* Owning thread. Disconnects (deferred when inside a callback). */
void channel_client_disconnect(SpiceChannelClient *cc, const char *reason);
/* Any thread: disconnect on the owning thread. */
void channel_client_disconnect_async(SpiceChannelClient *cc, const char *reason);

SpiceChannelClient *channel_client_ref(SpiceChannelClient *cc);
void channel_client_unref(SpiceChannelClient *cc);

/* The host-service implementations (plugin-host.c wires them). */
void channel_client_set_data(SpiceChannelClient *cc, void *data);
void *channel_client_get_data(SpiceChannelClient *cc);
SpiceChannel *channel_client_get_channel(SpiceChannelClient *cc);
SpiceClient *channel_client_get_client(SpiceChannelClient *cc);
bool channel_client_test_cap(SpiceChannelClient *cc, uint32_t cap);
bool channel_client_test_common_cap(SpiceChannelClient *cc, uint32_t cap);
int channel_client_send(SpiceChannelClient *cc, uint16_t type, const void *body, uint32_t size);
int channel_client_send_owned(SpiceChannelClient *cc, uint16_t type, void *body, uint32_t size,
                              void (*free_func)(void *));
bool channel_client_can_send(SpiceChannelClient *cc);
void channel_client_want_produce(SpiceChannelClient *cc);
/* The client's loop thread. See SpiceHostServices.channel_client_pause_input. */
void channel_client_pause_input(SpiceChannelClient *cc, bool paused);
uint32_t channel_client_ping(SpiceChannelClient *cc, uint32_t payload_size);
int channel_client_get_family(SpiceChannelClient *cc);
void channel_client_move(SpiceChannelClient *cc, SpicePluginLoop *loop,
                         void (*on_moved)(SpiceChannelClient *cc, void *opaque), void *opaque);

int channel_client_get_fd(SpiceChannelClient *cc);

/* Testing and fuzzing: feed raw bytes as if read from the socket (on the
 * owning thread). */
void channel_client_feed(SpiceChannelClient *cc, const uint8_t *data, size_t size);
/* Testing and fuzzing, any thread: the loop that owns the client now (a
 * move to a plugin's loop has arrived once this is that loop). */
EventLoop *channel_client_loop(SpiceChannelClient *cc);

#endif /* SPICECORE_CHANNEL_CLIENT_H_ */
