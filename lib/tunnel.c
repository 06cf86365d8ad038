#include "berth.h"
#include "tunnel.h"
#include "clock.h"
#include "hop.h"
#include "log.h"

#include <curl/curl.h>
#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define POKE_TIMEOUT_MS 1000
#define H2_DEFAULT_WINDOW 65535 /* a stream's window before the peer's SETTINGS (RFC 9113) */

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

void *tunnel_thread_init(void)
{
	return curl_easy_init();
}

void tunnel_thread_free(void *curl)
{
	curl_easy_cleanup(curl);
}

bool tunnel_retryable(const char *code)
{
	return strcmp(code, "agent_offline") == 0 || strcmp(code, "not_found") == 0 ||
	       strcmp(code, "no_healthy_replica") == 0;
}

int tunnel_platform_error(const char *code, const char *why, struct berr *e)
{
	if (!why || !*why)
		why = code;
	if (strcmp(code, "upstream_timeout") == 0)
		return berr_set(e, B_ETIMEOUT, "", "the service did not answer in time: %s", why);
	if (tunnel_retryable(code))
		return berr_set(e, B_EUNAVAILABLE, "", "no healthy replica could take the call: %s",
				why);
	return berr_set(e, B_EUPSTREAM, "", "the service could not be reached: %s", why);
}

/* The platform's error body, {error_message, error_code}: its message is worth passing on. */
static void platform_message(const struct buf *body, char *out, size_t n)
{
	cJSON *o = cJSON_ParseWithLength(buf_str(body), body->len);
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItem(o, "error_message"));

	snprintf(out, n, "%s", m ? m : "");
	cJSON_Delete(o);
}

/* A small request of the platform's own to gatewayd on c, its answer discarded. */
static CURLcode gatewayd_ask(CURL *c, const char *socket_path, const char *url, bool post,
			     long timeout_ms)
{
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	if (post)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	return curl_easy_perform(c);
}

/* libcurl sends a body into HTTP/2's default 65,535-byte window before gatewayd's SETTINGS
 * come, which cuts its first upload buffer there; the rest of that buffer goes in a frame
 * under 1 KiB, which libcurl 7.88 can lose part of an upload over (h2.h, H2_ACK_STEP). So a
 * body larger than that window goes on a connection whose SETTINGS libcurl has: a new one
 * first carries GET /healthz. False when gatewayd did not answer. */
static bool tunnel_warm(CURL *c, const char *socket_path)
{
	CURLcode rc;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	rc = gatewayd_ask(c, socket_path, "http://gatewayd/healthz", false, 5000L);
	if (rc != CURLE_OK)
		log_debug("gatewayd's /healthz before an upload: %s", curl_easy_strerror(rc));
	return rc == CURLE_OK;
}

/* A call of this thread's CURL handle goes on the connection to gatewayd the previous one
 * left open, and makes one only when there is none. libcurl 7.88.1 (Debian 12) breaks a
 * prior-knowledge HTTP/2 connection that it reuses ("Error in the HTTP2 framing layer", curl
 * PR 10643): so a new connection is made with prior knowledge, and a kept one is reused with
 * CURL_HTTP_VERSION_2_0, which on an HTTP/2 connection means the same and avoids the broken
 * path. Only a connection gatewayd has not closed is reused: were libcurl to connect anew
 * under 2_0, it would speak HTTP/1.1 with Upgrade: h2c, which gatewayd does not take. */
