"""test_install.py - make install DESTDIR=... lays out the programs, manual pages, systemd
unit and configuration (from the build under test, without compiling anything); the unit
has its hardening; the manual pages cover every flag of crmd --help and every command
and option of crmctl --help."""
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

import harness

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(harness.BUILD)


def make(*args, check=True):
    process = subprocess.run(["make", "--no-print-directory", "BUILD=" + BUILD] + list(args),
                             cwd=ROOT, capture_output=True, text=True, timeout=300)
    if check and process.returncode != 0:
        raise AssertionError("make %s failed:\n%s\n%s" % (" ".join(args), process.stdout,
                                                           process.stderr))
    return process


def unit_settings(path):
    """The [Service] ... settings of a unit file as {key: [values]}."""
    settings = {}
    with open(path) as file:
        for line in file:
            line = line.strip()
            if not line or line.startswith(("#", ";", "[")):
                continue
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


def roff_text(path):
    """A manual page's source as plain words: escapes and quotes gone, one space apart."""
    with open(path) as file:
        lines = [line for line in file if not line.startswith('.\\"')]
    text = "".join(re.sub(r"^\.[A-Za-z]+\s?", "", line) for line in lines)
    text = text.replace("\\-", "-").replace("\\e", "\\")
    text = re.sub(r"\\f[BIRP]", "", text).replace('"', " ")
    return " ".join(text.split())


class InstallTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory(prefix="crm-install-")
        self.destdir = self.directory.name

    def tearDown(self):
        self.directory.cleanup()

    def path(self, *parts):
        return os.path.join(self.destdir, *[part.lstrip("/") for part in parts])

    def test_layout(self):
        result = make("install", "DESTDIR=" + self.destdir)
        self.assertNotRegex(result.stdout, r"\s-c\s", "make install compiled something")
        for program in ("crmd", "crmctl"):
            installed = self.path("/usr/local/bin", program)
            mode = os.stat(installed).st_mode
            self.assertTrue(mode & stat.S_IXUSR and mode & stat.S_IXOTH, program)
        version = subprocess.run([self.path("/usr/local/bin/crmd"), "--version"],
                                 capture_output=True, text=True, env=harness.ENV)
        self.assertEqual(0, version.returncode)
        self.assertTrue(version.stdout.startswith("crmd "))
        for page in ("crmd.8", "crmctl.8"):
            self.assertTrue(os.path.isfile(self.path("/usr/local/share/man/man8", page)))
        unit = self.path("/usr/local/lib/systemd/system/crmd.service")
        settings = unit_settings(unit)
        self.assertEqual(["/usr/local/bin/crmd --db /var/lib/crmd/crm.db"], settings["ExecStart"])
        self.assertTrue(os.path.isfile(self.path("/usr/local/lib/sysusers.d/crmd.conf")))
        example = self.path("/usr/local/share/doc/crmd/crmd.conf.example")
        with open(example) as file, open(os.path.join(ROOT, "deploy", "crmd.conf")) as source:
            self.assertEqual(source.read(), file.read())
        self.assertTrue(os.path.isfile(self.path("/etc/crmd.conf")))
        self.assertEqual(0o644, stat.S_IMODE(os.stat(self.path("/etc/crmd.conf")).st_mode))

    def test_prefix_reaches_the_unit(self):
        make("install", "DESTDIR=" + self.destdir, "PREFIX=/opt/crm")
        self.assertTrue(os.path.isfile(self.path("/opt/crm/bin/crmd")))
        settings = unit_settings(self.path("/opt/crm/lib/systemd/system/crmd.service"))
        self.assertEqual(["/opt/crm/bin/crmd --db /var/lib/crmd/crm.db"], settings["ExecStart"])

    def test_existing_configuration_is_kept(self):
        os.makedirs(self.path("/etc"))
        with open(self.path("/etc/crmd.conf"), "w") as file:
            file.write("listen = 127.0.0.1:9999\n")
        result = make("install", "DESTDIR=" + self.destdir)
        self.assertIn("kept the existing", result.stdout)
        with open(self.path("/etc/crmd.conf")) as file:
            self.assertEqual("listen = 127.0.0.1:9999\n", file.read())
        # a second install over the first one works and keeps it too
        make("install", "DESTDIR=" + self.destdir)
        with open(self.path("/etc/crmd.conf")) as file:
            self.assertEqual("listen = 127.0.0.1:9999\n", file.read())

    def test_uninstall_keeps_configuration(self):
        make("install", "DESTDIR=" + self.destdir)
        make("uninstall", "DESTDIR=" + self.destdir)
        self.assertFalse(os.path.exists(self.path("/usr/local/bin/crmd")))
        self.assertFalse(os.path.exists(self.path("/usr/local/lib/systemd/system/crmd.service")))
        self.assertTrue(os.path.isfile(self.path("/etc/crmd.conf")))

    def test_install_never_builds(self):
        empty = os.path.join(self.destdir, "no-build")
        os.mkdir(empty)
        process = subprocess.run(["make", "--no-print-directory", "BUILD=" + empty, "install",
                                  "DESTDIR=" + os.path.join(self.destdir, "root")],
                                 cwd=ROOT, capture_output=True, text=True, timeout=120)
        self.assertNotEqual(0, process.returncode)
        self.assertIn("run make BUILD=%s first" % empty, process.stderr)
        self.assertEqual([], os.listdir(empty), "make install created files in the build")
        dry = make("-n", "install", "DESTDIR=" + self.destdir)
        self.assertNotIn(" -c ", dry.stdout)


