/* POST /api/v1/auth/login, POST /api/v1/auth/refresh and GET /api/v1/users/me over HTTP through
 * lighttpd and the real auth program. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PASSWORD "correct horse"

static struct h_tenant t;

static void setup(void)
{
	h_tenant_new(&t);
}

TestSuite(auth_http, .init = setup);

/* ---- helpers ---- */

static void post_json(struct h_resp *r, const char *path, const char *body)
{
	const char *const headers[] = {"Content-Type: application/json", NULL};

	h_request(r, "POST", path, headers, body, strlen(body));
}

static void login(struct h_resp *r, const char *email, const char *password)
{
	char body[512];

	snprintf(body, sizeof(body), "{\"email_address\": \"%s\", \"user_password\": \"%s\"}", email,
		 password);
	post_json(r, "/api/v1/auth/login", body);
}

static void refresh(struct h_resp *r, const char *token)
{
	char body[H_TOKEN + 64];

	snprintf(body, sizeof(body), "{\"refresh_token\": \"%s\"}", token);
	post_json(r, "/api/v1/auth/refresh", body);
}

/* GET /api/v1/users/me with cred as the bearer (none when NULL). */
static void me(struct h_resp *r, const char *cred)
{
	char auth[H_TOKEN + 32];
	const char *const headers[] = {auth, NULL};

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cred ? cred : "");
	h_request(r, "GET", "/api/v1/users/me", cred ? headers : NULL, NULL, 0);
}

/* Asserts a 200 token pair and copies its tokens out. */
static void pair_of(const struct h_resp *r, char access[H_TOKEN], char refresh_tok[H_TOKEN])
{
	const cJSON *a, *f, *x;

	cr_assert(eq(long, r->status, 200), "body: %s", r->body);
	a = cJSON_GetObjectItem(r->json, "access_token");
	f = cJSON_GetObjectItem(r->json, "refresh_token");
	x = cJSON_GetObjectItem(r->json, "expires_in");
	cr_assert(cJSON_IsString(a) && strncmp(a->valuestring, "eyJ", 3) == 0, "body: %s", r->body);
	cr_assert(cJSON_IsString(f) && strncmp(f->valuestring, "eyJ", 3) == 0, "body: %s", r->body);
	cr_assert(cJSON_IsNumber(x) && x->valuedouble > 0 && x->valuedouble == (double)x->valueint,
		  "expires_in must be whole seconds: %s", r->body);
	cr_assert(eq(int, cJSON_GetArraySize(r->json), 3), "body: %s", r->body);
	snprintf(access, H_TOKEN, "%s", a->valuestring);
	snprintf(refresh_tok, H_TOKEN, "%s", f->valuestring);
}

static void login_pair(const char *email, char access[H_TOKEN], char refresh_tok[H_TOKEN])
{
	struct h_resp r;

	login(&r, email, PASSWORD);
	pair_of(&r, access, refresh_tok);
	h_resp_free(&r);
}

static void refresh_pair(const char *token, char access[H_TOKEN], char refresh_tok[H_TOKEN])
{
	struct h_resp r;

	refresh(&r, token);
	pair_of(&r, access, refresh_tok);
	h_resp_free(&r);
}

static void refresh_401(const char *token)
{
	struct h_resp r;

	refresh(&r, token);
	h_assert_error(&r, 401, "unauthenticated", NULL);
	h_resp_free(&r);
}

static void user_id(const char *email, char *out, size_t n)
{
	h_db_text("SELECT id FROM users WHERE email_address = ?", email, out, n);
	cr_assert(eq(int, (int)strlen(out), 36), "user id of %s: %s", email, out);
}

static long audits(const char *action, const char *uid)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_log WHERE action = '%s' AND "
		 "resource_type = 'user' AND resource_id = ?", action);
	return h_db_count(sql, uid);
}

/* ---- login ---- */

