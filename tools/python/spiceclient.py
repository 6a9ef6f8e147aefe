# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real SPICE client for tests and tools: spice-gtk (SpiceClientGLib)
through python3-gi, driven from the default GLib main context.

Only Debian's /usr/bin/python3 has the gi bindings; scripts that import
this module run under it.

    c = Client(port)
    c.run_until(lambda: c.picture_ready(), what="first picture")
    w, h, rgb = c.picture()
"""
import ctypes
import math
import struct
import sys
import time
import zlib

import gi

gi.require_version("SpiceClientGLib", "2.0")
from gi.repository import GLib, GObject, SpiceClientGLib as Spice  # noqa: E402

MAIN, DISPLAY, INPUTS, CURSOR = 1, 2, 3, 4
TIMEOUT = 10.0
# Session/Channel.connect() are SPICE calls; signals use GObject's.
signal_connect = GObject.Object.connect

# Every GSpice critical and warning this process has seen, in order, as
# (level name, message). A server that makes spice-gtk complain is broken
# even when the picture comes out right, so tests compare this list (with
# the reference library's, where it can run the same case). They are
# recorded rather than fatal, so that a test can say which case caused
# them; they are still printed.
gspice_problems = []


def _on_gspice_log(domain, level, message, *data):
    name = "CRITICAL" if level & GLib.LogLevelFlags.LEVEL_CRITICAL else "WARNING"
    gspice_problems.append((name, message))
    print("GSpice-%s: %s" % (name, message), file=sys.stderr, flush=True)


_levels = GLib.LogLevelFlags
GLib.log_set_handler("GSpice", _levels.LEVEL_WARNING | _levels.LEVEL_CRITICAL |
                     _levels.FLAG_FATAL | _levels.FLAG_RECURSION, _on_gspice_log)
# G_DEBUG=fatal-criticals would abort before a test can report the case.
GLib.log_set_always_fatal(_levels.LEVEL_ERROR)


def cursor_signature(events):
    """Cursor events with the one difference timing makes in the reference
    server taken out: it builds a CURSOR_INIT when it sends it, so a SET
    that the guest sends right after a new primary surface (or right
    after a client connects) may arrive inside the INIT (cursor-set, then
    the same cursor-set again) or after an empty INIT (cursor-hide, then
    cursor-set). Only the first two events after a reset (or the start)
    are folded; everything else must match exactly."""
    out = []
    first = 0  # index in out of the first event after the latest reset
    for e in events:
        if e == ("reset",):
            out.append(e)
            first = len(out)
            continue
        second = len(out) == first + 1
        if e[0] == "set" and second and out[-1][0] == "hide":
            out.pop()  # an empty INIT, then the SET
        elif e[0] == "set" and second and out[-1] == e:
            continue  # the INIT carried the shape the SET sends again
        out.append(e)
    return out


def gspice_problems_since(mark):
    """The problems recorded after len(gspice_problems) was mark."""
    return gspice_problems[mark:]


class Client:
    """A spice-gtk session: its channels, their events, the primary
    surface of display 0 and what the cursor channel reported."""

    def __init__(self, port, password=None, host="127.0.0.1", **session_props):
        """session_props: more SpiceSession properties to set before it
        connects (shared_dir="/tmp/share", ...)."""
        self.session = Spice.Session()
        self.session.props.host = host
        if port is not None:
            self.session.props.port = str(port)
        if password is not None:
            self.session.props.password = password
        for name, value in session_props.items():
            setattr(self.session.props, name, value)
        self.channels = {}
        self.events = []
        # (format, width, height, stride, address) of every display
        # channel's primary surface, by channel id; display 0's is .primary
        self.primaries = {}
        self.display_updates = {}    # invalidates by display channel id
        self.invalidates = 0
        self.last_invalidate = None  # time.monotonic() of the latest one
        self.first_invalidate = None
        self.marks = 0
        # ("set", w, h, hot_x, hot_y, R G B A bytes), ("move", x, y), ("hide",), ("reset",)
        self.cursor = []
        self.connect_time = time.monotonic()
        signal_connect(self.session, "channel-new", self._on_channel_new)
        self.session.connect()

    def _on_channel_new(self, session, channel):
        kind = channel.props.channel_type
        self.channels[(kind, channel.props.channel_id)] = channel
        signal_connect(channel, "channel-event",
                       lambda ch, ev: self.events.append((ch.props.channel_type, ev)))
        if isinstance(channel, Spice.DisplayChannel):
            ident = channel.props.channel_id
            signal_connect(channel, "display-primary-create",
                           lambda ch, fmt, w, h, stride, shmid, address, ident=ident:
                           self.primaries.__setitem__(ident, (fmt, w, h, stride, address)))
            signal_connect(channel, "display-primary-destroy",
                           lambda ch, ident=ident: self.primaries.pop(ident, None))
            signal_connect(channel, "display-invalidate",
                           lambda ch, x, y, w, h, ident=ident: self.display_updates.__setitem__(
                               ident, self.display_updates.get(ident, 0) + 1))
        if isinstance(channel, Spice.DisplayChannel) and channel.props.channel_id == 0:
            signal_connect(channel, "display-invalidate", self._on_invalidate)
            signal_connect(channel, "display-mark", self._on_mark)
        if isinstance(channel, Spice.CursorChannel):
            signal_connect(channel, "cursor-set", self._on_cursor_set)
            signal_connect(channel, "cursor-move",
                           lambda ch, x, y: self.cursor.append(("move", x, y)))
            signal_connect(channel, "cursor-hide", lambda ch: self.cursor.append(("hide",)))
            signal_connect(channel, "cursor-reset", lambda ch: self.cursor.append(("reset",)))
        channel.connect()

    @property
    def primary(self):
        return self.primaries.get(0)

    def _on_invalidate(self, ch, x, y, w, h):
        now = time.monotonic()
        self.invalidates += 1
        self.last_invalidate = now
        if self.first_invalidate is None:
            self.first_invalidate = now

    def _on_mark(self, ch, mark):
        self.marks += 1

    def _on_cursor_set(self, ch, w, h, hot_x, hot_y, rgba):
        data = ctypes.string_at(rgba, w * h * 4) if rgba else None
        self.cursor.append(("set", w, h, hot_x, hot_y, data))

    # ---- main loop ----------------------------------------------------------

    def run_until(self, predicate, timeout=TIMEOUT, what="condition"):
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s; events %r" % (what, self.events))
            ctx.iteration(False) or time.sleep(0.002)

    def wait(self, predicate, timeout=TIMEOUT, what="condition"):
        """run_until that sleeps in the main loop until the next event
        instead of polling: no added delay, for measuring latencies."""
        ctx = GLib.MainContext.default()
        expired = []
        source = GLib.timeout_add(max(1, int(timeout * 1000)),
                                  lambda: expired.append(1) and False)
        try:
            while not predicate():
                if expired:
                    raise AssertionError("timed out waiting for %s; events %r" % (
                        what, self.events))
                ctx.iteration(True)
        finally:
            if not expired:
                GLib.source_remove(source)

    def pump(self, seconds):
        ctx = GLib.MainContext.default()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            ctx.iteration(False) or time.sleep(0.002)

    def opened(self, kind):
        return (kind, Spice.ChannelEvent.OPENED) in self.events

    def channel(self, kind, ident=0):
        return self.channels[(kind, ident)]

    def settled_channels(self):
        """Whether every channel spice-gtk created has finished linking
        (opened, or failed)."""
        done = {kind for kind, ev in self.events}
        return all(kind in done for kind, _ in self.channels)

    def close(self):
        # spice-gtk may emit a GLib critical when a session goes while one
        # of its channels is still linking: let them settle first.
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + 3.0
        while not self.settled_channels() and time.monotonic() < deadline:
            ctx.iteration(False) or time.sleep(0.002)
        self.session.disconnect()
        self.pump(0.3)

    # ---- the picture ----------------------------------------------------------

    def picture_ready(self):
        return self.primary is not None and self.invalidates > 0

    def picture(self):
        """(width, height, RGB bytes) of display 0's primary surface as the
        client holds it (spice-gtk keeps 32-bit xRGB, little-endian)."""
        fmt, w, h, stride, address = self.primary
        raw = ctypes.string_at(address, stride * h)
        return w, h, xrgb_to_rgb(raw, w, h, stride)

    def display_picture(self, ident):
        """(width, height, RGB bytes) of display channel ident's primary
        surface, None before it has one."""
        if ident not in self.primaries or not self.display_updates.get(ident):
            return None
        fmt, w, h, stride, address = self.primaries[ident]
        return w, h, xrgb_to_rgb(ctypes.string_at(address, stride * h), w, h, stride)

    def monitors(self, ident=0):
        """Display channel ident's monitors as spice-gtk holds them (its
        "monitors" property, from MONITORS_CONFIG): [(id, surface_id, x,
        y, width, height)]. PyGObject cannot convert that GArray, so it
        is read with ctypes."""
        return display_monitors(self.channel(DISPLAY, ident))

    def wait_picture(self, expected, timeout=TIMEOUT, what="the expected picture"):
        """Wait until the client's picture equals expected (w, h, rgb)."""
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        checked = -1
        while True:
            if self.picture_ready() and self.invalidates != checked:
                checked = self.invalidates
                if self.picture() == expected:
                    return
            if time.monotonic() > deadline:
                got = self.picture() if self.picture_ready() else None
                raise AssertionError("timed out waiting for %s: %s" % (
                    what, describe_difference(got, expected)))
            ctx.iteration(False) or time.sleep(0.002)

    def wait_settled(self, quiet=1.0, timeout=TIMEOUT, what="the picture to settle"):
        """Wait until no update has arrived for `quiet` seconds."""
        ctx = GLib.MainContext.default()
        deadline = time.monotonic() + timeout
        while not (self.picture_ready() and time.monotonic() - self.last_invalidate >= quiet):
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s (%d updates)" % (
                    what, self.invalidates))
            ctx.iteration(False) or time.sleep(0.002)


