/* catalog_test.c: a team's container services in the store (lib/catalog.c): look-ups, the
 * list, update, delete, deploy and undeploy transitions, the wait detail and the replica list,
 * against a real temporary SQLite file. */
#include "berth.h"
#include "fixture.h"
#include "catalog.h"
#include "acct.h"
#include "crypto.h"
#include "fleet.h"
#include "json.h"
#include "store.h"
#include "svc.h"
#include "uuid.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

TestSuite(catalog, .init = fixture_store_open, .fini = fixture_store_close);

/* ---- helpers ---- */

/* The least /v1/info berth-agent sends. */
#define MIN_INFO "{\"platform_arch\":\"x86_64\",\"agent_version\":\"1.0.0\"}"

/* Runs SQL (sqlite3_mprintf format: %q, %Q) on a second connection to the store's file. */
static void exec(const char *fmt, ...)
{
	sqlite3 *db = NULL;
	char *sql, *err = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	cr_assert(eq(int, sqlite3_open(fx.db, &db), SQLITE_OK));
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	cr_assert(eq(int, rc, SQLITE_OK), "%s: %s", sql, err ? err : "");
	sqlite3_free(err);
	sqlite3_free(sql);
	sqlite3_close(db);
}

/* The first column of the first row as text into out ("(null)" for NULL, "" when no row). */
static bool query(char *out, size_t n, const char *fmt, ...)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char *sql;
	va_list ap;
	bool row;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	cr_assert(eq(int, sqlite3_open(fx.db, &db), SQLITE_OK));
	cr_assert(eq(int, sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK), "%s: %s", sql,
		  sqlite3_errmsg(db));
	row = sqlite3_step(q) == SQLITE_ROW;
	if (!row)
		snprintf(out, n, "%s", "");
	else if (sqlite3_column_type(q, 0) == SQLITE_NULL)
		snprintf(out, n, "%s", "(null)");
	else
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_free(sql);
	sqlite3_close(db);
	return row;
}

/* A service of team from body_text (created); its id to id. */
static void add_service_for(const char *team, const char *body_text, char *id)
{
	struct berr e = {0};
	cJSON *b = cJSON_Parse(body_text);
	struct svc v;

	cr_assert(not(eq(ptr, b, NULL)), "body does not parse: %s", body_text);
	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "body rejected: %s", e.message);
	snprintf(v.team_id, sizeof(v.team_id), "%s", team);
	cr_assert(eq(int, svc_insert(fx.st, &v, &e), B_OK), "svc_insert: %s", e.message);
	snprintf(id, UUID_STR_LEN + 1, "%s", v.id);
	svc_free(&v);
	cJSON_Delete(b);
}

static void add_service(const char *slug, char *id)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"service_slug\":\"%s\",\"docker_image\":\"nginx\"}", slug);
	add_service_for(fx.team_a, body, id);
}

static void set_status(const char *id, const char *status)
{
	exec("UPDATE container_services SET service_status = %Q WHERE id = %Q", status, id);
}

static void service_col(const char *id, const char *col, char *out, size_t n)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT %s FROM container_services WHERE id = %%Q", col);
	cr_assert(query(out, n, sql, id), "no service %s", id);
}

static const char *jstr(const cJSON *o, const char *name)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));

	return v ? v : "(absent)";
}

/* catalog_update of id in team with the definition body_text. */
static int update(const char *team, const char *id, const char *body_text, struct berr *e)
{
	cJSON *b = cJSON_Parse(body_text);
	struct svc v;
	int rc;

	cr_assert(eq(int, svc_parse_create(b, &v, e), B_OK), "body rejected: %s", e->message);
	snprintf(v.id, sizeof(v.id), "%s", id);
	snprintf(v.team_id, sizeof(v.team_id), "%s", team);
	rc = catalog_update(fx.st, team, &v, e);
	svc_free(&v);
	cJSON_Delete(b);
	return rc;
}

static const char renamed[] = "{\"service_slug\":\"web\",\"docker_image\":\"nginx:2\","
			      "\"display_name\":\"Renamed\"}";

/* ---- catalog_get, catalog_get_by_slug ---- */

