/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * display-channel.c: the DISPLAY channel, fed from rendered surfaces.
 *
 * Each client keeps a dirty region of the primary surface: the pixels its
 * copy of the screen may lack. Drawing commands only grow that region;
 * when the client can take more (its ACK window and our outgoing queue
 * have room) we take the next piece of the region (its rectangles merged
 * while mostly dirty: next_piece), encode the surface's current pixels
 * (raw, QUIC, LZ, GLZ, LZ4 or JPEG) and send a DRAW_COPY. A slow client
 * therefore receives fewer, newer frames instead of a growing backlog,
 * and nothing here ever waits for a client.
 *
 * Messages that must keep their order relative to pixels (surface create
 * and destroy, monitors, copy-bits, cache invalidations) wait in a small
 * per-client queue that is always sent before more pieces. A copy-bits on
 * the guest's screen is forwarded as COPY_BITS when the client's copy of
 * the source area is current (outside its dirty region): the client then
 * moves pixels it already has instead of receiving them again.
 *
 * Opaque images the guest draws go as they came (output_image), so
 * repeated content (a window's picture, a frame shown again) recurs as
 * identical images; a per-client cache keyed by a hash of the pixels
 * lets those be sent as FROM_CACHE references, with INVAL_LIST when
 * entries are evicted.
 *
 * This is the QXL worker's output (display-output.h): the worker calls the
 * ops below on its thread, where the clients live too, and the primary
 * surface and monitors are read from the DisplaySource it handed us.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <glib.h>
#include <spice/enums.h>
#include <spice/protocol.h>

#include "image-codec.h"
#include "spice-plugin-wire.h"

#include "display.h"
#include "display-output.h"
#include "display-stream.h"
#include "glz-sessions.h"

#define MAX_PIECE_PIXELS       (1024u * 1024u)
#define PIECE_LOOKAHEAD        64
#define PIECE_SLACK            8192
#define MAX_WHOLE_PIXELS       (3840u * 2160u)
#define MAX_QUEUED_ITEMS       64
#define MAX_QUEUED_IMAGE_BYTES (16u << 20)
#define MIN_IMAGE_PIXELS       4096
#define INIT_TIMEOUT_MS        30000
#define JPEG_QUALITY           85
#define MIN_CACHED_PIXELS      1024
#define DISPLAY_MAX_MESSAGE    1024

typedef enum {
    ITEM_SURFACE_CREATE,
    ITEM_SURFACE_DESTROY,
    ITEM_MONITORS,
    ITEM_COPY_BITS,
    ITEM_RESET,
    ITEM_INVAL_ALL_PIXMAPS,
    ITEM_INVAL_PALETTES,
    ITEM_IMAGE,
    ITEM_STREAM_CREATE,
    ITEM_STREAM_DATA,
    ITEM_STREAM_CLIP,
    ITEM_STREAM_DESTROY,
} ItemType;

/* The pixels of a box of the primary right after an opaque image was
 * drawn there, shared by the clients that will be sent them. */
typedef struct Snapshot {
    int ref;
    pixman_image_t *image; /* x8r8g8b8, the box's size */
} Snapshot;

typedef struct Item {
    ItemType type;
    pixman_box32_t box;
    int32_t src_x;
    int32_t src_y;
    Snapshot *snap;          /* ITEM_IMAGE */
    uint32_t stream_id;      /* ITEM_STREAM_* */
    StreamFrame *frame;      /* ITEM_STREAM_DATA */
    pixman_region32_t *clip; /* ITEM_STREAM_CLIP */
} Item;

static void snapshot_unref(Snapshot *snap)
{
    if (snap && --snap->ref == 0) {
        pixman_image_unref(snap->image);
        g_free(snap);
    }
}

static void item_free(Item *it)
{
    snapshot_unref(it->snap);
    stream_frame_unref(it->frame);
    if (it->clip) {
        pixman_region32_fini(it->clip);
        g_free(it->clip);
    }
    g_free(it);
}

static size_t item_image_bytes(const Item *it)
{
    return it->snap ? (size_t)pixman_image_get_stride(it->snap->image) *
                          (size_t)pixman_image_get_height(it->snap->image)
                    : 0;
}

typedef struct CacheEntry {
    uint64_t id;
    uint32_t pixels;
    GList *lru; /* link in DisplayClient.lru */
} CacheEntry;

typedef struct DisplayClient DisplayClient;

/* The DISPLAY channel of one QXL instance. */
struct DisplayOutput {
    SpicePlugin *plugin;
    uint32_t id;
    SpicePluginLoop *loop; /* the worker's */
    const DisplaySource *source;
    SpiceChannel *channel;
    GList *clients; /* DisplayClient*, once moved to the loop */
    StreamSet *streams;
    SpicePluginTimer *stream_timer; /* while streams run: ends idle ones */
};

struct DisplayClient {
    DisplayOutput *out;
    SpiceChannelClient *cc;
    bool attached; /* on out->clients */
    bool initialized;
    SpicePluginTimer *init_timer;

    /* pixmap cache, in pixels */
    bool cache_enabled;
    uint64_t cache_budget;
    uint64_t cache_used;
    GHashTable *cache; /* id -> CacheEntry* */
    GQueue lru;        /* CacheEntry*, most recent at the head */
    GArray *evicted;   /* ids to announce in INVAL_LIST */

    GQueue items;
    size_t queued_image_bytes;
    bool has_primary;
    pixman_region32_t dirty;
    pixman_region32_t lossless; /* dirty pixels that must not go lossy */
    bool need_mark;
    int preferred_compression; /* 0: the server's setting */
    GlzSession *glz;           /* NULL: the client has no GLZ window */
    uint32_t caps;             /* display caps the guest cares about */

    /* video streams: which the client was told about */
    bool streams_refused; /* the client said it cannot decode them */
    bool stream_live[STREAM_MAX];
    uint32_t stream_unique[STREAM_MAX]; /* of the report activation */
    uint32_t next_unique;
    bool bad_report_logged;
};

/* pixman has union_rect and intersect_rect but no subtract_rect. */
static void region_subtract_box(pixman_region32_t *r, const pixman_box32_t *b)
{
    pixman_region32_t tmp;
    pixman_region32_init_rects(&tmp, b, 1);
    pixman_region32_subtract(r, r, &tmp);
    pixman_region32_fini(&tmp);
}

/* ---- queue ------------------------------------------------------------------------- */

static Item *push_item(DisplayClient *dc, ItemType type)
{
    Item *it = g_new0(Item, 1);
    it->type = type;
    g_queue_push_tail(&dc->items, it);
    return it;
}

/* The queue stays small whatever the guest does while a client does not
 * read: copy-bits are capped (collapse_copies), an item that restates
 * the current state is queued once (it is built when sent), and a
 * surface the client has not been told about yet is forgotten when it
 * goes (surface_withdrawn). */
static void push_item_once(DisplayClient *dc, ItemType type)
{
    for (GList *l = dc->items.tail; l; l = l->prev) {
        ItemType t = ((Item *)l->data)->type;
        if (t == type) {
            return;
        }
        if (t == ITEM_SURFACE_CREATE || t == ITEM_SURFACE_DESTROY) {
            break; /* what follows a surface change is about the new surface */
        }
    }
    push_item(dc, type);
}

/* The primary goes: when its creation is still queued, drop that and what
 * refers to it; true if the client never saw the surface. */
static bool surface_withdrawn(DisplayClient *dc)
{
    GList *create = NULL;
    for (GList *l = dc->items.tail; l && !create; l = l->prev) {
        if (((Item *)l->data)->type == ITEM_SURFACE_CREATE) {
            create = l;
        }
    }
    if (!create) {
        return false;
    }
    for (GList *l = create; l;) {
        GList *next = l->next;
        Item *it = l->data;
        if (it->type == ITEM_SURFACE_CREATE || it->type == ITEM_MONITORS ||
            it->type == ITEM_COPY_BITS || it->type == ITEM_IMAGE ||
            it->type == ITEM_STREAM_CREATE || it->type == ITEM_STREAM_DATA ||
            it->type == ITEM_STREAM_CLIP || it->type == ITEM_STREAM_DESTROY) {
            dc->queued_image_bytes -= item_image_bytes(it);
            g_queue_delete_link(&dc->items, l);
            item_free(it);
        }
        l = next;
    }
    return true;
}

/* Too many queued copy-bits or images (a client that does not read):
 * turn them into dirty pixels, sent later from the surface as it is then.
 * Copies go all together: dropping only some would break the premise of
 * the rest (their sources were current assuming the earlier items). */
static void collapse_items(DisplayClient *dc, bool images)
{
    for (GList *l = dc->items.head; l;) {
        GList *next = l->next;
        Item *it = l->data;
        if (it->type == ITEM_COPY_BITS ||
            (images && (it->type == ITEM_IMAGE || it->type == ITEM_STREAM_DATA))) {
            pixman_region32_union_rect(&dc->dirty, &dc->dirty, it->box.x1, it->box.y1,
                                       (unsigned)(it->box.x2 - it->box.x1),
                                       (unsigned)(it->box.y2 - it->box.y1));
            dc->queued_image_bytes -= item_image_bytes(it);
            g_queue_delete_link(&dc->items, l);
            item_free(it);
        }
        l = next;
    }
}

/* ---- cache ------------------------------------------------------------------------- */

static void cache_clear(DisplayClient *dc)
{
    g_queue_clear_full(&dc->lru, g_free);
    if (dc->cache) {
        g_hash_table_remove_all(dc->cache);
    }
    dc->cache_used = 0;
    if (dc->evicted) {
        g_array_set_size(dc->evicted, 0);
    }
}

static void cache_touch(DisplayClient *dc, CacheEntry *e)
{
    g_queue_unlink(&dc->lru, e->lru);
    g_queue_push_head_link(&dc->lru, e->lru);
}

/* Make room for `pixels`; evicted ids are announced before the next
 * image that uses the room. */
static void cache_add(DisplayClient *dc, uint64_t id, uint32_t pixels)
{
    while (dc->cache_used + pixels > dc->cache_budget && dc->lru.tail) {
        CacheEntry *old = dc->lru.tail->data;
        g_queue_delete_link(&dc->lru, dc->lru.tail);
        g_hash_table_remove(dc->cache, &old->id);
        dc->cache_used -= old->pixels;
        g_array_append_val(dc->evicted, old->id);
        g_free(old);
    }
    CacheEntry *e = g_new0(CacheEntry, 1);
    e->id = id;
    e->pixels = pixels;
    g_queue_push_head(&dc->lru, e);
    e->lru = dc->lru.head;
    g_hash_table_insert(dc->cache, &e->id, e);
    dc->cache_used += pixels;
}

static void send_inval_list(DisplayClient *dc)
{
    while (dc->evicted->len > 0) {
        uint32_t n = MIN(dc->evicted->len, 1024u);
        uint32_t size = 2 + 9 * n;
        uint8_t *body = g_malloc(size);
        spice_wire_put_u16(body, (uint16_t)n);
        for (uint32_t i = 0; i < n; i++) {
            body[2 + 9 * i] = SPICE_RES_TYPE_PIXMAP;
            spice_wire_put_u64(body + 3 + 9 * i, g_array_index(dc->evicted, uint64_t, i));
        }
        g_array_remove_range(dc->evicted, 0, n);
        display_host->channel_client_send_owned(dc->cc, SPICE_MSG_DISPLAY_INVAL_LIST, body, size,
                                                g_free);
    }
}

/* ---- messages ------------------------------------------------------------------------ */

static void put_rect(SpiceWireWriter *wr, const pixman_box32_t *b)
{
    spice_wire_write_i32(wr, b->y1); /* top */
    spice_wire_write_i32(wr, b->x1); /* left */
    spice_wire_write_i32(wr, b->y2); /* bottom */
    spice_wire_write_i32(wr, b->x2); /* right */
}

static void send_writer(DisplayClient *dc, uint16_t type, SpiceWireWriter *wr)
{
    size_t size;
    uint8_t *body = spice_wire_writer_steal(wr, &size);
    if (!body) {
        display_host->channel_client_disconnect(dc->cc, "out of memory building a message");
        return;
    }
    display_host->channel_client_send_owned(dc->cc, type, body, (uint32_t)size, free);
}

static void send_surface_create(DisplayClient *dc)
{
    const DisplayPrimary *s = dc->out->source->primary;
    if (!s) {
        return;
    }
    uint8_t body[20];
    spice_wire_put_u32(body, 0);
    spice_wire_put_u32(body + 4, s->width);
    spice_wire_put_u32(body + 8, s->height);
    spice_wire_put_u32(body + 12, s->format);
    spice_wire_put_u32(body + 16, SPICE_SURFACE_FLAGS_PRIMARY);
    display_host->channel_client_send(dc->cc, SPICE_MSG_DISPLAY_SURFACE_CREATE, body, sizeof(body));
}

static void send_monitors(DisplayClient *dc)
{
    const ParsedMonitors *m = &dc->out->source->monitors;
    if (m->count == 0) {
        return;
    }
    SpiceWireWriter wr;
    spice_wire_writer_init(&wr, 4 + 28 * m->count);
    spice_wire_write_u16(&wr, m->count);
    spice_wire_write_u16(&wr, m->max_allowed ? m->max_allowed : m->count);
    for (uint16_t i = 0; i < m->count; i++) {
        const QXLHead *h = &m->heads[i];
        spice_wire_write_u32(&wr, h->id);
        spice_wire_write_u32(&wr, 0); /* everything is drawn on the primary */
        spice_wire_write_u32(&wr, h->width);
        spice_wire_write_u32(&wr, h->height);
        spice_wire_write_u32(&wr, h->x);
        spice_wire_write_u32(&wr, h->y);
        spice_wire_write_u32(&wr, h->flags);
    }
    send_writer(dc, SPICE_MSG_DISPLAY_MONITORS_CONFIG, &wr);
}

static void send_pixels(DisplayClient *dc, pixman_box32_t t, const uint8_t *px, int32_t stride,
                        int photo, bool lossy_ok);

/* STREAM_CREATE for the stream's box, then the report activation when
 * the client sends reports (every 5 frames or second, the reference's
 * window). */
static void send_stream_create(DisplayClient *dc, const Item *it)
{
    const pixman_box32_t *b = &it->box;
    uint32_t w = (uint32_t)(b->x2 - b->x1), h = (uint32_t)(b->y2 - b->y1);
    SpiceWireWriter wr;
    spice_wire_writer_init(&wr, 64);
    spice_wire_write_u32(&wr, 0); /* surface */
    spice_wire_write_u32(&wr, it->stream_id);
    spice_wire_write_u8(&wr, SPICE_STREAM_FLAGS_TOP_DOWN);
    spice_wire_write_u8(&wr, SPICE_VIDEO_CODEC_TYPE_MJPEG);
    spice_wire_write_u64(&wr, 0); /* stamp */
    spice_wire_write_u32(&wr, w); /* stream size */
    spice_wire_write_u32(&wr, h);
    spice_wire_write_u32(&wr, w); /* source size */
    spice_wire_write_u32(&wr, h);
    put_rect(&wr, b);
    spice_wire_write_u8(&wr, SPICE_CLIP_TYPE_NONE);
    send_writer(dc, SPICE_MSG_DISPLAY_STREAM_CREATE, &wr);
    if (display_host->channel_client_test_cap(dc->cc, SPICE_DISPLAY_CAP_STREAM_REPORT)) {
        uint8_t body[16];
        spice_wire_put_u32(body, it->stream_id);
        spice_wire_put_u32(body + 4, dc->stream_unique[it->stream_id]);
        spice_wire_put_u32(body + 8, 5);     /* frames per report */
        spice_wire_put_u32(body + 12, 1000); /* ms at most between reports */
        display_host->channel_client_send(dc->cc, SPICE_MSG_DISPLAY_STREAM_ACTIVATE_REPORT, body,
                                          sizeof(body));
    }
}

static void send_item(DisplayClient *dc, Item *it)
{
    switch (it->type) {
    case ITEM_IMAGE:
        send_pixels(dc, it->box, (const uint8_t *)pixman_image_get_data(it->snap->image),
                    pixman_image_get_stride(it->snap->image), -1, true);
        break;
    case ITEM_SURFACE_CREATE:
        send_surface_create(dc);
        break;
    case ITEM_SURFACE_DESTROY: {
        uint8_t body[4] = { 0 };
        display_host->channel_client_send(dc->cc, SPICE_MSG_DISPLAY_SURFACE_DESTROY, body, 4);
        break;
    }
    case ITEM_MONITORS:
        send_monitors(dc);
        break;
    case ITEM_COPY_BITS: {
        SpiceWireWriter wr;
        spice_wire_writer_init(&wr, 32);
        spice_wire_write_u32(&wr, 0); /* surface */
        put_rect(&wr, &it->box);
        spice_wire_write_u8(&wr, SPICE_CLIP_TYPE_NONE);
        spice_wire_write_i32(&wr, it->src_x);
        spice_wire_write_i32(&wr, it->src_y);
        send_writer(dc, SPICE_MSG_DISPLAY_COPY_BITS, &wr);
        break;
    }
    case ITEM_RESET:
        display_host->channel_client_send(dc->cc, SPICE_MSG_DISPLAY_RESET, NULL, 0);
        break;
    case ITEM_INVAL_ALL_PIXMAPS: {
        uint8_t count = 0; /* no channels to wait for */
        display_host->channel_client_send(dc->cc, SPICE_MSG_DISPLAY_INVAL_ALL_PIXMAPS, &count, 1);
        break;
    }
    case ITEM_INVAL_PALETTES:
        display_host->channel_client_send(dc->cc, SPICE_MSG_DISPLAY_INVAL_ALL_PALETTES, NULL, 0);
        break;
    case ITEM_STREAM_CREATE:
        send_stream_create(dc, it);
        break;
    case ITEM_STREAM_DATA: {
        VideoStream *st = stream_set_get(dc->out->streams, it->stream_id);
        if (st) {
            stream_count_frame(st, false, g_get_monotonic_time());
        }
        uint8_t *body = g_malloc(12 + it->frame->size);
        spice_wire_put_u32(body, it->stream_id);
        spice_wire_put_u32(body + 4, it->frame->mm_time);
        spice_wire_put_u32(body + 8, (uint32_t)it->frame->size);
        memcpy(body + 12, it->frame->jpeg, it->frame->size);
        display_host->channel_client_send_owned(dc->cc, SPICE_MSG_DISPLAY_STREAM_DATA, body,
                                                (uint32_t)(12 + it->frame->size), g_free);
        break;
    }
    case ITEM_STREAM_CLIP: {
        int n;
        const pixman_box32_t *r = pixman_region32_rectangles(it->clip, &n);
        SpiceWireWriter wr;
        spice_wire_writer_init(&wr, 9 + (size_t)n * 16);
        spice_wire_write_u32(&wr, it->stream_id);
        spice_wire_write_u8(&wr, SPICE_CLIP_TYPE_RECTS);
        spice_wire_write_u32(&wr, (uint32_t)n);
        for (int i = 0; i < n; i++) {
            put_rect(&wr, &r[i]);
        }
        send_writer(dc, SPICE_MSG_DISPLAY_STREAM_CLIP, &wr);
        break;
    }
    case ITEM_STREAM_DESTROY: {
        uint8_t body[4];
        spice_wire_put_u32(body, it->stream_id);
        display_host->channel_client_send(dc->cc, SPICE_MSG_DISPLAY_STREAM_DESTROY, body, 4);
        break;
    }
    }
}

/* ---- pieces --------------------------------------------------------------------------- */

/* Whether dc is a whole SPICE canvas (spice-gtk's, the old spicec's):
 * those announce COMPOSITE and A8_SURFACE. spice-html5 announces neither,
 * draws stream frames whole over what lies on top (no STREAM_CLIP) and
 * decodes no LZ palette form. */
static bool client_full_canvas(DisplayClient *dc)
{
    return display_host->channel_client_test_cap(dc->cc, SPICE_DISPLAY_CAP_COMPOSITE);
}

static int compression_for(DisplayClient *dc)
{
    if (dc->preferred_compression) {
        return dc->preferred_compression;
    }
    return (int)display_host->server_get_int(dc->out->plugin, SPICE_SERVER_INT_IMAGE_COMPRESSION);
}

/* A WAN setting (jpeg, zlib-glz) for this client: always, or auto when
 * the main channel's network test found the link slow. */
static bool wan_setting_on(DisplayClient *dc, SpiceServerInt key)
{
    int64_t v = display_host->server_get_int(dc->out->plugin, key);
    if (v == SPICE_WAN_COMPRESSION_ALWAYS) {
        return true;
    }
    if (v != SPICE_WAN_COMPRESSION_AUTO) {
        return false;
    }
    SpiceClient *client = display_host->channel_client_get_client(dc->cc);
    return display_low_bandwidth(dc->out->plugin, display_host->client_get_session_id(client));
}

/* ZLIB-GLZ: deflate level 3 (the reference's) when it is on. */
static int zlib_level_for(DisplayClient *dc)
{
    return wan_setting_on(dc, SPICE_SERVER_INT_ZLIB_GLZ_COMPRESSION) ? 3 : 0;
}

/* Pointer to the piece's pixels in 32-bit xRGB, converting other surface
 * formats into *tmp (which the caller unrefs). */
static const uint8_t *piece_pixels(const DisplayPrimary *s, const pixman_box32_t *t,
                                   int32_t *stride, pixman_image_t **tmp)
{
    int w = t->x2 - t->x1, h = t->y2 - t->y1;
    *tmp = NULL;
    if (s->format == SPICE_SURFACE_FMT_32_xRGB || s->format == SPICE_SURFACE_FMT_32_ARGB) {
        *stride = s->stride;
        return s->row0 + (intptr_t)t->y1 * s->stride + (intptr_t)t->x1 * 4;
    }
    *tmp = pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, 0);
    if (!*tmp) {
        return NULL;
    }
    pixman_image_composite32(PIXMAN_OP_SRC, s->image, NULL, *tmp, t->x1, t->y1, 0, 0, 0, 0, w, h);
    *stride = pixman_image_get_stride(*tmp);
    return (const uint8_t *)pixman_image_get_data(*tmp);
}

