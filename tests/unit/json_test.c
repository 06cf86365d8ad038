/* json_test.c: strict request JSON (lib/json.c): the parse that rejects duplicate keys, NUL
 * escapes and invalid UTF-8, and the getters that check type and length and name the field. */
#include "berth.h"
#include "json.h"
#include "berth_limits.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* json_parse writes into its buffer: hand it a private copy of exactly len bytes. */
static int parse_n(const char *text, size_t len, bool object, cJSON **out, struct berr *e)
{
	char *buf = malloc(len + 1);
	int rc;

	cr_assert(not(eq(ptr, buf, NULL)));
	memcpy(buf, text, len);
	buf[len] = '\0';
	rc = object ? json_parse_object(buf, len, out, e) : json_parse(buf, len, out, e);
	free(buf);
	return rc;
}

/* Literals may hold NUL bytes: their length is sizeof - 1, not strlen. */
#define PARSE(lit, out, e) parse_n((lit), sizeof(lit) - 1, false, (out), (e))
#define PARSE_OBJECT(lit, out, e) parse_n((lit), sizeof(lit) - 1, true, (out), (e))

/* A 400 naming want_field, and no tree left behind. */
#define assert_rejected(rc, e, want_field)                                                      \
	do {                                                                                     \
		cr_assert(eq(int, (rc), B_EINVAL), "expected B_EINVAL, got %d", (rc));           \
		cr_assert(eq(int, (e).status, 400), "expected status 400");                     \
		cr_assert(eq(str, (e).field, (char *)(want_field)), "wrong field named");       \
	} while (0)

#define assert_parse_rejected(lit, want_field)                                                  \
	do {                                                                                     \
		struct berr e_ = {0};                                                            \
		cJSON *root_ = NULL;                                                             \
		int rc_ = PARSE(lit, &root_, &e_);                                               \
		bool tree_ = root_ != NULL;                                                      \
		cJSON_Delete(root_);                                                             \
		assert_rejected(rc_, e_, want_field);                                            \
		cr_assert(not(tree_), "no tree may be returned on error");                      \
	} while (0)

#define assert_parse_accepted(lit)                                                              \
	do {                                                                                     \
		struct berr e_ = {0};                                                            \
		cJSON *root_ = NULL;                                                             \
		int rc_ = PARSE(lit, &root_, &e_);                                               \
		cr_assert(eq(int, rc_, B_OK), "rejected: %s (field %s)", e_.message, e_.field);  \
		cr_assert(not(eq(ptr, root_, NULL)));                                            \
		cJSON_Delete(root_);                                                             \
	} while (0)

/* A malloc'd string of n copies of the UTF-8 sequence unit. */
static char *repeat(const char *unit, size_t n)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * n + 1);

	cr_assert(not(eq(ptr, s, NULL)));
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

/* ---- json_parse / json_parse_object: the envelope ---- */

Test(json, empty_body_is_rejected)
{
	struct berr e = {0};
	cJSON *root = NULL;
	char buf[1] = "";

	assert_rejected(json_parse(buf, 0, &root, &e), e, "");
	cr_assert(eq(ptr, root, NULL));
}

Test(json, whitespace_only_body_is_rejected)
{
	assert_parse_rejected(" \r\n\t", "");
}

Test(json, non_json_body_is_rejected)
{
	assert_parse_rejected("service_slug=abc", "");
}

Test(json, truncated_object_is_rejected)
{
	assert_parse_rejected("{\"a\":1", "");
}

Test(json, trailing_garbage_after_object_is_rejected)
{
	assert_parse_rejected("{\"a\":1} x", "");
}

Test(json, second_value_after_object_is_rejected)
{
	assert_parse_rejected("{}{}", "");
}

Test(json, trailing_whitespace_is_accepted)
{
	assert_parse_accepted("{\"a\":1} \r\n\t");
}

Test(json, trailing_nul_byte_is_rejected)
{
	/* a NUL byte is not JSON whitespace: it is data after the value */
	assert_parse_rejected("{\"a\":1}\0", "");
}

Test(json, leading_control_byte_is_rejected)
{
	assert_parse_rejected("\x01{\"a\":1}", "");
}

Test(json, parse_accepts_a_top_level_array)
{
	struct berr e = {0};
	cJSON *root = NULL;

	cr_assert(eq(int, PARSE("[1,2]", &root, &e), B_OK));
	cr_assert(cJSON_IsArray(root), "expected an array at the top");
	cJSON_Delete(root);
}

Test(json, parse_object_accepts_an_object)
{
	struct berr e = {0};
	cJSON *root = NULL;

	cr_assert(eq(int, PARSE_OBJECT("{\"a\":\"b\"}", &root, &e), B_OK));
	cr_assert(cJSON_IsObject(root));
	cr_assert(eq(str, cJSON_GetObjectItemCaseSensitive(root, "a")->valuestring, "b"));
	cJSON_Delete(root);
}

