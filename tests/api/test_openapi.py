"""test_openapi.py - GET /api/v1/openapi.json: an OpenAPI 3.1 document that covers every
route the router knows (`crmd --routes`) and nothing else, is structurally valid (every
$ref resolves, every operation has its errors and security), describes the generic
resources from their descriptors, and matches what the server really answers.

A route without documentation fails test_every_route_is_documented with its name: add an
entry to openapi_entries[] in src/http/openapi_entries.c."""
import json
import os
import re
import subprocess
import tempfile
import time
import unittest

import jsonschema  # python3-jsonschema (scripts/install-deps test)

import harness
from test_openapi_lint import spectral

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
UNSAFE = ("post", "put", "patch", "delete")


def operations(document):
    """Yields (path, method, operation) for every operation of the document."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def resolve(document, reference):
    """The value a local $ref ("#/components/...") points at, or raises KeyError."""
    if not reference.startswith("#/"):
        raise KeyError("not a local reference: %s" % reference)
    value = document
    for part in reference[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        value = value[part]
    return value


def walk(value, path=""):
    """Yields (json path, key, member) for every member of every object, depth first."""
    if isinstance(value, dict):
        for key, member in value.items():
            yield path, key, member
            yield from walk(member, path + "/" + key)
    elif isinstance(value, list):
        for index, member in enumerate(value):
            yield from walk(member, "%s[%d]" % (path, index))


class OpenApiTest(harness.ServerTestCase):
    @classmethod
    def setup_database(cls):
        cls.routes = harness.crmd_routes()

    def setUp(self):
        status, headers, body = self.api("GET", "/api/v1/openapi.json")
        self.assertEqual(200, status, body)
        self.assertTrue(headers["content-type"].startswith("application/json"))
        self.document = body

    # ---------------------------------------------------------------- completeness

    def test_every_route_is_documented(self):
        self.assertGreater(len(self.routes), 10, self.routes)
        problems = []
        for method, pattern, _ in self.routes:
            operation = self.document["paths"].get(pattern, {}).get(method.lower())
            if operation is None:
                problems.append("%s %s: missing from the document" % (method, pattern))
            elif operation.get("x-undocumented"):
                problems.append("%s %s: not documented: add an entry to openapi_entries[] "
                                "in src/http/openapi_entries.c (or register it as a generic resource)"
                                % (method, pattern))
        self.assertEqual([], problems, "\n" + "\n".join(problems))

    def test_every_documented_operation_is_a_route(self):
        known = {(method.lower(), pattern) for method, pattern, _ in self.routes}
        extra = ["%s %s" % (method.upper(), path) for path, method, _ in operations(self.document)
                 if (method, path) not in known]
        self.assertEqual([], extra, "documented but not served: %s" % extra)

    def test_document_is_served_without_credentials_and_names_the_version(self):
        status, _, body = self.api("GET", "/api/v1/openapi.json", key="not-a-key")
        # a public route ignores credentials altogether
        self.assertEqual(200, status)
        version = subprocess.run([harness.CRMD, "--version"], capture_output=True, text=True,
                                 env=harness.ENV).stdout.split()[-1]
        self.assertEqual(version, body["info"]["version"])

    # ---------------------------------------------------------------- structure

    def test_structure(self):
        document = self.document
        self.assertEqual("3.1.0", document["openapi"])
        self.assertTrue(document["info"]["title"])
        for section in ("schemas", "responses", "parameters", "securitySchemes"):
            self.assertIn(section, document["components"])
        self.assertIn("Problem", document["components"]["schemas"])
        for path in document["paths"]:
            self.assertTrue(path.startswith("/"), path)
        invalid = [(path, key) for path, key, _ in walk(document) if key.startswith("x-invalid")]
        self.assertEqual([], invalid, "the generator could not read a table entry")

    def test_every_ref_resolves(self):
        unresolved = []
        count = 0
        for path, key, member in walk(self.document):
            if key != "$ref":
                continue
            count += 1
            try:
                resolve(self.document, member)
            except (KeyError, TypeError):
                unresolved.append("%s -> %s" % (path, member))
        self.assertGreater(count, 50)
        self.assertEqual([], unresolved)

    def test_no_unused_schemas(self):
        used = {member for _, key, member in walk(self.document) if key == "$ref"}
        unused = [name for name in self.document["components"]["schemas"]
                  if "#/components/schemas/" + name not in used]
        self.assertEqual([], unused)

    def test_operations_are_complete(self):
        flags = {(method.lower(), pattern): route_flags
                 for method, pattern, route_flags in self.routes}
        problems = []
        operation_ids = {}
        for path, method, operation in operations(self.document):
            if operation.get("x-undocumented"):
                continue  # test_every_route_is_documented names it
            name = "%s %s" % (method.upper(), path)
            for member in ("operationId", "summary", "tags", "responses", "security"):
                if member not in operation:
                    problems.append("%s: no %s" % (name, member))
            operation_id = operation.get("operationId")
            if operation_id in operation_ids:
                problems.append("%s: operationId %s also on %s"
                                % (name, operation_id, operation_ids[operation_id]))
            operation_ids[operation_id] = name
            responses = operation.get("responses", {})
            if not any(code.startswith("2") for code in responses):
                problems.append("%s: no success response" % name)
            public = "public" in flags.get((method, path), set())
            security = operation.get("security")
            if public:
                if security != []:
                    problems.append("%s: a public route needs security: []" % name)
            else:
                schemes = [set(requirement) for requirement in security or []]
                if {"bearerKey"} not in schemes:
                    problems.append("%s: no bearer key security" % name)
                wants_csrf = method in UNSAFE and "no-csrf" not in flags.get((method, path), set())
                cookie = {"sessionCookie", "csrfToken"} if wants_csrf else {"sessionCookie"}
                if cookie not in schemes:
                    problems.append("%s: expected the cookie requirement %s" % (name, cookie))
                for code in ("401", "503"):
                    if code not in responses:
                        problems.append("%s: no %s response" % (name, code))
                if method in UNSAFE and "403" not in responses:
                    problems.append("%s: no 403 response" % name)
            if "requestBody" in operation:
                for code in ("400", "413", "415", "422"):
                    if code not in responses:
                        problems.append("%s: a body but no %s response" % (name, code))
            for code, response in responses.items():
                if "$ref" in response:
                    response = resolve(self.document, response["$ref"])
                self.assertIn("description", response, "%s %s" % (name, code))
                if code[0] in "45":
                    content = response.get("content", {})
                    schema = content.get("application/problem+json", {}).get("schema", {})
                    if schema.get("$ref") != "#/components/schemas/Problem":
                        problems.append("%s: %s is not a problem+json answer" % (name, code))
            declared = {(parameter.get("name"), parameter.get("in"))
                        for parameter in (resolve(self.document, p["$ref"]) if "$ref" in p else p
                                          for p in operation.get("parameters", []))}
            for captured in re.findall(r"\{([^}]+)\}", path):
                if (captured, "path") not in declared:
                    problems.append("%s: path parameter %s not declared" % (name, captured))
        self.assertEqual([], problems, "\n" + "\n".join(problems))

    def test_validates_as_openapi_3_1(self):
        """Against the OpenAPI 3.1 JSON Schema, as Spectral's oas3-schema rule checks it
        (the linters of tests/lint; test_openapi_lint.py runs all their rules)."""
        path = self.write_document()
        results = spectral(path)
        self.assertEqual([], [result for result in results if result[0] == "oas3-schema"])

    def write_document(self):
        handle, path = tempfile.mkstemp(prefix="openapi-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(self.document, out)
        self.addCleanup(os.unlink, path)
        return path

    # ---------------------------------------------------------------- generic resources

    def schema(self, name):
        return self.document["components"]["schemas"][name]

    def test_contact_schemas_follow_the_descriptor(self):
        contact = self.schema("Contact")
        properties = contact["properties"]
        for member in ("id", "created_at", "updated_at", "version", "email", "lifecycle",
                       "relationship_level", "tags", "consent", "custom", "owner_id"):
            self.assertIn(member, properties)
            self.assertIn(member, contact["required"])
        self.assertTrue(properties["id"]["readOnly"])
        self.assertEqual("email", properties["email"]["format"])
        self.assertEqual(["lead", "prospect", "customer", "churned", None],
                         properties["lifecycle"]["enum"])
        self.assertEqual((1, 6), (properties["relationship_level"]["minimum"],
                                  properties["relationship_level"]["maximum"]))
        self.assertEqual("array", properties["tags"]["type"])
        self.assertEqual({"email", "recorded_at"}, set(properties["consent"]["properties"]))
        self.assertEqual("companies", properties["company_id"]["x-references"])

        contact_input = self.schema("ContactInput")
        self.assertFalse(contact_input["additionalProperties"])
        self.assertNotIn("id", contact_input["properties"])
        self.assertNotIn("version", contact_input["properties"])
        self.assertIn("email", contact_input["properties"])
        patch = self.schema("ContactPatch")
        self.assertNotIn("required", patch)
        self.assertFalse(patch["additionalProperties"])

        company_input = self.schema("CompanyInput")
        self.assertEqual(["name"], company_input["required"])

    def test_list_parameters_follow_the_descriptor(self):
        operation = self.document["paths"]["/api/v1/contacts"]["get"]
        names = set()
        for parameter in operation["parameters"]:
            if "$ref" in parameter:
                parameter = resolve(self.document, parameter["$ref"])
            names.add(parameter["name"])
            if parameter["name"] == "sort":
                self.assertIn("-email", parameter["schema"]["enum"])
                self.assertIn("created_at", parameter["schema"]["enum"])
                self.assertNotIn("phone", parameter["schema"]["enum"])
        for expected in ("limit", "cursor", "sort", "q", "tag", "updated_since", "owner_id",
                         "company_id", "lifecycle", "email"):
            self.assertIn(expected, names)
        self.assertNotIn("phone", names)

    def test_generic_operations_have_their_statuses(self):
        paths = self.document["paths"]
        created = paths["/api/v1/contacts"]["post"]["responses"]["201"]
        self.assertIn("Location", created["headers"])
        self.assertIn("ETag", created["headers"])
        self.assertIn("409", paths["/api/v1/contacts"]["post"]["responses"])
        self.assertIn("412", paths["/api/v1/contacts/{id}"]["patch"]["responses"])
        self.assertIn("404", paths["/api/v1/contacts/{id}"]["get"]["responses"])
        self.assertIn("204", paths["/api/v1/contacts/{id}"]["delete"]["responses"])
        put = paths["/api/v1/contacts/external/{external_id}"]["put"]["responses"]
        self.assertIn("200", put)
        self.assertIn("201", put)
        login = paths["/api/v1/auth/login"]["post"]
        self.assertEqual([], login["security"])
        self.assertIn("429", login["responses"])

    # ---------------------------------------------------------------- the real answers

    def validate(self, name, instance):
        self.assertMatchesSchema(self.document, name, instance)

    def test_answers_match_the_schemas(self):
        status, _, company = self.api("POST", "/api/v1/companies",
                                      {"name": "Schema Ltd", "tags": ["a"]}, key=self.admin_key)
        self.assertEqual(201, status, company)
        self.validate("Company", company)
        status, _, contact = self.api(
            "POST", "/api/v1/contacts",
            {"first_name": "Ada", "email": "ada@example.com", "company_id": company["id"],
             "lifecycle": "lead", "consent": {"email": True}, "custom": {"x": 1}},
            key=self.admin_key)
        self.assertEqual(201, status, contact)
        self.validate("Contact", contact)
        self.validate("ContactInput", {"first_name": "Ada", "email": "ada@example.com"})
        status, _, page = self.api("GET", "/api/v1/contacts?limit=5", key=self.admin_key)
        self.validate("ContactList", page)
        status, _, me = self.api("GET", "/api/v1/auth/me", key=self.admin_key)
        self.validate("Me", me)
        status, _, users = self.api("GET", "/api/v1/users", key=self.admin_key)
        self.validate("UserList", users)
        problem = self.api("GET", "/api/v1/contacts/999999", key=self.admin_key)[2]
        self.validate("Problem", problem)
        problem = self.api("POST", "/api/v1/contacts", {"email": "bad"}, key=self.admin_key)[2]
        self.validate("Problem", problem)
        # the routes beyond the generic resources
        reads = [
            ("/api/v1/pipeline", "/api/v1/pipeline", "Pipeline"),
            ("/api/v1/contacts/{id}/timeline", "/api/v1/contacts/%d/timeline" % contact["id"],
             "TimelinePage"),
            ("/api/v1/contacts/{id}/analytics", "/api/v1/contacts/%d/analytics" % contact["id"],
             "ContactAnalytics"),
            ("/api/v1/analytics/ltv", "/api/v1/analytics/ltv", "LtvRanking"),
            ("/api/v1/analytics/tiers", "/api/v1/analytics/tiers", "Tiers"),
            ("/api/v1/analytics/summary", "/api/v1/analytics/summary", "AnalyticsSummary"),
        ]
        for pattern, path, schema in reads:
            self.assertIn("get", self.document["paths"][pattern])
            status, _, body = self.api("GET", path, key=self.admin_key)
            self.assertEqual(200, status, "%s: %r" % (path, body))
            self.validate(schema, body)
        self.assertIn("post", self.document["paths"]["/api/v1/segments/preview"])
        status, _, body = self.api(
            "POST", "/api/v1/segments/preview",
            {"rule": {"field": "first_name", "op": "eq", "value": "Ada"}}, key=self.admin_key)
        self.assertEqual(200, status, body)
        self.validate("SegmentPreview", body)

    def test_fields_that_default_are_optional_in_bodies(self):
        """occurred_at defaults to now (and owner_id to the caller): a body without it is
        what the document calls a valid InteractionInput, and the server takes it."""
        status, _, contact = self.api("POST", "/api/v1/contacts", {"first_name": "Dee"},
                                      key=self.admin_key)
        self.assertEqual(201, status, contact)
        for path, name, body in (
                ("/api/v1/interactions", "InteractionInput",
                 {"contact_id": contact["id"], "kind": "note"}),
                ("/api/v1/purchases", "PurchaseInput",
                 {"contact_id": contact["id"], "amount_cents": 1000})):
            self.assertNotIn("occurred_at", self.schema(name).get("required", []), name)
            self.validate(name, body)
            status, _, record = self.api("POST", path, body, key=self.admin_key)
            self.assertEqual(201, status, record)
            self.assertTrue(record["occurred_at"])

    def test_wrong_schema_is_detected(self):
        """The schema check above can fail: a record with a bad type does not pass."""
        with self.assertRaises(AssertionError):
            self.validate("Contact", {"id": "seven"})

    # ---------------------------------------------------------------- webhooks

    def test_webhooks_section_has_every_event_and_nothing_else(self):
        status, _, events = self.api("GET", "/api/v1/webhooks/events", key=self.admin_key)
        self.assertEqual(200, status, events)
        self.assertGreater(len(events["data"]), 10)
        webhooks = self.document.get("webhooks", {})
        self.assertEqual(sorted(events["data"]), sorted(webhooks),
                         "the webhooks section and GET /api/v1/webhooks/events differ")
        paths_ids = {operation.get("operationId") for _, _, operation in operations(self.document)}
        seen_ids = set()
        for event, item in webhooks.items():
            self.assertEqual(["post"], list(item), event)
            post = item["post"]
            self.assertNotIn(post["operationId"], paths_ids | seen_ids, event)
            seen_ids.add(post["operationId"])
            self.assertEqual(["webhooks"], post["tags"])
            headers = {parameter["name"]: parameter for parameter in post["parameters"]}
            self.assertTrue(all(parameter["in"] == "header" and parameter["required"]
                                for parameter in headers.values()), event)
            self.assertEqual({"X-CRM-Event", "X-CRM-Delivery", "X-CRM-Signature", "User-Agent"},
                             set(headers), event)
            self.assertEqual(event, headers["X-CRM-Event"]["schema"]["const"])
            self.assertIn("<t>.<raw body>", headers["X-CRM-Signature"]["description"])
            schema = post["requestBody"]["content"]["application/json"]["schema"]
            self.assertTrue(post["requestBody"]["required"])
            self.assertEqual(event, schema["properties"]["event"]["const"])
            self.assertLessEqual({"id", "event", "occurred_at", "data"}, set(schema["required"]))
            self.assertEqual(event.endswith(".updated") or event == "opportunity.stage_changed",
                             "previous" in schema["properties"], event)
            self.assertEqual(["2XX", "default"], sorted(post["responses"]), event)
        # data refers to the resource's record schema where there is one
        body = "requestBody"
        data = {event: webhooks[event]["post"][body]["content"]["application/json"]["schema"]
                ["properties"]["data"] for event in webhooks}
        self.assertEqual({"$ref": "#/components/schemas/Contact"}, data["contact.updated"])
        self.assertEqual("#/components/schemas/Opportunity", data["opportunity.won"]["$ref"])
        self.assertEqual("#/components/schemas/Segment", data["segment.deleted"]["$ref"])
        self.assertEqual(["segment_id", "contact_id"], data["segment.member_added"]["required"])
        self.assertEqual(["id", "erased_at"], data["contact.erased"]["required"])

    # ---------------------------------------------------------------- the readable page

    def test_api_page_is_served_and_csp_safe(self):
        status, headers, page = self.api("GET", "/api.html")
        self.assertEqual(200, status)
        self.assertTrue(headers["content-type"].startswith("text/html"))
        self.assertIn('src="/js/api-docs.js"', page)
        self.assertNotRegex(page, r"<script(?![^>]*\bsrc=)[^>]*>", "inline script")
        self.assertNotIn(" style=", page)
        status, headers, script = self.api("GET", "/js/api-docs.js")
        self.assertEqual(200, status)
        self.assertTrue(headers["content-type"].startswith("text/javascript"))
        self.assertIn("/api/v1/openapi.json", script)
        for unsafe in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(", "document.write"):
            self.assertNotIn(unsafe, script)


class WebhookPayloadsMatchTheDocumentTest(harness.ServerTestCase):
    """Real deliveries (to a receiver on loopback) match the document's webhooks section:
    the headers webhook_delivery.c sends and the payload of each kind of event."""

    @classmethod
    def setup_database(cls):
        harness.crmctl(cls.server.db_path, "webhook", "private", "on")

    def post(self, path, body):
        status, _, record = self.api("POST", path, body, key=self.admin_key)
        self.assertIn(status, (200, 201), "%s: %r" % (path, record))
        return record

    def check(self, document, headers, body):
        """The validation errors of one received request against the document."""
        payload = json.loads(body)
        event = headers.get("x-crm-event")
        item = document["webhooks"].get(event)
        if item is None:
            return ["%s: not in the webhooks section" % event]
        post = item["post"]
        problems = []
        for parameter in post["parameters"]:
            value = headers.get(parameter["name"].lower())
            if value is None:
                problems.append("%s: header %s missing" % (event, parameter["name"]))
                continue
            if parameter["schema"].get("type") == "integer":
                value = int(value) if re.fullmatch(r"[0-9]+", value) else value
            problems += ["%s: header %s: %s" % (event, parameter["name"], error.message)
                         for error in self.validator(document, parameter["schema"])
                         .iter_errors(value)]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        problems += ["%s: %s: %s" % (event, list(error.path), error.message)
                     for error in self.validator(document, schema).iter_errors(payload)]
        return problems

    @staticmethod
    def validator(document, schema):
        root = dict(document)
        root.update(schema)
        return jsonschema.Draft202012Validator(root)

    def test_deliveries_match_the_webhooks_section(self):
        from test_webhooks import Receiver
        receiver = Receiver()
        self.addCleanup(receiver.close)
        self.post("/api/v1/webhooks", {"url": receiver.url(), "events": ["*"]})
        document = self.api("GET", "/api/v1/openapi.json")[2]
        kept = self.post("/api/v1/contacts", {"first_name": "Kept", "email": "k@example.com"})
        other = self.post("/api/v1/contacts", {"first_name": "Other"})
        status, _, _ = self.api("PATCH", "/api/v1/contacts/%d" % kept["id"],
                                {"last_name": "Smith", "tags": ["vip"]}, key=self.admin_key)
        self.assertEqual(200, status)
        deal = self.post("/api/v1/opportunities", {"name": "Deal", "stage": "lead",
                                                   "contact_id": kept["id"]})
        status, _, _ = self.api("PATCH", "/api/v1/opportunities/%d" % deal["id"],
                                {"stage": "won"}, key=self.admin_key)
        self.assertEqual(200, status)
        segment = self.post("/api/v1/segments", {"name": "Hand-picked", "kind": "static"})
        self.post("/api/v1/segments/%d/members" % segment["id"], {"contact_ids": [other["id"]]})
        self.post("/api/v1/contacts/%d/merge" % kept["id"], {"from": [other["id"]]})
        doomed = self.post("/api/v1/companies", {"name": "Gone Ltd"})
        status, _, _ = self.api("DELETE", "/api/v1/companies/%d" % doomed["id"],
                                key=self.admin_key)
        self.assertEqual(204, status)
        wanted = {"contact.created", "contact.updated", "opportunity.created",
                  "opportunity.stage_changed", "opportunity.won", "segment.created",
                  "segment.member_added", "contact.merged", "company.deleted"}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            received = {headers.get("x-crm-event") for headers, _, _ in receiver.requests}
            if wanted <= received:
                break
            time.sleep(0.1)
        # erase last: it purges undelivered events that mention the person
        status, _, _ = self.api("POST", "/api/v1/contacts/%d/erase" % kept["id"],
                                key=self.admin_key, raw=b"{}")
        self.assertEqual(204, status)
        wanted.add("contact.erased")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            received = {headers.get("x-crm-event") for headers, _, _ in receiver.requests}
            if wanted <= received:
                break
            time.sleep(0.1)
        self.assertLessEqual(wanted, received)
        problems = []
        for headers, body, _ in list(receiver.requests):
            problems += self.check(document, headers, body)
        self.assertEqual([], problems, "\n" + "\n".join(problems))
        # the check can fail: a payload without data, or with another event's name, does not pass
        headers, body, _ = receiver.requests[0]
        payload = json.loads(body)
        del payload["data"]
        self.assertTrue(self.check(document, headers, json.dumps(payload)))
        payload = json.loads(body)
        payload["event"] = "contact.nonsense"
        self.assertTrue(self.check(document, headers, json.dumps(payload)))
        self.assertTrue(self.check(document, dict(headers, **{"x-crm-signature": "v1=abc"}),
                                   body))


if __name__ == "__main__":
    unittest.main()