class UnitTest(unittest.TestCase):
    UNIT = os.path.join(ROOT, "deploy", "crmd.service")

    def test_hardening(self):
        settings = unit_settings(self.UNIT)
        expected = {
            "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
            "NoNewPrivileges": "yes", "StateDirectory": "crmd", "MemoryDenyWriteExecute": "yes",
            "LockPersonality": "yes", "KillSignal": "SIGTERM", "CapabilityBoundingSet": "",
            "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "PrivateDevices": "yes",
            "RestrictSUIDSGID": "yes", "RestrictNamespaces": "yes",
        }
        for key, value in expected.items():
            self.assertIn(value, settings.get(key, []), key)
        self.assertIn("@system-service", settings["SystemCallFilter"])
        self.assertTrue(settings.get("User") == ["crmd"] or settings.get("DynamicUser") == ["yes"])
        self.assertIn("--db /var/lib/crmd/crm.db", settings["ExecStart"][0])
        with open(os.path.join(ROOT, "deploy", "crmd.sysusers")) as file:
            self.assertRegex(file.read(), r"(?m)^u crmd - .* /var/lib/crmd")

    def test_systemd_accepts_the_unit(self):
        analyze = shutil.which("systemd-analyze")
        self.assertTrue(analyze, "systemd-analyze is missing: run scripts/install-deps test")
        with tempfile.TemporaryDirectory() as directory:
            crmd = os.path.join(directory, "crmd")
            shutil.copy(harness.CRMD, crmd)
            unit = os.path.join(directory, "crmd.service")
            with open(self.UNIT) as source, open(unit, "w") as target:
                target.write(source.read().replace("/usr/local/bin/crmd", crmd))
            process = subprocess.run([analyze, "verify", "--man=no", unit], capture_output=True, text=True,
                                     timeout=120)
        # only complaints about this unit count (a container may lack other units)
        complaints = [line for line in (process.stdout + process.stderr).splitlines()
                      if "crmd.service" in line and "Failed to" not in line
                      and "not running" not in line.lower()]
        self.assertEqual([], complaints, process.stdout + process.stderr)


class ManualPageTest(unittest.TestCase):
    def help_of(self, program, *args):
        process = subprocess.run([program] + list(args), capture_output=True, text=True,
                                 env=harness.ENV, timeout=60)
        self.assertEqual(0, process.returncode, process.stderr)
        return process.stdout

    def test_pages_render_without_warnings(self):
        groff = shutil.which("groff")
        self.assertTrue(groff, "groff is missing: run scripts/install-deps test")
        for page in ("crmd.8", "crmctl.8"):
            process = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z",
                                      os.path.join(ROOT, "docs", "man", page)],
                                     capture_output=True, text=True,
                                     env=dict(os.environ, LC_ALL="C.UTF-8"))
            self.assertEqual("", process.stderr, page)

    def test_every_crmd_flag_is_in_the_page(self):
        flags = set(re.findall(r"--[a-z][a-z-]*", self.help_of(harness.CRMD, "--help")))
        self.assertIn("--config", flags)
        page = roff_text(os.path.join(ROOT, "docs", "man", "crmd.8"))
        missing = sorted(flag for flag in flags if flag not in page)
        self.assertEqual([], missing, "flags of crmd --help missing from docs/man/crmd.8")

    def test_every_crmctl_command_is_in_the_page(self):
        overview = self.help_of(harness.CRMCTL, "--help")
        commands = re.findall(r"(?m)^  ([a-z][a-z-]*(?: [a-z][a-z-]*)?)(?= |$)", overview)
        self.assertIn("user add", commands)
        page = roff_text(os.path.join(ROOT, "docs", "man", "crmctl.8"))
        missing = [command for command in commands
                   if not re.search(r"(^| )%s( |$)" % re.escape(command), page)]
        self.assertEqual([], missing, "crmctl commands missing from docs/man/crmctl.8")
        options = set(re.findall(r"--[a-z][a-z-]*", overview))
        missing = sorted(option for option in options if option not in page)
        self.assertEqual([], missing, "crmctl options missing from docs/man/crmctl.8")


if __name__ == "__main__":
    unittest.main()
