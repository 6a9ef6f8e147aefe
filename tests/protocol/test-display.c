/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test-display.c: a raw DISPLAY client against the display plugin, fed by
 * the demo host's QXL device (tools/common/demo-display.c) drawing its
 * scenes in the server's process.
 *
 * The client keeps its own picture as a real one would: it decodes every
 * image with the strict decoders of tests/codecs/image-decoders.c (what
 * spice-gtk and spice-html5 accept), keeps the pixmap cache the server
 * fills (CACHE_ME, FROM_CACHE, INVAL_LIST, INVAL_ALL_PIXMAPS), applies
 * COPY_BITS, plays video streams (MJPEG frames decoded with libjpeg into
 * the picture, as spice-gtk does), and acknowledges as spice-gtk does.
 * Each case then checks which image types each image compression mode
 * sent, and that the picture equals the device's reference framebuffer
 * pixel for pixel (after a stream, once its box came again losslessly).
 */
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <jpeglib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "common/demo-display.h"
#include "common/test-client.h"
#include "common/test-server.h"
#include "image-decoders.h"
#include "spice-plugin-wire.h"

#define W           800
#define H           600
#define FRAMES      24
#define CACHE_BYTES (32u << 20)

typedef struct Cached {
    uint32_t w, h;
    uint32_t *px;
} Cached;

#define MAX_CLIP_RECTS 64

typedef struct ClientStream {
    bool live;
    int32_t left, top, right, bottom;
    uint32_t unique; /* of its report activation; 0: none */
    /* STREAM_CLIP: frames show through these only; 0 rects: none came */
    uint32_t n_clip;
    struct {
        int32_t top, left, bottom, right;
    } clip[MAX_CLIP_RECTS];
} ClientStream;

typedef struct Rect {
    int32_t top, left, bottom, right;
} Rect;

typedef struct Session {
    TestServer *ts;
    DemoDisplay *dd;
    GAsyncQueue *lines; /* the device's "frame: ..." lines */
    char *dump_path;
    int mode;        /* server image compression */
    int zlib;        /* server zlib-glz compression */
    int streaming;   /* server streaming-video */
    int jpeg;        /* server jpeg-wan-compression */
    unsigned frames; /* the device draws this many frames */
    unsigned scenes; /* DEMO_SCENE_*; 0: all */
    GlzTestWindow *glz;
    ClientStream streams[SPICE_MAX_NUM_STREAMS];
    unsigned stream_creates, stream_frames, stream_destroys, activations, stream_clips;
    uint64_t stream_bytes;                 /* the frames' JPEG bytes */
    int64_t first_frame_us, last_frame_us; /* when the first and last came */
    uint32_t last_stream;                  /* the last frame's stream */
    uint32_t *at_destroy;                  /* the picture when the last stream ended */
    ClientStream destroyed;                /* that stream */
    TestClient *main;
    TestClient *display;
    uint32_t fb_w, fb_h;
    uint32_t *fb; /* the client's picture, 0x00RRGGBB */
    GHashTable *cache;
    unsigned types[256]; /* images received, by SpiceImageType */
    uint8_t first_type;  /* of the first image */
    Rect first_box;      /* where it went */
    unsigned messages;
    unsigned draws; /* DRAW_COPY and COPY_BITS */
    uint32_t ack_window;
    unsigned unacked;
} Session;

static void cached_free(gpointer p)
{
    Cached *c = p;
    g_free(c->px);
    g_free(c);
}

static void on_frame_line(const char *line, void *opaque)
{
    Session *s = opaque;
    g_async_queue_push(s->lines, g_strdup(line));
}

static void setup_server(SpiceServer *server, void *opaque)
{
    Session *s = opaque;
    spice_server_set_image_compression(server, (SpiceImageCompression)s->mode);
    spice_server_set_jpeg_compression(server, (spice_wan_compression_t)s->jpeg);
    spice_server_set_zlib_glz_compression(server, (spice_wan_compression_t)s->zlib);
    spice_server_set_streaming_video(server, s->streaming ? s->streaming : SPICE_STREAM_VIDEO_OFF);
}

static void add_display(TestServer *ts, void *opaque)
{
    Session *s = opaque;
    DemoDisplayConfig cfg = {
        .width = W,
        .height = H,
        .scenes = s->scenes ? s->scenes : DEMO_SCENE_ALL,
        .fps = 60,
        .frames = s->frames ? s->frames : FRAMES,
        .dump_path = s->dump_path,
    };
    s->dd = demo_display_new(&cfg, on_frame_line, s);
    g_assert_cmpint(spice_server_add_interface(test_server_get(ts), demo_display_base(s->dd)), ==,
                    0);
    demo_display_attach(s->dd);
    spice_server_vm_start(test_server_get(ts));
    demo_display_start(s->dd);
}

static void remove_display(TestServer *ts, void *opaque)
{
    (void)ts;
    Session *s = opaque;
    demo_display_detach(s->dd);
    g_clear_pointer(&s->dd, demo_display_free);
}

typedef struct SessionParams {
    int mode;
    bool lz4_cap;
    uint32_t glz_window; /* pixels; 0: none, as spice-html5 */
    int zlib;            /* spice_wan_compression_t; 0: never */
    int streaming;       /* SPICE_STREAM_VIDEO_*; 0: off */
    unsigned frames;     /* 0: FRAMES */
    unsigned scenes;     /* DEMO_SCENE_*; 0: all */
    int jpeg;            /* spice_wan_compression_t; 0: never */
    int net_test_ms;     /* > 0: answer main's network test, the big ping this late */
    bool html5;          /* spice-html5's caps: no COMPOSITE, frames drawn unclipped */
} SessionParams;

/* The display channel links (the LZ4 cap as asked) and sends its INIT. */
static void display_link(Session *s, uint32_t session, bool lz4_cap, uint32_t glz_window,
                         bool html5)
{
    s->display = test_client_connect(test_server_port(s->ts));
    uint32_t caps = 1u << SPICE_DISPLAY_CAP_PREF_COMPRESSION |
                    1u << SPICE_DISPLAY_CAP_STREAM_REPORT | 1u << SPICE_DISPLAY_CAP_MULTI_CODEC |
                    1u << SPICE_DISPLAY_CAP_CODEC_MJPEG;
    if (!html5) {
        /* spice-gtk's: it shows stream frames through their clip */
        caps |= 1u << SPICE_DISPLAY_CAP_COMPOSITE | 1u << SPICE_DISPLAY_CAP_A8_SURFACE;
    }
    if (lz4_cap) {
        caps |= 1u << SPICE_DISPLAY_CAP_LZ4_COMPRESSION;
    }
    TestLinkParams p = { .connection_id = session,
                         .channel_type = SPICE_CHANNEL_DISPLAY,
                         .channel_caps = &caps,
                         .n_channel_caps = 1 };
    g_assert_true(test_client_link(s->display, &p));
    uint8_t init[14] = { 1 };
    spice_wire_put_u64(init + 1, CACHE_BYTES / 4); /* in pixels, as spice-gtk */
    init[9] = 1;
    spice_wire_put_u32(init + 10, glz_window);
    g_assert_true(test_client_send(s->display, SPICE_MSGC_DISPLAY_INIT, init, sizeof(init)));
}

/* The main channel's network test: three pings (a warm-up, the latency
 * one and 250 KiB for the rate), the last answered late_ms late, so the
 * server measures the link as that slow. Then a moment for the result to
 * reach the display plugin. */
