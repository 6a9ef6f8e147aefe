/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * echo-check.c: talk to a running server that loaded the echo example
 * plugin (channel type 240) and check, from the outside, that the server
 * advertises the channel and that it works:
 *
 *   main:  link, MAIN_INIT, ATTACH_CHANNELS -> CHANNELS_LIST has (240, 0)
 *   echo:  link with the session id (caps: ECHO_STREAM), SET_ACK ->
 *          ACK_SYNC, ECHO round trip, STREAM of 100 x 64 bytes read in
 *          sequence while acknowledging every `window` messages.
 *
 * Usage: echo-check PORT (the server listens on 127.0.0.1:PORT).
 * Exit status 0 when everything matched; otherwise 1 with a message on
 * stderr saying what was expected and what arrived.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/test-client.h"

#define ECHO_TYPE       240
#define ECHO_MSG_ECHO   101
#define ECHO_MSG_STREAM 102
#define ECHO_CAP_STREAM 0
#define STREAM_COUNT    100u
#define STREAM_SIZE     64u
#define STREAM_FILL     0x5a

static void G_GNUC_NORETURN G_GNUC_PRINTF(1, 2) fail(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("echo-check: FAIL: ", stderr);
    vfprintf(stderr, format, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static void G_GNUC_PRINTF(1, 2) note(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    fputs("echo-check: ", stdout);
    vfprintf(stdout, format, ap);
    fputc('\n', stdout);
    fflush(stdout);
    va_end(ap);
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* The echo channel's client side of the ACK protocol, counted like
 * spice-gtk does: every message after SET_ACK counts, and an ACK goes out
 * each time `window` of them have arrived. */
typedef struct EchoConn {
    TestClient *c;
    uint32_t generation;
    uint32_t window;
    uint32_t since_ack;
    uint32_t acks_sent;
} EchoConn;

static void send_or_fail(TestClient *c, uint16_t type, const void *body, uint32_t size,
                         const char *what)
{
    if (!test_client_send(c, type, body, size)) {
        fail("could not send %s (type %u): connection closed or write error", what, type);
    }
}

/* Receive the next message of the echo channel that is not PING; answer
 * PINGs and keep the ack count. */
static void echo_recv(EchoConn *e, uint16_t *type, uint8_t **body, uint32_t *size,
                      const char *waiting_for)
{
    for (;;) {
        if (!test_client_recv(e->c, type, body, size)) {
            fail("echo channel: connection closed or 10 s timeout while waiting for %s",
                 waiting_for);
        }
        if (e->window && ++e->since_ack == e->window) {
            e->since_ack = 0;
            e->acks_sent++;
            send_or_fail(e->c, SPICE_MSGC_ACK, NULL, 0, "ACK");
        }
        if (*type == SPICE_MSG_PING && *size >= 12) {
            send_or_fail(e->c, SPICE_MSGC_PONG, *body, 12, "PONG");
            g_free(*body);
            continue;
        }
        return;
    }
}

static uint32_t check_main(int port, TestClient **main_channel)
{
    uint32_t session = 0;
    TestClient *m = test_client_main(port, NULL, &session);
    if (!m) {
        fail("could not link the main channel on 127.0.0.1:%d (no server, link refused "
             "or no MAIN_INIT)",
             port);
    }
    note("main channel linked, session id %u", session);

    send_or_fail(m, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0, "ATTACH_CHANNELS");
    uint8_t *body;
    uint32_t size;
    if (!test_client_wait_for(m, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size)) {
        fail("main channel: no CHANNELS_LIST after ATTACH_CHANNELS");
    }
    if (size < 4) {
        fail("CHANNELS_LIST body is %u bytes, too short for the count", size);
    }
    uint32_t n = get_le32(body);
    if (size != 4 + 2 * n) {
        fail("CHANNELS_LIST says %u channels but its body is %u bytes (expected %u)", n, size,
             4 + 2 * n);
    }
    GString *listed = g_string_new(NULL);
    bool found = false;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t type = body[4 + 2 * i], id = body[5 + 2 * i];
        g_string_append_printf(listed, "%s(%u,%u)", i ? " " : "", type, id);
        found = found || (type == ECHO_TYPE && id == 0);
    }
    if (!found) {
        fail("CHANNELS_LIST does not contain (240,0); it lists %u channel(s): %s", n, listed->str);
    }
    note("CHANNELS_LIST: %s", listed->str);
    g_string_free(listed, TRUE);
    g_free(body);
    /* Keep the main channel open: the echo channel links into its session. */
    *main_channel = m;
    return session;
}

static void link_echo(EchoConn *e, int port, uint32_t session)
{
    e->c = test_client_connect(port);
    if (!e->c) {
        fail("could not connect a second socket to 127.0.0.1:%d", port);
    }
    TestLinkParams p = { .connection_id = session, .channel_type = ECHO_TYPE };
    if (!test_client_link(e->c, &p)) {
        fail("linking channel 240 failed: link error %u, result %u", e->c->link_error,
             e->c->link_result);
    }
    uint32_t caps = e->c->server_caps->len ? g_array_index(e->c->server_caps, uint32_t, 0) : 0;
    if (!(caps & (1u << ECHO_CAP_STREAM))) {
        fail("channel 240 link reply lacks capability ECHO_STREAM (bit %d); caps word 0 is "
             "0x%x (%u words)",
             ECHO_CAP_STREAM, caps, e->c->server_caps->len);
    }
    note("channel 240 linked, capabilities 0x%x", caps);

    /* The channel has an ACK window: SET_ACK comes first. */
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    echo_recv(e, &type, &body, &size, "SET_ACK");
    if (type != SPICE_MSG_SET_ACK || size != 8) {
        fail("expected SET_ACK (type %d, 8 bytes) first on channel 240, got type %u with %u "
             "bytes",
             SPICE_MSG_SET_ACK, type, size);
    }
    e->generation = get_le32(body);
    e->window = get_le32(body + 4);
    e->since_ack = 0;
    g_free(body);
    if (e->window == 0) {
        fail("SET_ACK announced a window of 0");
    }
    uint8_t gen[4];
    put_le32(gen, e->generation);
    send_or_fail(e->c, SPICE_MSGC_ACK_SYNC, gen, 4, "ACK_SYNC");
    note("SET_ACK generation %u window %u; ACK_SYNC sent", e->generation, e->window);
}

static void check_echo(EchoConn *e)
{
    static const uint8_t payload[] =
        "hello from a plugin built with the installed SDK \x01\x02\xff";
    send_or_fail(e->c, ECHO_MSG_ECHO, payload, sizeof(payload), "ECHO");
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    echo_recv(e, &type, &body, &size, "the ECHO reply");
    if (type != ECHO_MSG_ECHO) {
        fail("expected the ECHO reply (type %d), got type %u with %u bytes", ECHO_MSG_ECHO, type,
             size);
    }
    if (size != sizeof(payload) || memcmp(body, payload, size) != 0) {
        fail("ECHO reply differs: sent %zu bytes, got %u bytes%s", sizeof(payload), size,
             size == sizeof(payload) ? " with different contents" : "");
    }
    g_free(body);
    note("ECHO: %zu bytes came back unchanged", sizeof(payload));
}

static bool readable_within(TestClient *c, int ms)
{
    struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
    return poll(&pfd, 1, ms) > 0;
}

static void check_stream(EchoConn *e)
{
    uint8_t req[8];
    put_le32(req, STREAM_COUNT);
    put_le32(req + 4, STREAM_SIZE);
    send_or_fail(e->c, ECHO_MSG_STREAM, req, sizeof(req), "STREAM");
    uint32_t acks_before = e->acks_sent;
    for (uint32_t seq = 0; seq < STREAM_COUNT; seq++) {
        uint16_t type;
        uint8_t *body;
        uint32_t size;
        char what[64];
        snprintf(what, sizeof(what), "DATA message %u of %u", seq, STREAM_COUNT);
        echo_recv(e, &type, &body, &size, what);
        if (type != ECHO_MSG_STREAM) {
            fail("expected DATA (type %d) number %u, got type %u with %u bytes", ECHO_MSG_STREAM,
                 seq, type, size);
        }
        if (size != STREAM_SIZE) {
            fail("DATA number %u has %u bytes, expected %u", seq, size, STREAM_SIZE);
        }
        uint32_t got = get_le32(body);
        if (got != seq) {
            fail("DATA out of sequence: expected sequence number %u, got %u", seq, got);
        }
        for (uint32_t i = 4; i < size; i++) {
            if (body[i] != STREAM_FILL) {
                fail("DATA number %u: byte %u is 0x%02x, expected 0x%02x", seq, i, body[i],
                     STREAM_FILL);
            }
        }
        g_free(body);
    }
    /* Exactly STREAM_COUNT: nothing more follows. */
    if (readable_within(e->c, 300)) {
        uint16_t type;
        uint8_t *body;
        uint32_t size;
        if (test_client_recv(e->c, &type, &body, &size)) {
            fail("an extra message (type %u, %u bytes) arrived after %u DATA messages", type, size,
                 STREAM_COUNT);
        }
        fail("channel 240 closed after the stream");
    }
    note("STREAM: %u DATA messages of %u bytes in sequence, %u ACKs sent", STREAM_COUNT,
         STREAM_SIZE, e->acks_sent - acks_before);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: echo-check PORT\n");
        return 2;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*end || port <= 0 || port > 65535) {
        fprintf(stderr, "echo-check: bad port '%s'\n", argv[1]);
        return 2;
    }
    TestClient *main_channel = NULL;
    uint32_t session = check_main((int)port, &main_channel);
    EchoConn e = { 0 };
    link_echo(&e, (int)port, session);
    check_echo(&e);
    check_stream(&e);
    test_client_free(e.c);
    test_client_free(main_channel);
    note("all checks passed");
    return 0;
}
