/* external_test.c: lib/external.c: external_url and a caller's path into host, port and target
 * (boundaries of the URL forms), then external_resolve against a real temporary store: the
 * replica's agent and team, its state, the deployed definition and the vault secret. */
#include "berth.h"
#include "external.h"
#include "fixture.h"
#include "catalog.h"
#include "fleet.h"
#include "store.h"
#include "svc.h"
#include "uuid.h"
#include "vault.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- external_url_split ---- */

static struct external_url u;
static char target[4096];

static int split(const char *url, const char *path)
{
	struct berr e = {0};
	struct buf b;
	int rc;

	buf_init(&b, 64);
	rc = external_url_split(url, path, &u, &b, &e);
	snprintf(target, sizeof(target), "%s", buf_str(&b));
	buf_free(&b);
	return rc;
}

Test(external_url, host_alone_is_port_443_and_the_path_as_given)
{
	cr_assert(eq(int, split("https://api.example.com", "/v1/chat?x=1"), B_OK));
	cr_assert(eq(str, u.host, "api.example.com"));
	cr_assert(eq(int, u.port, 443));
	cr_assert(not(u.host_is_ip));
	cr_assert(eq(str, target, "/v1/chat?x=1"));
}

Test(external_url, explicit_port_and_base_path_are_joined_with_one_slash)
{
	cr_assert(eq(int, split("https://localhost:8443/base/", "/echo"), B_OK));
	cr_assert(eq(str, u.host, "localhost"));
	cr_assert(eq(int, u.port, 8443));
	cr_assert(eq(str, target, "/base/echo"));
	cr_assert(eq(int, split("https://localhost:8443/base", "/"), B_OK));
	cr_assert(eq(str, target, "/base/"));
	cr_assert(eq(int, split("https://localhost", "/"), B_OK));
	cr_assert(eq(str, target, "/"));
}

Test(external_url, queries_of_the_url_and_the_caller_are_both_kept)
{
	cr_assert(eq(int, split("https://h/api?key=1#frag", "/x?y=2"), B_OK));
	cr_assert(eq(str, target, "/api/x?key=1&y=2"));
	cr_assert(eq(int, split("https://h/api?key=1", "/x"), B_OK));
	cr_assert(eq(str, target, "/api/x?key=1"));
	cr_assert(eq(int, split("https://h", "/x?"), B_OK));
	cr_assert(eq(str, target, "/x"));
}

Test(external_url, ip_hosts_are_marked_and_v6_loses_its_brackets)
{
	cr_assert(eq(int, split("https://127.0.0.1:1/", "/"), B_OK));
	cr_assert(u.host_is_ip);
	cr_assert(eq(str, u.host, "127.0.0.1"));
	cr_assert(eq(int, split("https://[::1]:9443/p", "/q"), B_OK));
	cr_assert(u.host_is_ip);
	cr_assert(eq(str, u.host, "::1"));
	cr_assert(eq(int, u.port, 9443));
	cr_assert(eq(int, split("https://[::1]", "/"), B_OK));
	cr_assert(eq(int, u.port, 443));
}

Test(external_url, port_boundaries)
{
	cr_assert(eq(int, split("https://h:65535", "/"), B_OK));
	cr_assert(eq(int, u.port, 65535));
	cr_assert(eq(int, split("https://h:1", "/"), B_OK));
	cr_assert(eq(int, split("https://h:65536", "/"), B_EINVAL));
	cr_assert(eq(int, split("https://h:0", "/"), B_EINVAL));
	cr_assert(eq(int, split("https://h:", "/"), B_EINVAL));
	cr_assert(eq(int, split("https://h:12x", "/"), B_EINVAL));
	cr_assert(eq(int, split("https://h:1234567", "/"), B_EINVAL));
}

Test(external_url, malformed_urls_and_paths_are_refused)
{
	cr_assert(eq(int, split("http://h", "/"), B_EINVAL));
	cr_assert(eq(int, split("https://", "/"), B_EINVAL));
	cr_assert(eq(int, split("https://:443", "/"), B_EINVAL));
	cr_assert(eq(int, split("https://[::1", "/"), B_EINVAL));
	cr_assert(eq(int, split("https://[nothost]", "/"), B_EINVAL));
	cr_assert(eq(int, split("https://h", "x"), B_EINVAL));
	cr_assert(eq(int, split("https://h", ""), B_EINVAL));
}

Test(external_url, host_of_255_fits_256_does_not)
{
	char url[400];

	snprintf(url, sizeof(url), "https://%0255d", 0);
	cr_assert(eq(int, split(url, "/"), B_OK));
	cr_assert(eq(sz, strlen(u.host), 255));
	snprintf(url, sizeof(url), "https://%0256d", 0);
	cr_assert(eq(int, split(url, "/"), B_EINVAL));
}

