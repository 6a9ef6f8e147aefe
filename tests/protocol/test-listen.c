/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-listen.c: listening as configured by spice_server_set_addr() and
 * spice_server_set_port(): IPv4, IPv6, unix socket paths and abstract
 * names, and the failures an operator can cause.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

typedef struct Listen {
    const char *addr;
    int flags;
    int port;
} Listen;

static void setup_listen(SpiceServer *s, void *opaque)
{
    Listen *l = opaque;
    spice_server_set_addr(s, l->addr, l->flags);
    if (l->port >= 0) {
        g_assert_cmpint(spice_server_set_port(s, l->port), ==, 0);
    }
}

/* A port that was free a moment ago on addr (family from addr). */
static int free_port(const char *addr)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, addr, &in6->sin6_addr);
        len = sizeof(*in6);
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        inet_pton(AF_INET, addr, &in->sin_addr);
        len = sizeof(*in);
    }
    int fd = socket(family, SOCK_STREAM, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&ss, len), ==, 0);
    len = sizeof(ss);
    getsockname(fd, (struct sockaddr *)&ss, &len);
    close(fd);
    return ntohs(family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                    : ((struct sockaddr_in *)&ss)->sin_port);
}

/* Link main over c; returns true with INIT received. Over AF_UNIX the
 * network test is skipped, so the first message after INIT must not be
 * a PING. */
static bool link_main(TestClient *c, bool expect_pings)
{
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN };
    if (!test_client_link(c, &p)) {
        return false;
    }
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_recv(c, &type, &body, &size));
    g_assert_cmpuint(type, ==, SPICE_MSG_MAIN_INIT);
    g_free(body);
    g_assert_true(test_client_send(c, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    g_assert_true(test_client_recv(c, &type, &body, &size));
    g_assert_cmpuint(type, ==, expect_pings ? SPICE_MSG_PING : SPICE_MSG_MAIN_CHANNELS_LIST);
    g_free(body);
    return true;
}

static void test_listen_ipv4(void)
{
    Listen l = { "127.0.0.1", SPICE_ADDR_FLAG_IPV4_ONLY, free_port("127.0.0.1") };
    TestServerConfig cfg = { .setup = setup_listen, .opaque = &l };
    TestServer *ts = test_server_start(&cfg);
    TestClient *c = test_client_connect_to("127.0.0.1", l.port);
    g_assert_nonnull(c);
    g_assert_true(link_main(c, true));
    test_client_free(c);
    test_server_stop(ts);
}

static void test_listen_ipv6(void)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    bool have_ipv6 = probe >= 0 && bind(probe, (struct sockaddr *)&in6, sizeof(in6)) == 0;
    if (probe >= 0) {
        close(probe);
    }
    if (!have_ipv6) {
        g_test_skip("no IPv6 loopback on this machine");
        return;
    }
    Listen l = { "::1", SPICE_ADDR_FLAG_IPV6_ONLY, free_port("::1") };
    TestServerConfig cfg = { .setup = setup_listen, .opaque = &l };
    TestServer *ts = test_server_start(&cfg);
    TestClient *c = test_client_connect_to("::1", l.port);
    g_assert_nonnull(c);
    g_assert_true(link_main(c, true));
    test_client_free(c);
    test_server_stop(ts);
}

static void test_listen_unix_path(void)
{
    g_autofree char *dir = g_dir_make_tmp("spice-listen-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "spice.sock", NULL);
    /* A stale socket from an earlier run is replaced. */
    int stale = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    g_strlcpy(un.sun_path, path, sizeof(un.sun_path));
    g_assert_cmpint(bind(stale, (struct sockaddr *)&un, sizeof(un)), ==, 0);
    close(stale);

    Listen l = { path, SPICE_ADDR_FLAG_UNIX_ONLY, -1 };
    TestServerConfig cfg = { .setup = setup_listen, .opaque = &l };
    TestServer *ts = test_server_start(&cfg);
    g_assert_nonnull(ts);
    TestClient *c = test_client_connect_to(path, 0);
    g_assert_nonnull(c);
    g_assert_true(link_main(c, false));
    test_client_free(c);
    test_server_stop(ts);
    g_unlink(path);
    g_rmdir(dir);
}

static void test_listen_unix_abstract(void)
{
    g_autofree char *name = g_strdup_printf("@spicecore-test-%d", (int)getpid());
    Listen l = { name, SPICE_ADDR_FLAG_UNIX_ONLY, -1 };
    TestServerConfig cfg = { .setup = setup_listen, .opaque = &l };
    TestServer *ts = test_server_start(&cfg);
    TestClient *c = test_client_connect_to(name, 0);
    g_assert_nonnull(c);
    g_assert_true(link_main(c, false));
    test_client_free(c);
    test_server_stop(ts);
}

static void test_listen_failures(void)
{
    /* A unix path that cannot be created. */
    Listen l = { "/nonexistent-dir/spice.sock", SPICE_ADDR_FLAG_UNIX_ONLY, -1 };
    TestServerConfig cfg = { .setup = setup_listen, .opaque = &l };
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "cannot listen on unix socket /nonexistent-dir/spice.sock: *");
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "spice_server_init failed: cannot listen as configured");
    g_assert_null(test_server_start(&cfg));
    g_test_assert_expected_messages();

    /* A port someone else holds. */
    int holder = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in = { .sin_family = AF_INET };
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(in);
    g_assert_cmpint(bind(holder, (struct sockaddr *)&in, sizeof(in)), ==, 0);
    g_assert_cmpint(listen(holder, 1), ==, 0);
    getsockname(holder, (struct sockaddr *)&in, &len);
    Listen busy = { "127.0.0.1", 0, ntohs(in.sin_port) };
    cfg.opaque = &busy;
    g_autofree char *pattern =
        g_strdup_printf("cannot listen on 127.0.0.1 port %d: *", ntohs(in.sin_port));
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, pattern);
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "spice_server_init failed: cannot listen as configured");
    g_assert_null(test_server_start(&cfg));
    g_test_assert_expected_messages();
    close(holder);

    /* An address that does not resolve. */
    Listen bogus = { "no.such.host.invalid", 0, 5999 };
    cfg.opaque = &bogus;
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "cannot resolve listening address 'no.such.host.invalid': *");
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "spice_server_init failed: cannot listen as configured");
    g_assert_null(test_server_start(&cfg));
    g_test_assert_expected_messages();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/listen/ipv4", test_listen_ipv4);
    g_test_add_func("/listen/ipv6", test_listen_ipv6);
    g_test_add_func("/listen/unix-path", test_listen_unix_path);
    g_test_add_func("/listen/unix-abstract", test_listen_unix_abstract);
    g_test_add_func("/listen/failures", test_listen_failures);
    return g_test_run();
}