static void answer_net_test(Session *s, int late_ms)
{
    for (int answered = 0; answered < 3;) {
        uint16_t type;
        uint8_t *body;
        uint32_t size;
        g_assert_true(test_client_recv(s->main, &type, &body, &size));
        if (type == SPICE_MSG_PING) {
            g_assert_cmpuint(size, >=, 12);
            if (++answered == 3) {
                g_usleep((gulong)late_ms * 1000);
            }
            g_assert_true(test_client_send(s->main, SPICE_MSGC_PONG, body, 12));
        }
        g_free(body);
    }
    g_usleep(100 * 1000);
}

/* Starts the server and the device; links main and display. */
static uint32_t session_open_with(Session *s, const SessionParams *sp)
{
    memset(s, 0, sizeof(*s));
    s->mode = sp->mode;
    s->zlib = sp->zlib ? sp->zlib : SPICE_WAN_COMPRESSION_NEVER;
    s->streaming = sp->streaming;
    s->frames = sp->frames;
    s->scenes = sp->scenes;
    s->jpeg = sp->jpeg ? sp->jpeg : SPICE_WAN_COMPRESSION_NEVER;
    s->glz = glz_test_window_new();
    s->lines = g_async_queue_new_full(g_free);
    s->dump_path = g_strdup_printf("%s/test-display-%d.ppm", g_get_tmp_dir(), (int)getpid());
    s->cache = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, cached_free);
    TestServerConfig cfg = { .setup = setup_server, .opaque = s };
    s->ts = test_server_start(&cfg);
    g_assert_nonnull(s->ts);
    test_server_call(s->ts, add_display, s);

    uint32_t session;
    s->main = test_client_main(test_server_port(s->ts), NULL, &session);
    g_assert_nonnull(s->main);
    if (sp->net_test_ms > 0) {
        answer_net_test(s, sp->net_test_ms);
    }
    display_link(s, session, sp->lz4_cap, sp->glz_window, sp->html5);
    return session;
}

static void session_open(Session *s, int mode, bool lz4_cap)
{
    SessionParams sp = { .mode = mode, .lz4_cap = lz4_cap };
    session_open_with(s, &sp);
}

static void session_close(Session *s)
{
    test_client_free(s->display);
    test_client_free(s->main);
    test_server_call(s->ts, remove_display, s);
    test_server_stop(s->ts);
    g_async_queue_unref(s->lines);
    g_hash_table_destroy(s->cache);
    glz_test_window_free(s->glz);
    g_free(s->at_destroy);
    g_free(s->fb);
    unlink(s->dump_path);
    g_free(s->dump_path);
}

/* The device's reference frame, once it has stopped and dumped it. */
static uint32_t *read_reference(Session *s)
{
    g_autofree char *data = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(s->dump_path, &data, &len, NULL));
    g_autofree char *header = g_strdup_printf("P6\n%d %d\n255\n", W, H);
    size_t hl = strlen(header);
    g_assert_cmpuint(len, ==, hl + (size_t)W * H * 3);
    g_assert_cmpmem(data, hl, header, hl);
    uint32_t *ref = g_new(uint32_t, (size_t)W * H);
    const uint8_t *p = (const uint8_t *)data + hl;
    for (size_t i = 0; i < (size_t)W * H; i++, p += 3) {
        ref[i] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    }
    return ref;
}

static uint32_t *wait_reference(Session *s)
{
    for (;;) {
        g_autofree char *line = g_async_queue_timeout_pop(s->lines, 20 * G_USEC_PER_SEC);
        g_assert_nonnull(line);
        if (g_str_has_prefix(line, "frame: dumped ")) {
            return read_reference(s);
        }
    }
}

static Rect get_rect(SpiceWireReader *r)
{
    Rect b;
    b.top = spice_wire_i32(r);
    b.left = spice_wire_i32(r);
    b.bottom = spice_wire_i32(r);
    b.right = spice_wire_i32(r);
    return b;
}

static void assert_rect_in(const Session *s, Rect b)
{
    g_assert_cmpint(b.left, >=, 0);
    g_assert_cmpint(b.top, >=, 0);
    g_assert_cmpint(b.right, <=, (int32_t)s->fb_w);
    g_assert_cmpint(b.bottom, <=, (int32_t)s->fb_h);
    g_assert_cmpint(b.left, <, b.right);
    g_assert_cmpint(b.top, <, b.bottom);
}

/* A JFIF stream decoded as spice-gtk does (libjpeg, BGRX): w x h pixels
 * 0x00RRGGBB. */
static uint32_t *decode_jpeg(const uint8_t *data, uint32_t size, uint32_t w, uint32_t h)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, size);
    g_assert_cmpint(jpeg_read_header(&cinfo, TRUE), ==, JPEG_HEADER_OK);
    cinfo.out_color_space = JCS_EXT_BGRX;
    jpeg_start_decompress(&cinfo);
    g_assert_cmpuint(cinfo.output_width, ==, w);
    g_assert_cmpuint(cinfo.output_height, ==, h);
    uint32_t *px = g_new(uint32_t, (size_t)w * h);
    while (cinfo.output_scanline < h) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)cinfo.output_scanline * w);
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    for (size_t i = 0; i < (size_t)w * h; i++) {
        px[i] &= 0x00ffffffu;
    }
    return px;
}

/* An image marked CACHE_ME, kept as the client's cache keeps it. */
static void cache_put(Session *s, uint64_t id, uint32_t w, uint32_t h, const uint32_t *px)
{
    Cached *c = g_new(Cached, 1);
    c->w = w;
    c->h = h;
    c->px = g_memdup2(px, (size_t)w * h * 4);
    g_hash_table_replace(s->cache, g_memdup2(&id, 8), c);
}

