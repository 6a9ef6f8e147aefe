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

#include "interfaces.h"
#include "plugin-host.h"
#include "plugin-loader.h"
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

unsigned interfaces_count(SpiceServer *s, const char *key)
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

/* For the operator: the plugin files on the search path that were not
 * loaded (one of them may serve the interface; only spice-plugin-list
 * opens them to tell which). g_free the result. */
static char *not_loaded_text(SpiceServer *s)
{
    if (s->plugins_not_loaded->len == 0) {
        return g_strdup("no other plugin is installed");
    }
    GString *text = g_string_new("installed but not loaded: ");
    for (guint i = 0; i < s->plugins_not_loaded->len; i++) {
        g_string_append_printf(text, "%s%s", i ? ", " : "",
                               (const char *)g_ptr_array_index(s->plugins_not_loaded, i));
    }
    return g_string_free(text, FALSE);
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
    const char *portname = NULL;
    if (strcmp(type, SPICE_INTERFACE_CHAR_DEVICE) == 0) {
        subtype = ((SpiceCharDeviceInstance *)sin)->subtype;
        if (subtype && strcmp(subtype, "port") == 0) {
            portname = ((SpiceCharDeviceInstance *)sin)->portname;
        }
        if (!subtype) {
            g_warning("spice_server_add_interface: char device without a subtype");
            return -1;
        }
    }
    g_autofree char *key = plugin_interface_label(type, subtype);

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
        SpicePlugin *plugin = plugin_host_find_interface(s, type, subtype, portname, &klass);
        if (!plugin) {
            g_autofree char *others = not_loaded_text(s);
            g_warning("spice_server_add_interface: no enabled plugin serves the '%s' interface "
                      "(%s); 'spice-plugin-list --serves %s' names the plugins that do",
                      key, others, key);
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
 * The entry table serving `sin` when it has a non-NULL function at byte
 * `offset` (entry tables hold only function pointers after their size).
 * Otherwise logs once per API function (through *logged) why not and
 * returns NULL. *data gets the plugin's instance data.
 */
static const void *entry_table(SpiceBaseInstance *sin, const char *api, size_t offset, void **data,
                               gint *logged)
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
        if (size >= offset + sizeof(fn)) {
            memcpy(&fn, (const char *)table + offset, sizeof(fn));
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
    *data = r->iface_data;
    return table;
}

/* Typed forms of entry_table(), one per entry table type. */
static const SpiceKbdEntries *kbd_entries(SpiceKbdInstance *sin, const char *api, size_t offset,
                                          void **data, gint *logged)
{
    return entry_table(sin ? &sin->base : NULL, api, offset, data, logged);
}

static const SpiceQxlEntries *qxl_entries(QXLInstance *sin, const char *api, size_t offset,
                                          void **data, gint *logged)
{
    return entry_table(sin ? &sin->base : NULL, api, offset, data, logged);
}

static const SpicePlaybackEntries *playback_entries(SpicePlaybackInstance *sin, const char *api,
                                                    size_t offset, void **data, gint *logged)
{
    return entry_table(sin ? &sin->base : NULL, api, offset, data, logged);
}

static const SpiceRecordEntries *record_entries(SpiceRecordInstance *sin, const char *api,
                                                size_t offset, void **data, gint *logged)
{
    return entry_table(sin ? &sin->base : NULL, api, offset, data, logged);
}

static const SpiceCharDeviceEntries *char_device_entries(SpiceCharDeviceInstance *sin,
                                                         const char *api, size_t offset,
                                                         void **data, gint *logged)
{
    return entry_table(sin ? &sin->base : NULL, api, offset, data, logged);
}

SPICE_EXPORT int spice_server_kbd_leds(SpiceKbdInstance *sin, int leds)
{
    static gint logged;
    void *d;
    const SpiceKbdEntries *e =
        kbd_entries(sin, __func__, offsetof(SpiceKbdEntries, kbd_leds), &d, &logged);
    return e ? e->kbd_leds(d, sin, leds) : -1;
}

SPICE_EXPORT void spice_qxl_wakeup(QXLInstance *instance)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, wakeup), &data, &logged);
    if (e) {
        e->wakeup(data);
    }
}

SPICE_EXPORT void spice_qxl_oom(QXLInstance *instance)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, oom), &data, &logged);
    if (e) {
        e->oom(data);
    }
}

SPICE_EXPORT void spice_qxl_start(QXLInstance *instance)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, start), &data, &logged);
    if (e) {
        e->start(data);
    }
}

SPICE_EXPORT void spice_qxl_stop(QXLInstance *instance)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, stop), &data, &logged);
    if (e) {
        e->stop(data);
    }
}

