/* /api/v1/mcp end to end: lighttpd, the mcp program, gatewayd, a real agent and a
 * berth-fixture:test container, driven as an MCP client over Streamable HTTP would. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEADLINE_MS 30000
#define MCP "/api/v1/mcp"

static struct h_tenant t;

/* A tenant with one agent and a running fixture service "echo". */
static void setup(void)
{
	char id[H_ID];

	h_tenant_new(&t);
	h_agent_start("mcp", t.ak, NULL);
	h_deploy(&t, "{\"service_slug\": \"echo\", \"docker_image\": \"berth-fixture:test\", "
		 "\"usage_prompt\": \"POST /echo returns what it got\"}", id, "running");
}

TestSuite(mcp, .init = setup);

/* POST one message with cred, the session (if not NULL) and one more header line (or NULL). */
static void post(struct h_resp *r, const char *cred, const char *session, const char *extra,
		 const char *json)
{
	char auth[H_TOKEN + 32], sid[128];
	const char *h[6] = {auth, "Content-Type: application/json",
			    "Accept: application/json, text/event-stream", NULL, NULL, NULL};
	int n = 3;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cred);
	if (session) {
		snprintf(sid, sizeof(sid), "Mcp-Session-Id: %s", session);
		h[n++] = sid;
	}
	if (extra)
		h[n++] = extra;
	h_request(r, "POST", MCP, h, json, strlen(json));
}

/* initialize with cred: the session's id into sid. */
static void initialize(const char *cred, char *sid, size_t n)
{
	struct h_resp r;
	const cJSON *res;

	post(&r, cred, NULL, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"initialize\", "
	     "\"params\": {\"protocolVersion\": \"2025-06-18\", \"capabilities\": {}, "
	     "\"clientInfo\": {\"name\": \"test\", \"version\": \"1\"}}}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(h_header(&r, "Mcp-Session-Id", sid, n), "%s", r.headers);
	res = cJSON_GetObjectItem(r.json, "result");
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(res, "protocolVersion")),
		     "2025-06-18"));
	cr_assert(eq(int, cJSON_GetObjectItem(r.json, "id")->valueint, 1));
	h_resp_free(&r);
}

/* tools/call of tool with args (JSON text): the result object, detached (cJSON_Delete). */
static cJSON *call_tool(const char *sid, const char *tool, const char *args)
{
	char json[4096];
	struct h_resp r;
	cJSON *res;

	snprintf(json, sizeof(json), "{\"jsonrpc\": \"2.0\", \"id\": \"c\", \"method\": "
		 "\"tools/call\", \"params\": {\"name\": \"%s\", \"arguments\": %s}}", tool, args);
	post(&r, t.sk, sid, "MCP-Protocol-Version: 2025-06-18", json);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	res = cJSON_DetachItemFromObject(r.json, "result");
	cr_assert(res != NULL, "%s", r.body);
	h_resp_free(&r);
	return res;
}

/* DELETE of the session sid with cred. */
static void end_session(struct h_resp *r, const char *cred, const char *sid)
{
	char auth[H_KEY + 64], hs[160];

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cred);
	snprintf(hs, sizeof(hs), "Mcp-Session-Id: %s", sid);
	h_request(r, "DELETE", MCP, (const char *const[]){auth, hs, NULL}, NULL, 0);
}

static bool is_error(const cJSON *res)
{
	return cJSON_IsTrue(cJSON_GetObjectItem(res, "isError"));
}

static const cJSON *structured(const cJSON *res)
{
	return cJSON_GetObjectItem(res, "structuredContent");
}