static void handle_draw_copy(Session *s, const uint8_t *body, uint32_t size)
{
    SpiceWireReader r = spice_wire_reader(body, size);
    g_assert_cmpuint(spice_wire_u32(&r), ==, 0);
    Rect box = get_rect(&r);
    assert_rect_in(s, box);
    g_assert_cmpuint(spice_wire_u8(&r), ==, SPICE_CLIP_TYPE_NONE);
    uint32_t image_at = spice_wire_u32(&r);
    Rect src = get_rect(&r);
    g_assert_cmpuint(spice_wire_u16(&r), ==, SPICE_ROPD_OP_PUT);
    g_assert_false(r.error);
    g_assert_cmpuint(image_at, <, size);

    SpiceWireReader ir = spice_wire_reader(body + image_at, size - image_at);
    uint64_t id = spice_wire_u64(&ir);
    uint8_t type = spice_wire_u8(&ir);
    uint8_t flags = spice_wire_u8(&ir);
    uint32_t w = spice_wire_u32(&ir), h = spice_wire_u32(&ir);
    g_assert_false(ir.error);
    s->types[type]++;
    if (s->draws == 0) {
        s->first_type = type;
        s->first_box = box;
    }

    g_autofree uint32_t *owned = NULL;
    const uint32_t *px;
    if (type == SPICE_IMAGE_TYPE_FROM_CACHE) {
        Cached *c = g_hash_table_lookup(s->cache, &id);
        if (!c) {
            g_error("FROM_CACHE of %016" G_GINT64_MODIFIER "x, not in the cache", id);
        }
        g_assert_cmpuint(c->w, ==, w);
        g_assert_cmpuint(c->h, ==, h);
        px = c->px;
    } else if (type == SPICE_IMAGE_TYPE_LZ_PLT) {
        /* flags, data size, the palette's offset in the message, the LZ
         * stream; the palette follows it and ends the message. */
        const uint8_t *pb = body + image_at + 18;
        g_assert_cmpuint(size - image_at - 18, >=, 9);
        g_assert_cmpuint(pb[0], ==, 0); /* not cached */
        uint32_t data_size = spice_wire_get_u32(pb + 1), at = spice_wire_get_u32(pb + 5);
        g_assert_cmpuint(at, ==, image_at + 18 + 9 + data_size);
        g_assert_cmpuint(size - at, >=, 10);
        uint32_t colours = spice_wire_get_u16(body + at + 8);
        g_assert_cmpuint(colours, >=, 1);
        g_assert_cmpuint(colours, <=, 256);
        g_assert_cmpuint(size - at, ==, 10 + 4 * colours);
        uint32_t palette[256];
        for (uint32_t i = 0; i < colours; i++) {
            palette[i] = spice_wire_get_u32(body + at + 10 + 4 * i);
        }
        uint32_t dw, dh;
        const char *why;
        owned = lz_decode_plt8(pb + 9, data_size, palette, colours, &dw, &dh, &why);
        if (!owned) {
            g_error("LZ_PLT %ux%u refused: %s", w, h, why);
        }
        g_assert_cmpuint(dw, ==, w);
        g_assert_cmpuint(dh, ==, h);
        px = owned;
        if (flags & SPICE_IMAGE_FLAGS_CACHE_ME) {
            cache_put(s, id, w, h, px);
        }
    } else if (type == SPICE_IMAGE_TYPE_JPEG) {
        const uint8_t *jb = body + image_at + 18;
        g_assert_cmpuint(size - image_at - 18, >=, 4);
        uint32_t jsize = spice_wire_get_u32(jb);
        g_assert_cmpuint(image_at + 18 + 4 + jsize, ==, size);
        owned = decode_jpeg(jb + 4, jsize, w, h);
        px = owned;
    } else {
        size_t used;
        const char *why;
        owned = image_decode_body(s->glz, type, body + image_at + 18, size - image_at - 18, w, h,
                                  &used, NULL, &why);
        if (!owned) {
            g_error("image type %u %ux%u refused: %s", type, w, h, why);
        }
        g_assert_cmpuint(image_at + 18 + used, ==, size); /* nothing after the image */
        px = owned;
        if (flags & SPICE_IMAGE_FLAGS_CACHE_ME) {
            cache_put(s, id, w, h, px);
        }
    }
    g_assert_cmpint(src.left, >=, 0);
    g_assert_cmpint(src.top, >=, 0);
    g_assert_cmpint(src.right, <=, (int32_t)w);
    g_assert_cmpint(src.bottom, <=, (int32_t)h);
    g_assert_cmpint(src.right - src.left, ==, box.right - box.left);
    g_assert_cmpint(src.bottom - src.top, ==, box.bottom - box.top);
    for (int32_t y = 0; y < box.bottom - box.top; y++) {
        memcpy(s->fb + (size_t)(box.top + y) * s->fb_w + box.left,
               px + (size_t)(src.top + y) * w + src.left, (size_t)(box.right - box.left) * 4);
    }
}

static void handle_copy_bits(Session *s, const uint8_t *body, uint32_t size)
{
    SpiceWireReader r = spice_wire_reader(body, size);
    g_assert_cmpuint(spice_wire_u32(&r), ==, 0);
    Rect box = get_rect(&r);
    g_assert_cmpuint(spice_wire_u8(&r), ==, SPICE_CLIP_TYPE_NONE);
    int32_t sx = spice_wire_i32(&r), sy = spice_wire_i32(&r);
    g_assert_false(r.error);
    assert_rect_in(s, box);
    Rect src = { sy, sx, sy + box.bottom - box.top, sx + box.right - box.left };
    assert_rect_in(s, src);
    size_t rw = (size_t)(box.right - box.left), rh = (size_t)(box.bottom - box.top);
    g_autofree uint32_t *tmp = g_new(uint32_t, rw * rh);
    for (size_t y = 0; y < rh; y++) {
        memcpy(tmp + y * rw, s->fb + (size_t)(sy + (int32_t)y) * s->fb_w + sx, rw * 4);
    }
    for (size_t y = 0; y < rh; y++) {
        memcpy(s->fb + (size_t)(box.top + (int32_t)y) * s->fb_w + box.left, tmp + y * rw, rw * 4);
    }
}

/* PSNR (dB) of the last ended stream's box, as the picture had it then,
 * against the reference. */
static double box_psnr(const Session *s, const uint32_t *ref)
{
    const ClientStream *cs = &s->destroyed;
    double se = 0;
    size_t n = 0;
    for (int32_t y = cs->top; y < cs->bottom; y++) {
        for (int32_t x = cs->left; x < cs->right; x++) {
            uint32_t a = s->at_destroy[(size_t)y * W + x], b = ref[(size_t)y * W + x];
            for (int k = 0; k < 24; k += 8) {
                double d = (double)((a >> k) & 0xff) - (double)((b >> k) & 0xff);
                se += d * d;
                n++;
            }
        }
    }
    return se == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 * (double)n / se);
}

/* STREAM_CLIP: rects inside the stream's box, never none (a stream with
 * nothing to show ends instead). */
static void handle_stream_clip(Session *s, const uint8_t *body, uint32_t size)
{
    SpiceWireReader r = spice_wire_reader(body, size);
    uint32_t id = spice_wire_u32(&r);
    g_assert_cmpuint(id, <, SPICE_MAX_NUM_STREAMS);
    ClientStream *cs = &s->streams[id];
    g_assert_true(cs->live);
    g_assert_cmpuint(spice_wire_u8(&r), ==, SPICE_CLIP_TYPE_RECTS);
    uint32_t n = spice_wire_u32(&r);
    g_assert_cmpuint(n, >, 0);
    g_assert_cmpuint(n, <=, MAX_CLIP_RECTS);
    for (uint32_t i = 0; i < n; i++) {
        Rect b = get_rect(&r);
        g_assert_cmpint(b.left, >=, cs->left);
        g_assert_cmpint(b.top, >=, cs->top);
        g_assert_cmpint(b.right, <=, cs->right);
        g_assert_cmpint(b.bottom, <=, cs->bottom);
        g_assert_cmpint(b.left, <, b.right);
        g_assert_cmpint(b.top, <, b.bottom);
        cs->clip[i].top = b.top;
        cs->clip[i].left = b.left;
        cs->clip[i].bottom = b.bottom;
        cs->clip[i].right = b.right;
    }
    g_assert_true(spice_wire_done(&r));
    cs->n_clip = n;
    s->stream_clips++;
}

