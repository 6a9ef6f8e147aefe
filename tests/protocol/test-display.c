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
 * COPY_BITS, and acknowledges as spice-gtk does. Each case then checks
 * which image types each image compression mode sent, and that the
 * picture equals the device's reference framebuffer pixel for pixel.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
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

typedef struct Session {
    TestServer *ts;
    DemoDisplay *dd;
    GAsyncQueue *lines; /* the device's "frame: ..." lines */
    char *dump_path;
    int mode; /* server image compression */
    int zlib; /* server zlib-glz compression */
    GlzTestWindow *glz;
    TestClient *main;
    TestClient *display;
    uint32_t fb_w, fb_h;
    uint32_t *fb; /* the client's picture, 0x00RRGGBB */
    GHashTable *cache;
    unsigned types[256]; /* images received, by SpiceImageType */
    unsigned messages;
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
    spice_server_set_jpeg_compression(server, SPICE_WAN_COMPRESSION_NEVER);
    spice_server_set_zlib_glz_compression(server, (spice_wan_compression_t)s->zlib);
    spice_server_set_streaming_video(server, SPICE_STREAM_VIDEO_OFF);
}

static void add_display(TestServer *ts, void *opaque)
{
    Session *s = opaque;
    DemoDisplayConfig cfg = {
        .width = W,
        .height = H,
        .scenes = DEMO_SCENE_ALL,
        .fps = 60,
        .frames = FRAMES,
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
} SessionParams;

/* The display channel links (the LZ4 cap as asked) and sends its INIT. */
static void display_link(Session *s, uint32_t session, bool lz4_cap, uint32_t glz_window)
{
    s->display = test_client_connect(test_server_port(s->ts));
    uint32_t caps = 1u << SPICE_DISPLAY_CAP_PREF_COMPRESSION;
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

/* Starts the server and the device; links main and display. */
static uint32_t session_open_with(Session *s, const SessionParams *sp)
{
    memset(s, 0, sizeof(*s));
    s->mode = sp->mode;
    s->zlib = sp->zlib ? sp->zlib : SPICE_WAN_COMPRESSION_NEVER;
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
    display_link(s, session, sp->lz4_cap, sp->glz_window);
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
    g_free(s->fb);
    unlink(s->dump_path);
    g_free(s->dump_path);
}

/* The device's reference frame, once it has stopped and dumped it. */
static uint32_t *wait_reference(Session *s)
{
    for (;;) {
        g_autofree char *line = g_async_queue_timeout_pop(s->lines, 20 * G_USEC_PER_SEC);
        g_assert_nonnull(line);
        if (g_str_has_prefix(line, "frame: dumped ")) {
            break;
        }
    }
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

typedef struct Rect {
    int32_t top, left, bottom, right;
} Rect;

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
            Cached *c = g_new(Cached, 1);
            c->w = w;
            c->h = h;
            c->px = g_memdup2(px, (size_t)w * h * 4);
            g_hash_table_replace(s->cache, g_memdup2(&id, 8), c);
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

/* One message from the server, applied to the picture. */
static void handle_one(Session *s)
{
    uint16_t type;
    uint8_t *body;
    uint32_t size;
    g_assert_true(test_client_recv(s->display, &type, &body, &size));
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
        break;
    case SPICE_MSG_DISPLAY_COPY_BITS:
        g_assert_nonnull(s->fb);
        handle_copy_bits(s, body, size);
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
    g_test_message("%s: %u messages, %u images: bitmap %u, quic %u, lz %u, glz %u, zlib-glz %u, "
                   "lz4 %u, from cache %u",
                   what, s->messages, images(s), s->types[SPICE_IMAGE_TYPE_BITMAP],
                   s->types[SPICE_IMAGE_TYPE_QUIC], s->types[SPICE_IMAGE_TYPE_LZ_RGB],
                   s->types[SPICE_IMAGE_TYPE_GLZ_RGB], s->types[SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB],
                   s->types[SPICE_IMAGE_TYPE_LZ4], s->types[SPICE_IMAGE_TYPE_FROM_CACHE]);
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
    { "lz", { SPICE_IMAGE_COMPRESSION_LZ, true, 0, 0 }, SPICE_IMAGE_TYPE_LZ_RGB, { 0 } },
    { "lz4", { SPICE_IMAGE_COMPRESSION_LZ4, true, 0, 0 }, SPICE_IMAGE_TYPE_LZ4, { 0 } },
    { "lz4-no-lz4-cap",
      { SPICE_IMAGE_COMPRESSION_LZ4, false, 0, 0 },
      SPICE_IMAGE_TYPE_LZ_RGB,
      { 0 } },
    { "auto_lz",
      { SPICE_IMAGE_COMPRESSION_AUTO_LZ, true, GLZ_WINDOW, 0 },
      SPICE_IMAGE_TYPE_LZ_RGB,
      { SPICE_IMAGE_TYPE_QUIC } },
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
    /* No GLZ window (spice-html5): LZ4 where the client has it, else LZ. */
    { "auto_glz-no-window",
      { SPICE_IMAGE_COMPRESSION_AUTO_GLZ, true, 0, 0 },
      SPICE_IMAGE_TYPE_LZ4,
      { SPICE_IMAGE_TYPE_QUIC } },
    { "auto_glz-no-window-no-lz4-cap",
      { SPICE_IMAGE_COMPRESSION_AUTO_GLZ, false, 0, 0 },
      SPICE_IMAGE_TYPE_LZ_RGB,
      { SPICE_IMAGE_TYPE_QUIC } },
    { "glz-no-window",
      { SPICE_IMAGE_COMPRESSION_GLZ, false, 0, 0 },
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
    display_link(&s, session, true, GLZ_WINDOW);
    run_until_picture(&s, ref);
    log_types(&s, "second display channel");
    g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_GLZ_RGB], ==, 0);
    g_assert_cmpuint(s.types[SPICE_IMAGE_TYPE_LZ4], >, 0);
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
    return g_test_run();
}
