/* fleet.h: a team's agents as the API lists them (GET /agents, GET /r/agents). Keeping the
 * rows true (connections, heartbeats, capacity) is gatewayd's job, not this module's. */
#ifndef BERTH_FLEET_H
#define BERTH_FLEET_H

#include "berth.h"
#include "err.h"
#include "store.h"

#include <cjson/cJSON.h>

/* One page of the team's agents by name into the array list; *total counts all. Each item:
 * agent_id (the name), agent_status, agent_labels, gpu_capacity, gpu_devices, platform_arch,
 * agent_version, connected_at, last_heartbeat (null until seen), running_count, and (berth)
 * runtime_status ("available" or "unavailable") with runtime_detail. */
int fleet_list(struct store *s, const char *team_id, int64_t offset, int64_t limit, cJSON *list,
	       long *total, struct berr *e) B_MUST_CHECK;

/* An agent dialled in: its row (team, name) is created or re-bound to the credential, and
 * its id copied to id. Status stays offline until fleet_agent_online. */
int fleet_agent_connect(struct store *s, const char *team_id, const char *name,
			const char *credential_id, char id[37], struct berr *e) B_MUST_CHECK;
/* The agent answered /v1/info: store what it said (labels, GPUs, arch, version) and mark it
 * online, connected and seen now. info is the /v1/info object. */
int fleet_agent_online(struct store *s, const char *id, const cJSON *info,
		       struct berr *e) B_MUST_CHECK;
/* Whether the agent can run containers now (its Docker engine answers), and why not. */
int fleet_agent_runtime(struct store *s, const char *id, bool ok, const char *detail,
			struct berr *e) B_MUST_CHECK;
int fleet_agent_heartbeat(struct store *s, const char *id, struct berr *e) B_MUST_CHECK;
int fleet_agent_offline(struct store *s, const char *id, struct berr *e) B_MUST_CHECK;
/* Marks every agent offline (gatewayd starting: no session survives a restart). */
int fleet_all_offline(struct store *s, struct berr *e) B_MUST_CHECK;

/* A replica row for service on agent, pending, holding gpu_ids (a JSON array text). */
int fleet_replica_add(struct store *s, const char *service_id, const char *agent_id,
		      const char *gpu_ids, char id[37], struct berr *e) B_MUST_CHECK;
/* Records what the agent reported of replica id (a stopping one leaves only as stopped);
 * *changed (unless NULL) says whether the row changed. B_ENOTFOUND when the store does not
 * know the replica on that agent (the agent should then remove it). */
int fleet_replica_report(struct store *s, const char *agent_id, const char *id,
			 const char *state, const char *detail, const char *container_id,
			 bool *changed, struct berr *e) B_MUST_CHECK;
int fleet_replica_set_state(struct store *s, const char *id, const char *state,
			    const char *detail, struct berr *e) B_MUST_CHECK;
/* Every replica of service_id not already stopping or stopped is set stopping with detail. */
int fleet_service_retire(struct store *s, const char *service_id, const char *detail,
			 struct berr *e) B_MUST_CHECK;
/* Number of replicas per state, as members of counts ({"healthy": 2, ...}). */
int fleet_replica_counts(struct store *s, cJSON *counts, struct berr *e) B_MUST_CHECK;
int fleet_replica_delete(struct store *s, const char *id, struct berr *e) B_MUST_CHECK;

#endif
