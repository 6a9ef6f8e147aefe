/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-qxl-parse.c: memory slot translation and QXL command parsing with
 * good and hostile guest data. A buffer stands in for guest RAM, mapped
 * through a real memory slot (group 1, slot 1, generation 5, guest
 * physical base 0x10000000) as a QXL device would map it.
 */
#include <stddef.h>
#include <string.h>

#include <glib.h>

#include "memslot.h"
#include "qxl-parse.h"

#define RAM_SIZE   (1024 * 1024)
#define GUEST_BASE 0x10000000ull
#define GROUP      1
#define SLOT       1
#define GEN        5

typedef struct Guest {
    uint8_t *ram;
    MemSlots slots;
    ParseContext ctx;
    size_t next; /* allocation cursor */
} Guest;

static QXLPHYSICAL phys_with(uint64_t slot, uint64_t gen, uint64_t offset)
{
    return (slot << 56) | (gen << 48) | (GUEST_BASE + offset);
}

static QXLPHYSICAL phys(size_t offset)
{
    return phys_with(SLOT, GEN, offset);
}

static void guest_init(Guest *g)
{
    g->ram = g_malloc0(RAM_SIZE);
    const char *why = NULL;
    g_assert_true(memslots_init(&g->slots, 2, 8, 8, 8, &why));
    uintptr_t start = (uintptr_t)g->ram;
    g_assert_true(memslots_add(&g->slots, GROUP, SLOT, GEN, start, start + RAM_SIZE,
                               start - GUEST_BASE, &why));
    g->ctx = (ParseContext){ .slots = &g->slots, .group = GROUP, .n_surfaces = 16 };
    g->next = 64;
}

static void guest_fini(Guest *g)
{
    g_free(g->ram);
}

/* Place bytes in guest RAM; returns their guest offset. */
static size_t put(Guest *g, const void *data, size_t size)
{
    size_t at = (g->next + 7) & ~(size_t)7;
    g_assert_cmpuint(at + size, <=, RAM_SIZE);
    memcpy(g->ram + at, data, size);
    g->next = at + size;
    return at;
}

static size_t alloc(Guest *g, size_t size)
{
    size_t at = (g->next + 7) & ~(size_t)7;
    g_assert_cmpuint(at + size, <=, RAM_SIZE);
    g->next = at + size;
    return at;
}

/* ---- memslots ----------------------------------------------------------------------- */

static void test_memslot(void)
{
    Guest g;
    guest_init(&g);
    const char *why = NULL;
    /* Good. */
    uint8_t *p = memslot_get(&g.slots, GROUP, phys(100), 10, &why);
    g_assert_true(p == g.ram + 100);
    g_assert_true(memslot_get(&g.slots, GROUP, phys(RAM_SIZE - 4), 4, &why) ==
                  g.ram + RAM_SIZE - 4);
    g_assert_nonnull(memslot_get(&g.slots, GROUP, phys(RAM_SIZE), 0, &why));
    /* Past the end, by one byte and by a lot. */
    g_assert_null(memslot_get(&g.slots, GROUP, phys(RAM_SIZE - 4), 5, &why));
    g_assert_cmpstr(why, ==, "address range outside its memory slot");
    g_assert_null(memslot_get(&g.slots, GROUP, phys(0), SIZE_MAX, &why));
    g_assert_null(memslot_get(&g.slots, GROUP, phys(RAM_SIZE + 1), 0, &why));
    /* Before the start (guest address below the slot). */
    g_assert_null(memslot_get(&g.slots, GROUP, phys_with(SLOT, GEN, 0) - 1, 1, &why));
    /* Offsets that wrap around the address space. */
    g_assert_null(memslot_get(&g.slots, GROUP, phys_with(SLOT, GEN, 0xffffffffffffull - GUEST_BASE),
                              16, &why));
    /* Slot id equal to the number of slots (the CVE-2019-3813 off-by-one). */
    g_assert_null(memslot_get(&g.slots, GROUP, phys_with(8, GEN, 0), 1, &why));
    g_assert_cmpstr(why, ==, "memory slot id out of range");
    g_assert_null(memslot_get(&g.slots, GROUP, phys_with(255, GEN, 0), 1, &why));
    /* Group equal to the number of groups. */
    g_assert_null(memslot_get(&g.slots, 2, phys(0), 1, &why));
    g_assert_cmpstr(why, ==, "memory slot group out of range");
    g_assert_null(memslot_get(&g.slots, UINT32_MAX, phys(0), 1, &why));
    /* An unused slot, a wrong generation. */
    g_assert_null(memslot_get(&g.slots, GROUP, phys_with(2, GEN, 0), 1, &why));
    g_assert_cmpstr(why, ==, "memory slot not in use");
    g_assert_null(memslot_get(&g.slots, GROUP, phys_with(SLOT, GEN + 1, 0), 1, &why));
    g_assert_cmpstr(why, ==, "memory slot generation mismatch (stale address)");
    g_assert_null(memslot_get(&g.slots, 0, phys(0), 1, &why));
    /* Deleting and resetting take effect. */
    g_assert_true(memslots_del(&g.slots, GROUP, SLOT, &why));
    g_assert_null(memslot_get(&g.slots, GROUP, phys(100), 1, &why));
    uintptr_t start = (uintptr_t)g.ram;
    g_assert_true(memslots_add(&g.slots, GROUP, SLOT, GEN, start, start + RAM_SIZE,
                               start - GUEST_BASE, &why));
    memslots_reset(&g.slots);
    g_assert_null(memslot_get(&g.slots, GROUP, phys(100), 1, &why));
    /* Bad slot definitions. */
    g_assert_false(memslots_add(&g.slots, GROUP, 8, 0, 0, 10, 0, &why));
    g_assert_false(memslots_add(&g.slots, 2, 0, 0, 0, 10, 0, &why));
    g_assert_false(memslots_add(&g.slots, GROUP, 0, 256, 0, 10, 0, &why));
    g_assert_false(memslots_add(&g.slots, GROUP, 0, 0, 10, 5, 0, &why));
    /* Bad declarations from the host. */
    MemSlots m;
    g_assert_false(memslots_init(&m, 0, 8, 8, 8, &why));
    g_assert_false(memslots_init(&m, 17, 8, 8, 8, &why));
    g_assert_false(memslots_init(&m, 2, 0, 8, 8, &why));
    g_assert_false(memslots_init(&m, 2, 257, 8, 8, &why));
    g_assert_false(memslots_init(&m, 2, 8, 40, 8, &why));
    g_assert_false(memslots_init(&m, 2, 8, 8, 2, &why)); /* 8 slots need 3 id bits */
    /* Zero id/generation bits: one slot, no generation. */
    g_assert_true(memslots_init(&m, 1, 1, 0, 0, &why));
    g_assert_true(memslots_add(&m, 0, 0, 0, start, start + RAM_SIZE, 0, &why));
    g_assert_true(memslot_get(&m, 0, (QXLPHYSICAL)start + 5, 1, &why) == g.ram + 5);
    guest_fini(&g);
}