Test(json, parse_object_rejects_a_top_level_array)
{
	struct berr e = {0};
	cJSON *root = NULL;

	assert_rejected(PARSE_OBJECT("[{\"a\":1}]", &root, &e), e, "");
	cr_assert(eq(ptr, root, NULL));
}

Test(json, parse_object_rejects_a_top_level_string)
{
	struct berr e = {0};
	cJSON *root = NULL;

	assert_rejected(PARSE_OBJECT("\"{}\"", &root, &e), e, "");
	cr_assert(eq(ptr, root, NULL));
}

Test(json, parse_object_rejects_null)
{
	struct berr e = {0};
	cJSON *root = NULL;

	assert_rejected(PARSE_OBJECT("null", &root, &e), e, "");
	cr_assert(eq(ptr, root, NULL));
}

/* ---- duplicate keys ---- */

Test(json, duplicate_top_level_key_is_rejected_naming_it)
{
	assert_parse_rejected("{\"a\":1,\"b\":2,\"a\":3}", "a");
}

Test(json, duplicate_nested_key_is_rejected_naming_its_path)
{
	assert_parse_rejected("{\"env_config\":[{\"env_name\":\"A\",\"env_value\":\"1\","
			      "\"env_name\":\"B\"}]}",
			      "env_config[0].env_name");
}

Test(json, duplicate_key_in_a_later_array_entry_names_its_index)
{
	assert_parse_rejected("{\"env_config\":[{\"env_name\":\"A\"},"
			      "{\"env_name\":\"B\",\"env_name\":\"C\"}]}",
			      "env_config[1].env_name");
}

Test(json, same_key_in_different_objects_is_accepted)
{
	assert_parse_accepted("{\"a\":{\"x\":1},\"b\":{\"x\":2},\"l\":[{\"x\":1},{\"x\":2}]}");
}

Test(json, keys_differing_only_in_case_are_not_duplicates)
{
	assert_parse_accepted("{\"a\":1,\"A\":2}");
}

/* A body as large as any endpoint takes, of members only, checked whole: a duplicate far from
 * its twin is still found. (What sorting bought, 11.4 s of CPU down to 0.18 s for this test,
 * was measured by hand: make test asserts no times.) */
Test(json, a_one_mib_object_of_members_is_checked_whole)
{
	enum { N = 90000, CAP = 1024 * 1024 };
	char *text = malloc(CAP);
	struct berr e;
	cJSON *root;
	size_t n;

	cr_assert(text != NULL);
	for (int last = 0; last <= 1; last++) {
		n = 0;
		text[n++] = '{';
		for (int i = 0; i < N; i++)
			n += (size_t)snprintf(text + n, CAP - n, "%s\"m%d\":0", i ? "," : "",
					      last && i == N - 1 ? 17 : i);
		n += (size_t)snprintf(text + n, CAP - n, "}");
		cr_assert(n < CAP - 1);
		memset(&e, 0, sizeof(e));
		root = NULL;
		if (last) {
			assert_rejected(parse_n(text, n, true, &root, &e), e, "m17");
		} else {
			cr_assert(eq(int, parse_n(text, n, true, &root, &e), B_OK), "%s", e.message);
			cr_assert(eq(int, cJSON_GetArraySize(root), N));
		}
		cJSON_Delete(root);
	}
	free(text);
}

Test(json, wipe_zeroes_every_name_and_string_in_place)
{
	char text[] = "{\"password\":\"hunter2\",\"n\":[\"s3cret\",{\"deep\":\"x\"}],\"k\":1}";
	const char *pw, *s, *deep, *name;
	size_t pwn, sn;
	cJSON *root = NULL;
	struct berr e = {0};

	cr_assert(eq(int, json_parse_object(text, strlen(text), &root, &e), B_OK), "%s", e.message);
	pw = cJSON_GetObjectItem(root, "password")->valuestring;
	s = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "n"), 0)->valuestring;
	deep = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "n"), 1), "deep")
		       ->valuestring;
	name = cJSON_GetObjectItem(root, "password")->string;
	pwn = strlen(pw);
	sn = strlen(s);
	json_wipe(root);
	for (size_t i = 0; i < pwn; i++)
		cr_assert(eq(int, pw[i], 0), "password byte %zu", i);
	for (size_t i = 0; i < sn; i++)
		cr_assert(eq(int, s[i], 0), "array string byte %zu", i);
	cr_assert(eq(int, deep[0], 0));
	cr_assert(eq(int, name[0], 0), "names too");
	cJSON_Delete(root);
}

