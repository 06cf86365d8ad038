/* http.h: the FastCGI side of a berth program: the accept loop with its per-thread context,
 * request parameters and headers, a bounded JSON body read, responses, the API.md error
 * envelope and X-Request-ID. Routing and business rules belong to the programs and lib/. */
#ifndef BERTH_HTTP_H
#define BERTH_HTTP_H

#include "berth.h"
#include "arena.h"
#include "auth.h"
#include "config.h"
#include "err.h"
#include "berth_limits.h"
#include "store.h"

#include <cjson/cJSON.h>
#include <fcgiapp.h>

/* What a program has once per process. */
struct app {
	const char *prog;
	struct config cfg;
	struct auth_keys keys;
};

/* What a request handler gets: the process's app and its own thread's store, arena and the
 * program's per-thread state (http_prog.thread_init). */
struct http_ctx {
	struct app *app;
	struct store *store;
	struct arena arena;
	void *user;
};

struct http_req {
	FCGX_Request *fcgx;
	struct arena *arena;
	const char *method;
	const char *path;  /* REQUEST_URI up to '?', undecoded */
	const char *query; /* after '?', "" when none */
	char request_id[REQUEST_ID_MAX + 1];
	const char *allow; /* "Allow: ...\r\n" sent with an error response, e.g. on 405 */
	bool responded;
	char *hold;        /* streamed body bytes not yet written (http_stream_hold) */
	size_t held, hold_cap;
};

typedef void (*http_handler)(struct http_ctx *ctx, struct http_req *req);

/* The whole life of a FastCGI program: --help, configuration, store, then serve requests
 * with h until lighttpd stops it. Returns the process exit status. */
int http_main(const char *prog, const char *usage, int argc, char **argv, http_handler h);

/* A program that holds requests open for long (invoke, proxy): runtime_threads accept loops,
 * each with its own store connection and thread_init's state, and a thread of its own for
 * SIGTERM (libfcgi alone would leave the other threads blocked in accept). */
struct http_prog {
	const char *name;
	const char *usage;
	http_handler handler;
	void *(*thread_init)(void);   /* ctx->user of each thread; NULL stops the program */
	void (*thread_free)(void *);
};
int http_main_pool(const struct http_prog *p, int argc, char **argv);

/* A FastCGI parameter ("REQUEST_METHOD") or NULL. */
const char *http_param(const struct http_req *r, const char *name);
/* A request header by its HTTP name ("X-Team-ID") or NULL. */
const char *http_header(const struct http_req *r, const char *name);

/* Reads the body as a JSON object: 415 unless Content-Type is application/json, 413 past max
 * (before reading a byte when Content-Length says so), 400 for bad JSON. *out is freed when
 * the request's arena is reset. */
int http_read_json(struct http_req *r, size_t max, cJSON **out, struct berr *e) B_MUST_CHECK;
/* The request body's length from CONTENT_LENGTH, 0 without a body. B_EINVAL (Content-Length)
 * when it is not a length, or when a chunked body came without one: a web server that passes
 * a body on as it comes (rather than spooling it to count it, as lighttpd does) would have it
 * read as no body at all. */
int http_body_length(struct http_req *r, long long *len, struct berr *e) B_MUST_CHECK;
/* The same checks, then the body as it came (NUL-terminated, len bytes, zeroed with the
 * request's arena), for a program that parses it itself. */
int http_read_body(struct http_req *r, size_t max, char **out, size_t *len,
		   struct berr *e) B_MUST_CHECK;

/* extra_headers: "Name: value\r\n" lines or NULL. */
void http_respond(struct http_req *r, int status, const char *content_type, const char *body,
		  size_t len, const char *extra_headers);
void http_respond_json(struct http_req *r, int status, const cJSON *body,
		       const char *extra_headers);
/* The API.md section 2 envelope for e. */
void http_respond_error(struct http_req *r, const struct berr *e);
/* Shorthand: fills a record and responds with it. */
void http_fail(struct http_req *r, int rc, const char *field, const char *fmt, ...) B_PRINTF(4, 5);

/* A streamed answer (the proxy): the head with the status, X-Request-ID and "name: value"
 * lines as given (none of them X-Request-ID), then body bytes, each write sent to the server at
 * once unless a hold is set (below).
 * -1 when the caller is gone. */
int http_stream_head(struct http_req *r, int status, char *const *lines, size_t n);
int http_stream_write(struct http_req *r, const void *p, size_t n);
/* From now on http_stream_head and http_stream_write hold the answer's bytes in buf and write
 * them when it is full, in records of up to HTTP_STREAM_HOLD bytes, so many small writes
 * become one. The caller owns buf and calls http_stream_flush whenever it would wait for
 * more, and http_stream_end (or http_stream_flush) before buf goes. */
#define HTTP_STREAM_HOLD 65528 /* the largest FastCGI record without padding */
void http_stream_hold(struct http_req *r, char *buf, size_t cap);
int http_stream_flush(struct http_req *r);
/* The answer is complete: what is held goes out, with the request's end records when it
 * fits libfcgi's buffer (one write for a small answer). -1 when the caller is gone. */
int http_stream_end(struct http_req *r);
/* Up to n bytes of the request body; 0 at its end. */
size_t http_stream_read(struct http_req *r, void *p, size_t n);

/* Authenticates r for scope with the app's keys and the thread's store. */
int http_auth(struct http_ctx *ctx, struct http_req *r, enum auth_scope scope,
	      struct principal *p, struct berr *e) B_MUST_CHECK;

const char *http_reason(int status);

/* Splits the path after prefix into segments: "/api/v1/containers/ID/deploy" with prefix
 * "/api/v1/containers" gives {"ID", "deploy"}. Returns the count (0 for the prefix itself,
 * with or without a trailing '/'), or -1 when the path is not under prefix, has an empty
 * segment, or more than max segments. Segments are arena strings, not percent-decoded. */
int http_route(struct http_req *r, const char *prefix, const char **seg, int max);
/* A query parameter, percent-decoded into the arena; NULL when absent. The first of
 * repeated names wins. */
const char *http_query(struct http_req *r, const char *name);
/* 405 with an Allow header listing allow ("GET, POST"). */
void http_method_not_allowed(struct http_req *r, const char *allow);
/* A response without a body (204). */
void http_respond_empty(struct http_req *r, int status);

/* Pagination of API.md: current_page >= 1 (default 1), per_page 1..100 (default 20). */
#define PAGE_SIZE_DEFAULT 20
#define PAGE_SIZE_MAX 100
struct page {
	long current_page;
	long per_page;
};
/* Reads current_page and per_page from the query string; 400 naming the parameter. */
int http_page(struct http_req *r, struct page *pg, struct berr *e) B_MUST_CHECK;
/* Adds "page_meta": {current_page, per_page, total_count} to obj. */
void http_page_meta(cJSON *obj, const struct page *pg, long total);

/* One page of a team's rows: fills list, and total with the count of them all. */
typedef int (*http_list_fn)(struct store *s, const char *team_id, int64_t offset, int64_t limit,
			    cJSON *list, long *total, struct berr *e);
/* Answers a list request: {"<name>": [...], "page_meta": {...}} for the query's current_page
 * and per_page, or the error (400 for a bad page parameter). */
void http_respond_page(struct http_ctx *ctx, struct http_req *r, const char *team_id,
		       const char *name, http_list_fn fn);

#endif
