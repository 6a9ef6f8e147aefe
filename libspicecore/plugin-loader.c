/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plugin-loader.c: plugin discovery, deployment config and the load-time
 * compatibility gate.
 */
#include "plugin-loader.h"

#include <dlfcn.h>
#include <string.h>

#include <gio/gio.h>
#include <spice/enums.h>

#ifndef G_LOG_DOMAIN
#define G_LOG_DOMAIN "spicecore"
#endif

struct PluginConfig {
    char *file;
    GKeyFile *keyfile;
    char **file_enable; /* NULL: not set */
    char **file_disable;
    char **file_optional;
    char **env_enable; /* NULL: not set */
    char **env_disable;
    char **requested; /* union of the enable lists, for "not found" checks */
    char *why_buf[4];
};

/* ---- lists ------------------------------------------------------------------ */

/* Split "a, b;c:d" into names; empty entries dropped. */
static char **split_names(const char *text)
{
    GPtrArray *out = g_ptr_array_new();
    char **parts = g_strsplit_set(text ? text : "", ",;: \t", -1);
    for (char **p = parts; *p; p++) {
        if (**p) {
            g_ptr_array_add(out, g_strdup(*p));
        }
    }
    g_strfreev(parts);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

static bool list_has(char *const *list, const char *name)
{
    return list && g_strv_contains((const char *const *)list, name);
}

static char **keyfile_list(GKeyFile *kf, const char *group, const char *key)
{
    if (!kf || !g_key_file_has_key(kf, group, key, NULL)) {
        return NULL;
    }
    g_autofree char *value = g_key_file_get_value(kf, group, key, NULL);
    return split_names(value);
}

/* ---- config ----------------------------------------------------------------- */

PluginConfig *plugin_config_load(const char *file, GError **error)
{
    g_autoptr(PluginConfig) config = g_new0(PluginConfig, 1);
    bool must_exist = file != NULL;
    if (!file) {
        /* Set: that file (empty: none at all). Unset: the system file if
         * there is one. */
        file = g_getenv("SPICE_PLUGIN_CONFIG");
        must_exist = file != NULL && *file;
        if (!file) {
            file = SPICE_PLUGIN_SYSCONF_FILE;
        }
    }
    if (*file && (must_exist || g_file_test(file, G_FILE_TEST_EXISTS))) {
        g_autoptr(GError) local = NULL;
        config->keyfile = g_key_file_new();
        if (!g_key_file_load_from_file(config->keyfile, file, G_KEY_FILE_NONE, &local)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "plugin config file %s: %s",
                        file, local->message);
            return NULL;
        }
        config->file = g_strdup(file);
        config->file_enable = keyfile_list(config->keyfile, "channels", "enable");
        config->file_disable = keyfile_list(config->keyfile, "channels", "disable");
        config->file_optional = keyfile_list(config->keyfile, "channels", "optional");
    }
    const char *env = g_getenv("SPICE_PLUGIN_ENABLE");
    if (env) {
        config->env_enable = split_names(env);
    }
    env = g_getenv("SPICE_PLUGIN_DISABLE");
    if (env) {
        config->env_disable = split_names(env);
    }
    GPtrArray *req = g_ptr_array_new();
    char **lists[] = { config->env_enable ? config->env_enable : config->file_enable };
    for (char **p = lists[0]; p && *p; p++) {
        if (!list_has(config->env_disable, *p) && !list_has(config->file_disable, *p)) {
            g_ptr_array_add(req, g_strdup(*p));
        }
    }
    g_ptr_array_add(req, NULL);
    config->requested = (char **)g_ptr_array_free(req, FALSE);
    return g_steal_pointer(&config);
}

void plugin_config_free(PluginConfig *config)
{
    if (!config) {
        return;
    }
    g_free(config->file);
    if (config->keyfile) {
        g_key_file_unref(config->keyfile);
    }
    g_strfreev(config->file_enable);
    g_strfreev(config->file_disable);
    g_strfreev(config->file_optional);
    g_strfreev(config->env_enable);
    g_strfreev(config->env_disable);
    g_strfreev(config->requested);
    for (unsigned i = 0; i < G_N_ELEMENTS(config->why_buf); i++) {
        g_free(config->why_buf[i]);
    }
    g_free(config);
}

const char *plugin_config_file(const PluginConfig *config)
{
    return config->file;
}

const char *const *plugin_config_requested(const PluginConfig *config)
{
    return (const char *const *)config->requested;
}