static bool client_streams(DisplayClient *dc);

static uint64_t box_area(const pixman_box32_t *b)
{
    return (uint64_t)(b->x2 - b->x1) * (uint64_t)(b->y2 - b->y1);
}

/* Pixels of the n rectangles (disjoint, as a region's are) inside box. */
static uint64_t area_inside(const pixman_box32_t *b, int n, const pixman_box32_t *box)
{
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        pixman_box32_t c = { MAX(b[i].x1, box->x1), MAX(b[i].y1, box->y1), MIN(b[i].x2, box->x2),
                             MIN(b[i].y2, box->y2) };
        if (c.x1 < c.x2 && c.y1 < c.y2) {
            sum += box_area(&c);
        }
    }
    return sum;
}

/* Whether photographic pieces may go lossy for dc: the codec follows the
 * content (auto_lz, auto_glz) and JPEG is on for the client. */
static bool content_may_go_lossy(DisplayClient *dc)
{
    int comp = compression_for(dc);
    return (comp == SPICE_IMAGE_COMPRESSION_AUTO_LZ || comp == SPICE_IMAGE_COMPRESSION_AUTO_GLZ) &&
           wan_setting_on(dc, SPICE_SERVER_INT_JPEG_COMPRESSION);
}

/* 1 when box b of the primary looks photographic, else 0. */
static int rect_is_photographic(const DisplayPrimary *s, const pixman_box32_t *b)
{
    if (box_area(b) < IMAGE_PHOTO_MIN_PIXELS) {
        return 0;
    }
    int32_t stride;
    pixman_image_t *tmp;
    const uint8_t *px = piece_pixels(s, b, &stride, &tmp);
    bool photo = px && image_is_photographic(px, stride, (uint32_t)(b->x2 - b->x1),
                                             (uint32_t)(b->y2 - b->y1));
    if (tmp) {
        pixman_image_unref(tmp);
    }
    return photo;
}

