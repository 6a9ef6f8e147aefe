# SPDX-License-Identifier: LGPL-2.1-or-later
"""A small Linux guest that drives the QXL device in native mode.

Debian's own kernel package (whatever linux-image-amd64 depends on) and
busybox-static are fetched with `apt-get download` and unpacked, not
installed. The guest is that kernel plus an initramfs made here: busybox,
the qxl DRM module with its dependencies, an /init script and the
pictures the test expects on the screen. Its qxl driver sends the
framebuffer console's updates as real QXL drawing commands.

Everything lands in a cache folder (the build tree) and is reused.
"""
import gzip
import io
import lzma
import os
import re
import shutil
import subprocess
import tempfile

SCREEN_W, SCREEN_H = 1024, 768
# The guest's second step overwrites these rows (a partial update); its
# third sets another mode (a new primary surface).
PATCH_ROW, PATCH_ROWS = 200, 100
MODE2_W, MODE2_H = 800, 600
CURSOR_SIZE, CURSOR_HOT = 64, (5, 7)
# The guest's sound: Intel HDA with the generic codec, played and recorded
# through the kernel's OSS emulation (U8 mono 8 kHz by default).
SOUND_MODULES = ["snd_hda_codec_generic", "snd_pcm_oss", "snd_hda_intel"]
# virtio-serial ports (/dev/vportNpM): the agent's com.redhat.spice.0.
PORT_MODULES = ["virtio_pci", "virtio_console"]
TONE_HZ, TONE_SECONDS = 1000, 3
KMS_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "guest-kms.c")


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw).stdout


