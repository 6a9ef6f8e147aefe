/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-qxl.h: the QXL display interface. The host (QEMU's qxl device or
 * its simple display for std VGA) hands the server a ring of drawing,
 * surface and cursor commands; the server reads them through guest memory
 * slots, renders them and sends the result to clients.
 *
 * The spice_qxl_* calls below come from the host's thread. Calls without
 * "_async" return when the server's display worker has finished them;
 * "_async" calls return at once and the server later calls
 * QXLInterface.async_complete(cookie) exactly once.
 */
#ifndef SPICE_QXL_H_
#define SPICE_QXL_H_

#if !defined(SPICE_H_INSIDE) && !defined(SPICE_SERVER_INTERNAL)
#error "include <spice.h>, not this header"
#endif

#include "spice-core.h"

SPICE_BEGIN_DECLS

#ifndef SPICE_CAPABILITIES_SIZE
#define SPICE_CAPABILITIES_SIZE (sizeof(((QXLRom *)0)->client_capabilities))
#endif

#define SPICE_INTERFACE_QXL       "qxl"
#define SPICE_INTERFACE_QXL_MAJOR 3
#define SPICE_INTERFACE_QXL_MINOR 3
typedef struct QXLInterface QXLInterface;
typedef struct QXLInstance QXLInstance;
typedef struct QXLState QXLState;
typedef struct QXLWorker QXLWorker;
typedef struct QXLDevMemSlot QXLDevMemSlot;
typedef struct QXLDevSurfaceCreate QXLDevSurfaceCreate;

/* New commands are waiting; cheap, may be called often. */
void spice_qxl_wakeup(QXLInstance *instance);
/* The guest ran out of command/release resources. */
void spice_qxl_oom(QXLInstance *instance);
void spice_qxl_start(QXLInstance *instance) SPICE_GNUC_DEPRECATED;
void spice_qxl_stop(QXLInstance *instance) SPICE_GNUC_DEPRECATED;
void spice_qxl_update_area(QXLInstance *instance, uint32_t surface_id, struct QXLRect *area,
                           struct QXLRect *dirty_rects, uint32_t num_dirty_rects,
                           uint32_t clear_dirty_region);
void spice_qxl_add_memslot(QXLInstance *instance, QXLDevMemSlot *slot);
void spice_qxl_del_memslot(QXLInstance *instance, uint32_t slot_group_id, uint32_t slot_id);
void spice_qxl_reset_memslots(QXLInstance *instance);
void spice_qxl_destroy_surfaces(QXLInstance *instance);
void spice_qxl_destroy_primary_surface(QXLInstance *instance, uint32_t surface_id);
void spice_qxl_create_primary_surface(QXLInstance *instance, uint32_t surface_id,
                                      QXLDevSurfaceCreate *surface);
void spice_qxl_reset_image_cache(QXLInstance *instance);
void spice_qxl_reset_cursor(QXLInstance *instance);
void spice_qxl_destroy_surface_wait(QXLInstance *instance, uint32_t surface_id);
void spice_qxl_loadvm_commands(QXLInstance *instance, struct QXLCommandExt *ext, uint32_t count);

void spice_qxl_update_area_async(QXLInstance *instance, uint32_t surface_id, QXLRect *qxl_area,
                                 uint32_t clear_dirty_region, uint64_t cookie);
void spice_qxl_add_memslot_async(QXLInstance *instance, QXLDevMemSlot *slot, uint64_t cookie);
void spice_qxl_destroy_surfaces_async(QXLInstance *instance, uint64_t cookie);
void spice_qxl_destroy_primary_surface_async(QXLInstance *instance, uint32_t surface_id,
                                             uint64_t cookie);
void spice_qxl_create_primary_surface_async(QXLInstance *instance, uint32_t surface_id,
                                            QXLDevSurfaceCreate *surface, uint64_t cookie);
void spice_qxl_destroy_surface_async(QXLInstance *instance, uint32_t surface_id, uint64_t cookie);
void spice_qxl_flush_surfaces_async(QXLInstance *instance, uint64_t cookie);
void spice_qxl_monitors_config_async(QXLInstance *instance, QXLPHYSICAL monitors_config,
                                     int group_id, uint64_t cookie);