/*
 * The next piece of the dirty region to send, as one image: its first
 * rectangle grown over the following ones while the box stays mostly
 * dirty (at least half, or no more than PIECE_SLACK clean pixels) and
 * at most MAX_PIECE_PIXELS. A guest that redraws many small areas (a
 * text console, a terminal: glyph runs, lines, the cursor) then costs
 * one message per merged area rather than one per rectangle or grid
 * cell, and the codecs see longer runs. The clean pixels inside are the
 * surface's current ones, which the client has already: sending them is
 * correct, only a little wasted. For a client that takes streams the box
 * stays off running streams (their pixels are the stream's, and lossy).
 * Where photographic images go as JPEG (the auto modes with jpeg on for
 * the client), the rectangles are judged one by one first and a merge
 * never mixes the two kinds: text merged with a video beside it would
 * otherwise go as one photographic JPEG, and clean text the client holds
 * exactly would come back blurred. (Lossless, a mixed piece only costs
 * some compression, less than judging every rectangle.) A photographic
 * rectangle merges only where the box has no clean pixels; *photo says
 * how the piece was judged (-1: not judged, the encoder decides).
 * A wholly dirty surface (a new client, a new mode) goes as one image,
 * as clients expect of a first frame: tools that grab the screen on the
 * first update (spicy-screenshot) then see all of it.
 */
static void next_piece(DisplayClient *dc, const DisplayPrimary *s, pixman_box32_t *t, int *photo)
{
    int n;
    const pixman_box32_t *b = pixman_region32_rectangles(&dc->dirty, &n);
    *t = b[0];
    *photo = -1;
    if (n == 1 && t->x1 == 0 && t->y1 == 0 && t->x2 == (int32_t)s->width &&
        t->y2 == (int32_t)s->height && (uint64_t)s->width * s->height <= MAX_WHOLE_PIXELS) {
        return;
    }
    if (box_area(t) > MAX_PIECE_PIXELS) {
        /* Bands of whole rows (rows of at most MAX_PIECE_PIXELS). */
        int32_t w = t->x2 - t->x1;
        if ((uint64_t)w > MAX_PIECE_PIXELS) {
            t->x2 = t->x1 + (int32_t)MAX_PIECE_PIXELS;
            w = (int32_t)MAX_PIECE_PIXELS;
        }
        t->y2 = MIN(t->y2, t->y1 + MAX(1, (int32_t)(MAX_PIECE_PIXELS / (uint32_t)w)));
        return;
    }
    int m = MIN(n, PIECE_LOOKAHEAD);
    bool streams = client_streams(dc);
    bool judge = content_may_go_lossy(dc);
    if (judge) {
        *photo = rect_is_photographic(s, t);
    }
    for (int i = 1; i < m; i++) {
        pixman_box32_t u = { MIN(t->x1, b[i].x1), MIN(t->y1, b[i].y1), MAX(t->x2, b[i].x2),
                             MAX(t->y2, b[i].y2) };
        uint64_t area = box_area(&u);
        if (area > MAX_PIECE_PIXELS) {
            continue;
        }
        uint64_t dirty = area_inside(b, m, &u);
        if (dirty * 2 < area && area - dirty > PIECE_SLACK) {
            continue;
        }
        if (judge && *photo == 1 && dirty < area) {
            continue;
        }
        if (streams && stream_set_overlapping(dc->out->streams, &u)) {
            continue;
        }
        if (judge && rect_is_photographic(s, &b[i]) != *photo) {
            continue;
        }
        *t = u;
    }
}

