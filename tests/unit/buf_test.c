/* buf_test.c: the growable buffer: appends, growth, the maximum set at creation, detach, reset. */
#include "berth.h"
#include "buf.h"
#include "berth_limits.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>

#define SMALL_MAX 16

Test(buf, add_exactly_to_max_is_accepted)
{
	struct buf b;
	char data[SMALL_MAX];

	memset(data, 'x', sizeof(data));
	buf_init(&b, SMALL_MAX);
	cr_assert(eq(int, buf_add(&b, data, SMALL_MAX), B_OK));
	cr_assert(eq(sz, b.len, (size_t)SMALL_MAX));
	cr_assert(eq(sz, strlen(buf_str(&b)), (size_t)SMALL_MAX));
	buf_free(&b);
}

Test(buf, add_one_past_max_fails_and_leaves_buffer_unchanged)
{
	struct buf b;
	char data[SMALL_MAX + 1];

	memset(data, 'y', sizeof(data));
	buf_init(&b, SMALL_MAX);
	cr_assert(eq(int, buf_add(&b, "abc", 3), B_OK));
	cr_assert(eq(int, buf_add(&b, data, SMALL_MAX - 3 + 1), B_ETOOBIG));
	cr_assert(eq(sz, b.len, (size_t)3));
	cr_assert(eq(str, (char *)buf_str(&b), "abc"));
	buf_free(&b);
}

Test(buf, single_add_larger_than_max_on_empty_buffer_fails)
{
	struct buf b;
	char data[SMALL_MAX + 1];

	memset(data, 'z', sizeof(data));
	buf_init(&b, SMALL_MAX);
	cr_assert(eq(int, buf_add(&b, data, sizeof(data)), B_ETOOBIG));
	cr_assert(eq(sz, b.len, (size_t)0));
	cr_assert(eq(str, (char *)buf_str(&b), ""));
	buf_free(&b);
}

Test(buf, filling_to_max_one_byte_at_a_time_then_one_more_fails)
{
	struct buf b;

	buf_init(&b, SMALL_MAX);
	for (int i = 0; i < SMALL_MAX; i++)
		cr_assert(eq(int, buf_add(&b, "q", 1), B_OK), "append %d of %d", i + 1, SMALL_MAX);
	cr_assert(eq(int, buf_add(&b, "q", 1), B_ETOOBIG));
	cr_assert(eq(sz, b.len, (size_t)SMALL_MAX));
	cr_assert(eq(sz, strlen(buf_str(&b)), (size_t)SMALL_MAX));
	buf_free(&b);
}

Test(buf, addf_exactly_to_max_is_accepted_and_one_past_is_refused)
{
	struct buf b;

	buf_init(&b, 5);
	cr_assert(eq(int, buf_addf(&b, "%d", 12345), B_OK));
	cr_assert(eq(str, (char *)buf_str(&b), "12345"));
	buf_reset(&b);
	cr_assert(eq(int, buf_addf(&b, "%s", "ab"), B_OK));
	cr_assert(eq(int, buf_addf(&b, "%d", 1234), B_ETOOBIG));
	cr_assert(eq(str, (char *)buf_str(&b), "ab"));
	cr_assert(eq(sz, b.len, (size_t)2));
	buf_free(&b);
}

Test(buf, addstr_one_past_max_fails_and_leaves_buffer_unchanged)
{
	struct buf b;

	buf_init(&b, 4);
	cr_assert(eq(int, buf_addstr(&b, "ab"), B_OK));
	cr_assert(eq(int, buf_addstr(&b, "cde"), B_ETOOBIG));
	cr_assert(eq(str, (char *)buf_str(&b), "ab"));
	cr_assert(eq(int, buf_addstr(&b, "cd"), B_OK));
	cr_assert(eq(str, (char *)buf_str(&b), "abcd"));
	buf_free(&b);
}

Test(buf, zero_max_accepts_only_empty_adds)
{
	struct buf b;

	buf_init(&b, 0);
	cr_assert(eq(int, buf_add(&b, "", 0), B_OK));
	cr_assert(eq(int, buf_add(&b, "a", 1), B_ETOOBIG));
	cr_assert(eq(str, (char *)buf_str(&b), ""));
	buf_free(&b);
}

Test(buf, huge_length_does_not_wrap_past_max)
{
	struct buf b;

	buf_init(&b, SMALL_MAX);
	cr_assert(eq(int, buf_add(&b, "a", 1), B_OK));
	cr_assert(eq(int, buf_add(&b, "b", SIZE_MAX), B_ETOOBIG));
	cr_assert(eq(str, (char *)buf_str(&b), "a"));
	buf_free(&b);
}

Test(buf, str_of_never_added_buffer_is_empty_string)
{
	struct buf b;

	buf_init(&b, SMALL_MAX);
	cr_assert(eq(str, (char *)buf_str(&b), ""));
	cr_assert(eq(sz, b.len, (size_t)0));
	buf_free(&b);
}

