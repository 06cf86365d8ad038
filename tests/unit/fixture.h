/* fixture.h: what unit suites of store-backed lib/ modules share: a real SQLite store, migrated,
 * in a fresh temporary directory, with two teams; and raw SQL for arranging and checking rows. */
#ifndef BERTH_TEST_FIXTURE_H
#define BERTH_TEST_FIXTURE_H

#include "store.h"
#include "uuid.h"

struct fixture {
	char dir[64];
	char db[128];
	struct store *st;
	char team_a[UUID_STR_LEN + 1], team_b[UUID_STR_LEN + 1];
};

extern struct fixture fx;

/* A suite's .init and .fini. */
void fixture_store_open(void);
void fixture_store_close(void);
/* Runs one SQL statement with up to one text parameter (NULL for none) on its own connection. */
void fixture_exec(const char *sql, const char *param);

#endif
