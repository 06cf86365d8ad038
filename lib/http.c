#include "berth.h"
#include "http.h"
#include "crypto.h"
#include "json.h"
#include "log.h"
#include "rlimit.h"
#include "uuid.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>

#include <fastcgi.h>
#include <sodium.h>

#define HTTP_HEAD_MAX 4096
#define HTTP_READ_CHUNK 65536

static const struct {
	int status;
	const char *reason;
} reasons[] = {
	{200, "OK"}, {201, "Created"}, {204, "No Content"}, {400, "Bad Request"},
	{401, "Unauthorized"}, {403, "Forbidden"}, {404, "Not Found"},
	{405, "Method Not Allowed"}, {409, "Conflict"}, {411, "Length Required"},
	{413, "Content Too Large"}, {415, "Unsupported Media Type"}, {429, "Too Many Requests"},
	{500, "Internal Server Error"}, {502, "Bad Gateway"}, {503, "Service Unavailable"},
	{504, "Gateway Timeout"},
};

const char *http_reason(int status)
{
	for (size_t i = 0; i < B_ARRAY_LEN(reasons); i++)
		if (reasons[i].status == status)
			return reasons[i].reason;
	return "Unknown";
}

const char *http_param(const struct http_req *r, const char *name)
{
	return FCGX_GetParam(name, r->fcgx->envp);
}

const char *http_header(const struct http_req *r, const char *name)
{
	char key[128] = "HTTP_";
	size_t i;

	for (i = 0; name[i] && i + 6 < sizeof(key); i++)
		key[5 + i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
	key[5 + i] = '\0';
	if (strcmp(key, "HTTP_CONTENT_TYPE") == 0)
		return http_param(r, "CONTENT_TYPE");
	return http_param(r, key);
}

/* A caller's X-Request-ID is echoed only when it is short and plain; otherwise a new id. */
static void http_request_id(struct http_req *r)
{
	const char *id = http_header(r, "X-Request-ID");
	size_t n = id ? strlen(id) : 0;
	bool ok = n > 0 && n <= REQUEST_ID_MAX;

	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)id[i]) || strchr("._:-", id[i]);
	if (ok)
		memcpy(r->request_id, id, n + 1);
	else
		uuid_v7(r->request_id);
}

void http_respond(struct http_req *r, int status, const char *content_type, const char *body,
		  size_t len, const char *extra_headers)
{
	char head[HTTP_HEAD_MAX];
	int n;

	if (r->responded) {
		log_error("%s: second response (%d) dropped", r->request_id, status);
		return;
	}
	r->responded = true;
	n = snprintf(head, sizeof(head),
		     "Status: %d %s\r\nX-Request-ID: %s\r\nCache-Control: no-store\r\n"
		     "Content-Length: %zu\r\n%s%s%s%s\r\n",
		     status, http_reason(status), r->request_id, len,
		     content_type ? "Content-Type: " : "", content_type ? content_type : "",
		     content_type ? "\r\n" : "", extra_headers ? extra_headers : "");
	if (n < 0 || (size_t)n >= sizeof(head)) {
		log_error("%s: response head too long", r->request_id);
		n = snprintf(head, sizeof(head), "Status: 500 Internal Server Error\r\n"
			     "Content-Length: 0\r\n\r\n");
		len = 0;
	}
	FCGX_PutStr(head, n, r->fcgx->out);
	if (len)
		FCGX_PutStr(body, (int)len, r->fcgx->out);
}

/* The head's bytes, into the hold like the body's when there is one. */
static int head_put(struct http_req *r, const char *p, size_t n)
{
	if (r->hold)
		return http_stream_write(r, p, n);
	return FCGX_PutStr(p, (int)n, r->fcgx->out) < 0 ? -1 : 0;
}

