#include "berth.h"
#include "catalog.h"
#include "rowjson.h"
#include "buf.h"
#include "clock.h"
#include "fleet.h"
#include "json.h"
#include "uuid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs a prepared one-row SELECT of SVC_COLUMNS bound to (team, key); 404 when no row. */
static int catalog_one(struct store *s, const char *sql, const char *team_id, const char *key,
		       cJSON **out, struct berr *e)
{
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	*out = NULL;
	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_text(st, 2, key);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW)
		*out = svc_from_row(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return berr_set(e, B_ENOTFOUND, "", "no container service %s in this team", key);
	return rc < 0 ? rc : B_OK;
}

int catalog_get(struct store *s, const char *team_id, const char *id, cJSON **out,
		struct berr *e)
{
	static const char sql[] = "SELECT " SVC_COLUMNS " FROM container_services"
				  " WHERE team_id = ? AND id = ?";

	if (!uuid_valid(id)) {
		*out = NULL;
		return berr_set(e, B_ENOTFOUND, "", "no container service %s in this team", id);
	}
	return catalog_one(s, sql, team_id, id, out, e);
}

int catalog_get_by_slug(struct store *s, const char *team_id, const char *slug, cJSON **out,
			struct berr *e)
{
	static const char sql[] = "SELECT " SVC_COLUMNS " FROM container_services"
				  " WHERE team_id = ? AND service_slug = ?";

	return catalog_one(s, sql, team_id, slug, out, e);
}

int catalog_add_replicas(struct store *s, cJSON *svc, struct berr *e)
{
	static const char sql[] =
		"SELECT r.id, COALESCE(a.agent_name, ''), r.replica_state, r.replica_detail,"
		" r.updated_at FROM replicas r LEFT JOIN agents a ON a.id = r.agent_id"
		" WHERE r.service_id = ? ORDER BY r.id";
	cJSON *list = cJSON_AddArrayToObject(svc, "replica_list");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(svc, "id");
	sqlite3_stmt *st = store_stmt(s, sql, e);
	char t[RFC3339_LEN + 1];
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, cJSON_GetStringValue(id));
	while ((rc = store_step(s, st, e)) == SQLITE_ROW) {
		cJSON *r = cJSON_CreateObject();

		cJSON_AddStringToObject(r, "replica_id", store_col_text(st, 0));
		cJSON_AddStringToObject(r, "agent_id", store_col_text(st, 1));
		cJSON_AddStringToObject(r, "replica_state", store_col_text(st, 2));
		cJSON_AddStringToObject(r, "replica_detail", store_col_text(st, 3));
		clock_rfc3339(sqlite3_column_int64(st, 4), t);
		cJSON_AddStringToObject(r, "updated_at", t);
		cJSON_AddItemToArray(list, r);
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

int catalog_list(struct store *s, const char *team_id, int64_t offset, int64_t limit, cJSON *list,
		 long *total, struct berr *e)
{
	static const char count_sql[] = "SELECT count(*) FROM container_services WHERE team_id = ?";
	static const char sql[] = "SELECT " SVC_COLUMNS " FROM container_services"
				  " WHERE team_id = ? ORDER BY id LIMIT ? OFFSET ?";
	
	return rowjson_page(s, count_sql, sql, team_id, offset, limit, svc_from_row, list, total, e);
}

/* After a conditional write changed nothing: 404 if the service is not the team's, else 409
 * naming the state it is in and what the action needs. */
static int catalog_explain(struct store *s, const char *team_id, const char *id,
			   const char *needs, struct berr *e)
{
	cJSON *cur;
	int rc = catalog_get(s, team_id, id, &cur, e);

	if (rc)
		return rc;
	rc = berr_set(e, B_ECONFLICT, "service_status", "the service is %s; this needs %s",
		      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cur, "service_status")),
		      needs);
	cJSON_Delete(cur);
	return rc;
}

/* Steps a conditional UPDATE/DELETE; 0 rows changed is explained by catalog_explain. */
static int catalog_transition(struct store *s, sqlite3_stmt *st, const char *team_id,
			      const char *id, const char *needs, struct berr *e)
{
	int rc = store_exec_stmt(s, st, e);

	if (rc)
		return rc;
	if (store_changes(s) == 0)
		return catalog_explain(s, team_id, id, needs, e);
	return B_OK;
}