Test(mcp, a_session_lists_describes_and_calls_the_teams_services)
{
	char sid[128], b64[256], raw[2048];
	struct h_resp r;
	cJSON *res, *item, *echo;
	size_t len = 0;

	initialize(t.sk, sid, sizeof(sid));
	post(&r, t.sk, sid, NULL, "{\"jsonrpc\": \"2.0\", \"method\": \"notifications/initialized\"}");
	cr_assert(eq(long, r.status, 202), "%s", r.body);
	cr_assert(eq(sz, r.len, 0));
	h_resp_free(&r);

	post(&r, t.sk, sid, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"tools/list\"}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json,
		  "result"), "tools")), 3), "%s", r.body);
	h_resp_free(&r);

	res = call_tool(sid, "list_container_services", "{}");
	cr_assert(is_error(res) == false);
	item = cJSON_GetArrayItem(cJSON_GetObjectItem(structured(res), "container_list"), 0);
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(item, "service_slug")), "echo"));
	cr_assert(eq(int, cJSON_GetObjectItem(cJSON_GetObjectItem(structured(res), "page_meta"),
					      "total_count")->valueint, 1));
	cJSON_Delete(res);

	res = call_tool(sid, "get_container_service", "{\"service_slug\": \"echo\"}");
	cr_assert(is_error(res) == false);
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(structured(res), "usage_prompt")),
		     "POST /echo returns what it got"));
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(structured(res),
								   "service_status")), "running"));
	cJSON_Delete(res);

	/* the call: invoke's answer; Authorization of the arguments reaches the container, the
	 * caller's sk- never does */
	res = call_tool(sid, "call_container_service", "{\"service_slug\": \"echo\", \"method\": "
			"\"POST\", \"path\": \"/echo?q=1\", \"body_base64\": \"AAEC/w==\", "
			"\"headers\": {\"Authorization\": \"Bearer service-key\"}}");
	cr_assert(is_error(res) == false, "%s", cJSON_PrintUnformatted(res));
	cr_assert(eq(int, cJSON_GetObjectItem(structured(res), "status_code")->valueint, 200));
	snprintf(b64, sizeof(b64), "%s", cJSON_GetStringValue(cJSON_GetObjectItem(structured(res),
										   "body_base64")));
	cr_assert(sodium_base642bin((unsigned char *)raw, sizeof(raw) - 1, b64, strlen(b64), NULL,
				    &len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0);
	raw[len] = '\0';
	echo = cJSON_Parse(raw);
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(echo, "query")), "q=1"));
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(echo, "body_base64")),
		     "AAEC/w=="), "the binary body arrived whole: %s", raw);
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(echo,
		  "headers"), "authorization")), "Bearer service-key"));
	cr_assert(strstr(raw, t.sk) == NULL, "the caller's key reached the container: %s", raw);
	cJSON_Delete(echo);
	item = cJSON_GetArrayItem(cJSON_GetObjectItem(res, "content"), 0);
	cr_assert(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(item, "text")), b64) != NULL,
		  "the text content is the same answer");
	cJSON_Delete(res);

	res = call_tool(sid, "call_container_service", "{\"service_slug\": \"echo\", \"method\": "
			"\"GET\", \"path\": \"/status/503\"}");
	cr_assert(is_error(res) == false, "the container's own status is an answer");
	cr_assert(eq(int, cJSON_GetObjectItem(structured(res), "status_code")->valueint, 503));
	cJSON_Delete(res);

	h_request(&r, "DELETE", MCP, (const char *const[]){"Authorization: Bearer x", NULL}, NULL, 0);
	cr_assert(eq(long, r.status, 401));
	h_resp_free(&r);
	end_session(&r, t.sk, sid);
	cr_assert(eq(long, r.status, 204), "%s", r.body);
	h_resp_free(&r);
	post(&r, t.sk, sid, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 3, \"method\": \"ping\"}");
	h_assert_error(&r, 404, "not_found", "Mcp-Session-Id");
	h_resp_free(&r);
}

/* call_container_service with args is a result with isError whose structured key is want. */
static void call_fails(const char *sid, const char *args, const char *key, const char *want)
{
	cJSON *res = call_tool(sid, "call_container_service", args);

	cr_assert(is_error(res), "%s", args);
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(structured(res), key)),
		     (char *)want), "%s", args);
	cJSON_Delete(res);
}

Test(mcp, tool_failures_are_results_with_is_error)
{
	struct h_tenant other;
	char sid[128], other_sid[128];
	struct h_resp r;
	cJSON *res;

	initialize(t.sk, sid, sizeof(sid));
	call_fails(sid, "{\"service_slug\": \"no-such\", \"method\": \"GET\", \"path\": \"/\"}",
		   "error_code", "not_found");
	call_fails(sid, "{\"service_slug\": \"echo\", \"method\": \"GET\", \"path\": "
		   "\"//evil.test/\"}", "field", "path");
	h_create(&r, t.member_tok, t.team, "{\"service_slug\": \"idle\", \"docker_image\": \"x\"}");
	h_resp_free(&r);
	res = call_tool(sid, "call_container_service", "{\"service_slug\": \"idle\", \"method\": "
			"\"GET\", \"path\": \"/\"}");
	cr_assert(is_error(res));
	cr_assert(eq(int, cJSON_GetObjectItem(structured(res), "status")->valueint, 409));
	cJSON_Delete(res);

	/* another team: neither its session nor our slug */
	h_tenant_new(&other);
	initialize(other.sk, other_sid, sizeof(other_sid));
	post(&r, other.sk, sid, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 3, \"method\": \"ping\"}");
	h_assert_error(&r, 404, "not_found", "Mcp-Session-Id");
	h_resp_free(&r);
	end_session(&r, other.sk, sid);
	h_assert_error(&r, 404, "not_found", "Mcp-Session-Id");
	h_resp_free(&r);
	post(&r, t.sk, sid, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 3, \"method\": \"ping\"}");
	cr_assert(eq(long, r.status, 200), "another key's DELETE ended nothing: %s", r.body);
	h_resp_free(&r);
	post(&r, other.sk, other_sid, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 4, \"method\": "
	     "\"tools/call\", \"params\": {\"name\": \"get_container_service\", \"arguments\": "
	     "{\"service_slug\": \"echo\"}}}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	res = cJSON_GetObjectItem(r.json, "result");
	cr_assert(is_error(res));
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(structured(res), "error_code")),
		     "not_found"));
	h_resp_free(&r);
}

