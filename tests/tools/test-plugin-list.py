#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# test-plugin-list.py: runs spice-plugin-list from the build tree against
# the loader fixtures (tests/fixtures) and the first-party plugins, and
# checks what it really prints.
#
#   test-plugin-list.py TOOL FIXTURE_DIR [SPICE_PLUGIN_H]
#
# Every run gets SPICE_PLUGIN_PATH=FIXTURE_DIR and an empty config file, so
# an installed config cannot change the answers.

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


def run(*args, enable=None, disable=None, check_rc=0):
    """Run the tool; returns (returncode, stdout, stderr)."""
    env = dict(os.environ)
    for key in ("SPICE_PLUGIN_ENABLE", "SPICE_PLUGIN_DISABLE"):
        env.pop(key, None)
    env["SPICE_PLUGIN_PATH"] = FIXTURE_DIR
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


def parse_list(text):
    """List mode output: {name: {"status", "line", "reason"}} and the totals line."""
    plugins = {}
    totals = None
    last = None
    for line in text.splitlines():
        if re.match(r"^\d+ plugins? \(", line):
            totals = line
        elif line.startswith(" ") and last:
            plugins[last]["reason"] += line.strip()
        elif line and not line.startswith("config file:"):
            fields = line.split()
            last = fields[0]
            plugins[last] = {"status": fields[1], "line": line, "reason": ""}
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
            self.assertEqual(set(i), {"type", "subtype", "major", "minor"})
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


class Usage(unittest.TestCase):
    def test_help(self):
        _, out, _ = run("--help")
        self.assertIn("--json", out)
        self.assertIn("--check", out)
        self.assertIn("--config", out)

    def test_bad_usage(self):
        rc, _, err = run("a", "b", check_rc=None)
        self.assertEqual(rc, 2)
        self.assertTrue(err)


def main():
    global TOOL, FIXTURE_DIR, ABI_MAJOR, ABI_MINOR, EMPTY_CONFIG
    if len(sys.argv) < 3:
        raise SystemExit(f"usage: {sys.argv[0]} TOOL FIXTURE_DIR [SPICE_PLUGIN_H]")
    TOOL = os.path.abspath(sys.argv[1])
    FIXTURE_DIR = os.path.abspath(sys.argv[2])
    header = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "plugin-api", "spice-plugin.h")
    ABI_MAJOR, ABI_MINOR = read_abi(header)
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        EMPTY_CONFIG = f.name
    try:
        program = unittest.main(argv=[sys.argv[0], "-v"], exit=False)
    finally:
        os.unlink(EMPTY_CONFIG)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
