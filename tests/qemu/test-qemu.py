#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Debian's QEMU on our library, seen through a real spice-gtk client.

Each case runs qemu-system-x86_64 -display none with -spice on
127.0.0.1 and LD_LIBRARY_PATH pointing at our build, so QEMU loads our
libspice-server.so.1. The client's copy of the screen is compared with
QEMU's own idea of it (QMP screendump):

  std-firmware   -vga std: SeaBIOS's text screen, once it has settled
  qxl-firmware   -vga qxl in VGA mode: the same
  qxl-native     -vga qxl driven by a Linux guest's qxl DRM driver
                 (native QXL commands, through KMS): known pictures, a
                 partial update, an alpha cursor and a mode change must
                 arrive exactly; QEMU's screendump goes through our
                 update_area
  qxl-two-heads  one QXL device with max_outputs=2, both outputs set by
                 the guest: one surface, two monitors in MONITORS_CONFIG
  qxl-two-devices  two QXL devices: two display channels, a mode each
  client-monitors  the client asks for two monitors through its agent
                 (the guest holds the agent port open): the QXL device,
                 not the agent, gets them, and the guest's qxl driver
                 offers the client's sizes on its two outputs

When Debian's own libspice-server1 is installed, each case runs on it
too and both libraries must show the same picture.

usage: test-qemu.py BUILD_LIBDIR CACHE_DIR [CASE...]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "python"))
sys.path.insert(0, HERE)
import guest  # noqa: E402
from qemuhost import Qemu, free_port  # noqa: E402
from spiceclient import (Client, Spice, cursor_signature, difference,  # noqa: E402
                         gspice_problems, gspice_problems_since, signal_connect,
                         write_png)

REFERENCE_LIB = "/usr/lib/x86_64-linux-gnu/libspice-server.so.1"
OUR_LIBDIR = None
CACHE = None
# A text-mode cursor blinks inside one character cell (9x16 at most).
CURSOR_CELL = (9, 16)


def within_cursor_cell(a, b):
    count, box = difference(a, b)
    if count == 0:
        return True
    return box[2] - box[0] < CURSOR_CELL[0] and box[3] - box[1] < CURSOR_CELL[1]


def text_rows(picture):
    """How many bands of rows hold something other than the background."""
    w, h, rgb = picture
    background = rgb[0:3]
    bands, inside = 0, False
    for y in range(h):
        row = rgb[y * w * 3:(y + 1) * w * 3]
        busy = row != background * w
        if busy and not inside:
            bands += 1
        inside = busy
    return bands


def save_failure(name, picture):
    path = os.path.join(CACHE, "%s.png" % name)
    write_png(path, picture)
    return path


def firmware_screen(libdir, vga, tag, spice_extra="", client=None, env_extra=None):
    """Boot to SeaBIOS's 'No bootable device', wait for the screen to
    settle and return the client's picture, checked against QEMU's
    screendump (a blinking text cursor may differ). client(q) makes the
    spice-gtk client (default: plain, on q.port)."""
    q = Qemu(libdir, vga, spice_extra=spice_extra, env_extra=env_extra)
    try:
        c = client(q) if client else Client(q.port)
        c.run_until(c.picture_ready, timeout=30, what="the first picture")
        deadline = time.monotonic() + 60
        stable_since, last = None, None
        while True:
            c.pump(0.5)
            dump = q.screendump()
            if last is not None and dump[:2] == last[:2] and within_cursor_cell(dump, last):
                stable_since = stable_since or time.monotonic()
            else:
                stable_since = None
            last = dump
            pic = c.picture()
            if (stable_since and time.monotonic() - stable_since > 2.0 and
                    pic[:2] == dump[:2] and within_cursor_cell(pic, dump)):
                break
            if time.monotonic() > deadline:
                raise AssertionError("%s: the client never matched QEMU's screen (%s); saved %s "
                                     "and %s" % (tag, describe(pic, dump),
                                                 save_failure(tag + "-client", pic),
                                                 save_failure(tag + "-qemu", dump)))
        rows = text_rows(pic)
        assert rows >= 4, "%s: expected the firmware's lines of text, found %d bands" % (tag, rows)
        c.close()
        return pic
    finally:
        out = q.stop()
        assert "Aborted" not in out and "core dumped" not in out, out


