/* arena_test.c: the per-request bump allocator: zeroed aligned memory, big blocks, string
 * helpers, cleanups in reverse order at reset, reuse after reset. */
#include "berth.h"
#include "arena.h"
#include "berth_limits.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 16                 /* arena.h: "aligned for any type" */
#define BIG_BLOCK (4 * 1024)     /* arena.c gives blocks over a quarter chunk their own chunk */

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

Test(arena, zero_byte_allocation_returns_distinct_usable_pointers)
{
	struct arena a;
	void *p, *q;

	arena_init(&a);
	p = arena_alloc(&a, 0);
	q = arena_alloc(&a, 0);
	cr_assert(ne(ptr, p, NULL));
	cr_assert(ne(ptr, q, NULL));
	cr_assert(ne(ptr, p, q));
	arena_reset(&a);
}

Test(arena, allocations_are_zeroed_and_16_aligned)
{
	struct arena a;

	arena_init(&a);
	for (size_t n = 1; n <= 200; n++) {
		unsigned char *p = arena_alloc(&a, n);

		cr_assert(eq(u64, (uint64_t)((uintptr_t)p % ALIGN), 0), "size %zu at %p", n, (void *)p);
		cr_assert(all_zero(p, n), "size %zu is not zeroed", n);
		memset(p, 0xa5, n);
	}
	arena_reset(&a);
}

Test(arena, many_allocations_do_not_overlap)
{
	struct arena a;
	enum { N = 5000, SZ = 40 };
	unsigned char *ptrs[N];

	arena_init(&a);
	for (int i = 0; i < N; i++) {
		ptrs[i] = arena_alloc(&a, SZ);
		memset(ptrs[i], i & 0xff, SZ);
	}
	for (int i = 0; i < N; i++)
		for (int j = 0; j < SZ; j++)
			if (ptrs[i][j] != (unsigned char)(i & 0xff))
				cr_assert(eq(int, ptrs[i][j], i & 0xff), "allocation %d byte %d", i, j);
	arena_reset(&a);
}

Test(arena, block_at_big_threshold_is_zeroed_and_aligned)
{
	struct arena a;
	unsigned char *p;

	arena_init(&a);
	p = arena_alloc(&a, BIG_BLOCK);
	cr_assert(eq(u64, (uint64_t)((uintptr_t)p % ALIGN), 0));
	cr_assert(all_zero(p, BIG_BLOCK));
	memset(p, 1, BIG_BLOCK);
	arena_reset(&a);
}

Test(arena, big_allocation_is_zeroed_aligned_and_small_ones_keep_working)
{
	struct arena a;
	unsigned char *small1, *big, *huge, *small2;

	arena_init(&a);
	small1 = arena_alloc(&a, 10);
	memset(small1, 0x11, 10);
	big = arena_alloc(&a, BIG_BLOCK + 1);
	huge = arena_alloc(&a, BODY_MAX);
	small2 = arena_alloc(&a, 10);
	cr_assert(eq(u64, (uint64_t)((uintptr_t)big % ALIGN), 0));
	cr_assert(eq(u64, (uint64_t)((uintptr_t)huge % ALIGN), 0));
	cr_assert(all_zero(big, BIG_BLOCK + 1));
	cr_assert(all_zero(huge, BODY_MAX));
	cr_assert(all_zero(small2, 10));
	memset(big, 0x22, BIG_BLOCK + 1);
	memset(huge, 0x33, BODY_MAX);
	memset(small2, 0x44, 10);
	cr_assert(eq(int, small1[9], 0x11), "big blocks do not overwrite earlier allocations");
	cr_assert(eq(int, big[BIG_BLOCK], 0x22));
	cr_assert(eq(int, huge[0], 0x33));
	arena_reset(&a);
}