SPICE_EXPORT void spice_qxl_update_area(QXLInstance *instance, uint32_t surface_id,
                                        struct QXLRect *area, struct QXLRect *dirty_rects,
                                        uint32_t num_dirty_rects, uint32_t clear_dirty_region)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, update_area), &data, &logged);
    if (e) {
        e->update_area(data, surface_id, area, dirty_rects, num_dirty_rects, clear_dirty_region);
    }
}

SPICE_EXPORT void spice_qxl_add_memslot(QXLInstance *instance, QXLDevMemSlot *slot)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, add_memslot), &data, &logged);
    if (e) {
        e->add_memslot(data, slot);
    }
}

SPICE_EXPORT void spice_qxl_del_memslot(QXLInstance *instance, uint32_t slot_group_id,
                                        uint32_t slot_id)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, del_memslot), &data, &logged);
    if (e) {
        e->del_memslot(data, slot_group_id, slot_id);
    }
}

SPICE_EXPORT void spice_qxl_reset_memslots(QXLInstance *instance)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, reset_memslots), &data, &logged);
    if (e) {
        e->reset_memslots(data);
    }
}

SPICE_EXPORT void spice_qxl_destroy_surfaces(QXLInstance *instance)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, destroy_surfaces), &data, &logged);
    if (e) {
        e->destroy_surfaces(data);
    }
}

SPICE_EXPORT void spice_qxl_destroy_primary_surface(QXLInstance *instance, uint32_t surface_id)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, destroy_primary_surface), &data, &logged);
    if (e) {
        e->destroy_primary_surface(data, surface_id);
    }
}

SPICE_EXPORT void spice_qxl_create_primary_surface(QXLInstance *instance, uint32_t surface_id,
                                                   QXLDevSurfaceCreate *surface)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, create_primary_surface), &data, &logged);
    if (e) {
        e->create_primary_surface(data, surface_id, surface);
    }
}

SPICE_EXPORT void spice_qxl_reset_image_cache(QXLInstance *instance)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, reset_image_cache), &data, &logged);
    if (e) {
        e->reset_image_cache(data);
    }
}

SPICE_EXPORT void spice_qxl_reset_cursor(QXLInstance *instance)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, reset_cursor), &data, &logged);
    if (e) {
        e->reset_cursor(data);
    }
}

SPICE_EXPORT void spice_qxl_destroy_surface_wait(QXLInstance *instance, uint32_t surface_id)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, destroy_surface_wait), &data, &logged);
    if (e) {
        e->destroy_surface_wait(data, surface_id);
    }
}

SPICE_EXPORT void spice_qxl_loadvm_commands(QXLInstance *instance, struct QXLCommandExt *ext,
                                            uint32_t count)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, loadvm_commands), &data, &logged);
    if (e) {
        e->loadvm_commands(data, ext, count);
    }
}

SPICE_EXPORT void spice_qxl_update_area_async(QXLInstance *instance, uint32_t surface_id,
                                              QXLRect *qxl_area, uint32_t clear_dirty_region,
                                              uint64_t cookie)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, update_area_async), &data, &logged);
    if (e) {
        e->update_area_async(data, surface_id, qxl_area, clear_dirty_region, cookie);
    }
}

SPICE_EXPORT void spice_qxl_add_memslot_async(QXLInstance *instance, QXLDevMemSlot *slot,
                                              uint64_t cookie)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, add_memslot_async), &data, &logged);
    if (e) {
        e->add_memslot_async(data, slot, cookie);
    }
}

SPICE_EXPORT void spice_qxl_destroy_surfaces_async(QXLInstance *instance, uint64_t cookie)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, destroy_surfaces_async), &data, &logged);
    if (e) {
        e->destroy_surfaces_async(data, cookie);
    }
}

SPICE_EXPORT void spice_qxl_destroy_primary_surface_async(QXLInstance *instance,
                                                          uint32_t surface_id, uint64_t cookie)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, destroy_primary_surface_async),
                    &data, &logged);
    if (e) {
        e->destroy_primary_surface_async(data, surface_id, cookie);
    }
}

SPICE_EXPORT void spice_qxl_create_primary_surface_async(QXLInstance *instance, uint32_t surface_id,
                                                         QXLDevSurfaceCreate *surface,
                                                         uint64_t cookie)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, create_primary_surface_async),
                    &data, &logged);
    if (e) {
        e->create_primary_surface_async(data, surface_id, surface, cookie);
    }
}

