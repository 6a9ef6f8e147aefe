/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-flow.c: flow control on a channel with an ACK window (the echo
 * example plugin, channel type 240): SET_ACK / ACK_SYNC / ACK, the pull
 * model, and the bounds on what the server queues for a client that does
 * not read; a plugin pausing a client's input (the pause fixture, type
 * 204: ABI 1.4 channel_client_pause_input).
 */
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

#define ECHO_TYPE   240
#define ECHO_ECHO   101
#define ECHO_STREAM 102

typedef struct Flow {
    TestServer *ts;
    TestClient *main;
    TestClient *echo;
    uint32_t generation;
    uint32_t window;
} Flow;

static void flow_open(Flow *f)
{
    TestServerConfig cfg = { .plugin_path = FIXTURE_DIR, .plugin_enable = "inputs,echo" };
    f->ts = test_server_start(&cfg);
    g_assert_nonnull(f->ts);
    uint32_t session;
    f->main = test_client_main(test_server_port(f->ts), NULL, &session);
    g_assert_nonnull(f->main);
    f->echo = test_client_connect(test_server_port(f->ts));
    TestLinkParams p = { .connection_id = session, .channel_type = ECHO_TYPE };
    g_assert_true(test_client_link(f->echo, &p));
    /* The channel's caps from the link reply: ECHO_STREAM (bit 0). */
    g_assert_cmpuint(f->echo->server_caps->len, ==, 1);
    g_assert_cmpuint(g_array_index(f->echo->server_caps, uint32_t, 0), ==, 1);
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_recv(f->echo, &type, &body, &size));
    g_assert_cmpuint(type, ==, SPICE_MSG_SET_ACK);
    g_assert_cmpuint(size, ==, 8);
    f->generation = spice_wire_get_u32(body);
    f->window = spice_wire_get_u32(body + 4);
    g_assert_cmpuint(f->window, ==, 20);
    g_assert_true(test_client_send(f->echo, SPICE_MSGC_ACK_SYNC, body, 4));
    g_free(body);
}

static void flow_close(Flow *f)
{
    test_client_free(f->echo);
    test_client_free(f->main);
    test_server_stop(f->ts);
}

static bool readable_within(TestClient *c, int ms)
{
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    return poll(&pfd, 1, ms) > 0;
}

static void request_stream(TestClient *c, uint32_t count, uint32_t size)
{
    uint8_t b[8];
    spice_wire_put_u32(b, count);
    spice_wire_put_u32(b + 4, size);
    g_assert_true(test_client_send(c, ECHO_STREAM, b, 8));
}

static uint32_t read_data(TestClient *c, uint32_t expected_seq)
{
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_recv(c, &type, &body, &size));
    g_assert_cmpuint(type, ==, ECHO_STREAM);
    uint32_t seq = spice_wire_get_u32(body);
    g_assert_cmpuint(seq, ==, expected_seq);
    g_free(body);
    return seq;
}

static void test_echo(void)
{
    Flow f;
    flow_open(&f);
    g_assert_true(test_client_send(f.echo, ECHO_ECHO, "ping!", 5));
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_recv(f.echo, &type, &body, &size));
    g_assert_cmpuint(type, ==, ECHO_ECHO);
    g_assert_cmpmem(body, size, "ping!", 5);
    g_free(body);
    flow_close(&f);
}