def describe(a, b):
    if a[:2] != b[:2]:
        return "sizes %dx%d vs %dx%d" % (a[0], a[1], b[0], b[1])
    count, box = difference(a, b)
    return "%d pixels differ within %r" % (count, box)


def on_both_libraries(run):
    """run(libdir, tag) returns the final picture, or {"picture", "events"}:
    both libraries must show the same picture and the same events, and
    spice-gtk may not complain about ours more than about the reference.
    Without the reference, any complaint fails."""
    def one(libdir, tag):
        mark = len(gspice_problems)
        got = run(libdir, tag)
        picture, events = (got["picture"], got["events"]) if isinstance(got, dict) else (got, None)
        return picture, events, gspice_problems_since(mark)

    ours, our_events, our_problems = one(OUR_LIBDIR, "ours")
    if not os.path.exists(REFERENCE_LIB):
        print("# %s not installed: no side-by-side comparison" % REFERENCE_LIB)
        assert not our_problems, "spice-gtk complained: %r" % our_problems
        return
    ref, ref_events, ref_problems = one(os.path.dirname(REFERENCE_LIB), "reference")
    extra = [p for p in our_problems if p not in ref_problems]
    assert not extra, "spice-gtk complained with our library only: %r" % extra
    assert ours[:2] == ref[:2] and within_cursor_cell(ours, ref), \
        "our library and the reference show different screens: %s (saved %s, %s)" % (
            describe(ours, ref), save_failure("ours", ours), save_failure("reference", ref))
    assert our_events == ref_events, "events differ:\nours      %r\nreference %r" % (
        our_events, ref_events)


def case_std_firmware():
    on_both_libraries(lambda lib, tag: firmware_screen(lib, "std", "std-" + tag))


def case_qxl_firmware():
    on_both_libraries(lambda lib, tag: firmware_screen(lib, "qxl", "qxl-" + tag))


MAKE_CERTS = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "tls",
                          "make-certs.sh")


def tls_firmware(libdir, tag):
    """QEMU with tls-port and x509-dir, every channel TLS-only
    (tls-channel=default, which QEMU passes as NULL): spice-gtk, given
    the CA and both ports, gets the firmware screen over TLS."""
    with tempfile.TemporaryDirectory() as tmp:
        x509 = os.path.join(tmp, "x509")
        subprocess.run([MAKE_CERTS, x509], check=True)
        tls_port = free_port()
        extra = ",tls-port=%d,x509-dir=%s,tls-channel=default" % (tls_port, x509)
        clients = []

        def client(q):
            c = Client(q.port, tls_port=str(tls_port), ca_file=os.path.join(x509, "ca-cert.pem"))
            clients.append(c)
            return c
        picture = firmware_screen(libdir, "std", "tls-" + tag, extra, client)
        c = clients[0]
        # spice-gtk retries each channel on the TLS port after
        # NEED_SECURED: they open; nothing failed for good.
        events = sorted({(kind, int(ev)) for kind, ev in c.events})
        return {"picture": picture, "events": events}


def case_tls_firmware():
    on_both_libraries(tls_firmware)


