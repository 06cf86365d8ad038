/* mcp_test.c: lib/mcp: JSON-RPC messages told apart, answers in JSON-RPC's form, protocol
 * versions, the three tools and their arguments, tool results and errors, and sessions in a
 * real temporary store (bound to their credential, ended by DELETE, idleness or numbers). */
#include "berth.h"
#include "auth.h"
#include "fixture.h"
#include "mcp.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

TestSuite(mcp, .init = fixture_store_open, .fini = fixture_store_close);

static struct mcp_msg classify(const char *json)
{
	cJSON *m = cJSON_Parse(json);
	struct mcp_msg out;

	cr_assert(m != NULL, "%s", json);
	mcp_classify(m, &out);
	/* the fields point into m: only kind and why are used past this */
	out.id = NULL;
	out.method = NULL;
	out.params = NULL;
	cJSON_Delete(m);
	return out;
}

Test(mcp, messages_are_requests_notifications_responses_or_invalid)
{
	static const char *const invalid[] = {
		"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]",
		"{\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1e300,\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}",
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}",
		"{\"jsonrpc\":\"2.0\",\"id\":1}",
		"\"ping\"",
	};

	cr_assert(eq(int, classify("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}").kind,
		     MCP_REQUEST));
	cr_assert(eq(int, classify("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/list\","
				   "\"params\":{}}").kind, MCP_REQUEST));
	cr_assert(eq(int, classify("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}")
		     .kind, MCP_NOTIFICATION));
	cr_assert(eq(int, classify("{\"jsonrpc\":\"2.0\",\"id\":4,\"result\":{}}").kind,
		     MCP_RESPONSE));
	cr_assert(eq(int, classify("{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":1}}").kind,
		     MCP_RESPONSE));
	for (size_t i = 0; i < B_ARRAY_LEN(invalid); i++) {
		struct mcp_msg m = classify(invalid[i]);

		cr_assert(eq(int, m.kind, MCP_INVALID), "%s", invalid[i]);
		cr_assert(m.why[0] != '\0', "%s says why", invalid[i]);
	}
	cr_assert(strstr(classify(invalid[0]).why, "batch") != NULL);
}

Test(mcp, a_request_keeps_its_id_method_and_params)
{
	cJSON *m = cJSON_Parse("{\"jsonrpc\":\"2.0\",\"id\":\"x-1\",\"method\":\"tools/call\","
			       "\"params\":{\"name\":\"n\"}}");
	struct mcp_msg out;

	mcp_classify(m, &out);
	cr_assert(eq(str, out.id->valuestring, "x-1"));
	cr_assert(eq(str, (char *)out.method, "tools/call"));
	cr_assert(eq(str, cJSON_GetObjectItem(out.params, "name")->valuestring, "n"));
	cJSON_Delete(m);
}

static char *print_and_free(cJSON *o)
{
	static char text[4096];
	char *s = cJSON_PrintUnformatted(o);

	snprintf(text, sizeof(text), "%s", s);
	cJSON_free(s);
	cJSON_Delete(o);
	return text;
}

Test(mcp, answers_are_json_rpc_results_and_errors)
{
	cJSON *id = cJSON_CreateNumber(7);

	cr_assert(eq(str, print_and_free(mcp_result(id, cJSON_CreateObject())),
		     "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}"));
	cr_assert(eq(str, print_and_free(mcp_error(id, MCP_METHOD_NOT_FOUND, "no")),
		     "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32601,\"message\":\"no\"}}"));
	cr_assert(eq(str, print_and_free(mcp_error(NULL, MCP_PARSE_ERROR, "bad")),
		     "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":"
		     "\"bad\"}}"));
	cJSON_Delete(id);
}

Test(mcp, versions_are_agreed_or_the_newest_is_offered)
{
	cr_assert(mcp_version_supported("2025-06-18"));
	cr_assert(mcp_version_supported("2025-11-25"));
	cr_assert(mcp_version_supported("2025-03-26") == false, "its transport must take batches");
	cr_assert(mcp_version_supported("2024-11-05") == false, "the HTTP+SSE transport's");
	cr_assert(mcp_version_supported("not-a-version") == false);
	cr_assert(mcp_version_supported(NULL) == false);
	cr_assert(eq(str, (char *)mcp_version_negotiate("2025-06-18"), "2025-06-18"));
	cr_assert(eq(str, (char *)mcp_version_negotiate("2099-01-01"), (char *)mcp_versions[0]));
	cr_assert(eq(str, (char *)mcp_version_negotiate(NULL), (char *)mcp_versions[0]));
}

