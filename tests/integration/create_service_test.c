/* POST /api/v1/containers over HTTP through lighttpd and the real create-service program. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIB (1024 * 1024)

static struct h_tenant t;

static void setup(void)
{
	h_tenant_new(&t);
}

TestSuite(create_service, .init = setup);

static long services_of(const char *team)
{
	return h_db_count("SELECT count(*) FROM container_services WHERE team_id = ?", team);
}

Test(create_service, member_creates_service_201_with_location_and_audit_row)
{
	struct h_resp r;
	char loc[256], want[256];
	const cJSON *id;

	h_create(&r, t.member_tok, t.team,
		 "{\"service_slug\": \"vllm-1\", \"docker_image\": \"vllm/vllm-openai:latest\","
		 " \"exposed_port\": 8000, \"gpu_count\": 1, \"required_labels\": [\"gpu\"],"
		 " \"env_config\": [{\"env_name\": \"HF_HOME\", \"env_value\": \"/models\"}]}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	id = cJSON_GetObjectItem(r.json, "id");
	cr_assert(cJSON_IsString(id) && strlen(id->valuestring) == 36, "body: %s", r.body);
	cr_assert(h_header(&r, "Location", loc, sizeof(loc)), "no Location header");
	snprintf(want, sizeof(want), "/api/v1/containers/%s", id->valuestring);
	cr_assert(eq(str, loc, want));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM container_services WHERE id = ? AND "
				      "service_status = 'created' AND exposed_port = 8000 AND "
				      "display_name = 'vllm-1'", id->valuestring), 1));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM audit_log WHERE resource_id = ? AND "
				      "action = 'service.create' AND actor_kind = 'user'",
				      id->valuestring), 1));
	h_resp_free(&r);
}

Test(create_service, owner_and_admin_may_create)
{
	struct h_resp r;

	h_create(&r, t.owner_tok, t.team, "{\"service_slug\": \"by-owner\", \"docker_image\": \"a\"}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
	h_create(&r, t.admin_tok, t.team, "{\"service_slug\": \"by-admin\", \"docker_image\": \"a\"}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
}

Test(create_service, viewer_gets_403_and_nothing_is_created)
{
	struct h_resp r;

	h_create(&r, t.viewer_tok, t.team, "{\"service_slug\": \"nope\", \"docker_image\": \"a\"}");
	h_assert_error(&r, 403, "forbidden", NULL);
	cr_assert(eq(long, services_of(t.team), 0));
	h_resp_free(&r);
}

Test(create_service, duplicate_slug_in_same_team_is_409)
{
	struct h_resp r;

	h_create(&r, t.member_tok, t.team, "{\"service_slug\": \"dup\", \"docker_image\": \"a\"}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
	h_create(&r, t.admin_tok, t.team, "{\"service_slug\": \"dup\", \"docker_image\": \"b\"}");
	h_assert_error(&r, 409, "conflict", "service_slug");
	cr_assert(eq(long, services_of(t.team), 1));
	h_resp_free(&r);
}

Test(create_service, same_slug_in_another_team_is_fine)
{
	struct h_tenant other;
	struct h_resp r;

	h_tenant_new(&other);
	h_create(&r, t.member_tok, t.team, "{\"service_slug\": \"shared\", \"docker_image\": \"a\"}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
	h_create(&r, other.member_tok, other.team,
		 "{\"service_slug\": \"shared\", \"docker_image\": \"a\"}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
}

Test(create_service, jwt_for_a_team_the_user_is_not_in_is_403)
{
	struct h_tenant other;
	struct h_resp r;

	h_tenant_new(&other);
	h_create(&r, t.owner_tok, other.team, "{\"service_slug\": \"intrude\", \"docker_image\": \"a\"}");
	h_assert_error(&r, 403, "forbidden", "X-Team-ID");
	cr_assert(eq(long, services_of(other.team), 0));
	h_resp_free(&r);
}

Test(create_service, jwt_without_team_header_is_400)
{
	struct h_resp r;

	h_create(&r, t.member_tok, NULL, "{\"service_slug\": \"noteam\", \"docker_image\": \"a\"}");
	h_assert_error(&r, 400, "validation_failed", "X-Team-ID");
	h_resp_free(&r);
	h_create(&r, t.member_tok, "not-a-uuid", "{\"service_slug\": \"noteam\", \"docker_image\": \"a\"}");
	h_assert_error(&r, 400, "validation_failed", "X-Team-ID");
	h_resp_free(&r);
}

Test(create_service, integration_key_on_management_is_403)
{
	struct h_resp r;

	h_create(&r, t.sk, NULL, "{\"service_slug\": \"by-sk\", \"docker_image\": \"a\"}");
	h_assert_error(&r, 403, "forbidden", "Authorization");
	cr_assert(eq(long, services_of(t.team), 0));
	h_resp_free(&r);
}

Test(create_service, agent_key_is_rejected)
{
	struct h_resp r;

	h_create(&r, t.ak, t.team, "{\"service_slug\": \"by-ak\", \"docker_image\": \"a\"}");
	h_assert_error(&r, 403, "forbidden", "Authorization");
	cr_assert(eq(long, services_of(t.team), 0));
	h_resp_free(&r);
}

Test(create_service, device_key_of_member_creates_without_team_header)
{
	struct h_resp r;
	struct h_tenant other;

	h_tenant_new(&other);
	/* X-Team-ID is ignored for dk-: the key's own team is used, whatever is sent */
	h_create(&r, t.dk_member, other.team, "{\"service_slug\": \"by-dk\", \"docker_image\": \"a\"}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	cr_assert(eq(long, services_of(t.team), 1));
	cr_assert(eq(long, services_of(other.team), 0));
	h_resp_free(&r);
}

