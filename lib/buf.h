/* buf.h: a growable byte buffer with a maximum size set at creation (curl's dynbuf, git's
 * strbuf). It always keeps a NUL after the data; it does not know about encodings. */
#ifndef BERTH_BUF_H
#define BERTH_BUF_H

#include "berth.h"

#include <stdarg.h>

struct buf {
	char *p;        /* NUL-terminated data, NULL until the first add */
	size_t len;
	size_t cap;
	size_t max;     /* adds that would grow len past this fail with B_ETOOBIG */
};

void buf_init(struct buf *b, size_t max);
/* Frees the data and leaves b empty and reusable. */
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
int buf_add(struct buf *b, const void *data, size_t len) B_MUST_CHECK;
int buf_addstr(struct buf *b, const char *s) B_MUST_CHECK;
int buf_addf(struct buf *b, const char *fmt, ...) B_PRINTF(2, 3) B_MUST_CHECK;
int buf_vaddf(struct buf *b, const char *fmt, va_list ap) B_MUST_CHECK;
/* The data, or "" for a buffer never added to. Owned by b. */
const char *buf_str(const struct buf *b);
/* Hands the data to the caller, who frees it with free(); b is left empty. */
char *buf_detach(struct buf *b);

#endif
