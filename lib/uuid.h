/* uuid.h: UUIDv7 ids (RFC 9562: 48-bit Unix milliseconds, then randomness), made and checked
 * as their 36-character text form. Storage and ordering are the store's business. */
#ifndef BERTH_UUID_H
#define BERTH_UUID_H

#include "berth.h"

#define UUID_STR_LEN 36

/* Writes a new id and its NUL into out[UUID_STR_LEN + 1]. Ids from one process sort in the
 * order they were made, also within the same millisecond. */
void uuid_v7(char out[UUID_STR_LEN + 1]);
/* True for the canonical lowercase 8-4-4-4-12 hex form of any UUID version. */
bool uuid_valid(const char *s);
/* The millisecond timestamp of a v7 id; 0 for anything else. */
uint64_t uuid_v7_millis(const char *s);

#endif