/* ---- images ------------------------------------------------------------------------- */

/* A DRAW_COPY of image at img_off onto surface 0. */
static size_t put_copy(Guest *g, size_t img_off)
{
    QXLDrawable d;
    memset(&d, 0, sizeof(d));
    d.release_info.id = 0x1234;
    d.type = QXL_DRAW_COPY;
    d.effect = QXL_EFFECT_OPAQUE;
    d.bbox = (QXLRect){ .top = 0, .left = 0, .bottom = 4, .right = 4 };
    d.surfaces_dest[0] = d.surfaces_dest[1] = d.surfaces_dest[2] = -1;
    d.u.copy.src_bitmap = phys(img_off);
    d.u.copy.src_area = (QXLRect){ .top = 0, .left = 0, .bottom = 4, .right = 4 };
    d.u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;
    return put(g, &d, sizeof(d));
}

static size_t put_bitmap(Guest *g, uint8_t format, uint8_t flags, uint32_t x, uint32_t y,
                         uint32_t stride, QXLPHYSICAL palette, QXLPHYSICAL data)
{
    QXLImage img;
    memset(&img, 0, sizeof(img));
    img.descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    img.descriptor.width = x;
    img.descriptor.height = y;
    img.descriptor.id = 77;
    img.bitmap.format = format;
    img.bitmap.flags = flags;
    img.bitmap.x = x;
    img.bitmap.y = y;
    img.bitmap.stride = stride;
    img.bitmap.palette = palette;
    img.bitmap.data = data;
    return put(g, &img, sizeof(img));
}

static ParsedDrawable *parse_at(Guest *g, size_t off, QXLReleaseInfo **rel, const char **why)
{
    return qxl_parse_drawable(&g->ctx, phys(off), rel, why);
}

static void expect_bad(Guest *g, size_t draw_off, const char *reason)
{
    QXLReleaseInfo *rel = NULL;
    const char *why = NULL;
    ParsedDrawable *pd = parse_at(g, draw_off, &rel, &why);
    g_assert_null(pd);
    /* The release pointer is known whenever the header was readable. */
    g_assert_true(rel == (QXLReleaseInfo *)(g->ram + draw_off));
    if (reason) {
        g_assert_cmpstr(why, ==, reason);
    }
}

