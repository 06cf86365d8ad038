#include "berth.h"
#include "route.h"
#include "clock.h"

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

/* One statement, so one read transaction: the service, then one row per healthy replica on
 * an online agent (NULLs when it has none). */
int route_resolve(struct store *s, const char *team_id, const char *slug, struct route *rt,
		  struct berr *e)
{
	static const char sql[] =
		"SELECT s.id, s.service_status, s.service_type, r.id, r.agent_id"
		" FROM container_services s LEFT JOIN replicas r ON r.service_id = s.id"
		" AND r.replica_state = 'healthy' AND EXISTS (SELECT 1 FROM agents a"
		" WHERE a.id = r.agent_id AND a.agent_status = 'online')"
		" WHERE s.team_id = ? AND s.service_slug = ? ORDER BY r.id";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	char status[32] = "";
	int rc;

	memset(rt, 0, sizeof(*rt));
	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_text(st, 2, slug);
	while ((rc = store_step(s, st, e)) == SQLITE_ROW) {
		struct route_target *t = &rt->reps[rt->n];

		if (!rt->service_id[0]) {
			snprintf(rt->service_id, sizeof(rt->service_id), "%s", store_col_text(st, 0));
			snprintf(status, sizeof(status), "%s", store_col_text(st, 1));
			rt->egress = strcmp(store_col_text(st, 2), "external") == 0;
		}
		if (sqlite3_column_type(st, 3) == SQLITE_NULL || rt->n == ROUTE_REPLICAS_MAX)
			continue;
		snprintf(t->replica_id, sizeof(t->replica_id), "%s", store_col_text(st, 3));
		snprintf(t->agent_id, sizeof(t->agent_id), "%s", store_col_text(st, 4));
		rt->n++;
	}
	sqlite3_reset(st);
	if (rc < 0)
		return rc;
	if (!rt->service_id[0])
		return berr_set(e, B_ENOTFOUND, "", "no container service %s in this team", slug);
	if (strcmp(status, "running") != 0)
		return berr_set(e, B_ECONFLICT, "service_status", "service %s is %s, not running",
				slug, status);
	if (rt->n == 0)
		return berr_set(e, B_EUNAVAILABLE, "", "service %s has no healthy replica", slug);
	return B_OK;
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
