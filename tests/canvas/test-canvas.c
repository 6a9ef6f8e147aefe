/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-canvas.c: the display plugin's software renderer, pixel by pixel.
 *
 * Every expectation is computed here from the drawing's definition (the
 * reference canvas's semantics), never by calling the renderer's helpers:
 * small canvases are filled with known pixels, one drawable is rendered,
 * and every pixel is compared with what it should be.
 */
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/qxl_dev.h>

#include "canvas.h"

/* ------------------------------------------------------------------------
 * Test canvases: memory we own, read back without the renderer.
 */

typedef struct TCanvas {
    Canvas *c;
    uint8_t *mem;
    uint8_t *row0;
    int32_t stride;
    int w, h, bpp;
    uint32_t format;
} TCanvas;

static int format_bpp(uint32_t format)
{
    switch (format) {
    case SPICE_SURFACE_FMT_1_A:
        return 1;
    case SPICE_SURFACE_FMT_8_A:
        return 8;
    case SPICE_SURFACE_FMT_16_555:
    case SPICE_SURFACE_FMT_16_565:
        return 16;
    default:
        return 32;
    }
}

static TCanvas *tc_new(uint32_t format, int w, int h, bool bottom_up)
{
    TCanvas *t = g_new0(TCanvas, 1);
    t->w = w;
    t->h = h;
    t->format = format;
    t->bpp = format_bpp(format);
    int stride = ((w * t->bpp + 31) / 32) * 4;
    t->mem = g_malloc0((size_t)stride * (size_t)h);
    if (bottom_up) {
        t->row0 = t->mem + (size_t)stride * (size_t)(h - 1);
        t->stride = -stride;
    } else {
        t->row0 = t->mem;
        t->stride = stride;
    }
    t->c = canvas_new(format, (uint32_t)w, (uint32_t)h, t->stride, t->row0);
    g_assert_nonnull(t->c);
    return t;
}

static void tc_free(TCanvas *t)
{
    canvas_free(t->c);
    g_free(t->mem);
    g_free(t);
}

static uint32_t px(const TCanvas *t, int x, int y)
{
    const uint8_t *row = t->row0 + (ptrdiff_t)y * t->stride;
    switch (t->bpp) {
    case 32: {
        uint32_t v;
        memcpy(&v, row + x * 4, 4);
        return v;
    }
    case 16: {
        uint16_t v;
        memcpy(&v, row + x * 2, 2);
        return v;
    }
    case 8:
        return row[x];
    default:
        return (row[x / 8] >> (x % 8)) & 1;
    }
}

static void set_px(TCanvas *t, int x, int y, uint32_t v)
{
    uint8_t *row = t->row0 + (ptrdiff_t)y * t->stride;
    switch (t->bpp) {
    case 32:
        memcpy(row + x * 4, &v, 4);
        break;
    case 16: {
        uint16_t s = (uint16_t)v;
        memcpy(row + x * 2, &s, 2);
        break;
    }
    case 8:
        row[x] = (uint8_t)v;
        break;
    default:
        row[x / 8] = (uint8_t)((row[x / 8] & ~(1 << (x % 8))) | ((v & 1) << (x % 8)));
        break;
    }
}

/* Distinct known content: every pixel different. */
static uint32_t seed_value(int x, int y)
{
    return 0x01000000u * (uint32_t)((x * 7 + y) & 0xff) + 0x00010101u * (uint32_t)(x + 1) +
           0x00000100u * (uint32_t)(y * 3);
}

static void tc_seed(TCanvas *t)
{
    for (int y = 0; y < t->h; y++) {
        for (int x = 0; x < t->w; x++) {
            set_px(t, x, y, seed_value(x, y));
        }
    }
}

/* A copy of all pixels, to compute expectations from the state before. */
static uint32_t *tc_save(const TCanvas *t)
{
    uint32_t *s = g_new(uint32_t, (size_t)t->w * (size_t)t->h);
    for (int y = 0; y < t->h; y++) {
        for (int x = 0; x < t->w; x++) {
            s[y * t->w + x] = px(t, x, y);
        }
    }
    return s;
}

static void tc_fill(TCanvas *t, uint32_t v)
{
    for (int y = 0; y < t->h; y++) {
        for (int x = 0; x < t->w; x++) {
            set_px(t, x, y, v);
        }
    }
}

static bool in_box(int x, int y, int x1, int y1, int x2, int y2)
{
    return x >= x1 && x < x2 && y >= y1 && y < y2;
}

static Drawable dr(uint8_t type, int x1, int y1, int x2, int y2)
{
    Drawable d;
    memset(&d, 0, sizeof(d));
    d.type = type;
    d.effect = QXL_EFFECT_OPAQUE;
    d.bbox.x1 = x1;
    d.bbox.y1 = y1;
    d.bbox.x2 = x2;
    d.bbox.y2 = y2;
    return d;
}

static pixman_box32_t box(int x1, int y1, int x2, int y2)
{
    pixman_box32_t b = { x1, y1, x2, y2 };
    return b;
}

static DrImage bitmap_image(uint8_t format, uint32_t w, uint32_t h, uint32_t stride,
                            const void *data, bool top_down)
{
    DrImage img;
    memset(&img, 0, sizeof(img));
    img.kind = DR_IMAGE_BITMAP;
    img.width = w;
    img.height = h;
    img.bitmap.format = format;
    img.bitmap.top_down = top_down;
    img.bitmap.width = w;
    img.bitmap.height = h;
    img.bitmap.stride = stride;
    img.bitmap.data = data;
    return img;
}

static void draw_ok(TCanvas *t, const Drawable *d)
{
    const char *why = NULL;
    gboolean ok = canvas_draw(t->c, d, NULL, NULL, &why);
    if (!ok) {
        g_test_message("refused: %s", why);
    }
    g_assert_true(ok);
}

/* Per-channel comparison with a tolerance for pixman's rounding. */
static void assert_rgb_near(uint32_t got, uint32_t want, int tol)
{
    for (int shift = 0; shift < 24; shift += 8) {
        int g = (int)((got >> shift) & 0xff), w = (int)((want >> shift) & 0xff);
        if (g - w > tol || w - g > tol) {
            g_error("pixel 0x%06x, expected 0x%06x (+-%d)", got & 0xffffff, want & 0xffffff, tol);
        }
    }
}

static uint32_t mul255(uint32_t a, uint32_t b)
{
    return (a * b + 127) / 255;
}

/* ------------------------------------------------------------------------
 * Canvas object
 */

static void test_new(void)
{
    uint32_t *mem = g_new0(uint32_t, 64);
    g_assert_null(canvas_new(12345, 4, 4, 16, (uint8_t *)mem));
    g_assert_null(canvas_new(SPICE_SURFACE_FMT_32_xRGB, 4, 4, 15, (uint8_t *)mem));
    g_assert_null(canvas_new(SPICE_SURFACE_FMT_32_xRGB, 4, 4, 8, (uint8_t *)mem));
    g_assert_null(canvas_new(SPICE_SURFACE_FMT_32_xRGB, 4, 4, 16, (uint8_t *)mem + 1));
    g_assert_null(canvas_new(SPICE_SURFACE_FMT_32_xRGB, 0, 4, 16, (uint8_t *)mem));
    g_assert_null(canvas_new(SPICE_SURFACE_FMT_32_xRGB, 40000, 1, 160000, (uint8_t *)mem));
    g_assert_null(canvas_new(SPICE_SURFACE_FMT_32_xRGB, 4, 4, 16, NULL));
    Canvas *c = canvas_new(SPICE_SURFACE_FMT_16_565, 6, 4, -16, (uint8_t *)(mem + 12));
    g_assert_nonnull(c);
    g_assert_cmpuint(canvas_format(c), ==, SPICE_SURFACE_FMT_16_565);
    g_assert_cmpuint(canvas_width(c), ==, 6);
    g_assert_cmpuint(canvas_height(c), ==, 4);
    g_assert_true(pixman_image_get_format(canvas_image(c)) == PIXMAN_r5g6b5);
    canvas_free(c);
    canvas_free(NULL);
    g_free(mem);
}

static void test_fill_box_and_snapshot(void)
{
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_ARGB, 8, 8, false);
    tc_seed(t);
    uint32_t *before = tc_save(t);
    pixman_box32_t b = box(-5, 6, 3, 100);
    canvas_fill_box(t->c, &b, 0x80123456);
    for (int y = 0; y < 8; y++) {
        for (int x = 0; x < 8; x++) {
            uint32_t want = in_box(x, y, 0, 6, 3, 8) ? 0x80123456 : before[y * 8 + x];
            g_assert_cmphex(px(t, x, y), ==, want);
        }
    }
    b = box(6, -3, 20, 2);
    pixman_image_t *snap = canvas_snapshot(t->c, &b);
    g_assert_nonnull(snap);
    g_assert_cmpint(pixman_image_get_width(snap), ==, 2);
    g_assert_cmpint(pixman_image_get_height(snap), ==, 2);
    uint32_t *sp = pixman_image_get_data(snap);
    int sstride = pixman_image_get_stride(snap) / 4;
    for (int y = 0; y < 2; y++) {
        for (int x = 0; x < 2; x++) {
            g_assert_cmphex(sp[y * sstride + x], ==, px(t, 6 + x, y));
        }
    }
    pixman_image_unref(snap);
    b = box(8, 0, 12, 4);
    g_assert_null(canvas_snapshot(t->c, &b));
    g_free(before);
    tc_free(t);
}

/* ------------------------------------------------------------------------
 * Fill, ROP descriptors, clipping, masks, patterns
 */

