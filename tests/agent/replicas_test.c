/* replicas_test.c: agent/replicas.c against the real dockerd on this machine and the fixture
 * image berth-fixture:test (tests/fixtures/build-image.sh). Each test runs its own event_base,
 * waits for the replica events it expects, and removes the containers it made (replica ids
 * t-<random>, containers berth-t-<random>) in the fini, pass or fail. Run them one at a time
 * (tests/agent/run.sh does): every replica manager adopts every berth container it finds. */
#include "berth.h"
#include "replicas.h"
#include "crypto.h"
#include "docker.h"
#include "log.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FIXTURE_IMAGE "berth-fixture:test"
#define SERVICE_ID "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
#define PROBE_MS 200
#define UP_MS 20000            /* put → healthy, generously */
#define EVENTS_MAX 512
#define IDS_MAX 8

struct rec {
	char id[DOCKER_REPLICA_ID_MAX + 1];
	char state[16];
	char detail[ERR_MESSAGE_MAX];
	char cid[DOCKER_ID_LEN + 1];
	double at;                 /* seconds since the test began */
};

static struct event_base *base;
static struct replicas *reps;
static struct docker *dk;
static struct rec recs[EVENTS_MAX];
static size_t nrecs, cursor;
static double t0;
static char ids[IDS_MAX][32];  /* replica ids this test made, removed in the fini */
static size_t nids;
static char tmpdir[64];
static bool timed_out;

static const char *socket_path(void)
{
	const char *s = getenv("BERTH_DOCKER_SOCKET");

	return s && s[0] ? s : DOCKER_SOCKET_DEFAULT;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_event(void *ctx, const struct replica_event *ev)
{
	struct rec *r;

	(void)ctx;
	cr_assert(lt(sz, nrecs, (size_t)EVENTS_MAX), "too many events");
	r = &recs[nrecs++];
	snprintf(r->id, sizeof(r->id), "%s", ev->replica_id);
	snprintf(r->state, sizeof(r->state), "%s", ev->state);
	snprintf(r->detail, sizeof(r->detail), "%s", ev->detail);
	snprintf(r->cid, sizeof(r->cid), "%s", ev->container_id);
	r->at = now_s() - t0;
	cr_log_info("%6.2f s  %s %s %s", r->at, r->id, r->state, r->detail);
}

static struct replicas *manager_new(void)
{
	struct replicas_opts o = {
		.docker_socket = socket_path(),
		.probe_interval_ms = PROBE_MS,
		.probe_timeout_ms = 1000,
		.unhealthy_after = 3,
		.restart_backoff_max_s = 60,
		/* adopt only this suite's containers, not those of an agent running beside it */
		.agent_name = "replicas-test",
	};
	struct berr e = {0};
	struct replicas *r = replicas_new(base, &o, on_event, NULL, &e);

	cr_assert(not(eq(ptr, r, NULL)), "replicas_new: %s", e.message);
	return r;
}

static void setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_init("replicas_test", false, getenv("BERTH_TEST_DEBUG") ? LOG_DEBUG : LOG_WARN, NULL);
	cr_assert(eq(int, evthread_use_pthreads(), 0));
	cr_assert(eq(int, crypto_init(), 0));
	base = event_base_new();
	cr_assert(not(eq(ptr, base, NULL)));
	dk = docker_new(socket_path());
	cr_assert(not(eq(ptr, dk, NULL)));
	nrecs = cursor = nids = 0;
	tmpdir[0] = '\0';
	t0 = now_s();
	reps = manager_new();
}

static void teardown(void)
{
	char name[512];
	struct berr e = {0};

	replicas_free(reps); /* first, or it would restart what is removed below */
	reps = NULL;
	for (size_t i = 0; i < nids; i++) {
		snprintf(name, sizeof(name), DOCKER_NAME_PREFIX "%s", ids[i]);
		if (docker_remove(dk, name, true, &e))
			cr_log_warn("cleanup of %s failed: %s", name, e.message);
	}
	if (tmpdir[0]) {
		snprintf(name, sizeof(name), "%s/fail", tmpdir);
		unlink(name);
		rmdir(tmpdir);
	}
	docker_free(dk);
	event_base_free(base);
	curl_global_cleanup();
}