Test(mcp, initialize_says_version_tools_and_server)
{
	cJSON *r = mcp_initialize_result("2025-06-18");

	cr_assert(eq(str, cJSON_GetObjectItem(r, "protocolVersion")->valuestring, "2025-06-18"));
	cr_assert(cJSON_IsObject(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "capabilities"),
						      "tools")));
	cr_assert(eq(str, cJSON_GetObjectItem(cJSON_GetObjectItem(r, "serverInfo"), "name")
		     ->valuestring, "berth"));
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(r, "instructions")));
	cJSON_Delete(r);
}

Test(mcp, tools_list_names_three_tools_with_object_schemas)
{
	static const char *const names[] = {"list_container_services", "get_container_service",
					    "call_container_service"};
	cJSON *r = mcp_tools_list(), *tools = cJSON_GetObjectItem(r, "tools"), *req;

	cr_assert(eq(int, cJSON_GetArraySize(tools), 3));
	for (int i = 0; i < 3; i++) {
		cJSON *t = cJSON_GetArrayItem(tools, i), *s = cJSON_GetObjectItem(t, "inputSchema");

		cr_assert(eq(str, cJSON_GetObjectItem(t, "name")->valuestring, (char *)names[i]));
		cr_assert(cJSON_IsString(cJSON_GetObjectItem(t, "description")));
		cr_assert(eq(str, cJSON_GetObjectItem(s, "type")->valuestring, "object"));
	}
	req = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(tools, 2), "inputSchema"),
				  "required");
	cr_assert(eq(int, cJSON_GetArraySize(req), 3));
	cr_assert(eq(str, cJSON_GetArrayItem(req, 0)->valuestring, "service_slug"));
	cJSON_Delete(r);
}

static int find(const char *params_json, enum mcp_tool *tool, char *why, size_t n)
{
	cJSON *p = cJSON_Parse(params_json);
	const cJSON *args;
	int rc = mcp_tool_find(p, tool, &args, why, n);

	cJSON_Delete(p);
	return rc;
}

Test(mcp, tools_call_names_a_tool_of_berths)
{
	enum mcp_tool tool;
	char why[160];

	cr_assert(eq(int, find("{\"name\":\"get_container_service\",\"arguments\":{}}", &tool, why,
			       sizeof(why)), 0));
	cr_assert(eq(int, tool, MCP_TOOL_GET));
	cr_assert(eq(int, find("{\"name\":\"list_container_services\"}", &tool, why, sizeof(why)),
		     0), "arguments may be left out");
	cr_assert(eq(int, tool, MCP_TOOL_LIST));
	cr_assert(eq(int, find("{\"name\":\"rm_rf\"}", &tool, why, sizeof(why)), -1));
	cr_assert(strstr(why, "rm_rf") != NULL, "%s", why);
	cr_assert(eq(int, find("{\"arguments\":{}}", &tool, why, sizeof(why)), -1));
	cr_assert(eq(int, find("{\"name\":\"call_container_service\",\"arguments\":[]}", &tool,
			       why, sizeof(why)), -1));
	cr_assert(eq(int, mcp_tool_find(NULL, &tool, &(const cJSON *){NULL}, why, sizeof(why)),
		     -1), "no params at all");
}

/* Parses args for tool; returns the rc, the error's field in field. */
static int parse(enum mcp_tool tool, const char *args_json, size_t body_max, struct mcp_call *c,
		 char *field)
{
	cJSON *a = cJSON_Parse(args_json);
	struct berr e = {0};
	int rc;

	cr_assert(a != NULL, "%s", args_json);
	rc = mcp_call_parse(tool, a, body_max, c, &e);
	snprintf(field, ERR_FIELD_MAX, "%s", e.field);
	cJSON_Delete(a);
	return rc;
}

