"""test_write_batch.py - group commit (write_batch.h): crmd runs the generic resources' writes
of many connections in one transaction, each request in a savepoint of its own. Under
concurrent writes every 201 is stored exactly as answered (with its audit entry), a request
that fails (422, 409, 412) stores nothing and takes nothing of the others with it, If-Match
still lets exactly one of two writers win, and an Idempotency-Key repeated within one batch
creates one record."""
import os
import threading
import time

import harness

CONTACTS = "/api/v1/contacts"


def run_concurrently(count, work):
    """Runs work(i) for i in range(count) on `count` threads started together; returns
    the results in order."""
    results = [None] * count
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


class WriteBatchTest(harness.ServerTestCase):
    def contact_count(self):
        return harness.sql_rows(self.server.db_path, "SELECT count(*) FROM contacts")[0][0]

    def test_concurrent_creates_keep_good_and_refuse_bad(self):
        before = self.contact_count()
        status, _, taken = self.api("POST", CONTACTS, {"first_name": "Taken", "external_id": "wb-taken"},
                                    key=self.admin_key)
        self.assertEqual(201, status, taken)

        def body(i):
            if i % 5 == 1:
                return {"first_name": "Bad%d" % i, "email": "not an email"}      # 422
            if i % 5 == 3:
                return {"first_name": "Dup%d" % i, "external_id": "wb-taken"}     # 409
            return {"first_name": "Good%d" % i, "last_name": "Batch",
                    "external_id": "wb-%d" % i}

        def work(i):
            answers = []
            for round_ in range(4):
                n = i * 4 + round_
                answers.append((n, self.api("POST", CONTACTS, body(n), key=self.admin_key)))
            return answers

        answers = [a for per_thread in run_concurrently(24, work) for a in per_thread]
        created = {}
        for n, (status, headers, record) in answers:
            if n % 5 == 1:
                self.assertProblem((status, headers, record), 422, "email")
            elif n % 5 == 3:
                self.assertProblem((status, headers, record), 409, "external_id")
            else:
                self.assertEqual(201, status, record)
                self.assertEqual("Good%d" % n, record["first_name"])
                created[record["id"]] = n
        self.assertEqual(len([n for n, _ in answers if n % 5 not in (1, 3)]), len(created))
        self.assertEqual(before + 1 + len(created), self.contact_count())
        for contact_id, n in created.items():
            status, _, record = self.api("GET", "%s/%d" % (CONTACTS, contact_id), key=self.admin_key)
            self.assertEqual(200, status)
            self.assertEqual("wb-%d" % n, record["external_id"])
        stored = harness.sql_rows(self.server.db_path, "SELECT first_name FROM contacts "
                                  "WHERE first_name LIKE 'Bad%' OR first_name LIKE 'Dup%'")
        self.assertEqual([], stored)
        audited = harness.sql_rows(
            self.server.db_path,
            "SELECT count(*) FROM audit_log WHERE entity = 'contacts' AND action = 'create' "
            "AND entity_id IN (%s)" % ",".join(str(i) for i in created))[0][0]
        self.assertEqual(len(created), audited)
        # The writes were batched: fewer transactions than requests (/metrics).
        status, _, text = self.api("GET", "/metrics")
        self.assertEqual(200, status)
        counters = dict(line.split(" ", 1) for line in text.splitlines()
                        if line.startswith("crmd_write_batch"))
        batches = int(counters["crmd_write_batches_total"])
        requests = int(counters["crmd_write_batch_requests_total"])
        self.assertGreaterEqual(requests, len(answers) + 1)
        self.assertLess(batches, requests)

    def test_if_match_lets_one_of_many_writers_win(self):
        status, _, contact = self.api("POST", CONTACTS, {"first_name": "Contested"},
                                      key=self.admin_key)
        self.assertEqual(201, status)
        path = "%s/%d" % (CONTACTS, contact["id"])

        def work(i):
            return self.api("PATCH", path, {"title": "Writer %d" % i}, key=self.admin_key,
                            headers={"If-Match": '"%d"' % contact["version"]})

        answers = run_concurrently(16, work)
        statuses = sorted(status for status, _, _ in answers)
        self.assertEqual([200] + [412] * 15, statuses)
        winner = [record for status, _, record in answers if status == 200][0]
        status, _, stored = self.api("GET", path, key=self.admin_key)
        self.assertEqual(winner["title"], stored["title"])
        self.assertEqual(contact["version"] + 1, stored["version"])

    def test_idempotency_key_repeated_in_one_batch_creates_once(self):
        before = self.contact_count()

        def work(i):
            return self.api("POST", CONTACTS, {"first_name": "Once"}, key=self.admin_key,
                            headers={"Idempotency-Key": "wb-once"})

        answers = run_concurrently(12, work)
        self.assertEqual({201}, {status for status, _, _ in answers})
        self.assertEqual(1, len({record["id"] for _, _, record in answers}))
        replayed = [h for _, h, _ in answers if h.get("idempotent-replayed") == "true"]
        self.assertEqual(11, len(replayed))
        self.assertEqual(before + 1, self.contact_count())

    def test_deletes_and_creates_mixed(self):
        ids = []
        for i in range(20):
            status, _, record = self.api("POST", CONTACTS, {"first_name": "Gone%d" % i},
                                         key=self.admin_key)
            self.assertEqual(201, status)
            ids.append(record["id"])

        def work(i):
            if i < 20:
                return self.api("DELETE", "%s/%d" % (CONTACTS, ids[i]), key=self.admin_key)
            return self.api("POST", CONTACTS, {"first_name": "New%d" % i}, key=self.admin_key)

        answers = run_concurrently(30, work)
        self.assertEqual([204] * 20, [status for status, _, _ in answers[:20]])
        self.assertEqual([201] * 10, [status for status, _, _ in answers[20:]])
        # Gone: 404 (ids are never reused, not even by the creates of the same batch)
        for contact_id in ids:
            status, _, got = self.api("GET", "%s/%d" % (CONTACTS, contact_id), key=self.admin_key)
            self.assertEqual(404, status, got)


class CheckpointerTest(harness.ServerTestCase):
    """WAL checkpoints run in crmd's checkpoint thread (checkpointer.h), not in the commits
    of requests: the WAL is still checkpointed, and its file stays bounded."""

    def metric(self, name):
        status, _, text = self.api("GET", "/metrics")
        self.assertEqual(200, status)
        for line in text.splitlines():
            if line.startswith(name + " "):
                return int(line.split()[1])
        self.fail("no metric " + name)

    def test_wal_is_checkpointed_and_bounded(self):
        before = self.metric("crmd_wal_checkpoints_total")
        for round_ in range(6):
            def work(i):
                return self.api("POST", CONTACTS, {"first_name": "Wal%d" % i, "last_name": "X" * 80,
                                                   "tags": ["t%d" % k for k in range(20)]},
                                key=self.admin_key)[0]
            self.assertEqual({201}, set(run_concurrently(50, work)))
        deadline = time.monotonic() + 15
        while self.metric("crmd_wal_checkpoints_total") == before and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertGreater(self.metric("crmd_wal_checkpoints_total"), before)
        wal = self.server.db_path + "-wal"
        self.assertLess(os.path.getsize(wal), 64 * 1024 * 1024)
        verdict = harness.sql_rows(self.server.db_path, "PRAGMA integrity_check")[0][0]
        self.assertEqual("ok", verdict)
