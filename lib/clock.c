#include "berth.h"
#include "clock.h"

#include <stdio.h>

int64_t clock_now(void)
{
	return (int64_t)time(NULL);
}

void clock_rfc3339(int64_t t, char out[RFC3339_LEN + 1])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) ||
	    strftime(out, RFC3339_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) != RFC3339_LEN)
		snprintf(out, RFC3339_LEN + 1, "1970-01-01T00:00:00Z");
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct timeval clock_timeval_ms(long ms)
{
	return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}