Test(external_url, target_past_the_buffer_maximum_is_too_big)
{
	char path[80];

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[64] = '\0';
	cr_assert(eq(int, split("https://h", path), B_OK)); /* 64 bytes: the maximum */
	path[64] = 'a';
	path[65] = '\0';
	cr_assert(eq(int, split("https://h", path), B_ETOOBIG));
}

/* ---- external_resolve against a real store ---- */

static struct vault_key key;
static char agent_a[UUID_STR_LEN + 1], agent_b[UUID_STR_LEN + 1];

static void store_setup(void)
{
	fixture_store_open();
	for (size_t i = 0; i < sizeof(key.bytes); i++)
		key.bytes[i] = (unsigned char)(i * 7 + 1);
}

static void store_teardown(void)
{
	fixture_store_close();
	vault_key_wipe(&key);
}

TestSuite(external, .init = store_setup, .fini = store_teardown);

static void exec(const char *fmt, ...)
{
	sqlite3 *db = NULL;
	char *sql, *err = NULL;
	va_list ap;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	cr_assert(eq(int, sqlite3_open(fx.db, &db), SQLITE_OK));
	sqlite3_busy_timeout(db, 5000);
	cr_assert(eq(int, sqlite3_exec(db, sql, NULL, NULL, &err), SQLITE_OK), "%s: %s", sql,
		  err ? err : "");
	sqlite3_free(err);
	sqlite3_free(sql);
	sqlite3_close(db);
}

static void add_agent(const char *team, const char *name, char *id)
{
	uuid_v7(id);
	exec("INSERT INTO agents (id, team_id, agent_name, agent_status, agent_labels, gpu_capacity,"
	     " runtime_ok, last_heartbeat, created_at) VALUES (%Q, %Q, %Q, 'online', '[]', 0, 0,"
	     " %lld, %lld)", id, team, name, (long long)time(NULL), (long long)time(NULL));
}

static void secret(const char *team, const char *value, char *id)
{
	struct vault_secret v;
	struct berr e = {0};

	cr_assert(eq(int, vault_secret_create(fx.st, &key, team, "upstream", value, &v, &e), B_OK),
		  "%s", e.message);
	snprintf(id, UUID_STR_LEN + 1, "%s", v.id);
}

/* A deployed external service of team with body_text and a replica of it on agent in state;
 * the replica's id goes to replica. */
