-- 0001_foundation.sql: users, roles and grants, sessions, API keys, login throttling,
-- companies and contacts with full-text search and tags, idempotency keys, audit log.
-- Timestamps are RFC 3339 UTC text ("2026-11-23T16:00:00Z"), which sorts correctly.

CREATE TABLE roles (
	name        TEXT PRIMARY KEY,
	description TEXT NOT NULL DEFAULT '',
	builtin     INTEGER NOT NULL DEFAULT 0,
	created_at  TEXT NOT NULL
);

CREATE TABLE grants (
	role     TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
	resource TEXT NOT NULL,
	action   TEXT NOT NULL CHECK (action IN ('read', 'write', 'delete')),
	scope    TEXT NOT NULL CHECK (scope IN ('all', 'team', 'own', 'none')),
	PRIMARY KEY (role, resource, action)
) WITHOUT ROWID;

CREATE TABLE users (
	id            INTEGER PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	name          TEXT NOT NULL,
	role          TEXT NOT NULL REFERENCES roles(name),
	team          TEXT,
	password_hash TEXT,
	disabled      INTEGER NOT NULL DEFAULT 0,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	version       INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX users_team ON users(team, id);

CREATE TABLE sessions (
	id             INTEGER PRIMARY KEY,
	token_hash     BLOB NOT NULL UNIQUE,
	user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	csrf_token     TEXT NOT NULL,
	created_at     TEXT NOT NULL,
	last_seen_at   TEXT NOT NULL,
	expires_at     TEXT NOT NULL,
	revoked_at     TEXT,
	client_address TEXT
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_keys (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	key_hash     BLOB NOT NULL UNIQUE,
	read_only    INTEGER NOT NULL DEFAULT 0,
	created_at   TEXT NOT NULL,
	expires_at   TEXT,
	revoked_at   TEXT,
	last_used_at TEXT
);
CREATE INDEX api_keys_user ON api_keys(user_id);

-- One row per failed login; subject is 'account:<email>' or 'address:<ip>'.
CREATE TABLE login_failures (
	id        INTEGER PRIMARY KEY,
	subject   TEXT NOT NULL,
	failed_at INTEGER NOT NULL -- seconds since the epoch
);
CREATE INDEX login_failures_subject ON login_failures(subject, failed_at);

CREATE TABLE companies (
	id          INTEGER PRIMARY KEY,
	name        TEXT NOT NULL,
	domain      TEXT,
	industry    TEXT,
	owner_id    INTEGER REFERENCES users(id),
	tags        TEXT NOT NULL DEFAULT '[]',
	external_id TEXT UNIQUE,
	custom      TEXT NOT NULL DEFAULT '{}',
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX companies_owner ON companies(owner_id, id);
CREATE INDEX companies_name ON companies(name, id);
CREATE INDEX companies_domain ON companies(domain, id);
CREATE INDEX companies_industry ON companies(industry, id);
CREATE INDEX companies_updated ON companies(updated_at, id);
CREATE INDEX companies_created ON companies(created_at, id);

CREATE TABLE contacts (
	id                 INTEGER PRIMARY KEY,
	first_name         TEXT,
	last_name          TEXT,
	email              TEXT,
	phone              TEXT,
	title              TEXT,
	company_id         INTEGER REFERENCES companies(id) ON DELETE SET NULL,
	owner_id           INTEGER REFERENCES users(id),
	lifecycle          TEXT CHECK (lifecycle IN ('lead', 'prospect', 'customer', 'churned')),
	relationship_level INTEGER CHECK (relationship_level BETWEEN 1 AND 6),
	tags               TEXT NOT NULL DEFAULT '[]',
	source             TEXT,
	consent            TEXT,
	external_id        TEXT UNIQUE,
	custom             TEXT NOT NULL DEFAULT '{}',
	created_at         TEXT NOT NULL,
	updated_at         TEXT NOT NULL,
	version            INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX contacts_owner ON contacts(owner_id, id);
CREATE INDEX contacts_company ON contacts(company_id, id);
CREATE INDEX contacts_lifecycle ON contacts(lifecycle, id);
CREATE INDEX contacts_updated ON contacts(updated_at, id);
CREATE INDEX contacts_created ON contacts(created_at, id);
CREATE INDEX contacts_last_name ON contacts(last_name, id);
CREATE INDEX contacts_first_name ON contacts(first_name, id);
CREATE INDEX contacts_email ON contacts(email COLLATE NOCASE, id);

-- Tags of any resource, for indexed ?tag= filters. The record's own `tags` column keeps
-- the order the client gave; this table is kept in step by the resource store.
CREATE TABLE record_tags (
	entity    TEXT NOT NULL,
	tag       TEXT NOT NULL,
	record_id INTEGER NOT NULL,
	PRIMARY KEY (entity, tag, record_id)
) WITHOUT ROWID;
CREATE INDEX record_tags_record ON record_tags(entity, record_id);

-- Full-text search, kept in sync with the tables by triggers on every change.
CREATE VIRTUAL TABLE contacts_fts USING fts5(
	first_name, last_name, email, phone, title,
	content = 'contacts', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
	INSERT INTO contacts_fts (rowid, first_name, last_name, email, phone, title)
	VALUES (new.id, new.first_name, new.last_name, new.email, new.phone, new.title);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
	INSERT INTO contacts_fts (contacts_fts, rowid, first_name, last_name, email, phone, title)
	VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.phone, old.title);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF first_name, last_name, email, phone, title
ON contacts BEGIN
	INSERT INTO contacts_fts (contacts_fts, rowid, first_name, last_name, email, phone, title)
	VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.phone, old.title);
	INSERT INTO contacts_fts (rowid, first_name, last_name, email, phone, title)
	VALUES (new.id, new.first_name, new.last_name, new.email, new.phone, new.title);
END;

CREATE VIRTUAL TABLE companies_fts USING fts5(
	name, domain, industry,
	content = 'companies', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
	INSERT INTO companies_fts (rowid, name, domain, industry)
	VALUES (new.id, new.name, new.domain, new.industry);
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
	INSERT INTO companies_fts (companies_fts, rowid, name, domain, industry)
	VALUES ('delete', old.id, old.name, old.domain, old.industry);
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF name, domain, industry ON companies BEGIN
	INSERT INTO companies_fts (companies_fts, rowid, name, domain, industry)
	VALUES ('delete', old.id, old.name, old.domain, old.industry);
	INSERT INTO companies_fts (rowid, name, domain, industry)
	VALUES (new.id, new.name, new.domain, new.industry);
END;

-- Answers to POST requests that carried an Idempotency-Key, replayed for 24 hours.
CREATE TABLE idempotency_keys (
	user_id    INTEGER NOT NULL,
	key        TEXT NOT NULL,
	method     TEXT NOT NULL,
	path       TEXT NOT NULL,
	status     INTEGER NOT NULL,
	body       TEXT NOT NULL,
	location   TEXT,
	created_at INTEGER NOT NULL, -- seconds since the epoch
	PRIMARY KEY (user_id, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- Who changed what, when: every create, change and delete, from the API or crmctl.
CREATE TABLE audit_log (
	id        INTEGER PRIMARY KEY,
	at        TEXT NOT NULL,
	user_id   INTEGER,          -- NULL for crmctl (actor says who)
	actor     TEXT NOT NULL,    -- 'api', 'crmctl', ...
	entity    TEXT NOT NULL,
	entity_id INTEGER,
	action    TEXT NOT NULL,    -- 'create', 'update', 'delete', ...
	before    TEXT,             -- JSON, NULL on create
	after     TEXT              -- JSON, NULL on delete
);
CREATE INDEX audit_log_entity ON audit_log(entity, entity_id, id);
CREATE INDEX audit_log_user ON audit_log(user_id, id);

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

-- Built-in roles and the contract's default grants.
INSERT INTO roles (name, description, builtin, created_at) VALUES
	('admin', 'everything, including users and audit', 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
	('manager', 'read all; write and delete within the team', 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
	('rep', 'read all; write own records', 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
	('viewer', 'read only', 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));

CREATE TEMP TABLE crm_resources (name TEXT PRIMARY KEY);
INSERT INTO crm_resources (name) VALUES ('contacts'), ('companies'), ('interactions'),
	('tasks'), ('opportunities'), ('purchases'), ('segments'), ('analytics');

INSERT INTO grants (role, resource, action, scope)
	SELECT 'admin', name, action, 'all' FROM crm_resources,
		(SELECT 'read' AS action UNION ALL SELECT 'write' UNION ALL SELECT 'delete');
INSERT INTO grants (role, resource, action, scope) VALUES
	('admin', 'users', 'read', 'all'), ('admin', 'users', 'write', 'all'),
	('admin', 'users', 'delete', 'all'), ('admin', 'audit', 'read', 'all'),
	('admin', 'webhooks', 'read', 'all'), ('admin', 'webhooks', 'write', 'all'),
	('admin', 'webhooks', 'delete', 'all');
INSERT INTO grants (role, resource, action, scope)
	SELECT 'manager', name, 'read', 'all' FROM crm_resources
	UNION ALL SELECT 'manager', name, 'write', 'team' FROM crm_resources
	UNION ALL SELECT 'manager', name, 'delete', 'team' FROM crm_resources
	UNION ALL SELECT 'rep', name, 'read', 'all' FROM crm_resources
	UNION ALL SELECT 'rep', name, 'write', 'own' FROM crm_resources
	UNION ALL SELECT 'rep', name, 'delete', 'none' FROM crm_resources
	UNION ALL SELECT 'viewer', name, 'read', 'all' FROM crm_resources
	UNION ALL SELECT 'viewer', name, 'write', 'none' FROM crm_resources
	UNION ALL SELECT 'viewer', name, 'delete', 'none' FROM crm_resources;
DROP TABLE crm_resources;
