/* lib/h2: both roles on the two ends of a socketpair in one event loop. */
#include "berth.h"
#include "h2.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/event.h>
#include <nghttp2/nghttp2.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct world {
	struct event_base *base;
	struct h2_conn *client, *server;
	/* what the client saw */
	int status;
	size_t got;
	unsigned sum;
	bool ended, closed, conn_closed, ping_acked;
	bool reset_at_end;   /* cancel each stream as its answer ends, as a relay may */
	int completed, closes;
	uint32_t close_error;
	char content_type[64];
	/* what the server saw */
	size_t server_got;
	struct h2_stream *held;  /* /held: acknowledged by hand */
	bool consume;            /* /held: acknowledge each chunk as it comes */
	bool consume_short;      /* /held: acknowledge each chunk but 7 of its bytes */
	size_t cut_got;          /* /cut: received; reset once past 768 KiB, mid-frame */
	size_t client_sent;      /* the sent callback's count */
	size_t client_frames, client_frame_max; /* DATA frames it reported, the largest */
	char method[16], path[64], hdr[64];
};

static struct world w;

static void stop(void)
{
	event_base_loopbreak(w.base);
}

static void srv_request(struct h2_stream *st, void *arg)
{
	const char *h = h2_stream_header(st, "x-test");

	(void)arg;
	snprintf(w.method, sizeof(w.method), "%s", st->method);
	snprintf(w.path, sizeof(w.path), "%s", st->path);
	snprintf(w.hdr, sizeof(w.hdr), "%s", h ? h : "");
	if (strcmp(st->path, "/hello") == 0)
		cr_assert(h2_respond_simple(st, 201, "text/plain", "hi", 2) == B_OK);
	else if (strcmp(st->path, "/reset") == 0)
		h2_stream_reset(st, NGHTTP2_REFUSED_STREAM);
	else if (strcmp(st->path, "/held") == 0) {
		h2_stream_manual_window(st);
		w.held = st;
	} else if (strcmp(st->path, "/cut") == 0) {
		h2_stream_manual_window(st);
		w.cut_got = 0;
	}
}

static void srv_data(struct h2_stream *st, const uint8_t *p, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	w.server_got += n;
	if (st == w.held && w.consume)
		h2_stream_consume(st, n);
	else if (st == w.held && w.consume_short)
		h2_stream_consume(st, n > 7 ? n - 7 : n);
	if (strcmp(st->path, "/cut") == 0 && w.cut_got < 768 * 1024 &&
	    (w.cut_got += n) >= 768 * 1024)
		h2_stream_reset(st, NGHTTP2_CANCEL);
}

/* /echo answers with the size of the body it received, once the body is complete;
 * /big answers with n bytes of a pattern, streamed in chunks. */
static void srv_end(struct h2_stream *st, void *arg)
{
	char buf[32];

	(void)arg;
	if (strcmp(st->path, "/echo") == 0 || strcmp(st->path, "/held") == 0) {
		snprintf(buf, sizeof(buf), "%zu", w.server_got);
		cr_assert(h2_respond_simple(st, 200, NULL, buf, strlen(buf)) == B_OK);
	} else if (strncmp(st->path, "/big", 4) == 0) {
		static unsigned char chunk[65536];

		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (unsigned char)i;
		cr_assert(h2_respond(st, 200, NULL, 0, true) == B_OK);
		for (int i = 0; i < 64; i++) /* 4 MiB: several stream windows */
			h2_stream_write(st, chunk, sizeof(chunk));
		h2_stream_end(st);
	}
}

static void cli_response(struct h2_stream *st, void *arg)
{
	const char *ct = h2_stream_header(st, "content-type");

	(void)arg;
	w.status = st->status;
	snprintf(w.content_type, sizeof(w.content_type), "%s", ct ? ct : "");
}

static void cli_data(struct h2_stream *st, const uint8_t *p, size_t n, void *arg)
{
	(void)st;
	(void)arg;
	for (size_t i = 0; i < n; i++)
		w.sum += p[i];
	w.got += n;
}

static void cli_sent(struct h2_stream *st, size_t n, void *arg)
{
	(void)st;
	(void)arg;
	w.client_sent += n;
	w.client_frames++;
	if (n > w.client_frame_max)
		w.client_frame_max = n;
}

