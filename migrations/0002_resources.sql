-- 0002_resources.sql: what the generic resource mechanism (src/resource*.c) adds to 0001.
-- An Idempotency-Key is bound to its first request: the hash of the request body is kept
-- so that the same key with another body is refused instead of answering the wrong thing.

ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';

-- ?sort=relationship_level (and its filter) on contacts walks an index like the other sorts.
CREATE INDEX contacts_relationship_level ON contacts(relationship_level, id);