static void test_fill_clip(void)
{
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 16, 16, false);
    tc_seed(t);
    uint32_t *before = tc_save(t);
    Drawable d = dr(QXL_DRAW_FILL, 2, 2, 14, 14);
    pixman_box32_t clips[2] = { box(0, 0, 5, 5), box(10, 8, 20, 12) };
    d.clip = true;
    d.n_clip_rects = 2;
    d.clip_rects = clips;
    d.u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.fill.brush.color = 0xff00ff00;
    d.u.fill.rop = SPICE_ROPD_OP_PUT;
    draw_ok(t, &d);
    for (int y = 0; y < 16; y++) {
        for (int x = 0; x < 16; x++) {
            bool in = in_box(x, y, 2, 2, 14, 14) &&
                      (in_box(x, y, 0, 0, 5, 5) || in_box(x, y, 10, 8, 20, 12));
            g_assert_cmphex(px(t, x, y), ==, in ? 0xff00ff00 : before[y * 16 + x]);
        }
    }
    /* clip with no rectangles draws nothing */
    d.n_clip_rects = 0;
    d.u.fill.brush.color = 0x12345678;
    draw_ok(t, &d);
    g_assert_cmphex(px(t, 3, 3), ==, 0xff00ff00);
    g_assert_cmphex(px(t, 7, 7), ==, before[7 * 16 + 7]);
    g_free(before);
    tc_free(t);
}

typedef struct RopCase {
    uint16_t ropd;
    uint32_t (*expect)(uint32_t b, uint32_t d);
} RopCase;

static uint32_t e_put(uint32_t b, uint32_t d)
{
    return b;
}
static uint32_t e_put_inv_brush(uint32_t b, uint32_t d)
{
    return ~b;
}
static uint32_t e_put_inv_both(uint32_t b, uint32_t d)
{
    return b; /* ~~b */
}
static uint32_t e_or(uint32_t b, uint32_t d)
{
    return b | d;
}
static uint32_t e_or_inv_dest(uint32_t b, uint32_t d)
{
    return b | ~d;
}
static uint32_t e_or_inv_res(uint32_t b, uint32_t d)
{
    return ~(b | d);
}
static uint32_t e_and(uint32_t b, uint32_t d)
{
    return b & d;
}
static uint32_t e_and_inv_brush(uint32_t b, uint32_t d)
{
    return ~b & d;
}
static uint32_t e_xor(uint32_t b, uint32_t d)
{
    return b ^ d;
}
static uint32_t e_xor_inv_res(uint32_t b, uint32_t d)
{
    return ~(b ^ d);
}
static uint32_t e_black(uint32_t b, uint32_t d)
{
    return 0;
}
static uint32_t e_white(uint32_t b, uint32_t d)
{
    return 0xffffffff;
}
static uint32_t e_invers(uint32_t b, uint32_t d)
{
    return ~d;
}

static const RopCase rop_cases[] = {
    { SPICE_ROPD_OP_PUT, e_put },
    { SPICE_ROPD_OP_PUT | SPICE_ROPD_INVERS_BRUSH, e_put_inv_brush },
    { SPICE_ROPD_OP_PUT | SPICE_ROPD_INVERS_BRUSH | SPICE_ROPD_INVERS_RES, e_put_inv_both },
    { SPICE_ROPD_OP_PUT | SPICE_ROPD_INVERS_DEST, e_put },
    { SPICE_ROPD_OP_OR, e_or },
    { SPICE_ROPD_OP_OR | SPICE_ROPD_INVERS_DEST, e_or_inv_dest },
    { SPICE_ROPD_OP_OR | SPICE_ROPD_INVERS_RES, e_or_inv_res },
    { SPICE_ROPD_OP_AND, e_and },
    { SPICE_ROPD_OP_AND | SPICE_ROPD_INVERS_BRUSH, e_and_inv_brush },
    { SPICE_ROPD_OP_XOR, e_xor },
    { SPICE_ROPD_OP_XOR | SPICE_ROPD_INVERS_RES, e_xor_inv_res },
    { SPICE_ROPD_OP_BLACKNESS, e_black },
    { SPICE_ROPD_OP_WHITENESS, e_white },
    { SPICE_ROPD_OP_INVERS, e_invers },
    { 0, e_put }, /* no operation bit: plain copy */
};

static void test_fill_ropd(void)
{
    const uint32_t formats[] = { SPICE_SURFACE_FMT_32_xRGB, SPICE_SURFACE_FMT_16_555,
                                 SPICE_SURFACE_FMT_8_A };
    for (size_t f = 0; f < G_N_ELEMENTS(formats); f++) {
        for (size_t i = 0; i < G_N_ELEMENTS(rop_cases); i++) {
            TCanvas *t = tc_new(formats[f], 8, 8, false);
            tc_seed(t);
            uint32_t *before = tc_save(t);
            uint32_t vmask = t->bpp == 32 ? 0xffffffff : (1u << t->bpp) - 1;
            Drawable d = dr(QXL_DRAW_FILL, 1, 1, 7, 7);
            d.u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
            d.u.fill.brush.color = 0xa5c3e10f;
            d.u.fill.rop = rop_cases[i].ropd;
            draw_ok(t, &d);
            for (int y = 0; y < 8; y++) {
                for (int x = 0; x < 8; x++) {
                    uint32_t old = before[y * 8 + x];
                    uint32_t want = in_box(x, y, 1, 1, 7, 7)
                                        ? rop_cases[i].expect(0xa5c3e10f & vmask, old) & vmask
                                        : old;
                    if (px(t, x, y) != want) {
                        g_error("format %u rop 0x%x at %d,%d: 0x%x, expected 0x%x", formats[f],
                                rop_cases[i].ropd, x, y, px(t, x, y), want);
                    }
                }
            }
            g_free(before);
            tc_free(t);
        }
    }
}

/* An 8x6 1-bit mask; bit (x, y) is set when (x + 2 * y) % 3 == 0. */
static bool mask_bit(int x, int y)
{
    return (x + 2 * y) % 3 == 0;
}

static void make_mask(uint8_t *data, int stride, bool be, bool top_down)
{
    memset(data, 0, (size_t)stride * 6);
    for (int y = 0; y < 6; y++) {
        uint8_t *row = data + (top_down ? y : 5 - y) * stride;
        for (int x = 0; x < 8; x++) {
            if (mask_bit(x, y)) {
                row[x / 8] |= (uint8_t)(be ? 0x80 >> (x % 8) : 1 << (x % 8));
            }
        }
    }
}

static void test_fill_mask(void)
{
    for (int variant = 0; variant < 8; variant++) {
        bool be = variant & 1, top_down = variant & 2, invers = variant & 4;
        uint8_t bits[4 * 6];
        make_mask(bits, 4, be, top_down);
        DrImage mimg = bitmap_image(be ? SPICE_BITMAP_FMT_1BIT_BE : SPICE_BITMAP_FMT_1BIT_LE, 8, 6,
                                    4, bits, top_down);
        TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 16, 16, false);
        tc_seed(t);
        uint32_t *before = tc_save(t);
        Drawable d = dr(QXL_DRAW_FILL, 3, 4, 13, 12);
        d.u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
        d.u.fill.brush.color = 0x00abcdef;
        d.u.fill.rop = SPICE_ROPD_OP_PUT;
        d.u.fill.mask.bitmap = &mimg;
        d.u.fill.mask.x = 1; /* mask pixel (1, 2) sits on the bbox corner */
        d.u.fill.mask.y = 2;
        d.u.fill.mask.flags = invers ? SPICE_MASK_FLAGS_INVERS : 0;
        draw_ok(t, &d);
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 16; x++) {
                int mx = x - 3 + 1, my = y - 4 + 2;
                bool drawn = in_box(x, y, 3, 4, 13, 12) && in_box(mx, my, 0, 0, 8, 6) &&
                             (mask_bit(mx, my) != invers);
                g_assert_cmphex(px(t, x, y), ==, drawn ? 0x00abcdef : before[y * 16 + x]);
            }
        }
        g_free(before);
        tc_free(t);
    }
}

static void test_fill_pattern(void)
{
    /* A 3x2 pattern, bottom-up in memory. */
    uint32_t pat[6] = { 0x100, 0x101, 0x102, 0x200, 0x201, 0x202 };
    DrImage pimg = bitmap_image(SPICE_BITMAP_FMT_32BIT, 3, 2, 12, pat, false);
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 10, 10, false);
    tc_seed(t);
    uint32_t *before = tc_save(t);
    Drawable d = dr(QXL_DRAW_FILL, 1, 1, 9, 9);
    d.u.fill.brush.type = SPICE_BRUSH_TYPE_PATTERN;
    d.u.fill.brush.pattern = &pimg;
    d.u.fill.brush.pat_x = -7;
    d.u.fill.brush.pat_y = 5;
    d.u.fill.rop = SPICE_ROPD_OP_XOR;
    draw_ok(t, &d);
    for (int y = 0; y < 10; y++) {
        for (int x = 0; x < 10; x++) {
            uint32_t old = before[y * 10 + x];
            int tx = (((x + 7) % 3) + 3) % 3, ty = (((y - 5) % 2) + 2) % 2;
            /* picture row ty is memory row 1 - ty (bottom-up) */
            uint32_t p = pat[(1 - ty) * 3 + tx];
            g_assert_cmphex(px(t, x, y), ==, in_box(x, y, 1, 1, 9, 9) ? (old ^ p) : old);
        }
    }
    g_free(before);
    tc_free(t);
}

static void test_blackness_whiteness_invers(void)
{
    const uint8_t types[] = { QXL_DRAW_BLACKNESS, QXL_DRAW_WHITENESS, QXL_DRAW_INVERS };
    uint8_t bits[4 * 6];
    make_mask(bits, 4, false, true);
    DrImage mimg = bitmap_image(SPICE_BITMAP_FMT_1BIT_LE, 8, 6, 4, bits, true);
    for (size_t i = 0; i < G_N_ELEMENTS(types); i++) {
        TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_ARGB, 12, 12, true);
        tc_seed(t);
        uint32_t *before = tc_save(t);
        Drawable d = dr(types[i], 2, 2, 10, 8);
        d.u.blackness.mask.bitmap = &mimg;
        d.u.blackness.mask.flags = SPICE_MASK_FLAGS_INVERS;
        draw_ok(t, &d);
        for (int y = 0; y < 12; y++) {
            for (int x = 0; x < 12; x++) {
                uint32_t old = before[y * 12 + x];
                int mx = x - 2, my = y - 2;
                bool drawn = in_box(x, y, 2, 2, 10, 8) && !mask_bit(mx, my);
                uint32_t want = !drawn                           ? old
                                : types[i] == QXL_DRAW_BLACKNESS ? 0
                                : types[i] == QXL_DRAW_WHITENESS ? 0xffffffff
                                                                 : ~old;
                g_assert_cmphex(px(t, x, y), ==, want);
            }
        }
        g_free(before);
        tc_free(t);
    }
}

