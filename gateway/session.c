/* session.c: agent connections: the HTTP/1.1 Upgrade handshake with its ak- credential,
 * then HTTP/2 with gatewayd as the client: /v1/info, the /v1/events stream, the agent's
 * replica list, replica commands, and PING liveness with a deadline. */
#include "berth.h"
#include "gw.h"
#include "fleet.h"
#include "json.h"
#include "log.h"
#include "valid.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HANDSHAKE_MAX 8192
#define HANDSHAKE_TIMEOUT_S 10
#define INFO_MAX ((size_t)256 * 1024)
#define EVENT_LINE_MAX ((size_t)64 * 1024)

struct session {
	struct gw *gw;
	struct session *next;
	struct bufferevent *bev;  /* the handshake's; the h2 connection owns it afterwards */
	struct h2_conn *h2;
	char agent_id[UUID_STR_LEN + 1];
	char team_id[UUID_STR_LEN + 1];
	char name[AGENT_NAME_MAX + 1];
	bool online;              /* /v1/info answered */
	bool ending;              /* session_end was called: freed on the next loop turn */
	bool replaced;            /* a newer connection of the same agent took over */
	bool ping_outstanding;
	int64_t last_ack_ms;      /* the last PING answer, moved on by time gatewayd lost since */
};

enum call_kind { CALL_INFO, CALL_EVENTS, CALL_REPLICAS, CALL_PUT, CALL_DELETE, CALL_RELAY };

/* One request gatewayd made on an agent's session. */
struct call {
	enum call_kind kind;
	struct session *sess;
	struct evbuffer *body;
	char replica_id[UUID_STR_LEN + 1];
	void *relay;              /* CALL_RELAY: the control-socket side (control.c) */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void session_unlink(struct session *s)
{
	for (struct session **p = &s->gw->sessions; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			return;
		}
	}
}

/* Frees a session now; the agent's row goes offline unless a newer session replaced it. */
static void session_free(struct session *s)
{
	struct berr e = {0};

	session_unlink(s);
	if (s->online && !s->replaced) {
		if (fleet_agent_offline(s->gw->store, s->agent_id, &e))
			log_error("agent %s: cannot record it offline: %s", s->name, e.message);
		log_info("agent %s offline", s->name);
		gw_reconcile_soon(s->gw);
	}
	if (s->h2)
		h2_conn_free(s->h2);
	else if (s->bev)
		bufferevent_free(s->bev);
	free(s);
}

static void session_end_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_free(arg);
}

/* Ends a session from anywhere, callbacks of its own connection included: the free happens
 * on the next turn of the loop, when nothing of it is on the stack. */
static void session_end(struct session *s, const char *why)
{
	if (s->ending)
		return;
	s->ending = true;
	log_info("agent %s: session ends: %s", s->name[0] ? s->name : "(handshake)", why);
	event_base_once(s->gw->base, -1, EV_TIMEOUT, session_end_cb, s, NULL);
}

struct session *session_find(struct gw *gw, const char *agent_id)
{
	for (struct session *s = gw->sessions; s; s = s->next)
		if (s->online && !s->ending && strcmp(s->agent_id, agent_id) == 0)
			return s;
	return NULL;
}

struct h2_conn *session_conn(struct session *s)
{
	return s->h2;
}

size_t session_count(const struct gw *gw)
{
	size_t n = 0;

	for (struct session *s = gw->sessions; s; s = s->next)
		n += s->online && !s->ending;
	return n;
}

size_t session_open_streams(const struct gw *gw)
{
	size_t n = 0;

	for (struct session *s = gw->sessions; s; s = s->next)
		if (s->h2)
			n += h2_conn_streams(s->h2);
	return n;
}

void session_free_all(struct gw *gw)
{
	struct session *s, *next;

	for (s = gw->sessions; s; s = next) {
		next = s->next;
		session_free(s);
	}
}

static struct call *call_new(struct session *s, enum call_kind kind, const char *replica_id)
{
	struct call *c = calloc(1, sizeof(*c));

	if (!c)
		abort();
	c->kind = kind;
	c->sess = s;
	c->body = evbuffer_new();
	if (replica_id)
		snprintf(c->replica_id, sizeof(c->replica_id), "%s", replica_id);
	return c;
}

/* A body as a parsed JSON value (NULL when it is not JSON). */
static cJSON *body_json(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);

	return n ? cJSON_ParseWithLength((const char *)evbuffer_pullup(b, -1), n) : NULL;
}

