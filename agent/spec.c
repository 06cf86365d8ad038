/* spec.c: a replica's spec as gatewayd sends it in PUT /v1/replicas/{id}: every field checked
 * (the same rules as the API's definition, for what reaches Docker), then one canonical form. */
#include "berth.h"
#include "spec.h"
#include "berth_limits.h"
#include "crypto.h"
#include "docker.h"
#include "json.h"
#include "uuid.h"
#include "valid.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPU_ID_MAX 64                   /* an index or a GPU-<uuid> */

static void *must(void *p)
{
	if (!p)
		abort(); /* out of memory may abort (STYLE.md) */
	return p;
}

static const char *const spec_keys[] = {
	"service_id", "docker_image", "env_config", "volume_config", "exposed_port",
	"health_path", "gpu_count", "gpu_ids", NULL,
};

bool spec_replica_id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > DOCKER_REPLICA_ID_MAX || s[0] == '_' || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '.' || s[i] == '-'))
			return false;
	return true;
}

int spec_check_replica_id(const char *id, struct berr *e)
{
	if (!id || !spec_replica_id_valid(id))
		return berr_set(e, B_EINVAL, "replica_id",
				"replica_id must be 1-%d letters, digits, '_', '.' or '-', starting "
				"with a letter or digit", DOCKER_REPLICA_ID_MAX);
	return B_OK;
}

