#include "berth.h"
#include "mcp.h"
#include "clock.h"
#include "crypto.h"
#include "json.h"
#include "valid.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Not 2025-03-26: its transport must take batches, which the later revisions dropped. */
const char *const mcp_versions[] = {"2025-11-25", "2025-06-18", NULL};

static const char *const tool_names[] = {
	[MCP_TOOL_LIST] = "list_container_services",
	[MCP_TOOL_GET] = "get_container_service",
	[MCP_TOOL_CALL] = "call_container_service",
};

/* ---- JSON-RPC ---- */

void mcp_classify(const cJSON *m, struct mcp_msg *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(m, "jsonrpc");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(m, "id");
	const cJSON *method = cJSON_GetObjectItemCaseSensitive(m, "method");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(m, "params");

	memset(out, 0, sizeof(*out));
	out->kind = MCP_INVALID;
	if (cJSON_IsArray(m)) {
		snprintf(out->why, sizeof(out->why), "batches are not supported: send one message "
			 "per request");
		return;
	}
	if (!cJSON_IsObject(m) || !cJSON_IsString(v) || strcmp(v->valuestring, "2.0") != 0) {
		snprintf(out->why, sizeof(out->why), "not a JSON-RPC 2.0 message: an object with "
			 "\"jsonrpc\": \"2.0\" is expected");
		return;
	}
	if (id && !cJSON_IsString(id) && !(cJSON_IsNumber(id) && fabs(id->valuedouble) <= 9e15 &&
					   id->valuedouble == floor(id->valuedouble))) {
		snprintf(out->why, sizeof(out->why), "id must be a string or an integer");
		return;
	}
	if (!method) {
		if (id && (cJSON_GetObjectItemCaseSensitive(m, "result") ||
			   cJSON_GetObjectItemCaseSensitive(m, "error"))) {
			out->kind = MCP_RESPONSE;
			return;
		}
		snprintf(out->why, sizeof(out->why), "a request needs a method");
		return;
	}
	if (!cJSON_IsString(method) || !method->valuestring[0]) {
		snprintf(out->why, sizeof(out->why), "method must be a non-empty string");
		return;
	}
	if (params && !cJSON_IsObject(params)) {
		snprintf(out->why, sizeof(out->why), "params must be an object");
		return;
	}
	out->kind = id ? MCP_REQUEST : MCP_NOTIFICATION;
	out->id = id;
	out->method = method->valuestring;
	out->params = params;
}

static cJSON *must_obj(void)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		abort();
	return o;
}

static cJSON *envelope(const cJSON *id)
{
	cJSON *o = must_obj();

	cJSON_AddStringToObject(o, "jsonrpc", "2.0");
	if (id)
		cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, true));
	else
		cJSON_AddNullToObject(o, "id");
	return o;
}

cJSON *mcp_result(const cJSON *id, cJSON *result)
{
	cJSON *o = envelope(id);

	cJSON_AddItemToObject(o, "result", result);
	return o;
}

cJSON *mcp_error(const cJSON *id, int code, const char *message)
{
	cJSON *o = envelope(id), *err = must_obj();

	cJSON_AddNumberToObject(err, "code", code);
	cJSON_AddStringToObject(err, "message", message);
	cJSON_AddItemToObject(o, "error", err);
	return o;
}

/* ---- versions, initialize, tools/list ---- */

bool mcp_version_supported(const char *v)
{
	for (size_t i = 0; v && mcp_versions[i]; i++)
		if (strcmp(v, mcp_versions[i]) == 0)
			return true;
	return false;
}

const char *mcp_version_negotiate(const char *asked)
{
	return mcp_version_supported(asked) ? asked : mcp_versions[0];
}

