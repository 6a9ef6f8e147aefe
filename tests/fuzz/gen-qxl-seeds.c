/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * gen-qxl-seeds.c: writes the starting corpus of fuzz-qxl (well-formed
 * commands of each kind) into tests/fuzz/seeds/fuzz-qxl/. Not part of
 * the build; run by hand when the corpus needs refreshing:
 *   cc -I/usr/include/spice-1 gen-qxl-seeds.c -o /tmp/gen && /tmp/gen seeds/fuzz-qxl
 * Guest pointers are offsets into the fuzzer's guest RAM, which starts at
 * byte 1 of each file.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <spice/enums.h>
#include <spice/qxl_dev.h>

static unsigned char ram[4096];
static size_t used;

static size_t put(const void *p, size_t n)
{
    size_t at = (used + 7) & ~(size_t)7;
    memcpy(ram + at, p, n);
    used = at + n;
    return at;
}

static void save(const char *dir, const char *name, unsigned char kind)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fputc(kind, f);
    fwrite(ram, 1, used, f);
    fclose(f);
    memset(ram, 0, sizeof(ram));
    used = 0;
}

static QXLDrawable drawable(uint8_t type)
{
    QXLDrawable d;
    memset(&d, 0, sizeof(d));
    d.type = type;
    d.bbox = (QXLRect){ .top = 2, .left = 3, .bottom = 20, .right = 30 };
    d.surfaces_dest[0] = d.surfaces_dest[1] = d.surfaces_dest[2] = -1;
    return d;
}