Test(catalog, get_own_service)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], slug[64], status[32];
	cJSON *o = NULL;

	add_service("web", id);
	cr_assert(eq(int, catalog_get(fx.st, fx.team_a, id, &o, &e), B_OK), "%s", e.message);
	snprintf(slug, sizeof(slug), "%s", jstr(o, "service_slug"));
	snprintf(status, sizeof(status), "%s", jstr(o, "service_status"));
	cJSON_Delete(o);
	cr_assert(eq(str, slug, "web"));
	cr_assert(eq(str, status, "created"));
}

Test(catalog, get_of_another_team_is_not_found)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];
	cJSON *o = NULL;

	add_service("web", id);
	cr_assert(eq(int, catalog_get(fx.st, fx.team_b, id, &o, &e), B_ENOTFOUND));
	cr_assert(eq(ptr, o, NULL));
	cr_assert(eq(int, e.status, 404));
}

Test(catalog, get_unknown_uuid_is_not_found)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];
	cJSON *o = NULL;

	uuid_v7(id);
	cr_assert(eq(int, catalog_get(fx.st, fx.team_a, id, &o, &e), B_ENOTFOUND));
	cr_assert(eq(ptr, o, NULL));
}

Test(catalog, get_non_uuid_id_is_not_found)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];
	cJSON *o = (cJSON *)&e; /* must be reset to NULL */

	add_service("web", id);
	cr_assert(eq(int, catalog_get(fx.st, fx.team_a, "web", &o, &e), B_ENOTFOUND));
	cr_assert(eq(ptr, o, NULL));
	cr_assert(eq(int, catalog_get(fx.st, fx.team_a, "' OR 1=1 --", &o, &e), B_ENOTFOUND));
	cr_assert(eq(ptr, o, NULL));
}

Test(catalog, get_by_slug_own_service)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], got[UUID_STR_LEN + 1];
	cJSON *o = NULL;

	add_service("web", id);
	cr_assert(eq(int, catalog_get_by_slug(fx.st, fx.team_a, "web", &o, &e), B_OK), "%s", e.message);
	snprintf(got, sizeof(got), "%s", jstr(o, "id"));
	cJSON_Delete(o);
	cr_assert(eq(str, got, id));
}

Test(catalog, get_by_slug_of_another_team_is_not_found)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];
	cJSON *o = NULL;

	add_service("web", id);
	cr_assert(eq(int, catalog_get_by_slug(fx.st, fx.team_b, "web", &o, &e), B_ENOTFOUND));
	cr_assert(eq(ptr, o, NULL));
}

Test(catalog, get_by_unknown_slug_is_not_found)
{
	struct berr e = {0};
	cJSON *o = NULL;

	cr_assert(eq(int, catalog_get_by_slug(fx.st, fx.team_a, "nope", &o, &e), B_ENOTFOUND));
	cr_assert(eq(ptr, o, NULL));
}

/* ---- catalog_list ---- */

static long list(long offset, long limit, char *slugs, size_t n)
{
	struct berr e = {0};
	cJSON *l = cJSON_CreateArray(), *it;
	long total = -1;
	size_t used = 0;

	cr_assert(eq(int, catalog_list(fx.st, fx.team_a, offset, limit, l, &total, &e), B_OK), "%s",
		  e.message);
	slugs[0] = '\0';
	cJSON_ArrayForEach(it, l)
		used += (size_t)snprintf(slugs + used, n - used, "%s%s", used ? "," : "",
					 jstr(it, "service_slug"));
	cJSON_Delete(l);
	return total;
}

static void three_services(void)
{
	char id[UUID_STR_LEN + 1];

	add_service("svc1", id);
	add_service("svc2", id);
	add_service("svc3", id);
	add_service_for(fx.team_b, "{\"service_slug\":\"svcb\",\"docker_image\":\"nginx\"}", id);
}

Test(catalog, list_first_page_oldest_first_with_total)
{
	char slugs[128];

	three_services();
	cr_assert(eq(long, list(0, 2, slugs, sizeof(slugs)), 3));
	cr_assert(eq(str, slugs, "svc1,svc2"));
}

Test(catalog, list_last_page)
{
	char slugs[128];

	three_services();
	cr_assert(eq(long, list(2, 2, slugs, sizeof(slugs)), 3));
	cr_assert(eq(str, slugs, "svc3"));
}

Test(catalog, list_past_the_end_is_empty)
{
	char slugs[128];

	three_services();
	cr_assert(eq(long, list(20, 20, slugs, sizeof(slugs)), 3));
	cr_assert(eq(str, slugs, ""));
}

