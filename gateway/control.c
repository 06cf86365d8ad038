/* control.c: gatewayd's unix socket, HTTP/2 (h2c, prior knowledge) for the FastCGI programs:
 * GET /healthz, GET /metrics, POST /control/reconcile, and /agents/{agent id}/... relayed as
 * one stream on that agent's session, both bodies streamed. */
#include "berth.h"
#include "gw.h"
#include "hop.h"
#include "log.h"
#include "uuid.h"
#include "fleet.h"
#include "external.h"
#include "json.h"

#include <errno.h>
#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define EGRESS_PREFIX "/v1/egress/"

/* A connection of a FastCGI program (a thread keeps one open between its calls). */
struct control_conn {
	struct gw *gw;
	struct h2_conn *h2;
	struct control_conn *prev, *next;
};

/* One relayed request: down is the FastCGI program's stream, up the agent's. Either side
 * closing resets the other. */
struct relay {
	struct gw *gw;
	struct h2_stream *down;
	struct h2_stream *up;
};

/* gatewayd's own error answer. x-berth-error marks it as the platform's, so a caller can tell
 * it from the same status coming from the container. msg and code are literals of ours. */
static void respond_json(struct h2_stream *st, int status, const char *code, const char *msg)
{
	struct h2_header h[2] = {{(char *)"content-type", (char *)"application/json"},
				 {(char *)"x-berth-error", (char *)code}};
	char body[512];

	snprintf(body, sizeof(body), "{\"error_message\":\"%s\",\"error_code\":\"%s\"}", msg, code);
	if (h2_respond(st, status, h, 2, true)) {
		log_warn("control: cannot answer %d", status);
		return;
	}
	h2_stream_write(st, body, strlen(body));
	h2_stream_end(st);
}

/* Hop-by-hop headers and x-berth-* (reserved for gatewayd and the agent) stay behind, but for
 * the caller's deadline, which the agent keeps. */
static bool forwardable(const char *name)
{
	if (strcmp(name, "x-berth-timeout-ms") == 0)
		return true;
	return !hop_by_hop(name) && strncmp(name, "x-berth-", 8) != 0 && strcmp(name, "host") != 0;
}

/* An error of ours from a lib/ record (its message escaped, unlike respond_json's literals). */
static void respond_berr(struct h2_stream *st, const struct berr *e)
{
	const char *code = e->code ? e->code : "internal_error";
	struct h2_header h[2] = {{(char *)"content-type", (char *)"application/json"},
				 {(char *)"x-berth-error", (char *)code}};
	cJSON *o = cJSON_CreateObject();
	char *body;

	cJSON_AddStringToObject(o, "error_message", e->message);
	cJSON_AddStringToObject(o, "error_code", code);
	body = json_print(o);
	if (h2_respond(st, e->status ? e->status : 500, h, 2, true) == B_OK) {
		h2_stream_write(st, body, strlen(body));
		h2_stream_end(st);
	}
	free(body);
	cJSON_Delete(o);
}

/* For /v1/egress/<replica>...: the external URL and credential of that replica of this agent,
 * as the first headers (h2 drops what passes its maximum: never these). Only gatewayd sets
 * them: callers' x-berth-* were filtered before. Returns how many were added, or -1 with e. */
static int egress_headers(struct gw *gw, const char *agent_id, const char *rest,
			  struct external_target *t, struct h2_header *hdrs, struct berr *e)
{
	const char *id = rest + strlen(EGRESS_PREFIX);
	char replica[UUID_STR_LEN + 1];
	size_t len = strcspn(id, "/?");

	if (strncmp(rest, EGRESS_PREFIX, strlen(EGRESS_PREFIX)) != 0)
		return 0;
	if (len != UUID_STR_LEN)
		return berr_set(e, B_ENOTFOUND, "", "no such egress replica"), -1;
	memcpy(replica, id, len);
	replica[len] = '\0';
	if (external_resolve(gw->store, gw->vault_ok ? &gw->vault : NULL, agent_id, replica, t, e)) {
		log_warn("egress %s: %s", replica, e->message);
		return -1;
	}
	hdrs[0] = (struct h2_header){(char *)EXTERNAL_HDR_URL, t->url};
	if (!t->has_auth)
		return 1;
	hdrs[1] = (struct h2_header){(char *)EXTERNAL_HDR_AUTH, t->authorization};
	return 2;
}

