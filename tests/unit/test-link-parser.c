/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-link-parser.c: link header and link message parsing with good,
 * truncated and hostile bytes.
 */
#include <string.h>

#include <glib.h>
#include <spice/protocol.h>

#include "link-parser.h"
#include "spice-plugin-wire.h"

static void put_header(uint8_t *h, uint32_t magic, uint32_t major, uint32_t size)
{
    spice_wire_put_u32(h, magic);
    spice_wire_put_u32(h + 4, major);
    spice_wire_put_u32(h + 8, 2);
    spice_wire_put_u32(h + 12, size);
}

static uint32_t header_err(uint32_t magic, uint32_t major, uint32_t size)
{
    uint8_t h[16];
    LinkHeader out;
    const char *why = NULL;
    put_header(h, magic, major, size);
    uint32_t err = link_parse_header(h, sizeof(h), &out, &why);
    g_assert_true(err == SPICE_LINK_ERR_OK ? why == NULL : why != NULL);
    return err;
}

static void test_header(void)
{
    g_assert_cmpuint(header_err(SPICE_MAGIC, 2, 18), ==, SPICE_LINK_ERR_OK);
    g_assert_cmpuint(header_err(SPICE_MAGIC, 2, 4096), ==, SPICE_LINK_ERR_OK);
    g_assert_cmpuint(header_err(SPICE_MAGIC, 2, 4097), ==, SPICE_LINK_ERR_INVALID_DATA);
    g_assert_cmpuint(header_err(SPICE_MAGIC, 2, 17), ==, SPICE_LINK_ERR_INVALID_DATA);
    g_assert_cmpuint(header_err(SPICE_MAGIC, 2, UINT32_MAX), ==, SPICE_LINK_ERR_INVALID_DATA);
    g_assert_cmpuint(header_err(SPICE_MAGIC, 1, 18), ==, SPICE_LINK_ERR_VERSION_MISMATCH);
    g_assert_cmpuint(header_err(SPICE_MAGIC, 0, 18), ==, SPICE_LINK_ERR_VERSION_MISMATCH);
    g_assert_cmpuint(header_err(0, 2, 18), ==, SPICE_LINK_ERR_INVALID_MAGIC);
    g_assert_cmpuint(header_err(0x20544547, 2, 18), ==, SPICE_LINK_ERR_INVALID_MAGIC);
    /* Magic is checked before anything else. */
    g_assert_cmpuint(header_err(1, 9, UINT32_MAX), ==, SPICE_LINK_ERR_INVALID_MAGIC);

    /* Truncated headers never read past the buffer. */
    uint8_t h[16];
    put_header(h, SPICE_MAGIC, 2, 18);
    for (size_t len = 0; len < 16; len++) {
        uint8_t *copy = g_memdup2(h, len ? len : 1);
        LinkHeader out;
        const char *why;
        g_assert_cmpuint(link_parse_header(copy, len, &out, &why), ==, SPICE_LINK_ERR_INVALID_DATA);
        g_free(copy);
    }
}

static void test_magic(void)
{
    const char *why = NULL;
    uint8_t b[4];
    spice_wire_put_u32(b, SPICE_MAGIC);
    g_assert_cmpuint(link_parse_magic(b, 4, &why), ==, SPICE_LINK_ERR_OK);
    g_assert_null(why);
    g_assert_cmpuint(link_parse_magic((const uint8_t *)"GET ", 4, &why), ==,
                     SPICE_LINK_ERR_INVALID_MAGIC);
    g_assert_nonnull(why);
    for (size_t len = 0; len < 4; len++) {
        uint8_t *copy = g_memdup2(b, len ? len : 1);
        g_assert_cmpuint(link_parse_magic(copy, len, &why), ==, SPICE_LINK_ERR_INVALID_DATA);
        g_free(copy);
    }
}

static uint32_t mess_err(const uint8_t *m, size_t size, LinkMessage *out)
{
    const char *why = NULL;
    uint32_t err = link_parse_message(m, size, out, &why);
    g_assert_true(err == SPICE_LINK_ERR_OK ? why == NULL : why != NULL);
    return err;
}

static void make(uint8_t *m, uint32_t conn, uint8_t type, uint8_t id, uint32_t nc, uint32_t nch,
                 uint32_t off)
{
    spice_wire_put_u32(m, conn);
    m[4] = type;
    m[5] = id;
    spice_wire_put_u32(m + 6, nc);
    spice_wire_put_u32(m + 10, nch);
    spice_wire_put_u32(m + 14, off);
}

