/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lz.c: the SPICE LZ image encoder: SPICE_IMAGE_TYPE_LZ_RGB (RGB32 form)
 * and SPICE_IMAGE_TYPE_LZ_PLT (PLT8 form, for images of 256 colours or
 * fewer).
 *
 * LZ is the lossless codec every SPICE client decodes, spice-html5
 * included (it decodes neither LZ4 nor GLZ). The format, as the clients'
 * decoders read it (spice-common lz_decompress_tmpl.c, spice-html5 lz.js):
 *
 *   header: seven big-endian u32: magic "LZ  " (0x20205a4c), version
 *           0x00010001, image type (8 = RGB32), width, height, stride
 *           (width * 4), top_down (1: the first row is the top one)
 *   body:   the pixels as one sequence (rows one after another), coded as
 *           control bytes each followed by their operands:
 *     ctrl < 32:  ctrl + 1 literal pixels follow, 3 bytes each (B, G, R)
 *     ctrl >= 32: a copy of earlier pixels. len = ctrl >> 5 (1..6 is the
 *                 length itself; 7 means 7 plus the following bytes, each
 *                 255 meaning "add 255 and read another"); then the
 *                 distance minus one: its high 5 bits in ctrl & 31 and its
 *                 low byte next; (31, 255) escapes to a far distance, two
 *                 more big-endian bytes plus 8191
 *
 * The decoders stop once the image is full, and spice-gtk aborts (a
 * spice_assert) on a copy that runs past the end or input left over, so
 * the encoder never emits either. The x byte of the pixels is not sent;
 * decoders write 0 (or opaque alpha) there.
 *
 * The PLT8 form (type 5) codes one palette index per pixel instead: the
 * stride is the width, a literal is one byte, and copies are counted in
 * indexes with a bias of 3 rather than 1 (len = (ctrl >> 5) + 2 plus the
 * extension bytes; a copy is at least three long). The palette itself
 * travels beside the stream, in the image's LZ_PLT header.
 *
 * Matching: a pixel run (distance 1) and the same pixels one row up are
 * tried first, as they cover most of a desktop; otherwise a hash of two
 * pixels finds the last place they occurred. The longest candidate wins
 * when it is at least two pixels long (a one-pixel copy saves one byte
 * but splits a literal run). Where nothing matches for a while, the
 * search skips ahead so noise costs little more than a copy.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "image-codec.h"
#include "lz-format.h"

#define LZ_HEADER_BYTES  28u
#define LZ_NEAR_LIMIT    8191u            /* distance - 1 below this: one byte */
#define LZ_FAR_LIMIT     (8191u + 65535u) /* largest distance - 1 */
#define LZ_MIN_MATCH     2u
#define LZ_MAX_IMAGE     (1024u * 1024u * 1024u - 1u) /* the decoders' bound, bytes */
#define LZ_SKIP_SHIFT    5 /* after 32 misses, search every 2nd pixel, ... */
#define LZ_HASH_MIN_BITS 8
#define LZ_HASH_MAX_BITS 15

typedef struct {
    const uint32_t *px; /* width * height pixels, x bytes cleared */
    size_t n;
    uint32_t width;
    uint32_t *table; /* last position of each hashed pixel pair */
    unsigned hash_shift;
} LzState;

static inline uint32_t lz_hash(const LzState *s, size_t i)
{
    uint64_t key = (uint64_t)s->px[i] << 24 | s->px[i + 1];
    return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> s->hash_shift);
}

/* How many pixels from `from` repeat those at `ref` (ref < from), stopping
 * at the end of the image. */
static inline size_t lz_match_length(const uint32_t *px, size_t ref, size_t from, size_t n)
{
    return lz_common_length(px + ref, px + from, n - from);
}

/* A copy of `len` >= 1 pixels from `dist` pixels back, 1 <= dist - 1 <=
 * LZ_FAR_LIMIT. */
