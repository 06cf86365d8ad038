/* agents: GET /api/v1/agents, the team's agents as gatewayd keeps them (API.md section 4). */
#include "berth.h"
#include "fleet.h"
#include "http.h"

#include <string.h>

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[1];
	struct principal p;
	struct berr e = {0};
	struct page pg;
	cJSON *out, *items;
	long total;

	if (http_route(r, "/api/v1/agents", seg, 0) != 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (strcmp(r->method, "GET") != 0)
		return http_method_not_allowed(r, "GET");
	if (http_auth(ctx, r, AUTH_MANAGEMENT, &p, &e) || auth_require(&p, ROLE_VIEWER, &e) ||
	    http_page(r, &pg, &e))
		return http_respond_error(r, &e);
	out = cJSON_CreateObject();
	items = cJSON_AddArrayToObject(out, "agent_list");
	if (fleet_list(ctx->store, p.team_id, (pg.current_page - 1) * pg.per_page, pg.per_page,
		       items, &total, &e)) {
		http_respond_error(r, &e);
	} else {
		http_page_meta(out, &pg, total);
		http_respond_json(r, 200, out, NULL);
	}
	cJSON_Delete(out);
}

int main(int argc, char **argv)
{
	return http_main("agents", "GET /api/v1/agents: the team's agents", argc, argv, handle);
}
