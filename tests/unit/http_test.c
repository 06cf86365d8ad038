/* http_test.c: the request helpers of lib/http.c that need no FastCGI server: routing,
 * query parameters, pagination and reason phrases. Requests are built by hand (fcgx NULL). */
#include "berth.h"
#include "http.h"
#include "arena.h"
#include "json.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct arena ar;

static void req_setup(void)
{
	arena_init(&ar);
}

static void req_teardown(void)
{
	arena_reset(&ar);
}

TestSuite(http, .init = req_setup, .fini = req_teardown);

static struct http_req req(const char *path, const char *query)
{
	struct http_req r;

	memset(&r, 0, sizeof(r));
	r.fcgx = NULL;
	r.arena = &ar;
	r.method = "GET";
	r.path = path;
	r.query = query;
	return r;
}

#define PREFIX "/api/v1/containers"

/* ---- http_route ---- */

Test(http, route_prefix_itself_is_zero_segments)
{
	struct http_req r = req(PREFIX, "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), 0));
}

Test(http, route_prefix_with_trailing_slash_is_zero_segments)
{
	struct http_req r = req(PREFIX "/", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), 0));
}

Test(http, route_one_segment)
{
	struct http_req r = req(PREFIX "/abc", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), 1));
	cr_assert(eq(str, (char *)seg[0], "abc"));
}

Test(http, route_segment_with_trailing_slash)
{
	struct http_req r = req(PREFIX "/abc/", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), 1));
	cr_assert(eq(str, (char *)seg[0], "abc"));
}

Test(http, route_two_segments)
{
	struct http_req r = req(PREFIX "/ID/deploy", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), 2));
	cr_assert(eq(str, (char *)seg[0], "ID"));
	cr_assert(eq(str, (char *)seg[1], "deploy"));
}

Test(http, route_segments_are_not_percent_decoded)
{
	struct http_req r = req(PREFIX "/a%2Fb", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), 1));
	cr_assert(eq(str, (char *)seg[0], "a%2Fb"));
}

Test(http, route_empty_segment_is_refused)
{
	struct http_req r = req(PREFIX "/ID//deploy", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), -1));
}

Test(http, route_double_slash_after_prefix_is_refused)
{
	struct http_req r = req(PREFIX "//", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), -1));
}

Test(http, route_exactly_max_segments_is_accepted)
{
	struct http_req r = req(PREFIX "/a/b", "");
	const char *seg[2] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 2), 2));
}

Test(http, route_more_than_max_segments_is_refused)
{
	struct http_req r = req(PREFIX "/a/b/c", "");
	const char *seg[2] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 2), -1));
}

Test(http, route_path_merely_starting_with_prefix_letters_is_refused)
{
	struct http_req r = req(PREFIX "X", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), -1));
}

Test(http, route_other_path_is_refused)
{
	struct http_req r = req("/api/v1/agents/x", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), -1));
}

Test(http, route_shorter_than_prefix_is_refused)
{
	struct http_req r = req("/api/v1", "");
	const char *seg[3] = {0};

	cr_assert(eq(int, http_route(&r, PREFIX, seg, 3), -1));
}

/* ---- http_query ---- */

Test(http, query_absent_name_is_null)
{
	struct http_req r = req("/", "a=1&b=2");

	cr_assert(eq(ptr, (void *)http_query(&r, "c"), NULL));
}

Test(http, query_empty_query_string_is_null)
{
	struct http_req r = req("/", "");

	cr_assert(eq(ptr, (void *)http_query(&r, "a"), NULL));
}

Test(http, query_null_query_string_is_null)
{
	struct http_req r = req("/", NULL);

	cr_assert(eq(ptr, (void *)http_query(&r, "a"), NULL));
}

Test(http, query_plain_value)
{
	struct http_req r = req("/", "a=1&b=two");

	cr_assert(eq(str, (char *)http_query(&r, "b"), "two"));
	cr_assert(eq(str, (char *)http_query(&r, "a"), "1"));
}

Test(http, query_empty_value_is_empty_string)
{
	struct http_req r = req("/", "a=&b=2");
	const char *v = http_query(&r, "a");

	cr_assert(not(eq(ptr, (void *)v, NULL)));
	cr_assert(eq(str, (char *)v, ""));
}

Test(http, query_name_without_equals_is_empty_string)
{
	struct http_req r = req("/", "flag&b=2");
	const char *v = http_query(&r, "flag");

	cr_assert(not(eq(ptr, (void *)v, NULL)));
	cr_assert(eq(str, (char *)v, ""));
}

Test(http, query_percent_decodes)
{
	struct http_req r = req("/", "p=a%2Fb%2f");

	cr_assert(eq(str, (char *)http_query(&r, "p"), "a/b/"));
}

