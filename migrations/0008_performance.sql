-- 0008_performance.sql: an index for every filter and sort of the lists that had none
-- (issue 6; tests/api/test_query_plans.py explains every list and fails on a full scan).
--
-- The shape is (column, id): a page of `?<column>=value` in the default id order is then
-- one range of one index, read in order and left after `limit` rows, and a page of
-- `?sort=<column>` walks the index from the cursor on ((column, id) > (?, ?)). An index
-- that starts with the column but goes on with another one (interactions_kind is
-- (kind, occurred_at, id)) finds the rows but not in id order, so a page had to sort every
-- match: with eight kinds over ten million interactions, over a million rows per page.
-- Range filters (since, until, updated_since, due_before, ...) use the index of their column.

-- interactions: ~10 per contact, the largest table.
CREATE INDEX interactions_kind_id ON interactions(kind, id);
CREATE INDEX interactions_direction ON interactions(direction, id) WHERE direction IS NOT NULL;
CREATE INDEX interactions_outcome ON interactions(outcome, id) WHERE outcome IS NOT NULL;
CREATE INDEX interactions_created ON interactions(created_at, id);
CREATE INDEX interactions_updated ON interactions(updated_at, id);

-- purchases: ~5 per contact.
CREATE INDEX purchases_currency ON purchases(currency, id);
CREATE INDEX purchases_reference ON purchases(reference, id) WHERE reference IS NOT NULL;
CREATE INDEX purchases_amount ON purchases(amount_cents, id);
CREATE INDEX purchases_created ON purchases(created_at, id);
CREATE INDEX purchases_updated ON purchases(updated_at, id);

-- opportunities
CREATE INDEX opportunities_stage_id ON opportunities(stage, id);
CREATE INDEX opportunities_owner_id ON opportunities(owner_id, id);
CREATE INDEX opportunities_currency ON opportunities(currency, id);
CREATE INDEX opportunities_name ON opportunities(name, id);
CREATE INDEX opportunities_amount ON opportunities(amount_cents, id);
CREATE INDEX opportunities_probability ON opportunities(probability, id);
CREATE INDEX opportunities_closed ON opportunities(closed_at, id);
CREATE INDEX opportunities_created ON opportunities(created_at, id);

-- tasks
CREATE INDEX tasks_assignee ON tasks(assignee_id, id);
CREATE INDEX tasks_done ON tasks(done, id);
CREATE INDEX tasks_title ON tasks(title, id);
CREATE INDEX tasks_due_at ON tasks(due_at, id);
CREATE INDEX tasks_done_at ON tasks(done_at, id);
CREATE INDEX tasks_created ON tasks(created_at, id);
CREATE INDEX tasks_updated ON tasks(updated_at, id);

-- audit_log: one row per write, so it outgrows every other table.
CREATE INDEX audit_log_entity_id ON audit_log(entity_id, id);
CREATE INDEX audit_log_action ON audit_log(action, id);
CREATE INDEX audit_log_at ON audit_log(at, id);
