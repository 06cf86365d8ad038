/* docker_test.c: agent/docker.c against the real dockerd on this machine and the fixture image
 * berth-fixture:test (tests/fixtures/build-image.sh), plus a fake engine on a unix socket for
 * what no registry-less host can show (pull progress streaming, errors inside the stream).
 * Every container is named berth-test-..., labelled berth.test=1 and removed in the fini. */
#include "berth.h"
#include "docker.h"

#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FIXTURE_IMAGE "berth-fixture:test"
#define ABSENT_IMAGE "nosuch/image:1"
#define UP_WAIT_MS 5000

static struct docker *d;
static char replica[64];      /* test-<pid>-<n>: unique per test process */
static char cname[80];        /* berth-<replica> */
static char tmpdir[64];       /* a host directory some tests bind into the container */
static const struct docker_kv test_labels[] = {{"berth.test", "1"}};

static const char *socket_path(void)
{
	const char *s = getenv("BERTH_DOCKER_SOCKET");

	return s && s[0] ? s : DOCKER_SOCKET_DEFAULT;
}

static void setup(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	d = docker_new(socket_path());
	cr_assert(not(eq(ptr, d, NULL)), "docker_new failed");
	snprintf(replica, sizeof(replica), "test-%d-%ld", (int)getpid(), (long)time(NULL) % 100000);
	snprintf(cname, sizeof(cname), DOCKER_NAME_PREFIX "%s", replica);
}

static void teardown(void)
{
	struct berr e = {0};

	if (d && docker_remove(d, cname, true, &e))
		cr_log_warn("cleanup of %s failed: %s", cname, e.message);
	if (tmpdir[0]) {
		char fail[128];

		snprintf(fail, sizeof(fail), "%s/fail", tmpdir);
		unlink(fail);
		rmdir(tmpdir);
	}
	docker_free(d);
	d = NULL;
	curl_global_cleanup();
}

/* No .timeout: with --jobs 2, Criterion 2.4.1 leaks its timeout records (LeakSanitizer then
 * fails `make asan`). Every call here is bounded by docker.c's curl timeouts instead. */
TestSuite(docker, .init = setup, .fini = teardown);

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static struct docker_spec fixture_spec(void)
{
	struct docker_spec s = {
		.replica_id = replica,
		.service_id = "svc-test",
		.image = FIXTURE_IMAGE,
		.labels = test_labels,
		.label_count = B_ARRAY_LEN(test_labels),
		.exposed_port = 8080,
	};
	return s;
}

/* ---- plain HTTP to the container ---- */

struct body {
	char p[4096];
	size_t len;
};

static size_t body_write(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n, room = sizeof(b->p) - 1 - b->len;

	memcpy(b->p + b->len, p, len < room ? len : room);
	b->len += len < room ? len : room;
	b->p[b->len] = '\0';
	return len;
}