TestSuite(replicas, .init = setup, .fini = teardown);

/* A fresh replica id t-<8 hex>, remembered for the fini. */
static const char *new_id(void)
{
	char hex[9];

	cr_assert(lt(sz, nids, (size_t)IDS_MAX));
	crypto_random_hex(4, hex);
	snprintf(ids[nids], sizeof(ids[nids]), "t-%s", hex);
	return ids[nids++];
}

static cJSON *spec_new(const char *image)
{
	cJSON *s = cJSON_CreateObject();

	cJSON_AddStringToObject(s, "service_id", SERVICE_ID);
	cJSON_AddStringToObject(s, "docker_image", image);
	cJSON_AddNumberToObject(s, "exposed_port", 8080);
	cJSON_AddStringToObject(s, "health_path", "/health");
	return s;
}

static void spec_add_env(cJSON *s, const char *name, const char *value)
{
	cJSON *arr = cJSON_GetObjectItem(s, "env_config");
	cJSON *o = cJSON_CreateObject();

	if (!arr)
		arr = cJSON_AddArrayToObject(s, "env_config");
	cJSON_AddStringToObject(o, "env_name", name);
	cJSON_AddStringToObject(o, "env_value", value);
	cJSON_AddItemToArray(arr, o);
}

static void put(const char *id, const cJSON *spec)
{
	struct berr e = {0};
	int rc = replicas_put(reps, id, spec, &e);

	cr_assert(eq(int, rc, B_OK), "replicas_put %s: %s (field %s)", id, e.message, e.field);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	timed_out = true;
}

static long find_event(size_t from, const char *id, const char *state)
{
	for (size_t i = from; i < nrecs; i++)
		if (strcmp(recs[i].id, id) == 0 && (!state || strcmp(recs[i].state, state) == 0))
			return (long)i;
	return -1;
}

/* Runs the loop until id reports state (found after the cursor) or ms pass. */
static long wait_event(const char *id, const char *state, int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct event *t = evtimer_new(base, on_timer, NULL);
	long i;

	timed_out = false;
	evtimer_add(t, &tv);
	while ((i = find_event(cursor, id, state)) < 0 && !timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
	if (i >= 0)
		cursor = (size_t)i + 1;
	return i;
}

static void run_for(int ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct event *t = evtimer_new(base, on_timer, NULL);

	timed_out = false;
	evtimer_add(t, &tv);
	while (!timed_out)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(t);
}

static const char *last_state(const char *id)
{
	for (size_t i = nrecs; i-- > 0;)
		if (strcmp(recs[i].id, id) == 0)
			return recs[i].state;
	return "(no event)";
}

static const char *last_detail(const char *id)
{
	for (size_t i = nrecs; i-- > 0;)
		if (strcmp(recs[i].id, id) == 0)
			return recs[i].detail;
	return "";
}

static struct rec *expect(const char *id, const char *state, int ms)
{
	long i = wait_event(id, state, ms);

	cr_assert(ge(long, i, 0L), "%s: no \"%s\" event within %d ms; last: %s (%s)", id, state,
		  ms, last_state(id), last_detail(id));
	return &recs[i];
}

static size_t events_of(const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < nrecs; i++)
		n += strcmp(recs[i].id, id) == 0;
	return n;
}

/* The replica's entry in replicas_list (freed with the returned array). */
static cJSON *listed(const char *id, cJSON **arr)
{
	cJSON *it;

	*arr = replicas_list(reps);
	cJSON_ArrayForEach(it, *arr)
		if (strcmp(cJSON_GetObjectItem(it, "replica_id")->valuestring, id) == 0)
			return it;
	return NULL;
}

