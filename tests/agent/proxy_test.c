/* proxy_test.c: ANY /v1/proxy/{replica id}/{path} end to end in one process and one event
 * loop: a lib/h2 client on one end of a socketpair (the gateway's part), the agent's serve
 * callbacks as the HTTP/2 server on the other, and a real replica manager running
 * berth-fixture:test on this machine's dockerd. The upstream suite drives agent/upstream.c
 * alone against a scripted server on 127.0.0.1, for what the fixture cannot send (oversized
 * heads, too many headers, odd framing) and for a refused connection. Containers are
 * labelled berth.test=1 and removed in the fini, pass or fail. */
#include "berth.h"
#include "agent.h"
#include "crypto.h"
#include "docker.h"
#include "keepalive.h"
#include "log.h"
#include "replicas.h"
#include "upstream.h"
#include "uuid.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <nghttp2/nghttp2.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define FIXTURE_IMAGE "berth-fixture:test"
#define SERVICE_ID "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
#define UP_MS 20000               /* put → healthy, generously */
#define CALL_MS 10000             /* one ordinary call */
#define EVENTS_MAX 256
#define IDS_MAX 4
#define CALLS_MAX 16
#define KEEP_MAX ((size_t)1 << 20) /* body bytes a call keeps; the rest is only counted */
#define PATTERN "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#define OUT_BOUND ((size_t)(1024 + 64) * 1024) /* serve.c's 1 MiB high mark and one read */

/* ---- the loop and bounded waits ---- */

static struct event_base *base;
static bool timed_out;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	timed_out = true;
}

/* Runs the loop until done(arg) or ms pass; whether done came. */
static bool wait_for(bool (*done)(const void *), const void *arg, int ms)
{
	struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};
	struct event *t = evtimer_new(base, on_timer, NULL);
	bool ok;

	timed_out = false;
	evtimer_add(t, &tv);
	while (!(ok = done && done(arg)) && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return ok;
}

static void run_for(int ms)
{
	wait_for(NULL, NULL, ms);
}

static bool no_upstreams(const void *arg)
{
	(void)arg;
	return upstream_open_count() == 0;
}

/* ---- the agent side: replicas, serve callbacks, the h2 pair ---- */

struct rec {
	char id[DOCKER_REPLICA_ID_MAX + 1];
	char state[16];
};

static struct agent agent;
static struct docker *dk;
static struct rec recs[EVENTS_MAX];
static size_t nrecs;
static char ids[IDS_MAX][UUID_STR_LEN + 1];
static size_t nids;
static struct h2_conn *client, *server;
static struct bufferevent *client_bev;   /* the client's socket, for the slow reader */
static struct h2_stream *server_st;       /* the agent's side of the last proxy stream */
static struct h2_callbacks srv_cb;

static const char *socket_path(void)
{
	const char *s = getenv("BERTH_DOCKER_SOCKET");

	return s && s[0] ? s : DOCKER_SOCKET_DEFAULT;
}

static void on_replica(void *ctx, const struct replica_event *ev)
{
	(void)ctx;
	if (nrecs == EVENTS_MAX)
		return;
	snprintf(recs[nrecs].id, sizeof(recs[nrecs].id), "%s", ev->replica_id);
	snprintf(recs[nrecs].state, sizeof(recs[nrecs].state), "%s", ev->state);
	nrecs++;
	cr_log_info("replica %s: %s %s", ev->replica_id, ev->state, ev->detail);
}

static void srv_request(struct h2_stream *st, void *arg)
{
	serve_callbacks.request(st, arg);
	server_st = st;
}

static void srv_close(struct h2_stream *st, uint32_t error, void *arg)
{
	if (st == server_st)
		server_st = NULL;
	serve_callbacks.close(st, error, arg);
}

static void srv_conn_closed(struct h2_conn *c, void *arg)
{
	(void)arg;
	h2_conn_free(c);
	server = NULL;
}

/* ---- the client side: one call ---- */

struct call {
	struct h2_stream *st;     /* NULL once closed */
	int status;
	char hname[H2_HEADERS_MAX][64];
	char hvalue[H2_HEADERS_MAX][256];
	size_t nh;
	struct evbuffer *body;    /* the first KEEP_MAX bytes */
	size_t got;
	bool pattern_bad;         /* a /bytes answer strayed from its pattern */
	double t_start, t_first, t_end;
	double t_event[8];        /* SSE: when "data: i\n\n" was complete */
	bool ended, closed;
	uint32_t error;
};

static struct call *calls[CALLS_MAX];
static size_t ncalls;

static void cli_response(struct h2_stream *st, void *arg)
{
	struct call *c = st->user;

	(void)arg;
	c->status = st->status;
	for (size_t i = 0; i < st->nheaders && i < H2_HEADERS_MAX; i++) {
		snprintf(c->hname[i], sizeof(c->hname[i]), "%s", st->headers[i].name);
		snprintf(c->hvalue[i], sizeof(c->hvalue[i]), "%s", st->headers[i].value);
		c->nh = i + 1;
	}
}

static void cli_data(struct h2_stream *st, const uint8_t *p, size_t n, void *arg)
{
	struct call *c = st->user;
	double t = now_s();

	(void)arg;
	if (!c->got)
		c->t_first = t;
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)PATTERN[(c->got + i) % 64])
			c->pattern_bad = true;
	c->got += n;
	if (evbuffer_get_length(c->body) < KEEP_MAX)
		evbuffer_add(c->body, p, n);
	for (size_t i = 0; c->got < 4096 && i < B_ARRAY_LEN(c->t_event); i++) {
		char ev[32];
		size_t len = (size_t)snprintf(ev, sizeof(ev), "data: %zu\n\n", i);

		if (!c->t_event[i] && evbuffer_search(c->body, ev, len, NULL).pos >= 0)
			c->t_event[i] = t;
	}
}

static void cli_end(struct h2_stream *st, void *arg)
{
	struct call *c = st->user;

	(void)arg;
	c->ended = true;
	c->t_end = now_s();
}

static void cli_close(struct h2_stream *st, uint32_t error, void *arg)
{
	struct call *c = st->user;

	(void)arg;
	c->closed = true;
	c->error = error;
	c->st = NULL;
}

static void cli_conn_closed(struct h2_conn *c, void *arg)
{
	(void)arg;
	h2_conn_free(c);
	client = NULL;
}

static const struct h2_callbacks cli_cb = {
	.response = cli_response, .data = cli_data, .end = cli_end, .close = cli_close,
	.conn_closed = cli_conn_closed,
};

static const char *call_header(const struct call *c, const char *name)
{
	for (size_t i = 0; i < c->nh; i++)
		if (strcmp(c->hname[i], name) == 0)
			return c->hvalue[i];
	return NULL;
}

static char *hval(const struct call *c, const char *name)
{
	const char *v = call_header(c, name);

	return (char *)(v ? v : "(absent)");
}

