/* json.h: strict reading of request JSON over cJSON: one parse that rejects duplicate keys,
 * NUL escapes and invalid UTF-8, and getters that check type and length and name the field
 * in the error. What a field means is the caller's business (valid.c, the programs). */
#ifndef BERTH_JSON_H
#define BERTH_JSON_H

#include "berth.h"
#include "err.h"

#include <cjson/cJSON.h>

/* Parses body[0..len) (modified in place: \u0000 escapes are overwritten so that they fail
 * the UTF-8 check of the string that held them). *out is freed with cJSON_Delete. */
int json_parse(char *body, size_t len, cJSON **out, struct berr *e) B_MUST_CHECK;
/* Parses and requires an object at the top. */
int json_parse_object(char *body, size_t len, cJSON **out, struct berr *e) B_MUST_CHECK;

bool json_utf8_valid(const char *s, size_t len);
/* Zeroes every name and string value of the tree (a password, a vault value) in place, before
 * cJSON_Delete hands their memory back. */
void json_wipe(cJSON *item);
/* Unicode code points in a valid UTF-8 string. */
size_t json_utf8_len(const char *s);

/* Every key of obj must be in allowed (NULL-terminated); field names the first other one,
 * prefixed by where ("env_config[2]."), which may be "". */
int json_only_keys(const cJSON *obj, const char *const allowed[], const char *where,
		   struct berr *e) B_MUST_CHECK;

/* A string member: absent or null leaves *out NULL (and fails when required). Its length in
 * code points must lie in [min, max]. field is the name to report. */
int json_get_string(const cJSON *obj, const char *name, const char *field, bool required, size_t min,
		size_t max, const char **out, struct berr *e) B_MUST_CHECK;
/* Checks a cJSON string item the same way. */
int json_check_string(const cJSON *item, const char *field, size_t min, size_t max,
		      struct berr *e) B_MUST_CHECK;
/* An integer member in [min, max]; absent or null leaves *present false. */
int json_get_int(const cJSON *obj, const char *name, bool required, long min, long max,
	     bool *present, long *out, struct berr *e) B_MUST_CHECK;
/* An array member of at most max items; absent or null leaves *out NULL. */
int json_get_array(const cJSON *obj, const char *name, size_t max, const cJSON **out,
	       struct berr *e) B_MUST_CHECK;

/* cJSON_PrintUnformatted that aborts on out of memory; free() the result. */
char *json_print(const cJSON *item);

#endif