static void handle_stream_create(Session *s, const uint8_t *body, uint32_t size)
{
    SpiceWireReader r = spice_wire_reader(body, size);
    g_assert_cmpuint(spice_wire_u32(&r), ==, 0);
    uint32_t id = spice_wire_u32(&r);
    g_assert_cmpuint(id, <, SPICE_MAX_NUM_STREAMS);
    g_assert_false(s->streams[id].live);
    g_assert_cmpuint(spice_wire_u8(&r), ==, SPICE_STREAM_FLAGS_TOP_DOWN);
    g_assert_cmpuint(spice_wire_u8(&r), ==, SPICE_VIDEO_CODEC_TYPE_MJPEG);
    (void)spice_wire_u64(&r);
    uint32_t sw = spice_wire_u32(&r), sh = spice_wire_u32(&r);
    uint32_t srcw = spice_wire_u32(&r), srch = spice_wire_u32(&r);
    Rect dest = get_rect(&r);
    g_assert_cmpuint(spice_wire_u8(&r), ==, SPICE_CLIP_TYPE_NONE);
    g_assert_true(spice_wire_done(&r));
    assert_rect_in(s, dest);
    g_assert_cmpuint(sw, ==, (uint32_t)(dest.right - dest.left));
    g_assert_cmpuint(sh, ==, (uint32_t)(dest.bottom - dest.top));
    g_assert_cmpuint(srcw, ==, sw);
    g_assert_cmpuint(srch, ==, sh);
    s->streams[id] = (ClientStream){ true, dest.left, dest.top, dest.right, dest.bottom, 0 };
    s->stream_creates++;
}

/* A frame: decoded as spice-gtk's MJPEG decoder does (libjpeg, BGRX)
 * into the picture at the stream's box. */
static void handle_stream_data(Session *s, const uint8_t *body, uint32_t size)
{
    g_assert_cmpuint(size, >=, 12);
    uint32_t id = spice_wire_get_u32(body);
    g_assert_cmpuint(id, <, SPICE_MAX_NUM_STREAMS);
    ClientStream *cs = &s->streams[id];
    g_assert_true(cs->live);
    g_assert_cmpuint(spice_wire_get_u32(body + 8), ==, size - 12);
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, body + 12, size - 12);
    g_assert_cmpint(jpeg_read_header(&cinfo, TRUE), ==, JPEG_HEADER_OK);
    cinfo.out_color_space = JCS_EXT_BGRX;
    jpeg_start_decompress(&cinfo);
    uint32_t w = (uint32_t)(cs->right - cs->left), h = (uint32_t)(cs->bottom - cs->top);
    g_assert_cmpuint(cinfo.output_width, ==, w);
    g_assert_cmpuint(cinfo.output_height, ==, h);
    uint32_t *frame = g_new(uint32_t, (size_t)w * h);
    while (cinfo.output_scanline < h) {
        JSAMPROW row = (JSAMPROW)(frame + (size_t)cinfo.output_scanline * w);
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    /* Into the picture through the stream's clip (its rects are inside
     * the box and disjoint), as spice-gtk does; no clip: the whole box. */
    uint32_t n = cs->n_clip ? cs->n_clip : 1;
    for (uint32_t k = 0; k < n; k++) {
        int32_t l = cs->n_clip ? cs->clip[k].left : cs->left;
        int32_t t = cs->n_clip ? cs->clip[k].top : cs->top;
        int32_t r = cs->n_clip ? cs->clip[k].right : cs->right;
        int32_t b = cs->n_clip ? cs->clip[k].bottom : cs->bottom;
        for (int32_t py = t; py < b; py++) {
            uint32_t *dst = s->fb + (size_t)py * s->fb_w;
            const uint32_t *src = frame + (size_t)(py - cs->top) * w - cs->left;
            for (int32_t px = l; px < r; px++) {
                dst[px] = src[px] & 0x00ffffffu;
            }
        }
    }
    g_free(frame);
    s->stream_frames++;
    s->stream_bytes += size - 12;
    s->last_frame_us = g_get_monotonic_time();
    if (!s->first_frame_us) {
        s->first_frame_us = s->last_frame_us;
    }
    s->last_stream = id;
}

static const uint32_t *known_ref; /* for describe_difference() */

/* Where the picture differs from the reference, if it is known. */
static void describe_difference(const Session *s)
{
    if (!known_ref || !s->fb) {
        return;
    }
    int32_t x1 = W, y1 = H, x2 = -1, y2 = -1;
    unsigned n = 0;
    for (int32_t y = 0; y < H; y++) {
        for (int32_t x = 0; x < W; x++) {
            if (s->fb[(size_t)y * W + x] != known_ref[(size_t)y * W + x]) {
                n++;
                x1 = MIN(x1, x), y1 = MIN(y1, y), x2 = MAX(x2, x), y2 = MAX(y2, y);
            }
        }
    }
    g_test_message("%u pixels differ from the reference, within (%d,%d)-(%d,%d)", n, x1, y1, x2,
                   y2);
}

/* One message from the server, applied to the picture. */
static void handle_one(Session *s)
{
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    if (!test_client_recv(s->display, &type, &body, &size)) {
        describe_difference(s);
        for (char *line; (line = g_async_queue_try_pop(s->lines)) != NULL; g_free(line)) {
            g_test_message("device: %s", line);
        }
        g_error("no message from the server (%u messages so far)", s->messages);
    }
    s->messages++;
    switch (type) {
    case SPICE_MSG_SET_ACK:
        g_assert_cmpuint(size, ==, 8);
        s->ack_window = spice_wire_get_u32(body + 4);
        test_client_send(s->display, SPICE_MSGC_ACK_SYNC, body, 4);
        break;
    case SPICE_MSG_PING:
        test_client_send(s->display, SPICE_MSGC_PONG, body, 12);
        break;
    case SPICE_MSG_DISPLAY_SURFACE_CREATE:
        g_assert_cmpuint(size, ==, 20);
        s->fb_w = spice_wire_get_u32(body + 4);
        s->fb_h = spice_wire_get_u32(body + 8);
        g_assert_cmpuint(s->fb_w, ==, W);
        g_assert_cmpuint(s->fb_h, ==, H);
        g_free(s->fb);
        s->fb = g_new0(uint32_t, (size_t)W * H);
        break;
    case SPICE_MSG_DISPLAY_DRAW_COPY:
        g_assert_nonnull(s->fb);
        handle_draw_copy(s, body, size);
        s->draws++;
        break;
    case SPICE_MSG_DISPLAY_COPY_BITS:
        g_assert_nonnull(s->fb);
        handle_copy_bits(s, body, size);
        s->draws++;
        break;
    case SPICE_MSG_DISPLAY_INVAL_LIST: {
        SpiceWireReader r = spice_wire_reader(body, size);
        uint16_t n = spice_wire_u16(&r);
        for (uint16_t i = 0; i < n; i++) {
            g_assert_cmpuint(spice_wire_u8(&r), ==, SPICE_RES_TYPE_PIXMAP);
            uint64_t id = spice_wire_u64(&r);
            g_hash_table_remove(s->cache, &id);
        }
        g_assert_true(spice_wire_done(&r));
        break;
    }
    case SPICE_MSG_DISPLAY_INVAL_ALL_PIXMAPS:
        g_hash_table_remove_all(s->cache);
        break;
    case SPICE_MSG_DISPLAY_STREAM_CREATE:
        g_assert_nonnull(s->fb);
        handle_stream_create(s, body, size);
        break;
    case SPICE_MSG_DISPLAY_STREAM_DATA:
        g_assert_nonnull(s->fb);
        handle_stream_data(s, body, size);
        break;
    case SPICE_MSG_DISPLAY_STREAM_CLIP:
        handle_stream_clip(s, body, size);
        break;
    case SPICE_MSG_DISPLAY_STREAM_DESTROY:
        g_assert_cmpuint(size, ==, 4);
        g_assert_cmpuint(spice_wire_get_u32(body), <, SPICE_MAX_NUM_STREAMS);
        g_assert_true(s->streams[spice_wire_get_u32(body)].live);
        s->streams[spice_wire_get_u32(body)].live = false;
        s->stream_destroys++;
        /* The picture as the stream left it, for box_psnr(). */
        g_free(s->at_destroy);
        s->at_destroy = g_memdup2(s->fb, (size_t)W * H * 4);
        s->destroyed = s->streams[spice_wire_get_u32(body)];
        break;
    case SPICE_MSG_DISPLAY_STREAM_ACTIVATE_REPORT:
        g_assert_cmpuint(size, ==, 16);
        g_assert_cmpuint(spice_wire_get_u32(body), <, SPICE_MAX_NUM_STREAMS);
        g_assert_true(s->streams[spice_wire_get_u32(body)].live);
        s->streams[spice_wire_get_u32(body)].unique = spice_wire_get_u32(body + 4);
        s->activations++;
        break;
    default:
        break; /* MARK, MONITORS_CONFIG, RESET, notifications */
    }
    g_free(body);
    if (s->ack_window && type != SPICE_MSG_SET_ACK && ++s->unacked >= s->ack_window) {
        s->unacked = 0;
        test_client_send(s->display, SPICE_MSGC_ACK, NULL, 0);
    }
}

