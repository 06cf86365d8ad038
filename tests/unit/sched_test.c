/* sched_test.c: the scheduler (lib/sched.c): sched_pick on hand-built agents (labels, GPUs,
 * spread), then sched_reconcile against a real temporary SQLite file: placement, idempotent
 * re-sends, state changes, failures, undeploy, lost agents, surplus and deployed_spec. */
#include "berth.h"
#include "fixture.h"
#include "sched.h"
#include "acct.h"
#include "catalog.h"
#include "crypto.h"
#include "fleet.h"
#include "json.h"
#include "store.h"
#include "svc.h"
#include "uuid.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- sched_pick ---- */

#define AGENTS_MAX 4

static struct sched_agent agents[AGENTS_MAX];
static cJSON *required;
static char *gpu_ids;

static void pick_setup(void)
{
	memset(agents, 0, sizeof(agents));
	required = NULL;
	gpu_ids = NULL;
}

static void pick_teardown(void)
{
	for (size_t i = 0; i < AGENTS_MAX; i++)
		cJSON_Delete(agents[i].labels);
	cJSON_Delete(required);
	free(gpu_ids);
}

TestSuite(sched_pick, .init = pick_setup, .fini = pick_teardown);

static void agent(int i, const char *labels, int gpu_capacity)
{
	snprintf(agents[i].id, sizeof(agents[i].id), "agent-%d", i);
	agents[i].labels = cJSON_Parse(labels);
	cr_assert(not(eq(ptr, agents[i].labels, NULL)), "labels do not parse: %s", labels);
	agents[i].gpu_capacity = gpu_capacity;
}

static int pick(size_t n, const char *need, int gpus)
{
	cJSON_Delete(required);
	required = cJSON_Parse(need);
	cr_assert(not(eq(ptr, required, NULL)), "required does not parse: %s", need);
	free(gpu_ids);
	gpu_ids = NULL;
	return sched_pick(agents, n, required, gpus, &gpu_ids);
}

Test(sched_pick, no_agents_is_no_fit)
{
	cr_assert(eq(int, pick(0, "[]", 0), -1));
	cr_assert(eq(ptr, gpu_ids, NULL));
}

Test(sched_pick, empty_requirement_fits_any_agent)
{
	agent(0, "[]", 0);
	cr_assert(eq(int, pick(1, "[]", 0), 0));
}

Test(sched_pick, required_labels_present_fit)
{
	agent(0, "[\"gpu\",\"h100\"]", 0);
	cr_assert(eq(int, pick(1, "[\"h100\",\"gpu\"]", 0), 0));
}

Test(sched_pick, extra_agent_labels_are_fine)
{
	agent(0, "[\"gpu\",\"h100\",\"eu\"]", 0);
	cr_assert(eq(int, pick(1, "[\"gpu\"]", 0), 0));
}

Test(sched_pick, one_missing_label_is_no_fit)
{
	agent(0, "[\"gpu\"]", 0);
	cr_assert(eq(int, pick(1, "[\"gpu\",\"h100\"]", 0), -1));
	cr_assert(eq(ptr, gpu_ids, NULL));
}

Test(sched_pick, labels_choose_the_agent_that_has_them)
{
	agent(0, "[\"cpu\"]", 0);
	agent(1, "[\"gpu\"]", 0);
	cr_assert(eq(int, pick(2, "[\"gpu\"]", 0), 1));
}

Test(sched_pick, zero_gpus_fit_an_agent_without_gpus)
{
	agent(0, "[]", 0);
	cr_assert(eq(int, pick(1, "[]", 0), 0));
	cr_assert(eq(str, gpu_ids, "[]"));
}

Test(sched_pick, zero_gpus_fit_an_agent_with_every_gpu_used)
{
	agent(0, "[]", 2);
	agents[0].gpu_used[0] = agents[0].gpu_used[1] = true;
	cr_assert(eq(int, pick(1, "[]", 0), 0));
	cr_assert(eq(str, gpu_ids, "[]"));
}

Test(sched_pick, n_gpus_take_the_lowest_free_indexes)
{
	agent(0, "[]", 4);
	agents[0].gpu_used[1] = true;
	cr_assert(eq(int, pick(1, "[]", 2), 0));
	cr_assert(eq(str, gpu_ids, "[\"0\",\"2\"]"));
}

Test(sched_pick, n_gpus_exactly_free_fit)
{
	agent(0, "[]", 2);
	cr_assert(eq(int, pick(1, "[]", 2), 0));
	cr_assert(eq(str, gpu_ids, "[\"0\",\"1\"]"));
}

Test(sched_pick, n_gpus_one_more_than_free_is_no_fit)
{
	agent(0, "[]", 3);
	agents[0].gpu_used[2] = true;
	cr_assert(eq(int, pick(1, "[]", 3), -1));
	cr_assert(eq(ptr, gpu_ids, NULL));
}

Test(sched_pick, n_gpus_on_an_agent_without_gpus_is_no_fit)
{
	agent(0, "[]", 0);
	cr_assert(eq(int, pick(1, "[]", 1), -1));
}

Test(sched_pick, n_gpus_go_where_they_are_free)
{
	agent(0, "[]", 2);
	agents[0].gpu_used[0] = true;
	agent(1, "[]", 2);
	cr_assert(eq(int, pick(2, "[]", 2), 1));
	cr_assert(eq(str, gpu_ids, "[\"0\",\"1\"]"));
}

