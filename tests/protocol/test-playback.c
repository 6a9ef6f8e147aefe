/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-playback.c: the playback plugin over real sockets, with the test
 * as the host's sound card: the channel exists only while a playback
 * instance is added; MODE, then START when playing; DATA frames of 480
 * stereo samples stamped with the multimedia clock; VOLUME and MUTE; STOP;
 * a client that does not read gets the newest audio and the host is
 * never blocked; a second client replaces the first; a client message of
 * its own disconnects; the multimedia clock: MULTIMEDIA_TIME on main while
 * no audio plays, LATENCY on playback while it does, for the latency a
 * stream asks for (a fixture plugin stands in for the display's streams).
 */
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

#define FRAME_BYTES (480 * 4)

static const SpicePlaybackInterface pb_iface = {
    .base = { SPICE_INTERFACE_PLAYBACK, "test playback", SPICE_INTERFACE_PLAYBACK_MAJOR,
              SPICE_INTERFACE_PLAYBACK_MINOR },
};
static SpicePlaybackInstance pb = { { &pb_iface.base }, NULL };

static void add_card(TestServer *ts, void *opaque)
{
    (void)opaque;
    g_assert_cmpint(spice_server_add_interface(test_server_get(ts), &pb.base), ==, 0);
    g_assert_cmpuint(spice_server_get_best_playback_rate(&pb), ==, 48000);
    spice_server_set_playback_rate(&pb, 48000);
}

static void remove_card(TestServer *ts, void *opaque)
{
    (void)ts, (void)opaque;
    g_assert_cmpint(spice_server_remove_interface(&pb.base), ==, 0);
}

static void start_playing(TestServer *ts, void *opaque)
{
    (void)ts, (void)opaque;
    spice_server_playback_start(&pb);
}

static void stop_playing(TestServer *ts, void *opaque)
{
    (void)ts, (void)opaque;
    spice_server_playback_stop(&pb);
}

static void set_volume(TestServer *ts, void *opaque)
{
    (void)ts, (void)opaque;
    uint16_t v[2] = { 1000, 2000 };
    spice_server_playback_set_volume(&pb, 2, v);
    spice_server_playback_set_mute(&pb, 1);
}

/* Put *count frames (filled with their index); *count becomes how many
 * buffers the server lent. */
static void put_frames(TestServer *ts, void *opaque)
{
    (void)ts;
    int *count = opaque;
    int lent = 0;
    for (int i = 0; i < *count; i++) {
        uint32_t *samples = NULL;
        uint32_t n = 0;
        spice_server_playback_get_buffer(&pb, &samples, &n);
        if (!samples) {
            continue;
        }
        g_assert_cmpuint(n, ==, 480);
        for (uint32_t k = 0; k < n; k++) {
            samples[k] = (uint32_t)i;
        }
        spice_server_playback_put_samples(&pb, samples);
        lent++;
    }
    *count = lent;
}

static uint32_t channels_listed(TestClient *main_cc, uint8_t type)
{
    g_assert_true(test_client_send(main_cc, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(main_cc, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size));
    uint32_t n = spice_wire_get_u32(body), found = 0;
    for (uint32_t i = 0; i < n; i++) {
        found += body[4 + 2 * i] == type;
    }
    g_free(body);
    return found;
}

static TestClient *link_playback(int port, uint32_t session)
{
    TestClient *c = test_client_connect(port);
    uint32_t caps = 1u << SPICE_PLAYBACK_CAP_VOLUME; /* no Opus: raw frames */
    TestLinkParams p = { .connection_id = session,
                         .channel_type = SPICE_CHANNEL_PLAYBACK,
                         .channel_caps = &caps,
                         .n_channel_caps = 1 };
    g_assert_true(test_client_link(c, &p));
    return c;
}

static void expect(TestClient *c, uint16_t want, uint8_t **body, uint32_t *size)
{
    uint16_t type;
    g_assert_true(test_client_recv(c, &type, body, size));
    g_assert_cmpuint(type, ==, want);
}

/* QEMU asks for the rate before it adds its instance. */
static void ask_rates(TestServer *ts, void *opaque)
{
    (void)ts, (void)opaque;
    g_assert_cmpuint(spice_server_get_best_playback_rate(NULL), ==, 48000);
    g_assert_cmpuint(spice_server_get_best_record_rate(NULL), ==, 48000);
}

static void test_no_card_no_channel(void)
{
    TestServer *ts = test_server_start(NULL);
    test_server_call(ts, ask_rates, NULL);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    g_assert_cmpuint(channels_listed(main_cc, SPICE_CHANNEL_PLAYBACK), ==, 0);
    test_client_free(main_cc);
    test_server_stop(ts);
}

static void test_stream(void)
{
    TestServer *ts = test_server_start(NULL);
    test_server_call(ts, add_card, NULL);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    g_assert_cmpuint(channels_listed(main_cc, SPICE_CHANNEL_PLAYBACK), ==, 1);
    test_server_call(ts, set_volume, NULL);
    TestClient *c = link_playback(test_server_port(ts), session);
    uint8_t *body;
    uint32_t size;
    expect(c, SPICE_MSG_PLAYBACK_MODE, &body, &size);
    g_assert_cmpuint(size, ==, 6);
    g_assert_cmpuint(spice_wire_get_u16(body + 4), ==, SPICE_AUDIO_DATA_MODE_RAW);
    g_free(body);
    expect(c, SPICE_MSG_PLAYBACK_VOLUME, &body, &size);
    g_assert_cmpuint(size, ==, 5);
    g_assert_cmpuint(body[0], ==, 2);
    g_assert_cmpuint(spice_wire_get_u16(body + 1), ==, 1000);
    g_assert_cmpuint(spice_wire_get_u16(body + 3), ==, 2000);
    g_free(body);
    expect(c, SPICE_MSG_PLAYBACK_MUTE, &body, &size);
    g_assert_cmpuint(size, ==, 1);
    g_assert_cmpuint(body[0], ==, 1);
    g_free(body);

    /* Not playing: the server lends buffers, but sends nothing. */
    test_server_call(ts, start_playing, NULL);
    expect(c, SPICE_MSG_PLAYBACK_START, &body, &size);
    g_assert_cmpuint(size, ==, 14);
    g_assert_cmpuint(spice_wire_get_u32(body), ==, 2);
    g_assert_cmpuint(spice_wire_get_u16(body + 4), ==, SPICE_AUDIO_FMT_S16);
    g_assert_cmpuint(spice_wire_get_u32(body + 6), ==, 48000);
    g_free(body);

    int count = 5;
    test_server_call(ts, put_frames, &count);
    g_assert_cmpint(count, ==, 5);
    uint32_t last_time = 0;
    for (int i = 0; i < 5; i++) {
        expect(c, SPICE_MSG_PLAYBACK_DATA, &body, &size);
        g_assert_cmpuint(size, ==, 4 + FRAME_BYTES);
        g_assert_cmpuint(spice_wire_get_u32(body + 4), ==, (uint32_t)i);
        uint32_t t = spice_wire_get_u32(body);
        g_assert_cmpuint(t, >=, last_time);
        last_time = t;
        g_free(body);
    }
    test_server_call(ts, stop_playing, NULL);
    expect(c, SPICE_MSG_PLAYBACK_STOP, &body, &size);
    g_assert_cmpuint(size, ==, 0);
    g_free(body);

    /* A message of the client's own: disconnected. */
    g_assert_true(test_client_send(c, SPICE_MSGC_RECORD_DATA, "x", 1));
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);
    test_client_free(main_cc);
    test_server_call(ts, remove_card, NULL);
    test_server_stop(ts);
}

/* A client that never reads: the host keeps getting buffers (it is never
 * blocked), the server keeps at most its bounded queue plus the newest
 * frame, and what arrives afterwards is recent. */
static void test_slow_client(void)
{
    TestServer *ts = test_server_start(NULL);
    test_server_call(ts, add_card, NULL);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *c = link_playback(test_server_port(ts), session);
    test_server_call(ts, start_playing, NULL);
    int count = 20000; /* 200 s of audio, 38 MB raw */
    test_server_call(ts, put_frames, &count);
    g_assert_cmpint(count, ==, 20000);
    uint8_t *body;
    uint32_t size;
    uint16_t type;
    int data = 0;
    uint32_t last = 0;
    while (test_client_recv(c, &type, &body, &size)) {
        if (type == SPICE_MSG_PLAYBACK_DATA) {
            data++;
            last = spice_wire_get_u32(body + 4);
        }
        g_free(body);
        if (last == 19999) {
            break;
        }
    }
    /* The last frame arrived; most of the middle was dropped (what did
     * arrive is the server's bounded queue plus what the kernel's socket
     * buffers took, a few MB on loopback). */
    g_assert_cmpuint(last, ==, 19999);
    g_assert_cmpint(data, <, 5000);
    g_test_message("%d of 20000 frames reached a client that did not read", data);
    test_client_free(c);
    test_client_free(main_cc);
    test_server_call(ts, remove_card, NULL);
    test_server_stop(ts);
}

/* A second client replaces the first. */
static void test_replaced(void)
{
    TestServer *ts = test_server_start(NULL);
    test_server_call(ts, add_card, NULL);
    test_server_call(ts, start_playing, NULL);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *first = link_playback(test_server_port(ts), session);
    uint8_t *body;
    uint32_t size;
    expect(first, SPICE_MSG_PLAYBACK_MODE, &body, &size);
    g_free(body);
    expect(first, SPICE_MSG_PLAYBACK_START, &body, &size);
    g_free(body);
    TestClient *second = link_playback(test_server_port(ts), session);
    g_assert_true(test_client_wait_closed(first, 5000));
    expect(second, SPICE_MSG_PLAYBACK_MODE, &body, &size);
    g_free(body);
    expect(second, SPICE_MSG_PLAYBACK_START, &body, &size);
    g_free(body);
    int count = 1;
    test_server_call(ts, put_frames, &count);
    expect(second, SPICE_MSG_PLAYBACK_DATA, &body, &size);
    g_free(body);
    test_client_free(first);
    test_client_free(second);
    test_client_free(main_cc);
    test_server_call(ts, remove_card, NULL);
    test_server_stop(ts);
}

static uint32_t now_ms(void)
{
    return (uint32_t)(g_get_monotonic_time() / 1000);
}

/* The next MULTIMEDIA_TIME on main is the clock minus latency_ms (the
 * test and the server share CLOCK_MONOTONIC). */
static void expect_mm_time(TestClient *main_cc, uint32_t latency_ms)
{
    uint8_t *body;
    uint32_t size;
    uint32_t before = now_ms();
    g_assert_true(test_client_wait_for(main_cc, SPICE_MSG_MAIN_MULTI_MEDIA_TIME, &body, &size));
    uint32_t after = now_ms();
    g_assert_cmpuint(size, ==, 4);
    int64_t behind = (int64_t)after - (int64_t)spice_wire_get_u32(body);
    g_free(body);
    g_test_message("MULTIMEDIA_TIME %" G_GINT64_FORMAT " ms behind (want %u)", behind, latency_ms);
    /* Sent after the request and just before it was read. */
    g_assert_cmpint(behind, >=, (int64_t)latency_ms);
    g_assert_cmpint(behind, <, (int64_t)latency_ms + 100 + (after - before));
}

/* The fixture asks for a latency; both main and playback hear it. */
static void ask_latency(TestClient *stream, uint32_t ms)
{
    uint8_t req[4];
    spice_wire_put_u32(req, ms);
    g_assert_true(test_client_send(stream, 101, req, sizeof(req)));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(stream, 101, &body, &size));
    g_assert_cmpuint(spice_wire_get_u32(body), ==, 2);
    g_free(body);
}

