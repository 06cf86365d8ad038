/* GET /api/v1/audit over HTTP through lighttpd and the real audit program: the team's trail,
 * newest first, written by the programs that act (credentials, members). */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

#define ROUTE "/api/v1/audit"

static struct h_tenant t;

static void setup(void)
{
	h_tenant_new(&t);
}

TestSuite(audit_log, .init = setup);

/* method path with "Bearer cred", X-Team-ID team, an X-Request-ID (if not NULL) and a JSON
 * body (if not NULL). */
static void call(struct h_resp *r, const char *method, const char *path, const char *cred,
		 const char *request_id, const char *json)
{
	char auth[H_TOKEN + 32], tid[H_ID + 16], rid[128];
	const char *headers[5] = {auth, tid, NULL, NULL, NULL};
	int n = 2;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cred);
	snprintf(tid, sizeof(tid), "X-Team-ID: %s", t.team);
	if (request_id) {
		snprintf(rid, sizeof(rid), "X-Request-ID: %s", request_id);
		headers[n++] = rid;
	}
	if (json)
		headers[n++] = "Content-Type: application/json";
	h_request(r, method, path, headers, json, json ? strlen(json) : 0);
}

static void audit(struct h_resp *r, const char *query)
{
	char path[128];

	snprintf(path, sizeof(path), ROUTE "%s%s", *query ? "?" : "", query);
	call(r, "GET", path, t.admin_tok, NULL, NULL);
	cr_assert(eq(long, r->status, 200), "GET %s: %s", path, r->body);
}

static const cJSON *row(const struct h_resp *r, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "audit_list"), i);
}

static const char *field(const struct h_resp *r, int i, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(row(r, i), name);

	cr_assert(cJSON_IsString(v), "row %d: %s: %s", i, name, r->body);
	return v->valuestring;
}

static long total(const struct h_resp *r)
{
	return (long)cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "page_meta"),
					 "total_count")->valuedouble;
}

/* Issues an integration key as the admin (request id rid), then revokes it; the key's id. */
static void issue_and_revoke(char id[H_ID])
{
	struct h_resp r;
	char path[128];

	call(&r, "POST", "/api/v1/credentials", t.admin_tok, "audit-create-1",
	     "{\"kind\": \"integration\", \"display_name\": \"audited\"}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	snprintf(id, H_ID, "%s", cJSON_GetObjectItem(r.json, "id")->valuestring);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/credentials/%s", id);
	call(&r, "DELETE", path, t.admin_tok, "audit-revoke-1", NULL);
	cr_assert(eq(long, r.status, 204), "body: %s", r.body);
	h_resp_free(&r);
}

Test(audit_log, admin_reads_the_trail_newest_first_with_every_field)
{
	static const char *const fields[] = {"id", "actor_kind", "actor_id", "action",
					     "resource_type", "resource_id", "request_id", "detail",
					     "created_at"};
	char id[H_ID], admin[H_ID];
	const cJSON *detail;
	struct h_resp r;

	h_db_text("SELECT id FROM users WHERE email_address = ?", t.admin_email, admin, sizeof(admin));
	issue_and_revoke(id);
	audit(&r, "");
	cr_assert(eq(long, total(&r), 6), "4 keys by berthctl, 1 issue, 1 revoke: %s", r.body);
	cr_assert(eq(int, cJSON_GetArraySize(row(&r, 0)), 9), "%s", r.body);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		cr_assert(cJSON_HasObjectItem(row(&r, 0), fields[i]), "no %s", fields[i]);
	cr_assert(eq(str, (char *)field(&r, 0, "action"), "credential.revoke"));
	cr_assert(eq(str, (char *)field(&r, 0, "request_id"), "audit-revoke-1"));
	cr_assert(eq(str, (char *)field(&r, 0, "resource_type"), "credential"));
	cr_assert(eq(str, (char *)field(&r, 0, "resource_id"), id));
	cr_assert(eq(str, (char *)field(&r, 0, "actor_kind"), "user"));
	cr_assert(eq(str, (char *)field(&r, 0, "actor_id"), admin));
	cr_assert(eq(int, (int)strlen(field(&r, 0, "created_at")), 20));
	cr_assert(eq(str, (char *)field(&r, 1, "action"), "credential.create"));
	cr_assert(eq(str, (char *)field(&r, 1, "request_id"), "audit-create-1"));
	detail = cJSON_GetObjectItem(row(&r, 1), "detail");
	cr_assert(cJSON_IsObject(detail), "%s", r.body);
	cr_assert(eq(str, cJSON_GetObjectItem(detail, "kind")->valuestring, "integration"));
	cr_assert(eq(str, (char *)field(&r, 5, "actor_kind"), "operator"), "oldest last");
	cr_assert(eq(ptr, strstr(r.body, "\"sk-"), NULL), "no key in the trail");
	h_resp_free(&r);
}

