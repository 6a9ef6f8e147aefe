#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-plugin-list.py: runs spice-plugin-list from the build tree against
# the loader fixtures (tests/fixtures) and the first-party plugins, and
# checks what it really prints.
#
#   test-plugin-list.py TOOL FIXTURE_DIR [SPICE_PLUGIN_H [SERVING_DIR]]
#
# Every run gets SPICE_PLUGIN_PATH=FIXTURE_DIR and an empty config file, so
# an installed config cannot change the answers. SERVING_DIR holds the
# char-device plugins of tests/tools (chardev, chardev-two) that only the
# --serves tests add to the path.

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import unittest

TOOL = None
FIXTURE_DIR = None
ABI_MAJOR = None
ABI_MINOR = None
EMPTY_CONFIG = None
SERVING_DIR = None
PROJECT_VERSION = None

# Fixtures that are rejected when enabled, with the text of the reason.
BROKEN = {
    "badmagic": "bad magic 0xdeadbeef (expected 0x474c5053): not a spice channel plugin",
    "noentry": "no entry point spice_plugin_noentry_query()",
    "badname": "name 'othername' does not match the file name (expected 'badname')",
    "noinit": "invalid descriptor: no init function",
}


def read_abi(header):
    """The ABI the server provides, as spice-plugin.h says."""
    with open(header, encoding="utf-8") as f:
        text = f.read()
    major = re.search(r"^#define SPICE_PLUGIN_ABI_MAJOR (\d+)", text, re.M)
    minor = re.search(r"^#define SPICE_PLUGIN_ABI_MINOR (\d+)", text, re.M)
    if not major or not minor:
        raise SystemExit(f"cannot find SPICE_PLUGIN_ABI_MAJOR/MINOR in {header}")
    return int(major.group(1)), int(minor.group(1))


def run(*args, enable=None, disable=None, check_rc=0, path=None):
    """Run the tool; returns (returncode, stdout, stderr)."""
    env = dict(os.environ)
    for key in ("SPICE_PLUGIN_ENABLE", "SPICE_PLUGIN_DISABLE"):
        env.pop(key, None)
    env["SPICE_PLUGIN_PATH"] = path or FIXTURE_DIR
    env["SPICE_PLUGIN_CONFIG"] = EMPTY_CONFIG
    if enable is not None:
        env["SPICE_PLUGIN_ENABLE"] = enable
    if disable is not None:
        env["SPICE_PLUGIN_DISABLE"] = disable
    proc = subprocess.run([TOOL, *args], env=env, capture_output=True, text=True,
                          timeout=60)
    if check_rc is not None and proc.returncode != check_rc:
        raise AssertionError(
            f"{TOOL} {' '.join(args)} (enable={enable}, disable={disable}) exited with "
            f"{proc.returncode}, expected {check_rc}\nstdout:\n{proc.stdout}\n"
            f"stderr:\n{proc.stderr}")
    return proc.returncode, proc.stdout, proc.stderr


def parse_list(text, totals_re=r"^\d+ plugins? \(", trailers=("config file:",)):
    """List mode output (and --serves', with its totals_re and trailers):
    {name: {"status", "line", "fields", "reason"}} and the totals line."""
    plugins = {}
    totals = None
    last = None
    for line in text.splitlines():
        if re.match(totals_re, line):
            totals = line
        elif line.startswith(" ") and last:
            plugins[last]["reason"] += line.strip()
        elif line and not line.startswith(trailers):
            fields = line.split()
            last = fields[0]
            plugins[last] = {"status": fields[1], "line": line, "fields": fields, "reason": ""}
    return plugins, totals


def run_json(*args, **kwargs):
    _, out, _ = run("--json", *args, **kwargs)
    return json.loads(out)


def by_name(doc):
    return {p["name"]: p for p in doc["plugins"]}


