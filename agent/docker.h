/* docker.h: a small blocking client of the Docker Engine API (v1.41) over the engine's unix
 * socket, with libcurl. It owns the HTTP and JSON of the engine API and the naming and labels
 * of berth's containers; what to run and when (replica lifecycle, health probes) is the agent's.
 *
 * Every call blocks, so it runs on a worker thread, never on the event loop. One struct docker
 * per thread (it holds one CURL handle). Call curl_global_init() once in main() before any
 * thread starts. Each call returns 0 or a negative enum berth_rc and fills *e (which may be
 * NULL) with a message a user can act on, Docker's own message included when it gave one. */
#ifndef BERTH_DOCKER_H
#define BERTH_DOCKER_H

#include "berth.h"
#include "err.h"

#define DOCKER_SOCKET_DEFAULT "/var/run/docker.sock"
#define DOCKER_ID_LEN 64                 /* hex characters of a full container id */
#define DOCKER_NAME_PREFIX "berth-"      /* container name: berth-<replica id> */
#define DOCKER_LABEL_REPLICA "berth.replica"
#define DOCKER_LABEL_SERVICE "berth.service"
#define DOCKER_LABEL_MANAGED "berth.managed"
#define DOCKER_REPLICA_ID_MAX 100        /* bounded so the container name stays a name */

struct docker;

/* NULL when out of memory or when curl cannot start. socket_path NULL means the default.
 * The result is freed with docker_free. */
struct docker *docker_new(const char *socket_path);
void docker_free(struct docker *d);

/* A name and a value: an environment variable or a label. */
struct docker_kv {
	const char *name;
	const char *value;
};

/* A host directory mounted into the container (Docker's Binds "host:container[:ro]"). Both
 * paths are absolute; the host path may not hold ':'. */
struct docker_bind {
	const char *host;
	const char *container;
	bool read_only;
};

/* What docker_create makes. Strings are borrowed for the call only. */
struct docker_spec {
	const char *replica_id;      /* [A-Za-z0-9][A-Za-z0-9_.-]*, names the container */
	const char *service_id;
	const char *image;
	const struct docker_kv *env;
	size_t env_count;
	const struct docker_kv *labels;  /* extra labels; the three berth.* ones are set here */
	size_t label_count;
	const struct docker_bind *binds;
	size_t bind_count;
	int exposed_port;            /* container TCP port, 0 for none */
	bool publish_port;           /* also publish it on 127.0.0.1:<random host port> */
	int gpu_count;               /* -1 all, 0 none, N; ignored when gpu_ids are given */
	const char *const *gpu_ids;  /* specific GPUs (index or UUID) */
	size_t gpu_id_count;
};

#define DOCKER_STR_MAX 128
#define DOCKER_TIME_MAX 40
#define DOCKER_IP_MAX 46

/* What docker_inspect reports about one container. Strings are "" when Docker had none. */
struct docker_state {
	char id[DOCKER_ID_LEN + 1];
	char status[16];             /* created, running, paused, restarting, exited, dead */
	bool running;
	int exit_code;
	bool oom_killed;
	int restart_count;
	char error[ERR_MESSAGE_MAX]; /* State.Error: why the last start failed */
	char started_at[DOCKER_TIME_MAX];
	char finished_at[DOCKER_TIME_MAX];
	char ip[DOCKER_IP_MAX];      /* address on the bridge (or the first network) */
	int container_port;          /* the published TCP port inside, 0 when none is published */
	int host_port;               /* where it is published on the host, 0 when it is not */
	char replica_id[DOCKER_STR_MAX];   /* the berth.replica label */
	char service_id[DOCKER_STR_MAX];   /* the berth.service label */
};

/* One berth-managed container as docker_list_managed sees it. Valid during the callback only. */
struct docker_summary {
	const char *id;
	const char *name;            /* without Docker's leading '/' */
	const char *image;
	const char *state;           /* created, running, exited, ... */
	const char *status;          /* Docker's human text: "Up 3 minutes" */
	const char *replica_id;      /* "" when the label is missing */
	const char *service_id;
	const void *labels_;         /* for docker_summary_label; not for callers */
};

/* The value of any label of s, or NULL when it has none. */
const char *docker_summary_label(const struct docker_summary *s, const char *name);

/* Called with one human-readable line per progress message of a pull ("<layer>: Downloading
 * [=>  ] 1.2MB/20MB"). A non-zero return cancels the pull. */
typedef int (*docker_progress_fn)(void *ctx, const char *text);
/* Called for each managed container; a non-zero return stops the listing and is returned. */
typedef int (*docker_list_fn)(void *ctx, const struct docker_summary *s);

/* The engine answers on its socket (GET /_ping). */
int docker_ping(struct docker *d, struct berr *e) B_MUST_CHECK;

/* Splits an image reference into what POST /images/create wants: "host:5000/repo:tag" gives
 * name "host:5000/repo", tag "tag"; "repo@sha256:..." gives tag "sha256:..."; no tag gives
 * "latest". B_EINVAL for an empty or malformed reference or when a part does not fit. */
int docker_image_split(const char *image, char *name, size_t name_size, char *tag,
		       size_t tag_size, struct berr *e) B_MUST_CHECK;

int docker_image_present(struct docker *d, const char *image, bool *present,
			 struct berr *e) B_MUST_CHECK;
/* Pulls image, streaming progress to progress (may be NULL) as it arrives. An error message in
 * the stream fails the pull. Fails fast when the registry is unreachable. */
int docker_image_pull(struct docker *d, const char *image, docker_progress_fn progress,
		      void *ctx, struct berr *e) B_MUST_CHECK;
/* Pulls image unless it is present already. */
int docker_image_ensure(struct docker *d, const char *image, docker_progress_fn progress,
			void *ctx, struct berr *e) B_MUST_CHECK;

/* Creates container berth-<replica id> from spec; its full id goes to id_out. B_ECONFLICT when a
 * container with that name exists (adopt or remove it), B_ENOTFOUND when the image is absent. */
int docker_create(struct docker *d, const struct docker_spec *spec,
		  char id_out[DOCKER_ID_LEN + 1], struct berr *e) B_MUST_CHECK;
/* id is a container id or name. Starting a running container succeeds. */
int docker_start(struct docker *d, const char *id, struct berr *e) B_MUST_CHECK;
/* SIGTERM, then SIGKILL after timeout_s seconds. Stopping a stopped container succeeds. */
int docker_stop(struct docker *d, const char *id, int timeout_s, struct berr *e) B_MUST_CHECK;
/* Removing a container that does not exist succeeds. Without force, a running container gives
 * B_ECONFLICT. */
int docker_remove(struct docker *d, const char *id, bool force, struct berr *e) B_MUST_CHECK;
/* B_ENOTFOUND when there is no such container. */
int docker_inspect(struct docker *d, const char *id, struct docker_state *out,
		   struct berr *e) B_MUST_CHECK;
/* Every container labelled berth.managed=1, stopped ones included. */
int docker_list_managed(struct docker *d, docker_list_fn fn, void *ctx,
			struct berr *e) B_MUST_CHECK;

#endif