int catalog_update(struct store *s, const char *team_id, const struct svc *v, struct berr *e)
{
	static const char sql[] =
		"UPDATE container_services SET display_name = ?3, service_desc = ?4,"
		" docker_image = ?5, external_url = ?6, external_auth_credential_id = ?7,"
		" exposed_port = ?8, health_path = ?9, env_config = ?10, volume_config = ?11,"
		" required_labels = ?12, gpu_count = ?13, replica_count = ?14, usage_prompt = ?15,"
		" openapi_url = ?16, updated_at = ?17 WHERE team_id = ?1 AND id = ?2"
		" AND service_status NOT IN ('deploying', 'stopping')";
	sqlite3_stmt *st;
	int rc;

	if ((rc = svc_check_vault(s, v, e)) || !(st = store_stmt(s, sql, e)))
		return rc ? rc : B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_text(st, 2, v->id);
	store_bind_text(st, 3, v->display_name);
	store_bind_text(st, 4, v->service_desc);
	store_bind_text(st, 5, v->docker_image);
	store_bind_text(st, 6, v->external_url);
	store_bind_text(st, 7, v->external_auth_credential_id);
	store_bind_int(st, 8, v->exposed_port);
	store_bind_text(st, 9, v->health_path);
	store_bind_text(st, 10, v->env_config_json);
	store_bind_text(st, 11, v->volume_config_json);
	store_bind_text(st, 12, v->required_labels_json);
	store_bind_int(st, 13, v->gpu_count);
	store_bind_int(st, 14, v->replica_count);
	store_bind_text(st, 15, v->usage_prompt);
	store_bind_text(st, 16, v->openapi_url);
	store_bind_int(st, 17, clock_now());
	return catalog_transition(s, st, team_id, v->id, "a state other than deploying or stopping", e);
}

int catalog_delete(struct store *s, const char *team_id, const char *id, struct berr *e)
{
	static const char sql[] = "DELETE FROM container_services WHERE team_id = ? AND id = ?"
				  " AND service_status IN ('created', 'stopped', 'failed')";
	sqlite3_stmt *st;

	if (!uuid_valid(id))
		return berr_set(e, B_ENOTFOUND, "", "no container service %s in this team", id);
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_text(st, 2, id);
	return catalog_transition(s, st, team_id, id, "created, stopped or failed (undeploy it first)", e);
}

void catalog_wait_detail(const cJSON *svc, char *out, size_t n)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(svc, "required_labels");
	const cJSON *gpus = cJSON_GetObjectItemCaseSensitive(svc, "gpu_count");
	const cJSON *l;
	struct buf b;
	int rc = 0;

	buf_init(&b, n ? n - 1 : 0);
	rc |= buf_addstr(&b, "waiting for an agent");
	cJSON_ArrayForEach(l, labels)
		rc |= buf_addf(&b, "%s%s", l == labels->child ? " with labels " : ",", l->valuestring);
	if (cJSON_IsNumber(gpus) && gpus->valueint > 0)
		rc |= buf_addf(&b, " and %d free GPU%s", gpus->valueint, gpus->valueint > 1 ? "s" : "");
	else if (cJSON_IsNumber(gpus) && gpus->valueint < 0)
		rc |= buf_addstr(&b, " and all of its GPUs free");
	snprintf(out, n, "%s%s", buf_str(&b), rc ? "..." : "");
	buf_free(&b);
}

int catalog_deploy(struct store *s, const char *team_id, const char *id, struct berr *e)
{
	/* deployed_spec: the definition as it is now is what this deploy runs; a PUT while it
	 * runs waits for the next deploy (API.md) */
	static const char sql[] =
		"UPDATE container_services SET service_status = 'deploying', status_detail = ?3,"
		" deployed_spec = ?5, updated_at = ?4 WHERE team_id = ?1 AND id = ?2"
		" AND service_status IN ('created', 'stopped', 'failed')";
	char detail[512], *spec;
	sqlite3_stmt *st;
	cJSON *cur;
	int rc;

	if ((rc = catalog_get(s, team_id, id, &cur, e)))
		return rc;
	catalog_wait_detail(cur, detail, sizeof(detail));
	spec = json_print(cur);
	cJSON_Delete(cur);
	if (!(st = store_stmt(s, sql, e))) {
		free(spec);
		return B_ESTORE;
	}
	store_bind_text(st, 1, team_id);
	store_bind_text(st, 2, id);
	store_bind_text(st, 3, detail);
	store_bind_int(st, 4, clock_now());
	store_bind_text(st, 5, spec);
	free(spec);
	/* services.c runs this in a transaction (with its audit row): the reconciler sees the
	 * new status and the old replicas retired together, or neither */
	if ((rc = catalog_transition(s, st, team_id, id, "created, stopped or failed", e)))
		return rc;
	/* replicas the reconciler has not cleared yet (it does on its next pass after a failure)
	 * belong to the deploy before: left as they are, a failed one would fail the new deploy
	 * at once for its reason, and the others would go on running the old definition */
	return fleet_service_retire(s, id, "removing the container of the deploy before", e);
}

int catalog_undeploy(struct store *s, const char *team_id, const char *id, struct berr *e)
{
	static const char sql[] =
		"UPDATE container_services SET service_status = CASE WHEN EXISTS (SELECT 1 FROM"
		" replicas WHERE service_id = ?2) THEN 'stopping' ELSE 'stopped' END,"
		" status_detail = CASE WHEN EXISTS (SELECT 1 FROM replicas WHERE service_id = ?2)"
		" THEN 'removing replicas' ELSE '' END, updated_at = ?3"
		" WHERE team_id = ?1 AND id = ?2 AND service_status IN ('deploying', 'running', 'failed')";
	sqlite3_stmt *st;

	if (!uuid_valid(id))
		return berr_set(e, B_ENOTFOUND, "", "no container service %s in this team", id);
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_text(st, 2, id);
	store_bind_int(st, 3, clock_now());
	return catalog_transition(s, st, team_id, id, "deploying, running or failed", e);
}
