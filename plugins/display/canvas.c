/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * canvas.c: the software renderer of the display plugin.
 *
 * Every drawing operation follows the reference canvas of spice-common
 * (canvas_base.c, sw_canvas.c), which is what SPICE clients run: the
 * destination region is bbox, canvas and clip rectangles intersected, then
 * the QMask; sources are converted to the destination's pixel format and
 * combined bitwise (canvas-rop.c) or handed to pixman for the operations
 * that are really compositing (scaling, alpha blending, text, composite).
 *
 * Every coordinate from the guest is clipped against the canvas before it
 * indexes anything, in 64-bit arithmetic so that hostile boxes cannot
 * overflow; pixman only ever sees clipped boxes, and 16.16 transforms are
 * refused when their values do not fit.
 */
#include <string.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/qxl_dev.h>

#include "canvas-internal.h"

/* pixman's 16.16 fixed point: larger surfaces and coordinates do not fit. */
#define CANVAS_MAX_DIM 32767

typedef struct DrawCtx {
    Canvas *canvas;
    const Drawable *d;
    CanvasLookup lookup;
    void *opaque;
    const char **why;
    PixelView view;
} DrawCtx;

/* Pixels of an image read through a src_area (image coordinates, 64-bit
 * because the guest's box may have been shifted by a snapshot origin). */
typedef struct Source {
    pixman_image_t *image; /* NULL: nothing can be read */
    bool from_surface;
    int64_t x1, y1, x2, y2;
} Source;

