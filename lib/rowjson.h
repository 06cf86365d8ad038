/* rowjson.h: store rows as the API's JSON: a column as text-or-null, as an RFC 3339 time (null
 * for NULL), as the array its JSON text holds, and a team's list, one page of it with its total.
 * Which columns a resource has is its own module's business. */
#ifndef BERTH_ROWJSON_H
#define BERTH_ROWJSON_H

#include "berth.h"
#include "err.h"
#include "store.h"

#include <cjson/cJSON.h>

void rowjson_text_or_null(cJSON *o, const char *name, sqlite3_stmt *st, int col);
void rowjson_time(cJSON *o, const char *name, sqlite3_stmt *st, int col);
/* A JSON array written by berth; anything else (never written by berth) reads as []. */
void rowjson_array(cJSON *o, const char *name, const char *text);

/* count_sql takes (key), page_sql (key, limit, offset); each page row becomes from_row(st),
 * appended to list; *total gets the count. */
int rowjson_page(struct store *s, const char *count_sql, const char *page_sql, const char *key,
		 int64_t offset, int64_t limit, cJSON *(*from_row)(sqlite3_stmt *st), cJSON *list,
		 long *total, struct berr *e) B_MUST_CHECK;

#endif
