# SPDX-License-Identifier: LGPL-2.1-or-later
"""qemuhost: Debian's QEMU with -spice on 127.0.0.1, loading the
libspice-server.so.1 of a given directory (ours or Debian's), driven
through QMP and its serial console. Shared by tests/qemu/test-qemu.py and
tools/spice-qemu-bench."""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

from spiceclient import read_ppm

QEMU = "qemu-system-x86_64"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loaded_spice_library(pid):
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            if "libspice-server.so" in line or "libspicecore" in line:
                return os.path.realpath(line.split()[-1])
    return None


class Qemu:
    def __init__(self, libdir, vga, extra=(), spice_extra="", env_extra=None):
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="spice-qemu-")
        self.qmp_path = os.path.join(self.tmp, "qmp")
        self.log_path = os.path.join(self.tmp, "qemu.log")
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = libdir
        env["SPICE_PLUGIN_CONFIG"] = ""
        env.update(env_extra or {})
        cmd = [QEMU, "-display", "none", "-vga", vga, "-m", "256", "-net", "none",
               "-spice", "port=%d,addr=127.0.0.1,disable-ticketing=on%s" % (self.port, spice_extra),
               "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
               "-monitor", "none", "-serial", "stdio", "-no-reboot", *extra]
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.qmp = None
        try:
            self._connect(libdir)
        except BaseException:
            # No QEMU outlives a failed start.
            self.proc.kill()
            self.proc.wait()
            self.log.close()
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def _connect(self, libdir):
        deadline = time.monotonic() + 20
        while self.qmp is None:
            if self.proc.poll() is not None:
                raise AssertionError("QEMU exited: " + self.output())
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(self.qmp_path)
                self.qmp = s
            except OSError:
                s.close()
                if time.monotonic() > deadline:
                    raise AssertionError("QEMU's QMP socket never appeared: " + self.output())
                time.sleep(0.05)
        self.qmp_file = self.qmp.makefile("rw")
        self._qmp_read()  # greeting
        self.command("qmp_capabilities")
        self.library = loaded_spice_library(self.proc.pid)
        expected = os.path.realpath(os.path.join(libdir, "libspice-server.so.1"))
        if self.library != expected:
            raise AssertionError("QEMU loaded %s, not %s" % (self.library, expected))

    def output(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def _qmp_read(self):
        while True:
            line = self.qmp_file.readline()
            if not line:
                raise AssertionError("QMP closed: " + self.output())
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    def command(self, name, **args):
        self.qmp_file.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.qmp_file.flush()
        reply = self._qmp_read()
        if "error" in reply:
            raise AssertionError("QMP %s: %r" % (name, reply["error"]))
        return reply["return"]

    def screendump(self, device=None):
        """QEMU's picture of its first display, or of the display device
        with that id."""
        path = os.path.join(self.tmp, "dump.ppm")
        args = {"device": device} if device else {}
        self.command("screendump", filename=path, **args)
        return read_ppm(path)

    def wait_serial(self, text, timeout, client=None):
        """Wait for a line from the guest; a client keeps running meanwhile."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("no %r from the guest; output:\n%s" % (text, self.output()))
            if client:
                client.pump(0.05)
            else:
                time.sleep(0.1)

    def send_serial(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def stop(self):
        if self.qmp:
            try:
                self.command("quit")
            except (AssertionError, OSError):
                pass
        if self.qmp:
            self.qmp_file.close()
            self.qmp.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        out = self.output()
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        return out
