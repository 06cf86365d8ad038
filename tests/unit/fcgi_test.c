/* lib/http at the FastCGI level: http_main (or http_main_pool) in a child process, on a socket
 * given as fd 0 as lighttpd gives it, and this test as the web server speaking the records.
 * Checks how a streamed body is framed, how a connection ends, and how the pool's threads take
 * calls. */
#include "berth.h"
#include "http.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <errno.h>
#include <fastcgi.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIG (200 * 1024 + 7)
#define PIECES 1000 /* /held writes PIECES pieces of PIECE bytes */
#define PIECE 100
#define POOL_THREADS 12
#define TOGETHER 10 /* calls held open at once: more than the threads in accept() */

static char dir[64];
static char sock[96];
static pid_t child;
static bool pool;        /* the child runs http_main_pool */
static atomic_int inside; /* the child's calls in /together now */

/* /big streams BIG bytes (i % 251) in one write; /ignore answers without reading the body;
 * anything else answers "ok". */
static void handler(struct http_ctx *ctx, struct http_req *r)
{
	static char body[BIG];
	char *head[] = {(char *)"Content-Type: application/octet-stream"};

	(void)ctx;
	if (strcmp(r->path, "/together") == 0) {
		/* waits up to 5 s for TOGETHER calls to be in here at once */
		bool all = false;

		atomic_fetch_add(&inside, 1);
		for (int i = 0; i < 500 && !(all = atomic_load(&inside) >= TOGETHER); i++)
			usleep(10000);
		http_respond(r, 200, "text/plain", all ? "all" : "alone", all ? 3 : 5, NULL);
		return;
	}
	if (strcmp(r->path, "/thread") == 0) {
		char id[32];
		int n = snprintf(id, sizeof(id), "%ld", (long)gettid());

		http_respond(r, 200, "text/plain", id, (size_t)n, NULL);
		return;
	}
	if (strcmp(r->path, "/held") == 0) {
		/* small writes into a hold; the last of them go out only once the test sends a
		 * byte of body */
		char hold[HTTP_STREAM_HOLD], piece[PIECE], c;

		http_stream_hold(r, hold, sizeof(hold));
		if (http_stream_head(r, 200, head, 1) == 0)
			for (int i = 0; i < PIECES; i++) {
				for (int j = 0; j < PIECE; j++)
					piece[j] = (char)((i * PIECE + j) % 251);
				(void)http_stream_write(r, piece, sizeof(piece));
			}
		(void)http_stream_read(r, &c, 1);
		(void)http_stream_flush(r);
		http_stream_hold(r, NULL, 0);
		return;
	}
	if (strcmp(r->path, "/small-stream") == 0) {
		/* a small streamed answer, held, then ended */
		char hold[HTTP_STREAM_HOLD];

		http_stream_hold(r, hold, sizeof(hold));
		if (http_stream_head(r, 200, head, 1) == 0)
			for (int i = 0; i < 3; i++)
				(void)http_stream_write(r, "0123456789", 10);
		(void)http_stream_end(r);
		http_stream_hold(r, NULL, 0);
		return;
	}
	if (strcmp(r->path, "/length") == 0) {
		struct berr e = {0};
		long long n;
		char out[32];

		if (http_body_length(r, &n, &e)) {
			http_respond_error(r, &e);
		} else {
			snprintf(out, sizeof(out), "length %lld", n);
			http_respond(r, 200, "text/plain", out, strlen(out), NULL);
		}
		return;
	}
	if (strcmp(r->path, "/big") == 0) {
		for (size_t i = 0; i < sizeof(body); i++)
			body[i] = (char)(i % 251);
		if (http_stream_head(r, 200, head, 1) == 0)
			(void)http_stream_write(r, body, sizeof(body));
		return;
	}
	http_respond(r, 200, "text/plain", "ok", 2, NULL);
}