/* ------------------------------------------------------------------------
 * Copy: every bitmap format, rops, scaling, masks
 */

typedef struct FormatCase {
    uint8_t format;
    bool top_down;
} FormatCase;

/* The 32-bit color of source pixel (x, y) for the test images. */
static uint32_t src_color(int x, int y)
{
    static const uint32_t colors[4] = { 0x00ff0000, 0x0000ff00, 0x000000ff, 0x00808080 };
    return colors[(x + 2 * y) % 4] ^ (uint32_t)(x * 0x10 + y);
}

/* Builds a 5x3 bitmap of the format whose pixel (x, y) encodes src_color;
 * returns the 32-bit pixel a 32-bit canvas must show (with its mask). */
typedef struct Built {
    uint8_t data[256];
    uint32_t palette[16];
    uint32_t want[3][5];
    uint32_t want_mask;
    uint32_t stride;
} Built;

static void build_bitmap(Built *b, uint8_t format, bool top_down)
{
    memset(b, 0, sizeof(*b));
    b->want_mask = 0xffffffff;
    for (int i = 0; i < 16; i++) {
        b->palette[i] = 0x11000000u * (uint32_t)(i & 1) + 0x00010203u * (uint32_t)(i * 13 + 1);
    }
    switch (format) {
    case SPICE_BITMAP_FMT_1BIT_LE:
    case SPICE_BITMAP_FMT_1BIT_BE:
        b->stride = 4;
        break;
    case SPICE_BITMAP_FMT_4BIT_LE:
    case SPICE_BITMAP_FMT_4BIT_BE:
        b->stride = 4;
        break;
    case SPICE_BITMAP_FMT_8BIT:
    case SPICE_BITMAP_FMT_8BIT_A:
        b->stride = 8;
        break;
    case SPICE_BITMAP_FMT_16BIT:
        b->stride = 12;
        break;
    case SPICE_BITMAP_FMT_24BIT:
        b->stride = 15; /* not a multiple of 4: the copying path */
        break;
    default:
        b->stride = 20;
        break;
    }
    for (int y = 0; y < 3; y++) {
        uint8_t *row = b->data + (top_down ? y : 2 - y) * b->stride;
        for (int x = 0; x < 5; x++) {
            uint32_t c = src_color(x, y);
            int idx = (x + y) % 16;
            switch (format) {
            case SPICE_BITMAP_FMT_1BIT_LE:
                if ((x + y) & 1) {
                    row[x / 8] |= (uint8_t)(1 << (x % 8));
                }
                b->want[y][x] = b->palette[(x + y) & 1];
                break;
            case SPICE_BITMAP_FMT_1BIT_BE:
                if ((x + y) & 1) {
                    row[x / 8] |= (uint8_t)(0x80 >> (x % 8));
                }
                b->want[y][x] = b->palette[(x + y) & 1];
                break;
            case SPICE_BITMAP_FMT_4BIT_LE:
                row[x / 2] |= (uint8_t)(x & 1 ? idx << 4 : idx);
                b->want[y][x] = b->palette[idx];
                break;
            case SPICE_BITMAP_FMT_4BIT_BE:
                row[x / 2] |= (uint8_t)(x & 1 ? idx : idx << 4);
                b->want[y][x] = b->palette[idx];
                break;
            case SPICE_BITMAP_FMT_8BIT:
                /* index 20 is beyond the 16-entry palette: reads as 0 */
                row[x] = (uint8_t)(x == 4 ? 20 : idx);
                b->want[y][x] = x == 4 ? 0 : b->palette[idx];
                break;
            case SPICE_BITMAP_FMT_16BIT: {
                uint32_t r = (c >> 19) & 0x1f, g = (c >> 11) & 0x1f, bl = (c >> 3) & 0x1f;
                uint16_t v = (uint16_t)(r << 10 | g << 5 | bl);
                memcpy(row + x * 2, &v, 2);
                b->want[y][x] =
                    ((r << 3 | r >> 2) << 16) | ((g << 3 | g >> 2) << 8) | (bl << 3 | bl >> 2);
                b->want_mask = 0x00ffffff;
                break;
            }
            case SPICE_BITMAP_FMT_24BIT:
                row[x * 3] = (uint8_t)c;
                row[x * 3 + 1] = (uint8_t)(c >> 8);
                row[x * 3 + 2] = (uint8_t)(c >> 16);
                b->want[y][x] = c & 0x00ffffff;
                b->want_mask = 0x00ffffff;
                break;
            case SPICE_BITMAP_FMT_32BIT:
            case SPICE_BITMAP_FMT_RGBA: {
                uint32_t v = c | 0xff000000u;
                memcpy(row + x * 4, &v, 4);
                b->want[y][x] = v; /* same-size copies move raw bits */
                break;
            }
            default: /* 8BIT_A on a 32-bit canvas: black */
                row[x] = (uint8_t)c;
                b->want[y][x] = 0;
                b->want_mask = 0x00ffffff;
                break;
            }
        }
    }
}

static void test_copy_formats(void)
{
    const uint8_t formats[] = {
        SPICE_BITMAP_FMT_1BIT_LE, SPICE_BITMAP_FMT_1BIT_BE, SPICE_BITMAP_FMT_4BIT_LE,
        SPICE_BITMAP_FMT_4BIT_BE, SPICE_BITMAP_FMT_8BIT,    SPICE_BITMAP_FMT_16BIT,
        SPICE_BITMAP_FMT_24BIT,   SPICE_BITMAP_FMT_32BIT,   SPICE_BITMAP_FMT_RGBA,
        SPICE_BITMAP_FMT_8BIT_A,
    };
    for (size_t f = 0; f < G_N_ELEMENTS(formats); f++) {
        for (int td = 0; td < 2; td++) {
            Built *b = g_new(Built, 1);
            build_bitmap(b, formats[f], td);
            DrImage img = bitmap_image(formats[f], 5, 3, b->stride, b->data, td);
            img.bitmap.palette = b->palette;
            img.bitmap.palette_size = 16;
            TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 9, 7, td);
            tc_seed(t);
            uint32_t *before = tc_save(t);
            /* src_area (1,0)-(5,3) onto (3,2)-(7,5) */
            Drawable d = dr(QXL_DRAW_COPY, 3, 2, 7, 5);
            d.u.copy.src = &img;
            d.u.copy.src_area = box(1, 0, 5, 3);
            d.u.copy.rop = SPICE_ROPD_OP_PUT;
            draw_ok(t, &d);
            for (int y = 0; y < 7; y++) {
                for (int x = 0; x < 9; x++) {
                    if (in_box(x, y, 3, 2, 7, 5)) {
                        uint32_t want = b->want[y - 2][x - 3 + 1];
                        if ((px(t, x, y) & b->want_mask) != (want & b->want_mask)) {
                            g_error("format %d top_down %d at %d,%d: 0x%x, expected 0x%x",
                                    formats[f], td, x, y, px(t, x, y), want);
                        }
                    } else {
                        g_assert_cmphex(px(t, x, y), ==, before[y * 9 + x]);
                    }
                }
            }
            g_free(before);
            tc_free(t);
            g_free(b);
        }
    }
}

static void test_copy_palette_16bit(void)
{
    /* On 16-bit surfaces palette entries are 16-bit pixels. */
    uint8_t data[4] = { 0, 1, 2, 3 };
    uint32_t pal[4] = { 0x7c00, 0x03e0, 0x001f, 0xffff7fff };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_8BIT, 4, 1, 4, data, true);
    img.bitmap.palette = pal;
    img.bitmap.palette_size = 4;
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_16_555, 4, 2, false);
    Drawable d = dr(QXL_DRAW_COPY, 0, 1, 4, 2);
    d.u.copy.src = &img;
    d.u.copy.src_area = box(0, 0, 4, 1);
    d.u.copy.rop = SPICE_ROPD_OP_PUT;
    draw_ok(t, &d);
    g_assert_cmphex(px(t, 0, 1), ==, 0x7c00);
    g_assert_cmphex(px(t, 1, 1), ==, 0x03e0);
    g_assert_cmphex(px(t, 2, 1), ==, 0x001f);
    g_assert_cmphex(px(t, 3, 1), ==, 0x7fff);
    g_assert_cmphex(px(t, 0, 0), ==, 0);
    tc_free(t);
}

static void test_copy_16bit_dest(void)
{
    /* 32-bit pixels converted to 5:5:5 and 5:6:5 by truncation. */
    uint32_t src[2] = { 0xffff8040, 0xff10f0c8 };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_32BIT, 2, 1, 8, src, true);
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_16_555, 4, 4, true);
    TCanvas *u = tc_new(SPICE_SURFACE_FMT_16_565, 4, 4, false);
    Drawable d = dr(QXL_DRAW_COPY, 1, 2, 3, 3);
    d.u.copy.src = &img;
    d.u.copy.src_area = box(0, 0, 2, 1);
    d.u.copy.rop = SPICE_ROPD_OP_PUT;
    draw_ok(t, &d);
    draw_ok(u, &d);
    g_assert_cmphex(px(t, 1, 2), ==, (0xff >> 3) << 10 | (0x80 >> 3) << 5 | (0x40 >> 3));
    g_assert_cmphex(px(t, 2, 2), ==, (0x10 >> 3) << 10 | (0xf0 >> 3) << 5 | (0xc8 >> 3));
    g_assert_cmphex(px(u, 1, 2), ==, (0xff >> 3) << 11 | (0x80 >> 2) << 5 | (0x40 >> 3));
    g_assert_cmphex(px(u, 2, 2), ==, (0x10 >> 3) << 11 | (0xf0 >> 2) << 5 | (0xc8 >> 3));
    g_assert_cmphex(px(t, 0, 2), ==, 0);
    g_assert_cmphex(px(u, 3, 2), ==, 0);
    /* raw 16-bit fill on a bottom-up 16-bit canvas: row 0 is the last in memory */
    pixman_box32_t b = box(0, 0, 4, 1);
    canvas_fill_box(t->c, &b, 0x1234);
    uint16_t last;
    memcpy(&last, t->mem + 3 * 8, 2);
    g_assert_cmphex(last, ==, 0x1234);
    tc_free(t);
    tc_free(u);
}

