/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-image-codec.c: the image encoders checked against real decoders.
 *
 * BITMAP is parsed back field by field; LZ4 is decoded the way spice-gtk's
 * canvas_get_lz4() does it (one LZ4_streamDecode_t, every block decoded with
 * LZ4_decompress_safe_continue() right after the previous one into a single
 * x8r8g8b8 buffer); JPEG is decoded with libjpeg as spice-gtk's decoder does
 * (JCS_RGB output). Images are synthetic and deterministic.
 */
#include <glib.h>
#include <stdio.h>

#include <jpeglib.h>
#include <lz4.h>
#include <spice/enums.h>

#include "image-codec.h"
#include "image-decoders.h"

/* ---- Test images ------------------------------------------------------ */

typedef enum {
    CONTENT_RANDOM,   /* every byte random, x included */
    CONTENT_GRADIENT, /* r along x, g along y, b diagonal */
    CONTENT_FLAT,     /* one color */
    CONTENT_PHOTO,    /* smooth value noise plus a little grain */
    CONTENT_UI,       /* flat panels, borders, text-like strokes */
} Content;

typedef struct {
    uint8_t *mem; /* allocation */
    uint8_t *top; /* first (top) row */
    int32_t stride;
    uint32_t width, height;
} Image;

static uint32_t rng_state;

