"""test_openapi_lint.py - the OpenAPI document crmd serves (GET /api/v1/openapi.json) passes
Redocly's `recommended` rules and Spectral's `spectral:oas` ruleset with no error and no
warning. The linters are pinned in tests/lint/package-lock.json and installed by
`scripts/install-deps test` (npm ci); when they are missing the tests fail and say so.

One kind of warning is accepted, and checked against the router instead: Redocly's
no-ambiguous-paths for /<resources>/external/{external_id} against /<resources>/{id}/<name>.
Both shapes are part of the API (docs/API.md); crmd resolves the overlap by the rule OpenAPI
itself states for matching, a literal segment before a template, from the left: the path
/<resources>/external/<name> is only ever the external_id route ("external" is never an id).
"""
import json
import os
import re
import subprocess
import tempfile
import unittest

import harness

LINT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lint"))
LINT_ENV = dict(os.environ, REDOCLY_TELEMETRY="off", REDOCLY_SUPPRESS_UPDATE_NOTICE="true",
                NO_COLOR="1")
AMBIGUOUS = re.compile(r"Found two ambiguous paths: `(/api/v1/[a-z_-]+)/external/\{external_id\}` "
                       r"and `\1/\{id\}/([a-z_-]+)`\.$")


def tool(name):
    """The path of a linter's command; fails the test when it is not installed."""
    path = os.path.join(LINT, "node_modules", ".bin", name)
    if not os.access(path, os.X_OK):
        raise AssertionError("%s is not installed in tests/lint: run scripts/install-deps test "
                             "(npm ci in tests/lint)" % name)
    return path


def redocly(path):
    """Redocly's problems for the document at `path`: [(rule, severity, message, pointer)]."""
    process = subprocess.run(
        [tool("redocly"), "lint", "--config", os.path.join(LINT, "redocly.yaml"),
         "--format=json", path], cwd=LINT, env=LINT_ENV, capture_output=True, text=True,
        timeout=600)
    try:
        report = json.loads(process.stdout)
    except ValueError:
        raise AssertionError("redocly gave no report (exit %d): %s %s" % (
            process.returncode, process.stdout[-2000:], process.stderr[-2000:]))
    return [(problem["ruleId"], problem["severity"], problem["message"],
             (problem.get("location") or [{}])[0].get("pointer"))
            for problem in report["problems"]]


def spectral(path):
    """Spectral's results for the document at `path`: [(rule, severity, message, path)];
    severity 0 is an error, 1 a warning, 2 information, 3 a hint."""
    process = subprocess.run(
        [tool("spectral"), "lint", "--ruleset", os.path.join(LINT, ".spectral.yaml"),
         "--format", "json", "--fail-severity", "hint", path], cwd=LINT, env=LINT_ENV,
        capture_output=True, text=True, timeout=600)
    text = process.stdout
    try:  # the JSON array, then (when it is empty) a sentence saying so
        results = json.JSONDecoder().raw_decode(text, text.index("["))[0]
    except ValueError:
        results = None
    if not isinstance(results, list) or (process.returncode != 0 and not results):
        raise AssertionError("spectral gave no report (exit %d): %s %s" % (
            process.returncode, process.stdout[-2000:], process.stderr[-2000:]))
    return [(result["code"], result["severity"], result["message"],
             "/".join(str(part) for part in result.get("path", [])))
            for result in results]


class OpenApiLintTest(harness.ServerTestCase):
    def setUp(self):
        status, _, self.document = self.api("GET", "/api/v1/openapi.json")
        self.assertEqual(200, status)
        self.path = self.write(self.document)

    def write(self, document):
        handle, path = tempfile.mkstemp(prefix="openapi-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(document, out)
        self.addCleanup(os.unlink, path)
        return path

    def test_redocly_recommended_finds_nothing(self):
        problems = []
        for rule, severity, message, pointer in redocly(self.path):
            match = AMBIGUOUS.search(message) if rule == "no-ambiguous-paths" else None
            if match:
                self.assert_routed_to_external_id(match.group(1), match.group(2))
                continue
            problems.append("%s %s: %s (%s)" % (severity, rule, message, pointer))
        self.assertEqual([], problems, "\n" + "\n".join(problems))

    def assert_routed_to_external_id(self, collection, name):
        """/<collection>/external/<name> belongs to the external_id route alone: a method
        neither route takes is answered with the external_id route's Allow."""
        status, headers, body = self.api("PATCH", "%s/external/%s" % (collection, name), {},
                                         key=self.admin_key)
        self.assertEqual(405, status, body)
        self.assertEqual({"GET", "HEAD", "PUT"}, set(headers["allow"].split(", ")),
                         "%s/external/%s" % (collection, name))

    def test_spectral_oas_finds_nothing(self):
        results = ["severity %d %s: %s (%s)" % (severity, code, message, path)
                   for code, severity, message, path in spectral(self.path)]
        self.assertEqual([], results, "\n" + "\n".join(results))

    def test_the_linters_can_fail(self):
        """A document with a dangling $ref, an operation without responses and one without
        security is refused by both, so a clean run means something."""
        broken = json.loads(json.dumps(self.document))
        operation = broken["paths"]["/api/v1/contacts"]["get"]
        del operation["responses"]
        del operation["security"]
        operation["parameters"].append({"$ref": "#/components/parameters/NoSuchParameter"})
        path = self.write(broken)
        self.assertTrue([problem for problem in redocly(path) if problem[1] == "error"])
        self.assertTrue([result for result in spectral(path) if result[1] == 0])


if __name__ == "__main__":
    unittest.main()
