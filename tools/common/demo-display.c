/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-display.c: the QXL device of demo-display.h: commands and their
 * memory, the two rings, the QXLInterface callbacks, the cursor, and the
 * reference framebuffer every drawing call also updates. What is drawn
 * is demo-scenes.c's business.
 *
 * Threads: the scenes, the reference framebuffer and the timers belong
 * to the host's main loop. The server's display worker calls
 * get_command, get_cursor_command and release_resource on its own
 * thread, so the two command queues and the set of live commands are
 * shared under `lock`. No spice_qxl_* call is made with the lock held:
 * the synchronous ones wait for the worker, which may be waiting for it.
 */
#include "demo-display-private.h"

#include <stddef.h>
#include <string.h>

#include <spice/enums.h>

#define MEMSLOT_GROUP 0
#define MEMSLOT_ID    0
#define N_SURFACES    1024
#define QXL_RAM_SIZE  (16u * 1024 * 1024)

/* Past this backlog of commands the server has not taken, a frame tick
 * is skipped; the frame number does not advance, so pixels stay the
 * same whatever the timing. */
#define MAX_QUEUED_CMDS  2000
#define MAX_QUEUED_BYTES (64u * 1024 * 1024)

#define RGB_MASK 0x00ffffffu

#define CURSOR_UNIQUE 0x5eed0001u
#define CURSOR_SIDE   32
#define CURSOR_HOT    0
#define CURSOR_CHUNK1 1500 /* first chunk of the shape: not a row multiple */

/* One command and every buffer it points at; release_info.id is its
 * address. */
typedef struct DemoCmd {
    QXLCommandExt ext;
    void **mem;
    unsigned n_mem, cap_mem;
    size_t bytes;
    QXLCursorCmd *cursor; /* cursor commands: for coalescing moves */
} DemoCmd;

struct DemoDisplay {
    QXLInstance qxl; /* first: callbacks get it back */
    DemoDisplayConfig cfg;
    char *dump_path;
    DemoDisplayEmit emit;
    void *opaque;
    bool attached, started;

    int w, h;
    uint8_t *primary; /* the surface memory the server renders into */
    uint32_t *ref;    /* reference framebuffer, 0x00RRGGBB, top-down */
    DemoScenes *scenes;

    GMutex lock; /* the queues, live, queued_bytes */
    GQueue draw_queue, cursor_queue;
    GHashTable *live; /* DemoCmd * not yet released */
    size_t queued_bytes;
    bool need_wakeup; /* drawing commands queued since the last wakeup */

    GMainContext *context; /* where the timers run: the thread default at start */
    guint frame_timer, drain_timer;
    int frame;
    unsigned skipped; /* frame ticks skipped while the server was behind */
    uint32_t unique;
    Image stamp; /* the frame stamp's pixels (cfg.frame_stamp) */

    Image cursor_shape;

    int cx, cy; /* under the lock, like cursor_shown */
    bool cursor_shown;
};

static QXLRect qrect(Rect r)
{
    return (QXLRect){ .top = r.y1, .left = r.x1, .bottom = r.y2, .right = r.x2 };
}

/* ---- commands -------------------------------------------------------------------- */

static DemoDisplay *from_qxl(QXLInstance *qin)
{
    return (DemoDisplay *)(void *)((char *)qin - offsetof(DemoDisplay, qxl));
}

static void *cmd_alloc(DemoCmd *c, size_t n)
{
    if (c->n_mem == c->cap_mem) {
        c->cap_mem = c->cap_mem ? c->cap_mem * 2 : 4;
        c->mem = g_renew(void *, c->mem, c->cap_mem);
    }
    void *p = g_malloc0(n);
    c->mem[c->n_mem++] = p;
    c->bytes += n;
    return p;
}

static void cmd_free(gpointer data)
{
    DemoCmd *c = data;
    for (unsigned i = 0; i < c->n_mem; i++) {
        g_free(c->mem[i]);
    }
    g_free(c->mem);
    g_free(c);
}

static void queue_cmd(DemoDisplay *dd, DemoCmd *c, uint32_t type, void *data)
{
    bool cursor = type == QXL_CMD_CURSOR;
    c->ext.cmd.type = type;
    c->ext.cmd.data = (QXLPHYSICAL)(uintptr_t)data;
    c->ext.group_id = MEMSLOT_GROUP;
    c->ext.flags = 0;
    g_mutex_lock(&dd->lock);
    g_hash_table_add(dd->live, c);
    g_queue_push_tail(cursor ? &dd->cursor_queue : &dd->draw_queue, c);
    if (!cursor) {
        dd->queued_bytes += c->bytes;
    }
    g_mutex_unlock(&dd->lock);
    if (!cursor) {
        dd->need_wakeup = true;
    }
}

/* One wakeup per batch of drawing commands, like QEMU after a display
 * refresh (host thread only). */
static void kick(DemoDisplay *dd)
{
    if (!dd->attached || !dd->need_wakeup) {
        return;
    }
    dd->need_wakeup = false;
    spice_qxl_wakeup(&dd->qxl);
}

static QXLDrawable *drawable_new(DemoCmd *c, uint8_t type, uint8_t effect, Rect bbox)
{
    QXLDrawable *d = cmd_alloc(c, sizeof(*d));
    d->release_info.id = (uint64_t)(uintptr_t)c;
    d->surface_id = 0;
    d->effect = effect;
    d->type = type;
    d->bbox = qrect(bbox);
    d->clip.type = SPICE_CLIP_TYPE_NONE;
    d->mm_time = (uint32_t)(g_get_monotonic_time() / 1000);
    d->surfaces_dest[0] = d->surfaces_dest[1] = d->surfaces_dest[2] = -1;
    return d;
}

