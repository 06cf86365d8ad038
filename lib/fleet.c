#include "berth.h"
#include "fleet.h"
#include "clock.h"

static void add_json_array(cJSON *o, const char *name, const char *text)
{
	cJSON *a = cJSON_Parse(text);

	if (!cJSON_IsArray(a)) {
		cJSON_Delete(a);
		a = cJSON_CreateArray();
	}
	cJSON_AddItemToObject(o, name, a);
}

static void add_time_or_null(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
	char t[RFC3339_LEN + 1];

	if (sqlite3_column_type(st, col) == SQLITE_NULL) {
		cJSON_AddNullToObject(o, name);
		return;
	}
	clock_rfc3339(sqlite3_column_int64(st, col), t);
	cJSON_AddStringToObject(o, name, t);
}

static cJSON *fleet_from_row(sqlite3_stmt *st)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "agent_id", store_col_text(st, 0));
	cJSON_AddStringToObject(o, "agent_status", store_col_text(st, 1));
	add_json_array(o, "agent_labels", store_col_text(st, 2));
	cJSON_AddNumberToObject(o, "gpu_capacity", sqlite3_column_int(st, 3));
	add_json_array(o, "gpu_devices", store_col_text(st, 4));
	cJSON_AddStringToObject(o, "platform_arch", store_col_text(st, 5));
	cJSON_AddStringToObject(o, "agent_version", store_col_text(st, 6));
	add_time_or_null(o, "connected_at", st, 7);
	add_time_or_null(o, "last_heartbeat", st, 8);
	cJSON_AddNumberToObject(o, "running_count", sqlite3_column_int(st, 9));
	return o;
}

int fleet_list(struct store *s, const char *team_id, long offset, long limit, cJSON *list,
	       long *total, struct berr *e)
{
	static const char count_sql[] = "SELECT count(*) FROM agents WHERE team_id = ?";
	static const char sql[] =
		"SELECT a.agent_name, a.agent_status, a.agent_labels, a.gpu_capacity, a.gpu_devices,"
		" a.platform_arch, a.agent_version, a.connected_at, a.last_heartbeat,"
		" (SELECT count(*) FROM replicas r WHERE r.agent_id = a.id AND"
		"  r.replica_state = 'healthy') FROM agents a WHERE a.team_id = ?"
		" ORDER BY a.agent_name LIMIT ? OFFSET ?";
	sqlite3_stmt *st = store_stmt(s, count_sql, e);
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	rc = store_step(s, st, e);
	*total = rc == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc < 0 || !(st = store_stmt(s, sql, e)))
		return rc < 0 ? rc : B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_int(st, 2, limit);
	store_bind_int(st, 3, offset);
	while ((rc = store_step(s, st, e)) == SQLITE_ROW)
		cJSON_AddItemToArray(list, fleet_from_row(st));
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}
