/* upstream_test.c: agent/upstream.c alone, and the connections keepalive.c keeps, against a
 * scripted server on 127.0.0.1: what the fixture container cannot send (oversized heads, too
 * many headers, odd framing), a refused connection, and kept connections being reused,
 * dropped, replaced and capped. No Docker needed. */
#include "berth.h"
#include "keepalive.h"
#include "log.h"
#include "loop.h"
#include "upstream.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

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

/* An answer at a limit passes with its want_headers headers, one past it fails; both freed. */
static void at_and_past_the_limit(char *ok, char *over, size_t want_headers)
{
	get_answered(ok, true);
	cr_assert(eq(int, res.rc, B_OK), "%s", res.why);
	cr_assert(eq(sz, res.nh, want_headers));
	res.finished = false;
	get_answered(over, true);
	cr_assert(eq(int, res.rc, B_EUPSTREAM));
	cr_log_info("%s", res.why);
	free(ok);
	free(over);
}

Test(upstream, head_of_64_kib_passes_and_one_byte_more_fails)
{
	size_t n, n_over;
	char *ok = head_of(UPSTREAM_HEAD_MAX, &n), *over = head_of(UPSTREAM_HEAD_MAX + 1, &n_over);

	at_and_past_the_limit(ok, over, n);
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

	at_and_past_the_limit(ok, over, UPSTREAM_HEADERS_MAX);
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
