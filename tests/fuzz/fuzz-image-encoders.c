/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-image-encoders.c: every image encoder on sizes, strides and pixels
 * from the input (LZ's palette form where there are 256 colours or
 * fewer), the lossless ones decoded back with the strict decoders
 * (tests/codecs/image-decoders.c, what the clients accept) and compared.
 *
 * Input: u16 width, u16 height (both taken modulo 700, plus 1), u8 row
 * padding, u8 flags (1: bottom-up rows, 2: pixels are indexes into a
 * palette made of the next 64 bytes, so copies and runs are common;
 * 4: also JPEG; 8: GLZ deflated; 16: the GLZ image is the second
 * display channel's), then pixel bytes, repeated to fill the image. GLZ
 * runs on one dictionary and one client window for the whole run, small
 * enough that images leave it, so copies from earlier inputs' images
 * and the window's bookkeeping are exercised too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <spice/enums.h>

#include "image-codec.h"
#include "image-decoders.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static GlzDictionary *glz_dict;
static GlzTestWindow *glz_window;

/* Decoded pixels (0x00RRGGBB) against the image, x bytes ignored. */
static void assert_same(const uint32_t *px, const uint8_t *top, int32_t stride, uint32_t width,
                        uint32_t height)
{
    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *row = top + (ptrdiff_t)y * stride;
        for (uint32_t x = 0; x < width; x++) {
            uint32_t want =
                row[4 * x] | (uint32_t)row[4 * x + 1] << 8 | (uint32_t)row[4 * x + 2] << 16;
            g_assert_cmphex(px[(size_t)y * width + x], ==, want);
        }
    }
}

static void check_lossless(uint8_t type, const SpiceWireWriter *w, const uint8_t *top,
                           int32_t stride, uint32_t width, uint32_t height)
{
    size_t used;
    const char *why;
    uint32_t *px =
        image_decode_body(glz_window, type, w->data, w->size, width, height, &used, NULL, &why);
    if (!px) {
        g_error("type %u %ux%u: refused by the decoder: %s", type, width, height, why);
    }
    g_assert_cmpuint(used, ==, w->size);
    assert_same(px, top, stride, width, height);
    free(px);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 7) {
        return 0;
    }
    uint32_t width = (uint32_t)(data[0] | data[1] << 8) % 700 + 1;
    uint32_t height = (uint32_t)(data[2] | data[3] << 8) % 700 + 1;
    uint32_t pad = data[4];
    uint8_t flags = data[5];
    data += 6;
    size -= 6;
    const uint8_t *palette = NULL;
    if ((flags & 2) && size > 64) {
        palette = data;
        data += 64;
        size -= 64;
    }
    size_t row = (size_t)width * 4 + pad;
    uint8_t *mem = g_malloc(row * height);
    size_t k = 0;
    for (size_t i = 0; i < row * height; i++) {
        if (palette) {
            mem[i] = palette[(data[(i / 4) % size] & 15) * 4 + i % 4];
        } else {
            mem[i] = data[k];
            k = k + 1 == size ? 0 : k + 1;
        }
    }
    bool bottom_up = flags & 1;
    uint8_t *top = bottom_up ? mem + row * (height - 1) : mem;
    int32_t stride = bottom_up ? -(int32_t)row : (int32_t)row;

    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    g_assert_true(image_encode_bitmap(&w, top, stride, width, height));
    check_lossless(SPICE_IMAGE_TYPE_BITMAP, &w, top, stride, width, height);
    w.size = 0;
    g_assert_true(image_encode_lz(&w, top, stride, width, height));
    check_lossless(SPICE_IMAGE_TYPE_LZ_RGB, &w, top, stride, width, height);
    w.size = 0;
    g_assert_true(image_encode_quic(&w, top, stride, width, height));
    check_lossless(SPICE_IMAGE_TYPE_QUIC, &w, top, stride, width, height);
    w.size = 0;
    uint32_t pal[256], colours = 0;
    size_t pal_at = 0;
    if (image_encode_lz_plt8(&w, top, stride, width, height, pal, &colours, &pal_at)) {
        g_assert_cmpuint(spice_wire_get_u32(w.data), ==, w.size - 8);
        uint32_t dw, dh;
        const char *why;
        uint32_t *px = lz_decode_plt8(w.data + 8, w.size - 8, pal, colours, &dw, &dh, &why);
        if (!px) {
            g_error("PLT8 %ux%u: refused by the decoder: %s", width, height, why);
        }
        g_assert_cmpuint(dw, ==, width);
        g_assert_cmpuint(dh, ==, height);
        assert_same(px, top, stride, width, height);
        free(px);
    } else {
        /* Only over 256 colours; a palette input has 16 at most. */
        g_assert_null(palette);
        g_assert_cmpuint(w.size, ==, 0);
    }
#ifdef SPICE_CODEC_LZ4
    w.size = 0;
    g_assert_true(image_encode_lz4(&w, top, stride, width, height));
    check_lossless(SPICE_IMAGE_TYPE_LZ4, &w, top, stride, width, height);
#endif
    if (!glz_dict) {
        glz_dict = glz_dictionary_new(700 * 700 * 2);
        glz_window = glz_test_window_new();
    }
    for (int twice = 0; twice < 2; twice++) {
        w.size = 0;
        bool zlib_used = false;
        g_assert_true(image_encode_glz(&w, glz_dict, flags & 16 ? 2 : 1, flags & 8 ? 3 : 0, top,
                                       stride, width, height, &zlib_used));
        check_lossless(zlib_used ? SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB : SPICE_IMAGE_TYPE_GLZ_RGB, &w,
                       top, stride, width, height);
    }
#ifdef SPICE_CODEC_JPEG
    if (flags & 4) {
        w.size = 0;
        g_assert_true(image_encode_jpeg(&w, top, stride, width, height, flags >> 3));
        g_assert_cmpuint(w.size, >, 4);
    }
#endif
    (void)image_is_photographic(top, stride, width, height);
    (void)image_hash(top, stride, width, height);
    spice_wire_writer_clear(&w);
    g_free(mem);
    return 0;
}
