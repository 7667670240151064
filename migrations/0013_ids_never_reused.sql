-- crm:foreign-keys-off
-- Ids are never reused: every table whose ids the API shows or the audit log names gets
-- AUTOINCREMENT, so a new record never takes the id of a deleted one (whose audit entries,
-- GDPR export and ETags would otherwise seem to be the new record's). SQLite's 12-step
-- table rebuild (new_X, copy, drop, rename, then X's indexes and triggers as 0001-0012 left
-- them); the runner applies it with foreign keys off and checks them before the commit.
-- sqlite_sequence starts above the highest id in the table and in audit_log for it (the
-- audit's 'sessions' entries name users).

-- users
CREATE TABLE new_users (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO new_users (id, email, name, role, team, password_hash, disabled, created_at, updated_at, version)
SELECT id, email, name, role, team, password_hash, disabled, created_at, updated_at, version FROM users;
DROP TABLE users;
ALTER TABLE new_users RENAME TO users;
CREATE INDEX users_team ON users(team, id);
DELETE FROM sqlite_sequence WHERE name = 'users';
INSERT INTO sqlite_sequence (name, seq) SELECT 'users', max(
	(SELECT coalesce(max(id), 0) FROM users),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity IN ('users', 'sessions')));

-- api_keys
CREATE TABLE new_api_keys (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO new_api_keys (id, user_id, name, prefix, key_hash, read_only, created_at, expires_at, revoked_at, last_used_at)
SELECT id, user_id, name, prefix, key_hash, read_only, created_at, expires_at, revoked_at, last_used_at FROM api_keys;
DROP TABLE api_keys;
ALTER TABLE new_api_keys RENAME TO api_keys;
CREATE INDEX api_keys_user ON api_keys(user_id);
DELETE FROM sqlite_sequence WHERE name = 'api_keys';
INSERT INTO sqlite_sequence (name, seq) SELECT 'api_keys', max(
	(SELECT coalesce(max(id), 0) FROM api_keys),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity = 'api_keys'));

-- companies
CREATE TABLE new_companies (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO new_companies (id, name, domain, industry, owner_id, tags, external_id, custom, created_at, updated_at, version)
SELECT id, name, domain, industry, owner_id, tags, external_id, custom, created_at, updated_at, version FROM companies;
DROP TABLE companies;
ALTER TABLE new_companies RENAME TO companies;
CREATE INDEX companies_owner ON companies(owner_id, id);
CREATE INDEX companies_name ON companies(name, id);
CREATE INDEX companies_domain ON companies(domain, id);
CREATE INDEX companies_industry ON companies(industry, id);
CREATE INDEX companies_updated ON companies(updated_at, id);
CREATE INDEX companies_created ON companies(created_at, id);
CREATE TRIGGER companies_fts_insert AFTER INSERT ON companies BEGIN
	INSERT OR IGNORE INTO fts_pending (fts_table, row_id) VALUES ('companies_fts', new.id);
END;
CREATE TRIGGER companies_fts_delete AFTER DELETE ON companies BEGIN
	INSERT INTO companies_fts (companies_fts, rowid, name, domain, industry)
	SELECT 'delete', old.id, old.name, old.domain, old.industry
	WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'companies_fts' AND row_id = old.id);
	DELETE FROM fts_pending WHERE fts_table = 'companies_fts' AND row_id = old.id;
END;
CREATE TRIGGER companies_fts_update AFTER UPDATE OF name, domain, industry ON companies
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'companies_fts' AND row_id = old.id)
BEGIN
	INSERT INTO companies_fts (companies_fts, rowid, name, domain, industry)
	VALUES ('delete', old.id, old.name, old.domain, old.industry);
	INSERT INTO companies_fts (rowid, name, domain, industry)
	VALUES (new.id, new.name, new.domain, new.industry);
END;
DELETE FROM sqlite_sequence WHERE name = 'companies';
INSERT INTO sqlite_sequence (name, seq) SELECT 'companies', max(
	(SELECT coalesce(max(id), 0) FROM companies),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity = 'companies'));

