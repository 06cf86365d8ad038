/* tunnel.c: the agent's connection to the gateway. It dials out (plain or TLS), asks for
 * Upgrade: berth-tunnel/1 with its ak- key, and on 101 serves HTTP/2 on that same byte stream
 * (the roles reversed: the gateway is the HTTP/2 client). Any failure, the first included,
 * retries with exponential backoff and full jitter, forever. */
#include "berth.h"
#include "agent.h"
#include "clock.h"
#include "log.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKOFF_BASE_MS 500
#define HANDSHAKE_TIMEOUT_S 15
#define RESPONSE_HEAD_MAX 8192

/* Parses http(s)://host[:port][/...] into a's scheme, host and port. */
static int tunnel_parse_url(struct agent *a)
{
	const char *u = a->opts.gateway, *h, *end, *colon;
	bool tls;

	if (strncmp(u, "https://", 8) == 0)
		tls = true;
	else if (strncmp(u, "http://", 7) == 0)
		tls = false;
	else
		return B_EINVAL;
	h = u + (tls ? 8 : 7);
	end = h + strcspn(h, "/?#");
	colon = memchr(h, ':', (size_t)(end - h));
	if ((colon ? colon : end) == h || (size_t)((colon ? colon : end) - h) >= sizeof(a->host))
		return B_EINVAL;
	snprintf(a->scheme, sizeof(a->scheme), "%s", tls ? "https" : "http");
	snprintf(a->host, sizeof(a->host), "%.*s", (int)((colon ? colon : end) - h), h);
	if (colon) {
		char *stop;
		long port = strtol(colon + 1, &stop, 10);

		if (stop != end || port < 1 || port > 65535)
			return B_EINVAL;
		a->port = (int)port;
	} else {
		a->port = tls ? 443 : 80;
	}
	return B_OK;
}

int tunnel_setup(struct agent *a)
{
	if (tunnel_parse_url(a)) {
		log_error("--gateway %s is not an http:// or https:// URL", a->opts.gateway);
		return B_EINVAL;
	}
	if (strcmp(a->scheme, "https") != 0)
		return B_OK;
	a->ssl = SSL_CTX_new(TLS_client_method());
	if (!a->ssl)
		return B_EINTERNAL;
	SSL_CTX_set_min_proto_version(a->ssl, TLS1_2_VERSION);
	SSL_CTX_set_verify(a->ssl, SSL_VERIFY_PEER, NULL);
	if (a->opts.ca_file[0] ? !SSL_CTX_load_verify_locations(a->ssl, a->opts.ca_file, NULL) :
				 !SSL_CTX_set_default_verify_paths(a->ssl)) {
		log_error("cannot load CA certificates %s", a->opts.ca_file[0] ? a->opts.ca_file :
			  "(system default)");
		return B_EIO;
	}
	return B_OK;
}

static void tunnel_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	tunnel_dial(arg);
}

/* The next attempt in min(cap, base * 2^n) * [0.5, 1): spread so that a fleet of agents
 * coming back after a gateway restart does not knock all at once. */
static void tunnel_retry(struct agent *a, const char *why)
{
	long cap = a->opts.reconnect_max_ms, ms = BACKOFF_BASE_MS;
	struct timeval tv;

	for (int i = 0; i < a->attempt && ms < cap; i++)
		ms *= 2;
	if (ms > cap)
		ms = cap;
	ms = ms / 2 + (long)randombytes_uniform((uint32_t)(ms / 2 + 1));
	a->attempt++;
	tv = clock_timeval_ms(ms);
	log_warn("gateway %s: %s; retrying in %ld ms", a->opts.gateway, why, ms);
	if (!a->retry)
		a->retry = evtimer_new(a->base, tunnel_retry_cb, a);
	evtimer_add(a->retry, &tv);
}

static void tunnel_drop(struct agent *a)
{
	if (a->bev) {
		bufferevent_free(a->bev);
		a->bev = NULL;
	}
}

static void tunnel_h2_closed(struct h2_conn *c, void *arg)
{
	struct agent *a = arg;

	(void)c;
	serve_forget_streams(a);
	/* freeing here is allowed: nothing of the connection is used after this callback */
	h2_conn_free(a->h2);
	a->h2 = NULL;
	tunnel_retry(a, "the tunnel closed");
}

