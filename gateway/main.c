/* berth-gatewayd: accepts agent tunnels, serves the control socket for the FastCGI programs
 * and runs the scheduler, on one libevent loop. */
#include "berth.h"
#include "gw.h"
#include "clock.h"
#include "crypto.h"
#include "fleet.h"
#include "log.h"
#include "rlimit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: berth-gatewayd [--listen HOST:PORT] [--socket PATH] [--ping-interval-ms N]\n"
	"                      [--ping-deadline-ms N] [--grace-s N] [--deploy-deadline-s N]\n"
	"                      [--reconcile-ms N] [--port-file PATH]\n\n"
	"Accepts berth-agent connections (GET /api/v1/agent/connect, Upgrade: berth-tunnel/1) on\n"
	"--listen (default 127.0.0.1:8091; put lighttpd's mod_proxy in front for TLS), serves\n"
	"/healthz, /metrics, /control/reconcile and /agents/{id}/... over HTTP/2 on the unix\n"
	"--socket (default $BERTH_VAR/run/gatewayd.sock), and schedules replicas.\n"
	"Defaults: PING every 10000 ms, dead after 20000 ms without an answer (time gatewayd\n"
	"itself was held up, as by a slow store write, does not count); replicas of an agent\n"
	"offline 30 s are placed elsewhere; a placed deploy with no healthy replica after 600 s\n"
	"fails (one with no eligible agent waits for one).\n";

static void reconcile(struct gw *gw)
{
	struct sched_plan plan = {0};
	struct berr e = {0};

	gw->m.reconciles++;
	if (sched_reconcile(gw->store, &gw->opts.sched, &plan, &e)) {
		log_error("reconcile: %s", e.message);
		return;
	}
	for (size_t i = 0; i < plan.n; i++)
		if (!session_command(gw, &plan.cmds[i]))
			log_debug("reconcile: agent %s is not connected", plan.cmds[i].agent_id);
	sched_plan_free(&plan);
}

static void on_reconcile(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	reconcile(arg);
}

void gw_reconcile_soon(struct gw *gw)
{
	/* many pokes in one loop turn make one reconcile */
	if (!event_pending(gw->reconcile_soon, EV_TIMEOUT, NULL)) {
		struct timeval tv = {0, 20000};

		event_add(gw->reconcile_soon, &tv);
	}
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	session_ping_all(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct gw *gw = arg;

	(void)what;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(gw->base, NULL);
}

static void on_agent(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
		     void *arg)
{
	(void)l;
	(void)sa;
	(void)len;
	session_accept(arg, fd);
}

static bool parse_ms(const char *s, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(s, &end, 10);
	return !errno && end != s && !*end && *out > 0;
}

/* Flags override the defaults; returns 0, or 2 with a message for a usage error. */
static int parse_args(struct gw *gw, int argc, char **argv)
{
	struct gw_opts *o = &gw->opts;

	snprintf(o->listen, sizeof(o->listen), "127.0.0.1:8091");
	snprintf(o->socket, sizeof(o->socket), "%.4000s/run/gatewayd.sock", gw->cfg.var);
	o->ping_interval_ms = 10000;
	o->ping_deadline_ms = 20000;
	o->reconcile_ms = 5000;
	o->sched.grace_s = 30;
	o->sched.deploy_deadline_s = 600;
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		long n = 0;

		if (!v)
			return fprintf(stderr, "berth-gatewayd: %s needs a value\n\n%s", f, usage), 2;
		i++;
		if (strcmp(f, "--listen") == 0)
			snprintf(o->listen, sizeof(o->listen), "%s", v);
		else if (strcmp(f, "--socket") == 0)
			snprintf(o->socket, sizeof(o->socket), "%s", v);
		else if (strcmp(f, "--port-file") == 0)
			snprintf(o->port_file, sizeof(o->port_file), "%s", v);
		else if (!parse_ms(v, &n))
			return fprintf(stderr, "berth-gatewayd: %s takes a positive number\n", f), 2;
		else if (strcmp(f, "--ping-interval-ms") == 0)
			o->ping_interval_ms = n;
		else if (strcmp(f, "--ping-deadline-ms") == 0)
			o->ping_deadline_ms = n;
		else if (strcmp(f, "--reconcile-ms") == 0)
			o->reconcile_ms = n;
		else if (strcmp(f, "--grace-s") == 0)
			o->sched.grace_s = n;
		else if (strcmp(f, "--deploy-deadline-s") == 0)
			o->sched.deploy_deadline_s = n;
		else
			return fprintf(stderr, "berth-gatewayd: unknown option %s\n\n%s", f, usage), 2;
	}
	return 0;
}

static struct event *every(struct gw *gw, long ms, event_callback_fn fn)
{
	struct timeval tv = clock_timeval_ms(ms);
	struct event *ev = event_new(gw->base, -1, EV_PERSIST, fn, gw);

	event_add(ev, &tv);
	return ev;
}

