/* fleet_test.c: agents and replicas in the store (lib/fleet.c): connect (upsert), online,
 * offline, runtime, the paginated list, replica rows and reports, counts and the healthy set,
 * against a real temporary SQLite file. */
#include "berth.h"
#include "fixture.h"
#include "fleet.h"
#include "acct.h"
#include "crypto.h"
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
#include <unistd.h>

TestSuite(fleet, .init = fixture_store_open, .fini = fixture_store_close);

/* ---- helpers ---- */

/* The least /v1/info berth-agent sends. */
#define MIN_INFO "{\"platform_arch\":\"x86_64\",\"agent_version\":\"1.0.0\"}"

/* The first column of the first row as text into out ("(null)" for NULL, "" when no row). */
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
	if (!row)
		snprintf(out, n, "%s", "");
	else if (sqlite3_column_type(q, 0) == SQLITE_NULL)
		snprintf(out, n, "%s", "(null)");
	else
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(q, 0));
	sqlite3_finalize(q);
	sqlite3_free(sql);
	sqlite3_close(db);
	return row;
}

static void agent_col(const char *id, const char *col, char *out, size_t n)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT %s FROM agents WHERE id = %%Q", col);
	cr_assert(query(out, n, sql, id), "no agent %s", id);
}

static void replica_col(const char *id, const char *col, char *out, size_t n)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT %s FROM replicas WHERE id = %%Q", col);
	cr_assert(query(out, n, sql, id), "no replica %s", id);
}

static void agent_connect(const char *team, const char *name, char *id)
{
	struct berr e = {0};

	cr_assert(eq(int, fleet_agent_connect(fx.st, team, name, NULL, id, &e), B_OK), "%s", e.message);
}

static void online(const char *id, const char *info_text)
{
	struct berr e = {0};
	cJSON *info = cJSON_Parse(info_text);
	int rc;

	cr_assert(not(eq(ptr, info, NULL)));
	rc = fleet_agent_online(fx.st, id, info, &e);
	cJSON_Delete(info);
	cr_assert(eq(int, rc, B_OK), "%s", e.message);
}

/* A service of fx.team_a; its id to id. */
static void add_service(const char *slug, char *id)
{
	struct berr e = {0};
	char body[128];
	cJSON *b;
	struct svc v;

	snprintf(body, sizeof(body), "{\"service_slug\":\"%s\",\"docker_image\":\"nginx\"}", slug);
	b = cJSON_Parse(body);
	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "%s", e.message);
	snprintf(v.team_id, sizeof(v.team_id), "%s", fx.team_a);
	cr_assert(eq(int, svc_insert(fx.st, &v, &e), B_OK), "%s", e.message);
	snprintf(id, UUID_STR_LEN + 1, "%s", v.id);
	svc_free(&v);
	cJSON_Delete(b);
}

static void add_replica(const char *svc, const char *agent, const char *gpus, char *id)
{
	struct berr e = {0};

	cr_assert(eq(int, fleet_replica_add(fx.st, svc, agent, gpus, id, &e), B_OK), "%s", e.message);
}

static int report(const char *agent, const char *id, const char *state, const char *detail,
		  const char *container)
{
	struct berr e = {0};

	return fleet_replica_report(fx.st, agent, id, state, detail, container, NULL, &e);
}

/* Text of a member (JSON) into out. */
static void member(const cJSON *o, const char *name, char *out, size_t n)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
	char *t;

	if (!m) {
		snprintf(out, n, "(absent)");
		return;
	}
	t = json_print(m);
	snprintf(out, n, "%s", t);
	free(t);
}

/* ---- connect ---- */

Test(fleet, connect_creates_an_offline_row)
{
	char id[UUID_STR_LEN + 1] = "", v[64];

	agent_connect(fx.team_a, "gpu-a", id);
	cr_assert(uuid_valid(id), "id %s", id);
	agent_col(id, "agent_name", v, sizeof(v));
	cr_assert(eq(str, v, "gpu-a"));
	agent_col(id, "agent_status", v, sizeof(v));
	cr_assert(eq(str, v, "offline"));
	agent_col(id, "team_id", v, sizeof(v));
	cr_assert(eq(str, v, fx.team_a));
}