cJSON *mcp_initialize_result(const char *version)
{
	cJSON *r = must_obj(), *caps = must_obj(), *tools = must_obj(), *info = must_obj();

	cJSON_AddStringToObject(r, "protocolVersion", version);
	cJSON_AddBoolToObject(tools, "listChanged", false);
	cJSON_AddItemToObject(caps, "tools", tools);
	cJSON_AddItemToObject(r, "capabilities", caps);
	cJSON_AddStringToObject(info, "name", "berth");
	cJSON_AddStringToObject(info, "version", BERTH_VERSION);
	cJSON_AddItemToObject(r, "serverInfo", info);
	cJSON_AddStringToObject(r, "instructions",
		"berth runs this team's container services (model servers, tools, any HTTP "
		"server). list_container_services shows them; get_container_service tells how to "
		"use one (its usage_prompt and openapi_url); call_container_service sends it an "
		"HTTP request and returns the answer whatever its status, the body in base64. A "
		"service must be running to be called.");
	return r;
}

/* {"type": "object", "properties": {...}, "required": [...], "additionalProperties": false}
 * from a JSON text (a literal of this file: never fails). */
static cJSON *schema(const char *json)
{
	cJSON *s = cJSON_Parse(json);

	if (!s)
		abort();
	return s;
}

static void add_tool(cJSON *list, enum mcp_tool t, const char *title, const char *desc,
		     const char *input_schema)
{
	cJSON *o = must_obj(), *ann = must_obj();

	cJSON_AddStringToObject(o, "name", tool_names[t]);
	cJSON_AddStringToObject(o, "title", title);
	cJSON_AddStringToObject(o, "description", desc);
	cJSON_AddItemToObject(o, "inputSchema", schema(input_schema));
	cJSON_AddBoolToObject(ann, "readOnlyHint", t != MCP_TOOL_CALL);
	cJSON_AddBoolToObject(ann, "openWorldHint", t == MCP_TOOL_CALL);
	cJSON_AddItemToObject(o, "annotations", ann);
	cJSON_AddItemToArray(list, o);
}

cJSON *mcp_tools_list(void)
{
	cJSON *r = must_obj(), *list = cJSON_AddArrayToObject(r, "tools");

	add_tool(list, MCP_TOOL_LIST, "List container services",
		 "The team's container services: slug, status, description and the rest of each "
		 "definition, oldest first, a page at a time (page_meta.total_count says how many "
		 "there are).",
		 "{\"type\":\"object\",\"properties\":{"
		 "\"current_page\":{\"type\":\"integer\",\"minimum\":1,\"default\":1},"
		 "\"per_page\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100,\"default\":100}},"
		 "\"additionalProperties\":false}");
	add_tool(list, MCP_TOOL_GET, "Get a container service",
		 "One service by its slug: its definition, status and replicas, and how to use it "
		 "(usage_prompt: instructions for AI agents; openapi_url: where its API is "
		 "described).",
		 "{\"type\":\"object\",\"properties\":{"
		 "\"service_slug\":{\"type\":\"string\",\"minLength\":3,\"maxLength\":100}},"
		 "\"required\":[\"service_slug\"],\"additionalProperties\":false}");
	add_tool(list, MCP_TOOL_CALL, "Call a container service",
		 "Sends one HTTP request to a running service and returns its answer whatever its "
		 "status: {status_code, headers, body_base64}. path starts with / and may carry a "
		 "query; headers are sent as given (Authorization too, for the service's own key); "
		 "body_base64 is the request body in standard base64.",
		 "{\"type\":\"object\",\"properties\":{"
		 "\"service_slug\":{\"type\":\"string\",\"minLength\":3,\"maxLength\":100},"
		 "\"method\":{\"type\":\"string\",\"enum\":[\"GET\",\"POST\",\"PUT\",\"PATCH\","
		 "\"DELETE\",\"HEAD\",\"OPTIONS\"]},"
		 "\"path\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":2048},"
		 "\"body_base64\":{\"type\":\"string\",\"contentEncoding\":\"base64\"},"
		 "\"headers\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}},"
		 "\"required\":[\"service_slug\",\"method\",\"path\"],"
		 "\"additionalProperties\":false}");
	return r;
}

/* ---- tools/call ---- */

