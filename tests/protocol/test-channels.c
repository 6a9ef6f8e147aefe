/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-channels.c: sessions, the main and inputs channels, framing limits
 * and hostile messages, over real sockets against an in-process server.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

#define WAIT_MS 5000

typedef struct Session {
    TestServer *ts;
    TestClient *main;
    TestClient *inputs;
    uint32_t id;
} Session;

static TestClient *link_channel(int port, uint32_t session, uint8_t type, uint8_t id)
{
    TestClient *c = test_client_connect(port);
    TestLinkParams p = { .connection_id = session, .channel_type = type, .channel_id = id };
    uint32_t scancode_cap = 1u << SPICE_INPUTS_CAP_KEY_SCANCODE;
    if (type == SPICE_CHANNEL_INPUTS) {
        p.channel_caps = &scancode_cap;
        p.n_channel_caps = 1;
    }
    if (!test_client_link(c, &p)) {
        test_client_free(c);
        return NULL;
    }
    return c;
}

static void session_open(Session *s, const TestServerConfig *cfg)
{
    s->ts = test_server_start(cfg);
    g_assert_nonnull(s->ts);
    int port = test_server_port(s->ts);
    s->main = test_client_main(port, cfg ? cfg->password : NULL, &s->id);
    g_assert_nonnull(s->main);
    s->inputs = link_channel(port, s->id, SPICE_CHANNEL_INPUTS, 0);
    g_assert_nonnull(s->inputs);
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(s->inputs, SPICE_MSG_INPUTS_INIT, &body, &size));
    g_assert_cmpuint(size, ==, 2);
    g_free(body);
    g_assert_true(test_server_expect_event(s->ts, "channel initialized 3 0", WAIT_MS));
}

static void session_close(Session *s)
{
    test_client_free(s->inputs);
    test_client_free(s->main);
    test_server_stop(s->ts);
}

static void send_u32(TestClient *c, uint16_t type, uint32_t v)
{
    uint8_t b[4];
    spice_wire_put_u32(b, v);
    g_assert_true(test_client_send(c, type, b, 4));
}

static void expect(Session *s, const char *event)
{
    if (!test_server_expect_event(s->ts, event, WAIT_MS)) {
        g_error("expected event '%s'", event);
    }
}

/* The main channel still answers: ATTACH_CHANNELS -> CHANNELS_LIST. */
static void assert_main_alive(TestClient *main)
{
    g_assert_true(test_client_send(main, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(main, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size));
    g_free(body);
}

static void test_main_init_and_pings(void)
{
    TestServer *ts = test_server_start(NULL);
    TestClient *c = test_client_connect(test_server_port(ts));
    uint32_t name_cap = 1u << SPICE_MAIN_CAP_NAME_AND_UUID;
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN,
                         .channel_caps = &name_cap,
                         .n_channel_caps = 1 };
    g_assert_true(test_client_link(c, &p));
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_recv(c, &type, &body, &size));
    g_assert_cmpuint(type, ==, SPICE_MSG_MAIN_INIT);
    g_assert_cmpuint(size, ==, 32);
    g_assert_cmpuint(spice_wire_get_u32(body), !=, 0);       /* session */
    g_assert_cmpuint(spice_wire_get_u32(body + 4), ==, 0);   /* no displays */
    g_assert_cmpuint(spice_wire_get_u32(body + 8), ==, 3);   /* server|client */
    g_assert_cmpuint(spice_wire_get_u32(body + 12), ==, 1);  /* server mode */
    g_assert_cmpuint(spice_wire_get_u32(body + 16), ==, 0);  /* no agent */
    g_assert_cmpuint(spice_wire_get_u32(body + 20), ==, 64); /* agent tokens */
    g_free(body);
    /* Network test: three pings, the last with a 250 KiB payload. */
    uint32_t payloads[3];
    for (int i = 0; i < 3; i++) {
        g_assert_true(test_client_recv(c, &type, &body, &size));
        g_assert_cmpuint(type, ==, SPICE_MSG_PING);
        payloads[i] = size - 12;
        g_assert_true(test_client_send(c, SPICE_MSGC_PONG, body, 12));
        g_free(body);
    }
    g_assert_cmpuint(payloads[0], ==, 0);
    g_assert_cmpuint(payloads[1], ==, 0);
    g_assert_cmpuint(payloads[2], ==, 250 * 1024);
    assert_main_alive(c);
    test_client_free(c);
    test_server_stop(ts);
}