static uint32_t rng(void)
{
    /* xorshift32: deterministic across platforms and runs */
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static uint8_t clamp8(int v)
{
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static uint8_t *pixel_at(Image *img, uint32_t x, uint32_t y)
{
    return img->top + (ptrdiff_t)y * img->stride + (size_t)x * 4;
}

/* Smooth value noise: random values on a coarse lattice, bilinearly
 * interpolated; one lattice per channel. */
static void fill_photo(Image *img)
{
    enum { CELL = 24 };
    uint32_t lw = img->width / CELL + 2, lh = img->height / CELL + 2;
    uint8_t *lattice = g_malloc((size_t)lw * lh * 3);
    for (size_t i = 0; i < (size_t)lw * lh * 3; i++) {
        lattice[i] = (uint8_t)(rng() >> 24);
    }
    for (uint32_t y = 0; y < img->height; y++) {
        uint32_t ly = y / CELL, fy = y % CELL;
        for (uint32_t x = 0; x < img->width; x++) {
            uint32_t lx = x / CELL, fx = x % CELL;
            uint8_t *p = pixel_at(img, x, y);
            for (int c = 0; c < 3; c++) {
                int v00 = lattice[((size_t)ly * lw + lx) * 3 + c];
                int v01 = lattice[((size_t)ly * lw + lx + 1) * 3 + c];
                int v10 = lattice[((size_t)(ly + 1) * lw + lx) * 3 + c];
                int v11 = lattice[((size_t)(ly + 1) * lw + lx + 1) * 3 + c];
                int top = v00 * (CELL - (int)fx) + v01 * (int)fx;
                int bot = v10 * (CELL - (int)fx) + v11 * (int)fx;
                int v = (top * (CELL - (int)fy) + bot * (int)fy) / (CELL * CELL);
                p[c] = clamp8(v + (int)(rng() % 5) - 2);
            }
            p[3] = 0;
        }
    }
    g_free(lattice);
}

static void fill_rect(Image *img, uint32_t x0, uint32_t y0, uint32_t w, uint32_t h, uint32_t rgb)
{
    for (uint32_t y = y0; y < y0 + h && y < img->height; y++) {
        for (uint32_t x = x0; x < x0 + w && x < img->width; x++) {
            uint8_t *p = pixel_at(img, x, y);
            p[0] = (uint8_t)rgb;
            p[1] = (uint8_t)(rgb >> 8);
            p[2] = (uint8_t)(rgb >> 16);
            p[3] = 0;
        }
    }
}

/* A desktop-ish screen: background, windows with shaded title bars and
 * borders, buttons, and rows of "glyphs" (short dark strokes with grey
 * anti-aliasing fringes on white). */
static void fill_ui(Image *img)
{
    fill_rect(img, 0, 0, img->width, img->height, 0x3b6ea5);
    for (uint32_t wy = 10; wy + 120 < img->height; wy += 300) {
        for (uint32_t wx = 10; wx + 200 < img->width; wx += 420) {
            uint32_t ww = 400, wh = 280;
            fill_rect(img, wx, wy, ww, wh, 0x000000);
            /* a title bar shaded left to right, as some themes do */
            for (uint32_t x = 0; x < ww - 2; x++) {
                uint32_t t = x * 128 / ww;
                fill_rect(img, wx + 1 + x, wy + 1, 1, 24,
                          (0x2d + t) << 16 | (0x2d + t) << 8 | 0x80);
            }
            fill_rect(img, wx + 1, wy + 25, ww - 2, wh - 26, 0xffffff);
            fill_rect(img, wx + ww - 80, wy + wh - 30, 70, 22, 0xd4d0c8);
            for (uint32_t ty = wy + 32; ty + 12 < wy + wh - 40; ty += 16) {
                uint32_t tx = wx + 8;
                while (tx + 8 < wx + ww - 8) {
                    uint32_t glyph = rng();
                    /* a 6x9 glyph: a few vertical and horizontal strokes */
                    for (int s = 0; s < 3; s++) {
                        uint32_t gx = tx + (glyph >> (s * 3)) % 6;
                        fill_rect(img, gx, ty, 1, 9, 0x101010);
                        /* anti-aliasing: a grey fringe on the right */
                        uint32_t grey = 0x40 + rng() % 0xa0;
                        fill_rect(img, gx + 1, ty, 1, 9, grey << 16 | grey << 8 | grey);
                    }
                    fill_rect(img, tx, ty + (glyph >> 12) % 9, 6, 1, 0x101010);
                    tx += 7 + ((glyph >> 20) % 8 == 0 ? 5 : 0);
                }
            }
        }
    }
}

/* An image whose rows are `pad` bytes longer than needed (filled with a
 * marker the encoders must never copy); bottom_up stores the rows in
 * reverse and hands out a negative stride. */
static Image image_new(uint32_t width, uint32_t height, Content content, uint32_t pad,
                       bool bottom_up)
{
    Image img = { 0 };
    size_t row = (size_t)width * 4 + pad;
    img.mem = g_malloc(row * height);
    memset(img.mem, 0xab, row * height);
    img.width = width;
    img.height = height;
    img.stride = bottom_up ? -(int32_t)row : (int32_t)row;
    img.top = bottom_up ? img.mem + row * (height - 1) : img.mem;
    rng_state = 0x2545f491u ^ (width * 7919u) ^ (height * 104729u) ^ (uint32_t)content;

    switch (content) {
    case CONTENT_RANDOM:
        for (uint32_t y = 0; y < height; y++) {
            for (uint32_t x = 0; x < width; x++) {
                uint32_t v = rng();
                memcpy(pixel_at(&img, x, y), &v, 4);
            }
        }
        break;
    case CONTENT_GRADIENT:
        for (uint32_t y = 0; y < height; y++) {
            for (uint32_t x = 0; x < width; x++) {
                uint8_t *p = pixel_at(&img, x, y);
                p[0] = (uint8_t)((x + y) * 255 / (width + height));
                p[1] = (uint8_t)(y * 255 / height);
                p[2] = (uint8_t)(x * 255 / width);
                p[3] = 0;
            }
        }
        break;
    case CONTENT_FLAT:
        fill_rect(&img, 0, 0, width, height, 0x336699);
        break;
    case CONTENT_PHOTO:
        fill_photo(&img);
        break;
    case CONTENT_UI:
        fill_ui(&img);
        break;
    }
    return img;
}

static void image_free(Image *img)
{
    g_free(img->mem);
    img->mem = img->top = NULL;
}

/* The rows packed tightly, as a decoder should reproduce them. */
static uint8_t *image_packed(const Image *img)
{
    size_t row = (size_t)img->width * 4;
    uint8_t *out = g_malloc(row * img->height);
    for (uint32_t y = 0; y < img->height; y++) {
        memcpy(out + row * y, img->top + (ptrdiff_t)y * img->stride, row);
    }
    return out;
}

static void assert_pixels_equal(const uint8_t *got, const Image *img)
{
    g_autofree uint8_t *want = image_packed(img);
    size_t n = (size_t)img->width * 4 * img->height;
    if (memcmp(got, want, n) != 0) {
        for (size_t i = 0; i < n; i++) {
            if (got[i] != want[i]) {
                g_error("%ux%u: first difference at byte %zu (pixel %zu): %u != %u", img->width,
                        img->height, i, i / 4, got[i], want[i]);
            }
        }
    }
}

static uint64_t *dup_u64(uint64_t v)
{
    uint64_t *p = g_new(uint64_t, 1);
    *p = v;
    return p;
}

/* ---- Decoders --------------------------------------------------------- */

/* BITMAP: every field, then the rows. */
static void check_bitmap(const uint8_t *data, size_t size, const Image *img)
{
    SpiceWireReader r = spice_wire_reader(data, size);
    g_assert_cmpuint(spice_wire_u8(&r), ==, SPICE_BITMAP_FMT_32BIT);
    g_assert_cmpuint(spice_wire_u8(&r), ==, SPICE_BITMAP_FLAGS_TOP_DOWN);
    g_assert_cmpuint(spice_wire_u32(&r), ==, img->width);
    g_assert_cmpuint(spice_wire_u32(&r), ==, img->height);
    uint32_t stride = spice_wire_u32(&r);
    g_assert_cmpuint(stride, ==, img->width * 4);
    g_assert_cmpuint(spice_wire_u32(&r), ==, 0); /* palette offset */
    const uint8_t *pixels = spice_wire_bytes(&r, (size_t)stride * img->height);
    g_assert_nonnull(pixels);
    g_assert_true(spice_wire_done(&r));
    assert_pixels_equal(pixels, img);
}

/* LZ4 as canvas_get_lz4() reads it (image-decoders.c): the decoded
 * x8r8g8b8 rows and the block count. */
static uint8_t *decode_lz4(const uint8_t *data, size_t size, uint32_t width, uint32_t height,
                           unsigned *blocks)
{
    g_assert_cmpuint(size, >=, 4);
    g_assert_cmpuint(spice_wire_get_u32(data), ==, size - 4);
    const char *why;
    uint8_t *rows = lz4_decode_rows(data + 4, size - 4, width, height, blocks, &why);
    if (!rows) {
        g_error("%ux%u: LZ4 refused: %s", width, height, why);
    }
    return rows;
}

static void jpeg_test_error_exit(j_common_ptr cinfo)
{
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    g_error("libjpeg: %s", msg);
}

/* JPEG: u32 size, then a JFIF libjpeg reads as RGB (as spice-gtk asks for).
 * Returns the mean absolute error per channel against the input. */
static double decode_jpeg_mae(const uint8_t *data, size_t size, const Image *img)
{
    g_assert_cmpuint(size, >=, 4);
    uint32_t data_size = spice_wire_get_u32(data);
    g_assert_cmpuint(data_size, ==, size - 4);
    const uint8_t *jpg = data + 4;
    g_assert_cmpuint(jpg[0], ==, 0xff); /* SOI */
    g_assert_cmpuint(jpg[1], ==, 0xd8);
    g_assert_cmpuint(jpg[data_size - 2], ==, 0xff); /* EOI */
    g_assert_cmpuint(jpg[data_size - 1], ==, 0xd9);

    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jerr.error_exit = jpeg_test_error_exit;
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, jpg, data_size);
    g_assert_cmpint(jpeg_read_header(&cinfo, TRUE), ==, JPEG_HEADER_OK);
    g_assert_true(cinfo.saw_JFIF_marker);
    g_assert_false(cinfo.progressive_mode);
    cinfo.out_color_space = JCS_RGB;
    jpeg_start_decompress(&cinfo);
    g_assert_cmpuint(cinfo.output_width, ==, img->width);
    g_assert_cmpuint(cinfo.output_height, ==, img->height);
    g_assert_cmpint(cinfo.output_components, ==, 3);

    g_autofree uint8_t *line = g_malloc((size_t)img->width * 3);
    uint64_t err = 0;
    while (cinfo.output_scanline < cinfo.output_height) {
        uint32_t y = cinfo.output_scanline;
        JSAMPROW row = line;
        jpeg_read_scanlines(&cinfo, &row, 1);
        const uint8_t *src = img->top + (ptrdiff_t)y * img->stride;
        for (uint32_t x = 0; x < img->width; x++) {
            /* input is B, G, R, x; output R, G, B */
            err += (uint64_t)abs(line[3 * x + 0] - src[4 * x + 2]);
            err += (uint64_t)abs(line[3 * x + 1] - src[4 * x + 1]);
            err += (uint64_t)abs(line[3 * x + 2] - src[4 * x + 0]);
        }
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return (double)err / ((double)img->width * img->height * 3);
}

/* ---- Round trips ------------------------------------------------------ */

typedef struct {
    uint32_t width, height;
    Content content;
    uint32_t pad;
    bool bottom_up;
} Case;

static const Case round_trip_cases[] = {
    { 1, 1, CONTENT_RANDOM, 0, false },
    { 1, 1, CONTENT_FLAT, 12, false },
    { 7, 3, CONTENT_RANDOM, 0, false },
    { 7, 3, CONTENT_GRADIENT, 4, false },
    { 7, 3, CONTENT_RANDOM, 20, true },
    { 64, 64, CONTENT_RANDOM, 0, false },
    { 64, 64, CONTENT_GRADIENT, 0, false },
    { 64, 64, CONTENT_PHOTO, 256, false },
    { 64, 64, CONTENT_UI, 0, true },
    { 1, 5000, CONTENT_GRADIENT, 0, false },
    { 40000, 3, CONTENT_RANDOM, 0, false },
    { 40000, 3, CONTENT_GRADIENT, 8, false },
    { 333, 777, CONTENT_PHOTO, 4, false },
    { 1920, 1080, CONTENT_RANDOM, 0, false },
    { 1920, 1080, CONTENT_GRADIENT, 0, false },
    { 1920, 1080, CONTENT_FLAT, 0, false },
    { 1920, 1080, CONTENT_UI, 0, false },
    { 1920, 1080, CONTENT_PHOTO, 64, false },
    { 1920, 1080, CONTENT_RANDOM, 4, true },
};

static void test_bitmap(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(round_trip_cases); i++) {
        const Case *c = &round_trip_cases[i];
        Image img = image_new(c->width, c->height, c->content, c->pad, c->bottom_up);
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_bitmap(&w, img.top, img.stride, img.width, img.height));
        check_bitmap(w.data, w.size, &img);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
}

static void test_lz4(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(round_trip_cases); i++) {
        const Case *c = &round_trip_cases[i];
        Image img = image_new(c->width, c->height, c->content, c->pad, c->bottom_up);
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_lz4(&w, img.top, img.stride, img.width, img.height));
        unsigned blocks;
        g_autofree uint8_t *out = decode_lz4(w.data, w.size, img.width, img.height, &blocks);
        assert_pixels_equal(out, &img);
        g_test_message("lz4 %ux%u content %d pad %u%s: %zu bytes (raw %zu), %u blocks", img.width,
                       img.height, c->content, c->pad, c->bottom_up ? " bottom-up" : "", w.size,
                       (size_t)img.width * img.height * 4, blocks);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
}

