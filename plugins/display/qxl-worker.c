/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qxl-worker.c: one worker thread per QXL instance.
 *
 * The worker pulls commands from the host's rings in bounded batches
 * (get_command until empty, then req_cmd_notification, which either asks
 * for a spice_qxl_wakeup() or says commands arrived meanwhile), parses
 * each one out of guest memory, renders drawing commands into their
 * surface right away, releases every command exactly once, and tells its
 * output (the DISPLAY channel, see display-output.h) what changed.
 * Rendering as commands arrive keeps every surface current: update_area
 * has nothing left to do, and a client that connects late is sent the
 * surface as it is.
 *
 * spice_qxl_* calls arrive on the host's thread and are posted to this
 * thread in order as Requests, each in one of three ways: post_and_wait,
 * post_with_cookie (exactly one async_complete(cookie) from this thread)
 * or post_and_forget.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <spice/enums.h>

#include "canvas.h"
#include "display.h"
#include "memslot.h"
#include "qxl-parse.h"
#include "qxl-worker.h"

#define MAX_BATCH_COMMANDS 64
#define MAX_BATCH_US       10000
#define MAX_FLUSH_US       2000000
#define MAX_SURFACES       10000u

typedef struct Surface {
    bool exists;
    bool primary;
    uint32_t width;
    uint32_t height;
    Canvas *canvas;
    /* The create command's resources, released when the surface goes. */
    QXLReleaseInfo *release;
    uint32_t release_group;
} Surface;

struct QxlWorker {
    SpicePlugin *plugin;
    QXLInstance *qxl;
    const QXLInterface *qif;
    uint32_t id;
    uint32_t ram_size;
    /* Whether the device takes the client's monitors config, as last
     * asked and published: the answer changes with the guest's driver
     * (QEMU's qxl says yes once the driver unmasked its interrupt). */
    GMutex takes_lock;
    bool client_monitors_config;
    SpicePluginLoop *loop;
    const DisplayOutputOps *output;
    DisplayOutput *out; /* created and freed on the host thread */

    /* worker thread only */
    MemSlots slots;
    uint32_t n_surfaces;
    Surface *surfaces;
    bool running;
    bool replaying;     /* loadvm_commands: surfaces keep their memory */
    bool cmd_notify;    /* asked for a wakeup on the command ring */
    bool cursor_notify; /* ... on the cursor ring */
    SpicePluginTimer *process_timer;
    DisplaySource source;   /* what the output reads */
    DisplayPrimary primary; /* source.primary while surface 0 is the primary */
    bool driver_monitors;   /* source.monitors came from the guest driver */
    uint32_t max_monitors;
    bool clients_present; /* as the output last reported */
    uint32_t clients_caps;
    bool client_present_sent; /* last given to set_client_capabilities */
    uint32_t client_caps_sent;
    unsigned warnings; /* rate limit for bad-command warnings */

    /* any thread */
    gint gl_refusal_logged;
    gint async_refusal_logged;
    gint wakeup_pending;
};

/* ---- helpers --------------------------------------------------------------------- */

