/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qxl-worker.c: one worker thread per QXL instance.
 *
 * The worker pulls commands from the host's rings in bounded batches
 * (get_command until empty, then req_cmd_notification, which either asks
 * for a spice_qxl_wakeup() or says commands arrived meanwhile), parses
 * each one out of guest memory, renders drawing commands into their
 * surface right away, releases every command exactly once, and tells the
 * display clients what changed. Rendering as commands arrive keeps every
 * surface current: update_area has nothing left to do, and a client that
 * connects late is sent the surface as it is.
 *
 * spice_qxl_* calls arrive on the host's thread and are posted to this
 * thread in order; synchronous ones wait, asynchronous ones end with
 * exactly one async_complete(cookie) from this thread.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <spice/enums.h>

#include "display.h"

#define MAX_BATCH_COMMANDS 64
#define MAX_BATCH_US       10000
#define MAX_FLUSH_US       2000000
#define MAX_SURFACES       10000u

/* ---- helpers --------------------------------------------------------------------- */

static void worker_warn(QxlWorker *w, const char *what, const char *why)
{
    /* A misbehaving guest must not flood the log: the first few, then one
     * in a thousand. */
    unsigned n = w->warnings++;
    if (n < 20 || n % 1000 == 0) {
        display_host->log(w->dp->plugin, SPICE_PLUGIN_LOG_WARNING, "display %u: %s: %s%s", w->id,
                          what, why, n == 19 ? " (further warnings are rate-limited)" : "");
    }
}

static void release(QxlWorker *w, QXLReleaseInfo *info, uint32_t group)
{
    if (!info) {
        return;
    }
    QXLReleaseInfoExt ext = { .info = info, .group_id = group };
    w->qif->release_resource(w->qxl, ext);
}

/* Hosts that never call an *_async entry point may leave async_complete
 * NULL (the reference accepts that); one that does call them gets its
 * work done and a log line that the completion has nowhere to go. */
static void async_complete(QxlWorker *w, uint64_t cookie)
{
    if (w->qif->async_complete) {
        w->qif->async_complete(w->qxl, cookie);
    } else if (g_atomic_int_compare_and_exchange(&w->async_refusal_logged, 0, 1)) {
        display_host->log(w->dp->plugin, SPICE_PLUGIN_LOG_WARNING,
                          "display %u: an *_async call finished, but the host's QXL interface "
                          "has no async_complete to report it to",
                          w->id);
    }
}

static Canvas *lookup_surface(void *opaque, uint32_t id)
{
    QxlWorker *w = opaque;
    if (id >= w->n_surfaces || !w->surfaces[id].exists) {
        return NULL;
    }
    return w->surfaces[id].canvas;
}

/* A fact (retained) or an event about this display on one of the
 * display topics (spice-plugin.h); the key is the display id. */
static void publish(QxlWorker *w, const char *topic, const void *data, uint32_t size,
                    uint32_t flags)
{
    display_host->topic_publish(w->dp->plugin, topic, w->id, data, size, flags);
}

Surface *qxl_worker_primary(QxlWorker *w)
{
    Surface *s = &w->surfaces[0];
    return s->exists && s->primary ? s : NULL;
}

/* Without monitors from the guest driver, one monitor covers the primary. */
static void monitors_from_primary(QxlWorker *w)
{
    Surface *s = qxl_worker_primary(w);
    memset(&w->monitors, 0, sizeof(w->monitors));
    w->driver_monitors = false;
    if (s) {
        w->monitors.count = 1;
        w->monitors.max_allowed = 1;
        w->monitors.heads[0].width = s->width;
        w->monitors.heads[0].height = s->height;
    }
}

/* ---- surfaces ---------------------------------------------------------------------- */

static void destroy_surface(QxlWorker *w, uint32_t id)
{
    Surface *s = &w->surfaces[id];
    if (!s->exists) {
        return;
    }
    bool primary = s->primary;
    canvas_free(s->canvas);
    release(w, s->release, s->release_group);
    memset(s, 0, sizeof(*s));
    if (primary) {
        SpicePrimaryInfo info = { .size = sizeof(info) };
        publish(w, SPICE_TOPIC_PRIMARY, &info, sizeof(info), SPICE_TOPIC_RETAIN);
        display_clients_primary_destroyed(w);
        monitors_from_primary(w);
    }
}

static void destroy_all_surfaces(QxlWorker *w)
{
    for (uint32_t i = 0; i < w->n_surfaces; i++) {
        destroy_surface(w, i);
    }
}

static bool create_surface(QxlWorker *w, uint32_t id, uint32_t format, uint32_t width,
                           uint32_t height, int32_t stride, uint8_t *row0, bool primary)
{
    Canvas *c = canvas_new(format, width, height, stride, row0);
    if (!c) {
        worker_warn(w, "surface not created", "the renderer cannot use its format or size");
        return false;
    }
    Surface *s = &w->surfaces[id];
    s->exists = true;
    s->primary = primary;
    s->format = format;
    s->width = width;
    s->height = height;
    s->stride = stride;
    s->row0 = row0;
    s->canvas = c;
    return true;
}

/* ---- commands ---------------------------------------------------------------------- */

