/* POST, GET /api/v1/credentials and DELETE /api/v1/credentials/{id} over HTTP through
 * lighttpd and the real credentials program. A new key's validity is proved on
 * POST /api/v1/containers: a live sk- key gets 403 there (management refuses sk-), a revoked
 * or unknown one 401. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROUTE "/api/v1/credentials"
#define MIB (1024 * 1024)
#define NIL_UUID "019abc12-3456-7890-abcd-ef1234567890"

static struct h_tenant t;

static void setup(void)
{
	h_tenant_new(&t);
}

TestSuite(credentials, .init = setup);

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

/* POST /credentials as the tenant's admin; asserts 201 and copies id and raw key out. */
static void issue(const char *json, char id[H_ID], char raw[H_KEY])
{
	struct h_resp r;

	call(&r, "POST", ROUTE, t.admin_tok, t.team, json);
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	snprintf(id, H_ID, "%s", cJSON_GetObjectItem(r.json, "id")->valuestring);
	snprintf(raw, H_KEY, "%s", cJSON_GetObjectItem(r.json, "raw_key")->valuestring);
	h_resp_free(&r);
}

static void revoke(const char *id, const char *cred, long want)
{
	struct h_resp r;
	char path[128];

	snprintf(path, sizeof(path), ROUTE "/%s", id);
	call(&r, "DELETE", path, cred, t.team, NULL);
	cr_assert(eq(long, r.status, want), "DELETE %s: %s", id, r.body);
	h_resp_free(&r);
}

/* The status a key gets on POST /containers: 403 when it is live (sk- is refused there), 401
 * when it is revoked, expired or unknown. */
static long status_on_containers(const char *key)
{
	struct h_resp r;
	long status;

	h_create(&r, key, NULL, "{\"service_slug\": \"probe\", \"docker_image\": \"a\"}");
	status = r.status;
	h_resp_free(&r);
	return status;
}

/* The id of a key the harness made, by its prefix. */
static void key_id(const char *raw, char id[H_ID])
{
	char prefix[16];

	snprintf(prefix, sizeof(prefix), "%.12s", raw);
	h_db_text("SELECT id FROM credentials WHERE key_prefix = ?", prefix, id, H_ID);
	cr_assert(eq(int, (int)strlen(id), 36), "no credential with prefix %s", prefix);
}

static long team_keys(void)
{
	return h_db_count("SELECT count(*) FROM credentials WHERE team_id = ?", t.team);
}

/* GET /credentials?query as the admin; asserts 200 and a well-formed page. */
static void list(struct h_resp *r, const char *query)
{
	char path[256];

	snprintf(path, sizeof(path), ROUTE "%s%s", *query ? "?" : "", query);
	call(r, "GET", path, t.admin_tok, t.team, NULL);
	cr_assert(eq(long, r->status, 200), "GET %s: %s", path, r->body);
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(r->json, "credential_list")), "%s", r->body);
	cr_assert(cJSON_IsObject(cJSON_GetObjectItem(r->json, "page_meta")), "%s", r->body);
}

static long meta(const struct h_resp *r, const char *name)
{
	const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(r->json, "page_meta"), name);

	cr_assert(cJSON_IsNumber(v), "page_meta.%s: %s", name, r->body);
	return (long)v->valuedouble;
}

static int items(const struct h_resp *r)
{
	return cJSON_GetArraySize(cJSON_GetObjectItem(r->json, "credential_list"));
}

static const cJSON *item(const struct h_resp *r, int i)
{
	return cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "credential_list"), i);
}

/* The item of the list with this id, or NULL. */
static const cJSON *find(const struct h_resp *r, const char *id)
{
	for (int i = 0; i < items(r); i++)
		if (strcmp(cJSON_GetObjectItem(item(r, i), "id")->valuestring, id) == 0)
			return item(r, i);
	return NULL;
}

