/* svc_test.c: the container service definition (lib/svc.c): every field rule of API.md
 * section 3 in svc_parse_create, then svc_insert against a real temporary SQLite file. */
#include "berth.h"
#include "svc.h"
#include "acct.h"
#include "crypto.h"
#include "json.h"
#include "store.h"
#include "uuid.h"
#include "berth_limits.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---- */

/* A malloc'd string: prefix, then fill up to n bytes in all. */
static char *sized(const char *prefix, char fill, size_t n)
{
	size_t pl = strlen(prefix);
	char *s;

	cr_assert(n >= pl);
	s = malloc(n + 1);
	cr_assert(not(eq(ptr, s, NULL)));
	memcpy(s, prefix, pl);
	memset(s + pl, fill, n - pl);
	s[n] = '\0';
	return s;
}

/* The smallest valid bodies of each service_type. */
static cJSON *deployed_body(void)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "service_slug", "my-svc");
	cJSON_AddStringToObject(b, "docker_image", "nginx:latest");
	return b;
}

static cJSON *external_body(void)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "service_slug", "my-api");
	cJSON_AddStringToObject(b, "service_type", "external");
	cJSON_AddStringToObject(b, "external_url", "https://api.example.com/v1");
	return b;
}

static cJSON *body_from(const char *text)
{
	cJSON *b = cJSON_Parse(text);

	cr_assert(not(eq(ptr, b, NULL)), "test body does not parse: %s", text);
	return b;
}

static void set_string(cJSON *b, const char *name, const char *v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(b, name);
	cJSON_AddStringToObject(b, name, v);
}

static void set_sized(cJSON *b, const char *name, const char *prefix, char fill, size_t n)
{
	char *v = sized(prefix, fill, n);

	set_string(b, name, v);
	free(v);
}

static void set_number(cJSON *b, const char *name, double v)
{
	cJSON_DeleteItemFromObjectCaseSensitive(b, name);
	cJSON_AddNumberToObject(b, name, v);
}

static void set_item(cJSON *b, const char *name, cJSON *item)
{
	cJSON_DeleteItemFromObjectCaseSensitive(b, name);
	cJSON_AddItemToObject(b, name, item);
}

/* Parses b, frees it and the result; a failure must be 400 naming want_field. */
static void expect_rejected(cJSON *b, const char *want_field)
{
	struct svc v;
	struct berr e = {0};
	char *printed = json_print(b), text[201];
	int rc = svc_parse_create(b, &v, &e);

	snprintf(text, sizeof(text), "%s", printed); /* enough to recognise the body */
	free(printed);
	cJSON_Delete(b);
	if (rc == B_OK)
		svc_free(&v);
	cr_assert(eq(int, rc, B_EINVAL), "expected a 400 naming %s for %s", want_field, text);
	cr_assert(eq(int, e.status, 400));
	cr_assert(eq(str, e.field, (char *)want_field), "body %s: %s", text, e.message);
	cr_assert(eq(str, (char *)e.code, "validation_failed"));
}

static void expect_accepted(cJSON *b)
{
	struct svc v;
	struct berr e = {0};
	int rc = svc_parse_create(b, &v, &e);

	cJSON_Delete(b);
	if (rc == B_OK)
		svc_free(&v);
	cr_assert(eq(int, rc, B_OK), "rejected: %s (field %s)", e.message, e.field);
}

/* ---- defaults ---- */

Test(svc, minimal_deployed_body_gets_the_defaults)
{
	cJSON *b = deployed_body();
	struct svc v;
	struct berr e = {0};

	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "rejected: %s", e.message);
	cr_assert(eq(int, (int)v.service_type, (int)SVC_DEPLOYED));
	cr_assert(eq(str, (char *)v.service_slug, "my-svc"));
	cr_assert(eq(str, (char *)v.display_name, "my-svc"), "display_name defaults to the slug");
	cr_assert(eq(str, (char *)v.docker_image, "nginx:latest"));
	cr_assert(eq(ptr, (void *)v.external_url, NULL));
	cr_assert(eq(ptr, (void *)v.external_auth_credential_id, NULL));
	cr_assert(eq(long, v.exposed_port, EXPOSED_PORT_DEFAULT));
	cr_assert(eq(str, (char *)v.health_path, HEALTH_PATH_DEFAULT));
	cr_assert(eq(long, v.replica_count, REPLICA_COUNT_DEFAULT));
	cr_assert(eq(long, v.gpu_count, 0));
	cr_assert(eq(str, v.env_config_json, "[]"));
	cr_assert(eq(str, v.volume_config_json, "[]"));
	cr_assert(eq(str, v.required_labels_json, "[]"));
	cr_assert(eq(str, (char *)v.service_desc, ""));
	cr_assert(eq(str, (char *)v.usage_prompt, ""));
	cr_assert(eq(str, (char *)v.openapi_url, ""));
	svc_free(&v);
	cJSON_Delete(b);
}

