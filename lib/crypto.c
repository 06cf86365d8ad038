#include "berth.h"
#include "crypto.h"
#include "berth_limits.h"

#include <sodium.h>
#include <string.h>

int crypto_init(void)
{
	return sodium_init() < 0 ? B_EINTERNAL : B_OK;
}

void crypto_sha256_hex(const void *data, size_t len, char out[SHA256_HEX_LEN + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, SHA256_HEX_LEN + 1, h, sizeof(h));
}

void crypto_random_key(const char *prefix, char *out, size_t outlen)
{
	static const char alphabet[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t plen = strlen(prefix);
	size_t i;

	if (outlen < plen + KEY_RANDOM_LEN + 1) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	memcpy(out, prefix, plen);
	/* uniform: randombytes_uniform avoids the modulo bias of a plain byte % 62 */
	for (i = 0; i < KEY_RANDOM_LEN; i++)
		out[plen + i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
	out[plen + i] = '\0';
}

void crypto_random_hex(size_t n, char *out)
{
	unsigned char b[64];

	if (n > sizeof(b))
		n = sizeof(b);
	randombytes_buf(b, n);
	sodium_bin2hex(out, 2 * n + 1, b, n);
}

int crypto_password_hash(const char *password, char out[PASSWORD_HASH_MAX])
{
	_Static_assert(PASSWORD_HASH_MAX >= crypto_pwhash_STRBYTES, "hash buffer too small");
	if (crypto_pwhash_str_alg(out, password, strlen(password),
				  crypto_pwhash_OPSLIMIT_INTERACTIVE,
				  crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
		return B_EINTERNAL;
	return B_OK;
}

bool crypto_password_verify(const char *hash, const char *password)
{
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

bool crypto_str_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la != lb)
		return false;
	return la == 0 || sodium_memcmp(a, b, la) == 0;
}
