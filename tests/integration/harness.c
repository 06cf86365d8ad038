#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

static const char *env_or_die(const char *name)
{
	const char *v = getenv(name);

	cr_assert(v && *v, "%s is not set: run integration tests through tests/integration/run.sh",
		  name);
	return v;
}

static int h_vctl(char *out, size_t outlen, const char *arg, va_list ap)
{
	const char *argv[32];
	int n = 0, fds[2], status;
	size_t got = 0;
	pid_t pid;

	argv[n++] = env_or_die("BERTH_TEST_CTL");
	argv[n++] = "--var";
	argv[n++] = env_or_die("BERTH_VAR");
	for (const char *a = arg; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = a;
	argv[n] = NULL;
	cr_assert(pipe(fds) == 0);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		char tmp[512];
		ssize_t r = read(fds[0], tmp, sizeof(tmp));

		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r && out && got + 1 < outlen; i++)
			out[got++] = tmp[i];
	}
	close(fds[0]);
	if (out) {
		out[got] = '\0';
		while (got && (out[got - 1] == '\n' || out[got - 1] == ' '))
			out[--got] = '\0';
	}
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int h_ctl(char *out, size_t outlen, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = h_vctl(out, outlen, arg, ap);
	va_end(ap);
	return rc;
}

void h_ctl_ok(char *out, size_t outlen, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = h_vctl(out, outlen, arg, ap);
	va_end(ap);
	cr_assert(eq(int, rc, 0), "berthctl %s ... exited %d", arg, rc);
}

void h_unique(char *out, size_t n, const char *prefix)
{
	static unsigned counter;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(out, n, "%s%ld%09ld%d%u", prefix, (long)ts.tv_sec, ts.tv_nsec, (int)getpid(),
		 counter++);
}

static void h_user(const char *team, const char *role, char *email, char *tok)
{
	char id[H_ID + 8], local[96];

	h_unique(local, sizeof(local), role);
	snprintf(email, 128, "%s@example.test", local);
	h_ctl_ok(id, sizeof(id), "user", "add", email, "--password", "correct horse", NULL);
	h_ctl_ok(NULL, 0, "member", "add", team, email, role, NULL);
	h_ctl_ok(tok, H_TOKEN, "token", email, NULL);
}

void h_tenant_new(struct h_tenant *t)
{
	char name[96];

	memset(t, 0, sizeof(*t));
	h_unique(name, sizeof(name), "team-");
	h_ctl_ok(t->team, sizeof(t->team), "team", "add", name, NULL);
	h_user(t->team, "owner", t->owner_email, t->owner_tok);
	h_user(t->team, "admin", t->admin_email, t->admin_tok);
	h_user(t->team, "member", t->member_email, t->member_tok);
	h_user(t->team, "viewer", t->viewer_email, t->viewer_tok);
	h_ctl_ok(t->sk, sizeof(t->sk), "credential", "add", t->team, "integration", "ci", NULL);
	h_ctl_ok(t->ak, sizeof(t->ak), "credential", "add", t->team, "agent", "gpu", NULL);
	h_ctl_ok(t->dk_member, sizeof(t->dk_member), "credential", "add", t->team, "device",
		 "laptop", "--user", t->member_email, NULL);
	h_ctl_ok(t->dk_viewer, sizeof(t->dk_viewer), "credential", "add", t->team, "device",
		 "tablet", "--user", t->viewer_email, NULL);
}

static size_t h_discard(char *data, size_t size, size_t n, void *arg)
{
	(void)data;
	(void)arg;
	return size * n;
}

struct h_sink {
	char *p;
	size_t len;
};

static size_t h_write(char *data, size_t size, size_t n, void *arg)
{
	struct h_sink *s = arg;
	char *p = realloc(s->p, s->len + size * n + 1);

	cr_assert(p != NULL);
	memcpy(p + s->len, data, size * n);
	s->len += size * n;
	p[s->len] = '\0';
	s->p = p;
	return size * n;
}