Test(svc, null_numbers_get_the_defaults)
{
	cJSON *b = deployed_body();
	struct svc v;
	struct berr e = {0};

	cJSON_AddNullToObject(b, "exposed_port");
	cJSON_AddNullToObject(b, "replica_count");
	cJSON_AddNullToObject(b, "gpu_count");
	cJSON_AddNullToObject(b, "env_config");
	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "rejected: %s", e.message);
	cr_assert(eq(long, v.exposed_port, EXPOSED_PORT_DEFAULT));
	cr_assert(eq(long, v.replica_count, REPLICA_COUNT_DEFAULT));
	cr_assert(eq(long, v.gpu_count, 0));
	cr_assert(eq(str, v.env_config_json, "[]"));
	svc_free(&v);
	cJSON_Delete(b);
}

Test(svc, given_values_are_kept)
{
	cJSON *b = body_from("{\"service_slug\":\"llm\",\"display_name\":\"LLM\","
			     "\"service_desc\":\"d\",\"service_type\":\"deployed\","
			     "\"docker_image\":\"vllm/vllm-openai:latest\",\"exposed_port\":8000,"
			     "\"health_path\":\"/v1/models\",\"gpu_count\":-1,\"replica_count\":2,"
			     "\"usage_prompt\":\"u\",\"openapi_url\":\"/openapi.json\","
			     "\"env_config\":[{\"env_name\":\"HF_TOKEN\",\"env_value\":\"x\"}],"
			     "\"volume_config\":[{\"host_path\":\"/models\",\"container_path\":\"/m\"}],"
			     "\"required_labels\":[\"gpu\",\"h100\"]}");
	struct svc v;
	struct berr e = {0};

	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "rejected: %s", e.message);
	cr_assert(eq(str, (char *)v.display_name, "LLM"));
	cr_assert(eq(str, (char *)v.service_desc, "d"));
	cr_assert(eq(long, v.exposed_port, 8000));
	cr_assert(eq(str, (char *)v.health_path, "/v1/models"));
	cr_assert(eq(long, v.gpu_count, -1));
	cr_assert(eq(long, v.replica_count, 2));
	cr_assert(eq(str, (char *)v.usage_prompt, "u"));
	cr_assert(eq(str, (char *)v.openapi_url, "/openapi.json"));
	cr_assert(eq(str, v.env_config_json, "[{\"env_name\":\"HF_TOKEN\",\"env_value\":\"x\"}]"));
	cr_assert(eq(str, v.volume_config_json, "[{\"host_path\":\"/models\",\"container_path\":\"/m\"}]"));
	cr_assert(eq(str, v.required_labels_json, "[\"gpu\",\"h100\"]"));
	svc_free(&v);
	cJSON_Delete(b);
}

Test(svc, missing_service_slug_is_rejected)
{
	cJSON *b = deployed_body();

	cJSON_DeleteItemFromObjectCaseSensitive(b, "service_slug");
	expect_rejected(b, "service_slug");
}

Test(svc, missing_docker_image_on_a_deployed_service_is_rejected)
{
	cJSON *b = deployed_body();

	cJSON_DeleteItemFromObjectCaseSensitive(b, "docker_image");
	expect_rejected(b, "docker_image");
}

/* ---- service_slug ---- */

Test(svc, slug_of_min_minus_one_chars_is_rejected)
{
	cJSON *b = deployed_body();

	set_sized(b, "service_slug", "", 'a', SERVICE_SLUG_MIN - 1);
	expect_rejected(b, "service_slug");
}

Test(svc, slug_of_min_chars_is_accepted)
{
	cJSON *b = deployed_body();

	set_sized(b, "service_slug", "", 'a', SERVICE_SLUG_MIN);
	expect_accepted(b);
}

Test(svc, slug_of_max_chars_is_accepted)
{
	cJSON *b = deployed_body();

	set_sized(b, "service_slug", "", 'a', SERVICE_SLUG_MAX);
	expect_accepted(b);
}

Test(svc, slug_of_max_plus_one_chars_is_rejected)
{
	cJSON *b = deployed_body();

	set_sized(b, "service_slug", "", 'a', SERVICE_SLUG_MAX + 1);
	expect_rejected(b, "service_slug");
}

Test(svc, slug_breaking_the_pattern_is_rejected)
{
	static const char *const bad[] = {"-abc", "abc-", "My-svc", "my_svc", "my svc", ""};

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++) {
		cJSON *b = deployed_body();

		set_string(b, "service_slug", bad[i]);
		expect_rejected(b, "service_slug");
	}
}

/* ---- numbers ---- */

static void number_case(const char *name, long value, bool ok)
{
	cJSON *b = deployed_body();

	set_number(b, name, (double)value);
	if (ok)
		expect_accepted(b);
	else
		expect_rejected(b, name);
}

Test(svc, exposed_port_below_min_is_rejected)
{
	number_case("exposed_port", EXPOSED_PORT_MIN - 1, false);
}

Test(svc, exposed_port_at_min_is_accepted)
{
	number_case("exposed_port", EXPOSED_PORT_MIN, true);
}

Test(svc, exposed_port_at_max_is_accepted)
{
	number_case("exposed_port", EXPOSED_PORT_MAX, true);
}

