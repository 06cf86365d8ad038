/* Agents and the tunnel, end to end: real berth-agent processes dial the gateway through
 * lighttpd, berth-gatewayd schedules, a real dockerd runs berth-fixture:test containers. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEADLINE_MS 30000

static struct h_tenant t;

static void setup(void)
{
	h_tenant_new(&t);
}

TestSuite(agents, .init = setup);

static const char *const ONLINE_SQL =
	"SELECT count(*) FROM agents WHERE team_id = ? AND agent_status = 'online'";

static void wait_online(long n)
{
	cr_assert(eq(long, h_wait_count(ONLINE_SQL, t.team, n, DEADLINE_MS), n),
		  "expected %ld agents online", n);
}

/* Creates and deploys a service; its id lands in id. */
static void deploy(const char *slug, const char *extra, char *id)
{
	char body[1024];

	snprintf(body, sizeof(body), "{\"service_slug\": \"%s\", \"docker_image\": "
		 "\"berth-fixture:test\", \"exposed_port\": 8080%s%s}", slug, extra ? ", " : "",
		 extra ? extra : "");
	h_deploy(&t, body, id, NULL);
}

static void wait_status(const char *id, const char *want)
{
	char got[64];

	cr_assert(h_wait_text("SELECT service_status FROM container_services WHERE id = ?", id,
			      want, DEADLINE_MS, got, sizeof(got)),
		  "service %s: expected %s, still %s", id, want, got);
}

static void undeploy_and_check_gone(const char *id)
{
	char path[160];
	struct h_resp r;

	snprintf(path, sizeof(path), "/api/v1/containers/%s/undeploy", id);
	h_call(&r, "POST", path, t.member_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	h_resp_free(&r);
	wait_status(id, "stopped");
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM replicas WHERE service_id = ?", id), 0));
}

static long containers_of(const char *service_id)
{
	char path[512];
	struct h_resp r;
	long n;

	snprintf(path, sizeof(path), "/containers/json?all=1&filters=%%7B%%22label%%22%%3A%%5B%%22"
		 "berth.service%%3D%s%%22%%5D%%7D", service_id);
	cr_assert(eq(long, h_docker_get(&r, path), 200), "%s", r.body);
	n = cJSON_GetArraySize(r.json);
	h_resp_free(&r);
	return n;
}

/* A running service named slug on a new agent of that name, which is then killed and seen
 * offline: the service's id and its replica's. */
static void running_then_agent_gone(const char *slug, char *id, char *replica)
{
	int a = h_agent_start(slug, t.ak, NULL);

	wait_online(1);
	deploy(slug, NULL, id);
	wait_status(id, "running");
	h_db_text("SELECT id FROM replicas WHERE service_id = ?", id, replica, H_ID);
	h_agent_kill(a);
	cr_assert(eq(long, h_wait_count(ONLINE_SQL, t.team, 0, DEADLINE_MS), 0));
}

Test(agents, agent_connects_and_is_listed_with_its_labels)
{
	struct h_resp r;
	char name[128];
	const cJSON *a;

	h_agent_name(name, sizeof(name), "lister");
	h_agent_start("lister", t.ak, "zone-a,fast");
	wait_online(1);
	h_call(&r, "GET", "/api/v1/agents", t.viewer_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "agent_list"), 0);
	cr_assert(eq(str, cJSON_GetObjectItem(a, "agent_id")->valuestring, name));
	cr_assert(eq(str, cJSON_GetObjectItem(a, "agent_status")->valuestring, "online"));
	cr_assert(eq(str, cJSON_GetArrayItem(cJSON_GetObjectItem(a, "agent_labels"), 0)->valuestring,
		     "zone-a"));
	cr_assert(eq(int, cJSON_GetArraySize(cJSON_GetObjectItem(a, "agent_labels")), 2));
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(a, "connected_at")));
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(a, "platform_arch")));
	h_resp_free(&r);
}

Test(agents, wrong_key_is_refused_and_the_agent_keeps_retrying)
{
	char fake[H_KEY];
	int pid;

	snprintf(fake, sizeof(fake), "%s", t.ak);
	fake[12] = fake[12] == 'a' ? 'b' : 'a';
	pid = h_agent_start("bad-key", fake, NULL);
	sleep(2);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM agents WHERE team_id = ?", t.team), 0));
	cr_assert(eq(int, kill(pid, 0), 0), "the agent gave up instead of retrying");
	/* the same agent with the right key later gets in: retries go on */
	h_agent_kill(pid);
	h_agent_start("bad-key", t.ak, NULL);
	wait_online(1);
}

