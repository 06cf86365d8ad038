#include "berth.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	int rc;
	int status;
	const char *code;
} rc_table[] = {
	{B_EINVAL, 400, "validation_failed"},
	{B_EAUTH, 401, "unauthenticated"},
	{B_EFORBIDDEN, 403, "forbidden"},
	{B_ENOTFOUND, 404, "not_found"},
	{B_ECONFLICT, 409, "conflict"},
	{B_ETOOBIG, 413, "too_large"},
	{B_EMEDIA, 415, "unsupported_media_type"},
	{B_ESTORE, 500, "internal_error"},
	{B_EIO, 500, "internal_error"},
	{B_EINTERNAL, 500, "internal_error"},
	{B_EUPSTREAM, 502, "upstream_failed"},
	{B_EUNAVAILABLE, 503, "no_healthy_replica"},
	{B_ETIMEOUT, 504, "upstream_timeout"},
};

int berr_status(int rc)
{
	for (size_t i = 0; i < B_ARRAY_LEN(rc_table); i++)
		if (rc_table[i].rc == rc)
			return rc_table[i].status;
	return 500;
}

const char *berr_code(int rc)
{
	for (size_t i = 0; i < B_ARRAY_LEN(rc_table); i++)
		if (rc_table[i].rc == rc)
			return rc_table[i].code;
	return "internal_error";
}

int berr_set(struct berr *e, int rc, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return rc;
	e->status = berr_status(rc);
	e->code = berr_code(rc);
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	/* A message cut at ERR_MESSAGE_MAX is still a message: truncation is fine here. */
	if (vsnprintf(e->message, sizeof(e->message), fmt, ap) < 0)
		e->message[0] = '\0';
	va_end(ap);
	return rc;
}
