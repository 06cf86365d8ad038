#include "berth.h"
#include "fleet.h"
#include "rowjson.h"
#include "clock.h"
#include "json.h"
#include "uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *fleet_from_row(sqlite3_stmt *st)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "agent_id", store_col_text(st, 0));
	cJSON_AddStringToObject(o, "agent_status", store_col_text(st, 1));
	rowjson_array(o, "agent_labels", store_col_text(st, 2));
	cJSON_AddNumberToObject(o, "gpu_capacity", sqlite3_column_int(st, 3));
	rowjson_array(o, "gpu_devices", store_col_text(st, 4));
	cJSON_AddStringToObject(o, "platform_arch", store_col_text(st, 5));
	cJSON_AddStringToObject(o, "agent_version", store_col_text(st, 6));
	rowjson_time(o, "connected_at", st, 7);
	rowjson_time(o, "last_heartbeat", st, 8);
	cJSON_AddNumberToObject(o, "running_count", sqlite3_column_int(st, 9));
	/* berth: whether it can run containers now, and why not */
	cJSON_AddStringToObject(o, "runtime_status", sqlite3_column_int(st, 10) ? "available" :
				"unavailable");
	cJSON_AddStringToObject(o, "runtime_detail", store_col_text(st, 11));
	return o;
}

int fleet_list(struct store *s, const char *team_id, int64_t offset, int64_t limit, cJSON *list,
	       long *total, struct berr *e)
{
	static const char count_sql[] = "SELECT count(*) FROM agents WHERE team_id = ?";
	static const char sql[] =
		"SELECT a.agent_name, a.agent_status, a.agent_labels, a.gpu_capacity, a.gpu_devices,"
		" a.platform_arch, a.agent_version, a.connected_at, a.last_heartbeat,"
		" (SELECT count(*) FROM replicas r WHERE r.agent_id = a.id AND"
		"  r.replica_state = 'healthy'), a.runtime_ok, a.runtime_detail"
		" FROM agents a WHERE a.team_id = ?"
		" ORDER BY a.agent_name LIMIT ? OFFSET ?";
	
	return rowjson_page(s, count_sql, sql, team_id, offset, limit, fleet_from_row, list, total, e);
}

int fleet_agent_connect(struct store *s, const char *team_id, const char *name,
			const char *credential_id, char id[37], struct berr *e)
{
	static const char sql[] =
		"INSERT INTO agents (id, team_id, agent_name, credential_id, created_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (team_id, agent_name) DO UPDATE SET"
		" credential_id = excluded.credential_id RETURNING id";
	char fresh[UUID_STR_LEN + 1];
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	if (!st)
		return B_ESTORE;
	uuid_v7(fresh);
	store_bind_text(st, 1, fresh);
	store_bind_text(st, 2, team_id);
	store_bind_text(st, 3, name);
	store_bind_text(st, 4, credential_id);
	store_bind_int(st, 5, clock_now());
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW)
		snprintf(id, UUID_STR_LEN + 1, "%s", store_col_text(st, 0));
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? B_OK : rc < 0 ? rc : berr_set(e, B_ESTORE, "", "no agent row");
}

/* The JSON text of an array member of obj, "[]" when absent or not an array; free() it. */
static char *array_text(const cJSON *obj, const char *name)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!cJSON_IsArray(a)) {
		char *empty = strdup("[]");

		if (!empty)
			abort();
		return empty;
	}
	return json_print(a);
}

/* A string member of info, "" when an agent (another build, an older one) leaves it out. */
static const char *text_or_empty(const cJSON *info, const char *name)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(info, name));

	return v ? v : "";
}

int fleet_agent_online(struct store *s, const char *id, const cJSON *info, struct berr *e)
{
	static const char sql[] =
		"UPDATE agents SET agent_status = 'online', agent_labels = ?2, gpu_capacity = ?3,"
		" gpu_devices = ?4, platform_arch = ?5, agent_version = ?6, connected_at = ?7,"
		" last_heartbeat = ?7 WHERE id = ?1";
	const cJSON *gpus = cJSON_GetObjectItemCaseSensitive(info, "gpu_capacity");
	char *labels = array_text(info, "agent_labels"), *devices = array_text(info, "gpu_devices");
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc = B_ESTORE;

	if (st) {
		store_bind_text(st, 1, id);
		store_bind_text(st, 2, labels);
		store_bind_int(st, 3, cJSON_IsNumber(gpus) ? gpus->valueint : 0);
		store_bind_text(st, 4, devices);
		store_bind_text(st, 5, text_or_empty(info, "platform_arch"));
		store_bind_text(st, 6, text_or_empty(info, "agent_version"));
		store_bind_int(st, 7, clock_now());
		rc = store_exec_stmt(s, st, e);
	}
	free(labels);
	free(devices);
	return rc;
}

/* UPDATE <sql> bound to (id, now). */
static int fleet_touch(struct store *s, const char *sql, const char *id, struct berr *e)
{
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_int(st, 2, clock_now());
	return store_exec_stmt(s, st, e);
}

int fleet_agent_heartbeat(struct store *s, const char *id, struct berr *e)
{
	static const char sql[] = "UPDATE agents SET last_heartbeat = ?2 WHERE id = ?1";

	return fleet_touch(s, sql, id, e);
}