class ListMode(unittest.TestCase):
    def test_good_plugins_are_ok(self):
        # dupinputs sorts before inputs and claims its channel type, so
        # leave it out to see both first-party plugins load.
        _, out, _ = run(disable="dupinputs")
        plugins, totals = parse_list(out)
        self.assertEqual(plugins["main"]["status"], "ok", out)
        self.assertEqual(plugins["inputs"]["status"], "ok", out)
        self.assertIn("inputs", plugins["inputs"]["line"].split()[2].split(","))
        self.assertEqual(plugins["main"]["line"].split()[2], "main")
        self.assertEqual(plugins["dupinputs"]["status"], "disabled")
        self.assertIn("disabled by SPICE_PLUGIN_DISABLE", plugins["dupinputs"]["reason"])
        self.assertIsNotNone(totals, out)
        self.assertIn(f"search path: {FIXTURE_DIR}:", totals)
        self.assertIn(f"config file: {EMPTY_CONFIG}", out)

    def test_totals_count_every_plugin(self):
        _, out, _ = run(enable="old")
        plugins, totals = parse_list(out)
        counts = {s: sum(p["status"] == s for p in plugins.values())
                  for s in ("ok", "disabled", "error", "crashed")}
        failed = counts["error"] + counts["crashed"]
        self.assertEqual(totals.split(";")[0],
                         f"{len(plugins)} plugins ({counts['ok']} ok, "
                         f"{counts['disabled']} disabled, {failed} failed)")

    def test_old_enabled_future_disabled(self):
        _, out, _ = run(enable="old")
        plugins, _ = parse_list(out)
        self.assertEqual(plugins["old"]["status"], "ok", out)
        self.assertIn("type 201", plugins["old"]["line"])
        self.assertEqual(plugins["future"]["status"], "disabled", out)
        self.assertEqual(plugins["future"]["reason"], "not listed in SPICE_PLUGIN_ENABLE")
        # Not opened: a disabled plugin has nothing read from its descriptor,
        # and the crashing fixture does not crash.
        doc = by_name(run_json(enable="old"))
        self.assertIsNone(doc["future"]["abi"])
        self.assertIsNone(doc["future"]["version"])
        self.assertEqual(doc["crash"]["status"], "disabled")
        self.assertEqual(doc["old"]["abi"], {"major": ABI_MAJOR, "minor": 0})

    def test_future_abi_rejected(self):
        expected = (f"built for plugin ABI {ABI_MAJOR}.{ABI_MINOR + 1}; "
                    f"this server provides {ABI_MAJOR}.{ABI_MINOR}")
        _, out, _ = run(enable="future")
        plugins, _ = parse_list(out)
        self.assertEqual(plugins["future"]["status"], "error", out)
        self.assertIn(expected, plugins["future"]["reason"])
        future = by_name(run_json(enable="future"))["future"]
        self.assertEqual(future["status"], "error")
        self.assertIn(expected, future["reason"])
        self.assertEqual(future["abi"], {"major": ABI_MAJOR, "minor": ABI_MINOR + 1})
        self.assertTrue(future["enabled"])

    def test_future_major_rejected(self):
        doc = by_name(run_json(enable="futuremajor"))
        self.assertEqual(doc["futuremajor"]["status"], "error")
        self.assertIn(f"built for plugin ABI {ABI_MAJOR + 1}.{ABI_MINOR}; "
                      f"this server provides {ABI_MAJOR}.{ABI_MINOR} (major versions differ)",
                      doc["futuremajor"]["reason"])

    def test_broken_fixtures(self):
        for name, reason in BROKEN.items():
            with self.subTest(fixture=name):
                _, out, _ = run(enable=name)
                plugins, _ = parse_list(out)
                self.assertEqual(plugins[name]["status"], "error", out)
                self.assertIn(reason, plugins[name]["reason"])
                path = os.path.join(FIXTURE_DIR, f"libspice-plugin-{name}.so")
                self.assertTrue(plugins[name]["reason"].startswith(path + ": "),
                                plugins[name]["reason"])

    def test_crash_is_contained(self):
        rc, out, err = run(enable="crash")
        self.assertEqual(rc, 0)
        plugins, totals = parse_list(out)
        self.assertEqual(plugins["crash"]["status"], "crashed", out)
        # The fixture raises SIGSEGV; under AddressSanitizer its handler
        # reports and aborts, so SIGABRT is the same crash.
        accepted = [f"crashed while being queried (signal {int(s)}, {signal.strsignal(s)})"
                    for s in (signal.SIGSEGV, signal.SIGABRT)]
        self.assertTrue(any(a in plugins["crash"]["reason"] for a in accepted),
                        plugins["crash"]["reason"])
        self.assertEqual(plugins["main"]["status"], "ok")
        self.assertIn("1 failed", totals)

    def test_conflict_reported(self):
        doc = by_name(run_json(enable="inputs,dupinputs"))
        self.assertEqual(doc["dupinputs"]["status"], "ok")
        self.assertEqual(doc["inputs"]["status"], "error")
        self.assertIn("channel type 3 (inputs) is already provided by plugin 'dupinputs' ("
                      + os.path.join(FIXTURE_DIR, "libspice-plugin-dupinputs.so") + ")",
                      doc["inputs"]["reason"])
        # Its descriptor is fine; only the combination is refused.
        self.assertEqual(doc["inputs"]["abi"], {"major": ABI_MAJOR, "minor": ABI_MINOR})

    def test_conflict_message_is_the_servers(self):
        # The loader's message: an unnamed type reads "unknown", as in the
        # server's log, while the channel column says "type 201".
        doc = by_name(run_json(enable="initfail,old"))
        self.assertEqual(doc["initfail"]["status"], "ok")
        self.assertEqual(doc["old"]["reason"],
                         os.path.join(FIXTURE_DIR, "libspice-plugin-old.so")
                         + ": channel type 201 (unknown) is already provided by plugin "
                         "'initfail' (" + os.path.join(FIXTURE_DIR, "libspice-plugin-initfail.so")
                         + ")")
        self.assertEqual(doc["old"]["channels"][0]["name"], "type 201")


