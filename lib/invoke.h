/* invoke.h: the structured call of POST /r/invoke/{slug} (API.md section 4), which MCP's
 * call_container_service makes too: its body (the method, the path rules, body_base64 decoded
 * under a limit, the caller's headers less the ones never forwarded), and the call itself on
 * route.c's replicas through tunnel.c, answered as {status_code, headers, body_base64}. */
#ifndef BERTH_INVOKE_H
#define BERTH_INVOKE_H

#include "arena.h"
#include "berth.h"
#include "berth_limits.h"
#include "err.h"

#include "route.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

struct invoke_req {
	const char *method;                 /* GET POST PUT PATCH DELETE HEAD OPTIONS */
	const char *path;                   /* "/..." with its query; points into the JSON */
	unsigned char *body;                /* decoded body_base64; free with invoke_req_free */
	size_t body_len;
	const char *header_names[INVOKE_HEADERS_MAX];  /* forwarded ones, as the caller wrote them */
	const char *header_values[INVOKE_HEADERS_MAX];
	size_t nheaders;
	bool has_content_type, has_accept;
};

/* Reads body (the parsed request object) into out; body_max bounds the decoded body (413
 * above it). Errors are 400 naming the field. */
int invoke_parse(const cJSON *body, size_t body_max, struct invoke_req *out,
		 struct berr *e) B_MUST_CHECK;
void invoke_req_free(struct invoke_req *r);

/* Calls rt's replicas in route.c's order (one that was gone before it saw the call is
 * replaced once) with q, through gatewayd at socket_path on the thread's curl handle,
 * allowing the container timeout_s to answer. B_OK with *out = {status_code, headers,
 * body_base64}, whatever the container's status; else the platform's error (502, 503, 504).
 * Header lines live in a. */
int invoke_run(CURL *curl, const char *socket_path, long timeout_s, struct arena *a,
	       const struct invoke_req *q, struct route *rt, cJSON **out,
	       struct berr *e) B_MUST_CHECK;

/* The path rules: starts with '/', not "//", no scheme or host, no "." or ".." segment
 * (percent-encoded ones included), no control characters or spaces, at most
 * INVOKE_PATH_MAX; a query string is allowed. */
bool invoke_path_valid(const char *path);
/* False for hop-by-hop headers, Content-Length, Host and X-Berth-*: they never travel on. */
bool invoke_header_forwarded(const char *name);
/* name and value as a line of curl's header list, in a. curl takes "Name:" with nothing after
 * it as "do not send Name", so a header whose value is empty (or blanks) goes as "Name;",
 * curl's way of sending it empty. */
const char *invoke_header_line(struct arena *a, const char *name, const char *value);

#endif
