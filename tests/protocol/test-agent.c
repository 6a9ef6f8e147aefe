/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-agent.c: the guest agent relay of the main plugin over real
 * sockets, with the test as both the host's "vdagent" char device and the
 * client: MAIN_INIT's agent state, AGENT_CONNECTED(_TOKENS) and
 * AGENT_DISCONNECTED as the device comes and goes, client messages into
 * chunks for the device (split messages too) and tokens back, agent chunks
 * to the client (the server's port dropped), the copy-paste and file
 * transfer switches, CVE-2017-7506 (a MONITORS_CONFIG whose monitors do
 * not fit), hostile client and agent data, and VD_AGENT_CLIENT_DISCONNECTED
 * when the client goes.
 */
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>
#include <spice/vd_agent.h>

#include "common/test-chardev.h"
#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

#define MSG_HEADER 20

typedef struct Ctx {
    TestServer *ts;
    TestDev *dev;
    TestClient *main;
    uint32_t session;
    uint32_t init_agent;  /* MAIN_INIT agent_connected */
    uint32_t init_tokens; /* MAIN_INIT agent_tokens */
} Ctx;

/* A VDAgentMessage of type with data (size bytes, or the announced size
 * when announced != size). */
static GByteArray *agent_msg(uint32_t type, const void *data, uint32_t size, uint32_t announced)
{
    GByteArray *m = g_byte_array_new();
    uint8_t h[MSG_HEADER] = { 0 };
    spice_wire_put_u32(h, VD_AGENT_PROTOCOL);
    spice_wire_put_u32(h + 4, type);
    spice_wire_put_u32(h + 16, announced);
    g_byte_array_append(m, h, sizeof(h));
    g_byte_array_append(m, data, size);
    return m;
}

static void link_main(Ctx *c)
{
    c->main = test_client_connect(test_server_port(c->ts));
    uint32_t caps = 1u << SPICE_MAIN_CAP_AGENT_CONNECTED_TOKENS;
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN,
                         .channel_caps = &caps,
                         .n_channel_caps = 1 };
    g_assert_true(test_client_link(c->main, &p));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c->main, SPICE_MSG_MAIN_INIT, &body, &size));
    c->session = spice_wire_get_u32(body);
    c->init_agent = spice_wire_get_u32(body + 16);
    c->init_tokens = spice_wire_get_u32(body + 20);
    g_free(body);
}

static void open_ctx_cfg(Ctx *c, bool device_first, bool no_tablet)
{
    memset(c, 0, sizeof(*c));
    TestServerConfig cfg = { .plugin_enable = "inputs", .no_tablet = no_tablet };
    c->ts = test_server_start(&cfg);
    c->dev = test_dev_new("vdagent", NULL);
    if (device_first) {
        test_dev_add(c->ts, c->dev);
        g_assert_cmpint(c->dev->add_result, ==, 0);
    }
    link_main(c);
}

static void open_ctx(Ctx *c, bool device_first)
{
    open_ctx_cfg(c, device_first, false);
}

static void close_ctx(Ctx *c, bool remove)
{
    if (c->main) {
        test_client_free(c->main);
    }
    if (remove) {
        test_dev_remove(c->ts, c->dev);
    }
    test_server_stop(c->ts);
    test_dev_free(c->dev);
}

static void send_u32(TestClient *t, uint16_t type, uint32_t v)
{
    uint8_t b[4];
    spice_wire_put_u32(b, v);
    g_assert_true(test_client_send(t, type, b, 4));
}

/* The next chunk the device got: its port and payload (g_free). */
static uint8_t *take_chunk(Ctx *c, uint32_t *port, uint32_t *size)
{
    TEST_WAIT_FOR(test_dev_written_len(c->dev) >= 8);
    uint8_t *h = test_dev_take_written(c->dev, 8);
    *port = spice_wire_get_u32(h);
    *size = spice_wire_get_u32(h + 4);
    g_free(h);
    TEST_WAIT_FOR(test_dev_written_len(c->dev) >= *size);
    return test_dev_take_written(c->dev, *size);
}

