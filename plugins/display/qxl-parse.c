/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qxl-parse.c: QXL commands from guest memory.
 *
 * Pattern used throughout: translate an address for exactly the bytes a
 * struct needs, memcpy the struct into a local (so every field is read
 * once, whatever the guest does meanwhile), check the fields, then follow
 * the pointers it holds the same way. Errors return NULL/false with a
 * static reason; nothing the guest writes can make us read outside a
 * memory slot or allocate without bound.
 */
#include "qxl-parse.h"

#include <stddef.h>
#include <string.h>

#include <glib.h>

/* Largest image or buffer we copy out of a chunk chain. Flat bitmaps are
 * not copied and may be up to QXL_MAX_DATA_SIZE. */
#define QXL_MAX_COPY_SIZE (256u * 1024 * 1024)

/* ---- arena: everything a parsed drawable owns ---------------------------------- */

typedef struct Arena {
    GPtrArray *blocks;
} Arena;

static Arena *arena_new(void)
{
    Arena *a = g_new0(Arena, 1);
    a->blocks = g_ptr_array_new_with_free_func(g_free);
    return a;
}

static void arena_free(Arena *a)
{
    if (a) {
        g_ptr_array_unref(a->blocks);
        g_free(a);
    }
}

/* Zeroed memory owned by the arena; NULL when size is unreasonable. */
static void *arena_alloc(Arena *a, size_t size)
{
    void *p = g_try_malloc0(size ? size : 1);
    if (p) {
        g_ptr_array_add(a->blocks, p);
    }
    return p;
}

/* ---- helpers -------------------------------------------------------------------- */

typedef struct Parse {
    const ParseContext *ctx;
    Arena *arena;
    const char *why;
} Parse;

static bool fail(Parse *p, const char *why)
{
    if (!p->why) {
        p->why = why;
    }
    return false;
}

/* Copy sizeof(T) bytes of a guest struct at addr into *out. */
static bool read_struct(Parse *p, QXLPHYSICAL addr, void *out, size_t size)
{
    const char *why;
    const void *src = memslot_get(p->ctx->slots, p->ctx->group, addr, size, &why);
    if (!src) {
        return fail(p, why);
    }
    memcpy(out, src, size);
    return true;
}

static const void *guest_ptr(Parse *p, QXLPHYSICAL addr, size_t size)
{
    const char *why;
    const void *src = memslot_get(p->ctx->slots, p->ctx->group, addr, size, &why);
    if (!src) {
        fail(p, why);
    }
    return src;
}

/* Concatenate the data of the chunk chain starting at chunk_addr into
 * dest, which has room for exactly `total` bytes. The chain must hold
 * exactly that much data (trailing empty chunks are fine). */
static bool read_chain(Parse *p, QXLPHYSICAL chunk_addr, uint8_t *dest, size_t total)
{
    size_t got = 0;
    unsigned chunks = 0;
    while (chunk_addr != 0) {
        if (++chunks > QXL_MAX_CHUNKS) {
            return fail(p, "data chunk chain too long (a loop?)");
        }
        QXLDataChunk c;
        if (!read_struct(p, chunk_addr, &c, sizeof(c))) {
            return false;
        }
        if (c.data_size > total - got) {
            return fail(p, "data chunks hold more than their data size");
        }
        if (c.data_size > 0) {
            const uint8_t *data = guest_ptr(p, chunk_addr + sizeof(QXLDataChunk), c.data_size);
            if (!data) {
                return false;
            }
            memcpy(dest + got, data, c.data_size);
            got += c.data_size;
        }
        chunk_addr = c.next_chunk;
    }
    if (got != total) {
        return fail(p, "data chunks hold less than their data size");
    }
    return true;
}

/* A QXLRect as an ordered pixman box. */
static bool read_rect(Parse *p, const QXLRect *r, pixman_box32_t *box)
{
    if (r->left > r->right || r->top > r->bottom) {
        return fail(p, "rectangle with negative size");
    }
    box->x1 = r->left;
    box->y1 = r->top;
    box->x2 = r->right;
    box->y2 = r->bottom;
    return true;
}

static bool surface_id_ok(Parse *p, uint32_t id)
{
    if (id >= p->ctx->n_surfaces) {
        return fail(p, "surface id out of range");
    }
    return true;
}

/* x555 to x8r8g8b8 for hosts in 16-bit compatibility mode. */
static uint32_t color_16_to_32(uint32_t c)
{
    uint32_t r = (c >> 10) & 0x1f, g = (c >> 5) & 0x1f, b = c & 0x1f;
    return ((r << 3 | r >> 2) << 16) | ((g << 3 | g >> 2) << 8) | (b << 3 | b >> 2);
}

/* ---- images ---------------------------------------------------------------------- */

