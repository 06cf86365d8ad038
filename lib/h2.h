/* h2.h: one HTTP/2 connection (nghttp2) over a libevent bufferevent, in either role: berth's
 * tunnel runs it reversed (gatewayd the client, the agent the server), and gatewayd also serves
 * it on its unix socket. Bodies flow through per-stream evbuffers under HTTP/2 flow control.
 * What requests mean is the caller's business. */
#ifndef BERTH_H2_H
#define BERTH_H2_H

#include "berth.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#define H2_STREAM_WINDOW (1 << 20)      /* 1 MiB per stream */
/* The payload of libcurl's DATA frames. libcurl 7.88 (Debian 12) holds a DATA frame under
 * 1 KiB in a buffer of its own, and when the socket is full as it sends the next one, it
 * sends part of an upload twice: the body arrives garbled and short, the stream ends in
 * PROTOCOL_ERROR. It cuts a frame short where its send window ends, and the piece of its
 * upload buffer left after it goes in a short frame of its own. So received body is
 * acknowledged (WINDOW_UPDATE) in amounts that keep the total acknowledged congruent to the
 * whole frames received: the sender's window then ends on a whole frame. (libcurl sends into
 * the default 65,535-byte window before our SETTINGS come, which cuts its first buffer: see
 * tunnel.c for how berth's programs keep out of that.) */
#define H2_ACK_STEP 16384
#define H2_CONN_WINDOW (16 << 20)       /* 16 MiB per connection */
#define H2_MAX_STREAMS 2048             /* calls at once on one agent, its event stream too */
#define H2_IO_MAX (256 << 10)          /* bytes per read or write system call */
#define H2_FRAME_MAX (1 << 20)         /* DATA payload a lib/h2 peer takes in one frame */
#define H2_OUT_HIGH (1 << 20)          /* bytes queued for the socket before DATA waits */
#define H2_RESET_BURST 1000000ULL      /* RST_STREAM a server takes at once, and per second */
/* headers kept per received message: a caller's 100 (INVOKE_HEADERS_MAX), the platform's own
 * and room to spare; one past it makes a message that gatewayd and the agent refuse */
#define H2_HEADERS_MAX 128

struct h2_conn;

struct h2_header {
	char *name; /* lowercase */
	char *value;
};

struct h2_stream {
	struct h2_conn *conn;
	int32_t id;
	char *method;        /* server role: received; client role: what was sent */
	char *path;
	int status;          /* client role: the response status, 0 until received */
	struct h2_header headers[H2_HEADERS_MAX]; /* received, pseudo-headers excluded */
	size_t nheaders;
	size_t dropped_headers; /* received past H2_HEADERS_MAX */
	struct evbuffer *out;   /* body waiting to be sent */
	bool out_end;           /* the body ends once out drains */
	bool deferred;          /* nghttp2 waits for more body */
	bool closed;
	bool peer_ended;        /* the peer's END_STREAM came */
	bool sent_end;          /* ours went out (or was queued) */
	bool opening;           /* h2_request is still submitting it */
	bool manual_window;     /* received body is acknowledged by h2_stream_consume */
	size_t unconsumed;      /* received, not passed on yet */
	uint64_t passed;        /* received body passed on (acknowledged as it comes, or by hand) */
	uint64_t recv_frames;   /* received body in whole DATA frames */
	uint64_t acked;         /* window granted back on the stream */
	void *user;
};

/* close's error for a stream whose connection ended (lost, or closed by either side) while
 * it was open. Never sent: not an HTTP/2 code, so a relay passing it on maps it to one. */
#define H2_CONN_LOST 0xffffffffu

