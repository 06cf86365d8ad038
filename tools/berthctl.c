/* berthctl: the operator's command line over berth's store. Plain values on stdout for
 * scripts; a message on stderr and a non-zero exit on error (1 failure, 2 usage). */
#include "berth.h"
#include "acct.h"
#include "audit.h"
#include "auth.h"
#include "clock.h"
#include "config.h"
#include "crypto.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIRST_TEAM "default"
#define FIRST_OWNER "admin@localhost"

static const char usage[] =
	"usage: berthctl [--var DIR] COMMAND ...\n"
	"\n"
	"  init                                   create the state directory, database, keys,\n"
	"                                         a first team, owner and sk- key (idempotent)\n"
	"  team add NAME                          print the new team's id\n"
	"  user add EMAIL [--password PW]         print the new user's id\n"
	"  member add TEAM EMAIL ROLE             ROLE: owner, admin, member or viewer\n"
	"  credential add TEAM KIND NAME [--user EMAIL] [--expires-in-days N]\n"
	"                                         KIND: integration, device (needs --user) or\n"
	"                                         agent; prints the raw key, shown only once\n"
	"  token EMAIL [--ttl SECONDS]            print an access JWT for the user\n"
	"\n"
	"TEAM is a team id or name. --var defaults to $BERTH_VAR, else ./var.\n";

struct ctl {
	struct config cfg;
	struct store *store;
	struct berr e;
};

static int fail(struct ctl *c)
{
	fprintf(stderr, "berthctl: %s\n", c->e.message[0] ? c->e.message : "failed");
	return 1;
}

static int usage_error(const char *msg)
{
	fprintf(stderr, "berthctl: %s\n\n%s", msg, usage);
	return 2;
}

/* Writes n random bytes as hex into path (mode 0600) unless the file exists. */
static int ensure_key_file(const char *path, size_t n, struct berr *e)
{
	char hex[2 * 64 + 2];
	int fd;

	if (access(path, F_OK) == 0)
		return B_OK;
	crypto_random_hex(n, hex);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return berr_set(e, B_EIO, "", "cannot create %s: %s", path, strerror(errno));
	size_t len = strlen(hex);

	hex[len++] = '\n';
	if (write(fd, hex, len) != (ssize_t)len) {
		close(fd);
		return berr_set(e, B_EIO, "", "cannot write %s", path);
	}
	return close(fd) ? berr_set(e, B_EIO, "", "cannot write %s", path) : B_OK;
}

static int ensure_dir(const char *path, mode_t mode, struct berr *e)
{
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return berr_set(e, B_EIO, "", "cannot create %s: %s", path, strerror(errno));
	return B_OK;
}

static int ctl_open(struct ctl *c)
{
	if (store_open(c->cfg.db, &c->store, &c->e) || store_migrate(c->store, &c->e))
		return -1;
	return 0;
}

static bool store_has_teams(struct ctl *c)
{
	static const char sql[] = "SELECT 1 FROM teams LIMIT 1";
	sqlite3_stmt *st = store_stmt(c->store, sql, &c->e);
	bool has = st && store_step(c->store, st, &c->e) == SQLITE_ROW;

	if (st)
		sqlite3_reset(st);
	return has;
}

