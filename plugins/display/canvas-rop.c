/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * canvas-rop.c: raw pixel access and the raster-operation engine.
 *
 * pixman composites colors; QXL drawables also ask for bitwise raster
 * operations (the Windows ROP2/ROP3 model) on raw pixel values. Every
 * such operation is expressed here as a rop3 code over pattern P, source
 * S and destination D and evaluated bitwise on whole pixels, loading rows
 * into 32-bit buffers so that 1, 8, 16 and 32-bit surfaces share one path.
 */
#include <string.h>

#include <spice/enums.h>

#include "canvas-internal.h"

/* Pixels per row chunk: three buffers of this many pixels live on the stack. */
#define ROP_CHUNK 512

PixelView canvas_pixel_view(pixman_image_t *image)
{
    PixelView v;
    v.row0 = (uint8_t *)pixman_image_get_data(image);
    v.stride = pixman_image_get_stride(image);
    v.width = pixman_image_get_width(image);
    v.height = pixman_image_get_height(image);
    v.bpp = PIXMAN_FORMAT_BPP(pixman_image_get_format(image));
    return v;
}

static inline uint8_t *row_ptr(const PixelView *v, int y)
{
    return v->row0 + (ptrdiff_t)y * v->stride;
}

/* pixman's a1 on a little-endian host: pixel x is bit x % 8 of byte x / 8. */
static inline uint32_t bit_get(const uint8_t *row, int x)
{
    return (row[x >> 3] >> (x & 7)) & 1;
}

static inline void bit_put(uint8_t *row, int x, uint32_t value)
{
    uint8_t m = (uint8_t)(1u << (x & 7));
    row[x >> 3] = (uint8_t)((value & 1) ? (row[x >> 3] | m) : (row[x >> 3] & ~m));
}

void canvas_pixels_load(const PixelView *v, int x, int y, int n, uint32_t *out)
{
    const uint8_t *row = row_ptr(v, y);
    switch (v->bpp) {
    case 32:
        memcpy(out, row + (size_t)x * 4, (size_t)n * 4);
        break;
    case 16: {
        const uint16_t *p = (const uint16_t *)(const void *)row + x;
        for (int i = 0; i < n; i++) {
            out[i] = p[i];
        }
        break;
    }
    case 8:
        for (int i = 0; i < n; i++) {
            out[i] = row[x + i];
        }
        break;
    default:
        for (int i = 0; i < n; i++) {
            out[i] = bit_get(row, x + i);
        }
        break;
    }
}

void canvas_pixels_store(const PixelView *v, int x, int y, int n, const uint32_t *in)
{
    uint8_t *row = row_ptr(v, y);
    switch (v->bpp) {
    case 32:
        memcpy(row + (size_t)x * 4, in, (size_t)n * 4);
        break;
    case 16: {
        uint16_t *p = (uint16_t *)(void *)row + x;
        for (int i = 0; i < n; i++) {
            p[i] = (uint16_t)in[i];
        }
        break;
    }
    case 8:
        for (int i = 0; i < n; i++) {
            row[x + i] = (uint8_t)in[i];
        }
        break;
    default:
        for (int i = 0; i < n; i++) {
            bit_put(row, x + i, in[i]);
        }
        break;
    }
}

uint32_t canvas_pixel_get(const PixelView *v, int x, int y)
{
    uint32_t value;
    canvas_pixels_load(v, x, y, 1, &value);
    return value;
}

void canvas_pixel_put(const PixelView *v, int x, int y, uint32_t value)
{
    canvas_pixels_store(v, x, y, 1, &value);
}

/*
 * The reference maps a descriptor to one of the 16 two-input operations
 * (its ropd_descriptor_to_rop): the first of PUT, OR, AND, XOR,
 * BLACKNESS, WHITENESS, INVERS that is set wins, nothing set means a
 * plain copy, and PUT ignores INVERS_DEST. Evaluating the same rules on
 * the rop3 bit patterns gives the equivalent rop3 code.
 */