static void set_name_uuid(SpiceServer *s, void *opaque)
{
    static const uint8_t uuid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    (void)opaque;
    spice_server_set_name(s, "test vm");
    spice_server_set_uuid(s, uuid);
}

static void test_main_name_uuid(void)
{
    TestServerConfig cfg = { .setup = set_name_uuid };
    TestServer *ts = test_server_start(&cfg);
    TestClient *c = test_client_connect(test_server_port(ts));
    uint32_t name_cap = 1u << SPICE_MAIN_CAP_NAME_AND_UUID;
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN,
                         .channel_caps = &name_cap,
                         .n_channel_caps = 1 };
    g_assert_true(test_client_link(c, &p));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_NAME, &body, &size));
    g_assert_cmpuint(spice_wire_get_u32(body), ==, 8);
    g_assert_cmpstr((char *)body + 4, ==, "test vm");
    g_free(body);
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_UUID, &body, &size));
    g_assert_cmpuint(size, ==, 16);
    g_assert_cmpuint(body[15], ==, 16);
    g_free(body);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_session_replaced(void)
{
    Session s;
    session_open(&s, NULL);
    int port = test_server_port(s.ts);
    uint32_t id2;
    TestClient *second = test_client_main(port, NULL, &id2);
    g_assert_nonnull(second);
    g_assert_cmpuint(id2, !=, s.id);
    /* The first client's channels are closed. */
    g_assert_true(test_client_wait_closed(s.main, WAIT_MS));
    g_assert_true(test_client_wait_closed(s.inputs, WAIT_MS));
    /* Its session id no longer joins. */
    TestClient *late = test_client_connect(port);
    TestLinkParams p = { .connection_id = s.id, .channel_type = SPICE_CHANNEL_INPUTS };
    g_assert_false(test_client_link(late, &p));
    g_assert_cmpuint(late->link_result, ==, SPICE_LINK_ERR_BAD_CONNECTION_ID);
    test_client_free(late);
    assert_main_alive(second);
    test_client_free(second);
    session_close(&s);
}

static void test_main_disconnect_ends_session(void)
{
    Session s;
    session_open(&s, NULL);
    test_client_free(s.main);
    s.main = NULL;
    g_assert_true(test_client_wait_closed(s.inputs, WAIT_MS));
    test_client_free(s.inputs);
    s.inputs = NULL;
    test_server_stop(s.ts);
}