/* The status of GET url (0 when nothing answered); the body goes to b. */
static long http_get(const char *url, struct body *b)
{
	CURL *c = curl_easy_init();
	long status = 0;

	b->len = 0;
	b->p[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

/* Polls url until it answers (the server inside needs a moment after start). */
static long http_get_when_up(const char *url, struct body *b)
{
	long status = 0;

	for (int waited = 0; waited < UP_WAIT_MS; waited += 100) {
		status = http_get(url, b);
		if (status)
			break;
		sleep_ms(100);
	}
	return status;
}

static void create_and_start(const struct docker_spec *s, struct docker_state *st)
{
	char id[DOCKER_ID_LEN + 1];
	struct berr e = {0};

	cr_assert(eq(int, docker_create(d, s, id, &e), B_OK), "create: %s", e.message);
	cr_assert(eq(int, docker_start(d, id, &e), B_OK), "start: %s", e.message);
	cr_assert(eq(int, docker_inspect(d, id, st, &e), B_OK), "inspect: %s", e.message);
	cr_assert(st->running, "container not running after start (status %s)", st->status);
}

/* ---- engine and images ---- */

Test(docker, ping_answers)
{
	struct berr e = {0};

	cr_assert(eq(int, docker_ping(d, &e), B_OK), "ping: %s", e.message);
}

Test(docker, ping_of_missing_socket_names_the_socket)
{
	struct docker *nd = docker_new("/nonexistent/docker.sock");
	struct berr e = {0};

	cr_assert(eq(int, docker_ping(nd, &e), B_EIO));
	cr_assert(not(eq(ptr, strstr(e.message, "/nonexistent/docker.sock"), NULL)), "%s", e.message);
	cr_assert(not(eq(ptr, strstr(e.message, "connect: No such file or directory"), NULL)),
		  "%s", e.message);
	cr_assert(eq(ptr, strstr(e.message, "port 80"), NULL), "%s", e.message);
	docker_free(nd);
}

Test(docker, fixture_image_is_present)
{
	struct berr e = {0};
	bool present = false;

	cr_assert(eq(int, docker_image_present(d, FIXTURE_IMAGE, &present, &e), B_OK), "%s",
		  e.message);
	cr_assert(present, FIXTURE_IMAGE " absent: run tests/fixtures/build-image.sh first");
}

Test(docker, absent_image_is_not_present)
{
	struct berr e = {0};
	bool present = true;

	cr_assert(eq(int, docker_image_present(d, ABSENT_IMAGE, &present, &e), B_OK), "%s",
		  e.message);
	cr_assert(not(present));
}

Test(docker, image_with_bad_characters_is_refused)
{
	struct berr e = {0};
	bool present;

	cr_assert(eq(int, docker_image_present(d, "a b/../x", &present, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "image"));
}

static int count_progress(void *ctx, const char *text)
{
	(void)text;
	(*(int *)ctx)++;
	return 0;
}

Test(docker, pull_of_nonexistent_image_fails_fast_with_message)
{
	struct berr e = {0};
	int lines = 0;
	double t0 = now_s(), took;
	int rc = docker_image_pull(d, ABSENT_IMAGE, count_progress, &lines, &e);

	took = now_s() - t0;
	cr_assert(not(eq(int, rc, B_OK)));
	cr_assert(lt(dbl, took, 10.0), "the failed pull took %.1f s", took);
	cr_assert(not(eq(ptr, strstr(e.message, ABSENT_IMAGE), NULL)), "%s", e.message);
	cr_assert(not(eq(ptr, strstr(e.message, "could not be pulled: "), NULL)), "%s", e.message);
	cr_assert(gt(sz, strlen(strstr(e.message, "pulled: ")), strlen("pulled: ")), "%s",
		  e.message);
	cr_log_info("failed pull in %.3f s (rc %d, %d progress lines): %s", took, rc, lines,
		    e.message);
}

Test(docker, ensure_of_absent_image_says_not_found_and_not_pulled)
{
	struct berr e = {0};

	cr_assert(not(eq(int, docker_image_ensure(d, ABSENT_IMAGE, NULL, NULL, &e), B_OK)));
	cr_assert(not(eq(ptr, strstr(e.message, "image " ABSENT_IMAGE " not found and could not "
				      "be pulled: "), NULL)), "%s", e.message);
}

Test(docker, ensure_of_present_image_does_nothing)
{
	struct berr e = {0};

	cr_assert(eq(int, docker_image_ensure(d, FIXTURE_IMAGE, NULL, NULL, &e), B_OK), "%s",
		  e.message);
}

/* ---- the container lifecycle ---- */

static const char *label_of(const struct docker_state *st, const char *which)
{
	return strcmp(which, "replica") == 0 ? st->replica_id : st->service_id;
}

Test(docker, lifecycle_create_start_inspect_http_stop_remove)
{
	struct docker_kv env[] = {{"FOO", "bar baz"}, {"EMPTY", ""}};
	struct docker_spec s = fixture_spec();
	struct docker_state st;
	struct berr e = {0};
	struct body b;
	char url[128];

	s.env = env;
	s.env_count = B_ARRAY_LEN(env);
	create_and_start(&s, &st);
	cr_assert(eq(str, (char *)label_of(&st, "replica"), replica));
	cr_assert(eq(str, (char *)label_of(&st, "service"), "svc-test"));
	cr_assert(eq(str, st.status, "running"));
	cr_assert(gt(sz, strlen(st.ip), 6), "no bridge IP in inspect");
	cr_assert(eq(int, st.host_port, 0), "published although publish_port was false");
	cr_assert(gt(sz, strlen(st.started_at), 0));

	snprintf(url, sizeof(url), "http://%s:8080/health", st.ip);
	cr_assert(eq(long, http_get_when_up(url, &b), 200), "GET %s", url);
	cr_assert(eq(str, b.p, "ok"));
	snprintf(url, sizeof(url), "http://%s:8080/echo/x?y=1", st.ip);
	cr_assert(eq(long, http_get(url, &b), 200), "GET %s", url);
	cr_assert(not(eq(ptr, strstr(b.p, "\"path\":\"/echo/x\""), NULL)), "%s", b.p);

	cr_assert(eq(int, docker_start(d, cname, &e), B_OK), "start again: %s", e.message);
	cr_assert(eq(int, docker_stop(d, cname, 10, &e), B_OK), "stop: %s", e.message);
	cr_assert(eq(int, docker_inspect(d, cname, &st, &e), B_OK), "%s", e.message);
	cr_assert(not(st.running));
	cr_assert(eq(str, st.status, "exited"));
	cr_assert(eq(int, st.exit_code, 0), "httpd should exit 0 on SIGTERM");
	cr_assert(eq(int, docker_stop(d, cname, 10, &e), B_OK), "stop again: %s", e.message);
	cr_assert(eq(int, docker_remove(d, cname, false, &e), B_OK), "remove: %s", e.message);
	cr_assert(eq(int, docker_remove(d, cname, false, &e), B_OK), "remove again: %s", e.message);
	cr_assert(eq(int, docker_inspect(d, cname, &st, &e), B_ENOTFOUND));
}

Test(docker, stop_is_prompt_with_init)
{
	struct docker_spec s = fixture_spec();
	struct docker_state st;
	struct berr e = {0};
	double t0, took;

	create_and_start(&s, &st);
	t0 = now_s();
	cr_assert(eq(int, docker_stop(d, cname, 20, &e), B_OK), "%s", e.message);
	took = now_s() - t0;
	cr_assert(lt(dbl, took, 5.0), "stop took %.1f s of its 20 s timeout", took);
}

Test(docker, env_reaches_the_container)
{
	struct docker_kv env[] = {{"PORT", "9090"}};
	struct docker_spec s = fixture_spec();
	struct docker_state st;
	struct body b;
	char url[128];

	s.env = env;
	s.env_count = 1;
	s.exposed_port = 9090;
	create_and_start(&s, &st);
	snprintf(url, sizeof(url), "http://%s:9090/health", st.ip);
	cr_assert(eq(long, http_get_when_up(url, &b), 200), "GET %s (PORT=9090 in env)", url);
}

Test(docker, bind_mount_is_visible_inside)
{
	struct docker_kv env[] = {{"FAIL_HEALTH_FILE", "/data/fail"}};
	struct docker_bind binds[1];
	struct docker_spec s = fixture_spec();
	struct docker_state st;
	struct body b;
	char url[128], fail[128];
	FILE *f;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-docker-test.XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(tmpdir), NULL)));
	binds[0] = (struct docker_bind){tmpdir, "/data", true};
	s.env = env;
	s.env_count = 1;
	s.binds = binds;
	s.bind_count = 1;
	create_and_start(&s, &st);
	snprintf(url, sizeof(url), "http://%s:8080/health", st.ip);
	cr_assert(eq(long, http_get_when_up(url, &b), 200));
	snprintf(fail, sizeof(fail), "%s/fail", tmpdir);
	f = fopen(fail, "w");
	cr_assert(not(eq(ptr, f, NULL)));
	fclose(f);
	cr_assert(eq(long, http_get(url, &b), 500), "health with %s present on the host", fail);
}