/* The body kept, NUL-terminated; owned by c. */
static const char *call_body(const struct call *c)
{
	evbuffer_add(c->body, "", 1);
	evbuffer_drain(c->body, 0);
	return (const char *)evbuffer_pullup(c->body, -1);
}

/* Opens a request; with body, write it with h2_stream_write and h2_stream_end. */
static struct call *call_open(const char *method, const char *path, const struct h2_header *h,
			      size_t n, bool body)
{
	struct call *c = calloc(1, sizeof(*c));

	cr_assert(not(eq(ptr, c, NULL)));
	cr_assert(lt(sz, ncalls, (size_t)CALLS_MAX));
	calls[ncalls++] = c;
	c->body = evbuffer_new();
	c->t_start = now_s();
	c->st = h2_request(client, method, path, h, n, body, c);
	cr_assert(not(eq(ptr, c->st, NULL)), "h2_request %s %s", method, path);
	return c;
}

static bool call_closed(const void *arg)
{
	return ((const struct call *)arg)->closed;
}

static struct call *call_wait(struct call *c, int ms)
{
	cr_assert(wait_for(call_closed, c, ms), "no answer within %d ms (status %d, %zu bytes)",
		  ms, c->status, c->got);
	return c;
}

static struct call *call(const char *method, const char *path, const struct h2_header *h,
			 size_t n)
{
	return call_wait(call_open(method, path, h, n, false), CALL_MS);
}

static cJSON *call_json(struct call *c)
{
	cJSON *o = cJSON_Parse(call_body(c));

	cr_assert(not(eq(ptr, o, NULL)), "not JSON: %s", call_body(c));
	return o;
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* For eq(str, ...): never NULL. */
static char *jval(const cJSON *o, const char *name)
{
	const char *v = jstr(o, name);

	return (char *)(v ? v : "(absent)");
}

/* An error answer: status, error_code and a message. */
static void expect_error(struct call *c, int status, const char *code)
{
	cJSON *o;

	cr_assert(eq(int, c->status, status), "status %d, body %s", c->status, call_body(c));
	o = call_json(c);
	cr_assert(eq(str, jval(o, "error_code"), (char *)code));
	cr_assert(not(eq(ptr, (void *)jstr(o, "error_message"), NULL)));
	cr_log_info("%d %s: %s", status, code, jstr(o, "error_message"));
	cJSON_Delete(o);
}

/* ---- replicas ---- */

static const char *new_id(void)
{
	cr_assert(lt(sz, nids, (size_t)IDS_MAX));
	uuid_v7(ids[nids]);
	return ids[nids++];
}

static void put(const char *id, const char *health_path)
{
	cJSON *s = cJSON_CreateObject();
	struct berr e = {0};

	cJSON_AddStringToObject(s, "service_id", SERVICE_ID);
	cJSON_AddStringToObject(s, "docker_image", FIXTURE_IMAGE);
	cJSON_AddNumberToObject(s, "exposed_port", 8080);
	cJSON_AddStringToObject(s, "health_path", health_path);
	cr_assert(eq(int, replicas_put(agent.replicas, id, s, &e), B_OK), "put: %s", e.message);
	cJSON_Delete(s);
}

struct want {
	const char *id, *state;
};

static bool saw_state(const void *arg)
{
	const struct want *w = arg;

	for (size_t i = 0; i < nrecs; i++)
		if (strcmp(recs[i].id, w->id) == 0 && strcmp(recs[i].state, w->state) == 0)
			return true;
	return false;
}

static void expect_state(const char *id, const char *state)
{
	struct want w = {id, state};

	cr_assert(wait_for(saw_state, &w, UP_MS), "%s: no \"%s\" within %d ms", id, state, UP_MS);
}

/* A healthy fixture replica; its id. */
static const char *replica_up(void)
{
	const char *id = new_id();
	double t = now_s();

	put(id, "/health");
	expect_state(id, "healthy");
	cr_log_info("%s healthy in %.2f s", id, now_s() - t);
	return id;
}

static const char *proxy_path(const char *id, const char *rest, char *out, size_t n)
{
	cr_assert(lt(int, snprintf(out, n, "/v1/proxy/%s%s", id, rest), (int)n));
	return out;
}

/* ---- fixture ---- */

static void setup(void)
{
	const struct docker_kv labels[] = {{"berth.test", "1"}};
	struct replicas_opts o = {
		.docker_socket = socket_path(), .probe_interval_ms = 200, .probe_timeout_ms = 1000,
		.agent_name = "proxy-test", .labels = labels, .label_count = 1,
	};
	struct bufferevent *sbev;
	struct berr e = {0};
	int fds[2];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_init("proxy_test", false, getenv("BERTH_TEST_DEBUG") ? LOG_DEBUG : LOG_ERROR, NULL);
	cr_assert(eq(int, evthread_use_pthreads(), 0));
	cr_assert(eq(int, crypto_init(), 0));
	base = event_base_new();
	dk = docker_new(socket_path());
	memset(&agent, 0, sizeof(agent));
	agent.base = base;
	agent.replicas = replicas_new(base, &o, on_replica, NULL, &e);
	cr_assert(not(eq(ptr, agent.replicas, NULL)), "replicas_new: %s", e.message);
	nrecs = nids = ncalls = 0;
	cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0));
	evutil_make_socket_nonblocking(fds[0]);
	evutil_make_socket_nonblocking(fds[1]);
	srv_cb = serve_callbacks;
	srv_cb.request = srv_request;
	srv_cb.close = srv_close;
	srv_cb.conn_closed = srv_conn_closed;
	sbev = bufferevent_socket_new(base, fds[0], BEV_OPT_CLOSE_ON_FREE);
	client_bev = bufferevent_socket_new(base, fds[1], BEV_OPT_CLOSE_ON_FREE);
	server = h2_conn_new(sbev, true, &srv_cb, &agent);
	client = h2_conn_new(client_bev, false, &cli_cb, NULL);
	cr_assert(not(eq(ptr, server, NULL)));
	cr_assert(not(eq(ptr, client, NULL)));
	run_for(50); /* the prefaces and SETTINGS cross */
}

static void teardown(void)
{
	char name[256];
	struct berr e = {0};

	if (client)
		h2_conn_free(client);
	if (server)
		h2_conn_free(server);
	client = server = NULL;
	for (size_t i = 0; i < ncalls; i++) {
		evbuffer_free(calls[i]->body);
		free(calls[i]);
	}
	keepalive_close_all();
	replicas_free(agent.replicas); /* first, or it would restart what is removed below */
	for (size_t i = 0; i < nids; i++) {
		snprintf(name, sizeof(name), DOCKER_NAME_PREFIX "%s", ids[i]);
		if (docker_remove(dk, name, true, &e))
			cr_log_warn("cleanup of %s failed: %s", name, e.message);
	}
	docker_free(dk);
	event_base_free(base);
	curl_global_cleanup();
}

TestSuite(proxy, .init = setup, .fini = teardown);

