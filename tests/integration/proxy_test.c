/* ANY /api/v1/r/containers/{slug}/{path...} end to end: lighttpd, the proxy program, gatewayd,
 * a real agent and a berth-fixture:test container, with bodies and events streamed. */
#include "berth_limits.h"
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 30000
#define BIG (24L * 1024 * 1024)
/* past lighttpd's 48 MiB server.max-request-size, which must not apply to the agent's tunnel
 * (it counts all the agent sends as one request body) */
#define BIG_DOWN (64L * 1024 * 1024)
#define STALLED 24 /* callers that stop reading: each holds a stream window (1 MiB) in
		    * gatewayd, together more than the 16 MiB of the connection's window */

static struct h_tenant t;
static int agent_pid;

static void deploy(const char *slug)
{
	char json[256], id[H_ID];

	snprintf(json, sizeof(json), "{\"service_slug\": \"%s\", \"docker_image\": "
		 "\"berth-fixture:test\"}", slug);
	h_deploy(&t, json, id, "running");
}

/* A tenant with one agent and a running fixture service "echo". */
static void setup(void)
{
	h_tenant_new(&t);
	agent_pid = h_agent_start("proxied", t.ak, NULL);
	deploy("echo");
}

TestSuite(proxy, .init = setup);

/* method on /api/v1/r/containers/echo<rest> with the member's token, extra header lines and a
 * body. */
static void proxy(struct h_resp *r, const char *method, const char *rest, const char *extra,
		  const char *body, size_t len)
{
	char path[512], auth[H_TOKEN + 32], team[H_ID + 16];
	const char *h[4] = {auth, team, extra, NULL};

	snprintf(path, sizeof(path), "/api/v1/r/containers/echo%s", rest);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.member_tok);
	snprintf(team, sizeof(team), "X-Team-ID: %s", t.team);
	h_request(r, method, path, h, body, len);
}

static cJSON *echo_of(const struct h_resp *r)
{
	cJSON *echo = cJSON_Parse(r->body);

	cr_assert(cJSON_IsObject(echo), "not an echo: %ld %s", r->status, r->body);
	return echo;
}

static const char *echo_header(const cJSON *echo, const char *name)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(echo, "headers"), name));
}

Test(proxy, every_method_path_and_query_reach_the_container)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS",
					      "PROPFIND"};
	struct h_resp r;

	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		cJSON *echo;

		/* a body-less request still says Content-Length: 0 (lighttpd wants one on POST) */
		proxy(&r, methods[i], "/echo/x?a=1&b=two%20three", NULL, "", 0);
		cr_assert(eq(long, r.status, 200), "%s: %s", methods[i], r.body);
		echo = echo_of(&r);
		cr_assert(eq(str, cJSON_GetObjectItem(echo, "method")->valuestring, (char *)methods[i]));
		cr_assert(eq(str, cJSON_GetObjectItem(echo, "path")->valuestring, "/echo/x"));
		cr_assert(eq(str, cJSON_GetObjectItem(echo, "query")->valuestring, "a=1&b=two%20three"));
		cJSON_Delete(echo);
		h_resp_free(&r);
	}
	proxy(&r, "HEAD", "/health", NULL, NULL, 0);
	cr_assert(eq(long, r.status, 200));
	cr_assert(eq(long, (long)r.len, 0));
	h_resp_free(&r);
	/* any token lighttpd knows: WebDAV's have a '-' */
	proxy(&r, "BASELINE-CONTROL", "/echo", NULL, "", 0);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(strstr(r.body, "\"method\":\"BASELINE-CONTROL\"") != NULL, "%s", r.body);
	h_resp_free(&r);
}

Test(proxy, a_binary_body_round_trips_raw)
{
	char bytes[256], b64[512];
	struct h_resp r;
	cJSON *echo;

	for (int i = 0; i < 256; i++)
		bytes[i] = (char)i;
	sodium_bin2base64(b64, sizeof(b64), (unsigned char *)bytes, sizeof(bytes),
			  sodium_base64_VARIANT_ORIGINAL);
	proxy(&r, "POST", "/echo", "Content-Type: application/octet-stream", bytes, sizeof(bytes));
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	echo = echo_of(&r);
	cr_assert(eq(str, cJSON_GetObjectItem(echo, "body_base64")->valuestring, b64));
	cr_assert(eq(str, (char *)echo_header(echo, "content-type"), "application/octet-stream"));
	cJSON_Delete(echo);
	h_resp_free(&r);
}