int mcp_tool_find(const cJSON *params, enum mcp_tool *tool, const cJSON **args, char *why,
		  size_t n)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(params, "name");
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(params, "arguments");

	if (!cJSON_IsString(name)) {
		snprintf(why, n, "tools/call needs params.name, the tool's name");
		return -1;
	}
	if (a && !cJSON_IsNull(a) && !cJSON_IsObject(a)) {
		snprintf(why, n, "params.arguments must be an object");
		return -1;
	}
	for (size_t i = 0; i < B_ARRAY_LEN(tool_names); i++) {
		if (strcmp(name->valuestring, tool_names[i]) == 0) {
			*tool = (enum mcp_tool)i;
			*args = cJSON_IsObject(a) ? a : NULL;
			return 0;
		}
	}
	snprintf(why, n, "unknown tool: %.64s (tools/list names berth's three)", name->valuestring);
	return -1;
}

static int slug_arg(const cJSON *args, struct mcp_call *out, struct berr *e)
{
	const char *slug = NULL;
	int rc = json_get_string(args, "service_slug", "service_slug", true, 1, 100, &slug, e);

	if (rc)
		return rc;
	if (!valid_service_slug(slug))
		return berr_set(e, B_EINVAL, "service_slug", "service_slug must match "
				"^[a-z0-9][a-z0-9-]{1,98}[a-z0-9]$");
	snprintf(out->slug, sizeof(out->slug), "%s", slug);
	return B_OK;
}

int mcp_call_parse(enum mcp_tool tool, const cJSON *args, size_t body_max, struct mcp_call *out,
		   struct berr *e)
{
	static const char *const list_keys[] = {"current_page", "per_page", NULL};
	static const char *const get_keys[] = {"service_slug", NULL};
	cJSON *empty = NULL;
	bool present;
	int rc;

	memset(out, 0, sizeof(*out));
	out->tool = tool;
	if (!args)
		args = empty = must_obj();
	switch (tool) {
	case MCP_TOOL_LIST:
		out->current_page = 1;
		out->per_page = MCP_LIST_PAGE_MAX;
		rc = json_only_keys(args, list_keys, "", e);
		if (!rc)
			rc = json_get_int(args, "current_page", false, 1, 1000000, &present,
					  &out->current_page, e);
		if (!rc)
			rc = json_get_int(args, "per_page", false, 1, MCP_LIST_PAGE_MAX, &present,
					  &out->per_page, e);
		break;
	case MCP_TOOL_GET:
		if (!(rc = json_only_keys(args, get_keys, "", e)))
			rc = slug_arg(args, out, e);
		break;
	case MCP_TOOL_CALL:
	default:
		if ((rc = slug_arg(args, out, e)))
			break;
		/* the rest is POST /r/invoke's body, and is checked as such */
		out->args = cJSON_Duplicate(args, true);
		if (!out->args)
			abort();
		cJSON_DeleteItemFromObjectCaseSensitive(out->args, "service_slug");
		rc = invoke_parse(out->args, body_max, &out->req, e);
		break;
	}
	cJSON_Delete(empty);
	return rc;
}

void mcp_call_free(struct mcp_call *c)
{
	invoke_req_free(&c->req);
	json_wipe(c->args); /* the service's Authorization, the body: as invoke's are */
	cJSON_Delete(c->args);
	c->args = NULL;
}

/* {"content": [{"type": "text", "text": text}], "structuredContent", "isError"}; takes
 * structured. */
static cJSON *tool_answer(const char *text, cJSON *structured, bool is_error)
{
	cJSON *r = must_obj(), *content = cJSON_AddArrayToObject(r, "content"), *item = must_obj();

	cJSON_AddStringToObject(item, "type", "text");
	cJSON_AddStringToObject(item, "text", text);
	cJSON_AddItemToArray(content, item);
	cJSON_AddItemToObject(r, "structuredContent", structured);
	cJSON_AddBoolToObject(r, "isError", is_error);
	return r;
}

cJSON *mcp_tool_result(cJSON *structured)
{
	char *s = json_print(structured);
	cJSON *r = tool_answer(s, structured, false);

	free(s);
	return r;
}

cJSON *mcp_tool_error(const struct berr *e)
{
	cJSON *env = must_obj();

	cJSON_AddStringToObject(env, "error_message", e->message);
	cJSON_AddStringToObject(env, "error_code", e->code ? e->code : "internal_error");
	if (e->field[0])
		cJSON_AddStringToObject(env, "field", e->field);
	cJSON_AddNumberToObject(env, "status", e->status ? e->status : 500);
	return tool_answer(e->message, env, true);
}

