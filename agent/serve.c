/* serve.c: what the agent answers on the tunnel (DESIGN.md, "Processes"): GET /v1/info,
 * GET /v1/events (one JSON object per line, for as long as the tunnel lives), GET /v1/replicas,
 * PUT and DELETE /v1/replicas/{id}, and ANY /v1/proxy/{replica id}/{path} (to the container,
 * through upstream.c, both bodies streamed) and ANY /v1/egress/{replica id}/{path} (the same,
 * to an external service over TLS: egress.c). The gateway is the only caller. */
#include "berth.h"
#include "agent.h"
#include "buf.h"
#include "egress.h"
#include "json.h"
#include "log.h"
#include "upstream.h"
#include "uuid.h"

#include <event2/buffer.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define SPEC_MAX ((size_t)1024 * 1024)
#define PROXY_PREFIX "/v1/proxy/"
#define EGRESS_PREFIX "/v1/egress/"
#define PROXY_OUT_HIGH ((size_t)1024 * 1024) /* stop reading the container above this ... */
#define PROXY_OUT_LOW ((size_t)256 * 1024)   /* ... until the answer drains below this */
#define PROXY_TIMEOUT_MAX_MS 86400000L       /* x-berth-timeout-ms: at most a day */
#define PROXY_PATH_MAX ((size_t)64 * 1024)

/* One open GET /v1/events answer. */
struct event_stream {
	struct h2_stream *st;
	struct event_stream *next;
};

/* One call to a container: the h2 stream answers with what upstream receives. */
struct proxy {
	struct h2_stream *st;
	struct upstream *up;            /* NULL once the call is over */
	struct evbuffer_cb_entry *watch; /* on st->out, for backpressure */
	bool egress;                    /* /v1/egress/: to an external service */
	bool responded;                 /* the answer's head went out: errors now reset */
	bool body;                      /* the answer has a body still to end */
	bool paused;
	size_t unacked;                 /* request body passed to upstream, not yet sent on */
};

/* A request being received: its body collects here until the end, but for /v1/proxy/, whose
 * body streams on to the container. */
struct req {
	struct evbuffer *body;          /* NULL for /v1/proxy/ */
	bool too_big;
	bool events;
	struct proxy *proxy;
};

static void answer(struct h2_stream *st, int status, const cJSON *o)
{
	char *s = json_print(o);

	if (h2_respond_simple(st, status, "application/json", s, strlen(s)))
		log_warn("cannot answer %s %s", st->method, st->path);
	free(s);
}

/* The agent's own error. x-berth-error marks it as the platform's, so the caller can tell it
 * from a container that answered with the same status. */
static void answer_error(struct h2_stream *st, const struct berr *e)
{
	const char *code = e->code ? e->code : "internal_error";
	struct h2_header h[2] = {{(char *)"content-type", (char *)"application/json"},
				 {(char *)"x-berth-error", (char *)code}};
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddStringToObject(o, "error_message", e->message);
	cJSON_AddStringToObject(o, "error_code", code);
	if (e->field[0])
		cJSON_AddStringToObject(o, "field", e->field);
	s = json_print(o);
	if (h2_respond(st, e->status ? e->status : 500, h, 2, true) == B_OK) {
		h2_stream_write(st, s, strlen(s));
		h2_stream_end(st);
	}
	free(s);
	cJSON_Delete(o);
}