static void serve(void)
{
	char path[160], *argv[] = {(char *)"fcgi_test", NULL};
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	FILE *k;

	snprintf(path, sizeof(path), "%s/jwt.key", dir);
	k = fopen(path, "w");
	if (!k)
		_exit(2);
	for (int i = 0; i < 32; i++)
		fputs("ab", k);
	fclose(k);
	setenv("BERTH_VAR", dir, 1);
	setenv("BERTH_JWT_SECRET_FILE", path, 1);
	setenv("BERTH_LOG_LEVEL", "error", 1);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 8) ||
	    dup2(fd, 0) != 0)
		_exit(2);
	if (pool) {
		static const struct http_prog prog = {.name = "fcgi_test", .usage = "",
						      .handler = handler};
		char threads[16];

		snprintf(threads, sizeof(threads), "%d", POOL_THREADS);
		setenv("BERTH_RUNTIME_THREADS", threads, 1);
		_exit(http_main_pool(&prog, 1, argv));
	}
	_exit(http_main("fcgi_test", "", 1, argv, handler));
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/berth-fcgi.XXXXXX");
	cr_assert(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/t.sock", dir);
	child = fork();
	cr_assert(child >= 0);
	if (child == 0)
		serve();
	for (int i = 0; i < 200 && access(sock, F_OK) != 0; i++)
		usleep(10000);
	cr_assert(eq(int, access(sock, F_OK), 0), "the program did not come up");
}

static void teardown(void)
{
	char cmd[128];

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
}

static void setup_pool(void)
{
	pool = true;
	setup();
}

TestSuite(fcgi, .init = setup, .fini = teardown);
TestSuite(fcgi_pool, .init = setup_pool, .fini = teardown);

static int dial(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	cr_assert(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	return fd;
}

static void record(int fd, int type, const void *p, size_t n)
{
	unsigned char h[8] = {FCGI_VERSION_1, (unsigned char)type, 0, 1,
			      (unsigned char)(n >> 8), (unsigned char)n, 0, 0};

	cr_assert(eq(sz, (size_t)write(fd, h, 8), 8));
	if (n)
		cr_assert(eq(sz, (size_t)write(fd, p, n), n));
}

static size_t param(unsigned char *out, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);

	out[0] = (unsigned char)nl;
	out[1] = (unsigned char)vl;
	memcpy(out + 2, name, nl);
	memcpy(out + 2 + nl, value, vl);
	return 2 + nl + vl;
}

/* A request as lighttpd sends one; body_eof sends the empty stdin record that ends the body. */
static int request_te(const char *uri, const char *content_length, const char *te,
		      bool body_eof)
{
	unsigned char begin[8] = {0, FCGI_RESPONDER, 0, 0, 0, 0, 0, 0}, p[512];
	size_t n = 0;
	int fd = dial();

	n += param(p + n, "REQUEST_METHOD", content_length || te ? "POST" : "GET");
	n += param(p + n, "REQUEST_URI", uri);
	if (content_length)
		n += param(p + n, "CONTENT_LENGTH", content_length);
	if (te)
		n += param(p + n, "HTTP_TRANSFER_ENCODING", te);
	record(fd, FCGI_BEGIN_REQUEST, begin, sizeof(begin));
	record(fd, FCGI_PARAMS, p, n);
	record(fd, FCGI_PARAMS, NULL, 0);
	if (body_eof)
		record(fd, FCGI_STDIN, NULL, 0);
	return fd;
}

static int request(const char *uri, const char *content_length, bool body_eof)
{
	return request_te(uri, content_length, NULL, body_eof);
}

static void read_full(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = read(fd, (char *)p + got, n - got);

		cr_assert(gt(sz, (size_t)(k > 0 ? k : 0), 0), "the connection ended early");
		got += (size_t)k;
	}
}

struct answer {
	char *out;              /* stdout's bytes, head and body */
	size_t len;
	size_t records, largest; /* stdout records with content, the largest */
};

/* Reads records up to FCGI_END_REQUEST. */
static void answer(int fd, struct answer *a)
{
	memset(a, 0, sizeof(*a));
	for (;;) {
		unsigned char h[8], pad[255];
		size_t n;

		read_full(fd, h, 8);
		n = (size_t)h[4] << 8 | h[5];
		if (h[1] == FCGI_END_REQUEST) {
			cr_assert(eq(sz, n, 8));
			read_full(fd, pad, n + h[6]);
			return;
		}
		if (h[1] == FCGI_STDOUT && n) {
			a->out = realloc(a->out, a->len + n);
			read_full(fd, a->out + a->len, n);
			a->len += n;
			a->records++;
			if (n > a->largest)
				a->largest = n;
		} else if (n) {
			char *skip = malloc(n);

			read_full(fd, skip, n);
			free(skip);
		}
		if (h[6])
			read_full(fd, pad, h[6]);
	}
}

/* Whether the program has closed its end: a write then fails with EPIPE. A lingering close
 * (shutdown, then reading until this end closes) still takes it. */