Test(sched_pick, all_gpus_take_every_gpu)
{
	agent(0, "[]", 3);
	cr_assert(eq(int, pick(1, "[]", -1), 0));
	cr_assert(eq(str, gpu_ids, "[\"0\",\"1\",\"2\"]"));
}

Test(sched_pick, all_gpus_need_at_least_one_gpu)
{
	agent(0, "[]", 0);
	cr_assert(eq(int, pick(1, "[]", -1), -1));
	cr_assert(eq(ptr, gpu_ids, NULL));
}

Test(sched_pick, all_gpus_with_one_used_is_no_fit)
{
	agent(0, "[]", 3);
	agents[0].gpu_used[1] = true;
	cr_assert(eq(int, pick(1, "[]", -1), -1));
	cr_assert(eq(ptr, gpu_ids, NULL));
}

Test(sched_pick, all_gpus_with_the_last_used_is_no_fit)
{
	agent(0, "[]", 3);
	agents[0].gpu_used[2] = true;
	cr_assert(eq(int, pick(1, "[]", -1), -1));
}

Test(sched_pick, spread_prefers_fewest_of_the_service)
{
	agent(0, "[]", 0);
	agents[0].of_service = 2;
	agents[0].total = 2;
	agent(1, "[]", 0);
	agents[1].of_service = 1;
	agents[1].total = 9;
	agent(2, "[]", 0);
	agents[2].of_service = 3;
	agents[2].total = 3;
	cr_assert(eq(int, pick(3, "[]", 0), 1));
}

Test(sched_pick, spread_ties_go_to_fewest_in_total)
{
	agent(0, "[]", 0);
	agents[0].of_service = 1;
	agents[0].total = 5;
	agent(1, "[]", 0);
	agents[1].of_service = 1;
	agents[1].total = 2;
	cr_assert(eq(int, pick(2, "[]", 0), 1));
}

Test(sched_pick, full_tie_keeps_the_first)
{
	agent(0, "[]", 0);
	agent(1, "[]", 0);
	cr_assert(eq(int, pick(2, "[]", 0), 0));
}

Test(sched_pick, spread_does_not_override_labels)
{
	agent(0, "[\"gpu\"]", 0);
	agents[0].of_service = 5;
	agent(1, "[]", 0);
	cr_assert(eq(int, pick(2, "[\"gpu\"]", 0), 0));
}

Test(sched_pick, gpu_ids_are_those_of_the_chosen_agent)
{
	agent(0, "[]", 2);
	agents[0].gpu_used[0] = true;
	agents[0].of_service = 1;
	agent(1, "[]", 2);
	agents[1].gpu_used[0] = true;
	cr_assert(eq(int, pick(2, "[]", 1), 1));
	cr_assert(eq(str, gpu_ids, "[\"1\"]"));
}

/* ---- sched_reconcile against a real store ---- */

static struct sched_plan plan;
static const struct sched_opts opts = {.grace_s = 30, .deploy_deadline_s = 600};

static void store_setup(void)
{
	memset(&plan, 0, sizeof(plan));
	fixture_store_open();
}

static void store_teardown(void)
{
	sched_plan_free(&plan);
	fixture_store_close();
}

TestSuite(sched, .init = store_setup, .fini = store_teardown);

/* Runs SQL (sqlite3_mprintf format: %q, %Q) on a second connection to the store's file. */
static void exec(const char *fmt, ...)
{
	sqlite3 *db = NULL;
	char *sql, *err = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	cr_assert(eq(int, sqlite3_open(fx.db, &db), SQLITE_OK));
	sqlite3_busy_timeout(db, 5000);
	rc = sqlite3_exec(db, sql, NULL, NULL, &err);
	cr_assert(eq(int, rc, SQLITE_OK), "%s: %s", sql, err ? err : "");
	sqlite3_free(err);
	sqlite3_free(sql);
	sqlite3_close(db);
}

/* The first column of the first row of a query as text into out ("" when no row); returns
 * whether there was a row. */
static bool query(char *out, size_t n, const char *fmt, ...)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	char *sql;
	va_list ap;
	bool row;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	cr_assert(eq(int, sqlite3_open(fx.db, &db), SQLITE_OK));
	cr_assert(eq(int, sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK), "%s: %s", sql,
		  sqlite3_errmsg(db));
	row = sqlite3_step(q) == SQLITE_ROW;
	snprintf(out, n, "%s", row && sqlite3_column_text(q, 0) ? (const char *)sqlite3_column_text(q, 0) : "");
	sqlite3_finalize(q);
	sqlite3_free(sql);
	sqlite3_close(db);
	return row;
}

static int query_int(const char *fmt, const char *arg)
{
	char v[64];

	query(v, sizeof(v), fmt, arg);
	return atoi(v);
}

/* An agent row of fx.team_a; id goes to id. */
static void add_agent(const char *name, const char *labels, int gpus, int runtime_ok, char *id)
{
	uuid_v7(id);
	exec("INSERT INTO agents (id, team_id, agent_name, agent_status, agent_labels, gpu_capacity,"
	     " runtime_ok, last_heartbeat, created_at) VALUES (%Q, %Q, %Q, 'online', %Q, %d, %d,"
	     " %lld, %lld)",
	     id, fx.team_a, name, labels, gpus, runtime_ok, (long long)time(NULL),
	     (long long)time(NULL));
}