/*
 * The image compression mode (the client's PREFERRED_COMPRESSION, else the
 * server's) picks the codec as the reference's modes do: off sends raw
 * bitmaps, quic QUIC, lz LZ, glz GLZ, lz4 LZ4; auto_lz sends QUIC for
 * photographic images and LZ for the rest, auto_glz QUIC and GLZ. Where
 * the choice is QUIC, JPEG replaces it when jpeg compression is on for
 * the client (always, or auto on a slow link) and the image may go lossy
 * (lossy_ok: not a client's first whole surface, which mixes pictures
 * with text, nor a finished stream's box, as with the reference); photo
 * is how next_piece judged it (-1: judged here). GLZ becomes ZLIB-GLZ the
 * same way with zlib-glz compression, when that is smaller. A client
 * without a GLZ window (spice-html5), or a session that may no longer use
 * GLZ (glz-sessions.c), gets LZ4 where it decodes it and LZ otherwise
 * instead; so does an lz4 client without LZ4. Local (unix socket)
 * clients always get raw bitmaps; so do images too small for a codec's
 * header to pay off.
 */
/* LZ_PLT (flags, data size, palette offset, stream) for an image of at
 * most 256 colours, its palette after it at the end of the message (wr
 * is the whole message); nothing written otherwise. */
static bool encode_lz_plt8(SpiceWireWriter *wr, const uint8_t *px, int32_t stride, uint32_t w,
                           uint32_t h)
{
    size_t start = wr->size, palette_at;
    uint32_t palette[256], colours;
    spice_wire_write_u8(wr, 0); /* flags: the palette inline, not cached */
    /* The form's stream comes out some 10-15% smaller than the RGB form's
     * (more on literals); its palette and header cost 15 bytes and 4 a
     * colour. A stream under 8 times that (a frame stamp of a few copies)
     * is smaller in the RGB form. */
    if (!image_encode_lz_plt8(wr, px, stride, w, h, palette, &colours, &palette_at) ||
        spice_wire_get_u32(wr->data + palette_at - 4) < 8 * (15 + 4 * colours)) {
        wr->size = start;
        return false;
    }
    spice_wire_put_u32(wr->data + palette_at, (uint32_t)wr->size);
    spice_wire_write_u64(wr, 0); /* unique: not cached */
    spice_wire_write_u16(wr, (uint16_t)colours);
    for (uint32_t i = 0; i < colours; i++) {
        spice_wire_write_u32(wr, palette[i]);
    }
    return !wr->error;
}

static bool encode_image(DisplayClient *dc, SpiceWireWriter *wr, const uint8_t *px, int32_t stride,
                         uint32_t w, uint32_t h, int photo, bool lossy_ok, uint8_t *type)
{
    int comp = compression_for(dc);
    bool local = display_host->channel_client_get_family(dc->cc) == AF_UNIX;
    if (comp != SPICE_IMAGE_COMPRESSION_OFF && !local && (uint64_t)w * h >= 16) {
        bool automatic =
            comp == SPICE_IMAGE_COMPRESSION_AUTO_LZ || comp == SPICE_IMAGE_COMPRESSION_AUTO_GLZ;
        bool glz = comp == SPICE_IMAGE_COMPRESSION_GLZ || comp == SPICE_IMAGE_COMPRESSION_AUTO_GLZ;
        if (automatic && photo < 0) {
            photo = image_is_photographic(px, stride, w, h);
        }
        if (comp == SPICE_IMAGE_COMPRESSION_QUIC || (automatic && photo == 1)) {
#ifdef SPICE_CODEC_JPEG
            if (lossy_ok && wan_setting_on(dc, SPICE_SERVER_INT_JPEG_COMPRESSION) &&
                image_encode_jpeg(wr, px, stride, w, h, JPEG_QUALITY)) {
                *type = SPICE_IMAGE_TYPE_JPEG;
                return true;
            }
#endif
            if (image_encode_quic(wr, px, stride, w, h)) {
                *type = SPICE_IMAGE_TYPE_QUIC;
                return true;
            }
        }
        GlzDictionary *dict = glz ? glz_session_dictionary(dc->glz) : NULL;
        bool zlib_used = false;
        if (dict && image_encode_glz(wr, dict, dc->out->id, zlib_level_for(dc), px, stride, w, h,
                                     &zlib_used)) {
            *type = zlib_used ? SPICE_IMAGE_TYPE_ZLIB_GLZ_RGB : SPICE_IMAGE_TYPE_GLZ_RGB;
            return true;
        }
#ifdef SPICE_CODEC_LZ4
        bool lz4 = comp != SPICE_IMAGE_COMPRESSION_LZ && comp != SPICE_IMAGE_COMPRESSION_AUTO_LZ &&
                   display_host->channel_client_test_cap(dc->cc, SPICE_DISPLAY_CAP_LZ4_COMPRESSION);
        if (lz4 && image_encode_lz4(wr, px, stride, w, h)) {
            *type = SPICE_IMAGE_TYPE_LZ4;
            return true;
        }
#endif
        if (client_full_canvas(dc) && encode_lz_plt8(wr, px, stride, w, h)) {
            *type = SPICE_IMAGE_TYPE_LZ_PLT;
            return true;
        }
        if (image_encode_lz(wr, px, stride, w, h)) {
            *type = SPICE_IMAGE_TYPE_LZ_RGB;
            return true;
        }
    }
    *type = SPICE_IMAGE_TYPE_BITMAP;
    return image_encode_bitmap(wr, px, stride, w, h);
}

/* Send pixels (32-bit xRGB) for box t of the primary as a DRAW_COPY:
 * a cache reference when the client has them, else encoded. */
static void send_pixels(DisplayClient *dc, pixman_box32_t t, const uint8_t *px, int32_t stride,
                        int photo, bool lossy_ok)
{
    uint32_t w = (uint32_t)(t.x2 - t.x1), h = (uint32_t)(t.y2 - t.y1);

    /* Only cacheable images need an id (a hash of their pixels); it mixes
     * in the channel id: clients may share one cache between display
     * channels. Clients ignore the id of an image not marked CACHE_ME. */
    bool cacheable = dc->cache_enabled && (uint64_t)w * h >= MIN_CACHED_PIXELS &&
                     (uint64_t)w * h <= dc->cache_budget;
    uint64_t id = cacheable ? image_hash(px, stride, w, h) ^ ((uint64_t)dc->out->id << 56) : 0;
    CacheEntry *hit = cacheable ? g_hash_table_lookup(dc->cache, &id) : NULL;

    SpiceWireWriter wr;
    spice_wire_writer_init(&wr, 128 + (hit ? 0 : (size_t)w * h * 4 / 2));
    spice_wire_write_u32(&wr, 0); /* surface */
    put_rect(&wr, &t);
    spice_wire_write_u8(&wr, SPICE_CLIP_TYPE_NONE);
    spice_wire_write_u32(&wr, 57); /* the image follows the fixed part */
    pixman_box32_t src = { 0, 0, (int32_t)w, (int32_t)h };
    put_rect(&wr, &src);
    spice_wire_write_u16(&wr, SPICE_ROPD_OP_PUT);
    spice_wire_write_u8(&wr, SPICE_IMAGE_SCALE_MODE_NEAREST);
    spice_wire_write_u8(&wr, 0); /* mask flags */
    spice_wire_write_i32(&wr, 0);
    spice_wire_write_i32(&wr, 0);
    spice_wire_write_u32(&wr, 0); /* no mask */

    /* Image descriptor, then the encoded body. */
    spice_wire_write_u64(&wr, id);
    size_t type_pos = wr.size;
    spice_wire_write_u8(&wr, 0);
    spice_wire_write_u8(&wr, 0);
    spice_wire_write_u32(&wr, w);
    spice_wire_write_u32(&wr, h);
    uint8_t type = SPICE_IMAGE_TYPE_FROM_CACHE, flags = 0;
    if (hit) {
        cache_touch(dc, hit);
    } else {
        bool ok = encode_image(dc, &wr, px, stride, w, h, photo, lossy_ok, &type);
        if (!ok) {
            spice_wire_writer_clear(&wr);
            display_host->channel_client_disconnect(dc->cc, "cannot encode an image");
            return;
        }
        if (cacheable && type != SPICE_IMAGE_TYPE_JPEG) {
            cache_add(dc, id, w * h);
            flags = SPICE_IMAGE_FLAGS_CACHE_ME;
        }
    }
    if (!wr.error) {
        wr.data[type_pos] = type;
        wr.data[type_pos + 1] = flags;
    }
    send_inval_list(dc);
    send_writer(dc, SPICE_MSG_DISPLAY_DRAW_COPY, &wr);
}