static void test_copy_flat(void)
{
    Guest g;
    guest_init(&g);
    size_t pixels = alloc(&g, 4 * 4 * 4);
    for (int i = 0; i < 64; i++) {
        g.ram[pixels + i] = (uint8_t)i;
    }
    size_t img = put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, QXL_BITMAP_DIRECT | QXL_BITMAP_TOP_DOWN, 4,
                            4, 16, 0, phys(pixels));
    size_t draw = put_copy(&g, img);
    QXLReleaseInfo *rel;
    const char *why = NULL;
    ParsedDrawable *pd = parse_at(&g, draw, &rel, &why);
    g_assert_nonnull(pd);
    g_assert_true(rel == (QXLReleaseInfo *)(g.ram + draw));
    const Drawable *d = &pd->d;
    g_assert_cmpuint(d->type, ==, QXL_DRAW_COPY);
    g_assert_cmpint(d->bbox.x2, ==, 4);
    g_assert_false(d->clip);
    DrImage *im = d->u.copy.src;
    g_assert_cmpint(im->kind, ==, DR_IMAGE_BITMAP);
    g_assert_cmpuint(im->id, ==, 77);
    g_assert_true(im->bitmap.top_down);
    /* Flat bitmaps are used in place. */
    g_assert_true(im->bitmap.data == g.ram + pixels);
    parsed_drawable_free(pd);
    guest_fini(&g);
}

static size_t put_chunk(Guest *g, uint32_t size, QXLPHYSICAL next, uint8_t fill)
{
    size_t at = alloc(g, sizeof(QXLDataChunk) + size);
    QXLDataChunk c = { .data_size = size, .next_chunk = next };
    memcpy(g->ram + at, &c, sizeof(c));
    memset(g->ram + at + sizeof(c), fill, size);
    return at;
}

static void test_copy_chunked(void)
{
    Guest g;
    guest_init(&g);
    /* 4x4 32-bit = 64 bytes over three chunks, one of them empty. */
    size_t c3 = put_chunk(&g, 24, 0, 0xcc);
    size_t c2 = put_chunk(&g, 0, phys(c3), 0);
    size_t c1 = put_chunk(&g, 40, phys(c2), 0xaa);
    size_t img = put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, 0, 4, 4, 16, 0, phys(c1));
    size_t draw = put_copy(&g, img);
    QXLReleaseInfo *rel;
    const char *why = NULL;
    ParsedDrawable *pd = parse_at(&g, draw, &rel, &why);
    g_assert_nonnull(pd);
    const uint8_t *data = pd->d.u.copy.src->bitmap.data;
    g_assert_cmpuint(data[0], ==, 0xaa);
    g_assert_cmpuint(data[39], ==, 0xaa);
    g_assert_cmpuint(data[40], ==, 0xcc);
    g_assert_cmpuint(data[63], ==, 0xcc);
    parsed_drawable_free(pd);

    /* Too little data in the chain. */
    size_t short1 = put_chunk(&g, 40, 0, 1);
    expect_bad(&g,
               put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, 0, 4, 4, 16, 0, phys(short1))),
               "data chunks hold less than their data size");
    /* Too much. */
    size_t long1 = put_chunk(&g, 80, 0, 1);
    expect_bad(&g,
               put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, 0, 4, 4, 16, 0, phys(long1))),
               "data chunks hold more than their data size");
    /* A loop of empty chunks ends at the chunk limit. */
    size_t loop = alloc(&g, sizeof(QXLDataChunk));
    QXLDataChunk self = { .data_size = 0, .next_chunk = phys(loop) };
    memcpy(g.ram + loop, &self, sizeof(self));
    expect_bad(&g, put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, 0, 4, 4, 16, 0, phys(loop))),
               "data chunk chain too long (a loop?)");
    /* A loop of non-empty chunks runs out of room first. */
    size_t loop2 = alloc(&g, sizeof(QXLDataChunk) + 8);
    QXLDataChunk self2 = { .data_size = 8, .next_chunk = phys(loop2) };
    memcpy(g.ram + loop2, &self2, sizeof(self2));
    expect_bad(&g,
               put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, 0, 4, 4, 16, 0, phys(loop2))),
               "data chunks hold more than their data size");
    /* A chunk pointing outside the slot. */
    size_t bad_next = put_chunk(&g, 8, phys(RAM_SIZE + 100), 1);
    expect_bad(&g,
               put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, 0, 4, 4, 16, 0, phys(bad_next))),
               "address range outside its memory slot");
    guest_fini(&g);
}

