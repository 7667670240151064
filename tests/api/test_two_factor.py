"""test_two_factor.py - two-factor sign-in with TOTP (RFC 6238) against a running crmd:
enrolment (otpauth:// URI, QR code as SVG, confirmation by a current code, recovery codes
shown once), the login's second step (a challenge instead of a session, a TOTP code or a
recovery code, each usable once), its throttle (the login's own rows and limits), a role's
requirement (crmctl role set --require-2fa: enrol at login, then the session), and the
audit of each change. Codes are computed here with Python's hmac (independent of crmd's
SHA-1) and, for the cross-check, with Debian's oathtool; the QR code is read back with
zbarimg."""
import base64
import hashlib
import hmac
import itertools
import os
import re
import sqlite3
import struct
import subprocess
import tempfile
import time
import urllib.parse
import xml.etree.ElementTree as ElementTree

import harness

LOGIN = "/api/v1/auth/login"
SECOND = "/api/v1/auth/login/second-factor"
LOGIN_ENROL = "/api/v1/auth/login/enrol"
LOGIN_CONFIRM = "/api/v1/auth/login/confirm"
STATUS = "/api/v1/auth/2fa"
ENROL = "/api/v1/auth/2fa/enrol"
CONFIRM = "/api/v1/auth/2fa/confirm"
ME = "/api/v1/auth/me"
PASSWORD = "password-123"

_emails = itertools.count(1)


