-- Full-text indexing in bulk at commit (issue 6).
--
-- The insert triggers of 0001/0003 wrote each new row into its FTS5 table at once, and FTS5
-- writes its pending terms to a new on-disk segment at every statement savepoint: a segment
-- write and an automerge per row, about three quarters of the cost of an insert. Now an
-- insert only records the row in fts_pending, and db_commit() (fts_pending_flush(), see
-- include/crm/fts_pending.h) indexes all of a transaction's new rows with one
-- INSERT ... SELECT per FTS table just before COMMIT, so a committed database never has
-- pending rows.
--
-- The invariant: a row is in fts_pending if and only if it is not in its FTS index (yet).
-- An external-content FTS5 'delete' must carry exactly the values that were indexed (and
-- only for a row that is indexed), so:
--   - update of a pending row: nothing; the flush indexes its latest values;
--   - update of an indexed row: 'delete' of the old values and insert of the new ones,
--     as before;
--   - delete of a pending row: it leaves fts_pending; the index never saw it;
--   - delete of an indexed row: 'delete' of the old values, as before.
-- Rows that exist when this migration runs are all indexed, and none is pending.
-- Each delete trigger does both cases in one body, in this order: two triggers with
-- opposite WHEN clauses would depend on SQLite's unspecified order of firing (the one that
-- removes the pending row first would make the other 'delete' a row never indexed).
CREATE TABLE fts_pending (
	fts_table TEXT NOT NULL,    -- 'contacts_fts', 'companies_fts' or 'interactions_fts'
	row_id    INTEGER NOT NULL, -- the content table's id (the FTS rowid)
	PRIMARY KEY (fts_table, row_id)
) WITHOUT ROWID;

-- contacts
DROP TRIGGER contacts_fts_insert;
DROP TRIGGER contacts_fts_delete;
DROP TRIGGER contacts_fts_update;
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

-- companies
DROP TRIGGER companies_fts_insert;
DROP TRIGGER companies_fts_delete;
DROP TRIGGER companies_fts_update;
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

-- interactions
DROP TRIGGER interactions_fts_insert;
DROP TRIGGER interactions_fts_delete;
DROP TRIGGER interactions_fts_update;
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