/* What the agent says of one replica, in an event or its replica list. */
static void session_report(struct session *s, const cJSON *r)
{
	const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(r, "replica_id"));
	const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(r, "replica_state"));
	const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(r, "replica_detail"));
	const char *cid = cJSON_GetStringValue(cJSON_GetObjectItem(r, "container_id"));
	struct sched_cmd del = {.op = SCHED_DELETE};
	struct berr e = {0};
	bool changed = false;
	int rc;

	if (!id || !uuid_valid(id) || !state)
		return;
	rc = fleet_replica_report(s->gw->store, s->agent_id, id, state, detail, cid, &changed, &e);
	if (rc == B_ENOTFOUND && strcmp(state, "stopped") != 0 && strcmp(state, "stopping") != 0) {
		/* a container the store does not want (left from before, or undeployed) */
		log_info("agent %s: removing unwanted replica %s", s->name, id);
		snprintf(del.agent_id, sizeof(del.agent_id), "%s", s->agent_id);
		snprintf(del.replica_id, sizeof(del.replica_id), "%s", id);
		session_command(s->gw, &del);
	} else if (rc && rc != B_ENOTFOUND) {
		log_error("agent %s: replica %s: %s", s->name, id, e.message);
	}
	/* only news: a removal failing over and over (Docker down) must not turn each of its
	 * reports into a pass and a new DELETE at once; the reconciler's tick retries */
	if (changed)
		gw_reconcile_soon(s->gw);
}

/* The agent's Docker engine came or went: it gets replicas only while it answers. */
static void session_runtime(struct session *s, const cJSON *ev)
{
	bool ok = cJSON_IsTrue(cJSON_GetObjectItem(ev, "runtime_ok"));
	const char *detail = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "runtime_detail"));
	struct berr e = {0};

	if (fleet_agent_runtime(s->gw->store, s->agent_id, ok, detail, &e))
		log_error("agent %s: %s", s->name, e.message);
	log_info("agent %s: container runtime %s%s%s", s->name, ok ? "available" : "unavailable",
		 ok || !detail ? "" : ": ", ok || !detail ? "" : detail);
	gw_reconcile_soon(s->gw);
}

/* Each complete line of the events stream is one JSON event. */
static void events_lines(struct call *c)
{
	char *line;
	size_t n;

	while ((line = evbuffer_readln(c->body, &n, EVBUFFER_EOL_LF))) {
		cJSON *ev = cJSON_ParseWithLength(line, n);
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "type"));

		if (type && strcmp(type, "replica") == 0)
			session_report(c->sess, ev);
		else if (type && strcmp(type, "runtime") == 0)
			session_runtime(c->sess, ev);
		cJSON_Delete(ev);
		free(line);
	}
	if (evbuffer_get_length(c->body) > EVENT_LINE_MAX)
		session_end(c->sess, "an event line is too long");
}

static void session_open(struct session *s, enum call_kind kind, const char *path)
{
	struct call *c = call_new(s, kind, NULL);

	if (!h2_request(s->h2, "GET", path, NULL, 0, false, c)) {
		evbuffer_free(c->body);
		free(c);
		session_end(s, "cannot open a stream");
	}
}

static void on_info(struct session *s, struct call *c)
{
	cJSON *info = body_json(c->body);
	struct berr e = {0};

	if (!cJSON_IsObject(info) || fleet_agent_online(s->gw->store, s->agent_id, info, &e)) {
		cJSON_Delete(info);
		session_end(s, e.message[0] ? e.message : "its /v1/info is not a JSON object");
		return;
	}
	cJSON_Delete(info);
	s->online = true;
	s->last_ack_ms = now_ms();
	log_info("agent %s online", s->name);
	session_open(s, CALL_EVENTS, "/v1/events");
	session_open(s, CALL_REPLICAS, "/v1/replicas");
}

/* After a (re)connect: every replica the agent runs is reported; the store's replicas it no
 * longer has are sent again. */