/* Inserts a service of fx.team_a from body_text (created); its id goes to id. */
static void add_service(const char *body_text, char *id)
{
	struct berr e = {0};
	cJSON *b = cJSON_Parse(body_text);
	struct svc v;

	cr_assert(not(eq(ptr, b, NULL)), "body does not parse: %s", body_text);
	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "body rejected: %s", e.message);
	snprintf(v.team_id, sizeof(v.team_id), "%s", fx.team_a);
	cr_assert(eq(int, svc_insert(fx.st, &v, &e), B_OK), "svc_insert: %s", e.message);
	snprintf(id, UUID_STR_LEN + 1, "%s", v.id);
	svc_free(&v);
	cJSON_Delete(b);
}

static void deploy(const char *id)
{
	struct berr e = {0};

	cr_assert(eq(int, catalog_deploy(fx.st, fx.team_a, id, &e), B_OK), "deploy: %s", e.message);
}

/* A deploying service of fx.team_a from body_text. */
static void add_deploying(const char *body_text, char *id)
{
	add_service(body_text, id);
	deploy(id);
}

/* One reconcile pass into the (emptied) plan. */
static void reconcile(void)
{
	struct berr e = {0};

	sched_plan_free(&plan);
	cr_assert(eq(int, sched_reconcile(fx.st, &opts, &plan, &e), B_OK), "reconcile: %s", e.message);
}

static size_t count_ops(enum sched_op op)
{
	size_t k = 0;

	for (size_t i = 0; i < plan.n; i++)
		k += plan.cmds[i].op == op;
	return k;
}

/* The command of the plan for replica id with op, or NULL. */
static const struct sched_cmd *cmd_for(enum sched_op op, const char *replica)
{
	for (size_t i = 0; i < plan.n; i++)
		if (plan.cmds[i].op == op && strcmp(plan.cmds[i].replica_id, replica) == 0)
			return &plan.cmds[i];
	return NULL;
}

static int replicas_of(const char *svc)
{
	return query_int("SELECT count(*) FROM replicas WHERE service_id = %Q", svc);
}

static void service_field(const char *svc, const char *column, char *out, size_t n)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT %s FROM container_services WHERE id = %%Q", column);
	cr_assert(query(out, n, sql, svc), "no service %s", svc);
}

static void replica_state(const char *replica, char *out, size_t n)
{
	cr_assert(query(out, n, "SELECT replica_state FROM replicas WHERE id = %Q", replica),
		  "no replica %s", replica);
}

static void report(const char *agent_id, const char *replica, const char *state,
		   const char *detail)
{
	struct berr e = {0};
	int rc = fleet_replica_report(fx.st, agent_id, replica, state, detail, "c0ffee", NULL, &e);

	cr_assert(eq(int, rc, B_OK), "report %s: %s", state, e.message);
}

/* A one-GPU service slug placed on a new one-GPU agent: the agent's, the service's and the
 * replica's ids. */
static void placed_on_a_gpu(const char *slug, char *ag, char *svc, char *replica)
{
	char body[128];

	snprintf(body, sizeof(body), "{\"service_slug\":\"%s\",\"docker_image\":\"vllm\","
		 "\"gpu_count\":1}", slug);
	add_agent("gpu-a", "[]", 1, 1, ag);
	add_deploying(body, svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	snprintf(replica, UUID_STR_LEN + 1, "%s", plan.cmds[0].replica_id);
}

static const char nginx[] = "{\"service_slug\":\"web\",\"docker_image\":\"nginx:1\"}";

/* A service placed on agent and reported healthy: running after the second pass. */
static void running_service(const char *agent_id, char *svc, char *replica)
{
	char status[32];

	add_deploying(nginx, svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	snprintf(replica, UUID_STR_LEN + 1, "%s", plan.cmds[0].replica_id);
	cr_assert(eq(str, plan.cmds[0].agent_id, (char *)agent_id));
	report(agent_id, replica, "healthy", "");
	reconcile();
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "running"));
}

Test(sched, reconcile_places_one_replica_with_a_put)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], state[32];
	cJSON *spec;
	const char *image, *service_id;

	add_agent("gpu-a", "[]", 0, 1, ag);
	add_deploying(nginx, svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	cr_assert(eq(int, plan.cmds[0].op, SCHED_PUT));
	cr_assert(eq(str, plan.cmds[0].agent_id, ag));
	spec = cJSON_Parse(plan.cmds[0].spec);
	cr_assert(not(eq(ptr, spec, NULL)), "spec is not JSON: %s", plan.cmds[0].spec);
	image = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "docker_image"));
	service_id = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "service_id"));
	cr_assert(eq(str, (char *)(image ? image : "(none)"), "nginx:1"), "spec %s", plan.cmds[0].spec);
	cr_assert(eq(str, (char *)(service_id ? service_id : "(none)"), svc));
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(spec, "gpu_ids")));
	cJSON_Delete(spec);
	cr_assert(eq(int, replicas_of(svc), 1));
	replica_state(plan.cmds[0].replica_id, state, sizeof(state));
	cr_assert(eq(str, state, "pending"));
}

Test(sched, reconcile_resends_put_for_a_pending_replica)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], first[UUID_STR_LEN + 1];

	add_agent("gpu-a", "[]", 0, 1, ag);
	add_deploying(nginx, svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	snprintf(first, sizeof(first), "%s", plan.cmds[0].replica_id);
	reconcile();
	cr_assert(eq(sz, plan.n, 1), "a second pass must re-send one PUT, got %zu commands", plan.n);
	cr_assert(eq(int, plan.cmds[0].op, SCHED_PUT));
	cr_assert(eq(str, plan.cmds[0].replica_id, first));
	cr_assert(eq(str, plan.cmds[0].agent_id, ag));
	cr_assert(eq(int, replicas_of(svc), 1));
}