def totp(secret, at, digits=6):
    """RFC 6238 with HMAC-SHA1 and 30-second steps, from Python's standard library."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%0*d" % (digits, value % 10 ** digits)


def qr_decode(svg, directory):
    """The text of the QR code drawn in `svg` (crmd's unit squares), as Debian's zbarimg reads
    it from a bitmap of 6 pixels per module."""
    size = int(re.search(r'viewBox="0 0 (\d+)', svg).group(1))
    dark = {(int(x), int(y)) for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", svg)}
    scale = 6
    rows = [" ".join("1" if (x // scale, y // scale) in dark else "0"
                     for x in range(size * scale)) for y in range(size * scale)]
    path = os.path.join(directory, "qr.pbm")
    with open(path, "w") as bitmap:
        bitmap.write("P1\n%d %d\n%s\n" % (size * scale, size * scale, "\n".join(rows)))
    return subprocess.run(["zbarimg", "--raw", "-q", path], check=True, capture_output=True,
                          text=True).stdout.strip()


def oathtool(secret, at):
    return subprocess.run(["oathtool", "--totp", "-b", "-N", "@%d" % int(at), secret],
                          check=True, capture_output=True, text=True).stdout.strip()


class TwoFactorTestCase(harness.ServerTestCase):
    def setUp(self):
        harness.sql_run(self.server.db_path, "DELETE FROM login_failures")

    def new_user(self, role="rep"):
        email = "staff%d@example.com" % next(_emails)
        self.make_user(email, role)
        return email

    def failures(self, subject):
        return harness.sql_rows(self.server.db_path,
                                "SELECT count(*) FROM login_failures WHERE subject = ?",
                                subject)[0][0]

    def enrol(self, email):
        """Logs in, enrols and confirms with the current code. Returns (secret, codes)."""
        session = self.login(email, PASSWORD)
        self.assertEqual(200, session.status, session.body)
        status, _, body = self.api("POST", ENROL, {}, session=session)
        self.assertEqual(200, status, body)
        secret = body["secret"]
        status, _, body = self.api("POST", CONFIRM, {"code": totp(secret, time.time())},
                                   session=session)
        self.assertEqual(200, status, body)
        return secret, body["recovery_codes"]

    def challenge(self, email, expect="totp"):
        status, headers, body = self.api("POST", LOGIN, {"email": email, "password": PASSWORD})
        self.assertEqual(200, status, body)
        self.assertEqual(expect, body["second_factor"])
        self.assertNotIn("user", body)
        self.assertIsNone(harness.session_cookie_from(headers), "a session before the 2nd step")
        return body["challenge"]

    def second(self, challenge, **factor):
        return self.api("POST", SECOND, dict(challenge=challenge, **factor))


class EnrolmentTest(TwoFactorTestCase):
    def test_enrolment_answers_uri_and_svg_qr_code_and_needs_a_current_code(self):
        email = self.new_user()
        session = self.login(email, PASSWORD)
        status, _, body = self.api("POST", ENROL, {}, session=session)
        self.assertEqual(200, status, body)
        secret = body["secret"]
        self.assertRegex(secret, r"^[A-Z2-7]{32}$")  # 160 bits
        uri = urllib.parse.urlparse(body["otpauth_uri"])
        self.assertEqual(("otpauth", "totp"), (uri.scheme, uri.netloc))
        self.assertEqual("/CRM:" + email, urllib.parse.unquote(uri.path))
        query = urllib.parse.parse_qs(uri.query)
        self.assertEqual([secret], query["secret"])
        self.assertEqual((["SHA1"], ["6"], ["30"], ["CRM"]),
                         (query["algorithm"], query["digits"], query["period"], query["issuer"]))
        svg = ElementTree.fromstring(body["qr_svg"])
        self.assertEqual("{http://www.w3.org/2000/svg}svg", svg.tag)
        size = int(svg.get("viewBox").split()[2])
        self.assertEqual(0, (size - 8 - 21) % 4, "not a QR code's size plus the quiet zone")
        modules = re.findall(r"M(\d+) (\d+)h1v1h-1z", svg.find("{*}path").get("d"))
        self.assertGreater(len(modules), 100)
        self.assertTrue(all(4 <= int(x) < size - 4 and 4 <= int(y) < size - 4
                            for x, y in modules))
        # the finder pattern's corner modules are dark
        self.assertIn(("4", "4"), modules)
        # and a QR reader (zbarimg) reads the URI back from it
        with tempfile.TemporaryDirectory() as directory:
            self.assertEqual(body["otpauth_uri"], qr_decode(body["qr_svg"], directory))

        status, _, state = self.api("GET", STATUS, session=session)
        self.assertEqual({"enabled": False, "pending": True, "required": False,
                          "recovery_codes_left": 0}, state)
        wrong = "%06d" % ((int(totp(secret, time.time())) + 1) % 1000000)
        self.assertProblem(self.api("POST", CONFIRM, {"code": wrong}, session=session), 422,
                           field="code")
        self.assertProblem(self.api("POST", CONFIRM, {"code": "12345"}, session=session), 422,
                           field="code")
        self.assertProblem(self.api("POST", CONFIRM, {"code": "123456", "x": 1},
                                    session=session), 422, field="x")
        # checked against oathtool: the code it computes is the one crmd accepts
        status, _, body = self.api("POST", CONFIRM, {"code": oathtool(secret, time.time())},
                                   session=session)
        self.assertEqual(200, status, body)
        codes = body["recovery_codes"]
        self.assertEqual(10, len(set(codes)))
        for code in codes:
            self.assertRegex(code, r"^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$")
        status, _, state = self.api("GET", STATUS, session=session)
        self.assertEqual({"enabled": True, "pending": False, "required": False,
                          "recovery_codes_left": 10}, state)
        # the secret is never answered again: a new enrolment is refused while it is on
        self.assertProblem(self.api("POST", ENROL, {}, session=session), 409)
        self.assertProblem(self.api("POST", CONFIRM, {"code": "123456"}, session=session), 409)

    def test_stored_hashed_and_audited_and_not_for_api_keys(self):
        email = self.new_user()
        _, key = self.make_user("keyed%d@example.com" % next(_emails), "rep")
        self.assertProblem(self.api("POST", ENROL, {}, key=key), 403)
        secret, codes = self.enrol(email)
        user_id = harness.sql_rows(self.server.db_path, "SELECT id FROM users WHERE email = ?",
                                   email)[0][0]
        stored = [bytes(row[0]) for row in harness.sql_rows(
            self.server.db_path, "SELECT code_hash FROM recovery_codes WHERE user_id = ?",
            user_id)]
        self.assertEqual(10, len(stored))
        for code in codes:
            self.assertFalse(any(code.encode() in blob or code.replace("-", "").encode() in blob
                                 for blob in stored))
        actions = [row[0] for row in harness.sql_rows(
            self.server.db_path, "SELECT action FROM audit_log WHERE entity = 'users' AND"
            " entity_id = ? ORDER BY id", user_id)]
        self.assertEqual(["2fa_enrol", "2fa_enable"], actions[-2:])
        log = "".join(self.server.log)
        self.assertIn(ENROL, log)  # the log is read: the requests are in it, the secrets not
        self.assertNotIn(secret, log)
        self.assertFalse(any(code in log for code in codes))

    def test_without_a_started_enrolment_confirm_is_a_conflict(self):
        session = self.login(self.new_user(), PASSWORD)
        self.assertProblem(self.api("POST", CONFIRM, {"code": "123456"}, session=session), 409)


    def test_answers_match_the_openapi_schemas(self):
        _, _, document = self.api("GET", "/api/v1/openapi.json")
        email = self.new_user()
        session = self.login(email, PASSWORD)
        _, _, enrolment = self.api("POST", ENROL, {}, session=session)
        self.assertMatchesSchema(document, "TwoFactorEnrolment", enrolment)
        _, _, codes = self.api("POST", CONFIRM, {"code": totp(enrolment["secret"], time.time())},
                               session=session)
        self.assertMatchesSchema(document, "RecoveryCodes", codes)
        _, _, state = self.api("GET", STATUS, session=session)
        self.assertMatchesSchema(document, "TwoFactorStatus", state)
        _, _, challenge = self.api("POST", LOGIN, {"email": email, "password": PASSWORD})
        self.assertMatchesSchema(document, "LoginChallenge", challenge)
        _, _, answer = self.second(challenge["challenge"], recovery_code=codes["recovery_codes"][0])
        self.assertMatchesSchema(document, "LoginAnswer", answer)


class SecondStepTest(TwoFactorTestCase):
    def test_login_with_a_code_then_the_same_code_is_refused(self):
        email = self.new_user()
        secret, _ = self.enrol(email)
        code = totp(secret, time.time() + 30)  # the next step: the enrolment used this one
        first = self.challenge(email)
        # a challenge is no session
        self.assertProblem(self.api("GET", ME), 401)
        status, headers, body = self.second(first, code=code)
        self.assertEqual(200, status, body)
        cookie = harness.session_cookie_from(headers)
        self.assertTrue(cookie)
        self.assertEqual(email, body["user"]["email"])
        status, _, me = self.api("GET", ME, cookie=cookie)
        self.assertEqual((200, email), (status, me["user"]["email"]))
        # the challenge is spent, and the code does not work twice
        self.assertProblem(self.second(first, code=code), 401)
        self.assertProblem(self.second(self.challenge(email), code=code), 401)

    def test_only_one_step_either_side_is_accepted(self):
        email = self.new_user()
        secret, _ = self.enrol(email)
        challenge = self.challenge(email)
        now = time.time()
        # two steps back and three ahead stay outside the window even if a step boundary
        # passes before crmd checks them
        self.assertProblem(self.second(challenge, code=totp(secret, now - 60)), 401)
        self.assertProblem(self.second(challenge, code=totp(secret, now + 90)), 401)
        status, _, body = self.second(challenge, code=totp(secret, time.time() + 30))
        self.assertEqual(200, status, body)

    def test_wrong_codes_and_malformed_requests(self):
        email = self.new_user()
        secret, _ = self.enrol(email)
        challenge = self.challenge(email)
        wrong = "%06d" % ((int(totp(secret, time.time() + 30)) + 7) % 1000000)
        self.assertProblem(self.second(challenge, code=wrong), 401)
        self.assertProblem(self.second(challenge, code="abcdef"), 401)
        self.assertProblem(self.second(challenge), 422, field="code")
        self.assertProblem(self.second(challenge, code="123456", recovery_code="x"), 422,
                           field="code")
        self.assertProblem(self.api("POST", SECOND, {"code": "123456"}), 422, field="challenge")
        self.assertProblem(self.second("not-a-challenge", code="123456"), 401)
        self.assertProblem(self.api("POST", LOGIN_ENROL, {"challenge": challenge}), 409)
        # five attempts per challenge: the right code after them is refused
        self.assertProblem(self.second(challenge, code=wrong), 401)
        self.assertProblem(self.second(challenge, code=wrong), 401)
        self.assertProblem(self.second(challenge, code=totp(secret, time.time() + 30)), 401)
        status, _, body = self.second(self.challenge(email), code=totp(secret, time.time() + 30))
        self.assertEqual(200, status, body)

    def test_each_recovery_code_works_once(self):
        email = self.new_user()
        _, codes = self.enrol(email)
        status, headers, body = self.second(self.challenge(email), recovery_code=codes[0])
        self.assertEqual(200, status, body)
        self.assertEqual(9, body["recovery_codes_left"])
        self.assertTrue(harness.session_cookie_from(headers))
        self.assertProblem(self.second(self.challenge(email), recovery_code=codes[0]), 401)
        # typed in upper case without the dashes, the next one works
        status, _, body = self.second(self.challenge(email),
                                      recovery_code=codes[1].replace("-", "").upper())
        self.assertEqual((200, 8), (status, body.get("recovery_codes_left")), body)
        used = harness.sql_rows(self.server.db_path,
                                "SELECT count(*) FROM audit_log WHERE entity = 'users' AND"
                                " action = '2fa_recovery_code_used'")[0][0]
        self.assertGreaterEqual(used, 2)

    def test_the_second_step_is_throttled_like_the_password(self):
        email = self.new_user()
        secret, _ = self.enrol(email)
        pair = "pair:%s|127.0.0.1" % email
        challenge = self.challenge(email)
        self.assertEqual(0, self.failures(pair))
        for _ in range(3):
            self.assertProblem(self.second(challenge, code="000000" if totp(
                secret, time.time() + 30) != "000000" else "111111"), 401)
        self.assertEqual(3, self.failures(pair))
        self.assertEqual(3, self.failures("account:" + email))
        # a right password does not clear what the second step counted
        challenge = self.challenge(email)
        self.assertEqual(3, self.failures(pair))
        # at the pair's limit the right code gets 429, like a password
        now = int(time.time())
        with sqlite3.connect(self.server.db_path) as connection:
            connection.executemany("INSERT INTO login_failures (subject, failed_at) VALUES (?, ?)",
                                   [(pair, now)] * 7)
        status, headers, body = self.second(challenge, code=totp(secret, time.time() + 30))
        self.assertProblem((status, headers, body), 429)
        self.assertGreater(int(headers["retry-after"]), 0)
        self.assertEqual(429, self.login(email, PASSWORD).status)
        # from another address the owner gets through; a success clears that pair's count
        status, _, body = self.api("POST", LOGIN, {"email": email, "password": PASSWORD},
                                   source="127.0.0.9")
        self.assertEqual(200, status, body)
        status, _, body = self.api("POST", SECOND, {"challenge": body["challenge"],
                                                    "code": totp(secret, time.time() + 30)},
                                   source="127.0.0.9")
        self.assertEqual(200, status, body)
        self.assertEqual(0, self.failures("pair:%s|127.0.0.9" % email))


class RoleRequirementTest(TwoFactorTestCase):
    def test_a_required_role_logs_in_only_to_enrol(self):
        self.crmctl("role", "create", "auditor", "--from", "viewer")
        self.crmctl("role", "set", "auditor", "--require-2fa", "on")
        email = self.new_user("auditor")
        challenge = self.challenge(email, expect="enrol")
        self.assertProblem(self.second(challenge, code="123456"), 409)
        status, _, body = self.api("POST", LOGIN_ENROL, {"challenge": challenge})
        self.assertEqual(200, status, body)
        secret = body["secret"]
        self.assertIn("<svg", body["qr_svg"])
        self.assertProblem(self.api("POST", LOGIN_CONFIRM,
                                    {"challenge": challenge, "code": "99999"}), 422, field="code")
        status, headers, body = self.api("POST", LOGIN_CONFIRM,
                                         {"challenge": challenge,
                                          "code": oathtool(secret, time.time())})
        self.assertEqual(200, status, body)
        self.assertEqual(10, len(body["recovery_codes"]))
        self.assertEqual(email, body["user"]["email"])
        cookie = harness.session_cookie_from(headers)
        status, _, state = self.api("GET", STATUS, cookie=cookie)
        self.assertEqual({"enabled": True, "pending": False, "required": True,
                          "recovery_codes_left": 10}, state)
        # from now on its logins ask for a code
        status, _, body = self.second(self.challenge(email), code=totp(secret, time.time() + 30))
        self.assertEqual(200, status, body)
        # off again: a user without 2FA logs in with the password alone
        self.crmctl("role", "set", "auditor", "--require-2fa", "off")
        self.assertEqual(200, self.login(self.new_user("auditor"), PASSWORD).status)
        entries = harness.sql_rows(self.server.db_path,
                                   "SELECT after FROM audit_log WHERE entity = 'roles' AND"
                                   " action = 'require_2fa' ORDER BY id")
        self.assertEqual(2, len(entries))
        self.assertIn('"require_2fa":false', entries[-1][0].replace(" ", ""))

    def test_reset_by_crmctl_ends_the_second_step_and_is_audited(self):
        email = self.new_user()
        self.enrol(email)
        self.challenge(email)
        result = self.crmctl("user", "2fa", "reset", email)
        self.assertIn("reset", result.stdout)
        session = self.login(email, PASSWORD)  # no second step any more
        self.assertEqual(200, session.status, session.body)
        self.assertTrue(session.cookie)
        rows = harness.sql_rows(self.server.db_path,
                                "SELECT actor FROM audit_log WHERE action = '2fa_reset'")
        self.assertEqual([("crmctl",)], [tuple(row) for row in rows])
        self.assertEqual(0, harness.sql_rows(
            self.server.db_path, "SELECT count(*) FROM recovery_codes r JOIN users u ON"
            " u.id = r.user_id WHERE u.email = ?", email)[0][0])
        failed = self.crmctl("user", "2fa", "reset", email, check=False)
        self.assertEqual(1, failed.returncode)
        self.assertIn("not set up", failed.stderr)
