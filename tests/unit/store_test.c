/* store_test.c: opening SQLite (file, WAL, foreign keys), migrations, the statement cache,
 * constraint mapping and transactions, on a database in a temporary directory. */
#include "berth.h"
#include "store.h"
#include "log.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX];
static char dbpath[PATH_MAX + 16];
static struct store *st;

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/berth-store-XXXXXX");
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(dbpath, sizeof(dbpath), "%s/berth.db", dir);
	st = NULL;
	log_init("store_test", false, LOG_WARN, NULL);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	store_close(st);
	st = NULL;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(store, .init = setup, .fini = teardown);

static void open_migrated(void)
{
	struct berr e = {0};

	cr_assert(eq(int, store_open(dbpath, &st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_migrate(st, &e), B_OK), "%s", e.message);
}

static int latest_version(void)
{
	cr_assert(gt(int, store_migration_count, 0));
	return store_migrations[store_migration_count - 1].version;
}

static const char sql_count_teams[] = "SELECT count(*) FROM teams";
static const char sql_add_team[] = "INSERT INTO teams (id, team_name, created_at) VALUES (?, ?, 0)";

static int count_teams(void)
{
	sqlite3_stmt *s = store_stmt(st, sql_count_teams, NULL);
	int n;

	cr_assert(ne(ptr, s, NULL));
	cr_assert(eq(int, store_step(st, s, NULL), SQLITE_ROW));
	n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return n;
}

static int add_team(const char *id, const char *name, struct berr *e)
{
	sqlite3_stmt *s = store_stmt(st, sql_add_team, e);

	cr_assert(ne(ptr, s, NULL));
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, name);
	return store_exec_stmt(st, s, e);
}

Test(store, open_creates_the_file)
{
	struct stat sb;
	struct berr e = {0};

	cr_assert(ne(int, stat(dbpath, &sb), 0), "no file before open");
	cr_assert(eq(int, store_open(dbpath, &st, &e), B_OK), "%s", e.message);
	cr_assert(ne(ptr, st, NULL));
	cr_assert(eq(int, stat(dbpath, &sb), 0), "file after open");
}

Test(store, open_in_missing_directory_fails)
{
	struct berr e = {0};
	char bad[PATH_MAX + 32];

	snprintf(bad, sizeof(bad), "%s/no/such/dir/berth.db", dir);
	cr_assert(eq(int, store_open(bad, &st, &e), B_ESTORE));
	cr_assert(eq(ptr, st, NULL));
	cr_assert(eq(int, e.status, 500));
}

Test(store, journal_mode_is_wal)
{
	static const char sql[] = "PRAGMA journal_mode";
	struct berr e = {0};
	sqlite3_stmt *s;

	cr_assert(eq(int, store_open(dbpath, &st, &e), B_OK), "%s", e.message);
	s = store_stmt(st, sql, &e);
	cr_assert(ne(ptr, s, NULL), "%s", e.message);
	cr_assert(eq(int, store_step(st, s, &e), SQLITE_ROW));
	cr_assert(eq(str, (char *)store_col_text(s, 0), "wal"));
	sqlite3_reset(s);
}

Test(store, foreign_keys_are_on)
{
	static const char sql[] = "PRAGMA foreign_keys";
	struct berr e = {0};
	sqlite3_stmt *s;

	cr_assert(eq(int, store_open(dbpath, &st, &e), B_OK), "%s", e.message);
	s = store_stmt(st, sql, &e);
	cr_assert(ne(ptr, s, NULL), "%s", e.message);
	cr_assert(eq(int, store_step(st, s, &e), SQLITE_ROW));
	cr_assert(eq(int, sqlite3_column_int(s, 0), 1));
	sqlite3_reset(s);
}

Test(store, new_database_is_version_0)
{
	struct berr e = {0};

	cr_assert(eq(int, store_open(dbpath, &st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_version(st), 0));
}

Test(store, migrate_applies_every_migration)
{
	open_migrated();
	cr_assert(eq(int, store_version(st), latest_version()));
	cr_assert(eq(int, store_version(st), store_migration_count),
		  "versions are numbered 1..count");
	cr_assert(eq(int, count_teams(), 0));
}

Test(store, second_migrate_is_a_no_op)
{
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_migrate(st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_version(st), latest_version()));
	cr_assert(eq(int, count_teams(), 1), "data survives");
}