/* A reason naming the config file, built once and kept with the config. */
static const char *why_file(const PluginConfig *config, unsigned slot, const char *before,
                            const char *after)
{
    PluginConfig *c = (PluginConfig *)config;
    if (!c->why_buf[slot]) {
        c->why_buf[slot] = g_strconcat(before, c->file, after, NULL);
    }
    return c->why_buf[slot];
}

bool plugin_config_enabled(const PluginConfig *config, const char *name, const char **why)
{
    bool is_main = strcmp(name, "main") == 0;
    if (list_has(config->env_disable, name)) {
        *why = is_main ? "the main plugin cannot be disabled (SPICE_PLUGIN_DISABLE)"
                       : "disabled by SPICE_PLUGIN_DISABLE";
        return false;
    }
    if (list_has(config->file_disable, name)) {
        *why = is_main ? why_file(config, 0, "the main plugin cannot be disabled (", ")")
                       : why_file(config, 1, "disabled by ", " [channels] disable");
        return false;
    }
    if (is_main) {
        *why = "always enabled (main channel)";
        return true;
    }
    if (config->env_enable) {
        bool on = list_has(config->env_enable, name);
        *why = on ? "enabled by SPICE_PLUGIN_ENABLE" : "not listed in SPICE_PLUGIN_ENABLE";
        return on;
    }
    if (config->file_enable) {
        bool on = list_has(config->file_enable, name);
        *why = on ? why_file(config, 2, "enabled by ", " [channels] enable")
                  : why_file(config, 3, "not listed in ", " [channels] enable");
        return on;
    }
    *why = "enabled (by default every installed plugin is)";
    return true;
}

bool plugin_config_optional(const PluginConfig *config, const char *name)
{
    if (strcmp(name, "main") == 0) {
        return false;
    }
    if (list_has(config->file_optional, name)) {
        return true;
    }
    if (config->keyfile) {
        g_autofree char *group = g_strdup_printf("plugin %s", name);
        return g_key_file_get_boolean(config->keyfile, group, "optional", NULL);
    }
    return false;
}

GHashTable *plugin_config_section(const PluginConfig *config, const char *name)
{
    GHashTable *table = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    if (!config->keyfile) {
        return table;
    }
    g_autofree char *group = g_strdup_printf("plugin %s", name);
    g_auto(GStrv) keys = g_key_file_get_keys(config->keyfile, group, NULL, NULL);
    for (char **k = keys; k && *k; k++) {
        g_hash_table_insert(table, g_strdup(*k),
                            g_key_file_get_value(config->keyfile, group, *k, NULL));
    }
    return table;
}

/* ---- search path -------------------------------------------------------------- */

/* True when this code (library or tool) runs from the build tree. */
static const int build_tree_anchor;

static bool running_from_build_tree(void)
{
    Dl_info info;
    if (!dladdr(&build_tree_anchor, &info) || !info.dli_fname) {
        return false;
    }
    g_autofree char *real = realpath(info.dli_fname, NULL);
    const char *root = SPICE_BUILD_ROOT "/";
    return real && g_str_has_prefix(real, root);
}

char **plugin_search_path(void)
{
    GPtrArray *dirs = g_ptr_array_new();
    const char *env = g_getenv("SPICE_PLUGIN_PATH");
    if (env) {
        g_auto(GStrv) parts = g_strsplit(env, ":", -1);
        for (char **p = parts; *p; p++) {
            if (**p) {
                g_ptr_array_add(dirs, g_strdup(*p));
            }
        }
    }
    if (running_from_build_tree()) {
        g_ptr_array_add(dirs, g_strdup(SPICE_BUILD_PLUGIN_DIR));
    }
    g_ptr_array_add(dirs, g_strdup(SPICE_PLUGIN_INSTALL_DIR));
    /* The same folder twice (say the build folder in SPICE_PLUGIN_PATH
     * too) would make every plugin in it shadow itself. */
    GPtrArray *unique = g_ptr_array_new();
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < dirs->len; i++) {
        char *dir = g_ptr_array_index(dirs, i);
        char *real = realpath(dir, NULL);
        char *key = real ? real : g_strdup(dir);
        if (g_hash_table_contains(seen, key)) {
            g_free(key);
            g_free(dir);
            continue;
        }
        g_hash_table_add(seen, key);
        g_ptr_array_add(unique, dir);
    }
    g_hash_table_unref(seen);
    g_ptr_array_free(dirs, TRUE);
    g_ptr_array_add(unique, NULL);
    return (char **)g_ptr_array_free(unique, FALSE);
}

