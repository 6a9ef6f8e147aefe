/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * event-loop.c: host-loop adapter, thread loops and the cross-thread
 * dispatcher (event_loop_invoke).
 *
 * The dispatcher keeps a mutex-protected queue of calls per loop and an
 * eventfd that is watched on the loop's thread. A waiting caller blocks on
 * a condition variable that the loop's thread signals once the call ran.
 */
#include "event-loop.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef enum { LOOP_HOST, LOOP_THREAD } LoopKind;

typedef struct PendingCall {
    EventLoopFunc func;
    void *opaque;
    bool *done; /* non-NULL for a waiting caller */
} PendingCall;

struct EventLoop {
    LoopKind kind;
    const SpiceCoreInterface *core; /* LOOP_HOST */
    GMainContext *context;          /* LOOP_THREAD */
    GMainLoop *main_loop;           /* LOOP_THREAD */
    GThread *thread;                /* the loop's thread (host: the creator) */
    char *name;

    int wake_fd;
    EventLoopWatch *wake_watch;

    GMutex lock;
    GCond done_cond;
    GQueue pending; /* PendingCall* */
};

struct EventLoopTimer {
    EventLoop *loop;
    EventLoopFunc func;
    void *opaque;
    SpiceTimer *host_timer; /* LOOP_HOST */
    GSource *source;        /* LOOP_THREAD, while armed */
};

struct EventLoopWatch {
    EventLoop *loop;
    int fd;
    int events;
    EventLoopWatchFunc func;
    void *opaque;
    SpiceWatch *host_watch; /* LOOP_HOST */
    GSource *source;        /* LOOP_THREAD */
    gpointer tag;           /* LOOP_THREAD fd tag */
};

/* ---- dispatcher ------------------------------------------------------- */

static void run_pending(EventLoop *loop)
{
    for (;;) {
        g_mutex_lock(&loop->lock);
        PendingCall *call = g_queue_pop_head(&loop->pending);
        g_mutex_unlock(&loop->lock);
        if (!call) {
            return;
        }
        call->func(call->opaque);
        if (call->done) {
            g_mutex_lock(&loop->lock);
            *call->done = true;
            g_cond_broadcast(&loop->done_cond);
            g_mutex_unlock(&loop->lock);
        }
        g_free(call);
    }
}

void event_loop_run_pending(EventLoop *loop)
{
    run_pending(loop);
}

static void wake_fd_ready(int fd, int events, void *opaque)
{
    EventLoop *loop = opaque;
    uint64_t count;
    (void)events;
    /* Drain the counter; a spurious wake-up just finds an empty queue. */
    while (read(fd, &count, sizeof(count)) < 0 && errno == EINTR) {
    }
    run_pending(loop);
}

