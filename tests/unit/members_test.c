/* members_test.c: acct_member_list, acct_member_set_role and acct_member_remove: the list of a
 * team's people, and the rules on changing them (never the owner, never yourself, never
 * another team's user), on a migrated database in a temporary directory. */
#include "berth.h"
#include "acct.h"
#include "clock.h"
#include "crypto.h"
#include "log.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

static char dir[PATH_MAX];
static struct store *st;

/* Team alpha: owner, admin, member, viewer (joined in that order). Team beta: stranger. */
static char alpha[UUID_STR_LEN + 1], beta[UUID_STR_LEN + 1];
static char owner[UUID_STR_LEN + 1], admin[UUID_STR_LEN + 1], member[UUID_STR_LEN + 1],
	viewer[UUID_STR_LEN + 1], stranger[UUID_STR_LEN + 1];

static void join(const char *team, const char *email, enum role role, char id[UUID_STR_LEN + 1])
{
	struct berr e = {0};

	cr_assert(eq(int, acct_user_add(st, email, NULL, id, &e), B_OK), "%s: %s", email, e.message);
	cr_assert(eq(int, acct_member_add(st, team, id, role, &e), B_OK), "%s: %s", email, e.message);
}

static void setup(void)
{
	char db[PATH_MAX + 16];
	struct berr e = {0};

	cr_assert(eq(int, crypto_init(), B_OK));
	log_init("members_test", false, LOG_WARN, NULL);
	snprintf(dir, sizeof(dir), "/tmp/berth-members-XXXXXX");
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(db, sizeof(db), "%s/berth.db", dir);
	cr_assert(eq(int, store_open(db, &st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_migrate(st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_team_add(st, "alpha", alpha, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_team_add(st, "beta", beta, &e), B_OK), "%s", e.message);
	join(alpha, "owner@example.com", ROLE_OWNER, owner);
	join(alpha, "admin@example.com", ROLE_ADMIN, admin);
	join(alpha, "member@example.com", ROLE_MEMBER, member);
	join(alpha, "viewer@example.com", ROLE_VIEWER, viewer);
	join(beta, "stranger@example.com", ROLE_MEMBER, stranger);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	store_close(st);
	st = NULL;
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(members, .init = setup, .fini = teardown);

static enum role role_of(const char *team, const char *user)
{
	struct berr e = {0};
	enum role r;

	cr_assert(eq(int, acct_member_role(st, team, user, &r, &e), B_OK), "%s", e.message);
	return r;
}

static cJSON *list(const char *team, int64_t offset, int64_t limit, long *total)
{
	cJSON *a = cJSON_CreateArray();
	struct berr e = {0};

	cr_assert(eq(int, acct_member_list(st, team, offset, limit, a, total, &e), B_OK), "%s",
		  e.message);
	return a;
}

static const char *text(const cJSON *a, int i, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, i), name);

	cr_assert(cJSON_IsString(v), "item %d: %s is not a string", i, name);
	return v->valuestring;
}

Test(members, list_gives_every_member_with_email_role_and_join_time)
{
	static const char *const emails[] = {"owner@example.com", "admin@example.com",
					     "member@example.com", "viewer@example.com"};
	static const char *const roles[] = {"owner", "admin", "member", "viewer"};
	const char *ids[] = {owner, admin, member, viewer};
	long total = -1;
	cJSON *a = list(alpha, 0, 20, &total);

	cr_assert(eq(long, total, 4));
	cr_assert(eq(int, cJSON_GetArraySize(a), 4));
	for (int i = 0; i < 4; i++) {
		cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetArrayItem(a, i)), 4), "exactly 4 fields");
		cr_assert(eq(str, (char *)text(a, i, "user_id"), (char *)ids[i]));
		cr_assert(eq(str, (char *)text(a, i, "email_address"), (char *)emails[i]));
		cr_assert(eq(str, (char *)text(a, i, "role"), (char *)roles[i]));
		cr_assert(eq(int, (int)strlen(text(a, i, "created_at")), RFC3339_LEN));
	}
	cJSON_Delete(a);
}

Test(members, list_is_paged_and_past_the_end_is_empty_with_the_total)
{
	long total;
	cJSON *a = list(alpha, 1, 2, &total);

	cr_assert(eq(int, cJSON_GetArraySize(a), 2));
	cr_assert(eq(str, (char *)text(a, 0, "user_id"), admin));
	cr_assert(eq(str, (char *)text(a, 1, "user_id"), member));
	cJSON_Delete(a);
	a = list(alpha, 4, 2, &total);
	cr_assert(eq(int, cJSON_GetArraySize(a), 0));
	cr_assert(eq(long, total, 4));
	cJSON_Delete(a);
}

Test(members, list_shows_only_the_team)
{
	long total;
	cJSON *a = list(beta, 0, 100, &total);

	cr_assert(eq(long, total, 1));
	cr_assert(eq(str, (char *)text(a, 0, "user_id"), stranger));
	cJSON_Delete(a);
}

Test(members, admin_changes_a_members_role_and_learns_the_previous_one)
{
	struct berr e = {0};
	enum role was = ROLE_NONE;

	cr_assert(eq(int, acct_member_set_role(st, alpha, admin, member, ROLE_VIEWER, &was, &e),
		     B_OK), "%s", e.message);
	cr_assert(eq(int, was, ROLE_MEMBER));
	cr_assert(eq(int, role_of(alpha, member), ROLE_VIEWER));
}

