/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-chardev.h: a char device the test plays the host's part for (like
 * QEMU's chardev/spice.c): it records what the server writes and what
 * state() and event() say, and hands the server what the test queued
 * as "the guest's" bytes. The server calls it on its own thread; the
 * test reads it under the lock (the accessors below).
 */
#ifndef SPICE_TEST_CHARDEV_H_
#define SPICE_TEST_CHARDEV_H_

#include <stdbool.h>

#include <glib.h>
#include <spice.h>

#include "common/test-server.h"

typedef struct TestDev {
    SpiceCharDeviceInstance sin; /* first */
    GMutex lock;
    int state;      /* last state() */
    int last_event; /* last event() from the client, -1: none */
    bool accept;    /* write() takes everything, else nothing */
    GByteArray *written;
    GByteArray *to_read;
    int add_result; /* of test_dev_add */
} TestDev;

TestDev *test_dev_new(const char *subtype, const char *portname);
void test_dev_free(TestDev *d);

/* On the server thread: spice_server_add_interface / remove. */
void test_dev_add(TestServer *ts, TestDev *d);
void test_dev_remove(TestServer *ts, TestDev *d);
/* The guest wrote: queued, then the wakeup the host sends. */
void test_dev_guest_writes(TestServer *ts, TestDev *d, const void *data, size_t size);
/* Whether write() takes bytes; true also wakes the server, as a host with
 * NOTIFY_WRITABLE does. */
void test_dev_accept(TestServer *ts, TestDev *d, bool accept);
/* Copies under the lock. */
int test_dev_state(TestDev *d);
int test_dev_last_event(TestDev *d);
guint test_dev_written_len(TestDev *d);
/* The first n written bytes are removed and returned (g_free). */
uint8_t *test_dev_take_written(TestDev *d, guint n);

/* Poll cond (every 2 ms, for up to 10 s), then assert it. */
#define TEST_WAIT_FOR(cond)                                         \
    do {                                                            \
        gint64 end_ = g_get_monotonic_time() + 10 * G_USEC_PER_SEC; \
        while (!(cond) && g_get_monotonic_time() < end_) {          \
            g_usleep(2000);                                         \
        }                                                           \
        g_assert_true(cond);                                        \
    } while (0)

#endif /* SPICE_TEST_CHARDEV_H_ */