static void wake_loop(EventLoop *loop)
{
    uint64_t one = 1;
    while (write(loop->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
}

void event_loop_invoke(EventLoop *loop, EventLoopFunc func, void *opaque, bool wait)
{
    if (wait && event_loop_is_current(loop)) {
        func(opaque);
        return;
    }
    bool done = false;
    PendingCall *call = g_new0(PendingCall, 1);
    call->func = func;
    call->opaque = opaque;
    call->done = wait ? &done : NULL;

    g_mutex_lock(&loop->lock);
    g_queue_push_tail(&loop->pending, call);
    g_mutex_unlock(&loop->lock);
    wake_loop(loop);

    if (wait) {
        g_mutex_lock(&loop->lock);
        while (!done) {
            g_cond_wait(&loop->done_cond, &loop->lock);
        }
        g_mutex_unlock(&loop->lock);
    }
}

bool event_loop_is_current(const EventLoop *loop)
{
    return loop->thread == g_thread_self();
}

static EventLoop *loop_alloc(LoopKind kind, const char *name)
{
    EventLoop *loop = g_new0(EventLoop, 1);
    loop->kind = kind;
    loop->name = g_strdup(name);
    g_mutex_init(&loop->lock);
    g_cond_init(&loop->done_cond);
    g_queue_init(&loop->pending);
    loop->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return loop;
}

static void loop_release(EventLoop *loop)
{
    if (loop->wake_fd >= 0) {
        close(loop->wake_fd);
    }
    g_mutex_clear(&loop->lock);
    g_cond_clear(&loop->done_cond);
    g_free(loop->name);
    g_free(loop);
}

/* ---- host loop -------------------------------------------------------- */

static void host_timer_cb(void *opaque)
{
    EventLoopTimer *t = opaque;
    t->func(t->opaque);
}

static void host_watch_cb(int fd, int event, void *opaque)
{
    EventLoopWatch *w = opaque;
    w->func(fd, event, w->opaque);
}

EventLoop *event_loop_new_host(const SpiceCoreInterface *core)
{
    EventLoop *loop = loop_alloc(LOOP_HOST, "host");
    loop->core = core;
    loop->thread = g_thread_self();
    if (loop->wake_fd < 0) {
        g_warning("cannot create the dispatcher eventfd: %s", g_strerror(errno));
        loop_release(loop);
        return NULL;
    }
    loop->wake_watch =
        event_loop_watch_new(loop, loop->wake_fd, SPICE_WATCH_EVENT_READ, wake_fd_ready, loop);
    if (!loop->wake_watch) {
        g_warning("the host's core interface refused to watch the dispatcher eventfd");
        loop_release(loop);
        return NULL;
    }
    return loop;
}

/* ---- thread loop ------------------------------------------------------ */

static gpointer loop_thread_main(gpointer opaque)
{
    EventLoop *loop = opaque;
    g_main_context_push_thread_default(loop->context);
    g_main_loop_run(loop->main_loop);
    run_pending(loop);
    g_main_context_pop_thread_default(loop->context);
    return NULL;
}

EventLoop *event_loop_new_thread(const char *name)
{
    EventLoop *loop = loop_alloc(LOOP_THREAD, name);
    if (loop->wake_fd < 0) {
        g_warning("cannot create the dispatcher eventfd for %s: %s", name, g_strerror(errno));
        loop_release(loop);
        return NULL;
    }
    loop->context = g_main_context_new();
    loop->main_loop = g_main_loop_new(loop->context, FALSE);
    loop->wake_watch =
        event_loop_watch_new(loop, loop->wake_fd, SPICE_WATCH_EVENT_READ, wake_fd_ready, loop);
    loop->thread = g_thread_new(name, loop_thread_main, loop);
    return loop;
}

static void quit_loop(void *opaque)
{
    EventLoop *loop = opaque;
    g_main_loop_quit(loop->main_loop);
}

void event_loop_free(EventLoop *loop)
{
    if (!loop) {
        return;
    }
    if (loop->kind == LOOP_THREAD) {
        g_return_if_fail(!event_loop_is_current(loop));
        event_loop_invoke(loop, quit_loop, loop, false);
        g_thread_join(loop->thread);
        event_loop_watch_free(loop->wake_watch);
        g_main_loop_unref(loop->main_loop);
        g_main_context_unref(loop->context);
    } else {
        event_loop_watch_free(loop->wake_watch);
        run_pending(loop);
    }
    loop_release(loop);
}

/* ---- timers ----------------------------------------------------------- */

EventLoopTimer *event_loop_timer_new(EventLoop *loop, EventLoopFunc func, void *opaque)
{
    EventLoopTimer *t = g_new0(EventLoopTimer, 1);
    t->loop = loop;
    t->func = func;
    t->opaque = opaque;
    if (loop->kind == LOOP_HOST) {
        t->host_timer = loop->core->timer_add(host_timer_cb, t);
        if (!t->host_timer) {
            g_free(t);
            return NULL;
        }
    }
    return t;
}

static gboolean thread_timer_cb(gpointer opaque)
{
    EventLoopTimer *t = opaque;
    g_source_unref(t->source);
    t->source = NULL;
    t->func(t->opaque);
    return G_SOURCE_REMOVE;
}

void event_loop_timer_start(EventLoopTimer *t, uint32_t ms)
{
    if (t->loop->kind == LOOP_HOST) {
        t->loop->core->timer_start(t->host_timer, ms);
        return;
    }
    event_loop_timer_cancel(t);
    t->source = g_timeout_source_new(ms);
    g_source_set_callback(t->source, thread_timer_cb, t, NULL);
    g_source_attach(t->source, t->loop->context);
}

void event_loop_timer_cancel(EventLoopTimer *t)
{
    if (t->loop->kind == LOOP_HOST) {
        t->loop->core->timer_cancel(t->host_timer);
        return;
    }
    if (t->source) {
        g_source_destroy(t->source);
        g_source_unref(t->source);
        t->source = NULL;
    }
}

void event_loop_timer_free(EventLoopTimer *t)
{
    if (!t) {
        return;
    }
    if (t->loop->kind == LOOP_HOST) {
        t->loop->core->timer_remove(t->host_timer);
    } else {
        event_loop_timer_cancel(t);
    }
    g_free(t);
}

/* ---- watches ---------------------------------------------------------- */

static GIOCondition events_to_condition(int events)
{
    GIOCondition c = 0;
    if (events & SPICE_WATCH_EVENT_READ) {
        c |= G_IO_IN;
    }
    if (events & SPICE_WATCH_EVENT_WRITE) {
        c |= G_IO_OUT;
    }
    return c;
}

/* A GSource watching one fd whose condition can change (g_unix_fd_source
 * has a fixed condition). */
typedef struct WatchSource {
    GSource source;
    EventLoopWatch *watch;
} WatchSource;

static gboolean watch_source_dispatch(GSource *source, GSourceFunc callback, gpointer data)
{
    WatchSource *ws = (WatchSource *)source;
    EventLoopWatch *w = ws->watch;
    GIOCondition cond = g_source_query_unix_fd(source, w->tag);
    int events = 0;
    (void)callback;
    (void)data;
    /* Errors and hang-ups are reported as readable: the read finds them. */
    if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR)) {
        events |= SPICE_WATCH_EVENT_READ;
    }
    if (cond & G_IO_OUT) {
        events |= SPICE_WATCH_EVENT_WRITE;
    }
    if (events) {
        w->func(w->fd, events, w->opaque);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs watch_source_funcs = {
    .dispatch = watch_source_dispatch,
};

EventLoopWatch *event_loop_watch_new(EventLoop *loop, int fd, int events, EventLoopWatchFunc func,
                                     void *opaque)
{
    EventLoopWatch *w = g_new0(EventLoopWatch, 1);
    w->loop = loop;
    w->fd = fd;
    w->events = events;
    w->func = func;
    w->opaque = opaque;
    if (loop->kind == LOOP_HOST) {
        w->host_watch = loop->core->watch_add(fd, events, host_watch_cb, w);
        if (!w->host_watch) {
            g_free(w);
            return NULL;
        }
        return w;
    }
    w->source = g_source_new(&watch_source_funcs, sizeof(WatchSource));
    ((WatchSource *)w->source)->watch = w;
    w->tag = g_source_add_unix_fd(w->source, fd, events_to_condition(events));
    g_source_attach(w->source, loop->context);
    return w;
}

void event_loop_watch_update(EventLoopWatch *w, int events)
{
    if (w->events == events) {
        return;
    }
    w->events = events;
    if (w->loop->kind == LOOP_HOST) {
        w->loop->core->watch_update_mask(w->host_watch, events);
        return;
    }
    g_source_modify_unix_fd(w->source, w->tag, events_to_condition(events));
}

void event_loop_watch_free(EventLoopWatch *w)
{
    if (!w) {
        return;
    }
    if (w->loop->kind == LOOP_HOST) {
        w->loop->core->watch_remove(w->host_watch);
    } else {
        g_source_destroy(w->source);
        g_source_unref(w->source);
    }
    g_free(w);
}
