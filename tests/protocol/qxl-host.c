/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qxl-host.c: the test QXL device (see qxl-host.h).
 */
#include "qxl-host.h"

#include <string.h>

#include <spice/enums.h>

typedef struct QueuedCmd {
    QXLCommandExt ext;
    uint64_t id; /* 0: not tracked */
} QueuedCmd;

struct QxlHost {
    QXLInstance qxl; /* first: the callbacks cast back */
    QXLInterface iface;
    GThread *main_thread;

    uint8_t *mem;
    size_t used; /* bump allocator from the bottom ... */
    size_t top;  /* ... and from the top */
    uint32_t generation;
    uint64_t next_id;

    GMutex lock;        /* everything below */
    GQueue ring;        /* QueuedCmd* */
    GQueue cursor_ring; /* QueuedCmd* */
    bool cmd_notify;
    bool cursor_notify;
    guint stats[QXL_STAT_COUNT];
    GHashTable *issued;      /* id -> GUINT group */
    GHashTable *handed;      /* id -> 1 */
    GHashTable *released;    /* id -> count */
    GHashTable *release_seq; /* id -> 1 + number of releases before its first */
    GHashTable *cookies;     /* cookie -> count (cookies are small integers) */
    GHashTable *queued_at;   /* cookie -> 1 + commands on the rings when it completed */
    GThread *worker;
    bool wrong_thread;
    bool wrong_group;
    uint64_t unknown_release; /* first id released that was never handed, or 0 */
    uint32_t last_update_id;
    QXLRect last_updated;
    uint32_t last_updated_surface;
    uint32_t last_updated_n;
    int compression_level;
    void (*on_attach)(QxlHost *h, void *opaque); /* called from attache_worker */
    void *on_attach_opaque;
};

static QxlHost *host_of(QXLInstance *qin)
{
    return (QxlHost *)qin;
}

static guint table_get(GHashTable *t, uint64_t key)
{
    gpointer v;
    return g_hash_table_lookup_extended(t, &key, NULL, &v) ? GPOINTER_TO_UINT(v) : 0;
}

static void table_set(GHashTable *t, uint64_t key, guint value)
{
    g_hash_table_insert(t, g_memdup2(&key, sizeof(key)), GUINT_TO_POINTER(value));
}

static GHashTable *table_new(void)
{
    return g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
}

/* Callbacks that the worker thread makes: note when another thread does. */
static void on_worker(QxlHost *h)
{
    GThread *self = g_thread_self();
    if (!h->worker) {
        h->worker = self;
    }
    if (self != h->worker || self == h->main_thread) {
        h->wrong_thread = true;
    }
}

/* ---- QXLInterface ---------------------------------------------------------- */

static void cb_attache_worker(QXLInstance *qin, QXLWorker *qxl_worker)
{
    QxlHost *h = host_of(qin);
    (void)qxl_worker;
    g_mutex_lock(&h->lock);
    h->stats[QXL_STAT_ATTACHE_WORKER]++;
    g_mutex_unlock(&h->lock);
    if (h->on_attach) {
        h->on_attach(h, h->on_attach_opaque);
    }
}

static void cb_set_compression_level(QXLInstance *qin, int level)
{
    QxlHost *h = host_of(qin);
    g_mutex_lock(&h->lock);
    h->stats[QXL_STAT_SET_COMPRESSION]++;
    h->compression_level = level;
    g_mutex_unlock(&h->lock);
}

static void cb_set_mm_time(QXLInstance *qin, uint32_t mm_time)
{
    (void)qin;
    (void)mm_time;
}

static void cb_get_init_info(QXLInstance *qin, QXLDevInitInfo *info)
{
    QxlHost *h = host_of(qin);
    g_mutex_lock(&h->lock);
    h->stats[QXL_STAT_GET_INIT_INFO]++;
    g_mutex_unlock(&h->lock);
    memset(info, 0, sizeof(*info));
    info->num_memslots_groups = 1;
    info->num_memslots = QXL_HOST_N_SLOTS;
    info->memslot_gen_bits = QXL_HOST_GEN_BITS;
    info->memslot_id_bits = QXL_HOST_ID_BITS;
    info->qxl_ram_size = QXL_HOST_MEM_SIZE;
    info->internal_groupslot_id = 0;
    info->n_surfaces = QXL_HOST_N_SURFACES;
}