static void test_inputs_keys(void)
{
    Session s;
    session_open(&s, NULL);
    test_server_clear_events(s.ts);
    send_u32(s.inputs, SPICE_MSGC_INPUTS_KEY_DOWN, 0x1e);
    send_u32(s.inputs, SPICE_MSGC_INPUTS_KEY_UP, 0x9e);
    expect(&s, "key 0x1e");
    expect(&s, "key 0x9e");
    /* Extended key: bytes E0 48 (cursor up), lowest byte first. */
    send_u32(s.inputs, SPICE_MSGC_INPUTS_KEY_DOWN, 0x48e0);
    expect(&s, "key 0xe0");
    expect(&s, "key 0x48");
    send_u32(s.inputs, SPICE_MSGC_INPUTS_KEY_UP, 0xc8e0);
    expect(&s, "key 0xe0");
    expect(&s, "key 0xc8");
    /* Pause: E1 1D 45 E1 9D C5 via KEY_SCANCODE. */
    static const uint8_t pause[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
    g_assert_true(test_client_send(s.inputs, SPICE_MSGC_INPUTS_KEY_SCANCODE, pause, 6));
    expect(&s, "key 0xe1");
    expect(&s, "key 0x1d");
    expect(&s, "key 0x45");
    expect(&s, "key 0xe1");
    expect(&s, "key 0x9d");
    expect(&s, "key 0xc5");
    session_close(&s);
}

static void test_inputs_release_on_disconnect(void)
{
    Session s;
    session_open(&s, NULL);
    test_server_clear_events(s.ts);
    send_u32(s.inputs, SPICE_MSGC_INPUTS_KEY_DOWN, 0x2a);   /* left shift */
    send_u32(s.inputs, SPICE_MSGC_INPUTS_KEY_DOWN, 0x1de0); /* right ctrl */
    expect(&s, "key 0x2a");
    expect(&s, "key 0x1d");
    test_client_free(s.inputs);
    s.inputs = NULL;
    expect(&s, "key 0xaa");
    expect(&s, "key 0xe0");
    expect(&s, "key 0x9d");
    session_close(&s);
}

static void test_inputs_modifiers(void)
{
    Session s;
    session_open(&s, NULL);
    test_server_clear_events(s.ts);
    uint8_t mods[2];
    spice_wire_put_u16(mods, SPICE_KEYBOARD_MODIFIER_FLAGS_CAPS_LOCK |
                                 SPICE_KEYBOARD_MODIFIER_FLAGS_NUM_LOCK);
    g_assert_true(test_client_send(s.inputs, SPICE_MSGC_INPUTS_KEY_MODIFIERS, mods, 2));
    /* Num lock then caps lock, each pressed and released. */
    expect(&s, "key 0x45");
    expect(&s, "key 0xc5");
    expect(&s, "key 0x3a");
    expect(&s, "key 0xba");
    /* Same state again: nothing to press. */
    g_assert_true(test_client_send(s.inputs, SPICE_MSGC_INPUTS_KEY_MODIFIERS, mods, 2));
    send_u32(s.inputs, SPICE_MSGC_INPUTS_KEY_DOWN, 0x10);
    expect(&s, "key 0x10");
    session_close(&s);
}

static void kbd_leds_caps(TestServer *ts, void *opaque)
{
    (void)opaque;
    g_assert_cmpint(spice_server_kbd_leds(test_server_keyboard(ts), 4), ==, 0);
}

static void test_inputs_kbd_leds(void)
{
    Session s;
    session_open(&s, NULL);
    test_server_call(s.ts, kbd_leds_caps, NULL);
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(s.inputs, SPICE_MSG_INPUTS_KEY_MODIFIERS, &body, &size));
    g_assert_cmpuint(size, ==, 2);
    g_assert_cmpuint(spice_wire_get_u16(body), ==, 4);
    g_free(body);
    session_close(&s);
}

static void send_motion(TestClient *c, int32_t dx, int32_t dy, uint16_t buttons)
{
    uint8_t b[10];
    spice_wire_put_u32(b, (uint32_t)dx);
    spice_wire_put_u32(b + 4, (uint32_t)dy);
    spice_wire_put_u16(b + 8, buttons);
    g_assert_true(test_client_send(c, SPICE_MSGC_INPUTS_MOUSE_MOTION, b, 10));
}

static void send_button(TestClient *c, uint16_t type, uint8_t button, uint16_t buttons)
{
    uint8_t b[3] = { button };
    spice_wire_put_u16(b + 1, buttons);
    g_assert_true(test_client_send(c, type, b, 3));
}

