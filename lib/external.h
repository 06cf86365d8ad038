/* external.h: calls to external services (service_type external, API.md section 3). gatewayd's
 * side: what an egress replica stands for (its service's external_url and revealed vault
 * secret), sent to the agent as reserved stream headers. The agent's side: external_url plus
 * a caller's path as a host, port and request target. Connecting (TLS) is agent/egress.c's. */
#ifndef BERTH_EXTERNAL_H
#define BERTH_EXTERNAL_H

#include "berth.h"
#include "berth_limits.h"
#include "buf.h"
#include "err.h"
#include "store.h"
#include "vault.h"

/* Stream headers from gatewayd to the agent only (x-berth-* never come from a caller). */
#define EXTERNAL_HDR_URL "x-berth-egress-url"
#define EXTERNAL_HDR_AUTH "x-berth-egress-authorization"
#define EXTERNAL_HOST_MAX 255
#define EXTERNAL_TARGET_MAX ((size_t)64 * 1024)

/* What one egress call goes to. authorization holds a vault secret: wipe it with
 * external_target_wipe as soon as it has been handed on. */
struct external_target {
	char url[EXTERNAL_URL_MAX + 1];
	bool has_auth;                          /* the service names a vault secret */
	char authorization[VAULT_SECRET_MAX + 1];
};

/* The external URL and credential of egress replica replica_id, which must be on agent_id, be
 * healthy, and belong to an external service of the agent's own team; the deployed definition
 * (deployed_spec) wins over later edits, as for containers. B_ENOTFOUND when it is none of
 * that, B_EUNAVAILABLE when the replica is not healthy or its vault secret is gone,
 * B_EINTERNAL when the secret does not decrypt. Messages never hold the secret. */
int external_resolve(struct store *s, const struct vault_key *k, const char *agent_id,
		   const char *replica_id, struct external_target *t, struct berr *e) B_MUST_CHECK;
void external_target_wipe(struct external_target *t);

/* Where a call goes: host is a DNS name or an IP address (IPv6 without brackets). */
struct external_url {
	char host[EXTERNAL_HOST_MAX + 1];
	int port;                                /* 443 unless the URL says otherwise */
	bool host_is_ip;
};

/* url (https://host[:port][/base][?q]) and the caller's path ("/p[?q2]") into u and the
 * request target "/base/p?q&q2" (one slash between base and path) appended to target.
 * B_EINVAL when url is not such a URL or path does not start with "/"; B_ETOOBIG past
 * target's maximum. */
int external_url_split(const char *url, const char *path, struct external_url *u, struct buf *target,
		     struct berr *e) B_MUST_CHECK;

#endif