static void on_replicas(struct session *s, struct call *c)
{
	static const char sql[] =
		"UPDATE replicas SET replica_state = 'pending', replica_detail = 'the agent does not"
		" have it; sending it again' WHERE agent_id = ?1 AND replica_state IN ('pulling',"
		" 'starting', 'healthy', 'unhealthy') AND id NOT IN (SELECT value FROM json_each(?2))";
	cJSON *body = body_json(c->body), *ids = cJSON_CreateArray(), *r;
	const cJSON *list = cJSON_GetObjectItem(body, "replica_list");
	struct berr e = {0};
	sqlite3_stmt *st;
	char *text;

	cJSON_ArrayForEach(r, list) {
		session_report(s, r);
		cJSON_AddItemToArray(ids, cJSON_Duplicate(cJSON_GetObjectItem(r, "replica_id"), 1));
	}
	text = json_print(ids);
	if ((st = store_stmt(s->gw->store, sql, &e))) {
		store_bind_text(st, 1, s->agent_id);
		store_bind_text(st, 2, text);
		if (store_exec_stmt(s->gw->store, st, &e))
			log_error("agent %s: %s", s->name, e.message);
	}
	free(text);
	cJSON_Delete(ids);
	cJSON_Delete(body);
	gw_reconcile_soon(s->gw);
}

/* The agent refused a command: a PUT it cannot take fails its replica with the reason (a
 * report, so a replica told to go meanwhile stays going). */
static void on_command_failed(struct session *s, struct call *c, int status)
{
	cJSON *body = body_json(c->body);
	const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(body, "error_message"));
	char detail[512];
	struct berr e = {0};
	bool changed = false;

	snprintf(detail, sizeof(detail), "the agent refused it (%d): %s", status,
		 msg ? msg : "no reason given");
	log_warn("agent %s: replica %s: %s", s->name, c->replica_id, detail);
	if (c->kind == CALL_PUT &&
	    fleet_replica_report(s->gw->store, s->agent_id, c->replica_id, "failed", detail,
				 NULL, &changed, &e) && e.status != 404)
		log_error("agent %s: %s", s->name, e.message);
	cJSON_Delete(body);
	if (changed) /* a refused DELETE is asked again on the reconciler's tick, not at once */
		gw_reconcile_soon(s->gw);
}

static void h2_on_response(struct h2_stream *st, void *arg)
{
	struct call *c = st->user;

	(void)arg;
	if (c && c->kind == CALL_RELAY)
		relay_response(c->relay, st);
}

static void h2_on_data(struct h2_stream *st, const uint8_t *p, size_t n, void *arg)
{
	struct call *c = st->user;

	(void)arg;
	if (!c)
		return;
	if (c->kind == CALL_RELAY) {
		c->sess->gw->m.bytes_out += n;
		relay_data(c->relay, p, n);
		return;
	}
	if (c->kind != CALL_EVENTS && evbuffer_get_length(c->body) + n > INFO_MAX) {
		h2_stream_reset(st, 0x8 /* CANCEL */);
		return;
	}
	evbuffer_add(c->body, p, n);
	if (c->kind == CALL_EVENTS)
		events_lines(c);
}

static void h2_on_sent(struct h2_stream *st, size_t n, void *arg)
{
	struct call *c = st->user;

	(void)arg;
	if (c && c->kind == CALL_RELAY)
		relay_sent(c->relay, n);
}

static void h2_on_end(struct h2_stream *st, void *arg)
{
	struct call *c = st->user;

	(void)arg;
	if (c && c->kind == CALL_RELAY) {
		relay_end(c->relay);
		return;
	}
	if (!c || c->sess->ending)
		return;
	if (st->status >= 300) {
		if (c->kind == CALL_PUT || c->kind == CALL_DELETE)
			on_command_failed(c->sess, c, st->status);
		else
			session_end(c->sess, "the agent refused a status request");
		return;
	}
	if (c->kind == CALL_INFO)
		on_info(c->sess, c);
	else if (c->kind == CALL_REPLICAS)
		on_replicas(c->sess, c);
	else if (c->kind == CALL_EVENTS)
		session_end(c->sess, "the agent ended its event stream");
}

static void h2_on_close(struct h2_stream *st, uint32_t error, void *arg)
{
	struct call *c = st->user;

	(void)arg;
	if (!c)
		return;
	if (c->kind == CALL_RELAY)
		relay_closed(c->relay, error);
	if (c->kind == CALL_EVENTS && !c->sess->ending)
		session_end(c->sess, error == H2_CONN_LOST ? "the connection closed"
				     : error ? "its event stream was reset" : "its event stream ended");
	evbuffer_free(c->body);
	free(c);
	st->user = NULL;
}

static void h2_on_ping_ack(struct h2_conn *conn, void *arg)
{
	struct session *s = arg;
	struct berr e = {0};

	(void)conn;
	s->ping_outstanding = false;
	s->last_ack_ms = now_ms();
	if (s->online && fleet_agent_heartbeat(s->gw->store, s->agent_id, &e))
		log_error("agent %s: %s", s->name, e.message);
}