Test(agents, an_agent_without_docker_is_listed_unavailable_and_gets_no_replica)
{
	char id[H_ID], got[64];
	struct h_resp r;
	const cJSON *a;

	h_agent_start_docker("dockerless", t.ak, "/nonexistent/docker.sock");
	wait_online(1);
	cr_assert(h_wait_text("SELECT CASE runtime_ok WHEN 0 THEN 'unavailable' ELSE 'available' "
			      "END FROM agents WHERE team_id = ?", t.team, "unavailable", DEADLINE_MS,
			      got, sizeof(got)), "runtime: %s", got);
	h_call(&r, "GET", "/api/v1/agents", t.viewer_tok, t.team, NULL);
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(r.json, "agent_list"), 0);
	cr_assert(eq(str, cJSON_GetObjectItem(a, "runtime_status")->valuestring, "unavailable"));
	cr_assert(strlen(cJSON_GetObjectItem(a, "runtime_detail")->valuestring) > 0);
	h_resp_free(&r);
	deploy("nowhere", NULL, id);
	sleep(2);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM replicas WHERE service_id = ?", id), 0),
		  "no replica is placed on an agent that cannot run it");
	h_db_text("SELECT service_status FROM container_services WHERE id = ?", id, got, sizeof(got));
	cr_assert(eq(str, got, "deploying"));
}

Test(agents, a_put_on_a_running_service_waits_for_the_next_deploy)
{
	char id[H_ID], path[160];
	struct h_resp r;

	h_agent_start("steady", t.ak, NULL);
	wait_online(1);
	deploy("steady", NULL, id);
	wait_status(id, "running");
	snprintf(path, sizeof(path), "/api/v1/containers/%s", id);
	h_call(&r, "PUT", path, t.member_tok, t.team, "{\"replica_count\": 2}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	h_resp_free(&r);
	sleep(2); /* several reconciles */
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM replicas WHERE service_id = ?", id), 1),
		  "the running deploy keeps its replica_count");
	undeploy_and_check_gone(id);
	snprintf(path, sizeof(path), "/api/v1/containers/%s/deploy", id);
	h_call(&r, "POST", path, t.member_tok, t.team, NULL);
	h_resp_free(&r);
	wait_status(id, "running");
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM replicas WHERE service_id = ? AND "
				      "replica_state = 'healthy'", id), 2), "the next deploy has 2");
	undeploy_and_check_gone(id);
}

Test(agents, a_failed_service_leaves_nothing_running)
{
	char id[H_ID], victim[H_ID];

	h_agent_start("fail-a", t.ak, NULL);
	h_agent_start("fail-b", t.ak, NULL);
	wait_online(2);
	deploy("halfway", "\"replica_count\": 2", id);
	wait_status(id, "running");
	/* one replica fails, as its agent would report a start failure */
	h_db_text("SELECT id FROM replicas WHERE service_id = ? ORDER BY id LIMIT 1", id, victim,
		  sizeof(victim));
	h_db_exec("UPDATE replicas SET replica_state = 'failed', replica_detail = 'simulated' "
		  "WHERE id = ?", victim);
	wait_status(id, "failed");
	cr_assert(eq(long, h_wait_count("SELECT count(*) FROM replicas WHERE service_id = ?", id, 0,
					DEADLINE_MS), 0), "the healthy replica was removed too");
	for (int i = 0; i < 50 && containers_of(id) > 0; i++)
		usleep(100 * 1000);
	cr_assert(eq(long, containers_of(id), 0), "no container of a failed service keeps running");
}

Test(agents, deploy_runs_a_container_and_undeploy_removes_it)
{
	char id[H_ID];

	h_agent_start("one", t.ak, NULL);
	wait_online(1);
	deploy("web", NULL, id);
	wait_status(id, "running");
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM replicas WHERE service_id = ? AND "
				      "replica_state = 'healthy'", id), 1));
	cr_assert(eq(long, containers_of(id), 1));
	undeploy_and_check_gone(id);
	for (int i = 0; i < 50 && containers_of(id) > 0; i++)
		usleep(100 * 1000);
	cr_assert(eq(long, containers_of(id), 0), "a container outlived undeploy");
}

Test(agents, two_replicas_spread_over_two_agents)
{
	char id[H_ID];

	h_agent_start("spread-a", t.ak, NULL);
	h_agent_start("spread-b", t.ak, NULL);
	wait_online(2);
	deploy("spread", "\"replica_count\": 2", id);
	wait_status(id, "running");
	cr_assert(eq(long, h_db_count("SELECT count(DISTINCT agent_id) FROM replicas WHERE "
				      "service_id = ? AND replica_state = 'healthy'", id), 2));
	undeploy_and_check_gone(id);
}

