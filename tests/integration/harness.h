/* harness.h: what integration tests share: HTTP calls to the lighttpd that run.sh started
 * (BERTH_TEST_URL), berthctl runs against its state directory (BERTH_VAR), and tenants made
 * of fresh teams, users of each role and their credentials. */
#ifndef BERTH_HARNESS_H
#define BERTH_HARNESS_H

/* No suite declares .timeout: Criterion 2.4.1 then leaks in its own runner, which make asan
 * (rightly) counts as a failure. Every wait here has its own deadline instead, and every HTTP
 * call a curl timeout. */

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>

#define H_ID 37
#define H_KEY 64
#define H_TOKEN 1024

struct h_resp {
	long status;
	char *body;        /* NUL-terminated */
	size_t len;
	char *headers;     /* raw response header block */
	cJSON *json;       /* body parsed, or NULL */
};

/* One team with a user of each role, their tokens and keys. */
struct h_tenant {
	char team[H_ID];
	char owner_email[128], admin_email[128], member_email[128], viewer_email[128];
	char owner_tok[H_TOKEN], admin_tok[H_TOKEN], member_tok[H_TOKEN], viewer_tok[H_TOKEN];
	char sk[H_KEY];       /* integration */
	char ak[H_KEY];       /* agent */
	char dk_member[H_KEY], dk_viewer[H_KEY];
};

/* Runs berthctl with args (NULL-terminated); stdout (trimmed) into out. Returns exit status. */
int h_ctl(char *out, size_t outlen, const char *arg, ...);
/* Like h_ctl but fails the test unless berthctl exits 0. */
void h_ctl_ok(char *out, size_t outlen, const char *arg, ...);

/* A unique lowercase name with the given prefix (for teams, emails, slugs). */
void h_unique(char *out, size_t n, const char *prefix);
void h_tenant_new(struct h_tenant *t);

/* method, path under BERTH_TEST_URL, extra header lines (NULL-terminated array or NULL),
 * body (may be NULL) of len bytes. */
void h_request(struct h_resp *r, const char *method, const char *path,
	       const char *const *headers, const char *body, size_t len);
void h_resp_free(struct h_resp *r);
/* A response header's value (case-insensitive name) copied into out; false when absent. */
bool h_header(const struct h_resp *r, const char *name, char *out, size_t n);
/* Asserts the API.md section 2 envelope with this status, error_code and (if not NULL) field. */
void h_assert_error(const struct h_resp *r, long status, const char *code, const char *field);

/* POST /api/v1/containers with "Authorization: Bearer <cred>" and X-Team-ID team (if not NULL). */
void h_create(struct h_resp *r, const char *cred, const char *team, const char *json);
/* Creates a service from json as t's member and deploys it; its id lands in id[H_ID]. Then,
 * unless want is NULL, waits (30 s at most) for the service to reach status want. */
void h_deploy(const struct h_tenant *t, const char *json, char *id, const char *want);

/* Sends n requests at once (curl multi: n connections in flight together) and stores each
 * status in statuses[i]. Every request is method path with the same headers and body. */
void h_parallel(int n, long *statuses, const char *method, const char *path,
		const char *const *headers, const char *body);
/* "Authorization: Bearer cred" and, when team is not NULL, "X-Team-ID: team", plus
 * Content-Type: application/json, into a NULL-terminated array that lives in a. */
struct h_auth {
	char auth[H_TOKEN + 32];
	char team[H_ID + 16];
	const char *list[4];
};
const char *const *h_auth(struct h_auth *a, const char *cred, const char *team);
/* method path with h_auth headers and a JSON body (NULL for none: an empty body is sent). */
void h_call(struct h_resp *r, const char *method, const char *path, const char *cred,
	    const char *team, const char *json);

/* Starts berth-agent NAME (prefixed with the run id, so its containers are the run's) for
 * the key, with labels (may be NULL), dialling the gateway through lighttpd. Returns its pid;
 * it runs in a session of its own and run.sh stops it even if the test does not. */
int h_agent_start(const char *name, const char *key, const char *labels);
/* The same, with more arguments (a NULL-terminated list, at most 10) after the harness's own. */
int h_agent_start_args(const char *name, const char *key, const char *labels,
		       const char *const *extra);
/* The same, with the agent's Docker engine at docker_socket (e.g. one that does not exist). */
int h_agent_start_docker(const char *name, const char *key, const char *docker_socket);
/* SIGKILL, as a crash would (containers keep running); waits for it to go. */
void h_agent_kill(int pid);
/* The agent name as the gateway sees it: the run's prefix + name. */
void h_agent_name(char *out, size_t n, const char *name);
/* Kills berth-gatewayd (SIGKILL, as a crash) and starts it again on the same port, with the
 * harness's settings; run.sh stops the new one at the end. */
void h_gatewayd_restart(void);
/* The berth-gatewayd binary the harness runs (next to BERTH_TEST_AGENT) into out. */
void h_gatewayd_bin(char *out, size_t n);
/* The number in a file of the run's state directory (gwport, gatewayd.pid). */
long h_state_number(const char *file);
/* Polls SELECT count(*)-style sql (one text parameter) until it returns want or ms pass;
 * returns the last value. */
long h_wait_count(const char *sql, const char *param, long want, int ms);
/* Polls a text query until it equals want or ms pass; the last value lands in out. */
bool h_wait_text(const char *sql, const char *param, const char *want, int ms, char *out,
		 size_t n);
/* POST to the Docker engine's API path (e.g. /containers/ID/kill); returns the status. */
long h_docker_post(const char *path);
/* GET from the Docker engine's API; the status, and the body in r. */
long h_docker_get(struct h_resp *r, const char *path);
/* Any call to the Docker engine's API with a JSON body (or NULL); the status, the body in r
 * (or NULL). */
long h_docker_send(struct h_resp *r, const char *method, const char *path, const char *json);
/* Creates (does not start) a berth-fixture:test container of this run; its id lands in id. */
void h_docker_fixture(char *id, size_t n);

/* A counter or gauge (no labels) from gatewayd's GET /metrics on its unix socket; -1 when
 * gatewayd does not answer. */
long h_gateway_metric(const char *name);

/* A single integer from the test database (SELECT ... with one text parameter or NULL). */
long h_db_count(const char *sql, const char *param);
/* The first column of the first row as text into out ("" when there is none). */
void h_db_text(const char *sql, const char *param, char *out, size_t n);
/* Runs one SQL statement with one text parameter against the test database. */
void h_db_exec(const char *sql, const char *param);
/* Holds the test database's write lock for ms, as a long write of another program would:
 * every writer waits meanwhile (up to its busy timeout). */
void h_db_hold(int ms);

#endif
