"""test_tls.py - crmd --tls-cert FILE --tls-key FILE serves HTTPS itself.

A self-signed certificate for 127.0.0.1 is made at test time with openssl. Over HTTPS the
client verifies the certificate, speaks TLS 1.2 or newer, gets HSTS, and the session
cookie is Secure with the __Host- prefix (__Host-crm_session; Path=/; no Domain); only
that cookie name is accepted then. Bad TLS settings stop crmd with a clear message.
"""
import http.client
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import unittest

import harness


def make_certificate(directory):
    """Writes cert.pem and key.pem (self-signed, for 127.0.0.1); returns their paths."""
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class TlsTest(harness.ServerTestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("openssl"):
            raise AssertionError("openssl is missing: run scripts/install-deps test")
        cls.certificates = tempfile.mkdtemp(prefix="crm-tls-")
        cls.cert, cls.key = make_certificate(cls.certificates)
        cls.server_args = ("--tls-cert", cls.cert, "--tls-key", cls.key)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.certificates, ignore_errors=True)

    def context(self):
        context = ssl.create_default_context(cafile=self.cert)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def https(self, method, path, body=None, headers=None):
        """One HTTPS request: (status, headers with lower-case names, JSON or text, TLS
        version)."""
        connection = http.client.HTTPSConnection("127.0.0.1", self.server.port, timeout=30,
                                                 context=self.context())
        all_headers = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            all_headers["Content-Type"] = "application/json"
        connection.request(method, path, body=data, headers=all_headers)
        response = connection.getresponse()
        payload = response.read()
        version = connection.sock.version()
        answer = {}
        for name, value in response.getheaders():
            answer[name.lower()] = (answer[name.lower()] + ", " + value
                                    if name.lower() in answer else value)
        connection.close()
        parsed = payload.decode()
        if "json" in answer.get("content-type", "") and payload:
            parsed = json.loads(payload)
        return response.status, answer, parsed, version

    def login(self):
        status, headers, body, _ = self.https("POST", "/api/v1/auth/login",
                                              {"email": self.admin_email,
                                               "password": self.admin_password})
        self.assertEqual(200, status, body)
        return headers["set-cookie"], body["csrf_token"]

    def test_https_with_a_verified_certificate(self):
        status, headers, body, version = self.https("GET", "/healthz")
        self.assertEqual(200, status)
        self.assertEqual({"status": "ok"}, body)
        self.assertIn(version, ("TLSv1.2", "TLSv1.3"))
        self.assertIn("max-age=", headers.get("strict-transport-security", ""))
        status, _, body, _ = self.https("GET", "/api/v1/auth/me",
                                        headers={"Authorization": "Bearer " + self.admin_key})
        self.assertEqual(200, status, body)

    def test_plain_http_gets_no_answer(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            connection.request("GET", "/healthz")
            status = connection.getresponse().status
        except (OSError, http.client.HTTPException):
            status = None
        finally:
            connection.close()
        self.assertNotEqual(200, status)
        self.assertEqual(200, self.https("GET", "/healthz")[0])

    def test_old_tls_versions_are_refused(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.cert)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        connection = http.client.HTTPSConnection("127.0.0.1", self.server.port, timeout=10,
                                                 context=context)
        connection.request("GET", "/healthz")
        self.assertEqual(200, connection.getresponse().status)
        connection.close()
        # A TLS 1.1 client (allowed at security level 0 on our side) gets no session.
        result = subprocess.run(["openssl", "s_client", "-connect",
                                 "127.0.0.1:%d" % self.server.port, "-tls1_1",
                                 "-cipher", "DEFAULT@SECLEVEL=0"],
                                input="", capture_output=True, text=True, timeout=30)
        self.assertNotEqual(0, result.returncode, result.stdout[-500:])
        self.assertIn("Cipher is (NONE)", result.stdout)

    def test_session_cookie_is_secure_with_the_host_prefix(self):
        set_cookie, csrf = self.login()
        attributes = [part.strip() for part in set_cookie.split(";")]
        name, token = attributes[0].split("=", 1)
        self.assertEqual("__Host-crm_session", name)
        for expected in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(expected, attributes)
        self.assertFalse(any(a.lower().startswith("domain=") for a in attributes))
        status, _, body, _ = self.https("GET", "/api/v1/auth/me",
                                        headers={"Cookie": "__Host-crm_session=" + token})
        self.assertEqual(200, status, body)
        self.assertEqual(csrf, body["csrf_token"])
        # The unprefixed name (which a sibling host could set) is not accepted over TLS.
        status, _, _, _ = self.https("GET", "/api/v1/auth/me",
                                     headers={"Cookie": "crm_session=" + token})
        self.assertEqual(401, status)
        # CSRF protection is unchanged.
        cookie = {"Cookie": "__Host-crm_session=" + token}
        self.assertEqual(403, self.https("POST", "/api/v1/companies", {"name": "x"},
                                         headers=cookie)[0])
        status, _, _, _ = self.https("POST", "/api/v1/companies", {"name": "x"},
                                     headers=dict(cookie, **{"X-CSRF-Token": csrf}))
        self.assertEqual(201, status)
        status, headers, _, _ = self.https("POST", "/api/v1/auth/logout", {},
                                           headers=dict(cookie, **{"X-CSRF-Token": csrf}))
        self.assertEqual(204, status)
        self.assertTrue(headers["set-cookie"].startswith("__Host-crm_session=;"))

    def crmd_fails(self, *args):
        result = subprocess.run([harness.CRMD, "--db", self.server.db_path, "--listen",
                                 "127.0.0.1:0"] + list(args), capture_output=True, text=True,
                                timeout=60, env=harness.ENV)
        harness.check_sanitizer_output(result.stderr, "crmd")
        return result

    def test_bad_tls_settings_stop_crmd_clearly(self):
        result = self.crmd_fails("--tls-cert", self.cert)
        self.assertEqual(2, result.returncode)
        self.assertIn("--tls-cert and --tls-key go together", result.stderr)
        result = self.crmd_fails("--tls-cert", self.cert, "--tls-key",
                                 os.path.join(self.certificates, "missing.pem"))
        self.assertEqual(1, result.returncode)
        self.assertIn("missing.pem", result.stderr)
        garbage = os.path.join(self.certificates, "garbage.pem")
        with open(garbage, "w") as out:
            out.write("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
        result = self.crmd_fails("--tls-cert", self.cert, "--tls-key", garbage)
        self.assertEqual(1, result.returncode)
        self.assertIn("cannot serve HTTPS", result.stderr)