static void worker_warn(QxlWorker *w, const char *what, const char *why)
{
    /* A misbehaving guest must not flood the log: the first few, then one
     * in a thousand. */
    unsigned n = w->warnings++;
    if (n < 20 || n % 1000 == 0) {
        display_host->log(w->plugin, SPICE_PLUGIN_LOG_WARNING, "display %u: %s: %s%s", w->id, what,
                          why, n == 19 ? " (further warnings are rate-limited)" : "");
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
        display_host->log(w->plugin, SPICE_PLUGIN_LOG_WARNING,
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
static int publish(QxlWorker *w, const char *topic, const void *data, uint32_t size, uint32_t flags)
{
    return display_host->topic_publish(w->plugin, topic, w->id, data, size, flags);
}

static bool refresh_takes_config(QxlWorker *w, bool always);

/* Without monitors from the guest driver, one monitor covers the primary. */
static void monitors_from_primary(QxlWorker *w)
{
    const DisplayPrimary *p = w->source.primary;
    ParsedMonitors *m = &w->source.monitors;
    memset(m, 0, sizeof(*m));
    w->driver_monitors = false;
    if (p) {
        m->count = 1;
        m->max_allowed = 1;
        m->heads[0].width = p->width;
        m->heads[0].height = p->height;
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
        w->source.primary = NULL;
        SpicePrimaryInfo info = { .size = sizeof(info) };
        publish(w, SPICE_TOPIC_PRIMARY, &info, sizeof(info), SPICE_TOPIC_RETAIN);
        w->output->primary_destroyed(w->out);
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
    s->width = width;
    s->height = height;
    s->canvas = c;
    if (primary) {
        w->primary = (DisplayPrimary){ .format = format,
                                       .width = width,
                                       .height = height,
                                       .stride = stride,
                                       .row0 = row0,
                                       .image = canvas_image(c) };
        w->source.primary = &w->primary;
    }
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

/* Whether the drawable alone decides every pixel of its bbox inside its
 * clip: an unmasked copy of an image. */
static bool opaque_image(const Drawable *d)
{
    return d->type == QXL_DRAW_COPY && !d->self_bitmap && d->u.copy.src &&
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
                    w->output->copy_bits(w->out, &box, (int32_t)sx, (int32_t)sy);
                } else {
                    pixman_region32_t damage;
                    pixman_region32_init_rect(&damage, box.x1, box.y1, (unsigned)(box.x2 - box.x1),
                                              (unsigned)(box.y2 - box.y1));
                    w->output->damage(w->out, &damage);
                    pixman_region32_fini(&damage);
                }
            }
        } else if (opaque_image(d) && !d->clip) {
            w->output->image(w->out, &d->bbox, NULL);
        } else if (opaque_image(d)) {
            /* A video frame under another window comes clipped. */
            pixman_region32_t visible;
            drawable_damage(d, s, &visible);
            w->output->image(w->out, &d->bbox, &visible);
            pixman_region32_fini(&visible);
        } else {
            pixman_region32_t damage;
            drawable_damage(d, s, &damage);
            w->output->damage(w->out, &damage);
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
    if (publish(w, SPICE_TOPIC_CURSOR, ev, (uint32_t)size, 0) < 0) {
        worker_warn(w, "cursor command not passed on", "the core refused its payload");
    }
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
        display_host->log(w->plugin, SPICE_PLUGIN_LOG_DEBUG, "display %u: guest says: %s", w->id,
                          text);
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
    w->output->kick(w->out);
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
    w->output->kick(w->out);
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

/* Give the guest the capabilities its display clients share, when they
 * changed since last time (and only while running, as the reference). */
static void send_client_caps(QxlWorker *w)
{
    if (!w->running || w->qif->base.minor_version < 2 || !w->qif->set_client_capabilities) {
        return;
    }
    bool present = w->clients_present;
    uint32_t caps = w->clients_caps;
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

/* DisplaySource.clients_changed: the output's clients came or went. */
static void clients_changed(void *opaque, bool present, uint32_t caps)
{
    QxlWorker *w = opaque;
    w->clients_present = present;
    w->clients_caps = caps;
    send_client_caps(w);
}

/* ---- requests posted from the host thread ------------------------------------------ */

typedef enum {
    REQ_UPDATE_AREA,
    REQ_ADD_MEMSLOT,
    REQ_DEL_MEMSLOT,
    REQ_RESET_MEMSLOTS,
    REQ_DESTROY_SURFACES,
    REQ_DESTROY_PRIMARY,
    REQ_CREATE_PRIMARY,
    REQ_DESTROY_SURFACE,
    REQ_FLUSH_SURFACES,
    REQ_RESET_IMAGE_CACHE,
    REQ_RESET_CURSOR,
    REQ_LOADVM,
    REQ_OOM,
    REQ_MONITORS_CONFIG,
    REQ_DRIVER_UNLOAD,
    REQ_SET_MAX_MONITORS,
    REQ_SET_RUNNING,
    REQ_GL_DRAW,
} RequestKind;

/* How the caller learns that its request ran (set by the post_* function). */
typedef enum {
    REQUEST_WAITED,    /* post_and_wait: the caller is blocked until it ran */
    REQUEST_COOKIE,    /* post_with_cookie: async_complete(cookie) after it ran */
    REQUEST_FORGOTTEN, /* post_and_forget: nobody is told */
} RequestCompletion;

typedef struct UpdateAreaArgs {
    uint32_t surface_id;
    QXLRect area;
    QXLRect *dirty_rects; /* synchronous only: num_dirty_rects to fill in */
    uint32_t num_dirty_rects;
} UpdateAreaArgs;

typedef struct DelMemslotArgs {
    uint32_t group;
    uint32_t slot;
} DelMemslotArgs;

typedef struct CreatePrimaryArgs {
    uint32_t surface_id;
    QXLDevSurfaceCreate create;
} CreatePrimaryArgs;

typedef struct LoadvmArgs {
    QXLCommandExt *ext; /* the caller's, which waits */
    uint32_t count;
} LoadvmArgs;

typedef struct MonitorsConfigArgs {
    QXLPHYSICAL addr;
    int group;
} MonitorsConfigArgs;

typedef struct Request {
    RequestKind kind;
    QxlWorker *w;
    RequestCompletion completion;
    uint64_t cookie; /* REQUEST_COOKIE */
    union {
        UpdateAreaArgs update_area;
        QXLDevMemSlot add_memslot;
        DelMemslotArgs del_memslot;
        uint32_t surface_id; /* DESTROY_PRIMARY, DESTROY_SURFACE */
        CreatePrimaryArgs create_primary;
        LoadvmArgs loadvm;
        MonitorsConfigArgs monitors_config;
        uint32_t max_monitors;
        bool running;
    } u;
} Request;

/* Rendering is immediate, so the area is current: report it back, clipped
 * to the surface, as the changed part. */
static void run_update_area(QxlWorker *w, const UpdateAreaArgs *a, bool async)
{
    QXLRect dirty = { 0 };
    process_pending(w);
    if (a->surface_id >= w->n_surfaces || !w->surfaces[a->surface_id].exists) {
        worker_warn(w, "update_area", "no such surface");
    } else {
        Surface *s = &w->surfaces[a->surface_id];
        dirty.left = MAX(a->area.left, 0);
        dirty.top = MAX(a->area.top, 0);
        dirty.right = MIN(a->area.right, (int32_t)s->width);
        dirty.bottom = MIN(a->area.bottom, (int32_t)s->height);
        if (dirty.left >= dirty.right || dirty.top >= dirty.bottom) {
            memset(&dirty, 0, sizeof(dirty));
        }
    }
    if (async) {
        if (w->qif->update_area_complete) {
            uint32_t n = dirty.right > dirty.left ? 1 : 0;
            w->qif->update_area_complete(w->qxl, a->surface_id, &dirty, n);
        }
    } else if (a->dirty_rects && a->num_dirty_rects > 0) {
        memset(a->dirty_rects, 0, sizeof(QXLRect) * a->num_dirty_rects);
        a->dirty_rects[0] = dirty;
    }
}

static void run_add_memslot(QxlWorker *w, const QXLDevMemSlot *m)
{
    const char *why;
    if (!memslots_add(&w->slots, m->slot_group_id, m->slot_id, m->generation, m->virt_start,
                      m->virt_end, m->addr_delta, &why)) {
        worker_warn(w, "add_memslot refused", why);
    }
}

static void run_del_memslot(QxlWorker *w, const DelMemslotArgs *a)
{
    const char *why;
    if (!memslots_del(&w->slots, a->group, a->slot, &why)) {
        worker_warn(w, "del_memslot refused", why);
    }
}

/* The cursor goes back to none, as in the reference after reset_cursor,
 * destroy_primary_surface and destroy_surfaces; its clients then wait
 * for the next primary surface (see the cursor plugin). */
static void publish_cursor_reset(QxlWorker *w)
{
    SpiceCursorEvent ev = { .size = sizeof(ev), .kind = SPICE_CURSOR_EVENT_RESET };
    publish(w, SPICE_TOPIC_CURSOR, &ev, sizeof(ev), 0);
}

static void run_destroy_surfaces(QxlWorker *w)
{
    process_pending(w);
    destroy_all_surfaces(w);
    w->output->reset(w->out);
    publish_cursor_reset(w);
}

static void run_destroy_primary(QxlWorker *w, uint32_t surface_id)
{
    process_pending(w);
    if (surface_id != 0) {
        worker_warn(w, "destroy_primary_surface", "the primary surface id is not 0");
    }
    if (!w->source.primary) {
        worker_warn(w, "destroy_primary_surface", "there is no primary surface");
    } else {
        destroy_surface(w, 0);
        publish_cursor_reset(w);
    }
}

static void run_create_primary(QxlWorker *w, const CreatePrimaryArgs *a)
{
    const QXLDevSurfaceCreate *c = &a->create;
    if (a->surface_id != 0) {
        worker_warn(w, "create_primary_surface", "the primary surface id is not 0; using 0");
    }
    destroy_surface(w, 0);
    ParseContext ctx = parse_context(w, c->group_id, 0);
    uint8_t *row0;
    const char *why;
    if (!qxl_check_surface(&ctx, c->format, c->width, c->height, c->stride, c->mem, &row0, &why)) {
        worker_warn(w, "primary surface refused", why);
        return;
    }
    if (!(c->flags & QXL_SURF_FLAG_KEEP_DATA)) {
        clear_surface_memory(row0, c->stride, c->height);
    }
    if (!create_surface(w, 0, c->format, c->width, c->height, c->stride, row0, true)) {
        return;
    }
    if (!w->driver_monitors) {
        monitors_from_primary(w);
    }
    SpicePrimaryInfo info = { .size = sizeof(info),
                              .width = c->width,
                              .height = c->height,
                              .format = c->format,
                              .client_mouse = c->mouse_mode != 0 };
    publish(w, SPICE_TOPIC_PRIMARY, &info, sizeof(info), SPICE_TOPIC_RETAIN);
    w->output->primary_created(w->out);
    w->output->kick(w->out);
}

static void run_destroy_surface(QxlWorker *w, uint32_t surface_id)
{
    process_pending(w);
    if (surface_id >= w->n_surfaces || !w->surfaces[surface_id].exists) {
        worker_warn(w, "destroy_surface", "no such surface");
    } else {
        destroy_surface(w, surface_id);
    }
}

static void run_loadvm(QxlWorker *w, const LoadvmArgs *a)
{
    w->replaying = true;
    for (uint32_t i = 0; i < a->count; i++) {
        process_command(w, &a->ext[i]);
    }
    w->replaying = false;
    w->output->kick(w->out);
}

static void run_oom(QxlWorker *w)
{
    worker_process(w);
    if (w->qif->flush_resources) {
        w->qif->flush_resources(w->qxl);
    }
}

static void run_monitors_config(QxlWorker *w, const MonitorsConfigArgs *a)
{
    ParseContext ctx = parse_context(w, (uint32_t)a->group, 0);
    ParsedMonitors m;
    const char *why;
    uint32_t max = w->max_monitors ? w->max_monitors : QXL_MAX_MONITORS;
    if (a->group < 0 || !qxl_parse_monitors_config(&ctx, a->addr, max, &m, &why)) {
        worker_warn(w, "monitors config ignored", a->group < 0 ? "negative group" : why);
        return;
    }
    w->source.monitors = m;
    w->driver_monitors = true;
    w->output->monitors_changed(w->out);
    w->output->kick(w->out);
}

static void run_set_running(QxlWorker *w, bool running)
{
    w->running = running;
    if (w->running) {
        w->cmd_notify = w->cursor_notify = false;
        send_client_caps(w);
        worker_process(w);
    }
}

/* On the worker: do what r asks, then complete it as it was posted. Every
 * request passes here once, so a cookie is completed exactly once. */
static void run_request(void *opaque)
{
    Request *r = opaque;
    QxlWorker *w = r->w;
    switch (r->kind) {
    case REQ_UPDATE_AREA:
        run_update_area(w, &r->u.update_area, r->completion == REQUEST_COOKIE);
        break;
    case REQ_ADD_MEMSLOT:
        run_add_memslot(w, &r->u.add_memslot);
        break;
    case REQ_DEL_MEMSLOT:
        run_del_memslot(w, &r->u.del_memslot);
        break;
    case REQ_RESET_MEMSLOTS:
        memslots_reset(&w->slots);
        break;
    case REQ_DESTROY_SURFACES:
        run_destroy_surfaces(w);
        break;
    case REQ_DESTROY_PRIMARY:
        run_destroy_primary(w, r->u.surface_id);
        break;
    case REQ_CREATE_PRIMARY:
        run_create_primary(w, &r->u.create_primary);
        break;
    case REQ_DESTROY_SURFACE:
        run_destroy_surface(w, r->u.surface_id);
        break;
    case REQ_FLUSH_SURFACES:
        /* Surfaces are always current; flushing means processing what is
         * queued so it is rendered. */
        process_pending(w);
        break;
    case REQ_RESET_IMAGE_CACHE:
        w->output->reset_caches(w->out);
        break;
    case REQ_RESET_CURSOR:
        publish_cursor_reset(w);
        break;
    case REQ_LOADVM:
        run_loadvm(w, &r->u.loadvm);
        break;
    case REQ_OOM:
        run_oom(w);
        break;
    case REQ_MONITORS_CONFIG:
        run_monitors_config(w, &r->u.monitors_config);
        break;
    case REQ_DRIVER_UNLOAD:
        monitors_from_primary(w);
        w->output->monitors_changed(w->out);
        break;
    case REQ_SET_MAX_MONITORS:
        w->max_monitors = r->u.max_monitors;
        break;
    case REQ_SET_RUNNING:
        run_set_running(w, r->u.running);
        break;
    case REQ_GL_DRAW:
        /* No GL scanout is ever active (see gl_scanout): nothing to wait for. */
        break;
    }
    if (r->completion == REQUEST_COOKIE) {
        async_complete(w, r->cookie);
    }
    if (r->completion != REQUEST_WAITED) {
        g_free(r);
    }
}

/* Synchronous: run r on the worker and return once it ran (r may live on
 * the caller's stack). */
static void post_and_wait(QxlWorker *w, Request *r)
{
    r->w = w;
    r->completion = REQUEST_WAITED;
    display_host->loop_invoke(w->plugin, w->loop, run_request, r, true);
}

static void post_copy(QxlWorker *w, const Request *r, RequestCompletion completion, uint64_t cookie)
{
    Request *copy = g_memdup2(r, sizeof(*r));
    copy->w = w;
    copy->completion = completion;
    copy->cookie = cookie;
    display_host->loop_invoke(w->plugin, w->loop, run_request, copy, false);
}

/* Asynchronous: return at once; once a copy of r ran on the worker, the
 * host gets async_complete(cookie), exactly once. */
static void post_with_cookie(QxlWorker *w, const Request *r, uint64_t cookie)
{
    post_copy(w, r, REQUEST_COOKIE, cookie);
}

/* Fire and forget: return at once; a copy of r runs on the worker and
 * nobody is told when. */
static void post_and_forget(QxlWorker *w, const Request *r)
{
    post_copy(w, r, REQUEST_FORGOTTEN, 0);
}

/* ---- the entry points ----------------------------------------------------------------- */

static void e_wakeup(void *data)
{
    QxlWorker *w = data;
    /* Fire and forget too, but at most one pass queued at a time, and no
     * allocation: the host calls this for every batch of commands. */
    if (g_atomic_int_compare_and_exchange(&w->wakeup_pending, 0, 1)) {
        display_host->loop_invoke(w->plugin, w->loop, wakeup_on_worker, w, false);
    }
}

static void e_oom(void *data)
{
    Request r = { .kind = REQ_OOM };
    post_and_forget(data, &r);
}

static void e_start(void *data)
{
    qxl_worker_set_running(data, true);
}

static void e_stop(void *data)
{
    qxl_worker_set_running(data, false);
}

/* clear_dirty_region asks to forget what is dirty: nothing ever is. */
static Request update_area_request(uint32_t surface_id, const QXLRect *area)
{
    Request r = { .kind = REQ_UPDATE_AREA, .u.update_area.surface_id = surface_id };
    if (area) {
        r.u.update_area.area = *area;
    }
    return r;
}

static void e_update_area(void *data, uint32_t surface_id, QXLRect *area, QXLRect *dirty_rects,
                          uint32_t num_dirty_rects, uint32_t clear_dirty_region)
{
    (void)clear_dirty_region;
    Request r = update_area_request(surface_id, area);
    r.u.update_area.dirty_rects = dirty_rects;
    r.u.update_area.num_dirty_rects = num_dirty_rects;
    post_and_wait(data, &r);
}

static void e_add_memslot(void *data, QXLDevMemSlot *slot)
{
    Request r = { .kind = REQ_ADD_MEMSLOT, .u.add_memslot = *slot };
    post_and_wait(data, &r);
}

static void e_del_memslot(void *data, uint32_t group, uint32_t slot)
{
    Request r = { .kind = REQ_DEL_MEMSLOT, .u.del_memslot = { .group = group, .slot = slot } };
    post_and_wait(data, &r);
}

static void e_reset_memslots(void *data)
{
    Request r = { .kind = REQ_RESET_MEMSLOTS };
    post_and_wait(data, &r);
}

static void e_destroy_surfaces(void *data)
{
    Request r = { .kind = REQ_DESTROY_SURFACES };
    post_and_wait(data, &r);
}

static void e_destroy_primary(void *data, uint32_t surface_id)
{
    Request r = { .kind = REQ_DESTROY_PRIMARY, .u.surface_id = surface_id };
    post_and_wait(data, &r);
    refresh_takes_config(data, false);
}

static void e_create_primary(void *data, uint32_t surface_id, QXLDevSurfaceCreate *surface)
{
    Request r = { .kind = REQ_CREATE_PRIMARY,
                  .u.create_primary = { .surface_id = surface_id, .create = *surface } };
    post_and_wait(data, &r);
    refresh_takes_config(data, false);
}

static void e_reset_image_cache(void *data)
{
    Request r = { .kind = REQ_RESET_IMAGE_CACHE };
    post_and_wait(data, &r);
}

static void e_reset_cursor(void *data)
{
    Request r = { .kind = REQ_RESET_CURSOR };
    post_and_wait(data, &r);
}

static void e_destroy_surface_wait(void *data, uint32_t surface_id)
{
    Request r = { .kind = REQ_DESTROY_SURFACE, .u.surface_id = surface_id };
    post_and_wait(data, &r);
}

static void e_loadvm_commands(void *data, QXLCommandExt *ext, uint32_t count)
{
    Request r = { .kind = REQ_LOADVM, .u.loadvm = { .ext = ext, .count = count } };
    post_and_wait(data, &r);
}

static void e_update_area_async(void *data, uint32_t surface_id, QXLRect *area,
                                uint32_t clear_dirty_region, uint64_t cookie)
{
    (void)clear_dirty_region;
    Request r = update_area_request(surface_id, area);
    post_with_cookie(data, &r, cookie);
}

static void e_add_memslot_async(void *data, QXLDevMemSlot *slot, uint64_t cookie)
{
    Request r = { .kind = REQ_ADD_MEMSLOT, .u.add_memslot = *slot };
    post_with_cookie(data, &r, cookie);
}

static void e_destroy_surfaces_async(void *data, uint64_t cookie)
{
    Request r = { .kind = REQ_DESTROY_SURFACES };
    post_with_cookie(data, &r, cookie);
}

static void e_destroy_primary_async(void *data, uint32_t surface_id, uint64_t cookie)
{
    Request r = { .kind = REQ_DESTROY_PRIMARY, .u.surface_id = surface_id };
    post_with_cookie(data, &r, cookie);
    refresh_takes_config(data, false);
}

static void e_create_primary_async(void *data, uint32_t surface_id, QXLDevSurfaceCreate *surface,
                                   uint64_t cookie)
{
    Request r = { .kind = REQ_CREATE_PRIMARY,
                  .u.create_primary = { .surface_id = surface_id, .create = *surface } };
    post_with_cookie(data, &r, cookie);
    refresh_takes_config(data, false);
}

static void e_destroy_surface_async(void *data, uint32_t surface_id, uint64_t cookie)
{
    Request r = { .kind = REQ_DESTROY_SURFACE, .u.surface_id = surface_id };
    post_with_cookie(data, &r, cookie);
}

static void e_flush_surfaces_async(void *data, uint64_t cookie)
{
    Request r = { .kind = REQ_FLUSH_SURFACES };
    post_with_cookie(data, &r, cookie);
}

static void e_monitors_config_async(void *data, QXLPHYSICAL monitors_config, int group_id,
                                    uint64_t cookie)
{
    Request r = { .kind = REQ_MONITORS_CONFIG,
                  .u.monitors_config = { .addr = monitors_config, .group = group_id } };
    post_with_cookie(data, &r, cookie);
}

static void e_driver_unload(void *data)
{
    Request r = { .kind = REQ_DRIVER_UNLOAD };
    post_and_forget(data, &r);
    refresh_takes_config(data, false);
}

static void e_set_max_monitors(void *data, unsigned int max_monitors)
{
    Request r = { .kind = REQ_SET_MAX_MONITORS, .u.max_monitors = max_monitors };
    post_and_forget(data, &r);
}

static void e_gl_scanout(void *data, int fd, uint32_t width, uint32_t height, uint32_t stride,
                         uint32_t format, int y_0_top)
{
    QxlWorker *w = data;
    (void)width, (void)height, (void)stride, (void)format, (void)y_0_top;
    /* GL scanout needs a local client that takes dma-buf file descriptors
     * over its unix socket, which this display channel does not pass. */
    if (g_atomic_int_compare_and_exchange(&w->gl_refusal_logged, 0, 1)) {
        display_host->log(w->plugin, SPICE_PLUGIN_LOG_WARNING,
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
    Request r = { .kind = REQ_GL_DRAW };
    post_with_cookie(data, &r, cookie);
}

static void e_set_device_info(void *data, const char *device_address, uint32_t start,
                              uint32_t count)
{
    QxlWorker *w = data;
    display_host->log(w->plugin, SPICE_PLUGIN_LOG_DEBUG,
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
    Request r = { .kind = REQ_SET_RUNNING, .u.running = running };
    /* Both wait: when vm_stop returns the worker no longer takes commands
     * from the rings (clients may still be sent pixels of the primary). */
    post_and_wait(w, &r);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

static void process_timer_cb(void *opaque)
{
    worker_process(opaque);
}

static void setup_on_worker(void *opaque)
{
    QxlWorker *w = opaque;
    w->process_timer = display_host->timer_new(w->plugin, w->loop, process_timer_cb, w);
}

static void teardown_on_worker(void *opaque)
{
    QxlWorker *w = opaque;
    destroy_all_surfaces(w);
    display_host->timer_free(w->process_timer);
    w->process_timer = NULL;
}

QxlWorker *qxl_worker_new(SpicePlugin *plugin, QXLInstance *qxl, const DisplayOutputOps *output,
                          const char **why)
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
    w->plugin = plugin;
    w->qxl = qxl;
    w->qif = qif;
    w->id = (uint32_t)qxl->id;
    w->ram_size = info.qxl_ram_size;
    w->output = output;
    w->source.clients_changed = clients_changed;
    w->source.opaque = w;
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
    g_mutex_init(&w->takes_lock);
    g_autofree char *name = g_strdup_printf("SPICE Worker %u", w->id);
    w->loop = display_host->loop_new(plugin, name);
    if (!w->loop) {
        *why = "cannot start the worker thread";
        g_mutex_clear(&w->takes_lock);
        g_free(w->surfaces);
        g_free(w);
        return NULL;
    }
    display_host->loop_invoke(plugin, w->loop, setup_on_worker, w, true);
    w->out = output->create(plugin, w->id, w->loop, &w->source, why);
    if (!w->out) {
        display_host->loop_invoke(plugin, w->loop, teardown_on_worker, w, true);
        display_host->loop_free(w->loop);
        g_mutex_clear(&w->takes_lock);
        g_free(w->surfaces);
        g_free(w);
        return NULL;
    }
    return w;
}

/* Asks the device (with NULL) whether it takes the client's monitors
 * config and publishes the display's facts when the answer changed (or
 * when `always`). Called on the host's threads where the guest's driver
 * may have come or gone: attach, primary surface create and destroy,
 * driver unload, and before a client config is handed over (the
 * reference asks as the agent starts). */
static bool refresh_takes_config(QxlWorker *w, bool always)
{
    const QXLInterface *qif = w->qif;
    g_mutex_lock(&w->takes_lock);
    bool takes = qif->base.minor_version >= 3 && qif->client_monitors_config &&
                 qif->client_monitors_config(w->qxl, NULL) != 0;
    if (always || takes != w->client_monitors_config) {
        w->client_monitors_config = takes;
        SpiceDisplayInfo dinfo = { .size = sizeof(dinfo),
                                   .ram_size = w->ram_size,
                                   .client_monitors_config = takes };
        publish(w, SPICE_TOPIC_DISPLAY, &dinfo, sizeof(dinfo), SPICE_TOPIC_RETAIN);
    }
    g_mutex_unlock(&w->takes_lock);
    return takes;
}

void qxl_worker_attach(QxlWorker *w)
{
    const QXLInterface *qif = w->qif;
    refresh_takes_config(w, true);
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

void qxl_worker_client_monitors_config(QxlWorker *w, const uint8_t *config, uint32_t size)
{
    if (!refresh_takes_config(w, false)) {
        return;
    }
    /* An aligned copy the device may keep reading during the call. */
    VDAgentMonitorsConfig *copy = g_malloc(size);
    memcpy(copy, config, size);
    w->qif->client_monitors_config(w->qxl, copy);
    g_free(copy);
}

void qxl_worker_free(QxlWorker *w)
{
    /* Clients go first (their teardown runs on the worker), then the
     * surfaces, releasing what the guest lent us; the output lives until
     * the loop is gone, as its clients' teardown may still be queued. */
    w->output->close(w->out);
    display_host->loop_invoke(w->plugin, w->loop, teardown_on_worker, w, true);
    display_host->loop_free(w->loop);
    w->output->free(w->out);
    /* Then the primary and the display are no longer facts. */
    publish(w, SPICE_TOPIC_PRIMARY, NULL, 0, SPICE_TOPIC_RETAIN);
    publish(w, SPICE_TOPIC_DISPLAY, NULL, 0, SPICE_TOPIC_RETAIN);
    g_mutex_clear(&w->takes_lock);
    g_free(w->surfaces);
    g_free(w);
}
