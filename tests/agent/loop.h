/* loop.h: what the agent suites (proxy_test, upstream_test) share: one event loop, run in
 * steps until a condition holds or a deadline passes, so no wait is unbounded. */
#ifndef BERTH_TEST_LOOP_H
#define BERTH_TEST_LOOP_H

#include "berth.h"

#include <event2/event.h>

extern struct event_base *base;   /* the suite's init makes it, its fini frees it */

/* Seconds of a monotonic clock. */
double now_s(void);
/* Runs the loop until done(arg) (NULL: never) or ms pass; whether done came. */
bool wait_for(bool (*done)(const void *), const void *arg, int ms);
void run_for(int ms);

#endif
