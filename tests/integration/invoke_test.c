/* POST /api/v1/r/invoke/{slug} end to end: lighttpd, the invoke program, gatewayd, a real
 * agent and a berth-fixture:test container. */
#include "berth_limits.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEADLINE_MS 30000

static struct h_tenant t;
static char service_id[H_ID];

/* A tenant with one agent and a running fixture service "echo". */
static void setup(void)
{
	h_tenant_new(&t);
	h_agent_start("invoker", t.ak, NULL);
	h_deploy(&t, "{\"service_slug\": \"echo\", \"docker_image\": \"berth-fixture:test\"}",
		 service_id, "running");
}

TestSuite(invoke, .init = setup);

static void invoke(struct h_resp *r, const char *cred, const char *team, const char *slug,
		   const char *json)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/r/invoke/%s", slug);
	h_call(r, "POST", path, cred, team, json);
}

/* The container's answer, decoded from body_base64 (NUL-terminated; free()). */
static char *answer_body(const struct h_resp *r, size_t *len)
{
	const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItem(r->json, "body_base64"));
	size_t n = b64 ? strlen(b64) : 0;
	char *out = calloc(1, n + 1);

	cr_assert(b64 != NULL, "no body_base64: %s", r->body);
	cr_assert(sodium_base642bin((unsigned char *)out, n + 1, b64, n, NULL, len, NULL,
				    sodium_base64_VARIANT_ORIGINAL) == 0);
	return out;
}

static long status_code(const struct h_resp *r)
{
	const cJSON *s = cJSON_GetObjectItem(r->json, "status_code");

	cr_assert(cJSON_IsNumber(s), "no status_code: %s", r->body);
	return (long)s->valuedouble;
}

Test(invoke, every_method_reaches_the_container_with_path_and_query)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
	char json[256];
	struct h_resp r;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t len;
		char *body;
		cJSON *echo;

		snprintf(json, sizeof(json), "{\"method\": \"%s\", \"path\": \"/echo/x?a=1&b=two\"}",
			 methods[i]);
		invoke(&r, t.member_tok, t.team, "echo", json);
		cr_assert(eq(long, r.status, 200), "%s: %s", methods[i], r.body);
		cr_assert(eq(long, status_code(&r), 200));
		body = answer_body(&r, &len);
		echo = cJSON_Parse(body);
		cr_assert(eq(str, cJSON_GetObjectItem(echo, "method")->valuestring, (char *)methods[i]));
		cr_assert(eq(str, cJSON_GetObjectItem(echo, "path")->valuestring, "/echo/x"));
		cr_assert(eq(str, cJSON_GetObjectItem(echo, "query")->valuestring, "a=1&b=two"));
		cJSON_Delete(echo);
		free(body);
		h_resp_free(&r);
	}
	invoke(&r, t.member_tok, t.team, "echo", "{\"method\": \"HEAD\", \"path\": \"/health\"}");
	cr_assert(eq(long, r.status, 200), "HEAD: %s", r.body);
	cr_assert(eq(long, status_code(&r), 200));
	h_resp_free(&r);
}

Test(invoke, binary_body_round_trips_and_headers_are_forwarded_but_not_the_berth_credential)
{
	unsigned char bytes[256];
	char b64[512], json[1024];
	size_t len;
	char *body;
	cJSON *echo, *headers;
	struct h_resp r;

	for (int i = 0; i < 256; i++)
		bytes[i] = (unsigned char)i;
	sodium_bin2base64(b64, sizeof(b64), bytes, sizeof(bytes), sodium_base64_VARIANT_ORIGINAL);
	snprintf(json, sizeof(json), "{\"method\": \"POST\", \"path\": \"/echo\", \"body_base64\":"
		 " \"%s\", \"headers\": {\"Authorization\": \"Bearer container-key\", \"Content-Type\":"
		 " \"application/octet-stream\", \"X-Custom\": \"yes\", \"Connection\": \"close\","
		 " \"X-Berth-Agent\": \"spoof\"}}", b64);
	invoke(&r, t.sk, NULL, "echo", json);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	body = answer_body(&r, &len);
	echo = cJSON_Parse(body);
	headers = cJSON_GetObjectItem(echo, "headers");
	cr_assert(eq(str, cJSON_GetObjectItem(echo, "body_base64")->valuestring, b64),
		  "the 256 byte values came through unchanged");
	cr_assert(eq(str, cJSON_GetObjectItem(headers, "authorization")->valuestring,
		     "Bearer container-key"), "headers.Authorization is forwarded");
	cr_assert(strstr(body, t.sk) == NULL, "the caller's berth credential never reaches the container");
	cr_assert(eq(str, cJSON_GetObjectItem(headers, "x-custom")->valuestring, "yes"));
	cr_assert(cJSON_GetObjectItem(headers, "x-berth-agent") == NULL, "X-Berth-* is dropped");
	cr_assert(eq(str, cJSON_GetObjectItem(headers, "content-type")->valuestring,
		     "application/octet-stream"));
	cJSON_Delete(echo);
	free(body);
	h_resp_free(&r);
}

