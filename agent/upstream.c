/* upstream.c: the agent's HTTP/1.1 client for calls to containers (upstream.h). A small state
 * machine over the bufferevent's input: the response head (bounded, parsed whole once its
 * blank line is in), then the body by its framing; bytes go to the caller as they arrive,
 * nothing is kept whole. Callbacks may free the upstream they come from: entry points count
 * themselves in busy, and upstream_free during one only marks it released. A connection whose
 * exchange ended cleanly goes back to keepalive.c for the next call to the same address. */
#include "berth.h"
#include "clock.h"
#include "evread.h"
#include "evwrite.h"
#include "hop.h"
#include "keepalive.h"
#include "upstream.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#define CHUNK_LINE_MAX 4096     /* a chunk-size line, extensions included */
#define CHUNK_SIZE_DIGITS 15    /* hex digits of a chunk size: below 2^60 */
#define LENGTH_DIGITS 18        /* decimal digits of a Content-Length */
#define WHERE_MAX KEEPALIVE_WHERE_MAX
#define UPSTREAM_IO_MAX ((size_t)256 * 1024) /* bytes per read or write system call */

enum up_state {
	UP_HEAD,        /* waiting for the response head */
	UP_LENGTH,      /* a Content-Length body */
	UP_CHUNK_SIZE,  /* chunked: the next chunk-size line */
	UP_CHUNK_DATA,
	UP_CHUNK_CRLF,  /* the line end after a chunk's data */
	UP_TRAILERS,    /* after the last chunk, up to the blank line; trailers are dropped */
	UP_CLOSE,       /* a body that ends when the connection does */
	UP_DONE,
};

/* How the request body goes out. */
enum up_framing { FRAME_PENDING, FRAME_LENGTH, FRAME_CHUNKED, FRAME_NONE };

struct upstream {
	struct event_base *base;
	struct bufferevent *bev;
	struct event *deadline;
	struct upstream_callbacks cb;
	void *arg;
	char where[WHERE_MAX];      /* host:port, for Host and messages */
	long timeout_ms;
	struct evbuffer *head_out;  /* the request head while its framing is pending */
	enum up_framing framing;
	bool length_wanted;         /* the method takes a body: no body is "Content-Length: 0" */
	bool body_ended;
	bool head_request;          /* HEAD: the response has no body */
	enum up_state state;
	long long remaining;        /* of the Content-Length body or of the current chunk */
	size_t trailer_bytes;
	int busy;                   /* > 0 while one of our libevent callbacks runs */
	bool released;              /* upstream_free came while busy */
	bool finished;              /* finish was reported (or is being) */
	/* keeping the connection */
	bool poolable;              /* u made the connection (not rq->bev): it may be kept */
	bool reused;                /* it came from keepalive.c */
	bool retried;               /* a stale reused connection was replaced once */
	bool answered;              /* a byte of the answer came */
	bool closing;               /* the answer ends the connection (close, HTTP/1.0, EOF) */
	bool keep;                  /* the exchange ended cleanly: the connection goes back */
	long long content_length;   /* of the request body as given; -1 unknown */
	long long body_sent;        /* request body bytes written */
	struct evbuffer *head_copy; /* the head sent on a reused connection, for the retry */
};

static size_t open_count;

struct bufferevent *upstream_bev(const struct upstream *u)
{
	return u ? u->bev : NULL;
}

size_t upstream_open_count(void)
{
	return open_count;
}

/* ---- small parsers ---- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return false;
	return true;
}

/* A field value: no control characters but HTAB (so no CR, LF or NUL). */
static bool value_ok(const char *s)
{
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return false;
	return true;
}

