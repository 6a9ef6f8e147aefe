#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Interop: a real spice-gtk client (SpiceClientGLib through python3-gi)
against spice-demo-host on 127.0.0.1.

Each case starts the demo host on a free port, connects spice-gtk, checks
which channels the client sees, types and moves the pointer through
spice-gtk's own input API, and compares the "input:" lines the demo host
printed with exactly the events sent.

usage: test-spice-gtk.py DEMO_HOST [CASE...]
"""
import os
import queue
import re
import subprocess
import sys
import threading
import time

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject, SpiceClientGLib as Spice  # noqa: E402

DEMO_HOST = None
TIMEOUT = 10.0
# The display tells the tablet its size: checked by the display cases,
# skipped where a case counts input events.
LOGICAL_SIZE = "input: tablet logical size "
signal_connect = GObject.Object.connect  # Session/Channel.connect() are SPICE calls


class DemoHost:
    """spice-demo-host in a subprocess; its stdout lines in a queue."""

    def __init__(self, *args, env=None):
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([DEMO_HOST, "--port", "0", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, env=full_env)
        self.lines = queue.Queue()
        self.log = []
        threading.Thread(target=self._read, daemon=True).start()
        self.port = None
        deadline = time.monotonic() + TIMEOUT
        while self.port is None:
            line = self._next(deadline)
            m = re.match(r"spice-demo-host: listening on 127\.0\.0\.1:(\d+)$", line)
            if m:
                self.port = int(m.group(1))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _next(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("demo host: timed out; output so far:\n" + "\n".join(self.log))
        try:
            line = self.lines.get(timeout=left)
        except queue.Empty:
            raise AssertionError("demo host: timed out; output:\n" + "\n".join(self.log))
        if line is None:
            raise AssertionError("demo host exited; output:\n" + "\n".join(self.log))
        self.log.append(line)
        return line

    def input_lines(self, count, settle=0.5):
        """Exactly the next `count` input lines, then check none follow."""
        got = []
        deadline = time.monotonic() + TIMEOUT
        while len(got) < count:
            line = self._next(deadline)
            if line.startswith("input: ") and not line.startswith(LOGICAL_SIZE):
                got.append(line[len("input: "):])
        end = time.monotonic() + settle
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.log.append(line)
            if line.startswith("input: ") and not line.startswith(LOGICAL_SIZE):
                got.append(line[len("input: "):])
        return got

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.returncode == 0, "demo host exit status %r\n%s" % (
            self.proc.returncode, "\n".join(self.log))


class Client:
    """A spice-gtk session driven from a GLib main loop."""

    def __init__(self, port, password=None):
        self.session = Spice.Session()
        self.session.props.host = "127.0.0.1"
        self.session.props.port = str(port)
        if password is not None:
            self.session.props.password = password
        self.channels = {}
        self.events = []
        signal_connect(self.session, "channel-new", self._on_channel_new)
        self.session.connect()

    def _on_channel_new(self, session, channel):
        kind = channel.props.channel_type
        self.channels[(kind, channel.props.channel_id)] = channel
        signal_connect(channel, "channel-event",
                       lambda ch, ev: self.events.append((ch.props.channel_type, ev)))
        channel.connect()

    def run_until(self, predicate, timeout=TIMEOUT, what="condition"):
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s; events %r" % (what, self.events))
            ctx.iteration(False) or time.sleep(0.005)

    def pump(self, seconds):
        ctx = GLib.MainContext.default()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ctx.iteration(False) or time.sleep(0.005)

    def opened(self, kind):
        return (kind, Spice.ChannelEvent.OPENED) in self.events

    def channel(self, kind):
        return self.channels[(kind, 0)]

    def close(self):
        self.session.disconnect()
        self.pump(0.3)


MAIN, DISPLAY, INPUTS, CURSOR = 1, 2, 3, 4
# SPICE_MOUSE_BUTTON_* and SPICE_MOUSE_BUTTON_MASK_* (spice/enums.h)
BUTTON_LEFT, BUTTON_RIGHT = 1, 3
MASK_LEFT, MASK_RIGHT = 1, 4


def connect_full(host, password=None):
    c = Client(host.port, password)
    c.run_until(lambda: c.opened(MAIN) and c.opened(INPUTS), what="main and inputs")
    return c


def case_types_and_points():
    host = DemoHost()
    try:
        c = connect_full(host)
        # Exactly what the host serves: main, inputs, and its QXL display
        # with the cursor. Nothing absent is offered.
        c.pump(0.5)
        assert sorted(c.channels) == [(MAIN, 0), (DISPLAY, 0), (INPUTS, 0), (CURSOR, 0)], \
            c.channels
        main, inputs = c.channel(MAIN), c.channel(INPUTS)
        # spice-gtk asks for client mode by itself (a tablet is present).
        c.run_until(lambda: main.props.mouse_mode == 2, what="client mouse mode")

        inputs.key_press_and_release(0x1e)          # 'a'
        inputs.key_press(0x148)                     # up arrow (E0 48)
        inputs.key_release(0x148)
        inputs.position(100, 200, 0, 0)
        inputs.button_press(BUTTON_LEFT, MASK_LEFT)
        inputs.button_release(BUTTON_LEFT, 0)
        c.pump(0.3)
        expected = [
            "key 0x1e", "key 0x9e",
            "key 0xe0", "key 0x48", "key 0xe0", "key 0xc8",
            "tablet position x=100 y=200 buttons=0x0",
            "tablet wheel dz=0 buttons=0x1",
            "tablet buttons 0x0",
        ]
        got = host.input_lines(len(expected))
        assert got == expected, "got %r\nexpected %r" % (got, expected)

        # Server mode: relative motion goes to the mouse.
        main.request_mouse_mode(1)
        c.run_until(lambda: main.props.mouse_mode == 1, what="server mouse mode")
        inputs.motion(5, -3, 0)
        c.pump(0.2)
        inputs.button_press(BUTTON_RIGHT, MASK_RIGHT)
        inputs.button_release(BUTTON_RIGHT, 0)
        c.pump(0.3)
        expected = ["mouse motion dx=5 dy=-3 dz=0 buttons=0x0",
                    "mouse motion dx=0 dy=0 dz=0 buttons=0x2",
                    "mouse buttons 0x0"]
        got = host.input_lines(len(expected))
        assert got == expected, "got %r\nexpected %r" % (got, expected)
        c.close()
    finally:
        host.stop()


def case_lock_keys_sync():
    # The demo keyboard toggles its caps LED like a guest; the server
    # reports it back and spice-gtk's lock state follows.
    host = DemoHost()
    try:
        c = connect_full(host)
        inputs = c.channel(INPUTS)
        inputs.key_press_and_release(0x3a)  # caps lock
        c.pump(0.5)
        got = host.input_lines(2)
        assert got == ["key 0x3a", "key 0xba"], got
        c.close()
    finally:
        host.stop()


def case_ticket():
    host = DemoHost("--password", "s3cret")
    try:
        good = connect_full(host, "s3cret")
        good.close()
        for wrong in ("wrong", "", "s3cret!"):
            c = Client(host.port, wrong)
            c.run_until(lambda: (MAIN, Spice.ChannelEvent.ERROR_AUTH) in c.events,
                        what="authentication error for %r" % wrong)
            assert not c.opened(MAIN)
            c.close()
    finally:
        host.stop()


def case_ticket_expired():
    host = DemoHost("--password", "pw", "--ticket-lifetime", "1")
    try:
        time.sleep(1.5)
        c = Client(host.port, "pw")
        c.run_until(lambda: (MAIN, Spice.ChannelEvent.ERROR_AUTH) in c.events,
                    what="authentication error for an expired ticket")
        c.close()
    finally:
        host.stop()


def case_disabled_channel_not_advertised():
    host = DemoHost("--disable", "inputs")
    try:
        c = Client(host.port)
        c.run_until(lambda: c.opened(MAIN), what="main")
        c.pump(1.0)
        assert sorted(c.channels) == [(MAIN, 0), (DISPLAY, 0), (CURSOR, 0)], c.channels
        c.close()
    finally:
        host.stop()


def case_server_mouse_only():
    host = DemoHost("--no-tablet")
    try:
        c = connect_full(host)
        main, inputs = c.channel(MAIN), c.channel(INPUTS)
        c.pump(0.5)
        assert main.props.mouse_mode == 1, main.props.mouse_mode
        inputs.motion(-4, 7, 0)
        c.pump(0.3)
        got = host.input_lines(1)
        assert got == ["mouse motion dx=-4 dy=7 dz=0 buttons=0x0"], got
        c.close()
    finally:
        host.stop()


def case_exit_on_disconnect():
    host = DemoHost("--exit-on-disconnect")
    try:
        c = connect_full(host)
        c.close()
        host.proc.wait(timeout=TIMEOUT)
        assert host.proc.returncode == 0, host.proc.returncode
    finally:
        host.stop()


CASES = {
    "types-and-points": case_types_and_points,
    "lock-keys": case_lock_keys_sync,
    "ticket": case_ticket,
    "ticket-expired": case_ticket_expired,
    "disabled-channel": case_disabled_channel_not_advertised,
    "server-mouse-only": case_server_mouse_only,
    "exit-on-disconnect": case_exit_on_disconnect,
}


def main():
    global DEMO_HOST
    DEMO_HOST = sys.argv[1]
    names = sys.argv[2:] or list(CASES)
    print("1..%d" % len(names))
    failed = 0
    for i, name in enumerate(names, 1):
        try:
            CASES[name]()
            print("ok %d %s" % (i, name), flush=True)
        except Exception as e:  # report every case, then fail
            failed += 1
            print("not ok %d %s" % (i, name), flush=True)
            for line in str(e).splitlines():
                print("# " + line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
