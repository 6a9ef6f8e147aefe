/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * json.c: spice-plugin-list --json: the list, one plugin, --serves and
 * --build as JSON, written by a tiny pretty-printer (one member a line).
 */
#include <stdio.h>
#include <string.h>

#include "plugin-list.h"

typedef struct {
    GString *out;
    int depth;
    bool need_comma; /* the current container has a member already */
} JsonWriter;

/* Write s as a JSON string: invalid UTF-8 becomes U+FFFD, and quotes,
 * backslashes and control characters are escaped. */
static void json_escape(GString *out, const char *s)
{
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)valid; *p; p++) {
        switch (*p) {
        case '"':
            g_string_append(out, "\\\"");
            break;
        case '\\':
            g_string_append(out, "\\\\");
            break;
        case '\n':
            g_string_append(out, "\\n");
            break;
        case '\r':
            g_string_append(out, "\\r");
            break;
        case '\t':
            g_string_append(out, "\\t");
            break;
        case '\b':
            g_string_append(out, "\\b");
            break;
        case '\f':
            g_string_append(out, "\\f");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                g_string_append_printf(out, "\\u%04x", *p);
            } else {
                g_string_append_c(out, (char)*p);
            }
        }
    }
    g_string_append_c(out, '"');
}

/* Start a member (key NULL inside arrays) on a new line. */
static void json_member(JsonWriter *w, const char *key)
{
    if (w->need_comma) {
        g_string_append_c(w->out, ',');
    }
    if (w->depth > 0) {
        g_string_append_printf(w->out, "\n%*s", w->depth * 2, "");
    }
    if (key) {
        json_escape(w->out, key);
        g_string_append(w->out, ": ");
    }
    w->need_comma = true;
}

static void json_open(JsonWriter *w, const char *key, char bracket)
{
    json_member(w, key);
    g_string_append_c(w->out, bracket);
    w->depth++;
    w->need_comma = false;
}

static void json_close(JsonWriter *w, char bracket)
{
    w->depth--;
    if (w->need_comma) {
        g_string_append_printf(w->out, "\n%*s", w->depth * 2, "");
    }
    g_string_append_c(w->out, bracket);
    w->need_comma = true;
}

static void json_str(JsonWriter *w, const char *key, const char *value)
{
    json_member(w, key);
    if (value) {
        json_escape(w->out, value);
    } else {
        g_string_append(w->out, "null");
    }
}

static void json_uint(JsonWriter *w, const char *key, unsigned long long value)
{
    json_member(w, key);
    g_string_append_printf(w->out, "%llu", value);
}

static void json_bool(JsonWriter *w, const char *key, bool value)
{
    json_member(w, key);
    g_string_append(w->out, value ? "true" : "false");
}

static void json_null(JsonWriter *w, const char *key)
{
    json_member(w, key);
    g_string_append(w->out, "null");
}

static void json_abi(JsonWriter *w, const char *key, unsigned major, unsigned minor)
{
    json_open(w, key, '{');
    json_uint(w, "major", major);
    json_uint(w, "minor", minor);
    json_close(w, '}');
}

static void json_channel(JsonWriter *w, const SpiceChannelClass *k)
{
    char buf[16];
    g_autofree char *flags = inventory_flags_text(k->flags);
    json_open(w, NULL, '{');
    json_uint(w, "type", k->type);
    json_str(w, "name", inventory_channel_label(k->type, buf));
    json_str(w, "class_name", k->name);
    json_uint(w, "flags", k->flags);
    json_open(w, "flag_names", '[');
    if (k->flags) {
        g_auto(GStrv) names = g_strsplit(flags, " ", -1);
        for (char **n = names; *n; n++) {
            json_str(w, NULL, *n);
        }
    }
    json_close(w, ']');
    json_uint(w, "max_message_size", k->max_message_size);
    json_open(w, "caps", '[');
    for (uint32_t i = 0; i < k->n_caps; i++) {
        json_open(w, NULL, '{');
        json_uint(w, "cap", k->caps[i].cap);
        json_str(w, "name", k->caps[i].name);
        json_close(w, '}');
    }
    json_close(w, ']');
    json_close(w, '}');
}

