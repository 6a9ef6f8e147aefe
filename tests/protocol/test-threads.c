/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-threads.c: channel clients that live on a plugin's worker loop
 * (the "threaded" fixture, channel type 202): the move from the host
 * thread, ops and timers on the worker, thread hops back to the host,
 * disconnects from either side and server shutdown with clients still
 * connected.
 */
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/test-client.h"
#include "common/test-server.h"
#include "spice-plugin-wire.h"

#define THREADED 202

typedef struct Conn {
    TestServer *ts;
    TestClient *main;
    TestClient *ch;
    uint32_t session;
} Conn;

static TestClient *link_threaded(TestServer *ts, uint32_t session)
{
    TestClient *c = test_client_connect(test_server_port(ts));
    TestLinkParams p = { .connection_id = session, .channel_type = THREADED };
    g_assert_true(test_client_link(c, &p));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c, 101, &body, &size)); /* HELLO */
    g_assert_cmpuint(size, ==, 1);
    g_assert_cmpuint(body[0], ==, 1); /* on the worker, not the host thread */
    g_free(body);
    return c;
}

static void conn_open(Conn *c)
{
    TestServerConfig cfg = { .plugin_path = FIXTURE_DIR, .plugin_enable = "inputs,threaded" };
    c->ts = test_server_start(&cfg);
    g_assert_nonnull(c->ts);
    c->main = test_client_main(test_server_port(c->ts), NULL, &c->session);
    g_assert_nonnull(c->main);
    c->ch = link_threaded(c->ts, c->session);
}

static void test_ops_on_worker(void)
{
    Conn c;
    conn_open(&c);
    uint8_t *body;
    uint32_t size;
    for (int i = 0; i < 50; i++) {
        g_assert_true(test_client_send(c.ch, 101, "abc", 3));
    }
    for (int i = 0; i < 50; i++) {
        g_assert_true(test_client_wait_for(c.ch, 101, &body, &size));
        g_assert_cmpuint(size, ==, 4);
        g_assert_cmpuint(body[0], ==, 1);
        g_assert_cmpmem(body + 1, 3, "abc", 3);
        g_free(body);
        if (i % 20 == 19) {
            g_assert_true(test_client_send(c.ch, SPICE_MSGC_ACK, NULL, 0));
        }
    }
    /* A synchronous hop to the host thread and back. */
    g_assert_true(test_client_send(c.ch, 102, NULL, 0));
    g_assert_true(test_client_wait_for(c.ch, 102, &body, &size));
    g_assert_cmpuint(body[0], ==, 1);
    g_assert_cmpuint(body[1], ==, 1);
    g_free(body);
    /* A timer on the worker loop. */
    uint8_t ms[4];
    spice_wire_put_u32(ms, 20);
    g_assert_true(test_client_send(c.ch, 103, ms, 4));
    g_assert_true(test_client_wait_for(c.ch, 103, &body, &size));
    g_assert_cmpuint(body[0], ==, 1);
    g_free(body);
    /* A protocol error on the worker disconnects this channel only. */
    g_assert_true(test_client_send(c.ch, 250, NULL, 0));
    g_assert_true(test_client_wait_closed(c.ch, 5000));
    test_client_free(c.ch);
    c.ch = link_threaded(c.ts, c.session);
    test_client_free(c.ch);
    test_client_free(c.main);
    test_server_stop(c.ts);
}

static void test_main_disconnect_reaches_worker(void)
{
    Conn c;
    conn_open(&c);
    /* Ending the session from the host thread closes the worker's client. */
    test_client_free(c.main);
    g_assert_true(test_client_wait_closed(c.ch, 5000));
    test_client_free(c.ch);
    test_server_stop(c.ts);
}

static void test_new_session_replaces_worker_clients(void)
{
    Conn c;
    conn_open(&c);
    uint32_t session2;
    TestClient *main2 = test_client_main(test_server_port(c.ts), NULL, &session2);
    g_assert_true(test_client_wait_closed(c.ch, 5000));
    TestClient *ch2 = link_threaded(c.ts, session2);
    test_client_free(ch2);
    test_client_free(main2);
    test_client_free(c.ch);
    test_client_free(c.main);
    test_server_stop(c.ts);
}

static void test_shutdown_with_worker_clients(void)
{
    /* spice_server_destroy() while clients are connected on the worker:
     * they are disconnected before the plugin's deinit frees its state. */
    Conn c;
    conn_open(&c);
    TestClient *extra[5];
    for (int i = 0; i < 5; i++) {
        extra[i] = test_client_connect(test_server_port(c.ts));
        TestLinkParams p = { .connection_id = c.session, .channel_type = THREADED };
        g_assert_true(test_client_link(extra[i], &p));
    }
    test_server_stop(c.ts);
    g_assert_true(test_client_wait_closed(c.ch, 5000));
    for (int i = 0; i < 5; i++) {
        g_assert_true(test_client_wait_closed(extra[i], 5000));
        test_client_free(extra[i]);
    }
    test_client_free(c.ch);
    test_client_free(c.main);
}

static void test_churn(void)
{
    /* Many connects and disconnects racing the worker. */
    Conn c;
    conn_open(&c);
    for (int i = 0; i < 40; i++) {
        TestClient *t = test_client_connect(test_server_port(c.ts));
        TestLinkParams p = { .connection_id = c.session, .channel_type = THREADED };
        g_assert_true(test_client_link(t, &p));
        if (i % 2) {
            test_client_send(t, 101, "x", 1);
        }
        test_client_free(t);
    }
    g_assert_true(test_client_send(c.ch, 101, "still", 5));
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_wait_for(c.ch, 101, &body, &size));
    g_free(body);
    test_client_free(c.ch);
    test_client_free(c.main);
    test_server_stop(c.ts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/threads/ops-on-worker", test_ops_on_worker);
    g_test_add_func("/threads/main-disconnect-reaches-worker", test_main_disconnect_reaches_worker);
    g_test_add_func("/threads/new-session", test_new_session_replaces_worker_clients);
    g_test_add_func("/threads/shutdown-with-clients", test_shutdown_with_worker_clients);
    g_test_add_func("/threads/churn", test_churn);
    return g_test_run();
}
