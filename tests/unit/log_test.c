/* log_test.c: one event per line, as JSON lines (parsed back with cJSON) or text; escaping,
 * level filtering, very long messages. Output goes to an open_memstream. */
#include "berth.h"
#include "log.h"
#include "clock.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MSG_MAX 8192 /* log.c's message buffer */

static char *mem;
static size_t memlen;
static FILE *out;

static void setup(void)
{
	out = open_memstream(&mem, &memlen);
	cr_assert(ne(ptr, out, NULL));
}

static void teardown(void)
{
	log_init("berth", false, LOG_INFO, NULL);
	if (out)
		fclose(out);
	free(mem);
}

TestSuite(log, .init = setup, .fini = teardown);

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

/* The output so far as a string; owned by the memstream. */
static const char *output(void)
{
	fflush(out);
	return mem ? mem : "";
}

/* Parses the single JSON line written so far; the caller cJSON_Delete()s it. */
static cJSON *parse_line(void)
{
	const char *s = output();
	cJSON *j;

	cr_assert(eq(int, count_char(s, '\n'), 1), "one line, got: %s", s);
	cr_assert(eq(chr, s[strlen(s) - 1], '\n'));
	j = cJSON_Parse(s);
	cr_assert(ne(ptr, j, NULL), "not JSON: %s", s);
	return j;
}

static const char *field(cJSON *j, const char *name)
{
	const cJSON *f = cJSON_GetObjectItemCaseSensitive(j, name);

	cr_assert(cJSON_IsString(f), "field %s missing", name);
	return f->valuestring;
}

Test(log, json_line_carries_ts_level_prog_msg)
{
	cJSON *j;

	log_init("unit", true, LOG_DEBUG, out);
	log_info("hello %s %d", "world", 42);
	j = parse_line();
	cr_assert(eq(str, (char *)field(j, "level"), "info"));
	cr_assert(eq(str, (char *)field(j, "prog"), "unit"));
	cr_assert(eq(str, (char *)field(j, "msg"), "hello world 42"));
	cr_assert(eq(sz, strlen(field(j, "ts")), (size_t)RFC3339_LEN));
	cJSON_Delete(j);
}

Test(log, json_level_names)
{
	static const struct {
		enum log_level level;
		const char *name;
	} levels[] = {
		{LOG_DEBUG, "debug"}, {LOG_INFO, "info"}, {LOG_WARN, "warn"}, {LOG_ERROR, "error"},
	};
	const char *line;

	log_init("unit", true, LOG_DEBUG, out);
	for (size_t i = 0; i < B_ARRAY_LEN(levels); i++)
		log_msg(levels[i].level, "x");
	line = output();
	cr_assert(eq(int, count_char(line, '\n'), (int)B_ARRAY_LEN(levels)), "%s", line);
	for (size_t i = 0; i < B_ARRAY_LEN(levels); i++) {
		const char *end = strchr(line, '\n');
		cJSON *j = cJSON_ParseWithLength(line, (size_t)(end - line));

		cr_assert(ne(ptr, j, NULL), "line %zu is not JSON", i);
		cr_assert(eq(str, (char *)field(j, "level"), (char *)levels[i].name));
		cJSON_Delete(j);
		line = end + 1;
	}
}

Test(log, json_escapes_quotes_and_backslashes)
{
	const char *msg = "say \"hi\" \\ bye";
	cJSON *j;

	log_init("unit", true, LOG_INFO, out);
	log_info("%s", msg);
	j = parse_line();
	cr_assert(eq(str, (char *)field(j, "msg"), (char *)msg));
	cJSON_Delete(j);
}

Test(log, json_newlines_and_control_chars_stay_on_one_line)
{
	const char *msg = "line1\nline2\r\n\ttab \x01\x1f end";
	cJSON *j;

	log_init("unit", true, LOG_INFO, out);
	log_info("%s", msg);
	j = parse_line();
	cr_assert(eq(str, (char *)field(j, "msg"), (char *)msg));
	cr_assert(eq(ptr, strchr(output(), '\t'), NULL), "raw tab in %s", output());
	cr_assert(eq(ptr, strchr(output(), '\r'), NULL), "raw CR in %s", output());
	cJSON_Delete(j);
}

Test(log, json_escapes_the_program_name)
{
	cJSON *j;

	log_init("un\"it\n", true, LOG_INFO, out);
	log_info("m");
	j = parse_line();
	cr_assert(eq(str, (char *)field(j, "prog"), "un\"it\n"));
	cJSON_Delete(j);
}