/* ---- catalog_update ---- */

Test(catalog, update_created_service)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[64];

	add_service("web", id);
	cr_assert(eq(int, update(fx.team_a, id, renamed, &e), B_OK), "%s", e.message);
	service_col(id, "display_name", v, sizeof(v));
	cr_assert(eq(str, v, "Renamed"));
	service_col(id, "docker_image", v, sizeof(v));
	cr_assert(eq(str, v, "nginx:2"));
}

Test(catalog, update_running_service_is_allowed)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];

	add_service("web", id);
	set_status(id, "running");
	cr_assert(eq(int, update(fx.team_a, id, renamed, &e), B_OK), "%s", e.message);
}

Test(catalog, update_while_deploying_is_409)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[64];

	add_service("web", id);
	set_status(id, "deploying");
	cr_assert(eq(int, update(fx.team_a, id, renamed, &e), B_ECONFLICT));
	cr_assert(eq(int, e.status, 409));
	service_col(id, "display_name", v, sizeof(v));
	cr_assert(not(eq(str, v, "Renamed")));
}

Test(catalog, update_while_stopping_is_409)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];

	add_service("web", id);
	set_status(id, "stopping");
	cr_assert(eq(int, update(fx.team_a, id, renamed, &e), B_ECONFLICT));
}

Test(catalog, update_of_another_team_is_404)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[64];

	add_service("web", id);
	cr_assert(eq(int, update(fx.team_b, id, renamed, &e), B_ENOTFOUND));
	service_col(id, "display_name", v, sizeof(v));
	cr_assert(not(eq(str, v, "Renamed")));
}

/* ---- catalog_delete ---- */

static int delete_in(const char *status)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];

	add_service("web", id);
	set_status(id, status);
	return catalog_delete(fx.st, fx.team_a, id, &e);
}

Test(catalog, delete_created_service)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[16];

	add_service("web", id);
	cr_assert(eq(int, catalog_delete(fx.st, fx.team_a, id, &e), B_OK), "%s", e.message);
	cr_assert(not(query(v, sizeof(v), "SELECT 1 FROM container_services WHERE id = %Q", id)));
}

Test(catalog, delete_stopped_service)
{
	cr_assert(eq(int, delete_in("stopped"), B_OK));
}

Test(catalog, delete_failed_service)
{
	cr_assert(eq(int, delete_in("failed"), B_OK));
}

Test(catalog, delete_deploying_is_409)
{
	cr_assert(eq(int, delete_in("deploying"), B_ECONFLICT));
}

Test(catalog, delete_running_is_409)
{
	cr_assert(eq(int, delete_in("running"), B_ECONFLICT));
}

Test(catalog, delete_stopping_is_409)
{
	cr_assert(eq(int, delete_in("stopping"), B_ECONFLICT));
}

Test(catalog, delete_of_another_team_is_404)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[16];

	add_service("web", id);
	cr_assert(eq(int, catalog_delete(fx.st, fx.team_b, id, &e), B_ENOTFOUND));
	cr_assert(query(v, sizeof(v), "SELECT 1 FROM container_services WHERE id = %Q", id));
}

Test(catalog, delete_non_uuid_is_404)
{
	struct berr e = {0};

	cr_assert(eq(int, catalog_delete(fx.st, fx.team_a, "web", &e), B_ENOTFOUND));
}

/* ---- catalog_deploy ---- */

static int deploy_in(const char *status, char *id)
{
	struct berr e = {0};

	add_service("web", id);
	set_status(id, status);
	return catalog_deploy(fx.st, fx.team_a, id, &e);
}

Test(catalog, deploy_created_service_sets_deploying_and_the_spec)
{
	char id[UUID_STR_LEN + 1], v[4096];
	cJSON *spec;
	const char *image;

	cr_assert(eq(int, deploy_in("created", id), B_OK));
	service_col(id, "service_status", v, sizeof(v));
	cr_assert(eq(str, v, "deploying"));
	service_col(id, "status_detail", v, sizeof(v));
	cr_assert(eq(str, v, "waiting for an agent"));
	service_col(id, "deployed_spec", v, sizeof(v));
	spec = cJSON_Parse(v);
	cr_assert(not(eq(ptr, spec, NULL)), "deployed_spec is not JSON: %s", v);
	image = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "docker_image"));
	cr_assert(eq(str, (char *)(image ? image : "(absent)"), "nginx"));
	cJSON_Delete(spec);
}

