/* auditlog_test.c: audit_list, the audit trail as the API reads it: newest first, one team
 * only, detail as an object, paged with the team's total, on a migrated database in a
 * temporary directory. (audit_add has its own suite in audit_test.c.) */
#include "berth.h"
#include "audit.h"
#include "clock.h"
#include "crypto.h"
#include "log.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define TEAM "019abc12-3456-7890-abcd-ef1234567890"
#define OTHER "019abc12-3456-7890-abcd-ef1234567899"
#define USER "019abc12-3456-7890-abcd-ef1234567891"
#define CRED "019abc12-3456-7890-abcd-ef1234567892"

static char dir[PATH_MAX];
static struct store *st;

static void setup(void)
{
	char db[PATH_MAX + 16];
	struct berr e = {0};

	cr_assert(eq(int, crypto_init(), B_OK));
	log_init("auditlog_test", false, LOG_WARN, NULL);
	snprintf(dir, sizeof(dir), "/tmp/berth-auditlog-XXXXXX");
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

TestSuite(auditlog, .init = setup, .fini = teardown);

static void add(const char *team, const char *action, const char *detail)
{
	struct principal p = {.kind = PRINCIPAL_USER, .team_id = TEAM, .user_id = USER,
			      .role = ROLE_ADMIN};
	struct berr e = {0};

	cr_assert(eq(int, audit_add(st, &p, team, action, "credential", CRED, "req-1", detail, &e),
		     B_OK), "%s", e.message);
}

static cJSON *list(const char *team, int64_t offset, int64_t limit, long *total)
{
	cJSON *a = cJSON_CreateArray();
	struct berr e = {0};

	cr_assert(eq(int, audit_list(st, team, offset, limit, a, total, &e), B_OK), "%s", e.message);
	return a;
}

static const char *text(const cJSON *a, int i, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, i), name);

	cr_assert(cJSON_IsString(v), "item %d: %s is not a string", i, name);
	return v->valuestring;
}

Test(auditlog, empty_trail_is_an_empty_list_with_total_0)
{
	long total = -1;
	cJSON *a = list(TEAM, 0, 20, &total);

	cr_assert(eq(int, cJSON_GetArraySize(a), 0));
	cr_assert(eq(long, total, 0));
	cJSON_Delete(a);
}

Test(auditlog, item_has_every_field_and_detail_is_an_object)
{
	static const char *const fields[] = {
		"id", "actor_kind", "actor_id", "action", "resource_type", "resource_id",
		"request_id", "detail", "created_at",
	};
	const cJSON *o, *d;
	long total;
	cJSON *a;

	add(TEAM, "credential.create", "{\"kind\":\"agent\"}");
	a = list(TEAM, 0, 20, &total);
	o = cJSON_GetArrayItem(a, 0);
	cr_assert(eq(int, cJSON_GetArraySize(o), (int)B_ARRAY_LEN(fields)));
	for (size_t i = 0; i < B_ARRAY_LEN(fields); i++)
		cr_assert(cJSON_HasObjectItem(o, fields[i]), "no %s", fields[i]);
	cr_assert(uuid_valid(text(a, 0, "id")));
	cr_assert(eq(str, (char *)text(a, 0, "actor_kind"), "user"));
	cr_assert(eq(str, (char *)text(a, 0, "actor_id"), USER));
	cr_assert(eq(str, (char *)text(a, 0, "action"), "credential.create"));
	cr_assert(eq(str, (char *)text(a, 0, "resource_type"), "credential"));
	cr_assert(eq(str, (char *)text(a, 0, "resource_id"), CRED));
	cr_assert(eq(str, (char *)text(a, 0, "request_id"), "req-1"));
	cr_assert(eq(int, (int)strlen(text(a, 0, "created_at")), RFC3339_LEN));
	d = cJSON_GetObjectItemCaseSensitive(o, "detail");
	cr_assert(cJSON_IsObject(d));
	cr_assert(eq(str, cJSON_GetObjectItemCaseSensitive(d, "kind")->valuestring, "agent"));
	cJSON_Delete(a);
}

Test(auditlog, rows_come_newest_first)
{
	long total;
	cJSON *a;

	add(TEAM, "first", NULL);
	add(TEAM, "second", NULL);
	add(TEAM, "third", NULL);
	a = list(TEAM, 0, 20, &total);
	cr_assert(eq(long, total, 3));
	cr_assert(eq(str, (char *)text(a, 0, "action"), "third"));
	cr_assert(eq(str, (char *)text(a, 1, "action"), "second"));
	cr_assert(eq(str, (char *)text(a, 2, "action"), "first"));
	cJSON_Delete(a);
}

Test(auditlog, only_the_teams_rows_are_listed)
{
	long total;
	cJSON *a;

	add(TEAM, "mine", NULL);
	add(OTHER, "theirs", NULL);
	add(NULL, "user.create", NULL);
	a = list(TEAM, 0, 100, &total);
	cr_assert(eq(long, total, 1));
	cr_assert(eq(int, cJSON_GetArraySize(a), 1));
	cr_assert(eq(str, (char *)text(a, 0, "action"), "mine"));
	cJSON_Delete(a);
}

Test(auditlog, paging_skips_and_limits_and_past_the_end_is_empty)
{
	long total;
	cJSON *a;

	for (int i = 0; i < 5; i++)
		add(TEAM, i == 2 ? "middle" : "other", NULL);
	a = list(TEAM, 2, 1, &total);
	cr_assert(eq(int, cJSON_GetArraySize(a), 1));
	cr_assert(eq(str, (char *)text(a, 0, "action"), "middle"));
	cJSON_Delete(a);
	a = list(TEAM, 5, 20, &total);
	cr_assert(eq(int, cJSON_GetArraySize(a), 0));
	cr_assert(eq(long, total, 5));
	cJSON_Delete(a);
}

Test(auditlog, detail_that_is_not_an_object_reads_as_empty_object)
{
	static const char *const bad[] = {"not json", "[1, 2]", "\"text\"", ""};
	long total;
	cJSON *a;

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++)
		add(TEAM, "odd", bad[i]);
	a = list(TEAM, 0, 20, &total);
	cr_assert(eq(int, cJSON_GetArraySize(a), (int)B_ARRAY_LEN(bad)));
	for (int i = 0; i < cJSON_GetArraySize(a); i++) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(a, i), "detail");

		cr_assert(cJSON_IsObject(d) && d->child == NULL, "item %d", i);
	}
	cJSON_Delete(a);
}
