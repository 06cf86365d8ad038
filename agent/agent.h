/* agent.h: berth-agent's shared state: its options, the tunnel to the gateway and the
 * HTTP/2 routes it serves there, around the replica manager (replicas.h). */
#ifndef BERTH_AGENT_H
#define BERTH_AGENT_H

#include "berth.h"
#include "h2.h"
#include "replicas.h"

#include <cjson/cJSON.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#define AGENT_VERSION BERTH_VERSION
#define AGENT_NAME_MAX 63

struct agent_opts {
	char gateway[2048];      /* http(s)://host[:port] */
	char key[128];           /* ak-..., or read from @FILE */
	char name[AGENT_NAME_MAX + 1];
	char labels[1024];       /* comma-separated */
	char docker_socket[4096];
	char ca_file[4096];
	char egress_ca_file[4096]; /* CAs for external services; "" = the system's */
	long reconnect_max_ms;   /* backoff cap, default 30000 */
	char container_labels[1024]; /* k=v,k=v: put on every container this agent makes */
	struct docker_kv label_kv[8];
	char owner[AGENT_NAME_MAX + 16];  /* berth.agent: name/key prefix (see parse_container_labels) */
	char label_buf[1024];
	struct replicas_opts rep;
};

struct event_stream;

struct agent {
	struct agent_opts opts;
	struct event_base *base;
	struct evdns_base *dns;
	SSL_CTX *ssl;
	struct replicas *replicas;
	struct egress_replica *egress; /* held egress replicas (egress.c) */
	SSL_CTX *egress_ssl;           /* TLS for calls to external services */
	cJSON *gpus;                /* [{index, name, memory_mib, uuid}] from nvidia-smi */
	/* the tunnel */
	char scheme[8], host[256];
	int port;
	struct bufferevent *bev;    /* while dialling and upgrading */
	struct h2_conn *h2;         /* after 101 */
	int attempt;                /* failed dials in a row, for the backoff */
	struct event *retry, *sigterm, *sigint;
	struct event_stream *streams; /* open GET /v1/events answers */
	struct event *runtime_timer;  /* watches the Docker engine's reachability */
	int runtime_sent;             /* what the gateway was last told: -1 nothing, 0 or 1 */
};

/* tunnel.c */
int tunnel_setup(struct agent *a);     /* URL, TLS context; before the first dial */
void tunnel_dial(struct agent *a);     /* connects now; failures retry with backoff forever */
void tunnel_stop(struct agent *a);

/* serve.c */
extern const struct h2_callbacks serve_callbacks;
/* A replica changed: one line to every open event stream. */
void serve_replica_event(void *ctx, const struct replica_event *ev);
void serve_forget_streams(struct agent *a);
/* Tells the gateway when the Docker engine comes or goes (force: say it anyway). */
void serve_runtime_check(struct agent *a, bool force);
cJSON *serve_info(struct agent *a);

#endif
