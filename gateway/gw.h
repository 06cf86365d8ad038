/* gw.h: berth-gatewayd's shared state: the agent sessions, the control socket and the
 * scheduler's timer, all on one libevent loop (DESIGN.md, "Processes"). */
#ifndef BERTH_GW_H
#define BERTH_GW_H

#include "berth.h"
#include "auth.h"
#include "config.h"
#include "h2.h"
#include "sched.h"
#include "store.h"
#include "uuid.h"
#include "vault.h"

#include <event2/event.h>
#include <event2/listener.h>

#define TUNNEL_PROTOCOL "berth-tunnel/1"
#define AGENT_NAME_MAX 63

struct gw_opts {
	char listen[128];          /* host:port for agents, default 127.0.0.1:8091 */
	char socket[4096];         /* control socket, default <var>/run/gatewayd.sock */
	char port_file[4096];      /* where to write the agent port bound (for --listen :0) */
	long ping_interval_ms;     /* 10000 */
	long ping_deadline_ms;     /* 20000: no PING answer for this long ends a session */
	long reconcile_ms;         /* 5000 */
	struct sched_opts sched;   /* grace 30 s, deploy deadline 600 s */
};

struct gw_metrics {
	uint64_t reconciles;
	uint64_t bytes_in, bytes_out;   /* relayed body bytes, to and from agents */
	uint64_t sessions_total;
	uint64_t control_connections;   /* accepted on the unix socket */
};

struct session;
struct control_conn;

struct gw {
	struct event_base *base;
	struct config cfg;
	struct gw_opts opts;
	struct auth_keys keys;
	struct store *store;
	struct vault_key vault;    /* opens external services' credentials for /v1/egress/ */
	bool vault_ok;             /* the key file loaded: without it, credentials cannot be used */
	struct session *sessions;
	struct control_conn *controls; /* the programs' connections to the unix socket */
	struct evconnlistener *agent_listener, *control_listener;
	struct event *ping_timer, *reconcile_timer, *reconcile_soon, *sigterm, *sigint;
	int64_t ping_tick_ms;     /* when session_ping_all last ran (monotonic), 0 before */
	struct gw_metrics m;
};

/* session.c: agent connections */
void session_accept(struct gw *gw, evutil_socket_t fd);
struct session *session_find(struct gw *gw, const char *agent_id);
struct h2_conn *session_conn(struct session *s);
size_t session_count(const struct gw *gw);
size_t session_open_streams(const struct gw *gw);
void session_ping_all(struct gw *gw);
void session_free_all(struct gw *gw);
/* Sends PUT/DELETE /v1/replicas/{id} on the agent's session; false when it is not online. */
bool session_command(struct gw *gw, const struct sched_cmd *cmd);

/* Opens a relayed stream to the agent; the agent's answer comes back through relay_*. */
struct h2_stream *session_relay_open(struct session *s, const char *method, const char *path,
				     const struct h2_header *hdrs, size_t n, void *relay);

/* control.c: the unix socket, and relays between it and agent sessions */
int control_listen(struct gw *gw);
/* Closes the programs' connections (they keep them open between calls), as gatewayd stops. */
void control_free_all(struct gw *gw);
void relay_response(void *relay, struct h2_stream *up);
void relay_data(void *relay, const uint8_t *p, size_t n);
void relay_sent(void *relay, size_t n);  /* n bytes of the caller's body went to the agent */
void relay_end(void *relay);
void relay_closed(void *relay, uint32_t error);

/* main.c */
void gw_reconcile_soon(struct gw *gw);

#endif