int fleet_agent_offline(struct store *s, const char *id, struct berr *e)
{
	static const char sql[] =
		"UPDATE agents SET agent_status = 'offline', last_heartbeat = ?2 WHERE id = ?1";

	return fleet_touch(s, sql, id, e);
}

int fleet_all_offline(struct store *s, struct berr *e)
{
	static const char sql[] = "UPDATE agents SET agent_status = 'offline'"
				  " WHERE agent_status = 'online'";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	return st ? store_exec_stmt(s, st, e) : B_ESTORE;
}

int fleet_service_retire(struct store *s, const char *service_id, const char *detail,
			 struct berr *e)
{
	static const char sql[] = "UPDATE replicas SET replica_state = 'stopping', replica_detail"
				  " = ?2, updated_at = ?3 WHERE service_id = ?1"
				  " AND replica_state NOT IN ('stopping', 'stopped')";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, service_id);
	store_bind_text(st, 2, detail);
	store_bind_int(st, 3, clock_now());
	return store_exec_stmt(s, st, e);
}

int fleet_replica_add(struct store *s, const char *service_id, const char *agent_id,
		      const char *gpu_ids, char id[37], struct berr *e)
{
	static const char sql[] =
		"INSERT INTO replicas (id, service_id, agent_id, replica_state, replica_detail,"
		" gpu_ids, created_at, updated_at) VALUES (?1, ?2, ?3, 'pending',"
		" 'sent to the agent', ?4, ?5, ?5)";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	uuid_v7(id);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, service_id);
	store_bind_text(st, 3, agent_id);
	store_bind_text(st, 4, gpu_ids ? gpu_ids : "[]");
	store_bind_int(st, 5, clock_now());
	return store_exec_stmt(s, st, e);
}

/* A replica told to go stays going until it is gone: a late report of it running (an agent
 * back online lists all it has) changes nothing, and a failed removal says why in the detail
 * while the reconciler asks again. */
#define REPORT_STATE "CASE WHEN replica_state = 'stopping' AND ?3 != 'stopped' THEN 'stopping'" \
	" ELSE ?3 END"
#define REPORT_DETAIL "CASE WHEN replica_state = 'stopping' AND ?3 NOT IN ('stopped', 'failed')" \
	" THEN replica_detail ELSE ?4 END"
#define REPORT_CONTAINER "COALESCE(NULLIF(?5, ''), container_id)"

int fleet_replica_report(struct store *s, const char *agent_id, const char *id,
			 const char *state, const char *detail, const char *container_id,
			 bool *changed, struct berr *e)
{
	/* a report that changes nothing writes nothing (and says so: no reconcile for it) */
	static const char sql[] =
		"UPDATE replicas SET replica_state = " REPORT_STATE ", replica_detail = "
		REPORT_DETAIL ", container_id = " REPORT_CONTAINER ", updated_at = ?6"
		" WHERE id = ?1 AND agent_id = ?2 AND (replica_state, replica_detail,"
		" COALESCE(container_id, '')) IS NOT (" REPORT_STATE ", " REPORT_DETAIL ","
		" COALESCE(" REPORT_CONTAINER ", ''))";
	static const char exists[] = "SELECT 1 FROM replicas WHERE id = ? AND agent_id = ?";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	if (changed)
		*changed = false;
	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, agent_id);
	store_bind_text(st, 3, state);
	store_bind_text(st, 4, detail ? detail : "");
	store_bind_text(st, 5, container_id ? container_id : "");
	store_bind_int(st, 6, clock_now());
	if ((rc = store_exec_stmt(s, st, e)))
		return rc;
	if (store_changes(s)) {
		if (changed)
			*changed = true;
		return B_OK;
	}
	if (!(st = store_stmt(s, exists, e)))
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, agent_id);
	rc = store_step(s, st, e);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return berr_set(e, B_ENOTFOUND, "", "no replica %s on this agent", id);
	return rc < 0 ? rc : B_OK;
}

int fleet_replica_set_state(struct store *s, const char *id, const char *state,
			    const char *detail, struct berr *e)
{
	static const char sql[] = "UPDATE replicas SET replica_state = ?2, replica_detail = ?3,"
				  " updated_at = ?4 WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, state);
	store_bind_text(st, 3, detail ? detail : "");
	store_bind_int(st, 4, clock_now());
	return store_exec_stmt(s, st, e);
}

int fleet_replica_delete(struct store *s, const char *id, struct berr *e)
{
	static const char sql[] = "DELETE FROM replicas WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, id);
	return store_exec_stmt(s, st, e);
}

int fleet_replica_counts(struct store *s, cJSON *counts, struct berr *e)
{
	static const char sql[] = "SELECT replica_state, count(*) FROM replicas GROUP BY 1 ORDER BY 1";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	if (!st)
		return B_ESTORE;
	while ((rc = store_step(s, st, e)) == SQLITE_ROW)
		cJSON_AddNumberToObject(counts, store_col_text(st, 0), sqlite3_column_int(st, 1));
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

int fleet_agent_runtime(struct store *s, const char *id, bool ok, const char *detail,
			struct berr *e)
{
	static const char sql[] = "UPDATE agents SET runtime_ok = ?2, runtime_detail = ?3"
				  " WHERE id = ?1";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_int(st, 2, ok);
	store_bind_text(st, 3, ok ? "" : detail ? detail : "");
	return store_exec_stmt(s, st, e);
}