static size_t bitmap(uint8_t format, uint32_t w, uint32_t h, uint32_t stride, size_t pal)
{
    QXLImage img;
    memset(&img, 0, sizeof(img));
    img.descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    img.descriptor.width = w;
    img.descriptor.height = h;
    img.bitmap.format = format;
    img.bitmap.flags = QXL_BITMAP_DIRECT | QXL_BITMAP_TOP_DOWN;
    img.bitmap.x = w;
    img.bitmap.y = h;
    img.bitmap.stride = stride;
    img.bitmap.palette = pal;
    size_t at = put(&img, sizeof(img));
    unsigned char px[1024];
    for (unsigned i = 0; i < sizeof(px); i++) {
        px[i] = (unsigned char)(i * 7);
    }
    size_t data = put(px, (size_t)stride * h);
    ((QXLImage *)(ram + at))->bitmap.data = data;
    return at;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    QXLDrawable d;

    d = drawable(QXL_DRAW_FILL);
    d.u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.fill.brush.u.color = 0x336699;
    d.u.fill.rop_descriptor = SPICE_ROPD_OP_PUT;
    put(&d, sizeof(d));
    save(dir, "fill", 0);

    size_t at = put(&d, sizeof(d));
    size_t img = bitmap(SPICE_BITMAP_FMT_32BIT, 8, 8, 32, 0);
    d = drawable(QXL_DRAW_COPY);
    d.u.copy.src_bitmap = img;
    d.u.copy.src_area = (QXLRect){ .bottom = 8, .right = 8 };
    d.u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;
    memcpy(ram + at, &d, sizeof(d));
    save(dir, "copy32", 0);

    at = put(&d, sizeof(d));
    uint32_t pal[2 + 3] = { 0 };
    QXLPalette *p = (QXLPalette *)pal;
    p->num_ents = 2;
    size_t pal_at = put(pal, sizeof(QXLPalette) + 8);
    img = bitmap(SPICE_BITMAP_FMT_1BIT_BE, 16, 4, 2, pal_at);
    d = drawable(QXL_DRAW_OPAQUE);
    d.u.opaque.src_bitmap = img;
    d.u.opaque.src_area = (QXLRect){ .bottom = 4, .right = 16 };
    d.u.opaque.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.opaque.rop_descriptor = SPICE_ROPD_OP_XOR;
    memcpy(ram + at, &d, sizeof(d));
    save(dir, "opaque1bit", 0);

    d = drawable(QXL_COPY_BITS);
    d.u.copy_bits.src_pos = (QXLPoint){ 5, 6 };
    put(&d, sizeof(d));
    save(dir, "copybits", 0);

    at = put(&d, sizeof(d));
    QXLRect rects[2] = { { .top = 0, .left = 0, .bottom = 5, .right = 5 },
                         { .top = 6, .left = 6, .bottom = 9, .right = 9 } };
    QXLClipRects cr;
    memset(&cr, 0, sizeof(cr));
    cr.num_rects = 2;
    cr.chunk.data_size = sizeof(rects);
    size_t cr_at = put(&cr, sizeof(cr));
    put(rects, sizeof(rects));
    d = drawable(QXL_DRAW_BLACKNESS);
    d.clip.type = SPICE_CLIP_TYPE_RECTS;
    d.clip.data = cr_at;
    memcpy(ram + at, &d, sizeof(d));
    save(dir, "blackness-clip", 0);

    at = put(&d, sizeof(d));
    QXLPathSeg seg = { .flags = SPICE_PATH_BEGIN | SPICE_PATH_END, .count = 2 };
    QXLPointFix pts[2] = { { 16, 16 }, { 400, 200 } };
    QXLPath path;
    memset(&path, 0, sizeof(path));
    path.data_size = sizeof(seg) + sizeof(pts);
    path.chunk.data_size = path.data_size;
    size_t path_at = put(&path, sizeof(path));
    memcpy(ram + path_at + sizeof(path), &seg, sizeof(seg));
    memcpy(ram + path_at + sizeof(path) + sizeof(seg), pts, sizeof(pts));
    used = path_at + sizeof(path) + sizeof(seg) + sizeof(pts);
    d = drawable(QXL_DRAW_STROKE);
    d.u.stroke.path = path_at;
    d.u.stroke.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.stroke.fore_mode = SPICE_ROPD_OP_PUT;
    memcpy(ram + at, &d, sizeof(d));
    save(dir, "stroke", 0);

    at = put(&d, sizeof(d));
    QXLString str;
    memset(&str, 0, sizeof(str));
    QXLRasterGlyph gl = { .render_pos = { 4, 10 }, .width = 8, .height = 2 };
    str.length = 1;
    str.flags = SPICE_STRING_FLAGS_RASTER_A1;
    str.data_size = sizeof(gl) + 2;
    str.chunk.data_size = str.data_size;
    size_t str_at = put(&str, sizeof(str));
    memcpy(ram + str_at + sizeof(str), &gl, sizeof(gl));
    ram[str_at + sizeof(str) + sizeof(gl)] = 0xf0;
    ram[str_at + sizeof(str) + sizeof(gl) + 1] = 0x0f;
    used = str_at + sizeof(str) + str.data_size;
    d = drawable(QXL_DRAW_TEXT);
    d.u.text.str = str_at;
    d.u.text.fore_brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.text.fore_brush.u.color = 0xffffff;
    d.u.text.fore_mode = SPICE_ROPD_OP_PUT;
    memcpy(ram + at, &d, sizeof(d));
    save(dir, "text", 0);

    QXLSurfaceCmd sc;
    memset(&sc, 0, sizeof(sc));
    sc.surface_id = 1;
    sc.u.surface_create = (QXLSurface){
        .format = SPICE_SURFACE_FMT_32_xRGB, .width = 8, .height = 8, .stride = 32, .data = 256
    };
    put(&sc, sizeof(sc));
    used = 256 + 32 * 8;
    save(dir, "surface", 1);

    QXLCursorCmd cc;
    memset(&cc, 0, sizeof(cc));
    cc.type = QXL_CURSOR_SET;
    cc.u.set.visible = 1;
    at = put(&cc, sizeof(cc));
    QXLCursor cur;
    memset(&cur, 0, sizeof(cur));
    cur.header.type = SPICE_CURSOR_TYPE_ALPHA;
    cur.header.width = 2;
    cur.header.height = 2;
    cur.data_size = 16;
    cur.chunk.data_size = 16;
    size_t cur_at = put(&cur, sizeof(cur));
    used += 16;
    ((QXLCursorCmd *)(ram + at))->u.set.shape = cur_at;
    save(dir, "cursor", 2);

    QXLUpdateCmd up = { .area = { .bottom = 4, .right = 4 }, .update_id = 1 };
    put(&up, sizeof(up));
    save(dir, "update", 3);

    QXLMessage msg;
    memset(&msg, 0, sizeof(msg));
    put(&msg, sizeof(msg));
    put("hello", 6);
    save(dir, "message", 4);

    QXLMonitorsConfig mc = { .count = 1, .max_allowed = 2 };
    put(&mc, sizeof(mc));
    QXLHead h = { .width = 64, .height = 64 };
    put(&h, sizeof(h));
    save(dir, "monitors", 5);
    return 0;
}