Test(proxy, get_forwards_method_path_query_and_headers_less_hop_by_hop)
{
	const struct h2_header h[] = {
		{"x-custom", "yes"}, {"user-agent", "proxy-test"}, {"x-berth-timeout-ms", "5000"},
		{"x-berth-secret", "never"}, {"te", "trailers"}, {"proxy-authorization", "Basic x"},
		{"cookie", "a=1"}, {"cookie", "b=2"}, {"host", "evil.example"},
	};
	const char *id = replica_up();
	char path[256], host[64], want_host[80];
	int port;
	struct call *c;
	cJSON *o, *hd;

	c = call("GET", proxy_path(id, "/echo/x?a=1&b=two", path, sizeof(path)), h,
		 B_ARRAY_LEN(h));
	cr_assert(eq(int, c->status, 200), "body %s", call_body(c));
	cr_assert(eq(u32, c->error, 0));
	cr_assert(eq(str, hval(c, "content-type"), "application/json"));
	cr_assert(eq(ptr, (void *)call_header(c, "connection"), NULL));
	o = call_json(c);
	cr_assert(eq(str, jval(o, "method"), "GET"));
	cr_assert(eq(str, jval(o, "path"), "/echo/x"));
	cr_assert(eq(str, jval(o, "query"), "a=1&b=two"));
	cr_assert(eq(str, jval(o, "body_base64"), ""));
	hd = cJSON_GetObjectItem(o, "headers");
	cr_assert(eq(int, replicas_address(agent.replicas, id, host, sizeof(host), &port), B_OK));
	snprintf(want_host, sizeof(want_host), "%s:%d", host, port);
	cr_assert(eq(str, jval(hd, "host"), want_host));
	cr_assert(eq(str, jval(hd, "x-custom"), "yes"));
	cr_assert(eq(str, jval(hd, "user-agent"), "proxy-test"));
	cr_assert(eq(str, jval(hd, "cookie"), "a=1; b=2"));
	for (const char *const *n = (const char *const[]){"connection", "te", "proxy-authorization",
			"x-berth-timeout-ms", "x-berth-secret", "content-length",
			"transfer-encoding", NULL}; *n; n++)
		cr_assert(eq(ptr, (void *)jstr(hd, *n), NULL), "%s was forwarded", *n);
	cJSON_Delete(o);
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
}

Test(proxy, post_binary_body_with_length_round_trips)
{
	const char *id = replica_up();
	unsigned char body[64 * 256], back[sizeof(body)];
	const struct h2_header h[] = {{"content-length", "16384"},
				      {"content-type", "application/octet-stream"}};
	char path[256];
	size_t n = 0;
	struct call *c;
	cJSON *o, *hd;
	const char *b64;

	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (unsigned char)i;
	c = call_open("POST", proxy_path(id, "/echo", path, sizeof(path)), h, B_ARRAY_LEN(h),
		      true);
	h2_stream_write(c->st, body, sizeof(body));
	h2_stream_end(c->st);
	call_wait(c, CALL_MS);
	cr_assert(eq(int, c->status, 200), "body %s", call_body(c));
	o = call_json(c);
	hd = cJSON_GetObjectItem(o, "headers");
	cr_assert(eq(str, jval(o, "method"), "POST"));
	cr_assert(eq(str, jval(hd, "content-length"), "16384"));
	cr_assert(eq(ptr, (void *)jstr(hd, "transfer-encoding"), NULL));
	b64 = jstr(o, "body_base64");
	cr_assert(eq(int, sodium_base642bin(back, sizeof(back), b64, strlen(b64), NULL, &n, NULL,
					    sodium_base64_VARIANT_ORIGINAL), 0));
	cr_assert(eq(sz, n, sizeof(body)));
	cr_assert(eq(int, memcmp(back, body, n), 0), "the bytes changed on the way");
	cJSON_Delete(o);
}

Test(proxy, body_without_length_goes_chunked_and_none_goes_without_framing)
{
	const char *id = replica_up();
	char path[256];
	struct call *c;
	cJSON *o, *hd;

	/* streamed in two pieces, a loop turn apart */
	c = call_open("PUT", proxy_path(id, "/echo", path, sizeof(path)), NULL, 0, true);
	h2_stream_write(c->st, "hello ", 6);
	run_for(100);
	h2_stream_write(c->st, "world", 5);
	h2_stream_end(c->st);
	call_wait(c, CALL_MS);
	cr_assert(eq(int, c->status, 200), "body %s", call_body(c));
	o = call_json(c);
	hd = cJSON_GetObjectItem(o, "headers");
	cr_assert(eq(str, jval(hd, "transfer-encoding"), "chunked"));
	cr_assert(eq(ptr, (void *)jstr(hd, "content-length"), NULL));
	cr_assert(eq(str, jval(o, "body_base64"), "aGVsbG8gd29ybGQ=")); /* hello world */
	cJSON_Delete(o);

	/* END_STREAM with the headers: no body at all (a POST says so with Content-Length: 0) */
	c = call("POST", path, NULL, 0);
	cr_assert(eq(int, c->status, 200), "body %s", call_body(c));
	o = call_json(c);
	hd = cJSON_GetObjectItem(o, "headers");
	cr_assert(eq(str, jval(hd, "content-length"), "0"));
	cr_assert(eq(ptr, (void *)jstr(hd, "transfer-encoding"), NULL));
	cJSON_Delete(o);
}

Test(proxy, streamed_upload_of_megabytes_reaches_the_sink)
{
	static unsigned char piece[64 * 1024];
	const size_t total = (size_t)6 * 1024 * 1024;
	const char *id = replica_up();
	char path[256], want[64];
	struct call *c;
	double t;

	memset(piece, 'x', sizeof(piece));
	c = call_open("POST", proxy_path(id, "/sink", path, sizeof(path)), NULL, 0, true);
	t = now_s();
	for (size_t sent = 0; sent < total; sent += sizeof(piece)) {
		h2_stream_write(c->st, piece, sizeof(piece));
		if (sent % ((size_t)1024 * 1024) == 0)
			run_for(10); /* let it flow while more is written */
	}
	h2_stream_end(c->st);
	call_wait(c, 30000);
	cr_log_info("%zu bytes uploaded in %.3f s", total, now_s() - t);
	cr_assert(eq(int, c->status, 200), "body %s", call_body(c));
	snprintf(want, sizeof(want), "{\"received\": %zu}", total);
	cr_assert(eq(str, (char *)call_body(c), want));
}

