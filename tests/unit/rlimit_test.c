/* rlimit_test.c: the descriptor limit a connection-heavy process asks for, and the freed
 * memory its heap keeps. */
#include "berth.h"
#include "rlimit.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

Test(rlimit, the_soft_limit_rises_to_the_hard_one)
{
	struct rlimit rl;

	cr_assert(eq(int, getrlimit(RLIMIT_NOFILE, &rl), 0));
	if (rl.rlim_max <= 64)
		cr_skip_test("the hard limit leaves no room to test");
	rl.rlim_cur = 64;
	cr_assert(eq(int, setrlimit(RLIMIT_NOFILE, &rl), 0));
	rlimit_nofile_max();
	cr_assert(eq(int, getrlimit(RLIMIT_NOFILE, &rl), 0));
	cr_assert(eq(u64, (uint64_t)rl.rlim_cur, (uint64_t)rl.rlim_max));
}

Test(rlimit, a_soft_limit_at_the_hard_one_stays)
{
	struct rlimit before, after;

	cr_assert(eq(int, getrlimit(RLIMIT_NOFILE, &before), 0));
	before.rlim_cur = before.rlim_max;
	cr_assert(eq(int, setrlimit(RLIMIT_NOFILE, &before), 0));
	rlimit_nofile_max();
	cr_assert(eq(int, getrlimit(RLIMIT_NOFILE, &after), 0));
	cr_assert(eq(u64, (uint64_t)after.rlim_cur, (uint64_t)before.rlim_cur));
	cr_assert(eq(u64, (uint64_t)after.rlim_max, (uint64_t)before.rlim_max));
}

/* glibc's allocator only: ASan brings its own, which mallinfo2 does not describe. */
#ifndef BERTH_ASAN
Test(rlimit, a_freed_buffer_chain_stays_in_the_heap)
{
	size_t chain = (size_t)512 * 1024; /* the largest evbuffer chain a bulk stream makes */
	struct mallinfo2 before, held, after;
	char *p;

	rlimit_heap_keep();
	before = mallinfo2();
	p = malloc(chain);
	cr_assert(p != NULL);
	memset(p, 1, chain);
	held = mallinfo2();
	cr_assert(eq(sz, held.hblkhd, before.hblkhd), "not a mapping of its own");
	cr_assert(ge(sz, held.arena, before.arena + chain), "from the heap");
	free(p);
	after = mallinfo2();
	cr_assert(eq(sz, after.arena, held.arena), "the heap is not trimmed on free");
	cr_assert(ge(sz, after.fordblks, chain), "the chain is free for the next one");
}
#endif
