/* invoke.h: the body of POST /r/invoke/{slug} (API.md section 4): the method, the path rules,
 * body_base64 decoded under a limit, and the caller's headers less the ones never forwarded.
 * Choosing a replica and calling it are the program's and tunnel.c's. */
#ifndef BERTH_INVOKE_H
#define BERTH_INVOKE_H

#include "arena.h"
#include "berth.h"
#include "berth_limits.h"
#include "err.h"

#include <cjson/cJSON.h>

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