static void external(const char *team, const char *agent, const char *body_text,
		     const char *state, char *svc_id, char *replica)
{
	struct berr e = {0};
	cJSON *b = cJSON_Parse(body_text);
	struct svc v;

	cr_assert(not(eq(ptr, b, NULL)), "body does not parse: %s", body_text);
	cr_assert(eq(int, svc_parse_create(b, &v, &e), B_OK), "body rejected: %s", e.message);
	snprintf(v.team_id, sizeof(v.team_id), "%s", team);
	cr_assert(eq(int, svc_insert(fx.st, &v, &e), B_OK), "svc_insert: %s", e.message);
	snprintf(svc_id, UUID_STR_LEN + 1, "%s", v.id);
	svc_free(&v);
	cJSON_Delete(b);
	cr_assert(eq(int, catalog_deploy(fx.st, team, svc_id, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, fleet_replica_add(fx.st, svc_id, agent, "[]", replica, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(int, fleet_replica_set_state(fx.st, replica, state, "", &e), B_OK), "%s",
		  e.message);
}

static int resolve(const char *agent, const char *replica, struct external_target *t,
		   struct berr *e)
{
	return external_resolve(fx.st, &key, agent, replica, t, e);
}

Test(external, replica_with_a_secret_resolves_to_the_url_and_the_secret)
{
	char cred[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1], body[256];
	struct external_target t;
	struct berr e = {0};

	add_agent(fx.team_a, "a1", agent_a);
	secret(fx.team_a, "Bearer upstream-123", cred);
	snprintf(body, sizeof(body), "{\"service_slug\":\"ext\",\"service_type\":\"external\","
		 "\"external_url\":\"https://api.example.com/v1\",\"external_auth_credential_id\":"
		 "\"%s\"}", cred);
	external(fx.team_a, agent_a, body, "healthy", svc, rep);
	cr_assert(eq(int, resolve(agent_a, rep, &t, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, t.url, "https://api.example.com/v1"));
	cr_assert(t.has_auth);
	cr_assert(eq(str, t.authorization, "Bearer upstream-123"));
	external_target_wipe(&t);
	cr_assert(eq(str, t.authorization, ""));
	cr_assert(not(t.has_auth));
}

Test(external, replica_without_a_credential_has_no_authorization)
{
	char svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	struct external_target t;
	struct berr e = {0};

	add_agent(fx.team_a, "a1", agent_a);
	external(fx.team_a, agent_a, "{\"service_slug\":\"ext\",\"service_type\":\"external\","
		 "\"external_url\":\"https://h\"}", "healthy", svc, rep);
	cr_assert(eq(int, resolve(agent_a, rep, &t, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, t.url, "https://h"));
	cr_assert(not(t.has_auth));
}

Test(external, another_agent_or_an_unknown_replica_is_not_found)
{
	char svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1], other[UUID_STR_LEN + 1];
	struct external_target t;
	struct berr e = {0};

	add_agent(fx.team_a, "a1", agent_a);
	add_agent(fx.team_a, "a2", agent_b);
	external(fx.team_a, agent_a, "{\"service_slug\":\"ext\",\"service_type\":\"external\","
		 "\"external_url\":\"https://h\"}", "healthy", svc, rep);
	cr_assert(eq(int, resolve(agent_b, rep, &t, &e), B_ENOTFOUND));
	uuid_v7(other);
	cr_assert(eq(int, resolve(agent_a, other, &t, &e), B_ENOTFOUND));
	cr_assert(eq(int, resolve(agent_a, "not-a-uuid", &t, &e), B_ENOTFOUND));
}

Test(external, agent_of_another_team_is_not_found)
{
	char svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	struct external_target t;
	struct berr e = {0};

	add_agent(fx.team_b, "b1", agent_b);
	/* a row that should never exist: fx.team_a's service on fx.team_b's agent */
	external(fx.team_a, agent_b, "{\"service_slug\":\"ext\",\"service_type\":\"external\","
		 "\"external_url\":\"https://h\"}", "healthy", svc, rep);
	cr_assert(eq(int, resolve(agent_b, rep, &t, &e), B_ENOTFOUND));
}

Test(external, replica_of_a_deployed_service_is_not_found)
{
	char svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	struct external_target t;
	struct berr e = {0};

	add_agent(fx.team_a, "a1", agent_a);
	external(fx.team_a, agent_a, "{\"service_slug\":\"web\",\"docker_image\":\"nginx:1\"}",
		 "healthy", svc, rep);
	cr_assert(eq(int, resolve(agent_a, rep, &t, &e), B_ENOTFOUND));
}

Test(external, replica_not_healthy_is_unavailable)
{
	char svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	struct external_target t;
	struct berr e = {0};

	add_agent(fx.team_a, "a1", agent_a);
	external(fx.team_a, agent_a, "{\"service_slug\":\"ext\",\"service_type\":\"external\","
		 "\"external_url\":\"https://h\"}", "stopping", svc, rep);
	cr_assert(eq(int, resolve(agent_a, rep, &t, &e), B_EUNAVAILABLE));
	cr_assert(not(eq(ptr, strstr(e.message, "stopping"), NULL)), "%s", e.message);
}

Test(external, deployed_definition_wins_over_a_later_edit)
{
	char svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1];
	struct external_target t;
	struct berr e = {0};

	add_agent(fx.team_a, "a1", agent_a);
	external(fx.team_a, agent_a, "{\"service_slug\":\"ext\",\"service_type\":\"external\","
		 "\"external_url\":\"https://old.example\"}", "healthy", svc, rep);
	exec("UPDATE container_services SET external_url = 'https://new.example' WHERE id = %Q", svc);
	cr_assert(eq(int, resolve(agent_a, rep, &t, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, t.url, "https://old.example"));
}

Test(external, secret_gone_is_unavailable_and_a_wrong_key_is_internal)
{
	char cred[UUID_STR_LEN + 1], svc[UUID_STR_LEN + 1], rep[UUID_STR_LEN + 1], body[256];
	struct external_target t;
	struct vault_key other;
	struct berr e = {0};

	add_agent(fx.team_a, "a1", agent_a);
	secret(fx.team_a, "Bearer s3cret-value", cred);
	snprintf(body, sizeof(body), "{\"service_slug\":\"ext\",\"service_type\":\"external\","
		 "\"external_url\":\"https://h\",\"external_auth_credential_id\":\"%s\"}", cred);
	external(fx.team_a, agent_a, body, "healthy", svc, rep);
	memset(&other, 0x42, sizeof(other));
	cr_assert(eq(int, external_resolve(fx.st, &other, agent_a, rep, &t, &e), B_EINTERNAL));
	cr_assert(eq(ptr, strstr(e.message, "s3cret"), NULL), "%s", e.message);
	cr_assert(eq(str, t.authorization, ""));
	cr_assert(eq(int, external_resolve(fx.st, NULL, agent_a, rep, &t, &e), B_EUNAVAILABLE));
	exec("PRAGMA foreign_keys = OFF; DELETE FROM vault_secrets WHERE id = %Q", cred);
	cr_assert(eq(int, resolve(agent_a, rep, &t, &e), B_EUNAVAILABLE));
	cr_assert(not(eq(ptr, strstr(e.message, "gone"), NULL)), "%s", e.message);
}
