/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * serving-plugin.c: a plugin without channels that serves char devices,
 * for spice-plugin-list --serves. Built as "chardev" (char_device:usbredir
 * and char_device:webdav) and as "chardev-two" (char_device:usbredir
 * again, which the first in load order keeps). SERVING_ID names it,
 * SERVING_WEBDAV adds the second subtype.
 */
#include <errno.h>

#include "spice-plugin.h"

static int serving_add(SpicePlugin *plugin, SpiceBaseInstance *sin, void **iface_data)
{
    (void)plugin, (void)sin, (void)iface_data;
    return -ENOTSUP;
}

#define CHAR_DEVICE_CLASS(subtype_)                                               \
    {                                                                             \
        .size = sizeof(SpiceInterfaceClass), .type = SPICE_INTERFACE_CHAR_DEVICE, \
        .subtype = subtype_, .major = SPICE_INTERFACE_CHAR_DEVICE_MAJOR,          \
        .minor = SPICE_INTERFACE_CHAR_DEVICE_MINOR, .add = serving_add,           \
    }

static const SpiceInterfaceClass usbredir_iface = CHAR_DEVICE_CLASS("usbredir");
#ifdef SERVING_WEBDAV
static const SpiceInterfaceClass webdav_iface = CHAR_DEVICE_CLASS("webdav");
#endif

static const SpiceInterfaceClass *const serving_interfaces[] = {
    &usbredir_iface,
#ifdef SERVING_WEBDAV
    &webdav_iface,
#endif
    NULL,
};

static int serving_init(SpicePlugin *plugin, const SpiceHostServices *host)
{
    (void)plugin, (void)host;
    return 0;
}

/* Expands SERVING_ID before SPICE_PLUGIN_DEFINE pastes it. */
#define SERVING_DEFINE(id, ...) SPICE_PLUGIN_DEFINE(id, __VA_ARGS__)

SERVING_DEFINE(SERVING_ID, .version = "1.0", .license = "LGPL-2.1-or-later",
               .description = "test fixture: serves char devices", .origin = "spicecore test suite",
               .interfaces = serving_interfaces, .init = serving_init)