SPICE_EXPORT void spice_qxl_destroy_surface_async(QXLInstance *instance, uint32_t surface_id,
                                                  uint64_t cookie)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, destroy_surface_async), &data, &logged);
    if (e) {
        e->destroy_surface_async(data, surface_id, cookie);
    }
}

SPICE_EXPORT void spice_qxl_flush_surfaces_async(QXLInstance *instance, uint64_t cookie)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, flush_surfaces_async), &data, &logged);
    if (e) {
        e->flush_surfaces_async(data, cookie);
    }
}

SPICE_EXPORT void spice_qxl_monitors_config_async(QXLInstance *instance,
                                                  QXLPHYSICAL monitors_config, int group_id,
                                                  uint64_t cookie)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, monitors_config_async), &data, &logged);
    if (e) {
        e->monitors_config_async(data, monitors_config, group_id, cookie);
    }
}

SPICE_EXPORT void spice_qxl_driver_unload(QXLInstance *instance)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, driver_unload), &data, &logged);
    if (e) {
        e->driver_unload(data);
    }
}

SPICE_EXPORT void spice_qxl_set_max_monitors(QXLInstance *instance, unsigned int max_monitors)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e = qxl_entries(
        instance, __func__, offsetof(SpiceQxlEntries, set_max_monitors), &data, &logged);
    if (e) {
        e->set_max_monitors(data, max_monitors);
    }
}

SPICE_EXPORT void spice_qxl_gl_scanout(QXLInstance *qxl, int fd, uint32_t width, uint32_t height,
                                       uint32_t stride, uint32_t format, int y_0_top)
{
    static gint logged;
    void *d;
    const SpiceQxlEntries *e =
        qxl_entries(qxl, __func__, offsetof(SpiceQxlEntries, gl_scanout), &d, &logged);
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
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(qxl, __func__, offsetof(SpiceQxlEntries, gl_draw_async), &data, &logged);
    if (e) {
        e->gl_draw_async(data, x, y, w, h, cookie);
    }
}

SPICE_EXPORT void spice_qxl_set_device_info(QXLInstance *instance, const char *device_address,
                                            uint32_t device_display_id_start,
                                            uint32_t device_display_id_count)
{
    static gint logged;
    void *data;
    const SpiceQxlEntries *e =
        qxl_entries(instance, __func__, offsetof(SpiceQxlEntries, set_device_info), &data, &logged);
    if (e) {
        e->set_device_info(data, device_address, device_display_id_start, device_display_id_count);
    }
}

/* ---- audio ------------------------------------------------------------------ */

SPICE_EXPORT void spice_server_playback_start(SpicePlaybackInstance *sin)
{
    static gint logged;
    void *data;
    const SpicePlaybackEntries *e =
        playback_entries(sin, __func__, offsetof(SpicePlaybackEntries, start), &data, &logged);
    if (e) {
        e->start(data);
    }
}

SPICE_EXPORT void spice_server_playback_stop(SpicePlaybackInstance *sin)
{
    static gint logged;
    void *data;
    const SpicePlaybackEntries *e =
        playback_entries(sin, __func__, offsetof(SpicePlaybackEntries, stop), &data, &logged);
    if (e) {
        e->stop(data);
    }
}

SPICE_EXPORT void spice_server_playback_get_buffer(SpicePlaybackInstance *sin, uint32_t **samples,
                                                   uint32_t *num_samples)
{
    static gint logged;
    void *d;
    const SpicePlaybackEntries *e =
        playback_entries(sin, __func__, offsetof(SpicePlaybackEntries, get_buffer), &d, &logged);
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
    static gint logged;
    void *data;
    const SpicePlaybackEntries *e = playback_entries(
        sin, __func__, offsetof(SpicePlaybackEntries, put_samples), &data, &logged);
    if (e) {
        e->put_samples(data, samples);
    }
}

SPICE_EXPORT void spice_server_playback_set_volume(SpicePlaybackInstance *sin, uint8_t nchannels,
                                                   uint16_t *volume)
{
    static gint logged;
    void *data;
    const SpicePlaybackEntries *e =
        playback_entries(sin, __func__, offsetof(SpicePlaybackEntries, set_volume), &data, &logged);
    if (e) {
        e->set_volume(data, nchannels, volume);
    }
}

SPICE_EXPORT void spice_server_playback_set_mute(SpicePlaybackInstance *sin, uint8_t mute)
{
    static gint logged;
    void *data;
    const SpicePlaybackEntries *e =
        playback_entries(sin, __func__, offsetof(SpicePlaybackEntries, set_mute), &data, &logged);
    if (e) {
        e->set_mute(data, mute);
    }
}

