/* External services end to end: lighttpd, the invoke program, gatewayd (the vault secret
 * revealed into reserved stream headers), a real agent with its egress TLS, and an HTTPS echo
 * server (tests/fixtures/httpsd.c) whose certificate comes from a test CA made by run.sh. The
 * agents here have no Docker engine: egress needs none. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEADLINE_MS 30000
#define NO_DOCKER "/nonexistent/docker.sock"
#define SECRET "Bearer upstream-vault-secret-42"

static struct h_tenant t;

static void setup(void)
{
	h_tenant_new(&t);
}

TestSuite(external, .init = setup);

static const char *env(const char *name)
{
	const char *v = getenv(name);

	cr_assert(v && *v, "%s is not set: run through tests/integration/run.sh", name);
	return v;
}

/* An agent without Docker that trusts ca (NULL: the system's CAs only). */
static int agent(const char *name, const char *labels, const char *ca)
{
	const char *with_ca[] = {"--docker-socket", NO_DOCKER, "--egress-ca-file", ca, NULL};
	const char *without[] = {"--docker-socket", NO_DOCKER, NULL};

	return h_agent_start_args(name, t.ak, labels, ca ? with_ca : without);
}

/* A vault secret of the tenant's team; its id into id. */
static void vault_secret(const char *value, char *id)
{
	char json[256];
	struct h_resp r;

	snprintf(json, sizeof(json), "{\"display_name\": \"upstream\", \"secret_value\": \"%s\"}",
		 value);
	h_call(&r, "POST", "/api/v1/vault/secrets", t.admin_tok, t.team, json);
	cr_assert(eq(long, r.status, 201), "vault secret: %ld %s", r.status, r.body);
	snprintf(id, H_ID, "%s", cJSON_GetObjectItem(r.json, "id")->valuestring);
	h_resp_free(&r);
}

/* Creates external service slug for url (with credential cred unless NULL, and extra JSON
 * members unless NULL) and deploys it; its id into id. */
static void deploy_external(const char *slug, const char *url, const char *cred,
			    const char *extra, char *id)
{
	char json[1024], path[160];
	struct h_resp r;

	snprintf(json, sizeof(json), "{\"service_slug\": \"%s\", \"service_type\": \"external\", "
		 "\"external_url\": \"%s\"%s%s%s%s%s}", slug, url,
		 cred ? ", \"external_auth_credential_id\": \"" : "", cred ? cred : "",
		 cred ? "\"" : "", extra ? ", " : "", extra ? extra : "");
	h_create(&r, t.member_tok, t.team, json);
	cr_assert(eq(long, r.status, 201), "create: %s", r.body);
	snprintf(id, H_ID, "%s", cJSON_GetObjectItem(r.json, "id")->valuestring);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/containers/%s/deploy", id);
	h_call(&r, "POST", path, t.member_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "deploy: %s", r.body);
	h_resp_free(&r);
}

static void wait_status(const char *id, const char *want)
{
	char st[256];

	cr_assert(h_wait_text("SELECT service_status FROM container_services WHERE id = ?", id,
			      want, DEADLINE_MS, st, sizeof(st)), "service is %s, not %s", st, want);
}

/* https://localhost:<httpsd>/base */
static void url(char *out, size_t n, const char *host)
{
	snprintf(out, n, "https://%s:%s/base", host, env("BERTH_TEST_HTTPS_PORT"));
}

static void invoke(struct h_resp *r, const char *slug, const char *json)
{
	char path[256];

	snprintf(path, sizeof(path), "/api/v1/r/invoke/%s", slug);
	h_call(r, "POST", path, t.sk, NULL, json);
}

/* The echo of an invoke that reached httpsd: status_code 200 and its JSON body. */
static cJSON *echo_of(const struct h_resp *r)
{
	const char *b64 = cJSON_GetStringValue(cJSON_GetObjectItem(r->json, "body_base64"));
	size_t n = b64 ? strlen(b64) : 0, len;
	char *raw = calloc(1, n + 1);
	const cJSON *code = cJSON_GetObjectItem(r->json, "status_code");
	cJSON *echo;

	cr_assert(eq(long, r->status, 200), "invoke: %ld %s", r->status, r->body);
	cr_assert(cJSON_IsNumber(code) && code->valueint == 200, "upstream status: %s", r->body);
	cr_assert(sodium_base642bin((unsigned char *)raw, n + 1, b64, n, NULL, &len, NULL,
				    sodium_base64_VARIANT_ORIGINAL) == 0, "%s", r->body);
	echo = cJSON_Parse(raw);
	cr_assert(echo != NULL, "the echo is not JSON: %s", raw);
	free(raw);
	return echo;
}

