#include "berth.h"
#include "arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK_SIZE ((size_t)16 * 1024)
#define ARENA_ALIGN 16

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t size;
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct arena_cleanup {
	struct arena_cleanup *next;
	void (*fn)(void *);
	void *p;
};

void arena_init(struct arena *a)
{
	a->chunks = NULL;
	a->cleanups = NULL;
}

static struct arena_chunk *chunk_new(size_t size)
{
	struct arena_chunk *c = malloc(sizeof(*c) + size);

	if (!c)
		abort();
	c->next = NULL;
	c->used = 0;
	c->size = size;
	return c;
}

void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_chunk *c = a->chunks;
	size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);

	if (need == 0)
		need = ARENA_ALIGN;
#ifdef BERTH_ASAN
	(void)need;
	c = chunk_new(n ? n : 1);
	c->next = a->chunks;
	a->chunks = c;
	memset(c->data, 0, n);
	return c->data;
#else
	void *p;

	if (!c || c->size - c->used < need) {
		if (need > ARENA_CHUNK_SIZE / 4) {
			/* A big block gets a chunk of its own behind the current one, so the
			 * current chunk's free tail is not wasted. */
			struct arena_chunk *big = chunk_new(need);

			if (c) {
				big->next = c->next;
				c->next = big;
			} else {
				a->chunks = big;
			}
			memset(big->data, 0, need);
			big->used = need;
			return big->data;
		}
		c = chunk_new(ARENA_CHUNK_SIZE);
		c->next = a->chunks;
		a->chunks = c;
	}
	p = c->data + c->used;
	c->used += need;
	memset(p, 0, need);
	return p;
#endif
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return arena_strdup(a, "");
	p = arena_alloc(a, (size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void arena_defer(struct arena *a, void (*fn)(void *), void *p)
{
	struct arena_cleanup *c = arena_alloc(a, sizeof(*c));

	c->fn = fn;
	c->p = p;
	c->next = a->cleanups;
	a->cleanups = c;
}

void arena_reset(struct arena *a)
{
	struct arena_chunk *c, *next;
	struct arena_cleanup *cl;

	/* Cleanups live in the arena's own memory: run them all before freeing any chunk. */
	for (cl = a->cleanups; cl; cl = cl->next)
		cl->fn(cl->p);
	a->cleanups = NULL;
	for (c = a->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	a->chunks = NULL;
}
