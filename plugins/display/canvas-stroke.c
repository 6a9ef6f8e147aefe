/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * canvas-stroke.c: QXL_DRAW_STROKE paths.
 *
 * The reference canvas draws every stroke as X11 zero-width lines
 * whatever the line width (Windows cosmetic lines): 28.4 points rounded
 * to pixels, Bezier curves flattened by subdivision, Bresenham with the
 * X server's default tie-breaking bias, the end point of every segment
 * left out (CapNotLast) and, for STYLED lines, an on/off dash pattern that
 * runs on across the segments of one polyline. This file follows those
 * rules; only the pixels inside the clip region are visited, so a hostile
 * path costs at most the clipped length of each segment.
 */
#include <math.h>
#include <stdlib.h>

#include <glib.h>
#include <spice/enums.h>

#include "canvas-internal.h"

typedef struct StrokeCtx {
    const PixelView *dst;
    pixman_region32_t *region;
    pixman_box32_t ext;
    uint8_t rop3;
    const RopBrush *brush;
    /* Dashes: dash[i] pixels, on for even i; n_dash == 0 draws solid. */
    uint8_t dash[256];
    int n_dash;
    uint32_t dash_total;
    uint32_t dash_offset;
    uint64_t drawn; /* pixels stepped so far in the current polyline */
    GArray *points; /* DrPoint, whole pixels */
} StrokeCtx;

/* The reference's rounding: a fraction above one half rounds up. */
static int fix_to_int(int32_t v)
{
    int r = v >> 4;
    return (v & 0x0f) > 8 ? r + 1 : r;
}

