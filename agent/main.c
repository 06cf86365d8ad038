/* berth-agent: runs on a GPU host, dials out to the gateway and runs the replicas the
 * gateway asks for, on the host's Docker engine. */
#include "berth.h"
#include "agent.h"
#include "egress.h"
#include "crypto.h"
#include "keepalive.h"
#include "log.h"
#include "rlimit.h"
#include "valid.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/thread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char usage[] =
	"usage: berth-agent --gateway URL --key ak-...|@FILE --name NAME [--labels a,b]\n"
	"                   [--docker-socket PATH] [--ca-file PATH] [--egress-ca-file PATH]\n"
	"                   [--config FILE] [--reconnect-max-ms N] [--probe-interval-ms N]\n"
	"                   [--container-labels k=v,...]\n\n"
	"Dials the berth gateway (http:// for development, https:// through lighttpd in\n"
	"production) and runs the containers it is asked for. NAME must match\n"
	"^[a-z0-9][a-z0-9._-]{0,62}$ and be unique in the key's team. --key @FILE reads the key\n"
	"from FILE (keep it out of the process list). --config FILE holds the same settings as\n"
	"`name = value` lines (gateway, key, name, labels, docker_socket, ca_file, ...); flags\n"
	"win. GPUs are found with nvidia-smi when it is installed. Reconnects forever, backing\n"
	"off up to --reconnect-max-ms (default 30000).\n"
	"--ca-file PATH trusts a private CA for the gateway's certificate. Calls to external\n"
	"services (HTTPS, certificate and host name verified) trust the system's CAs, or only\n"
	"those in --egress-ca-file PATH.\n";

/* One setting by its config-file name; flags use the same name with -- and dashes. */
static int set_opt(struct agent_opts *o, const char *name, const char *v)
{
	struct {
		const char *name;
		char *dst;
		size_t size;
	} strs[] = {
		{"gateway", o->gateway, sizeof(o->gateway)}, {"key", o->key, sizeof(o->key)},
		{"name", o->name, sizeof(o->name)}, {"labels", o->labels, sizeof(o->labels)},
		{"docker_socket", o->docker_socket, sizeof(o->docker_socket)},
		{"ca_file", o->ca_file, sizeof(o->ca_file)},
		{"egress_ca_file", o->egress_ca_file, sizeof(o->egress_ca_file)},
		{"container_labels", o->container_labels, sizeof(o->container_labels)},
	};
	char *end;
	long n;

	for (size_t i = 0; i < B_ARRAY_LEN(strs); i++) {
		if (strcmp(name, strs[i].name) != 0)
			continue;
		if (strlen(v) >= strs[i].size)
			return fprintf(stderr, "berth-agent: %s is too long\n", name), 2;
		snprintf(strs[i].dst, strs[i].size, "%s", v);
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n <= 0)
		return fprintf(stderr, "berth-agent: %s takes a positive number\n", name), 2;
	if (strcmp(name, "reconnect_max_ms") == 0)
		o->reconnect_max_ms = n;
	else if (strcmp(name, "probe_interval_ms") == 0)
		o->rep.probe_interval_ms = (int)n;
	else
		return fprintf(stderr, "berth-agent: unknown setting %s\n\n%s", name, usage), 2;
	return 0;
}

static int read_config(struct agent_opts *o, const char *path)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (!f)
		return fprintf(stderr, "berth-agent: cannot read %s: %s\n", path, strerror(errno)), 1;
	while (!rc && fgets(line, sizeof(line), f)) {
		char *k = line, *eq, *v, *end;

		while (*k == ' ' || *k == '\t')
			k++;
		if (*k == '#' || *k == '\n' || !*k)
			continue;
		if (!(eq = strchr(k, '=')))
			return fclose(f), fprintf(stderr, "berth-agent: %s: expected name = value\n", path), 2;
		for (end = eq; end > k && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		for (v = eq + 1; *v == ' ' || *v == '\t'; v++)
			;
		v[strcspn(v, "\r\n")] = '\0';
		rc = set_opt(o, k, v);
	}
	fclose(f);
	return rc;
}

