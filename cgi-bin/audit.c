/* audit: GET /api/v1/audit, the caller's team's audit trail, newest first, for admins
 * (API.md section 4; DESIGN.md "Data"). Rows are written by the programs that act. */
#include "berth.h"
#include "audit.h"
#include "http.h"

#include <string.h>

#define ROUTE "/api/v1/audit"

static void list(struct http_ctx *ctx, struct http_req *r)
{
	struct principal p;
	struct berr e = {0};

	if (http_auth(ctx, r, AUTH_MANAGEMENT, &p, &e) || auth_require(&p, ROLE_ADMIN, &e))
		return http_respond_error(r, &e);
	http_respond_page(ctx, r, p.team_id, "audit_list", audit_list);
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[1];
	int n = http_route(r, ROUTE, seg, 0);

	if (n < 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (strcmp(r->method, "GET") != 0)
		return http_method_not_allowed(r, "GET");
	list(ctx, r);
}

int main(int argc, char **argv)
{
	return http_main("audit", "GET /api/v1/audit: the team's audit trail, newest first", argc,
			 argv, handle);
}