Test(invoke, the_containers_404_and_500_are_its_answers_not_errors)
{
	struct h_resp r;
	size_t len;
	char *body;

	invoke(&r, t.member_tok, t.team, "echo", "{\"method\": \"GET\", \"path\": \"/status/404\"}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(long, status_code(&r), 404));
	body = answer_body(&r, &len);
	cr_assert(len > 0);
	free(body);
	h_resp_free(&r);
	invoke(&r, t.member_tok, t.team, "echo", "{\"method\": \"GET\", \"path\": \"/status/500\"}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(long, status_code(&r), 500));
	cr_assert(cJSON_IsObject(cJSON_GetObjectItem(r.json, "headers")));
	h_resp_free(&r);
}

/* The container's headers are its own: its X-Berth-Error is not the platform's error. */
Test(invoke, a_container_cannot_speak_for_the_platform)
{
	struct h_resp r;
	cJSON *headers;
	size_t len;
	char *body;

	invoke(&r, t.member_tok, t.team, "echo", "{\"method\": \"POST\", \"path\":"
	       " \"/head?X-Berth-Error=not_found&X-Mine=1\"}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(long, status_code(&r), 200));
	headers = cJSON_GetObjectItem(r.json, "headers");
	cr_assert(cJSON_GetObjectItem(headers, "x-mine") != NULL, "%s", r.body);
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(headers, "x-mine")), "1"));
	cr_assert(cJSON_GetObjectItem(headers, "x-berth-error") == NULL, "%s", r.body);
	body = answer_body(&r, &len);
	cr_assert(eq(str, body, "ok"));
	free(body);
	h_resp_free(&r);
}

/* 32 KiB of header names and values is the most a call takes, and all of it arrives. */
Test(invoke, headers_up_to_32_KiB_reach_the_container)
{
	enum { N = 4, VALUE = INVOKE_HEADERS_BYTES_MAX / N - 4 };
	enum { CAP = INVOKE_HEADERS_BYTES_MAX + 512 }; /* and the JSON around them */
	/* names "X-Hn": 4 bytes */
	char *json = malloc(CAP), *body, name[8];
	struct h_resp r;
	cJSON *echo, *headers;
	size_t n, len;

	for (int extra = 0; extra <= 1; extra++) {
		n = (size_t)snprintf(json, CAP, "{\"method\": \"GET\", \"path\": \"/echo\","
				     " \"headers\": {");
		for (int i = 0; i < N; i++) {
			n += (size_t)snprintf(json + n, CAP - n, "%s\"X-H%d\": \"", i ? ", " : "",
					      i);
			memset(json + n, 'a' + i, VALUE + (i == N - 1 ? extra : 0));
			n += VALUE + (size_t)(i == N - 1 ? extra : 0);
			n += (size_t)snprintf(json + n, CAP - n, "\"");
		}
		snprintf(json + n, CAP - n, "}}");
		invoke(&r, t.member_tok, t.team, "echo", json);
		if (extra) {
			h_assert_error(&r, 400, "validation_failed", "headers");
			h_resp_free(&r);
			break;
		}
		cr_assert(eq(long, r.status, 200), "%.300s", r.body);
		cr_assert(eq(long, status_code(&r), 200));
		body = answer_body(&r, &len);
		echo = cJSON_Parse(body);
		headers = cJSON_GetObjectItem(echo, "headers");
		for (int i = 0; i < N; i++) {
			const char *v;

			snprintf(name, sizeof(name), "x-h%d", i);
			v = cJSON_GetStringValue(cJSON_GetObjectItem(headers, name));
			cr_assert(v != NULL && strlen(v) == VALUE && v[0] == 'a' + i, "%s", name);
		}
		cJSON_Delete(echo);
		free(body);
		h_resp_free(&r);
	}
	free(json);
}

/* An empty value is a header too: curl would drop "Name: " unless told otherwise. */
Test(invoke, a_header_with_an_empty_value_reaches_the_container)
{
	struct h_resp r;
	const char *v;
	cJSON *echo;
	size_t len;
	char *body;

	invoke(&r, t.member_tok, t.team, "echo", "{\"method\": \"GET\", \"path\": \"/echo\","
	       " \"headers\": {\"X-Empty\": \"\", \"X-Full\": \"1\"}}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	body = answer_body(&r, &len);
	echo = cJSON_Parse(body);
	v = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(echo, "headers"),
						     "x-empty"));
	cr_assert(v != NULL && *v == '\0', "%s", body);
	cJSON_Delete(echo);
	free(body);
	h_resp_free(&r);
}

