/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-port.c: the port plugin over real sockets, with the test as the
 * host's spiceport char device: PORT_INIT and PORT_EVENT both ways, the
 * device's state() following the client, data both ways, a device that
 * takes nothing holds the client's bytes (at most 1 MiB, the rest stays
 * in the client's socket) and gets them all, in order, once it takes
 * them; WEBDAV for the webdav port name; the streaming device refused;
 * one client per port; hostile messages disconnect; the device removed
 * under a connected client.
 */
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/test-chardev.h"
#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

static void guest_opens(TestServer *ts, void *opaque)
{
    (void)ts;
    spice_server_port_event(&((TestDev *)opaque)->sin, SPICE_PORT_EVENT_OPENED);
}

static void guest_closes(TestServer *ts, void *opaque)
{
    (void)ts;
    spice_server_port_event(&((TestDev *)opaque)->sin, SPICE_PORT_EVENT_CLOSED);
}

static TestClient *link_port(TestServer *ts, uint32_t session, uint8_t type, uint8_t id)
{
    TestClient *c = test_client_connect(test_server_port(ts));
    TestLinkParams p = { .connection_id = session, .channel_type = type, .channel_id = id };
    g_assert_true(test_client_link(c, &p));
    return c;
}

/* PORT_INIT: u32 name_size, u32 name offset, u8 opened, name. */
static void expect_init(TestClient *c, const char *name, bool opened)
{
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_PORT_INIT, &body, &size));
    uint32_t name_size = spice_wire_get_u32(body);
    uint32_t offset = spice_wire_get_u32(body + 4);
    g_assert_cmpuint(name_size, ==, strlen(name) + 1);
    g_assert_cmpuint(offset, ==, 9);
    g_assert_cmpuint(size, ==, 9 + name_size);
    g_assert_cmpuint(body[8], ==, opened);
    g_assert_cmpstr((const char *)body + offset, ==, name);
    g_free(body);
}

static void expect_event(TestClient *c, uint8_t event)
{
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_PORT_EVENT, &body, &size));
    g_assert_cmpuint(size, ==, 1);
    g_assert_cmpuint(body[0], ==, event);
    g_free(body);
}

static TestServer *start(void)
{
    TestServerConfig cfg = { .plugin_enable = "inputs,port" };
    return test_server_start(&cfg);
}

static void test_init_events_data(void)
{
    TestServer *ts = start();
    TestDev *d = test_dev_new("port", "org.test.0");
    test_dev_add(ts, d);
    g_assert_cmpint(d->add_result, ==, 0);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", false);
    TEST_WAIT_FOR(test_dev_state(d) == 1);

    test_server_call(ts, guest_opens, d);
    expect_event(c, SPICE_PORT_EVENT_OPENED);
    uint8_t brk = SPICE_PORT_EVENT_BREAK;
    g_assert_true(test_client_send(c, SPICE_MSGC_PORT_EVENT, &brk, 1));
    TEST_WAIT_FOR(test_dev_last_event(d) == SPICE_PORT_EVENT_BREAK);

    /* Client to guest, guest to client. */
    g_assert_true(test_client_send(c, SPICE_MSGC_SPICEVMC_DATA, "to-guest", 8));
    TEST_WAIT_FOR(test_dev_written_len(d) == 8);
    g_assert_cmpmem(d->written->data, 8, "to-guest", 8);
    test_dev_guest_writes(ts, d, "from-guest", 10);
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_SPICEVMC_DATA, &body, &size));
    g_assert_cmpmem(body, size, "from-guest", 10);
    g_free(body);

    test_server_call(ts, guest_closes, d);
    expect_event(c, SPICE_PORT_EVENT_CLOSED);

    /* A second client of the same port is refused; the first stays. */
    TestClient *second = test_client_connect(test_server_port(ts));
    TestLinkParams p = { .connection_id = session, .channel_type = SPICE_CHANNEL_PORT };
    test_client_link(second, &p);
    g_assert_true(test_client_wait_closed(second, 5000));
    test_client_free(second);
    g_assert_true(test_client_send(c, SPICE_MSGC_SPICEVMC_DATA, "x", 1));
    TEST_WAIT_FOR(test_dev_written_len(d) == 9);

    /* A reconnecting client starts clean: state 0, then 1 again, and the
     * port's opened state in its INIT. */
    test_server_call(ts, guest_opens, d);
    expect_event(c, SPICE_PORT_EVENT_OPENED);
    test_client_free(c);
    TEST_WAIT_FOR(test_dev_state(d) == 0);
    c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", true);
    TEST_WAIT_FOR(test_dev_state(d) == 1);

    test_client_free(c);
    test_client_free(main_cc);
    test_dev_remove(ts, d);
    test_server_stop(ts);
    test_dev_free(d);
}