static QXLBrush solid(uint32_t color)
{
    QXLBrush b = { .type = SPICE_BRUSH_TYPE_SOLID };
    b.u.color = color;
    return b;
}

/* Splits a bitmap's rows into a chain of QXLDataChunks of uneven
 * sizes. Each chunk holds whole rows: the reference server's QUIC and LZ
 * encoders read chunks line by line and abort on a partial row, and the
 * Windows driver never makes one. Returns the first chunk. */
static QXLDataChunk *chunk_chain(DemoCmd *c, const uint8_t *data, size_t stride, int rows)
{
    QXLDataChunk *first = NULL, *prev = NULL;
    int row = 0;
    for (unsigned k = 0; row < rows; k++) {
        int n = k == 0 ? rows / 5 + 1 : (k % 2 ? 1 : rows / 4 + 2);
        n = MIN(n, rows - row);
        size_t piece = (size_t)n * stride;
        QXLDataChunk *ch = cmd_alloc(c, sizeof(QXLDataChunk) + piece);
        ch->data_size = (uint32_t)piece;
        memcpy(ch->data, data + (size_t)row * stride, piece);
        if (prev) {
            prev->next_chunk = (QXLPHYSICAL)(uintptr_t)ch;
            ch->prev_chunk = (QXLPHYSICAL)(uintptr_t)prev;
        } else {
            first = ch;
        }
        prev = ch;
        row += n;
    }
    return first;
}

/* A SPICE_BITMAP_FMT_32BIT QXLImage of img in the given layout. */
static QXLPHYSICAL build_image(DemoDisplay *dd, DemoCmd *c, const Image *img, unsigned layout,
                               uint32_t cache_unique)
{
    QXLImage *qi = cmd_alloc(c, sizeof(*qi));
    uint32_t unique = cache_unique ? cache_unique : (++dd->unique & (DEMO_UNIQUE_CACHED - 1));
    qi->descriptor.id = (uint64_t)unique << 32 | QXL_IMAGE_GROUP_DEVICE;
    qi->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    qi->descriptor.flags = cache_unique ? QXL_IMAGE_CACHE : 0;
    qi->descriptor.width = (uint32_t)img->w;
    qi->descriptor.height = (uint32_t)img->h;

    uint32_t stride = (uint32_t)img->w * 4 + (layout & LAYOUT_PADDED ? 12 : 0);
    size_t size = (size_t)stride * (size_t)img->h;
    bool chunked = layout & LAYOUT_CHUNKED;
    uint8_t *data = chunked ? g_malloc(size) : cmd_alloc(c, size);
    for (int r = 0; r < img->h; r++) {
        int src = layout & LAYOUT_BOTTOM_UP ? img->h - 1 - r : r;
        uint32_t *row = (uint32_t *)(void *)(data + (size_t)r * stride);
        for (int x = 0; x < img->w; x++) {
            /* The X byte of 32BIT pixels means nothing; padded layouts
             * set it to prove that. */
            row[x] = img->px[(size_t)src * img->w + x] | (layout & LAYOUT_PADDED ? 0xff000000u : 0);
        }
        memset(row + img->w, 0xa5, stride - (uint32_t)img->w * 4);
    }
    qi->bitmap.format = SPICE_BITMAP_FMT_32BIT;
    qi->bitmap.flags =
        (chunked ? 0 : QXL_BITMAP_DIRECT) | (layout & LAYOUT_BOTTOM_UP ? 0 : QXL_BITMAP_TOP_DOWN);
    qi->bitmap.x = (uint32_t)img->w;
    qi->bitmap.y = (uint32_t)img->h;
    qi->bitmap.stride = stride;
    qi->bitmap.palette = 0;
    if (chunked) {
        qi->bitmap.data = (QXLPHYSICAL)(uintptr_t)chunk_chain(c, data, stride, img->h);
        g_free(data);
    } else {
        qi->bitmap.data = (QXLPHYSICAL)(uintptr_t)data;
    }
    return (QXLPHYSICAL)(uintptr_t)qi;
}

/* ---- the reference framebuffer --------------------------------------------------- */

static Rect screen_clip(DemoDisplay *dd, Rect r)
{
    return rect_and(r, (Rect){ 0, 0, dd->w, dd->h });
}

static void ref_fill(DemoDisplay *dd, Rect r, uint32_t color, bool use_xor)
{
    for (int y = r.y1; y < r.y2; y++) {
        uint32_t *p = dd->ref + (size_t)y * dd->w;
        for (int x = r.x1; x < r.x2; x++) {
            p[x] = (use_xor ? p[x] ^ color : color) & RGB_MASK;
        }
    }
}

static void ref_image(DemoDisplay *dd, Rect dst, const Image *img, int sx, int sy, ImageOp op,
                      uint32_t brush)
{
    for (int y = dst.y1; y < dst.y2; y++) {
        uint32_t *out = dd->ref + (size_t)y * dd->w + dst.x1;
        const uint32_t *in = img->px + (size_t)(sy + y - dst.y1) * img->w + sx;
        for (int x = 0; x < dst.x2 - dst.x1; x++) {
            uint32_t s = in[x];
            out[x] = (op == IMG_COPY         ? s
                      : op == IMG_OPAQUE_XOR ? s ^ brush
                                             : out[x] ^ s ^ brush) &
                     RGB_MASK;
        }
    }
}

