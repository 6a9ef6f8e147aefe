/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-transport.c: TLS and WebSocket under the link, with our client
 * over real 127.0.0.1 sockets: a real CA and server certificate made by
 * tests/tls/make-certs.sh, the TLS port and spice_server_add_ssl_client,
 * per-channel security, the key password, bad files, hostile bytes, a
 * stalled handshake, renegotiation (CVE-2021-20201), and WebSocket on the
 * plain and the TLS port with every framing rule broken once.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "spice-plugin-wire.h"

#include "common/test-client.h"
#include "common/test-server.h"

static char *cert_dir;

typedef struct TlsSetup {
    int port;
    const char *key;      /* file name in cert_dir */
    const char *password; /* key password */
    const char *certs;    /* default server-cert.pem */
    const char *secure;   /* a channel made secure-only */
    const char *insecure; /* a channel made plain-only */
} TlsSetup;

static char *cert_path(const char *name)
{
    return g_build_filename(cert_dir, name, NULL);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    getsockname(fd, (struct sockaddr *)&sin, &len);
    close(fd);
    return ntohs(sin.sin_port);
}

static void setup_tls(SpiceServer *s, void *opaque)
{
    TlsSetup *t = opaque;
    spice_server_set_addr(s, "127.0.0.1", 0); /* where the TLS port listens */
    g_autofree char *ca = cert_path("ca-cert.pem");
    g_autofree char *certs = cert_path(t->certs ? t->certs : "server-cert.pem");
    g_autofree char *key = cert_path(t->key ? t->key : "server-key.pem");
    g_assert_cmpint(spice_server_set_tls(s, t->port, ca, certs, key, t->password, NULL, NULL), ==,
                    0);
    if (t->secure) {
        g_assert_cmpint(spice_server_set_channel_security(s, t->secure, SPICE_CHANNEL_SECURITY_SSL),
                        ==, 0);
    }
    if (t->insecure) {
        g_assert_cmpint(
            spice_server_set_channel_security(s, t->insecure, SPICE_CHANNEL_SECURITY_NONE), ==, 0);
    }
}

static TestServer *start_tls(TlsSetup *t)
{
    t->port = free_port();
    TestServerConfig config = { .setup = setup_tls, .opaque = t };
    return test_server_start(&config);
}

static TestClient *tls_client(int port, const char *ca_name)
{
    TestClient *c = test_client_connect(port);
    g_assert_nonnull(c);
    g_autofree char *ca = ca_name ? cert_path(ca_name) : NULL;
    g_autofree char *error = NULL;
    if (!test_client_start_tls(c, ca, false, &error)) {
        g_test_message("TLS handshake failed: %s", error);
        test_client_free(c);
        return NULL;
    }
    return c;
}

/* Link the main channel and wait for MAIN_INIT. */
static bool link_main(TestClient *c)
{
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN };
    if (!test_client_link(c, &p)) {
        return false;
    }
    uint8_t *body;
    uint32_t size;
    if (!test_client_wait_for(c, SPICE_MSG_MAIN_INIT, &body, &size)) {
        return false;
    }
    g_free(body);
    return true;
}

/* The server still links a plain client: nothing above broke it. */
static void assert_serves(TestServer *ts)
{
    TestClient *c = test_client_connect(test_server_port(ts));
    g_assert_true(link_main(c));
    test_client_free(c);
}

/* ---- TLS ----------------------------------------------------------------------------- */