/* Reads until the picture equals the reference (the server sends nothing
 * more once it does, so a read that times out fails the case). */
static void run_until_picture(Session *s, const uint32_t *ref)
{
    while (!s->fb || memcmp(s->fb, ref, (size_t)W * H * 4) != 0) {
        handle_one(s);
    }
}

static unsigned images(const Session *s)
{
    unsigned n = 0;
    for (int t = 0; t < 256; t++) {
        n += s->types[t];
    }
    return n;
}

static void log_types(const Session *s, const char *what)
{
    g_test_message("%s: %u messages, %u images: bitmap %u, quic %u, lz %u, lz-plt %u, glz %u, "
                   "zlib-glz %u, lz4 %u, jpeg %u, from cache %u",
                   what, s->messages, images(s), s->types[SPICE_IMAGE_TYPE_BITMAP],
                   s->types[SPICE_IMAGE_TYPE_QUIC], s->types[SPICE_IMAGE_TYPE_LZ_RGB],
                   s->types[SPICE_IMAGE_TYPE_LZ_PLT], s->types[SPICE_IMAGE_TYPE_GLZ_RGB],
                   s->types[SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB], s->types[SPICE_IMAGE_TYPE_LZ4],
                   s->types[SPICE_IMAGE_TYPE_JPEG], s->types[SPICE_IMAGE_TYPE_FROM_CACHE]);
}

typedef struct ModeCase {
    const char *name;
    SessionParams params;
    uint8_t want;    /* the encoded type sent (besides tiny bitmaps) */
    uint8_t also[2]; /* other types the mode may send (photographic images, GLZ not
                        deflating); 0: none */
} ModeCase;

static void check_mode(gconstpointer data)
{
    const ModeCase *mc = data;
    Session s;
    session_open_with(&s, &mc->params);
    g_autofree uint32_t *ref = wait_reference(&s);
    run_until_picture(&s, ref);
    log_types(&s, "picture equal");
    unsigned encoded = images(&s) - s.types[SPICE_IMAGE_TYPE_FROM_CACHE];
    g_assert_cmpuint(s.types[mc->want], >, 0);
    if (mc->want == SPICE_IMAGE_TYPE_BITMAP) {
        g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_BITMAP], ==, encoded);
    } else {
        /* Every other encoded image is of an expected type, or a bitmap
         * too small for a codec. */
        unsigned also = 0;
        for (int k = 0; k < 2; k++) {
            also += mc->also[k] ? s.types[mc->also[k]] : 0;
        }
        g_assert_cmpuint(s.types[mc->want] + also + s.types[SPICE_IMAGE_TYPE_BITMAP], ==, encoded);
        /* Most by far: small bitmaps come from a fragmented dirty region, more
         * of them on a slow (sanitized) build. */
        g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_BITMAP] * 2, <, encoded);
    }
    g_assert_cmpuint(s.stream_creates, ==, 0); /* streaming is off */
    if (mc->params.mode == SPICE_IMAGE_COMPRESSION_LZ) {
        /* Tiles of few colours go in LZ's palette form, but not to a
         * client that does not decode it. */
        if (mc->params.html5) {
            g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_LZ_PLT], ==, 0);
        } else {
            g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_LZ_PLT], >, 0);
        }
    }
    if (mc->also[0] == SPICE_IMAGE_TYPE_QUIC) {
        /* The video scene is photographic. */
        g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_QUIC], >, 0);
    }
    session_close(&s);
}

#define GLZ_WINDOW (12u << 20) / 4 /* spice-gtk's smallest default, in pixels */
#define ALWAYS     SPICE_WAN_COMPRESSION_ALWAYS

static const ModeCase mode_cases[] = {
    { "off", { SPICE_IMAGE_COMPRESSION_OFF, true, 0, 0 }, SPICE_IMAGE_TYPE_BITMAP, { 0 } },
    { "quic", { SPICE_IMAGE_COMPRESSION_QUIC, true, 0, 0 }, SPICE_IMAGE_TYPE_QUIC, { 0 } },
    { "lz",
      { SPICE_IMAGE_COMPRESSION_LZ, true, 0, 0 },
      SPICE_IMAGE_TYPE_LZ_RGB,
      { SPICE_IMAGE_TYPE_LZ_PLT } },
    { "lz-html5",
      { .mode = SPICE_IMAGE_COMPRESSION_LZ, .html5 = true },
      SPICE_IMAGE_TYPE_LZ_RGB,
      { 0 } },
    { "lz4", { SPICE_IMAGE_COMPRESSION_LZ4, true, 0, 0 }, SPICE_IMAGE_TYPE_LZ4, { 0 } },
    { "lz4-no-lz4-cap",
      { SPICE_IMAGE_COMPRESSION_LZ4, false, 0, 0 },
      SPICE_IMAGE_TYPE_LZ_RGB,
      { SPICE_IMAGE_TYPE_LZ_PLT } },
    { "auto_lz",
      { SPICE_IMAGE_COMPRESSION_AUTO_LZ, true, GLZ_WINDOW, 0 },
      SPICE_IMAGE_TYPE_LZ_PLT,
      { SPICE_IMAGE_TYPE_QUIC, SPICE_IMAGE_TYPE_LZ_RGB } },
    { "glz",
      { SPICE_IMAGE_COMPRESSION_GLZ, true, GLZ_WINDOW, 0 },
      SPICE_IMAGE_TYPE_GLZ_RGB,
      { 0 } },
    { "glz-zlib",
      { SPICE_IMAGE_COMPRESSION_GLZ, true, GLZ_WINDOW, ALWAYS },
      SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB,
      { SPICE_IMAGE_TYPE_GLZ_RGB } },
    { "glz-small-window",
      { SPICE_IMAGE_COMPRESSION_GLZ, true, 200000, 0 },
      SPICE_IMAGE_TYPE_GLZ_RGB,
      { SPICE_IMAGE_TYPE_LZ4 } },
    { "auto_glz",
      { SPICE_IMAGE_COMPRESSION_AUTO_GLZ, true, GLZ_WINDOW, 0 },
      SPICE_IMAGE_TYPE_GLZ_RGB,
      { SPICE_IMAGE_TYPE_QUIC } },
    /* No GLZ window (spice-html5, with its caps): LZ4 where the client has
     * it, else LZ in its RGB form. */
    { "auto_glz-no-window",
      { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ, .lz4_cap = true, .html5 = true },
      SPICE_IMAGE_TYPE_LZ4,
      { SPICE_IMAGE_TYPE_QUIC } },
    { "auto_glz-no-window-no-lz4-cap",
      { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ, .html5 = true },
      SPICE_IMAGE_TYPE_LZ_RGB,
      { SPICE_IMAGE_TYPE_QUIC } },
    { "glz-no-window",
      { .mode = SPICE_IMAGE_COMPRESSION_GLZ, .html5 = true },
      SPICE_IMAGE_TYPE_LZ_RGB,
      { 0 } },
};