static uint8_t *lz_put_copy(uint8_t *op, size_t len, size_t dist)
{
    uint32_t code = (uint32_t)dist - 1;
    uint32_t lenbits = len < 7 ? (uint32_t)len : 7u;
    bool far = code >= LZ_NEAR_LIMIT;
    *op++ = (uint8_t)(lenbits << 5 | (far ? 31u : code >> 8));
    if (lenbits == 7) {
        size_t rest = len - 7;
        for (; rest >= 255; rest -= 255) {
            *op++ = 255;
        }
        *op++ = (uint8_t)rest;
    }
    if (far) {
        code -= LZ_NEAR_LIMIT;
        *op++ = 255;
        *op++ = (uint8_t)(code >> 8);
        *op++ = (uint8_t)code;
    } else {
        *op++ = (uint8_t)code;
    }
    return op;
}

/* Codes the whole image into op (room for the worst case, all literals);
 * returns the end. */
static uint8_t *lz_compress(LzState *s, uint8_t *op)
{
    const uint32_t *px = s->px;
    const size_t n = s->n, w = s->width;
    size_t lit = 0; /* first pixel not yet coded */
    size_t i = 1;   /* pixel 0 can only be a literal */
    size_t misses = 0;

    while (i + 1 < n) {
        size_t best_len = 0, best_dist = 0;
        if (px[i] == px[i - 1]) {
            best_len = lz_match_length(px, i - 1, i, n);
            best_dist = 1;
        }
        if (i >= w && px[i] == px[i - w]) {
            size_t len = lz_match_length(px, i - w, i, n);
            if (len > best_len) {
                best_len = len;
                best_dist = w;
            }
        }
        uint32_t h = lz_hash(s, i);
        size_t cand = s->table[h];
        s->table[h] = (uint32_t)i;
        if (cand < i && i - cand - 1 <= LZ_FAR_LIMIT && px[cand] == px[i] &&
            px[cand + 1] == px[i + 1] && i - cand != best_dist) {
            size_t len = 2 + lz_match_length(px, cand + 2, i + 2, n);
            /* A far copy costs two bytes more: prefer a near one of equal
             * length. */
            bool far = i - cand - 1 >= LZ_NEAR_LIMIT;
            if (len > best_len + (far ? 1 : 0)) {
                best_len = len;
                best_dist = i - cand;
            }
        }

        if (best_len < LZ_MIN_MATCH) {
            misses++;
            i += 1 + (misses >> LZ_SKIP_SHIFT);
            continue;
        }
        misses = 0;
        op = lz_put_literals(op, px + lit, i - lit);
        op = lz_put_copy(op, best_len, best_dist);
        i += best_len;
        lit = i;
        /* Let the next search find where this copy ended. */
        if (i + 1 < n) {
            s->table[lz_hash(s, i - 2)] = (uint32_t)(i - 2);
        }
    }
    return lz_put_literals(op, px + lit, n - lit);
}

bool image_encode_lz(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                     uint32_t height)
{
    if (!w || !pixels || w->error || width == 0 || height == 0 || width > 65500 || height > 65500) {
        return false;
    }
    int64_t abs_stride = stride < 0 ? -(int64_t)stride : stride;
    if (abs_stride < (int64_t)width * 4 || (uint64_t)width * 4 * height > LZ_MAX_IMAGE) {
        return false;
    }
    size_t n = (size_t)width * height;
    /* Worst case: every pixel a literal, one control byte per 32. */
    size_t bound = LZ_HEADER_BYTES + lz_literal_bound(n);

    unsigned bits = LZ_HASH_MIN_BITS;
    while (bits < LZ_HASH_MAX_BITS && ((size_t)1 << bits) < n) {
        bits++;
    }
    uint32_t *px = malloc(n * sizeof(uint32_t));
    uint32_t *table = calloc((size_t)1 << bits, sizeof(uint32_t));
    size_t start = w->size;
    uint8_t *out = px && table ? spice_wire_reserve(w, 4 + bound) : NULL;
    if (!out) {
        free(px);
        free(table);
        if (w->size > start) {
            w->size = start;
        }
        return false;
    }

    lz_load_pixels(px, pixels, stride, width, height);

    uint8_t *hdr = out + 4;
    lz_be32(hdr, LZ_MAGIC);
    lz_be32(hdr + 4, LZ_VERSION);
    lz_be32(hdr + 8, LZ_TYPE_RGB32);
    lz_be32(hdr + 12, width);
    lz_be32(hdr + 16, height);
    lz_be32(hdr + 20, width * 4);
    lz_be32(hdr + 24, 1); /* top down */

    LzState s = { .px = px, .n = n, .width = width, .table = table, .hash_shift = 64 - bits };
    uint8_t *end = lz_compress(&s, hdr + LZ_HEADER_BYTES);
    size_t data_size = (size_t)(end - hdr);
    spice_wire_put_u32(out, (uint32_t)data_size);
    w->size = start + 4 + data_size;
    free(px);
    free(table);
    return true;
}

