/* cred_test.c: the rules of an issue request, the credential list (no secrets, stable order,
 * paging, one team only) and revocation (idempotent, team-bound, effective at once), on a
 * migrated database in a temporary directory. */
#include "berth.h"
#include "cred.h"
#include "acct.h"
#include "berth_limits.h"
#include "clock.h"
#include "crypto.h"
#include "log.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1800000000LL
#define DAY 86400LL

static char dir[PATH_MAX];
static struct store *st;
static char team_a[UUID_STR_LEN + 1], team_b[UUID_STR_LEN + 1], user_a[UUID_STR_LEN + 1];

static void setup(void)
{
	char db[PATH_MAX + 16];
	struct berr e = {0};

	cr_assert(eq(int, crypto_init(), B_OK));
	log_init("cred_test", false, LOG_WARN, NULL);
	snprintf(dir, sizeof(dir), "/tmp/berth-cred-XXXXXX");
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(db, sizeof(db), "%s/berth.db", dir);
	cr_assert(eq(int, store_open(db, &st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_migrate(st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_team_add(st, "alpha", team_a, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_team_add(st, "beta", team_b, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_user_add(st, "ann@example.com", NULL, user_a, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(int, acct_member_add(st, team_a, user_a, ROLE_MEMBER, &e), B_OK), "%s",
		  e.message);
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

TestSuite(cred, .init = setup, .fini = teardown);

/* Parses text with cred_parse_create at NOW; the caller deletes *tree. */
static int parse(const char *text, cJSON **tree, struct cred_new *c, struct berr *e)
{
	*tree = cJSON_Parse(text);
	cr_assert(ne(ptr, *tree, NULL), "test body is not JSON: %s", text);
	return cred_parse_create(*tree, NOW, c, e);
}

/* cred_parse_create must refuse text with 400 naming field. */
static void parse_fails(const char *text, const char *field)
{
	struct cred_new c;
	struct berr e = {0};
	cJSON *tree;
	int rc = parse(text, &tree, &c, &e);

	cJSON_Delete(tree);
	cr_assert(eq(int, rc, B_EINVAL), "%s was accepted", text);
	cr_assert(eq(int, e.status, 400));
	cr_assert(eq(str, e.field, (char *)field), "%s: %s", text, e.message);
}

/* A body {kind: integration, display_name: n copies of unit}; the caller frees it. */
static char *named(const char *unit, size_t n)
{
	size_t len = strlen(unit), head = strlen("{\"kind\":\"integration\",\"display_name\":\"");
	char *s = malloc(head + n * len + 3);

	cr_assert(ne(ptr, s, NULL));
	memcpy(s, "{\"kind\":\"integration\",\"display_name\":\"", head);
	for (size_t i = 0; i < n; i++)
		memcpy(s + head + i * len, unit, len);
	memcpy(s + head + n * len, "\"}", 3);
	return s;
}

static int parse_named(const char *unit, size_t n)
{
	struct cred_new c;
	struct berr e = {0};
	char *text = named(unit, n);
	cJSON *tree;
	int rc = parse(text, &tree, &c, &e);

	free(text);
	cJSON_Delete(tree);
	return rc;
}

Test(cred, integration_key_without_expiry_never_expires)
{
	struct cred_new c;
	struct berr e = {0};
	cJSON *tree;

	cr_assert(eq(int, parse("{\"kind\": \"integration\", \"display_name\": \"ci\"}", &tree, &c,
				&e), B_OK), "%s", e.message);
	cr_assert(eq(int, c.kind, CRED_INTEGRATION));
	cr_assert(eq(str, (char *)c.display_name, "ci"));
	cr_assert(eq(i64, c.expires_at, 0));
	cJSON_Delete(tree);
}

Test(cred, agent_key_with_null_expiry_never_expires)
{
	struct cred_new c;
	struct berr e = {0};
	cJSON *tree;

	cr_assert(eq(int, parse("{\"kind\": \"agent\", \"display_name\": \"gpu\","
				" \"expires_in_days\": null}", &tree, &c, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, c.kind, CRED_AGENT));
	cr_assert(eq(i64, c.expires_at, 0));
	cJSON_Delete(tree);
}

Test(cred, expires_in_days_bounds_1_and_365_count_from_now)
{
	struct cred_new c;
	struct berr e = {0};
	cJSON *tree;

	cr_assert(eq(int, parse("{\"kind\": \"agent\", \"display_name\": \"a\", \"expires_in_days\": 1}",
				&tree, &c, &e), B_OK), "%s", e.message);
	cr_assert(eq(i64, c.expires_at, NOW + DAY));
	cJSON_Delete(tree);
	cr_assert(eq(int, parse("{\"kind\": \"agent\", \"display_name\": \"a\", \"expires_in_days\": 365}",
				&tree, &c, &e), B_OK), "%s", e.message);
	cr_assert(eq(i64, c.expires_at, NOW + 365 * DAY));
	cJSON_Delete(tree);
}

Test(cred, expires_in_days_out_of_range_or_not_an_integer_is_400)
{
	parse_fails("{\"kind\": \"agent\", \"display_name\": \"a\", \"expires_in_days\": 0}",
		    "expires_in_days");
	parse_fails("{\"kind\": \"agent\", \"display_name\": \"a\", \"expires_in_days\": 366}",
		    "expires_in_days");
	parse_fails("{\"kind\": \"agent\", \"display_name\": \"a\", \"expires_in_days\": -1}",
		    "expires_in_days");
	parse_fails("{\"kind\": \"agent\", \"display_name\": \"a\", \"expires_in_days\": 1.5}",
		    "expires_in_days");
	parse_fails("{\"kind\": \"agent\", \"display_name\": \"a\", \"expires_in_days\": \"7\"}",
		    "expires_in_days");
	parse_fails("{\"kind\": \"agent\", \"display_name\": \"a\", \"expires_in_days\": 1e300}",
		    "expires_in_days");
}

Test(cred, device_kind_is_refused_through_the_api)
{
	struct cred_new c;
	struct berr e = {0};
	cJSON *tree;

	cr_assert(eq(int, parse("{\"kind\": \"device\", \"display_name\": \"laptop\"}", &tree, &c, &e),
		     B_EINVAL));
	cr_assert(eq(str, e.field, "kind"));
	cr_assert(ne(ptr, strstr(e.message, "berthctl"), NULL), "message: %s", e.message);
	cJSON_Delete(tree);
}

Test(cred, unknown_missing_or_mistyped_kind_is_400)
{
	parse_fails("{\"kind\": \"admin\", \"display_name\": \"a\"}", "kind");
	parse_fails("{\"kind\": \"Integration\", \"display_name\": \"a\"}", "kind");
	parse_fails("{\"kind\": \"\", \"display_name\": \"a\"}", "kind");
	parse_fails("{\"display_name\": \"a\"}", "kind");
	parse_fails("{\"kind\": 1, \"display_name\": \"a\"}", "kind");
	parse_fails("{\"kind\": [\"agent\"], \"display_name\": \"a\"}", "kind");
}

Test(cred, display_name_of_1_and_100_characters_is_accepted)
{
	cr_assert(eq(int, parse_named("n", CREDENTIAL_NAME_MIN), B_OK));
	cr_assert(eq(int, parse_named("n", CREDENTIAL_NAME_MAX), B_OK));
	cr_assert(eq(int, parse_named("\xc3\xa9", CREDENTIAL_NAME_MAX), B_OK),
		  "100 two-byte characters are 100 characters");
}

Test(cred, display_name_empty_or_over_100_characters_is_400)
{
	cr_assert(eq(int, parse_named("n", 0), B_EINVAL));
	cr_assert(eq(int, parse_named("n", CREDENTIAL_NAME_MAX + 1), B_EINVAL));
	cr_assert(eq(int, parse_named("\xc3\xa9", CREDENTIAL_NAME_MAX + 1), B_EINVAL));
	parse_fails("{\"kind\": \"agent\", \"display_name\": \"\"}", "display_name");
}

Test(cred, display_name_missing_or_mistyped_is_400)
{
	parse_fails("{\"kind\": \"agent\"}", "display_name");
	parse_fails("{\"kind\": \"agent\", \"display_name\": null}", "display_name");
	parse_fails("{\"kind\": \"agent\", \"display_name\": 42}", "display_name");
}

Test(cred, unknown_field_is_400_naming_it)
{
	parse_fails("{\"kind\": \"agent\", \"display_name\": \"a\", \"user_id\": \"x\"}", "user_id");
	parse_fails("{\"kind\": \"agent\", \"display_name\": \"a\", \"expires_in_day\": 3}",
		    "expires_in_day");
}

/* Issues a key of kind in team; device keys belong to user_a. */
static void issue(const char *team, enum cred_kind kind, const char *name, int64_t expires_at,
		  char id[UUID_STR_LEN + 1], char raw[KEY_MAX + 1])
{
	struct berr e = {0};

	cr_assert(eq(int, auth_credential_issue(st, kind, team, kind == CRED_DEVICE ? user_a : NULL,
						name, expires_at, id, raw, &e), B_OK), "%s", e.message);
}

/* cred_list of team; the caller deletes the array. */
static cJSON *list(const char *team, int64_t offset, int64_t limit, long *total)
{
	cJSON *a = cJSON_CreateArray();
	struct berr e = {0};

	cr_assert(eq(int, cred_list(st, team, offset, limit, a, total, &e), B_OK), "%s", e.message);
	return a;
}

static const char *text(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	cr_assert(cJSON_IsString(v), "%s is not a string", name);
	return v->valuestring;
}

static bool is_null(const cJSON *o, const char *name)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, name));
}

Test(cred, empty_team_lists_nothing_with_total_0)
{
	long total = -1;
	cJSON *a = list(team_a, 0, 20, &total);

	cr_assert(eq(int, cJSON_GetArraySize(a), 0));
	cr_assert(eq(long, total, 0));
	cJSON_Delete(a);
}

Test(cred, list_item_has_the_public_fields_and_never_a_secret)
{
	static const char *const fields[] = {
		"id", "kind", "display_name", "key_prefix", "user_id", "created_at", "expires_at",
		"revoked_at", "last_used_at",
	};
	char id[UUID_STR_LEN + 1], raw[KEY_MAX + 1], hash[SHA256_HEX_LEN + 1];
	long total;
	cJSON *a, *o;
	char *dump;

	issue(team_a, CRED_INTEGRATION, "ci", 0, id, raw);
	crypto_sha256_hex(raw, strlen(raw), hash);
	a = list(team_a, 0, 20, &total);
	o = cJSON_GetArrayItem(a, 0);
	cr_assert(eq(int, cJSON_GetArraySize(o), (int)B_ARRAY_LEN(fields)));
	for (size_t i = 0; i < B_ARRAY_LEN(fields); i++)
		cr_assert(cJSON_HasObjectItem(o, fields[i]), "no %s", fields[i]);
	cr_assert(eq(str, (char *)text(o, "id"), id));
	cr_assert(eq(str, (char *)text(o, "kind"), "integration"));
	cr_assert(eq(str, (char *)text(o, "display_name"), "ci"));
	cr_assert(eq(int, (int)strlen(text(o, "key_prefix")), KEY_PREFIX_LEN));
	cr_assert(eq(int, strncmp(text(o, "key_prefix"), raw, KEY_PREFIX_LEN), 0));
	cr_assert(eq(int, (int)strlen(text(o, "created_at")), RFC3339_LEN));
	cr_assert(is_null(o, "user_id") && is_null(o, "expires_at") && is_null(o, "revoked_at") &&
		  is_null(o, "last_used_at"));
	dump = cJSON_PrintUnformatted(a);
	cr_assert(eq(ptr, strstr(dump, raw), NULL), "the raw key is listed");
	cr_assert(eq(ptr, strstr(dump, hash), NULL), "the hash is listed");
	free(dump);
	cJSON_Delete(a);
}

Test(cred, device_key_lists_its_user_and_expiry_as_rfc3339)
{
	char id[UUID_STR_LEN + 1], raw[KEY_MAX + 1];
	long total;
	cJSON *a, *o;

	issue(team_a, CRED_DEVICE, "laptop", NOW, id, raw);
	a = list(team_a, 0, 20, &total);
	o = cJSON_GetArrayItem(a, 0);
	cr_assert(eq(str, (char *)text(o, "kind"), "device"));
	cr_assert(eq(str, (char *)text(o, "user_id"), user_a));
	cr_assert(eq(str, (char *)text(o, "expires_at"), "2027-01-15T08:00:00Z"));
	cJSON_Delete(a);
}

Test(cred, list_is_ordered_by_id_and_paged_with_the_team_total)
{
	char ids[5][UUID_STR_LEN + 1], raw[KEY_MAX + 1];
	long total;
	cJSON *a;

	for (int i = 0; i < 5; i++)
		issue(team_a, i % 2 ? CRED_AGENT : CRED_INTEGRATION, "k", 0, ids[i], raw);
	a = list(team_a, 0, 2, &total);
	cr_assert(eq(long, total, 5));
	cr_assert(eq(int, cJSON_GetArraySize(a), 2));
	cr_assert(eq(str, (char *)text(cJSON_GetArrayItem(a, 0), "id"), ids[0]));
	cr_assert(eq(str, (char *)text(cJSON_GetArrayItem(a, 1), "id"), ids[1]));
	cJSON_Delete(a);
	a = list(team_a, 4, 2, &total);
	cr_assert(eq(int, cJSON_GetArraySize(a), 1), "the last page holds one");
	cr_assert(eq(str, (char *)text(cJSON_GetArrayItem(a, 0), "id"), ids[4]));
	cJSON_Delete(a);
	a = list(team_a, 10, 2, &total);
	cr_assert(eq(int, cJSON_GetArraySize(a), 0), "past the end is empty");
	cr_assert(eq(long, total, 5), "with the total still right");
	cJSON_Delete(a);
}

Test(cred, list_shows_only_the_teams_own_keys)
{
	char mine[UUID_STR_LEN + 1], theirs[UUID_STR_LEN + 1], raw[KEY_MAX + 1];
	long total;
	cJSON *a;

	issue(team_a, CRED_INTEGRATION, "mine", 0, mine, raw);
	issue(team_b, CRED_INTEGRATION, "theirs", 0, theirs, raw);
	issue(team_b, CRED_AGENT, "theirs too", 0, theirs, raw);
	a = list(team_a, 0, 100, &total);
	cr_assert(eq(long, total, 1));
	cr_assert(eq(int, cJSON_GetArraySize(a), 1));
	cr_assert(eq(str, (char *)text(cJSON_GetArrayItem(a, 0), "id"), mine));
	cJSON_Delete(a);
}

Test(cred, revoke_stops_the_key_at_once_and_keeps_it_listed)
{
	char id[UUID_STR_LEN + 1], raw[KEY_MAX + 1];
	struct principal p;
	struct berr e = {0};
	bool now = false;
	long total;
	cJSON *a;

	issue(team_a, CRED_INTEGRATION, "ci", 0, id, raw);
	cr_assert(eq(int, auth_credential_check(st, raw, &p, &e), B_OK), "control: %s", e.message);
	cr_assert(eq(int, cred_revoke(st, team_a, id, &now, &e), B_OK), "%s", e.message);
	cr_assert(now);
	cr_assert(eq(int, auth_credential_check(st, raw, &p, &e), B_EAUTH));
	cr_assert(eq(int, e.status, 401));
	a = list(team_a, 0, 20, &total);
	cr_assert(eq(long, total, 1));
	cr_assert(eq(int, (int)strlen(text(cJSON_GetArrayItem(a, 0), "revoked_at")), RFC3339_LEN));
	cJSON_Delete(a);
}

Test(cred, revoking_twice_succeeds_and_keeps_the_first_time)
{
	static const char sql[] = "SELECT revoked_at FROM credentials WHERE id = ?";
	char id[UUID_STR_LEN + 1], raw[KEY_MAX + 1];
	struct berr e = {0};
	bool now = false;
	sqlite3_stmt *s;

	issue(team_a, CRED_AGENT, "gpu", 0, id, raw);
	cr_assert(eq(int, cred_revoke(st, team_a, id, &now, &e), B_OK), "%s", e.message);
	s = store_stmt(st, "UPDATE credentials SET revoked_at = 1000 WHERE id = ?", &e);
	store_bind_text(s, 1, id);
	cr_assert(eq(int, store_exec_stmt(st, s, &e), B_OK));
	cr_assert(eq(int, cred_revoke(st, team_a, id, &now, &e), B_OK), "%s", e.message);
	cr_assert(not(now), "the second call changed nothing");
	s = store_stmt(st, sql, &e);
	store_bind_text(s, 1, id);
	cr_assert(eq(int, store_step(st, s, &e), SQLITE_ROW));
	cr_assert(eq(i64, sqlite3_column_int64(s, 0), 1000));
	sqlite3_reset(s);
}

Test(cred, revoking_another_teams_key_is_404_and_the_key_still_works)
{
	char id[UUID_STR_LEN + 1], raw[KEY_MAX + 1];
	struct principal p;
	struct berr e = {0};
	bool now = true;

	issue(team_b, CRED_INTEGRATION, "theirs", 0, id, raw);
	cr_assert(eq(int, cred_revoke(st, team_a, id, &now, &e), B_ENOTFOUND));
	cr_assert(eq(int, e.status, 404));
	cr_assert(not(now));
	cr_assert(eq(int, auth_credential_check(st, raw, &p, &e), B_OK), "%s", e.message);
}

Test(cred, revoking_an_unknown_or_malformed_id_is_404)
{
	static const char *const ids[] = {
		"019abc12-3456-7890-abcd-ef1234567890", "not-a-uuid", "", "019ABC12-3456-7890-ABCD-EF1234567890",
		"019abc12-3456-7890-abcd-ef1234567890' OR '1'='1",
	};
	bool now;

	for (size_t i = 0; i < B_ARRAY_LEN(ids); i++) {
		struct berr e = {0};

		cr_assert(eq(int, cred_revoke(st, team_a, ids[i], &now, &e), B_ENOTFOUND), "'%s'",
			  ids[i]);
		cr_assert(eq(int, e.status, 404));
	}
}