def sasl_firmware(libdir, tag):
    """QEMU with sasl=on (its SASL application name is "qemu": qemu.conf
    under SASL_CONF_PATH) and a DIGEST-MD5 user: spice-gtk logs in and
    gets the firmware screen through the security layer."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "qemu.conf"), "w") as f:
            f.write("mech_list: digest-md5\nsasldb_path: %s/sasldb2\n" % tmp)
        subprocess.run(["saslpasswd2", "-p", "-f", os.path.join(tmp, "sasldb2"), "-a", "qemu",
                        "-c", "alice"], input=b"secret", check=True)
        clients = []

        def client(q):
            c = Client(q.port, password="secret", username="alice")
            clients.append(c)
            return c
        picture = firmware_screen(libdir, "std", "sasl-" + tag, ",sasl=on", client,
                                  {"SASL_CONF_PATH": tmp})
        events = sorted({(kind, int(ev)) for kind, ev in clients[0].events})
        return {"picture": picture, "events": events}


def case_sasl_firmware():
    if not shutil.which("saslpasswd2"):
        return "SKIP saslpasswd2 is not installed (scripts/install-deps.sh --tests)"
    on_both_libraries(sasl_firmware)


# The sound devices a default libvirt / virt-manager VM has.
SOUND_DEVICES = ["-audiodev", "spice,id=snd0", "-device", "ich9-intel-hda",
                 "-device", "hda-duplex,audiodev=snd0"]
PLAYBACK, RECORD = 5, 6


def sound_channels(libdir, tag):
    """The channels a client is offered by QEMU with sound devices (no
    guest: nothing plays), and what QEMU said about the library."""
    q = Qemu(libdir, "std", extra=SOUND_DEVICES)
    try:
        c = Client(q.port)
        c.run_until(lambda: c.opened(PLAYBACK), timeout=30, what="the playback channel")
        c.pump(0.5)
        channels = sorted(c.channels)
        c.close()
    finally:
        out = q.stop()
    complaints = [line for line in out.splitlines() if "spice_server_get_best" in line or
                  "playback" in line.lower()]
    return channels, complaints


def case_sound_devices():
    mark = len(gspice_problems)
    ours, complaints = sound_channels(OUR_LIBDIR, "ours")
    our_problems = gspice_problems_since(mark)
    assert (PLAYBACK, 0) in ours and (RECORD, 0) in ours, ours
    assert not complaints, "QEMU logged about playback: %r" % complaints
    if not os.path.exists(REFERENCE_LIB):
        assert not our_problems, "spice-gtk complained: %r" % our_problems
    else:
        mark = len(gspice_problems)
        ref, _ = sound_channels(os.path.dirname(REFERENCE_LIB), "reference")
        extra = [p for p in our_problems if p not in gspice_problems_since(mark)]
        assert not extra, "spice-gtk complained with our library only: %r" % extra
        assert ours == ref, (ours, ref)


QMP_PORT = "org.qemu.monitor.qmp.0"
QMP_PORT_DEVICES = ("-chardev", "spiceport,id=qmpport,name=" + QMP_PORT,
                    "-mon", "chardev=qmpport,mode=control")


def qmp_through_port(libdir, tag):
    """spice-gtk's QmpPort talks to QEMU's monitor through a spiceport:
    the status it reads, and QEMU's own view after the port paused it."""
    q = Qemu(libdir, "std", extra=QMP_PORT_DEVICES)
    seen = {}
    try:
        c = Client(q.port)
        ports = []

        def on_channel_new(session, ch):
            if isinstance(ch, Spice.PortChannel):
                ports.append(ch)
        signal_connect(c.session, "channel-new", on_channel_new)
        c.run_until(lambda: any(p.props.port_name == QMP_PORT and p.props.port_opened
                                for p in ports), timeout=30, what="the QMP port to open")
        port = [p for p in ports if p.props.port_name == QMP_PORT][0]
        seen["channel"] = (port.props.channel_type, port.props.channel_id)
        qp = Spice.QmpPort.get(port)
        c.run_until(lambda: qp.props.ready, timeout=30, what="the QmpPort to be ready")
        status = []
        qp.query_status_async(None, lambda o, r, d: status.append(qp.query_status_finish(r)),
                              None)
        c.run_until(lambda: status, timeout=30, what="query-status through the port")
        seen["status"] = (status[0].status, status[0].running)
        done = []
        qp.vm_action_async(Spice.QmpPortVmAction.PAUSE, None,
                           lambda o, r, d: done.append(True), None)
        c.run_until(lambda: done, timeout=30, what="stop through the port")
        seen["qemu after pause"] = q.command("query-status")["status"]
        c.close()
    finally:
        out = q.stop()
    about_ports = re.compile(r"\b(chardev|char_device|spiceport|port|qmp|monitor)\b", re.I)
    seen["complaints"] = [line for line in out.splitlines() if about_ports.search(line)]
    print("# %s: %r" % (tag, seen), flush=True)
    return seen


def case_qmp_port():
    mark = len(gspice_problems)
    ours = qmp_through_port(OUR_LIBDIR, "ours")
    our_problems = gspice_problems_since(mark)
    assert ours["channel"] == (10, 0), ours
    assert ours["status"] == ("running", True), ours
    assert ours["qemu after pause"] == "paused", ours
    assert not ours["complaints"], ours
    if not os.path.exists(REFERENCE_LIB):
        assert not our_problems, "spice-gtk complained: %r" % our_problems
        return
    mark = len(gspice_problems)
    ref = qmp_through_port(os.path.dirname(REFERENCE_LIB), "reference")
    extra = [p for p in our_problems if p not in gspice_problems_since(mark)]
    assert not extra, "spice-gtk complained with our library only: %r" % extra
    for key in ("channel", "status", "qemu after pause"):
        assert ours[key] == ref[key], (key, ours[key], ref[key])