static void cli_end(struct h2_stream *st, void *arg)
{
	(void)arg;
	w.ended = true;
	if (w.reset_at_end)
		h2_stream_reset(st, NGHTTP2_CANCEL);
}

static void cli_close(struct h2_stream *st, uint32_t error, void *arg)
{
	(void)st;
	(void)arg;
	w.completed += error == 0;
	w.closes++;
	w.closed = true;
	w.close_error = error;
	stop();
}

static void cli_ping(struct h2_conn *c, void *arg)
{
	(void)c;
	(void)arg;
	w.ping_acked = true;
	stop();
}

static void cli_conn_closed(struct h2_conn *c, void *arg)
{
	(void)c;
	(void)arg;
	w.conn_closed = true;
	stop();
}

static void setup(void)
{
	static const struct h2_callbacks scb = {.request = srv_request, .data = srv_data,
						.end = srv_end};
	static const struct h2_callbacks ccb = {.response = cli_response, .data = cli_data,
						.sent = cli_sent, .end = cli_end, .close = cli_close,
						.ping_ack = cli_ping,
						.conn_closed = cli_conn_closed};
	int fds[2];

	memset(&w, 0, sizeof(w));
	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	evutil_make_socket_nonblocking(fds[0]);
	evutil_make_socket_nonblocking(fds[1]);
	w.base = event_base_new();
	w.client = h2_conn_new(bufferevent_socket_new(w.base, fds[0], BEV_OPT_CLOSE_ON_FREE),
			       false, &ccb, NULL);
	w.server = h2_conn_new(bufferevent_socket_new(w.base, fds[1], BEV_OPT_CLOSE_ON_FREE),
			       true, &scb, NULL);
	cr_assert(w.client && w.server);
}

static void teardown(void)
{
	h2_conn_free(w.client);
	h2_conn_free(w.server);
	event_base_free(w.base);
}

static void run(void)
{
	struct timeval tv = {10, 0};

	event_base_loopexit(w.base, &tv);
	event_base_dispatch(w.base);
}

TestSuite(h2, .init = setup, .fini = teardown);

Test(h2, get_with_headers_gets_status_headers_and_body)
{
	struct h2_header h = {(char *)"X-Test", (char *)"yes"};

	cr_assert(h2_request(w.client, "GET", "/hello", &h, 1, false, NULL) != NULL);
	run();
	cr_assert(eq(int, w.status, 201));
	cr_assert(eq(str, w.content_type, "text/plain"));
	cr_assert(eq(sz, w.got, 2));
	cr_assert(w.ended && w.closed);
	cr_assert(eq(u32, w.close_error, 0));
	cr_assert(eq(str, w.method, "GET"));
	cr_assert(eq(str, w.path, "/hello"));
	cr_assert(eq(str, w.hdr, "yes"), "header names are lowercased on the wire");
}

/* POSTs n bytes of c to /echo, written at once, and runs the exchange to its end. */
static void post_echo(char *body, size_t n, char c)
{
	struct h2_stream *st = h2_request(w.client, "POST", "/echo", NULL, 0, true, NULL);

	cr_assert(st != NULL);
	memset(body, c, n);
	h2_stream_write(st, body, n);
	h2_stream_end(st);
	run();
}

Test(h2, request_body_larger_than_the_stream_window_arrives_whole)
{
	static char body[3 * H2_STREAM_WINDOW + 17];

	post_echo(body, sizeof(body), 'x');
	cr_assert(eq(int, w.status, 200));
	cr_assert(eq(sz, w.server_got, sizeof(body)));
	cr_assert(eq(sz, w.got, strlen("3145745")));
}

Test(h2, a_body_written_at_once_goes_out_in_frames_larger_than_16_KiB)
{
	static char body[3 * H2_STREAM_WINDOW];

	post_echo(body, sizeof(body), 'f');
	cr_assert(eq(int, w.status, 200));
	cr_assert(eq(sz, w.server_got, sizeof(body)));
	cr_assert(eq(sz, w.client_sent, sizeof(body)));
	cr_assert(gt(sz, w.client_frame_max, 16384), "a lib/h2 peer takes frames past nghttp2's default");
	cr_assert(le(sz, w.client_frame_max, H2_FRAME_MAX));
	cr_assert(lt(sz, w.client_frames, sizeof(body) / 65536), "%zu frames", w.client_frames);
}

