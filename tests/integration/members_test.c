/* GET /api/v1/members, PUT and DELETE /api/v1/members/{user_id} over HTTP through lighttpd
 * and the real members program. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

#define ROUTE "/api/v1/members"
#define NIL_UUID "019abc12-3456-7890-abcd-ef1234567890"

static struct h_tenant t;
static char owner[H_ID], admin[H_ID], member[H_ID], viewer[H_ID];

static void user_id(const char *email, char id[H_ID])
{
	h_db_text("SELECT id FROM users WHERE email_address = ?", email, id, H_ID);
	cr_assert(eq(int, (int)strlen(id), 36), "no user %s", email);
}

static void setup(void)
{
	h_tenant_new(&t);
	user_id(t.owner_email, owner);
	user_id(t.admin_email, admin);
	user_id(t.member_email, member);
	user_id(t.viewer_email, viewer);
}

TestSuite(members, .init = setup);

/* method path with "Bearer cred", X-Team-ID team (if not NULL) and a JSON body (if not NULL). */
static void call(struct h_resp *r, const char *method, const char *path, const char *cred,
		 const char *team, const char *json)
{
	char auth[H_TOKEN + 32], tid[H_ID + 16];
	const char *headers[4] = {NULL, NULL, NULL, NULL};
	int n = 0;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cred);
	headers[n++] = auth;
	if (team) {
		snprintf(tid, sizeof(tid), "X-Team-ID: %s", team);
		headers[n++] = tid;
	}
	if (json)
		headers[n++] = "Content-Type: application/json";
	h_request(r, method, path, headers, json, json ? strlen(json) : 0);
}

/* PUT /members/{id} {"role": role} with tok in the tenant's team. */
static void put_role(struct h_resp *r, const char *tok, const char *id, const char *role)
{
	char path[128], body[128];

	snprintf(path, sizeof(path), ROUTE "/%s", id);
	snprintf(body, sizeof(body), "{\"role\": \"%s\"}", role);
	call(r, "PUT", path, tok, t.team, body);
}

static void del(struct h_resp *r, const char *tok, const char *id)
{
	char path[128];

	snprintf(path, sizeof(path), ROUTE "/%s", id);
	call(r, "DELETE", path, tok, t.team, NULL);
}

/* The tenant's users belong to this one team only, so their user id names the membership. */
static void role_is(const char *id, const char *role)
{
	char got[32];

	h_db_text("SELECT role FROM memberships WHERE user_id = ?", id, got, sizeof(got));
	cr_assert(eq(str, got, (char *)role), "member %s", id);
}

static int items(const struct h_resp *r)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(r->json, "member_list"));
}

static long total(const struct h_resp *r)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "page_meta"), "total_count");

	cr_assert(cJSON_IsNumber(v), "%s", r->body);
	return (long)v->valuedouble;
}

/* The member_list item of user id, or NULL. */
static const cJSON *find(const struct h_resp *r, const char *id)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r->json, "member_list"))
		if (strcmp(cJSON_GetObjectItem(it, "user_id")->valuestring, id) == 0)
			return it;
	return NULL;
}