Test(credentials, admin_issues_integration_key_201_shown_once_with_location_and_audit)
{
	const char *body = "{\"kind\": \"integration\", \"display_name\": \"ci-bot\"}";
	char loc[256], want[256], hash[128];
	const cJSON *id, *raw, *prefix;
	struct h_resp r;

	call(&r, "POST", ROUTE, t.admin_tok, t.team, body);
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	cr_assert(eq(int, cJSON_GetArraySize(r.json), 4), "exactly id, kind, key_prefix, raw_key: %s",
		  r.body);
	id = cJSON_GetObjectItem(r.json, "id");
	raw = cJSON_GetObjectItem(r.json, "raw_key");
	prefix = cJSON_GetObjectItem(r.json, "key_prefix");
	cr_assert(cJSON_IsString(id) && strlen(id->valuestring) == 36, "body: %s", r.body);
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "kind")->valuestring, "integration"));
	cr_assert(cJSON_IsString(raw) && strncmp(raw->valuestring, "sk-", 3) == 0, "%s", r.body);
	cr_assert(eq(int, (int)strlen(raw->valuestring), 43));
	cr_assert(eq(int, (int)strlen(prefix->valuestring), 12));
	cr_assert(eq(int, strncmp(raw->valuestring, prefix->valuestring, 12), 0));
	cr_assert(h_header(&r, "Location", loc, sizeof(loc)), "no Location header");
	snprintf(want, sizeof(want), ROUTE "/%s", id->valuestring);
	cr_assert(eq(str, loc, want));
	h_db_text("SELECT key_hash FROM credentials WHERE id = ?", id->valuestring, hash, sizeof(hash));
	cr_assert(eq(int, (int)strlen(hash), 64), "stored as a SHA-256");
	cr_assert(ne(str, hash, raw->valuestring));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM credentials WHERE id = ? AND kind = "
				      "'integration' AND display_name = 'ci-bot' AND user_id IS NULL "
				      "AND expires_at IS NULL AND revoked_at IS NULL", id->valuestring), 1));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND "
				      "action = 'credential.create' AND actor_kind = 'user' AND "
				      "instr(detail, 'sk-') = 0", id->valuestring), 1));
	h_resp_free(&r);
}

Test(credentials, owner_issues_agent_key_expiring_in_30_days)
{
	char id[H_ID], raw[H_KEY];

	issue("{\"kind\": \"agent\", \"display_name\": \"gpu-node\", \"expires_in_days\": 30}", id,
	      raw);
	cr_assert(eq(int, strncmp(raw, "ak-", 3), 0), "raw: %s", raw);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM credentials WHERE id = ? AND kind = 'agent'"
				      " AND expires_at - created_at = 30 * 86400", id), 1));
}

Test(credentials, new_sk_key_works_and_after_revoke_its_very_next_request_is_401)
{
	char id[H_ID], raw[H_KEY];

	issue("{\"kind\": \"integration\", \"display_name\": \"ci\", \"expires_in_days\": 1}", id, raw);
	cr_assert(eq(long, status_on_containers(raw), 403), "a live sk- key is refused with 403");
	revoke(id, t.admin_tok, 204);
	cr_assert(eq(long, status_on_containers(raw), 401), "a revoked key is unauthenticated");
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND "
				      "action = 'credential.revoke'", id), 1));
}

Test(credentials, revoking_a_device_key_stops_it_at_once)
{
	char id[H_ID];

	cr_assert(eq(long, status_on_containers(t.dk_member), 201), "control: a member's dk- creates");
	key_id(t.dk_member, id);
	revoke(id, t.owner_tok, 204);
	cr_assert(eq(long, status_on_containers(t.dk_member), 401));
}

Test(credentials, revoking_twice_is_204_both_times_and_audited_once)
{
	char id[H_ID];

	key_id(t.sk, id);
	revoke(id, t.admin_tok, 204);
	revoke(id, t.owner_tok, 204);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND "
				      "action = 'credential.revoke'", id), 1));
	cr_assert(eq(long, status_on_containers(t.sk), 401));
}

Test(credentials, another_teams_key_is_404_and_keeps_working)
{
	struct h_tenant other;
	char id[H_ID];

	h_tenant_new(&other);
	key_id(other.sk, id);
	revoke(id, t.admin_tok, 404);
	cr_assert(eq(long, status_on_containers(other.sk), 403), "still live");
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM credentials WHERE id = ? AND "
				      "revoked_at IS NULL", id), 1));
}