/* The guest agent writes one chunk. */
static void agent_writes(Ctx *c, uint32_t port, const GByteArray *payload)
{
    uint8_t h[8];
    spice_wire_put_u32(h, port);
    spice_wire_put_u32(h + 4, payload->len);
    GByteArray *chunk = g_byte_array_new();
    g_byte_array_append(chunk, h, 8);
    g_byte_array_append(chunk, payload->data, payload->len);
    test_dev_guest_writes(c->ts, c->dev, chunk->data, chunk->len);
    g_byte_array_unref(chunk);
}

/* What the server grants (MAIN_INIT, AGENT_CONNECTED_TOKENS) and the
 * batches it returns them in (plugins/main/agent.c). */
#define CLIENT_TOKENS 64
#define TOKEN_BATCH   16

static uint32_t expect_tokens(Ctx *c)
{
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c->main, SPICE_MSG_MAIN_AGENT_TOKEN, &body, &size));
    uint32_t n = spice_wire_get_u32(body);
    g_free(body);
    return n;
}

static void test_relay(void)
{
    Ctx c;
    open_ctx(&c, true);
    g_assert_cmpuint(c.init_agent, ==, 1);
    g_assert_cmpuint(c.init_tokens, ==, CLIENT_TOKENS);
    TEST_WAIT_FOR(test_dev_state(c.dev) == 1);
    send_u32(c.main, SPICE_MSGC_MAIN_AGENT_START, 100);

    /* Client to agent: one chunk on the client port. */
    uint32_t types[] = { 1 };
    GByteArray *grab = agent_msg(VD_AGENT_CLIPBOARD_GRAB, types, sizeof(types), sizeof(types));
    g_assert_true(test_client_send(c.main, SPICE_MSGC_MAIN_AGENT_DATA, grab->data, grab->len));
    uint32_t port, size;
    g_autofree uint8_t *got = take_chunk(&c, &port, &size);
    g_assert_cmpuint(port, ==, VDP_CLIENT_PORT);
    g_assert_cmpmem(got, size, grab->data, grab->len);

    /* A 5000-byte message in three AGENT_DATA: three chunks, in order. */
    GByteArray *big = agent_msg(VD_AGENT_CLIPBOARD, NULL, 0, 5000);
    for (uint32_t i = 0; i < 5000; i++) {
        uint8_t b = (uint8_t)i;
        g_byte_array_append(big, &b, 1);
    }
    for (uint32_t off = 0; off < big->len; off += 2048) {
        uint32_t n = MIN(2048u, big->len - off);
        g_assert_true(test_client_send(c.main, SPICE_MSGC_MAIN_AGENT_DATA, big->data + off, n));
    }
    GByteArray *joined = g_byte_array_new();
    while (joined->len < big->len) {
        g_autofree uint8_t *part = take_chunk(&c, &port, &size);
        g_assert_cmpuint(port, ==, VDP_CLIENT_PORT);
        g_assert_cmpuint(size, <=, 2048);
        g_byte_array_append(joined, part, size);
    }
    g_assert_cmpmem(joined->data, joined->len, big->data, big->len);

    /* Tokens come back once a batch of chunks is written: 4 so far,
     * 12 more make the first batch. */
    GByteArray *release = agent_msg(VD_AGENT_CLIPBOARD_RELEASE, "\0\0\0\0", 4, 4);
    for (int i = 0; i < TOKEN_BATCH - 4; i++) {
        g_assert_true(
            test_client_send(c.main, SPICE_MSGC_MAIN_AGENT_DATA, release->data, release->len));
        g_free(take_chunk(&c, &port, &size));
    }
    g_assert_cmpuint(expect_tokens(&c), ==, TOKEN_BATCH);
    g_byte_array_unref(release);

    /* Agent to client: the server's port is not forwarded. */
    uint32_t caps[2] = { 0, 0 };
    GByteArray *announce = agent_msg(VD_AGENT_ANNOUNCE_CAPABILITIES, caps, sizeof(caps), 8);
    agent_writes(&c, VDP_SERVER_PORT, announce);
    GByteArray *reply = agent_msg(VD_AGENT_REPLY, caps, 8, 8);
    agent_writes(&c, VDP_CLIENT_PORT, reply);
    uint8_t *body;
    g_assert_true(test_client_wait_for(c.main, SPICE_MSG_MAIN_AGENT_DATA, &body, &size));
    g_assert_cmpmem(body, size, reply->data, reply->len);
    g_free(body);

    /* The client goes: the agent hears VD_AGENT_CLIENT_DISCONNECTED on
     * the server's port. */
    test_client_free(c.main);
    c.main = NULL;
    g_autofree uint8_t *bye = take_chunk(&c, &port, &size);
    g_assert_cmpuint(port, ==, VDP_SERVER_PORT);
    g_assert_cmpuint(size, ==, MSG_HEADER);
    g_assert_cmpuint(spice_wire_get_u32(bye + 4), ==, VD_AGENT_CLIENT_DISCONNECTED);
    /* With no client, what the agent sends is read and dropped. */
    agent_writes(&c, VDP_CLIENT_PORT, reply);
    TEST_WAIT_FOR(c.dev->to_read->len == 0);

    g_byte_array_unref(grab);
    g_byte_array_unref(big);
    g_byte_array_unref(joined);
    g_byte_array_unref(announce);
    g_byte_array_unref(reply);
    close_ctx(&c, true);
}