static void test_tls_link(void)
{
    TlsSetup t = { 0 };
    TestServer *ts = start_tls(&t);
    g_assert_nonnull(ts);
    TestClient *c = tls_client(t.port, "ca-cert.pem");
    g_assert_nonnull(c);
    g_assert_cmpstr(SSL_get_version(c->ssl), ==, "TLSv1.3");
    g_assert_true(link_main(c));
    /* The host hears of a TLS channel. */
    g_assert_true(test_server_expect_event(ts, "channel initialized 1 0 tls", 2000));
    /* And a plain client on the plain port, side by side. */
    assert_serves(ts);
    test_client_free(c);
    /* TLS 1.2 clients are served too. */
    c = test_client_connect(t.port);
    g_autofree char *ca = cert_path("ca-cert.pem");
    g_autofree char *error = NULL;
    g_assert_true(test_client_start_tls(c, ca, true, &error));
    g_assert_cmpstr(SSL_get_version(c->ssl), ==, "TLSv1.2");
    g_assert_true(link_main(c));
    test_client_free(c);
    test_server_stop(ts);
}

typedef struct SockInfo {
    int rc, peer_rc;
    struct sockaddr_storage local, peer;
} SockInfo;

static void get_sock_info(TestServer *ts, void *opaque)
{
    SockInfo *si = opaque;
    socklen_t len = sizeof(si->local);
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    si->rc = spice_server_get_sock_info(test_server_get(ts), (struct sockaddr *)&si->local, &len);
    len = sizeof(si->peer);
    si->peer_rc =
        spice_server_get_peer_info(test_server_get(ts), (struct sockaddr *)&si->peer, &len);
    G_GNUC_END_IGNORE_DEPRECATIONS
}

/* get_sock_info / get_peer_info name the TLS connection of the main
 * channel: the TLS port on our side. */
static void test_tls_sock_info(void)
{
    TlsSetup t = { 0 };
    TestServer *ts = start_tls(&t);
    TestClient *c = tls_client(t.port, "ca-cert.pem");
    g_assert_true(link_main(c));
    SockInfo si;
    test_server_call(ts, get_sock_info, &si);
    g_assert_cmpint(si.rc, ==, 0);
    g_assert_cmpint(si.peer_rc, ==, 0);
    g_assert_cmpint(si.local.ss_family, ==, AF_INET);
    g_assert_cmpuint(ntohs(((struct sockaddr_in *)&si.local)->sin_port), ==, (unsigned)t.port);
    struct sockaddr_in mine;
    socklen_t len = sizeof(mine);
    getsockname(c->fd, (struct sockaddr *)&mine, &len);
    g_assert_cmpuint(((struct sockaddr_in *)&si.peer)->sin_port, ==, mine.sin_port);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_tls_wrong_ca(void)
{
    TlsSetup t = { 0 };
    TestServer *ts = start_tls(&t);
    g_assert_null(tls_client(t.port, "other-ca-cert.pem"));
    assert_serves(ts);
    test_server_stop(ts);
}

static void test_tls_old_versions_refused(void)
{
    TlsSetup t = { 0 };
    TestServer *ts = start_tls(&t);
    TestClient *c = test_client_connect(t.port);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
    SSL *ssl = SSL_new(ctx);
    SSL_set_fd(ssl, c->fd);
    g_assert_cmpint(SSL_connect(ssl), !=, 1);
    ERR_clear_error();
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_tls_channel_security(void)
{
    TlsSetup t = { .secure = "main", .insecure = "inputs" };
    TestServer *ts = start_tls(&t);
    /* Plain to a secure channel: NEED_SECURED (the client retries on TLS). */
    TestClient *c = test_client_connect(test_server_port(ts));
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN };
    g_assert_false(test_client_link(c, &p));
    g_assert_cmpuint(c->link_error, ==, SPICE_LINK_ERR_NEED_SECURED);
    test_client_free(c);
    c = tls_client(t.port, "ca-cert.pem");
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_link(c, &p));
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_INIT, &body, &size));
    uint32_t session = spice_wire_get_u32(body);
    g_free(body);
    /* TLS to a plain-only channel: NEED_UNSECURED; plain works. */
    TestClient *in = tls_client(t.port, "ca-cert.pem");
    TestLinkParams pi = { .channel_type = SPICE_CHANNEL_INPUTS, .connection_id = session };
    g_assert_false(test_client_link(in, &pi));
    g_assert_cmpuint(in->link_error, ==, SPICE_LINK_ERR_NEED_UNSECURED);
    test_client_free(in);
    in = test_client_connect(test_server_port(ts));
    g_assert_true(test_client_link(in, &pi));
    test_client_free(in);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_tls_key_password(void)
{
    TlsSetup t = { .key = "server-key-enc.pem", .password = "secret" };
    TestServer *ts = start_tls(&t);
    g_assert_nonnull(ts);
    TestClient *c = tls_client(t.port, "ca-cert.pem");
    g_assert_true(link_main(c));
    test_client_free(c);
    test_server_stop(ts);
}

