#include "berth.h"
#include "rowjson.h"
#include "clock.h"

void rowjson_text_or_null(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	if (sqlite3_column_type(st, col) == SQLITE_NULL)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddStringToObject(o, name, store_col_text(st, col));
}

void rowjson_time(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	char t[RFC3339_LEN + 1];

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	clock_rfc3339(sqlite3_column_int64(st, col), t);
	cJSON_AddStringToObject(o, name, t);
}

void rowjson_array(cJSON *o, const char *name, const char *text)
{
	cJSON *a = cJSON_Parse(text);

	if (!cJSON_IsArray(a)) {
		cJSON_Delete(a);
		a = cJSON_CreateArray();
	}
	cJSON_AddItemToObject(o, name, a);
}

int rowjson_page(struct store *s, const char *count_sql, const char *page_sql, const char *key,
		 int64_t offset, int64_t limit, cJSON *(*from_row)(sqlite3_stmt *st), cJSON *list,
		 long *total, struct berr *e)
{
	sqlite3_stmt *st = store_stmt(s, count_sql, e);
	int rc;

	*total = 0;
	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, key);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW)
		*total = (long)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	if (!(st = store_stmt(s, page_sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, key);
	store_bind_int(st, 2, limit);
	store_bind_int(st, 3, offset);
	while ((rc = store_step(s, st, e)) == SQLITE_ROW)
		cJSON_AddItemToArray(list, from_row(st));
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}
