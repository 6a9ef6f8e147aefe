/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * net.h: listening sockets (TCP over IPv4/IPv6, unix path or abstract,
 * a host-provided fd) and the options every client socket gets. Host
 * thread only.
 */
#ifndef SPICECORE_NET_H_
#define SPICECORE_NET_H_

#include "server.h"

/* Listen as configured (port, address, flags, listen fd); false (logged)
 * when a socket cannot be opened. */
bool net_start_listening(SpiceServer *s);
void net_stop_listening(SpiceServer *s);
/* Configure an accepted or host-provided client socket (non-blocking,
 * TCP_NODELAY, keep-alive, close-on-exec). */
bool net_setup_client_socket(int fd);
/* Fill laddr_ext/paddr_ext (and the old short fields) of info for fd. */
void net_fill_event_info(int fd, SpiceChannelEventInfo *info);
/* "127.0.0.1:5900" / "[::1]:5900" / "unix:/path"; g_free the result. */
char *net_describe_peer(int fd);

#endif /* SPICECORE_NET_H_ */