Test(sched, reconcile_sends_no_put_once_the_agent_acknowledged)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];

	add_agent("gpu-a", "[]", 0, 1, ag);
	add_deploying(nginx, svc);
	reconcile();
	snprintf(rep, sizeof(rep), "%s", plan.cmds[0].replica_id);
	report(ag, rep, "pulling", "pulling nginx:1");
	reconcile();
	cr_assert(eq(sz, plan.n, 0));
	cr_assert(eq(int, replicas_of(svc), 1));
}

Test(sched, reconcile_progress_detail_names_the_agent)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1], detail[512];

	add_agent("gpu-a", "[]", 0, 1, ag);
	add_deploying(nginx, svc);
	reconcile();
	snprintf(rep, sizeof(rep), "%s", plan.cmds[0].replica_id);
	report(ag, rep, "pulling", "pulling nginx:1");
	reconcile();
	service_field(svc, "status_detail", detail, sizeof(detail));
	cr_assert(eq(str, detail, "0 of 1 replicas healthy; on gpu-a: pulling nginx:1"));
}

Test(sched, reconcile_places_nothing_on_an_agent_without_runtime)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], status[32], detail[512];

	add_agent("gpu-a", "[]", 0, 0, ag);
	add_deploying(nginx, svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 0));
	cr_assert(eq(int, replicas_of(svc), 0));
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "deploying"));
	service_field(svc, "status_detail", detail, sizeof(detail));
	cr_assert(eq(str, detail, "waiting for an agent; none of the team's agents is online with a "
		  "working container runtime"));
}

Test(sched, reconcile_places_nothing_on_an_offline_agent)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];

	add_agent("gpu-a", "[]", 0, 1, ag);
	exec("UPDATE agents SET agent_status = 'offline' WHERE id = %Q", ag);
	add_deploying(nginx, svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 0));
	cr_assert(eq(int, replicas_of(svc), 0));
}

Test(sched, reconcile_waits_for_required_labels)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], detail[512];

	add_agent("cpu-a", "[\"cpu\"]", 0, 1, ag);
	add_deploying("{\"service_slug\":\"web\",\"docker_image\":\"nginx\","
		      "\"required_labels\":[\"gpu\",\"h100\"]}", svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 0));
	service_field(svc, "status_detail", detail, sizeof(detail));
	cr_assert(eq(str, detail, "waiting for an agent with labels gpu,h100"));
}

Test(sched, reconcile_healthy_replica_makes_the_service_running)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1], detail[512];

	add_agent("gpu-a", "[]", 0, 1, ag);
	running_service(ag, svc, rep);
	cr_assert(eq(sz, plan.n, 0));
	service_field(svc, "status_detail", detail, sizeof(detail));
	cr_assert(eq(str, detail, ""));
}

Test(sched, reconcile_places_what_fits_and_says_how_many_are_healthy)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	char status[32], detail[512];

	add_agent("gpu-a", "[]", 1, 1, ag);
	add_deploying("{\"service_slug\":\"web\",\"docker_image\":\"nginx\",\"gpu_count\":1,"
		      "\"replica_count\":2}", svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	cr_assert(eq(int, replicas_of(svc), 1));
	snprintf(rep, sizeof(rep), "%s", plan.cmds[0].replica_id);
	report(ag, rep, "healthy", "");
	reconcile();
	cr_assert(eq(sz, plan.n, 0));
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "deploying"));
	service_field(svc, "status_detail", detail, sizeof(detail));
	cr_assert(eq(str, detail, "1 of 2 replicas healthy; waiting for an eligible agent for the rest"));
}

Test(sched, reconcile_spreads_replicas_across_agents)
{
	char a1[UUID_STR_LEN + 1], a2[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];

	add_agent("gpu-a", "[]", 0, 1, a1);
	add_agent("gpu-b", "[]", 0, 1, a2);
	add_deploying("{\"service_slug\":\"web\",\"docker_image\":\"nginx\",\"replica_count\":2}",
		      svc);
	reconcile();
	cr_assert(eq(sz, count_ops(SCHED_PUT), 2));
	cr_assert(not(eq(str, plan.cmds[0].agent_id, plan.cmds[1].agent_id)),
		  "both replicas went to %s", plan.cmds[0].agent_id);
}

Test(sched, reconcile_gives_two_gpu_replicas_different_gpus)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];
	char g1[64], g2[64];

	add_agent("gpu-a", "[]", 2, 1, ag);
	add_deploying("{\"service_slug\":\"web\",\"docker_image\":\"nginx\",\"gpu_count\":1,"
		      "\"replica_count\":2}", svc);
	reconcile();
	cr_assert(eq(sz, count_ops(SCHED_PUT), 2));
	query(g1, sizeof(g1), "SELECT gpu_ids FROM replicas WHERE id = %Q", plan.cmds[0].replica_id);
	query(g2, sizeof(g2), "SELECT gpu_ids FROM replicas WHERE id = %Q", plan.cmds[1].replica_id);
	cr_assert(eq(str, g1, "[\"0\"]"));
	cr_assert(eq(str, g2, "[\"1\"]"));
}