Test(members, viewer_lists_every_member_with_email_role_and_join_time)
{
	const char *ids[] = {owner, admin, member, viewer};
	const char *emails[] = {t.owner_email, t.admin_email, t.member_email, t.viewer_email};
	static const char *const roles[] = {"owner", "admin", "member", "viewer"};
	struct h_resp r;

	call(&r, "GET", ROUTE, t.viewer_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(eq(long, total(&r), 4));
	cr_assert(eq(int, items(&r), 4));
	for (int i = 0; i < 4; i++) {
		const cJSON *o = find(&r, ids[i]);

		cr_assert(o != NULL, "%s missing: %s", roles[i], r.body);
		cr_assert(eq(int, cJSON_GetArraySize(o), 4), "user_id, email_address, role, created_at");
		cr_assert(eq(str, cJSON_GetObjectItem(o, "email_address")->valuestring, (char *)emails[i]));
		cr_assert(eq(str, cJSON_GetObjectItem(o, "role")->valuestring, (char *)roles[i]));
		cr_assert(eq(int, (int)strlen(cJSON_GetObjectItem(o, "created_at")->valuestring), 20));
	}
	h_resp_free(&r);
}

Test(members, device_key_lists_members_of_its_own_team)
{
	struct h_tenant other;
	struct h_resp r;

	h_tenant_new(&other);
	call(&r, "GET", ROUTE, t.dk_viewer, other.team, NULL); /* X-Team-ID ignored for dk- */
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(find(&r, viewer) != NULL, "%s", r.body);
	cr_assert(eq(long, total(&r), 4));
	h_resp_free(&r);
}

Test(members, list_is_paged_and_past_the_end_is_empty)
{
	struct h_resp r;

	call(&r, "GET", ROUTE "?per_page=3&current_page=2", t.viewer_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(eq(int, items(&r), 1));
	cr_assert(eq(long, total(&r), 4));
	h_resp_free(&r);
	call(&r, "GET", ROUTE "?per_page=3&current_page=3", t.viewer_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(eq(int, items(&r), 0));
	cr_assert(eq(long, total(&r), 4));
	h_resp_free(&r);
	call(&r, "GET", ROUTE "?per_page=0", t.viewer_tok, t.team, NULL);
	h_assert_error(&r, 400, "validation_failed", "per_page");
	h_resp_free(&r);
	call(&r, "GET", ROUTE "?per_page=101", t.viewer_tok, t.team, NULL);
	h_assert_error(&r, 400, "validation_failed", "per_page");
	h_resp_free(&r);
}

Test(members, list_refuses_sk_and_ak_with_403_and_no_credential_with_401)
{
	struct h_resp r;

	call(&r, "GET", ROUTE, t.sk, NULL, NULL);
	h_assert_error(&r, 403, "forbidden", "Authorization");
	h_resp_free(&r);
	call(&r, "GET", ROUTE, t.ak, NULL, NULL);
	h_assert_error(&r, 403, "forbidden", "Authorization");
	h_resp_free(&r);
	h_request(&r, "GET", ROUTE, NULL, NULL, 0);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	call(&r, "GET", ROUTE, t.viewer_tok, NULL, NULL);
	h_assert_error(&r, 400, "validation_failed", "X-Team-ID");
	h_resp_free(&r);
}

Test(members, admin_changes_a_role_200_audited_and_effective_at_once)
{
	struct h_resp r;

	h_create(&r, t.member_tok, t.team, "{\"service_slug\": \"before\", \"docker_image\": \"a\"}");
	cr_assert(eq(long, r.status, 201), "control: a member may create: %s", r.body);
	h_resp_free(&r);
	put_role(&r, t.admin_tok, member, "viewer");
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(eq(int, cJSON_GetArraySize(r.json), 2), "{user_id, role}: %s", r.body);
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "user_id")->valuestring, member));
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "role")->valuestring, "viewer"));
	h_resp_free(&r);
	role_is(member, "viewer");
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND "
				      "action = 'member.update' AND resource_type = 'member' AND "
				      "json_extract(detail, '$.role') = 'viewer' AND "
				      "json_extract(detail, '$.previous_role') = 'member'", member), 1));
	h_create(&r, t.member_tok, t.team, "{\"service_slug\": \"after\", \"docker_image\": \"a\"}");
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
}

Test(members, owner_and_admin_may_promote_and_demote_admins)
{
	struct h_resp r;

	put_role(&r, t.admin_tok, viewer, "admin");
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	h_resp_free(&r);
	role_is(viewer, "admin");
	put_role(&r, t.owner_tok, admin, "member");
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	h_resp_free(&r);
	role_is(admin, "member");
}

Test(members, role_owner_is_400)
{
	struct h_resp r;

	put_role(&r, t.owner_tok, admin, "owner");
	h_assert_error(&r, 400, "validation_failed", "role");
	h_resp_free(&r);
	role_is(admin, "admin");
	role_is(owner, "owner");
}

Test(members, bad_bodies_are_400_naming_the_field_and_not_json_is_415)
{
	static const struct {
		const char *body;
		const char *field;
	} cases[] = {
		{"{\"role\": \"root\"}", "role"},     {"{\"role\": \"Admin\"}", "role"},
		{"{\"role\": \"none\"}", "role"},     {"{\"role\": \"\"}", "role"},
		{"{\"role\": 3}", "role"},            {"{}", "role"},
		{"{\"role\": null}", "role"},         {"{\"role\": \"viewer\", \"email\": \"x\"}", "email"},
		{"{\"role\": \"viewer\"", NULL},      {"\"viewer\"", NULL},
	};
	const char *plain[] = {NULL, NULL, "Content-Type: text/plain", NULL};
	char auth[H_TOKEN + 32], tid[64], path[128];
	struct h_resp r;

	snprintf(path, sizeof(path), ROUTE "/%s", member);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		call(&r, "PUT", path, t.admin_tok, t.team, cases[i].body);
		h_assert_error(&r, 400, "validation_failed", cases[i].field);
		h_resp_free(&r);
	}
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.admin_tok);
	snprintf(tid, sizeof(tid), "X-Team-ID: %s", t.team);
	plain[0] = auth;
	plain[1] = tid;
	h_request(&r, "PUT", path, plain, "{\"role\": \"viewer\"}", 18);
	h_assert_error(&r, 415, "unsupported_media_type", "Content-Type");
	h_resp_free(&r);
	role_is(member, "member");
}

