/* invoke: POST /api/v1/r/invoke/{slug}, the structured call of API.md section 4: the body says
 * method, path, headers and body_base64; a healthy replica answers through gatewayd and the
 * agent; the answer comes back whole as {status_code, headers, body_base64}. */
#include "berth.h"
#include "http.h"
#include "invoke.h"
#include "route.h"
#include "tunnel.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/api/v1/r/invoke"

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[1];
	struct principal p;
	struct berr e = {0};
	struct invoke_req q = {0};
	struct route rt;
	cJSON *body, *answer = NULL;
	size_t max = (size_t)ctx->app->cfg.invoke_body_max;

	if (http_route(r, PREFIX, seg, 1) != 1)
		http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	else if (strcmp(r->method, "POST") != 0)
		http_method_not_allowed(r, "POST");
	else if (http_auth(ctx, r, AUTH_RUNTIME, &p, &e) || auth_require(&p, ROLE_MEMBER, &e) ||
		 http_read_json(r, max / 3 * 4 + BODY_MAX, &body, &e) ||
		 invoke_parse(body, max, &q, &e) || route_resolve(ctx->store, p.team_id, seg[0], &rt, &e) ||
		 invoke_run(ctx->user, ctx->app->cfg.gateway_socket, ctx->app->cfg.invoke_timeout_s,
			    r->arena, &q, &rt, &answer, &e))
		http_respond_error(r, &e);
	else
		http_respond_json(r, 200, answer, NULL);
	cJSON_Delete(answer);
	invoke_req_free(&q);
}

int main(int argc, char **argv)
{
	static const struct http_prog prog = {
		.name = "invoke",
		.usage = "POST /api/v1/r/invoke/{slug}: call a running service",
		.handler = handle,
		.thread_init = tunnel_thread_init,
		.thread_free = tunnel_thread_free,
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return http_main_pool(&prog, argc, argv);
}