Test(mcp, list_arguments_default_and_are_bounded)
{
	struct mcp_call c;
	struct berr e = {0};
	char f[ERR_FIELD_MAX];

	cr_assert(eq(int, mcp_call_parse(MCP_TOOL_LIST, NULL, 10, &c, &e), B_OK));
	cr_assert(eq(long, c.current_page, 1));
	cr_assert(eq(long, c.per_page, MCP_LIST_PAGE_MAX));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_LIST, "{\"current_page\":3,\"per_page\":100}", 10, &c, f),
		     B_OK));
	cr_assert(eq(long, c.current_page, 3));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_LIST, "{\"per_page\":101}", 10, &c, f), B_EINVAL));
	cr_assert(eq(str, f, "per_page"));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_LIST, "{\"current_page\":0}", 10, &c, f), B_EINVAL));
	cr_assert(eq(str, f, "current_page"));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_LIST, "{\"slug\":\"x\"}", 10, &c, f), B_EINVAL));
	cr_assert(eq(str, f, "slug"), "an unknown argument is named");
	mcp_call_free(&c);
}

Test(mcp, get_needs_a_valid_slug)
{
	struct mcp_call c;
	char f[ERR_FIELD_MAX];

	cr_assert(eq(int, parse(MCP_TOOL_GET, "{\"service_slug\":\"my-llm\"}", 10, &c, f), B_OK));
	cr_assert(eq(str, c.slug, "my-llm"));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_GET, "{}", 10, &c, f), B_EINVAL));
	cr_assert(eq(str, f, "service_slug"));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_GET, "{\"service_slug\":\"Bad Slug\"}", 10, &c, f),
		     B_EINVAL));
	cr_assert(eq(str, f, "service_slug"));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_GET, "{\"service_slug\":\"ok-slug\",\"x\":1}", 10, &c, f),
		     B_EINVAL));
	mcp_call_free(&c);
}

Test(mcp, call_arguments_are_invokes_body_and_a_slug)
{
	struct mcp_call c;
	char f[ERR_FIELD_MAX];

	cr_assert(eq(int, parse(MCP_TOOL_CALL, "{\"service_slug\":\"echo\",\"method\":\"POST\","
				"\"path\":\"/v1/x?y=1\",\"body_base64\":\"aGk=\",\"headers\":"
				"{\"Authorization\":\"Bearer k\",\"Connection\":\"close\"}}", 10, &c,
				f), B_OK));
	cr_assert(eq(str, c.slug, "echo"));
	cr_assert(eq(str, (char *)c.req.method, "POST"));
	cr_assert(eq(str, (char *)c.req.path, "/v1/x?y=1"));
	cr_assert(eq(sz, c.req.body_len, 2));
	cr_assert(eq(int, memcmp(c.req.body, "hi", 2), 0));
	cr_assert(eq(sz, c.req.nheaders, 1), "hop-by-hop Connection is dropped");
	cr_assert(eq(str, (char *)c.req.header_names[0], "Authorization"));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_CALL, "{\"service_slug\":\"echo\",\"path\":\"/\"}", 10,
				&c, f), B_EINVAL));
	cr_assert(eq(str, f, "method"));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_CALL, "{\"service_slug\":\"echo\",\"method\":\"GET\","
				"\"path\":\"//evil.test/\"}", 10, &c, f), B_EINVAL));
	cr_assert(eq(str, f, "path"));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_CALL, "{\"service_slug\":\"echo\",\"method\":\"GET\","
				"\"path\":\"/\",\"body_base64\":\"aGVsbG8=\"}", 4, &c, f), B_ETOOBIG),
		  "5 bytes past a limit of 4");
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_CALL, "{\"method\":\"GET\",\"path\":\"/\"}", 10, &c, f),
		     B_EINVAL));
	cr_assert(eq(str, f, "service_slug"));
	mcp_call_free(&c);
	cr_assert(eq(int, parse(MCP_TOOL_CALL, "{\"service_slug\":\"echo\",\"method\":\"GET\","
				"\"path\":\"/\",\"timeout\":1}", 10, &c, f), B_EINVAL));
	cr_assert(eq(str, f, "timeout"));
	mcp_call_free(&c);
}

