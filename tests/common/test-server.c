/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-server.c: in-process test server.
 */
#include "test-server.h"

#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/demo-devices.h"
#include "common/glib-core.h"

struct TestServer {
    TestServerConfig config;
    GThread *thread;
    GMainContext *context;
    GMainLoop *loop;
    SpiceCoreInterface *core;
    SpiceServer *server;
    DemoDevices devices;
    bool have_kbd, have_mouse, have_tablet;
    int listen_fd;
    int port;
    int init_result;
    GMutex lock;
    GCond cond;
    bool ready;
    GAsyncQueue *events;
};

static TestServer *current;

static void record(const char *format, ...) G_GNUC_PRINTF(1, 2);

static void record(const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    char *s = g_strdup_vprintf(format, ap);
    va_end(ap);
    g_async_queue_push(current->events, s);
}

static void record_line(const char *line, void *opaque)
{
    (void)opaque;
    record("%s", line);
}

static void on_channel_event(int event, SpiceChannelEventInfo *info, void *opaque)
{
    static const char *const names[] = { "?", "connected", "initialized", "disconnected" };
    (void)opaque;
    /* Hosts (QEMU) rely on the extended addresses of every event. */
    g_assert_true(info->flags & SPICE_CHANNEL_EVENT_FLAG_ADDR_EXT);
    g_assert_cmpuint(info->llen_ext, >, 0);
    g_assert_cmpuint(info->plen_ext, >, 0);
    g_assert_cmpint(info->laddr_ext.ss_family, ==, info->paddr_ext.ss_family);
    record("channel %s %d %d%s", event >= 1 && event <= 3 ? names[event] : "?", info->type,
           info->id, info->flags & SPICE_CHANNEL_EVENT_FLAG_TLS ? " tls" : "");
}

static void set_env(const char *name, const char *value)
{
    if (value) {
        g_setenv(name, value, TRUE);
    } else {
        g_unsetenv(name);
    }
}