static void test_a8_dest(void)
{
    uint8_t alpha[8] = { 0x00, 0x40, 0x80, 0xff, 0x11, 0x22, 0x33, 0x44 };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_8BIT_A, 4, 2, 4, alpha, false);
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_8_A, 6, 4, false);
    tc_fill(t, 0x77);
    Drawable d = dr(QXL_DRAW_COPY, 1, 1, 5, 3);
    d.u.copy.src = &img;
    d.u.copy.src_area = box(0, 0, 4, 2);
    d.u.copy.rop = SPICE_ROPD_OP_PUT;
    draw_ok(t, &d);
    for (int x = 0; x < 4; x++) {
        /* bottom-up: picture row 0 is the second memory row */
        g_assert_cmphex(px(t, 1 + x, 1), ==, alpha[4 + x]);
        g_assert_cmphex(px(t, 1 + x, 2), ==, alpha[x]);
    }
    g_assert_cmphex(px(t, 0, 1), ==, 0x77);
    Drawable f = dr(QXL_DRAW_FILL, 0, 3, 6, 4);
    f.u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
    f.u.fill.brush.color = 0x123456c3;
    f.u.fill.rop = SPICE_ROPD_OP_PUT;
    draw_ok(t, &f);
    g_assert_cmphex(px(t, 5, 3), ==, 0xc3);
    tc_free(t);
}

static void test_copy_rop_and_mask(void)
{
    uint32_t src[16];
    for (int i = 0; i < 16; i++) {
        src[i] = 0x0f0f0f0fu * (uint32_t)(i + 1);
    }
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_32BIT, 4, 4, 16, src, true);
    uint8_t bits[4 * 6];
    make_mask(bits, 4, false, true);
    DrImage mimg = bitmap_image(SPICE_BITMAP_FMT_1BIT_LE, 8, 6, 4, bits, true);
    const uint8_t types[] = { QXL_DRAW_COPY, QXL_DRAW_BLEND };
    for (size_t i = 0; i < 2; i++) {
        TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 8, 8, false);
        tc_seed(t);
        uint32_t *before = tc_save(t);
        Drawable d = dr(types[i], 2, 2, 6, 6);
        d.u.copy.src = &img;
        d.u.copy.src_area = box(0, 0, 4, 4);
        d.u.copy.rop = SPICE_ROPD_OP_AND | SPICE_ROPD_INVERS_SRC;
        d.u.copy.mask.bitmap = &mimg;
        draw_ok(t, &d);
        for (int y = 0; y < 8; y++) {
            for (int x = 0; x < 8; x++) {
                uint32_t old = before[y * 8 + x];
                bool drawn = in_box(x, y, 2, 2, 6, 6) && mask_bit(x - 2, y - 2);
                uint32_t want = drawn ? (~src[(y - 2) * 4 + x - 2] & old) : old;
                g_assert_cmphex(px(t, x, y), ==, want);
            }
        }
        g_free(before);
        tc_free(t);
    }
}

static void test_copy_scale_nearest(void)
{
    uint32_t src[4] = { 0x00111111, 0x00222222, 0x00333333, 0x00444444 };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, src, true);
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 8, 8, false);
    tc_seed(t);
    uint32_t *before = tc_save(t);
    Drawable d = dr(QXL_DRAW_COPY, 2, 2, 6, 6);
    d.u.copy.src = &img;
    d.u.copy.src_area = box(0, 0, 2, 2);
    d.u.copy.rop = SPICE_ROPD_OP_PUT;
    d.u.copy.scale_mode = SPICE_IMAGE_SCALE_MODE_NEAREST;
    draw_ok(t, &d);
    for (int y = 0; y < 8; y++) {
        for (int x = 0; x < 8; x++) {
            if (in_box(x, y, 2, 2, 6, 6)) {
                uint32_t want = src[((y - 2) / 2) * 2 + (x - 2) / 2];
                g_assert_cmphex(px(t, x, y) & 0xffffff, ==, want);
            } else {
                g_assert_cmphex(px(t, x, y), ==, before[y * 8 + x]);
            }
        }
    }
    /* a scaled copy with a rop goes through a scaled temporary */
    d.u.copy.rop = SPICE_ROPD_OP_XOR;
    uint32_t *mid = tc_save(t);
    draw_ok(t, &d);
    for (int y = 2; y < 6; y++) {
        for (int x = 2; x < 6; x++) {
            uint32_t s = src[((y - 2) / 2) * 2 + (x - 2) / 2];
            g_assert_cmphex(px(t, x, y) & 0xffffff, ==, (mid[y * 8 + x] ^ s) & 0xffffff);
        }
    }
    g_free(mid);
    g_free(before);
    tc_free(t);
}

static void test_opaque(void)
{
    uint32_t src[4] = { 0x0000ff00, 0x00ff0000, 0x000000ff, 0x00ffffff };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, src, true);
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 6, 6, false);
    tc_seed(t);
    uint32_t *before = tc_save(t);
    Drawable d = dr(QXL_DRAW_OPAQUE, 1, 1, 3, 3);
    d.u.opaque.src = &img;
    d.u.opaque.src_area = box(0, 0, 2, 2);
    d.u.opaque.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.opaque.brush.color = 0x00f0f0f0;
    /* brush AND NOT source */
    d.u.opaque.rop = SPICE_ROPD_OP_AND | SPICE_ROPD_INVERS_SRC;
    draw_ok(t, &d);
    for (int y = 0; y < 6; y++) {
        for (int x = 0; x < 6; x++) {
            uint32_t want = in_box(x, y, 1, 1, 3, 3) ? (0x00f0f0f0 & ~src[(y - 1) * 2 + x - 1])
                                                     : before[y * 6 + x];
            g_assert_cmphex(px(t, x, y), ==, want);
        }
    }
    g_free(before);
    tc_free(t);
}

/* rop3 codes, from their truth tables in the Windows ROP3 list. */
static uint32_t r3_expect(uint8_t code, uint32_t p, uint32_t s, uint32_t d)
{
    switch (code) {
    case 0x00:
        return 0;
    case 0xff:
        return 0xffffffff;
    case 0xcc:
        return s; /* SRCCOPY */
    case 0x66:
        return s ^ d; /* SRCINVERT */
    case 0xf0:
        return p; /* PATCOPY */
    case 0x5a:
        return p ^ d; /* PATINVERT */
    case 0xb8:
        return ((p ^ d) & s) ^ p; /* PSDPxax: D where S, else P */
    case 0x33:
        return ~s; /* NOTSRCCOPY */
    case 0xee:
        return s | d; /* SRCPAINT */
    case 0x88:
        return s & d; /* SRCAND */
    case 0xe2:
        return ((p ^ d) & s) ^ d; /* DSPDxax: P where S, else D */
    case 0x96:
        return p ^ s ^ d; /* DPSxx */
    default:
        g_assert_not_reached();
    }
}

static void test_rop3(void)
{
    const uint8_t codes[] = {
        0x00, 0xff, 0xcc, 0x66, 0xf0, 0x5a, 0xb8, 0x33, 0xee, 0x88, 0xe2, 0x96
    };
    uint32_t src[9];
    for (int i = 0; i < 9; i++) {
        src[i] = 0x01234567u * (uint32_t)(i + 3);
    }
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_RGBA, 3, 3, 12, src, true);
    uint32_t pat[4] = { 0xf0f0f0f0, 0x0ff00ff0, 0x12345678, 0x87654321 };
    DrImage pimg = bitmap_image(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, pat, true);
    for (size_t i = 0; i < G_N_ELEMENTS(codes); i++) {
        for (int patterned = 0; patterned < 2; patterned++) {
            TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_ARGB, 7, 7, patterned);
            tc_seed(t);
            uint32_t *before = tc_save(t);
            Drawable d = dr(QXL_DRAW_ROP3, 2, 3, 5, 6);
            d.u.rop3.src = &img;
            d.u.rop3.src_area = box(0, 0, 3, 3);
            d.u.rop3.rop3 = codes[i];
            if (patterned) {
                d.u.rop3.brush.type = SPICE_BRUSH_TYPE_PATTERN;
                d.u.rop3.brush.pattern = &pimg;
                d.u.rop3.brush.pat_x = 1;
                d.u.rop3.brush.pat_y = 0;
            } else {
                d.u.rop3.brush.type = SPICE_BRUSH_TYPE_SOLID;
                d.u.rop3.brush.color = 0xc3a55a3c;
            }
            draw_ok(t, &d);
            for (int y = 0; y < 7; y++) {
                for (int x = 0; x < 7; x++) {
                    uint32_t old = before[y * 7 + x];
                    uint32_t want = old;
                    if (in_box(x, y, 2, 3, 5, 6)) {
                        uint32_t p = patterned ? pat[(y % 2) * 2 + (x - 1) % 2] : 0xc3a55a3c;
                        want = r3_expect(codes[i], p, src[(y - 3) * 3 + x - 2], old);
                    }
                    if (px(t, x, y) != want) {
                        g_error("rop3 0x%02x pattern %d at %d,%d: 0x%x, expected 0x%x", codes[i],
                                patterned, x, y, px(t, x, y), want);
                    }
                }
            }
            g_free(before);
            tc_free(t);
        }
    }
}