/* Send the next piece of the dirty region. */
static void send_piece(DisplayClient *dc)
{
    const DisplayPrimary *s = dc->out->source->primary;
    pixman_box32_t t;
    int photo;
    next_piece(dc, s, &t, &photo);
    region_subtract_box(&dc->dirty, &t);
    bool lossy_ok = true;
    if (pixman_region32_not_empty(&dc->lossless)) {
        lossy_ok = pixman_region32_contains_rectangle(&dc->lossless, &t) == PIXMAN_REGION_OUT;
        region_subtract_box(&dc->lossless, &t);
    }
    int32_t stride;
    pixman_image_t *tmp;
    const uint8_t *px = piece_pixels(s, &t, &stride, &tmp);
    if (!px) {
        display_host->channel_client_disconnect(dc->cc, "out of memory for a piece");
        return;
    }
    send_pixels(dc, t, px, stride, photo, lossy_ok);
    if (tmp) {
        pixman_image_unref(tmp);
    }
}

/* ---- produce ------------------------------------------------------------------------- */

static void display_produce(SpiceChannelClient *cc)
{
    DisplayClient *dc = display_host->channel_client_get_data(cc);
    if (!dc || !dc->initialized) {
        return;
    }
    while (display_host->channel_client_can_send(cc)) {
        Item *it = g_queue_pop_head(&dc->items);
        if (it) {
            dc->queued_image_bytes -= item_image_bytes(it);
            send_item(dc, it);
            item_free(it);
            continue;
        }
        if (dc->has_primary && pixman_region32_not_empty(&dc->dirty)) {
            send_piece(dc);
            continue;
        }
        if (dc->need_mark && dc->has_primary) {
            dc->need_mark = false;
            display_host->channel_client_send(cc, SPICE_MSG_DISPLAY_MARK, NULL, 0);
        }
        return;
    }
    /* Not done: come back when the client has room. */
    display_host->channel_client_want_produce(cc);
}

static void kick(DisplayClient *dc)
{
    if (dc->initialized) {
        display_host->channel_client_want_produce(dc->cc);
    }
}

/* ---- video streams (worker thread) --------------------------------------------------- */

/* The streaming setting, OFF when MJPEG is not among the video codecs
 * or not built. */
static int streaming_mode(DisplayOutput *out)
{
#ifdef SPICE_CODEC_JPEG
    int64_t codecs = display_host->server_get_int(out->plugin, SPICE_SERVER_INT_VIDEO_CODECS);
    if (codecs < 0 || !(codecs & (1 << SPICE_VIDEO_CODEC_TYPE_MJPEG))) {
        return SPICE_STREAM_VIDEO_OFF;
    }
    return (int)display_host->server_get_int(out->plugin, SPICE_SERVER_INT_STREAMING_VIDEO);
#else
    (void)out;
    return SPICE_STREAM_VIDEO_OFF;
#endif
}

/* Whether dc gets streams: it decodes MJPEG (any client without the
 * codec caps does; one with them says so) and did not say it cannot. */
static bool client_streams(DisplayClient *dc)
{
    if (!dc->has_primary || dc->streams_refused) {
        return false;
    }
    return !display_host->channel_client_test_cap(dc->cc, SPICE_DISPLAY_CAP_MULTI_CODEC) ||
           display_host->channel_client_test_cap(dc->cc, SPICE_DISPLAY_CAP_CODEC_MJPEG);
}

/* The stream's frame dc was not sent yet, if a newer one may replace it:
 * not across a change of the stream's clip, as the client shows a frame
 * through the clip it has when the frame comes. */
static Item *pending_stream_data(DisplayClient *dc, uint32_t id)
{
    for (GList *l = dc->items.tail; l; l = l->prev) {
        Item *it = l->data;
        if (it->type == ITEM_STREAM_DATA && it->stream_id == id) {
            return it;
        }
        if ((it->type == ITEM_STREAM_CREATE || it->type == ITEM_STREAM_CLIP) &&
            it->stream_id == id) {
            return NULL;
        }
    }
    return NULL;
}

/* A client that does not show frames through STREAM_CLIP gets a clipped
 * stream's box as images. */
static bool client_takes_clips(DisplayClient *dc)
{
    return client_full_canvas(dc);
}

static void client_stream_end(DisplayClient *dc, const VideoStream *st);

/* dc hears of the stream's clip (after what it was sent so far): a clip
 * not sent yet with no frame after it is updated in place (a clip only
 * matters to the frames that follow it). A client that would not honour
 * it loses the stream instead (and gets the box losslessly); it gets the
 * stream again once the clip is the whole box. */
static void client_stream_clip(DisplayClient *dc, const VideoStream *st)
{
    if (!dc->stream_live[st->id]) {
        return;
    }
    if (!client_takes_clips(dc) && !stream_clip_is_box(st)) {
        client_stream_end(dc, st);
        return;
    }
    Item *it = NULL;
    for (GList *l = dc->items.tail; l && !it; l = l->prev) {
        Item *t = l->data;
        if ((t->type == ITEM_STREAM_CREATE || t->type == ITEM_STREAM_DATA) &&
            t->stream_id == st->id) {
            break;
        }
        if (t->type == ITEM_STREAM_CLIP && t->stream_id == st->id) {
            it = t;
        }
    }
    if (!it) {
        it = push_item(dc, ITEM_STREAM_CLIP);
        it->stream_id = st->id;
        it->clip = g_new(pixman_region32_t, 1);
        pixman_region32_init(it->clip);
    }
    pixman_region32_copy(it->clip, (pixman_region32_t *)&st->clip);
    kick(dc);
}

/* dc hears that the stream is over, and gets its box again losslessly
 * (the frames were JPEG). */
static void client_stream_end(DisplayClient *dc, const VideoStream *st)
{
    if (!dc->stream_live[st->id]) {
        return;
    }
    dc->stream_live[st->id] = false;
    for (GList *l = dc->items.head; l;) {
        GList *next = l->next;
        Item *it = l->data;
        if ((it->type == ITEM_STREAM_DATA || it->type == ITEM_STREAM_CLIP) &&
            it->stream_id == st->id) {
            g_queue_delete_link(&dc->items, l);
            item_free(it);
        }
        l = next;
    }
    Item *it = push_item(dc, ITEM_STREAM_DESTROY);
    it->stream_id = st->id;
    if (dc->has_primary) {
        pixman_region32_union_rect(&dc->dirty, &dc->dirty, st->box.x1, st->box.y1, st->width,
                                   st->height);
        pixman_region32_union_rect(&dc->lossless, &dc->lossless, st->box.x1, st->box.y1, st->width,
                                   st->height);
    }
    kick(dc);
}

static void stream_end(DisplayOutput *out, VideoStream *st, const char *why)
{
    for (GList *l = out->clients; l; l = l->next) {
        client_stream_end(l->data, st);
    }
    display_host->log(out->plugin, SPICE_PLUGIN_LOG_INFO,
                      "display %u: video stream %u (%ux%u at %d,%d) ended (%s): %u frames, "
                      "%.1f KiB a frame, last quality %d, %u held back by the link budget",
                      out->id, st->id, st->width, st->height, st->box.x1, st->box.y1, why,
                      st->total_frames,
                      st->total_frames ? st->bytes / 1024.0 / st->total_frames : 0.0,
                      stream_quality(st), st->skipped);
    stream_set_remove(out->streams, st);
}

static void streams_end_all(DisplayOutput *out, const char *why)
{
    for (uint32_t id = 0; id < STREAM_MAX; id++) {
        VideoStream *st = stream_set_get(out->streams, id);
        if (st) {
            stream_end(out, st, why);
        }
    }
    display_host->timer_free(out->stream_timer);
    out->stream_timer = NULL;
}

/* Something other than the stream's frames draws over part of it. */
static void streams_end_under(DisplayOutput *out, const pixman_region32_t *region, const char *why)
{
    for (uint32_t id = 0; id < STREAM_MAX; id++) {
        VideoStream *st = stream_set_get(out->streams, id);
        if (st && pixman_region32_contains_rectangle((pixman_region32_t *)region, &st->box) !=
                      PIXMAN_REGION_OUT) {
            stream_end(out, st, why);
        }
    }
}

/* Something other than the stream's frames was drawn over region: it is
 * on top of the video now, so the streams there show less (STREAM_CLIP to
 * their clients); one left with nothing to show ends. */
