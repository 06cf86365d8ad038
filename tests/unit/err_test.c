/* err_test.c: the error record: status and error_code per enum berth_rc, field, message,
 * truncation, and a NULL record. */
#include "berth.h"
#include "err.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

static const struct {
	int rc;
	int status;
	const char *code;
} want[] = {
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
};

Test(err, set_fills_status_code_field_message_for_every_rc)
{
	for (size_t i = 0; i < B_ARRAY_LEN(want); i++) {
		struct berr e;

		memset(&e, 0, sizeof(e));
		cr_assert(eq(int, berr_set(&e, want[i].rc, "service_slug", "bad %s %d", "slug", 7),
			     want[i].rc));
		cr_assert(eq(int, e.status, want[i].status), "rc %d", want[i].rc);
		cr_assert(ne(ptr, (void *)e.code, NULL));
		cr_assert(eq(str, (char *)e.code, (char *)want[i].code), "rc %d", want[i].rc);
		cr_assert(eq(str, e.field, "service_slug"));
		cr_assert(eq(str, e.message, "bad slug 7"));
	}
}

Test(err, status_and_code_lookups_agree_with_table)
{
	for (size_t i = 0; i < B_ARRAY_LEN(want); i++) {
		cr_assert(eq(int, berr_status(want[i].rc), want[i].status), "rc %d", want[i].rc);
		cr_assert(eq(str, (char *)berr_code(want[i].rc), (char *)want[i].code), "rc %d",
			  want[i].rc);
	}
}

Test(err, unknown_rc_is_internal_error)
{
	cr_assert(eq(int, berr_status(-99), 500));
	cr_assert(eq(str, (char *)berr_code(-99), "internal_error"));
}

Test(err, null_record_returns_rc)
{
	cr_assert(eq(int, berr_set(NULL, B_ENOTFOUND, "x", "no %s", "x"), B_ENOTFOUND));
	cr_assert(eq(int, berr_set(NULL, B_EINVAL, NULL, "m"), B_EINVAL));
}

Test(err, null_field_becomes_empty)
{
	struct berr e;

	memset(&e, 'x', sizeof(e));
	berr_set(&e, B_EAUTH, NULL, "who are you");
	cr_assert(eq(str, e.field, ""));
	cr_assert(eq(str, e.message, "who are you"));
}

Test(err, message_of_exactly_max_minus_one_is_kept_whole)
{
	struct berr e;
	char msg[ERR_MESSAGE_MAX];

	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	berr_set(&e, B_EINVAL, "", "%s", msg);
	cr_assert(eq(str, e.message, msg));
}

Test(err, long_message_is_cut_not_overflowed)
{
	struct berr e;
	char msg[ERR_MESSAGE_MAX * 3];

	memset(msg, 'L', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	memset(&e, 0, sizeof(e));
	cr_assert(eq(int, berr_set(&e, B_EINVAL, "f", "%s", msg), B_EINVAL));
	cr_assert(eq(sz, strlen(e.message), (size_t)ERR_MESSAGE_MAX - 1));
	cr_assert(eq(int, strncmp(e.message, msg, ERR_MESSAGE_MAX - 1), 0));
	cr_assert(eq(int, e.status, 400));
	cr_assert(eq(str, e.field, "f"));
}

Test(err, long_field_is_cut_not_overflowed)
{
	struct berr e;
	char field[ERR_FIELD_MAX * 2];

	memset(field, 'F', sizeof(field) - 1);
	field[sizeof(field) - 1] = '\0';
	memset(&e, 0, sizeof(e));
	berr_set(&e, B_EINVAL, field, "m");
	cr_assert(eq(sz, strlen(e.field), (size_t)ERR_FIELD_MAX - 1));
	cr_assert(eq(str, e.message, "m"), "the message after the field is intact");
}

Test(err, second_set_replaces_the_first)
{
	struct berr e;

	berr_set(&e, B_EINVAL, "a", "first");
	berr_set(&e, B_ECONFLICT, NULL, "second");
	cr_assert(eq(int, e.status, 409));
	cr_assert(eq(str, e.field, ""));
	cr_assert(eq(str, e.message, "second"));
}
