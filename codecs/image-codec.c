/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-codec.c: BITMAP, LZ4 and JPEG encoders for SPICE images, the
 * "is this a photo?" guess that picks between them, and the image-cache hash.
 *
 * The layouts match what spice-gtk's canvas (spice-common canvas_base.c)
 * decodes; see image-codec.h for the byte layout of each type. Every encoder
 * appends to a SpiceWireWriter and, when it returns false, leaves the
 * writer's size where it was so the caller can write another encoding.
 */
#include "image-codec.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>

#ifdef SPICE_CODEC_JPEG
#include <jerror.h>
#include <jpeglib.h>
#endif
#ifdef SPICE_CODEC_LZ4
#include <lz4.h>
#endif
#include <spice/enums.h>

/* Larger sides are rejected: libjpeg stops at 65500 and the 32-bit sizes of
 * the protocol would overflow long before a 65535x65535 bitmap anyway. */
#define IMAGE_MAX_SIDE 65500u

/* Bytes of uncompressed rows per LZ4 block. The decoder does not care about
 * block boundaries; a few hundred KiB keeps the per-block overhead (a 4-byte
 * length and a few literal bytes) negligible while the staging buffers of
 * the unpacked-input path stay small. */
#define LZ4_BLOCK_TARGET (256u * 1024u)

/* Common argument checks: a non-empty rectangle whose rows do not overlap. */
static bool rect_valid(const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height)
{
    if (!pixels || width == 0 || height == 0 || width > IMAGE_MAX_SIDE || height > IMAGE_MAX_SIDE) {
        return false;
    }
    int64_t abs_stride = stride < 0 ? -(int64_t)stride : (int64_t)stride;
    return abs_stride >= (int64_t)width * 4;
}

/* Row y of the rectangle; stride may be negative (bottom-up memory). */
static inline const uint8_t *row_at(const uint8_t *pixels, int32_t stride, uint32_t y)
{
    return pixels + (ptrdiff_t)y * stride;
}

static inline uint32_t load_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Undo a partly written encoding. A writer that ran out of memory stays in
 * error; its size no longer matters. */
static inline void writer_rollback(SpiceWireWriter *w, size_t size)
{
    if (w->size > size) {
        w->size = size;
    }
}

static inline void put_u32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* ---- BITMAP ----------------------------------------------------------- */

bool image_encode_bitmap(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                         uint32_t height)
{
    if (!w || !rect_valid(pixels, stride, width, height)) {
        return false;
    }
    size_t row_bytes = (size_t)width * 4;
    if ((uint64_t)row_bytes * height > UINT32_MAX) {
        return false;
    }
    uint8_t *p = spice_wire_reserve(w, 18 + row_bytes * height);
    if (!p) {
        return false;
    }
    p[0] = SPICE_BITMAP_FMT_32BIT;
    p[1] = SPICE_BITMAP_FLAGS_TOP_DOWN;
    spice_wire_put_u32(p + 2, width);
    spice_wire_put_u32(p + 6, height);
    spice_wire_put_u32(p + 10, (uint32_t)row_bytes);
    spice_wire_put_u32(p + 14, 0); /* no palette */
    p += 18;
    for (uint32_t y = 0; y < height; y++) {
        memcpy(p, row_at(pixels, stride, y), row_bytes);
        p += row_bytes;
    }
    return true;
}

/* ---- LZ4 -------------------------------------------------------------- */

#ifdef SPICE_CODEC_LZ4

/*
 * spice-gtk decodes every block with LZ4_decompress_safe_continue() straight
 * after the previous one in a single x8r8g8b8 buffer, so the blocks form one
 * LZ4 stream over the tightly packed rows. When the input rows are already
 * packed (stride == width * 4) they are compressed in place: consecutive
 * blocks are contiguous and stay put, which is what liblz4 wants. Otherwise
 * each block's rows are packed into one half of a double buffer; liblz4
 * supports that layout (lz4.h, LZ4_compress_fast_continue note 3) as long as
 * the halves do not touch, and then references only the previous block.
 */