class Check(unittest.TestCase):
    def test_good_plugins_pass(self):
        rc, out, _ = run("--check", enable="inputs,old", check_rc=None)
        self.assertEqual(rc, 0, out)
        self.assertIn("check passed", out)

    def test_broken_plugin_fails(self):
        for name in ["future", "crash", *BROKEN]:
            with self.subTest(fixture=name):
                rc, out, _ = run("--check", enable=f"inputs,{name}", check_rc=None)
                self.assertEqual(rc, 1, out)
                self.assertIn(f"{name}: ", out)
                self.assertIn("check failed", out)

    def test_conflict_fails(self):
        rc, out, _ = run("--check", enable="inputs,dupinputs", check_rc=None)
        self.assertEqual(rc, 1, out)
        self.assertIn("inputs: error: ", out)

    def test_disabled_broken_plugins_do_not_count(self):
        # Every broken fixture is in the path, but none is enabled.
        rc, out, _ = run("--check", enable="inputs", check_rc=None)
        self.assertEqual(rc, 0, out)

    def test_enabled_but_missing_fails(self):
        rc, out, _ = run("--check", enable="inputs,nosuchplugin", check_rc=None)
        self.assertEqual(rc, 1, out)
        self.assertIn("libspice-plugin-nosuchplugin.so is not in the plugin path", out)

    def test_optional_failure_is_tolerated(self):
        # Like the server: an optional plugin that fails is skipped.
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("[channels]\nenable=inputs;future\noptional=future\n")
        try:
            rc, out, _ = run("--config", f.name, "--check", check_rc=None)
        finally:
            os.unlink(f.name)
        self.assertEqual(rc, 0, out)
        self.assertIn("future (optional, skipped): error: ", out)
        self.assertIn("check passed: 3 enabled plugins load and validate "
                      "(1 optional plugin skipped)", out)

    def test_check_with_json_keeps_exit_status(self):
        rc, out, _ = run("--check", "--json", enable="future", check_rc=None)
        self.assertEqual(rc, 1)
        json.loads(out)