Test(svc, exposed_port_above_max_is_rejected)
{
	number_case("exposed_port", EXPOSED_PORT_MAX + 1, false);
}

Test(svc, replica_count_below_min_is_rejected)
{
	number_case("replica_count", REPLICA_COUNT_MIN - 1, false);
}

Test(svc, replica_count_at_min_is_accepted)
{
	number_case("replica_count", REPLICA_COUNT_MIN, true);
}

Test(svc, replica_count_at_max_is_accepted)
{
	number_case("replica_count", REPLICA_COUNT_MAX, true);
}

Test(svc, replica_count_above_max_is_rejected)
{
	number_case("replica_count", REPLICA_COUNT_MAX + 1, false);
}

Test(svc, gpu_count_below_min_is_rejected)
{
	number_case("gpu_count", GPU_COUNT_MIN - 1, false);
}

Test(svc, gpu_count_all_gpus_is_accepted)
{
	number_case("gpu_count", GPU_COUNT_MIN, true);
}

Test(svc, gpu_count_zero_is_accepted)
{
	number_case("gpu_count", 0, true);
}

Test(svc, gpu_count_at_max_is_accepted)
{
	number_case("gpu_count", GPU_COUNT_MAX, true);
}

Test(svc, gpu_count_above_max_is_rejected)
{
	number_case("gpu_count", GPU_COUNT_MAX + 1, false);
}

Test(svc, fractional_numbers_are_rejected_naming_the_field)
{
	static const char *const names[] = {"exposed_port", "replica_count", "gpu_count"};

	for (size_t i = 0; i < B_ARRAY_LEN(names); i++) {
		cJSON *b = deployed_body();

		set_number(b, names[i], 1.5);
		expect_rejected(b, names[i]);
	}
}

Test(svc, huge_numbers_are_rejected_naming_the_field)
{
	static const char *const names[] = {"exposed_port", "replica_count", "gpu_count"};

	for (size_t i = 0; i < B_ARRAY_LEN(names); i++) {
		cJSON *b = deployed_body();

		set_number(b, names[i], 1e300);
		expect_rejected(b, names[i]);
	}
}

/* ---- service_type and the fields of each type ---- */

Test(svc, minimal_external_body_is_accepted)
{
	cJSON *b = external_body();
	struct svc v;
	struct berr e = {0};

	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "rejected: %s", e.message);
	cr_assert(eq(int, (int)v.service_type, (int)SVC_EXTERNAL));
	cr_assert(eq(str, (char *)v.external_url, "https://api.example.com/v1"));
	cr_assert(eq(ptr, (void *)v.docker_image, NULL));
	svc_free(&v);
	cJSON_Delete(b);
}

Test(svc, explicit_deployed_type_is_accepted)
{
	cJSON *b = deployed_body();

	set_string(b, "service_type", "deployed");
	expect_accepted(b);
}

Test(svc, unknown_service_type_is_rejected)
{
	cJSON *b = deployed_body();

	set_string(b, "service_type", "weird");
	expect_rejected(b, "service_type");
}

Test(svc, service_type_is_case_sensitive)
{
	cJSON *b = external_body();

	set_string(b, "service_type", "External");
	expect_rejected(b, "service_type");
}

Test(svc, external_without_external_url_is_rejected)
{
	cJSON *b = external_body();

	cJSON_DeleteItemFromObjectCaseSensitive(b, "external_url");
	expect_rejected(b, "external_url");
}

Test(svc, external_url_over_http_is_rejected)
{
	cJSON *b = external_body();

	set_string(b, "external_url", "http://api.example.com/v1");
	expect_rejected(b, "external_url");
}

Test(svc, external_url_with_userinfo_is_rejected)
{
	cJSON *b = external_body();

	set_string(b, "external_url", "https://user:pw@api.example.com/v1");
	expect_rejected(b, "external_url");
}

Test(svc, external_url_of_max_chars_is_accepted)
{
	cJSON *b = external_body();

	set_sized(b, "external_url", "https://api.example.com/", 'a', EXTERNAL_URL_MAX);
	expect_accepted(b);
}

Test(svc, external_url_of_max_plus_one_chars_is_rejected)
{
	cJSON *b = external_body();

	set_sized(b, "external_url", "https://api.example.com/", 'a', EXTERNAL_URL_MAX + 1);
	expect_rejected(b, "external_url");
}

Test(svc, docker_image_on_an_external_service_is_rejected)
{
	cJSON *b = external_body();

	set_string(b, "docker_image", "nginx:latest");
	expect_rejected(b, "docker_image");
}

Test(svc, external_url_on_a_deployed_service_is_rejected)
{
	cJSON *b = deployed_body();

	set_string(b, "external_url", "https://api.example.com/v1");
	expect_rejected(b, "external_url");
}

Test(svc, credential_id_on_a_deployed_service_is_rejected)
{
	cJSON *b = deployed_body();
	char id[UUID_STR_LEN + 1] = "01890a5d-ac96-774b-bcce-b302099a8057";

	set_string(b, "external_auth_credential_id", id);
	expect_rejected(b, "external_auth_credential_id");
}

