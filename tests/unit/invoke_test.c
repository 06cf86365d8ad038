/* lib/invoke: the body rules of POST /r/invoke/{slug}. */
#include "berth.h"
#include "berth_limits.h"
#include "crypto.h"
#include "invoke.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void init(void)
{
	cr_assert(crypto_init() == B_OK);
}

TestSuite(invoke, .init = init);

static int parse(const char *json, size_t max, struct invoke_req *q, struct berr *e)
{
	cJSON *o = cJSON_Parse(json);
	int rc;

	cr_assert(o != NULL, "test JSON: %s", json);
	rc = invoke_parse(o, max, q, e);
	if (rc == B_OK) {
		/* q points into o: copy what the tests look at before o goes */
		static char method[16], path[INVOKE_PATH_MAX + 1];

		snprintf(method, sizeof(method), "%s", q->method);
		snprintf(path, sizeof(path), "%s", q->path);
		q->method = method;
		q->path = path;
	}
	cJSON_Delete(o);
	return rc;
}

static char *path_of(size_t n)
{
	char *p = malloc(n + 1);

	memset(p, 'a', n);
	p[0] = '/';
	p[n] = '\0';
	return p;
}

Test(invoke, path_of_2048_is_accepted_2049_is_not)
{
	char *ok = path_of(INVOKE_PATH_MAX), *bad = path_of(INVOKE_PATH_MAX + 1);

	cr_assert(invoke_path_valid(ok));
	cr_assert(not(invoke_path_valid(bad)));
	free(ok);
	free(bad);
}

Test(invoke, paths_that_escape_or_smuggle_are_refused)
{
	static const char *const bad[] = {
		"", "echo", "//evil.test/x", "http://x/", "/../etc", "/a/..", "/a/./b", "/.",
		"/a/%2e%2e/b", "/a/%2E%2e", "/a/.%2e/b", "/%2e/x", "/a b", "/a\tb", "/a\r\nX: 1",
		"/a\x7f", "/a/../?x=1",
	};
	static const char *const good[] = {
		"/", "/echo", "/v1/chat/completions?stream=true", "/a/..b/c", "/a/b../c", "/...",
		"/a?x=../..", "/%2e%2e%2e", "/a/.well-known/x",
	};

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++)
		cr_assert(not(invoke_path_valid(bad[i])), "accepted %s", bad[i]);
	for (size_t i = 0; i < B_ARRAY_LEN(good); i++)
		cr_assert(invoke_path_valid(good[i]), "refused %s", good[i]);
}

Test(invoke, hop_by_hop_and_reserved_headers_are_not_forwarded)
{
	static const char *const never[] = {"Host", "Connection", "Upgrade", "Transfer-Encoding",
					    "TE", "Trailer", "Keep-Alive", "Content-Length",
					    "Proxy-Authorization", "X-Berth-Key", "x-berth-anything"};
	static const char *const kept[] = {"Authorization", "Content-Type", "Accept", "X-Trace"};

	for (size_t i = 0; i < B_ARRAY_LEN(never); i++)
		cr_assert(not(invoke_header_forwarded(never[i])), "%s", never[i]);
	for (size_t i = 0; i < B_ARRAY_LEN(kept); i++)
		cr_assert(invoke_header_forwarded(kept[i]), "%s", kept[i]);
}

Test(invoke, a_minimal_call_parses)
{
	struct invoke_req q;
	struct berr e = {0};

	cr_assert(eq(int, parse("{\"method\": \"GET\", \"path\": \"/x?y=1\"}", 10, &q, &e), B_OK),
		  "%s", e.message);
	cr_assert(eq(str, (char *)q.method, "GET"));
	cr_assert(eq(str, (char *)q.path, "/x?y=1"));
	cr_assert(eq(sz, q.body_len, 0));
	invoke_req_free(&q);
}

