-- 0009_audit_contacts.sql: which contact each audit entry is about, for the GDPR export and
-- erasure (gdpr.h): the entries of a contact and of its interactions, tasks, opportunities
-- and purchases, also of records deleted or moved to another contact since (their
-- before/after name it in contact_id). Kept by a trigger on every new entry, whoever writes
-- it, so that finding a person's entries is one index range instead of reading the log.

CREATE TABLE audit_contacts (
	contact_id INTEGER NOT NULL,
	audit_id   INTEGER NOT NULL,
	PRIMARY KEY (contact_id, audit_id)
) WITHOUT ROWID;

CREATE TRIGGER audit_log_contacts AFTER INSERT ON audit_log
WHEN new.entity IN ('contacts', 'interactions', 'tasks', 'opportunities', 'purchases') BEGIN
	INSERT OR IGNORE INTO audit_contacts (contact_id, audit_id)
	SELECT contact_id, new.id FROM (
		SELECT new.entity_id AS contact_id WHERE new.entity = 'contacts'
		UNION ALL SELECT json_extract(new.before, '$.contact_id')
			WHERE new.entity <> 'contacts' AND json_valid(new.before)
		UNION ALL SELECT json_extract(new.after, '$.contact_id')
			WHERE new.entity <> 'contacts' AND json_valid(new.after))
	WHERE typeof(contact_id) = 'integer';
END;

-- the entries written before this migration
INSERT OR IGNORE INTO audit_contacts (contact_id, audit_id)
	SELECT entity_id, id FROM audit_log WHERE entity = 'contacts' AND entity_id IS NOT NULL;
INSERT OR IGNORE INTO audit_contacts (contact_id, audit_id)
	SELECT json_extract(before, '$.contact_id'), id FROM audit_log
	WHERE entity IN ('interactions', 'tasks', 'opportunities', 'purchases')
	  AND json_valid(before) AND typeof(json_extract(before, '$.contact_id')) = 'integer';
INSERT OR IGNORE INTO audit_contacts (contact_id, audit_id)
	SELECT json_extract(after, '$.contact_id'), id FROM audit_log
	WHERE entity IN ('interactions', 'tasks', 'opportunities', 'purchases')
	  AND json_valid(after) AND typeof(json_extract(after, '$.contact_id')) = 'integer';