/* The first team, its owner with a random password, and an sk- key, printed once. */
static int init_first_team(struct ctl *c)
{
	char team[UUID_STR_LEN + 1], user[UUID_STR_LEN + 1], cred[UUID_STR_LEN + 1];
	char raw[KEY_MAX + 1], password[33];

	crypto_random_hex(12, password);
	if (store_begin(c->store, &c->e))
		return -1;
	if (acct_team_add(c->store, FIRST_TEAM, team, &c->e) ||
	    acct_user_add(c->store, FIRST_OWNER, password, user, &c->e) ||
	    acct_member_add(c->store, team, user, ROLE_OWNER, &c->e) ||
	    auth_credential_issue(c->store, CRED_INTEGRATION, team, NULL, "first key", 0, cred, raw,
				  &c->e) ||
	    audit_add(c->store, NULL, team, "credential.create", "credential", cred, NULL, NULL,
		      &c->e) ||
	    store_commit(c->store, &c->e)) {
		store_rollback(c->store);
		return -1;
	}
	printf("berth is initialised in %s. These values are shown only this once:\n\n"
	       "  team id         %s (team \"%s\")\n"
	       "  owner           %s\n"
	       "  password        %s\n"
	       "  integration key %s\n\n"
	       "Try it once the server runs (make run), in bash:\n\n"
	       "  B=http://%s:%ld/api/v1\n"
	       "  TOKEN=$(curl -s $B/auth/login -H 'Content-Type: application/json' \\\n"
	       "    -d '{\"email_address\": \"%s\", \"user_password\": \"%s\"}' | jq -r .access_token)\n"
	       "  curl -s $B/containers -H \"Authorization: Bearer $TOKEN\" -H 'X-Team-ID: %s' \\\n"
	       "    -H 'Content-Type: application/json' \\\n"
	       "    -d '{\"service_slug\": \"hello\", \"docker_image\": \"berth-fixture:test\", \"exposed_port\": 8080}'\n\n"
	       "README.md goes on from there (deploy, invoke, keys, agents).\n\n",
	       c->cfg.var, team, FIRST_TEAM, FIRST_OWNER, password, raw, c->cfg.bind, c->cfg.port,
	       FIRST_OWNER, password, team);
	return 0;
}

static int cmd_init(struct ctl *c)
{
	char secrets[PATH_MAX + 16], run[PATH_MAX + 16], log[PATH_MAX + 16];

	snprintf(secrets, sizeof(secrets), "%s/secrets", c->cfg.var);
	snprintf(run, sizeof(run), "%s/run", c->cfg.var);
	snprintf(log, sizeof(log), "%s/log", c->cfg.var);
	if (ensure_dir(c->cfg.var, 0700, &c->e) || ensure_dir(secrets, 0700, &c->e) ||
	    ensure_dir(run, 0700, &c->e) || ensure_dir(log, 0700, &c->e) ||
	    ensure_key_file(c->cfg.jwt_secret_file, JWT_SECRET_LEN, &c->e) ||
	    ensure_key_file(c->cfg.vault_key_file, 32, &c->e) || ctl_open(c))
		return fail(c);
	if (store_has_teams(c)) {
		fprintf(stderr, "berthctl init: %s was initialised before (schema version %d): its "
			"teams, users and keys stay as they are\n", c->cfg.var,
			store_version(c->store));
		return 0;
	}
	return init_first_team(c) ? fail(c) : 0;
}

static int cmd_team_add(struct ctl *c, const char *name)
{
	char id[UUID_STR_LEN + 1];

	if (ctl_open(c) || acct_team_add(c->store, name, id, &c->e))
		return fail(c);
	printf("%s\n", id);
	return 0;
}

static int cmd_user_add(struct ctl *c, const char *email, const char *password)
{
	char id[UUID_STR_LEN + 1];

	if (ctl_open(c) || acct_user_add(c->store, email, password, id, &c->e))
		return fail(c);
	printf("%s\n", id);
	return 0;
}

static int cmd_member_add(struct ctl *c, const char *team, const char *email, const char *role)
{
	char tid[UUID_STR_LEN + 1], uid[UUID_STR_LEN + 1];
	enum role r = role_parse(role);

	if (r == ROLE_NONE)
		return usage_error("ROLE must be owner, admin, member or viewer");
	if (ctl_open(c) || acct_team_find(c->store, team, tid, &c->e) ||
	    acct_user_find(c->store, email, uid, &c->e) ||
	    acct_member_add(c->store, tid, uid, r, &c->e))
		return fail(c);
	return 0;
}

static int cmd_credential_add(struct ctl *c, const char *team, const char *kind,
			      const char *name, const char *email, long days)
{
	char tid[UUID_STR_LEN + 1], uid[UUID_STR_LEN + 1], id[UUID_STR_LEN + 1], raw[KEY_MAX + 1];
	int k = cred_kind_parse(kind);

	if (k < 0)
		return usage_error("KIND must be integration, device or agent");
	if ((k == CRED_DEVICE) != (email != NULL))
		return usage_error(k == CRED_DEVICE ? "a device credential needs --user EMAIL" :
				   "--user goes with device credentials only");
	if (ctl_open(c) || acct_team_find(c->store, team, tid, &c->e) ||
	    (email && acct_user_find(c->store, email, uid, &c->e)))
		return fail(c);
	if (store_begin(c->store, &c->e))
		return fail(c);
	if (auth_credential_issue(c->store, (enum cred_kind)k, tid, email ? uid : NULL, name,
				  days ? clock_now() + (int64_t)days * 86400 : 0, id, raw, &c->e) ||
	    audit_add(c->store, NULL, tid, "credential.create", "credential", id, NULL, NULL,
		      &c->e) ||
	    store_commit(c->store, &c->e)) {
		store_rollback(c->store);
		return fail(c);
	}
	printf("%s\n", raw);
	return 0;
}