static int take(QxlHost *h, GQueue *ring, QxlStat stat, QXLCommandExt *cmd)
{
    g_mutex_lock(&h->lock);
    on_worker(h);
    h->stats[stat]++;
    QueuedCmd *q = g_queue_pop_head(ring);
    int got = q != NULL;
    if (q) {
        *cmd = q->ext;
        if (q->id) {
            table_set(h->handed, q->id, 1);
        }
    }
    g_mutex_unlock(&h->lock);
    g_free(q);
    return got;
}

static int cb_get_command(QXLInstance *qin, QXLCommandExt *cmd)
{
    QxlHost *h = host_of(qin);
    return take(h, &h->ring, QXL_STAT_GET_COMMAND, cmd);
}

static int cb_get_cursor_command(QXLInstance *qin, QXLCommandExt *cmd)
{
    QxlHost *h = host_of(qin);
    return take(h, &h->cursor_ring, QXL_STAT_GET_CURSOR_COMMAND, cmd);
}

/* As QEMU: 0 when commands are waiting, else remember to ring the bell. */
static int request(QxlHost *h, GQueue *ring, bool *notify, QxlStat stat)
{
    g_mutex_lock(&h->lock);
    on_worker(h);
    h->stats[stat]++;
    int wait = g_queue_is_empty(ring);
    *notify = wait;
    g_mutex_unlock(&h->lock);
    return wait;
}

static int cb_req_cmd_notification(QXLInstance *qin)
{
    QxlHost *h = host_of(qin);
    return request(h, &h->ring, &h->cmd_notify, QXL_STAT_REQ_CMD_NOTIFICATION);
}

static int cb_req_cursor_notification(QXLInstance *qin)
{
    QxlHost *h = host_of(qin);
    return request(h, &h->cursor_ring, &h->cursor_notify, QXL_STAT_REQ_CURSOR_NOTIFICATION);
}

static void cb_release_resource(QXLInstance *qin, struct QXLReleaseInfoExt release_info)
{
    QxlHost *h = host_of(qin);
    g_mutex_lock(&h->lock);
    on_worker(h);
    h->stats[QXL_STAT_RELEASE]++;
    uint64_t id = release_info.info ? release_info.info->id : 0;
    if (!table_get(h->handed, id) && !h->unknown_release) {
        h->unknown_release = id ? id : UINT64_MAX;
    }
    gpointer group;
    if (g_hash_table_lookup_extended(h->issued, &id, NULL, &group) &&
        GPOINTER_TO_UINT(group) != release_info.group_id) {
        h->wrong_group = true;
    }
    table_set(h->released, id, table_get(h->released, id) + 1);
    if (!table_get(h->release_seq, id)) {
        table_set(h->release_seq, id, h->stats[QXL_STAT_RELEASE]);
    }
    g_mutex_unlock(&h->lock);
}

static void cb_notify_update(QXLInstance *qin, uint32_t update_id)
{
    QxlHost *h = host_of(qin);
    g_mutex_lock(&h->lock);
    on_worker(h);
    h->stats[QXL_STAT_NOTIFY_UPDATE]++;
    h->last_update_id = update_id;
    g_mutex_unlock(&h->lock);
}

static int cb_flush_resources(QXLInstance *qin)
{
    QxlHost *h = host_of(qin);
    g_mutex_lock(&h->lock);
    on_worker(h);
    h->stats[QXL_STAT_FLUSH_RESOURCES]++;
    g_mutex_unlock(&h->lock);
    return 0;
}

static void cb_async_complete(QXLInstance *qin, uint64_t cookie)
{
    QxlHost *h = host_of(qin);
    g_mutex_lock(&h->lock);
    on_worker(h);
    h->stats[QXL_STAT_ASYNC_COMPLETE]++;
    table_set(h->cookies, cookie, table_get(h->cookies, cookie) + 1);
    table_set(h->queued_at, cookie, 1 + h->ring.length + h->cursor_ring.length);
    g_mutex_unlock(&h->lock);
}

