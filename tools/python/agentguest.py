# SPDX-License-Identifier: LGPL-2.1-or-later
"""A real guest agent for tests and benchmarks: Debian's spice-vdagentd
and spice-vdagent on a demo host's vdagent socket (spice-demo-host
--chardev vdagent=PATH), with Xvfb as their X server, the way Xspice runs
them (../shared/design/TEST-PEERS.md section 6).

Only the processes started here are stopped, by PID."""
import os
import subprocess
import time

from gi.repository import Gio, GLib

TIMEOUT = 10.0
VD_AGENT_CAP_AUDIO_VOLUME_SYNC = 11


def wait_agent_settled(client, main, timeout=20):
    """The agent attached and its capabilities in; then a pause for the
    volume sync spice-gtk starts on AUDIO_VOLUME_SYNC: closing the
    session while it is pending makes spice-gtk assert, whatever the
    server."""
    client.run_until(lambda: main.props.agent_connected, timeout=timeout, what="the agent")
    client.run_until(lambda: main.agent_test_capability(VD_AGENT_CAP_AUDIO_VOLUME_SYNC),
                     timeout=timeout, what="the agent's capabilities")
    client.pump(1.5)


def start_file_copy(main, path):
    """spice_main_channel_file_copy_async of one file: the list returned
    gets its outcome when it ends, file_copy_finish's value or the
    GLib.Error."""
    result = []

    def done(ch, res, _data):
        try:
            result.append(ch.file_copy_finish(res))
        except GLib.Error as e:
            result.append(e)
    main.file_copy_async([Gio.File.new_for_path(path)], 0, None, None, None, done, None)
    return result


def same_file(a, b):
    """Whether b exists and holds exactly a's bytes."""
    if not os.path.exists(b) or os.path.getsize(a) != os.path.getsize(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if x != y:
                return False
            if not x:
                return True


class AgentGuest:
    def __init__(self, tmp, sock_path):
        self.procs = []  # Xvfb first, then the agents
        self.tmp = tmp
        self.sock_path = sock_path
        self.xfer = os.path.join(tmp, "xfer")
        os.makedirs(self.xfer, exist_ok=True)
        self.uinput = os.path.join(tmp, "uinput")
        open(self.uinput, "w").close()  # the fake uinput target must exist
        self.display = ":%d" % (90 + os.getpid() % 100)
        # The peers run as they would in a guest, without a test suite's
        # G_DEBUG and MALLOC_PERTURB_ (with them the file transfer fails
        # on both libraries).
        self.env = {k: v for k, v in os.environ.items() if k not in ("G_DEBUG", "MALLOC_PERTURB_")}
        self.env["DISPLAY"] = self.display
        self.log = open(os.path.join(tmp, "agent.log"), "w")
        self.xvfb = self._start(["Xvfb", self.display, "-screen", "0", "1024x768x24",
                                 "-nolisten", "tcp"], subprocess.DEVNULL)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists("/tmp/.X11-unix/X" + self.display[1:]):
            assert time.monotonic() < deadline, "Xvfb did not start"
            assert self.xvfb.poll() is None, "Xvfb exited"
            time.sleep(0.05)
        self.agents = []
        self.start_agents()

    def _start(self, argv, out):
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=self.env)
        self.procs.append(p)
        return p

    def start_agents(self):
        """spice-vdagentd opens the virtio port (the demo host attaches
        the device), then the session agent connects to the daemon."""
        daemon_sock = os.path.join(self.tmp, "vdagentd.sock")
        if os.path.exists(daemon_sock):
            os.unlink(daemon_sock)
        daemon = self._start(["spice-vdagentd", "-x", "-X", "-f", "-d", "-s", self.sock_path,
                              "-S", daemon_sock, "-u", self.uinput], self.log)
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(daemon_sock):
            assert time.monotonic() < deadline, "spice-vdagentd did not start"
            assert daemon.poll() is None, "spice-vdagentd exited"
            time.sleep(0.05)
        session = self._start(["spice-vdagent", "-x", "-d", "-s", self.sock_path, "-S",
                               daemon_sock, "-f", self.xfer, "-o", "0"], self.log)
        self.agents = [daemon, session]

    def stop_agents(self, sig_kill=False):
        """The agents go away (SIGKILL: the way a crashing agent does, in
        the middle of whatever it was doing); Xvfb stays."""
        for p in reversed(self.agents):
            stop_process(p, sig_kill)
        self.procs = [p for p in self.procs if p not in self.agents]
        self.agents = []

    def xclip(self, *args, stdin=None):
        return subprocess.Popen(["xclip", "-selection", "clipboard", *args], env=self.env,
                                stdin=subprocess.PIPE if stdin is not None else None,
                                stdout=subprocess.PIPE)

    def stop(self):
        for p in reversed(self.procs):
            stop_process(p)
        self.procs = []
        self.agents = []
        self.log.close()


def stop_process(p, sig_kill=False):
    """Stop one process started here: SIGTERM (or SIGKILL), then wait."""
    if p.poll() is None:
        if sig_kill:
            p.kill()
        else:
            p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