static void ref_copy(DemoDisplay *dd, Rect dst, int sx, int sy)
{
    size_t n = (size_t)(dst.x2 - dst.x1) * 4;
    int rows = dst.y2 - dst.y1;
    /* Rows in the order that never reads an already overwritten one. */
    for (int i = 0; i < rows; i++) {
        int k = sy < dst.y1 ? rows - 1 - i : i;
        memmove(dd->ref + (size_t)(dst.y1 + k) * dd->w + dst.x1,
                dd->ref + (size_t)(sy + k) * dd->w + sx, n);
    }
}

/* ---- drawing: one QXL command plus the same change to the reference -------------- */

void demo_draw_fill(DemoDisplay *dd, Rect r, uint32_t color, bool use_xor)
{
    r = screen_clip(dd, r);
    if (rect_empty(r)) {
        return;
    }
    DemoCmd *c = g_new0(DemoCmd, 1);
    QXLDrawable *d =
        drawable_new(c, QXL_DRAW_FILL, use_xor ? QXL_EFFECT_BLEND : QXL_EFFECT_OPAQUE, r);
    d->u.fill.brush = solid(color);
    d->u.fill.rop_descriptor = use_xor ? SPICE_ROPD_OP_XOR : SPICE_ROPD_OP_PUT;
    queue_cmd(dd, c, QXL_CMD_DRAW, d);
    ref_fill(dd, r, color, use_xor);
}

/* The clip rect list is split over two chunks. */
void demo_draw_fill_clipped(DemoDisplay *dd, Rect bbox, const Rect *clips, unsigned n,
                            uint32_t color)
{
    bbox = screen_clip(dd, bbox);
    if (rect_empty(bbox) || n < 2) {
        return;
    }
    DemoCmd *c = g_new0(DemoCmd, 1);
    QXLDrawable *d = drawable_new(c, QXL_DRAW_FILL, QXL_EFFECT_OPAQUE, bbox);
    d->u.fill.brush = solid(color);
    d->u.fill.rop_descriptor = SPICE_ROPD_OP_PUT;
    unsigned n1 = n / 2;
    QXLClipRects *cr = cmd_alloc(c, sizeof(QXLClipRects) + n1 * sizeof(QXLRect));
    QXLDataChunk *ch2 = cmd_alloc(c, sizeof(QXLDataChunk) + (n - n1) * sizeof(QXLRect));
    cr->num_rects = n;
    cr->chunk.data_size = n1 * sizeof(QXLRect);
    cr->chunk.next_chunk = (QXLPHYSICAL)(uintptr_t)ch2;
    ch2->data_size = (n - n1) * sizeof(QXLRect);
    ch2->prev_chunk = (QXLPHYSICAL)(uintptr_t)((char *)cr + offsetof(QXLClipRects, chunk));
    for (unsigned i = 0; i < n; i++) {
        QXLRect q = qrect(clips[i]);
        uint8_t *dst = i < n1 ? cr->chunk.data + i * sizeof(q) : ch2->data + (i - n1) * sizeof(q);
        memcpy(dst, &q, sizeof(q));
        ref_fill(dd, rect_and(bbox, clips[i]), color, false);
    }
    d->clip.type = SPICE_CLIP_TYPE_RECTS;
    d->clip.data = (QXLPHYSICAL)(uintptr_t)cr;
    queue_cmd(dd, c, QXL_CMD_DRAW, d);
}

static void draw_image(DemoDisplay *dd, int x, int y, const Image *img, ImageOp op, uint32_t brush,
                       unsigned layout, uint32_t cache_unique, const Rect *clips, unsigned n)
{
    Rect dst = screen_clip(dd, rect(x, y, img->w, img->h));
    if (rect_empty(dst)) {
        return;
    }
    Rect src = { dst.x1 - x, dst.y1 - y, dst.x2 - x, dst.y2 - y };
    DemoCmd *c = g_new0(DemoCmd, 1);
    uint8_t type = op == IMG_COPY         ? QXL_DRAW_COPY
                   : op == IMG_OPAQUE_XOR ? QXL_DRAW_OPAQUE
                                          : QXL_DRAW_ROP3;
    /* ROP3 0x96 reads the destination: not opaque to what lies below. */
    QXLDrawable *d =
        drawable_new(c, type, op == IMG_ROP3_96 ? QXL_EFFECT_BLEND : QXL_EFFECT_OPAQUE, dst);
    QXLPHYSICAL bitmap = build_image(dd, c, img, layout, cache_unique);
    switch (op) {
    case IMG_COPY:
        d->u.copy.src_bitmap = bitmap;
        d->u.copy.src_area = qrect(src);
        d->u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;
        d->u.copy.scale_mode = SPICE_IMAGE_SCALE_MODE_NEAREST;
        break;
    case IMG_OPAQUE_XOR:
        /* The source, then the brush combined with it: src ^ brush. */
        d->u.opaque.src_bitmap = bitmap;
        d->u.opaque.src_area = qrect(src);
        d->u.opaque.brush = solid(brush);
        d->u.opaque.rop_descriptor = SPICE_ROPD_OP_XOR;
        d->u.opaque.scale_mode = SPICE_IMAGE_SCALE_MODE_NEAREST;
        break;
    case IMG_ROP3_96:
        /* 0x96 is dest ^ src ^ pattern, the same in any operand order. */
        d->u.rop3.src_bitmap = bitmap;
        d->u.rop3.src_area = qrect(src);
        d->u.rop3.brush = solid(brush);
        d->u.rop3.rop3 = 0x96;
        d->u.rop3.scale_mode = SPICE_IMAGE_SCALE_MODE_NEAREST;
        break;
    }
    if (!clips) {
        queue_cmd(dd, c, QXL_CMD_DRAW, d);
        ref_image(dd, dst, img, src.x1, src.y1, op, brush);
        return;
    }
    QXLClipRects *cr = cmd_alloc(c, sizeof(QXLClipRects) + n * sizeof(QXLRect));
    cr->num_rects = n;
    cr->chunk.data_size = n * sizeof(QXLRect);
    for (unsigned i = 0; i < n; i++) {
        QXLRect q = qrect(clips[i]);
        memcpy(cr->chunk.data + i * sizeof(q), &q, sizeof(q));
        Rect part = rect_and(dst, clips[i]);
        if (!rect_empty(part)) {
            ref_image(dd, part, img, src.x1 + part.x1 - dst.x1, src.y1 + part.y1 - dst.y1, op,
                      brush);
        }
    }
    d->clip.type = SPICE_CLIP_TYPE_RECTS;
    d->clip.data = (QXLPHYSICAL)(uintptr_t)cr;
    queue_cmd(dd, c, QXL_CMD_DRAW, d);
}

