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
 * agent_version, connected_at, last_heartbeat (null until seen), running_count. */
int fleet_list(struct store *s, const char *team_id, long offset, long limit, cJSON *list,
	       long *total, struct berr *e) B_MUST_CHECK;

#endif