static void test_transparent(void)
{
    uint32_t src[6] = { 0xff00ff00, 0x0000ff00, 0x12345678, 0x0000ff01, 0xaa00ff00, 0x00000000 };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_32BIT, 3, 2, 12, src, true);
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 5, 4, false);
    tc_seed(t);
    uint32_t *before = tc_save(t);
    Drawable d = dr(QXL_DRAW_TRANSPARENT, 1, 1, 4, 3);
    d.u.transparent.src = &img;
    d.u.transparent.src_area = box(0, 0, 3, 2);
    d.u.transparent.src_color = 0x0000ff00;
    d.u.transparent.true_color = 0xff00ff00; /* the top byte never counts */
    draw_ok(t, &d);
    for (int y = 0; y < 4; y++) {
        for (int x = 0; x < 5; x++) {
            uint32_t want = before[y * 5 + x];
            if (in_box(x, y, 1, 1, 4, 3)) {
                uint32_t s = src[(y - 1) * 3 + x - 1];
                if ((s & 0xffffff) != 0x00ff00) {
                    want = s;
                }
            }
            g_assert_cmphex(px(t, x, y), ==, want);
        }
    }
    g_free(before);
    tc_free(t);
}

static void test_alpha_blend(void)
{
    uint32_t src[4] = { 0x00ff0000, 0x0000ff00, 0x000000ff, 0x00808080 };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, src, true);
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 4, 4, false);
    tc_fill(t, 0xff204060);
    Drawable d = dr(QXL_DRAW_ALPHA_BLEND, 1, 1, 3, 3);
    d.u.alpha_blend.src = &img;
    d.u.alpha_blend.src_area = box(0, 0, 2, 2);
    d.u.alpha_blend.alpha = 0x80;
    draw_ok(t, &d);
    for (int y = 0; y < 4; y++) {
        for (int x = 0; x < 4; x++) {
            if (!in_box(x, y, 1, 1, 3, 3)) {
                g_assert_cmphex(px(t, x, y), ==, 0xff204060);
                continue;
            }
            uint32_t s = src[(y - 1) * 2 + x - 1], dst = 0x204060, want = 0;
            for (int sh = 0; sh < 24; sh += 8) {
                uint32_t c = mul255((s >> sh) & 0xff, 0x80) + mul255((dst >> sh) & 0xff, 0x7f);
                want |= MIN(c, 0xffu) << sh;
            }
            assert_rgb_near(px(t, x, y), want, 1);
            /* no DEST_HAS_ALPHA: the x byte is cleared as the reference does */
            g_assert_cmphex(px(t, x, y) >> 24, ==, 0);
        }
    }
    /* alpha 0 draws nothing */
    uint32_t keep = px(t, 1, 1);
    d.u.alpha_blend.alpha = 0;
    draw_ok(t, &d);
    g_assert_cmphex(px(t, 1, 1), ==, keep);
    tc_free(t);

    /* premultiplied RGBA source: d = s + d * (1 - sa) */
    uint32_t rgba[2] = { 0x80400000, 0x00000000 };
    DrImage aimg = bitmap_image(SPICE_BITMAP_FMT_RGBA, 2, 1, 8, rgba, true);
    t = tc_new(SPICE_SURFACE_FMT_32_ARGB, 2, 1, false);
    tc_fill(t, 0xff00ff00);
    Drawable a = dr(QXL_DRAW_ALPHA_BLEND, 0, 0, 2, 1);
    a.u.alpha_blend.src = &aimg;
    a.u.alpha_blend.src_area = box(0, 0, 2, 1);
    a.u.alpha_blend.alpha = 0xff;
    a.u.alpha_blend.alpha_flags = SPICE_ALPHA_FLAGS_DEST_HAS_ALPHA;
    draw_ok(t, &a);
    assert_rgb_near(px(t, 0, 0), 0x400000 + (mul255(0xff, 0x7f) << 8), 1);
    g_assert_cmphex(px(t, 0, 0) >> 24, ==, 0xff);
    g_assert_cmphex(px(t, 1, 0), ==, 0xff00ff00);
    tc_free(t);
}

static Canvas *lookup_table[4];

static Canvas *lookup(void *opaque, uint32_t id)
{
    return id < 4 ? lookup_table[id] : NULL;
}

static void test_surface_sources(void)
{
    TCanvas *dst = tc_new(SPICE_SURFACE_FMT_32_xRGB, 6, 6, false);
    TCanvas *src = tc_new(SPICE_SURFACE_FMT_32_xRGB, 4, 4, true);
    tc_seed(dst);
    tc_seed(src);
    lookup_table[0] = dst->c;
    lookup_table[1] = src->c;
    lookup_table[2] = NULL;
    uint32_t *before = tc_save(dst);
    DrImage simg = { .kind = DR_IMAGE_SURFACE, .surface_id = 1, .width = 4, .height = 4 };
    Drawable d = dr(QXL_DRAW_COPY, 0, 0, 3, 3);
    d.u.copy.src = &simg;
    d.u.copy.src_area = box(1, 1, 4, 4);
    d.u.copy.rop = SPICE_ROPD_OP_PUT;
    const char *why = NULL;
    g_assert_true(canvas_draw(dst->c, &d, lookup, NULL, &why));
    for (int y = 0; y < 3; y++) {
        for (int x = 0; x < 3; x++) {
            g_assert_cmphex(px(dst, x, y), ==, px(src, x + 1, y + 1));
        }
    }
    g_assert_cmphex(px(dst, 3, 3), ==, before[3 * 6 + 3]);

    /* a missing surface is refused and changes nothing */
    uint32_t *mid = tc_save(dst);
    simg.surface_id = 2;
    why = NULL;
    g_assert_false(canvas_draw(dst->c, &d, lookup, NULL, &why));
    g_assert_nonnull(why);
    simg.surface_id = 3;
    g_assert_false(canvas_draw(dst->c, &d, NULL, NULL, &why));
    for (int i = 0; i < 36; i++) {
        g_assert_cmphex(px(dst, i % 6, i / 6), ==, mid[i]);
    }

    /* the destination as its own source, overlapping: as if copied first */
    simg.surface_id = 0;
    d.bbox = box(1, 1, 5, 5);
    d.u.copy.src_area = box(0, 0, 4, 4);
    g_assert_true(canvas_draw(dst->c, &d, lookup, NULL, &why));
    for (int y = 1; y < 5; y++) {
        for (int x = 1; x < 5; x++) {
            g_assert_cmphex(px(dst, x, y), ==, mid[(y - 1) * 6 + x - 1]);
        }
    }

    /* SRC_SURFACE_HAS_ALPHA reads an xRGB surface's x byte as alpha */
    TCanvas *a = tc_new(SPICE_SURFACE_FMT_32_xRGB, 1, 1, false);
    set_px(a, 0, 0, 0x00000000); /* fully transparent when read as ARGB */
    lookup_table[2] = a->c;
    simg.surface_id = 2;
    Drawable ab = dr(QXL_DRAW_ALPHA_BLEND, 5, 5, 6, 6);
    ab.u.alpha_blend.src = &simg;
    ab.u.alpha_blend.src_area = box(0, 0, 1, 1);
    ab.u.alpha_blend.alpha = 0xff;
    uint32_t keep = px(dst, 5, 5);
    ab.u.alpha_blend.alpha_flags = SPICE_ALPHA_FLAGS_SRC_SURFACE_HAS_ALPHA;
    g_assert_true(canvas_draw(dst->c, &ab, lookup, NULL, &why));
    g_assert_cmphex(px(dst, 5, 5) & 0xffffff, ==, keep & 0xffffff);
    ab.u.alpha_blend.alpha_flags = 0; /* opaque black now */
    g_assert_true(canvas_draw(dst->c, &ab, lookup, NULL, &why));
    g_assert_cmphex(px(dst, 5, 5) & 0xffffff, ==, 0);
    tc_free(a);
    g_free(mid);
    g_free(before);
    tc_free(dst);
    tc_free(src);
    memset(lookup_table, 0, sizeof(lookup_table));
}

static void test_self_bitmap(void)
{
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 8, 8, false);
    tc_seed(t);
    uint32_t *before = tc_save(t);
    Drawable d = dr(QXL_DRAW_COPY, 2, 3, 6, 7);
    d.self_bitmap = true;
    d.self_bitmap_area = box(1, 1, 6, 6);
    d.u.copy.src = NULL;
    d.u.copy.src_area = box(1, 0, 5, 4); /* relative to the snapshot */
    d.u.copy.rop = SPICE_ROPD_OP_PUT;
    draw_ok(t, &d);
    for (int y = 0; y < 8; y++) {
        for (int x = 0; x < 8; x++) {
            uint32_t want = before[y * 8 + x];
            if (in_box(x, y, 2, 3, 6, 7)) {
                int sx = 1 + 1 + (x - 2), sy = 1 + 0 + (y - 3);
                want = before[sy * 8 + sx];
            }
            g_assert_cmphex(px(t, x, y), ==, want);
        }
    }
    g_free(before);
    tc_free(t);
}

static void test_composite(void)
{
    uint32_t src[4] = { 0x80400000, 0xff00ff00, 0x00000000, 0x40102030 };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_RGBA, 2, 2, 8, src, true);
    for (int op = 0; op < 2; op++) {
        TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 6, 6, false);
        tc_fill(t, 0x00808080);
        Drawable d = dr(QXL_DRAW_COMPOSITE, 2, 2, 4, 4);
        d.u.composite.flags = op ? PIXMAN_OP_SRC : PIXMAN_OP_OVER;
        d.u.composite.src = &img;
        draw_ok(t, &d);
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 6; x++) {
                if (!in_box(x, y, 2, 2, 4, 4)) {
                    g_assert_cmphex(px(t, x, y) & 0xffffff, ==, 0x808080);
                    continue;
                }
                uint32_t s = src[(y - 2) * 2 + x - 2], want = 0;
                for (int sh = 0; sh < 24; sh += 8) {
                    uint32_t c = (s >> sh) & 0xff;
                    if (!op) {
                        c += mul255(0x80, 255 - (s >> 24));
                    }
                    want |= c << sh;
                }
                assert_rgb_near(px(t, x, y), want, 1);
            }
        }
        tc_free(t);
    }
    /* source origin and a repeating source */
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_ARGB, 6, 2, false);
    Drawable d = dr(QXL_DRAW_COMPOSITE, 0, 0, 6, 2);
    d.u.composite.flags = PIXMAN_OP_SRC | (PIXMAN_REPEAT_NORMAL << 14);
    d.u.composite.src = &img;
    d.u.composite.src_origin.x = 1;
    draw_ok(t, &d);
    for (int x = 0; x < 6; x++) {
        g_assert_cmphex(px(t, x, 0), ==, src[(x + 1) % 2]);
        g_assert_cmphex(px(t, x, 1), ==, src[2 + (x + 1) % 2]);
    }
    /* an unknown operator is refused */
    d.u.composite.flags = 0x20;
    const char *why = NULL;
    g_assert_false(canvas_draw(t->c, &d, NULL, NULL, &why));
    g_assert_nonnull(why);
    tc_free(t);
}