static void test_device_comes_and_goes(void)
{
    Ctx c;
    open_ctx(&c, false);
    g_assert_cmpuint(c.init_agent, ==, 0);
    test_dev_add(c.ts, c.dev);
    uint8_t *body;
    uint32_t size;
    g_assert_true(
        test_client_wait_for(c.main, SPICE_MSG_MAIN_AGENT_CONNECTED_TOKENS, &body, &size));
    g_assert_cmpuint(spice_wire_get_u32(body), ==, CLIENT_TOKENS);
    g_free(body);
    test_dev_remove(c.ts, c.dev);
    g_assert_true(test_client_wait_for(c.main, SPICE_MSG_MAIN_AGENT_DISCONNECTED, &body, &size));
    g_free(body);
    /* Data for an agent that is gone is dropped, its tokens returned. */
    GByteArray *m = agent_msg(VD_AGENT_CLIPBOARD_RELEASE, "\0\0\0\0", 4, 4);
    for (int i = 0; i < TOKEN_BATCH; i++) {
        g_assert_true(test_client_send(c.main, SPICE_MSGC_MAIN_AGENT_DATA, m->data, m->len));
    }
    g_assert_cmpuint(expect_tokens(&c), ==, TOKEN_BATCH);
    g_byte_array_unref(m);
    close_ctx(&c, false);
}

static void set_switches(TestServer *ts, void *opaque)
{
    int on = GPOINTER_TO_INT(opaque);
    spice_server_set_agent_copypaste(test_server_get(ts), on);
    spice_server_set_agent_file_xfer(test_server_get(ts), on);
}