-- contacts
CREATE TABLE new_contacts (
	id                 INTEGER PRIMARY KEY AUTOINCREMENT,
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
, erased_at TEXT);
INSERT INTO new_contacts (id, first_name, last_name, email, phone, title, company_id, owner_id, lifecycle, relationship_level, tags, source, consent, external_id, custom, created_at, updated_at, version, erased_at)
SELECT id, first_name, last_name, email, phone, title, company_id, owner_id, lifecycle, relationship_level, tags, source, consent, external_id, custom, created_at, updated_at, version, erased_at FROM contacts;
DROP TABLE contacts;
ALTER TABLE new_contacts RENAME TO contacts;
CREATE INDEX contacts_owner ON contacts(owner_id, id);
CREATE INDEX contacts_company ON contacts(company_id, id);
CREATE INDEX contacts_lifecycle ON contacts(lifecycle, id);
CREATE INDEX contacts_updated ON contacts(updated_at, id);
CREATE INDEX contacts_created ON contacts(created_at, id);
CREATE INDEX contacts_last_name ON contacts(last_name, id);
CREATE INDEX contacts_first_name ON contacts(first_name, id);
CREATE INDEX contacts_email ON contacts(email COLLATE NOCASE, id);
CREATE INDEX contacts_relationship_level ON contacts(relationship_level, id);
CREATE TRIGGER contacts_analytics_delete AFTER DELETE ON contacts BEGIN
	DELETE FROM contact_summaries WHERE contact_id = old.id;
	INSERT INTO analytics_changes (contact_id) VALUES (old.id);
END;
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
	INSERT OR IGNORE INTO fts_pending (fts_table, row_id) VALUES ('contacts_fts', new.id);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
	INSERT INTO contacts_fts (contacts_fts, rowid, first_name, last_name, email, phone, title)
	SELECT 'delete', old.id, old.first_name, old.last_name, old.email, old.phone, old.title
	WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'contacts_fts' AND row_id = old.id);
	DELETE FROM fts_pending WHERE fts_table = 'contacts_fts' AND row_id = old.id;
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF first_name, last_name, email, phone, title
ON contacts
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'contacts_fts' AND row_id = old.id)
BEGIN
	INSERT INTO contacts_fts (contacts_fts, rowid, first_name, last_name, email, phone, title)
	VALUES ('delete', old.id, old.first_name, old.last_name, old.email, old.phone, old.title);
	INSERT INTO contacts_fts (rowid, first_name, last_name, email, phone, title)
	VALUES (new.id, new.first_name, new.last_name, new.email, new.phone, new.title);
END;
DELETE FROM sqlite_sequence WHERE name = 'contacts';
INSERT INTO sqlite_sequence (name, seq) SELECT 'contacts', max(
	(SELECT coalesce(max(id), 0) FROM contacts),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity = 'contacts'));