int http_stream_head(struct http_req *r, int status, char *const *lines, size_t n)
{
	char head[64 + REQUEST_ID_MAX];
	int len;

	if (r->responded) {
		log_error("%s: second response (%d) dropped", r->request_id, status);
		return -1;
	}
	r->responded = true;
	/* every answer names its request (API.md section 2): lines hold no X-Request-ID */
	len = snprintf(head, sizeof(head), "Status: %d %s\r\nX-Request-ID: %s\r\n", status,
		       http_reason(status), r->request_id);
	if (head_put(r, head, (size_t)len) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (head_put(r, lines[i], strlen(lines[i])) < 0 || head_put(r, "\r\n", 2) < 0)
			return -1;
	if (head_put(r, "\r\n", 2) < 0)
		return -1;
	return r->hold ? 0 : FCGX_FFlush(r->fcgx->out);
}

/* A streamed body goes out in FastCGI records of up to FCGI_RECORD_MAX bytes, written
 * from the hold (http_stream_hold) or straight from the caller's memory, several to a writev.
 * libfcgi would copy it through its 8 KiB buffer and write a record per 8 KiB: a write system
 * call per 8 KiB on a 1 GiB body, and as many chunks for lighttpd to read. Its buffer is
 * flushed first (it holds the head), so the two never interleave; it stays empty after, and
 * FCGX_Finish_r ends the stream. */
#define FCGI_RECORD_MAX HTTP_STREAM_HOLD /* a multiple of 8 under 65535: no padding */
#define FCGI_WRITE_RECORDS 8   /* records per writev */

static int write_all_v(int fd, struct iovec *v, int k)
{
	while (k > 0) {
		ssize_t n = writev(fd, v, k);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		while (k > 0 && (size_t)n >= v->iov_len) {
			n -= (ssize_t)v->iov_len;
			v++;
			k--;
		}
		if (k > 0) {
			v->iov_base = (char *)v->iov_base + n;
			v->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* p and n in records, after libfcgi's buffer (which holds the head). */
static int stream_records(struct http_req *r, const char *p, size_t n)
{
	FCGX_Request *f = r->fcgx;
	unsigned char hdr[FCGI_WRITE_RECORDS][8];
	struct iovec v[2 * FCGI_WRITE_RECORDS];

	if (FCGX_FFlush(f->out) < 0)
		return -1;
	while (n) {
		int k = 0;

		for (int i = 0; i < FCGI_WRITE_RECORDS && n; i++) {
			size_t len = n < FCGI_RECORD_MAX ? n : FCGI_RECORD_MAX;

			hdr[i][0] = FCGI_VERSION_1;
			hdr[i][1] = FCGI_STDOUT;
			hdr[i][2] = (unsigned char)(f->requestId >> 8);
			hdr[i][3] = (unsigned char)f->requestId;
			hdr[i][4] = (unsigned char)(len >> 8);
			hdr[i][5] = (unsigned char)len;
			hdr[i][6] = 0; /* padding */
			hdr[i][7] = 0;
			v[k].iov_base = hdr[i];
			v[k++].iov_len = sizeof(hdr[i]);
			v[k].iov_base = (void *)p;
			v[k++].iov_len = len;
			p += len;
			n -= len;
		}
		if (write_all_v(f->ipcFd, v, k))
			return -1;
	}
	return 0;
}

void http_stream_hold(struct http_req *r, char *buf, size_t cap)
{
	r->hold = buf;
	r->held = 0;
	r->hold_cap = cap < FCGI_RECORD_MAX ? cap : FCGI_RECORD_MAX;
}

int http_stream_flush(struct http_req *r)
{
	size_t n = r->held;

	r->held = 0;
	return n ? stream_records(r, r->hold, n) : 0;
}

int http_stream_end(struct http_req *r)
{
	FCGX_Stream *out = r->fcgx->out;
	size_t n = r->held;

	/* libfcgi's own buffer takes what fits: FCGX_Finish_r writes it with the records that
	 * end the request, so a small answer costs one write */
	if (n && n <= (size_t)(out->stop - out->wrNext)) {
		r->held = 0;
		return FCGX_PutStr(r->hold, (int)n, out) == (int)n ? 0 : -1;
	}
	return http_stream_flush(r);
}

int http_stream_write(struct http_req *r, const void *p, size_t n)
{
	size_t room;

	if (!r->hold)
		return stream_records(r, p, n);
	room = r->hold_cap - r->held;
	if (n <= room) {
		memcpy(r->hold + r->held, p, n);
		r->held += n;
		return 0;
	}
	/* the hold is topped up and goes out as one full record; a rest as large as the hold
	 * goes straight after it, a smaller one waits in the hold */
	memcpy(r->hold + r->held, p, room);
	r->held += room;
	p = (const char *)p + room;
	n -= room;
	if (http_stream_flush(r) < 0)
		return -1;
	if (n >= r->hold_cap)
		return stream_records(r, p, n);
	memcpy(r->hold, p, n);
	r->held = n;
	return 0;
}

size_t http_stream_read(struct http_req *r, void *p, size_t n)
{
	int got = FCGX_GetStr(p, n > INT_MAX ? INT_MAX : (int)n, r->fcgx->in);

	return got > 0 ? (size_t)got : 0;
}

void http_respond_json(struct http_req *r, int status, const cJSON *body,
		       const char *extra_headers)
{
	char *s = json_print(body);

	http_respond(r, status, "application/json", s, strlen(s), extra_headers);
	free(s);
}

/* RFC 9110: a 401 names the scheme that would be accepted. */
#define WWW_AUTHENTICATE "WWW-Authenticate: Bearer realm=\"berth\"\r\n"

void http_respond_error(struct http_req *r, const struct berr *e)
{
	cJSON *o = cJSON_CreateObject();
	int status = e->status ? e->status : 500;

	cJSON_AddStringToObject(o, "error_message", e->message[0] ? e->message : http_reason(status));
	cJSON_AddStringToObject(o, "error_code", e->code ? e->code : "internal_error");
	if (e->field[0])
		cJSON_AddStringToObject(o, "field", e->field);
	cJSON_AddStringToObject(o, "request_id", r->request_id);
	if (status >= 500)
		log_error("%s %s %s: %d %s", r->request_id, r->method, r->path, status, e->message);
	http_respond_json(r, status, o, status == 401 ? WWW_AUTHENTICATE : r->allow);
	cJSON_Delete(o);
}

void http_fail(struct http_req *r, int rc, const char *field, const char *fmt, ...)
{
	struct berr e = {0};
	va_list ap;

	berr_set(&e, rc, field, "%s", "");
	va_start(ap, fmt);
	if (vsnprintf(e.message, sizeof(e.message), fmt, ap) < 0)
		e.message[0] = '\0';
	va_end(ap);
	http_respond_error(r, &e);
}

static bool content_type_json(const char *ct)
{
	size_t n = strlen("application/json");

	if (!ct || strncasecmp(ct, "application/json", n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

static void cjson_free(void *p)
{
	json_wipe(p); /* the parsed copies of a password or a vault value */
	cJSON_Delete(p);
}

struct wipe {
	void *p;
	size_t n;
};

static void wipe(void *arg)
{
	struct wipe *w = arg;

	sodium_memzero(w->p, w->n);
}

int http_read_json(struct http_req *r, size_t max, cJSON **out, struct berr *e)
{
	char *body;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = http_read_body(r, max, &body, &len, e)) ||
	    (rc = json_parse_object(body, len, out, e)))
		return rc;
	arena_defer(r->arena, cjson_free, *out);
	return B_OK;
}

int http_body_length(struct http_req *r, long long *len, struct berr *e)
{
	const char *cl = http_param(r, "CONTENT_LENGTH");
	char *end;

	*len = 0;
	if (!cl || !*cl) {
		/* lighttpd spools a chunked body to count it; a server that passes one on as it
		 * comes would have it taken for no body at all */
		if (http_param(r, "HTTP_TRANSFER_ENCODING"))
			return berr_set(e, B_EINVAL, "Content-Length", "the body came without a length "
					"(chunked): the web server must count it and pass "
					"CONTENT_LENGTH (Apache mod_proxy_fcgi: SetEnv proxy-sendcl 1)");
		return B_OK;
	}
	errno = 0;
	*len = strtoll(cl, &end, 10);
	if (errno || *end || *len < 0) {
		*len = 0;
		return berr_set(e, B_EINVAL, "Content-Length", "Content-Length is not a length");
	}
	return B_OK;
}

int http_read_body(struct http_req *r, size_t max, char **out, size_t *out_len, struct berr *e)
{
	long long len;
	char *body;
	struct wipe *w;
	size_t got = 0;
	int rc;

	*out = NULL;
	*out_len = 0;
	if (!content_type_json(http_header(r, "Content-Type")))
		return berr_set(e, B_EMEDIA, "Content-Type", "Content-Type must be application/json");
	if ((rc = http_body_length(r, &len, e)))
		return rc;
	if ((unsigned long long)len > max)
		return berr_set(e, B_ETOOBIG, "", "the request body is larger than %zu bytes", max);
	body = arena_alloc(r->arena, (size_t)len + 1);
	/* a body may hold a password or a vault value: zeroed with the request, not just freed,
	 * as is the tree parsed from it (cjson_free). libfcgi's 8 KiB input buffer, freed by
	 * FCGX_Finish_r, keeps its last bytes. */
	w = arena_alloc(r->arena, sizeof(*w));
	w->p = body;
	w->n = (size_t)len + 1;
	arena_defer(r->arena, wipe, w);
	while (got < (size_t)len) {
		size_t want = (size_t)len - got > HTTP_READ_CHUNK ? HTTP_READ_CHUNK : (size_t)len - got;
		int n = FCGX_GetStr(body + got, (int)want, r->fcgx->in);

		if (n <= 0)
			return berr_set(e, B_EINVAL, "", "the request body ended early");
		got += (size_t)n;
	}
	body[got] = '\0';
	*out = body;
	*out_len = got;
	return B_OK;
}

int http_auth(struct http_ctx *ctx, struct http_req *r, enum auth_scope scope,
	      struct principal *p, struct berr *e)
{
	return auth_request(ctx->store, &ctx->app->keys, http_header(r, "Authorization"),
			    http_header(r, "X-Team-ID"), scope, p, e);
}

int http_route(struct http_req *r, const char *prefix, const char **seg, int max)
{
	size_t n = strlen(prefix);
	const char *p = r->path + n;
	int count = 0;

	if (strncmp(r->path, prefix, n) != 0 || (*p && *p != '/'))
		return -1;
	if (*p == '/')
		p++;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 0 || count == max)
			return -1;
		seg[count++] = arena_strndup(r->arena, p, len);
		p += len;
		if (*p == '/') {
			p++;
			if (!*p)
				break; /* one trailing slash is fine */
		}
	}
	return count;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) into the arena ('+' is a space, as in forms). */
static char *query_decode(struct arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n + 1), *o = out;

	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			*o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*o++ = s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	return out;
}

const char *http_query(struct http_req *r, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = r->query; p && *p;) {
		size_t len = strcspn(p, "&");
		const char *eq = memchr(p, '=', len);
		size_t kl = eq ? (size_t)(eq - p) : len;

		if (kl == nl && strncmp(p, name, nl) == 0)
			return eq ? query_decode(r->arena, eq + 1, len - kl - 1) : "";
		p += len;
		if (*p == '&')
			p++;
	}
	return NULL;
}

void http_method_not_allowed(struct http_req *r, const char *allow)
{
	struct berr e = {0};

	r->allow = arena_printf(r->arena, "Allow: %s\r\n", allow);
	e.status = 405;
	e.code = "method_not_allowed";
	snprintf(e.message, sizeof(e.message), "%s is not allowed here; use %s", r->method, allow);
	http_respond_error(r, &e);
}

void http_respond_empty(struct http_req *r, int status)
{
	http_respond(r, status, NULL, "", 0, NULL);
}

/* A whole decimal number in [min, max] from a query parameter; absent keeps *out. */
static int query_long(struct http_req *r, const char *name, long min, long max, long *out,
		      struct berr *e)
{
	const char *v = http_query(r, name);
	char *end;
	long n;

	if (!v)
		return B_OK;
	errno = 0;
	n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < min || n > max)
		return berr_set(e, B_EINVAL, name, "%s must be a whole number from %ld to %ld", name,
				min, max);
	*out = n;
	return B_OK;
}

