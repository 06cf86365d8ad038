/* /api/v1/vault/secrets over HTTP through lighttpd and the real vault program: who may call,
 * what comes back (never the value), where the value is not (responses, the database files,
 * the server log), its use as external_auth_credential_id, and the body rules and limits. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COLLECTION "/api/v1/vault/secrets"
#define NAME_MAX_CHARS 100   /* VAULT_NAME_MAX */
#define VALUE_MAX_BYTES 8192 /* VAULT_SECRET_MAX */
#define MIB (1024 * 1024)

static struct h_tenant t;

static void setup(void)
{
	h_tenant_new(&t);
}

TestSuite(vault, .init = setup);

/* method path with "Authorization: Bearer cred", X-Team-ID team (if not NULL) and a JSON
 * body (if not NULL). */
static void call(struct h_resp *r, const char *method, const char *path, const char *cred,
		 const char *team, const char *body)
{
	char auth[H_TOKEN + 32], tid[H_ID + 16];
	const char *headers[4] = {auth, NULL, NULL, NULL};
	int n = 1;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cred);
	if (team) {
		snprintf(tid, sizeof(tid), "X-Team-ID: %s", team);
		headers[n++] = tid;
	}
	if (body)
		headers[n++] = "Content-Type: application/json";
	h_request(r, method, path, headers, body, body ? strlen(body) : 0);
}

/* {"display_name": name, "secret_value": value}; free() it. */
static char *body_of(const char *name, const char *value)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(o, "display_name", name);
	cJSON_AddStringToObject(o, "secret_value", value);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	cr_assert(s != NULL);
	return s;
}

static void post(struct h_resp *r, const char *cred, const char *team, const char *name,
		 const char *value)
{
	char *b = body_of(name, value);

	call(r, "POST", COLLECTION, cred, team, b);
	free(b);
}

/* Creates a secret as the tenant's admin and returns its id. */
static void create(const char *name, const char *value, char id[H_ID])
{
	struct h_resp r;
	const cJSON *j;

	post(&r, t.admin_tok, t.team, name, value);
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	j = cJSON_GetObjectItem(r.json, "id");
	cr_assert(cJSON_IsString(j) && strlen(j->valuestring) == 36, "body: %s", r.body);
	snprintf(id, H_ID, "%s", j->valuestring);
	h_resp_free(&r);
}

static void item_path(char *out, size_t n, const char *id)
{
	snprintf(out, n, COLLECTION "/%s", id);
}

static char *repeat(const char *unit, size_t count)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * count + 1);

	cr_assert(s != NULL);
	for (size_t i = 0; i < count; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * count] = '\0';
	return s;
}

static long secrets_of(const char *team)
{
	return h_db_count("SELECT count(*) FROM vault_secrets WHERE team_id = ?", team);
}

/* Whether the file at <BERTH_VAR>/rel holds needle; *exists says whether it could be read. */
static bool file_holds(const char *rel, const char *needle, bool *exists)
{
	char path[4096];
	FILE *f;
	char *data;
	long n;
	bool found;

	snprintf(path, sizeof(path), "%s/%s", getenv("BERTH_VAR"), rel);
	*exists = false;
	if (!(f = fopen(path, "rb")))
		return false;
	cr_assert(fseek(f, 0, SEEK_END) == 0);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	cr_assert(data != NULL);
	cr_assert(eq(sz, fread(data, 1, (size_t)n, f), (size_t)n));
	fclose(f);
	found = memmem(data, (size_t)n, needle, strlen(needle)) != NULL;
	free(data);
	*exists = true;
	return found;
}

/* ---- create, read, list: the value never comes back ---- */

