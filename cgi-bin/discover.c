/* discover: what a runtime caller (JWT, sk-, dk-) may see of its team: GET /api/v1/r/containers,
 * GET /api/v1/r/containers/{slug} and GET /api/v1/r/agents (API.md section 4, runtime). */
#include "berth.h"
#include "catalog.h"
#include "fleet.h"
#include "http.h"

#include <string.h>

static void by_slug(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		    const char *slug)
{
	struct berr e = {0};
	cJSON *svc = NULL;

	if (catalog_get_by_slug(ctx->store, p->team_id, slug, &svc, &e) ||
	    catalog_add_replicas(ctx->store, svc, &e))
		http_respond_error(r, &e);
	else
		http_respond_json(r, 200, svc, NULL);
	cJSON_Delete(svc);
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[2];
	int nc = http_route(r, "/api/v1/r/containers", seg, 1);
	int na = http_route(r, "/api/v1/r/agents", seg + 1, 0);
	struct principal p;
	struct berr e = {0};

	if (nc < 0 && na < 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (strcmp(r->method, "GET") != 0)
		return http_method_not_allowed(r, "GET");
	if (http_auth(ctx, r, AUTH_RUNTIME, &p, &e) || auth_require(&p, ROLE_VIEWER, &e))
		return http_respond_error(r, &e);
	if (na == 0)
		return http_respond_page(ctx, r, p.team_id, "agent_list", fleet_list);
	if (nc == 0)
		return http_respond_page(ctx, r, p.team_id, "container_list", catalog_list);
	by_slug(ctx, r, &p, seg[0]);
}

int main(int argc, char **argv)
{
	return http_main("discover", "GET /api/v1/r/containers[/{slug}], GET /api/v1/r/agents",
			 argc, argv, handle);
}
