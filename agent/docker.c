/* docker.c: the Docker Engine API over its unix socket. One request helper does the HTTP;
 * each call builds its path (from validated ids only) and its JSON (with cJSON only). */
#include "berth.h"
#include "docker.h"
#include "berth_limits.h"
#include "buf.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define API_BASE "http://localhost/v1.41"
#define RESPONSE_MAX ((size_t)4 * 1024 * 1024)  /* the largest answer we read whole */
#define PULL_LINE_MAX ((size_t)64 * 1024)       /* longer progress lines are skipped */
#define PATH_MAX_LEN ((size_t)8192)
#define CONTAINER_REF_MAX ((size_t)128)         /* a 64-hex id or berth-<replica id> */
#define CONNECT_TIMEOUT_S 5L
#define PING_TIMEOUT_S 10L
#define REQUEST_TIMEOUT_S 120L
#define STOP_GRACE_S 60L            /* on top of the stop timeout itself */
#define PULL_LOW_SPEED_TIME_S 300L  /* a pull that sends nothing for this long has stalled */
#define GPU_HINT "GPUs were requested but Docker on this host has no NVIDIA runtime " \
	"(install the NVIDIA Container Toolkit and restart dockerd)"

struct docker {
	CURL *curl;
	char *socket_path;
	char curl_err[CURL_ERROR_SIZE];
};

/* One HTTP exchange with the engine. The body goes to write(write_ctx) as it arrives. */
struct call {
	const char *method;
	const char *path;        /* after the API version, query included */
	const char *body;        /* JSON, or NULL */
	long timeout_s;          /* total; 0 means none, with a low-speed limit instead */
	curl_write_callback write;
	void *write_ctx;
	long status;
};

/* A response read whole, bounded by RESPONSE_MAX. */
struct reply {
	long status;
	struct buf body;
	bool too_big;
};

static void *must(void *p)
{
	if (!p)
		abort(); /* out of memory may abort (STYLE.md) */
	return p;
}

struct docker *docker_new(const char *socket_path)
{
	struct docker *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->socket_path = strdup(socket_path ? socket_path : DOCKER_SOCKET_DEFAULT);
	d->curl = curl_easy_init();
	if (!d->socket_path || !d->curl) {
		docker_free(d);
		return NULL;
	}
	return d;
}

void docker_free(struct docker *d)
{
	if (!d)
		return;
	if (d->curl)
		curl_easy_cleanup(d->curl);
	free(d->socket_path);
	free(d);
}

/* ---- HTTP ---- */