/* The client's PREFERRED_COMPRESSION replaces the server's mode for it;
 * values out of range are ignored (the connection stays, the mode too). */
static void test_preferred_compression(void)
{
    Session s;
    session_open(&s, SPICE_IMAGE_COMPRESSION_OFF, true);
    const uint8_t hostile[] = { 0, SPICE_IMAGE_COMPRESSION_ENUM_END, 200, 255 };
    for (size_t i = 0; i < sizeof(hostile); i++) {
        g_assert_true(
            test_client_send(s.display, SPICE_MSGC_DISPLAY_PREFERRED_COMPRESSION, &hostile[i], 1));
    }
    g_autofree uint32_t *ref = wait_reference(&s);
    run_until_picture(&s, ref);
    log_types(&s, "hostile preferred values");
    g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_LZ_RGB] + s.types[SPICE_IMAGE_TYPE_LZ4], ==, 0);
    session_close(&s);

    session_open(&s, SPICE_IMAGE_COMPRESSION_OFF, true);
    uint8_t lz = SPICE_IMAGE_COMPRESSION_LZ;
    g_assert_true(test_client_send(s.display, SPICE_MSGC_DISPLAY_PREFERRED_COMPRESSION, &lz, 1));
    ref = (g_free(ref), wait_reference(&s));
    run_until_picture(&s, ref);
    log_types(&s, "preferred lz");
    g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_LZ_RGB], >, 0);
    session_close(&s);
}

/* A display channel that goes while its session stays may have lost GLZ
 * images: the session sends no GLZ any more (the client's window would
 * wait for them), and the picture still arrives whole. */
static void test_glz_reconnect(void)
{
    Session s;
    SessionParams sp = { SPICE_IMAGE_COMPRESSION_GLZ, true, GLZ_WINDOW, 0 };
    uint32_t session = session_open_with(&s, &sp);
    g_autofree uint32_t *ref = wait_reference(&s);
    run_until_picture(&s, ref);
    log_types(&s, "first display channel");
    g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_GLZ_RGB], >, 0);

    test_client_free(s.display);
    memset(s.types, 0, sizeof(s.types));
    g_clear_pointer(&s.fb, g_free);
    g_hash_table_remove_all(s.cache);
    display_link(&s, session, true, GLZ_WINDOW, false);
    run_until_picture(&s, ref);
    log_types(&s, "second display channel");
    g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_GLZ_RGB], ==, 0);
    g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_LZ4], >, 0);
    session_close(&s);
}

/* Reads while the device draws (as a client watching), then until the
 * picture equals the reference; returns the reference. */
static uint32_t *watch_until_picture(Session *s)
{
    uint32_t *ref = NULL;
    for (;;) {
        handle_one(s);
        if (!ref) {
            for (char *line; !ref && (line = g_async_queue_try_pop(s->lines)) != NULL;) {
                /* Once the device stopped, its dump follows (the last
                 * messages may all be here before it). */
                if (g_str_has_prefix(line, "frame: dumped ")) {
                    ref = read_reference(s);
                } else if (g_str_has_prefix(line, "frame: stopped ")) {
                    ref = wait_reference(s);
                }
                known_ref = ref;
                g_free(line);
            }
        }
        if (ref && s->fb && memcmp(s->fb, ref, (size_t)W * H * 4) == 0) {
            return ref;
        }
    }
}

/* Item 4 of the display work: a console that rewrites many small areas a
 * frame (DEMO_SCENE_CONSOLE: a quarter of its rows, each counter a
 * separate image too small to be sent as one) gets those merged: about a
 * message per rewritten row, not one per counter (which is what the
 * reference sends: one per drawable) or per grid cell. */
#define CONSOLE_FRAMES 60

static void test_console_merged(void)
{
    Session s;
    SessionParams sp = { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ,
                         .lz4_cap = true,
                         .glz_window = GLZ_WINDOW,
                         .frames = CONSOLE_FRAMES,
                         .scenes = DEMO_SCENE_CONSOLE };
    session_open_with(&s, &sp);
    g_free(watch_until_picture(&s)); /* the picture exact */
    log_types(&s, "console picture equal");
    /* The scene's geometry (demo-scenes.c): rows of 10 pixels under a
     * 16-pixel top, 11-column counters after a 6-column label. */
    unsigned rows = (H - 16) / 10, cols = (W - 6 * 6) / (11 * 6);
    unsigned counters = rows * cols + (CONSOLE_FRAMES - 1) * (rows / 4 + 1) * cols;
    unsigned rewritten = rows + (CONSOLE_FRAMES - 1) * (rows / 4 + 1);
    g_test_message("%u draw messages for %u counters in %u rewritten rows", s.draws, counters,
                   rewritten);
    g_assert_cmpuint(s.draws, <=, rewritten + rewritten / 2);
    session_close(&s);
}

static void log_streams(const Session *s, const char *what)
{
    g_test_message("%s: %u stream creates, %u frames, %u clips, %u destroys, %u report activations",
                   what, s->stream_creates, s->stream_frames, s->stream_clips, s->stream_destroys,
                   s->activations);
}

/* Every scene but the moving window, which crosses the video at this
 * size. */
#define NO_WINDOW (DEMO_SCENE_STATIC | DEMO_SCENE_SCROLL | DEMO_SCENE_VIDEO)

/* The video scene's box becomes an MJPEG stream (both streaming modes:
 * it is photographic), its last frame is close to the picture, and when
 * it stops the box comes again losslessly: also with jpeg compression
 * always on (the box is photographic, yet it must not go as JPEG). */
static void run_stream(int streaming, int jpeg)
{
    Session s;
    SessionParams sp = { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ,
                         .lz4_cap = true,
                         .glz_window = GLZ_WINDOW,
                         .streaming = streaming,
                         .jpeg = jpeg,
                         .frames = 90,
                         .scenes = NO_WINDOW };
    session_open_with(&s, &sp);
    g_autofree uint32_t *ref = watch_until_picture(&s);
    log_types(&s, "picture equal");
    log_streams(&s, "streams");
    g_assert_cmpuint(s.stream_creates, ==, 1);
    g_assert_cmpuint(s.stream_destroys, ==, 1);
    g_assert_cmpuint(s.activations, ==, 1);
    /* A client slower than the frames (a sanitized build under load) gets
     * fewer: the newer frame replaces one not sent yet. */
    g_assert_cmpuint(s.stream_frames, >=, 5);
    double psnr = box_psnr(&s, ref);
    g_test_message("the last frame against the picture: PSNR %.1f dB", psnr);
    g_assert_cmpfloat(psnr, >, 30.0);
    session_close(&s);
}

