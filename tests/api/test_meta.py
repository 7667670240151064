"""test_meta.py - GET /api/v1/meta (include/crm/meta.h): the registered resources as the
descriptors say them (fields with types, flags, enums, lengths, references; filters, sorts,
range filters, search, events, permission name), the permission vocabulary and the roles;
authenticated, with an ETag and 304; and the OpenAPI document agrees with it on every enum
and field list."""
import harness


class MetaTest(harness.ServerTestCase):

    @classmethod
    def setup_database(cls):
        cls.viewer_id, cls.viewer_key = cls.make_user("viewer@example.com", "viewer")

    def meta(self, key=None):
        status, headers, meta = self.api("GET", "/api/v1/meta", key=key or self.viewer_key)
        self.assertEqual(200, status, meta)
        return headers, meta

    def resource(self, name):
        resources = {r["name"]: r for r in self.meta()[1]["resources"]}
        return resources[name]

    def field(self, resource, name):
        return [f for f in self.resource(resource)["fields"] if f["name"] == name][0]

    def test_needs_authentication(self):
        status, headers, body = self.api("GET", "/api/v1/meta")
        self.assertEqual(401, status, body)
        self.assertProblem(self.api("GET", "/api/v1/meta?x=1", key=self.viewer_key), 400)

    def test_resources_in_registration_order(self):
        names = [r["name"] for r in self.meta()[1]["resources"]]
        self.assertEqual(["contacts", "companies", "interactions", "tasks", "opportunities",
                          "purchases", "segments", "webhooks"], names)

    def test_contacts_as_the_descriptor_says(self):
        contacts = self.resource("contacts")
        self.assertEqual(("contact", "/api/v1/contacts", "contacts", "owner_id", True),
                         (contacts["singular"], contacts["path"], contacts["permission"],
                          contacts["owner_field"], contacts["external_id"]))
        self.assertEqual({"name": "lifecycle", "type": "enum", "flags": ["filter", "sort"],
                          "values": ["lead", "prospect", "customer", "churned"]},
                         self.field("contacts", "lifecycle"))
        self.assertEqual({"name": "email", "type": "email",
                          "flags": ["filter", "sort", "case_insensitive"], "max_length": 254},
                         self.field("contacts", "email"))
        self.assertEqual({"name": "relationship_level", "type": "integer",
                          "flags": ["filter", "sort"], "minimum": 1, "maximum": 6},
                         self.field("contacts", "relationship_level"))
        self.assertEqual({"name": "company_id", "type": "reference", "flags": ["filter", "sort"],
                          "references": "companies"}, self.field("contacts", "company_id"))
        self.assertEqual(["filter", "sort", "default_caller"],
                         self.field("contacts", "owner_id")["flags"])
        consent = self.field("contacts", "consent")
        self.assertEqual(["email", "recorded_at"], [m["name"] for m in consent["members"]])
        self.assertEqual(["first_name", "last_name", "email", "phone", "title", "company_id",
                          "owner_id", "lifecycle", "relationship_level", "tags", "source",
                          "consent", "external_id", "custom"],
                         [f["name"] for f in contacts["fields"]])
        self.assertEqual(["email", "company_id", "owner_id", "lifecycle", "relationship_level",
                          "tag", "updated_since"], contacts["filters"])
        self.assertEqual(["id", "created_at", "updated_at", "first_name", "last_name", "email",
                          "title", "company_id", "owner_id", "lifecycle", "relationship_level",
                          "source"], contacts["sorts"])
        self.assertEqual({"param": "q",
                          "columns": ["first_name", "last_name", "email", "phone", "title"]},
                         contacts["search"])
        self.assertEqual(["contact.created", "contact.updated", "contact.deleted",
                          "contact.merged", "contact.erased"], contacts["events"])

    def test_other_resources(self):
        interactions = self.resource("interactions")
        self.assertEqual(["call", "email", "meeting", "note", "ticket", "chat", "sms", "visit"],
                         self.field("interactions", "kind")["values"])
        self.assertIn("read_only", self.field("interactions", "user_id")["flags"])
        self.assertIn({"param": "since", "field": "occurred_at", "op": ">="},
                      interactions["range_filters"])
        self.assertEqual(["lead", "qualified", "proposal", "negotiation", "won", "lost"],
                         self.field("opportunities", "stage")["values"])
        self.assertIn("opportunity.stage_changed", self.resource("opportunities")["events"])
        self.assertIsNone(self.resource("purchases")["search"])
        self.assertEqual([], self.resource("webhooks")["events"])
        self.assertIn("write_only", self.field("webhooks", "secret")["flags"])
        self.assertIsNone(self.resource("webhooks")["owner_field"])

    def test_events_match_the_webhooks_list(self):
        status, _, events = self.api("GET", "/api/v1/webhooks/events", key=self.admin_key)
        self.assertEqual(200, status, events)
        from_meta = [e for r in self.meta()[1]["resources"] for e in r["events"]]
        self.assertEqual(events["data"], from_meta)

    def test_permission_vocabulary_and_roles(self):
        permissions = self.meta()[1]["permissions"]
        self.assertEqual(["contacts", "companies", "interactions", "tasks", "opportunities",
                          "purchases", "segments", "webhooks", "analytics", "users", "audit"],
                         [p["name"] for p in permissions["resources"]])
        self.assertEqual([True] * 8 + [False] * 3,
                         [p["resource"] for p in permissions["resources"]])
        self.assertEqual(["read", "write", "delete"], permissions["actions"])
        self.assertEqual(["all", "team", "own", "none"], permissions["scopes"])
        roles = self.meta()[1]["roles"]
        self.assertEqual(["admin", "manager", "rep", "viewer"],
                         [r["name"] for r in roles if r["builtin"]])
        self.assertNotIn("user_count", roles[0])
        self.crmctl("role", "create", "auditor", "--description", "reads the audit log")
        roles = self.meta()[1]["roles"]
        self.assertIn({"name": "auditor", "description": "reads the audit log",
                       "builtin": False}, roles)
        # a grant may name any permission name of the vocabulary, and no other
        self.crmctl("role", "grant", "auditor", "audit", "read", "all")
        refused = self.crmctl("role", "grant", "auditor", "spaceships", "read", "all",
                              check=False)
        self.assertNotEqual(0, refused.returncode)
        self.assertIn("contacts, companies, interactions, tasks, opportunities, purchases, "
                      "segments, webhooks, analytics, users, audit", refused.stderr)

    def test_etag_and_not_modified(self):
        headers, _ = self.meta()
        etag = headers["etag"]
        status, again, body = self.api("GET", "/api/v1/meta", key=self.viewer_key,
                                       headers={"If-None-Match": etag})
        self.assertEqual((304, etag, None), (status, again["etag"], body))
        status, _, _ = self.api("GET", "/api/v1/meta", key=self.viewer_key,
                                headers={"If-None-Match": '"other"'})
        self.assertEqual(200, status)
        self.crmctl("role", "create", "changes-the-answer")
        status, changed, _ = self.api("GET", "/api/v1/meta", key=self.viewer_key,
                                      headers={"If-None-Match": etag})
        self.assertEqual(200, status)
        self.assertNotEqual(etag, changed["etag"])

    def test_openapi_agrees_with_meta(self):
        status, _, document = self.api("GET", "/api/v1/openapi.json")
        self.assertEqual(200, status)
        schemas = document["components"]["schemas"]
        checked = 0
        for resource in self.meta()[1]["resources"]:
            singular = resource["singular"]
            schema = schemas[singular[0].upper() + singular[1:]]
            # the fields of meta are the properties of the record (a write-only one is in
            # the answer of its create)
            fields = [f["name"] for f in resource["fields"]]
            self.assertEqual(set(fields) | {"id", "created_at", "updated_at", "version"},
                             set(schema["properties"]), singular)
            for field in resource["fields"]:
                if field["type"] != "enum" or "write_only" in field["flags"]:
                    continue
                values = [v for v in schema["properties"][field["name"]]["enum"]
                          if v is not None]
                self.assertEqual(field["values"], values, "%s.%s" % (singular, field["name"]))
                checked += 1
        self.assertGreaterEqual(checked, 6)
        self.assertEqual(sorted(e for r in self.meta()[1]["resources"] for e in r["events"]),
                         sorted(document["webhooks"]))