void demo_draw_image(DemoDisplay *dd, int x, int y, const Image *img, ImageOp op, uint32_t brush,
                     unsigned layout, uint32_t cache_unique)
{
    draw_image(dd, x, y, img, op, brush, layout, cache_unique, NULL, 0);
}

void demo_draw_image_clipped(DemoDisplay *dd, int x, int y, const Image *img, unsigned layout,
                             const Rect *clips, unsigned n)
{
    draw_image(dd, x, y, img, IMG_COPY, 0, layout, 0, clips, n);
}

/* Source and destination both stay on the screen. */
void demo_draw_copy_bits(DemoDisplay *dd, Rect dst, int sx, int sy)
{
    int dx = sx - dst.x1, dy = sy - dst.y1;
    dst = screen_clip(dd, dst);
    dst = rect_and(dst, (Rect){ -dx, -dy, dd->w - dx, dd->h - dy });
    if (rect_empty(dst)) {
        return;
    }
    DemoCmd *c = g_new0(DemoCmd, 1);
    QXLDrawable *d = drawable_new(c, QXL_COPY_BITS, QXL_EFFECT_OPAQUE, dst);
    d->u.copy_bits.src_pos.x = dst.x1 + dx;
    d->u.copy_bits.src_pos.y = dst.y1 + dy;
    queue_cmd(dd, c, QXL_CMD_DRAW, d);
    ref_copy(dd, dst, dst.x1 + dx, dst.y1 + dy);
}

/* ---- cursor ---------------------------------------------------------------------- */

/* Cursor commands may come from input callbacks on any thread: the
 * cursor state is under the lock and each one wakes the worker itself. */
static void cursor_wakeup(DemoDisplay *dd)
{
    if (dd->attached) {
        spice_qxl_wakeup(&dd->qxl);
    }
}

static QXLCursorCmd *cursor_cmd_new(DemoCmd **out, uint8_t type)
{
    DemoCmd *c = g_new0(DemoCmd, 1);
    QXLCursorCmd *cc = cmd_alloc(c, sizeof(*cc));
    cc->release_info.id = (uint64_t)(uintptr_t)c;
    cc->type = type;
    c->cursor = cc;
    *out = c;
    return cc;
}

/* SET with the alpha arrow, its data split over two chunks. */
static void cursor_set(DemoDisplay *dd, int x, int y)
{
    DemoCmd *c;
    QXLCursorCmd *cc = cursor_cmd_new(&c, QXL_CURSOR_SET);
    const size_t size = CURSOR_SIDE * CURSOR_SIDE * 4;
    QXLCursor *cur = cmd_alloc(c, sizeof(QXLCursor) + CURSOR_CHUNK1);
    QXLDataChunk *ch2 = cmd_alloc(c, sizeof(QXLDataChunk) + size - CURSOR_CHUNK1);
    cur->header.unique = CURSOR_UNIQUE;
    cur->header.type = SPICE_CURSOR_TYPE_ALPHA;
    cur->header.width = CURSOR_SIDE;
    cur->header.height = CURSOR_SIDE;
    cur->header.hot_spot_x = CURSOR_HOT;
    cur->header.hot_spot_y = CURSOR_HOT;
    cur->data_size = (uint32_t)size;
    cur->chunk.data_size = CURSOR_CHUNK1;
    cur->chunk.next_chunk = (QXLPHYSICAL)(uintptr_t)ch2;
    memcpy(cur->chunk.data, dd->cursor_shape.px, CURSOR_CHUNK1);
    ch2->data_size = (uint32_t)(size - CURSOR_CHUNK1);
    ch2->prev_chunk = (QXLPHYSICAL)(uintptr_t)((char *)cur + offsetof(QXLCursor, chunk));
    memcpy(ch2->data, (uint8_t *)dd->cursor_shape.px + CURSOR_CHUNK1, size - CURSOR_CHUNK1);
    cc->u.set.position.x = (int16_t)x;
    cc->u.set.position.y = (int16_t)y;
    cc->u.set.visible = 1;
    cc->u.set.shape = (QXLPHYSICAL)(uintptr_t)cur;
    queue_cmd(dd, c, QXL_CMD_CURSOR, cc);
}