Test(sched, reconcile_failed_replica_fails_the_service_naming_the_agent)
{
	char a1[UUID_STR_LEN + 1], a2[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];
	char r1[UUID_STR_LEN + 1], r2[UUID_STR_LEN + 1], status[32], detail[512];

	add_agent("gpu-a", "[]", 0, 1, a1);
	add_agent("gpu-b", "[]", 0, 1, a2);
	add_deploying("{\"service_slug\":\"web\",\"docker_image\":\"nginx\",\"replica_count\":2}",
		      svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 2));
	/* r1 on gpu-a, r2 on gpu-b */
	if (strcmp(plan.cmds[0].agent_id, a1) == 0) {
		snprintf(r1, sizeof(r1), "%s", plan.cmds[0].replica_id);
		snprintf(r2, sizeof(r2), "%s", plan.cmds[1].replica_id);
	} else {
		snprintf(r1, sizeof(r1), "%s", plan.cmds[1].replica_id);
		snprintf(r2, sizeof(r2), "%s", plan.cmds[0].replica_id);
	}
	report(a1, r1, "failed", "pull access denied");
	report(a2, r2, "healthy", "");
	reconcile();
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "failed"));
	service_field(svc, "status_detail", detail, sizeof(detail));
	cr_assert(not(eq(ptr, strstr(detail, "gpu-a"), NULL)), "detail: %s", detail);
	cr_assert(not(eq(ptr, strstr(detail, "pull access denied"), NULL)), "detail: %s", detail);
	reconcile();
	cr_assert(not(eq(ptr, (void *)cmd_for(SCHED_DELETE, r2), NULL)),
		  "no DELETE for the live replica after the failure");
	cr_assert(eq(str, (char *)cmd_for(SCHED_DELETE, r2)->agent_id, a2));
	cr_assert(eq(sz, count_ops(SCHED_PUT), 0));
}

/* Deployed again before the reconciler cleared the failed deploy's replicas: the new deploy
 * is not failed for the old one's reason, and the old containers go, the healthy one too
 * (it runs the definition of the deploy before). */
Test(sched, reconcile_redeploy_right_after_a_failure_starts_afresh)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], status[32];
	char r1[UUID_STR_LEN + 1], r2[UUID_STR_LEN + 1];

	add_agent("gpu-a", "[]", 0, 1, ag);
	add_deploying("{\"service_slug\":\"web\",\"docker_image\":\"nginx\",\"replica_count\":2}",
		      svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 2));
	snprintf(r1, sizeof(r1), "%s", plan.cmds[0].replica_id);
	snprintf(r2, sizeof(r2), "%s", plan.cmds[1].replica_id);
	report(ag, r1, "failed", "pull access denied");
	report(ag, r2, "healthy", "");
	reconcile();
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "failed"));
	deploy(svc); /* before the pass that would clear r1 and r2 */
	reconcile();
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "deploying"));
	cr_assert(not(eq(ptr, (void *)cmd_for(SCHED_DELETE, r1), NULL)), "the failed container goes");
	cr_assert(not(eq(ptr, (void *)cmd_for(SCHED_DELETE, r2), NULL)), "and the old healthy one");
	cr_assert(eq(sz, count_ops(SCHED_PUT), 2), "two new replicas are placed");
	cr_assert(eq(ptr, (void *)cmd_for(SCHED_PUT, r1), NULL));
	cr_assert(eq(ptr, (void *)cmd_for(SCHED_PUT, r2), NULL));
}

/* The failed deploy's replica holds its GPU until its container is gone; a replica stopping
 * on an agent that went offline is kept (asked again when it is back), on one deleted it is
 * forgotten. */
Test(sched, reconcile_a_stopping_replica_holds_its_gpus_until_stopped)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r1[UUID_STR_LEN + 1], status[32];
	const struct sched_cmd *put = NULL;

	placed_on_a_gpu("web", ag, svc, r1);
	report(ag, r1, "failed", "out of memory");
	reconcile();
	deploy(svc);
	reconcile();
	cr_assert(not(eq(ptr, (void *)cmd_for(SCHED_DELETE, r1), NULL)));
	cr_assert(eq(sz, count_ops(SCHED_PUT), 0), "GPU 0 is still r1's");
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "deploying"));
	report(ag, r1, "stopped", "");
	reconcile();
	cr_assert(eq(sz, count_ops(SCHED_PUT), 1), "placed once r1 is gone");
	for (size_t i = 0; i < plan.n; i++)
		if (plan.cmds[i].op == SCHED_PUT)
			put = &plan.cmds[i];
	cr_assert(not(eq(ptr, strstr(put->spec, "\"0\""), NULL)), "on GPU 0: %s", put->spec);
	cr_assert(eq(int, replicas_of(svc), 1), "r1 forgotten once stopped");
	/* the new one is retired by a redeploy while its agent is offline, then deleted */
	report(ag, put->replica_id, "failed", "again");
	reconcile();
	deploy(svc);
	exec("UPDATE agents SET agent_status = 'offline' WHERE id = %Q", ag);
	reconcile();
	cr_assert(eq(int, replicas_of(svc), 1), "kept for its agent's return");
	exec("PRAGMA foreign_keys = ON; DELETE FROM agents WHERE id = %Q", ag);
	reconcile();
	cr_assert(eq(int, replicas_of(svc), 0), "forgotten with its agent");
}

/* No eligible agent: deploying for as long as it takes, and placed at last it has the whole
 * deadline. Placed but never healthy: failed after the deadline. */