static void test_bitmap_hostile(void)
{
    Guest g;
    guest_init(&g);
    size_t px = alloc(&g, 4096);
    QXLPHYSICAL data = phys(px);
    uint8_t direct = QXL_BITMAP_DIRECT;
    /* Stride too small for the width. */
    expect_bad(&g, put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, direct, 4, 4, 15, 0, data)),
               "bitmap stride smaller than its width needs");
    expect_bad(&g, put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_24BIT, direct, 10, 1, 29, 0, data)),
               "bitmap stride smaller than its width needs");
    /* Huge sizes, including a product that overflows 32 bits. */
    expect_bad(&g,
               put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, direct, 0x10000, 0x10000,
                                       0x40000, 0, data)),
               "bitmap larger than 2 GiB");
    expect_bad(&g,
               put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_8BIT_A, direct, 0xffffffff, 0xffffffff,
                                       0xffffffff, 0, data)),
               "bitmap larger than 2 GiB");
    /* Flat data past the slot end. */
    expect_bad(
        &g, put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, direct, 1024, 1024, 4096, 0, data)),
        "address range outside its memory slot");
    /* Empty, unknown format, size mismatch with the descriptor. */
    expect_bad(&g, put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, direct, 0, 4, 16, 0, data)),
               "empty bitmap");
    expect_bad(&g, put_copy(&g, put_bitmap(&g, 42, direct, 4, 4, 16, 0, data)),
               "unknown bitmap format");
    size_t img = put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, direct, 4, 4, 16, 0, data);
    ((QXLImage *)(g.ram + img))->descriptor.width = 5;
    expect_bad(&g, put_copy(&g, img), "image size differs from its bitmap size");
    /* Palette formats need a palette; the palette must be readable. */
    expect_bad(&g, put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_8BIT, direct, 4, 4, 4, 0, data)),
               "palette bitmap without a palette");
    size_t pal_at = alloc(&g, sizeof(QXLPalette));
    QXLPalette pal = { .unique = 1, .num_ents = 4000 };
    memcpy(g.ram + pal_at, &pal, sizeof(pal));
    /* num_ents above 256 is capped, so this reads 1 KiB of entries. */
    size_t ok_img = put_bitmap(&g, SPICE_BITMAP_FMT_8BIT, direct, 4, 4, 4, phys(pal_at), data);
    QXLReleaseInfo *rel;
    const char *why;
    ParsedDrawable *pd = parse_at(&g, put_copy(&g, ok_img), &rel, &why);
    g_assert_nonnull(pd);
    g_assert_cmpuint(pd->d.u.copy.src->bitmap.palette_size, ==, 256);
    parsed_drawable_free(pd);
    size_t pal_end = RAM_SIZE - sizeof(QXLPalette);
    pal.num_ents = 2;
    memcpy(g.ram + pal_end, &pal, sizeof(pal));
    expect_bad(&g,
               put_copy(&g, put_bitmap(&g, SPICE_BITMAP_FMT_1BIT_LE, direct, 4, 4, 1, phys(pal_end),
                                       data)),
               "address range outside its memory slot");
    /* Image types the guest may not send. */
    size_t quic = put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, direct, 4, 4, 16, 0, data);
    ((QXLImage *)(g.ram + quic))->descriptor.type = SPICE_IMAGE_TYPE_QUIC;
    expect_bad(&g, put_copy(&g, quic), "QUIC-compressed images from the guest are not supported");
    size_t lz = put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, direct, 4, 4, 16, 0, data);
    ((QXLImage *)(g.ram + lz))->descriptor.type = SPICE_IMAGE_TYPE_LZ4;
    expect_bad(&g, put_copy(&g, lz), "unsupported image type from the guest");
    /* Surface images name a surface below n_surfaces. */
    QXLImage surf;
    memset(&surf, 0, sizeof(surf));
    surf.descriptor.type = SPICE_IMAGE_TYPE_SURFACE;
    surf.surface_image.surface_id = 16;
    expect_bad(&g, put_copy(&g, put(&g, &surf, sizeof(surf))), "surface id out of range");
    surf.surface_image.surface_id = 15;
    pd = parse_at(&g, put_copy(&g, put(&g, &surf, sizeof(surf))), &rel, &why);
    g_assert_nonnull(pd);
    g_assert_cmpint(pd->d.u.copy.src->kind, ==, DR_IMAGE_SURFACE);
    parsed_drawable_free(pd);
    /* The image pointer itself outside guest memory. */
    size_t draw = put_copy(&g, 0);
    ((QXLDrawable *)(g.ram + draw))->u.copy.src_bitmap = phys_with(SLOT, GEN + 1, 64);
    expect_bad(&g, draw, "memory slot generation mismatch (stale address)");
    guest_fini(&g);
}