Test(docker, remove_of_running_container_without_force_conflicts)
{
	struct docker_spec s = fixture_spec();
	struct docker_state st;
	struct berr e = {0};

	create_and_start(&s, &st);
	cr_assert(eq(int, docker_remove(d, cname, false, &e), B_ECONFLICT), "%s", e.message);
	cr_assert(eq(int, docker_remove(d, cname, true, &e), B_OK), "%s", e.message);
}

Test(docker, name_conflict_is_econflict)
{
	struct docker_spec s = fixture_spec();
	char id[DOCKER_ID_LEN + 1], id2[DOCKER_ID_LEN + 1];
	struct berr e = {0};

	cr_assert(eq(int, docker_create(d, &s, id, &e), B_OK), "%s", e.message);
	cr_assert(eq(sz, strlen(id), (size_t)DOCKER_ID_LEN));
	cr_assert(eq(int, docker_create(d, &s, id2, &e), B_ECONFLICT), "%s", e.message);
	cr_assert(eq(int, e.status, 409));
	cr_assert(not(eq(ptr, strstr(e.message, cname), NULL)), "%s", e.message);
}

Test(docker, create_from_absent_image_is_not_found)
{
	struct docker_spec s = fixture_spec();
	char id[DOCKER_ID_LEN + 1];
	struct berr e = {0};

	s.image = ABSENT_IMAGE;
	cr_assert(eq(int, docker_create(d, &s, id, &e), B_ENOTFOUND), "%s", e.message);
	cr_assert(not(eq(ptr, strstr(e.message, ABSENT_IMAGE), NULL)), "%s", e.message);
}