def _download(package, dest):
    """Unpack a Debian package into dest (fetched, not installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            _run(["apt-get", "download", package], cwd=tmp)
        except subprocess.CalledProcessError as e:
            raise RuntimeError("apt-get download %s failed:\n%s" % (package, e.stdout))
        debs = [f for f in os.listdir(tmp) if f.endswith(".deb")]
        if len(debs) != 1:
            raise RuntimeError("apt-get download %s gave %r" % (package, debs))
        _run(["dpkg-deb", "-x", os.path.join(tmp, debs[0]), dest])


def _kernel_package():
    out = _run(["apt-cache", "depends", "linux-image-amd64"])
    for line in out.splitlines():
        m = re.match(r"\s*Depends:\s*(linux-image-\S+)$", line)
        if m:
            return m.group(1)
    raise RuntimeError("apt-cache depends linux-image-amd64 names no kernel:\n" + out)


def _module_info(data):
    depends = re.search(rb"(?:^|\0)depends=([A-Za-z0-9_,-]*)\0", data)
    return [d.replace("-", "_") for d in depends.group(1).decode().split(",") if d] \
        if depends else []


def _find_modules(root):
    """name -> path of every module file under lib/modules."""
    found = {}
    for top, _, files in os.walk(os.path.join(root, "lib", "modules")):
        for f in files:
            m = re.match(r"(.+)\.ko(\.xz)?$", f)
            if m:
                found[m.group(1).replace("-", "_")] = os.path.join(top, f)
    return found


def _load_module(path):
    with open(path, "rb") as f:
        data = f.read()
    return lzma.decompress(data) if path.endswith(".xz") else data


def _modules_for(root, want):
    """The modules `want` needs, dependencies first: [(name, bytes)]."""
    found = _find_modules(root)
    order, seen = [], set()

    def visit(name):
        if name in seen:
            return
        seen.add(name)
        if name not in found:
            raise RuntimeError("kernel module %s not in the kernel package" % name)
        data = _load_module(found[name])
        for dep in _module_info(data):
            visit(dep)
        order.append((name, data))
    visit(want)
    return order


def _picture(w, h, seed):
    """Gradients, a checkerboard and pseudo-random blocks: RGB bytes."""
    rgb = bytearray(w * h * 3)
    for y in range(h):
        row = bytearray(w * 3)
        band = y * 3 // h
        for x in range(w):
            if band == 0:
                r, g, b = (x + seed) & 255, y & 255, (x >> 2) & 255
            elif band == 1:
                c = 255 if ((x >> 4) ^ (y >> 4)) & 1 else 32
                r, g, b = c, (c // 2 + seed) & 255, 255 - c
            else:
                if x % 16 == 0:
                    seed = (seed * 1103515245 + 12345 + (y >> 3)) & 0x7fffffff
                r, g, b = seed & 255, (seed >> 8) & 255, (seed >> 16) & 255
            row[x * 3:x * 3 + 3] = bytes((r, g, b))
        rgb[y * w * 3:(y + 1) * w * 3] = row
    return rgb


def screen(step):
    """(width, height, RGB bytes) the guest shows after step 1, 2 or 3."""
    if step == 3:
        return MODE2_W, MODE2_H, bytes(_picture(MODE2_W, MODE2_H, 77))
    rgb = _picture(SCREEN_W, SCREEN_H, 0)
    if step == 2:
        for y in range(PATCH_ROW, PATCH_ROW + PATCH_ROWS):
            for x in range(SCREEN_W):
                v = (x * 7 + y * 3) & 255
                rgb[(y * SCREEN_W + x) * 3:(y * SCREEN_W + x) * 3 + 3] = \
                    bytes((v, 255 - v, (x ^ y) & 255))
    return SCREEN_W, SCREEN_H, bytes(rgb)


def tone_u8():
    """TONE_SECONDS of a TONE_HZ sine as U8 mono at 8 kHz (OSS's default)."""
    import math
    return bytes(int(128 + 80 * math.sin(2 * math.pi * TONE_HZ * i / 8000))
                 for i in range(8000 * TONE_SECONDS))


def cursor_argb():
    """The guest's 64x64 cursor, ARGB8888 little-endian: an opaque
    frame, a translucent gradient inside, transparent corners."""
    out = bytearray()
    n = CURSOR_SIZE
    for y in range(n):
        for x in range(n):
            if x + y < 8 or (n - 1 - x) + (n - 1 - y) < 8:
                a, r, g, b = 0, 0, 0, 0
            elif x < 2 or y < 2 or x >= n - 2 or y >= n - 2:
                a, r, g, b = 255, 255, 255, 255
            else:
                a = 64 + (x * 3) % 192
                # premultiplied, as cursors are
                r, g, b = (x * 4 * a) // 255, (y * 4 * a) // 255, (128 * a) // 255
            out += bytes((b, g, r, a))
    return bytes(out)


def _rgb_to_fb(rgb):
    """RGB bytes to the framebuffer's XRGB8888 little-endian layout."""
    out = bytearray(len(rgb) // 3 * 4)
    out[0::4] = rgb[2::3]
    out[1::4] = rgb[1::3]
    out[2::4] = rgb[0::3]
    return bytes(out)


INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in %(modules)s; do
    # Under TCG the codec probe needs help (TEST-PEERS.md).
    args=""
    [ "$m" = snd_hda_intel ] && args="probe_mask=0x101"
    insmod /mod/$m.ko $args || echo "guest: insmod $m failed"
done
i=0
while [ ! -e /dev/dri/card0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
# The kernel console first (fbcon draws on the qxl device), as on a real
# boot, before the KMS client takes the display over.
i=0
while [ $i -lt 24 ]; do echo "spicecore test guest: console line $i" > /dev/tty0; i=$((i+1)); done
sleep 1
stty -echo 2>/dev/null
exec /bin/guest-kms
"""


def _cpio(entries):
    """A newc archive of [(path, mode, bytes or None for a folder)]."""
    out = io.BytesIO()
    ino = 1
    for path, mode, data in entries + [("TRAILER!!!", 0, b"")]:
        body = data if data is not None else b""
        name = path.encode() + b"\0"
        fields = [ino, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(name), 0]
        out.write(b"070701" + b"".join(b"%08X" % f for f in fields) + name)
        out.write(b"\0" * (-(110 + len(name)) % 4))
        out.write(body)
        out.write(b"\0" * (-len(body) % 4))
        ino += 1
    return out.getvalue()


def _build_kms(out):
    try:
        _run(["cc", "-static", "-O2", "-Wall", "-Werror", "-I/usr/include/libdrm", "-o", out,
              KMS_SOURCE])
    except subprocess.CalledProcessError as e:
        raise RuntimeError("cannot build guest-kms (static libc and libdrm-dev headers "
                           "needed):\n" + e.stdout)
    with open(out, "rb") as f:
        return f.read()


def prepare(cache):
    """(kernel path, initramfs path), made once into cache."""
    kernel = os.path.join(cache, "vmlinuz")
    initrd = os.path.join(cache, "initramfs.gz")
    stamp = os.path.join(cache, "source-mtime")
    source_mtime = str(int(max(os.path.getmtime(KMS_SOURCE), os.path.getmtime(__file__))))
    if os.path.exists(kernel) and os.path.exists(initrd) and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read() == source_mtime:
                return kernel, initrd
    os.makedirs(cache, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        root = os.path.join(tmp, "pkg")
        modules_root = os.path.join(cache, "kernel-modules")
        wanted = " ".join(["qxl"] + SOUND_MODULES + PORT_MODULES)
        wanted_file = os.path.join(modules_root, "wanted")
        have = open(wanted_file).read() if os.path.exists(wanted_file) else ""
        need_kernel = not (os.path.exists(kernel) and
                           os.path.exists(os.path.join(modules_root, "order")) and have == wanted)
        if need_kernel:
            _download(_kernel_package(), root)
        _download("busybox-static", root)
        if need_kernel:
            vmlinuz = [f for f in os.listdir(os.path.join(root, "boot"))
                       if f.startswith("vmlinuz-")]
            if not vmlinuz:
                raise RuntimeError("the kernel package has no /boot/vmlinuz-*")
            modules = _modules_for(root, "qxl")
            # Sound through the kernel's OSS emulation (/dev/dsp), which
            # busybox can feed and read without alsa-utils.
            for extra in SOUND_MODULES + PORT_MODULES:
                for n, d in _modules_for(root, extra):
                    if n not in [m for m, _ in modules]:
                        modules.append((n, d))
            shutil.rmtree(modules_root, ignore_errors=True)
            os.makedirs(modules_root)
            for n, d in modules:
                with open(os.path.join(modules_root, n + ".ko"), "wb") as f:
                    f.write(d)
            with open(os.path.join(modules_root, "order"), "w") as f:
                f.write(" ".join(n for n, _ in modules))
            with open(wanted_file, "w") as f:
                f.write(wanted)
            shutil.copy(os.path.join(root, "boot", vmlinuz[0]), kernel + ".tmp")
            os.rename(kernel + ".tmp", kernel)
        with open(os.path.join(modules_root, "order")) as f:
            order = f.read().split()
        modules = []
        for n in order:
            with open(os.path.join(modules_root, n + ".ko"), "rb") as f:
                modules.append((n, f.read()))
        with open(os.path.join(root, "bin", "busybox"), "rb") as f:
            busybox = f.read()
        kms = _build_kms(os.path.join(tmp, "guest-kms"))
        init = INIT % {"modules": " ".join(order)}
        step1 = _rgb_to_fb(screen(1)[2])
        step2 = _rgb_to_fb(screen(2)[2])[PATCH_ROW * SCREEN_W * 4:
                                          (PATCH_ROW + PATCH_ROWS) * SCREEN_W * 4]
        entries = [(d, 0o040755, None) for d in ("bin", "dev", "proc", "sys", "mod")]
        entries += [("bin/busybox", 0o100755, busybox), ("bin/guest-kms", 0o100755, kms),
                    ("init", 0o100755, init.encode()),
                    ("step1.raw", 0o100644, step1), ("step2.raw", 0o100644, step2),
                    ("step3.raw", 0o100644, _rgb_to_fb(screen(3)[2])),
                    ("cursor.raw", 0o100644, cursor_argb()),
                    ("tone.u8", 0o100644, tone_u8())]
        entries += [("mod/%s.ko" % n, 0o100644, d) for n, d in modules]
        with open(initrd + ".tmp", "wb") as f:
            f.write(gzip.compress(_cpio(entries), 6))
    os.rename(initrd + ".tmp", initrd)
    with open(stamp, "w") as f:
        f.write(source_mtime)
    return kernel, initrd
