/* proxy: ANY /api/v1/r/containers/{slug}/{path...}, the transparent proxy of API.md section 4.
 * The method, the rest of the path with its query, the caller's headers (less hop-by-hop ones
 * and its berth credential) and the body go to a healthy replica through gatewayd and the
 * agent; the answer comes back as the container gave it, streamed both ways: nothing is held
 * whole, so an SSE event reaches the caller when the container sends it. */
#include "berth.h"
#include "http.h"
#include "invoke.h"
#include "log.h"
#include "route.h"
#include "tunnel.h"
#include "valid.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PREFIX "/api/v1/r/containers/"
#define TRIES 2              /* a replica gone before it saw the call is replaced once */
#define METHOD_MAX 32
#define LINES_MAX (INVOKE_HEADERS_MAX + 8) /* the caller's, then at most 8 of the platform's */

struct proxy_call {
	struct http_req *r;
	bool key_mode;       /* the credential came in X-Berth-Key: Authorization is the service's */
	bool jwt;            /* the credential was a token: X-Team-ID is berth's, not the service's */
	const char *lines[LINES_MAX + 1];
	size_t nlines;
};

/* Methods are tokens (RFC 9110); lighttpd passes on only those it knows (WebDAV's too). */
static bool method_valid(const char *m)
{
	return strlen(m) <= METHOD_MAX && valid_http_token(m);
}

/* "HTTP_X_FORWARDED_FOR" -> "x-forwarded-for" into out. */
static void header_name(const char *param, size_t len, char *out, size_t n)
{
	size_t i;

	for (i = 0; i < len && i + 1 < n; i++)
		out[i] = param[i] == '_' ? '-' : (char)tolower((unsigned char)param[i]);
	out[i] = '\0';
}