static bool fail(DrawCtx *ctx, const char *why)
{
    if (ctx->why) {
        *ctx->why = why;
    }
    return false;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

/* The part of [x1, x2) x [y1, y2) inside the canvas; empty boxes have
 * x1 == x2 or y1 == y2. */
static pixman_box32_t clip_to_canvas(const Canvas *c, int64_t x1, int64_t y1, int64_t x2,
                                     int64_t y2)
{
    pixman_box32_t b;
    b.x1 = (int32_t)clamp64(x1, 0, c->width);
    b.y1 = (int32_t)clamp64(y1, 0, c->height);
    b.x2 = (int32_t)clamp64(x2, b.x1, c->width);
    b.y2 = (int32_t)clamp64(y2, b.y1, c->height);
    return b;
}

static bool box_empty(const pixman_box32_t *b)
{
    return b->x1 >= b->x2 || b->y1 >= b->y2;
}

static pixman_format_code_t surface_format_to_pixman(uint32_t format, int *bpp)
{
    switch (format) {
    case SPICE_SURFACE_FMT_1_A:
        *bpp = 1;
        return PIXMAN_a1;
    case SPICE_SURFACE_FMT_8_A:
        *bpp = 8;
        return PIXMAN_a8;
    case SPICE_SURFACE_FMT_16_555:
        *bpp = 16;
        return PIXMAN_x1r5g5b5;
    case SPICE_SURFACE_FMT_16_565:
        *bpp = 16;
        return PIXMAN_r5g6b5;
    case SPICE_SURFACE_FMT_32_xRGB:
        *bpp = 32;
        return PIXMAN_x8r8g8b8;
    case SPICE_SURFACE_FMT_32_ARGB:
        *bpp = 32;
        return PIXMAN_a8r8g8b8;
    default:
        *bpp = 0;
        return (pixman_format_code_t)0;
    }
}

Canvas *canvas_new(uint32_t format, uint32_t width, uint32_t height, int32_t stride, uint8_t *row0)
{
    int bpp;
    pixman_format_code_t pformat = surface_format_to_pixman(format, &bpp);
    if (!pformat || !row0 || width == 0 || height == 0 || width > CANVAS_MAX_DIM ||
        height > CANVAS_MAX_DIM) {
        return NULL;
    }
    /* pixman reads and writes whole aligned 32-bit words of each row. */
    int64_t row_bytes = ((int64_t)width * bpp + 7) / 8;
    int64_t abs_stride = stride < 0 ? -(int64_t)stride : stride;
    if (stride % 4 != 0 || abs_stride < row_bytes || ((uintptr_t)row0 % 4) != 0) {
        return NULL;
    }
    pixman_image_t *image = pixman_image_create_bits(pformat, (int)width, (int)height,
                                                     (uint32_t *)(void *)row0, stride);
    if (!image) {
        return NULL;
    }
    Canvas *c = g_new0(Canvas, 1);
    c->format = format;
    c->pformat = pformat;
    c->width = (int)width;
    c->height = (int)height;
    c->bpp = bpp;
    c->image = image;
    return c;
}

void canvas_free(Canvas *canvas)
{
    if (!canvas) {
        return;
    }
    pixman_image_unref(canvas->image);
    g_free(canvas);
}

uint32_t canvas_format(const Canvas *canvas)
{
    return canvas->format;
}

uint32_t canvas_width(const Canvas *canvas)
{
    return (uint32_t)canvas->width;
}

uint32_t canvas_height(const Canvas *canvas)
{
    return (uint32_t)canvas->height;
}

pixman_image_t *canvas_image(Canvas *canvas)
{
    return canvas->image;
}

pixman_image_t *canvas_snapshot(Canvas *canvas, const pixman_box32_t *box)
{
    pixman_box32_t b = clip_to_canvas(canvas, box->x1, box->y1, box->x2, box->y2);
    if (box_empty(&b)) {
        return NULL;
    }
    int w = b.x2 - b.x1, h = b.y2 - b.y1;
    pixman_image_t *copy = pixman_image_create_bits(canvas->pformat, w, h, NULL, 0);
    if (!copy) {
        return NULL;
    }
    PixelView from = canvas_pixel_view(canvas->image);
    PixelView to = canvas_pixel_view(copy);
    if (canvas->bpp >= 8) {
        size_t bytes = (size_t)w * (size_t)(canvas->bpp / 8);
        for (int y = 0; y < h; y++) {
            memcpy(to.row0 + (ptrdiff_t)y * to.stride,
                   from.row0 + (ptrdiff_t)(b.y1 + y) * from.stride +
                       (size_t)b.x1 * (size_t)(canvas->bpp / 8),
                   bytes);
        }
    } else {
        uint32_t *line = g_new(uint32_t, w);
        for (int y = 0; y < h; y++) {
            canvas_pixels_load(&from, b.x1, b.y1 + y, w, line);
            canvas_pixels_store(&to, 0, y, w, line);
        }
        g_free(line);
    }
    return copy;
}

void canvas_fill_box(Canvas *canvas, const pixman_box32_t *box, uint32_t color)
{
    pixman_box32_t b = clip_to_canvas(canvas, box->x1, box->y1, box->x2, box->y2);
    if (box_empty(&b)) {
        return;
    }
    pixman_region32_t r;
    pixman_region32_init_with_extents(&r, &b);
    RopBrush brush = { .color = color };
    PixelView view = canvas_pixel_view(canvas->image);
    canvas_rop_region(&view, &r, 0xf0, NULL, &brush);
    pixman_region32_fini(&r);
}

/* ------------------------------------------------------------------------
 * Regions
 */

/* bbox, the canvas and the clip rectangles intersected. */
static void base_region(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    pixman_box32_t box =
        clip_to_canvas(ctx->canvas, d->bbox.x1, d->bbox.y1, d->bbox.x2, d->bbox.y2);
    if (box_empty(&box) || (d->clip && (d->n_clip_rects == 0 || !d->clip_rects))) {
        pixman_region32_init(r);
        return;
    }
    if (!d->clip) {
        pixman_region32_init_with_extents(r, &box);
        return;
    }
    /* Clip each rectangle first so that the region only sees small numbers. */
    pixman_box32_t *boxes = g_new(pixman_box32_t, d->n_clip_rects);
    int n = 0;
    for (uint32_t i = 0; i < d->n_clip_rects; i++) {
        const pixman_box32_t *c = &d->clip_rects[i];
        pixman_box32_t b;
        b.x1 = MAX(c->x1, box.x1);
        b.y1 = MAX(c->y1, box.y1);
        b.x2 = MIN(c->x2, box.x2);
        b.y2 = MIN(c->y2, box.y2);
        if (!box_empty(&b)) {
            boxes[n++] = b;
        }
    }
    pixman_region32_init_rects(r, boxes, n);
    g_free(boxes);
}

/* Keep the part of r where image pixel (x - dx, y - dy) exists. */
static void clip_to_image(const Canvas *c, pixman_region32_t *r, int64_t dx, int64_t dy, int w,
                          int h)
{
    pixman_box32_t b = clip_to_canvas(c, dx, dy, dx + w, dy + h);
    if (box_empty(&b)) {
        pixman_region32_clear(r);
        return;
    }
    pixman_region32_t img;
    pixman_region32_init_with_extents(&img, &b);
    pixman_region32_intersect(r, r, &img);
    pixman_region32_fini(&img);
}

/* Guest bitmap row y (0 = top). */
static const uint8_t *bitmap_row(const DrBitmap *b, uint32_t y)
{
    return b->data + (size_t)(b->top_down ? y : b->height - 1 - y) * b->stride;
}

/*
 * Intersect r with the set bits of a 1-bit mask. As in the reference (and
 * GDI's pptlMask), mask pixel (pos.x, pos.y) lies on the bbox origin:
 * destination (x, y) reads mask pixel (x - bbox.x1 + pos.x, y - bbox.y1 +
 * pos.y). Outside the mask nothing is drawn, INVERS or not.
 */
static bool apply_mask(DrawCtx *ctx, pixman_region32_t *r, const DrQMask *mask)
{
    const DrImage *img = mask->bitmap;
    if (!img || !pixman_region32_not_empty(r)) {
        return true;
    }
    const DrBitmap *bits = NULL;
    PixelView surface = { 0 };
    int mw, mh;
    if (img->kind == DR_IMAGE_SURFACE) {
        Canvas *sc = ctx->lookup ? ctx->lookup(ctx->opaque, img->surface_id) : NULL;
        if (!sc) {
            return fail(ctx, "mask surface does not exist");
        }
        if (sc->bpp != 1) {
            return fail(ctx, "mask surface is not 1-bit");
        }
        surface = canvas_pixel_view(sc->image);
        mw = sc->width;
        mh = sc->height;
    } else {
        bits = &img->bitmap;
        if (bits->format != SPICE_BITMAP_FMT_1BIT_LE && bits->format != SPICE_BITMAP_FMT_1BIT_BE) {
            return fail(ctx, "mask bitmap is not 1-bit");
        }
        mw = (int)MIN(bits->width, (uint32_t)INT32_MAX);
        mh = (int)MIN(bits->height, (uint32_t)INT32_MAX);
    }

    /* Only the window of the mask under the region matters. */
    const pixman_box32_t *ext = pixman_region32_extents(r);
    int64_t ox = (int64_t)ctx->d->bbox.x1 - mask->x;
    int64_t oy = (int64_t)ctx->d->bbox.y1 - mask->y;
    int64_t mx1 = MAX(ext->x1 - ox, 0), my1 = MAX(ext->y1 - oy, 0);
    int64_t mx2 = MIN(ext->x2 - ox, (int64_t)mw), my2 = MIN(ext->y2 - oy, (int64_t)mh);
    if (mx1 >= mx2 || my1 >= my2) {
        pixman_region32_clear(r);
        return true;
    }
    int w = (int)(mx2 - mx1), h = (int)(my2 - my1);
    pixman_image_t *a1 = pixman_image_create_bits(PIXMAN_a1, w, h, NULL, 0);
    if (!a1) {
        return fail(ctx, "out of memory for the mask");
    }
    PixelView out = canvas_pixel_view(a1);
    uint32_t invert = (mask->flags & SPICE_MASK_FLAGS_INVERS) ? 1 : 0;
    uint32_t *line = g_new(uint32_t, w);
    for (int y = 0; y < h; y++) {
        if (bits) {
            const uint8_t *row = bitmap_row(bits, (uint32_t)(my1 + y));
            bool be = bits->format == SPICE_BITMAP_FMT_1BIT_BE;
            for (int x = 0; x < w; x++) {
                uint32_t mx = (uint32_t)(mx1 + x);
                uint32_t bit =
                    be ? (row[mx >> 3] >> (7 - (mx & 7))) & 1 : (row[mx >> 3] >> (mx & 7)) & 1;
                line[x] = bit ^ invert;
            }
        } else {
            canvas_pixels_load(&surface, (int)mx1, (int)(my1 + y), w, line);
            for (int x = 0; x < w; x++) {
                line[x] ^= invert;
            }
        }
        canvas_pixels_store(&out, 0, y, w, line);
    }
    g_free(line);

    pixman_region32_t mr;
    pixman_region32_init_from_image(&mr, a1);
    pixman_image_unref(a1);
    pixman_region32_translate(&mr, (int)(mx1 + ox), (int)(my1 + oy));
    pixman_region32_intersect(r, r, &mr);
    pixman_region32_fini(&mr);
    return true;
}

/* ------------------------------------------------------------------------
 * Images
 */

/* Palette entries are raw pixels of 16-bit surfaces there, else 32-bit. */
static pixman_format_code_t palette_format(const Canvas *c)
{
    return c->bpp == 16 ? c->pformat : PIXMAN_x8r8g8b8;
}

static void source_clear(Source *s)
{
    if (s->image) {
        pixman_image_unref(s->image);
        s->image = NULL;
    }
}

/* A copy of the canvas under box (canvas coordinates, 64-bit), with s's
 * area moved into the copy's coordinates: reading the destination while it
 * is drawn needs its pixels as they were. */
static bool source_from_snapshot(DrawCtx *ctx, int64_t x1, int64_t y1, int64_t x2, int64_t y2,
                                 Source *s)
{
    pixman_box32_t b = clip_to_canvas(ctx->canvas, x1, y1, x2, y2);
    if (box_empty(&b)) {
        return true; /* nothing of it is on the canvas: an empty source */
    }
    s->image = canvas_snapshot(ctx->canvas, &b);
    if (!s->image) {
        return fail(ctx, "out of memory for a snapshot");
    }
    s->x1 -= b.x1 - x1;
    s->x2 -= b.x1 - x1;
    s->y1 -= b.y1 - y1;
    s->y2 -= b.y1 - y1;
    return true;
}

/*
 * The pixels of img in their natural format; area (may be NULL for all of
 * it) is the part the operation reads.
 */
static bool image_acquire(DrawCtx *ctx, const DrImage *img, const pixman_box32_t *area, Source *s)
{
    memset(s, 0, sizeof(*s));
    if (area) {
        s->x1 = area->x1;
        s->y1 = area->y1;
        s->x2 = area->x2;
        s->y2 = area->y2;
    }
    if (!img) {
        return fail(ctx, "drawable has no source image");
    }
    if (img->kind == DR_IMAGE_SURFACE) {
        Canvas *sc = ctx->lookup ? ctx->lookup(ctx->opaque, img->surface_id) : NULL;
        if (!sc) {
            return fail(ctx, "source surface does not exist");
        }
        s->from_surface = true;
        if (!area) {
            s->x2 = sc->width;
            s->y2 = sc->height;
        }
        if (sc == ctx->canvas) {
            return source_from_snapshot(ctx, s->x1, s->y1, s->x2, s->y2, s);
        }
        s->image = pixman_image_ref(sc->image);
        return true;
    }
    s->image = canvas_image_from_bitmap(&img->bitmap, palette_format(ctx->canvas));
    if (!s->image) {
        return fail(ctx, "source bitmap cannot be read");
    }
    if (!area) {
        s->x2 = pixman_image_get_width(s->image);
        s->y2 = pixman_image_get_height(s->image);
    }
    return true;
}

/* The source of src-based operations: with self_bitmap, the canvas under
 * self_bitmap_area before drawing, src_area relative to it. */
static bool source_acquire(DrawCtx *ctx, const DrImage *img, const pixman_box32_t *area, Source *s)
{
    const Drawable *d = ctx->d;
    if (!d->self_bitmap) {
        return image_acquire(ctx, img, area, s);
    }
    memset(s, 0, sizeof(*s));
    const pixman_box32_t *sa = &d->self_bitmap_area;
    int64_t w = area ? (int64_t)area->x2 - area->x1 : (int64_t)sa->x2 - sa->x1;
    int64_t h = area ? (int64_t)area->y2 - area->y1 : (int64_t)sa->y2 - sa->y1;
    /* The area's corner on the canvas, then in the snapshot. */
    int64_t cx = (int64_t)sa->x1 + (area ? area->x1 : 0);
    int64_t cy = (int64_t)sa->y1 + (area ? area->y1 : 0);
    pixman_box32_t b = clip_to_canvas(ctx->canvas, sa->x1, sa->y1, sa->x2, sa->y2);
    if (box_empty(&b)) {
        return true; /* nothing of it is on the canvas: an empty source */
    }
    s->image = canvas_snapshot(ctx->canvas, &b);
    if (!s->image) {
        return fail(ctx, "out of memory for the self bitmap");
    }
    s->x1 = cx - b.x1;
    s->y1 = cy - b.y1;
    s->x2 = s->x1 + w;
    s->y2 = s->y1 + h;
    return true;
}

/* The image's pixels in the canvas's raw format: itself when its bits
 * already are, else a converted copy. A new reference or NULL. */
static pixman_image_t *to_canvas_format(const Canvas *c, pixman_image_t *image)
{
    if (canvas_formats_compatible(pixman_image_get_format(image), c->pformat)) {
        return pixman_image_ref(image);
    }
    int w = pixman_image_get_width(image), h = pixman_image_get_height(image);
    pixman_image_t *conv = pixman_image_create_bits(c->pformat, w, h, NULL, 0);
    if (conv) {
        pixman_image_composite32(PIXMAN_OP_SRC, image, NULL, conv, 0, 0, 0, 0, 0, 0, w, h);
    }
    return conv;
}

/* A header over the canvas pixels for operations that set clip or format. */
static pixman_image_t *dest_view(DrawCtx *ctx, pixman_format_code_t format, pixman_region32_t *clip)
{
    pixman_image_t *v = canvas_image_view(ctx->canvas->image, format);
    if (v && clip) {
        pixman_image_set_clip_region32(v, clip);
    }
    return v;
}

static bool same_size(const Source *s, const pixman_box32_t *bbox)
{
    return s->x2 - s->x1 == (int64_t)bbox->x2 - bbox->x1 &&
           s->y2 - s->y1 == (int64_t)bbox->y2 - bbox->y1;
}

/*
 * The transform that samples s's area stretched over bbox, for a composite
 * whose destination origin is (ox, oy) and source origin (0, 0): source x
 * = (x - bbox.x1 + 0.5) * src_w / dst_w + area.x1, the scale truncated to
 * 16.16 as the reference does. False when a value does not fit.
 */
static bool scale_transform(const Source *s, const pixman_box32_t *bbox, int ox, int oy,
                            pixman_transform_t *t)
{
    int64_t dw = (int64_t)bbox->x2 - bbox->x1, dh = (int64_t)bbox->y2 - bbox->y1;
    if (dw <= 0 || dh <= 0 || s->x1 < -CANVAS_MAX_DIM || s->y1 < -CANVAS_MAX_DIM ||
        s->x2 > CANVAS_MAX_DIM || s->y2 > CANVAS_MAX_DIM) {
        return false;
    }
    int64_t fsx = ((s->x2 - s->x1) << 16) / dw, fsy = ((s->y2 - s->y1) << 16) / dh;
    if (fsx > INT32_MAX || fsy > INT32_MAX) {
        return false;
    }
    int64_t tx = s->x1 * 65536 + fsx * (ox - (int64_t)bbox->x1);
    int64_t ty = s->y1 * 65536 + fsy * (oy - (int64_t)bbox->y1);
    if (tx < INT32_MIN || tx > INT32_MAX || ty < INT32_MIN || ty > INT32_MAX) {
        return false;
    }
    pixman_transform_init_identity(t);
    t->matrix[0][0] = (pixman_fixed_t)fsx;
    t->matrix[1][1] = (pixman_fixed_t)fsy;
    t->matrix[0][2] = (pixman_fixed_t)tx;
    t->matrix[1][2] = (pixman_fixed_t)ty;
    return true;
}

/*
 * s stretched over bbox, rendered for the extents of r into a new image
 * whose (0, 0) is the extents' top-left. The format keeps the source's
 * bits where they match the canvas (the reference scales in the source's
 * format), else the canvas's.
 */
static pixman_image_t *scaled_copy(DrawCtx *ctx, pixman_region32_t *r, const Source *s,
                                   const pixman_box32_t *bbox, pixman_filter_t filter)
{
    const pixman_box32_t *ext = pixman_region32_extents(r);
    pixman_transform_t t;
    if (!scale_transform(s, bbox, ext->x1, ext->y1, &t)) {
        fail(ctx, "scaled source area out of range");
        return NULL;
    }
    pixman_format_code_t sf = pixman_image_get_format(s->image);
    pixman_format_code_t fmt =
        canvas_formats_compatible(sf, ctx->canvas->pformat) ? sf : ctx->canvas->pformat;
    int w = ext->x2 - ext->x1, h = ext->y2 - ext->y1;
    pixman_image_t *out = pixman_image_create_bits(fmt, w, h, NULL, 0);
    pixman_image_t *src = canvas_image_view(s->image, sf);
    if (!out || !src) {
        if (out) {
            pixman_image_unref(out);
        }
        if (src) {
            pixman_image_unref(src);
        }
        fail(ctx, "out of memory for scaling");
        return NULL;
    }
    pixman_image_set_transform(src, &t);
    pixman_image_set_filter(src, filter, NULL, 0);
    pixman_image_set_repeat(src, PIXMAN_REPEAT_NONE);
    pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, out, 0, 0, 0, 0, 0, 0, w, h);
    pixman_image_unref(src);
    return out;
}