static void tunnel_easy_reset(CURL *c, const char *socket_path, const char *url, bool fresh,
			      long long body_len, char errbuf[CURL_ERROR_SIZE])
{
	curl_socket_t fd = CURL_SOCKET_BAD;
	bool reuse = !fresh && curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK &&
		     fd != CURL_SOCKET_BAD;

	if (reuse) {
		struct pollfd p = {.fd = fd, .events = POLLRDHUP};

		reuse = poll(&p, 1, 0) == 0 || !(p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
	}
	if (!reuse && body_len > H2_DEFAULT_WINDOW)
		reuse = tunnel_warm(c, socket_path);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, socket_path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, reuse ? (long)CURL_HTTP_VERSION_2_0 :
							  (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, reuse ? 0L : 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf); /* libcurl's account of a failure */
	errbuf[0] = '\0';
}

/* What a kept connection that libcurl found unusable after all costs (gatewayd closed it in
 * between, or sent GOAWAY): libcurl connects anew under 2_0, in HTTP/1.1, and gatewayd
 * refuses that. The call is then made again on a new prior-knowledge connection, when none
 * of its body went. */
static bool tunnel_stale(CURLcode rc, bool fresh)
{
	return rc == CURLE_UNSUPPORTED_PROTOCOL && !fresh;
}

/* libcurl 7.88 gives up on an HTTP/2 stream (the caller gone, a timeout, an answer too
 * large) without resetting it, and keeps the connection: gatewayd, the agent and the container
 * would go on serving the call until that connection's next call, if one ever comes. Ending
 * the connection cancels the call now (gatewayd resets the streams of a connection that
 * closes); the thread's next call connects anew (tunnel_easy_reset sees it closed). */
static void tunnel_drop_connection(CURL *c)
{
	curl_socket_t fd = CURL_SOCKET_BAD;

	if (curl_easy_getinfo(c, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK && fd != CURL_SOCKET_BAD)
		shutdown(fd, SHUT_RDWR);
}

void tunnel_poke(const char *socket_path)
{
	CURL *c = curl_easy_init();
	CURLcode rc;

	if (!c)
		return;
	rc = gatewayd_ask(c, socket_path, "http://gatewayd/control/reconcile", true,
			  (long)POKE_TIMEOUT_MS);
	if (rc != CURLE_OK)
		log_warn("cannot reach gatewayd at %s (%s); it reconciles on its timer anyway",
			 socket_path, curl_easy_strerror(rc));
	curl_easy_cleanup(c);
}

/* libcurl's own account of a failure when it gave one ("HTTP/2 stream 5 was not closed
 * cleanly: PROTOCOL_ERROR (err 1)"), else its code's text. */
static const char *curl_failure(CURLcode rc, const char *detail)
{
	return detail[0] ? detail : curl_easy_strerror(rc);
}

static size_t call_body(char *p, size_t size, size_t n, void *arg)
{
	struct tunnel_call *t = arg;

	if (buf_add(&t->response_body, p, size * n))
		return 0; /* past response_max: curl stops with a write error */
	return size * n;
}

/* One response header line: lowercased into the object, repeated names joined. */
static size_t call_header(char *p, size_t size, size_t n, void *arg)
{
	struct tunnel_call *t = arg;
	size_t len = size * n, nl, vl;
	char name[256], *value;
	const char *colon = memchr(p, ':', len);
	cJSON *have;

	if (!colon || (nl = (size_t)(colon - p)) == 0 || nl >= sizeof(name))
		return len; /* the status line, the blank line, or a name too long to keep */
	for (size_t i = 0; i < nl; i++)
		name[i] = (char)tolower((unsigned char)p[i]);
	name[nl] = '\0';
	for (colon++; colon < p + len && (*colon == ' ' || *colon == '\t'); colon++)
		;
	for (vl = (size_t)(p + len - colon); vl && (colon[vl - 1] == '\r' || colon[vl - 1] == '\n'); vl--)
		;
	if (strcmp(name, "x-berth-error") == 0) {
		snprintf(t->platform_error, sizeof(t->platform_error), "%.*s", (int)vl, colon);
		return len;
	}
	if (hop_by_hop(name) || strncmp(name, "x-berth-", 8) == 0)
		return len;
	value = strndup(colon, vl);
	if (!value)
		abort();
	have = cJSON_GetObjectItemCaseSensitive(t->response_headers, name);
	if (have) {
		char *joined = malloc(strlen(have->valuestring) + vl + 3);

		if (!joined)
			abort();
		snprintf(joined, strlen(have->valuestring) + vl + 3, "%s, %s", have->valuestring, value);
		cJSON_ReplaceItemInObjectCaseSensitive(t->response_headers, name, cJSON_CreateString(joined));
		free(joined);
	} else {
		cJSON_AddStringToObject(t->response_headers, name, value);
	}
	free(value);
	return len;
}

static void call_setopts(CURL *c, struct tunnel_call *t, struct curl_slist *list, bool fresh)
{
	tunnel_easy_reset(c, t->socket_path, t->url, fresh, (long long)t->body_len, t->curl_error);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, t->method);
	if (strcmp(t->method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	else if (t->body_len || strcmp(t->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, t->body ? (const char *)t->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, call_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, call_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
}

int tunnel_call_run(CURL *c, struct tunnel_call *t, struct berr *e)
{
	struct curl_slist *list = NULL;
	CURLcode rc;

	for (size_t i = 0; t->headers && t->headers[i]; i++)
		list = curl_slist_append(list, t->headers[i]);
	t->response_headers = NULL;
	for (bool fresh = false;; fresh = true) {
		cJSON_Delete(t->response_headers);
		t->response_headers = cJSON_CreateObject();
		buf_init(&t->response_body, t->response_max);
		t->platform_error[0] = '\0';
		call_setopts(c, t, list, fresh);
		rc = curl_easy_perform(c);
		if (!tunnel_stale(rc, fresh))
			break;
		buf_free(&t->response_body);
	}
	curl_slist_free_all(list);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL); /* t's goes with it; the handle stays */
	if (rc != CURLE_OK)
		tunnel_drop_connection(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t->status);
	if (t->platform_error[0])
		platform_message(&t->response_body, t->platform_message, sizeof(t->platform_message));
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return berr_set(e, B_ETIMEOUT, "", "the service did not answer within %ld ms",
				t->timeout_ms);
	if (rc == CURLE_WRITE_ERROR)
		return berr_set(e, B_EUPSTREAM, "", "the service's answer is larger than %zu bytes",
				t->response_max);
	if (rc != CURLE_OK)
		return berr_set(e, B_EUPSTREAM, "", "the gateway could not relay the call: %s",
				curl_failure(rc, t->curl_error));
	return B_OK;
}

void tunnel_call_free(struct tunnel_call *t)
{
	cJSON_Delete(t->response_headers);
	t->response_headers = NULL;
	buf_free(&t->response_body);
}

/* ---- streamed calls (the proxy) ---- */

static void stream_lines_free(struct tunnel_stream *s)
{
	for (size_t i = 0; i < s->nlines; i++)
		free(s->lines[i]);
	s->nlines = 0;
}

/* The head is complete: hand it over unless it is the platform's own error. */
static int stream_head_done(struct tunnel_stream *s)
{
	if (s->status < 200)
		return 0; /* an interim answer: the real one follows */
	if (s->platform_error[0])
		return 0;
	s->head_sent = true;
	return s->on_head(s->arg, s->status, s->lines, s->nlines);
}

/* Lines of the head as they come. Dropped with hop-by-hop and x-berth-* ones: a container's
 * Status (in a FastCGI answer it would set the status lighttpd, any CGI host, sends) and
 * X-Request-ID (the answer carries the platform's, API.md section 2). */
static size_t stream_header(char *p, size_t size, size_t n, void *arg)
{
	struct tunnel_stream *s = arg;
	size_t len = size * n, nl, vl;
	const char *colon = memchr(p, ':', len), *v;
	char name[256];

	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		stream_lines_free(s); /* a new head (after an interim 1xx) */
		s->platform_error[0] = '\0';
		return len;
	}
	if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
		return stream_head_done(s) ? 0 : len;
	}
	if (!colon || (nl = (size_t)(colon - p)) == 0 || nl >= sizeof(name))
		return len;
	for (size_t i = 0; i < nl; i++)
		name[i] = (char)tolower((unsigned char)p[i]);
	name[nl] = '\0';
	for (v = colon + 1; v < p + len && (*v == ' ' || *v == '\t'); v++)
		;
	for (vl = (size_t)(p + len - v); vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'); vl--)
		;
	if (strcmp(name, "x-berth-error") == 0)
		snprintf(s->platform_error, sizeof(s->platform_error), "%.*s", (int)vl, v);
	else if (!hop_by_hop(name) && strncmp(name, "x-berth-", 8) != 0 &&
		 strcmp(name, "status") != 0 && strcmp(name, "x-request-id") != 0 &&
		 s->nlines < TUNNEL_HEAD_LINES_MAX) {
		char *line = malloc(nl + vl + 3);

		if (!line)
			abort();
		snprintf(line, nl + vl + 3, "%s: %.*s", name, (int)vl, v);
		s->lines[s->nlines++] = line;
	}
	return len;
}

static size_t stream_data(char *p, size_t size, size_t n, void *arg)
{
	struct tunnel_stream *s = arg;
	size_t len = size * n;

	if (!s->head_sent) {
		/* the platform's own error: its first bytes are kept for the message */
		if (buf_add(&s->error_body, p, len) != B_OK)
			log_debug("a platform error past %d bytes was cut", TUNNEL_ERROR_BODY_MAX);
		return len;
	}
	if (s->on_data(s->arg, p, len)) {
		s->caller_gone = true;
		return 0;
	}
	return len;
}

static size_t stream_read(char *p, size_t size, size_t n, void *arg)
{
	struct tunnel_stream *s = arg;
	size_t got = s->read_body(p, size * n, s->arg);

	if (got == TUNNEL_READ_ABORT) {
		s->caller_gone = true;
		return CURL_READFUNC_ABORT;
	}
	s->body_read += (long long)got;
	s->deadline_ms = clock_mono_ms() + s->head_timeout_ms; /* counted from the last byte */
	return got;
}

static bool stream_flush(struct tunnel_stream *s, bool done)
{
	int (*flush)(void *) = done && s->on_end ? s->on_end : s->on_flush;

	if (s->head_sent && !s->caller_gone && flush && flush(s->arg))
		s->caller_gone = true;
	return s->caller_gone;
}

/* libcurl 7.88 calls this after each round of reading and writing, before it waits again:
 * so it is where what on_data held back is flushed (an SSE event goes out as it came).
 * Only the wait for the head has a deadline, counted from the request's last byte so an
 * upload takes as long as it takes: a stream may then run as long as it runs. */
static int stream_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct tunnel_stream *s = arg;

	(void)ut;
	(void)un;
	/* the whole body is in (its Content-Length reached): libcurl ends the transfer without
	 * waiting, and the last flush takes it with the request's end (on_end) */
	if (!(s->on_end && dt > 0 && dn >= dt) && stream_flush(s, false))
		return 1;
	return !s->head_sent && s->head_timeout_ms > 0 && clock_mono_ms() > s->deadline_ms;
}

static void stream_setopts(CURL *c, struct tunnel_stream *s, struct curl_slist *list, bool fresh)
{
	tunnel_easy_reset(c, s->socket_path, s->url, fresh, s->body_len, s->curl_error);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, s->method);
	if (strcmp(s->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (s->body_len > 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->body_len);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, stream_read);
		curl_easy_setopt(c, CURLOPT_READDATA, s);
	} else if (strcmp(s->method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, s);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 262144L);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 262144L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, stream_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
}

int tunnel_stream_run(CURL *c, struct tunnel_stream *s, struct berr *e)
{
	struct curl_slist *list = NULL;
	bool fresh = false;
	CURLcode rc;

	s->curl = c;
	s->status = 0;
	s->head_sent = s->caller_gone = false;
	s->body_read = 0;
	s->platform_error[0] = s->platform_message[0] = '\0';
	s->deadline_ms = clock_mono_ms() + s->head_timeout_ms;
	buf_init(&s->error_body, TUNNEL_ERROR_BODY_MAX);
	for (size_t i = 0; s->headers && s->headers[i]; i++)
		list = curl_slist_append(list, s->headers[i]);
	/* gatewayd's backlog may be full in a burst: nothing was sent, so try again shortly */
	for (int attempt = 0;; attempt++) {
		stream_setopts(c, s, list, fresh);
		rc = curl_easy_perform(c);
		if (tunnel_stale(rc, fresh) && s->body_read == 0 && !s->head_sent) {
			fresh = true;
			continue;
		}
		if (rc != CURLE_COULDNT_CONNECT || attempt >= TUNNEL_CONNECT_TRIES - 1)
			break;
		usleep(20000U << attempt);
	}
	curl_slist_free_all(list);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL); /* s's goes with it; the handle stays */
	(void)stream_flush(s, rc == CURLE_OK);
	if (rc != CURLE_OK)
		tunnel_drop_connection(c);
	stream_lines_free(s);
	if (s->platform_error[0] && !s->head_sent)
		platform_message(&s->error_body, s->platform_message, sizeof(s->platform_message));
	buf_free(&s->error_body);
	if (s->caller_gone)
		return berr_set(e, B_EIO, "", "the caller went away");
	if (rc == CURLE_OK || (s->platform_error[0] && !s->head_sent))
		return B_OK;
	if (rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_OPERATION_TIMEDOUT)
		return berr_set(e, B_ETIMEOUT, "", "the service did not answer within %ld ms",
				s->head_timeout_ms);
	return berr_set(e, B_EUPSTREAM, "", "the gateway could not relay the call: %s",
			curl_failure(rc, s->curl_error));
}
