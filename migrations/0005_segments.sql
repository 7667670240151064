-- 0005_segments.sql: segments of contacts. A dynamic segment is a rule (segment_rule.h),
-- evaluated on every request; a static segment is a list of members kept here.

CREATE TABLE segments (
	id          INTEGER PRIMARY KEY,
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
CREATE INDEX segments_owner ON segments(owner_id, id);
CREATE INDEX segments_kind ON segments(kind, id);
CREATE INDEX segments_name ON segments(name, id);
CREATE INDEX segments_created ON segments(created_at, id);
CREATE INDEX segments_updated ON segments(updated_at, id);

-- The members of static segments. Deleting a segment or a contact removes its rows.
CREATE TABLE segment_members (
	segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
	contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	added_at   TEXT NOT NULL,
	PRIMARY KEY (segment_id, contact_id)
) WITHOUT ROWID;
CREATE INDEX segment_members_contact ON segment_members(contact_id, segment_id);
