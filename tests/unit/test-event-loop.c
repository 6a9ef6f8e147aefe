/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-event-loop.c: thread loops, timers, watches and the dispatcher
 * (event_loop_invoke) between threads, including the host loop over a
 * SpiceCoreInterface.
 */
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "common/glib-core.h"
#include "event-loop.h"

typedef struct Counter {
    gint count;
    GThread *ran_on;
} Counter;

static void bump(void *opaque)
{
    Counter *c = opaque;
    c->ran_on = g_thread_self();
    g_atomic_int_inc(&c->count);
}

static void test_invoke_wait(void)
{
    EventLoop *loop = event_loop_new_thread("test-loop");
    g_assert_false(event_loop_is_current(loop));
    Counter c = { 0 };
    for (int i = 0; i < 1000; i++) {
        event_loop_invoke(loop, bump, &c, true);
    }
    g_assert_cmpint(c.count, ==, 1000);
    g_assert_true(c.ran_on != g_thread_self());
    event_loop_free(loop);
}

static void test_invoke_nowait_runs_before_free(void)
{
    EventLoop *loop = event_loop_new_thread("test-loop");
    Counter c = { 0 };
    for (int i = 0; i < 10000; i++) {
        event_loop_invoke(loop, bump, &c, false);
    }
    /* Freeing runs what was queued before the thread stops. */
    event_loop_free(loop);
    g_assert_cmpint(c.count, ==, 10000);
}

typedef struct Nested {
    EventLoop *loop;
    Counter counter;
} Nested;

static void invoke_self_wait(void *opaque)
{
    Nested *n = opaque;
    /* A waiting invoke from the loop's own thread runs inline. */
    g_assert_true(event_loop_is_current(n->loop));
    event_loop_invoke(n->loop, bump, &n->counter, true);
}

static void test_invoke_from_own_thread(void)
{
    Nested n = { .loop = event_loop_new_thread("test-loop") };
    event_loop_invoke(n.loop, invoke_self_wait, &n, true);
    g_assert_cmpint(n.counter.count, ==, 1);
    event_loop_free(n.loop);
}

typedef struct Many {
    EventLoop *loop;
    Counter *counter;
} Many;

static gpointer hammer(gpointer opaque)
{
    Many *m = opaque;
    for (int i = 0; i < 2000; i++) {
        event_loop_invoke(m->loop, bump, m->counter, i % 3 == 0);
    }
    return NULL;
}

static void test_invoke_many_threads(void)
{
    EventLoop *loop = event_loop_new_thread("test-loop");
    Counter c = { 0 };
    Many m = { loop, &c };
    GThread *threads[4];
    for (int i = 0; i < 4; i++) {
        threads[i] = g_thread_new("hammer", hammer, &m);
    }
    for (int i = 0; i < 4; i++) {
        g_thread_join(threads[i]);
    }
    event_loop_free(loop);
    g_assert_cmpint(c.count, ==, 8000);
}

typedef struct TimerTest {
    EventLoop *loop;
    EventLoopTimer *timer;
    int fired;
    int64_t started;
    int64_t fired_at;
    GMutex lock;
    GCond cond;
} TimerTest;

static void timer_fired(void *opaque)
{
    TimerTest *t = opaque;
    g_mutex_lock(&t->lock);
    t->fired++;
    t->fired_at = g_get_monotonic_time();
    g_cond_signal(&t->cond);
    g_mutex_unlock(&t->lock);
}

static void start_timers(void *opaque)
{
    TimerTest *t = opaque;
    t->timer = event_loop_timer_new(t->loop, timer_fired, t);
    t->started = g_get_monotonic_time();
    event_loop_timer_start(t->timer, 500);
    event_loop_timer_start(t->timer, 50); /* re-arming moves it */
}

static void cancel_timer(void *opaque)
{
    TimerTest *t = opaque;
    event_loop_timer_start(t->timer, 30);
    event_loop_timer_cancel(t->timer);
}

static void free_timer(void *opaque)
{
    TimerTest *t = opaque;
    event_loop_timer_free(t->timer);
}

static void test_timers(void)
{
    TimerTest t = { .loop = event_loop_new_thread("timers") };
    g_mutex_init(&t.lock);
    g_cond_init(&t.cond);
    event_loop_invoke(t.loop, start_timers, &t, true);
    g_mutex_lock(&t.lock);
    while (t.fired == 0) {
        g_cond_wait(&t.cond, &t.lock);
    }
    g_mutex_unlock(&t.lock);
    int64_t delay = t.fired_at - t.started;
    g_assert_cmpint(delay, >=, 45 * 1000);
    g_assert_cmpint(delay, <, 450 * 1000);
    /* One-shot: no second firing; a cancelled timer does not fire. */
    event_loop_invoke(t.loop, cancel_timer, &t, true);
    g_usleep(150 * 1000);
    g_assert_cmpint(t.fired, ==, 1);
    event_loop_invoke(t.loop, free_timer, &t, true);
    event_loop_free(t.loop);
    g_mutex_clear(&t.lock);
    g_cond_clear(&t.cond);
}

