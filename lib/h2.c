#include "berth.h"
#include "evread.h"
#include "evwrite.h"
#include "h2.h"
#include "log.h"

#include <ctype.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define H2_NV_MAX (H2_HEADERS_MAX + 4)

struct h2_link {
	struct h2_stream *st;
	struct h2_link *next;
};

struct h2_conn {
	nghttp2_session *session;
	struct bufferevent *bev;
	struct h2_callbacks cb;
	void *arg;
	struct h2_link *streams; /* every open stream, so a dying connection can close them */
	size_t nstreams;
	int depth;               /* > 0 while nghttp2 is calling us: no session_send then */
	bool dead;
	bool out_full;           /* DATA waits for the socket's queue to drain (H2_OUT_HIGH) */
	struct event *push;      /* writes what h2_flush queued, once the callback in hand ends */
};

/* Acknowledges what st passed on, short of a remainder that keeps the window it grants
 * aligned (h2.h, H2_ACK_STEP): the total acknowledged stays congruent to the bytes of whole
 * DATA frames received, so once those in flight arrive the sender's window is whole steps. */
static void ack_stream(struct h2_stream *st)
{
	uint64_t target;
	uint64_t short_by = (st->passed % H2_ACK_STEP + H2_ACK_STEP - st->recv_frames % H2_ACK_STEP) %
			    H2_ACK_STEP;

	if (st->passed < short_by || st->passed - short_by <= st->acked)
		return;
	target = st->passed - short_by;
	nghttp2_session_consume_stream(st->conn->session, st->id, (size_t)(target - st->acked));
	st->acked = target;
}

static char *xstrndup(const void *p, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static struct h2_stream *stream_new(struct h2_conn *c, int32_t id, void *user)
{
	struct h2_stream *st = calloc(1, sizeof(*st));
	struct h2_link *l = calloc(1, sizeof(*l));

	if (!st || !l)
		abort();
	st->conn = c;
	st->id = id;
	st->user = user;
	st->out = evbuffer_new();
	l->st = st;
	l->next = c->streams;
	c->streams = l;
	c->nstreams++;
	return st;
}

static void stream_free(struct h2_conn *c, struct h2_stream *st)
{
	for (struct h2_link **l = &c->streams; *l; l = &(*l)->next) {
		if ((*l)->st == st) {
			struct h2_link *dead = *l;

			*l = dead->next;
			free(dead);
			c->nstreams--;
			break;
		}
	}
	for (size_t i = 0; i < st->nheaders; i++) {
		free(st->headers[i].name);
		free(st->headers[i].value);
	}
	free(st->method);
	free(st->path);
	evbuffer_free(st->out);
	free(st);
}

/* Writes whatever nghttp2 has queued into the socket's output buffer. */
static void h2_flush(struct h2_conn *c)
{
	int rv;

	if (c->depth || c->dead)
		return;
	c->depth++;
	rv = nghttp2_session_send(c->session);
	c->depth--;
	if (rv)
		log_warn("h2: send failed: %s", nghttp2_strerror(rv));
	/* not at once: what the rest of this callback sends (a head, its body, its end) goes in
	 * the same write */
	event_active(c->push, EV_WRITE, 0);
}

/* A push leaves bytes behind whenever DATA is held back (out_full: H2_OUT_HIGH queued), so
 * the loop's write, and h2_on_write with it, always follows to resume the streams. */
_Static_assert(H2_IO_MAX < H2_OUT_HIGH, "a push must not empty a full queue");

static void h2_on_push(evutil_socket_t fd, short what, void *arg)
{
	struct h2_conn *c = arg;

	(void)fd;
	(void)what;
	if (!c->dead)
		evwrite_push(c->bev, H2_IO_MAX);
}

static ssize_t cb_send(nghttp2_session *s, const uint8_t *data, size_t len, int flags, void *u)
{
	struct h2_conn *c = u;

	(void)s;
	(void)flags;
	if (bufferevent_write(c->bev, data, len))
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	return (ssize_t)len;
}

static int cb_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
	struct h2_conn *c = u;

	if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	nghttp2_session_set_stream_user_data(s, f->hd.stream_id, stream_new(c, f->hd.stream_id, NULL));
	return 0;
}

