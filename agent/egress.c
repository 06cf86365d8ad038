/* egress.c: egress replicas and calls to external services (egress.h). */
#include "berth.h"
#include "egress.h"
#include "buf.h"
#include "external.h"
#include "log.h"
#include "uuid.h"

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <strings.h>

#define EGRESS_DETAIL "calls to the external service go out from this agent"

struct egress_replica {
	char id[UUID_STR_LEN + 1];
	char service_id[UUID_STR_LEN + 1];
	struct egress_replica *next;
};

int egress_setup(struct agent *a)
{
	const char *file = a->opts.egress_ca_file;

	a->egress_ssl = SSL_CTX_new(TLS_client_method());
	if (!a->egress_ssl)
		return B_EINTERNAL;
	SSL_CTX_set_min_proto_version(a->egress_ssl, TLS1_2_VERSION);
	SSL_CTX_set_verify(a->egress_ssl, SSL_VERIFY_PEER, NULL);
	if (file[0] ? !SSL_CTX_load_verify_locations(a->egress_ssl, file, NULL) :
		      !SSL_CTX_set_default_verify_paths(a->egress_ssl)) {
		log_error("cannot load CA certificates for external services from %s",
			  file[0] ? file : "the system's default locations");
		return B_EIO;
	}
	return B_OK;
}

void egress_stop(struct agent *a)
{
	while (a->egress) {
		struct egress_replica *r = a->egress;

		a->egress = r->next;
		free(r);
	}
	if (a->egress_ssl)
		SSL_CTX_free(a->egress_ssl);
	a->egress_ssl = NULL;
}

/* ---- egress replicas ---- */

static struct egress_replica *egress_find(struct agent *a, const char *id)
{
	for (struct egress_replica *r = a->egress; r; r = r->next)
		if (strcmp(r->id, id) == 0)
			return r;
	return NULL;
}

static void egress_report(struct agent *a, const struct egress_replica *r, const char *state)
{
	struct replica_event ev = {r->id, r->service_id, state,
				   strcmp(state, "healthy") == 0 ? EGRESS_DETAIL : "", ""};

	serve_replica_event(a, &ev);
}

bool egress_spec(const cJSON *spec)
{
	const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "service_type"));

	return t && strcmp(t, "external") == 0;
}

int egress_put(struct agent *a, const char *replica_id, const cJSON *spec, struct berr *e)
{
	const char *svc = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(spec, "service_id"));
	struct egress_replica *r = egress_find(a, replica_id);

	if (!svc || !uuid_valid(svc))
		return berr_set(e, B_EINVAL, "service_id", "an egress spec needs a service_id");
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			abort();
		snprintf(r->id, sizeof(r->id), "%s", replica_id);
		r->next = a->egress;
		a->egress = r;
		log_info("egress replica %s of service %s held", replica_id, svc);
	}
	snprintf(r->service_id, sizeof(r->service_id), "%s", svc);
	egress_report(a, r, "healthy"); /* again on a repeated PUT: the gateway may have missed it */
	return B_OK;
}

bool egress_delete(struct agent *a, const char *replica_id)
{
	for (struct egress_replica **p = &a->egress; *p; p = &(*p)->next) {
		struct egress_replica *r = *p;

		if (strcmp(r->id, replica_id) != 0)
			continue;
		*p = r->next;
		egress_report(a, r, "stopped");
		log_info("egress replica %s released", replica_id);
		free(r);
		return true;
	}
	return false;
}

void egress_list(struct agent *a, cJSON *list)
{
	for (struct egress_replica *r = a->egress; r; r = r->next) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "replica_id", r->id);
		cJSON_AddStringToObject(o, "service_id", r->service_id);
		cJSON_AddStringToObject(o, "replica_state", "healthy");
		cJSON_AddStringToObject(o, "replica_detail", EGRESS_DETAIL);
		cJSON_AddStringToObject(o, "container_id", "");
		cJSON_AddStringToObject(o, "address", "");
		cJSON_AddItemToArray(list, o);
	}
}

/* ---- calls ---- */

/* A TLS connection to u, not yet connecting: SNI and the name (or address) the certificate
 * must carry are set. NULL when OpenSSL cannot make one. */
static struct bufferevent *egress_bev(struct agent *a, const struct external_url *u)
{
	SSL *ssl = SSL_new(a->egress_ssl);
	struct bufferevent *bev;