static void test_tls_bad_files(void)
{
    /* A wrong key password, a missing certificate, a key that is not the
     * certificate's: spice_server_init fails, saying which file. */
    TlsSetup wrong = { .key = "server-key-enc.pem", .password = "wrong" };
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, "*private key*server-key-enc.pem*");
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, "*TLS settings cannot be used*");
    g_assert_null(start_tls(&wrong));
    g_test_assert_expected_messages();
    TlsSetup missing = { .certs = "no-such-cert.pem" };
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, "*certificate chain*no-such-cert*");
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, "*TLS settings cannot be used*");
    g_assert_null(start_tls(&missing));
    g_test_assert_expected_messages();
    TlsSetup mismatch = { .key = "other-ca-key.pem" };
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "*private key*other-ca-key.pem*mismatch*");
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, "*TLS settings cannot be used*");
    g_assert_null(start_tls(&mismatch));
    g_test_assert_expected_messages();
}

static void test_tls_garbage(void)
{
    TlsSetup t = { 0 };
    TestServer *ts = start_tls(&t);
    /* Not TLS at all, and a TLS record header with a huge length followed
     * by nothing sensible: both end in a disconnect. */
    const char *garbage[] = { "REDQ\x02\0\0\0\x02\0\0\0", "\x16\x03\x01\xff\xff"
                                                          "0123456789abcdef" };
    for (unsigned i = 0; i < G_N_ELEMENTS(garbage); i++) {
        TestClient *c = test_client_connect(t.port);
        g_assert_true(test_client_write(c, garbage[i], strlen(garbage[i]) + 1));
        if (i == 1) {
            shutdown(c->fd, SHUT_WR); /* a truncated record */
        }
        g_assert_true(test_client_wait_closed(c, 5000));
        test_client_free(c);
    }
    TestClient *c = tls_client(t.port, "ca-cert.pem");
    g_assert_true(link_main(c));
    test_client_free(c);
    test_server_stop(ts);
}

/* A client that sends its ClientHello a byte at a time, slowly, while
 * another one links: the host thread never waits for the slow one. */
static void test_tls_slow_handshake(void)
{
    TlsSetup t = { 0 };
    TestServer *ts = start_tls(&t);
    TestClient *slow = test_client_connect(t.port);
    const uint8_t hello_start[] = { 0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00 };
    for (unsigned i = 0; i < sizeof(hello_start); i++) {
        g_assert_true(test_client_write(slow, hello_start + i, 1));
        int64_t t0 = g_get_monotonic_time();
        TestClient *c = tls_client(t.port, "ca-cert.pem");
        g_assert_true(link_main(c));
        test_client_free(c);
        /* Far below the pace of the slow client. */
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 2 * G_USEC_PER_SEC);
        g_usleep(100 * 1000);
    }
    test_client_free(slow);
    test_server_stop(ts);
}

/* CVE-2021-20201: client-initiated renegotiation made the reference
 * spend CPU on handshakes without end. Refused here: the attempt fails
 * and the connection goes, whatever the client does next. */
