#include "berth.h"
#include "sched.h"
#include "catalog.h"
#include "clock.h"
#include "fleet.h"
#include "json.h"
#include "log.h"
#include "svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_STATES "('pending', 'pulling', 'starting', 'healthy', 'unhealthy')"
/* the detail of a replica told to go while its agent is offline */
#define AWAITING_AGENT "its agent is offline: the container is removed when the agent is back"

void sched_plan_free(struct sched_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->cmds[i].spec);
	free(p->cmds);
	memset(p, 0, sizeof(*p));
}

static void plan_add(struct sched_plan *p, enum sched_op op, const char *agent,
		     const char *replica, char *spec)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		p->cmds = realloc(p->cmds, p->cap * sizeof(*p->cmds));
		if (!p->cmds)
			abort();
	}
	p->cmds[p->n].op = op;
	snprintf(p->cmds[p->n].agent_id, sizeof(p->cmds[p->n].agent_id), "%s", agent);
	snprintf(p->cmds[p->n].replica_id, sizeof(p->cmds[p->n].replica_id), "%s", replica);
	p->cmds[p->n].spec = spec;
	p->n++;
}

static bool has_labels(const cJSON *have, const cJSON *need)
{
	const cJSON *n, *h;

	cJSON_ArrayForEach(n, need) {
		bool found = false;

		cJSON_ArrayForEach(h, have)
			if (cJSON_IsString(h) && strcmp(h->valuestring, n->valuestring) == 0)
				found = true;
		if (!found)
			return false;
	}
	return true;
}

/* The GPUs a replica needing gpus would get on a, as a JSON array text; NULL if they are
 * not free. -1 takes the whole host and needs every GPU free. */
static char *gpus_fit(const struct sched_agent *a, int gpus)
{
	cJSON *ids = cJSON_CreateArray();
	int cap = a->gpu_capacity < SCHED_GPU_MAX ? a->gpu_capacity : SCHED_GPU_MAX;
	int want = gpus < 0 ? cap : gpus, got = 0;
	char *out = NULL;

	for (int i = 0; i < cap && got < want; i++) {
		char idx[8];

		if (a->gpu_used[i]) {
			if (gpus < 0)
				break;
			continue;
		}
		snprintf(idx, sizeof(idx), "%d", i);
		cJSON_AddItemToArray(ids, cJSON_CreateString(idx));
		got++;
	}
	if (got == want && !(gpus < 0 && cap == 0))
		out = json_print(ids);
	cJSON_Delete(ids);
	return out;
}

int sched_pick(struct sched_agent *agents, size_t n, const cJSON *required, int gpus,
	       char **gpu_ids)
{
	int best = -1;

	*gpu_ids = NULL;
	for (size_t i = 0; i < n; i++) {
		struct sched_agent *a = &agents[i];
		char *ids;

		if (!has_labels(a->labels, required) || !(ids = gpus_fit(a, gpus)))
			continue;
		if (best < 0 || a->of_service < agents[best].of_service ||
		    (a->of_service == agents[best].of_service && a->total < agents[best].total)) {
			best = (int)i;
			free(*gpu_ids);
			*gpu_ids = ids;
		} else {
			free(ids);
		}
	}
	return best;
}

/* Replicas of agents offline past the grace period, or of agents that are gone, are lost. */
static int sched_mark_lost(struct store *s, const struct sched_opts *o, struct berr *e)
{
	static const char sql[] =
		"UPDATE replicas SET replica_state = 'lost', replica_detail = 'the agent went"
		" offline', updated_at = ?1 WHERE replica_state IN " LIVE_STATES " AND (agent_id IS"
		" NULL OR agent_id IN (SELECT id FROM agents WHERE agent_status = 'offline' AND"
		" COALESCE(last_heartbeat, 0) < ?1 - ?2))";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	store_bind_int(st, 1, clock_now());
	store_bind_int(st, 2, o->grace_s);
	return store_exec_stmt(s, st, e);
}

/* What the deploy took (deployed_spec) replaces the live definition's fields: a PUT made
 * since then waits for the next deploy. States and ids stay the live row's. */
