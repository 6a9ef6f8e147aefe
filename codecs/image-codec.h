/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-codec.h: encoders for SPICE images sent to clients.
 *
 * Each encoder writes the part of a SpiceImage that follows its 18-byte
 * descriptor (id, type, flags, width, height), which the caller writes.
 * The input is a rectangle of 32-bit pixels in SPICE_SURFACE_FMT_32_xRGB
 * memory order (bytes B, G, R, x), `stride` bytes between rows, top row
 * first; a negative stride (bottom-up memory) is fine as long as `pixels`
 * points at the top row. Rows must not overlap (|stride| >= width * 4) and
 * sides are limited to 1..65500. All encoders are lossless except JPEG.
 * LZ4 and JPEG exist when the build has them (meson options lz4 and
 * jpeg): SPICE_CODEC_LZ4 and SPICE_CODEC_JPEG are then defined for every
 * user of codecs_dep.
 *
 * The encoders append to `w`. They return false on invalid arguments, on
 * allocation or compression failure, or when the writer is already in
 * error; the writer's size is then what it was before the call, so the
 * caller can write a fallback encoding instead.
 *
 *   BITMAP (raw):  u8 format (32BIT), u8 flags (TOP_DOWN), u32 width,
 *                  u32 height, u32 stride, u32 palette offset 0, pixels
 *   LZ (LZ_RGB):   u32 data size, then the LZ header and body (lz.c)
 *   QUIC:          u32 data size, then 32-bit little-endian words (quic.c)
 *   LZ4:           u32 data size, then u8 top_down, u8 format, and
 *                  blocks of {u32 big-endian size, LZ4 block} compressed
 *                  with one streaming context, as spice-gtk decodes
 *   JPEG:          u32 data size, then a baseline JFIF image
 */
#ifndef SPICE_CODECS_IMAGE_CODEC_H_
#define SPICE_CODECS_IMAGE_CODEC_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spice-plugin-wire.h"

/* Raw 32-bit bitmap, rows tightly packed. Always succeeds for valid
 * arguments unless the writer runs out of memory. */
bool image_encode_bitmap(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                         uint32_t height);

/* LZ (SPICE_IMAGE_TYPE_LZ_RGB), which every client decodes. Fails only
 * on invalid arguments, images over 1 GiB raw (the decoders' limit) and
 * allocation failure. At worst 3 bytes per pixel plus 1 per 32. */
bool image_encode_lz(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                     uint32_t height);

/* QUIC (SPICE_IMAGE_TYPE_QUIC), lossless and best on photographic
 * content; every client decodes it. Fails on invalid arguments, images
 * over 1 GiB raw and allocation failure. */
bool image_encode_quic(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                       uint32_t height);

/* QUIC's table of 256 pseudo-random words, part of the format (for the
 * tests' decoder). */
const uint32_t *image_quic_tabrand(void);

#ifdef SPICE_CODEC_LZ4
/* LZ4 (SPICE_IMAGE_TYPE_LZ4; needs the client's LZ4_COMPRESSION cap).
 * Returns false when compression fails (the caller falls back), and for
 * images over 2 GiB raw, which spice-gtk cannot decode. */
bool image_encode_lz4(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                      uint32_t height);
#endif

#ifdef SPICE_CODEC_JPEG
/* JPEG (SPICE_IMAGE_TYPE_JPEG), quality 1..100 (clamped). Lossy; the x
 * bytes are not encoded. */
bool image_encode_jpeg(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                       uint32_t height, int quality);
#endif

/*
 * Whether a rectangle looks photographic (smooth gradients, many colors),
 * which is where JPEG beats the lossless codecs. Samples the pixels; cost
 * is a small fraction of encoding.
 */
bool image_is_photographic(const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height);

/* A 64-bit hash of the rectangle's pixels (x bytes ignored) and its size,
 * for the per-client image cache. Not stable across versions of this code;
 * 0 for invalid arguments. */
uint64_t image_hash(const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height);

#endif /* SPICE_CODECS_IMAGE_CODEC_H_ */