static void test_drawable_hostile(void)
{
    Guest g;
    guest_init(&g);
    size_t px = alloc(&g, 64);
    size_t img = put_bitmap(&g, SPICE_BITMAP_FMT_32BIT, QXL_BITMAP_DIRECT, 4, 4, 16, 0, phys(px));
    size_t draw;

    draw = put_copy(&g, img);
    ((QXLDrawable *)(g.ram + draw))->bbox =
        (QXLRect){ .top = 5, .left = 0, .bottom = 4, .right = 4 };
    expect_bad(&g, draw, "rectangle with negative size");

    draw = put_copy(&g, img);
    ((QXLDrawable *)(g.ram + draw))->surface_id = 16;
    expect_bad(&g, draw, "surface id out of range");

    draw = put_copy(&g, img);
    ((QXLDrawable *)(g.ram + draw))->surfaces_dest[1] = 99;
    expect_bad(&g, draw, "surface id out of range");

    draw = put_copy(&g, img);
    ((QXLDrawable *)(g.ram + draw))->type = 200;
    expect_bad(&g, draw, "unknown drawing type");

    draw = put_copy(&g, img);
    ((QXLDrawable *)(g.ram + draw))->u.copy.rop_descriptor = 0x8000;
    expect_bad(&g, draw, "unknown raster operation bits");

    draw = put_copy(&g, img);
    ((QXLDrawable *)(g.ram + draw))->u.copy.scale_mode = 7;
    expect_bad(&g, draw, "unknown scale mode");

    /* Mask bitmaps must be 1 bit per pixel. */
    draw = put_copy(&g, img);
    ((QXLDrawable *)(g.ram + draw))->u.copy.mask.bitmap = phys(img);
    expect_bad(&g, draw, "mask bitmap is not 1 bit per pixel");

    /* Clip rects: fine, hostile count, inverted entries dropped. */
    QXLRect rects[3] = { { .top = 0, .left = 0, .bottom = 2, .right = 2 },
                         { .top = 3, .left = 3, .bottom = 1, .right = 4 },
                         { .top = 2, .left = 2, .bottom = 4, .right = 4 } };
    size_t cr = alloc(&g, sizeof(QXLClipRects) + sizeof(rects));
    QXLClipRects hdr = { .num_rects = 3 };
    hdr.chunk.data_size = sizeof(rects);
    memcpy(g.ram + cr, &hdr, sizeof(hdr));
    memcpy(g.ram + cr + sizeof(hdr), rects, sizeof(rects));
    draw = put_copy(&g, img);
    ((QXLDrawable *)(g.ram + draw))->clip =
        (QXLClip){ .type = SPICE_CLIP_TYPE_RECTS, .data = phys(cr) };
    QXLReleaseInfo *rel;
    const char *why;
    ParsedDrawable *pd = parse_at(&g, draw, &rel, &why);
    g_assert_nonnull(pd);
    g_assert_true(pd->d.clip);
    g_assert_cmpuint(pd->d.n_clip_rects, ==, 2);
    g_assert_cmpint(pd->d.clip_rects[1].x1, ==, 2);
    parsed_drawable_free(pd);
    ((QXLClipRects *)(g.ram + cr))->num_rects = 0xffffffff;
    expect_bad(&g, draw, "too many clip rectangles");
    ((QXLClipRects *)(g.ram + cr))->num_rects = 65536;
    expect_bad(&g, draw, "data chunks hold less than their data size");
    ((QXLDrawable *)(g.ram + draw))->clip.type = 9;
    expect_bad(&g, draw, "unknown clip type");

    /* A drawable whose struct runs past the end of guest memory. */
    size_t tail = RAM_SIZE - 16;
    QXLReleaseInfo *r2 = NULL;
    g_assert_null(qxl_parse_drawable(&g.ctx, phys(tail), &r2, &why));
    g_assert_true(r2 == (QXLReleaseInfo *)(g.ram + tail)); /* still releasable */
    g_assert_null(qxl_parse_drawable(&g.ctx, phys(RAM_SIZE - 4), &r2, &why));
    g_assert_null(r2); /* not even the release info is readable */

    /* The old (compat) layout. */
    QXLCompatDrawable cd;
    memset(&cd, 0, sizeof(cd));
    cd.type = QXL_DRAW_FILL;
    cd.bbox = (QXLRect){ .top = 1, .left = 1, .bottom = 3, .right = 3 };
    cd.u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
    cd.u.fill.brush.u.color = 0x7c00; /* red in x555 */
    cd.u.fill.rop_descriptor = SPICE_ROPD_OP_PUT;
    ParseContext compat = g.ctx;
    compat.compat = true;
    compat.compat_16bpp = true;
    pd = qxl_parse_drawable(&compat, phys(put(&g, &cd, sizeof(cd))), &rel, &why);
    g_assert_nonnull(pd);
    g_assert_cmphex(pd->d.u.fill.brush.color, ==, 0xff0000);
    g_assert_cmpuint(pd->d.surface_id, ==, 0);
    parsed_drawable_free(pd);
    guest_fini(&g);
}

/* A QXLString with one glyph of w x h at bpp, the data truncated by cut. */
static size_t put_string(Guest *g, uint16_t flags, uint16_t w, uint16_t h, unsigned bpp,
                         uint32_t cut)
{
    size_t bytes = ((size_t)w * bpp + 7) / 8 * h;
    uint32_t data_size = (uint32_t)(sizeof(QXLRasterGlyph) + bytes - cut);
    size_t at = alloc(g, sizeof(QXLString) + data_size);
    QXLString s = { .data_size = data_size, .length = 1, .flags = flags };
    s.chunk.data_size = data_size;
    memcpy(g->ram + at, &s, sizeof(s));
    QXLRasterGlyph gl = { .width = w, .height = h };
    memcpy(g->ram + at + sizeof(s), &gl, MIN(sizeof(gl), data_size));
    return at;
}