Test(proxy, the_berth_credential_stays_behind_and_forwarded_headers_are_set)
{
	struct h_resp r;
	cJSON *echo;

	proxy(&r, "GET", "/echo", "X-Custom: yes", NULL, 0);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	echo = echo_of(&r);
	cr_assert(strstr(r.body, t.member_tok) == NULL, "the token never reaches the container");
	cr_assert(echo_header(echo, "authorization") == NULL);
	cr_assert(echo_header(echo, "x-team-id") == NULL, "X-Team-ID went with the token");
	cr_assert(eq(str, (char *)echo_header(echo, "x-custom"), "yes"));
	cr_assert(eq(str, (char *)echo_header(echo, "x-forwarded-for"), "127.0.0.1"));
	cr_assert(eq(str, (char *)echo_header(echo, "x-forwarded-proto"), "http"));
	cr_assert(strstr(echo_header(echo, "x-forwarded-host"), "127.0.0.1:") != NULL);
	cJSON_Delete(echo);
	h_resp_free(&r);
}

Test(proxy, with_x_berth_key_the_callers_authorization_reaches_the_container)
{
	char key[H_TOKEN + 32], bad[64];
	const char *h[] = {key, "Authorization: Bearer service-own-key", NULL};
	const char *hb[] = {bad, NULL};
	struct h_resp r;
	cJSON *echo;

	snprintf(key, sizeof(key), "X-Berth-Key: %s", t.sk);
	h_request(&r, "GET", "/api/v1/r/containers/echo/echo", h, NULL, 0);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	echo = echo_of(&r);
	cr_assert(eq(str, (char *)echo_header(echo, "authorization"), "Bearer service-own-key"));
	cr_assert(strstr(r.body, t.sk) == NULL, "X-Berth-Key never reaches the container");
	cJSON_Delete(echo);
	h_resp_free(&r);
	snprintf(bad, sizeof(bad), "X-Berth-Key: sk-nonsense");
	h_request(&r, "GET", "/api/v1/r/containers/echo/echo", hb, NULL, 0);
	h_assert_error(&r, 401, "unauthenticated", "X-Berth-Key");
	h_resp_free(&r);
	/* what is missing is named as it is: a token in X-Berth-Key still wants X-Team-ID */
	snprintf(key, sizeof(key), "X-Berth-Key: %s", t.member_tok);
	h_request(&r, "GET", "/api/v1/r/containers/echo/echo", h, NULL, 0);
	h_assert_error(&r, 400, "validation_failed", "X-Team-ID");
	h_resp_free(&r);
}

/* The proxy reads the key and the route in one transaction and records the key's use after
 * it: the use must still be recorded, for a call that is answered and for one that is not. */
Test(proxy, a_keys_last_use_is_recorded_after_its_call)
{
	static const char used[] = "SELECT count(*) FROM credentials WHERE key_prefix = ? AND "
				   "last_used_at IS NOT NULL";
	const char *paths[] = {"/api/v1/r/containers/echo/health",
			       "/api/v1/r/containers/no-such-service/health"};
	const long want[] = {200, 404};

	for (int i = 0; i < 2; i++) {
		char sk[H_KEY], prefix[16], key[H_KEY + 16];
		const char *h[] = {key, NULL};
		struct h_resp r;

		h_ctl_ok(sk, sizeof(sk), "credential", "add", t.team, "integration", "fresh", NULL);
		snprintf(prefix, sizeof(prefix), "%.12s", sk);
		snprintf(key, sizeof(key), "X-Berth-Key: %s", sk);
		cr_assert(eq(long, h_db_count(used, prefix), 0), "a new key has no last use");
		h_request(&r, "GET", paths[i], h, NULL, 0);
		cr_assert(eq(long, r.status, want[i]), "%s: %s", paths[i], r.body);
		h_resp_free(&r);
		cr_assert(eq(long, h_db_count(used, prefix), 1), "%s: no last use", paths[i]);
	}
}

