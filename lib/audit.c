#include "berth.h"
#include "audit.h"
#include "clock.h"
#include "uuid.h"

int audit_add(struct store *s, const struct principal *actor, const char *team_id,
	      const char *action, const char *resource_type, const char *resource_id,
	      const char *request_id, const char *detail_json, struct berr *e)
{
	static const char sql[] =
		"INSERT INTO audit_log (id, team_id, actor_kind, actor_id, action, resource_type,"
		" resource_id, request_id, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char id[UUID_STR_LEN + 1];
	const char *actor_id = "berthctl";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	if (actor)
		actor_id = actor->kind == PRINCIPAL_USER ? actor->user_id : actor->credential_id;
	uuid_v7(id);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, team_id);
	store_bind_text(st, 3, actor ? principal_kind_name(actor->kind) : "operator");
	store_bind_text(st, 4, actor_id);
	store_bind_text(st, 5, action);
	store_bind_text(st, 6, resource_type);
	store_bind_text(st, 7, resource_id);
	store_bind_text(st, 8, request_id ? request_id : "");
	store_bind_text(st, 9, detail_json ? detail_json : "{}");
	store_bind_int(st, 10, clock_now());
	return store_exec_stmt(s, st, e);
}