Test(docker, inspect_of_unknown_container_is_not_found)
{
	struct docker_state st;
	struct berr e = {0};

	cr_assert(eq(int, docker_inspect(d, cname, &st, &e), B_ENOTFOUND), "%s", e.message);
}

struct seen {
	bool found;
	char state[32];
	char label[16];
};

static int find_ours(void *ctx, const struct docker_summary *s)
{
	struct seen *seen = ctx;
	const char *label = docker_summary_label(s, "berth.test");

	if (strcmp(s->name, cname) != 0 || strcmp(s->replica_id, replica) != 0)
		return 0;
	seen->found = true;
	snprintf(seen->state, sizeof(seen->state), "%s", s->state);
	snprintf(seen->label, sizeof(seen->label), "%s", label ? label : "(none)");
	return 0;
}

Test(docker, list_managed_finds_the_container_by_label)
{
	struct docker_spec s = fixture_spec();
	char id[DOCKER_ID_LEN + 1];
	struct seen seen = {0};
	struct berr e = {0};

	cr_assert(eq(int, docker_create(d, &s, id, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, docker_list_managed(d, find_ours, &seen, &e), B_OK), "%s", e.message);
	cr_assert(seen.found, "%s not in the managed list", cname);
	cr_assert(eq(str, seen.state, "created"));
	cr_assert(eq(str, seen.label, "1"));
}

static int stop_at_first(void *ctx, const struct docker_summary *s)
{
	(void)s;
	(*(int *)ctx)++;
	return B_ECONFLICT;
}

Test(docker, list_managed_stops_when_the_callback_says_so)
{
	struct docker_spec s = fixture_spec();
	char id[DOCKER_ID_LEN + 1];
	struct berr e = {0};
	int calls = 0;

	cr_assert(eq(int, docker_create(d, &s, id, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, docker_list_managed(d, stop_at_first, &calls, &e), B_ECONFLICT));
	cr_assert(eq(int, calls, 1));
}

Test(docker, gpu_request_is_created_but_fails_at_start)
{
	struct docker_spec s = fixture_spec();
	char id[DOCKER_ID_LEN + 1];
	struct docker_state st;
	struct berr e = {0};

	s.gpu_count = 1;
	cr_assert(eq(int, docker_create(d, &s, id, &e), B_OK), "create: %s", e.message);
	cr_assert(not(eq(int, docker_start(d, id, &e), B_OK)), "start with a GPU succeeded");
	cr_assert(gt(sz, strlen(e.message), 0));
	cr_log_info("GPU start error: %s", e.message);
	cr_assert(eq(int, docker_inspect(d, id, &st, &e), B_OK), "%s", e.message);
	cr_assert(not(st.running));
}

Test(docker, gpu_ids_request_is_created_but_fails_at_start)
{
	const char *ids[] = {"0", "GPU-00000000-0000-0000-0000-000000000000"};
	struct docker_spec s = fixture_spec();
	char id[DOCKER_ID_LEN + 1];
	struct berr e = {0};

	s.gpu_ids = ids;
	s.gpu_id_count = B_ARRAY_LEN(ids);
	cr_assert(eq(int, docker_create(d, &s, id, &e), B_OK), "create: %s", e.message);
	cr_assert(not(eq(int, docker_start(d, id, &e), B_OK)));
	cr_assert(gt(sz, strlen(e.message), 0));
}

Test(docker, publish_port_gives_a_loopback_port_that_answers)
{
	struct docker_spec s = fixture_spec();
	struct docker_state st;
	struct body b;
	char url[128];

	s.publish_port = true;
	create_and_start(&s, &st);
	cr_assert(eq(int, st.container_port, 8080));
	cr_assert(gt(int, st.host_port, 0), "no published port in inspect");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/health", st.host_port);
	cr_assert(eq(long, http_get_when_up(url, &b), 200), "GET %s", url);
	cr_assert(eq(str, b.p, "ok"));
}

/* ---- spec validation: refused before anything reaches Docker ---- */

static int create_err(struct docker_spec *s, struct berr *e)
{
	char id[DOCKER_ID_LEN + 1];

	return docker_create(d, s, id, e);
}

Test(docker, bad_specs_are_refused)
{
	struct docker_kv bad_env[] = {{"A=B", "x"}};
	struct docker_kv own_label[] = {{DOCKER_LABEL_MANAGED, "0"}};
	struct docker_bind relative[] = {{"data", "/data", false}};
	struct docker_bind colon[] = {{"/a:b", "/data", false}};
	struct docker_spec s;
	struct berr e = {0};

	s = fixture_spec();
	s.replica_id = "bad/id";
	cr_assert(eq(int, create_err(&s, &e), B_EINVAL));
	s = fixture_spec();
	s.replica_id = "-leading-dash";
	cr_assert(eq(int, create_err(&s, &e), B_EINVAL));
	s = fixture_spec();
	s.env = bad_env;
	s.env_count = 1;
	cr_assert(eq(int, create_err(&s, &e), B_EINVAL));
	s = fixture_spec();
	s.labels = own_label;
	s.label_count = 1;
	cr_assert(eq(int, create_err(&s, &e), B_EINVAL));
	s = fixture_spec();
	s.binds = relative;
	s.bind_count = 1;
	cr_assert(eq(int, create_err(&s, &e), B_EINVAL));
	s.binds = colon;
	cr_assert(eq(int, create_err(&s, &e), B_EINVAL));
	s = fixture_spec();
	s.gpu_count = -2;
	cr_assert(eq(int, create_err(&s, &e), B_EINVAL));
	s = fixture_spec();
	s.exposed_port = 0;
	s.publish_port = true;
	cr_assert(eq(int, create_err(&s, &e), B_EINVAL));
	s = fixture_spec();
	s.exposed_port = 65536;
	cr_assert(eq(int, create_err(&s, &e), B_EINVAL));
}

Test(docker, bad_container_ids_are_refused)
{
	struct docker_state st;
	struct berr e = {0};

	cr_assert(eq(int, docker_inspect(d, "../../images/x", &st, &e), B_EINVAL));
	cr_assert(eq(int, docker_start(d, "", &e), B_EINVAL));
	cr_assert(eq(int, docker_remove(d, "a?force=1", true, &e), B_EINVAL));
}

/* ---- image references ---- */

static void split_ok(const char *image, const char *name, const char *tag)
{
	char n[DOCKER_STR_MAX], t[DOCKER_STR_MAX];
	struct berr e = {0};

	cr_assert(eq(int, docker_image_split(image, n, sizeof(n), t, sizeof(t), &e), B_OK),
		  "%s: %s", image, e.message);
	cr_assert(eq(str, n, (char *)name), "name of %s", image);
	cr_assert(eq(str, t, (char *)tag), "tag of %s", image);
}

static void split_bad(const char *image)
{
	char n[DOCKER_STR_MAX], t[DOCKER_STR_MAX];

	cr_assert(eq(int, docker_image_split(image, n, sizeof(n), t, sizeof(t), NULL), B_EINVAL),
		  "%s was accepted", image);
}

Test(image_split, names_tags_and_digests)
{
	split_ok("nginx", "nginx", "latest");
	split_ok("nginx:1.25", "nginx", "1.25");
	split_ok("library/nginx:1.25-alpine", "library/nginx", "1.25-alpine");
	split_ok("host:5000/repo", "host:5000/repo", "latest");
	split_ok("host:5000/team/repo:v1", "host:5000/team/repo", "v1");
	split_ok("repo@sha256:abcd", "repo", "sha256:abcd");
	split_ok("repo:v1@sha256:abcd", "repo", "sha256:abcd");
	split_ok("host:5000/repo@sha256:abcd", "host:5000/repo", "sha256:abcd");
}

Test(image_split, malformed_references)
{
	split_bad("");
	split_bad("repo:");
	split_bad(":tag");
	split_bad("repo@");
	split_bad("repo@abcd");
	split_bad("repo@sha256:a@b");
	split_bad("has space:1");
	split_bad("quote\"d");
	split_bad("../../containers/x");
	split_bad("repo/./x");
	split_bad("/repo");
	split_bad("repo//x");
	split_bad("repo/");
	split_bad("repo?x=1");
	split_bad("repo%2F");
}

Test(image_split, too_small_buffers_fail)
{
	char n[4], t[4];

	cr_assert(eq(int, docker_image_split("nginx:1.25", n, sizeof(n), t, sizeof(t), NULL),
		     B_EINVAL));
}

/* ---- a fake engine: pull streaming ---- */

struct fake {
	int lfd;
	char path[108];
	const char *const *chunks;   /* NULL-terminated pieces of the response body */
	int delay_ms;                /* between pieces */
	char request_line[512];
	pthread_t thread;
};

static void write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL); /* the client may hang up: no SIGPIPE */

		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

#define FAKE_HEAD "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
	"Transfer-Encoding: chunked\r\n\r\n"

/* Answers one request with f->chunks as a chunked body, f->delay_ms apart. */
static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	char req[8192], head[64];
	size_t len = 0;
	int fd = accept(f->lfd, NULL, NULL);

	req[0] = '\0';
	while (fd >= 0 && len < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
		ssize_t n = read(fd, req + len, sizeof(req) - 1 - len);

		if (n <= 0)
			break;
		len += (size_t)n;
		req[len] = '\0';
	}
	req[len] = '\0';
	snprintf(f->request_line, sizeof(f->request_line), "%.*s", (int)strcspn(req, "\r"), req);
	write_all(fd, FAKE_HEAD, strlen(FAKE_HEAD));
	for (int i = 0; f->chunks[i]; i++) {
		if (i)
			sleep_ms(f->delay_ms);
		snprintf(head, sizeof(head), "%zx\r\n", strlen(f->chunks[i]));
		write_all(fd, head, strlen(head));
		write_all(fd, f->chunks[i], strlen(f->chunks[i]));
		write_all(fd, "\r\n", 2);
	}
	write_all(fd, "0\r\n\r\n", 5);
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, const char *const *chunks, int delay_ms)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	f->chunks = chunks;
	f->delay_ms = delay_ms;
	snprintf(f->path, sizeof(f->path), "/tmp/berth-fake-docker.%d.sock", (int)getpid());
	unlink(f->path);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert(eq(int, bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0));
	cr_assert(eq(int, listen(f->lfd, 4), 0));
	cr_assert(eq(int, pthread_create(&f->thread, NULL, fake_serve, f), 0));
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
	unlink(f->path);
}