Test(sched, reconcile_deadline_fails_a_placed_deploy_never_an_unplaced_one)
{
	char ag[UUID_STR_LEN + 1], waiting[UUID_STR_LEN + 1], placed[UUID_STR_LEN + 1];
	char status[32], detail[512];

	add_agent("cpu-a", "[]", 0, 1, ag);
	add_deploying("{\"service_slug\":\"web\",\"docker_image\":\"nginx\","
		      "\"required_labels\":[\"gpu\"]}", waiting);
	add_deploying("{\"service_slug\":\"api\",\"docker_image\":\"nginx\"}", placed);
	reconcile();
	/* the deadline and 5 s more go by */
	exec("UPDATE container_services SET updated_at = updated_at - %ld", opts.deploy_deadline_s + 5);
	exec("UPDATE replicas SET created_at = created_at - %ld", opts.deploy_deadline_s + 5);
	reconcile();
	service_field(waiting, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "deploying"));
	service_field(waiting, "status_detail", detail, sizeof(detail));
	cr_assert(eq(str, detail, "waiting for an agent with labels gpu"));
	service_field(placed, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "failed"));
	service_field(placed, "status_detail", detail, sizeof(detail));
	cr_assert(not(eq(ptr, strstr(detail, "no replica became healthy"), NULL)), "%s", detail);
	add_agent("gpu-a", "[\"gpu\"]", 0, 1, ag);
	reconcile();
	cr_assert(eq(sz, count_ops(SCHED_PUT), 1), "placed at last");
	reconcile();
	service_field(waiting, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "deploying"), "not failed for the time it waited");
}

Test(sched, reconcile_undeploy_deletes_live_replicas_then_stops)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	char status[32], state[32];
	struct berr e = {0};

	add_agent("gpu-a", "[]", 0, 1, ag);
	running_service(ag, svc, rep);
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, svc, &e), B_OK), "%s", e.message);
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "stopping"));
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	cr_assert(eq(int, plan.cmds[0].op, SCHED_DELETE));
	cr_assert(eq(str, plan.cmds[0].replica_id, rep));
	cr_assert(eq(str, plan.cmds[0].agent_id, ag));
	replica_state(rep, state, sizeof(state));
	cr_assert(eq(str, state, "stopping"));
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "stopping"));
	report(ag, rep, "stopped", "");
	reconcile();
	cr_assert(eq(int, replicas_of(svc), 0));
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "stopped"));
}

/* Undeployed while its agent is offline: the service is stopped at once, but the replica (its
 * container may still run there) stays stopping and keeps its GPU. Back online, the agent is
 * told to remove it, and the GPU goes to another service only once it is gone. */
Test(sched, reconcile_undeploy_with_the_agent_offline_keeps_the_gpu_until_it_is_back)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	char other[UUID_STR_LEN + 1], status[32], state[32], detail[128];
	struct berr e = {0};

	placed_on_a_gpu("big", ag, svc, rep);
	report(ag, rep, "healthy", "");
	reconcile();
	exec("UPDATE agents SET agent_status = 'offline' WHERE id = %Q", ag);
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, svc, &e), B_OK), "%s", e.message);
	reconcile();
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "stopped"), "the service does not wait for the agent");
	replica_state(rep, state, sizeof(state));
	cr_assert(eq(str, state, "stopping"), "kept for the agent's return");
	cr_assert(eq(sz, plan.n, 0), "nothing is sent to an offline agent");
	add_deploying("{\"service_slug\":\"next\",\"docker_image\":\"vllm\",\"gpu_count\":1}",
		      other);
	exec("UPDATE agents SET agent_status = 'online' WHERE id = %Q", ag);
	report(ag, rep, "healthy", ""); /* the agent's list: the container still runs */
	reconcile();
	cr_assert(not(eq(ptr, (void *)cmd_for(SCHED_DELETE, rep), NULL)), "told to remove it");
	cr_assert(eq(sz, count_ops(SCHED_PUT), 0), "GPU 0 is still the old replica's");
	replica_state(rep, state, sizeof(state));
	cr_assert(eq(str, state, "stopping"));
	cr_assert(query(detail, sizeof(detail), "SELECT replica_detail FROM replicas WHERE id = %Q",
			rep));
	cr_assert(eq(str, detail, "removing the container"), "the agent is back: %s", detail);
	report(ag, rep, "stopped", "");
	reconcile();
	cr_assert(eq(int, replicas_of(svc), 0), "forgotten once gone");
	cr_assert(eq(sz, count_ops(SCHED_PUT), 1), "the GPU is placed once free");
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "stopped"));
}

Test(sched, reconcile_undeploy_resends_delete_while_stopping)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	struct berr e = {0};

	add_agent("gpu-a", "[]", 0, 1, ag);
	running_service(ag, svc, rep);
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, svc, &e), B_OK), "%s", e.message);
	reconcile();
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	cr_assert(not(eq(ptr, (void *)cmd_for(SCHED_DELETE, rep), NULL)));
	cr_assert(eq(int, replicas_of(svc), 1));
}

Test(sched, reconcile_lost_agent_replica_is_replaced_elsewhere)
{
	char a1[UUID_STR_LEN + 1], a2[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];
	char rep[UUID_STR_LEN + 1], state[32];

	add_agent("gpu-a", "[]", 0, 1, a1);
	running_service(a1, svc, rep);
	add_agent("gpu-b", "[]", 0, 1, a2);
	exec("UPDATE agents SET agent_status = 'offline', last_heartbeat = %lld WHERE id = %Q",
	     (long long)time(NULL) - 100, a1);
	reconcile();
	replica_state(rep, state, sizeof(state));
	cr_assert(eq(str, state, "lost"));
	cr_assert(eq(sz, count_ops(SCHED_PUT), 1));
	cr_assert(eq(sz, plan.n, 1));
	cr_assert(eq(str, plan.cmds[0].agent_id, a2));
	cr_assert(not(eq(str, plan.cmds[0].replica_id, rep)));
}