static void test_tls_cve_2021_20201_renegotiation(void)
{
    TlsSetup t = { 0 };
    TestServer *ts = start_tls(&t);
    for (int i = 0; i < 3; i++) {
        TestClient *c = test_client_connect(t.port);
        g_autofree char *ca = cert_path("ca-cert.pem");
        g_autofree char *error = NULL;
        g_assert_true(test_client_start_tls(c, ca, true, &error));
        TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN };
        g_assert_true(test_client_link(c, &p));
        g_assert_cmpint(SSL_renegotiate(c->ssl), ==, 1);
        /* The client sends its ClientHello; the server answers with the
         * no_renegotiation alert instead of a handshake. */
        int64_t t0 = g_get_monotonic_time();
        g_assert_cmpint(SSL_do_handshake(c->ssl), !=, 1);
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * G_USEC_PER_SEC);
        g_assert_true(test_client_wait_closed(c, 5000));
        ERR_clear_error();
        test_client_free(c);
    }
    TestClient *c = tls_client(t.port, "ca-cert.pem");
    g_assert_true(link_main(c));
    test_client_free(c);
    test_server_stop(ts);
}

static void add_ssl_client(TestServer *ts, void *opaque)
{
    int fd = GPOINTER_TO_INT(opaque);
    g_assert_cmpint(spice_server_add_ssl_client(test_server_get(ts), fd, 1), ==, 0);
}

static void test_tls_add_ssl_client(void)
{
    TlsSetup t = { 0 };
    TestServer *ts = start_tls(&t);
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    test_server_call(ts, add_ssl_client, GINT_TO_POINTER(sv[0]));
    TestClient *c = g_new0(TestClient, 1);
    c->fd = sv[1];
    g_autofree char *ca = cert_path("ca-cert.pem");
    g_autofree char *error = NULL;
    g_assert_true(test_client_start_tls(c, ca, false, &error));
    g_assert_true(link_main(c));
    test_client_free(c);
    test_server_stop(ts);
}

/* ---- WebSocket ----------------------------------------------------------------------- */

static void test_websocket_link(void)
{
    TlsSetup t = { 0 };
    TestServer *ts = start_tls(&t);
    /* ws:// on the plain port. */
    TestClient *c = test_client_connect(test_server_port(ts));
    g_assert_true(test_client_start_websocket(c));
    g_assert_true(link_main(c));
    TestClient *c2 = test_client_connect(test_server_port(ts));
    g_assert_true(test_client_start_websocket(c2));
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_INPUTS };
    g_assert_false(test_client_link(c2, &p)); /* no session 0: the error comes back framed */
    g_assert_cmpuint(c2->link_result, ==, SPICE_LINK_ERR_BAD_CONNECTION_ID);
    test_client_free(c2);
    test_client_free(c);
    /* wss:// on the TLS port. */
    c = tls_client(t.port, "ca-cert.pem");
    g_assert_true(test_client_start_websocket(c));
    g_assert_true(link_main(c));
    test_client_free(c);
    test_server_stop(ts);
}

static const uint8_t mask[4] = { 1, 2, 3, 4 };

/* The link message split across frames: a fragmented message with a
 * ping in its middle, and a zero-length frame. */
static void test_websocket_fragments_and_ping(void)
{
    TestServer *ts = test_server_start(NULL);
    TestClient *c = test_client_connect(test_server_port(ts));
    g_assert_true(test_client_start_websocket(c));
    c->websocket = false; /* frames by hand */
    uint8_t header[16];
    spice_wire_put_u32(header, SPICE_MAGIC);
    spice_wire_put_u32(header + 4, SPICE_VERSION_MAJOR);
    spice_wire_put_u32(header + 8, SPICE_VERSION_MINOR);
    spice_wire_put_u32(header + 12, 18);
    g_assert_true(test_client_write_frame(c, 0x02, mask, 5, header, 5));       /* start */
    g_assert_true(test_client_write_frame(c, 0x89, mask, 4, "ping", 4));       /* ping */
    g_assert_true(test_client_write_frame(c, 0x00, mask, 0, NULL, 0));         /* empty */
    g_assert_true(test_client_write_frame(c, 0x80, mask, 11, header + 5, 11)); /* end */
    uint8_t op;
    uint8_t *payload;
    size_t len;
    g_assert_true(test_client_read_frame(c, &op, &payload, &len));
    g_assert_cmpuint(op, ==, 0xa); /* the pong, with the ping's payload */
    g_assert_cmpmem(payload, len, "ping", 4);
    g_free(payload);
    test_client_free(c);
    test_server_stop(ts);
}