Test(mcp, tool_results_carry_structured_content_and_its_text)
{
	cJSON *r = mcp_tool_result(cJSON_Parse("{\"status_code\":201}"));
	cJSON *content = cJSON_GetObjectItem(r, "content"), *item = cJSON_GetArrayItem(content, 0);
	struct berr e = {0};

	cr_assert(eq(int, cJSON_GetArraySize(content), 1));
	cr_assert(eq(str, cJSON_GetObjectItem(item, "type")->valuestring, "text"));
	cr_assert(eq(str, cJSON_GetObjectItem(item, "text")->valuestring, "{\"status_code\":201}"));
	cr_assert(eq(int, cJSON_GetObjectItem(cJSON_GetObjectItem(r, "structuredContent"),
					      "status_code")->valueint, 201));
	cr_assert(cJSON_IsFalse(cJSON_GetObjectItem(r, "isError")));
	cJSON_Delete(r);

	berr_set(&e, B_ECONFLICT, "service_status", "service echo is not running");
	r = mcp_tool_error(&e);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(r, "isError")));
	item = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "content"), 0);
	cr_assert(eq(str, cJSON_GetObjectItem(item, "text")->valuestring,
		     "service echo is not running"));
	item = cJSON_GetObjectItem(r, "structuredContent");
	cr_assert(eq(str, cJSON_GetObjectItem(item, "error_code")->valuestring, "conflict"));
	cr_assert(eq(str, cJSON_GetObjectItem(item, "field")->valuestring, "service_status"));
	cr_assert(eq(int, cJSON_GetObjectItem(item, "status")->valueint, 409));
	cJSON_Delete(r);
}

/* ---- sessions ---- */

static void credential(char id[UUID_STR_LEN + 1])
{
	char raw[KEY_MAX + 1];
	struct berr e = {0};

	cr_assert(eq(int, auth_credential_issue(fx.st, CRED_INTEGRATION, fx.team_a, NULL, "mcp", 0,
						id, raw, &e), B_OK), "%s", e.message);
}