static ParseContext parse_context(QxlWorker *w, uint32_t group, uint32_t flags)
{
    ParseContext ctx = {
        .slots = &w->slots,
        .group = group,
        .n_surfaces = w->n_surfaces,
        .compat = (flags & QXL_COMMAND_FLAG_COMPAT) != 0,
        .compat_16bpp = (flags & QXL_COMMAND_FLAG_COMPAT_16BPP) != 0,
    };
    return ctx;
}

/* The pixels a drawable may have changed on its surface. */
static void drawable_damage(const Drawable *d, const Surface *s, pixman_region32_t *out)
{
    pixman_region32_init_rect(out, 0, 0, s->width, s->height);
    /* Clamp first: the guest's box may span the whole int32 range. */
    int32_t x1 = MAX(d->bbox.x1, 0), y1 = MAX(d->bbox.y1, 0);
    int32_t x2 = MIN(d->bbox.x2, (int32_t)s->width), y2 = MIN(d->bbox.y2, (int32_t)s->height);
    pixman_region32_t tmp;
    pixman_region32_init_rect(&tmp, x1, y1, x2 > x1 ? (unsigned)(x2 - x1) : 0,
                              y2 > y1 ? (unsigned)(y2 - y1) : 0);
    pixman_region32_intersect(out, out, &tmp);
    pixman_region32_fini(&tmp);
    if (d->clip) {
        pixman_region32_init_rects(&tmp, d->clip_rects, (int)d->n_clip_rects);
        pixman_region32_intersect(out, out, &tmp);
        pixman_region32_fini(&tmp);
    }
}

/* Whether the drawable alone decides every pixel of its bbox: an
 * unmasked, unclipped copy of an image. */
static bool covers_bbox(const Drawable *d)
{
    return d->type == QXL_DRAW_COPY && !d->clip && !d->self_bitmap && d->u.copy.src &&
           d->u.copy.rop == SPICE_ROPD_OP_PUT && !d->u.copy.mask.bitmap;
}

static void process_draw(QxlWorker *w, const QXLCommandExt *ext)
{
    ParseContext ctx = parse_context(w, ext->group_id, ext->flags);
    QXLReleaseInfo *rel;
    const char *why;
    ParsedDrawable *pd = qxl_parse_drawable(&ctx, ext->cmd.data, &rel, &why);
    if (!pd) {
        worker_warn(w, "drawing command dropped", why);
        release(w, rel, ext->group_id);
        return;
    }
    const Drawable *d = &pd->d;
    Surface *s = &w->surfaces[d->surface_id];
    if (!s->exists) {
        worker_warn(w, "drawing command dropped", "its surface does not exist");
    } else if (d->type == QXL_DRAW_NOP) {
        /* nothing */
    } else if (!canvas_draw(s->canvas, d, lookup_surface, w, &why)) {
        worker_warn(w, "drawing command not rendered", why);
    } else if (s->primary) {
        if (d->type == QXL_COPY_BITS && !d->clip) {
            pixman_box32_t box = d->bbox;
            box.x1 = MAX(box.x1, 0);
            box.y1 = MAX(box.y1, 0);
            box.x2 = MIN(box.x2, (int32_t)s->width);
            box.y2 = MIN(box.y2, (int32_t)s->height);
            /* 64-bit: the guest's numbers may be anything. */
            int64_t sx = (int64_t)d->u.copy_bits.src_pos.x + box.x1 - d->bbox.x1;
            int64_t sy = (int64_t)d->u.copy_bits.src_pos.y + box.y1 - d->bbox.y1;
            if (box.x1 < box.x2 && box.y1 < box.y2) {
                if (sx >= 0 && sy >= 0 && sx <= INT32_MAX && sy <= INT32_MAX) {
                    display_clients_copy_bits(w, &box, (int32_t)sx, (int32_t)sy);
                } else {
                    pixman_region32_t damage;
                    pixman_region32_init_rect(&damage, box.x1, box.y1, (unsigned)(box.x2 - box.x1),
                                              (unsigned)(box.y2 - box.y1));
                    display_clients_damage(w, &damage);
                    pixman_region32_fini(&damage);
                }
            }
        } else if (covers_bbox(d)) {
            display_clients_image(w, &d->bbox);
        } else {
            pixman_region32_t damage;
            drawable_damage(d, s, &damage);
            display_clients_damage(w, &damage);
            pixman_region32_fini(&damage);
        }
    }
    parsed_drawable_free(pd);
    release(w, rel, ext->group_id);
}

/* New contents start black rather than as leftover memory (the rows
 * were validated by the parser). */
static void clear_surface_memory(uint8_t *row0, int32_t stride, uint32_t height)
{
    size_t abs_stride = stride < 0 ? (size_t)(-(int64_t)stride) : (size_t)stride;
    uint8_t *first = stride < 0 ? row0 - abs_stride * (height - 1) : row0;
    memset(first, 0, abs_stride * height);
}

