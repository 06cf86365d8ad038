/* err.h: the error record a lib/ call fills for the API caller (status, error_code, field,
 * message). Rendering it as the API.md envelope is http.c's job, not this module's. */
#ifndef BERTH_ERR_H
#define BERTH_ERR_H

#include "berth.h"

#define ERR_FIELD_MAX 128
#define ERR_MESSAGE_MAX 512

struct berr {
	int status;                     /* HTTP status; 0 while nothing went wrong */
	const char *code;               /* stable word: "validation_failed", "not_found", ... */
	char field[ERR_FIELD_MAX];      /* offending input, "" when there is none */
	char message[ERR_MESSAGE_MAX];  /* for a human; never holds a secret */
};

/* Fill *e and return rc, so that `return berr_set(e, ...)` reads naturally.
 * e may be NULL when the caller has nobody to tell. */
int berr_set(struct berr *e, int rc, const char *field, const char *fmt, ...) B_PRINTF(4, 5);

/* The HTTP status and error_code that belong to an enum berth_rc. */
int berr_status(int rc);
const char *berr_code(int rc);

#endif
