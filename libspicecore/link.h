/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * link.h: the link handshake of every new connection (see link.c), on
 * the host's thread.
 */
#ifndef SPICECORE_LINK_H_
#define SPICECORE_LINK_H_

#include "server.h"

/* Start the link handshake on a connected socket (takes ownership);
 * tls: the TLS handshake comes first. */
void link_start(SpiceServer *s, int fd, bool skip_auth, bool tls);
/* Drop every handshake in progress. */
void link_free_all(SpiceServer *s);

#endif /* SPICECORE_LINK_H_ */