static void process_surface(QxlWorker *w, const QXLCommandExt *ext)
{
    ParseContext ctx = parse_context(w, ext->group_id, ext->flags);
    ParsedSurfaceCmd cmd;
    const char *why;
    if (!qxl_parse_surface_cmd(&ctx, ext->cmd.data, &cmd, &why)) {
        worker_warn(w, "surface command dropped", why);
        release(w, cmd.release, ext->group_id);
        return;
    }
    Surface *s = &w->surfaces[cmd.surface_id];
    if (cmd.type == QXL_SURFACE_CMD_DESTROY) {
        if (!s->exists) {
            worker_warn(w, "surface destroy dropped", "the surface does not exist");
        }
        destroy_surface(w, cmd.surface_id);
        release(w, cmd.release, ext->group_id);
        return;
    }
    if (s->exists) {
        worker_warn(w, "surface create dropped", "the surface already exists");
        release(w, cmd.release, ext->group_id);
        return;
    }
    if (!(cmd.flags & QXL_SURF_FLAG_KEEP_DATA) && !w->replaying) {
        clear_surface_memory(cmd.row0, cmd.stride, cmd.height);
    }
    if (!create_surface(w, cmd.surface_id, cmd.format, cmd.width, cmd.height, cmd.stride, cmd.row0,
                        false)) {
        release(w, cmd.release, ext->group_id);
        return;
    }
    /* The guest keeps the surface memory while its create command is
     * held: release it with the surface. */
    s->release = cmd.release;
    s->release_group = ext->group_id;
}

static void process_cursor(QxlWorker *w, const QXLCommandExt *ext)
{
    ParseContext ctx = parse_context(w, ext->group_id, ext->flags);
    ParsedCursorCmd c;
    const char *why;
    if (!qxl_parse_cursor_cmd(&ctx, ext->cmd.data, &c, &why)) {
        worker_warn(w, "cursor command dropped", why);
        release(w, c.release, ext->group_id);
        return;
    }
    size_t size = sizeof(SpiceCursorEvent) + (c.has_shape ? c.shape_size : 0);
    SpiceCursorEvent *ev = g_malloc0(size);
    ev->size = sizeof(SpiceCursorEvent);
    ev->x = c.x;
    ev->y = c.y;
    switch (c.type) {
    case QXL_CURSOR_SET:
        ev->kind = SPICE_CURSOR_EVENT_SET;
        ev->visible = c.visible;
        if (c.has_shape) {
            ev->has_shape = 1;
            ev->shape_type = c.shape_type;
            ev->width = c.width;
            ev->height = c.height;
            ev->hot_x = c.hot_x;
            ev->hot_y = c.hot_y;
            ev->unique = c.unique;
            ev->shape_size = c.shape_size;
            memcpy(ev + 1, c.shape, c.shape_size);
        }
        break;
    case QXL_CURSOR_MOVE:
        ev->kind = SPICE_CURSOR_EVENT_MOVE;
        break;
    case QXL_CURSOR_HIDE:
        ev->kind = SPICE_CURSOR_EVENT_HIDE;
        break;
    default:
        ev->kind = SPICE_CURSOR_EVENT_TRAIL;
        ev->trail_length = c.trail_length;
        ev->trail_frequency = c.trail_frequency;
        break;
    }
    publish(w, SPICE_TOPIC_CURSOR, ev, (uint32_t)size, 0);
    g_free(ev);
    parsed_cursor_clear(&c);
    release(w, c.release, ext->group_id);
}

static void process_update(QxlWorker *w, const QXLCommandExt *ext)
{
    ParseContext ctx = parse_context(w, ext->group_id, ext->flags);
    ParsedUpdateCmd u;
    const char *why;
    if (!qxl_parse_update_cmd(&ctx, ext->cmd.data, &u, &why)) {
        worker_warn(w, "update command dropped", why);
        release(w, u.release, ext->group_id);
        return;
    }
    /* Everything is rendered as it arrives: the area is already current. */
    if (w->qif->notify_update) {
        w->qif->notify_update(w->qxl, u.update_id);
    }
    release(w, u.release, ext->group_id);
}

static void process_message(QxlWorker *w, const QXLCommandExt *ext)
{
    ParseContext ctx = parse_context(w, ext->group_id, ext->flags);
    QXLReleaseInfo *rel;
    char text[QXL_MAX_MESSAGE_SIZE + 1];
    const char *why;
    if (qxl_parse_message(&ctx, ext->cmd.data, &rel, text, sizeof(text), &why)) {
        display_host->log(w->dp->plugin, SPICE_PLUGIN_LOG_DEBUG, "display %u: guest says: %s",
                          w->id, text);
    } else {
        worker_warn(w, "message command dropped", why ? why : "unreadable");
    }
    release(w, rel, ext->group_id);
}

static void process_command(QxlWorker *w, const QXLCommandExt *ext)
{
    switch (ext->cmd.type) {
    case QXL_CMD_DRAW:
        process_draw(w, ext);
        break;
    case QXL_CMD_SURFACE:
        process_surface(w, ext);
        break;
    case QXL_CMD_CURSOR:
        process_cursor(w, ext);
        break;
    case QXL_CMD_UPDATE:
        process_update(w, ext);
        break;
    case QXL_CMD_MESSAGE:
        process_message(w, ext);
        break;
    case QXL_CMD_NOP:
    default: {
        /* Every command starts with its release info; give it back. */
        const char *why;
        QXLReleaseInfo *rel =
            memslot_get(&w->slots, ext->group_id, ext->cmd.data, sizeof(QXLReleaseInfo), &why);
        if (ext->cmd.type != QXL_CMD_NOP) {
            worker_warn(w, "command dropped", "unknown command type");
        }
        release(w, rel, ext->group_id);
        break;
    }
    }
}

