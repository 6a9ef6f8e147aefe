/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sasl-auth.c: SASL authentication for the link (see sasl-auth.h).
 */
#ifdef HAVE_SASL

#include "sasl-auth.h"

#include <netdb.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>
#include <sasl/sasl.h>

struct SaslAuth {
    sasl_conn_t *conn;
    const char *mechlist;
    bool want_ssf; /* no TLS: the mechanism must bring a layer */
    bool layer;    /* DONE with an SSF: the stream is wrapped */
};

bool sasl_auth_global_init(const char *appname)
{
    static gsize once;
    static bool ok;
    if (g_once_init_enter(&once)) {
        int err = sasl_server_init(NULL, appname ? appname : "spice");
        ok = err == SASL_OK;
        if (!ok) {
            g_warning("SASL: cannot initialise cyrus-sasl: %s", sasl_errstring(err, NULL, NULL));
        }
        g_once_init_leave(&once, 1);
    }
    return ok;
}

/* "host;port", as cyrus-sasl wants the addresses (NULL for unix sockets). */
static char *sasl_addr(const struct sockaddr_storage *ss, socklen_t len)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (len == 0 || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6) ||
        getnameinfo((const struct sockaddr *)ss, len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        return NULL;
    }
    return g_strdup_printf("%s;%s", host, serv);
}

SaslAuth *sasl_auth_new(const SpiceChannelEventInfo *info, int tls_bits, const char **mechlist)
{
    g_autofree char *local = sasl_addr(&info->laddr_ext, info->llen_ext);
    g_autofree char *remote = sasl_addr(&info->paddr_ext, info->plen_ext);
    SaslAuth *a = g_new0(SaslAuth, 1);
    int err =
        sasl_server_new("spice", NULL, NULL, local, remote, NULL, SASL_SUCCESS_DATA, &a->conn);
    if (err != SASL_OK) {
        g_warning("SASL: cannot start an exchange: %s", sasl_errstring(err, NULL, NULL));
        g_free(a);
        return NULL;
    }
    sasl_security_properties_t props = { .maxbufsize = 8192 };
    if (tls_bits > 0) {
        sasl_ssf_t ssf = (sasl_ssf_t)tls_bits;
        err = sasl_setprop(a->conn, SASL_SSF_EXTERNAL, &ssf);
    } else {
        a->want_ssf = true;
        props.min_ssf = 56;
        props.max_ssf = 100000;
        props.security_flags = SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT;
    }
    if (err == SASL_OK) {
        err = sasl_setprop(a->conn, SASL_SEC_PROPS, &props);
    }
    if (err == SASL_OK) {
        err = sasl_listmech(a->conn, NULL, ",", ",", ",", &a->mechlist, NULL, NULL);
    }
    if (err != SASL_OK || !a->mechlist) {
        g_warning("SASL: no mechanism to offer: %s", sasl_errdetail(a->conn));
        sasl_auth_free(a);
        return NULL;
    }
    *mechlist = a->mechlist;
    return a;
}

bool sasl_auth_offers(const SaslAuth *a, const char *mech)
{
    if (!mech[0] || strchr(mech, ',')) {
        return false;
    }
    g_autofree char *quoted = g_strdup_printf(",%s,", mech);
    return strstr(a->mechlist, quoted) != NULL;
}

SaslAuthResult sasl_auth_step(SaslAuth *a, const char *mech, uint8_t *data, uint32_t len,
                              const char **out, unsigned *out_len, const char **why)
{
    /* On the wire a step carries its trailing NUL; cyrus-sasl gets the
     * bytes before it (NULL and "" differ for it). */
    const char *in = NULL;
    unsigned in_len = 0;
    if (len) {
        data[len - 1] = '\0';
        in = (const char *)data;
        in_len = len - 1;
    }
    int err = mech ? sasl_server_start(a->conn, mech, in, in_len, out, out_len)
                   : sasl_server_step(a->conn, in, in_len, out, out_len);
    if (err != SASL_OK && err != SASL_CONTINUE) {
        *why = sasl_errdetail(a->conn);
        return SASL_AUTH_FAILED;
    }
    if (*out_len > SASL_AUTH_MAX_DATA) {
        *why = "the server's step would exceed 1 MiB";
        return SASL_AUTH_FAILED;
    }
    if (err == SASL_CONTINUE) {
        return SASL_AUTH_CONTINUE;
    }
    if (a->want_ssf) {
        const void *v = NULL;
        if (sasl_getprop(a->conn, SASL_SSF, &v) != SASL_OK || !v || *(const sasl_ssf_t *)v < 56) {
            *why = "the mechanism gives no security layer of 56 bits or more";
            return SASL_AUTH_WEAK;
        }
        a->layer = true;
    }
    return SASL_AUTH_DONE;
}

void *sasl_auth_take_layer(SaslAuth *a)
{
    if (!a->layer) {
        return NULL;
    }
    sasl_conn_t *conn = a->conn;
    a->conn = NULL;
    return conn;
}

const char *sasl_auth_username(const SaslAuth *a)
{
    const void *v = NULL;
    if (!a->conn || sasl_getprop(a->conn, SASL_USERNAME, &v) != SASL_OK) {
        return NULL;
    }
    return v;
}

void sasl_auth_free(SaslAuth *a)
{
    if (!a) {
        return;
    }
    if (a->conn) {
        sasl_dispose(&a->conn);
    }
    g_free(a);
}

#endif /* HAVE_SASL */
