/* route_test.c: lib/route: which replica takes a call: the service's state, healthy replicas
 * on online agents, fewest in flight first, then the one picked longest ago, an unreachable one
 * set aside, and gatewayd's URL for proxy and egress. Against a real temporary store. */
#include "berth.h"
#include "route.h"
#include "fixture.h"
#include "fleet.h"
#include "svc.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <string.h>

TestSuite(route, .init = fixture_store_open, .fini = fixture_store_close);

static char service[UUID_STR_LEN + 1], agent[UUID_STR_LEN + 1];

/* A service of team_a; its id into id. */
static void add_service(const char *slug, char id[UUID_STR_LEN + 1])
{
	char def[128];
	cJSON *b;
	struct berr e = {0};
	struct svc v;

	snprintf(def, sizeof(def), "{\"service_slug\":\"%s\",\"docker_image\":\"nginx\"}", slug);
	b = cJSON_Parse(def);
	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "%s", e.message);
	snprintf(v.team_id, sizeof(v.team_id), "%s", fx.team_a);
	cr_assert(eq(int, svc_insert(fx.st, &v, &e), B_OK), "%s", e.message);
	snprintf(id, UUID_STR_LEN + 1, "%s", v.id);
	svc_free(&v);
	cJSON_Delete(b);
}

/* A replica of service on agent_id in state; its id into id. */
static void add_replica(const char *service_id, const char *agent_id, const char *state,
			char id[UUID_STR_LEN + 1])
{
	struct berr e = {0};

	cr_assert(eq(int, fleet_replica_add(fx.st, service_id, agent_id, "[]", id, &e), B_OK));
	cr_assert(eq(int, fleet_replica_set_state(fx.st, id, state, "", &e), B_OK));
}

/* A running service "svc" of team_a, an online agent, and n healthy replicas on it. */
static void arrange(int n, char ids[][UUID_STR_LEN + 1])
{
	cJSON *info = cJSON_Parse("{\"platform_arch\":\"amd64\",\"agent_version\":\"1\"}");
	struct berr e = {0};

	add_service("svc", service);
	cr_assert(eq(int, fleet_agent_connect(fx.st, fx.team_a, "gpu-1", NULL, agent, &e), B_OK));
	cr_assert(eq(int, fleet_agent_online(fx.st, agent, info, &e), B_OK), "%s", e.message);
	cJSON_Delete(info);
	fixture_exec("UPDATE container_services SET service_status = 'running' WHERE id = ?",
		     service);
	for (int i = 0; i < n; i++)
		add_replica(service, agent, "healthy", ids[i]);
}

static void resolve(struct route *rt)
{
	struct berr e = {0};

	cr_assert(eq(int, route_resolve(fx.st, fx.team_a, "svc", rt, &e), B_OK), "%s", e.message);
}

Test(route, a_service_must_exist_in_the_team_be_running_and_have_a_healthy_replica)
{
	char ids[1][UUID_STR_LEN + 1];
	struct berr e = {0};
	struct route rt;

	cr_assert(eq(int, route_resolve(fx.st, fx.team_a, "svc", &rt, &e), B_ENOTFOUND));
	arrange(1, ids);
	cr_assert(eq(int, route_resolve(fx.st, fx.team_b, "svc", &rt, &e), B_ENOTFOUND),
		  "another team's slug is not found");
	fixture_exec("UPDATE container_services SET service_status = 'stopped' WHERE id = ?", service);
	cr_assert(eq(int, route_resolve(fx.st, fx.team_a, "svc", &rt, &e), B_ECONFLICT));
	cr_assert(eq(str, e.field, "service_status"));
	fixture_exec("UPDATE container_services SET service_status = 'running' WHERE id = ?", service);
	fixture_exec("UPDATE replicas SET replica_state = 'unhealthy' WHERE service_id = ?", service);
	cr_assert(eq(int, route_resolve(fx.st, fx.team_a, "svc", &rt, &e), B_EUNAVAILABLE));
	fixture_exec("UPDATE replicas SET replica_state = 'healthy' WHERE service_id = ?", service);
	fixture_exec("UPDATE agents SET agent_status = 'offline' WHERE id = ?", agent);
	cr_assert(eq(int, route_resolve(fx.st, fx.team_a, "svc", &rt, &e), B_EUNAVAILABLE),
		  "a replica of an offline agent does not count");
	fixture_exec("UPDATE agents SET agent_status = 'online' WHERE id = ?", agent);
	resolve(&rt);
	cr_assert(eq(int, rt.n, 1));
	cr_assert(eq(str, rt.reps[0].replica_id, ids[0]));
	cr_assert(eq(str, rt.reps[0].agent_id, agent));
	cr_assert(eq(str, rt.service_id, service));
	cr_assert(not(rt.egress));
}

