/* keepalive.h: the agent's idle HTTP/1.1 connections to containers, by address, so a call
 * reuses one instead of connecting (and costing the container a new connection: for a
 * fork-per-connection server, milliseconds). An idle connection is watched: the container
 * closing it, or sending anything unasked, drops it; so does KEEPALIVE_IDLE_MS without use,
 * shorter than the idle timeouts of common servers (uvicorn and Node.js: 5 s), which keeps
 * the race of a container closing a connection just as it is reused rare. Single-threaded:
 * the agent's event loop only. */
#ifndef BERTH_KEEPALIVE_H
#define BERTH_KEEPALIVE_H

#include "berth.h"

#include <event2/bufferevent.h>
#include <event2/event.h>

#define KEEPALIVE_IDLE_MS 2000       /* an idle connection is closed after this */
#define KEEPALIVE_PER_ADDRESS 64     /* idle connections kept per address, as nginx's default */
#define KEEPALIVE_MAX 1024           /* idle connections kept in all */
#define KEEPALIVE_WHERE_MAX 80       /* "[v6 address]:port" */

/* Keeps bev (connected to where, "host:port", its answer complete, nothing unread or
 * unwritten) for reuse, or frees it when the pool is full. The pool owns it either way. */
void keepalive_put(struct event_base *base, const char *where, struct bufferevent *bev);
/* The most recently kept live connection to where, now the caller's, or NULL. It is still
 * reading, with no callbacks: the caller sets its own before the loop runs again. Its write
 * side is disabled (evwrite.h). */
struct bufferevent *keepalive_take(const char *where);
/* Closes every idle connection: the agent (or a test) is ending its event loop. */
void keepalive_close_all(void);
/* Idle connections kept now, for tests and metrics. */
size_t keepalive_count(void);

#endif