static void overlay_deployed(cJSON *svc, const char *deployed)
{
	static const char *const keep[] = {"id", "service_status", "status_detail", "created_at",
					   "updated_at", "service_slug", "service_type"};
	cJSON *spec = cJSON_Parse(deployed), *f;

	cJSON_ArrayForEach(f, spec) {
		size_t i;

		for (i = 0; i < B_ARRAY_LEN(keep); i++)
			if (strcmp(f->string, keep[i]) == 0)
				break;
		if (i == B_ARRAY_LEN(keep) && cJSON_GetObjectItemCaseSensitive(svc, f->string))
			cJSON_ReplaceItemInObjectCaseSensitive(svc, f->string, cJSON_Duplicate(f, true));
	}
	cJSON_Delete(spec);
}

/* The services to reconcile, as definitions with "team_id" added. */
static int sched_services(struct store *s, cJSON *out, struct berr *e)
{
	static const char sql[] =
		"SELECT " SVC_COLUMNS ", team_id, deployed_spec FROM container_services s"
		" WHERE (service_status IN ('deploying', 'running', 'stopping') OR (service_status IN"
		" ('failed', 'stopped') AND EXISTS (SELECT 1 FROM replicas r WHERE r.service_id ="
		" s.id)))"
		" ORDER BY id";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	if (!st)
		return B_ESTORE;
	while ((rc = store_step(s, st, e)) == SQLITE_ROW) {
		cJSON *svc = svc_from_row(st);

		cJSON_AddStringToObject(svc, "team_id", store_col_text(st, 21));
		overlay_deployed(svc, store_col_text(st, 22));
		/* the deploy deadline counts from the last state change */
		cJSON_AddNumberToObject(svc, "updated_unix", (double)sqlite3_column_int64(st, 20));
		cJSON_AddItemToArray(out, svc);
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

/* A service's replicas: {id, agent_id, state, detail, gpu_ids, online, agent_name,
 * created_unix}. */
static int sched_replicas(struct store *s, const char *service_id, cJSON *out, struct berr *e)
{
	static const char sql[] =
		"SELECT r.id, COALESCE(r.agent_id, ''), r.replica_state, r.replica_detail, r.gpu_ids,"
		" COALESCE(a.agent_status = 'online', 0), COALESCE(a.agent_name, ''), r.created_at"
		" FROM replicas r"
		" LEFT JOIN agents a ON a.id = r.agent_id WHERE r.service_id = ? ORDER BY r.id";
	static const char *const names[] = {"id", "agent_id", "state", "detail", "gpu_ids"};
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, service_id);
	while ((rc = store_step(s, st, e)) == SQLITE_ROW) {
		cJSON *r = cJSON_CreateObject();

		for (int i = 0; i < 5; i++)
			cJSON_AddStringToObject(r, names[i], store_col_text(st, i));
		cJSON_AddBoolToObject(r, "online", sqlite3_column_int(st, 5));
		cJSON_AddStringToObject(r, "agent_name", store_col_text(st, 6));
		cJSON_AddNumberToObject(r, "created_unix", (double)sqlite3_column_int64(st, 7));
		cJSON_AddItemToArray(out, r);
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

static const char *jstr(const cJSON *o, const char *name)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, name));

	return v ? v : "";
}

/* An external service has one egress replica: no container, no GPUs, any eligible agent. */
static bool is_external(const cJSON *svc)
{
	return strcmp(jstr(svc, "service_type"), "external") == 0;
}

static bool is_live(const char *state)
{
	static const char *const live[] = {"pending", "pulling", "starting", "healthy", "unhealthy"};

	for (size_t i = 0; i < B_ARRAY_LEN(live); i++)
		if (strcmp(state, live[i]) == 0)
			return true;
	return false;
}

/* The spec the agent gets in PUT /v1/replicas/{id}; free() it. An egress replica's is only
 * {service_id, service_type}: its URL and secret come with each call, so the agent keeps none. */