Test(store, migrate_after_reopen_is_a_no_op)
{
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK), "%s", e.message);
	store_close(st);
	st = NULL;
	open_migrated();
	cr_assert(eq(int, store_version(st), latest_version()));
	cr_assert(eq(int, count_teams(), 1));
}

Test(store, same_sql_pointer_gives_the_same_statement)
{
	sqlite3_stmt *a, *b;

	open_migrated();
	a = store_stmt(st, sql_count_teams, NULL);
	b = store_stmt(st, sql_count_teams, NULL);
	cr_assert(ne(ptr, a, NULL));
	cr_assert(eq(ptr, a, b));
}

Test(store, different_sql_pointers_give_different_statements)
{
	static const char other[] = "SELECT count(*) FROM teams";
	sqlite3_stmt *a, *b;

	open_migrated();
	a = store_stmt(st, sql_count_teams, NULL);
	b = store_stmt(st, other, NULL);
	cr_assert(ne(ptr, a, NULL));
	cr_assert(ne(ptr, b, NULL));
	cr_assert(ne(ptr, a, b));
}

Test(store, cached_statement_comes_back_reset_with_bindings_cleared)
{
	static const char sql[] = "SELECT ?1 IS NULL, id FROM teams ORDER BY id";
	struct berr e = {0};
	sqlite3_stmt *s;

	open_migrated();
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK));
	cr_assert(eq(int, add_team("t2", "beta", &e), B_OK));
	s = store_stmt(st, sql, &e);
	store_bind_text(s, 1, "bound");
	cr_assert(eq(int, store_step(st, s, &e), SQLITE_ROW));
	cr_assert(eq(int, sqlite3_column_int(s, 0), 0));
	/* left mid-iteration on purpose */
	s = store_stmt(st, sql, &e);
	cr_assert(eq(int, store_step(st, s, &e), SQLITE_ROW));
	cr_assert(eq(int, sqlite3_column_int(s, 0), 1), "binding cleared");
	cr_assert(eq(str, (char *)store_col_text(s, 1), "t1"), "from the first row again");
	sqlite3_reset(s);
}

Test(store, bad_sql_gives_null_and_store_error)
{
	static const char sql[] = "SELEKT nonsense";
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(ptr, store_stmt(st, sql, &e), NULL));
	cr_assert(eq(int, e.status, 500));
}

Test(store, unique_violation_is_conflict)
{
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK), "%s", e.message);
	cr_assert(eq(int, add_team("t2", "alpha", &e), B_ECONFLICT));
	cr_assert(eq(int, e.status, 409));
	cr_assert(eq(int, count_teams(), 1));
}

Test(store, primary_key_violation_is_conflict)
{
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK), "%s", e.message);
	cr_assert(eq(int, add_team("t1", "beta", &e), B_ECONFLICT));
}

Test(store, foreign_key_violation_is_refused)
{
	static const char sql[] =
		"INSERT INTO vault_secrets (id, team_id, display_name, nonce, ciphertext, created_at)"
		" VALUES ('v1', 'no-such-team', 'x', x'00', x'00', 0)";
	struct berr e = {0};
	sqlite3_stmt *s;

	open_migrated();
	s = store_stmt(st, sql, &e);
	cr_assert(ne(ptr, s, NULL));
	cr_assert(eq(int, store_exec_stmt(st, s, &e), B_ECONFLICT));
}

Test(store, check_violation_is_a_store_error)
{
	static const char sql[] =
		"INSERT INTO memberships (team_id, user_id, role, created_at) VALUES (?, ?, 'root', 0)";
	static const char user[] =
		"INSERT INTO users (id, email_address, created_at) VALUES ('u1', 'a@b', 0)";
	struct berr e = {0};
	sqlite3_stmt *s;

	open_migrated();
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK));
	cr_assert(eq(int, store_exec_stmt(st, store_stmt(st, user, &e), &e), B_OK));
	s = store_stmt(st, sql, &e);
	store_bind_text(s, 1, "t1");
	store_bind_text(s, 2, "u1");
	cr_assert(eq(int, store_exec_stmt(st, s, &e), B_ESTORE));
}

