/* sched.h: the scheduler's decisions. From the store it works out, for every service being
 * deployed, run or stopped, which replicas to place on which agents (labels, free GPUs,
 * spread), which are lost, and what each service's state now is, and writes those rows. What
 * must be said to agents comes back as a plan of commands; sending them is gatewayd's job. */
#ifndef BERTH_SCHED_H
#define BERTH_SCHED_H

#include "berth.h"
#include "err.h"
#include "store.h"
#include "uuid.h"

#include <cjson/cJSON.h>

#define SCHED_GPU_MAX 64

enum sched_op { SCHED_PUT, SCHED_DELETE };

struct sched_cmd {
	enum sched_op op;
	char agent_id[UUID_STR_LEN + 1];
	char replica_id[UUID_STR_LEN + 1];
	char *spec; /* PUT: the replica spec JSON; free()d by sched_plan_free */
};

struct sched_plan {
	struct sched_cmd *cmds;
	size_t n, cap;
};

struct sched_opts {
	long grace_s;           /* an agent offline this long loses its replicas (default 30) */
	long deploy_deadline_s; /* placed, deploying this long with no healthy replica fails (600) */
};

/* What placement knows of one agent. */
struct sched_agent {
	char id[UUID_STR_LEN + 1];
	cJSON *labels;                  /* array of strings */
	int gpu_capacity;
	bool gpu_used[SCHED_GPU_MAX];
	int of_service;                 /* live replicas of the service being placed */
	int total;                      /* live replicas of any service */
};

/* Picks the agent for one replica needing required (array of labels) and gpus (-1 all,
 * 0 none, N): labels a superset, the GPUs free, then the fewest replicas of this service,
 * then of any. Returns its index, or -1; gpu_ids gets the chosen GPU indexes as a JSON
 * array text (free()d by the caller). */
int sched_pick(struct sched_agent *agents, size_t n, const cJSON *required, int gpus,
	       char **gpu_ids);

/* One reconcile pass over every service in deploying, running or stopping. */
int sched_reconcile(struct store *s, const struct sched_opts *o, struct sched_plan *plan,
		    struct berr *e) B_MUST_CHECK;
void sched_plan_free(struct sched_plan *p);

#endif