Test(create_service, device_key_of_viewer_is_403)
{
	struct h_resp r;

	h_create(&r, t.dk_viewer, NULL, "{\"service_slug\": \"by-dkv\", \"docker_image\": \"a\"}");
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
}

Test(create_service, missing_or_malformed_credentials_are_401)
{
	const char *body = "{\"service_slug\": \"anon\", \"docker_image\": \"a\"}";
	const char *const none[] = {"Content-Type: application/json", NULL};
	const char *const basic[] = {"Content-Type: application/json",
				     "Authorization: Basic YWRtaW46YWRtaW4=", NULL};
	struct h_resp r;
	char forged[H_KEY];

	h_request(&r, "POST", "/api/v1/containers", none, body, strlen(body));
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	h_request(&r, "POST", "/api/v1/containers", basic, body, strlen(body));
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	/* a well-formed key that was never issued */
	snprintf(forged, sizeof(forged), "%s", t.dk_member);
	forged[10] = forged[10] == 'a' ? 'b' : 'a';
	h_create(&r, forged, NULL, body);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
}

/* A token signed with the server's key but otherwise wrong (expired, other typ, tampered). */
static char *forge_jwt(const char *user_sub, long exp_offset, const char *typ, jwt_alg_t alg)
{
	char path[4096], hex[128] = "";
	unsigned char key[32];
	FILE *f;
	jwt_t *j;
	char *tok;

	snprintf(path, sizeof(path), "%s/secrets/jwt.key", getenv("BERTH_VAR"));
	f = fopen(path, "r");
	cr_assert(f != NULL);
	cr_assert(fgets(hex, sizeof(hex), f) != NULL);
	fclose(f);
	for (int i = 0; i < 32; i++)
		cr_assert(sscanf(hex + 2 * i, "%2hhx", &key[i]) == 1);
	cr_assert(jwt_new(&j) == 0);
	jwt_add_grant(j, "iss", "berth");
	jwt_add_grant(j, "sub", user_sub);
	jwt_add_grant(j, "typ", typ);
	jwt_add_grant_int(j, "nbf", time(NULL) - 7200);
	jwt_add_grant_int(j, "exp", time(NULL) + exp_offset);
	cr_assert(jwt_set_alg(j, alg, key, sizeof(key)) == 0);
	tok = jwt_encode_str(j);
	jwt_free(j);
	return tok;
}

static void owner_id(char *out, size_t n)
{
	h_db_text("SELECT id FROM users WHERE email_address = ?", t.owner_email, out, n);
	cr_assert(eq(int, (int)strlen(out), 36), "owner id: %s", out);
}

