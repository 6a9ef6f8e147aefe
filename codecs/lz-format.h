/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lz-format.h: what LZ (lz.c) and GLZ (glz.c) share: the header's magic
 * and version, the literal runs (a control byte below 32 then that many
 * plus one pixels as B, G, R) and the comparison of pixel runs. Internal
 * to codecs/.
 */
#ifndef SPICE_CODECS_LZ_FORMAT_H_
#define SPICE_CODECS_LZ_FORMAT_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spice-plugin-wire.h"

#define LZ_MAGIC        0x20205a4cu /* "LZ  " read as a little-endian word */
#define LZ_VERSION      0x00010001u
#define LZ_TYPE_PLT8    5u
#define LZ_TYPE_RGB32   8u
#define LZ_MAX_LITERALS 32u

static inline void lz_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* How many of the pixels at a and b are equal, at most max. The ranges may
 * overlap (a run: b = a + 1). */
static inline size_t lz_common_length(const uint32_t *a, const uint32_t *b, size_t max)
{
    size_t len = 0;
    /* Two pixels at a time; the first differing one ends the match. */
    while (len + 2 <= max) {
        uint64_t x, y;
        memcpy(&x, a + len, 8);
        memcpy(&y, b + len, 8);
        if (x != y) {
            return len + (a[len] == b[len] ? 1 : 0);
        }
        len += 2;
    }
    if (len < max && a[len] == b[len]) {
        len++;
    }
    return len;
}

/* `count` pixels as literal runs of at most 32; returns the new end. */
static inline uint8_t *lz_put_literals(uint8_t *op, const uint32_t *px, size_t count)
{
    while (count > 0) {
        size_t k = count < LZ_MAX_LITERALS ? count : LZ_MAX_LITERALS;
        *op++ = (uint8_t)(k - 1);
        for (size_t j = 0; j < k; j++) {
            uint32_t p = px[j];
            op[0] = (uint8_t)p;
            op[1] = (uint8_t)(p >> 8);
            op[2] = (uint8_t)(p >> 16);
            op += 3;
        }
        px += k;
        count -= k;
    }
    return op;
}

/* The rectangle's pixels, x bytes cleared, rows packed (see image-codec.h
 * for the arguments). */
static inline void lz_load_pixels(uint32_t *dst, const uint8_t *pixels, int32_t stride,
                                  uint32_t width, uint32_t height)
{
    for (uint32_t y = 0; y < height; y++) {
        const uint8_t *row = pixels + (ptrdiff_t)y * stride;
        uint32_t *out = dst + (size_t)y * width;
        for (uint32_t x = 0; x < width; x++) {
            out[x] = spice_wire_get_u32(row + 4 * (size_t)x) & 0x00ffffffu;
        }
    }
}

/* The worst case of a body of n pixels: all literals. */
static inline size_t lz_literal_bound(size_t n)
{
    return n * 3 + (n + LZ_MAX_LITERALS - 1) / LZ_MAX_LITERALS;
}

#endif /* SPICE_CODECS_LZ_FORMAT_H_ */
