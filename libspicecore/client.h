/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * client.h: client sessions. A session starts when a main channel links
 * with connection id 0 and gets a random non-zero session id; the client's
 * other channels link with that id. One session at a time: a new main
 * link ends the previous session.
 */
#ifndef SPICECORE_CLIENT_H_
#define SPICECORE_CLIENT_H_

#include "server.h"

struct SpiceClient {
    gint refs;
    SpiceServer *server;
    uint32_t session_id;
    SpiceChannelClient *main_cc; /* weak: cleared when it goes */
    GPtrArray *ccs;              /* SpiceChannelClient*, referenced */
    bool dying;
};

/* Host thread. Ends the current session (if any) and starts a new one. */
SpiceClient *client_new(SpiceServer *s);
/* Host thread. Disconnects every channel of the session and detaches it
 * from the server. */
void client_destroy(SpiceClient *client, const char *reason);
SpiceClient *client_ref(SpiceClient *client);
void client_unref(SpiceClient *client);

/* Host thread. */
void client_add_channel_client(SpiceClient *client, SpiceChannelClient *cc, bool is_main);
/* Host thread: a channel client has gone; when it was the main channel
 * the whole session ends. */
void client_remove_channel_client(SpiceClient *client, SpiceChannelClient *cc);

#endif /* SPICECORE_CLIENT_H_ */
