#include "berth.h"
#include "audit.h"
#include "rowjson.h"
#include "clock.h"
#include "uuid.h"

int audit_add(struct store *s, const struct principal *actor, const char *team_id,
	      const char *action, const char *resource_type, const char *resource_id,
	      const char *request_id, const char *detail_json, struct berr *e)
{
	static const char sql[] =
		"INSERT INTO audit_log (id, team_id, actor_kind, actor_id, action, resource_type,"
		" resource_id, request_id, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char id[UUID_STR_LEN + 1];
	const char *actor_id = "berthctl";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	if (actor)
		actor_id = actor->kind == PRINCIPAL_USER ? actor->user_id : actor->credential_id;
	uuid_v7(id);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, team_id);
	store_bind_text(st, 3, actor ? principal_kind_name(actor->kind) : "operator");
	store_bind_text(st, 4, actor_id);
	store_bind_text(st, 5, action);
	store_bind_text(st, 6, resource_type);
	store_bind_text(st, 7, resource_id);
	store_bind_text(st, 8, request_id ? request_id : "");
	store_bind_text(st, 9, detail_json ? detail_json : "{}");
	store_bind_int(st, 10, clock_now());
	return store_exec_stmt(s, st, e);
}

/* detail is JSON text written by audit_add; anything else (a hand-edited row) reads as {}. */
static cJSON *audit_detail(const char *text)
{
	cJSON *d = cJSON_Parse(text);

	if (!cJSON_IsObject(d)) {
		cJSON_Delete(d);
		d = cJSON_CreateObject();
	}
	return d;
}

static cJSON *audit_from_row(sqlite3_stmt *st)
{
	static const char *const text_cols[] = {
		"id", "actor_kind", "actor_id", "action", "resource_type", "resource_id", "request_id",
	};
	cJSON *o = cJSON_CreateObject();
	char t[RFC3339_LEN + 1];

	for (size_t i = 0; i < B_ARRAY_LEN(text_cols); i++)
		cJSON_AddStringToObject(o, text_cols[i], store_col_text(st, (int)i));
	cJSON_AddItemToObject(o, "detail", audit_detail(store_col_text(st, 7)));
	clock_rfc3339(sqlite3_column_int64(st, 8), t);
	cJSON_AddStringToObject(o, "created_at", t);
	return o;
}

int audit_list(struct store *s, const char *team_id, int64_t offset, int64_t limit,
	       cJSON *list, long *total, struct berr *e)
{
	static const char count_sql[] = "SELECT count(*) FROM audit_log WHERE team_id = ?";
	static const char sql[] =
		"SELECT id, actor_kind, actor_id, action, resource_type, resource_id, request_id,"
		" detail, created_at FROM audit_log WHERE team_id = ?"
		" ORDER BY id DESC LIMIT ? OFFSET ?";

	return rowjson_page(s, count_sql, sql, team_id, offset, limit, audit_from_row, list, total, e);
}