-- interactions
CREATE TABLE new_interactions (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	contact_id  INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	kind        TEXT NOT NULL CHECK (kind IN ('call', 'email', 'meeting', 'note', 'ticket',
	                                          'chat', 'sms', 'visit')),
	direction   TEXT CHECK (direction IN ('inbound', 'outbound')),
	subject     TEXT,
	body        TEXT,
	occurred_at TEXT NOT NULL,
	outcome     TEXT,
	status      TEXT CHECK (status IN ('open', 'pending', 'closed')),
	user_id     INTEGER REFERENCES users(id),   -- who logged it: the caller, set by the server
	external_id TEXT UNIQUE,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1
);
INSERT INTO new_interactions (id, contact_id, kind, direction, subject, body, occurred_at, outcome, status, user_id, external_id, created_at, updated_at, version)
SELECT id, contact_id, kind, direction, subject, body, occurred_at, outcome, status, user_id, external_id, created_at, updated_at, version FROM interactions;
DROP TABLE interactions;
ALTER TABLE new_interactions RENAME TO interactions;
CREATE INDEX interactions_contact ON interactions(contact_id, occurred_at, id);
CREATE INDEX interactions_kind ON interactions(kind, occurred_at, id);
CREATE INDEX interactions_occurred ON interactions(occurred_at, id);
CREATE INDEX interactions_user ON interactions(user_id, id);
CREATE INDEX interactions_status ON interactions(status, id) WHERE status IS NOT NULL;
CREATE INDEX interactions_kind_id ON interactions(kind, id);
CREATE INDEX interactions_direction ON interactions(direction, id) WHERE direction IS NOT NULL;
CREATE INDEX interactions_outcome ON interactions(outcome, id) WHERE outcome IS NOT NULL;
CREATE INDEX interactions_created ON interactions(created_at, id);
CREATE INDEX interactions_updated ON interactions(updated_at, id);
CREATE TRIGGER interactions_analytics_delete AFTER DELETE ON interactions BEGIN
	UPDATE contact_summaries SET (interactions_count, first_interaction_at,
			last_interaction_at, call_count, email_count, meeting_count, note_count,
			ticket_count, chat_count, sms_count, visit_count, inbound_count, service_count) =
		(SELECT count(*), min(occurred_at), max(occurred_at),
			count(*) FILTER (WHERE kind = 'call'), count(*) FILTER (WHERE kind = 'email'),
			count(*) FILTER (WHERE kind = 'meeting'), count(*) FILTER (WHERE kind = 'note'),
			count(*) FILTER (WHERE kind = 'ticket'), count(*) FILTER (WHERE kind = 'chat'),
			count(*) FILTER (WHERE kind = 'sms'), count(*) FILTER (WHERE kind = 'visit'),
			count(*) FILTER (WHERE direction IS 'inbound'),
			count(*) FILTER (WHERE kind = 'ticket' OR direction IS 'inbound')
		 FROM interactions WHERE contact_id = old.contact_id)
	WHERE contact_id = old.contact_id;
	DELETE FROM contact_summaries
	WHERE contact_id = old.contact_id AND purchases_count = 0 AND interactions_count = 0;
	INSERT INTO analytics_changes (contact_id) VALUES (old.contact_id);
END;
CREATE TRIGGER interactions_analytics_update AFTER UPDATE OF contact_id, kind, direction,
occurred_at ON interactions BEGIN
	INSERT OR IGNORE INTO contact_summaries (contact_id) VALUES (new.contact_id);
	UPDATE contact_summaries SET (interactions_count, first_interaction_at,
			last_interaction_at, call_count, email_count, meeting_count, note_count,
			ticket_count, chat_count, sms_count, visit_count, inbound_count, service_count) =
		(SELECT count(*), min(i.occurred_at), max(i.occurred_at),
			count(*) FILTER (WHERE i.kind = 'call'), count(*) FILTER (WHERE i.kind = 'email'),
			count(*) FILTER (WHERE i.kind = 'meeting'), count(*) FILTER (WHERE i.kind = 'note'),
			count(*) FILTER (WHERE i.kind = 'ticket'), count(*) FILTER (WHERE i.kind = 'chat'),
			count(*) FILTER (WHERE i.kind = 'sms'), count(*) FILTER (WHERE i.kind = 'visit'),
			count(*) FILTER (WHERE i.direction IS 'inbound'),
			count(*) FILTER (WHERE i.kind = 'ticket' OR i.direction IS 'inbound')
		 FROM interactions i WHERE i.contact_id = contact_summaries.contact_id)
	WHERE contact_id IN (old.contact_id, new.contact_id);
	DELETE FROM contact_summaries WHERE contact_id IN (old.contact_id, new.contact_id)
		AND purchases_count = 0 AND interactions_count = 0;
	INSERT INTO analytics_changes (contact_id) VALUES (old.contact_id);
	INSERT INTO analytics_changes (contact_id) SELECT new.contact_id
		WHERE new.contact_id <> old.contact_id;