Test(auth_http, login_answers_both_tokens_and_the_access_token_manages_services)
{
	char access[H_TOKEN], refresh_tok[H_TOKEN], uid[64];
	struct h_resp r;

	login_pair(t.member_email, access, refresh_tok);
	h_create(&r, access, t.team, "{\"service_slug\": \"by-login\", \"docker_image\": \"a\"}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
	user_id(t.member_email, uid, sizeof(uid));
	cr_assert(eq(long, audits("auth.login", uid), 1));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM refresh_tokens WHERE user_id = ?", uid), 1));
}

Test(auth_http, login_answers_no_store_and_a_request_id)
{
	char got[128];
	struct h_resp r;

	login(&r, t.viewer_email, PASSWORD);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(h_header(&r, "Cache-Control", got, sizeof(got)));
	cr_assert(eq(str, got, "no-store"));
	cr_assert(h_header(&r, "X-Request-ID", got, sizeof(got)));
	h_resp_free(&r);
}

Test(auth_http, wrong_password_and_unknown_email_are_the_same_401)
{
	struct h_resp wrong, unknown;
	char local[96], email[128];

	login(&wrong, t.owner_email, "correct horse battery");
	h_assert_error(&wrong, 401, "unauthenticated", NULL);
	h_unique(local, sizeof(local), "nobody");
	snprintf(email, sizeof(email), "%s@example.test", local);
	login(&unknown, email, PASSWORD);
	h_assert_error(&unknown, 401, "unauthenticated", NULL);
	cr_assert(eq(str, cJSON_GetObjectItem(unknown.json, "error_message")->valuestring,
		     cJSON_GetObjectItem(wrong.json, "error_message")->valuestring));
	cr_assert(eq(int, cJSON_GetObjectItem(unknown.json, "field") != NULL,
		     cJSON_GetObjectItem(wrong.json, "field") != NULL));
	h_resp_free(&wrong);
	h_resp_free(&unknown);
}

/* ---- refresh ---- */

Test(auth_http, refresh_rotates_the_pair)
{
	char a1[H_TOKEN], r1[H_TOKEN], a2[H_TOKEN], r2[H_TOKEN], a3[H_TOKEN], r3[H_TOKEN], uid[64];
	struct h_resp r;

	login_pair(t.admin_email, a1, r1);
	refresh_pair(r1, a2, r2);
	cr_assert(ne(str, r2, r1));
	me(&r, a2);
	cr_assert(eq(long, r.status, 200), "the new access token works: %s", r.body);
	h_resp_free(&r);
	refresh_pair(r2, a3, r3);
	user_id(t.admin_email, uid, sizeof(uid));
	cr_assert(eq(long, audits("auth.refresh", uid), 2));
	cr_assert(eq(long, h_db_count("SELECT count(DISTINCT family_id) FROM refresh_tokens "
				      "WHERE user_id = ?", uid), 1), "one family");
}

Test(auth_http, reuse_of_a_refresh_token_is_401_and_revokes_the_family)
{
	char a1[H_TOKEN], r1[H_TOKEN], a2[H_TOKEN], r2[H_TOKEN], a3[H_TOKEN], r3[H_TOKEN];
	char ao[H_TOKEN], ro[H_TOKEN], uid[64];
	char *tail;

	login_pair(t.owner_email, a1, r1);
	login_pair(t.owner_email, ao, ro); /* another login of the same user */
	refresh_pair(r1, a2, r2);
	refresh_pair(r2, a3, r3);
	user_id(t.owner_email, uid, sizeof(uid));
	refresh_401(r1);
	cr_assert(eq(long, audits("auth.refresh_reuse", uid), 1));
	refresh_401(r3); /* the family's newest token stops working too */
	cr_assert(eq(long, audits("auth.refresh_reuse", uid), 1), "revoked, not reused");
	refresh_401(r2); /* spent as well: a second reuse, audited again */
	cr_assert(eq(long, audits("auth.refresh_reuse", uid), 2));
	refresh_pair(ro, a2, r2); /* the other login is untouched */
	tail = r1 + strlen(r1) - 16;
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE instr(detail, ?) > 0",
				      tail), 0), "a token leaked into the audit log");
}

Test(auth_http, access_token_expired_token_and_garbage_are_not_refresh_tokens)
{
	char access[H_TOKEN], refresh_tok[H_TOKEN], uid[64];

	login_pair(t.member_email, access, refresh_tok);
	refresh_401(access);
	refresh_401("garbage");
	user_id(t.member_email, uid, sizeof(uid));
	h_db_exec("UPDATE refresh_tokens SET expires_at = strftime('%s', 'now') - 1 WHERE user_id = ?",
		  uid);
	refresh_401(refresh_tok);
}

/* ---- /users/me ---- */

/* The team_list item of team in r's body, failing the test when there is none. */
static const cJSON *team_item(const struct h_resp *r, const char *team)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItem(r->json, "team_list")) {
		const cJSON *id = cJSON_GetObjectItem(it, "team_id");

		if (cJSON_IsString(id) && strcmp(id->valuestring, team) == 0)
			return it;
	}
	cr_assert(false, "team %s not in %s", team, r->body);
	return NULL;
}

static void assert_team(const struct h_resp *r, const char *team, const char *role)
{
	const cJSON *it = team_item(r, team);
	char name[128];

	h_db_text("SELECT team_name FROM teams WHERE id = ?", team, name, sizeof(name));
	cr_assert(eq(str, cJSON_GetObjectItem(it, "team_name")->valuestring, name));
	cr_assert(eq(str, cJSON_GetObjectItem(it, "role")->valuestring, (char *)role));
}

Test(auth_http, users_me_lists_both_teams_with_their_roles)
{
	char access[H_TOKEN], refresh_tok[H_TOKEN], uid[64];
	struct h_tenant other;
	const cJSON *created;
	struct h_resp r;

	h_tenant_new(&other);
	h_ctl_ok(NULL, 0, "member", "add", other.team, t.member_email, "admin", NULL);
	login_pair(t.member_email, access, refresh_tok);
	me(&r, access); /* no X-Team-ID: the profile needs no team */
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	user_id(t.member_email, uid, sizeof(uid));
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "id")->valuestring, uid));
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "email_address")->valuestring, t.member_email));
	created = cJSON_GetObjectItem(r.json, "created_at");
	cr_assert(cJSON_IsString(created) && strlen(created->valuestring) == 20 &&
		  created->valuestring[10] == 'T' && created->valuestring[19] == 'Z', "body: %s", r.body);
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "team_list")), 2));
	assert_team(&r, t.team, "member");
	assert_team(&r, other.team, "admin");
	h_resp_free(&r);
}