_gobject = _glib = None


def display_monitors(channel):
    """[(id, surface_id, x, y, width, height)] of a SpiceDisplayChannel's
    "monitors" property (a GArray of SpiceDisplayMonitorConfig)."""
    global _gobject, _glib
    if _gobject is None:
        _gobject = ctypes.CDLL("libgobject-2.0.so.0")
        _gobject.g_object_get.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                          ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
        _gobject.g_object_get.restype = None
        ctypes.pythonapi.PyCapsule_GetPointer.restype = ctypes.c_void_p
        ctypes.pythonapi.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
        _glib = ctypes.CDLL("libglib-2.0.so.0")
        _glib.g_array_unref.argtypes = [ctypes.c_void_p]
    obj = ctypes.pythonapi.PyCapsule_GetPointer(channel.__gpointer__, None)
    array = ctypes.c_void_p()
    _gobject.g_object_get(obj, b"monitors", ctypes.byref(array), None)
    if not array.value:
        return []
    data, length = struct.unpack("PI", ctypes.string_at(array.value, struct.calcsize("PI")))
    raw = ctypes.string_at(data, length * 24) if length else b""
    _glib.g_array_unref(array)
    return [struct.unpack_from("6I", raw, i * 24) for i in range(length)]


# ---- sound ---------------------------------------------------------------------