Test(fleet, connect_again_returns_the_same_id)
{
	char first[UUID_STR_LEN + 1], second[UUID_STR_LEN + 1], n[16];

	agent_connect(fx.team_a, "gpu-a", first);
	agent_connect(fx.team_a, "gpu-a", second);
	cr_assert(eq(str, second, first));
	query(n, sizeof(n), "SELECT count(*) FROM agents WHERE team_id = %Q", fx.team_a);
	cr_assert(eq(str, n, "1"));
}

Test(fleet, connect_same_name_in_another_team_is_another_agent)
{
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1];

	agent_connect(fx.team_a, "gpu-a", a);
	agent_connect(fx.team_b, "gpu-a", b);
	cr_assert(not(eq(str, a, b)));
}

/* ---- online, offline, runtime ---- */

Test(fleet, online_stores_what_the_agent_said)
{
	char id[UUID_STR_LEN + 1], v[128];

	agent_connect(fx.team_a, "gpu-a", id);
	online(id, "{\"agent_labels\":[\"gpu\",\"h100\"],\"gpu_capacity\":2,"
		   "\"gpu_devices\":[\"GPU-0\",\"GPU-1\"],\"platform_arch\":\"x86_64\","
		   "\"agent_version\":\"1.2.3\"}");
	agent_col(id, "agent_status", v, sizeof(v));
	cr_assert(eq(str, v, "online"));
	agent_col(id, "agent_labels", v, sizeof(v));
	cr_assert(eq(str, v, "[\"gpu\",\"h100\"]"));
	agent_col(id, "gpu_capacity", v, sizeof(v));
	cr_assert(eq(str, v, "2"));
	agent_col(id, "gpu_devices", v, sizeof(v));
	cr_assert(eq(str, v, "[\"GPU-0\",\"GPU-1\"]"));
	agent_col(id, "platform_arch", v, sizeof(v));
	cr_assert(eq(str, v, "x86_64"));
	agent_col(id, "agent_version", v, sizeof(v));
	cr_assert(eq(str, v, "1.2.3"));
	agent_col(id, "connected_at IS NOT NULL AND last_heartbeat IS NOT NULL", v, sizeof(v));
	cr_assert(eq(str, v, "1"));
}

Test(fleet, online_without_arrays_stores_empty_arrays)
{
	char id[UUID_STR_LEN + 1], v[128];

	agent_connect(fx.team_a, "gpu-a", id);
	online(id, "{\"agent_labels\":\"gpu\",\"gpu_capacity\":\"2\",\"platform_arch\":\"x86_64\",\"agent_version\":\"1\"}");
	agent_col(id, "agent_labels", v, sizeof(v));
	cr_assert(eq(str, v, "[]"));
	agent_col(id, "gpu_devices", v, sizeof(v));
	cr_assert(eq(str, v, "[]"));
	agent_col(id, "gpu_capacity", v, sizeof(v));
	cr_assert(eq(str, v, "0"));
}

/* An info object without platform_arch or agent_version (another agent build, an older
 * version) must still bring the agent online, with the strings empty: the columns are NOT NULL
 * DEFAULT '' and the arrays and gpu_capacity already default when absent. */
Test(fleet, online_without_arch_or_version_still_goes_online)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[128];
	cJSON *info = cJSON_Parse("{\"agent_labels\":[\"gpu\"]}");
	int rc;

	agent_connect(fx.team_a, "gpu-a", id);
	rc = fleet_agent_online(fx.st, id, info, &e);
	cJSON_Delete(info);
	cr_assert(eq(int, rc, B_OK), "fleet_agent_online without platform_arch/agent_version: %s",
		  e.message);
	agent_col(id, "agent_status", v, sizeof(v));
	cr_assert(eq(str, v, "online"));
	agent_col(id, "platform_arch", v, sizeof(v));
	cr_assert(eq(str, v, ""));
}

