/* clock.h: wall-clock seconds and their RFC 3339 UTC text form, the only time format of the API. */
#ifndef BERTH_CLOCK_H
#define BERTH_CLOCK_H

#include "berth.h"

#include <sys/time.h>
#include <time.h>

#define RFC3339_LEN 20 /* 2026-11-22T18:00:00Z */

int64_t clock_now(void);
/* Milliseconds of a monotonic clock: for deadlines and intervals, never for the API. */
int64_t clock_mono_ms(void);
/* ms milliseconds as a timeval, for libevent's timers. */
struct timeval clock_timeval_ms(long ms);
/* out[RFC3339_LEN + 1] gets t in UTC, seconds precision. */
void clock_rfc3339(int64_t t, char out[RFC3339_LEN + 1]);

#endif
