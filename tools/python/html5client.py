# SPDX-License-Identifier: LGPL-2.1-or-later
"""spice-html5 in headless Chromium, driven over the DevTools protocol on
a pipe (--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4; no
node, no npm, no network beyond 127.0.0.1).

Debian's spice-html5 files are served by a small HTTP (or HTTPS) server
in this process; the page is spice_auto.html, which opens ws:// (wss://
when the page came over https) straight to the SPICE port.

Only processes started here are stopped, by PID."""
import base64
import select
import functools
import http.server
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import threading
import time

SPICE_HTML5_DIR = "/usr/share/spice-html5"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

# Counts the Opus playback bytes spice-html5 hands to MediaSource, and the
# keys it sends (main.js's connection objects are not reachable from the
# page's scope).
PAGE_HOOKS = """
window.__spice = {appended: 0, appends: 0};
/* Timings (performance.now(), from the page's start): the first
 * WebSocket made (the main channel's), its open, the first drawing on a
 * canvas of the SPICE screen. */
window.__t = {ws: null, open: null, draw: null};
(function () {
    var WS = window.WebSocket;
    var hooked = function (url, protocols) {
        var s = new WS(url, protocols);
        if (window.__t.ws === null) {
            window.__t.ws = performance.now();
            s.addEventListener('open', function () {
                if (window.__t.open === null) window.__t.open = performance.now();
            });
        }
        return s;
    };
    hooked.prototype = WS.prototype;
    ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].forEach(function (k) { hooked[k] = WS[k]; });
    window.WebSocket = hooked;
    var P = CanvasRenderingContext2D.prototype;
    ['putImageData', 'drawImage', 'fillRect'].forEach(function (name) {
        var orig = P[name];
        P[name] = function () {
            if (window.__t.draw === null && this.canvas && this.canvas.closest &&
                this.canvas.closest('#spice-screen')) {
                window.__t.draw = performance.now();
            }
            return orig.apply(this, arguments);
        };
    });
})();
(function () {
    var orig = SourceBuffer.prototype.appendBuffer;
    SourceBuffer.prototype.appendBuffer = function (data) {
        window.__spice.appended += data.byteLength;
        window.__spice.appends += 1;
        return orig.apply(this, arguments);
    };
})();
"""