Test(proxy, the_containers_status_headers_and_body_come_back_unchanged)
{
	struct h_resp r;
	char ct[128];

	proxy(&r, "GET", "/status/404", NULL, NULL, 0);
	cr_assert(eq(long, r.status, 404), "%s", r.body);
	cr_assert(strstr(r.body, "error_code") == NULL, "the container's body, not berth's: %s", r.body);
	h_resp_free(&r);
	proxy(&r, "POST", "/status/500", NULL, "x", 1);
	cr_assert(eq(long, r.status, 500), "%s", r.body);
	h_resp_free(&r);
	proxy(&r, "GET", "/sse?n=1&ms=0", NULL, NULL, 0);
	cr_assert(eq(long, r.status, 200));
	cr_assert(h_header(&r, "Content-Type", ct, sizeof(ct)) && strstr(ct, "text/event-stream"),
		  "content-type: %s", ct);
	h_resp_free(&r);
}

/* The container's headers are its own: an X-Berth-Error of its making is not the platform's
 * error, and a Status line does not reach lighttpd as the FastCGI answer's status. */
Test(proxy, a_container_cannot_speak_for_the_platform)
{
	struct h_resp r;
	char v[64];

	proxy(&r, "POST", "/head?X-Berth-Error=not_found&Status=500&X-Mine=1", NULL, "", 0);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(str, r.body, "ok"));
	cr_assert(h_header(&r, "X-Mine", v, sizeof(v)) && strcmp(v, "1") == 0, "x-mine: %s", v);
	cr_assert(h_header(&r, "X-Berth-Error", v, sizeof(v)) == false, "x-berth-error: %s", v);
	h_resp_free(&r);
}

/* 100 of the caller's headers travel on with the platform's X-Forwarded-*; one more is 400. */
Test(proxy, a_hundred_headers_reach_the_container_and_one_more_is_400)
{
	char auth[H_TOKEN + 32], team[H_ID + 16], lines[INVOKE_HEADERS_MAX + 1][32];
	const char *h[INVOKE_HEADERS_MAX + 5] = {auth, team, "Accept: */*"};
	struct h_resp r;
	cJSON *echo;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.member_tok);
	snprintf(team, sizeof(team), "X-Team-ID: %s", t.team);
	for (int i = 0; i < INVOKE_HEADERS_MAX; i++) { /* Accept and 99 more: 100 forwarded */
		snprintf(lines[i], sizeof(lines[i]), "X-H%d: %d", i, i);
		h[3 + i] = lines[i];
	}
	h[3 + INVOKE_HEADERS_MAX - 1] = NULL;
	h_request(&r, "GET", "/api/v1/r/containers/echo/echo", h, NULL, 0);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	echo = echo_of(&r);
	cr_assert(eq(str, (char *)echo_header(echo, "x-h98"), "98"));
	cr_assert(eq(str, (char *)echo_header(echo, "x-forwarded-for"), "127.0.0.1"), "%s", r.body);
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(echo, "headers")),
		     INVOKE_HEADERS_MAX + 4), "and host, x-forwarded-*: %s", r.body);
	cJSON_Delete(echo);
	h_resp_free(&r);
	h[3 + INVOKE_HEADERS_MAX - 1] = lines[INVOKE_HEADERS_MAX - 1];
	h_request(&r, "GET", "/api/v1/r/containers/echo/echo", h, NULL, 0);
	h_assert_error(&r, 400, "validation_failed", "headers");
	h_resp_free(&r);
}

/* Every answer names its request: the caller's id or a new one, never the container's. */
Test(proxy, the_answer_carries_an_x_request_id)
{
	struct h_resp r;
	char v[160];

	proxy(&r, "GET", "/health", "X-Request-ID: trace-42", NULL, 0);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(h_header(&r, "X-Request-ID", v, sizeof(v)) && strcmp(v, "trace-42") == 0, "%s", v);
	h_resp_free(&r);
	proxy(&r, "GET", "/health", NULL, NULL, 0);
	cr_assert(h_header(&r, "X-Request-ID", v, sizeof(v)) && strlen(v) == 36, "%s", r.headers);
	h_resp_free(&r);
	proxy(&r, "GET", "/head?X-Request-ID=the-containers", "X-Request-ID: trace-43", NULL, 0);
	cr_assert(h_header(&r, "X-Request-ID", v, sizeof(v)) && strcmp(v, "trace-43") == 0,
		  "%s", r.headers);
	cr_assert(strstr(r.headers, "the-containers") == NULL, "one id, the caller's: %s",
		  r.headers);
	h_resp_free(&r);
}

