/* lib/evwrite: a plain socket bufferevent with its write side disabled writes at once; what
 * the socket does not take goes on from the loop, which gives the write side back when done;
 * a failed write is reported through the event callback; TLS keeps writing from the loop. */
#include "berth.h"
#include "evwrite.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define BIG (4 << 20) /* more than the socket pair holds */

static struct {
	struct event_base *base;
	struct bufferevent *bev;
	int peer;
	int write_callbacks;
	bool write_enabled_after; /* the write side, after the last write callback's evwrite_idle */
	short events;             /* what the event callback was told */
	size_t peer_read;         /* what the peer drained in the loop */
} t;

static void on_write(struct bufferevent *bev, void *arg)
{
	(void)arg;
	t.write_callbacks++;
	evwrite_idle(bev);
	t.write_enabled_after = (bufferevent_get_enabled(bev) & EV_WRITE) != 0;
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		event_base_loopbreak(t.base);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)arg;
	t.events |= what;
	event_base_loopbreak(t.base);
}

/* The peer reads whatever is there, each time the loop comes round. */
static void peer_drain(evutil_socket_t fd, short what, void *arg)
{
	char buf[65536];
	ssize_t n;

	(void)what;
	(void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		t.peer_read += (size_t)n;
}

static void setup(void)
{
	int sv[2];

	signal(SIGPIPE, SIG_IGN);
	memset(&t, 0, sizeof(t));
	cr_assert(eq(int, socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0));
	t.base = event_base_new();
	cr_assert(t.base != NULL);
	evutil_make_socket_nonblocking(sv[0]);
	evutil_make_socket_nonblocking(sv[1]);
	t.bev = bufferevent_socket_new(t.base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	cr_assert(t.bev != NULL);
	bufferevent_setcb(t.bev, NULL, on_write, on_event, NULL);
	bufferevent_enable(t.bev, EV_READ);
	bufferevent_disable(t.bev, EV_WRITE);
	t.peer = sv[1];
}

static void teardown(void)
{
	bufferevent_free(t.bev);
	if (t.peer >= 0)
		close(t.peer);
	event_base_free(t.base);
}

static size_t peer_queued(void)
{
	int n = 0;

	cr_assert(eq(int, ioctl(t.peer, FIONREAD, &n), 0));
	return (size_t)n;
}

static bool write_enabled(void)
{
	return (bufferevent_get_enabled(t.bev) & EV_WRITE) != 0;
}

TestSuite(evwrite, .init = setup, .fini = teardown);

Test(evwrite, a_plain_socket_writes_direct)
{
	cr_assert(evwrite_direct(t.bev));
}

Test(evwrite, a_push_writes_before_the_loop_runs)
{
	bufferevent_write(t.bev, "hello, ", 7);
	bufferevent_write(t.bev, "world", 5);
	cr_assert(eq(sz, peer_queued(), 0), "nothing left before the push");
	evwrite_push(t.bev, 1 << 20);
	cr_assert(eq(sz, peer_queued(), 12), "the output's front is unfrozen for the write");
	cr_assert(eq(sz, evbuffer_get_length(bufferevent_get_output(t.bev)), 0));
	cr_assert(write_enabled() == false, "all written: no write event armed");
}

Test(evwrite, a_push_writes_at_most_max)
{
	bufferevent_write(t.bev, "0123456789", 10);
	evwrite_push(t.bev, 4);
	cr_assert(eq(sz, peer_queued(), 4));
	cr_assert(write_enabled(), "the rest is left to the loop");
}

Test(evwrite, an_empty_output_changes_nothing)
{
	evwrite_push(t.bev, 1 << 20);
	cr_assert(write_enabled() == false);
	cr_assert(eq(sz, peer_queued(), 0));
}

Test(evwrite, what_the_socket_refuses_goes_from_the_loop_then_the_write_side_idles)
{
	static char data[BIG];
	struct event *drain = event_new(t.base, t.peer, EV_READ | EV_PERSIST, peer_drain, NULL);
	struct timeval tv = {10, 0};

	memset(data, 'w', sizeof(data));
	bufferevent_write(t.bev, data, sizeof(data));
	evwrite_push(t.bev, sizeof(data));
	cr_assert(gt(sz, evbuffer_get_length(bufferevent_get_output(t.bev)), 0),
		  "the socket pair holds less than %d bytes", BIG);
	cr_assert(write_enabled(), "the rest is the loop's");
	cr_assert(drain != NULL);
	event_add(drain, NULL);
	event_base_loopexit(t.base, &tv);
	event_base_dispatch(t.base);
	peer_drain(t.peer, EV_READ, NULL);
	event_free(drain);
	cr_assert(eq(sz, t.peer_read, (size_t)BIG), "every byte arrives, in order or not at all");
	cr_assert(gt(int, t.write_callbacks, 0));
	cr_assert(t.write_enabled_after == false, "drained, the write side is idle again");
	cr_assert(write_enabled() == false);
	bufferevent_write(t.bev, "again", 5);
	evwrite_push(t.bev, 1 << 20);
	cr_assert(eq(sz, peer_queued(), 5), "and the next push writes at once");
}

Test(evwrite, a_failed_write_is_reported_by_the_bufferevent)
{
	struct timeval tv = {5, 0};

	bufferevent_disable(t.bev, EV_READ); /* the EOF must not be what stops the loop */
	close(t.peer);
	t.peer = -1;
	bufferevent_write(t.bev, "lost", 4);
	evwrite_push(t.bev, 1 << 20);
	cr_assert(write_enabled(), "the error is left for the bufferevent's own write");
	event_base_loopexit(t.base, &tv);
	event_base_dispatch(t.base);
	cr_assert(0 != (t.events & BEV_EVENT_ERROR), "events 0x%x", t.events);
	cr_assert(0 != (t.events & BEV_EVENT_WRITING), "events 0x%x", t.events);
}

Test(evwrite, idle_leaves_a_write_side_with_bytes_to_go)
{
	bufferevent_enable(t.bev, EV_WRITE);
	bufferevent_write(t.bev, "pending", 7);
	evwrite_idle(t.bev);
	cr_assert(write_enabled());
}

Test(evwrite, a_tls_bufferevent_writes_from_the_loop)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = ctx ? SSL_new(ctx) : NULL;
	struct bufferevent *tls;
	int fd = dup(bufferevent_getfd(t.bev));

	cr_assert(ssl != NULL);
	tls = bufferevent_openssl_socket_new(t.base, fd, ssl, BUFFEREVENT_SSL_OPEN,
					     BEV_OPT_CLOSE_ON_FREE);
	cr_assert(tls != NULL);
	bufferevent_disable(tls, EV_WRITE);
	cr_assert(evwrite_direct(tls) == false);
	bufferevent_write(tls, "secret", 6);
	evwrite_push(tls, 1 << 20);
	cr_assert(eq(sz, peer_queued(), 0), "no plaintext on the socket");
	cr_assert(0 != (bufferevent_get_enabled(tls) & EV_WRITE), "OpenSSL writes it from the loop");
	evbuffer_drain(bufferevent_get_output(tls), 6);
	evwrite_idle(tls);
	cr_assert(0 != (bufferevent_get_enabled(tls) & EV_WRITE), "an empty TLS output idles not");
	bufferevent_free(tls);
	SSL_CTX_free(ctx);
}

Test(evwrite, a_filter_writes_from_the_loop)
{
	struct bufferevent *f = bufferevent_filter_new(t.bev, NULL, NULL, 0, NULL, NULL);

	cr_assert(f != NULL);
	cr_assert(evwrite_direct(f) == false, "its descriptor is the socket's, its bytes are not");
	bufferevent_free(f);
}

Test(evwrite, a_bufferevent_without_a_socket_waits_for_its_connect)
{
	struct bufferevent *b = bufferevent_socket_new(t.base, -1, BEV_OPT_CLOSE_ON_FREE);

	cr_assert(b != NULL);
	cr_assert(evwrite_direct(b) == false);
	bufferevent_disable(b, EV_WRITE);
	bufferevent_write(b, "head", 4);
	evwrite_push(b, 1 << 20);
	cr_assert(0 != (bufferevent_get_enabled(b) & EV_WRITE));
	bufferevent_free(b);
}
