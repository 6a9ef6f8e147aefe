/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * display-output.h: the one interface between the QXL worker and the
 * DISPLAY channel.
 *
 * The worker (qxl-worker.c) owns the device, the surfaces and the
 * monitors config. It tells an output what clients must learn through a
 * DisplayOutputOps table; the DISPLAY channel (display-channel.c,
 * display_channel_output) is the implementation. The output never calls
 * the worker: what it reads (the primary surface, the monitors) is in the
 * DisplaySource the worker hands it at create, and what it reports back
 * (the capabilities its clients share) goes through the source's
 * clients_changed callback.
 *
 * Who calls what, on which thread:
 *   create, close, free   the worker, on the host thread (qxl_worker_new,
 *                         qxl_worker_free)
 *   the other ops         the worker, on its thread, after the change
 *   clients_changed       the output, on the worker thread, when a client
 *                         joins (once moved to the worker) or leaves
 *   the DisplaySource     written by the worker, read by the output, both
 *                         on the worker thread only
 *
 * Lifetime: the source lives from before create until after free. close
 * unregisters the channel; its clients are then torn down on the worker
 * loop, so the worker may still call the ops, and the output may still
 * call clients_changed, until free (after the worker's loop is gone).
 */
#ifndef SPICE_DISPLAY_DISPLAY_OUTPUT_H_
#define SPICE_DISPLAY_DISPLAY_OUTPUT_H_

#include <stdbool.h>
#include <stdint.h>

#include <pixman.h>

#include "spice-plugin.h"

#include "qxl-parse.h"

/* The primary surface, read-only for the output. */
typedef struct DisplayPrimary {
    uint32_t format; /* SPICE_SURFACE_FMT_* */
    uint32_t width;
    uint32_t height;
    int32_t stride;        /* bytes; negative: bottom-up memory */
    const uint8_t *row0;   /* the top row, in the surface format */
    pixman_image_t *image; /* the same pixels as a pixman image */
} DisplayPrimary;

typedef struct DisplaySource {
    const DisplayPrimary *primary; /* NULL while there is no primary surface */
    ParsedMonitors monitors;       /* the heads to announce; count 0: none */
    /* The connected clients changed: whether there are any, and the AND
     * of their display caps the guest cares about (1 << SPICE_DISPLAY_CAP_*;
     * 0 without clients). */
    void (*clients_changed)(void *opaque, bool present, uint32_t caps);
    void *opaque;
} DisplaySource;

typedef struct DisplayOutput DisplayOutput;

typedef struct DisplayOutputOps {
    /* Register DISPLAY channel `id`, whose clients run on `loop`. NULL with
     * a static *why when that fails. */
    DisplayOutput *(*create)(SpicePlugin *plugin, uint32_t id, SpicePluginLoop *loop,
                             const DisplaySource *source, const char **why);
    /* Unregister the channel (its clients go later, on the loop). */
    void (*close)(DisplayOutput *out);
    void (*free)(DisplayOutput *out);

    /* Pixels of the primary changed (the region lies inside it). */
    void (*damage)(DisplayOutput *out, const pixman_region32_t *damage);
    /* An opaque image was just drawn over all of box on the primary, or
     * (clip not NULL: the guest's clip, inside box) over that part. */
    void (*image)(DisplayOutput *out, const pixman_box32_t *box, const pixman_region32_t *clip);
    /* Box dest of the primary (inside it) is now a copy of the box of the
     * same size at src_x, src_y (both >= 0, maybe outside the surface). */
    void (*copy_bits)(DisplayOutput *out, const pixman_box32_t *dest, int32_t src_x, int32_t src_y);
    /* source->primary was set, or became NULL. */
    void (*primary_created)(DisplayOutput *out);
    void (*primary_destroyed)(DisplayOutput *out);
    /* source->monitors changed. */
    void (*monitors_changed)(DisplayOutput *out);
    /* spice_qxl_reset_image_cache: clients forget the images they hold. */
    void (*reset_caches)(DisplayOutput *out);
    /* Every surface was destroyed: clients start over. */
    void (*reset)(DisplayOutput *out);
    /* A batch of changes is done: clients may send. */
    void (*kick)(DisplayOutput *out);
} DisplayOutputOps;

/* ---- display-channel.c ---- */
extern const DisplayOutputOps display_channel_output;
extern const SpiceChannelClass display_channel_class;

#endif /* SPICE_DISPLAY_DISPLAY_OUTPUT_H_ */
