/* sse-clients: how many Server-Sent Events streams one berth instance holds at once. Opens N
 * streams to one URL with libcurl's multi interface, counts those established (a 200 status
 * line) and those that delivered their first event (a blank line ends it), keeps them all open
 * for HOLD_MS so a sampler can read the servers' memory at the peak, then closes them.
 * usage: sse-clients URL N TIMEOUT_MS HOLD_MS [HEADER...]
 * prints one line: streams=N established=E first_event=F failed=X ms_to_last_event=T
 * status_other=S first_error="..." */
#include <curl/curl.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define STREAMS_MAX 100000
#define ADD_PER_ROUND 100 /* new connections per loop round: a burst, not one SYN flood */
#define POLL_MS 50

struct stream {
	CURL *h;
	long status;
	bool established;
	bool first_event;
	bool done;
	char prev; /* the last body byte seen, to find "\n\n" across reads */
};

struct tally {
	long established, first_event, failed, status_other;
	long long last_event_ms;
	char first_error[CURL_ERROR_SIZE];
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long start_ms;
static struct tally tally;

/* The status line gives the status; later header lines are ignored. */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t len = size * n;
	const char *sp = len > 9 && strncmp(data, "HTTP/", 5) == 0 ? memchr(data, ' ', len) : NULL;

	if (sp) {
		s->status = strtol(sp + 1, NULL, 10);
		if (s->status == 200 && !s->established) {
			s->established = true;
			tally.established++;
		} else if (s->status != 200) {
			tally.status_other++;
		}
	}
	return len;
}

/* The first event is complete at its first empty line. */
static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t len = size * n;

	for (size_t i = 0; i < len && !s->first_event && s->established; i++) {
		if (data[i] == '\n' && s->prev == '\n') {
			s->first_event = true;
			tally.first_event++;
			tally.last_event_ms = now_ms() - start_ms;
		}
		if (data[i] != '\r')
			s->prev = data[i];
	}
	return len;
}

static int stream_init(struct stream *s, const char *url, struct curl_slist *headers)
{
	s->h = curl_easy_init();
	if (!s->h)
		return -1;
	curl_easy_setopt(s->h, CURLOPT_URL, url);
	curl_easy_setopt(s->h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(s->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->h, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->h, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->h, CURLOPT_PRIVATE, s);
	curl_easy_setopt(s->h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->h, CURLOPT_FORBID_REUSE, 1L);
	return 0;
}

/* Collects the streams that ended: an early end before the first event is a failure. */
static void reap(CURLM *m)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(m, &left))) {
		struct stream *s = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		s->done = true;
		if (s->first_event)
			continue;
		tally.failed++;
		if (!tally.first_error[0])
			snprintf(tally.first_error, sizeof(tally.first_error), "%s (status %ld)",
				 curl_easy_strerror(msg->data.result), s->status);
	}
}

/* Drives the transfers until deadline; stops early when want streams delivered an event or
 * ended (want < 0: run to the deadline). */
static void drive(CURLM *m, struct stream *s, long n, long *added, long long deadline, long want)
{
	int running = 1;

	while (now_ms() < deadline) {
		for (long k = 0; k < ADD_PER_ROUND && *added < n; k++)
			curl_multi_add_handle(m, s[(*added)++].h);
		curl_multi_perform(m, &running);
		reap(m);
		if (want >= 0 && *added == n && tally.first_event + tally.failed >= want)
			return;
		curl_multi_poll(m, NULL, 0, POLL_MS, NULL);
	}
}

static void raise_fd_limit(long n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)n + 64) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Opens, drives, reports and closes n streams; 0, or 1 when libcurl cannot start. */
static int run(const char *url, long n, long long timeout_ms, long long hold_ms,
	       struct curl_slist *headers)
{
	struct stream *s = calloc((size_t)n, sizeof(*s));
	CURLM *m = curl_multi_init();
	long added = 0;
	int rc = 1;

	if (!s || !m)
		goto out;
	for (long i = 0; i < n; i++)
		if (stream_init(&s[i], url, headers))
			goto out;
	start_ms = now_ms();
	drive(m, s, n, &added, start_ms + timeout_ms, n);
	drive(m, s, n, &added, now_ms() + hold_ms, -1);
	printf("streams=%ld established=%ld first_event=%ld failed=%ld ms_to_last_event=%lld "
	       "status_other=%ld first_error=\"%s\"\n", n, tally.established, tally.first_event,
	       tally.failed, tally.last_event_ms, tally.status_other, tally.first_error);
	rc = 0;
out:
	for (long i = 0; s && i < n; i++) {
		if (m && s[i].h)
			curl_multi_remove_handle(m, s[i].h);
		curl_easy_cleanup(s[i].h);
	}
	free(s);
	curl_multi_cleanup(m);
	return rc;
}

int main(int argc, char **argv)
{
	struct curl_slist *headers = NULL;
	long n;
	long long timeout_ms, hold_ms;
	int rc;

	if (argc < 5) {
		fprintf(stderr, "usage: sse-clients URL N TIMEOUT_MS HOLD_MS [HEADER...]\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	timeout_ms = strtoll(argv[3], NULL, 10);
	hold_ms = strtoll(argv[4], NULL, 10);
	if (n < 1 || n > STREAMS_MAX || timeout_ms < 1 || hold_ms < 0) {
		fprintf(stderr, "sse-clients: N is 1-%d, TIMEOUT_MS > 0, HOLD_MS >= 0\n", STREAMS_MAX);
		return 2;
	}
	raise_fd_limit(n);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	for (int i = 5; i < argc; i++)
		headers = curl_slist_append(headers, argv[i]);
	rc = run(argv[1], n, timeout_ms, hold_ms, headers);
	curl_slist_free_all(headers);
	curl_global_cleanup();
	return rc;
}