/* The rate the audio codecs want (Opus: 48 kHz), as the reference
 * answers whatever the instance. */
#define AUDIO_BEST_RATE 48000

SPICE_EXPORT uint32_t spice_server_get_best_playback_rate(SpicePlaybackInstance *sin)
{
    /* QEMU asks before it adds its instance, with NULL. */
    if (!sin) {
        return AUDIO_BEST_RATE;
    }
    static gint logged;
    void *d;
    const SpicePlaybackEntries *e =
        playback_entries(sin, __func__, offsetof(SpicePlaybackEntries, get_best_rate), &d, &logged);
    return e ? e->get_best_rate(d) : AUDIO_BEST_RATE;
}

SPICE_EXPORT void spice_server_set_playback_rate(SpicePlaybackInstance *sin, uint32_t frequency)
{
    static gint logged;
    void *data;
    const SpicePlaybackEntries *e =
        playback_entries(sin, __func__, offsetof(SpicePlaybackEntries, set_rate), &data, &logged);
    if (e) {
        e->set_rate(data, frequency);
    }
}

SPICE_EXPORT void spice_server_record_start(SpiceRecordInstance *sin)
{
    static gint logged;
    void *data;
    const SpiceRecordEntries *e =
        record_entries(sin, __func__, offsetof(SpiceRecordEntries, start), &data, &logged);
    if (e) {
        e->start(data);
    }
}

SPICE_EXPORT void spice_server_record_stop(SpiceRecordInstance *sin)
{
    static gint logged;
    void *data;
    const SpiceRecordEntries *e =
        record_entries(sin, __func__, offsetof(SpiceRecordEntries, stop), &data, &logged);
    if (e) {
        e->stop(data);
    }
}

SPICE_EXPORT uint32_t spice_server_record_get_samples(SpiceRecordInstance *sin, uint32_t *samples,
                                                      uint32_t bufsize)
{
    static gint logged;
    void *d;
    const SpiceRecordEntries *e =
        record_entries(sin, __func__, offsetof(SpiceRecordEntries, get_samples), &d, &logged);
    return e ? e->get_samples(d, samples, bufsize) : 0;
}

SPICE_EXPORT void spice_server_record_set_volume(SpiceRecordInstance *sin, uint8_t nchannels,
                                                 uint16_t *volume)
{
    static gint logged;
    void *data;
    const SpiceRecordEntries *e =
        record_entries(sin, __func__, offsetof(SpiceRecordEntries, set_volume), &data, &logged);
    if (e) {
        e->set_volume(data, nchannels, volume);
    }
}

SPICE_EXPORT void spice_server_record_set_mute(SpiceRecordInstance *sin, uint8_t mute)
{
    static gint logged;
    void *data;
    const SpiceRecordEntries *e =
        record_entries(sin, __func__, offsetof(SpiceRecordEntries, set_mute), &data, &logged);
    if (e) {
        e->set_mute(data, mute);
    }
}

SPICE_EXPORT uint32_t spice_server_get_best_record_rate(SpiceRecordInstance *sin)
{
    /* QEMU asks before it adds its instance, with NULL. */
    if (!sin) {
        return AUDIO_BEST_RATE;
    }
    static gint logged;
    void *d;
    const SpiceRecordEntries *e =
        record_entries(sin, __func__, offsetof(SpiceRecordEntries, get_best_rate), &d, &logged);
    return e ? e->get_best_rate(d) : AUDIO_BEST_RATE;
}

SPICE_EXPORT void spice_server_set_record_rate(SpiceRecordInstance *sin, uint32_t frequency)
{
    static gint logged;
    void *data;
    const SpiceRecordEntries *e =
        record_entries(sin, __func__, offsetof(SpiceRecordEntries, set_rate), &data, &logged);
    if (e) {
        e->set_rate(data, frequency);
    }
}

/* ---- char devices ----------------------------------------------------------- */

SPICE_EXPORT void spice_server_char_device_wakeup(SpiceCharDeviceInstance *sin)
{
    static gint logged;
    void *data;
    const SpiceCharDeviceEntries *e = char_device_entries(
        sin, __func__, offsetof(SpiceCharDeviceEntries, wakeup), &data, &logged);
    if (e) {
        e->wakeup(data);
    }
}

SPICE_EXPORT void spice_server_port_event(SpiceCharDeviceInstance *sin, uint8_t event)
{
    static gint logged;
    void *data;
    const SpiceCharDeviceEntries *e = char_device_entries(
        sin, __func__, offsetof(SpiceCharDeviceEntries, port_event), &data, &logged);
    if (e) {
        e->port_event(data, event);
    }
}