static pixman_filter_t scale_filter(uint8_t scale_mode)
{
    return scale_mode == SPICE_IMAGE_SCALE_MODE_NEAREST ? PIXMAN_FILTER_NEAREST
                                                        : PIXMAN_FILTER_GOOD;
}

/*
 * The source's pixels for a raw operation on r, as a RopSource: 1:1 with
 * r clipped to what the source holds, or scaled into a temporary image.
 * *hold receives the image to release (NULL when nothing is drawable).
 */
static bool rop_source(DrawCtx *ctx, pixman_region32_t *r, const Source *s,
                       const pixman_box32_t *bbox, uint8_t scale_mode, RopSource *rs,
                       pixman_image_t **hold)
{
    *hold = NULL;
    if (!s->image) {
        pixman_region32_clear(r);
        return true;
    }
    if (!pixman_region32_not_empty(r)) {
        return true;
    }
    if (same_size(s, bbox)) {
        int64_t dx = (int64_t)bbox->x1 - s->x1, dy = (int64_t)bbox->y1 - s->y1;
        clip_to_image(ctx->canvas, r, dx, dy, pixman_image_get_width(s->image),
                      pixman_image_get_height(s->image));
        if (!pixman_region32_not_empty(r)) {
            return true;
        }
        *hold = to_canvas_format(ctx->canvas, s->image);
        if (!*hold) {
            return fail(ctx, "out of memory converting the source");
        }
        /* r is inside both the canvas and the shifted image: dx, dy are small. */
        rs->view = canvas_pixel_view(*hold);
        rs->dx = (int)dx;
        rs->dy = (int)dy;
        return true;
    }
    pixman_image_t *scaled = scaled_copy(ctx, r, s, bbox, scale_filter(scale_mode));
    if (!scaled) {
        return false;
    }
    *hold = to_canvas_format(ctx->canvas, scaled);
    pixman_image_unref(scaled);
    if (!*hold) {
        return fail(ctx, "out of memory converting the source");
    }
    const pixman_box32_t *ext = pixman_region32_extents(r);
    rs->view = canvas_pixel_view(*hold);
    rs->dx = ext->x1;
    rs->dy = ext->y1;
    return true;
}

