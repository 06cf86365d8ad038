/* tunnel.h: the FastCGI programs' client of berth-gatewayd's unix socket (HTTP/2 with prior
 * knowledge, libcurl). This module only reaches gatewayd; what gatewayd does is gateway/'s. */
#ifndef BERTH_TUNNEL_H
#define BERTH_TUNNEL_H

#include "berth.h"
#include "buf.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

/* Per-thread state of a program that calls gatewayd (http_prog.thread_init/thread_free):
 * its CURL handle. */
void *tunnel_thread_init(void);
void tunnel_thread_free(void *curl);

/* The platform's own failures, by the x-berth-error code of gatewayd or the agent: true when
 * the call never reached a container, so another replica may take it. */
bool tunnel_retryable(const char *code);
/* The API error for such a failure: 504 for a timeout, 503 when retryable, else 502; why
 * (the platform's error_message, or "") is passed on. */
int tunnel_platform_error(const char *code, const char *why, struct berr *e);

/* Asks gatewayd to reconcile now (POST /control/reconcile). Best effort: gatewayd also
 * reconciles on a timer, so a failure is only logged. */
void tunnel_poke(const char *socket_path);

struct tunnel_call {
	/* in */
	const char *socket_path;
	char url[4096];                    /* http://gatewayd/agents/<agent>/v1/proxy/<replica><path> */
	const char *method;
	const char *const *headers;        /* "Name: value" lines, NULL-terminated */
	const unsigned char *body;
	size_t body_len;
	long timeout_ms;
	size_t response_max;
	/* out */
	long status;
	cJSON *response_headers;           /* object of lowercased names; joined with ", " */
	struct buf response_body;
	char platform_error[64];           /* x-berth-error of gatewayd or the agent, or "" */
	char platform_message[256];        /* its error_message */
	/* private */
	char curl_error[CURL_ERROR_SIZE];  /* libcurl's own account of a failure */
};

/* Sends one request through gatewayd to an agent on the caller's CURL handle (reused between
 * calls). B_OK with status, headers and body; B_EUPSTREAM when gatewayd cannot be reached or the
 * answer is cut off or too large, B_ETIMEOUT past timeout_ms. Free with tunnel_call_free. */
int tunnel_call_run(CURL *c, struct tunnel_call *t, struct berr *e) B_MUST_CHECK;
void tunnel_call_free(struct tunnel_call *t);

/* A call streamed both ways (the proxy): the body comes from read_body as curl asks for it and
 * the answer goes to on_head and on_data as it arrives, so nothing is held whole. */
#define TUNNEL_HEAD_LINES_MAX 100
#define TUNNEL_ERROR_BODY_MAX 4096
#define TUNNEL_CONNECT_TRIES 4            /* 20, 40, 80 ms apart */

struct tunnel_stream {
	/* in */
	const char *socket_path;
	char url[4096];
	const char *method;
	const char *const *headers;        /* "Name: value" lines, NULL-terminated */
	long long body_len;                /* bytes read_body gives; 0: no body */
	/* Up to n bytes of the body into p; 0 at its end, TUNNEL_READ_ABORT when the caller is gone. */
	size_t (*read_body)(char *p, size_t n, void *arg);
	/* The answer's head: status and its "name: value" lines less hop-by-hop, x-berth-*,
	 * Status and X-Request-ID ones.
	 * Not called for the platform's own errors (platform_error). Nonzero aborts. */
	int (*on_head)(void *arg, long status, char *const *lines, size_t n);
	int (*on_data)(void *arg, const char *p, size_t n); /* nonzero: the caller is gone */
	/* Optional: libcurl has passed on all it had for now and will wait for more, or the answer
	 * is complete; what on_data held back goes out now. Nonzero: the caller is gone. */
	int (*on_flush)(void *arg);
	/* Optional: the answer is complete; what on_data held back goes out, with the end of the
	 * caller's request if it can. Without it on_flush is called. Nonzero: the caller is gone. */
	int (*on_end)(void *arg);
	void *arg;
	long head_timeout_ms;              /* from the request's last byte to the answer's head */
	/* out */
	long status;
	bool head_sent;                    /* on_head ran: the caller has the answer's start */
	bool caller_gone;                  /* read_body or on_data gave up */
	long long body_read;               /* bytes of the body curl took */
	char platform_error[64];           /* x-berth-error of gatewayd or the agent, or "" */
	char platform_message[256];        /* its error_message */
	/* private */
	CURL *curl;
	char *lines[TUNNEL_HEAD_LINES_MAX];
	size_t nlines;
	struct buf error_body;
	long long deadline_ms;
	char curl_error[CURL_ERROR_SIZE];
};
#define TUNNEL_READ_ABORT CURL_READFUNC_ABORT

/* B_OK when the exchange ran to its end, or platform_error is set (nothing reached the caller);
 * B_ETIMEOUT when no head came in time, B_EUPSTREAM when the relay failed (after head_sent the
 * caller's answer is cut short), B_EIO when the caller went away (caller_gone). */
int tunnel_stream_run(CURL *c, struct tunnel_stream *s, struct berr *e) B_MUST_CHECK;

#endif