class Json(unittest.TestCase):
    PLUGIN_KEYS = {"name", "file", "status", "reason", "enabled", "enabled_reason", "optional",
                   "version", "license", "description", "origin", "abi", "channels",
                   "interfaces", "shadowed"}

    def test_list_fields(self):
        doc = run_json(disable="dupinputs")
        self.assertEqual(doc["search_path"][0], FIXTURE_DIR)
        self.assertEqual(doc["config_file"], EMPTY_CONFIG)
        self.assertEqual(doc["server_abi"], {"major": ABI_MAJOR, "minor": ABI_MINOR})
        plugins = by_name(doc)
        self.assertEqual(doc["plugins"][0]["name"], "main")
        for p in doc["plugins"]:
            self.assertEqual(set(p), self.PLUGIN_KEYS, p["name"])
        inputs = plugins["inputs"]
        self.assertEqual(inputs["status"], "ok")
        self.assertIsNone(inputs["reason"])
        self.assertTrue(inputs["enabled"])
        self.assertFalse(inputs["optional"])
        self.assertEqual(inputs["license"], "LGPL-2.1-or-later")
        self.assertTrue(inputs["file"].endswith("/libspice-plugin-inputs.so"))
        self.assertEqual(inputs["abi"], {"major": ABI_MAJOR, "minor": ABI_MINOR})
        channel = inputs["channels"][0]
        self.assertEqual((channel["type"], channel["name"]), (3, "inputs"))
        self.assertGreater(channel["max_message_size"], 0)
        self.assertIsInstance(channel["flags"], int)
        self.assertIn({"cap": 0, "name": "KEY_SCANCODE"}, channel["caps"])
        ifaces = {i["type"]: i for i in inputs["interfaces"]}
        self.assertEqual(set(ifaces), {"keyboard", "mouse", "tablet"})
        for i in ifaces.values():
            self.assertEqual(set(i), {"type", "subtype", "portname", "major", "minor"})
        self.assertEqual(plugins["old"]["channels"][0]["name"], "type 201")
        self.assertEqual(plugins["dupinputs"]["status"], "disabled")
        self.assertEqual(plugins["dupinputs"]["enabled_reason"],
                         "disabled by SPICE_PLUGIN_DISABLE")

    def test_details(self):
        doc = run_json("inputs", disable="dupinputs")
        self.assertEqual(doc["plugin"]["name"], "inputs")
        self.assertEqual(doc["plugin"]["status"], "ok")


