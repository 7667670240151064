-- 0006_gdpr.sql: erasure of a person's data (API.md section 5, GDPR; src/gdpr.c).
-- An erased contact stays as an anonymous row, so that its purchases (revenue) and the
-- analytics built on them stay right: its personal fields are cleared and erased_at says
-- when. Lists and searches leave erased contacts out (contacts' list_filter).

ALTER TABLE contacts ADD COLUMN erased_at TEXT;
