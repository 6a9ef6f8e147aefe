/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-wire.c: the SDK's bounds-checked reader and growable writer.
 */
#include <glib.h>

#include "spice-plugin-wire.h"

static void test_reader(void)
{
    const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
    SpiceWireReader r = spice_wire_reader(data, sizeof(data));
    g_assert_cmpuint(spice_wire_u8(&r), ==, 1);
    g_assert_cmphex(spice_wire_u16(&r), ==, 0x0302);
    g_assert_cmphex(spice_wire_u32(&r), ==, 0x07060504);
    g_assert_cmphex(spice_wire_u64(&r), ==, 0x0f0e0d0c0b0a0908ull);
    g_assert_true(spice_wire_done(&r));
    /* One byte too many: error, zero, and stays in error. */
    g_assert_cmpuint(spice_wire_u8(&r), ==, 0);
    g_assert_true(r.error);
    g_assert_false(spice_wire_done(&r));
    g_assert_null(spice_wire_bytes(&r, 0));

    r = spice_wire_reader(data, 3);
    g_assert_cmpuint(spice_wire_u32(&r), ==, 0);
    g_assert_true(r.error);
    g_assert_cmpuint(spice_wire_remaining(&r), ==, 0);

    /* Trailing bytes are not "done". */
    r = spice_wire_reader(data, 5);
    (void)spice_wire_u32(&r);
    g_assert_false(r.error);
    g_assert_false(spice_wire_done(&r));
    g_assert_cmpuint(spice_wire_remaining(&r), ==, 1);

    /* Huge lengths never wrap. */
    r = spice_wire_reader(data, sizeof(data));
    (void)spice_wire_u8(&r);
    g_assert_null(spice_wire_bytes(&r, SIZE_MAX));
    g_assert_true(r.error);

    /* Signed values. */
    const uint8_t neg[] = { 0xfe, 0xff, 0xff, 0xff };
    r = spice_wire_reader(neg, 4);
    g_assert_cmpint(spice_wire_i32(&r), ==, -2);
}

static void test_writer(void)
{
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 1);
    spice_wire_write_u8(&w, 0xaa);
    spice_wire_write_u16(&w, 0x1234);
    spice_wire_write_u32(&w, 0xdeadbeef);
    spice_wire_write_u64(&w, 0x0102030405060708ull);
    spice_wire_write_i32(&w, -1);
    for (int i = 0; i < 1000; i++) {
        spice_wire_write(&w, "xyz", 3);
    }
    size_t size;
    uint8_t *buf = spice_wire_writer_steal(&w, &size);
    g_assert_cmpuint(size, ==, 1 + 2 + 4 + 8 + 4 + 3000);
    SpiceWireReader r = spice_wire_reader(buf, size);
    g_assert_cmphex(spice_wire_u8(&r), ==, 0xaa);
    g_assert_cmphex(spice_wire_u16(&r), ==, 0x1234);
    g_assert_cmphex(spice_wire_u32(&r), ==, 0xdeadbeef);
    g_assert_cmphex(spice_wire_u64(&r), ==, 0x0102030405060708ull);
    g_assert_cmpint(spice_wire_i32(&r), ==, -1);
    const uint8_t *tail = spice_wire_bytes(&r, 3000);
    g_assert_nonnull(tail);
    g_assert_cmpmem(tail + 2997, 3, "xyz", 3);
    g_assert_true(spice_wire_done(&r));
    free(buf);

    /* An impossible reservation fails cleanly and poisons the writer. */
    spice_wire_writer_init(&w, 16);
    g_assert_null(spice_wire_reserve(&w, SIZE_MAX - 4));
    g_assert_true(w.error);
    spice_wire_write_u32(&w, 1);
    buf = spice_wire_writer_steal(&w, &size);
    g_assert_null(buf);
    g_assert_cmpuint(size, ==, 0);
    spice_wire_writer_clear(&w);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/wire/reader", test_reader);
    g_test_add_func("/wire/writer", test_writer);
    return g_test_run();
}
