/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-devices.c: recording input devices.
 */
#include "demo-devices.h"

#include <stddef.h>

#include <glib.h>

#define LED_SCROLL 1
#define LED_NUM    2
#define LED_CAPS   4

#define FROM(ptr, member) ((DemoDevices *)((char *)(ptr)-offsetof(DemoDevices, member)))

static void emit(DemoDevices *d, const char *format, ...) G_GNUC_PRINTF(2, 3);

static void emit(DemoDevices *d, const char *format, ...)
{
    va_list ap;
    va_start(ap, format);
    g_autofree char *line = g_strdup_vprintf(format, ap);
    va_end(ap);
    d->emit(line, d->opaque);
}

static void kbd_push_scan_freg(SpiceKbdInstance *sin, uint8_t frag)
{
    DemoDevices *d = FROM(sin, kbd);
    emit(d, "key 0x%02x", frag);
    if (!d->guest_leds) {
        return;
    }
    /* A lock key press (not after an 0xE0 prefix) toggles its LED. */
    uint8_t led = 0;
    if (d->ext_prefix == 0) {
        led = frag == 0x3a ? LED_CAPS : frag == 0x45 ? LED_NUM : frag == 0x46 ? LED_SCROLL : 0;
    }
    d->ext_prefix = frag >= 0xe0 && frag <= 0xe2 ? frag : 0;
    if (led) {
        d->leds ^= led;
        spice_server_kbd_leds(&d->kbd, d->leds);
    }
}

static uint8_t kbd_get_leds(SpiceKbdInstance *sin)
{
    return FROM(sin, kbd)->leds;
}

static const SpiceKbdInterface kbd_iface = {
    .base = { .type = SPICE_INTERFACE_KEYBOARD,
              .description = "demo keyboard",
              .major_version = SPICE_INTERFACE_KEYBOARD_MAJOR,
              .minor_version = SPICE_INTERFACE_KEYBOARD_MINOR },
    .push_scan_freg = kbd_push_scan_freg,
    .get_leds = kbd_get_leds,
};

static void mouse_motion(SpiceMouseInstance *sin, int dx, int dy, int dz, uint32_t buttons)
{
    emit(FROM(sin, mouse), "mouse motion dx=%d dy=%d dz=%d buttons=0x%x", dx, dy, dz, buttons);
}

static void mouse_buttons(SpiceMouseInstance *sin, uint32_t buttons)
{
    emit(FROM(sin, mouse), "mouse buttons 0x%x", buttons);
}

static const SpiceMouseInterface mouse_iface = {
    .base = { .type = SPICE_INTERFACE_MOUSE,
              .description = "demo mouse",
              .major_version = SPICE_INTERFACE_MOUSE_MAJOR,
              .minor_version = SPICE_INTERFACE_MOUSE_MINOR },
    .motion = mouse_motion,
    .buttons = mouse_buttons,
};

static void tablet_set_logical_size(SpiceTabletInstance *sin, int width, int height)
{
    emit(FROM(sin, tablet), "tablet logical size %dx%d", width, height);
}

static void tablet_position(SpiceTabletInstance *sin, int x, int y, uint32_t buttons)
{
    emit(FROM(sin, tablet), "tablet position x=%d y=%d buttons=0x%x", x, y, buttons);
}

static void tablet_wheel(SpiceTabletInstance *sin, int dz, uint32_t buttons)
{
    emit(FROM(sin, tablet), "tablet wheel dz=%d buttons=0x%x", dz, buttons);
}

static void tablet_buttons(SpiceTabletInstance *sin, uint32_t buttons)
{
    emit(FROM(sin, tablet), "tablet buttons 0x%x", buttons);
}

static const SpiceTabletInterface tablet_iface = {
    .base = { .type = SPICE_INTERFACE_TABLET,
              .description = "demo tablet",
              .major_version = SPICE_INTERFACE_TABLET_MAJOR,
              .minor_version = SPICE_INTERFACE_TABLET_MINOR },
    .set_logical_size = tablet_set_logical_size,
    .position = tablet_position,
    .wheel = tablet_wheel,
    .buttons = tablet_buttons,
};

void demo_devices_init(DemoDevices *d, bool guest_leds, DemoDevicesEmit emit_fn, void *opaque)
{
    *d = (DemoDevices){ 0 };
    d->kbd.base.sif = &kbd_iface.base;
    d->mouse.base.sif = &mouse_iface.base;
    d->tablet.base.sif = &tablet_iface.base;
    d->guest_leds = guest_leds;
    d->emit = emit_fn;
    d->opaque = opaque;
}