static void test_message(void)
{
    uint8_t m[4096] = { 0 };
    LinkMessage out;
    make(m, 0x1234, 3, 7, 1, 2, 18);
    spice_wire_put_u32(m + 18, 0xb);
    spice_wire_put_u32(m + 22, 0x1);
    spice_wire_put_u32(m + 26, 0x80000000);
    g_assert_cmpuint(mess_err(m, 30, &out), ==, SPICE_LINK_ERR_OK);
    g_assert_cmpuint(out.connection_id, ==, 0x1234);
    g_assert_cmpuint(out.channel_type, ==, 3);
    g_assert_cmpuint(out.channel_id, ==, 7);
    GArray *common, *channel;
    link_parse_caps(m, &out, &common, &channel);
    g_assert_cmpuint(common->len, ==, 1);
    g_assert_cmpuint(channel->len, ==, 2);
    g_assert_cmphex(g_array_index(common, uint32_t, 0), ==, 0xb);
    g_assert_cmphex(g_array_index(channel, uint32_t, 1), ==, 0x80000000);
    g_array_unref(common);
    g_array_unref(channel);

    /* Caps may sit after padding (offset > 18) and may be absent. */
    make(m, 0, 1, 0, 0, 0, 18);
    g_assert_cmpuint(mess_err(m, 18, &out), ==, SPICE_LINK_ERR_OK);
    make(m, 0, 1, 0, 1, 0, 100);
    g_assert_cmpuint(mess_err(m, 104, &out), ==, SPICE_LINK_ERR_OK);

    /* Hostile counts and offsets. */
    make(m, 0, 1, 0, 1025, 0, 18);
    g_assert_cmpuint(mess_err(m, 4096, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
    make(m, 0, 1, 0, 0, 1025, 18);
    g_assert_cmpuint(mess_err(m, 4096, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
    make(m, 0, 1, 0, UINT32_MAX, UINT32_MAX, 18);
    g_assert_cmpuint(mess_err(m, 4096, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
    make(m, 0, 1, 0, 1024, 1024, 18); /* within limits but past the end */
    g_assert_cmpuint(mess_err(m, 4096, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
    make(m, 0, 1, 0, 1, 1, UINT32_MAX);
    g_assert_cmpuint(mess_err(m, 4096, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
    make(m, 0, 1, 0, 1, 1, UINT32_MAX - 3);
    g_assert_cmpuint(mess_err(m, 4096, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
    make(m, 0, 1, 0, 1, 0, 0);
    g_assert_cmpuint(mess_err(m, 22, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
    make(m, 0, 1, 0, 1, 0, 17);
    g_assert_cmpuint(mess_err(m, 22, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
    make(m, 0, 1, 0, 1, 0, 18);
    g_assert_cmpuint(mess_err(m, 21, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
    for (size_t len = 0; len < 18; len++) {
        uint8_t *copy = g_memdup2(m, len ? len : 1);
        g_assert_cmpuint(mess_err(copy, len, &out), ==, SPICE_LINK_ERR_INVALID_DATA);
        g_free(copy);
    }
}

static void test_random(void)
{
    /* Random bytes: never crash, never accept caps outside the buffer. */
    GRand *rand = g_rand_new_with_seed(0x5eed);
    for (int i = 0; i < 20000; i++) {
        size_t size = (size_t)g_rand_int_range(rand, 0, 80);
        uint8_t *buf = g_malloc(size ? size : 1);
        for (size_t j = 0; j < size; j++) {
            buf[j] = (uint8_t)g_rand_int(rand);
        }
        if (size >= 18 && g_rand_boolean(rand)) {
            /* Small counts so some random messages are valid. */
            spice_wire_put_u32(buf + 6, g_rand_int_range(rand, 0, 4));
            spice_wire_put_u32(buf + 10, g_rand_int_range(rand, 0, 4));
            spice_wire_put_u32(buf + 14, g_rand_int_range(rand, 0, 40));
        }
        LinkMessage out;
        if (mess_err(buf, size, &out) == SPICE_LINK_ERR_OK) {
            g_assert_cmpuint((uint64_t)out.caps_offset +
                                 4 * ((uint64_t)out.num_common_caps + out.num_channel_caps),
                             <=, size);
            GArray *c, *ch;
            link_parse_caps(buf, &out, &c, &ch);
            g_array_unref(c);
            g_array_unref(ch);
        }
        g_free(buf);
    }
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/link-parser/magic", test_magic);
    g_test_add_func("/link-parser/header", test_header);
    g_test_add_func("/link-parser/message", test_message);
    g_test_add_func("/link-parser/random", test_random);
    return g_test_run();
}