Test(buf, add_addstr_addf_append_in_order)
{
	struct buf b;

	buf_init(&b, BODY_MAX);
	cr_assert(eq(int, buf_add(&b, "ab", 2), B_OK));
	cr_assert(eq(int, buf_addstr(&b, "cd"), B_OK));
	cr_assert(eq(int, buf_addf(&b, "-%d-%s-%zu", 42, "x", (size_t)7), B_OK));
	cr_assert(eq(str, (char *)buf_str(&b), "abcd-42-x-7"));
	cr_assert(eq(sz, b.len, strlen("abcd-42-x-7")));
	buf_free(&b);
}

Test(buf, add_keeps_nul_bytes_and_terminates)
{
	struct buf b;
	static const char data[] = {'a', '\0', 'b'};

	buf_init(&b, SMALL_MAX);
	cr_assert(eq(int, buf_add(&b, data, sizeof(data)), B_OK));
	cr_assert(eq(sz, b.len, sizeof(data)));
	cr_assert(eq(int, memcmp(b.p, data, sizeof(data)), 0));
	cr_assert(eq(int, b.p[b.len], '\0'), "data is followed by a NUL");
	buf_free(&b);
}

Test(buf, many_appends_grow_and_keep_every_byte)
{
	struct buf b;
	const int n = 100000;

	buf_init(&b, BODY_MAX);
	for (int i = 0; i < n; i++) {
		char c = (char)('a' + i % 26);

		cr_assert(eq(int, buf_add(&b, &c, 1), B_OK), "append %d", i);
	}
	cr_assert(eq(sz, b.len, (size_t)n));
	cr_assert(ge(sz, b.cap, (size_t)n + 1));
	for (int i = 0; i < n; i++)
		if (b.p[i] != (char)('a' + i % 26))
			cr_assert(eq(chr, b.p[i], (char)('a' + i % 26)), "byte %d", i);
	cr_assert(eq(int, b.p[n], '\0'));
	buf_free(&b);
}

Test(buf, addf_output_longer_than_first_allocation_is_complete)
{
	struct buf b;
	char big[1000];

	memset(big, 'k', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, BODY_MAX);
	cr_assert(eq(int, buf_addstr(&b, "<"), B_OK));
	cr_assert(eq(int, buf_addf(&b, "%s>", big), B_OK));
	cr_assert(eq(sz, b.len, sizeof(big) + 1));
	cr_assert(eq(int, b.p[0], '<'));
	cr_assert(eq(int, b.p[b.len - 1], '>'));
	cr_assert(eq(int, b.p[500], 'k'));
	buf_free(&b);
}

Test(buf, detach_hands_over_data_and_leaves_buffer_empty)
{
	struct buf b;
	char *p;

	buf_init(&b, SMALL_MAX);
	cr_assert(eq(int, buf_addstr(&b, "hello"), B_OK));
	p = buf_detach(&b);
	cr_assert(eq(str, p, "hello"));
	cr_assert(eq(sz, b.len, (size_t)0));
	cr_assert(eq(ptr, b.p, NULL));
	cr_assert(eq(str, (char *)buf_str(&b), ""));
	cr_assert(eq(sz, b.max, (size_t)SMALL_MAX), "max survives detach");
	free(p);
	buf_free(&b);
}

Test(buf, detach_of_empty_buffer_returns_freeable_empty_string)
{
	struct buf b;
	char *p;

	buf_init(&b, SMALL_MAX);
	p = buf_detach(&b);
	cr_assert(ne(ptr, p, NULL));
	cr_assert(eq(str, p, ""));
	free(p);
}

Test(buf, reset_empties_and_buffer_is_reusable)
{
	struct buf b;

	buf_init(&b, SMALL_MAX);
	cr_assert(eq(int, buf_addstr(&b, "0123456789"), B_OK));
	buf_reset(&b);
	cr_assert(eq(sz, b.len, (size_t)0));
	cr_assert(eq(str, (char *)buf_str(&b), ""));
	cr_assert(eq(int, buf_addstr(&b, "0123456789abcdef"), B_OK), "the whole max is free again");
	cr_assert(eq(str, (char *)buf_str(&b), "0123456789abcdef"));
	buf_free(&b);
}

Test(buf, free_keeps_max_and_buffer_is_reusable)
{
	struct buf b;

	buf_init(&b, SMALL_MAX);
	cr_assert(eq(int, buf_addstr(&b, "abc"), B_OK));
	buf_free(&b);
	cr_assert(eq(sz, b.max, (size_t)SMALL_MAX));
	cr_assert(eq(str, (char *)buf_str(&b), ""));
	cr_assert(eq(int, buf_addstr(&b, "xyz"), B_OK));
	cr_assert(eq(str, (char *)buf_str(&b), "xyz"));
	buf_free(&b);
}