Test(sched, reconcile_agent_offline_within_grace_keeps_its_replica)
{
	char a1[UUID_STR_LEN + 1], a2[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];
	char rep[UUID_STR_LEN + 1], state[32];

	add_agent("gpu-a", "[]", 0, 1, a1);
	running_service(a1, svc, rep);
	add_agent("gpu-b", "[]", 0, 1, a2);
	exec("UPDATE agents SET agent_status = 'offline', last_heartbeat = %lld WHERE id = %Q",
	     (long long)time(NULL) - 5, a1);
	reconcile();
	replica_state(rep, state, sizeof(state));
	cr_assert(eq(str, state, "healthy"));
	cr_assert(eq(sz, count_ops(SCHED_PUT), 0));
}

Test(sched, reconcile_surplus_deletes_the_unhealthy_before_the_healthy)
{
	char a1[UUID_STR_LEN + 1], a2[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];
	char older[UUID_STR_LEN + 1], newer[UUID_STR_LEN + 1], state[32];
	struct berr e = {0};

	add_agent("gpu-a", "[]", 0, 1, a1);
	add_agent("gpu-b", "[]", 0, 1, a2);
	add_deploying(nginx, svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	snprintf(older, sizeof(older), "%s", plan.cmds[0].replica_id);
	cr_assert(eq(str, plan.cmds[0].agent_id, a1));
	/* a lost agent came back: a second live replica, newer and healthy */
	cr_assert(eq(int, fleet_replica_add(fx.st, svc, a2, "[]", newer, &e), B_OK), "%s", e.message);
	report(a1, older, "starting", "waiting for health");
	report(a2, newer, "healthy", "");
	reconcile();
	cr_assert(not(eq(ptr, (void *)cmd_for(SCHED_DELETE, older), NULL)),
		  "the unhealthy replica was not removed");
	cr_assert(eq(ptr, (void *)cmd_for(SCHED_DELETE, newer), NULL),
		  "the healthy replica was removed first");
	replica_state(older, state, sizeof(state));
	cr_assert(eq(str, state, "stopping"));
	replica_state(newer, state, sizeof(state));
	cr_assert(eq(str, state, "healthy"));
}

Test(sched, reconcile_surplus_of_healthy_removes_the_newest)
{
	char a1[UUID_STR_LEN + 1], a2[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];
	char older[UUID_STR_LEN + 1], newer[UUID_STR_LEN + 1];
	struct berr e = {0};

	add_agent("gpu-a", "[]", 0, 1, a1);
	add_agent("gpu-b", "[]", 0, 1, a2);
	running_service(a1, svc, older);
	cr_assert(eq(int, fleet_replica_add(fx.st, svc, a2, "[]", newer, &e), B_OK), "%s", e.message);
	report(a2, newer, "healthy", "");
	reconcile();
	cr_assert(eq(sz, count_ops(SCHED_DELETE), 1));
	cr_assert(not(eq(ptr, (void *)cmd_for(SCHED_DELETE, newer), NULL)));
}

Test(sched, reconcile_trimmed_replica_reported_stopped_is_forgotten)
{
	char a1[UUID_STR_LEN + 1], a2[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];
	char older[UUID_STR_LEN + 1], newer[UUID_STR_LEN + 1];
	struct berr e = {0};

	add_agent("gpu-a", "[]", 0, 1, a1);
	add_agent("gpu-b", "[]", 0, 1, a2);
	running_service(a1, svc, older);
	cr_assert(eq(int, fleet_replica_add(fx.st, svc, a2, "[]", newer, &e), B_OK), "%s", e.message);
	report(a2, newer, "healthy", "");
	reconcile();
	report(a2, newer, "stopped", "");
	reconcile();
	cr_assert(eq(int, replicas_of(svc), 1));
	cr_assert(eq(int, query_int("SELECT count(*) FROM replicas WHERE id = %Q", newer), 0));
}

Test(sched, reconcile_put_after_deploy_waits_for_the_next_deploy)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1], status[32];
	struct berr e = {0};
	cJSON *b = cJSON_Parse("{\"service_slug\":\"web\",\"docker_image\":\"nginx:1\","
			       "\"replica_count\":2}");
	struct svc v;

	add_agent("gpu-a", "[]", 0, 1, ag);
	running_service(ag, svc, rep);
	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "%s", e.message);
	snprintf(v.id, sizeof(v.id), "%s", svc);
	snprintf(v.team_id, sizeof(v.team_id), "%s", fx.team_a);
	cr_assert(eq(int, catalog_update(fx.st, fx.team_a, &v, &e), B_OK), "update: %s", e.message);
	svc_free(&v);
	cJSON_Delete(b);
	reconcile();
	cr_assert(eq(sz, plan.n, 0), "the PUT took effect before a deploy: %zu commands", plan.n);
	cr_assert(eq(int, replicas_of(svc), 1));
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "running"));
}

Test(sched, reconcile_redeploy_takes_the_updated_definition)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	struct berr e = {0};
	cJSON *b = cJSON_Parse("{\"service_slug\":\"web\",\"docker_image\":\"nginx:2\"}");
	struct svc v;
	cJSON *spec;
	const char *image;

	add_agent("gpu-a", "[]", 0, 1, ag);
	running_service(ag, svc, rep);
	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "%s", e.message);
	snprintf(v.id, sizeof(v.id), "%s", svc);
	snprintf(v.team_id, sizeof(v.team_id), "%s", fx.team_a);
	cr_assert(eq(int, catalog_update(fx.st, fx.team_a, &v, &e), B_OK), "update: %s", e.message);
	svc_free(&v);
	cJSON_Delete(b);
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, svc, &e), B_OK), "%s", e.message);
	reconcile();
	report(ag, rep, "stopped", "");
	reconcile();
	deploy(svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	spec = cJSON_Parse(plan.cmds[0].spec);
	image = cJSON_GetStringValue(cJSON_GetObjectItem(spec, "docker_image"));
	cr_assert(eq(str, (char *)(image ? image : "(none)"), "nginx:2"));
	cJSON_Delete(spec);
}