Test(arena, big_allocation_as_first_allocation)
{
	struct arena a;
	unsigned char *big, *small;

	arena_init(&a);
	big = arena_alloc(&a, 3 * BIG_BLOCK);
	small = arena_alloc(&a, 32);
	cr_assert(all_zero(big, 3 * BIG_BLOCK));
	cr_assert(all_zero(small, 32));
	memset(big, 0x55, 3 * BIG_BLOCK);
	memset(small, 0x66, 32);
	cr_assert(eq(int, big[3 * BIG_BLOCK - 1], 0x55));
	arena_reset(&a);
}

Test(arena, strdup_copies_the_string)
{
	struct arena a;
	char src[] = "hello";
	char *p;

	arena_init(&a);
	p = arena_strdup(&a, src);
	src[0] = 'j';
	cr_assert(eq(str, p, "hello"));
	cr_assert(eq(str, arena_strdup(&a, ""), ""));
	arena_reset(&a);
}

Test(arena, strndup_stops_at_n_and_terminates)
{
	struct arena a;

	arena_init(&a);
	cr_assert(eq(str, arena_strndup(&a, "abcdef", 3), "abc"));
	cr_assert(eq(str, arena_strndup(&a, "abcdef", 0), ""));
	cr_assert(eq(str, arena_strndup(&a, "abcdef", 6), "abcdef"));
	arena_reset(&a);
}

Test(arena, printf_formats_short_and_long_output)
{
	struct arena a;
	char big[BIG_BLOCK * 2];
	char *p;

	arena_init(&a);
	cr_assert(eq(str, arena_printf(&a, "%s-%d-%zu", "x", -3, (size_t)42), "x--3-42"));
	cr_assert(eq(str, arena_printf(&a, "%s", ""), ""));
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	p = arena_printf(&a, "[%s]", big);
	cr_assert(eq(sz, strlen(p), sizeof(big) + 1));
	cr_assert(eq(chr, p[0], '['));
	cr_assert(eq(chr, p[sizeof(big)], ']'));
	arena_reset(&a);
}

static int order[8];
static int norder;

static void record(void *p)
{
	order[norder++] = *(int *)p;
}

Test(arena, deferred_cleanups_run_last_registered_first)
{
	struct arena a;
	static int ids[] = {1, 2, 3};

	arena_init(&a);
	for (size_t i = 0; i < B_ARRAY_LEN(ids); i++)
		arena_defer(&a, record, &ids[i]);
	cr_assert(eq(int, norder, 0), "nothing runs before reset");
	arena_reset(&a);
	cr_assert(eq(int, norder, 3));
	cr_assert(eq(int, order[0], 3));
	cr_assert(eq(int, order[1], 2));
	cr_assert(eq(int, order[2], 1));
}

Test(arena, deferred_cleanup_runs_once)
{
	struct arena a;
	static int id = 7;

	arena_init(&a);
	arena_defer(&a, record, &id);
	arena_reset(&a);
	arena_reset(&a);
	cr_assert(eq(int, norder, 1));
}

static void free_it(void *p)
{
	free(p);
}

Test(arena, deferred_cleanup_can_free_heap_memory)
{
	struct arena a;
	char *heap = malloc(100);

	cr_assert(ne(ptr, heap, NULL));
	arena_init(&a);
	arena_defer(&a, free_it, heap);
	arena_reset(&a);
	cr_assert(eq(ptr, a.cleanups, NULL));
}

Test(arena, reset_arena_is_reusable)
{
	struct arena a;
	static int id = 9;
	char *p;

	arena_init(&a);
	(void)arena_alloc(&a, 100);
	(void)arena_alloc(&a, BIG_BLOCK * 2);
	arena_reset(&a);
	cr_assert(eq(ptr, a.chunks, NULL));
	p = arena_strdup(&a, "again");
	cr_assert(eq(str, p, "again"));
	cr_assert(all_zero(arena_alloc(&a, 64), 64));
	arena_defer(&a, record, &id);
	arena_reset(&a);
	cr_assert(eq(int, norder, 1));
	cr_assert(eq(int, order[0], 9));
}
