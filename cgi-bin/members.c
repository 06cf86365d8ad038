/* members: the people of a team and their roles (API.md sections 1 and 4). GET
 * /api/v1/members lists them for any member; PUT /api/v1/members/{user_id} changes a role and
 * DELETE removes a member, for admins. The rules (owner untouchable, never your own
 * membership) live in acct.c. */
#include "berth.h"
#include "acct.h"
#include "audit.h"
#include "http.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

#define ROUTE "/api/v1/members"
#define ROLE_TEXT_MAX 16

static const char *const update_fields[] = {"role", NULL};

static int authorise(struct http_ctx *ctx, struct http_req *r, enum role need,
		     struct principal *p, struct berr *e)
{
	int rc = http_auth(ctx, r, AUTH_MANAGEMENT, p, e);

	return rc ? rc : auth_require(p, need, e);
}

/* {"role": role, "previous_role": previous} (previous omitted when ROLE_NONE), for the audit
 * row. Freed with the arena. */
static const char *role_detail(struct http_req *r, enum role role, enum role previous)
{
	cJSON *d = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(d, "role", role_name(role));
	if (previous != ROLE_NONE)
		cJSON_AddStringToObject(d, "previous_role", role_name(previous));
	s = json_print(d);
	cJSON_Delete(d);
	arena_defer(r->arena, free, s);
	return s;
}

static void list(struct http_ctx *ctx, struct http_req *r)
{
	struct principal p;
	struct berr e = {0};

	if (authorise(ctx, r, ROLE_VIEWER, &p, &e))
		return http_respond_error(r, &e);
	http_respond_page(ctx, r, p.team_id, "member_list", acct_member_list);
}

/* The role a PUT body asks for; ROLE_NONE for a word that is not a role (acct says why). */
static int read_role(struct http_req *r, enum role *to, struct berr *e)
{
	const char *s;
	cJSON *body;
	int rc;

	if ((rc = http_read_json(r, BODY_MAX, &body, e)) ||
	    (rc = json_only_keys(body, update_fields, "", e)) ||
	    (rc = json_get_string(body, "role", "role", true, 1, ROLE_TEXT_MAX, &s, e)))
		return rc;
	*to = role_parse(s);
	return B_OK;
}

static int update_store(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
			const char *user_id, enum role to, struct berr *e)
{
	enum role was;
	int rc;

	if ((rc = store_begin(ctx->store, e)))
		return rc;
	if ((rc = acct_member_set_role(ctx->store, p->team_id, p->user_id, user_id, to, &was, e)) ||
	    (rc = audit_add(ctx->store, p, p->team_id, "member.update", "member", user_id,
			    r->request_id, role_detail(r, to, was), e))) {
		store_rollback(ctx->store);
		return rc;
	}
	return store_commit(ctx->store, e);
}

static void update(struct http_ctx *ctx, struct http_req *r, const char *user_id)
{
	struct principal p;
	struct berr e = {0};
	enum role to;
	cJSON *out;

	if (authorise(ctx, r, ROLE_ADMIN, &p, &e) || read_role(r, &to, &e) ||
	    update_store(ctx, r, &p, user_id, to, &e))
		return http_respond_error(r, &e);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "user_id", user_id);
	cJSON_AddStringToObject(out, "role", role_name(to));
	http_respond_json(r, 200, out, NULL);
	cJSON_Delete(out);
}

static int remove_store(struct http_ctx *ctx, struct http_req *r, const struct principal *p,
			const char *user_id, struct berr *e)
{
	enum role was;
	int rc;

	if ((rc = store_begin(ctx->store, e)))
		return rc;
	if ((rc = acct_member_remove(ctx->store, p->team_id, p->user_id, user_id, &was, e)) ||
	    (rc = audit_add(ctx->store, p, p->team_id, "member.remove", "member", user_id,
			    r->request_id, role_detail(r, was, ROLE_NONE), e))) {
		store_rollback(ctx->store);
		return rc;
	}
	return store_commit(ctx->store, e);
}

static void remove_member(struct http_ctx *ctx, struct http_req *r, const char *user_id)
{
	struct principal p;
	struct berr e = {0};

	if (authorise(ctx, r, ROLE_ADMIN, &p, &e) || remove_store(ctx, r, &p, user_id, &e))
		return http_respond_error(r, &e);
	http_respond_empty(r, 204);
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[1];
	int n = http_route(r, ROUTE, seg, 1);

	if (n < 0)
		return http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	if (n == 0 && strcmp(r->method, "GET") == 0)
		return list(ctx, r);
	if (n == 0)
		return http_method_not_allowed(r, "GET");
	if (strcmp(r->method, "PUT") == 0)
		return update(ctx, r, seg[0]);
	if (strcmp(r->method, "DELETE") == 0)
		return remove_member(ctx, r, seg[0]);
	return http_method_not_allowed(r, "PUT, DELETE");
}

int main(int argc, char **argv)
{
	return http_main("members",
			 "GET /api/v1/members, PUT and DELETE /api/v1/members/{user_id}: "
			 "list a team's members, change a role, remove a member", argc, argv, handle);
}
