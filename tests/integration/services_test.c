/* /api/v1/containers/... through lighttpd and the real services program: list, read, update,
 * delete, deploy, undeploy, roles and cross-team isolation. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

static struct h_tenant t;

static void setup(void)
{
	h_tenant_new(&t);
}

TestSuite(services, .init = setup);

/* Creates a service in t's team and returns its id in id[H_ID]. */
static void make_service(const char *slug, const char *extra, char *id)
{
	char body[1024];
	struct h_resp r;

	snprintf(body, sizeof(body), "{\"service_slug\": \"%s\", \"docker_image\": \"img:1\"%s%s}",
		 slug, extra ? ", " : "", extra ? extra : "");
	h_create(&r, t.member_tok, t.team, body);
	cr_assert(eq(long, r.status, 201), "create %s: %s", slug, r.body);
	snprintf(id, H_ID, "%s", cJSON_GetObjectItem(r.json, "id")->valuestring);
	h_resp_free(&r);
}

static const char *str_of(const struct h_resp *r, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(r->json, name);

	cr_assert(cJSON_IsString(v), "no string %s in %s", name, r->body);
	return v->valuestring;
}

static long num_of(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(o, name);

	cr_assert(cJSON_IsNumber(v), "no number %s", name);
	return (long)v->valuedouble;
}

Test(services, get_returns_the_definition_with_defaults_and_empty_replica_list)
{
	char id[H_ID], path[128];
	struct h_resp r;

	make_service("defs", "\"env_config\": [{\"env_name\": \"A\", \"env_value\": \"1\"}]", id);
	snprintf(path, sizeof(path), "/api/v1/containers/%s", id);
	h_call(&r, "GET", path, t.viewer_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(str, (char *)str_of(&r, "id"), id));
	cr_assert(eq(str, (char *)str_of(&r, "service_slug"), "defs"));
	cr_assert(eq(str, (char *)str_of(&r, "display_name"), "defs"));
	cr_assert(eq(str, (char *)str_of(&r, "service_type"), "deployed"));
	cr_assert(eq(str, (char *)str_of(&r, "health_path"), "/health"));
	cr_assert(eq(str, (char *)str_of(&r, "service_status"), "created"));
	cr_assert(eq(long, num_of(r.json, "exposed_port"), 8080));
	cr_assert(eq(long, num_of(r.json, "replica_count"), 1));
	cr_assert(eq(long, num_of(r.json, "gpu_count"), 0));
	cr_assert(eq(int, (int)strlen(str_of(&r, "created_at")), 20));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(r.json, "external_url")));
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "env_config")), 1));
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(r.json, "replica_list")));
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "replica_list")), 0));
	h_resp_free(&r);
}

static void list_page(struct h_resp *r, const char *query)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/containers%s", query);
	h_call(r, "GET", path, t.viewer_tok, t.team, NULL);
}

static void assert_page(const struct h_resp *r, long page, long per, long total, int items)
{
	const cJSON *meta = cJSON_GetObjectItem(r->json, "page_meta");

	cr_assert(eq(long, r->status, 200), "%s", r->body);
	cr_assert(meta != NULL, "no page_meta: %s", r->body);
	cr_assert(eq(long, num_of(meta, "current_page"), page));
	cr_assert(eq(long, num_of(meta, "per_page"), per));
	cr_assert(eq(long, num_of(meta, "total_count"), total));
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(r->json, "container_list")), items),
		  "%s", r->body);
}

Test(services, pagination_edges)
{
	char ids[3][H_ID], path[128];
	struct h_resp r;

	make_service("page-a", NULL, ids[0]);
	make_service("page-b", NULL, ids[1]);
	make_service("page-c", NULL, ids[2]);
	list_page(&r, "");
	assert_page(&r, 1, 20, 3, 3);
	/* stable order: creation order, which is id order */
	cr_assert(eq(str, cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json,
		"container_list"), 0), "id")->valuestring, ids[0]));
	h_resp_free(&r);
	list_page(&r, "?per_page=1&current_page=2");
	assert_page(&r, 2, 1, 3, 1);
	cr_assert(eq(str, cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json,
		"container_list"), 0), "id")->valuestring, ids[1]));
	h_resp_free(&r);
	list_page(&r, "?per_page=100");
	assert_page(&r, 1, 100, 3, 3);
	h_resp_free(&r);
	list_page(&r, "?per_page=2&current_page=9");
	assert_page(&r, 9, 2, 3, 0);
	h_resp_free(&r);
	list_page(&r, "?per_page=0");
	h_assert_error(&r, 400, "validation_failed", "per_page");
	h_resp_free(&r);
	list_page(&r, "?per_page=101");
	h_assert_error(&r, 400, "validation_failed", "per_page");
	h_resp_free(&r);
	list_page(&r, "?current_page=0");
	h_assert_error(&r, 400, "validation_failed", "current_page");
	h_resp_free(&r);
	list_page(&r, "?per_page=abc");
	h_assert_error(&r, 400, "validation_failed", "per_page");
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/containers/%s", ids[1]);
	h_call(&r, "DELETE", path, t.member_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 204), "%s", r.body);
	h_resp_free(&r);
	list_page(&r, "?per_page=1");
	assert_page(&r, 1, 1, 2, 1);
	h_resp_free(&r);
}

