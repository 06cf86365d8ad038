/* crypto.h: the few primitives berth needs from libsodium, with berth's encodings: SHA-256 as
 * lowercase hex, random API keys, argon2id password hashes, constant-time comparison.
 * Key storage policy (what is hashed, what is kept) belongs to auth.c. */
#ifndef BERTH_CRYPTO_H
#define BERTH_CRYPTO_H

#include "berth.h"

#define SHA256_HEX_LEN 64
#define PASSWORD_HASH_MAX 128

/* Must run once before any other call; returns B_EINTERNAL if libsodium cannot start. */
int crypto_init(void) B_MUST_CHECK;
void crypto_sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1]);
/* out gets prefix ("sk-") followed by KEY_RANDOM_LEN base62 characters and a NUL. */
void crypto_random_key(const char *prefix, char *out, size_t outlen);
/* n random bytes, as 2n lowercase hex digits plus NUL into out. */
void crypto_random_hex(size_t n, char *out);
/* argon2id (libsodium's "interactive" cost) into out[PASSWORD_HASH_MAX]. */
int crypto_password_hash(const char *password, char out[PASSWORD_HASH_MAX]) B_MUST_CHECK;
bool crypto_password_verify(const char *hash, const char *password);
/* Constant-time equality of two NUL-terminated strings of the same expected length;
 * a length difference is answered without looking at the bytes. */
bool crypto_str_equal(const char *a, const char *b);

#endif