static const char *field(const cJSON *o, const char *name)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, name));

	return v ? v : "(null)";
}

/* ---- gatewayd's control socket, straight (as invoke and proxy reach it) ---- */

struct direct {
	long status;
	char headers[4096];
	char body[4096];
	size_t hlen, blen;
};

static size_t direct_keep(char *p, size_t size, size_t n, void *arg)
{
	char *out = ((char **)arg)[0];
	size_t *len = ((size_t **)arg)[1], room = 4095 - *len, k = size * n < room ? size * n : room;

	memcpy(out + *len, p, k);
	*len += k;
	out[*len] = '\0';
	return size * n;
}

/* GET /agents/<agent>/v1/egress/<replica><path> on gatewayd's socket with extra header lines. */
static void direct_get(struct direct *d, const char *service_id, const char *path,
		       const char *const *lines)
{
	char agent_id[H_ID], replica[H_ID], u[512];
	void *hk[2] = {d->headers, &d->hlen}, *bk[2] = {d->body, &d->blen};
	struct curl_slist *list = NULL;
	CURL *c = curl_easy_init();

	memset(d, 0, sizeof(*d));
	h_db_text("SELECT agent_id FROM replicas WHERE service_id = ?", service_id, agent_id,
		  sizeof(agent_id));
	h_db_text("SELECT id FROM replicas WHERE service_id = ?", service_id, replica,
		  sizeof(replica));
	snprintf(u, sizeof(u), "http://gw/agents/%s/v1/egress/%s%s", agent_id, replica, path);
	for (size_t i = 0; lines && lines[i]; i++)
		list = curl_slist_append(list, lines[i]);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, env("BERTH_TEST_GWSOCK"));
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, direct_keep);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, hk);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, direct_keep);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, bk);
	cr_assert(eq(int, curl_easy_perform(c), CURLE_OK), "gatewayd socket call failed");
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &d->status);
	curl_slist_free_all(list);
	curl_easy_cleanup(c);
}

/* ---- the tests ---- */

Test(external, invoke_reaches_the_service_with_the_vault_secret_as_authorization)
{
	char cred[H_ID], id[H_ID], u[256];
	struct h_resp r;
	cJSON *echo;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	vault_secret(SECRET, cred);
	url(u, sizeof(u), "localhost");
	deploy_external("ext-api", u, cred, NULL, id);
	wait_status(id, "running");
	/* the caller's own Authorization header loses to the vault secret */
	invoke(&r, "ext-api", "{\"method\": \"POST\", \"path\": \"/v1/chat?x=1&y=two\", "
	       "\"headers\": {\"Authorization\": \"Bearer caller-own\", \"Content-Type\": "
	       "\"text/plain\"}, \"body_base64\": \"aGVsbG8gZWdyZXNz\"}");
	echo = echo_of(&r);
	cr_assert(eq(str, (char *)field(echo, "method"), "POST"));
	cr_assert(eq(str, (char *)field(echo, "path"), "/base/v1/chat"));
	cr_assert(eq(str, (char *)field(echo, "query"), "x=1&y=two"));
	cr_assert(eq(str, (char *)field(echo, "authorization"), SECRET));
	cr_assert(eq(str, (char *)field(echo, "sni"), "localhost"));
	cr_assert(eq(str, (char *)field(echo, "body"), "hello egress"));
	cr_assert(eq(ptr, strstr(r.body, t.sk), NULL), "the caller's key came back: %s", r.body);
	cJSON_Delete(echo);
	h_resp_free(&r);
}

Test(external, upstream_status_comes_back_as_it_was)
{
	char id[H_ID], u[256];
	struct h_resp r;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	url(u, sizeof(u), "localhost");
	deploy_external("ext-status", u, NULL, NULL, id);
	wait_status(id, "running");
	invoke(&r, "ext-status", "{\"method\": \"GET\", \"path\": \"/status/418\"}");
	cr_assert(eq(long, r.status, 200), "%s", r.body);
	cr_assert(eq(int, cJSON_GetObjectItem(r.json, "status_code")->valueint, 418), "%s", r.body);
	h_resp_free(&r);
}

