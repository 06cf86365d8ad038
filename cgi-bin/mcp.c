/* mcp: POST/GET/DELETE /api/v1/mcp, the Model Context Protocol over its Streamable HTTP
 * transport (API.md section 4), for sk- keys. initialize starts a session (Mcp-Session-Id);
 * tools/list names three tools and tools/call runs them: the team's services
 * (list_container_services, get_container_service) and a call to one
 * (call_container_service, as POST /r/invoke). Every request gets one JSON answer; berth
 * sends nothing unasked, so GET (a stream of such messages) is 405. */
#include "berth.h"
#include "catalog.h"
#include "http.h"
#include "invoke.h"
#include "json.h"
#include "log.h"
#include "mcp.h"
#include "route.h"
#include "tunnel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PATH "/api/v1/mcp"

/* An answer in JSON-RPC's form; extra is "Name: value\r\n" lines or NULL. */
static void respond_rpc(struct http_req *r, int status, cJSON *msg, const char *extra)
{
	http_respond_json(r, status, msg, extra);
	cJSON_Delete(msg);
}

/* A request a browser page makes carries an Origin: it must name the host the request was
 * sent to. (The endpoint takes a bearer key only, which a browser never adds by itself; this
 * keeps pages of other sites out all the same, as the transport asks.) */
static bool origin_ok(struct http_req *r)
{
	const char *origin = http_header(r, "Origin"), *host = http_header(r, "Host"), *p;

	if (!origin)
		return true;
	p = strstr(origin, "://");
	return p && host && strcasecmp(p + 3, host) == 0;
}

static cJSON *tool_list(struct http_ctx *ctx, const struct principal *p, const struct mcp_call *c,
			struct berr *e)
{
	const struct page pg = {c->current_page, c->per_page};
	cJSON *out = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(out, "container_list");
	long total = 0;

	if (!out || !list)
		abort();
	if (catalog_list(ctx->store, p->team_id, (pg.current_page - 1) * pg.per_page, pg.per_page,
			 list, &total, e)) {
		cJSON_Delete(out);
		return NULL;
	}
	http_page_meta(out, &pg, total);
	return out;
}

static cJSON *tool_get(struct http_ctx *ctx, const struct principal *p, const struct mcp_call *c,
		       struct berr *e)
{
	cJSON *svc = NULL;

	if (catalog_get_by_slug(ctx->store, p->team_id, c->slug, &svc, e) ||
	    catalog_add_replicas(ctx->store, svc, e)) {
		cJSON_Delete(svc);
		return NULL;
	}
	return svc;
}

static cJSON *tool_call(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
			struct mcp_call *c, struct berr *e)
{
	struct route rt;
	cJSON *answer = NULL;

	if (route_resolve(ctx->store, p->team_id, c->slug, &rt, e) ||
	    invoke_run(ctx->user, ctx->app->cfg.gateway_socket, ctx->app->cfg.invoke_timeout_s,
		       r->arena, &c->req, &rt, &answer, e))
		return NULL;
	return answer;
}

/* tools/call: a result, with isError when the tool failed; NULL (and why) when params name no
 * tool of berth's. */
static cJSON *tools_call(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
			 const cJSON *params, char *why, size_t n)
{
	size_t max = (size_t)ctx->app->cfg.invoke_body_max;
	struct mcp_call c;
	struct berr e = {0};
	const cJSON *args;
	enum mcp_tool tool;
	cJSON *out = NULL;

	if (mcp_tool_find(params, &tool, &args, why, n))
		return NULL;
	if (!mcp_call_parse(tool, args, max, &c, &e)) {
		if (tool == MCP_TOOL_LIST)
			out = tool_list(ctx, p, &c, &e);
		else if (tool == MCP_TOOL_GET)
			out = tool_get(ctx, p, &c, &e);
		else
			out = tool_call(ctx, r, p, &c, &e);
	}
	mcp_call_free(&c);
	if (!out) {
		log_info("%s mcp tools/call %s: %s", r->request_id, params ?
			 cJSON_GetStringValue(cJSON_GetObjectItem(params, "name")) : "", e.message);
		return mcp_tool_error(&e);
	}
	return mcp_tool_result(out);
}

/* A request of a live session (or initialize, which starts one): its answer. */
static cJSON *request(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		      const struct mcp_msg *m)
{
	char why[160];
	cJSON *res;

	if (strcmp(m->method, "ping") == 0)
		return mcp_result(m->id, cJSON_CreateObject());
	if (strcmp(m->method, "tools/list") == 0)
		return mcp_result(m->id, mcp_tools_list());
	if (strcmp(m->method, "tools/call") == 0) {
		res = tools_call(ctx, r, p, m->params, why, sizeof(why));
		return res ? mcp_result(m->id, res) : mcp_error(m->id, MCP_INVALID_PARAMS, why);
	}
	snprintf(why, sizeof(why), "method not found: %.64s (berth serves initialize, ping, "
		 "tools/list, tools/call)", m->method);
	return mcp_error(m->id, MCP_METHOD_NOT_FOUND, why);
}

