/* make run's script (tools/run.sh), end to end: it serves, and Ctrl-C stops every process it
 * started, the FastCGI programs lighttpd spawned included. */
#include "harness.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char var[4096];

/* A port nobody listens on now (the kernel's pick, released again). */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	cr_assert(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(getsockname(fd, (struct sockaddr *)&a, &n) == 0);
	close(fd);
	return ntohs(a.sin_port);
}

/* The pids of processes whose environment holds BERTH_VAR=var (at most max). */
static size_t processes_of_run(pid_t *out, size_t max)
{
	char want[4200], path[64], env[65536];
	DIR *d = opendir("/proc");
	struct dirent *de;
	size_t n = 0;

	cr_assert(d != NULL);
	snprintf(want, sizeof(want), "BERTH_VAR=%s", var);
	while ((de = readdir(d)) && n < max) {
		pid_t pid = (pid_t)atoi(de->d_name);
		ssize_t len;
		int fd;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/environ", pid);
		if ((fd = open(path, O_RDONLY)) < 0)
			continue;
		len = read(fd, env, sizeof(env) - 1);
		close(fd);
		for (ssize_t i = 0; i < len; i += (ssize_t)strlen(env + i) + 1) {
			env[len] = '\0';
			if (strcmp(env + i, want) == 0) {
				out[n++] = pid;
				break;
			}
		}
	}
	closedir(d);
	return n;
}

/* Whatever a failed test left running goes. */
static void kill_leftovers(void)
{
	pid_t pids[64];
	size_t n;

	if (!var[0])
		return;
	n = processes_of_run(pids, 64);
	for (size_t i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
}

TestSuite(make_run, .fini = kill_leftovers);

/* The status of GET path on port (0 when nothing answers). */
static long status_of(int port, const char *path)
{
	char cmd[256], text[16] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "curl -s -o /dev/null -w '%%{http_code}' http://127.0.0.1:%d%s",
		 port, path);
	p = popen(cmd, "r");
	cr_assert(p != NULL);
	if (!fgets(text, sizeof(text), p))
		text[0] = '\0';
	pclose(p);
	return atol(text);
}

static bool file_has(const char *path, const char *needle)
{
	char text[16384];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return strstr(text, needle) != NULL;
}

Test(make_run, ctrl_c_stops_every_process_it_started)
{
	char out[4200], script[4200], portv[16], gwv[16];
	int port = free_port(), gwport = free_port(), status = -1;
	pid_t pid, left[64];
	size_t n = 0;
	bool ended;

	snprintf(var, sizeof(var), "%s/make-run", getenv("BERTH_TEST_STATE"));
	snprintf(out, sizeof(out), "%s/make-run.out", getenv("BERTH_TEST_STATE"));
	snprintf(script, sizeof(script), "%s/tools/run.sh", getenv("BERTH_TEST_ROOT"));
	snprintf(portv, sizeof(portv), "%d", port);
	snprintf(gwv, sizeof(gwv), "%d", gwport);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		setpgid(0, 0); /* the process group a terminal's Ctrl-C would reach */
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("BERTH_VAR", var, 1);
		setenv("BERTH_PORT", portv, 1);
		setenv("BERTH_GATEWAY_PORT", gwv, 1);
		execl("/bin/bash", "bash", script, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200 && !file_has(out, "berth: serving"); i++)
		usleep(100 * 1000);
	cr_assert(file_has(out, "berth: serving"), "see %s", out);
	cr_assert(eq(long, status_of(port, "/"), 200), "make run did not serve on %d", port);
	/* the programs serve: a call without a credential reaches one */
	cr_assert(eq(long, status_of(port, "/api/v1/r/containers"), 401));
	cr_assert(processes_of_run(left, 64) >= 5, "the script, gatewayd, lighttpd, the agent "
		  "and programs");

	cr_assert(kill(-pid, SIGINT) == 0); /* Ctrl-C */
	for (int i = 0; i < 150 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(100 * 1000);
	ended = WIFEXITED(status);
	cr_assert(ended, "make run's script did not end");
	for (int i = 0; i < 100 && (n = processes_of_run(left, 64)) > 0; i++)
		usleep(100 * 1000);
	cr_assert(eq(sz, n, 0), "%zu processes left running, the first %d", n, n ? left[0] : 0);
	cr_assert(file_has(out, "berth: stopping"), "see %s", out);
	cr_assert(file_has(out, "exited unexpectedly") == false, "see %s", out);
}