static void check_stream(gconstpointer data)
{
    run_stream(GPOINTER_TO_INT(data), 0);
}

static void test_stream_end_lossless_jpeg(void)
{
    run_stream(SPICE_STREAM_VIDEO_FILTER, SPICE_WAN_COMPRESSION_ALWAYS);
}

/* Over a link the network test measured at about 1 Mbit/s, the stream
 * keeps to its share of it (the video alone would take some 4 Mbit/s
 * at this size and rate): fewer, smaller frames, and the picture exact
 * once the video stops. */
static void test_stream_link_budget(void)
{
    const int late_ms = 2000;
    Session s;
    SessionParams sp = { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ,
                         .lz4_cap = true,
                         .glz_window = GLZ_WINDOW,
                         .streaming = SPICE_STREAM_VIDEO_FILTER,
                         .net_test_ms = late_ms,
                         .frames = 420,
                         .scenes = DEMO_SCENE_VIDEO };
    session_open_with(&s, &sp);
    g_free(watch_until_picture(&s)); /* the picture exact */
    log_streams(&s, "streams");
    g_assert_cmpuint(s.stream_creates, >=, 1);
    g_assert_cmpuint(s.stream_frames, >=, 20);
    /* The test's 250 KiB ping, answered late_ms late. */
    double link_bps = 250.0 * 1024 * 8 * 1000 / late_ms;
    double secs = (double)(s.last_frame_us - s.first_frame_us) / 1e6;
    g_assert_cmpfloat(secs, >, 1.0);
    double bps = (double)s.stream_bytes * 8 / secs;
    g_test_message("%u frames in %.1f s: %.2f Mbit/s, %.1f KiB a frame; the link %.2f Mbit/s",
                   s.stream_frames, secs, bps / 1e6, s.stream_bytes / 1024.0 / s.stream_frames,
                   link_bps / 1e6);
    /* 0.8 of the link, and the bucket's first quarter second. */
    g_assert_cmpfloat(bps, <, link_bps * 0.8 * 1.2);
    session_close(&s);
}

static bool in_clip(const ClientStream *cs, int32_t x, int32_t y)
{
    for (uint32_t i = 0; i < cs->n_clip; i++) {
        if (x >= cs->clip[i].left && x < cs->clip[i].right && y >= cs->clip[i].top &&
            y < cs->clip[i].bottom) {
            return true;
        }
    }
    return cs->n_clip == 0 && x >= cs->left && x < cs->right && y >= cs->top && y < cs->bottom;
}

/* A note over the video before it becomes a stream, then gone, then back
 * (DEMO_SCENE_OVERLAP; the guest clips the frames around it): the clipped
 * frames start the stream, which lives on with STREAM_CLIPs (at its
 * start, the note gone, the note back) instead of ending. As the stream ended (a second after the
 * last frame), the client's picture was the host's outside the stream's
 * clip, the note included (sent as images, never painted over by a
 * frame), and close to it inside. */
static void test_stream_clipped(void)
{
    Session s;
    SessionParams sp = { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ,
                         .lz4_cap = true,
                         .glz_window = GLZ_WINDOW,
                         .streaming = SPICE_STREAM_VIDEO_FILTER,
                         .frames = 90,
                         .scenes = DEMO_SCENE_VIDEO | DEMO_SCENE_OVERLAP };
    session_open_with(&s, &sp);
    g_autofree uint32_t *ref = watch_until_picture(&s);
    log_streams(&s, "streams");
    g_assert_cmpuint(s.stream_creates, ==, 1);
    g_assert_cmpuint(s.stream_destroys, ==, 1);
    g_assert_cmpuint(s.stream_clips, >=, 3);
    const ClientStream *cs = &s.destroyed;
    g_assert_cmpuint(cs->n_clip, >, 1); /* the note was there at the end */
    double se = 0;
    size_t n = 0, outside = 0;
    for (int32_t y = 0; y < H; y++) {
        for (int32_t x = 0; x < W; x++) {
            uint32_t a = s.at_destroy[(size_t)y * W + x], b = ref[(size_t)y * W + x];
            if (!in_clip(cs, x, y)) {
                if (a != b) {
                    g_error("at the stream's end, (%d,%d) outside its clip is %06x, not %06x", x, y,
                            a, b);
                }
                outside += x >= cs->left && x < cs->right && y >= cs->top && y < cs->bottom;
                continue;
            }
            for (int k = 0; k < 24; k += 8) {
                double d = (double)((a >> k) & 0xff) - (double)((b >> k) & 0xff);
                se += d * d;
                n++;
            }
        }
    }
    double psnr = se == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 * (double)n / se);
    g_test_message("inside the clip: PSNR %.1f dB; %zu pixels of the box outside it, exact", psnr,
                   outside);
    g_assert_cmpuint(outside, ==, 110 * 70);
    g_assert_cmpfloat(psnr, >, 30.0);
    session_close(&s);
}

/* The same with spice-html5's caps: it would draw the frames over the
 * note, so while the note shows it gets the box as images, the stream
 * only while the note is gone. */
static void test_stream_clipped_html5(void)
{
    Session s;
    SessionParams sp = { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ,
                         .lz4_cap = true,
                         .glz_window = GLZ_WINDOW,
                         .streaming = SPICE_STREAM_VIDEO_FILTER,
                         .frames = 90,
                         .scenes = DEMO_SCENE_VIDEO | DEMO_SCENE_OVERLAP,
                         .html5 = true };
    session_open_with(&s, &sp);
    g_free(watch_until_picture(&s)); /* the picture exact */
    log_streams(&s, "streams");
    g_assert_cmpuint(s.stream_clips, ==, 0);
    g_assert_cmpuint(s.stream_creates, ==, 1); /* between the note's showings */
    g_assert_cmpuint(s.stream_destroys, ==, 1);
    session_close(&s);
}

/* The moving window crosses the video, drawn over each frame (the
 * frames are not clipped): the stream goes on, its clip following the
 * window (STREAM_CLIP each time it moves over the box), and the picture
 * ends up exact. */
static void test_stream_drawn_over(void)
{
    Session s;
    SessionParams sp = { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ,
                         .lz4_cap = true,
                         .glz_window = GLZ_WINDOW,
                         .streaming = SPICE_STREAM_VIDEO_FILTER,
                         .frames = 90 };
    session_open_with(&s, &sp);
    g_free(watch_until_picture(&s)); /* the picture exact */
    log_streams(&s, "streams");
    g_assert_cmpuint(s.stream_creates, ==, 1);
    g_assert_cmpuint(s.stream_destroys, ==, 1);
    g_assert_cmpuint(s.stream_clips, >, 0);
    session_close(&s);
}

static void send_report(Session *s, uint32_t id, uint32_t unique, uint32_t frames, uint32_t drops,
                        int32_t delay)
{
    uint8_t r[32];
    spice_wire_put_u32(r, id);
    spice_wire_put_u32(r + 4, unique);
    spice_wire_put_u32(r + 8, 1000);
    spice_wire_put_u32(r + 12, 2000);
    spice_wire_put_u32(r + 16, frames);
    spice_wire_put_u32(r + 20, drops);
    spice_wire_put_u32(r + 24, (uint32_t)delay);
    spice_wire_put_u32(r + 28, UINT32_MAX);
    g_assert_true(test_client_send(s->display, SPICE_MSGC_DISPLAY_STREAM_REPORT, r, sizeof(r)));
}