/* ---- streaming, with curl directly: times and sizes as they arrive ---- */

struct watch {
	struct timespec start;
	double first_s;
	size_t bytes;
	bool pattern_ok;
	char head[128];      /* the answer's first bytes */
};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static size_t watch_write(char *p, size_t size, size_t n, void *arg)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct watch *w = arg;

	if (w->bytes == 0)
		w->first_s = since(&w->start);
	if (w->bytes < sizeof(w->head) - 1)
		memcpy(w->head + w->bytes, p, size * n < sizeof(w->head) - 1 - w->bytes ?
		       size * n : sizeof(w->head) - 1 - w->bytes);
	for (size_t i = 0; i < size * n && w->pattern_ok; i++)
		w->pattern_ok = p[i] == alphabet[(w->bytes + i) % 64];
	w->bytes += size * n;
	return size * n;
}

static curl_off_t send_rate; /* bytes a second for stream's uploads; 0: as fast as it goes */

/* GET or POST rest through the proxy; body from a FILE when upload is not NULL. */
static long stream(const char *rest, struct watch *w, FILE *upload, curl_off_t upload_len,
		   bool chunked, double *total_s)
{
	char url[512], auth[H_TOKEN + 32], team[H_ID + 16];
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	long status = 0;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s/api/v1/r/containers/echo%s", getenv("BERTH_TEST_URL"), rest);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.member_tok);
	snprintf(team, sizeof(team), "X-Team-ID: %s", t.team);
	h = curl_slist_append(curl_slist_append(h, auth), team);
	if (chunked)
		h = curl_slist_append(h, "Transfer-Encoding: chunked");
	memset(w, 0, sizeof(*w));
	w->pattern_ok = true;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	if (upload) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
		curl_easy_setopt(c, CURLOPT_READDATA, upload);
		if (!chunked)
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, upload_len);
		curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, send_rate);
	}
	clock_gettime(CLOCK_MONOTONIC, &w->start);
	rc = curl_easy_perform(c);
	*total_s = since(&w->start);
	cr_assert(eq(int, rc, CURLE_OK), "%s: %s", rest, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

Test(proxy, an_sse_event_arrives_before_the_stream_ends)
{
	struct watch w;
	double total;

	/* three events 700 ms apart: the first must not wait for the last */
	cr_assert(eq(long, stream("/sse?n=3&ms=700", &w, NULL, 0, false, &total), 200));
	cr_assert(eq(sz, w.bytes, strlen("data: 0\n\ndata: 1\n\ndata: 2\n\n")));
	cr_assert(total >= 1.3, "the stream took %.3f s", total);
	cr_assert(w.first_s < total - 1.0, "first event at %.3f s of %.3f s", w.first_s, total);
}

Test(proxy, a_large_download_streams_through_whole)
{
	char rest[64];
	struct watch w;
	double total;

	snprintf(rest, sizeof(rest), "/bytes?n=%ld", BIG_DOWN);
	cr_assert(eq(long, stream(rest, &w, NULL, 0, false, &total), 200));
	cr_assert(eq(sz, w.bytes, (size_t)BIG_DOWN));
	cr_assert(w.pattern_ok, "the bytes arrive in order and unchanged");
}

static FILE *big_file(long size)
{
	FILE *f = tmpfile();
	static char block[65536];

	cr_assert(f != NULL);
	memset(block, 'u', sizeof(block));
	for (long n = 0; n < size; n += (long)sizeof(block))
		cr_assert(fwrite(block, 1, sizeof(block), f) == sizeof(block));
	rewind(f);
	return f;
}

Test(proxy, a_large_upload_streams_through_with_a_length_or_chunked)
{
	struct watch w;
	double total;
	FILE *f = big_file(BIG);
	char want[64];

	snprintf(want, sizeof(want), "{\"received\": %ld}", BIG);
	cr_assert(eq(long, stream("/sink", &w, f, BIG, false, &total), 200));
	cr_assert(eq(str, w.head, want));
	rewind(f);
	cr_assert(eq(long, stream("/sink", &w, f, BIG, true, &total), 200), "chunked upload");
	cr_assert(eq(str, w.head, want), "chunked upload");
	fclose(f);
}

/* The answer's deadline (invoke_timeout_s, 3 s here) counts from the request's last byte: an
 * upload that takes longer, its bytes coming all along, is answered. */
Test(proxy, an_upload_slower_than_the_timeout_is_answered)
{
	long size = 1L << 20;
	struct watch w;
	double total;
	FILE *f = big_file(size);
	char want[64];

	snprintf(want, sizeof(want), "{\"received\": %ld}", size);
	send_rate = 200 * 1024; /* about 5 s */
	cr_assert(eq(long, stream("/sink", &w, f, size, false, &total), 200), "%s", w.head);
	send_rate = 0;
	cr_assert(eq(str, w.head, want));
	cr_assert(gt(dbl, total, 4.0), "the upload took only %.1f s", total);
	fclose(f);
}

Test(proxy, platform_errors_and_roles)
{
	struct h_tenant other;
	struct h_resp r, c;
	char auth[H_TOKEN + 32], team[H_ID + 16];
	const char *h[3] = {auth, team, NULL};

	h_request(&r, "GET", "/api/v1/r/containers/no-such-service/x", h_auth(&(struct h_auth){0},
		  t.member_tok, t.team), NULL, 0);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
	h_create(&c, t.member_tok, t.team, "{\"service_slug\": \"idle\", \"docker_image\": \"x\"}");
	h_resp_free(&c);
	h_request(&r, "GET", "/api/v1/r/containers/idle/x", h_auth(&(struct h_auth){0},
		  t.member_tok, t.team), NULL, 0);
	h_assert_error(&r, 409, "conflict", "service_status");
	h_resp_free(&r);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.viewer_tok);
	snprintf(team, sizeof(team), "X-Team-ID: %s", t.team);
	h_request(&r, "GET", "/api/v1/r/containers/echo/echo", h, NULL, 0);
	h_assert_error(&r, 403, "forbidden", NULL);
	h_resp_free(&r);
	h_request(&r, "GET", "/api/v1/r/containers/echo/echo", NULL, NULL, 0);
	h_assert_error(&r, 401, "unauthenticated", "Authorization");
	cr_assert(not(eq(ptr, strstr(r.body, "or X-Berth-Key"), NULL)), "names both: %s", r.body);
	cr_assert(h_header(&r, "WWW-Authenticate", auth, sizeof(auth)), "%s", r.headers);
	cr_assert(eq(str, auth, "Bearer realm=\"berth\""));
	h_resp_free(&r);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.sk);
	h[1] = NULL;
	h_request(&r, "GET", "/api/v1/r/containers/echo/echo", h, NULL, 0);
	cr_assert(eq(long, r.status, 200), "sk- may call: %s", r.body);
	h_resp_free(&r);
	h_tenant_new(&other);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", other.sk);
	h_request(&r, "GET", "/api/v1/r/containers/echo/echo", h, NULL, 0);
	h_assert_error(&r, 404, "not_found", NULL);
	h_resp_free(&r);
}

