#include "berth.h"
#include "config.h"
#include "berth_limits.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum ckind { C_STR, C_LONG };

struct ckey {
	const char *name;
	enum ckind kind;
	size_t off;
	size_t size;   /* for strings */
	long min, max; /* for numbers */
};

#define S(f) C_STR, offsetof(struct config, f), sizeof(((struct config *)0)->f), 0, 0
#define L(f, lo, hi) C_LONG, offsetof(struct config, f), 0, lo, hi

static const struct ckey keys[] = {
	{"var", S(var)},
	{"db", S(db)},
	{"jwt_secret_file", S(jwt_secret_file)},
	{"vault_key_file", S(vault_key_file)},
	{"gateway_socket", S(gateway_socket)},
	{"jwt_issuer", S(jwt_issuer)},
	{"jwt_ttl", L(jwt_ttl, 60, JWT_TTL_MAX)},
	{"invoke_body_max", L(invoke_body_max, 1, 1024L * 1024 * 1024)},
	{"invoke_timeout_s", L(invoke_timeout_s, 1, 3600)},
	{"runtime_threads", L(runtime_threads, 1, RUNTIME_THREADS_MAX)},
	{"bind", S(bind)},
	{"port", L(port, 1, 65535)},
	{"log_format", S(log_format)},
	{"log_level", S(log_level)},
};

static int config_set(struct config *c, const char *key, const char *val, const char *where,
		      struct berr *e)
{
	for (size_t i = 0; i < B_ARRAY_LEN(keys); i++) {
		const struct ckey *k = &keys[i];
		char *end;
		long n;

		if (strcmp(k->name, key) != 0)
			continue;
		if (k->kind == C_STR) {
			if (strlen(val) >= k->size)
				return berr_set(e, B_EINVAL, key, "%s: %s is too long", where, key);
			memcpy((char *)c + k->off, val, strlen(val) + 1);
			return B_OK;
		}
		errno = 0;
		n = strtol(val, &end, 10);
		if (errno || end == val || *end || n < k->min || n > k->max)
			return berr_set(e, B_EINVAL, key, "%s: %s must be a number from %ld to %ld",
					where, key, k->min, k->max);
		*(long *)((char *)c + k->off) = n;
		return B_OK;
	}
	return berr_set(e, B_EINVAL, key, "%s: unknown setting %s", where, key);
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int config_read_file(struct config *c, const char *path, struct berr *e)
{
	char line[PATH_MAX + 128], where[PATH_MAX + 32];
	FILE *f = fopen(path, "r");
	int lineno = 0, rc = B_OK;

	if (!f)
		return berr_set(e, B_EIO, "", "cannot read %s: %s", path, strerror(errno));
	while (!rc && fgets(line, sizeof(line), f)) {
		char *s = trim(line), *eq;

		lineno++;
		if (*s == '\0' || *s == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		eq = strchr(s, '=');
		if (!eq) {
			rc = berr_set(e, B_EINVAL, "", "%s: expected key = value", where);
			break;
		}
		*eq = '\0';
		rc = config_set(c, trim(s), trim(eq + 1), where, e);
	}
	fclose(f);
	return rc;
}

/* Settings derived from var that were not given explicitly. */
static void config_derive(struct config *c)
{
	if (!c->db[0])
		snprintf(c->db, sizeof(c->db), "%.*s/berth.db", PATH_MAX - 16, c->var);
	if (!c->jwt_secret_file[0])
		snprintf(c->jwt_secret_file, sizeof(c->jwt_secret_file), "%.*s/secrets/jwt.key",
			 PATH_MAX - 32, c->var);
	if (!c->gateway_socket[0])
		snprintf(c->gateway_socket, sizeof(c->gateway_socket), "%.*s/run/gatewayd.sock",
			 PATH_MAX - 32, c->var);
	if (!c->vault_key_file[0])
		snprintf(c->vault_key_file, sizeof(c->vault_key_file), "%.*s/secrets/vault.key",
			 PATH_MAX - 32, c->var);
}

static int config_env(struct config *c, struct berr *e)
{
	for (size_t i = 0; i < B_ARRAY_LEN(keys); i++) {
		char name[64];
		const char *v;
		int rc;

		snprintf(name, sizeof(name), "BERTH_");
		for (size_t j = 0; keys[i].name[j] && j + 7 < sizeof(name); j++) {
			name[6 + j] = (char)toupper((unsigned char)keys[i].name[j]);
			name[7 + j] = '\0';
		}
		v = getenv(name);
		if (v && *v && (rc = config_set(c, keys[i].name, v, name, e)))
			return rc;
	}
	return B_OK;
}

int config_load(struct config *c, const char *file, const char *var_override, struct berr *e)
{
	char deflt[PATH_MAX + 16];
	const char *v = getenv("BERTH_VAR");
	int rc;

	memset(c, 0, sizeof(*c));
	snprintf(c->var, sizeof(c->var), "%s", var_override ? var_override : (v && *v) ? v : "./var");
	snprintf(c->jwt_issuer, sizeof(c->jwt_issuer), "berth");
	snprintf(c->bind, sizeof(c->bind), "127.0.0.1");
	snprintf(c->log_format, sizeof(c->log_format), "text");
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->jwt_ttl = JWT_TTL_DEFAULT;
	c->invoke_body_max = (long)INVOKE_BODY_DEFAULT;
	c->invoke_timeout_s = INVOKE_TIMEOUT_DEFAULT;
	c->runtime_threads = RUNTIME_THREADS_DEFAULT;
	c->port = 8080;

	if (!file)
		file = getenv("BERTH_CONFIG");
	if (!file || !*file) {
		snprintf(deflt, sizeof(deflt), "%s/berth.conf", c->var);
		file = access(deflt, R_OK) == 0 ? deflt : NULL;
	}
	if (file && (rc = config_read_file(c, file, e)))
		return rc;
	if ((rc = config_env(c, e)))
		return rc;
	if (var_override)
		snprintf(c->var, sizeof(c->var), "%s", var_override);
	if (strcmp(c->log_format, "text") != 0 && strcmp(c->log_format, "json") != 0)
		return berr_set(e, B_EINVAL, "log_format", "log_format must be text or json");
	if (log_level_parse(c->log_level) < 0)
		return berr_set(e, B_EINVAL, "log_level",
				"log_level must be debug, info, warn or error");
	config_derive(c);
	return B_OK;
}
