/* proxy_test.c: ANY /v1/proxy/{replica id}/{path} end to end in one process and one event
 * loop: a lib/h2 client on one end of a socketpair (the gateway's part), the agent's serve
 * callbacks as the HTTP/2 server on the other, and a real replica manager running
 * berth-fixture:test on this machine's dockerd (upstream_test.c drives agent/upstream.c alone).
 * Containers are labelled berth.test=1 and removed in the fini, pass or fail. */
#include "berth.h"
#include "agent.h"
#include "crypto.h"
#include "docker.h"
#include "keepalive.h"
#include "log.h"
#include "loop.h"
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
#define OUT_BOUND ((size_t)(1024 + 256 + 4) * 1024) /* serve.c's 1 MiB high mark and one read:
							 libevent's 4 KiB, then evread's 256 KiB */

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

/* The container answers before it takes the body (and never does): what the agent had taken
 * for it and not passed on is acknowledged all the same, so the caller can send the rest,
 * which is dropped, and the exchange ends. Before, the stream's window stayed spent and the
 * caller's upload hung. */
Test(proxy, an_answer_before_the_body_is_taken_lets_the_rest_of_the_body_go)
{
	static unsigned char piece[64 * 1024];
	const size_t total = (size_t)32 * 1024 * 1024; /* past socket buffers and the window */
	const char *id = replica_up();
	char path[256];
	struct call *c;

	memset(piece, 'x', sizeof(piece));
	c = call_open("POST", proxy_path(id, "/early?ms=1000&hold=20000", path, sizeof(path)),
		      NULL, 0, true);
	for (size_t sent = 0; sent < total; sent += sizeof(piece))
		h2_stream_write(c->st, piece, sizeof(piece));
	h2_stream_end(c->st);
	call_wait(c, 15000);
	cr_assert(eq(int, c->status, 200), "body %s", call_body(c));
	cr_assert(eq(str, (char *)call_body(c), "early\n"));
	cr_assert(eq(u32, c->error, 0), "the stream was reset");
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