Test(catalog, deploy_stopped_service)
{
	char id[UUID_STR_LEN + 1];

	cr_assert(eq(int, deploy_in("stopped", id), B_OK));
}

Test(catalog, deploy_failed_service)
{
	char id[UUID_STR_LEN + 1];

	cr_assert(eq(int, deploy_in("failed", id), B_OK));
}

Test(catalog, deploy_deploying_is_409)
{
	char id[UUID_STR_LEN + 1];

	cr_assert(eq(int, deploy_in("deploying", id), B_ECONFLICT));
}

Test(catalog, deploy_running_is_409)
{
	char id[UUID_STR_LEN + 1], v[64];

	cr_assert(eq(int, deploy_in("running", id), B_ECONFLICT));
	service_col(id, "deployed_spec", v, sizeof(v));
	cr_assert(eq(str, v, "(null)"));
}

Test(catalog, deploy_stopping_is_409)
{
	char id[UUID_STR_LEN + 1];

	cr_assert(eq(int, deploy_in("stopping", id), B_ECONFLICT));
}

Test(catalog, deploy_of_another_team_is_404)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[32];

	add_service("web", id);
	cr_assert(eq(int, catalog_deploy(fx.st, fx.team_b, id, &e), B_ENOTFOUND));
	service_col(id, "service_status", v, sizeof(v));
	cr_assert(eq(str, v, "created"));
}

Test(catalog, deploy_takes_the_definition_as_it_is_now)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[4096];
	cJSON *spec;
	const char *image;

	add_service("web", id);
	cr_assert(eq(int, update(fx.team_a, id, renamed, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, catalog_deploy(fx.st, fx.team_a, id, &e), B_OK), "%s", e.message);
	service_col(id, "deployed_spec", v, sizeof(v));
	spec = cJSON_Parse(v);
	image = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "docker_image"));
	cr_assert(eq(str, (char *)(image ? image : "(absent)"), "nginx:2"));
	cJSON_Delete(spec);
}

/* ---- catalog_undeploy ---- */

Test(catalog, undeploy_without_replicas_is_stopped)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[64];

	add_service("web", id);
	set_status(id, "deploying");
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, id, &e), B_OK), "%s", e.message);
	service_col(id, "service_status", v, sizeof(v));
	cr_assert(eq(str, v, "stopped"));
}

Test(catalog, undeploy_with_a_replica_is_stopping)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], ag[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1], v[64];

	add_service("web", id);
	set_status(id, "running");
	cr_assert(eq(int, fleet_agent_connect(fx.st, fx.team_a, "gpu-a", NULL, ag, &e), B_OK));
	cr_assert(eq(int, fleet_replica_add(fx.st, id, ag, NULL, r, &e), B_OK));
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, id, &e), B_OK), "%s", e.message);
	service_col(id, "service_status", v, sizeof(v));
	cr_assert(eq(str, v, "stopping"));
}

Test(catalog, undeploy_with_a_stopped_replica_row_is_stopping)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], ag[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1], v[64];

	add_service("web", id);
	set_status(id, "failed");
	cr_assert(eq(int, fleet_agent_connect(fx.st, fx.team_a, "gpu-a", NULL, ag, &e), B_OK));
	cr_assert(eq(int, fleet_replica_add(fx.st, id, ag, NULL, r, &e), B_OK));
	cr_assert(eq(int, fleet_replica_set_state(fx.st, r, "stopped", "", &e), B_OK));
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, id, &e), B_OK), "%s", e.message);
	service_col(id, "service_status", v, sizeof(v));
	cr_assert(eq(str, v, "stopping"));
}

Test(catalog, undeploy_created_is_409)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];

	add_service("web", id);
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, id, &e), B_ECONFLICT));
}

Test(catalog, undeploy_stopped_is_409)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];

	add_service("web", id);
	set_status(id, "stopped");
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, id, &e), B_ECONFLICT));
}

Test(catalog, undeploy_of_another_team_is_404)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[64];

	add_service("web", id);
	set_status(id, "running");
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_b, id, &e), B_ENOTFOUND));
	service_col(id, "service_status", v, sizeof(v));
	cr_assert(eq(str, v, "running"));
}

/* ---- catalog_wait_detail ---- */