static void call_setopts(struct docker *d, const struct call *c, const char *url,
			 struct curl_slist *hdrs)
{
	curl_easy_setopt(d->curl, CURLOPT_URL, url);
	curl_easy_setopt(d->curl, CURLOPT_UNIX_SOCKET_PATH, d->socket_path);
	curl_easy_setopt(d->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(d->curl, CURLOPT_PATH_AS_IS, 1L); /* send the path we checked, as is */
	curl_easy_setopt(d->curl, CURLOPT_ERRORBUFFER, d->curl_err);
	curl_easy_setopt(d->curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
	curl_easy_setopt(d->curl, CURLOPT_WRITEFUNCTION, c->write);
	curl_easy_setopt(d->curl, CURLOPT_WRITEDATA, c->write_ctx);
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, hdrs);
	if (c->timeout_s > 0) {
		curl_easy_setopt(d->curl, CURLOPT_TIMEOUT, c->timeout_s);
	} else {
		curl_easy_setopt(d->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(d->curl, CURLOPT_LOW_SPEED_TIME, PULL_LOW_SPEED_TIME_S);
	}
	if (strcmp(c->method, "POST") == 0) {
		curl_easy_setopt(d->curl, CURLOPT_POSTFIELDS, c->body ? c->body : "");
		curl_easy_setopt(d->curl, CURLOPT_POSTFIELDSIZE, (long)(c->body ? strlen(c->body) : 0));
	} else if (strcmp(c->method, "GET") != 0) {
		curl_easy_setopt(d->curl, CURLOPT_CUSTOMREQUEST, c->method);
	}
}

/* Why an exchange failed, in words about the socket: curl names a connect() that failed on
 * a unix socket as one to "localhost port 80". */
static const char *call_failure(struct docker *d, CURLcode cc)
{
	long os_errno = 0;

	if (cc == CURLE_COULDNT_CONNECT &&
	    curl_easy_getinfo(d->curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno) {
		char why[128];

		snprintf(d->curl_err, sizeof(d->curl_err), "connect: %s",
			 strerror_r((int)os_errno, why, sizeof(why)));
		return d->curl_err;
	}
	return d->curl_err[0] ? d->curl_err : curl_easy_strerror(cc);
}

/* Runs c on d's handle; c->status gets the HTTP status (0 when none came). B_EIO when the
 * exchange failed; a caller whose write callback stopped it on purpose says why itself. */
static int call_perform(struct docker *d, struct call *c, struct berr *e)
{
	struct curl_slist *hdrs;
	struct buf url;
	CURLcode cc;
	int rc = B_OK;

	buf_init(&url, PATH_MAX_LEN);
	if (buf_addstr(&url, API_BASE) || buf_addstr(&url, c->path)) {
		buf_free(&url);
		return berr_set(e, B_EINVAL, NULL, "Docker request path too long");
	}
	hdrs = must(curl_slist_append(NULL, "Expect:"));
	if (c->body)
		hdrs = must(curl_slist_append(hdrs, "Content-Type: application/json"));
	curl_easy_reset(d->curl);
	d->curl_err[0] = '\0';
	call_setopts(d, c, buf_str(&url), hdrs);
	cc = curl_easy_perform(d->curl);
	c->status = 0;
	curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &c->status);
	if (cc != CURLE_OK)
		rc = berr_set(e, B_EIO, NULL,
			      "cannot talk to the Docker engine at %s (is dockerd running, and may "
			      "berth-agent use its socket?): %s", d->socket_path, call_failure(d, cc));
	curl_easy_setopt(d->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	buf_free(&url);
	return rc;
}

static size_t reply_write(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;

	if (buf_add(&r->body, p, size * n)) {
		r->too_big = true;
		return 0;
	}
	return size * n;
}

/* method path [json] → r->status and r->body (freed with buf_free by the caller, always). */
static int docker_request(struct docker *d, const char *method, const char *path,
			  const cJSON *json, long timeout_s, struct reply *r, struct berr *e)
{
	char *body = json ? must(cJSON_PrintUnformatted(json)) : NULL;
	struct call c = {method, path, body, timeout_s, reply_write, r, 0};
	int rc;

	buf_init(&r->body, RESPONSE_MAX);
	r->too_big = false;
	rc = call_perform(d, &c, e);
	r->status = c.status;
	if (r->too_big)
		rc = berr_set(e, B_ETOOBIG, NULL, "Docker's answer to %s %s exceeds %zu bytes",
			      method, path, RESPONSE_MAX);
	free(body);
	return rc;
}

/* Docker's own words from an error body ({"message": ...}), else the body, else the status. */
static void reply_message(const struct reply *r, char *out, size_t n)
{
	cJSON *j = cJSON_ParseWithLength(buf_str(&r->body), r->body.len);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
	size_t len;

	if (cJSON_IsString(m) && m->valuestring[0])
		snprintf(out, n, "%s", m->valuestring);
	else if (r->body.len)
		snprintf(out, n, "%s", buf_str(&r->body));
	else
		snprintf(out, n, "HTTP status %ld", r->status);
	cJSON_Delete(j);
	len = strlen(out);
	while (len && (out[len - 1] == '\n' || out[len - 1] == '\r' || out[len - 1] == ' '))
		out[--len] = '\0';
}

static int status_rc(long status)
{
	switch (status) {
	case 400: return B_EINVAL;
	case 404: return B_ENOTFOUND;
	case 409: return B_ECONFLICT;
	default: return B_EIO;
	}
}

/* Fails with "<what>: <Docker's message>" and the code that belongs to the status. */
static int reply_fail(const struct reply *r, struct berr *e, const char *fmt, ...) B_PRINTF(3, 4);
static int reply_fail(const struct reply *r, struct berr *e, const char *fmt, ...)
{
	char what[ERR_MESSAGE_MAX / 2], msg[ERR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(what, sizeof(what), fmt, ap) < 0)
		what[0] = '\0';
	va_end(ap);
	reply_message(r, msg, sizeof(msg));
	return berr_set(e, status_rc(r->status), NULL, "%s: %s", what, msg);
}

/* ---- names and references ---- */

static bool name_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '.' || ch == '-';
}

/* A container id or name as Docker allows it: it then needs no escaping in a path. */
static int check_name(const char *id, size_t max, const char *field, struct berr *e)
{
	size_t len = id ? strlen(id) : 0;

	if (len == 0 || len > max || !name_char(id[0]) || id[0] == '_' || id[0] == '.' ||
	    id[0] == '-')
		goto bad;
	for (size_t i = 0; i < len; i++)
		if (!name_char(id[i]))
			goto bad;
	return B_OK;
bad:
	return berr_set(e, B_EINVAL, field,
			"%s must be 1-%zu letters, digits, '_', '.' or '-', starting with a letter or "
			"digit", field, max);
}

/* Characters of a reference only, and no path component that is empty or starts with '.':
 * the reference then goes into a request path unescaped without meaning another one. */
static int check_image(const char *image, struct berr *e)
{
	size_t len = image ? strlen(image) : 0;

	if (len == 0 || len > DOCKER_IMAGE_MAX)
		return berr_set(e, B_EINVAL, "image", "image must be 1-%d characters",
				DOCKER_IMAGE_MAX);
	for (size_t i = 0; i < len; i++) {
		bool starts = i == 0 || image[i - 1] == '/';

		if ((!name_char(image[i]) && image[i] != '/' && image[i] != ':' && image[i] != '@') ||
		    (starts && (image[i] == '/' || image[i] == '.')) || image[len - 1] == '/')
			return berr_set(e, B_EINVAL, "image", "image %s is not a valid image reference",
					image);
	}
	return B_OK;
}

static int copy_part(char *dst, size_t size, const char *src, size_t len)
{
	if (len == 0 || len >= size)
		return B_EINVAL;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return B_OK;
}

int docker_image_split(const char *image, char *name, size_t name_size, char *tag,
		       size_t tag_size, struct berr *e)
{
	const char *at, *slash, *colon, *end;
	int rc = check_image(image, e);

	if (rc)
		return rc;
	at = strchr(image, '@');
	end = at ? at : image + strlen(image);
	slash = memrchr(image, '/', (size_t)(end - image));
	colon = memrchr(image, ':', (size_t)(end - image));
	if (colon && slash && colon < slash)
		colon = NULL; /* host:port/repo: that colon is the registry's */
	if (at)
		rc = strchr(at + 1, ':') && !strchr(at + 1, '@') ?
			copy_part(tag, tag_size, at + 1, strlen(at + 1)) : B_EINVAL;
	else
		rc = colon ? copy_part(tag, tag_size, colon + 1, strlen(colon + 1)) :
			copy_part(tag, tag_size, "latest", 6);
	if (!rc)
		rc = copy_part(name, name_size, image, (size_t)((colon ? colon : end) - image));
	if (rc)
		return berr_set(e, B_EINVAL, "image", "image %s is not a valid reference "
				"(expected name[:tag] or name@sha256:digest)", image);
	return B_OK;
}

/* ---- ping and images ---- */

int docker_ping(struct docker *d, struct berr *e)
{
	struct reply r = {0};
	int rc = docker_request(d, "GET", "/_ping", NULL, PING_TIMEOUT_S, &r, e);

	if (!rc && r.status != 200)
		rc = reply_fail(&r, e, "the Docker engine at %s is not healthy", d->socket_path);
	buf_free(&r.body);
	return rc;
}

int docker_image_present(struct docker *d, const char *image, bool *present, struct berr *e)
{
	struct buf path;
	struct reply r = {0};
	int rc = check_image(image, e);

	*present = false;
	if (rc)
		return rc;
	buf_init(&path, PATH_MAX_LEN);
	if (buf_addf(&path, "/images/%s/json", image)) {
		buf_free(&path);
		return berr_set(e, B_EINVAL, "image", "image reference too long");
	}
	rc = docker_request(d, "GET", buf_str(&path), NULL, REQUEST_TIMEOUT_S, &r, e);
	if (!rc && r.status == 200)
		*present = true;
	else if (!rc && r.status != 404)
		rc = reply_fail(&r, e, "could not look up image %s", image);
	buf_free(&r.body);
	buf_free(&path);
	return rc;
}

/* The pull's stream: newline-separated JSON objects, each a progress message or an error. */
struct pull {
	docker_progress_fn fn;
	void *ctx;
	struct buf line;
	bool line_overflow;
	bool cancelled;
	char error[ERR_MESSAGE_MAX];
};

static void pull_progress(struct pull *p, const cJSON *j)
{
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(j, "status");
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
	const cJSON *progress = cJSON_GetObjectItemCaseSensitive(j, "progress");
	struct buf text;
	int rc = B_OK;

	if (!p->fn || !cJSON_IsString(status))
		return;
	buf_init(&text, PULL_LINE_MAX);
	if (cJSON_IsString(id) && id->valuestring[0])
		rc = buf_addf(&text, "%s: ", id->valuestring);
	if (!rc)
		rc = buf_addstr(&text, status->valuestring);
	if (!rc && cJSON_IsString(progress) && progress->valuestring[0])
		rc = buf_addf(&text, " %s", progress->valuestring);
	if (!rc && p->fn(p->ctx, buf_str(&text)))
		p->cancelled = true;
	buf_free(&text);
}

static void pull_line(struct pull *p)
{
	cJSON *j = cJSON_ParseWithLength(buf_str(&p->line), p->line.len);
	const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
	const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");

	if (!cJSON_IsString(err))
		err = msg; /* a non-200 answer is one {"message": ...} */
	if (cJSON_IsString(err)) {
		if (!p->error[0])
			snprintf(p->error, sizeof(p->error), "%s", err->valuestring);
	} else if (j) {
		pull_progress(p, j);
	}
	cJSON_Delete(j);
	buf_reset(&p->line);
	p->line_overflow = false;
}

static size_t pull_write(char *data, size_t size, size_t n, void *arg)
{
	struct pull *p = arg;
	size_t len = size * n, i = 0;

	while (i < len && !p->cancelled) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t take = nl ? (size_t)(nl - (data + i)) : len - i;

		if (!p->line_overflow && buf_add(&p->line, data + i, take))
			p->line_overflow = true;
		i += take;
		if (nl) {
			if (!p->line_overflow)
				pull_line(p);
			buf_reset(&p->line);
			p->line_overflow = false;
			i++;
		}
	}
	return p->cancelled ? 0 : len;
}

static int pull_path(struct docker *d, const char *image, struct buf *path, struct berr *e)
{
	char name[DOCKER_IMAGE_MAX + 1], tag[DOCKER_IMAGE_MAX + 1];
	char *ename, *etag;
	int rc = docker_image_split(image, name, sizeof(name), tag, sizeof(tag), e);

	if (rc)
		return rc;
	ename = must(curl_easy_escape(d->curl, name, 0));
	etag = must(curl_easy_escape(d->curl, tag, 0));
	if (buf_addf(path, "/images/create?fromImage=%s&tag=%s", ename, etag))
		rc = berr_set(e, B_EINVAL, "image", "image reference too long");
	curl_free(ename);
	curl_free(etag);
	return rc;
}

/* Pulls image; absent says the caller looked for it first, which the message then says. */
static int pull_image(struct docker *d, const char *image, bool absent,
		      docker_progress_fn progress, void *ctx, struct berr *e)
{
	struct pull p = {.fn = progress, .ctx = ctx};
	struct buf path;
	struct call c = {"POST", NULL, NULL, 0, pull_write, &p, 0};
	int rc;

	buf_init(&path, PATH_MAX_LEN);
	buf_init(&p.line, PULL_LINE_MAX);
	rc = pull_path(d, image, &path, e);
	if (rc)
		goto out;
	c.path = buf_str(&path);
	rc = call_perform(d, &c, e);
	if (!p.cancelled && !p.line_overflow && p.line.len)
		pull_line(&p); /* a last line without its newline */
	if (p.cancelled)
		rc = berr_set(e, B_EIO, NULL, "pull of image %s was cancelled", image);
	else if (!rc && (c.status != 200 || p.error[0]))
		rc = berr_set(e, c.status == 404 ? B_ENOTFOUND : B_EIO, "image",
			      "image %s %s: %s", image,
			      absent ? "not found and could not be pulled" : "could not be pulled",
			      p.error[0] ? p.error : "Docker gave no reason");
out:
	buf_free(&p.line);
	buf_free(&path);
	return rc;
}

int docker_image_pull(struct docker *d, const char *image, docker_progress_fn progress, void *ctx,
		      struct berr *e)
{
	return pull_image(d, image, false, progress, ctx, e);
}

int docker_image_ensure(struct docker *d, const char *image, docker_progress_fn progress,
			void *ctx, struct berr *e)
{
	bool present;
	int rc = docker_image_present(d, image, &present, e);

	if (rc || present)
		return rc;
	return pull_image(d, image, true, progress, ctx, e);
}

/* ---- the create request ---- */

static cJSON *add_obj(cJSON *parent, const char *name)
{
	return must(cJSON_AddObjectToObject(parent, name));
}

static cJSON *add_arr(cJSON *parent, const char *name)
{
	return must(cJSON_AddArrayToObject(parent, name));
}

static void add_str(cJSON *obj, const char *name, const char *value)
{
	must(cJSON_AddStringToObject(obj, name, value));
}

static void push(cJSON *arr, cJSON *item)
{
	cJSON_AddItemToArray(arr, must(item));
}

/* Env: ["NAME=value", ...], the form Docker wants. */
static int spec_env(const struct docker_spec *s, cJSON *config, struct berr *e)
{
	cJSON *env = add_arr(config, "Env");
	struct buf kv;
	int rc = B_OK;

	buf_init(&kv, ENV_NAME_MAX + 1 + ENV_VALUE_MAX);
	for (size_t i = 0; i < s->env_count && !rc; i++) {
		const char *name = s->env[i].name, *value = s->env[i].value;

		buf_reset(&kv);
		if (!name || !name[0] || strchr(name, '='))
			rc = berr_set(e, B_EINVAL, "env", "environment variable name \"%s\" is empty or "
				      "holds '='", name ? name : "");
		else if (buf_addstr(&kv, name) || buf_addstr(&kv, "=") ||
			 buf_addstr(&kv, value ? value : ""))
			rc = berr_set(e, B_ETOOBIG, "env", "environment variable %s is too long", name);
		else
			push(env, cJSON_CreateString(buf_str(&kv)));
	}
	buf_free(&kv);
	return rc;
}

/* berth's own three labels, then the extra ones, none of which may repeat a name. */
static int spec_labels(const struct docker_spec *s, cJSON *config, struct berr *e)
{
	cJSON *labels = add_obj(config, "Labels");

	add_str(labels, DOCKER_LABEL_REPLICA, s->replica_id);
	add_str(labels, DOCKER_LABEL_SERVICE, s->service_id ? s->service_id : "");
	add_str(labels, DOCKER_LABEL_MANAGED, "1");
	for (size_t i = 0; i < s->label_count; i++) {
		const char *name = s->labels[i].name, *value = s->labels[i].value;

		if (!name || !name[0])
			return berr_set(e, B_EINVAL, "labels", "a label has an empty name");
		if (cJSON_GetObjectItemCaseSensitive(labels, name))
			return berr_set(e, B_EINVAL, "labels", "label %s is given twice or is berth's "
					"own", name);
		add_str(labels, name, value ? value : "");
	}
	return B_OK;
}

static bool bind_path_ok(const char *p)
{
	return p && p[0] == '/' && !strchr(p, ':') && strlen(p) <= VOLUME_PATH_MAX;
}

/* Binds: ["host:container[:ro]", ...]; a ':' inside a path would change the meaning. */
static int spec_binds(const struct docker_spec *s, cJSON *host, struct berr *e)
{
	cJSON *binds;
	struct buf b;
	int rc = B_OK;

	if (!s->bind_count)
		return B_OK;
	binds = add_arr(host, "Binds");
	buf_init(&b, 2 * VOLUME_PATH_MAX + 8);
	for (size_t i = 0; i < s->bind_count && !rc; i++) {
		const struct docker_bind *v = &s->binds[i];

		buf_reset(&b);
		if (!bind_path_ok(v->host) || !bind_path_ok(v->container))
			rc = berr_set(e, B_EINVAL, "volumes", "volume %s:%s: both paths must be "
				      "absolute, without ':'", v->host ? v->host : "",
				      v->container ? v->container : "");
		else if (buf_addf(&b, "%s:%s%s", v->host, v->container, v->read_only ? ":ro" : ""))
			rc = berr_set(e, B_ETOOBIG, "volumes", "volume %s is too long", v->host);
		else
			push(binds, cJSON_CreateString(buf_str(&b)));
	}
	buf_free(&b);
	return rc;
}

/* ExposedPorts, and PortBindings on 127.0.0.1 with a port Docker picks when publishing. */
static int spec_ports(const struct docker_spec *s, cJSON *config, cJSON *host, struct berr *e)
{
	char key[16];
	cJSON *binding;

	if (s->exposed_port == 0 && !s->publish_port)
		return B_OK;
	if (s->exposed_port < EXPOSED_PORT_MIN || s->exposed_port > EXPOSED_PORT_MAX)
		return berr_set(e, B_EINVAL, "exposed_port", "exposed_port must be %d-%d to be "
				"published", EXPOSED_PORT_MIN, EXPOSED_PORT_MAX);
	snprintf(key, sizeof(key), "%d/tcp", s->exposed_port);
	add_obj(add_obj(config, "ExposedPorts"), key);
	if (!s->publish_port)
		return B_OK;
	binding = must(cJSON_CreateObject());
	add_str(binding, "HostIp", "127.0.0.1");
	add_str(binding, "HostPort", "");
	push(add_arr(add_obj(host, "PortBindings"), key), binding);
	return B_OK;
}

/* DeviceRequests: all GPUs (Count -1), N of them, or the ones named. */
static int spec_gpus(const struct docker_spec *s, cJSON *host, struct berr *e)
{
	cJSON *req, *caps;

	if (s->gpu_id_count == 0 && s->gpu_count == 0)
		return B_OK;
	if (s->gpu_id_count == 0 && (s->gpu_count < GPU_COUNT_MIN || s->gpu_count > GPU_COUNT_MAX))
		return berr_set(e, B_EINVAL, "gpu_count", "gpu_count must be %d-%d", GPU_COUNT_MIN,
				GPU_COUNT_MAX);
	req = must(cJSON_CreateObject());
	push(add_arr(host, "DeviceRequests"), req);
	add_str(req, "Driver", "nvidia");
	if (s->gpu_id_count) {
		cJSON *ids = add_arr(req, "DeviceIDs");

		for (size_t i = 0; i < s->gpu_id_count; i++) {
			if (!s->gpu_ids[i] || !s->gpu_ids[i][0])
				return berr_set(e, B_EINVAL, "gpu_ids", "a GPU id is empty");
			push(ids, cJSON_CreateString(s->gpu_ids[i]));
		}
	} else {
		must(cJSON_AddNumberToObject(req, "Count", s->gpu_count));
	}
	caps = add_arr(req, "Capabilities");
	push(caps, cJSON_CreateArray());
	push(cJSON_GetArrayItem(caps, 0), cJSON_CreateString("gpu"));
	return B_OK;
}

/* The body of POST /containers/create; *out is freed with cJSON_Delete. */
static int create_body(const struct docker_spec *s, cJSON **out, struct berr *e)
{
	cJSON *config = must(cJSON_CreateObject()), *host;
	int rc;

	add_str(config, "Image", s->image);
	host = add_obj(config, "HostConfig");
	must(cJSON_AddTrueToObject(host, "Init")); /* or stop waits for its whole timeout */
	add_str(add_obj(host, "RestartPolicy"), "Name", "no");
	rc = spec_env(s, config, e);
	if (!rc)
		rc = spec_labels(s, config, e);
	if (!rc)
		rc = spec_binds(s, host, e);
	if (!rc)
		rc = spec_ports(s, config, host, e);
	if (!rc)
		rc = spec_gpus(s, host, e);
	if (rc) {
		cJSON_Delete(config);
		return rc;
	}
	*out = config;
	return B_OK;
}

static int create_result(const struct reply *r, const struct docker_spec *s,
			 char id_out[DOCKER_ID_LEN + 1], struct berr *e)
{
	cJSON *j;
	const cJSON *id;
	int rc = B_OK;

	if (r->status == 409)
		return reply_fail(r, e, "a container named " DOCKER_NAME_PREFIX "%s exists already",
				  s->replica_id);
	if (r->status == 404)
		return reply_fail(r, e, "image %s is not present on this host", s->image);
	if (r->status != 201)
		return reply_fail(r, e, "Docker could not create container " DOCKER_NAME_PREFIX "%s",
				  s->replica_id);
	j = cJSON_ParseWithLength(buf_str(&r->body), r->body.len);
	id = cJSON_GetObjectItemCaseSensitive(j, "Id");
	if (cJSON_IsString(id) && strlen(id->valuestring) == DOCKER_ID_LEN)
		memcpy(id_out, id->valuestring, DOCKER_ID_LEN + 1);
	else
		rc = berr_set(e, B_EINTERNAL, NULL, "Docker created " DOCKER_NAME_PREFIX "%s but "
			      "answered without its id", s->replica_id);
	cJSON_Delete(j);
	return rc;
}

int docker_create(struct docker *d, const struct docker_spec *spec,
		  char id_out[DOCKER_ID_LEN + 1], struct berr *e)
{
	char path[256];
	cJSON *body = NULL;
	struct reply r = {0};
	int rc;

	id_out[0] = '\0';
	rc = check_name(spec->replica_id, DOCKER_REPLICA_ID_MAX, "replica_id", e);
	if (!rc)
		rc = check_image(spec->image, e);
	if (!rc)
		rc = create_body(spec, &body, e);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/containers/create?name=" DOCKER_NAME_PREFIX "%s",
		 spec->replica_id); /* fits: the id is at most DOCKER_REPLICA_ID_MAX */
	rc = docker_request(d, "POST", path, body, REQUEST_TIMEOUT_S, &r, e);
	if (!rc)
		rc = create_result(&r, spec, id_out, e);
	buf_free(&r.body);
	cJSON_Delete(body);
	return rc;
}