static void cb_update_area_complete(QXLInstance *qin, uint32_t surface_id,
                                    struct QXLRect *updated_rects, uint32_t num_updated_rects)
{
    QxlHost *h = host_of(qin);
    g_mutex_lock(&h->lock);
    on_worker(h);
    h->stats[QXL_STAT_UPDATE_AREA_COMPLETE]++;
    h->last_updated_surface = surface_id;
    h->last_updated_n = num_updated_rects;
    memset(&h->last_updated, 0, sizeof(h->last_updated));
    if (num_updated_rects > 0) {
        h->last_updated = updated_rects[0];
    }
    g_mutex_unlock(&h->lock);
}

static void cb_set_client_capabilities(QXLInstance *qin, uint8_t client_present,
                                       uint8_t caps[SPICE_CAPABILITIES_SIZE])
{
    QxlHost *h = host_of(qin);
    (void)client_present;
    (void)caps;
    g_mutex_lock(&h->lock);
    h->stats[QXL_STAT_CLIENT_CAPS]++;
    g_mutex_unlock(&h->lock);
}

static int cb_client_monitors_config(QXLInstance *qin, VDAgentMonitorsConfig *monitors_config)
{
    QxlHost *h = host_of(qin);
    g_mutex_lock(&h->lock);
    h->stats[QXL_STAT_CLIENT_MONITORS_CONFIG]++;
    g_mutex_unlock(&h->lock);
    /* Like QEMU's qxl: supported; a config is accepted. */
    (void)monitors_config;
    return 1;
}

/* ---- lifecycle ----------------------------------------------------------------------- */

void qxl_host_on_attach(QxlHost *h, void (*fn)(QxlHost *h, void *opaque), void *opaque)
{
    h->on_attach = fn;
    h->on_attach_opaque = opaque;
}

void qxl_host_without_async_complete(QxlHost *h)
{
    h->iface.async_complete = NULL;
}

QxlHost *qxl_host_new(int id, unsigned major, unsigned minor)
{
    QxlHost *h = g_new0(QxlHost, 1);
    h->iface.base.type = SPICE_INTERFACE_QXL;
    h->iface.base.description = "test qxl";
    h->iface.base.major_version = major;
    h->iface.base.minor_version = minor;
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    h->iface.attache_worker = cb_attache_worker;
    h->iface.set_mm_time = cb_set_mm_time;
    G_GNUC_END_IGNORE_DEPRECATIONS
    h->iface.set_compression_level = cb_set_compression_level;
    h->iface.get_init_info = cb_get_init_info;
    h->iface.get_command = cb_get_command;
    h->iface.req_cmd_notification = cb_req_cmd_notification;
    h->iface.release_resource = cb_release_resource;
    h->iface.get_cursor_command = cb_get_cursor_command;
    h->iface.req_cursor_notification = cb_req_cursor_notification;
    h->iface.notify_update = cb_notify_update;
    h->iface.flush_resources = cb_flush_resources;
    h->iface.async_complete = cb_async_complete;
    h->iface.update_area_complete = cb_update_area_complete;
    h->iface.set_client_capabilities = cb_set_client_capabilities;
    h->iface.client_monitors_config = cb_client_monitors_config;
    h->qxl.base.sif = &h->iface.base;
    h->qxl.id = id;
    h->main_thread = g_thread_self();
    h->mem = g_malloc0(QXL_HOST_MEM_SIZE);
    h->used = 64;
    h->top = QXL_HOST_MEM_SIZE;
    h->generation = 1;
    h->next_id = 0x1000u * (guint)(id + 1);
    h->compression_level = -1;
    g_mutex_init(&h->lock);
    g_queue_init(&h->ring);
    g_queue_init(&h->cursor_ring);
    h->issued = table_new();
    h->handed = table_new();
    h->released = table_new();
    h->release_seq = table_new();
    h->cookies = table_new();
    h->queued_at = table_new();
    return h;
}

void qxl_host_free(QxlHost *h)
{
    if (!h) {
        return;
    }
    g_queue_clear_full(&h->ring, g_free);
    g_queue_clear_full(&h->cursor_ring, g_free);
    g_hash_table_unref(h->issued);
    g_hash_table_unref(h->handed);
    g_hash_table_unref(h->released);
    g_hash_table_unref(h->release_seq);
    g_hash_table_unref(h->cookies);
    g_hash_table_unref(h->queued_at);
    g_mutex_clear(&h->lock);
    g_free(h->mem);
    g_free(h);
}