/* ---- the palette form ------------------------------------------------------------ */

#define LZ_PLT_MIN_MATCH 3u
#define LZ_PLT_SLOTS     1024u /* open addressing for at most 256 colours */

/* Each pixel's palette index into idx, the colours into palette; false
 * when there are more than 256. */
static bool lz_index_pixels(const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height,
                            uint8_t *idx, uint32_t palette[256], uint32_t *colours)
{
    uint32_t keys[LZ_PLT_SLOTS]; /* colour + 1; 0: empty */
    uint8_t vals[LZ_PLT_SLOTS];
    memset(keys, 0, sizeof(keys));
    uint32_t n = 0, last = UINT32_MAX;
    uint8_t last_idx = 0;
    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *row = pixels + (ptrdiff_t)y * stride;
        uint8_t *out = idx + (size_t)y * width;
        for (uint32_t x = 0; x < width; x++) {
            uint32_t c = spice_wire_get_u32(row + 4 * (size_t)x) & 0x00ffffffu;
            if (c != last) {
                uint32_t slot = (c * 0x9e3779b1u) >> 22;
                while (keys[slot] != 0 && keys[slot] != c + 1) {
                    slot = (slot + 1) & (LZ_PLT_SLOTS - 1);
                }
                if (keys[slot] == 0) {
                    if (n == 256) {
                        return false;
                    }
                    keys[slot] = c + 1;
                    vals[slot] = (uint8_t)n;
                    palette[n++] = c;
                }
                last = c;
                last_idx = vals[slot];
            }
            out[x] = last_idx;
        }
    }
    *colours = n;
    return true;
}

static inline size_t lz_byte_match(const uint8_t *a, const uint8_t *b, size_t max)
{
    size_t len = 0;
    while (len + 8 <= max) {
        uint64_t x, y;
        memcpy(&x, a + len, 8);
        memcpy(&y, b + len, 8);
        if (x != y) {
            return len + (size_t)(__builtin_ctzll(x ^ y) >> 3);
        }
        len += 8;
    }
    while (len < max && a[len] == b[len]) {
        len++;
    }
    return len;
}

static uint8_t *lz_put_index_literals(uint8_t *op, const uint8_t *px, size_t count)
{
    while (count > 0) {
        size_t k = count < LZ_MAX_LITERALS ? count : LZ_MAX_LITERALS;
        *op++ = (uint8_t)(k - 1);
        memcpy(op, px, k);
        op += k;
        px += k;
        count -= k;
    }
    return op;
}

static inline uint32_t lz_hash3(const uint8_t *p, unsigned shift)
{
    uint32_t key = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
    return (key * 0x9e3779b1u) >> shift;
}