/* Pull one ring until it is empty (asking to be woken) or the batch is
 * used up. Returns true when commands may remain. */
static bool drain_ring(QxlWorker *w, bool cursor, unsigned *budget, int64_t deadline)
{
    int (*get)(QXLInstance *, QXLCommandExt *) =
        cursor ? w->qif->get_cursor_command : w->qif->get_command;
    int (*req)(QXLInstance *) =
        cursor ? w->qif->req_cursor_notification : w->qif->req_cmd_notification;
    bool *notify = cursor ? &w->cursor_notify : &w->cmd_notify;
    if (!get) {
        return false;
    }
    while (*budget > 0) {
        if (g_get_monotonic_time() > deadline) {
            return true;
        }
        QXLCommandExt ext;
        if (!get(w->qxl, &ext)) {
            if (*notify) {
                return false;
            }
            /* 0: commands arrived meanwhile, read again; 1: we will be
             * woken up. */
            if (!req || req(w->qxl)) {
                *notify = true;
                return false;
            }
            continue;
        }
        *notify = false;
        (*budget)--;
        process_command(w, &ext);
    }
    return true;
}

static void worker_process(void *opaque)
{
    QxlWorker *w = opaque;
    if (!w->running) {
        return;
    }
    /* The cursor first, with its own batch: a busy display must not keep
     * the pointer from moving. */
    unsigned budget = MAX_BATCH_COMMANDS;
    bool more = drain_ring(w, true, &budget, g_get_monotonic_time() + MAX_BATCH_US);
    budget = MAX_BATCH_COMMANDS;
    more |= drain_ring(w, false, &budget, g_get_monotonic_time() + MAX_BATCH_US);
    display_clients_kick(w);
    if (more) {
        /* Let clients and other calls in, then continue. */
        display_host->timer_start(w->process_timer, 0);
    }
}

/* Everything queued on both rings, before an operation that must see it
 * (update_area, flushes, surface destruction), as the protocol asks.
 * Bounded in time: a guest that keeps adding commands cannot hold the
 * caller forever. */
static void process_pending(QxlWorker *w)
{
    if (!w->running) {
        return;
    }
    unsigned budget = UINT_MAX;
    int64_t deadline = g_get_monotonic_time() + MAX_FLUSH_US;
    bool more = drain_ring(w, true, &budget, deadline);
    more |= drain_ring(w, false, &budget, deadline);
    display_clients_kick(w);
    if (more) {
        worker_warn(w, "flush", "the guest kept adding commands; the rest is processed later");
        display_host->timer_start(w->process_timer, 0);
    }
}

static void wakeup_on_worker(void *opaque)
{
    QxlWorker *w = opaque;
    g_atomic_int_set(&w->wakeup_pending, 0);
    w->cmd_notify = false;
    w->cursor_notify = false;
    worker_process(w);
}

/* ---- capabilities -------------------------------------------------------------------- */

void qxl_worker_update_client_caps(QxlWorker *w)
{
    if (!w->running || w->qif->base.minor_version < 2 || !w->qif->set_client_capabilities) {
        return;
    }
    bool present;
    uint32_t caps = display_clients_caps(w, &present);
    if (present == w->client_present_sent && caps == w->client_caps_sent) {
        return;
    }
    w->client_present_sent = present;
    w->client_caps_sent = caps;
    uint8_t bytes[SPICE_CAPABILITIES_SIZE];
    memset(bytes, 0, sizeof(bytes));
    for (unsigned i = 0; i < 32; i++) {
        if (caps & (1u << i)) {
            bytes[i / 8] |= (uint8_t)(1u << (i % 8));
        }
    }
    w->qif->set_client_capabilities(w->qxl, present, bytes);
}

/* ---- operations posted from the host thread ---------------------------------------- */

typedef struct Op {
    QxlWorker *w;
    uint64_t cookie;
    bool async;
    uint32_t surface_id;
    uint32_t a;
    uint32_t b;
    QXLRect area;
    QXLRect *dirty_rects;
    uint32_t num_dirty_rects;
    uint32_t clear_dirty;
    QXLDevMemSlot slot;
    QXLDevSurfaceCreate create;
    QXLCommandExt *ext;
    QXLPHYSICAL phys;
    int group;
} Op;

static void op_done(Op *op)
{
    if (op->async) {
        async_complete(op->w, op->cookie);
        g_free(op);
    }
}

/* Run fn on the worker: wait for it (sync), or let it finish later with
 * async_complete (async; op is then copied to the heap). */
static void post(QxlWorker *w, void (*fn)(void *), Op *op, bool async)
{
    op->w = w;
    op->async = async;
    if (async) {
        Op *copy = g_memdup2(op, sizeof(*op));
        display_host->loop_invoke(w->dp->plugin, w->loop, fn, copy, false);
    } else {
        display_host->loop_invoke(w->dp->plugin, w->loop, fn, op, true);
    }
}