/* The packed and the restaged (padded stride) paths differ in how liblz4
 * sees the input; both must decode to the same pixels, block after block,
 * in a stream long enough for matches to reach into previous blocks. */
static void test_lz4_strides_agree(void)
{
    for (int content = CONTENT_RANDOM; content <= CONTENT_UI; content++) {
        Image packed = image_new(800, 600, content, 0, false);
        Image padded = image_new(800, 600, content, 36, false);
        SpiceWireWriter a, b;
        spice_wire_writer_init(&a, 0);
        spice_wire_writer_init(&b, 0);
        g_assert_true(image_encode_lz4(&a, packed.top, packed.stride, 800, 600));
        g_assert_true(image_encode_lz4(&b, padded.top, padded.stride, 800, 600));
        unsigned na, nb;
        g_autofree uint8_t *da = decode_lz4(a.data, a.size, 800, 600, &na);
        g_autofree uint8_t *db = decode_lz4(b.data, b.size, 800, 600, &nb);
        g_assert_cmpuint(na, >, 1);
        g_assert_cmpuint(na, ==, nb);
        assert_pixels_equal(da, &packed);
        assert_pixels_equal(db, &padded);
        spice_wire_writer_clear(&a);
        spice_wire_writer_clear(&b);
        image_free(&packed);
        image_free(&padded);
    }
}

/* LZ through the strict decoder (what spice-gtk and spice-html5 accept),
 * compared pixel for pixel without the x bytes. */
static void check_lz(const uint8_t *data, size_t size, const Image *img)
{
    g_assert_cmpuint(size, >=, 4);
    g_assert_cmpuint(spice_wire_get_u32(data), ==, size - 4);
    uint32_t w = 0, h = 0;
    const char *why;
    g_autofree uint32_t *px = lz_decode_rgb32(data + 4, size - 4, &w, &h, &why);
    if (!px) {
        g_error("%ux%u: LZ stream refused: %s", img->width, img->height, why);
    }
    g_assert_cmpuint(w, ==, img->width);
    g_assert_cmpuint(h, ==, img->height);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            const uint8_t *p = img->top + (ptrdiff_t)y * img->stride + (size_t)x * 4;
            uint32_t want = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
            if (px[(size_t)y * w + x] != want) {
                g_error("%ux%u: pixel (%u, %u) is %06x, not %06x", w, h, x, y,
                        px[(size_t)y * w + x], want);
            }
        }
    }
}

static void test_lz(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(round_trip_cases); i++) {
        const Case *c = &round_trip_cases[i];
        Image img = image_new(c->width, c->height, c->content, c->pad, c->bottom_up);
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_lz(&w, img.top, img.stride, img.width, img.height));
        check_lz(w.data, w.size, &img);
        size_t n = (size_t)img.width * img.height;
        g_assert_cmpuint(w.size, <=, 4 + 28 + n * 3 + (n + 31) / 32);
        g_test_message("lz %ux%u content %d pad %u%s: %zu bytes (raw %zu)", img.width, img.height,
                       c->content, c->pad, c->bottom_up ? " bottom-up" : "", w.size, n * 4);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
}

/* A body through the strict decoder (GLZ against the client's window
 * glz), pixel for pixel without the x bytes. */
static void check_decoded_in(GlzTestWindow *glz, uint8_t type, const uint8_t *data, size_t size,
                             const Image *img)
{
    size_t used;
    const char *why;
    g_autofree uint32_t *px =
        image_decode_body(glz, type, data, size, img->width, img->height, &used, NULL, &why);
    if (!px) {
        g_error("type %u %ux%u refused: %s", type, img->width, img->height, why);
    }
    g_assert_cmpuint(used, ==, size);
    for (uint32_t y = 0; y < img->height; y++) {
        for (uint32_t x = 0; x < img->width; x++) {
            const uint8_t *p = img->top + (ptrdiff_t)y * img->stride + (size_t)x * 4;
            uint32_t want = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
            if (px[(size_t)y * img->width + x] != want) {
                g_error("type %u %ux%u: pixel (%u, %u) is %06x, not %06x", type, img->width,
                        img->height, x, y, px[(size_t)y * img->width + x], want);
            }
        }
    }
}

static void check_decoded(uint8_t type, const uint8_t *data, size_t size, const Image *img)
{
    check_decoded_in(NULL, type, data, size, img);
}

static void test_quic(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(round_trip_cases); i++) {
        const Case *c = &round_trip_cases[i];
        Image img = image_new(c->width, c->height, c->content, c->pad, c->bottom_up);
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_quic(&w, img.top, img.stride, img.width, img.height));
        check_decoded(SPICE_IMAGE_TYPE_QUIC, w.data, w.size, &img);
        g_test_message("quic %ux%u content %d pad %u%s: %zu bytes (raw %zu)", img.width, img.height,
                       c->content, c->pad, c->bottom_up ? " bottom-up" : "", w.size,
                       (size_t)img.width * img.height * 4);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
}

/* Rows wider than a wait-mask segment (2048 pixels), runs that reach a
 * segment's end, runs of every length, and rows that repeat. */