Test(svc, credential_id_that_is_not_a_uuid_is_rejected)
{
	cJSON *b = external_body();

	set_string(b, "external_auth_credential_id", "not-a-uuid");
	expect_rejected(b, "external_auth_credential_id");
}

Test(svc, null_fields_of_the_other_type_are_accepted)
{
	cJSON *b = deployed_body();

	cJSON_AddNullToObject(b, "external_url");
	cJSON_AddNullToObject(b, "external_auth_credential_id");
	expect_accepted(b);
}

/* ---- string lengths ---- */

static void length_case(cJSON *b, const char *name, const char *prefix, size_t n, bool ok)
{
	set_sized(b, name, prefix, 'a', n);
	if (ok)
		expect_accepted(b);
	else
		expect_rejected(b, name);
}

Test(svc, display_name_of_max_chars_is_accepted)
{
	length_case(deployed_body(), "display_name", "", DISPLAY_NAME_MAX, true);
}

Test(svc, display_name_of_max_plus_one_chars_is_rejected)
{
	length_case(deployed_body(), "display_name", "", DISPLAY_NAME_MAX + 1, false);
}

Test(svc, display_name_counts_code_points)
{
	cJSON *b = deployed_body();
	char *v = malloc(2 * DISPLAY_NAME_MAX + 1);

	cr_assert(not(eq(ptr, v, NULL)));
	for (size_t i = 0; i < DISPLAY_NAME_MAX; i++)
		memcpy(v + 2 * i, "\xc3\xa9", 2);
	v[2 * DISPLAY_NAME_MAX] = '\0';
	set_string(b, "display_name", v);
	free(v);
	expect_accepted(b);
}

Test(svc, service_desc_of_max_chars_is_accepted)
{
	length_case(deployed_body(), "service_desc", "", SERVICE_DESC_MAX, true);
}

Test(svc, service_desc_of_max_plus_one_chars_is_rejected)
{
	length_case(deployed_body(), "service_desc", "", SERVICE_DESC_MAX + 1, false);
}

Test(svc, usage_prompt_of_max_chars_is_accepted)
{
	length_case(deployed_body(), "usage_prompt", "", USAGE_PROMPT_MAX, true);
}

Test(svc, usage_prompt_of_max_plus_one_chars_is_rejected)
{
	length_case(deployed_body(), "usage_prompt", "", USAGE_PROMPT_MAX + 1, false);
}

Test(svc, health_path_of_max_chars_is_accepted)
{
	length_case(deployed_body(), "health_path", "/", HEALTH_PATH_MAX, true);
}

Test(svc, health_path_of_max_plus_one_chars_is_rejected)
{
	length_case(deployed_body(), "health_path", "/", HEALTH_PATH_MAX + 1, false);
}

Test(svc, health_path_without_leading_slash_is_rejected)
{
	cJSON *b = deployed_body();

	set_string(b, "health_path", "health");
	expect_rejected(b, "health_path");
}

Test(svc, empty_health_path_is_rejected)
{
	cJSON *b = deployed_body();

	set_string(b, "health_path", "");
	expect_rejected(b, "health_path");
}

Test(svc, health_path_with_space_is_rejected)
{
	cJSON *b = deployed_body();

	set_string(b, "health_path", "/he alth");
	expect_rejected(b, "health_path");
}

Test(svc, openapi_url_of_max_chars_is_accepted)
{
	length_case(deployed_body(), "openapi_url", "/", OPENAPI_URL_MAX, true);
}

Test(svc, openapi_url_of_max_plus_one_chars_is_rejected)
{
	length_case(deployed_body(), "openapi_url", "/", OPENAPI_URL_MAX + 1, false);
}

Test(svc, openapi_url_that_is_not_a_path_is_rejected)
{
	cJSON *b = deployed_body();

	set_string(b, "openapi_url", "https://example.com/openapi.json");
	expect_rejected(b, "openapi_url");
}

Test(svc, docker_image_of_max_chars_is_accepted)
{
	length_case(deployed_body(), "docker_image", "repo/", DOCKER_IMAGE_MAX, true);
}

Test(svc, docker_image_of_max_plus_one_chars_is_rejected)
{
	length_case(deployed_body(), "docker_image", "repo/", DOCKER_IMAGE_MAX + 1, false);
}

Test(svc, docker_image_with_whitespace_is_rejected)
{
	cJSON *b = deployed_body();

	set_string(b, "docker_image", "nginx latest");
	expect_rejected(b, "docker_image");
}

Test(svc, docker_image_with_leading_hyphen_is_rejected)
{
	cJSON *b = deployed_body();

	set_string(b, "docker_image", "--privileged");
	expect_rejected(b, "docker_image");
}

Test(svc, empty_docker_image_is_rejected)
{
	cJSON *b = deployed_body();

	set_string(b, "docker_image", "");
	expect_rejected(b, "docker_image");
}