Test(h2, a_receiver_that_does_not_acknowledge_holds_the_sender_at_one_window)
{
	static char body[3 * H2_STREAM_WINDOW];
	struct h2_stream *st = h2_request(w.client, "POST", "/held", NULL, 0, true, NULL);
	struct timeval tv = {0, 300000};

	cr_assert(st != NULL);
	memset(body, 'h', sizeof(body));
	h2_stream_write(st, body, sizeof(body));
	h2_stream_end(st);
	event_base_loopexit(w.base, &tv);
	event_base_dispatch(w.base);
	cr_assert(eq(sz, w.server_got, H2_STREAM_WINDOW), "one window and no more arrives");
	cr_assert(eq(sz, w.client_sent, H2_STREAM_WINDOW), "the rest waits at the sender");
	cr_assert(eq(int, w.status, 0));
	w.consume = true;
	h2_stream_consume(w.held, w.server_got);
	run();
	cr_assert(eq(int, w.status, 200));
	cr_assert(eq(sz, w.server_got, sizeof(body)));
	cr_assert(eq(sz, w.client_sent, sizeof(body)));
}

/* Callers that stop reading: each holds its stream's window, and together more than the
 * connection's, yet a call beside them still goes through. */
Test(h2, streams_whose_readers_stall_do_not_hold_back_the_connection)
{
	static char body[2 * H2_STREAM_WINDOW], echo[3 * H2_STREAM_WINDOW];
	size_t stalled = H2_CONN_WINDOW / H2_STREAM_WINDOW + 2;

	memset(body, 's', sizeof(body));
	for (size_t i = 0; i < stalled; i++) {
		struct h2_stream *st = h2_request(w.client, "POST", "/held", NULL, 0, true, NULL);

		cr_assert(st != NULL);
		h2_stream_write(st, body, sizeof(body));
	}
	for (int i = 0; i < 50 && w.server_got < stalled * H2_STREAM_WINDOW; i++) {
		struct timeval tv = {0, 100000};

		event_base_loopexit(w.base, &tv);
		event_base_dispatch(w.base);
	}
	cr_assert(eq(sz, w.server_got, stalled * H2_STREAM_WINDOW), "one window each arrives");
	w.server_got = 0;
	post_echo(echo, sizeof(echo), 'e');
	cr_assert(eq(int, w.status, 200), "the call beside them was answered");
	cr_assert(eq(sz, w.server_got, sizeof(echo)));
}

/* A sender as libcurl is one: nghttp2 with its default 16 KiB DATA frames, framing the body
 * from an upload buffer of 256 KiB, refilled only when it is empty. */
struct curlish {
	nghttp2_session *h2;
	struct bufferevent *bev;
	size_t left;          /* body not yet framed */
	size_t buffered;      /* ... of which in the upload buffer */
	size_t frames, short_frames, last_frame;
	bool closed;
};

static ssize_t curlish_send(nghttp2_session *s, const uint8_t *p, size_t n, int flags, void *u)
{
	(void)s;
	(void)flags;
	bufferevent_write(((struct curlish *)u)->bev, p, n);
	return (ssize_t)n;
}

