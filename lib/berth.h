/* berth.h: the first include of every berth source file. It owns berth's version, the
 * project-wide error codes, the declaration attributes and the ban on unsafe libc calls;
 * nothing else. */
#ifndef BERTH_H
#define BERTH_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define BERTH_VERSION "0.1.0" /* the agent's, reported to gatewayd, and MCP's serverInfo */

#define B_MUST_CHECK __attribute__((warn_unused_result))
#define B_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define B_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define B_UNUSED __attribute__((unused))

#define B_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Every fallible lib/ call returns B_OK or one of these, and fills a struct berr
 * (err.h) when there is something to tell the caller of the API. */
enum berth_rc {
	B_OK = 0,
	B_EINVAL = -1,     /* bad input: 400 */
	B_EAUTH = -2,      /* no or bad credential: 401 */
	B_EFORBIDDEN = -3, /* not allowed: 403 */
	B_ENOTFOUND = -4,  /* 404 */
	B_ECONFLICT = -5,  /* 409 */
	B_ETOOBIG = -6,    /* a limit was passed: 413 or 400 */
	B_EMEDIA = -7,     /* 415 */
	B_ESTORE = -8,     /* the database failed: 500 */
	B_EIO = -9,        /* a file or socket failed: 500 */
	B_EINTERNAL = -10, /* a bug or an impossible state: 500 */
	B_EUPSTREAM = -11,    /* the container or its agent failed: 502 */
	B_EUNAVAILABLE = -12, /* no healthy replica, agent offline: 503 */
	B_ETIMEOUT = -13,     /* the container did not answer in time: 504 */
};

/* Unsafe string calls fail to compile, as in git's banned.h. */
#define BANNED(f) sorry_##f##_is_banned_in_berth
#undef strcpy
#define strcpy(a, b) BANNED(strcpy)
#undef strcat
#define strcat(a, b) BANNED(strcat)
#undef strncpy
#define strncpy(a, b, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(a) BANNED(gets)
#undef strtok
#define strtok(a, b) BANNED(strtok)

#endif
