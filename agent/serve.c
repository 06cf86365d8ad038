/* serve.c: what the agent answers on the tunnel (DESIGN.md, "Processes"): GET /v1/info,
 * GET /v1/events (one JSON object per line, for as long as the tunnel lives), GET /v1/replicas,
 * PUT and DELETE /v1/replicas/{id}. The gateway is the only caller. */
#include "berth.h"
#include "agent.h"
#include "json.h"
#include "log.h"
#include "uuid.h"

#include <event2/buffer.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#define SPEC_MAX ((size_t)1024 * 1024)

/* One open GET /v1/events answer. */
struct event_stream {
	struct h2_stream *st;
	struct event_stream *next;
};

/* A request being received: its body collects here until the end. */
struct req {
	struct evbuffer *body;
	bool too_big;
	bool events;
};

static void answer(struct h2_stream *st, int status, const cJSON *o)
{
	char *s = json_print(o);

	if (h2_respond_simple(st, status, "application/json", s, strlen(s)))
		log_warn("cannot answer %s %s", st->method, st->path);
	free(s);
}

static void answer_error(struct h2_stream *st, const struct berr *e)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error_message", e->message);
	cJSON_AddStringToObject(o, "error_code", e->code ? e->code : "internal_error");
	if (e->field[0])
		cJSON_AddStringToObject(o, "field", e->field);
	answer(st, e->status ? e->status : 500, o);
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

void serve_replica_event(void *ctx, const struct replica_event *ev)
{
	struct agent *a = ctx;
	cJSON *o = cJSON_CreateObject();
	char *line;

	cJSON_AddStringToObject(o, "type", "replica");
	cJSON_AddStringToObject(o, "replica_id", ev->replica_id);
	cJSON_AddStringToObject(o, "service_id", ev->service_id ? ev->service_id : "");
	cJSON_AddStringToObject(o, "replica_state", ev->state);
	cJSON_AddStringToObject(o, "replica_detail", ev->detail ? ev->detail : "");
	cJSON_AddStringToObject(o, "container_id", ev->container_id ? ev->container_id : "");
	line = json_print(o);
	for (struct event_stream *s = a->streams; s; s = s->next) {
		h2_stream_write(s->st, line, strlen(line));
		h2_stream_write(s->st, "\n", 1);
	}
	free(line);
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
		rc = replicas_delete(a->replicas, id, &e);
	} else if (q->too_big) {
		rc = berr_set(&e, B_ETOOBIG, "", "a replica spec is at most %zu bytes", SPEC_MAX);
	} else {
		size_t n = evbuffer_get_length(q->body);
		char *text = (char *)evbuffer_pullup(q->body, -1);

		rc = json_parse_object(text ? text : (char *)"", n, &spec, &e);
		if (!rc)
			rc = replicas_put(a->replicas, id, spec, &e);
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

static void on_request(struct h2_stream *st, void *arg)
{
	struct req *q = calloc(1, sizeof(*q));

	(void)arg;
	if (!q)
		abort();
	q->body = evbuffer_new();
	st->user = q;
}

static void on_data(struct h2_stream *st, const uint8_t *p, size_t n, void *arg)
{
	struct req *q = st->user;

	(void)arg;
	if (!q || q->too_big)
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
	if (st->user)
		route(arg, st, st->user);
}

static void on_close(struct h2_stream *st, uint32_t error, void *arg)
{
	struct req *q = st->user;

	(void)error;
	if (!q)
		return;
	if (q->events)
		events_close(arg, st);
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
