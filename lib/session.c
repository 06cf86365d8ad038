#include "berth.h"
#include "session.h"
#include "audit.h"
#include "berth_limits.h"
#include "clock.h"
#include "crypto.h"
#include "json.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One message for every failed login: telling "no such user" from "wrong password" would let
 * anyone find out who has an account. */
#define LOGIN_FAILED "wrong email address or password"
#define DUMMY_PASSWORD_BYTES 16
#define DETAIL_MAX 96

struct refresh_row {
	char user_id[UUID_STR_LEN + 1];
	char family_id[UUID_STR_LEN + 1];
	int64_t expires_at;
	bool used, revoked;
};

static char dummy_hash[PASSWORD_HASH_MAX];
static int dummy_rc = B_EINTERNAL;
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

/* The hash an unknown email is verified against, so that it costs what a wrong password
 * costs: response times must not tell which emails have accounts. The password is random and
 * thrown away, so nothing verifies against it. */
static void dummy_make(void)
{
	char pw[2 * DUMMY_PASSWORD_BYTES + 1];

	crypto_random_hex(DUMMY_PASSWORD_BYTES, pw);
	dummy_rc = crypto_password_hash(pw, dummy_hash);
}

void session_pair_free(struct session_pair *p)
{
	free(p->access_token);
	free(p->refresh_token);
	p->access_token = NULL;
	p->refresh_token = NULL;
}

cJSON *session_pair_json(const struct session_pair *p)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "access_token", p->access_token);
	cJSON_AddStringToObject(o, "refresh_token", p->refresh_token);
	cJSON_AddNumberToObject(o, "expires_in", (double)p->expires_in);
	return o;
}

int session_login_parse(const cJSON *body, const char **email, const char **password,
			struct berr *e)
{
	static const char *const keys[] = {"email_address", "user_password", NULL};
	int rc;

	if ((rc = json_only_keys(body, keys, "", e)) ||
	    (rc = json_get_string(body, "email_address", "email_address", true, 1, EMAIL_MAX, email,
				  e)))
		return rc;
	return json_get_string(body, "user_password", "user_password", true, 1, PASSWORD_MAX,
			       password, e);
}

int session_refresh_parse(const cJSON *body, const char **token, struct berr *e)
{
	static const char *const keys[] = {"refresh_token", NULL};
	int rc;

	if ((rc = json_only_keys(body, keys, "", e)))
		return rc;
	return json_get_string(body, "refresh_token", "refresh_token", true, 1, REFRESH_TOKEN_MAX,
			       token, e);
}

/* The id and password hash of the user with email. *found is false, which is not an error,
 * when there is no such user or the user has no password. */
static int user_hash(struct store *s, const char *email, char id[UUID_STR_LEN + 1],
		     char hash[PASSWORD_HASH_MAX], bool *found, struct berr *e)
{
	static const char sql[] =
		"SELECT id, password_hash FROM users WHERE email_address = ?"
		" AND password_hash IS NOT NULL";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc, n;

	*found = false;
	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, email);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW) {
		snprintf(id, UUID_STR_LEN + 1, "%s", store_col_text(st, 0));
		n = snprintf(hash, PASSWORD_HASH_MAX, "%s", store_col_text(st, 1));
		*found = n > 0 && n < PASSWORD_HASH_MAX;
		if (!*found)
			log_error("user %s: stored password hash is unusable", id);
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

static int refresh_insert(struct store *s, const char *jti, const char *user_id,
			  const char *family_id, struct berr *e)
{
	static const char sql[] =
		"INSERT INTO refresh_tokens (jti, user_id, family_id, expires_at, created_at)"
		" VALUES (?, ?, ?, ?, ?)";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int64_t now = clock_now();

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, jti);
	store_bind_text(st, 2, user_id);
	store_bind_text(st, 3, family_id);
	store_bind_int(st, 4, now + REFRESH_TTL);
	store_bind_int(st, 5, now);
	return store_exec_stmt(s, st, e);
}

/* An audit row on the user, acting as themself; the family id ties a login to its refreshes
 * and to a detected reuse without naming any token. */
static int session_audit(const struct session_env *env, const char *user_id,
			 const char *family_id, const char *action, struct berr *e)
{
	struct principal actor = {.kind = PRINCIPAL_USER};
	char detail[DETAIL_MAX];
	int n;

	snprintf(actor.user_id, sizeof(actor.user_id), "%s", user_id);
	n = snprintf(detail, sizeof(detail), "{\"family_id\":\"%s\"}", family_id);
	if (n < 0 || (size_t)n >= sizeof(detail))
		return berr_set(e, B_EINTERNAL, "", "audit detail too long");
	return audit_add(env->store, &actor, NULL, action, "user", user_id, env->request_id,
			 detail, e);
}