Test(invoke, every_method_of_the_enum_and_nothing_else)
{
	static const char *const ok[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
	static const char *const no[] = {"get", "TRACE", "CONNECT", "BREW", ""};
	char json[128];
	struct invoke_req q;
	struct berr e;

	for (size_t i = 0; i < B_ARRAY_LEN(ok); i++) {
		snprintf(json, sizeof(json), "{\"method\": \"%s\", \"path\": \"/\"}", ok[i]);
		cr_assert(eq(int, parse(json, 10, &q, &e), B_OK), "%s", ok[i]);
		invoke_req_free(&q);
	}
	for (size_t i = 0; i < B_ARRAY_LEN(no); i++) {
		memset(&e, 0, sizeof(e));
		snprintf(json, sizeof(json), "{\"method\": \"%s\", \"path\": \"/\"}", no[i]);
		cr_assert(eq(int, parse(json, 10, &q, &e), B_EINVAL), "%s", no[i]);
		cr_assert(eq(str, e.field, "method"));
	}
}

/* A body of n bytes as a call's JSON. */
static char *call_with_body(size_t n)
{
	unsigned char *raw = calloc(1, n + 1);
	size_t b64len = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64len), *json = malloc(b64len + 64);

	sodium_bin2base64(b64, b64len, raw, n, sodium_base64_VARIANT_ORIGINAL);
	snprintf(json, b64len + 64, "{\"method\": \"POST\", \"path\": \"/\", \"body_base64\": \"%s\"}", b64);
	free(raw);
	free(b64);
	return json;
}

Test(invoke, decoded_body_at_the_limit_passes_one_byte_more_is_413)
{
	struct invoke_req q;
	struct berr e = {0};
	char *at = call_with_body(1000), *over = call_with_body(1001);

	cr_assert(eq(int, parse(at, 1000, &q, &e), B_OK), "%s", e.message);
	cr_assert(eq(sz, q.body_len, 1000));
	invoke_req_free(&q);
	cr_assert(eq(int, parse(over, 1000, &q, &e), B_ETOOBIG));
	cr_assert(eq(int, e.status, 413));
	cr_assert(eq(str, e.field, "body_base64"));
	free(at);
	free(over);
}

Test(invoke, base64_must_be_standard)
{
	static const char *const bad[] = {"not base64!", "AAA", "AA-_", "QUJD\nREVG"};
	char json[256];
	struct invoke_req q;
	struct berr e;

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++) {
		memset(&e, 0, sizeof(e));
		snprintf(json, sizeof(json), "{\"method\": \"POST\", \"path\": \"/\", \"body_base64\": \"%s\"}",
			 bad[i]);
		cJSON *o = cJSON_Parse(json);

		cr_assert(eq(int, invoke_parse(o, 100, &q, &e), B_EINVAL), "accepted %s", bad[i]);
		cr_assert(eq(str, e.field, "body_base64"));
		cJSON_Delete(o);
	}
}

Test(invoke, headers_are_checked_and_hop_by_hop_ones_dropped)
{
	cJSON *o = cJSON_Parse("{\"method\": \"GET\", \"path\": \"/\", \"headers\": {\"Authorization\":"
			       " \"Bearer x\", \"Connection\": \"close\", \"X-Berth-Key\": \"sk-\"}}");
	struct invoke_req q;
	struct berr e = {0};

	cr_assert(eq(int, invoke_parse(o, 10, &q, &e), B_OK), "%s", e.message);
	cr_assert(eq(sz, q.nheaders, 1));
	cr_assert(eq(str, (char *)q.header_names[0], "Authorization"));
	cr_assert(eq(str, (char *)q.header_values[0], "Bearer x"));
	invoke_req_free(&q);
	cJSON_Delete(o);
}

