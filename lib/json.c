#include "berth.h"
#include "json.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cJSON is lenient where the API must not be: it decodes \u0000 into a NUL that silently cuts
 * the string, keeps raw NUL and control bytes inside strings, and skips any byte <= 0x20 as
 * whitespace. Before parsing, overwrite each such byte (and each \u0000 escape) with 0xff,
 * which is never valid UTF-8: inside a string the UTF-8 check then fails naming its field,
 * outside one cJSON fails to parse. JSON whitespace stays: space, tab, CR, LF. */
static void json_mark_invalid(char *s, size_t len)
{
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 && (in_string || (c != ' ' && c != '\t' && c != '\r' && c != '\n'))) {
			s[i] = (char)0xff;
		} else if (!in_string) {
			in_string = c == '"';
		} else if (c == '"') {
			in_string = false;
		} else if (c == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0) {
				memset(s + i, 0xff, 6);
				i += 5;
			} else if ((unsigned char)s[i + 1] >= 0x20) {
				i++; /* skip the escaped character, \" and \\ included */
			}
		}
	}
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A name two members of object o share (the first in sorted order), or NULL. Sorted, not each
 * against each: a 1 MiB body holds 100,000 members, which pairwise would be 5e9 comparisons,
 * seconds of CPU that anyone could ask of /auth/login. */
static const char *json_duplicate(const cJSON *o)
{
	const char *dup = NULL, **v;
	const cJSON *c;
	size_t n = 0, k = 0;

	for (c = o->child; c; c = c->next)
		n++;
	if (n < 2)
		return NULL;
	v = malloc(n * sizeof(*v));
	if (!v)
		abort();
	for (c = o->child; c; c = c->next)
		v[k++] = c->string;
	qsort(v, n, sizeof(*v), by_name);
	for (size_t i = 1; i < n && !dup; i++)
		if (strcmp(v[i - 1], v[i]) == 0)
			dup = v[i];
	free(v);
	return dup;
}

/* Invalid UTF-8 (NUL and control bytes included, see json_mark_invalid) or an object with two
 * members of one name: each is an error naming where it is, as "env_config[2].env_value". */
static int json_check_tree(const cJSON *item, const char *path, struct berr *e)
{
	char sub[ERR_FIELD_MAX];
	const char *dup;
	const cJSON *c;
	int i = 0, rc;

	if (cJSON_IsString(item)) {
		if (!json_utf8_valid(item->valuestring, strlen(item->valuestring)))
			return berr_set(e, B_EINVAL, path,
					"%s must be valid UTF-8 without NUL characters", path);
		return B_OK;
	}
	if (cJSON_IsObject(item)) {
		/* names first: an error names the duplicate, which must be text */
		for (c = item->child; c; c = c->next)
			if (!json_utf8_valid(c->string, strlen(c->string)))
				return berr_set(e, B_EINVAL, path, "a member name is not valid UTF-8");
		if ((dup = json_duplicate(item))) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", dup);
			return berr_set(e, B_EINVAL, sub, "%s appears more than once", sub);
		}
	}
	for (c = item->child; c; c = c->next, i++) {
		if (cJSON_IsObject(item))
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", c->string);
		else
			snprintf(sub, sizeof(sub), "%s[%d]", path, i);
		if ((rc = json_check_tree(c, sub, e)))
			return rc;
	}
	return B_OK;
}

void json_wipe(cJSON *item)
{
	for (; item; item = item->next) {
		if (item->string && !(item->type & cJSON_StringIsConst))
			sodium_memzero(item->string, strlen(item->string));
		if (item->type & cJSON_IsReference)
			continue; /* not this tree's memory */
		if (cJSON_IsString(item) && item->valuestring)
			sodium_memzero(item->valuestring, strlen(item->valuestring));
		json_wipe(item->child);
	}
}

int json_parse(char *body, size_t len, cJSON **out, struct berr *e)
{
	const char *end = NULL;
	cJSON *root;
	int rc;

	*out = NULL;
	if (len == 0)
		return berr_set(e, B_EINVAL, "", "the request body is empty; a JSON object is expected");
	json_mark_invalid(body, len);
	root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!root)
		return berr_set(e, B_EINVAL, "", "the request body is not valid JSON (near byte %zu)",
				end ? (size_t)(end - body) : 0);
	while (end && (size_t)(end - body) < len &&
	       (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end && (size_t)(end - body) < len) {
		json_wipe(root);
		cJSON_Delete(root);
		return berr_set(e, B_EINVAL, "", "unexpected data after the JSON value (byte %zu)",
				(size_t)(end - body));
	}
	rc = json_check_tree(root, "", e);
	if (rc) {
		json_wipe(root);
		cJSON_Delete(root);
		return rc;
	}
	*out = root;
	return B_OK;
}

