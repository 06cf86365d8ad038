/* replicas.c: the replica table, shared by the loop (which reads it) and one worker thread (the
 * only writer, which runs every Docker call and probe). Both sides take mu only for short
 * copies, never across a blocking call. The loop hands work over as commands; the worker hands
 * state changes back as notes and wakes the loop with event_active. */
#include "berth.h"
#include "replicas.h"
#include "spec.h"
#include "berth_limits.h"
#include "crypto.h"
#include "docker.h"
#include "log.h"
#include "valid.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STATE_MAX 16
#define PROGRESS_EVENT_MS 1000          /* pull progress is reported at most this often */
#define REPLICA_NAME_MAX (sizeof(DOCKER_NAME_PREFIX) + DOCKER_REPLICA_ID_MAX)
#define PROBE_URL_MAX (DOCKER_IP_MAX + HEALTH_PATH_MAX + 16)
#define LABEL_SPEC "berth.spec"
#define LABEL_AGENT "berth.agent"
#define EXTRA_LABELS_MAX 8
#define LABEL_HEALTH "berth.health_path"
#define LABEL_PORT "berth.port"
#define PUBLISH_HOST "127.0.0.1"

/* What the worker does next with a replica. */
enum phase {
	PH_IDLE,      /* failed, or waiting for the next command */
	PH_ENSURE,    /* (re)create from the spec when due */
	PH_STARTING,  /* running, probed until the first success */
	PH_HEALTHY,
	PH_UNHEALTHY,
	PH_BACKOFF,   /* exited: docker_start when due */
	PH_CHECK,     /* adopted: inspect when due */
};

struct replica {
	/* written by the worker under mu, read by the loop under mu */
	char id[DOCKER_REPLICA_ID_MAX + 1];
	char service_id[DOCKER_STR_MAX];
	char state[STATE_MAX];
	char detail[ERR_MESSAGE_MAX];
	char container_id[DOCKER_ID_LEN + 1];
	char host[DOCKER_IP_MAX];       /* "" until inspect gave an address */
	int port;
	/* the worker's alone */
	enum phase phase;
	int64_t due_ms;                 /* monotonic; 0 = nothing scheduled */
	cJSON *spec;                    /* canonical; NULL for an adopted replica until a PUT */
	char hash[SHA256_HEX_LEN + 1];
	char health_path[HEALTH_PATH_MAX + 1];
	int exposed_port;
	int fails;                      /* consecutive failed probes */
	int unreachable;                /* consecutive probes that found no route while starting */
	int restarts;                   /* since it was last healthy for backoff_max_s */
	int64_t healthy_since_ms;
	int64_t progress_ms;            /* when pull progress was last reported */
};

enum cmd_kind { CMD_ADOPT, CMD_PUT, CMD_DELETE };

struct cmd {
	struct cmd *next;
	enum cmd_kind kind;
	char id[DOCKER_REPLICA_ID_MAX + 1];
	cJSON *spec;                    /* CMD_PUT: canonical, owned */
	char hash[SHA256_HEX_LEN + 1];
};

/* One state change on its way to the loop. */
struct note {
	struct note *next;
	char replica_id[DOCKER_REPLICA_ID_MAX + 1];
	char service_id[DOCKER_STR_MAX];
	char state[STATE_MAX];
	char detail[ERR_MESSAGE_MAX];
	char container_id[DOCKER_ID_LEN + 1];
};

struct replicas {
	struct event *wake;             /* made active by the worker when notes wait */
	replicas_event_fn fn;
	void *ctx;
	int probe_interval_ms, probe_timeout_ms, unhealthy_after, backoff_max_s;
	pthread_t worker;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	/* under mu */
	bool stop;
	struct cmd *cmds, **cmds_tail;
	struct note *notes, **notes_tail;
	struct replica **items;         /* written by the worker only */
	size_t count, cap;
	char busy_id[DOCKER_REPLICA_ID_MAX + 1];   /* the replica being (re)created */
	char busy_hash[SHA256_HEX_LEN + 1];
	bool cancel;                    /* a newer command wants busy_id: cancel its pull */
	bool docker_ok;
	bool docker_checked;            /* a ping has answered or failed: docker_ok means something */
	char docker_detail[ERR_MESSAGE_MAX];
	/* the worker's alone */
	struct docker *docker;
	CURL *probe;
	bool bridge_bad;                /* the bridge did not answer: publish ports from now on */
	bool adopt_pending;             /* the adoption's listing failed */
	char agent_name[96];            /* berth.agent of ours; "" adopts every berth container */
	struct docker_kv extra[EXTRA_LABELS_MAX]; /* owned copies */
	size_t nextra;
	int64_t ping_due_ms;
};

static void *must(void *p)
{
	if (!p)
		abort(); /* out of memory may abort (STYLE.md) */
	return p;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_str(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : ""); /* fixed fields: a cut value is still shown */
}

/* ---- notes: worker → loop ---- */

/* Records rp's new state and queues it for the loop; the worker's only way to report. */
static void emit(struct replicas *r, struct replica *rp, const char *state, const char *detail)
{
	struct note *n = must(calloc(1, sizeof(*n)));

	pthread_mutex_lock(&r->mu);
	copy_str(rp->state, sizeof(rp->state), state);
	copy_str(rp->detail, sizeof(rp->detail), detail);
	copy_str(n->replica_id, sizeof(n->replica_id), rp->id);
	copy_str(n->service_id, sizeof(n->service_id), rp->service_id);
	copy_str(n->state, sizeof(n->state), state);
	copy_str(n->detail, sizeof(n->detail), detail);
	copy_str(n->container_id, sizeof(n->container_id), rp->container_id);
	*r->notes_tail = n;
	r->notes_tail = &n->next;
	pthread_mutex_unlock(&r->mu);
	log_info("replica %s: %s%s%s", rp->id, state, detail[0] ? ": " : "", detail);
	event_active(r->wake, EV_READ, 0);
}

