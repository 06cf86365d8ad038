/* acct_test.c: teams, users, memberships and roles, on a migrated database in a temporary
 * directory. */
#include "berth.h"
#include "acct.h"
#include "berth_limits.h"
#include "crypto.h"
#include "log.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[PATH_MAX];
static struct store *st;

static void setup(void)
{
	char db[PATH_MAX + 16];
	struct berr e = {0};

	cr_assert(eq(int, crypto_init(), B_OK));
	log_init("acct_test", false, LOG_WARN, NULL);
	snprintf(dir, sizeof(dir), "/tmp/berth-acct-XXXXXX");
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(db, sizeof(db), "%s/berth.db", dir);
	cr_assert(eq(int, store_open(db, &st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_migrate(st, &e), B_OK), "%s", e.message);
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

TestSuite(acct, .init = setup, .fini = teardown);

static void team(const char *name, char id[UUID_STR_LEN + 1])
{
	struct berr e = {0};

	cr_assert(eq(int, acct_team_add(st, name, id, &e), B_OK), "team %s: %s", name, e.message);
}

static void user(const char *email, char id[UUID_STR_LEN + 1])
{
	struct berr e = {0};

	cr_assert(eq(int, acct_user_add(st, email, NULL, id, &e), B_OK), "user %s: %s", email,
		  e.message);
}

/* A string of n copies of unit (a UTF-8 character); the caller frees it. */
static char *repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit);
	char *s = malloc(n * len + 1);

	cr_assert(ne(ptr, s, NULL));
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[n * len] = '\0';
	return s;
}

Test(acct, team_name_of_max_length_is_accepted)
{
	char id[UUID_STR_LEN + 1];
	char *name = repeat("t", TEAM_NAME_MAX);
	struct berr e = {0};
	int rc = acct_team_add(st, name, id, &e);

	free(name);
	cr_assert(eq(int, rc, B_OK), "%s", e.message);
}

Test(acct, team_name_one_over_max_is_rejected)
{
	char id[UUID_STR_LEN + 1];
	char *name = repeat("t", TEAM_NAME_MAX + 1);
	struct berr e = {0};
	int rc = acct_team_add(st, name, id, &e);

	free(name);
	cr_assert(eq(int, rc, B_EINVAL));
	cr_assert(eq(str, e.field, "team_name"));
	cr_assert(eq(int, e.status, 400));
}

Test(acct, empty_team_name_is_rejected)
{
	char id[UUID_STR_LEN + 1];
	struct berr e = {0};

	cr_assert(eq(int, acct_team_add(st, "", id, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "team_name"));
}

Test(acct, team_name_limit_counts_characters_not_bytes)
{
	char id[UUID_STR_LEN + 1];
	char *ok = repeat("\xc3\xa9", TEAM_NAME_MAX), *over = repeat("\xc3\xa9", TEAM_NAME_MAX + 1);
	struct berr e = {0};
	int rc_ok = acct_team_add(st, ok, id, &e);
	int rc_over = acct_team_add(st, over, id, &e);

	free(ok);
	free(over);
	cr_assert(eq(int, rc_ok, B_OK), "%d two-byte characters", (int)TEAM_NAME_MAX);
	cr_assert(eq(int, rc_over, B_EINVAL));
}

Test(acct, team_name_with_invalid_utf8_is_rejected)
{
	char id[UUID_STR_LEN + 1];
	struct berr e = {0};

	cr_assert(eq(int, acct_team_add(st, "bad\xff", id, &e), B_EINVAL));
	cr_assert(eq(int, acct_team_add(st, "\xc3", id, &e), B_EINVAL), "truncated sequence");
}

Test(acct, team_add_gives_a_v7_id)
{
	char id[UUID_STR_LEN + 1];

	team("alpha", id);
	cr_assert(uuid_valid(id), "%s", id);
	cr_assert(eq(chr, id[14], '7'));
}

Test(acct, duplicate_team_name_is_conflict)
{
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1];
	struct berr e = {0};

	team("alpha", a);
	cr_assert(eq(int, acct_team_add(st, "alpha", b, &e), B_ECONFLICT));
	cr_assert(eq(int, e.status, 409));
	cr_assert(eq(str, e.field, "team_name"));
}

