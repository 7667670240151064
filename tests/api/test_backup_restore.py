"""test_backup_restore.py - crmctl backup under write load, and crmctl restore.

The backup is taken while client threads keep creating records: it must pass
PRAGMA integrity_check and hold every record acknowledged before the backup started (it is
the snapshot of one moment: nothing after it, nothing half-written). crmctl restore must
refuse while crmd serves the database, refuse backups that are damaged, foreign or from a
newer schema (leaving the database untouched), and otherwise replace the database so that
crmd serves exactly the backup's records.
"""
import http.client
import os
import shutil
import sqlite3
import threading
import time

import harness


def count_rows(path, table="companies"):
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    finally:
        connection.close()


class Writers:
    """Client threads creating companies; records the acknowledged ids in order."""

    def __init__(self, server, key, threads=3):
        self.server, self.key = server, key
        self.acknowledged = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.failures = []
        self.threads = [threading.Thread(target=self.write, args=(n,)) for n in range(threads)]

    def write(self, number):
        sequence = 0
        while not self.stop.is_set():
            sequence += 1
            try:
                status, _, body = self.server.request(
                    "POST", "/api/v1/companies", {"name": "load-%d-%d" % (number, sequence)},
                    key=self.key)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(repr(error))
                return
            if status == 201:
                with self.lock:
                    self.acknowledged.append(body["id"])
            elif status != 503:
                self.failures.append((status, body))

    def snapshot(self):
        with self.lock:
            return set(self.acknowledged)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