AUDIO_RATE = 48000


def tone_s16_stereo(hz, start, frames, rate=AUDIO_RATE):
    """frames of a stereo S16LE sine (0.3 of full scale) from sample start."""
    out = bytearray()
    for i in range(start, start + frames):
        v = int(0.3 * 32767 * math.sin(2 * math.pi * hz * i / rate))
        out += struct.pack("<hh", v, v)
    return bytes(out)


def left_channel(pcm):
    """The left samples of interleaved S16LE stereo bytes."""
    return struct.unpack("<%dh" % (len(pcm) // 2), bytes(pcm[:len(pcm) // 4 * 4]))[0::2]


def rising_crossings(samples, mid=0):
    """How many times samples rise through mid."""
    return sum(1 for a, b in zip(samples, samples[1:]) if a < mid <= b)


class RecordTone:
    """Sends a tone through a spice-gtk RecordChannel at the pace of real
    time, 20 ms at a time: call feed() from the loop that pumps the client."""

    CHUNK = 960  # 20 ms at 48 kHz

    def __init__(self, channel, hz):
        self.channel = channel
        self.hz = hz
        self.sent = 0
        self.start = None

    def feed(self):
        self.start = self.start or time.monotonic()
        due = int((time.monotonic() - self.start) * AUDIO_RATE)
        while self.sent + self.CHUNK <= due:
            data = ctypes.create_string_buffer(tone_s16_stereo(self.hz, self.sent, self.CHUNK))
            Spice.RecordChannel.send_data(self.channel, ctypes.addressof(data), self.CHUNK * 4, 0)
            self.sent += self.CHUNK


# ---- pictures ------------------------------------------------------------------

def xrgb_to_rgb(raw, w, h, stride):
    out = bytearray(w * h * 3)
    if stride == w * 4:
        out[0::3] = raw[2::4]
        out[1::3] = raw[1::4]
        out[2::3] = raw[0::4]
        return bytes(out)
    for y in range(h):
        row = raw[y * stride:y * stride + w * 4]
        o = y * w * 3
        out[o:o + w * 3:3] = row[2::4]
        out[o + 1:o + w * 3:3] = row[1::4]
        out[o + 2:o + w * 3:3] = row[0::4]
    return bytes(out)


def read_ppm(path):
    """(width, height, RGB bytes) of a binary PPM with maxval 255."""
    with open(path, "rb") as f:
        data = f.read()
    fields, i = [], 0
    while len(fields) < 4:
        while data[i:i + 1].isspace():
            i += 1
        if data[i:i + 1] == b"#":
            i = data.index(b"\n", i)
            continue
        j = i
        while not data[j:j + 1].isspace():
            j += 1
        fields.append(data[i:j])
        i = j
    i += 1
    if fields[0] != b"P6" or fields[3] != b"255":
        raise ValueError("%s: not a binary 8-bit PPM" % path)
    w, h = int(fields[1]), int(fields[2])
    if len(data) - i < w * h * 3:
        raise ValueError("%s: truncated" % path)
    return w, h, data[i:i + w * h * 3]


def write_ppm(path, picture):
    w, h, rgb = picture
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h) + rgb)