/* Flags, after --config (flags win). "--docker-socket" sets docker_socket. */
static int parse_args(struct agent_opts *o, int argc, char **argv)
{
	int rc;

	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--config") == 0 && (rc = read_config(o, argv[i + 1])))
			return rc;
	for (int i = 1; i < argc; i += 2) {
		char name[64];

		if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc)
			return fprintf(stderr, "berth-agent: bad argument %s\n\n%s", argv[i], usage), 2;
		if (strcmp(argv[i], "--config") == 0)
			continue;
		snprintf(name, sizeof(name), "%s", argv[i] + 2);
		for (char *p = name; *p; p++)
			if (*p == '-')
				*p = '_';
		if ((rc = set_opt(o, name, argv[i + 1])))
			return rc;
	}
	return 0;
}

/* --key @FILE: the first line of FILE. */
static int load_key(struct agent_opts *o)
{
	char path[sizeof(o->key)];
	FILE *f;

	if (o->key[0] != '@')
		return 0;
	snprintf(path, sizeof(path), "%s", o->key + 1);
	f = fopen(path, "r");
	if (!f || !fgets(o->key, sizeof(o->key), f)) {
		fprintf(stderr, "berth-agent: cannot read the key from %s\n", path);
		if (f)
			fclose(f);
		return 1;
	}
	fclose(f);
	o->key[strcspn(o->key, "\r\n")] = '\0';
	return 0;
}