static void check_copy_bits(int bx1, int by1, int bx2, int by2, int sx, int sy, bool split)
{
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 16, 16, false);
    tc_seed(t);
    uint32_t *before = tc_save(t);
    Drawable d = dr(QXL_COPY_BITS, bx1, by1, bx2, by2);
    d.u.copy_bits.src_pos.x = sx;
    d.u.copy_bits.src_pos.y = sy;
    /* two bands of two rectangles each exercise the ordering */
    pixman_box32_t clips[4] = { box(0, 0, 5, 6), box(7, 0, 16, 6), box(0, 8, 6, 16),
                                box(9, 8, 16, 16) };
    if (split) {
        d.clip = true;
        d.n_clip_rects = 4;
        d.clip_rects = clips;
    }
    draw_ok(t, &d);
    int dx = bx1 - sx, dy = by1 - sy;
    for (int y = 0; y < 16; y++) {
        for (int x = 0; x < 16; x++) {
            bool in = in_box(x, y, bx1, by1, bx2, by2) && in_box(x - dx, y - dy, 0, 0, 16, 16);
            if (split) {
                bool c = false;
                for (int i = 0; i < 4; i++) {
                    c |= in_box(x, y, clips[i].x1, clips[i].y1, clips[i].x2, clips[i].y2);
                }
                in &= c;
            }
            uint32_t want = in ? before[(y - dy) * 16 + x - dx] : before[y * 16 + x];
            if (px(t, x, y) != want) {
                g_error("copy bits to (%d,%d) from (%d,%d) split %d at %d,%d: 0x%x, want 0x%x", bx1,
                        by1, sx, sy, split, x, y, px(t, x, y), want);
            }
        }
    }
    g_free(before);
    tc_free(t);
}

static void test_copy_bits(void)
{
    for (int split = 0; split < 2; split++) {
        check_copy_bits(2, 2, 14, 14, 0, 0, split);   /* down-right */
        check_copy_bits(0, 0, 12, 12, 3, 2, split);   /* up-left */
        check_copy_bits(3, 0, 16, 16, 0, 0, split);   /* right */
        check_copy_bits(0, 0, 13, 16, 3, 0, split);   /* left */
        check_copy_bits(0, 2, 16, 16, 0, 0, split);   /* down */
        check_copy_bits(0, 0, 16, 14, 0, 2, split);   /* up */
        check_copy_bits(0, 3, 14, 16, 2, 0, split);   /* down-left */
        check_copy_bits(2, 0, 16, 13, 0, 3, split);   /* up-right */
        check_copy_bits(-4, -4, 20, 20, 0, 0, split); /* partly from outside */
    }
}

static void test_text(void)
{
    /* A1 glyph 3x2 (rows stored bottom-up, MSB first) and an A8 glyph 2x2. */
    uint8_t a1[2] = { 0xa0, 0x40 }; /* bottom row 1 0 1, top row 0 1 0 */
    DrGlyph g1 = {
        .render_pos = { 5, 6 }, .glyph_origin = { -3, -2 }, .width = 3, .height = 2, .data = a1
    };
    DrString s1 = { .flags = SPICE_STRING_FLAGS_RASTER_A1, .n_glyphs = 1, .glyphs = &g1 };
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 10, 10, false);
    tc_fill(t, 0x00101010);
    Drawable d = dr(QXL_DRAW_TEXT, 0, 0, 10, 10);
    d.u.text.str = &s1;
    d.u.text.fore_brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.text.fore_brush.color = 0x00ff8000;
    d.u.text.back_brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.text.back_brush.color = 0x00000040;
    d.u.text.back_area = box(1, 3, 6, 6);
    d.u.text.fore_mode = SPICE_ROPD_OP_PUT;
    d.u.text.back_mode = SPICE_ROPD_OP_PUT;
    draw_ok(t, &d);
    /* glyph box: left 5 - 3 = 2, top 6 - 2 = 4 */
    const bool on[2][3] = { { false, true, false }, { true, false, true } };
    for (int y = 0; y < 10; y++) {
        for (int x = 0; x < 10; x++) {
            uint32_t want = in_box(x, y, 1, 3, 6, 6) ? 0x40 : 0x101010;
            if (in_box(x, y, 2, 4, 5, 6) && on[y - 4][x - 2]) {
                want = 0xff8000;
            }
            g_assert_cmphex(px(t, x, y) & 0xffffff, ==, want);
        }
    }
    tc_free(t);

    uint8_t a8[4] = { 0x00, 0x80, 0xff, 0x40 }; /* bottom row 00 80, top row ff 40 */
    DrGlyph g8 = {
        .render_pos = { 1, 1 }, .glyph_origin = { 0, 0 }, .width = 2, .height = 2, .data = a8
    };
    DrString s8 = { .flags = SPICE_STRING_FLAGS_RASTER_A8, .n_glyphs = 1, .glyphs = &g8 };
    t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 4, 4, false);
    tc_fill(t, 0x00204060);
    Drawable e = dr(QXL_DRAW_TEXT, 0, 0, 4, 4);
    e.u.text.str = &s8;
    e.u.text.fore_brush.type = SPICE_BRUSH_TYPE_SOLID;
    e.u.text.fore_brush.color = 0x00ffffff;
    e.u.text.fore_mode = SPICE_ROPD_OP_PUT;
    draw_ok(t, &e);
    const uint8_t cov[2][2] = { { 0xff, 0x40 }, { 0x00, 0x80 } };
    for (int y = 1; y < 3; y++) {
        for (int x = 1; x < 3; x++) {
            uint32_t a = cov[y - 1][x - 1], want = 0;
            for (int sh = 0; sh < 24; sh += 8) {
                want |= (a + mul255((0x204060u >> sh) & 0xff, 255 - a)) << sh;
            }
            assert_rgb_near(px(t, x, y), MIN(want, 0xffffffu), 1);
        }
    }
    g_assert_cmphex(px(t, 0, 0) & 0xffffff, ==, 0x204060);
    tc_free(t);
}

static void check_line(const DrPoint *pts, int n, const int (*want)[2], int n_want,
                       const DrLineAttr *attr, uint32_t extra_flags)
{
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 12, 12, false);
    DrPathSegment seg = { .flags = SPICE_PATH_BEGIN | SPICE_PATH_END | extra_flags,
                          .n_points = (uint32_t)n,
                          .points = (DrPoint *)pts };
    DrPath path = { .n_segments = 1, .segments = &seg };
    Drawable d = dr(QXL_DRAW_STROKE, 0, 0, 12, 12);
    d.u.stroke.path = &path;
    if (attr) {
        d.u.stroke.attr = *attr;
    }
    d.u.stroke.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.stroke.brush.color = 0x00ffffff;
    d.u.stroke.fore_mode = SPICE_ROPD_OP_PUT;
    draw_ok(t, &d);
    for (int y = 0; y < 12; y++) {
        for (int x = 0; x < 12; x++) {
            bool expect = false;
            for (int i = 0; i < n_want; i++) {
                expect |= want[i][0] == x && want[i][1] == y;
            }
            if ((px(t, x, y) != 0) != expect) {
                g_error("line pixel %d,%d is %s", x, y, expect ? "missing" : "extra");
            }
        }
    }
    tc_free(t);
}

