/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * report.c: spice-plugin-list's text output: the list with its totals,
 * one plugin's details block, --check, --serves and --build.
 */
#include <stdio.h>
#include <string.h>

#include "plugin-list.h"

/* Plugin strings go to a terminal: no control characters, valid UTF-8. */
static char *printable(const char *s)
{
    if (!s) {
        return g_strdup("-");
    }
    char *copy = g_utf8_make_valid(s, -1);
    for (char *p = copy; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *p = '?';
        }
    }
    return copy;
}

static char *channels_text(const PluginReport *r)
{
    if (!r->desc || !r->desc->channels || !r->desc->channels[0]) {
        return g_strdup("-");
    }
    GString *s = g_string_new(NULL);
    for (const SpiceChannelClass *const *k = r->desc->channels; *k; k++) {
        char buf[16];
        g_string_append_printf(s, "%s%s", k == r->desc->channels ? "" : ",",
                               inventory_channel_label((*k)->type, buf));
    }
    return g_string_free(s, FALSE);
}

/* "keyboard 1.1", "char_device:usbredir 1.0", "char_device:port[org.x.0] 1.3"
 * (a class that serves one named port, ABI 1.4). */
static char *interface_text(const SpicePluginDescriptor *d, const SpiceInterfaceClass *k)
{
    g_autofree char *label = plugin_interface_label(k->type, k->subtype);
    const char *portname = plugin_interface_portname(d, k);
    g_autofree char *named = portname ? g_strdup_printf("%s[%s]", label, portname) : NULL;
    g_autofree char *shown = printable(named ? named : label);
    return g_strdup_printf("%s %u.%u", shown, k->major, k->minor);
}

/* The reason under a plugin's line, indented past the name column. */
static void print_reason(const PluginReport *r, int w_name)
{
    if (r->reason) {
        g_autofree char *reason = printable(r->reason);
        printf("%*s  %s\n", w_name, "", reason);
    }
}

static void print_config_file(const PluginConfig *config)
{
    if (plugin_config_file(config)) {
        printf("config file: %s\n", plugin_config_file(config));
    }
}

void report_list(GPtrArray *reports, const char *path_text, const PluginConfig *config)
{
    int w_name = 4, w_channels = 8, w_version = 7;
    g_autoptr(GPtrArray) channels = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        char *text = channels_text(r);
        const char *version = r->desc ? r->desc->version : NULL;
        g_ptr_array_add(channels, text);
        w_name = MAX(w_name, (int)strlen(r->name));
        w_channels = MAX(w_channels, (int)strlen(text));
        w_version = MAX(w_version, version ? (int)strlen(version) : 1);
    }
    unsigned n_ok = 0, n_disabled = 0, n_failed = 0;
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        g_autofree char *name = printable(r->name);
        g_autofree char *version = printable(r->desc ? r->desc->version : NULL);
        g_autofree char *description = printable(r->desc ? r->desc->description : NULL);
        printf("%-*s  %-8s  %-*s  %-*s  %s\n", w_name, name, inventory_status_name(r->status),
               w_channels, (const char *)g_ptr_array_index(channels, i), w_version, version,
               description);
        print_reason(r, w_name);
        n_ok += r->status == STATUS_OK;
        n_disabled += r->status == STATUS_DISABLED;
        n_failed += inventory_status_failed(r->status);
    }
    printf("%u plugin%s (%u ok, %u disabled, %u failed); search path: %s\n", reports->len,
           reports->len == 1 ? "" : "s", n_ok, n_disabled, n_failed, path_text);
    print_config_file(config);
}

static void print_channel(const SpiceChannelClass *k)
{
    char buf[16];
    g_autofree char *class_name = printable(k->name);
    g_autofree char *flags = inventory_flags_text(k->flags);
    const char *label = inventory_channel_label(k->type, buf);
    if (label == buf) {
        printf("  channel %s, class \"%s\"\n", label, class_name);
    } else {
        printf("  channel %s (type %u), class \"%s\"\n", label, k->type, class_name);
    }
    printf("    flags:          %s\n", flags);
    printf("    max message:    %u bytes\n", k->max_message_size);
    if (k->n_caps == 0) {
        printf("    capabilities:   none\n");
    }
    for (uint32_t i = 0; i < k->n_caps; i++) {
        const SpiceChannelCap *cap = &k->caps[i];
        g_autofree char *cap_name = cap->name ? printable(cap->name) : g_strdup("(unnamed)");
        printf("    %-16s%s (%u)\n", i == 0 ? "capabilities:" : "", cap_name, cap->cap);
    }
}

