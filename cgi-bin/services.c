/* services: a team's container services under /api/v1/containers: list, read (with replicas),
 * update, delete, deploy and undeploy (API.md sections 4 and 5). Creation is create-service's. */
#include "berth.h"
#include "audit.h"
#include "catalog.h"
#include "http.h"
#include "svc.h"
#include "tunnel.h"

#include <stdio.h>
#include <string.h>

#define PREFIX "/api/v1/containers"

static void get(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		const char *id)
{
	struct berr e = {0};
	cJSON *svc = NULL;

	if (catalog_get(ctx->store, p->team_id, id, &svc, &e) ||
	    catalog_add_replicas(ctx->store, svc, &e))
		http_respond_error(r, &e);
	else
		http_respond_json(r, 200, svc, NULL);
	cJSON_Delete(svc);
}

typedef int (*transition_fn)(struct store *, const char *team_id, const char *id, struct berr *);

/* One write and its audit row in one transaction: fn, or the update of v when fn is NULL. */
static int write_audited(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
			 const char *id, const char *action, transition_fn fn, const struct svc *v,
			 struct berr *e)
{
	int rc = store_begin(ctx->store, e);

	if (rc)
		return rc;
	rc = fn ? fn(ctx->store, p->team_id, id, e) : catalog_update(ctx->store, p->team_id, v, e);
	if (!rc)
		rc = audit_add(ctx->store, p, p->team_id, action, "container_service", id,
			       r->request_id, NULL, e);
	if (rc) {
		store_rollback(ctx->store);
		return rc;
	}
	return store_commit(ctx->store, e);
}

static int update(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		  const char *id, struct berr *e)
{
	cJSON *body, *cur = NULL, *merged = NULL;
	struct svc v = {0};
	int rc;

	if ((rc = http_read_json(r, BODY_MAX, &body, e)) ||
	    (rc = catalog_get(ctx->store, p->team_id, id, &cur, e)) ||
	    (rc = svc_parse_update(cur, body, &merged, &v, e)))
		goto out;
	snprintf(v.id, sizeof(v.id), "%s", id);
	snprintf(v.team_id, sizeof(v.team_id), "%s", p->team_id);
	rc = write_audited(ctx, r, p, id, "service.update", NULL, &v, e);
out:
	svc_free(&v);
	cJSON_Delete(merged);
	cJSON_Delete(cur);
	return rc;
}

static void respond_id(struct http_req *r, const char *id)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", id);
	http_respond_json(r, 200, o, NULL);
	cJSON_Delete(o);
}

static void respond_success(struct http_req *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "is_success", 1);
	http_respond_json(r, 200, o, NULL);
	cJSON_Delete(o);
}

/* /containers/{id} and /containers/{id}/deploy|undeploy */
static void one(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		const char **seg, int n)
{
	const char *m = r->method;
	struct berr e = {0};

	if (n == 1 && strcmp(m, "GET") == 0)
		return get(ctx, r, p, seg[0]);
	if (n == 2 && strcmp(seg[1], "deploy") != 0 && strcmp(seg[1], "undeploy") != 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (n == 1 && strcmp(m, "PUT") != 0 && strcmp(m, "DELETE") != 0)
		return http_method_not_allowed(r, "GET, PUT, DELETE");
	if (n == 2 && strcmp(m, "POST") != 0)
		return http_method_not_allowed(r, "POST");
	if (auth_require(p, ROLE_MEMBER, &e))
		return http_respond_error(r, &e);
	if (n == 1 && strcmp(m, "PUT") == 0) {
		if (update(ctx, r, p, seg[0], &e))
			return http_respond_error(r, &e);
		return respond_id(r, seg[0]);
	}
	bool deploy = n == 2 && strcmp(seg[1], "deploy") == 0;

	if (write_audited(ctx, r, p, seg[0],
			  n == 1 ? "service.delete" : deploy ? "service.deploy" : "service.undeploy",
			  n == 1 ? catalog_delete : deploy ? catalog_deploy : catalog_undeploy, NULL,
			  &e))
		return http_respond_error(r, &e);
	if (n == 1)
		return http_respond_empty(r, 204);
	tunnel_poke(ctx->app->cfg.gateway_socket); /* placement starts now, not on the next tick */
	respond_success(r);
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[3];
	int n = http_route(r, PREFIX, seg, 2);
	struct principal p;
	struct berr e = {0};

	if (n < 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (n == 0 && strcmp(r->method, "GET") != 0)
		return http_method_not_allowed(r, "GET, POST");
	if (http_auth(ctx, r, AUTH_MANAGEMENT, &p, &e) || auth_require(&p, ROLE_VIEWER, &e))
		return http_respond_error(r, &e);
	if (n == 0)
		return http_respond_page(ctx, r, p.team_id, "container_list", catalog_list);
	one(ctx, r, &p, seg, n);
}

int main(int argc, char **argv)
{
	return http_main("services",
			 "GET/PUT/DELETE /api/v1/containers[/{id}], POST /api/v1/containers/{id}/"
			 "deploy|undeploy", argc, argv, handle);
}
