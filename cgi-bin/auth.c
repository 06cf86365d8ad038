/* auth: a person's session (API.md section 4): POST /api/v1/auth/login and /auth/refresh answer
 * a token pair without any credential; GET /api/v1/users/me is the caller's profile. Route,
 * read the body, call lib/session.c, answer. */
#include "berth.h"
#include "http.h"
#include "session.h"

#include <string.h>

typedef void (*route_fn)(struct http_ctx *ctx, struct http_req *r);

static void session_env_of(struct http_ctx *ctx, const struct http_req *r,
			   struct session_env *env)
{
	env->store = ctx->store;
	env->keys = &ctx->app->keys;
	env->access_ttl = ctx->app->cfg.jwt_ttl;
	env->request_id = r->request_id;
}

static void respond_pair(struct http_req *r, struct session_pair *pair)
{
	cJSON *out = session_pair_json(pair);

	http_respond_json(r, 200, out, NULL);
	cJSON_Delete(out);
	session_pair_free(pair);
}

static void login(struct http_ctx *ctx, struct http_req *r)
{
	struct session_pair pair = {0};
	struct session_env env;
	struct berr e = {0};
	const char *email, *password;
	cJSON *body;

	session_env_of(ctx, r, &env);
	if (http_read_json(r, BODY_MAX, &body, &e) ||
	    session_login_parse(body, &email, &password, &e) ||
	    session_login(&env, email, password, &pair, &e)) {
		http_respond_error(r, &e);
		return;
	}
	respond_pair(r, &pair);
}

static void refresh(struct http_ctx *ctx, struct http_req *r)
{
	struct session_pair pair = {0};
	struct session_env env;
	struct berr e = {0};
	const char *token;
	cJSON *body;

	session_env_of(ctx, r, &env);
	if (http_read_json(r, BODY_MAX, &body, &e) || session_refresh_parse(body, &token, &e) ||
	    session_refresh(&env, token, &pair, &e)) {
		http_respond_error(r, &e);
		return;
	}
	respond_pair(r, &pair);
}

static void me(struct http_ctx *ctx, struct http_req *r)
{
	struct principal p;
	struct berr e = {0};
	cJSON *out;

	if (http_auth(ctx, r, AUTH_USER, &p, &e) || session_profile(ctx->store, p.user_id, &out, &e)) {
		http_respond_error(r, &e);
		return;
	}
	http_respond_json(r, 200, out, NULL);
	cJSON_Delete(out);
}

static const struct {
	const char *prefix, *name, *method;
	route_fn fn;
} routes[] = {
	{"/api/v1/auth", "login", "POST", login},
	{"/api/v1/auth", "refresh", "POST", refresh},
	{"/api/v1/users", "me", "GET", me},
};

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[1];

	for (size_t i = 0; i < B_ARRAY_LEN(routes); i++) {
		if (http_route(r, routes[i].prefix, seg, 1) != 1 || strcmp(seg[0], routes[i].name) != 0)
			continue;
		if (strcmp(r->method, routes[i].method) != 0)
			http_method_not_allowed(r, routes[i].method);
		else
			routes[i].fn(ctx, r);
		return;
	}
	http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
}

int main(int argc, char **argv)
{
	return http_main("auth",
			 "POST /api/v1/auth/login, POST /api/v1/auth/refresh, GET /api/v1/users/me:\n"
			 "log in, rotate a refresh token, show the caller's profile",
			 argc, argv, handle);
}
