/* acct.h: teams, users and team memberships with their roles, as rows in the store.
 * Checking who may do what with a role is auth.c's job; this module only records it. */
#ifndef BERTH_ACCT_H
#define BERTH_ACCT_H

#include "berth.h"
#include "err.h"
#include "store.h"
#include "uuid.h"

#include <cjson/cJSON.h>

/* Ordered: a higher role may do everything a lower one may. */
enum role { ROLE_NONE = 0, ROLE_VIEWER, ROLE_MEMBER, ROLE_ADMIN, ROLE_OWNER };

const char *role_name(enum role r);
/* ROLE_NONE for anything but owner, admin, member, viewer. */
enum role role_parse(const char *s);

/* Creates a team; 409 when the name is taken. */
int acct_team_add(struct store *s, const char *name, char id[UUID_STR_LEN + 1],
		  struct berr *e) B_MUST_CHECK;
int acct_team_find(struct store *s, const char *name, char id[UUID_STR_LEN + 1],
		   struct berr *e) B_MUST_CHECK;
/* Creates a user; password may be NULL (no password login). 409 when the email is taken. */
int acct_user_add(struct store *s, const char *email, const char *password,
		  char id[UUID_STR_LEN + 1], struct berr *e) B_MUST_CHECK;
int acct_user_find(struct store *s, const char *email, char id[UUID_STR_LEN + 1],
		   struct berr *e) B_MUST_CHECK;
/* Adds user to team with role; a team's owner is unique (409 for a second one). */
int acct_member_add(struct store *s, const char *team_id, const char *user_id, enum role role,
		    struct berr *e) B_MUST_CHECK;
/* *role is ROLE_NONE when the user is not a member (not an error). */
int acct_member_role(struct store *s, const char *team_id, const char *user_id,
		     enum role *role, struct berr *e) B_MUST_CHECK;

/* Appends to list one {user_id, email_address, role, created_at} per member of team_id,
 * oldest membership first, skipping offset rows and taking at most limit; *total gets the
 * team's member count. created_at is when the user joined the team. */
int acct_member_list(struct store *s, const char *team_id, int64_t offset, int64_t limit,
		     cJSON *list, long *total, struct berr *e) B_MUST_CHECK;
/* Gives member user_id of team_id the role to; actor_id is the user asking. 400 unless to is
 * admin, member or viewer (ownership is not handed out here); 404 when user_id is not a UUID
 * or not a member of the team; 403 for the actor's own membership or the owner's.
 * *previous gets the role the member had. Run it in a transaction with its audit row. */
int acct_member_set_role(struct store *s, const char *team_id, const char *actor_id,
			 const char *user_id, enum role to, enum role *previous,
			 struct berr *e) B_MUST_CHECK;
/* Removes member user_id from team_id: 404 as for acct_member_set_role, 403 for the owner
 * and for the actor's own membership. *previous gets the role the member had. */
int acct_member_remove(struct store *s, const char *team_id, const char *actor_id,
		       const char *user_id, enum role *previous, struct berr *e) B_MUST_CHECK;

#endif
