/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-chardev.c: the test's char device (see test-chardev.h).
 */
#include "common/test-chardev.h"

#include <string.h>

static TestDev *dev_of(SpiceCharDeviceInstance *sin)
{
    return (TestDev *)sin;
}

static void d_state(SpiceCharDeviceInstance *sin, int connected)
{
    TestDev *d = dev_of(sin);
    g_mutex_lock(&d->lock);
    d->state = connected;
    g_mutex_unlock(&d->lock);
}

static int d_write(SpiceCharDeviceInstance *sin, const uint8_t *buf, int len)
{
    TestDev *d = dev_of(sin);
    g_mutex_lock(&d->lock);
    int n = d->accept ? len : 0;
    g_byte_array_append(d->written, buf, (guint)n);
    g_mutex_unlock(&d->lock);
    return n;
}

static int d_read(SpiceCharDeviceInstance *sin, uint8_t *buf, int len)
{
    TestDev *d = dev_of(sin);
    g_mutex_lock(&d->lock);
    int n = MIN(len, (int)d->to_read->len);
    if (n > 0) {
        memcpy(buf, d->to_read->data, (size_t)n);
        g_byte_array_remove_range(d->to_read, 0, (guint)n);
    }
    g_mutex_unlock(&d->lock);
    return n;
}

static void d_event(SpiceCharDeviceInstance *sin, uint8_t event)
{
    TestDev *d = dev_of(sin);
    g_mutex_lock(&d->lock);
    d->last_event = event;
    g_mutex_unlock(&d->lock);
}

static const SpiceCharDeviceInterface dev_iface = {
    .base = { SPICE_INTERFACE_CHAR_DEVICE, "test char device", SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
              SPICE_INTERFACE_CHAR_DEVICE_MINOR },
    .state = d_state,
    .write = d_write,
    .read = d_read,
    .event = d_event,
    .flags = SPICE_CHAR_DEVICE_NOTIFY_WRITABLE,
};

TestDev *test_dev_new(const char *subtype, const char *portname)
{
    TestDev *d = g_new0(TestDev, 1);
    g_mutex_init(&d->lock);
    d->sin.base.sif = &dev_iface.base;
    d->sin.subtype = subtype;
    d->sin.portname = portname;
    d->last_event = -1;
    d->accept = true;
    d->written = g_byte_array_new();
    d->to_read = g_byte_array_new();
    return d;
}

void test_dev_free(TestDev *d)
{
    g_byte_array_unref(d->written);
    g_byte_array_unref(d->to_read);
    g_mutex_clear(&d->lock);
    g_free(d);
}

static void do_add(TestServer *ts, void *opaque)
{
    TestDev *d = opaque;
    d->add_result = spice_server_add_interface(test_server_get(ts), &d->sin.base);
}

static void do_remove(TestServer *ts, void *opaque)
{
    (void)ts;
    TestDev *d = opaque;
    g_assert_cmpint(spice_server_remove_interface(&d->sin.base), ==, 0);
}

static void do_wakeup(TestServer *ts, void *opaque)
{
    (void)ts;
    spice_server_char_device_wakeup(&((TestDev *)opaque)->sin);
}

void test_dev_add(TestServer *ts, TestDev *d)
{
    test_server_call(ts, do_add, d);
}

void test_dev_remove(TestServer *ts, TestDev *d)
{
    test_server_call(ts, do_remove, d);
}

void test_dev_guest_writes(TestServer *ts, TestDev *d, const void *data, size_t size)
{
    g_mutex_lock(&d->lock);
    g_byte_array_append(d->to_read, data, (guint)size);
    g_mutex_unlock(&d->lock);
    test_server_call(ts, do_wakeup, d);
}

void test_dev_accept(TestServer *ts, TestDev *d, bool accept)
{
    g_mutex_lock(&d->lock);
    d->accept = accept;
    g_mutex_unlock(&d->lock);
    if (accept) {
        test_server_call(ts, do_wakeup, d);
    }
}

int test_dev_state(TestDev *d)
{
    g_mutex_lock(&d->lock);
    int v = d->state;
    g_mutex_unlock(&d->lock);
    return v;
}

int test_dev_last_event(TestDev *d)
{
    g_mutex_lock(&d->lock);
    int v = d->last_event;
    g_mutex_unlock(&d->lock);
    return v;
}

guint test_dev_written_len(TestDev *d)
{
    g_mutex_lock(&d->lock);
    guint n = d->written->len;
    g_mutex_unlock(&d->lock);
    return n;
}

uint8_t *test_dev_take_written(TestDev *d, guint n)
{
    g_mutex_lock(&d->lock);
    g_assert_cmpuint(n, <=, d->written->len);
    uint8_t *out = g_memdup2(d->written->data, n);
    g_byte_array_remove_range(d->written, 0, n);
    g_mutex_unlock(&d->lock);
    return out;
}