END;
CREATE TRIGGER interactions_analytics_insert AFTER INSERT ON interactions BEGIN
	INSERT OR IGNORE INTO contact_summaries (contact_id) VALUES (new.contact_id);
	UPDATE contact_summaries SET
		interactions_count = interactions_count + 1,
		first_interaction_at = CASE WHEN first_interaction_at IS NULL
			OR new.occurred_at < first_interaction_at THEN new.occurred_at
			ELSE first_interaction_at END,
		last_interaction_at = CASE WHEN last_interaction_at IS NULL
			OR new.occurred_at > last_interaction_at THEN new.occurred_at
			ELSE last_interaction_at END,
		call_count = call_count + (new.kind = 'call'),
		email_count = email_count + (new.kind = 'email'),
		meeting_count = meeting_count + (new.kind = 'meeting'),
		note_count = note_count + (new.kind = 'note'),
		ticket_count = ticket_count + (new.kind = 'ticket'),
		chat_count = chat_count + (new.kind = 'chat'),
		sms_count = sms_count + (new.kind = 'sms'),
		visit_count = visit_count + (new.kind = 'visit'),
		inbound_count = inbound_count + (new.direction IS 'inbound'),
		service_count = service_count + (new.kind = 'ticket' OR new.direction IS 'inbound')
	WHERE contact_id = new.contact_id;
	INSERT INTO analytics_changes (contact_id) VALUES (new.contact_id);
END;
CREATE TRIGGER interactions_fts_insert AFTER INSERT ON interactions BEGIN
	INSERT OR IGNORE INTO fts_pending (fts_table, row_id) VALUES ('interactions_fts', new.id);
END;
CREATE TRIGGER interactions_fts_delete AFTER DELETE ON interactions BEGIN
	INSERT INTO interactions_fts (interactions_fts, rowid, subject, body)
	SELECT 'delete', old.id, old.subject, old.body
	WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'interactions_fts' AND row_id = old.id);
	DELETE FROM fts_pending WHERE fts_table = 'interactions_fts' AND row_id = old.id;
END;
CREATE TRIGGER interactions_fts_update AFTER UPDATE OF subject, body ON interactions
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'interactions_fts' AND row_id = old.id)
BEGIN
	INSERT INTO interactions_fts (interactions_fts, rowid, subject, body)
	VALUES ('delete', old.id, old.subject, old.body);
	INSERT INTO interactions_fts (rowid, subject, body) VALUES (new.id, new.subject, new.body);
END;
DELETE FROM sqlite_sequence WHERE name = 'interactions';
INSERT INTO sqlite_sequence (name, seq) SELECT 'interactions', max(
	(SELECT coalesce(max(id), 0) FROM interactions),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity = 'interactions'));

-- opportunities
CREATE TABLE new_opportunities (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	name           TEXT NOT NULL,
	contact_id     INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
	company_id     INTEGER REFERENCES companies(id) ON DELETE SET NULL,
	owner_id       INTEGER REFERENCES users(id),
	stage          TEXT NOT NULL CHECK (stage IN ('lead', 'qualified', 'proposal', 'negotiation',
	                                              'won', 'lost')),
	amount_cents   INTEGER NOT NULL DEFAULT 0,
	currency       TEXT NOT NULL DEFAULT 'EUR',
	probability    INTEGER NOT NULL CHECK (probability BETWEEN 0 AND 100),
	expected_close TEXT,            -- YYYY-MM-DD
	closed_at      TEXT,            -- set when the stage becomes won or lost
	lost_reason    TEXT,
	tags           TEXT NOT NULL DEFAULT '[]',
	external_id    TEXT UNIQUE,
	custom         TEXT NOT NULL DEFAULT '{}',
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	version        INTEGER NOT NULL DEFAULT 1
);
INSERT INTO new_opportunities (id, name, contact_id, company_id, owner_id, stage, amount_cents, currency, probability, expected_close, closed_at, lost_reason, tags, external_id, custom, created_at, updated_at, version)
SELECT id, name, contact_id, company_id, owner_id, stage, amount_cents, currency, probability, expected_close, closed_at, lost_reason, tags, external_id, custom, created_at, updated_at, version FROM opportunities;
DROP TABLE opportunities;
ALTER TABLE new_opportunities RENAME TO opportunities;
CREATE INDEX opportunities_stage ON opportunities(stage, expected_close, id);
CREATE INDEX opportunities_owner ON opportunities(owner_id, stage, id);
CREATE INDEX opportunities_contact ON opportunities(contact_id, id);
CREATE INDEX opportunities_company ON opportunities(company_id, id);
CREATE INDEX opportunities_expected_close ON opportunities(expected_close, id);
CREATE INDEX opportunities_updated ON opportunities(updated_at, id);
CREATE INDEX opportunities_stage_id ON opportunities(stage, id);
CREATE INDEX opportunities_owner_id ON opportunities(owner_id, id);
CREATE INDEX opportunities_currency ON opportunities(currency, id);
CREATE INDEX opportunities_name ON opportunities(name, id);
CREATE INDEX opportunities_amount ON opportunities(amount_cents, id);
CREATE INDEX opportunities_probability ON opportunities(probability, id);
CREATE INDEX opportunities_closed ON opportunities(closed_at, id);
CREATE INDEX opportunities_created ON opportunities(created_at, id);
DELETE FROM sqlite_sequence WHERE name = 'opportunities';
INSERT INTO sqlite_sequence (name, seq) SELECT 'opportunities', max(
	(SELECT coalesce(max(id), 0) FROM opportunities),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity = 'opportunities'));