static void relay_start(struct gw *gw, struct h2_stream *st, const char *agent_id,
			const char *rest)
{
	struct session *s = session_find(gw, agent_id);
	struct h2_header hdrs[H2_HEADERS_MAX];
	struct external_target t;
	struct berr e = {0};
	struct relay *r;
	int k;
	size_t n;

	if (!s)
		return respond_json(st, 503, "agent_offline", "the agent is not connected");
	if (st->dropped_headers) /* relayed, the call would lose the last ones, the platform's */
		return respond_json(st, 400, "validation_failed", "too many headers");
	if ((k = egress_headers(gw, agent_id, rest, &t, hdrs, &e)) < 0)
		return respond_berr(st, &e);
	n = (size_t)k;
	for (size_t i = 0; i < st->nheaders; i++) {
		if (!forwardable(st->headers[i].name))
			continue;
		if (n == H2_HEADERS_MAX) {
			external_target_wipe(&t);
			return respond_json(st, 400, "validation_failed", "too many headers");
		}
		hdrs[n++] = st->headers[i];
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		abort();
	r->gw = gw;
	r->down = st;
	st->user = r;
	r->up = session_relay_open(s, st->method, rest, hdrs, n, r);
	external_target_wipe(&t); /* nghttp2 holds its own copy now */
	if (!r->up) {
		st->user = NULL;
		free(r);
		respond_json(st, 502, "upstream_failed", "cannot open a stream to the agent");
		return;
	}
	/* each side's body is acknowledged once passed on to the other: a slow reader holds
	 * back its writer instead of gatewayd's memory growing */
	h2_stream_manual_window(st);
	h2_stream_manual_window(r->up);
}

void relay_response(void *arg, struct h2_stream *up)
{
	struct relay *r = arg;

	if (r->down && h2_respond(r->down, up->status, up->headers, up->nheaders, true))
		h2_stream_reset(up, 0x8);
}

void relay_data(void *arg, const uint8_t *p, size_t n)
{
	struct relay *r = arg;

	if (r->down)
		h2_stream_write(r->down, p, n);
	else if (r->up)
		h2_stream_consume(r->up, n); /* nobody to pass it to */
}

/* n bytes of the caller's body went on to the agent. */
void relay_sent(void *arg, size_t n)
{
	struct relay *r = arg;

	if (r->down)
		h2_stream_consume(r->down, n);
}

void relay_end(void *arg)
{
	struct relay *r = arg;

	if (r->down)
		h2_stream_end(r->down);
}

/* The agent's stream is gone: reset ours unless it finished cleanly (a lost tunnel is a
 * CANCEL to the program), then forget it. */
void relay_closed(void *arg, uint32_t error)
{
	struct relay *r = arg;

	r->up = NULL;
	if (r->down) {
		if (error)
			h2_stream_reset(r->down, error == H2_CONN_LOST ? 0x8 /* CANCEL */ : error);
		return;
	}
	free(r);
}

static void metrics(struct gw *gw, struct h2_stream *st)
{
	struct evbuffer *b = evbuffer_new();
	cJSON *counts = cJSON_CreateObject(), *c;
	struct berr e = {0};
	size_t n;

	evbuffer_add_printf(b,
		"# HELP berth_gateway_sessions Agents connected now.\n"
		"# TYPE berth_gateway_sessions gauge\nberth_gateway_sessions %zu\n"
		"# TYPE berth_gateway_sessions_total counter\nberth_gateway_sessions_total %llu\n"
		"# HELP berth_gateway_streams_open Streams open on agent sessions.\n"
		"# TYPE berth_gateway_streams_open gauge\nberth_gateway_streams_open %zu\n"
		"# HELP berth_gateway_relay_bytes_total Relayed body bytes by direction.\n"
		"# TYPE berth_gateway_relay_bytes_total counter\n"
		"berth_gateway_relay_bytes_total{direction=\"to_agent\"} %llu\n"
		"berth_gateway_relay_bytes_total{direction=\"from_agent\"} %llu\n"
		"# TYPE berth_gateway_reconciles_total counter\nberth_gateway_reconciles_total %llu\n"
		"# HELP berth_gateway_control_connections_total Connections of the FastCGI programs.\n"
		"# TYPE berth_gateway_control_connections_total counter\n"
		"berth_gateway_control_connections_total %llu\n"
		"# HELP berth_replicas Replicas by state.\n# TYPE berth_replicas gauge\n",
		session_count(gw), (unsigned long long)gw->m.sessions_total,
		session_open_streams(gw), (unsigned long long)gw->m.bytes_in,
		(unsigned long long)gw->m.bytes_out, (unsigned long long)gw->m.reconciles,
		(unsigned long long)gw->m.control_connections);
	if (fleet_replica_counts(gw->store, counts, &e))
		log_error("metrics: %s", e.message);
	cJSON_ArrayForEach(c, counts)
		evbuffer_add_printf(b, "berth_replicas{state=\"%s\"} %d\n", c->string, c->valueint);
	n = evbuffer_get_length(b);
	if (h2_respond_simple(st, 200, "text/plain; version=0.0.4",
			      (const char *)evbuffer_pullup(b, -1), n))
		log_warn("control: cannot answer /metrics");
	evbuffer_free(b);
	cJSON_Delete(counts);
}

/* /agents/<uuid>/<rest>: the agent id and where rest starts, or false. */
static bool agent_path(const char *path, char id[UUID_STR_LEN + 1], const char **rest)
{
	if (strncmp(path, "/agents/", 8) != 0 || strlen(path) < 8 + UUID_STR_LEN + 1)
		return false;
	memcpy(id, path + 8, UUID_STR_LEN);
	id[UUID_STR_LEN] = '\0';
	*rest = path + 8 + UUID_STR_LEN;
	return uuid_valid(id) && **rest == '/';
}

static void control_request(struct h2_stream *st, void *arg)
{
	struct gw *gw = ((struct control_conn *)arg)->gw;
	char id[UUID_STR_LEN + 1];
	const char *rest;

	if (!st->method || !st->path)
		return respond_json(st, 400, "validation_failed", "a request needs :method and :path");
	if (strcmp(st->path, "/healthz") == 0 && strcmp(st->method, "GET") == 0) {
		if (h2_respond_simple(st, 200, "text/plain", "ok\n", 3))
			log_warn("control: cannot answer /healthz");
	} else if (strcmp(st->path, "/metrics") == 0 && strcmp(st->method, "GET") == 0) {
		metrics(gw, st);
	} else if (strcmp(st->path, "/control/reconcile") == 0 && strcmp(st->method, "POST") == 0) {
		gw_reconcile_soon(gw);
		if (h2_respond_simple(st, 202, "application/json", "{\"is_success\":true}", 19))
			log_warn("control: cannot answer /control/reconcile");
	} else if (agent_path(st->path, id, &rest)) {
		relay_start(gw, st, id, rest);
	} else {
		respond_json(st, 404, "not_found", "no such endpoint");
	}
}

static void control_data(struct h2_stream *st, const uint8_t *p, size_t n, void *arg)
{
	struct relay *r = st->user;

	if (r && r->up) {
		((struct control_conn *)arg)->gw->m.bytes_in += n;
		h2_stream_write(r->up, p, n);
	} else {
		h2_stream_consume(st, n); /* nobody to pass it to */
	}
}

/* n bytes of the agent's answer went on to the caller. */
static void control_sent(struct h2_stream *st, size_t n, void *arg)
{
	struct relay *r = st->user;

	(void)arg;
	if (r && r->up)
		h2_stream_consume(r->up, n);
}

static void control_end(struct h2_stream *st, void *arg)
{
	struct relay *r = st->user;

	(void)arg;
	if (r && r->up)
		h2_stream_end(r->up);
}

/* The caller's stream is gone (finished or the client went away): cancel the agent's. */
static void control_close(struct h2_stream *st, uint32_t error, void *arg)
{
	struct relay *r = st->user;

	(void)arg;
	if (error && error != 0x8 /* CANCEL: a caller that left */ && error != H2_CONN_LOST)
		log_warn("control: a program's stream %d ended with HTTP/2 error %u", st->id, error);
	if (!r)
		return;
	r->down = NULL;
	if (r->up)
		h2_stream_reset(r->up, 0x8 /* CANCEL */);
	else
		free(r);
}

static void control_unlink(struct control_conn *cc)
{
	if (cc->prev)
		cc->prev->next = cc->next;
	else
		cc->gw->controls = cc->next;
	if (cc->next)
		cc->next->prev = cc->prev;
}

static void control_conn_closed(struct h2_conn *c, void *arg)
{
	struct control_conn *cc = arg;

	control_unlink(cc);
	h2_conn_free(c);
	free(cc);
}

void control_free_all(struct gw *gw)
{
	struct control_conn *cc = gw->controls, *next;

	gw->controls = NULL; /* h2_conn_free tells its streams, not conn_closed: no unlisting */
	for (; cc; cc = next) {
		next = cc->next;
		h2_conn_free(cc->h2);
		free(cc);
	}
}

static const struct h2_callbacks control_h2 = {
	.request = control_request,
	.data = control_data,
	.sent = control_sent,
	.end = control_end,
	.close = control_close,
	.conn_closed = control_conn_closed,
};

static void control_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
			   int len, void *arg)
{
	struct gw *gw = arg;
	struct bufferevent *bev = bufferevent_socket_new(gw->base, fd, BEV_OPT_CLOSE_ON_FREE);
	struct control_conn *cc = calloc(1, sizeof(*cc));

	(void)l;
	(void)sa;
	(void)len;
	if (!cc)
		abort();
	gw->m.control_connections++;
	cc->gw = gw;
	cc->next = gw->controls; /* listed first: a callback may already unlist it */
	if (gw->controls)
		gw->controls->prev = cc;
	gw->controls = cc;
	if (!(cc->h2 = h2_conn_new(bev, true, &control_h2, cc))) {
		control_unlink(cc);
		bufferevent_free(bev);
		free(cc);
	}
}