static gpointer server_thread(gpointer opaque)
{
    TestServer *ts = opaque;
    g_main_context_push_thread_default(ts->context);
    ts->core = glib_core_new(ts->context, on_channel_event, ts);
    ts->server = spice_server_new();

    ts->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    g_assert_cmpint(bind(ts->listen_fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(listen(ts->listen_fd, 64), ==, 0);
    getsockname(ts->listen_fd, (struct sockaddr *)&sin, &len);
    ts->port = ntohs(sin.sin_port);
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    spice_server_set_listen_socket_fd(ts->server, ts->listen_fd);
    G_GNUC_END_IGNORE_DEPRECATIONS

    if (ts->config.password) {
        spice_server_set_ticket(ts->server, ts->config.password, ts->config.ticket_lifetime, 0, 0);
    } else {
        spice_server_set_noauth(ts->server);
    }
    if (ts->config.setup) {
        ts->config.setup(ts->server, ts->config.opaque);
    }
    set_env("SPICE_PLUGIN_ENABLE", ts->config.plugin_enable);
    set_env("SPICE_PLUGIN_DISABLE", ts->config.plugin_disable);
    set_env("SPICE_PLUGIN_PATH", ts->config.plugin_path);
    ts->init_result = spice_server_init(ts->server, ts->core);
    set_env("SPICE_PLUGIN_ENABLE", NULL);
    set_env("SPICE_PLUGIN_DISABLE", NULL);
    set_env("SPICE_PLUGIN_PATH", NULL);

    if (ts->init_result == 0) {
        demo_devices_init(&ts->devices, false, record_line, ts);
        ts->have_kbd = !ts->config.no_keyboard &&
                       spice_server_add_interface(ts->server, &ts->devices.kbd.base) == 0;
        ts->have_mouse = !ts->config.no_mouse &&
                         spice_server_add_interface(ts->server, &ts->devices.mouse.base) == 0;
        ts->have_tablet = !ts->config.no_tablet &&
                          spice_server_add_interface(ts->server, &ts->devices.tablet.base) == 0;
        spice_server_vm_start(ts->server);
    }
    g_mutex_lock(&ts->lock);
    ts->ready = true;
    g_cond_signal(&ts->cond);
    g_mutex_unlock(&ts->lock);

    if (ts->init_result == 0) {
        g_main_loop_run(ts->loop);
        if (ts->have_tablet) {
            spice_server_remove_interface(&ts->devices.tablet.base);
        }
        if (ts->have_mouse) {
            spice_server_remove_interface(&ts->devices.mouse.base);
        }
        if (ts->have_kbd) {
            spice_server_remove_interface(&ts->devices.kbd.base);
        }
    }
    spice_server_destroy(ts->server);
    close(ts->listen_fd);
    /* Let sources removed during destroy finish before the context goes. */
    while (g_main_context_iteration(ts->context, FALSE)) {
    }
    glib_core_free(ts->core);
    g_main_context_pop_thread_default(ts->context);
    return NULL;
}

TestServer *test_server_start(const TestServerConfig *config)
{
    g_assert_null(current);
    TestServer *ts = g_new0(TestServer, 1);
    static const TestServerConfig defaults = { 0 };
    ts->config = config ? *config : defaults;
    ts->context = g_main_context_new();
    ts->loop = g_main_loop_new(ts->context, FALSE);
    ts->events = g_async_queue_new_full(g_free);
    g_mutex_init(&ts->lock);
    g_cond_init(&ts->cond);
    current = ts;
    ts->thread = g_thread_new("test-server", server_thread, ts);
    g_mutex_lock(&ts->lock);
    while (!ts->ready) {
        g_cond_wait(&ts->cond, &ts->lock);
    }
    g_mutex_unlock(&ts->lock);
    if (ts->init_result != 0) {
        test_server_stop(ts);
        return NULL;
    }
    return ts;
}

static gboolean quit_cb(gpointer opaque)
{
    g_main_loop_quit(((TestServer *)opaque)->loop);
    return G_SOURCE_REMOVE;
}

void test_server_stop(TestServer *ts)
{
    if (!ts) {
        return;
    }
    g_main_context_invoke(ts->context, quit_cb, ts);
    g_thread_join(ts->thread);
    g_main_loop_unref(ts->loop);
    g_main_context_unref(ts->context);
    g_async_queue_unref(ts->events);
    g_mutex_clear(&ts->lock);
    g_cond_clear(&ts->cond);
    current = NULL;
    g_free(ts);
}

int test_server_port(TestServer *ts)
{
    return ts->port;
}

SpiceServer *test_server_get(TestServer *ts)
{
    return ts->server;
}

SpiceKbdInstance *test_server_keyboard(TestServer *ts)
{
    return &ts->devices.kbd;
}

typedef struct Call {
    TestServer *ts;
    void (*fn)(TestServer *ts, void *opaque);
    void *opaque;
    bool done;
} Call;

static gboolean call_cb(gpointer opaque)
{
    Call *c = opaque;
    c->fn(c->ts, c->opaque);
    g_mutex_lock(&c->ts->lock);
    c->done = true;
    g_cond_broadcast(&c->ts->cond);
    g_mutex_unlock(&c->ts->lock);
    return G_SOURCE_REMOVE;
}

void test_server_call(TestServer *ts, void (*fn)(TestServer *ts, void *opaque), void *opaque)
{
    Call c = { ts, fn, opaque, false };
    g_main_context_invoke(ts->context, call_cb, &c);
    g_mutex_lock(&ts->lock);
    while (!c.done) {
        g_cond_wait(&ts->cond, &ts->lock);
    }
    g_mutex_unlock(&ts->lock);
}

char *test_server_next_event(TestServer *ts, int timeout_ms)
{
    return g_async_queue_timeout_pop(ts->events, (guint64)timeout_ms * 1000);
}

bool test_server_expect_event(TestServer *ts, const char *want, int timeout_ms)
{
    int64_t deadline = g_get_monotonic_time() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int64_t left = deadline - g_get_monotonic_time();
        if (left <= 0) {
            return false;
        }
        g_autofree char *ev = g_async_queue_timeout_pop(ts->events, (guint64)left);
        if (!ev) {
            return false;
        }
        if (strcmp(ev, want) == 0) {
            return true;
        }
    }
}

void test_server_clear_events(TestServer *ts)
{
    char *ev;
    while ((ev = g_async_queue_try_pop(ts->events))) {
        g_free(ev);
    }
}
