/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * agent.h: the guest agent (vdagent) relay of the main plugin: the
 * "vdagent" char device on one side, the main channel's AGENT_* messages
 * on the other (see agent.c).
 */
#ifndef SPICE_PLUGINS_MAIN_AGENT_H_
#define SPICE_PLUGINS_MAIN_AGENT_H_

#include <stdbool.h>
#include <stdint.h>

#include "spice-plugin.h"

/* Tokens the server grants a client: AGENT_DATA messages it may send
 * before the server returns tokens (MAIN_INIT, AGENT_CONNECTED_TOKENS). */
#define AGENT_CLIENT_TOKENS 64

typedef struct Agent Agent;

Agent *agent_new(SpicePlugin *plugin, const SpiceHostServices *host);
void agent_free(Agent *a);

/* The host's "vdagent" char device (QEMU adds it when the guest opens
 * com.redhat.spice.0, removes it when the guest closes it). */
int agent_device_add(Agent *a, SpiceCharDeviceInstance *sin);
void agent_device_remove(Agent *a);
void agent_device_wakeup(Agent *a);
bool agent_device_present(const Agent *a);

/* The main channel's client came (after INIT) or went. */
void agent_client_connected(Agent *a, SpiceChannelClient *cc);
void agent_client_disconnected(Agent *a);
/* AGENT_START, AGENT_DATA, AGENT_TOKEN from the client. 0, or a negative
 * errno that disconnects the client (logged). */
int agent_client_message(Agent *a, uint16_t type, const uint8_t *body, uint32_t size);
/* The client's queue has room again. */
void agent_client_produce(Agent *a);

#endif /* SPICE_PLUGINS_MAIN_AGENT_H_ */
