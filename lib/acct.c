#include "berth.h"
#include "acct.h"
#include "rowjson.h"
#include "clock.h"
#include "crypto.h"
#include "json.h"
#include "berth_limits.h"
#include "valid.h"

#include <stdio.h>
#include <string.h>

static const char *const role_names[] = {"none", "viewer", "member", "admin", "owner"};

const char *role_name(enum role r)
{
	return (r >= ROLE_NONE && r <= ROLE_OWNER) ? role_names[r] : "none";
}

enum role role_parse(const char *s)
{
	for (int r = ROLE_VIEWER; r <= ROLE_OWNER; r++)
		if (strcmp(s, role_names[r]) == 0)
			return (enum role)r;
	return ROLE_NONE;
}

int acct_team_add(struct store *s, const char *name, char id[UUID_STR_LEN + 1], struct berr *e)
{
	static const char sql[] = "INSERT INTO teams (id, team_name, created_at) VALUES (?, ?, ?)";
	size_t n = json_utf8_len(name);
	sqlite3_stmt *st;
	int rc;

	if (n < 1 || n > TEAM_NAME_MAX || !json_utf8_valid(name, strlen(name)))
		return berr_set(e, B_EINVAL, "team_name", "a team name is 1 to %d characters of UTF-8",
				TEAM_NAME_MAX);
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	uuid_v7(id);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, name);
	store_bind_int(st, 3, clock_now());
	rc = store_exec_stmt(s, st, e);
	if (rc == B_ECONFLICT)
		return berr_set(e, rc, "team_name", "a team named %s exists already", name);
	return rc;
}

/* Runs a one-parameter SELECT of an id and copies the id out; 404 with what when absent. */
static int find_id(struct store *s, const char *sql, const char *arg, char id[UUID_STR_LEN + 1],
		   const char *what, struct berr *e)
{
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, arg);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW) {
		snprintf(id, UUID_STR_LEN + 1, "%s", store_col_text(st, 0));
		rc = B_OK;
	} else if (rc == SQLITE_DONE) {
		rc = berr_set(e, B_ENOTFOUND, "", "no %s %s", what, arg);
	}
	sqlite3_reset(st);
	return rc;
}

int acct_team_find(struct store *s, const char *name, char id[UUID_STR_LEN + 1], struct berr *e)
{
	static const char sql[] = "SELECT id FROM teams WHERE team_name = ? OR id = ?1";

	return find_id(s, sql, name, id, "team", e);
}

int acct_user_add(struct store *s, const char *email, const char *password,
		  char id[UUID_STR_LEN + 1], struct berr *e)
{
	static const char sql[] =
		"INSERT INTO users (id, email_address, password_hash, created_at) VALUES (?, ?, ?, ?)";
	char hash[PASSWORD_HASH_MAX];
	sqlite3_stmt *st;
	int rc;

	if (!valid_email(email))
		return berr_set(e, B_EINVAL, "email_address", "not an email address: %s", email);
	if (password) {
		size_t n = strlen(password);

		if (n < PASSWORD_MIN || n > PASSWORD_MAX)
			return berr_set(e, B_EINVAL, "user_password",
					"a password is %d to %d bytes", PASSWORD_MIN, PASSWORD_MAX);
		if ((rc = crypto_password_hash(password, hash)))
			return berr_set(e, rc, "", "cannot hash the password");
	}
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	uuid_v7(id);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, email);
	store_bind_text(st, 3, password ? hash : NULL);
	store_bind_int(st, 4, clock_now());
	rc = store_exec_stmt(s, st, e);
	if (rc == B_ECONFLICT)
		return berr_set(e, rc, "email_address", "a user with that email exists already");
	return rc;
}

int acct_user_find(struct store *s, const char *email, char id[UUID_STR_LEN + 1], struct berr *e)
{
	static const char sql[] = "SELECT id FROM users WHERE email_address = ?";

	return find_id(s, sql, email, id, "user", e);
}

int acct_member_add(struct store *s, const char *team_id, const char *user_id, enum role role,
		    struct berr *e)
{
	static const char sql[] =
		"INSERT INTO memberships (team_id, user_id, role, created_at) VALUES (?, ?, ?, ?)";
	sqlite3_stmt *st;
	int rc;