Test(credentials, unknown_or_malformed_id_is_404)
{
	static const char *const ids[] = {NIL_UUID, "not-a-uuid", "019ABC12-3456-7890-ABCD-EF1234567890",
					  "%27%20OR%201%3D1"};
	struct h_resp r;
	char path[256];

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		snprintf(path, sizeof(path), ROUTE "/%s", ids[i]);
		call(&r, "DELETE", path, t.admin_tok, t.team, NULL);
		h_assert_error(&r, 404, "not_found", NULL);
		h_resp_free(&r);
	}
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM credentials WHERE team_id = ? AND "
				      "revoked_at IS NOT NULL", t.team), 0));
}

Test(credentials, member_and_viewer_get_403_on_every_endpoint)
{
	const char *const toks[] = {t.member_tok, t.viewer_tok};
	const char *body = "{\"kind\": \"integration\", \"display_name\": \"x\"}";
	struct h_resp r;
	char id[H_ID], path[128];

	key_id(t.sk, id);
	snprintf(path, sizeof(path), ROUTE "/%s", id);
	for (int i = 0; i < 2; i++) {
		call(&r, "POST", ROUTE, toks[i], t.team, body);
		h_assert_error(&r, 403, "forbidden", NULL);
		h_resp_free(&r);
		call(&r, "GET", ROUTE, toks[i], t.team, NULL);
		h_assert_error(&r, 403, "forbidden", NULL);
		h_resp_free(&r);
		call(&r, "DELETE", path, toks[i], t.team, NULL);
		h_assert_error(&r, 403, "forbidden", NULL);
		h_resp_free(&r);
	}
	cr_assert(eq(long, team_keys(), 4), "nothing was issued");
	cr_assert(eq(long, status_on_containers(t.sk), 403), "nothing was revoked");
}

Test(credentials, keys_never_manage_keys_sk_ak_dk_even_an_admins_are_403)
{
	const char *body = "{\"kind\": \"integration\", \"display_name\": \"x\"}";
	char dk_admin[H_KEY], id[H_ID], path[128];
	const char *const keys[] = {t.sk, t.ak, t.dk_member, dk_admin};
	struct h_resp r;

	h_ctl_ok(dk_admin, sizeof(dk_admin), "credential", "add", t.team, "device", "adm-laptop",
		 "--user", t.admin_email, NULL);
	key_id(t.ak, id);
	snprintf(path, sizeof(path), ROUTE "/%s", id);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		call(&r, "POST", ROUTE, keys[i], t.team, body);
		h_assert_error(&r, 403, "forbidden", "Authorization");
		h_resp_free(&r);
		call(&r, "GET", ROUTE, keys[i], NULL, NULL);
		h_assert_error(&r, 403, "forbidden", "Authorization");
		h_resp_free(&r);
		call(&r, "DELETE", path, keys[i], NULL, NULL);
		h_assert_error(&r, 403, "forbidden", "Authorization");
		h_resp_free(&r);
	}
	cr_assert(eq(long, team_keys(), 5), "the four of the tenant and dk_admin, nothing more");
}

Test(credentials, missing_bad_or_revoked_credential_is_401)
{
	const char *const none[] = {"Content-Type: application/json", NULL};
	const char *body = "{\"kind\": \"integration\", \"display_name\": \"x\"}";
	char forged[H_KEY];
	struct h_resp r;

	h_request(&r, "POST", ROUTE, none, body, strlen(body));
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	h_request(&r, "GET", ROUTE, NULL, NULL, 0);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	snprintf(forged, sizeof(forged), "%s", t.sk);
	forged[20] = forged[20] == 'a' ? 'b' : 'a';
	call(&r, "GET", ROUTE, forged, NULL, NULL);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	call(&r, "GET", ROUTE, "eyJhbGciOiJIUzI1NiJ9.e30.bad", t.team, NULL);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
}

