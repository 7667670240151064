-- 0010_analytics_changes_trim.sql: a cheaper trim of the change log analytics_changes.
--
-- 0004's insert triggers on purchases and interactions trimmed the log with
--     DELETE FROM analytics_changes WHERE last_insert_rowid() % 1000 = 0
--         AND seq <= last_insert_rowid() - 100000;
-- on EVERY insert. SQLite walks the rows below the bound (up to a thousand of them, the
-- ones the next trim will delete) checking the first condition on each: about 28 us per
-- inserted purchase or interaction once the log is full.
--
-- Here the trim moves to one trigger on the log itself, and its WHEN clause makes it run
-- only on every 1,000th change: then it deletes the changes more than 100,000 back (a
-- range of the seq key). The other 999 inserts pay one comparison. The log keeps what the
-- incremental update of the scores relies on (src/analytics_scores.c): every change of the
-- last 99,000 or more, contiguous up to the newest, with seq never reused (AUTOINCREMENT).
-- Changes logged by the delete and update triggers now count towards the trim as well
-- (before, only inserts trimmed).
--
-- The insert triggers are recreated as in 0004, without their DELETE.

DROP TRIGGER purchases_analytics_insert;
DROP TRIGGER interactions_analytics_insert;

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

CREATE TRIGGER analytics_changes_trim AFTER INSERT ON analytics_changes
WHEN new.seq % 1000 = 0 BEGIN
	DELETE FROM analytics_changes WHERE seq <= new.seq - 100000;
END;