Test(vault, admin_creates_secret_201_with_location_metadata_and_audit_row)
{
	struct h_resp r;
	char value[96], loc[256], want[256];
	const cJSON *id, *name, *at;

	h_unique(value, sizeof(value), "sekrit-");
	post(&r, t.admin_tok, t.team, "OpenAI prod", value);
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	id = cJSON_GetObjectItem(r.json, "id");
	name = cJSON_GetObjectItem(r.json, "display_name");
	at = cJSON_GetObjectItem(r.json, "created_at");
	cr_assert(cJSON_IsString(id) && strlen(id->valuestring) == 36, "body: %s", r.body);
	cr_assert(cJSON_IsString(name) && strcmp(name->valuestring, "OpenAI prod") == 0);
	cr_assert(cJSON_IsString(at) && strlen(at->valuestring) == 20 &&
		  at->valuestring[19] == 'Z', "created_at: %s", r.body);
	cr_assert(eq(int, cJSON_GetArraySize(r.json), 3), "unexpected members: %s", r.body);
	cr_assert(eq(ptr, cJSON_GetObjectItem(r.json, "secret_value"), NULL));
	cr_assert(eq(ptr, strstr(r.body, value), NULL), "the value came back: %s", r.body);
	cr_assert(h_header(&r, "Location", loc, sizeof(loc)), "no Location header");
	item_path(want, sizeof(want), id->valuestring);
	cr_assert(eq(str, loc, want));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND"
				      " action = 'vault.create' AND resource_type = 'vault_secret'",
				      id->valuestring), 1));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE instr(detail, ?) > 0",
				      value), 0));
	h_resp_free(&r);
}

Test(vault, owner_may_create_too)
{
	struct h_resp r;

	post(&r, t.owner_tok, t.team, "by owner", "v");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
}

Test(vault, list_and_get_show_metadata_and_never_the_value)
{
	struct h_resp r;
	char v1[96], v2[96], id1[H_ID], id2[H_ID], path[128];
	const cJSON *list, *meta, *item;

	h_unique(v1, sizeof(v1), "first-secret-");
	h_unique(v2, sizeof(v2), "second-secret-");
	create("one", v1, id1);
	create("two", v2, id2);
	call(&r, "GET", COLLECTION, t.admin_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(eq(ptr, strstr(r.body, v1), NULL), "list shows a value: %s", r.body);
	cr_assert(eq(ptr, strstr(r.body, v2), NULL), "list shows a value: %s", r.body);
	list = cJSON_GetObjectItem(r.json, "secret_list");
	meta = cJSON_GetObjectItem(r.json, "page_meta");
	cr_assert(cJSON_IsArray(list) && cJSON_GetArraySize(list) == 2, "body: %s", r.body);
	cr_assert(eq(int, cJSON_GetObjectItem(meta, "total_count")->valueint, 2));
	cr_assert(eq(int, cJSON_GetObjectItem(meta, "current_page")->valueint, 1));
	cr_assert(eq(int, cJSON_GetObjectItem(meta, "per_page")->valueint, 20));
	item = cJSON_GetArrayItem(list, 0);
	cr_assert(eq(str, cJSON_GetObjectItem(item, "id")->valuestring, id1), "id order");
	cr_assert(eq(str, cJSON_GetObjectItem(item, "display_name")->valuestring, "one"));
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(item, "created_at")));
	cr_assert(eq(int, cJSON_GetArraySize(item), 3), "item: %s", r.body);
	h_resp_free(&r);

	item_path(path, sizeof(path), id2);
	call(&r, "GET", path, t.admin_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(eq(ptr, strstr(r.body, v2), NULL), "get shows the value: %s", r.body);
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "id")->valuestring, id2));
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "display_name")->valuestring, "two"));
	cr_assert(eq(int, cJSON_GetArraySize(r.json), 3), "body: %s", r.body);
	h_resp_free(&r);
}

Test(vault, list_paginates_and_checks_its_parameters)
{
	struct h_resp r;
	char ids[3][H_ID];
	const cJSON *list;

	for (int i = 0; i < 3; i++)
		create("s", "v", ids[i]);
	call(&r, "GET", COLLECTION "?current_page=2&per_page=2", t.admin_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	list = cJSON_GetObjectItem(r.json, "secret_list");
	cr_assert(eq(int, cJSON_GetArraySize(list), 1), "body: %s", r.body);
	cr_assert(eq(str, cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "id")->valuestring,
		     ids[2]));
	cr_assert(eq(int, cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "page_meta"),
					      "total_count")->valueint, 3));
	h_resp_free(&r);
	call(&r, "GET", COLLECTION "?per_page=0", t.admin_tok, t.team, NULL);
	h_assert_error(&r, 400, "validation_failed", "per_page");
	h_resp_free(&r);
	call(&r, "GET", COLLECTION "?per_page=101", t.admin_tok, t.team, NULL);
	h_assert_error(&r, 400, "validation_failed", "per_page");
	h_resp_free(&r);
	call(&r, "GET", COLLECTION "?current_page=0", t.admin_tok, t.team, NULL);
	h_assert_error(&r, 400, "validation_failed", "current_page");
	h_resp_free(&r);
}