bool image_encode_lz4(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                      uint32_t height)
{
    if (!w || !rect_valid(pixels, stride, width, height) || w->error) {
        return false;
    }
    size_t row_bytes = (size_t)width * 4;
    /* canvas_get_lz4() sizes its output as an int (height * stride). */
    if ((uint64_t)row_bytes * height > INT_MAX) {
        return false;
    }
    uint32_t rows_per_block = (uint32_t)(LZ4_BLOCK_TARGET / row_bytes);
    if (rows_per_block == 0) {
        rows_per_block = 1;
    }
    size_t block_bytes = rows_per_block * row_bytes;
    bool packed = stride == (int64_t)row_bytes;

    const size_t start = w->size;
    bool ok = false;
    uint8_t *staging = NULL;
    LZ4_stream_t *stream = LZ4_createStream();
    if (!stream) {
        return false;
    }
    if (!packed) {
        /* Two halves with a gap so liblz4 never sees them as contiguous. */
        staging = malloc(2 * block_bytes + 64);
        if (!staging) {
            goto done;
        }
    }

    uint8_t *hdr = spice_wire_reserve(w, 4 + 2);
    if (!hdr) {
        goto done;
    }
    /* hdr[0..3] is the data size, filled in at the end. */
    hdr[4] = 1; /* top_down */
    hdr[5] = SPICE_BITMAP_FMT_32BIT;

    unsigned block = 0;
    for (uint32_t y = 0; y < height; y += rows_per_block, block++) {
        uint32_t rows = height - y < rows_per_block ? height - y : rows_per_block;
        int in_size = (int)(rows * row_bytes);
        const uint8_t *src;
        if (packed) {
            src = row_at(pixels, stride, y);
        } else {
            uint8_t *dst = staging + (block & 1) * (block_bytes + 64);
            for (uint32_t r = 0; r < rows; r++) {
                memcpy(dst + r * row_bytes, row_at(pixels, stride, y + r), row_bytes);
            }
            src = dst;
        }
        int bound = LZ4_compressBound(in_size);
        uint8_t *blk = bound > 0 ? spice_wire_reserve(w, 4 + (size_t)bound) : NULL;
        if (!blk) {
            goto done;
        }
        int enc = LZ4_compress_fast_continue(stream, (const char *)src, (char *)blk + 4, in_size,
                                             bound, 1);
        if (enc <= 0) {
            goto done;
        }
        put_u32_be(blk, (uint32_t)enc);
        w->size -= (size_t)(bound - enc);
    }

    size_t data_size = w->size - start - 4;
    if (data_size > UINT32_MAX) {
        goto done;
    }
    spice_wire_put_u32(w->data + start, (uint32_t)data_size);
    ok = true;

done:
    if (!ok) {
        writer_rollback(w, start);
    }
    free(staging);
    LZ4_freeStream(stream);
    return ok;
}

#endif /* SPICE_CODEC_LZ4 */

/* ---- JPEG ------------------------------------------------------------- */

#ifdef SPICE_CODEC_JPEG

typedef struct JpegErrorManager {
    struct jpeg_error_mgr base;
    jmp_buf jump;
} JpegErrorManager;

typedef struct JpegDestination {
    struct jpeg_destination_mgr base;
    SpiceWireWriter *w;
    size_t chunk;
} JpegDestination;

/* libjpeg's default error_exit() calls exit(); unwind to the encoder. */
static void jpeg_error_exit_cb(j_common_ptr cinfo)
{
    JpegErrorManager *err = (JpegErrorManager *)cinfo->err;
    longjmp(err->jump, 1);
}