Test(members, admin_may_promote_to_admin_and_demote_another_admin)
{
	struct berr e = {0};
	enum role was;

	cr_assert(eq(int, acct_member_set_role(st, alpha, admin, viewer, ROLE_ADMIN, &was, &e),
		     B_OK), "%s", e.message);
	cr_assert(eq(int, role_of(alpha, viewer), ROLE_ADMIN));
	cr_assert(eq(int, acct_member_set_role(st, alpha, owner, admin, ROLE_MEMBER, &was, &e),
		     B_OK), "%s", e.message);
	cr_assert(eq(int, was, ROLE_ADMIN));
	cr_assert(eq(int, role_of(alpha, admin), ROLE_MEMBER));
}

Test(members, setting_the_same_role_again_is_fine)
{
	struct berr e = {0};
	enum role was;

	cr_assert(eq(int, acct_member_set_role(st, alpha, admin, member, ROLE_MEMBER, &was, &e),
		     B_OK), "%s", e.message);
	cr_assert(eq(int, was, ROLE_MEMBER));
}

Test(members, role_owner_or_none_is_400_naming_role)
{
	struct berr e = {0};
	enum role was;

	cr_assert(eq(int, acct_member_set_role(st, alpha, owner, admin, ROLE_OWNER, &was, &e),
		     B_EINVAL));
	cr_assert(eq(str, e.field, "role"));
	cr_assert(eq(int, e.status, 400));
	memset(&e, 0, sizeof(e));
	cr_assert(eq(int, acct_member_set_role(st, alpha, owner, admin, ROLE_NONE, &was, &e),
		     B_EINVAL));
	cr_assert(eq(str, e.field, "role"));
	cr_assert(eq(int, role_of(alpha, admin), ROLE_ADMIN), "nothing changed");
}

Test(members, changing_the_owner_is_403)
{
	struct berr e = {0};
	enum role was;

	cr_assert(eq(int, acct_member_set_role(st, alpha, admin, owner, ROLE_VIEWER, &was, &e),
		     B_EFORBIDDEN));
	cr_assert(eq(int, e.status, 403));
	cr_assert(eq(int, role_of(alpha, owner), ROLE_OWNER));
}

Test(members, changing_your_own_role_is_403)
{
	struct berr e = {0};
	enum role was;

	cr_assert(eq(int, acct_member_set_role(st, alpha, admin, admin, ROLE_VIEWER, &was, &e),
		     B_EFORBIDDEN));
	cr_assert(eq(int, e.status, 403));
	cr_assert(eq(int, role_of(alpha, admin), ROLE_ADMIN));
	cr_assert(eq(int, acct_member_set_role(st, alpha, owner, owner, ROLE_ADMIN, &was, &e),
		     B_EFORBIDDEN));
}

Test(members, changing_a_user_of_another_team_unknown_or_malformed_is_404)
{
	const char *const ids[] = {stranger, "019abc12-3456-7890-abcd-ef1234567890", "nope", ""};
	enum role was;

	for (size_t i = 0; i < B_ARRAY_LEN(ids); i++) {
		struct berr e = {0};

		cr_assert(eq(int, acct_member_set_role(st, alpha, admin, ids[i], ROLE_VIEWER, &was, &e),
			     B_ENOTFOUND), "'%s'", ids[i]);
		cr_assert(eq(int, e.status, 404));
	}
	cr_assert(eq(int, role_of(beta, stranger), ROLE_MEMBER));
}

Test(members, admin_removes_a_member)
{
	struct berr e = {0};
	enum role was = ROLE_NONE;
	long total;
	cJSON *a;

	cr_assert(eq(int, acct_member_remove(st, alpha, admin, viewer, &was, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(int, was, ROLE_VIEWER));
	cr_assert(eq(int, role_of(alpha, viewer), ROLE_NONE));
	a = list(alpha, 0, 20, &total);
	cr_assert(eq(long, total, 3));
	cJSON_Delete(a);
}

Test(members, removing_twice_is_404_the_second_time)
{
	struct berr e = {0};
	enum role was;

	cr_assert(eq(int, acct_member_remove(st, alpha, admin, member, &was, &e), B_OK));
	cr_assert(eq(int, acct_member_remove(st, alpha, admin, member, &was, &e), B_ENOTFOUND));
	cr_assert(eq(int, e.status, 404));
}

Test(members, removing_the_owner_or_yourself_is_403)
{
	struct berr e = {0};
	enum role was;

	cr_assert(eq(int, acct_member_remove(st, alpha, admin, owner, &was, &e), B_EFORBIDDEN));
	cr_assert(eq(int, e.status, 403));
	cr_assert(eq(int, acct_member_remove(st, alpha, admin, admin, &was, &e), B_EFORBIDDEN));
	cr_assert(eq(int, acct_member_remove(st, alpha, owner, owner, &was, &e), B_EFORBIDDEN));
	cr_assert(eq(int, role_of(alpha, owner), ROLE_OWNER));
	cr_assert(eq(int, role_of(alpha, admin), ROLE_ADMIN));
}

Test(members, removing_a_user_of_another_team_unknown_or_malformed_is_404)
{
	const char *const ids[] = {stranger, "019abc12-3456-7890-abcd-ef1234567890", "../x"};
	enum role was;

	for (size_t i = 0; i < B_ARRAY_LEN(ids); i++) {
		struct berr e = {0};

		cr_assert(eq(int, acct_member_remove(st, alpha, admin, ids[i], &was, &e), B_ENOTFOUND),
			  "'%s'", ids[i]);
		cr_assert(eq(int, e.status, 404));
	}
	cr_assert(eq(int, role_of(beta, stranger), ROLE_MEMBER));
}
