/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-plugin-list: which channel plugins this server would load, and why.
 *
 *   spice-plugin-list              one line per plugin in the search path
 *   spice-plugin-list NAME         everything about one plugin
 *   --json                         the same, machine-readable
 *   --check                        exit status says whether every enabled
 *                                  plugin loads and validates
 *   --serves TYPE[:SUBTYPE]        which plugins serve a host interface
 *   --build                        which plugins and codecs this build made
 *   --config FILE                  use another deployment key file
 *
 * The answers come from the loader the server itself uses (plugin-loader.c),
 * so the tool and the server agree on every reason. Only enabled plugins
 * are opened (with --serves every plugin, since only its descriptor says
 * what it serves), each in a throw-away child process: a plugin that
 * crashes or hangs in its query function costs one line of output, not the
 * tool. init() is never called.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin-list.h"

#define EXIT_PROBLEM 1
#define EXIT_USAGE   2

static int usage_error(const char *message)
{
    fprintf(stderr, TOOL_NAME ": %s (try --help)\n", message);
    return EXIT_USAGE;
}

/* Split --serves TYPE[:SUBTYPE]; the type must be one a plugin may serve. */
static bool parse_serves(const char *text, char **type, char **subtype, GError **error)
{
    const char *colon = strchr(text, ':');
    *type = colon ? g_strndup(text, (gsize)(colon - text)) : g_strdup(text);
    *subtype = colon ? g_strdup(colon + 1) : NULL;
    if (*subtype && !**subtype) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--serves %s: the subtype after ':' is empty", text);
        return false;
    }
    GString *known = g_string_new(NULL);
    bool found = false;
    for (unsigned i = 0; plugin_interface_type(i); i++) {
        found |= strcmp(*type, plugin_interface_type(i)) == 0;
        g_string_append_printf(known, "%s%s", i ? ", " : "", plugin_interface_type(i));
    }
    if (!found) {
        g_set_error(error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--serves %s: unknown interface type '%s' (plugins serve %s)", text, *type,
                    known->str);
    }
    g_string_free(known, TRUE);
    return found;
}

int main(int argc, char **argv)
{
    gboolean opt_json = FALSE, opt_check = FALSE, opt_build = FALSE;
    g_autofree char *opt_config = NULL;
    g_autofree char *opt_serves = NULL;
    GOptionEntry entries[] = {
        { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON instead of text", NULL },
        { "check", 'c', 0, G_OPTION_ARG_NONE, &opt_check,
          "Exit with status 0 only if every enabled plugin loads and validates", NULL },
        { "serves", 's', 0, G_OPTION_ARG_STRING, &opt_serves,
          "Show the plugins that serve this host interface (qxl, char_device:usbredir, ...); "
          "exit with status 0 only if an enabled one loads",
          "TYPE[:SUBTYPE]" },
        { "build", 'b', 0, G_OPTION_ARG_NONE, &opt_build,
          "Show the first-party plugins and codecs this build produced", NULL },
        { "config", 0, 0, G_OPTION_ARG_FILENAME, &opt_config,
          "Use this deployment config file instead of the default", "FILE" },
        { NULL },
    };
    g_autoptr(GOptionContext) context = g_option_context_new("[NAME] - list channel plugins");
    g_option_context_add_main_entries(context, entries, NULL);
    g_option_context_set_summary(
        context, "Lists the channel plugins in the plugin search path: whether the server\n"
                 "would load each one and why. With NAME, shows everything about one plugin.\n"
                 "Enabled plugins are queried in a child process (init() is never called);\n"
                 "disabled plugins are not opened, except by --serves.");
    g_option_context_set_description(
        context, "Environment: SPICE_PLUGIN_PATH, SPICE_PLUGIN_CONFIG, SPICE_PLUGIN_ENABLE,\n"
                 "SPICE_PLUGIN_DISABLE (see plugin-loader.h).\n\n"
                 "Exit status: 0 on success; 1 if NAME is unknown, --check found a problem or\n"
                 "no enabled plugin serves the --serves interface; 2 on a usage or config\n"
                 "file error.\n");
    g_autoptr(GError) error = NULL;
    if (!g_option_context_parse(context, &argc, &argv, &error)) {
        return usage_error(error->message);
    }
    if (argc > 2) {
        return usage_error("at most one plugin name");
    }
    const char *only_name = argc == 2 ? argv[1] : NULL;
    if ((opt_serves || opt_build) && (only_name || opt_check)) {
        return usage_error("--serves and --build take no plugin name and no --check");
    }
    if (opt_serves && opt_build) {
        return usage_error("--serves and --build go one at a time");
    }
    g_autofree char *serves_type = NULL, *serves_subtype = NULL;
    if (opt_serves && !parse_serves(opt_serves, &serves_type, &serves_subtype, &error)) {
        return usage_error(error->message);
    }

    g_autoptr(PluginConfig) config = plugin_config_load(opt_config, &error);
    if (!config) {
        fprintf(stderr, TOOL_NAME ": %s\n", error->message);
        return EXIT_USAGE;
    }
    g_auto(GStrv) dirs = plugin_search_path();
    g_autoptr(GPtrArray) files = plugin_scan(dirs);
    g_autofree char *path_text = g_strjoinv(":", dirs);

    if (opt_build) {
        if (opt_json) {
            json_print_build(files, dirs);
        } else {
            report_build(files, path_text);
        }
        return EXIT_SUCCESS;
    }
    if (only_name && !inventory_find_file(files, only_name)) {
        fprintf(stderr,
                TOOL_NAME ": no plugin named '%s' (no " PLUGIN_FILE_PREFIX "%s" PLUGIN_FILE_SUFFIX
                          " in the search path %s)\n",
                only_name, only_name, path_text);
        return EXIT_PROBLEM;
    }

    g_autoptr(GPtrArray) reports =
        inventory_build(config, files, only_name, path_text, opt_serves != NULL);
    if (opt_serves) {
        unsigned ok = opt_json
                          ? json_print_serves(reports, serves_type, serves_subtype, dirs, config)
                          : report_serves(reports, serves_type, serves_subtype, path_text, config);
        return ok ? EXIT_SUCCESS : EXIT_PROBLEM;
    }
    const PluginReport *only = only_name ? g_ptr_array_index(reports, reports->len - 1) : NULL;

    if (opt_json) {
        json_print_plugins(reports, only, dirs, config);
    } else if (only) {
        report_details(only);
    } else if (!opt_check) {
        report_list(reports, path_text, config);
    }
    if (opt_check) {
        if (only && !opt_json) {
            printf("\n");
        }
        return report_check(reports, only, opt_json) ? EXIT_PROBLEM : EXIT_SUCCESS;
    }
    return EXIT_SUCCESS;
}
