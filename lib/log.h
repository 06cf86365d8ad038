/* log.h: one line per event on stderr, as text or JSON lines. Callers never pass a secret
 * (credentials, passwords, tokens, vault values); this module cannot tell one from a name. */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include "berth.h"

#include <stdio.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* prog names the program in every line; json selects JSON lines. out defaults to stderr. */
void log_init(const char *prog, bool json, enum log_level min, FILE *out);
/* Parses "debug", "info", "warn", "error"; -1 for anything else. */
int log_level_parse(const char *s);
void log_msg(enum log_level level, const char *fmt, ...) B_PRINTF(2, 3);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