static void do_update_area(void *opaque)
{
    Op *op = opaque;
    QxlWorker *w = op->w;
    QXLRect dirty = { 0 };
    process_pending(w);
    if (op->surface_id >= w->n_surfaces || !w->surfaces[op->surface_id].exists) {
        worker_warn(w, "update_area", "no such surface");
    } else {
        /* Rendering is immediate, so the area is current: report it back,
         * clipped to the surface, as the changed part. */
        Surface *s = &w->surfaces[op->surface_id];
        dirty.left = MAX(op->area.left, 0);
        dirty.top = MAX(op->area.top, 0);
        dirty.right = MIN(op->area.right, (int32_t)s->width);
        dirty.bottom = MIN(op->area.bottom, (int32_t)s->height);
        if (dirty.left >= dirty.right || dirty.top >= dirty.bottom) {
            memset(&dirty, 0, sizeof(dirty));
        }
    }
    if (op->async) {
        if (w->qif->update_area_complete) {
            uint32_t n = dirty.right > dirty.left ? 1 : 0;
            w->qif->update_area_complete(w->qxl, op->surface_id, &dirty, n);
        }
    } else if (op->dirty_rects && op->num_dirty_rects > 0) {
        memset(op->dirty_rects, 0, sizeof(QXLRect) * op->num_dirty_rects);
        op->dirty_rects[0] = dirty;
    }
    op_done(op);
}

static void do_add_memslot(void *opaque)
{
    Op *op = opaque;
    const char *why;
    const QXLDevMemSlot *m = &op->slot;
    if (!memslots_add(&op->w->slots, m->slot_group_id, m->slot_id, m->generation, m->virt_start,
                      m->virt_end, m->addr_delta, &why)) {
        worker_warn(op->w, "add_memslot refused", why);
    }
    op_done(op);
}

static void do_del_memslot(void *opaque)
{
    Op *op = opaque;
    const char *why;
    if (!memslots_del(&op->w->slots, op->a, op->b, &why)) {
        worker_warn(op->w, "del_memslot refused", why);
    }
    op_done(op);
}

static void do_reset_memslots(void *opaque)
{
    Op *op = opaque;
    memslots_reset(&op->w->slots);
    op_done(op);
}

/* The cursor goes back to none, as in the reference after reset_cursor,
 * destroy_primary_surface and destroy_surfaces; its clients then wait
 * for the next primary surface (see the cursor plugin). */
static void publish_cursor_reset(QxlWorker *w)
{
    SpiceCursorEvent ev = { .size = sizeof(ev), .kind = SPICE_CURSOR_EVENT_RESET };
    publish(w, SPICE_TOPIC_CURSOR, &ev, sizeof(ev), 0);
}

static void do_destroy_surfaces(void *opaque)
{
    Op *op = opaque;
    process_pending(op->w);
    destroy_all_surfaces(op->w);
    display_clients_reset(op->w);
    publish_cursor_reset(op->w);
    op_done(op);
}

static void do_destroy_primary(void *opaque)
{
    Op *op = opaque;
    process_pending(op->w);
    if (op->surface_id != 0) {
        worker_warn(op->w, "destroy_primary_surface", "the primary surface id is not 0");
    }
    if (!qxl_worker_primary(op->w)) {
        worker_warn(op->w, "destroy_primary_surface", "there is no primary surface");
    } else {
        destroy_surface(op->w, 0);
        publish_cursor_reset(op->w);
    }
    op_done(op);
}

static void do_create_primary(void *opaque)
{
    Op *op = opaque;
    QxlWorker *w = op->w;
    const QXLDevSurfaceCreate *c = &op->create;
    if (op->surface_id != 0) {
        worker_warn(w, "create_primary_surface", "the primary surface id is not 0; using 0");
    }
    destroy_surface(w, 0);
    ParseContext ctx = parse_context(w, c->group_id, 0);
    uint8_t *row0;
    const char *why;
    if (!qxl_check_surface(&ctx, c->format, c->width, c->height, c->stride, c->mem, &row0, &why)) {
        worker_warn(w, "primary surface refused", why);
        op_done(op);
        return;
    }
    if (!(c->flags & QXL_SURF_FLAG_KEEP_DATA)) {
        clear_surface_memory(row0, c->stride, c->height);
    }
    if (create_surface(w, 0, c->format, c->width, c->height, c->stride, row0, true)) {
        if (!w->driver_monitors) {
            monitors_from_primary(w);
        }
        SpicePrimaryInfo info = { .size = sizeof(info),
                                  .width = c->width,
                                  .height = c->height,
                                  .format = c->format,
                                  .client_mouse = c->mouse_mode != 0 };
        publish(w, SPICE_TOPIC_PRIMARY, &info, sizeof(info), SPICE_TOPIC_RETAIN);
        display_clients_primary_created(w);
        display_clients_kick(w);
    }
    op_done(op);
}

static void do_destroy_surface(void *opaque)
{
    Op *op = opaque;
    process_pending(op->w);
    if (op->surface_id >= op->w->n_surfaces || !op->w->surfaces[op->surface_id].exists) {
        worker_warn(op->w, "destroy_surface", "no such surface");
    } else {
        destroy_surface(op->w, op->surface_id);
    }
    op_done(op);
}

