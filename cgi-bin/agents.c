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

	if (http_route(r, "/api/v1/agents", seg, 0) != 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (strcmp(r->method, "GET") != 0)
		return http_method_not_allowed(r, "GET");
	if (http_auth(ctx, r, AUTH_MANAGEMENT, &p, &e) || auth_require(&p, ROLE_VIEWER, &e))
		return http_respond_error(r, &e);
	http_respond_page(ctx, r, p.team_id, "agent_list", fleet_list);
}

int main(int argc, char **argv)
{
	return http_main("agents", "GET /api/v1/agents: the team's agents", argc, argv, handle);
}
