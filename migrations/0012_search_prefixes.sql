-- 0012_search_prefixes.sql: prefix indexes of 1 to 8 characters on contacts_fts and
-- companies_fts (0001 had 2 and 3), for the search as the user types (issue 6).
--
-- Each search word is a prefix query ("schmidt"*, src/resource.c: resource_fts_query).
-- FTS5 reads a prefix of exactly N characters from its prefix index of size N lazily, in
-- rowid order, and the search (src/resource_store.c) stops after a page of matches. For a
-- prefix of any other length FTS5 first merges the doclists of every term that starts with
-- it into one list, whatever the LIMIT: the cost grows with the matches. At 1,000,000
-- contacts "schmidt"* took 3.8 ms against 0.05 ms for "li"*, and a one-letter word, which
-- the web UI sends at the first key stroke, 16 to 54 ms (docs/performance.md). A prefix of
-- 9 characters or more is still merged first, at a cost in proportion to its matches, which
-- are fewer ("fernandes"*: 2.9 ms for 15,828 matches at 1,000,000 contacts).
--
-- FTS5 cannot change the prefix option of a table: each table is dropped, created again
-- with the same columns, content table and tokenizer, and rebuilt from its content table
-- (the triggers on contacts and companies, 0011, and src/fts_pending.c name the FTS tables
-- and keep working). interactions_fts (0003) keeps '2 3': with ten interactions per
-- contact its rebuild would hold the upgrade for minutes at 1,000,000 contacts.

DROP TABLE contacts_fts;
CREATE VIRTUAL TABLE contacts_fts USING fts5(
	first_name, last_name, email, phone, title,
	content = 'contacts', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8'
);
INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild');

DROP TABLE companies_fts;
CREATE VIRTUAL TABLE companies_fts USING fts5(
	name, domain, industry,
	content = 'companies', content_rowid = 'id',
	tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3 4 5 6 7 8'
);
INSERT INTO companies_fts (companies_fts) VALUES ('rebuild');

-- The rebuilt indexes hold every row of their content tables: no row of these two is
-- waiting in fts_pending (0011) any more, and the commit must not index one twice.
DELETE FROM fts_pending WHERE fts_table IN ('contacts_fts', 'companies_fts');