static const char *arch(void)
{
	static struct utsname u;

	if (uname(&u))
		return "unknown";
	if (strcmp(u.machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(u.machine, "aarch64") == 0)
		return "arm64";
	return u.machine;
}

cJSON *serve_info(struct agent *a)
{
	cJSON *o = cJSON_CreateObject(), *labels = cJSON_AddArrayToObject(o, "agent_labels");
	char detail[512], list[sizeof(a->opts.labels)], *save = NULL;
	bool docker = replicas_docker_ok(a->replicas, detail, sizeof(detail));

	cJSON_AddStringToObject(o, "agent_name", a->opts.name);
	cJSON_AddStringToObject(o, "agent_version", AGENT_VERSION);
	cJSON_AddStringToObject(o, "platform_arch", arch());
	snprintf(list, sizeof(list), "%s", a->opts.labels);
	for (char *l = strtok_r(list, ",", &save); l; l = strtok_r(NULL, ",", &save))
		cJSON_AddItemToArray(labels, cJSON_CreateString(l));
	if (cJSON_GetArraySize(a->gpus) > 0)
		cJSON_AddItemToArray(labels, cJSON_CreateString("gpu"));
	cJSON_AddNumberToObject(o, "gpu_capacity", cJSON_GetArraySize(a->gpus));
	cJSON_AddItemToObject(o, "gpu_devices", cJSON_Duplicate(a->gpus, true));
	cJSON_AddBoolToObject(o, "docker_reachable", docker);
	cJSON_AddStringToObject(o, "docker_detail", detail);
	return o;
}

/* One event line to every open event stream. */
static void broadcast(struct agent *a, cJSON *o)
{
	char *line = json_print(o);

	for (struct event_stream *s = a->streams; s; s = s->next) {
		h2_stream_write(s->st, line, strlen(line));
		h2_stream_write(s->st, "\n", 1);
	}
	free(line);
}

void serve_replica_event(void *ctx, const struct replica_event *ev)
{
	struct agent *a = ctx;
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "type", "replica");
	cJSON_AddStringToObject(o, "replica_id", ev->replica_id);
	cJSON_AddStringToObject(o, "service_id", ev->service_id ? ev->service_id : "");
	cJSON_AddStringToObject(o, "replica_state", ev->state);
	cJSON_AddStringToObject(o, "replica_detail", ev->detail ? ev->detail : "");
	cJSON_AddStringToObject(o, "container_id", ev->container_id ? ev->container_id : "");
	broadcast(a, o);
	cJSON_Delete(o);
}

void serve_runtime_check(struct agent *a, bool force)
{
	char detail[512];
	bool ok = replicas_docker_ok(a->replicas, detail, sizeof(detail));
	cJSON *o;

	/* not before the first ping: an agent just started must not look like it has no engine */
	if (!replicas_docker_known(a->replicas) || (!force && a->runtime_sent == (int)ok))
		return;
	a->runtime_sent = ok;
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "runtime");
	cJSON_AddBoolToObject(o, "runtime_ok", ok);
	cJSON_AddStringToObject(o, "runtime_detail", ok ? "" : detail);
	broadcast(a, o);
	cJSON_Delete(o);
}

void serve_forget_streams(struct agent *a)
{
	while (a->streams) {
		struct event_stream *s = a->streams;

		a->streams = s->next;
		free(s);
	}
}

static void events_open(struct agent *a, struct h2_stream *st)
{
	struct h2_header ct = {(char *)"content-type", (char *)"application/x-ndjson"};
	struct event_stream *s = calloc(1, sizeof(*s));

	if (!s)
		abort();
	if (h2_respond(st, 200, &ct, 1, true)) {
		free(s);
		return;
	}
	((struct req *)st->user)->events = true;
	s->st = st;
	s->next = a->streams;
	a->streams = s;
	serve_runtime_check(a, true); /* a new gateway session starts from what is true now */
}

static void events_close(struct agent *a, struct h2_stream *st)
{
	for (struct event_stream **p = &a->streams; *p; p = &(*p)->next) {
		if ((*p)->st == st) {
			struct event_stream *dead = *p;

			*p = dead->next;
			free(dead);
			return;
		}
	}
}

/* PUT /v1/replicas/{id} with the spec as its body, DELETE /v1/replicas/{id}. */
static void replica_command(struct agent *a, struct h2_stream *st, const char *id,
			    struct req *q)
{
	struct berr e = {0};
	cJSON *spec = NULL, *o;
	int rc;

	if (!uuid_valid(id)) {
		berr_set(&e, B_ENOTFOUND, "", "a replica id is a UUID");
		return answer_error(st, &e);
	}
	if (strcmp(st->method, "DELETE") == 0) {
		rc = egress_delete(a, id) ? B_OK : replicas_delete(a->replicas, id, &e);
	} else if (q->too_big) {
		rc = berr_set(&e, B_ETOOBIG, "", "a replica spec is at most %zu bytes", SPEC_MAX);
	} else {
		size_t n = evbuffer_get_length(q->body);
		char *text = (char *)evbuffer_pullup(q->body, -1);

		rc = json_parse_object(text ? text : (char *)"", n, &spec, &e);
		if (!rc)
			rc = egress_spec(spec) ? egress_put(a, id, spec, &e) :
						 replicas_put(a->replicas, id, spec, &e);
	}
	cJSON_Delete(spec);
	if (rc)
		return answer_error(st, &e);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "replica_id", id);
	answer(st, 202, o);
	cJSON_Delete(o);
}