struct progress {
	double t0;
	double first_at;
	int n;
	int cancel_after;            /* 0: never */
	char last[256];
};

static int on_progress(void *ctx, const char *text)
{
	struct progress *p = ctx;

	if (p->n++ == 0)
		p->first_at = now_s() - p->t0;
	snprintf(p->last, sizeof(p->last), "%s", text);
	return p->cancel_after && p->n >= p->cancel_after;
}

#define PROGRESS_LINE(id, st) "{\"status\":\"" st "\",\"id\":\"" id "\"," \
	"\"progressDetail\":{\"current\":1,\"total\":2},\"progress\":\"[=>  ] 1MB/2MB\"}\r\n"

Test(fake_engine, pull_streams_progress_as_it_arrives)
{
	static const char *const chunks[] = {
		"{\"status\":\"Pulling from team/repo\",\"id\":\"v1\"}\r\n",
		PROGRESS_LINE("abc", "Downloading"),
		"{\"status\":\"Digest: sha256:0\"}\r\n{\"status\":\"Status: Downloaded",
		" newer image\"}\r\n",
		NULL,
	};
	struct fake f;
	struct progress p = {.t0 = now_s()};
	struct berr e = {0};
	struct docker *fd;

	fake_start(&f, chunks, 300);
	fd = docker_new(f.path);
	cr_assert(eq(int, docker_image_pull(fd, "host:5000/team/repo:v1", on_progress, &p, &e),
		     B_OK), "%s", e.message);
	fake_stop(&f);
	docker_free(fd);
	cr_assert(eq(str, f.request_line,
		     "POST /v1.41/images/create?fromImage=host%3A5000%2Fteam%2Frepo&tag=v1 HTTP/1.1"));
	cr_assert(eq(int, p.n, 4));
	cr_assert(lt(dbl, p.first_at, 0.25), "first progress after %.2f s: buffered?", p.first_at);
	cr_assert(eq(str, p.last, "Status: Downloaded newer image"));
}