/* lighttpd normalises the path first (dot segments, %2e); what is left must still be a plain
 * path on the same container: a 400, or the container sees a path without them. */
Test(proxy, dot_segments_and_double_slashes_never_leave_the_container)
{
	static const char *const rests[] = {"//evil.test/echo", "/echo/%2e%2e/%2E%2e/x",
					    "/echo/./x", "/echo/../echo/y"};
	struct h_resp r;

	for (size_t i = 0; i < sizeof(rests) / sizeof(rests[0]); i++) {
		proxy(&r, "GET", rests[i], NULL, NULL, 0);
		if (r.status == 400) {
			h_assert_error(&r, 400, "validation_failed", "path");
		} else {
			cJSON *echo = cJSON_Parse(r.body);
			const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(echo, "path"));

			cr_assert(r.status == 200 || r.status == 404, "%s: %ld %s", rests[i], r.status,
				  r.body);
			bool plain = !path || (path[0] == '/' && path[1] != '/' &&
					       !strstr(path, "/..") && !strstr(path, "/./"));

			cr_assert(plain, "%s reached the container as %s", rests[i], path);
			cJSON_Delete(echo);
		}
		h_resp_free(&r);
	}
}

Test(proxy, a_slow_container_is_504)
{
	struct h_resp r;

	/* the fixture waits 400 s; berth's timeout here is 3 s (BERTH_INVOKE_TIMEOUT_S) */
	proxy(&r, "GET", "/slow?ms=400000", NULL, NULL, 0);
	h_assert_error(&r, 504, "upstream_timeout", NULL);
	h_resp_free(&r);
}