static void streams_clip_under(DisplayOutput *out, const pixman_region32_t *region)
{
    for (uint32_t id = 0; id < STREAM_MAX; id++) {
        VideoStream *st = stream_set_get(out->streams, id);
        if (!st || pixman_region32_contains_rectangle((pixman_region32_t *)region, &st->box) ==
                       PIXMAN_REGION_OUT) {
            continue;
        }
        if (!stream_clip_subtract(st, region)) {
            continue;
        }
        if (!pixman_region32_not_empty(&st->clip)) {
            stream_end(out, st, "drawn over");
            continue;
        }
        for (GList *l = out->clients; l; l = l->next) {
            client_stream_clip(l->data, st);
        }
    }
}

static void stream_timer_cb(void *opaque)
{
    DisplayOutput *out = opaque;
    int64_t now = g_get_monotonic_time();
    VideoStream *st;
    while ((st = stream_set_expired(out->streams, now)) != NULL) {
        stream_end(out, st, "no frame for a second");
    }
    bool any = false;
    for (uint32_t id = 0; id < STREAM_MAX && !any; id++) {
        any = stream_set_get(out->streams, id) != NULL;
    }
    if (any) {
        display_host->timer_start(out->stream_timer, 250);
    }
}

/* The box's pixels, as drawn just now. */
static Snapshot *snapshot_take(const DisplayPrimary *s, const pixman_box32_t *box)
{
    int32_t bw = box->x2 - box->x1, bh = box->y2 - box->y1;
    pixman_image_t *img = pixman_image_create_bits(PIXMAN_x8r8g8b8, bw, bh, NULL, 0);
    if (!img) {
        return NULL;
    }
    pixman_image_composite32(PIXMAN_OP_SRC, s->image, NULL, img, box->x1, box->y1, 0, 0, 0, 0, bw,
                             bh);
    Snapshot *snap = g_new0(Snapshot, 1);
    snap->ref = 1;
    snap->image = img;
    return snap;
}

/* Queued images the new box covers wholly are not worth sending: the
 * client would draw them only to draw over them (a console redrawing its
 * screen faster than the client reads). Only the images at the tail of
 * the queue go: an earlier one may be the source of a copy queued after
 * it, or belong to another surface. */
static void drop_covered_images(DisplayClient *dc, const pixman_box32_t *box)
{
    for (GList *l = dc->items.tail; l;) {
        GList *prev = l->prev;
        Item *it = l->data;
        if (it->type != ITEM_IMAGE) {
            return;
        }
        if (it->box.x1 >= box->x1 && it->box.y1 >= box->y1 && it->box.x2 <= box->x2 &&
            it->box.y2 <= box->y2) {
            dc->queued_image_bytes -= item_image_bytes(it);
            g_queue_delete_link(&dc->items, l);
            item_free(it);
        }
        l = prev;
    }
}

/* dc gets the box's pixels as one image now instead of as dirty pieces
 * later. */
static void queue_image(DisplayClient *dc, const pixman_box32_t *box, Snapshot *snap)
{
    drop_covered_images(dc, box);
    size_t bytes = (size_t)pixman_image_get_stride(snap->image) * (size_t)(box->y2 - box->y1);
    if (dc->queued_image_bytes + bytes > MAX_QUEUED_IMAGE_BYTES) {
        collapse_items(dc, true);
    }
    Item *it = push_item(dc, ITEM_IMAGE);
    it->box = *box;
    it->snap = snap;
    snap->ref++;
    dc->queued_image_bytes += bytes;
    region_subtract_box(&dc->dirty, box);
}

/* What one of out's streams may send, in bits a second: a share of the
 * slowest measured link among the clients that take streams, split
 * between the running streams; 0 when no such link was measured. */
static uint64_t stream_link_budget(DisplayOutput *out)
{
    uint64_t slowest = 0;
    for (GList *l = out->clients; l; l = l->next) {
        DisplayClient *dc = l->data;
        if (!dc->has_primary || !client_streams(dc)) {
            continue;
        }
        SpiceClient *client = display_host->channel_client_get_client(dc->cc);
        uint64_t bps =
            display_link_bitrate(out->plugin, display_host->client_get_session_id(client));
        if (bps && (!slowest || bps < slowest)) {
            slowest = bps;
        }
    }
    unsigned n = stream_set_count(out->streams);
    return (uint64_t)((double)slowest * STREAM_LINK_SHARE) / (n ? n : 1);
}

/* A frame of st: to each client that takes streams (replacing a frame it
 * was not sent yet: that one is dropped), as an image to the others. A
 * frame the link budget holds back goes to nobody that streams: a later
 * one carries the box, or, when the stream ends, the box as an image. */
static void stream_frame(DisplayOutput *out, VideoStream *st, Snapshot *snap,
                         const pixman_region32_t *visible)
{
    int64_t now = g_get_monotonic_time();
    StreamFrame *f = NULL;
    /* What this frame shows: its clip from the guest, else all the box. */
    if (stream_clip_set(st, visible)) {
        for (GList *l = out->clients; l; l = l->next) {
            client_stream_clip(l->data, st);
        }
    }
    bool held = !stream_budget_allows(st, stream_link_budget(out), now);
    for (GList *l = out->clients; l; l = l->next) {
        DisplayClient *dc = l->data;
        if (!dc->has_primary) {
            continue;
        }
        if (!client_streams(dc) || (!stream_clip_is_box(st) && !client_takes_clips(dc))) {
            queue_image(dc, &st->box, snap);
            continue;
        }
        if (held) {
            pixman_region32_subtract(&dc->dirty, &dc->dirty, &st->clip);
            continue;
        }
        if (!f) {
            f = stream_encode_frame(st, snap->image, display_host->mm_time(out->plugin));
            if (!f) {
                display_host->log(out->plugin, SPICE_PLUGIN_LOG_WARNING,
                                  "display %u: cannot encode a video frame", out->id);
                queue_image(dc, &st->box, snap);
                continue;
            }
            stream_budget_spend(st, f->size);
        }
        if (!dc->stream_live[st->id]) {
            dc->stream_live[st->id] = true;
            dc->stream_unique[st->id] = ++dc->next_unique;
            Item *c = push_item(dc, ITEM_STREAM_CREATE);
            c->stream_id = st->id;
            c->box = st->box;
            if (!stream_clip_is_box(st)) {
                client_stream_clip(dc, st);
            }
        }
        Item *pending = pending_stream_data(dc, st->id);
        if (pending) {
            stream_frame_unref(pending->frame);
            pending->frame = stream_frame_ref(f);
            stream_count_frame(st, true, now);
        } else {
            Item *d = push_item(dc, ITEM_STREAM_DATA);
            d->stream_id = st->id;
            d->box = st->box;
            d->frame = stream_frame_ref(f);
        }
        /* The frame covers its clip; the rest of the box (what lies over
         * the video) stays dirty and goes as images after it. */
        pixman_region32_subtract(&dc->dirty, &dc->dirty, &st->clip);
        kick(dc);
    }
    stream_frame_unref(f);
}

/* ---- the output ops (worker thread) -------------------------------------------------- */

static void client_primary_created(DisplayClient *dc)
{
    const DisplayPrimary *s = dc->out->source->primary;
    if (!dc->initialized || !s) {
        return;
    }
    push_item(dc, ITEM_SURFACE_CREATE);
    push_item(dc, ITEM_MONITORS);
    dc->has_primary = true;
    dc->need_mark = true;
    pixman_region32_fini(&dc->dirty);
    pixman_region32_init_rect(&dc->dirty, 0, 0, s->width, s->height);
    pixman_region32_copy(&dc->lossless, &dc->dirty);
}

static void output_primary_created(DisplayOutput *out)
{
    for (GList *l = out->clients; l; l = l->next) {
        client_primary_created(l->data);
    }
}

static void output_primary_destroyed(DisplayOutput *out)
{
    streams_end_all(out, "the surface went");
    for (GList *l = out->clients; l; l = l->next) {
        DisplayClient *dc = l->data;
        if (dc->has_primary) {
            /* Queued copies refer to the old surface: they may still be
             * sent, before it goes. */
            if (!surface_withdrawn(dc)) {
                push_item(dc, ITEM_SURFACE_DESTROY);
            }
            dc->has_primary = false;
            dc->need_mark = false;
            pixman_region32_clear(&dc->dirty);
            pixman_region32_clear(&dc->lossless);
            kick(dc);
        }
    }
}

static void output_damage(DisplayOutput *out, const pixman_region32_t *damage)
{
    streams_clip_under(out, damage);
    for (GList *l = out->clients; l; l = l->next) {
        DisplayClient *dc = l->data;
        if (dc->has_primary) {
            pixman_region32_union(&dc->dirty, &dc->dirty, (pixman_region32_t *)damage);
        }
    }
}