def guest_command(q, command, client, timeout=30):
    """Send the guest a command; the client keeps running meanwhile."""
    q.send_serial(command + "\n")
    deadline = time.monotonic() + timeout
    while True:
        out = q.output()
        if "guest-kms: done: " + command in out:
            return
        if "guest-kms: failed: " + command in out or "guest-kms: error" in out:
            raise AssertionError("the guest could not %r" % command)
        if q.proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("no answer from the guest to %r" % command)
        client.pump(0.05)


def check_cursor_set(c, what):
    """The guest's 64x64 alpha cursor arrived as a cursor-set, exactly."""
    c.run_until(lambda: any(e[0] == "set" and e[1] == guest.CURSOR_SIZE for e in c.cursor),
                what=what)
    shape = [e for e in c.cursor if e[0] == "set"][-1]
    n = guest.CURSOR_SIZE
    assert shape[1:5] == (n, n, *guest.CURSOR_HOT), shape[1:5]
    # spice-gtk hands the shape over as R, G, B, A bytes.
    argb = guest.cursor_argb()
    rgba = bytearray(argb)
    rgba[0::4], rgba[2::4] = argb[2::4], argb[0::4]
    assert shape[5] == bytes(rgba), "the cursor's pixels differ"


def native_guest(libdir, tag):
    """A Linux guest's qxl driver, driven through KMS by guest-kms, with
    the client connected from the start: it sees the firmware, the
    driver's reset, the kernel console, then the KMS client's mode sets
    and cursors. Returns the last picture and the cursor events seen
    from the first mode set on."""
    kernel, initrd = guest.prepare(os.path.join(CACHE, "guest"))
    q = Qemu(libdir, "qxl", extra=[
        "-kernel", kernel, "-initrd", initrd,
        "-append", "console=ttyS0 vt.global_cursor_default=0 loglevel=3"])
    try:
        c = Client(q.port)
        q.wait_serial("guest-kms: ready", timeout=120, client=c)
        c.run_until(c.picture_ready, timeout=30, what="the console's picture")
        events = []
        try:
            for step, command in ((1, "show /step1.raw %d %d" % (guest.SCREEN_W, guest.SCREEN_H)),
                                  (2, "patch /step2.raw %d %d" % (guest.PATCH_ROW,
                                                                  guest.PATCH_ROWS))):
                if step == 1:
                    c.cursor.clear()
                guest_command(q, command, c)
                expected = guest.screen(step)
                c.wait_picture(expected, timeout=30, what="the guest's picture %d" % step)
                dump = q.screendump()
                assert dump == expected, "QEMU's screendump (update_area) differs: %s" % \
                    describe(dump, expected)

            # After the console gave way to the mode set (the cursor was
            # reset): a cursor with alpha, moved, hidden.
            guest_command(q, "cursor /cursor.raw %d %d" % guest.CURSOR_HOT, c)
            check_cursor_set(c, "cursor-set after the mode set")
            guest_command(q, "move 300 200", c)
            c.run_until(lambda: any(e[0] == "move" for e in c.cursor), what="cursor-move")
            moves = [e for e in c.cursor if e[0] == "move"]
            assert moves[-1][1:] == (300 + guest.CURSOR_HOT[0], 200 + guest.CURSOR_HOT[1]), moves
            guest_command(q, "hide", c)
            c.run_until(lambda: ("hide",) in c.cursor, what="cursor-hide")
            events += [e[:5] for e in c.cursor]

            # Another mode: a new primary surface, and the cursor again.
            c.cursor.clear()
            guest_command(q, "show /step3.raw %d %d" % (guest.MODE2_W, guest.MODE2_H), c)
            expected = guest.screen(3)
            c.wait_picture(expected, timeout=30, what="the picture in the new mode")
            dump = q.screendump()
            assert dump == expected, "QEMU's screendump (update_area) differs: %s" % describe(
                dump, expected)
            guest_command(q, "cursor /cursor.raw %d %d" % guest.CURSOR_HOT, c)
            check_cursor_set(c, "cursor-set after the second mode set")
            c.pump(0.3)
            events += [e[:5] for e in c.cursor]
        except AssertionError as e:
            said = "\n".join(line for line in q.output().splitlines() if "guest" in line)
            saved = save_failure("native-" + tag, c.picture()) if c.picture_ready() else None
            raise AssertionError("%s: %s (client picture saved as %s); the guest said:\n%s" % (
                tag, e, saved, said))
        c.close()
        return {"picture": expected, "events": cursor_signature(events)}
    finally:
        out = q.stop()
        assert "guest: insmod" not in out, out


