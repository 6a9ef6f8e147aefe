/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * canvas.h: software rendering of parsed QXL drawables into a surface,
 * with pixman.
 *
 * A Canvas wraps the memory of one surface (guest memory for QXL
 * surfaces, host memory for QEMU's simple display) in its SPICE surface
 * format. canvas_draw() renders one Drawable exactly as a SPICE client
 * would (ROP descriptors, rop3, masks, brushes and patterns, scaling,
 * clipping, text glyphs, strokes, transparency, alpha blending,
 * composite, copy bits), clipped to the canvas and to the drawable's clip
 * rectangles. It never reads or writes outside the canvas or the
 * drawable's validated data.
 */
#ifndef SPICE_DISPLAY_CANVAS_H_
#define SPICE_DISPLAY_CANVAS_H_

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>

#include "drawable.h"

typedef struct Canvas Canvas;

/*
 * Wrap width x height pixels of SPICE_SURFACE_FMT_* `format` whose row 0
 * starts at `row0` and whose rows are `stride` bytes apart (negative:
 * bottom-up memory; |stride| >= the row size). The memory must stay valid
 * until canvas_free(). Returns NULL for an unknown format or sizes pixman
 * cannot handle: row0 and stride must be multiples of 4 (pixman works on
 * 32-bit words) and width and height at most 32767 (16.16 coordinates).
 */
Canvas *canvas_new(uint32_t format, uint32_t width, uint32_t height, int32_t stride, uint8_t *row0);
void canvas_free(Canvas *canvas);

uint32_t canvas_format(const Canvas *canvas);
uint32_t canvas_width(const Canvas *canvas);
uint32_t canvas_height(const Canvas *canvas);
/* The pixman image over the canvas memory (owned by the canvas). */
pixman_image_t *canvas_image(Canvas *canvas);

/* How the renderer finds other surfaces (SURFACE images). NULL when the
 * surface does not exist. */
typedef Canvas *(*CanvasLookup)(void *opaque, uint32_t surface_id);

/*
 * Render d into canvas. Returns true when drawn; false (with a static
 * *why) when the drawable cannot be rendered: an unknown operation, a
 * SURFACE image naming a missing surface, a source image the operation
 * needs but lacks, a mask that is not 1-bit, coordinates too large for
 * pixman's 16.16 transforms. A refused drawable leaves the canvas
 * unchanged. Drawing nothing (empty clip, zero-size box) is a success.
 *
 * With d->self_bitmap, the source of the operation (src is NULL then) is
 * a copy of self_bitmap_area of the canvas taken before drawing, and the
 * operation's src_area is relative to that copy.
 *
 * Colors (brushes, palettes) are raw pixels of the canvas format, as in
 * the reference canvas: 0xAARRGGBB on 32-bit surfaces, the 16-bit value on
 * 16-bit ones. A QMask's (x, y) is the mask pixel that lies on the bbox
 * origin (GDI's pptlMask), so destination (bx, by) reads mask pixel
 * (bx - bbox.x1 + x, by - bbox.y1 + y).
 */
bool canvas_draw(Canvas *canvas, const Drawable *d, CanvasLookup lookup, void *opaque,
                 const char **why);

/* Fill a box with a solid raw color (clipped to the canvas). */
void canvas_fill_box(Canvas *canvas, const pixman_box32_t *box, uint32_t color);

/* Copy a box of the canvas, clipped to the canvas, into a new pixman image
 * of the same format (the self_bitmap snapshot); NULL when nothing of the
 * box is on the canvas (or out of memory). */
pixman_image_t *canvas_snapshot(Canvas *canvas, const pixman_box32_t *box);

#endif /* SPICE_DISPLAY_CANVAS_H_ */