static void plugin_file_free(PluginFile *f)
{
    g_free(f->name);
    g_free(f->path);
    g_free(f->shadowed);
    g_free(f);
}

static gint plugin_file_cmp(gconstpointer a, gconstpointer b)
{
    const PluginFile *fa = *(PluginFile *const *)a;
    const PluginFile *fb = *(PluginFile *const *)b;
    bool ma = strcmp(fa->name, "main") == 0, mb = strcmp(fb->name, "main") == 0;
    if (ma != mb) {
        return ma ? -1 : 1;
    }
    return strcmp(fa->name, fb->name);
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

GPtrArray *plugin_scan(char **dirs)
{
    GPtrArray *files = g_ptr_array_new_with_free_func((GDestroyNotify)plugin_file_free);
    GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
    for (char **d = dirs; d && *d; d++) {
        GDir *dir = g_dir_open(*d, 0, NULL);
        if (!dir) {
            continue;
        }
        /* Sort each folder's entries so results do not depend on readdir. */
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        for (const char *e; (e = g_dir_read_name(dir));) {
            g_ptr_array_add(names, g_strdup(e));
        }
        g_dir_close(dir);
        g_ptr_array_sort(names, compare_names);
        for (guint i = 0; i < names->len; i++) {
            const char *e = g_ptr_array_index(names, i);
            size_t len = strlen(e);
            size_t pre = strlen(PLUGIN_FILE_PREFIX), suf = strlen(PLUGIN_FILE_SUFFIX);
            if (len <= pre + suf || !g_str_has_prefix(e, PLUGIN_FILE_PREFIX) ||
                !g_str_has_suffix(e, PLUGIN_FILE_SUFFIX)) {
                continue;
            }
            g_autofree char *name = g_strndup(e + pre, len - pre - suf);
            g_autofree char *path = g_build_filename(*d, e, NULL);
            PluginFile *prev = g_hash_table_lookup(seen, name);
            if (prev) {
                if (!prev->shadowed) {
                    prev->shadowed = g_steal_pointer(&path);
                }
                continue;
            }
            PluginFile *f = g_new0(PluginFile, 1);
            f->name = g_steal_pointer(&name);
            f->path = g_steal_pointer(&path);
            g_ptr_array_add(files, f);
            g_hash_table_insert(seen, f->name, f);
        }
        g_ptr_array_unref(names);
    }
    g_hash_table_unref(seen);
    g_ptr_array_sort(files, plugin_file_cmp);
    return files;
}

char *plugin_query_symbol(const char *name)
{
    char *sym = g_strdup_printf("spice_plugin_%s_query", name);
    for (char *p = sym; *p; p++) {
        if (*p == '-') {
            *p = '_';
        }
    }
    return sym;
}

GError *plugin_error_main_missing(const char *path_text)
{
    return g_error_new(G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "the main channel plugin (" PLUGIN_FILE_PREFIX "main" PLUGIN_FILE_SUFFIX
                       ") is not in the plugin path %s",
                       path_text);
}

GError *plugin_error_missing(const char *name, const char *path_text)
{
    return g_error_new(G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "plugin '%s' is enabled but " PLUGIN_FILE_PREFIX "%s" PLUGIN_FILE_SUFFIX
                       " is not in the plugin path %s",
                       name, name, path_text);
}

/* ---- the load order ------------------------------------------------------------ */

typedef struct Accepted {
    const PluginFile *file;
    const SpicePluginDescriptor *desc;
} Accepted;

/* The verdict on an enabled file: gate, conflicts, accept. Fills *why
 * (owned) when it failed. */
static PluginVerdict walk_enabled(const PluginLoadOps *ops, void *opaque, const PluginFile *f,
                                  const SpicePluginDescriptor *desc, GError *open_error,
                                  GArray *accepted, char **why)
{
    if (!desc) {
        *why = g_strdup(open_error ? open_error->message : "refused");
        return PLUGIN_VERDICT_FAILED;
    }
    for (guint i = 0; i < accepted->len; i++) {
        const Accepted *a = &g_array_index(accepted, Accepted, i);
        g_autoptr(GError) conflict = NULL;
        if (!plugin_descriptor_check_conflict(desc, f->path, a->desc, a->file->name, a->file->path,
                                              &conflict)) {
            *why = g_strdup(conflict->message);
            return PLUGIN_VERDICT_FAILED;
        }
    }
    g_autoptr(GError) refused = NULL;
    if (ops->accept && !ops->accept(opaque, f, desc, &refused)) {
        *why = g_strdup(refused ? refused->message : "refused");
        return PLUGIN_VERDICT_FAILED;
    }
    Accepted a = { f, desc };
    g_array_append_val(accepted, a);
    return PLUGIN_VERDICT_LOADED;
}

bool plugin_load_walk(const PluginConfig *config, GPtrArray *files, const char *path_text,
                      const PluginLoadOps *ops, void *opaque)
{
    g_autoptr(GArray) accepted = g_array_new(FALSE, FALSE, sizeof(Accepted));
    bool ok = true;
    bool main_found = false;
    for (guint i = 0; i < files->len; i++) {
        const PluginFile *f = g_ptr_array_index(files, i);
        const char *enabled_why = NULL;
        bool enabled = plugin_config_enabled(config, f->name, &enabled_why);
        bool is_main = strcmp(f->name, "main") == 0;
        main_found |= is_main;
        g_autoptr(GError) open_error = NULL;
        const SpicePluginDescriptor *desc = NULL;
        if (enabled || ops->open_disabled) {
            desc = ops->open(opaque, f, enabled, &open_error);
        }
        if (!enabled) {
            /* The server refuses to start without main; anything else is
             * simply not loaded. */
            ops->verdict(opaque, f->name, f, PLUGIN_VERDICT_DISABLED, enabled_why, is_main);
            ok &= !is_main;
        } else {
            g_autofree char *why = NULL;
            PluginVerdict v = walk_enabled(ops, opaque, f, desc, open_error, accepted, &why);
            bool fatal = v == PLUGIN_VERDICT_FAILED && !plugin_config_optional(config, f->name);
            ops->verdict(opaque, f->name, f, v, why, fatal);
            ok &= !fatal;
        }
        if ((!ok && ops->stop_on_fatal) ||
            (ops->stop_after && strcmp(f->name, ops->stop_after) == 0)) {
            return ok;
        }
    }
    if (!main_found) {
        g_autoptr(GError) missing = plugin_error_main_missing(path_text);
        ops->verdict(opaque, "main", NULL, PLUGIN_VERDICT_MISSING, missing->message, true);
        ok = false;
        if (ops->stop_on_fatal) {
            return ok;
        }
    }
    for (const char *const *r = plugin_config_requested(config); r && *r; r++) {
        bool found = false;
        for (guint i = 0; i < files->len && !found; i++) {
            found = strcmp(((PluginFile *)g_ptr_array_index(files, i))->name, *r) == 0;
        }
        if (found || (strcmp(*r, "main") == 0 && !main_found)) {
            continue;
        }
        g_autoptr(GError) missing = plugin_error_missing(*r, path_text);
        bool fatal = !plugin_config_optional(config, *r);
        ops->verdict(opaque, *r, NULL, PLUGIN_VERDICT_MISSING, missing->message, fatal);
        ok &= !fatal;
        if (!ok && ops->stop_on_fatal) {
            return ok;
        }
    }
    return ok;
}

/* ---- names ---------------------------------------------------------------------- */

/* The one table of channel type names: the server's logs, its conflict
 * messages and spice-plugin-list all read it. */
static const char *const channel_type_names[] = {
    [SPICE_CHANNEL_MAIN] = "main",         [SPICE_CHANNEL_DISPLAY] = "display",
    [SPICE_CHANNEL_INPUTS] = "inputs",     [SPICE_CHANNEL_CURSOR] = "cursor",
    [SPICE_CHANNEL_PLAYBACK] = "playback", [SPICE_CHANNEL_RECORD] = "record",
    [SPICE_CHANNEL_TUNNEL] = "tunnel",     [SPICE_CHANNEL_SMARTCARD] = "smartcard",
    [SPICE_CHANNEL_USBREDIR] = "usbredir", [SPICE_CHANNEL_PORT] = "port",
    [SPICE_CHANNEL_WEBDAV] = "webdav",
};

const char *plugin_channel_type_lookup(uint8_t type)
{
    return type < G_N_ELEMENTS(channel_type_names) ? channel_type_names[type] : NULL;
}

const char *plugin_channel_type_name(uint8_t type)
{
    const char *name = plugin_channel_type_lookup(type);
    return name ? name : "unknown";
}

char *plugin_interface_label(const char *type, const char *subtype)
{
    return subtype ? g_strconcat(type, ":", subtype, NULL) : g_strdup(type);
}

/* ---- validation --------------------------------------------------------------- */

/* Smallest descriptor of ABI 1.0: everything up to server_event. */
#define DESCRIPTOR_MIN_SIZE      (offsetof(SpicePluginDescriptor, server_event) + sizeof(void *))
#define CHANNEL_CLASS_MIN_SIZE   (offsetof(SpiceChannelClass, ops) + sizeof(void *))
#define INTERFACE_CLASS_MIN_SIZE (offsetof(SpiceInterfaceClass, entries) + sizeof(void *))
/* More than this many classes is a corrupt descriptor, not a plugin. */
#define MAX_CLASSES 64

/* Interface types a plugin may serve, with the version our public
 * headers define: a plugin must implement the same major. */
static const struct {
    const char *type;
    uint32_t major;
    uint32_t minor;
} known_interfaces[] = {
    { SPICE_INTERFACE_KEYBOARD, SPICE_INTERFACE_KEYBOARD_MAJOR, SPICE_INTERFACE_KEYBOARD_MINOR },
    { SPICE_INTERFACE_MOUSE, SPICE_INTERFACE_MOUSE_MAJOR, SPICE_INTERFACE_MOUSE_MINOR },
    { SPICE_INTERFACE_TABLET, SPICE_INTERFACE_TABLET_MAJOR, SPICE_INTERFACE_TABLET_MINOR },
    { SPICE_INTERFACE_QXL, SPICE_INTERFACE_QXL_MAJOR, SPICE_INTERFACE_QXL_MINOR },
    { SPICE_INTERFACE_PLAYBACK, SPICE_INTERFACE_PLAYBACK_MAJOR, SPICE_INTERFACE_PLAYBACK_MINOR },
    { SPICE_INTERFACE_RECORD, SPICE_INTERFACE_RECORD_MAJOR, SPICE_INTERFACE_RECORD_MINOR },
    { SPICE_INTERFACE_CHAR_DEVICE, SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
      SPICE_INTERFACE_CHAR_DEVICE_MINOR },
};

const char *plugin_interface_type(unsigned i)
{
    return i < G_N_ELEMENTS(known_interfaces) ? known_interfaces[i].type : NULL;
}

static bool invalid(GError **error, const char *path, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool invalid(GError **error, const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s: invalid descriptor: %s", path,
                msg);
    return false;
}

static bool validate_channel(const SpiceChannelClass *k, const char *path, GError **error)
{
    if (k->size < CHANNEL_CLASS_MIN_SIZE) {
        return invalid(error, path, "channel class size %u is smaller than %zu", k->size,
                       (size_t)CHANNEL_CLASS_MIN_SIZE);
    }
    if (!k->name) {
        return invalid(error, path, "channel class of type %u has no name", k->type);
    }
    if (k->type == 0 || k->type == SPICE_CHANNEL_TUNNEL) {
        return invalid(error, path, "channel class '%s' has unusable type %u", k->name, k->type);
    }
    if (!k->ops || k->ops->version < 1 || !k->ops->connect || !k->ops->handle_message) {
        return invalid(error, path,
                       "channel class '%s' lacks operations (connect and handle_message are "
                       "required)",
                       k->name);
    }
    if (k->ops->version > SPICE_CHANNEL_OPS_VERSION) {
        return invalid(error, path,
                       "channel class '%s' has operations version %u; this server "
                       "knows up to %u",
                       k->name, k->ops->version, SPICE_CHANNEL_OPS_VERSION);
    }
    if (k->n_caps > 0 && !k->caps) {
        return invalid(error, path, "channel class '%s' announces %u caps but lists none", k->name,
                       k->n_caps);
    }
    if (k->n_caps > 256) {
        return invalid(error, path, "channel class '%s' has %u caps (at most 256)", k->name,
                       k->n_caps);
    }
    for (uint32_t i = 0; i < k->n_caps; i++) {
        if (k->caps[i].cap >= 32 * 64) {
            return invalid(error, path, "channel class '%s': capability %u is out of range",
                           k->name, k->caps[i].cap);
        }
    }
    if (k->max_message_size == 0 || k->max_message_size > 64u * 1024 * 1024) {
        return invalid(error, path,
                       "channel class '%s': max_message_size %u is not within 1..64 MiB", k->name,
                       k->max_message_size);
    }
    return true;
}

static bool validate_interface(const SpicePluginDescriptor *d, const SpiceInterfaceClass *k,
                               const char *path, GError **error)
{
    if (k->size < INTERFACE_CLASS_MIN_SIZE) {
        return invalid(error, path, "interface class size %u is smaller than %zu", k->size,
                       (size_t)INTERFACE_CLASS_MIN_SIZE);
    }
    if (!k->type || !k->add) {
        return invalid(error, path, "interface class without a type or an add function");
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(known_interfaces); i++) {
        if (strcmp(k->type, known_interfaces[i].type) != 0) {
            continue;
        }
        if (k->major != known_interfaces[i].major) {
            return invalid(error, path,
                           "interface '%s' implemented at version %u.%u; this server's "
                           "interface is %u.%u",
                           k->type, k->major, k->minor, known_interfaces[i].major,
                           known_interfaces[i].minor);
        }
        if (strcmp(k->type, SPICE_INTERFACE_CHAR_DEVICE) == 0 && !k->subtype) {
            return invalid(error, path, "char_device interface without a subtype");
        }
        const char *portname = plugin_interface_portname(d, k);
        if (portname && (strcmp(k->type, SPICE_INTERFACE_CHAR_DEVICE) != 0 ||
                         strcmp(k->subtype, "port") != 0 || !*portname)) {
            return invalid(error, path,
                           "interface '%s': a port name is for char_device:port only, and "
                           "not empty",
                           k->type);
        }
        if (k->entries && *(const uint32_t *)k->entries < sizeof(uint32_t)) {
            return invalid(error, path, "interface '%s' entry table has size %u", k->type,
                           *(const uint32_t *)k->entries);
        }
        return true;
    }
    return invalid(error, path, "unknown interface type '%s'", k->type);
}

/* File names may use '-' where C identifiers (and so the names
 * SPICE_PLUGIN_DEFINE writes) use '_': treat them as the same. */
static bool plugin_names_match(const char *descriptor_name, const char *file_name)
{
    for (; *descriptor_name && *file_name; descriptor_name++, file_name++) {
        char a = *descriptor_name == '-' ? '_' : *descriptor_name;
        char b = *file_name == '-' ? '_' : *file_name;
        if (a != b) {
            return false;
        }
    }
    return *descriptor_name == *file_name;
}

bool plugin_descriptor_abi(const SpicePluginDescriptor *d, uint16_t *major, uint16_t *minor)
{
    if (!d || d->magic != SPICE_PLUGIN_MAGIC) {
        return false;
    }
    *major = d->abi_major;
    *minor = d->abi_minor;
    return true;
}

bool plugin_descriptor_validate(const SpicePluginDescriptor *d, const char *path, const char *name,
                                GError **error)
{
    if (!d) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "%s: the query function returned no descriptor", path);
        return false;
    }
    if (d->magic != SPICE_PLUGIN_MAGIC) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "%s: bad magic 0x%08x (expected 0x%08x): not a spice channel plugin", path,
                    d->magic, SPICE_PLUGIN_MAGIC);
        return false;
    }
    if (d->abi_major != SPICE_PLUGIN_ABI_MAJOR || d->abi_minor > SPICE_PLUGIN_ABI_MINOR) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "%s: built for plugin ABI %u.%u; this server provides %u.%u (%s)", path,
                    d->abi_major, d->abi_minor, SPICE_PLUGIN_ABI_MAJOR, SPICE_PLUGIN_ABI_MINOR,
                    d->abi_major != SPICE_PLUGIN_ABI_MAJOR ? "major versions differ"
                                                           : "the plugin needs a newer server");
        return false;
    }
    if (d->size < DESCRIPTOR_MIN_SIZE || d->size > 64 * 1024) {
        return invalid(error, path, "size %u is outside %zu..65536", d->size,
                       (size_t)DESCRIPTOR_MIN_SIZE);
    }
    if (!d->name || !plugin_names_match(d->name, name)) {
        return invalid(error, path, "name '%s' does not match the file name (expected '%s')",
                       d->name ? d->name : "(null)", name);
    }
    if (!d->version || !d->license || !d->description) {
        return invalid(error, path, "version, license and description are required");
    }
    if (!d->init) {
        return invalid(error, path, "no init function");
    }
    unsigned n = 0;
    for (const SpiceChannelClass *const *k = d->channels; k && *k; k++, n++) {
        if (n >= MAX_CLASSES) {
            return invalid(error, path, "more than %u channel classes", MAX_CLASSES);
        }
        if (!validate_channel(*k, path, error)) {
            return false;
        }
        for (const SpiceChannelClass *const *j = d->channels; j != k; j++) {
            if ((*j)->type == (*k)->type) {
                return invalid(error, path, "channel type %u declared twice", (*k)->type);
            }
        }
    }
    n = 0;
    for (const SpiceInterfaceClass *const *k = d->interfaces; k && *k; k++, n++) {
        if (n >= MAX_CLASSES) {
            return invalid(error, path, "more than %u interface classes", MAX_CLASSES);
        }
        if (!validate_interface(d, *k, path, error)) {
            return false;
        }
    }
    return true;
}

