/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-devices.h: a keyboard, a mouse and a tablet for host programs that
 * have no real VM behind them (the demo host, the tests). Every event the
 * server delivers becomes one text line handed to `emit`:
 *
 *   key 0x1e
 *   mouse motion dx=5 dy=-3 dz=0 buttons=0x0
 *   mouse buttons 0x1
 *   tablet logical size 800x600
 *   tablet position x=100 y=200 buttons=0x0
 *   tablet wheel dz=1 buttons=0x0
 *   tablet buttons 0x0
 *
 * With guest_leds set, the keyboard behaves like a guest's: a lock-key
 * press toggles its LED and the new state is reported to the server with
 * spice_server_kbd_leds().
 */
#ifndef SPICE_TOOLS_DEMO_DEVICES_H_
#define SPICE_TOOLS_DEMO_DEVICES_H_

#include <stdbool.h>

#include <spice.h>

typedef void (*DemoDevicesEmit)(const char *line, void *opaque);

typedef struct DemoDevices {
    SpiceKbdInstance kbd;
    SpiceMouseInstance mouse;
    SpiceTabletInstance tablet;
    uint8_t leds;
    uint8_t ext_prefix;
    bool guest_leds;
    DemoDevicesEmit emit;
    void *opaque;
} DemoDevices;

void demo_devices_init(DemoDevices *d, bool guest_leds, DemoDevicesEmit emit, void *opaque);

#endif /* SPICE_TOOLS_DEMO_DEVICES_H_ */