static void emitf(struct replicas *r, struct replica *rp, const char *state, const char *fmt, ...)
	B_PRINTF(4, 5);
static void emitf(struct replicas *r, struct replica *rp, const char *state, const char *fmt, ...)
{
	char detail[ERR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(detail, sizeof(detail), fmt, ap) < 0)
		detail[0] = '\0'; /* a cut detail is still worth reporting */
	va_end(ap);
	emit(r, rp, state, detail);
}

static struct note *notes_take(struct replicas *r)
{
	struct note *n;

	pthread_mutex_lock(&r->mu);
	n = r->notes;
	r->notes = NULL;
	r->notes_tail = &r->notes;
	pthread_mutex_unlock(&r->mu);
	return n;
}

/* The loop's side of the wake event: hands every waiting note to fn, in order. */
static void notes_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct replicas *r = arg;
	struct note *n = notes_take(r), *next;

	(void)fd;
	(void)what;
	for (; n; n = next) {
		struct replica_event ev = {n->replica_id, n->service_id, n->state, n->detail,
					   n->container_id};

		next = n->next;
		if (r->fn)
			r->fn(r->ctx, &ev);
		free(n);
	}
}

/* ---- the table (the worker writes under mu; it reads without) ---- */

static struct replica *table_find(struct replicas *r, const char *id)
{
	for (size_t i = 0; i < r->count; i++)
		if (strcmp(r->items[i]->id, id) == 0)
			return r->items[i];
	return NULL;
}

static struct replica *table_add(struct replicas *r, const char *id, const char *service_id)
{
	struct replica *rp = must(calloc(1, sizeof(*rp)));

	copy_str(rp->id, sizeof(rp->id), id);
	copy_str(rp->service_id, sizeof(rp->service_id), service_id);
	copy_str(rp->state, sizeof(rp->state), "pending");
	copy_str(rp->health_path, sizeof(rp->health_path), HEALTH_PATH_DEFAULT);
	rp->exposed_port = EXPOSED_PORT_DEFAULT;
	pthread_mutex_lock(&r->mu);
	if (r->count == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->items = must(realloc(r->items, r->cap * sizeof(struct replica *)));
	}
	r->items[r->count++] = rp;
	pthread_mutex_unlock(&r->mu);
	return rp;
}

static void replica_free(struct replica *rp)
{
	if (!rp)
		return;
	cJSON_Delete(rp->spec);
	free(rp);
}

static void table_remove(struct replicas *r, struct replica *rp)
{
	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->count; i++) {
		if (r->items[i] == rp) {
			r->items[i] = r->items[--r->count];
			break;
		}
	}
	pthread_mutex_unlock(&r->mu);
	replica_free(rp);
}

static void replica_set_addr(struct replicas *r, struct replica *rp, const char *cid,
			     const char *host, int port)
{
	pthread_mutex_lock(&r->mu);
	if (cid)
		copy_str(rp->container_id, sizeof(rp->container_id), cid);
	copy_str(rp->host, sizeof(rp->host), host);
	rp->port = port;
	pthread_mutex_unlock(&r->mu);
}

/* Takes over spec (canonical) and what the worker derives from it. */
static void replica_set_spec(struct replicas *r, struct replica *rp, cJSON *spec,
			     const char *hash)
{
	cJSON_Delete(rp->spec);
	rp->spec = spec;
	copy_str(rp->hash, sizeof(rp->hash), hash);
	copy_str(rp->health_path, sizeof(rp->health_path), spec_str(spec, "health_path"));
	rp->exposed_port = spec_int(spec, "exposed_port");
	pthread_mutex_lock(&r->mu);
	copy_str(rp->service_id, sizeof(rp->service_id), spec_str(spec, "service_id"));
	pthread_mutex_unlock(&r->mu);
}

static void replica_name(const struct replica *rp, char name[REPLICA_NAME_MAX])
{
	snprintf(name, REPLICA_NAME_MAX, "%s%s", DOCKER_NAME_PREFIX, rp->id);
}

/* How Docker calls name the container: its id once known, else berth-<replica id>. */
static const char *replica_ref(const struct replica *rp, char name[REPLICA_NAME_MAX])
{
	replica_name(rp, name);
	return rp->container_id[0] ? rp->container_id : name;
}

static void replica_fail(struct replicas *r, struct replica *rp, const char *why)
{
	rp->phase = PH_IDLE;
	rp->due_ms = 0;
	emit(r, rp, "failed", why);
}

static int backoff_s(const struct replicas *r, int restarts)
{
	int s = 1;

	for (int i = 1; i < restarts && s < r->backoff_max_s; i++)
		s *= 2;
	return s < r->backoff_max_s ? s : r->backoff_max_s;
}

/* ---- Docker steps (worker) ---- */

/* Whether a newer command or replicas_free wants the running pull to stop. */
static bool worker_cancelled(struct replicas *r)
{
	bool c;

	pthread_mutex_lock(&r->mu);
	c = r->stop || r->cancel;
	pthread_mutex_unlock(&r->mu);
	return c;
}

static void worker_busy(struct replicas *r, const struct replica *rp)
{
	pthread_mutex_lock(&r->mu);
	copy_str(r->busy_id, sizeof(r->busy_id), rp ? rp->id : "");
	copy_str(r->busy_hash, sizeof(r->busy_hash), rp ? rp->hash : "");
	r->cancel = false;
	pthread_mutex_unlock(&r->mu);
}