/* Signs the next pair of family_id for user_id, records its refresh token and audits action.
 * The caller holds the transaction and frees out whatever happens. */
static int pair_issue(const struct session_env *env, const char *user_id, const char *family_id,
		      const char *action, struct session_pair *out, struct berr *e)
{
	char jti[UUID_STR_LEN + 1];
	int rc;

	snprintf(out->user_id, sizeof(out->user_id), "%s", user_id);
	snprintf(out->family_id, sizeof(out->family_id), "%s", family_id);
	out->expires_in = env->access_ttl;
	if ((rc = auth_jwt_issue(env->keys, user_id, "access", env->access_ttl, NULL,
				 &out->access_token, e)) ||
	    (rc = auth_jwt_issue(env->keys, user_id, "refresh", REFRESH_TTL, jti,
				 &out->refresh_token, e)) ||
	    (rc = refresh_insert(env->store, jti, user_id, family_id, e)))
		return rc;
	return session_audit(env, user_id, family_id, action, e);
}

/* Commits the caller's transaction, or, when rc says it failed, rolls it back and drops the
 * pair. After a commit of its own (a detected reuse) the rollback finds nothing to undo. */
static int tx_end(struct store *s, int rc, struct session_pair *out, struct berr *e)
{
	if (!rc)
		rc = store_commit(s, e);
	if (rc) {
		store_rollback(s);
		session_pair_free(out);
	}
	return rc;
}

int session_login(const struct session_env *env, const char *email, const char *password,
		  struct session_pair *out, struct berr *e)
{
	char id[UUID_STR_LEN + 1], hash[PASSWORD_HASH_MAX], family[UUID_STR_LEN + 1];
	bool found, ok;
	int rc;

	memset(out, 0, sizeof(*out));
	pthread_once(&dummy_once, dummy_make);
	if (dummy_rc)
		return berr_set(e, dummy_rc, "", "cannot prepare password checks");
	if ((rc = user_hash(env->store, email, id, hash, &found, e)))
		return rc;
	/* Exactly one argon2id verification either way; its result counts only for a user. */
	ok = crypto_password_verify(found ? hash : dummy_hash, password);
	if (!ok || !found)
		return berr_set(e, B_EAUTH, "", LOGIN_FAILED);
	uuid_v7(family);
	if ((rc = store_begin(env->store, e)))
		return rc;
	rc = pair_issue(env, id, family, "auth.login", out, e);
	return tx_end(env->store, rc, out, e);
}

/* The refresh_tokens row of jti; 401 when there is none. */
static int refresh_find(struct store *s, const char *jti, struct refresh_row *row,
			struct berr *e)
{
	static const char sql[] =
		"SELECT user_id, family_id, expires_at, used_at, revoked_at FROM refresh_tokens"
		" WHERE jti = ?";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	memset(row, 0, sizeof(*row));
	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, jti);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW) {
		snprintf(row->user_id, sizeof(row->user_id), "%s", store_col_text(st, 0));
		snprintf(row->family_id, sizeof(row->family_id), "%s", store_col_text(st, 1));
		row->expires_at = sqlite3_column_int64(st, 2);
		row->used = sqlite3_column_type(st, 3) != SQLITE_NULL;
		row->revoked = sqlite3_column_type(st, 4) != SQLITE_NULL;
		rc = B_OK;
	} else if (rc >= 0) {
		rc = berr_set(e, B_EAUTH, "refresh_token", "unknown refresh token");
	}
	sqlite3_reset(st);
	return rc;
}

/* Spends jti. The guard repeats every check so that of two spends of one token only one can
 * change the row, whatever the isolation of the store behind it. */
static int refresh_mark_used(struct store *s, const char *jti, struct berr *e)
{
	static const char sql[] =
		"UPDATE refresh_tokens SET used_at = ?1 WHERE jti = ?2 AND used_at IS NULL"
		" AND revoked_at IS NULL AND expires_at > ?1";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_int(st, 1, clock_now());
	store_bind_text(st, 2, jti);
	if ((rc = store_exec_stmt(s, st, e)))
		return rc;
	if (store_changes(s) != 1)
		return berr_set(e, B_EAUTH, "refresh_token", "the refresh token is no longer valid");
	return B_OK;
}

static int family_revoke(struct store *s, const char *family_id, struct berr *e)
{
	static const char sql[] =
		"UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	store_bind_int(st, 1, clock_now());
	store_bind_text(st, 2, family_id);
	return store_exec_stmt(s, st, e);
}

