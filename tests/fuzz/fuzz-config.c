/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz-config.c: the deployment config file (key file + name lists).
 */
#include <stdint.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "plugin-loader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *path;
    if (!path) {
        path = g_build_filename(g_get_tmp_dir(), "spice-fuzz-config.conf", NULL);
        g_unsetenv("SPICE_PLUGIN_ENABLE");
        g_unsetenv("SPICE_PLUGIN_DISABLE");
    }
    if (!g_file_set_contents(path, (const char *)data, (gssize)size, NULL)) {
        return 0;
    }
    PluginConfig *config = plugin_config_load(path, NULL);
    if (config) {
        static const char *const names[] = { "main", "inputs", "display", "x", "" };
        for (unsigned i = 0; i < G_N_ELEMENTS(names); i++) {
            const char *why;
            (void)plugin_config_enabled(config, names[i], &why);
            (void)plugin_config_optional(config, names[i]);
            GHashTable *section = plugin_config_section(config, names[i]);
            g_hash_table_unref(section);
        }
        (void)plugin_config_requested(config);
        plugin_config_free(config);
    }
    return 0;
}