/* As lz_compress, over indexes. */
static uint8_t *lz_compress_indexes(const uint8_t *px, size_t n, size_t w, uint32_t *table,
                                    unsigned shift, uint8_t *op)
{
    size_t lit = 0, i = 1, misses = 0;
    while (i + 2 < n) {
        size_t best_len = 0, best_dist = 0;
        if (px[i] == px[i - 1]) {
            best_len = lz_byte_match(px + i - 1, px + i, n - i);
            best_dist = 1;
        }
        if (i >= w && px[i] == px[i - w]) {
            size_t len = lz_byte_match(px + i - w, px + i, n - i);
            if (len > best_len) {
                best_len = len;
                best_dist = w;
            }
        }
        uint32_t h = lz_hash3(px + i, shift);
        size_t cand = table[h];
        table[h] = (uint32_t)i;
        if (cand < i && i - cand - 1 <= LZ_FAR_LIMIT && i - cand != best_dist &&
            memcmp(px + cand, px + i, 3) == 0) {
            size_t len = 3 + lz_byte_match(px + cand + 3, px + i + 3, n - i - 3);
            bool far = i - cand - 1 >= LZ_NEAR_LIMIT;
            if (len > best_len + (far ? 1 : 0)) {
                best_len = len;
                best_dist = i - cand;
            }
        }
        if (best_len < LZ_PLT_MIN_MATCH) {
            misses++;
            i += 1 + (misses >> LZ_SKIP_SHIFT);
            continue;
        }
        misses = 0;
        op = lz_put_index_literals(op, px + lit, i - lit);
        op = lz_put_copy(op, best_len - 2, best_dist); /* the form's bias */
        i += best_len;
        lit = i;
        if (i + 2 < n) {
            table[lz_hash3(px + i - 2, shift)] = (uint32_t)(i - 2);
        }
    }
    return lz_put_index_literals(op, px + lit, n - lit);
}

bool image_encode_lz_plt8(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                          uint32_t height, uint32_t palette[256], uint32_t *colours,
                          size_t *palette_at)
{
    if (!w || !pixels || !palette || !colours || !palette_at || w->error || width == 0 ||
        height == 0 || width > 65500 || height > 65500) {
        return false;
    }
    int64_t abs_stride = stride < 0 ? -(int64_t)stride : stride;
    if (abs_stride < (int64_t)width * 4 || (uint64_t)width * 4 * height > LZ_MAX_IMAGE) {
        return false;
    }
    size_t n = (size_t)width * height;
    uint8_t *idx = malloc(n);
    if (!idx || !lz_index_pixels(pixels, stride, width, height, idx, palette, colours)) {
        free(idx);
        return false;
    }
    size_t bound = LZ_HEADER_BYTES + n + (n + LZ_MAX_LITERALS - 1) / LZ_MAX_LITERALS;
    unsigned bits = LZ_HASH_MIN_BITS;
    while (bits < LZ_HASH_MAX_BITS && ((size_t)1 << bits) < n) {
        bits++;
    }
    uint32_t *table = calloc((size_t)1 << bits, sizeof(uint32_t));
    size_t start = w->size;
    uint8_t *out = table ? spice_wire_reserve(w, 8 + bound) : NULL;
    if (!out) {
        free(idx);
        free(table);
        if (w->size > start) {
            w->size = start;
        }
        return false;
    }
    uint8_t *hdr = out + 8; /* after the data size and the palette's place */
    lz_be32(hdr, LZ_MAGIC);
    lz_be32(hdr + 4, LZ_VERSION);
    lz_be32(hdr + 8, LZ_TYPE_PLT8);
    lz_be32(hdr + 12, width);
    lz_be32(hdr + 16, height);
    lz_be32(hdr + 20, width); /* one index a pixel */
    lz_be32(hdr + 24, 1);     /* top down */
    uint8_t *end = lz_compress_indexes(idx, n, width, table, 32 - bits, hdr + LZ_HEADER_BYTES);
    size_t data_size = (size_t)(end - hdr);
    spice_wire_put_u32(out, (uint32_t)data_size);
    spice_wire_put_u32(out + 4, 0);
    *palette_at = start + 4;
    w->size = start + 8 + data_size;
    free(idx);
    free(table);
    return true;
}
