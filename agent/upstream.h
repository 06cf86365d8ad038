/* upstream.h: one HTTP/1.1 request from the agent to a container, on a libevent bufferevent
 * (a kept-alive connection of keepalive.c when one to the address is idle, else a new one
 * that goes back there once its exchange ended cleanly). It owns the HTTP/1.1 wire: the request
 * head and body framing (Content-Length, chunked, or none), hop-by-hop headers both ways, the
 * bounded response head, 1xx interim answers, and the body decoded (Content-Length, chunked,
 * until close) and handed over as it arrives. Which headers a caller may send, and what an
 * answer means to berth, are the caller's (serve.c's /v1/proxy/). Never blocks the loop. */
#ifndef BERTH_UPSTREAM_H
#define BERTH_UPSTREAM_H

#include "berth.h"
#include "err.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

#define UPSTREAM_HEAD_MAX ((size_t)64 * 1024)  /* bytes of the response head */
#define UPSTREAM_HEADERS_MAX 100               /* response headers; more is a bad answer */
#define UPSTREAM_TIMEOUT_MS_DEFAULT 300000L    /* request sent → response head */

struct upstream;

struct upstream_header {
	const char *name;
	const char *value;
};

struct upstream_request {
	const char *host;           /* an IP address (v4 or v6), also the Host header */
	int port;
	const char *method;         /* a token, e.g. "POST" */
	const char *target;         /* origin form: "/path?query" */
	const struct upstream_header *headers; /* sent as given, less the hop-by-hop ones, Host
						  and Content-Length (set here) */
	size_t nheaders;
	/* The request body's length; -1 when unknown: then the first upstream_write sends the
	 * head with chunked framing, or upstream_end before any body sends it with none. */
	long long content_length;
	long timeout_ms;            /* for the response head, from the request's last byte handed
				       over (upstream_write, upstream_end); <= 0: the default */
	/* A connection its maker connects right after upstream_open (egress.c: TLS to a host
	 * name), which u takes over, also when upstream_open fails; host is then that name.
	 * NULL: u connects to host, an IP address. */
	struct bufferevent *bev;
};

/* Called on the loop's thread. Strings are valid during the call only. After finish nothing
 * more is called; the owner still frees u with upstream_free (inside a callback is fine). */
struct upstream_callbacks {
	/* The final response head: status, the end-to-end headers (names lowercased), and
	 * whether a body follows (false for HEAD, 1xx, 204, 304 and Content-Length: 0). */
	void (*head)(void *arg, int status, const struct upstream_header *h, size_t n, bool body);
	void (*body)(void *arg, const void *p, size_t n);
	/* Optional, instead of body: the next n body bytes are the first n of from, for the
	 * caller to take out of it (evbuffer_remove_buffer moves them without a copy). */
	void (*body_from)(void *arg, struct evbuffer *from, size_t n);
	/* Optional: every request byte written so far has gone to the socket, so the caller
	 * may take more from its own sender (its backpressure on the request body). */
	void (*drained)(void *arg);
	/* B_OK: the response is complete. B_EUPSTREAM (refused, reset, closed early, a malformed
	 * or oversized answer) or B_ETIMEOUT (no head in time): e says why; head may or may not
	 * have been called before. */
	void (*finish)(void *arg, int rc, const struct berr *e);
};

/* Connects and (when the body's framing is known) sends the head; everything after that is
 * reported through cb. NULL with e filled (B_EUPSTREAM, B_EINVAL) when it cannot start.
 * rq and its strings are used during this call only. */
struct upstream *upstream_open(struct event_base *base, const struct upstream_request *rq,
			       const struct upstream_callbacks *cb, void *arg, struct berr *e);
/* Request body bytes, sent as they come (chunk-encoded when the length is unknown). */
void upstream_write(struct upstream *u, const void *p, size_t n);
/* The request body is complete. */
void upstream_end(struct upstream *u);
/* Stops (true) or resumes reading the response from the socket: the caller's backpressure.
 * Bytes already read are still delivered. */
void upstream_pause(struct upstream *u, bool pause);
/* Closes the connection at once (an abort when the response is not complete) and frees u;
 * no callback runs afterwards. NULL is fine. */
void upstream_free(struct upstream *u);
/* The connection, for a caller that made it (rq->bev) and asks it why it failed. */
struct bufferevent *upstream_bev(const struct upstream *u);
/* Connections open now, for tests and metrics. */
size_t upstream_open_count(void);

#endif