void h_request(struct h_resp *r, const char *method, const char *path,
	       const char *const *headers, const char *body, size_t len)
{
	struct h_sink b = {0}, h = {0};
	struct curl_slist *list = NULL;
	char url[4096];
	CURL *c = curl_easy_init();
	CURLcode rc;

	memset(r, 0, sizeof(*r));
	cr_assert(c != NULL);
	snprintf(url, sizeof(url), "%s%s", env_or_die("BERTH_TEST_URL"), path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	list = curl_slist_append(list, "Expect:");
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, h_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, h_write);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	rc = curl_easy_perform(c);
	cr_assert(eq(int, rc, CURLE_OK), "%s %s: %s", method, path, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(list);
	curl_easy_cleanup(c);
	r->body = b.p ? b.p : calloc(1, 1);
	r->len = b.len;
	r->headers = h.p ? h.p : calloc(1, 1);
	r->json = cJSON_Parse(r->body);
}

void h_resp_free(struct h_resp *r)
{
	cJSON_Delete(r->json);
	free(r->body);
	free(r->headers);
	memset(r, 0, sizeof(*r));
}

bool h_header(const struct h_resp *r, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);

	for (const char *line = r->headers; line && *line;) {
		const char *end = strstr(line, "\r\n");
		size_t ll = end ? (size_t)(end - line) : strlen(line);

		if (ll > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
			const char *v = line + nl + 1;

			while (*v == ' ')
				v++;
			snprintf(out, n, "%.*s", (int)(ll - (size_t)(v - line)), v);
			return true;
		}
		line = end ? end + 2 : NULL;
	}
	return false;
}

void h_assert_error(const struct h_resp *r, long status, const char *code, const char *field)
{
	const cJSON *m, *c, *f, *id;

	cr_assert(eq(long, r->status, status), "expected status %ld, got %ld: %s", status,
		  r->status, r->body);
	cr_assert(r->json != NULL, "error body is not JSON: %s", r->body);
	m = cJSON_GetObjectItem(r->json, "error_message");
	c = cJSON_GetObjectItem(r->json, "error_code");
	f = cJSON_GetObjectItem(r->json, "field");
	id = cJSON_GetObjectItem(r->json, "request_id");
	cr_assert(cJSON_IsString(m) && *m->valuestring, "no error_message: %s", r->body);
	cr_assert(cJSON_IsString(id) && *id->valuestring, "no request_id: %s", r->body);
	cr_assert(cJSON_IsString(c), "no error_code: %s", r->body);
	cr_assert(eq(str, c->valuestring, (char *)code), "body: %s", r->body);
	if (field) {
		cr_assert(cJSON_IsString(f), "no field in %s", r->body);
		cr_assert(eq(str, f->valuestring, (char *)field), "body: %s", r->body);
	}
}

void h_create(struct h_resp *r, const char *cred, const char *team, const char *json)
{
	char auth[H_TOKEN + 32], tid[H_ID + 16];
	const char *headers[4] = {auth, "Content-Type: application/json", NULL, NULL};

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", cred);
	if (team) {
		snprintf(tid, sizeof(tid), "X-Team-ID: %s", team);
		headers[2] = tid;
	}
	h_request(r, "POST", "/api/v1/containers", headers, json, strlen(json));
}

void h_deploy(const struct h_tenant *t, const char *json, char *id, const char *want)
{
	char path[160], st[32];
	struct h_resp r;

	h_create(&r, t->member_tok, t->team, json);
	cr_assert(eq(long, r.status, 201), "%s", r.body);
	snprintf(id, H_ID, "%s", cJSON_GetObjectItem(r.json, "id")->valuestring);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/containers/%s/deploy", id);
	h_call(&r, "POST", path, t->member_tok, t->team, NULL);
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	h_resp_free(&r);
	if (want)
		cr_assert(h_wait_text("SELECT service_status FROM container_services WHERE id = ?",
				      id, want, 30000, st, sizeof(st)), "expected %s, still %s", want,
			  st);
}

