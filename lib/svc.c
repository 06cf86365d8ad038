#include "berth.h"
#include "svc.h"
#include "rowjson.h"
#include "clock.h"
#include "json.h"
#include "berth_limits.h"
#include "valid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const svc_fields[] = {
	"service_slug", "display_name", "service_desc", "service_type", "docker_image",
	"external_url", "external_auth_credential_id", "exposed_port", "health_path",
	"env_config", "volume_config", "required_labels", "gpu_count", "replica_count",
	"usage_prompt", "openapi_url", NULL,
};

static int svc_type_parse(const cJSON *body, enum svc_type *t, struct berr *e)
{
	const char *s;
	int rc = json_get_string(body, "service_type", "service_type", false, 1, 16, &s, e);

	if (rc)
		return rc;
	if (!s || strcmp(s, "deployed") == 0)
		*t = SVC_DEPLOYED;
	else if (strcmp(s, "external") == 0)
		*t = SVC_EXTERNAL;
	else
		return berr_set(e, B_EINVAL, "service_type", "service_type must be deployed or external");
	return B_OK;
}

/* A string field checked by a predicate; msg is the rule, said in the error. */
static int svc_string_rule(const cJSON *body, const char *name, bool required, size_t max,
			   bool (*ok)(const char *), const char *msg, const char **out,
			   struct berr *e)
{
	int rc = json_get_string(body, name, name, required, required ? 1 : 0, max, out, e);

	if (rc)
		return rc;
	if (*out && ok && !ok(*out))
		return berr_set(e, B_EINVAL, name, "%s %s", name, msg);
	return B_OK;
}

/* "" is how a service without an OpenAPI document is stored and read back. */
static bool openapi_path_ok(const char *s)
{
	return !*s || valid_url_path(s);
}

static bool uuid_ok(const char *s)
{
	return uuid_valid(s);
}

/* Each entry an object of exactly two string members; names checked by name_ok; duplicates
 * of the first member refused. The array is re-serialised into *json. */
static int svc_pairs(const cJSON *body, const char *name, size_t max, const char *k1,
		     const char *k2, size_t vmax1, size_t vmax2, bool (*ok1)(const char *),
		     bool (*ok2)(const char *), const char *rule, char **json, struct berr *e)
{
	const char *const keys[] = {k1, k2, NULL};
	const cJSON *arr, *item;
	char where[ERR_FIELD_MAX], f1[ERR_FIELD_MAX], f2[ERR_FIELD_MAX];
	int rc, i = 0;

	if ((rc = json_get_array(body, name, max, &arr, e)))
		return rc;
	cJSON_ArrayForEach(item, arr) {
		const char *v1, *v2;

		snprintf(where, sizeof(where), "%s[%d].", name, i);
		snprintf(f1, sizeof(f1), "%s%s", where, k1);
		snprintf(f2, sizeof(f2), "%s%s", where, k2);
		if (!cJSON_IsObject(item)) {
			snprintf(f1, sizeof(f1), "%s[%d]", name, i);
			return berr_set(e, B_EINVAL, f1, "%s must be an object {%s, %s}", f1, k1, k2);
		}
		if ((rc = json_only_keys(item, keys, where, e)) ||
		    (rc = json_get_string(item, k1, f1, true, 1, vmax1, &v1, e)) ||
		    (rc = json_get_string(item, k2, f2, true, ok2 ? 1 : 0, vmax2, &v2, e)))
			return rc;
		if (!ok1(v1))
			return berr_set(e, B_EINVAL, f1, "%s %s", f1, rule);
		if (ok2 && !ok2(v2))
			return berr_set(e, B_EINVAL, f2, "%s %s", f2, rule);
		for (const cJSON *prev = arr->child; prev != item; prev = prev->next)
			if (strcmp(cJSON_GetObjectItemCaseSensitive(prev, k1)->valuestring, v1) == 0)
				return berr_set(e, B_EINVAL, f1, "%s %s appears twice", f1, v1);
		i++;
	}
	*json = arr ? json_print(arr) : strdup("[]");
	if (!*json)
		abort();
	return B_OK;
}