static void test_quic_runs_and_segments(void)
{
    static const uint32_t widths[] = { 1, 2, 3, 4, 5, 2047, 2048, 2049, 4100, 13000 };
    for (size_t i = 0; i < G_N_ELEMENTS(widths); i++) {
        uint32_t wd = widths[i], ht = 9;
        Image img = image_new(wd, ht, CONTENT_UI, 8, i % 2 == 1);
        /* Flat bands with a few noisy pixels: runs everywhere. */
        fill_rect(&img, 0, 0, wd, ht, 0x204080);
        for (uint32_t k = 0; k < wd * ht / 7 + 1; k++) {
            fill_rect(&img, rng() % wd, rng() % ht, 1 + rng() % 5, 1, rng() & 0xffffff);
        }
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_quic(&w, img.top, img.stride, wd, ht));
        check_decoded(SPICE_IMAGE_TYPE_QUIC, w.data, w.size, &img);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
    for (uint32_t len = 1; len < 300; len += len < 40 ? 1 : 23) {
        Image img = image_new(len + 6, 3, CONTENT_RANDOM, 0, false);
        for (uint32_t y = 1; y < 3; y++) {
            fill_rect(&img, 2, y, len, 1, 0x010101 * y);
        }
        fill_rect(&img, 0, 0, len + 6, 1, 0x777777);
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_quic(&w, img.top, img.stride, img.width, img.height));
        check_decoded(SPICE_IMAGE_TYPE_QUIC, w.data, w.size, &img);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    static uint8_t px[64];
    g_assert_false(image_encode_quic(&w, px, 4, 0, 1));
    g_assert_false(image_encode_quic(&w, px, 3, 1, 1));
    g_assert_false(image_encode_quic(&w, NULL, 4, 1, 1));
    g_assert_cmpuint(w.size, ==, 0);
    spice_wire_writer_clear(&w);
}

/* ---- GLZ ----------------------------------------------------------------- */

/* One image through a dictionary and the client's window; returns the
 * body's size. */
static size_t glz_round_trip(GlzDictionary *d, GlzTestWindow *win, uint32_t owner, int zlib,
                             const Image *img)
{
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    bool zlib_used = false;
    g_assert_true(image_encode_glz(&w, d, owner, zlib, img->top, img->stride, img->width,
                                   img->height, &zlib_used));
    check_decoded_in(win, zlib_used ? SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB : SPICE_IMAGE_TYPE_GLZ_RGB,
                     w.data, w.size, img);
    size_t size = w.size;
    spice_wire_writer_clear(&w);
    return size;
}

static void test_glz(void)
{
    for (size_t i = 0; i < G_N_ELEMENTS(round_trip_cases); i++) {
        const Case *c = &round_trip_cases[i];
        Image img = image_new(c->width, c->height, c->content, c->pad, c->bottom_up);
        GlzDictionary *d = glz_dictionary_new(GLZ_MAX_WINDOW_PIXELS);
        GlzTestWindow *win = glz_test_window_new();
        size_t n = (size_t)img.width * img.height;
        size_t first = glz_round_trip(d, win, 1, 0, &img);
        g_assert_cmpuint(first, <=, 4 + 33 + n * 3 + (n + 31) / 32 + 1);
        /* The same picture again is copies from the first. */
        size_t again = glz_round_trip(d, win, 1, 0, &img);
        g_test_message("glz %ux%u content %d: %zu bytes, then %zu (raw %zu)", img.width, img.height,
                       c->content, first, again, n * 4);
        if (n >= 64) {
            g_assert_cmpuint(again, <, 4 + 33 + 3 + n / 64);
        }
        glz_test_window_free(win);
        glz_dictionary_unref(d);
        image_free(&img);
    }
}

/* Pictures that share parts with earlier ones (a scrolled terminal, a
 * window moved by a few pixels) through a small window: the client's
 * window never holds more than the server's allows, every copy finds
 * its image, and old ones are dropped. */
static void test_glz_window(void)
{
    enum { W = 200, H = 150, FRAMES = 40 };
    const uint64_t window = (uint64_t)W * H * 5 / 2; /* two and a half pictures */
    GlzDictionary *d = glz_dictionary_new(window);
    GlzTestWindow *win = glz_test_window_new();
    Image base = image_new(W + 64, H + 64, CONTENT_UI, 0, false);
    size_t total = 0, raw = 0;
    for (int f = 0; f < FRAMES; f++) {
        /* A view of base that moves, with a changing stripe. */
        Image img = image_new(W, H, CONTENT_FLAT, 4, f % 3 == 0);
        for (uint32_t y = 0; y < H; y++) {
            for (uint32_t x = 0; x < W; x++) {
                memcpy(pixel_at(&img, x, y),
                       pixel_at(&base, x + (uint32_t)f % 7, y + (uint32_t)f % 11), 4);
            }
        }
        fill_rect(&img, 0, (uint32_t)f * 3 % H, W, 2, 0x010101u * (uint32_t)f);
        total += glz_round_trip(d, win, 7, 0, &img);
        raw += (size_t)W * H * 3;
        GlzDictionaryStats st;
        glz_dictionary_stats(d, &st);
        g_assert_cmpuint(st.next_id, ==, (uint64_t)f + 1);
        g_assert_cmpuint(st.pixels, <=, window);
        size_t held;
        uint64_t pixels;
        glz_test_window_usage(win, &held, &pixels);
        g_assert_cmpuint(pixels, <=, window);
        g_assert_cmpuint(held, ==, st.images);
        image_free(&img);
    }
    g_test_message("glz moving view: %zu bytes for %d frames (%zu as literals)", total, FRAMES,
                   raw);
    g_assert_cmpuint(total * 4, <, raw);
    image_free(&base);
    glz_test_window_free(win);
    glz_dictionary_unref(d);
}

/* Copies only come from the same owner's images: one owner's images
 * decode in a window that never saw the other's (a display channel
 * never waits for another's messages). */
static void test_glz_owners(void)
{
    GlzDictionary *d = glz_dictionary_new(GLZ_MAX_WINDOW_PIXELS);
    GlzTestWindow *a = glz_test_window_new(), *b = glz_test_window_new();
    Image img = image_new(300, 200, CONTENT_UI, 0, false);
    size_t first_a = glz_round_trip(d, a, 1, 0, &img);
    size_t first_b = glz_round_trip(d, b, 2, 0, &img);
    size_t again_a = glz_round_trip(d, a, 1, 0, &img);
    size_t again_b = glz_round_trip(d, b, 2, 0, &img);
    g_assert_cmpuint(first_b, ==, first_a);
    g_assert_cmpuint(again_a, <, first_a / 20);
    g_assert_cmpuint(again_b, <, first_b / 20);
    image_free(&img);
    glz_test_window_free(a);
    glz_test_window_free(b);
    glz_dictionary_unref(d);
}

/* Refusals use no id and leave the writer as it was: bad arguments, an
 * image larger than the window; no dictionary for a window of 0. */
static void test_glz_limits(void)
{
    g_assert_null(glz_dictionary_new(0));
    GlzDictionary *d = glz_dictionary_new(1000);
    GlzDictionaryStats st;
    glz_dictionary_stats(d, &st);
    g_assert_cmpuint(st.window_pixels, ==, 1000);
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    spice_wire_write(&w, "x", 1);
    static uint8_t px[64 * 64 * 4];
    g_assert_false(image_encode_glz(&w, d, 0, 0, px, 4, 0, 1, NULL));
    g_assert_false(image_encode_glz(&w, d, 0, 0, px, 3, 1, 1, NULL));
    g_assert_false(image_encode_glz(&w, d, 0, 0, NULL, 4, 1, 1, NULL));
    g_assert_false(image_encode_glz(&w, NULL, 0, 0, px, 4, 1, 1, NULL));
    g_assert_false(image_encode_glz(&w, d, 0, 0, px, 64 * 4, 64, 64, NULL)); /* 4096 > 1000 */
    g_assert_cmpuint(w.size, ==, 1);
    glz_dictionary_stats(d, &st);
    g_assert_cmpuint(st.next_id, ==, 0);
    g_assert_cmpuint(st.images, ==, 0);
    g_assert_true(image_encode_glz(&w, d, 0, 0, px + 60, -4, 1, 16, NULL)); /* bottom-up rows */
    spice_wire_writer_clear(&w);
    glz_dictionary_unref(d);
    d = glz_dictionary_new(UINT64_MAX);
    glz_dictionary_stats(d, &st);
    g_assert_cmpuint(st.window_pixels, ==, GLZ_MAX_WINDOW_PIXELS);
    glz_dictionary_unref(d);
}