Test(credentials, jwt_without_team_is_400_and_of_another_team_403)
{
	struct h_tenant other;
	struct h_resp r;

	call(&r, "GET", ROUTE, t.admin_tok, NULL, NULL);
	h_assert_error(&r, 400, "validation_failed", "X-Team-ID");
	h_resp_free(&r);
	h_tenant_new(&other);
	call(&r, "GET", ROUTE, t.admin_tok, other.team, NULL);
	h_assert_error(&r, 403, "forbidden", "X-Team-ID");
	h_resp_free(&r);
}

Test(credentials, device_kind_is_400_and_nothing_is_issued)
{
	struct h_resp r;

	call(&r, "POST", ROUTE, t.admin_tok, t.team,
	     "{\"kind\": \"device\", \"display_name\": \"laptop\"}");
	h_assert_error(&r, 400, "validation_failed", "kind");
	h_resp_free(&r);
	cr_assert(eq(long, team_keys(), 4));
}

Test(credentials, bad_bodies_are_400_naming_the_field)
{
	static const struct {
		const char *body;
		const char *field;
	} cases[] = {
		{"{\"kind\": \"integration\"", NULL},
		{"[]", NULL},
		{"{\"display_name\": \"x\"}", "kind"},
		{"{\"kind\": \"root\", \"display_name\": \"x\"}", "kind"},
		{"{\"kind\": 3, \"display_name\": \"x\"}", "kind"},
		{"{\"kind\": \"agent\"}", "display_name"},
		{"{\"kind\": \"agent\", \"display_name\": \"\"}", "display_name"},
		{"{\"kind\": \"agent\", \"display_name\": [\"x\"]}", "display_name"},
		{"{\"kind\": \"agent\", \"display_name\": \"x\", \"expires_in_days\": 0}", "expires_in_days"},
		{"{\"kind\": \"agent\", \"display_name\": \"x\", \"expires_in_days\": 366}", "expires_in_days"},
		{"{\"kind\": \"agent\", \"display_name\": \"x\", \"expires_in_days\": \"30\"}", "expires_in_days"},
		{"{\"kind\": \"agent\", \"display_name\": \"x\", \"expires_in_days\": 2.5}", "expires_in_days"},
		{"{\"kind\": \"agent\", \"display_name\": \"x\", \"scope\": \"all\"}", "scope"},
		{"{\"kind\": \"agent\", \"display_name\": \"a\\u0000b\"}", "display_name"},
		{"{\"kind\": \"agent\", \"display_name\": \"x\", \"kind\": \"integration\"}", "kind"},
	};
	struct h_resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		call(&r, "POST", ROUTE, t.admin_tok, t.team, cases[i].body);
		h_assert_error(&r, 400, "validation_failed", cases[i].field);
		h_resp_free(&r);
	}
	cr_assert(eq(long, team_keys(), 4), "a rejected body issued a key");
}

Test(credentials, display_name_of_100_characters_is_accepted_101_is_400)
{
	char body[512], name[128], id[H_ID], raw[H_KEY];
	struct h_resp r;

	memset(name, 'n', 101);
	name[101] = '\0';
	snprintf(body, sizeof(body), "{\"kind\": \"agent\", \"display_name\": \"%s\"}", name);
	call(&r, "POST", ROUTE, t.admin_tok, t.team, body);
	h_assert_error(&r, 400, "validation_failed", "display_name");
	h_resp_free(&r);
	name[100] = '\0';
	snprintf(body, sizeof(body), "{\"kind\": \"agent\", \"display_name\": \"%s\", "
		 "\"expires_in_days\": 365}", name);
	issue(body, id, raw);
}

Test(credentials, content_type_other_than_json_is_415_and_over_1_mib_is_413)
{
	const char *body = "{\"kind\": \"agent\", \"display_name\": \"x\"}";
	char auth[H_TOKEN + 32], tid[64];
	const char *plain[] = {auth, tid, "Content-Type: text/plain", NULL};
	const char *json[] = {auth, tid, "Content-Type: application/json", NULL};
	struct h_resp r;
	char *big = malloc(MIB + 2);

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.admin_tok);
	snprintf(tid, sizeof(tid), "X-Team-ID: %s", t.team);
	h_request(&r, "POST", ROUTE, plain, body, strlen(body));
	h_assert_error(&r, 415, "unsupported_media_type", "Content-Type");
	h_resp_free(&r);
	cr_assert(big != NULL);
	memset(big, ' ', MIB + 1);
	memcpy(big, body, strlen(body));
	big[MIB + 1] = '\0';
	h_request(&r, "POST", ROUTE, json, big, MIB + 1);
	h_assert_error(&r, 413, "too_large", NULL);
	h_resp_free(&r);
	h_request(&r, "POST", ROUTE, json, big, MIB);
	cr_assert(eq(long, r.status, 201), "exactly 1 MiB is fine: %s", r.body);
	h_resp_free(&r);
	free(big);
}