static void test_ack_window(void)
{
    Flow f;
    flow_open(&f);
    request_stream(f.echo, 200, 100);
    /* Without ACKs the server stops after twice the window (+1). */
    uint32_t seq = 0;
    for (; seq < 2 * f.window + 1; seq++) {
        read_data(f.echo, seq);
    }
    g_assert_false(readable_within(f.echo, 300));
    /* Each ACK releases one window. */
    g_assert_true(test_client_send(f.echo, SPICE_MSGC_ACK, NULL, 0));
    for (uint32_t i = 0; i < f.window; i++, seq++) {
        read_data(f.echo, seq);
    }
    g_assert_false(readable_within(f.echo, 300));
    /* An ACK of the wrong generation does not count... */
    uint8_t gen[4];
    spice_wire_put_u32(gen, f.generation + 7);
    g_assert_true(test_client_send(f.echo, SPICE_MSGC_ACK_SYNC, gen, 4));
    g_assert_true(test_client_send(f.echo, SPICE_MSGC_ACK, NULL, 0));
    g_assert_false(readable_within(f.echo, 300));
    /* ...until the client syncs to the right one again. */
    spice_wire_put_u32(gen, f.generation);
    g_assert_true(test_client_send(f.echo, SPICE_MSGC_ACK_SYNC, gen, 4));
    /* Then a well-behaved client (ACK every window messages) gets all. */
    uint32_t since_ack = 0;
    g_assert_true(test_client_send(f.echo, SPICE_MSGC_ACK, NULL, 0));
    for (; seq < 200; seq++) {
        read_data(f.echo, seq);
        if (++since_ack == f.window) {
            since_ack = 0;
            g_assert_true(test_client_send(f.echo, SPICE_MSGC_ACK, NULL, 0));
        }
    }
    g_assert_false(readable_within(f.echo, 200));
    flow_close(&f);
}

static long rss_kib(void)
{
    g_autofree char *status = NULL;
    g_assert_true(g_file_get_contents("/proc/self/status", &status, NULL, NULL));
    const char *p = strstr(status, "VmRSS:");
    g_assert_nonnull(p);
    return strtol(p + 6, NULL, 10);
}

static void test_blind_acks_stay_bounded(void)
{
    /* A client that acknowledges without reading: the outgoing queue, not
     * the ACK window, must stop the producer. 20000 x 64 KiB = 1.3 GB
     * would be produced if nothing bounded it. */
    Flow f;
    flow_open(&f);
    long before = rss_kib();
    request_stream(f.echo, 20000, 64 * 1024);
    for (int i = 0; i < 1000; i++) {
        g_assert_true(test_client_send(f.echo, SPICE_MSGC_ACK, NULL, 0));
    }
    g_usleep(500 * 1000);
    long grown = rss_kib() - before;
    g_test_message("RSS grew by %ld KiB while the client did not read", grown);
    g_assert_cmpint(grown, <, 32 * 1024);
    /* The main channel is unaffected. */
    g_assert_true(test_client_send(f.main, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(f.main, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size));
    /* inputs and echo are listed. */
    g_assert_cmpuint(spice_wire_get_u32(body), ==, 2);
    g_free(body);
    flow_close(&f);
}

static void test_not_reading_disconnects(void)
{
    /* Echo replies are pushed, not pulled: a client that sends and never
     * reads hits the hard queue limit and is disconnected. */
    Flow f;
    flow_open(&f);
    guint8 *chunk = g_malloc0(60 * 1024);
    bool closed = false;
    for (int i = 0; i < 2000 && !closed; i++) {
        closed = !test_client_send(f.echo, ECHO_ECHO, chunk, 60 * 1024);
    }
    g_free(chunk);
    if (!closed) {
        closed = test_client_wait_closed(f.echo, 10000);
    }
    g_assert_true(closed);
    /* Only that channel went; the session lives on. */
    g_assert_true(test_client_send(f.main, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(f.main, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size));
    g_free(body);
    flow_close(&f);
}

static void test_bad_stream_request(void)
{
    Flow f;
    flow_open(&f);
    request_stream(f.echo, 10, 3); /* size below 4: rejected by the plugin */
    g_assert_true(test_client_wait_closed(f.echo, 5000));
    flow_close(&f);
}

#define PAUSE_TYPE  204
#define PAUSE_PAUSE 101
#define PAUSE_ECHO  102

static int64_t now_ms(void)
{
    return g_get_monotonic_time() / 1000;
}

/* The next ECHO reply: its was_paused flag and text. */
static void expect_pause_echo(TestClient *c, const char *text)
{
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, PAUSE_ECHO, &body, &size));
    g_assert_cmpuint(size, ==, 1 + strlen(text));
    /* The plugin never got a message while it had paused the input. */
    g_assert_cmpuint(body[0], ==, 0);
    g_assert_cmpmem(body + 1, size - 1, text, strlen(text));
    g_free(body);
}