static void output_copy_bits(DisplayOutput *out, const pixman_box32_t *dest, int32_t src_x,
                             int32_t src_y)
{
    const DisplayPrimary *s = out->source->primary;
    int32_t dw = dest->x2 - dest->x1, dh = dest->y2 - dest->y1;
    /* The clients' copy of a stream's box is lossy: neither a source
     * nor a destination for copies. */
    pixman_region32_t touched;
    pixman_region32_init_rect(&touched, dest->x1, dest->y1, (unsigned)dw, (unsigned)dh);
    pixman_region32_union_rect(&touched, &touched, src_x, src_y, (unsigned)dw, (unsigned)dh);
    streams_end_under(out, &touched, "copied over");
    pixman_region32_fini(&touched);
    for (GList *l = out->clients; l; l = l->next) {
        DisplayClient *dc = l->data;
        if (!dc->has_primary) {
            continue;
        }
        bool src_inside = s && src_x >= 0 && src_y >= 0 && src_x + dw <= (int32_t)s->width &&
                          src_y + dh <= (int32_t)s->height;
        pixman_box32_t src_box = { src_x, src_y, src_x + dw, src_y + dh };
        bool src_current = src_inside && pixman_region32_contains_rectangle(&dc->dirty, &src_box) ==
                                             PIXMAN_REGION_OUT;
        if (src_current && dc->items.length >= MAX_QUEUED_ITEMS) {
            collapse_items(dc, false);
            src_current =
                pixman_region32_contains_rectangle(&dc->dirty, &src_box) == PIXMAN_REGION_OUT;
        }
        if (src_current) {
            Item *it = g_new0(Item, 1);
            it->type = ITEM_COPY_BITS;
            it->box = *dest;
            it->src_x = src_x;
            it->src_y = src_y;
            g_queue_push_tail(&dc->items, it);
            region_subtract_box(&dc->dirty, dest);
        } else {
            pixman_region32_union_rect(&dc->dirty, &dc->dirty, dest->x1, dest->y1, (unsigned)dw,
                                       (unsigned)dh);
        }
    }
}

/* An opaque image was just drawn over all of box (inside the primary), or
 * over the part of it in clip (the guest's clip: what of the box lies on
 * top): clients get the box's pixels as one image now instead of as
 * dirty pieces later. When the same picture comes again (a window
 * moving, a repeated frame) it is one cache reference. A box redrawn like
 * video (clipped or not: a video under a window) becomes a video stream;
 * a clipped image of a stream's box is its next frame, shown through that
 * clip. Other clipped images are damage. */
static void output_image(DisplayOutput *out, const pixman_box32_t *box,
                         const pixman_region32_t *clip)
{
    const DisplayPrimary *s = out->source->primary;
    int32_t bw = box->x2 - box->x1, bh = box->y2 - box->y1;
    if (!s || box->x1 < 0 || box->y1 < 0 || box->x2 > (int32_t)s->width ||
        box->y2 > (int32_t)s->height || bw <= 0 || bh <= 0 ||
        (uint64_t)bw * (uint64_t)bh < MIN_IMAGE_PIXELS ||
        (uint64_t)bw * (uint64_t)bh * 4 > MAX_QUEUED_IMAGE_BYTES) {
        if (clip) {
            output_damage(out, clip);
            return;
        }
        pixman_region32_t damage;
        pixman_region32_init_rect(&damage, box->x1, box->y1, bw > 0 ? (unsigned)bw : 0,
                                  bh > 0 ? (unsigned)bh : 0);
        output_damage(out, &damage);
        pixman_region32_fini(&damage);
        return;
    }
    bool any = false;
    for (GList *l = out->clients; l && !any; l = l->next) {
        any = ((DisplayClient *)l->data)->has_primary;
    }
    Snapshot *snap = any ? snapshot_take(s, box) : NULL;
    if (any && !snap) {
        for (GList *l = out->clients; l; l = l->next) {
            display_host->channel_client_disconnect(((DisplayClient *)l->data)->cc,
                                                    "out of memory for an image");
        }
        return;
    }
    int mode = streaming_mode(out);
    if (mode == SPICE_STREAM_VIDEO_OFF) {
        streams_end_all(out, "streaming turned off");
    }
    bool started = false;
    VideoStream *st = snap ? stream_set_image(out->streams, box, snap->image, mode,
                                              g_get_monotonic_time(), &started)
                           : NULL;
    if (!st && clip) {
        /* Not (yet) video: only the visible part changed. */
        snapshot_unref(snap);
        output_damage(out, clip);
        return;
    }
    if (st) {
        if (started) {
            display_host->log(out->plugin, SPICE_PLUGIN_LOG_INFO,
                              "display %u: video stream %u started: %ux%u at %d,%d", out->id,
                              st->id, st->width, st->height, box->x1, box->y1);
            if (!out->stream_timer) {
                out->stream_timer =
                    display_host->timer_new(out->plugin, out->loop, stream_timer_cb, out);
            }
            if (out->stream_timer) {
                display_host->timer_start(out->stream_timer, 250);
            }
        }
        stream_frame(out, st, snap, clip);
    } else {
        pixman_region32_t region;
        pixman_region32_init_rect(&region, box->x1, box->y1, (unsigned)bw, (unsigned)bh);
        streams_clip_under(out, &region);
        pixman_region32_fini(&region);
        for (GList *l = out->clients; l; l = l->next) {
            DisplayClient *dc = l->data;
            if (dc->has_primary) {
                queue_image(dc, box, snap);
            }
        }
    }
    snapshot_unref(snap);
}

static void output_monitors_changed(DisplayOutput *out)
{
    for (GList *l = out->clients; l; l = l->next) {
        DisplayClient *dc = l->data;
        if (dc->has_primary) {
            push_item_once(dc, ITEM_MONITORS);
            kick(dc);
        }
    }
}

static void output_reset_caches(DisplayOutput *out)
{
    for (GList *l = out->clients; l; l = l->next) {
        DisplayClient *dc = l->data;
        if (dc->initialized) {
            cache_clear(dc);
            push_item_once(dc, ITEM_INVAL_ALL_PIXMAPS);
            kick(dc);
        }
    }
}

static void output_reset(DisplayOutput *out)
{
    streams_end_all(out, "the device was reset");
    for (GList *l = out->clients; l; l = l->next) {
        DisplayClient *dc = l->data;
        if (dc->initialized) {
            cache_clear(dc);
            push_item_once(dc, ITEM_RESET);
            kick(dc);
        }
    }
}

static void output_kick(DisplayOutput *out)
{
    for (GList *l = out->clients; l; l = l->next) {
        kick(l->data);
    }
}

/* A client joined or left: tell the worker what the clients now share. */
static void clients_changed(DisplayOutput *out)
{
    uint32_t caps = 0;
    bool any = false;
    for (GList *l = out->clients; l; l = l->next) {
        DisplayClient *dc = l->data;
        caps = any ? caps & dc->caps : dc->caps;
        any = true;
    }
    out->source->clients_changed(out->source->opaque, any, any ? caps : 0);
}

/* ---- channel ops ------------------------------------------------------------------------ */

static void init_timeout(void *opaque)
{
    DisplayClient *dc = opaque;
    display_host->channel_client_disconnect(dc->cc, "no DISPLAY_INIT within 30 seconds");
}

static void on_moved(SpiceChannelClient *cc, void *opaque)
{
    DisplayClient *dc = opaque;
    DisplayOutput *out = dc->out;
    dc->attached = true;
    out->clients = g_list_append(out->clients, dc);
    dc->init_timer = display_host->timer_new(out->plugin, out->loop, init_timeout, dc);
    display_host->timer_start(dc->init_timer, INIT_TIMEOUT_MS);
    static const uint32_t guest_caps[] = { SPICE_DISPLAY_CAP_SIZED_STREAM,
                                           SPICE_DISPLAY_CAP_MONITORS_CONFIG,
                                           SPICE_DISPLAY_CAP_COMPOSITE,
                                           SPICE_DISPLAY_CAP_A8_SURFACE };
    for (unsigned i = 0; i < G_N_ELEMENTS(guest_caps); i++) {
        if (display_host->channel_client_test_cap(cc, guest_caps[i])) {
            dc->caps |= 1u << guest_caps[i];
        }
    }
    clients_changed(out);
}

static int display_connect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    DisplayOutput *out = display_host->channel_get_data(channel);
    DisplayClient *dc = g_new0(DisplayClient, 1);
    dc->out = out;
    dc->cc = cc;
    g_queue_init(&dc->items);
    g_queue_init(&dc->lru);
    pixman_region32_init(&dc->dirty);
    pixman_region32_init(&dc->lossless);
    dc->cache = g_hash_table_new(g_int64_hash, g_int64_equal);
    dc->evicted = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    display_host->channel_client_set_data(cc, dc);
    display_host->channel_client_move(cc, out->loop, on_moved, dc);
    return 0;
}