def case_qxl_native():
    on_both_libraries(native_guest)


def crop(picture, x0, y0, w, h):
    """(w, h, RGB bytes) of the box at x0, y0 of a (width, height, RGB) picture."""
    width, _, rgb = picture
    return w, h, b"".join(rgb[((y0 + y) * width + x0) * 3:((y0 + y) * width + x0 + w) * 3]
                          for y in range(h))


def wait_display(c, ident, predicate, what, timeout=30):
    c.run_until(lambda: c.display_picture(ident) is not None and
                predicate(c.display_picture(ident)), timeout=timeout, what=what)


def multihead_guest(libdir, tag, devices):
    """Two heads: one QXL device with max_outputs=2 whose guest driver
    sets a mode on both outputs (one surface, two monitors side by side),
    or two QXL devices, one mode each (two display channels). The
    client's pictures must equal QEMU's screendumps and show the guest's
    pictures where its monitors say, with the monitors the guest set."""
    kernel, initrd = guest.prepare(os.path.join(CACHE, "guest"))
    extra = ["-kernel", kernel, "-initrd", initrd,
             "-append", "console=ttyS0 vt.global_cursor_default=0 loglevel=3"]
    extra += ["-device", "qxl,id=qxl1"] if devices else ["-global", "qxl-vga.max_outputs=2"]
    q = Qemu(libdir, "qxl", extra=extra)
    first, second = guest.screen(1), guest.screen(3)
    try:
        c = Client(q.port)
        q.wait_serial("guest-kms: ready", timeout=120, client=c)
        c.run_until(c.picture_ready, timeout=30, what="the console's picture")
        try:
            guest_command(q, "show /step1.raw %d %d" % first[:2], c)
            if devices:
                guest_command(q, "card 1", c)
                guest_command(q, "show /step3.raw %d %d" % second[:2], c)
                wait_display(c, 0, lambda p: p == first, "display 0's picture")
                wait_display(c, 1, lambda p: p == second, "display 1's picture")
                pictures = [c.display_picture(0), c.display_picture(1)]
                dumps = [q.screendump(), q.screendump("qxl1")]
                want = [[(0, 0, 0, 0) + first[:2]], [(0, 0, 0, 0) + second[:2]]]
            else:
                guest_command(q, "head 1 /step3.raw %d %d" % second[:2], c)
                # The driver's one surface holds both heads side by side.
                size = (first[0] + second[0], first[1])
                wait_display(c, 0, lambda p: p[:2] == size and
                             crop(p, first[0], 0, *second[:2]) == second, "both heads")
                c.run_until(lambda: len(c.monitors(0)) == 2, what="two monitors")
                # Debian 12's qxl driver then also copies the second head's
                # picture over the first one's top-left corner, a little
                # later (both libraries show it): what counts is that the
                # client shows what QEMU has, once the guest is done.
                c.wait_settled(quiet=1.0, timeout=30)
                dumps = [q.screendump()]
                wait_display(c, 0, lambda p: p == dumps[0], "QEMU's screendump", timeout=10)
                pictures = [c.display_picture(0)]
                assert crop(pictures[0], first[0], 0, *second[:2]) == second, \
                    "the second head's picture moved"
                want = [[(0, 0, 0, 0) + first[:2], (1, 0, first[0], 0) + second[:2]]]
            monitors = [c.monitors(i) for i in range(len(want))]
            assert monitors == want, "monitors %r, expected %r" % (monitors, want)
            for i, (got, dump) in enumerate(zip(pictures, dumps)):
                assert got == dump, "display %d differs from QEMU's screendump: %s" % (
                    i, describe(got, dump))
        except AssertionError as e:
            said = "\n".join(line for line in q.output().splitlines() if "guest" in line)
            raise AssertionError("%s: %s; the guest said:\n%s" % (tag, e, said))
        c.close()
        return {"picture": pictures[0],
                "events": [monitors, [zlib.crc32(p[2]) for p in pictures[1:]]]}
    finally:
        out = q.stop()
        assert "guest: insmod" not in out, out