static void route(struct agent *a, struct h2_stream *st, struct req *q)
{
	const char *m = st->method ? st->method : "", *p = st->path ? st->path : "";
	struct berr e = {0};
	cJSON *o;

	if (strcmp(p, "/v1/info") == 0 && strcmp(m, "GET") == 0) {
		o = serve_info(a);
		answer(st, 200, o);
		cJSON_Delete(o);
	} else if (strcmp(p, "/v1/events") == 0 && strcmp(m, "GET") == 0) {
		events_open(a, st);
	} else if (strcmp(p, "/v1/replicas") == 0 && strcmp(m, "GET") == 0) {
		o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "replica_list", replicas_list(a->replicas));
		egress_list(a, cJSON_GetObjectItem(o, "replica_list"));
		answer(st, 200, o);
		cJSON_Delete(o);
	} else if (strncmp(p, "/v1/replicas/", 13) == 0 &&
		   (strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0)) {
		replica_command(a, st, p + 13, q);
	} else {
		berr_set(&e, B_ENOTFOUND, "", "no such endpoint: %s %s", m, p);
		answer_error(st, &e);
	}
}

/* ---- ANY /v1/proxy/{replica id}/{path...} ---- */

/* How much of a path to log: a query string may carry a caller's token. */
static int proxy_loggable(const char *path)
{
	return (int)strcspn(path, "?");
}

static void proxy_head(void *arg, int status, const struct upstream_header *h, size_t n,
		       bool body)
{
	struct proxy *p = arg;
	struct h2_header hh[UPSTREAM_HEADERS_MAX];

	for (size_t i = 0; i < n; i++)
		hh[i] = (struct h2_header){(char *)h[i].name, (char *)h[i].value};
	p->responded = true;
	p->body = body;
	/* may close the stream at once (no body, request complete): p is gone after this */
	if (h2_respond(p->st, status, hh, n, body))
		log_warn("proxy %.*s: cannot answer", proxy_loggable(p->st->path), p->st->path);
}

static void proxy_body(void *arg, const void *data, size_t n)
{
	struct proxy *p = arg;

	h2_stream_write(p->st, data, n);
}

static void proxy_body_from(void *arg, struct evbuffer *from, size_t n)
{
	struct proxy *p = arg;

	h2_stream_write_from(p->st, from, n);
}

/* The call is over. The last h2 call may close the stream, and p with it. */
static void proxy_finish(void *arg, int rc, const struct berr *e)
{
	struct proxy *p = arg;
	struct h2_stream *st = p->st;
	struct berr why = {0};

	if (rc != B_OK)
		why = *e;
	if (rc != B_OK && p->egress)
		egress_explain(st, p->up, &why);
	upstream_free(p->up);
	p->up = NULL;
	/* body the container never took (an early answer, a timeout): given back, or the caller
	 * could never send the rest of it, which on_data now drops */
	h2_stream_consume(st, p->unacked);
	p->unacked = 0;
	if (rc == B_OK) {
		if (p->body)
			h2_stream_end(st);
		return;
	}
	log_warn("proxy %s %.*s: %s", st->method, proxy_loggable(st->path), st->path, why.message);
	if (p->responded)
		h2_stream_reset(st, NGHTTP2_INTERNAL_ERROR);
	else
		answer_error(st, &why);
}

/* The container took all of the request body so far: the caller may send that much more. */
static void proxy_drained(void *arg)
{
	struct proxy *p = arg;

	h2_stream_consume(p->st, p->unacked);
	p->unacked = 0;
}

static const struct upstream_callbacks proxy_callbacks = {
	.head = proxy_head,
	.body = proxy_body,
	.body_from = proxy_body_from,
	.drained = proxy_drained,
	.finish = proxy_finish,
};

/* Backpressure: the answer waits in st->out for HTTP/2 flow control; past PROXY_OUT_HIGH
 * the container is not read until nghttp2 has taken it below PROXY_OUT_LOW. */
static void proxy_out_changed(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct proxy *p = arg;
	size_t len = info->orig_size + info->n_added - info->n_deleted;

	(void)b;
	if (!p->up)
		return;
	if (!p->paused && len > PROXY_OUT_HIGH) {
		p->paused = true;
		upstream_pause(p->up, true);
	} else if (p->paused && len <= PROXY_OUT_LOW) {
		p->paused = false;
		upstream_pause(p->up, false);
	}
}