typedef struct WatchTest {
    EventLoop *loop;
    EventLoopWatch *watch;
    int fds[2];
    gint reads;
    gint writes;
} WatchTest;

static void watch_cb(int fd, int events, void *opaque)
{
    WatchTest *w = opaque;
    if (events & SPICE_WATCH_EVENT_READ) {
        char buf[16];
        if (read(fd, buf, sizeof(buf)) > 0) {
            g_atomic_int_inc(&w->reads);
        }
    }
    if (events & SPICE_WATCH_EVENT_WRITE) {
        g_atomic_int_inc(&w->writes);
        event_loop_watch_update(w->watch, SPICE_WATCH_EVENT_READ);
    }
}

static void add_watch(void *opaque)
{
    WatchTest *w = opaque;
    w->watch = event_loop_watch_new(w->loop, w->fds[0],
                                    SPICE_WATCH_EVENT_READ | SPICE_WATCH_EVENT_WRITE, watch_cb, w);
}

static void remove_watch(void *opaque)
{
    WatchTest *w = opaque;
    event_loop_watch_free(w->watch);
}

static void test_watches(void)
{
    WatchTest w = { .loop = event_loop_new_thread("watches") };
    g_assert_cmpint(pipe(w.fds), ==, 0);
    /* Watch the read end for reading; the write interest on a read end
     * never fires, so use a socketpair instead for writes. */
    close(w.fds[0]);
    close(w.fds[1]);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, w.fds), ==, 0);
    event_loop_invoke(w.loop, add_watch, &w, true);
    int64_t deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
    while (g_atomic_int_get(&w.writes) == 0 && g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    g_assert_cmpint(g_atomic_int_get(&w.writes), ==, 1);
    g_assert_cmpint(write(w.fds[1], "x", 1), ==, 1);
    while (g_atomic_int_get(&w.reads) == 0 && g_get_monotonic_time() < deadline) {
        g_usleep(1000);
    }
    g_assert_cmpint(g_atomic_int_get(&w.reads), ==, 1);
    g_assert_cmpint(g_atomic_int_get(&w.writes), ==, 1);
    event_loop_invoke(w.loop, remove_watch, &w, true);
    event_loop_free(w.loop);
    close(w.fds[0]);
    close(w.fds[1]);
}

/* The host loop: a SpiceCoreInterface on a GMainContext; invokes from
 * other threads wake it through its eventfd watch. */
typedef struct HostTest {
    GMainContext *context;
    EventLoop *loop;
    Counter counter;
} HostTest;

static gpointer invoke_from_thread(gpointer opaque)
{
    HostTest *h = opaque;
    for (int i = 0; i < 100; i++) {
        event_loop_invoke(h->loop, bump, &h->counter, true);
    }
    return NULL;
}

static void test_host_loop(void)
{
    HostTest h = { .context = g_main_context_new() };
    g_main_context_push_thread_default(h.context);
    SpiceCoreInterface *core = glib_core_new(h.context, NULL, NULL);
    h.loop = event_loop_new_host(core);
    g_assert_nonnull(h.loop);
    g_assert_true(event_loop_is_current(h.loop));
    GThread *thread = g_thread_new("invoker", invoke_from_thread, &h);
    while (g_atomic_int_get(&h.counter.count) < 100) {
        g_main_context_iteration(h.context, TRUE);
    }
    g_thread_join(thread);
    g_assert_true(h.counter.ran_on == g_thread_self());
    event_loop_free(h.loop);
    glib_core_free(core);
    while (g_main_context_iteration(h.context, FALSE)) {
    }
    g_main_context_pop_thread_default(h.context);
    g_main_context_unref(h.context);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/event-loop/invoke-wait", test_invoke_wait);
    g_test_add_func("/event-loop/invoke-nowait", test_invoke_nowait_runs_before_free);
    g_test_add_func("/event-loop/invoke-from-own-thread", test_invoke_from_own_thread);
    g_test_add_func("/event-loop/invoke-many-threads", test_invoke_many_threads);
    g_test_add_func("/event-loop/timers", test_timers);
    g_test_add_func("/event-loop/watches", test_watches);
    g_test_add_func("/event-loop/host-loop", test_host_loop);
    return g_test_run();
}
