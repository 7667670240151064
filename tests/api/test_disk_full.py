"""test_disk_full.py - a full disk answers 503, leaves nothing half-written, and crmd
recovers by itself once there is space again.

The database lives on a small file system of its own: a 4 MiB tmpfs (or, where tmpfs
cannot be mounted, an ext4 image on a loop device), which the test fills with a filler
file. Writes must then answer 503 problems (never 500, never a crash), reads go on, no
record is stored without its audit entry, and once the filler is gone writes succeed
again without a restart. Mounting needs root; without it the test is skipped, saying why.
"""
import errno
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

import harness

MOUNT_SIZE = "4m"


def run(*command):
    return subprocess.run(list(command), capture_output=True, text=True, timeout=60)


def mount_small_filesystem(directory):
    """Mounts a small file system on `directory`. Returns (how, None) or (None, why not)."""
    if os.geteuid() != 0:
        return None, "mounting a small file system needs root"
    tmpfs = run("mount", "-t", "tmpfs", "-o", "size=" + MOUNT_SIZE, "tmpfs", directory)
    if tmpfs.returncode == 0:
        return "tmpfs", None
    image = directory.rstrip("/") + ".img"
    steps = [("truncate", "-s", "8M", image), ("mkfs.ext4", "-q", "-F", image),
             ("mount", "-o", "loop", image, directory)]
    for step in steps:
        result = run(*step)
        if result.returncode != 0:
            return None, ("neither a tmpfs (%s) nor a loop file system (%s) can be mounted"
                          % (tmpfs.stderr.strip(), result.stderr.strip()))
    return "loop", None


class DiskFullTest(harness.ServerTestCase):
    mount_point = None

    @classmethod
    def setUpClass(cls):
        cls.base = tempfile.mkdtemp(prefix="crm-diskfull-")
        cls.mount_point = os.path.join(cls.base, "small")
        os.makedirs(cls.mount_point)
        cls.how, why = mount_small_filesystem(cls.mount_point)
        if not cls.how:
            shutil.rmtree(cls.base, ignore_errors=True)
            raise AssertionError("the disk-full tests cannot run: %s" % why)
        try:
            cls.server = harness.Server(db_path=os.path.join(cls.mount_point, "crm.db"))
            harness.crmctl(cls.server.db_path, "init")
            cls.admin_id, cls.admin_key = cls.make_user(cls.admin_email, "admin",
                                                        password=cls.admin_password)
            cls.server.start()
        except BaseException:
            cls.unmount()
            raise

    @classmethod
    def unmount(cls):
        if cls.server:
            cls.server.cleanup()
        if run("umount", cls.mount_point).returncode != 0:
            run("umount", "-l", cls.mount_point)
        shutil.rmtree(cls.base, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            cls.server.stop()
        finally:
            cls.unmount()

    def fill(self):
        """Fills the file system to the last byte; returns the filler's path."""
        filler = os.path.join(self.mount_point, "filler")
        with open(filler, "wb", buffering=0) as out:
            for size in (1 << 16, 1 << 12, 1 << 9, 1):
                while True:
                    try:
                        out.write(b"\0" * size)
                    except OSError as error:
                        self.assertEqual(errno.ENOSPC, error.errno)
                        break
        return filler

    def database_check(self):
        """integrity_check and the records without their audit entry (read while crmd runs)."""
        connection = sqlite3.connect("file:%s?mode=ro" % self.server.db_path, uri=True)
        try:
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
            orphans = connection.execute(
                "SELECT count(*) FROM companies c WHERE NOT EXISTS (SELECT 1 FROM audit_log a"
                " WHERE a.entity = 'companies' AND a.entity_id = c.id)").fetchone()[0]
            names = {row[0] for row in connection.execute("SELECT name FROM companies")}
            return verdict, orphans, names
        finally:
            connection.close()

    def create(self, name):
        return self.api("POST", "/api/v1/companies", {"name": name, "tags": ["disk"]},
                        key=self.admin_key)

    def test_full_disk_is_503_then_recovers(self):
        status, _, existing = self.create("before the disk filled up")
        self.assertEqual(201, status)
        filler = self.fill()
        try:
            acknowledged, refused = [], []
            for attempt in range(300):
                response = self.create("while full %d" % attempt)
                if response[0] == 201:
                    acknowledged.append(response[2]["name"])
                else:
                    body = self.assertProblem(response, 503)
                    self.assertIn("retry-after", response[1])
                    refused.append("while full %d" % attempt)
                    if len(refused) >= 5:
                        break
            self.assertGreaterEqual(len(refused), 5, "writes kept succeeding on a full disk")
            self.assertNotIn("database error", body["detail"])
            # A change to an existing record is refused the same way and leaves it as it was.
            response = self.api("PATCH", "/api/v1/companies/%d" % existing["id"],
                                {"industry": "Energy storage"}, key=self.admin_key)
            if response[0] != 200:
                self.assertProblem(response, 503)
                status, _, current = self.api("GET", "/api/v1/companies/%d" % existing["id"],
                                              key=self.admin_key)
                self.assertEqual(existing["version"], current["version"])
            # Reads go on.
            status, _, listing = self.api("GET", "/api/v1/companies?limit=5", key=self.admin_key)
            self.assertEqual(200, status, listing)
            self.assertEqual(200, self.api("GET", "/healthz")[0])
        finally:
            os.unlink(filler)
        verdict, orphans, names = self.database_check()
        self.assertEqual("ok", verdict)
        self.assertEqual(0, orphans, "records stored without their audit entry")
        self.assertEqual(set(), set(refused) & names, "a refused create was stored")
        self.assertEqual(set(), set(acknowledged) - names, "an acknowledged create was lost")
        # Space is back: the same running server writes again.
        status, _, body = self.create("after the disk was freed")
        self.assertEqual(201, status, body)
        status, _, body = self.api("GET", "/api/v1/companies/%d" % body["id"], key=self.admin_key)
        self.assertEqual(200, status)
        self.assertEqual("ok", self.database_check()[0])
        self.assertTrue(any("database write failed" in line for line in self.server.log),
                        "the failed writes were not logged")