/* Minimum row size for width pixels; 0 for an unknown format. */
static uint64_t bitmap_min_stride(uint8_t format, uint64_t width)
{
    switch (format) {
    case SPICE_BITMAP_FMT_1BIT_LE:
    case SPICE_BITMAP_FMT_1BIT_BE:
        return (width + 7) / 8;
    case SPICE_BITMAP_FMT_4BIT_LE:
    case SPICE_BITMAP_FMT_4BIT_BE:
        return (width + 1) / 2;
    case SPICE_BITMAP_FMT_8BIT:
    case SPICE_BITMAP_FMT_8BIT_A:
        return width;
    case SPICE_BITMAP_FMT_16BIT:
        return width * 2;
    case SPICE_BITMAP_FMT_24BIT:
        return width * 3;
    case SPICE_BITMAP_FMT_32BIT:
    case SPICE_BITMAP_FMT_RGBA:
        return width * 4;
    default:
        return 0;
    }
}

static unsigned palette_entries_needed(uint8_t format)
{
    switch (format) {
    case SPICE_BITMAP_FMT_1BIT_LE:
    case SPICE_BITMAP_FMT_1BIT_BE:
        return 2;
    case SPICE_BITMAP_FMT_4BIT_LE:
    case SPICE_BITMAP_FMT_4BIT_BE:
        return 16;
    case SPICE_BITMAP_FMT_8BIT:
        return 256;
    default:
        return 0;
    }
}

static bool read_palette(Parse *p, QXLPHYSICAL addr, DrBitmap *b)
{
    QXLPalette pal;
    if (!read_struct(p, addr, &pal, sizeof(pal))) {
        return false;
    }
    uint16_t n = pal.num_ents;
    if (n > 256) {
        n = 256; /* more entries than any format can index: ignore the rest */
    }
    const uint32_t *ents = guest_ptr(p, addr + sizeof(QXLPalette), (size_t)n * 4);
    if (!ents) {
        return false;
    }
    uint32_t *copy = arena_alloc(p->arena, (size_t)n * 4);
    if (!copy) {
        return fail(p, "out of memory");
    }
    memcpy(copy, ents, (size_t)n * 4);
    b->palette = copy;
    b->palette_size = n;
    return true;
}

/* mask_only: the image is a QMask and must be 1 bit per pixel. */
static DrImage *read_image(Parse *p, QXLPHYSICAL addr, bool mask_only)
{
    QXLImageDescriptor desc;
    if (!read_struct(p, addr, &desc, sizeof(desc))) {
        return NULL;
    }
    DrImage *img = arena_alloc(p->arena, sizeof(DrImage));
    if (!img) {
        fail(p, "out of memory");
        return NULL;
    }
    img->id = desc.id;
    img->flags = desc.flags;
    img->width = desc.width;
    img->height = desc.height;
    QXLPHYSICAL body = addr + sizeof(QXLImageDescriptor);

    switch (desc.type) {
    case SPICE_IMAGE_TYPE_SURFACE: {
        QXLSurfaceId sid;
        if (mask_only) {
            fail(p, "a surface cannot be a mask");
            return NULL;
        }
        if (!read_struct(p, body, &sid, sizeof(sid)) || !surface_id_ok(p, sid.surface_id)) {
            return NULL;
        }
        img->kind = DR_IMAGE_SURFACE;
        img->surface_id = sid.surface_id;
        return img;
    }
    case SPICE_IMAGE_TYPE_BITMAP:
        break;
    case SPICE_IMAGE_TYPE_QUIC:
        fail(p, "QUIC-compressed images from the guest are not supported");
        return NULL;
    default:
        fail(p, "unsupported image type from the guest");
        return NULL;
    }

    QXLBitmap bm;
    if (!read_struct(p, body, &bm, sizeof(bm))) {
        return NULL;
    }
    DrBitmap *b = &img->bitmap;
    img->kind = DR_IMAGE_BITMAP;
    b->format = bm.format;
    b->top_down = (bm.flags & QXL_BITMAP_TOP_DOWN) != 0;
    b->width = bm.x;
    b->height = bm.y;
    b->stride = bm.stride;
    if (bitmap_min_stride(bm.format, 1) == 0) {
        fail(p, "unknown bitmap format");
        return NULL;
    }
    uint64_t min_stride = bitmap_min_stride(bm.format, bm.x);
    if (mask_only && bm.format != SPICE_BITMAP_FMT_1BIT_LE &&
        bm.format != SPICE_BITMAP_FMT_1BIT_BE) {
        fail(p, "mask bitmap is not 1 bit per pixel");
        return NULL;
    }
    if (bm.x == 0 || bm.y == 0) {
        fail(p, "empty bitmap");
        return NULL;
    }
    if (bm.stride < min_stride) {
        fail(p, "bitmap stride smaller than its width needs");
        return NULL;
    }
    if (desc.width != bm.x || desc.height != bm.y) {
        fail(p, "image size differs from its bitmap size");
        return NULL;
    }
    uint64_t size = (uint64_t)bm.stride * bm.y;
    if (size > QXL_MAX_DATA_SIZE) {
        fail(p, "bitmap larger than 2 GiB");
        return NULL;
    }
    unsigned need = palette_entries_needed(bm.format);
    if (need && !mask_only) {
        if (bm.palette == 0) {
            fail(p, "palette bitmap without a palette");
            return NULL;
        }
        if (!read_palette(p, bm.palette, b)) {
            return NULL;
        }
    }
    if (bm.flags & QXL_BITMAP_DIRECT) {
        /* Flat in guest memory: used in place until the command is
         * released. */
        b->data = guest_ptr(p, bm.data, (size_t)size);
        if (!b->data) {
            return NULL;
        }
        return img;
    }
    if (size > QXL_MAX_COPY_SIZE) {
        fail(p, "chunked bitmap larger than 256 MiB");
        return NULL;
    }
    uint8_t *copy = arena_alloc(p->arena, (size_t)size);
    if (!copy) {
        fail(p, "out of memory for a bitmap");
        return NULL;
    }
    if (!read_chain(p, bm.data, copy, (size_t)size)) {
        return NULL;
    }
    b->data = copy;
    return img;
}