/* Moves the cursor to (x, y) clamped, or by (x, y) when relative. */
static void cursor_move(DemoDisplay *dd, int x, int y, bool relative)
{
    g_mutex_lock(&dd->lock);
    dd->cx = CLAMP(relative ? dd->cx + x : x, 0, dd->w - 1);
    dd->cy = CLAMP(relative ? dd->cy + y : y, 0, dd->h - 1);
    x = dd->cx;
    y = dd->cy;
    /* A hidden cursor stays hidden: MOVE would show it again. */
    if (!dd->cfg.cursor || !dd->started || !dd->cursor_shown) {
        g_mutex_unlock(&dd->lock);
        return;
    }
    DemoCmd *tail = g_queue_peek_tail(&dd->cursor_queue);
    if (tail && tail->cursor->type == QXL_CURSOR_MOVE) {
        /* Not taken yet: move it instead of queuing another. */
        tail->cursor->u.position.x = (int16_t)x;
        tail->cursor->u.position.y = (int16_t)y;
        g_mutex_unlock(&dd->lock);
        return;
    }
    g_mutex_unlock(&dd->lock);
    DemoCmd *c;
    QXLCursorCmd *cc = cursor_cmd_new(&c, QXL_CURSOR_MOVE);
    cc->u.position.x = (int16_t)x;
    cc->u.position.y = (int16_t)y;
    queue_cmd(dd, c, QXL_CMD_CURSOR, cc);
    cursor_wakeup(dd);
}

void demo_display_pointer_position(DemoDisplay *dd, int x, int y)
{
    cursor_move(dd, x, y, false);
}

void demo_display_pointer_motion(DemoDisplay *dd, int dx, int dy)
{
    cursor_move(dd, dx, dy, true);
}

void demo_display_toggle_cursor(DemoDisplay *dd)
{
    if (!dd->cfg.cursor || !dd->started) {
        return;
    }
    g_mutex_lock(&dd->lock);
    bool show = !dd->cursor_shown;
    dd->cursor_shown = show;
    int x = dd->cx, y = dd->cy;
    g_mutex_unlock(&dd->lock);
    if (show) {
        cursor_set(dd, x, y);
    } else {
        DemoCmd *c;
        QXLCursorCmd *cc = cursor_cmd_new(&c, QXL_CURSOR_HIDE);
        queue_cmd(dd, c, QXL_CMD_CURSOR, cc);
    }
    cursor_wakeup(dd);
}

/* ---- QXLInterface ---------------------------------------------------------------- */

static void qxl_attached_worker(QXLInstance *qin)
{
}

static void qxl_set_compression_level(QXLInstance *qin, int level)
{
}

static void qxl_set_mm_time(QXLInstance *qin, uint32_t mm_time)
{
}

static void qxl_get_init_info(QXLInstance *qin, QXLDevInitInfo *info)
{
    memset(info, 0, sizeof(*info));
    info->num_memslots_groups = 1;
    info->num_memslots = 1;
    info->memslot_gen_bits = 8;
    info->memslot_id_bits = 8;
    info->qxl_ram_size = QXL_RAM_SIZE;
    info->internal_groupslot_id = MEMSLOT_GROUP;
    info->n_surfaces = N_SURFACES;
}

static int take(DemoDisplay *dd, GQueue *q, struct QXLCommandExt *ext)
{
    g_mutex_lock(&dd->lock);
    DemoCmd *c = g_queue_pop_head(q);
    if (c) {
        *ext = c->ext;
        if (q == &dd->draw_queue) {
            dd->queued_bytes -= c->bytes;
        }
    }
    g_mutex_unlock(&dd->lock);
    return c != NULL;
}

/* 1: we will call spice_qxl_wakeup() when commands arrive; 0: some are
 * already waiting (we always wake up after queuing anyway). */
static int want_notification(DemoDisplay *dd, GQueue *q)
{
    g_mutex_lock(&dd->lock);
    int ret = g_queue_is_empty(q);
    g_mutex_unlock(&dd->lock);
    return ret;
}

static int qxl_get_command(QXLInstance *qin, struct QXLCommandExt *ext)
{
    DemoDisplay *dd = from_qxl(qin);
    return take(dd, &dd->draw_queue, ext);
}

static int qxl_req_cmd_notification(QXLInstance *qin)
{
    DemoDisplay *dd = from_qxl(qin);
    return want_notification(dd, &dd->draw_queue);
}

static int qxl_get_cursor_command(QXLInstance *qin, struct QXLCommandExt *ext)
{
    DemoDisplay *dd = from_qxl(qin);
    return take(dd, &dd->cursor_queue, ext);
}

static int qxl_req_cursor_notification(QXLInstance *qin)
{
    DemoDisplay *dd = from_qxl(qin);
    return want_notification(dd, &dd->cursor_queue);
}

/* release_info.id is the DemoCmd; one we do not know (a release twice)
 * is reported rather than freed. */
static void qxl_release_resource(QXLInstance *qin, struct QXLReleaseInfoExt release)
{
    DemoDisplay *dd = from_qxl(qin);
    DemoCmd *c = release.info ? (DemoCmd *)(uintptr_t)release.info->id : NULL;
    g_mutex_lock(&dd->lock);
    bool known = c && g_hash_table_steal(dd->live, c);
    if (known && (g_queue_remove(&dd->draw_queue, c) || g_queue_remove(&dd->cursor_queue, c))) {
        g_warning("demo-display: the server released a command it never took");
    }
    g_mutex_unlock(&dd->lock);
    if (!known) {
        g_warning("demo-display: release of unknown resource %p", (void *)c);
        return;
    }
    cmd_free(c);
}

static void qxl_notify_update(QXLInstance *qin, uint32_t update_id)
{
}

static int qxl_flush_resources(QXLInstance *qin)
{
    return 0;
}

static void qxl_async_complete(QXLInstance *qin, uint64_t cookie)
{
    /* Only synchronous spice_qxl_* calls are made. */
    g_warning("demo-display: unexpected async_complete(%" G_GUINT64_FORMAT ")", cookie);
}

