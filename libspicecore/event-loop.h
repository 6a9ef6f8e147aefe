/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * event-loop.h: one small interface over the two kinds of event loop the
 * core runs on.
 *
 *  - the host loop: the host's SpiceCoreInterface (QEMU's main loop). Its
 *    timers and watches may only be touched on the host's thread.
 *  - thread loops: a GMainContext running in a thread we start (display
 *    workers, plugin workers).
 *
 * Both support event_loop_invoke(), the dispatcher: run a function on the
 * loop's thread from any thread, optionally waiting for it to finish.
 */
#ifndef SPICECORE_EVENT_LOOP_H_
#define SPICECORE_EVENT_LOOP_H_

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#ifndef SPICE_SERVER_INTERNAL
#define SPICE_SERVER_INTERNAL
#endif
#include "spice-server/spice.h"

typedef struct EventLoop EventLoop;
typedef struct EventLoopTimer EventLoopTimer;
typedef struct EventLoopWatch EventLoopWatch;

typedef void (*EventLoopFunc)(void *opaque);
typedef void (*EventLoopWatchFunc)(int fd, int events, void *opaque);

/* Wrap the host's core interface. Must be called on the host's thread,
 * which becomes the loop's thread. Returns NULL (with a log line) if the
 * host interface cannot watch the wake-up pipe. */
EventLoop *event_loop_new_host(const SpiceCoreInterface *core);

/* Start a thread named `name` running its own GMainContext. */
EventLoop *event_loop_new_thread(const char *name);

/* For thread loops: run everything already invoked, stop and join the
 * thread. For the host loop: remove the wake-up watch. Then free. */
void event_loop_free(EventLoop *loop);

/* True when called on the loop's own thread. */
bool event_loop_is_current(const EventLoop *loop);

/* Any thread. Queue func(opaque) to run on the loop's thread. With wait,
 * block until it has run (runs at once when already on that thread). */
void event_loop_invoke(EventLoop *loop, EventLoopFunc func, void *opaque, bool wait);

/* Loop thread. Run every call queued with event_loop_invoke() now. */
void event_loop_run_pending(EventLoop *loop);

/* Timers are one-shot; starting an armed timer re-arms it. Loop thread
 * only. */
EventLoopTimer *event_loop_timer_new(EventLoop *loop, EventLoopFunc func, void *opaque);
void event_loop_timer_start(EventLoopTimer *timer, uint32_t ms);
void event_loop_timer_cancel(EventLoopTimer *timer);
void event_loop_timer_free(EventLoopTimer *timer);

/* events: SPICE_WATCH_EVENT_READ | SPICE_WATCH_EVENT_WRITE. Loop thread
 * only. */
EventLoopWatch *event_loop_watch_new(EventLoop *loop, int fd, int events, EventLoopWatchFunc func,
                                     void *opaque);
void event_loop_watch_update(EventLoopWatch *watch, int events);
void event_loop_watch_free(EventLoopWatch *watch);

#endif /* SPICECORE_EVENT_LOOP_H_ */
