/* route.h: which replica takes a runtime call (issue 5, "Replica choice"). The service, found
 * by (team, slug), must be running; among its healthy replicas on online agents the one with
 * the fewest calls in flight from this process goes first, ties round-robin; a replica that
 * could not be reached is skipped for a while. Calling it is tunnel.c's. */
#ifndef BERTH_ROUTE_H
#define BERTH_ROUTE_H

#include "berth.h"
#include "err.h"
#include "store.h"
#include "uuid.h"

#define ROUTE_REPLICAS_MAX 64     /* replica_count's ceiling (API.md) */
#define ROUTE_SKIP_MS 10000       /* an unreachable replica sits out this long */
#define ROUTE_TABLE_MAX 1024      /* replicas this process remembers */

struct route_target {
	char agent_id[UUID_STR_LEN + 1];
	char replica_id[UUID_STR_LEN + 1];
	bool tried;
};

struct route {
	char service_id[UUID_STR_LEN + 1];
	bool egress;                       /* an external service: /v1/egress on its agent */
	struct route_target reps[ROUTE_REPLICAS_MAX];
	int n;
};

/* The running service's healthy replicas: 404 unknown slug, 409 not running, 503 none healthy. */
int route_resolve(struct store *s, const char *team_id, const char *slug, struct route *rt,
		  struct berr *e) B_MUST_CHECK;
/* The next replica to try (counted in flight until route_done), or NULL when none is left. */
struct route_target *route_next(struct route *rt);
/* The call on t is over; unreachable sets it aside for ROUTE_SKIP_MS. */
void route_done(const struct route_target *t, bool unreachable);
/* gatewayd's URL for path on t: http://gatewayd/agents/<agent>/v1/{proxy|egress}/<replica><path>.
 * False when it does not fit in n. */
bool route_url(const struct route *rt, const struct route_target *t, const char *path, char *out,
	       size_t n);
/* Calls in flight on a replica from this process (for tests). */
int route_in_flight(const char *replica_id);

#endif