Test(services, put_updates_mutable_fields_partially)
{
	char id[H_ID], path[128];
	struct h_resp r;

	make_service("upd", "\"exposed_port\": 9000, \"usage_prompt\": \"be nice\"", id);
	snprintf(path, sizeof(path), "/api/v1/containers/%s", id);
	h_call(&r, "PUT", path, t.member_tok, t.team,
	       "{\"display_name\": \"Updated\", \"replica_count\": 3, \"required_labels\": [\"gpu\"]}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(str, (char *)str_of(&r, "id"), id));
	h_resp_free(&r);
	h_call(&r, "GET", path, t.member_tok, t.team, NULL);
	cr_assert(eq(str, (char *)str_of(&r, "display_name"), "Updated"));
	cr_assert(eq(long, num_of(r.json, "replica_count"), 3));
	cr_assert(eq(long, num_of(r.json, "exposed_port"), 9000), "untouched fields stay");
	cr_assert(eq(str, (char *)str_of(&r, "usage_prompt"), "be nice"));
	cr_assert(eq(str, (char *)str_of(&r, "service_slug"), "upd"));
	h_resp_free(&r);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND "
				      "action = 'service.update'", id), 1));
}

Test(services, put_refuses_immutable_server_and_unknown_fields_and_bad_values)
{
	static const struct {
		const char *body;
		const char *field;
	} cases[] = {
		{"{\"service_slug\": \"renamed\"}", "service_slug"},
		{"{\"service_type\": \"external\"}", "service_type"},
		{"{\"service_status\": \"running\"}", "service_status"},
		{"{\"id\": \"019abc12-3456-7890-abcd-ef1234567890\"}", "id"},
		{"{\"colour\": \"blue\"}", "colour"},
		{"{\"exposed_port\": 0}", "exposed_port"},
		{"{\"external_url\": \"https://x.test\"}", "external_url"},
		{"{\"replica_count\": 11}", "replica_count"},
	};
	char id[H_ID], path[128];
	struct h_resp r;

	make_service("immut", NULL, id);
	snprintf(path, sizeof(path), "/api/v1/containers/%s", id);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		h_call(&r, "PUT", path, t.member_tok, t.team, cases[i].body);
		h_assert_error(&r, 400, "validation_failed", cases[i].field);
		h_resp_free(&r);
	}
	/* the same slug sent back unchanged is not a change */
	h_call(&r, "PUT", path, t.member_tok, t.team, "{\"service_slug\": \"immut\", \"gpu_count\": -1}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	h_resp_free(&r);
	cr_assert(eq(long, h_db_count("SELECT gpu_count FROM container_services WHERE id = ?", id), -1));
}

static void action(struct h_resp *r, const char *id, const char *what, const char *tok)
{
	char path[160];

	snprintf(path, sizeof(path), "/api/v1/containers/%s/%s", id, what);
	h_call(r, "POST", path, tok, t.team, NULL);
}

static const char *status_of(const char *id, char *buf, size_t n)
{
	h_db_text("SELECT service_status FROM container_services WHERE id = ?", id, buf, n);
	return buf;
}