Test(fleet, offline_marks_the_agent_offline)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[64];

	agent_connect(fx.team_a, "gpu-a", id);
	online(id, MIN_INFO);
	cr_assert(eq(int, fleet_agent_offline(fx.st, id, &e), B_OK), "%s", e.message);
	agent_col(id, "agent_status", v, sizeof(v));
	cr_assert(eq(str, v, "offline"));
}

Test(fleet, all_offline_marks_every_agent_offline)
{
	struct berr e = {0};
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1], v[64];

	agent_connect(fx.team_a, "gpu-a", a);
	agent_connect(fx.team_b, "gpu-b", b);
	online(a, MIN_INFO);
	online(b, MIN_INFO);
	cr_assert(eq(int, fleet_all_offline(fx.st, &e), B_OK), "%s", e.message);
	query(v, sizeof(v), "SELECT count(*) FROM agents WHERE agent_status = %Q", "online");
	cr_assert(eq(str, v, "0"));
}

Test(fleet, runtime_unavailable_stores_the_detail)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[128];

	agent_connect(fx.team_a, "gpu-a", id);
	cr_assert(eq(int, fleet_agent_runtime(fx.st, id, false, "docker: connection refused", &e), B_OK));
	agent_col(id, "runtime_ok", v, sizeof(v));
	cr_assert(eq(str, v, "0"));
	agent_col(id, "runtime_detail", v, sizeof(v));
	cr_assert(eq(str, v, "docker: connection refused"));
}

Test(fleet, runtime_available_clears_the_detail)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], v[128];

	agent_connect(fx.team_a, "gpu-a", id);
	cr_assert(eq(int, fleet_agent_runtime(fx.st, id, false, "down", &e), B_OK));
	cr_assert(eq(int, fleet_agent_runtime(fx.st, id, true, "ignored", &e), B_OK));
	agent_col(id, "runtime_ok", v, sizeof(v));
	cr_assert(eq(str, v, "1"));
	agent_col(id, "runtime_detail", v, sizeof(v));
	cr_assert(eq(str, v, ""));
}

/* ---- fleet_list ---- */

static long list(const char *team, long offset, long limit, cJSON **out)
{
	struct berr e = {0};
	long total = -1;

	*out = cJSON_CreateArray();
	cr_assert(eq(int, fleet_list(fx.st, team, offset, limit, *out, &total, &e), B_OK), "%s",
		  e.message);
	return total;
}

static void three_agents(char *c, char *a, char *b)
{
	char other[UUID_STR_LEN + 1];

	agent_connect(fx.team_a, "c-host", c);
	agent_connect(fx.team_a, "a-host", a);
	agent_connect(fx.team_a, "b-host", b);
	agent_connect(fx.team_b, "other", other);
}

Test(fleet, list_first_page_by_name_with_total)
{
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1], c[UUID_STR_LEN + 1], n0[64], n1[64];
	cJSON *l;
	long total;
	int size;

	three_agents(c, a, b);
	total = list(fx.team_a, 0, 2, &l);
	size = cJSON_GetArraySize(l);
	member(cJSON_GetArrayItem(l, 0), "agent_id", n0, sizeof(n0));
	member(cJSON_GetArrayItem(l, 1), "agent_id", n1, sizeof(n1));
	cJSON_Delete(l);
	cr_assert(eq(long, total, 3));
	cr_assert(eq(int, size, 2));
	cr_assert(eq(str, n0, "\"a-host\""));
	cr_assert(eq(str, n1, "\"b-host\""));
}

Test(fleet, list_second_page)
{
	char a[UUID_STR_LEN + 1], b[UUID_STR_LEN + 1], c[UUID_STR_LEN + 1], n0[64];
	cJSON *l;
	long total;
	int size;

	three_agents(c, a, b);
	total = list(fx.team_a, 2, 2, &l);
	size = cJSON_GetArraySize(l);
	member(cJSON_GetArrayItem(l, 0), "agent_id", n0, sizeof(n0));
	cJSON_Delete(l);
	cr_assert(eq(long, total, 3));
	cr_assert(eq(int, size, 1));
	cr_assert(eq(str, n0, "\"c-host\""));
}