/* ZLIB_GLZ: deflated when smaller, and decoded to the same pixels. */
static void test_zlib_glz(void)
{
    GlzDictionary *d = glz_dictionary_new(GLZ_MAX_WINDOW_PIXELS);
    GlzTestWindow *win = glz_test_window_new();
    Image ui = image_new(640, 480, CONTENT_UI, 0, false);
    Image noise = image_new(64, 64, CONTENT_RANDOM, 0, false);
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    bool used = false;
    g_assert_true(image_encode_glz(&w, d, 0, 3, ui.top, ui.stride, 640, 480, &used));
    g_assert_true(used);
    check_decoded_in(win, SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB, w.data, w.size, &ui);
    size_t zsize = w.size;
    spice_wire_writer_clear(&w);
    /* Noise does not deflate: plain GLZ. */
    spice_wire_writer_init(&w, 0);
    g_assert_true(image_encode_glz(&w, d, 0, 3, noise.top, noise.stride, 64, 64, &used));
    g_assert_false(used);
    check_decoded_in(win, SPICE_IMAGE_TYPE_GLZ_RGB, w.data, w.size, &noise);
    spice_wire_writer_clear(&w);
    size_t plain = glz_round_trip(glz_dictionary_ref(d), win, 1, 0, &ui);
    glz_dictionary_unref(d);
    g_test_message("zlib-glz 640x480 ui: %zu bytes deflated", zsize);
    g_assert_cmpuint(plain, >, 0);
    image_free(&ui);
    image_free(&noise);
    glz_test_window_free(win);
    glz_dictionary_unref(d);
}

/* Images made to hit the format's edges: runs and copies of every length
 * around the 7 and 7 + 255 boundaries, distances around the near/far
 * boundary (8191) and the far limit, copies that end exactly at the last
 * pixel, and the x byte varying under equal colors. */
static void test_lz_edges(void)
{
    static const uint32_t widths[] = { 1, 2, 3, 8190, 8191, 8192, 8193, 36000, 65500 };
    for (size_t i = 0; i < G_N_ELEMENTS(widths); i++) {
        /* Two rows: a random row, then its copy (a copy at distance
         * `width`), then a few pixels of a run. */
        uint32_t wd = widths[i];
        Image img = image_new(wd, 3, CONTENT_RANDOM, 0, false);
        for (uint32_t x = 0; x < wd; x++) {
            memcpy(pixel_at(&img, x, 1), pixel_at(&img, x, 0), 3);
            pixel_at(&img, x, 1)[3] = (uint8_t)~pixel_at(&img, x, 0)[3];
            memcpy(pixel_at(&img, x, 2), pixel_at(&img, 0, 0), 3);
        }
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_lz(&w, img.top, img.stride, wd, 3));
        check_lz(w.data, w.size, &img);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
    /* Runs of every length up to 600 between single different pixels. */
    for (uint32_t len = 1; len <= 600; len += (len < 270 ? 1 : 37)) {
        Image img = image_new(len + 2, 2, CONTENT_FLAT, 4, false);
        fill_rect(&img, 0, 0, 1, 1, 0x010203);
        fill_rect(&img, len + 1, 1, 1, 1, 0x040506);
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_lz(&w, img.top, img.stride, img.width, img.height));
        check_lz(w.data, w.size, &img);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
    /* A repeating pattern of period p at every distance class. */
    static const uint32_t periods[] = { 2,    3,    5,    31,    257,   8190,
                                        8191, 8192, 9000, 73726, 73727, 73728 };
    for (size_t i = 0; i < G_N_ELEMENTS(periods); i++) {
        uint32_t p = periods[i], wd = 1000, ht = (p * 3 + 1999) / 1000;
        Image img = image_new(wd, ht, CONTENT_RANDOM, 0, false);
        for (uint32_t k = p; k < wd * ht; k++) {
            memcpy(pixel_at(&img, k % wd, k / wd), pixel_at(&img, (k - p) % wd, (k - p) / wd), 4);
        }
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_lz(&w, img.top, img.stride, wd, ht));
        check_lz(w.data, w.size, &img);
        g_test_message("lz period %u: %zu bytes for %u pixels", p, w.size, wd * ht);
        if (p <= 73727) {
            /* The repeats must have been found: far less than raw. */
            g_assert_cmpuint(w.size, <, (size_t)p * 3 + (size_t)wd * ht / 4 + 64);
        }
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
}

/* A 1 GiB raw image is past the decoders' limit and refused; the writer is
 * left as it was. */
static void test_lz_limits(void)
{
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    spice_wire_write(&w, "x", 1);
    static uint8_t px[64];
    g_assert_false(image_encode_lz(&w, px, 4, 0, 1));
    g_assert_false(image_encode_lz(&w, px, 3, 1, 1));
    g_assert_false(image_encode_lz(&w, px, 65500 * 4, 65500, 65500));
    g_assert_false(image_encode_lz(&w, NULL, 4, 1, 1));
    g_assert_cmpuint(w.size, ==, 1);
    g_assert_true(image_encode_lz(&w, px + 60, -4, 1, 16)); /* bottom-up rows */
    spice_wire_writer_clear(&w);
}

/* Distinct colours of the image (x bytes ignored), counting up to 257. */
static uint32_t count_colours(const Image *img)
{
    g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (uint32_t y = 0; y < img->height && g_hash_table_size(seen) <= 256; y++) {
        for (uint32_t x = 0; x < img->width; x++) {
            const uint8_t *p = img->top + (ptrdiff_t)y * img->stride + (size_t)x * 4;
            uint32_t c = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
            g_hash_table_add(seen, GUINT_TO_POINTER(c + 1));
        }
    }
    return g_hash_table_size(seen);
}

/* Random pixels from `colours` random colours, in runs and repeats as a
 * desktop has them (x bytes random). */
static Image image_with_colours(uint32_t width, uint32_t height, uint32_t colours)
{
    Image img = image_new(width, height, CONTENT_RANDOM, 0, false);
    uint32_t pal[1024];
    for (uint32_t i = 0; i < colours; i++) {
        pal[i] = rng() & 0x00ffffffu;
        for (uint32_t j = 0; j < i; j++) {
            if (pal[j] == pal[i]) {
                pal[i] = (pal[i] + 1) & 0x00ffffffu;
                j = (uint32_t)-1; /* again from the start */
            }
        }
    }
    uint32_t c = 0;
    for (uint32_t y = 0; y < height; y++) {
        for (uint32_t x = 0; x < width; x++) {
            if (x < colours && y == 0) {
                c = x; /* every colour at least once */
            } else if (rng() % 4 == 0) {
                c = rng() % colours;
            }
            uint8_t *p = pixel_at(&img, x, y);
            uint32_t v = pal[c] | (rng() & 0xff000000u);
            memcpy(p, &v, 4);
        }
    }
    return img;
}

