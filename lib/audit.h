/* audit.h: the audit trail: who did what to which resource, when, under which request id.
 * Callers pass ids and names, never a secret value. */
#ifndef BERTH_AUDIT_H
#define BERTH_AUDIT_H

#include "berth.h"
#include "auth.h"
#include "err.h"
#include "store.h"

#include <cjson/cJSON.h>

/* One audit_log row. actor NULL means the operator (berthctl); team_id may be NULL;
 * detail_json may be NULL ("{}"). */
int audit_add(struct store *s, const struct principal *actor, const char *team_id,
	      const char *action, const char *resource_type, const char *resource_id,
	      const char *request_id, const char *detail_json, struct berr *e) B_MUST_CHECK;

/* Appends to list one object per audit_log row of team_id, newest first, skipping offset rows
 * and taking at most limit; *total gets the team's row count. detail comes back as an object
 * ({} if the stored text is not one). Rows of no team (user.create, ...) never show. */
int audit_list(struct store *s, const char *team_id, int64_t offset, int64_t limit,
	       cJSON *list, long *total, struct berr *e) B_MUST_CHECK;

#endif
