/* config_test.c: defaults, the key = value file, BERTH_* environment overrides, --var, and the
 * checks on values. Each test runs in a fresh temporary directory with no BERTH_* set. */
#include "berth.h"
#include "config.h"
#include "berth_limits.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORT_MIN 1      /* TCP ports */
#define PORT_MAX 65535

static const char *const env_names[] = {
	"BERTH_CONFIG", "BERTH_VAR", "BERTH_DB", "BERTH_JWT_SECRET_FILE", "BERTH_VAULT_KEY_FILE",
	"BERTH_JWT_ISSUER", "BERTH_JWT_TTL", "BERTH_BIND", "BERTH_PORT", "BERTH_LOG_FORMAT",
	"BERTH_LOG_LEVEL",
};

static char dir[PATH_MAX];
static char oldcwd[PATH_MAX];

static void unset_env(void)
{
	for (size_t i = 0; i < B_ARRAY_LEN(env_names); i++)
		unsetenv(env_names[i]);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/berth-config-XXXXXX");
	cr_assert(ne(ptr, mkdtemp(dir), NULL));
	cr_assert(ne(ptr, getcwd(oldcwd, sizeof(oldcwd)), NULL));
	cr_assert(eq(int, chdir(dir), 0));
	unset_env();
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void teardown(void)
{
	unset_env();
	if (oldcwd[0] && chdir(oldcwd) != 0)
		perror("chdir");
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(config, .init = setup, .fini = teardown);

/* Writes text to <dir>/name and returns its path in a static buffer. */
static const char *write_file(const char *name, const char *text)
{
	static char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	cr_assert(ne(ptr, f, NULL));
	cr_assert(ge(int, fputs(text, f), 0));
	cr_assert(eq(int, fclose(f), 0));
	return path;
}

static int load_text(struct config *c, const char *text, struct berr *e)
{
	return config_load(c, write_file("berth.conf", text), NULL, e);
}

Test(config, defaults_without_file_or_environment)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, config_load(&c, NULL, NULL, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, c.var, "./var"));
	cr_assert(eq(str, c.db, "./var/berth.db"));
	cr_assert(eq(str, c.jwt_secret_file, "./var/secrets/jwt.key"));
	cr_assert(eq(str, c.vault_key_file, "./var/secrets/vault.key"));
	cr_assert(eq(str, c.jwt_issuer, "berth"));
	cr_assert(eq(long, c.jwt_ttl, JWT_TTL_DEFAULT));
	cr_assert(eq(str, c.bind, "127.0.0.1"));
	cr_assert(eq(long, c.port, 8080));
	cr_assert(eq(str, c.log_format, "text"));
	cr_assert(eq(str, c.log_level, "info"));
}

Test(config, file_with_comments_blank_lines_and_spaces_is_read)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "# berth settings\n"
					"\n"
					"   \n"
					"var = /srv/berth\n"
					"  port=9090  \n"
					"\t# indented comment\n"
					"jwt_issuer =   example  \n"
					"log_format = json\n"
					"log_level = debug\n", &e), B_OK), "%s", e.message);
	cr_assert(eq(str, c.var, "/srv/berth"));
	cr_assert(eq(str, c.db, "/srv/berth/berth.db"), "db derived from the file's var");
	cr_assert(eq(str, c.jwt_secret_file, "/srv/berth/secrets/jwt.key"));
	cr_assert(eq(long, c.port, 9090));
	cr_assert(eq(str, c.jwt_issuer, "example"));
	cr_assert(eq(str, c.log_format, "json"));
	cr_assert(eq(str, c.log_level, "debug"));
}

Test(config, explicit_db_is_not_replaced_by_derived_one)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "var = /a\ndb = /b/other.db\n", &e), B_OK), "%s", e.message);
	cr_assert(eq(str, c.db, "/b/other.db"));
	cr_assert(eq(str, c.vault_key_file, "/a/secrets/vault.key"));
}

Test(config, unknown_key_is_an_error_naming_it)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "port = 9000\ncolour = blue\n", &e), B_EINVAL));
	cr_assert(eq(int, e.status, 400));
	cr_assert(eq(str, e.field, "colour"));
	cr_assert(ne(ptr, strstr(e.message, "colour"), NULL), "message: %s", e.message);
	cr_assert(ne(ptr, strstr(e.message, ":2"), NULL), "message names line 2: %s", e.message);
}

Test(config, line_without_equals_is_an_error)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "port 9000\n", &e), B_EINVAL));
}

Test(config, bad_number_is_an_error_naming_the_key)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "port = 80x\n", &e), B_EINVAL));
	cr_assert(eq(str, e.field, "port"));
	cr_assert(ne(ptr, strstr(e.message, "port"), NULL), "message: %s", e.message);
}

Test(config, empty_number_is_an_error)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "port =\n", &e), B_EINVAL));
	cr_assert(eq(str, e.field, "port"));
}

Test(config, port_range_boundaries)
{
	struct config c;
	struct berr e = {0};
	char text[64];

	snprintf(text, sizeof(text), "port = %d\n", PORT_MIN - 1);
	cr_assert(eq(int, load_text(&c, text, &e), B_EINVAL), "%s", text);
	snprintf(text, sizeof(text), "port = %d\n", PORT_MAX + 1);
	cr_assert(eq(int, load_text(&c, text, &e), B_EINVAL), "%s", text);
	snprintf(text, sizeof(text), "port = %d\n", PORT_MIN);
	cr_assert(eq(int, load_text(&c, text, &e), B_OK), "%s: %s", text, e.message);
	cr_assert(eq(long, c.port, PORT_MIN));
	snprintf(text, sizeof(text), "port = %d\n", PORT_MAX);
	cr_assert(eq(int, load_text(&c, text, &e), B_OK), "%s: %s", text, e.message);
	cr_assert(eq(long, c.port, PORT_MAX));
}