static char *list_field(const char *id, const char *field, char *out, size_t n)
{
	cJSON *arr, *it = listed(id, &arr);

	snprintf(out, n, "%s", it ? cJSON_GetObjectItem(it, field)->valuestring : "");
	cJSON_Delete(arr);
	return out;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static long http_get(const char *url)
{
	CURL *c = curl_easy_init();
	long status = 0;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

/* POST /containers/{id}/kill on the engine's socket: the container dies on its own. */
static long docker_kill(const char *cid)
{
	char url[256];
	CURL *c = curl_easy_init();
	long status = 0;

	snprintf(url, sizeof(url), "http://localhost/v1.41/containers/%s/kill", cid);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path());
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

static struct rec *put_until_healthy(const char *id, const cJSON *spec)
{
	double t = now_s();
	struct rec *h;

	put(id, spec);
	expect(id, "starting", UP_MS);
	h = expect(id, "healthy", UP_MS);
	cr_log_info("%s: put to healthy in %.2f s", id, now_s() - t);
	return h;
}

Test(replicas, put_reports_starting_then_healthy_and_the_address_answers)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char addr[64], url[128], host[64];
	struct rec *h = put_until_healthy(id, spec);
	int port = 0;

	cr_assert(eq(sz, strlen(h->cid), (size_t)DOCKER_ID_LEN), "container id %s", h->cid);
	list_field(id, "address", addr, sizeof(addr));
	cr_assert(not(eq(str, addr, "")), "no address in the list");
	snprintf(url, sizeof(url), "http://%s/health", addr);
	cr_assert(eq(long, http_get(url), 200L), "GET %s", url);
	cr_assert(eq(int, replicas_address(reps, id, host, sizeof(host), &port), B_OK));
	cr_assert(eq(int, port, 8080));
	cr_assert(eq(str, list_field(id, "replica_state", url, sizeof(url)), "healthy"));
	cr_assert(eq(str, list_field(id, "service_id", url, sizeof(url)), SERVICE_ID));
	cJSON_Delete(spec);
}

Test(replicas, the_same_spec_again_changes_nothing)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char cid[DOCKER_ID_LEN + 1], now[DOCKER_ID_LEN + 1];
	size_t before;

	spec_add_env(spec, "GREETING", "hello");
	snprintf(cid, sizeof(cid), "%s", put_until_healthy(id, spec)->cid);
	before = events_of(id);
	put(id, spec);
	run_for(3 * PROBE_MS + 1000);
	cr_assert(eq(sz, events_of(id), before), "a PUT of the same spec made events (last: %s %s)",
		  last_state(id), last_detail(id));
	cr_assert(eq(str, list_field(id, "container_id", now, sizeof(now)), cid));
	cJSON_Delete(spec);
}

Test(replicas, a_changed_env_makes_a_new_container)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char cid[DOCKER_ID_LEN + 1];
	struct docker_state st;
	struct berr e = {0};
	struct rec *h;

	spec_add_env(spec, "GREETING", "hello");
	snprintf(cid, sizeof(cid), "%s", put_until_healthy(id, spec)->cid);
	cJSON_Delete(spec);
	spec = spec_new(FIXTURE_IMAGE);
	spec_add_env(spec, "GREETING", "bonjour");
	h = put_until_healthy(id, spec);
	cr_assert(not(eq(str, h->cid, cid)), "the container was kept");
	cr_assert(eq(int, docker_inspect(dk, cid, &st, &e), B_ENOTFOUND), "old container remains");
	cJSON_Delete(spec);
}