/* ---- NUL characters ---- */

Test(json, nul_escape_in_a_string_is_rejected_naming_the_field)
{
	assert_parse_rejected("{\"a\":\"x\\u0000y\"}", "a");
}

Test(json, nul_escape_alone_in_a_string_is_rejected)
{
	assert_parse_rejected("{\"a\":\"\\u0000\"}", "a");
}

Test(json, nul_escape_in_a_nested_string_names_its_path)
{
	assert_parse_rejected("{\"env_config\":[{\"env_name\":\"A\",\"env_value\":\"\\u0000\"}]}",
			      "env_config[0].env_value");
}

Test(json, nul_escape_in_an_array_of_strings_names_the_index)
{
	assert_parse_rejected("{\"required_labels\":[\"gpu\",\"a\\u0000\"]}", "required_labels[1]");
}

Test(json, nul_escape_in_a_member_name_is_rejected)
{
	assert_parse_rejected("{\"a\\u0000b\":1}", "");
}

Test(json, escaped_backslash_then_u0000_text_is_not_a_nul)
{
	struct berr e = {0};
	cJSON *root = NULL;

	/* JSON text "\\u0000": an escaped backslash, then the six characters u0000 */
	cr_assert(eq(int, PARSE("{\"a\":\"\\\\u0000\"}", &root, &e), B_OK), "rejected: %s",
		  e.message);
	cr_assert(eq(str, cJSON_GetObjectItemCaseSensitive(root, "a")->valuestring, "\\u0000"));
	cJSON_Delete(root);
}

Test(json, escaped_backslash_then_nul_escape_is_rejected)
{
	/* JSON text "\\\u0000": an escaped backslash, then a real NUL escape */
	assert_parse_rejected("{\"a\":\"\\\\\\u0000\"}", "a");
}

Test(json, escaped_quote_then_nul_escape_is_rejected)
{
	assert_parse_rejected("{\"a\":\"\\\"\\u0000\"}", "a");
}

Test(json, u0000_text_outside_any_escape_is_accepted)
{
	assert_parse_accepted("{\"a\":\"u0000\",\"u0000\":\"\\\\\"}");
}

Test(json, other_u_escapes_are_decoded)
{
	struct berr e = {0};
	cJSON *root = NULL;

	cr_assert(eq(int, PARSE("{\"a\":\"\\u00e9\\u0001\"}", &root, &e), B_OK));
	cr_assert(eq(str, cJSON_GetObjectItemCaseSensitive(root, "a")->valuestring, "\xc3\xa9\x01"));
	cJSON_Delete(root);
}

Test(json, raw_nul_byte_inside_a_string_is_rejected_naming_the_field)
{
	/* a raw NUL would silently cut the string at "x" */
	assert_parse_rejected("{\"a\":\"x\0y\"}", "a");
}

/* ---- UTF-8 in strings ---- */

Test(json, valid_two_byte_utf8_is_accepted)
{
	assert_parse_accepted("{\"a\":\"caf\xc3\xa9\"}");
}

Test(json, valid_three_byte_utf8_is_accepted)
{
	assert_parse_accepted("{\"a\":\"\xe2\x82\xac\"}");
}

Test(json, valid_four_byte_utf8_is_accepted)
{
	assert_parse_accepted("{\"a\":\"\xf0\x9f\x98\x80\"}");
}

Test(json, utf8_in_a_member_name_is_accepted)
{
	assert_parse_accepted("{\"caf\xc3\xa9\":1}");
}

Test(json, overlong_two_byte_nul_is_rejected_naming_the_field)
{
	assert_parse_rejected("{\"a\":\"x\xc0\x80\"}", "a");
}

Test(json, overlong_two_byte_slash_is_rejected)
{
	assert_parse_rejected("{\"a\":\"\xc1\xaf\"}", "a");
}

Test(json, overlong_three_byte_form_is_rejected)
{
	assert_parse_rejected("{\"a\":\"\xe0\x80\xaf\"}", "a");
}

Test(json, overlong_four_byte_form_is_rejected)
{
	assert_parse_rejected("{\"a\":\"\xf0\x8f\xbf\xbf\"}", "a");
}

Test(json, lone_continuation_byte_is_rejected)
{
	assert_parse_rejected("{\"a\":\"x\x80y\"}", "a");
}

Test(json, utf16_surrogate_encoded_as_utf8_is_rejected)
{
	assert_parse_rejected("{\"a\":\"\xed\xa0\x80\"}", "a");
}

Test(json, truncated_sequence_at_the_end_of_a_string_is_rejected)
{
	assert_parse_rejected("{\"a\":\"x\xe2\x82\"}", "a");
}