/* An optional image: addr 0 gives NULL without an error. */
static bool read_opt_image(Parse *p, QXLPHYSICAL addr, DrImage **out, bool mask_only)
{
    *out = NULL;
    if (addr == 0) {
        return true;
    }
    *out = read_image(p, addr, mask_only);
    return *out != NULL;
}

static bool read_brush(Parse *p, const QXLBrush *q, DrBrush *b)
{
    b->type = q->type;
    switch (q->type) {
    case SPICE_BRUSH_TYPE_NONE:
        return true;
    case SPICE_BRUSH_TYPE_SOLID:
        b->color = p->ctx->compat_16bpp ? color_16_to_32(q->u.color) : q->u.color;
        return true;
    case SPICE_BRUSH_TYPE_PATTERN:
        b->pat_x = q->u.pattern.pos.x;
        b->pat_y = q->u.pattern.pos.y;
        b->pattern = read_image(p, q->u.pattern.pat, false);
        return b->pattern != NULL;
    default:
        return fail(p, "unknown brush type");
    }
}

static bool read_qmask(Parse *p, const QXLQMask *q, DrQMask *m)
{
    m->flags = q->flags & SPICE_MASK_FLAGS_MASK;
    m->x = q->pos.x;
    m->y = q->pos.y;
    return read_opt_image(p, q->bitmap, &m->bitmap, true);
}

static bool check_rop(Parse *p, uint16_t rop)
{
    if (rop & ~SPICE_ROPD_MASK) {
        return fail(p, "unknown raster operation bits");
    }
    return true;
}

static bool check_scale(Parse *p, uint8_t mode)
{
    if (mode >= SPICE_IMAGE_SCALE_MODE_ENUM_END) {
        return fail(p, "unknown scale mode");
    }
    return true;
}

/* ---- clip, path, string ------------------------------------------------------------ */

static bool read_clip(Parse *p, const QXLClip *clip, Drawable *d)
{
    if (clip->type == SPICE_CLIP_TYPE_NONE) {
        d->clip = false;
        return true;
    }
    if (clip->type != SPICE_CLIP_TYPE_RECTS) {
        return fail(p, "unknown clip type");
    }
    QXLClipRects cr;
    if (!read_struct(p, clip->data, &cr, sizeof(cr))) {
        return false;
    }
    uint32_t n = cr.num_rects;
    if (n > QXL_MAX_CLIP_RECTS) {
        return fail(p, "too many clip rectangles");
    }
    QXLRect *rects = arena_alloc(p->arena, (size_t)n * sizeof(QXLRect));
    pixman_box32_t *boxes = arena_alloc(p->arena, (size_t)n * sizeof(pixman_box32_t));
    if (!rects || !boxes) {
        return fail(p, "out of memory");
    }
    if (!read_chain(p, clip->data + offsetof(QXLClipRects, chunk), (uint8_t *)rects,
                    (size_t)n * sizeof(QXLRect))) {
        return false;
    }
    /* An inverted rectangle covers nothing: drop it rather than fail. */
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (rects[i].left < rects[i].right && rects[i].top < rects[i].bottom) {
            boxes[kept].x1 = rects[i].left;
            boxes[kept].y1 = rects[i].top;
            boxes[kept].x2 = rects[i].right;
            boxes[kept].y2 = rects[i].bottom;
            kept++;
        }
    }
    d->clip = true;
    d->n_clip_rects = kept;
    d->clip_rects = boxes;
    return true;
}

/* Read a QXLPath / QXLString style blob: {u32 data_size, ..., first chunk}
 * where the data follows in a chunk chain starting inside the struct. */
static uint8_t *read_blob(Parse *p, QXLPHYSICAL first_chunk, uint32_t size, uint32_t limit)
{
    if (size > limit) {
        fail(p, "variable-size data too large");
        return NULL;
    }
    uint8_t *data = arena_alloc(p->arena, size);
    if (!data) {
        fail(p, "out of memory");
        return NULL;
    }
    if (!read_chain(p, first_chunk, data, size)) {
        return NULL;
    }
    return data;
}

