/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * qxl-host.h: a QXL device for tests, written the way a host (QEMU's qxl)
 * drives the server. Host memory stands in for guest memory: one memslot
 * group with one slot (QXL_HOST_SLOT) over a heap buffer, addresses are
 * slot id | generation | offset into that buffer. Commands are built in
 * that memory and queued on a display and a cursor ring; the callbacks
 * the server's worker calls record what they see (commands taken,
 * releases by release id, cookies, threads) under a lock, and the test
 * thread reads them through the accessors below while it pumps the
 * default GLib main context (where the server's core interface runs).
 *
 * Release ids: every command built with qxl_host_cmd_alloc() gets a fresh
 * id in its QXLReleaseInfo. The host knows which ids it built ("issued")
 * and which the server took ("handed": through get_command or
 * qxl_host_mark_handed for loadvm), so it can tell a release of an
 * unknown id or a second release of the same id.
 */
#ifndef SPICE_TEST_QXL_HOST_H_
#define SPICE_TEST_QXL_HOST_H_

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>
#include <spice.h>

#define QXL_HOST_GROUP      0
#define QXL_HOST_SLOT       1
#define QXL_HOST_N_SLOTS    4
#define QXL_HOST_ID_BITS    8
#define QXL_HOST_GEN_BITS   8
#define QXL_HOST_N_SURFACES 16
#define QXL_HOST_MEM_SIZE   (16u * 1024 * 1024)

/* How long a wait may take before the test fails (ASan builds are slow). */
#define QXL_HOST_TIMEOUT_MS 10000

typedef struct QxlHost QxlHost;

/* What the callbacks count. */
typedef enum {
    QXL_STAT_ATTACHE_WORKER,
    QXL_STAT_GET_INIT_INFO,
    QXL_STAT_SET_COMPRESSION,
    QXL_STAT_GET_COMMAND,
    QXL_STAT_GET_CURSOR_COMMAND,
    QXL_STAT_REQ_CMD_NOTIFICATION,
    QXL_STAT_REQ_CURSOR_NOTIFICATION,
    QXL_STAT_RELEASE,
    QXL_STAT_NOTIFY_UPDATE,
    QXL_STAT_FLUSH_RESOURCES,
    QXL_STAT_ASYNC_COMPLETE,
    QXL_STAT_UPDATE_AREA_COMPLETE,
    QXL_STAT_CLIENT_CAPS,
    QXL_STAT_CLIENT_MONITORS_CONFIG,
    QXL_STAT_COUNT
} QxlStat;

/* A device with instance id `id`; its interface is version major.minor
 * (SPICE_INTERFACE_QXL_MAJOR/MINOR for a normal host). Not yet added. */
QxlHost *qxl_host_new(int id, unsigned major, unsigned minor);
/* Before adding: run fn from inside the attache_worker callback, i.e.
 * while spice_server_add_interface() is still running (the reference's
 * test hosts add memslots and create the primary there). */
void qxl_host_on_attach(QxlHost *h, void (*fn)(QxlHost *h, void *opaque), void *opaque);
/* Before adding: an interface without async_complete, like hosts that
 * never call *_async entry points. */
void qxl_host_without_async_complete(QxlHost *h);
/* Frees the device (remove it from the server first). */
void qxl_host_free(QxlHost *h);

QXLInstance *qxl_host_instance(QxlHost *h);
SpiceBaseInstance *qxl_host_base(QxlHost *h);

/* The memslot covering the whole buffer at the current generation. */
QXLDevMemSlot qxl_host_memslot(QxlHost *h);
/* Addresses built from now on use this generation (after the slot was
 * re-added with it). */
void qxl_host_set_generation(QxlHost *h, uint32_t generation);

/* Guest memory: zeroed, 16-byte aligned, never at offset 0. */
void *qxl_host_alloc(QxlHost *h, size_t size);
/* The last `size` bytes of the slot (for reads that must stop at its end). */
void *qxl_host_alloc_at_end(QxlHost *h, size_t size);
uint8_t *qxl_host_mem(QxlHost *h);
QXLPHYSICAL qxl_host_phys(QxlHost *h, const void *p);
QXLPHYSICAL qxl_host_addr(uint32_t slot, uint32_t generation, uint64_t offset);

/* A fresh release id, recorded as issued (for commands built by hand). */
uint64_t qxl_host_issue_id(QxlHost *h);
/* Command memory of `size` bytes starting with a QXLReleaseInfo that
 * holds a fresh release id; the id is recorded as issued. */
void *qxl_host_cmd_alloc(QxlHost *h, size_t size);
uint64_t qxl_host_cmd_id(const void *cmd);
/* Queue a built command on the display (or cursor) ring and ring the
 * server's bell if it asked for a notification. Returns the release id. */
uint64_t qxl_host_push(QxlHost *h, uint32_t type, void *cmd);
uint64_t qxl_host_push_cursor(QxlHost *h, void *cmd);
/* Queue an arbitrary command (address, group, flags) that is not
 * tracked for release: its header may be unreadable to the server. */
void qxl_host_push_raw(QxlHost *h, uint32_t type, QXLPHYSICAL addr, uint32_t group);
/* A command given to the server outside get_command (loadvm). */
void qxl_host_mark_handed(QxlHost *h, uint64_t id);

/* Builders (commands are built, not queued, unless the name says push). */
QXLDrawable *qxl_host_drawable(QxlHost *h, uint32_t surface_id, uint8_t type, QXLRect bbox);
QXLDrawable *qxl_host_fill_cmd(QxlHost *h, uint32_t surface_id, QXLRect r, uint32_t color);
uint64_t qxl_host_push_fill(QxlHost *h, uint32_t surface_id, QXLRect r, uint32_t color);
/* A w x hh 32-bit bitmap image of top-down pixels px: flat in memory
 * (QXL_BITMAP_DIRECT, top-down) or as two data chunks, bottom-up. */
QXLImage *qxl_host_bitmap32(QxlHost *h, uint32_t w, uint32_t hh, const uint32_t *px, bool chunked);
QXLImage *qxl_host_surface_image(QxlHost *h, uint32_t surface_id, uint32_t w, uint32_t hh);
QXLDrawable *qxl_host_copy_cmd(QxlHost *h, uint32_t surface_id, QXLRect bbox, QXLImage *src,
                               QXLRect src_area);
QXLSurfaceCmd *qxl_host_surface_cmd(QxlHost *h, uint32_t surface_id, uint8_t type);
/* Build a QXL_SURFACE_CMD_CREATE of a w x hh xRGB surface (stride w * 4)
 * whose memory is filled with `fill` bytes; *data gets that memory. */
QXLSurfaceCmd *qxl_host_surface_create_cmd(QxlHost *h, uint32_t surface_id, uint32_t w, uint32_t hh,
                                           uint32_t flags, uint8_t fill, uint8_t **data);

QXLCursorCmd *qxl_host_cursor_cmd(QxlHost *h, uint8_t type);
/* A w x hh alpha cursor shape in one chunk. */
QXLCursor *qxl_host_cursor_shape(QxlHost *h, uint16_t w, uint16_t hh);

/* A primary surface of w x hh xRGB pixels in slot memory filled with
 * `fill` bytes; negative stride when bottom_up. Returns the lowest
 * address of its memory. */
uint8_t *qxl_host_primary(QxlHost *h, uint32_t w, uint32_t hh, bool bottom_up, uint8_t fill,
                          QXLDevSurfaceCreate *out);
/* Pixel (x, y) of a surface whose memory block starts at base. */
uint32_t qxl_host_pixel(const uint8_t *base, int32_t stride, uint32_t height, uint32_t x,
                        uint32_t y);

/* ---- what the server did (thread-safe) ---- */
guint qxl_host_stat(QxlHost *h, QxlStat stat);
guint qxl_host_released(QxlHost *h, uint64_t id);
/* 1 for the first release the host saw, 2 for the next...; 0: not released. */
guint qxl_host_release_seq(QxlHost *h, uint64_t id);
bool qxl_host_handed(QxlHost *h, uint64_t id);
guint qxl_host_cookie(QxlHost *h, uint64_t cookie);
/* Commands that were on the rings when `cookie` completed; -1 before. */
int qxl_host_queued_at_complete(QxlHost *h, uint64_t cookie);
/* Commands still queued on both rings. */
guint qxl_host_queued(QxlHost *h);
/* The thread that ran get_command first (NULL before). */
GThread *qxl_host_worker_thread(QxlHost *h);
uint32_t qxl_host_last_update_id(QxlHost *h);
/* The last update_area_complete: surface and first rect (count in *n). */
QXLRect qxl_host_last_updated(QxlHost *h, uint32_t *surface_id, uint32_t *n);
int qxl_host_compression_level(QxlHost *h);

/*
 * Fails the test when:
 *  - an id was released that the host never built or never handed over,
 *  - any id was released more than once,
 *  - a callback that belongs to the worker ran on another thread,
 *  - a release arrived with a group other than the command's,
 *  - all_handed and some handed command was never released.
 */
void qxl_host_check_releases(QxlHost *h, bool all_handed);

/* ---- waiting ---- */
/* One non-blocking iteration of the default main context, then 1 ms. */
void qxl_host_pump(void);
void qxl_host_pump_for(unsigned ms);

/* Pump until cond holds; fail the test after QXL_HOST_TIMEOUT_MS. */
#define QXL_WAIT(cond)                                                                    \
    do {                                                                                  \
        gint64 end_ = g_get_monotonic_time() + QXL_HOST_TIMEOUT_MS * (gint64)1000;        \
        while (!(cond)) {                                                                 \
            if (g_get_monotonic_time() > end_) {                                          \
                g_assert_true((cond) &&                                                   \
                              "timed out after " G_STRINGIFY(QXL_HOST_TIMEOUT_MS) " ms"); \
                break;                                                                    \
            }                                                                             \
            qxl_host_pump();                                                              \
        }                                                                                 \
    } while (0)

#endif /* SPICE_TEST_QXL_HOST_H_ */