/* The caller's headers for the container into out (room for st->nheaders + 1) and *n.
 * x-berth-* are between gatewayd and the agent and stay here; HTTP/2's split cookie lines
 * become one (RFC 9113 section 8.2.3), held by cookie; upstream.c drops the hop-by-hop ones. */
static int proxy_headers(const struct h2_stream *st, struct upstream_header *out, size_t *n,
			 struct buf *cookie, struct berr *e)
{
	*n = 0;
	if (st->dropped_headers)
		return berr_set(e, B_EINVAL, "", "more than %d headers", H2_HEADERS_MAX);
	for (size_t i = 0; i < st->nheaders; i++) {
		const char *name = st->headers[i].name, *value = st->headers[i].value;

		if (strncmp(name, "x-berth-", 8) == 0)
			continue;
		if (strcmp(name, "cookie") != 0)
			out[(*n)++] = (struct upstream_header){name, value};
		else if ((cookie->len && buf_addstr(cookie, "; ")) || buf_addstr(cookie, value))
			return berr_set(e, B_ETOOBIG, "", "the cookies are longer than %zu bytes",
					cookie->max);
	}
	if (cookie->len)
		out[(*n)++] = (struct upstream_header){"cookie", buf_str(cookie)};
	return B_OK;
}

/* x-berth-timeout-ms, when the gateway sent a sane one. */
static long proxy_timeout(const struct h2_stream *st)
{
	const char *v = h2_stream_header(st, "x-berth-timeout-ms");
	char *end;
	long ms;

	if (!v || *v < '0' || *v > '9')
		return UPSTREAM_TIMEOUT_MS_DEFAULT;
	ms = strtol(v, &end, 10);
	return *end || ms < 1 || ms > PROXY_TIMEOUT_MAX_MS ? UPSTREAM_TIMEOUT_MS_DEFAULT : ms;
}

/* The request's body length from its content-length, -1 without one; B_EINVAL when bad. */
static int proxy_length(const struct h2_stream *st, long long *len, struct berr *e)
{
	const char *v = h2_stream_header(st, "content-length");
	char *end;

	*len = -1;
	if (!v)
		return B_OK;
	if (*v < '0' || *v > '9' || (*len = strtoll(v, &end, 10)) < 0 || *end)
		return berr_set(e, B_EINVAL, "content-length", "content-length is not a number");
	return B_OK;
}

/* /v1/proxy/<id>[/path][?query] (or /v1/egress/...) → the replica id and the request target. */
static int proxy_target(const char *path, char *id, size_t n, struct buf *target, struct berr *e)
{
	const char *rest = path + (strncmp(path, EGRESS_PREFIX, strlen(EGRESS_PREFIX)) == 0 ?
				   strlen(EGRESS_PREFIX) : strlen(PROXY_PREFIX));
	size_t len = strcspn(rest, "/?");

	if (len == 0 || len >= n)
		return berr_set(e, B_ENOTFOUND, "", "no such replica on this agent");
	memcpy(id, rest, len);
	id[len] = '\0';
	rest += len;
	if ((*rest != '/' && buf_addstr(target, "/")) || buf_addstr(target, rest))
		return berr_set(e, B_ETOOBIG, "", "the path is longer than %zu bytes", PROXY_PATH_MAX);
	return B_OK;
}

/* Where the replica answers: B_ENOTFOUND or B_EUNAVAILABLE (not healthy) otherwise. */
static int proxy_address(struct agent *a, const char *id, char *host, size_t n, int *port,
			 struct berr *e)
{
	int rc = replicas_address(a->replicas, id, host, n, port);

	if (rc == B_ENOTFOUND)
		return berr_set(e, rc, "", "no replica %s on this agent", id);
	if (rc == B_ECONFLICT)
		return berr_set(e, B_EUNAVAILABLE, "", "replica %s is not healthy", id);
	if (rc)
		return berr_set(e, B_EINTERNAL, "", "cannot tell where replica %s answers", id);
	return B_OK;
}