static int svc_labels(const cJSON *body, char **json, struct berr *e)
{
	const cJSON *arr, *item;
	char f[ERR_FIELD_MAX];
	int rc, i = 0;

	if ((rc = json_get_array(body, "required_labels", REQUIRED_LABELS_MAX, &arr, e)))
		return rc;
	cJSON_ArrayForEach(item, arr) {
		snprintf(f, sizeof(f), "required_labels[%d]", i++);
		if ((rc = json_check_string(item, f, 1, LABEL_MAX, e)))
			return rc;
		if (!valid_label(item->valuestring))
			return berr_set(e, B_EINVAL, f, "%s must match ^[a-z0-9][a-z0-9._-]{0,62}$", f);
		for (const cJSON *prev = arr->child; prev != item; prev = prev->next)
			if (strcmp(prev->valuestring, item->valuestring) == 0)
				return berr_set(e, B_EINVAL, f, "label %s appears twice",
						item->valuestring);
	}
	*json = arr ? json_print(arr) : strdup("[]");
	if (!*json)
		abort();
	return B_OK;
}

/* Fields that belong to the other service_type are refused rather than ignored. */
static int svc_type_fields(const cJSON *body, enum svc_type t, struct berr *e)
{
	static const char *const deployed_only[] = {"docker_image", NULL};
	static const char *const external_only[] = {"external_url", "external_auth_credential_id",
						    NULL};
	const char *const *bad = t == SVC_DEPLOYED ? external_only : deployed_only;

	for (; *bad; bad++) {
		const cJSON *item = cJSON_GetObjectItemCaseSensitive(body, *bad);

		if (item && !cJSON_IsNull(item))
			return berr_set(e, B_EINVAL, *bad, "%s does not apply to a %s service", *bad,
					t == SVC_DEPLOYED ? "deployed" : "external");
	}
	return B_OK;
}

static int svc_parse_numbers(const cJSON *body, struct svc *v, struct berr *e)
{
	bool has;
	int rc;

	v->exposed_port = EXPOSED_PORT_DEFAULT;
	v->gpu_count = 0;
	v->replica_count = REPLICA_COUNT_DEFAULT;
	if ((rc = json_get_int(body, "exposed_port", false, EXPOSED_PORT_MIN, EXPOSED_PORT_MAX, &has,
			   &v->exposed_port, e)))
		return rc;
	if (!has)
		v->exposed_port = EXPOSED_PORT_DEFAULT;
	if ((rc = json_get_int(body, "gpu_count", false, GPU_COUNT_MIN, GPU_COUNT_MAX, &has,
			   &v->gpu_count, e)))
		return rc;
	if ((rc = json_get_int(body, "replica_count", false, REPLICA_COUNT_MIN, REPLICA_COUNT_MAX, &has,
			   &v->replica_count, e)))
		return rc;
	if (!has)
		v->replica_count = REPLICA_COUNT_DEFAULT;
	return B_OK;
}

static int svc_parse_strings(const cJSON *body, struct svc *v, struct berr *e)
{
	int rc;

	if ((rc = json_get_string(body, "service_slug", "service_slug", true, 1, SERVICE_SLUG_MAX,
			      &v->service_slug, e)))
		return rc;
	if (!valid_service_slug(v->service_slug))
		return berr_set(e, B_EINVAL, "service_slug",
				"service_slug must match ^[a-z0-9][a-z0-9-]{1,98}[a-z0-9]$");
	if ((rc = json_get_string(body, "display_name", "display_name", false, 0, DISPLAY_NAME_MAX,
			      &v->display_name, e)) ||
	    (rc = json_get_string(body, "service_desc", "service_desc", false, 0, SERVICE_DESC_MAX,
			      &v->service_desc, e)) ||
	    (rc = json_get_string(body, "usage_prompt", "usage_prompt", false, 0, USAGE_PROMPT_MAX,
			      &v->usage_prompt, e)))
		return rc;
	if ((rc = svc_string_rule(body, "docker_image", v->service_type == SVC_DEPLOYED,
				  DOCKER_IMAGE_MAX, valid_docker_image,
				  "must be an image reference without whitespace", &v->docker_image,
				  e)) ||
	    (rc = svc_string_rule(body, "external_url", v->service_type == SVC_EXTERNAL,
				  EXTERNAL_URL_MAX, valid_https_url,
				  "must be an absolute https:// URL with a host and no user:password@",
				  &v->external_url, e)) ||
	    (rc = svc_string_rule(body, "external_auth_credential_id", false, UUID_STR_LEN,
				  uuid_ok, "must be the id of a vault secret",
				  &v->external_auth_credential_id, e)) ||
	    (rc = svc_string_rule(body, "health_path", false, HEALTH_PATH_MAX, valid_url_path,
				  "must start with / and hold no spaces or control characters",
				  &v->health_path, e)) ||
	    (rc = svc_string_rule(body, "openapi_url", false, OPENAPI_URL_MAX, openapi_path_ok,
				  "must be a path on the container starting with /, e.g. /openapi.json",
				  &v->openapi_url, e)))
		return rc;
	if (!v->display_name || !*v->display_name)
		v->display_name = v->service_slug;
	if (!v->service_desc)
		v->service_desc = "";
	if (!v->usage_prompt)
		v->usage_prompt = "";
	if (!v->health_path)
		v->health_path = HEALTH_PATH_DEFAULT;
	if (!v->openapi_url)
		v->openapi_url = "";
	return B_OK;
}