typedef struct HostileFrame {
    const char *what;
    uint8_t b0;
    bool masked;
    uint64_t len;
    size_t payload_len;
} HostileFrame;

static void test_websocket_hostile_frames(void)
{
    TestServer *ts = test_server_start(NULL);
    const HostileFrame frames[] = {
        { "unmasked", 0x82, false, 4, 4 },
        { "reserved bits", 0xc2, true, 4, 4 },
        { "text", 0x81, true, 4, 4 },
        { "opcode 3", 0x83, true, 4, 4 },
        { "opcode 11", 0x8b, true, 0, 0 },
        { "fragmented ping", 0x09, true, 4, 4 },
        { "long ping", 0x89, true, 126, 126 },
        { "continuation first", 0x80, true, 4, 4 },
        { "huge length", 0x82, true, 1ull << 40, 0 },
        { "top bit length", 0x82, true, 1ull << 63, 0 },
        { "just past the limit", 0x82, true, (16u << 20) + 1, 0 },
        { "1-byte close", 0x88, true, 1, 1 },
    };
    uint8_t payload[200] = { 0 };
    for (unsigned i = 0; i < G_N_ELEMENTS(frames); i++) {
        const HostileFrame *f = &frames[i];
        g_test_message("hostile frame: %s", f->what);
        TestClient *c = test_client_connect(test_server_port(ts));
        g_assert_true(test_client_start_websocket(c));
        g_assert_true(test_client_write_frame(c, f->b0, f->masked ? mask : NULL, f->len, payload,
                                              f->payload_len));
        /* A close with 1002 (protocol error), then the end. */
        uint8_t op;
        uint8_t *body;
        size_t len;
        g_assert_true(test_client_read_frame(c, &op, &body, &len));
        g_assert_cmpuint(op, ==, 0x8);
        g_assert_cmpuint(len, ==, 2);
        g_assert_cmpuint(body[0] << 8 | body[1], ==, 1002);
        g_free(body);
        g_assert_true(test_client_wait_closed(c, 5000));
        test_client_free(c);
    }
    /* A close from the client is answered with a close. */
    TestClient *c = test_client_connect(test_server_port(ts));
    g_assert_true(test_client_start_websocket(c));
    g_assert_true(test_client_write_frame(c, 0x88, mask, 2, "\x03\xe8", 2));
    uint8_t op;
    uint8_t *body;
    size_t len;
    g_assert_true(test_client_read_frame(c, &op, &body, &len));
    g_assert_cmpuint(op, ==, 0x8);
    g_assert_cmpmem(body, len, "\x03\xe8", 2);
    g_free(body);
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);
    assert_serves(ts);
    test_server_stop(ts);
}

static void expect_http_400(TestClient *c)
{
    char answer[64] = { 0 };
    g_assert_true(test_client_read(c, answer, 24));
    g_assert_cmpstr(answer, ==, "HTTP/1.1 400 Bad Request");
    g_assert_true(test_client_wait_closed(c, 5000));
}