/* ---- sessions ---- */

int mcp_session_new(struct store *s, const char *credential_id, const char *version,
		    char id[MCP_SESSION_ID_LEN + 1], struct berr *e)
{
	static const char insert_sql[] =
		"INSERT INTO mcp_sessions (id, credential_id, protocol_version, created_at,"
		" last_used_at) VALUES (?1, ?2, ?3, ?4, ?4)";
	/* anyone's idle ones, those of revoked keys, and this key's least used past the bound
	 * (never the new one: the clock counts whole seconds) */
	static const char prune_sql[] =
		"DELETE FROM mcp_sessions WHERE last_used_at < ?2 OR credential_id IN (SELECT id FROM"
		" credentials WHERE revoked_at IS NOT NULL) OR (credential_id = ?1 AND id != ?4 AND"
		" id IN (SELECT id FROM mcp_sessions WHERE credential_id = ?1 AND id != ?4 ORDER BY"
		" last_used_at DESC, created_at DESC LIMIT -1 OFFSET ?3 - 1))";
	int64_t now = clock_now();
	sqlite3_stmt *st;
	int rc;

	crypto_random_hex(MCP_SESSION_ID_LEN / 2, id);
	if (!(st = store_stmt(s, insert_sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, credential_id);
	store_bind_text(st, 3, version);
	store_bind_int(st, 4, now);
	if ((rc = store_exec_stmt(s, st, e)))
		return rc;
	if (!(st = store_stmt(s, prune_sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, credential_id);
	store_bind_int(st, 2, now - MCP_SESSION_IDLE_S);
	store_bind_int(st, 3, MCP_SESSIONS_PER_CREDENTIAL);
	store_bind_text(st, 4, id);
	return store_exec_stmt(s, st, e);
}

/* One 404 for every session that is not there, whichever the reason. */
static int no_session(struct berr *e)
{
	return berr_set(e, B_ENOTFOUND, "Mcp-Session-Id", "no such MCP session (it ended, went "
			"unused for a day, or is another key's): send initialize without "
			"Mcp-Session-Id to start one");
}

static bool session_id_valid(const char *id)
{
	if (!id || strlen(id) != MCP_SESSION_ID_LEN)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

int mcp_session_use(struct store *s, const char *id, const char *credential_id,
		    char version[MCP_VERSION_MAX + 1], struct berr *e)
{
	static const char get_sql[] =
		"SELECT protocol_version, last_used_at FROM mcp_sessions WHERE id = ?1 AND"
		" credential_id = ?2 AND last_used_at >= ?3";
	static const char touch_sql[] = "UPDATE mcp_sessions SET last_used_at = ?2 WHERE id = ?1";
	int64_t now = clock_now(), used;
	sqlite3_stmt *st;
	int rc;

	if (!session_id_valid(id))
		return no_session(e);
	if (!(st = store_stmt(s, get_sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, credential_id);
	store_bind_int(st, 3, now - MCP_SESSION_IDLE_S);
	if ((rc = store_step(s, st, e)) == SQLITE_DONE)
		return no_session(e);
	if (rc != SQLITE_ROW)
		return rc;
	snprintf(version, MCP_VERSION_MAX + 1, "%s", store_col_text(st, 0));
	used = sqlite3_column_int64(st, 1);
	sqlite3_reset(st); /* a statement left stepping holds its read snapshot open */
	if (now - used < 60)
		return B_OK;
	if (!(st = store_stmt(s, touch_sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_int(st, 2, now);
	return store_exec_stmt(s, st, e);
}

int mcp_session_end(struct store *s, const char *id, const char *credential_id, struct berr *e)
{
	static const char sql[] =
		"DELETE FROM mcp_sessions WHERE id = ?1 AND credential_id = ?2 AND last_used_at >= ?3";
	sqlite3_stmt *st;
	int rc;

	if (!session_id_valid(id))
		return no_session(e);
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, credential_id);
	store_bind_int(st, 3, clock_now() - MCP_SESSION_IDLE_S);
	if ((rc = store_exec_stmt(s, st, e)))
		return rc;
	if (store_changes(s) == 0)
		return no_session(e);
	return B_OK;
}
