/* tunnel.h: the FastCGI programs' client of berth-gatewayd's unix socket (HTTP/2 with prior
 * knowledge, libcurl). This module only reaches gatewayd; what gatewayd does is gateway/'s. */
#ifndef BERTH_TUNNEL_H
#define BERTH_TUNNEL_H

#include "berth.h"
#include "buf.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

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
};

/* Sends one request through gatewayd to an agent on the caller's CURL handle (reused between
 * calls). B_OK with status, headers and body; B_EUPSTREAM when gatewayd cannot be reached or the
 * answer is cut off or too large, B_ETIMEOUT past timeout_ms. Free with tunnel_call_free. */
int tunnel_call_run(CURL *c, struct tunnel_call *t, struct berr *e) B_MUST_CHECK;
void tunnel_call_free(struct tunnel_call *t);

#endif