static void do_flush_surfaces(void *opaque)
{
    /* Surfaces are always current; flushing means processing what is
     * queued so it is rendered. */
    Op *op = opaque;
    process_pending(op->w);
    op_done(op);
}

static void do_reset_image_cache(void *opaque)
{
    Op *op = opaque;
    display_clients_reset_caches(op->w);
    op_done(op);
}

static void do_reset_cursor(void *opaque)
{
    Op *op = opaque;
    publish_cursor_reset(op->w);
    op_done(op);
}

static void do_loadvm(void *opaque)
{
    Op *op = opaque;
    op->w->replaying = true;
    for (uint32_t i = 0; i < op->a; i++) {
        process_command(op->w, &op->ext[i]);
    }
    op->w->replaying = false;
    display_clients_kick(op->w);
    op_done(op);
}

static void do_oom(void *opaque)
{
    Op *op = opaque;
    worker_process(op->w);
    if (op->w->qif->flush_resources) {
        op->w->qif->flush_resources(op->w->qxl);
    }
    g_free(op);
}

static void do_monitors_config(void *opaque)
{
    Op *op = opaque;
    QxlWorker *w = op->w;
    ParseContext ctx = parse_context(w, (uint32_t)op->group, 0);
    ParsedMonitors m;
    const char *why;
    uint32_t max = w->max_monitors ? w->max_monitors : QXL_MAX_MONITORS;
    if (op->group < 0 || !qxl_parse_monitors_config(&ctx, op->phys, max, &m, &why)) {
        worker_warn(w, "monitors config ignored", op->group < 0 ? "negative group" : why);
    } else {
        w->monitors = m;
        w->driver_monitors = true;
        display_clients_monitors_changed(w);
        display_clients_kick(w);
    }
    op_done(op);
}

static void do_driver_unload(void *opaque)
{
    Op *op = opaque;
    monitors_from_primary(op->w);
    display_clients_monitors_changed(op->w);
    g_free(op);
}

static void do_set_max_monitors(void *opaque)
{
    Op *op = opaque;
    op->w->max_monitors = op->a;
    g_free(op);
}

static void do_set_running(void *opaque)
{
    Op *op = opaque;
    QxlWorker *w = op->w;
    w->running = op->a != 0;
    if (w->running) {
        w->cmd_notify = w->cursor_notify = false;
        qxl_worker_update_client_caps(w);
        worker_process(w);
    }
    op_done(op);
}

static void do_gl_draw(void *opaque)
{
    /* No GL scanout is ever active (see gl_scanout): nothing to wait for. */
    op_done(opaque);
}

/* ---- the entry points ----------------------------------------------------------------- */

static void e_wakeup(void *data)
{
    QxlWorker *w = data;
    if (g_atomic_int_compare_and_exchange(&w->wakeup_pending, 0, 1)) {
        display_host->loop_invoke(w->dp->plugin, w->loop, wakeup_on_worker, w, false);
    }
}

static void e_oom(void *data)
{
    Op op = { 0 };
    post(data, do_oom, &op, true);
}

static void e_start(void *data)
{
    qxl_worker_set_running(data, true);
}

static void e_stop(void *data)
{
    qxl_worker_set_running(data, false);
}

static void e_update_area(void *data, uint32_t surface_id, QXLRect *area, QXLRect *dirty_rects,
                          uint32_t num_dirty_rects, uint32_t clear_dirty_region)
{
    Op op = { .surface_id = surface_id,
              .dirty_rects = dirty_rects,
              .num_dirty_rects = num_dirty_rects,
              .clear_dirty = clear_dirty_region };
    if (area) {
        op.area = *area;
    }
    post(data, do_update_area, &op, false);
}

static void e_add_memslot(void *data, QXLDevMemSlot *slot)
{
    Op op = { .slot = *slot };
    post(data, do_add_memslot, &op, false);
}

static void e_del_memslot(void *data, uint32_t group, uint32_t slot)
{
    Op op = { .a = group, .b = slot };
    post(data, do_del_memslot, &op, false);
}

static void e_reset_memslots(void *data)
{
    Op op = { 0 };
    post(data, do_reset_memslots, &op, false);
}

static void e_destroy_surfaces(void *data)
{
    Op op = { 0 };
    post(data, do_destroy_surfaces, &op, false);
}

static void e_destroy_primary(void *data, uint32_t surface_id)
{
    Op op = { .surface_id = surface_id };
    post(data, do_destroy_primary, &op, false);
}

static void e_create_primary(void *data, uint32_t surface_id, QXLDevSurfaceCreate *surface)
{
    Op op = { .surface_id = surface_id, .create = *surface };
    post(data, do_create_primary, &op, false);
}

static void e_reset_image_cache(void *data)
{
    Op op = { 0 };
    post(data, do_reset_image_cache, &op, false);
}

static void e_reset_cursor(void *data)
{
    Op op = { 0 };
    post(data, do_reset_cursor, &op, false);
}

static void e_destroy_surface_wait(void *data, uint32_t surface_id)
{
    Op op = { .surface_id = surface_id };
    post(data, do_destroy_surface, &op, false);
}

