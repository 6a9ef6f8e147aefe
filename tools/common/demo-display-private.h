/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-display-private.h: what the QXL device (demo-display.c) and the
 * scenes (demo-scenes.c) share. The scenes decide what to draw; the
 * device turns each drawing call into one QXL command and applies the
 * same change to its reference framebuffer.
 */
#ifndef SPICE_TOOLS_DEMO_DISPLAY_PRIVATE_H_
#define SPICE_TOOLS_DEMO_DISPLAY_PRIVATE_H_

#include "demo-display.h"

typedef struct Rect {
    int x1, y1, x2, y2; /* half open */
} Rect;

/* Host pictures: top-down 0x00RRGGBB (premultiplied ARGB for the cursor). */
typedef struct Image {
    int w, h;
    uint32_t *px;
} Image;

typedef enum {
    IMG_COPY,       /* DRAW_COPY: src */
    IMG_OPAQUE_XOR, /* DRAW_OPAQUE, ROPD XOR: src ^ brush */
    IMG_ROP3_96,    /* DRAW_ROP3 0x96: dest ^ src ^ brush */
} ImageOp;

/* Bitmap layouts a drawn image can use; animated scenes cycle through
 * all eight so every frame exercises another parser path. */
enum {
    LAYOUT_CHUNKED = 1,   /* QXLDataChunk chain of whole rows, not QXL_BITMAP_DIRECT */
    LAYOUT_BOTTOM_UP = 2, /* no QXL_BITMAP_TOP_DOWN: the first row is the bottom one */
    LAYOUT_PADDED = 4,    /* stride past width * 4, pad bytes and X bytes set */
    LAYOUT_COUNT = 8,
};

/* Image uniques at or above this are fixed ids of cached images (sent
 * with QXL_IMAGE_CACHE); below it the device counts one-shot ids. */
#define DEMO_UNIQUE_CACHED 0x80000000u

static inline Rect rect(int x, int y, int w, int h)
{
    return (Rect){ x, y, x + w, y + h };
}

static inline bool rect_empty(Rect r)
{
    return r.x1 >= r.x2 || r.y1 >= r.y2;
}

static inline Rect rect_and(Rect a, Rect b)
{
    Rect r = { MAX(a.x1, b.x1), MAX(a.y1, b.y1), MIN(a.x2, b.x2), MIN(a.y2, b.y2) };
    return r;
}

static inline Rect inset(Rect r, int left, int top, int right, int bottom)
{
    return (Rect){ r.x1 + left, r.y1 + top, r.x2 - right, r.y2 - bottom };
}

static inline Image image_new(int w, int h)
{
    return (Image){ w, h, g_new0(uint32_t, (size_t)w * (size_t)h) };
}

static inline void image_clear(Image *img)
{
    g_clear_pointer(&img->px, g_free);
}

/* Drawing (demo-display.c), host thread. Everything is clipped to the
 * screen; what is left empty sends nothing. Commands are queued; the
 * device wakes the server once per frame. */
void demo_draw_fill(DemoDisplay *dd, Rect r, uint32_t color, bool use_xor);
/* One DRAW_FILL over bbox with a SPICE_CLIP_TYPE_RECTS clip of n >= 2
 * disjoint rects. */
void demo_draw_fill_clipped(DemoDisplay *dd, Rect bbox, const Rect *clips, unsigned n,
                            uint32_t color);
/* img at (x, y); cache_unique 0 for a one-shot image, else a fixed id at
 * or above DEMO_UNIQUE_CACHED for an image that never changes. */
void demo_draw_image(DemoDisplay *dd, int x, int y, const Image *img, ImageOp op, uint32_t brush,
                     unsigned layout, uint32_t cache_unique);
/* A one-shot DRAW_COPY of img at (x, y) with a SPICE_CLIP_TYPE_RECTS
 * clip of n >= 1 disjoint rects (what the guest shows of it). */
void demo_draw_image_clipped(DemoDisplay *dd, int x, int y, const Image *img, unsigned layout,
                             const Rect *clips, unsigned n);
/* COPY_BITS of dst from (sx, sy). */
void demo_draw_copy_bits(DemoDisplay *dd, Rect dst, int sx, int sy);

/* Scenes (demo-scenes.c), host thread. */
typedef struct DemoScenes DemoScenes;

DemoScenes *demo_scenes_new(DemoDisplay *dd, int width, int height, unsigned scenes);
/* Frame 0 is the whole desktop; later frames change what animates. */
void demo_scenes_draw(DemoScenes *sc, int frame);
void demo_scenes_free(DemoScenes *sc);
/* The 32x32 arrow, in an image of that size. */
void demo_scenes_cursor_shape(Image *img);

#endif /* SPICE_TOOLS_DEMO_DISPLAY_PRIVATE_H_ */
