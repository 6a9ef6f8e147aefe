/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tls.h: the server's TLS context, made at spice_server_init from what
 * spice_server_set_tls stored.
 */
#ifndef SPICECORE_TLS_H_
#define SPICECORE_TLS_H_

#include <openssl/ssl.h>

#include "server.h"

/* A server context for the configured files: TLS 1.2 or newer, no
 * compression, no renegotiation (CVE-2021-20201). NULL, with a log line
 * naming the file and OpenSSL's reason, when anything is unusable. */
SSL_CTX *tls_server_context(const ServerConfig *c);
/* OpenSSL's last queued error as text (the queue is emptied); "" when
 * there is none. */
void tls_last_error(char *buf, size_t size);

#endif /* SPICECORE_TLS_H_ */