/* IPv4:PORT or [IPv6]:PORT; port 0 (the kernel picks one) is allowed, unlike in
 * evutil_parse_sockaddr_port. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, int *len)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 0 || port > 65535)
		return -1;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (!host[0])
		return -1;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -1;
	}
	((struct sockaddr_in *)ss)->sin_family = AF_INET;
	((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	*len = sizeof(struct sockaddr_in);
	return inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1 ? 0 : -1;
}

/* With --listen HOST:0 the kernel picks the port: tell whoever started us (the tests). */
static int write_port(struct gw *gw)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} a = {0};
	socklen_t len = sizeof(a);
	evutil_socket_t fd = evconnlistener_get_fd(gw->agent_listener);
	char tmp[4200];
	FILE *f;
	int port;

	if (getsockname(fd, &a.sa, &len))
		return 1;
	port = a.sa.sa_family == AF_INET6 ? ntohs(a.in6.sin6_port) : ntohs(a.in.sin_port);
	snprintf(tmp, sizeof(tmp), "%s.tmp", gw->opts.port_file);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) || rename(tmp, gw->opts.port_file)) {
		log_error("cannot write %s", gw->opts.port_file);
		return 1;
	}
	return 0;
}

static int gw_start(struct gw *gw)
{
	struct sockaddr_storage ss;
	int len = sizeof(ss);
	struct berr e = {0};

	if (parse_listen(gw->opts.listen, &ss, &len)) {
		log_error("--listen %s is not IPV4:PORT or [IPV6]:PORT", gw->opts.listen);
		return 1;
	}
	if (store_open(gw->cfg.db, &gw->store, &e) || store_migrate(gw->store, &e) ||
	    auth_keys_load(&gw->keys, gw->cfg.jwt_secret_file, gw->cfg.jwt_issuer, &e)) {
		log_error("%s", e.message);
		return 1;
	}
	gw->vault_ok = vault_key_load(&gw->vault, gw->cfg.vault_key_file, &e) == B_OK;
	if (!gw->vault_ok)
		log_warn("%s: external services with a credential will answer 503", e.message);
	gw->base = event_base_new();
	gw->agent_listener = evconnlistener_new_bind(gw->base, on_agent, gw,
		LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
		(struct sockaddr *)&ss, len);
	if (!gw->agent_listener || control_listen(gw)) {
		log_error("cannot listen on %s: %s", gw->opts.listen, strerror(errno));
		return 1;
	}
	/* Only now, with the port ours (a gatewayd already serving it keeps its agents), the
	 * sessions of a previous run are over; none of this run's is accepted before the loop
	 * starts. */
	if (fleet_all_offline(gw->store, &e)) {
		log_error("%s", e.message);
		return 1;
	}
	if (gw->opts.port_file[0] && write_port(gw))
		return 1;
	gw->ping_timer = every(gw, gw->opts.ping_interval_ms, on_ping);
	gw->reconcile_timer = every(gw, gw->opts.reconcile_ms, on_reconcile);
	gw->reconcile_soon = evtimer_new(gw->base, on_reconcile, gw);
	gw->sigterm = evsignal_new(gw->base, SIGTERM, on_signal, gw);
	gw->sigint = evsignal_new(gw->base, SIGINT, on_signal, gw);
	event_add(gw->sigterm, NULL);
	event_add(gw->sigint, NULL);
	return 0;
}

static void gw_stop(struct gw *gw)
{
	session_free_all(gw);
	control_free_all(gw);
	if (gw->agent_listener)
		evconnlistener_free(gw->agent_listener);
	if (gw->control_listener) {
		evconnlistener_free(gw->control_listener);
		unlink(gw->opts.socket);
	}
	for (struct event **ev = &gw->ping_timer; ev <= &gw->sigint; ev++)
		if (*ev)
			event_free(*ev);
	if (gw->base)
		event_base_free(gw->base);
	store_close(gw->store);
	vault_key_wipe(&gw->vault);
}

int main(int argc, char **argv)
{
	static struct gw gw;
	struct berr e = {0};
	int rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return fputs(usage, stdout), 0;
	if (config_load(&gw.cfg, NULL, NULL, &e))
		return fprintf(stderr, "berth-gatewayd: %s\n", e.message), 1;
	log_init("berth-gatewayd", strcmp(gw.cfg.log_format, "json") == 0,
		 (enum log_level)log_level_parse(gw.cfg.log_level), NULL);
	if ((rc = parse_args(&gw, argc, argv)))
		return rc;
	if (crypto_init())
		return 1;
	rlimit_heap_keep();
	rlimit_nofile_max(); /* a connection per call in flight, and per agent */
	signal(SIGPIPE, SIG_IGN);
	rc = gw_start(&gw);
	if (!rc) {
		log_info("listening for agents on %s, control socket %s", gw.opts.listen, gw.opts.socket);
		event_base_dispatch(gw.base);
	}
	gw_stop(&gw);
	return rc;
}