struct pull_ctx {
	struct replicas *r;
	struct replica *rp;
};

/* Keeps the replica's detail at the latest line but reports it at most once a second. */
static int pull_progress(void *arg, const char *text)
{
	struct pull_ctx *p = arg;
	int64_t now = now_ms();

	if (worker_cancelled(p->r))
		return 1;
	if (now - p->rp->progress_ms >= PROGRESS_EVENT_MS) {
		p->rp->progress_ms = now;
		emit(p->r, p->rp, "pulling", text);
	} else {
		pthread_mutex_lock(&p->r->mu);
		copy_str(p->rp->detail, sizeof(p->rp->detail), text);
		pthread_mutex_unlock(&p->r->mu);
	}
	return 0;
}

static int ensure_image(struct replicas *r, struct replica *rp, struct berr *e)
{
	const char *image = spec_str(rp->spec, "docker_image");
	struct pull_ctx p = {r, rp};
	bool present;
	int rc = docker_image_present(r->docker, image, &present, e);

	if (rc || present)
		return rc;
	emitf(r, rp, "pulling", "pulling %s", image);
	rp->progress_ms = now_ms();
	return docker_image_pull(r->docker, image, pull_progress, &p, e);
}

/* Fills arrays of at least ENV_CONFIG_MAX, VOLUME_CONFIG_MAX and GPU_COUNT_MAX entries. */
static void spec_docker_lists(const cJSON *spec, struct docker_spec *s, struct docker_kv *env,
			      struct docker_bind *binds, const char **gpus)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(spec, "env_config"))
		env[s->env_count++] = (struct docker_kv){spec_str(it, "env_name"),
							 spec_str(it, "env_value")};
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(spec, "volume_config"))
		binds[s->bind_count++] = (struct docker_bind){spec_str(it, "host_path"),
							      spec_str(it, "container_path"), false};
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(spec, "gpu_ids"))
		gpus[s->gpu_id_count++] = it->valuestring;
	s->env = env;
	s->binds = binds;
	s->gpu_ids = s->gpu_id_count ? gpus : NULL;
}

static int replica_create(struct replicas *r, struct replica *rp, char id[DOCKER_ID_LEN + 1],
			  struct berr *e)
{
	struct docker_kv env[ENV_CONFIG_MAX], labels[4 + EXTRA_LABELS_MAX];
	struct docker_bind binds[VOLUME_CONFIG_MAX];
	const char *gpus[GPU_COUNT_MAX];
	char port[8];
	struct docker_spec s = {
		.replica_id = rp->id,
		.service_id = spec_str(rp->spec, "service_id"),
		.image = spec_str(rp->spec, "docker_image"),
		.labels = labels,
		.label_count = 3 + (r->agent_name[0] ? 1 : 0) + r->nextra,
		.exposed_port = rp->exposed_port,
		.publish_port = r->bridge_bad,
		.gpu_count = spec_int(rp->spec, "gpu_count"),
	};

	snprintf(port, sizeof(port), "%d", rp->exposed_port);
	labels[0] = (struct docker_kv){LABEL_SPEC, rp->hash};
	labels[1] = (struct docker_kv){LABEL_HEALTH, rp->health_path};
	labels[2] = (struct docker_kv){LABEL_PORT, port};
	for (size_t i = 0; i < r->nextra; i++)
		labels[3 + i] = r->extra[i];
	if (r->agent_name[0])
		labels[3 + r->nextra] = (struct docker_kv){LABEL_AGENT, r->agent_name};
	spec_docker_lists(rp->spec, &s, env, binds, gpus);
	return docker_create(r->docker, &s, id, e);
}

/* What a name conflict found: the container that holds berth-<id>, and its spec label. */
struct existing {
	const char *name;
	bool found;
	char id[DOCKER_ID_LEN + 1];
	char hash[SHA256_HEX_LEN + 1];
};

static int existing_match(void *arg, const struct docker_summary *s)
{
	struct existing *x = arg;
	const char *hash = docker_summary_label(s, LABEL_SPEC);

	if (strcmp(s->name, x->name) != 0)
		return 0;
	x->found = true;
	copy_str(x->id, sizeof(x->id), s->id);
	copy_str(x->hash, sizeof(x->hash), hash);
	return 1;
}

/* berth-<id> exists already: keep it when it was made from this spec, else replace it. */
static int resolve_conflict(struct replicas *r, struct replica *rp, char id[DOCKER_ID_LEN + 1],
			    struct berr *e)
{
	char name[REPLICA_NAME_MAX];
	struct existing x = {.name = name};
	int rc;

	replica_name(rp, name);
	rc = docker_list_managed(r->docker, existing_match, &x, e);
	if (rc < 0)
		return rc;
	if (x.found && strcmp(x.hash, rp->hash) == 0) {
		log_info("replica %s: adopting its existing container %.12s", rp->id, x.id);
		copy_str(id, DOCKER_ID_LEN + 1, x.id);
		return B_OK;
	}
	if ((rc = docker_remove(r->docker, name, true, e)))
		return rc;
	return replica_create(r, rp, id, e);
}

/* Where the probe and the proxy reach the container, from inspect. */
static int replica_locate(struct replicas *r, struct replica *rp, struct docker_state *st,
			  struct berr *e)
{
	char name[REPLICA_NAME_MAX];
	int rc = docker_inspect(r->docker, replica_ref(rp, name), st, e);