def case_qxl_two_heads():
    on_both_libraries(lambda libdir, tag: multihead_guest(libdir, tag, devices=False))


def case_qxl_two_devices():
    on_both_libraries(lambda libdir, tag: multihead_guest(libdir, tag, devices=True))


def sound_devices(controller):
    return ["-audiodev", "spice,id=snd0", "-device", controller,
            "-device", "hda-duplex,audiodev=snd0"]


AGENT_DEVICES = ("-device", "virtio-serial", "-chardev", "spicevmc,id=vda,name=vdagent",
                 "-device", "virtserialport,chardev=vda,name=com.redhat.spice.0")


def octal(data):
    return "".join("\\%03o" % b for b in data)


def guest_agent(libdir, tag):
    """The libvirt default agent channel with a Linux guest that opens
    com.redhat.spice.0 and announces capabilities as spice-vdagentd
    would: the client sees the agent come, its caps, and go when the
    guest closes the port."""
    import struct
    from spiceclient import MAIN
    kernel, initrd = guest.prepare(os.path.join(CACHE, "guest"))
    q = Qemu(libdir, "qxl", extra=[
        "-kernel", kernel, "-initrd", initrd,
        "-append", "console=ttyS0 vt.global_cursor_default=0 loglevel=3", *AGENT_DEVICES])
    seen = {}
    try:
        c = Client(q.port)
        q.wait_serial("guest-kms: ready", timeout=120, client=c)
        main = c.channels[(MAIN, 0)]
        seen["before"] = main.props.agent_connected
        caps = (1 << 1) | (1 << 2)  # MONITORS_CONFIG, REPLY
        msg = struct.pack("<IIQI", 1, 6, 0, 8) + struct.pack("<II", 0, caps)  # ANNOUNCE
        chunk = struct.pack("<II", 1, len(msg)) + msg
        # Announced once a second, as an agent answers the client's own
        # announcement: what the agent says before the client started
        # talking to it is dropped (by both libraries).
        command = ("sh for p in /sys/class/virtio-ports/*; do [ \"$(cat $p/name)\" = "
                   "com.redhat.spice.0 ] && d=/dev/${p##*/}; done; [ -c \"$d\" ] && "
                   "(exec 3<>$d; for i in 1 2 3 4 5; do printf '%s' >&3; sleep 1; done) &"
                   % octal(chunk))
        guest_command(q, command, c)
        c.run_until(lambda: main.props.agent_connected, timeout=30, what="the guest agent")
        c.run_until(lambda: main.agent_test_capability(1), timeout=30,
                    what="the agent's capabilities")
        seen["caps"] = [i for i in range(8) if main.agent_test_capability(i)]
        c.run_until(lambda: not main.props.agent_connected, timeout=30,
                    what="the agent to go with the port")
        seen["after"] = main.props.agent_connected
        c.close()
    finally:
        out = q.stop()
        assert "guest: insmod" not in out, out
    print("# %s: %r" % (tag, seen), flush=True)
    return seen


OPEN_AGENT_PORT = ("sh for p in /sys/class/virtio-ports/*; do [ \"$(cat $p/name)\" = "
                   "com.redhat.spice.0 ] && d=/dev/${p##*/}; done; [ -c \"$d\" ] && "
                   "(exec 3<>$d; sleep 600) &")


def guest_outputs(q, c, serial):
    """The guest driver's outputs: [(connected, (w, h) preferred), ...]."""
    mark = len(q.output())
    guest_command(q, "outputs %d" % serial, c)
    found = re.findall(r"guest-kms: output (\d+) (connected|disconnected) (\d+)x(\d+)",
                       q.output()[mark:])
    return [(state == "connected", (int(w), int(h))) for _, state, w, h in found]