/* A name listed in the caller's Connection header is hop-by-hop too. */
static bool connection_lists(const char *connection, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = connection; p && *p;) {
		size_t len;

		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (len == n && strncasecmp(p, name, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* Whether a caller's header travels on to the container. */
static bool forwarded(const struct proxy_call *c, const char *name, const char *connection)
{
	static const char *const ours[] = {"expect", "x-forwarded-for", "x-forwarded-proto",
					   "x-forwarded-host"};

	if (!invoke_header_forwarded(name) || connection_lists(connection, name))
		return false;
	for (size_t i = 0; i < B_ARRAY_LEN(ours); i++)
		if (strcmp(name, ours[i]) == 0)
			return false;
	if (strcmp(name, "authorization") == 0)
		return c->key_mode;
	if (strcmp(name, "x-team-id") == 0)
		return !c->jwt;
	return true;
}

static void add_line(struct proxy_call *c, const char *line)
{
	if (c->nlines == LINES_MAX)
		abort(); /* INVOKE_HEADERS_MAX of the caller's and the 8 below fit */
	c->lines[c->nlines++] = line;
	c->lines[c->nlines] = NULL;
}

/* The caller's headers for curl, then X-Forwarded-*, then blanks that keep curl from adding
 * headers of its own. */
static int proxy_headers(struct proxy_call *c, long timeout_ms, struct berr *e)
{
	struct http_req *r = c->r;
	const char *connection = http_header(r, "Connection"), *ct = http_param(r, "CONTENT_TYPE");
	const char *xff = http_header(r, "X-Forwarded-For"), *addr = http_param(r, "REMOTE_ADDR");
	const char *host = http_header(r, "Host"), *https = http_param(r, "HTTPS");
	bool accept = false;

	for (char **env = r->fcgx->envp; *env; env++) {
		const char *eq = strchr(*env, '=');
		char name[INVOKE_HEADER_NAME_MAX + 1];

		if (strncmp(*env, "HTTP_", 5) != 0 || !eq || (size_t)(eq - *env - 5) > INVOKE_HEADER_NAME_MAX)
			continue;
		header_name(*env + 5, (size_t)(eq - *env - 5), name, sizeof(name));
		if (!forwarded(c, name, connection))
			continue;
		if (c->nlines == INVOKE_HEADERS_MAX)
			return berr_set(e, B_EINVAL, "headers", "more than %d request headers are "
					"forwarded", INVOKE_HEADERS_MAX);
		accept |= strcmp(name, "accept") == 0;
		/* lighttpd passes no header with an empty value (nor Proxy); Apache does */
		add_line(c, invoke_header_line(r->arena, name, eq + 1));
	}
	if (ct && *ct)
		add_line(c, arena_printf(r->arena, "content-type: %s", ct));
	add_line(c, arena_printf(r->arena, "x-forwarded-for: %s%s%s", xff ? xff : "",
				 xff ? ", " : "", addr ? addr : ""));
	add_line(c, arena_printf(r->arena, "x-forwarded-proto: %s",
				 https && strcasecmp(https, "on") == 0 ? "https" : "http"));
	if (host)
		add_line(c, arena_printf(r->arena, "x-forwarded-host: %s", host));
	add_line(c, arena_printf(r->arena, "x-berth-timeout-ms: %ld", timeout_ms));
	if (!(ct && *ct))
		add_line(c, "Content-Type:");
	if (!accept)
		add_line(c, "Accept:");
	add_line(c, "Expect:");
	return B_OK;
}

/* X-Berth-Key: <credential> (a Bearer prefix is allowed) stands in for Authorization. */
static int proxy_auth(struct http_ctx *ctx, struct proxy_call *c, struct principal *p,
		      struct berr *e)
{
	struct http_req *r = c->r;
	const char *key = http_header(r, "X-Berth-Key"), *authz = http_header(r, "Authorization");
	const char *cred;
	int rc;

	c->key_mode = key != NULL;
	if (key) {
		while (*key == ' ')
			key++;
		cred = strncasecmp(key, "Bearer ", 7) == 0 ? key : arena_printf(r->arena, "Bearer %s", key);
	} else {
		cred = authz;
	}
	c->jwt = cred && strstr(cred, "eyJ") != NULL;
	rc = auth_request(ctx->store, &ctx->app->keys, cred, http_header(r, "X-Team-ID"),
			  AUTH_RUNTIME, p, e);
	if (rc && key && strcmp(e->field, "Authorization") == 0)
		snprintf(e->field, sizeof(e->field), "X-Berth-Key");
	else if (rc && !(cred && *cred))
		snprintf(e->message, sizeof(e->message), "missing credential: send Authorization: "
			 "Bearer <token or key>, or X-Berth-Key: <token or key> to keep your "
			 "Authorization for the service");
	return rc ? rc : auth_require(p, ROLE_MEMBER, e);
}

static size_t proxy_read(char *p, size_t n, void *arg)
{
	struct proxy_call *c = arg;

	/* the read may wait for the caller: what the answer held back goes first, as it would
	 * have without the hold */
	if (http_stream_flush(c->r) < 0)
		return TUNNEL_READ_ABORT;
	return http_stream_read(c->r, p, n);
}

static int proxy_head(void *arg, long status, char *const *lines, size_t n)
{
	struct proxy_call *c = arg;

	return http_stream_head(c->r, (int)status, lines, n) < 0;
}

static int proxy_data(void *arg, const char *p, size_t n)
{
	struct proxy_call *c = arg;

	return http_stream_write(c->r, p, n) < 0;
}

static int proxy_flush(void *arg)
{
	struct proxy_call *c = arg;

	return http_stream_flush(c->r) < 0;
}

static int proxy_end(void *arg)
{
	struct proxy_call *c = arg;

	return http_stream_end(c->r) < 0;
}

/* Replicas in route.c's order until one answers; only a call whose body was not sent yet is
 * tried again. */
static int proxy_call(struct http_ctx *ctx, struct proxy_call *c, struct route *rt,
		      const char *path, long long body_len, struct berr *e)
{
	struct tunnel_stream t = {0};
	struct route_target *rep;
	int rc = B_EUNAVAILABLE;

	t.socket_path = ctx->app->cfg.gateway_socket;
	t.method = c->r->method;
	t.headers = c->lines;
	t.body_len = body_len;
	t.read_body = proxy_read;
	t.on_head = proxy_head;
	t.on_data = proxy_data;
	t.on_flush = proxy_flush;
	t.on_end = proxy_end;
	t.arg = c;
	t.head_timeout_ms = ctx->app->cfg.invoke_timeout_s * 1000 + 5000; /* the agent's first */
	for (int k = 0; k < TRIES && (rep = route_next(rt)); k++) {
		if (!route_url(rt, rep, path, t.url, sizeof(t.url))) {
			route_done(rep, false);
			return berr_set(e, B_EINVAL, "path", "the path is too long");
		}
		rc = tunnel_stream_run(ctx->user, &t, e);
		route_done(rep, !rc && tunnel_retryable(t.platform_error));
		if (rc || t.head_sent)
			return rc;
		rc = tunnel_platform_error(t.platform_error, t.platform_message, e);
		if (!tunnel_retryable(t.platform_error) || t.body_read > 0)
			return rc;
	}
	return rc;
}

/* The slug and the rest of the raw path ("/" at least) with its query. */
static int proxy_target(struct http_req *r, const char **slug, const char **path, struct berr *e)
{
	const char *uri = http_param(r, "REQUEST_URI"), *rest;

	if (!uri || strncmp(uri, PREFIX, strlen(PREFIX)) != 0)
		return berr_set(e, B_ENOTFOUND, "", "no such endpoint: %s", r->path);
	uri += strlen(PREFIX);
	rest = strchr(uri, '/');
	if (!rest || rest == uri || memchr(uri, '?', (size_t)(rest - uri)))
		return berr_set(e, B_ENOTFOUND, "", "no such endpoint: %s", r->path);
	*slug = arena_strndup(r->arena, uri, (size_t)(rest - uri));
	*path = rest;
	if (!invoke_path_valid(rest))
		return berr_set(e, B_EINVAL, "path", "the path after the service must start with one "
				"'/', have no '.' or '..' segment, no control characters or spaces, "
				"and be at most %d bytes", INVOKE_PATH_MAX);
	return B_OK;
}

/* The caller and the route in one read transaction, ended before the call: a stream may
 * last for hours, a reader must not. */
static int proxy_lookup(struct http_ctx *ctx, struct proxy_call *c, struct principal *p,
			const char *slug, struct route *rt, struct berr *e)
{
	int rc = store_read_begin(ctx->store, e);

	if (!rc && !(rc = proxy_auth(ctx, c, p, e)))
		rc = route_resolve(ctx->store, p->team_id, slug, rt, e);
	store_read_end(ctx->store);
	auth_touch(ctx->store, p);
	return rc;
}

static void handle(struct http_ctx *ctx, struct http_req *r)
{
	struct proxy_call c = {.r = r};
	char hold[HTTP_STREAM_HOLD]; /* the answer's bytes that came together go out together */
	const char *slug = NULL, *path = NULL;
	struct principal p = {0};
	struct berr e = {0};
	struct route rt;
	long long len = 0;

	http_stream_hold(r, hold, sizeof(hold));
	if (proxy_target(r, &slug, &path, &e) || http_body_length(r, &len, &e))
		http_respond_error(r, &e);
	else if (!method_valid(r->method))
		http_fail(r, B_EINVAL, "method", "%.40s is not an HTTP method", r->method);
	else if (proxy_lookup(ctx, &c, &p, slug, &rt, &e) ||
		 proxy_headers(&c, ctx->app->cfg.invoke_timeout_s * 1000, &e) ||
		 proxy_call(ctx, &c, &rt, path, len, &e)) {
		if (!r->responded)
			http_respond_error(r, &e);
		else
			log_info("%s %s %s: cut short: %s", r->request_id, r->method, r->path,
				 e.message);
	}
	http_stream_hold(r, NULL, 0); /* hold goes with this frame; tunnel_stream_run ended it */
}

int main(int argc, char **argv)
{
	static const struct http_prog prog = {
		.name = "proxy",
		.usage = "ANY /api/v1/r/containers/{slug}/{path...}: a running service, streamed",
		.handler = handle,
		.thread_init = tunnel_thread_init,
		.thread_free = tunnel_thread_free,
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return http_main_pool(&prog, argc, argv);
}