static char *sched_spec(const cJSON *svc, const char *gpu_ids)
{
	static const char *const copy[] = {"docker_image", "env_config", "volume_config",
					   "exposed_port", "health_path", "gpu_count"};
	cJSON *spec = cJSON_CreateObject(), *ids;
	char *out;

	cJSON_AddStringToObject(spec, "service_id", jstr(svc, "id"));
	if (is_external(svc)) {
		cJSON_AddStringToObject(spec, "service_type", "external");
		out = json_print(spec);
		cJSON_Delete(spec);
		return out;
	}
	ids = cJSON_Parse(gpu_ids);
	for (size_t i = 0; i < B_ARRAY_LEN(copy); i++)
		cJSON_AddItemToObject(spec, copy[i],
				      cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(svc, copy[i]), true));
	cJSON_AddItemToObject(spec, "gpu_ids", cJSON_IsArray(ids) ? ids : cJSON_CreateArray());
	if (!cJSON_IsArray(ids))
		cJSON_Delete(ids);
	out = json_print(spec);
	cJSON_Delete(spec);
	return out;
}

/* Moves the service to state (with detail) unless someone else moved it first. */
static int sched_set_service(struct store *s, const cJSON *svc, const char *state,
			     const char *detail, struct berr *e)
{
	static const char sql[] =
		"UPDATE container_services SET service_status = ?3, status_detail = ?4,"
		" updated_at = CASE WHEN service_status = ?3 THEN updated_at ELSE ?5 END"
		" WHERE id = ?1 AND service_status = ?2 AND (service_status != ?3 OR"
		" status_detail != ?4)";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, jstr(svc, "id"));
	store_bind_text(st, 2, jstr(svc, "service_status"));
	store_bind_text(st, 3, state);
	store_bind_text(st, 4, detail);
	store_bind_int(st, 5, clock_now());
	return store_exec_stmt(s, st, e);
}

/* Marks the GPUs listed in ids (a JSON array of index strings) as held on a. */
static void mark_gpus(struct sched_agent *a, const char *ids)
{
	cJSON *arr = cJSON_Parse(ids), *id;

	cJSON_ArrayForEach(id, arr) {
		char *end = NULL;
		long g = cJSON_IsString(id) ? strtol(id->valuestring, &end, 10) : -1;

		if (end && *end)
			continue; /* not an index berth wrote */

		if (g >= 0 && g < SCHED_GPU_MAX)
			a->gpu_used[g] = true;
	}
	cJSON_Delete(arr);
}

/* The team's online agents, with the GPUs their live replicas hold and their replica counts
 * (of service_id, and in all). Only those whose container runtime answers, unless runtime is
 * false (egress needs none). *out is freed with agents_free. */