static void test_inputs_server_mouse(void)
{
    TestServerConfig cfg = { .no_tablet = true };
    Session s;
    session_open(&s, &cfg);
    test_server_clear_events(s.ts);
    send_motion(s.inputs, 5, -3, 0);
    expect(&s, "mouse motion dx=5 dy=-3 dz=0 buttons=0x0");
    /* Buttons: middle and right swap on the way to the host. */
    send_motion(s.inputs, 1, 1, SPICE_MOUSE_BUTTON_MASK_RIGHT);
    expect(&s, "mouse motion dx=1 dy=1 dz=0 buttons=0x2");
    send_motion(s.inputs, 0, 0, SPICE_MOUSE_BUTTON_MASK_MIDDLE);
    expect(&s, "mouse motion dx=0 dy=0 dz=0 buttons=0x4");
    send_motion(s.inputs, -7, 9, 0);
    expect(&s, "mouse motion dx=-7 dy=9 dz=0 buttons=0x0");
    /* Four motions: one MOTION_ACK. */
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(s.inputs, SPICE_MSG_INPUTS_MOUSE_MOTION_ACK, &body, &size));
    g_assert_cmpuint(size, ==, 0);
    g_free(body);
    /* Wheel and buttons. */
    send_button(s.inputs, SPICE_MSGC_INPUTS_MOUSE_PRESS, SPICE_MOUSE_BUTTON_UP, 0);
    expect(&s, "mouse motion dx=0 dy=0 dz=-1 buttons=0x0");
    send_button(s.inputs, SPICE_MSGC_INPUTS_MOUSE_PRESS, SPICE_MOUSE_BUTTON_DOWN, 0);
    expect(&s, "mouse motion dx=0 dy=0 dz=1 buttons=0x0");
    send_button(s.inputs, SPICE_MSGC_INPUTS_MOUSE_PRESS, SPICE_MOUSE_BUTTON_LEFT,
                SPICE_MOUSE_BUTTON_MASK_LEFT);
    expect(&s, "mouse motion dx=0 dy=0 dz=0 buttons=0x1");
    send_button(s.inputs, SPICE_MSGC_INPUTS_MOUSE_RELEASE, SPICE_MOUSE_BUTTON_LEFT, 0);
    expect(&s, "mouse buttons 0x0");
    session_close(&s);
}

static void test_inputs_client_mouse(void)
{
    Session s;
    session_open(&s, NULL);
    uint8_t mode[2];
    spice_wire_put_u16(mode, SPICE_MOUSE_MODE_CLIENT);
    g_assert_true(test_client_send(s.main, SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST, mode, 2));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(s.main, SPICE_MSG_MAIN_MOUSE_MODE, &body, &size));
    g_assert_cmpuint(spice_wire_get_u16(body), ==, 3);
    g_assert_cmpuint(spice_wire_get_u16(body + 2), ==, SPICE_MOUSE_MODE_CLIENT);
    g_free(body);
    test_server_clear_events(s.ts);

    uint8_t pos[11];
    spice_wire_put_u32(pos, 100);
    spice_wire_put_u32(pos + 4, 200);
    spice_wire_put_u16(pos + 8, 0);
    pos[10] = 0;
    g_assert_true(test_client_send(s.inputs, SPICE_MSGC_INPUTS_MOUSE_POSITION, pos, 11));
    expect(&s, "tablet position x=100 y=200 buttons=0x0");
    send_button(s.inputs, SPICE_MSGC_INPUTS_MOUSE_PRESS, SPICE_MOUSE_BUTTON_DOWN, 0);
    expect(&s, "tablet wheel dz=1 buttons=0x0");
    send_button(s.inputs, SPICE_MSGC_INPUTS_MOUSE_PRESS, SPICE_MOUSE_BUTTON_RIGHT,
                SPICE_MOUSE_BUTTON_MASK_RIGHT);
    expect(&s, "tablet wheel dz=0 buttons=0x2");
    send_button(s.inputs, SPICE_MSGC_INPUTS_MOUSE_RELEASE, SPICE_MOUSE_BUTTON_RIGHT, 0);
    expect(&s, "tablet buttons 0x0");
    /* Relative motion is not delivered in client mode. */
    send_motion(s.inputs, 3, 3, 0);
    spice_wire_put_u32(pos, 7);
    g_assert_true(test_client_send(s.inputs, SPICE_MSGC_INPUTS_MOUSE_POSITION, pos, 11));
    g_autofree char *ev = test_server_next_event(s.ts, WAIT_MS);
    g_assert_cmpstr(ev, ==, "tablet position x=7 y=200 buttons=0x0");

    /* Back to server mode. */
    spice_wire_put_u16(mode, SPICE_MOUSE_MODE_SERVER);
    g_assert_true(test_client_send(s.main, SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST, mode, 2));
    g_assert_true(test_client_wait_for(s.main, SPICE_MSG_MAIN_MOUSE_MODE, &body, &size));
    g_assert_cmpuint(spice_wire_get_u16(body + 2), ==, SPICE_MOUSE_MODE_SERVER);
    g_free(body);
    session_close(&s);
}

