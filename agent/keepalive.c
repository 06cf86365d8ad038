#include "berth.h"
#include "keepalive.h"
#include "clock.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct idle {
	struct idle *next;           /* newest first */
	struct bufferevent *bev;
	struct event *timer;
	char where[KEEPALIVE_WHERE_MAX];
};

static struct idle *pool;
static size_t count;

static void idle_unlink(struct idle *i)
{
	for (struct idle **p = &pool; *p; p = &(*p)->next) {
		if (*p == i) {
			*p = i->next;
			count--;
			return;
		}
	}
}

/* Out of the pool; its connection closed unless kept. */
static struct bufferevent *idle_remove(struct idle *i, bool keep)
{
	struct bufferevent *bev = i->bev;

	idle_unlink(i);
	event_free(i->timer);
	free(i);
	if (keep)
		return bev;
	bufferevent_free(bev);
	return NULL;
}

/* An idle connection has nothing to say: bytes, an end or an error all make it useless. */
static void idle_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	idle_remove(arg, false);
}

static void idle_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	idle_remove(arg, false);
}

static void idle_expired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	idle_remove(arg, false);
}

/* The oldest idle connection, to where when where is given. */
static struct idle *oldest(const char *where, size_t *n)
{
	struct idle *last = NULL;

	*n = 0;
	for (struct idle *i = pool; i; i = i->next) {
		if (where && strcmp(i->where, where) != 0)
			continue;
		last = i;
		(*n)++;
	}
	return last;
}

void keepalive_put(struct event_base *base, const char *where, struct bufferevent *bev)
{
	struct timeval tv = clock_timeval_ms(KEEPALIVE_IDLE_MS);
	struct idle *i, *old;
	size_t n;

	if (strlen(where) >= KEEPALIVE_WHERE_MAX) {
		bufferevent_free(bev);
		return;
	}
	/* room: the oldest to this address past its cap, else the oldest of all past the total */
	old = oldest(where, &n);
	if (n < KEEPALIVE_PER_ADDRESS)
		old = count >= KEEPALIVE_MAX ? oldest(NULL, &n) : NULL;
	if (old)
		idle_remove(old, false);
	i = calloc(1, sizeof(*i));
	if (!i)
		abort();
	i->bev = bev;
	snprintf(i->where, sizeof(i->where), "%s", where);
	i->timer = evtimer_new(base, idle_expired, i);
	if (!i->timer)
		abort();
	i->next = pool;
	pool = i;
	count++;
	bufferevent_setcb(bev, idle_read, NULL, idle_event, i);
	bufferevent_disable(bev, EV_WRITE);
	bufferevent_enable(bev, EV_READ);
	evtimer_add(i->timer, &tv);
}

/* Whether the other end may have closed since the loop last looked: a peek says. */
static bool still_open(struct bufferevent *bev)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	char c;
	ssize_t n;

	if (fd < 0 || evbuffer_get_length(bufferevent_get_input(bev)) ||
	    evbuffer_get_length(bufferevent_get_output(bev)))
		return false;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct bufferevent *keepalive_take(const char *where)
{
	struct idle *i = pool, *next;

	for (; i; i = next) {
		struct bufferevent *bev;

		next = i->next;
		if (strcmp(i->where, where) != 0)
			continue;
		bev = idle_remove(i, true);
		/* still reading, its write side disabled: the taker sets its callbacks before the
		 * loop looks again, and no epoll change is made */
		bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
		if (still_open(bev))
			return bev;
		bufferevent_free(bev);
	}
	return NULL;
}

void keepalive_close_all(void)
{
	while (pool)
		idle_remove(pool, false);
}

size_t keepalive_count(void)
{
	return count;
}
