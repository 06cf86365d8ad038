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
#define TRIES 2 /* a replica that is gone before it saw the call is replaced once */

/* "Name: value" lines for curl: the caller's forwarded headers, and the ones curl would add
 * by itself unless told not to. */
static const char **invoke_header_lines(struct http_req *r, const struct invoke_req *q, long ms)
{
	const char **h = arena_alloc(r->arena, (q->nheaders + 5) * sizeof(*h));
	size_t n = 0;

	for (size_t i = 0; i < q->nheaders; i++)
		h[n++] = invoke_header_line(r->arena, q->header_names[i], q->header_values[i]);
	if (!q->has_content_type)
		h[n++] = "Content-Type:";
	if (!q->has_accept)
		h[n++] = "Accept:";
	h[n++] = "Expect:";
	h[n++] = arena_printf(r->arena, "x-berth-timeout-ms: %ld", ms);
	h[n] = NULL;
	return h;
}

/* Calls replicas (route.c's order) until one answers or TRIES are spent. */
static int invoke_call(struct http_ctx *ctx, struct http_req *r, const struct invoke_req *q,
		       struct route *rt, struct tunnel_call *t, struct berr *e)
{
	long ms = ctx->app->cfg.invoke_timeout_s * 1000;
	const char **lines = invoke_header_lines(r, q, ms);
	struct route_target *rep;
	int rc = B_EUNAVAILABLE;

	for (int k = 0; k < TRIES && (rep = route_next(rt)); k++) {
		tunnel_call_free(t);
		memset(t, 0, sizeof(*t));
		t->socket_path = ctx->app->cfg.gateway_socket;
		if (!route_url(rt, rep, q->path, t->url, sizeof(t->url))) {
			route_done(rep, false);
			return berr_set(e, B_EINVAL, "path", "path is too long");
		}
		t->method = q->method;
		t->headers = lines;
		t->body = q->body;
		t->body_len = q->body_len;
		t->timeout_ms = ms + 5000; /* the agent's own deadline answers first */
		t->response_max = INVOKE_RESPONSE_MAX;
		rc = tunnel_call_run(ctx->user, t, e);
		route_done(rep, !rc && tunnel_retryable(t->platform_error));
		if (rc)
			return rc;
		if (!t->platform_error[0])
			return B_OK;
		rc = tunnel_platform_error(t->platform_error, t->platform_message, e);
		if (!tunnel_retryable(t->platform_error))
			return rc;
	}
	return rc;
}

static void respond(struct http_req *r, struct tunnel_call *t)
{
	size_t len = t->response_body.len;
	char *b64 = malloc(sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL));
	cJSON *o = cJSON_CreateObject();

	if (!b64)
		abort();
	sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL),
			  (const unsigned char *)buf_str(&t->response_body), len,
			  sodium_base64_VARIANT_ORIGINAL);
	cJSON_AddNumberToObject(o, "status_code", (double)t->status);
	cJSON_AddItemToObject(o, "headers", t->response_headers);
	t->response_headers = NULL;
	cJSON_AddStringToObject(o, "body_base64", b64);
	free(b64);
	http_respond_json(r, 200, o, NULL);
	cJSON_Delete(o);
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	const char *seg[1];
	struct principal p;
	struct berr e = {0};
	struct invoke_req q = {0};
	struct tunnel_call t = {0};
	struct route rt;
	cJSON *body;
	size_t max = (size_t)ctx->app->cfg.invoke_body_max;

	if (http_route(r, PREFIX, seg, 1) != 1)
		http_fail(r, B_ENOTFOUND, NULL, "no such endpoint: %s", r->path);
	else if (strcmp(r->method, "POST") != 0)
		http_method_not_allowed(r, "POST");
	else if (http_auth(ctx, r, AUTH_RUNTIME, &p, &e) || auth_require(&p, ROLE_MEMBER, &e) ||
		 http_read_json(r, max / 3 * 4 + BODY_MAX, &body, &e) ||
		 invoke_parse(body, max, &q, &e) || route_resolve(ctx->store, p.team_id, seg[0], &rt, &e) ||
		 invoke_call(ctx, r, &q, &rt, &t, &e))
		http_respond_error(r, &e);
	else
		respond(r, &t);
	tunnel_call_free(&t);
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