int http_page(struct http_req *r, struct page *pg, struct berr *e)
{
	int rc;

	pg->current_page = 1;
	pg->per_page = PAGE_SIZE_DEFAULT;
	if ((rc = query_long(r, "current_page", 1, 1000000000L, &pg->current_page, e)))
		return rc;
	return query_long(r, "per_page", 1, PAGE_SIZE_MAX, &pg->per_page, e);
}

void http_page_meta(cJSON *obj, const struct page *pg, long total)
{
	cJSON *m = cJSON_AddObjectToObject(obj, "page_meta");

	cJSON_AddNumberToObject(m, "current_page", (double)pg->current_page);
	cJSON_AddNumberToObject(m, "per_page", (double)pg->per_page);
	cJSON_AddNumberToObject(m, "total_count", (double)total);
}

void http_respond_page(struct http_ctx *ctx, struct http_req *r, const char *team_id,
		       const char *name, http_list_fn fn)
{
	struct berr e = {0};
	struct page pg;
	cJSON *out = cJSON_CreateObject();
	cJSON *items = cJSON_AddArrayToObject(out, name);
	long total;

	if (http_page(r, &pg, &e) ||
	    fn(ctx->store, team_id, (int64_t)(pg.current_page - 1) * pg.per_page, pg.per_page,
	       items, &total, &e)) {
		http_respond_error(r, &e);
	} else {
		http_page_meta(out, &pg, total);
		http_respond_json(r, 200, out, NULL);
	}
	cJSON_Delete(out);
}

