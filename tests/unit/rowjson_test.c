/* rowjson_test.c: store rows as the API's JSON (lib/rowjson.c): columns as text-or-null, as
 * RFC 3339 times, as arrays, and one page of a list against a real temporary SQLite file. */
#include "berth.h"
#include "rowjson.h"
#include "json.h"
#include "store.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

/* The compact JSON text of o's member name into out; "(absent)" when there is none. */
static void member_text(const cJSON *o, const char *name, char *out, size_t n)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
	char *t;

	if (!m) {
		snprintf(out, n, "(absent)");
		return;
	}
	t = json_print(m);
	snprintf(out, n, "%s", t);
	free(t);
}

/* Runs "SELECT <expr>" on an in-memory database and applies fn to column 0; the member
 * "v" of the result as JSON text goes to out. */
static void column_json(const char *expr, void (*fn)(cJSON *, const char *, sqlite3_stmt *, int),
			char *out, size_t n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char sql[256];
	cJSON *o = cJSON_CreateObject();

	cr_assert(eq(int, sqlite3_open(":memory:", &db), SQLITE_OK));
	snprintf(sql, sizeof(sql), "SELECT %s", expr);
	cr_assert(eq(int, sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK), "%s", sql);
	cr_assert(eq(int, sqlite3_step(q), SQLITE_ROW));
	fn(o, "v", q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	member_text(o, "v", out, n);
	cJSON_Delete(o);
}

static void array_json(const char *text, char *out, size_t n)
{
	cJSON *o = cJSON_CreateObject();

	rowjson_array(o, "v", text);
	member_text(o, "v", out, n);
	cJSON_Delete(o);
}

/* ---- rowjson_text_or_null ---- */

Test(rowjson, text_or_null_null_is_json_null)
{
	char got[128];

	column_json("NULL", rowjson_text_or_null, got, sizeof(got));
	cr_assert(eq(str, got, "null"));
}

Test(rowjson, text_or_null_text_is_a_string)
{
	char got[128];

	column_json("'hello'", rowjson_text_or_null, got, sizeof(got));
	cr_assert(eq(str, got, "\"hello\""));
}

Test(rowjson, text_or_null_empty_text_is_empty_string)
{
	char got[128];

	column_json("''", rowjson_text_or_null, got, sizeof(got));
	cr_assert(eq(str, got, "\"\""));
}

Test(rowjson, text_or_null_integer_is_its_text)
{
	char got[128];

	column_json("42", rowjson_text_or_null, got, sizeof(got));
	cr_assert(eq(str, got, "\"42\""));
}

/* ---- rowjson_time ---- */

Test(rowjson, time_null_is_json_null)
{
	char got[128];

	column_json("NULL", rowjson_time, got, sizeof(got));
	cr_assert(eq(str, got, "null"));
}

Test(rowjson, time_zero_is_the_epoch)
{
	char got[128];

	column_json("0", rowjson_time, got, sizeof(got));
	cr_assert(eq(str, got, "\"1970-01-01T00:00:00Z\""));
}

Test(rowjson, time_is_rfc3339_utc)
{
	char got[128];

	column_json("1700000000", rowjson_time, got, sizeof(got));
	cr_assert(eq(str, got, "\"2023-11-14T22:13:20Z\""));
}

/* ---- rowjson_array ---- */

Test(rowjson, array_valid_array_is_kept)
{
	char got[128];

	array_json("[\"a\",\"b\",1]", got, sizeof(got));
	cr_assert(eq(str, got, "[\"a\",\"b\",1]"));
}

Test(rowjson, array_empty_array_is_kept)
{
	char got[128];

	array_json("[]", got, sizeof(got));
	cr_assert(eq(str, got, "[]"));
}

Test(rowjson, array_object_text_reads_as_empty)
{
	char got[128];

	array_json("{\"a\":1}", got, sizeof(got));
	cr_assert(eq(str, got, "[]"));
}

Test(rowjson, array_garbage_reads_as_empty)
{
	char got[128];

	array_json("[1,2", got, sizeof(got));
	cr_assert(eq(str, got, "[]"));
}

Test(rowjson, array_empty_text_reads_as_empty)
{
	char got[128];

	array_json("", got, sizeof(got));
	cr_assert(eq(str, got, "[]"));
}

Test(rowjson, array_string_scalar_reads_as_empty)
{
	char got[128];

	array_json("\"x\"", got, sizeof(got));
	cr_assert(eq(str, got, "[]"));
}

/* ---- rowjson_page against a real store ---- */

static char store_dir[64];
static struct store *st;

static void store_setup(void)
{
	struct berr e = {0};
	char path[128];
	sqlite3 *db = NULL;
	static const char *const rows[] = {
		"INSERT INTO t VALUES ('k1', 'c', 3)", "INSERT INTO t VALUES ('k1', 'a', 1)",
		"INSERT INTO t VALUES ('k1', 'e', 5)", "INSERT INTO t VALUES ('k1', 'b', 2)",
		"INSERT INTO t VALUES ('k1', 'd', 4)", "INSERT INTO t VALUES ('k2', 'z', 9)",
	};

	snprintf(store_dir, sizeof(store_dir), "/tmp/berth-rowjson-test-XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(store_dir), NULL)), "mkdtemp failed");
	snprintf(path, sizeof(path), "%s/berth.db", store_dir);
	/* the table exists before the store's connection prepares anything */
	cr_assert(eq(int, sqlite3_open(path, &db), SQLITE_OK));
	cr_assert(eq(int, sqlite3_exec(db, "CREATE TABLE t (k TEXT, name TEXT, n INTEGER)", NULL,
				       NULL, NULL), SQLITE_OK));
	for (size_t i = 0; i < B_ARRAY_LEN(rows); i++)
		cr_assert(eq(int, sqlite3_exec(db, rows[i], NULL, NULL, NULL), SQLITE_OK));
	sqlite3_close(db);
	cr_assert(eq(int, store_open(path, &st, &e), B_OK), "store_open: %s", e.message);
}

static void store_teardown(void)
{
	DIR *d;
	struct dirent *de;

	if (st)
		store_close(st);
	st = NULL;
	if (!store_dir[0] || !(d = opendir(store_dir)))
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)rmdir(store_dir);
}

TestSuite(rowjson_page, .init = store_setup, .fini = store_teardown);

static const char count_sql[] = "SELECT count(*) FROM t WHERE k = ?";
static const char page_sql[] = "SELECT name, n FROM t WHERE k = ? ORDER BY name LIMIT ? OFFSET ?";

static cJSON *t_from_row(sqlite3_stmt *q)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", store_col_text(q, 0));
	cJSON_AddNumberToObject(o, "n", sqlite3_column_int(q, 1));
	return o;
}

