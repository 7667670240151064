-- 0003_operations.sql: the operational CRM: interactions (every touch point), tasks,
-- opportunities with their stage history, and purchases (revenue events).
-- Money is an integer of minor units plus an ISO 4217 code.

CREATE TABLE interactions (
	id          INTEGER PRIMARY KEY,
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
CREATE INDEX interactions_contact ON interactions(contact_id, occurred_at, id);
CREATE INDEX interactions_kind ON interactions(kind, occurred_at, id);
CREATE INDEX interactions_occurred ON interactions(occurred_at, id);
CREATE INDEX interactions_user ON interactions(user_id, id);
CREATE INDEX interactions_status ON interactions(status, id) WHERE status IS NOT NULL;

CREATE VIRTUAL TABLE interactions_fts USING fts5(
	subject, body,
	content = 'interactions', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
CREATE TRIGGER interactions_fts_insert AFTER INSERT ON interactions BEGIN
	INSERT INTO interactions_fts (rowid, subject, body) VALUES (new.id, new.subject, new.body);
END;
CREATE TRIGGER interactions_fts_delete AFTER DELETE ON interactions BEGIN
	INSERT INTO interactions_fts (interactions_fts, rowid, subject, body)
	VALUES ('delete', old.id, old.subject, old.body);
END;
CREATE TRIGGER interactions_fts_update AFTER UPDATE OF subject, body ON interactions BEGIN
	INSERT INTO interactions_fts (interactions_fts, rowid, subject, body)
	VALUES ('delete', old.id, old.subject, old.body);
	INSERT INTO interactions_fts (rowid, subject, body) VALUES (new.id, new.subject, new.body);
END;

CREATE TABLE opportunities (
	id             INTEGER PRIMARY KEY,
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
CREATE INDEX opportunities_stage ON opportunities(stage, expected_close, id);
CREATE INDEX opportunities_owner ON opportunities(owner_id, stage, id);
CREATE INDEX opportunities_contact ON opportunities(contact_id, id);
CREATE INDEX opportunities_company ON opportunities(company_id, id);
CREATE INDEX opportunities_expected_close ON opportunities(expected_close, id);
CREATE INDEX opportunities_updated ON opportunities(updated_at, id);

-- Every stage an opportunity went through, for stage history and the timeline.
CREATE TABLE opportunity_stage_changes (
	id             INTEGER PRIMARY KEY,
	opportunity_id INTEGER NOT NULL REFERENCES opportunities(id) ON DELETE CASCADE,
	from_stage     TEXT,            -- NULL for the first stage at creation
	to_stage       TEXT NOT NULL,
	changed_at     TEXT NOT NULL,
	user_id        INTEGER REFERENCES users(id)
);
CREATE INDEX opportunity_stage_changes_opportunity ON opportunity_stage_changes(opportunity_id, id);

CREATE TABLE tasks (
	id             INTEGER PRIMARY KEY,
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
CREATE INDEX tasks_assignee_due ON tasks(assignee_id, done, due_at, id);
CREATE INDEX tasks_due ON tasks(done, due_at, id);
CREATE INDEX tasks_contact ON tasks(contact_id, id);
CREATE INDEX tasks_opportunity ON tasks(opportunity_id, id);

CREATE TABLE purchases (
	id             INTEGER PRIMARY KEY,
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
CREATE INDEX purchases_contact ON purchases(contact_id, occurred_at, id);
CREATE INDEX purchases_occurred ON purchases(occurred_at, id);
CREATE INDEX purchases_opportunity ON purchases(opportunity_id) WHERE opportunity_id IS NOT NULL;