static void test_mm_clock(void)
{
    TestServerConfig cfg = { .plugin_path = FIXTURE_DIR,
                             .plugin_enable = "main,inputs,playback,latency" };
    TestServer *ts = test_server_start(&cfg);
    test_server_call(ts, add_card, NULL);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *c = test_client_connect(test_server_port(ts));
    uint32_t caps = (1u << SPICE_PLAYBACK_CAP_VOLUME) | (1u << SPICE_PLAYBACK_CAP_LATENCY);
    TestLinkParams p = { .connection_id = session,
                         .channel_type = SPICE_CHANNEL_PLAYBACK,
                         .channel_caps = &caps,
                         .n_channel_caps = 1 };
    g_assert_true(test_client_link(c, &p));
    TestClient *stream = test_client_connect(test_server_port(ts));
    TestLinkParams sp = { .connection_id = session, .channel_type = 203 };
    g_assert_true(test_client_link(stream, &sp));
    uint8_t *body;
    uint32_t size;
    expect(c, SPICE_MSG_PLAYBACK_MODE, &body, &size);
    g_free(body);

    /* No audio: main tells the client the clock, only when the latency
     * grows (500 after 700 is not sent; 900 is). */
    ask_latency(stream, 700);
    expect_mm_time(main_cc, 700);
    ask_latency(stream, 500);
    ask_latency(stream, 900);
    expect_mm_time(main_cc, 900);

    /* Audio runs the clock: the latency goes to playback as LATENCY. */
    test_server_call(ts, start_playing, NULL);
    expect(c, SPICE_MSG_PLAYBACK_START, &body, &size);
    g_free(body);
    ask_latency(stream, 300);
    expect(c, SPICE_MSG_PLAYBACK_LATENCY, &body, &size);
    g_assert_cmpuint(size, ==, 4);
    g_assert_cmpuint(spice_wire_get_u32(body), ==, 300);
    g_free(body);

    /* Audio stops: main takes the clock back at the default 400 ms (a
     * MULTIMEDIA_TIME for the 300 ms request would come first). */
    test_server_call(ts, stop_playing, NULL);
    expect(c, SPICE_MSG_PLAYBACK_STOP, &body, &size);
    g_free(body);
    expect_mm_time(main_cc, 400);

    /* The client leaving while audio plays gives the clock back too. */
    ask_latency(stream, 800);
    expect_mm_time(main_cc, 800);
    test_server_call(ts, start_playing, NULL);
    expect(c, SPICE_MSG_PLAYBACK_START, &body, &size);
    g_free(body);
    test_client_free(c);
    expect_mm_time(main_cc, 400);

    test_client_free(stream);
    test_client_free(main_cc);
    test_server_call(ts, stop_playing, NULL);
    test_server_call(ts, remove_card, NULL);
    test_server_stop(ts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/playback/no-card-no-channel", test_no_card_no_channel);
    g_test_add_func("/playback/stream", test_stream);
    g_test_add_func("/playback/slow-client", test_slow_client);
    g_test_add_func("/playback/replaced", test_replaced);
    g_test_add_func("/playback/mm-clock", test_mm_clock);
    return g_test_run();
}