/* One page as JSON text into out; returns rowjson_page's rc. */
static int page(const char *key, int64_t offset, int64_t limit, long *total, char *out, size_t n)
{
	struct berr e = {0};
	cJSON *list = cJSON_CreateArray();
	char *t;
	int rc = rowjson_page(st, count_sql, page_sql, key, offset, limit, t_from_row, list, total,
			      &e);

	t = json_print(list);
	snprintf(out, n, "%s", t);
	free(t);
	cJSON_Delete(list);
	return rc;
}

Test(rowjson_page, first_page_in_order_with_total)
{
	long total = -1;
	char got[512];

	cr_assert(eq(int, page("k1", 0, 2, &total, got, sizeof(got)), B_OK));
	cr_assert(eq(long, total, 5));
	cr_assert(eq(str, got, "[{\"name\":\"a\",\"n\":1},{\"name\":\"b\",\"n\":2}]"));
}

Test(rowjson_page, offset_skips_rows)
{
	long total = -1;
	char got[512];

	cr_assert(eq(int, page("k1", 2, 2, &total, got, sizeof(got)), B_OK));
	cr_assert(eq(long, total, 5));
	cr_assert(eq(str, got, "[{\"name\":\"c\",\"n\":3},{\"name\":\"d\",\"n\":4}]"));
}

Test(rowjson_page, last_partial_page)
{
	long total = -1;
	char got[512];

	cr_assert(eq(int, page("k1", 4, 2, &total, got, sizeof(got)), B_OK));
	cr_assert(eq(long, total, 5));
	cr_assert(eq(str, got, "[{\"name\":\"e\",\"n\":5}]"));
}

Test(rowjson_page, offset_past_the_end_is_empty_with_total)
{
	long total = -1;
	char got[512];

	cr_assert(eq(int, page("k1", 10, 2, &total, got, sizeof(got)), B_OK));
	cr_assert(eq(long, total, 5));
	cr_assert(eq(str, got, "[]"));
}

Test(rowjson_page, key_filters_rows)
{
	long total = -1;
	char got[512];

	cr_assert(eq(int, page("k2", 0, 10, &total, got, sizeof(got)), B_OK));
	cr_assert(eq(long, total, 1));
	cr_assert(eq(str, got, "[{\"name\":\"z\",\"n\":9}]"));
}

Test(rowjson_page, unknown_key_is_empty_with_zero_total)
{
	long total = -1;
	char got[512];

	cr_assert(eq(int, page("nope", 0, 10, &total, got, sizeof(got)), B_OK));
	cr_assert(eq(long, total, 0));
	cr_assert(eq(str, got, "[]"));
}

Test(rowjson_page, limit_zero_gives_no_rows_but_the_total)
{
	long total = -1;
	char got[512];

	cr_assert(eq(int, page("k1", 0, 0, &total, got, sizeof(got)), B_OK));
	cr_assert(eq(long, total, 5));
	cr_assert(eq(str, got, "[]"));
}

Test(rowjson_page, bad_sql_is_a_store_error_and_total_zero)
{
	static const char bad_count[] = "SELECT count(*) FROM no_such_table WHERE k = ?";
	struct berr e = {0};
	cJSON *list = cJSON_CreateArray();
	long total = -1;
	int rc = rowjson_page(st, bad_count, page_sql, "k1", 0, 10, t_from_row, list, &total, &e);
	int size = cJSON_GetArraySize(list);

	cJSON_Delete(list);
	cr_assert(eq(int, rc, B_ESTORE));
	cr_assert(eq(long, total, 0));
	cr_assert(eq(int, size, 0));
}