class Config(unittest.TestCase):
    def test_config_file_option(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("[channels]\nenable=inputs\n")
        try:
            _, out, _ = run("--config", f.name)
            plugins, _ = parse_list(out)
            self.assertEqual(plugins["old"]["status"], "disabled", out)
            self.assertIn(f.name, plugins["old"]["reason"])
            self.assertEqual(plugins["inputs"]["status"], "ok", out)
            self.assertIn(f"config file: {f.name}", out)
            doc = run_json("--config", f.name)
            self.assertEqual(doc["config_file"], f.name)
            old = by_name(doc)["old"]
            self.assertFalse(old["enabled"])
            self.assertEqual(old["enabled_reason"], f"not listed in {f.name} [channels] enable")
        finally:
            os.unlink(f.name)

    def test_missing_config_file(self):
        rc, out, err = run("--config", "/nonexistent/plugins.conf", check_rc=None)
        self.assertEqual(rc, 2)
        self.assertIn("/nonexistent/plugins.conf", err)


class Details(unittest.TestCase):
    def test_inputs(self):
        _, out, _ = run("inputs", disable="dupinputs")
        self.assertTrue(out.startswith("Plugin inputs\n"), out)
        self.assertRegex(out, r"status: +ok\n")
        self.assertRegex(out, r"enabled: +yes - ")
        self.assertRegex(out, r"optional: +no\n")
        self.assertIn(f"plugin ABI:       built for {ABI_MAJOR}.{ABI_MINOR}; "
                      f"this server provides {ABI_MAJOR}.{ABI_MINOR}", out)
        self.assertIn("license:          LGPL-2.1-or-later", out)
        self.assertIn("channel inputs (type 3)", out)
        self.assertIn("KEY_SCANCODE (0)", out)
        for iface in ("keyboard", "mouse", "tablet"):
            self.assertRegex(out, rf"\b{iface} \d+\.\d+\n")

    def test_rejected_plugin(self):
        _, out, _ = run("future", enable="future")
        self.assertRegex(out, r"status: +error\n")
        self.assertIn(f"built for {ABI_MAJOR}.{ABI_MINOR + 1}; this server provides "
                      f"{ABI_MAJOR}.{ABI_MINOR}", out)
        self.assertIn("reason:", out)

    def test_disabled_plugin(self):
        _, out, _ = run("future", enable="old")
        self.assertRegex(out, r"status: +disabled\n")
        self.assertIn("enabled:          no - not listed in SPICE_PLUGIN_ENABLE", out)

    def test_unknown_name(self):
        rc, out, err = run("nosuchplugin", check_rc=None)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("nosuchplugin", err)


def parse_serves(text):
    """--serves output: {name: {"status", "interface", "file", "reason", ...}}
    and the totals line."""
    plugins, totals = parse_list(text, r"^(\d+ plugins? serves? |no plugin serves )",
                                  ("config file:", "not counted"))
    for p in plugins.values():
        _, _, interface, version, p["file"] = p["fields"]
        p["interface"] = f"{interface} {version}"
    return plugins, totals


class Serves(unittest.TestCase):
    """--serves TYPE[:SUBTYPE] with the build's plugins, the fixtures and
    tests/tools' char-device plugins."""

    def serving_path(self):
        if not SERVING_DIR:
            self.skipTest("no SERVING_DIR given")
        return f"{SERVING_DIR}:{FIXTURE_DIR}"

    def test_qxl_served_by_display(self):
        rc, out, _ = run("--serves", "qxl", disable="dupinputs")
        self.assertEqual(rc, 0, out)
        plugins, totals = parse_serves(out)
        self.assertEqual(set(plugins), {"display"}, out)
        self.assertEqual(plugins["display"]["status"], "ok")
        self.assertRegex(plugins["display"]["interface"], r"^qxl 3\.\d+$")
        self.assertTrue(plugins["display"]["file"].endswith("/libspice-plugin-display.so"))
        self.assertTrue(totals.startswith(
            "1 plugin serves the 'qxl' interface (1 ok, 0 disabled, 0 failed); search path: "
            f"{FIXTURE_DIR}:"), totals)
        self.assertIn(f"config file: {EMPTY_CONFIG}", out)

    def test_disabled_plugin_is_named(self):
        # Opened (in a child) although disabled: only its descriptor says
        # what it serves. No enabled plugin serves qxl: exit status 1.
        rc, out, _ = run("--serves", "qxl", disable="display,dupinputs", check_rc=1)
        plugins, totals = parse_serves(out)
        self.assertEqual(plugins["display"]["status"], "disabled", out)
        self.assertEqual(plugins["display"]["reason"], "disabled by SPICE_PLUGIN_DISABLE")
        self.assertIn("(0 ok, 1 disabled, 0 failed)", totals)

    def test_not_listed_in_enable(self):
        rc, out, _ = run("--serves", "keyboard", enable="old", check_rc=1)
        plugins, _ = parse_serves(out)
        self.assertEqual(plugins["inputs"]["status"], "disabled", out)
        self.assertEqual(plugins["inputs"]["reason"], "not listed in SPICE_PLUGIN_ENABLE")
        # Every fixture was queried, the crashing one in its own child.
        self.assertRegex(out, r"\nnot counted, no valid descriptor: .*\bcrash\b")
        self.assertNotIn("old", plugins)

    def test_refused_plugin_does_not_count(self):
        # dupinputs comes first and takes the inputs channel type.
        _, out, _ = run("--serves", "mouse", check_rc=1)
        plugins, totals = parse_serves(out)
        self.assertEqual(plugins["inputs"]["status"], "error", out)
        self.assertIn("is already provided by plugin 'dupinputs'", plugins["inputs"]["reason"])
        self.assertIn("(0 ok, 0 disabled, 1 failed)", totals)

    def test_nobody_serves(self):
        _, out, _ = run("--serves", "char_device:smartcard", check_rc=1)
        self.assertIn("no plugin serves the 'char_device:smartcard' interface; search path: ",
                      out)
        _, out, _ = run("--serves", "char_device:usbredir", check_rc=1)
        self.assertIn("no plugin serves the 'char_device:usbredir' interface", out)

    def test_subtypes(self):
        path = self.serving_path()
        _, out, _ = run("--serves", "char_device:webdav", path=path)
        plugins, _ = parse_serves(out)
        self.assertEqual(set(plugins), {"chardev"}, out)
        self.assertEqual(plugins["chardev"]["interface"].split()[0], "char_device:webdav")
        # Without a subtype: every subtype (the ABI 1.0 fixture "old"
        # serves char_device:fixture-old, our port plugin char_device:port,
        # the "named" fixture one named port: both load, 1.4 routing;
        # main serves char_device:vdagent).
        _, out, _ = run("--serves", "char_device", path=path)
        plugins, totals = parse_serves(out)
        self.assertEqual(set(plugins),
                         {"chardev", "chardev-two", "old", "port", "named", "main"}, out)
        self.assertEqual(plugins["main"]["interface"].split()[0], "char_device:vdagent")
        self.assertEqual(plugins["port"]["interface"].split()[0], "char_device:port")
        self.assertEqual(plugins["port"]["status"], "ok", out)
        self.assertEqual(plugins["named"]["interface"].split()[0],
                         "char_device:port[org.test.named.0]")
        self.assertEqual(plugins["named"]["status"], "ok", out)
        self.assertIn("6 plugins serve the 'char_device' interface", totals)

    def test_interface_conflict(self):
        path = self.serving_path()
        _, out, _ = run("--serves", "char_device:usbredir", path=path)
        plugins, totals = parse_serves(out)
        self.assertEqual(plugins["chardev"]["status"], "ok", out)
        self.assertEqual(plugins["chardev-two"]["status"], "error", out)
        self.assertEqual(
            plugins["chardev-two"]["reason"],
            os.path.join(SERVING_DIR, "libspice-plugin-chardev-two.so")
            + ": interface 'char_device:usbredir' is already served by plugin 'chardev' ("
            + os.path.join(SERVING_DIR, "libspice-plugin-chardev.so") + ")")
        self.assertIn("(1 ok, 0 disabled, 1 failed)", totals)
        # With the first one disabled the second one loads.
        _, out, _ = run("--serves", "char_device:usbredir", path=path, disable="chardev")
        plugins, _ = parse_serves(out)
        self.assertEqual(plugins["chardev"]["status"], "disabled", out)
        self.assertEqual(plugins["chardev-two"]["status"], "ok", out)

    def test_json(self):
        doc = run_json("--serves", "qxl", disable="dupinputs")
        self.assertEqual(doc["serves"], {"type": "qxl", "subtype": None})
        self.assertEqual([p["name"] for p in doc["plugins"]], ["display"])
        self.assertEqual(set(doc["plugins"][0]), Json.PLUGIN_KEYS)
        self.assertIn("crash", doc["unreadable"])
        self.assertEqual(doc["config_file"], EMPTY_CONFIG)
        rc, out, _ = run("--json", "--serves", "qxl", disable="display", check_rc=1)
        self.assertEqual(json.loads(out)["plugins"][0]["status"], "disabled")

    def test_usage(self):
        rc, _, err = run("--serves", "bogus", check_rc=2)
        self.assertIn("unknown interface type 'bogus' (plugins serve keyboard, mouse, tablet, "
                      "qxl, playback, record, char_device)", err)
        run("--serves", "char_device:", check_rc=2)
        run("--serves", "qxl", "inputs", check_rc=2)
        run("--serves", "qxl", "--check", check_rc=2)
        run("--serves", "qxl", "--build", check_rc=2)


class Build(unittest.TestCase):
    """--build: what this build produced (tools/meson.build's generated list)."""

    def test_text(self):
        _, out, _ = run("--build")
        lines = out.splitlines()
        self.assertEqual(lines[0], f"spicecore {PROJECT_VERSION}, plugin ABI "
                                   f"{ABI_MAJOR}.{ABI_MINOR}")
        self.assertEqual(lines[1], "first-party plugins built:")
        plugins = {}
        i = 2
        while lines[i].startswith("  "):
            name, file = lines[i].split(None, 1)
            plugins[name] = file
            i += 1
        self.assertEqual(list(plugins)[0], "main")
        self.assertLessEqual({"main", "inputs"}, set(plugins))
        for name, file in plugins.items():
            self.assertTrue(file.endswith(f"/libspice-plugin-{name}.so"), file)
        self.assertTrue(lines[i].startswith("image codecs built:"), out)
        self.assertTrue(lines[-1].startswith(f"search path: {FIXTURE_DIR}:"), out)

    def test_json_matches_the_build(self):
        doc = run_json("--build")
        self.assertEqual(doc["version"], PROJECT_VERSION)
        self.assertEqual(doc["server_abi"], {"major": ABI_MAJOR, "minor": ABI_MINOR})
        names = [p["name"] for p in doc["plugins"]]
        self.assertEqual(names[0], "main")
        self.assertEqual(names[1:], sorted(names[1:]))
        # Every plugin the build made is in the build tree's plugin folder
        # (which may also hold files an earlier configuration built).
        plugin_dir = os.path.dirname(by_name(run_json())["main"]["file"])
        for p in doc["plugins"]:
            self.assertEqual(p["file"], os.path.join(plugin_dir, f"libspice-plugin-{p['name']}.so"))
        codecs = {c["name"]: c["library"] for c in doc["codecs"]}
        if "display" in names:
            self.assertEqual(set(codecs), {"bitmap", "lz", "quic", "glz", "lz4", "jpeg",
                                           "zlib-glz"})
            self.assertIsNone(codecs["bitmap"])
            self.assertIsNone(codecs["lz"])
            self.assertIsNone(codecs["quic"])
            self.assertIsNone(codecs["glz"])
            self.assertTrue(codecs["zlib-glz"].startswith("zlib "))
            self.assertTrue(codecs["lz4"].startswith("liblz4 "))
        else:
            self.assertEqual(codecs, {})

    def test_usage(self):
        run("--build", "inputs", check_rc=2)
        run("--build", "--check", check_rc=2)


class Usage(unittest.TestCase):
    def test_help(self):
        _, out, _ = run("--help")
        self.assertIn("--json", out)
        self.assertIn("--check", out)
        self.assertIn("--config", out)
        self.assertIn("--serves=TYPE[:SUBTYPE]", out)
        self.assertIn("--build", out)

    def test_bad_usage(self):
        rc, _, err = run("a", "b", check_rc=None)
        self.assertEqual(rc, 2)
        self.assertTrue(err)


def read_project_version(meson_build):
    """The version in the top meson.build's project()."""
    with open(meson_build, encoding="utf-8") as f:
        match = re.search(r"^\s*version:\s*'([^']+)'", f.read(), re.M)
    if not match:
        raise SystemExit(f"cannot find the project version in {meson_build}")
    return match.group(1)


def main():
    global TOOL, FIXTURE_DIR, ABI_MAJOR, ABI_MINOR, EMPTY_CONFIG, SERVING_DIR, PROJECT_VERSION
    if len(sys.argv) < 3:
        raise SystemExit(f"usage: {sys.argv[0]} TOOL FIXTURE_DIR [SPICE_PLUGIN_H [SERVING_DIR]]")
    TOOL = os.path.abspath(sys.argv[1])
    FIXTURE_DIR = os.path.abspath(sys.argv[2])
    source_root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    header = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        source_root, "plugin-api", "spice-plugin.h")
    SERVING_DIR = os.path.abspath(sys.argv[4]) if len(sys.argv) > 4 else None
    ABI_MAJOR, ABI_MINOR = read_abi(header)
    PROJECT_VERSION = read_project_version(os.path.join(source_root, "meson.build"))
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        EMPTY_CONFIG = f.name
    try:
        program = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
    finally:
        os.unlink(EMPTY_CONFIG)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