QXLInstance *qxl_host_instance(QxlHost *h)
{
    return &h->qxl;
}

SpiceBaseInstance *qxl_host_base(QxlHost *h)
{
    return &h->qxl.base;
}

QXLDevMemSlot qxl_host_memslot(QxlHost *h)
{
    QXLDevMemSlot slot = {
        .slot_group_id = QXL_HOST_GROUP,
        .slot_id = QXL_HOST_SLOT,
        .generation = h->generation,
        .virt_start = (uintptr_t)h->mem,
        .virt_end = (uintptr_t)h->mem + QXL_HOST_MEM_SIZE,
        .addr_delta = (uintptr_t)h->mem,
        .qxl_ram_size = QXL_HOST_MEM_SIZE,
    };
    return slot;
}

void qxl_host_set_generation(QxlHost *h, uint32_t generation)
{
    h->generation = generation;
}

/* ---- memory ------------------------------------------------------------------------- */

void *qxl_host_alloc(QxlHost *h, size_t size)
{
    size_t start = (h->used + 15) & ~(size_t)15;
    g_assert_cmpuint(size, <=, h->top - start);
    h->used = start + size;
    memset(h->mem + start, 0, size);
    return h->mem + start;
}

void *qxl_host_alloc_at_end(QxlHost *h, size_t size)
{
    g_assert_cmpuint(size, <=, h->top - h->used);
    h->top -= size;
    memset(h->mem + h->top, 0, size);
    return h->mem + h->top;
}

uint8_t *qxl_host_mem(QxlHost *h)
{
    return h->mem;
}

QXLPHYSICAL qxl_host_addr(uint32_t slot, uint32_t generation, uint64_t offset)
{
    return (uint64_t)slot << (64 - QXL_HOST_ID_BITS) |
           (uint64_t)generation << (64 - QXL_HOST_ID_BITS - QXL_HOST_GEN_BITS) | offset;
}

QXLPHYSICAL qxl_host_phys(QxlHost *h, const void *p)
{
    const uint8_t *b = p;
    g_assert_true(b >= h->mem && b <= h->mem + QXL_HOST_MEM_SIZE);
    return qxl_host_addr(QXL_HOST_SLOT, h->generation, (uint64_t)(b - h->mem));
}

/* ---- commands ------------------------------------------------------------------------ */

uint64_t qxl_host_issue_id(QxlHost *h)
{
    uint64_t id = ++h->next_id;
    g_mutex_lock(&h->lock);
    table_set(h->issued, id, QXL_HOST_GROUP);
    g_mutex_unlock(&h->lock);
    return id;
}

void *qxl_host_cmd_alloc(QxlHost *h, size_t size)
{
    g_assert_cmpuint(size, >=, sizeof(QXLReleaseInfo));
    QXLReleaseInfo *info = qxl_host_alloc(h, size);
    info->id = qxl_host_issue_id(h);
    return info;
}

uint64_t qxl_host_cmd_id(const void *cmd)
{
    QXLReleaseInfo info;
    memcpy(&info, cmd, sizeof(info));
    return info.id;
}

static void enqueue(QxlHost *h, bool cursor, QXLCommandExt ext, uint64_t id)
{
    QueuedCmd *q = g_new0(QueuedCmd, 1);
    q->ext = ext;
    q->id = id;
    g_mutex_lock(&h->lock);
    g_queue_push_tail(cursor ? &h->cursor_ring : &h->ring, q);
    bool *notify = cursor ? &h->cursor_notify : &h->cmd_notify;
    bool wake = *notify;
    *notify = false;
    g_mutex_unlock(&h->lock);
    /* Outside the lock: the worker takes it in get_command. */
    if (wake) {
        spice_qxl_wakeup(&h->qxl);
    }
}

static uint64_t push(QxlHost *h, uint32_t type, void *cmd, bool cursor)
{
    uint64_t id = qxl_host_cmd_id(cmd);
    QXLCommandExt ext = { .cmd = { .data = qxl_host_phys(h, cmd), .type = type },
                          .group_id = QXL_HOST_GROUP };
    enqueue(h, cursor, ext, id);
    return id;
}

uint64_t qxl_host_push(QxlHost *h, uint32_t type, void *cmd)
{
    return push(h, type, cmd, false);
}

