#include "berth.h"
#include "evread.h"

#include <errno.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#define EVREAD_LIBEVENT_MAX 4096 /* EVBUFFER_MAX_READ in libevent 2.1's buffer.c */

/* One readv into the space reserved at in's end; the bytes read, 0 on EOF, EAGAIN or error. */
static size_t read_into(struct evbuffer *in, evutil_socket_t fd, size_t max)
{
	struct evbuffer_iovec v[2];
	struct iovec io[2];
	size_t left = max;
	ssize_t n;
	int k = evbuffer_reserve_space(in, (ev_ssize_t)max, v, 2);

	if (k <= 0)
		return 0;
	for (int i = 0; i < k; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
		io[i].iov_base = v[i].iov_base;
		io[i].iov_len = v[i].iov_len;
	}
	do
		n = readv(fd, io, k);
	while (n < 0 && errno == EINTR);
	if (n <= 0) {
		(void)evbuffer_commit_space(in, v, 0);
		return 0;
	}
	left = (size_t)n;
	for (int i = 0; i < k; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	/* only the vectors the read reached are committed */
	return evbuffer_commit_space(in, v, v[k - 1].iov_len ? k : 1) ? 0 : (size_t)n;
}

size_t evread_fill(struct bufferevent *bev, size_t max)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t high = 0, have = evbuffer_get_length(in), n;

	/* a TLS bufferevent's socket holds records for OpenSSL, not the bytes its input wants */
	if (fd < 0 || !(bufferevent_get_enabled(bev) & EV_READ) || bufferevent_openssl_get_ssl(bev))
		return 0;
	(void)bufferevent_getwatermark(bev, EV_READ, NULL, &high);
	if (high) {
		if (have >= high)
			return 0;
		if (max > high - have)
			max = high - have;
	}
	/* libevent's own read took less than its 4096: the socket had no more a moment ago */
	if (max == 0 || have < EVREAD_LIBEVENT_MAX)
		return 0;
	/* a socket bufferevent freezes its input's end between its own reads */
	evbuffer_unfreeze(in, 0);
	n = read_into(in, fd, max);
	evbuffer_freeze(in, 0);
	return n;
}