Test(sched, reconcile_ignores_created_services)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];

	add_agent("gpu-a", "[]", 0, 1, ag);
	add_service(nginx, svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 0));
	cr_assert(eq(int, replicas_of(svc), 0));
}

/* ---- external services: one egress replica ---- */

static const char external_svc[] = "{\"service_slug\":\"ext\",\"service_type\":\"external\","
				   "\"external_url\":\"https://api.example.com\"}";

Test(sched, external_gets_one_egress_replica_even_on_an_agent_without_runtime)
{
	char a[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];
	cJSON *spec;

	add_agent("nodocker", "[]", 0, 0, a);
	add_deploying(external_svc, svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	cr_assert(eq(int, plan.cmds[0].op, SCHED_PUT));
	cr_assert(eq(str, plan.cmds[0].agent_id, a));
	spec = cJSON_Parse(plan.cmds[0].spec);
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(spec, "service_type")), "external"));
	cr_assert(eq(str, cJSON_GetStringValue(cJSON_GetObjectItem(spec, "service_id")), svc));
	/* the spec carries neither the URL nor anything secret: they come with each call */
	cr_assert(eq(int, cJSON_GetArraySize(spec), 2), "%s", plan.cmds[0].spec);
	cJSON_Delete(spec);
}

Test(sched, external_ignores_replica_count_and_gpu_count)
{
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];

	add_agent("a1", "[]", 0, 1, a);
	add_agent("a2", "[]", 0, 1, b);
	add_deploying("{\"service_slug\":\"ext\",\"service_type\":\"external\",\"external_url\":"
		      "\"https://h\",\"replica_count\":3,\"gpu_count\":2}", svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 1));
	cr_assert(eq(int, replicas_of(svc), 1));
}

Test(sched, external_is_running_once_the_agent_holds_it)
{
	char a[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1], status[32];

	add_agent("a1", "[]", 0, 0, a);
	add_deploying(external_svc, svc);
	reconcile();
	snprintf(rep, sizeof(rep), "%s", plan.cmds[0].replica_id);
	report(a, rep, "healthy", "");
	reconcile();
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "running"));
	cr_assert(eq(sz, plan.n, 0));
}

Test(sched, external_waits_for_required_labels)
{
	char a[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], status[32], detail[256];

	add_agent("a1", "[\"cpu\"]", 0, 1, a);
	add_deploying("{\"service_slug\":\"ext\",\"service_type\":\"external\",\"external_url\":"
		      "\"https://h\",\"required_labels\":[\"egress-eu\"]}", svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 0));
	service_field(svc, "service_status", status, sizeof(status));
	service_field(svc, "status_detail", detail, sizeof(detail));
	cr_assert(eq(str, status, "deploying"));
	cr_assert(eq(str, detail, "waiting for an agent with labels egress-eu"));
}

/* A team without any agent online is not waiting for one of them to free up: it is told. */
Test(sched, a_team_without_an_online_agent_is_told_so)
{
	char svc[UUID_STR_LEN + 1], detail[256];

	add_deploying("{\"service_slug\":\"ext\",\"service_type\":\"external\",\"external_url\":"
		      "\"https://h\",\"required_labels\":[\"egress-eu\"]}", svc);
	reconcile();
	cr_assert(eq(sz, plan.n, 0));
	service_field(svc, "status_detail", detail, sizeof(detail));
	cr_assert(eq(str, detail, "waiting for an agent with labels egress-eu; none of the team's "
		  "agents is online"));
}

Test(sched, external_undeploy_deletes_the_egress_replica_then_stops)
{
	char a[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1], status[32];
	struct berr e = {0};

	add_agent("a1", "[]", 0, 0, a);
	add_deploying(external_svc, svc);
	reconcile();
	snprintf(rep, sizeof(rep), "%s", plan.cmds[0].replica_id);
	report(a, rep, "healthy", "");
	reconcile();
	cr_assert(eq(int, catalog_undeploy(fx.st, fx.team_a, svc, &e), B_OK), "%s", e.message);
	reconcile();
	cr_assert(not(eq(ptr, (void *)cmd_for(SCHED_DELETE, rep), NULL)));
	report(a, rep, "stopped", "");
	reconcile();
	service_field(svc, "service_status", status, sizeof(status));
	cr_assert(eq(str, status, "stopped"));
	cr_assert(eq(int, replicas_of(svc), 0));
}

Test(sched, external_on_a_lost_agent_moves_to_another)
{
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];

	add_agent("a1", "[]", 0, 0, a);
	add_deploying(external_svc, svc);
	reconcile();
	snprintf(rep, sizeof(rep), "%s", plan.cmds[0].replica_id);
	report(a, rep, "healthy", "");
	reconcile();
	exec("UPDATE agents SET agent_status = 'offline', last_heartbeat = %lld WHERE id = %Q",
	     (long long)time(NULL) - 60, a);
	add_agent("a2", "[]", 0, 0, b);
	reconcile();
	cr_assert(eq(sz, count_ops(SCHED_PUT), 1));
	cr_assert(eq(str, plan.cmds[0].agent_id, b));
}