static int parse_status(const uint8_t *v, size_t n)
{
	int status = 0;

	if (n != 3)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
		status = status * 10 + (v[i] - '0');
	}
	return status;
}

static int cb_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
		     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *u)
{
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);

	(void)flags;
	(void)u;
	if (!st || f->hd.type != NGHTTP2_HEADERS)
		return 0;
	if (namelen == 7 && memcmp(name, ":method", 7) == 0)
		st->method = xstrndup(value, valuelen);
	else if (namelen == 5 && memcmp(name, ":path", 5) == 0)
		st->path = xstrndup(value, valuelen);
	else if (namelen == 7 && memcmp(name, ":status", 7) == 0)
		st->status = parse_status(value, valuelen);
	else if (namelen && name[0] == ':')
		return 0;
	else if (st->nheaders == H2_HEADERS_MAX)
		st->dropped_headers++;
	else {
		st->headers[st->nheaders].name = xstrndup(name, namelen);
		st->headers[st->nheaders].value = xstrndup(value, valuelen);
		st->nheaders++;
	}
	return 0;
}

static int cb_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
	struct h2_conn *c = u;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);

	if (f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK)) {
		if (c->cb.ping_ack)
			c->cb.ping_ack(c, c->arg);
		return 0;
	}
	if (f->hd.type == NGHTTP2_DATA && st) {
		st->recv_frames += f->hd.length - f->data.padlen; /* padding: nghttp2's to ack */
		ack_stream(st);
	}
	if (!st || (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA))
		return 0;
	if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST &&
	    c->cb.request)
		c->cb.request(st, c->arg);
	else if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_RESPONSE &&
		 c->cb.response)
		c->cb.response(st, c->arg);
	if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
		st->peer_ended = true;
		if (c->cb.end)
			c->cb.end(st, c->arg);
	}
	return 0;
}

static int cb_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
		   void *u)
{
	struct h2_conn *c = u;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	(void)flags;
	/* the connection's share goes back at once: a stream whose reader stalls holds its own
	 * window, never the other streams' (h2.h). Chunk by chunk, not at a frame's end, which
	 * never comes for a frame cut short by a reset. (No libcurl connection carries two
	 * streams at once, so its connection window never ends before its stream's: no need to
	 * keep that one aligned.) */
	if (!st) {
		nghttp2_session_consume(s, id, len);
		return 0;
	}
	nghttp2_session_consume_connection(s, len);
	if (st->manual_window) {
		st->unconsumed += len;
	} else {
		st->passed += len;
		ack_stream(st);
	}
	if (c->cb.data)
		c->cb.data(st, data, len, c->arg);
	return 0;
}

/* What nghttp2 found wrong with a peer's frame or stream (a malformed header, a body longer or
 * shorter than its content-length, a window overrun): it resets the stream or ends the
 * connection itself, and this is the only place its reason is told. */
static int cb_error(nghttp2_session *s, int code, const char *msg, size_t len, void *u)
{
	(void)s;
	(void)u;
	log_warn("h2: %s: %.*s", nghttp2_strerror(code), (int)len, msg);
	return 0;
}

static int cb_invalid_frame(nghttp2_session *s, const nghttp2_frame *f, int code, void *u)
{
	(void)s;
	(void)u;
	log_warn("h2: invalid frame (type %u) on stream %d: %s", f->hd.type, f->hd.stream_id,
		 nghttp2_strerror(code));
	return 0;
}

static int cb_stream_close(nghttp2_session *s, int32_t id, uint32_t error, void *u)
{
	struct h2_conn *c = u;
	struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);

	if (!st)
		return 0;
	st->closed = true;
	if (st->opening) {
		/* refused while h2_request was still submitting it: h2_request frees it and tells
		 * its caller, who has no stream yet to hear a close on */
		nghttp2_session_set_stream_user_data(s, id, NULL);
		return 0;
	}
	if (c->cb.close)
		c->cb.close(st, error, c->arg);
	nghttp2_session_set_stream_user_data(s, id, NULL);
	stream_free(c, st);
	return 0;
}

/* The longest run of whole chains at b's start that is at most n bytes, when it is at least
 * half of n; otherwise n. A frame that ends where a chain does moves to the socket's buffer
 * without a byte copied; one that ends inside a chain copies that chain's part. */