class BackupRestoreTest(harness.ServerTestCase):
    def setUp(self):
        self.scratch = os.path.join(self.server.directory, "scratch-%s" % self._testMethodName)
        os.makedirs(self.scratch)
        if self.server.process is None:
            self.server.start()

    def tearDown(self):
        shutil.rmtree(self.scratch, ignore_errors=True)

    def backup_under_load(self, name="backup.db"):
        """Returns (path, ids acknowledged before the backup started, all acknowledged)."""
        path = os.path.join(self.scratch, name)
        with Writers(self.server, self.admin_key) as writers:
            deadline = time.time() + 10
            while len(writers.snapshot()) < 100 and time.time() < deadline:
                time.sleep(0.05)
            before = writers.snapshot()
            result = self.crmctl("backup", path)
            self.assertIn("backed up", result.stdout)
            time.sleep(0.3)  # writes go on after the backup
        self.assertEqual([], writers.failures)
        return path, before, set(writers.acknowledged)

    def test_backup_under_load_is_consistent_and_complete(self):
        path, before, everything = self.backup_under_load()
        self.assertGreaterEqual(len(before), 100)
        connection = sqlite3.connect(path)
        try:
            self.assertEqual([("ok",)], connection.execute("PRAGMA integrity_check").fetchall())
            stored = {row[0] for row in connection.execute("SELECT id FROM companies")}
            self.assertEqual(set(), before - stored, "acknowledged before the backup, not in it")
            # A snapshot: each record in it comes with its audit entry (one transaction).
            orphans = connection.execute(
                "SELECT count(*) FROM companies c WHERE NOT EXISTS (SELECT 1 FROM audit_log a"
                " WHERE a.entity = 'companies' AND a.entity_id = c.id)").fetchone()[0]
            self.assertEqual(0, orphans)
        finally:
            connection.close()
        self.assertLess(len(stored), len(everything) + 2, "more records than were ever created")
        self.assertFalse(os.path.exists(path + "-wal") and os.path.getsize(path + "-wal"),
                         "the backup was left with a write-ahead log")

    def test_backup_never_overwrites(self):
        path = os.path.join(self.scratch, "exists.db")
        with open(path, "w") as existing:
            existing.write("precious")
        result = self.crmctl("backup", path, check=False)
        self.assertEqual(1, result.returncode, result)
        with open(path) as existing:
            self.assertEqual("precious", existing.read())

    def test_restore_refuses_while_crmd_runs(self):
        path, _, _ = self.backup_under_load()
        rows = count_rows(self.server.db_path)
        result = self.crmctl("restore", path, check=False)
        self.assertEqual(1, result.returncode, result)
        self.assertIn("running crmd", result.stderr)
        self.assertEqual(1, len(result.stderr.strip().splitlines()), result.stderr)
        self.assertEqual(rows, count_rows(self.server.db_path))
        status, _, _ = self.api("GET", "/healthz")
        self.assertEqual(200, status)

    def test_restore_replaces_the_database_with_the_backup(self):
        path, before, everything = self.backup_under_load()
        backup_rows = count_rows(path)
        # Records made after the backup exist now and must be gone after the restore.
        status, _, late = self.api("POST", "/api/v1/companies", {"name": "after the backup"},
                                   key=self.admin_key)
        self.assertEqual(201, status)
        self.server.stop()
        self.assertGreater(count_rows(self.server.db_path), backup_rows)
        result = self.crmctl("restore", path)
        self.assertIn("restored", result.stdout)
        self.assertEqual(backup_rows, count_rows(self.server.db_path))
        for suffix in ("-wal", "-shm"):
            self.assertFalse(os.path.exists(self.server.db_path + suffix) and
                             os.path.getsize(self.server.db_path + suffix),
                             "a stale %s was left beside the restored database" % suffix)
        self.assertEqual([], [name for name in os.listdir(self.server.directory)
                              if ".restore-" in name], "temporary files left behind")
        self.server.start()
        status, _, _ = self.api("GET", "/api/v1/companies/%d" % late["id"], key=self.admin_key)
        self.assertEqual(404, status)
        for record_id in sorted(before)[:10] + sorted(before)[-10:]:
            status, _, body = self.api("GET", "/api/v1/companies/%d" % record_id,
                                       key=self.admin_key)
            self.assertEqual(200, status, body)
        status, _, body = self.api("POST", "/api/v1/companies", {"name": "after the restore"},
                                   key=self.admin_key)
        self.assertEqual(201, status, body)

    def assertRestoreRefused(self, path, message):
        rows = count_rows(self.server.db_path)
        result = self.crmctl("restore", path, check=False)
        self.assertEqual(1, result.returncode, result)
        self.assertIn(message, result.stderr)
        self.assertEqual(rows, count_rows(self.server.db_path))
        self.assertEqual([], [name for name in os.listdir(self.server.directory)
                              if ".restore-" in name], "temporary files left behind")

    def test_restore_checks_the_backup_first(self):
        path, _, _ = self.backup_under_load()
        self.server.stop()
        try:
            self.assertRestoreRefused(os.path.join(self.scratch, "missing.db"), "cannot read")
            garbage = os.path.join(self.scratch, "garbage.db")
            with open(garbage, "wb") as out:
                out.write(os.urandom(64 * 1024))
            self.assertRestoreRefused(garbage, "cannot be restored")
            truncated = os.path.join(self.scratch, "truncated.db")
            with open(path, "rb") as original, open(truncated, "wb") as out:
                data = original.read()
                out.write(data[:len(data) // 2])
            self.assertRestoreRefused(truncated, "cannot be restored")
            foreign = os.path.join(self.scratch, "foreign.db")
            with sqlite3.connect(foreign) as connection:
                connection.execute("CREATE TABLE notes (body TEXT)")
            connection.close()
            self.assertRestoreRefused(foreign, "not a CRM database")
            newer = os.path.join(self.scratch, "newer.db")
            shutil.copy(path, newer)
            with sqlite3.connect(newer) as connection:
                connection.execute("INSERT INTO schema_migrations (version, name)"
                                   " VALUES (9999, '9999_future.sql')")
            connection.close()
            self.assertRestoreRefused(newer, "newer")
            result = self.crmctl("restore", check=False)
            self.assertEqual(2, result.returncode, result)
        finally:
            self.server.start()