Test(json, truncated_sequence_before_ascii_is_rejected)
{
	assert_parse_rejected("{\"a\":\"\xc3x\"}", "a");
}

Test(json, code_point_above_10ffff_is_rejected)
{
	assert_parse_rejected("{\"a\":\"\xf4\x90\x80\x80\"}", "a");
}

Test(json, bytes_f8_to_ff_are_rejected)
{
	assert_parse_rejected("{\"a\":\"\xf8\x88\x80\x80\x80\"}", "a");
	assert_parse_rejected("{\"a\":\"\xff\"}", "a");
}

Test(json, invalid_utf8_in_a_nested_string_names_its_path)
{
	assert_parse_rejected("{\"volume_config\":[{\"host_path\":\"/a\"},"
			      "{\"host_path\":\"/\xc0\x80\"}]}",
			      "volume_config[1].host_path");
}

Test(json, invalid_utf8_in_a_member_name_is_rejected)
{
	assert_parse_rejected("{\"a\xff\":1}", "");
}

/* The duplicate would be named in the error: a name that is not text is refused first. */
Test(json, a_duplicate_name_that_is_not_utf8_is_refused_as_not_utf8)
{
	assert_parse_rejected("{\"ok\":{\"a\xff\":1,\"a\xff\":2}}", "ok");
	assert_parse_rejected("{\"a\\u0000\":1,\"a\\u0000\":2}", "");
}

Test(json, deeply_nested_arrays_are_rejected_without_crashing)
{
	size_t depth = 100000;
	char *body = malloc(2 * depth);
	struct berr e = {0};
	cJSON *root = NULL;

	cr_assert(not(eq(ptr, body, NULL)));
	memset(body, '[', depth);
	memset(body + depth, ']', depth);
	assert_rejected(json_parse(body, 2 * depth, &root, &e), e, "");
	cr_assert(eq(ptr, root, NULL));
	free(body);
}

Test(json, string_near_body_max_is_accepted)
{
	size_t n = BODY_MAX - 16;
	char *body = malloc(n + 16);
	struct berr e = {0};
	cJSON *root = NULL;
	int len;

	cr_assert(not(eq(ptr, body, NULL)));
	len = snprintf(body, 16, "{\"a\":\"");
	memset(body + len, 'x', n);
	memcpy(body + len + n, "\"}", 2);
	cr_assert(eq(int, json_parse_object(body, (size_t)len + n + 2, &root, &e), B_OK));
	cr_assert(eq(sz, strlen(cJSON_GetObjectItemCaseSensitive(root, "a")->valuestring), n));
	cJSON_Delete(root);
	free(body);
}

/* ---- json_utf8_valid / json_utf8_len ---- */

Test(json, utf8_valid_accepts_the_edges_of_each_range)
{
	static const char *const ok[] = {
		"",
		"\x7f",             /* U+007F, last one-byte */
		"\xc2\x80",         /* U+0080, first two-byte */
		"\xdf\xbf",         /* U+07FF */
		"\xe0\xa0\x80",     /* U+0800, first three-byte */
		"\xed\x9f\xbf",     /* U+D7FF, just below the surrogates */
		"\xee\x80\x80",     /* U+E000, just above them */
		"\xef\xbf\xbf",     /* U+FFFF */
		"\xf0\x90\x80\x80", /* U+10000, first four-byte */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF, the last code point */
	};

	for (size_t i = 0; i < B_ARRAY_LEN(ok); i++)
		cr_assert(json_utf8_valid(ok[i], strlen(ok[i])), "case %zu should be valid", i);
}

Test(json, utf8_valid_rejects_the_bytes_just_outside_each_range)
{
	static const char *const bad[] = {
		"\xc0\x80",         /* overlong NUL */
		"\xc1\xbf",         /* overlong U+007F */
		"\xe0\x9f\xbf",     /* overlong U+07FF */
		"\xed\xa0\x80",     /* U+D800 */
		"\xed\xbf\xbf",     /* U+DFFF */
		"\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\x80",             /* lone continuation */
		"\xbf",
		"\xc3",             /* truncated at the end */
		"\xe2\x82",
		"\xf0\x9f\x98",
		"\xf8\x88\x80\x80\x80",
		"\xfe",
		"\xff",
	};

	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++)
		cr_assert(not(json_utf8_valid(bad[i], strlen(bad[i]))), "case %zu should be invalid",
			  i);
}

Test(json, utf8_valid_rejects_an_embedded_nul_byte)
{
	cr_assert(not(json_utf8_valid("a\0b", 3)));
}

Test(json, utf8_valid_checks_only_len_bytes)
{
	/* the truncated sequence lies past len */
	cr_assert(json_utf8_valid("ab\xe2\x82", 2));
	cr_assert(not(json_utf8_valid("ab\xe2\x82\xac", 4)));
	cr_assert(json_utf8_valid("ab\xe2\x82\xac", 5));
}