def client_monitors_guest(libdir, tag):
    """One QXL device with two outputs, the agent port held open by the
    guest: the client's monitors config (two monitors) goes to the
    device (QEMU writes it in its ROM and interrupts the guest), whose
    driver then offers each monitor's size as its output's preferred
    mode and connects the second output."""
    from spiceclient import MAIN
    kernel, initrd = guest.prepare(os.path.join(CACHE, "guest"))
    q = Qemu(libdir, "qxl", extra=[
        "-kernel", kernel, "-initrd", initrd,
        "-append", "console=ttyS0 vt.global_cursor_default=0 loglevel=3",
        "-global", "qxl-vga.max_outputs=2", *AGENT_DEVICES])
    asked = [(800, 600), (640, 480)]
    seen = {}
    try:
        c = Client(q.port)
        q.wait_serial("guest-kms: ready", timeout=120, client=c)
        c.run_until(c.picture_ready, timeout=30, what="the console's picture")
        main = c.channels[(MAIN, 0)]
        guest_command(q, OPEN_AGENT_PORT, c)
        c.run_until(lambda: main.props.agent_connected, timeout=30, what="the guest agent")
        c.pump(0.5)
        seen["before"] = guest_outputs(q, c, 0)
        x = 0
        for i, (w, h) in enumerate(asked):
            main.update_display_enabled(i, True, False)
            main.update_display(i, x, 0, w, h, False)
            x += w
        assert main.send_monitor_config(), "spice-gtk did not send the monitors config"
        # The driver has more outputs than QEMU's max_outputs (four in
        # Debian 12); those beyond the client's monitors stay off.
        want = [(True, size) for size in asked] + \
            [(False, (0, 0))] * (len(seen["before"]) - len(asked))
        deadline = time.monotonic() + 30
        serial = 1
        while True:
            seen["after"] = guest_outputs(q, c, serial)
            if seen["after"] == want:
                break
            if time.monotonic() > deadline:
                said = "\n".join(line for line in q.output().splitlines()
                                 if "guest" in line and "outputs" not in line and
                                 "guest-kms: output " not in line)
                raise AssertionError("%s: the guest's outputs are %r, the client asked for %r; "
                                     "the guest said:\n%s" % (tag, seen["after"], want, said))
            serial += 1
            c.pump(0.3)
        c.close()
    finally:
        out = q.stop()
        assert "guest: insmod" not in out, out
    print("# %s: %r" % (tag, seen), flush=True)
    return seen


def same_on_both_libraries(run, check_ours=None):
    """run(libdir, tag) returns what the case saw: on ours (check_ours
    asserts on it first, when given) and, when installed, on the
    reference, which must see the same; spice-gtk may not complain about
    ours more than about the reference."""
    mark = len(gspice_problems)
    ours = run(OUR_LIBDIR, "ours")
    our_problems = gspice_problems_since(mark)
    if check_ours:
        check_ours(ours)
    if not os.path.exists(REFERENCE_LIB):
        assert not our_problems, "spice-gtk complained: %r" % our_problems
        return
    mark = len(gspice_problems)
    ref = run(os.path.dirname(REFERENCE_LIB), "reference")
    extra = [p for p in our_problems if p not in gspice_problems_since(mark)]
    assert not extra, "spice-gtk complained with our library only: %r" % extra
    assert ours == ref, (ours, ref)


def case_client_monitors():
    same_on_both_libraries(client_monitors_guest)


def check_agent_seen(ours):
    assert ours == {"before": False, "caps": [1, 2], "after": False}, ours


def case_guest_agent():
    same_on_both_libraries(guest_agent, check_agent_seen)