Test(external, without_a_credential_the_callers_authorization_goes_and_berths_never_does)
{
	char id[H_ID], u[256];
	struct h_resp r;
	cJSON *echo;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	url(u, sizeof(u), "localhost");
	deploy_external("ext-open", u, NULL, NULL, id);
	wait_status(id, "running");
	invoke(&r, "ext-open", "{\"method\": \"GET\", \"path\": \"/x\", \"headers\": "
	       "{\"Authorization\": \"Bearer callers-upstream-key\"}}");
	echo = echo_of(&r);
	cr_assert(eq(str, (char *)field(echo, "authorization"), "Bearer callers-upstream-key"));
	cJSON_Delete(echo);
	h_resp_free(&r);
	invoke(&r, "ext-open", "{\"method\": \"GET\", \"path\": \"/x\"}");
	echo = echo_of(&r);
	cr_assert(eq(str, (char *)field(echo, "authorization"), "(null)"),
		  "an Authorization arrived: %s", field(echo, "authorization"));
	cJSON_Delete(echo);
	h_resp_free(&r);
}

Test(external, callers_cannot_set_the_gateways_egress_headers)
{
	static const char *const forged[] = {
		"x-berth-egress-authorization: Bearer forged",
		"x-berth-egress-url: https://evil.invalid", NULL};
	char cred[H_ID], id[H_ID], u[256];
	struct direct d;
	cJSON *echo;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	vault_secret(SECRET, cred);
	url(u, sizeof(u), "localhost");
	deploy_external("ext-forge", u, cred, NULL, id);
	wait_status(id, "running");
	direct_get(&d, id, "/forge", forged);
	cr_assert(eq(long, d.status, 200), "%ld %s", d.status, d.body);
	echo = cJSON_Parse(d.body);
	cr_assert(echo != NULL, "%s", d.body);
	cr_assert(eq(str, (char *)field(echo, "authorization"), SECRET));
	cr_assert(eq(str, (char *)field(echo, "path"), "/base/forge"));
	cJSON_Delete(echo);
}

Test(external, untrusted_certificate_fails_502_saying_why)
{
	char id[H_ID], u[256];
	struct h_resp r;
	struct direct d;

	agent("egress", NULL, NULL); /* the system's CAs: the test CA is not among them */
	url(u, sizeof(u), "localhost");
	deploy_external("ext-untrusted", u, NULL, NULL, id);
	wait_status(id, "running");
	invoke(&r, "ext-untrusted", "{\"method\": \"GET\", \"path\": \"/x\"}");
	h_assert_error(&r, 502, "upstream_failed", NULL);
	h_resp_free(&r);
	direct_get(&d, id, "/x", NULL);
	cr_assert(eq(long, d.status, 502), "%ld %s", d.status, d.body);
	cr_assert(strcasestr(d.headers, "x-berth-error: upstream_failed") != NULL, "%s", d.headers);
	cr_assert(strstr(d.body, "certificate is not trusted") != NULL, "%s", d.body);
}

Test(external, certificate_of_another_ca_fails_502_saying_why)
{
	char id[H_ID], u[256];
	struct direct d;

	agent("egress", NULL, env("BERTH_TEST_OTHER_CA"));
	url(u, sizeof(u), "localhost");
	deploy_external("ext-other-ca", u, NULL, NULL, id);
	wait_status(id, "running");
	direct_get(&d, id, "/x", NULL);
	cr_assert(eq(long, d.status, 502), "%ld %s", d.status, d.body);
	cr_assert(strstr(d.body, "certificate is not trusted") != NULL, "%s", d.body);
}

Test(external, certificate_for_another_host_fails_502_saying_why)
{
	char id[H_ID], u[256];
	struct direct d;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	url(u, sizeof(u), "127.0.0.1"); /* the certificate names localhost only */
	deploy_external("ext-mismatch", u, NULL, NULL, id);
	wait_status(id, "running");
	direct_get(&d, id, "/x", NULL);
	cr_assert(eq(long, d.status, 502), "%ld %s", d.status, d.body);
	cr_assert(strstr(d.body, "mismatch") != NULL, "%s", d.body);
}

Test(external, nothing_listening_fails_502_quickly)
{
	char id[H_ID];
	struct h_resp r;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	deploy_external("ext-closed", "https://localhost:1/", NULL, NULL, id);
	wait_status(id, "running");
	invoke(&r, "ext-closed", "{\"method\": \"GET\", \"path\": \"/x\"}");
	h_assert_error(&r, 502, "upstream_failed", NULL);
	cr_assert(strstr(cJSON_GetStringValue(cJSON_GetObjectItem(r.json, "error_message")),
			 "refused") != NULL, "the reason is given: %s", r.body);
	h_resp_free(&r);
}