static DrPath *read_path(Parse *p, QXLPHYSICAL addr)
{
    QXLPath path;
    if (!read_struct(p, addr, &path, sizeof(path))) {
        return NULL;
    }
    uint8_t *data =
        read_blob(p, addr + offsetof(QXLPath, chunk), path.data_size, QXL_MAX_PATH_SIZE);
    if (!data) {
        return NULL;
    }
    /* Count segments first, checking every segment fits. */
    size_t pos = 0, n = 0;
    while (pos < path.data_size) {
        if (path.data_size - pos < sizeof(QXLPathSeg)) {
            fail(p, "truncated path segment");
            return NULL;
        }
        QXLPathSeg seg;
        memcpy(&seg, data + pos, sizeof(seg));
        pos += sizeof(seg);
        if (seg.count > (path.data_size - pos) / sizeof(QXLPointFix)) {
            fail(p, "path segment points run past the path data");
            return NULL;
        }
        if ((seg.flags & SPICE_PATH_BEZIER) && seg.count % 3 != 0) {
            fail(p, "bezier path segment without whole curves");
            return NULL;
        }
        pos += (size_t)seg.count * sizeof(QXLPointFix);
        n++;
    }
    DrPath *out = arena_alloc(p->arena, sizeof(DrPath));
    DrPathSegment *segs = arena_alloc(p->arena, n * sizeof(DrPathSegment));
    if (!out || !segs) {
        fail(p, "out of memory");
        return NULL;
    }
    out->n_segments = (uint32_t)n;
    out->segments = segs;
    pos = 0;
    for (size_t i = 0; i < n; i++) {
        QXLPathSeg seg;
        memcpy(&seg, data + pos, sizeof(seg));
        pos += sizeof(seg);
        segs[i].flags = seg.flags & SPICE_PATH_FLAGS_MASK;
        segs[i].n_points = seg.count;
        segs[i].points = arena_alloc(p->arena, (size_t)seg.count * sizeof(DrPoint));
        if (!segs[i].points) {
            fail(p, "out of memory");
            return NULL;
        }
        for (uint32_t j = 0; j < seg.count; j++) {
            QXLPointFix pt;
            memcpy(&pt, data + pos, sizeof(pt));
            pos += sizeof(pt);
            segs[i].points[j].x = pt.x;
            segs[i].points[j].y = pt.y;
        }
    }
    return out;
}

static DrString *read_string(Parse *p, QXLPHYSICAL addr)
{
    QXLString str;
    if (!read_struct(p, addr, &str, sizeof(str))) {
        return NULL;
    }
    unsigned bpp;
    switch (str.flags & (SPICE_STRING_FLAGS_RASTER_A1 | SPICE_STRING_FLAGS_RASTER_A4 |
                         SPICE_STRING_FLAGS_RASTER_A8)) {
    case SPICE_STRING_FLAGS_RASTER_A1:
        bpp = 1;
        break;
    case SPICE_STRING_FLAGS_RASTER_A4:
        bpp = 4;
        break;
    case SPICE_STRING_FLAGS_RASTER_A8:
        bpp = 8;
        break;
    default:
        fail(p, "string without exactly one glyph raster format");
        return NULL;
    }
    uint8_t *data =
        read_blob(p, addr + offsetof(QXLString, chunk), str.data_size, QXL_MAX_PATH_SIZE);
    if (!data) {
        return NULL;
    }
    DrString *out = arena_alloc(p->arena, sizeof(DrString));
    DrGlyph *glyphs = arena_alloc(p->arena, (size_t)str.length * sizeof(DrGlyph));
    if (!out || !glyphs) {
        fail(p, "out of memory");
        return NULL;
    }
    size_t pos = 0;
    for (uint32_t i = 0; i < str.length; i++) {
        QXLRasterGlyph g;
        if (str.data_size - pos < sizeof(g)) {
            fail(p, "truncated glyph");
            return NULL;
        }
        memcpy(&g, data + pos, sizeof(g));
        pos += sizeof(g);
        size_t row = ((size_t)g.width * bpp + 7) / 8;
        size_t bytes = row * g.height;
        if (bytes > str.data_size - pos) {
            fail(p, "glyph bits run past the string data");
            return NULL;
        }
        glyphs[i].render_pos.x = g.render_pos.x;
        glyphs[i].render_pos.y = g.render_pos.y;
        glyphs[i].glyph_origin.x = g.glyph_origin.x;
        glyphs[i].glyph_origin.y = g.glyph_origin.y;
        glyphs[i].width = g.width;
        glyphs[i].height = g.height;
        glyphs[i].data = data + pos;
        pos += bytes;
    }
    out->flags = str.flags;
    out->n_glyphs = str.length;
    out->glyphs = glyphs;
    return out;
}

