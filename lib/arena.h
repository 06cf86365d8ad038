/* arena.h: the per-request allocator. Everything a request allocates comes from its arena and
 * goes in one arena_reset() at the end, cleanups (cJSON_Delete, sqlite3_free, ...) included.
 * Built with -DBERTH_ASAN it makes one malloc per allocation so ASan sees every overflow. */
#ifndef BERTH_ARENA_H
#define BERTH_ARENA_H

#include "berth.h"

struct arena_chunk;
struct arena_cleanup;

struct arena {
	struct arena_chunk *chunks;
	struct arena_cleanup *cleanups;
};

void arena_init(struct arena *a);
/* Runs the cleanups (last registered first) and frees every allocation; a stays usable. */
void arena_reset(struct arena *a);
/* Zeroed memory aligned for any type; never NULL (out of memory aborts). */
void *arena_alloc(struct arena *a, size_t n);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) B_PRINTF(2, 3);
/* fn(p) runs at the next arena_reset(). */
void arena_defer(struct arena *a, void (*fn)(void *), void *p);

#endif