static size_t whole_chains(struct evbuffer *b, size_t n)
{
	struct evbuffer_iovec v[16];
	int k = evbuffer_peek(b, (ev_ssize_t)n, NULL, v, (int)B_ARRAY_LEN(v));
	size_t sum = 0;

	for (int i = 0; i < k && i < (int)B_ARRAY_LEN(v) && sum + v[i].iov_len <= n; i++)
		sum += v[i].iov_len;
	return sum >= n / 2 && sum > 0 ? sum : n;
}

/* How much of the body the next DATA frame carries. The bytes stay in st->out until
 * send_data moves them to the socket's buffer (NGHTTP2_DATA_FLAG_NO_COPY): no copy in
 * between. */
static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len,
			 uint32_t *flags, nghttp2_data_source *src, void *u)
{
	struct h2_conn *c = u;
	struct h2_stream *st = src->ptr;
	size_t have = evbuffer_get_length(st->out), n = have < len ? have : len;

	(void)s;
	(void)id;
	(void)buf;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) >= H2_OUT_HIGH) {
		/* the socket is behind: h2_on_write resumes the stream once it catches up */
		c->out_full = true;
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	if (n < have)
		n = whole_chains(st->out, n);
	if (n > 0)
		*flags |= NGHTTP2_DATA_FLAG_NO_COPY;
	if (n == have && st->out_end) {
		*flags |= NGHTTP2_DATA_FLAG_EOF;
		st->sent_end = true;
	} else if (n == 0) {
		st->deferred = true;
		return NGHTTP2_ERR_DEFERRED;
	}
	return (ssize_t)n;
}

/* A DATA frame body_read sized: its header, then its bytes moved (not copied, chains whole)
 * from the stream's buffer to the socket's. We never pad. */
static int cb_send_data(nghttp2_session *s, nghttp2_frame *f, const uint8_t *framehd,
			size_t len, nghttp2_data_source *src, void *u)
{
	struct h2_conn *c = u;
	struct h2_stream *st = src->ptr;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	(void)s;
	(void)f;
	if (evbuffer_add(out, framehd, 9) ||
	    evbuffer_remove_buffer(st->out, out, len) != (int)len)
		return NGHTTP2_ERR_CALLBACK_FAILURE;
	if (c->cb.sent)
		c->cb.sent(st, len, c->arg);
	return 0;
}

/* DATA frames as large as the peer takes, not nghttp2's 16 KiB: between two lib/h2 peers (the
 * tunnel) the container's answer goes out a buffer chain (up to 512 KiB) a frame, moved whole
 * to the socket's buffer rather than copied out 16 KiB at a time. */
static ssize_t cb_read_length(nghttp2_session *s, uint8_t type, int32_t id, int32_t conn_window,
			      int32_t stream_window, uint32_t peer_max, void *arg)
{
	(void)s;
	(void)type;
	(void)id;
	(void)conn_window;
	(void)stream_window;
	(void)arg;
	return peer_max < H2_FRAME_MAX ? (ssize_t)peer_max : H2_FRAME_MAX;
}

static void h2_conn_kill(struct h2_conn *c);

/* The socket's queue drained to half of H2_OUT_HIGH: the streams held back by it go on. */
static void h2_on_write(struct bufferevent *bev, void *arg)
{
	struct h2_conn *c = arg;

	if (c->dead)
		return;
	evwrite_idle(bev);
	if (!c->out_full)
		return;
	c->out_full = false;
	for (struct h2_link *l = c->streams; l; l = l->next) {
		struct h2_stream *st = l->st;

		if (st->deferred && !st->closed && (evbuffer_get_length(st->out) || st->out_end)) {
			st->deferred = false;
			nghttp2_session_resume_data(c->session, st->id);
		}
	}
	h2_flush(c);
}

/* Feeds received bytes to nghttp2 piece by piece as they lie in the buffer (no copy to make
 * them one), then sends what that produced; a protocol error or EOF kills the connection. */
