/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * client.c: client sessions.
 */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>

#include "channel-client.h"

SpiceClient *client_ref(SpiceClient *client)
{
    g_atomic_int_inc(&client->refs);
    return client;
}

void client_unref(SpiceClient *client)
{
    if (!g_atomic_int_dec_and_test(&client->refs)) {
        return;
    }
    g_ptr_array_unref(client->ccs);
    g_free(client);
}

/* A random non-zero id that differs from the previous session's, so that
 * a stale secondary link can never join the new session by accident. */
static uint32_t new_session_id(uint32_t previous)
{
    uint32_t id;
    do {
        id = g_random_int();
    } while (id == 0 || id == previous);
    return id;
}

SpiceClient *client_new(SpiceServer *s)
{
    uint32_t previous = 0;
    if (s->client) {
        previous = s->client->session_id;
        client_destroy(s->client, "a new client connected");
    }
    SpiceClient *client = g_new0(SpiceClient, 1);
    client->refs = 1;
    client->server = s;
    client->session_id = new_session_id(previous);
    client->ccs = g_ptr_array_new_with_free_func((GDestroyNotify)channel_client_unref);
    s->client = client;
    return client;
}

void client_add_channel_client(SpiceClient *client, SpiceChannelClient *cc, bool is_main)
{
    g_ptr_array_add(client->ccs, channel_client_ref(cc));
    if (is_main) {
        client->main_cc = cc;
    }
}

void client_destroy(SpiceClient *client, const char *reason)
{
    SpiceServer *s = client->server;
    if (client->dying) {
        return;
    }
    client->dying = true;
    client->main_cc = NULL;
    if (s->client == client) {
        s->client = NULL;
    }
    /* Disconnects finish asynchronously and come back through
     * client_remove_channel_client(); work on a copy. */
    guint n = client->ccs->len;
    SpiceChannelClient **ccs = g_new(SpiceChannelClient *, n ? n : 1);
    for (guint i = 0; i < n; i++) {
        ccs[i] = channel_client_ref(g_ptr_array_index(client->ccs, i));
    }
    for (guint i = 0; i < n; i++) {
        channel_client_disconnect_async(ccs[i], reason);
        channel_client_unref(ccs[i]);
    }
    g_free(ccs);
    client_unref(client);
}

void client_remove_channel_client(SpiceClient *client, SpiceChannelClient *cc)
{
    SpiceServer *s = client->server;
    bool was_main = client->main_cc == cc;
    client_ref(client);
    g_ptr_array_remove(client->ccs, cc);
    if (was_main) {
        client->main_cc = NULL;
        client_destroy(client, "main channel disconnected");
        if (s->config.exit_on_disconnect) {
            g_message("client disconnected and exit-on-disconnect is set: exiting");
            server_prepare_exit(s);
            exit(0);
        }
    }
    client_unref(client);
}