static void test_client_mode_refused_without_tablet(void)
{
    TestServerConfig cfg = { .no_tablet = true };
    Session s;
    session_open(&s, &cfg);
    uint8_t mode[2];
    spice_wire_put_u16(mode, SPICE_MOUSE_MODE_CLIENT);
    g_assert_true(test_client_send(s.main, SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST, mode, 2));
    /* No MOUSE_MODE comes back; the session still works in server mode. */
    assert_main_alive(s.main);
    test_server_clear_events(s.ts);
    send_motion(s.inputs, 1, 2, 0);
    expect(&s, "mouse motion dx=1 dy=2 dz=0 buttons=0x0");
    session_close(&s);
}

/* Hostile and malformed messages: the channel goes, the session stays. */
static void check_inputs_dropped(Session *s)
{
    g_assert_true(test_client_wait_closed(s->inputs, WAIT_MS));
    assert_main_alive(s->main);
    /* Inputs can be linked again. */
    TestClient *again = link_channel(test_server_port(s->ts), s->id, SPICE_CHANNEL_INPUTS, 0);
    g_assert_nonnull(again);
    test_client_free(again);
}

static void test_hostile_oversized(void)
{
    Session s;
    session_open(&s, NULL);
    uint8_t header[6];
    spice_wire_put_u16(header, SPICE_MSGC_INPUTS_KEY_SCANCODE);
    spice_wire_put_u32(header + 2, 2049); /* limit is 2048 */
    g_assert_true(test_client_write(s.inputs, header, 6));
    check_inputs_dropped(&s);
    session_close(&s);
}

static void test_hostile_huge_size(void)
{
    Session s;
    session_open(&s, NULL);
    uint8_t header[6];
    spice_wire_put_u16(header, SPICE_MSGC_MAIN_AGENT_DATA);
    spice_wire_put_u32(header + 2, 0xffffffff);
    g_assert_true(test_client_write(s.main, header, 6));
    g_assert_true(test_client_wait_closed(s.main, WAIT_MS));
    session_close(&s);
}

static void test_hostile_unknown_type(void)
{
    Session s;
    session_open(&s, NULL);
    g_assert_true(test_client_send(s.inputs, 250, "x", 1));
    check_inputs_dropped(&s);
    session_close(&s);
}

static void test_hostile_short_messages(void)
{
    static const struct {
        uint16_t type;
        uint32_t size;
    } cases[] = {
        { SPICE_MSGC_INPUTS_KEY_DOWN, 3 },
        { SPICE_MSGC_INPUTS_KEY_UP, 0 },
        { SPICE_MSGC_INPUTS_KEY_MODIFIERS, 1 },
        { SPICE_MSGC_INPUTS_MOUSE_MOTION, 9 },
        { SPICE_MSGC_INPUTS_MOUSE_POSITION, 10 },
        { SPICE_MSGC_INPUTS_MOUSE_PRESS, 2 },
        { SPICE_MSGC_INPUTS_MOUSE_RELEASE, 0 },
        { SPICE_MSGC_ACK_SYNC, 2 },
        { SPICE_MSGC_PONG, 11 },
        { SPICE_MSGC_MIGRATE_DATA, 4 },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        Session s;
        session_open(&s, NULL);
        uint8_t junk[16] = { 0xff };
        g_assert_true(test_client_send(s.inputs, cases[i].type, junk, cases[i].size));
        check_inputs_dropped(&s);
        session_close(&s);
    }
}