static void h2_on_read(struct bufferevent *bev, void *arg)
{
	struct h2_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v[16];
	ssize_t rv = 0;

	if (c->dead)
		return;
	evread_fill(bev, H2_IO_MAX);
	if (!evbuffer_get_length(in))
		return;
	c->depth++;
	while (rv >= 0 && evbuffer_get_length(in)) {
		int k = evbuffer_peek(in, -1, NULL, v, (int)B_ARRAY_LEN(v));
		size_t done = 0;

		for (int i = 0; i < k && i < (int)B_ARRAY_LEN(v); i++) {
			if ((rv = nghttp2_session_mem_recv(c->session, v[i].iov_base,
							   v[i].iov_len)) < 0)
				break;
			done += (size_t)rv;
		}
		evbuffer_drain(in, done);
		if (done == 0)
			break;
	}
	c->depth--;
	if (rv < 0) {
		log_warn("h2: protocol error from peer: %s", nghttp2_strerror((int)rv));
		h2_conn_kill(c);
		return;
	}
	h2_flush(c);
	if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session))
		h2_conn_kill(c);
}

static void h2_on_event(struct bufferevent *bev, short events, void *arg)
{
	(void)bev;
	if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		h2_conn_kill(arg);
}

/* The connection is over: every open stream is closed (H2_CONN_LOST) first, then the owner is
 * told. Nothing here touches c after conn_closed, which may free it. */
static void h2_close_streams(struct h2_conn *c)
{
	while (c->streams) {
		struct h2_stream *st = c->streams->st;

		st->closed = true;
		if (c->cb.close)
			c->cb.close(st, H2_CONN_LOST, c->arg);
		stream_free(c, st);
	}
}

static void h2_conn_kill(struct h2_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_del(c->push);
	h2_close_streams(c);
	if (c->cb.conn_closed)
		c->cb.conn_closed(c, c->arg);
}

/* Frames go out as nghttp2 makes them: Nagle's wait for an ACK the peer delays costs a small
 * exchange ~40 ms on TCP. (A unix socket refuses the option; that is fine.) */
static void h2_nodelay(struct bufferevent *bev)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

struct h2_conn *h2_conn_new(struct bufferevent *bev, bool server, const struct h2_callbacks *cb,
			    void *arg)
{
	nghttp2_settings_entry iv[] = {
		{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, H2_MAX_STREAMS},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
		{NGHTTP2_SETTINGS_MAX_FRAME_SIZE, H2_FRAME_MAX},
	};
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	struct h2_conn *c = calloc(1, sizeof(*c));
	int rv;

	if (!c || nghttp2_session_callbacks_new(&cbs) || nghttp2_option_new(&opt) ||
	    !(c->push = event_new(bufferevent_get_base(bev), -1, 0, h2_on_push, c)))
		abort();
	nghttp2_option_set_no_auto_window_update(opt, 1);
	/* nghttp2's guard against rapid reset (CVE-2023-44487): past 1000 RST_STREAM, 33 a second,
	 * a server stops taking streams (GOAWAY). Both servers here have one trusted peer that
	 * speaks for many callers: the agent's is gatewayd, which resets a stream for every
	 * caller that leaves (a thousand SSE clients gone at once), gatewayd's the local
	 * programs. */
	if (server)
		nghttp2_option_set_stream_reset_rate_limit(opt, H2_RESET_BURST, H2_RESET_BURST);
	c->bev = bev;
	c->cb = *cb;
	c->arg = arg;
	nghttp2_session_callbacks_set_send_callback(cbs, cb_send);
	nghttp2_session_callbacks_set_send_data_callback(cbs, cb_send_data);
	nghttp2_session_callbacks_set_data_source_read_length_callback(cbs, cb_read_length);
	nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, cb_begin_headers);
	nghttp2_session_callbacks_set_on_header_callback(cbs, cb_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cb_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cb_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cb_stream_close);
	nghttp2_session_callbacks_set_error_callback2(cbs, cb_error);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, cb_invalid_frame);
	rv = server ? nghttp2_session_server_new2(&c->session, cbs, c, opt) :
		      nghttp2_session_client_new2(&c->session, cbs, c, opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_option_del(opt);
	if (rv || nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, B_ARRAY_LEN(iv)) ||
	    nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0, H2_CONN_WINDOW)) {
		if (!rv)
			nghttp2_session_del(c->session);
		event_free(c->push);
		free(c);
		return NULL;
	}
	bufferevent_setcb(bev, h2_on_read, h2_on_write, h2_on_event, c);
	bufferevent_setwatermark(bev, EV_WRITE, H2_OUT_HIGH / 2, 0);
	bufferevent_enable(bev, EV_READ);
	/* frames go to the socket as h2_flush makes them (evwrite.h); a TLS connection writes
	 * from the loop */
	if (evwrite_direct(bev))
		bufferevent_disable(bev, EV_WRITE);
	else
		bufferevent_enable(bev, EV_WRITE);
	h2_nodelay(bev);
	/* libevent moves at most 16 KiB per read or write call by default: a bulk stream would
	 * cost a system call (and an epoll change) per 16 KiB */
	bufferevent_set_max_single_read(bev, H2_IO_MAX);
	bufferevent_set_max_single_write(bev, H2_IO_MAX);
	h2_flush(c);
	if (evbuffer_get_length(bufferevent_get_input(bev)))
		h2_on_read(bev, c);
	return c;
}

