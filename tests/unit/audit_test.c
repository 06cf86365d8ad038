/* audit_test.c: audit_add writes one audit_log row naming the actor, action, resource and
 * request, on a migrated database in a temporary directory. */
#include "berth.h"
#include "audit.h"
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

static void setup(void)
{
	char db[PATH_MAX + 16];
	struct berr e = {0};

	cr_assert(eq(int, crypto_init(), B_OK)); /* ids come from libsodium's randomness */
	log_init("audit_test", false, LOG_WARN, NULL);
	snprintf(dir, sizeof(dir), "/tmp/berth-audit-XXXXXX");
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

TestSuite(audit, .init = setup, .fini = teardown);

static const char sql_row[] =
	"SELECT id, team_id, team_id IS NULL, actor_kind, actor_id, action, resource_type,"
	" resource_id, request_id, detail, created_at FROM audit_log";
static const char sql_count[] = "SELECT count(*) FROM audit_log";

static int count_rows(void)
{
	sqlite3_stmt *s = store_stmt(st, sql_count, NULL);
	int n;

	cr_assert(ne(ptr, s, NULL));
	cr_assert(eq(int, store_step(st, s, NULL), SQLITE_ROW));
	n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return n;
}

/* The only row, stepped to; the caller resets the statement. */
static sqlite3_stmt *only_row(void)
{
	sqlite3_stmt *s;

	cr_assert(eq(int, count_rows(), 1));
	s = store_stmt(st, sql_row, NULL);
	cr_assert(ne(ptr, s, NULL));
	cr_assert(eq(int, store_step(st, s, NULL), SQLITE_ROW));
	return s;
}

#define TEAM "019abc12-3456-7890-abcd-ef1234567890"
#define USER "019abc12-3456-7890-abcd-ef1234567891"
#define CRED "019abc12-3456-7890-abcd-ef1234567892"
#define SVC "019abc12-3456-7890-abcd-ef1234567893"

Test(audit, user_actor_writes_one_row_with_every_field)
{
	struct principal p = {.kind = PRINCIPAL_USER, .team_id = TEAM, .user_id = USER,
			      .role = ROLE_ADMIN};
	struct berr e = {0};
	sqlite3_stmt *s;

	cr_assert(eq(int, audit_add(st, &p, TEAM, "service.create", "container_service", SVC,
				    "req-1", "{\"service_slug\":\"web\"}", &e), B_OK), "%s", e.message);
	s = only_row();
	cr_assert(uuid_valid(store_col_text(s, 0)), "id %s", store_col_text(s, 0));
	cr_assert(eq(str, (char *)store_col_text(s, 1), TEAM));
	cr_assert(eq(str, (char *)store_col_text(s, 3), "user"));
	cr_assert(eq(str, (char *)store_col_text(s, 4), USER));
	cr_assert(eq(str, (char *)store_col_text(s, 5), "service.create"));
	cr_assert(eq(str, (char *)store_col_text(s, 6), "container_service"));
	cr_assert(eq(str, (char *)store_col_text(s, 7), SVC));
	cr_assert(eq(str, (char *)store_col_text(s, 8), "req-1"));
	cr_assert(eq(str, (char *)store_col_text(s, 9), "{\"service_slug\":\"web\"}"));
	cr_assert(gt(i64, sqlite3_column_int64(s, 10), 0));
	sqlite3_reset(s);
}

Test(audit, credential_actor_is_recorded_by_credential_id)
{
	struct principal p = {.kind = PRINCIPAL_INTEGRATION, .team_id = TEAM, .credential_id = CRED,
			      .role = ROLE_MEMBER};
	struct berr e = {0};
	sqlite3_stmt *s;

	cr_assert(eq(int, audit_add(st, &p, TEAM, "service.invoke", "container_service", SVC, "r",
				    NULL, &e), B_OK), "%s", e.message);
	s = only_row();
	cr_assert(eq(str, (char *)store_col_text(s, 3), "integration"));
	cr_assert(eq(str, (char *)store_col_text(s, 4), CRED));
	sqlite3_reset(s);
}

Test(audit, device_actor_is_recorded_by_credential_id)
{
	struct principal p = {.kind = PRINCIPAL_DEVICE, .team_id = TEAM, .user_id = USER,
			      .credential_id = CRED, .role = ROLE_VIEWER};
	struct berr e = {0};
	sqlite3_stmt *s;

	cr_assert(eq(int, audit_add(st, &p, TEAM, "service.read", "container_service", SVC, "r",
				    NULL, &e), B_OK), "%s", e.message);
	s = only_row();
	cr_assert(eq(str, (char *)store_col_text(s, 3), "device"));
	cr_assert(eq(str, (char *)store_col_text(s, 4), CRED));
	sqlite3_reset(s);
}

Test(audit, null_actor_is_the_operator)
{
	struct berr e = {0};
	sqlite3_stmt *s;

	cr_assert(eq(int, audit_add(st, NULL, TEAM, "team.create", "team", TEAM, NULL, NULL, &e),
		     B_OK), "%s", e.message);
	s = only_row();
	cr_assert(eq(str, (char *)store_col_text(s, 3), "operator"));
	cr_assert(eq(str, (char *)store_col_text(s, 4), "berthctl"));
	sqlite3_reset(s);
}

Test(audit, null_detail_is_stored_as_empty_object)
{
	struct berr e = {0};
	sqlite3_stmt *s;

	cr_assert(eq(int, audit_add(st, NULL, TEAM, "team.create", "team", TEAM, "r", NULL, &e),
		     B_OK), "%s", e.message);
	s = only_row();
	cr_assert(eq(str, (char *)store_col_text(s, 9), "{}"));
	sqlite3_reset(s);
}

Test(audit, null_team_and_request_id_are_null_and_empty)
{
	struct berr e = {0};
	sqlite3_stmt *s;

	cr_assert(eq(int, audit_add(st, NULL, NULL, "user.create", "user", USER, NULL, NULL, &e),
		     B_OK), "%s", e.message);
	s = only_row();
	cr_assert(eq(int, sqlite3_column_int(s, 2), 1), "team_id IS NULL");
	cr_assert(eq(str, (char *)store_col_text(s, 8), ""));
	sqlite3_reset(s);
}

Test(audit, each_call_adds_a_row_with_a_new_id)
{
	static const char sql[] = "SELECT count(DISTINCT id) FROM audit_log";
	struct berr e = {0};
	sqlite3_stmt *s;

	for (int i = 0; i < 3; i++)
		cr_assert(eq(int, audit_add(st, NULL, TEAM, "a", "t", SVC, "r", NULL, &e), B_OK));
	cr_assert(eq(int, count_rows(), 3));
	s = store_stmt(st, sql, NULL);
	cr_assert(eq(int, store_step(st, s, NULL), SQLITE_ROW));
	cr_assert(eq(int, sqlite3_column_int(s, 0), 3));
	sqlite3_reset(s);
}
