/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * image-decoders.h: strict decoders of the SPICE image bodies our server
 * sends, for the tests.
 *
 * Each refuses what a real client would abort on or misdraw: spice-gtk's
 * LZ decoder asserts on a copy past the end or before the start and on
 * input left over; its LZ4 path decodes block after block with
 * LZ4_decompress_safe_continue() into one buffer (canvas_get_lz4()). A
 * passing decode therefore means spice-gtk and spice-html5 accept the
 * body. Written from the format descriptions in codecs/.
 */
#ifndef SPICE_TESTS_IMAGE_DECODERS_H_
#define SPICE_TESTS_IMAGE_DECODERS_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The LZ header and body (what follows LZ_RGB's u32 data size): a new
 * array of width * height pixels 0x00RRGGBB, top row first; NULL with
 * *why set when the stream is malformed. */
uint32_t *lz_decode_rgb32(const uint8_t *data, size_t size, uint32_t *width, uint32_t *height,
                          const char **why);

/* LZ4 (what follows its u32 data size) as canvas_get_lz4() decodes it:
 * the packed x8r8g8b8 rows, x bytes as sent. Needs HAVE_LZ4. */
uint8_t *lz4_decode_rows(const uint8_t *data, size_t size, uint32_t width, uint32_t height,
                         unsigned *blocks, const char **why);

/*
 * The body of a SpiceImage of `type` (SPICE_IMAGE_TYPE_BITMAP, LZ_RGB or
 * LZ4: what follows the 18-byte descriptor), `size` bytes available, for
 * an image of width x height: a new array of pixels 0x00RRGGBB. *used is
 * how many bytes the body took; *blocks (may be NULL) the LZ4 blocks.
 * NULL with *why set for anything malformed or unsupported.
 */
uint32_t *image_decode_body(uint8_t type, const uint8_t *body, size_t size, uint32_t width,
                            uint32_t height, size_t *used, unsigned *blocks, const char **why);

#endif