void h2_conn_free(struct h2_conn *c)
{
	if (!c)
		return;
	c->dead = true;
	h2_close_streams(c);
	nghttp2_session_del(c->session);
	event_free(c->push);
	bufferevent_free(c->bev);
	free(c);
}

size_t h2_conn_queued(const struct h2_conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

int h2_conn_ping(struct h2_conn *c)
{
	if (c->dead || nghttp2_submit_ping(c->session, NGHTTP2_FLAG_NONE, NULL))
		return B_EIO;
	h2_flush(c);
	return B_OK;
}

size_t h2_conn_streams(const struct h2_conn *c)
{
	return c->nstreams;
}

void *h2_conn_arg(const struct h2_conn *c)
{
	return c->arg;
}

/* Credentials (authorization, proxy-authorization, x-berth-egress-authorization) never enter
 * either side's HPACK table, where they would outlive the request. */
static bool sensitive(const char *name)
{
	return strstr(name, "authorization") != NULL;
}

/* nghttp2 name/value pairs: the pseudo-headers given, then hdrs with lowercased names.
 * Returns the count; lowered[] holds names to free after submission. */
static size_t build_nv(nghttp2_nv *nv, char **lowered, const char *const *pseudo, size_t np,
		       const struct h2_header *hdrs, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i + 1 < np; i += 2, k++)
		nv[k] = (nghttp2_nv){(uint8_t *)pseudo[i], (uint8_t *)pseudo[i + 1],
				     strlen(pseudo[i]), strlen(pseudo[i + 1]), NGHTTP2_NV_FLAG_NONE};
	for (size_t i = 0; i < n && k < H2_NV_MAX; i++, k++) {
		size_t len = strlen(hdrs[i].name);

		lowered[i] = xstrndup(hdrs[i].name, len);
		for (size_t j = 0; j < len; j++)
			lowered[i][j] = (char)tolower((unsigned char)lowered[i][j]);
		nv[k] = (nghttp2_nv){(uint8_t *)lowered[i], (uint8_t *)hdrs[i].value, len,
				     strlen(hdrs[i].value),
				     sensitive(lowered[i]) ? NGHTTP2_NV_FLAG_NO_INDEX :
							     NGHTTP2_NV_FLAG_NONE};
	}
	return k;
}

static void free_lowered(char **lowered, size_t n)
{
	for (size_t i = 0; i < n && i < H2_HEADERS_MAX; i++)
		free(lowered[i]);
}