	if (rc)
		return rc;
	if (st->host_port > 0 && (r->bridge_bad || !st->ip[0]))
		replica_set_addr(r, rp, st->id, PUBLISH_HOST, st->host_port);
	else
		replica_set_addr(r, rp, st->id, st->ip, rp->exposed_port);
	return B_OK;
}

static void replica_probing(struct replicas *r, struct replica *rp)
{
	rp->phase = PH_STARTING;
	rp->fails = 0;
	rp->unreachable = 0;
	rp->due_ms = now_ms() + r->probe_interval_ms;
}

static int ensure_container(struct replicas *r, struct replica *rp, struct berr *e)
{
	char id[DOCKER_ID_LEN + 1] = "";
	struct docker_state st;
	int rc = replica_create(r, rp, id, e);

	if (rc == B_ECONFLICT)
		rc = resolve_conflict(r, rp, id, e);
	if (rc)
		return rc;
	replica_set_addr(r, rp, id, "", 0);
	if ((rc = docker_start(r->docker, id, e)))
		return rc;
	return replica_locate(r, rp, &st, e);
}

/* Pull, create (or adopt what a conflict found), start; failures mark the replica failed,
 * except a pull cancelled for a newer command, which that command settles. */
static void replica_ensure(struct replicas *r, struct replica *rp)
{
	struct berr e = {0};
	int rc;

	rp->due_ms = 0;
	worker_busy(r, rp);
	rc = ensure_image(r, rp, &e);
	if (!rc)
		rc = ensure_container(r, rp, &e);
	if (rc && worker_cancelled(r)) {
		rp->phase = PH_IDLE;
	} else if (rc) {
		replica_fail(r, rp, e.message);
	} else {
		replica_probing(r, rp);
		emitf(r, rp, "starting", "container %.12s started; waiting for GET %s to answer",
		      rp->container_id, rp->health_path);
	}
	worker_busy(r, NULL);
}

/* ---- probes and restarts (worker) ---- */

static size_t probe_discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

enum probe_result { PROBE_OK, PROBE_FAILED, PROBE_UNREACHABLE };

/* A failure to reach the address at all, rather than a refusal: the bridge is not routable. */
static bool probe_unreachable(CURL *c, CURLcode cc)
{
	long os_errno = 0;
	double connect_s = 0;

	curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME, &connect_s);
	if (cc == CURLE_COULDNT_CONNECT)
		return os_errno == EHOSTUNREACH || os_errno == ENETUNREACH;
	return cc == CURLE_OPERATION_TIMEDOUT && connect_s <= 0;
}