Test(fake_engine, progress_text_has_layer_and_bar)
{
	static const char *const chunks[] = {PROGRESS_LINE("abc", "Downloading"), NULL};
	struct fake f;
	struct progress p = {.t0 = now_s()};
	struct berr e = {0};
	struct docker *fd;

	fake_start(&f, chunks, 0);
	fd = docker_new(f.path);
	cr_assert(eq(int, docker_image_pull(fd, "repo", on_progress, &p, &e), B_OK), "%s",
		  e.message);
	fake_stop(&f);
	docker_free(fd);
	cr_assert(eq(str, p.last, "abc: Downloading [=>  ] 1MB/2MB"));
}

Test(fake_engine, error_line_in_the_stream_fails_the_pull)
{
	static const char *const chunks[] = {
		PROGRESS_LINE("abc", "Downloading"),
		"{\"errorDetail\":{\"message\":\"unauthorized: authentication required\"},"
		"\"error\":\"unauthorized: authentication required\"}\r\n",
		NULL,
	};
	struct fake f;
	struct progress p = {.t0 = now_s()};
	struct berr e = {0};
	struct docker *fd;

	fake_start(&f, chunks, 0);
	fd = docker_new(f.path);
	cr_assert(eq(int, docker_image_pull(fd, "repo:1", on_progress, &p, &e), B_EIO));
	fake_stop(&f);
	docker_free(fd);
	cr_assert(eq(str, e.message, "image repo:1 could not be pulled: unauthorized: "
		     "authentication required"));
	cr_assert(eq(int, p.n, 1));
}

Test(fake_engine, progress_callback_can_cancel)
{
	static const char *const chunks[] = {
		PROGRESS_LINE("a", "Downloading"), PROGRESS_LINE("b", "Downloading"),
		PROGRESS_LINE("c", "Downloading"), NULL,
	};
	struct fake f;
	struct progress p = {.t0 = now_s(), .cancel_after = 1};
	struct berr e = {0};
	struct docker *fd;

	fake_start(&f, chunks, 50);
	fd = docker_new(f.path);
	cr_assert(eq(int, docker_image_pull(fd, "repo", on_progress, &p, &e), B_EIO));
	fake_stop(&f);
	docker_free(fd);
	cr_assert(eq(int, p.n, 1));
	cr_assert(not(eq(ptr, strstr(e.message, "cancelled"), NULL)), "%s", e.message);
}
