#include "berth.h"
#include "route.h"
#include "catalog.h"
#include "clock.h"
#include "fleet.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* What this process knows of a replica; threads share it. */
struct seen {
	char replica_id[UUID_STR_LEN + 1];
	int in_flight;
	int64_t skip_until_ms;
	uint64_t last_pick;   /* when it was last chosen: ties go to the longest ago */
	uint64_t touched;     /* when it was last looked at: the stalest idle entry makes room */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct seen table[ROUTE_TABLE_MAX];
static uint64_t picks, touches;

/* The entry for id; a new one takes a free slot, else the idle one looked at longest ago.
 * Under mu. */
static struct seen *seen_get(const char *id)
{
	struct seen *victim = NULL;

	for (size_t i = 0; i < ROUTE_TABLE_MAX; i++) {
		struct seen *s = &table[i];

		if (strcmp(s->replica_id, id) == 0) {
			s->touched = ++touches;
			return s;
		}
		if (s->in_flight == 0 && (!victim || s->touched < victim->touched))
			victim = s;
	}
	if (!victim)
		return NULL; /* every slot busy: the caller goes without bookkeeping */
	memset(victim, 0, sizeof(*victim));
	snprintf(victim->replica_id, sizeof(victim->replica_id), "%s", id);
	victim->touched = ++touches;
	return victim;
}

int route_resolve(struct store *s, const char *team_id, const char *slug, struct route *rt,
		  struct berr *e)
{
	cJSON *svc = NULL, *reps = cJSON_CreateArray(), *r;
	const char *status, *type;
	int rc = catalog_get_by_slug(s, team_id, slug, &svc, e);

	memset(rt, 0, sizeof(*rt));
	if (rc)
		goto out;
	status = cJSON_GetStringValue(cJSON_GetObjectItem(svc, "service_status"));
	type = cJSON_GetStringValue(cJSON_GetObjectItem(svc, "service_type"));
	snprintf(rt->service_id, sizeof(rt->service_id), "%s",
		 cJSON_GetStringValue(cJSON_GetObjectItem(svc, "id")));
	rt->egress = type && strcmp(type, "external") == 0;
	if (!status || strcmp(status, "running") != 0) {
		rc = berr_set(e, B_ECONFLICT, "service_status", "service %s is %s, not running", slug,
			      status ? status : "unknown");
		goto out;
	}
	if ((rc = fleet_healthy_replicas(s, rt->service_id, reps, e)))
		goto out;
	cJSON_ArrayForEach(r, reps) {
		struct route_target *t = &rt->reps[rt->n];

		if (rt->n == ROUTE_REPLICAS_MAX)
			break;
		snprintf(t->agent_id, sizeof(t->agent_id), "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(r, "agent_id")));
		snprintf(t->replica_id, sizeof(t->replica_id), "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(r, "replica_id")));
		rt->n++;
	}
	if (rt->n == 0)
		rc = berr_set(e, B_EUNAVAILABLE, "", "service %s has no healthy replica", slug);
out:
	cJSON_Delete(svc);
	cJSON_Delete(reps);
	return rc;
}

/* Lower is better: a replica set aside counts after every other, then fewer in flight, then
 * the one picked longest ago. */
static bool better(const struct seen *a, const struct seen *b, int64_t now)
{
	bool a_skip = a && a->skip_until_ms > now, b_skip = b && b->skip_until_ms > now;
	int a_in = a ? a->in_flight : 0, b_in = b ? b->in_flight : 0;
	uint64_t a_last = a ? a->last_pick : 0, b_last = b ? b->last_pick : 0;

	if (a_skip != b_skip)
		return !a_skip;
	if (a_in != b_in)
		return a_in < b_in;
	return a_last < b_last;
}

struct route_target *route_next(struct route *rt)
{
	struct route_target *best = NULL;
	struct seen *best_seen = NULL;
	int64_t now = clock_mono_ms();

	pthread_mutex_lock(&mu);
	for (int i = 0; i < rt->n; i++) {
		struct seen *s;

		if (rt->reps[i].tried)
			continue;
		s = seen_get(rt->reps[i].replica_id);
		if (!best || better(s, best_seen, now)) {
			best = &rt->reps[i];
			best_seen = s;
		}
	}
	if (best) {
		best->tried = true;
		if (best_seen) {
			best_seen->in_flight++;
			best_seen->last_pick = ++picks;
		}
	}
	pthread_mutex_unlock(&mu);
	return best;
}

void route_done(const struct route_target *t, bool unreachable)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < ROUTE_TABLE_MAX; i++) {
		if (strcmp(table[i].replica_id, t->replica_id) != 0)
			continue;
		if (table[i].in_flight > 0)
			table[i].in_flight--;
		if (unreachable)
			table[i].skip_until_ms = clock_mono_ms() + ROUTE_SKIP_MS;
		break;
	}
	pthread_mutex_unlock(&mu);
}

bool route_url(const struct route *rt, const struct route_target *t, const char *path, char *out,
	       size_t n)
{
	int len = snprintf(out, n, "http://gatewayd/agents/%s/v1/%s/%s%s", t->agent_id,
			   rt->egress ? "egress" : "proxy", t->replica_id, path);

	return len > 0 && (size_t)len < n;
}

int route_in_flight(const char *replica_id)
{
	int n = 0;

	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < ROUTE_TABLE_MAX; i++)
		if (strcmp(table[i].replica_id, replica_id) == 0)
			n = table[i].in_flight;
	pthread_mutex_unlock(&mu);
	return n;
}