/* A device that takes nothing: the client's 3 MiB wait (at most 1 MiB in
 * the plugin, the rest in the sockets: the sender blocks), then all
 * arrive, in order, once the device takes them. */
enum { CHUNK = 65536, CHUNKS = 48 };

static uint8_t pattern(int i, int k)
{
    return (uint8_t)(i * 31 + k);
}

static gpointer send_chunks(gpointer data)
{
    TestClient *c = data;
    static uint8_t chunk[CHUNK];
    for (int i = 0; i < CHUNKS; i++) {
        for (int k = 0; k < CHUNK; k++) {
            chunk[k] = pattern(i, k);
        }
        if (!test_client_send(c, SPICE_MSGC_SPICEVMC_DATA, chunk, CHUNK)) {
            return GINT_TO_POINTER(0);
        }
    }
    return GINT_TO_POINTER(1);
}

static void test_device_full(void)
{
    TestServer *ts = start();
    TestDev *d = test_dev_new("port", "org.test.0");
    d->accept = false;
    test_dev_add(ts, d);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", false);
    GThread *sender = g_thread_new("sender", send_chunks, c);
    g_usleep(500 * 1000);
    g_assert_cmpuint(test_dev_written_len(d), ==, 0);
    test_dev_accept(ts, d, true);
    g_assert_true(GPOINTER_TO_INT(g_thread_join(sender)));
    TEST_WAIT_FOR(test_dev_written_len(d) == CHUNKS * CHUNK);
    bool in_order = true;
    for (int i = 0; i < CHUNKS && in_order; i++) {
        for (int k = 0; k < CHUNK && in_order; k += 997) {
            in_order = d->written->data[i * CHUNK + k] == pattern(i, k);
        }
    }
    g_assert_true(in_order);
    test_client_free(c);
    test_client_free(main_cc);
    test_dev_remove(ts, d);
    test_server_stop(ts);
    test_dev_free(d);
}

static void test_webdav_and_stream(void)
{
    TestServer *ts = start();
    TestDev *webdav = test_dev_new("port", "org.spice-space.webdav.0");
    TestDev *stream = test_dev_new("port", "org.spice-space.stream.0");
    TestDev *second = test_dev_new("port", "org.test.1");
    test_dev_add(ts, webdav);
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "*org.spice-space.stream.0: the streaming device*not supported");
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "*plugin 'port' refused the 'char_device:port' instance*");
    test_dev_add(ts, stream);
    g_test_assert_expected_messages();
    test_dev_add(ts, second);
    g_assert_cmpint(webdav->add_result, ==, 0);
    g_assert_cmpint(stream->add_result, ==, -1);
    g_assert_cmpint(second->add_result, ==, 0);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *w = link_port(ts, session, SPICE_CHANNEL_WEBDAV, 0);
    expect_init(w, "org.spice-space.webdav.0", false);
    /* The first PORT id is free again: org.test.1 took it. */
    TestClient *p = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(p, "org.test.1", false);
    test_client_free(w);
    test_client_free(p);
    test_client_free(main_cc);
    test_dev_remove(ts, webdav);
    test_dev_remove(ts, second);
    test_server_stop(ts);
    test_dev_free(webdav);
    test_dev_free(stream);
    test_dev_free(second);
}