Test(config, jwt_ttl_max_accepted_and_one_more_rejected)
{
	struct config c;
	struct berr e = {0};
	char text[64];

	snprintf(text, sizeof(text), "jwt_ttl = %ld\n", (long)JWT_TTL_MAX);
	cr_assert(eq(int, load_text(&c, text, &e), B_OK), "%s", e.message);
	cr_assert(eq(long, c.jwt_ttl, JWT_TTL_MAX));
	snprintf(text, sizeof(text), "jwt_ttl = %ld\n", (long)JWT_TTL_MAX + 1);
	cr_assert(eq(int, load_text(&c, text, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "jwt_ttl"));
}

Test(config, string_longer_than_its_field_is_rejected)
{
	struct config c;
	struct berr e = {0};
	char text[256], val[sizeof(c.jwt_issuer) + 1];

	memset(val, 'i', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	snprintf(text, sizeof(text), "jwt_issuer = %s\n", val);
	cr_assert(eq(int, load_text(&c, text, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "jwt_issuer"));
	val[sizeof(c.jwt_issuer) - 1] = '\0'; /* the longest that fits */
	snprintf(text, sizeof(text), "jwt_issuer = %s\n", val);
	cr_assert(eq(int, load_text(&c, text, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, c.jwt_issuer, val));
}

Test(config, missing_file_is_an_io_error)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, config_load(&c, "/nonexistent/berth.conf", NULL, &e), B_EIO));
}

Test(config, env_port_overrides_the_file)
{
	struct config c;
	struct berr e = {0};

	setenv("BERTH_PORT", "7070", 1);
	cr_assert(eq(int, load_text(&c, "port = 9090\n", &e), B_OK), "%s", e.message);
	unsetenv("BERTH_PORT");
	cr_assert(eq(long, c.port, 7070));
}

Test(config, bad_env_number_is_an_error)
{
	struct config c;
	struct berr e = {0};

	setenv("BERTH_PORT", "0", 1);
	cr_assert(eq(int, config_load(&c, NULL, NULL, &e), B_EINVAL));
	unsetenv("BERTH_PORT");
	cr_assert(eq(str, e.field, "port"));
	cr_assert(ne(ptr, strstr(e.message, "BERTH_PORT"), NULL), "message: %s", e.message);
}

Test(config, empty_env_value_is_ignored)
{
	struct config c;
	struct berr e = {0};

	setenv("BERTH_PORT", "", 1);
	cr_assert(eq(int, load_text(&c, "port = 9090\n", &e), B_OK), "%s", e.message);
	unsetenv("BERTH_PORT");
	cr_assert(eq(long, c.port, 9090));
}

Test(config, env_var_overrides_the_file_var)
{
	struct config c;
	struct berr e = {0};

	setenv("BERTH_VAR", "/from/env", 1);
	cr_assert(eq(int, load_text(&c, "var = /from/file\n", &e), B_OK), "%s", e.message);
	unsetenv("BERTH_VAR");
	cr_assert(eq(str, c.var, "/from/env"));
	cr_assert(eq(str, c.db, "/from/env/berth.db"));
}

Test(config, var_override_beats_berth_var)
{
	struct config c;
	struct berr e = {0};

	setenv("BERTH_VAR", "/from/env", 1);
	cr_assert(eq(int, config_load(&c, NULL, "/from/flag", &e), B_OK), "%s", e.message);
	unsetenv("BERTH_VAR");
	cr_assert(eq(str, c.var, "/from/flag"));
	cr_assert(eq(str, c.db, "/from/flag/berth.db"));
}

Test(config, var_override_beats_the_file)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "var = /from/file\n", &e), B_OK), "%s", e.message);
	cr_assert(eq(int, config_load(&c, write_file("b.conf", "var = /from/file\n"), "/from/flag",
				      &e), B_OK), "%s", e.message);
	cr_assert(eq(str, c.var, "/from/flag"));
	cr_assert(eq(str, c.db, "/from/flag/berth.db"));
}

Test(config, berth_config_env_names_the_file)
{
	struct config c;
	struct berr e = {0};

	setenv("BERTH_CONFIG", write_file("elsewhere.conf", "port = 6060\n"), 1);
	cr_assert(eq(int, config_load(&c, NULL, NULL, &e), B_OK), "%s", e.message);
	unsetenv("BERTH_CONFIG");
	cr_assert(eq(long, c.port, 6060));
}

Test(config, berth_conf_in_var_is_read_when_no_file_is_named)
{
	struct config c;
	struct berr e = {0};

	write_file("berth.conf", "port = 5050\n");
	cr_assert(eq(int, config_load(&c, NULL, dir, &e), B_OK), "%s", e.message);
	cr_assert(eq(long, c.port, 5050));
}

Test(config, log_format_other_than_text_or_json_is_rejected)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "log_format = xml\n", &e), B_EINVAL));
	cr_assert(eq(str, e.field, "log_format"));
	cr_assert(eq(int, load_text(&c, "log_format = JSON\n", &e), B_EINVAL));
	cr_assert(eq(int, load_text(&c, "log_format = json\n", &e), B_OK), "%s", e.message);
}

Test(config, unknown_log_level_is_rejected)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "log_level = verbose\n", &e), B_EINVAL));
	cr_assert(eq(str, e.field, "log_level"));
}

Test(config, value_may_contain_equals_sign)
{
	struct config c;
	struct berr e = {0};

	cr_assert(eq(int, load_text(&c, "jwt_issuer = a=b\n", &e), B_OK), "%s", e.message);
	cr_assert(eq(str, c.jwt_issuer, "a=b"));
}