/* --container-labels k=v,k=v into the replica manager's options. */
static int parse_container_labels(struct agent_opts *o)
{
	char *save = NULL;
	size_t n = 0;

	snprintf(o->label_buf, sizeof(o->label_buf), "%s", o->container_labels);
	for (char *kv = strtok_r(o->label_buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		/* berth.* labels are the agent's own; berth.run marks a test run's containers */
		bool reserved = strncmp(kv, "berth.", 6) == 0 && strncmp(kv, "berth.run=", 10) != 0;

		if (!eq || eq == kv || n == B_ARRAY_LEN(o->label_kv) || reserved)
			return fprintf(stderr, "berth-agent: --container-labels takes up to 8 k=v "
				       "pairs (berth.* names are reserved, but berth.run)\n"), 2;
		*eq = '\0';
		o->label_kv[n++] = (struct docker_kv){kv, eq + 1};
	}
	o->rep.labels = o->label_kv;
	o->rep.label_count = n;
	/* Containers are adopted by name and key prefix (public, as in key listings): agents of
	 * two teams may share one Docker host and even a name, but never a key. */
	snprintf(o->owner, sizeof(o->owner), "%s/%.12s", o->name, o->key);
	o->rep.agent_name = o->owner;
	return 0;
}

static int check_opts(struct agent_opts *o)
{
	if (!o->gateway[0] || !o->key[0] || !o->name[0])
		return fprintf(stderr, "berth-agent: --gateway, --key and --name are required\n\n%s",
			       usage), 2;
	if (!valid_label(o->name))
		return fprintf(stderr, "berth-agent: --name must match ^[a-z0-9][a-z0-9._-]{0,62}$\n"), 2;
	if (load_key(o))
		return 1;
	if (strncmp(o->key, "ak-", 3) != 0)
		return fprintf(stderr, "berth-agent: --key must be an agent key (ak-...)\n"), 2;
	return parse_container_labels(o);
}

/* One line of nvidia-smi's CSV: "0, NVIDIA H100 80GB HBM3, 81559, GPU-5b3c...". */
static cJSON *gpu_from_csv(char *line)
{
	char *save = NULL, *f[4];
	char *end;
	long idx, mem;
	cJSON *g;

	for (int i = 0; i < 4; i++) {
		f[i] = strtok_r(i ? NULL : line, ",", &save);
		if (!f[i])
			return NULL;
		while (*f[i] == ' ')
			f[i]++;
		f[i][strcspn(f[i], "\r\n")] = '\0';
	}
	idx = strtol(f[0], &end, 10);
	if (*end || idx < 0)
		return NULL;
	mem = strtol(f[2], &end, 10);
	if (*end)
		mem = 0;
	g = cJSON_CreateObject();
	cJSON_AddNumberToObject(g, "index", (double)idx);
	cJSON_AddStringToObject(g, "name", f[1]);
	cJSON_AddNumberToObject(g, "memory_mib", (double)mem);
	cJSON_AddStringToObject(g, "uuid", f[3]);
	return g;
}

/* nvidia-smi's GPUs as [{index, name, memory_mib, uuid}]; none when it is not installed. */
static cJSON *detect_gpus(void)
{
	char *argv[] = {"nvidia-smi", "--query-gpu=index,name,memory.total,uuid",
			"--format=csv,noheader,nounits", NULL};
	cJSON *gpus = cJSON_CreateArray();
	posix_spawn_file_actions_t fa;
	char line[512];
	int fds[2], status;
	pid_t pid;
	FILE *f;

	if (pipe(fds))
		return gpus;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	if (posix_spawnp(&pid, "nvidia-smi", &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		return gpus; /* no nvidia-smi: no GPUs */
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	f = fdopen(fds[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		cJSON *g = gpu_from_csv(line);

		if (g)
			cJSON_AddItemToArray(gpus, g);
	}
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	return gpus;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("signal %d: stopping (containers keep running)", (int)sig);
	event_base_loopexit(((struct agent *)arg)->base, NULL);
}

static void on_runtime_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	serve_runtime_check(arg, false);
}

/* Each second: has the Docker engine come or gone since the gateway was last told? */
static void runtime_watch(struct agent *a)
{
	struct timeval second = {1, 0};

	a->runtime_sent = -1;
	a->runtime_timer = event_new(a->base, -1, EV_PERSIST, on_runtime_timer, a);
	event_add(a->runtime_timer, &second);
}

static int agent_start(struct agent *a)
{
	struct berr e = {0};

	a->base = event_base_new();
	a->dns = evdns_base_new(a->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
	a->gpus = detect_gpus();
	if (a->opts.docker_socket[0])
		a->opts.rep.docker_socket = a->opts.docker_socket;
	a->replicas = replicas_new(a->base, &a->opts.rep, serve_replica_event, a, &e);
	if (!a->replicas) {
		log_error("%s", e.message);
		return 1;
	}
	if (tunnel_setup(a) || egress_setup(a))
		return 1;
	runtime_watch(a);
	a->sigterm = evsignal_new(a->base, SIGTERM, on_signal, a);
	a->sigint = evsignal_new(a->base, SIGINT, on_signal, a);
	event_add(a->sigterm, NULL);
	event_add(a->sigint, NULL);
	log_info("berth-agent %s: %d GPU(s), labels [%s], gateway %s", a->opts.name,
		 cJSON_GetArraySize(a->gpus), a->opts.labels, a->opts.gateway);
	tunnel_dial(a);
	return 0;
}

static void agent_stop(struct agent *a)
{
	tunnel_stop(a);
	serve_forget_streams(a);
	egress_stop(a);
	keepalive_close_all();
	if (a->replicas)
		replicas_free(a->replicas);
	if (a->runtime_timer)
		event_free(a->runtime_timer);
	if (a->sigterm)
		event_free(a->sigterm);
	if (a->sigint)
		event_free(a->sigint);
	if (a->dns)
		evdns_base_free(a->dns, 0);
	if (a->base)
		event_base_free(a->base);
	cJSON_Delete(a->gpus);
}

int main(int argc, char **argv)
{
	static struct agent a;
	const char *fmt;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0))
		return fputs(usage, stdout), 0;
	a.opts.reconnect_max_ms = 30000;
	if ((rc = parse_args(&a.opts, argc, argv)) || (rc = check_opts(&a.opts)))
		return rc;
	fmt = getenv("BERTH_LOG_FORMAT");
	log_init("berth-agent", fmt && strcmp(fmt, "json") == 0, LOG_INFO, NULL);
	if (crypto_init() || curl_global_init(CURL_GLOBAL_DEFAULT) || evthread_use_pthreads())
		return fprintf(stderr, "berth-agent: cannot initialise libraries\n"), 1;
	signal(SIGPIPE, SIG_IGN);
	rlimit_heap_keep();
	rlimit_nofile_max(); /* a connection per call in flight, and the kept ones */
	rc = agent_start(&a);
	if (!rc)
		event_base_dispatch(a.base);
	agent_stop(&a);
	curl_global_cleanup();
	return rc;
}