/* Warnings would go to stderr; a server has no use for them. */
static void jpeg_output_message_cb(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* Hand libjpeg the next `chunk` bytes at the end of the writer. */
static void jpeg_dest_next_chunk(j_compress_ptr cinfo)
{
    JpegDestination *dest = (JpegDestination *)cinfo->dest;
    uint8_t *p = spice_wire_reserve(dest->w, dest->chunk);
    if (!p) {
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
        return; /* not reached: error_exit does not return */
    }
    dest->base.next_output_byte = p;
    dest->base.free_in_buffer = dest->chunk;
}

static void jpeg_dest_init(j_compress_ptr cinfo)
{
    jpeg_dest_next_chunk(cinfo);
}

/* Called when the whole current chunk is full: reserve another one. The
 * writer may move its buffer, but libjpeg holds no pointer into the old
 * chunk once it asks for a new one. */
static boolean jpeg_dest_empty(j_compress_ptr cinfo)
{
    jpeg_dest_next_chunk(cinfo);
    return TRUE;
}

/* Give back the unused tail of the last chunk. */
static void jpeg_dest_term(j_compress_ptr cinfo)
{
    JpegDestination *dest = (JpegDestination *)cinfo->dest;
    dest->w->size -= dest->base.free_in_buffer;
    dest->base.free_in_buffer = 0;
}

#ifndef JCS_EXTENSIONS
/* Plain libjpeg has no BGRX input: convert one row to RGB. */
static void bgrx_to_rgb(uint8_t *dst, const uint8_t *src, uint32_t width)
{
    for (uint32_t x = 0; x < width; x++) {
        dst[3 * x + 0] = src[4 * x + 2];
        dst[3 * x + 1] = src[4 * x + 1];
        dst[3 * x + 2] = src[4 * x + 0];
    }
}
#endif

/*
 * A baseline JFIF with libjpeg's defaults (4:2:0, JFIF APP0, standard
 * Huffman tables), which is what spice-gtk's libjpeg-based decoder reads. The
 * compressed bytes go straight into the writer through a destination manager
 * so there is no second copy. Quality outside 1..100 is clamped.
 */
bool image_encode_jpeg(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                       uint32_t height, int quality)
{
    if (!w || !rect_valid(pixels, stride, width, height) || w->error) {
        return false;
    }
    if (quality < 1) {
        quality = 1;
    } else if (quality > 100) {
        quality = 100;
    }

    const size_t start = w->size;
    struct jpeg_compress_struct cinfo;
    JpegErrorManager err;
    JpegDestination dest;
#ifndef JCS_EXTENSIONS
    uint8_t *volatile rgb_row = NULL;
#endif

    memset(&cinfo, 0, sizeof(cinfo));
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = jpeg_error_exit_cb;
    err.base.output_message = jpeg_output_message_cb;
    if (setjmp(err.jump)) {
        jpeg_destroy_compress(&cinfo);
#ifndef JCS_EXTENSIONS
        free(rgb_row);
#endif
        writer_rollback(w, start);
        return false;
    }
    jpeg_create_compress(&cinfo);

    if (!spice_wire_reserve(w, 4)) { /* data size, filled in at the end */
        jpeg_destroy_compress(&cinfo);
        return false;
    }

    /* A first chunk of about a tenth of the raw size fits most images at
     * usual qualities in one piece. */
    size_t chunk = (size_t)width * height * 4 / 10;
    dest.chunk = chunk < 16384 ? 16384 : chunk > (4u << 20) ? (4u << 20) : chunk;
    dest.w = w;
    dest.base.init_destination = jpeg_dest_init;
    dest.base.empty_output_buffer = jpeg_dest_empty;
    dest.base.term_destination = jpeg_dest_term;
    cinfo.dest = &dest.base;

    cinfo.image_width = width;
    cinfo.image_height = height;
#ifdef JCS_EXTENSIONS
    cinfo.in_color_space = JCS_EXT_BGRX;
    cinfo.input_components = 4;
#else
    cinfo.in_color_space = JCS_RGB;
    cinfo.input_components = 3;
#endif
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);

#ifdef JCS_EXTENSIONS
    /* libjpeg only reads the rows; its prototype just lacks the const. */
    JSAMPROW rows[16];
    while (cinfo.next_scanline < cinfo.image_height) {
        uint32_t n = cinfo.image_height - cinfo.next_scanline;
        n = n > 16 ? 16 : n;
        for (uint32_t i = 0; i < n; i++) {
            rows[i] = (JSAMPROW)row_at(pixels, stride, cinfo.next_scanline + i);
        }
        jpeg_write_scanlines(&cinfo, rows, n);
    }
#else
    rgb_row = malloc((size_t)width * 3);
    if (!rgb_row) {
        ERREXIT1(&cinfo, JERR_OUT_OF_MEMORY, 1);
    }
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = rgb_row;
        bgrx_to_rgb(rgb_row, row_at(pixels, stride, cinfo.next_scanline), width);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    free(rgb_row);
    rgb_row = NULL;
#endif
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);

    size_t data_size = w->size - start - 4;
    if (w->error || data_size > UINT32_MAX) {
        writer_rollback(w, start);
        return false;
    }
    spice_wire_put_u32(w->data + start, (uint32_t)data_size);
    return true;
}