Test(acct, team_find_by_name_and_by_id)
{
	char id[UUID_STR_LEN + 1], other[UUID_STR_LEN + 1], got[UUID_STR_LEN + 1];
	struct berr e = {0};

	team("alpha", id);
	team("beta", other);
	cr_assert(eq(int, acct_team_find(st, "alpha", got, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, got, id));
	memset(got, 0, sizeof(got));
	cr_assert(eq(int, acct_team_find(st, id, got, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, got, id));
}

Test(acct, team_find_unknown_is_not_found)
{
	char id[UUID_STR_LEN + 1], got[UUID_STR_LEN + 1];
	struct berr e = {0};

	team("alpha", id);
	cr_assert(eq(int, acct_team_find(st, "gamma", got, &e), B_ENOTFOUND));
	cr_assert(eq(int, e.status, 404));
	cr_assert(eq(int, acct_team_find(st, "019abc12-3456-7890-abcd-ef1234567890", got, &e),
		     B_ENOTFOUND));
}

Test(acct, user_add_with_password_stores_a_verifiable_hash)
{
	static const char sql[] = "SELECT password_hash FROM users WHERE id = ?";
	char id[UUID_STR_LEN + 1];
	struct berr e = {0};
	sqlite3_stmt *s;

	cr_assert(eq(int, acct_user_add(st, "ann@example.com", "s3cret-pass", id, &e), B_OK), "%s",
		  e.message);
	cr_assert(uuid_valid(id));
	s = store_stmt(st, sql, &e);
	store_bind_text(s, 1, id);
	cr_assert(eq(int, store_step(st, s, &e), SQLITE_ROW));
	cr_assert(ne(str, (char *)store_col_text(s, 0), "s3cret-pass"), "never the clear password");
	cr_assert(crypto_password_verify(store_col_text(s, 0), "s3cret-pass"));
	cr_assert(not(crypto_password_verify(store_col_text(s, 0), "s3cret-pasS")));
	sqlite3_reset(s);
}

Test(acct, user_add_without_password_stores_null)
{
	static const char sql[] = "SELECT password_hash IS NULL FROM users WHERE id = ?";
	char id[UUID_STR_LEN + 1];
	struct berr e = {0};
	sqlite3_stmt *s;

	user("bob@example.com", id);
	s = store_stmt(st, sql, &e);
	store_bind_text(s, 1, id);
	cr_assert(eq(int, store_step(st, s, &e), SQLITE_ROW));
	cr_assert(eq(int, sqlite3_column_int(s, 0), 1));
	sqlite3_reset(s);
}

Test(acct, password_one_below_min_is_rejected)
{
	char id[UUID_STR_LEN + 1];
	char *pw = repeat("p", PASSWORD_MIN - 1);
	struct berr e = {0};
	int rc = acct_user_add(st, "ann@example.com", pw, id, &e);

	free(pw);
	cr_assert(eq(int, rc, B_EINVAL));
	cr_assert(eq(str, e.field, "user_password"));
}

Test(acct, password_of_min_length_is_accepted)
{
	char id[UUID_STR_LEN + 1];
	char *pw = repeat("p", PASSWORD_MIN);
	struct berr e = {0};
	int rc = acct_user_add(st, "ann@example.com", pw, id, &e);

	free(pw);
	cr_assert(eq(int, rc, B_OK), "%s", e.message);
}

Test(acct, password_one_over_max_is_rejected)
{
	char id[UUID_STR_LEN + 1];
	char *pw = repeat("p", PASSWORD_MAX + 1);
	struct berr e = {0};
	int rc = acct_user_add(st, "ann@example.com", pw, id, &e);

	free(pw);
	cr_assert(eq(int, rc, B_EINVAL));
	cr_assert(eq(str, e.field, "user_password"));
}

Test(acct, bad_email_is_rejected)
{
	static const char *const bad[] = {
		"", "no-at-sign", "@example.com", "ann@", "a@b@c", "ann smith@example.com",
		"ann@.example.com", "ann@example.",
	};
	char id[UUID_STR_LEN + 1];

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++) {
		struct berr e = {0};

		cr_assert(eq(int, acct_user_add(st, bad[i], NULL, id, &e), B_EINVAL), "'%s'", bad[i]);
		cr_assert(eq(str, e.field, "email_address"), "'%s'", bad[i]);
	}
}

Test(acct, email_of_max_length_is_accepted_and_one_over_rejected)
{
	char id[UUID_STR_LEN + 1];
	char *ok = repeat("a", EMAIL_MAX), *over = repeat("a", EMAIL_MAX + 1);
	struct berr e = {0};
	int rc_ok, rc_over;

	ok[EMAIL_MAX - 4] = '@';
	over[EMAIL_MAX + 1 - 4] = '@';
	rc_ok = acct_user_add(st, ok, NULL, id, &e);
	rc_over = acct_user_add(st, over, NULL, id, &e);
	free(ok);
	free(over);
	cr_assert(eq(int, rc_ok, B_OK), "%s", e.message);
	cr_assert(eq(int, rc_over, B_EINVAL));
}

Test(acct, duplicate_email_is_conflict_regardless_of_case)
{
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1];
	struct berr e = {0};

	user("ann@example.com", a);
	cr_assert(eq(int, acct_user_add(st, "ann@example.com", NULL, b, &e), B_ECONFLICT));
	cr_assert(eq(int, acct_user_add(st, "ANN@Example.COM", NULL, b, &e), B_ECONFLICT));
	cr_assert(eq(int, e.status, 409));
	cr_assert(eq(str, e.field, "email_address"));
}

