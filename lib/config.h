/* config.h: berth's settings: built-in defaults, then a `key = value` file, then BERTH_<KEY>
 * environment variables, each overriding the one before. It parses and checks values; it does
 * not create files or directories (berthctl init does). */
#ifndef BERTH_CONFIG_H
#define BERTH_CONFIG_H

#include "berth.h"
#include "err.h"

#include <limits.h>

struct config {
	char var[PATH_MAX];             /* state directory: BERTH_VAR, default ./var */
	char db[PATH_MAX];              /* default <var>/berth.db */
	char jwt_secret_file[PATH_MAX]; /* default <var>/secrets/jwt.key */
	char vault_key_file[PATH_MAX];  /* default <var>/secrets/vault.key */
	char gateway_socket[PATH_MAX];  /* gatewayd's control socket, <var>/run/gatewayd.sock */
	char jwt_issuer[64];            /* default "berth" */
	long jwt_ttl;                   /* seconds, default JWT_TTL_DEFAULT */
	long invoke_body_max;           /* bytes of a decoded invoke body, default 32 MiB */
	long invoke_timeout_s;          /* seconds an invoke waits for the container, default 300 */
	long runtime_threads;           /* threads of each invoke/proxy process, default 128 */
	char bind[64];                  /* lighttpd's address for make run, default 127.0.0.1 */
	long port;                      /* default 8080 */
	char log_format[8];             /* "text" or "json" */
	char log_level[8];              /* "debug" "info" "warn" "error" */
};

/* Fills c. file may be NULL: then BERTH_CONFIG, else <var>/berth.conf if it exists, is read.
 * var_override (berthctl --var) beats BERTH_VAR and the file. Errors name the key. */
int config_load(struct config *c, const char *file, const char *var_override,
		struct berr *e) B_MUST_CHECK;

#endif