static void probe_setopts(struct replicas *r, const char *url)
{
	curl_easy_reset(r->probe);
	curl_easy_setopt(r->probe, CURLOPT_URL, url);
	curl_easy_setopt(r->probe, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->probe, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(r->probe, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(r->probe, CURLOPT_TIMEOUT_MS, (long)r->probe_timeout_ms);
	curl_easy_setopt(r->probe, CURLOPT_WRITEFUNCTION, probe_discard);
	curl_easy_setopt(r->probe, CURLOPT_USERAGENT, "berth-agent-probe");
}

/* GET http://host:port<health_path>: 2xx and 3xx are healthy. why gets the reason otherwise. */
static enum probe_result probe_once(struct replicas *r, const struct replica *rp, char *why,
				    size_t n)
{
	char url[PROBE_URL_MAX];
	bool v6 = strchr(rp->host, ':') != NULL;
	long status = 0;
	CURLcode cc;

	if (!rp->host[0]) {
		snprintf(why, n, "the container has no network address");
		return PROBE_FAILED;
	}
	snprintf(url, sizeof(url), "http://%s%s%s:%d%s", v6 ? "[" : "", rp->host, v6 ? "]" : "",
		 rp->port, rp->health_path);
	probe_setopts(r, url);
	cc = curl_easy_perform(r->probe);
	curl_easy_getinfo(r->probe, CURLINFO_RESPONSE_CODE, &status);
	if (cc == CURLE_OK && status >= 200 && status < 400)
		return PROBE_OK;
	if (cc == CURLE_OK) {
		snprintf(why, n, "GET %.200s answered %ld", rp->health_path, status);
		return PROBE_FAILED;
	}
	snprintf(why, n, "GET %.200s: %s", rp->health_path, curl_easy_strerror(cc));
	return probe_unreachable(r->probe, cc) ? PROBE_UNREACHABLE : PROBE_FAILED;
}

static void probe_passed(struct replicas *r, struct replica *rp)
{
	int64_t now = now_ms();

	rp->fails = 0;
	if (rp->phase != PH_HEALTHY) {
		rp->phase = PH_HEALTHY;
		rp->healthy_since_ms = now;
		emit(r, rp, "healthy", "");
	} else if (rp->restarts && now - rp->healthy_since_ms >= r->backoff_max_s * 1000LL) {
		rp->restarts = 0; /* it stayed up: the next exit starts the backoff over */
	}
}

/* The container exited on its own: restart it after the backoff. */
static void replica_exited(struct replicas *r, struct replica *rp, const struct docker_state *st)
{
	int s = backoff_s(r, ++rp->restarts);

	rp->phase = PH_BACKOFF;
	rp->due_ms = now_ms() + s * 1000LL;
	emitf(r, rp, "starting", "exited with code %d%s%s%s; restart %d in %d s", st->exit_code,
	      st->oom_killed ? " (out of memory)" : "", st->error[0] ? ": " : "", st->error,
	      rp->restarts, s);
}

/* Its container was removed behind the agent's back: make it again from the spec. */
static void replica_gone(struct replicas *r, struct replica *rp)
{
	int s = backoff_s(r, ++rp->restarts);

	replica_set_addr(r, rp, "", "", 0);
	if (!rp->spec) {
		replica_fail(r, rp, "its container disappeared and the agent has no spec to make "
			     "it again (PUT the replica again)");
		return;
	}
	rp->phase = PH_ENSURE;
	rp->due_ms = now_ms() + s * 1000LL;
	emitf(r, rp, "starting", "its container disappeared; recreating it in %d s", s);
}

/* The bridge address is not routable from here: reach this container, and every later one,
 * through a port published on 127.0.0.1. */
static void replica_publish(struct replicas *r, struct replica *rp, const struct docker_state *st,
			    const char *why)
{
	char name[REPLICA_NAME_MAX];
	struct berr e = {0};

	r->bridge_bad = true;
	if (st->host_port > 0) {
		replica_set_addr(r, rp, NULL, PUBLISH_HOST, st->host_port);
		return;
	}
	log_warn("replica %s: bridge address %s unreachable (%s); publishing its port instead",
		 rp->id, st->ip, why);
	replica_name(rp, name);
	if (!rp->spec || docker_remove(r->docker, name, true, &e)) {
		replica_fail(r, rp, rp->spec ? e.message : "the bridge address is unreachable "
			     "and the agent has no spec to publish the port (PUT it again)");
		return;
	}
	rp->phase = PH_ENSURE;
	rp->due_ms = now_ms();
}

static void probe_counted(struct replicas *r, struct replica *rp, const char *why)
{
	rp->fails++;
	if (rp->phase == PH_HEALTHY && rp->fails >= r->unhealthy_after) {
		rp->phase = PH_UNHEALTHY;
		emitf(r, rp, "unhealthy", "%d health probes in a row failed; last: %s", rp->fails,
		      why);
	}
}

/* Only while starting (a loaded server may time out without the bridge being at fault), only
 * after unhealthy_after probes in a row, and only for a container not reached through a
 * published port already. */
static bool bridge_unreachable(struct replicas *r, struct replica *rp, enum probe_result pr,
			       const struct docker_state *st)
{
	if (rp->phase != PH_STARTING || strcmp(rp->host, PUBLISH_HOST) == 0)
		return false;
	if (pr != PROBE_UNREACHABLE && st->ip[0])
		return false;
	return ++rp->unreachable >= r->unhealthy_after;
}

/* A probe failed: find out whether the container still runs before counting it. */
static void probe_failed(struct replicas *r, struct replica *rp, enum probe_result pr,
			 const char *why)
{
	struct docker_state st;
	struct berr e = {0};
	int rc = replica_locate(r, rp, &st, &e);

	if (rc == B_ENOTFOUND)
		replica_gone(r, rp);
	else if (rc)
		probe_counted(r, rp, e.message);
	else if (!st.running)
		replica_exited(r, rp, &st);
	else if (bridge_unreachable(r, rp, pr, &st))
		replica_publish(r, rp, &st, why);
	else
		probe_counted(r, rp, why);
}

/* A probe that passed proves that something answered at the address, not that this container
 * did: Docker gives the address of a container that exited to the next one it starts, which
 * may answer the same path (the proxy would then send this service's requests to it). So it
 * counts only while inspect still finds the container running; when Docker does not answer,
 * the probe is all there is to go by. */
static void probe_confirm(struct replicas *r, struct replica *rp)
{
	struct docker_state st;
	struct berr e = {0};
	int rc = replica_locate(r, rp, &st, &e);

	if (rc == B_ENOTFOUND)
		replica_gone(r, rp);
	else if (!rc && !st.running)
		replica_exited(r, rp, &st);
	else
		probe_passed(r, rp);
}

static void replica_probe(struct replicas *r, struct replica *rp)
{
	char why[ERR_MESSAGE_MAX] = "";
	enum probe_result pr = probe_once(r, rp, why, sizeof(why));

	rp->due_ms = now_ms() + r->probe_interval_ms;
	if (pr == PROBE_OK) {
		probe_confirm(r, rp);
	} else {
		log_debug("replica %s: probe of %s:%d failed: %s", rp->id, rp->host, rp->port, why);
		probe_failed(r, rp, pr, why);
	}
}

static void replica_restart(struct replicas *r, struct replica *rp)
{
	char name[REPLICA_NAME_MAX];
	struct docker_state st;
	struct berr e = {0};
	int rc = docker_start(r->docker, replica_ref(rp, name), &e);

	if (!rc)
		rc = replica_locate(r, rp, &st, &e);
	if (rc == B_ENOTFOUND)
		replica_gone(r, rp);
	else if (rc)
		replica_fail(r, rp, e.message);
	else
		replica_probing(r, rp);
}

/* An adopted container: probe it when it runs, else restart it as if it had just exited. */
static void replica_check(struct replicas *r, struct replica *rp)
{
	struct docker_state st;
	struct berr e = {0};
	int rc = replica_locate(r, rp, &st, &e);

	rp->due_ms = 0;
	if (rc == B_ENOTFOUND) {
		replica_gone(r, rp);
	} else if (rc) {
		rp->due_ms = now_ms() + REPLICAS_PING_INTERVAL_S * 1000LL; /* Docker may come back */
	} else if (!st.running) {
		replica_exited(r, rp, &st);
	} else {
		replica_probing(r, rp);
		rp->due_ms = now_ms();
		emitf(r, rp, "starting", "adopted running container %.12s; waiting for GET %s "
		      "to answer", rp->container_id, rp->health_path);
	}
}

static void replica_step(struct replicas *r, struct replica *rp)
{
	rp->due_ms = 0;
	switch (rp->phase) {
	case PH_ENSURE: replica_ensure(r, rp); break;
	case PH_STARTING:
	case PH_HEALTHY:
	case PH_UNHEALTHY: replica_probe(r, rp); break;
	case PH_BACKOFF: replica_restart(r, rp); break;
	case PH_CHECK: replica_check(r, rp); break;
	case PH_IDLE: break;
	}
}

/* ---- commands (worker) ---- */

/* Stops and removes berth-<id> whatever its id; a missing container is fine. */
static int remove_container(struct replicas *r, const char *replica_id, struct berr *e)
{
	char name[REPLICA_NAME_MAX];
	int rc;

	snprintf(name, sizeof(name), "%s%s", DOCKER_NAME_PREFIX, replica_id);
	rc = docker_stop(r->docker, name, REPLICAS_STOP_TIMEOUT_S, e);
	if (rc && rc != B_ENOTFOUND)
		return rc;
	rc = docker_remove(r->docker, name, true, e);
	return rc == B_ENOTFOUND ? B_OK : rc;
}

static void cmd_put(struct replicas *r, struct cmd *c)
{
	struct replica *rp = table_find(r, c->id);
	struct berr e = {0};
	bool replace = rp && strcmp(rp->hash, c->hash) != 0, retry = rp && !replace;

	if (rp && !replace && rp->phase != PH_IDLE) {
		if (!rp->spec)
			replica_set_spec(r, rp, c->spec, c->hash); /* adopted: now it can be remade */
		else
			cJSON_Delete(c->spec);
		c->spec = NULL;
		return;
	}
	if (!rp)
		rp = table_add(r, c->id, spec_str(c->spec, "service_id"));
	if (replace && remove_container(r, rp->id, &e)) {
		replica_fail(r, rp, e.message);
		cJSON_Delete(c->spec);
		c->spec = NULL;
		return;
	}
	replica_set_addr(r, rp, "", "", 0);
	replica_set_spec(r, rp, c->spec, c->hash);
	c->spec = NULL;
	rp->restarts = 0;
	emit(r, rp, "pending", replace ? "the spec changed: replacing the container" :
	     retry ? "trying again" : "");
	replica_ensure(r, rp);
}

/* A "stopped" note for a replica the table no longer (or never) held. */
static void emit_stopped(struct replicas *r, struct replica *gone, const char *detail)
{
	struct replica tmp;

	memcpy(&tmp, gone, sizeof(tmp));
	tmp.spec = NULL;
	table_remove(r, gone);
	emit(r, &tmp, "stopped", detail);
}

static void cmd_delete(struct replicas *r, struct cmd *c)
{
	struct replica *rp = table_find(r, c->id);
	struct berr e = {0};

	if (!rp) {
		/* not in the table: this agent restarted since, or it is an egress replica gone
		 * already (a DELETE can come twice). A container the engine still has is removed
		 * by name. One the engine cannot be asked about is reported stopped all the same:
		 * an agent without Docker (egress only) could otherwise never answer, and the
		 * service would stay stopping. A container left in an engine that was down is
		 * adopted when the engine is back (adopt_pending), reported, and removed then. */
		struct replica unknown = {.spec = NULL};

		copy_str(unknown.id, sizeof(unknown.id), c->id);
		if (remove_container(r, c->id, &e))
			log_warn("replica %s: %s", c->id, e.message);
		emit(r, &unknown, "stopped", "no such replica");
		return;
	}
	rp->phase = PH_IDLE;
	rp->due_ms = 0;
	emit(r, rp, "stopping", "");
	if (remove_container(r, rp->id, &e)) {
		replica_fail(r, rp, e.message);
		return;
	}
	emit_stopped(r, rp, "");
}

/* Another agent's container (several may share one engine) is none of this one's business. */
static bool not_mine(const struct replicas *r, const struct docker_summary *s)
{
	const char *agent = docker_summary_label(s, LABEL_AGENT);

	return r->agent_name[0] && (!agent || strcmp(agent, r->agent_name) != 0);
}

static int adopt_one(void *arg, const struct docker_summary *s)
{
	struct replicas *r = arg;
	const char *hash = docker_summary_label(s, LABEL_SPEC);
	const char *path = docker_summary_label(s, LABEL_HEALTH);
	const char *port = docker_summary_label(s, LABEL_PORT);
	char name[REPLICA_NAME_MAX];
	struct replica *rp;
	long p = port ? strtol(port, NULL, 10) : 0;

	snprintf(name, sizeof(name), "%s%s", DOCKER_NAME_PREFIX, s->replica_id);
	if (not_mine(r, s) || !spec_replica_id_valid(s->replica_id) || strcmp(s->name, name) != 0 ||
	    table_find(r, s->replica_id))
		return 0; /* not one berth named for this agent: leave it to whoever made it */
	rp = table_add(r, s->replica_id, s->service_id);
	replica_set_addr(r, rp, s->id, "", 0);
	copy_str(rp->hash, sizeof(rp->hash), hash);
	if (path && valid_url_path(path) && strlen(path) <= HEALTH_PATH_MAX)
		copy_str(rp->health_path, sizeof(rp->health_path), path);
	if (p >= EXPOSED_PORT_MIN && p <= EXPOSED_PORT_MAX)
		rp->exposed_port = (int)p;
	rp->phase = PH_CHECK;
	rp->due_ms = now_ms();
	return 0;
}

/* Until one listing succeeds, each successful ping tries again: dockerd may start after us. */
static void cmd_adopt(struct replicas *r)
{
	struct berr e = {0};

	r->adopt_pending = docker_list_managed(r->docker, adopt_one, r, &e) != B_OK;
	if (r->adopt_pending)
		log_warn("cannot list berth's containers to adopt them (will retry): %s", e.message);
}

static void cmd_run(struct replicas *r, struct cmd *c)
{
	switch (c->kind) {
	case CMD_ADOPT: cmd_adopt(r); break;
	case CMD_PUT: cmd_put(r, c); break;
	case CMD_DELETE: cmd_delete(r, c); break;
	}
}

static void cmd_free(struct cmd *c)
{
	if (!c)
		return;
	cJSON_Delete(c->spec);
	free(c);
}

/* ---- the worker ---- */

static void worker_ping(struct replicas *r)
{
	struct berr e = {0};
	int rc = docker_ping(r->docker, &e);

	pthread_mutex_lock(&r->mu);
	r->docker_ok = rc == B_OK;
	r->docker_checked = true;
	copy_str(r->docker_detail, sizeof(r->docker_detail), rc ? e.message : "");
	pthread_mutex_unlock(&r->mu);
	r->ping_due_ms = now_ms() + REPLICAS_PING_INTERVAL_S * 1000LL;
	if (rc == B_OK && r->adopt_pending)
		cmd_adopt(r);
}

/* The replica due first, or NULL when the ping is due sooner (or nothing is scheduled). */
static struct replica *worker_next(struct replicas *r, int64_t *due)
{
	struct replica *next = NULL;

	*due = r->ping_due_ms;
	for (size_t i = 0; i < r->count; i++) {
		struct replica *rp = r->items[i];

		if (rp->due_ms && rp->due_ms < *due) {
			*due = rp->due_ms;
			next = rp;
		}
	}
	return next;
}

static struct timespec monotonic_at(int64_t ms)
{
	return (struct timespec){.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
}

/* Blocks until a command arrives (returned), something falls due (NULL) or stop is set. */
static struct cmd *worker_wait(struct replicas *r)
{
	struct cmd *c;
	int64_t due;

	pthread_mutex_lock(&r->mu);
	while (!r->stop && !r->cmds) {
		struct timespec ts;

		worker_next(r, &due);
		if (due <= now_ms())
			break;
		ts = monotonic_at(due);
		pthread_cond_timedwait(&r->cond, &r->mu, &ts);
	}
	c = r->stop ? NULL : r->cmds;
	if (c) {
		r->cmds = c->next;
		if (!r->cmds)
			r->cmds_tail = &r->cmds;
	}
	pthread_mutex_unlock(&r->mu);
	return c;
}

static bool worker_stopping(struct replicas *r)
{
	bool s;

	pthread_mutex_lock(&r->mu);
	s = r->stop;
	pthread_mutex_unlock(&r->mu);
	return s;
}

/* Commands first; then one due replica at a time, so a command never waits for a whole round. */
static void *worker_main(void *arg)
{
	struct replicas *r = arg;

	worker_ping(r);
	while (!worker_stopping(r)) {
		struct cmd *c = worker_wait(r);
		struct replica *rp;
		int64_t due;

		if (c) {
			cmd_run(r, c);
			cmd_free(c);
			continue;
		}
		rp = worker_next(r, &due);
		if (due > now_ms())
			continue;
		if (rp)
			replica_step(r, rp);
		else
			worker_ping(r);
	}
	return NULL;
}

/* ---- the loop's API ---- */

static void cmd_push(struct replicas *r, struct cmd *c)
{
	pthread_mutex_lock(&r->mu);
	if (strcmp(r->busy_id, c->id) == 0 &&
	    (c->kind == CMD_DELETE || strcmp(r->busy_hash, c->hash) != 0))
		r->cancel = true;
	*r->cmds_tail = c;
	r->cmds_tail = &c->next;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
}

static struct cmd *cmd_new(enum cmd_kind kind, const char *id)
{
	struct cmd *c = must(calloc(1, sizeof(*c)));

	c->kind = kind;
	copy_str(c->id, sizeof(c->id), id);
	return c;
}

static int opt_or(int v, int def)
{
	return v > 0 ? v : def;
}

static int replicas_sync_init(struct replicas *r, struct berr *e)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&r->cond, &ca))
		return berr_set(e, B_EINTERNAL, NULL, "cannot create the replica worker's condition");
	pthread_condattr_destroy(&ca);
	if (pthread_mutex_init(&r->mu, NULL)) {
		pthread_cond_destroy(&r->cond);
		return berr_set(e, B_EINTERNAL, NULL, "cannot create the replica worker's mutex");
	}
	return B_OK;
}