/* A plain copy of s onto r (the reference's blit/scale paths): 1:1 copies
 * move raw bits, scaled ones go through pixman and its filters. */
static bool copy_source(DrawCtx *ctx, pixman_region32_t *r, const Source *s,
                        const pixman_box32_t *bbox, uint8_t scale_mode)
{
    if (!s->image || !pixman_region32_not_empty(r)) {
        return true;
    }
    Canvas *c = ctx->canvas;
    pixman_format_code_t sf = pixman_image_get_format(s->image);
    if (same_size(s, bbox)) {
        int64_t dx = (int64_t)bbox->x1 - s->x1, dy = (int64_t)bbox->y1 - s->y1;
        pixman_region32_t clipped;
        pixman_region32_init(&clipped);
        pixman_region32_copy(&clipped, r);
        clip_to_image(c, &clipped, dx, dy, pixman_image_get_width(s->image),
                      pixman_image_get_height(s->image));
        pixman_image_t *src = s->image;
        bool view = sf != c->pformat && canvas_formats_compatible(sf, c->pformat);
        if (view) {
            src = canvas_image_view(s->image, c->pformat);
        }
        if (!src) {
            pixman_region32_fini(&clipped);
            return fail(ctx, "out of memory");
        }
        int n;
        pixman_box32_t *rects = pixman_region32_rectangles(&clipped, &n);
        for (int i = 0; i < n; i++) {
            const pixman_box32_t *b = &rects[i];
            pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, c->image, (int)(b->x1 - dx),
                                     (int)(b->y1 - dy), 0, 0, b->x1, b->y1, b->x2 - b->x1,
                                     b->y2 - b->y1);
        }
        if (view) {
            pixman_image_unref(src);
        }
        pixman_region32_fini(&clipped);
        return true;
    }
    const pixman_box32_t *ext = pixman_region32_extents(r);
    pixman_transform_t t;
    if (!scale_transform(s, bbox, ext->x1, ext->y1, &t)) {
        return fail(ctx, "scaled source area out of range");
    }
    pixman_image_t *src = canvas_image_view(s->image, sf);
    pixman_image_t *dst = dest_view(ctx, c->pformat, r);
    if (src && dst) {
        pixman_image_set_transform(src, &t);
        pixman_image_set_filter(src, scale_filter(scale_mode), NULL, 0);
        pixman_image_set_repeat(src, PIXMAN_REPEAT_NONE);
        pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, dst, 0, 0, 0, 0, ext->x1, ext->y1,
                                 ext->x2 - ext->x1, ext->y2 - ext->y1);
    }
    if (src) {
        pixman_image_unref(src);
    }
    if (dst) {
        pixman_image_unref(dst);
    }
    return (src && dst) ? true : fail(ctx, "out of memory");
}

/* ------------------------------------------------------------------------
 * Brushes
 */

static int pos_mod(int64_t v, int m)
{
    int64_t r = v % m;
    return (int)(r < 0 ? r + m : r);
}

/* A brush for the raster engine; *hold keeps the tile alive. NONE draws
 * as color 0, as the reference does. */
static bool brush_acquire(DrawCtx *ctx, const DrBrush *b, RopBrush *out, pixman_image_t **hold)
{
    memset(out, 0, sizeof(*out));
    *hold = NULL;
    if (b->type == SPICE_BRUSH_TYPE_SOLID) {
        out->color = b->color;
        return true;
    }
    if (b->type != SPICE_BRUSH_TYPE_PATTERN) {
        return true;
    }
    Source s;
    if (!image_acquire(ctx, b->pattern, NULL, &s)) {
        return false;
    }
    if (!s.image) {
        return true;
    }
    *hold = to_canvas_format(ctx->canvas, s.image);
    source_clear(&s);
    if (!*hold) {
        return fail(ctx, "out of memory converting the pattern");
    }
    out->tiled = true;
    out->tile = canvas_pixel_view(*hold);
    out->org_x = pos_mod(b->pat_x, out->tile.width);
    out->org_y = pos_mod(b->pat_y, out->tile.height);
    return true;
}

static void release(pixman_image_t *image)
{
    if (image) {
        pixman_image_unref(image);
    }
}

/* A brush as a pixman source for compositing (text): a solid color decoded
 * from the surface's pixel format, or the tile repeated from the origin
 * (org_x, org_y) in destination coordinates. NULL for NONE. */
static pixman_image_t *brush_pixman(DrawCtx *ctx, const DrBrush *b, const RopBrush *rb,
                                    pixman_image_t *tile, int64_t org_x, int64_t org_y)
{
    if (b->type == SPICE_BRUSH_TYPE_SOLID) {
        uint32_t v = b->color;
        pixman_color_t color = { .alpha = 0xffff };
        if (ctx->canvas->pformat == PIXMAN_r5g6b5) {
            color.red = (uint16_t)(((v >> 11) & 0x1f) * 0xffff / 0x1f);
            color.green = (uint16_t)(((v >> 5) & 0x3f) * 0xffff / 0x3f);
            color.blue = (uint16_t)((v & 0x1f) * 0xffff / 0x1f);
        } else if (ctx->canvas->bpp == 16) {
            color.red = (uint16_t)(((v >> 10) & 0x1f) * 0xffff / 0x1f);
            color.green = (uint16_t)(((v >> 5) & 0x1f) * 0xffff / 0x1f);
            color.blue = (uint16_t)((v & 0x1f) * 0xffff / 0x1f);
        } else {
            color.red = (uint16_t)(((v >> 16) & 0xff) * 0x101);
            color.green = (uint16_t)(((v >> 8) & 0xff) * 0x101);
            color.blue = (uint16_t)((v & 0xff) * 0x101);
        }
        return pixman_image_create_solid_fill(&color);
    }
    if (b->type != SPICE_BRUSH_TYPE_PATTERN || !tile) {
        return NULL;
    }
    pixman_image_t *img = canvas_image_view(tile, pixman_image_get_format(tile));
    if (!img) {
        return NULL;
    }
    pixman_transform_t t;
    pixman_transform_init_translate(&t, pixman_int_to_fixed(pos_mod(-org_x, rb->tile.width)),
                                    pixman_int_to_fixed(pos_mod(-org_y, rb->tile.height)));
    pixman_image_set_transform(img, &t);
    pixman_image_set_repeat(img, PIXMAN_REPEAT_NORMAL);
    return img;
}