static void test_websocket_bad_requests(void)
{
    TestServer *ts = test_server_start(NULL);
    const char *requests[] = {
        "GET / HTTP/1.1\r\n\r\n", /* no upgrade */
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n", /* no key */
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        "GET / HTTP/1.0\r\nUpgrade: websocket\r\n\r\n",
        "GET  HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\n bad fold\r\n\r\n",
        "GET / HTTP/1.1\r\nX\001: y\r\n\r\n",
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(requests); i++) {
        TestClient *c = test_client_connect(test_server_port(ts));
        g_assert_true(test_client_write(c, requests[i], strlen(requests[i])));
        expect_http_400(c);
        test_client_free(c);
    }
    /* A request that never ends: refused at 16 KiB, not buffered on.
     * Exactly the bound is sent, so the server read all of it (a close
     * with unread bytes would reset the connection under the answer). */
    TestClient *c = test_client_connect(test_server_port(ts));
    g_assert_true(test_client_write(c, "GET / HTTP/1.1\r\n", 16));
    char *filler = g_malloc(16384 - 16);
    memset(filler, 'a', 16384 - 16);
    g_assert_true(test_client_write(c, filler, 16384 - 16));
    g_free(filler);
    expect_http_400(c);
    test_client_free(c);
    assert_serves(ts);
    test_server_stop(ts);
}

/* ---- SASL ---------------------------------------------------------------------------- */

#ifdef HAVE_SASL
static char *sasl_dir;

static void setup_sasl(SpiceServer *s, void *opaque)
{
    (void)opaque;
    g_assert_cmpint(spice_server_set_sasl(s, 1), ==, 0);
}

/* Link header and message for main with the given common caps; the
 * reply is read: returns its error, *common its first common caps word,
 * *zero_key whether the RSA key is all zeroes. */
static uint32_t raw_sasl_link(TestClient *c, uint32_t common_caps, uint32_t *common, bool *zero_key)
{
    uint8_t msg[16 + 22];
    spice_wire_put_u32(msg, SPICE_MAGIC);
    spice_wire_put_u32(msg + 4, SPICE_VERSION_MAJOR);
    spice_wire_put_u32(msg + 8, SPICE_VERSION_MINOR);
    spice_wire_put_u32(msg + 12, 22);
    spice_wire_put_u32(msg + 16, 0); /* connection id */
    msg[20] = SPICE_CHANNEL_MAIN;
    msg[21] = 0;
    spice_wire_put_u32(msg + 22, 1);  /* common caps words */
    spice_wire_put_u32(msg + 26, 0);  /* channel caps words */
    spice_wire_put_u32(msg + 30, 18); /* caps offset */
    spice_wire_put_u32(msg + 34, common_caps);
    g_assert_true(test_client_write(c, msg, sizeof(msg)));
    uint8_t header[16];
    g_assert_true(test_client_read(c, header, sizeof(header)));
    uint32_t size = spice_wire_get_u32(header + 12);
    g_autofree uint8_t *reply = g_malloc(size);
    g_assert_true(test_client_read(c, reply, size));
    uint32_t error = spice_wire_get_u32(reply);
    if (error == 0) {
        *zero_key = true;
        for (int i = 0; i < 162; i++) {
            *zero_key &= reply[4 + i] == 0;
        }
        *common = spice_wire_get_u32(reply + spice_wire_get_u32(reply + 4 + 162 + 8));
    }
    return error;
}

static TestClient *sasl_started(TestServer *ts, char **mechlist)
{
    TestClient *c = test_client_connect(test_server_port(ts));
    uint32_t common;
    bool zero_key;
    uint32_t sasl_caps = 1u << SPICE_COMMON_CAP_PROTOCOL_AUTH_SELECTION |
                         1u << SPICE_COMMON_CAP_AUTH_SASL | 1u << SPICE_COMMON_CAP_MINI_HEADER;
    g_assert_cmpuint(raw_sasl_link(c, sasl_caps, &common, &zero_key), ==, 0);
    /* SASL only, and no RSA key for a client that will use it. */
    g_assert_cmphex(common, ==,
                    1u << SPICE_COMMON_CAP_PROTOCOL_AUTH_SELECTION |
                        1u << SPICE_COMMON_CAP_AUTH_SASL | 1u << SPICE_COMMON_CAP_MINI_HEADER);
    g_assert_true(zero_key);
    uint8_t mech[4];
    spice_wire_put_u32(mech, SPICE_COMMON_CAP_AUTH_SASL);
    g_assert_true(test_client_write(c, mech, 4));
    uint8_t len[4];
    g_assert_true(test_client_read(c, len, 4));
    uint32_t n = spice_wire_get_u32(len);
    g_assert_cmpuint(n, <, 300);
    *mechlist = g_malloc0(n + 1);
    g_assert_true(test_client_read(c, *mechlist, n));
    return c;
}