static int replicas_init(struct replicas *r, struct event_base *base,
			 const struct replicas_opts *o, struct berr *e)
{
	static const struct replicas_opts none;

	if (!o)
		o = &none;
	r->probe_interval_ms = opt_or(o->probe_interval_ms, REPLICAS_PROBE_INTERVAL_MS_DEFAULT);
	if (o->agent_name)
		copy_str(r->agent_name, sizeof(r->agent_name), o->agent_name);
	for (size_t i = 0; i < o->label_count && i < EXTRA_LABELS_MAX; i++) {
		r->extra[i].name = must(strdup(o->labels[i].name));
		r->extra[i].value = must(strdup(o->labels[i].value));
		r->nextra++;
	}
	r->probe_timeout_ms = opt_or(o->probe_timeout_ms, REPLICAS_PROBE_TIMEOUT_MS_DEFAULT);
	r->unhealthy_after = opt_or(o->unhealthy_after, REPLICAS_UNHEALTHY_AFTER_DEFAULT);
	r->backoff_max_s = opt_or(o->restart_backoff_max_s, REPLICAS_RESTART_BACKOFF_MAX_S_DEFAULT);
	r->cmds_tail = &r->cmds;
	r->notes_tail = &r->notes;
	copy_str(r->docker_detail, sizeof(r->docker_detail), "not checked yet");
	if (crypto_init())
		return berr_set(e, B_EINTERNAL, NULL, "libsodium cannot start");
	r->wake = event_new(base, -1, 0, notes_deliver, r);
	r->docker = docker_new(o->docker_socket);
	r->probe = curl_easy_init();
	if (!r->wake || !r->docker || !r->probe)
		return berr_set(e, B_EINTERNAL, NULL, "cannot set up the replica manager "
				"(out of memory, or curl cannot start)");
	return B_OK;
}

