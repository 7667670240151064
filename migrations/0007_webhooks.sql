-- 0007_webhooks.sql: outgoing webhooks (include/crm/webhooks.h, src/webhook*.c).
--
-- A change and its events commit together: the request that changes a record writes the
-- event into webhook_outbox and one webhook_deliveries row per active endpoint subscribed
-- to it, in the change's own transaction (nothing for a rolled-back change, nothing lost
-- on a crash). crmd's delivery thread sends the pending deliveries, records every attempt
-- in webhook_attempts and reschedules failures with a growing delay.
-- Delivery times that the worker compares (next_attempt_at, retry_since) are seconds since
-- the epoch; the others are RFC 3339 UTC text like everywhere else.

CREATE TABLE webhooks (
	id          INTEGER PRIMARY KEY,
	url         TEXT NOT NULL,
	events      TEXT NOT NULL DEFAULT '["*"]', -- JSON array of event names, "<entity>.*" or "*"
	secret      TEXT NOT NULL,                 -- HMAC-SHA256 key; never answered after creation
	active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
	description TEXT,
	created_at  TEXT NOT NULL,
	updated_at  TEXT NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1
);
-- Every write looks for the active endpoints: without any, one index probe finds nothing.
CREATE INDEX webhooks_active ON webhooks(active, id);
CREATE INDEX webhooks_created ON webhooks(created_at, id);
CREATE INDEX webhooks_updated ON webhooks(updated_at, id);

CREATE TABLE webhook_outbox (
	id          INTEGER PRIMARY KEY AUTOINCREMENT, -- the payload's id: never reused
	event       TEXT NOT NULL,                  -- contact.created, opportunity.won, ...
	occurred_at TEXT NOT NULL,
	data        TEXT NOT NULL,                  -- JSON: the record as the API shows it
	previous    TEXT                            -- JSON: changed fields' former values, or NULL
);

CREATE TABLE webhook_deliveries (
	id               INTEGER PRIMARY KEY AUTOINCREMENT, -- X-CRM-Delivery: never reused
	webhook_id       INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
	event_id         INTEGER NOT NULL REFERENCES webhook_outbox(id) ON DELETE CASCADE,
	status           TEXT NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER,                   -- pending: when it is due
	retry_since      INTEGER NOT NULL,          -- start of the retry window (creation, redelivery)
	last_attempt_at  TEXT,
	last_status_code INTEGER,
	last_error       TEXT,
	last_duration_ms INTEGER,
	delivered_at     TEXT,
	created_at       TEXT NOT NULL
);
CREATE INDEX webhook_deliveries_status ON webhook_deliveries(status, next_attempt_at, id);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries(webhook_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries(event_id);

CREATE TABLE webhook_attempts (
	id           INTEGER PRIMARY KEY,
	delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
	attempted_at TEXT NOT NULL,
	status_code  INTEGER,                       -- NULL when no HTTP answer came
	error        TEXT,                          -- NULL for a 2xx answer
	duration_ms  INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, id);
