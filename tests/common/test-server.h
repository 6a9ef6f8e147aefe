/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-server.h: run a real SpiceServer in a thread of the test process,
 * listening on 127.0.0.1 (a free port), with a keyboard, mouse and tablet
 * that record what they receive. Tests talk to it over real sockets.
 * One test server at a time per process.
 */
#ifndef SPICE_TEST_SERVER_H_
#define SPICE_TEST_SERVER_H_

#include <stdbool.h>

#include <glib.h>
#include <spice.h>

typedef struct TestServer TestServer;

typedef struct TestServerConfig {
    const char *password; /* NULL: no authentication */
    int ticket_lifetime;
    bool no_keyboard;
    bool no_mouse;
    bool no_tablet;
    const char *plugin_enable;  /* SPICE_PLUGIN_ENABLE during init */
    const char *plugin_disable; /* SPICE_PLUGIN_DISABLE during init */
    const char *plugin_path;    /* SPICE_PLUGIN_PATH during init */
    /* Called on the server thread before spice_server_init(). */
    void (*setup)(SpiceServer *s, void *opaque);
    void *opaque;
} TestServerConfig;

/* Start; returns NULL when spice_server_init() failed. */
TestServer *test_server_start(const TestServerConfig *config);
void test_server_stop(TestServer *ts);

int test_server_port(TestServer *ts);
SpiceServer *test_server_get(TestServer *ts);
SpiceKbdInstance *test_server_keyboard(TestServer *ts);

/* Run fn on the server's thread and wait for it. */
void test_server_call(TestServer *ts, void (*fn)(TestServer *ts, void *opaque), void *opaque);

/* Next recorded input event (a line of tools/common/demo-devices.h, e.g.
 * "key 0x1e") or channel event ("channel initialized 3 0"), NULL after
 * timeout_ms. g_free the string. */
char *test_server_next_event(TestServer *ts, int timeout_ms);
/* Wait for an event equal to `want`, skipping others; false on timeout. */
bool test_server_expect_event(TestServer *ts, const char *want, int timeout_ms);
/* Drop queued events. */
void test_server_clear_events(TestServer *ts);

#endif /* SPICE_TEST_SERVER_H_ */