static TestServer *start_sasl(void)
{
    g_setenv("SASL_CONF_PATH", sasl_dir, TRUE);
    TestServerConfig config = { .setup = setup_sasl };
    return test_server_start(&config);
}

static void put_u32(TestClient *c, uint32_t v)
{
    uint8_t b[4];
    spice_wire_put_u32(b, v);
    g_assert_true(test_client_write(c, b, 4));
}

static uint32_t get_u32(TestClient *c)
{
    uint8_t b[4];
    g_assert_true(test_client_read(c, b, 4));
    return spice_wire_get_u32(b);
}

static void test_sasl_offer_and_refusals(void)
{
    TestServer *ts = start_sasl();
    g_assert_nonnull(ts);
    /* On plain TCP only DIGEST-MD5 qualifies (SSF >= 56, no plaintext). */
    g_autofree char *mechlist = NULL;
    TestClient *c = sasl_started(ts, &mechlist);
    g_assert_cmpstr(mechlist, ==, ",DIGEST-MD5,");
    test_client_free(c);
    /* SPICE tickets are refused while SASL is on. */
    c = test_client_connect(test_server_port(ts));
    uint32_t common;
    bool zero_key;
    uint32_t caps = 1u << SPICE_COMMON_CAP_PROTOCOL_AUTH_SELECTION |
                    1u << SPICE_COMMON_CAP_AUTH_SPICE | 1u << SPICE_COMMON_CAP_MINI_HEADER;
    g_assert_cmpuint(raw_sasl_link(c, caps, &common, &zero_key), ==, 0);
    g_assert_false(zero_key); /* it did not offer SASL: it gets a key */
    put_u32(c, SPICE_COMMON_CAP_AUTH_SPICE);
    g_assert_cmpuint(get_u32(c), ==, SPICE_LINK_ERR_INVALID_DATA);
    test_client_free(c);
    /* A client without AUTH_SELECTION cannot do SASL. */
    c = test_client_connect(test_server_port(ts));
    g_assert_cmpuint(raw_sasl_link(c, 1u << SPICE_COMMON_CAP_MINI_HEADER, &common, &zero_key), ==,
                     SPICE_LINK_ERR_VERSION_MISMATCH);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_sasl_hostile(void)
{
    TestServer *ts = start_sasl();
    g_autofree char *m1 = NULL, *m2 = NULL, *m3 = NULL, *m4 = NULL, *m5 = NULL;
    /* Mechanism names of no possible length: the connection ends. */
    TestClient *c = sasl_started(ts, &m1);
    put_u32(c, 0);
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);
    c = sasl_started(ts, &m2);
    put_u32(c, 101);
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);
    /* One that was not offered: INVALID_DATA. */
    c = sasl_started(ts, &m3);
    put_u32(c, 5);
    g_assert_true(test_client_write(c, "PLAIN", 5));
    g_assert_cmpuint(get_u32(c), ==, SPICE_LINK_ERR_INVALID_DATA);
    test_client_free(c);
    /* A first step over 1 MiB: INVALID_DATA, nothing allocated for it. */
    c = sasl_started(ts, &m4);
    put_u32(c, 10);
    g_assert_true(test_client_write(c, "DIGEST-MD5", 10));
    put_u32(c, (1u << 20) + 1);
    g_assert_cmpuint(get_u32(c), ==, SPICE_LINK_ERR_INVALID_DATA);
    test_client_free(c);
    /* A step that is not DIGEST-MD5 at all, after the challenge. */
    c = sasl_started(ts, &m5);
    put_u32(c, 10);
    g_assert_true(test_client_write(c, "DIGEST-MD5", 10));
    put_u32(c, 0);
    uint32_t n = get_u32(c);
    g_assert_cmpuint(n, >, 0);
    g_autofree uint8_t *challenge = g_malloc(n + 1);
    g_assert_true(test_client_read(c, challenge, n + 1)); /* data, then "complete" */
    g_assert_cmpuint(challenge[n], ==, 0);                /* not complete */
    put_u32(c, 9);
    g_assert_true(test_client_write(c, "garbage!", 9));
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);
    /* Still serving. */
    g_autofree char *m6 = NULL;
    c = sasl_started(ts, &m6);
    g_assert_cmpstr(m6, ==, ",DIGEST-MD5,");
    test_client_free(c);
    test_server_stop(ts);
}
#endif

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN); /* OpenSSL writes with write(): a closed peer */
    g_autofree char *tmp = g_dir_make_tmp("spicecore-tls-XXXXXX", NULL);
    g_assert_nonnull(tmp);
    cert_dir = g_build_filename(tmp, "certs", NULL);
    const char *argv_certs[] = { MAKE_CERTS, cert_dir, NULL };
    int status = -1;
    g_autoptr(GError) error = NULL;
    if (!g_spawn_sync(NULL, (char **)argv_certs, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL,
                      &status, &error) ||
        !g_spawn_check_wait_status(status, &error)) {
        g_error("make-certs.sh: %s", error->message);
    }
    g_test_add_func("/tls/link", test_tls_link);
    g_test_add_func("/tls/wrong-ca", test_tls_wrong_ca);
    g_test_add_func("/tls/sock-info", test_tls_sock_info);
    g_test_add_func("/tls/old-versions-refused", test_tls_old_versions_refused);
    g_test_add_func("/tls/channel-security", test_tls_channel_security);
    g_test_add_func("/tls/key-password", test_tls_key_password);
    g_test_add_func("/tls/bad-files", test_tls_bad_files);
    g_test_add_func("/tls/garbage", test_tls_garbage);
    g_test_add_func("/tls/slow-handshake", test_tls_slow_handshake);
    g_test_add_func("/tls/cve-2021-20201-renegotiation", test_tls_cve_2021_20201_renegotiation);
    g_test_add_func("/tls/add-ssl-client", test_tls_add_ssl_client);
    g_test_add_func("/websocket/link", test_websocket_link);
    g_test_add_func("/websocket/fragments-and-ping", test_websocket_fragments_and_ping);
    g_test_add_func("/websocket/hostile-frames", test_websocket_hostile_frames);
    g_test_add_func("/websocket/bad-requests", test_websocket_bad_requests);
#ifdef HAVE_SASL
    sasl_dir = g_build_filename(tmp, "sasl", NULL);
    g_mkdir(sasl_dir, 0700);
    g_autofree char *conf = g_build_filename(sasl_dir, "spice.conf", NULL);
    g_autofree char *conf_text =
        g_strdup_printf("mech_list: digest-md5 plain\nsasldb_path: %s/sasldb2\n", sasl_dir);
    g_file_set_contents(conf, conf_text, -1, NULL);
    g_test_add_func("/sasl/offer-and-refusals", test_sasl_offer_and_refusals);
    g_test_add_func("/sasl/hostile", test_sasl_hostile);
#endif
    int rc = g_test_run();
    g_autofree char *rm = g_strdup_printf("rm -rf '%s'", tmp);
    if (system(rm) != 0) {
        g_printerr("could not remove %s\n", tmp);
    }
    return rc;
}
