/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * interfaces.c: spice_server_add_interface() / remove_interface() and the
 * public entry points that act on an interface instance.
 *
 * Each interface type is served by the plugin that declared it. When the
 * host adds an instance, the core stores an InterfaceRecord in the
 * instance's server-owned `st` member; every entry point (spice_qxl_*,
 * spice_server_playback_*, spice_server_kbd_leds, ...) is a trampoline
 * that finds the record and calls the plugin's entry table. An instance
 * no enabled plugin serves is refused at add time; calling an entry point
 * on it logs (once per entry point) and returns the documented failure.
 */
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "plugin-host.h"
#include "server.h"

#define RECORD_MAGIC 0x52434552u /* "RECR" */

struct InterfaceRecord {
    uint32_t magic;
    SpiceServer *server;
    SpiceBaseInstance *sin;
    SpicePlugin *plugin;
    const SpiceInterfaceClass *klass;
    void *iface_data;
    bool added; /* add() returned; before that, entries wait for iface_data */
    char *key;  /* "tablet", "qxl", "char_device:vdagent" */
};

/* The instance's `st` member: its position depends on the type. */
static void **state_slot(SpiceBaseInstance *sin, const char *type)
{
    if (strcmp(type, SPICE_INTERFACE_QXL) == 0) {
        return (void **)&((QXLInstance *)sin)->st;
    }
    if (strcmp(type, SPICE_INTERFACE_CHAR_DEVICE) == 0) {
        return (void **)&((SpiceCharDeviceInstance *)sin)->st;
    }
    if (strcmp(type, SPICE_INTERFACE_KEYBOARD) == 0 || strcmp(type, SPICE_INTERFACE_MOUSE) == 0 ||
        strcmp(type, SPICE_INTERFACE_TABLET) == 0 || strcmp(type, SPICE_INTERFACE_PLAYBACK) == 0 ||
        strcmp(type, SPICE_INTERFACE_RECORD) == 0 || strcmp(type, SPICE_INTERFACE_MIGRATION) == 0) {
        /* SpiceXxxInstance { SpiceBaseInstance base; XxxState *st; } */
        return (void **)&((SpiceKbdInstance *)sin)->st;
    }
    return NULL;
}

unsigned server_count_interfaces(SpiceServer *s, const char *key)
{
    unsigned n = 0;
    for (GList *l = s->interfaces; l; l = l->next) {
        n += strcmp(((InterfaceRecord *)l->data)->key, key) == 0;
    }
    return n;
}

static bool already_added(SpiceServer *s, SpiceBaseInstance *sin)
{
    for (GList *l = s->interfaces; l; l = l->next) {
        if (((InterfaceRecord *)l->data)->sin == sin) {
            return true;
        }
    }
    return false;
}