static void e_loadvm_commands(void *data, QXLCommandExt *ext, uint32_t count)
{
    Op op = { .ext = ext, .a = count };
    post(data, do_loadvm, &op, false);
}

static void e_update_area_async(void *data, uint32_t surface_id, QXLRect *area,
                                uint32_t clear_dirty_region, uint64_t cookie)
{
    Op op = { .surface_id = surface_id, .clear_dirty = clear_dirty_region, .cookie = cookie };
    if (area) {
        op.area = *area;
    }
    post(data, do_update_area, &op, true);
}

static void e_add_memslot_async(void *data, QXLDevMemSlot *slot, uint64_t cookie)
{
    Op op = { .slot = *slot, .cookie = cookie };
    post(data, do_add_memslot, &op, true);
}

static void e_destroy_surfaces_async(void *data, uint64_t cookie)
{
    Op op = { .cookie = cookie };
    post(data, do_destroy_surfaces, &op, true);
}

static void e_destroy_primary_async(void *data, uint32_t surface_id, uint64_t cookie)
{
    Op op = { .surface_id = surface_id, .cookie = cookie };
    post(data, do_destroy_primary, &op, true);
}

static void e_create_primary_async(void *data, uint32_t surface_id, QXLDevSurfaceCreate *surface,
                                   uint64_t cookie)
{
    Op op = { .surface_id = surface_id, .create = *surface, .cookie = cookie };
    post(data, do_create_primary, &op, true);
}

static void e_destroy_surface_async(void *data, uint32_t surface_id, uint64_t cookie)
{
    Op op = { .surface_id = surface_id, .cookie = cookie };
    post(data, do_destroy_surface, &op, true);
}

static void e_flush_surfaces_async(void *data, uint64_t cookie)
{
    Op op = { .cookie = cookie };
    post(data, do_flush_surfaces, &op, true);
}

static void e_monitors_config_async(void *data, QXLPHYSICAL monitors_config, int group_id,
                                    uint64_t cookie)
{
    Op op = { .phys = monitors_config, .group = group_id, .cookie = cookie };
    post(data, do_monitors_config, &op, true);
}

static void e_driver_unload(void *data)
{
    Op op = { 0 };
    op.w = data;
    Op *copy = g_memdup2(&op, sizeof(op));
    display_host->loop_invoke(((QxlWorker *)data)->dp->plugin, ((QxlWorker *)data)->loop,
                              do_driver_unload, copy, false);
}

static void e_set_max_monitors(void *data, unsigned int max_monitors)
{
    Op op = { .w = data, .a = max_monitors };
    Op *copy = g_memdup2(&op, sizeof(op));
    display_host->loop_invoke(((QxlWorker *)data)->dp->plugin, ((QxlWorker *)data)->loop,
                              do_set_max_monitors, copy, false);
}

static void e_gl_scanout(void *data, int fd, uint32_t width, uint32_t height, uint32_t stride,
                         uint32_t format, int y_0_top)
{
    QxlWorker *w = data;
    (void)width, (void)height, (void)stride, (void)format, (void)y_0_top;
    /* GL scanout needs a local client that takes dma-buf file descriptors
     * over its unix socket, which this display channel does not pass. */
    if (g_atomic_int_compare_and_exchange(&w->gl_refusal_logged, 0, 1)) {
        display_host->log(w->dp->plugin, SPICE_PLUGIN_LOG_WARNING,
                          "display %u: gl_scanout refused: GL scanout (dma-buf passing to a "
                          "local client) is not supported; use a non-GL display",
                          w->id);
    }
    if (fd >= 0) {
        close(fd);
    }
}

static void e_gl_draw_async(void *data, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                            uint64_t cookie)
{
    (void)x, (void)y, (void)w, (void)h;
    Op op = { .cookie = cookie };
    post(data, do_gl_draw, &op, true);
}

static void e_set_device_info(void *data, const char *device_address, uint32_t start,
                              uint32_t count)
{
    QxlWorker *w = data;
    display_host->log(w->dp->plugin, SPICE_PLUGIN_LOG_DEBUG,
                      "display %u: device %s, display ids %u..%u", w->id,
                      device_address ? device_address : "?", start, start + count);
}

const SpiceQxlEntries qxl_worker_entries = {
    .size = sizeof(SpiceQxlEntries),
    .wakeup = e_wakeup,
    .oom = e_oom,
    .start = e_start,
    .stop = e_stop,
    .update_area = e_update_area,
    .add_memslot = e_add_memslot,
    .del_memslot = e_del_memslot,
    .reset_memslots = e_reset_memslots,
    .destroy_surfaces = e_destroy_surfaces,
    .destroy_primary_surface = e_destroy_primary,
    .create_primary_surface = e_create_primary,
    .reset_image_cache = e_reset_image_cache,
    .reset_cursor = e_reset_cursor,
    .destroy_surface_wait = e_destroy_surface_wait,
    .loadvm_commands = e_loadvm_commands,
    .update_area_async = e_update_area_async,
    .add_memslot_async = e_add_memslot_async,
    .destroy_surfaces_async = e_destroy_surfaces_async,
    .destroy_primary_surface_async = e_destroy_primary_async,
    .create_primary_surface_async = e_create_primary_async,
    .destroy_surface_async = e_destroy_surface_async,
    .flush_surfaces_async = e_flush_surfaces_async,
    .monitors_config_async = e_monitors_config_async,
    .driver_unload = e_driver_unload,
    .set_max_monitors = e_set_max_monitors,
    .gl_scanout = e_gl_scanout,
    .gl_draw_async = e_gl_draw_async,
    .set_device_info = e_set_device_info,
};

