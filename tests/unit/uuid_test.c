/* uuid_test.c: UUIDv7 generation (form, version, variant, ordering, timestamp) and uuid_valid. */
#include "berth.h"
#include "uuid.h"
#include "crypto.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void setup(void)
{
	cr_assert(eq(int, crypto_init(), B_OK));
}

TestSuite(uuid, .init = setup);

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(uuid, v7_is_valid_and_36_chars)
{
	char id[UUID_STR_LEN + 1];

	uuid_v7(id);
	cr_assert(eq(sz, strlen(id), (size_t)UUID_STR_LEN));
	cr_assert(uuid_valid(id), "uuid_v7 made %s", id);
}

Test(uuid, v7_has_version_7_and_variant_10)
{
	char id[UUID_STR_LEN + 1];

	for (int i = 0; i < 100; i++) {
		uuid_v7(id);
		cr_assert(eq(chr, id[14], '7'), "version nibble of %s", id);
		cr_assert(strchr("89ab", id[19]) != NULL, "variant nibble of %s is %c", id, id[19]);
	}
}

Test(uuid, thousand_ids_increase_strictly)
{
	char prev[UUID_STR_LEN + 1], cur[UUID_STR_LEN + 1];

	uuid_v7(prev);
	for (int i = 0; i < 1000; i++) {
		uuid_v7(cur);
		cr_assert(lt(int, strcmp(prev, cur), 0), "id %d: %s then %s", i, prev, cur);
		memcpy(prev, cur, sizeof(cur));
	}
}

Test(uuid, ids_increase_past_4096_in_one_millisecond)
{
	/* More ids than rand_a can count in one millisecond: the counter must roll into the next. */
	char prev[UUID_STR_LEN + 1], cur[UUID_STR_LEN + 1];

	uuid_v7(prev);
	for (int i = 0; i < 20000; i++) {
		uuid_v7(cur);
		cr_assert(lt(int, strcmp(prev, cur), 0), "id %d: %s then %s", i, prev, cur);
		cr_assert(uuid_valid(cur));
		memcpy(prev, cur, sizeof(cur));
	}
}

/* The last 12 hex digits are random bytes only (no clock, no counter). */
static const char *tail(const char *id)
{
	return id + UUID_STR_LEN - 12;
}

Test(uuid, random_parts_differ_across_pool_refills)
{
	enum { N = 200 }; /* randomness comes 16 ids to a pool: this spans a dozen refills */
	static char ids[N][UUID_STR_LEN + 1];

	for (int i = 0; i < N; i++) {
		uuid_v7(ids[i]);
		for (int j = 0; j < i; j++)
			cr_assert(strcmp(tail(ids[i]), tail(ids[j])) != 0, "ids %d and %d share %s", j,
				  i, tail(ids[i]));
	}
}

Test(uuid, a_forked_child_does_not_repeat_its_parents_randomness)
{
	char mine[UUID_STR_LEN + 1], theirs[UUID_STR_LEN + 1] = "";
	int fd[2];
	pid_t pid;
	int status;

	uuid_v7(mine); /* the pool now holds the bytes of the next 15 ids */
	cr_assert(eq(int, pipe(fd), 0));
	pid = fork();
	cr_assert(ge(int, pid, 0));
	if (pid == 0) {
		char id[UUID_STR_LEN + 1];

		uuid_v7(id);
		_exit(write(fd[1], id, UUID_STR_LEN) == UUID_STR_LEN ? 0 : 1);
	}
	cr_assert(eq(int, waitpid(pid, &status, 0), pid));
	cr_assert(eq(int, status, 0), "the child ended with status %d", status);
	cr_assert(eq(sz, (size_t)read(fd[0], theirs, UUID_STR_LEN), (size_t)UUID_STR_LEN));
	close(fd[0]);
	close(fd[1]);
	uuid_v7(mine);
	cr_assert(strcmp(tail(mine), tail(theirs)) != 0, "parent and child both made ...%s",
		  tail(mine));
}

Test(uuid, v7_millis_is_close_to_now)
{
	char id[UUID_STR_LEN + 1];
	uint64_t before = now_ms(), ms, after;

	uuid_v7(id);
	after = now_ms();
	ms = uuid_v7_millis(id);
	cr_assert(ge(u64, ms + 2000, before), "%s", id);
	cr_assert(le(u64, ms, after + 2000), "%s", id);
}

Test(uuid, v7_millis_reads_the_timestamp_field)
{
	cr_assert(eq(u64, uuid_v7_millis("0192a3b4-c5d6-7abc-8def-0123456789ab"),
		     (uint64_t)0x0192a3b4c5d6ULL));
}

Test(uuid, v7_millis_is_zero_for_other_versions_and_invalid)
{
	cr_assert(eq(u64, uuid_v7_millis("0192a3b4-c5d6-4abc-8def-0123456789ab"), 0));
	cr_assert(eq(u64, uuid_v7_millis("not-a-uuid"), 0));
	cr_assert(eq(u64, uuid_v7_millis(NULL), 0));
}

Test(uuid, valid_accepts_lowercase_any_version)
{
	cr_assert(uuid_valid("019abc12-3456-7890-abcd-ef1234567890"));
	cr_assert(uuid_valid("00000000-0000-0000-0000-000000000000"));
	cr_assert(uuid_valid("f47ac10b-58cc-4372-a567-0e02b2c3d479"));
}

Test(uuid, valid_rejects_35_and_37_chars)
{
	cr_assert(not(uuid_valid("019abc12-3456-7890-abcd-ef123456789")));
	cr_assert(not(uuid_valid("019abc12-3456-7890-abcd-ef12345678901")));
}

Test(uuid, valid_rejects_uppercase)
{
	cr_assert(not(uuid_valid("019ABC12-3456-7890-ABCD-EF1234567890")));
	cr_assert(not(uuid_valid("019abc12-3456-7890-abcd-ef123456789A")));
}

Test(uuid, valid_rejects_misplaced_or_missing_dashes)
{
	cr_assert(not(uuid_valid("019abc1-23456-7890-abcd-ef1234567890")));
	cr_assert(not(uuid_valid("019abc12_3456_7890_abcd_ef1234567890")));
	cr_assert(not(uuid_valid("019abc1234567890abcdef1234567890")));
	cr_assert(not(uuid_valid("019abc12-3456-7890-abcd-ef12345678-0")));
}

Test(uuid, valid_rejects_non_hex_empty_and_null)
{
	cr_assert(not(uuid_valid("019abc12-3456-7890-abcd-ef123456789g")));
	cr_assert(not(uuid_valid("{19abc12-3456-7890-abcd-ef1234567890")));
	cr_assert(not(uuid_valid("")));
	cr_assert(not(uuid_valid(NULL)));
}

Test(uuid, valid_rejects_embedded_nul)
{
	static const char s[UUID_STR_LEN + 1] = "019abc12-3456-7890-abcd-ef12\0" "4567890";

	cr_assert(not(uuid_valid(s)));
}
