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

#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

/* The host's side of one port. Everything below runs on the server
 * thread (test_server_call), like QEMU's main loop. */
typedef struct Dev {
    SpiceCharDeviceInstance sin; /* first */
    GMutex lock;
    int state;      /* last state() */
    int states;     /* state() calls */
    int last_event; /* last event() from the client, -1: none */
    bool accept;    /* write() takes everything, else nothing */
    GByteArray *written;
    GByteArray *to_read;
    int add_result;
} Dev;

static Dev *dev_of(SpiceCharDeviceInstance *sin)
{
    return (Dev *)sin;
}

static void d_state(SpiceCharDeviceInstance *sin, int connected)
{
    Dev *d = dev_of(sin);
    g_mutex_lock(&d->lock);
    d->state = connected;
    d->states++;
    g_mutex_unlock(&d->lock);
}

static int d_write(SpiceCharDeviceInstance *sin, const uint8_t *buf, int len)
{
    Dev *d = dev_of(sin);
    g_mutex_lock(&d->lock);
    int n = d->accept ? len : 0;
    g_byte_array_append(d->written, buf, (guint)n);
    g_mutex_unlock(&d->lock);
    return n;
}

static int d_read(SpiceCharDeviceInstance *sin, uint8_t *buf, int len)
{
    Dev *d = dev_of(sin);
    g_mutex_lock(&d->lock);
    int n = MIN(len, (int)d->to_read->len);
    if (n > 0) {
        memcpy(buf, d->to_read->data, (size_t)n);
        g_byte_array_remove_range(d->to_read, 0, (guint)n);
    }
    g_mutex_unlock(&d->lock);
    return n;
}

static void d_event(SpiceCharDeviceInstance *sin, uint8_t event)
{
    Dev *d = dev_of(sin);
    g_mutex_lock(&d->lock);
    d->last_event = event;
    g_mutex_unlock(&d->lock);
}

static const SpiceCharDeviceInterface dev_iface = {
    .base = { SPICE_INTERFACE_CHAR_DEVICE, "test port", SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
              SPICE_INTERFACE_CHAR_DEVICE_MINOR },
    .state = d_state,
    .write = d_write,
    .read = d_read,
    .event = d_event,
    .flags = SPICE_CHAR_DEVICE_NOTIFY_WRITABLE,
};

static Dev *dev_new(const char *name)
{
    Dev *d = g_new0(Dev, 1);
    g_mutex_init(&d->lock);
    d->sin.base.sif = &dev_iface.base;
    d->sin.subtype = "port";
    d->sin.portname = name;
    d->last_event = -1;
    d->accept = true;
    d->written = g_byte_array_new();
    d->to_read = g_byte_array_new();
    return d;
}

static void dev_free(Dev *d)
{
    g_byte_array_unref(d->written);
    g_byte_array_unref(d->to_read);
    g_mutex_clear(&d->lock);
    g_free(d);
}

static void add_dev(TestServer *ts, void *opaque)
{
    Dev *d = opaque;
    d->add_result = spice_server_add_interface(test_server_get(ts), &d->sin.base);
}

static void remove_dev(TestServer *ts, void *opaque)
{
    (void)ts;
    Dev *d = opaque;
    g_assert_cmpint(spice_server_remove_interface(&d->sin.base), ==, 0);
}

static void guest_opens(TestServer *ts, void *opaque)
{
    (void)ts;
    spice_server_port_event(&((Dev *)opaque)->sin, SPICE_PORT_EVENT_OPENED);
}

static void guest_closes(TestServer *ts, void *opaque)
{
    (void)ts;
    spice_server_port_event(&((Dev *)opaque)->sin, SPICE_PORT_EVENT_CLOSED);
}

static void wakeup(TestServer *ts, void *opaque)
{
    (void)ts;
    spice_server_char_device_wakeup(&((Dev *)opaque)->sin);
}

/* The guest wrote (under the lock, then the wakeup QEMU sends). */
static void guest_writes(TestServer *ts, Dev *d, const void *data, size_t size)
{
    g_mutex_lock(&d->lock);
    g_byte_array_append(d->to_read, data, (guint)size);
    g_mutex_unlock(&d->lock);
    test_server_call(ts, wakeup, d);
}

static void device_takes(TestServer *ts, Dev *d, bool accept)
{
    g_mutex_lock(&d->lock);
    d->accept = accept;
    g_mutex_unlock(&d->lock);
    if (accept) {
        test_server_call(ts, wakeup, d); /* NOTIFY_WRITABLE */
    }
}

static int dev_get(Dev *d, const int *field)
{
    g_mutex_lock(&d->lock);
    int v = *field;
    g_mutex_unlock(&d->lock);
    return v;
}

static guint written_len(Dev *d)
{
    g_mutex_lock(&d->lock);
    guint n = d->written->len;
    g_mutex_unlock(&d->lock);
    return n;
}

