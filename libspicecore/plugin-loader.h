/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plugin-loader.h: finding, choosing and checking channel plugins.
 *
 * Used by the server (spice_server_init) and by spice-plugin-list, so both
 * give the same answer about a plugin and the same reason.
 *
 *  - search path: SPICE_PLUGIN_PATH (colon-separated), then the build
 *    tree's plugin folder when the library runs from the build tree, then
 *    the install folder;
 *  - deployment config: a key file (SPICE_PLUGIN_CONFIG; set but empty
 *    means none; unset means SYSCONFDIR/spicecore/plugins.conf if present)
 *        [channels] enable=...; disable=...; optional=...
 *        [plugin NAME] optional=true and the plugin's own keys
 *    and the environment: SPICE_PLUGIN_ENABLE (the exact list to enable,
 *    overriding the file), SPICE_PLUGIN_DISABLE (names to leave out);
 *  - a plugin is opened only when enabled;
 *  - every rejection names the file and the values that differ.
 */
#ifndef SPICECORE_PLUGIN_LOADER_H_
#define SPICECORE_PLUGIN_LOADER_H_

#include <stdbool.h>

#include <glib.h>
#include <gmodule.h>

#include "spice-plugin.h"

#define PLUGIN_FILE_PREFIX "libspice-plugin-"
#define PLUGIN_FILE_SUFFIX ".so"

typedef struct PluginConfig PluginConfig;

/* Load the deployment config. file NULL: SPICE_PLUGIN_CONFIG or the
 * system file when it exists, else defaults. A file that exists but does
 * not parse is an error. */
PluginConfig *plugin_config_load(const char *file, GError **error);
void plugin_config_free(PluginConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PluginConfig, plugin_config_free)

/* The config file in use, or NULL. */
const char *plugin_config_file(const PluginConfig *config);

/* Whether plugin `name` is enabled, with the reason (static or owned by
 * config). */
bool plugin_config_enabled(const PluginConfig *config, const char *name, const char **why);
/* Whether a failure of `name` is tolerated. */
bool plugin_config_optional(const PluginConfig *config, const char *name);
/* Names the config asks for explicitly (enable lists), NULL-terminated. */
const char *const *plugin_config_requested(const PluginConfig *config);
/* A new table with the keys of [plugin NAME] (string -> string). */
GHashTable *plugin_config_section(const PluginConfig *config, const char *name);

/* The search path, NULL-terminated; g_strfreev it. */
char **plugin_search_path(void);

typedef struct PluginFile {
    char *name; /* NAME of libspice-plugin-NAME.so */
    char *path;
    char *shadowed; /* a later file with the same name that is ignored, or NULL */
} PluginFile;

/* Every plugin file in the path, first occurrence of a name wins,
 * sorted by name with "main" first. */
GPtrArray *plugin_scan(char **dirs);

/* "spice_plugin_NAME_query" with '-' written '_'. g_free it. */
char *plugin_query_symbol(const char *name);

/* The errors spice_server_init ends with when the search path (path_text,
 * the folders joined by ':') has no libspice-plugin-main.so, or no file
 * for a plugin the config enables by name. */
GError *plugin_error_main_missing(const char *path_text);
GError *plugin_error_missing(const char *name, const char *path_text);

/* ---- the load order and its verdicts ---------------------------------------- */

typedef enum {
    PLUGIN_VERDICT_LOADED,   /* opened, checked, accepted */
    PLUGIN_VERDICT_DISABLED, /* not enabled by the deployment */
    PLUGIN_VERDICT_FAILED,   /* enabled, but refused (gate, conflict, init) */
    PLUGIN_VERDICT_MISSING,  /* needed (main, or asked for by name) but not in the path */
} PluginVerdict;

/*
 * What a caller of plugin_load_walk() does at each step. The server opens
 * and initialises plugins; spice-plugin-list probes them in children and
 * reports. Both get the same verdicts, in the same order, for the same
 * reasons, because the rules live in plugin_load_walk() only.
 */