uint8_t canvas_ropd_to_rop3(uint16_t ropd, bool a_is_brush, uint16_t a_invert, uint16_t d_invert)
{
    const uint8_t a0 = a_is_brush ? 0xf0 : 0xcc;
    const uint8_t d0 = 0xaa;
    uint8_t a = (ropd & a_invert) ? (uint8_t)~a0 : a0;
    uint8_t d = (ropd & d_invert) ? (uint8_t)~d0 : d0;
    uint8_t r;

    if (ropd & SPICE_ROPD_OP_PUT) {
        r = a;
    } else if (ropd & SPICE_ROPD_OP_OR) {
        r = a | d;
    } else if (ropd & SPICE_ROPD_OP_AND) {
        r = a & d;
    } else if (ropd & SPICE_ROPD_OP_XOR) {
        r = a ^ d;
    } else if (ropd & SPICE_ROPD_OP_BLACKNESS) {
        return 0x00;
    } else if (ropd & SPICE_ROPD_OP_WHITENESS) {
        return 0xff;
    } else if (ropd & SPICE_ROPD_OP_INVERS) {
        return (uint8_t)~d0;
    } else {
        return a0;
    }
    return (ropd & SPICE_ROPD_INVERS_RES) ? (uint8_t)~r : r;
}

/* A code depends on S when swapping the S=1 and S=0 halves changes it. */
bool canvas_rop3_uses_source(uint8_t rop3)
{
    return ((rop3 >> 2) & 0x33) != (rop3 & 0x33);
}

bool canvas_rop3_uses_brush(uint8_t rop3)
{
    return ((rop3 >> 4) & 0x0f) != (rop3 & 0x0f);
}

static bool rop3_uses_dest(uint8_t rop3)
{
    return ((rop3 >> 1) & 0x55) != (rop3 & 0x55);
}

/* Bit k of the code is the result for P = k>>2 & 1, S = k>>1 & 1, D = k & 1:
 * OR together the minterms the code selects. */
uint32_t canvas_rop3_apply(uint8_t rop3, uint32_t p, uint32_t s, uint32_t d)
{
    uint32_t r = 0;
    for (int k = 0; k < 8; k++) {
        if (rop3 & (1u << k)) {
            r |= ((k & 4) ? p : ~p) & ((k & 2) ? s : ~s) & ((k & 1) ? d : ~d);
        }
    }
    return r;
}

static void rop_span(uint8_t rop3, uint32_t *d, const uint32_t *s, const uint32_t *p, int n)
{
    int i;
    /* The common codes get their own loops; the rest go through minterms. */
    switch (rop3) {
    case 0x00:
        memset(d, 0, (size_t)n * 4);
        break;
    case 0xff:
        memset(d, 0xff, (size_t)n * 4);
        break;
    case 0xaa:
        break;
    case 0x55:
        for (i = 0; i < n; i++) {
            d[i] = ~d[i];
        }
        break;
    case 0xcc:
        memcpy(d, s, (size_t)n * 4);
        break;
    case 0x33:
        for (i = 0; i < n; i++) {
            d[i] = ~s[i];
        }
        break;
    case 0xf0:
        memcpy(d, p, (size_t)n * 4);
        break;
    case 0x0f:
        for (i = 0; i < n; i++) {
            d[i] = ~p[i];
        }
        break;
    case 0x66:
        for (i = 0; i < n; i++) {
            d[i] ^= s[i];
        }
        break;
    case 0x88:
        for (i = 0; i < n; i++) {
            d[i] &= s[i];
        }
        break;
    case 0xee:
        for (i = 0; i < n; i++) {
            d[i] |= s[i];
        }
        break;
    case 0x5a:
        for (i = 0; i < n; i++) {
            d[i] ^= p[i];
        }
        break;
    case 0xa0:
        for (i = 0; i < n; i++) {
            d[i] &= p[i];
        }
        break;
    case 0xfa:
        for (i = 0; i < n; i++) {
            d[i] |= p[i];
        }
        break;
    default:
        for (i = 0; i < n; i++) {
            d[i] = canvas_rop3_apply(rop3, p ? p[i] : 0, s ? s[i] : 0, d[i]);
        }
        break;
    }
}