void qxl_worker_set_running(QxlWorker *w, bool running)
{
    Op op = { .a = running };
    /* Both wait: when vm_stop returns the worker no longer takes commands
     * from the rings (clients may still be sent pixels of the primary). */
    post(w, do_set_running, &op, false);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void process_timer_cb(void *opaque)
{
    worker_process(opaque);
}

static void setup_on_worker(void *opaque)
{
    QxlWorker *w = opaque;
    w->process_timer = display_host->timer_new(w->dp->plugin, w->loop, process_timer_cb, w);
}

static void teardown_on_worker(void *opaque)
{
    QxlWorker *w = opaque;
    destroy_all_surfaces(w);
    display_host->timer_free(w->process_timer);
    w->process_timer = NULL;
}

QxlWorker *qxl_worker_new(DisplayPlugin *dp, QXLInstance *qxl, const char **why)
{
    const QXLInterface *qif = (const QXLInterface *)qxl->base.sif;
    if (qxl->id < 0 || qxl->id > 255) {
        *why = "QXL instance id must be 0..255";
        return NULL;
    }
    if (!qif->get_init_info || !qif->get_command || !qif->release_resource) {
        *why = "the QXL interface lacks a required callback (get_init_info, get_command or "
               "release_resource)";
        return NULL;
    }
    QXLDevInitInfo info;
    memset(&info, 0, sizeof(info));
    qif->get_init_info(qxl, &info);
    QxlWorker *w = g_new0(QxlWorker, 1);
    w->dp = dp;
    w->qxl = qxl;
    w->qif = qif;
    w->id = (uint32_t)qxl->id;
    w->ram_size = info.qxl_ram_size;
    if (!memslots_init(&w->slots, info.num_memslots_groups, info.num_memslots,
                       info.memslot_gen_bits, info.memslot_id_bits, why)) {
        g_free(w);
        return NULL;
    }
    if (info.n_surfaces == 0 || info.n_surfaces > MAX_SURFACES) {
        *why = "number of surfaces out of range (1..10000)";
        g_free(w);
        return NULL;
    }
    w->n_surfaces = info.n_surfaces;
    w->surfaces = g_new0(Surface, w->n_surfaces);
    g_autofree char *name = g_strdup_printf("SPICE Worker %u", w->id);
    w->loop = display_host->loop_new(dp->plugin, name);
    if (!w->loop) {
        *why = "cannot start the worker thread";
        g_free(w->surfaces);
        g_free(w);
        return NULL;
    }
    display_host->loop_invoke(dp->plugin, w->loop, setup_on_worker, w, true);
    w->channel =
        display_host->channel_register(dp->plugin, &display_channel_class, (uint8_t)w->id, w);
    if (!w->channel) {
        *why = "a display channel with this id exists already";
        display_host->loop_invoke(dp->plugin, w->loop, teardown_on_worker, w, true);
        display_host->loop_free(w->loop);
        g_free(w->surfaces);
        g_free(w);
        return NULL;
    }
    return w;
}

void qxl_worker_attach(QxlWorker *w)
{
    const QXLInterface *qif = w->qif;
    SpiceDisplayInfo dinfo = { .size = sizeof(dinfo), .ram_size = w->ram_size };
    publish(w, SPICE_TOPIC_DISPLAY, &dinfo, sizeof(dinfo), SPICE_TOPIC_RETAIN);
    /* Hosts of the 0.8 era keep this pointer; today they ignore it. Some
     * (the reference's test hosts) add memory slots and create the
     * primary surface from inside this callback: the entry points work
     * from here on. */
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    if (qif->attache_worker) {
        qif->attache_worker(w->qxl, (QXLWorker *)w->qxl);
    }
    G_GNUC_END_IGNORE_DEPRECATIONS
    if (qif->set_compression_level) {
        /* Guest-side image compression would produce QUIC images, which
         * this server does not decode. */
        qif->set_compression_level(w->qxl, 0);
    }
}

void qxl_worker_free(QxlWorker *w)
{
    /* Clients go first (their teardown runs on the worker), then the
     * surfaces, releasing what the guest lent us. */
    display_host->channel_unregister(w->channel);
    display_host->loop_invoke(w->dp->plugin, w->loop, teardown_on_worker, w, true);
    display_host->loop_free(w->loop);
    /* Then the primary and the display are no longer facts. */
    publish(w, SPICE_TOPIC_PRIMARY, NULL, 0, SPICE_TOPIC_RETAIN);
    publish(w, SPICE_TOPIC_DISPLAY, NULL, 0, SPICE_TOPIC_RETAIN);
    g_free(w->surfaces);
    g_free(w);
}
