/* lib/evread: a read callback takes what the socket holds in one read, past libevent 2.1's
 * 4096 bytes, within the read high watermark; EOF still reaches the event callback. */
#include "berth.h"
#include "evread.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <sys/ioctl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SENT (200 * 1024)

static struct {
	struct event_base *base;
	struct bufferevent *bev;
	int peer;
	size_t max;            /* evread_fill's argument */
	bool disable_first;    /* the first callback disables reading before its fill */
	size_t more_first;     /* the first callback has the peer send this much before its fill */
	size_t first_len;      /* the input's length after the first callback's fill */
	size_t filled;         /* what evread_fill returned then */
	size_t total;          /* all bytes taken */
	int callbacks;
	bool eof;
} t;

static void send_n(size_t n);

static void on_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	bool disable = t.disable_first && t.callbacks == 0;
	size_t n;

	(void)arg;
	if (disable)
		bufferevent_disable(bev, EV_READ);
	if (t.more_first && t.callbacks == 0) {
		send_n(t.more_first);
		close(t.peer);
		t.peer = -1;
	}
	n = evread_fill(bev, t.max);
	if (disable)
		bufferevent_enable(bev, EV_READ);
	if (t.callbacks++ == 0) {
		t.filled = n;
		t.first_len = evbuffer_get_length(in);
	}
	t.total += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)arg;
	if (what & BEV_EVENT_EOF) {
		t.eof = true;
		event_base_loopbreak(t.base);
	}
}

/* The peer sends n bytes (at most SENT). */
static void send_n(size_t n)
{
	static char data[SENT];

	memset(data, 'r', n);
	cr_assert(eq(sz, (size_t)write(t.peer, data, n), n));
}

static void setup(void)
{
	int sv[2];
	int big = 4 << 20;

	memset(&t, 0, sizeof(t));
	cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0));
	(void)setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	t.base = event_base_new();
	cr_assert(t.base != NULL);
	evutil_make_socket_nonblocking(sv[0]);
	t.bev = bufferevent_socket_new(t.base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(t.bev, on_read, NULL, on_event, NULL);
	bufferevent_enable(t.bev, EV_READ);
	t.peer = sv[1];
}

static void teardown(void)
{
	bufferevent_free(t.bev);
	if (t.peer >= 0)
		close(t.peer);
	event_base_free(t.base);
}

static void run_to_eof(void)
{
	struct timeval tv = {5, 0};

	if (!t.more_first) { /* else the first callback closes it */
		close(t.peer);
		t.peer = -1;
	}
	event_base_loopexit(t.base, &tv);
	event_base_dispatch(t.base);
}

TestSuite(evread, .init = setup, .fini = teardown);

Test(evread, the_first_callback_holds_all_the_socket_had)
{
	t.max = 256 * 1024;
	send_n(SENT);
	run_to_eof();
	cr_assert(eq(sz, t.first_len, SENT), "one wakeup, not one per 4096 bytes");
	cr_assert(eq(sz, t.filled, SENT - 4096), "libevent's own read took the first 4096");
	cr_assert(eq(sz, t.total, SENT));
	cr_assert(t.eof, "EOF is left for the bufferevent to report");
}

Test(evread, a_fill_takes_at_most_max)
{
	t.max = 10000;
	send_n(SENT);
	run_to_eof();
	cr_assert(eq(sz, t.filled, 10000));
	cr_assert(eq(sz, t.first_len, 4096 + 10000));
	cr_assert(eq(sz, t.total, SENT), "the rest comes in later callbacks");
	cr_assert(t.eof);
}

Test(evread, a_fill_stops_at_the_read_high_watermark)
{
	t.max = 256 * 1024;
	bufferevent_setwatermark(t.bev, EV_READ, 0, 50000);
	send_n(SENT);
	run_to_eof();
	cr_assert(eq(sz, t.first_len, 50000));
	cr_assert(eq(sz, t.total, SENT));
	cr_assert(t.eof);
}

Test(evread, nothing_is_read_while_reading_is_disabled)
{
	t.max = 256 * 1024;
	t.disable_first = true;
	send_n(SENT);
	run_to_eof();
	cr_assert(eq(sz, t.filled, 0));
	cr_assert(eq(sz, t.first_len, 4096), "only libevent's own read");
	cr_assert(eq(sz, t.total, SENT));
	cr_assert(t.eof);
}

Test(evread, a_tls_bufferevent_is_left_to_openssl)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	struct bufferevent *tls;
	int fd, queued = 0;

	cr_assert(ssl != NULL);
	send_n(SENT);
	fd = dup(bufferevent_getfd(t.bev));
	bufferevent_disable(t.bev, EV_READ);
	tls = bufferevent_openssl_socket_new(t.base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE);
	cr_assert(tls != NULL);
	bufferevent_enable(tls, EV_READ);
	cr_assert(eq(sz, evread_fill(tls, 256 * 1024), 0));
	cr_assert(eq(int, ioctl(fd, FIONREAD, &queued), 0));
	cr_assert(eq(int, queued, SENT), "the socket's bytes are still there for OpenSSL");
	bufferevent_free(tls);
	SSL_CTX_free(ctx);
}

Test(evread, a_short_read_is_not_followed_by_another)
{
	t.max = 256 * 1024;
	t.more_first = 5000; /* arrives after libevent's read, before the fill */
	send_n(100);
	run_to_eof();
	cr_assert(eq(sz, t.first_len, 100), "libevent's read found the socket drained");
	cr_assert(eq(sz, t.filled, 0));
	cr_assert(eq(sz, t.total, 5100), "the rest comes with the next wakeup");
	cr_assert(t.eof);
}
