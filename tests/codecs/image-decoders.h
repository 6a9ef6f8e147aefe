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
/* The same for the PLT8 form (what follows LZ_PLT's data size and palette
 * offset), each index looked up in palette (colours entries). */
uint32_t *lz_decode_plt8(const uint8_t *data, size_t size, const uint32_t *palette,
                         uint32_t colours, uint32_t *width, uint32_t *height, const char **why);

/* LZ4 (what follows its u32 data size) as canvas_get_lz4() decodes it:
 * the packed x8r8g8b8 rows, x bytes as sent. Needs HAVE_LZ4. */
uint8_t *lz4_decode_rows(const uint8_t *data, size_t size, uint32_t width, uint32_t height,
                         unsigned *blocks, const char **why);

/*
 * The client's GLZ window, kept as spice-gtk keeps it (decode-glz.c):
 * decoded images by id; once every id up to an image's has arrived, the
 * images older than that image's window head go. Where spice-gtk would
 * wait forever (a copy from an id it does not have) or read past an
 * image, the decode fails.
 */
typedef struct GlzTestWindow GlzTestWindow;
GlzTestWindow *glz_test_window_new(void);
void glz_test_window_free(GlzTestWindow *win);
/* What the window holds now. */
void glz_test_window_usage(const GlzTestWindow *win, size_t *images, uint64_t *pixels);

/* The GLZ header and body (what follows GLZ_RGB's u32 data size), decoded
 * against and then added to win: a new array of pixels as
 * lz_decode_rgb32's; *id (may be NULL) the image's id. */
uint32_t *glz_decode_rgb32(GlzTestWindow *win, const uint8_t *data, size_t size, uint32_t *width,
                           uint32_t *height, uint64_t *id, const char **why);

/*
 * The body of a SpiceImage of `type` (SPICE_IMAGE_TYPE_BITMAP, LZ_RGB,
 * QUIC, LZ4, GLZ_RGB or ZLIB_GLZ_RGB, the last two against `glz`, which
 * may be NULL otherwise: what follows the 18-byte descriptor), `size`
 * bytes available, for
 * an image of width x height: a new array of pixels 0x00RRGGBB. *used is
 * how many bytes the body took; *blocks (may be NULL) the LZ4 blocks.
 * NULL with *why set for anything malformed or unsupported.
 */
uint32_t *image_decode_body(GlzTestWindow *glz, uint8_t type, const uint8_t *body, size_t size,
                            uint32_t width, uint32_t height, size_t *used, unsigned *blocks,
                            const char **why);

#endif
