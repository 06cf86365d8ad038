/* socket-exec: binds 127.0.0.1:0, writes the port it got to PORTFILE, and execs the command
 * with the socket as fd 3 and LISTEN_FDS/LISTEN_PID set (systemd socket activation, which
 * lighttpd understands). The harness thus owns the port: parallel runs never race for one.
 * usage: socket-exec PORTFILE COMMAND [ARG...] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in a = {0};
	socklen_t len = sizeof(a);
	char pid[32];
	int fd, one = 1;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: socket-exec PORTFILE COMMAND [ARG...]\n");
		return 2;
	}
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1024) ||
	    getsockname(fd, (struct sockaddr *)&a, &len)) {
		perror("socket-exec");
		return 1;
	}
	if (fd != 3 && (dup2(fd, 3) < 0 || close(fd))) {
		perror("socket-exec: dup2");
		return 1;
	}
	f = fopen(argv[1], "w");
	if (!f || fprintf(f, "%d\n", ntohs(a.sin_port)) < 0 || fclose(f)) {
		perror(argv[1]);
		return 1;
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pid, 1);
	execvp(argv[2], argv + 2);
	perror(argv[2]);
	return 127;
}