uint64_t qxl_host_push_cursor(QxlHost *h, void *cmd)
{
    return push(h, QXL_CMD_CURSOR, cmd, true);
}

void qxl_host_push_raw(QxlHost *h, uint32_t type, QXLPHYSICAL addr, uint32_t group)
{
    QXLCommandExt ext = { .cmd = { .data = addr, .type = type }, .group_id = group };
    enqueue(h, false, ext, 0);
}

void qxl_host_mark_handed(QxlHost *h, uint64_t id)
{
    g_mutex_lock(&h->lock);
    table_set(h->handed, id, 1);
    g_mutex_unlock(&h->lock);
}

/* ---- builders ------------------------------------------------------------------------ */

QXLDrawable *qxl_host_drawable(QxlHost *h, uint32_t surface_id, uint8_t type, QXLRect bbox)
{
    QXLDrawable *d = qxl_host_cmd_alloc(h, sizeof(QXLDrawable));
    d->surface_id = surface_id;
    d->effect = QXL_EFFECT_OPAQUE;
    d->type = type;
    d->bbox = bbox;
    d->clip.type = SPICE_CLIP_TYPE_NONE;
    for (int i = 0; i < 3; i++) {
        d->surfaces_dest[i] = -1;
    }
    return d;
}

QXLDrawable *qxl_host_fill_cmd(QxlHost *h, uint32_t surface_id, QXLRect r, uint32_t color)
{
    QXLDrawable *d = qxl_host_drawable(h, surface_id, QXL_DRAW_FILL, r);
    d->u.fill.brush.type = SPICE_BRUSH_TYPE_SOLID;
    d->u.fill.brush.u.color = color;
    d->u.fill.rop_descriptor = SPICE_ROPD_OP_PUT;
    return d;
}

uint64_t qxl_host_push_fill(QxlHost *h, uint32_t surface_id, QXLRect r, uint32_t color)
{
    return qxl_host_push(h, QXL_CMD_DRAW, qxl_host_fill_cmd(h, surface_id, r, color));
}

QXLImage *qxl_host_bitmap32(QxlHost *h, uint32_t w, uint32_t hh, const uint32_t *px, bool chunked)
{
    QXLImage *img = qxl_host_alloc(h, sizeof(QXLImage));
    img->descriptor.type = SPICE_IMAGE_TYPE_BITMAP;
    img->descriptor.width = w;
    img->descriptor.height = hh;
    img->bitmap.format = SPICE_BITMAP_FMT_32BIT;
    img->bitmap.x = w;
    img->bitmap.y = hh;
    img->bitmap.stride = w * 4;
    size_t row = (size_t)w * 4;
    if (!chunked) {
        img->bitmap.flags = QXL_BITMAP_DIRECT | QXL_BITMAP_TOP_DOWN;
        uint8_t *data = qxl_host_alloc(h, row * hh);
        memcpy(data, px, row * hh);
        img->bitmap.data = qxl_host_phys(h, data);
        return img;
    }
    /* Bottom-up rows in two chunks: the first holds the bottom half. */
    uint32_t first_rows = hh / 2 ? hh / 2 : hh;
    QXLDataChunk *c[2] = { NULL, NULL };
    uint32_t rows[2] = { first_rows, hh - first_rows };
    uint32_t y = hh;
    for (int i = 0; i < 2 && rows[i]; i++) {
        c[i] = qxl_host_alloc(h, sizeof(QXLDataChunk) + row * rows[i]);
        c[i]->data_size = (uint32_t)(row * rows[i]);
        for (uint32_t r = 0; r < rows[i]; r++) {
            y--;
            memcpy(c[i]->data + r * row, px + (size_t)y * w, row);
        }
    }
    if (c[1]) {
        c[0]->next_chunk = qxl_host_phys(h, c[1]);
        c[1]->prev_chunk = qxl_host_phys(h, c[0]);
    }
    img->bitmap.data = qxl_host_phys(h, c[0]);
    return img;
}

QXLImage *qxl_host_surface_image(QxlHost *h, uint32_t surface_id, uint32_t w, uint32_t hh)
{
    QXLImage *img = qxl_host_alloc(h, sizeof(QXLImage));
    img->descriptor.type = SPICE_IMAGE_TYPE_SURFACE;
    img->descriptor.width = w;
    img->descriptor.height = hh;
    img->surface_image.surface_id = surface_id;
    return img;
}

