"""test_config.py - crmd's configuration file (--config FILE, else /etc/crmd.conf): the
key = value syntax, errors that name the line, and the precedence flags > environment >
file > defaults; plus --version, --routes and --metrics-auth from the file."""
import json
import os
import re
import subprocess
import tempfile
import threading
import unittest
import urllib.error
import urllib.request

import harness


def environment(**extra):
    env = {key: value for key, value in harness.ENV.items()
           if key not in ("CRM_DB", "CRM_LISTEN")}
    env.update(extra)
    return env


class Crmd:
    """crmd started with exactly the given arguments; waits for its listening line."""

    def __init__(self, args, env=None):
        self.log = []
        self.process = subprocess.Popen([harness.CRMD] + list(args), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True,
                                        env=env or environment())
        ready = threading.Event()
        self.port = None
        self.database = None

        def read_log():
            for line in self.process.stderr:
                self.log.append(line)
                match = re.search(r"listening on http://[^:]+:(\d+)/ \(database (.*)\)", line)
                if match:
                    self.port = int(match.group(1))
                    self.database = match.group(2)
                    ready.set()
            ready.set()

        self.reader = threading.Thread(target=read_log, daemon=True)
        self.reader.start()
        if not ready.wait(30) or self.port is None:
            self.process.kill()
            raise AssertionError("crmd did not start:\n" + "".join(self.log))

    def get(self, path, key=None):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path))
        if key:
            request.add_header("Authorization", "Bearer " + key)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def stop(self):
        self.process.terminate()
        code = self.process.wait(60)
        self.reader.join(10)
        text = "".join(self.log)
        harness.check_sanitizer_output(text, "crmd")
        if code != 0:
            raise AssertionError("crmd exited with %d:\n%s" % (code, text[-3000:]))
        return text


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory(prefix="crm-config-")
        self.dir = self.directory.name

    def tearDown(self):
        self.directory.cleanup()

    def write_config(self, text, name="crmd.conf"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as file:
            file.write(text)
        return path

    def run_crmd(self, *args, env=None):
        process = subprocess.run([harness.CRMD] + list(args), capture_output=True, text=True,
                                 env=env or environment(), timeout=60)
        harness.check_sanitizer_output(process.stderr, "crmd")
        return process

    def assertConfigError(self, text, line, message):
        path = self.write_config(text)
        process = self.run_crmd("--config", path, "--routes")
        self.assertEqual(2, process.returncode, process)
        self.assertIn("%s:%d:" % (path, line), process.stderr)
        self.assertIn(message, process.stderr)
        self.assertEqual("", process.stdout)

    # ---------------------------------------------------------------- the file applies

    def test_settings_from_the_file(self):
        database = os.path.join(self.dir, "data #1", "crm.db")
        os.mkdir(os.path.dirname(database))
        path = self.write_config(
            "# crmd settings\n"
            "\n"
            "   # an indented comment\n"
            'db = "%s"\n'
            "listen = 127.0.0.1:0   # a free port\n"
            "threads=3\n"
            "log-format = json\n"
            "log-level = info\n"
            "durable = yes\n" % database)
        server = Crmd(["--config", path])
        try:
            self.assertEqual(database, server.database)
            self.assertEqual(200, server.get("/healthz")[0])
        finally:
            log = server.stop()
        self.assertTrue(os.path.exists(database))
        request_lines = [json.loads(line) for line in log.splitlines()
                         if line.startswith("{") and '"path"' in line]
        self.assertTrue(any(line["path"] == "/healthz" for line in request_lines), log)
        for line in log.splitlines():
            json.loads(line)  # every line is JSON

    def test_flags_win_over_environment_over_file(self):
        file_db, env_db, flag_db = (os.path.join(self.dir, name) for name in
                                    ("file.db", "env.db", "flag.db"))
        path = self.write_config("db = %s\nlisten = 127.0.0.1:0\n" % file_db)
        server = Crmd(["--config", path])
        self.assertEqual(file_db, server.database)
        server.stop()
        server = Crmd(["--config", path], env=environment(CRM_DB=env_db))
        self.assertEqual(env_db, server.database)
        server.stop()
        server = Crmd(["--config", path, "--db", flag_db], env=environment(CRM_DB=env_db))
        self.assertEqual(flag_db, server.database)
        server.stop()
        # the listen address the same way: a bad one in the file is overridden by the flag
        path = self.write_config("db = %s\nlisten = 127.0.0.1:1\n" % file_db, "other.conf")
        server = Crmd(["--config", path, "--listen", "127.0.0.1:0"])
        self.assertNotEqual(1, server.port)
        server.stop()

    def test_metrics_auth_from_the_file(self):
        path = self.write_config("db = %s\nlisten = 127.0.0.1:0\nmetrics-auth = key\n"
                                 % os.path.join(self.dir, "crm.db"))
        server = Crmd(["--config", path])
        try:
            self.assertEqual(401, server.get("/metrics")[0])
            self.assertEqual(200, server.get("/readyz")[0])
        finally:
            server.stop()
        server = Crmd(["--config", path, "--metrics-auth", "none"])
        try:
            status, body = server.get("/metrics")
            self.assertEqual(200, status)
            self.assertIn("crmd_http_requests_total", body)
        finally:
            server.stop()

    def test_false_leaves_the_default(self):
        path = self.write_config("durable = false\nsecure-cookies = off\n")
        process = self.run_crmd("--config", path, "--routes")
        self.assertEqual(0, process.returncode, process.stderr)
        self.assertIn("GET /api/v1/contacts", process.stdout)

    def test_example_config_is_valid(self):
        example = os.path.join(os.path.dirname(__file__), "..", "..", "deploy", "crmd.conf")
        process = self.run_crmd("--config", example, "--routes")
        self.assertEqual(0, process.returncode, process.stderr)

    # ---------------------------------------------------------------- errors name the line

    def test_unknown_key(self):
        self.assertConfigError("listen = 127.0.0.1:0\n\ncolour = blue\n", 3,
                               "unknown setting 'colour'")

    def test_flags_that_are_no_settings(self):
        for key in ("config", "help", "version", "routes"):
            self.assertConfigError("%s = true\n" % key, 1, "unknown setting '%s'" % key)

    def test_bad_values(self):
        self.assertConfigError("# threads\nthreads = many\n", 2, "--threads")
        self.assertConfigError("log-format = xml\n", 1, "--log-format")
        self.assertConfigError("durable = maybe\n", 1, "durable takes true or false")
        self.assertConfigError("db =\n", 1, "db needs a value")
        self.assertConfigError("metrics-auth = basic\n", 1, "--metrics-auth")
        self.assertConfigError("rate-limit = 10/day\n", 1, "--rate-limit")
        self.assertConfigError("rate-limit = 0/min\n", 1, "--rate-limit")
        self.assertConfigError("rate-burst = 0\n", 1, "--rate-burst")
        self.assertConfigError("rate-burst = lots\n", 1, "--rate-burst")

    def test_syntax_errors(self):
        self.assertConfigError("listen 127.0.0.1:0\n", 1, "expected key = value")
        self.assertConfigError("= x\n", 1, "expected key = value")
        self.assertConfigError('db = "/tmp/x\n', 1, "missing closing quote")
        self.assertConfigError('db = "/tmp/x" y\n', 1, "unexpected text")
        self.assertConfigError("threads = 2\nthreads = 3\n", 2, "set already on line 1")
        self.assertConfigError("Listen = x\n", 1, "expected key = value")

    def test_missing_or_unreadable_file(self):
        missing = os.path.join(self.dir, "nope.conf")
        process = self.run_crmd("--config", missing, "--routes")
        self.assertEqual(2, process.returncode)
        self.assertIn(missing, process.stderr)
        self.assertIn("No such file", process.stderr)
        process = self.run_crmd("--config", self.dir, "--routes")  # a directory
        self.assertEqual(2, process.returncode)
        process = self.run_crmd("--config")
        self.assertEqual(2, process.returncode)
        self.assertIn("--config needs a file name", process.stderr)

    def test_binary_file_is_refused(self):
        path = os.path.join(self.dir, "binary.conf")
        with open(path, "wb") as file:
            file.write(b"listen = 127.0.0.1:0\n\x00\x01\x02")
        process = self.run_crmd("--config", path, "--routes")
        self.assertEqual(2, process.returncode)
        self.assertIn("not a text file", process.stderr)

    def test_help_and_version_work_with_a_broken_file(self):
        path = self.write_config("this is not a setting\n")
        process = self.run_crmd("--config", path, "--help")
        self.assertEqual(0, process.returncode, process.stderr)
        self.assertIn("--config FILE", process.stdout)
        process = self.run_crmd("--config", path, "--version")
        self.assertEqual(0, process.returncode)
        self.assertRegex(process.stdout, r"^crmd \d+\.\d+\.\d+\n$")

    def test_abbreviated_config_flag_is_refused(self):
        path = self.write_config("threads = 2\n")
        process = self.run_crmd("--conf", path, "--routes")
        self.assertEqual(2, process.returncode)
        self.assertIn("write --config in full", process.stderr)

    def test_bad_metrics_auth_flag(self):
        process = self.run_crmd("--metrics-auth", "maybe", "--routes")
        self.assertEqual(2, process.returncode)
        self.assertIn("none or key", process.stderr)


if __name__ == "__main__":
    unittest.main()
