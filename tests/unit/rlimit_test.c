/* rlimit_test.c: the descriptor limit a connection-heavy process asks for. */
#include "berth.h"
#include "rlimit.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
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
