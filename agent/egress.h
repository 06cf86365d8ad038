/* egress.h: the agent's egress replicas and calls (external services, DESIGN.md "Request
 * flows"). An egress replica is a promise held in memory only: "calls for this replica go out
 * from this agent". Each call brings its URL and credential from gatewayd as reserved stream
 * headers (lib/egress.h), so the agent keeps no secret, on disk or otherwise. The call itself
 * is upstream.c's HTTP/1.1 over a TLS connection made here: certificate and host name
 * verified against the system's CAs or --egress-ca-file, SNI set. */
#ifndef BERTH_AGENT_EGRESS_H
#define BERTH_AGENT_EGRESS_H

#include "berth.h"
#include "agent.h"
#include "upstream.h"

/* The TLS context for calls (CAs from a->opts.egress_ca_file, else the system's); before the
 * first call. B_EIO with a message logged when the CA file does not load. */
int egress_setup(struct agent *a);
/* Forgets every egress replica and frees the TLS context. */
void egress_stop(struct agent *a);

/* Whether a PUT /v1/replicas/{id} spec is an egress replica's ({"service_type": "external"}). */
bool egress_spec(const cJSON *spec);
/* Holds replica_id for the spec's service (idempotent) and reports it healthy. B_EINVAL
 * naming the field for a spec without a service_id. */
int egress_put(struct agent *a, const char *replica_id, const cJSON *spec,
	       struct berr *e) B_MUST_CHECK;
/* Lets go of replica_id, reporting it stopped; false when it is not an egress replica. */
bool egress_delete(struct agent *a, const char *replica_id);
/* Adds the egress replicas to a GET /v1/replicas list. */
void egress_list(struct agent *a, cJSON *list);

/* Starts the call of stream st for egress replica replica_id: the gateway's URL plus
 * rq->target, rq's headers (the credential, when the gateway sent one, replacing the caller's
 * Authorization), over verified TLS. NULL with e filled: 404 for a replica not held here,
 * 502 for a missing or bad URL or a connection that cannot start. */
struct upstream *egress_open(struct agent *a, const struct h2_stream *st, const char *replica_id,
			     const struct upstream_request *rq, const struct upstream_callbacks *cb,
			     void *arg, struct berr *e);
/* A failed call's error in the external service's terms: TLS (the certificate's verdict),
 * DNS, or upstream.c's words about "the container". Call before upstream_free(u). */
void egress_explain(const struct h2_stream *st, struct upstream *u, struct berr *e);

#endif
