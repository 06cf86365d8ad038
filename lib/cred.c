#include "berth.h"
#include "cred.h"
#include "rowjson.h"
#include "berth_limits.h"
#include "clock.h"
#include "json.h"
#include "uuid.h"

#include <string.h>

#define SECONDS_PER_DAY 86400

static const char *const cred_create_fields[] = {"kind", "display_name", "expires_in_days", NULL};

/* kind of an issue request: the API mints integration and agent keys only, because a device
 * key acts as a user and only the operator may bind one to a user. */
static int cred_parse_kind(const cJSON *body, enum cred_kind *out, struct berr *e)
{
	const char *s;
	int k, rc = json_get_string(body, "kind", "kind", true, 1, 32, &s, e);

	if (rc)
		return rc;
	k = cred_kind_parse(s);
	if (k == CRED_DEVICE)
		return berr_set(e, B_EINVAL, "kind",
				"device credentials are issued by berthctl, bound to a user; "
				"kind must be integration or agent");
	if (k < 0)
		return berr_set(e, B_EINVAL, "kind", "kind must be integration or agent");
	*out = (enum cred_kind)k;
	return B_OK;
}

int cred_parse_create(const cJSON *body, int64_t now, struct cred_new *out, struct berr *e)
{
	bool expires;
	long days = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = json_only_keys(body, cred_create_fields, "", e)) ||
	    (rc = cred_parse_kind(body, &out->kind, e)) ||
	    (rc = json_get_string(body, "display_name", "display_name", true, CREDENTIAL_NAME_MIN,
				  CREDENTIAL_NAME_MAX, &out->display_name, e)) ||
	    (rc = json_get_int(body, "expires_in_days", false, CREDENTIAL_DAYS_MIN,
			       CREDENTIAL_DAYS_MAX, &expires, &days, e)))
		return rc;
	out->expires_at = expires ? now + (int64_t)days * SECONDS_PER_DAY : 0;
	return B_OK;
}

/* One list item from a row of cred_list's SELECT: the public columns only. */
static cJSON *cred_from_row(sqlite3_stmt *st)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "id", store_col_text(st, 0));
	cJSON_AddStringToObject(o, "kind", store_col_text(st, 1));
	cJSON_AddStringToObject(o, "display_name", store_col_text(st, 2));
	cJSON_AddStringToObject(o, "key_prefix", store_col_text(st, 3));
	rowjson_text_or_null(o, "user_id", st, 4);
	rowjson_time(o, "created_at", st, 5);
	rowjson_time(o, "expires_at", st, 6);
	rowjson_time(o, "revoked_at", st, 7);
	rowjson_time(o, "last_used_at", st, 8);
	return o;
}

int cred_list(struct store *s, const char *team_id, int64_t offset, int64_t limit,
	      cJSON *list, long *total, struct berr *e)
{
	static const char count_sql[] = "SELECT count(*) FROM credentials WHERE team_id = ?";
	static const char sql[] =
		"SELECT id, kind, display_name, key_prefix, user_id, created_at, expires_at,"
		" revoked_at, last_used_at FROM credentials WHERE team_id = ?"
		" ORDER BY id LIMIT ? OFFSET ?";

	return rowjson_page(s, count_sql, sql, team_id, offset, limit, cred_from_row, list, total, e);
}

/* Whether credential id exists in team_id (revoked or not). */
static int cred_exists(struct store *s, const char *team_id, const char *id, bool *found,
		       struct berr *e)
{
	static const char sql[] = "SELECT 1 FROM credentials WHERE id = ? AND team_id = ?";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, team_id);
	rc = store_step(s, st, e);
	*found = rc == SQLITE_ROW;
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

int cred_revoke(struct store *s, const char *team_id, const char *id, bool *revoked_now,
		struct berr *e)
{
	static const char sql[] = "UPDATE credentials SET revoked_at = ?"
				  " WHERE id = ? AND team_id = ? AND revoked_at IS NULL";
	sqlite3_stmt *st;
	bool found;
	int rc;

	*revoked_now = false;
	if (!uuid_valid(id))
		return berr_set(e, B_ENOTFOUND, "", "no credential %s", id);
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_int(st, 1, clock_now());
	store_bind_text(st, 2, id);
	store_bind_text(st, 3, team_id);
	if ((rc = store_exec_stmt(s, st, e)))
		return rc;
	if (store_changes(s) == 1) {
		*revoked_now = true;
		return B_OK;
	}
	/* Nothing changed: revoked before (fine, idempotent), or not this team's key. */
	if ((rc = cred_exists(s, team_id, id, &found, e)))
		return rc;
	return found ? B_OK : berr_set(e, B_ENOTFOUND, "", "no credential %s", id);
}