static void test_switches_off(void)
{
    Ctx c;
    open_ctx(&c, true);
    test_server_call(c.ts, set_switches, GINT_TO_POINTER(0));
    send_u32(c.main, SPICE_MSGC_MAIN_AGENT_START, 100);

    /* The agent's capabilities lose the clipboard, gain FILE_XFER_DISABLED. */
    uint32_t caps = (1u << VD_AGENT_CAP_CLIPBOARD_BY_DEMAND) |
                    (1u << VD_AGENT_CAP_CLIPBOARD_SELECTION) | (1u << VD_AGENT_CAP_MONITORS_CONFIG);
    uint8_t data[8];
    spice_wire_put_u32(data, 0);
    spice_wire_put_u32(data + 4, caps);
    GByteArray *announce = agent_msg(VD_AGENT_ANNOUNCE_CAPABILITIES, data, 8, 8);
    agent_writes(&c, VDP_CLIENT_PORT, announce);
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c.main, SPICE_MSG_MAIN_AGENT_DATA, &body, &size));
    g_assert_cmpuint(size, ==, MSG_HEADER + 8);
    g_assert_cmphex(spice_wire_get_u32(body + MSG_HEADER + 4), ==,
                    (1u << VD_AGENT_CAP_MONITORS_CONFIG) | (1u << VD_AGENT_CAP_FILE_XFER_DISABLED));
    g_free(body);

    /* The agent's clipboard does not reach the client; its reply does. */
    GByteArray *clip = agent_msg(VD_AGENT_CLIPBOARD, "\1\0\0\0text", 8, 8);
    agent_writes(&c, VDP_CLIENT_PORT, clip);
    GByteArray *reply = agent_msg(VD_AGENT_REPLY, data, 8, 8);
    agent_writes(&c, VDP_CLIENT_PORT, reply);
    g_assert_true(test_client_wait_for(c.main, SPICE_MSG_MAIN_AGENT_DATA, &body, &size));
    g_assert_cmpuint(spice_wire_get_u32(body + 4), ==, VD_AGENT_REPLY);
    g_free(body);

    /* The client's clipboard is dropped (its tokens back); its file
     * transfer is answered FILE_XFER_STATUS DISABLED. */
    for (int i = 0; i < TOKEN_BATCH; i++) {
        g_assert_true(test_client_send(c.main, SPICE_MSGC_MAIN_AGENT_DATA, clip->data, clip->len));
    }
    g_assert_cmpuint(expect_tokens(&c), ==, TOKEN_BATCH);
    GByteArray *start = agent_msg(VD_AGENT_FILE_XFER_START, "\7\0\0\0[vdagent-file-xfer]", 23, 23);
    g_assert_true(test_client_send(c.main, SPICE_MSGC_MAIN_AGENT_DATA, start->data, start->len));
    g_assert_true(test_client_wait_for(c.main, SPICE_MSG_MAIN_AGENT_DATA, &body, &size));
    g_assert_cmpuint(size, ==, MSG_HEADER + 8);
    g_assert_cmpuint(spice_wire_get_u32(body + 4), ==, VD_AGENT_FILE_XFER_STATUS);
    g_assert_cmpuint(spice_wire_get_u32(body + MSG_HEADER), ==, 7);
    g_assert_cmpuint(spice_wire_get_u32(body + MSG_HEADER + 4), ==,
                     VD_AGENT_FILE_XFER_STATUS_DISABLED);
    g_free(body);
    g_usleep(100 * 1000);
    g_assert_cmpuint(test_dev_written_len(c.dev), ==, 0);

    g_byte_array_unref(announce);
    g_byte_array_unref(clip);
    g_byte_array_unref(reply);
    g_byte_array_unref(start);
    close_ctx(&c, true);
}

/* Each hostile client message disconnects the client and reaches no
 * agent. CVE-2017-7506: MONITORS_CONFIG whose num_of_monitors lies. */