int svc_parse_create(const cJSON *body, struct svc *v, struct berr *e)
{
	int rc;

	memset(v, 0, sizeof(*v));
	if ((rc = json_only_keys(body, svc_fields, "", e)) ||
	    (rc = svc_type_parse(body, &v->service_type, e)) ||
	    (rc = svc_type_fields(body, v->service_type, e)) ||
	    (rc = svc_parse_strings(body, v, e)) || (rc = svc_parse_numbers(body, v, e)) ||
	    (rc = svc_pairs(body, "env_config", ENV_CONFIG_MAX, "env_name", "env_value",
			    ENV_NAME_MAX, ENV_VALUE_MAX, valid_env_name, NULL,
			    "must match ^[A-Za-z_][A-Za-z0-9_]*$", &v->env_config_json, e)) ||
	    (rc = svc_pairs(body, "volume_config", VOLUME_CONFIG_MAX, "host_path",
			    "container_path", VOLUME_PATH_MAX, VOLUME_PATH_MAX, valid_abs_path,
			    valid_abs_path, "must be an absolute path without .. segments",
			    &v->volume_config_json, e)) ||
	    (rc = svc_labels(body, &v->required_labels_json, e))) {
		svc_free(v);
		return rc;
	}
	return B_OK;
}

void svc_free(struct svc *v)
{
	free(v->env_config_json);
	free(v->volume_config_json);
	free(v->required_labels_json);
	v->env_config_json = v->volume_config_json = v->required_labels_json = NULL;
}

int svc_check_vault(struct store *s, const struct svc *v, struct berr *e)
{
	static const char sql[] = "SELECT 1 FROM vault_secrets WHERE id = ? AND team_id = ?";
	sqlite3_stmt *st;
	int rc;

	if (!v->external_auth_credential_id)
		return B_OK;
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, v->external_auth_credential_id);
	store_bind_text(st, 2, v->team_id);
	rc = store_step(s, st, e);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return berr_set(e, B_EINVAL, "external_auth_credential_id",
				"external_auth_credential_id names no vault secret of this team");
	return rc < 0 ? rc : B_OK;
}