static void initialize(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		       const struct mcp_msg *m)
{
	const char *asked = cJSON_GetStringValue(cJSON_GetObjectItem(m->params, "protocolVersion"));
	const char *version = mcp_version_negotiate(asked);
	char id[MCP_SESSION_ID_LEN + 1], *extra;
	struct berr e = {0};

	if (mcp_session_new(ctx->store, p->credential_id, version, id, &e))
		return http_respond_error(r, &e);
	extra = arena_printf(r->arena, "Mcp-Session-Id: %s\r\n", id);
	respond_rpc(r, 200, mcp_result(m->id, mcp_initialize_result(version)), extra);
}

/* POST: one JSON-RPC message. */
static void post(struct http_ctx *ctx, struct http_req *r, const struct principal *p)
{
	size_t max = (size_t)ctx->app->cfg.invoke_body_max / 3 * 4 + BODY_MAX, len;
	const char *sid = http_header(r, "Mcp-Session-Id");
	const char *pv = http_header(r, "MCP-Protocol-Version");
	char version[MCP_VERSION_MAX + 1];
	struct berr e = {0};
	struct mcp_msg m;
	cJSON *msg = NULL;
	char *body;

	if (http_read_body(r, max, &body, &len, &e))
		return http_respond_error(r, &e);
	if (json_parse(body, len, &msg, &e))
		return respond_rpc(r, 400, mcp_error(NULL, MCP_PARSE_ERROR, e.message), NULL);
	mcp_classify(msg, &m);
	if (m.kind == MCP_INVALID) {
		respond_rpc(r, 400, mcp_error(NULL, MCP_INVALID_REQUEST, m.why), NULL);
	} else if (m.kind == MCP_REQUEST && strcmp(m.method, "initialize") == 0) {
		initialize(ctx, r, p, &m);
	} else if (pv && !mcp_version_supported(pv)) {
		http_fail(r, B_EINVAL, "MCP-Protocol-Version", "MCP-Protocol-Version %.32s is not "
			  "one berth speaks (2025-11-25, 2025-06-18)", pv);
	} else if (!sid) {
		http_fail(r, B_EINVAL, "Mcp-Session-Id", "Mcp-Session-Id is required: send "
			  "initialize first and then its Mcp-Session-Id with every request");
	} else if (mcp_session_use(ctx->store, sid, p->credential_id, version, &e)) {
		http_respond_error(r, &e);
	} else if (pv && strcmp(pv, version) != 0) {
		http_fail(r, B_EINVAL, "MCP-Protocol-Version", "MCP-Protocol-Version %s is not the "
			  "session's (%s, agreed at initialize)", pv, version);
	} else if (m.kind != MCP_REQUEST) {
		http_respond_empty(r, 202); /* notifications and responses: taken, never answered */
	} else {
		respond_rpc(r, 200, request(ctx, r, p, &m), NULL);
	}
	json_wipe(msg);
	cJSON_Delete(msg);
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[1], *sid = http_header(r, "Mcp-Session-Id");
	struct principal p;
	struct berr e = {0};

	if (http_route(r, PATH, seg, 0) != 0)
		http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	else if (!origin_ok(r))
		http_fail(r, B_EFORBIDDEN, "Origin", "a request from another site's page (Origin) is "
			  "refused");
	else if (http_auth(ctx, r, AUTH_MCP, &p, &e) ||
		 (strcmp(r->method, "DELETE") == 0 && sid &&
		  mcp_session_end(ctx->store, sid, p.credential_id, &e)))
		http_respond_error(r, &e);
	else if (strcmp(r->method, "POST") == 0)
		post(ctx, r, &p);
	else if (strcmp(r->method, "DELETE") != 0)
		http_method_not_allowed(r, "POST, DELETE"); /* GET: berth sends nothing unasked */
	else if (!sid)
		http_fail(r, B_EINVAL, "Mcp-Session-Id", "DELETE ends the session that "
			  "Mcp-Session-Id names");
	else
		http_respond_empty(r, 204); /* ended above */
}

int main(int argc, char **argv)
{
	static const struct http_prog prog = {
		.name = "mcp",
		.usage = "POST, DELETE /api/v1/mcp: the Model Context Protocol (Streamable HTTP) for "
			 "sk- keys:\nthe team's services as tools, and calls to them",
		.handler = handle,
		.thread_init = tunnel_thread_init,
		.thread_free = tunnel_thread_free,
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return http_main_pool(&prog, argc, argv);
}