Test(json, utf8_len_counts_code_points)
{
	cr_assert(eq(sz, json_utf8_len(""), 0));
	cr_assert(eq(sz, json_utf8_len("abc"), 3));
	cr_assert(eq(sz, json_utf8_len("\xc3\xa9"), 1));
	cr_assert(eq(sz, json_utf8_len("\xe2\x82\xac"), 1));
	cr_assert(eq(sz, json_utf8_len("\xf0\x9f\x98\x80"), 1));
	cr_assert(eq(sz, json_utf8_len("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z"), 5));
}

/* ---- json_only_keys ---- */

static const char *const allowed_keys[] = {"env_name", "env_value", NULL};

Test(json, only_keys_accepts_allowed_keys)
{
	cJSON *o = cJSON_Parse("{\"env_name\":\"A\",\"env_value\":\"1\"}");
	struct berr e = {0};

	cr_assert(eq(int, json_only_keys(o, allowed_keys, "", &e), B_OK));
	cJSON_Delete(o);
}

Test(json, only_keys_accepts_an_empty_object)
{
	cJSON *o = cJSON_CreateObject();
	struct berr e = {0};

	cr_assert(eq(int, json_only_keys(o, allowed_keys, "", &e), B_OK));
	cJSON_Delete(o);
}

Test(json, only_keys_rejects_an_unknown_key_naming_it)
{
	cJSON *o = cJSON_Parse("{\"env_name\":\"A\",\"foo\":1}");
	struct berr e = {0};

	assert_rejected(json_only_keys(o, allowed_keys, "", &e), e, "foo");
	cJSON_Delete(o);
}

Test(json, only_keys_prefixes_the_field_with_where)
{
	cJSON *o = cJSON_Parse("{\"foo\":1}");
	struct berr e = {0};

	assert_rejected(json_only_keys(o, allowed_keys, "env_config[2].", &e), e,
			"env_config[2].foo");
	cJSON_Delete(o);
}

Test(json, only_keys_is_case_sensitive)
{
	cJSON *o = cJSON_Parse("{\"Env_Name\":\"A\"}");
	struct berr e = {0};

	assert_rejected(json_only_keys(o, allowed_keys, "", &e), e, "Env_Name");
	cJSON_Delete(o);
}

Test(json, only_keys_rejects_a_prefix_of_an_allowed_key)
{
	cJSON *o = cJSON_Parse("{\"env\":\"A\"}");
	struct berr e = {0};

	assert_rejected(json_only_keys(o, allowed_keys, "", &e), e, "env");
	cJSON_Delete(o);
}

/* ---- json_get_string ---- */

Test(json, get_string_returns_the_value)
{
	cJSON *o = cJSON_Parse("{\"n\":\"abc\"}");
	struct berr e = {0};
	const char *s = NULL;

	cr_assert(eq(int, json_get_string(o, "n", "n", true, 1, 10, &s, &e), B_OK));
	cr_assert(eq(str, (char *)s, "abc"));
	cJSON_Delete(o);
}

Test(json, get_string_absent_optional_leaves_null)
{
	cJSON *o = cJSON_Parse("{}");
	struct berr e = {0};
	const char *s = "sentinel";

	cr_assert(eq(int, json_get_string(o, "n", "n", false, 1, 10, &s, &e), B_OK));
	cr_assert(eq(ptr, (void *)s, NULL));
	cJSON_Delete(o);
}

Test(json, get_string_null_optional_leaves_null)
{
	cJSON *o = cJSON_Parse("{\"n\":null}");
	struct berr e = {0};
	const char *s = "sentinel";

	cr_assert(eq(int, json_get_string(o, "n", "n", false, 1, 10, &s, &e), B_OK));
	cr_assert(eq(ptr, (void *)s, NULL));
	cJSON_Delete(o);
}

Test(json, get_string_absent_required_is_rejected_naming_the_field)
{
	cJSON *o = cJSON_Parse("{}");
	struct berr e = {0};
	const char *s;

	assert_rejected(json_get_string(o, "n", "env_config[0].n", true, 1, 10, &s, &e), e,
			"env_config[0].n");
	cJSON_Delete(o);
}

Test(json, get_string_null_required_is_rejected)
{
	cJSON *o = cJSON_Parse("{\"n\":null}");
	struct berr e = {0};
	const char *s;

	assert_rejected(json_get_string(o, "n", "n", true, 1, 10, &s, &e), e, "n");
	cJSON_Delete(o);
}