-- tasks
CREATE TABLE new_tasks (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	title          TEXT NOT NULL,
	due_at         TEXT,
	contact_id     INTEGER REFERENCES contacts(id) ON DELETE CASCADE,
	opportunity_id INTEGER REFERENCES opportunities(id) ON DELETE SET NULL,
	assignee_id    INTEGER REFERENCES users(id),
	done           INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
	done_at        TEXT,
	external_id    TEXT UNIQUE,
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	version        INTEGER NOT NULL DEFAULT 1
);
INSERT INTO new_tasks (id, title, due_at, contact_id, opportunity_id, assignee_id, done, done_at, external_id, created_at, updated_at, version)
SELECT id, title, due_at, contact_id, opportunity_id, assignee_id, done, done_at, external_id, created_at, updated_at, version FROM tasks;
DROP TABLE tasks;
ALTER TABLE new_tasks RENAME TO tasks;
CREATE INDEX tasks_assignee_due ON tasks(assignee_id, done, due_at, id);
CREATE INDEX tasks_due ON tasks(done, due_at, id);
CREATE INDEX tasks_contact ON tasks(contact_id, id);
CREATE INDEX tasks_opportunity ON tasks(opportunity_id, id);
CREATE INDEX tasks_assignee ON tasks(assignee_id, id);
CREATE INDEX tasks_done ON tasks(done, id);
CREATE INDEX tasks_title ON tasks(title, id);
CREATE INDEX tasks_due_at ON tasks(due_at, id);
CREATE INDEX tasks_done_at ON tasks(done_at, id);
CREATE INDEX tasks_created ON tasks(created_at, id);
CREATE INDEX tasks_updated ON tasks(updated_at, id);
DELETE FROM sqlite_sequence WHERE name = 'tasks';
INSERT INTO sqlite_sequence (name, seq) SELECT 'tasks', max(
	(SELECT coalesce(max(id), 0) FROM tasks),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity = 'tasks'));