/* The gateway's answer to the Upgrade: 101 starts HTTP/2 on the same bytes. */
static void tunnel_on_read(struct bufferevent *bev, void *arg)
{
	struct agent *a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	static struct h2_callbacks cb;
	char line[256];
	size_t n;

	if (end.pos < 0) {
		if (evbuffer_get_length(in) > RESPONSE_HEAD_MAX) {
			tunnel_drop(a);
			tunnel_retry(a, "the gateway's answer is too large");
		}
		return;
	}
	n = evbuffer_copyout(in, line, sizeof(line) - 1);
	line[n] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncmp(line, "HTTP/1.1 101", 12) != 0) {
		/* the body says why (the error envelope); a short excerpt is enough for the log */
		char why[512];

		n = evbuffer_copyout(in, why, sizeof(why) - 1);
		why[n] = '\0';
		for (char *p = why; *p; p++)
			if (*p == '\r' || *p == '\n')
				*p = ' ';
		tunnel_drop(a);
		tunnel_retry(a, why);
		return;
	}
	evbuffer_drain(in, (size_t)end.pos + 4);
	bufferevent_set_timeouts(bev, NULL, NULL);
	cb = serve_callbacks;
	cb.conn_closed = tunnel_h2_closed;
	a->bev = NULL;
	a->h2 = h2_conn_new(bev, true, &cb, a);
	if (!a->h2) {
		bufferevent_free(bev);
		tunnel_retry(a, "cannot start HTTP/2");
		return;
	}
	a->attempt = 0;
	log_info("connected to %s as %s", a->opts.gateway, a->opts.name);
}

static void tunnel_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct agent *a = arg;
	char why[512];

	if (what & BEV_EVENT_CONNECTED) {
		evbuffer_add_printf(bufferevent_get_output(bev),
				    "GET /api/v1/agent/connect HTTP/1.1\r\nHost: %s:%d\r\n"
				    "Connection: Upgrade\r\nUpgrade: berth-tunnel/1\r\n"
				    "Authorization: Bearer %s\r\nX-Agent-Name: %s\r\n"
				    "User-Agent: berth-agent/" AGENT_VERSION "\r\n\r\n",
				    a->host, a->port, a->opts.key, a->opts.name);
		return;
	}
	snprintf(why, sizeof(why), "%s", (what & BEV_EVENT_TIMEOUT) ? "timed out" :
		 (what & BEV_EVENT_EOF) ? "the gateway closed the connection" :
		 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	if (what & BEV_EVENT_ERROR) {
		unsigned long tls = bufferevent_get_openssl_error(bev);
		int dns = bufferevent_socket_get_dns_error(bev);

		if (tls)
			ERR_error_string_n(tls, why, sizeof(why));
		else if (dns)
			snprintf(why, sizeof(why), "cannot resolve %s: %s", a->host,
				 evutil_gai_strerror(dns));
	}
	tunnel_drop(a);
	tunnel_retry(a, why);
}

static struct bufferevent *tunnel_bev(struct agent *a)
{
	SSL *ssl;

	if (!a->ssl)
		return bufferevent_socket_new(a->base, -1, BEV_OPT_CLOSE_ON_FREE);
	ssl = SSL_new(a->ssl);
	if (!ssl)
		return NULL;
	SSL_set_tlsext_host_name(ssl, a->host);       /* SNI */
	SSL_set1_host(ssl, a->host);                  /* the certificate must name the host */
	return bufferevent_openssl_socket_new(a->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

void tunnel_dial(struct agent *a)
{
	struct timeval tv = {HANDSHAKE_TIMEOUT_S, 0};

	tunnel_drop(a);
	a->bev = tunnel_bev(a);
	if (!a->bev) {
		tunnel_retry(a, "cannot make a connection");
		return;
	}
	bufferevent_setcb(a->bev, tunnel_on_read, NULL, tunnel_on_event, a);
	bufferevent_set_timeouts(a->bev, &tv, &tv);
	bufferevent_enable(a->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect_hostname(a->bev, a->dns, AF_UNSPEC, a->host, a->port)) {
		tunnel_drop(a);
		tunnel_retry(a, "cannot start connecting");
	}
}

void tunnel_stop(struct agent *a)
{
	tunnel_drop(a);
	if (a->h2) {
		h2_conn_free(a->h2);
		a->h2 = NULL;
	}
	if (a->retry)
		event_free(a->retry);
	a->retry = NULL;
	if (a->ssl)
		SSL_CTX_free(a->ssl);
	a->ssl = NULL;
}