void spice_qxl_driver_unload(QXLInstance *instance);
void spice_qxl_set_max_monitors(QXLInstance *instance,
                                unsigned int max_monitors) SPICE_GNUC_DEPRECATED;

/* GL scanout (virgl): fd is a dma-buf, its ownership passes to the server. */
void spice_qxl_gl_scanout(QXLInstance *qxl, int fd, uint32_t width, uint32_t height,
                          uint32_t stride, uint32_t format, int y_0_top);
void spice_qxl_gl_draw_async(QXLInstance *qxl, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
                             uint64_t cookie);

void spice_qxl_set_device_info(QXLInstance *instance, const char *device_address,
                               uint32_t device_display_id_start, uint32_t device_display_id_count);

/* What the host tells the server about its memory slots and surfaces. */
typedef struct QXLDevInitInfo {
    uint32_t num_memslots_groups;
    uint32_t num_memslots;
    uint8_t memslot_gen_bits;
    uint8_t memslot_id_bits;
    uint32_t qxl_ram_size;
    uint8_t internal_groupslot_id;
    uint32_t n_surfaces;
} QXLDevInitInfo;

/* A region of guest memory mapped at virt_start..virt_end in the host. */
struct QXLDevMemSlot {
    uint32_t slot_group_id;
    uint32_t slot_id;
    uint32_t generation;
    uintptr_t virt_start;
    uintptr_t virt_end;
    uint64_t addr_delta;
    uint32_t qxl_ram_size;
};

/* Parameters of the primary surface; stride < 0 means bottom-up rows. */
struct QXLDevSurfaceCreate {
    uint32_t width;
    uint32_t height;
    int32_t stride;
    uint32_t format;
    uint32_t position;
    uint32_t mouse_mode;
    uint32_t flags;
    uint32_t type;
    uint64_t mem;
    uint32_t group_id;
};

/* Callbacks from the server into the host's display device. */
struct QXLInterface {
    SpiceBaseInterface base;

    union {
        void (*attached_worker)(QXLInstance *qin);
        void (*attache_worker)(QXLInstance *qin, QXLWorker *qxl_worker) SPICE_GNUC_DEPRECATED;
    };
    void (*set_compression_level)(QXLInstance *qin, int level);
    void (*set_mm_time)(QXLInstance *qin, uint32_t mm_time) SPICE_GNUC_DEPRECATED;
    void (*get_init_info)(QXLInstance *qin, QXLDevInitInfo *info);

    /* Non-blocking: 1 and *cmd filled when a command was taken, else 0. */
    int (*get_command)(QXLInstance *qin, struct QXLCommandExt *cmd);
    /* Ask for a spice_qxl_wakeup() when commands arrive; returns 0 when
     * commands are already waiting (no wakeup will follow). */
    int (*req_cmd_notification)(QXLInstance *qin);
    void (*release_resource)(QXLInstance *qin, struct QXLReleaseInfoExt release_info);
    int (*get_cursor_command)(QXLInstance *qin, struct QXLCommandExt *cmd);
    int (*req_cursor_notification)(QXLInstance *qin);
    void (*notify_update)(QXLInstance *qin, uint32_t update_id);
    int (*flush_resources)(QXLInstance *qin);
    void (*async_complete)(QXLInstance *qin, uint64_t cookie);
    void (*update_area_complete)(QXLInstance *qin, uint32_t surface_id,
                                 struct QXLRect *updated_rects, uint32_t num_updated_rects);
    /* Since minor 2. */
    void (*set_client_capabilities)(QXLInstance *qin, uint8_t client_present,
                                    uint8_t caps[SPICE_CAPABILITIES_SIZE]);
    /* Since minor 3. With monitors_config NULL only reports support (1/0). */
    int (*client_monitors_config)(QXLInstance *qin, VDAgentMonitorsConfig *monitors_config);
};

struct QXLInstance {
    SpiceBaseInstance base;
    int id;
    QXLState *st;
};

SPICE_END_DECLS

#endif /* SPICE_QXL_H_ */