Test(auth_http, users_me_accepts_a_device_key)
{
	struct h_resp r;

	me(&r, t.dk_viewer);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "email_address")->valuestring, t.viewer_email));
	assert_team(&r, t.team, "viewer");
	h_resp_free(&r);
}

Test(auth_http, users_me_without_credential_is_401_with_sk_or_ak_403)
{
	struct h_resp r;

	me(&r, NULL);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	me(&r, "eyJnot.a.token");
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	me(&r, t.sk);
	h_assert_error(&r, 403, "forbidden", "Authorization");
	h_resp_free(&r);
	me(&r, t.ak);
	h_assert_error(&r, 403, "forbidden", "Authorization");
	h_resp_free(&r);
}

/* ---- bodies, methods, paths ---- */

Test(auth_http, bad_bodies_are_400_415_413)
{
	const char *const text[] = {"Content-Type: text/plain", NULL};
	const char *body = "{\"refresh_token\": \"x\"}";
	struct h_resp r;
	size_t big = 1024 * 1024 + 1;
	char *huge;

	post_json(&r, "/api/v1/auth/login", "{\"email_address\": ");
	h_assert_error(&r, 400, "validation_failed", NULL);
	h_resp_free(&r);
	h_request(&r, "POST", "/api/v1/auth/refresh", text, body, strlen(body));
	h_assert_error(&r, 415, "unsupported_media_type", "Content-Type");
	h_resp_free(&r);
	post_json(&r, "/api/v1/auth/login", "{\"email_address\": \"a@b.test\", "
		  "\"user_password\": \"x\", \"remember_me\": true}");
	h_assert_error(&r, 400, "validation_failed", "remember_me");
	h_resp_free(&r);
	post_json(&r, "/api/v1/auth/login", "{\"email_address\": [], \"user_password\": \"x\"}");
	h_assert_error(&r, 400, "validation_failed", "email_address");
	h_resp_free(&r);
	post_json(&r, "/api/v1/auth/refresh", "{\"refresh_token\": 42}");
	h_assert_error(&r, 400, "validation_failed", "refresh_token");
	h_resp_free(&r);
	huge = malloc(big + 1);
	cr_assert(huge != NULL);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	huge[big] = '\0';
	post_json(&r, "/api/v1/auth/login", huge);
	h_assert_error(&r, 413, "too_large", NULL);
	h_resp_free(&r);
	free(huge);
}

Test(auth_http, wrong_methods_are_405_with_allow)
{
	struct h_resp r;
	char allow[64];

	h_request(&r, "GET", "/api/v1/auth/login", NULL, NULL, 0);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "POST"));
	h_resp_free(&r);
	h_request(&r, "DELETE", "/api/v1/auth/refresh", NULL, NULL, 0);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	h_resp_free(&r);
	post_json(&r, "/api/v1/users/me", "{}");
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "GET"));
	h_resp_free(&r);
}

Test(auth_http, unknown_paths_under_the_prefixes_are_404_in_the_envelope)
{
	static const char *const paths[] = {
		"/api/v1/auth", "/api/v1/auth/", "/api/v1/auth/logout", "/api/v1/auth/login/x",
		"/api/v1/users", "/api/v1/users/someone", "/api/v1/users/me/teams",
	};
	struct h_resp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		h_request(&r, "GET", paths[i], NULL, NULL, 0);
		h_assert_error(&r, 404, "not_found", NULL);
		h_resp_free(&r);
	}
}

/* A path under /api/v1 that no program serves (a typo) is answered by one all the same: the
 * envelope and an X-Request-ID, not lighttpd's HTML page. Outside the API lighttpd answers. */
Test(auth_http, paths_under_the_api_that_no_program_serves_are_404_in_the_envelope)
{
	static const char *const paths[] = {
		"/api/v1", "/api/v1/", "/api/v1/containerz", "/api/v1/container/x", "/api/v1/r/foo",
		"/api/v1/r", "/api/v1/agent", "/api/v1/agent/connectx",
	};
	char rid[160];
	struct h_resp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		h_request(&r, "GET", paths[i], NULL, NULL, 0);
		h_assert_error(&r, 404, "not_found", NULL);
		cr_assert(h_header(&r, "X-Request-ID", rid, sizeof(rid)), "%s", paths[i]);
		cr_assert(strstr(r.body, paths[i]) != NULL, "names the path: %s", r.body);
		h_resp_free(&r);
	}
	h_request(&r, "GET", "/api/v2/containers", NULL, NULL, 0);
	cr_assert(eq(long, r.status, 404));
	cr_assert(r.json == NULL, "lighttpd's own page: %s", r.body);
	h_resp_free(&r);
}