static inline int pos_mod(int64_t v, int m)
{
    int64_t r = v % m;
    return (int)(r < 0 ? r + m : r);
}

/* Brush pixels for n pixels of row y from column x. */
static void brush_row(const RopBrush *brush, int x, int y, int n, uint32_t *out)
{
    if (!brush) {
        memset(out, 0, (size_t)n * 4);
        return;
    }
    if (!brush->tiled) {
        for (int i = 0; i < n; i++) {
            out[i] = brush->color;
        }
        return;
    }
    const PixelView *t = &brush->tile;
    int ty = pos_mod((int64_t)y - brush->org_y, t->height);
    int tx = pos_mod((int64_t)x - brush->org_x, t->width);
    int done = 0;
    while (done < n) {
        int run = t->width - tx;
        if (run > n - done) {
            run = n - done;
        }
        canvas_pixels_load(t, tx, ty, run, out + done);
        done += run;
        tx = 0;
    }
}

void canvas_rop_region(const PixelView *dst, pixman_region32_t *region, uint8_t rop3,
                       const RopSource *src, const RopBrush *brush)
{
    uint32_t dbuf[ROP_CHUNK], sbuf[ROP_CHUNK], pbuf[ROP_CHUNK];
    bool use_s = canvas_rop3_uses_source(rop3);
    bool use_p = canvas_rop3_uses_brush(rop3);
    bool use_d = rop3_uses_dest(rop3);
    int n_rects;
    pixman_box32_t *rects = pixman_region32_rectangles(region, &n_rects);

    /* Solid fills of 32-bit surfaces are the common case: no buffers. */
    if (dst->bpp == 32 && (rop3 == 0x00 || rop3 == 0xff || (rop3 == 0xf0 && !brush) ||
                           (rop3 == 0xf0 && !brush->tiled))) {
        uint32_t value = rop3 == 0xff ? 0xffffffff : rop3 == 0xf0 && brush ? brush->color : 0;
        for (int r = 0; r < n_rects; r++) {
            const pixman_box32_t *b = &rects[r];
            for (int y = b->y1; y < b->y2; y++) {
                uint32_t *p = (uint32_t *)(void *)row_ptr(dst, y);
                for (int x = b->x1; x < b->x2; x++) {
                    p[x] = value;
                }
            }
        }
        return;
    }

    for (int r = 0; r < n_rects; r++) {
        const pixman_box32_t *b = &rects[r];
        for (int y = b->y1; y < b->y2; y++) {
            for (int x = b->x1; x < b->x2; x += ROP_CHUNK) {
                int n = b->x2 - x < ROP_CHUNK ? b->x2 - x : ROP_CHUNK;
                /* Inputs the code ignores are still defined values. */
                if (use_d) {
                    canvas_pixels_load(dst, x, y, n, dbuf);
                } else {
                    memset(dbuf, 0, (size_t)n * 4);
                }
                if (use_s && src) {
                    canvas_pixels_load(&src->view, x - src->dx, y - src->dy, n, sbuf);
                } else if (use_s) {
                    memset(sbuf, 0, (size_t)n * 4);
                }
                if (use_p) {
                    brush_row(brush, x, y, n, pbuf);
                }
                rop_span(rop3, dbuf, use_s ? sbuf : NULL, use_p ? pbuf : NULL, n);
                canvas_pixels_store(dst, x, y, n, dbuf);
            }
        }
    }
}

void canvas_rop_pixel(const PixelView *dst, int x, int y, uint8_t rop3, const RopBrush *brush)
{
    uint32_t p = 0;
    brush_row(brush, x, y, 1, &p);
    uint32_t d = canvas_pixel_get(dst, x, y);
    canvas_pixel_put(dst, x, y, canvas_rop3_apply(rop3, p, 0, d));
}