static void qxl_update_area_complete(QXLInstance *qin, uint32_t surface_id,
                                     struct QXLRect *updated_rects, uint32_t num_updated_rects)
{
}

static void qxl_set_client_capabilities(QXLInstance *qin, uint8_t client_present,
                                        uint8_t caps[SPICE_CAPABILITIES_SIZE])
{
}

static void emit(DemoDisplay *dd, const char *format, ...) G_GNUC_PRINTF(2, 3);

/* The layout a client asks for (through its agent), printed as a guest
 * driver would take it; the demo's own size stays. */
static int qxl_client_monitors_config(QXLInstance *qin, VDAgentMonitorsConfig *monitors_config)
{
    DemoDisplay *dd = from_qxl(qin);
    if (!monitors_config) {
        return 1; /* yes, this device takes it */
    }
    /* Clients send every monitor they could show; the disabled ones are
     * 0x0. */
    GString *line = g_string_new("display: client monitors config:");
    for (uint32_t i = 0; i < monitors_config->num_of_monitors && i < 16; i++) {
        const VDAgentMonConfig *m = &monitors_config->monitors[i];
        if (m->width && m->height) {
            g_string_append_printf(line, " %ux%u+%d+%d", m->width, m->height, m->x, m->y);
        }
    }
    g_string_append_printf(line, " (%u entries)", monitors_config->num_of_monitors);
    emit(dd, "%s", line->str);
    g_string_free(line, TRUE);
    return 1;
}

/* set_mm_time is deprecated, but older servers call it unconditionally. */
G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static const QXLInterface qxl_interface = {
    .base = { .type = SPICE_INTERFACE_QXL,
              .description = "demo display",
              .major_version = SPICE_INTERFACE_QXL_MAJOR,
              .minor_version = SPICE_INTERFACE_QXL_MINOR },
    .attached_worker = qxl_attached_worker,
    .set_compression_level = qxl_set_compression_level,
    .set_mm_time = qxl_set_mm_time,
    .get_init_info = qxl_get_init_info,
    .get_command = qxl_get_command,
    .req_cmd_notification = qxl_req_cmd_notification,
    .release_resource = qxl_release_resource,
    .get_cursor_command = qxl_get_cursor_command,
    .req_cursor_notification = qxl_req_cursor_notification,
    .notify_update = qxl_notify_update,
    .flush_resources = qxl_flush_resources,
    .async_complete = qxl_async_complete,
    .update_area_complete = qxl_update_area_complete,
    .set_client_capabilities = qxl_set_client_capabilities,
    .client_monitors_config = qxl_client_monitors_config,
};
G_GNUC_END_IGNORE_DEPRECATIONS

/* ---- frames, dump ---------------------------------------------------------------- */

/* The frame number in cells, as demo-display.h describes; the last
 * command of the frame's batch. */
static void draw_stamp(DemoDisplay *dd)
{
    if (!dd->cfg.frame_stamp) {
        return;
    }
    unsigned number = (unsigned)dd->frame;
    for (int y = 0; y < DEMO_STAMP_HEIGHT; y++) {
        uint32_t *row = dd->stamp.px + (size_t)y * DEMO_STAMP_WIDTH;
        for (int x = 0; x < DEMO_STAMP_WIDTH; x++) {
            int bit = DEMO_STAMP_BITS - 1 - x / DEMO_STAMP_CELL;
            row[x] = number >> bit & 1 ? 0xffffffu : 0;
        }
    }
    demo_draw_image(dd, 0, 0, &dd->stamp, IMG_COPY, 0, 0, 0);
}

static void emit(DemoDisplay *dd, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *line = g_strdup_vprintf(format, ap);
    va_end(ap);
    if (dd->emit) {
        dd->emit(line, dd->opaque);
    }
}

void demo_display_frame_counts(DemoDisplay *dd, int *frames, unsigned *skipped)
{
    *frames = dd->frame;
    *skipped = dd->skipped;
}

bool demo_display_dump(DemoDisplay *dd, const char *path, GError **error)
{
    g_autofree char *header = g_strdup_printf("P6\n%d %d\n255\n", dd->w, dd->h);
    size_t hl = strlen(header), n = (size_t)dd->w * (size_t)dd->h;
    g_autofree uint8_t *buf = g_malloc(hl + n * 3);
    memcpy(buf, header, hl);
    for (size_t i = 0; i < n; i++) {
        buf[hl + 3 * i] = (uint8_t)(dd->ref[i] >> 16);
        buf[hl + 3 * i + 1] = (uint8_t)(dd->ref[i] >> 8);
        buf[hl + 3 * i + 2] = (uint8_t)dd->ref[i];
    }
    if (!g_file_set_contents(path, (const char *)buf, (gssize)(hl + n * 3), error)) {
        return false;
    }
    emit(dd, "frame: dumped %s", path);
    return true;
}

/* Dumps once the server has taken every drawing command. */
/* Timers run in the context that was the thread default when the device
 * started (the host's main context, or a test server's). */
static guint timer_add(DemoDisplay *dd, guint ms, GSourceFunc fn)
{
    GSource *src = g_timeout_source_new(ms);
    g_source_set_callback(src, fn, dd, NULL);
    guint id = g_source_attach(src, dd->context);
    g_source_unref(src);
    return id;
}

static void timer_remove(DemoDisplay *dd, guint id)
{
    GSource *src = g_main_context_find_source_by_id(dd->context, id);
    if (src) {
        g_source_destroy(src);
    }
}