Test(credentials, list_shows_every_key_of_the_team_and_never_a_secret)
{
	static const char *const fields[] = {"id", "kind", "display_name", "key_prefix", "user_id",
					     "created_at", "expires_at", "revoked_at", "last_used_at"};
	char sk_id[H_ID], dk_id[H_ID], hash[128];
	const cJSON *sk, *dk;
	struct h_resp r;

	key_id(t.sk, sk_id);
	key_id(t.dk_member, dk_id);
	h_db_text("SELECT key_hash FROM credentials WHERE id = ?", sk_id, hash, sizeof(hash));
	list(&r, "");
	cr_assert(eq(long, meta(&r, "total_count"), 4));
	cr_assert(eq(long, meta(&r, "current_page"), 1));
	cr_assert(eq(long, meta(&r, "per_page"), 20));
	cr_assert(eq(int, items(&r), 4));
	sk = find(&r, sk_id);
	dk = find(&r, dk_id);
	cr_assert(sk && dk, "body: %s", r.body);
	cr_assert(eq(int, cJSON_GetArraySize(sk), 9), "%s", r.body);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		cr_assert(cJSON_HasObjectItem(sk, fields[i]), "no %s", fields[i]);
	cr_assert(eq(str, cJSON_GetObjectItem(sk, "kind")->valuestring, "integration"));
	cr_assert(eq(str, cJSON_GetObjectItem(sk, "display_name")->valuestring, "ci"));
	cr_assert(eq(int, strncmp(cJSON_GetObjectItem(sk, "key_prefix")->valuestring, t.sk, 12), 0));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(sk, "user_id")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(sk, "expires_at")));
	cr_assert(cJSON_IsNull(cJSON_GetObjectItem(sk, "revoked_at")));
	cr_assert(eq(int, (int)strlen(cJSON_GetObjectItem(sk, "created_at")->valuestring), 20));
	cr_assert(eq(str, cJSON_GetObjectItem(dk, "kind")->valuestring, "device"));
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(dk, "user_id")));
	cr_assert(eq(ptr, strstr(r.body, t.sk), NULL), "a raw key is listed");
	cr_assert(eq(ptr, strstr(r.body, hash), NULL), "a hash is listed");
	cr_assert(eq(ptr, strstr(r.body, "key_hash"), NULL));
	h_resp_free(&r);
}

Test(credentials, last_used_at_is_set_once_a_key_is_used)
{
	char id[H_ID];
	struct h_resp r;

	key_id(t.dk_member, id);
	cr_assert(eq(long, status_on_containers(t.dk_member), 201));
	list(&r, "");
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(find(&r, id), "last_used_at")), "%s", r.body);
	h_resp_free(&r);
}

Test(credentials, list_holds_only_the_callers_team)
{
	struct h_tenant other;
	char theirs[H_ID];
	struct h_resp r;

	h_tenant_new(&other);
	key_id(other.sk, theirs);
	list(&r, "per_page=100");
	cr_assert(eq(long, meta(&r, "total_count"), 4));
	cr_assert(eq(ptr, (void *)find(&r, theirs), NULL), "another team's key is listed");
	h_resp_free(&r);
}

Test(credentials, per_page_0_and_101_and_page_0_are_400)
{
	static const struct {
		const char *query;
		const char *field;
	} cases[] = {
		{"per_page=0", "per_page"},         {"per_page=101", "per_page"},
		{"per_page=-1", "per_page"},        {"per_page=abc", "per_page"},
		{"per_page=", "per_page"},          {"current_page=0", "current_page"},
		{"current_page=1.5", "current_page"},
	};
	struct h_resp r;
	char path[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(path, sizeof(path), ROUTE "?%s", cases[i].query);
		call(&r, "GET", path, t.admin_tok, t.team, NULL);
		h_assert_error(&r, 400, "validation_failed", cases[i].field);
		h_resp_free(&r);
	}
}