Test(external, slow_service_times_out_504)
{
	char id[H_ID], u[256];
	struct h_resp r;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	url(u, sizeof(u), "localhost");
	deploy_external("ext-slow", u, NULL, NULL, id);
	wait_status(id, "running");
	invoke(&r, "ext-slow", "{\"method\": \"GET\", \"path\": \"/slow?ms=8000\"}");
	h_assert_error(&r, 504, "upstream_timeout", NULL);
	h_resp_free(&r);
}

Test(external, undeploy_removes_the_egress_replica)
{
	char id[H_ID], u[256], path[160];
	struct h_resp r;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	url(u, sizeof(u), "localhost");
	deploy_external("ext-undeploy", u, NULL, NULL, id);
	wait_status(id, "running");
	snprintf(path, sizeof(path), "/api/v1/containers/%s/undeploy", id);
	h_call(&r, "POST", path, t.member_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "undeploy: %s", r.body);
	h_resp_free(&r);
	wait_status(id, "stopped");
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM replicas WHERE service_id = ?", id), 0));
	invoke(&r, "ext-undeploy", "{\"method\": \"GET\", \"path\": \"/x\"}");
	h_assert_error(&r, 409, "conflict", NULL);
	h_resp_free(&r);
}

/* Undeployed while its agent (without Docker, as egress agents often are) is away: the
 * replica waits as stopping; back, the agent no longer has it and says so, and it goes. */
Test(external, an_undeploy_while_the_egress_agent_is_away_ends_when_it_is_back)
{
	char id[H_ID], u[256], path[160], rep[H_ID], got[64];
	int pid = agent("egress-away", NULL, env("BERTH_TEST_CA"));
	struct h_resp r;

	url(u, sizeof(u), "localhost");
	deploy_external("ext-away", u, NULL, NULL, id);
	wait_status(id, "running");
	h_db_text("SELECT id FROM replicas WHERE service_id = ?", id, rep, sizeof(rep));
	h_agent_kill(pid);
	cr_assert(eq(long, h_wait_count("SELECT count(*) FROM agents WHERE team_id = ? AND "
					"agent_status = 'online'", t.team, 0, DEADLINE_MS), 0));
	snprintf(path, sizeof(path), "/api/v1/containers/%s/undeploy", id);
	h_call(&r, "POST", path, t.member_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 200), "undeploy: %s", r.body);
	h_resp_free(&r);
	wait_status(id, "stopped");
	h_db_text("SELECT replica_state FROM replicas WHERE id = ?", rep, got, sizeof(got));
	cr_assert(eq(str, got, "stopping"));
	agent("egress-away", NULL, env("BERTH_TEST_CA"));
	cr_assert(eq(long, h_wait_count("SELECT count(*) FROM replicas WHERE id = ?", rep, 0,
					DEADLINE_MS), 0), "the replica stays");
}

/* A PUT points the service at another secret, but the running deployment still calls with
 * the first: that one cannot be deleted until the service is undeployed. */
Test(external, a_secret_the_running_deployment_uses_cannot_be_deleted)
{
	char cred[H_ID], other[H_ID], id[H_ID], u[256], path[160], json[128];
	struct h_resp r;
	cJSON *echo;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	vault_secret(SECRET, cred);
	vault_secret("Bearer the-next-one", other);
	url(u, sizeof(u), "localhost");
	deploy_external("ext-vault", u, cred, NULL, id);
	wait_status(id, "running");
	snprintf(path, sizeof(path), "/api/v1/containers/%s", id);
	snprintf(json, sizeof(json), "{\"external_auth_credential_id\": \"%s\"}", other);
	h_call(&r, "PUT", path, t.member_tok, t.team, json);
	cr_assert(eq(long, r.status, 200), "put: %s", r.body);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/vault/secrets/%s", cred);
	h_call(&r, "DELETE", path, t.admin_tok, t.team, NULL);
	h_assert_error(&r, 409, "conflict", NULL);
	cr_assert(strstr(r.body, "ext-vault") != NULL, "%s", r.body);
	h_resp_free(&r);
	invoke(&r, "ext-vault", "{\"method\": \"GET\", \"path\": \"/x\"}");
	echo = echo_of(&r);
	cr_assert(eq(str, (char *)field(echo, "authorization"), SECRET), "still the deployed one");
	cJSON_Delete(echo);
	h_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/containers/%s/undeploy", id);
	h_call(&r, "POST", path, t.member_tok, t.team, NULL);
	h_resp_free(&r);
	wait_status(id, "stopped");
	snprintf(path, sizeof(path), "/api/v1/vault/secrets/%s", cred);
	h_call(&r, "DELETE", path, t.admin_tok, t.team, NULL);
	cr_assert(eq(long, r.status, 204), "once undeployed: %s", r.body);
	h_resp_free(&r);
}

