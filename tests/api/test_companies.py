"""test_companies.py - /api/v1/companies: name required, domain rules, defaults, filters
(industry, domain, owner_id, tag, updated_since), search, sorting and pages, replacement,
external ids, permissions, and what deleting a company does to its contacts."""
import sqlite3
import urllib.parse

import harness

COMPANIES = "/api/v1/companies"
CONTACTS = "/api/v1/contacts"


class CompaniesTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("crep@example.com", "rep", team="north")
        cls.manager_id, cls.manager_key = cls.make_user("cmgr@example.com", "manager",
                                                        team="north")
        cls.viewer_id, cls.viewer_key = cls.make_user("cviewer@example.com", "viewer")

    def create(self, body, key=None):
        status, headers, record = self.api("POST", COMPANIES, body, key=key or self.admin_key)
        self.assertEqual(201, status, record)
        self.assertEqual("/api/v1/companies/%d" % record["id"], headers["location"])
        return record

    def list_ids(self, query, key=None):
        ids, cursor = [], None
        while True:
            url = COMPANIES + "?" + query + "&limit=3"
            if cursor:
                url += "&cursor=" + urllib.parse.quote(cursor)
            status, _, body = self.api("GET", url, key=key or self.admin_key)
            self.assertEqual(200, status, body)
            ids += [record["id"] for record in body["data"]]
            cursor = body["next_cursor"]
            if not cursor:
                return ids

    def test_name_is_required(self):
        for body in ({}, {"name": None}, {"name": ""}, {"name": "   "}, {"domain": "x.com"}):
            self.assertProblem(self.api("POST", COMPANIES, body, key=self.admin_key), 422, "name")
        self.assertProblem(self.api("POST", COMPANIES, {"name": 3}, key=self.admin_key), 422,
                           "name")
        record = self.create({"name": "Named"})
        self.assertProblem(self.api("PATCH", "%s/%d" % (COMPANIES, record["id"]), {"name": None},
                                    key=self.admin_key), 422, "name")

    def test_defaults_and_normalization(self):
        record = self.create({"name": "  Acme Corp  ", "domain": " ACME.Example.COM ",
                              "tags": ["b2b", "b2b"], "custom": {"employees": 120}})
        self.assertEqual("Acme Corp", record["name"])
        self.assertEqual("acme.example.com", record["domain"])
        self.assertEqual(["b2b"], record["tags"])
        self.assertEqual({"employees": 120}, record["custom"])
        self.assertEqual(self.admin_id, record["owner_id"])
        self.assertIsNone(record["industry"])
        self.assertIsNone(record["external_id"])
        self.assertEqual(1, record["version"])

    def test_domain_must_be_a_host_name(self):
        for domain in ("http://acme.com", "acme", "acme..com", "-acme.com", "acme com.org",
                       "a@b.com", 12):
            self.assertProblem(self.api("POST", COMPANIES, {"name": "D", "domain": domain},
                                        key=self.admin_key), 422, "domain")

    def test_unknown_fields_are_422(self):
        self.assertProblem(self.api("POST", COMPANIES, {"name": "U", "website": "x"},
                                    key=self.admin_key), 422, "website")

    def test_filters_search_and_sort(self):
        made = [self.create({"name": name, "domain": domain, "industry": industry, "tags": tags})
                for name, domain, industry, tags in (
                    ("Filter Alpha", "alpha.example", "retail", ["f-vip"]),
                    ("Filter Beta", "beta.example", "retail", []),
                    ("Filter Gamma", None, "energy", ["f-vip", "f-new"]),
                    ("Filter Gamma", "gamma.example", None, ["f-new"]),
                    ("filter delta", "delta.example", "energy", []))]
        ids = [record["id"] for record in made]
        in_set = lambda query: [i for i in self.list_ids(query) if i in ids]
        self.assertEqual([ids[0], ids[1]], in_set("industry=retail"))
        self.assertEqual([ids[2], ids[4]], in_set("industry=energy"))
        self.assertEqual([ids[1]], in_set("domain=BETA.example"))
        self.assertEqual([ids[0], ids[2]], in_set("tag=f-vip"))
        self.assertEqual([ids[2]], in_set("tag=f-vip&industry=energy"))
        self.assertEqual(sorted(ids), sorted(in_set("q=filter")))
        self.assertEqual([ids[2], ids[3]], in_set("q=gam"))
        self.assertEqual([ids[4]], in_set("q=" + urllib.parse.quote("delta.example")))
        self.assertEqual(sorted(ids), sorted(in_set("owner_id=%d" % self.admin_id)))
        # binary order of names, ties by id; NULL domains first ascending, last descending
        self.assertEqual([ids[0], ids[1], ids[2], ids[3], ids[4]], in_set("sort=name"))
        self.assertEqual([ids[4], ids[3], ids[2], ids[1], ids[0]], in_set("sort=-name"))
        self.assertEqual([ids[2], ids[0], ids[1], ids[4], ids[3]], in_set("sort=domain"))
        self.assertEqual([ids[3], ids[4], ids[1], ids[0], ids[2]], in_set("sort=-domain"))
        for query in ("industry=", "domain=", "sort=custom", "sort=tags", "lifecycle=lead",
                      "company_id=1"):
            self.assertProblem(self.api("GET", COMPANIES + "?" + query, key=self.admin_key), 400)

    def test_search_follows_changes(self):
        record = self.create({"name": "Peregrine Falconry"})
        self.assertEqual([record["id"]], self.list_ids("q=peregr"))
        self.api("PATCH", "%s/%d" % (COMPANIES, record["id"]), {"name": "Osprey Optics"},
                 key=self.admin_key)
        self.assertEqual([], self.list_ids("q=peregr"))
        self.assertEqual([record["id"]], self.list_ids("q=osprey"))
        self.api("DELETE", "%s/%d" % (COMPANIES, record["id"]), key=self.admin_key)
        self.assertEqual([], self.list_ids("q=osprey"))

    def test_updated_since(self):
        record = self.create({"name": "Recent"})
        ids = self.list_ids("updated_since=" + urllib.parse.quote(record["updated_at"]))
        self.assertIn(record["id"], ids)
        self.assertEqual([], self.list_ids("updated_since=2999-01-01T00:00:00Z"))
        self.assertProblem(self.api("GET", COMPANIES + "?updated_since=2026-13-01T00:00:00Z",
                                    key=self.admin_key), 400)

    def test_put_replaces_and_keeps_owner(self):
        record = self.create({"name": "Old", "industry": "x", "tags": ["a"]}, key=self.rep_key)
        path = "%s/%d" % (COMPANIES, record["id"])
        status, _, replaced = self.api("PUT", path, {"name": "New"}, key=self.rep_key)
        self.assertEqual(200, status, replaced)
        self.assertEqual("New", replaced["name"])
        self.assertIsNone(replaced["industry"])
        self.assertEqual([], replaced["tags"])
        self.assertEqual(self.rep_id, replaced["owner_id"])
        self.assertEqual(2, replaced["version"])

    def test_external_id_upsert(self):
        path = COMPANIES + "/external/crm-old-7"
        status, _, created = self.api("PUT", path, {"name": "Synced"}, key=self.admin_key)
        self.assertEqual(201, status, created)
        status, _, again = self.api("PUT", path, {"name": "Synced"}, key=self.admin_key)
        self.assertEqual((200, 1), (status, again["version"]))
        self.assertProblem(self.api("POST", COMPANIES, {"name": "Dup",
                                                        "external_id": "crm-old-7"},
                                    key=self.admin_key), 409, "external_id")

    def test_permissions(self):
        mine = self.create({"name": "Rep Co"}, key=self.rep_key)
        admins = self.create({"name": "Admin Co"})
        self.assertProblem(self.api("PATCH", "%s/%d" % (COMPANIES, admins["id"]), {"name": "x"},
                                    key=self.rep_key), 403)
        self.assertEqual(200, self.api("PATCH", "%s/%d" % (COMPANIES, mine["id"]),
                                       {"industry": "mine"}, key=self.rep_key)[0])
        self.assertEqual(200, self.api("PATCH", "%s/%d" % (COMPANIES, mine["id"]),
                                       {"industry": "team"}, key=self.manager_key)[0])
        self.assertProblem(self.api("PATCH", "%s/%d" % (COMPANIES, admins["id"]), {"name": "x"},
                                    key=self.manager_key), 403)
        self.assertProblem(self.api("POST", COMPANIES, {"name": "V"}, key=self.viewer_key), 403)
        self.assertEqual(200, self.api("GET", "%s/%d" % (COMPANIES, admins["id"]),
                                       key=self.viewer_key)[0])
        self.assertProblem(self.api("DELETE", "%s/%d" % (COMPANIES, mine["id"]),
                                    key=self.rep_key), 403)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (COMPANIES, mine["id"]),
                                       key=self.manager_key)[0])

    def test_deleting_a_company_detaches_its_contacts(self):
        company = self.create({"name": "Gone Soon"})
        status, _, contact = self.api("POST", CONTACTS, {"first_name": "Left",
                                                         "company_id": company["id"]},
                                      key=self.admin_key)
        self.assertEqual(201, status, contact)
        self.assertEqual(204, self.api("DELETE", "%s/%d" % (COMPANIES, company["id"]),
                                       key=self.admin_key, headers={"If-Match": '"1"'})[0])
        status, _, contact = self.api("GET", "%s/%d" % (CONTACTS, contact["id"]),
                                      key=self.admin_key)
        self.assertIsNone(contact["company_id"])
        connection = sqlite3.connect(self.server.db_path, timeout=30)
        rows = connection.execute("SELECT count(*) FROM record_tags WHERE entity = 'companies' "
                                  "AND record_id = ?", (company["id"],)).fetchone()
        connection.close()
        self.assertEqual(0, rows[0])