/* The reference clears the x byte that pixman's OVER leaves on xRGB
 * surfaces, so that an xRGB surface read later as ARGB is unchanged. */
static void clear_x_bytes(DrawCtx *ctx, pixman_region32_t *r)
{
    if (ctx->canvas->format != SPICE_SURFACE_FMT_32_xRGB) {
        return;
    }
    int n;
    pixman_box32_t *rects = pixman_region32_rectangles(r, &n);
    for (int i = 0; i < n; i++) {
        for (int y = rects[i].y1; y < rects[i].y2; y++) {
            uint32_t *p = (uint32_t *)(void *)(ctx->view.row0 + (ptrdiff_t)y * ctx->view.stride);
            for (int x = rects[i].x1; x < rects[i].x2; x++) {
                p[x] &= 0x00ffffff;
            }
        }
    }
}

/* ------------------------------------------------------------------------
 * Operations
 */

static bool draw_fill(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    if (!apply_mask(ctx, r, &d->u.fill.mask)) {
        return false;
    }
    uint8_t rop3 =
        canvas_ropd_to_rop3(d->u.fill.rop, true, SPICE_ROPD_INVERS_BRUSH, SPICE_ROPD_INVERS_DEST);
    RopBrush brush;
    pixman_image_t *tile;
    if (!brush_acquire(ctx, &d->u.fill.brush, &brush, &tile)) {
        return false;
    }
    canvas_rop_region(&ctx->view, r, rop3, NULL, &brush);
    release(tile);
    return true;
}

static bool draw_blackness(DrawCtx *ctx, pixman_region32_t *r, const DrQMask *mask, uint8_t rop3)
{
    if (!apply_mask(ctx, r, mask)) {
        return false;
    }
    canvas_rop_region(&ctx->view, r, rop3, NULL, NULL);
    return true;
}

/* DRAW_COPY and DRAW_BLEND: the source combined with the destination. */
static bool draw_copy(DrawCtx *ctx, pixman_region32_t *r, const DrImage *img,
                      const pixman_box32_t *area, uint16_t ropd, uint8_t scale_mode,
                      const DrQMask *mask)
{
    const pixman_box32_t *bbox = &ctx->d->bbox;
    if (!apply_mask(ctx, r, mask)) {
        return false;
    }
    Source s;
    if (!source_acquire(ctx, img, area, &s)) {
        return false;
    }
    uint8_t rop3 = canvas_ropd_to_rop3(ropd, false, SPICE_ROPD_INVERS_SRC, SPICE_ROPD_INVERS_DEST);
    bool ok;
    if (rop3 == 0xcc) {
        ok = copy_source(ctx, r, &s, bbox, scale_mode);
    } else {
        RopSource rs;
        pixman_image_t *hold;
        ok = rop_source(ctx, r, &s, bbox, scale_mode, &rs, &hold);
        if (ok && hold) {
            canvas_rop_region(&ctx->view, r, rop3, &rs, NULL);
        }
        release(hold);
    }
    source_clear(&s);
    return ok;
}

/* DRAW_OPAQUE: the source copied, then the brush combined with it. */
static bool draw_opaque(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    if (!apply_mask(ctx, r, &d->u.opaque.mask)) {
        return false;
    }
    Source s;
    RopBrush brush;
    pixman_image_t *tile;
    if (!source_acquire(ctx, d->u.opaque.src, &d->u.opaque.src_area, &s)) {
        return false;
    }
    if (!brush_acquire(ctx, &d->u.opaque.brush, &brush, &tile)) {
        source_clear(&s);
        return false;
    }
    uint8_t rop3 =
        canvas_ropd_to_rop3(d->u.opaque.rop, true, SPICE_ROPD_INVERS_BRUSH, SPICE_ROPD_INVERS_SRC);
    bool ok = copy_source(ctx, r, &s, &d->bbox, d->u.opaque.scale_mode);
    if (ok) {
        canvas_rop_region(&ctx->view, r, rop3, NULL, &brush);
    }
    release(tile);
    source_clear(&s);
    return ok;
}

static bool draw_rop3(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    if (!apply_mask(ctx, r, &d->u.rop3.mask)) {
        return false;
    }
    Source s;
    RopBrush brush;
    pixman_image_t *tile;
    if (!source_acquire(ctx, d->u.rop3.src, &d->u.rop3.src_area, &s)) {
        return false;
    }
    if (!brush_acquire(ctx, &d->u.rop3.brush, &brush, &tile)) {
        source_clear(&s);
        return false;
    }
    RopSource rs;
    pixman_image_t *hold = NULL;
    bool ok = true;
    if (canvas_rop3_uses_source(d->u.rop3.rop3)) {
        ok = rop_source(ctx, r, &s, &d->bbox, d->u.rop3.scale_mode, &rs, &hold);
        if (ok && !hold) {
            pixman_region32_clear(r); /* no source pixel to combine */
        }
    }
    if (ok) {
        canvas_rop_region(&ctx->view, r, d->u.rop3.rop3, hold ? &rs : NULL, &brush);
    }
    release(hold);
    release(tile);
    source_clear(&s);
    return ok;
}

/* The reference compares the source, in the surface's format, with
 * true_color (the key translated to the destination's colors); 32-bit
 * pixels ignore their top byte. */
static uint32_t transparent_key(const Canvas *c, uint32_t true_color)
{
    switch (c->format) {
    case SPICE_SURFACE_FMT_32_xRGB:
    case SPICE_SURFACE_FMT_32_ARGB:
        return true_color & 0x00ffffff;
    case SPICE_SURFACE_FMT_16_555:
        return ((true_color >> 3) & 0x001f) | ((true_color >> 6) & 0x03e0) |
               ((true_color >> 9) & 0x7c00);
    case SPICE_SURFACE_FMT_16_565:
        return ((true_color >> 3) & 0x001f) | ((true_color >> 5) & 0x07e0) |
               ((true_color >> 8) & 0xf800);
    default:
        return 0;
    }
}

