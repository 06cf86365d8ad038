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

/* The columns svc_from_row() reads, in order, for SELECT <SVC_COLUMNS> FROM container_services. */
#define SVC_COLUMNS \
	"id, service_slug, display_name, service_desc, service_type, docker_image, external_url," \
	" external_auth_credential_id, exposed_port, health_path, env_config, volume_config," \
	" required_labels, gpu_count, replica_count, usage_prompt, openapi_url, service_status," \
	" status_detail, created_at, updated_at"

/* The definition of API.md section 3 from a row selected with SVC_COLUMNS; cJSON_Delete it. */
cJSON *svc_from_row(sqlite3_stmt *st);

/* Reads a PUT body against the current definition (as from svc_from_row): members of body
 * replace those of current, null means unchanged, service_slug and service_type may only be
 * sent unchanged, server-set fields are refused; the merged whole is then checked with every
 * create rule. out's strings point into *merged, which the caller frees with cJSON_Delete. */
int svc_parse_update(const cJSON *current, const cJSON *body, cJSON **merged, struct svc *out,
		     struct berr *e) B_MUST_CHECK;

/* 400 unless v's external_auth_credential_id (when set) is a vault secret of v->team_id. */
int svc_check_vault(struct store *s, const struct svc *v, struct berr *e) B_MUST_CHECK;

/* Inserts v (id and times are set here) with status `created`. 409 for a slug taken in the
 * team; 400 when external_auth_credential_id is not a vault secret of the team. */
int svc_insert(struct store *s, struct svc *v, struct berr *e) B_MUST_CHECK;

#endif
