/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plugin-list.h: the parts of spice-plugin-list.
 *
 *   probe.c      query one plugin file in a throw-away child process
 *   inventory.c  one report per plugin in the server's load order, with
 *                the server's verdict; what this build produced
 *   report.c     the text output (list, details, --check, --serves, --build)
 *   json.c       the same as JSON
 *   main.c       options
 *
 * Every rule and every message about a plugin comes from the loader the
 * server uses (libspicecore/plugin-loader.h); these files only gather,
 * choose and print.
 */
#ifndef SPICE_PLUGIN_LIST_H_
#define SPICE_PLUGIN_LIST_H_

#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#include "plugin-loader.h"

#define TOOL_NAME "spice-plugin-list"

typedef enum {
    STATUS_OK,
    STATUS_DISABLED,
    STATUS_ERROR,
    STATUS_CRASHED,
} PluginStatus;

/* Everything the tool knows about one plugin. */
typedef struct PluginReport {
    char *name;
    char *path;     /* NULL: enabled, but no such file in the search path */
    char *shadowed; /* a later file of the same name, ignored */
    PluginStatus status;
    char *reason; /* why it is not ok; NULL when ok */
    bool enabled;
    char *enabled_reason;
    bool optional;
    bool have_abi; /* the descriptor's header was readable */
    uint16_t abi_major;
    uint16_t abi_minor;
    /* The descriptor as the child described it, rebuilt in the ABI's own
     * structs (strings, numbers and caps; no functions) so the loader's
     * functions can read it. NULL unless it passed the loader's checks. */
    SpicePluginDescriptor *desc;
} PluginReport;

/* ---- probe.c ---- */

/* Query r->path in a child process and fill r's status, reason, ABI and
 * desc. A crash, a hang or garbage in the child is a status, not ours. */
void probe_plugin(PluginReport *r);
/* Free a descriptor probe_plugin rebuilt. */
void probe_description_free(SpicePluginDescriptor *desc);

/* ---- inventory.c ---- */

/*
 * One report per plugin file, in the server's load order, plus one per
 * plugin the config needs that has no file. Only enabled plugins are
 * opened, unless open_disabled (their status stays disabled). Plugins
 * after `last` (a name, or NULL for all) are left out: they cannot change
 * the verdict on earlier ones.
 */
GPtrArray *inventory_build(const PluginConfig *config, GPtrArray *files, const char *last,
                           const char *path_text, bool open_disabled);

/* The class by which r's descriptor serves interface type:subtype
 * (subtype NULL: any subtype), or NULL. */
const SpiceInterfaceClass *inventory_serves(const PluginReport *r, const char *type,
                                            const char *subtype);

/* A file in the path without a valid descriptor (refused, crashed, or
 * without open_disabled not opened): what it serves is not known. */
bool inventory_unreadable(const PluginReport *r);

/* "ok", "disabled", "error", "crashed". */
const char *inventory_status_name(PluginStatus status);
bool inventory_status_failed(PluginStatus status);
/* "inputs", or "type 201" for a number the protocol does not name. The
 * result lives until the next call with the same buffer. */
const char *inventory_channel_label(uint8_t type, char buf[16]);
/* "ACKS MULTI_INSTANCE", "none", unknown bits in hex. g_free it. */
char *inventory_flags_text(uint32_t flags);

/* What this build produced (tools/meson.build writes the lists). */
typedef struct BuiltItem {
    const char *name;
    const char *detail; /* plugins: NULL; codecs: the library, or NULL */
} BuiltItem;
extern const char *const inventory_build_version;
extern const BuiltItem inventory_built_plugins[]; /* ends with a NULL name */
extern const BuiltItem inventory_built_codecs[];  /* ends with a NULL name */
/* Where the search path has the file of a first-party plugin, or NULL. */
const char *inventory_find_file(GPtrArray *files, const char *name);

/* ---- report.c ---- */

void report_list(GPtrArray *reports, const char *path_text, const PluginConfig *config);
void report_details(const PluginReport *r);
/* Like the server: a failing required plugin is a problem; a failing
 * optional one is reported but tolerated. Returns the number of problems. */
unsigned report_check(GPtrArray *reports, const PluginReport *only, bool quiet);
/* The plugins that serve type:subtype. Returns how many of them are ok. */
unsigned report_serves(GPtrArray *reports, const char *type, const char *subtype,
                       const char *path_text, const PluginConfig *config);
/* The first-party plugins and codecs this build produced, and where the
 * search path has each plugin. */
void report_build(GPtrArray *files, const char *path_text);

/* ---- json.c ---- */

void json_print_plugins(GPtrArray *reports, const PluginReport *only, char **dirs,
                        const PluginConfig *config);
/* Returns how many of the plugins that serve type:subtype are ok. */
unsigned json_print_serves(GPtrArray *reports, const char *type, const char *subtype, char **dirs,
                           const PluginConfig *config);
void json_print_build(GPtrArray *files, char **dirs);

#endif /* SPICE_PLUGIN_LIST_H_ */