static bool draw_transparent(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    Source s;
    if (!source_acquire(ctx, d->u.transparent.src, &d->u.transparent.src_area, &s)) {
        return false;
    }
    RopSource rs;
    pixman_image_t *hold;
    /* Scaled color keys are always sampled nearest, as in the reference. */
    bool ok = rop_source(ctx, r, &s, &d->bbox, SPICE_IMAGE_SCALE_MODE_NEAREST, &rs, &hold);
    if (ok && hold) {
        uint32_t key = transparent_key(ctx->canvas, d->u.transparent.true_color);
        uint32_t mask = ctx->canvas->bpp == 32 ? 0x00ffffff : (1u << ctx->canvas->bpp) - 1;
        uint32_t sbuf[256], dbuf[256];
        int n;
        pixman_box32_t *rects = pixman_region32_rectangles(r, &n);
        for (int i = 0; i < n; i++) {
            for (int y = rects[i].y1; y < rects[i].y2; y++) {
                for (int x = rects[i].x1; x < rects[i].x2; x += 256) {
                    int len = MIN(256, rects[i].x2 - x);
                    canvas_pixels_load(&rs.view, x - rs.dx, y - rs.dy, len, sbuf);
                    canvas_pixels_load(&ctx->view, x, y, len, dbuf);
                    for (int k = 0; k < len; k++) {
                        if ((sbuf[k] & mask) != key) {
                            dbuf[k] = sbuf[k];
                        }
                    }
                    canvas_pixels_store(&ctx->view, x, y, len, dbuf);
                }
            }
        }
    }
    release(hold);
    source_clear(&s);
    return ok;
}

static bool draw_alpha_blend(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    Canvas *c = ctx->canvas;
    uint16_t flags = d->u.alpha_blend.alpha_flags;
    if (d->u.alpha_blend.alpha == 0 || !pixman_region32_not_empty(r)) {
        return true;
    }
    Source s;
    if (!source_acquire(ctx, d->u.alpha_blend.src, &d->u.alpha_blend.src_area, &s)) {
        return false;
    }
    if (!s.image) {
        return true;
    }
    /* Alpha comes from the format: RGBA bitmaps and ARGB surfaces carry it,
     * an xRGB surface only when SRC_SURFACE_HAS_ALPHA says its x byte is
     * alpha; the same for the destination with DEST_HAS_ALPHA. */
    pixman_format_code_t sf = pixman_image_get_format(s.image);
    if (s.from_surface && sf == PIXMAN_x8r8g8b8 &&
        (flags & SPICE_ALPHA_FLAGS_SRC_SURFACE_HAS_ALPHA)) {
        sf = PIXMAN_a8r8g8b8;
    }
    pixman_format_code_t df = c->pformat;
    bool dest_alpha = (flags & SPICE_ALPHA_FLAGS_DEST_HAS_ALPHA) != 0;
    if (df == PIXMAN_x8r8g8b8 && dest_alpha) {
        df = PIXMAN_a8r8g8b8;
    }
    const pixman_box32_t *ext = pixman_region32_extents(r);
    const pixman_box32_t *bbox = &d->bbox;
    pixman_transform_t t;
    bool scaled = !same_size(&s, bbox);
    int64_t sx = s.x1 + (ext->x1 - (int64_t)bbox->x1), sy = s.y1 + (ext->y1 - (int64_t)bbox->y1);
    if (scaled) {
        if (!scale_transform(&s, bbox, ext->x1, ext->y1, &t)) {
            source_clear(&s);
            return fail(ctx, "scaled source area out of range");
        }
        sx = sy = 0;
    } else if (sx < INT32_MIN || sx > INT32_MAX - CANVAS_MAX_DIM || sy < INT32_MIN ||
               sy > INT32_MAX - CANVAS_MAX_DIM) {
        source_clear(&s);
        return true; /* the source is nowhere near: transparent */
    }
    pixman_image_t *src = canvas_image_view(s.image, sf);
    pixman_image_t *dst = dest_view(ctx, df, r);
    pixman_image_t *mask = NULL;
    if (d->u.alpha_blend.alpha != 0xff) {
        pixman_color_t color = { .alpha = (uint16_t)(d->u.alpha_blend.alpha * 0x101) };
        mask = pixman_image_create_solid_fill(&color);
    }
    bool ok = src && dst && (mask || d->u.alpha_blend.alpha == 0xff);
    if (ok) {
        if (scaled) {
            pixman_image_set_transform(src, &t);
            pixman_image_set_filter(src, PIXMAN_FILTER_NEAREST, NULL, 0);
        }
        pixman_image_set_repeat(src, PIXMAN_REPEAT_NONE);
        pixman_image_composite32(PIXMAN_OP_OVER, src, mask, dst, (int32_t)sx, (int32_t)sy, 0, 0,
                                 ext->x1, ext->y1, ext->x2 - ext->x1, ext->y2 - ext->y1);
        if (!dest_alpha) {
            clear_x_bytes(ctx, r);
        }
    }
    release(src);
    release(dst);
    release(mask);
    source_clear(&s);
    return ok ? true : fail(ctx, "out of memory");
}

/*
 * Rows of memmove in the reference's order (its copy_region): bands of
 * rectangles bottom first when moving down, the rectangles of a band right
 * first when moving right, rows bottom first when moving down, so that no
 * pixel is read after it was overwritten.
 */
static void copy_bits_ordered(DrawCtx *ctx, pixman_region32_t *r, int dx, int dy)
{
    const PixelView *v = &ctx->view;
    size_t bpp = (size_t)v->bpp / 8;
    int n;
    pixman_box32_t *rects = pixman_region32_rectangles(r, &n);
    int *order = g_new(int, n > 0 ? n : 1);
    int k = 0;
    int band_end = n;
    for (int band = 0; band < n; band = band_end) {
        /* Bands in the order they are walked: from the bottom when dy > 0. */
        int start, end;
        if (dy > 0) {
            end = n - band;
            start = end - 1;
            while (start > 0 && rects[start - 1].y1 == rects[end - 1].y1) {
                start--;
            }
            band_end = band + (end - start);
        } else {
            start = band;
            end = band + 1;
            while (end < n && rects[end].y1 == rects[start].y1) {
                end++;
            }
            band_end = end;
        }
        for (int j = 0; j < end - start; j++) {
            order[k++] = dx > 0 ? end - 1 - j : start + j;
        }
    }
    for (int i = 0; i < n; i++) {
        const pixman_box32_t *b = &rects[order[i]];
        size_t bytes = (size_t)(b->x2 - b->x1) * bpp;
        int h = b->y2 - b->y1;
        for (int j = 0; j < h; j++) {
            int y = dy > 0 ? b->y2 - 1 - j : b->y1 + j;
            uint8_t *to = v->row0 + (ptrdiff_t)y * v->stride + (size_t)b->x1 * bpp;
            const uint8_t *from =
                v->row0 + (ptrdiff_t)(y - dy) * v->stride + (size_t)(b->x1 - dx) * bpp;
            memmove(to, from, bytes);
        }
    }
    g_free(order);
}

static bool draw_copy_bits(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    int64_t dx = (int64_t)d->bbox.x1 - d->u.copy_bits.src_pos.x;
    int64_t dy = (int64_t)d->bbox.y1 - d->u.copy_bits.src_pos.y;
    if (dx == 0 && dy == 0) {
        return true;
    }
    clip_to_image(ctx->canvas, r, dx, dy, ctx->canvas->width, ctx->canvas->height);
    if (!pixman_region32_not_empty(r)) {
        return true;
    }
    if (ctx->canvas->bpp >= 8) {
        copy_bits_ordered(ctx, r, (int)dx, (int)dy);
        return true;
    }
    /* Bits inside bytes cannot be moved row by row: go through a copy. */
    const pixman_box32_t *ext = pixman_region32_extents(r);
    pixman_box32_t from = { (int32_t)(ext->x1 - dx), (int32_t)(ext->y1 - dy),
                            (int32_t)(ext->x2 - dx), (int32_t)(ext->y2 - dy) };
    pixman_image_t *snap = canvas_snapshot(ctx->canvas, &from);
    if (!snap) {
        return fail(ctx, "out of memory for copy bits");
    }
    RopSource rs = { canvas_pixel_view(snap), (int)(from.x1 + dx), (int)(from.y1 + dy) };
    canvas_rop_region(&ctx->view, r, 0xcc, &rs, NULL);
    pixman_image_unref(snap);
    return true;
}