struct replicas *replicas_new(struct event_base *base, const struct replicas_opts *o,
			      replicas_event_fn fn, void *ctx, struct berr *e)
{
	struct replicas *r = must(calloc(1, sizeof(*r)));

	r->fn = fn;
	r->ctx = ctx;
	if (replicas_sync_init(r, e)) {
		free(r);
		return NULL;
	}
	if (replicas_init(r, base, o, e))
		goto fail;
	cmd_push(r, cmd_new(CMD_ADOPT, ""));
	if (pthread_create(&r->worker, NULL, worker_main, r)) {
		berr_set(e, B_EINTERNAL, NULL, "cannot start the replica worker thread");
		goto fail;
	}
	r->started = true;
	return r;
fail:
	replicas_free(r);
	return NULL;
}

void replicas_free(struct replicas *r)
{
	struct note *n, *nn;
	struct cmd *c, *cn;

	if (!r)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->mu);
	if (r->started)
		pthread_join(r->worker, NULL);
	for (n = r->notes; n; n = nn) {
		nn = n->next;
		free(n);
	}
	for (c = r->cmds; c; c = cn) {
		cn = c->next;
		cmd_free(c);
	}
	for (size_t i = 0; i < r->count; i++)
		replica_free(r->items[i]);
	free(r->items);
	if (r->wake)
		event_free(r->wake);
	docker_free(r->docker);
	if (r->probe)
		curl_easy_cleanup(r->probe);
	pthread_cond_destroy(&r->cond);
	pthread_mutex_destroy(&r->mu);
	for (size_t i = 0; i < r->nextra; i++) {
		free((char *)r->extra[i].name);
		free((char *)r->extra[i].value);
	}
	free(r);
}