Test(svc, docker_image_by_digest_is_accepted)
{
	cJSON *b = deployed_body();

	set_string(b, "docker_image",
		   "repo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	expect_accepted(b);
}

/* ---- env_config ---- */

static cJSON *env_entries(size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		char name[32];
		cJSON *o = cJSON_CreateObject();

		snprintf(name, sizeof(name), "VAR_%zu", i);
		cJSON_AddStringToObject(o, "env_name", name);
		cJSON_AddStringToObject(o, "env_value", "v");
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

Test(svc, env_config_of_max_entries_is_accepted)
{
	cJSON *b = deployed_body();

	set_item(b, "env_config", env_entries(ENV_CONFIG_MAX));
	expect_accepted(b);
}

Test(svc, env_config_of_max_plus_one_entries_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "env_config", env_entries(ENV_CONFIG_MAX + 1));
	expect_rejected(b, "env_config");
}

Test(svc, env_config_entry_that_is_not_an_object_is_rejected)
{
	cJSON *b = deployed_body();
	struct svc v;
	struct berr e = {0};
	int rc;

	set_item(b, "env_config", cJSON_Parse("[\"HF_TOKEN=x\"]"));
	rc = svc_parse_create(b, &v, &e);
	cJSON_Delete(b);
	if (rc == B_OK)
		svc_free(&v);
	cr_assert(eq(int, rc, B_EINVAL));
	cr_assert(eq(int, e.status, 400));
	cr_assert(eq(int, strncmp(e.field, "env_config[0]", 13), 0),
		  "the field should name env_config[0], got %s", e.field);
}

Test(svc, env_config_entry_with_unknown_key_is_rejected_naming_it)
{
	cJSON *b = deployed_body();

	set_item(b, "env_config", cJSON_Parse("[{\"env_name\":\"A\",\"env_value\":\"1\",\"foo\":1}]"));
	expect_rejected(b, "env_config[0].foo");
}

Test(svc, env_config_unknown_key_in_a_later_entry_names_its_index)
{
	cJSON *b = deployed_body();

	set_item(b, "env_config", cJSON_Parse("[{\"env_name\":\"A\",\"env_value\":\"1\"},"
					       "{\"env_name\":\"B\",\"value\":\"1\"}]"));
	expect_rejected(b, "env_config[1].value");
}

Test(svc, env_config_bad_env_name_is_rejected)
{
	static const char *const bad[] = {"1A", "A-B", "A B", ""};

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++) {
		cJSON *b = deployed_body();
		cJSON *a = cJSON_CreateArray(), *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "env_name", bad[i]);
		cJSON_AddStringToObject(o, "env_value", "1");
		cJSON_AddItemToArray(a, o);
		set_item(b, "env_config", a);
		expect_rejected(b, "env_config[0].env_name");
	}
}

Test(svc, env_config_env_name_of_max_plus_one_chars_is_rejected)
{
	cJSON *b = deployed_body();
	cJSON *a = cJSON_CreateArray(), *o = cJSON_CreateObject();
	char *name = sized("", 'A', ENV_NAME_MAX + 1);

	cJSON_AddStringToObject(o, "env_name", name);
	cJSON_AddStringToObject(o, "env_value", "1");
	cJSON_AddItemToArray(a, o);
	set_item(b, "env_config", a);
	free(name);
	expect_rejected(b, "env_config[0].env_name");
}

Test(svc, env_config_duplicate_env_name_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "env_config", cJSON_Parse("[{\"env_name\":\"A\",\"env_value\":\"1\"},"
					       "{\"env_name\":\"B\",\"env_value\":\"2\"},"
					       "{\"env_name\":\"A\",\"env_value\":\"3\"}]"));
	expect_rejected(b, "env_config[2].env_name");
}

Test(svc, env_config_missing_env_value_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "env_config", cJSON_Parse("[{\"env_name\":\"A\"}]"));
	expect_rejected(b, "env_config[0].env_value");
}

Test(svc, env_config_empty_env_value_is_accepted)
{
	cJSON *b = deployed_body();

	set_item(b, "env_config", cJSON_Parse("[{\"env_name\":\"A\",\"env_value\":\"\"}]"));
	expect_accepted(b);
}

Test(svc, env_config_env_value_of_max_plus_one_chars_is_rejected)
{
	cJSON *b = deployed_body();
	cJSON *a = cJSON_CreateArray(), *o = cJSON_CreateObject();
	char *val = sized("", 'x', ENV_VALUE_MAX + 1);

	cJSON_AddStringToObject(o, "env_name", "A");
	cJSON_AddStringToObject(o, "env_value", val);
	cJSON_AddItemToArray(a, o);
	set_item(b, "env_config", a);
	free(val);
	expect_rejected(b, "env_config[0].env_value");
}

Test(svc, env_config_non_string_env_value_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "env_config", cJSON_Parse("[{\"env_name\":\"A\",\"env_value\":1}]"));
	expect_rejected(b, "env_config[0].env_value");
}

/* ---- volume_config ---- */