Test(proxy, an_agent_killed_mid_request_is_502_at_once)
{
	struct timespec t0;
	struct h_resp r;
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		usleep(1500 * 1000);
		kill(agent_pid, SIGKILL);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	proxy(&r, "GET", "/slow?ms=20000", NULL, NULL, 0);
	waitpid(pid, NULL, 0);
	h_assert_error(&r, 502, "upstream_failed", NULL);
	cr_assert(since(&t0) < 10.0, "answered after %.1f s", since(&t0));
	h_resp_free(&r);
}

/* How many event streams the container serves now. Asked through invoke, a program of its
 * own, so that no call of the proxy's carries a late cancel of a hung-up stream along. */
static long sse_streams(void)
{
	char raw[256];
	const char *b64;
	size_t len = 0;
	struct h_resp r;
	cJSON *open;
	long n;

	h_call(&r, "POST", "/api/v1/r/invoke/echo", t.member_tok, t.team,
	       "{\"method\": \"GET\", \"path\": \"/open\"}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	b64 = cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "body_base64"));
	cr_assert(b64 && sodium_base642bin((unsigned char *)raw, sizeof(raw) - 1, b64, strlen(b64),
					   NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0,
		  "%s", r.body);
	raw[len] = '\0';
	open = cJSON_Parse(raw);
	cr_assert(cJSON_IsNumber(cJSON_GetObjectItem(open, "sse")), "%s", raw);
	n = (long)cJSON_GetObjectItem(open, "sse")->valuedouble;
	cJSON_Delete(open);
	h_resp_free(&r);
	return n;
}

/* At the first event: how many streams the container serves (this one), then hang up. */
static size_t hang_up_after_first(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)size;
	(void)n;
	*(long *)arg = sse_streams();
	return 0; /* curl aborts: the caller goes away */
}

Test(proxy, a_caller_that_hangs_up_ends_the_containers_request)
{
	char url[512], auth[H_TOKEN + 32], team[H_ID + 16];
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	long during = -1, open = -1;
	CURLcode rc;

	snprintf(url, sizeof(url), "%s/api/v1/r/containers/echo/sse?n=100000&ms=50",
		 getenv("BERTH_TEST_URL"));
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.member_tok);
	snprintf(team, sizeof(team), "X-Team-ID: %s", t.team);
	h = curl_slist_append(curl_slist_append(h, auth), team);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, hang_up_after_first);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &during);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	cr_assert(eq(int, rc, CURLE_WRITE_ERROR), "%s", curl_easy_strerror(rc));
	cr_assert(eq(long, during, 1), "while it ran, the container served the stream");
	/* the stream would run for 83 minutes: its connection to the container must go now */
	for (int i = 0; i < 100 && open != 0; i++) {
		open = sse_streams();
		if (open)
			usleep(100 * 1000);
	}
	cr_assert(eq(long, open, 0), "the container still serves %ld event streams", open);
}

/* A caller that asks for a large answer and never reads: a socket to lighttpd with the
 * request sent. */