/* ---- container lifecycle ---- */

/* "/containers/<id><suffix>", id checked first so that it needs no escaping. */
static int container_path(char *path, size_t size, const char *id, const char *suffix,
			  struct berr *e)
{
	int n, rc = check_name(id, CONTAINER_REF_MAX, "container", e);

	if (rc)
		return rc;
	n = snprintf(path, size, "/containers/%s%s", id, suffix);
	if (n < 0 || (size_t)n >= size)
		return berr_set(e, B_EINVAL, "container", "container reference too long");
	return B_OK;
}

int docker_start(struct docker *d, const char *id, struct berr *e)
{
	char path[256], msg[ERR_MESSAGE_MAX];
	struct reply r = {0};
	bool gpu;
	int rc = container_path(path, sizeof(path), id, "/start", e);

	if (rc)
		return rc;
	rc = docker_request(d, "POST", path, NULL, REQUEST_TIMEOUT_S, &r, e);
	if (!rc && r.status != 204 && r.status != 304) {
		reply_message(&r, msg, sizeof(msg));
		gpu = strstr(msg, "could not select device driver") != NULL;
		rc = berr_set(e, status_rc(r.status), NULL, "container %s could not start: %s%s%s",
			      id, gpu ? GPU_HINT : "", gpu ? ": " : "", msg);
	}
	buf_free(&r.body);
	return rc;
}

