/* cred.h: a team's credentials as the API sees them: the rules of an issue request, the list
 * (never a hash or a raw key) and revocation. Minting keys and checking them on each request
 * is auth.c's job (auth_credential_issue, auth_credential_check). */
#ifndef BERTH_CRED_H
#define BERTH_CRED_H

#include "berth.h"
#include "auth.h"
#include "err.h"
#include "store.h"

#include <cjson/cJSON.h>

/* An issue request as read from a POST /credentials body. display_name points into the
 * cJSON tree the caller owns. */
struct cred_new {
	enum cred_kind kind;     /* integration or agent: device keys come from berthctl */
	const char *display_name;
	int64_t expires_at;      /* Unix seconds; 0 when the key never expires */
};

/* Reads {kind, display_name, expires_in_days?}: unknown fields, wrong types, a kind other
 * than integration/agent and out-of-range values are 400 naming the field. now is the time
 * expires_in_days counts from. */
int cred_parse_create(const cJSON *body, int64_t now, struct cred_new *out,
		      struct berr *e) B_MUST_CHECK;

/* Appends to list one object per credential of team_id, ordered by id, skipping offset rows
 * and taking at most limit; *total gets the team's count. Revoked keys are listed too. */
int cred_list(struct store *s, const char *team_id, int64_t offset, int64_t limit,
	      cJSON *list, long *total, struct berr *e) B_MUST_CHECK;

/* Sets revoked_at on credential id of team_id; 404 for an id that is not a UUID, unknown, or
 * of another team. Revoking a revoked key succeeds and changes nothing: *revoked_now says
 * whether this call did it. auth_credential_check refuses the key from then on. */
int cred_revoke(struct store *s, const char *team_id, const char *id, bool *revoked_now,
		struct berr *e) B_MUST_CHECK;

#endif
