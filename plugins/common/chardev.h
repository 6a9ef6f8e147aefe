/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * chardev.h: what the plugins that own a char device share, header-only
 * (each plugin is its own .so).
 */
#ifndef SPICE_PLUGINS_COMMON_CHARDEV_H_
#define SPICE_PLUGINS_COMMON_CHARDEV_H_

#include <stdbool.h>

#include "spice-plugin.h"

/* Whether the host wakes the server when the device can take more
 * (interface minor 3, SPICE_CHAR_DEVICE_NOTIFY_WRITABLE); otherwise a
 * partial write is retried on a timer. */
static inline bool chardev_notifies_writable(const SpiceCharDeviceInterface *sif)
{
    return sif->base.minor_version >= 3 && (sif->flags & SPICE_CHAR_DEVICE_NOTIFY_WRITABLE);
}

#endif /* SPICE_PLUGINS_COMMON_CHARDEV_H_ */