Test(vault, list_shows_only_the_callers_team)
{
	struct h_tenant other;
	struct h_resp r;
	char id[H_ID];

	h_tenant_new(&other);
	create("mine", "v", id);
	call(&r, "GET", COLLECTION, other.admin_tok, other.team, NULL);
	cr_assert(eq(long, r.status, 200), "body: %s", r.body);
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "secret_list")), 0));
	cr_assert(eq(ptr, strstr(r.body, id), NULL));
	h_resp_free(&r);
}

/* ---- the value at rest and in the log ---- */

Test(vault, value_is_not_in_the_database_files_or_the_server_log)
{
	char value[96], name[96], id[H_ID];
	bool exists, db_has_name = false;
	const char *files[] = {"berth.db", "berth.db-wal", "log/lighttpd.log"};

	h_unique(value, sizeof(value), "plaintext-canary-");
	h_unique(name, sizeof(name), "name-canary-");
	create(name, value, id);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		cr_assert(not(file_holds(files[i], value, &exists)), "%s holds the value", files[i]);
		if (i < 2 && file_holds(files[i], name, &exists))
			db_has_name = true;
	}
	/* the control: the scan does see what is stored in clear */
	cr_assert(db_has_name, "display_name found in neither database file: the scan is blind");
	cr_assert(file_holds("berth.db", "CREATE TABLE vault_secrets", &exists) && exists);
}

/* ---- external_auth_credential_id ---- */

static void external_service(struct h_resp *r, const char *tok, const char *team,
			     const char *slug, const char *cred)
{
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"service_slug\": \"%s\", \"service_type\": \"external\","
		 " \"external_url\": \"https://api.example.test/v1\","
		 " \"external_auth_credential_id\": \"%s\"}", slug, cred);
	h_create(r, tok, team, body);
}

Test(vault, secret_is_usable_as_external_auth_credential_id_by_its_own_team_only)
{
	struct h_tenant other;
	struct h_resp r;
	char id[H_ID];

	h_tenant_new(&other);
	create("upstream", "Bearer abc", id);
	external_service(&r, t.member_tok, t.team, "ext-ok", id);
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
	external_service(&r, other.member_tok, other.team, "ext-steal", id);
	h_assert_error(&r, 400, "validation_failed", "external_auth_credential_id");
	h_resp_free(&r);
}