static sqlite3 *h_db(void)
{
	char path[4096];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/berth.db", env_or_die("BERTH_VAR"));
	cr_assert(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

long h_gateway_metric(const char *name)
{
	struct h_sink b = {0};
	CURL *c = curl_easy_init();
	size_t n = strlen(name);
	long v = -1;

	cr_assert(c != NULL);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, env_or_die("BERTH_TEST_GWSOCK"));
	curl_easy_setopt(c, CURLOPT_URL, "http://gatewayd/metrics");
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, h_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) != CURLE_OK) {
		curl_easy_cleanup(c);
		free(b.p);
		return -1; /* gatewayd is not listening (yet) */
	}
	curl_easy_cleanup(c);
	for (const char *l = b.p; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		if (strncmp(l, name, n) == 0 && l[n] == ' ') {
			v = strtol(l + n + 1, NULL, 10);
			break;
		}
	}
	free(b.p);
	cr_assert(ge(long, v, 0L), "gatewayd's /metrics has no %s", name);
	return v;
}

long h_db_count(const char *sql, const char *param)
{
	sqlite3 *db = h_db();
	sqlite3_stmt *st;
	long n = -1;

	cr_assert(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

void h_db_text(const char *sql, const char *param, char *out, size_t n)
{
	sqlite3 *db = h_db();
	sqlite3_stmt *st;

	out[0] = '\0';
	cr_assert(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(out, n, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

void h_db_exec(const char *sql, const char *param)
{
	sqlite3 *db = h_db();
	sqlite3_stmt *st;

	cr_assert(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(db));
	if (param)
		sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
	cr_assert(eq(int, sqlite3_step(st), SQLITE_DONE), "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

void h_db_hold(int ms)
{
	sqlite3 *db = h_db();

	cr_assert(eq(int, sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK), "%s",
		  sqlite3_errmsg(db));
	usleep((useconds_t)ms * 1000);
	cr_assert(eq(int, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK), "%s",
		  sqlite3_errmsg(db));
	sqlite3_close(db);
}

const char *const *h_auth(struct h_auth *a, const char *cred, const char *team)
{
	int n = 0;

	snprintf(a->auth, sizeof(a->auth), "Authorization: Bearer %s", cred);
	a->list[n++] = a->auth;
	a->list[n++] = "Content-Type: application/json";
	if (team) {
		snprintf(a->team, sizeof(a->team), "X-Team-ID: %s", team);
		a->list[n++] = a->team;
	}
	a->list[n] = NULL;
	return a->list;
}

void h_call(struct h_resp *r, const char *method, const char *path, const char *cred,
	    const char *team, const char *json)
{
	struct h_auth a;

	/* lighttpd answers 411 to a POST without Content-Length: send an empty body instead */
	h_request(r, method, path, h_auth(&a, cred, team), json ? json : "", json ? strlen(json) : 0);
}

void h_parallel(int n, long *statuses, const char *method, const char *path,
		const char *const *headers, const char *body)
{
	CURLM *m = curl_multi_init();
	CURL *c[16];
	struct curl_slist *list = NULL;
	char url[4096];
	int running = 0;

	cr_assert(n > 0 && n <= 16);
	snprintf(url, sizeof(url), "%s%s", getenv("BERTH_TEST_URL"), path);
	for (size_t i = 0; headers && headers[i]; i++)
		list = curl_slist_append(list, headers[i]);
	for (int i = 0; i < n; i++) {
		c[i] = curl_easy_init();
		curl_easy_setopt(c[i], CURLOPT_URL, url);
		curl_easy_setopt(c[i], CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c[i], CURLOPT_HTTPHEADER, list);
		curl_easy_setopt(c[i], CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c[i], CURLOPT_WRITEFUNCTION, h_discard);
		curl_easy_setopt(c[i], CURLOPT_TIMEOUT, 30L);
		curl_multi_add_handle(m, c[i]);
	}
	do {
		cr_assert(curl_multi_perform(m, &running) == CURLM_OK);
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	} while (running);
	for (int i = 0; i < n; i++) {
		curl_easy_getinfo(c[i], CURLINFO_RESPONSE_CODE, &statuses[i]);
		curl_multi_remove_handle(m, c[i]);
		curl_easy_cleanup(c[i]);
	}
	curl_slist_free_all(list);
	curl_multi_cleanup(m);
}

void h_agent_name(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s-%s", env_or_die("BERTH_TEST_RUN"), name);
}

static int h_agent_spawn(const char *name, const char *key, const char *labels,
			 const char *docker_socket, const char *const *extra);

int h_agent_start(const char *name, const char *key, const char *labels)
{
	return h_agent_spawn(name, key, labels, NULL, NULL);
}

int h_agent_start_args(const char *name, const char *key, const char *labels,
		       const char *const *extra)
{
	return h_agent_spawn(name, key, labels, NULL, extra);
}

int h_agent_start_docker(const char *name, const char *key, const char *docker_socket)
{
	return h_agent_spawn(name, key, NULL, docker_socket, NULL);
}

static int h_agent_spawn(const char *name, const char *key, const char *labels,
			 const char *docker_socket, const char *const *extra)
{
	char full[128], keyfile[4096], label_arg[256], pidline[32];
	int fd;
	pid_t pid;

	char unique[96];

	h_agent_name(full, sizeof(full), name);
	/* one key file per start: tests running side by side may name their agents alike */
	h_unique(unique, sizeof(unique), "key-");
	snprintf(keyfile, sizeof(keyfile), "%s/%s-%s", env_or_die("BERTH_TEST_STATE"), full, unique);
	fd = open(keyfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0 && write(fd, key, strlen(key)) == (ssize_t)strlen(key));
	close(fd);
	snprintf(label_arg, sizeof(label_arg), "berth.run=%s", env_or_die("BERTH_TEST_RUN"));
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		char keyarg[4200], logpath[4200];
		const char *argv[32];
		int n = 0, log;

		setsid();
		snprintf(keyarg, sizeof(keyarg), "@%s", keyfile);
		snprintf(logpath, sizeof(logpath), "%s/agent-%s.log", getenv("BERTH_TEST_STATE"), full);
		log = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		argv[n++] = getenv("BERTH_TEST_AGENT");
		argv[n++] = "--gateway";
		argv[n++] = getenv("BERTH_TEST_GATEWAY");
		argv[n++] = "--key";
		argv[n++] = keyarg;
		argv[n++] = "--name";
		argv[n++] = full;
		argv[n++] = "--container-labels";
		argv[n++] = label_arg;
		argv[n++] = "--probe-interval-ms";
		argv[n++] = "300";
		argv[n++] = "--reconnect-max-ms";
		argv[n++] = "1000";
		if (labels) {
			argv[n++] = "--labels";
			argv[n++] = labels;
		}
		if (docker_socket) {
			argv[n++] = "--docker-socket";
			argv[n++] = docker_socket;
		}
		for (size_t i = 0; extra && extra[i] && n < 30; i++)
			argv[n++] = extra[i];
		argv[n] = NULL;
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	snprintf(pidline, sizeof(pidline), "%d\n", (int)pid);
	snprintf(keyfile, sizeof(keyfile), "%s/agent-pids", env_or_die("BERTH_TEST_STATE"));
	fd = open(keyfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
	cr_assert(fd >= 0 && write(fd, pidline, strlen(pidline)) > 0);
	close(fd);
	return (int)pid;
}

void h_agent_kill(int pid)
{
	int status;

	kill(-pid, SIGKILL);
	waitpid(pid, &status, 0);
}

long h_wait_count(const char *sql, const char *param, long want, int ms)
{
	long got = -1;

	for (int waited = 0; waited <= ms; waited += 100) {
		got = h_db_count(sql, param);
		if (got == want)
			break;
		usleep(100 * 1000);
	}
	return got;
}

bool h_wait_text(const char *sql, const char *param, const char *want, int ms, char *out,
		 size_t n)
{
	for (int waited = 0; waited <= ms; waited += 100) {
		h_db_text(sql, param, out, n);
		if (strcmp(out, want) == 0)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

long h_docker_send(struct h_resp *r, const char *method, const char *path, const char *json)
{
	struct curl_slist *hs = NULL;
	struct h_sink b = {0};
	char url[1024];
	CURL *c = curl_easy_init();
	long status = 0;

	snprintf(url, sizeof(url), "http://docker/v1.41%s", path);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, "/var/run/docker.sock");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json ? json : "");
	if (json) {
		hs = curl_slist_append(hs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, h_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	cr_assert(eq(int, curl_easy_perform(c), CURLE_OK), "docker %s %s", method, path);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(hs);
	if (r) {
		memset(r, 0, sizeof(*r));
		r->status = status;
		r->body = b.p ? b.p : calloc(1, 1);
		r->len = b.len;
		r->headers = calloc(1, 1);
		r->json = cJSON_Parse(r->body);
	} else {
		free(b.p);
	}
	return status;
}

long h_docker_post(const char *path)
{
	return h_docker_send(NULL, "POST", path, NULL);
}

long h_docker_get(struct h_resp *r, const char *path)
{
	return h_docker_send(r, "GET", path, NULL);
}

/* Labelled berth.run like the agents' containers, so that run.sh removes it if a test fails
 * before it does; no berth.managed label, so no agent adopts it. */
void h_docker_fixture(char *id, size_t n)
{
	char body[512];
	struct h_resp r;

	snprintf(body, sizeof(body), "{\"Image\": \"berth-fixture:test\", \"Labels\": "
		 "{\"berth.run\": \"%s\"}}", env_or_die("BERTH_TEST_RUN"));
	cr_assert(eq(long, h_docker_send(&r, "POST", "/containers/create", body), 201), "%s",
		  r.body);
	snprintf(id, n, "%s", cJSON_GetObjectItem(r.json, "Id")->valuestring);
	h_resp_free(&r);
}

/* Appends pid to the list run.sh kills at the end. */
static void h_register_pid(pid_t pid)
{
	char path[4096], line[32];
	int fd;

	snprintf(path, sizeof(path), "%s/agent-pids", env_or_die("BERTH_TEST_STATE"));
	snprintf(line, sizeof(line), "%d\n", (int)pid);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
	cr_assert(fd >= 0 && write(fd, line, strlen(line)) > 0);
	close(fd);
}

long h_state_number(const char *file)
{
	char path[4096], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", env_or_die("BERTH_TEST_STATE"), file);
	f = fopen(path, "r");
	cr_assert(f && fgets(buf, sizeof(buf), f), "cannot read %s", path);
	fclose(f);
	return strtol(buf, NULL, 10);
}

void h_gatewayd_bin(char *out, size_t n)
{
	snprintf(out, n, "%s", env_or_die("BERTH_TEST_AGENT"));
	cr_assert(strlen(out) >= strlen("berth-agent"));
	snprintf(out + strlen(out) - strlen("berth-agent"), n - strlen(out) + strlen("berth-agent"),
		 "berth-gatewayd");
}

void h_gatewayd_restart(void)
{
	long old = h_state_number("gatewayd.pid"), port = h_state_number("gwport");
	char listen[64], bin[4096], pidfile[4096], line[32];
	pid_t pid;
	FILE *f;

	kill(-(pid_t)old, SIGKILL);
	for (int i = 0; i < 50 && kill((pid_t)old, 0) == 0; i++)
		usleep(100 * 1000);
	snprintf(listen, sizeof(listen), "127.0.0.1:%ld", port);
	h_gatewayd_bin(bin, sizeof(bin));
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		char log[4200];
		int fd;

		setsid();
		snprintf(log, sizeof(log), "%s/gatewayd.log", getenv("BERTH_TEST_STATE"));
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, bin, "--listen", listen, "--ping-interval-ms", "300", "--ping-deadline-ms",
		      "1500", "--reconcile-ms", "500", "--grace-s", "3", "--deploy-deadline-s", "60",
		      (char *)NULL);
		_exit(127);
	}
	h_register_pid(pid);
	snprintf(pidfile, sizeof(pidfile), "%s/gatewayd.pid", env_or_die("BERTH_TEST_STATE"));
	snprintf(line, sizeof(line), "%d\n", (int)pid);
	f = fopen(pidfile, "w");
	cr_assert(f && fputs(line, f) >= 0);
	fclose(f);
}