Test(invoke, bad_paths_methods_and_bodies_are_400)
{
	static const struct {
		const char *json;
		const char *field;
	} cases[] = {
		{"{\"method\": \"GET\", \"path\": \"//evil.test/x\"}", "path"},
		{"{\"method\": \"GET\", \"path\": \"http://x/\"}", "path"},
		{"{\"method\": \"GET\", \"path\": \"/../etc/passwd\"}", "path"},
		{"{\"method\": \"GET\", \"path\": \"/a/%2e%2e/b\"}", "path"},
		{"{\"method\": \"GET\", \"path\": \"/a\\r\\nX-Injected: 1\"}", "path"},
		{"{\"method\": \"GET\", \"path\": \"/a b\"}", "path"},
		{"{\"method\": \"GET\", \"path\": \"echo\"}", "path"},
		{"{\"method\": \"BREW\", \"path\": \"/echo\"}", "method"},
		{"{\"method\": \"GET\"}", "path"},
		{"{\"method\": \"POST\", \"path\": \"/echo\", \"body_base64\": \"not base64!\"}", "body_base64"},
		{"{\"method\": \"GET\", \"path\": \"/echo\", \"headers\": {\"X-A\": \"1\\r\\nX-B: 2\"}}", "headers.X-A"},
		{"{\"method\": \"GET\", \"path\": \"/echo\", \"headers\": {\"X-A\": 1}}", "headers.X-A"},
		{"{\"method\": \"GET\", \"path\": \"/echo\", \"timeout\": 5}", "timeout"},
	};
	struct h_resp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		invoke(&r, t.member_tok, t.team, "echo", cases[i].json);
		h_assert_error(&r, 400, "validation_failed", cases[i].field);
		h_resp_free(&r);
	}
}

Test(invoke, platform_errors_404_409_and_roles)
{
	struct h_tenant other;
	struct h_resp r, c;
	const char *get = "{\"method\": \"GET\", \"path\": \"/health\"}";

	invoke(&r, t.member_tok, t.team, "no-such-service", get);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	h_create(&c, t.member_tok, t.team, "{\"service_slug\": \"idle\", \"docker_image\": \"x\"}");
	h_resp_free(&c);
	invoke(&r, t.member_tok, t.team, "idle", get);
	h_assert_error(&r, 409, "conflict", "service_status");
	h_resp_free(&r);
	invoke(&r, t.viewer_tok, t.team, "echo", get);
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	invoke(&r, t.dk_member, NULL, "echo", get);
	cr_assert(eq(long, r.status, 200), "dk- of a member may invoke: %s", r.body);
	h_resp_free(&r);
	h_tenant_new(&other);
	invoke(&r, other.sk, NULL, "echo", get);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	h_call(&r, "GET", "/api/v1/r/invoke/echo", t.sk, NULL, NULL);
	h_assert_error(&r, 405, "method_not_allowed", NULL);
	h_resp_free(&r);
}

/* How many connections the container has open besides the one asking. Asked through the
 * proxy, a program of its own, so that no call of invoke's carries a late cancel along. */
static long container_connections(void)
{
	char auth[H_TOKEN + 32], team[H_ID + 16];
	const char *h[3] = {auth, team, NULL};
	struct h_resp r;
	long n;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.member_tok);
	snprintf(team, sizeof(team), "X-Team-ID: %s", t.team);
	h_request(&r, "GET", "/api/v1/r/containers/echo/open", h, NULL, 0);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(r.json, "open")), "%s", r.body);
	n = (long)cJSON_GetObjectItem(r.json, "open")->valuedouble;
	h_resp_free(&r);
	return n;
}

Test(invoke, an_answer_past_32_MiB_is_502_and_the_containers_request_ends)
{
	struct h_resp r;
	long before, open = -1;

	/* the agent closes a connection it keeps after 2 s unused: asked less often than that,
	 * only the probes' and the abandoned call's can be open */
	usleep(2500 * 1000);
	before = container_connections();
	/* 1 GiB: the container is still writing when invoke gives up at 32 MiB */
	invoke(&r, t.member_tok, t.team, "echo",
	       "{\"method\": \"GET\", \"path\": \"/bytes?n=1073741824\"}");
	h_assert_error(&r, 502, "upstream_failed", NULL);
	cr_assert(strstr(r.body, "larger than") != NULL, "%s", r.body);
	h_resp_free(&r);
	for (int i = 0; i < 5 && open != before; i++) {
		usleep(2500 * 1000);
		open = container_connections();
	}
	cr_assert(eq(long, open, before), "the container has %ld other connections open, %ld "
		  "before the call", open, before);
}

Test(invoke, slow_upstream_is_504_and_a_dead_agent_is_503_quickly)
{
	struct h_resp r;

	/* the fixture waits 400 s; berth's invoke timeout here is 3 s (BERTH_INVOKE_TIMEOUT_S) */
	invoke(&r, t.member_tok, t.team, "echo", "{\"method\": \"GET\", \"path\": \"/slow?ms=400000\"}");
	h_assert_error(&r, 504, "upstream_timeout", NULL);
	h_resp_free(&r);
	h_db_exec("UPDATE agents SET agent_status = 'offline' WHERE team_id = ?", t.team);
	invoke(&r, t.member_tok, t.team, "echo", "{\"method\": \"GET\", \"path\": \"/health\"}");
	h_assert_error(&r, 503, "no_healthy_replica", NULL);
	h_resp_free(&r);
}