Test(vault, delete_while_a_service_uses_it_is_409_then_204_once_it_is_gone)
{
	struct h_resp r;
	char id[H_ID], path[128];

	create("upstream", "Bearer abc", id);
	external_service(&r, t.member_tok, t.team, "ext-user", id);
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
	item_path(path, sizeof(path), id);
	call(&r, "DELETE", path, t.admin_tok, t.team, NULL);
	h_assert_error(&r, 409, "conflict", NULL);
	cr_assert(not(eq(ptr, strstr(r.body, "ext-user"), NULL)), "names no service: %s", r.body);
	cr_assert(eq(long, secrets_of(t.team), 1));
	h_resp_free(&r);
	h_db_exec("DELETE FROM container_services WHERE external_auth_credential_id = ?", id);
	call(&r, "DELETE", path, t.admin_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 204), "body: %s", r.body);
	cr_assert(eq(sz, r.len, (size_t)0));
	h_resp_free(&r);
	cr_assert(eq(long, secrets_of(t.team), 0));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND"
				      " action = 'vault.delete'", id), 1));
	call(&r, "GET", path, t.admin_tok, t.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	call(&r, "DELETE", path, t.admin_tok, t.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
}

/* ---- who may call ---- */

/* Every endpoint with cred (and team) gives status/code; nothing changes. */
static void every_endpoint(const char *cred, const char *team, long status, const char *code,
			   const char *field)
{
	struct h_resp r;
	char id[H_ID], path[128];
	char *b = body_of("n", "v");

	create("target", "v", id);
	item_path(path, sizeof(path), id);
	call(&r, "POST", COLLECTION, cred, team, b);
	h_assert_error(&r, status, code, field);
	h_resp_free(&r);
	call(&r, "GET", COLLECTION, cred, team, NULL);
	h_assert_error(&r, status, code, field);
	h_resp_free(&r);
	call(&r, "GET", path, cred, team, NULL);
	h_assert_error(&r, status, code, field);
	h_resp_free(&r);
	call(&r, "DELETE", path, cred, team, NULL);
	h_assert_error(&r, status, code, field);
	h_resp_free(&r);
	free(b);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM vault_secrets WHERE id = ?", id), 1));
}

Test(vault, member_and_viewer_get_403_on_every_endpoint)
{
	every_endpoint(t.member_tok, t.team, 403, "forbidden", NULL);
	every_endpoint(t.viewer_tok, t.team, 403, "forbidden", NULL);
	every_endpoint(t.dk_member, NULL, 403, "forbidden", NULL);
	every_endpoint(t.dk_viewer, NULL, 403, "forbidden", NULL);
	cr_assert(eq(long, secrets_of(t.team), 4), "only the admin's four targets exist");
}

Test(vault, integration_and_agent_keys_get_403)
{
	every_endpoint(t.sk, NULL, 403, "forbidden", "Authorization");
	every_endpoint(t.ak, t.team, 403, "forbidden", "Authorization");
}

Test(vault, missing_credentials_are_401_and_team_header_rules_apply)
{
	struct h_tenant other;
	struct h_resp r;

	h_request(&r, "GET", COLLECTION, NULL, NULL, 0);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	call(&r, "GET", COLLECTION, t.admin_tok, NULL, NULL);
	h_assert_error(&r, 400, "validation_failed", "X-Team-ID");
	h_resp_free(&r);
	h_tenant_new(&other);
	every_endpoint(t.admin_tok, other.team, 403, "forbidden", "X-Team-ID");
}

Test(vault, another_teams_unknown_or_malformed_id_is_404)
{
	struct h_tenant other;
	struct h_resp r;
	char id[H_ID], path[128];
	const char *const paths[] = {COLLECTION "/019abc12-3456-7890-abcd-ef1234567890",
				     COLLECTION "/not-a-uuid", COLLECTION "/%2e%2e"};

	h_tenant_new(&other);
	create("mine", "v", id);
	item_path(path, sizeof(path), id);
	call(&r, "GET", path, other.admin_tok, other.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	call(&r, "DELETE", path, other.owner_tok, other.team, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	cr_assert(eq(long, secrets_of(t.team), 1));
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		call(&r, "GET", paths[i], t.admin_tok, t.team, NULL);
		h_assert_error(&r, 404, "not_found", NULL);
		h_resp_free(&r);
		call(&r, "DELETE", paths[i], t.admin_tok, t.team, NULL);
		h_assert_error(&r, 404, "not_found", NULL);
		h_resp_free(&r);
	}
}

/* ---- routing ---- */

Test(vault, unknown_paths_under_the_prefix_are_404_in_the_envelope)
{
	const char *const paths[] = {"/api/v1/vault", "/api/v1/vault/", "/api/v1/vault/keys",
				     "/api/v1/vaultx", "/api/v1/vault/secretsx",
				     COLLECTION "/019abc12-3456-7890-abcd-ef1234567890/reveal",
				     COLLECTION "//x"};
	struct h_resp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		call(&r, "GET", paths[i], t.admin_tok, t.team, NULL);
		h_assert_error(&r, 404, "not_found", NULL);
		h_resp_free(&r);
	}
}

Test(vault, wrong_methods_are_405_with_allow)
{
	struct h_resp r;
	char allow[64], id[H_ID], path[128];

	create("m", "v", id);
	item_path(path, sizeof(path), id);
	call(&r, "PUT", COLLECTION, t.admin_tok, t.team, NULL);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "GET, POST"));
	h_resp_free(&r);
	call(&r, "DELETE", COLLECTION, t.admin_tok, t.team, NULL);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	h_resp_free(&r);
	call(&r, "POST", path, t.admin_tok, t.team, "{}");
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "GET, DELETE"));
	h_resp_free(&r);
	call(&r, "PUT", path, t.admin_tok, t.team, "{}");
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	h_resp_free(&r);
	cr_assert(eq(long, secrets_of(t.team), 1));
}

/* ---- the body and its limits ---- */

static void post_rejected(const char *name, const char *value, const char *field)
{
	struct h_resp r;

	post(&r, t.admin_tok, t.team, name, value);
	h_assert_error(&r, 400, "validation_failed", field);
	if (strlen(value) >= 8) /* shorter ones occur in any envelope by chance */
		cr_assert(eq(ptr, strstr(r.body, value), NULL), "the error echoes the value");
	h_resp_free(&r);
}