-- purchases
CREATE TABLE new_purchases (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	contact_id     INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	amount_cents   INTEGER NOT NULL,
	currency       TEXT NOT NULL,
	occurred_at    TEXT NOT NULL,
	opportunity_id INTEGER REFERENCES opportunities(id) ON DELETE SET NULL,
	reference      TEXT,
	external_id    TEXT UNIQUE,
	created_at     TEXT NOT NULL,
	updated_at     TEXT NOT NULL,
	version        INTEGER NOT NULL DEFAULT 1
);
INSERT INTO new_purchases (id, contact_id, amount_cents, currency, occurred_at, opportunity_id, reference, external_id, created_at, updated_at, version)
SELECT id, contact_id, amount_cents, currency, occurred_at, opportunity_id, reference, external_id, created_at, updated_at, version FROM purchases;
DROP TABLE purchases;
ALTER TABLE new_purchases RENAME TO purchases;
CREATE INDEX purchases_contact ON purchases(contact_id, occurred_at, id);
CREATE INDEX purchases_occurred ON purchases(occurred_at, id);
CREATE INDEX purchases_opportunity ON purchases(opportunity_id) WHERE opportunity_id IS NOT NULL;
CREATE INDEX purchases_analytics_period ON purchases(occurred_at, contact_id, amount_cents);
CREATE INDEX purchases_currency ON purchases(currency, id);
CREATE INDEX purchases_reference ON purchases(reference, id) WHERE reference IS NOT NULL;
CREATE INDEX purchases_amount ON purchases(amount_cents, id);
CREATE INDEX purchases_created ON purchases(created_at, id);
CREATE INDEX purchases_updated ON purchases(updated_at, id);
CREATE TRIGGER purchases_analytics_delete AFTER DELETE ON purchases BEGIN
	UPDATE contact_summaries SET (purchases_count, purchase_days, total_cents,
			first_purchase_at, last_purchase_at) =
		(SELECT count(*), count(DISTINCT substr(occurred_at, 1, 10)),
			coalesce(sum(amount_cents), 0), min(occurred_at), max(occurred_at)
		 FROM purchases WHERE contact_id = old.contact_id)
	WHERE contact_id = old.contact_id;
	UPDATE contact_summaries SET first_day_cents = coalesce((SELECT sum(p.amount_cents)
			FROM purchases p WHERE p.contact_id = old.contact_id
			  AND p.occurred_at >= substr(contact_summaries.first_purchase_at, 1, 10)
			  AND p.occurred_at < substr(contact_summaries.first_purchase_at, 1, 10) || 'U'), 0)
	WHERE contact_id = old.contact_id;
	DELETE FROM contact_summaries
	WHERE contact_id = old.contact_id AND purchases_count = 0 AND interactions_count = 0;
	UPDATE analytics_state SET purchase_generation = purchase_generation + 1,
		purchases = purchases - 1;
	INSERT INTO analytics_changes (contact_id) VALUES (old.contact_id);
END;
CREATE TRIGGER purchases_analytics_update AFTER UPDATE OF contact_id, amount_cents, occurred_at
ON purchases BEGIN
	INSERT OR IGNORE INTO contact_summaries (contact_id) VALUES (new.contact_id);
	UPDATE contact_summaries SET (purchases_count, purchase_days, total_cents,
			first_purchase_at, last_purchase_at) =
		(SELECT count(*), count(DISTINCT substr(p.occurred_at, 1, 10)),
			coalesce(sum(p.amount_cents), 0), min(p.occurred_at), max(p.occurred_at)
		 FROM purchases p WHERE p.contact_id = contact_summaries.contact_id)
	WHERE contact_id IN (old.contact_id, new.contact_id);
	UPDATE contact_summaries SET first_day_cents = coalesce((SELECT sum(p.amount_cents)
			FROM purchases p WHERE p.contact_id = contact_summaries.contact_id
			  AND p.occurred_at >= substr(contact_summaries.first_purchase_at, 1, 10)
			  AND p.occurred_at < substr(contact_summaries.first_purchase_at, 1, 10) || 'U'), 0)
	WHERE contact_id IN (old.contact_id, new.contact_id);
	DELETE FROM contact_summaries WHERE contact_id IN (old.contact_id, new.contact_id)
		AND purchases_count = 0 AND interactions_count = 0;
	UPDATE analytics_state SET purchase_generation = purchase_generation + 1;
	INSERT INTO analytics_changes (contact_id) VALUES (old.contact_id);
	INSERT INTO analytics_changes (contact_id) SELECT new.contact_id
		WHERE new.contact_id <> old.contact_id;