Test(log, json_longest_escaped_message_still_ends_in_one_newline)
{
	/* Every '"' doubles when escaped: a message at the message maximum overflows the line
	 * buffer. The event must still be one whole line. */
	char *msg = malloc(LOG_MSG_MAX + 1);
	const char *s;

	cr_assert(ne(ptr, msg, NULL));
	memset(msg, '"', LOG_MSG_MAX);
	msg[LOG_MSG_MAX] = '\0';
	log_init("unit", true, LOG_INFO, out);
	log_info("%s", msg);
	free(msg);
	s = output();
	cr_assert(gt(sz, strlen(s), (size_t)0));
	cr_assert(eq(int, count_char(s, '\n'), 1), "one line");
	cr_assert(eq(chr, s[strlen(s) - 1], '\n'), "the line ends in a newline (length %zu)",
		  strlen(s));
}

Test(log, json_control_char_flood_still_ends_in_one_newline)
{
	char *msg = malloc(LOG_MSG_MAX + 1);
	const char *s;

	cr_assert(ne(ptr, msg, NULL));
	memset(msg, '\n', LOG_MSG_MAX);
	msg[LOG_MSG_MAX] = '\0';
	log_init("unit", true, LOG_INFO, out);
	log_info("%s", msg);
	free(msg);
	s = output();
	cr_assert(eq(int, count_char(s, '\n'), 1), "one line");
	cr_assert(eq(chr, s[strlen(s) - 1], '\n'), "the line ends in a newline (length %zu)",
		  strlen(s));
}

Test(log, message_over_the_maximum_is_replaced_not_dropped)
{
	char *msg = malloc(LOG_MSG_MAX + 2);
	cJSON *j;

	cr_assert(ne(ptr, msg, NULL));
	memset(msg, 'a', LOG_MSG_MAX + 1);
	msg[LOG_MSG_MAX + 1] = '\0';
	log_init("unit", true, LOG_INFO, out);
	log_info("%s", msg);
	free(msg);
	j = parse_line();
	cr_assert(gt(sz, strlen(field(j, "msg")), (size_t)0));
	cr_assert(le(sz, strlen(field(j, "msg")), (size_t)LOG_MSG_MAX));
	cJSON_Delete(j);
}

Test(log, text_line_has_ts_level_prog_and_message)
{
	const char *s;
	char want[128];

	log_init("unit", false, LOG_INFO, out);
	log_warn("disk %d%% full", 93);
	s = output();
	cr_assert(eq(int, count_char(s, '\n'), 1), "%s", s);
	cr_assert(gt(sz, strlen(s), (size_t)RFC3339_LEN));
	cr_assert(eq(chr, s[RFC3339_LEN - 1], 'Z'), "%s", s);
	snprintf(want, sizeof(want), " warn unit: disk 93%% full\n");
	cr_assert(eq(str, (char *)s + RFC3339_LEN, want));
}

Test(log, text_replaces_newlines_and_carriage_returns)
{
	const char *s;

	log_init("unit", false, LOG_INFO, out);
	log_info("a\nb\r\nc");
	s = output();
	cr_assert(eq(int, count_char(s, '\n'), 1), "%s", s);
	cr_assert(eq(ptr, strchr(s, '\r'), NULL));
	cr_assert(ne(ptr, strstr(s, "a b  c\n"), NULL), "%s", s);
}

Test(log, messages_below_minimum_level_are_dropped)
{
	log_init("unit", true, LOG_WARN, out);
	log_debug("d");
	log_info("i");
	cr_assert(eq(str, (char *)output(), ""));
	log_warn("w");
	log_error("e");
	cr_assert(eq(int, count_char(output(), '\n'), 2), "%s", output());
	cr_assert(ne(ptr, strstr(output(), "\"msg\":\"w\""), NULL), "%s", output());
	cr_assert(ne(ptr, strstr(output(), "\"msg\":\"e\""), NULL), "%s", output());
}

Test(log, level_parse_round_trips_and_rejects_others)
{
	cr_assert(eq(int, log_level_parse("debug"), LOG_DEBUG));
	cr_assert(eq(int, log_level_parse("info"), LOG_INFO));
	cr_assert(eq(int, log_level_parse("warn"), LOG_WARN));
	cr_assert(eq(int, log_level_parse("error"), LOG_ERROR));
	cr_assert(eq(int, log_level_parse("warning"), -1));
	cr_assert(eq(int, log_level_parse("INFO"), -1));
	cr_assert(eq(int, log_level_parse(""), -1));
}