int docker_stop(struct docker *d, const char *id, int timeout_s, struct berr *e)
{
	char path[256], suffix[32];
	struct reply r = {0};
	int rc;

	if (timeout_s < 0)
		timeout_s = 0;
	snprintf(suffix, sizeof(suffix), "/stop?t=%d", timeout_s);
	rc = container_path(path, sizeof(path), id, suffix, e);
	if (rc)
		return rc;
	rc = docker_request(d, "POST", path, NULL, timeout_s + STOP_GRACE_S, &r, e);
	if (!rc && r.status != 204 && r.status != 304)
		rc = reply_fail(&r, e, "container %s could not be stopped", id);
	buf_free(&r.body);
	return rc;
}

int docker_remove(struct docker *d, const char *id, bool force, struct berr *e)
{
	char path[256];
	struct reply r = {0};
	int rc = container_path(path, sizeof(path), id, force ? "?force=1" : "?force=0", e);

	if (rc)
		return rc;
	rc = docker_request(d, "DELETE", path, NULL, REQUEST_TIMEOUT_S, &r, e);
	if (!rc && r.status != 204 && r.status != 404)
		rc = reply_fail(&r, e, "container %s could not be removed", id);
	buf_free(&r.body);
	return rc;
}

/* ---- inspect and list ---- */

