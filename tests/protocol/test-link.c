/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-link.c: the link handshake over real sockets, including every
 * error the protocol defines for it and hostile link data.
 */
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

/* Send a link header + message of our own making; return the error field
 * of the reply (or UINT32_MAX if the server just closed). */
static uint32_t raw_link(int port, uint32_t magic, uint32_t major, uint32_t size,
                         const uint8_t *mess, size_t mess_len)
{
    TestClient *c = test_client_connect(port);
    g_assert_nonnull(c);
    uint8_t header[16];
    spice_wire_put_u32(header, magic);
    spice_wire_put_u32(header + 4, major);
    spice_wire_put_u32(header + 8, SPICE_VERSION_MINOR);
    spice_wire_put_u32(header + 12, size);
    g_assert_true(test_client_write(c, header, sizeof(header)));
    if (mess_len) {
        test_client_write(c, mess, mess_len);
    }
    uint8_t reply[16 + 178];
    uint32_t err = UINT32_MAX;
    if (test_client_read(c, reply, sizeof(reply))) {
        g_assert_cmphex(spice_wire_get_u32(reply), ==, SPICE_MAGIC);
        g_assert_cmpuint(spice_wire_get_u32(reply + 12), ==, 178);
        err = spice_wire_get_u32(reply + 16);
        /* An error reply carries no key and no caps. */
        for (int i = 0; i < 178 - 4; i++) {
            g_assert_cmpuint(reply[20 + i], ==, 0);
        }
        g_assert_true(test_client_wait_closed(c, 5000));
    }
    test_client_free(c);
    return err;
}

/* A link message for channel type/id with given caps counts/offset. */
static void make_mess(uint8_t *m, uint8_t type, uint32_t ncommon, uint32_t nchannel,
                      uint32_t offset)
{
    memset(m, 0, 18);
    m[4] = type;
    spice_wire_put_u32(m + 6, ncommon);
    spice_wire_put_u32(m + 10, nchannel);
    spice_wire_put_u32(m + 14, offset);
}

static void test_link_main_ok(void)
{
    TestServer *ts = test_server_start(NULL);
    uint32_t session = 0;
    TestClient *c = test_client_main(test_server_port(ts), NULL, &session);
    g_assert_nonnull(c);
    g_assert_cmpuint(session, !=, 0);
    /* Server common caps: AUTH_SELECTION, AUTH_SPICE, MINI_HEADER. */
    g_assert_cmpuint(g_array_index(c->server_common_caps, uint32_t, 0), ==, 0x0b);
    g_assert_true(c->mini_header);

    g_assert_true(test_client_send(c, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size));
    g_assert_cmpuint(size, ==, 4 + 2);
    g_assert_cmpuint(spice_wire_get_u32(body), ==, 1);
    g_assert_cmpuint(body[4], ==, SPICE_CHANNEL_INPUTS);
    g_assert_cmpuint(body[5], ==, 0);
    g_free(body);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_link_bad_magic(void)
{
    TestServer *ts = test_server_start(NULL);
    uint8_t m[18];
    make_mess(m, SPICE_CHANNEL_MAIN, 0, 0, 18);
    g_assert_cmpuint(raw_link(test_server_port(ts), 0x54534f50 /* "POST" */, 2, 18, m, 18), ==,
                     SPICE_LINK_ERR_INVALID_MAGIC);
    test_server_stop(ts);
}

/* Only 4 bytes, and not the magic: the reply comes at once, as from the
 * reference, without waiting for the rest of a header that never comes. */
static void test_link_bad_magic_early(void)
{
    TestServer *ts = test_server_start(NULL);
    TestClient *c = test_client_connect(test_server_port(ts));
    g_assert_nonnull(c);
    g_assert_true(test_client_write(c, "POST", 4));
    uint8_t reply[16 + 178];
    g_assert_true(test_client_read(c, reply, sizeof(reply)));
    g_assert_cmphex(spice_wire_get_u32(reply), ==, SPICE_MAGIC);
    g_assert_cmpuint(spice_wire_get_u32(reply + 16), ==, SPICE_LINK_ERR_INVALID_MAGIC);
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);
    test_server_stop(ts);
}

