/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * server-config.h: what server-config.c offers the other modules besides
 * the public setters: the ticket decision.
 */
#ifndef SPICECORE_SERVER_CONFIG_H_
#define SPICECORE_SERVER_CONFIG_H_

#include "server.h"

/* Check a decrypted password against the ticket settings. Returns NULL
 * when accepted or a static reason string. */
const char *server_config_check_ticket(SpiceServer *s, const char *password, bool skip_auth);
/* Forget the TLS settings (the key password is wiped). */
void server_config_clear_tls(ServerConfig *c);

#endif /* SPICECORE_SERVER_CONFIG_H_ */