/* Whether token (case-insensitively) is one of the comma-separated items of list. */
static bool list_has(const char *list, const char *token)
{
	size_t n = strlen(token);

	for (const char *p = list; *p;) {
		size_t len;

		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (len == n && strncasecmp(p, token, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* The last comma-separated item of list, case-insensitively equal to token. */
static bool list_ends_with(const char *list, const char *token)
{
	const char *last = strrchr(list, ',');
	size_t n = strlen(token), len;

	last = last ? last + 1 : list;
	last += strspn(last, " \t");
	len = strcspn(last, " \t");
	return len == n && strncasecmp(last, token, n) == 0 && !last[len + strspn(last + len, " \t")];
}

static bool parse_decimal(const char *s, long long *out)
{
	long long v = 0;
	size_t n = strspn(s, "0123456789");

	if (n == 0 || n > LENGTH_DIGITS || s[n])
		return false;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	*out = v;
	return true;
}

/* ---- lifetime ---- */

static void up_destroy(struct upstream *u)
{
	if (u->keep)
		keepalive_put(u->base, u->where, u->bev);
	else
		bufferevent_free(u->bev);
	event_free(u->deadline);
	if (u->head_out)
		evbuffer_free(u->head_out);
	if (u->head_copy)
		evbuffer_free(u->head_copy);
	free(u);
	open_count--;
}

/* No more callbacks for u: both sides stop, but for a connection going back to the pool,
 * which goes on reading so the pool watches it from the same event (no epoll change). */
static void up_quiet(struct upstream *u)
{
	bufferevent_disable(u->bev, u->finished && u->keep ? EV_WRITE : EV_READ | EV_WRITE);
}

void upstream_free(struct upstream *u)
{
	if (!u)
		return;
	if (u->busy) {
		u->released = true;
		up_quiet(u); /* no callback runs before the one in hand ends and up_destroy goes */
		return;
	}
	up_destroy(u);
}

static bool stopped(const struct upstream *u)
{
	return u->released || u->finished;
}

/* Every libevent callback of ours is bracketed by enter/leave, so a release in between
 * takes effect only when nothing of u is in use any more. */
static void up_enter(struct upstream *u)
{
	u->busy++;
}

static void up_leave(struct upstream *u)
{
	if (--u->busy == 0 && u->released)
		up_destroy(u);
}

/* Whether the connection can carry another exchange: this one ended cleanly both ways, with
 * nothing of it left in either direction. */
static bool up_reusable(struct upstream *u)
{
	return u->poolable && !u->closing && u->body_ended &&
	       (u->framing != FRAME_LENGTH || u->body_sent == u->content_length) &&
	       evbuffer_get_length(bufferevent_get_input(u->bev)) == 0 &&
	       evbuffer_get_length(bufferevent_get_output(u->bev)) == 0;
}

/* Reports the end, once: e NULL when the response is complete. */
static void up_report(struct upstream *u, int rc, const struct berr *e)
{
	if (u->finished)
		return;
	u->finished = true;
	u->keep = rc == B_OK && up_reusable(u);
	u->state = UP_DONE;
	up_quiet(u);
	evtimer_del(u->deadline);
	if (!u->released)
		u->cb.finish(u->arg, rc, e);
}

static void up_done(struct upstream *u)
{
	up_report(u, B_OK, NULL);
}

static void up_fail(struct upstream *u, int rc, const char *fmt, ...) B_PRINTF(3, 4);

static void up_fail(struct upstream *u, int rc, const char *fmt, ...)
{
	struct berr e = {0};
	char why[ERR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(why, sizeof(why), fmt, ap) < 0)
		why[0] = '\0';
	va_end(ap);
	berr_set(&e, rc, "", "%s", why);
	up_report(u, rc, &e);
}

/* ---- the request ---- */

static int check_request(const struct upstream_request *rq, struct berr *e)
{
	if (!rq->method || !is_token(rq->method))
		return berr_set(e, B_EINVAL, "method", "the method is not a token");
	if (!rq->target || rq->target[0] != '/')
		return berr_set(e, B_EINVAL, "path", "the path must start with /");
	for (const char *p = rq->target; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return berr_set(e, B_EINVAL, "path", "the path holds a space or a control character");
	for (size_t i = 0; i < rq->nheaders; i++)
		if (!is_token(rq->headers[i].name) || !value_ok(rq->headers[i].value))
			return berr_set(e, B_EINVAL, "headers", "header %s is malformed",
					rq->headers[i].name);
	if (!rq->host || rq->port < 1 || rq->port > 65535)
		return berr_set(e, B_EINVAL, "", "no address to call");
	return B_OK;
}

/* The request head, but for its body framing and blank line. */
static void head_build(struct upstream *u, const struct upstream_request *rq)
{
	struct evbuffer *b = u->head_out;

	evbuffer_add_printf(b, "%s %s HTTP/1.1\r\nHost: %s\r\n", rq->method, rq->target, u->where);
	for (size_t i = 0; i < rq->nheaders; i++)
		if (!hop_by_hop(rq->headers[i].name) && !hop_written(rq->headers[i].name))
			evbuffer_add_printf(b, "%s: %s\r\n", rq->headers[i].name, rq->headers[i].value);
}

/* Sends the head, now that the body's framing is known. */
static void head_send(struct upstream *u, enum up_framing f, long long length)
{
	u->framing = f;
	if (f == FRAME_LENGTH)
		evbuffer_add_printf(u->head_out, "Content-Length: %lld\r\n", length);
	else if (f == FRAME_CHUNKED)
		evbuffer_add_printf(u->head_out, "Transfer-Encoding: chunked\r\n");
	else if (u->length_wanted)
		evbuffer_add_printf(u->head_out, "Content-Length: 0\r\n");
	evbuffer_add(u->head_out, "\r\n", 2);
	if (u->reused) {
		u->head_copy = evbuffer_new();
		if (!u->head_copy || evbuffer_add(u->head_copy, evbuffer_pullup(u->head_out, -1),
						  evbuffer_get_length(u->head_out)))
			abort();
	}
	bufferevent_write_buffer(u->bev, u->head_out);
	evbuffer_free(u->head_out);
	u->head_out = NULL;
	evwrite_push(u->bev, UPSTREAM_IO_MAX);
}

/* The answer's head is due timeout_ms after the request's last byte so far: an upload runs
 * as long as its bytes keep coming, and only a silence of timeout_ms ends it. */
static void up_deadline_restart(struct upstream *u)
{
	struct timeval tv = clock_timeval_ms(u->timeout_ms);

	if (u->state == UP_HEAD && !stopped(u))
		evtimer_add(u->deadline, &tv);
}

void upstream_write(struct upstream *u, const void *p, size_t n)
{
	if (stopped(u) || u->body_ended || n == 0)
		return;
	if (u->framing == FRAME_PENDING)
		head_send(u, FRAME_CHUNKED, 0);
	/* the body goes from the loop, which tells when the socket took it (cb.drained) */
	if (!(bufferevent_get_enabled(u->bev) & EV_WRITE))
		bufferevent_enable(u->bev, EV_WRITE);
	u->body_sent += (long long)n;
	if (u->framing == FRAME_CHUNKED) {
		evbuffer_add_printf(bufferevent_get_output(u->bev), "%zx\r\n", n);
		bufferevent_write(u->bev, p, n);
		bufferevent_write(u->bev, "\r\n", 2);
	} else if (u->framing == FRAME_LENGTH) {
		bufferevent_write(u->bev, p, n);
	}
	up_deadline_restart(u);
}

void upstream_end(struct upstream *u)
{
	if (stopped(u) || u->body_ended)
		return;
	u->body_ended = true;
	if (u->framing == FRAME_PENDING)
		head_send(u, FRAME_NONE, 0);
	else if (u->framing == FRAME_CHUNKED)
		bufferevent_write(u->bev, "0\r\n\r\n", 5);
	evwrite_push(u->bev, UPSTREAM_IO_MAX);
	up_deadline_restart(u);
}

void upstream_pause(struct upstream *u, bool pause)
{
	if (stopped(u))
		return;
	if (pause)
		bufferevent_disable(u->bev, EV_READ);
	else
		bufferevent_enable(u->bev, EV_READ);
}

/* ---- the response head ---- */

struct head {
	int status;
	struct upstream_header h[UPSTREAM_HEADERS_MAX];
	size_t n;
	const char *te, *cl, *connection;
	bool cl_conflict;
	bool http10;
};

/* "HTTP/1.x NNN[ reason]". */
static int parse_status_line(const char *line)
{
	int status;

	if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1') ||
	    line[8] != ' ')
		return -1;
	line += 9;
	for (int i = 0; i < 3; i++)
		if (line[i] < '0' || line[i] > '9')
			return -1;
	if (line[3] && line[3] != ' ')
		return -1;
	status = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	return status >= 100 && status <= 599 ? status : -1;
}

/* One "name: value" line into hd (name lowercased, value trimmed, both in place). */
static int parse_field(struct head *hd, char *line)
{
	char *colon = strchr(line, ':'), *v, *end;

	if (!colon || colon == line)
		return -1;
	*colon = '\0';
	if (!is_token(line))
		return -1;
	for (char *p = line; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t'); end--)
		;
	*end = '\0';
	if (!value_ok(v))
		return -1;
	if (hd->n == UPSTREAM_HEADERS_MAX)
		return -2;
	if (strcmp(line, "content-length") == 0) {
		hd->cl_conflict |= hd->cl && strcmp(hd->cl, v) != 0;
		hd->cl = v;
	} else if (strcmp(line, "transfer-encoding") == 0) {
		hd->te = v; /* several: the last one says what ends the body */
	} else if (strcmp(line, "connection") == 0) {
		hd->connection = v;
	}
	hd->h[hd->n++] = (struct upstream_header){line, v};
	return 0;
}

/* text is the head without its final CRLF CRLF; cut up in place. */
static int parse_head(struct upstream *u, char *text, struct head *hd)
{
	char *save = NULL, *line = strtok_r(text, "\n", &save);

	if (line)
		line[strcspn(line, "\r")] = '\0';
	hd->status = line ? parse_status_line(line) : -1;
	hd->http10 = line && strncmp(line, "HTTP/1.0", 8) == 0;
	if (hd->status < 0) {
		up_fail(u, B_EUPSTREAM, "the container at %s sent a malformed status line",
			  u->where);
		return -1;
	}
	while ((line = strtok_r(NULL, "\n", &save))) {
		int rc;

		line[strcspn(line, "\r")] = '\0';
		if ((rc = parse_field(hd, line)) == -2) {
			up_fail(u, B_EUPSTREAM, "the container at %s sent more than %d headers",
				  u->where, UPSTREAM_HEADERS_MAX);
			return -1;
		}
		if (rc) {
			up_fail(u, B_EUPSTREAM, "the container at %s sent a malformed header line",
				  u->where);
			return -1;
		}
	}
	return 0;
}

/* The response body's framing (RFC 9112 section 6.3); -1 for a bad Content-Length. */
static int body_state(struct upstream *u, const struct head *hd, bool *body)
{
	*body = true;
	if (u->head_request || hd->status == 204 || hd->status == 304) {
		*body = false;
		return UP_DONE;
	}
	if (hd->te)
		return list_ends_with(hd->te, "chunked") ? UP_CHUNK_SIZE : UP_CLOSE;
	if (!hd->cl)
		return UP_CLOSE;
	if (hd->cl_conflict || !parse_decimal(hd->cl, &u->remaining))
		return -1;
	*body = u->remaining > 0;
	return *body ? UP_LENGTH : UP_DONE;
}

/* The end-to-end headers of hd into out, less x-berth-*. Content-Length goes once (HTTP/2
 * refuses a repeated one) and only where it frames the body. */
static size_t head_forward(const struct head *hd, struct upstream_header *out)
{
	bool length_sent = false;
	size_t n = 0;

	for (size_t i = 0; i < hd->n; i++) {
		const char *name = hd->h[i].name;

		if (strcmp(name, "content-length") == 0) {
			if (hd->te || length_sent)
				continue;
			length_sent = true;
		} else if (hop_by_hop(name) || hop_written(name) ||
			   (hd->connection && list_has(hd->connection, name)) ||
			   strncmp(name, "x-berth-", 8) == 0) {
			continue; /* x-berth-*: a container's x-berth-error would pass for ours */
		}
		out[n++] = hd->h[i];
	}
	return n;
}

/* One final head: parsed, checked, reported. */
static int head_deliver(struct upstream *u, char *text)
{
	struct head hd = {0};
	struct upstream_header out[UPSTREAM_HEADERS_MAX];
	bool body;
	int state;

	if (parse_head(u, text, &hd))
		return -1;
	if (hd.status < 200) {
		if (hd.status == 101) {
			up_fail(u, B_EUPSTREAM, "the container at %s switched protocols unasked",
				  u->where);
			return -1;
		}
		return 1; /* an interim answer (100 Continue, 103 Early Hints): the real one follows */
	}
	if ((state = body_state(u, &hd, &body)) < 0) {
		up_fail(u, B_EUPSTREAM, "the container at %s sent a bad Content-Length", u->where);
		return -1;
	}
	evtimer_del(u->deadline);
	u->closing = hd.http10 || (hd.connection && list_has(hd.connection, "close"));
	u->state = (enum up_state)state;
	u->cb.head(u->arg, hd.status, out, head_forward(&hd, out), body);
	if (!stopped(u) && u->state == UP_DONE)
		up_done(u);
	return stopped(u) ? -1 : 1;
}

/* 1 when a head was taken from in, 0 when more bytes are needed, -1 when u stopped. */
static int step_head(struct upstream *u, struct evbuffer *in)
{
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	size_t len;
	char *text;
	int rc;

	if (end.pos < 0 && evbuffer_get_length(in) < UPSTREAM_HEAD_MAX)
		return 0;
	if (end.pos < 0 || (size_t)end.pos + 4 > UPSTREAM_HEAD_MAX) {
		up_fail(u, B_EUPSTREAM, "the container at %s sent a response head over %zu bytes",
			  u->where, UPSTREAM_HEAD_MAX);
		return -1;
	}
	len = (size_t)end.pos;
	text = malloc(len + 4);
	if (!text)
		abort();
	evbuffer_remove(in, text, len + 4);
	text[len] = '\0';
	rc = head_deliver(u, text);
	free(text);
	return rc;
}

/* ---- the response body ---- */

/* Hands the first n bytes of in to the caller, without copying them. */
static void deliver(struct upstream *u, struct evbuffer *in, size_t n)
{
	struct evbuffer_iovec v[8];

	if (u->cb.body_from) {
		size_t before = evbuffer_get_length(in), taken;

		u->cb.body_from(u->arg, in, n);
		taken = before - evbuffer_get_length(in);
		if (taken < n)
			evbuffer_drain(in, n - taken); /* what the caller left is not the next answer */
		return;
	}
	while (n > 0 && !stopped(u)) {
		int k = evbuffer_peek(in, (ev_ssize_t)n, NULL, v, (int)B_ARRAY_LEN(v));
		size_t got = 0;

		for (int i = 0; i < k && i < (int)B_ARRAY_LEN(v) && got < n && !stopped(u); i++) {
			size_t len = v[i].iov_len < n - got ? v[i].iov_len : n - got;

			u->cb.body(u->arg, v[i].iov_base, len);
			got += len;
		}
		evbuffer_drain(in, got);
		n -= got;
	}
}

/* Up to u->remaining bytes of a Content-Length body or a chunk. */
static int step_counted(struct upstream *u, struct evbuffer *in)
{
	size_t have = evbuffer_get_length(in);
	size_t n = (unsigned long long)u->remaining < have ? (size_t)u->remaining : have;

	if (n == 0)
		return 0;
	deliver(u, in, n);
	if (stopped(u))
		return -1;
	u->remaining -= (long long)n;
	if (u->remaining > 0)
		return 0;
	if (u->state == UP_LENGTH) {
		up_done(u);
		return -1;
	}
	u->state = UP_CHUNK_CRLF;
	return 1;
}

/* A line of the chunked framing, or NULL (u stopped when it is too long). Free it. */
static char *chunk_line(struct upstream *u, struct evbuffer *in, size_t *n)
{
	char *line = evbuffer_readln(in, n, EVBUFFER_EOL_CRLF);

	if (!line && evbuffer_get_length(in) > CHUNK_LINE_MAX)
		up_fail(u, B_EUPSTREAM, "the container at %s sent a malformed chunked body",
			  u->where);
	return line;
}

/* "1a2b[;ext...]" → the size, or -1. */
static long long chunk_size(const char *line)
{
	size_t n = strspn(line, "0123456789abcdefABCDEF");
	const char *rest = line + n + strspn(line + n, " \t");
	long long v = 0;

	if (n == 0 || n > CHUNK_SIZE_DIGITS || (*rest && *rest != ';'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)line[i];

		v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

static int step_chunk_line(struct upstream *u, struct evbuffer *in)
{
	size_t n;
	char *line = chunk_line(u, in, &n);
	long long size = 0;

	if (!line)
		return stopped(u) ? -1 : 0;
	if (u->state == UP_CHUNK_SIZE)
		size = chunk_size(line);
	else if (u->state == UP_CHUNK_CRLF)
		size = n == 0 ? 0 : -1;
	else if ((u->trailer_bytes += n + 2) > UPSTREAM_HEAD_MAX)
		size = -1;
	free(line);
	if (size < 0) {
		up_fail(u, B_EUPSTREAM, "the container at %s sent a malformed chunked body",
			  u->where);
		return -1;
	}
	if (u->state == UP_CHUNK_SIZE) {
		u->remaining = size;
		u->state = size ? UP_CHUNK_DATA : UP_TRAILERS;
	} else if (u->state == UP_CHUNK_CRLF) {
		u->state = UP_CHUNK_SIZE;
	} else if (n == 0) {
		up_done(u);
		return -1;
	}
	return 1;
}

/* Works through what the input holds, as far as it goes. */
static void up_parse(struct upstream *u)
{
	struct evbuffer *in = bufferevent_get_input(u->bev);
	int rc = 1;

	while (rc > 0 && !stopped(u)) {
		switch (u->state) {
		case UP_HEAD:
			rc = step_head(u, in);
			break;
		case UP_LENGTH:
		case UP_CHUNK_DATA:
			rc = step_counted(u, in);
			break;
		case UP_CHUNK_SIZE:
		case UP_CHUNK_CRLF:
		case UP_TRAILERS:
			rc = step_chunk_line(u, in);
			break;
		case UP_CLOSE:
			deliver(u, in, evbuffer_get_length(in));
			rc = 0;
			break;
		default:
			rc = 0;
			break;
		}
	}
}

/* ---- libevent callbacks ---- */

static void up_on_read(struct bufferevent *bev, void *arg)
{
	struct upstream *u = arg;

	up_enter(u);
	u->answered = true;
	evread_fill(bev, UPSTREAM_IO_MAX);
	up_parse(u);
	up_leave(u);
}

static void up_on_write(struct bufferevent *bev, void *arg)
{
	struct upstream *u = arg;

	up_enter(u);
	evwrite_idle(bev);
	if (!stopped(u) && u->cb.drained)
		u->cb.drained(u->arg);
	up_leave(u);
}

static void up_on_eof(struct upstream *u)
{
	up_parse(u);
	if (stopped(u))
		return;
	u->closing = true;
	if (u->state == UP_CLOSE)
		up_done(u);
	else if (u->state == UP_HEAD)
		up_fail(u, B_EUPSTREAM, "the container at %s closed the connection without "
			  "answering", u->where);
	else
		up_fail(u, B_EUPSTREAM, "the container at %s closed the connection in the "
			  "middle of the body", u->where);
}

static int up_connect(struct upstream *u, struct berr *e);

/* A kept connection the container had closed (the race keepalive.h describes) is replaced
 * once by a new one, when nothing but the head went on it: the head is sent again. */
static bool up_retry(struct upstream *u)
{
	struct berr e = {0};

	if (!u->reused || u->retried || u->answered || u->body_sent > 0 || !u->head_copy ||
	    u->state != UP_HEAD)
		return false;
	u->retried = true;
	u->reused = false;
	bufferevent_free(u->bev);
	u->bev = bufferevent_socket_new(u->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (!u->bev)
		abort();
	bufferevent_write_buffer(u->bev, u->head_copy);
	if (up_connect(u, &e))
		up_report(u, B_EUPSTREAM, &e);
	return true;
}

static void up_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct upstream *u = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)bev;
	up_enter(u);
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && up_retry(u))
		; /* on a new connection now */
	else if ((what & BEV_EVENT_ERROR) && (what & BEV_EVENT_WRITING) && !(what & BEV_EVENT_READING))
		/* The container stopped reading the request: it may have answered already (e.g.
		 * 413 and close), so the read side decides; the rest of the body is dropped. */
		u->body_ended = true;
	else if (what & BEV_EVENT_EOF)
		up_on_eof(u);
	else if (what & BEV_EVENT_ERROR)
		up_fail(u, B_EUPSTREAM, "the container at %s: %s%s", u->where,
			  err ? evutil_socket_error_to_string(err) : "connection failed",
			  u->state == UP_HEAD ? "" : " (in the middle of the answer)");
	up_leave(u);
}

static void up_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct upstream *u = arg;

	(void)fd;
	(void)what;
	up_enter(u);
	if (u->state == UP_HEAD)
		up_fail(u, B_ETIMEOUT, "the container at %s did not answer within %ld ms",
			  u->where, u->timeout_ms);
	up_leave(u);
}

/* ---- opening ---- */

static bool method_takes_body(const char *m)
{
	return strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0;
}

/* The head and the body go out as written, not held for the container's delayed ACK. */
static void up_nodelay(struct upstream *u)
{
	evutil_socket_t fd = bufferevent_getfd(u->bev);
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* a bulk body in large reads and writes, not libevent's 16 KiB ones */
	bufferevent_set_max_single_read(u->bev, UPSTREAM_IO_MAX);
	bufferevent_set_max_single_write(u->bev, UPSTREAM_IO_MAX);
}

static int up_connect(struct upstream *u, struct berr *e)
{
	struct sockaddr_storage ss;
	int len = (int)sizeof(ss);

	if (evutil_parse_sockaddr_port(u->where, (struct sockaddr *)&ss, &len))
		return berr_set(e, B_EINVAL, "", "%s is not an IP address and port", u->where);
	bufferevent_setcb(u->bev, up_on_read, up_on_write, up_on_event, u);
	bufferevent_enable(u->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(u->bev, (struct sockaddr *)&ss, len))
		return berr_set(e, B_EUPSTREAM, "", "cannot connect to the container at %s: %s",
				u->where, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	up_nodelay(u);
	return B_OK;
}

struct upstream *upstream_open(struct event_base *base, const struct upstream_request *rq,
			       const struct upstream_callbacks *cb, void *arg, struct berr *e)
{
	struct upstream *u;
	bool v6;

	if (check_request(rq, e)) {
		if (rq->bev)
			bufferevent_free(rq->bev);
		return NULL;
	}
	u = calloc(1, sizeof(*u));
	if (!u)
		abort();
	open_count++;
	v6 = strchr(rq->host, ':') != NULL;
	if ((size_t)snprintf(u->where, sizeof(u->where), "%s%s%s:%d", v6 ? "[" : "", rq->host,
			     v6 ? "]" : "", rq->port) >= sizeof(u->where))
		u->where[0] = '\0'; /* fails to parse below */
	u->cb = *cb;
	u->arg = arg;
	u->base = base;
	u->poolable = !rq->bev;
	u->content_length = rq->content_length;
	u->timeout_ms = rq->timeout_ms > 0 ? rq->timeout_ms : UPSTREAM_TIMEOUT_MS_DEFAULT;
	u->head_request = strcmp(rq->method, "HEAD") == 0;
	u->length_wanted = method_takes_body(rq->method);
	u->bev = rq->bev;
	if (!u->bev && (u->bev = keepalive_take(u->where)))
		u->reused = true;
	else if (!u->bev)
		u->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	u->deadline = evtimer_new(base, up_on_deadline, u);
	u->head_out = evbuffer_new();
	if (!u->bev || !u->deadline || !u->head_out)
		abort();
	head_build(u, rq);
	if (rq->content_length >= 0)
		head_send(u, FRAME_LENGTH, rq->content_length);
	if (u->reused) {
		/* connected, still reading (keepalive_take), its write side idle (evwrite.h): the
		 * head is on its way */
		bufferevent_setcb(u->bev, up_on_read, up_on_write, up_on_event, u);
		evwrite_push(u->bev, UPSTREAM_IO_MAX);
	} else if (rq->bev) {
		bufferevent_setcb(u->bev, up_on_read, up_on_write, up_on_event, u);
		bufferevent_enable(u->bev, EV_READ | EV_WRITE);
		up_nodelay(u);
	} else if (up_connect(u, e)) {
		up_destroy(u);
		return NULL;
	}
	up_deadline_restart(u);
	return u;
}