static void test_hostile_main_messages(void)
{
    static const struct {
        uint16_t type;
        uint32_t size;
    } cases[] = {
        { SPICE_MSGC_MAIN_MOUSE_MODE_REQUEST, 1 },
        { SPICE_MSGC_MAIN_AGENT_START, 3 },
        { SPICE_MSGC_MAIN_CLIENT_INFO, 7 },
        { 3000, 0 },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        Session s;
        session_open(&s, NULL);
        uint8_t junk[16] = { 0 };
        g_assert_true(test_client_send(s.main, cases[i].type, junk, cases[i].size));
        g_assert_true(test_client_wait_closed(s.main, WAIT_MS));
        /* Losing main ends the session: inputs goes too. */
        g_assert_true(test_client_wait_closed(s.inputs, WAIT_MS));
        session_close(&s);
    }
}

static void test_agent_messages_refused_cleanly(void)
{
    Session s;
    session_open(&s, NULL);
    send_u32(s.main, SPICE_MSGC_MAIN_AGENT_START, 0xffffffff);
    g_assert_true(test_client_send(s.main, SPICE_MSGC_MAIN_AGENT_DATA, "hello", 5));
    send_u32(s.main, SPICE_MSGC_MAIN_AGENT_TOKEN, 5);
    assert_main_alive(s.main);
    session_close(&s);
}

static void test_split_and_batched_messages(void)
{
    /* Several messages in one write, and one message across writes. */
    Session s;
    session_open(&s, NULL);
    test_server_clear_events(s.ts);
    uint8_t buf[3 * 10];
    for (int i = 0; i < 3; i++) {
        spice_wire_put_u16(buf + 10 * i, SPICE_MSGC_INPUTS_KEY_DOWN);
        spice_wire_put_u32(buf + 10 * i + 2, 4);
        spice_wire_put_u32(buf + 10 * i + 6, (uint32_t)(0x10 + i));
    }
    g_assert_true(test_client_write(s.inputs, buf, sizeof(buf)));
    expect(&s, "key 0x10");
    expect(&s, "key 0x11");
    expect(&s, "key 0x12");
    for (unsigned i = 0; i < 10; i++) {
        g_assert_true(test_client_write(s.inputs, buf + i, 1));
        g_usleep(1000);
    }
    expect(&s, "key 0x10");
    session_close(&s);
}

static void test_channel_events(void)
{
    TestServer *ts = test_server_start(NULL);
    uint32_t session;
    TestClient *c = test_client_main(test_server_port(ts), NULL, &session);
    g_assert_true(test_server_expect_event(ts, "channel connected 0 0", WAIT_MS));
    g_assert_true(test_server_expect_event(ts, "channel initialized 1 0", WAIT_MS));
    test_client_free(c);
    g_assert_true(test_server_expect_event(ts, "channel disconnected 1 0", WAIT_MS));
    test_server_stop(ts);
}

static void test_disabled_channel(void)
{
    TestServerConfig cfg = {
        .plugin_disable = "inputs", .no_keyboard = true, .no_mouse = true, .no_tablet = true
    };
    TestServer *ts = test_server_start(&cfg);
    g_assert_nonnull(ts);
    uint32_t session;
    TestClient *c = test_client_main(test_server_port(ts), NULL, &session);
    g_assert_true(test_client_send(c, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size));
    g_assert_cmpuint(spice_wire_get_u32(body), ==, 0);
    g_free(body);
    TestClient *in = test_client_connect(test_server_port(ts));
    TestLinkParams p = { .connection_id = session, .channel_type = SPICE_CHANNEL_INPUTS };
    g_assert_false(test_client_link(in, &p));
    g_assert_cmpuint(in->link_error, ==, SPICE_LINK_ERR_CHANNEL_NOT_AVAILABLE);
    test_client_free(in);
    test_client_free(c);
    test_server_stop(ts);
}

static void ticket_disconnect(TestServer *ts, void *opaque)
{
    int *rc = opaque;
    SpiceServer *s = test_server_get(ts);
    rc[0] = spice_server_set_ticket(s, "new", 0, 1, 0); /* fail if connected */
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    rc[1] = spice_server_get_num_clients(s);
    G_GNUC_END_IGNORE_DEPRECATIONS
    rc[2] = spice_server_set_ticket(s, "new", 0, 0, 1); /* disconnect */
}