bool plugin_module_query(const char *path, const char *name, GModule **module,
                         const SpicePluginDescriptor **desc, GError **error)
{
    GModule *m = g_module_open(path, G_MODULE_BIND_LOCAL | G_MODULE_BIND_LAZY);
    if (!m) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot be opened: %s", path,
                    g_module_error());
        return false;
    }
    g_autofree char *symbol = plugin_query_symbol(name);
    SpicePluginQueryFunc query = NULL;
    if (!g_module_symbol(m, symbol, (gpointer *)&query) || !query) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no entry point %s()", path,
                    symbol);
        g_module_close(m);
        return false;
    }
    *module = m;
    *desc = query();
    return true;
}

bool plugin_module_open(const char *path, const char *name, GModule **module,
                        const SpicePluginDescriptor **desc, GError **error)
{
    GModule *m = NULL;
    const SpicePluginDescriptor *d = NULL;
    if (!plugin_module_query(path, name, &m, &d, error)) {
        return false;
    }
    if (!plugin_descriptor_validate(d, path, name, error)) {
        g_module_close(m);
        return false;
    }
    *module = m;
    *desc = d;
    return true;
}

/* ---- conflicts between plugins ----------------------------------------------------- */

const SpiceChannelClass *plugin_descriptor_find_channel(const SpicePluginDescriptor *d,
                                                        uint8_t type)
{
    for (const SpiceChannelClass *const *k = d->channels; k && *k; k++) {
        if ((*k)->type == type) {
            return *k;
        }
    }
    return NULL;
}