static bool gpu_id_valid(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* Docker's Binds are "host:container": a ':' in either would move the split. */
static bool bind_path_valid(const char *s)
{
	return s && valid_abs_path(s) && !strchr(s, ':');
}

static int spec_ids(const cJSON *in, cJSON *out, struct berr *e)
{
	char name[DOCKER_IMAGE_MAX + 1], tag[DOCKER_IMAGE_MAX + 1];
	const char *sid, *image;
	int rc;

	if ((rc = json_get_string(in, "service_id", "service_id", true, 1, UUID_STR_LEN, &sid, e)))
		return rc;
	if (!uuid_valid(sid))
		return berr_set(e, B_EINVAL, "service_id", "service_id must be a lowercase UUID");
	if ((rc = json_get_string(in, "docker_image", "docker_image", true, 1, DOCKER_IMAGE_MAX,
				  &image, e)))
		return rc;
	if (!valid_docker_image(image) ||
	    docker_image_split(image, name, sizeof(name), tag, sizeof(tag), e))
		return berr_set(e, B_EINVAL, "docker_image", "docker_image %s is not a valid image "
				"reference (expected name[:tag] or name@sha256:digest)", image);
	must(cJSON_AddStringToObject(out, "service_id", sid));
	must(cJSON_AddStringToObject(out, "docker_image", image));
	return B_OK;
}

/* One {k1, k2} entry of env_config or volume_config, named where ("env_config[2]."). */
static int spec_pair(const cJSON *item, const char *where, const char *k1, const char *k2,
		     size_t max1, size_t max2, const char **v1, const char **v2, struct berr *e)
{
	const char *const keys[] = {k1, k2, NULL};
	char f1[ERR_FIELD_MAX], f2[ERR_FIELD_MAX];
	int rc;

	snprintf(f1, sizeof(f1), "%s%s", where, k1);
	snprintf(f2, sizeof(f2), "%s%s", where, k2);
	if (!cJSON_IsObject(item)) {
		snprintf(f1, sizeof(f1), "%.*s", (int)strlen(where) - 1, where); /* without the '.' */
		return berr_set(e, B_EINVAL, f1, "%s must be an object {%s, %s}", f1, k1, k2);
	}
	if ((rc = json_only_keys(item, keys, where, e)) ||
	    (rc = json_get_string(item, k1, f1, true, 1, max1, v1, e)) ||
	    (rc = json_get_string(item, k2, f2, true, 0, max2, v2, e)))
		return rc;
	return B_OK;
}

static int spec_env(const cJSON *in, cJSON *out, struct berr *e)
{
	cJSON *arr = must(cJSON_AddArrayToObject(out, "env_config"));
	const cJSON *items, *item;
	char where[ERR_FIELD_MAX];
	int rc, i = 0;

	if ((rc = json_get_array(in, "env_config", ENV_CONFIG_MAX, &items, e)))
		return rc;
	cJSON_ArrayForEach(item, items) {
		const char *name = NULL, *value = NULL;
		cJSON *o;

		snprintf(where, sizeof(where), "env_config[%d].", i++);
		if ((rc = spec_pair(item, where, "env_name", "env_value", ENV_NAME_MAX,
				    ENV_VALUE_MAX, &name, &value, e)))
			return rc;
		if (!valid_env_name(name)) {
			snprintf(where, sizeof(where), "env_config[%d].env_name", i - 1);
			return berr_set(e, B_EINVAL, where, "%s must match ^[A-Za-z_][A-Za-z0-9_]*$",
					where);
		}
		o = must(cJSON_CreateObject());
		must(cJSON_AddStringToObject(o, "env_name", name));
		must(cJSON_AddStringToObject(o, "env_value", value));
		cJSON_AddItemToArray(arr, o);
	}
	return B_OK;
}

static int spec_volumes(const cJSON *in, cJSON *out, struct berr *e)
{
	cJSON *arr = must(cJSON_AddArrayToObject(out, "volume_config"));
	const cJSON *items, *item;
	char where[ERR_FIELD_MAX], f[ERR_FIELD_MAX + 16];
	int rc, i = 0;

	if ((rc = json_get_array(in, "volume_config", VOLUME_CONFIG_MAX, &items, e)))
		return rc;
	cJSON_ArrayForEach(item, items) {
		const char *host = NULL, *cont = NULL;
		cJSON *o;

		snprintf(where, sizeof(where), "volume_config[%d].", i++);
		if ((rc = spec_pair(item, where, "host_path", "container_path", VOLUME_PATH_MAX,
				    VOLUME_PATH_MAX, &host, &cont, e)))
			return rc;
		if (!bind_path_valid(host) || !bind_path_valid(cont)) {
			snprintf(f, sizeof(f), "%s%s", where, bind_path_valid(host) ?
				 "container_path" : "host_path");
			return berr_set(e, B_EINVAL, f, "%s must be an absolute path without "
					"'..' segments, ':' or control characters", f);
		}
		o = must(cJSON_CreateObject());
		must(cJSON_AddStringToObject(o, "host_path", host));
		must(cJSON_AddStringToObject(o, "container_path", cont));
		cJSON_AddItemToArray(arr, o);
	}
	return B_OK;
}

static int spec_numbers(const cJSON *in, cJSON *out, struct berr *e)
{
	long port = EXPOSED_PORT_DEFAULT, gpus = 0;
	const char *path;
	bool has;
	int rc;

	if ((rc = json_get_int(in, "exposed_port", false, EXPOSED_PORT_MIN, EXPOSED_PORT_MAX,
			       &has, &port, e)))
		return rc;
	if (!has)
		port = EXPOSED_PORT_DEFAULT;
	if ((rc = json_get_string(in, "health_path", "health_path", false, 1, HEALTH_PATH_MAX,
				  &path, e)))
		return rc;
	if (path && !valid_url_path(path))
		return berr_set(e, B_EINVAL, "health_path", "health_path must start with '/' and "
				"hold no spaces or control characters");
	if ((rc = json_get_int(in, "gpu_count", false, GPU_COUNT_MIN, GPU_COUNT_MAX, &has,
			       &gpus, e)))
		return rc;
	if (!has)
		gpus = 0;
	must(cJSON_AddNumberToObject(out, "exposed_port", (double)port));
	must(cJSON_AddStringToObject(out, "health_path", path ? path : HEALTH_PATH_DEFAULT));
	must(cJSON_AddNumberToObject(out, "gpu_count", (double)gpus));
	return B_OK;
}

static int spec_gpu_ids(const cJSON *in, cJSON *out, struct berr *e)
{
	cJSON *arr = must(cJSON_AddArrayToObject(out, "gpu_ids"));
	const cJSON *items, *item;
	char f[ERR_FIELD_MAX];
	int rc, i = 0;

	if ((rc = json_get_array(in, "gpu_ids", GPU_COUNT_MAX, &items, e)))
		return rc;
	cJSON_ArrayForEach(item, items) {
		snprintf(f, sizeof(f), "gpu_ids[%d]", i++);
		if ((rc = json_check_string(item, f, 1, GPU_ID_MAX, e)))
			return rc;
		if (!gpu_id_valid(item->valuestring))
			return berr_set(e, B_EINVAL, f, "%s must be a GPU index or UUID "
					"(letters, digits and '-')", f);
		cJSON_AddItemToArray(arr, must(cJSON_CreateString(item->valuestring)));
	}
	return B_OK;
}

int spec_canonical(const cJSON *in, cJSON **out, struct berr *e)
{
	cJSON *c;
	int rc;

	*out = NULL;
	if (!cJSON_IsObject(in))
		return berr_set(e, B_EINVAL, "", "the replica spec must be a JSON object");
	if ((rc = json_only_keys(in, spec_keys, "", e)))
		return rc;
	c = must(cJSON_CreateObject());
	if ((rc = spec_ids(in, c, e)) || (rc = spec_env(in, c, e)) ||
	    (rc = spec_volumes(in, c, e)) || (rc = spec_numbers(in, c, e)) ||
	    (rc = spec_gpu_ids(in, c, e))) {
		cJSON_Delete(c);
		return rc;
	}
	*out = c;
	return B_OK;
}

void spec_hash(const cJSON *spec, char out[SHA256_HEX_LEN + 1])
{
	char *text = json_print(spec);

	crypto_sha256_hex(text, strlen(text), out);
	free(text);
}

const char *spec_str(const cJSON *spec, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(spec, name)->valuestring;
}

int spec_int(const cJSON *spec, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(spec, name)->valueint;
}