static size_t put_text(Guest *g, size_t str)
{
    QXLDrawable d;
    memset(&d, 0, sizeof(d));
    d.type = QXL_DRAW_TEXT;
    d.bbox = (QXLRect){ .bottom = 8, .right = 8 };
    d.surfaces_dest[0] = d.surfaces_dest[1] = d.surfaces_dest[2] = -1;
    d.u.text.str = phys(str);
    d.u.text.fore_brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.text.fore_mode = SPICE_ROPD_OP_PUT;
    return put(g, &d, sizeof(d));
}

static void test_text_and_path(void)
{
    Guest g;
    guest_init(&g);
    QXLReleaseInfo *rel;
    const char *why;
    ParsedDrawable *pd = parse_at(
        &g, put_text(&g, put_string(&g, SPICE_STRING_FLAGS_RASTER_A1, 9, 3, 1, 0)), &rel, &why);
    g_assert_nonnull(pd);
    g_assert_cmpuint(pd->d.u.text.str->n_glyphs, ==, 1);
    g_assert_cmpuint(pd->d.u.text.str->glyphs[0].width, ==, 9);
    parsed_drawable_free(pd);
    expect_bad(&g, put_text(&g, put_string(&g, SPICE_STRING_FLAGS_RASTER_A8, 9, 3, 8, 1)),
               "glyph bits run past the string data");
    expect_bad(&g, put_text(&g, put_string(&g, 0, 9, 3, 8, 0)),
               "string without exactly one glyph raster format");
    expect_bad(
        &g,
        put_text(&g, put_string(&g, SPICE_STRING_FLAGS_RASTER_A1 | SPICE_STRING_FLAGS_RASTER_A8, 9,
                                3, 8, 0)),
        "string without exactly one glyph raster format");

    /* Paths. */
    uint8_t buf[256];
    QXLPathSeg seg = { .flags = SPICE_PATH_BEGIN | SPICE_PATH_BEZIER, .count = 3 };
    memcpy(buf, &seg, sizeof(seg));
    memset(buf + sizeof(seg), 0, 3 * sizeof(QXLPointFix));
    uint32_t path_size = sizeof(seg) + 3 * sizeof(QXLPointFix);
    size_t path = alloc(&g, sizeof(QXLPath) + path_size);
    QXLPath ph = { .data_size = path_size };
    ph.chunk.data_size = path_size;
    memcpy(g.ram + path, &ph, sizeof(ph));
    memcpy(g.ram + path + sizeof(ph), buf, path_size);
    QXLDrawable d;
    memset(&d, 0, sizeof(d));
    d.type = QXL_DRAW_STROKE;
    d.bbox = (QXLRect){ .bottom = 8, .right = 8 };
    d.surfaces_dest[0] = d.surfaces_dest[1] = d.surfaces_dest[2] = -1;
    d.u.stroke.path = phys(path);
    d.u.stroke.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d.u.stroke.fore_mode = SPICE_ROPD_OP_PUT;
    size_t draw = put(&g, &d, sizeof(d));
    pd = parse_at(&g, draw, &rel, &why);
    g_assert_nonnull(pd);
    g_assert_cmpuint(pd->d.u.stroke.path->n_segments, ==, 1);
    g_assert_cmpuint(pd->d.u.stroke.path->segments[0].n_points, ==, 3);
    parsed_drawable_free(pd);
    /* A bezier without whole curves, a count running past the data. */
    ((QXLPathSeg *)(g.ram + path + sizeof(ph)))->count = 2;
    expect_bad(&g, draw, "bezier path segment without whole curves");
    ((QXLPathSeg *)(g.ram + path + sizeof(ph)))->count = 0x40000000;
    expect_bad(&g, draw, "path segment points run past the path data");
    ((QXLPath *)(g.ram + path))->data_size = 0xfffffff0;
    expect_bad(&g, draw, "variable-size data too large");
    /* Styled line with its style array outside memory. */
    ((QXLPath *)(g.ram + path))->data_size = path_size;
    ((QXLPathSeg *)(g.ram + path + sizeof(ph)))->count = 3;
    QXLDrawable *dp = (QXLDrawable *)(g.ram + draw);
    dp->u.stroke.attr.flags = SPICE_LINE_FLAGS_STYLED;
    dp->u.stroke.attr.style_nseg = 4;
    dp->u.stroke.attr.style = phys(RAM_SIZE - 8);
    expect_bad(&g, draw, "address range outside its memory slot");
    guest_fini(&g);
}

/* ---- surfaces, cursor, update, message, monitors ----------------------------------------- */

