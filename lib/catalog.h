/* catalog.h: a team's container services in the store: look-ups by id and slug, the paginated
 * list, updates, deletion and the lifecycle transitions of API.md section 5, each one atomic
 * statement so two racing requests cannot both win. Field rules are svc.c's. */
#ifndef BERTH_CATALOG_H
#define BERTH_CATALOG_H

#include "berth.h"
#include "err.h"
#include "store.h"
#include "svc.h"

#include <cjson/cJSON.h>

/* The definition (svc_from_row) of the team's service id, or of its service slug; 404 for
 * anything else, another team's services included. cJSON_Delete *out. */
int catalog_get(struct store *s, const char *team_id, const char *id, cJSON **out,
		struct berr *e) B_MUST_CHECK;
int catalog_get_by_slug(struct store *s, const char *team_id, const char *slug, cJSON **out,
			struct berr *e) B_MUST_CHECK;
/* Adds "replica_list" to a definition: each replica with its agent's name, state, detail. */
int catalog_add_replicas(struct store *s, cJSON *svc, struct berr *e) B_MUST_CHECK;
/* One page of the team's services, oldest first, into the array list; *total counts all. */
int catalog_list(struct store *s, const char *team_id, int64_t offset, int64_t limit, cJSON *list,
		 long *total, struct berr *e) B_MUST_CHECK;
/* Writes every mutable field of v to the team's service v->id; 409 while deploying or
 * stopping, 404 when there is no such service. */
int catalog_update(struct store *s, const char *team_id, const struct svc *v,
		   struct berr *e) B_MUST_CHECK;
/* 409 unless created, stopped or failed. */
int catalog_delete(struct store *s, const char *team_id, const char *id,
		   struct berr *e) B_MUST_CHECK;
/* created|stopped|failed -> deploying, status_detail saying what it waits for; replicas a
 * failed deploy left are set stopping. Atomic only in a transaction (services.c has one). */
int catalog_deploy(struct store *s, const char *team_id, const char *id,
		   struct berr *e) B_MUST_CHECK;
/* deploying|running|failed -> stopping, or straight to stopped when no replica is left. */
int catalog_undeploy(struct store *s, const char *team_id, const char *id,
		     struct berr *e) B_MUST_CHECK;
/* The status_detail of a deploy that waits for an agent ("waiting for an agent with labels
 * gpu,h100 and 2 free GPUs"), into out. */
void catalog_wait_detail(const cJSON *svc, char *out, size_t n);

#endif
