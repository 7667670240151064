-- 0015_segment_watch.sql: the last known members of watched dynamic segments
-- (include/crm/segment_watch.h, src/segment_watch.c). Static segments announce their
-- member changes at once (segments.c); a dynamic segment's members follow its rule, so
-- crmd's periodic pass compares the rule's current members with the set kept here and
-- emits segment.member_added / member_removed for the difference. Rows exist only while
-- an active webhook endpoint is subscribed to those events.

-- One row per watched dynamic segment. baseline_at is NULL while the first pass (which
-- emits nothing) is still taking the baseline, then the time it was complete.
CREATE TABLE segment_watch_state (
	segment_id  INTEGER PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
	baseline_at TEXT,
	checked_at  TEXT,                        -- the end of the last complete pass
	members     INTEGER NOT NULL DEFAULT 0   -- rows in segment_watch_members
);

-- The member set as of the last pass. Deleting the segment (through its state row) or the
-- contact removes its rows.
CREATE TABLE segment_watch_members (
	segment_id INTEGER NOT NULL REFERENCES segment_watch_state(segment_id) ON DELETE CASCADE,
	contact_id INTEGER NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
	PRIMARY KEY (segment_id, contact_id)
) WITHOUT ROWID;
-- for the cascade of a contact's deletion
CREATE INDEX segment_watch_members_contact ON segment_watch_members(contact_id);