Test(proxy, statuses_and_their_bodies_pass_through)
{
	const char *id = replica_up();
	static const int codes[] = {404, 500, 201};
	char path[256], rest[32], want[32];
	struct call *c;

	for (size_t i = 0; i < B_ARRAY_LEN(codes); i++) {
		snprintf(rest, sizeof(rest), "/status/%d", codes[i]);
		c = call("GET", proxy_path(id, rest, path, sizeof(path)), NULL, 0);
		snprintf(want, sizeof(want), "status %d\n", codes[i]);
		cr_assert(eq(int, c->status, codes[i]));
		cr_assert(eq(str, (char *)call_body(c), want));
		cr_assert(eq(str, hval(c, "content-type"), "text/plain"));
		cr_assert(eq(u32, c->error, 0));
	}
	for (int code = 204; code <= 304; code += 100) {
		snprintf(rest, sizeof(rest), "/status/%d", code);
		c = call("GET", proxy_path(id, rest, path, sizeof(path)), NULL, 0);
		cr_assert(eq(int, c->status, code));
		cr_assert(eq(sz, c->got, (size_t)0));
		cr_assert(c->ended);
		cr_assert(eq(u32, c->error, 0));
	}
}

Test(proxy, head_answer_has_headers_and_no_body)
{
	const char *id = replica_up();
	char path[256];
	struct call *c = call("HEAD", proxy_path(id, "/bytes?n=100", path, sizeof(path)), NULL, 0);

	cr_assert(eq(int, c->status, 200));
	cr_assert(eq(str, hval(c, "content-length"), "100"));
	cr_assert(eq(sz, c->got, (size_t)0));
	cr_assert(eq(u32, c->error, 0));
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
}

Test(proxy, ten_mib_arrive_whole)
{
	const size_t n = (size_t)10 * 1024 * 1024;
	const char *id = replica_up();
	char path[256];
	struct call *c = call_open("GET", proxy_path(id, "/bytes?n=10485760", path, sizeof(path)),
				   NULL, 0, false);

	call_wait(c, 60000);
	cr_log_info("10 MiB in %.3f s", c->t_end - c->t_start);
	cr_assert(eq(int, c->status, 200));
	cr_assert(eq(u32, c->error, 0));
	cr_assert(eq(sz, c->got, n));
	cr_assert(not(c->pattern_bad), "the bytes strayed from the pattern");
	cr_assert(eq(str, hval(c, "content-length"), "10485760"));
}

Test(proxy, sse_events_arrive_as_they_are_sent)
{
	const char *id = replica_up();
	char path[256];
	struct call *c = call_open("GET", proxy_path(id, "/sse?n=3&ms=300", path, sizeof(path)),
				   NULL, 0, false);
	double first, second, end;

	call_wait(c, CALL_MS);
	first = c->t_event[0] - c->t_start;
	second = c->t_event[1] - c->t_start;
	end = c->t_end - c->t_start;
	cr_log_info("SSE: event 0 at %.3f s, event 1 at %.3f s, event 2 at %.3f s, end at %.3f s",
		    first, second, c->t_event[2] - c->t_start, end);
	cr_assert(eq(int, c->status, 200));
	cr_assert(eq(str, hval(c, "content-type"), "text/event-stream"));
	cr_assert(eq(ptr, (void *)call_header(c, "transfer-encoding"), NULL));
	cr_assert(eq(str, (char *)call_body(c), "data: 0\n\ndata: 1\n\ndata: 2\n\n"));
	cr_assert(gt(dbl, c->t_event[0], 0.0));
	cr_assert(lt(dbl, first, 0.25), "the first event took %.3f s", first);
	cr_assert(gt(dbl, end - first, 0.5), "the first event came %.3f s before the end",
		  end - first);
	cr_assert(gt(dbl, second - first, 0.2), "events 0 and 1 came together");
}

Test(proxy, no_head_before_the_deadline_is_504)
{
	const struct h2_header h[] = {{"x-berth-timeout-ms", "500"}};
	const char *id = replica_up();
	char path[256];
	struct call *c = call("GET", proxy_path(id, "/slow?ms=3000", path, sizeof(path)), h, 1);
	double took = c->t_end - c->t_start;

	expect_error(c, 504, "upstream_timeout");
	cr_assert(ge(dbl, took, 0.45), "answered after %.3f s", took);
	cr_assert(lt(dbl, took, 2.0), "answered after %.3f s", took);
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
}

Test(proxy, unknown_replica_is_404)
{
	char id[UUID_STR_LEN + 1], path[256];
	struct call *c;

	uuid_v7(id);
	c = call("GET", proxy_path(id, "/echo", path, sizeof(path)), NULL, 0);
	expect_error(c, 404, "not_found");
	c = call("GET", "/v1/proxy//echo", NULL, 0);
	expect_error(c, 404, "not_found");
	/* a body sent to an unknown replica is dropped, not kept */
	c = call_open("POST", path, NULL, 0, true);
	h2_stream_write(c->st, "abc", 3);
	h2_stream_end(c->st);
	call_wait(c, CALL_MS);
	expect_error(c, 404, "not_found");
}

Test(proxy, replica_not_healthy_or_being_deleted_is_503_and_gone_is_404)
{
	const char *sick = new_id(), *gone = replica_up();
	char path[256];
	struct call *c;
	struct berr e = {0};

	put(sick, "/status/500"); /* runs, but never passes its probe */
	expect_state(sick, "starting");
	c = call("GET", proxy_path(sick, "/echo", path, sizeof(path)), NULL, 0);
	expect_error(c, 503, "no_healthy_replica");

	/* while its container stops it is still the agent's, not healthy; once removed the
	 * agent has forgotten it, like a replica it never had */
	cr_assert(eq(int, replicas_delete(agent.replicas, gone, &e), B_OK));
	expect_state(gone, "stopping");
	c = call("GET", proxy_path(gone, "/echo", path, sizeof(path)), NULL, 0);
	expect_error(c, 503, "no_healthy_replica");
	expect_state(gone, "stopped");
	c = call("GET", proxy_path(gone, "/echo", path, sizeof(path)), NULL, 0);
	expect_error(c, 404, "not_found");
}

Test(proxy, container_gone_before_answering_is_502)
{
	const char *id = replica_up();
	char path[256], name[256];
	struct berr e = {0};
	struct call *c = call_open("GET", proxy_path(id, "/slow?ms=5000", path, sizeof(path)),
				   NULL, 0, false);

	run_for(300);
	cr_assert(eq(sz, upstream_open_count(), (size_t)1));
	snprintf(name, sizeof(name), DOCKER_NAME_PREFIX "%s", id);
	cr_assert(eq(int, docker_remove(dk, name, true, &e), B_OK), "%s", e.message);
	call_wait(c, CALL_MS);
	expect_error(c, 502, "upstream_failed");
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
}

static bool has_data(const void *arg)
{
	return ((const struct call *)arg)->got > 0;
}