static gboolean on_drain_check(gpointer data)
{
    DemoDisplay *dd = data;
    g_mutex_lock(&dd->lock);
    bool drained = g_queue_is_empty(&dd->draw_queue);
    g_mutex_unlock(&dd->lock);
    if (!drained) {
        return G_SOURCE_CONTINUE;
    }
    dd->drain_timer = 0;
    g_autoptr(GError) error = NULL;
    if (!demo_display_dump(dd, dd->dump_path, &error)) {
        emit(dd, "frame: cannot dump: %s", error->message);
    }
    return G_SOURCE_REMOVE;
}

static void stop_animation(DemoDisplay *dd)
{
    if (dd->frame_timer) {
        timer_remove(dd, dd->frame_timer);
        dd->frame_timer = 0;
    }
    emit(dd, "frame: stopped after %d frames", dd->frame);
    if (dd->dump_path && !dd->drain_timer) {
        dd->drain_timer = timer_add(dd, 20, on_drain_check);
    }
}

static gboolean on_frame(gpointer data)
{
    DemoDisplay *dd = data;
    g_mutex_lock(&dd->lock);
    bool busy = dd->draw_queue.length > MAX_QUEUED_CMDS || dd->queued_bytes > MAX_QUEUED_BYTES;
    g_mutex_unlock(&dd->lock);
    if (busy) {
        dd->skipped++;
        return G_SOURCE_CONTINUE;
    }
    demo_scenes_draw(dd->scenes, ++dd->frame);
    draw_stamp(dd);
    kick(dd);
    if (dd->cfg.frames >= 0 && dd->frame >= dd->cfg.frames) {
        dd->frame_timer = 0;
        stop_animation(dd);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* ---- life cycle ------------------------------------------------------------------ */

static const char *const scene_names[] = { "static", "scroll",  "window",
                                           "video",  "console", "overlap" };

bool demo_display_parse_scenes(const char *list, unsigned *scenes, GError **error)
{
    g_auto(GStrv) parts = g_strsplit(list, ",", -1);
    unsigned mask = 0;
    for (int i = 0; parts[i]; i++) {
        const char *p = g_strstrip(parts[i]);
        unsigned bit = 0;
        for (unsigned k = 0; k < G_N_ELEMENTS(scene_names); k++) {
            if (strcmp(p, scene_names[k]) == 0) {
                bit = 1u << k;
            }
        }
        if (!bit) {
            g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                        "unknown scene '%s' (expected a comma list of static, scroll, window, "
                        "video, console)",
                        p);
            return false;
        }
        mask |= bit;
    }
    if (!mask) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "no scene in '%s'", list);
        return false;
    }
    *scenes = mask;
    return true;
}

char *demo_display_scene_names(unsigned scenes)
{
    GString *s = g_string_new(NULL);
    for (unsigned k = 0; k < G_N_ELEMENTS(scene_names); k++) {
        if (scenes & (1u << k)) {
            g_string_append_printf(s, "%s%s", s->len ? "," : "", scene_names[k]);
        }
    }
    return g_string_free(s, FALSE);
}

bool demo_display_parse_size(const char *text, uint32_t *width, uint32_t *height, GError **error)
{
    guint64 w = 0, h = 0;
    char *end = NULL;
    w = g_ascii_strtoull(text, &end, 10);
    if (end != text && (*end == 'x' || *end == 'X')) {
        const char *p = end + 1;
        h = g_ascii_strtoull(p, &end, 10);
        if (end == p || *end) {
            h = 0;
        }
    }
    if (w < DEMO_DISPLAY_MIN_SIDE || h < DEMO_DISPLAY_MIN_SIDE || w > DEMO_DISPLAY_MAX_SIDE ||
        h > DEMO_DISPLAY_MAX_SIDE) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "bad size '%s' (expected WIDTHxHEIGHT, each %d..%d)", text,
                    DEMO_DISPLAY_MIN_SIDE, DEMO_DISPLAY_MAX_SIDE);
        return false;
    }
    *width = (uint32_t)w;
    *height = (uint32_t)h;
    return true;
}

DemoDisplay *demo_display_new(const DemoDisplayConfig *config, DemoDisplayEmit emit_fn,
                              void *opaque)
{
    DemoDisplay *dd = g_new0(DemoDisplay, 1);
    dd->qxl.base.sif = &qxl_interface.base;
    dd->qxl.id = 0;
    dd->cfg = *config;
    dd->cfg.fps = CLAMP(dd->cfg.fps, 1, DEMO_DISPLAY_MAX_FPS);
    dd->dump_path = g_strdup(config->dump_path);
    dd->cfg.dump_path = dd->dump_path;
    dd->emit = emit_fn;
    dd->opaque = opaque;
    dd->w = (int)config->width;
    dd->h = (int)config->height;
    dd->ref = g_new0(uint32_t, (size_t)dd->w * (size_t)dd->h);
    g_mutex_init(&dd->lock);
    g_queue_init(&dd->draw_queue);
    g_queue_init(&dd->cursor_queue);
    dd->live = g_hash_table_new_full(g_direct_hash, g_direct_equal, cmd_free, NULL);
    dd->scenes = demo_scenes_new(dd, dd->w, dd->h, dd->cfg.scenes);
    dd->cursor_shape = image_new(CURSOR_SIDE, CURSOR_SIDE);
    demo_scenes_cursor_shape(&dd->cursor_shape);
    if (dd->cfg.frame_stamp) {
        dd->stamp = image_new(DEMO_STAMP_WIDTH, DEMO_STAMP_HEIGHT);
    }
    dd->cx = dd->w / 2;
    dd->cy = dd->h / 2;
    return dd;
}

SpiceBaseInstance *demo_display_base(DemoDisplay *dd)
{
    return &dd->qxl.base;
}

