#include "berth.h"
#include "invoke.h"
#include "hop.h"
#include "json.h"
#include "tunnel.h"
#include "valid.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const invoke_fields[] = {"method", "path", "body_base64", "headers", NULL};
static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};

/* "." or ".." in any spelling: %2e is a dot too. */
static bool dot_segment(const char *seg, size_t n)
{
	size_t dots = 0;

	for (size_t i = 0; i < n;) {
		if (seg[i] == '.') {
			i++;
		} else if (n - i >= 3 && seg[i] == '%' && seg[i + 1] == '2' &&
			   (seg[i + 2] == 'e' || seg[i + 2] == 'E')) {
			i += 3;
		} else {
			return false;
		}
		dots++;
	}
	return dots == 1 || dots == 2;
}

bool invoke_path_valid(const char *path)
{
	size_t n = strlen(path), end = strcspn(path, "?#");

	if (n == 0 || n > INVOKE_PATH_MAX || path[0] != '/' || path[1] == '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)path[i] <= 0x20 || path[i] == 0x7f)
			return false;
	for (size_t i = 1; i <= end;) {
		size_t len = strcspn(path + i, "/?#");

		if (i + len > end)
			len = end - i;
		if (dot_segment(path + i, len))
			return false;
		i += len + 1;
	}
	return true;
}

bool invoke_header_forwarded(const char *name)
{
	return !hop_by_hop(name) && !hop_written(name) && strncasecmp(name, "x-berth-", 8) != 0;
}

/* A token of RFC 9110 (header names). */
static int invoke_headers(const cJSON *body, struct invoke_req *out, struct berr *e)
{
	const cJSON *h = cJSON_GetObjectItemCaseSensitive(body, "headers"), *c;
	char f[ERR_FIELD_MAX];
	size_t bytes = 0;

	if (!h || cJSON_IsNull(h))
		return B_OK;
	if (!cJSON_IsObject(h))
		return berr_set(e, B_EINVAL, "headers", "headers must be an object of strings");
	if (cJSON_GetArraySize(h) > INVOKE_HEADERS_MAX)
		return berr_set(e, B_EINVAL, "headers", "headers holds at most %d entries",
				INVOKE_HEADERS_MAX);
	cJSON_ArrayForEach(c, h) {
		snprintf(f, sizeof(f), "headers.%.100s", c->string);
		if (!valid_http_token(c->string) || strlen(c->string) > INVOKE_HEADER_NAME_MAX)
			return berr_set(e, B_EINVAL, f, "%s is not a valid header name", f);
		if (!cJSON_IsString(c) || strlen(c->valuestring) > INVOKE_HEADER_VALUE_MAX ||
		    strpbrk(c->valuestring, "\r\n"))
			return berr_set(e, B_EINVAL, f, "%s must be a string of at most %d bytes without"
					" CR or LF", f, INVOKE_HEADER_VALUE_MAX);
		bytes += strlen(c->string) + strlen(c->valuestring);
		if (bytes > INVOKE_HEADERS_BYTES_MAX)
			return berr_set(e, B_EINVAL, "headers", "the headers' names and values total"
					" more than %d bytes", INVOKE_HEADERS_BYTES_MAX);
		if (!invoke_header_forwarded(c->string))
			continue; /* hop-by-hop and reserved: dropped, as API.md says */
		out->has_content_type |= strcasecmp(c->string, "content-type") == 0;
		out->has_accept |= strcasecmp(c->string, "accept") == 0;
		out->header_names[out->nheaders] = c->string;
		out->header_values[out->nheaders++] = c->valuestring;
	}
	return B_OK;
}

const char *invoke_header_line(struct arena *a, const char *name, const char *value)
{
	if (value[strspn(value, " \t")] == '\0')
		return arena_printf(a, "%s;", name);
	return arena_printf(a, "%s: %s", name, value);
}

static int invoke_body(const cJSON *body, size_t body_max, struct invoke_req *out, struct berr *e)
{
	const char *b64, *end = NULL;
	size_t len, cap;
	int rc;

	if ((rc = json_get_string(body, "body_base64", "body_base64", false, 0, SIZE_MAX / 2, &b64, e)))
		return rc;
	if (!b64 || !*b64)
		return B_OK;
	len = strlen(b64);
	cap = len / 4 * 3 + 3;
	/* refuse before decoding when even the padding cannot bring it under the limit */
	if (len / 4 * 3 > body_max + 2)
		return berr_set(e, B_ETOOBIG, "body_base64", "the decoded body is larger than %zu bytes",
				body_max);
	out->body = malloc(cap);
	if (!out->body)
		abort();
	if (sodium_base642bin(out->body, cap, b64, len, NULL, &out->body_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) || (end && *end))
		return berr_set(e, B_EINVAL, "body_base64", "body_base64 is not standard base64");
	if (out->body_len > body_max)
		return berr_set(e, B_ETOOBIG, "body_base64", "the decoded body is larger than %zu bytes",
				body_max);
	return B_OK;
}

int invoke_parse(const cJSON *body, size_t body_max, struct invoke_req *out, struct berr *e)
{
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = json_only_keys(body, invoke_fields, "", e)) ||
	    (rc = json_get_string(body, "method", "method", true, 1, 16, &out->method, e)) ||
	    (rc = json_get_string(body, "path", "path", true, 1, INVOKE_PATH_MAX, &out->path, e)))
		return rc;
	for (i = 0; i < B_ARRAY_LEN(methods); i++)
		if (strcmp(out->method, methods[i]) == 0)
			break;
	if (i == B_ARRAY_LEN(methods))
		return berr_set(e, B_EINVAL, "method",
				"method must be GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS");
	if (!invoke_path_valid(out->path))
		return berr_set(e, B_EINVAL, "path", "path must start with / (not //), hold no . or .."
				" segments, spaces or control characters, and be at most %d bytes",
				INVOKE_PATH_MAX);
	if ((rc = invoke_headers(body, out, e)) || (rc = invoke_body(body, body_max, out, e))) {
		invoke_req_free(out);
		return rc;
	}
	return B_OK;
}