static void test_hostile_client(void)
{
    Ctx c;
    open_ctx(&c, true);
    test_client_free(c.main);
    c.main = NULL;
    TEST_WAIT_FOR(test_dev_written_len(c.dev) == 0);
    uint8_t mc_lie[8], mc_overflow[8 + 20], mc_phys[8 + 20];
    spice_wire_put_u32(mc_lie, 1000); /* 1000 monitors in 8 bytes */
    spice_wire_put_u32(mc_lie + 4, 0);
    memset(mc_overflow, 0, sizeof(mc_overflow));
    spice_wire_put_u32(mc_overflow, 0xccccccd); /* n * 20 wraps in 32 bits */
    memset(mc_phys, 0, sizeof(mc_phys));
    spice_wire_put_u32(mc_phys, 1); /* one monitor, but its physical size is missing */
    spice_wire_put_u32(mc_phys + 4, VD_AGENT_CONFIG_MONITORS_FLAG_PHYSICAL_SIZE);
    struct {
        const char *what;
        GByteArray *msg;
    } bad[] = {
        { "CVE-2017-7506 num_of_monitors beyond the data",
          agent_msg(VD_AGENT_MONITORS_CONFIG, mc_lie, 8, 8) },
        { "CVE-2017-7506 num_of_monitors overflowing the size",
          agent_msg(VD_AGENT_MONITORS_CONFIG, mc_overflow, sizeof(mc_overflow), 28) },
        { "monitors without their physical sizes",
          agent_msg(VD_AGENT_MONITORS_CONFIG, mc_phys, sizeof(mc_phys), 28) },
        { "wrong protocol", agent_msg(VD_AGENT_CLIPBOARD_RELEASE, "\0\0\0\0", 4, 4) },
        { "data past the size", agent_msg(VD_AGENT_CLIPBOARD_RELEASE, "\0\0\0\0\0\0\0\0", 8, 4) },
        { "short header", g_byte_array_append(g_byte_array_new(), (const uint8_t *)"\1\0\0", 3) },
        { "too big", agent_msg(VD_AGENT_CLIPBOARD, NULL, 0, 3000) },
    };
    spice_wire_put_u32(bad[3].msg->data, 2);
    for (int i = 0; i < 2100; i++) {
        g_byte_array_append(bad[6].msg, (const uint8_t *)"x", 1);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_test_message("hostile: %s", bad[i].what);
        link_main(&c);
        send_u32(c.main, SPICE_MSGC_MAIN_AGENT_START, 100);
        g_assert_true(test_client_send(c.main, SPICE_MSGC_MAIN_AGENT_DATA, bad[i].msg->data,
                                       bad[i].msg->len));
        g_assert_true(test_client_wait_closed(c.main, 5000));
        test_client_free(c.main);
        c.main = NULL;
        g_byte_array_unref(bad[i].msg);
    }
    /* Nothing of it reached the agent (only "client disconnected" notes,
     * one per client that had started). */
    guint n = test_dev_written_len(c.dev);
    g_assert_cmpuint(n % (8 + MSG_HEADER), ==, 0);
    g_autofree uint8_t *all = test_dev_take_written(c.dev, n);
    for (guint off = 0; off < n; off += 8 + MSG_HEADER) {
        g_assert_cmpuint(spice_wire_get_u32(all + off), ==, VDP_SERVER_PORT);
        g_assert_cmpuint(spice_wire_get_u32(all + off + 8 + 4), ==, VD_AGENT_CLIENT_DISCONNECTED);
    }

    /* Beyond its tokens, while the guest reads nothing: disconnected. */
    test_dev_accept(c.ts, c.dev, false);
    link_main(&c);
    send_u32(c.main, SPICE_MSGC_MAIN_AGENT_START, 100);
    GByteArray *release = agent_msg(VD_AGENT_CLIPBOARD_RELEASE, "\0\0\0\0", 4, 4);
    for (int i = 0; i < CLIENT_TOKENS + 1; i++) {
        test_client_send(c.main, SPICE_MSGC_MAIN_AGENT_DATA, release->data, release->len);
    }
    g_assert_true(test_client_wait_closed(c.main, 5000));
    g_byte_array_unref(release);
    close_ctx(&c, true);
}

/* An agent that breaks the protocol is ignored until it comes back. */
static void test_hostile_agent(void)
{
    Ctx c;
    open_ctx(&c, true);
    send_u32(c.main, SPICE_MSGC_MAIN_AGENT_START, 100);
    g_test_expect_message("spicecore", G_LOG_LEVEL_WARNING, "*a chunk of a size no agent sends*");
    uint8_t h[8];
    spice_wire_put_u32(h, VDP_CLIENT_PORT);
    spice_wire_put_u32(h + 4, 100000);
    test_dev_guest_writes(c.ts, c.dev, h, sizeof(h));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c.main, SPICE_MSG_MAIN_AGENT_DISCONNECTED, &body, &size));
    g_free(body);
    g_test_assert_expected_messages();
    /* Removed and added again (the guest reopened its port): clean. */
    test_dev_remove(c.ts, c.dev);
    g_byte_array_set_size(c.dev->to_read, 0);
    test_dev_add(c.ts, c.dev);
    g_assert_true(
        test_client_wait_for(c.main, SPICE_MSG_MAIN_AGENT_CONNECTED_TOKENS, &body, &size));
    g_free(body);
    send_u32(c.main, SPICE_MSGC_MAIN_AGENT_START, 100);
    GByteArray *reply = agent_msg(VD_AGENT_REPLY, "\0\0\0\0\0\0\0\0", 8, 8);
    agent_writes(&c, VDP_CLIENT_PORT, reply);
    g_assert_true(test_client_wait_for(c.main, SPICE_MSG_MAIN_AGENT_DATA, &body, &size));
    g_assert_cmpmem(body, size, reply->data, reply->len);
    g_free(body);
    g_byte_array_unref(reply);
    close_ctx(&c, true);
}