static void display_disconnect(SpiceChannel *channel, SpiceChannelClient *cc)
{
    (void)channel;
    DisplayClient *dc = display_host->channel_client_get_data(cc);
    if (!dc) {
        return;
    }
    DisplayOutput *out = dc->out;
    if (dc->attached) {
        out->clients = g_list_remove(out->clients, dc);
        clients_changed(out);
    }
    if (dc->init_timer) {
        display_host->timer_free(dc->init_timer);
    }
    glz_sessions_leave(display_glz_sessions(out->plugin), dc->glz);
    cache_clear(dc);
    g_hash_table_unref(dc->cache);
    g_array_unref(dc->evicted);
    g_queue_clear_full(&dc->items, (GDestroyNotify)item_free);
    dc->queued_image_bytes = 0;
    pixman_region32_fini(&dc->dirty);
    pixman_region32_fini(&dc->lossless);
    display_host->channel_client_set_data(cc, NULL);
    g_free(dc);
}

static int handle_init(DisplayClient *dc, const uint8_t *body, uint32_t size)
{
    SpiceWireReader r = spice_wire_reader(body, size);
    (void)spice_wire_u8(&r); /* pixmap cache id: ids are per channel here */
    int64_t cache_size = spice_wire_i64(&r);
    (void)spice_wire_u8(&r);                 /* glz dictionary id: one dictionary per session */
    int32_t glz_window = spice_wire_i32(&r); /* pixels */
    if (r.error) {
        display_host->log(dc->out->plugin, SPICE_PLUGIN_LOG_MESSAGE,
                          "display %u: malformed DISPLAY_INIT (%u bytes)", dc->out->id, size);
        return -EINVAL;
    }
    if (dc->initialized) {
        return 0; /* a repeated INIT changes nothing */
    }
    dc->initialized = true;
    display_host->timer_cancel(dc->init_timer);
    dc->cache_enabled = cache_size > 0;
    dc->cache_budget = cache_size > 0 ? (uint64_t)cache_size : 0;
    if (glz_window > 0) {
        SpiceClient *client = display_host->channel_client_get_client(dc->cc);
        dc->glz =
            glz_sessions_join(display_glz_sessions(dc->out->plugin),
                              display_host->client_get_session_id(client), (uint64_t)glz_window);
    }
    push_item_once(dc, ITEM_INVAL_PALETTES);
    client_primary_created(dc);
    kick(dc);
    return 0;
}

/*
 * A client's STREAM_REPORT on a stream it was asked to report on: late
 * frames lower the quality and ask for more latency; the "cannot decode"
 * report (no frames, 0xffffffff drops) stops streams for that client.
 * Reports for another stream or activation, and impossible ones (more
 * drops than frames), are ignored, logged once per client.
 */
static int handle_stream_report(DisplayClient *dc, const uint8_t *body, uint32_t size)
{
    SpiceWireReader r = spice_wire_reader(body, size);
    uint32_t id = spice_wire_u32(&r), unique = spice_wire_u32(&r);
    (void)spice_wire_u32(&r); /* start frame mm time */
    (void)spice_wire_u32(&r); /* end frame mm time */
    uint32_t frames = spice_wire_u32(&r), drops = spice_wire_u32(&r);
    int32_t delay = spice_wire_i32(&r);
    (void)spice_wire_u32(&r); /* audio delay */
    if (r.error) {
        display_host->log(dc->out->plugin, SPICE_PLUGIN_LOG_MESSAGE,
                          "display %u: malformed STREAM_REPORT (%u bytes)", dc->out->id, size);
        return -EINVAL;
    }
    VideoStream *st = stream_set_get(dc->out->streams, id);
    const char *odd = NULL;
    if (!st || !dc->stream_live[id] || dc->stream_unique[id] != unique) {
        odd = "for a stream that is not there (or an old activation)";
    } else if (frames == 0 && drops == UINT32_MAX) {
        display_host->log(dc->out->plugin, SPICE_PLUGIN_LOG_MESSAGE,
                          "display %u: the client cannot decode video stream %u; it gets images "
                          "instead",
                          dc->out->id, id);
        dc->streams_refused = true;
        client_stream_end(dc, st);
        return 0;
    } else if (drops > frames) {
        odd = "with more drops than frames";
    }
    if (odd) {
        if (!dc->bad_report_logged) {
            dc->bad_report_logged = true;
            display_host->log(dc->out->plugin, SPICE_PLUGIN_LOG_MESSAGE,
                              "display %u: STREAM_REPORT %s ignored (stream %u, activation %u, "
                              "%u frames, %u drops); further ones are ignored silently",
                              dc->out->id, odd, id, unique, frames, drops);
        }
        return 0;
    }
    uint32_t latency = stream_client_report(st, frames, drops, delay, g_get_monotonic_time());
    if (latency) {
        SpiceMmLatencyRequest req = { .size = sizeof(req), .latency_ms = latency };
        SpiceClient *client = display_host->channel_client_get_client(dc->cc);
        display_host->topic_publish(dc->out->plugin, SPICE_TOPIC_MM_LATENCY,
                                    display_host->client_get_session_id(client), &req, sizeof(req),
                                    0);
        display_host->log(dc->out->plugin, SPICE_PLUGIN_LOG_INFO,
                          "display %u: video stream %u frames come late (%d ms, %u of %u "
                          "dropped): latency %u ms asked for",
                          dc->out->id, id, delay, drops, frames, latency);
    }
    return 0;
}

static int display_handle_message(SpiceChannelClient *cc, uint16_t type, const uint8_t *body,
                                  uint32_t size)
{
    DisplayClient *dc = display_host->channel_client_get_data(cc);
    SpiceWireReader r = spice_wire_reader(body, size);
    switch (type) {
    case SPICE_MSGC_DISPLAY_INIT:
        return handle_init(dc, body, size);
    case SPICE_MSGC_DISPLAY_STREAM_REPORT:
        return handle_stream_report(dc, body, size);
    case SPICE_MSGC_DISPLAY_GL_DRAW_DONE:
        /* No GL scanout is ever started. */
        return 0;
    case SPICE_MSGC_DISPLAY_PREFERRED_COMPRESSION: {
        uint8_t comp = spice_wire_u8(&r);
        if (r.error) {
            return -EINVAL;
        }
        if (comp > SPICE_IMAGE_COMPRESSION_INVALID && comp < SPICE_IMAGE_COMPRESSION_ENUM_END) {
            dc->preferred_compression = comp;
        }
        return 0;
    }
    case SPICE_MSGC_DISPLAY_PREFERRED_VIDEO_CODEC_TYPE: {
        uint8_t n = spice_wire_u8(&r);
        if (r.error || !spice_wire_bytes(&r, n)) {
            return -EINVAL;
        }
        return 0;
    }
    default:
        return -ENOTSUP;
    }
}

static const SpiceChannelOps display_ops = {
    .version = SPICE_CHANNEL_OPS_VERSION,
    .connect = display_connect,
    .disconnect = display_disconnect,
    .handle_message = display_handle_message,
    .produce = display_produce,
};

static const SpiceChannelCap display_caps[] = {
    { SPICE_DISPLAY_CAP_MONITORS_CONFIG, "MONITORS_CONFIG" },
    { SPICE_DISPLAY_CAP_PREF_COMPRESSION, "PREF_COMPRESSION" },
    { SPICE_DISPLAY_CAP_STREAM_REPORT, "STREAM_REPORT" },
};

const SpiceChannelClass display_channel_class = {
    .size = sizeof(SpiceChannelClass),
    .type = SPICE_CHANNEL_DISPLAY,
    .name = "display",
    .flags = SPICE_CHANNEL_CLASS_HANDLE_ACKS | SPICE_CHANNEL_CLASS_MULTI_INSTANCE,
    .max_message_size = DISPLAY_MAX_MESSAGE,
    .caps = display_caps,
    .n_caps = G_N_ELEMENTS(display_caps),
    .ops = &display_ops,
};

/* ---- the output's life (host thread) ---------------------------------------------------- */

static DisplayOutput *output_create(SpicePlugin *plugin, uint32_t id, SpicePluginLoop *loop,
                                    const DisplaySource *source, const char **why)
{
    DisplayOutput *out = g_new0(DisplayOutput, 1);
    out->plugin = plugin;
    out->id = id;
    out->loop = loop;
    out->source = source;
    out->streams = stream_set_new();
    out->channel = display_host->channel_register(plugin, &display_channel_class, (uint8_t)id, out);
    if (!out->channel) {
        *why = "a display channel with this id exists already";
        stream_set_free(out->streams);
        g_free(out);
        return NULL;
    }
    return out;
}

static void output_close(DisplayOutput *out)
{
    display_host->channel_unregister(out->channel);
}

static void output_free(DisplayOutput *out)
{
    /* Streams ended with the primary, on the worker (their timer too). */
    stream_set_free(out->streams);
    g_free(out);
}

const DisplayOutputOps display_channel_output = {
    .create = output_create,
    .close = output_close,
    .free = output_free,
    .damage = output_damage,
    .image = output_image,
    .copy_bits = output_copy_bits,
    .primary_created = output_primary_created,
    .primary_destroyed = output_primary_destroyed,
    .monitors_changed = output_monitors_changed,
    .reset_caches = output_reset_caches,
    .reset = output_reset,
    .kick = output_kick,
};