void report_details(const PluginReport *r)
{
    g_autofree char *name = printable(r->name);
    printf("Plugin %s\n", name);
    printf("  file:             %s\n", r->path ? r->path : "(not found in the search path)");
    if (r->shadowed) {
        printf("  shadowed:         %s (ignored: the file above comes first in the search "
               "path)\n",
               r->shadowed);
    }
    printf("  status:           %s\n", inventory_status_name(r->status));
    if (r->reason) {
        g_autofree char *reason = printable(r->reason);
        printf("  reason:           %s\n", reason);
    }
    printf("  enabled:          %s - %s\n", r->enabled ? "yes" : "no", r->enabled_reason);
    printf("  optional:         %s\n", r->optional ? "yes" : "no");
    if (r->have_abi) {
        printf("  plugin ABI:       built for %u.%u; this server provides %u.%u\n", r->abi_major,
               r->abi_minor, SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR);
    } else {
        printf("  plugin ABI:       unknown (%s); this server provides %u.%u\n",
               r->status == STATUS_DISABLED ? "not opened" : "no readable descriptor",
               SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR);
    }
    const SpicePluginDescriptor *d = r->desc;
    if (!d) {
        return;
    }
    g_autofree char *version = printable(d->version);
    g_autofree char *license = printable(d->license);
    g_autofree char *description = printable(d->description);
    g_autofree char *origin = printable(d->origin);
    printf("  version:          %s\n", version);
    printf("  license:          %s\n", license);
    printf("  description:      %s\n", description);
    printf("  origin:           %s\n", origin);
    if (!d->channels[0]) {
        printf("  channels:         none\n");
    }
    for (const SpiceChannelClass *const *k = d->channels; *k; k++) {
        print_channel(*k);
    }
    if (!d->interfaces[0]) {
        printf("  interfaces:       none\n");
    }
    for (const SpiceInterfaceClass *const *k = d->interfaces; *k; k++) {
        g_autofree char *text = interface_text(d, *k);
        printf("  %s  %s\n", k == d->interfaces ? "interfaces:     " : "                ", text);
    }
}

unsigned report_check(GPtrArray *reports, const PluginReport *only, bool quiet)
{
    unsigned problems = 0, tolerated = 0, enabled = 0;
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        if ((only && r != only) || r->status == STATUS_DISABLED) {
            continue;
        }
        enabled++;
        if (!inventory_status_failed(r->status)) {
            continue;
        }
        if (r->optional) {
            tolerated++;
        } else {
            problems++;
        }
        if (!quiet) {
            g_autofree char *reason = printable(r->reason);
            printf("%s%s: %s: %s\n", r->name, r->optional ? " (optional, skipped)" : "",
                   inventory_status_name(r->status), reason);
        }
    }
    if (!quiet) {
        if (problems) {
            printf("check failed: %u of %u enabled plugin%s cannot be loaded\n", problems, enabled,
                   enabled == 1 ? "" : "s");
        } else {
            printf("check passed: %u enabled plugin%s load%s and validate%s", enabled,
                   enabled == 1 ? "" : "s", enabled == 1 ? "s" : "", enabled == 1 ? "s" : "");
            if (tolerated) {
                printf(" (%u optional plugin%s skipped)", tolerated, tolerated == 1 ? "" : "s");
            }
            printf("\n");
        }
    }
    return problems;
}

unsigned report_serves(GPtrArray *reports, const char *type, const char *subtype,
                       const char *path_text, const PluginConfig *config)
{
    g_autofree char *label = plugin_interface_label(type, subtype);
    g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func(g_free);
    int w_name = 4, w_interface = 9;
    GString *unknown = g_string_new(NULL); /* files without a valid descriptor */
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        const SpiceInterfaceClass *k = inventory_serves(r, type, subtype);
        char *text = k ? interface_text(r->desc, k) : NULL;
        g_ptr_array_add(texts, text);
        if (text) {
            w_name = MAX(w_name, (int)strlen(r->name));
            w_interface = MAX(w_interface, (int)strlen(text));
        } else if (inventory_unreadable(r)) {
            g_string_append_printf(unknown, "%s%s", unknown->len ? ", " : "", r->name);
        }
    }
    unsigned n = 0, n_ok = 0, n_disabled = 0, n_failed = 0;
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        const char *text = g_ptr_array_index(texts, i);
        if (!text) {
            continue;
        }
        g_autofree char *name = printable(r->name);
        printf("%-*s  %-8s  %-*s  %s\n", w_name, name, inventory_status_name(r->status),
               w_interface, text, r->path);
        print_reason(r, w_name);
        n++;
        n_ok += r->status == STATUS_OK;
        n_disabled += r->status == STATUS_DISABLED;
        n_failed += inventory_status_failed(r->status);
    }
    g_autofree char *shown = printable(label);
    if (n) {
        printf("%u plugin%s serve%s the '%s' interface (%u ok, %u disabled, %u failed); "
               "search path: %s\n",
               n, n == 1 ? "" : "s", n == 1 ? "s" : "", shown, n_ok, n_disabled, n_failed,
               path_text);
    } else {
        printf("no plugin serves the '%s' interface; search path: %s\n", shown, path_text);
    }
    if (unknown->len) {
        g_autofree char *names = printable(unknown->str);
        printf("not counted, no valid descriptor: %s\n", names);
    }
    g_string_free(unknown, TRUE);
    print_config_file(config);
    return n_ok;
}

/* Name and detail columns of a --build table. */
static void print_built(const char *title, const BuiltItem *items, GPtrArray *files)
{
    int w_name = 0;
    for (const BuiltItem *b = items; b->name; b++) {
        w_name = MAX(w_name, (int)strlen(b->name));
    }
    printf("%s%s\n", title, items[0].name ? ":" : ": none");
    for (const BuiltItem *b = items; b->name; b++) {
        const char *detail = b->detail ? b->detail : "(no library)";
        if (files) {
            detail = inventory_find_file(files, b->name);
            detail = detail ? detail : "(not in the search path)";
        }
        printf("  %-*s  %s\n", w_name, b->name, detail);
    }
}

void report_build(GPtrArray *files, const char *path_text)
{
    printf("spicecore %s, plugin ABI %u.%u\n", inventory_build_version, SPICE_PLUGIN_ABI_MAJOR,
           SPICE_PLUGIN_ABI_MINOR);
    print_built("first-party plugins built", inventory_built_plugins, files);
    print_built("image codecs built", inventory_built_codecs, NULL);
    printf("search path: %s\n", path_text);
}