static void test_surface_cmd(void)
{
    Guest g;
    guest_init(&g);
    size_t mem = RAM_SIZE - 64 * 16; /* at the very end of guest memory */
    QXLSurfaceCmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.surface_id = 3;
    cmd.type = QXL_SURFACE_CMD_CREATE;
    cmd.u.surface_create = (QXLSurface){ .format = SPICE_SURFACE_FMT_32_xRGB,
                                         .width = 16,
                                         .height = 16,
                                         .stride = -64,
                                         .data = phys(mem) };
    size_t at = put(&g, &cmd, sizeof(cmd));
    ParsedSurfaceCmd out;
    const char *why;
    g_assert_true(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    g_assert_true(out.row0 == g.ram + mem + 64 * 15); /* bottom-up: top row last */
    g_assert_true(out.release == (QXLReleaseInfo *)(g.ram + at));

    QXLSurfaceCmd *c = (QXLSurfaceCmd *)(g.ram + at);
    c->u.surface_create.stride = INT32_MIN;
    g_assert_false(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    g_assert_cmpstr(why, ==, "invalid surface stride");
    c->u.surface_create.stride = 63;
    g_assert_false(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    g_assert_cmpstr(why, ==, "surface stride smaller than its width needs");
    c->u.surface_create.stride = 64;
    c->u.surface_create.height = 17; /* one row past the memory */
    g_assert_false(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    g_assert_cmpstr(why, ==, "address range outside its memory slot");
    c->u.surface_create.height = 16;
    c->u.surface_create.format = 31;
    g_assert_false(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    g_assert_cmpstr(why, ==, "unknown surface format");
    c->u.surface_create.format = SPICE_SURFACE_FMT_32_xRGB;
    c->u.surface_create.width = 16384;
    c->u.surface_create.height = 16384;
    c->u.surface_create.stride = 16384 * 16; /* 4 GiB in all */
    g_assert_false(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    g_assert_cmpstr(why, ==, "surface larger than 2 GiB");
    c->u.surface_create.width = 0;
    g_assert_false(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    c->surface_id = 16;
    g_assert_false(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    g_assert_cmpstr(why, ==, "surface id out of range");
    c->surface_id = 2;
    c->type = QXL_SURFACE_CMD_DESTROY;
    g_assert_true(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    c->type = 9;
    g_assert_false(qxl_parse_surface_cmd(&g.ctx, phys(at), &out, &why));
    guest_fini(&g);
}

static size_t put_cursor(Guest *g, uint16_t type, uint16_t w, uint16_t h, uint32_t data_size,
                         uint32_t chunk_size)
{
    size_t shape = alloc(g, sizeof(QXLCursor) + chunk_size);
    QXLCursor cur;
    memset(&cur, 0, sizeof(cur));
    cur.header = (QXLCursorHeader){ .unique = 9, .type = type, .width = w, .height = h };
    cur.data_size = data_size;
    cur.chunk.data_size = chunk_size;
    memcpy(g->ram + shape, &cur, sizeof(cur));
    memset(g->ram + shape + sizeof(cur), 0x55, chunk_size);
    QXLCursorCmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = QXL_CURSOR_SET;
    cmd.u.set.visible = 1;
    cmd.u.set.position = (QXLPoint16){ 5, 6 };
    cmd.u.set.shape = phys(shape);
    return put(g, &cmd, sizeof(cmd));
}

static void test_cursor_cmd(void)
{
    Guest g;
    guest_init(&g);
    ParsedCursorCmd c;
    const char *why;
    g_assert_true(qxl_parse_cursor_cmd(
        &g.ctx, phys(put_cursor(&g, SPICE_CURSOR_TYPE_ALPHA, 4, 2, 32, 32)), &c, &why));
    g_assert_true(c.has_shape);
    g_assert_cmpuint(c.shape_size, ==, 32);
    g_assert_cmpuint(c.shape[31], ==, 0x55);
    g_assert_cmpint(c.x, ==, 5);
    parsed_cursor_clear(&c);
    /* Mono: AND + XOR masks of ((w + 7) / 8) * h bytes each. */
    g_assert_true(qxl_parse_cursor_cmd(
        &g.ctx, phys(put_cursor(&g, SPICE_CURSOR_TYPE_MONO, 9, 2, 8, 8)), &c, &why));
    parsed_cursor_clear(&c);
    g_assert_false(qxl_parse_cursor_cmd(
        &g.ctx, phys(put_cursor(&g, SPICE_CURSOR_TYPE_ALPHA, 4, 2, 31, 31)), &c, &why));
    g_assert_cmpstr(why, ==, "cursor shape data size does not match its size and type");
    g_assert_nonnull(c.release);
    g_assert_false(qxl_parse_cursor_cmd(
        &g.ctx, phys(put_cursor(&g, SPICE_CURSOR_TYPE_ALPHA, 513, 1, 513 * 4, 0)), &c, &why));
    g_assert_cmpstr(why, ==, "cursor shape larger than 512x512");
    g_assert_false(qxl_parse_cursor_cmd(&g.ctx, phys(put_cursor(&g, 99, 1, 1, 4, 4)), &c, &why));
    g_assert_cmpstr(why, ==, "unknown cursor shape type");
    g_assert_false(qxl_parse_cursor_cmd(
        &g.ctx, phys(put_cursor(&g, SPICE_CURSOR_TYPE_ALPHA, 4, 2, 32, 16)), &c, &why));
    g_assert_cmpstr(why, ==, "data chunks hold less than their data size");
    g_assert_false(qxl_parse_cursor_cmd(
        &g.ctx, phys(put_cursor(&g, SPICE_CURSOR_TYPE_COLOR32, 4, 2, 64 * 1024 * 1024, 0)), &c,
        &why));
    /* Other commands. */
    QXLCursorCmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.type = QXL_CURSOR_TRAIL;
    cmd.u.trail.length = 3;
    cmd.u.trail.frequency = 4;
    g_assert_true(qxl_parse_cursor_cmd(&g.ctx, phys(put(&g, &cmd, sizeof(cmd))), &c, &why));
    g_assert_cmpuint(c.trail_frequency, ==, 4);
    cmd.type = 77;
    g_assert_false(qxl_parse_cursor_cmd(&g.ctx, phys(put(&g, &cmd, sizeof(cmd))), &c, &why));
    guest_fini(&g);
}

static void test_update_message_monitors(void)
{
    Guest g;
    guest_init(&g);
    const char *why;
    QXLUpdateCmd up = { .area = { .top = 1, .left = 2, .bottom = 3, .right = 4 },
                        .update_id = 7,
                        .surface_id = 2 };
    ParsedUpdateCmd u;
    g_assert_true(qxl_parse_update_cmd(&g.ctx, phys(put(&g, &up, sizeof(up))), &u, &why));
    g_assert_cmpuint(u.update_id, ==, 7);
    up.surface_id = 16;
    g_assert_false(qxl_parse_update_cmd(&g.ctx, phys(put(&g, &up, sizeof(up))), &u, &why));

    /* A message without a terminating NUL before the end of the slot. */
    size_t msg = RAM_SIZE - sizeof(QXLMessage) - 5;
    memset(g.ram + msg, 0, sizeof(QXLMessage));
    memcpy(g.ram + msg + sizeof(QXLMessage), "ab\x01xy", 5);
    QXLReleaseInfo *rel;
    char text[64];
    g_assert_true(qxl_parse_message(&g.ctx, phys(msg), &rel, text, sizeof(text), &why));
    g_assert_cmpstr(text, ==, "ab?xy");

    /* Monitors: count read once, limits. */
    uint8_t buf[sizeof(QXLMonitorsConfig) + 3 * sizeof(QXLHead)];
    QXLMonitorsConfig mc = { .count = 3, .max_allowed = 4 };
    memcpy(buf, &mc, sizeof(mc));
    for (int i = 0; i < 3; i++) {
        QXLHead h = { .id = (uint32_t)i, .width = 100u * (i + 1), .height = 50 };
        memcpy(buf + sizeof(mc) + i * sizeof(h), &h, sizeof(h));
    }
    size_t at = put(&g, buf, sizeof(buf));
    ParsedMonitors m;
    g_assert_true(qxl_parse_monitors_config(&g.ctx, phys(at), 2, &m, &why));
    g_assert_cmpuint(m.count, ==, 2);
    g_assert_cmpuint(m.heads[1].width, ==, 200);
    ((QXLMonitorsConfig *)(g.ram + at))->count = 0;
    g_assert_false(qxl_parse_monitors_config(&g.ctx, phys(at), 8, &m, &why));
    ((QXLMonitorsConfig *)(g.ram + at))->count = 5;
    g_assert_false(qxl_parse_monitors_config(&g.ctx, phys(at), 8, &m, &why));
    ((QXLMonitorsConfig *)(g.ram + at))->max_allowed = 0;
    ((QXLMonitorsConfig *)(g.ram + at))->count = 60000;
    g_assert_false(qxl_parse_monitors_config(&g.ctx, phys(RAM_SIZE - 4), 8, &m, &why));
    /* A huge count is clipped to what we read, never past memory. */
    size_t end = RAM_SIZE - sizeof(QXLMonitorsConfig) - sizeof(QXLHead);
    QXLMonitorsConfig big = { .count = 60000 };
    memcpy(g.ram + end, &big, sizeof(big));
    g_assert_true(qxl_parse_monitors_config(&g.ctx, phys(end), 1, &m, &why));
    g_assert_cmpuint(m.count, ==, 1);
    g_assert_false(qxl_parse_monitors_config(&g.ctx, phys(end), 8, &m, &why));
    guest_fini(&g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qxl/memslot", test_memslot);
    g_test_add_func("/qxl/copy-flat", test_copy_flat);
    g_test_add_func("/qxl/copy-chunked", test_copy_chunked);
    g_test_add_func("/qxl/bitmap-hostile", test_bitmap_hostile);
    g_test_add_func("/qxl/drawable-hostile", test_drawable_hostile);
    g_test_add_func("/qxl/text-and-path", test_text_and_path);
    g_test_add_func("/qxl/surface-cmd", test_surface_cmd);
    g_test_add_func("/qxl/cursor-cmd", test_cursor_cmd);
    g_test_add_func("/qxl/update-message-monitors", test_update_message_monitors);
    return g_test_run();
}