Test(replicas, a_killed_container_is_restarted)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char cid[DOCKER_ID_LEN + 1];
	struct rec *s, *h;
	double t;

	snprintf(cid, sizeof(cid), "%s", put_until_healthy(id, spec)->cid);
	t = now_s();
	cr_assert(eq(long, docker_kill(cid), 204L));
	s = expect(id, "starting", 10000);
	cr_assert(not(eq(ptr, strstr(s->detail, "exited with code"), NULL)), "detail: %s", s->detail);
	cr_assert(not(eq(ptr, strstr(s->detail, "restart 1 in 1 s"), NULL)), "detail: %s", s->detail);
	h = expect(id, "healthy", UP_MS);
	cr_log_info("%s: kill to healthy again in %.2f s", id, now_s() - t);
	cr_assert(eq(str, h->cid, cid), "restarted, not recreated");
	cJSON_Delete(spec);
}

Test(replicas, a_container_removed_behind_its_back_is_recreated)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char cid[DOCKER_ID_LEN + 1];
	struct berr e = {0};
	struct rec *s, *h;

	snprintf(cid, sizeof(cid), "%s", put_until_healthy(id, spec)->cid);
	cr_assert(eq(int, docker_remove(dk, cid, true, &e), B_OK), "%s", e.message);
	s = expect(id, "starting", 10000);
	cr_assert(not(eq(ptr, strstr(s->detail, "disappeared"), NULL)), "detail: %s", s->detail);
	h = expect(id, "healthy", UP_MS);
	cr_assert(not(eq(str, h->cid, cid)));
	cJSON_Delete(spec);
}

Test(replicas, a_new_manager_restarts_an_adopted_container_that_stopped)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char cid[DOCKER_ID_LEN + 1];
	struct berr e = {0};
	struct rec *s, *h;

	snprintf(cid, sizeof(cid), "%s", put_until_healthy(id, spec)->cid);
	replicas_free(reps);
	reps = NULL;
	cr_assert(eq(int, docker_stop(dk, cid, 10, &e), B_OK), "%s", e.message);
	reps = manager_new();
	s = expect(id, "starting", 10000);
	cr_assert(not(eq(ptr, strstr(s->detail, "exited with code"), NULL)), "detail: %s", s->detail);
	h = expect(id, "healthy", UP_MS);
	cr_assert(eq(str, h->cid, cid));
	cJSON_Delete(spec);
}

Test(replicas, a_failing_health_check_makes_it_unhealthy_then_healthy)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE), *vols, *v;
	char fail[96], host[64];
	struct rec *u;
	FILE *f;
	int port;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-replicas-XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(tmpdir), NULL)));
	snprintf(fail, sizeof(fail), "%s/fail", tmpdir);
	spec_add_env(spec, "FAIL_HEALTH_FILE", "/state/fail");
	vols = cJSON_AddArrayToObject(spec, "volume_config");
	v = cJSON_CreateObject();
	cJSON_AddStringToObject(v, "host_path", tmpdir);
	cJSON_AddStringToObject(v, "container_path", "/state");
	cJSON_AddItemToArray(vols, v);
	put_until_healthy(id, spec);
	f = fopen(fail, "w");
	cr_assert(not(eq(ptr, f, NULL)));
	fclose(f);
	u = expect(id, "unhealthy", 10000);
	cr_assert(not(eq(ptr, strstr(u->detail, "500"), NULL)), "detail: %s", u->detail);
	cr_assert(eq(int, replicas_address(reps, id, host, sizeof(host), &port), B_ECONFLICT));
	unlink(fail);
	expect(id, "healthy", 10000);
	cJSON_Delete(spec);
}

Test(replicas, a_missing_image_fails_with_a_reason)
{
	const char *id = new_id();
	cJSON *spec = spec_new("127.0.0.1:9/berth/no-such-image:never");
	double t = now_s();
	struct rec *f;
	int port;
	char host[64];

	put(id, spec);
	f = expect(id, "failed", 30000);
	cr_log_info("%s: failed after %.2f s: %s", id, now_s() - t, f->detail);
	cr_assert(not(eq(str, f->detail, "")));
	cr_assert(eq(int, replicas_address(reps, id, host, sizeof(host), &port), B_ECONFLICT));
	cJSON_Delete(spec);
}