Test(create_service, expired_wrong_typ_or_other_alg_tokens_are_401)
{
	const char *body = "{\"service_slug\": \"tok\", \"docker_image\": \"a\"}";
	struct h_resp r;
	char uid[64];
	char *tok;

	owner_id(uid, sizeof(uid));
	tok = forge_jwt(uid, 3600, "access", JWT_ALG_HS256);
	h_create(&r, tok, t.team, body); /* the control: a good forged token passes */
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
	free(tok);

	tok = forge_jwt(uid, -3600, "access", JWT_ALG_HS256);
	h_create(&r, tok, t.team, body);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	free(tok);

	tok = forge_jwt(uid, 3600, "refresh", JWT_ALG_HS256);
	h_create(&r, tok, t.team, body);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	free(tok);

	tok = forge_jwt(uid, 3600, "access", JWT_ALG_HS512);
	h_create(&r, tok, t.team, body);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	free(tok);

	tok = forge_jwt(uid, 3600, "access", JWT_ALG_HS256);
	tok[strlen(tok) - 2] = tok[strlen(tok) - 2] == 'A' ? 'B' : 'A'; /* bad signature */
	h_create(&r, tok, t.team, body);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
	free(tok);
}

Test(create_service, revoked_and_expired_keys_are_401)
{
	const char *body = "{\"service_slug\": \"revoked\", \"docker_image\": \"a\"}";
	struct h_resp r;
	char prefix[16];

	h_create(&r, t.dk_member, NULL, body);
	cr_assert(eq(long, r.status, 201), "control: body %s", r.body);
	h_resp_free(&r);
	snprintf(prefix, sizeof(prefix), "%.12s", t.dk_member);
	h_db_exec("UPDATE credentials SET revoked_at = strftime('%s','now') WHERE key_prefix = ?", prefix);
	h_create(&r, t.dk_member, NULL, body);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);

	snprintf(prefix, sizeof(prefix), "%.12s", t.dk_viewer);
	h_db_exec("UPDATE credentials SET expires_at = strftime('%s','now') - 1 WHERE key_prefix = ?", prefix);
	h_create(&r, t.dk_viewer, NULL, body);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	h_resp_free(&r);
}

static void post_raw(struct h_resp *r, const char *ctype, const char *body, size_t len)
{
	char auth[H_TOKEN + 32], tid[64], ct[128];
	const char *headers[4] = {auth, tid, ct, NULL};

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.member_tok);
	snprintf(tid, sizeof(tid), "X-Team-ID: %s", t.team);
	snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
	h_request(r, "POST", "/api/v1/containers", headers, body, len);
}

Test(create_service, content_type_other_than_json_is_415)
{
	const char *body = "{\"service_slug\": \"ctype\", \"docker_image\": \"a\"}";
	struct h_resp r;

	post_raw(&r, "text/plain", body, strlen(body));
	h_assert_error(&r, 415, "unsupported_media_type", "Content-Type");
	h_resp_free(&r);
	post_raw(&r, "application/json; charset=utf-8", body, strlen(body));
	cr_assert(eq(long, r.status, 201), "charset parameter is fine: %s", r.body);
	h_resp_free(&r);
}

/* A valid body padded with spaces to exactly n bytes. */
static char *padded_body(size_t n)
{
	const char *core = "{\"service_slug\": \"big\", \"docker_image\": \"a\"}";
	char *b = malloc(n + 1);

	cr_assert(b && n > strlen(core));
	memset(b, ' ', n);
	memcpy(b, core, strlen(core));
	b[n] = '\0';
	return b;
}

Test(create_service, body_of_exactly_1_mib_is_accepted_one_byte_more_is_413)
{
	struct h_resp r;
	char *b = padded_body(MIB + 1);

	post_raw(&r, "application/json", b, MIB + 1);
	h_assert_error(&r, 413, "too_large", NULL);
	cr_assert(eq(long, services_of(t.team), 0));
	h_resp_free(&r);
	post_raw(&r, "application/json", b, MIB);
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	h_resp_free(&r);
	free(b);
}