static int app_init(struct app *app, struct berr *e)
{
	int rc;

	if ((rc = config_load(&app->cfg, NULL, NULL, e)))
		return rc;
	log_init(app->prog, strcmp(app->cfg.log_format, "json") == 0,
		 (enum log_level)log_level_parse(app->cfg.log_level), NULL);
	if ((rc = crypto_init()))
		return berr_set(e, rc, "", "libsodium failed to start");
	return auth_keys_load(&app->keys, app->cfg.jwt_secret_file, app->cfg.jwt_issuer, e);
}

/* libfcgi ends a connection with a lingering close: shutdown, then a poll and reads until
 * the server closes its end, so that no unread request byte turns the close into a reset
 * that could cost the server the answer's tail. Once the whole request body has been read
 * there is nothing to linger for, and the thread goes back to accept() a wakeup sooner.
 * A request that has no body (no CONTENT_LENGTH or 0, not chunked) has its empty stdin
 * record waiting already, taken here. */
static void http_skip_linger(struct http_req *r)
{
	const char *cl = http_param(r, "CONTENT_LENGTH");
	FCGX_Stream *in = r->fcgx->in;

	if (!FCGX_HasSeenEOF(in) && (!cl || strcmp(cl, "0") == 0) &&
	    !http_param(r, "HTTP_TRANSFER_ENCODING"))
		(void)FCGX_GetChar(in);
	if (FCGX_HasSeenEOF(in))
		(void)FCGX_Detach(r->fcgx);
}