class CompanySortPagingTest(harness.ServerTestCase):
    """Every sort key of companies, both directions, over pages of several sizes: the order
    of the whole list (NULLs first ascending, ties by id), nothing lost or repeated. The
    records share owners, names, industries and creation seconds, so every key has ties."""
    KEYS = ("owner_id", "name", "domain", "industry", "created_at", "updated_at", "id")

    @classmethod
    def setup_database(cls):
        cls.rep_id, cls.rep_key = cls.make_user("srep@example.com", "rep")
        cls.manager_id, cls.manager_key = cls.make_user("smgr@example.com", "manager")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keys = (cls.admin_key, cls.rep_key, cls.manager_key)
        for n in range(17):
            body = {"name": ["Acme", "Zeta", "Beta"][n % 3],
                    "domain": [None, "a.example", "b.example", "a.example"][n % 4],
                    "industry": [None, "retail", "energy"][n * 2 % 3]}
            status, _, record = cls.server.request("POST", COMPANIES, body,
                                                   key=keys[n * 5 % 3])
            assert status == 201, record

    def test_pages_follow_the_order_with_ties_by_id(self):
        status, _, body = self.api("GET", COMPANIES + "?limit=500", key=self.admin_key)
        self.assertEqual(200, status, body)
        records = body["data"]
        self.assertEqual(17, len(records))
        self.assertEqual({self.admin_id, self.rep_id, self.manager_id},
                         {record["owner_id"] for record in records})
        for field in self.KEYS:
            ordered = sorted(records, key=lambda record: (
                record[field] is not None, record[field] or 0, record["id"]))
            for descending in (False, True):
                expected = [record["id"] for record in
                            (reversed(ordered) if descending else ordered)]
                for limit in (1, 4, 50):
                    url = "%s?sort=%s%s&limit=%d" % (COMPANIES, "-" if descending else "",
                                                     field, limit)
                    ids, cursor = [], None
                    for _ in range(40):
                        status, _, page = self.api(
                            "GET", url + ("&cursor=" + urllib.parse.quote(cursor)
                                          if cursor else ""), key=self.admin_key)
                        self.assertEqual(200, status, page)
                        self.assertLessEqual(len(page["data"]), limit)
                        ids += [record["id"] for record in page["data"]]
                        cursor = page["next_cursor"]
                        if not cursor:
                            break
                    self.assertEqual(expected, ids, url)