END;
CREATE TRIGGER purchases_analytics_insert AFTER INSERT ON purchases BEGIN
	INSERT OR IGNORE INTO contact_summaries (contact_id) VALUES (new.contact_id);
	UPDATE contact_summaries SET
		purchases_count = purchases_count + 1,
		purchase_days = purchase_days + NOT EXISTS (
			SELECT 1 FROM purchases p
			WHERE p.contact_id = new.contact_id AND p.id <> new.id
			  AND p.occurred_at >= substr(new.occurred_at, 1, 10)
			  AND p.occurred_at < substr(new.occurred_at, 1, 10) || 'U'),
		total_cents = total_cents + new.amount_cents,
		first_day_cents = CASE
			WHEN first_purchase_at IS NULL
			  OR substr(new.occurred_at, 1, 10) < substr(first_purchase_at, 1, 10)
				THEN new.amount_cents
			WHEN substr(new.occurred_at, 1, 10) = substr(first_purchase_at, 1, 10)
				THEN first_day_cents + new.amount_cents
			ELSE first_day_cents END,
		first_purchase_at = CASE WHEN first_purchase_at IS NULL
			OR new.occurred_at < first_purchase_at THEN new.occurred_at
			ELSE first_purchase_at END,
		last_purchase_at = CASE WHEN last_purchase_at IS NULL
			OR new.occurred_at > last_purchase_at THEN new.occurred_at
			ELSE last_purchase_at END
	WHERE contact_id = new.contact_id;
	UPDATE analytics_state SET purchase_generation = purchase_generation + 1,
		purchases = purchases + 1;
	INSERT INTO analytics_changes (contact_id) VALUES (new.contact_id);
END;
DELETE FROM sqlite_sequence WHERE name = 'purchases';
INSERT INTO sqlite_sequence (name, seq) SELECT 'purchases', max(
	(SELECT coalesce(max(id), 0) FROM purchases),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity = 'purchases'));

-- segments
CREATE TABLE new_segments (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	name        TEXT NOT NULL,
	kind        TEXT NOT NULL CHECK (kind IN ('dynamic', 'static')),
	rule        TEXT,            -- JSON rule tree; dynamic segments only
	description TEXT,
	owner_id    INTEGER REFERENCES users(id),
	tags        TEXT NOT NULL DEFAULT '[]',
	external_id TEXT UNIQUE,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1,
	CHECK ((kind = 'dynamic') = (rule IS NOT NULL))
);
INSERT INTO new_segments (id, name, kind, rule, description, owner_id, tags, external_id, created_at, updated_at, version)
SELECT id, name, kind, rule, description, owner_id, tags, external_id, created_at, updated_at, version FROM segments;
DROP TABLE segments;
ALTER TABLE new_segments RENAME TO segments;
CREATE INDEX segments_owner ON segments(owner_id, id);
CREATE INDEX segments_kind ON segments(kind, id);
CREATE INDEX segments_name ON segments(name, id);
CREATE INDEX segments_created ON segments(created_at, id);
CREATE INDEX segments_updated ON segments(updated_at, id);
DELETE FROM sqlite_sequence WHERE name = 'segments';
INSERT INTO sqlite_sequence (name, seq) SELECT 'segments', max(
	(SELECT coalesce(max(id), 0) FROM segments),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity = 'segments'));

-- webhooks
CREATE TABLE new_webhooks (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	url         TEXT NOT NULL,
	events      TEXT NOT NULL DEFAULT '["*"]', -- JSON array of event names, "<entity>.*" or "*"
	secret      TEXT NOT NULL,                 -- HMAC-SHA256 key; never answered after creation
	active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	description TEXT,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1
);
INSERT INTO new_webhooks (id, url, events, secret, active, description, created_at, updated_at, version)
SELECT id, url, events, secret, active, description, created_at, updated_at, version FROM webhooks;
DROP TABLE webhooks;
ALTER TABLE new_webhooks RENAME TO webhooks;
CREATE INDEX webhooks_active ON webhooks(active, id);
CREATE INDEX webhooks_created ON webhooks(created_at, id);
CREATE INDEX webhooks_updated ON webhooks(updated_at, id);
DELETE FROM sqlite_sequence WHERE name = 'webhooks';
INSERT INTO sqlite_sequence (name, seq) SELECT 'webhooks', max(
	(SELECT coalesce(max(id), 0) FROM webhooks),
	(SELECT coalesce(max(entity_id), 0) FROM audit_log WHERE entity = 'webhooks'));