int svc_insert(struct store *s, struct svc *v, struct berr *e)
{
	static const char sql[] =
		"INSERT INTO container_services (id, team_id, service_slug, display_name,"
		" service_desc, service_type, docker_image, external_url,"
		" external_auth_credential_id, exposed_port, health_path, env_config, volume_config,"
		" required_labels, gpu_count, replica_count, usage_prompt, openapi_url,"
		" service_status, status_detail, created_at, updated_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
		" ?18, 'created', '', ?19, ?19)";
	sqlite3_stmt *st;
	int rc;

	if ((rc = svc_check_vault(s, v, e)))
		return rc;
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	uuid_v7(v->id);
	store_bind_text(st, 1, v->id);
	store_bind_text(st, 2, v->team_id);
	store_bind_text(st, 3, v->service_slug);
	store_bind_text(st, 4, v->display_name);
	store_bind_text(st, 5, v->service_desc);
	store_bind_text(st, 6, v->service_type == SVC_DEPLOYED ? "deployed" : "external");
	store_bind_text(st, 7, v->docker_image);
	store_bind_text(st, 8, v->external_url);
	store_bind_text(st, 9, v->external_auth_credential_id);
	store_bind_int(st, 10, v->exposed_port);
	store_bind_text(st, 11, v->health_path);
	store_bind_text(st, 12, v->env_config_json);
	store_bind_text(st, 13, v->volume_config_json);
	store_bind_text(st, 14, v->required_labels_json);
	store_bind_int(st, 15, v->gpu_count);
	store_bind_int(st, 16, v->replica_count);
	store_bind_text(st, 17, v->usage_prompt);
	store_bind_text(st, 18, v->openapi_url);
	store_bind_int(st, 19, clock_now());
	rc = store_exec_stmt(s, st, e);
	if (rc == B_ECONFLICT)
		return berr_set(e, rc, "service_slug",
				"a service with service_slug %s exists already in this team",
				v->service_slug);
	return rc;
}
cJSON *svc_from_row(sqlite3_stmt *st)
{
	static const char *const text_cols[] = {
		"id", "service_slug", "display_name", "service_desc", "service_type",
	};
	cJSON *o = cJSON_CreateObject();
	size_t i;

	for (i = 0; i < B_ARRAY_LEN(text_cols); i++)
		cJSON_AddStringToObject(o, text_cols[i], store_col_text(st, (int)i));
	rowjson_text_or_null(o, "docker_image", st, 5);
	rowjson_text_or_null(o, "external_url", st, 6);
	rowjson_text_or_null(o, "external_auth_credential_id", st, 7);
	cJSON_AddNumberToObject(o, "exposed_port", sqlite3_column_int(st, 8));
	cJSON_AddStringToObject(o, "health_path", store_col_text(st, 9));
	rowjson_array(o, "env_config", store_col_text(st, 10));
	rowjson_array(o, "volume_config", store_col_text(st, 11));
	rowjson_array(o, "required_labels", store_col_text(st, 12));
	cJSON_AddNumberToObject(o, "gpu_count", sqlite3_column_int(st, 13));
	cJSON_AddNumberToObject(o, "replica_count", sqlite3_column_int(st, 14));
	cJSON_AddStringToObject(o, "usage_prompt", store_col_text(st, 15));
	cJSON_AddStringToObject(o, "openapi_url", store_col_text(st, 16));
	cJSON_AddStringToObject(o, "service_status", store_col_text(st, 17));
	cJSON_AddStringToObject(o, "status_detail", store_col_text(st, 18));
	rowjson_time(o, "created_at", st, 19);
	rowjson_time(o, "updated_at", st, 20);
	return o;
}

static bool is_input_field(const char *name)
{
	for (size_t i = 0; svc_fields[i]; i++)
		if (strcmp(svc_fields[i], name) == 0)
			return true;
	return false;
}

/* One member of a PUT body applied to the merged definition, or refused. */
static int svc_merge_member(cJSON *merged, const cJSON *m, struct berr *e)
{
	static const char *const immutable[] = {"service_slug", "service_type"};
	static const char *const server_set[] = {"id", "service_status", "status_detail",
						 "created_at", "updated_at", "replica_list"};

	for (size_t i = 0; i < B_ARRAY_LEN(server_set); i++)
		if (strcmp(m->string, server_set[i]) == 0)
			return berr_set(e, B_EINVAL, m->string, "%s is set by the server", m->string);
	if (!is_input_field(m->string))
		return berr_set(e, B_EINVAL, m->string, "unknown field %s", m->string);
	if (cJSON_IsNull(m))
		return B_OK; /* null means unchanged */
	for (size_t i = 0; i < B_ARRAY_LEN(immutable); i++) {
		const cJSON *cur = cJSON_GetObjectItemCaseSensitive(merged, immutable[i]);

		if (strcmp(m->string, immutable[i]) == 0 && !cJSON_Compare(cur, m, true))
			return berr_set(e, B_EINVAL, m->string, "%s cannot be changed", m->string);
	}
	cJSON_ReplaceItemInObjectCaseSensitive(merged, m->string, cJSON_Duplicate(m, true));
	return B_OK;
}

int svc_parse_update(const cJSON *current, const cJSON *body, cJSON **merged, struct svc *out,
		     struct berr *e)
{
	cJSON *m = cJSON_CreateObject();
	const cJSON *c;
	int rc = B_OK;

	*merged = NULL;
	for (c = current->child; c; c = c->next)
		if (is_input_field(c->string))
			cJSON_AddItemToObject(m, c->string, cJSON_Duplicate(c, true));
	for (c = body->child; c && !rc; c = c->next)
		rc = svc_merge_member(m, c, e);
	if (!rc)
		rc = svc_parse_create(m, out, e);
	if (rc) {
		cJSON_Delete(m);
		return rc;
	}
	*merged = m;
	return B_OK;
}