static bool program_closed(int fd)
{
	for (int i = 0; i < 100; i++) {
		if (send(fd, "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE)
			return true;
		usleep(10000);
	}
	return false;
}

Test(fcgi, a_streamed_body_goes_in_records_of_up_to_64_KiB_intact)
{
	int fd = request("/big", NULL, true);
	struct answer a;
	const char *body;

	answer(fd, &a);
	body = memmem(a.out, a.len, "\r\n\r\n", 4);
	cr_assert(body != NULL);
	body += 4;
	cr_assert(eq(sz, a.len - (size_t)(body - a.out), BIG));
	for (size_t i = 0; i < BIG; i++)
		cr_assert(eq(int, (unsigned char)body[i], (int)(i % 251)), "byte %zu", i);
	cr_assert(gt(sz, a.largest, 8192), "larger than libfcgi's 8 KiB records");
	cr_assert(le(sz, a.largest, 65535));
	cr_assert(le(sz, a.records, 1 + BIG / 32768), "%zu records", a.records);
	free(a.out);
	close(fd);
}

/* One record of the answer into a; false at FCGI_END_REQUEST. */
static bool answer_record(int fd, struct answer *a)
{
	unsigned char h[8], pad[255];
	size_t n;

	read_full(fd, h, 8);
	n = (size_t)h[4] << 8 | h[5];
	if (h[1] == FCGI_END_REQUEST) {
		read_full(fd, pad, n + h[6]);
		return false;
	}
	a->out = realloc(a->out, a->len + n + 1);
	read_full(fd, a->out + a->len, n);
	if (h[1] == FCGI_STDOUT && n) {
		a->len += n;
		a->records++;
		if (n > a->largest)
			a->largest = n;
	}
	if (h[6])
		read_full(fd, pad, h[6]);
	return true;
}

Test(fcgi, held_writes_go_out_as_full_records_and_the_rest_on_flush)
{
	int fd = request("/held", "1", false);
	struct answer a = {0};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	const char *body;
	size_t head;

	/* the head and the first pieces in the hold once full: one record of HTTP_STREAM_HOLD
	 * bytes */
	while (a.largest < HTTP_STREAM_HOLD && a.records < 2)
		cr_assert(answer_record(fd, &a), "the answer ended before the hold was full");
	cr_assert(eq(sz, a.largest, HTTP_STREAM_HOLD), "small writes went out on their own");
	cr_assert(eq(sz, a.records, 1), "the head went out on its own");
	cr_assert(eq(int, poll(&p, 1, 300), 0), "held bytes went out before the flush");
	record(fd, FCGI_STDIN, "x", 1);
	record(fd, FCGI_STDIN, NULL, 0);
	while (answer_record(fd, &a))
		;
	body = memmem(a.out, a.len, "\r\n\r\n", 4);
	cr_assert(body != NULL);
	body += 4;
	head = (size_t)(body - a.out);
	cr_assert(eq(sz, a.len - head, (size_t)PIECES * PIECE));
	for (size_t i = 0; i < (size_t)PIECES * PIECE; i++)
		cr_assert(eq(int, (unsigned char)body[i], (int)(i % 251)), "byte %zu", i);
	cr_assert(eq(sz, a.records, 2), "the rest went out in %zu records", a.records - 1);
	free(a.out);
	close(fd);
}

Test(fcgi, a_small_streamed_answer_goes_out_in_one_write_with_the_end_records)
{
	int fd = request("/small-stream", NULL, true);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct answer a;
	int first = 0;
	size_t padded;

	cr_assert(eq(int, poll(&p, 1, 5000), 1));
	cr_assert(eq(int, ioctl(fd, FIONREAD, &first), 0));
	answer(fd, &a);
	cr_assert(eq(sz, a.records, 1), "head and body in one record");
	cr_assert(memmem(a.out, a.len, "\r\n\r\n012345678901234567890123456789", 34) != NULL);
	padded = (a.len + 7) / 8 * 8;
	/* the record, the empty one that ends stdout, FCGI_END_REQUEST: all there at once */
	cr_assert(eq(sz, (size_t)first, 8 + padded + 8 + 16), "the answer came in pieces");
	free(a.out);
	close(fd);
}

Test(fcgi, a_request_read_to_its_end_is_closed_at_once)
{
	int fd = request("/small", NULL, true);
	struct answer a;

	answer(fd, &a);
	cr_assert(memmem(a.out, a.len, "ok", 2) != NULL);
	cr_assert(program_closed(fd), "the program lingers on a request it read whole");
	free(a.out);
	close(fd);
}

Test(fcgi, a_request_with_unread_body_gets_a_lingering_close)
{
	int fd = request("/ignore", "10", false);
	struct answer a;

	answer(fd, &a);
	cr_assert(memmem(a.out, a.len, "ok", 2) != NULL);
	cr_assert(not(program_closed(fd)), "the body still coming is read and dropped");
	free(a.out);
	close(fd);
}

/* What /length answered: its status line's code and its body. */
static int length_answer(const char *content_length, const char *te, char *body, size_t n)
{
	int fd = request_te("/length", content_length, te, true);
	struct answer a;
	const char *b;
	int status;

	answer(fd, &a);
	close(fd);
	a.out = realloc(a.out, a.len + 1);
	a.out[a.len] = '\0';
	status = (int)strtol(a.out + strlen("Status: "), NULL, 10);
	b = strstr(a.out, "\r\n\r\n");
	snprintf(body, n, "%s", b ? b + 4 : "");
	free(a.out);
	return status;
}

Test(fcgi, the_body_length_comes_from_content_length)
{
	char body[512];

	cr_assert(eq(int, length_answer("12", NULL, body, sizeof(body)), 200));
	cr_assert(eq(str, body, "length 12"));
	cr_assert(eq(int, length_answer(NULL, NULL, body, sizeof(body)), 200));
	cr_assert(eq(str, body, "length 0"), "no CONTENT_LENGTH, no body");
	cr_assert(eq(int, length_answer("12", "chunked", body, sizeof(body)), 200),
		  "a chunked body the server counted (lighttpd)");
	cr_assert(eq(str, body, "length 12"));
	cr_assert(eq(int, length_answer("12x", NULL, body, sizeof(body)), 400));
	cr_assert(strstr(body, "\"Content-Length\"") != NULL, "%s", body);
	cr_assert(eq(int, length_answer("-1", NULL, body, sizeof(body)), 400));
}

Test(fcgi, a_chunked_body_without_a_length_is_refused_not_taken_for_none)
{
	char body[512];

	cr_assert(eq(int, length_answer(NULL, "chunked", body, sizeof(body)), 400));
	cr_assert(strstr(body, "CONTENT_LENGTH") != NULL, "%s", body);
	cr_assert(strstr(body, "proxy-sendcl") != NULL, "%s", body);
}

/* The id of the pool thread that served one call of /thread. */
static long thread_of_call(void)
{
	int fd = request("/thread", NULL, true);
	struct answer a;
	long id;

	answer(fd, &a);
	a.out = realloc(a.out, a.len + 1);
	a.out[a.len] = '\0';
	id = strtol(strstr(a.out, "\r\n\r\n") + 4, NULL, 10);
	free(a.out);
	close(fd);
	return id;
}

/* Lets every pool thread start: the first few go to accept(), the rest wait their turn. */
static void settle(void)
{
	(void)thread_of_call();
	usleep(200000);
}

Test(fcgi_pool, calls_past_the_threads_in_accept_are_taken_by_idle_threads)
{
	int fd[TOGETHER];

	settle();
	for (int i = 0; i < TOGETHER; i++)
		fd[i] = request("/together", NULL, true);
	for (int i = 0; i < TOGETHER; i++) {
		struct answer a;

		answer(fd[i], &a);
		cr_assert(memmem(a.out, a.len, "all", 3) != NULL, "call %d did not meet the %d others",
			  i, TOGETHER - 1);
		free(a.out);
		close(fd[i]);
	}
}

Test(fcgi_pool, one_call_at_a_time_is_served_by_a_few_threads_not_round_the_pool)
{
	long seen[POOL_THREADS] = {0};
	int distinct = 0;

	settle();
	for (int i = 0; i < 3 * POOL_THREADS; i++) {
		long id = thread_of_call();
		bool known = false;

		for (int k = 0; k < distinct; k++)
			known |= seen[k] == id;
		if (!known && distinct < POOL_THREADS)
			seen[distinct++] = id;
	}
	cr_assert(le(int, distinct, 4), "%d of %d threads took %d calls made one after another",
		  distinct, POOL_THREADS, 3 * POOL_THREADS);
	cr_assert(ge(int, distinct, 1));
}