Test(invoke, header_limits_and_bad_values)
{
	static const char *const bad[] = {
		"{\"X-A\": \"1\\r\\n2\"}", "{\"X-A\": \"1\\n\"}", "{\"X-A\": 5}", "{\"X-A\": null}",
		"{\"bad name\": \"1\"}", "{\"\": \"1\"}", "{\"X(A)\": \"1\"}",
	};
	char json[512];
	struct invoke_req q;
	struct berr e;

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++) {
		memset(&e, 0, sizeof(e));
		snprintf(json, sizeof(json), "{\"method\": \"GET\", \"path\": \"/\", \"headers\": %s}", bad[i]);
		cr_assert(eq(int, parse(json, 10, &q, &e), B_EINVAL), "accepted %s", bad[i]);
		cr_assert(strncmp(e.field, "headers", 7) == 0, "field %s", e.field);
	}
}

Test(invoke, at_most_100_headers)
{
	char *json = malloc(64 * 1024);
	size_t n;
	struct invoke_req q;
	struct berr e = {0};

	for (int count = INVOKE_HEADERS_MAX; count <= INVOKE_HEADERS_MAX + 1; count++) {
		n = (size_t)snprintf(json, 1024, "{\"method\": \"GET\", \"path\": \"/\", \"headers\": {");
		for (int i = 0; i < count; i++)
			n += (size_t)snprintf(json + n, 64 * 1024 - n, "%s\"X-H%d\": \"v\"", i ? ", " : "", i);
		snprintf(json + n, 64 * 1024 - n, "}}");
		cr_assert(eq(int, parse(json, 10, &q, &e), count == INVOKE_HEADERS_MAX ? B_OK : B_EINVAL),
			  "%d headers", count);
		if (count == INVOKE_HEADERS_MAX)
			invoke_req_free(&q);
	}
	free(json);
}

Test(invoke, header_names_and_values_total_at_most_32_KiB)
{
	enum { N = 4, VALUE = INVOKE_HEADERS_BYTES_MAX / N - 4 };
	enum { CAP = INVOKE_HEADERS_BYTES_MAX + 512 }; /* and the JSON around them */
	/* names "X-Hn": 4 bytes */
	char *json = malloc(CAP);
	struct invoke_req q;
	struct berr e;

	for (int extra = 0; extra <= 1; extra++) {
		size_t n = (size_t)snprintf(json, CAP, "{\"method\": \"GET\", \"path\": \"/\","
					    " \"headers\": {");

		for (int i = 0; i < N; i++) {
			n += (size_t)snprintf(json + n, CAP - n, "%s\"X-H%d\": \"", i ? ", " : "",
					      i);
			memset(json + n, 'v', VALUE + (i == N - 1 ? extra : 0));
			n += VALUE + (size_t)(i == N - 1 ? extra : 0);
			n += (size_t)snprintf(json + n, CAP - n, "\"");
		}
		snprintf(json + n, CAP - n, "}}");
		memset(&e, 0, sizeof(e));
		cr_assert(eq(int, parse(json, 10, &q, &e), extra ? B_EINVAL : B_OK), "%d: %s", extra,
			  e.message);
		if (extra)
			cr_assert(eq(str, e.field, "headers"));
		else
			invoke_req_free(&q);
	}
	free(json);
}

Test(invoke, an_empty_value_goes_as_curls_name_semicolon)
{
	struct arena a;

	arena_init(&a);
	cr_assert(eq(str, (char *)invoke_header_line(&a, "X-A", "1"), "X-A: 1"));
	cr_assert(eq(str, (char *)invoke_header_line(&a, "X-A", ""), "X-A;"));
	cr_assert(eq(str, (char *)invoke_header_line(&a, "X-A", " \t"), "X-A;"));
	cr_assert(eq(str, (char *)invoke_header_line(&a, "X-A", " x"), "X-A:  x"));
	arena_reset(&a);
}

Test(invoke, unknown_fields_are_refused)
{
	struct invoke_req q;
	struct berr e = {0};

	cr_assert(eq(int, parse("{\"method\": \"GET\", \"path\": \"/\", \"timeout_s\": 1}", 10, &q, &e),
		     B_EINVAL));
	cr_assert(eq(str, e.field, "timeout_s"));
}