#endif /* SPICE_CODEC_JPEG */

/* ---- Photographic content -------------------------------------------- */

/* Sample grid side: at most 32 x 32 = 1024 sampled pixels (it runs on
 * every image in the auto modes: it must cost little beside encoding). */
#define PHOTO_GRID 32u
/* Largest per-channel step between neighbours that still reads as smooth. */
#define PHOTO_SMOOTH_MAX 24
/* Distinct-color set: a power of two, at least twice the sample count. */
#define PHOTO_SET_SIZE 2048u

static inline int channel_step(uint32_t a, uint32_t b)
{
    int m = 0;
    for (int shift = 0; shift < 24; shift += 8) {
        int d = (int)((a >> shift) & 0xff) - (int)((b >> shift) & 0xff);
        d = d < 0 ? -d : d;
        m = d > m ? d : m;
    }
    return m;
}

/* Adds a 24-bit color to an open-addressing set; returns true if new. */
static bool color_set_add(uint32_t *set, uint32_t color)
{
    uint32_t key = (color & 0x00ffffff) | 0x01000000; /* 0 marks an empty slot */
    uint32_t i = (key * 2654435761u) >> 21;           /* top 11 bits: 0..2047 */
    while (set[i] != 0) {
        if (set[i] == key) {
            return false;
        }
        i = (i + 1) & (PHOTO_SET_SIZE - 1);
    }
    set[i] = key;
    return true;
}

/*
 * The heuristic, on a jittered grid of at most 32 x 32 pixels:
 *   - each sample is compared with its right and lower neighbours; the
 *     largest per-channel difference classifies the pair as flat (0),
 *     smooth (1..24) or an edge (> 24);
 *   - the distinct 24-bit colors among the samples are counted.
 * Natural images have many distinct colors (noise and shading) and their
 * neighbour steps are mostly small; UI content (flat fills, text, borders)
 * has few colors and, where it is not flat, sharp edges. So: photographic
 * when at least a quarter of the samples have distinct colors and smooth
 * steps outnumber edges. Pure noise fails the second test (LZ4 or JPEG
 * both do badly; lossless at least keeps it exact); a clean gradient passes
 * (many colors, flat or smooth steps, no edges) and JPEG suits it well.
 * Images under 1024 pixels are never photographic.
 */
bool image_is_photographic(const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height)
{
    if (!rect_valid(pixels, stride, width, height) ||
        (uint64_t)width * height < IMAGE_PHOTO_MIN_PIXELS) {
        return false;
    }
    uint32_t gx = width < PHOTO_GRID ? width : PHOTO_GRID;
    uint32_t gy = height < PHOTO_GRID ? height : PHOTO_GRID;
    uint32_t set[PHOTO_SET_SIZE];
    memset(set, 0, sizeof(set));

    uint32_t samples = 0, distinct = 0, smooth = 0, edges = 0;
    uint32_t seed = 0x9e3779b9u;
    for (uint32_t j = 0; j < gy; j++) {
        /* Cell j covers rows [j*height/gy, (j+1)*height/gy). */
        uint32_t y0 = (uint32_t)((uint64_t)j * height / gy);
        uint32_t y1 = (uint32_t)((uint64_t)(j + 1) * height / gy);
        for (uint32_t i = 0; i < gx; i++) {
            uint32_t x0 = (uint32_t)((uint64_t)i * width / gx);
            uint32_t x1 = (uint32_t)((uint64_t)(i + 1) * width / gx);
            /* Jitter inside the cell so regular UI grids do not alias. */
            seed = seed * 1664525u + 1013904223u;
            uint32_t x = x0 + (seed >> 8) % (x1 - x0);
            uint32_t y = y0 + (seed >> 20) % (y1 - y0);

            const uint8_t *row = row_at(pixels, stride, y);
            uint32_t c = load_u32(row + (size_t)x * 4);
            samples++;
            distinct += color_set_add(set, c);
            if (x + 1 < width) {
                int d = channel_step(c, load_u32(row + (size_t)(x + 1) * 4));
                smooth += d > 0 && d <= PHOTO_SMOOTH_MAX;
                edges += d > PHOTO_SMOOTH_MAX;
            }
            if (y + 1 < height) {
                int d = channel_step(c, load_u32(row_at(pixels, stride, y + 1) + (size_t)x * 4));
                smooth += d > 0 && d <= PHOTO_SMOOTH_MAX;
                edges += d > PHOTO_SMOOTH_MAX;
            }
        }
    }
    return distinct * 4 >= samples && smooth >= edges;
}

