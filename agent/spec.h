/* spec.h: a replica's spec (PUT /v1/replicas/{id}): validation, its canonical form and hash,
 * and the replica id rule. What the spec makes in Docker is replicas.c's. */
#ifndef BERTH_AGENT_SPEC_H
#define BERTH_AGENT_SPEC_H

#include "berth.h"
#include "crypto.h"
#include "err.h"

#include <cjson/cJSON.h>

/* 1..DOCKER_REPLICA_ID_MAX of [A-Za-z0-9_.-], not starting with '_', '.' or '-'. */
bool spec_replica_id_valid(const char *s);
/* The same as a 400 naming replica_id. */
int spec_check_replica_id(const char *id, struct berr *e) B_MUST_CHECK;
/* Every field checked and present, defaults filled, one member order: equal specs print, and
 * hash, equal. *out is freed with cJSON_Delete. 400 naming the field otherwise. */
int spec_canonical(const cJSON *in, cJSON **out, struct berr *e) B_MUST_CHECK;
void spec_hash(const cJSON *spec, char out[SHA256_HEX_LEN + 1]);
/* A member of a canonical spec (present by construction). */
const char *spec_str(const cJSON *spec, const char *name);
int spec_int(const cJSON *spec, const char *name);

#endif