Test(agents, unmet_required_labels_keep_it_deploying_with_a_detail)
{
	char id[H_ID], detail[512];

	h_agent_start("plain", t.ak, "cpu");
	wait_online(1);
	deploy("needs-h100", "\"required_labels\": [\"gpu\", \"h100\"]", id);
	sleep(2);
	h_db_text("SELECT service_status || ': ' || status_detail FROM container_services WHERE id = ?",
		  id, detail, sizeof(detail));
	cr_assert(strstr(detail, "deploying: ") == detail, "%s", detail);
	cr_assert(strstr(detail, "gpu,h100") != NULL, "the detail names the labels: %s", detail);
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM replicas WHERE service_id = ?", id), 0));
}

Test(agents, an_image_that_does_not_exist_fails_with_a_reason)
{
	char id[H_ID], detail[512];

	h_agent_start("puller", t.ak, NULL);
	wait_online(1);
	h_deploy(&t, "{\"service_slug\": \"ghost\", \"docker_image\": "
		 "\"berth-no-such-image:never\"}", id, "failed");
	h_db_text("SELECT status_detail FROM container_services WHERE id = ?", id, detail,
		  sizeof(detail));
	cr_assert(strstr(detail, "berth-no-such-image") != NULL || strlen(detail) > 20,
		  "a reason is given: %s", detail);
	undeploy_and_check_gone(id);
}

/* State.StartedAt and the bridge address of a container, as Docker reports them (either NULL). */
static void container_state(const char *cid, char *started, char *ip, size_t n)
{
	const cJSON *st, *net;
	char path[256];
	struct h_resp r;

	snprintf(path, sizeof(path), "/containers/%s/json", cid);
	cr_assert(eq(long, h_docker_get(&r, path), 200), "%s", r.body);
	st = cJSON_GetObjectItem(r.json, "State");
	net = cJSON_GetObjectItem(r.json, "NetworkSettings");
	if (started)
		snprintf(started, n, "%s",
			 cJSON_GetStringValue(cJSON_GetObjectItem(st, "StartedAt")));
	if (ip)
		snprintf(ip, n, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(net, "IPAddress")));
	h_resp_free(&r);
}

/* Docker hands a freed bridge address to the next container it starts, here one that answers
 * the same health probe (in a parallel run, another test's replica did): the agent must still
 * see its own container exit, not take the other's answers for its own. */
Test(agents, a_killed_container_is_restarted)
{
	char id[H_ID], cid[128], path[256], again[64], other[128];
	char started[64], ip[64], started2[64], other_ip[64];

	h_agent_start("restarter", t.ak, NULL);
	wait_online(1);
	deploy("phoenix", NULL, id);
	wait_status(id, "running");
	h_db_text("SELECT container_id FROM replicas WHERE service_id = ?", id, cid, sizeof(cid));
	cr_assert(strlen(cid) > 10, "container id recorded: %s", cid);
	container_state(cid, started, ip, sizeof(started));
	h_docker_fixture(other, sizeof(other));
	snprintf(path, sizeof(path), "/containers/%s/kill", cid);
	cr_assert(eq(long, h_docker_post(path), 204));
	snprintf(path, sizeof(path), "/containers/%s/start", other);
	cr_assert(eq(long, h_docker_post(path), 204));
	container_state(other, NULL, other_ip, sizeof(other_ip));
	cr_log_info("killed %.12s at %s; %.12s started at %s", cid, ip, other, other_ip);
	/* the agent sees it exit, starts it again, and it becomes healthy again */
	cr_assert(h_wait_text("SELECT replica_state FROM replicas WHERE service_id = ?", id,
			      "starting", DEADLINE_MS, again, sizeof(again)), "state: %s", again);
	cr_assert(h_wait_text("SELECT replica_state FROM replicas WHERE service_id = ?", id,
			      "healthy", DEADLINE_MS, again, sizeof(again)), "state: %s", again);
	container_state(cid, started2, NULL, sizeof(started2));
	cr_assert(ne(str, started2, started), "the agent started the container again");
	snprintf(path, sizeof(path), "/containers/%s?force=1", other);
	cr_assert(eq(long, h_docker_send(NULL, "DELETE", path, NULL), 204));
	wait_status(id, "running");
	undeploy_and_check_gone(id);
}

/* Undeployed while its agent is away: stopped at once, but the replica stays stopping (its
 * container still runs there, holding its GPUs) until the agent is back and removes it. */