Test(proxy, container_gone_in_the_middle_of_the_answer_resets_the_stream)
{
	const char *id = replica_up();
	char path[256], name[256];
	struct berr e = {0};
	struct call *c = call_open("GET", proxy_path(id, "/sse?n=100&ms=100", path, sizeof(path)),
				   NULL, 0, false);

	cr_assert(wait_for(has_data, c, CALL_MS), "no event");
	snprintf(name, sizeof(name), DOCKER_NAME_PREFIX "%s", id);
	cr_assert(eq(int, docker_remove(dk, name, true, &e), B_OK), "%s", e.message);
	call_wait(c, CALL_MS);
	cr_assert(eq(int, c->status, 200));
	cr_assert(not(c->ended), "the cut-off answer ended cleanly");
	cr_assert(eq(u32, c->error, (uint32_t)NGHTTP2_INTERNAL_ERROR));
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
}

Test(proxy, caller_reset_mid_sse_closes_the_container_connection)
{
	const char *id = replica_up();
	char path[256];
	struct call *c = call_open("GET", proxy_path(id, "/sse?n=100&ms=100", path, sizeof(path)),
				   NULL, 0, false);

	cr_assert(wait_for(has_data, c, CALL_MS), "no event");
	cr_assert(eq(sz, upstream_open_count(), (size_t)1));
	h2_stream_reset(c->st, NGHTTP2_CANCEL);
	cr_assert(wait_for(no_upstreams, NULL, 1000), "%zu upstream connections still open",
		  upstream_open_count());
	cr_assert(c->closed);
	cr_assert(lt(sz, c->got, (size_t)200), "the stream went on: %zu bytes", c->got);
}

Test(proxy, tunnel_gone_mid_call_closes_the_container_connection)
{
	const char *id = replica_up();
	char path[256];

	call_open("GET", proxy_path(id, "/slow?ms=5000", path, sizeof(path)), NULL, 0, false);
	run_for(300);
	cr_assert(eq(sz, upstream_open_count(), (size_t)1));
	h2_conn_free(client);
	client = NULL;
	cr_assert(wait_for(no_upstreams, NULL, 1000), "%zu upstream connections still open",
		  upstream_open_count());
	cr_assert(eq(ptr, server, NULL), "the agent kept the dead tunnel");
}

static bool got_all(const void *arg)
{
	return ((const struct call *)arg)->got >= (size_t)32 * 1024 * 1024;
}

Test(proxy, slow_caller_stops_reading_from_the_container)
{
	const size_t n = (size_t)32 * 1024 * 1024;
	const char *id = replica_up();
	char path[256];
	struct call *c = call_open("GET", proxy_path(id, "/bytes?n=33554432", path, sizeof(path)),
				   NULL, 0, false);
	size_t held;

	cr_assert(wait_for(has_data, c, CALL_MS), "no data");
	bufferevent_disable(client_bev, EV_READ); /* the caller stops reading */
	run_for(1500);
	cr_assert(not(eq(ptr, server_st, NULL)));
	held = evbuffer_get_length(server_st->out);
	cr_log_info("caller stalled at %zu bytes; the agent holds %zu", c->got, held);
	cr_assert(le(sz, held, OUT_BOUND), "the agent holds %zu bytes for a stalled caller", held);
	cr_assert(lt(sz, c->got, n));
	cr_assert(eq(sz, upstream_open_count(), (size_t)1));
	bufferevent_enable(client_bev, EV_READ);
	cr_assert(wait_for(got_all, c, 60000), "resumed, but only %zu bytes came", c->got);
	call_wait(c, CALL_MS);
	cr_assert(eq(sz, c->got, n));
	cr_assert(not(c->pattern_bad));
	cr_assert(eq(u32, c->error, 0));
}

/* ---- upstream.c alone, against a scripted server ---- */

struct script {
	const char *answer;          /* sent once `after` is in the request; NULL: never */
	size_t answer_len;
	const char *after;
	bool close;                  /* close once the answer is out */
	bool answered;
	const char *every;           /* or: this answers every request, on every connection */
	struct evbuffer *got;        /* every request byte received */
};

#define PEERS_MAX (KEEPALIVE_PER_ADDRESS + 8)

struct result {
	struct upstream *u;
	int status;
	size_t nh;
	char hname[UPSTREAM_HEADERS_MAX + 1][64];
	char hvalue[UPSTREAM_HEADERS_MAX + 1][128];
	bool body_expected, finished;
	struct evbuffer *body;
	int rc;
	char why[ERR_MESSAGE_MAX];
	double t_start, t_end;
};

static struct evconnlistener *listener;
static struct script script;
static struct bufferevent *peer;               /* the newest connection */
static struct bufferevent *peers[PEERS_MAX];   /* every open one */
static int accepts;
static struct result res;

static void peer_close(struct bufferevent *bev)
{
	for (size_t i = 0; i < PEERS_MAX; i++)
		if (peers[i] == bev)
			peers[i] = NULL;
	if (peer == bev)
		peer = NULL;
	bufferevent_free(bev);
}

static void peer_written(struct bufferevent *bev, void *arg)
{
	(void)arg;
	if (script.close && script.answered && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		peer_close(bev);
}

/* The connection that closes at its next request, unanswered (a kept one gone stale). */
static struct bufferevent *drop_peer;

static void peer_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	(void)arg;
	if (bev == drop_peer) {
		drop_peer = NULL;
		peer_close(bev);
		return;
	}
	if (script.every) {
		struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);

		if (end.pos >= 0) {
			evbuffer_drain(in, (size_t)end.pos + 4);
			bufferevent_write(bev, script.every, strlen(script.every));
		}
		return;
	}
	evbuffer_add_buffer(script.got, in);
	if (script.answer && evbuffer_search(script.got, script.after, strlen(script.after),
					     NULL).pos >= 0) {
		bufferevent_write(bev, script.answer, script.answer_len);
		script.answer = NULL;
		script.answered = true;
		if (script.close && script.answer_len == 0)
			peer_close(bev);
	}
}

static void peer_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	(void)arg;
	peer_close(bev);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		      void *arg)
{
	(void)l;
	(void)sa;
	(void)len;
	(void)arg;
	peer = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(peer, peer_read, peer_written, peer_event, NULL);
	bufferevent_enable(peer, EV_READ | EV_WRITE);
	accepts++;
	for (size_t i = 0; i < PEERS_MAX; i++) {
		if (!peers[i]) {
			peers[i] = peer;
			break;
		}
	}
}

static int listen_port(struct evconnlistener *l)
{
	struct sockaddr_in sin = {0};
	socklen_t len = sizeof(sin);

	cr_assert(eq(int, getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &len), 0));
	return ntohs(sin.sin_port);
}

static struct evconnlistener *listen_local(void)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct evconnlistener *l = evconnlistener_new_bind(base, on_accept, NULL,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16, (struct sockaddr *)&sin, sizeof(sin));

	cr_assert(not(eq(ptr, l, NULL)));
	return l;
}

static void res_head(void *arg, int status, const struct upstream_header *h, size_t n,
		     bool body)
{
	(void)arg;
	res.status = status;
	res.body_expected = body;
	res.nh = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(res.hname[i], sizeof(res.hname[i]), "%s", h[i].name);
		snprintf(res.hvalue[i], sizeof(res.hvalue[i]), "%s", h[i].value);
	}
}

