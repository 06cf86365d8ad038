/* auth.h: who is calling and what they may do: HS256 JWTs (libjwt, fixed algorithm, exp/nbf/
 * iss/typ checked here because libjwt does not), API keys (sk-, dk-, ak-) stored as SHA-256
 * and compared in constant time, the X-Team-ID rules and the role table of API.md section 1. */
#ifndef BERTH_AUTH_H
#define BERTH_AUTH_H

#include "berth.h"
#include "acct.h"
#include "err.h"
#include "berth_limits.h"
#include "store.h"
#include "uuid.h"

enum cred_kind { CRED_INTEGRATION, CRED_DEVICE, CRED_AGENT };

enum principal_kind { PRINCIPAL_USER, PRINCIPAL_INTEGRATION, PRINCIPAL_DEVICE, PRINCIPAL_AGENT };

/* Which endpoint family is being called decides which credentials are accepted. */
enum auth_scope {
	AUTH_MANAGEMENT, /* JWT + X-Team-ID, dk- */
	AUTH_RUNTIME,    /* JWT + X-Team-ID, sk-, dk- */
	AUTH_MCP,        /* sk- */
	AUTH_AGENT,      /* ak- (the tunnel) */
	AUTH_SESSION,    /* JWT + X-Team-ID only: minting credentials needs a person */
	AUTH_USER,       /* JWT or dk-, no team needed: the caller's own profile */
};

struct principal {
	enum principal_kind kind;
	char team_id[UUID_STR_LEN + 1];
	char user_id[UUID_STR_LEN + 1];       /* "" for sk- and ak- */
	char credential_id[UUID_STR_LEN + 1]; /* "" for JWTs */
	enum role role;                       /* sk- acts as a member; ak- has none */
	int64_t last_used_at;                 /* the key's, as read; 0 for JWTs and never used */
	bool touch_pending;                   /* last_used_at is due but was not written: see
					       * auth_credential_check */
};

struct auth_keys {
	unsigned char jwt_key[JWT_SECRET_LEN];
	char issuer[64];
};

const char *cred_kind_name(enum cred_kind k);
/* -1 for anything but integration, device, agent. */
int cred_kind_parse(const char *s);
const char *principal_kind_name(enum principal_kind k);

/* Reads the JWT key file (hex) into k. */
int auth_keys_load(struct auth_keys *k, const char *path, const char *issuer,
		   struct berr *e) B_MUST_CHECK;

/* A signed access token for user_id living ttl seconds; free() *out. typ is "access" or
 * "refresh"; jti receives the token id when not NULL. */
int auth_jwt_issue(const struct auth_keys *k, const char *user_id, const char *typ, long ttl,
		   char jti[UUID_STR_LEN + 1], char **out, struct berr *e) B_MUST_CHECK;
/* Verifies signature, algorithm, iss, typ, exp and nbf; copies sub into user_id. */
int auth_jwt_verify(const struct auth_keys *k, const char *token, const char *typ,
		    char user_id[UUID_STR_LEN + 1], struct berr *e) B_MUST_CHECK;
/* auth_jwt_verify that also copies the jti claim (a refresh token's row key); 401 without one. */
int auth_jwt_verify_jti(const struct auth_keys *k, const char *token, const char *typ,
			char user_id[UUID_STR_LEN + 1], char jti[UUID_STR_LEN + 1],
			struct berr *e) B_MUST_CHECK;

/* Issues a credential: raw gets the key to show once (KEY_MAX + 1 bytes). user_id is required
 * for device credentials and refused for others; expires_at 0 means never. */
int auth_credential_issue(struct store *s, enum cred_kind kind, const char *team_id,
			  const char *user_id, const char *name, int64_t expires_at,
			  char id[UUID_STR_LEN + 1], char raw[KEY_MAX + 1],
			  struct berr *e) B_MUST_CHECK;
/* Looks a raw key up: 401 for unknown, malformed, revoked or expired keys. Records the key's
 * last use (at most once a minute) unless a read transaction is open (store_read_begin): a
 * write there fails once another connection has committed, so it sets p->touch_pending and
 * the caller calls auth_touch after ending the transaction. */
int auth_credential_check(struct store *s, const char *raw, struct principal *p,
			  struct berr *e) B_MUST_CHECK;
/* Writes the last use that auth_credential_check left pending; nothing when none is. */
void auth_touch(struct store *s, struct principal *p);

/* Authenticates one request from its Authorization and X-Team-ID headers (either NULL when
 * absent) for the given scope. */
int auth_request(struct store *s, const struct auth_keys *k, const char *authorization,
		 const char *team_header, enum auth_scope scope, struct principal *p,
		 struct berr *e) B_MUST_CHECK;
/* 403 unless p holds at least role need. */
int auth_require(const struct principal *p, enum role need, struct berr *e) B_MUST_CHECK;

#endif