static void send_pause(TestClient *c, uint32_t ms)
{
    uint8_t req[4];
    spice_wire_put_u32(req, ms);
    g_assert_true(test_client_send(c, PAUSE_PAUSE, req, sizeof(req)));
}

static void test_pause_input(void)
{
    TestServerConfig cfg = { .plugin_path = FIXTURE_DIR, .plugin_enable = "inputs,pause" };
    TestServer *ts = test_server_start(&cfg);
    uint32_t session;
    TestClient *main_cc = test_client_main(test_server_port(ts), NULL, &session);
    TestClient *c = test_client_connect(test_server_port(ts));
    TestLinkParams p = { .connection_id = session, .channel_type = PAUSE_TYPE };
    g_assert_true(test_client_link(c, &p));

    /* Paused for 300 ms: the reply to PAUSE comes at once (output flows),
     * the echoes sent right behind it only after the pause, in order. */
    /* One write, so that the server reads all three at once and must
     * keep the two echoes in its buffer. */
    g_assert_true(c->mini_header);
    uint8_t burst[3 * 6 + 4 + 1 + 1];
    uint8_t *w = burst;
    spice_wire_put_u16(w, PAUSE_PAUSE), spice_wire_put_u32(w + 2, 4), w += 6;
    spice_wire_put_u32(w, 300), w += 4;
    spice_wire_put_u16(w, PAUSE_ECHO), spice_wire_put_u32(w + 2, 1), w += 6;
    *w++ = 'a';
    spice_wire_put_u16(w, PAUSE_ECHO), spice_wire_put_u32(w + 2, 1), w += 6;
    *w++ = 'b';
    int64_t t0 = now_ms();
    g_assert_true(test_client_write(c, burst, sizeof(burst)));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, PAUSE_PAUSE, &body, &size));
    g_free(body);
    g_assert_cmpint(now_ms() - t0, <, 250);
    expect_pause_echo(c, "a");
    g_assert_cmpint(now_ms() - t0, >=, 290);
    expect_pause_echo(c, "b");

    /* Resumed inside the callback that paused: nothing waits. */
    t0 = now_ms();
    send_pause(c, 0);
    g_assert_true(test_client_send(c, PAUSE_ECHO, "c", 1));
    expect_pause_echo(c, "c");
    g_assert_cmpint(now_ms() - t0, <, 250);

    /* A client that keeps sending while paused fills its own socket and
     * waits: 8 MiB of echoes, none handled during the 500 ms pause. */
    t0 = now_ms();
    send_pause(c, 500);
    static char chunk[60000];
    memset(chunk, 'x', sizeof(chunk));
    const int n = 140;
    for (int i = 0; i < n; i++) {
        g_assert_true(test_client_send(c, PAUSE_ECHO, chunk, sizeof(chunk)));
    }
    g_test_message("sending 8 MiB to a paused channel took %" G_GINT64_FORMAT " ms", now_ms() - t0);
    g_assert_cmpint(now_ms() - t0, >=, 450);
    for (int i = 0; i < n; i++) {
        g_assert_true(test_client_wait_for(c, PAUSE_ECHO, &body, &size));
        g_assert_cmpuint(size, ==, 1 + sizeof(chunk));
        g_assert_cmpuint(body[0], ==, 0);
        g_free(body);
    }
    test_client_free(c);
    test_client_free(main_cc);
    test_server_stop(ts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/flow/echo", test_echo);
    g_test_add_func("/flow/ack-window", test_ack_window);
    g_test_add_func("/flow/blind-acks-stay-bounded", test_blind_acks_stay_bounded);
    g_test_add_func("/flow/not-reading-disconnects", test_not_reading_disconnects);
    g_test_add_func("/flow/bad-stream-request", test_bad_stream_request);
    g_test_add_func("/flow/pause-input", test_pause_input);
    return g_test_run();
}