	if (role == ROLE_NONE)
		return berr_set(e, B_EINVAL, "role", "role must be owner, admin, member or viewer");
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, role_name(role));
	store_bind_int(st, 4, clock_now());
	rc = store_exec_stmt(s, st, e);
	if (rc == B_ECONFLICT)
		return berr_set(e, rc, "role", role == ROLE_OWNER ?
				"the user is a member already, or the team has an owner already" :
				"the user is a member of that team already");
	return rc;
}

int acct_member_role(struct store *s, const char *team_id, const char *user_id, enum role *role,
		     struct berr *e)
{
	static const char sql[] = "SELECT role FROM memberships WHERE team_id = ? AND user_id = ?";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	*role = ROLE_NONE;
	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_text(st, 2, user_id);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW)
		*role = role_parse(store_col_text(st, 0));
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

static cJSON *acct_member_from_row(sqlite3_stmt *st)
{
	cJSON *o = cJSON_CreateObject();
	char t[RFC3339_LEN + 1];

	clock_rfc3339(sqlite3_column_int64(st, 3), t);
	cJSON_AddStringToObject(o, "user_id", store_col_text(st, 0));
	cJSON_AddStringToObject(o, "email_address", store_col_text(st, 1));
	cJSON_AddStringToObject(o, "role", store_col_text(st, 2));
	cJSON_AddStringToObject(o, "created_at", t);
	return o;
}

int acct_member_list(struct store *s, const char *team_id, int64_t offset, int64_t limit,
		     cJSON *list, long *total, struct berr *e)
{
	static const char count_sql[] = "SELECT count(*) FROM memberships WHERE team_id = ?";
	static const char sql[] =
		"SELECT m.user_id, u.email_address, m.role, m.created_at FROM memberships m"
		" JOIN users u ON u.id = m.user_id WHERE m.team_id = ?"
		" ORDER BY m.created_at, m.user_id LIMIT ? OFFSET ?";

	return rowjson_page(s, count_sql, sql, team_id, offset, limit, acct_member_from_row, list, total, e);
}

/* The rules every change to someone's membership obeys: the member must exist in the team
 * (404 hides other teams' users too), nobody changes their own membership (an admin could
 * otherwise lock a team out of administration by accident), and the owner is only changed
 * by the operator. verb says what was attempted, for the message. */
static int acct_member_target(struct store *s, const char *team_id, const char *actor_id,
			      const char *user_id, const char *verb, enum role *previous,
			      struct berr *e)
{
	int rc;

	*previous = ROLE_NONE;
	if (!uuid_valid(user_id))
		return berr_set(e, B_ENOTFOUND, "", "no member %s in this team", user_id);
	if ((rc = acct_member_role(s, team_id, user_id, previous, e)))
		return rc;
	if (*previous == ROLE_NONE)
		return berr_set(e, B_ENOTFOUND, "", "no member %s in this team", user_id);
	if (strcmp(user_id, actor_id) == 0)
		return berr_set(e, B_EFORBIDDEN, "", "you cannot %s your own membership; "
				"ask another admin", verb);
	if (*previous == ROLE_OWNER)
		return berr_set(e, B_EFORBIDDEN, "", "you cannot %s the team's owner", verb);
	return B_OK;
}

int acct_member_set_role(struct store *s, const char *team_id, const char *actor_id,
			 const char *user_id, enum role to, enum role *previous, struct berr *e)
{
	static const char sql[] = "UPDATE memberships SET role = ? WHERE team_id = ? AND user_id = ?";
	sqlite3_stmt *st;
	int rc;

	*previous = ROLE_NONE;
	if (to == ROLE_OWNER)
		return berr_set(e, B_EINVAL, "role", "role owner cannot be given here: a team has "
				"exactly one owner, set by the operator; use admin, member or viewer");
	if (to == ROLE_NONE)
		return berr_set(e, B_EINVAL, "role", "role must be admin, member or viewer");
	if ((rc = acct_member_target(s, team_id, actor_id, user_id, "change", previous, e)))
		return rc;
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, role_name(to));
	store_bind_text(st, 2, team_id);
	store_bind_text(st, 3, user_id);
	return store_exec_stmt(s, st, e);
}

int acct_member_remove(struct store *s, const char *team_id, const char *actor_id,
		       const char *user_id, enum role *previous, struct berr *e)
{
	static const char sql[] = "DELETE FROM memberships WHERE team_id = ? AND user_id = ?";
	sqlite3_stmt *st;
	int rc;

	if ((rc = acct_member_target(s, team_id, actor_id, user_id, "remove", previous, e)))
		return rc;
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_text(st, 2, user_id);
	return store_exec_stmt(s, st, e);
}