static void test_stroke(void)
{
    /* horizontal, end point left out (28.4 coordinates) */
    DrPoint h[2] = { { 1 * 16, 5 * 16 }, { 9 * 16, 5 * 16 } };
    const int hw[8][2] = { { 1, 5 }, { 2, 5 }, { 3, 5 }, { 4, 5 },
                           { 5, 5 }, { 6, 5 }, { 7, 5 }, { 8, 5 } };
    check_line(h, 2, hw, 8, NULL, 0);
    /* diagonal */
    DrPoint dg[2] = { { 2 * 16, 2 * 16 }, { 7 * 16, 7 * 16 } };
    const int dw[5][2] = { { 2, 2 }, { 3, 3 }, { 4, 4 }, { 5, 5 }, { 6, 6 } };
    check_line(dg, 2, dw, 5, NULL, 0);
    /* a 2:1 slope: Bresenham steps by hand, ties going diagonal (octant 1) */
    DrPoint sl[2] = { { 0, 0 }, { 4 * 16, 2 * 16 } };
    const int sw[4][2] = { { 0, 0 }, { 1, 1 }, { 2, 1 }, { 3, 2 } };
    check_line(sl, 2, sw, 4, NULL, 0);
    /* the same line drawn backwards covers the same middle pixels */
    DrPoint sb[2] = { { 4 * 16, 2 * 16 }, { 0, 0 } };
    const int sbw[4][2] = { { 4, 2 }, { 3, 2 }, { 2, 1 }, { 1, 1 } };
    check_line(sb, 2, sbw, 4, NULL, 0);
    /* fractional coordinates: x.5 rounds down, above rounds up */
    DrPoint fr[2] = { { 16 + 8, 3 * 16 + 9 }, { 4 * 16 + 9, 3 * 16 + 9 } };
    const int fw[4][2] = { { 1, 4 }, { 2, 4 }, { 3, 4 }, { 4, 4 } };
    check_line(fr, 2, fw, 4, NULL, 0);
    /* an open polyline: the joint drawn once, the last point left out */
    DrPoint tri[3] = { { 1 * 16, 1 * 16 }, { 4 * 16, 1 * 16 }, { 4 * 16, 3 * 16 } };
    const int tw[5][2] = { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 }, { 4, 2 } };
    check_line(tri, 3, tw, 5, NULL, 0);
    /* closed: back to (1, 1) with dx -3, dy -2 (octant 4, axial on ties) */
    const int cw[8][2] = { { 1, 1 }, { 2, 1 }, { 3, 1 }, { 4, 1 },
                           { 4, 2 }, { 4, 3 }, { 3, 2 }, { 2, 2 } };
    check_line(tri, 3, cw, 8, NULL, SPICE_PATH_CLOSE);
    /* dashes: 2 on, 1 off */
    uint32_t style[2] = { 2 * 16, 1 * 16 };
    DrLineAttr dash = { .flags = SPICE_LINE_FLAGS_STYLED, .style_nseg = 2, .style = style };
    DrPoint ds[2] = { { 0, 3 * 16 }, { 10 * 16, 3 * 16 } };
    const int dsw[7][2] = { { 0, 3 }, { 1, 3 }, { 3, 3 }, { 4, 3 }, { 6, 3 }, { 7, 3 }, { 9, 3 } };
    check_line(ds, 2, dsw, 7, &dash, 0);
    /* a flat Bezier is one straight segment */
    DrPoint bz[4] = { { 0, 8 * 16 }, { 3 * 16, 8 * 16 }, { 6 * 16, 8 * 16 }, { 9 * 16, 8 * 16 } };
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 12, 12, false);
    DrPathSegment segs[2] = {
        { .flags = SPICE_PATH_BEGIN, .n_points = 1, .points = bz },
        { .flags = SPICE_PATH_BEZIER | SPICE_PATH_END, .n_points = 3, .points = bz + 1 },
    };
    DrPath path = { .n_segments = 2, .segments = segs };
    Drawable d = dr(QXL_DRAW_STROKE, 0, 0, 12, 12);
    d.u.stroke.path = &path;
    d.u.stroke.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.stroke.brush.color = 0x00ff0000;
    d.u.stroke.fore_mode = SPICE_ROPD_OP_XOR;
    draw_ok(t, &d);
    for (int x = 0; x < 12; x++) {
        g_assert_cmphex(px(t, x, 8), ==, x < 9 ? 0x00ff0000 : 0);
    }
    g_assert_cmphex(px(t, 0, 7), ==, 0);
    /* a curved one stays inside its control polygon's box and reaches its end */
    DrPoint cv[4] = {
        { 1 * 16, 10 * 16 }, { 1 * 16, 1 * 16 }, { 10 * 16, 1 * 16 }, { 10 * 16, 10 * 16 }
    };
    segs[0].points = cv;
    segs[1].points = cv + 1;
    tc_fill(t, 0);
    d.u.stroke.fore_mode = SPICE_ROPD_OP_PUT;
    draw_ok(t, &d);
    int count = 0;
    for (int y = 0; y < 12; y++) {
        for (int x = 0; x < 12; x++) {
            if (px(t, x, y)) {
                count++;
                g_assert_true(in_box(x, y, 1, 1, 11, 11));
            }
        }
    }
    g_assert_cmpint(count, >, 15);
    g_assert_cmphex(px(t, 1, 10), ==, 0x00ff0000);
    tc_free(t);
}

static void test_negative_stride(void)
{
    uint32_t src[6] = { 1, 2, 3, 4, 5, 6 };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_32BIT, 3, 2, 12, src, true);
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 4, 3, true);
    Drawable d = dr(QXL_DRAW_COPY, 1, 0, 4, 2);
    d.u.copy.src = &img;
    d.u.copy.src_area = box(0, 0, 3, 2);
    d.u.copy.rop = SPICE_ROPD_OP_PUT;
    draw_ok(t, &d);
    /* row 0 of the picture is the last row of memory */
    uint32_t *mem = (uint32_t *)(void *)t->mem;
    g_assert_cmphex(mem[2 * 4 + 1], ==, 1);
    g_assert_cmphex(mem[2 * 4 + 3], ==, 3);
    g_assert_cmphex(mem[1 * 4 + 1], ==, 4);
    g_assert_cmphex(mem[0 * 4 + 1], ==, 0);
    g_assert_cmphex(mem[2 * 4 + 0], ==, 0);
    tc_free(t);
}

/* ------------------------------------------------------------------------
 * Hostile values
 */

