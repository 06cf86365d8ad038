#include "berth.h"
#include "tunnel.h"
#include "log.h"

#include <curl/curl.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POKE_TIMEOUT_MS 1000

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

void tunnel_poke(const char *socket_path)
{
	CURL *c = curl_easy_init();
	CURLcode rc;

	if (!c)
		return;
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(c, CURLOPT_URL, "http://gatewayd/control/reconcile");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)POKE_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		log_warn("cannot reach gatewayd at %s (%s); it reconciles on its timer anyway",
			 socket_path, curl_easy_strerror(rc));
	curl_easy_cleanup(c);
}

static size_t call_body(char *p, size_t size, size_t n, void *arg)
{
	struct tunnel_call *t = arg;

	if (buf_add(&t->response_body, p, size * n))
		return 0; /* past response_max: curl stops with a write error */
	return size * n;
}

static bool hop_by_hop(const char *name)
{
	static const char *const hop[] = {"connection", "keep-alive", "transfer-encoding", "te",
					  "trailer", "upgrade", "proxy-connection"};

	for (size_t i = 0; i < B_ARRAY_LEN(hop); i++)
		if (strcmp(name, hop[i]) == 0)
			return true;
	return false;
}

/* One response header line: lowercased into the object, repeated names joined. */
static size_t call_header(char *p, size_t size, size_t n, void *arg)
{
	struct tunnel_call *t = arg;
	size_t len = size * n, nl, vl;
	char name[256], *value;
	const char *colon = memchr(p, ':', len);
	cJSON *have;

	if (!colon || (nl = (size_t)(colon - p)) == 0 || nl >= sizeof(name))
		return len; /* the status line, the blank line, or a name too long to keep */
	for (size_t i = 0; i < nl; i++)
		name[i] = (char)tolower((unsigned char)p[i]);
	name[nl] = '\0';
	for (colon++; colon < p + len && (*colon == ' ' || *colon == '\t'); colon++)
		;
	for (vl = (size_t)(p + len - colon); vl && (colon[vl - 1] == '\r' || colon[vl - 1] == '\n'); vl--)
		;
	if (strcmp(name, "x-berth-error") == 0) {
		snprintf(t->platform_error, sizeof(t->platform_error), "%.*s", (int)vl, colon);
		return len;
	}
	if (hop_by_hop(name) || strncmp(name, "x-berth-", 8) == 0)
		return len;
	value = strndup(colon, vl);
	if (!value)
		abort();
	have = cJSON_GetObjectItemCaseSensitive(t->response_headers, name);
	if (have) {
		char *joined = malloc(strlen(have->valuestring) + vl + 3);

		if (!joined)
			abort();
		snprintf(joined, strlen(have->valuestring) + vl + 3, "%s, %s", have->valuestring, value);
		cJSON_ReplaceItemInObjectCaseSensitive(t->response_headers, name, cJSON_CreateString(joined));
		free(joined);
	} else {
		cJSON_AddStringToObject(t->response_headers, name, value);
	}
	free(value);
	return len;
}

int tunnel_call_run(CURL *c, struct tunnel_call *t, struct berr *e)
{
	struct curl_slist *list = NULL;
	CURLcode rc;

	t->response_headers = cJSON_CreateObject();
	buf_init(&t->response_body, t->response_max);
	for (size_t i = 0; t->headers && t->headers[i]; i++)
		list = curl_slist_append(list, t->headers[i]);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->socket_path);
	curl_easy_setopt(c, CURLOPT_URL, t->url);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	/* libcurl 7.88.1 (Debian 12) breaks a reused prior-knowledge HTTP/2 connection ("Error in
	 * the HTTP2 framing layer", fixed upstream by curl PR 10643): one connection per call.
	 * On a unix socket that costs tens of microseconds. */
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, t->method);
	if (strcmp(t->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (t->body_len || strcmp(t->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->body ? (const char *)t->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, call_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, call_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
	rc = curl_easy_perform(c);
	curl_slist_free_all(list);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t->status);
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return berr_set(e, B_ETIMEOUT, "", "the service did not answer within %ld ms",
				t->timeout_ms);
	if (rc == CURLE_WRITE_ERROR)
		return berr_set(e, B_EUPSTREAM, "", "the service's answer is larger than %zu bytes",
				t->response_max);
	if (rc != CURLE_OK)
		return berr_set(e, B_EUPSTREAM, "", "the gateway could not relay the call: %s",
				curl_easy_strerror(rc));
	return B_OK;
}

void tunnel_call_free(struct tunnel_call *t)
{
	cJSON_Delete(t->response_headers);
	t->response_headers = NULL;
	buf_free(&t->response_body);
}
