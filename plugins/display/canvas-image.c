/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * canvas-image.c: guest bitmaps as pixman images.
 *
 * Direct-color bitmaps whose rows pixman can read in place (4-byte aligned
 * rows) are wrapped without a copy, bottom-up ones with a negative stride:
 * QEMU's simple display sends every frame as a 32BIT top-down bitmap, so
 * that path must not copy. Palette formats are expanded; a palette index
 * the palette does not hold reads as 0.
 */
#include <string.h>

#include <glib.h>
#include <spice/enums.h>

#include "canvas-internal.h"

static void release_image(pixman_image_t *image, void *data)
{
    pixman_image_unref(data);
}

pixman_image_t *canvas_image_view(pixman_image_t *image, pixman_format_code_t format)
{
    pixman_image_t *view = pixman_image_create_bits(
        format, pixman_image_get_width(image), pixman_image_get_height(image),
        pixman_image_get_data(image), pixman_image_get_stride(image));
    if (!view) {
        return NULL;
    }
    pixman_image_set_destroy_function(view, release_image, pixman_image_ref(image));
    return view;
}

bool canvas_formats_compatible(pixman_format_code_t a, pixman_format_code_t b)
{
    if (a == b) {
        return true;
    }
    /* The alpha byte is the only difference: the bits carry over. */
    return (a == PIXMAN_x8r8g8b8 || a == PIXMAN_a8r8g8b8) &&
           (b == PIXMAN_x8r8g8b8 || b == PIXMAN_a8r8g8b8);
}

/* Row y of the picture (0 = top) in guest memory. */
static const uint8_t *bitmap_row(const DrBitmap *b, uint32_t y)
{
    uint32_t mem_row = b->top_down ? y : b->height - 1 - y;
    return b->data + (size_t)mem_row * b->stride;
}

static uint32_t palette_entry(const DrBitmap *b, uint32_t index)
{
    if (!b->palette || index >= b->palette_size) {
        return 0;
    }
    return b->palette[index];
}

static uint32_t palette_index(const DrBitmap *b, const uint8_t *row, uint32_t x)
{
    switch (b->format) {
    case SPICE_BITMAP_FMT_1BIT_LE:
        return (row[x >> 3] >> (x & 7)) & 1;
    case SPICE_BITMAP_FMT_1BIT_BE:
        return (row[x >> 3] >> (7 - (x & 7))) & 1;
    case SPICE_BITMAP_FMT_4BIT_LE:
        return (x & 1) ? row[x >> 1] >> 4 : row[x >> 1] & 0x0f;
    case SPICE_BITMAP_FMT_4BIT_BE:
        return (x & 1) ? row[x >> 1] & 0x0f : row[x >> 1] >> 4;
    default:
        return row[x];
    }
}

/* Palette entries are raw pixels of the surface format the bitmap is drawn
 * on (32-bit, or 16-bit on 16-bit surfaces), as in the reference. */
static pixman_image_t *expand_palette(const DrBitmap *b, pixman_format_code_t format)
{
    pixman_image_t *image =
        pixman_image_create_bits(format, (int)b->width, (int)b->height, NULL, 0);
    if (!image) {
        return NULL;
    }
    PixelView v = canvas_pixel_view(image);
    uint32_t *line = g_new(uint32_t, b->width);
    uint32_t lut[256];
    uint32_t n_lut = b->format == SPICE_BITMAP_FMT_8BIT ? 256 : 16;
    for (uint32_t i = 0; i < n_lut; i++) {
        lut[i] = palette_entry(b, i);
    }
    for (uint32_t y = 0; y < b->height; y++) {
        const uint8_t *row = bitmap_row(b, y);
        for (uint32_t x = 0; x < b->width; x++) {
            line[x] = lut[palette_index(b, row, x)];
        }
        canvas_pixels_store(&v, 0, (int)y, (int)b->width, line);
    }
    g_free(line);
    return image;
}

/* 24-bit rows are B, G, R bytes; when they cannot be wrapped they are
 * expanded straight to x8r8g8b8. */
static pixman_image_t *expand_24(const DrBitmap *b)
{
    pixman_image_t *image =
        pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)b->width, (int)b->height, NULL, 0);
    if (!image) {
        return NULL;
    }
    PixelView v = canvas_pixel_view(image);
    for (uint32_t y = 0; y < b->height; y++) {
        const uint8_t *row = bitmap_row(b, y);
        uint32_t *out = (uint32_t *)(void *)(v.row0 + (ptrdiff_t)y * v.stride);
        for (uint32_t x = 0; x < b->width; x++) {
            const uint8_t *p = row + (size_t)x * 3;
            out[x] = (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
        }
    }
    return image;
}

static pixman_image_t *wrap_or_copy(const DrBitmap *b, pixman_format_code_t format)
{
    size_t row_bytes = ((size_t)b->width * PIXMAN_FORMAT_BPP(format) + 7) / 8;
    bool wrappable =
        b->stride % 4 == 0 && ((uintptr_t)b->data % 4) == 0 && b->stride <= (uint32_t)INT32_MAX;
    if (wrappable) {
        uint8_t *first = (uint8_t *)b->data;
        int stride = (int)b->stride;
        if (!b->top_down) {
            first += (size_t)(b->height - 1) * b->stride;
            stride = -stride;
        }
        /* pixman only reads source images; the cast drops const for its API. */
        return pixman_image_create_bits(format, (int)b->width, (int)b->height,
                                        (uint32_t *)(void *)first, stride);
    }
    if (format == PIXMAN_r8g8b8) {
        return expand_24(b);
    }
    pixman_image_t *image =
        pixman_image_create_bits(format, (int)b->width, (int)b->height, NULL, 0);
    if (!image) {
        return NULL;
    }
    PixelView v = canvas_pixel_view(image);
    for (uint32_t y = 0; y < b->height; y++) {
        memcpy(v.row0 + (ptrdiff_t)y * v.stride, bitmap_row(b, y), row_bytes);
    }
    return image;
}

pixman_image_t *canvas_image_from_bitmap(const DrBitmap *b, pixman_format_code_t palette_format)
{
    if (b->width == 0 || b->height == 0 || b->width > INT16_MAX || b->height > INT16_MAX) {
        return NULL;
    }
    switch (b->format) {
    case SPICE_BITMAP_FMT_1BIT_LE:
    case SPICE_BITMAP_FMT_1BIT_BE:
    case SPICE_BITMAP_FMT_4BIT_LE:
    case SPICE_BITMAP_FMT_4BIT_BE:
    case SPICE_BITMAP_FMT_8BIT:
        return expand_palette(b, palette_format);
    case SPICE_BITMAP_FMT_16BIT:
        return wrap_or_copy(b, PIXMAN_x1r5g5b5);
    case SPICE_BITMAP_FMT_24BIT:
        return wrap_or_copy(b, PIXMAN_r8g8b8);
    case SPICE_BITMAP_FMT_32BIT:
        return wrap_or_copy(b, PIXMAN_x8r8g8b8);
    case SPICE_BITMAP_FMT_RGBA:
        return wrap_or_copy(b, PIXMAN_a8r8g8b8);
    case SPICE_BITMAP_FMT_8BIT_A:
        return wrap_or_copy(b, PIXMAN_a8);
    default:
        return NULL;
    }
}
