-- 0018_two_factor.sql: two-factor sign-in with TOTP (RFC 6238) for staff
-- (include/crm/two_factor.h, src/core/two_factor.c, docs/security.md).

-- An administrator may require two-factor sign-in of every user of a role
-- (crmctl role set ROLE --require-2fa on).
ALTER TABLE roles ADD COLUMN require_2fa INTEGER NOT NULL DEFAULT 0;

-- A user's TOTP secret (20 random bytes). confirmed_at is NULL while the enrolment waits
-- for its first code; last_step is the last 30-second step accepted, so that each code
-- works once. The secret is never answered again after enrolment.
CREATE TABLE user_totp (
	user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	secret       BLOB NOT NULL,
	created_at   TEXT NOT NULL,
	confirmed_at TEXT,
	last_step    INTEGER NOT NULL DEFAULT 0
);

-- The one-time recovery codes of a confirmed enrolment, only as BLAKE2b hashes.
CREATE TABLE recovery_codes (
	id        INTEGER PRIMARY KEY,
	user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	code_hash BLOB NOT NULL,
	used_at   TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes(user_id);

-- The second step of a login: a short-lived token (stored as its hash) that a password
-- check earned. purpose 'verify': a code or recovery code opens the session; 'enrol': the
-- user's role requires two-factor sign-in and the user must enrol first.
CREATE TABLE login_challenges (
	id             INTEGER PRIMARY KEY,
	token_hash     BLOB NOT NULL UNIQUE,
	user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	purpose        TEXT NOT NULL CHECK (purpose IN ('verify', 'enrol')),
	expires_at     INTEGER NOT NULL, -- seconds since the epoch
	attempts       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX login_challenges_user ON login_challenges(user_id);
CREATE INDEX login_challenges_expiry ON login_challenges(expires_at); -- forgetting expired ones