/* Reports for another stream or activation, and impossible ones, are
 * ignored; late frames are taken; "cannot decode" ends the stream for
 * this client, which gets the box as images from then on. */
static void test_stream_reports(void)
{
    Session s;
    SessionParams sp = { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ,
                         .lz4_cap = true,
                         .glz_window = GLZ_WINDOW,
                         .streaming = SPICE_STREAM_VIDEO_FILTER,
                         .frames = 150,
                         .scenes = NO_WINDOW };
    session_open_with(&s, &sp);
    while (s.activations == 0) {
        handle_one(&s);
    }
    uint32_t id = s.last_stream;
    for (uint32_t i = 0; i < SPICE_MAX_NUM_STREAMS; i++) {
        if (s.streams[i].live) {
            id = i;
        }
    }
    uint32_t unique = s.streams[id].unique;
    send_report(&s, SPICE_MAX_NUM_STREAMS - 1, unique, 5, 0, 10);
    send_report(&s, UINT32_MAX, unique, 5, 0, 10);
    send_report(&s, id, unique + 1, 5, 0, 10);
    send_report(&s, id, unique, 5, 6, 10);
    send_report(&s, id, unique, 5, 3, -120);
    unsigned frames = s.stream_frames;
    while (s.stream_frames < frames + 3) {
        handle_one(&s);
    }
    g_assert_cmpuint(s.stream_destroys, ==, 0);
    send_report(&s, id, unique, 0, UINT32_MAX, 0);
    while (s.stream_destroys == 0) {
        handle_one(&s);
    }
    frames = s.stream_frames;
    g_free(watch_until_picture(&s)); /* the picture exact */
    log_streams(&s, "after cannot-decode");
    g_assert_cmpuint(s.stream_frames, ==, frames);
    g_assert_cmpuint(s.stream_creates, ==, 1);
    session_close(&s);
}

/* A STREAM_REPORT too short for its fields closes the channel. */
static void test_stream_report_malformed(void)
{
    Session s;
    session_open(&s, SPICE_IMAGE_COMPRESSION_LZ, true);
    uint8_t r[31] = { 0 };
    g_assert_true(test_client_send(s.display, SPICE_MSGC_DISPLAY_STREAM_REPORT, r, sizeof(r)));
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    while (test_client_recv(s.display, &type, &body, &size)) {
        g_free(body);
    }
    session_close(&s);
}

/* Nothing arrives on the display channel for ms. */
static bool display_idle(Session *s, int ms)
{
    struct pollfd p = { .fd = s->display->fd, .events = POLLIN };
    return poll(&p, 1, ms) == 0;
}

/* PSNR (dB) of the whole picture against the reference. */
static double picture_psnr(const Session *s, const uint32_t *ref)
{
    double se = 0;
    for (size_t i = 0; i < (size_t)W * H; i++) {
        for (int k = 0; k < 24; k += 8) {
            double d = (double)((s->fb[i] >> k) & 0xff) - (double)((ref[i] >> k) & 0xff);
            se += d * d;
        }
    }
    return se == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 * (double)W * H * 3 / se);
}

/* jpeg and zlib-glz "auto" follow the main channel's network test: on a
 * slow link (the big ping answered 400 ms late: about 5 Mbit/s) the
 * photographic images go as JPEG and GLZ is deflated; on a fast one,
 * neither. */
static void check_wan_auto(gconstpointer data)
{
    bool slow = GPOINTER_TO_INT(data);
    Session s;
    SessionParams sp = { .mode = SPICE_IMAGE_COMPRESSION_AUTO_GLZ,
                         .lz4_cap = true,
                         .glz_window = GLZ_WINDOW,
                         .zlib = SPICE_WAN_COMPRESSION_AUTO,
                         .jpeg = SPICE_WAN_COMPRESSION_AUTO,
                         .net_test_ms = slow ? 400 : 1,
                         .frames = 120 };
    session_open_with(&s, &sp);
    if (slow) {
        /* Watch the frames (lossy: the picture is never exact), until the
         * device stopped and the server has nothing more. */
        g_autofree uint32_t *ref = NULL;
        while (!ref || !display_idle(&s, 500)) {
            handle_one(&s);
            char *line = ref ? NULL : g_async_queue_try_pop(s.lines);
            if (line && g_str_has_prefix(line, "frame: stopped ")) {
                ref = wait_reference(&s);
            }
            g_free(line);
        }
        log_types(&s, "slow link");
        g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_JPEG], >, 0);
        g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB], >, 0);
        /* The first image is the whole surface, never lossy (it mixes
         * pictures with text): as a whole it looks photographic, so QUIC.
         * After it, JPEG replaces QUIC. */
        g_assert_cmpint(s.first_box.left, ==, 0);
        g_assert_cmpint(s.first_box.top, ==, 0);
        g_assert_cmpint(s.first_box.right, ==, W);
        g_assert_cmpint(s.first_box.bottom, ==, H);
        g_assert_cmpuint(s.first_type, ==, SPICE_IMAGE_TYPE_QUIC);
        g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_QUIC], ==, 1);
        double psnr = picture_psnr(&s, ref);
        g_test_message("the picture against the reference: PSNR %.1f dB", psnr);
        g_assert_cmpfloat(psnr, >, 40.0);
    } else {
        g_free(watch_until_picture(&s)); /* the picture exact */
        log_types(&s, "fast link");
        g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_JPEG], ==, 0);
        g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB], ==, 0);
        g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_QUIC], >, 0);
    }
    session_close(&s);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    for (size_t i = 0; i < G_N_ELEMENTS(mode_cases); i++) {
        g_autofree char *path = g_strdup_printf("/display/mode/%s", mode_cases[i].name);
        g_test_add_data_func(path, &mode_cases[i], check_mode);
    }
    g_test_add_func("/display/preferred-compression", test_preferred_compression);
    g_test_add_func("/display/glz/reconnect", test_glz_reconnect);
    g_test_add_func("/display/console-merged", test_console_merged);
    g_test_add_data_func("/display/stream/filter", GINT_TO_POINTER(SPICE_STREAM_VIDEO_FILTER),
                         check_stream);
    g_test_add_data_func("/display/stream/all", GINT_TO_POINTER(SPICE_STREAM_VIDEO_ALL),
                         check_stream);
    g_test_add_func("/display/stream/end-lossless-jpeg", test_stream_end_lossless_jpeg);
    g_test_add_func("/display/stream/drawn-over", test_stream_drawn_over);
    g_test_add_func("/display/stream/link-budget", test_stream_link_budget);
    g_test_add_func("/display/stream/clipped", test_stream_clipped);
    g_test_add_func("/display/stream/clipped-html5", test_stream_clipped_html5);
    g_test_add_data_func("/display/wan-auto/slow-link", GINT_TO_POINTER(1), check_wan_auto);
    g_test_add_data_func("/display/wan-auto/fast-link", GINT_TO_POINTER(0), check_wan_auto);
    g_test_add_func("/display/stream/reports", test_stream_reports);
    g_test_add_func("/display/stream/report-malformed", test_stream_report_malformed);
    return g_test_run();
}