	if (!ssl)
		return NULL;
	if (u->host_is_ip ? !X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u->host) :
			    !SSL_set_tlsext_host_name(ssl, u->host) || !SSL_set1_host(ssl, u->host)) {
		SSL_free(ssl);
		return NULL;
	}
	bev = bufferevent_openssl_socket_new(a->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (!bev)
		return NULL; /* it freed ssl */
	/* many servers close without close_notify; the body's framing still tells a cut */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

/* rq's headers into out (room for n + 1), with the gateway's credential, when it sent one,
 * as the only Authorization. Without one, the caller's Authorization goes on as it came. */
static size_t egress_headers(const struct h2_stream *st, const struct upstream_request *rq,
			     struct upstream_header *out)
{
	const char *cred = h2_stream_header(st, EXTERNAL_HDR_AUTH);
	size_t n = 0;

	for (size_t i = 0; i < rq->nheaders; i++)
		if (!cred || strcasecmp(rq->headers[i].name, "authorization") != 0)
			out[n++] = rq->headers[i];
	if (cred)
		out[n++] = (struct upstream_header){"authorization", cred};
	return n;
}

struct upstream *egress_open(struct agent *a, const struct h2_stream *st, const char *replica_id,
			     const struct upstream_request *rq, const struct upstream_callbacks *cb,
			     void *arg, struct berr *e)
{
	const char *url = h2_stream_header(st, EXTERNAL_HDR_URL);
	struct upstream_header hdrs[H2_HEADERS_MAX + 2];
	struct upstream_request out = *rq;
	struct external_url u;
	struct upstream *up = NULL;
	struct buf target;

	if (!egress_find(a, replica_id)) {
		berr_set(e, B_ENOTFOUND, "", "no egress replica %s on this agent", replica_id);
		return NULL;
	}
	if (!url) {
		berr_set(e, B_EUPSTREAM, "", "the gateway sent no external URL");
		return NULL;
	}
	buf_init(&target, EXTERNAL_TARGET_MAX);
	if (rq->nheaders > H2_HEADERS_MAX + 1) {
		berr_set(e, B_EINVAL, "", "more than %d headers", H2_HEADERS_MAX);
	} else if (external_url_split(url, rq->target, &u, &target, e) == B_OK) {
		out.host = u.host;
		out.port = u.port;
		out.target = buf_str(&target);
		out.headers = hdrs;
		out.nheaders = egress_headers(st, rq, hdrs);
		out.bev = egress_bev(a, &u);
		if (!out.bev)
			berr_set(e, B_EUPSTREAM, "", "cannot make a TLS connection to %s", u.host);
		else if ((up = upstream_open(a->base, &out, cb, arg, e)) &&
			 bufferevent_socket_connect_hostname(out.bev, a->dns, AF_UNSPEC, u.host,
							     u.port)) {
			upstream_free(up);
			up = NULL;
			berr_set(e, B_EUPSTREAM, "", "cannot start connecting to %s", u.host);
		}
	}
	buf_free(&target);
	return up;
}

/* "host:port" (with brackets for IPv6) of the stream's external URL into out. */
static void egress_where(const struct h2_stream *st, char *out, size_t n)
{
	const char *url = h2_stream_header(st, EXTERNAL_HDR_URL);
	struct external_url u;
	struct buf b;

	buf_init(&b, EXTERNAL_TARGET_MAX);
	if (url && external_url_split(url, "/", &u, &b, NULL) == B_OK)
		snprintf(out, n, "%s%s%s:%d", strchr(u.host, ':') ? "[" : "", u.host,
			 strchr(u.host, ':') ? "]" : "", u.port);
	else
		snprintf(out, n, "the external service");
	buf_free(&b);
}

static bool egress_never_connected(struct bufferevent *bev)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd = bufferevent_getfd(bev);

	return fd >= 0 && getpeername(fd, (struct sockaddr *)&ss, &len) != 0 && errno == ENOTCONN;
}

void egress_explain(const struct h2_stream *st, struct upstream *u, struct berr *e)
{
	static const char container[] = "the container at ";
	struct bufferevent *bev = upstream_bev(u);
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long tls = bev ? bufferevent_get_openssl_error(bev) : 0;
	int dns = bev ? bufferevent_socket_get_dns_error(bev) : 0;
	char where[EXTERNAL_HOST_MAX + 16], why[256];

	egress_where(st, where, sizeof(where));
	/* libevent files a failed socket call during the handshake as SSL_ERROR_SYSCALL, and the
	 * socket's error is gone by then: a socket without a peer never connected */
	if (tls && ERR_GET_LIB(tls) == 0 && ERR_GET_REASON(tls) == SSL_ERROR_SYSCALL &&
	    egress_never_connected(bev)) {
		berr_set(e, B_EUPSTREAM, "", "cannot connect to %s: the connection was refused or "
			 "the host is unreachable", where);
		return;
	}
	if (e->status == 504 || (verify == X509_V_OK && !tls && !dns)) {
		char said[ERR_MESSAGE_MAX];

		if (strncmp(e->message, container, strlen(container)) != 0)
			return;
		snprintf(said, sizeof(said), "%s", e->message + strlen(container));
		berr_set(e, e->status == 504 ? B_ETIMEOUT : B_EUPSTREAM, "",
			 "the external service at %s", said);
	} else if (verify != X509_V_OK) {
		berr_set(e, B_EUPSTREAM, "", "TLS to %s failed: its certificate is not trusted: %s",
			 where, X509_verify_cert_error_string(verify));
	} else if (tls) {
		ERR_error_string_n(tls, why, sizeof(why));
		berr_set(e, B_EUPSTREAM, "", "TLS to %s failed: %s", where, why);
	} else {
		berr_set(e, B_EUPSTREAM, "", "cannot resolve %s: %s", where, evutil_gai_strerror(dns));
	}
}