static ssize_t curlish_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t n,
			    uint32_t *flags, nghttp2_data_source *src, void *u)
{
	struct curlish *c = u;

	(void)s;
	(void)id;
	(void)src;
	if (c->buffered == 0)
		c->buffered = c->left < 262144 ? c->left : 262144;
	if (n > c->buffered)
		n = c->buffered;
	memset(buf, 'c', n);
	c->buffered -= n;
	c->left -= n;
	if (c->left == 0)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

static int curlish_frame_sent(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
	struct curlish *c = u;

	(void)s;
	if (f->hd.type != NGHTTP2_DATA)
		return 0;
	/* a frame is short when it is not the body's last and under 1 KiB */
	c->short_frames += c->last_frame > 0 && c->last_frame < 1024;
	c->last_frame = f->hd.length;
	c->frames++;
	return 0;
}

static int curlish_closed(nghttp2_session *s, int32_t id, uint32_t error, void *u)
{
	(void)s;
	(void)id;
	(void)error;
	((struct curlish *)u)->closed = true;
	stop();
	return 0;
}

static void curlish_read(struct bufferevent *bev, void *u)
{
	struct curlish *c = u;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t n = evbuffer_get_length(in);

	cr_assert(nghttp2_session_mem_recv(c->h2, evbuffer_pullup(in, -1), n) == (ssize_t)n);
	evbuffer_drain(in, n);
	cr_assert(nghttp2_session_send(c->h2) == 0);
}

/* The server passes the body on in odd amounts, as a relay does; the windows it grants back
 * still never make the sender cut a frame short (h2.h, H2_ACK_STEP). The sender has the
 * server's SETTINGS before it sends, as berth's programs make sure (tunnel.c). */
Test(h2, a_sender_with_16_KiB_frames_never_sends_a_short_one)
{
	static const struct h2_callbacks scb = {.request = srv_request, .data = srv_data,
						.end = srv_end};
	const nghttp2_nv nv[] = {
		{(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
		{(uint8_t *)":path", (uint8_t *)"/held", 5, 5, 0},
		{(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
		{(uint8_t *)":authority", (uint8_t *)"x", 10, 1, 0},
	};
	nghttp2_data_provider body = {.read_callback = curlish_body};
	struct curlish c = {.left = 8 * (size_t)H2_STREAM_WINDOW + 12345};
	nghttp2_session_callbacks *cbs;
	struct h2_conn *server;
	struct timeval tv = {10, 0};
	int fds[2];

	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	evutil_make_socket_nonblocking(fds[0]);
	evutil_make_socket_nonblocking(fds[1]);
	c.bev = bufferevent_socket_new(w.base, fds[0], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(c.bev, curlish_read, NULL, NULL, &c);
	bufferevent_enable(c.bev, EV_READ);
	cr_assert(nghttp2_session_callbacks_new(&cbs) == 0);
	nghttp2_session_callbacks_set_send_callback(cbs, curlish_send);
	nghttp2_session_callbacks_set_on_frame_send_callback(cbs, curlish_frame_sent);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, curlish_closed);
	cr_assert(nghttp2_session_client_new(&c.h2, cbs, &c) == 0);
	nghttp2_session_callbacks_del(cbs);
	cr_assert(nghttp2_submit_settings(c.h2, NGHTTP2_FLAG_NONE, NULL, 0) == 0);
	cr_assert(nghttp2_session_send(c.h2) == 0);
	server = h2_conn_new(bufferevent_socket_new(w.base, fds[1], BEV_OPT_CLOSE_ON_FREE), true,
			     &scb, NULL);
	cr_assert(server != NULL);
	for (int i = 0; i < 1000 && (nghttp2_session_get_remote_settings(
		     c.h2, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE) != H2_STREAM_WINDOW ||
		     nghttp2_session_get_remote_window_size(c.h2) != H2_CONN_WINDOW); i++)
		event_base_loop(w.base, EVLOOP_ONCE);
	w.consume_short = true;
	cr_assert(nghttp2_submit_request(c.h2, NULL, nv, B_ARRAY_LEN(nv), &body, &c) == 1);
	cr_assert(nghttp2_session_send(c.h2) == 0);
	event_base_loopexit(w.base, &tv);
	event_base_dispatch(w.base);
	cr_assert(c.closed, "the upload did not end");
	cr_assert(eq(sz, w.server_got, 8 * (size_t)H2_STREAM_WINDOW + 12345));
	cr_assert(gt(sz, c.frames, (size_t)500));
	cr_assert(eq(sz, c.short_frames, (size_t)0), "%zu of %zu frames were short", c.short_frames,
		  c.frames);
	nghttp2_session_del(c.h2);
	h2_conn_free(server);
	bufferevent_free(c.bev);
}

/* Streams reset in the middle of a frame, over and over (callers that hang up during an
 * upload): what they had received is acknowledged on the connection all the same, so the
 * connection's window never runs out and a call after them goes through. */
Test(h2, streams_reset_mid_frame_give_back_the_connections_window)
{
	static char body[H2_STREAM_WINDOW], echo[3 * H2_STREAM_WINDOW];

	memset(body, 'r', sizeof(body));
	for (int i = 0; i < 2 * H2_CONN_WINDOW / (768 * 1024); i++) {
		struct h2_stream *st = h2_request(w.client, "POST", "/cut", NULL, 0, true, NULL);

		cr_assert(st != NULL);
		w.closed = false;
		h2_stream_write(st, body, sizeof(body));
		h2_stream_end(st);
		run();
		cr_assert(w.closed, "round %d: the reset did not come", i);
		cr_assert(eq(u32, w.close_error, NGHTTP2_CANCEL), "round %d", i);
	}
	w.server_got = 0;
	post_echo(echo, sizeof(echo), 'e');
	cr_assert(eq(int, w.status, 200), "the call after them was answered");
	cr_assert(eq(sz, w.server_got, sizeof(echo)));
}

static size_t raw_got;

static void raw_read(evutil_socket_t fd, short what, void *arg)
{
	char buf[65536];
	ssize_t n;

	(void)what;
	(void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		raw_got += (size_t)n;
	if (raw_got >= 64 * sizeof(buf)) /* /big's 4 MiB, and its frames' headers */
		stop();
}

/* A peer that opens windows of 2 GiB (libcurl opens 32 MiB ones), asks for /big's 4 MiB and
 * does not read: what waits for the socket stays near H2_OUT_HIGH, not the whole answer.
 * Once the peer reads, the rest follows. */
Test(h2, a_peer_that_does_not_read_holds_the_answer_at_the_socket_queue_limit)
{
	static const struct h2_callbacks scb = {.request = srv_request, .data = srv_data,
						.end = srv_end};
	nghttp2_session_callbacks *cbs;
	nghttp2_session *peer;
	nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 0x7fffffff}};
	nghttp2_nv nv[] = {
		{(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
		{(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
		{(uint8_t *)":authority", (uint8_t *)"t", 10, 1, 0},
		{(uint8_t *)":path", (uint8_t *)"/big", 5, 4, 0},
	};
	struct timeval tv = {0, 300000};
	struct h2_conn *server;
	struct event *ev;
	const uint8_t *out;
	ssize_t n;
	int fds[2];

	cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
	evutil_make_socket_nonblocking(fds[0]);
	evutil_make_socket_nonblocking(fds[1]);
	server = h2_conn_new(bufferevent_socket_new(w.base, fds[1], BEV_OPT_CLOSE_ON_FREE), true,
			     &scb, NULL);
	cr_assert(server != NULL);
	cr_assert(nghttp2_session_callbacks_new(&cbs) == 0);
	cr_assert(nghttp2_session_client_new(&peer, cbs, NULL) == 0);
	cr_assert(nghttp2_submit_settings(peer, NGHTTP2_FLAG_NONE, iv, 1) == 0);
	cr_assert(nghttp2_session_set_local_window_size(peer, NGHTTP2_FLAG_NONE, 0, 0x7fffffff) == 0);
	cr_assert(nghttp2_submit_request(peer, NULL, nv, 4, NULL, NULL) > 0);
	while ((n = nghttp2_session_mem_send(peer, &out)) > 0)
		cr_assert(eq(sz, (size_t)write(fds[0], out, (size_t)n), (size_t)n));
	event_base_loopexit(w.base, &tv);
	event_base_dispatch(w.base);
	cr_assert(gt(sz, h2_conn_queued(server), 0), "the answer waits for the peer");
	cr_assert(le(sz, h2_conn_queued(server), (size_t)H2_OUT_HIGH + 16384 + 64),
		  "%zu bytes queued", h2_conn_queued(server));
	ev = event_new(w.base, fds[0], EV_READ | EV_PERSIST, raw_read, NULL);
	event_add(ev, NULL);
	run();
	cr_assert(ge(sz, raw_got, (size_t)64 * 65536), "the rest followed once the peer read");
	event_free(ev);
	h2_conn_free(server);
	nghttp2_session_del(peer);
	nghttp2_session_callbacks_del(cbs);
	close(fds[0]);
}

/* A relay cancels its side when the other is done; for an exchange already complete that must
 * not queue RST_STREAMs, which nghttp2 counts as a flood past 1000 and ends the connection. */
Test(h2, cancelling_finished_streams_does_not_wear_out_the_connection)
{
	w.reset_at_end = true;
	for (int i = 0; i < 1500; i++) {
		w.closed = false;
		cr_assert(h2_request(w.client, "GET", "/hello", NULL, 0, false, NULL) != NULL,
			  "request %d", i);
		run();
		cr_assert(w.closed && !w.conn_closed, "request %d", i);
	}
	cr_assert(eq(int, w.completed, 1500));
}

/* gatewayd resets the agent's stream of every caller that leaves, and a thousand SSE clients
 * may leave at once: the server must go on taking streams (nghttp2's rapid-reset guard would
 * refuse them all after 1000). */
Test(h2, a_server_takes_new_streams_after_a_burst_of_resets)
{
	enum { N = 1500 };
	static struct h2_stream *st[N];
	struct timeval tv = {0, 200000};

	for (int i = 0; i < N; i++) {
		st[i] = h2_request(w.client, "POST", "/held", NULL, 0, true, NULL);
		cr_assert(st[i] != NULL, "request %d", i);
	}
	event_base_loopexit(w.base, &tv);
	event_base_dispatch(w.base); /* the server has them all, open */
	for (int i = 0; i < N; i++)
		h2_stream_reset(st[i], NGHTTP2_CANCEL);
	for (int i = 0; i < 100000 && w.closes < N; i++)
		event_base_loop(w.base, EVLOOP_ONCE);
	cr_assert(eq(int, w.closes, N));
	cr_assert(not(w.conn_closed));
	w.closed = false;
	cr_assert(h2_request(w.client, "GET", "/hello", NULL, 0, false, NULL) != NULL);
	run();
	cr_assert(eq(int, w.status, 201), "the server refused a new stream");
	cr_assert(eq(u32, w.close_error, 0));
}

Test(h2, body_written_later_is_sent_when_written)
{
	struct h2_stream *st = h2_request(w.client, "PUT", "/echo", NULL, 0, true, NULL);
	struct timeval tv = {0, 50000};

	cr_assert(st != NULL);
	event_base_loopexit(w.base, &tv);
	event_base_dispatch(w.base); /* nothing to send yet: the stream waits, deferred */
	cr_assert(eq(int, w.status, 0));
	h2_stream_write(st, "abc", 3);
	h2_stream_write(st, "de", 2);
	h2_stream_end(st);
	run();
	cr_assert(eq(int, w.status, 200));
	cr_assert(eq(sz, w.server_got, 5));
}

Test(h2, large_response_streams_through_flow_control)
{
	unsigned want = 0;

	for (size_t i = 0; i < 65536; i++)
		want += (unsigned char)i;
	want *= 64;
	cr_assert(h2_request(w.client, "GET", "/big", NULL, 0, false, NULL) != NULL);
	run();
	cr_assert(eq(int, w.status, 200));
	cr_assert(eq(sz, w.got, 64 * 65536));
	cr_assert(eq(u32, w.sum, want), "the bytes arrive intact and in order");
}

Test(h2, reset_by_server_closes_the_client_stream_with_its_code)
{
	cr_assert(h2_request(w.client, "GET", "/reset", NULL, 0, false, NULL) != NULL);
	run();
	cr_assert(w.closed);
	cr_assert(eq(u32, w.close_error, NGHTTP2_REFUSED_STREAM));
	cr_assert(eq(int, w.status, 0));
}

Test(h2, ping_is_acknowledged)
{
	cr_assert(h2_conn_ping(w.client) == B_OK);
	run();
	cr_assert(w.ping_acked);
}

Test(h2, peer_going_away_closes_open_streams_then_the_connection)
{
	struct h2_stream *st = h2_request(w.client, "POST", "/echo", NULL, 0, true, NULL);
	struct timeval tv = {0, 50000};

	cr_assert(st != NULL);
	event_base_loopexit(w.base, &tv);
	event_base_dispatch(w.base);
	cr_assert(eq(sz, h2_conn_streams(w.client), 1));
	h2_conn_free(w.server);
	w.server = NULL;
	run();
	cr_assert(w.closed, "the open stream was closed");
	cr_assert(eq(u32, w.close_error, H2_CONN_LOST), "told apart from a reset by the peer");
	cr_assert(w.conn_closed);
	cr_assert(eq(sz, h2_conn_streams(w.client), 0));
}