static long sessions_of(const char *credential_id)
{
	static const char sql[] = "SELECT count(*) FROM mcp_sessions WHERE credential_id = ?";
	struct berr e = {0};
	sqlite3_stmt *st = store_stmt(fx.st, sql, &e);
	long n;

	cr_assert(st != NULL);
	store_bind_text(st, 1, credential_id);
	cr_assert(eq(int, store_step(fx.st, st, &e), SQLITE_ROW));
	n = (long)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

Test(mcp, a_session_belongs_to_its_credential_until_it_ends)
{
	char cred[UUID_STR_LEN + 1], other[UUID_STR_LEN + 1], id[MCP_SESSION_ID_LEN + 1];
	char version[MCP_VERSION_MAX + 1] = "";
	struct berr e = {0};

	credential(cred);
	credential(other);
	cr_assert(eq(int, mcp_session_new(fx.st, cred, "2025-06-18", id, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(sz, strlen(id), MCP_SESSION_ID_LEN));
	cr_assert(eq(int, mcp_session_use(fx.st, id, cred, version, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, version, "2025-06-18"));
	cr_assert(eq(int, mcp_session_use(fx.st, id, other, version, &e), B_ENOTFOUND),
		  "another credential finds nothing");
	cr_assert(eq(int, mcp_session_end(fx.st, id, other, &e), B_ENOTFOUND));
	cr_assert(eq(int, mcp_session_end(fx.st, id, cred, &e), B_OK));
	cr_assert(eq(int, mcp_session_use(fx.st, id, cred, version, &e), B_ENOTFOUND));
	cr_assert(eq(str, e.field, "Mcp-Session-Id"));
	cr_assert(eq(int, mcp_session_end(fx.st, id, cred, &e), B_ENOTFOUND), "ended once");
	cr_assert(eq(int, mcp_session_use(fx.st, "not-hex", cred, version, &e), B_ENOTFOUND));
	cr_assert(eq(int, mcp_session_use(fx.st, "0123456789abcdef0123456789abcdef", cred,
					  version, &e), B_ENOTFOUND), "well formed, never made");
}

Test(mcp, an_idle_session_is_gone_and_a_used_one_is_kept_fresh)
{
	char cred[UUID_STR_LEN + 1], id[MCP_SESSION_ID_LEN + 1], version[MCP_VERSION_MAX + 1];
	struct berr e = {0};

	credential(cred);
	cr_assert(eq(int, mcp_session_new(fx.st, cred, "2025-11-25", id, &e), B_OK));
	fixture_exec("UPDATE mcp_sessions SET last_used_at = unixepoch() - 3600 WHERE id = ?", id);
	cr_assert(eq(int, mcp_session_use(fx.st, id, cred, version, &e), B_OK));
	/* the use moved last_used_at to now: a day later than the old mark is not yet idle */
	fixture_exec("UPDATE mcp_sessions SET last_used_at = last_used_at - 86000 WHERE id = ?", id);
	cr_assert(eq(int, mcp_session_use(fx.st, id, cred, version, &e), B_OK),
		  "the use an hour ago renewed it");
	fixture_exec("UPDATE mcp_sessions SET last_used_at = unixepoch() - 86401 WHERE id = ?", id);
	cr_assert(eq(int, mcp_session_use(fx.st, id, cred, version, &e), B_ENOTFOUND));
	cr_assert(eq(int, mcp_session_end(fx.st, id, cred, &e), B_ENOTFOUND));
}

Test(mcp, a_credential_keeps_its_most_recently_used_sessions)
{
	char cred[UUID_STR_LEN + 1], first[MCP_SESSION_ID_LEN + 1], id[MCP_SESSION_ID_LEN + 1];
	char version[MCP_VERSION_MAX + 1];
	struct berr e = {0};

	credential(cred);
	cr_assert(eq(int, mcp_session_new(fx.st, cred, "2025-06-18", first, &e), B_OK));
	fixture_exec("UPDATE mcp_sessions SET last_used_at = last_used_at - 100 WHERE id = ?", first);
	for (int i = 0; i < MCP_SESSIONS_PER_CREDENTIAL; i++)
		cr_assert(eq(int, mcp_session_new(fx.st, cred, "2025-06-18", id, &e), B_OK));
	cr_assert(eq(long, sessions_of(cred), MCP_SESSIONS_PER_CREDENTIAL));
	cr_assert(eq(int, mcp_session_use(fx.st, first, cred, version, &e), B_ENOTFOUND),
		  "the least recently used went");
	cr_assert(eq(int, mcp_session_use(fx.st, id, cred, version, &e), B_OK));
}

Test(mcp, a_new_session_is_kept_whatever_the_clock_says)
{
	char cred[UUID_STR_LEN + 1], id[MCP_SESSION_ID_LEN + 1], version[MCP_VERSION_MAX + 1];
	struct berr e = {0};

	credential(cred);
	for (int i = 0; i < MCP_SESSIONS_PER_CREDENTIAL + 3; i++) {
		cr_assert(eq(int, mcp_session_new(fx.st, cred, "2025-06-18", id, &e), B_OK));
		cr_assert(eq(int, mcp_session_use(fx.st, id, cred, version, &e), B_OK),
			  "session %d, made in the same second as others, was pruned at once", i);
	}
	cr_assert(eq(long, sessions_of(cred), MCP_SESSIONS_PER_CREDENTIAL));
}

Test(mcp, sessions_of_revoked_keys_and_idle_ones_go_at_the_next_initialize)
{
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1], id[MCP_SESSION_ID_LEN + 1];
	char idle[MCP_SESSION_ID_LEN + 1];
	struct berr e = {0};

	credential(a);
	credential(b);
	cr_assert(eq(int, mcp_session_new(fx.st, a, "2025-06-18", id, &e), B_OK));
	cr_assert(eq(int, mcp_session_new(fx.st, a, "2025-06-18", idle, &e), B_OK));
	fixture_exec("UPDATE mcp_sessions SET last_used_at = unixepoch() - 90000 WHERE id = ?",
		     idle);
	cr_assert(eq(long, sessions_of(a), 2));
	cr_assert(eq(int, mcp_session_new(fx.st, b, "2025-06-18", id, &e), B_OK));
	cr_assert(eq(long, sessions_of(a), 1), "a's idle session went at b's initialize");
	fixture_exec("UPDATE credentials SET revoked_at = unixepoch() WHERE id = ?", a);
	cr_assert(eq(int, mcp_session_new(fx.st, b, "2025-06-18", id, &e), B_OK));
	cr_assert(eq(long, sessions_of(a), 0), "a's sessions went with its revocation");
}

Test(mcp, a_deleted_credentials_sessions_go_with_it)
{
	static const char sql[] = "DELETE FROM credentials WHERE id = ?";
	char cred[UUID_STR_LEN + 1], id[MCP_SESSION_ID_LEN + 1];
	struct berr e = {0};
	sqlite3_stmt *st;

	credential(cred);
	cr_assert(eq(int, mcp_session_new(fx.st, cred, "2025-06-18", id, &e), B_OK));
	cr_assert(eq(long, sessions_of(cred), 1));
	st = store_stmt(fx.st, sql, &e);
	cr_assert(st != NULL);
	store_bind_text(st, 1, cred);
	cr_assert(eq(int, store_exec_stmt(fx.st, st, &e), B_OK), "%s", e.message);
	cr_assert(eq(long, sessions_of(cred), 0));
}