def write_png(path, picture):
    w, h, rgb = picture
    raw = b"".join(b"\x00" + rgb[y * w * 3:(y + 1) * w * 3] for y in range(h))

    def chunk(kind, body):
        return (struct.pack(">I", len(body)) + kind + body +
                struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" +
                chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def difference(a, b):
    """(count, (x1, y1, x2, y2) or None) of the pixels where a and b differ."""
    wa, ha, pa = a
    wb, hb, pb = b
    if (wa, ha) != (wb, hb):
        raise ValueError("sizes differ: %dx%d vs %dx%d" % (wa, ha, wb, hb))
    if pa == pb:
        return 0, None
    count, box = 0, [wa, ha, -1, -1]
    row = wa * 3
    for y in range(ha):
        ra, rb = pa[y * row:(y + 1) * row], pb[y * row:(y + 1) * row]
        if ra == rb:
            continue
        for x in range(wa):
            if ra[x * 3:x * 3 + 3] != rb[x * 3:x * 3 + 3]:
                count += 1
                box = [min(box[0], x), min(box[1], y), max(box[2], x), max(box[3], y)]
    return count, tuple(box)


def describe_difference(got, expected):
    if got is None:
        return "the client has no picture"
    if got[:2] != expected[:2]:
        return "client picture is %dx%d, expected %dx%d" % (got[0], got[1], *expected[:2])
    count, box = difference(got, expected)
    return "%d pixels differ, within %r" % (count, box)