Test(agents, an_undeploy_while_the_agent_is_away_ends_when_it_is_back)
{
	char id[H_ID], old[H_ID], got[64], path[160];
	struct h_resp r;

	running_then_agent_gone("returner", id, old);
	snprintf(path, sizeof(path), "/api/v1/containers/%s/undeploy", id);
	h_call(&r, "POST", path, t.member_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	h_resp_free(&r);
	wait_status(id, "stopped");
	h_db_text("SELECT replica_state FROM replicas WHERE id = ?", old, got, sizeof(got));
	cr_assert(eq(str, got, "stopping"), "the replica was forgotten while its container runs");
	cr_assert(eq(long, containers_of(id), 1));
	h_agent_start("returner", t.ak, NULL);
	cr_assert(eq(long, h_wait_count("SELECT count(*) FROM replicas WHERE id = ?", old, 0,
					DEADLINE_MS), 0), "the replica stays");
	cr_assert(eq(long, containers_of(id), 0), "the container outlived the undeploy");
	wait_status(id, "stopped");
}

Test(agents, a_killed_agents_replica_moves_to_the_other_agent)
{
	char id[H_ID], first[H_ID], second[H_ID];
	int a1;

	a1 = h_agent_start("mover-a", t.ak, NULL);
	wait_online(1);
	deploy("mover", NULL, id);
	wait_status(id, "running");
	h_db_text("SELECT agent_id FROM replicas WHERE service_id = ? AND replica_state = 'healthy'",
		  id, first, sizeof(first));
	h_agent_start("mover-b", t.ak, NULL);
	wait_online(2);
	h_agent_kill(a1);
	/* offline after the PING deadline, lost after the grace period, placed again */
	cr_assert(eq(long, h_wait_count("SELECT count(*) FROM replicas WHERE service_id = ? AND "
					"replica_state = 'healthy' AND agent_id != (SELECT agent_id "
					"FROM replicas r2 WHERE r2.service_id = replicas.service_id "
					"AND r2.replica_state = 'lost' LIMIT 1)", id, 1, 60000), 1));
	h_db_text("SELECT agent_id FROM replicas WHERE service_id = ? AND replica_state = 'healthy'",
		  id, second, sizeof(second));
	cr_assert(strcmp(first, second) != 0, "the replica moved: %s -> %s", first, second);
	wait_status(id, "running");
}

/* Restarting the shared gatewayd would disturb tests running beside it: run.sh runs this
 * suite in a pass of its own, with BERTH_TEST_EXCLUSIVE set, after all the others. */
static void setup_exclusive(void)
{
	if (!getenv("BERTH_TEST_EXCLUSIVE"))
		cr_skip_test("runs in run.sh's exclusive pass");
	h_tenant_new(&t);
}

TestSuite(gateway_restart, .init = setup_exclusive);

/* n calls through the proxy to slug, one after the other, each 200. */
static void calls_succeed(const char *slug, int n)
{
	char path[160];
	struct h_resp r;

	snprintf(path, sizeof(path), "/api/v1/r/containers/%s/health", slug);
	for (int i = 0; i < n; i++) {
		h_call(&r, "GET", path, t.member_tok, t.team, NULL);
		cr_assert(eq(long, r.status, 200), "call %d: %ld %s", i, r.status, r.body);
		h_resp_free(&r);
	}
}

/* gatewayd waiting on the store (another program holding SQLite's write lock longer than the
 * PING deadline, 1.5 s in run.sh) is not an agent that stopped answering: no session ends, and
 * calls go on. */
Test(gateway_restart, a_store_held_up_past_the_ping_deadline_ends_no_session)
{
	static const char *const since_sql = "SELECT connected_at FROM agents WHERE team_id = ?";
	char id[H_ID], before[32], after[32];

	h_agent_start("patient", t.ak, NULL);
	wait_online(1);
	deploy("patient", NULL, id);
	wait_status(id, "running");
	calls_succeed("patient", 5);
	h_db_text(since_sql, t.team, before, sizeof(before));
	/* each PING acknowledgement writes the agent's heartbeat: the first one waits */
	h_db_hold(3000);
	sleep(1); /* several PING rounds after it */
	h_db_text(since_sql, t.team, after, sizeof(after));
	cr_assert(eq(str, after, before), "the session ended and the agent dialed again");
	cr_assert(eq(long, h_db_count(ONLINE_SQL, t.team), 1));
	calls_succeed("patient", 5);
	undeploy_and_check_gone(id);
}

/* Whether the agent's log holds needle. */
static bool agent_log_has(const char *name, const char *needle)
{
	char full[128], path[4200], line[1024];
	bool found = false;
	FILE *f;

	h_agent_name(full, sizeof(full), name);
	snprintf(path, sizeof(path), "%s/agent-%s.log", getenv("BERTH_TEST_STATE"), full);
	f = fopen(path, "r");
	cr_assert(f != NULL, "%s", path);
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

/* Runs another berth-gatewayd (the harness's binary, next to its agent) on listen, with the
 * running one's control socket or a socket of its own; true when it exited with status 1
 * and its log (gatewayd-second.log) says why. */
static bool second_gatewayd_refused(const char *listen, bool same_socket, const char *why)
{
	char bin[4200], cmd[16384], log[4200], text[8192] = "";
	bool refused;
	size_t n;
	int status;
	FILE *f;

	h_gatewayd_bin(bin, sizeof(bin));
	snprintf(log, sizeof(log), "%s/gatewayd-second.log", getenv("BERTH_TEST_STATE"));
	unlink(log);
	/* (one that does start would serve forever: timeout ends it, with status 124) */
	snprintf(cmd, sizeof(cmd), "timeout 10 '%s' --listen %s --socket '%s%s' > '%s' 2>&1", bin,
		 listen, getenv("BERTH_TEST_GWSOCK"), same_socket ? "" : ".second", log);
	status = system(cmd);
	refused = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1;
	f = fopen(log, "r");
	cr_assert(f != NULL, "%s", log);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return refused && strstr(text, why) != NULL;
}

/* A second gatewayd started by mistake on the same store cannot take the running one's port
 * or control socket, and leaves its agents online. */
Test(gateway_restart, a_second_gatewayd_leaves_the_running_one_alone)
{
	char listen[64], id[H_ID];

	h_agent_start("first", t.ak, NULL);
	wait_online(1);
	deploy("first-svc", NULL, id);
	wait_status(id, "running");
	snprintf(listen, sizeof(listen), "127.0.0.1:%ld", h_state_number("gwport"));
	cr_assert(second_gatewayd_refused(listen, false, "cannot listen on"));
	cr_assert(eq(long, h_db_count(ONLINE_SQL, t.team), 1), "its agent was marked offline");
	cr_assert(second_gatewayd_refused("127.0.0.1:0", true, "another berth-gatewayd answers"));
	cr_assert(eq(long, h_db_count(ONLINE_SQL, t.team), 1), "its agent was marked offline");
	calls_succeed("first-svc", 3); /* the programs still reach the running one */
	undeploy_and_check_gone(id);
}

Test(gateway_restart, agents_reconnect_and_the_service_returns_to_running)
{
	char id[H_ID], cid[128], after[128];
	bool exited_502;
	int status = -1;
	pid_t pid;

	h_agent_start("survivor", t.ak, NULL);
	wait_online(1);
	deploy("durable", NULL, id);
	wait_status(id, "running");
	h_db_text("SELECT container_id FROM replicas WHERE service_id = ?", id, cid, sizeof(cid));
	calls_succeed("durable", 40); /* the proxy's threads keep connections to this gatewayd */
	/* a call in flight when gatewayd dies fails; the agent says why, not "caller went away" */
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		struct h_resp r;

		h_call(&r, "GET", "/api/v1/r/containers/durable/slow?ms=20000", t.member_tok,
		       t.team, NULL);
		_exit(r.status == 502 ? 0 : 1);
	}
	usleep(1500 * 1000);
	h_gatewayd_restart();
	for (int i = 0; i < DEADLINE_MS / 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(100 * 1000);
	if (kill(pid, 0) == 0 && waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL); /* no answer in time: status says killed */
		waitpid(pid, &status, 0);
	}
	exited_502 = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	cr_assert(exited_502, "the call in flight was not a 502");
	for (int i = 0; i < DEADLINE_MS / 100 && !agent_log_has("survivor", "the connection to "
							 "gatewayd ended during the call"); i++)
		usleep(100 * 1000);
	cr_assert(agent_log_has("survivor", "the connection to gatewayd ended during the call"));
	cr_assert(agent_log_has("survivor", "the caller went away") == false);
	/* gatewayd marks every agent offline once it listens, before it accepts; the agent
	 * dials again */
	for (int i = 0; i < DEADLINE_MS / 100 && h_gateway_metric("berth_gateway_sessions") < 0; i++)
		usleep(100 * 1000);
	wait_online(1);
	wait_status(id, "running");
	/* connections kept to the old gatewayd are seen closed and made anew: no call fails */
	calls_succeed("durable", 40);
	h_db_text("SELECT container_id FROM replicas WHERE service_id = ? AND replica_state = "
		  "'healthy'", id, after, sizeof(after));
	cr_assert(eq(str, after, cid), "the running container was kept, not replaced");
	undeploy_and_check_gone(id);
}