static void test_link_bad_version(void)
{
    TestServer *ts = test_server_start(NULL);
    uint8_t m[18];
    make_mess(m, SPICE_CHANNEL_MAIN, 0, 0, 18);
    g_assert_cmpuint(raw_link(test_server_port(ts), SPICE_MAGIC, 3, 18, m, 18), ==,
                     SPICE_LINK_ERR_VERSION_MISMATCH);
    g_assert_cmpuint(raw_link(test_server_port(ts), SPICE_MAGIC, 1, 18, m, 18), ==,
                     SPICE_LINK_ERR_VERSION_MISMATCH);
    test_server_stop(ts);
}

static void test_link_bad_sizes(void)
{
    TestServer *ts = test_server_start(NULL);
    int port = test_server_port(ts);
    /* Announced sizes out of bounds are refused before any body is read. */
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 4097, NULL, 0), ==,
                     SPICE_LINK_ERR_INVALID_DATA);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 0xffffffff, NULL, 0), ==,
                     SPICE_LINK_ERR_INVALID_DATA);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 17, NULL, 0), ==, SPICE_LINK_ERR_INVALID_DATA);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 0, NULL, 0), ==, SPICE_LINK_ERR_INVALID_DATA);
    test_server_stop(ts);
}

static void test_link_bad_caps(void)
{
    TestServer *ts = test_server_start(NULL);
    int port = test_server_port(ts);
    uint8_t m[4096] = { 0 };
    /* More than 1024 caps words, even when they would fit. */
    make_mess(m, SPICE_CHANNEL_MAIN, 1025, 0, 18);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 4096, m, 4096), ==,
                     SPICE_LINK_ERR_INVALID_DATA);
    make_mess(m, SPICE_CHANNEL_MAIN, 0, 1025, 18);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 4096, m, 4096), ==,
                     SPICE_LINK_ERR_INVALID_DATA);
    /* Caps running past the message. */
    make_mess(m, SPICE_CHANNEL_MAIN, 2, 0, 18);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 22, m, 22), ==, SPICE_LINK_ERR_INVALID_DATA);
    /* Offsets that overflow 32-bit arithmetic. */
    make_mess(m, SPICE_CHANNEL_MAIN, 1, 1, 0xfffffffc);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 26, m, 26), ==, SPICE_LINK_ERR_INVALID_DATA);
    /* Caps overlapping the fixed part. */
    make_mess(m, SPICE_CHANNEL_MAIN, 1, 0, 4);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 22, m, 22), ==, SPICE_LINK_ERR_INVALID_DATA);
    /* The server still works afterwards. */
    uint32_t session;
    TestClient *c = test_client_main(port, NULL, &session);
    g_assert_nonnull(c);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_link_unknown_channel(void)
{
    TestServer *ts = test_server_start(NULL);
    int port = test_server_port(ts);
    uint8_t m[18];
    make_mess(m, 99, 0, 0, 18);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 18, m, 18), ==,
                     SPICE_LINK_ERR_CHANNEL_NOT_AVAILABLE);
    /* No display in this server. */
    make_mess(m, SPICE_CHANNEL_DISPLAY, 0, 0, 18);
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 18, m, 18), ==,
                     SPICE_LINK_ERR_CHANNEL_NOT_AVAILABLE);
    /* Inputs exists, but not id 1. */
    make_mess(m, SPICE_CHANNEL_INPUTS, 0, 0, 18);
    m[5] = 1;
    g_assert_cmpuint(raw_link(port, SPICE_MAGIC, 2, 18, m, 18), ==,
                     SPICE_LINK_ERR_CHANNEL_NOT_AVAILABLE);
    test_server_stop(ts);
}