static cJSON *volume_entries(size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		char path[32];
		cJSON *o = cJSON_CreateObject();

		snprintf(path, sizeof(path), "/data/%zu", i);
		cJSON_AddStringToObject(o, "host_path", path);
		cJSON_AddStringToObject(o, "container_path", path);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

Test(svc, volume_config_of_max_entries_is_accepted)
{
	cJSON *b = deployed_body();

	set_item(b, "volume_config", volume_entries(VOLUME_CONFIG_MAX));
	expect_accepted(b);
}

Test(svc, volume_config_of_max_plus_one_entries_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "volume_config", volume_entries(VOLUME_CONFIG_MAX + 1));
	expect_rejected(b, "volume_config");
}

Test(svc, volume_config_relative_host_path_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "volume_config",
		 cJSON_Parse("[{\"host_path\":\"data\",\"container_path\":\"/data\"}]"));
	expect_rejected(b, "volume_config[0].host_path");
}

Test(svc, volume_config_relative_container_path_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "volume_config",
		 cJSON_Parse("[{\"host_path\":\"/data\",\"container_path\":\"data\"}]"));
	expect_rejected(b, "volume_config[0].container_path");
}

Test(svc, volume_config_dotdot_segment_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "volume_config",
		 cJSON_Parse("[{\"host_path\":\"/data/../etc\",\"container_path\":\"/data\"}]"));
	expect_rejected(b, "volume_config[0].host_path");
}

Test(svc, volume_config_dotdot_in_container_path_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "volume_config",
		 cJSON_Parse("[{\"host_path\":\"/data\",\"container_path\":\"/..\"}]"));
	expect_rejected(b, "volume_config[0].container_path");
}

Test(svc, volume_config_empty_container_path_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "volume_config",
		 cJSON_Parse("[{\"host_path\":\"/data\",\"container_path\":\"\"}]"));
	expect_rejected(b, "volume_config[0].container_path");
}

Test(svc, volume_config_entry_with_unknown_key_is_rejected_naming_it)
{
	cJSON *b = deployed_body();

	set_item(b, "volume_config", cJSON_Parse("[{\"host_path\":\"/a\",\"container_path\":\"/b\","
						  "\"read_only\":true}]"));
	expect_rejected(b, "volume_config[0].read_only");
}

/* ---- required_labels ---- */

static cJSON *label_entries(size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		char label[32];

		snprintf(label, sizeof(label), "label-%zu", i);
		cJSON_AddItemToArray(a, cJSON_CreateString(label));
	}
	return a;
}

Test(svc, required_labels_of_max_entries_is_accepted)
{
	cJSON *b = deployed_body();

	set_item(b, "required_labels", label_entries(REQUIRED_LABELS_MAX));
	expect_accepted(b);
}

Test(svc, required_labels_of_max_plus_one_entries_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "required_labels", label_entries(REQUIRED_LABELS_MAX + 1));
	expect_rejected(b, "required_labels");
}

Test(svc, required_label_breaking_the_pattern_is_rejected)
{
	static const char *const bad[] = {"GPU", "-gpu", ".gpu", "gpu h100", ""};

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++) {
		cJSON *b = deployed_body();
		cJSON *a = cJSON_CreateArray();

		cJSON_AddItemToArray(a, cJSON_CreateString("ok"));
		cJSON_AddItemToArray(a, cJSON_CreateString(bad[i]));
		set_item(b, "required_labels", a);
		expect_rejected(b, "required_labels[1]");
	}
}

Test(svc, required_label_of_max_plus_one_chars_is_rejected)
{
	cJSON *b = deployed_body();
	cJSON *a = cJSON_CreateArray();
	char *label = sized("", 'a', LABEL_MAX + 1);

	cJSON_AddItemToArray(a, cJSON_CreateString(label));
	free(label);
	set_item(b, "required_labels", a);
	expect_rejected(b, "required_labels[0]");
}

Test(svc, duplicate_required_label_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "required_labels", cJSON_Parse("[\"gpu\",\"h100\",\"gpu\"]"));
	expect_rejected(b, "required_labels[2]");
}

Test(svc, non_string_required_label_is_rejected)
{
	cJSON *b = deployed_body();

	set_item(b, "required_labels", cJSON_Parse("[\"gpu\",1]"));
	expect_rejected(b, "required_labels[1]");
}

/* ---- wrong JSON types ---- */

static const char *const string_fields[] = {
	"service_slug", "display_name", "service_desc", "service_type", "docker_image",
	"health_path", "usage_prompt", "openapi_url",
};
static const char *const int_fields[] = {"exposed_port", "gpu_count", "replica_count"};
static const char *const array_fields[] = {"env_config", "volume_config", "required_labels"};

Test(svc, string_field_given_a_number_is_rejected_naming_it)
{
	for (size_t i = 0; i < B_ARRAY_LEN(string_fields); i++) {
		cJSON *b = deployed_body();

		set_number(b, string_fields[i], 1);
		expect_rejected(b, string_fields[i]);
	}
}

