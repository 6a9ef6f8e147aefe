/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * spice-char.h: character devices (the vdagent port, usbredir, smartcard,
 * named ports). The host's read/write callbacks must not block; the host
 * calls spice_server_char_device_wakeup() when data or room appears.
 */
#ifndef SPICE_CHAR_H_
#define SPICE_CHAR_H_

#if !defined(SPICE_H_INSIDE) && !defined(SPICE_SERVER_INTERNAL)
#error "include <spice.h>, not this header"
#endif

#include "spice-core.h"

SPICE_BEGIN_DECLS

#define SPICE_INTERFACE_CHAR_DEVICE       "char_device"
#define SPICE_INTERFACE_CHAR_DEVICE_MAJOR 1
#define SPICE_INTERFACE_CHAR_DEVICE_MINOR 3
typedef struct SpiceCharDeviceInterface SpiceCharDeviceInterface;
typedef struct SpiceCharDeviceInstance SpiceCharDeviceInstance;
typedef struct SpiceCharDeviceState SpiceCharDeviceState;

typedef enum {
    /* the host calls wakeup when the device becomes writable again */
    SPICE_CHAR_DEVICE_NOTIFY_WRITABLE = 1 << 0,
} spice_char_device_flags;

struct SpiceCharDeviceInterface {
    SpiceBaseInterface base;

    /* connected is 0 or 1; 0 tells the guest side the device is gone. */
    void (*state)(SpiceCharDeviceInstance *sin, int connected);
    /* Non-blocking; returns bytes taken (possibly 0) or < 0 on error. */
    int (*write)(SpiceCharDeviceInstance *sin, const uint8_t *buf, int len);
    /* Non-blocking; returns bytes read (0 when none) or < 0 on error. */
    int (*read)(SpiceCharDeviceInstance *sin, uint8_t *buf, int len);
    /* Since minor 2: a port event (SPICE_PORT_EVENT_*) from the client. */
    void (*event)(SpiceCharDeviceInstance *sin, uint8_t event);
    /* Since minor 3. */
    spice_char_device_flags flags;
};

struct SpiceCharDeviceInstance {
    SpiceBaseInstance base;
    const char *subtype;
    SpiceCharDeviceState *st;
    const char *portname;
};

void spice_server_char_device_wakeup(SpiceCharDeviceInstance *sin);
void spice_server_port_event(SpiceCharDeviceInstance *sin, uint8_t event);
const char **spice_server_char_device_recognized_subtypes(void);

SPICE_END_DECLS

#endif /* SPICE_CHAR_H_ */