Test(credentials, per_page_1_and_100_pages_are_stable_in_id_order)
{
	char ids[4][H_ID];
	struct h_resp r;

	list(&r, "per_page=100");
	cr_assert(eq(long, meta(&r, "per_page"), 100));
	cr_assert(eq(int, items(&r), 4));
	for (int i = 0; i < 4; i++) {
		snprintf(ids[i], H_ID, "%s", cJSON_GetObjectItem(item(&r, i), "id")->valuestring);
		cr_assert(i == 0 || strcmp(ids[i - 1], ids[i]) < 0, "not in id order: %s", r.body);
	}
	h_resp_free(&r);
	for (int page = 1; page <= 4; page++) {
		char q[64];

		snprintf(q, sizeof(q), "per_page=1&current_page=%d", page);
		list(&r, q);
		cr_assert(eq(int, items(&r), 1));
		cr_assert(eq(long, meta(&r, "total_count"), 4));
		cr_assert(eq(long, meta(&r, "current_page"), page));
		cr_assert(eq(str, cJSON_GetObjectItem(item(&r, 0), "id")->valuestring, ids[page - 1]));
		h_resp_free(&r);
	}
}

Test(credentials, page_past_the_end_is_empty_with_the_total)
{
	struct h_resp r;

	list(&r, "per_page=3&current_page=2");
	cr_assert(eq(int, items(&r), 1));
	h_resp_free(&r);
	list(&r, "per_page=3&current_page=3");
	cr_assert(eq(int, items(&r), 0));
	cr_assert(eq(long, meta(&r, "total_count"), 4));
	h_resp_free(&r);
	list(&r, "current_page=1000000");
	cr_assert(eq(int, items(&r), 0));
	cr_assert(eq(long, meta(&r, "total_count"), 4));
	h_resp_free(&r);
}

Test(credentials, revoked_keys_stay_listed_with_revoked_at_and_the_total_unchanged)
{
	char id[H_ID], raw[H_KEY];
	const cJSON *o;
	struct h_resp r;

	issue("{\"kind\": \"integration\", \"display_name\": \"temp\"}", id, raw);
	revoke(id, t.admin_tok, 204);
	list(&r, "");
	cr_assert(eq(long, meta(&r, "total_count"), 5));
	o = find(&r, id);
	cr_assert(o != NULL, "%s", r.body);
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(o, "revoked_at")), "%s", r.body);
	cr_assert(eq(int, (int)strlen(cJSON_GetObjectItem(o, "revoked_at")->valuestring), 20));
	h_resp_free(&r);
}

Test(credentials, other_methods_are_405_with_allow)
{
	struct h_resp r;
	char allow[64], path[128];

	call(&r, "PUT", ROUTE, t.admin_tok, t.team, NULL);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "GET, POST"));
	h_resp_free(&r);
	snprintf(path, sizeof(path), ROUTE "/%s", NIL_UUID);
	call(&r, "GET", path, t.admin_tok, t.team, NULL);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "DELETE"));
	h_resp_free(&r);
}

Test(credentials, unknown_paths_under_the_prefix_are_404)
{
	static const char *const paths[] = {ROUTE "/" NIL_UUID "/keys", ROUTE "x", ROUTE "x/y"};
	struct h_resp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		call(&r, "GET", paths[i], t.admin_tok, t.team, NULL);
		h_assert_error(&r, 404, "not_found", NULL);
		h_resp_free(&r);
	}
}

Test(credentials, one_trailing_slash_names_the_same_resource)
{
	char id[H_ID], path[128];
	struct h_resp r;

	key_id(t.sk, id);
	snprintf(path, sizeof(path), ROUTE "/%s/", id);
	call(&r, "DELETE", path, t.admin_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 204), "DELETE %s: %s", path, r.body);
	h_resp_free(&r);
	cr_assert(eq(long, status_on_containers(t.sk), 401));
}
