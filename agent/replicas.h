/* replicas.h: the agent's replica manager. It owns each replica's container lifecycle (pull,
 * create, start, health probes, restarts with backoff, stop, adoption after an agent restart)
 * and the replica states it reports; the tunnel, the HTTP/2 API and the gateway's wishes are
 * main.c's. Docker calls and probes block, so they run on one worker thread of this module;
 * every call below is made on the event loop's thread and returns without blocking on Docker.
 *
 * Before creating the event_base, main() must call evthread_use_pthreads() (the worker wakes
 * the loop with event_active from its own thread, which needs a base with a lock) and
 * curl_global_init(CURL_GLOBAL_DEFAULT) (the worker holds CURL handles). */
#ifndef BERTH_REPLICAS_H
#define BERTH_REPLICAS_H

#include "berth.h"
#include "docker.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <event2/event.h>

#define REPLICAS_PROBE_INTERVAL_MS_DEFAULT 2000
#define REPLICAS_PROBE_TIMEOUT_MS_DEFAULT 2000
#define REPLICAS_UNHEALTHY_AFTER_DEFAULT 3
#define REPLICAS_RESTART_BACKOFF_MAX_S_DEFAULT 60
#define REPLICAS_STOP_TIMEOUT_S 10      /* SIGTERM to SIGKILL on delete or a changed spec */
#define REPLICAS_PING_INTERVAL_S 10     /* how often replicas_docker_ok is refreshed */

/* One state change (API.md section 4's replica_state). The strings are valid during the
 * callback only; none is NULL ("" when there is nothing to say). */
struct replica_event {
	const char *replica_id;
	const char *service_id;
	const char *state;        /* pending pulling starting healthy unhealthy stopping stopped failed */
	const char *detail;       /* why, for a human: a pull's progress, Docker's error, an exit code */
	const char *container_id;
};

/* Called on the loop's thread, in the order the changes happened. It may call any replicas_
 * function but replicas_free. */
typedef void (*replicas_event_fn)(void *ctx, const struct replica_event *ev);

/* Zero or negative numbers mean the default. */
struct replicas_opts {
	const char *docker_socket;     /* NULL: DOCKER_SOCKET_DEFAULT */
	int probe_interval_ms;
	int probe_timeout_ms;
	int unhealthy_after;           /* consecutive failed probes that make a healthy replica unhealthy */
	int restart_backoff_max_s;     /* a container that exits is restarted after 1, 2, 4, ... s, up to this */
	/* Set as the berth.agent label of every container made; adoption then takes only the
	 * containers of this agent, so several agents can share one Docker engine. NULL: all. */
	const char *agent_name;
	/* Further labels for every container made (e.g. berth.run for a test run to clean up). */
	const struct docker_kv *labels;
	size_t label_count;
};

/* Starts the worker, which first adopts every container labelled berth.managed=1 (each becomes
 * a replica again, reported as it is probed). fn may be NULL. Freed with replicas_free. */
struct replicas *replicas_new(struct event_base *base, const struct replicas_opts *o,
			      replicas_event_fn fn, void *ctx, struct berr *e);
/* Stops the worker (waiting for the Docker call in progress; a pull is cancelled) and frees r.
 * Containers keep running, so a restarted agent adopts them. No callback runs after this. */
void replicas_free(struct replicas *r);

/* Ensures replica_id runs spec (the body of PUT /v1/replicas/{id}); idempotent: the same spec
 * again leaves a running container alone, a different one replaces the container, and one
 * that failed is tried again. B_EINVAL naming the field for a bad replica id or spec; the work
 * itself happens later and is reported through events. spec is copied. */
int replicas_put(struct replicas *r, const char *replica_id, const cJSON *spec,
		 struct berr *e) B_MUST_CHECK;
/* Stops and removes the replica's container, reporting stopping then stopped, and forgets it.
 * An unknown id is fine (its container, if any, is removed; then "stopped"). */
int replicas_delete(struct replicas *r, const char *replica_id, struct berr *e) B_MUST_CHECK;

/* A new array of {replica_id, service_id, replica_state, replica_detail, container_id,
 * address ("ip:port", "" while unknown)}; the caller frees it with cJSON_Delete. */
cJSON *replicas_list(struct replicas *r);
/* Where to reach a healthy replica: host (an IP address) into host[n] and its port.
 * B_ENOTFOUND for an unknown replica, B_ECONFLICT for one that is not healthy. */
int replicas_address(struct replicas *r, const char *replica_id, char *host, size_t n,
		     int *port) B_MUST_CHECK;
/* The last ping of the Docker engine: true when it answered; detail gets why not (or ""). */
bool replicas_docker_ok(struct replicas *r, char *detail, size_t n);
/* False until the first ping has been made: before that, docker_ok says nothing. */
bool replicas_docker_known(struct replicas *r);

#endif
