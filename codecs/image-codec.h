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
 *   GLZ (GLZ_RGB): u32 data size, then the GLZ header and body (glz.c)
 *   ZLIB_GLZ_RGB:  u32 GLZ size, u32 deflated size, the deflated GLZ
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

/*
 * GLZ (SPICE_IMAGE_TYPE_GLZ_RGB, or ZLIB_GLZ_RGB when deflated): LZ whose
 * copies may come from earlier images of the same dictionary, which the
 * client keeps (glz.c). One dictionary per client session, shared by its
 * display channels (spice-gtk keeps one window per session): image ids
 * are the dictionary's. Thread-safe; reference counted.
 *
 * Every successful image_encode_glz() uses an id, and the client stalls
 * on a missing id: the caller must send every image it encoded, and stop
 * using a dictionary once it may have lost one (see glz.c).
 */
#define GLZ_MAX_WINDOW_PIXELS (1u << 22) /* 16 MiB of pixels per session */
#define GLZ_MAX_IMAGES        4096u

typedef struct GlzDictionary GlzDictionary;

typedef struct GlzDictionaryStats {
    uint32_t images;        /* in the window */
    uint64_t pixels;        /* in the window */
    uint64_t next_id;       /* the id the next image gets */
    uint64_t window_pixels; /* the window's limit */
} GlzDictionaryStats;

/* A dictionary whose window holds at most window_pixels pixels (the
 * client's DISPLAY_INIT value, capped at GLZ_MAX_WINDOW_PIXELS). NULL
 * for 0 (the client has no GLZ window: spice-html5) or out of memory. */
GlzDictionary *glz_dictionary_new(uint64_t window_pixels);
GlzDictionary *glz_dictionary_ref(GlzDictionary *d);
void glz_dictionary_unref(GlzDictionary *d);
void glz_dictionary_stats(GlzDictionary *d, GlzDictionaryStats *st);

/* Encode as GLZ, copies allowed from the images of `owner` (a display
 * channel) in the window; the image joins the window. With zlib_level
 * 1..9 and a build with zlib (SPICE_CODEC_ZLIB), the stream is deflated
 * when that makes it smaller, and *zlib_used says so: the body is then
 * ZLIB_GLZ_RGB's (u32 GLZ size, u32 deflated size, the deflated stream),
 * else GLZ_RGB's (u32 data size, the stream). Fails (using no id) on
 * invalid arguments, an image larger than the window, and allocation
 * failure. */
bool image_encode_glz(SpiceWireWriter *w, GlzDictionary *d, uint32_t owner, int zlib_level,
                      const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height,
                      bool *zlib_used);

/* LZ in its palette form (SPICE_IMAGE_TYPE_LZ_PLT, LZ_IMAGE_TYPE_PLT8),
 * for images of at most 256 colours: writes the LZ_PLT body after its
 * flags byte (u32 data size, u32 palette offset left 0 for the caller to
 * fill in at *palette_at, the LZ stream) and the colours (0x00RRGGBB, in
 * index order) into palette, their count into *colours. False, w
 * untouched, for more colours, invalid arguments or allocation failure.
 * spice-gtk decodes it; spice-html5 does not. */
bool image_encode_lz_plt8(SpiceWireWriter *w, const uint8_t *pixels, int32_t stride, uint32_t width,
                          uint32_t height, uint32_t palette[256], uint32_t *colours,
                          size_t *palette_at);

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
 * is a small fraction of encoding. Under IMAGE_PHOTO_MIN_PIXELS pixels,
 * never (a JPEG's headers alone are ~600 bytes).
 */
#define IMAGE_PHOTO_MIN_PIXELS 1024u
bool image_is_photographic(const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height);

/* A 64-bit hash of the rectangle's pixels (x bytes ignored) and its size,
 * for the per-client image cache. Not stable across versions of this code;
 * 0 for invalid arguments. */
uint64_t image_hash(const uint8_t *pixels, int32_t stride, uint32_t width, uint32_t height);

#endif /* SPICE_CODECS_IMAGE_CODEC_H_ */