Test(json, get_string_of_a_wrong_type_is_rejected_naming_the_field)
{
	static const char *const bodies[] = {
		"{\"n\":1}", "{\"n\":true}", "{\"n\":false}", "{\"n\":[\"a\"]}", "{\"n\":{}}",
	};

	for (size_t i = 0; i < B_ARRAY_LEN(bodies); i++) {
		cJSON *o = cJSON_Parse(bodies[i]);
		struct berr e = {0};
		const char *s;

		assert_rejected(json_get_string(o, "n", "the_field", false, 0, 10, &s, &e), e,
				"the_field");
		cJSON_Delete(o);
	}
}

Test(json, get_string_at_max_is_accepted)
{
	char *v = repeat("a", DISPLAY_NAME_MAX);
	cJSON *o = cJSON_CreateObject();
	struct berr e = {0};
	const char *s;

	cJSON_AddStringToObject(o, "n", v);
	cr_assert(eq(int, json_get_string(o, "n", "n", false, 0, DISPLAY_NAME_MAX, &s, &e), B_OK));
	cJSON_Delete(o);
	free(v);
}

Test(json, get_string_one_above_max_is_rejected)
{
	char *v = repeat("a", DISPLAY_NAME_MAX + 1);
	cJSON *o = cJSON_CreateObject();
	struct berr e = {0};
	const char *s;

	cJSON_AddStringToObject(o, "n", v);
	assert_rejected(json_get_string(o, "n", "n", false, 0, DISPLAY_NAME_MAX, &s, &e), e, "n");
	cJSON_Delete(o);
	free(v);
}

Test(json, get_string_max_counts_two_byte_characters_once)
{
	char *v = repeat("\xc3\xa9", DISPLAY_NAME_MAX); /* 2 * max bytes, max code points */
	cJSON *o = cJSON_CreateObject();
	struct berr e = {0};
	const char *s;

	cJSON_AddStringToObject(o, "n", v);
	cr_assert(eq(int, json_get_string(o, "n", "n", false, 0, DISPLAY_NAME_MAX, &s, &e), B_OK),
		  "%s", e.message);
	cJSON_Delete(o);
	free(v);
}

Test(json, get_string_of_max_plus_one_two_byte_characters_is_rejected)
{
	char *v = repeat("\xc3\xa9", DISPLAY_NAME_MAX + 1);
	cJSON *o = cJSON_CreateObject();
	struct berr e = {0};
	const char *s;

	cJSON_AddStringToObject(o, "n", v);
	assert_rejected(json_get_string(o, "n", "n", false, 0, DISPLAY_NAME_MAX, &s, &e), e, "n");
	cJSON_Delete(o);
	free(v);
}

Test(json, get_string_max_counts_four_byte_characters_once)
{
	char *v = repeat("\xf0\x9f\x98\x80", DISPLAY_NAME_MAX);
	cJSON *o = cJSON_CreateObject();
	struct berr e = {0};
	const char *s;

	cJSON_AddStringToObject(o, "n", v);
	cr_assert(eq(int, json_get_string(o, "n", "n", false, 0, DISPLAY_NAME_MAX, &s, &e), B_OK));
	cJSON_Delete(o);
	free(v);
}

Test(json, get_string_at_min_is_accepted)
{
	cJSON *o = cJSON_Parse("{\"n\":\"abc\"}");
	struct berr e = {0};
	const char *s;

	cr_assert(eq(int, json_get_string(o, "n", "n", true, SERVICE_SLUG_MIN, SERVICE_SLUG_MAX, &s,
					  &e),
		     B_OK));
	cJSON_Delete(o);
}

Test(json, get_string_one_below_min_is_rejected)
{
	cJSON *o = cJSON_Parse("{\"n\":\"ab\"}");
	struct berr e = {0};
	const char *s;

	assert_rejected(json_get_string(o, "n", "n", true, SERVICE_SLUG_MIN, SERVICE_SLUG_MAX, &s, &e),
			e, "n");
	cJSON_Delete(o);
}

Test(json, get_string_min_counts_code_points_not_bytes)
{
	cJSON *o = cJSON_Parse("{\"n\":\"\xc3\xa9\xc3\xa9\"}"); /* 4 bytes, 2 code points */
	struct berr e = {0};
	const char *s;

	assert_rejected(json_get_string(o, "n", "n", true, SERVICE_SLUG_MIN, SERVICE_SLUG_MAX, &s, &e),
			e, "n");
	cJSON_Delete(o);
}

Test(json, get_string_empty_with_min_one_is_rejected)
{
	cJSON *o = cJSON_Parse("{\"n\":\"\"}");
	struct berr e = {0};
	const char *s;

	assert_rejected(json_get_string(o, "n", "n", false, 1, 10, &s, &e), e, "n");
	cJSON_Delete(o);
}