Test(create_service, bad_json_and_bad_fields_are_400_naming_the_field)
{
	static const struct {
		const char *body;
		const char *field;
	} cases[] = {
		{"{\"service_slug\": \"x\"", NULL},
		{"[]", NULL},
		{"{\"service_slug\": \"ok-slug\", \"docker_image\": \"a\", \"exposd_port\": 1}", "exposd_port"},
		{"{\"service_slug\": \"ab\", \"docker_image\": \"a\"}", "service_slug"},
		{"{\"service_slug\": \"ok-slug\", \"docker_image\": \"a\", \"exposed_port\": 65536}", "exposed_port"},
		{"{\"service_slug\": \"ok-slug\", \"docker_image\": \"a\", \"exposed_port\": \"80\"}", "exposed_port"},
		{"{\"service_slug\": \"ok-slug\", \"docker_image\": \"a\", \"replica_count\": 1.5}", "replica_count"},
		{"{\"service_slug\": \"ok-slug\", \"service_type\": \"external\", \"external_url\": \"http://x.test\"}", "external_url"},
		{"{\"service_slug\": \"ok-slug\", \"docker_image\": \"a\", \"env_config\": [{\"env_name\": \"A\", \"env_value\": \"x\\u0000y\"}]}", "env_config[0].env_value"},
		{"{\"service_slug\": \"ok-slug\", \"docker_image\": \"a\\u00e9\\ud800\"}", NULL},
		{"{\"service_slug\": \"ok-slug\", \"docker_image\": \"a\", \"service_slug\": \"b-slug\"}", "service_slug"},
		{"{\"service_slug\": \"ok-slug\"}", "docker_image"},
	};
	struct h_resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		post_raw(&r, "application/json", cases[i].body, strlen(cases[i].body));
		h_assert_error(&r, 400, "validation_failed", cases[i].field);
		h_resp_free(&r);
	}
	cr_assert(eq(long, services_of(t.team), 0), "a rejected body created a service");
}

Test(create_service, invalid_utf8_bytes_are_400)
{
	const char body[] = "{\"service_slug\": \"utf\", \"docker_image\": \"a\", \"display_name\": \"\xc3\x28\"}";
	struct h_resp r;

	post_raw(&r, "application/json", body, strlen(body));
	h_assert_error(&r, 400, "validation_failed", "display_name");
	h_resp_free(&r);
}

Test(create_service, other_methods_are_405_with_allow)
{
	const char *const headers[] = {"Authorization: Bearer x", NULL};
	struct h_resp r;
	char allow[64];

	h_request(&r, "PATCH", "/api/v1/containers", headers, NULL, 0);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", allow, sizeof(allow)));
	cr_assert(eq(str, allow, "GET, POST"));
	h_resp_free(&r);
}

Test(create_service, request_id_is_echoed_when_sane_and_replaced_when_not)
{
	const char *body = "{\"service_slug\": \"rid\", \"docker_image\": \"a\"}";
	char auth[H_TOKEN + 32], tid[64], got[256];
	const char *sane[] = {auth, tid, "Content-Type: application/json", "X-Request-ID: trace-42.a:b", NULL};
	const char *odd[] = {auth, tid, "Content-Type: application/json", "X-Request-ID: <script>", NULL};
	struct h_resp r;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.member_tok);
	snprintf(tid, sizeof(tid), "X-Team-ID: %s", t.team);
	h_request(&r, "POST", "/api/v1/containers", sane, body, strlen(body));
	cr_assert(h_header(&r, "X-Request-ID", got, sizeof(got)));
	cr_assert(eq(str, got, "trace-42.a:b"));
	h_resp_free(&r);
	h_request(&r, "POST", "/api/v1/containers", odd, body, strlen(body));
	cr_assert(h_header(&r, "X-Request-ID", got, sizeof(got)));
	cr_assert(eq(int, (int)strlen(got), 36), "expected a fresh UUID, got %s", got);
	h_assert_error(&r, 409, "conflict", "service_slug");
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "request_id")->valuestring, got));
	h_resp_free(&r);
}

Test(create_service, external_service_with_https_url_is_created)
{
	struct h_resp r;

	h_create(&r, t.member_tok, t.team,
		 "{\"service_slug\": \"openai\", \"service_type\": \"external\","
		 " \"external_url\": \"https://api.example.test/v1\"}");
	cr_assert(eq(long, r.status, 201), "body: %s", r.body);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM container_services WHERE team_id = ? AND "
				      "service_type = 'external' AND docker_image IS NULL", t.team), 1));
	h_resp_free(&r);
}

Test(create_service, vault_secret_of_another_team_is_400)
{
	struct h_resp r;
	char body[512];

	snprintf(body, sizeof(body),
		 "{\"service_slug\": \"ext\", \"service_type\": \"external\","
		 " \"external_url\": \"https://api.example.test\","
		 " \"external_auth_credential_id\": \"019abc12-3456-7890-abcd-ef1234567890\"}");
	h_create(&r, t.member_tok, t.team, body);
	h_assert_error(&r, 400, "validation_failed", "external_auth_credential_id");
	h_resp_free(&r);
}