/* The primary surface over dd->primary; flags QXL_SURF_FLAG_KEEP_DATA
 * keeps what the memory shows. */
static void create_primary(DemoDisplay *dd, uint32_t flags)
{
    size_t stride = (size_t)dd->w * 4;
    /* With a negative stride mem is still the lowest address; the top
     * row is the last one in memory. */
    QXLDevSurfaceCreate surface = {
        .width = (uint32_t)dd->w,
        .height = (uint32_t)dd->h,
        .stride = dd->cfg.negative_stride ? -(int32_t)stride : (int32_t)stride,
        .format = SPICE_SURFACE_FMT_32_xRGB,
        .position = 0,
        .mouse_mode = 1,
        .flags = flags,
        .type = 0,
        .mem = (uint64_t)(uintptr_t)dd->primary,
        .group_id = MEMSLOT_GROUP,
    };
    spice_qxl_create_primary_surface(&dd->qxl, 0, &surface);
}

void demo_display_attach(DemoDisplay *dd)
{
    /* Slot 0 of group 0 spans all of memory with no offset, so a
     * QXLPHYSICAL is a host pointer (QEMU's host memslot). */
    QXLDevMemSlot slot = { .slot_group_id = MEMSLOT_GROUP,
                           .slot_id = MEMSLOT_ID,
                           .generation = 0,
                           .virt_start = 0,
                           .virt_end = ~(uintptr_t)0,
                           .addr_delta = 0,
                           .qxl_ram_size = QXL_RAM_SIZE };
    spice_qxl_add_memslot(&dd->qxl, &slot);

    dd->primary = g_malloc0((size_t)dd->w * 4 * (size_t)dd->h);
    create_primary(dd, 0);
    dd->attached = true;
}

void demo_display_start(DemoDisplay *dd)
{
    if (!dd->attached || dd->started) {
        return;
    }
    dd->started = true;
    dd->context = g_main_context_ref_thread_default();
    demo_scenes_draw(dd->scenes, 0);
    draw_stamp(dd);
    kick(dd);
    if (dd->cfg.cursor) {
        g_mutex_lock(&dd->lock);
        dd->cursor_shown = true;
        int x = dd->cx, y = dd->cy;
        g_mutex_unlock(&dd->lock);
        cursor_set(dd, x, y);
        cursor_wakeup(dd);
    }
    /* The stamp changes every frame whatever the scenes. */
    bool animated = dd->cfg.frame_stamp || dd->cfg.scenes & (DEMO_SCENE_SCROLL | DEMO_SCENE_WINDOW |
                                                             DEMO_SCENE_VIDEO | DEMO_SCENE_CONSOLE);
    if (dd->cfg.frames == 0 || (!animated && dd->cfg.frames < 0)) {
        if (dd->cfg.frames == 0) {
            stop_animation(dd);
        }
        return;
    }
    dd->frame_timer = timer_add(dd, MAX(1u, 1000u / dd->cfg.fps), on_frame);
}

void demo_display_recreate_primary(DemoDisplay *dd)
{
    if (!dd->attached || !dd->started) {
        return;
    }
    /* What QEMU's qxl device does when the guest sets a mode: the
     * primary goes, the cursor is reset, a new primary comes (here over
     * the same memory, kept, so the picture stays the reference's), and
     * the guest's driver sets its cursor again. */
    spice_qxl_destroy_primary_surface(&dd->qxl, 0);
    spice_qxl_reset_cursor(&dd->qxl);
    create_primary(dd, QXL_SURF_FLAG_KEEP_DATA);
    emit(dd, "frame: primary surface re-created");
    g_mutex_lock(&dd->lock);
    bool shown = dd->cfg.cursor && dd->cursor_shown;
    int x = dd->cx, y = dd->cy;
    g_mutex_unlock(&dd->lock);
    if (shown) {
        cursor_set(dd, x, y);
        cursor_wakeup(dd);
    }
}

void demo_display_detach(DemoDisplay *dd)
{
    if (!dd) {
        return;
    }
    if (dd->frame_timer) {
        timer_remove(dd, dd->frame_timer);
        dd->frame_timer = 0;
    }
    if (dd->drain_timer) {
        timer_remove(dd, dd->drain_timer);
        dd->drain_timer = 0;
    }
    if (!dd->attached) {
        return;
    }
    dd->attached = false;
    /* Commands the server has not taken would only find the surface
     * gone; they stay in `live` until demo_display_free(). */
    g_mutex_lock(&dd->lock);
    g_queue_clear(&dd->draw_queue);
    g_queue_clear(&dd->cursor_queue);
    dd->queued_bytes = 0;
    g_mutex_unlock(&dd->lock);
    spice_qxl_destroy_primary_surface(&dd->qxl, 0);
    spice_server_remove_interface(&dd->qxl.base);
}

void demo_display_free(DemoDisplay *dd)
{
    if (!dd) {
        return;
    }
    /* No server calls here: it may be gone already. */
    if (dd->frame_timer) {
        timer_remove(dd, dd->frame_timer);
    }
    if (dd->drain_timer) {
        timer_remove(dd, dd->drain_timer);
    }
    g_clear_pointer(&dd->context, g_main_context_unref);
    /* Whatever the server still held (or never took) goes now. */
    g_queue_clear(&dd->draw_queue);
    g_queue_clear(&dd->cursor_queue);
    g_hash_table_destroy(dd->live);
    g_mutex_clear(&dd->lock);
    demo_scenes_free(dd->scenes);
    image_clear(&dd->cursor_shape);
    image_clear(&dd->stamp);
    g_free(dd->primary);
    g_free(dd->ref);
    g_free(dd->dump_path);
    g_free(dd);
}
