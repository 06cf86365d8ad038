#include "berth.h"
#include "fixture.h"
#include "acct.h"
#include "crypto.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture fx;

void fixture_store_open(void)
{
	struct berr e = {0};

	memset(&fx, 0, sizeof(fx));
	cr_assert(eq(int, crypto_init(), B_OK));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/berth-unit-XXXXXX");
	cr_assert(mkdtemp(fx.dir) != NULL, "mkdtemp failed");
	snprintf(fx.db, sizeof(fx.db), "%s/berth.db", fx.dir);
	cr_assert(eq(int, store_open(fx.db, &fx.st, &e), B_OK), "store_open: %s", e.message);
	cr_assert(eq(int, store_migrate(fx.st, &e), B_OK), "store_migrate: %s", e.message);
	cr_assert(eq(int, acct_team_add(fx.st, "team-a", fx.team_a, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_team_add(fx.st, "team-b", fx.team_b, &e), B_OK), "%s", e.message);
}

void fixture_store_close(void)
{
	struct dirent *de;
	DIR *d;

	if (fx.st)
		store_close(fx.st);
	fx.st = NULL;
	if (!fx.dir[0] || !(d = opendir(fx.dir)))
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)rmdir(fx.dir);
}

void fixture_exec(const char *sql, const char *param)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;

	cr_assert(eq(int, sqlite3_open(fx.db, &db), SQLITE_OK));
	sqlite3_busy_timeout(db, 5000);
	cr_assert(eq(int, sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK), "%s: %s", sql,
		  sqlite3_errmsg(db));
	if (param)
		sqlite3_bind_text(q, 1, param, -1, SQLITE_TRANSIENT);
	cr_assert(eq(int, sqlite3_step(q), SQLITE_DONE), "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(q);
	sqlite3_close(db);
}
