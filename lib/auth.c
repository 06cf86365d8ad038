#include "berth.h"
#include "auth.h"
#include "clock.h"
#include "crypto.h"
#include "json.h"
#include "log.h"

#include <errno.h>
#include <jwt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LAST_USED_GRANULARITY 60 /* seconds: last_used_at is written at most this often */

static const char *const cred_kind_names[] = {"integration", "device", "agent"};
static const char *const cred_prefixes[] = {"sk-", "dk-", "ak-"};
static const char *const principal_names[] = {"user", "integration", "device", "agent"};

const char *cred_kind_name(enum cred_kind k)
{
	return cred_kind_names[k];
}

int cred_kind_parse(const char *s)
{
	for (size_t i = 0; i < B_ARRAY_LEN(cred_kind_names); i++)
		if (strcmp(s, cred_kind_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *principal_kind_name(enum principal_kind k)
{
	return principal_names[k];
}

int auth_keys_load(struct auth_keys *k, const char *path, const char *issuer, struct berr *e)
{
	char hex[2 * JWT_SECRET_LEN + 2];
	size_t got = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return berr_set(e, B_EIO, "", "cannot read the JWT key %s: %s", path, strerror(errno));
	if (!fgets(hex, sizeof(hex), f))
		hex[0] = '\0';
	fclose(f);
	hex[strcspn(hex, "\r\n")] = '\0';
	if (sodium_hex2bin(k->jwt_key, sizeof(k->jwt_key), hex, strlen(hex), NULL, &got, NULL) ||
	    got != JWT_SECRET_LEN)
		return berr_set(e, B_EIO, "", "%s must hold %d hex-encoded bytes", path,
				JWT_SECRET_LEN);
	snprintf(k->issuer, sizeof(k->issuer), "%s", issuer);
	return B_OK;
}

int auth_jwt_issue(const struct auth_keys *k, const char *user_id, const char *typ, long ttl,
		   char jti[UUID_STR_LEN + 1], char **out, struct berr *e)
{
	char id[UUID_STR_LEN + 1];
	int64_t now = clock_now();
	jwt_t *j = NULL;
	int rc = B_EINTERNAL;

	*out = NULL;
	uuid_v7(id);
	if (jwt_new(&j) || jwt_add_grant(j, "iss", k->issuer) || jwt_add_grant(j, "sub", user_id) ||
	    jwt_add_grant(j, "typ", typ) || jwt_add_grant(j, "jti", id) ||
	    jwt_add_grant_int(j, "iat", now) || jwt_add_grant_int(j, "nbf", now) ||
	    jwt_add_grant_int(j, "exp", now + ttl) ||
	    jwt_set_alg(j, JWT_ALG_HS256, k->jwt_key, sizeof(k->jwt_key)))
		goto out;
	*out = jwt_encode_str(j);
	if (!*out)
		goto out;
	if (jti)
		memcpy(jti, id, sizeof(id));
	rc = B_OK;
out:
	jwt_free(j);
	if (rc)
		return berr_set(e, rc, "", "cannot sign a token");
	return B_OK;
}

/* auth_jwt_verify, also copying the jti claim when jti is not NULL. */
static int jwt_verify(const struct auth_keys *k, const char *token, const char *typ,
		      char user_id[UUID_STR_LEN + 1], char jti[UUID_STR_LEN + 1], struct berr *e)
{
	int64_t now = clock_now();
	jwt_t *j = NULL;
	const char *s;
	long exp, nbf;
	int rc = B_EAUTH;

	/* Never a NULL key: libjwt would then accept alg=none. */
	if (jwt_decode(&j, token, k->jwt_key, sizeof(k->jwt_key)) != 0 || !j)
		return berr_set(e, B_EAUTH, "Authorization", "the token is malformed or its signature is wrong");
	if (jwt_get_alg(j) != JWT_ALG_HS256) {
		berr_set(e, rc, "Authorization", "the token's algorithm is not accepted");
		goto out;
	}
	s = jwt_get_grant(j, "iss");
	if (!s || strcmp(s, k->issuer) != 0) {
		berr_set(e, rc, "Authorization", "the token was not issued by this server");
		goto out;
	}
	s = jwt_get_grant(j, "typ");
	if (!s || strcmp(s, typ) != 0) {
		berr_set(e, rc, "Authorization", "the token is not of type %s", typ);
		goto out;
	}
	errno = 0;
	exp = jwt_get_grant_int(j, "exp");
	if (errno || exp + JWT_LEEWAY <= now) {
		berr_set(e, rc, "Authorization", "the token has expired");
		goto out;
	}
	errno = 0;
	nbf = jwt_get_grant_int(j, "nbf");
	if (errno || nbf - JWT_LEEWAY > now) {
		berr_set(e, rc, "Authorization", "the token is not valid yet");
		goto out;
	}
	s = jwt_get_grant(j, "sub");
	if (!s || !uuid_valid(s)) {
		berr_set(e, rc, "Authorization", "the token names no user");
		goto out;
	}
	memcpy(user_id, s, UUID_STR_LEN + 1);
	s = jti ? jwt_get_grant(j, "jti") : NULL;
	if (jti && (!s || !uuid_valid(s))) {
		berr_set(e, rc, "Authorization", "the token has no id");
		goto out;
	}
	if (jti)
		memcpy(jti, s, UUID_STR_LEN + 1);
	rc = B_OK;
out:
	jwt_free(j);
	return rc;
}

int auth_jwt_verify(const struct auth_keys *k, const char *token, const char *typ,
		    char user_id[UUID_STR_LEN + 1], struct berr *e)
{
	return jwt_verify(k, token, typ, user_id, NULL, e);
}

int auth_jwt_verify_jti(const struct auth_keys *k, const char *token, const char *typ,
			char user_id[UUID_STR_LEN + 1], char jti[UUID_STR_LEN + 1], struct berr *e)
{
	return jwt_verify(k, token, typ, user_id, jti, e);
}

int auth_credential_issue(struct store *s, enum cred_kind kind, const char *team_id,
			  const char *user_id, const char *name, int64_t expires_at,
			  char id[UUID_STR_LEN + 1], char raw[KEY_MAX + 1], struct berr *e)
{
	static const char sql[] =
		"INSERT INTO credentials (id, kind, team_id, user_id, display_name, key_prefix,"
		" key_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
	char hash[SHA256_HEX_LEN + 1], prefix[KEY_PREFIX_LEN + 1];
	size_t n = json_utf8_len(name);
	sqlite3_stmt *st;

	if (n < CREDENTIAL_NAME_MIN || n > CREDENTIAL_NAME_MAX)
		return berr_set(e, B_EINVAL, "display_name", "display_name must be %d to %d characters",
				CREDENTIAL_NAME_MIN, CREDENTIAL_NAME_MAX);
	if ((kind == CRED_DEVICE) != (user_id != NULL))
		return berr_set(e, B_EINVAL, "user", kind == CRED_DEVICE ?
				"a device credential belongs to a user" :
				"only device credentials belong to a user");
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	crypto_random_key(cred_prefixes[kind], raw, KEY_MAX + 1);
	crypto_sha256_hex(raw, strlen(raw), hash);
	snprintf(prefix, sizeof(prefix), "%.*s", KEY_PREFIX_LEN, raw);
	uuid_v7(id);
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, cred_kind_name(kind));
	store_bind_text(st, 3, team_id);
	store_bind_text(st, 4, user_id);
	store_bind_text(st, 5, name);
	store_bind_text(st, 6, prefix);
	store_bind_text(st, 7, hash);
	store_bind_int(st, 8, clock_now());
	if (expires_at)
		store_bind_int(st, 9, expires_at);
	return store_exec_stmt(s, st, e);
}

/* The kind a raw key claims by its prefix, or -1 when it is not shaped like a berth key. */
static int key_shape(const char *raw)
{
	size_t n = strlen(raw);

	if (n != KEY_MAX)
		return -1;
	for (size_t i = 3; i < n; i++) {
		char c = raw[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return -1;
	}
	for (size_t k = 0; k < B_ARRAY_LEN(cred_prefixes); k++)
		if (strncmp(raw, cred_prefixes[k], 3) == 0)
			return (int)k;
	return -1;
}

/* last_used_at is written at most once a minute per key: a write per request would cap the
 * runtime path at SQLite's insert rate (DESIGN.md, measured baselines). */
static bool touch_due(int64_t last, int64_t now)
{
	return !last || now - last >= LAST_USED_GRANULARITY;
}

static void credential_touch(struct store *s, const char *id, int64_t now)
{
	static const char sql[] = "UPDATE credentials SET last_used_at = ? WHERE id = ?";
	sqlite3_stmt *st;

	if (!(st = store_stmt(s, sql, NULL)))
		return;
	store_bind_int(st, 1, now);
	store_bind_text(st, 2, id);
	if (store_exec_stmt(s, st, NULL))
		log_warn("cannot record last use of credential %s", id);
}

void auth_touch(struct store *s, struct principal *p)
{
	if (!p->touch_pending)
		return;
	p->touch_pending = false;
	credential_touch(s, p->credential_id, clock_now());
}

/* Copies the matching row of the prefix lookup into p; 401 when none matches. */
static int credential_match(struct store *s, sqlite3_stmt *st, const char *hash, int kind,
			    struct principal *p, struct berr *e)
{
	int64_t now = clock_now();
	int rc;

	while ((rc = store_step(s, st, e)) == SQLITE_ROW) {
		if (!crypto_str_equal(store_col_text(st, 4), hash))
			continue;
		if (cred_kind_parse(store_col_text(st, 1)) != kind)
			break;
		if (sqlite3_column_type(st, 6) != SQLITE_NULL)
			return berr_set(e, B_EAUTH, "Authorization", "the credential has been revoked");
		if (sqlite3_column_type(st, 5) != SQLITE_NULL && sqlite3_column_int64(st, 5) <= now)
			return berr_set(e, B_EAUTH, "Authorization", "the credential has expired");
		memset(p, 0, sizeof(*p));
		p->kind = kind == CRED_INTEGRATION ? PRINCIPAL_INTEGRATION :
			  kind == CRED_DEVICE ? PRINCIPAL_DEVICE : PRINCIPAL_AGENT;
		snprintf(p->credential_id, sizeof(p->credential_id), "%s", store_col_text(st, 0));
		snprintf(p->team_id, sizeof(p->team_id), "%s", store_col_text(st, 2));
		snprintf(p->user_id, sizeof(p->user_id), "%s", store_col_text(st, 3));
		p->last_used_at = sqlite3_column_int64(st, 7);
		return B_OK;
	}
	if (rc < 0)
		return rc;
	return berr_set(e, B_EAUTH, "Authorization", "unknown credential");
}

int auth_credential_check(struct store *s, const char *raw, struct principal *p, struct berr *e)
{
	static const char sql[] =
		"SELECT id, kind, team_id, user_id, key_hash, expires_at, revoked_at, last_used_at"
		" FROM credentials WHERE key_prefix = ?";
	char hash[SHA256_HEX_LEN + 1], prefix[KEY_PREFIX_LEN + 1];
	int kind = key_shape(raw);
	int64_t now;
	sqlite3_stmt *st;
	int rc;

	if (kind < 0)
		return berr_set(e, B_EAUTH, "Authorization", "malformed credential");
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	crypto_sha256_hex(raw, strlen(raw), hash);
	snprintf(prefix, sizeof(prefix), "%.*s", KEY_PREFIX_LEN, raw);
	store_bind_text(st, 1, prefix);
	rc = credential_match(s, st, hash, kind, p, e);
	sqlite3_reset(st);
	now = clock_now();
	if (rc || !touch_due(p->last_used_at, now))
		return rc;
	if (store_in_read_txn(s))
		p->touch_pending = true;
	else
		credential_touch(s, p->credential_id, now);
	return B_OK;
}

/* Whether scope accepts a principal of kind k; fills the 403 when it does not. */
static int auth_scope_check(enum auth_scope scope, enum principal_kind k, struct berr *e)
{
	static const bool accepts[6][4] = {
		/* user, integration, device, agent */
		[AUTH_MANAGEMENT] = {true, false, true, false},
		[AUTH_RUNTIME] = {true, true, true, false},
		[AUTH_MCP] = {false, true, false, false},
		[AUTH_AGENT] = {false, false, false, true},
		[AUTH_SESSION] = {true, false, false, false},
		[AUTH_USER] = {true, false, true, false},
	};
	static const char *const why[6] = {
		[AUTH_MANAGEMENT] = "management endpoints accept a user token or a device credential",
		[AUTH_RUNTIME] = "runtime endpoints accept a user token, an integration or a device credential",
		[AUTH_MCP] = "MCP accepts integration credentials (sk-) only",
		[AUTH_AGENT] = "the agent tunnel accepts agent credentials (ak-) only",
		[AUTH_SESSION] = "this endpoint accepts a user token (from /auth/login) only",
		[AUTH_USER] = "this endpoint accepts a user token or a device credential",
	};

	if (accepts[scope][k])
		return B_OK;
	return berr_set(e, B_EFORBIDDEN, "Authorization", "%s credentials are not accepted here: %s",
			principal_kind_name(k), why[scope]);
}

/* A user token: valid (else 401), accepted by scope (else 403, not a request for the
 * X-Team-ID that would not help), then the team it acts in. */
static int auth_jwt_principal(struct store *s, const struct auth_keys *k, const char *token,
			      const char *team, enum auth_scope scope, struct principal *p,
			      struct berr *e)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->kind = PRINCIPAL_USER;
	if ((rc = auth_jwt_verify(k, token, "access", p->user_id, e)) ||
	    (rc = auth_scope_check(scope, PRINCIPAL_USER, e)))
		return rc;
	if (!team || !*team)
		return berr_set(e, B_EINVAL, "X-Team-ID",
				"X-Team-ID is required with a user token: name the team to act in");
	if (!uuid_valid(team))
		return berr_set(e, B_EINVAL, "X-Team-ID", "X-Team-ID must be a team id (a UUID)");
	if ((rc = acct_member_role(s, team, p->user_id, &p->role, e)))
		return rc;
	if (p->role == ROLE_NONE)
		return berr_set(e, B_EFORBIDDEN, "X-Team-ID", "you are not a member of team %s", team);
	memcpy(p->team_id, team, UUID_STR_LEN + 1);
	return B_OK;
}

int auth_request(struct store *s, const struct auth_keys *k, const char *authorization,
		 const char *team_header, enum auth_scope scope, struct principal *p,
		 struct berr *e)
{
	const char *tok;
	int rc;

	if (!authorization || !*authorization)
		return berr_set(e, B_EAUTH, "Authorization", "missing credential: send "
				"Authorization: Bearer %s", scope == AUTH_MCP ?
				"sk-... (an integration key)" : "<token or key>");
	if (strlen(authorization) > AUTH_HEADER_MAX || strncasecmp(authorization, "Bearer ", 7) != 0)
		return berr_set(e, B_EAUTH, "Authorization",
				"the Authorization header must be Bearer <token or key>");
	tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	if (strncmp(tok, "eyJ", 3) == 0 && scope == AUTH_USER) {
		memset(p, 0, sizeof(*p));
		p->kind = PRINCIPAL_USER;
		rc = auth_jwt_verify(k, tok, "access", p->user_id, e);
	} else if (strncmp(tok, "eyJ", 3) == 0) {
		rc = auth_jwt_principal(s, k, tok, team_header, scope, p, e);
	} else {
		rc = auth_credential_check(s, tok, p, e);
	}
	if (rc)
		return rc;
	if ((rc = auth_scope_check(scope, p->kind, e)))
		return rc;
	if (p->kind == PRINCIPAL_INTEGRATION)
		p->role = ROLE_MEMBER; /* API.md: sk- may read and invoke, never manage */
	if (p->kind == PRINCIPAL_DEVICE) {
		if ((rc = acct_member_role(s, p->team_id, p->user_id, &p->role, e)))
			return rc;
		if (p->role == ROLE_NONE)
			return berr_set(e, B_EFORBIDDEN, "Authorization",
					"the credential's user is no longer a member of its team");
	}
	return B_OK;
}

int auth_require(const struct principal *p, enum role need, struct berr *e)
{
	if (p->role >= need)
		return B_OK;
	return berr_set(e, B_EFORBIDDEN, "", "this needs the %s role or higher; you are %s",
			role_name(need), role_name(p->role));
}