Test(acct, user_find_ignores_case_and_unknown_is_not_found)
{
	char id[UUID_STR_LEN + 1], got[UUID_STR_LEN + 1];
	struct berr e = {0};

	user("ann@example.com", id);
	cr_assert(eq(int, acct_user_find(st, "Ann@Example.com", got, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, got, id));
	cr_assert(eq(int, acct_user_find(st, "bob@example.com", got, &e), B_ENOTFOUND));
	cr_assert(eq(int, e.status, 404));
}

Test(acct, member_add_records_the_role)
{
	char t[UUID_STR_LEN + 1], u[UUID_STR_LEN + 1], v[UUID_STR_LEN + 1];
	struct berr e = {0};
	enum role r = ROLE_NONE;

	team("alpha", t);
	user("ann@example.com", u);
	user("val@example.com", v);
	cr_assert(eq(int, acct_member_add(st, t, u, ROLE_ADMIN, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_member_add(st, t, v, ROLE_VIEWER, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_member_role(st, t, u, &r, &e), B_OK));
	cr_assert(eq(int, r, ROLE_ADMIN));
	cr_assert(eq(int, acct_member_role(st, t, v, &r, &e), B_OK));
	cr_assert(eq(int, r, ROLE_VIEWER));
}

Test(acct, second_owner_in_one_team_is_conflict)
{
	char t[UUID_STR_LEN + 1], u[UUID_STR_LEN + 1], v[UUID_STR_LEN + 1];
	struct berr e = {0};

	team("alpha", t);
	user("ann@example.com", u);
	user("bob@example.com", v);
	cr_assert(eq(int, acct_member_add(st, t, u, ROLE_OWNER, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_member_add(st, t, v, ROLE_OWNER, &e), B_ECONFLICT));
	cr_assert(eq(int, e.status, 409));
}

Test(acct, one_user_may_own_two_teams)
{
	char t1[UUID_STR_LEN + 1], t2[UUID_STR_LEN + 1], u[UUID_STR_LEN + 1];
	struct berr e = {0};

	team("alpha", t1);
	team("beta", t2);
	user("ann@example.com", u);
	cr_assert(eq(int, acct_member_add(st, t1, u, ROLE_OWNER, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_member_add(st, t2, u, ROLE_OWNER, &e), B_OK), "%s", e.message);
}

Test(acct, same_user_twice_in_a_team_is_conflict)
{
	char t[UUID_STR_LEN + 1], u[UUID_STR_LEN + 1];
	struct berr e = {0};

	team("alpha", t);
	user("ann@example.com", u);
	cr_assert(eq(int, acct_member_add(st, t, u, ROLE_MEMBER, &e), B_OK));
	cr_assert(eq(int, acct_member_add(st, t, u, ROLE_ADMIN, &e), B_ECONFLICT));
}

Test(acct, member_add_with_role_none_is_rejected)
{
	char t[UUID_STR_LEN + 1], u[UUID_STR_LEN + 1];
	struct berr e = {0};

	team("alpha", t);
	user("ann@example.com", u);
	cr_assert(eq(int, acct_member_add(st, t, u, ROLE_NONE, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "role"));
}

Test(acct, non_member_has_role_none)
{
	char t1[UUID_STR_LEN + 1], t2[UUID_STR_LEN + 1], u[UUID_STR_LEN + 1];
	struct berr e = {0};
	enum role r = ROLE_OWNER;

	team("alpha", t1);
	team("beta", t2);
	user("ann@example.com", u);
	cr_assert(eq(int, acct_member_add(st, t1, u, ROLE_MEMBER, &e), B_OK));
	cr_assert(eq(int, acct_member_role(st, t2, u, &r, &e), B_OK));
	cr_assert(eq(int, r, ROLE_NONE));
	r = ROLE_OWNER;
	cr_assert(eq(int, acct_member_role(st, "no-such-team", "no-such-user", &r, &e), B_OK));
	cr_assert(eq(int, r, ROLE_NONE));
}

Test(acct, role_parse_and_name_round_trip)
{
	for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++)
		cr_assert(eq(int, role_parse(role_name((enum role)r)), r), "role %d", r);
	cr_assert(eq(str, (char *)role_name(ROLE_OWNER), "owner"));
	cr_assert(eq(str, (char *)role_name(ROLE_ADMIN), "admin"));
	cr_assert(eq(str, (char *)role_name(ROLE_MEMBER), "member"));
	cr_assert(eq(str, (char *)role_name(ROLE_VIEWER), "viewer"));
	cr_assert(eq(str, (char *)role_name(ROLE_NONE), "none"));
}

Test(acct, role_parse_rejects_unknown_words)
{
	cr_assert(eq(int, role_parse("root"), ROLE_NONE));
	cr_assert(eq(int, role_parse("none"), ROLE_NONE));
	cr_assert(eq(int, role_parse("Owner"), ROLE_NONE));
	cr_assert(eq(int, role_parse(""), ROLE_NONE));
}

Test(acct, roles_are_ordered)
{
	cr_assert(lt(int, ROLE_NONE, ROLE_VIEWER));
	cr_assert(lt(int, ROLE_VIEWER, ROLE_MEMBER));
	cr_assert(lt(int, ROLE_MEMBER, ROLE_ADMIN));
	cr_assert(lt(int, ROLE_ADMIN, ROLE_OWNER));
}
