/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * demo-chardev.h: the demo host's char devices, attached the way QEMU's
 * chardev frontends attach them (chardev/spice.c), so that a real
 * guest-side program can sit on the other end:
 *
 *  - a socket device (--chardev KIND[:NAME]=PATH) listens on a unix
 *    socket at PATH; one program at a time connects as "the guest".
 *    vdagent, usbredir and smartcard devices are added to the server
 *    when it connects and removed when it leaves (as QEMU does when the
 *    guest opens and closes its virtio-serial port); a port is added at
 *    start and told OPENED / CLOSED (spice_server_port_event).
 *  - the echo port (NAME, opened from the start) sends back to the
 *    client whatever the client writes.
 *
 * Guest bytes are read from the socket only when the server has taken
 * the previous ones (at most 64 KiB wait in the host), and the server's
 * bytes are written as the socket takes them (NOTIFY_WRITABLE: the
 * server is woken when it may write again). One line is printed per
 * change: "chardev: NAME guest connected", "... client connected",
 * "... client event N".
 */
#ifndef SPICE_TOOLS_DEMO_CHARDEV_H_
#define SPICE_TOOLS_DEMO_CHARDEV_H_

#include <stdbool.h>

#include <glib.h>
#include <spice.h>

typedef struct DemoChardev DemoChardev;

typedef void (*DemoChardevEmit)(const char *line, void *opaque);

/* "port:org.test.0=/tmp/p.sock", "vdagent=/tmp/a.sock": NULL (with
 * *error) for a bad spec or a socket that cannot listen. */
DemoChardev *demo_chardev_new_socket(SpiceServer *server, const char *spec, DemoChardevEmit emit,
                                     void *opaque, GError **error);
/* The echo port called name. */
DemoChardev *demo_chardev_new_echo(SpiceServer *server, const char *name, DemoChardevEmit emit,
                                   void *opaque);
/* After spice_server_init: ports are added now, the others once their
 * guest connects. False if the server refused the device (logged). */
bool demo_chardev_start(DemoChardev *d);
/* Removes the device from the server and closes its sockets. NULL ok. */
void demo_chardev_free(DemoChardev *d);

#endif /* SPICE_TOOLS_DEMO_CHARDEV_H_ */