Test(members, changing_the_owner_is_403)
{
	struct h_resp r;

	put_role(&r, t.admin_tok, owner, "viewer");
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	role_is(owner, "owner");
}

Test(members, changing_your_own_role_is_403)
{
	struct h_resp r;

	put_role(&r, t.admin_tok, admin, "member");
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	put_role(&r, t.owner_tok, owner, "admin");
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	role_is(admin, "admin");
}

Test(members, another_teams_user_unknown_or_malformed_id_is_404)
{
	struct h_tenant other;
	char theirs[H_ID];
	const char *const ids[] = {theirs, NIL_UUID, "not-a-uuid"};
	struct h_resp r;

	h_tenant_new(&other);
	user_id(other.member_email, theirs);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		put_role(&r, t.admin_tok, ids[i], "viewer");
		h_assert_error(&r, 404, "not_found", NULL);
		h_resp_free(&r);
		del(&r, t.admin_tok, ids[i]);
		h_assert_error(&r, 404, "not_found", NULL);
		h_resp_free(&r);
	}
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM memberships WHERE team_id = ? AND "
				      "role = 'member'", other.team), 1), "their member is untouched");
}

Test(members, member_viewer_and_keys_get_403_on_every_write)
{
	const char *const creds[] = {t.member_tok, t.viewer_tok, t.dk_member, t.dk_viewer, t.sk, t.ak};
	struct h_resp r;

	for (size_t i = 0; i < sizeof(creds) / sizeof(creds[0]); i++) {
		put_role(&r, creds[i], viewer, "member");
		h_assert_error(&r, 403, "forbidden", NULL);
		h_resp_free(&r);
		del(&r, creds[i], viewer);
		h_assert_error(&r, 403, "forbidden", NULL);
		h_resp_free(&r);
	}
	role_is(viewer, "viewer");
}

Test(members, admin_removes_a_member_204_audited_and_locked_out_at_once)
{
	struct h_resp r;

	del(&r, t.admin_tok, viewer);
	cr_assert(eq(long, r.status, 204), "body: %s", r.body);
	cr_assert(eq(long, (long)r.len, 0));
	h_resp_free(&r);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM memberships WHERE user_id = ?", viewer), 0));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND "
				      "action = 'member.remove' AND "
				      "json_extract(detail, '$.role') = 'viewer'", viewer), 1));
	call(&r, "GET", ROUTE, t.viewer_tok, t.team, NULL);
	h_assert_error(&r, 403, "forbidden", "X-Team-ID");
	h_resp_free(&r);
	call(&r, "GET", ROUTE, t.dk_viewer, NULL, NULL);
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	call(&r, "GET", ROUTE, t.admin_tok, t.team, NULL);
	cr_assert(eq(long, total(&r), 3));
	h_resp_free(&r);
	del(&r, t.admin_tok, viewer);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
}

Test(members, removing_the_owner_or_yourself_is_403)
{
	struct h_resp r;

	del(&r, t.admin_tok, owner);
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	del(&r, t.owner_tok, owner);
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	del(&r, t.admin_tok, admin);
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	role_is(owner, "owner");
	role_is(admin, "admin");
}

Test(members, other_methods_are_405_with_allow_and_unknown_paths_404)
{
	struct h_resp r;
	char allow[64], path[128];

	call(&r, "POST", ROUTE, t.admin_tok, t.team, "{}");
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "GET"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), ROUTE "/%s", member);
	call(&r, "GET", path, t.admin_tok, t.team, NULL);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "PUT, DELETE"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), ROUTE "/%s/role", member);
	call(&r, "PUT", path, t.admin_tok, t.team, "{\"role\": \"viewer\"}");
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	call(&r, "GET", ROUTE "hip", t.admin_tok, t.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
}
