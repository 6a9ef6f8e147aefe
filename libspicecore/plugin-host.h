/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * plugin-host.h: loaded plugins inside one server and the host-services
 * table handed to them.
 */
#ifndef SPICECORE_PLUGIN_HOST_H_
#define SPICECORE_PLUGIN_HOST_H_

#include <gmodule.h>

#include "server.h"

struct SpicePlugin {
    SpiceServer *server;
    char *name;
    char *path;
    GModule *module;
    const SpicePluginDescriptor *desc;
    bool initialized;
    void *data;
    char *error;        /* set_error() text */
    GHashTable *config; /* [plugin NAME] keys */
    GList *loops;       /* SpicePluginLoop* it started */
};

struct SpicePluginLoop {
    SpicePlugin *plugin;
    EventLoop *loop;
};

/* Load, validate and initialise the enabled plugins (host thread, during
 * spice_server_init). On failure of a required plugin returns false with
 * the full reason. */
bool plugin_host_load_all(SpiceServer *s, GError **error);
/* Unregister every plugin's channels, deinit and unload. */
void plugin_host_unload_all(SpiceServer *s);

/* The plugin that serves an interface type (and char-device subtype). */
SpicePlugin *plugin_host_find_interface(SpiceServer *s, const char *type, const char *subtype,
                                        const char *portname, const SpiceInterfaceClass **klass);

/* Logging on behalf of a plugin or the core. */
void plugin_host_log(SpicePlugin *plugin, SpicePluginLogLevel level, const char *format, ...)
    G_GNUC_PRINTF(3, 4);

/* The EventLoop behind a plugin loop handle (NULL: the host loop). */
EventLoop *plugin_host_loop_get(SpiceServer *s, SpicePluginLoop *loop);

#endif /* SPICECORE_PLUGIN_HOST_H_ */