READ_CANVAS = """
(function () {
    var c = document.querySelector('#spice-screen canvas');
    if (!c) return null;
    var d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    var parts = [], chunk = [];
    for (var i = 0; i < d.length; i += 4) {
        chunk.push(String.fromCharCode(d[i], d[i + 1], d[i + 2]));
        if (chunk.length == 65536) { parts.push(chunk.join('')); chunk = []; }
    }
    parts.push(chunk.join(''));
    return [c.width, c.height, btoa(parts.join(''))];
})()
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def available():
    return os.path.exists(os.path.join(SPICE_HTML5_DIR, "spice_auto.html")) and \
        os.access(CHROMIUM, os.X_OK)


class Html5Client:
    def __init__(self, spice_port, tls_cert=None, tls_key=None, password=None):
        """tls_cert/tls_key: serve the page over https, so spice-html5
        uses wss:// (Chromium is told to accept the test certificate)."""
        self.tmp = tempfile.mkdtemp(prefix="spice-html5-")
        handler = functools.partial(_Quiet, directory=SPICE_HTML5_DIR)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        scheme = "http"
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = "%s://127.0.0.1:%d/spice_auto.html?host=127.0.0.1&port=%d" % (
            scheme, self.httpd.server_address[1], spice_port)
        if password:
            self.url += "&password=" + password
        self.console = []
        self.exceptions = []
        self._next_id = 0
        self._buf = b""
        cmd_r, self._cmd_w = os.pipe()
        self._resp_r, resp_w = os.pipe()

        def child_fds():
            os.dup2(cmd_r, 3)
            os.dup2(resp_w, 4)
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--mute-audio",
             "--autoplay-policy=no-user-gesture-required", "--ignore-certificate-errors",
             "--user-data-dir=" + os.path.join(self.tmp, "profile"),
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(self.tmp, "chromium.log"), "w"),
            preexec_fn=child_fds, pass_fds=(3, 4))
        os.close(cmd_r)
        os.close(resp_w)
        try:
            target = self.call("Target.createTarget", url="about:blank")["targetId"]
            self.session = self.call("Target.attachToTarget", targetId=target,
                                     flatten=True)["sessionId"]
            self.call("Runtime.enable", session=True)
            self.call("Page.enable", session=True)
            self.call("Page.addScriptToEvaluateOnNewDocument", session=True, source=PAGE_HOOKS)
            self.call("Page.navigate", session=True, url=self.url)
        except BaseException:
            self.close()
            raise

    # ---- the protocol ------------------------------------------------------

    def _send(self, msg):
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._cmd_w, data)
            data = data[n:]

    def _recv(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("Chromium did not answer within %.0f s" % timeout)
            r, _, _ = select.select([self._resp_r], [], [], left)
            if r:
                chunk = os.read(self._resp_r, 1 << 20)
                if not chunk:
                    raise AssertionError("Chromium exited (log: %s)" % self.log_tail())
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def _event(self, msg):
        method = msg.get("method")
        params = msg.get("params", {})
        if method == "Runtime.consoleAPICalled":
            self.console.append(" ".join(str(a.get("value", a.get("description", "")))
                                         for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            d = params.get("exceptionDetails", {})
            self.exceptions.append(d.get("exception", {}).get("description") or d.get("text"))

    def call(self, method, session=False, timeout=20.0, **params):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self._send(msg)
        while True:
            reply = self._recv(timeout)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise AssertionError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})
            self._event(reply)

    def pump(self):
        """Take the events that arrived (console lines, exceptions)."""
        self.call("Runtime.evaluate", session=True, expression="0")

    def evaluate(self, expression, timeout=20.0):
        r = self.call("Runtime.evaluate", session=True, timeout=timeout, expression=expression,
                      returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            raise AssertionError("page: %s" % r["exceptionDetails"])
        return r["result"].get("value")

    def wait(self, expression, timeout=20.0, what=None):
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s; console %r, exceptions %r" % (
                    what or expression, self.console[-10:], self.exceptions))
            time.sleep(0.05)

    # ---- what a test wants ---------------------------------------------------

    def canvas(self, timeout=60.0):
        """(width, height, RGB bytes) of the primary surface's canvas."""
        v = self.evaluate(READ_CANVAS, timeout=timeout)
        if not v:
            return None
        return v[0], v[1], base64.b64decode(v[2])

    def key(self, code, key, key_code):
        """A key press and release on the page (spice-html5 sends them)."""
        for kind in ("keyDown", "keyUp"):
            self.call("Input.dispatchKeyEvent", session=True, type=kind, code=code, key=key,
                      windowsVirtualKeyCode=key_code, nativeVirtualKeyCode=key_code)

    def click(self, x, y):
        """Move to (x, y) of the canvas and click the left button."""
        origin = self.evaluate("(function(){var r=document.querySelector('#spice-screen canvas')"
                               ".getBoundingClientRect();return [r.left, r.top];})()")
        px, py = origin[0] + x, origin[1] + y
        self.call("Input.dispatchMouseEvent", session=True, type="mouseMoved", x=px, y=py)
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", session=True, type=kind, x=px, y=py,
                      button="left", clickCount=1)

    def log_tail(self):
        try:
            with open(os.path.join(self.tmp, "chromium.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def close(self):
        if self.proc.poll() is None:
            try:
                self._send({"id": 0, "method": "Browser.close"})
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for fd in (self._cmd_w, self._resp_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.httpd.shutdown()
        self.httpd.server_close()
        shutil.rmtree(self.tmp, ignore_errors=True)
