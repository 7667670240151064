-- The storage of the resource notes, written by `crmctl resource sql notes` from its descriptor.

CREATE TABLE notes (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	title TEXT NOT NULL,
	body TEXT,
	kind TEXT CHECK (kind IN ('idea', 'memo', 'minutes')),
	contact_id INTEGER REFERENCES contacts(id) ON DELETE SET NULL,
	owner_id INTEGER REFERENCES users(id),
	tags TEXT NOT NULL DEFAULT '[]',
	external_id TEXT UNIQUE,
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX notes_title ON notes(title, id);
CREATE INDEX notes_kind ON notes(kind, id);
CREATE INDEX notes_contact_id ON notes(contact_id, id);
CREATE INDEX notes_owner_id ON notes(owner_id, id);

CREATE VIRTUAL TABLE notes_fts USING fts5(
	title, body,
	content = 'notes', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
INSERT INTO notes_fts (notes_fts) VALUES ('rebuild');
CREATE TRIGGER notes_fts_insert AFTER INSERT ON notes BEGIN
	INSERT OR IGNORE INTO fts_pending (fts_table, row_id) VALUES ('notes_fts', new.id);
END;
CREATE TRIGGER notes_fts_delete AFTER DELETE ON notes BEGIN
	INSERT INTO notes_fts (notes_fts, rowid, title, body)
	SELECT 'delete', old.id, old.title, old.body
	WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'notes_fts' AND row_id = old.id);
	DELETE FROM fts_pending WHERE fts_table = 'notes_fts' AND row_id = old.id;
END;
CREATE TRIGGER notes_fts_update AFTER UPDATE OF title, body ON notes
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'notes_fts' AND row_id = old.id)
BEGIN
	INSERT INTO notes_fts (notes_fts, rowid, title, body)
	VALUES ('delete', old.id, old.title, old.body);
	INSERT INTO notes_fts (rowid, title, body)
	VALUES (new.id, new.title, new.body);
END;

INSERT INTO grants (role, resource, action, scope) VALUES
	('admin', 'notes', 'read', 'all'),
	('admin', 'notes', 'write', 'all'),
	('admin', 'notes', 'delete', 'all'),
	('manager', 'notes', 'read', 'all'),
	('manager', 'notes', 'write', 'team'),
	('manager', 'notes', 'delete', 'team'),
	('rep', 'notes', 'read', 'all'),
	('rep', 'notes', 'write', 'own'),
	('rep', 'notes', 'delete', 'none'),
	('viewer', 'notes', 'read', 'all'),
	('viewer', 'notes', 'write', 'none'),
	('viewer', 'notes', 'delete', 'none');
