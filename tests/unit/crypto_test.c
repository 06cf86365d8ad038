/* crypto_test.c: SHA-256 hex, random keys and hex, argon2id password hashes, constant-time
 * string comparison. */
#include "berth.h"
#include "crypto.h"
#include "berth_limits.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <string.h>

static void setup(void)
{
	cr_assert(eq(int, crypto_init(), B_OK));
}

TestSuite(crypto, .init = setup);

static bool base62(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
			return false;
	return true;
}

Test(crypto, sha256_of_abc_matches_fips_vector)
{
	char out[SHA256_HEX_LEN + 1];

	crypto_sha256_hex("abc", 3, out);
	cr_assert(eq(str, out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

Test(crypto, sha256_of_empty_input_matches_known_vector)
{
	char out[SHA256_HEX_LEN + 1];

	crypto_sha256_hex("", 0, out);
	cr_assert(eq(str, out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

Test(crypto, sha256_covers_bytes_after_nul)
{
	char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];

	crypto_sha256_hex("a\0b", 3, a);
	crypto_sha256_hex("a\0c", 3, b);
	cr_assert(ne(str, a, b));
	cr_assert(eq(sz, strlen(a), (size_t)SHA256_HEX_LEN));
}

Test(crypto, random_key_has_prefix_length_and_base62_body)
{
	char key[KEY_MAX + 1];

	crypto_random_key("sk-", key, sizeof(key));
	cr_assert(eq(sz, strlen(key), (size_t)KEY_MAX));
	cr_assert(eq(int, strncmp(key, "sk-", 3), 0), "key %s", key);
	cr_assert(base62(key + 3), "key %s has a non-base62 character", key);
}

Test(crypto, two_random_keys_differ)
{
	char a[KEY_MAX + 1], b[KEY_MAX + 1];

	crypto_random_key("ak-", a, sizeof(a));
	crypto_random_key("ak-", b, sizeof(b));
	cr_assert(ne(str, a, b));
}

Test(crypto, random_key_into_too_small_buffer_is_empty)
{
	char key[KEY_MAX + 1];

	memset(key, 'x', sizeof(key));
	crypto_random_key("sk-", key, KEY_MAX);
	cr_assert(eq(str, key, ""));
}

Test(crypto, random_hex_gives_two_digits_per_byte)
{
	char out[2 * JWT_SECRET_LEN + 1];

	crypto_random_hex(JWT_SECRET_LEN, out);
	cr_assert(eq(sz, strlen(out), (size_t)(2 * JWT_SECRET_LEN)));
	cr_assert(eq(sz, strspn(out, "0123456789abcdef"), (size_t)(2 * JWT_SECRET_LEN)), "%s", out);
}

Test(crypto, password_hash_verifies_right_password_only)
{
	char hash[PASSWORD_HASH_MAX];

	cr_assert(eq(int, crypto_password_hash("correct horse", hash), B_OK));
	cr_assert(eq(int, strncmp(hash, "$argon2id$", 10), 0), "hash %s", hash);
	cr_assert(crypto_password_verify(hash, "correct horse"));
	cr_assert(not(crypto_password_verify(hash, "correct horsE")));
	cr_assert(not(crypto_password_verify(hash, "correct hors")));
	cr_assert(not(crypto_password_verify(hash, "")));
}

Test(crypto, same_password_hashes_differently_each_time)
{
	char a[PASSWORD_HASH_MAX], b[PASSWORD_HASH_MAX];

	cr_assert(eq(int, crypto_password_hash("password1", a), B_OK));
	cr_assert(eq(int, crypto_password_hash("password1", b), B_OK));
	cr_assert(ne(str, a, b), "salted");
}

Test(crypto, password_verify_rejects_garbage_hash)
{
	cr_assert(not(crypto_password_verify("not a hash", "password1")));
	cr_assert(not(crypto_password_verify("", "password1")));
}

Test(crypto, str_equal_on_equal_strings)
{
	cr_assert(crypto_str_equal("abcdef", "abcdef"));
}

Test(crypto, str_equal_on_different_strings_of_same_length)
{
	cr_assert(not(crypto_str_equal("abcdef", "abcdeg")));
	cr_assert(not(crypto_str_equal("xbcdef", "abcdef")));
}

Test(crypto, str_equal_on_different_lengths)
{
	cr_assert(not(crypto_str_equal("abc", "abcd")));
	cr_assert(not(crypto_str_equal("abcd", "abc")));
	cr_assert(not(crypto_str_equal("", "a")));
}

Test(crypto, str_equal_on_empty_strings)
{
	cr_assert(crypto_str_equal("", ""));
}
