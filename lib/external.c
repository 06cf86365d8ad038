#include "berth.h"
#include "external.h"
#include "uuid.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void external_target_wipe(struct external_target *t)
{
	sodium_memzero(t->authorization, sizeof(t->authorization));
	t->has_auth = false;
}

/* The deployed definition's value of name, else the live column's (NULL stays NULL). */
static const char *deployed(const cJSON *spec, const char *name, const char *live)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, name);

	if (cJSON_IsString(v))
		return v->valuestring;
	return cJSON_IsNull(v) ? NULL : live;
}

/* The vault secret cred of team into t. */
static int external_reveal(struct store *s, const struct vault_key *k, const char *team,
			 const char *cred, struct external_target *t, struct berr *e)
{
	int rc;

	if (!k)
		return berr_set(e, B_EUNAVAILABLE, "", "the gateway has no vault key to open the "
				"service's credential with");
	rc = vault_secret_reveal(s, k, team, cred, t->authorization, e);
	if (rc == B_ENOTFOUND)
		return berr_set(e, B_EUNAVAILABLE, "", "the vault secret %s named by "
				"external_auth_credential_id is gone", cred);
	if (rc)
		return berr_set(e, B_EINTERNAL, "", "the vault secret %s does not decrypt", cred);
	t->has_auth = true;
	return B_OK;
}

int external_resolve(struct store *s, const struct vault_key *k, const char *agent_id,
		   const char *replica_id, struct external_target *t, struct berr *e)
{
	static const char sql[] =
		"SELECT c.team_id, c.external_url, c.external_auth_credential_id, c.deployed_spec,"
		" r.replica_state FROM replicas r JOIN container_services c ON c.id = r.service_id"
		" JOIN agents a ON a.id = r.agent_id AND a.team_id = c.team_id"
		" WHERE r.id = ?1 AND r.agent_id = ?2 AND c.service_type = 'external'";
	char team[UUID_STR_LEN + 1] = "", cred[UUID_STR_LEN + 1] = "";
	sqlite3_stmt *st;
	cJSON *spec = NULL;
	const char *url, *c;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!uuid_valid(replica_id) || !uuid_valid(agent_id))
		return berr_set(e, B_ENOTFOUND, "", "no egress replica %s on this agent", replica_id);
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, replica_id);
	store_bind_text(st, 2, agent_id);
	if ((rc = store_step(s, st, e)) != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc < 0 ? rc : berr_set(e, B_ENOTFOUND, "", "no egress replica %s on this "
					      "agent", replica_id);
	}
	snprintf(team, sizeof(team), "%s", store_col_text(st, 0));
	spec = cJSON_Parse(store_col_text(st, 3));
	url = deployed(spec, "external_url", store_col_text(st, 1));
	c = deployed(spec, "external_auth_credential_id",
		     sqlite3_column_type(st, 2) == SQLITE_NULL ? NULL : store_col_text(st, 2));
	if (url)
		snprintf(t->url, sizeof(t->url), "%s", url);
	if (c)
		snprintf(cred, sizeof(cred), "%s", c);
	rc = strcmp(store_col_text(st, 4), "healthy") == 0 ? B_OK :
		berr_set(e, B_EUNAVAILABLE, "", "egress replica %s is %s, not healthy", replica_id,
			 store_col_text(st, 4));
	sqlite3_reset(st);
	cJSON_Delete(spec);
	if (!rc && !t->url[0])
		rc = berr_set(e, B_EINTERNAL, "", "the service of replica %s has no external_url",
			      replica_id);
	if (!rc && cred[0])
		rc = external_reveal(s, k, team, cred, t, e);
	if (rc)
		external_target_wipe(t);
	return rc;
}

/* "host", "host:port", "[v6]" or "[v6]:port" (authority, len bytes) into u. */
static int external_authority(const char *a, size_t len, struct external_url *u, struct berr *e)
{
	const char *host = a, *colon, *end = a + len;
	size_t hlen;
	unsigned char addr[16];

	if (*a == '[') {
		const char *close = memchr(a, ']', len);

		if (!close || (close + 1 != end && close[1] != ':'))
			return berr_set(e, B_EINVAL, "external_url", "external_url has a bad IPv6 host");
		host = a + 1;
		hlen = (size_t)(close - host);
		colon = close + 1 == end ? NULL : close + 1;
	} else {
		colon = memchr(a, ':', len);
		hlen = (size_t)((colon ? colon : end) - a);
	}
	if (hlen == 0 || hlen > EXTERNAL_HOST_MAX)
		return berr_set(e, B_EINVAL, "external_url", "external_url has no usable host");
	memcpy(u->host, host, hlen);
	u->host[hlen] = '\0';
	u->port = 443;
	if (colon) {
		char digits[8];
		size_t n = (size_t)(end - colon - 1);
		long port;

		if (n == 0 || n >= sizeof(digits) || strspn(colon + 1, "0123456789") < n)
			return berr_set(e, B_EINVAL, "external_url", "external_url has a bad port");
		memcpy(digits, colon + 1, n);
		digits[n] = '\0';
		port = strtol(digits, NULL, 10);
		if (port < 1 || port > 65535)
			return berr_set(e, B_EINVAL, "external_url", "external_url has a bad port");
		u->port = (int)port;
	}
	u->host_is_ip = inet_pton(AF_INET, u->host, addr) == 1 ||
			inet_pton(AF_INET6, u->host, addr) == 1;
	if (*a == '[' && !u->host_is_ip)
		return berr_set(e, B_EINVAL, "external_url", "external_url has a bad IPv6 host");
	return B_OK;
}

int external_url_split(const char *url, const char *path, struct external_url *u, struct buf *target,
		     struct berr *e)
{
	const char *auth, *base, *bq, *pq;
	size_t alen, blen, plen;
	int rc;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "https://", 8) != 0)
		return berr_set(e, B_EINVAL, "external_url", "external_url is not an https:// URL");
	if (path[0] != '/')
		return berr_set(e, B_EINVAL, "path", "the path must start with /");
	auth = url + 8;
	alen = strcspn(auth, "/?#");
	if ((rc = external_authority(auth, alen, u, e)))
		return rc;
	base = auth + alen;
	blen = strcspn(base, "?#");
	bq = base[blen] == '?' ? base + blen + 1 : NULL;
	if (blen && base[blen - 1] == '/')
		blen--; /* "https://h/v1/" + "/x" is /v1/x */
	plen = strcspn(path, "?");
	pq = path[plen] == '?' ? path + plen + 1 : NULL;
	rc = buf_add(target, base, blen) | buf_add(target, path, plen);
	if (bq)
		rc |= buf_addf(target, "?%.*s", (int)strcspn(bq, "#"), bq);
	if (pq && *pq)
		rc |= buf_addf(target, "%s%s", bq ? "&" : "?", pq);
	if (rc)
		return berr_set(e, B_ETOOBIG, "path", "the request target is longer than %zu bytes",
				target->max);
	return B_OK;
}
