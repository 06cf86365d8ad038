/* clock_test.c: wall-clock seconds and their RFC 3339 UTC form. */
#include "berth.h"
#include "clock.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>
#include <time.h>

Test(clock, epoch_is_1970)
{
	char out[RFC3339_LEN + 1];

	clock_rfc3339(0, out);
	cr_assert(eq(str, out, "1970-01-01T00:00:00Z"));
}

Test(clock, known_timestamp_formats_in_utc)
{
	char out[RFC3339_LEN + 1];

	clock_rfc3339(1795370400, out);
	cr_assert(eq(str, out, "2026-11-22T18:00:00Z"));
	clock_rfc3339(951782400, out); /* leap day */
	cr_assert(eq(str, out, "2000-02-29T00:00:00Z"));
}

Test(clock, output_is_rfc3339_len_characters)
{
	char out[RFC3339_LEN + 1];

	clock_rfc3339(clock_now(), out);
	cr_assert(eq(sz, strlen(out), (size_t)RFC3339_LEN), "got %s", out);
	cr_assert(eq(chr, out[10], 'T'));
	cr_assert(eq(chr, out[RFC3339_LEN - 1], 'Z'));
}

Test(clock, last_second_of_year_9999_still_fits)
{
	char out[RFC3339_LEN + 1];

	clock_rfc3339(253402300799LL, out);
	cr_assert(eq(str, out, "9999-12-31T23:59:59Z"));
}

Test(clock, year_past_9999_does_not_overflow_the_buffer)
{
	char out[RFC3339_LEN + 2];

	out[RFC3339_LEN + 1] = '#';
	clock_rfc3339(253402300800LL, out); /* 10000-01-01: would need 21 characters */
	cr_assert(eq(sz, strlen(out), (size_t)RFC3339_LEN), "got %s", out);
	cr_assert(eq(chr, out[RFC3339_LEN + 1], '#'), "wrote past the buffer");
}

Test(clock, now_is_the_system_time)
{
	int64_t before = (int64_t)time(NULL), now = clock_now(), after = (int64_t)time(NULL);

	cr_assert(ge(i64, now, before));
	cr_assert(le(i64, now, after));
}

Test(clock, milliseconds_become_a_timeval)
{
	struct timeval tv = clock_timeval_ms(2500);

	cr_assert(eq(long, (long)tv.tv_sec, 2L));
	cr_assert(eq(long, (long)tv.tv_usec, 500000L));
	tv = clock_timeval_ms(999);
	cr_assert(eq(long, (long)tv.tv_sec, 0L));
	cr_assert(eq(long, (long)tv.tv_usec, 999000L));
}