Test(replicas, a_hub_image_that_does_not_exist_fails)
{
	const char *id = new_id();
	cJSON *spec = spec_new("berth-test/no-such-image:never");
	double t = now_s();
	struct rec *f;

	put(id, spec);
	f = expect(id, "failed", 60000);
	cr_log_info("%s: failed after %.2f s: %s", id, now_s() - t, f->detail);
	cr_assert(not(eq(ptr, strstr(f->detail, "no-such-image"), NULL)), "detail: %s", f->detail);
	cJSON_Delete(spec);
}

Test(replicas, a_gpu_request_without_the_nvidia_runtime_fails)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	struct rec *f;

	cJSON_AddNumberToObject(spec, "gpu_count", 1);
	put(id, spec);
	f = expect(id, "failed", 30000);
	cr_assert(strcasestr(f->detail, "nvidia") || strcasestr(f->detail, "gpu"), "detail: %s",
		  f->detail);
	put(id, spec); /* the same spec again: a failed replica is tried again */
	f = expect(id, "pending", 5000);
	cr_assert(eq(str, f->detail, "trying again"));
	expect(id, "failed", 30000);
	cJSON_Delete(spec);
}

Test(replicas, delete_stops_removes_and_forgets)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE), *arr;
	char cid[DOCKER_ID_LEN + 1];
	struct docker_state st;
	struct berr e = {0};

	snprintf(cid, sizeof(cid), "%s", put_until_healthy(id, spec)->cid);
	cr_assert(eq(int, replicas_delete(reps, id, &e), B_OK));
	expect(id, "stopping", 5000);
	expect(id, "stopped", 20000);
	cr_assert(eq(int, docker_inspect(dk, cid, &st, &e), B_ENOTFOUND), "container remains");
	cr_assert(eq(ptr, listed(id, &arr), NULL), "still listed");
	cJSON_Delete(arr);
	cJSON_Delete(spec);
}

Test(replicas, deleting_an_unknown_replica_is_fine)
{
	const char *id = new_id();
	struct berr e = {0};

	cr_assert(eq(int, replicas_delete(reps, id, &e), B_OK));
	expect(id, "stopped", 10000);
}

Test(replicas, a_new_manager_adopts_running_containers)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char cid[DOCKER_ID_LEN + 1], now[DOCKER_ID_LEN + 1];
	size_t before;
	struct rec *h;

	snprintf(cid, sizeof(cid), "%s", put_until_healthy(id, spec)->cid);
	replicas_free(reps);
	reps = manager_new();
	h = expect(id, "healthy", UP_MS);
	cr_assert(eq(str, h->cid, cid), "adopted a different container");
	cr_assert(eq(str, list_field(id, "container_id", now, sizeof(now)), cid));
	before = events_of(id);
	put(id, spec); /* the gateway's PUT of the same spec keeps the container */
	run_for(3 * PROBE_MS + 1000);
	cr_assert(eq(sz, events_of(id), before), "last: %s %s", last_state(id), last_detail(id));
	cr_assert(eq(str, list_field(id, "container_id", now, sizeof(now)), cid));
	cJSON_Delete(spec);
}

Test(replicas, a_put_finding_a_leftover_container_of_the_same_spec_adopts_it)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char cid[DOCKER_ID_LEN + 1];
	struct rec *h;

	snprintf(cid, sizeof(cid), "%s", put_until_healthy(id, spec)->cid);
	replicas_free(reps);
	reps = manager_new();
	put(id, spec); /* possibly before the adoption has looked: either way, no new container */
	h = expect(id, "healthy", UP_MS);
	cr_assert(eq(str, h->cid, cid));
	cJSON_Delete(spec);
}

struct label_find {
	const char *name;
	char value[128];
};

