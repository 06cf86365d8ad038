/* GET /api/v1/r/containers[/{slug}] and /api/v1/r/agents for runtime callers. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

static struct h_tenant t;

static void setup(void)
{
	struct h_resp r;

	h_tenant_new(&t);
	h_create(&r, t.member_tok, t.team,
		 "{\"service_slug\": \"llm\", \"docker_image\": \"img:1\", \"usage_prompt\": \"ask\","
		 " \"openapi_url\": \"/openapi.json\"}");
	cr_assert(eq(long, r.status, 201), "%s", r.body);
	h_resp_free(&r);
}

TestSuite(discover, .init = setup);

Test(discover, integration_device_and_user_credentials_list_the_teams_services)
{
	const char *creds[] = {t.sk, t.dk_viewer, t.viewer_tok};
	const char *teams[] = {NULL, NULL, t.team};
	struct h_resp r;

	for (int i = 0; i < 3; i++) {
		h_call(&r, "GET", "/api/v1/r/containers", creds[i], teams[i], NULL);
		cr_assert(eq(long, r.status, 200), "credential %d: %s", i, r.body);
		cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "container_list")), 1));
		cr_assert(eq(str, cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r.json,
			"container_list"), 0), "service_slug")->valuestring, "llm"));
		h_resp_free(&r);
	}
}

Test(discover, one_service_by_slug_includes_usage_prompt_and_openapi_url)
{
	struct h_resp r;

	h_call(&r, "GET", "/api/v1/r/containers/llm", t.sk, NULL, NULL);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "usage_prompt")->valuestring, "ask"));
	cr_assert(eq(str, cJSON_GetObjectItem(r.json, "openapi_url")->valuestring, "/openapi.json"));
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(r.json, "replica_list")));
	h_resp_free(&r);
	h_call(&r, "GET", "/api/v1/r/containers/missing", t.sk, NULL, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
}

Test(discover, another_teams_slug_is_404_and_lists_are_separate)
{
	struct h_tenant other;
	struct h_resp r;

	h_tenant_new(&other);
	h_call(&r, "GET", "/api/v1/r/containers/llm", other.sk, NULL, NULL);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	h_call(&r, "GET", "/api/v1/r/containers", other.sk, NULL, NULL);
	cr_assert(eq(long, r.status, 200));
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "container_list")), 0));
	h_resp_free(&r);
}

Test(discover, agents_list_has_the_contract_shape)
{
	struct h_resp r;
	const cJSON *meta;

	h_call(&r, "GET", "/api/v1/r/agents", t.sk, NULL, NULL);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(r.json, "agent_list")));
	meta = cJSON_GetObjectItem(r.json, "page_meta");
	cr_assert(eq(int, cJSON_GetObjectItem(meta, "total_count")->valueint, 0));
	h_resp_free(&r);
}

Test(discover, agent_keys_and_writes_are_refused)
{
	struct h_resp r;

	h_call(&r, "GET", "/api/v1/r/containers", t.ak, NULL, NULL);
	h_assert_error(&r, 403, "forbidden", "Authorization");
	h_resp_free(&r);
	h_call(&r, "POST", "/api/v1/r/containers", t.sk, NULL, "{}");
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	h_resp_free(&r);
	h_call(&r, "GET", "/api/v1/r/containers", t.member_tok, NULL, NULL);
	h_assert_error(&r, 400, "validation_failed", "X-Team-ID");
	h_resp_free(&r);
}
