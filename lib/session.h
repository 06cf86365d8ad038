/* session.h: a person's session: password login, refresh-token rotation with reuse detection,
 * and the caller's own profile. Signing and checking JWTs is auth.c's job, HTTP the program's.
 * Every token rotated from one login is a family; presenting a spent token revokes its family. */
#ifndef BERTH_SESSION_H
#define BERTH_SESSION_H

#include "berth.h"
#include "auth.h"
#include "err.h"
#include "store.h"
#include "uuid.h"

#include <cjson/cJSON.h>

/* What a session call needs from the program that makes it. */
struct session_env {
	struct store *store;
	const struct auth_keys *keys;
	long access_ttl;        /* seconds an access token lives (config jwt_ttl) */
	const char *request_id; /* for the audit rows; may be NULL */
};

/* A token pair as answered by login and refresh; the tokens are freed by session_pair_free. */
struct session_pair {
	char user_id[UUID_STR_LEN + 1];
	char family_id[UUID_STR_LEN + 1];
	char *access_token;
	char *refresh_token;
	long expires_in; /* the access token's lifetime in seconds */
};

void session_pair_free(struct session_pair *p);
/* {access_token, refresh_token, expires_in}; cJSON_Delete it. */
cJSON *session_pair_json(const struct session_pair *p);

/* Reads a login body {email_address, user_password}: unknown fields and wrong types are 400
 * naming the field. The strings point into body. */
int session_login_parse(const cJSON *body, const char **email, const char **password,
			struct berr *e) B_MUST_CHECK;
/* Reads a refresh body {refresh_token} the same way. */
int session_refresh_parse(const cJSON *body, const char **token, struct berr *e) B_MUST_CHECK;

/* Checks the password and starts a new family. A wrong password, an unknown email and a user
 * without a password all give the same 401 after the same argon2id work. Audited as auth.login. */
int session_login(const struct session_env *env, const char *email, const char *password,
		  struct session_pair *out, struct berr *e) B_MUST_CHECK;
/* Spends refresh_token and answers the next pair of its family, in one transaction (audited as
 * auth.refresh). 401 for anything but a live, unspent refresh token; a spent one also revokes
 * its whole family, committed before the 401 (audited as auth.refresh_reuse). */
int session_refresh(const struct session_env *env, const char *refresh_token,
		    struct session_pair *out, struct berr *e) B_MUST_CHECK;

/* {id, email_address, created_at, team_list: [{team_id, team_name, role}]} of user_id, teams by
 * name; *out is cJSON_Delete'd by the caller. 401 when the user no longer exists. */
int session_profile(struct store *s, const char *user_id, cJSON **out,
		    struct berr *e) B_MUST_CHECK;

#endif
