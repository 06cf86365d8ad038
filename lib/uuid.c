#include "berth.h"
#include "uuid.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Randomness is drawn a pool at a time: one getrandom() per 16 ids instead of one per id (a
 * system call costs microseconds on a virtual machine, and every request gets an id). */
#define POOL_LEN 256

static _Thread_local unsigned char pool[POOL_LEN];
static _Thread_local size_t pool_left;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* A forked child has a copy of the calling thread's pool: it must not hand out the same
 * bytes as its parent. */
static void pool_drop(void)
{
	pool_left = 0;
}

static void fork_watch(void)
{
	pthread_atfork(NULL, NULL, pool_drop);
}

static void random_bytes(unsigned char *out, size_t n)
{
	pthread_once(&fork_once, fork_watch);
	if (pool_left < n) {
		randombytes_buf(pool, sizeof(pool));
		pool_left = sizeof(pool);
	}
	memcpy(out, pool + sizeof(pool) - pool_left, n);
	sodium_memzero(pool + sizeof(pool) - pool_left, n);
	pool_left -= n;
}

static uint64_t now_millis(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void uuid_v7(char out[UUID_STR_LEN + 1])
{
	/* The 12-bit rand_a field counts up within one millisecond (RFC 9562 method 1), so ids
	 * made back to back by one process still sort in creation order. */
	static _Thread_local uint64_t last_ms;
	static _Thread_local uint16_t seq;
	unsigned char b[16];
	uint64_t ms = now_millis();

	random_bytes(b, sizeof(b));
	if (ms <= last_ms) {
		ms = last_ms;
		seq++;
		if (seq > 0x0fff) { /* 4096 ids in one millisecond: borrow the next one */
			ms++;
			seq = b[6] & 0x03;
		}
	} else {
		seq = (uint16_t)(((b[6] & 0x03) << 8) | b[7]); /* random start, room to count */
	}
	last_ms = ms;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | ((seq >> 8) & 0x0f));
	b[7] = (unsigned char)(seq & 0xff);
	b[8] = (unsigned char)(0x80 | (b[8] & 0x3f));
	snprintf(out, UUID_STR_LEN + 1,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

bool uuid_valid(const char *s)
{
	if (!s)
		return false;
	for (int i = 0; i < UUID_STR_LEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
			return false;
		}
	}
	return s[UUID_STR_LEN] == '\0';
}

uint64_t uuid_v7_millis(const char *s)
{
	uint64_t ms = 0;
	int digits = 0;

	if (!uuid_valid(s) || s[14] != '7')
		return 0;
	for (int i = 0; digits < 12; i++) {
		char c = s[i];

		if (c == '-')
			continue;
		ms = ms * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
		digits++;
	}
	return ms;
}