Test(json, get_string_empty_with_min_zero_is_accepted)
{
	cJSON *o = cJSON_Parse("{\"n\":\"\"}");
	struct berr e = {0};
	const char *s = NULL;

	cr_assert(eq(int, json_get_string(o, "n", "n", false, 0, 10, &s, &e), B_OK));
	cr_assert(eq(str, (char *)s, ""));
	cJSON_Delete(o);
}

Test(json, get_string_name_is_case_sensitive)
{
	cJSON *o = cJSON_Parse("{\"N\":\"abc\"}");
	struct berr e = {0};
	const char *s;

	assert_rejected(json_get_string(o, "n", "n", true, 1, 10, &s, &e), e, "n");
	cJSON_Delete(o);
}

/* ---- json_get_int ---- */

static int get_int(const char *body, long min, long max, bool required, bool *has, long *v,
		   struct berr *e)
{
	cJSON *o = cJSON_Parse(body);
	int rc;

	cr_assert(not(eq(ptr, o, NULL)), "test body does not parse: %s", body);
	rc = json_get_int(o, "n", required, min, max, has, v, e);
	cJSON_Delete(o);
	return rc;
}

static void int_accepted(long value, long min, long max)
{
	char body[64];
	struct berr e = {0};
	bool has = false;
	long v = 0;

	snprintf(body, sizeof(body), "{\"n\":%ld}", value);
	cr_assert(eq(int, get_int(body, min, max, false, &has, &v, &e), B_OK), "%s rejected: %s",
		  body, e.message);
	cr_assert(has, "%s: present should be true", body);
	cr_assert(eq(long, v, value));
}

static void int_rejected(const char *body, long min, long max)
{
	struct berr e = {0};
	bool has = true;
	long v = 0;

	cr_assert(eq(int, get_int(body, min, max, false, &has, &v, &e), B_EINVAL),
		  "%s should be rejected (got %ld)", body, v);
	cr_assert(eq(int, e.status, 400));
	cr_assert(eq(str, e.field, "n"));
	cr_assert(not(has), "%s: present should be false", body);
}

static void int_value_rejected(long value, long min, long max)
{
	char body[64];

	snprintf(body, sizeof(body), "{\"n\":%ld}", value);
	int_rejected(body, min, max);
}

Test(json, get_int_at_min_is_accepted)
{
	int_accepted(EXPOSED_PORT_MIN, EXPOSED_PORT_MIN, EXPOSED_PORT_MAX);
}

Test(json, get_int_one_below_min_is_rejected)
{
	int_value_rejected(EXPOSED_PORT_MIN - 1, EXPOSED_PORT_MIN, EXPOSED_PORT_MAX);
}

Test(json, get_int_at_max_is_accepted)
{
	int_accepted(EXPOSED_PORT_MAX, EXPOSED_PORT_MIN, EXPOSED_PORT_MAX);
}

Test(json, get_int_one_above_max_is_rejected)
{
	int_value_rejected(EXPOSED_PORT_MAX + 1, EXPOSED_PORT_MIN, EXPOSED_PORT_MAX);
}

Test(json, get_int_negative_bounds_are_honoured)
{
	int_value_rejected(GPU_COUNT_MIN - 1, GPU_COUNT_MIN, GPU_COUNT_MAX);
	int_accepted(GPU_COUNT_MIN, GPU_COUNT_MIN, GPU_COUNT_MAX);
}

Test(json, get_int_fraction_is_rejected)
{
	int_rejected("{\"n\":1.5}", 0, 100);
}

Test(json, get_int_tiny_fraction_is_rejected)
{
	int_rejected("{\"n\":1.0000001}", 0, 100);
}

Test(json, get_int_overflowing_exponent_is_rejected)
{
	int_rejected("{\"n\":1e400}", LONG_MIN, LONG_MAX);
	int_rejected("{\"n\":-1e400}", LONG_MIN, LONG_MAX);
}

Test(json, get_int_huge_finite_number_is_rejected)
{
	int_rejected("{\"n\":1e300}", EXPOSED_PORT_MIN, EXPOSED_PORT_MAX);
	int_rejected("{\"n\":99999999999999999999}", EXPOSED_PORT_MIN, EXPOSED_PORT_MAX);
}

Test(json, get_int_one_above_long_max_is_rejected)
{
	/* 2^63 does not fit a long, even when the range is the whole of long */
	int_rejected("{\"n\":9223372036854775808}", LONG_MIN, LONG_MAX);
}

Test(json, get_int_numeric_string_is_rejected)
{
	int_rejected("{\"n\":\"8\"}", 0, 100);
}

Test(json, get_int_bool_is_rejected)
{
	int_rejected("{\"n\":true}", 0, 100);
	int_rejected("{\"n\":false}", 0, 100);
}