static void test_link_bad_connection_id(void)
{
    TestServer *ts = test_server_start(NULL);
    int port = test_server_port(ts);
    /* No session at all. */
    TestClient *c = test_client_connect(port);
    TestLinkParams p = { .connection_id = 12345, .channel_type = SPICE_CHANNEL_INPUTS };
    g_assert_false(test_client_link(c, &p));
    g_assert_cmpuint(c->link_error, ==, SPICE_LINK_ERR_OK);
    g_assert_cmpuint(c->link_result, ==, SPICE_LINK_ERR_BAD_CONNECTION_ID);
    test_client_free(c);

    /* A session exists, the id is wrong. */
    uint32_t session;
    TestClient *m = test_client_main(port, NULL, &session);
    c = test_client_connect(port);
    p.connection_id = session ^ 1;
    g_assert_false(test_client_link(c, &p));
    g_assert_cmpuint(c->link_result, ==, SPICE_LINK_ERR_BAD_CONNECTION_ID);
    test_client_free(c);
    /* The right id works. */
    c = test_client_connect(port);
    p.connection_id = session;
    g_assert_true(test_client_link(c, &p));
    test_client_free(c);
    test_client_free(m);
    test_server_stop(ts);
}

static void test_link_ticket(void)
{
    TestServerConfig cfg = { .password = "s3cret" };
    TestServer *ts = test_server_start(&cfg);
    int port = test_server_port(ts);
    uint32_t session;
    TestClient *c = test_client_connect(port);
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN, .password = "wrong" };
    g_assert_false(test_client_link(c, &p));
    g_assert_cmpuint(c->link_result, ==, SPICE_LINK_ERR_PERMISSION_DENIED);
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);

    c = test_client_connect(port);
    p.password = "";
    g_assert_false(test_client_link(c, &p));
    g_assert_cmpuint(c->link_result, ==, SPICE_LINK_ERR_PERMISSION_DENIED);
    test_client_free(c);

    c = test_client_connect(port);
    p.password = "s3cret0"; /* a prefix match must not pass either way */
    g_assert_false(test_client_link(c, &p));
    test_client_free(c);

    c = test_client_main(port, "s3cret", &session);
    g_assert_nonnull(c);
    /* Secondary channels need the ticket too. */
    TestClient *in = test_client_connect(port);
    TestLinkParams pi = { .connection_id = session,
                          .channel_type = SPICE_CHANNEL_INPUTS,
                          .password = "nope" };
    g_assert_false(test_client_link(in, &pi));
    g_assert_cmpuint(in->link_result, ==, SPICE_LINK_ERR_PERMISSION_DENIED);
    test_client_free(in);
    test_client_free(c);
    test_server_stop(ts);
}

/* spice-html5 drops a ciphertext's leading zero byte (about one ticket in
 * 256): the link still succeeds, with the right password only. */
static void test_link_ticket_without_leading_zero(void)
{
    TestServerConfig cfg = { .password = "s3cret" };
    TestServer *ts = test_server_start(&cfg);
    int port = test_server_port(ts);
    TestClient *c = test_client_connect(port);
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN,
                         .password = "s3cret",
                         .ticket_without_leading_zero = true };
    g_assert_true(test_client_link(c, &p));
    test_client_free(c);
    c = test_client_connect(port);
    p.password = "wrong";
    g_assert_false(test_client_link(c, &p));
    g_assert_cmpuint(c->link_result, ==, SPICE_LINK_ERR_PERMISSION_DENIED);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_link_ticket_expired(void)
{
    TestServerConfig cfg = { .password = "pw", .ticket_lifetime = 1 };
    TestServer *ts = test_server_start(&cfg);
    int port = test_server_port(ts);
    uint32_t session;
    TestClient *c = test_client_main(port, "pw", &session);
    g_assert_nonnull(c);
    test_client_free(c);
    g_usleep(1300 * 1000);
    c = test_client_connect(port);
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN, .password = "pw" };
    g_assert_false(test_client_link(c, &p));
    g_assert_cmpuint(c->link_result, ==, SPICE_LINK_ERR_PERMISSION_DENIED);
    test_client_free(c);
    test_server_stop(ts);
}

static void clear_ticket(TestServer *ts, void *opaque)
{
    (void)opaque;
    g_assert_cmpint(spice_server_set_ticket(test_server_get(ts), NULL, 0, 0, 0), ==, 0);
}

