#include "berth.h"
#include "store.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define STORE_STMT_MAX 96
#define STORE_BUSY_MS 5000

struct store {
	sqlite3 *db;
	int nstmt;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} stmts[STORE_STMT_MAX];
};

static int store_fail(struct store *s, struct berr *e, const char *what)
{
	log_error("sqlite: %s: %s", what, sqlite3_errmsg(s->db));
	return berr_set(e, B_ESTORE, "", "the database failed; try again");
}

static int store_exec(struct store *s, const char *sql, struct berr *e)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("sqlite: %s", msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return berr_set(e, B_ESTORE, "", "the database failed; try again");
	}
	return B_OK;
}

int store_open(const char *path, struct store **out, struct berr *e)
{
	struct store *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		abort();
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		log_error("sqlite: cannot open %s: %s", path,
			  s->db ? sqlite3_errmsg(s->db) : "out of memory");
		rc = berr_set(e, B_ESTORE, "", "cannot open the database");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	rc = store_exec(s, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"
			   "PRAGMA synchronous = NORMAL;", e);
	if (rc)
		goto fail;
	*out = s;
	return B_OK;
fail:
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->nstmt; i++)
		sqlite3_finalize(s->stmts[i].st);
	sqlite3_close(s->db);
	free(s);
}

int store_version(struct store *s)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* One migration inside BEGIN IMMEDIATE: the version is read again under the write lock, so
 * when two processes race, the second finds the work done. */
static int store_migrate_one(struct store *s, const struct store_migration *m, struct berr *e)
{
	char pragma[64];
	int rc = store_begin(s, e);

	if (rc)
		return rc;
	if (store_version(s) >= m->version) {
		store_rollback(s);
		return B_OK;
	}
	snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", m->version);
	if ((rc = store_exec(s, m->sql, e)) || (rc = store_exec(s, pragma, e))) {
		store_rollback(s);
		log_error("migration %s failed", m->name);
		return rc;
	}
	rc = store_commit(s, e);
	if (!rc)
		log_info("applied migration %s", m->name);
	return rc;
}

int store_migrate(struct store *s, struct berr *e)
{
	int v = store_version(s);

	if (v < 0)
		return store_fail(s, e, "user_version");
	for (int i = 0; i < store_migration_count; i++) {
		int rc;

		if (store_migrations[i].version <= v)
			continue;
		rc = store_migrate_one(s, &store_migrations[i], e);
		if (rc)
			return rc;
	}
	return B_OK;
}

sqlite3_stmt *store_stmt(struct store *s, const char *sql, struct berr *e)
{
	sqlite3_stmt *st;

	for (int i = 0; i < s->nstmt; i++) {
		if (s->stmts[i].sql == sql) {
			st = s->stmts[i].st;
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return st;
		}
	}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		store_fail(s, e, "prepare");
		return NULL;
	}
	if (s->nstmt == STORE_STMT_MAX) {
		/* More distinct statements than the cache holds is a bug; keep working uncached
		 * would leak, so refuse loudly. */
		sqlite3_finalize(st);
		log_error("store: statement cache full (%d)", STORE_STMT_MAX);
		berr_set(e, B_EINTERNAL, "", "internal error");
		return NULL;
	}
	s->stmts[s->nstmt].sql = sql;
	s->stmts[s->nstmt].st = st;
	s->nstmt++;
	return st;
}

int store_step(struct store *s, sqlite3_stmt *st, struct berr *e)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc;
	if (rc == SQLITE_CONSTRAINT) {
		int ext = sqlite3_extended_errcode(s->db);

		sqlite3_reset(st);
		if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
			return berr_set(e, B_ECONFLICT, "", "already exists");
		if (ext == SQLITE_CONSTRAINT_FOREIGNKEY)
			return berr_set(e, B_ECONFLICT, "", "still referenced by another resource");
	}
	store_fail(s, e, "step");
	sqlite3_reset(st);
	return B_ESTORE;
}

int store_exec_stmt(struct store *s, sqlite3_stmt *st, struct berr *e)
{
	int rc = store_step(s, st, e);

	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

int store_begin(struct store *s, struct berr *e)
{
	return store_exec(s, "BEGIN IMMEDIATE", e);
}

int store_commit(struct store *s, struct berr *e)
{
	int rc = store_exec(s, "COMMIT", e);

	if (rc)
		store_rollback(s);
	return rc;
}

void store_rollback(struct store *s)
{
	static const char sql[] = "ROLLBACK";
	sqlite3_stmt *st;

	if (sqlite3_get_autocommit(s->db))
		return;
	/* cached: every proxied call ends its read transaction here (store_read_end) */
	if (!(st = store_stmt(s, sql, NULL)) || store_exec_stmt(s, st, NULL))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int store_read_begin(struct store *s, struct berr *e)
{
	static const char sql[] = "BEGIN DEFERRED";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	return st ? store_exec_stmt(s, st, e) : B_ESTORE;
}

void store_read_end(struct store *s)
{
	if (sqlite3_txn_state(s->db, NULL) == SQLITE_TXN_WRITE)
		log_error("a read transaction wrote: its changes are rolled back");
	store_rollback(s);
}

bool store_in_read_txn(struct store *s)
{
	return !sqlite3_get_autocommit(s->db) && sqlite3_txn_state(s->db, NULL) != SQLITE_TXN_WRITE;
}

int store_changes(struct store *s)
{
	return sqlite3_changes(s->db);
}

void store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

void store_bind_int(sqlite3_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(st, i, v);
}

const char *store_col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}