/* The PLT8 form through the strict decoder: taken for at most 256
 * colours (the palette right, every pixel right), refused with the
 * writer untouched above that. */
static void check_lz_plt8(const Image *img, size_t *bytes)
{
    uint32_t want = count_colours(img);
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    uint32_t pal[256], n = 0;
    size_t at = 0;
    bool ok =
        image_encode_lz_plt8(&w, img->top, img->stride, img->width, img->height, pal, &n, &at);
    if (want > 256) {
        g_assert_false(ok);
        g_assert_cmpuint(w.size, ==, 0);
        spice_wire_writer_clear(&w);
        *bytes = 0;
        return;
    }
    g_assert_true(ok);
    g_assert_cmpuint(n, ==, want);
    g_assert_cmpuint(at, ==, 4);
    g_assert_cmpuint(spice_wire_get_u32(w.data), ==, w.size - 8);
    g_assert_cmpuint(spice_wire_get_u32(w.data + at), ==, 0);
    uint32_t dw = 0, dh = 0;
    const char *why;
    g_autofree uint32_t *px = lz_decode_plt8(w.data + 8, w.size - 8, pal, n, &dw, &dh, &why);
    if (!px) {
        g_error("%ux%u, %u colours: PLT8 stream refused: %s", img->width, img->height, n, why);
    }
    g_assert_cmpuint(dw, ==, img->width);
    g_assert_cmpuint(dh, ==, img->height);
    for (uint32_t y = 0; y < dh; y++) {
        for (uint32_t x = 0; x < dw; x++) {
            const uint8_t *p = img->top + (ptrdiff_t)y * img->stride + (size_t)x * 4;
            uint32_t c = p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
            if (px[(size_t)y * dw + x] != c) {
                g_error("%ux%u: pixel (%u, %u) is %06x, not %06x", dw, dh, x, y,
                        px[(size_t)y * dw + x], c);
            }
        }
    }
    *bytes = w.size;
    spice_wire_writer_clear(&w);
}

static void test_lz_plt8(void)
{
    size_t bytes;
    for (size_t i = 0; i < G_N_ELEMENTS(round_trip_cases); i++) {
        const Case *c = &round_trip_cases[i];
        Image img = image_new(c->width, c->height, c->content, c->pad, c->bottom_up);
        check_lz_plt8(&img, &bytes);
        image_free(&img);
    }
    /* At and over the limit. */
    static const uint32_t counts[] = { 1, 2, 16, 255, 256, 257, 1000 };
    for (size_t i = 0; i < G_N_ELEMENTS(counts); i++) {
        Image img = image_with_colours(300, 200, counts[i]);
        check_lz_plt8(&img, &bytes);
        g_assert_cmpuint(bytes > 0, ==, counts[i] <= 256);
        image_free(&img);
    }
    /* Far copies in a big image, and what the form saves over RGB32. */
    Image big = image_with_colours(1920, 1080, 40);
    check_lz_plt8(&big, &bytes);
    g_assert_cmpuint(bytes, >, 0);
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    g_assert_true(image_encode_lz(&w, big.top, big.stride, big.width, big.height));
    g_test_message("40 colours 1920x1080: PLT8 %zu bytes, RGB32 %zu", bytes, w.size);
    g_assert_cmpuint(bytes, <, w.size);
    spice_wire_writer_clear(&w);
    image_free(&big);
}

static void test_lz_plt8_limits(void)
{
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    spice_wire_write(&w, "x", 1);
    static uint8_t px[64];
    uint32_t pal[256], n;
    size_t at;
    g_assert_false(image_encode_lz_plt8(&w, px, 4, 0, 1, pal, &n, &at));
    g_assert_false(image_encode_lz_plt8(&w, px, 3, 1, 1, pal, &n, &at));
    g_assert_false(image_encode_lz_plt8(&w, px, 65500 * 4, 65500, 65500, pal, &n, &at));
    g_assert_false(image_encode_lz_plt8(&w, NULL, 4, 1, 1, pal, &n, &at));
    g_assert_false(image_encode_lz_plt8(&w, px, 4, 1, 1, NULL, &n, &at));
    g_assert_cmpuint(w.size, ==, 1);
    g_assert_true(image_encode_lz_plt8(&w, px + 60, -4, 1, 16, pal, &n, &at)); /* bottom-up */
    g_assert_cmpuint(at, ==, 5);
    g_assert_cmpuint(n, ==, 1);
    spice_wire_writer_clear(&w);
}

static void test_lz4_flat_is_small(void)
{
    Image img = image_new(1920, 1080, CONTENT_FLAT, 0, false);
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    g_assert_true(image_encode_lz4(&w, img.top, img.stride, img.width, img.height));
    size_t raw = (size_t)1920 * 1080 * 4;
    g_test_message("flat 1920x1080: %zu bytes LZ4 vs %zu raw", w.size, raw);
    g_assert_cmpuint(w.size, <, raw / 100);
    spice_wire_writer_clear(&w);
    image_free(&img);
}