def guest_sound(libdir, tag, controller):
    """A Linux guest with the libvirt default sound devices: the tone it
    plays through /dev/dsp reaches the client; the tone the client sends
    is what the guest records. Returns the two frequencies."""
    import ctypes
    from spiceclient import RecordTone, Spice, left_channel, rising_crossings, signal_connect
    kernel, initrd = guest.prepare(os.path.join(CACHE, "guest"))
    q = Qemu(libdir, "qxl", extra=[
        "-kernel", kernel, "-initrd", initrd,
        "-append", "console=ttyS0 vt.global_cursor_default=0 loglevel=3",
        *sound_devices(controller)])
    try:
        c = Client(q.port)
        pcm = bytearray()
        record_started = []

        def on_channel_new(session, ch):
            if isinstance(ch, Spice.PlaybackChannel):
                signal_connect(ch, "playback-data",
                               lambda _c, ptr, n: pcm.extend(ctypes.string_at(ptr, n)))
            if isinstance(ch, Spice.RecordChannel):
                signal_connect(ch, "record-start", lambda *a: record_started.append(a))
        signal_connect(c.session, "channel-new", on_channel_new)
        q.wait_serial("guest-kms: ready", timeout=120, client=c)
        guest_command(q, "sh [ -c /dev/dsp ]", c)  # a real sound card, not a file

        # The guest plays: 3 s of 1 kHz (U8 mono 8 kHz, converted by the
        # kernel and QEMU to the 48 kHz stereo the server takes).
        del pcm[:]
        guest_command(q, "sh cat /tone.u8 > /dev/dsp", c, timeout=60)
        c.pump(1.0)
        left = left_channel(pcm)
        loud = [i for i, v in enumerate(left) if abs(v) > 2000]
        assert len(loud) > 48000, "%s: the client got %d loud samples" % (tag, len(loud))
        played = left[loud[0]:loud[-1]]
        played_hz = rising_crossings(played) * 48000 / len(played)

        # The client sends 1 kHz while the guest records 2 s; the guest
        # counts the rising crossings of the second second.
        command = ("sh dd if=/dev/dsp of=/rec.u8 bs=8000 count=2 2>/dev/null && "
                   "od -An -tu1 -v -j 8000 /rec.u8 | awk '{for (i = 1; i <= NF; i++) "
                   "{ if (p != \"\" && p < 128 && $i >= 128) n++; p = $i }} "
                   "END { print \"guest: crossings \" n }'")
        q.send_serial(command + "\n")
        tone = RecordTone(c.channel(RECORD), 1000)
        deadline = time.monotonic() + 60
        while "guest-kms: done: " + command not in q.output():
            if "guest-kms: failed: " + command in q.output() or time.monotonic() > deadline:
                raise AssertionError("%s: the guest could not record" % tag)
            if record_started:
                tone.feed()
            c.pump(0.005)
        m = re.search(r"guest: crossings (\d+)", q.output())
        assert m, "%s: the guest printed no count" % tag
        recorded_hz = int(m.group(1))
        c.close()
        return played_hz, recorded_hz
    finally:
        out = q.stop()
        assert "guest: insmod" not in out, out


def guest_sound_on(controller):
    runs = [("ours", OUR_LIBDIR)]
    if os.path.exists(REFERENCE_LIB):
        runs.append(("reference", os.path.dirname(REFERENCE_LIB)))
    for tag, lib in runs:
        mark = len(gspice_problems)
        played, recorded = guest_sound(lib, tag, controller)
        print("# %s: the guest played %.1f Hz, recorded %d Hz" % (tag, played, recorded))
        assert abs(played - 1000) < 10, "%s: the client heard %.1f Hz" % (tag, played)
        assert abs(recorded - 1000) < 60, "%s: the guest recorded %d Hz" % (tag, recorded)
        if tag == "ours":
            ours = gspice_problems_since(mark)
        else:
            extra = [p for p in ours if p not in gspice_problems_since(mark)]
            assert not extra, "spice-gtk complained with our library only: %r" % extra


def case_guest_sound():
    # What libvirt / virt-manager give a VM by default.
    guest_sound_on("ich9-intel-hda")


def case_guest_sound_intel_hda():
    guest_sound_on("intel-hda")


CASES = {
    "tls-firmware": case_tls_firmware,
    "sasl-firmware": case_sasl_firmware,
    "std-firmware": case_std_firmware,
    "qxl-firmware": case_qxl_firmware,
    "qxl-native": case_qxl_native,
    "qxl-two-heads": case_qxl_two_heads,
    "qxl-two-devices": case_qxl_two_devices,
    "sound-devices": case_sound_devices,
    "qmp-port": case_qmp_port,
    "guest-agent": case_guest_agent,
    "client-monitors": case_client_monitors,
    "guest-sound": case_guest_sound,
    "guest-sound-intel-hda": case_guest_sound_intel_hda,
}


def main():
    global OUR_LIBDIR, CACHE
    OUR_LIBDIR = os.path.abspath(sys.argv[1])
    CACHE = os.path.abspath(sys.argv[2])
    os.makedirs(CACHE, exist_ok=True)
    names = sys.argv[3:] or list(CASES)
    print("1..%d" % len(names), flush=True)
    failed = 0
    for i, name in enumerate(names, 1):
        start = time.monotonic()
        try:
            skipped = CASES[name]()
            print("ok %d %s%s" % (i, name, " # " + skipped if skipped else ""), flush=True)
            print("# %s took %.1f s" % (name, time.monotonic() - start), flush=True)
        except Exception as e:  # report every case, then fail
            failed += 1
            print("not ok %d %s" % (i, name), flush=True)
            for line in str(e).splitlines():
                print("# " + line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
