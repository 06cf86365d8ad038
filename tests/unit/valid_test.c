/* valid_test.c: the syntax predicates of lib/valid.c at their boundaries, then odd inputs. */
#include "berth.h"
#include "valid.h"
#include "berth_limits.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdlib.h>
#include <string.h>

/* A malloc'd string: prefix, then fill characters up to n bytes in all, then suffix. */
static char *sized(const char *prefix, char fill, size_t n, const char *suffix)
{
	size_t pl = strlen(prefix), sl = strlen(suffix);
	char *s;

	cr_assert(n >= pl + sl, "sized(): %zu is shorter than prefix and suffix", n);
	s = malloc(n + 1);
	cr_assert(not(eq(ptr, s, NULL)));
	memcpy(s, prefix, pl);
	memset(s + pl, fill, n - pl - sl);
	memcpy(s + n - sl, suffix, sl);
	s[n] = '\0';
	return s;
}

#define assert_pred(pred, s, want)                                                              \
	cr_assert(eq(int, (int)pred(s), (int)(want)), "%s(\"%s\") should be %s", #pred, (s),   \
		  (want) ? "true" : "false")

/* pred on a string of n bytes built by sized() */
#define assert_pred_sized(pred, prefix, fill, n, suffix, want)                                  \
	do {                                                                                     \
		char *s_ = sized((prefix), (fill), (n), (suffix));                               \
		bool got_ = pred(s_);                                                            \
		free(s_);                                                                        \
		cr_assert(eq(int, (int)got_, (int)(want)), "%s of %zu bytes should be %s",      \
			  #pred, (size_t)(n), (want) ? "true" : "false");                        \
	} while (0)

/* ---- valid_service_slug ---- */

Test(valid, slug_of_min_minus_one_chars_is_rejected)
{
	assert_pred_sized(valid_service_slug, "", 'a', SERVICE_SLUG_MIN - 1, "", false);
}

Test(valid, slug_of_min_chars_is_accepted)
{
	assert_pred_sized(valid_service_slug, "", 'a', SERVICE_SLUG_MIN, "", true);
}

Test(valid, slug_of_max_chars_is_accepted)
{
	assert_pred_sized(valid_service_slug, "a", '-', SERVICE_SLUG_MAX, "z", true);
}

Test(valid, slug_of_max_plus_one_chars_is_rejected)
{
	assert_pred_sized(valid_service_slug, "a", 'b', SERVICE_SLUG_MAX + 1, "z", false);
}

Test(valid, slug_empty_is_rejected)
{
	assert_pred(valid_service_slug, "", false);
}

Test(valid, slug_with_leading_hyphen_is_rejected)
{
	assert_pred(valid_service_slug, "-abc", false);
}

Test(valid, slug_with_trailing_hyphen_is_rejected)
{
	assert_pred(valid_service_slug, "abc-", false);
}

Test(valid, slug_with_inner_hyphens_is_accepted)
{
	assert_pred(valid_service_slug, "my--svc-2", true);
}

Test(valid, slug_of_digits_is_accepted)
{
	assert_pred(valid_service_slug, "123", true);
}

Test(valid, slug_with_uppercase_is_rejected)
{
	assert_pred(valid_service_slug, "Abc", false);
	assert_pred(valid_service_slug, "aBc", false);
	assert_pred(valid_service_slug, "abC", false);
}

Test(valid, slug_with_underscore_is_rejected)
{
	assert_pred(valid_service_slug, "my_svc", false);
}

Test(valid, slug_with_dot_or_space_is_rejected)
{
	assert_pred(valid_service_slug, "my.svc", false);
	assert_pred(valid_service_slug, "my svc", false);
}

Test(valid, slug_with_non_ascii_is_rejected)
{
	assert_pred(valid_service_slug, "caf\xc3\xa9s", false);
}

/* ---- valid_label ---- */

Test(valid, label_of_max_chars_is_accepted)
{
	assert_pred_sized(valid_label, "a", '.', LABEL_MAX, "", true);
}

Test(valid, label_of_max_plus_one_chars_is_rejected)
{
	assert_pred_sized(valid_label, "a", 'b', LABEL_MAX + 1, "", false);
}

Test(valid, label_of_one_char_is_accepted)
{
	assert_pred(valid_label, "a", true);
	assert_pred(valid_label, "7", true);
}

Test(valid, label_empty_is_rejected)
{
	assert_pred(valid_label, "", false);
}

Test(valid, label_starting_with_punctuation_is_rejected)
{
	assert_pred(valid_label, ".gpu", false);
	assert_pred(valid_label, "_gpu", false);
	assert_pred(valid_label, "-gpu", false);
}

Test(valid, label_with_inner_dot_underscore_hyphen_is_accepted)
{
	assert_pred(valid_label, "gpu.h100_x-1", true);
	assert_pred(valid_label, "a.", true);
	assert_pred(valid_label, "a_", true);
	assert_pred(valid_label, "a-", true);
}

Test(valid, label_with_uppercase_is_rejected)
{
	assert_pred(valid_label, "GPU", false);
	assert_pred(valid_label, "gPu", false);
}

Test(valid, label_with_other_characters_is_rejected)
{
	assert_pred(valid_label, "gpu,h100", false);
	assert_pred(valid_label, "gpu h100", false);
	assert_pred(valid_label, "gpu/h100", false);
	assert_pred(valid_label, "gpu\xc3\xa9", false);
}

/* ---- valid_env_name ---- */

Test(valid, env_name_of_max_chars_is_accepted)
{
	assert_pred_sized(valid_env_name, "", 'A', ENV_NAME_MAX, "", true);
}

Test(valid, env_name_of_max_plus_one_chars_is_rejected)
{
	assert_pred_sized(valid_env_name, "", 'A', ENV_NAME_MAX + 1, "", false);
}

Test(valid, env_name_empty_is_rejected)
{
	assert_pred(valid_env_name, "", false);
}

Test(valid, env_name_with_leading_digit_is_rejected)
{
	assert_pred(valid_env_name, "1PATH", false);
}

Test(valid, env_name_with_leading_underscore_is_accepted)
{
	assert_pred(valid_env_name, "_PATH", true);
	assert_pred(valid_env_name, "_", true);
}

Test(valid, env_name_with_lowercase_and_inner_digits_is_accepted)
{
	assert_pred(valid_env_name, "hf_token2", true);
}

Test(valid, env_name_with_other_characters_is_rejected)
{
	assert_pred(valid_env_name, "HF-TOKEN", false);
	assert_pred(valid_env_name, "A=B", false);
	assert_pred(valid_env_name, "A B", false);
	assert_pred(valid_env_name, "A.B", false);
	assert_pred(valid_env_name, "\xc3\x89T\xc3\x89", false);
}

/* ---- valid_docker_image ---- */

Test(valid, docker_image_of_max_chars_is_accepted)
{
	assert_pred_sized(valid_docker_image, "repo/", 'a', DOCKER_IMAGE_MAX, ":tag", true);
}

Test(valid, docker_image_of_max_plus_one_chars_is_rejected)
{
	assert_pred_sized(valid_docker_image, "repo/", 'a', DOCKER_IMAGE_MAX + 1, ":tag", false);
}

Test(valid, docker_image_empty_is_rejected)
{
	assert_pred(valid_docker_image, "", false);
}

Test(valid, docker_image_references_are_accepted)
{
	assert_pred(valid_docker_image, "nginx", true);
	assert_pred(valid_docker_image, "vllm/vllm-openai:latest", true);
	assert_pred(valid_docker_image, "registry.example.com:5000/team/app:1.2.3", true);
	assert_pred(valid_docker_image,
		    "repo@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		    true);
}

Test(valid, docker_image_with_whitespace_is_rejected)
{
	assert_pred(valid_docker_image, "nginx latest", false);
	assert_pred(valid_docker_image, "nginx\t", false);
	assert_pred(valid_docker_image, "nginx\n", false);
	assert_pred(valid_docker_image, " nginx", false);
}

Test(valid, docker_image_with_leading_hyphen_is_rejected)
{
	assert_pred(valid_docker_image, "-nginx", false);
	assert_pred(valid_docker_image, "--privileged", false);
}

Test(valid, docker_image_with_control_or_non_ascii_is_rejected)
{
	assert_pred(valid_docker_image, "nginx\x7f", false);
	assert_pred(valid_docker_image, "ngi\x01nx", false);
	assert_pred(valid_docker_image, "ngin\xc3\xa9", false);
}

/* ---- valid_https_url ---- */

Test(valid, https_url_of_max_chars_is_accepted)
{
	assert_pred_sized(valid_https_url, "https://example.com/", 'a', EXTERNAL_URL_MAX, "", true);
}

Test(valid, https_url_of_max_plus_one_chars_is_rejected)
{
	assert_pred_sized(valid_https_url, "https://example.com/", 'a', EXTERNAL_URL_MAX + 1, "",
			  false);
}

Test(valid, https_url_with_host_is_accepted)
{
	assert_pred(valid_https_url, "https://example.com", true);
	assert_pred(valid_https_url, "https://example.com/", true);
	assert_pred(valid_https_url, "https://api.example.com:8443/v1/chat?model=x", true);
	assert_pred(valid_https_url, "https://10.0.0.1", true);
}

Test(valid, http_url_is_rejected)
{
	assert_pred(valid_https_url, "http://example.com", false);
}

Test(valid, other_schemes_and_non_urls_are_rejected)
{
	assert_pred(valid_https_url, "ftp://example.com", false);
	assert_pred(valid_https_url, "https:/example.com", false);
	assert_pred(valid_https_url, "example.com", false);
	assert_pred(valid_https_url, "", false);
	assert_pred(valid_https_url, "https", false);
}

Test(valid, https_url_without_host_is_rejected)
{
	assert_pred(valid_https_url, "https://", false);
	assert_pred(valid_https_url, "https:///path", false);
	assert_pred(valid_https_url, "https://?q=1", false);
	assert_pred(valid_https_url, "https://#frag", false);
}

Test(valid, https_url_with_port_but_no_host_is_rejected)
{
	assert_pred(valid_https_url, "https://:443", false);
	assert_pred(valid_https_url, "https://:443/path", false);
}

Test(valid, https_url_with_userinfo_is_rejected)
{
	assert_pred(valid_https_url, "https://user:pw@example.com", false);
	assert_pred(valid_https_url, "https://user@example.com/", false);
	assert_pred(valid_https_url, "https://@example.com", false);
}

Test(valid, https_url_with_at_sign_in_path_is_accepted)
{
	assert_pred(valid_https_url, "https://example.com/users/@me", true);
}

Test(valid, https_url_with_space_or_control_is_rejected)
{
	assert_pred(valid_https_url, "https://example.com/a b", false);
	assert_pred(valid_https_url, "https://exa mple.com", false);
	assert_pred(valid_https_url, "https://example.com/\t", false);
	assert_pred(valid_https_url, "https://example.com/\r\nX-Evil: 1", false);
	assert_pred(valid_https_url, "https://example.com/\x7f", false);
}

Test(valid, https_url_with_non_ascii_is_rejected)
{
	assert_pred(valid_https_url, "https://caf\xc3\xa9.example", false);
}

/* ---- valid_url_path ---- */

Test(valid, url_path_starting_with_slash_is_accepted)
{
	assert_pred(valid_url_path, "/", true);
	assert_pred(valid_url_path, "/health", true);
	assert_pred(valid_url_path, "/openapi.json?v=1", true);
}

Test(valid, url_path_empty_is_rejected)
{
	assert_pred(valid_url_path, "", false);
}

Test(valid, url_path_without_leading_slash_is_rejected)
{
	assert_pred(valid_url_path, "health", false);
	assert_pred(valid_url_path, "https://example.com/openapi.json", false);
	assert_pred(valid_url_path, " /health", false);
}

Test(valid, url_path_with_space_or_control_is_rejected)
{
	assert_pred(valid_url_path, "/a b", false);
	assert_pred(valid_url_path, "/a\tb", false);
	assert_pred(valid_url_path, "/a\r\n", false);
	assert_pred(valid_url_path, "/a\x7f", false);
	assert_pred(valid_url_path, "/a\x01", false);
}

/* ---- valid_abs_path ---- */

Test(valid, abs_path_of_max_chars_is_accepted)
{
	assert_pred_sized(valid_abs_path, "/", 'a', VOLUME_PATH_MAX, "", true);
}

Test(valid, abs_path_of_max_plus_one_chars_is_rejected)
{
	assert_pred_sized(valid_abs_path, "/", 'a', VOLUME_PATH_MAX + 1, "", false);
}

Test(valid, abs_path_root_and_plain_paths_are_accepted)
{
	assert_pred(valid_abs_path, "/", true);
	assert_pred(valid_abs_path, "/data/models", true);
	assert_pred(valid_abs_path, "/data/models/", true);
	assert_pred(valid_abs_path, "/a/./b", true);
}

Test(valid, abs_path_with_dotdot_segment_is_rejected)
{
	assert_pred(valid_abs_path, "/a/../b", false);
	assert_pred(valid_abs_path, "/..", false);
	assert_pred(valid_abs_path, "/../etc", false);
	assert_pred(valid_abs_path, "/a/..", false);
	assert_pred(valid_abs_path, "/a/b/../../..", false);
	assert_pred(valid_abs_path, "/a/.../..", false);
}

Test(valid, abs_path_with_dots_inside_a_name_is_accepted)
{
	assert_pred(valid_abs_path, "/a/..b", true);
	assert_pred(valid_abs_path, "/a/b..", true);
	assert_pred(valid_abs_path, "/a..b/c", true);
	assert_pred(valid_abs_path, "/...", true);
}

Test(valid, abs_path_relative_is_rejected)
{
	assert_pred(valid_abs_path, "a/b", false);
	assert_pred(valid_abs_path, "./a", false);
	assert_pred(valid_abs_path, "../a", false);
	assert_pred(valid_abs_path, "~/a", false);
}

Test(valid, abs_path_empty_is_rejected)
{
	assert_pred(valid_abs_path, "", false);
}

Test(valid, abs_path_with_control_characters_is_rejected)
{
	assert_pred(valid_abs_path, "/a\nb", false);
	assert_pred(valid_abs_path, "/a\x01", false);
	assert_pred(valid_abs_path, "/a\x7f", false);
}

/* ---- valid_email ---- */

Test(valid, email_of_max_chars_is_accepted)
{
	assert_pred_sized(valid_email, "", 'a', EMAIL_MAX, "@x.io", true);
}

Test(valid, email_of_max_plus_one_chars_is_rejected)
{
	assert_pred_sized(valid_email, "", 'a', EMAIL_MAX + 1, "@x.io", false);
}

Test(valid, email_at_localhost_is_accepted)
{
	assert_pred(valid_email, "admin@localhost", true);
	assert_pred(valid_email, "a@b", true);
	assert_pred(valid_email, "first.last+tag@example.com", true);
}

Test(valid, email_without_at_is_rejected)
{
	assert_pred(valid_email, "admin.localhost", false);
}

Test(valid, email_with_two_ats_is_rejected)
{
	assert_pred(valid_email, "a@b@c", false);
	assert_pred(valid_email, "a@@b", false);
}

Test(valid, email_with_empty_local_part_is_rejected)
{
	assert_pred(valid_email, "@localhost", false);
}

Test(valid, email_with_empty_domain_is_rejected)
{
	assert_pred(valid_email, "admin@", false);
}

Test(valid, email_empty_is_rejected)
{
	assert_pred(valid_email, "", false);
}

Test(valid, email_with_whitespace_or_control_is_rejected)
{
	assert_pred(valid_email, "ad min@localhost", false);
	assert_pred(valid_email, "admin@local host", false);
	assert_pred(valid_email, "admin@localhost\n", false);
	assert_pred(valid_email, "admin\t@localhost", false);
	assert_pred(valid_email, "admin@local\x01host", false);
}

/* ---- valid_http_token ---- */

Test(valid, http_tokens_are_visible_ascii_without_delimiters)
{
	static const char *const good[] = {"GET", "BASELINE-CONTROL", "x", "X-Custom_1.2",
					   "!#$%&'*+-.^_`|~09azAZ"};
	static const char *const bad[] = {"", "GE T", "GET\t", "a:b", "a/b", "(x)", "a\"b", "a@b",
					  "a{b}", "a[b]", "a\\b", "a;b", "a=b", "a?b", "a,b",
					  "\x7f", "\xc3\xa9"};

	for (size_t i = 0; i < B_ARRAY_LEN(good); i++)
		assert_pred(valid_http_token, good[i], true);
	for (size_t i = 0; i < B_ARRAY_LEN(bad); i++)
		assert_pred(valid_http_token, bad[i], false);
}