Test(fleet, list_of_a_team_without_agents_is_empty)
{
	char id[UUID_STR_LEN + 1];
	cJSON *l;
	long total;
	int size;

	agent_connect(fx.team_b, "other", id);
	total = list(fx.team_a, 0, 20, &l);
	size = cJSON_GetArraySize(l);
	cJSON_Delete(l);
	cr_assert(eq(long, total, 0));
	cr_assert(eq(int, size, 0));
}

Test(fleet, list_item_of_a_new_agent)
{
	char id[UUID_STR_LEN + 1], v[128];
	cJSON *l, *it;

	agent_connect(fx.team_a, "gpu-a", id);
	list(fx.team_a, 0, 20, &l);
	it = cJSON_GetArrayItem(l, 0);
	member(it, "agent_status", v, sizeof(v));
	cr_assert(eq(str, v, "\"offline\""));
	member(it, "last_heartbeat", v, sizeof(v));
	cr_assert(eq(str, v, "null"));
	member(it, "agent_labels", v, sizeof(v));
	cr_assert(eq(str, v, "[]"));
	member(it, "running_count", v, sizeof(v));
	cr_assert(eq(str, v, "0"));
	member(it, "runtime_status", v, sizeof(v));
	cr_assert(eq(str, v, "\"available\""));
	cJSON_Delete(l);
}

Test(fleet, list_item_says_runtime_unavailable_with_detail)
{
	struct berr e = {0};
	char id[UUID_STR_LEN + 1], st_[64], det[128];
	cJSON *l, *it;

	agent_connect(fx.team_a, "gpu-a", id);
	cr_assert(eq(int, fleet_agent_runtime(fx.st, id, false, "no docker", &e), B_OK));
	list(fx.team_a, 0, 20, &l);
	it = cJSON_GetArrayItem(l, 0);
	member(it, "runtime_status", st_, sizeof(st_));
	member(it, "runtime_detail", det, sizeof(det));
	cJSON_Delete(l);
	cr_assert(eq(str, st_, "\"unavailable\""));
	cr_assert(eq(str, det, "\"no docker\""));
}

Test(fleet, list_running_count_counts_healthy_replicas)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r1[UUID_STR_LEN + 1];
	char r2[UUID_STR_LEN + 1], r3[UUID_STR_LEN + 1], v[64], labels[128];
	cJSON *l, *it;

	agent_connect(fx.team_a, "gpu-a", ag);
	online(ag, "{\"agent_labels\":[\"gpu\"],\"gpu_capacity\":1,\"platform_arch\":\"x86_64\",\"agent_version\":\"1\"}");
	add_service("web", svc);
	add_replica(svc, ag, NULL, r1);
	add_replica(svc, ag, NULL, r2);
	add_replica(svc, ag, NULL, r3);
	cr_assert(eq(int, report(ag, r1, "healthy", "", "c1"), B_OK));
	cr_assert(eq(int, report(ag, r2, "healthy", "", "c2"), B_OK));
	list(fx.team_a, 0, 20, &l);
	it = cJSON_GetArrayItem(l, 0);
	member(it, "running_count", v, sizeof(v));
	member(it, "agent_labels", labels, sizeof(labels));
	cJSON_Delete(l);
	cr_assert(eq(str, v, "2"));
	cr_assert(eq(str, labels, "[\"gpu\"]"));
}

/* ---- replicas ---- */

Test(fleet, replica_add_is_pending_with_its_gpus)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1] = "", v[128];

	agent_connect(fx.team_a, "gpu-a", ag);
	add_service("web", svc);
	add_replica(svc, ag, "[\"0\",\"1\"]", r);
	cr_assert(uuid_valid(r), "replica id %s", r);
	replica_col(r, "replica_state", v, sizeof(v));
	cr_assert(eq(str, v, "pending"));
	replica_col(r, "gpu_ids", v, sizeof(v));
	cr_assert(eq(str, v, "[\"0\",\"1\"]"));
	replica_col(r, "agent_id", v, sizeof(v));
	cr_assert(eq(str, v, ag));
}

