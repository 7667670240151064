-- 0016_sort_indexes.sql: indexes for the list orders added in issue 2 (?sort= on contacts'
-- title and source, compared without case as the descriptor in src/contacts.c says).
-- Every list page is one range of an index on (sort column, id) (src/resource_store.c); the
-- other new sort keys (contacts' company_id, owner_id and lifecycle, companies' owner_id)
-- have theirs since 0001 (rebuilt by 0013). tests/api/test_query_plans.py checks the plans.

CREATE INDEX contacts_title ON contacts(title COLLATE NOCASE, id);
CREATE INDEX contacts_source ON contacts(source COLLATE NOCASE, id);