static int stalled_download(void)
{
	const char *url = getenv("BERTH_TEST_URL"), *colon = url ? strrchr(url, ':') : NULL;
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
	char req[H_TOKEN + H_ID + 256];
	int n;

	cr_assert(colon && fd >= 0);
	a.sin_port = htons((uint16_t)atoi(colon + 1));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	cr_assert(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	n = snprintf(req, sizeof(req), "GET /api/v1/r/containers/echo/bytes?n=1000000000 HTTP/1.1\r\n"
		     "Host: berth\r\nAuthorization: Bearer %s\r\nX-Team-ID: %s\r\n\r\n",
		     t.member_tok, t.team);
	cr_assert(n > 0 && (size_t)n < sizeof(req));
	cr_assert(eq(long, (long)write(fd, req, (size_t)n), (long)n));
	return fd;
}

/* A call may stream for hours: the proxy must not hold its store snapshot that long, or
 * SQLite could not checkpoint its WAL, which would grow for as long as the call lasts. */
Test(proxy, a_long_call_holds_no_read_transaction)
{
	static const char from_agent[] = "berth_gateway_relay_bytes_total{direction=\"from_agent\"}";
	long start = h_gateway_metric(from_agent);
	int fd = stalled_download();

	for (int i = 0; i < 100 && h_gateway_metric(from_agent) - start < (1L << 20); i++)
		usleep(100 * 1000);
	cr_assert(gt(long, h_gateway_metric(from_agent) - start, 1L << 20), "the answer streams");
	/* a commit after the call began, then a checkpoint that needs every reader past it */
	h_db_exec("UPDATE teams SET team_name = team_name WHERE id = ?", t.team);
	cr_assert(eq(long, h_db_count("PRAGMA wal_checkpoint(TRUNCATE)", NULL), 0),
		  "a reader holds an older snapshot while the call streams");
	close(fd);
}

/* Between gatewayd and an agent all calls share one connection: callers that stop reading
 * must hold back their own answers only. */
Test(proxy, callers_that_stop_reading_do_not_hold_back_the_agents_other_calls)
{
	static const char from_agent[] = "berth_gateway_relay_bytes_total{direction=\"from_agent\"}";
	int fds[STALLED];
	long start = h_gateway_metric(from_agent), before = -1, now = start;
	struct h_resp r;

	for (int i = 0; i < STALLED; i++)
		fds[i] = stalled_download();
	/* until the stalled answers have filled every buffer on their way: more than the
	 * connection's window came from the agent, and nothing more comes */
	for (int i = 0; i < 100 && (now != before || now - start <= (16L << 20)); i++) {
		usleep(300 * 1000);
		before = now;
		now = h_gateway_metric(from_agent);
	}
	cr_assert(gt(long, now - start, 16L << 20), "only %ld bytes came from the agent",
		  now - start);
	cr_assert(eq(long, now, before), "the stalled answers still flow");
	proxy(&r, "GET", "/bytes?n=3000000", NULL, NULL, 0);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(sz, r.len, (size_t)3000000), "the answer beside them came whole");
	h_resp_free(&r);
	for (int i = 0; i < STALLED; i++)
		close(fds[i]);
}

Test(proxy, calls_reuse_the_programs_connections_to_gatewayd)
{
	long before = h_gateway_metric("berth_gateway_control_connections_total"), after;
	struct h_resp r;

	/* lighttpd spreads calls over the proxy's processes and threads: each makes a connection
	 * the first time and keeps it */
	for (int i = 0; i < 60; i++) {
		proxy(&r, "GET", "/health", NULL, NULL, 0);
		cr_assert(eq(long, r.status, 200), "call %d: %s", i, r.body);
		h_resp_free(&r);
	}
	after = h_gateway_metric("berth_gateway_control_connections_total");
	cr_assert(ge(long, before, 0L), "gatewayd's /metrics did not answer");
	cr_assert(lt(long, after - before, 30L), "60 calls made %ld connections to gatewayd",
		  after - before);
}

Test(proxy, many_calls_at_once_leave_the_tunnel_as_it_was)
{
	char auth[H_TOKEN + 32], team[H_ID + 16];
	const char *h[3] = {auth, team, NULL};
	long statuses[16];
	struct h_resp r;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.member_tok);
	snprintf(team, sizeof(team), "X-Team-ID: %s", t.team);
	for (int round = 0; round < 80; round++) {
		h_parallel(16, statuses, "GET", "/api/v1/r/containers/echo/health", h, NULL);
		for (int i = 0; i < 16; i++)
			cr_assert(eq(long, statuses[i], 200), "round %d call %d", round, i);
	}
	proxy(&r, "GET", "/echo", NULL, NULL, 0);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	h_resp_free(&r);
}