struct h2_stream *h2_request(struct h2_conn *c, const char *method, const char *path,
			     const struct h2_header *hdrs, size_t n, bool body, void *user)
{
	const char *pseudo[] = {":method", method, ":scheme", "http", ":authority", "berth",
				":path", path};
	nghttp2_nv nv[H2_NV_MAX];
	char *lowered[H2_HEADERS_MAX] = {0};
	struct h2_stream *st;
	nghttp2_data_provider prd;
	size_t k;
	int32_t id;

	if (c->dead || n > H2_HEADERS_MAX)
		return NULL;
	st = stream_new(c, 0, user);
	st->method = xstrndup(method, strlen(method));
	st->path = xstrndup(path, strlen(path));
	prd.source.ptr = st;
	prd.read_callback = body_read;
	k = build_nv(nv, lowered, pseudo, B_ARRAY_LEN(pseudo), hdrs, n);
	id = nghttp2_submit_request(c->session, NULL, nv, k, body ? &prd : NULL, st);
	free_lowered(lowered, n);
	if (id < 0) {
		log_warn("h2: cannot open a stream: %s", nghttp2_strerror(id));
		stream_free(c, st);
		return NULL;
	}
	st->id = id;
	st->sent_end = !body;
	st->opening = true;
	h2_flush(c);
	st->opening = false;
	if (st->closed) {
		log_warn("h2: stream %d closed as it opened", id);
		stream_free(c, st);
		return NULL;
	}
	return st;
}

int h2_respond(struct h2_stream *st, int status, const struct h2_header *hdrs, size_t n,
	       bool body)
{
	char code[8];
	const char *pseudo[] = {":status", code};
	nghttp2_nv nv[H2_NV_MAX];
	char *lowered[H2_HEADERS_MAX] = {0};
	nghttp2_data_provider prd = {.source.ptr = st, .read_callback = body_read};
	size_t k;
	int rv;

	if (st->closed || st->conn->dead || n > H2_HEADERS_MAX)
		return B_EIO;
	snprintf(code, sizeof(code), "%d", status);
	k = build_nv(nv, lowered, pseudo, B_ARRAY_LEN(pseudo), hdrs, n);
	rv = nghttp2_submit_response(st->conn->session, st->id, nv, k, body ? &prd : NULL);
	free_lowered(lowered, n);
	if (rv)
		return B_EIO;
	st->sent_end = !body;
	h2_flush(st->conn);
	return B_OK;
}

int h2_respond_simple(struct h2_stream *st, int status, const char *content_type,
		      const char *body, size_t len)
{
	struct h2_header h = {(char *)"content-type", (char *)content_type};
	int rc = h2_respond(st, status, &h, content_type ? 1 : 0, true);

	if (rc)
		return rc;
	h2_stream_write(st, body, len);
	h2_stream_end(st);
	return B_OK;
}

static void h2_resume(struct h2_stream *st)
{
	if (st->deferred && !st->closed) {
		st->deferred = false;
		nghttp2_session_resume_data(st->conn->session, st->id);
	}
	h2_flush(st->conn);
}

void h2_stream_write(struct h2_stream *st, const void *data, size_t len)
{
	if (st->closed || st->out_end)
		return;
	evbuffer_add(st->out, data, len);
	h2_resume(st);
}

void h2_stream_write_from(struct h2_stream *st, struct evbuffer *from, size_t len)
{
	if (st->closed || st->out_end) {
		evbuffer_drain(from, len);
		return;
	}
	evbuffer_remove_buffer(from, st->out, len);
	h2_resume(st);
}

void h2_stream_end(struct h2_stream *st)
{
	if (st->closed || st->out_end)
		return;
	st->out_end = true;
	h2_resume(st);
}

void h2_stream_reset(struct h2_stream *st, uint32_t error)
{
	/* an exchange complete both ways has nothing to cancel: nghttp2 would still queue the
	 * RST_STREAM, and counts such frames against its flood limit (1000), after which it
	 * closes the connection */
	if (st->closed || st->conn->dead || (st->peer_ended && st->sent_end))
		return;
	nghttp2_submit_rst_stream(st->conn->session, NGHTTP2_FLAG_NONE, st->id, error);
	h2_flush(st->conn);
}

void h2_stream_manual_window(struct h2_stream *st)
{
	st->manual_window = true;
}

void h2_stream_consume(struct h2_stream *st, size_t n)
{
	if (st->closed || st->conn->dead || n == 0)
		return;
	if (n > st->unconsumed)
		n = st->unconsumed;
	st->unconsumed -= n;
	st->passed += n;
	ack_stream(st);
	h2_flush(st->conn);
}

const char *h2_stream_header(const struct h2_stream *st, const char *name)
{
	for (size_t i = 0; i < st->nheaders; i++)
		if (strcmp(st->headers[i].name, name) == 0)
			return st->headers[i].value;
	return NULL;
}