static bool read_transform(Parse *p, QXLPHYSICAL addr, DrTransform *t)
{
    t->present = false;
    if (addr == 0) {
        return true;
    }
    QXLTransform q;
    if (!read_struct(p, addr, &q, sizeof(q))) {
        return false;
    }
    t->present = true;
    t->t[0] = q.t00;
    t->t[1] = q.t01;
    t->t[2] = q.t02;
    t->t[3] = q.t10;
    t->t[4] = q.t11;
    t->t[5] = q.t12;
    return true;
}

/* ---- drawables ---------------------------------------------------------------------- */

/* The source image of an operation; NULL is allowed only with a
 * self-bitmap (the destination snapshot stands in for it). */
static bool read_src(Parse *p, const Drawable *d, QXLPHYSICAL addr, DrImage **out)
{
    if (addr == 0 && d->self_bitmap) {
        *out = NULL;
        return true;
    }
    *out = read_image(p, addr, false);
    return *out != NULL;
}

/* The type-specific part. q points at the union of QXLDrawable (or of
 * QXLCompatDrawable: identical except alpha blend). */
static bool read_drawable_body(Parse *p, Drawable *d, const void *u, bool compat)
{
    switch (d->type) {
    case QXL_DRAW_NOP:
        return true;
    case QXL_DRAW_FILL: {
        const QXLFill *q = u;
        d->u.fill.rop = q->rop_descriptor;
        return check_rop(p, q->rop_descriptor) && read_brush(p, &q->brush, &d->u.fill.brush) &&
               read_qmask(p, &q->mask, &d->u.fill.mask);
    }
    case QXL_DRAW_OPAQUE: {
        const QXLOpaque *q = u;
        d->u.opaque.rop = q->rop_descriptor;
        d->u.opaque.scale_mode = q->scale_mode;
        return check_rop(p, q->rop_descriptor) && check_scale(p, q->scale_mode) &&
               read_src(p, d, q->src_bitmap, &d->u.opaque.src) &&
               read_rect(p, &q->src_area, &d->u.opaque.src_area) &&
               read_brush(p, &q->brush, &d->u.opaque.brush) &&
               read_qmask(p, &q->mask, &d->u.opaque.mask);
    }
    case QXL_DRAW_COPY:
    case QXL_DRAW_BLEND: {
        const QXLCopy *q = u;
        d->u.copy.rop = q->rop_descriptor;
        d->u.copy.scale_mode = q->scale_mode;
        return check_rop(p, q->rop_descriptor) && check_scale(p, q->scale_mode) &&
               read_src(p, d, q->src_bitmap, &d->u.copy.src) &&
               read_rect(p, &q->src_area, &d->u.copy.src_area) &&
               read_qmask(p, &q->mask, &d->u.copy.mask);
    }
    case QXL_DRAW_TRANSPARENT: {
        const QXLTransparent *q = u;
        bool c16 = p->ctx->compat_16bpp;
        d->u.transparent.src_color = c16 ? color_16_to_32(q->src_color) : q->src_color;
        d->u.transparent.true_color = c16 ? color_16_to_32(q->true_color) : q->true_color;
        return read_src(p, d, q->src_bitmap, &d->u.transparent.src) &&
               read_rect(p, &q->src_area, &d->u.transparent.src_area);
    }
    case QXL_DRAW_ALPHA_BLEND:
        if (compat) {
            const QXLCompatAlphaBlend *q = u;
            d->u.alpha_blend.alpha_flags = 0;
            d->u.alpha_blend.alpha = q->alpha;
            return read_src(p, d, q->src_bitmap, &d->u.alpha_blend.src) &&
                   read_rect(p, &q->src_area, &d->u.alpha_blend.src_area);
        } else {
            const QXLAlphaBlend *q = u;
            d->u.alpha_blend.alpha_flags = q->alpha_flags & SPICE_ALPHA_FLAGS_MASK;
            d->u.alpha_blend.alpha = q->alpha;
            return read_src(p, d, q->src_bitmap, &d->u.alpha_blend.src) &&
                   read_rect(p, &q->src_area, &d->u.alpha_blend.src_area);
        }
    case QXL_COPY_BITS: {
        const QXLCopyBits *q = u;
        d->u.copy_bits.src_pos.x = q->src_pos.x;
        d->u.copy_bits.src_pos.y = q->src_pos.y;
        return true;
    }
    case QXL_DRAW_ROP3: {
        const QXLRop3 *q = u;
        d->u.rop3.rop3 = q->rop3;
        d->u.rop3.scale_mode = q->scale_mode;
        return check_scale(p, q->scale_mode) && read_src(p, d, q->src_bitmap, &d->u.rop3.src) &&
               read_rect(p, &q->src_area, &d->u.rop3.src_area) &&
               read_brush(p, &q->brush, &d->u.rop3.brush) &&
               read_qmask(p, &q->mask, &d->u.rop3.mask);
    }
    case QXL_DRAW_STROKE: {
        const QXLStroke *q = u;
        DrLineAttr *a = &d->u.stroke.attr;
        a->flags = q->attr.flags & SPICE_LINE_FLAGS_MASK;
        a->width = q->attr.width;
        d->u.stroke.fore_mode = q->fore_mode;
        d->u.stroke.back_mode = q->back_mode;
        if (!check_rop(p, q->fore_mode) || !check_rop(p, q->back_mode)) {
            return false;
        }
        if (a->flags & SPICE_LINE_FLAGS_STYLED) {
            a->style_nseg = q->attr.style_nseg;
            a->style = arena_alloc(p->arena, (size_t)a->style_nseg * 4);
            const void *style =
                a->style_nseg ? guest_ptr(p, q->attr.style, (size_t)a->style_nseg * 4) : NULL;
            if (!a->style || (a->style_nseg && !style)) {
                return fail(p, p->why ? p->why : "out of memory");
            }
            if (a->style_nseg) {
                memcpy(a->style, style, (size_t)a->style_nseg * 4);
            }
        }
        d->u.stroke.path = read_path(p, q->path);
        return d->u.stroke.path && read_brush(p, &q->brush, &d->u.stroke.brush);
    }
    case QXL_DRAW_TEXT: {
        const QXLText *q = u;
        d->u.text.fore_mode = q->fore_mode;
        d->u.text.back_mode = q->back_mode;
        d->u.text.str = read_string(p, q->str);
        return d->u.text.str && check_rop(p, q->fore_mode) && check_rop(p, q->back_mode) &&
               read_rect(p, &q->back_area, &d->u.text.back_area) &&
               read_brush(p, &q->fore_brush, &d->u.text.fore_brush) &&
               read_brush(p, &q->back_brush, &d->u.text.back_brush);
    }
    case QXL_DRAW_BLACKNESS:
    case QXL_DRAW_WHITENESS:
    case QXL_DRAW_INVERS: {
        const QXLBlackness *q = u;
        return read_qmask(p, &q->mask, &d->u.blackness.mask);
    }
    case QXL_DRAW_COMPOSITE: {
        if (compat) {
            return fail(p, "composite in an old-layout drawable");
        }
        const QXLComposite *q = u;
        d->u.composite.flags = q->flags;
        d->u.composite.src_origin.x = q->src_origin.x;
        d->u.composite.src_origin.y = q->src_origin.y;
        d->u.composite.mask_origin.x = q->mask_origin.x;
        d->u.composite.mask_origin.y = q->mask_origin.y;
        d->u.composite.src = read_image(p, q->src, false);
        return d->u.composite.src &&
               read_transform(p, q->src_transform, &d->u.composite.src_transform) &&
               read_opt_image(p, q->mask, &d->u.composite.mask, false) &&
               read_transform(p, q->mask_transform, &d->u.composite.mask_transform);
    }
    default:
        return fail(p, "unknown drawing type");
    }
}

