/* create-service: POST /api/v1/containers, creating a container service definition
 * (API.md sections 1-3). Parse, authorise, validate, insert, audit, answer 201. */
#include "berth.h"
#include "audit.h"
#include "http.h"
#include "svc.h"

#include <stdio.h>
#include <string.h>

#define ROUTE "/api/v1/containers"

static int create(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		  struct svc *v, struct berr *e)
{
	cJSON *body;
	int rc;

	if ((rc = http_read_json(r, BODY_MAX, &body, e)) || (rc = svc_parse_create(body, v, e)))
		return rc;
	memcpy(v->team_id, p->team_id, sizeof(v->team_id));
	if ((rc = store_begin(ctx->store, e)))
		return rc;
	if ((rc = svc_insert(ctx->store, v, e)) ||
	    (rc = audit_add(ctx->store, p, p->team_id, "service.create", "container_service", v->id,
			    r->request_id, NULL, e))) {
		store_rollback(ctx->store);
		return rc;
	}
	return store_commit(ctx->store, e);
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	struct principal p;
	struct berr e = {0};
	struct svc v = {0};
	cJSON *out;

	if (strcmp(r->path, ROUTE) != 0 && strcmp(r->path, ROUTE "/") != 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (strcmp(r->method, "POST") != 0) {
		r->allow = "Allow: POST\r\n";
		e.status = 405;
		e.code = "method_not_allowed";
		snprintf(e.message, sizeof(e.message), "%s is not allowed here; use POST", r->method);
		return http_respond_error(r, &e);
	}
	if (http_auth(ctx, r, AUTH_MANAGEMENT, &p, &e) || auth_require(&p, ROLE_MEMBER, &e) ||
	    create(ctx, r, &p, &v, &e)) {
		svc_free(&v);
		return http_respond_error(r, &e);
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", v.id);
	http_respond_json(r, 201, out, arena_printf(r->arena, "Location: " ROUTE "/%s\r\n", v.id));
	cJSON_Delete(out);
	svc_free(&v);
}

int main(int argc, char **argv)
{
	return http_main("create-service", "POST /api/v1/containers: create a container service",
			 argc, argv, handle);
}