static void http_serve_one(struct http_ctx *ctx, FCGX_Request *f, http_handler h)
{
	struct http_req r = {0};
	const char *uri, *q;

	r.fcgx = f;
	r.arena = &ctx->arena;
	r.method = http_param(&r, "REQUEST_METHOD");
	if (!r.method)
		r.method = "GET";
	uri = http_param(&r, "REQUEST_URI");
	if (!uri)
		uri = "/";
	q = strchr(uri, '?');
	r.path = q ? arena_strndup(r.arena, uri, (size_t)(q - uri)) : uri;
	r.query = q ? q + 1 : "";
	http_request_id(&r);
	h(ctx, &r);
	if (!r.responded)
		http_fail(&r, B_EINTERNAL, NULL, "the handler gave no answer");
	log_debug("%s %s %s", r.request_id, r.method, r.path);
	http_skip_linger(&r);
}

static bool http_help(const char *prog, const char *usage, int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: %s\n\n%s\n\nA FastCGI responder: lighttpd (or any FastCGI server) spawns it.\n"
		       "Settings come from BERTH_CONFIG or $BERTH_VAR/berth.conf and BERTH_* variables.\n",
		       prog, usage);
		return true;
	}
	return false;
}

/* Configuration, then the schema brought up to date once, by the first thread of the first
 * process; every later connection only opens. */
static int http_start(struct app *app, const char *prog, struct store **st)
{
	struct berr e = {0};

	app->prog = prog;
	if (app_init(app, &e) || store_open(app->cfg.db, st, &e) || store_migrate(*st, &e)) {
		fprintf(stderr, "%s: %s\n", prog, e.message);
		return 1;
	}
	if (FCGX_Init() != 0) {
		fprintf(stderr, "%s: cannot start FastCGI (run me under lighttpd)\n", prog);
		return 1;
	}
	return 0;
}

int http_main(const char *prog, const char *usage, int argc, char **argv, http_handler h)
{
	static struct app app;
	struct http_ctx ctx = {0};
	FCGX_Request f;

	if (http_help(prog, usage, argc, argv))
		return 0;
	if (http_start(&app, prog, &ctx.store))
		return 1;
	ctx.app = &app;
	arena_init(&ctx.arena);
	if (FCGX_InitRequest(&f, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&f) >= 0) {
		http_serve_one(&ctx, &f, h);
		FCGX_Finish_r(&f);
		arena_reset(&ctx.arena);
	}
	store_close(ctx.store);
	return 0;
}

/* ---- the pool ---- */

#define POOL_STACK_SIZE ((size_t)512 * 1024)

/* Up to POOL_ACCEPTORS threads wait in accept() at once (Linux wakes one per connection); a
 * thread done with its call goes straight back to accept() while there is room, so no other
 * thread has to be woken to take its place. The others wait their turn, the one that became
 * idle last first, and one is woken only when a call takes the last thread from accept().
 * With few calls in flight, a few threads serve them all, each with its store connection's
 * cache and its connection to gatewayd warm from its last call. */