struct h2_callbacks {
	void (*request)(struct h2_stream *st, void *arg);  /* server: request headers complete */
	void (*response)(struct h2_stream *st, void *arg); /* client: response headers complete */
	void (*data)(struct h2_stream *st, const uint8_t *p, size_t n, void *arg);
	void (*end)(struct h2_stream *st, void *arg);      /* the peer's body is complete */
	/* n bytes of st's body left its out buffer for the connection (flow control allowed
	 * them): the moment a relay acknowledges as many on the stream it reads from. */
	void (*sent)(struct h2_stream *st, size_t n, void *arg);
	/* The stream is gone (finished or reset: error is the HTTP/2 error code, or H2_CONN_LOST
	 * when the connection ended under it); st is freed right after this returns. */
	void (*close)(struct h2_stream *st, uint32_t error, void *arg);
	void (*ping_ack)(struct h2_conn *c, void *arg);
	/* The connection failed or was closed by the peer; free it with h2_conn_free (now or
	 * later). Every open stream got its close callback before this. */
	void (*conn_closed)(struct h2_conn *c, void *arg);
};

/* Takes bev over (its callbacks are replaced) and sends this side's SETTINGS; bytes already
 * waiting in bev's input (e.g. after an Upgrade) are read at once. NULL on failure. */
struct h2_conn *h2_conn_new(struct bufferevent *bev, bool server, const struct h2_callbacks *cb,
			    void *arg);
/* Closes the socket; open streams get their close callback first. */
void h2_conn_free(struct h2_conn *c);
/* Bytes queued for the socket, not yet written: below H2_OUT_HIGH plus one frame (up to
 * H2_FRAME_MAX between two lib/h2 peers, 16 KiB to libcurl), however large the peer's windows
 * (libcurl opens 32 MiB ones), so a slow reader holds its streams' writers back instead of
 * this process's memory growing. */
size_t h2_conn_queued(const struct h2_conn *c);
int h2_conn_ping(struct h2_conn *c) B_MUST_CHECK;
size_t h2_conn_streams(const struct h2_conn *c);
void *h2_conn_arg(const struct h2_conn *c);

/* Client role: opens a stream. hdrs are regular headers (names lowercased here). With body
 * false the request ends with its headers; otherwise write the body with h2_stream_write
 * and finish with h2_stream_end. NULL when the stream cannot be opened. */
struct h2_stream *h2_request(struct h2_conn *c, const char *method, const char *path,
			     const struct h2_header *hdrs, size_t n, bool body, void *user);
/* Server role: answers st; body as for h2_request. */
int h2_respond(struct h2_stream *st, int status, const struct h2_header *hdrs, size_t n,
	       bool body) B_MUST_CHECK;
/* Shorthand: a whole response with a small body. */
int h2_respond_simple(struct h2_stream *st, int status, const char *content_type,
		      const char *body, size_t len) B_MUST_CHECK;
void h2_stream_write(struct h2_stream *st, const void *data, size_t len);
/* The same with len bytes taken from the front of from: whole buffer chains move, uncopied. */
void h2_stream_write_from(struct h2_stream *st, struct evbuffer *from, size_t len);
void h2_stream_end(struct h2_stream *st);
void h2_stream_reset(struct h2_stream *st, uint32_t error);
/* Flow control by the receiver. By default a received body is acknowledged as it arrives, so
 * a peer may send as fast as the data callback takes it. After h2_stream_manual_window (call
 * it before the body comes, e.g. in the request or response callback) the peer may have at
 * most H2_STREAM_WINDOW bytes unacknowledged on the stream: h2_stream_consume says n more
 * were passed on. The connection's window is acknowledged as bytes arrive all the same, so
 * streams whose readers stall (callers that stopped reading) never hold back the others on
 * the connection; what a connection holds is bounded by H2_STREAM_WINDOW per open stream.
 * Either way the window granted back stays aligned to H2_ACK_STEP. */
void h2_stream_manual_window(struct h2_stream *st);
void h2_stream_consume(struct h2_stream *st, size_t n);
/* A received header by lowercase name, or NULL. */
const char *h2_stream_header(const struct h2_stream *st, const char *name);

#endif