static int sched_agents(struct store *s, const char *team_id, const char *service_id,
			bool runtime, struct sched_agent **out, size_t *n, struct berr *e)
{
	static const char agents_sql[] =
		"SELECT id, agent_labels, gpu_capacity FROM agents WHERE team_id = ?1"
		" AND agent_status = 'online' AND (runtime_ok = 1 OR ?2 = 0) ORDER BY agent_name";
	/* a replica still stopping holds its GPUs until its container is gone */
	static const char used_sql[] =
		"SELECT r.agent_id, r.service_id, r.gpu_ids, r.replica_state = 'stopping' FROM"
		" replicas r JOIN agents a ON a.id = r.agent_id WHERE a.team_id = ? AND"
		" (r.replica_state IN " LIVE_STATES " OR r.replica_state = 'stopping')";
	sqlite3_stmt *st = store_stmt(s, agents_sql, e);
	struct sched_agent *a = NULL;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_int(st, 2, runtime);
	while ((rc = store_step(s, st, e)) == SQLITE_ROW) {
		a = realloc(a, (k + 1) * sizeof(*a));
		if (!a)
			abort();
		memset(&a[k], 0, sizeof(*a));
		snprintf(a[k].id, sizeof(a[k].id), "%s", store_col_text(st, 0));
		a[k].labels = cJSON_Parse(store_col_text(st, 1));
		a[k].gpu_capacity = sqlite3_column_int(st, 2);
		k++;
	}
	sqlite3_reset(st);
	*out = a;
	*n = k;
	if (rc < 0 || !(st = store_stmt(s, used_sql, e)))
		return rc < 0 ? rc : B_ESTORE;
	store_bind_text(st, 1, team_id);
	while ((rc = store_step(s, st, e)) == SQLITE_ROW) {
		for (size_t i = 0; i < k; i++) {
			if (strcmp(a[i].id, store_col_text(st, 0)) != 0)
				continue;
			mark_gpus(&a[i], store_col_text(st, 2));
			if (sqlite3_column_int(st, 3))
				continue; /* going: not counted for spreading */
			a[i].total++;
			a[i].of_service += strcmp(store_col_text(st, 1), service_id) == 0;
		}
	}
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

static void agents_free(struct sched_agent *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(a[i].labels);
	free(a);
}

/* Undeploying, cleaning up after a failure, or a stopped service with replicas left on agents
 * that were offline: every replica is told to go; rows go once stopped, or with their agent
 * when it is deleted. One on an agent that is offline stays stopping, holding its GPUs, until
 * the agent is back and removes its container (it may still run there); the service does not
 * wait for it. An undeployed service is then stopped; a failed one stays failed. */
static int sched_stopping(struct store *s, const cJSON *svc, const cJSON *reps,
			  struct sched_plan *p, struct berr *e)
{
	const cJSON *r;
	int left = 0, rc = B_OK;

	cJSON_ArrayForEach(r, reps) {
		const char *state = jstr(r, "state");
		bool online = cJSON_IsTrue(cJSON_GetObjectItem(r, "online"));

		if (strcmp(state, "stopped") == 0 || !*jstr(r, "agent_id")) {
			rc = fleet_replica_delete(s, jstr(r, "id"), e);
		} else if (!online) {
			if (strcmp(state, "stopping") != 0)
				rc = fleet_replica_set_state(s, jstr(r, "id"), "stopping",
							     AWAITING_AGENT, e);
		} else {
			left++;
			if (strcmp(state, "stopping") != 0 ||
			    strcmp(jstr(r, "detail"), AWAITING_AGENT) == 0)
				rc = fleet_replica_set_state(s, jstr(r, "id"), "stopping",
							     "removing the container", e);
			plan_add(p, SCHED_DELETE, jstr(r, "agent_id"), jstr(r, "id"), NULL);
		}
		if (rc)
			return rc;
	}
	if (left || strcmp(jstr(svc, "service_status"), "stopping") != 0)
		return B_OK;
	return sched_set_service(s, svc, "stopped", "", e);
}

/* Places up to need replicas; *unplaced says how many found no agent, *online how many of
 * the team's agents could take one at all (online, with a container runtime unless
 * external). */
static int sched_place(struct store *s, const cJSON *svc, int need, struct sched_plan *p,
		       int *unplaced, size_t *online, struct berr *e)
{
	struct sched_agent *agents = NULL;
	size_t n = 0;
	bool external = is_external(svc);
	int rc = sched_agents(s, jstr(svc, "team_id"), jstr(svc, "id"), !external, &agents, &n, e);
	int gpus = external ? 0 : cJSON_GetObjectItem(svc, "gpu_count")->valueint;

	*unplaced = need;
	while (!rc && *unplaced > 0) {
		char *ids, id[UUID_STR_LEN + 1];
		int k = sched_pick(agents, n, cJSON_GetObjectItem(svc, "required_labels"), gpus, &ids);

		if (k < 0)
			break;
		rc = fleet_replica_add(s, jstr(svc, "id"), agents[k].id, ids, id, e);
		if (!rc) {
			plan_add(p, SCHED_PUT, agents[k].id, id, sched_spec(svc, ids));
			agents[k].of_service++;
			agents[k].total++;
			mark_gpus(&agents[k], ids);
			(*unplaced)--;
		}
		free(ids);
	}
	agents_free(agents, n);
	*online = n;
	return rc;
}

struct tally {
	int live, healthy;
	int64_t placed_at;     /* when the oldest live replica was placed; 0: none is */
	const cJSON *failed;   /* the first failed replica */
	const cJSON *progress; /* the first live one not healthy yet: what it is doing */
};

/* Tells one replica to go: stopping, and DELETE to its agent. */
static int sched_retire(struct store *s, const cJSON *r, const char *why, struct sched_plan *p,
			struct berr *e)
{
	plan_add(p, SCHED_DELETE, jstr(r, "agent_id"), jstr(r, "id"), NULL);
	return fleet_replica_set_state(s, jstr(r, "id"), "stopping", why, e);
}

/* More live replicas than wanted (a lost agent came back with its containers): the surplus
 * goes, replicas that are not healthy first, then the newest. */
static int sched_trim(struct store *s, const cJSON *reps, int surplus, struct sched_plan *p,
		      struct berr *e)
{
	const cJSON *r;
	int rc = B_OK;

	for (int pass = 0; pass < 2 && surplus > 0 && !rc; pass++) {
		for (int i = cJSON_GetArraySize(reps) - 1; i >= 0 && surplus > 0 && !rc; i--) {
			const char *state;

			r = cJSON_GetArrayItem(reps, i);
			state = jstr(r, "state");
			if (!is_live(state) || !cJSON_IsTrue(cJSON_GetObjectItem(r, "online")) ||
			    (pass == 0 && strcmp(state, "healthy") == 0))
				continue;
			rc = sched_retire(s, r, "more replicas than replica_count", p, e);
			surplus--;
		}
	}
	return rc;
}

/* Counts the replicas and asks again for those the agent has not acknowledged yet. */
static void sched_tally(const cJSON *svc, const cJSON *reps, struct sched_plan *p,
			struct tally *t)
{
	const cJSON *r;
	char *spec;

	memset(t, 0, sizeof(*t));
	cJSON_ArrayForEach(r, reps) {
		const char *state = jstr(r, "state");

		if (strcmp(state, "stopping") == 0 && cJSON_IsTrue(cJSON_GetObjectItem(r, "online")))
			plan_add(p, SCHED_DELETE, jstr(r, "agent_id"), jstr(r, "id"), NULL);
		t->live += is_live(state);
		t->healthy += strcmp(state, "healthy") == 0;
		if (is_live(state)) {
			int64_t at = (int64_t)cJSON_GetObjectItem(r, "created_unix")->valuedouble;

			if (!t->placed_at || at < t->placed_at)
				t->placed_at = at;
		}
		if (is_live(state) && strcmp(state, "healthy") != 0 && !t->progress)
			t->progress = r;
		if (strcmp(state, "failed") == 0 && !t->failed)
			t->failed = r;
		if (strcmp(state, "pending") == 0 && cJSON_IsTrue(cJSON_GetObjectItem(r, "online"))) {
			spec = sched_spec(svc, jstr(r, "gpu_ids")); /* PUT is idempotent */
			plan_add(p, SCHED_PUT, jstr(r, "agent_id"), jstr(r, "id"), spec);
		}
	}
}

/* Replicas that finished stopping (trimmed ones, a deploy's predecessors) leave the store, as
 * do those still stopping on an agent that was deleted. One offline keeps them: back, it gets
 * the DELETE again, and until then their GPUs are not placed (the agent is not eligible). */
static int sched_forget_stopped(struct store *s, const cJSON *reps, struct berr *e)
{
	const cJSON *r;
	int rc = B_OK;

	cJSON_ArrayForEach(r, reps) {
		const char *state = jstr(r, "state");

		if (!rc && (strcmp(state, "stopped") == 0 ||
			    (strcmp(state, "stopping") == 0 && !*jstr(r, "agent_id"))))
			rc = fleet_replica_delete(s, jstr(r, "id"), e);
	}
	return rc;
}

/* Deploying or running: replace what is missing, then say where the service stands. */
static int sched_running(struct store *s, const struct sched_opts *o, const cJSON *svc,
			 const cJSON *reps, struct sched_plan *p, struct berr *e)
{
	int want = is_external(svc) ? 1 : cJSON_GetObjectItem(svc, "replica_count")->valueint;
	int unplaced = 0, rc;
	size_t online = 0;
	bool running = strcmp(jstr(svc, "service_status"), "running") == 0;
	char detail[512];
	struct tally t;
	int64_t since;

	sched_tally(svc, reps, p, &t);
	if (t.failed) {
		snprintf(detail, sizeof(detail), "replica on agent %s failed: %s",
			 jstr(t.failed, "agent_name"), jstr(t.failed, "detail"));
		return sched_set_service(s, svc, "failed", detail, e);
	}
	if (t.live < want && (rc = sched_place(s, svc, want - t.live, p, &unplaced, &online, e)))
		return rc;
	if (t.live > want && (rc = sched_trim(s, reps, t.live - want, p, e)))
		return rc;
	if ((rc = sched_forget_stopped(s, reps, e)))
		return rc;
	if (t.healthy >= want)
		return sched_set_service(s, svc, "running", "", e);
	/* a deploy with nowhere to go waits for an agent as long as it takes (API.md); one that
	 * was placed and never came up fails, the deadline counted from the placement */
	since = (int64_t)cJSON_GetObjectItem(svc, "updated_unix")->valuedouble;
	if (t.placed_at > since)
		since = t.placed_at;
	if (!running && t.live > 0 && t.healthy == 0 && clock_now() - since > o->deploy_deadline_s) {
		snprintf(detail, sizeof(detail), "no replica became healthy within %ld s",
			 o->deploy_deadline_s);
		return sched_set_service(s, svc, "failed", detail, e);
	}
	if (unplaced == want) {
		size_t len;

		catalog_wait_detail(svc, detail, sizeof(detail));
		len = strlen(detail);
		/* not one to wait for yet: say so, a team's first deploy meets this */
		if (online == 0)
			snprintf(detail + len, sizeof(detail) - len, "; none of the team's agents is "
				 "online%s", is_external(svc) ? "" : " with a working container runtime");
	} else if (t.progress && !unplaced) {
		/* a pull's progress or a health probe's wait, as the agent reports it */
		snprintf(detail, sizeof(detail), "%d of %d replicas healthy; on %s: %s", t.healthy,
			 want, jstr(t.progress, "agent_name"), jstr(t.progress, "detail"));
	} else {
		snprintf(detail, sizeof(detail), "%d of %d replicas healthy%s", t.healthy, want,
			 unplaced ? "; waiting for an eligible agent for the rest" : "");
	}
	return sched_set_service(s, svc, running && t.healthy ? "running" : "deploying", detail, e);
}

static int sched_one(struct store *s, const struct sched_opts *o, const cJSON *svc,
		     struct sched_plan *p, struct berr *e)
{
	cJSON *reps = cJSON_CreateArray();
	int rc = sched_replicas(s, jstr(svc, "id"), reps, e);

	if (!rc && (strcmp(jstr(svc, "service_status"), "stopping") == 0 ||
		    strcmp(jstr(svc, "service_status"), "failed") == 0 ||
		    strcmp(jstr(svc, "service_status"), "stopped") == 0))
		rc = sched_stopping(s, svc, reps, p, e);
	else if (!rc)
		rc = sched_running(s, o, svc, reps, p, e);
	cJSON_Delete(reps);
	return rc;
}

int sched_reconcile(struct store *s, const struct sched_opts *o, struct sched_plan *p,
		    struct berr *e)
{
	cJSON *svcs = cJSON_CreateArray(), *svc;
	int rc;

	if ((rc = store_begin(s, e)))
		goto out;
	if ((rc = sched_mark_lost(s, o, e)) || (rc = sched_services(s, svcs, e))) {
		store_rollback(s);
		goto out;
	}
	cJSON_ArrayForEach(svc, svcs)
		if ((rc = sched_one(s, o, svc, p, e)))
			break;
	if (rc)
		store_rollback(s);
	else
		rc = store_commit(s, e);
out:
	cJSON_Delete(svcs);
	return rc;
}
