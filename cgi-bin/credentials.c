/* credentials: a team's API keys (API.md sections 1 and 4). POST /api/v1/credentials issues
 * an integration or agent key and shows it once, GET lists them without secrets, DELETE
 * /api/v1/credentials/{id} revokes one. Only a person (a session JWT) with the admin role may
 * do any of it: a key must never mint or revoke keys. */
#include "berth.h"
#include "audit.h"
#include "clock.h"
#include "cred.h"
#include "http.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define ROUTE "/api/v1/credentials"

static int authorise(struct http_ctx *ctx, struct http_req *r, struct principal *p,
		     struct berr *e)
{
	int rc = http_auth(ctx, r, AUTH_SESSION, p, e);

	return rc ? rc : auth_require(p, ROLE_ADMIN, e);
}

/* The audit detail of an issue: what was made, never the key. Freed with the arena. */
static const char *issue_detail(struct http_req *r, const struct cred_new *c)
{
	cJSON *d = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(d, "kind", cred_kind_name(c->kind));
	cJSON_AddStringToObject(d, "display_name", c->display_name);
	s = json_print(d);
	cJSON_Delete(d);
	arena_defer(r->arena, free, s);
	return s;
}

/* Inserts the key and its audit row in one transaction. */
static int issue_store(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
		       const struct cred_new *c, char id[UUID_STR_LEN + 1], char raw[KEY_MAX + 1],
		       struct berr *e)
{
	int rc;

	if ((rc = store_begin(ctx->store, e)))
		return rc;
	if ((rc = auth_credential_issue(ctx->store, c->kind, p->team_id, NULL, c->display_name,
					c->expires_at, id, raw, e)) ||
	    (rc = audit_add(ctx->store, p, p->team_id, "credential.create", "credential", id,
			    r->request_id, issue_detail(r, c), e))) {
		store_rollback(ctx->store);
		return rc;
	}
	return store_commit(ctx->store, e);
}

static void issue(struct http_ctx *ctx, struct http_req *r)
{
	char id[UUID_STR_LEN + 1], raw[KEY_MAX + 1], prefix[KEY_PREFIX_LEN + 1];
	struct principal p;
	struct berr e = {0};
	struct cred_new c;
	cJSON *body, *out;

	if (authorise(ctx, r, &p, &e) || http_read_json(r, BODY_MAX, &body, &e) ||
	    cred_parse_create(body, clock_now(), &c, &e) || issue_store(ctx, r, &p, &c, id, raw, &e))
		return http_respond_error(r, &e);
	memcpy(prefix, raw, KEY_PREFIX_LEN);
	prefix[KEY_PREFIX_LEN] = '\0';
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", id);
	cJSON_AddStringToObject(out, "kind", cred_kind_name(c.kind));
	cJSON_AddStringToObject(out, "key_prefix", prefix);
	cJSON_AddStringToObject(out, "raw_key", raw);
	http_respond_json(r, 201, out, arena_printf(r->arena, "Location: " ROUTE "/%s\r\n", id));
	cJSON_Delete(out);
}

static void list(struct http_ctx *ctx, struct http_req *r)
{
	struct principal p;
	struct berr e = {0};

	if (authorise(ctx, r, &p, &e))
		return http_respond_error(r, &e);
	http_respond_page(ctx, r, p.team_id, "credential_list", cred_list);
}

/* Revocation is audited once, when it happens; revoking again is a 204 that changes nothing. */
static int revoke_store(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
			const char *id, struct berr *e)
{
	bool now;
	int rc;

	if ((rc = store_begin(ctx->store, e)))
		return rc;
	if ((rc = cred_revoke(ctx->store, p->team_id, id, &now, e)) ||
	    (now && (rc = audit_add(ctx->store, p, p->team_id, "credential.revoke", "credential",
				    id, r->request_id, NULL, e)))) {
		store_rollback(ctx->store);
		return rc;
	}
	return store_commit(ctx->store, e);
}

static void revoke(struct http_ctx *ctx, struct http_req *r, const char *id)
{
	struct principal p;
	struct berr e = {0};

	if (authorise(ctx, r, &p, &e) || revoke_store(ctx, r, &p, id, &e))
		return http_respond_error(r, &e);
	http_respond_empty(r, 204);
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[1];
	int n = http_route(r, ROUTE, seg, 1);

	if (n < 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (n == 0 && strcmp(r->method, "POST") == 0)
		return issue(ctx, r);
	if (n == 0 && strcmp(r->method, "GET") == 0)
		return list(ctx, r);
	if (n == 0)
		return http_method_not_allowed(r, "GET, POST");
	if (strcmp(r->method, "DELETE") == 0)
		return revoke(ctx, r, seg[0]);
	return http_method_not_allowed(r, "DELETE");
}

int main(int argc, char **argv)
{
	return http_main("credentials",
			 "POST, GET /api/v1/credentials and DELETE /api/v1/credentials/{id}: "
			 "issue, list and revoke a team's API keys", argc, argv, handle);
}
