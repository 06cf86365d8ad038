/* vault: /api/v1/vault/secrets and /api/v1/vault/secrets/{id}, a team's secrets for
 * external_auth_credential_id (API.md section 4). Route, authorise (admin), call lib/vault.c,
 * answer. Values go in and never come out: no response or log line carries one. */
#include "berth.h"
#include "audit.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "vault.h"

#include <string.h>

#define ROUTE "/api/v1/vault/secrets"

/* Read on the first create and kept for the life of the process. A failed read is tried
 * again on the next create, so an operator can fix the file without a restart. */
static struct vault_key vault_key;
static bool vault_key_ready;

static int key_get(struct http_ctx *ctx, struct berr *e)
{
	int rc;

	if (vault_key_ready)
		return B_OK;
	if ((rc = vault_key_load(&vault_key, ctx->app->cfg.vault_key_file, e))) {
		log_error("%s", e->message); /* the path is for the operator, not the caller */
		return berr_set(e, rc, "", "the vault is not set up on this server; see its log");
	}
	vault_key_ready = true;
	return B_OK;
}

static cJSON *secret_json(const struct vault_secret *v)
{
	char t[RFC3339_LEN + 1];
	cJSON *o = cJSON_CreateObject();

	clock_rfc3339(v->created_at, t);
	cJSON_AddStringToObject(o, "id", v->id);
	cJSON_AddStringToObject(o, "display_name", v->display_name);
	cJSON_AddStringToObject(o, "created_at", t);
	return o;
}

static int create_row(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		      const struct vault_input *in, struct vault_secret *v, struct berr *e)
{
	int rc;

	if ((rc = store_begin(ctx->store, e)))
		return rc;
	if ((rc = vault_secret_create(ctx->store, &vault_key, p->team_id, in->display_name,
				      in->secret_value, v, e)) ||
	    (rc = audit_add(ctx->store, p, p->team_id, "vault.create", "vault_secret", v->id,
			    r->request_id, NULL, e))) {
		store_rollback(ctx->store);
		return rc;
	}
	return store_commit(ctx->store, e);
}

static int create(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		  struct berr *e)
{
	struct vault_input in;
	struct vault_secret v;
	cJSON *body, *out;
	int rc;

	if ((rc = http_read_json(r, BODY_MAX, &body, e)))
		return rc;
	if (!(rc = vault_parse_create(body, &in, e)) && !(rc = key_get(ctx, e)))
		rc = create_row(ctx, r, p, &in, &v, e);
	vault_wipe_body(body);
	if (rc)
		return rc;
	out = secret_json(&v);
	http_respond_json(r, 201, out, arena_printf(r->arena, "Location: " ROUTE "/%s\r\n", v.id));
	cJSON_Delete(out);
	return B_OK;
}

static int list_add(const struct vault_secret *v, void *arg)
{
	cJSON_AddItemToArray(arg, secret_json(v));
	return B_OK;
}

static int list(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		struct berr *e)
{
	struct page pg;
	long total = 0;
	cJSON *out, *arr;
	int rc;

	if ((rc = http_page(r, &pg, e)))
		return rc;
	out = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(out, "secret_list");
	if ((rc = vault_secret_list(ctx->store, p->team_id, pg.current_page, pg.per_page, list_add,
				    arr, &total, e))) {
		cJSON_Delete(out);
		return rc;
	}
	http_page_meta(out, &pg, total);
	http_respond_json(r, 200, out, NULL);
	cJSON_Delete(out);
	return B_OK;
}

static int show(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		const char *id, struct berr *e)
{
	struct vault_secret v;
	cJSON *out;
	int rc;

	if ((rc = vault_secret_get(ctx->store, p->team_id, id, &v, e)))
		return rc;
	out = secret_json(&v);
	http_respond_json(r, 200, out, NULL);
	cJSON_Delete(out);
	return B_OK;
}

static int delete(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		  const char *id, struct berr *e)
{
	int rc;

	if ((rc = store_begin(ctx->store, e)))
		return rc;
	if ((rc = vault_secret_delete(ctx->store, p->team_id, id, e)) ||
	    (rc = audit_add(ctx->store, p, p->team_id, "vault.delete", "vault_secret", id,
			    r->request_id, NULL, e))) {
		store_rollback(ctx->store);
		return rc;
	}
	if ((rc = store_commit(ctx->store, e)))
		return rc;
	http_respond_empty(r, 204);
	return B_OK;
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[1];
	int n = http_route(r, ROUTE, seg, 1), rc;
	bool get = strcmp(r->method, "GET") == 0;
	struct principal p;
	struct berr e = {0};

	if (n < 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (n == 0 && !get && strcmp(r->method, "POST") != 0)
		return http_method_not_allowed(r, "GET, POST");
	if (n == 1 && !get && strcmp(r->method, "DELETE") != 0)
		return http_method_not_allowed(r, "GET, DELETE");
	if (http_auth(ctx, r, AUTH_MANAGEMENT, &p, &e) || auth_require(&p, ROLE_ADMIN, &e))
		return http_respond_error(r, &e);
	if (n == 0)
		rc = get ? list(ctx, r, &p, &e) : create(ctx, r, &p, &e);
	else
		rc = get ? show(ctx, r, &p, seg[0], &e) : delete(ctx, r, &p, seg[0], &e);
	if (rc)
		http_respond_error(r, &e);
}

int main(int argc, char **argv)
{
	int rc = http_main("vault", "GET, POST /api/v1/vault/secrets; GET, DELETE "
			   "/api/v1/vault/secrets/{id}: a team's secrets (admin)", argc, argv, handle);

	vault_key_wipe(&vault_key);
	return rc;
}