typedef struct PluginLoadOps {
    /* Open and check file (the gate). Called for enabled files, and for
     * disabled ones too when open_disabled. The descriptor stays the
     * caller's; NULL with *error when refused. */
    const SpicePluginDescriptor *(*open)(void *opaque, const PluginFile *file, bool enabled,
                                         GError **error);
    /* The descriptor passed the conflict check against those accepted
     * before it: take it (the server runs init()). false with *error
     * refuses it. NULL: always accepted. */
    bool (*accept)(void *opaque, const PluginFile *file, const SpicePluginDescriptor *desc,
                   GError **error);
    /* The verdict on one name: file is NULL for MISSING. reason is NULL
     * for LOADED. fatal: the server cannot start (main disabled or
     * missing, or a failure of a plugin that is not optional). */
    void (*verdict)(void *opaque, const char *name, const PluginFile *file, PluginVerdict verdict,
                    const char *reason, bool fatal);
    bool open_disabled;     /* also open disabled files (their verdict stays DISABLED) */
    bool stop_on_fatal;     /* stop at the first fatal verdict (the server) */
    const char *stop_after; /* stop after the file of this name (NULL: walk everything) */
} PluginLoadOps;

/* Walk files (plugin_scan() order) as the server loads them: the
 * enabled ones through the gate, the conflict rule and accept, then the
 * names the config needs that the path lacks. path_text is the search
 * path for messages. Returns false when a verdict was fatal. */
bool plugin_load_walk(const PluginConfig *config, GPtrArray *files, const char *path_text,
                      const PluginLoadOps *ops, void *opaque);

/* ---- names the server's messages use ---------------------------------------- */

/* The protocol's name of a channel type ("main", "display", "inputs",
 * ...), or NULL for a number it does not name. Static storage. */
const char *plugin_channel_type_lookup(uint8_t type);
/* The same, "unknown" for a type without a name: what the server's logs
 * and messages print. */
const char *plugin_channel_type_name(uint8_t type);

/* The i-th host interface type a plugin may serve ("keyboard", "mouse",
 * ..., "char_device"), NULL for i past the last one. */
const char *plugin_interface_type(unsigned i);
/* "qxl", or "char_device:usbredir" for an interface with a subtype: how
 * messages name an interface. g_free it. */
char *plugin_interface_label(const char *type, const char *subtype);

/* ---- the load-time gate ------------------------------------------------------ */

/* Open a plugin file and call its query function, without checking what
 * it returned (*desc may be NULL): the first step of the gate. On
 * success the caller owns *module. */
bool plugin_module_query(const char *path, const char *name, GModule **module,
                         const SpicePluginDescriptor **desc, GError **error);

/* The ABI version a descriptor says it was built for. False when desc is
 * NULL or lacks our magic: then nothing in it can be read. The header
 * (magic, version, size) never changes, so this works for descriptors
 * plugin_descriptor_validate rejects. */
bool plugin_descriptor_abi(const SpicePluginDescriptor *desc, uint16_t *major, uint16_t *minor);

/* Check a descriptor against this server's ABI; on failure the error
 * message starts with path. */
bool plugin_descriptor_validate(const SpicePluginDescriptor *desc, const char *path,
                                const char *name, GError **error);

/* Open a plugin file, query and validate its descriptor. */
bool plugin_module_open(const char *path, const char *name, GModule **module,
                        const SpicePluginDescriptor **desc, GError **error);

/* The class of a validated descriptor that provides channel `type`, or
 * the one that serves interface type:subtype (subtype NULL: none; both
 * must be equal) and names port portname (NULL: names none), or NULL. */
const SpiceChannelClass *plugin_descriptor_find_channel(const SpicePluginDescriptor *desc,
                                                        uint8_t type);
const SpiceInterfaceClass *plugin_descriptor_find_interface(const SpicePluginDescriptor *desc,
                                                            const char *type, const char *subtype,
                                                            const char *portname);
/* The port name interface class k of desc serves (ABI 1.4), or NULL: none,
 * or a plugin built before 1.4 (whose slot is reserved, never read). */
const char *plugin_interface_portname(const SpicePluginDescriptor *desc,
                                      const SpiceInterfaceClass *k);

/* Whether the plugin at path (validated desc) may load next to one the
 * server has accepted before it (other_desc, named other_name, loaded
 * from other_path): not when both provide a channel type or serve the
 * same interface type and subtype. The first in load order wins; the
 * error names the type and the earlier plugin, and starts with path. */
bool plugin_descriptor_check_conflict(const SpicePluginDescriptor *desc, const char *path,
                                      const SpicePluginDescriptor *other_desc,
                                      const char *other_name, const char *other_path,
                                      GError **error);

#endif /* SPICECORE_PLUGIN_LOADER_H_ */