#define POOL_ACCEPTORS 4

struct turn {
	pthread_cond_t cv;
	bool go;
	struct turn *next;
};

struct pool {
	const struct http_prog *prog;
	struct app app;
	pthread_mutex_t mu;
	int accepting;             /* threads in accept() or on their way there */
	struct turn *idle;         /* threads waiting for a turn, the last to come first */
};

/* Waits, if POOL_ACCEPTORS threads are in accept() already, for a turn to accept. */
static void turn_take(struct pool *pl, struct turn *t)
{
	pthread_mutex_lock(&pl->mu);
	if (pl->accepting >= POOL_ACCEPTORS) {
		t->go = false;
		t->next = pl->idle;
		pl->idle = t;
		while (!t->go)
			pthread_cond_wait(&t->cv, &pl->mu);
	}
	pl->accepting++;
	pthread_mutex_unlock(&pl->mu);
}

/* Leaves accept() with a call; when no thread is left there, wakes the one idle the shortest
 * time to take the next. */
static void turn_pass(struct pool *pl)
{
	struct turn *t;

	pthread_mutex_lock(&pl->mu);
	if (--pl->accepting == 0 && (t = pl->idle)) {
		pl->idle = t->next;
		t->go = true;
		pthread_cond_signal(&t->cv);
	}
	pthread_mutex_unlock(&pl->mu);
}

static void no_store(struct http_ctx *ctx, struct http_req *r)
{
	(void)ctx;
	http_fail(r, B_ESTORE, NULL, "the database cannot be opened");
}

/* One accept loop. Its store connection opens with its first request, so an idle thread
 * holds neither memory nor descriptors for one. */
static void *pool_thread(void *arg)
{
	struct pool *pl = arg;
	struct http_ctx ctx = {.app = &pl->app};
	struct turn turn = {.go = false};
	struct berr e = {0};
	FCGX_Request f;
	int rc;

	pthread_cond_init(&turn.cv, NULL);
	arena_init(&ctx.arena);
	if (FCGX_InitRequest(&f, 0, 0) != 0) {
		log_error("a worker thread cannot start FastCGI");
		return NULL;
	}
	if (pl->prog->thread_init && !(ctx.user = pl->prog->thread_init())) {
		log_error("a worker thread cannot set itself up");
		return NULL;
	}
	for (;;) {
		turn_take(pl, &turn);
		rc = FCGX_Accept_r(&f);
		turn_pass(pl);
		if (rc < 0)
			break;
		if (!ctx.store && store_open(pl->app.cfg.db, &ctx.store, &e)) {
			log_error("%s", e.message);
			ctx.store = NULL;
			http_serve_one(&ctx, &f, no_store);
		} else {
			http_serve_one(&ctx, &f, pl->prog->handler);
		}
		FCGX_Finish_r(&f);
		arena_reset(&ctx.arena);
	}
	if (pl->prog->thread_free)
		pl->prog->thread_free(ctx.user);
	if (ctx.store)
		store_close(ctx.store);
	pthread_cond_destroy(&turn.cv);
	return NULL;
}

int http_main_pool(const struct http_prog *p, int argc, char **argv)
{
	static struct pool pl;
	struct store *first = NULL;
	pthread_attr_t attr;
	sigset_t set;
	long started = 0;
	int sig = 0;

	if (http_help(p->name, p->usage, argc, argv))
		return 0;
	pl.prog = p;
	pthread_mutex_init(&pl.mu, NULL);
	if (http_start(&pl.app, p->name, &first))
		return 1;
	store_close(first);
	rlimit_nofile_max(); /* a thread holds a store connection and a socket or two */
	signal(SIGPIPE, SIG_IGN);
	/* the workers inherit the mask; SIGTERM and SIGINT reach only sigwait below */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, POOL_STACK_SIZE);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (long i = 0; i < pl.app.cfg.runtime_threads; i++) {
		pthread_t t;

		if (pthread_create(&t, &attr, pool_thread, &pl) == 0)
			started++;
	}
	pthread_attr_destroy(&attr);
	if (!started) {
		fprintf(stderr, "%s: cannot start any worker thread\n", p->name);
		return 1;
	}
	log_debug("%ld worker threads", started);
	sigwait(&set, &sig);
	/* lighttpd stops its backends with SIGTERM: calls in flight end with the process */
	log_debug("signal %d: stopping", sig);
	return 0;
}