int replicas_put(struct replicas *r, const char *replica_id, const cJSON *spec, struct berr *e)
{
	struct cmd *c;
	cJSON *canon;
	int rc;

	if ((rc = spec_check_replica_id(replica_id, e)) || (rc = spec_canonical(spec, &canon, e)))
		return rc;
	c = cmd_new(CMD_PUT, replica_id);
	c->spec = canon;
	spec_hash(canon, c->hash);
	cmd_push(r, c);
	return B_OK;
}

int replicas_delete(struct replicas *r, const char *replica_id, struct berr *e)
{
	int rc = spec_check_replica_id(replica_id, e);

	if (rc)
		return rc;
	cmd_push(r, cmd_new(CMD_DELETE, replica_id));
	return B_OK;
}

static void address_text(const struct replica *rp, char *out, size_t n)
{
	bool v6 = strchr(rp->host, ':') != NULL;

	if (!rp->host[0])
		out[0] = '\0';
	else
		snprintf(out, n, "%s%s%s:%d", v6 ? "[" : "", rp->host, v6 ? "]" : "", rp->port);
}

static cJSON *replica_json(const struct replica *rp)
{
	cJSON *o = must(cJSON_CreateObject());
	char addr[DOCKER_IP_MAX + 16];

	address_text(rp, addr, sizeof(addr));
	must(cJSON_AddStringToObject(o, "replica_id", rp->id));
	must(cJSON_AddStringToObject(o, "service_id", rp->service_id));
	must(cJSON_AddStringToObject(o, "replica_state", rp->state));
	must(cJSON_AddStringToObject(o, "replica_detail", rp->detail));
	must(cJSON_AddStringToObject(o, "container_id", rp->container_id));
	must(cJSON_AddStringToObject(o, "address", addr));
	return o;
}

cJSON *replicas_list(struct replicas *r)
{
	cJSON *arr = must(cJSON_CreateArray());

	pthread_mutex_lock(&r->mu);
	for (size_t i = 0; i < r->count; i++)
		cJSON_AddItemToArray(arr, replica_json(r->items[i]));
	pthread_mutex_unlock(&r->mu);
	return arr;
}

int replicas_address(struct replicas *r, const char *replica_id, char *host, size_t n, int *port)
{
	struct replica *rp;
	int rc = B_OK;

	pthread_mutex_lock(&r->mu);
	rp = replica_id ? table_find(r, replica_id) : NULL;
	if (!rp)
		rc = B_ENOTFOUND;
	else if (strcmp(rp->state, "healthy") != 0 || !rp->host[0])
		rc = B_ECONFLICT;
	else if ((size_t)snprintf(host, n, "%s", rp->host) >= n)
		rc = B_EINVAL;
	else
		*port = rp->port;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

bool replicas_docker_ok(struct replicas *r, char *detail, size_t n)
{
	bool ok;

	pthread_mutex_lock(&r->mu);
	ok = r->docker_ok;
	if (detail && n)
		copy_str(detail, n, r->docker_detail);
	pthread_mutex_unlock(&r->mu);
	return ok;
}

bool replicas_docker_known(struct replicas *r)
{
	bool known;

	pthread_mutex_lock(&r->mu);
	known = r->docker_checked;
	pthread_mutex_unlock(&r->mu);
	return known;
}
