#include "berth.h"
#include "evwrite.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

bool evwrite_direct(struct bufferevent *bev)
{
	/* a filter (TLS among them) passes its socket's descriptor through: its bytes are not
	 * the output's */
	return bufferevent_getfd(bev) >= 0 && !bufferevent_get_underlying(bev) &&
	       !bufferevent_openssl_get_ssl(bev);
}

void evwrite_push(struct bufferevent *bev, size_t max)
{
	struct evbuffer *out = bufferevent_get_output(bev);
	size_t left = evbuffer_get_length(out);

	if (left == 0)
		return;
	if (!(bufferevent_get_enabled(bev) & EV_WRITE) && evwrite_direct(bev)) {
		/* a socket bufferevent keeps its output's front frozen but for its own writes */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write_atmost(out, bufferevent_getfd(bev), (ev_ssize_t)max);
		evbuffer_freeze(out, 1);
		left = evbuffer_get_length(out);
	}
	if (left)
		bufferevent_enable(bev, EV_WRITE);
}

void evwrite_idle(struct bufferevent *bev)
{
	if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 && evwrite_direct(bev))
		bufferevent_disable(bev, EV_WRITE);
}
