-- 0014_tasks_opportunities_search.sql: ?q= full-text search on tasks (title) and
-- opportunities (name, lost_reason), as API.md section 4 promises wherever a resource has
-- text; they refused it with 400 before.
--
-- Like interactions_fts (0003) with the deferred indexing of 0011 from the start: external
-- content FTS5 tables (rowid = the table's id), filled from their content tables here (the
-- backfill of the rows that exist), an insert trigger that only queues the new row in
-- fts_pending (src/fts_pending.c indexes it at commit), and update and delete triggers that
-- keep 0011's invariant (a row is in fts_pending exactly when it is not in its index). The
-- GDPR erasure rewrites task titles and opportunity names and lost reasons: the update
-- triggers take the old words out of the index, and the purge (src/gdpr_purge.c) merges
-- them out of the segments.

CREATE VIRTUAL TABLE tasks_fts USING fts5(
	title,
	content = 'tasks', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
INSERT INTO tasks_fts (tasks_fts) VALUES ('rebuild');

CREATE TRIGGER tasks_fts_insert AFTER INSERT ON tasks BEGIN
	INSERT OR IGNORE INTO fts_pending (fts_table, row_id) VALUES ('tasks_fts', new.id);
END;
CREATE TRIGGER tasks_fts_delete AFTER DELETE ON tasks BEGIN
	INSERT INTO tasks_fts (tasks_fts, rowid, title)
	SELECT 'delete', old.id, old.title
	WHERE NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'tasks_fts' AND row_id = old.id);
	DELETE FROM fts_pending WHERE fts_table = 'tasks_fts' AND row_id = old.id;
END;
CREATE TRIGGER tasks_fts_update AFTER UPDATE OF title ON tasks
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'tasks_fts' AND row_id = old.id)
BEGIN
	INSERT INTO tasks_fts (tasks_fts, rowid, title) VALUES ('delete', old.id, old.title);
	INSERT INTO tasks_fts (rowid, title) VALUES (new.id, new.title);
END;

CREATE VIRTUAL TABLE opportunities_fts USING fts5(
	name, lost_reason,
	content = 'opportunities', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3'
);
INSERT INTO opportunities_fts (opportunities_fts) VALUES ('rebuild');

CREATE TRIGGER opportunities_fts_insert AFTER INSERT ON opportunities BEGIN
	INSERT OR IGNORE INTO fts_pending (fts_table, row_id) VALUES ('opportunities_fts', new.id);
END;
CREATE TRIGGER opportunities_fts_delete AFTER DELETE ON opportunities BEGIN
	INSERT INTO opportunities_fts (opportunities_fts, rowid, name, lost_reason)
	SELECT 'delete', old.id, old.name, old.lost_reason
	WHERE NOT EXISTS (SELECT 1 FROM fts_pending
	                  WHERE fts_table = 'opportunities_fts' AND row_id = old.id);
	DELETE FROM fts_pending WHERE fts_table = 'opportunities_fts' AND row_id = old.id;
END;
CREATE TRIGGER opportunities_fts_update AFTER UPDATE OF name, lost_reason ON opportunities
WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE fts_table = 'opportunities_fts' AND row_id = old.id)
BEGIN
	INSERT INTO opportunities_fts (opportunities_fts, rowid, name, lost_reason)
	VALUES ('delete', old.id, old.name, old.lost_reason);
	INSERT INTO opportunities_fts (rowid, name, lost_reason)
	VALUES (new.id, new.name, new.lost_reason);
END;