static int32_t to_fix(int v)
{
    int64_t f = (int64_t)v * 16;
    return f > INT32_MAX ? INT32_MAX : f < INT32_MIN ? INT32_MIN : (int32_t)f;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

static bool dash_on(const StrokeCtx *ctx, uint64_t k)
{
    if (ctx->n_dash == 0) {
        return true;
    }
    uint64_t phase = (ctx->dash_offset + k) % ctx->dash_total;
    for (int i = 0; i < ctx->n_dash; i++) {
        if (phase < ctx->dash[i]) {
            return (i & 1) == 0;
        }
        phase -= ctx->dash[i];
    }
    return false;
}

static void plot(StrokeCtx *ctx, int64_t x, int64_t y, uint64_t k)
{
    if (x < ctx->ext.x1 || x >= ctx->ext.x2 || y < ctx->ext.y1 || y >= ctx->ext.y2) {
        return;
    }
    if (!pixman_region32_contains_point(ctx->region, (int)x, (int)y, NULL) || !dash_on(ctx, k)) {
        return;
    }
    canvas_rop_pixel(ctx->dst, (int)x, (int)y, ctx->rop3, ctx->brush);
}

/*
 * One segment, its last point excluded. The X server's Bresenham keeps
 * e = 2*k*minor - 2*m*major - major - bias in [-2*major, 0) after k major
 * steps and m minor steps; solving for m lets a clipped line start its
 * loop at the first visible major coordinate. The bias prefers the axial
 * step on ties in octants 2 to 5 (DEFAULTZEROLINEBIAS).
 */
static void draw_segment(StrokeCtx *ctx, int x1, int y1, int x2, int y2)
{
    int64_t dx = (int64_t)x2 - x1, dy = (int64_t)y2 - y1;
    int sx = dx < 0 ? -1 : 1, sy = dy < 0 ? -1 : 1;
    int64_t adx = dx < 0 ? -dx : dx, ady = dy < 0 ? -dy : dy;
    bool y_major = adx < ady;
    int octant = (dx < 0 ? 4 : 0) | (dy < 0 ? 2 : 0) | (y_major ? 1 : 0);
    const unsigned bias_octants = (1u << 3) | (1u << 7) | (1u << 6) | (1u << 4);
    int64_t bias = (bias_octants >> octant) & 1;
    int64_t len = y_major ? ady : adx;
    int64_t minor = y_major ? adx : ady;
    uint64_t base = ctx->drawn;

    ctx->drawn += (uint64_t)len;
    if (len == 0) {
        return;
    }

    /* Major-axis pixels k in [0, len) that fall inside the clip extents. */
    int64_t maj0 = y_major ? y1 : x1;
    int smaj = y_major ? sy : sx;
    int64_t lo = y_major ? ctx->ext.y1 : ctx->ext.x1;
    int64_t hi = (y_major ? ctx->ext.y2 : ctx->ext.x2) - 1;
    int64_t k_first, k_last;
    if (smaj > 0) {
        k_first = lo - maj0;
        k_last = hi - maj0;
    } else {
        k_first = maj0 - hi;
        k_last = maj0 - lo;
    }
    if (k_first < 0) {
        k_first = 0;
    }
    if (k_last > len - 1) {
        k_last = len - 1;
    }
    if (k_first > k_last) {
        return;
    }

    int64_t e1 = 2 * minor, e3 = -2 * len;
    int64_t m = floor_div(2 * k_first * minor - len - bias, 2 * len) + 1;
    int64_t e = -len - bias + k_first * e1 - m * 2 * len;
    int64_t min0 = y_major ? x1 : y1;
    int smin = y_major ? sx : sy;
    for (int64_t k = k_first; k <= k_last; k++) {
        int64_t a = maj0 + k * smaj, b = min0 + m * smin;
        if (y_major) {
            plot(ctx, b, a, base + (uint64_t)k);
        } else {
            plot(ctx, a, b, base + (uint64_t)k);
        }
        e += e1;
        if (e >= 0) {
            m++;
            e += e3;
        }
    }
}

static void flush_polyline(StrokeCtx *ctx)
{
    DrPoint *p = (DrPoint *)(void *)ctx->points->data;
    ctx->drawn = 0;
    for (guint i = 0; i + 1 < ctx->points->len; i++) {
        draw_segment(ctx, p[i].x, p[i].y, p[i + 1].x, p[i + 1].y);
    }
    g_array_set_size(ctx->points, 0);
}

static void append_point(StrokeCtx *ctx, int x, int y)
{
    DrPoint p = { x, y };
    g_array_append_val(ctx->points, p);
}

/*
 * The reference's flatness test in 28.4 units: stop when the squared
 * distances of both control points from the chord, times 8, stay under
 * the chord's squared length. Exact integer arithmetic while it cannot
 * overflow, floating point beyond (only absurdly long curves get there).
 */
static bool bezier_flat(const DrPoint *p0, const DrPoint *p1, const DrPoint *p2, const DrPoint *p3)
{
    int64_t ax = (int64_t)p1->x - p0->x, ay = (int64_t)p1->y - p0->y;
    int64_t bx = (int64_t)p3->x - p0->x, by = (int64_t)p3->y - p0->y;
    int64_t cx = (int64_t)p2->x - p3->x, cy = (int64_t)p2->y - p3->y;
    const int64_t lim = 1 << 15;
    if (llabs(ax) < lim && llabs(ay) < lim && llabs(bx) < lim && llabs(by) < lim &&
        llabs(cx) < lim && llabs(cy) < lim) {
        int64_t a2 = (ax * ax + ay * ay) >> 4, b2 = (bx * bx + by * by) >> 4;
        int64_t c2 = (cx * cx + cy * cy) >> 4;
        int64_t ab = (ax * bx + ay * by) >> 4, cb = (cx * -bx + cy * -by) >> 4;
        int64_t h1 = (a2 * b2 - ab * ab) >> 3, h2 = (c2 * b2 - cb * cb) >> 3;
        return h1 < b2 && h2 < b2;
    }
    double a2 = ((double)ax * ax + (double)ay * ay) / 16,
           b2 = ((double)bx * bx + (double)by * by) / 16;
    double c2 = ((double)cx * cx + (double)cy * cy) / 16;
    double ab = ((double)ax * bx + (double)ay * by) / 16;
    double cb = ((double)cx * -bx + (double)cy * -by) / 16;
    return (a2 * b2 - ab * ab) / 8 < b2 && (c2 * b2 - cb * cb) / 8 < b2;
}

static void bezier(StrokeCtx *ctx, DrPoint p0, DrPoint p1, DrPoint p2, DrPoint p3, int depth)
{
    /* The depth limit bounds hostile curves to 2^16 pieces. */
    if (depth >= 16 || bezier_flat(&p0, &p1, &p2, &p3)) {
        append_point(ctx, fix_to_int(p3.x), fix_to_int(p3.y));
        return;
    }
    DrPoint p01 = { (int32_t)(((int64_t)p0.x + p1.x) / 2), (int32_t)(((int64_t)p0.y + p1.y) / 2) };
    DrPoint p12 = { (int32_t)(((int64_t)p1.x + p2.x) / 2), (int32_t)(((int64_t)p1.y + p2.y) / 2) };
    DrPoint p23 = { (int32_t)(((int64_t)p2.x + p3.x) / 2), (int32_t)(((int64_t)p2.y + p3.y) / 2) };
    DrPoint p012 = { (int32_t)(((int64_t)p01.x + p12.x) / 2),
                     (int32_t)(((int64_t)p01.y + p12.y) / 2) };
    DrPoint p123 = { (int32_t)(((int64_t)p12.x + p23.x) / 2),
                     (int32_t)(((int64_t)p12.y + p23.y) / 2) };
    DrPoint mid = { (int32_t)(((int64_t)p012.x + p123.x) / 2),
                    (int32_t)(((int64_t)p012.y + p123.y) / 2) };
    bezier(ctx, p0, p01, p012, mid, depth + 1);
    bezier(ctx, mid, p123, p23, p3, depth + 1);
}

/* Dash lengths are whole pixels stored in bytes, as X keeps them; with
 * START_WITH_GAP the reference rotates the list by one and starts the
 * pattern one (rotated) dash in. */
static void setup_dashes(StrokeCtx *ctx, const DrLineAttr *attr)
{
    ctx->n_dash = 0;
    if (!(attr->flags & SPICE_LINE_FLAGS_STYLED) || attr->style_nseg == 0 || !attr->style) {
        return;
    }
    int n = attr->style_nseg;
    for (int i = 0; i < n; i++) {
        if (attr->flags & SPICE_LINE_FLAGS_START_WITH_GAP) {
            ctx->dash[i] = (uint8_t)fix_to_int((int32_t)attr->style[(i + 1) % n]);
        } else {
            ctx->dash[i] = (uint8_t)fix_to_int((int32_t)attr->style[i]);
        }
        ctx->dash_total += ctx->dash[i];
    }
    if (ctx->dash_total == 0) {
        return; /* an all-zero pattern draws solid rather than nothing */
    }
    ctx->n_dash = n;
    ctx->dash_offset =
        (attr->flags & SPICE_LINE_FLAGS_START_WITH_GAP) ? ctx->dash[0] % ctx->dash_total : 0;
}

void canvas_stroke_path(const PixelView *dst, pixman_region32_t *region, const DrPath *path,
                        const DrLineAttr *attr, uint8_t rop3, const RopBrush *brush)
{
    if (!path || !pixman_region32_not_empty(region)) {
        return;
    }
    StrokeCtx ctx = { 0 };
    ctx.dst = dst;
    ctx.region = region;
    ctx.ext = *pixman_region32_extents(region);
    ctx.rop3 = rop3;
    ctx.brush = brush;
    ctx.points = g_array_new(FALSE, FALSE, sizeof(DrPoint));
    setup_dashes(&ctx, attr);

    for (uint32_t s = 0; s < path->n_segments; s++) {
        const DrPathSegment *seg = &path->segments[s];
        const DrPoint *p = seg->points, *end = seg->points + seg->n_points;

        /* A segment that continues nothing starts a polyline, as BEGIN does. */
        if (p < end && ((seg->flags & SPICE_PATH_BEGIN) || ctx.points->len == 0)) {
            flush_polyline(&ctx);
            append_point(&ctx, fix_to_int(p->x), fix_to_int(p->y));
            p++;
        }
        if (seg->flags & SPICE_PATH_BEZIER) {
            for (; p + 2 < end; p += 3) {
                const DrPoint *last = &g_array_index(ctx.points, DrPoint, ctx.points->len - 1);
                DrPoint p0 = { to_fix(last->x), to_fix(last->y) };
                bezier(&ctx, p0, p[0], p[1], p[2], 0);
            }
        } else {
            for (; p < end; p++) {
                append_point(&ctx, fix_to_int(p->x), fix_to_int(p->y));
            }
        }
        if (seg->flags & SPICE_PATH_END) {
            if ((seg->flags & SPICE_PATH_CLOSE) && ctx.points->len > 0) {
                DrPoint first = g_array_index(ctx.points, DrPoint, 0);
                g_array_append_val(ctx.points, first);
            }
            flush_polyline(&ctx);
        }
    }
    flush_polyline(&ctx);
    g_array_free(ctx.points, TRUE);
}