Test(fleet, replica_add_without_gpus_stores_an_empty_array)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1], v[128];

	agent_connect(fx.team_a, "gpu-a", ag);
	add_service("web", svc);
	add_replica(svc, ag, NULL, r);
	replica_col(r, "gpu_ids", v, sizeof(v));
	cr_assert(eq(str, v, "[]"));
}

Test(fleet, replica_report_updates_the_row)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1], v[128];

	agent_connect(fx.team_a, "gpu-a", ag);
	add_service("web", svc);
	add_replica(svc, ag, NULL, r);
	cr_assert(eq(int, report(ag, r, "starting", "probing /health", "abc123"), B_OK));
	replica_col(r, "replica_state", v, sizeof(v));
	cr_assert(eq(str, v, "starting"));
	replica_col(r, "replica_detail", v, sizeof(v));
	cr_assert(eq(str, v, "probing /health"));
	replica_col(r, "container_id", v, sizeof(v));
	cr_assert(eq(str, v, "abc123"));
}

Test(fleet, replica_report_without_container_keeps_the_known_one)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1], v[128];

	agent_connect(fx.team_a, "gpu-a", ag);
	add_service("web", svc);
	add_replica(svc, ag, NULL, r);
	cr_assert(eq(int, report(ag, r, "starting", "", "abc123"), B_OK));
	cr_assert(eq(int, report(ag, r, "healthy", "", NULL), B_OK));
	replica_col(r, "replica_state", v, sizeof(v));
	cr_assert(eq(str, v, "healthy"));
	replica_col(r, "container_id", v, sizeof(v));
	cr_assert(eq(str, v, "abc123"));
}

Test(fleet, replica_report_same_values_twice_is_ok)
{
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1];

	agent_connect(fx.team_a, "gpu-a", ag);
	add_service("web", svc);
	add_replica(svc, ag, NULL, r);
	cr_assert(eq(int, report(ag, r, "healthy", "", "c1"), B_OK));
	cr_assert(eq(int, report(ag, r, "healthy", "", "c1"), B_OK));
}

Test(fleet, replica_report_unknown_id_is_not_found)
{
	char ag[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1];

	agent_connect(fx.team_a, "gpu-a", ag);
	uuid_v7(r);
	cr_assert(eq(int, report(ag, r, "healthy", "", "c1"), B_ENOTFOUND));
}

Test(fleet, replica_report_from_another_agent_is_not_found)
{
	char a1[UUID_STR_LEN + 1], a2[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1];
	char r[UUID_STR_LEN + 1], v[64];

	agent_connect(fx.team_a, "gpu-a", a1);
	agent_connect(fx.team_a, "gpu-b", a2);
	add_service("web", svc);
	add_replica(svc, a1, NULL, r);
	cr_assert(eq(int, report(a2, r, "healthy", "", "c1"), B_ENOTFOUND));
	replica_col(r, "replica_state", v, sizeof(v));
	cr_assert(eq(str, v, "pending"));
}

Test(fleet, replica_counts_per_state)
{
	struct berr e = {0};
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r1[UUID_STR_LEN + 1];
	char r2[UUID_STR_LEN + 1], r3[UUID_STR_LEN + 1], *t, got[256];
	cJSON *counts = cJSON_CreateObject();

	agent_connect(fx.team_a, "gpu-a", ag);
	add_service("web", svc);
	add_replica(svc, ag, NULL, r1);
	add_replica(svc, ag, NULL, r2);
	add_replica(svc, ag, NULL, r3);
	cr_assert(eq(int, report(ag, r1, "healthy", "", ""), B_OK));
	cr_assert(eq(int, report(ag, r2, "healthy", "", ""), B_OK));
	cr_assert(eq(int, fleet_replica_counts(fx.st, counts, &e), B_OK), "%s", e.message);
	t = json_print(counts);
	snprintf(got, sizeof(got), "%s", t);
	free(t);
	cJSON_Delete(counts);
	cr_assert(eq(str, got, "{\"healthy\":2,\"pending\":1}"));
}

Test(fleet, replica_counts_of_nothing_is_empty)
{
	struct berr e = {0};
	cJSON *counts = cJSON_CreateObject();
	int size;

	cr_assert(eq(int, fleet_replica_counts(fx.st, counts, &e), B_OK), "%s", e.message);
	size = cJSON_GetArraySize(counts);
	cJSON_Delete(counts);
	cr_assert(eq(int, size, 0));
}