/* Which of our plugins serves an interface, for messages to operators. */
static const char *first_party_plugin_for(const char *key)
{
    static const struct {
        const char *key;
        const char *plugin;
    } map[] = {
        { "keyboard", "libspice-plugin-inputs.so" },
        { "mouse", "libspice-plugin-inputs.so" },
        { "tablet", "libspice-plugin-inputs.so" },
        { "qxl", "libspice-plugin-display.so" },
        { "playback", "libspice-plugin-playback.so" },
        { "record", "libspice-plugin-record.so" },
        { "char_device:vdagent", "libspice-plugin-main.so with agent support" },
        { "char_device:usbredir", "libspice-plugin-usbredir.so" },
        { "char_device:smartcard", "libspice-plugin-smartcard.so" },
        { "char_device:port", "libspice-plugin-port.so" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(map); i++) {
        if (strcmp(map[i].key, key) == 0) {
            return map[i].plugin;
        }
    }
    return "a third-party plugin";
}

SPICE_EXPORT int spice_server_add_interface(SpiceServer *s, SpiceBaseInstance *sin)
{
    g_return_val_if_fail(s != NULL, -1);
    if (!sin || !sin->sif || !sin->sif->type) {
        g_warning("spice_server_add_interface: instance without an interface type");
        return -1;
    }
    const SpiceBaseInterface *sif = sin->sif;
    const char *type = sif->type;
    void **slot = state_slot(sin, type);
    if (!slot) {
        g_warning("spice_server_add_interface: unknown interface type '%s'", type);
        return -1;
    }
    if (!s->initialized) {
        g_warning("spice_server_add_interface('%s'): call spice_server_init() first", type);
        return -1;
    }
    if (already_added(s, sin)) {
        g_warning("spice_server_add_interface('%s'): this instance is already added", type);
        return -1;
    }
    const char *subtype = NULL;
    if (strcmp(type, SPICE_INTERFACE_CHAR_DEVICE) == 0) {
        subtype = ((SpiceCharDeviceInstance *)sin)->subtype;
        if (!subtype) {
            g_warning("spice_server_add_interface: char device without a subtype");
            return -1;
        }
    }
    g_autofree char *key = subtype ? g_strdup_printf("%s:%s", type, subtype) : g_strdup(type);

    InterfaceRecord *r = g_new0(InterfaceRecord, 1);
    r->magic = RECORD_MAGIC;
    r->server = s;
    r->sin = sin;

    if (strcmp(type, SPICE_INTERFACE_MIGRATION) == 0) {
        /* Kept by the core: it has no channel. Migration itself is not
         * supported yet; spice_server_migrate_* say so. */
        if (sif->major_version != SPICE_INTERFACE_MIGRATION_MAJOR ||
            sif->minor_version > SPICE_INTERFACE_MIGRATION_MINOR) {
            g_warning("spice_server_add_interface: migration interface %u.%u is not "
                      "supported (this server implements %u.%u)",
                      sif->major_version, sif->minor_version, SPICE_INTERFACE_MIGRATION_MAJOR,
                      SPICE_INTERFACE_MIGRATION_MINOR);
            g_free(r);
            return -1;
        }
    } else {
        const SpiceInterfaceClass *klass = NULL;
        SpicePlugin *plugin = plugin_host_find_interface(s, type, subtype, &klass);
        if (!plugin) {
            g_warning("spice_server_add_interface: no enabled plugin serves the '%s' interface; "
                      "enable the plugin that provides it (%s; see spice-plugin-list)",
                      key, first_party_plugin_for(key));
            g_free(r);
            return -1;
        }
        if (sif->major_version != klass->major || sif->minor_version > klass->minor) {
            g_warning("spice_server_add_interface: '%s' interface version %u.%u is not "
                      "supported: plugin '%s' implements %u.%u (major must match, minor must "
                      "not be newer)",
                      type, sif->major_version, sif->minor_version, plugin->name, klass->major,
                      klass->minor);
            g_free(r);
            return -1;
        }
        r->plugin = plugin;
        r->klass = klass;
        /* The record is in place while add() runs: hosts call entry
         * points from inside it (QXL's attache_worker adds memory slots
         * and creates the primary surface), and those reach the plugin
         * as soon as it has stored its instance data. */
        r->key = g_steal_pointer(&key);
        *slot = r;
        s->interfaces = g_list_append(s->interfaces, r);
        int rc = klass->add(plugin, sin, &r->iface_data);
        if (rc < 0) {
            g_warning("spice_server_add_interface: plugin '%s' refused the '%s' instance: %s",
                      plugin->name, r->key, g_strerror(-rc));
            s->interfaces = g_list_remove(s->interfaces, r);
            *slot = NULL;
            r->magic = 0;
            g_free(r->key);
            g_free(r);
            return -1;
        }
        r->added = true;
        server_update_mouse_mode(s);
        return 0;
    }
    r->added = true;
    r->key = g_steal_pointer(&key);
    *slot = r;
    s->interfaces = g_list_append(s->interfaces, r);
    server_update_mouse_mode(s);
    return 0;
}

static InterfaceRecord *record_get(SpiceBaseInstance *sin)
{
    if (!sin || !sin->sif || !sin->sif->type) {
        return NULL;
    }
    void **slot = state_slot(sin, sin->sif->type);
    InterfaceRecord *r = slot ? *slot : NULL;
    return r && r->magic == RECORD_MAGIC && r->sin == sin ? r : NULL;
}

static void record_release(InterfaceRecord *r)
{
    SpiceServer *s = r->server;
    if (r->plugin && r->klass->remove) {
        r->klass->remove(r->plugin, r->sin, r->iface_data);
    }
    void **slot = state_slot(r->sin, r->sin->sif->type);
    *slot = NULL;
    s->interfaces = g_list_remove(s->interfaces, r);
    r->magic = 0;
    g_free(r->key);
    g_free(r);
}

SPICE_EXPORT int spice_server_remove_interface(SpiceBaseInstance *sin)
{
    InterfaceRecord *r = record_get(sin);
    if (!r) {
        g_warning("spice_server_remove_interface: the instance was never added");
        return -1;
    }
    SpiceServer *s = r->server;
    record_release(r);
    server_update_mouse_mode(s);
    return 0;
}

/* Remove every instance of a plugin (server teardown). */
void interfaces_release_plugin(SpiceServer *s, SpicePlugin *plugin)
{
    GList *l = s->interfaces;
    while (l) {
        GList *next = l->next;
        InterfaceRecord *r = l->data;
        if (plugin == NULL || r->plugin == plugin) {
            record_release(r);
        }
        l = next;
    }
}

/* ---- trampolines --------------------------------------------------------- */

/*
 * Find the entry `member_offset` of the entry table serving `sin`. Logs
 * once per API function when the instance was not added or the plugin
 * does not implement the entry. Returns the table or NULL.
 */
static const void *entry_lookup(SpiceBaseInstance *sin, const char *api, size_t member_end,
                                size_t member_offset, void **iface_data, gint *logged)
{
    InterfaceRecord *r = record_get(sin);
    const char *missing = NULL;
    const void *table = NULL;
    if (!r) {
        missing = "the instance was not added (no enabled plugin serves its interface?)";
    } else if (!r->added && !r->iface_data) {
        missing = "called while the instance is being added, before its plugin was ready";
    } else if (!r->klass || !r->klass->entries) {
        missing = "the serving plugin has no entry points for it";
    } else {
        table = r->klass->entries;
        uint32_t size = *(const uint32_t *)table;
        void (*fn)(void) = NULL;
        if (size >= member_end) {
            memcpy(&fn, (const char *)table + member_offset, sizeof(fn));
        }
        if (!fn) {
            missing = "the serving plugin does not implement it";
            table = NULL;
        }
    }
    if (missing) {
        if (g_atomic_int_compare_and_exchange(logged, 0, 1)) {
            g_warning("%s: %s%s%s", api, missing, r && r->plugin ? "; plugin " : "",
                      r && r->plugin ? r->plugin->name : "");
        }
        return NULL;
    }
    *iface_data = r->iface_data;
    return table;
}

/* Look up `member` of an entries struct of type T for instance `inst`;
 * the calling function declares `static gint logged_`. */
#define ENTRY(T, inst, member, data)                                                              \
    ((const T *)entry_lookup((SpiceBaseInstance *)(inst), __func__,                               \
                             offsetof(T, member) + sizeof(((T *)0)->member), offsetof(T, member), \
                             (data), &logged_))

/* Call entry `member` of table type T with the parenthesised argument
 * list `args`, in which D stands for the instance's plugin data. */
#define D d_
#define CALL(T, inst, member, args)                \
    do {                                           \
        static gint logged_;                       \
        void *d_;                                  \
        const T *e_ = ENTRY(T, inst, member, &d_); \
        if (e_) {                                  \
            e_->member args;                       \
        }                                          \
    } while (0)

SPICE_EXPORT int spice_server_kbd_leds(SpiceKbdInstance *sin, int leds)
{
    static gint logged_;
    void *d;
    const SpiceKbdEntries *e = ENTRY(SpiceKbdEntries, sin, kbd_leds, &d);
    return e ? e->kbd_leds(d, sin, leds) : -1;
}

SPICE_EXPORT void spice_qxl_wakeup(QXLInstance *instance)
{
    CALL(SpiceQxlEntries, instance, wakeup, (D));
}

SPICE_EXPORT void spice_qxl_oom(QXLInstance *instance)
{
    CALL(SpiceQxlEntries, instance, oom, (D));
}

SPICE_EXPORT void spice_qxl_start(QXLInstance *instance)
{
    CALL(SpiceQxlEntries, instance, start, (D));
}

SPICE_EXPORT void spice_qxl_stop(QXLInstance *instance)
{
    CALL(SpiceQxlEntries, instance, stop, (D));
}

SPICE_EXPORT void spice_qxl_update_area(QXLInstance *instance, uint32_t surface_id,
                                        struct QXLRect *area, struct QXLRect *dirty_rects,
                                        uint32_t num_dirty_rects, uint32_t clear_dirty_region)
{
    CALL(SpiceQxlEntries, instance, update_area,
         (D, surface_id, area, dirty_rects, num_dirty_rects, clear_dirty_region));
}

SPICE_EXPORT void spice_qxl_add_memslot(QXLInstance *instance, QXLDevMemSlot *slot)
{
    CALL(SpiceQxlEntries, instance, add_memslot, (D, slot));
}

SPICE_EXPORT void spice_qxl_del_memslot(QXLInstance *instance, uint32_t slot_group_id,
                                        uint32_t slot_id)
{
    CALL(SpiceQxlEntries, instance, del_memslot, (D, slot_group_id, slot_id));
}

SPICE_EXPORT void spice_qxl_reset_memslots(QXLInstance *instance)
{
    CALL(SpiceQxlEntries, instance, reset_memslots, (D));
}

SPICE_EXPORT void spice_qxl_destroy_surfaces(QXLInstance *instance)
{
    CALL(SpiceQxlEntries, instance, destroy_surfaces, (D));
}

SPICE_EXPORT void spice_qxl_destroy_primary_surface(QXLInstance *instance, uint32_t surface_id)
{
    CALL(SpiceQxlEntries, instance, destroy_primary_surface, (D, surface_id));
}

SPICE_EXPORT void spice_qxl_create_primary_surface(QXLInstance *instance, uint32_t surface_id,
                                                   QXLDevSurfaceCreate *surface)
{
    CALL(SpiceQxlEntries, instance, create_primary_surface, (D, surface_id, surface));
}

SPICE_EXPORT void spice_qxl_reset_image_cache(QXLInstance *instance)
{
    CALL(SpiceQxlEntries, instance, reset_image_cache, (D));
}

SPICE_EXPORT void spice_qxl_reset_cursor(QXLInstance *instance)
{
    CALL(SpiceQxlEntries, instance, reset_cursor, (D));
}

SPICE_EXPORT void spice_qxl_destroy_surface_wait(QXLInstance *instance, uint32_t surface_id)
{
    CALL(SpiceQxlEntries, instance, destroy_surface_wait, (D, surface_id));
}

SPICE_EXPORT void spice_qxl_loadvm_commands(QXLInstance *instance, struct QXLCommandExt *ext,
                                            uint32_t count)
{
    CALL(SpiceQxlEntries, instance, loadvm_commands, (D, ext, count));
}

SPICE_EXPORT void spice_qxl_update_area_async(QXLInstance *instance, uint32_t surface_id,
                                              QXLRect *qxl_area, uint32_t clear_dirty_region,
                                              uint64_t cookie)
{
    CALL(SpiceQxlEntries, instance, update_area_async,
         (D, surface_id, qxl_area, clear_dirty_region, cookie));
}

SPICE_EXPORT void spice_qxl_add_memslot_async(QXLInstance *instance, QXLDevMemSlot *slot,
                                              uint64_t cookie)
{
    CALL(SpiceQxlEntries, instance, add_memslot_async, (D, slot, cookie));
}

SPICE_EXPORT void spice_qxl_destroy_surfaces_async(QXLInstance *instance, uint64_t cookie)
{
    CALL(SpiceQxlEntries, instance, destroy_surfaces_async, (D, cookie));
}

SPICE_EXPORT void spice_qxl_destroy_primary_surface_async(QXLInstance *instance,
                                                          uint32_t surface_id, uint64_t cookie)
{
    CALL(SpiceQxlEntries, instance, destroy_primary_surface_async, (D, surface_id, cookie));
}

SPICE_EXPORT void spice_qxl_create_primary_surface_async(QXLInstance *instance, uint32_t surface_id,
                                                         QXLDevSurfaceCreate *surface,
                                                         uint64_t cookie)
{
    CALL(SpiceQxlEntries, instance, create_primary_surface_async, (D, surface_id, surface, cookie));
}

SPICE_EXPORT void spice_qxl_destroy_surface_async(QXLInstance *instance, uint32_t surface_id,
                                                  uint64_t cookie)
{
    CALL(SpiceQxlEntries, instance, destroy_surface_async, (D, surface_id, cookie));
}

SPICE_EXPORT void spice_qxl_flush_surfaces_async(QXLInstance *instance, uint64_t cookie)
{
    CALL(SpiceQxlEntries, instance, flush_surfaces_async, (D, cookie));
}

SPICE_EXPORT void spice_qxl_monitors_config_async(QXLInstance *instance,
                                                  QXLPHYSICAL monitors_config, int group_id,
                                                  uint64_t cookie)
{
    CALL(SpiceQxlEntries, instance, monitors_config_async, (D, monitors_config, group_id, cookie));
}

SPICE_EXPORT void spice_qxl_driver_unload(QXLInstance *instance)
{
    CALL(SpiceQxlEntries, instance, driver_unload, (D));
}

SPICE_EXPORT void spice_qxl_set_max_monitors(QXLInstance *instance, unsigned int max_monitors)
{
    CALL(SpiceQxlEntries, instance, set_max_monitors, (D, max_monitors));
}

SPICE_EXPORT void spice_qxl_gl_scanout(QXLInstance *qxl, int fd, uint32_t width, uint32_t height,
                                       uint32_t stride, uint32_t format, int y_0_top)
{
    static gint logged_;
    void *d;
    const SpiceQxlEntries *e = ENTRY(SpiceQxlEntries, qxl, gl_scanout, &d);
    if (!e) {
        if (fd >= 0) {
            close(fd); /* the fd was handed to us either way */
        }
        return;
    }
    e->gl_scanout(d, fd, width, height, stride, format, y_0_top);
}

SPICE_EXPORT void spice_qxl_gl_draw_async(QXLInstance *qxl, uint32_t x, uint32_t y, uint32_t w,
                                          uint32_t h, uint64_t cookie)
{
    CALL(SpiceQxlEntries, qxl, gl_draw_async, (D, x, y, w, h, cookie));
}

SPICE_EXPORT void spice_qxl_set_device_info(QXLInstance *instance, const char *device_address,
                                            uint32_t device_display_id_start,
                                            uint32_t device_display_id_count)
{
    CALL(SpiceQxlEntries, instance, set_device_info,
         (D, device_address, device_display_id_start, device_display_id_count));
}

/* ---- audio ------------------------------------------------------------------ */

SPICE_EXPORT void spice_server_playback_start(SpicePlaybackInstance *sin)
{
    CALL(SpicePlaybackEntries, sin, start, (D));
}

SPICE_EXPORT void spice_server_playback_stop(SpicePlaybackInstance *sin)
{
    CALL(SpicePlaybackEntries, sin, stop, (D));
}

SPICE_EXPORT void spice_server_playback_get_buffer(SpicePlaybackInstance *sin, uint32_t **samples,
                                                   uint32_t *num_samples)
{
    static gint logged_;
    void *d;
    const SpicePlaybackEntries *e = ENTRY(SpicePlaybackEntries, sin, get_buffer, &d);
    if (!e) {
        /* "No buffer": the host drops the audio. */
        *samples = NULL;
        *num_samples = 0;
        return;
    }
    e->get_buffer(d, samples, num_samples);
}

SPICE_EXPORT void spice_server_playback_put_samples(SpicePlaybackInstance *sin, uint32_t *samples)
{
    CALL(SpicePlaybackEntries, sin, put_samples, (D, samples));
}

SPICE_EXPORT void spice_server_playback_set_volume(SpicePlaybackInstance *sin, uint8_t nchannels,
                                                   uint16_t *volume)
{
    CALL(SpicePlaybackEntries, sin, set_volume, (D, nchannels, volume));
}

SPICE_EXPORT void spice_server_playback_set_mute(SpicePlaybackInstance *sin, uint8_t mute)
{
    CALL(SpicePlaybackEntries, sin, set_mute, (D, mute));
}

SPICE_EXPORT uint32_t spice_server_get_best_playback_rate(SpicePlaybackInstance *sin)
{
    static gint logged_;
    void *d;
    const SpicePlaybackEntries *e = ENTRY(SpicePlaybackEntries, sin, get_best_rate, &d);
    return e ? e->get_best_rate(d) : SPICE_INTERFACE_PLAYBACK_FREQ;
}

SPICE_EXPORT void spice_server_set_playback_rate(SpicePlaybackInstance *sin, uint32_t frequency)
{
    CALL(SpicePlaybackEntries, sin, set_rate, (D, frequency));
}

SPICE_EXPORT void spice_server_record_start(SpiceRecordInstance *sin)
{
    CALL(SpiceRecordEntries, sin, start, (D));
}

SPICE_EXPORT void spice_server_record_stop(SpiceRecordInstance *sin)
{
    CALL(SpiceRecordEntries, sin, stop, (D));
}

SPICE_EXPORT uint32_t spice_server_record_get_samples(SpiceRecordInstance *sin, uint32_t *samples,
                                                      uint32_t bufsize)
{
    static gint logged_;
    void *d;
    const SpiceRecordEntries *e = ENTRY(SpiceRecordEntries, sin, get_samples, &d);
    return e ? e->get_samples(d, samples, bufsize) : 0;
}

SPICE_EXPORT void spice_server_record_set_volume(SpiceRecordInstance *sin, uint8_t nchannels,
                                                 uint16_t *volume)
{
    CALL(SpiceRecordEntries, sin, set_volume, (D, nchannels, volume));
}

SPICE_EXPORT void spice_server_record_set_mute(SpiceRecordInstance *sin, uint8_t mute)
{
    CALL(SpiceRecordEntries, sin, set_mute, (D, mute));
}

SPICE_EXPORT uint32_t spice_server_get_best_record_rate(SpiceRecordInstance *sin)
{
    static gint logged_;
    void *d;
    const SpiceRecordEntries *e = ENTRY(SpiceRecordEntries, sin, get_best_rate, &d);
    return e ? e->get_best_rate(d) : SPICE_INTERFACE_RECORD_FREQ;
}

SPICE_EXPORT void spice_server_set_record_rate(SpiceRecordInstance *sin, uint32_t frequency)
{
    CALL(SpiceRecordEntries, sin, set_rate, (D, frequency));
}

/* ---- char devices ----------------------------------------------------------- */

SPICE_EXPORT void spice_server_char_device_wakeup(SpiceCharDeviceInstance *sin)
{
    CALL(SpiceCharDeviceEntries, sin, wakeup, (D));
}

SPICE_EXPORT void spice_server_port_event(SpiceCharDeviceInstance *sin, uint8_t event)
{
    CALL(SpiceCharDeviceEntries, sin, port_event, (D, event));
}
