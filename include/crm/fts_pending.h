/*
 * fts_pending.h - full-text indexing of new rows in bulk, at the end of a write transaction.
 *
 * The FTS5 tables of the resources (their descriptors' fts_table and search_columns, e.g.
 * contacts_fts; external content, rowid = the table's id) are not written by the insert
 * triggers any more (migration 0011): FTS5 writes a new on-disk segment at every statement
 * savepoint, so indexing row by row cost a segment write and an automerge per insert. An insert records its row in the table
 * fts_pending instead, and fts_pending_flush() indexes all pending rows of the transaction
 * with one INSERT ... SELECT per FTS table. Updates and deletes of pending rows leave the
 * index alone (see the migration for the invariant: a row is pending exactly when it is not
 * in its index).
 *
 * db_commit() calls the flush before COMMIT in every write transaction, so a committed
 * database has no pending rows and searches see a row as soon as its write is committed.
 * A writer that commits by other means (a batch of writes in one transaction that ends
 * without db_commit()) must call it itself.
 *
 * Except crmd's batch writer (db_defer_fts): FTS5 does a fixed amount of merge work per
 * flush (it counts a segment of one row as a full page written), so flushing every batch
 * still cost 1 to 2 ms per batch, more than half of the writer's time. The writer flushes
 * every WRITE_BATCH_FTS_FLUSH_MS instead (write_batch.h), and a search first indexes
 * what is pending for its table (fts_pending_index_for_search), so it still finds every
 * record whose write was answered.
 */
#ifndef CRM_FTS_PENDING_H
#define CRM_FTS_PENDING_H

struct db;

/*
 * Makes fts_pending_flush() index the pending rows of `fts_table` (FTS5, external content
 * `table`, rowid = id) with `columns` (NULL-terminated, its columns in order). All strings
 * are compiled-in names of static storage. Called by resource_register() at start-up, before
 * the first write (not thread-safe); registering a table twice is harmless. Rows of a table
 * nobody registered stay pending (and out of the index).
 */
void fts_pending_register(const char *fts_table, const char *table, const char *const *columns);

/*
 * Indexes every row pending in fts_pending with its current values and empties
 * fts_pending, inside the caller's open write transaction (which it neither commits nor
 * rolls back). Rows deleted before the flush are not indexed. Costs one cached
 * SELECT when nothing is pending; returns DB_OK at once on a database that has no
 * fts_pending table (one migrated to before 0011). Returns a db_status; on failure the
 * caller must roll back.
 */
int fts_pending_flush(struct db *db);

/* fts_pending_flush() in a write transaction of its own (the batch writer's timed flush).
 * Returns a db_status; on failure nothing changed. */
int fts_pending_flush_now(struct db *db);

/*
 * Before a search of `fts_table`: when rows of it are pending, fts_pending_flush_now()
 * (the caller must not be in a transaction, except the
 * request's read snapshot, which the write ends). Returns a db_status.
 */
int fts_pending_index_for_search(struct db *db, const char *fts_table);

#endif