QXLDrawable *qxl_host_copy_cmd(QxlHost *h, uint32_t surface_id, QXLRect bbox, QXLImage *src,
                               QXLRect src_area)
{
    QXLDrawable *d = qxl_host_drawable(h, surface_id, QXL_DRAW_COPY, bbox);
    d->u.copy.src_bitmap = qxl_host_phys(h, src);
    d->u.copy.src_area = src_area;
    d->u.copy.rop_descriptor = SPICE_ROPD_OP_PUT;
    d->u.copy.scale_mode = SPICE_IMAGE_SCALE_MODE_NEAREST;
    return d;
}

QXLSurfaceCmd *qxl_host_surface_cmd(QxlHost *h, uint32_t surface_id, uint8_t type)
{
    QXLSurfaceCmd *c = qxl_host_cmd_alloc(h, sizeof(QXLSurfaceCmd));
    c->surface_id = surface_id;
    c->type = type;
    return c;
}

QXLSurfaceCmd *qxl_host_surface_create_cmd(QxlHost *h, uint32_t surface_id, uint32_t w, uint32_t hh,
                                           uint32_t flags, uint8_t fill, uint8_t **data)
{
    uint8_t *mem = qxl_host_alloc(h, (size_t)w * 4 * hh);
    memset(mem, fill, (size_t)w * 4 * hh);
    QXLSurfaceCmd *c = qxl_host_surface_cmd(h, surface_id, QXL_SURFACE_CMD_CREATE);
    c->flags = flags;
    c->u.surface_create.format = SPICE_SURFACE_FMT_32_xRGB;
    c->u.surface_create.width = w;
    c->u.surface_create.height = hh;
    c->u.surface_create.stride = (int32_t)(w * 4);
    c->u.surface_create.data = qxl_host_phys(h, mem);
    if (data) {
        *data = mem;
    }
    return c;
}

QXLCursorCmd *qxl_host_cursor_cmd(QxlHost *h, uint8_t type)
{
    QXLCursorCmd *c = qxl_host_cmd_alloc(h, sizeof(QXLCursorCmd));
    c->type = type;
    return c;
}

QXLCursor *qxl_host_cursor_shape(QxlHost *h, uint16_t w, uint16_t hh)
{
    uint32_t size = (uint32_t)w * hh * 4;
    QXLCursor *c = qxl_host_alloc(h, sizeof(QXLCursor) + size);
    c->header.unique = 0x5eed;
    c->header.type = SPICE_CURSOR_TYPE_ALPHA;
    c->header.width = w;
    c->header.height = hh;
    c->data_size = size;
    c->chunk.data_size = size;
    memset(c->chunk.data, 0x80, size);
    return c;
}

uint8_t *qxl_host_primary(QxlHost *h, uint32_t w, uint32_t hh, bool bottom_up, uint8_t fill,
                          QXLDevSurfaceCreate *out)
{
    uint8_t *mem = qxl_host_alloc(h, (size_t)w * 4 * hh);
    memset(mem, fill, (size_t)w * 4 * hh);
    memset(out, 0, sizeof(*out));
    out->width = w;
    out->height = hh;
    out->stride = bottom_up ? -(int32_t)(w * 4) : (int32_t)(w * 4);
    out->format = SPICE_SURFACE_FMT_32_xRGB;
    out->mouse_mode = 1;
    out->type = QXL_SURF_TYPE_PRIMARY;
    out->mem = qxl_host_phys(h, mem);
    out->group_id = QXL_HOST_GROUP;
    return mem;
}

uint32_t qxl_host_pixel(const uint8_t *base, int32_t stride, uint32_t height, uint32_t x,
                        uint32_t y)
{
    size_t abs_stride = stride < 0 ? (size_t) - (int64_t)stride : (size_t)stride;
    size_t mem_row = stride < 0 ? height - 1 - y : y;
    uint32_t v;
    memcpy(&v, base + mem_row * abs_stride + (size_t)x * 4, sizeof(v));
    return v;
}

/* ---- observations -------------------------------------------------------------------- */

guint qxl_host_stat(QxlHost *h, QxlStat stat)
{
    g_mutex_lock(&h->lock);
    guint v = h->stats[stat];
    g_mutex_unlock(&h->lock);
    return v;
}

