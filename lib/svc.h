/* svc.h: the container service definition of API.md section 3: reading it from a request
 * body with every field rule, storing it, and writing it back as JSON. Lifecycle transitions
 * and scheduling live elsewhere. */
#ifndef BERTH_SVC_H
#define BERTH_SVC_H

#include "berth.h"
#include "err.h"
#include "store.h"
#include "uuid.h"

#include <cjson/cJSON.h>

enum svc_type { SVC_DEPLOYED, SVC_EXTERNAL };

/* A definition as read from a body. Strings point into the cJSON tree the caller owns, or
 * at static defaults; the *_json members are the arrays re-serialised (free with svc_free). */
struct svc {
	char id[UUID_STR_LEN + 1];
	char team_id[UUID_STR_LEN + 1];
	const char *service_slug;
	const char *display_name;
	const char *service_desc;
	enum svc_type service_type;
	const char *docker_image;
	const char *external_url;
	const char *external_auth_credential_id;
	long exposed_port;
	const char *health_path;
	char *env_config_json;
	char *volume_config_json;
	char *required_labels_json;
	long gpu_count;
	long replica_count;
	const char *usage_prompt;
	const char *openapi_url;
};

/* Reads a create body: every rule of the field table, defaults filled, unknown fields and
 * fields of the other service_type rejected. The 400 names the field. */
int svc_parse_create(const cJSON *body, struct svc *out, struct berr *e) B_MUST_CHECK;
void svc_free(struct svc *v);

/* Inserts v (id and times are set here) with status `created`. 409 for a slug taken in the
 * team; 400 when external_auth_credential_id is not a vault secret of the team. */
int svc_insert(struct store *s, struct svc *v, struct berr *e) B_MUST_CHECK;

#endif
