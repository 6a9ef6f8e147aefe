/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-codec-bench: the display's image encoders on one core: megapixels
 * per second and bytes per pixel, per encoder and content.
 *
 * Contents, all 1920x1080 (or --size) x8r8g8b8, made here:
 *   desktop  flat panels, window frames and lines of glyph-like strokes
 *   photo    smooth shading with a little noise (camera-like)
 *   noise    random bytes (the worst case of every lossless codec)
 *   flat     one colour
 * Encoders: raw bitmap, LZ, QUIC, GLZ (a fresh dictionary, then the same
 * image again: copies from the previous one), LZ4, JPEG at quality 85
 * (images) and 75 (the first step of a video stream). Each is run until
 * --seconds have passed (at least 3 runs); the median run counts.
 *
 * A tool, not a test: it prints figures. Usage:
 *   spice-codec-bench [--size WxH] [--seconds S]
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image-codec.h"

typedef enum { CONTENT_DESKTOP, CONTENT_PHOTO, CONTENT_NOISE, CONTENT_FLAT } Content;
static const char *const content_names[] = { "desktop", "photo", "noise", "flat" };

static uint32_t seed = 12345;
static uint32_t next_random(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static void rect(uint32_t *px, uint32_t w, uint32_t h, uint32_t x0, uint32_t y0, uint32_t rw,
                 uint32_t rh, uint32_t color)
{
    for (uint32_t y = y0; y < y0 + rh && y < h; y++) {
        for (uint32_t x = x0; x < x0 + rw && x < w; x++) {
            px[(size_t)y * w + x] = color;
        }
    }
}

static uint32_t *make_image(Content c, uint32_t w, uint32_t h)
{
    uint32_t *px = g_new(uint32_t, (size_t)w * h);
    switch (c) {
    case CONTENT_FLAT:
        rect(px, w, h, 0, 0, w, h, 0x00336699);
        break;
    case CONTENT_NOISE:
        for (size_t i = 0; i < (size_t)w * h; i++) {
            px[i] = next_random() & 0x00ffffff;
        }
        break;
    case CONTENT_PHOTO:
        for (uint32_t y = 0; y < h; y++) {
            for (uint32_t x = 0; x < w; x++) {
                int n = (int)(next_random() % 7) - 3;
                int r = (int)((x * 255) / w) + n, g = (int)((y * 255) / h) + n;
                int b = (int)(((x + y) * 127) / (w + h)) + 64 + n;
                r = CLAMP(r, 0, 255), g = CLAMP(g, 0, 255), b = CLAMP(b, 0, 255);
                px[(size_t)y * w + x] = (uint32_t)r << 16 | (uint32_t)g << 8 | (uint32_t)b;
            }
        }
        break;
    case CONTENT_DESKTOP:
        rect(px, w, h, 0, 0, w, h, 0x002b5797);
        for (uint32_t wy = 40; wy + 200 < h; wy += 360) {
            for (uint32_t wx = 40; wx + 300 < w; wx += 560) {
                rect(px, w, h, wx, wy, 520, 330, 0x00202020);
                rect(px, w, h, wx + 1, wy + 1, 518, 24, 0x003c6eb4);
                rect(px, w, h, wx + 1, wy + 25, 518, 304, 0x00f4f4f4);
                /* lines of "text": short dark strokes, grey fringes */
                for (uint32_t ty = wy + 34; ty + 12 < wy + 320; ty += 16) {
                    for (uint32_t tx = wx + 8; tx + 8 < wx + 500; tx += 7) {
                        if (next_random() % 6 == 0) {
                            tx += 7; /* a space */
                            continue;
                        }
                        uint32_t gh = 6 + next_random() % 5;
                        rect(px, w, h, tx, ty + 10 - gh, 1, gh, 0x00101010);
                        rect(px, w, h, tx + 1, ty + 10 - gh, 1, gh, 0x00909090);
                        rect(px, w, h, tx + 2, ty + 9, 3, 1, 0x00101010);
                    }
                }
            }
        }
        rect(px, w, h, 0, h - 30, w, 30, 0x00181c22);
        break;
    }
    return px;
}

typedef enum {
    ENC_BITMAP,
    ENC_LZ,
    ENC_LZ_PLT8,
    ENC_QUIC,
    ENC_GLZ,
    ENC_GLZ_AGAIN,
    ENC_LZ4,
    ENC_JPEG85,
    ENC_JPEG75
} Encoder;
static const char *const encoder_names[] = { "bitmap",      "lz",  "lz plt8",  "quic",    "glz",
                                             "glz (again)", "lz4", "jpeg q85", "jpeg q75" };

/* One encoding; returns its size, or 0 on failure. */
static size_t encode(Encoder e, SpiceWireWriter *w, const uint32_t *px, uint32_t width,
                     uint32_t height, GlzDictionary *dict)
{
    const uint8_t *p = (const uint8_t *)px;
    int32_t stride = (int32_t)width * 4;
    w->size = 0;
    bool ok = false;
    switch (e) {
    case ENC_BITMAP:
        ok = image_encode_bitmap(w, p, stride, width, height);
        break;
    case ENC_LZ:
        ok = image_encode_lz(w, p, stride, width, height);
        break;
    case ENC_LZ_PLT8: {
        uint32_t palette[256], colours;
        size_t at;
        ok = image_encode_lz_plt8(w, p, stride, width, height, palette, &colours, &at);
        if (ok) {
            w->size += 10 + 4 * (size_t)colours; /* the palette, as sent */
        }
        break;
    }
    case ENC_QUIC:
        ok = image_encode_quic(w, p, stride, width, height);
        break;
    case ENC_GLZ:
    case ENC_GLZ_AGAIN:
        ok = image_encode_glz(w, dict, 0, 0, p, stride, width, height, NULL);
        break;
    case ENC_LZ4:
#ifdef SPICE_CODEC_LZ4
        ok = image_encode_lz4(w, p, stride, width, height);
#endif
        break;
    case ENC_JPEG85:
    case ENC_JPEG75:
#ifdef SPICE_CODEC_JPEG
        ok = image_encode_jpeg(w, p, stride, width, height, e == ENC_JPEG85 ? 85 : 75);
#endif
        break;
    }
    return ok ? w->size : 0;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    g_autofree char *size = NULL;
    double seconds = 1.0;
    GOptionEntry entries[] = {
        { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Image size (1920x1080)", "WxH" },
        { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "Time per encoder and content (1)", "S" },
        { NULL },
    };
    g_autoptr(GOptionContext) octx = g_option_context_new("- image encoder speeds");
    g_option_context_add_main_entries(octx, entries, NULL);
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(octx, &argc, &argv, &error)) {
        g_printerr("spice-codec-bench: %s\n", error->message);
        return 2;
    }
    unsigned width = 1920, height = 1080;
    if (size && (sscanf(size, "%ux%u", &width, &height) != 2 || width == 0 || height == 0 ||
                 width > 8192 || height > 8192)) {
        g_printerr("spice-codec-bench: --size: expected WxH up to 8192x8192, not '%s'\n", size);
        return 2;
    }
    printf("spice-codec-bench: %ux%u, one core, median of runs over %.1f s each\n", width, height,
           seconds);
    printf("%-9s %-12s %10s %10s %12s\n", "content", "encoder", "ms/image", "Mpix/s",
           "bytes/pixel");
    SpiceWireWriter w;
    spice_wire_writer_init(&w, (size_t)width * height * 4 + 1024);
    for (Content c = CONTENT_DESKTOP; c <= CONTENT_FLAT; c++) {
        uint32_t *px = make_image(c, width, height);
        for (Encoder e = ENC_BITMAP; e <= ENC_JPEG75; e++) {
            double runs[4096];
            unsigned n = 0;
            size_t bytes = 0;
            gint64 start = g_get_monotonic_time();
            while (n < G_N_ELEMENTS(runs) &&
                   (n < 3 || (g_get_monotonic_time() - start) / 1e6 < seconds)) {
                GlzDictionary *dict = e == ENC_GLZ || e == ENC_GLZ_AGAIN
                                          ? glz_dictionary_new(GLZ_MAX_WINDOW_PIXELS)
                                          : NULL;
                if (e == ENC_GLZ_AGAIN) {
                    encode(ENC_GLZ, &w, px, width, height, dict);
                }
                gint64 t0 = g_get_monotonic_time();
                bytes = encode(e, &w, px, width, height, dict);
                runs[n++] = (g_get_monotonic_time() - t0) / 1000.0;
                glz_dictionary_unref(dict);
                if (!bytes) {
                    break;
                }
            }
            if (!bytes) {
                printf("%-9s %-12s %10s\n", content_names[c], encoder_names[e],
                       e == ENC_LZ_PLT8 ? "(over 256 colours)" : "(not built or failed)");
                continue;
            }
            qsort(runs, n, sizeof(double), compare_double);
            double ms = runs[n / 2];
            printf("%-9s %-12s %10.2f %10.1f %12.3f\n", content_names[c], encoder_names[e], ms,
                   (double)width * height / (ms * 1000.0),
                   (double)bytes / ((double)width * height));
        }
        g_free(px);
    }
    spice_wire_writer_clear(&w);
    return 0;
}