guint qxl_host_released(QxlHost *h, uint64_t id)
{
    g_mutex_lock(&h->lock);
    guint v = table_get(h->released, id);
    g_mutex_unlock(&h->lock);
    return v;
}

guint qxl_host_release_seq(QxlHost *h, uint64_t id)
{
    g_mutex_lock(&h->lock);
    guint v = table_get(h->release_seq, id);
    g_mutex_unlock(&h->lock);
    return v;
}

bool qxl_host_handed(QxlHost *h, uint64_t id)
{
    g_mutex_lock(&h->lock);
    bool v = table_get(h->handed, id) != 0;
    g_mutex_unlock(&h->lock);
    return v;
}

guint qxl_host_cookie(QxlHost *h, uint64_t cookie)
{
    g_mutex_lock(&h->lock);
    guint v = table_get(h->cookies, cookie);
    g_mutex_unlock(&h->lock);
    return v;
}

int qxl_host_queued_at_complete(QxlHost *h, uint64_t cookie)
{
    g_mutex_lock(&h->lock);
    int v = (int)table_get(h->queued_at, cookie) - 1;
    g_mutex_unlock(&h->lock);
    return v;
}

guint qxl_host_queued(QxlHost *h)
{
    g_mutex_lock(&h->lock);
    guint v = h->ring.length + h->cursor_ring.length;
    g_mutex_unlock(&h->lock);
    return v;
}

GThread *qxl_host_worker_thread(QxlHost *h)
{
    g_mutex_lock(&h->lock);
    GThread *t = h->worker;
    g_mutex_unlock(&h->lock);
    return t;
}

uint32_t qxl_host_last_update_id(QxlHost *h)
{
    g_mutex_lock(&h->lock);
    uint32_t v = h->last_update_id;
    g_mutex_unlock(&h->lock);
    return v;
}

QXLRect qxl_host_last_updated(QxlHost *h, uint32_t *surface_id, uint32_t *n)
{
    g_mutex_lock(&h->lock);
    QXLRect r = h->last_updated;
    *surface_id = h->last_updated_surface;
    *n = h->last_updated_n;
    g_mutex_unlock(&h->lock);
    return r;
}

int qxl_host_compression_level(QxlHost *h)
{
    g_mutex_lock(&h->lock);
    int v = h->compression_level;
    g_mutex_unlock(&h->lock);
    return v;
}

void qxl_host_check_releases(QxlHost *h, bool all_handed)
{
    g_mutex_lock(&h->lock);
    uint64_t unknown = h->unknown_release;
    bool wrong_thread = h->wrong_thread, wrong_group = h->wrong_group;
    uint64_t twice = 0, never = 0;
    GHashTableIter it;
    gpointer key, value;
    g_hash_table_iter_init(&it, h->released);
    while (g_hash_table_iter_next(&it, &key, &value)) {
        if (GPOINTER_TO_UINT(value) > 1 && !twice) {
            twice = *(uint64_t *)key;
        }
    }
    g_hash_table_iter_init(&it, h->handed);
    while (all_handed && g_hash_table_iter_next(&it, &key, &value)) {
        if (!table_get(h->released, *(uint64_t *)key) && !never) {
            never = *(uint64_t *)key;
        }
    }
    g_mutex_unlock(&h->lock);
    if (unknown) {
        g_test_message("release of id %#" G_GINT64_MODIFIER "x that was never handed over",
                       unknown);
    }
    g_assert_cmphex(unknown, ==, 0);
    if (twice) {
        g_test_message("id %#" G_GINT64_MODIFIER "x released more than once", twice);
    }
    g_assert_cmphex(twice, ==, 0);
    if (never) {
        g_test_message("id %#" G_GINT64_MODIFIER "x handed over but never released", never);
    }
    g_assert_cmphex(never, ==, 0);
    g_assert_false(wrong_thread);
    g_assert_false(wrong_group);
}

/* ---- waiting -------------------------------------------------------------------------- */

void qxl_host_pump(void)
{
    g_main_context_iteration(NULL, FALSE);
    g_usleep(1000);
}

void qxl_host_pump_for(unsigned ms)
{
    gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;
    while (g_get_monotonic_time() < end) {
        qxl_host_pump();
    }
}
