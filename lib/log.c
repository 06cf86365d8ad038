#include "berth.h"
#include "log.h"
#include "buf.h"
#include "clock.h"

#include <stdarg.h>
#include <string.h>
#include <pthread.h>

/* A log line cut at its maximum is still worth writing: appends here may fail quietly. */
#define LOG_APPEND(call) do { if (call) { /* truncated */ } } while (0)

static const char *level_names[] = {"debug", "info", "warn", "error"};

static struct {
	char prog[64];
	bool json;
	enum log_level min;
	FILE *out;
} log_cfg = {"berth", false, LOG_INFO, NULL};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *prog, bool json, enum log_level min, FILE *out)
{
	snprintf(log_cfg.prog, sizeof(log_cfg.prog), "%s", prog);
	log_cfg.json = json;
	log_cfg.min = min;
	log_cfg.out = out;
}

int log_level_parse(const char *s)
{
	for (size_t i = 0; i < B_ARRAY_LEN(level_names); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

/* JSON string escaping; control characters become \u00XX so one event stays one line. Stops
 * early so that reserve bytes stay free for what closes the line: a cut message, but a line. */
static void log_json_escape(struct buf *b, const char *s, size_t reserve)
{
	for (; *s; s++) {
		if (b->len + 6 + reserve > b->max)
			return; /* 6: the longest escape, \u00XX */
		unsigned char c = (unsigned char)*s;
		int rc;

		if (c == '"' || c == '\\')
			rc = buf_addf(b, "\\%c", c);
		else if (c < 0x20)
			rc = buf_addf(b, "\\u%04x", c);
		else
			rc = buf_add(b, s, 1);
		if (rc)
			return; /* a line cut at its maximum is still worth writing */
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char ts[RFC3339_LEN + 1];
	struct buf msg, line;
	va_list ap;
	FILE *out = log_cfg.out ? log_cfg.out : stderr;

	if (level < log_cfg.min)
		return;
	buf_init(&msg, 8192);
	buf_init(&line, 16384);
	va_start(ap, fmt);
	if (buf_vaddf(&msg, fmt, ap))
		LOG_APPEND(buf_addstr(&msg, "(log message too long)"));
	va_end(ap);
	clock_rfc3339(clock_now(), ts);
	if (log_cfg.json) {
		LOG_APPEND(buf_addf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"prog\":\"", ts,
			       level_names[level]));
		log_json_escape(&line, log_cfg.prog, 32);
		LOG_APPEND(buf_addstr(&line, "\",\"msg\":\""));
		log_json_escape(&line, buf_str(&msg), 3);
		LOG_APPEND(buf_addstr(&line, "\"}\n"));
	} else {
		LOG_APPEND(buf_addf(&line, "%s %s %s: ", ts, level_names[level], log_cfg.prog));
		for (const char *s = buf_str(&msg); *s; s++)
			LOG_APPEND(buf_add(&line, (*s == '\n' || *s == '\r') ? " " : s, 1));
		LOG_APPEND(buf_addstr(&line, "\n"));
	}
	pthread_mutex_lock(&log_lock);
	fputs(buf_str(&line), out);
	fflush(out);
	pthread_mutex_unlock(&log_lock);
	buf_free(&msg);
	buf_free(&line);
}
