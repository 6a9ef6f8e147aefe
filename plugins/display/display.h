/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * display.h: the display plugin's internal pieces.
 *
 *   display-plugin.c  plugin descriptor, the "qxl" interface, the
 *                     spice_qxl_* entry points (posted to the worker)
 *   qxl-worker.c      one worker thread per QXL instance: memory slots,
 *                     surfaces, command processing and rendering
 *   display-channel.c the DISPLAY channel: one DisplayClient per
 *                     connected client, fed from per-client dirty regions
 *
 * Threads: the entry points run on the host's thread (QEMU's vCPU or main
 * thread) and hand work to the worker with loop_invoke; everything in a
 * QxlWorker and its DisplayClients is touched only on the worker thread.
 */
#ifndef SPICE_DISPLAY_DISPLAY_H_
#define SPICE_DISPLAY_DISPLAY_H_

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <pixman.h>

#include "spice-plugin.h"

#include "canvas.h"
#include "memslot.h"
#include "qxl-parse.h"

/* The host-services table (one per process; see spice-plugin.h). */
extern const SpiceHostServices *display_host;

typedef struct QxlWorker QxlWorker;
typedef struct DisplayClient DisplayClient;

typedef struct DisplayPlugin {
    SpicePlugin *plugin;
    GList *workers; /* QxlWorker*, host thread */
} DisplayPlugin;

typedef struct Surface {
    bool exists;
    bool primary;
    uint32_t format;
    uint32_t width;
    uint32_t height;
    int32_t stride;
    uint8_t *row0;
    Canvas *canvas;
    /* The create command's resources, released when the surface goes. */
    QXLReleaseInfo *release;
    uint32_t release_group;
} Surface;

struct QxlWorker {
    DisplayPlugin *dp;
    QXLInstance *qxl;
    const QXLInterface *qif;
    uint32_t id;
    SpicePluginLoop *loop;
    SpiceChannel *channel; /* registered on the host thread */

    /* worker thread only */
    MemSlots slots;
    uint32_t n_surfaces;
    Surface *surfaces;
    uint32_t ram_size;
    bool running;
    bool replaying; /* loadvm_commands: surfaces keep their memory */
    gint gl_refusal_logged;
    gint async_refusal_logged;
    bool cmd_notify;    /* asked for a wakeup on the command ring */
    bool cursor_notify; /* ... on the cursor ring */
    SpicePluginTimer *process_timer;
    GList *clients; /* DisplayClient* */
    ParsedMonitors monitors;
    bool driver_monitors; /* monitors came from the guest driver */
    uint32_t max_monitors;
    uint32_t client_caps_sent; /* last caps given to set_client_capabilities */
    bool client_present_sent;
    unsigned warnings; /* rate limit for bad-command warnings */

    /* any thread */
    gint wakeup_pending;
};

/* ---- qxl-worker.c ---- */
/* Host thread: the worker, its thread and its display channel. */
QxlWorker *qxl_worker_new(DisplayPlugin *dp, QXLInstance *qxl, const char **why);
/* Host thread, once the worker is the instance's data: announce the
 * display and call the host's attache_worker (which may call spice_qxl_*
 * entry points right away). */
void qxl_worker_attach(QxlWorker *w);
void qxl_worker_free(QxlWorker *w);
/* Entry tables: the "qxl" interface's SpiceQxlEntries. */
extern const SpiceQxlEntries qxl_worker_entries;
/* Host thread: vm start/stop (stop waits for the worker). */
void qxl_worker_set_running(QxlWorker *w, bool running);
Surface *qxl_worker_primary(QxlWorker *w);
/* Worker thread: the guest's capabilities from the connected clients. */
void qxl_worker_update_client_caps(QxlWorker *w);

/* ---- display-channel.c ---- */
extern const SpiceChannelClass display_channel_class;
/* Worker thread: something changed; tell every client. */
void display_clients_damage(QxlWorker *w, const pixman_region32_t *damage);
void display_clients_image(QxlWorker *w, const pixman_box32_t *box);
/* A copy of the box dest from src_x/src_y happened on the primary. */
void display_clients_copy_bits(QxlWorker *w, const pixman_box32_t *dest, int32_t src_x,
                               int32_t src_y);
void display_clients_primary_created(QxlWorker *w);
void display_clients_primary_destroyed(QxlWorker *w);
void display_clients_monitors_changed(QxlWorker *w);
void display_clients_reset_caches(QxlWorker *w);
void display_clients_reset(QxlWorker *w);
/* Offer every client the chance to send (after a batch of commands). */
void display_clients_kick(QxlWorker *w);
/* AND of the clients' display capabilities the guest cares about. */
uint32_t display_clients_caps(QxlWorker *w, bool *present);

#endif /* SPICE_DISPLAY_DISPLAY_H_ */
