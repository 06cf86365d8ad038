/* loop.c: the agent suites' event loop and bounded waits (loop.h). */
#include "berth.h"
#include "loop.h"

#include <time.h>

struct event_base *base;
static bool timed_out;

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	timed_out = true;
}

bool wait_for(bool (*done)(const void *), const void *arg, int ms)
{
	struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000};
	struct event *t = evtimer_new(base, on_timer, NULL);
	bool ok;

	timed_out = false;
	evtimer_add(t, &tv);
	while (!(ok = done && done(arg)) && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	return ok;
}

void run_for(int ms)
{
	wait_for(NULL, NULL, ms);
}