/* Everything the call needs from the request, then the call itself. */
static int proxy_open(struct agent *a, struct h2_stream *st, struct proxy *p, struct berr *e)
{
	char id[DOCKER_REPLICA_ID_MAX + 1], host[DOCKER_IP_MAX + 1];
	struct upstream_header hdrs[H2_HEADERS_MAX + 1];
	struct upstream_request rq = {.host = host, .method = st->method};
	struct buf target, cookie;
	int rc;

	buf_init(&target, PROXY_PATH_MAX);
	buf_init(&cookie, PROXY_PATH_MAX);
	if ((rc = proxy_target(st->path, id, sizeof(id), &target, e)) ||
	    (!p->egress && (rc = proxy_address(a, id, host, sizeof(host), &rq.port, e))) ||
	    (rc = proxy_length(st, &rq.content_length, e)) ||
	    (rc = proxy_headers(st, hdrs, &rq.nheaders, &cookie, e)))
		goto out;
	rq.target = buf_str(&target);
	rq.headers = hdrs;
	rq.timeout_ms = proxy_timeout(st);
	p->up = p->egress ? egress_open(a, st, id, &rq, &proxy_callbacks, p, e) :
			    upstream_open(a->base, &rq, &proxy_callbacks, p, e);
	rc = p->up ? B_OK : B_EUPSTREAM;
out:
	buf_free(&target);
	buf_free(&cookie);
	return rc;
}

/* At the request's headers: the call starts now and its body follows as it comes. */
static void proxy_start(struct agent *a, struct h2_stream *st, struct req *q)
{
	struct proxy *p = calloc(1, sizeof(*p));
	struct berr e = {0};

	if (!p)
		abort();
	p->st = st;
	p->egress = strncmp(st->path, EGRESS_PREFIX, strlen(EGRESS_PREFIX)) == 0;
	if (proxy_open(a, st, p, &e)) {
		free(p);
		return answer_error(st, &e);
	}
	p->watch = evbuffer_add_cb(st->out, proxy_out_changed, p);
	h2_stream_manual_window(st); /* the body is acknowledged as the container takes it */
	q->proxy = p;
}

/* The stream is gone: a call still running is aborted. Closed cleanly, it was done (an answer
 * without a body closes it inside proxy_head); reset, the caller went away; or the tunnel
 * itself ended. */
static void proxy_close(struct proxy *p, uint32_t error)
{
	if (p->up && error == H2_CONN_LOST)
		log_warn("proxy %.*s: the connection to gatewayd ended during the call",
			 proxy_loggable(p->st->path), p->st->path);
	else if (p->up && error)
		log_info("proxy %.*s: the caller went away (HTTP/2 error %u)",
			 proxy_loggable(p->st->path), p->st->path, error);
	upstream_free(p->up);
	evbuffer_remove_cb_entry(p->st->out, p->watch);
	free(p);
}

/* ---- the HTTP/2 callbacks ---- */

static bool is_proxy(const struct h2_stream *st)
{
	return st->method && st->path && (strncmp(st->path, PROXY_PREFIX, strlen(PROXY_PREFIX)) == 0 ||
					  strncmp(st->path, EGRESS_PREFIX, strlen(EGRESS_PREFIX)) == 0);
}

static void on_request(struct h2_stream *st, void *arg)
{
	struct req *q = calloc(1, sizeof(*q));

	if (!q)
		abort();
	st->user = q;
	if (is_proxy(st))
		proxy_start(arg, st, q);
	else
		q->body = evbuffer_new();
}

static void on_data(struct h2_stream *st, const uint8_t *p, size_t n, void *arg)
{
	struct req *q = st->user;

	(void)arg;
	if (q && q->proxy && q->proxy->up) {
		q->proxy->unacked += n;
		upstream_write(q->proxy->up, p, n);
	} else if (q && q->proxy) {
		h2_stream_consume(st, n); /* the call is over: nobody takes it */
	}
	if (!q || !q->body || q->too_big)
		return;
	if (evbuffer_get_length(q->body) + n > SPEC_MAX) {
		q->too_big = true;
		evbuffer_drain(q->body, evbuffer_get_length(q->body));
		return;
	}
	evbuffer_add(q->body, p, n);
}

static void on_end(struct h2_stream *st, void *arg)
{
	struct req *q = st->user;

	if (q && q->proxy && q->proxy->up)
		upstream_end(q->proxy->up);
	else if (q && q->body)
		route(arg, st, q);
}

static void on_close(struct h2_stream *st, uint32_t error, void *arg)
{
	struct req *q = st->user;

	if (!q)
		return;
	if (q->events)
		events_close(arg, st);
	if (q->proxy)
		proxy_close(q->proxy, error);
	if (q->body)
		evbuffer_free(q->body);
	free(q);
	st->user = NULL;
}

const struct h2_callbacks serve_callbacks = {
	.request = on_request,
	.data = on_data,
	.end = on_end,
	.close = on_close,
};