/* Hostile messages: each disconnects, the device stays usable. */
static void test_hostile(void)
{
    TestServer *ts = start();
    TestDev *d = test_dev_new("port", "org.test.0");
    test_dev_add(ts, d);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    static const struct {
        uint16_t type;
        uint32_t size;
    } bad[] = {
        { SPICE_MSGC_PORT_EVENT, 0 },
        { SPICE_MSGC_PORT_EVENT, 2 },
        { SPICE_MSGC_SPICEVMC_COMPRESSED_DATA, 12 },
        { 250, 4 },
        { SPICE_MSGC_SPICEVMC_DATA, 1024 * 1024 + 1 }, /* above the channel's limit */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        if (bad[i].type == SPICE_MSGC_SPICEVMC_COMPRESSED_DATA) {
            g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                                  "*compressed data, which this channel does not offer");
        }
        TestClient *c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
        expect_init(c, "org.test.0", false);
        uint8_t header[6];
        spice_wire_put_u16(header, bad[i].type);
        spice_wire_put_u32(header + 2, bad[i].size);
        g_assert_true(test_client_write(c, header, sizeof(header)));
        uint8_t zeros[64] = { 0 };
        test_client_write(c, zeros, MIN(sizeof(zeros), bad[i].size));
        g_assert_true(test_client_wait_closed(c, 5000));
        test_client_free(c);
        TEST_WAIT_FOR(test_dev_state(d) == 0);
        g_test_assert_expected_messages();
    }
    g_assert_cmpuint(test_dev_written_len(d), ==, 0);
    test_client_free(main_cc);
    test_dev_remove(ts, d);
    test_server_stop(ts);
    test_dev_free(d);
}

/* QEMU removes the device (the guest closed a spicevmc port, or a hot
 * unplug) while a client is connected: the client goes, nothing else. */
static void test_removed_under_client(void)
{
    TestServer *ts = start();
    TestDev *d = test_dev_new("port", "org.test.0");
    test_dev_add(ts, d);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", false);
    test_dev_accept(ts, d, false);
    g_assert_true(test_client_send(c, SPICE_MSGC_SPICEVMC_DATA, "pending", 7));
    g_usleep(100 * 1000);
    test_dev_remove(ts, d);
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);
    /* Added again: a new channel, a new client, a clean start. */
    d->accept = true; /* not added: nothing to wake */
    test_dev_add(ts, d);
    g_assert_cmpint(d->add_result, ==, 0);
    c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", false);
    g_assert_true(test_client_send(c, SPICE_MSGC_SPICEVMC_DATA, "fresh", 5));
    TEST_WAIT_FOR(test_dev_written_len(d) == 5);
    g_assert_cmpmem(d->written->data, 5, "fresh", 5);
    test_client_free(c);
    test_client_free(main_cc);
    test_dev_remove(ts, d);
    test_server_stop(ts);
    test_dev_free(d);
}

/* A plugin that names its port gets that port; the others stay with the
 * port plugin (ABI 1.4 SpiceInterfaceClass.portname). */
static void test_named_routing(void)
{
    TestServerConfig cfg = { .plugin_path = FIXTURE_DIR, .plugin_enable = "inputs,port,named" };
    TestServer *ts = test_server_start(&cfg);
    TestDev *mine = test_dev_new("port", "org.test.named.0");
    TestDev *other = test_dev_new("port", "org.test.0");
    test_dev_add(ts, mine);
    test_dev_add(ts, other);
    g_assert_cmpint(mine->add_result, ==, 0);
    g_assert_cmpint(other->add_result, ==, 0);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *n = link_port(ts, session, 205, 0);
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(n, 101, &body, &size));
    g_assert_cmpstr((const char *)body, ==, "org.test.named.0");
    g_free(body);
    g_assert_true(test_client_send(n, 101, "named", 5));
    TEST_WAIT_FOR(test_dev_written_len(mine) == 5);
    /* The port plugin has exactly the other one, as PORT 0. */
    TestClient *p = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(p, "org.test.0", false);
    test_client_free(n);
    test_client_free(p);
    test_client_free(main_cc);
    test_dev_remove(ts, mine);
    test_dev_remove(ts, other);
    test_server_stop(ts);
    test_dev_free(mine);
    test_dev_free(other);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/port/init-events-data", test_init_events_data);
    g_test_add_func("/port/device-full", test_device_full);
    g_test_add_func("/port/webdav-and-stream", test_webdav_and_stream);
    g_test_add_func("/port/hostile", test_hostile);
    g_test_add_func("/port/removed-under-client", test_removed_under_client);
    g_test_add_func("/port/named-routing", test_named_routing);
    return g_test_run();
}