static bool draw_stroke(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    RopBrush brush;
    pixman_image_t *tile;
    if (!brush_acquire(ctx, &d->u.stroke.brush, &brush, &tile)) {
        return false;
    }
    uint8_t rop3 = canvas_ropd_to_rop3(d->u.stroke.fore_mode, true, SPICE_ROPD_INVERS_BRUSH,
                                       SPICE_ROPD_INVERS_DEST);
    canvas_stroke_path(&ctx->view, r, d->u.stroke.path, &d->u.stroke.attr, rop3, &brush);
    release(tile);
    return true;
}

/* Glyph rows are stored bottom-up whatever RASTER_TOP_DOWN says: the
 * reference never implemented the flag, and every client follows it. */
static void put_glyph(const DrGlyph *g, int depth, const pixman_box32_t *mbox, PixelView *mask)
{
    int64_t gx = (int64_t)g->render_pos.x + g->glyph_origin.x;
    int64_t gy = (int64_t)g->render_pos.y + g->glyph_origin.y;
    size_t stride = depth == 8 ? g->width : ((size_t)g->width * (size_t)depth + 7) / 8;
    for (int row = 0; row < g->height; row++) {
        int64_t y = gy + row;
        if (y < mbox->y1 || y >= mbox->y2) {
            continue;
        }
        const uint8_t *src = g->data + (size_t)(g->height - 1 - row) * stride;
        uint8_t *out = mask->row0 + (ptrdiff_t)(y - mbox->y1) * mask->stride;
        for (int col = 0; col < g->width; col++) {
            int64_t x = gx + col;
            if (x < mbox->x1 || x >= mbox->x2) {
                continue;
            }
            uint8_t a;
            if (depth == 1) {
                a = ((src[col >> 3] >> (7 - (col & 7))) & 1) ? 0xff : 0;
            } else if (depth == 4) {
                /* A full nibble is 0xf0, not 0xff: the reference shifts it. */
                a = (col & 1) ? (uint8_t)(src[col >> 1] << 4) : (uint8_t)(src[col >> 1] & 0xf0);
            } else {
                a = src[col];
            }
            uint8_t *p = out + (x - mbox->x1);
            *p = MAX(*p, a);
        }
    }
}

static bool draw_text(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    const DrString *str = d->u.text.str;
    const pixman_box32_t *back = &d->u.text.back_area;
    bool has_back = !box_empty(back);
    if (!pixman_region32_not_empty(r)) {
        return true;
    }
    RopBrush fore, backb;
    pixman_image_t *fore_tile = NULL, *back_tile = NULL;
    if (!brush_acquire(ctx, &d->u.text.fore_brush, &fore, &fore_tile)) {
        return false;
    }
    if (has_back && !brush_acquire(ctx, &d->u.text.back_brush, &backb, &back_tile)) {
        release(fore_tile);
        return false;
    }
    bool ok = true;
    /* The reference draws nothing at all for a background under a mode
     * other than PUT; with one, the background is a plain fill. */
    if (has_back && d->u.text.fore_mode != SPICE_ROPD_OP_PUT) {
        goto out;
    }
    if (has_back) {
        pixman_region32_t br;
        pixman_region32_init_with_extents(&br, back);
        pixman_region32_intersect(&br, &br, r);
        canvas_rop_region(&ctx->view, &br, 0xf0, NULL, &backb);
        pixman_region32_fini(&br);
    }
    int depth = 0;
    if (str) {
        depth = (str->flags & SPICE_STRING_FLAGS_RASTER_A1)   ? 1
                : (str->flags & SPICE_STRING_FLAGS_RASTER_A4) ? 4
                : (str->flags & SPICE_STRING_FLAGS_RASTER_A8) ? 8
                                                              : 0;
    }
    if (depth == 0 || str->n_glyphs == 0 || d->u.text.fore_brush.type == SPICE_BRUSH_TYPE_NONE) {
        goto out;
    }
    /* The glyphs' union, placed at render_pos + glyph_origin, but only the
     * part the region can show is rasterized. */
    int64_t ux1 = INT64_MAX, uy1 = INT64_MAX, ux2 = INT64_MIN, uy2 = INT64_MIN;
    for (uint32_t i = 0; i < str->n_glyphs; i++) {
        const DrGlyph *g = &str->glyphs[i];
        int64_t gx = (int64_t)g->render_pos.x + g->glyph_origin.x;
        int64_t gy = (int64_t)g->render_pos.y + g->glyph_origin.y;
        ux1 = MIN(ux1, gx);
        uy1 = MIN(uy1, gy);
        ux2 = MAX(ux2, gx + g->width);
        uy2 = MAX(uy2, gy + g->height);
    }
    const pixman_box32_t *ext = pixman_region32_extents(r);
    int64_t mx1 = MAX(ux1, ext->x1), my1 = MAX(uy1, ext->y1);
    int64_t mx2 = MIN(ux2, ext->x2), my2 = MIN(uy2, ext->y2);
    if (mx1 >= mx2 || my1 >= my2) {
        goto out;
    }
    /* Inside the region's extents now: 32-bit values. */
    pixman_box32_t mbox = { (int32_t)mx1, (int32_t)my1, (int32_t)mx2, (int32_t)my2 };
    int mw = mbox.x2 - mbox.x1, mh = mbox.y2 - mbox.y1;
    pixman_image_t *mask = pixman_image_create_bits(PIXMAN_a8, mw, mh, NULL, 0);
    pixman_image_t *brush = NULL, *dst = NULL;
    if (mask) {
        PixelView mv = canvas_pixel_view(mask);
        for (uint32_t i = 0; i < str->n_glyphs; i++) {
            put_glyph(&str->glyphs[i], depth, &mbox, &mv);
        }
        /* The reference anchors a pattern at the union's corner plus its
         * pattern origin. */
        brush = brush_pixman(ctx, &d->u.text.fore_brush, &fore, fore_tile,
                             ux1 + d->u.text.fore_brush.pat_x, uy1 + d->u.text.fore_brush.pat_y);
        dst = dest_view(ctx, ctx->canvas->pformat, r);
    }
    ok = mask && brush && dst;
    if (ok) {
        pixman_image_composite32(PIXMAN_OP_OVER, brush, mask, dst, mbox.x1, mbox.y1, 0, 0, mbox.x1,
                                 mbox.y1, mw, mh);
        pixman_region32_t cr;
        pixman_region32_init_with_extents(&cr, &mbox);
        pixman_region32_intersect(&cr, &cr, r);
        clear_x_bytes(ctx, &cr);
        pixman_region32_fini(&cr);
    }
    release(mask);
    release(brush);
    release(dst);
out:
    release(fore_tile);
    release(back_tile);
    return ok ? true : fail(ctx, "out of memory for text");
}

static bool composite_op_valid(uint32_t op)
{
    return op <= QXL_OP_SATURATE || (op >= QXL_OP_MULTIPLY && op <= QXL_OP_HSL_LUMINOSITY);
}