ParsedDrawable *qxl_parse_drawable(const ParseContext *ctx, QXLPHYSICAL addr,
                                   QXLReleaseInfo **release, const char **why)
{
    Parse p = { .ctx = ctx };
    *release = NULL;
    *release = (QXLReleaseInfo *)guest_ptr(&p, addr, sizeof(QXLReleaseInfo));
    if (!*release) {
        *why = p.why;
        return NULL;
    }
    ParsedDrawable *out = g_new0(ParsedDrawable, 1);
    out->arena = arena_new();
    p.arena = out->arena;
    Drawable *d = &out->d;
    bool ok;

    if (ctx->compat) {
        QXLCompatDrawable q;
        ok = read_struct(&p, addr, &q, sizeof(q));
        if (ok) {
            d->surface_id = 0;
            d->effect = q.effect;
            d->type = q.type;
            d->self_bitmap = q.bitmap_offset != 0;
            ok = read_rect(&p, &q.bbox, &d->bbox) && read_clip(&p, &q.clip, d) &&
                 (!d->self_bitmap || read_rect(&p, &q.bitmap_area, &d->self_bitmap_area)) &&
                 read_drawable_body(&p, d, &q.u, true);
        }
    } else {
        QXLDrawable q;
        ok = read_struct(&p, addr, &q, sizeof(q));
        if (ok) {
            d->surface_id = q.surface_id;
            d->effect = q.effect;
            d->type = q.type;
            d->self_bitmap = q.self_bitmap != 0;
            ok = surface_id_ok(&p, q.surface_id);
            for (int i = 0; ok && i < 3; i++) {
                ok = q.surfaces_dest[i] == -1 || surface_id_ok(&p, (uint32_t)q.surfaces_dest[i]);
            }
            ok = ok && read_rect(&p, &q.bbox, &d->bbox) && read_clip(&p, &q.clip, d) &&
                 (!d->self_bitmap || read_rect(&p, &q.self_bitmap_area, &d->self_bitmap_area)) &&
                 read_drawable_body(&p, d, &q.u, false);
        }
    }
    if (!ok) {
        *why = p.why ? p.why : "invalid drawable";
        parsed_drawable_free(out);
        return NULL;
    }
    return out;
}

void parsed_drawable_free(ParsedDrawable *p)
{
    if (p) {
        arena_free(p->arena);
        g_free(p);
    }
}