static const cJSON *get(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static const char *get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = get(obj, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

/* A port number at the start of s ("8080/tcp", "49153"), 0 when there is none. */
static int port_of(const char *s)
{
	char *end;
	long v = strtol(s ? s : "", &end, 10);

	return end != s && v > 0 && v <= EXPOSED_PORT_MAX ? (int)v : 0;
}

static int get_int(const cJSON *obj, const char *key)
{
	const cJSON *v = get(obj, key);

	return cJSON_IsNumber(v) ? v->valueint : 0;
}

#define COPY_STR(dst, obj, key) snprintf((dst), sizeof(dst), "%s", get_str((obj), (key)))

static void inspect_state(const cJSON *j, struct docker_state *out)
{
	const cJSON *st = get(j, "State");
	const cJSON *labels = get(get(j, "Config"), "Labels");

	COPY_STR(out->id, j, "Id");
	out->restart_count = get_int(j, "RestartCount");
	COPY_STR(out->status, st, "Status");
	out->running = cJSON_IsTrue(get(st, "Running"));
	out->exit_code = get_int(st, "ExitCode");
	out->oom_killed = cJSON_IsTrue(get(st, "OOMKilled"));
	COPY_STR(out->error, st, "Error");
	COPY_STR(out->started_at, st, "StartedAt");
	COPY_STR(out->finished_at, st, "FinishedAt");
	COPY_STR(out->replica_id, labels, DOCKER_LABEL_REPLICA);
	COPY_STR(out->service_id, labels, DOCKER_LABEL_SERVICE);
}

/* The bridge address, else the first network's; the first TCP port published on the host. */
static void inspect_network(const cJSON *j, struct docker_state *out)
{
	const cJSON *ns = get(j, "NetworkSettings"), *it;

	COPY_STR(out->ip, ns, "IPAddress");
	cJSON_ArrayForEach(it, get(ns, "Networks")) {
		if (out->ip[0])
			break;
		COPY_STR(out->ip, it, "IPAddress");
	}
	cJSON_ArrayForEach(it, get(ns, "Ports")) {
		const cJSON *b;
		int port = port_of(it->string);

		if (!strstr(it->string ? it->string : "", "/tcp") || port <= 0)
			continue;
		cJSON_ArrayForEach(b, it) {
			int host_port = port_of(get_str(b, "HostPort"));

			if (host_port > 0) {
				out->container_port = port;
				out->host_port = host_port;
				return;
			}
		}
	}
}

int docker_inspect(struct docker *d, const char *id, struct docker_state *out, struct berr *e)
{
	char path[256];
	struct reply r = {0};
	cJSON *j;
	int rc = container_path(path, sizeof(path), id, "/json", e);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	rc = docker_request(d, "GET", path, NULL, REQUEST_TIMEOUT_S, &r, e);
	if (!rc && r.status == 404)
		rc = berr_set(e, B_ENOTFOUND, "container", "no container %s", id);
	else if (!rc && r.status != 200)
		rc = reply_fail(&r, e, "could not inspect container %s", id);
	if (!rc) {
		j = cJSON_ParseWithLength(buf_str(&r.body), r.body.len);
		if (cJSON_IsObject(j)) {
			inspect_state(j, out);
			inspect_network(j, out);
		} else {
			rc = berr_set(e, B_EIO, NULL, "Docker's inspect of %s is not a JSON object", id);
		}
		cJSON_Delete(j);
	}
	buf_free(&r.body);
	return rc;
}

const char *docker_summary_label(const struct docker_summary *s, const char *name)
{
	const cJSON *v = get(s->labels_, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int list_each(const cJSON *list, docker_list_fn fn, void *ctx)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, list) {
		const cJSON *names = get(c, "Names"), *labels = get(c, "Labels");
		const cJSON *name = cJSON_GetArrayItem(names, 0);
		struct docker_summary s = {
			.id = get_str(c, "Id"),
			.name = cJSON_IsString(name) ? name->valuestring : "",
			.image = get_str(c, "Image"),
			.state = get_str(c, "State"),
			.status = get_str(c, "Status"),
			.replica_id = get_str(labels, DOCKER_LABEL_REPLICA),
			.service_id = get_str(labels, DOCKER_LABEL_SERVICE),
			.labels_ = labels,
		};
		int rc;

		if (s.name[0] == '/')
			s.name++;
		rc = fn(ctx, &s);
		if (rc)
			return rc;
	}
	return B_OK;
}

/* /containers/json?all=1&filters={"label":["berth.managed=1"]}, the filter URL-encoded. */
static int list_path(struct docker *d, struct buf *path)
{
	cJSON *filters = must(cJSON_CreateObject());
	char *json, *escaped;
	int rc;

	push(add_arr(filters, "label"), cJSON_CreateString(DOCKER_LABEL_MANAGED "=1"));
	json = must(cJSON_PrintUnformatted(filters));
	escaped = must(curl_easy_escape(d->curl, json, 0));
	rc = buf_addf(path, "/containers/json?all=1&filters=%s", escaped);
	curl_free(escaped);
	free(json);
	cJSON_Delete(filters);
	return rc;
}

int docker_list_managed(struct docker *d, docker_list_fn fn, void *ctx, struct berr *e)
{
	struct buf path;
	struct reply r = {0};
	cJSON *list = NULL;
	int rc;

	buf_init(&path, PATH_MAX_LEN);
	if (list_path(d, &path)) {
		buf_free(&path);
		return berr_set(e, B_EINTERNAL, NULL, "container list path too long");
	}
	rc = docker_request(d, "GET", buf_str(&path), NULL, REQUEST_TIMEOUT_S, &r, e);
	if (!rc && r.status != 200)
		rc = reply_fail(&r, e, "could not list berth's containers");
	if (!rc) {
		list = cJSON_ParseWithLength(buf_str(&r.body), r.body.len);
		if (!cJSON_IsArray(list))
			rc = berr_set(e, B_EIO, NULL, "Docker's container list is not a JSON array");
		else
			rc = list_each(list, fn, ctx);
	}
	cJSON_Delete(list);
	buf_free(&r.body);
	buf_free(&path);
	return rc;
}