static void wait_detail(const char *svc_text, char *out, size_t n)
{
	cJSON *svc = cJSON_Parse(svc_text);

	cr_assert(not(eq(ptr, svc, NULL)));
	catalog_wait_detail(svc, out, n);
	cJSON_Delete(svc);
}

Test(catalog, wait_detail_without_labels_or_gpus)
{
	char d[256];

	wait_detail("{\"required_labels\":[],\"gpu_count\":0}", d, sizeof(d));
	cr_assert(eq(str, d, "waiting for an agent"));
}

Test(catalog, wait_detail_with_labels)
{
	char d[256];

	wait_detail("{\"required_labels\":[\"gpu\",\"h100\"],\"gpu_count\":0}", d, sizeof(d));
	cr_assert(eq(str, d, "waiting for an agent with labels gpu,h100"));
}

Test(catalog, wait_detail_with_labels_and_gpus)
{
	char d[256];

	wait_detail("{\"required_labels\":[\"gpu\",\"h100\"],\"gpu_count\":2}", d, sizeof(d));
	cr_assert(eq(str, d, "waiting for an agent with labels gpu,h100 and 2 free GPUs"));
}

Test(catalog, wait_detail_one_gpu_is_singular)
{
	char d[256];

	wait_detail("{\"required_labels\":[],\"gpu_count\":1}", d, sizeof(d));
	cr_assert(eq(str, d, "waiting for an agent and 1 free GPU"));
}

Test(catalog, wait_detail_all_gpus)
{
	char d[256];

	wait_detail("{\"required_labels\":[],\"gpu_count\":-1}", d, sizeof(d));
	cr_assert(eq(str, d, "waiting for an agent and all of its GPUs free"));
}

Test(catalog, wait_detail_fits_a_small_buffer)
{
	char d[16];

	memset(d, 'x', sizeof(d));
	wait_detail("{\"required_labels\":[\"gpu\",\"h100\"],\"gpu_count\":2}", d, sizeof(d));
	cr_assert(lt(sz, strlen(d), sizeof(d)));
}

/* ---- catalog_add_replicas ---- */

Test(catalog, add_replicas_names_the_agent)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], ag[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1];
	char rid[64], name[64], state[32], detail[64];
	cJSON *svc = NULL, *list, *it;
	int size;

	add_service("web", id);
	cr_assert(eq(int, fleet_agent_connect(fx.st, fx.team_a, "gpu-a", NULL, ag, &e), B_OK));
	cr_assert(eq(int, fleet_replica_add(fx.st, id, ag, NULL, r, &e), B_OK));
	cr_assert(eq(int, catalog_get(fx.st, fx.team_a, id, &svc, &e), B_OK));
	cr_assert(eq(int, catalog_add_replicas(fx.st, svc, &e), B_OK), "%s", e.message);
	list = cJSON_GetObjectItem(svc, "replica_list");
	size = cJSON_GetArraySize(list);
	it = cJSON_GetArrayItem(list, 0);
	snprintf(rid, sizeof(rid), "%s", jstr(it, "replica_id"));
	snprintf(name, sizeof(name), "%s", jstr(it, "agent_id"));
	snprintf(state, sizeof(state), "%s", jstr(it, "replica_state"));
	snprintf(detail, sizeof(detail), "%s", jstr(it, "replica_detail"));
	cJSON_Delete(svc);
	cr_assert(eq(int, size, 1));
	cr_assert(eq(str, rid, r));
	cr_assert(eq(str, name, "gpu-a"));
	cr_assert(eq(str, state, "pending"));
	cr_assert(eq(str, detail, "sent to the agent"));
}

Test(catalog, add_replicas_without_replicas_is_an_empty_list)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1];
	cJSON *svc = NULL;
	bool is_array;
	int size;

	add_service("web", id);
	cr_assert(eq(int, catalog_get(fx.st, fx.team_a, id, &svc, &e), B_OK));
	cr_assert(eq(int, catalog_add_replicas(fx.st, svc, &e), B_OK), "%s", e.message);
	is_array = cJSON_IsArray(cJSON_GetObjectItem(svc, "replica_list"));
	size = cJSON_GetArraySize(cJSON_GetObjectItem(svc, "replica_list"));
	cJSON_Delete(svc);
	cr_assert(is_array);
	cr_assert(eq(int, size, 0));
}
