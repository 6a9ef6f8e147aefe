/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * auth-ticket.h: the SPICE ticket authentication. Each link gets a fresh
 * RSA-1024 key; the client encrypts its password with RSA-OAEP (SHA-1)
 * under the public key and the server decrypts it.
 */
#ifndef SPICECORE_AUTH_TICKET_H_
#define SPICECORE_AUTH_TICKET_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <glib.h>

typedef struct AuthKey AuthKey;

/* A new key; NULL (with *error) if OpenSSL cannot make one (FIPS). */
AuthKey *auth_key_new(GError **error);
void auth_key_free(AuthKey *key);

/* DER SubjectPublicKeyInfo of the key: exactly 162 bytes for RSA-1024. */
bool auth_key_public_der(AuthKey *key, uint8_t out[162]);

/* Decrypt a 128-byte ticket into a NUL-terminated password (at most
 * max - 1 characters). Returns false when decryption fails. */
bool auth_key_decrypt_ticket(AuthKey *key, const uint8_t *ticket, size_t ticket_len, char *password,
                             size_t max);

/* Compare two passwords without leaking the position of a difference. */
bool auth_password_equal(const char *a, const char *b);

/* Keys are generated ahead of use on a background thread so a link does
 * not wait ~8 ms per key on the host's thread. Each key is used once and
 * never stored after its link. One pool per server. */
typedef struct AuthKeyPool AuthKeyPool;

AuthKeyPool *auth_key_pool_new(unsigned target);
/* Any thread. A fresh key: from the pool, or generated in place when the
 * pool is empty. */
AuthKey *auth_key_pool_take(AuthKeyPool *pool, GError **error);
void auth_key_pool_free(AuthKeyPool *pool);

#endif /* SPICECORE_AUTH_TICKET_H_ */