static int cmd_token(struct ctl *c, const char *email, long ttl)
{
	struct auth_keys keys;
	char uid[UUID_STR_LEN + 1];
	char *tok;

	if (ctl_open(c) || acct_user_find(c->store, email, uid, &c->e) ||
	    auth_keys_load(&keys, c->cfg.jwt_secret_file, c->cfg.jwt_issuer, &c->e) ||
	    auth_jwt_issue(&keys, uid, "access", ttl, NULL, &tok, &c->e))
		return fail(c);
	printf("%s\n", tok);
	free(tok);
	return 0;
}

/* Pulls "--name VALUE" out of argv (compacting it); NULL when absent. */
static const char *take_opt(int *argc, char **argv, const char *name, bool *bad)
{
	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], name) != 0)
			continue;
		if (i + 1 >= *argc) {
			*bad = true;
			return NULL;
		}
		const char *v = argv[i + 1];

		memmove(&argv[i], &argv[i + 2], sizeof(char *) * (size_t)(*argc - i - 2));
		*argc -= 2;
		return v;
	}
	return NULL;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return !errno && end != s && !*end && *out >= min && *out <= max;
}

static int dispatch(struct ctl *c, int argc, char **argv)
{
	bool bad = false;
	const char *password = take_opt(&argc, argv, "--password", &bad);
	const char *user = take_opt(&argc, argv, "--user", &bad);
	const char *ttl_s = take_opt(&argc, argv, "--ttl", &bad);
	const char *days_s = take_opt(&argc, argv, "--expires-in-days", &bad);
	long ttl = JWT_TTL_DEFAULT, days = 0;

	if (bad)
		return usage_error("an option is missing its value");
	if (ttl_s && !parse_long(ttl_s, 60, JWT_TTL_MAX, &ttl))
		return usage_error("--ttl takes seconds from 60 to 2592000");
	if (days_s && !parse_long(days_s, CREDENTIAL_DAYS_MIN, CREDENTIAL_DAYS_MAX, &days))
		return usage_error("--expires-in-days takes 1 to 365");
	for (int i = 0; i < argc; i++)
		if (strncmp(argv[i], "--", 2) == 0)
			return usage_error("unknown option");
	if (argc == 1 && strcmp(argv[0], "init") == 0)
		return cmd_init(c);
	if (argc == 3 && strcmp(argv[0], "team") == 0 && strcmp(argv[1], "add") == 0)
		return cmd_team_add(c, argv[2]);
	if (argc == 3 && strcmp(argv[0], "user") == 0 && strcmp(argv[1], "add") == 0)
		return cmd_user_add(c, argv[2], password);
	if (argc == 5 && strcmp(argv[0], "member") == 0 && strcmp(argv[1], "add") == 0)
		return cmd_member_add(c, argv[2], argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[0], "credential") == 0 && strcmp(argv[1], "add") == 0)
		return cmd_credential_add(c, argv[2], argv[3], argv[4], user, days);
	if (argc == 2 && strcmp(argv[0], "token") == 0)
		return cmd_token(c, argv[1], ttl);
	return usage_error(argc ? "unknown command or wrong number of arguments" : "no command");
}

int main(int argc, char **argv)
{
	static struct ctl c;
	const char *var = NULL;
	int rc;

	argc--;
	argv++;
	if (argc && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		fputs(usage, stdout);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[0], "--var") == 0) {
		var = argv[1];
		argc -= 2;
		argv += 2;
	}
	log_init("berthctl", false, LOG_WARN, NULL);
	if (crypto_init())
		return usage_error("libsodium failed to start");
	if (config_load(&c.cfg, NULL, var, &c.e))
		return fail(&c);
	rc = dispatch(&c, argc, argv);
	store_close(c.store);
	return rc;
}
