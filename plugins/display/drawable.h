/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * drawable.h: QXL drawing commands after parsing.
 *
 * The parser (qxl-parse.c) reads a command from guest memory through the
 * memory slots, checks every address, size, count and enum, and produces
 * these structures. Everything here is safe to use as is:
 *
 *  - every pointer refers to memory that is readable for the stated size,
 *    either inside a validated guest memory slot (flat bitmaps) or in a
 *    copy owned by the Drawable (chunked data, paths, glyphs, clip rects);
 *  - enums are within range, counts match the data, boxes are ordered
 *    (x1 <= x2, y1 <= y2) but NOT clipped to any surface: the renderer
 *    clips to its destination;
 *  - surface ids are < the number of surfaces the host declared; whether
 *    such a surface exists is only known at render time.
 *
 * Guest memory may still change while it is read (the guest owns it);
 * that can only produce wrong pixels, never out-of-bounds access.
 *
 * Coordinates: boxes are pixman boxes, x2/y2 exclusive. Fixed-point values
 * (paths, line widths) are 28.4 as in QXL; transforms are 16.16.
 */
#ifndef SPICE_DISPLAY_DRAWABLE_H_
#define SPICE_DISPLAY_DRAWABLE_H_

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>
#include <spice/enums.h>
#include <spice/qxl_dev.h>

/* A bitmap as the guest described it (SPICE_BITMAP_FMT_*). */
typedef struct DrBitmap {
    uint8_t format;          /* SPICE_BITMAP_FMT_1BIT_LE ... SPICE_BITMAP_FMT_8BIT_A */
    bool top_down;           /* false: row 0 is the last row in memory */
    uint32_t width;          /* pixels, > 0 */
    uint32_t height;         /* rows, > 0 */
    uint32_t stride;         /* bytes per row, >= the minimum for width and format */
    const uint8_t *data;     /* stride * height readable bytes */
    const uint32_t *palette; /* for 1/4/8-bit formats: palette_size entries (0xAARRGGBB
                                as the guest wrote them); NULL otherwise */
    uint32_t palette_size;   /* >= the entries the format can index, or 0 */
} DrBitmap;

typedef enum {
    DR_IMAGE_BITMAP,  /* pixels in `bitmap` */
    DR_IMAGE_SURFACE, /* the current contents of surface `surface_id` */
} DrImageKind;

typedef struct DrImage {
    DrImageKind kind;
    uint64_t id;    /* the guest's image id (QXLImageDescriptor.id) */
    uint8_t flags;  /* QXL_IMAGE_CACHE / QXL_IMAGE_HIGH_BITS_SET */
    uint32_t width; /* as described; equals bitmap.width/height for bitmaps */
    uint32_t height;
    DrBitmap bitmap;     /* DR_IMAGE_BITMAP */
    uint32_t surface_id; /* DR_IMAGE_SURFACE */
} DrImage;

typedef struct DrBrush {
    uint32_t type;    /* SPICE_BRUSH_TYPE_NONE / SOLID / PATTERN */
    uint32_t color;   /* SOLID: 0xAARRGGBB (x8r8g8b8 for most surfaces) */
    DrImage *pattern; /* PATTERN: tiled image */
    int32_t pat_x;    /* PATTERN: pattern origin */
    int32_t pat_y;
} DrBrush;

typedef struct DrQMask {
    uint8_t flags; /* SPICE_MASK_FLAGS_INVERS */
    int32_t x;     /* mask position relative to the bbox origin */
    int32_t y;
    DrImage *bitmap; /* NULL: no mask; otherwise a 1-bit image */
} DrQMask;

typedef struct DrPoint {
    int32_t x;
    int32_t y;
} DrPoint;

typedef struct DrPathSegment {
    uint32_t flags;    /* SPICE_PATH_BEGIN / END / CLOSE / BEZIER */
    uint32_t n_points; /* BEZIER: a multiple of 3 */
    DrPoint *points;   /* 28.4 fixed point */
} DrPathSegment;