Test(http, query_plus_is_a_space)
{
	struct http_req r = req("/", "q=hello+world");

	cr_assert(eq(str, (char *)http_query(&r, "q"), "hello world"));
}

Test(http, query_bad_percent_escape_is_kept)
{
	struct http_req r = req("/", "q=100%zz%4");

	cr_assert(eq(str, (char *)http_query(&r, "q"), "100%zz%4"));
}

Test(http, query_repeated_name_first_wins)
{
	struct http_req r = req("/", "a=first&a=second");

	cr_assert(eq(str, (char *)http_query(&r, "a"), "first"));
}

Test(http, query_name_prefix_of_another_is_not_matched)
{
	struct http_req r = req("/", "page_size=5");

	cr_assert(eq(ptr, (void *)http_query(&r, "page"), NULL));
}

Test(http, query_longer_name_is_not_matched_by_shorter_key)
{
	struct http_req r = req("/", "page=5&page_size=7");

	cr_assert(eq(str, (char *)http_query(&r, "page_size"), "7"));
	cr_assert(eq(str, (char *)http_query(&r, "page"), "5"));
}

/* ---- http_page ---- */

static int page(const char *query, struct page *pg, struct berr *e)
{
	struct http_req r = req("/", query);

	memset(e, 0, sizeof(*e));
	return http_page(&r, pg, e);
}

Test(http, page_defaults)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("", &pg, &e), B_OK));
	cr_assert(eq(long, pg.current_page, 1));
	cr_assert(eq(long, pg.per_page, PAGE_SIZE_DEFAULT));
	cr_assert(eq(long, pg.per_page, 20));
}

Test(http, page_reads_both)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("current_page=3&per_page=7", &pg, &e), B_OK));
	cr_assert(eq(long, pg.current_page, 3));
	cr_assert(eq(long, pg.per_page, 7));
}

Test(http, page_per_page_zero_is_400)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("per_page=0", &pg, &e), B_EINVAL));
	cr_assert(eq(int, e.status, 400));
	cr_assert(eq(str, e.field, "per_page"));
}

Test(http, page_per_page_one_is_accepted)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("per_page=1", &pg, &e), B_OK));
	cr_assert(eq(long, pg.per_page, 1));
}

Test(http, page_per_page_100_is_accepted)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("per_page=100", &pg, &e), B_OK));
	cr_assert(eq(long, pg.per_page, 100));
}

Test(http, page_per_page_101_is_400)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("per_page=101", &pg, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "per_page"));
}

Test(http, page_current_page_zero_is_400)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("current_page=0", &pg, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "current_page"));
}

Test(http, page_negative_current_page_is_400)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("current_page=-1", &pg, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "current_page"));
}

Test(http, page_non_numeric_is_400)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("per_page=ten", &pg, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "per_page"));
}

Test(http, page_trailing_garbage_is_400)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("current_page=2x", &pg, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "current_page"));
}

Test(http, page_empty_value_is_400)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("per_page=", &pg, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "per_page"));
}

Test(http, page_huge_current_page_is_400)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("current_page=99999999999999999999999", &pg, &e), B_EINVAL));
	cr_assert(eq(str, e.field, "current_page"));
}

Test(http, page_current_page_at_max_is_accepted)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("current_page=1000000000", &pg, &e), B_OK));
	cr_assert(eq(long, pg.current_page, 1000000000L));
}

Test(http, page_current_page_above_max_is_400)
{
	struct page pg;
	struct berr e;

	cr_assert(eq(int, page("current_page=1000000001", &pg, &e), B_EINVAL));
}

/* ---- http_page_meta ---- */

Test(http, page_meta_output)
{
	struct page pg = {.current_page = 2, .per_page = 10};
	cJSON *o = cJSON_CreateObject();
	char *text, got[256];

	http_page_meta(o, &pg, 35);
	text = json_print(o);
	cJSON_Delete(o);
	snprintf(got, sizeof(got), "%s", text);
	free(text);
	cr_assert(eq(str, got, "{\"page_meta\":{\"current_page\":2,\"per_page\":10,\"total_count\":35}}"));
}

/* ---- http_reason ---- */

Test(http, reason_known_statuses)
{
	cr_assert(eq(str, (char *)http_reason(200), "OK"));
	cr_assert(eq(str, (char *)http_reason(204), "No Content"));
	cr_assert(eq(str, (char *)http_reason(404), "Not Found"));
	cr_assert(eq(str, (char *)http_reason(409), "Conflict"));
	cr_assert(eq(str, (char *)http_reason(413), "Content Too Large"));
	cr_assert(eq(str, (char *)http_reason(503), "Service Unavailable"));
}

Test(http, reason_unknown_status)
{
	cr_assert(eq(str, (char *)http_reason(418), "Unknown"));
	cr_assert(eq(str, (char *)http_reason(0), "Unknown"));
}