Test(svc, string_field_given_a_bool_array_or_object_is_rejected_naming_it)
{
	for (size_t i = 0; i < B_ARRAY_LEN(string_fields); i++) {
		cJSON *b = deployed_body();

		set_item(b, string_fields[i], cJSON_CreateTrue());
		expect_rejected(b, string_fields[i]);
		b = deployed_body();
		set_item(b, string_fields[i], cJSON_Parse("[\"x\"]"));
		expect_rejected(b, string_fields[i]);
		b = deployed_body();
		set_item(b, string_fields[i], cJSON_CreateObject());
		expect_rejected(b, string_fields[i]);
	}
}

Test(svc, external_string_fields_given_a_number_are_rejected_naming_them)
{
	static const char *const names[] = {"external_url", "external_auth_credential_id"};

	for (size_t i = 0; i < B_ARRAY_LEN(names); i++) {
		cJSON *b = external_body();

		set_number(b, names[i], 1);
		expect_rejected(b, names[i]);
	}
}

Test(svc, int_field_given_a_string_is_rejected_naming_it)
{
	for (size_t i = 0; i < B_ARRAY_LEN(int_fields); i++) {
		cJSON *b = deployed_body();

		set_string(b, int_fields[i], "8");
		expect_rejected(b, int_fields[i]);
	}
}

Test(svc, int_field_given_a_bool_is_rejected_naming_it)
{
	for (size_t i = 0; i < B_ARRAY_LEN(int_fields); i++) {
		cJSON *b = deployed_body();

		set_item(b, int_fields[i], cJSON_CreateTrue());
		expect_rejected(b, int_fields[i]);
	}
}

Test(svc, int_field_given_an_array_is_rejected_naming_it)
{
	for (size_t i = 0; i < B_ARRAY_LEN(int_fields); i++) {
		cJSON *b = deployed_body();

		set_item(b, int_fields[i], cJSON_Parse("[1]"));
		expect_rejected(b, int_fields[i]);
	}
}

Test(svc, array_field_given_an_object_is_rejected_naming_it)
{
	for (size_t i = 0; i < B_ARRAY_LEN(array_fields); i++) {
		cJSON *b = deployed_body();

		set_item(b, array_fields[i], cJSON_CreateObject());
		expect_rejected(b, array_fields[i]);
	}
}

Test(svc, array_field_given_a_string_is_rejected_naming_it)
{
	for (size_t i = 0; i < B_ARRAY_LEN(array_fields); i++) {
		cJSON *b = deployed_body();

		set_string(b, array_fields[i], "[]");
		expect_rejected(b, array_fields[i]);
	}
}

/* ---- unknown fields ---- */

Test(svc, unknown_top_level_field_is_rejected_naming_it)
{
	cJSON *b = deployed_body();

	cJSON_AddNumberToObject(b, "replicas", 2);
	expect_rejected(b, "replicas");
}

Test(svc, misspelt_field_is_rejected_naming_it)
{
	cJSON *b = deployed_body();

	cJSON_AddStringToObject(b, "Service_Slug", "x");
	expect_rejected(b, "Service_Slug");
}

Test(svc, server_fields_are_rejected_on_create)
{
	static const char *const names[] = {"id", "service_status", "created_at", "team_id"};

	for (size_t i = 0; i < B_ARRAY_LEN(names); i++) {
		cJSON *b = deployed_body();

		cJSON_AddStringToObject(b, names[i], "x");
		expect_rejected(b, names[i]);
	}
}

/* ---- svc_insert against a real store ---- */

static char store_dir[64];
static struct store *st;
static char team_a[UUID_STR_LEN + 1], team_b[UUID_STR_LEN + 1];