typedef struct DrPath {
    uint32_t n_segments;
    DrPathSegment *segments;
} DrPath;

typedef struct DrLineAttr {
    uint8_t flags;      /* SPICE_LINE_FLAGS_STYLED / START_WITH_GAP */
    uint8_t style_nseg; /* entries in style */
    int32_t width;      /* 28.4; 0 means a one-pixel cosmetic line */
    uint32_t *style;    /* dash lengths, 28.4 */
} DrLineAttr;

typedef struct DrGlyph {
    DrPoint render_pos; /* where the glyph origin goes, pixels */
    DrPoint glyph_origin;
    uint16_t width;
    uint16_t height;
    const uint8_t *data; /* rows of ceil(width * bpp / 8) bytes, height rows */
} DrGlyph;

typedef struct DrString {
    uint16_t flags; /* SPICE_STRING_FLAGS_RASTER_A1 / A4 / A8, RASTER_TOP_DOWN */
    uint32_t n_glyphs;
    DrGlyph *glyphs;
} DrString;

typedef struct DrTransform {
    bool present;
    uint32_t t[6]; /* t00 t01 t02 t10 t11 t12, 16.16 fixed point */
} DrTransform;

typedef struct Drawable {
    uint32_t surface_id; /* destination */
    uint8_t effect;      /* QXL_EFFECT_* */
    uint8_t type;        /* QXL_DRAW_FILL ... QXL_DRAW_COMPOSITE, QXL_COPY_BITS */
    pixman_box32_t bbox;
    bool clip;             /* false: no clip; true: clip to clip_rects */
    uint32_t n_clip_rects; /* may be 0 with clip: draws nothing */
    pixman_box32_t *clip_rects;
    bool self_bitmap; /* the source is a snapshot of the destination */
    pixman_box32_t self_bitmap_area;
    union {
        struct {
            DrBrush brush;
            uint16_t rop; /* SPICE_ROPD_* */
            DrQMask mask;
        } fill;
        struct {
            DrImage *src; /* NULL only with self_bitmap */
            pixman_box32_t src_area;
            DrBrush brush;
            uint16_t rop;
            uint8_t scale_mode; /* SPICE_IMAGE_SCALE_MODE_* */
            DrQMask mask;
        } opaque;
        struct {
            DrImage *src;
            pixman_box32_t src_area;
            uint16_t rop;
            uint8_t scale_mode;
            DrQMask mask;
        } copy, blend;
        struct {
            DrImage *src;
            pixman_box32_t src_area;
            uint32_t src_color; /* the transparent color key */
            uint32_t true_color;
        } transparent;
        struct {
            uint16_t alpha_flags; /* SPICE_ALPHA_FLAGS_* */
            uint8_t alpha;
            DrImage *src;
            pixman_box32_t src_area;
        } alpha_blend;
        struct {
            DrPoint src_pos; /* source top-left on the destination surface */
        } copy_bits;
        struct {
            DrImage *src;
            pixman_box32_t src_area;
            DrBrush brush;
            uint8_t rop3;
            uint8_t scale_mode;
            DrQMask mask;
        } rop3;
        struct {
            DrPath *path;
            DrLineAttr attr;
            DrBrush brush;
            uint16_t fore_mode; /* SPICE_ROPD_* */
            uint16_t back_mode;
        } stroke;
        struct {
            DrString *str;
            pixman_box32_t back_area;
            DrBrush fore_brush;
            DrBrush back_brush;
            uint16_t fore_mode;
            uint16_t back_mode;
        } text;
        struct {
            DrQMask mask;
        } blackness, whiteness, invers;
        struct {
            uint32_t flags; /* operator, filters, repeats, component alpha */
            DrImage *src;
            DrTransform src_transform;
            DrImage *mask; /* may be NULL */
            DrTransform mask_transform;
            DrPoint src_origin;
            DrPoint mask_origin;
        } composite;
    } u;
} Drawable;

#endif /* SPICE_DISPLAY_DRAWABLE_H_ */
