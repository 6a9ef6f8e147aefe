/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * auth-ticket.c: RSA-1024 link keys, ticket decryption, and a small pool
 * of keys generated ahead of time.
 */
#include "auth-ticket.h"

#include <string.h>

#include <gio/gio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

struct AuthKey {
    EVP_PKEY *pkey;
};

static void set_openssl_error(GError **error, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", what, e ? buf : "unknown error");
}

AuthKey *auth_key_new(GError **error)
{
    EVP_PKEY *pkey = EVP_RSA_gen(1024);
    if (!pkey) {
        set_openssl_error(error, "cannot generate an RSA-1024 key");
        return NULL;
    }
    AuthKey *key = g_new0(AuthKey, 1);
    key->pkey = pkey;
    return key;
}

void auth_key_free(AuthKey *key)
{
    if (key) {
        EVP_PKEY_free(key->pkey);
        g_free(key);
    }
}

bool auth_key_public_der(AuthKey *key, uint8_t out[162])
{
    int len = i2d_PUBKEY(key->pkey, NULL);
    if (len != 162) {
        return false;
    }
    unsigned char *p = out;
    return i2d_PUBKEY(key->pkey, &p) == 162;
}

bool auth_key_decrypt_ticket(AuthKey *key, const uint8_t *ticket, size_t ticket_len, char *password,
                             size_t max)
{
    unsigned char plain[512];
    size_t plain_len = sizeof(plain);
    bool ok = false;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(key->pkey, NULL);
    if (ctx && EVP_PKEY_decrypt_init(ctx) > 0 &&
        EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
        EVP_PKEY_decrypt(ctx, plain, &plain_len, ticket, ticket_len) > 0) {
        /* The client encrypts the password with its NUL; be lenient about
         * a missing terminator but never read past what was decrypted. */
        size_t n = strnlen((const char *)plain, plain_len);
        if (n < max) {
            memcpy(password, plain, n);
            password[n] = '\0';
            ok = true;
        }
    }
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_cleanse(plain, sizeof(plain));
    return ok;
}

bool auth_password_equal(const char *a, const char *b)
{
    /* Fixed-size comparison: length and content differences take the same
     * time. Passwords are at most 60 characters. */
    char pa[64] = { 0 }, pb[64] = { 0 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= sizeof(pa) || lb >= sizeof(pb)) {
        return false;
    }
    memcpy(pa, a, la);
    memcpy(pb, b, lb);
    bool equal = CRYPTO_memcmp(pa, pb, sizeof(pa)) == 0;
    OPENSSL_cleanse(pa, sizeof(pa));
    OPENSSL_cleanse(pb, sizeof(pb));
    return equal;
}

/* ---- pool ------------------------------------------------------------------ */

struct AuthKeyPool {
    GMutex lock;
    GCond cond;
    GQueue keys;
    unsigned target;
    bool stop;
    GThread *thread;
};

static gpointer pool_thread(gpointer opaque)
{
    AuthKeyPool *pool = opaque;
    g_mutex_lock(&pool->lock);
    while (!pool->stop) {
        if (pool->keys.length >= pool->target) {
            g_cond_wait(&pool->cond, &pool->lock);
            continue;
        }
        g_mutex_unlock(&pool->lock);
        AuthKey *key = auth_key_new(NULL);
        g_mutex_lock(&pool->lock);
        if (!key) {
            /* Keys cannot be made here (FIPS?): links will report it. */
            break;
        }
        g_queue_push_tail(&pool->keys, key);
    }
    g_mutex_unlock(&pool->lock);
    return NULL;
}

/* A host may exit() without destroying its server (QEMU does when a
 * device fails to start). OpenSSL frees its state from an exit handler,
 * and a pool thread still making a key would then crash: OpenSSL calls
 * the handlers given to OPENSSL_atexit() first, and ours stops every
 * pool thread. */
static GMutex live_pools_lock;
static GList *live_pools;

static void pool_stop_thread(AuthKeyPool *pool)
{
    g_mutex_lock(&pool->lock);
    pool->stop = true;
    g_cond_signal(&pool->cond);
    g_mutex_unlock(&pool->lock);
    if (pool->thread) {
        g_thread_join(pool->thread);
        pool->thread = NULL;
    }
}

static void stop_pools_at_exit(void)
{
    g_mutex_lock(&live_pools_lock);
    for (GList *l = live_pools; l; l = l->next) {
        pool_stop_thread(l->data);
    }
    g_mutex_unlock(&live_pools_lock);
}

AuthKeyPool *auth_key_pool_new(unsigned target)
{
    static gsize exit_hook;
    if (g_once_init_enter(&exit_hook)) {
        if (!OPENSSL_atexit(stop_pools_at_exit)) {
            g_warning("OPENSSL_atexit failed: a host that exits while a link key is being "
                      "made may crash");
        }
        g_once_init_leave(&exit_hook, 1);
    }
    AuthKeyPool *pool = g_new0(AuthKeyPool, 1);
    g_mutex_init(&pool->lock);
    g_cond_init(&pool->cond);
    g_queue_init(&pool->keys);
    pool->target = target;
    if (target > 0) {
        g_mutex_lock(&live_pools_lock);
        pool->thread = g_thread_new("spice-keygen", pool_thread, pool);
        live_pools = g_list_prepend(live_pools, pool);
        g_mutex_unlock(&live_pools_lock);
    }
    return pool;
}

AuthKey *auth_key_pool_take(AuthKeyPool *pool, GError **error)
{
    g_mutex_lock(&pool->lock);
    AuthKey *key = g_queue_pop_head(&pool->keys);
    g_cond_signal(&pool->cond);
    g_mutex_unlock(&pool->lock);
    return key ? key : auth_key_new(error);
}

void auth_key_pool_free(AuthKeyPool *pool)
{
    if (!pool) {
        return;
    }
    g_mutex_lock(&live_pools_lock);
    live_pools = g_list_remove(live_pools, pool);
    g_mutex_unlock(&live_pools_lock);
    pool_stop_thread(pool);
    g_queue_clear_full(&pool->keys, (GDestroyNotify)auth_key_free);
    g_mutex_clear(&pool->lock);
    g_cond_clear(&pool->cond);
    g_free(pool);
}