/* QXL filter values are pixman's; the convolution filters need parameters
 * QXL cannot carry, so anything past BILINEAR samples nearest. */
static pixman_filter_t composite_filter(uint32_t v)
{
    return v <= PIXMAN_FILTER_BILINEAR ? (pixman_filter_t)v : PIXMAN_FILTER_NEAREST;
}

static void set_transform(pixman_image_t *img, const DrTransform *t)
{
    if (!t->present) {
        return;
    }
    pixman_transform_t m;
    pixman_transform_init_identity(&m);
    m.matrix[0][0] = (pixman_fixed_t)t->t[0];
    m.matrix[0][1] = (pixman_fixed_t)t->t[1];
    m.matrix[0][2] = (pixman_fixed_t)t->t[2];
    m.matrix[1][0] = (pixman_fixed_t)t->t[3];
    m.matrix[1][1] = (pixman_fixed_t)t->t[4];
    m.matrix[1][2] = (pixman_fixed_t)t->t[5];
    pixman_image_set_transform(img, &m);
}

static bool in_fixed_range(int64_t v, int w)
{
    return v >= -CANVAS_MAX_DIM && v + w <= CANVAS_MAX_DIM;
}

/* Natural format, without alpha when the opaque flag says to ignore it. */
static pixman_format_code_t opaque_format(pixman_format_code_t f, bool opaque)
{
    return (opaque && f == PIXMAN_a8r8g8b8) ? PIXMAN_x8r8g8b8 : f;
}

static bool draw_composite(DrawCtx *ctx, pixman_region32_t *r)
{
    const Drawable *d = ctx->d;
    uint32_t flags = d->u.composite.flags;
    uint32_t op = flags & 0xff;
    if (!composite_op_valid(op)) {
        return fail(ctx, "unknown composite operator");
    }
    if (!pixman_region32_not_empty(r)) {
        return true;
    }
    Source s, m = { 0 };
    if (!source_acquire(ctx, d->u.composite.src, NULL, &s)) {
        return false;
    }
    if (d->u.composite.mask && !image_acquire(ctx, d->u.composite.mask, NULL, &m)) {
        source_clear(&s);
        return false;
    }
    if (!s.image) {
        source_clear(&m);
        return true;
    }
    /* The reference composites the whole bbox with its corner at the source
     * and mask origins; shift those to the visible part (and into a
     * snapshot's coordinates when the source is one). */
    const pixman_box32_t *ext = pixman_region32_extents(r);
    int w = ext->x2 - ext->x1, h = ext->y2 - ext->y1;
    int64_t sx = (int64_t)d->u.composite.src_origin.x + ext->x1 - d->bbox.x1 + s.x1;
    int64_t sy = (int64_t)d->u.composite.src_origin.y + ext->y1 - d->bbox.y1 + s.y1;
    int64_t mx = (int64_t)d->u.composite.mask_origin.x + ext->x1 - d->bbox.x1 + m.x1;
    int64_t my = (int64_t)d->u.composite.mask_origin.y + ext->y1 - d->bbox.y1 + m.y1;
    if (!in_fixed_range(sx, w) || !in_fixed_range(sy, h) || !in_fixed_range(mx, w) ||
        !in_fixed_range(my, h)) {
        source_clear(&s);
        source_clear(&m);
        return fail(ctx, "composite origin out of range");
    }
    pixman_image_t *src = canvas_image_view(
        s.image, opaque_format(pixman_image_get_format(s.image),
                               s.from_surface && (flags & SPICE_COMPOSITE_SOURCE_OPAQUE)));
    pixman_image_t *mask =
        m.image ? canvas_image_view(m.image, pixman_image_get_format(m.image)) : NULL;
    pixman_image_t *dst =
        dest_view(ctx, opaque_format(ctx->canvas->pformat, flags & SPICE_COMPOSITE_DEST_OPAQUE), r);
    bool ok = src && dst && (mask || !m.image);
    if (ok) {
        set_transform(src, &d->u.composite.src_transform);
        pixman_image_set_filter(src, composite_filter((flags >> 8) & 7), NULL, 0);
        pixman_image_set_repeat(src, (pixman_repeat_t)((flags >> 14) & 3));
        if (mask) {
            set_transform(mask, &d->u.composite.mask_transform);
            pixman_image_set_filter(mask, composite_filter((flags >> 11) & 7), NULL, 0);
            pixman_image_set_repeat(mask, (pixman_repeat_t)((flags >> 16) & 3));
            pixman_image_set_component_alpha(mask, (flags >> 18) & 1);
        }
        pixman_image_composite32((pixman_op_t)op, src, mask, dst, (int32_t)sx, (int32_t)sy,
                                 (int32_t)mx, (int32_t)my, ext->x1, ext->y1, w, h);
    }
    release(src);
    release(mask);
    release(dst);
    source_clear(&s);
    source_clear(&m);
    return ok ? true : fail(ctx, "out of memory for composite");
}

bool canvas_draw(Canvas *canvas, const Drawable *d, CanvasLookup lookup, void *opaque,
                 const char **why)
{
    DrawCtx ctx = { canvas, d, lookup, opaque, why, { 0 } };
    if (!canvas || !d) {
        return fail(&ctx, "no canvas or no drawable");
    }
    ctx.view = canvas_pixel_view(canvas->image);

    pixman_region32_t r;
    base_region(&ctx, &r);
    bool ok;
    switch (d->type) {
    case QXL_DRAW_NOP:
        ok = true;
        break;
    case QXL_DRAW_FILL:
        ok = draw_fill(&ctx, &r);
        break;
    case QXL_DRAW_OPAQUE:
        ok = draw_opaque(&ctx, &r);
        break;
    case QXL_DRAW_COPY:
        ok = draw_copy(&ctx, &r, d->u.copy.src, &d->u.copy.src_area, d->u.copy.rop,
                       d->u.copy.scale_mode, &d->u.copy.mask);
        break;
    case QXL_DRAW_BLEND:
        ok = draw_copy(&ctx, &r, d->u.blend.src, &d->u.blend.src_area, d->u.blend.rop,
                       d->u.blend.scale_mode, &d->u.blend.mask);
        break;
    case QXL_COPY_BITS:
        ok = draw_copy_bits(&ctx, &r);
        break;
    case QXL_DRAW_BLACKNESS:
        ok = draw_blackness(&ctx, &r, &d->u.blackness.mask, 0x00);
        break;
    case QXL_DRAW_WHITENESS:
        ok = draw_blackness(&ctx, &r, &d->u.whiteness.mask, 0xff);
        break;
    case QXL_DRAW_INVERS:
        ok = draw_blackness(&ctx, &r, &d->u.invers.mask, 0x55);
        break;
    case QXL_DRAW_ROP3:
        ok = draw_rop3(&ctx, &r);
        break;
    case QXL_DRAW_STROKE:
        ok = draw_stroke(&ctx, &r);
        break;
    case QXL_DRAW_TEXT:
        ok = draw_text(&ctx, &r);
        break;
    case QXL_DRAW_TRANSPARENT:
        ok = draw_transparent(&ctx, &r);
        break;
    case QXL_DRAW_ALPHA_BLEND:
        ok = draw_alpha_blend(&ctx, &r);
        break;
    case QXL_DRAW_COMPOSITE:
        ok = draw_composite(&ctx, &r);
        break;
    default:
        ok = fail(&ctx, "unknown drawable type");
        break;
    }
    pixman_region32_fini(&r);
    return ok;
}