Test(external, required_labels_without_a_matching_agent_stay_deploying)
{
	char id[H_ID], u[256], detail[256];

	agent("egress", "cpu", env("BERTH_TEST_CA"));
	url(u, sizeof(u), "localhost");
	deploy_external("ext-labels", u, NULL, "\"required_labels\": [\"egress-eu\"]", id);
	usleep(2000 * 1000); /* four reconcile periods */
	h_db_text("SELECT service_status || ': ' || status_detail FROM container_services WHERE id = ?",
		  id, detail, sizeof(detail));
	cr_assert(eq(str, detail, "deploying: waiting for an agent with labels egress-eu"));
	cr_assert(eq(long, h_db_count("SELECT count(*) FROM replicas WHERE service_id = ?", id), 0));
	agent("egress-eu", "egress-eu", env("BERTH_TEST_CA"));
	wait_status(id, "running");
}

Test(external, egress_moves_to_another_agent_when_its_agent_goes)
{
	char id[H_ID], u[256], first[H_ID], second[H_ID];
	int pid = agent("egress-1", NULL, env("BERTH_TEST_CA"));
	struct h_resp r;
	cJSON *echo;

	url(u, sizeof(u), "localhost");
	deploy_external("ext-move", u, NULL, NULL, id);
	wait_status(id, "running");
	h_db_text("SELECT agent_id FROM replicas WHERE service_id = ?", id, first, sizeof(first));
	agent("egress-2", NULL, env("BERTH_TEST_CA"));
	h_agent_kill(pid);
	cr_assert(eq(long, h_wait_count("SELECT count(*) FROM replicas r JOIN agents a ON a.id = "
					"r.agent_id WHERE r.service_id = ? AND r.replica_state = "
					"'healthy' AND a.agent_status = 'online' AND a.agent_name "
					"LIKE '%egress-2'", id, 1, DEADLINE_MS), 1),
		  "no healthy egress replica on the second agent");
	h_db_text("SELECT r.agent_id FROM replicas r WHERE r.service_id = ? AND r.replica_state = "
		  "'healthy'", id, second, sizeof(second));
	cr_assert(not(eq(str, second, first)), "the replica stayed on the dead agent");
	/* the service was deploying while it had no egress replica: running again comes with
	 * gatewayd's next reconcile, a moment after the replica is healthy */
	wait_status(id, "running");
	invoke(&r, "ext-move", "{\"method\": \"GET\", \"path\": \"/moved\"}");
	echo = echo_of(&r);
	cr_assert(eq(str, (char *)field(echo, "path"), "/base/moved"));
	cJSON_Delete(echo);
	h_resp_free(&r);
}

Test(external, proxy_reaches_the_service_with_the_vault_secret)
{
	char cred[H_ID], id[H_ID], u[256], auth[128];
	const char *lines[] = {auth, NULL};
	struct h_resp r;
	cJSON *echo;

	agent("egress", NULL, env("BERTH_TEST_CA"));
	vault_secret(SECRET, cred);
	url(u, sizeof(u), "localhost");
	deploy_external("ext-proxy", u, cred, NULL, id);
	wait_status(id, "running");
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", t.sk);
	h_request(&r, "POST", "/api/v1/r/containers/ext-proxy/p/q?z=9", lines, "raw body", 8);
	cr_assert(eq(long, r.status, 200), "%ld %s", r.status, r.body);
	echo = cJSON_Parse(r.body);
	cr_assert(echo != NULL, "%s", r.body);
	cr_assert(eq(str, (char *)field(echo, "path"), "/base/p/q"));
	cr_assert(eq(str, (char *)field(echo, "query"), "z=9"));
	cr_assert(eq(str, (char *)field(echo, "authorization"), SECRET));
	cr_assert(eq(str, (char *)field(echo, "body"), "raw body"));
	cJSON_Delete(echo);
	h_resp_free(&r);
}