static void test_jpeg(void)
{
    /* Smooth content survives quality 85 almost unchanged (the photo-like
     * images carry +-2 grain the encoder smooths away). A 7x3 "gradient"
     * jumps by 36 levels a pixel, which 4:2:0 chroma cannot follow: there
     * only the dimensions and a loose bound are meaningful. */
    static const struct {
        Case c;
        double max_mae;
    } cases[] = {
        { { 1, 1, CONTENT_FLAT, 0, false }, 4.0 },
        { { 7, 3, CONTENT_GRADIENT, 0, false }, 20.0 },
        { { 7, 3, CONTENT_FLAT, 20, true }, 4.0 },
        { { 64, 64, CONTENT_GRADIENT, 0, false }, 4.0 },
        { { 64, 64, CONTENT_PHOTO, 256, false }, 4.0 },
        { { 333, 777, CONTENT_PHOTO, 4, true }, 4.0 },
        { { 1920, 1080, CONTENT_GRADIENT, 0, false }, 4.0 },
        { { 1920, 1080, CONTENT_PHOTO, 64, false }, 4.0 },
        { { 1920, 1080, CONTENT_FLAT, 0, false }, 4.0 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        const Case *c = &cases[i].c;
        Image img = image_new(c->width, c->height, c->content, c->pad, c->bottom_up);
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_jpeg(&w, img.top, img.stride, img.width, img.height, 85));
        double mae = decode_jpeg_mae(w.data, w.size, &img);
        g_test_message("jpeg q85 %ux%u content %d: %zu bytes, mean abs error %.2f", img.width,
                       img.height, c->content, w.size, mae);
        g_assert_cmpfloat(mae, <, cases[i].max_mae);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
}

/* Quality is clamped, and lower quality means fewer bytes. */
static void test_jpeg_quality(void)
{
    Image img = image_new(320, 240, CONTENT_PHOTO, 0, false);
    size_t sizes[4];
    const int qualities[4] = { -5, 30, 90, 1000 };
    for (int i = 0; i < 4; i++) {
        SpiceWireWriter w;
        spice_wire_writer_init(&w, 0);
        g_assert_true(image_encode_jpeg(&w, img.top, img.stride, 320, 240, qualities[i]));
        (void)decode_jpeg_mae(w.data, w.size, &img);
        sizes[i] = w.size;
        spice_wire_writer_clear(&w);
    }
    g_assert_cmpuint(sizes[0], <, sizes[1]);
    g_assert_cmpuint(sizes[1], <, sizes[2]);
    g_assert_cmpuint(sizes[2], <, sizes[3]);
    image_free(&img);
}

/* Encoders append after what the writer holds and, on bad input, leave it
 * untouched. */
static void test_append_and_reject(void)
{
    Image img = image_new(16, 8, CONTENT_GRADIENT, 0, false);
    SpiceWireWriter w;
    spice_wire_writer_init(&w, 0);
    spice_wire_write(&w, "descriptor-goes-h", 18);

    g_assert_false(image_encode_bitmap(&w, img.top, img.stride, 0, 8));
    g_assert_false(image_encode_lz4(&w, img.top, img.stride, 16, 0));
    g_assert_false(image_encode_jpeg(&w, NULL, img.stride, 16, 8, 80));
    g_assert_false(image_encode_lz4(&w, img.top, 16 * 4 - 1, 16, 8)); /* rows overlap */
    g_assert_false(image_encode_jpeg(&w, img.top, img.stride, 70000, 1, 80));
    g_assert_false(image_is_photographic(img.top, img.stride, 0, 0));
    g_assert_cmpuint(image_hash(NULL, 64, 16, 8), ==, 0);
    g_assert_cmpuint(w.size, ==, 18);
    g_assert_false(w.error);

    /* A writer that already failed stays failed. */
    SpiceWireWriter bad;
    spice_wire_writer_init(&bad, 0);
    bad.error = true;
    g_assert_false(image_encode_bitmap(&bad, img.top, img.stride, 16, 8));
    g_assert_false(image_encode_lz4(&bad, img.top, img.stride, 16, 8));
    g_assert_false(image_encode_jpeg(&bad, img.top, img.stride, 16, 8, 80));
    g_assert_cmpuint(bad.size, ==, 0);
    spice_wire_writer_clear(&bad);

    g_assert_true(image_encode_lz4(&w, img.top, img.stride, 16, 8));
    g_assert_cmpmem(w.data, 18, "descriptor-goes-h", 18);
    unsigned blocks;
    g_autofree uint8_t *out = decode_lz4(w.data + 18, w.size - 18, 16, 8, &blocks);
    assert_pixels_equal(out, &img);

    size_t before = w.size;
    g_assert_true(image_encode_jpeg(&w, img.top, img.stride, 16, 8, 80));
    (void)decode_jpeg_mae(w.data + before, w.size - before, &img);
    before = w.size;
    g_assert_true(image_encode_bitmap(&w, img.top, img.stride, 16, 8));
    check_bitmap(w.data + before, w.size - before, &img);

    spice_wire_writer_clear(&w);
    image_free(&img);
}

/* ---- Photographic heuristic -------------------------------------------- */

static bool photographic(uint32_t width, uint32_t height, Content content)
{
    Image img = image_new(width, height, content, 0, false);
    bool result = image_is_photographic(img.top, img.stride, width, height);
    image_free(&img);
    return result;
}

static void test_photographic(void)
{
    /* Natural-image-like */
    g_assert_true(photographic(1920, 1080, CONTENT_PHOTO));
    g_assert_true(photographic(640, 480, CONTENT_PHOTO));
    g_assert_true(photographic(100, 50, CONTENT_PHOTO));
    g_assert_true(photographic(1920, 1080, CONTENT_GRADIENT));
    g_assert_true(photographic(256, 256, CONTENT_GRADIENT));
    /* UI-like, noise, tiny */
    g_assert_false(photographic(1920, 1080, CONTENT_UI));
    g_assert_false(photographic(640, 480, CONTENT_UI));
    g_assert_false(photographic(1920, 1080, CONTENT_FLAT));
    g_assert_false(photographic(1920, 1080, CONTENT_RANDOM));
    g_assert_false(photographic(20, 20, CONTENT_PHOTO));
    g_assert_false(photographic(1, 1, CONTENT_PHOTO));
    g_assert_false(photographic(1, 5000, CONTENT_FLAT));

    /* Strided, bottom-up input samples the same pixels. */
    Image a = image_new(500, 400, CONTENT_PHOTO, 0, false);
    Image b = image_new(500, 400, CONTENT_PHOTO, 40, true);
    g_assert_true(image_is_photographic(a.top, a.stride, 500, 400));
    g_assert_true(image_is_photographic(b.top, b.stride, 500, 400));
    image_free(&a);
    image_free(&b);
}

/* ---- Hash -------------------------------------------------------------- */

static void test_hash_stable(void)
{
    static const uint32_t widths[] = { 1, 2, 3, 5, 8, 9, 64, 333 };
    for (size_t i = 0; i < G_N_ELEMENTS(widths); i++) {
        uint32_t wd = widths[i], ht = 7;
        Image a = image_new(wd, ht, CONTENT_RANDOM, 0, false);
        Image b = image_new(wd, ht, CONTENT_RANDOM, 12, true);
        uint64_t ha = image_hash(a.top, a.stride, wd, ht);
        /* Same call, same result. */
        g_assert_cmphex(ha, ==, image_hash(a.top, a.stride, wd, ht));
        /* Same pixels stored differently: same result. */
        g_assert_cmphex(ha, ==, image_hash(b.top, b.stride, wd, ht));
        /* The x bytes do not count. */
        for (uint32_t y = 0; y < ht; y++) {
            for (uint32_t x = 0; x < wd; x++) {
                pixel_at(&b, x, y)[3] ^= (uint8_t)(x * 31 + y + 1);
            }
        }
        g_assert_cmphex(ha, ==, image_hash(b.top, b.stride, wd, ht));
        image_free(&a);
        image_free(&b);
    }
}

static void test_hash_sensitive(void)
{
    /* Every single-pixel, single-channel change in an image with an odd
     * width (exercising the tail word) changes the hash, to a value not
     * seen before. */
    Image img = image_new(13, 5, CONTENT_GRADIENT, 0, false);
    uint64_t base = image_hash(img.top, img.stride, 13, 5);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    g_hash_table_add(seen, dup_u64(base));
    unsigned bit_counts[64] = { 0 };
    unsigned n = 0;
    for (uint32_t y = 0; y < 5; y++) {
        for (uint32_t x = 0; x < 13; x++) {
            for (int c = 0; c < 3; c++) {
                for (int delta = 1; delta < 256; delta += 17) {
                    uint8_t *p = pixel_at(&img, x, y) + c;
                    uint8_t saved = *p;
                    *p = (uint8_t)(saved + delta);
                    uint64_t h = image_hash(img.top, img.stride, 13, 5);
                    *p = saved;
                    g_assert_true(g_hash_table_add(seen, dup_u64(h)));
                    for (int bit = 0; bit < 64; bit++) {
                        bit_counts[bit] += (h >> bit) & 1;
                    }
                    n++;
                }
            }
        }
    }
    /* Well spread: every output bit is set in about half of the hashes
     * (n = 2925; 45%..55% is more than 5 standard deviations). */
    for (int bit = 0; bit < 64; bit++) {
        g_assert_cmpuint(bit_counts[bit] * 100, >, n * 45);
        g_assert_cmpuint(bit_counts[bit] * 100, <, n * 55);
    }
    g_assert_cmphex(image_hash(img.top, img.stride, 13, 5), ==, base);

    /* The same bytes read with another shape hash differently. */
    Image sq = image_new(8, 8, CONTENT_FLAT, 0, false);
    uint64_t h88 = image_hash(sq.top, 32, 8, 8);
    uint64_t h48 = image_hash(sq.top, 16, 4, 16);
    uint64_t h84 = image_hash(sq.top, 32, 8, 4);
    g_assert_cmphex(h88, !=, h48);
    g_assert_cmphex(h88, !=, h84);
    g_assert_cmphex(h48, !=, h84);
    image_free(&sq);
    image_free(&img);

    /* A large image: a change in the last pixel still counts. */
    Image big = image_new(1920, 1080, CONTENT_UI, 0, false);
    uint64_t hb = image_hash(big.top, big.stride, 1920, 1080);
    pixel_at(&big, 1919, 1079)[0] ^= 1;
    g_assert_cmphex(hb, !=, image_hash(big.top, big.stride, 1920, 1080));
    image_free(&big);
}

/* ---- Speed (informational only) ----------------------------------------- */

static void test_speed(void)
{
    static const Content contents[] = { CONTENT_UI, CONTENT_PHOTO };
    static const char *const names[] = { "ui", "photo" };
    for (size_t i = 0; i < G_N_ELEMENTS(contents); i++) {
        Image img = image_new(1920, 1080, contents[i], 0, false);
        SpiceWireWriter w;
        spice_wire_writer_init(&w, (size_t)1920 * 1080 * 4 + 64);
        const int iterations = 5;
        double ms[5] = { 0 };
        size_t bytes[5] = { 0 };
        double lz_ms = 0, quic_ms = 0, glz_ms = 0;
        size_t glz_bytes = 0;
        for (int k = 0; k < iterations; k++) {
            gint64 t0 = g_get_monotonic_time();
            w.size = 0;
            g_assert_true(image_encode_bitmap(&w, img.top, img.stride, 1920, 1080));
            bytes[0] = w.size;
            gint64 t1 = g_get_monotonic_time();
            w.size = 0;
            g_assert_true(image_encode_lz4(&w, img.top, img.stride, 1920, 1080));
            bytes[1] = w.size;
            gint64 t2 = g_get_monotonic_time();
            w.size = 0;
            g_assert_true(image_encode_jpeg(&w, img.top, img.stride, 1920, 1080, 85));
            bytes[2] = w.size;
            gint64 t3 = g_get_monotonic_time();
            (void)image_is_photographic(img.top, img.stride, 1920, 1080);
            gint64 t4 = g_get_monotonic_time();
            (void)image_hash(img.top, img.stride, 1920, 1080);
            gint64 t5 = g_get_monotonic_time();
            w.size = 0;
            g_assert_true(image_encode_lz(&w, img.top, img.stride, 1920, 1080));
            bytes[3] = w.size;
            gint64 t6 = g_get_monotonic_time();
            lz_ms += (t6 - t5) / 1000.0;
            w.size = 0;
            g_assert_true(image_encode_quic(&w, img.top, img.stride, 1920, 1080));
            bytes[4] = w.size;
            gint64 t7 = g_get_monotonic_time();
            quic_ms += (t7 - t6) / 1000.0;
            /* GLZ with a fresh dictionary: no earlier image to copy from. */
            GlzDictionary *d = glz_dictionary_new(GLZ_MAX_WINDOW_PIXELS);
            w.size = 0;
            g_assert_true(image_encode_glz(&w, d, 0, 0, img.top, img.stride, 1920, 1080, NULL));
            glz_dictionary_unref(d);
            glz_bytes = w.size;
            glz_ms += (g_get_monotonic_time() - t7) / 1000.0;
            ms[0] += (t1 - t0) / 1000.0;
            ms[1] += (t2 - t1) / 1000.0;
            ms[2] += (t3 - t2) / 1000.0;
            ms[3] += (t4 - t3) / 1000.0;
            ms[4] += (t5 - t4) / 1000.0;
        }
        g_test_message("1920x1080 %s, ms/frame: bitmap %.2f (%zu B), lz4 %.2f (%zu B), "
                       "jpeg-q85 %.2f (%zu B), lz %.2f (%zu B), quic %.2f (%zu B), "
                       "glz %.2f (%zu B), photographic %.3f, hash %.2f",
                       names[i], ms[0] / iterations, bytes[0], ms[1] / iterations, bytes[1],
                       ms[2] / iterations, bytes[2], lz_ms / iterations, bytes[3],
                       quic_ms / iterations, bytes[4], glz_ms / iterations, glz_bytes,
                       ms[3] / iterations, ms[4] / iterations);
        spice_wire_writer_clear(&w);
        image_free(&img);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/codecs/bitmap/round-trip", test_bitmap);
    g_test_add_func("/codecs/lz4/round-trip", test_lz4);
    g_test_add_func("/codecs/lz4/strides-agree", test_lz4_strides_agree);
    g_test_add_func("/codecs/lz4/flat-is-small", test_lz4_flat_is_small);
    g_test_add_func("/codecs/lz/round-trip", test_lz);
    g_test_add_func("/codecs/lz/edges", test_lz_edges);
    g_test_add_func("/codecs/lz/limits", test_lz_limits);
    g_test_add_func("/codecs/lz-plt8/round-trip", test_lz_plt8);
    g_test_add_func("/codecs/lz-plt8/limits", test_lz_plt8_limits);
    g_test_add_func("/codecs/quic/round-trip", test_quic);
    g_test_add_func("/codecs/quic/runs-and-segments", test_quic_runs_and_segments);
    g_test_add_func("/codecs/glz/round-trip", test_glz);
    g_test_add_func("/codecs/glz/window", test_glz_window);
    g_test_add_func("/codecs/glz/owners", test_glz_owners);
    g_test_add_func("/codecs/glz/limits", test_glz_limits);
    g_test_add_func("/codecs/zlib-glz/round-trip", test_zlib_glz);
    g_test_add_func("/codecs/jpeg/round-trip", test_jpeg);
    g_test_add_func("/codecs/jpeg/quality", test_jpeg_quality);
    g_test_add_func("/codecs/append-and-reject", test_append_and_reject);
    g_test_add_func("/codecs/photographic", test_photographic);
    g_test_add_func("/codecs/hash/stable", test_hash_stable);
    g_test_add_func("/codecs/hash/sensitive", test_hash_sensitive);
    g_test_add_func("/codecs/speed", test_speed);
    return g_test_run();
}