/* ---- Hash ------------------------------------------------------------- */

#define HASH_K1 0x9e3779b97f4a7c15ull
#define HASH_K2 0xc2b2ae3d27d4eb4full
#define HASH_K3 0x165667b19e3779f9ull

static inline uint64_t rotl64(uint64_t v, int r)
{
    return (v << r) | (v >> (64 - r));
}

/* One lane step. For a fixed lane state it is a bijection of the input word
 * (K2 is odd) and for a fixed word a bijection of the state, so changing any
 * one word always changes the lane. */
static inline uint64_t hash_lane(uint64_t acc, uint64_t word)
{
    acc += word * HASH_K2;
    acc = rotl64(acc, 31);
    return acc * HASH_K1;
}

/* Final avalanche (xor-shift-multiply; a bijection). */
static inline uint64_t hash_finish(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/*
 * Each row is read as 8-byte words (two pixels, x bytes masked off; an odd
 * last pixel makes a word of its own) spread round-robin over four
 * independent lanes so the multiplies overlap. The lanes restart their
 * round-robin at every row: with width and height mixed into the seed the
 * layout is unambiguous. The merge folds the lanes in one at a time
 * through steps that are bijections of each lane, so one changed pixel (one
 * changed word in one lane) always changes the result.
 */
uint64_t image_hash(const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height)
{
    if (!rect_valid(pixels, stride, width, height)) {
        return 0;
    }
    const uint64_t mask = 0x00ffffff00ffffffull;
    uint64_t seed = hash_finish(((uint64_t)width << 32 | height) ^ HASH_K3);
    uint64_t a0 = seed + HASH_K1, a1 = seed ^ HASH_K2, a2 = seed, a3 = seed - HASH_K1;
    size_t words = width / 2;

    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *p = row_at(pixels, stride, y);
        size_t k = 0;
        for (; k + 4 <= words; k += 4, p += 32) {
            a0 = hash_lane(a0, load_u64(p) & mask);
            a1 = hash_lane(a1, load_u64(p + 8) & mask);
            a2 = hash_lane(a2, load_u64(p + 16) & mask);
            a3 = hash_lane(a3, load_u64(p + 24) & mask);
        }
        /* Up to three leftover words and an odd pixel: lanes 0..3 in turn. */
        uint64_t tail[4];
        size_t n = 0;
        for (; k < words; k++, p += 8) {
            tail[n++] = load_u64(p) & mask;
        }
        if (width & 1) {
            tail[n++] = load_u32(p) & 0x00ffffffu;
        }
        if (n > 0) {
            a0 = hash_lane(a0, tail[0]);
        }
        if (n > 1) {
            a1 = hash_lane(a1, tail[1]);
        }
        if (n > 2) {
            a2 = hash_lane(a2, tail[2]);
        }
        if (n > 3) {
            a3 = hash_lane(a3, tail[3]);
        }
    }

    uint64_t h = seed;
    h = (h ^ hash_lane(0, a0)) * HASH_K1 + HASH_K3;
    h = (h ^ hash_lane(0, a1)) * HASH_K1 + HASH_K3;
    h = (h ^ hash_lane(0, a2)) * HASH_K1 + HASH_K3;
    h = (h ^ hash_lane(0, a3)) * HASH_K1 + HASH_K3;
    return hash_finish(h);
}
