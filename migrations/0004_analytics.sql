-- 0004_analytics.sql: customer analytics (include/crm/analytics.h, docs/analytics.md).
--
-- contact_summaries holds one row per contact with at least one purchase or interaction.
-- Triggers on purchases and interactions keep it current inside the writer's own
-- transaction, whoever writes (API, crmctl import, demo-data, plain SQL): an insert adjusts
-- the row in place (the common, bulk case); an update or a delete recomputes the contact's
-- row from its records (through the (contact_id, occurred_at) indexes).
-- A "purchase day" is a distinct UTC day with at least one purchase: several purchases on
-- one day are one purchase for the models (the CDNOW convention). Days are the first ten
-- characters of occurred_at (RFC 3339 UTC text); the records of day D of a contact are the
-- index range occurred_at >= 'D' AND occurred_at < 'D' || 'U'.
-- The same triggers append the contact to analytics_changes (a log of the last 100,000
-- changed contacts) and count purchase writes in analytics_state, so that caches (the
-- per-connection temp.contact_scores, the fitted models) know without reading the data
-- what moved.

CREATE TABLE contact_summaries (
	contact_id           INTEGER PRIMARY KEY,
	purchases_count      INTEGER NOT NULL DEFAULT 0, -- purchase records
	purchase_days        INTEGER NOT NULL DEFAULT 0, -- distinct UTC days with a purchase
	total_cents          INTEGER NOT NULL DEFAULT 0,
	average_cents        INTEGER GENERATED ALWAYS AS
		(CASE WHEN purchases_count > 0 THEN total_cents / purchases_count END) VIRTUAL,
	first_purchase_at    TEXT,
	last_purchase_at     TEXT,
	first_day_cents      INTEGER NOT NULL DEFAULT 0, -- spent on the first purchase day
	interactions_count   INTEGER NOT NULL DEFAULT 0,
	first_interaction_at TEXT,
	last_interaction_at  TEXT,
	call_count           INTEGER NOT NULL DEFAULT 0,
	email_count          INTEGER NOT NULL DEFAULT 0,
	meeting_count        INTEGER NOT NULL DEFAULT 0,
	note_count           INTEGER NOT NULL DEFAULT 0,
	ticket_count         INTEGER NOT NULL DEFAULT 0,
	chat_count           INTEGER NOT NULL DEFAULT 0,
	sms_count            INTEGER NOT NULL DEFAULT 0,
	visit_count          INTEGER NOT NULL DEFAULT 0,
	inbound_count        INTEGER NOT NULL DEFAULT 0, -- direction 'inbound'
	service_count        INTEGER NOT NULL DEFAULT 0  -- tickets or inbound: service needed
);

CREATE TABLE analytics_state (
	id                  INTEGER PRIMARY KEY CHECK (id = 1),
	config_generation   INTEGER NOT NULL, -- +1 on a change of analytics.* settings, a refit
	purchase_generation INTEGER NOT NULL, -- +1 on every purchase insert, change or delete
	purchases           INTEGER NOT NULL  -- purchase records
);

-- Contacts whose purchases or interactions changed, in order. A cache built at seq S is
-- current while max(seq) = S; with a few more rows it updates just those contacts. The
-- triggers keep the last 100,000 rows (trimming every 1,000th insert).
CREATE TABLE analytics_changes (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	contact_id INTEGER NOT NULL
);

-- Fitted models: 'live' (today's customer base, refitted when the data moved enough) and
-- as-of fits keyed by their date (valid while purchase_generation is unchanged).
CREATE TABLE analytics_fits (
	key                 TEXT PRIMARY KEY,
	fitted_at           TEXT NOT NULL,
	data_as_of          TEXT NOT NULL,
	customers           INTEGER NOT NULL,
	purchases           INTEGER NOT NULL,
	purchase_generation INTEGER NOT NULL,
	duration_ms         INTEGER NOT NULL,
	mean_spend_cents    REAL NOT NULL,
	bgnbd               TEXT NOT NULL, -- JSON: status, parameters, diagnostics
	gamma_gamma         TEXT NOT NULL  -- JSON
) WITHOUT ROWID;

-- The dashboard's revenue of a period (GET analytics/summary) reads only this index: the
-- rows of a month are spread over the whole table.
CREATE INDEX purchases_analytics_period ON purchases(occurred_at, contact_id, amount_cents);

-- ---------------------------------------------------------------- purchases

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
	DELETE FROM analytics_changes WHERE last_insert_rowid() % 1000 = 0
		AND seq <= last_insert_rowid() - 100000;
END;

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

-- ---------------------------------------------------------------- interactions

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
	DELETE FROM analytics_changes WHERE last_insert_rowid() % 1000 = 0
		AND seq <= last_insert_rowid() - 100000;
END;

-- The interaction columns of the rows of some contacts, recomputed from their records.
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

-- ---------------------------------------------------------------- contacts and settings

-- Deleting a contact cascades to its purchases and interactions (whose triggers adjust the
-- row); whatever the order, the row goes with the contact.
CREATE TRIGGER contacts_analytics_delete AFTER DELETE ON contacts BEGIN
	DELETE FROM contact_summaries WHERE contact_id = old.id;
	INSERT INTO analytics_changes (contact_id) VALUES (old.id);
END;

CREATE TRIGGER settings_analytics_insert AFTER INSERT ON settings
WHEN new.key LIKE 'analytics.%' BEGIN
	UPDATE analytics_state SET config_generation = config_generation + 1;
END;
CREATE TRIGGER settings_analytics_update AFTER UPDATE ON settings
WHEN new.key LIKE 'analytics.%' OR old.key LIKE 'analytics.%' BEGIN
	UPDATE analytics_state SET config_generation = config_generation + 1;
END;
CREATE TRIGGER settings_analytics_delete AFTER DELETE ON settings
WHEN old.key LIKE 'analytics.%' BEGIN
	UPDATE analytics_state SET config_generation = config_generation + 1;
END;

-- ---------------------------------------------------------------- backfill

INSERT INTO analytics_state (id, config_generation, purchase_generation, purchases)
	VALUES (1, 1, 1, (SELECT count(*) FROM purchases));

INSERT INTO contact_summaries (contact_id, purchases_count, purchase_days, total_cents,
		first_purchase_at, last_purchase_at)
	SELECT contact_id, count(*), count(DISTINCT substr(occurred_at, 1, 10)),
		sum(amount_cents), min(occurred_at), max(occurred_at)
	FROM purchases GROUP BY contact_id;
UPDATE contact_summaries SET first_day_cents = coalesce((SELECT sum(p.amount_cents)
		FROM purchases p WHERE p.contact_id = contact_summaries.contact_id
		  AND p.occurred_at >= substr(contact_summaries.first_purchase_at, 1, 10)
		  AND p.occurred_at < substr(contact_summaries.first_purchase_at, 1, 10) || 'U'), 0)
	WHERE purchases_count > 0;
INSERT OR IGNORE INTO contact_summaries (contact_id)
	SELECT DISTINCT contact_id FROM interactions;
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
	WHERE contact_id IN (SELECT contact_id FROM interactions);
