/* store.h: the one place that opens SQLite (WAL, busy timeout, foreign keys), applies the
 * embedded schema/ migrations, caches prepared statements per connection and runs
 * transactions. What rows mean belongs to the modules that use it (acct, svc, audit). */
#ifndef BERTH_STORE_H
#define BERTH_STORE_H

#include "berth.h"
#include "err.h"

#include <sqlite3.h>

struct store_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct store_migration store_migrations[];
extern const int store_migration_count;

struct store;

/* Opens (creating if absent) the database at path; *out is freed with store_close(). */
int store_open(const char *path, struct store **out, struct berr *e) B_MUST_CHECK;
void store_close(struct store *s);
/* Applies the migrations the database has not seen, each in its own transaction. Safe to call
 * from several processes at once. */
int store_migrate(struct store *s, struct berr *e) B_MUST_CHECK;
/* PRAGMA user_version: the last migration applied. */
int store_version(struct store *s);

/* The statement for sql (a string literal: the cache keys on its address), reset and with
 * its bindings cleared. Owned by the store: callers never finalize it. NULL on error. */
sqlite3_stmt *store_stmt(struct store *s, const char *sql, struct berr *e);
/* sqlite3_step, mapping SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY to B_ECONFLICT and every other
 * failure to B_ESTORE (logged). Returns SQLITE_ROW or SQLITE_DONE on success. */
int store_step(struct store *s, sqlite3_stmt *st, struct berr *e);
/* Steps a statement that returns no row, then resets it. */
int store_exec_stmt(struct store *s, sqlite3_stmt *st, struct berr *e) B_MUST_CHECK;

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int store_begin(struct store *s, struct berr *e) B_MUST_CHECK;
int store_commit(struct store *s, struct berr *e) B_MUST_CHECK;
void store_rollback(struct store *s);
/* One read transaction around several lookups, so they see one snapshot and take the WAL's
 * read lock once (two fcntl() calls a transaction). BEGIN DEFERRED: the snapshot is taken by
 * the first read. Keep it short: a reader that stays holds back checkpoints. store_read_end
 * ends it with ROLLBACK, so a write left inside by mistake is not kept; it is safe to call
 * when no transaction is open. */
int store_read_begin(struct store *s, struct berr *e) B_MUST_CHECK;
void store_read_end(struct store *s);
/* Whether a transaction that has not written is open: a write now would be refused once
 * another connection has committed (SQLITE_BUSY_SNAPSHOT), or be lost at store_read_end. */
bool store_in_read_txn(struct store *s);
/* Rows changed by the last statement. */
int store_changes(struct store *s);

/* Binding helpers: a NULL string binds SQL NULL. Text is copied (SQLITE_TRANSIENT). */
void store_bind_text(sqlite3_stmt *st, int i, const char *v);
void store_bind_int(sqlite3_stmt *st, int i, int64_t v);
/* A column as text, "" for NULL; valid until the next step or reset. */
const char *store_col_text(sqlite3_stmt *st, int i);

#endif
