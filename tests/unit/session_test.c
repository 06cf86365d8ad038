/* session_test.c: password login (right, wrong, unknown email, no password, timing), refresh
 * rotation inside a family, reuse revoking the family, expired, revoked, foreign and access
 * tokens refused, the body parsers, and the profile with its teams. A migrated database in a
 * temporary directory holds the users. */
#include "berth.h"
#include "session.h"
#include "acct.h"
#include "auth.h"
#include "berth_limits.h"
#include "clock.h"
#include "crypto.h"
#include "log.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <ftw.h>
#include <jwt.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ID_LEN (UUID_STR_LEN + 1)
#define PASSWORD "correct horse"
#define TTL 900

static char dir[PATH_MAX];
static struct store *st;
static struct auth_keys keys;
static struct session_env env;
static char team_a[ID_LEN], team_b[ID_LEN];
static char alice[ID_LEN], bob[ID_LEN], nopass[ID_LEN];

static void setup(void)
{
	char db[PATH_MAX + 16];
	struct berr e = {0};

	cr_assert(eq(int, crypto_init(), B_OK));
	log_init("session_test", false, LOG_ERROR, NULL);
	randombytes_buf(keys.jwt_key, sizeof(keys.jwt_key));
	snprintf(keys.issuer, sizeof(keys.issuer), "berth");
	snprintf(dir, sizeof(dir), "/tmp/berth-session-XXXXXX");
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	snprintf(db, sizeof(db), "%s/berth.db", dir);
	cr_assert(eq(int, store_open(db, &st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, store_migrate(st, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_team_add(st, "zulu", team_a, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_team_add(st, "alpha", team_b, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_user_add(st, "alice@example.com", PASSWORD, alice, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(int, acct_user_add(st, "bob@example.com", PASSWORD, bob, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(int, acct_user_add(st, "nopass@example.com", NULL, nopass, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(int, acct_member_add(st, team_a, alice, ROLE_OWNER, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_member_add(st, team_b, alice, ROLE_VIEWER, &e), B_OK), "%s", e.message);
	env = (struct session_env){.store = st, .keys = &keys, .access_ttl = TTL, .request_id = "rq-1"};
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

TestSuite(session, .init = setup, .fini = teardown);

/* ---- helpers ---- */

/* One number from the test database over a connection of its own (param may be NULL). */
static long db_count(const char *sql, const char *param)
{
	char path[PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *q;
	long n = -1;

	snprintf(path, sizeof(path), "%s/berth.db", dir);
	cr_assert(eq(int, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK));
	cr_assert(eq(int, sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK), "%s",
		  sqlite3_errmsg(db));
	if (param)
		sqlite3_bind_text(q, 1, param, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(q) == SQLITE_ROW)
		n = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

static void db_exec(const char *sql, const char *param)
{
	char path[PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *q;

	snprintf(path, sizeof(path), "%s/berth.db", dir);
	cr_assert(eq(int, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK));
	cr_assert(eq(int, sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK), "%s",
		  sqlite3_errmsg(db));
	if (param)
		sqlite3_bind_text(q, 1, param, -1, SQLITE_TRANSIENT);
	cr_assert(eq(int, sqlite3_step(q), SQLITE_DONE), "%s", sqlite3_errmsg(db));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static long audits(const char *action, const char *user)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit_log WHERE action = '%s' AND "
		 "resource_type = 'user' AND resource_id = ? AND actor_id = ?1", action);
	return db_count(sql, user);
}

static void login_ok(const char *email, struct session_pair *p)
{
	struct berr e = {0};

	cr_assert(eq(int, session_login(&env, email, PASSWORD, p, &e), B_OK), "%s", e.message);
}

static void refresh_ok(const char *tok, struct session_pair *p)
{
	struct berr e = {0};

	cr_assert(eq(int, session_refresh(&env, tok, p, &e), B_OK), "%s", e.message);
}

/* session_refresh that must fail with 401; the message goes to msg when not NULL. */
static void refresh_401(const char *tok, char *msg, size_t n)
{
	struct session_pair p;
	struct berr e = {0};

	cr_assert(eq(int, session_refresh(&env, tok, &p, &e), B_EAUTH), "%s", e.message);
	cr_assert(eq(int, e.status, 401));
	cr_assert(eq(ptr, p.access_token, NULL));
	cr_assert(eq(ptr, p.refresh_token, NULL));
	if (msg)
		snprintf(msg, n, "%s", e.message);
}

static long family_rows(const char *family, const char *condition)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM refresh_tokens WHERE family_id = ? AND %s",
		 condition);
	return db_count(sql, family);
}

/* A token with the given claims signed with key (the server's unless another is given). */
static char *forge(const unsigned char *key, const char *sub, const char *typ, const char *jti,
		   long exp_offset)
{
	long now = (long)clock_now();
	jwt_t *j = NULL;
	char *tok;

	cr_assert(eq(int, jwt_new(&j), 0));
	cr_assert(eq(int, jwt_add_grant(j, "iss", "berth"), 0));
	cr_assert(eq(int, jwt_add_grant(j, "sub", sub), 0));
	cr_assert(eq(int, jwt_add_grant(j, "typ", typ), 0));
	if (jti)
		cr_assert(eq(int, jwt_add_grant(j, "jti", jti), 0));
	cr_assert(eq(int, jwt_add_grant_int(j, "nbf", now - 60), 0));
	cr_assert(eq(int, jwt_add_grant_int(j, "exp", now + exp_offset), 0));
	cr_assert(eq(int, jwt_set_alg(j, JWT_ALG_HS256, key, JWT_SECRET_LEN), 0));
	tok = jwt_encode_str(j);
	jwt_free(j);
	cr_assert(ne(ptr, tok, NULL));
	return tok;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- login ---- */

Test(session, login_with_the_right_password_answers_a_pair_of_a_new_family)
{
	struct session_pair p;
	struct berr e = {0};
	char user[ID_LEN];

	login_ok("alice@example.com", &p);
	cr_assert(eq(str, p.user_id, alice));
	cr_assert(eq(long, p.expires_in, TTL));
	cr_assert(uuid_valid(p.family_id), "family %s", p.family_id);
	cr_assert(eq(int, auth_jwt_verify(&keys, p.access_token, "access", user, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(str, user, alice));
	cr_assert(eq(int, auth_jwt_verify(&keys, p.refresh_token, "refresh", user, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(long, family_rows(p.family_id, "used_at IS NULL AND revoked_at IS NULL"), 1));
	cr_assert(eq(long, db_count("SELECT count(*) FROM refresh_tokens WHERE user_id = ? AND "
				    "expires_at - created_at = 2592000", alice), 1),
		  "a refresh token lives REFRESH_TTL (30 days)");
	cr_assert(eq(long, audits("auth.login", alice), 1));
	session_pair_free(&p);
	cr_assert(eq(ptr, p.access_token, NULL));
}

Test(session, pair_json_has_exactly_the_three_fields)
{
	struct session_pair p;
	cJSON *j;

	login_ok("alice@example.com", &p);
	j = session_pair_json(&p);
	cr_assert(eq(int, cJSON_GetArraySize(j), 3));
	cr_assert(eq(str, cJSON_GetObjectItem(j, "access_token")->valuestring, p.access_token));
	cr_assert(eq(str, cJSON_GetObjectItem(j, "refresh_token")->valuestring, p.refresh_token));
	cr_assert(eq(int, cJSON_GetObjectItem(j, "expires_in")->valueint, TTL));
	cJSON_Delete(j);
	session_pair_free(&p);
}

Test(session, login_email_is_case_insensitive)
{
	struct session_pair p;

	login_ok("Alice@EXAMPLE.com", &p);
	cr_assert(eq(str, p.user_id, alice));
	session_pair_free(&p);
}

Test(session, two_logins_are_two_families)
{
	struct session_pair p1, p2;

	login_ok("alice@example.com", &p1);
	login_ok("alice@example.com", &p2);
	cr_assert(ne(str, p1.family_id, p2.family_id));
	session_pair_free(&p1);
	session_pair_free(&p2);
}

/* The 401 of a failed login, with its message into msg. */
static void login_401(const char *email, const char *password, struct berr *e)
{
	struct session_pair p;

	cr_assert(eq(int, session_login(&env, email, password, &p, e), B_EAUTH), "%s", e->message);
	cr_assert(eq(int, e->status, 401));
	cr_assert(eq(ptr, p.access_token, NULL));
}

Test(session, wrong_password_is_401_and_writes_nothing)
{
	struct berr e = {0};

	login_401("alice@example.com", "correct horsE", &e);
	login_401("alice@example.com", "", &e);
	cr_assert(eq(long, db_count("SELECT count(*) FROM refresh_tokens", NULL), 0));
	cr_assert(eq(long, db_count("SELECT count(*) FROM audit_log", NULL), 0));
}

Test(session, unknown_email_and_passwordless_user_fail_exactly_like_a_wrong_password)
{
	struct berr wrong = {0}, unknown = {0}, nopw = {0};

	login_401("alice@example.com", "not the password", &wrong);
	login_401("nobody@example.com", PASSWORD, &unknown);
	login_401("nopass@example.com", PASSWORD, &nopw);
	cr_assert(eq(str, unknown.message, wrong.message));
	cr_assert(eq(str, nopw.message, wrong.message));
	cr_assert(eq(str, (char *)unknown.code, (char *)wrong.code));
	cr_assert(eq(str, unknown.field, wrong.field));
	cr_assert(eq(str, nopw.field, wrong.field));
}

Test(session, unknown_email_costs_about_what_a_wrong_password_costs)
{
	struct berr e = {0};
	struct timespec t0;
	double wrong = 1e9, unknown = 1e9;

	login_401("nobody@example.com", PASSWORD, &e); /* makes the dummy hash once */
	for (int i = 0; i < 3; i++) {
		double d;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		login_401("alice@example.com", "wrong password", &e);
		d = seconds_since(&t0);
		wrong = d < wrong ? d : wrong;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		login_401("nobody@example.com", "wrong password", &e);
		d = seconds_since(&t0);
		unknown = d < unknown ? d : unknown;
	}
	/* Without the dummy verification an unknown email answers in microseconds, not in the
	 * tens of milliseconds of argon2id; a factor of 3 either way leaves room for noise. */
	cr_assert(unknown * 3 >= wrong, "unknown email %.4fs, wrong password %.4fs", unknown, wrong);
	cr_assert(wrong * 3 >= unknown, "unknown email %.4fs, wrong password %.4fs", unknown, wrong);
}

/* ---- refresh ---- */

Test(session, refresh_rotates_within_the_family_and_spends_the_old_token)
{
	struct session_pair p1, p2, p3;
	struct berr e = {0};
	char user[ID_LEN];

	login_ok("alice@example.com", &p1);
	refresh_ok(p1.refresh_token, &p2);
	cr_assert(eq(str, p2.family_id, p1.family_id));
	cr_assert(eq(str, p2.user_id, alice));
	cr_assert(eq(long, p2.expires_in, TTL));
	cr_assert(ne(str, p2.refresh_token, p1.refresh_token));
	cr_assert(eq(int, auth_jwt_verify(&keys, p2.access_token, "access", user, &e), B_OK));
	cr_assert(eq(long, family_rows(p1.family_id, "used_at IS NOT NULL"), 1));
	cr_assert(eq(long, family_rows(p1.family_id, "used_at IS NULL AND revoked_at IS NULL"), 1));
	refresh_ok(p2.refresh_token, &p3);
	cr_assert(eq(str, p3.family_id, p1.family_id));
	cr_assert(eq(long, family_rows(p1.family_id, "1"), 3));
	cr_assert(eq(long, audits("auth.refresh", alice), 2));
	cr_assert(eq(long, audits("auth.refresh_reuse", alice), 0));
	session_pair_free(&p1);
	session_pair_free(&p2);
	session_pair_free(&p3);
}

Test(session, reuse_of_a_spent_token_revokes_the_whole_family)
{
	struct session_pair p1, p2, p3, other, after;
	char msg[ERR_MESSAGE_MAX];

	login_ok("alice@example.com", &p1);
	login_ok("alice@example.com", &other);
	refresh_ok(p1.refresh_token, &p2);
	refresh_ok(p2.refresh_token, &p3);
	refresh_401(p1.refresh_token, msg, sizeof(msg)); /* a replayed, spent token */
	cr_assert(ne(ptr, strstr(msg, "used already"), NULL), "message: %s", msg);
	cr_assert(eq(long, family_rows(p1.family_id, "revoked_at IS NULL"), 0),
		  "every token of the family is revoked");
	cr_assert(eq(long, audits("auth.refresh_reuse", alice), 1));
	refresh_401(p3.refresh_token, NULL, 0); /* the newest token stops working too */
	refresh_401(p2.refresh_token, NULL, 0);
	refresh_ok(other.refresh_token, &after); /* another login is not touched */
	cr_assert(eq(str, after.family_id, other.family_id));
	cr_assert(eq(long, db_count("SELECT count(*) FROM audit_log WHERE detail LIKE '%' || ? || '%'",
				    p1.refresh_token + strlen(p1.refresh_token) - 20), 0),
		  "no token in an audit row");
	session_pair_free(&p1);
	session_pair_free(&p2);
	session_pair_free(&p3);
	session_pair_free(&other);
	session_pair_free(&after);
}

Test(session, expired_refresh_tokens_are_401)
{
	struct session_pair p;
	char jti[ID_LEN], *tok = NULL;
	struct berr e = {0};

	login_ok("alice@example.com", &p);
	db_exec("UPDATE refresh_tokens SET expires_at = strftime('%s', 'now') - 1 WHERE user_id = ?",
		alice);
	refresh_401(p.refresh_token, NULL, 0);
	cr_assert(eq(long, family_rows(p.family_id, "used_at IS NULL"), 1), "not spent");
	session_pair_free(&p);
	/* expired by its own exp claim, whatever the row says */
	cr_assert(eq(int, auth_jwt_issue(&keys, alice, "refresh", -3600, jti, &tok, &e), B_OK));
	refresh_401(tok, NULL, 0);
	free(tok);
}

Test(session, revoked_refresh_token_is_401)
{
	struct session_pair p;

	login_ok("alice@example.com", &p);
	db_exec("UPDATE refresh_tokens SET revoked_at = strftime('%s', 'now') WHERE user_id = ?",
		alice);
	refresh_401(p.refresh_token, NULL, 0);
	cr_assert(eq(long, audits("auth.refresh_reuse", alice), 0), "revoked is not reuse");
	session_pair_free(&p);
}

Test(session, access_token_is_not_a_refresh_token)
{
	struct session_pair p;

	login_ok("alice@example.com", &p);
	refresh_401(p.access_token, NULL, 0);
	cr_assert(eq(long, family_rows(p.family_id, "used_at IS NULL"), 1));
	session_pair_free(&p);
}

Test(session, garbage_foreign_and_unrecorded_tokens_are_401)
{
	unsigned char other_key[JWT_SECRET_LEN];
	struct session_pair p;
	char *tok, jti[ID_LEN];
	struct berr e = {0};

	refresh_401("garbage", NULL, 0);
	refresh_401("eyJhbGciOiJub25lIn0.e30.", NULL, 0);
	login_ok("alice@example.com", &p);
	cr_assert(eq(long, db_count("SELECT count(*) FROM refresh_tokens", NULL), 1));
	/* signed with another key */
	randombytes_buf(other_key, sizeof(other_key));
	tok = forge(other_key, alice, "refresh", p.family_id, 3600);
	refresh_401(tok, NULL, 0);
	free(tok);
	/* well signed, but never recorded */
	cr_assert(eq(int, auth_jwt_issue(&keys, alice, "refresh", 3600, jti, &tok, &e), B_OK));
	refresh_401(tok, NULL, 0);
	free(tok);
	/* well signed without a jti */
	tok = forge(keys.jwt_key, alice, "refresh", NULL, 3600);
	refresh_401(tok, NULL, 0);
	free(tok);
	session_pair_free(&p);
}

Test(session, token_naming_another_users_row_is_401)
{
	char jti[ID_LEN] = "", *tok;
	struct session_pair p;
	char path[PATH_MAX + 16];
	sqlite3 *db;
	sqlite3_stmt *q;

	login_ok("alice@example.com", &p);
	snprintf(path, sizeof(path), "%s/berth.db", dir);
	cr_assert(eq(int, sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK));
	cr_assert(eq(int, sqlite3_prepare_v2(db, "SELECT jti FROM refresh_tokens", -1, &q, NULL),
		     SQLITE_OK));
	cr_assert(eq(int, sqlite3_step(q), SQLITE_ROW));
	snprintf(jti, sizeof(jti), "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_close(db);
	tok = forge(keys.jwt_key, bob, "refresh", jti, 3600);
	refresh_401(tok, NULL, 0);
	free(tok);
	cr_assert(eq(long, family_rows(p.family_id, "used_at IS NULL AND revoked_at IS NULL"), 1));
	session_pair_free(&p);
}

/* ---- body parsers ---- */

/* Parses json with the login (refresh == false) or refresh parser; returns rc, field in e. */
static int parse(const char *json, bool refresh, struct berr *e)
{
	cJSON *j = cJSON_Parse(json);
	const char *a = NULL, *b = NULL;
	int rc;

	cr_assert(ne(ptr, j, NULL), "test JSON: %s", json);
	rc = refresh ? session_refresh_parse(j, &a, e) : session_login_parse(j, &a, &b, e);
	cJSON_Delete(j);
	return rc;
}

Test(session, login_body_rules_name_the_field)
{
	static const struct {
		const char *json, *field;
	} bad[] = {
		{"{\"email_address\": \"a@b.c\", \"user_password\": \"x\", \"remember\": true}",
		 "remember"},
		{"{\"email_address\": 1, \"user_password\": \"x\"}", "email_address"},
		{"{\"email_address\": \"a@b.c\", \"user_password\": [\"x\"]}", "user_password"},
		{"{\"user_password\": \"x\"}", "email_address"},
		{"{\"email_address\": \"a@b.c\"}", "user_password"},
		{"{\"email_address\": \"\", \"user_password\": \"x\"}", "email_address"},
		{"{\"email_address\": \"a@b.c\", \"user_password\": null}", "user_password"},
	};
	struct berr e = {0};

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++) {
		cr_assert(eq(int, parse(bad[i].json, false, &e), B_EINVAL), "%s", bad[i].json);
		cr_assert(eq(str, e.field, (char *)bad[i].field), "%s: %s", bad[i].json, e.message);
	}
	cr_assert(eq(int, parse("{\"email_address\": \"a@b.c\", \"user_password\": \"x\"}", false, &e),
		     B_OK));
}

Test(session, password_length_limit_is_enforced_at_the_boundary)
{
	char *json = malloc(PASSWORD_MAX + 128);
	struct berr e = {0};
	int n;

	cr_assert(ne(ptr, json, NULL));
	n = snprintf(json, PASSWORD_MAX + 128, "{\"email_address\": \"a@b.c\", \"user_password\": \"%0*d\"}",
		     PASSWORD_MAX, 0);
	cr_assert(n > 0);
	cr_assert(eq(int, parse(json, false, &e), B_OK), "%s", e.message);
	snprintf(json, PASSWORD_MAX + 128, "{\"email_address\": \"a@b.c\", \"user_password\": \"%0*d\"}",
		 PASSWORD_MAX + 1, 0);
	cr_assert(eq(int, parse(json, false, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "user_password"));
	free(json);
}

Test(session, refresh_body_rules_name_the_field)
{
	struct berr e = {0};

	cr_assert(eq(int, parse("{\"refresh_token\": \"x\", \"x\": 1}", true, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "x"));
	cr_assert(eq(int, parse("{\"refresh_token\": 7}", true, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "refresh_token"));
	cr_assert(eq(int, parse("{}", true, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "refresh_token"));
	cr_assert(eq(int, parse("{\"refresh_token\": \"eyJ\"}", true, &e), B_OK));
}

/* ---- profile ---- */

Test(session, profile_lists_every_team_by_name_with_its_role)
{
	char when[RFC3339_LEN + 1];
	struct berr e = {0};
	const cJSON *list, *t0, *t1;
	cJSON *o;

	cr_assert(eq(int, session_profile(st, alice, &o, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, cJSON_GetObjectItem(o, "id")->valuestring, alice));
	cr_assert(eq(str, cJSON_GetObjectItem(o, "email_address")->valuestring, "alice@example.com"));
	clock_rfc3339(clock_now(), when);
	cr_assert(eq(int, (int)strlen(cJSON_GetObjectItem(o, "created_at")->valuestring), RFC3339_LEN));
	cr_assert(eq(int, strncmp(cJSON_GetObjectItem(o, "created_at")->valuestring, when, 10), 0));
	list = cJSON_GetObjectItem(o, "team_list");
	cr_assert(eq(int, cJSON_GetArraySize(list), 2));
	t0 = cJSON_GetArrayItem(list, 0);
	t1 = cJSON_GetArrayItem(list, 1);
	cr_assert(eq(str, cJSON_GetObjectItem(t0, "team_name")->valuestring, "alpha"));
	cr_assert(eq(str, cJSON_GetObjectItem(t0, "team_id")->valuestring, team_b));
	cr_assert(eq(str, cJSON_GetObjectItem(t0, "role")->valuestring, "viewer"));
	cr_assert(eq(str, cJSON_GetObjectItem(t1, "team_name")->valuestring, "zulu"));
	cr_assert(eq(str, cJSON_GetObjectItem(t1, "team_id")->valuestring, team_a));
	cr_assert(eq(str, cJSON_GetObjectItem(t1, "role")->valuestring, "owner"));
	cJSON_Delete(o);
}

Test(session, profile_of_a_user_without_teams_has_an_empty_list)
{
	struct berr e = {0};
	cJSON *o;

	cr_assert(eq(int, session_profile(st, bob, &o, &e), B_OK), "%s", e.message);
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(o, "team_list")));
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(o, "team_list")), 0));
	cJSON_Delete(o);
}

Test(session, profile_of_a_vanished_user_is_401)
{
	struct berr e = {0};
	cJSON *o = (cJSON *)&e;

	cr_assert(eq(int, session_profile(st, "019abc12-3456-7890-abcd-ef1234567890", &o, &e),
		     B_EAUTH));
	cr_assert(eq(ptr, o, NULL));
}
