/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * inventory.c: what the server would do with each plugin in the search
 * path, in its load order, and what this build produced.
 *
 * The verdicts are the loader's: plugin_load_walk() walks the files in
 * the server's load order with the server's rules (enabled or not, the
 * gate, the conflict rule, main and the names the config needs); probe.c
 * runs the gate in a child, and this file records what the walk says.
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

/* inventory_build() as a plugin_load_walk() caller: the walk decides
 * (the server's own rules, in the server's order), these callbacks probe
 * and record. */
typedef struct Inventory {
    const PluginConfig *config;
    GPtrArray *reports;
    PluginReport *current; /* the report of the file being walked */
} Inventory;

/* The report of file: the walk visits files in order, open (if at all)
 * before the verdict, so the current one or a new one. */
static PluginReport *report_for(Inventory *inv, const PluginFile *file)
{
    if (!inv->current || g_strcmp0(inv->current->path, file->path) != 0) {
        inv->current = report_new(inv->config, file->name, file->path, file->shadowed);
        g_ptr_array_add(inv->reports, inv->current);
    }
    return inv->current;
}

static const SpicePluginDescriptor *inventory_open(void *opaque, const PluginFile *file,
                                                   bool enabled, GError **error)
{
    (void)enabled;
    PluginReport *r = report_for(opaque, file);
    probe_plugin(r);
    if (r->status != STATUS_OK || !r->desc) {
        g_set_error_literal(error, g_quark_from_static_string("spice-plugin-list"), 0,
                            r->reason ? r->reason : "refused");
        return NULL;
    }
    return r->desc;
}

static void inventory_verdict(void *opaque, const char *name, const PluginFile *file,
                              PluginVerdict verdict, const char *reason, bool fatal)
{
    Inventory *inv = opaque;
    if (!file) {
        add_missing(
            inv->reports, inv->config, name,
            g_error_new_literal(g_quark_from_static_string("spice-plugin-list"), 0, reason));
        return;
    }
    PluginReport *r = report_for(inv, file);
    switch (verdict) {
    case PLUGIN_VERDICT_LOADED:
        r->status = STATUS_OK;
        return;
    case PLUGIN_VERDICT_DISABLED:
        /* The server refuses to start without main; anything else is
         * simply not loaded. */
        r->status = fatal ? STATUS_ERROR : STATUS_DISABLED;
        break;
    default:
        /* A crash stays a crash; the reason is the walk's (the gate's, or
         * the conflict). */
        if (r->status == STATUS_OK) {
            r->status = STATUS_ERROR;
        }
        break;
    }
    g_free(r->reason);
    r->reason = g_strdup(reason);
}

GPtrArray *inventory_build(const PluginConfig *config, GPtrArray *files, const char *last,
                           const char *path_text, bool open_disabled)
{
    Inventory inv = { .config = config, .reports = g_ptr_array_new_with_free_func(report_free) };
    const PluginLoadOps ops = {
        .open = inventory_open,
        .verdict = inventory_verdict,
        .open_disabled = open_disabled,
        .stop_after = last,
    };
    plugin_load_walk(config, files, path_text, &ops, &inv);
    return inv.reports;
}

const SpiceInterfaceClass *inventory_serves(const PluginReport *r, const char *type,
                                            const char *subtype)
{
    if (!r->desc) {
        return NULL;
    }
    for (const SpiceInterfaceClass *const *k = r->desc->interfaces; k && *k; k++) {
        if (strcmp((*k)->type, type) == 0 && (!subtype || g_strcmp0((*k)->subtype, subtype) == 0)) {
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