#define WAIT_FOR(cond)                                              \
    do {                                                            \
        gint64 end_ = g_get_monotonic_time() + 10 * G_USEC_PER_SEC; \
        while (!(cond) && g_get_monotonic_time() < end_) {          \
            g_usleep(2000);                                         \
        }                                                           \
        g_assert_true(cond);                                        \
    } while (0)

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
    Dev *d = dev_new("org.test.0");
    test_server_call(ts, add_dev, d);
    g_assert_cmpint(d->add_result, ==, 0);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", false);
    WAIT_FOR(dev_get(d, &d->state) == 1);

    test_server_call(ts, guest_opens, d);
    expect_event(c, SPICE_PORT_EVENT_OPENED);
    uint8_t brk = SPICE_PORT_EVENT_BREAK;
    g_assert_true(test_client_send(c, SPICE_MSGC_PORT_EVENT, &brk, 1));
    WAIT_FOR(dev_get(d, &d->last_event) == SPICE_PORT_EVENT_BREAK);

    /* Client to guest, guest to client. */
    g_assert_true(test_client_send(c, SPICE_MSGC_SPICEVMC_DATA, "to-guest", 8));
    WAIT_FOR(written_len(d) == 8);
    g_assert_cmpmem(d->written->data, 8, "to-guest", 8);
    guest_writes(ts, d, "from-guest", 10);
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
    WAIT_FOR(written_len(d) == 9);

    /* A reconnecting client starts clean: state 0, then 1 again, and the
     * port's opened state in its INIT. */
    test_server_call(ts, guest_opens, d);
    expect_event(c, SPICE_PORT_EVENT_OPENED);
    test_client_free(c);
    WAIT_FOR(dev_get(d, &d->state) == 0);
    c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", true);
    WAIT_FOR(dev_get(d, &d->state) == 1);

    test_client_free(c);
    test_client_free(main_cc);
    test_server_call(ts, remove_dev, d);
    test_server_stop(ts);
    dev_free(d);
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
    Dev *d = dev_new("org.test.0");
    d->accept = false;
    test_server_call(ts, add_dev, d);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", false);
    GThread *sender = g_thread_new("sender", send_chunks, c);
    g_usleep(500 * 1000);
    g_assert_cmpuint(written_len(d), ==, 0);
    device_takes(ts, d, true);
    g_assert_true(GPOINTER_TO_INT(g_thread_join(sender)));
    WAIT_FOR(written_len(d) == CHUNKS * CHUNK);
    bool in_order = true;
    for (int i = 0; i < CHUNKS && in_order; i++) {
        for (int k = 0; k < CHUNK && in_order; k += 997) {
            in_order = d->written->data[i * CHUNK + k] == pattern(i, k);
        }
    }
    g_assert_true(in_order);
    test_client_free(c);
    test_client_free(main_cc);
    test_server_call(ts, remove_dev, d);
    test_server_stop(ts);
    dev_free(d);
}

static void test_webdav_and_stream(void)
{
    TestServer *ts = start();
    Dev *webdav = dev_new("org.spice-space.webdav.0");
    Dev *stream = dev_new("org.spice-space.stream.0");
    Dev *second = dev_new("org.test.1");
    test_server_call(ts, add_dev, webdav);
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "*org.spice-space.stream.0: the streaming device*not supported");
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING,
                          "*plugin 'port' refused the 'char_device:port' instance*");
    test_server_call(ts, add_dev, stream);
    g_test_assert_expected_messages();
    test_server_call(ts, add_dev, second);
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
    test_server_call(ts, remove_dev, webdav);
    test_server_call(ts, remove_dev, second);
    test_server_stop(ts);
    dev_free(webdav);
    dev_free(stream);
    dev_free(second);
}

/* Hostile messages: each disconnects, the device stays usable. */
static void test_hostile(void)
{
    TestServer *ts = start();
    Dev *d = dev_new("org.test.0");
    test_server_call(ts, add_dev, d);
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
        WAIT_FOR(dev_get(d, &d->state) == 0);
        g_test_assert_expected_messages();
    }
    g_assert_cmpuint(written_len(d), ==, 0);
    test_client_free(main_cc);
    test_server_call(ts, remove_dev, d);
    test_server_stop(ts);
    dev_free(d);
}

/* QEMU removes the device (the guest closed a spicevmc port, or a hot
 * unplug) while a client is connected: the client goes, nothing else. */
static void test_removed_under_client(void)
{
    TestServer *ts = start();
    Dev *d = dev_new("org.test.0");
    test_server_call(ts, add_dev, d);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", false);
    device_takes(ts, d, false);
    g_assert_true(test_client_send(c, SPICE_MSGC_SPICEVMC_DATA, "pending", 7));
    g_usleep(100 * 1000);
    test_server_call(ts, remove_dev, d);
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);
    /* Added again: a new channel, a new client, a clean start. */
    d->accept = true; /* not added: nothing to wake */
    test_server_call(ts, add_dev, d);
    g_assert_cmpint(d->add_result, ==, 0);
    c = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(c, "org.test.0", false);
    g_assert_true(test_client_send(c, SPICE_MSGC_SPICEVMC_DATA, "fresh", 5));
    WAIT_FOR(written_len(d) == 5);
    g_assert_cmpmem(d->written->data, 5, "fresh", 5);
    test_client_free(c);
    test_client_free(main_cc);
    test_server_call(ts, remove_dev, d);
    test_server_stop(ts);
    dev_free(d);
}

/* A plugin that names its port gets that port; the others stay with the
 * port plugin (ABI 1.4 SpiceInterfaceClass.portname). */
static void test_named_routing(void)
{
    TestServerConfig cfg = { .plugin_path = FIXTURE_DIR, .plugin_enable = "inputs,port,named" };
    TestServer *ts = test_server_start(&cfg);
    Dev *mine = dev_new("org.test.named.0");
    Dev *other = dev_new("org.test.0");
    test_server_call(ts, add_dev, mine);
    test_server_call(ts, add_dev, other);
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
    WAIT_FOR(written_len(mine) == 5);
    /* The port plugin has exactly the other one, as PORT 0. */
    TestClient *p = link_port(ts, session, SPICE_CHANNEL_PORT, 0);
    expect_init(p, "org.test.0", false);
    test_client_free(n);
    test_client_free(p);
    test_client_free(main_cc);
    test_server_call(ts, remove_dev, mine);
    test_server_call(ts, remove_dev, other);
    test_server_stop(ts);
    dev_free(mine);
    dev_free(other);
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