/* Told to go, a replica stays going until it is gone: a report of it running (an agent back
 * online lists all it has) changes nothing, a failed removal only says why. */
Test(fleet, replica_report_does_not_bring_back_a_stopping_replica)
{
	struct berr e = {0};
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1], v[64];

	agent_connect(fx.team_a, "gpu-a", ag);
	add_service("web", svc);
	add_replica(svc, ag, NULL, r);
	cr_assert(eq(int, report(ag, r, "healthy", "", "abc123"), B_OK));
	cr_assert(eq(int, fleet_replica_set_state(fx.st, r, "stopping", "going", &e), B_OK));
	cr_assert(eq(int, report(ag, r, "healthy", "", "abc123"), B_OK), "known: no DELETE of it");
	replica_col(r, "replica_state", v, sizeof(v));
	cr_assert(eq(str, v, "stopping"));
	replica_col(r, "replica_detail", v, sizeof(v));
	cr_assert(eq(str, v, "going"));
	cr_assert(eq(int, report(ag, r, "failed", "cannot remove: busy", NULL), B_OK));
	replica_col(r, "replica_state", v, sizeof(v));
	cr_assert(eq(str, v, "stopping"));
	replica_col(r, "replica_detail", v, sizeof(v));
	cr_assert(eq(str, v, "cannot remove: busy"));
	cr_assert(eq(int, report(ag, r, "stopped", "", NULL), B_OK));
	replica_col(r, "replica_state", v, sizeof(v));
	cr_assert(eq(str, v, "stopped"));
}

/* Only news is written and told: a removal failing the same way again (Docker down) changes
 * nothing, so it does not set off another reconcile pass at once. */
Test(fleet, replica_report_says_whether_anything_changed)
{
	struct berr e = {0};
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1];
	bool changed;

	agent_connect(fx.team_a, "gpu-a", ag);
	add_service("web", svc);
	add_replica(svc, ag, NULL, r);
	cr_assert(eq(int, fleet_replica_report(fx.st, ag, r, "healthy", "", "c1", &changed, &e),
		     B_OK));
	cr_assert(changed);
	cr_assert(eq(int, fleet_replica_report(fx.st, ag, r, "healthy", "", "c1", &changed, &e),
		     B_OK));
	cr_assert(not(changed), "the same report again");
	cr_assert(eq(int, fleet_replica_set_state(fx.st, r, "stopping", "going", &e), B_OK));
	cr_assert(eq(int, fleet_replica_report(fx.st, ag, r, "healthy", "", NULL, &changed, &e),
		     B_OK));
	cr_assert(not(changed), "running, while told to go");
	cr_assert(eq(int, fleet_replica_report(fx.st, ag, r, "failed", "docker down", NULL, &changed,
						&e), B_OK));
	cr_assert(changed, "why the removal failed");
	cr_assert(eq(int, fleet_replica_report(fx.st, ag, r, "stopping", "", NULL, &changed, &e),
		     B_OK));
	cr_assert(not(changed), "the next attempt starting");
	cr_assert(eq(int, fleet_replica_report(fx.st, ag, r, "failed", "docker down", NULL, &changed,
						&e), B_OK));
	cr_assert(not(changed), "failing the same way again");
}

Test(fleet, replica_set_state_and_delete)
{
	struct berr e = {0};
	char ag[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], r[UUID_STR_LEN + 1], v[64];

	agent_connect(fx.team_a, "gpu-a", ag);
	add_service("web", svc);
	add_replica(svc, ag, NULL, r);
	cr_assert(eq(int, fleet_replica_set_state(fx.st, r, "stopping", "bye", &e), B_OK));
	replica_col(r, "replica_state", v, sizeof(v));
	cr_assert(eq(str, v, "stopping"));
	cr_assert(eq(int, fleet_replica_delete(fx.st, r, &e), B_OK));
	cr_assert(not(query(v, sizeof(v), "SELECT 1 FROM replicas WHERE id = %Q", r)));
}