static void res_body(void *arg, const void *p, size_t n)
{
	(void)arg;
	evbuffer_add(res.body, p, n);
}

static void res_finish(void *arg, int rc, const struct berr *e)
{
	(void)arg;
	res.finished = true;
	res.rc = rc;
	res.t_end = now_s();
	snprintf(res.why, sizeof(res.why), "%s", e ? e->message : "");
	upstream_free(res.u); /* inside the callback, as serve.c does */
	res.u = NULL;
}

static const struct upstream_callbacks res_cb = {.head = res_head, .body = res_body,
							  .finish = res_finish};

static void u_setup(void)
{
	log_init("proxy_test", false, LOG_ERROR, NULL);
	base = event_base_new();
	listener = listen_local();
	memset(&script, 0, sizeof(script));
	memset(&res, 0, sizeof(res));
	script.got = evbuffer_new();
	script.after = "\r\n\r\n";
	res.body = evbuffer_new();
}

static void u_teardown(void)
{
	upstream_free(res.u);
	keepalive_close_all();
	for (size_t i = 0; i < PEERS_MAX; i++)
		if (peers[i])
			peer_close(peers[i]);
	peer = NULL;
	evconnlistener_free(listener);
	evbuffer_free(script.got);
	evbuffer_free(res.body);
	event_base_free(base);
}

TestSuite(upstream, .init = u_setup, .fini = u_teardown);

static void answer_with(const char *text, bool close)
{
	script.answered = false;
	script.answer = text;
	script.answer_len = strlen(text);
	script.close = close;
}

static struct upstream *open_to(int port, const char *method, const struct upstream_header *h,
				size_t n, long long length, long timeout_ms)
{
	struct upstream_request rq = {
		.host = "127.0.0.1", .port = port, .method = method, .target = "/p?q=1",
		.headers = h, .nheaders = n, .content_length = length, .timeout_ms = timeout_ms,
	};
	struct berr e = {0};

	res.t_start = now_s();
	res.u = upstream_open(base, &rq, &res_cb, NULL, &e);
	cr_assert(not(eq(ptr, res.u, NULL)), "upstream_open: %s", e.message);
	cr_assert(eq(sz, upstream_open_count(), (size_t)1));
	return res.u;
}

static bool res_finished(const void *arg)
{
	(void)arg;
	return res.finished;
}

/* A GET answered with text; waits for the end. */
static void get_answered(const char *text, bool close)
{
	answer_with(text, close);
	open_to(listen_port(listener), "GET", NULL, 0, -1, 5000);
	upstream_end(res.u);
	cr_assert(wait_for(res_finished, NULL, 5000), "no end");
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
}

static const char *res_header(const char *name)
{
	for (size_t i = 0; i < res.nh; i++)
		if (strcmp(res.hname[i], name) == 0)
			return res.hvalue[i];
	return NULL;
}

static char *rval(const char *name)
{
	const char *v = res_header(name);

	return (char *)(v ? v : "(absent)");
}

static const char *res_text(void)
{
	evbuffer_add(res.body, "", 1);
	return (const char *)evbuffer_pullup(res.body, -1);
}

Test(upstream, refused_connection_fails_with_the_reason)
{
	struct evconnlistener *l = listen_local();
	int port = listen_port(l);

	evconnlistener_free(l); /* nothing listens there now */
	open_to(port, "GET", NULL, 0, -1, 5000);
	upstream_end(res.u);
	cr_assert(wait_for(res_finished, NULL, 5000), "no end");
	cr_assert(eq(int, res.rc, B_EUPSTREAM));
	cr_assert(eq(int, res.status, 0));
	cr_assert(not(eq(ptr, strcasestr(res.why, "refused"), NULL)), "why: %s", res.why);
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
}

Test(upstream, request_head_and_chunked_body_on_the_wire)
{
	const struct upstream_header h[] = {
		{"X-A", "1"}, {"Connection", "keep-alive"}, {"te", "trailers"}, {"Host", "evil"},
		{"content-length", "99"}, {"proxy-authorization", "x"}, {"transfer-encoding", "gzip"},
		{"keep-alive", "1"}, {"upgrade", "h2c"}, {"trailer", "x"}, {"accept", "*/*"},
	};
	char want[512];
	size_t n;
	int port = listen_port(listener);

	script.after = "0\r\n\r\n";
	answer_with("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false);
	open_to(port, "POST", h, B_ARRAY_LEN(h), -1, 5000);
	run_for(50);
	cr_assert(eq(sz, evbuffer_get_length(script.got), (size_t)0), "the head went before "
		  "its framing was known");
	upstream_write(res.u, "hello", 5);
	run_for(50);
	cr_assert(ge(long, (long)evbuffer_search(script.got, "5\r\nhello\r\n", 10, NULL).pos, 0L),
		  "the first piece waited for the end");
	upstream_write(res.u, " world", 6);
	upstream_end(res.u);
	cr_assert(wait_for(res_finished, NULL, 5000), "no end");
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(str, (char *)res_text(), "ok"));
	n = (size_t)snprintf(want, sizeof(want),
		"POST /p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-A: 1\r\naccept: */*\r\n"
		"Transfer-Encoding: chunked\r\n\r\n"
		"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", port);
	evbuffer_add(script.got, "", 1);
	cr_assert(eq(str, (char *)evbuffer_pullup(script.got, -1), want));
	cr_assert(eq(sz, evbuffer_get_length(script.got), n + 1));
}

Test(upstream, known_length_goes_with_the_head)
{
	int port = listen_port(listener);

	script.after = "hello";
	answer_with("HTTP/1.1 204 No Content\r\n\r\n", false);
	open_to(port, "PUT", NULL, 0, 5, 5000);
	run_for(50);
	evbuffer_add(script.got, "", 1);
	cr_assert(not(eq(ptr, strstr((char *)evbuffer_pullup(script.got, -1),
				     "Content-Length: 5\r\n\r\n"), NULL)));
	evbuffer_drain(script.got, evbuffer_get_length(script.got));
	upstream_write(res.u, "hello", 5);
	upstream_end(res.u);
	cr_assert(wait_for(res_finished, NULL, 5000), "no end");
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(int, res.status, 204));
	cr_assert(not(res.body_expected));
}

Test(upstream, chunked_answer_is_decoded_and_its_framing_dropped)
{
	get_answered("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n"
		     "X-Keep: 1\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nx-trailer: t\r\n\r\n",
		     false);
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(str, (char *)res_text(), "hello world"));
	cr_assert(eq(ptr, (void *)res_header("transfer-encoding"), NULL));
	cr_assert(eq(ptr, (void *)res_header("content-length"), NULL));
	cr_assert(eq(str, rval("x-keep"), "1"));
}

Test(upstream, body_until_close)
{
	get_answered("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nabc", true);
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(str, (char *)res_text(), "abc"));
}