Test(services, lifecycle_deploy_undeploy_delete_with_conflicts)
{
	char id[H_ID], path[128], st[32];
	struct h_resp r;

	make_service("life", "\"required_labels\": [\"gpu\", \"h100\"], \"gpu_count\": 2", id);
	snprintf(path, sizeof(path), "/api/v1/containers/%s", id);
	action(&r, id, "undeploy", t.member_tok);
	h_assert_error(&r, 409, "conflict", "service_status");
	h_resp_free(&r);

	action(&r, id, "deploy", t.member_tok);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "is_success")), "%s", r.body);
	h_resp_free(&r);
	cr_assert(eq(str, (char *)status_of(id, st, sizeof(st)), "deploying"));
	h_call(&r, "GET", path, t.member_tok, t.team, NULL);
	cr_assert(strstr(str_of(&r, "status_detail"), "gpu,h100") != NULL, "%s", r.body);
	cr_assert(strstr(str_of(&r, "status_detail"), "2 free GPUs") != NULL, "%s", r.body);
	h_resp_free(&r);

	action(&r, id, "deploy", t.member_tok);
	h_assert_error(&r, 409, "conflict", NULL);
	h_resp_free(&r);
	h_call(&r, "PUT", path, t.member_tok, t.team, "{\"display_name\": \"x\"}");
	h_assert_error(&r, 409, "conflict", NULL);
	h_resp_free(&r);
	h_call(&r, "DELETE", path, t.member_tok, t.team, NULL);
	h_assert_error(&r, 409, "conflict", NULL);
	h_resp_free(&r);

	/* no replicas exist, so undeploy ends in stopped at once */
	action(&r, id, "undeploy", t.member_tok);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	h_resp_free(&r);
	cr_assert(eq(str, (char *)status_of(id, st, sizeof(st)), "stopped"));

	action(&r, id, "deploy", t.member_tok); /* stopped -> deploying is allowed */
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	h_resp_free(&r);
	action(&r, id, "undeploy", t.member_tok);
	h_resp_free(&r);
	h_call(&r, "DELETE", path, t.member_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 204), "%s", r.body);
	cr_assert(eq(long, (long)r.len, 0));
	h_resp_free(&r);
	h_call(&r, "GET", path, t.member_tok, t.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND action"
				      " IN ('service.deploy', 'service.undeploy', 'service.delete')",
				      id), 5));
}

Test(services, two_parallel_deploys_exactly_one_wins)
{
	char id[H_ID], path[160];
	struct h_auth a;
	long statuses[8];
	int ok = 0, conflict = 0;

	make_service("race", NULL, id);
	snprintf(path, sizeof(path), "/api/v1/containers/%s/deploy", id);
	h_parallel(8, statuses, "POST", path, h_auth(&a, t.member_tok, t.team), NULL);
	for (int i = 0; i < 8; i++) {
		ok += statuses[i] == 200;
		conflict += statuses[i] == 409;
	}
	cr_assert(eq(int, ok, 1), "%d of 8 concurrent deploys won", ok);
	cr_assert(eq(int, conflict, 7));
}

Test(services, viewer_cannot_write_but_can_read)
{
	char id[H_ID], path[128];
	struct h_resp r;

	make_service("read-only", NULL, id);
	snprintf(path, sizeof(path), "/api/v1/containers/%s", id);
	h_call(&r, "PUT", path, t.viewer_tok, t.team, "{\"display_name\": \"x\"}");
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	h_call(&r, "DELETE", path, t.viewer_tok, t.team, NULL);
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	action(&r, id, "deploy", t.viewer_tok);
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	action(&r, id, "undeploy", t.dk_viewer);
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	h_call(&r, "GET", path, t.dk_viewer, NULL, NULL);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	h_resp_free(&r);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM container_services WHERE id = ? AND "
				      "service_status = 'created' AND display_name = 'read-only'", id), 1));
}

Test(services, another_teams_service_is_404_for_every_endpoint)
{
	struct h_tenant other;
	char id[H_ID], path[160];
	struct h_resp r;
	static const char *const methods[] = {"GET", "PUT", "DELETE"};

	make_service("mine", NULL, id);
	h_tenant_new(&other);
	snprintf(path, sizeof(path), "/api/v1/containers/%s", id);
	for (size_t i = 0; i < 3; i++) {
		h_call(&r, methods[i], path, other.owner_tok, other.team,
		       i == 1 ? "{\"display_name\": \"pwned\"}" : NULL);
		h_assert_error(&r, 404, "not_found", NULL);
		h_resp_free(&r);
	}
	snprintf(path, sizeof(path), "/api/v1/containers/%s/deploy", id);
	h_call(&r, "POST", path, other.owner_tok, other.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/containers/%s/undeploy", id);
	h_call(&r, "POST", path, other.dk_member, NULL, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM container_services WHERE id = ? AND "
				      "service_status = 'created' AND display_name = 'mine'", id), 1));
}

Test(services, unknown_ids_paths_and_methods)
{
	char id[H_ID], path[160];
	struct h_resp r;

	make_service("paths", NULL, id);
	h_call(&r, "GET", "/api/v1/containers/not-a-uuid", t.member_tok, t.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	h_call(&r, "GET", "/api/v1/containers/019abc12-3456-7890-abcd-ef1234567890", t.member_tok,
	       t.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/containers/%s/explode", id);
	h_call(&r, "POST", path, t.member_tok, t.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/containers/%s/deploy", id);
	h_call(&r, "GET", path, t.member_tok, t.team, NULL);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	h_resp_free(&r);
	h_call(&r, "GET", "/api/v1/containersXYZ", t.member_tok, t.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	h_call(&r, "GET", "/api/v1/containers", t.sk, NULL, NULL);
	h_assert_error(&r, 403, "forbidden", "Authorization");
	h_resp_free(&r);
}