static void test_link_ticketing_without_password(void)
{
    TestServerConfig cfg = { .password = "x" };
    TestServer *ts = test_server_start(&cfg);
    test_server_call(ts, clear_ticket, NULL);
    TestClient *c = test_client_connect(test_server_port(ts));
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN, .password = "" };
    g_assert_false(test_client_link(c, &p));
    g_assert_cmpuint(c->link_result, ==, SPICE_LINK_ERR_PERMISSION_DENIED);
    test_client_free(c);
    test_server_stop(ts);
}

/* Start a link up to the point where the ticket is due. */
static TestClient *link_until_ticket(int port, bool auth_selection, uint32_t mechanism)
{
    TestClient *c = test_client_connect(port);
    uint8_t msg[16 + 22];
    spice_wire_put_u32(msg, SPICE_MAGIC);
    spice_wire_put_u32(msg + 4, 2);
    spice_wire_put_u32(msg + 8, 2);
    spice_wire_put_u32(msg + 12, 22);
    make_mess(msg + 16, SPICE_CHANNEL_MAIN, 1, 0, 18);
    spice_wire_put_u32(msg + 34, auth_selection ? 0x0b : 0x0a);
    g_assert_true(test_client_write(c, msg, sizeof(msg)));
    uint8_t reply[16 + 178 + 8];
    g_assert_true(test_client_read(c, reply, 16));
    g_assert_true(test_client_read(c, reply + 16, spice_wire_get_u32(reply + 12)));
    g_assert_cmpuint(spice_wire_get_u32(reply + 16), ==, SPICE_LINK_ERR_OK);
    if (auth_selection) {
        uint8_t mech[4];
        spice_wire_put_u32(mech, mechanism);
        g_assert_true(test_client_write(c, mech, 4));
    }
    return c;
}

static void test_link_garbage_ticket(void)
{
    TestServer *ts = test_server_start(NULL); /* even without ticketing */
    TestClient *c = link_until_ticket(test_server_port(ts), true, SPICE_COMMON_CAP_AUTH_SPICE);
    uint8_t garbage[128];
    for (unsigned i = 0; i < sizeof(garbage); i++) {
        garbage[i] = (uint8_t)(i * 37 + 11);
    }
    g_assert_true(test_client_write(c, garbage, sizeof(garbage)));
    uint8_t result[4];
    g_assert_true(test_client_read(c, result, 4));
    g_assert_cmpuint(spice_wire_get_u32(result), ==, SPICE_LINK_ERR_PERMISSION_DENIED);
    g_assert_true(test_client_wait_closed(c, 5000));
    test_client_free(c);
    test_server_stop(ts);
}

static void test_link_bad_auth_mechanism(void)
{
    TestServer *ts = test_server_start(NULL);
    int port = test_server_port(ts);
    uint32_t mechs[] = { SPICE_COMMON_CAP_AUTH_SASL, 0, 77, 0xffffffff };
    for (unsigned i = 0; i < G_N_ELEMENTS(mechs); i++) {
        TestClient *c = link_until_ticket(port, true, mechs[i]);
        uint8_t result[4];
        g_assert_true(test_client_read(c, result, 4));
        g_assert_cmpuint(spice_wire_get_u32(result), ==, SPICE_LINK_ERR_INVALID_DATA);
        g_assert_true(test_client_wait_closed(c, 5000));
        test_client_free(c);
    }
    test_server_stop(ts);
}

static void test_link_no_auth_selection(void)
{
    /* Old clients send the ticket right after the reply. */
    TestServer *ts = test_server_start(NULL);
    TestClient *c = test_client_connect(test_server_port(ts));
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN, .no_auth_selection = true };
    g_assert_true(test_client_link(c, &p));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_INIT, &body, &size));
    g_free(body);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_link_full_header(void)
{
    /* A client without MINI_HEADER gets the 18-byte header. */
    TestServer *ts = test_server_start(NULL);
    TestClient *c = test_client_connect(test_server_port(ts));
    TestLinkParams p = { .channel_type = SPICE_CHANNEL_MAIN, .no_mini_header = true };
    g_assert_true(test_client_link(c, &p));
    g_assert_false(c->mini_header);
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_INIT, &body, &size));
    g_assert_cmpuint(size, ==, 32);
    g_free(body);
    g_assert_true(test_client_send(c, SPICE_MSGC_MAIN_ATTACH_CHANNELS, NULL, 0));
    g_assert_true(test_client_wait_for(c, SPICE_MSG_MAIN_CHANNELS_LIST, &body, &size));
    g_free(body);
    test_client_free(c);
    test_server_stop(ts);
}