static void test_set_ticket_connected(void)
{
    Session s;
    session_open(&s, NULL);
    int rc[3];
    test_server_call(s.ts, ticket_disconnect, rc);
    g_assert_cmpint(rc[0], ==, -1);
    g_assert_cmpint(rc[1], ==, 1);
    g_assert_cmpint(rc[2], ==, 0);
    g_assert_true(test_client_wait_closed(s.main, WAIT_MS));
    g_assert_true(test_client_wait_closed(s.inputs, WAIT_MS));
    session_close(&s);
}

static void socket_infos(TestServer *ts, void *opaque)
{
    int *rc = opaque;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    rc[0] = spice_server_get_sock_info(test_server_get(ts), (struct sockaddr *)&ss, &len);
    rc[1] = ss.ss_family;
    len = sizeof(ss);
    rc[2] = spice_server_get_peer_info(test_server_get(ts), (struct sockaddr *)&ss, &len);
    G_GNUC_END_IGNORE_DEPRECATIONS
    rc[3] = spice_server_is_server_mouse(test_server_get(ts));
}

static void test_socket_info(void)
{
    Session s;
    session_open(&s, NULL);
    int rc[4];
    test_server_call(s.ts, socket_infos, rc);
    g_assert_cmpint(rc[0], ==, 0);
    g_assert_cmpint(rc[1], ==, AF_INET);
    g_assert_cmpint(rc[2], ==, 0);
    g_assert_cmpint(rc[3], ==, 1);
    session_close(&s);
}

static void add_client_skip_auth(TestServer *ts, void *opaque)
{
    int fd = *(int *)opaque;
    *(int *)opaque = spice_server_add_client(test_server_get(ts), fd, 1);
}

static void test_add_client(void)
{
    TestServerConfig cfg = { .password = "needed" };
    TestServer *ts = test_server_start(&cfg);
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    int arg = sv[0];
    test_server_call(ts, add_client_skip_auth, &arg);
    g_assert_cmpint(arg, ==, 0);
    TestClient *c = g_new0(TestClient, 1);
    c->fd = sv[1];
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN, .password = "anything" };
    g_assert_true(test_client_link(c, &p)); /* skip_auth */
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_INIT, &body, &size));
    g_free(body);
    test_client_free(c);
    test_server_stop(ts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/main/init-and-pings", test_main_init_and_pings);
    g_test_add_func("/main/name-uuid", test_main_name_uuid);
    g_test_add_func("/main/agent-refused-cleanly", test_agent_messages_refused_cleanly);
    g_test_add_func("/session/replaced", test_session_replaced);
    g_test_add_func("/session/main-disconnect-ends-session", test_main_disconnect_ends_session);
    g_test_add_func("/session/channel-events", test_channel_events);
    g_test_add_func("/session/disabled-channel", test_disabled_channel);
    g_test_add_func("/session/set-ticket-connected", test_set_ticket_connected);
    g_test_add_func("/session/socket-info", test_socket_info);
    g_test_add_func("/session/add-client", test_add_client);
    g_test_add_func("/inputs/keys", test_inputs_keys);
    g_test_add_func("/inputs/release-on-disconnect", test_inputs_release_on_disconnect);
    g_test_add_func("/inputs/modifiers", test_inputs_modifiers);
    g_test_add_func("/inputs/kbd-leds", test_inputs_kbd_leds);
    g_test_add_func("/inputs/server-mouse", test_inputs_server_mouse);
    g_test_add_func("/inputs/client-mouse", test_inputs_client_mouse);
    g_test_add_func("/inputs/client-mode-refused", test_client_mode_refused_without_tablet);
    g_test_add_func("/hostile/oversized", test_hostile_oversized);
    g_test_add_func("/hostile/huge-size", test_hostile_huge_size);
    g_test_add_func("/hostile/unknown-type", test_hostile_unknown_type);
    g_test_add_func("/hostile/short-messages", test_hostile_short_messages);
    g_test_add_func("/hostile/main-messages", test_hostile_main_messages);
    g_test_add_func("/framing/split-and-batched", test_split_and_batched_messages);
    return g_test_run();
}