static int label_of(void *arg, const struct docker_summary *s)
{
	struct label_find *f = arg;
	const char *v = docker_summary_label(s, "berth.spec");

	if (strcmp(s->name, f->name) != 0)
		return 0;
	snprintf(f->value, sizeof(f->value), "%s", v ? v : "");
	return 1;
}

/* Makes berth-<id> the way an earlier agent would have, labelled with spec_label, not started. */
static void leftover_container(const char *id, const char *spec_label, char cid[DOCKER_ID_LEN + 1])
{
	const struct docker_kv labels[] = {
		{"berth.spec", spec_label}, {"berth.health_path", "/health"}, {"berth.port", "8080"},
	};
	struct docker_spec s = {
		.replica_id = id, .service_id = SERVICE_ID, .image = FIXTURE_IMAGE,
		.labels = labels, .label_count = 3, .exposed_port = 8080,
	};
	struct berr e = {0};

	cr_assert(eq(int, docker_create(dk, &s, cid, &e), B_OK), "docker_create: %s", e.message);
}

/* The berth.spec label the manager gives spec: from a container it made, then deleted. */
static void spec_label_of(const char *id, const cJSON *spec, char *out, size_t n)
{
	char name[128];
	struct label_find f = {name, ""};
	struct berr e = {0};

	snprintf(name, sizeof(name), DOCKER_NAME_PREFIX "%s", id);
	put_until_healthy(id, spec);
	cr_assert(eq(int, docker_list_managed(dk, label_of, &f, &e), 1), "%s not listed", name);
	cr_assert(eq(sz, strlen(f.value), (size_t)64), "berth.spec label: %s", f.value);
	snprintf(out, n, "%s", f.value);
	cr_assert(eq(int, replicas_delete(reps, id, &e), B_OK));
	expect(id, "stopped", 20000);
}

Test(replicas, a_name_conflict_with_the_same_spec_adopts_the_container)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char label[128], cid[DOCKER_ID_LEN + 1];
	struct rec *h;

	spec_label_of(id, spec, label, sizeof(label));
	leftover_container(id, label, cid); /* after the manager's adoption pass: a conflict */
	h = put_until_healthy(id, spec);
	cr_assert(eq(str, h->cid, cid), "the leftover container was not adopted");
	cJSON_Delete(spec);
}

Test(replicas, a_name_conflict_with_another_spec_replaces_the_container)
{
	const char *id = new_id();
	cJSON *spec = spec_new(FIXTURE_IMAGE);
	char cid[DOCKER_ID_LEN + 1];
	struct docker_state st;
	struct berr e = {0};
	struct rec *h;

	leftover_container(id, "something-else", cid);
	h = put_until_healthy(id, spec);
	cr_assert(not(eq(str, h->cid, cid)), "the leftover container was kept");
	cr_assert(eq(int, docker_inspect(dk, cid, &st, &e), B_ENOTFOUND), "leftover remains");
	cJSON_Delete(spec);
}

Test(replicas, docker_ok_reports_the_engine)
{
	char detail[256];

	run_for(500);
	cr_assert(replicas_docker_ok(reps, detail, sizeof(detail)), "detail: %s", detail);
	cr_assert(eq(str, detail, ""));
}

Test(replicas, address_of_an_unknown_replica_is_not_found)
{
	char host[64];
	int port;

	cr_assert(eq(int, replicas_address(reps, "t-none", host, sizeof(host), &port), B_ENOTFOUND));
}

/* A bad spec: B_EINVAL naming field. mutate edits a valid spec first. */
static void expect_invalid(const char *json, const char *field_want)
{
	cJSON *spec = cJSON_Parse(json);
	struct berr e = {0};
	char field[ERR_FIELD_MAX];

	snprintf(field, sizeof(field), "%s", field_want);
	cr_assert(not(eq(ptr, spec, NULL)), "test JSON: %s", json);
	cr_assert(eq(int, replicas_put(reps, "t-invalid", spec, &e), B_EINVAL), "%s", json);
	cr_assert(eq(str, e.field, field), "%s: %s", json, e.message);
	cJSON_Delete(spec);
}