static void test_link_byte_by_byte(void)
{
    /* A slow client sending one byte at a time, while another links. */
    TestServer *ts = test_server_start(NULL);
    int port = test_server_port(ts);
    TestClient *slow = test_client_connect(port);
    uint8_t msg[16 + 22];
    spice_wire_put_u32(msg, SPICE_MAGIC);
    spice_wire_put_u32(msg + 4, 2);
    spice_wire_put_u32(msg + 8, 2);
    spice_wire_put_u32(msg + 12, 22);
    make_mess(msg + 16, SPICE_CHANNEL_MAIN, 1, 0, 18);
    spice_wire_put_u32(msg + 34, 0x0b);
    for (unsigned i = 0; i < 20; i++) {
        g_assert_true(test_client_write(slow, msg + i, 1));
        g_usleep(2000);
    }
    /* Meanwhile a normal client is served. */
    uint32_t session;
    TestClient *fast = test_client_main(port, NULL, &session);
    g_assert_nonnull(fast);
    for (unsigned i = 20; i < sizeof(msg); i++) {
        g_assert_true(test_client_write(slow, msg + i, 1));
    }
    uint8_t reply[16];
    g_assert_true(test_client_read(slow, reply, 16));
    g_assert_cmphex(spice_wire_get_u32(reply), ==, SPICE_MAGIC);
    test_client_free(slow);
    test_client_free(fast);
    test_server_stop(ts);
}

static void test_link_many_half_open(void)
{
    /* Handshakes that never finish must not block the server. */
    TestServer *ts = test_server_start(NULL);
    int port = test_server_port(ts);
    TestClient *idle[20];
    for (unsigned i = 0; i < G_N_ELEMENTS(idle); i++) {
        idle[i] = test_client_connect(port);
        g_assert_true(test_client_write(idle[i], "RED", 3));
    }
    uint32_t session;
    TestClient *c = test_client_main(port, NULL, &session);
    g_assert_nonnull(c);
    test_client_free(c);
    for (unsigned i = 0; i < G_N_ELEMENTS(idle); i++) {
        test_client_free(idle[i]);
    }
    test_server_stop(ts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/link/main-ok", test_link_main_ok);
    g_test_add_func("/link/bad-magic", test_link_bad_magic);
    g_test_add_func("/link/bad-magic-early", test_link_bad_magic_early);
    g_test_add_func("/link/bad-version", test_link_bad_version);
    g_test_add_func("/link/bad-sizes", test_link_bad_sizes);
    g_test_add_func("/link/bad-caps", test_link_bad_caps);
    g_test_add_func("/link/unknown-channel", test_link_unknown_channel);
    g_test_add_func("/link/bad-connection-id", test_link_bad_connection_id);
    g_test_add_func("/link/ticket", test_link_ticket);
    g_test_add_func("/link/ticket-expired", test_link_ticket_expired);
    g_test_add_func("/link/ticket-without-leading-zero", test_link_ticket_without_leading_zero);
    g_test_add_func("/link/ticketing-without-password", test_link_ticketing_without_password);
    g_test_add_func("/link/garbage-ticket", test_link_garbage_ticket);
    g_test_add_func("/link/bad-auth-mechanism", test_link_bad_auth_mechanism);
    g_test_add_func("/link/no-auth-selection", test_link_no_auth_selection);
    g_test_add_func("/link/full-header", test_link_full_header);
    g_test_add_func("/link/byte-by-byte", test_link_byte_by_byte);
    g_test_add_func("/link/many-half-open", test_link_many_half_open);
    return g_test_run();
}