static void h2_on_conn_closed(struct h2_conn *conn, void *arg)
{
	(void)conn;
	session_end(arg, "the connection closed");
}

static const struct h2_callbacks session_h2 = {
	.response = h2_on_response,
	.data = h2_on_data,
	.sent = h2_on_sent,
	.end = h2_on_end,
	.close = h2_on_close,
	.ping_ack = h2_on_ping_ack,
	.conn_closed = h2_on_conn_closed,
};

/* Time gatewayd itself lost does not count against an agent. A tick that comes late found the
 * loop held up (a store write waiting on SQLite's lock, a loaded machine) in the very pass
 * that made it due: the acknowledgements that came meanwhile are still unread in the sockets,
 * and libevent runs this before reading them, sometimes twice in a row. Without it, a stall of
 * the deadline's length ended every healthy session and cut every call in flight. */
void session_ping_all(struct gw *gw)
{
	int64_t now = now_ms(), late = 0;

	if (gw->ping_tick_ms && now - gw->ping_tick_ms > gw->opts.ping_interval_ms)
		late = now - gw->ping_tick_ms - gw->opts.ping_interval_ms;
	gw->ping_tick_ms = now;
	for (struct session *s = gw->sessions; s; s = s->next) {
		if (!s->h2 || s->ending)
			continue;
		s->last_ack_ms = s->last_ack_ms + late < now ? s->last_ack_ms + late : now;
		if (now - s->last_ack_ms > gw->opts.ping_deadline_ms) {
			session_end(s, "no answer to PING within the deadline");
			continue;
		}
		if (!s->ping_outstanding && h2_conn_ping(s->h2) == B_OK)
			s->ping_outstanding = true;
	}
}

bool session_command(struct gw *gw, const struct sched_cmd *cmd)
{
	struct session *s = session_find(gw, cmd->agent_id);
	struct h2_header json = {(char *)"content-type", (char *)"application/json"};
	char path[128];
	struct call *c;
	struct h2_stream *st;

	if (!s)
		return false;
	snprintf(path, sizeof(path), "/v1/replicas/%s", cmd->replica_id);
	c = call_new(s, cmd->op == SCHED_PUT ? CALL_PUT : CALL_DELETE, cmd->replica_id);
	st = h2_request(s->h2, cmd->op == SCHED_PUT ? "PUT" : "DELETE", path, &json,
			cmd->op == SCHED_PUT, cmd->op == SCHED_PUT, c);
	if (!st) {
		evbuffer_free(c->body);
		free(c);
		return false;
	}
	if (cmd->op == SCHED_PUT) {
		h2_stream_write(st, cmd->spec, strlen(cmd->spec));
		h2_stream_end(st);
	}
	return true;
}

/* A refused handshake: the API.md envelope in an HTTP/1.1 response, then the socket closes
 * once it is written. */
static void hs_close_when_sent(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_end(arg, "handshake refused");
}

static void hs_refuse(struct session *s, const struct berr *e)
{
	char id[UUID_STR_LEN + 1], *body;
	cJSON *o = cJSON_CreateObject();

	uuid_v7(id);
	cJSON_AddStringToObject(o, "error_message", e->message);
	cJSON_AddStringToObject(o, "error_code", e->code ? e->code : "internal_error");
	if (e->field[0])
		cJSON_AddStringToObject(o, "field", e->field);
	cJSON_AddStringToObject(o, "request_id", id);
	body = json_print(o);
	evbuffer_add_printf(bufferevent_get_output(s->bev),
			    "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nX-Request-ID: %s\r\n"
			    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", e->status,
			    e->status == 401 ? "Unauthorized" : e->status == 403 ? "Forbidden" :
			    e->status == 400 ? "Bad Request" : "Error", id, strlen(body), body);
	free(body);
	cJSON_Delete(o);
	log_info("agent handshake refused (%d): %s", e->status, e->message);
	bufferevent_disable(s->bev, EV_READ);
	bufferevent_setcb(s->bev, NULL, hs_close_when_sent, NULL, s);
}

struct hs_request {
	char *line;
	const char *authorization, *upgrade, *connection, *name;
};

