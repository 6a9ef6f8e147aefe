/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * tls.c: the server's TLS context (see tls.h).
 *
 * As the reference sets it up: the certificate chain, the private key
 * (with its password), the CA file loaded as verify locations, optional
 * DH parameters and cipher list, session id context "SPICE"; stricter
 * where it matters: TLS 1.2 at least, renegotiation off, an unexpected
 * EOF read as an ordinary end.
 */
#include "tls.h"

#include <string.h>

#include <openssl/dh.h>
#include <openssl/err.h>
#include <openssl/pem.h>

void tls_last_error(char *buf, size_t size)
{
    unsigned long e, last = 0;
    while ((e = ERR_get_error()) != 0) {
        last = e;
    }
    buf[0] = '\0';
    if (last) {
        ERR_error_string_n(last, buf, size);
    }
}

static void log_tls_failure(const char *what, const char *file)
{
    char reason[200];
    tls_last_error(reason, sizeof(reason));
    g_warning("TLS: %s%s%s%s%s", what, file ? " " : "", file ? file : "", reason[0] ? ": " : "",
              reason);
}

static int password_cb(char *buf, int size, int rwflag, void *userdata)
{
    (void)rwflag;
    const char *pass = userdata;
    size_t n = pass ? strlen(pass) : 0;
    if (n >= (size_t)size) {
        return 0;
    }
    memcpy(buf, pass ? pass : "", n + 1);
    return (int)n;
}

static bool load_dh(SSL_CTX *ctx, const char *path)
{
    BIO *bio = BIO_new_file(path, "r");
    if (!bio) {
        log_tls_failure("cannot open the DH parameters file", path);
        return false;
    }
    EVP_PKEY *dh = PEM_read_bio_Parameters(bio, NULL);
    BIO_free(bio);
    if (!dh) {
        log_tls_failure("cannot read DH parameters from", path);
        return false;
    }
    if (!SSL_CTX_set0_tmp_dh_pkey(ctx, dh)) {
        EVP_PKEY_free(dh);
        log_tls_failure("cannot use the DH parameters of", path);
        return false;
    }
    return true;
}

SSL_CTX *tls_server_context(const ServerConfig *c)
{
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        log_tls_failure("cannot create a context", NULL);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"SPICE", 5);
    SSL_CTX_set_default_passwd_cb(ctx, password_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx, c->tls_key_password);
    if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_certs_file) != 1) {
        log_tls_failure("cannot load the certificate chain", c->tls_certs_file);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_private_key_file, SSL_FILETYPE_PEM) != 1) {
        log_tls_failure("cannot use the private key", c->tls_private_key_file);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        log_tls_failure("the private key does not match the certificate", c->tls_private_key_file);
        goto fail;
    }
    if (SSL_CTX_load_verify_locations(ctx, c->tls_ca_cert_file, NULL) != 1) {
        log_tls_failure("cannot load the CA certificate", c->tls_ca_cert_file);
        goto fail;
    }
    if (c->tls_dh_key_file && c->tls_dh_key_file[0]) {
        if (!load_dh(ctx, c->tls_dh_key_file)) {
            goto fail;
        }
    } else {
        SSL_CTX_set_dh_auto(ctx, 1);
    }
    if (c->tls_ciphersuite && c->tls_ciphersuite[0] &&
        SSL_CTX_set_cipher_list(ctx, c->tls_ciphersuite) != 1) {
        g_warning("TLS: the cipher list '%s' matches no cipher", c->tls_ciphersuite);
        goto fail;
    }
    return ctx;

fail:
    SSL_CTX_free(ctx);
    return NULL;
}
