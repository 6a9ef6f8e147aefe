/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inventory.c: what the server would do with each plugin in the search
 * path, in its load order, and what this build produced.
 *
 * The verdicts are the loader's: plugin_config_enabled() for enabled and
 * why, the gate (run by probe.c in a child), then
 * plugin_descriptor_check_conflict() against the plugins accepted before,
 * and the loader's errors for files the config needs but the path lacks.
 */
#include <stdio.h>
#include <string.h>

#include "plugin-list.h"
#include "plugin-list-build.h"

const char *const inventory_build_version = PLUGIN_LIST_BUILD_VERSION;
const BuiltItem inventory_built_plugins[] = { PLUGIN_LIST_BUILT_PLUGINS };
const BuiltItem inventory_built_codecs[] = { PLUGIN_LIST_BUILT_CODECS };

static PluginReport *report_new(const PluginConfig *config, const char *name, const char *path,
                                const char *shadowed)
{
    PluginReport *r = g_new0(PluginReport, 1);
    r->name = g_strdup(name);
    r->path = g_strdup(path);
    r->shadowed = g_strdup(shadowed);
    const char *why = NULL;
    r->enabled = plugin_config_enabled(config, r->name, &why);
    r->enabled_reason = g_strdup(why);
    r->optional = plugin_config_optional(config, r->name);
    return r;
}

static void report_free(gpointer data)
{
    PluginReport *r = data;
    g_free(r->name);
    g_free(r->path);
    g_free(r->shadowed);
    g_free(r->reason);
    g_free(r->enabled_reason);
    probe_description_free(r->desc);
    g_free(r);
}

/* A report for a file the server needs but the path lacks. */
static void add_missing(GPtrArray *reports, const PluginConfig *config, const char *name,
                        GError *error)
{
    PluginReport *r = report_new(config, name, NULL, NULL);
    r->status = STATUS_ERROR;
    r->reason = g_strdup(error->message);
    g_error_free(error);
    g_ptr_array_add(reports, r);
}

static bool has_report(GPtrArray *reports, const char *name)
{
    for (guint i = 0; i < reports->len; i++) {
        if (strcmp(((PluginReport *)g_ptr_array_index(reports, i))->name, name) == 0) {
            return true;
        }
    }
    return false;
}

/* Like the server: the first plugin in load order that claims a channel
 * type or an interface keeps it. Returns the reason, or NULL. */
static char *find_conflict(const PluginReport *r, GPtrArray *accepted)
{
    for (guint i = 0; i < accepted->len; i++) {
        const PluginReport *other = g_ptr_array_index(accepted, i);
        g_autoptr(GError) error = NULL;
        if (!plugin_descriptor_check_conflict(r->desc, r->path, other->desc, other->name,
                                              other->path, &error)) {
            return g_strdup(error->message);
        }
    }
    return NULL;
}

GPtrArray *inventory_build(const PluginConfig *config, GPtrArray *files, const char *last,
                           const char *path_text, bool open_disabled)
{
    GPtrArray *reports = g_ptr_array_new_with_free_func(report_free);
    g_autoptr(GPtrArray) accepted = g_ptr_array_new();
    bool main_found = false;
    for (guint i = 0; i < files->len; i++) {
        const PluginFile *f = g_ptr_array_index(files, i);
        PluginReport *r = report_new(config, f->name, f->path, f->shadowed);
        g_ptr_array_add(reports, r);
        bool is_main = strcmp(f->name, "main") == 0;
        main_found |= is_main;
        if (r->enabled || open_disabled) {
            probe_plugin(r);
        }
        if (!r->enabled) {
            /* The server refuses to start without main; anything else is
             * simply not loaded. */
            r->status = is_main ? STATUS_ERROR : STATUS_DISABLED;
            g_free(r->reason);
            r->reason = g_strdup(r->enabled_reason);
        } else if (r->status == STATUS_OK) {
            r->reason = find_conflict(r, accepted);
            if (r->reason) {
                r->status = STATUS_ERROR;
            } else {
                g_ptr_array_add(accepted, r);
            }
        }
        if (last && strcmp(f->name, last) == 0) {
            return reports;
        }
    }
    if (last) {
        return reports;
    }
    if (!main_found) {
        add_missing(reports, config, "main", plugin_error_main_missing(path_text));
    }
    for (const char *const *req = plugin_config_requested(config); req && *req; req++) {
        if (!has_report(reports, *req)) {
            add_missing(reports, config, *req, plugin_error_missing(*req, path_text));
        }
    }
    return reports;
}

const SpiceInterfaceClass *inventory_serves(const PluginReport *r, const char *type,
                                            const char *subtype)
{
    if (!r->desc) {
        return NULL;
    }
    if (subtype) {
        return plugin_descriptor_find_interface(r->desc, type, subtype);
    }
    for (const SpiceInterfaceClass *const *k = r->desc->interfaces; k && *k; k++) {
        if (strcmp((*k)->type, type) == 0) {
            return *k;
        }
    }
    return NULL;
}

bool inventory_unreadable(const PluginReport *r)
{
    return r->path && !r->desc;
}

const char *inventory_find_file(GPtrArray *files, const char *name)
{
    for (guint i = 0; i < files->len; i++) {
        const PluginFile *f = g_ptr_array_index(files, i);
        if (strcmp(f->name, name) == 0) {
            return f->path;
        }
    }
    return NULL;
}

/* ---- labels ----------------------------------------------------------------------- */

const char *inventory_status_name(PluginStatus status)
{
    switch (status) {
    case STATUS_OK:
        return "ok";
    case STATUS_DISABLED:
        return "disabled";
    case STATUS_ERROR:
        return "error";
    case STATUS_CRASHED:
        return "crashed";
    }
    return "?";
}

bool inventory_status_failed(PluginStatus status)
{
    return status == STATUS_ERROR || status == STATUS_CRASHED;
}

const char *inventory_channel_label(uint8_t type, char buf[16])
{
    const char *name = plugin_channel_type_lookup(type);
    if (!name) {
        snprintf(buf, 16, "type %u", type);
        return buf;
    }
    return name;
}

char *inventory_flags_text(uint32_t flags)
{
    GString *s = g_string_new(NULL);
    if (flags & SPICE_CHANNEL_CLASS_HANDLE_ACKS) {
        g_string_append(s, "ACKS ");
    }
    if (flags & SPICE_CHANNEL_CLASS_MULTI_INSTANCE) {
        g_string_append(s, "MULTI_INSTANCE ");
    }
    uint32_t unknown =
        flags & ~(uint32_t)(SPICE_CHANNEL_CLASS_HANDLE_ACKS | SPICE_CHANNEL_CLASS_MULTI_INSTANCE);
    if (unknown) {
        g_string_append_printf(s, "0x%x ", unknown);
    }
    if (s->len == 0) {
        g_string_append(s, "none ");
    }
    g_string_truncate(s, s->len - 1);
    return g_string_free(s, FALSE);
}