static void json_plugin(JsonWriter *w, const char *key, const PluginReport *r)
{
    const SpicePluginDescriptor *d = r->desc;
    json_open(w, key, '{');
    json_str(w, "name", r->name);
    json_str(w, "file", r->path);
    json_str(w, "shadowed", r->shadowed);
    json_str(w, "status", inventory_status_name(r->status));
    json_str(w, "reason", r->reason);
    json_bool(w, "enabled", r->enabled);
    json_str(w, "enabled_reason", r->enabled_reason);
    json_bool(w, "optional", r->optional);
    json_str(w, "version", d ? d->version : NULL);
    json_str(w, "license", d ? d->license : NULL);
    json_str(w, "description", d ? d->description : NULL);
    json_str(w, "origin", d ? d->origin : NULL);
    if (r->have_abi) {
        json_abi(w, "abi", r->abi_major, r->abi_minor);
    } else {
        json_null(w, "abi");
    }
    json_open(w, "channels", '[');
    for (const SpiceChannelClass *const *k = d ? d->channels : NULL; k && *k; k++) {
        json_channel(w, *k);
    }
    json_close(w, ']');
    json_open(w, "interfaces", '[');
    for (const SpiceInterfaceClass *const *k = d ? d->interfaces : NULL; k && *k; k++) {
        json_open(w, NULL, '{');
        json_str(w, "type", (*k)->type);
        json_str(w, "subtype", (*k)->subtype);
        json_str(w, "portname", plugin_interface_portname(d, *k));
        json_uint(w, "major", (*k)->major);
        json_uint(w, "minor", (*k)->minor);
        json_close(w, '}');
    }
    json_close(w, ']');
    json_close(w, '}');
}

/* The members every document starts with. */
static void json_begin(JsonWriter *w, char **dirs, const PluginConfig *config)
{
    json_open(w, NULL, '{');
    json_open(w, "search_path", '[');
    for (char **d = dirs; *d; d++) {
        json_str(w, NULL, *d);
    }
    json_close(w, ']');
    if (config) {
        json_str(w, "config_file", plugin_config_file(config));
    }
    json_abi(w, "server_abi", SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR);
}

static void json_end(JsonWriter *w)
{
    json_close(w, '}');
    g_string_append_c(w->out, '\n');
    fwrite(w->out->str, 1, w->out->len, stdout);
    g_string_free(w->out, TRUE);
}

void json_print_plugins(GPtrArray *reports, const PluginReport *only, char **dirs,
                        const PluginConfig *config)
{
    JsonWriter w = { .out = g_string_new(NULL) };
    json_begin(&w, dirs, config);
    if (only) {
        json_plugin(&w, "plugin", only);
    } else {
        json_open(&w, "plugins", '[');
        for (guint i = 0; i < reports->len; i++) {
            json_plugin(&w, NULL, g_ptr_array_index(reports, i));
        }
        json_close(&w, ']');
    }
    json_end(&w);
}

unsigned json_print_serves(GPtrArray *reports, const char *type, const char *subtype, char **dirs,
                           const PluginConfig *config)
{
    unsigned n_ok = 0;
    JsonWriter w = { .out = g_string_new(NULL) };
    json_begin(&w, dirs, config);
    json_open(&w, "serves", '{');
    json_str(&w, "type", type);
    json_str(&w, "subtype", subtype);
    json_close(&w, '}');
    json_open(&w, "plugins", '[');
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        if (inventory_serves(r, type, subtype)) {
            json_plugin(&w, NULL, r);
            n_ok += r->status == STATUS_OK;
        }
    }
    json_close(&w, ']');
    json_open(&w, "unreadable", '[');
    for (guint i = 0; i < reports->len; i++) {
        const PluginReport *r = g_ptr_array_index(reports, i);
        if (inventory_unreadable(r)) {
            json_str(&w, NULL, r->name);
        }
    }
    json_close(&w, ']');
    json_end(&w);
    return n_ok;
}

void json_print_build(GPtrArray *files, char **dirs)
{
    JsonWriter w = { .out = g_string_new(NULL) };
    json_begin(&w, dirs, NULL);
    json_str(&w, "version", inventory_build_version);
    json_open(&w, "plugins", '[');
    for (const BuiltItem *b = inventory_built_plugins; b->name; b++) {
        json_open(&w, NULL, '{');
        json_str(&w, "name", b->name);
        json_str(&w, "file", inventory_find_file(files, b->name));
        json_close(&w, '}');
    }
    json_close(&w, ']');
    json_open(&w, "codecs", '[');
    for (const BuiltItem *b = inventory_built_codecs; b->name; b++) {
        json_open(&w, NULL, '{');
        json_str(&w, "name", b->name);
        json_str(&w, "library", b->detail);
        json_close(&w, '}');
    }
    json_close(&w, ']');
    json_end(&w);
}