Test(upstream, connection_named_and_hop_by_hop_answer_headers_are_dropped)
{
	get_answered("HTTP/1.1 200 OK\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nX-Keep: 2\r\n"
		     "Keep-Alive: timeout=5\r\nProxy-Authenticate: x\r\nUpgrade: h2c\r\n"
		     "Trailer: x\r\nContent-Length: 0\r\n\r\n", false);
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(sz, res.nh, (size_t)2));
	cr_assert(eq(str, rval("x-keep"), "2"));
	cr_assert(eq(str, rval("content-length"), "0"));
	cr_assert(not(res.body_expected));
}

Test(upstream, interim_answers_are_skipped)
{
	get_answered("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
		     "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", false);
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(int, res.status, 201));
	cr_assert(eq(str, (char *)res_text(), "ok"));
}

Test(upstream, close_in_the_middle_of_a_counted_body_fails_after_the_head)
{
	get_answered("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true);
	cr_assert(eq(int, res.status, 200));
	cr_assert(eq(int, res.rc, B_EUPSTREAM));
	cr_assert(eq(str, (char *)res_text(), "abc"));
}

Test(upstream, close_before_answering_fails)
{
	get_answered("", true);
	cr_assert(eq(int, res.status, 0));
	cr_assert(eq(int, res.rc, B_EUPSTREAM));
	cr_log_info("%s", res.why);
}

Test(upstream, malformed_answers_fail)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 20 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nbad header\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n\r\n",
	};

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++) {
		res.finished = false;
		res.status = 0;
		get_answered(bad[i], true);
		cr_assert(eq(int, res.rc, B_EUPSTREAM), "accepted: %s", bad[i]);
		cr_assert(eq(int, res.status, 0), "reported a head for: %s", bad[i]);
	}
	/* a bad chunk comes after a good head */
	res.finished = false;
	get_answered("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true);
	cr_assert(eq(int, res.status, 200));
	cr_assert(eq(int, res.rc, B_EUPSTREAM));
}

/* A head of exactly size bytes, its blank line included, made of x-a headers. */
static char *head_of(size_t size, size_t *nheaders)
{
	const char *first = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n";
	char *s = malloc(size + 1);
	size_t len = strlen(first), n = 0;

	cr_assert(not(eq(ptr, s, NULL)));
	memcpy(s, first, len);
	while (size - len - 2 > 8200) {
		memcpy(s + len, "x-a: ", 5);
		memset(s + len + 5, 'a', 8000);
		memcpy(s + len + 8005, "\r\n", 2);
		len += 8007;
		n++;
	}
	memcpy(s + len, "x-b: ", 5);
	memset(s + len + 5, 'b', size - len - 2 - 7);
	memcpy(s + size - 4, "\r\n\r\n", 4);
	s[size] = '\0';
	*nheaders = n + 2;
	return s;
}

Test(upstream, head_of_64_kib_passes_and_one_byte_more_fails)
{
	size_t n;
	char *ok = head_of(UPSTREAM_HEAD_MAX, &n), *over = head_of(UPSTREAM_HEAD_MAX + 1, &n);

	get_answered(ok, true);
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(sz, res.nh, n));
	res.finished = false;
	get_answered(over, true);
	cr_assert(eq(int, res.rc, B_EUPSTREAM));
	cr_log_info("%s", res.why);
	free(ok);
	free(over);
}

static char *many_headers(size_t n)
{
	char *s = malloc(64 + n * 16);
	size_t len = 0;

	cr_assert(not(eq(ptr, s, NULL)));
	len += (size_t)snprintf(s, 32, "HTTP/1.1 200 OK\r\n");
	for (size_t i = 0; i + 1 < n; i++)
		len += (size_t)snprintf(s + len, 16, "x-%zu: v\r\n", i);
	snprintf(s + len, 32, "content-length: 0\r\n\r\n");
	return s;
}

Test(upstream, hundred_headers_pass_and_a_hundred_and_one_fail)
{
	char *ok = many_headers(UPSTREAM_HEADERS_MAX), *over = many_headers(UPSTREAM_HEADERS_MAX + 1);

	get_answered(ok, true);
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(sz, res.nh, (size_t)UPSTREAM_HEADERS_MAX));
	res.finished = false;
	get_answered(over, true);
	cr_assert(eq(int, res.rc, B_EUPSTREAM));
	cr_log_info("%s", res.why);
	free(ok);
	free(over);
}

Test(upstream, silent_server_times_out)
{
	open_to(listen_port(listener), "GET", NULL, 0, -1, 300);
	upstream_end(res.u);
	cr_assert(wait_for(res_finished, NULL, 5000), "no end");
	cr_assert(eq(int, res.rc, B_ETIMEOUT));
	cr_assert(ge(dbl, res.t_end - res.t_start, 0.29));
	cr_assert(lt(dbl, res.t_end - res.t_start, 1.0));
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
}

Test(upstream, a_body_still_coming_holds_the_deadline_off)
{
	script.after = "abcde";
	answer_with("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", false);
	open_to(listen_port(listener), "PUT", NULL, 0, 5, 300);
	for (const char *p = "abcde"; *p; p++) {
		run_for(100); /* 500 ms in all, the deadline 300 ms */
		cr_assert(not(res.finished), "%s", res.why);
		upstream_write(res.u, p, 1);
	}
	upstream_end(res.u);
	cr_assert(wait_for(res_finished, NULL, 5000), "no end");
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(str, (char *)res_text(), "ok"));
}

Test(upstream, free_aborts_at_once)
{
	open_to(listen_port(listener), "GET", NULL, 0, -1, 5000);
	upstream_end(res.u);
	run_for(100);
	upstream_free(res.u);
	res.u = NULL;
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
	run_for(100);
	cr_assert(not(res.finished), "a callback came after upstream_free");
	cr_assert(eq(ptr, peer, NULL), "the server still has its connection");
}

Test(upstream, bad_requests_do_not_start)
{
	const struct upstream_header bad_h[] = {{"x-a", "1\r\nx-b: 2"}};
	struct upstream_request rq = {.host = "127.0.0.1", .port = 80, .method = "GET",
				      .target = "/a b", .content_length = -1};
	struct berr e = {0};

	cr_assert(eq(ptr, upstream_open(base, &rq, &res_cb, NULL, &e), NULL));
	cr_assert(eq(int, e.status, 400));
	rq.target = "/";
	rq.method = "G T";
	cr_assert(eq(ptr, upstream_open(base, &rq, &res_cb, NULL, &e), NULL));
	rq.method = "GET";
	rq.headers = bad_h;
	rq.nheaders = 1;
	cr_assert(eq(ptr, upstream_open(base, &rq, &res_cb, NULL, &e), NULL));
	rq.nheaders = 0;
	rq.host = "not-an-ip";
	cr_assert(eq(ptr, upstream_open(base, &rq, &res_cb, NULL, &e), NULL));
	cr_assert(eq(sz, upstream_open_count(), (size_t)0));
}