/* ---- surfaces ------------------------------------------------------------------------ */

unsigned qxl_surface_format_bpp(uint32_t format)
{
    switch (format) {
    case SPICE_SURFACE_FMT_1_A:
        return 1;
    case SPICE_SURFACE_FMT_8_A:
        return 8;
    case SPICE_SURFACE_FMT_16_555:
    case SPICE_SURFACE_FMT_16_565:
        return 16;
    case SPICE_SURFACE_FMT_32_xRGB:
    case SPICE_SURFACE_FMT_32_ARGB:
        return 32;
    default:
        return 0;
    }
}

bool qxl_check_surface(const ParseContext *ctx, uint32_t format, uint32_t width, uint32_t height,
                       int32_t stride, QXLPHYSICAL mem, uint8_t **row0, const char **why)
{
    unsigned bpp = qxl_surface_format_bpp(format);
    if (bpp == 0) {
        *why = "unknown surface format";
        return false;
    }
    if (width == 0 || height == 0 || width > 16384 || height > 16384) {
        *why = "surface size out of range (1..16384)";
        return false;
    }
    if (stride == 0 || stride == INT32_MIN) {
        *why = "invalid surface stride";
        return false;
    }
    uint64_t abs_stride = stride < 0 ? (uint64_t)(-(int64_t)stride) : (uint64_t)stride;
    if (abs_stride < ((uint64_t)width * bpp + 7) / 8) {
        *why = "surface stride smaller than its width needs";
        return false;
    }
    uint64_t size = abs_stride * height;
    if (size > QXL_MAX_DATA_SIZE) {
        *why = "surface larger than 2 GiB";
        return false;
    }
    uint8_t *base = memslot_get(ctx->slots, ctx->group, mem, (size_t)size, why);
    if (!base) {
        return false;
    }
    /* Bottom-up surfaces start their top row at the end of the block. */
    *row0 = stride > 0 ? base : base + abs_stride * (height - 1);
    return true;
}

bool qxl_parse_surface_cmd(const ParseContext *ctx, QXLPHYSICAL addr, ParsedSurfaceCmd *out,
                           const char **why)
{
    memset(out, 0, sizeof(*out));
    out->release = memslot_get(ctx->slots, ctx->group, addr, sizeof(QXLReleaseInfo), why);
    if (!out->release) {
        return false;
    }
    QXLSurfaceCmd q;
    const void *src = memslot_get(ctx->slots, ctx->group, addr, sizeof(q), why);
    if (!src) {
        return false;
    }
    memcpy(&q, src, sizeof(q));
    if (q.surface_id >= ctx->n_surfaces) {
        *why = "surface id out of range";
        return false;
    }
    out->surface_id = q.surface_id;
    out->type = q.type;
    out->flags = q.flags;
    switch (q.type) {
    case QXL_SURFACE_CMD_DESTROY:
        return true;
    case QXL_SURFACE_CMD_CREATE:
        out->format = q.u.surface_create.format;
        out->width = q.u.surface_create.width;
        out->height = q.u.surface_create.height;
        out->stride = q.u.surface_create.stride;
        return qxl_check_surface(ctx, out->format, out->width, out->height, out->stride,
                                 q.u.surface_create.data, &out->row0, why);
    default:
        *why = "unknown surface command";
        return false;
    }
}

/* ---- cursor -------------------------------------------------------------------------- */

void parsed_cursor_clear(ParsedCursorCmd *c)
{
    g_free(c->shape);
    c->shape = NULL;
}

/* Bytes a cursor shape of a known type must have; 0 when any size up to
 * the general limit is acceptable. */
static uint64_t cursor_expected_size(uint16_t type, uint64_t w, uint64_t h)
{
    switch (type) {
    case SPICE_CURSOR_TYPE_ALPHA:
        return w * h * 4;
    case SPICE_CURSOR_TYPE_MONO:
        return 2 * ((w + 7) / 8) * h;
    default:
        return 0;
    }
}