static void store_setup(void)
{
	char path[128];
	struct berr e = {0};

	cr_assert(eq(int, crypto_init(), B_OK));
	snprintf(store_dir, sizeof(store_dir), "/tmp/berth-svc-test-XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(store_dir), NULL)), "mkdtemp failed");
	snprintf(path, sizeof(path), "%s/berth.db", store_dir);
	cr_assert(eq(int, store_open(path, &st, &e), B_OK), "store_open: %s", e.message);
	cr_assert(eq(int, store_migrate(st, &e), B_OK), "store_migrate: %s", e.message);
	cr_assert(eq(int, acct_team_add(st, "team-a", team_a, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_team_add(st, "team-b", team_b, &e), B_OK), "%s", e.message);
}

static void store_teardown(void)
{
	DIR *d;
	struct dirent *de;

	if (st)
		store_close(st);
	st = NULL;
	if (!store_dir[0] || !(d = opendir(store_dir)))
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)rmdir(store_dir);
}

TestSuite(svc_store, .init = store_setup, .fini = store_teardown);

/* A second connection to the same file, for what lib/ has no call for. */
static sqlite3 *side_db(void)
{
	char path[128];
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/berth.db", store_dir);
	cr_assert(eq(int, sqlite3_open(path, &db), SQLITE_OK));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static void add_vault_secret(const char *team_id, char id[UUID_STR_LEN + 1])
{
	static const char sql[] = "INSERT INTO vault_secrets (id, team_id, display_name, nonce,"
				  " ciphertext, created_at) VALUES (?, ?, 'token', ?, ?, 0)";
	static const unsigned char nonce[24], ct[32];
	sqlite3 *db = side_db();
	sqlite3_stmt *q = NULL;

	uuid_v7(id);
	cr_assert(eq(int, sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK), "%s",
		  sqlite3_errmsg(db));
	sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 2, team_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 3, nonce, sizeof(nonce), SQLITE_STATIC);
	sqlite3_bind_blob(q, 4, ct, sizeof(ct), SQLITE_STATIC);
	cr_assert(eq(int, sqlite3_step(q), SQLITE_DONE), "%s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

/* Parses body_text, inserts it for team_id, frees everything; returns svc_insert's rc and
 * the new id in id_out when given. */
static int insert(const char *body_text, const char *team_id, char *id_out, struct berr *e)
{
	cJSON *b = body_from(body_text);
	struct svc v;
	int rc;

	cr_assert(eq(int, svc_parse_create(b, &v, e), B_OK), "body rejected: %s", e->message);
	snprintf(v.team_id, sizeof(v.team_id), "%s", team_id);
	rc = svc_insert(st, &v, e);
	if (id_out)
		snprintf(id_out, UUID_STR_LEN + 1, "%s", v.id);
	svc_free(&v);
	cJSON_Delete(b);
	return rc;
}

static const char deployed_json[] = "{\"service_slug\":\"my-svc\",\"docker_image\":\"nginx\"}";

static int external_with_credential(const char *cred, const char *team_id, struct berr *e)
{
	char body[256];

	snprintf(body, sizeof(body),
		 "{\"service_slug\":\"my-api\",\"service_type\":\"external\","
		 "\"external_url\":\"https://api.example.com\","
		 "\"external_auth_credential_id\":\"%s\"}",
		 cred);
	return insert(body, team_id, NULL, e);
}

Test(svc_store, insert_sets_a_uuid_id)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1] = "";

	cr_assert(eq(int, insert(deployed_json, team_a, id, &e), B_OK), "%s", e.message);
	cr_assert(uuid_valid(id), "id %s is not a uuid", id);
}

Test(svc_store, insert_stores_the_row_as_created)
{
	static const char sql[] = "SELECT team_id, service_slug, service_type, service_status,"
				  " exposed_port, env_config FROM container_services WHERE id = ?";
	struct berr e = {0};
	char id[UUID_STR_LEN + 1] = "";
	sqlite3 *db;
	sqlite3_stmt *q = NULL;

	cr_assert(eq(int, insert(deployed_json, team_a, id, &e), B_OK), "%s", e.message);
	db = side_db();
	cr_assert(eq(int, sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK));
	sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
	cr_assert(eq(int, sqlite3_step(q), SQLITE_ROW), "no row for id %s", id);
	cr_assert(eq(str, (char *)sqlite3_column_text(q, 0), team_a));
	cr_assert(eq(str, (char *)sqlite3_column_text(q, 1), "my-svc"));
	cr_assert(eq(str, (char *)sqlite3_column_text(q, 2), "deployed"));
	cr_assert(eq(str, (char *)sqlite3_column_text(q, 3), "created"));
	cr_assert(eq(int, sqlite3_column_int(q, 4), EXPOSED_PORT_DEFAULT));
	cr_assert(eq(str, (char *)sqlite3_column_text(q, 5), "[]"));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

Test(svc_store, same_slug_in_the_same_team_conflicts)
{
	struct berr e = {0};

	cr_assert(eq(int, insert(deployed_json, team_a, NULL, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, insert(deployed_json, team_a, NULL, &e), B_ECONFLICT));
	cr_assert(eq(int, e.status, 409));
	cr_assert(eq(str, e.field, "service_slug"));
}

Test(svc_store, same_slug_in_another_team_is_accepted)
{
	struct berr e = {0};

	cr_assert(eq(int, insert(deployed_json, team_a, NULL, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, insert(deployed_json, team_b, NULL, &e), B_OK), "%s", e.message);
}

Test(svc_store, credential_naming_no_vault_secret_is_rejected)
{
	struct berr e = {0};
	char missing[UUID_STR_LEN + 1];

	uuid_v7(missing);
	cr_assert(eq(int, external_with_credential(missing, team_a, &e), B_EINVAL));
	cr_assert(eq(int, e.status, 400));
	cr_assert(eq(str, e.field, "external_auth_credential_id"));
}

Test(svc_store, credential_of_another_team_is_rejected)
{
	struct berr e = {0};
	char secret[UUID_STR_LEN + 1];

	add_vault_secret(team_b, secret);
	cr_assert(eq(int, external_with_credential(secret, team_a, &e), B_EINVAL),
		  "a vault secret of team b must not be usable by team a");
	cr_assert(eq(int, e.status, 400));
	cr_assert(eq(str, e.field, "external_auth_credential_id"));
}

Test(svc_store, credential_of_the_same_team_is_accepted)
{
	struct berr e = {0};
	char secret[UUID_STR_LEN + 1];

	add_vault_secret(team_a, secret);
	cr_assert(eq(int, external_with_credential(secret, team_a, &e), B_OK), "%s", e.message);
}
