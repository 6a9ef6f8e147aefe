/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * canvas-internal.h: what the canvas source files share.
 *
 * canvas.c runs the drawing operations; canvas-image.c turns guest bitmaps
 * into pixman images; canvas-rop.c is the raw raster engine (ROP
 * descriptors, rop3, brushes, patterns) that pixman does not offer;
 * canvas-stroke.c draws paths.
 *
 * Pixel values in this engine are "raw": the bits of one pixel of the
 * destination format, as the reference canvas treats them (a solid brush
 * color of 0x001f on a 16-bit surface is the 16-bit pixel 0x001f). The
 * host is assumed little-endian, like the guests.
 */
#ifndef SPICE_DISPLAY_CANVAS_INTERNAL_H_
#define SPICE_DISPLAY_CANVAS_INTERNAL_H_

#include <stddef.h>

#include "canvas.h"

struct Canvas {
    uint32_t format; /* SPICE_SURFACE_FMT_* */
    pixman_format_code_t pformat;
    int width;
    int height;
    int bpp; /* 1, 8, 16 or 32 */
    pixman_image_t *image;
};

/* The raw pixels of a pixman image of 1, 8, 16 or 32 bits per pixel. */
typedef struct PixelView {
    uint8_t *row0;
    ptrdiff_t stride; /* bytes, negative for bottom-up memory */
    int width;
    int height;
    int bpp;
} PixelView;

PixelView canvas_pixel_view(pixman_image_t *image);
/* n pixels of row y from column x; the caller keeps them inside the view. */
void canvas_pixels_load(const PixelView *v, int x, int y, int n, uint32_t *out);
void canvas_pixels_store(const PixelView *v, int x, int y, int n, const uint32_t *in);
uint32_t canvas_pixel_get(const PixelView *v, int x, int y);
void canvas_pixel_put(const PixelView *v, int x, int y, uint32_t value);

/*
 * A brush as the raster engine sees it: a raw color, or a tile whose
 * pixel (0, 0) lands on org_x, org_y (mod the tile size) of the
 * destination. The tile is in the destination's pixel format.
 */
typedef struct RopBrush {
    bool tiled;
    uint32_t color;
    PixelView tile;
    int org_x; /* reduced to 0 .. tile.width - 1 */
    int org_y;
} RopBrush;

/* Destination pixel (x, y) reads source pixel (x - dx, y - dy); the caller
 * clips the region to the source. */
typedef struct RopSource {
    PixelView view;
    int dx;
    int dy;
} RopSource;

/*
 * The rop3 code (P = 0xf0, S = 0xcc, D = 0xaa) of a SPICE_ROPD_*
 * descriptor combining input A with the destination. A is the brush
 * (a_is_brush) or the source; a_invert and d_invert are the INVERS_* flags
 * that invert A and the destination for this operation.
 */
uint8_t canvas_ropd_to_rop3(uint16_t ropd, bool a_is_brush, uint16_t a_invert, uint16_t d_invert);
bool canvas_rop3_uses_source(uint8_t rop3);
bool canvas_rop3_uses_brush(uint8_t rop3);
uint32_t canvas_rop3_apply(uint8_t rop3, uint32_t p, uint32_t s, uint32_t d);

/* Apply rop3 to every pixel of region (inside dst); src and brush may be
 * NULL when the code does not use them (a NULL brush reads as 0). */
void canvas_rop_region(const PixelView *dst, pixman_region32_t *region, uint8_t rop3,
                       const RopSource *src, const RopBrush *brush);
/* One pixel, for strokes. */
void canvas_rop_pixel(const PixelView *dst, int x, int y, uint8_t rop3, const RopBrush *brush);

/*
 * A pixman image with the pixels of a guest bitmap in its natural format:
 * palette formats in palette_format (x8r8g8b8, or the 16-bit surface
 * format), 16BIT x1r5g5b5, 24BIT r8g8b8, 32BIT x8r8g8b8, RGBA a8r8g8b8,
 * 8BIT_A a8. Guest memory is wrapped without a copy where pixman can read
 * it as is. NULL when out of memory or for an unknown format.
 */
pixman_image_t *canvas_image_from_bitmap(const DrBitmap *bitmap,
                                         pixman_format_code_t palette_format);
/* A second header over the pixels of image, in format (same bpp), that
 * keeps image alive. */
pixman_image_t *canvas_image_view(pixman_image_t *image, pixman_format_code_t format);
/* Whether raw pixels of one format are meaningful in the other. */
bool canvas_formats_compatible(pixman_format_code_t a, pixman_format_code_t b);

/*
 * Stroke path with one-pixel lines as the reference does (X11 zero-width
 * rules, endpoints excluded), dashed when attr says so; each pixel is
 * combined with brush by rop3 and clipped to region.
 */
void canvas_stroke_path(const PixelView *dst, pixman_region32_t *region, const DrPath *path,
                        const DrLineAttr *attr, uint8_t rop3, const RopBrush *brush);

#endif /* SPICE_DISPLAY_CANVAS_INTERNAL_H_ */