/* Each thread of the FastCGI programs keeps a connection (lib/tunnel.c), and a burst of a
 * thousand streams may open them at once: a unix socket refuses connections past its backlog
 * at once. */
#define SOMAXCONN_BURST 4096

int control_listen(struct gw *gw)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(gw->opts.socket) >= sizeof(a.sun_path)) {
		log_error("control socket path too long: %s", gw->opts.socket);
		return B_EINVAL;
	}
	memcpy(a.sun_path, gw->opts.socket, strlen(gw->opts.socket) + 1);
	/* a socket left by a previous run goes; one another gatewayd still serves stays its own */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		log_error("control socket %s: another berth-gatewayd answers there", gw->opts.socket);
		close(fd);
		return B_EIO;
	}
	if (fd >= 0)
		close(fd);
	unlink(gw->opts.socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || chmod(gw->opts.socket, 0660) ||
	    listen(fd, SOMAXCONN_BURST)) {
		log_error("control socket %s: %s", gw->opts.socket, strerror(errno));
		if (fd >= 0)
			close(fd);
		return B_EIO;
	}
	evutil_make_socket_nonblocking(fd);
	gw->control_listener = evconnlistener_new(gw->base, control_accept, gw,
						  LEV_OPT_CLOSE_ON_FREE, -1, fd);
	return gw->control_listener ? B_OK : B_EIO;
}