/* A spent token came back, so two parties hold its family (a stolen copy, or a client that
 * replayed a request). Which one is rightful cannot be told: the whole family is revoked and
 * that is committed before the 401, so both must log in again. */
static int refresh_reuse(const struct session_env *env, const struct refresh_row *row,
			 struct berr *e)
{
	int rc;

	log_warn("%s: spent refresh token presented again: family %s of user %s revoked",
		 env->request_id ? env->request_id : "-", row->family_id, row->user_id);
	if ((rc = family_revoke(env->store, row->family_id, e)) ||
	    (rc = session_audit(env, row->user_id, row->family_id, "auth.refresh_reuse", e)) ||
	    (rc = store_commit(env->store, e)))
		return rc;
	return berr_set(e, B_EAUTH, "refresh_token",
			"this refresh token was used already; every session of its login is "
			"signed out: log in again");
}

/* Checks the row of a verified refresh token under the write lock, then spends it. */
static int refresh_spend(const struct session_env *env, const char *jti, const char *user_id,
			 struct refresh_row *row, struct berr *e)
{
	int rc;

	if ((rc = refresh_find(env->store, jti, row, e)))
		return rc;
	if (strcmp(row->user_id, user_id) != 0)
		return berr_set(e, B_EAUTH, "refresh_token", "unknown refresh token");
	if (row->used)
		return refresh_reuse(env, row, e);
	if (row->revoked)
		return berr_set(e, B_EAUTH, "refresh_token", "the refresh token has been revoked");
	if (row->expires_at <= clock_now())
		return berr_set(e, B_EAUTH, "refresh_token", "the refresh token has expired");
	return refresh_mark_used(env->store, jti, e);
}

int session_refresh(const struct session_env *env, const char *refresh_token,
		    struct session_pair *out, struct berr *e)
{
	char user_id[UUID_STR_LEN + 1], jti[UUID_STR_LEN + 1];
	struct refresh_row row;
	struct berr why = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	if (auth_jwt_verify_jti(env->keys, refresh_token, "refresh", user_id, jti, &why))
		return berr_set(e, B_EAUTH, "refresh_token", "refresh_token is not accepted: %s",
				why.message);
	if ((rc = store_begin(env->store, e)))
		return rc;
	rc = refresh_spend(env, jti, user_id, &row, e);
	if (!rc)
		rc = pair_issue(env, user_id, row.family_id, "auth.refresh", out, e);
	return tx_end(env->store, rc, out, e);
}

/* id, email_address and created_at of user_id into o; 401 when the user is gone (a token can
 * outlive its user). */
static int profile_user(struct store *s, const char *user_id, cJSON *o, struct berr *e)
{
	static const char sql[] = "SELECT id, email_address, created_at FROM users WHERE id = ?";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	char when[RFC3339_LEN + 1];
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, user_id);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW) {
		cJSON_AddStringToObject(o, "id", store_col_text(st, 0));
		cJSON_AddStringToObject(o, "email_address", store_col_text(st, 1));
		clock_rfc3339(sqlite3_column_int64(st, 2), when);
		cJSON_AddStringToObject(o, "created_at", when);
		rc = B_OK;
	} else if (rc == SQLITE_DONE) {
		rc = berr_set(e, B_EAUTH, "Authorization", "the credential's user no longer exists");
	}
	sqlite3_reset(st);
	return rc;
}

static int profile_teams(struct store *s, const char *user_id, cJSON *o, struct berr *e)
{
	static const char sql[] =
		"SELECT t.id, t.team_name, m.role FROM memberships m JOIN teams t ON t.id = m.team_id"
		" WHERE m.user_id = ? ORDER BY t.team_name, t.id";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	cJSON *list = cJSON_AddArrayToObject(o, "team_list");
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, user_id);
	while ((rc = store_step(s, st, e)) == SQLITE_ROW) {
		cJSON *t = cJSON_CreateObject();

		cJSON_AddStringToObject(t, "team_id", store_col_text(st, 0));
		cJSON_AddStringToObject(t, "team_name", store_col_text(st, 1));
		cJSON_AddStringToObject(t, "role", store_col_text(st, 2));
		cJSON_AddItemToArray(list, t);
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

int session_profile(struct store *s, const char *user_id, cJSON **out, struct berr *e)
{
	cJSON *o = cJSON_CreateObject();
	int rc;

	*out = NULL;
	if ((rc = profile_user(s, user_id, o, e)) || (rc = profile_teams(s, user_id, o, e))) {
		cJSON_Delete(o);
		return rc;
	}
	*out = o;
	return B_OK;
}