Test(store, rollback_discards)
{
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, store_begin(st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK));
	cr_assert(eq(int, count_teams(), 1), "visible inside the transaction");
	store_rollback(st);
	cr_assert(eq(int, count_teams(), 0));
}

Test(store, commit_keeps_across_reopen)
{
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, store_begin(st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK));
	cr_assert(eq(int, add_team("t2", "beta", &e), B_OK));
	cr_assert(eq(int, store_commit(st, &e), B_OK), "%s", e.message);
	store_close(st);
	st = NULL;
	open_migrated();
	cr_assert(eq(int, count_teams(), 2));
}

Test(store, begin_inside_a_transaction_fails)
{
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, store_begin(st, &e), B_OK));
	cr_assert(eq(int, store_begin(st, &e), B_ESTORE));
	store_rollback(st);
}

Test(store, a_read_transaction_sees_one_snapshot_until_it_ends)
{
	struct store *other = NULL;
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, store_open(dbpath, &other, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_in_read_txn(st), 0));
	cr_assert(eq(int, store_read_begin(st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_in_read_txn(st), 1));
	cr_assert(eq(int, count_teams(), 0)); /* the first read takes the snapshot */
	{
		struct store *mine = st;

		st = other; /* another connection commits a team meanwhile */
		cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK), "%s", e.message);
		cr_assert(eq(int, count_teams(), 1));
		st = mine;
	}
	cr_assert(eq(int, count_teams(), 0), "a read transaction keeps its snapshot");
	store_read_end(st);
	cr_assert(eq(int, store_in_read_txn(st), 0));
	cr_assert(eq(int, count_teams(), 1), "after it ends, the commit shows");
	store_close(other);
}

Test(store, read_end_keeps_no_write_made_inside)
{
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, store_read_begin(st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, count_teams(), 0));
	cr_assert(eq(int, store_in_read_txn(st), 1));
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_in_read_txn(st), 0), "it has written now");
	store_read_end(st);
	cr_assert(eq(int, count_teams(), 0), "a read transaction's stray write is rolled back");
	cr_assert(eq(int, store_begin(st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_in_read_txn(st), 0), "BEGIN IMMEDIATE may write");
	store_rollback(st);
}

Test(store, read_end_without_a_transaction_is_harmless)
{
	struct berr e = {0};

	open_migrated();
	store_read_end(st);
	cr_assert(eq(int, store_in_read_txn(st), 0));
	cr_assert(eq(int, store_read_begin(st, &e), B_OK), "%s", e.message);
	store_read_end(st);
	store_read_end(st);
	cr_assert(eq(int, store_in_read_txn(st), 0));
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK), "%s", e.message);
	cr_assert(eq(int, count_teams(), 1));
}

Test(store, changes_counts_rows_of_last_statement)
{
	static const char sql[] = "UPDATE teams SET created_at = 1";
	struct berr e = {0};

	open_migrated();
	cr_assert(eq(int, add_team("t1", "alpha", &e), B_OK));
	cr_assert(eq(int, add_team("t2", "beta", &e), B_OK));
	cr_assert(eq(int, store_exec_stmt(st, store_stmt(st, sql, &e), &e), B_OK));
	cr_assert(eq(int, store_changes(st), 2));
}

Test(store, null_text_binds_sql_null_and_reads_back_empty)
{
	static const char sql[] = "SELECT ?1, ?1 IS NULL";
	struct berr e = {0};
	sqlite3_stmt *s;

	open_migrated();
	s = store_stmt(st, sql, &e);
	store_bind_text(s, 1, NULL);
	cr_assert(eq(int, store_step(st, s, &e), SQLITE_ROW));
	cr_assert(eq(str, (char *)store_col_text(s, 0), ""));
	cr_assert(eq(int, sqlite3_column_int(s, 1), 1));
	sqlite3_reset(s);
}

Test(store, int_binding_keeps_64_bits)
{
	static const char sql[] = "SELECT ?1";
	struct berr e = {0};
	sqlite3_stmt *s;

	open_migrated();
	s = store_stmt(st, sql, &e);
	store_bind_int(s, 1, INT64_MAX);
	cr_assert(eq(int, store_step(st, s, &e), SQLITE_ROW));
	cr_assert(eq(i64, sqlite3_column_int64(s, 0), INT64_MAX));
	sqlite3_reset(s);
}