Test(json, get_int_array_and_object_are_rejected)
{
	int_rejected("{\"n\":[1]}", 0, 100);
	int_rejected("{\"n\":{\"n\":1}}", 0, 100);
}

Test(json, get_int_absent_leaves_present_false)
{
	struct berr e = {0};
	bool has = true;
	long v = 42;

	cr_assert(eq(int, get_int("{}", 0, 100, false, &has, &v, &e), B_OK));
	cr_assert(not(has));
	cr_assert(eq(long, v, 42), "an absent value must not be written");
}

Test(json, get_int_null_leaves_present_false)
{
	struct berr e = {0};
	bool has = true;
	long v = 42;

	cr_assert(eq(int, get_int("{\"n\":null}", 0, 100, false, &has, &v, &e), B_OK));
	cr_assert(not(has));
}

Test(json, get_int_absent_required_is_rejected_naming_it)
{
	struct berr e = {0};
	bool has = true;
	long v = 0;

	assert_rejected(get_int("{}", 0, 100, true, &has, &v, &e), e, "n");
	cr_assert(not(has));
}

Test(json, get_int_integral_float_notation_is_accepted)
{
	struct berr e = {0};
	bool has = false;
	long v = 0;

	cr_assert(eq(int, get_int("{\"n\":8e1}", 0, 100, false, &has, &v, &e), B_OK));
	cr_assert(eq(long, v, 80));
}

/* ---- json_get_array ---- */

Test(json, get_array_absent_leaves_null)
{
	cJSON *o = cJSON_Parse("{}");
	struct berr e = {0};
	const cJSON *a = o;

	cr_assert(eq(int, json_get_array(o, "l", REQUIRED_LABELS_MAX, &a, &e), B_OK));
	cr_assert(eq(ptr, (void *)a, NULL));
	cJSON_Delete(o);
}

Test(json, get_array_null_leaves_null)
{
	cJSON *o = cJSON_Parse("{\"l\":null}");
	struct berr e = {0};
	const cJSON *a = o;

	cr_assert(eq(int, json_get_array(o, "l", REQUIRED_LABELS_MAX, &a, &e), B_OK));
	cr_assert(eq(ptr, (void *)a, NULL));
	cJSON_Delete(o);
}

Test(json, get_array_empty_is_accepted)
{
	cJSON *o = cJSON_Parse("{\"l\":[]}");
	struct berr e = {0};
	const cJSON *a = NULL;

	cr_assert(eq(int, json_get_array(o, "l", REQUIRED_LABELS_MAX, &a, &e), B_OK));
	cr_assert(cJSON_IsArray(a));
	cJSON_Delete(o);
}

Test(json, get_array_of_a_wrong_type_is_rejected_naming_it)
{
	static const char *const bodies[] = {
		"{\"l\":{}}", "{\"l\":\"a,b\"}", "{\"l\":1}", "{\"l\":true}",
	};

	for (size_t i = 0; i < B_ARRAY_LEN(bodies); i++) {
		cJSON *o = cJSON_Parse(bodies[i]);
		struct berr e = {0};
		const cJSON *a;

		assert_rejected(json_get_array(o, "l", REQUIRED_LABELS_MAX, &a, &e), e, "l");
		cJSON_Delete(o);
	}
}

static cJSON *array_of(size_t n)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *a = cJSON_AddArrayToObject(o, "l");

	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber((double)i));
	return o;
}

Test(json, get_array_at_max_entries_is_accepted)
{
	cJSON *o = array_of(REQUIRED_LABELS_MAX);
	struct berr e = {0};
	const cJSON *a = NULL;

	cr_assert(eq(int, json_get_array(o, "l", REQUIRED_LABELS_MAX, &a, &e), B_OK));
	cr_assert(eq(int, cJSON_GetArraySize(a), REQUIRED_LABELS_MAX));
	cJSON_Delete(o);
}

Test(json, get_array_one_above_max_entries_is_rejected)
{
	cJSON *o = array_of(REQUIRED_LABELS_MAX + 1);
	struct berr e = {0};
	const cJSON *a;

	assert_rejected(json_get_array(o, "l", REQUIRED_LABELS_MAX, &a, &e), e, "l");
	cJSON_Delete(o);
}

/* ---- the error record ---- */

Test(json, error_record_carries_the_validation_code)
{
	struct berr e = {0};
	cJSON *root = NULL;

	cr_assert(eq(int, PARSE("{\"a\":1,\"a\":1}", &root, &e), B_EINVAL));
	cr_assert(eq(str, (char *)e.code, "validation_failed"));
	cr_assert(not(eq(str, e.message, "")), "the error needs a message for a human");
}