static void post_accepted(const char *name, const char *value)
{
	struct h_resp r;

	post(&r, t.admin_tok, t.team, name, value);
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
}

Test(vault, display_name_boundaries)
{
	char *max = repeat("n", NAME_MAX_CHARS), *over = repeat("n", NAME_MAX_CHARS + 1);
	char *wide = repeat("\xc3\xa9", NAME_MAX_CHARS), *wide_over = repeat("\xc3\xa9", NAME_MAX_CHARS + 1);

	post_rejected(over, "v", "display_name");
	post_rejected(wide_over, "v", "display_name");
	post_rejected("", "v", "display_name");
	cr_assert(eq(long, secrets_of(t.team), 0));
	post_accepted(max, "v");
	post_accepted(wide, "v");
	cr_assert(eq(long, secrets_of(t.team), 2));
	free(max);
	free(over);
	free(wide);
	free(wide_over);
}

Test(vault, secret_value_boundaries_in_bytes)
{
	char *max = repeat("v", VALUE_MAX_BYTES), *over = repeat("v", VALUE_MAX_BYTES + 1);
	char *wide = repeat("\xc3\xa9", VALUE_MAX_BYTES / 2), *wide_over = repeat("\xc3\xa9", VALUE_MAX_BYTES / 2 + 1);

	post_rejected("n", over, "secret_value");
	post_rejected("n", wide_over, "secret_value"); /* 4097 characters, 8194 bytes */
	post_rejected("n", "", "secret_value");
	post_rejected("n", "Bearer x\r\nX-Injected: 1", "secret_value");
	cr_assert(eq(long, secrets_of(t.team), 0));
	post_accepted("n", max);
	post_accepted("n", wide);
	post_accepted("n", "1");
	cr_assert(eq(long, secrets_of(t.team), 3));
	free(max);
	free(over);
	free(wide);
	free(wide_over);
}

static void post_raw(struct h_resp *r, const char *ctype, const char *body, size_t len)
{
	char auth[H_TOKEN + 32], tid[64], ct[128];
	const char *headers[4] = {auth, tid, ct, NULL};

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.admin_tok);
	snprintf(tid, sizeof(tid), "X-Team-ID: %s", t.team);
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	h_request(r, "POST", COLLECTION, headers, body, len);
}

Test(vault, body_rules_415_413_and_400_naming_the_field)
{
	static const struct {
		const char *body;
		const char *field;
	} cases[] = {
		{"{\"display_name\": \"n\"", NULL},
		{"[]", NULL},
		{"{\"display_name\": \"n\", \"secret_value\": \"v\", \"secret\": \"v\"}", "secret"},
		{"{\"display_name\": \"n\"}", "secret_value"},
		{"{\"secret_value\": \"v\"}", "display_name"},
		{"{\"display_name\": 7, \"secret_value\": \"v\"}", "display_name"},
		{"{\"display_name\": \"n\", \"secret_value\": true}", "secret_value"},
		{"{\"display_name\": \"n\", \"secret_value\": {\"a\": 1}}", "secret_value"},
		{"{\"display_name\": \"n\", \"secret_value\": \"a\\u0000b\"}", "secret_value"},
		{"{\"display_name\": \"n\", \"secret_value\": \"v\", \"display_name\": \"m\"}", "display_name"},
	};
	const char *ok = "{\"display_name\": \"n\", \"secret_value\": \"v\"}";
	struct h_resp r;
	char *big;

	post_raw(&r, "text/plain", ok, strlen(ok));
	h_assert_error(&r, 415, "unsupported_media_type", "Content-Type");
	h_resp_free(&r);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		post_raw(&r, "application/json", cases[i].body, strlen(cases[i].body));
		h_assert_error(&r, 400, "validation_failed", cases[i].field);
		h_resp_free(&r);
	}
	big = malloc(MIB + 2);
	cr_assert(big != NULL);
	memset(big, ' ', MIB + 1);
	memcpy(big, ok, strlen(ok));
	big[MIB + 1] = '\0';
	post_raw(&r, "application/json", big, MIB + 1);
	h_assert_error(&r, 413, "too_large", NULL);
	h_resp_free(&r);
	cr_assert(eq(long, secrets_of(t.team), 0), "a rejected body created a secret");
	post_raw(&r, "application/json; charset=utf-8", big, MIB);
	cr_assert(eq(long, r.status, 201), "exactly 1 MiB is fine: %s", r.body);
	h_resp_free(&r);
	free(big);
}