/* ---- kept-alive connections (keepalive.c) ---- */

#define OK_ANSWER "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

/* A GET to port answered with text on whatever connection upstream picks (which the server
 * closes after answering when close); B_OK or not. */
static int get_on(int port, const char *text, bool close)
{
	res.finished = false;
	res.status = res.rc = 0;
	res.nh = 0;
	res.why[0] = '\0';
	evbuffer_drain(res.body, evbuffer_get_length(res.body));
	answer_with(text, close);
	open_to(port, "GET", NULL, 0, -1, 5000);
	upstream_end(res.u);
	cr_assert(wait_for(res_finished, NULL, 5000), "no end");
	return res.rc;
}

static size_t requests_seen(void)
{
	static const char line[] = "GET /p?q=1 HTTP/1.1\r\n";
	size_t n = 0;
	struct evbuffer_ptr p = evbuffer_search(script.got, line, strlen(line), NULL);

	while (p.pos >= 0) {
		n++;
		if (evbuffer_ptr_set(script.got, &p, 1, EVBUFFER_PTR_ADD))
			break;
		p = evbuffer_search(script.got, line, strlen(line), &p);
	}
	return n;
}

Test(upstream, a_clean_exchange_leaves_its_connection_for_the_next_call)
{
	int port = listen_port(listener);

	cr_assert(eq(int, get_on(port, OK_ANSWER, false), B_OK), "%s", res.why);
	cr_assert(eq(sz, keepalive_count(), (size_t)1));
	cr_assert(eq(int, get_on(port, OK_ANSWER, false), B_OK), "%s", res.why);
	cr_assert(eq(str, (char *)res_text(), "ok"));
	cr_assert(eq(int, accepts, 1), "the second call connected anew");
	cr_assert(eq(sz, requests_seen(), (size_t)2));
	cr_assert(eq(sz, keepalive_count(), (size_t)1));
	cr_assert(not(eq(ptr, peer, NULL)), "the server lost its connection");
}

Test(upstream, an_answer_that_ends_the_connection_is_not_kept)
{
	int port = listen_port(listener);

	cr_assert(eq(int, get_on(port, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
				 "Content-Length: 2\r\n\r\nok", false), B_OK));
	cr_assert(eq(sz, keepalive_count(), (size_t)0), "Connection: close was kept");
	cr_assert(eq(int, get_on(port, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false),
		     B_OK));
	cr_assert(eq(sz, keepalive_count(), (size_t)0), "an HTTP/1.0 answer was kept");
	cr_assert(eq(int, get_on(port, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nok",
			    true), B_OK));
	run_for(50);
	cr_assert(eq(sz, keepalive_count(), (size_t)0), "a body framed by the close was kept");
	cr_assert(eq(int, accepts, 3));
}

Test(upstream, a_request_body_not_sent_whole_does_not_leave_its_connection)
{
	int port = listen_port(listener);

	script.after = "\r\n\r\n";
	answer_with("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n", false);
	open_to(port, "POST", NULL, 0, 10, 5000);
	upstream_write(res.u, "12345", 5);
	cr_assert(wait_for(res_finished, NULL, 5000), "no end");
	cr_assert(eq(int, res.status, 413));
	cr_assert(eq(sz, keepalive_count(), (size_t)0), "half a body was left on a kept connection");
}

Test(upstream, a_kept_connection_the_container_closes_is_dropped)
{
	int port = listen_port(listener);

	cr_assert(eq(int, get_on(port, OK_ANSWER, false), B_OK));
	cr_assert(eq(sz, keepalive_count(), (size_t)1));
	peer_close(peer);
	run_for(100);
	cr_assert(eq(sz, keepalive_count(), (size_t)0));
	cr_assert(eq(int, get_on(port, OK_ANSWER, false), B_OK), "%s", res.why);
	cr_assert(eq(int, accepts, 2));
}

Test(upstream, a_kept_connection_closed_as_it_is_reused_is_replaced_once)
{
	int port = listen_port(listener);

	cr_assert(eq(int, get_on(port, OK_ANSWER, false), B_OK));
	drop_peer = peer; /* it closes when the next request arrives, without an answer */
	cr_assert(eq(int, get_on(port, OK_ANSWER, false), B_OK), "%s", res.why);
	cr_assert(eq(str, (char *)res_text(), "ok"));
	cr_assert(eq(int, accepts, 2), "the call did not move to a new connection");
	cr_assert(eq(sz, requests_seen(), (size_t)2), "the head was not sent again whole");
}

Test(upstream, an_idle_connection_is_closed_after_its_time)
{
	int port = listen_port(listener);

	cr_assert(eq(int, get_on(port, OK_ANSWER, false), B_OK));
	cr_assert(eq(sz, keepalive_count(), (size_t)1));
	run_for(KEEPALIVE_IDLE_MS / 2);
	cr_assert(eq(sz, keepalive_count(), (size_t)1), "closed before its time");
	run_for(KEEPALIVE_IDLE_MS / 2 + 500);
	cr_assert(eq(sz, keepalive_count(), (size_t)0));
	cr_assert(eq(ptr, peer, NULL), "the server still has its connection");
}

static int open_peers(void)
{
	int n = 0;

	for (size_t i = 0; i < PEERS_MAX; i++)
		n += peers[i] != NULL;
	return n;
}

static size_t many_done;

static void many_finish(void *arg, int rc, const struct berr *e)
{
	struct upstream **slot = arg;

	(void)e;
	many_done += rc == B_OK;
	upstream_free(*slot);
	*slot = NULL;
}

static bool all_done(const void *arg)
{
	return many_done == *(const size_t *)arg;
}

Test(upstream, at_most_the_cap_of_idle_connections_per_address_is_kept)
{
	static const struct upstream_callbacks cb = {.head = res_head, .body = res_body,
						     .finish = many_finish};
	static struct upstream *u[KEEPALIVE_PER_ADDRESS + 3];
	struct upstream_request rq = {.host = "127.0.0.1", .port = listen_port(listener),
				      .method = "GET", .target = "/", .content_length = -1};
	size_t n = B_ARRAY_LEN(u);
	struct berr e = {0};

	/* calls at once, each on a connection of its own, all answered */
	script.every = OK_ANSWER;
	for (size_t i = 0; i < n; i++) {
		u[i] = upstream_open(base, &rq, &cb, &u[i], &e);
		cr_assert(not(eq(ptr, u[i], NULL)), "%s", e.message);
		upstream_end(u[i]);
	}
	cr_assert(wait_for(all_done, &n, 10000), "%zu of %zu calls ended well", many_done, n);
	cr_assert(eq(int, accepts, (int)n));
	cr_assert(eq(sz, keepalive_count(), (size_t)KEEPALIVE_PER_ADDRESS));
	run_for(100);
	cr_assert(eq(int, open_peers(), KEEPALIVE_PER_ADDRESS), "the ones past the cap stay open");
}