/* Splits the head into the request line and the headers the tunnel needs (in place). */
static void hs_parse(char *head, struct hs_request *r)
{
	char *save = NULL;

	memset(r, 0, sizeof(*r));
	r->line = strtok_r(head, "\r\n", &save);
	for (char *l = strtok_r(NULL, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
		char *colon = strchr(l, ':'), *v;

		if (!colon)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		if (strcasecmp(l, "authorization") == 0)
			r->authorization = v;
		else if (strcasecmp(l, "upgrade") == 0)
			r->upgrade = v;
		else if (strcasecmp(l, "connection") == 0)
			r->connection = v;
		else if (strcasecmp(l, "x-agent-name") == 0)
			r->name = v;
	}
}

static int hs_check(struct session *s, struct hs_request *r, struct principal *p, struct berr *e)
{
	int rc;

	if (!r->line || strcmp(r->line, "GET /api/v1/agent/connect HTTP/1.1") != 0)
		return berr_set(e, B_ENOTFOUND, "", "agents connect with GET /api/v1/agent/connect");
	if (!r->upgrade || strcasecmp(r->upgrade, TUNNEL_PROTOCOL) != 0 || !r->connection ||
	    !strcasestr(r->connection, "upgrade"))
		return berr_set(e, B_EINVAL, "Upgrade", "send Connection: Upgrade and Upgrade: %s",
				TUNNEL_PROTOCOL);
	if ((rc = auth_request(s->gw->store, &s->gw->keys, r->authorization, NULL, AUTH_AGENT, p, e)))
		return rc;
	if (!r->name || !valid_label(r->name))
		return berr_set(e, B_EINVAL, "X-Agent-Name",
				"X-Agent-Name must match ^[a-z0-9][a-z0-9._-]{0,62}$");
	return B_OK;
}

/* Accepted: the row, the eviction of an older session of the same agent, 101, HTTP/2. */
static void hs_accept(struct session *s, const struct principal *p, const char *name)
{
	struct berr e = {0};

	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->team_id, sizeof(s->team_id), "%s", p->team_id);
	if (fleet_agent_connect(s->gw->store, p->team_id, name, p->credential_id, s->agent_id, &e)) {
		hs_refuse(s, &e);
		return;
	}
	for (struct session *o = s->gw->sessions; o; o = o->next) {
		if (o != s && !o->ending && strcmp(o->agent_id, s->agent_id) == 0) {
			o->replaced = true;
			session_end(o, "replaced by a new connection of the same agent");
		}
	}
	evbuffer_add_printf(bufferevent_get_output(s->bev),
			    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
			    "Upgrade: " TUNNEL_PROTOCOL "\r\n\r\n");
	bufferevent_set_timeouts(s->bev, NULL, NULL);
	s->h2 = h2_conn_new(s->bev, false, &session_h2, s);
	s->bev = NULL;
	s->last_ack_ms = now_ms();
	s->gw->m.sessions_total++;
	if (!s->h2) {
		session_end(s, "cannot start HTTP/2");
		return;
	}
	log_info("agent %s connected (team %s)", s->name, s->team_id);
	session_open(s, CALL_INFO, "/v1/info");
}

static void hs_read(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	struct hs_request r;
	struct principal p;
	struct berr e = {0};
	char *head;

	if (end.pos < 0) {
		if (evbuffer_get_length(in) > HANDSHAKE_MAX) {
			berr_set(&e, B_ETOOBIG, "", "the handshake is larger than %d bytes", HANDSHAKE_MAX);
			hs_refuse(s, &e);
		}
		return;
	}
	head = calloc(1, (size_t)end.pos + 5);
	if (!head)
		abort();
	evbuffer_remove(in, head, (size_t)end.pos + 4);
	hs_parse(head, &r);
	if (hs_check(s, &r, &p, &e))
		hs_refuse(s, &e);
	else
		hs_accept(s, &p, r.name);
	free(head);
}

static void hs_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	session_end(arg, "the connection closed during the handshake");
}

void session_accept(struct gw *gw, evutil_socket_t fd)
{
	struct session *s = calloc(1, sizeof(*s));
	struct timeval tv = {HANDSHAKE_TIMEOUT_S, 0};

	if (!s)
		abort();
	s->gw = gw;
	s->bev = bufferevent_socket_new(gw->base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(s->bev, hs_read, NULL, hs_event, s);
	bufferevent_set_timeouts(s->bev, &tv, &tv);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
	s->next = gw->sessions;
	gw->sessions = s;
}

struct h2_stream *session_relay_open(struct session *s, const char *method, const char *path,
				     const struct h2_header *hdrs, size_t n, void *relay)
{
	struct call *c = call_new(s, CALL_RELAY, NULL);
	struct h2_stream *st;

	c->relay = relay;
	st = h2_request(s->h2, method, path, hdrs, n, true, c);
	if (!st) {
		evbuffer_free(c->body);
		free(c);
	}
	return st;
}