/* The next MOUSE_MODE: current mode. */
static uint16_t expect_mouse_mode(TestClient *t, uint16_t *supported)
{
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(t, SPICE_MSG_MAIN_MOUSE_MODE, &body, &size));
    *supported = spice_wire_get_u16(body);
    uint16_t current = spice_wire_get_u16(body + 2);
    g_free(body);
    return current;
}

/* No tablet: the agent makes client mouse mode possible, and the
 * client's positions reach it as VD_AGENT_MOUSE_STATE (port 2). */
static void test_agent_mouse(void)
{
    Ctx c;
    open_ctx_cfg(&c, false, true);
    uint16_t supported;
    test_dev_add(c.ts, c.dev);
    while (expect_mouse_mode(c.main, &supported), !(supported & SPICE_MOUSE_MODE_CLIENT)) {
    }
    uint8_t req[2];
    spice_wire_put_u16(req, SPICE_MOUSE_MODE_CLIENT);
    g_assert_true(test_client_send(c.main, SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST, req, 2));
    while (expect_mouse_mode(c.main, &supported) != SPICE_MOUSE_MODE_CLIENT) {
    }
    TestClient *in = test_client_connect(test_server_port(c.ts));
    TestLinkParams p = { .connection_id = c.session, .channel_type = SPICE_CHANNEL_INPUTS };
    g_assert_true(test_client_link(in, &p));
    uint8_t pos[11];
    spice_wire_put_u32(pos, 300);
    spice_wire_put_u32(pos + 4, 200);
    spice_wire_put_u16(pos + 8, SPICE_MOUSE_BUTTON_MASK_LEFT);
    pos[10] = 0;
    g_assert_true(test_client_send(in, SPICE_MSGC_INPUTS_MOUSE_POSITION, pos, sizeof(pos)));
    uint32_t port, size;
    g_autofree uint8_t *m = take_chunk(&c, &port, &size);
    g_assert_cmpuint(port, ==, VDP_SERVER_PORT);
    g_assert_cmpuint(size, ==, MSG_HEADER + 13);
    g_assert_cmpuint(spice_wire_get_u32(m + 4), ==, VD_AGENT_MOUSE_STATE);
    g_assert_cmpuint(spice_wire_get_u32(m + MSG_HEADER), ==, 300);
    g_assert_cmpuint(spice_wire_get_u32(m + MSG_HEADER + 4), ==, 200);
    g_assert_cmpuint(spice_wire_get_u32(m + MSG_HEADER + 8), ==, VD_AGENT_LBUTTON_MASK);

    /* The agent goes: client mode is no longer possible. */
    test_dev_remove(c.ts, c.dev);
    while (expect_mouse_mode(c.main, &supported) != SPICE_MOUSE_MODE_SERVER) {
    }
    g_assert_false(supported & SPICE_MOUSE_MODE_CLIENT);
    test_client_free(in);
    close_ctx(&c, false);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/agent/relay", test_relay);
    g_test_add_func("/agent/device-comes-and-goes", test_device_comes_and_goes);
    g_test_add_func("/agent/switches-off", test_switches_off);
    g_test_add_func("/agent/hostile-client", test_hostile_client);
    g_test_add_func("/agent/hostile-agent", test_hostile_agent);
    g_test_add_func("/agent/mouse", test_agent_mouse);
    return g_test_run();
}