void invoke_req_free(struct invoke_req *r)
{
	if (r->body)
		sodium_memzero(r->body, r->body_len);
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

#define TRIES 2 /* a replica that is gone before it saw the call is replaced once */

/* "Name: value" lines for curl: the caller's forwarded headers, and the ones curl would add
 * by itself unless told not to. */
static const char **header_lines(struct arena *a, const struct invoke_req *q, long ms)
{
	const char **h = arena_alloc(a, (q->nheaders + 5) * sizeof(*h));
	size_t n = 0;

	for (size_t i = 0; i < q->nheaders; i++)
		h[n++] = invoke_header_line(a, q->header_names[i], q->header_values[i]);
	if (!q->has_content_type)
		h[n++] = "Content-Type:";
	if (!q->has_accept)
		h[n++] = "Accept:";
	h[n++] = "Expect:";
	h[n++] = arena_printf(a, "x-berth-timeout-ms: %ld", ms);
	h[n] = NULL;
	return h;
}

/* Replicas in route.c's order until one answers or TRIES are spent. */
static int call(CURL *curl, const char *socket_path, long ms, const char **lines,
		const struct invoke_req *q, struct route *rt, struct tunnel_call *t, struct berr *e)
{
	struct route_target *rep;
	int rc = B_EUNAVAILABLE;

	for (int k = 0; k < TRIES && (rep = route_next(rt)); k++) {
		tunnel_call_free(t);
		memset(t, 0, sizeof(*t));
		t->socket_path = socket_path;
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
		rc = tunnel_call_run(curl, t, e);
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

int invoke_run(CURL *curl, const char *socket_path, long timeout_s, struct arena *a,
	       const struct invoke_req *q, struct route *rt, cJSON **out, struct berr *e)
{
	long ms = timeout_s * 1000;
	struct tunnel_call t = {0};
	size_t len, cap;
	char *b64;
	int rc = call(curl, socket_path, ms, header_lines(a, q, ms), q, rt, &t, e);

	*out = NULL;
	if (rc) {
		tunnel_call_free(&t);
		return rc;
	}
	len = t.response_body.len;
	cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if (!(b64 = malloc(cap)) || !(*out = cJSON_CreateObject()))
		abort();
	sodium_bin2base64(b64, cap, (const unsigned char *)buf_str(&t.response_body), len,
			  sodium_base64_VARIANT_ORIGINAL);
	cJSON_AddNumberToObject(*out, "status_code", (double)t.status);
	cJSON_AddItemToObject(*out, "headers", t.response_headers);
	t.response_headers = NULL;
	cJSON_AddStringToObject(*out, "body_base64", b64);
	free(b64);
	tunnel_call_free(&t);
	return B_OK;
}