int json_parse_object(char *body, size_t len, cJSON **out, struct berr *e)
{
	int rc = json_parse(body, len, out, e);

	if (rc)
		return rc;
	if (!cJSON_IsObject(*out)) {
		json_wipe(*out);
		cJSON_Delete(*out);
		*out = NULL;
		return berr_set(e, B_EINVAL, "", "the request body must be a JSON object");
	}
	return B_OK;
}

bool json_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len) /* the sequence runs past the end */
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong forms, UTF-16 surrogates and code points past U+10FFFF */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

size_t json_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int json_only_keys(const cJSON *obj, const char *const allowed[], const char *where,
		   struct berr *e)
{
	for (const cJSON *c = obj->child; c; c = c->next) {
		size_t i;

		for (i = 0; allowed[i]; i++)
			if (strcmp(c->string, allowed[i]) == 0)
				break;
		if (!allowed[i]) {
			char field[ERR_FIELD_MAX];

			snprintf(field, sizeof(field), "%s%s", where, c->string);
			return berr_set(e, B_EINVAL, field, "unknown field %s", field);
		}
	}
	return B_OK;
}

int json_check_string(const cJSON *item, const char *field, size_t min, size_t max,
		      struct berr *e)
{
	size_t n;

	if (!cJSON_IsString(item))
		return berr_set(e, B_EINVAL, field, "%s must be a string", field);
	n = json_utf8_len(item->valuestring);
	if (n < min)
		return berr_set(e, B_EINVAL, field, min == 1 ? "%s must not be empty" :
				"%s must be at least %zu characters", field, min);
	if (n > max)
		return berr_set(e, B_EINVAL, field, "%s must be at most %zu characters", field, max);
	return B_OK;
}

int json_get_string(const cJSON *obj, const char *name, const char *field, bool required, size_t min,
		size_t max, const char **out, struct berr *e)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	int rc;

	*out = NULL;
	if (!item || cJSON_IsNull(item)) {
		if (required)
			return berr_set(e, B_EINVAL, field, "%s is required", field);
		return B_OK;
	}
	rc = json_check_string(item, field, min, max, e);
	if (rc)
		return rc;
	*out = item->valuestring;
	return B_OK;
}

int json_get_int(const cJSON *obj, const char *name, bool required, long min, long max,
	     bool *present, long *out, struct berr *e)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
	double d;

	*present = false;
	if (!item || cJSON_IsNull(item)) {
		if (required)
			return berr_set(e, B_EINVAL, name, "%s is required", name);
		return B_OK;
	}
	if (!cJSON_IsNumber(item))
		return berr_set(e, B_EINVAL, name, "%s must be an integer", name);
	d = item->valuedouble;
	if (!isfinite(d) || d != floor(d))
		return berr_set(e, B_EINVAL, name, "%s must be an integer", name);
	/* (double)LONG_MAX rounds up to 2^63: compare against 2^63 before any cast */
	if (d >= 0x1p63 || d < -0x1p63 || (long)d < min || (long)d > max)
		return berr_set(e, B_EINVAL, name, "%s must be between %ld and %ld", name, min, max);
	*out = (long)d;
	*present = true;
	return B_OK;
}

int json_get_array(const cJSON *obj, const char *name, size_t max, const cJSON **out, struct berr *e)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = NULL;
	if (!item || cJSON_IsNull(item))
		return B_OK;
	if (!cJSON_IsArray(item))
		return berr_set(e, B_EINVAL, name, "%s must be an array", name);
	if ((size_t)cJSON_GetArraySize(item) > max)
		return berr_set(e, B_EINVAL, name, "%s must have at most %zu entries", name, max);
	*out = item;
	return B_OK;
}

char *json_print(const cJSON *item)
{
	char *s = cJSON_PrintUnformatted(item);

	if (!s)
		abort();
	return s;
}