/* status and JSON-RPC error code (0 for none expected) of one POST. */
static void expect_rpc_error(const char *session, const char *extra, const char *json,
			     long status, int code)
{
	struct h_resp r;
	const cJSON *err;

	post(&r, t.sk, session, extra, json);
	cr_assert(eq(long, r.status, status), "%s: %s", json, r.body);
	err = cJSON_GetObjectItem(r.json, "error");
	cr_assert(cJSON_IsObject(err), "%s: %s", json, r.body);
	cr_assert(eq(int, cJSON_GetObjectItem(err, "code")->valueint, code), "%s", r.body);
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(err, "message")));
	h_resp_free(&r);
}

Test(mcp, protocol_errors_and_who_may_connect)
{
	char sid[128], auth[H_TOKEN + 32];
	struct h_resp r;

	initialize(t.sk, sid, sizeof(sid));
	expect_rpc_error(sid, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\"",
			 400, -32700);
	expect_rpc_error(sid, NULL, "[{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\"}]",
			 400, -32600);
	expect_rpc_error(sid, NULL, "{\"id\": 1, \"method\": \"ping\"}", 400, -32600);
	expect_rpc_error(sid, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "
			 "\"resources/list\"}", 200, -32601);
	expect_rpc_error(sid, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"tools/call\", "
			 "\"params\": {\"name\": \"drop_tables\"}}", 200, -32602);

	post(&r, t.sk, NULL, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\"}");
	h_assert_error(&r, 400, "validation_failed", "Mcp-Session-Id");
	h_resp_free(&r);
	post(&r, t.sk, sid, "MCP-Protocol-Version: 1999-01-01", "{\"jsonrpc\": \"2.0\", \"id\": 1, "
	     "\"method\": \"ping\"}");
	h_assert_error(&r, 400, "validation_failed", "MCP-Protocol-Version");
	h_resp_free(&r);
	post(&r, t.sk, sid, "Origin: http://evil.test", "{\"jsonrpc\": \"2.0\", \"id\": 1, "
	     "\"method\": \"ping\"}");
	h_assert_error(&r, 403, "forbidden", "Origin");
	h_resp_free(&r);
	snprintf(auth, sizeof(auth), "Origin: %s", getenv("BERTH_TEST_URL")); /* this host */
	post(&r, t.sk, sid, auth, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\"}");
	cr_assert(eq(long, r.status, 200), "a page of this host may: %s", r.body);
	h_resp_free(&r);
	post(&r, t.sk, sid, "MCP-Protocol-Version: 2025-11-25", "{\"jsonrpc\": \"2.0\", \"id\": 1, "
	     "\"method\": \"ping\"}");
	h_assert_error(&r, 400, "validation_failed", "MCP-Protocol-Version");
	cr_assert(strstr(r.body, "2025-06-18") != NULL, "names the session's: %s", r.body);
	h_resp_free(&r);
	post(&r, t.sk, sid, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 9, \"method\": \"ping\"}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(cJSON_IsObject(cJSON_GetObjectItem(r.json, "result")), "%s", r.body);
	h_resp_free(&r);

	/* an unknown version at initialize gets berth's newest */
	post(&r, t.sk, NULL, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"initialize\", "
	     "\"params\": {\"protocolVersion\": \"2099-01-01\"}}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json,
		  "result"), "protocolVersion")), "2025-11-25"));
	h_resp_free(&r);

	/* sk- only: a member's token or device key is refused, no credential is 401 */
	post(&r, t.member_tok, NULL, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "
	     "\"initialize\", \"params\": {}}");
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	post(&r, t.dk_member, NULL, NULL, "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": "
	     "\"initialize\", \"params\": {}}");
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	h_request(&r, "POST", MCP, (const char *const[]){"Content-Type: application/json", NULL},
		  "{}", 2);
	h_assert_error(&r, 401, "unauthenticated", NULL);
	cr_assert(strstr(r.body, "Bearer sk-") != NULL, "asks for an sk- key: %s", r.body);
	h_resp_free(&r);
	/* berth sends nothing unasked: no GET stream */
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.sk);
	h_request(&r, "GET", MCP, (const char *const[]){auth, "Accept: text/event-stream", NULL},
		  NULL, 0);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	cr_assert(h_header(&r, "Allow", auth, sizeof(auth)));
	cr_assert(eq(str, auth, "POST, DELETE"));
	h_resp_free(&r);
}