Test(route, only_this_services_healthy_replicas_on_online_agents_count)
{
	char ids[2][UUID_STR_LEN + 1], other[UUID_STR_LEN + 1], off[UUID_STR_LEN + 1];
	char starting[UUID_STR_LEN + 1], elsewhere[UUID_STR_LEN + 1], away[UUID_STR_LEN + 1];
	struct berr e = {0};
	struct route rt;

	arrange(2, ids);
	add_service("other", other);
	cr_assert(eq(int, fleet_agent_connect(fx.st, fx.team_a, "gpu-2", NULL, off, &e), B_OK));
	add_replica(service, agent, "starting", starting);
	add_replica(other, agent, "healthy", elsewhere);
	add_replica(service, off, "healthy", away);
	resolve(&rt);
	cr_assert(eq(int, rt.n, 2), "a starting replica, another service's and one on an agent "
		  "never online are left out");
	cr_assert(eq(int, strcmp(rt.reps[0].replica_id, rt.reps[1].replica_id) < 0, 1),
		  "replicas come in id order");
	for (int i = 0; i < 2; i++)
		cr_assert(strcmp(rt.reps[i].replica_id, ids[0]) == 0 ||
			  strcmp(rt.reps[i].replica_id, ids[1]) == 0);
}

Test(route, fewest_in_flight_first_then_the_one_picked_longest_ago)
{
	char ids[3][UUID_STR_LEN + 1];
	struct route a, b, c, d;
	struct route_target *ta, *tb, *tc, *td;

	arrange(3, ids);
	resolve(&a);
	resolve(&b);
	resolve(&c);
	ta = route_next(&a);
	tb = route_next(&b);
	tc = route_next(&c);
	/* three calls at once spread over the three replicas */
	cr_assert(strcmp(ta->replica_id, tb->replica_id) != 0);
	cr_assert(strcmp(tb->replica_id, tc->replica_id) != 0);
	cr_assert(strcmp(ta->replica_id, tc->replica_id) != 0);
	cr_assert(eq(int, route_in_flight(ta->replica_id), 1));
	/* b's finishes: the next call goes to its replica, the only idle one */
	route_done(tb, false);
	resolve(&d);
	td = route_next(&d);
	cr_assert(eq(str, td->replica_id, tb->replica_id));
	char first[UUID_STR_LEN + 1], third[UUID_STR_LEN + 1];

	snprintf(first, sizeof(first), "%s", ta->replica_id);
	snprintf(third, sizeof(third), "%s", tc->replica_id);
	route_done(ta, false);
	route_done(tc, false);
	route_done(td, false);
	cr_assert(eq(int, route_in_flight(first), 0));
	/* all idle: the one picked longest ago goes first (a's), then c's */
	resolve(&a);
	ta = route_next(&a);
	cr_assert(eq(str, ta->replica_id, first));
	route_done(ta, false);
	resolve(&b);
	tb = route_next(&b);
	cr_assert(eq(str, tb->replica_id, third), "idle replicas take turns");
	route_done(tb, false);
}

Test(route, each_replica_is_tried_once_and_an_unreachable_one_sits_out)
{
	char ids[2][UUID_STR_LEN + 1];
	struct route rt, again;
	struct route_target *first, *second;

	arrange(2, ids);
	resolve(&rt);
	first = route_next(&rt);
	second = route_next(&rt);
	cr_assert(first && second && strcmp(first->replica_id, second->replica_id) != 0);
	cr_assert(eq(ptr, route_next(&rt), NULL), "no replica is tried twice for one call");
	route_done(first, true);
	route_done(second, false);
	for (int i = 0; i < 3; i++) {
		struct route_target *t;

		resolve(&again);
		t = route_next(&again);
		cr_assert(eq(str, t->replica_id, second->replica_id),
			  "the unreachable replica is passed over while another is there");
		route_done(t, false);
	}
	resolve(&again);
	(void)route_next(&again);
	cr_assert(not(eq(ptr, route_next(&again), NULL)), "but it is still tried as a last resort");
}

Test(route, urls_name_the_agent_the_replica_and_proxy_or_egress)
{
	struct route rt = {0};
	struct route_target t = {.agent_id = "a1", .replica_id = "r1"};
	char url[64], small[16];

	cr_assert(route_url(&rt, &t, "/v1/x?q=1", url, sizeof(url)));
	cr_assert(eq(str, url, "http://gatewayd/agents/a1/v1/proxy/r1/v1/x?q=1"));
	rt.egress = true;
	cr_assert(route_url(&rt, &t, "/", url, sizeof(url)));
	cr_assert(eq(str, url, "http://gatewayd/agents/a1/v1/egress/r1/"));
	cr_assert(not(route_url(&rt, &t, "/", small, sizeof(small))), "a URL that does not fit");
}