const char *plugin_interface_portname(const SpicePluginDescriptor *d, const SpiceInterfaceClass *k)
{
    if (d->abi_minor < 4 ||
        k->size < offsetof(SpiceInterfaceClass, portname) + sizeof(k->portname)) {
        return NULL;
    }
    return k->portname;
}

const SpiceInterfaceClass *plugin_descriptor_find_interface(const SpicePluginDescriptor *d,
                                                            const char *type, const char *subtype,
                                                            const char *portname)
{
    for (const SpiceInterfaceClass *const *k = d->interfaces; k && *k; k++) {
        if (strcmp((*k)->type, type) == 0 && g_strcmp0((*k)->subtype, subtype) == 0 &&
            g_strcmp0(plugin_interface_portname(d, *k), portname) == 0) {
            return *k;
        }
    }
    return NULL;
}

bool plugin_descriptor_check_conflict(const SpicePluginDescriptor *d, const char *path,
                                      const SpicePluginDescriptor *other_desc,
                                      const char *other_name, const char *other_path,
                                      GError **error)
{
    for (const SpiceChannelClass *const *k = d->channels; k && *k; k++) {
        if (plugin_descriptor_find_channel(other_desc, (*k)->type)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "%s: channel type %u (%s) is already provided by plugin '%s' (%s)", path,
                        (*k)->type, plugin_channel_type_name((*k)->type), other_name, other_path);
            return false;
        }
    }
    for (const SpiceInterfaceClass *const *k = d->interfaces; k && *k; k++) {
        const char *portname = plugin_interface_portname(d, *k);
        if (plugin_descriptor_find_interface(other_desc, (*k)->type, (*k)->subtype, portname)) {
            g_autofree char *base = plugin_interface_label((*k)->type, (*k)->subtype);
            g_autofree char *label =
                portname ? g_strdup_printf("%s (port %s)", base, portname) : g_strdup(base);
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "%s: interface '%s' is already served by plugin '%s' (%s)", path, label,
                        other_name, other_path);
            return false;
        }
    }
    return true;
}