Test(audit_log, member_changes_are_in_the_trail_with_the_role)
{
	char member[H_ID], path[128];
	const cJSON *detail;
	struct h_resp r;

	h_db_text("SELECT id FROM users WHERE email_address = ?", t.member_email, member,
		  sizeof(member));
	snprintf(path, sizeof(path), "/api/v1/members/%s", member);
	call(&r, "PUT", path, t.owner_tok, NULL, "{\"role\": \"admin\"}");
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	h_resp_free(&r);
	audit(&r, "per_page=1");
	cr_assert(eq(str, (char *)field(&r, 0, "action"), "member.update"));
	cr_assert(eq(str, (char *)field(&r, 0, "resource_type"), "member"));
	cr_assert(eq(str, (char *)field(&r, 0, "resource_id"), member));
	detail = cJSON_GetObjectItem(row(&r, 0), "detail");
	cr_assert(eq(str, cJSON_GetObjectItem(detail, "role")->valuestring, "admin"));
	h_resp_free(&r);
}

Test(audit_log, only_the_callers_team_is_shown)
{
	const char *body = "{\"kind\": \"agent\", \"display_name\": \"theirs\"}";
	char auth[H_TOKEN + 32], tid[H_ID + 16];
	const char *headers[] = {auth, tid, "Content-Type: application/json", NULL};
	struct h_tenant other;
	struct h_resp r;
	char theirs[H_ID];

	h_tenant_new(&other);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", other.admin_tok);
	snprintf(tid, sizeof(tid), "X-Team-ID: %s", other.team);
	h_request(&r, "POST", "/api/v1/credentials", headers, body, strlen(body));
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	snprintf(theirs, sizeof(theirs), "%s", cJSON_GetObjectItem(r.json, "id")->valuestring);
	h_resp_free(&r);
	audit(&r, "per_page=100");
	cr_assert(eq(long, total(&r), 4), "the tenant's own four berthctl rows: %s", r.body);
	cr_assert(eq(ptr, strstr(r.body, theirs), NULL), "another team's row is shown");
	cr_assert(eq(ptr, strstr(r.body, other.team), NULL));
	h_resp_free(&r);
}

Test(audit_log, owner_may_read_member_viewer_and_keys_may_not)
{
	const char *const denied[] = {t.member_tok, t.viewer_tok, t.dk_member, t.dk_viewer, t.sk, t.ak};
	struct h_resp r;

	call(&r, "GET", ROUTE, t.owner_tok, NULL, NULL);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	h_resp_free(&r);
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		call(&r, "GET", ROUTE, denied[i], NULL, NULL);
		h_assert_error(&r, 403, "forbidden", NULL);
		h_resp_free(&r);
	}
	h_request(&r, "GET", ROUTE, NULL, NULL, 0);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
}

Test(audit_log, paging_edges)
{
	struct h_resp r;

	audit(&r, "per_page=1");
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "audit_list")), 1));
	cr_assert(eq(long, total(&r), 4));
	h_resp_free(&r);
	audit(&r, "per_page=100&current_page=2");
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "audit_list")), 0));
	cr_assert(eq(long, total(&r), 4));
	h_resp_free(&r);
	call(&r, "GET", ROUTE "?per_page=101", t.admin_tok, NULL, NULL);
	h_assert_error(&r, 400, "validation_failed", "per_page");
	h_resp_free(&r);
	call(&r, "GET", ROUTE "?current_page=0", t.admin_tok, NULL, NULL);
	h_assert_error(&r, 400, "validation_failed", "current_page");
	h_resp_free(&r);
}

Test(audit_log, other_methods_are_405_and_paths_below_are_404)
{
	struct h_resp r;
	char allow[64];

	call(&r, "POST", ROUTE, t.admin_tok, NULL, "{}");
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "GET"));
	h_resp_free(&r);
	call(&r, "GET", ROUTE "/019abc12-3456-7890-abcd-ef1234567890", t.admin_tok, NULL, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	call(&r, "GET", ROUTE "s", t.admin_tok, NULL, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
}