bool qxl_parse_cursor_cmd(const ParseContext *ctx, QXLPHYSICAL addr, ParsedCursorCmd *out,
                          const char **why)
{
    memset(out, 0, sizeof(*out));
    out->release = memslot_get(ctx->slots, ctx->group, addr, sizeof(QXLReleaseInfo), why);
    if (!out->release) {
        return false;
    }
    QXLCursorCmd q;
    const void *src = memslot_get(ctx->slots, ctx->group, addr, sizeof(q), why);
    if (!src) {
        return false;
    }
    memcpy(&q, src, sizeof(q));
    out->type = q.type;
    switch (q.type) {
    case QXL_CURSOR_MOVE:
        out->x = q.u.position.x;
        out->y = q.u.position.y;
        return true;
    case QXL_CURSOR_HIDE:
        return true;
    case QXL_CURSOR_TRAIL:
        out->trail_length = q.u.trail.length;
        out->trail_frequency = q.u.trail.frequency;
        return true;
    case QXL_CURSOR_SET:
        break;
    default:
        *why = "unknown cursor command";
        return false;
    }
    out->x = q.u.set.position.x;
    out->y = q.u.set.position.y;
    out->visible = q.u.set.visible != 0;
    if (q.u.set.shape == 0) {
        return true;
    }
    Parse p = { .ctx = ctx };
    QXLCursor c;
    if (!read_struct(&p, q.u.set.shape, &c, sizeof(c))) {
        *why = p.why;
        return false;
    }
    if (c.header.type > SPICE_CURSOR_TYPE_COLOR32) {
        *why = "unknown cursor shape type";
        return false;
    }
    if (c.header.width > QXL_MAX_CURSOR_SIDE || c.header.height > QXL_MAX_CURSOR_SIDE) {
        *why = "cursor shape larger than 512x512";
        return false;
    }
    uint64_t expected = cursor_expected_size(c.header.type, c.header.width, c.header.height);
    if (expected ? c.data_size != expected : c.data_size > 4 * 1024 * 1024) {
        *why = "cursor shape data size does not match its size and type";
        return false;
    }
    out->shape = g_try_malloc(c.data_size ? c.data_size : 1);
    if (!out->shape) {
        *why = "out of memory";
        return false;
    }
    p.arena = NULL;
    if (!read_chain(&p, q.u.set.shape + offsetof(QXLCursor, chunk), out->shape, c.data_size)) {
        *why = p.why;
        parsed_cursor_clear(out);
        return false;
    }
    out->has_shape = true;
    out->unique = c.header.unique;
    out->shape_type = c.header.type;
    out->width = c.header.width;
    out->height = c.header.height;
    out->hot_x = c.header.hot_spot_x;
    out->hot_y = c.header.hot_spot_y;
    out->shape_size = c.data_size;
    return true;
}

/* ---- update, message, monitors --------------------------------------------------------- */

bool qxl_parse_update_cmd(const ParseContext *ctx, QXLPHYSICAL addr, ParsedUpdateCmd *out,
                          const char **why)
{
    memset(out, 0, sizeof(*out));
    out->release = memslot_get(ctx->slots, ctx->group, addr, sizeof(QXLReleaseInfo), why);
    if (!out->release) {
        return false;
    }
    Parse p = { .ctx = ctx };
    QXLRect area;
    if (ctx->compat) {
        QXLCompatUpdateCmd q;
        if (!read_struct(&p, addr, &q, sizeof(q))) {
            *why = p.why;
            return false;
        }
        area = q.area;
        out->update_id = q.update_id;
        out->surface_id = 0;
    } else {
        QXLUpdateCmd q;
        if (!read_struct(&p, addr, &q, sizeof(q))) {
            *why = p.why;
            return false;
        }
        area = q.area;
        out->update_id = q.update_id;
        out->surface_id = q.surface_id;
    }
    if (!surface_id_ok(&p, out->surface_id) || !read_rect(&p, &area, &out->area)) {
        *why = p.why;
        return false;
    }
    return true;
}

bool qxl_parse_message(const ParseContext *ctx, QXLPHYSICAL addr, QXLReleaseInfo **release,
                       char *text, size_t text_size, const char **why)
{
    *release = memslot_get(ctx->slots, ctx->group, addr, sizeof(QXLReleaseInfo), why);
    if (!*release || text_size == 0) {
        return false;
    }
    QXLPHYSICAL data = addr + sizeof(QXLMessage);
    size_t left = memslot_bytes_left(ctx->slots, ctx->group, data);
    size_t max = MIN(MIN(left, (size_t)QXL_MAX_MESSAGE_SIZE), text_size - 1);
    const char *src = max ? memslot_get(ctx->slots, ctx->group, data, max, why) : NULL;
    size_t n = 0;
    for (; src && n < max && src[n] != '\0'; n++) {
        char c = src[n];
        text[n] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    text[n] = '\0';
    return true;
}

bool qxl_parse_monitors_config(const ParseContext *ctx, QXLPHYSICAL addr, uint32_t max_heads,
                               ParsedMonitors *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    Parse p = { .ctx = ctx };
    QXLMonitorsConfig head;
    if (!read_struct(&p, addr, &head, sizeof(head))) {
        *why = p.why;
        return false;
    }
    /* count and max_allowed were read once, above. */
    if (head.count == 0) {
        *why = "monitors config with no monitors";
        return false;
    }
    if (head.max_allowed && head.count > head.max_allowed) {
        *why = "monitors config count above its own maximum";
        return false;
    }
    uint32_t n = MIN(MIN((uint32_t)head.count, max_heads), QXL_MAX_MONITORS);
    const QXLHead *heads = guest_ptr(&p, addr + sizeof(QXLMonitorsConfig), n * sizeof(QXLHead));
    if (!heads) {
        *why = p.why;
        return false;
    }
    memcpy(out->heads, heads, n * sizeof(QXLHead));
    out->count = (uint16_t)n;
    out->max_allowed = head.max_allowed;
    return true;
}
