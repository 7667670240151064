-- 0017: no planner statistics for the full-text indexes' own tables and for fts_pending.
--
-- crmctl demo-data ran ANALYZE inside its transaction, before the commit indexed its rows:
-- sqlite_stat1 then said that interactions_fts_data holds 2 rows (it holds 414,117 at 1M
-- contacts) and that fts_pending holds 13 million (it is empty between transactions). With
-- "2 rows" the planner reads FTS5's own range queries on the _data table as full scans: at
-- 1M contacts every flush of new rows into interactions_fts re-read the whole index (1.6
-- GiB) and creates fell from thousands to a few per second (docs/performance.md). Both
-- kinds of table change size all the time, so they get no statistics at all (the planner's
-- defaults suit them); demo-data now drops the same rows after its ANALYZE.
--
-- ANALYZE of the (usually empty) fts_pending creates sqlite_stat1 where it did not exist yet,
-- so that the DELETE always has a table to work on.
ANALYZE fts_pending;
DELETE FROM sqlite_stat1 WHERE tbl = 'fts_pending' OR tbl GLOB '*_fts_*';