#define IMG "\"docker_image\": \"berth-fixture:test\""
#define SID "\"service_id\": \"" SERVICE_ID "\""

Test(replicas, invalid_specs_name_the_field)
{
	struct berr e = {0};
	cJSON *ok = cJSON_Parse("{" SID ", " IMG "}");

	expect_invalid("[]", "");
	expect_invalid("{" IMG "}", "service_id");
	expect_invalid("{\"service_id\": \"nope\", " IMG "}", "service_id");
	expect_invalid("{" SID "}", "docker_image");
	expect_invalid("{" SID ", \"docker_image\": \"a b\"}", "docker_image");
	expect_invalid("{" SID ", \"docker_image\": \"\"}", "docker_image");
	expect_invalid("{" SID ", " IMG ", \"exposed_port\": 0}", "exposed_port");
	expect_invalid("{" SID ", " IMG ", \"exposed_port\": 65536}", "exposed_port");
	expect_invalid("{" SID ", " IMG ", \"exposed_port\": \"80\"}", "exposed_port");
	expect_invalid("{" SID ", " IMG ", \"exposed_port\": 80.5}", "exposed_port");
	expect_invalid("{" SID ", " IMG ", \"health_path\": \"health\"}", "health_path");
	expect_invalid("{" SID ", " IMG ", \"health_path\": \"/a b\"}", "health_path");
	expect_invalid("{" SID ", " IMG ", \"gpu_count\": -2}", "gpu_count");
	expect_invalid("{" SID ", " IMG ", \"gpu_count\": 65}", "gpu_count");
	expect_invalid("{" SID ", " IMG ", \"gpu_ids\": [\"0\", \"a b\"]}", "gpu_ids[1]");
	expect_invalid("{" SID ", " IMG ", \"gpu_ids\": [1]}", "gpu_ids[0]");
	expect_invalid("{" SID ", " IMG ", \"env_config\": {}}", "env_config");
	expect_invalid("{" SID ", " IMG ", \"env_config\": [1]}", "env_config[0]");
	expect_invalid("{" SID ", " IMG ", \"env_config\": [{\"env_name\": \"1X\", "
		       "\"env_value\": \"v\"}]}", "env_config[0].env_name");
	expect_invalid("{" SID ", " IMG ", \"env_config\": [{\"env_name\": \"X\"}]}",
		       "env_config[0].env_value");
	expect_invalid("{" SID ", " IMG ", \"env_config\": [{\"env_name\": \"X\", "
		       "\"env_value\": \"v\", \"x\": 1}]}", "env_config[0].x");
	expect_invalid("{" SID ", " IMG ", \"volume_config\": [{\"host_path\": \"rel\", "
		       "\"container_path\": \"/c\"}]}", "volume_config[0].host_path");
	expect_invalid("{" SID ", " IMG ", \"volume_config\": [{\"host_path\": \"/h\", "
		       "\"container_path\": \"/a/../b\"}]}", "volume_config[0].container_path");
	expect_invalid("{" SID ", " IMG ", \"volume_config\": [{\"host_path\": \"/h:x\", "
		       "\"container_path\": \"/c\"}]}", "volume_config[0].host_path");
	expect_invalid("{" SID ", " IMG ", \"labels\": []}", "labels");
	cr_assert(eq(int, replicas_put(reps, "bad/id", ok, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "replica_id"));
	cr_assert(eq(int, replicas_put(reps, "", ok, &e), B_EINVAL));
	cr_assert(eq(int, replicas_put(reps, "-x", ok, &e), B_EINVAL));
	cr_assert(eq(int, replicas_delete(reps, "a b", &e), B_EINVAL));
	cr_assert(eq(str, e.field, "replica_id"));
	cJSON_Delete(ok);
}
