/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sasl-auth.h: the server side of SASL authentication (cyrus-sasl) for
 * the link (see link.c), built when HAVE_SASL.
 *
 * Security properties as the reference sets them: over TLS the TLS
 * cipher's strength is the external SSF and any mechanism the
 * configuration lists is offered; over plain TCP (or a WebSocket on it)
 * an SSF of at least 56 is required and plaintext and anonymous
 * mechanisms are refused, so in practice DIGEST-MD5 (or GSSAPI), with a
 * security layer on every byte afterwards (stream.c).
 */
#ifndef SPICECORE_SASL_AUTH_H_
#define SPICECORE_SASL_AUTH_H_

#ifdef HAVE_SASL

#include <stdbool.h>
#include <stdint.h>

#include "spice-server/spice.h"

/* Client steps and mechanism names: the reference's bounds. */
#define SASL_AUTH_MAX_DATA     (1024 * 1024)
#define SASL_AUTH_MAX_MECHNAME 100

typedef struct SaslAuth SaslAuth;

typedef enum {
    SASL_AUTH_CONTINUE, /* send the server data, then read the next step */
    SASL_AUTH_DONE,     /* send the server data; authenticated */
    SASL_AUTH_FAILED,   /* wrong credentials or broken exchange: *why */
    SASL_AUTH_WEAK,     /* authenticated, but below the SSF required */
} SaslAuthResult;

/* Process-wide: cyrus-sasl with this application name (its
 * configuration is APPNAME.conf); once. False (logged) on failure. */
bool sasl_auth_global_init(const char *appname);

/* A new exchange for a connection (info: its addresses; tls_bits: the
 * TLS cipher's bits, 0 without TLS). NULL, logged, when SASL cannot
 * serve it. *mechlist is ",MECH,MECH," and lives as long as the auth. */
SaslAuth *sasl_auth_new(const SpiceChannelEventInfo *info, int tls_bits, const char **mechlist);
/* Whether the client's choice is one of those offered. */
bool sasl_auth_offers(const SaslAuth *a, const char *mech);
/* The first step (mech given) or the next (mech NULL). data is the
 * client's bytes as sent (the wire's trailing NUL included, and written
 * over with one in case the client left it out; NULL, 0 for none). out, out_len: what to answer,
 * valid until the next call. */
SaslAuthResult sasl_auth_step(SaslAuth *a, const char *mech, uint8_t *data, uint32_t len,
                              const char **out, unsigned *out_len, const char **why);
/* After DONE: the connection, when every byte must now go through its
 * security layer (stream_sasl_layer takes it), else NULL. */
void *sasl_auth_take_layer(SaslAuth *a);
const char *sasl_auth_username(const SaslAuth *a);
void sasl_auth_free(SaslAuth *a);

#endif /* HAVE_SASL */

#endif /* SPICECORE_SASL_AUTH_H_ */
