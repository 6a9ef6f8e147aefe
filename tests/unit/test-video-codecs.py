#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""spice_server_set_video_codecs and get_video_codecs on our library and on
Debian's libspice-server.so.1 (when installed), each in its own process:
the return values and the lists must agree, except where the reference
has GStreamer encoders and we have none.

usage: test-video-codecs.py OUR_LIBSPICECORE_SO"""
import ctypes
import json
import os
import subprocess
import sys

REFERENCE = "/usr/lib/x86_64-linux-gnu/libspice-server.so.1"

# (list, same on both): with False the case only runs on ours, with the
# answer we give (the reference installs its GStreamer encoders there).
CASES = [
    ("spice:mjpeg", True),
    ("foo:mjpeg", True),
    ("spice:foo", True),
    ("spice:mjpeg;foo:bar", True),
    ("", True),
    ("garbage", True),
    (";;", True),
    ("spice:vp8", True),
    ("spice:mjpeg;spice:mjpeg", True),
    ("spice: mjpeg", True),
    (";spice:h264;;spice:mjpeg;", True),
    ("spice:mjpeg:x", True),
    ("gstreamer:h264", False),
    ("auto", False),
    ("spice:mjpeg;gstreamer:vp8", False),
]
OURS_ONLY = {"gstreamer:h264": (-1, "spice:h264;spice:mjpeg"),
             "auto": (0, "spice:mjpeg"),
             "spice:mjpeg;gstreamer:vp8": (0, "spice:mjpeg")}


def probe(path):
    """Runs in a child: the answers of the library at path."""
    lib = ctypes.CDLL(path)
    lib.spice_server_new.restype = ctypes.c_void_p
    lib.spice_server_get_video_codecs.restype = ctypes.c_void_p
    lib.spice_server_get_video_codecs.argtypes = [ctypes.c_void_p]
    lib.spice_server_set_video_codecs.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.spice_server_free_video_codecs.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    s = lib.spice_server_new()

    def get():
        p = lib.spice_server_get_video_codecs(s)
        value = ctypes.cast(p, ctypes.c_char_p).value.decode()
        lib.spice_server_free_video_codecs(s, p)
        return value

    out = {"before": get(), "cases": []}
    for codecs, _ in CASES:
        rc = lib.spice_server_set_video_codecs(s, codecs.encode())
        out["cases"].append([codecs, rc, get()])
    return out


def run(path):
    env = dict(os.environ, G_MESSAGES_DEBUG="")
    p = subprocess.run([sys.executable, __file__, "--probe", path], capture_output=True,
                       text=True, env=env, check=True)
    return json.loads(p.stdout.splitlines()[-1])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--probe":
        print(json.dumps(probe(sys.argv[2])))
        return 0
    ours = run(sys.argv[1])
    ref = run(REFERENCE) if os.path.exists(REFERENCE) else None
    print("1..%d" % len(CASES))
    failed = 0
    assert ours["before"] == "", ours["before"]
    if ref:
        assert ref["before"] == "", ref["before"]
    # The list so far on each library: a case whose list differs only
    # because an earlier reference-only case changed it compares the
    # return value alone.
    diverged = False
    for n, ((codecs, same), got) in enumerate(zip(CASES, ours["cases"]), 1):
        _, rc, now = got
        if same and ref:
            _, ref_rc, ref_now = ref["cases"][n - 1]
            ok = rc == ref_rc and (diverged or now == ref_now)
            why = "ours %r %r, reference %r %r" % (rc, now, ref_rc, ref_now)
        elif same:
            ok, why = True, "no reference library installed; ours %r %r" % (rc, now)
        else:
            want = OURS_ONLY[codecs]
            diverged = True
            ok = (rc, now) == want
            why = "ours %r %r, want %r (the reference has GStreamer)" % (rc, now, want)
        failed += not ok
        print("%s %d %r # %s" % ("ok" if ok else "not ok", n, codecs, why))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