static void test_hostile(void)
{
    const int32_t big = INT32_MAX, small = INT32_MIN;
    uint32_t src[4] = { 1, 2, 3, 4 };
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_32BIT, 2, 2, 8, src, true);
    uint8_t bits[4 * 6];
    make_mask(bits, 4, false, true);
    DrImage mimg = bitmap_image(SPICE_BITMAP_FMT_1BIT_LE, 8, 6, 4, bits, true);
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 8, 8, true);
    tc_seed(t);
    uint32_t *before = tc_save(t);
    const char *why;

    const pixman_box32_t boxes[] = {
        box(small, small, big, big),
        box(small, small, small + 1, small + 1),
        box(big - 1, big - 1, big, big),
        box(3, 3, 3, 9),
        box(-100, 2, -50, 4),
        box(4, 4, 4, 4),
        box(small, 2, 5, 3),
    };
    const pixman_box32_t areas[] = {
        box(0, 0, 2, 2), box(small, small, big, big), box(5, 5, 9, 9), box(-3, -3, -1, -1),
        box(0, 0, 0, 0), box(1, 1, 3000000, 2),
    };
    const uint8_t types[] = { QXL_DRAW_FILL,        QXL_DRAW_COPY, QXL_DRAW_OPAQUE,
                              QXL_DRAW_BLEND,       QXL_DRAW_ROP3, QXL_DRAW_TRANSPARENT,
                              QXL_DRAW_ALPHA_BLEND, QXL_COPY_BITS, QXL_DRAW_WHITENESS,
                              QXL_DRAW_COMPOSITE };
    for (size_t ti = 0; ti < G_N_ELEMENTS(types); ti++) {
        for (size_t bi = 0; bi < G_N_ELEMENTS(boxes); bi++) {
            for (size_t ai = 0; ai < G_N_ELEMENTS(areas); ai++) {
                Drawable d = dr(types[ti], 0, 0, 0, 0);
                d.bbox = boxes[bi];
                switch (types[ti]) {
                case QXL_DRAW_FILL:
                    d.u.fill.brush.type = SPICE_BRUSH_TYPE_PATTERN;
                    d.u.fill.brush.pattern = &img;
                    d.u.fill.brush.pat_x = areas[ai].x1;
                    d.u.fill.brush.pat_y = areas[ai].y2;
                    d.u.fill.rop = SPICE_ROPD_OP_XOR;
                    d.u.fill.mask.bitmap = &mimg;
                    d.u.fill.mask.x = areas[ai].x2;
                    d.u.fill.mask.y = areas[ai].y1;
                    break;
                case QXL_DRAW_COPY:
                case QXL_DRAW_BLEND:
                    d.u.copy.src = &img;
                    d.u.copy.src_area = areas[ai];
                    d.u.copy.rop = ai & 1 ? SPICE_ROPD_OP_PUT : SPICE_ROPD_OP_OR;
                    d.u.copy.scale_mode = SPICE_IMAGE_SCALE_MODE_INTERPOLATE;
                    d.u.copy.mask.bitmap = bi & 1 ? &mimg : NULL;
                    d.u.copy.mask.x = areas[ai].x1;
                    break;
                case QXL_DRAW_OPAQUE:
                    d.u.opaque.src = &img;
                    d.u.opaque.src_area = areas[ai];
                    d.u.opaque.brush.type = SPICE_BRUSH_TYPE_SOLID;
                    d.u.opaque.rop = SPICE_ROPD_OP_XOR;
                    break;
                case QXL_DRAW_ROP3:
                    d.u.rop3.src = &img;
                    d.u.rop3.src_area = areas[ai];
                    d.u.rop3.rop3 = 0xb8;
                    d.u.rop3.brush.type = SPICE_BRUSH_TYPE_PATTERN;
                    d.u.rop3.brush.pattern = &img;
                    d.u.rop3.brush.pat_x = small;
                    break;
                case QXL_DRAW_TRANSPARENT:
                    d.u.transparent.src = &img;
                    d.u.transparent.src_area = areas[ai];
                    break;
                case QXL_DRAW_ALPHA_BLEND:
                    d.u.alpha_blend.src = &img;
                    d.u.alpha_blend.src_area = areas[ai];
                    d.u.alpha_blend.alpha = 0x80;
                    break;
                case QXL_COPY_BITS:
                    d.u.copy_bits.src_pos.x = areas[ai].x1;
                    d.u.copy_bits.src_pos.y = areas[ai].y2;
                    break;
                case QXL_DRAW_WHITENESS:
                    d.u.whiteness.mask.bitmap = &mimg;
                    d.u.whiteness.mask.x = areas[ai].x1;
                    d.u.whiteness.mask.y = areas[ai].y1;
                    break;
                case QXL_DRAW_COMPOSITE:
                    d.u.composite.flags = PIXMAN_OP_OVER | (PIXMAN_REPEAT_REFLECT << 14) | (1 << 8);
                    d.u.composite.src = &img;
                    d.u.composite.src_transform.present = true;
                    d.u.composite.src_transform.t[0] = (uint32_t)areas[ai].x1;
                    d.u.composite.src_transform.t[4] = (uint32_t)areas[ai].y2;
                    d.u.composite.src_transform.t[2] = (uint32_t)big;
                    d.u.composite.mask = ai & 1 ? &img : NULL;
                    d.u.composite.src_origin.x = (int16_t)areas[ai].x1;
                    d.u.composite.mask_origin.y = (int16_t)areas[ai].y2;
                    break;
                }
                why = NULL;
                (void)canvas_draw(t->c, &d, NULL, NULL, &why);
                /* and clipped to nothing */
                d.clip = true;
                d.n_clip_rects = 0;
                g_assert_true(canvas_draw(t->c, &d, NULL, NULL, &why) || why);
            }
        }
    }

    /* Nothing at all is drawn for: zero-size boxes, boxes off the canvas,
     * an empty clip, a source area that misses the source. */
    tc_free(t);
    t = tc_new(SPICE_SURFACE_FMT_32_xRGB, 8, 8, false);
    tc_seed(t);
    g_free(before);
    before = tc_save(t);
    Drawable f = dr(QXL_DRAW_FILL, 4, 4, 4, 8);
    f.u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
    f.u.fill.rop = SPICE_ROPD_OP_WHITENESS;
    draw_ok(t, &f);
    f.bbox = box(small, small, -1, big);
    draw_ok(t, &f);
    f.bbox = box(0, 0, 8, 8);
    f.clip = true;
    f.n_clip_rects = 0;
    draw_ok(t, &f);
    pixman_box32_t far_clip = box(100, 100, 200, 200);
    f.n_clip_rects = 1;
    f.clip_rects = &far_clip;
    draw_ok(t, &f);
    Drawable c = dr(QXL_DRAW_COPY, 0, 0, 2, 2);
    c.u.copy.src = &img;
    c.u.copy.src_area = box(5, 5, 7, 7);
    c.u.copy.rop = SPICE_ROPD_OP_PUT;
    draw_ok(t, &c);
    c.u.copy.src_area = box(small, small, small + 2, small + 2);
    draw_ok(t, &c);
    for (int i = 0; i < 64; i++) {
        g_assert_cmphex(px(t, i % 8, i / 8), ==, before[i]);
    }

    /* A source area half outside draws only what exists. */
    c.u.copy.src_area = box(-1, 0, 1, 2);
    draw_ok(t, &c);
    g_assert_cmphex(px(t, 0, 0), ==, before[0]);
    g_assert_cmphex(px(t, 1, 0), ==, src[0]);
    g_assert_cmphex(px(t, 1, 1), ==, src[2]);

    /* Strokes, text and a mask far away. */
    DrPoint pts[4] = { { small, small }, { big, big }, { small, big }, { big, small } };
    DrPathSegment seg = { .flags = SPICE_PATH_BEGIN | SPICE_PATH_BEZIER | SPICE_PATH_END,
                          .n_points = 4,
                          .points = pts };
    DrPath path = { .n_segments = 1, .segments = &seg };
    uint32_t style[3] = { 0, 0, 0 };
    Drawable s = dr(QXL_DRAW_STROKE, small, small, big, big);
    s.u.stroke.path = &path;
    s.u.stroke.attr.flags = SPICE_LINE_FLAGS_STYLED | SPICE_LINE_FLAGS_START_WITH_GAP;
    s.u.stroke.attr.style_nseg = 3;
    s.u.stroke.attr.style = style;
    s.u.stroke.brush.type = SPICE_BRUSH_TYPE_SOLID;
    s.u.stroke.fore_mode = SPICE_ROPD_OP_XOR;
    draw_ok(t, &s);
    seg.flags = SPICE_PATH_CLOSE | SPICE_PATH_END; /* no BEGIN */
    draw_ok(t, &s);
    seg.flags = SPICE_PATH_BEZIER;
    seg.n_points = 3;
    draw_ok(t, &s);

    uint8_t glyph_bits[32];
    memset(glyph_bits, 0xff, sizeof(glyph_bits)); /* 8x8 A4: 4 bytes a row */
    DrGlyph glyphs[3] = {
        { .render_pos = { big, big },
          .glyph_origin = { big, big },
          .width = 8,
          .height = 8,
          .data = glyph_bits },
        { .render_pos = { small, small },
          .glyph_origin = { small, 0 },
          .width = 8,
          .height = 8,
          .data = glyph_bits },
        { .render_pos = { 2, 2 },
          .glyph_origin = { -1, -1 },
          .width = 2,
          .height = 2,
          .data = glyph_bits },
    };
    DrString str = { .flags = SPICE_STRING_FLAGS_RASTER_A4, .n_glyphs = 3, .glyphs = glyphs };
    Drawable x = dr(QXL_DRAW_TEXT, small, small, big, big);
    x.u.text.str = &str;
    x.u.text.fore_brush.type = SPICE_BRUSH_TYPE_PATTERN;
    x.u.text.fore_brush.pattern = &img;
    x.u.text.fore_brush.pat_x = small;
    x.u.text.back_area = box(small, small, big, big);
    x.u.text.fore_mode = SPICE_ROPD_OP_PUT;
    draw_ok(t, &x);
    x.u.text.fore_mode = SPICE_ROPD_OP_XOR;
    draw_ok(t, &x);
    /* a string entirely beyond 32-bit coordinates draws nothing */
    uint32_t *kept = tc_save(t);
    DrGlyph far_glyph = { .render_pos = { big, big },
                          .glyph_origin = { 22, 22 },
                          .width = 4,
                          .height = 4,
                          .data = glyph_bits };
    DrString far = { .flags = SPICE_STRING_FLAGS_RASTER_A8, .n_glyphs = 1, .glyphs = &far_glyph };
    x.u.text.str = &far;
    x.u.text.back_area = box(0, 0, 0, 0);
    x.u.text.fore_brush.type = SPICE_BRUSH_TYPE_SOLID;
    draw_ok(t, &x);
    for (int i = 0; i < 64; i++) {
        g_assert_cmphex(px(t, i % 8, i / 8), ==, kept[i]);
    }
    g_free(kept);

    /* A mask that is not 1-bit, an unknown type, a missing source. */
    Drawable m = dr(QXL_DRAW_FILL, 0, 0, 8, 8);
    m.u.fill.mask.bitmap = &img;
    why = NULL;
    g_assert_false(canvas_draw(t->c, &m, NULL, NULL, &why));
    g_assert_nonnull(why);
    Drawable u = dr(99, 0, 0, 8, 8);
    why = NULL;
    g_assert_false(canvas_draw(t->c, &u, NULL, NULL, &why));
    g_assert_nonnull(why);
    Drawable n = dr(QXL_DRAW_COPY, 0, 0, 8, 8);
    why = NULL;
    g_assert_false(canvas_draw(t->c, &n, NULL, NULL, &why));
    g_assert_nonnull(why);
    g_assert_false(canvas_draw(NULL, &n, NULL, NULL, &why));

    g_free(before);
    tc_free(t);
}

/* ------------------------------------------------------------------------
 * The hot path: QEMU's simple display sends full frames as 32BIT bitmaps.
 */

static void test_copy_full_hd(void)
{
    const int w = 1920, h = 1080, rounds = 20;
    TCanvas *t = tc_new(SPICE_SURFACE_FMT_32_xRGB, w, h, false);
    uint32_t *frame = g_new(uint32_t, (size_t)w * h);
    for (int i = 0; i < w * h; i++) {
        frame[i] = (uint32_t)i * 2654435761u;
    }
    DrImage img = bitmap_image(SPICE_BITMAP_FMT_32BIT, (uint32_t)w, (uint32_t)h, (uint32_t)w * 4,
                               frame, true);
    Drawable d = dr(QXL_DRAW_COPY, 0, 0, w, h);
    d.u.copy.src = &img;
    d.u.copy.src_area = box(0, 0, w, h);
    d.u.copy.rop = SPICE_ROPD_OP_PUT;
    gint64 start = g_get_monotonic_time();
    for (int i = 0; i < rounds; i++) {
        draw_ok(t, &d);
    }
    gint64 us = (g_get_monotonic_time() - start) / rounds;
    g_test_message("1920x1080 32BIT DRAW_COPY: %" G_GINT64_FORMAT " us per frame", us);
    g_assert_cmphex(px(t, 0, 0), ==, frame[0]);
    g_assert_cmphex(px(t, w - 1, h - 1), ==, frame[(size_t)w * h - 1]);
    g_assert_cmphex(px(t, 777, 555), ==, frame[555 * w + 777]);
    g_free(frame);
    tc_free(t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/canvas/new", test_new);
    g_test_add_func("/canvas/fill-box-snapshot", test_fill_box_and_snapshot);
    g_test_add_func("/canvas/fill/clip", test_fill_clip);
    g_test_add_func("/canvas/fill/ropd", test_fill_ropd);
    g_test_add_func("/canvas/fill/mask", test_fill_mask);
    g_test_add_func("/canvas/fill/pattern", test_fill_pattern);
    g_test_add_func("/canvas/blackness-whiteness-invers", test_blackness_whiteness_invers);
    g_test_add_func("/canvas/copy/formats", test_copy_formats);
    g_test_add_func("/canvas/copy/palette-16bit", test_copy_palette_16bit);
    g_test_add_func("/canvas/copy/16bit-dest", test_copy_16bit_dest);
    g_test_add_func("/canvas/copy/a8-dest", test_a8_dest);
    g_test_add_func("/canvas/copy/rop-mask", test_copy_rop_and_mask);
    g_test_add_func("/canvas/copy/scale-nearest", test_copy_scale_nearest);
    g_test_add_func("/canvas/opaque", test_opaque);
    g_test_add_func("/canvas/rop3", test_rop3);
    g_test_add_func("/canvas/transparent", test_transparent);
    g_test_add_func("/canvas/alpha-blend", test_alpha_blend);
    g_test_add_func("/canvas/surface-sources", test_surface_sources);
    g_test_add_func("/canvas/self-bitmap", test_self_bitmap);
    g_test_add_func("/canvas/composite", test_composite);
    g_test_add_func("/canvas/copy-bits", test_copy_bits);
    g_test_add_func("/canvas/text", test_text);
    g_test_add_func("/canvas/stroke", test_stroke);
    g_test_add_func("/canvas/negative-stride", test_negative_stride);
    g_test_add_func("/canvas/hostile", test_hostile);
    g_test_add_func("/canvas/copy-full-hd", test_copy_full_hd);
    return g_test_run();
}
