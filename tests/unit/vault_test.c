/* vault_test.c: lib/vault.c against a real temporary SQLite file and key file: the key file
 * rules, secretbox round trips, what the stored row holds, every way a row must refuse to
 * open (wrong key, tampering, a ciphertext moved to another row or team), metadata, list,
 * delete while referenced, and the name and value limits at their boundaries. */
#include "berth.h"
#include "vault.h"
#include "acct.h"
#include "clock.h"
#include "crypto.h"
#include "json.h"
#include "store.h"
#include "svc.h"
#include "uuid.h"
#include "berth_limits.h"

#include <criterion/criterion.h>
#include <criterion/new/assert.h>

#include <dirent.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define OTHER_KEY_HEX "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define VALUE "Bearer upstream-token-3f9c2a7d"

static char dir[64];
static struct store *st;
static struct vault_key key;
static char team_a[UUID_STR_LEN + 1], team_b[UUID_STR_LEN + 1];

/* ---- fixture ---- */

static void dir_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* Writes text (len bytes) to <dir>/name and returns the path in out. */
static void write_file(const char *name, const char *text, size_t len, char *out, size_t n)
{
	FILE *f;

	dir_path(out, n, name);
	f = fopen(out, "w");
	cr_assert(not(eq(ptr, f, NULL)), "cannot write %s", out);
	cr_assert(eq(sz, fwrite(text, 1, len, f), len));
	fclose(f);
	chmod(out, 0600);
}

static void load_key(const char *hex, struct vault_key *k)
{
	char path[128], text[80];
	struct berr e = {0};

	snprintf(text, sizeof(text), "%s\n", hex);
	write_file("vault.key", text, strlen(text), path, sizeof(path));
	cr_assert(eq(int, vault_key_load(k, path, &e), B_OK), "vault_key_load: %s", e.message);
}

static void setup(void)
{
	char path[128];
	struct berr e = {0};

	cr_assert(eq(int, crypto_init(), B_OK));
	snprintf(dir, sizeof(dir), "/tmp/berth-vault-test-XXXXXX");
	cr_assert(not(eq(ptr, mkdtemp(dir), NULL)), "mkdtemp failed");
	dir_path(path, sizeof(path), "berth.db");
	cr_assert(eq(int, store_open(path, &st, &e), B_OK), "store_open: %s", e.message);
	cr_assert(eq(int, store_migrate(st, &e), B_OK), "store_migrate: %s", e.message);
	cr_assert(eq(int, acct_team_add(st, "team-a", team_a, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, acct_team_add(st, "team-b", team_b, &e), B_OK), "%s", e.message);
	load_key(KEY_HEX, &key);
}

static void teardown(void)
{
	DIR *d;
	struct dirent *de;

	vault_key_wipe(&key);
	if (st)
		store_close(st);
	st = NULL;
	if (!dir[0] || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	(void)rmdir(dir);
}

TestSuite(vault, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static char *sized(const char *unit, size_t count)
{
	size_t ul = strlen(unit);
	char *s = malloc(ul * count + 1);

	cr_assert(not(eq(ptr, s, NULL)));
	for (size_t i = 0; i < count; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * count] = '\0';
	return s;
}

static void create_ok(const char *team, const char *name, const char *value,
		      struct vault_secret *v)
{
	struct berr e = {0};

	cr_assert(eq(int, vault_secret_create(st, &key, team, name, value, v, &e), B_OK),
		  "vault_secret_create: %s", e.message);
}

/* A second connection to the same file, for what lib/ has no call for. */
static sqlite3 *side_db(void)
{
	char path[128];
	sqlite3 *db = NULL;

	dir_path(path, sizeof(path), "berth.db");
	cr_assert(eq(int, sqlite3_open(path, &db), SQLITE_OK));
	sqlite3_busy_timeout(db, 5000);
	return db;
}

struct blobs {
	unsigned char nonce[64], ct[VAULT_SECRET_MAX + 256];
	size_t nlen, clen;
};

static void row_blobs(const char *id, struct blobs *b)
{
	sqlite3 *db = side_db();
	sqlite3_stmt *q = NULL;

	cr_assert(eq(int, sqlite3_prepare_v2(db, "SELECT nonce, ciphertext FROM vault_secrets"
					     " WHERE id = ?", -1, &q, NULL), SQLITE_OK));
	sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
	cr_assert(eq(int, sqlite3_step(q), SQLITE_ROW), "no row %s", id);
	b->nlen = (size_t)sqlite3_column_bytes(q, 0);
	b->clen = (size_t)sqlite3_column_bytes(q, 1);
	cr_assert(b->nlen <= sizeof(b->nonce) && b->clen <= sizeof(b->ct));
	memcpy(b->nonce, sqlite3_column_blob(q, 0), b->nlen);
	memcpy(b->ct, sqlite3_column_blob(q, 1), b->clen);
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static void set_blobs(const char *id, const struct blobs *b)
{
	sqlite3 *db = side_db();
	sqlite3_stmt *q = NULL;

	cr_assert(eq(int, sqlite3_prepare_v2(db, "UPDATE vault_secrets SET nonce = ?, ciphertext = ?"
					     " WHERE id = ?", -1, &q, NULL), SQLITE_OK));
	sqlite3_bind_blob(q, 1, b->nonce, (int)b->nlen, SQLITE_TRANSIENT);
	sqlite3_bind_blob(q, 2, b->ct, (int)b->clen, SQLITE_TRANSIENT);
	sqlite3_bind_text(q, 3, id, -1, SQLITE_TRANSIENT);
	cr_assert(eq(int, sqlite3_step(q), SQLITE_DONE), "%s", sqlite3_errmsg(db));
	cr_assert(eq(int, sqlite3_changes(db), 1));
	sqlite3_finalize(q);
	sqlite3_close(db);
}

static long count_rows(const char *team)
{
	sqlite3 *db = side_db();
	sqlite3_stmt *q = NULL;
	long n;

	cr_assert(eq(int, sqlite3_prepare_v2(db, "SELECT count(*) FROM vault_secrets WHERE"
					     " team_id = ?", -1, &q, NULL), SQLITE_OK));
	sqlite3_bind_text(q, 1, team, -1, SQLITE_TRANSIENT);
	cr_assert(eq(int, sqlite3_step(q), SQLITE_ROW));
	n = (long)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	sqlite3_close(db);
	return n;
}

/* Reveals and expects failure rc; the output buffer must stay empty. */
static void reveal_fails(const struct vault_key *k, const char *team, const char *id, int want)
{
	char out[VAULT_SECRET_MAX + 1];
	struct berr e = {0};

	memset(out, 'x', sizeof(out));
	cr_assert(eq(int, vault_secret_reveal(st, k, team, id, out, &e), want), "%s", e.message);
	cr_assert(eq(chr, out[0], '\0'), "a failed reveal left bytes in out");
	cr_assert(eq(ptr, strstr(e.message, VALUE), NULL));
}

/* ---- the key file ---- */

static int load_text(const char *text, size_t len, struct berr *e)
{
	char path[128];
	struct vault_key k;

	write_file("k.key", text, len, path, sizeof(path));
	return vault_key_load(&k, path, e);
}

static void key_rejected(const char *text)
{
	struct berr e = {0};

	cr_assert(eq(int, load_text(text, strlen(text), &e), B_EIO), "accepted: \"%s\"", text);
	cr_assert(eq(int, e.status, 500));
	cr_assert(not(eq(ptr, strstr(e.message, "64 hex digits"), NULL)), "message: %s", e.message);
	cr_assert(not(eq(ptr, strstr(e.message, "k.key"), NULL)), "no path in: %s", e.message);
}

Test(vault, key_file_of_64_hex_digits_with_or_without_newline_loads)
{
	struct berr e = {0};

	cr_assert(eq(int, load_text(KEY_HEX "\n", strlen(KEY_HEX) + 1, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, load_text(KEY_HEX, strlen(KEY_HEX), &e), B_OK), "%s", e.message);
	cr_assert(eq(int, load_text("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n",
				   65, &e), B_OK), "upper case hex: %s", e.message);
}

Test(vault, missing_key_file_is_a_clear_error_naming_it)
{
	char path[128];
	struct vault_key k;
	struct berr e = {0};

	dir_path(path, sizeof(path), "no-such.key");
	cr_assert(eq(int, vault_key_load(&k, path, &e), B_EIO));
	cr_assert(not(eq(ptr, strstr(e.message, path), NULL)), "message: %s", e.message);
	cr_assert(not(eq(ptr, strstr(e.message, "No such file"), NULL)), "message: %s", e.message);
}

Test(vault, short_long_empty_or_non_hex_key_files_are_clear_errors)
{
	key_rejected("");
	key_rejected("\n");
	key_rejected("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e\n"); /* 31 bytes */
	key_rejected(KEY_HEX "20\n");                                  /* 33 bytes */
	key_rejected("g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
	key_rejected("00 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
	key_rejected(KEY_HEX "\n\n");
	key_rejected(KEY_HEX "\nextra\n");
	key_rejected(KEY_HEX "\r\n");
}

Test(vault, key_file_that_is_a_directory_is_an_error)
{
	struct vault_key k;
	struct berr e = {0};

	cr_assert(eq(int, vault_key_load(&k, dir, &e), B_EIO));
}

/* ---- encryption ---- */

Test(vault, round_trip_gives_the_value_back)
{
	struct vault_secret v;
	char out[VAULT_SECRET_MAX + 1];
	struct berr e = {0};

	create_ok(team_a, "openai", VALUE, &v);
	cr_assert(eq(int, vault_secret_reveal(st, &key, team_a, v.id, out, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(str, out, VALUE));
	sodium_memzero(out, sizeof(out));
}

Test(vault, round_trip_of_the_largest_value_and_of_one_byte)
{
	char *big = sized("\xc3\xa9", VAULT_SECRET_MAX / 2); /* 8192 bytes, 4096 characters */
	static char out[VAULT_SECRET_MAX + 1];
	struct vault_secret v;
	struct berr e = {0};

	cr_assert(eq(sz, strlen(big), (size_t)VAULT_SECRET_MAX));
	create_ok(team_a, "big", big, &v);
	cr_assert(eq(int, vault_secret_reveal(st, &key, team_a, v.id, out, &e), B_OK), "%s",
		  e.message);
	cr_assert(eq(int, strcmp(out, big), 0), "the large value came back different");
	create_ok(team_a, "small", "x", &v);
	cr_assert(eq(int, vault_secret_reveal(st, &key, team_a, v.id, out, &e), B_OK));
	cr_assert(eq(str, out, "x"));
	sodium_memzero(out, sizeof(out));
	free(big);
}

Test(vault, stored_row_holds_no_plaintext)
{
	struct vault_secret v;
	struct blobs b;
	char path[128];
	FILE *f;

	create_ok(team_a, "openai", VALUE, &v);
	row_blobs(v.id, &b);
	cr_assert(eq(sz, b.nlen, (size_t)crypto_secretbox_NONCEBYTES));
	cr_assert(eq(sz, b.clen, crypto_secretbox_MACBYTES + 2 * UUID_STR_LEN + 1 + strlen(VALUE)));
	cr_assert(eq(ptr, memmem(b.ct, b.clen, VALUE, strlen(VALUE)), NULL));
	cr_assert(eq(ptr, memmem(b.ct, b.clen, "upstream-token", 14), NULL));
	cr_assert(eq(ptr, memmem(b.ct, b.clen, team_a, UUID_STR_LEN), NULL));
	/* nor anywhere in the database files */
	for (int i = 0; i < 2; i++) {
		static char data[1 << 20];
		size_t n;

		dir_path(path, sizeof(path), i ? "berth.db-wal" : "berth.db");
		if (!(f = fopen(path, "rb")))
			continue;
		n = fread(data, 1, sizeof(data), f);
		fclose(f);
		cr_assert(eq(ptr, memmem(data, n, VALUE, strlen(VALUE)), NULL), "%s holds it", path);
	}
}

Test(vault, two_encryptions_of_one_value_differ)
{
	struct vault_secret v1, v2;
	struct blobs b1, b2;

	create_ok(team_a, "one", VALUE, &v1);
	create_ok(team_a, "two", VALUE, &v2);
	row_blobs(v1.id, &b1);
	row_blobs(v2.id, &b2);
	cr_assert(not(eq(int, memcmp(b1.nonce, b2.nonce, b1.nlen), 0)), "a nonce was reused");
	cr_assert(eq(sz, b1.clen, b2.clen));
	cr_assert(not(eq(int, memcmp(b1.ct, b2.ct, b1.clen), 0)));
}

Test(vault, tampered_ciphertext_or_nonce_does_not_open)
{
	struct vault_secret v;
	struct blobs b, orig;

	create_ok(team_a, "openai", VALUE, &v);
	row_blobs(v.id, &orig);
	b = orig;
	b.ct[b.clen - 1] ^= 0x01;
	set_blobs(v.id, &b);
	reveal_fails(&key, team_a, v.id, B_EINTERNAL);
	b = orig;
	b.ct[0] ^= 0x80; /* the MAC itself */
	set_blobs(v.id, &b);
	reveal_fails(&key, team_a, v.id, B_EINTERNAL);
	b = orig;
	b.nonce[3] ^= 0x10;
	set_blobs(v.id, &b);
	reveal_fails(&key, team_a, v.id, B_EINTERNAL);
	b = orig;
	b.clen -= 1; /* truncated */
	set_blobs(v.id, &b);
	reveal_fails(&key, team_a, v.id, B_EINTERNAL);
	b = orig;
	b.nlen = 0;
	b.clen = 0;
	set_blobs(v.id, &b);
	reveal_fails(&key, team_a, v.id, B_EINTERNAL);
	set_blobs(v.id, &orig); /* the control: the original still opens */
	{
		char out[VAULT_SECRET_MAX + 1];
		struct berr e = {0};

		cr_assert(eq(int, vault_secret_reveal(st, &key, team_a, v.id, out, &e), B_OK));
		cr_assert(eq(str, out, VALUE));
	}
}

Test(vault, ciphertext_copied_to_another_teams_row_does_not_open)
{
	struct vault_secret a, b;
	struct blobs ba;

	create_ok(team_a, "mine", VALUE, &a);
	create_ok(team_b, "theirs", "something else", &b);
	row_blobs(a.id, &ba);
	set_blobs(b.id, &ba);
	reveal_fails(&key, team_b, b.id, B_EINTERNAL);
}

Test(vault, ciphertext_copied_to_another_row_of_the_same_team_does_not_open)
{
	struct vault_secret a, b;
	struct blobs ba;

	create_ok(team_a, "one", VALUE, &a);
	create_ok(team_a, "two", "other", &b);
	row_blobs(a.id, &ba);
	set_blobs(b.id, &ba);
	reveal_fails(&key, team_a, b.id, B_EINTERNAL);
}

Test(vault, row_moved_to_another_team_does_not_open)
{
	struct vault_secret a;
	sqlite3 *db;
	char sql[256];

	create_ok(team_a, "mine", VALUE, &a);
	db = side_db();
	snprintf(sql, sizeof(sql), "UPDATE vault_secrets SET team_id = '%s' WHERE id = '%s'", team_b,
		 a.id);
	cr_assert(eq(int, sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK));
	sqlite3_close(db);
	reveal_fails(&key, team_b, a.id, B_EINTERNAL);
}

Test(vault, wrong_key_does_not_open)
{
	struct vault_secret v;
	struct vault_key other;

	create_ok(team_a, "openai", VALUE, &v);
	load_key(OTHER_KEY_HEX, &other);
	reveal_fails(&other, team_a, v.id, B_EINTERNAL);
	vault_key_wipe(&other);
}

Test(vault, reveal_of_another_teams_unknown_or_malformed_id_is_not_found)
{
	struct vault_secret v;
	char unknown[UUID_STR_LEN + 1];

	create_ok(team_a, "openai", VALUE, &v);
	uuid_v7(unknown);
	reveal_fails(&key, team_b, v.id, B_ENOTFOUND);
	reveal_fails(&key, team_a, unknown, B_ENOTFOUND);
	reveal_fails(&key, team_a, "not-a-uuid", B_ENOTFOUND);
	reveal_fails(&key, "not-a-team", v.id, B_ENOTFOUND);
}

/* ---- metadata, list, delete ---- */

Test(vault, get_returns_metadata_of_the_teams_own_secret_only)
{
	struct vault_secret v, got;
	char unknown[UUID_STR_LEN + 1];
	struct berr e = {0};
	int64_t now = clock_now();

	create_ok(team_a, "OpenAI prod", VALUE, &v);
	cr_assert(uuid_valid(v.id));
	cr_assert(eq(int, vault_secret_get(st, team_a, v.id, &got, &e), B_OK), "%s", e.message);
	cr_assert(eq(str, got.id, v.id));
	cr_assert(eq(str, got.team_id, team_a));
	cr_assert(eq(str, got.display_name, "OpenAI prod"));
	cr_assert(got.created_at >= now - 5 && got.created_at <= now + 5);
	cr_assert(eq(i64, got.created_at, v.created_at));
	cr_assert(eq(int, vault_secret_get(st, team_b, v.id, &got, &e), B_ENOTFOUND));
	cr_assert(eq(int, e.status, 404));
	uuid_v7(unknown);
	cr_assert(eq(int, vault_secret_get(st, team_a, unknown, &got, &e), B_ENOTFOUND));
	cr_assert(eq(int, vault_secret_get(st, team_a, "../etc", &got, &e), B_ENOTFOUND));
}

struct collected {
	char ids[8][UUID_STR_LEN + 1];
	int n;
};

static int collect(const struct vault_secret *v, void *arg)
{
	struct collected *c = arg;

	cr_assert(c->n < 8);
	memcpy(c->ids[c->n++], v->id, UUID_STR_LEN + 1);
	return B_OK;
}

static void list_page(const char *team, long page, long per, struct collected *c, long *total)
{
	struct berr e = {0};

	memset(c, 0, sizeof(*c));
	cr_assert(eq(int, vault_secret_list(st, team, page, per, collect, c, total, &e), B_OK), "%s",
		  e.message);
}

Test(vault, list_pages_through_the_teams_secrets_in_id_order)
{
	struct vault_secret v[5], other;
	struct collected c;
	long total = -1;

	for (int i = 0; i < 5; i++)
		create_ok(team_a, "s", VALUE, &v[i]);
	create_ok(team_b, "other", VALUE, &other);
	list_page(team_a, 1, 2, &c, &total);
	cr_assert(eq(long, total, 5));
	cr_assert(eq(int, c.n, 2));
	cr_assert(eq(str, c.ids[0], v[0].id));
	cr_assert(eq(str, c.ids[1], v[1].id));
	list_page(team_a, 2, 2, &c, &total);
	cr_assert(eq(int, c.n, 2));
	cr_assert(eq(str, c.ids[0], v[2].id));
	cr_assert(eq(str, c.ids[1], v[3].id));
	list_page(team_a, 3, 2, &c, &total);
	cr_assert(eq(int, c.n, 1));
	cr_assert(eq(str, c.ids[0], v[4].id));
	list_page(team_a, 4, 2, &c, &total);
	cr_assert(eq(int, c.n, 0));
	cr_assert(eq(long, total, 5));
	list_page(team_b, 1, 100, &c, &total);
	cr_assert(eq(long, total, 1));
	cr_assert(eq(int, c.n, 1));
	cr_assert(eq(str, c.ids[0], other.id));
}

Test(vault, list_of_an_empty_team_is_empty)
{
	struct collected c;
	long total = -1;

	list_page(team_b, 1, 20, &c, &total);
	cr_assert(eq(long, total, 0));
	cr_assert(eq(int, c.n, 0));
}

static int stop_early(const struct vault_secret *v, void *arg)
{
	(void)v;
	(*(int *)arg)++;
	return B_EINTERNAL;
}

Test(vault, list_stops_when_the_callback_fails)
{
	struct vault_secret v;
	struct berr e = {0};
	long total;
	int calls = 0;

	create_ok(team_a, "a", VALUE, &v);
	create_ok(team_a, "b", VALUE, &v);
	cr_assert(eq(int, vault_secret_list(st, team_a, 1, 20, stop_early, &calls, &total, &e),
		     B_EINTERNAL));
	cr_assert(eq(int, calls, 1));
}

/* An external service of team naming cred; returns svc_insert's rc. */
static int service_using(const char *team, const char *slug, const char *cred)
{
	char body[512];
	struct berr e = {0};
	struct svc s;
	cJSON *b;
	int rc;

	snprintf(body, sizeof(body), "{\"service_slug\":\"%s\",\"service_type\":\"external\","
		 "\"external_url\":\"https://api.example.com\",\"external_auth_credential_id\":"
		 "\"%s\"}", slug, cred);
	b = cJSON_Parse(body);
	cr_assert(not(eq(ptr, b, NULL)));
	cr_assert(eq(int, svc_parse_create(b, &s, &e), B_OK), "%s", e.message);
	snprintf(s.team_id, sizeof(s.team_id), "%s", team);
	rc = svc_insert(st, &s, &e);
	svc_free(&s);
	cJSON_Delete(b);
	return rc;
}

Test(vault, delete_of_a_referenced_secret_is_a_conflict_naming_the_service)
{
	struct vault_secret v, got;
	struct berr e = {0};
	sqlite3 *db;

	create_ok(team_a, "openai", VALUE, &v);
	cr_assert(eq(int, service_using(team_a, "my-api", v.id), B_OK));
	cr_assert(eq(int, vault_secret_delete(st, team_a, v.id, &e), B_ECONFLICT));
	cr_assert(eq(int, e.status, 409));
	cr_assert(not(eq(ptr, strstr(e.message, "my-api"), NULL)), "message: %s", e.message);
	cr_assert(not(eq(ptr, strstr(e.message, "1 service "), NULL)), "message: %s", e.message);
	cr_assert(eq(int, vault_secret_get(st, team_a, v.id, &got, &e), B_OK), "it was deleted");
	cr_assert(eq(int, service_using(team_a, "my-api-2", v.id), B_OK));
	cr_assert(eq(int, vault_secret_delete(st, team_a, v.id, &e), B_ECONFLICT));
	cr_assert(not(eq(ptr, strstr(e.message, "2 services"), NULL)), "message: %s", e.message);
	db = side_db();
	cr_assert(eq(int, sqlite3_exec(db, "DELETE FROM container_services", NULL, NULL, NULL),
		     SQLITE_OK));
	sqlite3_close(db);
	cr_assert(eq(int, vault_secret_delete(st, team_a, v.id, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, vault_secret_get(st, team_a, v.id, &got, &e), B_ENOTFOUND));
	cr_assert(eq(long, count_rows(team_a), 0));
}

Test(vault, delete_of_another_teams_unknown_or_malformed_id_is_not_found)
{
	struct vault_secret v;
	char unknown[UUID_STR_LEN + 1];
	struct berr e = {0};

	create_ok(team_a, "openai", VALUE, &v);
	uuid_v7(unknown);
	cr_assert(eq(int, vault_secret_delete(st, team_b, v.id, &e), B_ENOTFOUND));
	cr_assert(eq(int, vault_secret_delete(st, team_a, unknown, &e), B_ENOTFOUND));
	cr_assert(eq(int, vault_secret_delete(st, team_a, "x", &e), B_ENOTFOUND));
	cr_assert(eq(long, count_rows(team_a), 1));
	cr_assert(eq(int, vault_secret_delete(st, team_a, v.id, &e), B_OK), "%s", e.message);
	cr_assert(eq(int, vault_secret_delete(st, team_a, v.id, &e), B_ENOTFOUND), "twice");
}

/* ---- limits ---- */

static void create_rejected(const char *name, const char *value, const char *field)
{
	struct vault_secret v;
	struct berr e = {0};

	cr_assert(eq(int, vault_secret_create(st, &key, team_a, name, value, &v, &e), B_EINVAL));
	cr_assert(eq(str, e.field, (char *)field));
	cr_assert(eq(int, e.status, 400));
	if (value && *value)
		cr_assert(eq(ptr, strstr(e.message, value), NULL), "the message echoes the value");
	cr_assert(eq(long, count_rows(team_a), 0), "a rejected secret was stored");
}

Test(vault, display_name_limit_at_the_boundary)
{
	char *max = sized("n", VAULT_NAME_MAX), *over = sized("n", VAULT_NAME_MAX + 1);
	char *wide = sized("\xc3\xa9", VAULT_NAME_MAX), *wide_over = sized("\xc3\xa9", VAULT_NAME_MAX + 1);
	struct vault_secret v, got;
	struct berr e = {0};

	create_rejected(over, VALUE, "display_name");
	create_rejected(wide_over, VALUE, "display_name");
	create_rejected("", VALUE, "display_name");
	create_rejected(NULL, VALUE, "display_name");
	create_rejected("\xc3\x28", VALUE, "display_name");
	create_ok(team_a, max, VALUE, &v);
	cr_assert(eq(int, vault_secret_get(st, team_a, v.id, &got, &e), B_OK));
	cr_assert(eq(str, got.display_name, max));
	create_ok(team_a, wide, VALUE, &v); /* characters, not bytes */
	cr_assert(eq(int, vault_secret_get(st, team_a, v.id, &got, &e), B_OK));
	cr_assert(eq(str, got.display_name, wide));
	free(max);
	free(over);
	free(wide);
	free(wide_over);
}

Test(vault, secret_value_limit_at_the_boundary_in_bytes)
{
	char *max = sized("v", VAULT_SECRET_MAX), *over = sized("v", VAULT_SECRET_MAX + 1);
	char *wide_over = sized("\xc3\xa9", VAULT_SECRET_MAX / 2 + 1);
	struct vault_secret v;

	create_rejected("n", over, "secret_value");
	create_rejected("n", wide_over, "secret_value"); /* 4097 characters, 8194 bytes */
	create_rejected("n", "", "secret_value");
	create_rejected("n", NULL, "secret_value");
	create_ok(team_a, "n", max, &v);
	create_ok(team_a, "n", "1", &v);
	free(max);
	free(over);
	free(wide_over);
}

Test(vault, secret_value_with_control_characters_is_refused_tab_is_fine)
{
	struct vault_secret v;

	create_rejected("n", "Bearer x\r\nX-Evil: 1", "secret_value");
	create_rejected("n", "line\nbreak", "secret_value");
	create_rejected("n", "del\x7f", "secret_value");
	create_rejected("n", "\x01", "secret_value");
	create_ok(team_a, "n", "a\tb", &v);
}

Test(vault, create_refuses_a_team_that_is_not_a_uuid)
{
	struct vault_secret v;
	struct berr e = {0};

	cr_assert(eq(int, vault_secret_create(st, &key, "team-a", "n", VALUE, &v, &e), B_EINVAL));
}

/* ---- the request body ---- */

static int parse(const char *text, struct vault_input *in, struct berr *e, cJSON **keep)
{
	cJSON *b = cJSON_Parse(text);

	cr_assert(not(eq(ptr, b, NULL)), "test body does not parse: %s", text);
	*keep = b;
	return vault_parse_create(b, in, e);
}

static void parse_rejected(const char *text, const char *field)
{
	struct vault_input in;
	struct berr e = {0};
	cJSON *b;

	cr_assert(eq(int, parse(text, &in, &e, &b), B_EINVAL), "accepted: %s", text);
	cr_assert(eq(str, e.field, (char *)field), "body %s: %s", text, e.message);
	cJSON_Delete(b);
}

Test(vault, parse_create_takes_exactly_the_two_fields)
{
	struct vault_input in;
	struct berr e = {0};
	cJSON *b;

	cr_assert(eq(int, parse("{\"display_name\":\"n\",\"secret_value\":\"v\"}", &in, &e, &b),
		     B_OK), "%s", e.message);
	cr_assert(eq(str, (char *)in.display_name, "n"));
	cr_assert(eq(str, (char *)in.secret_value, "v"));
	cJSON_Delete(b);
	parse_rejected("{\"display_name\":\"n\",\"secret_value\":\"v\",\"value\":\"v\"}", "value");
	parse_rejected("{\"secret_value\":\"v\"}", "display_name");
	parse_rejected("{\"display_name\":\"n\"}", "secret_value");
	parse_rejected("{\"display_name\":null,\"secret_value\":\"v\"}", "display_name");
	parse_rejected("{\"display_name\":1,\"secret_value\":\"v\"}", "display_name");
	parse_rejected("{\"display_name\":\"n\",\"secret_value\":42}", "secret_value");
	parse_rejected("{\"display_name\":\"n\",\"secret_value\":[\"v\"]}", "secret_value");
	parse_rejected("{\"display_name\":\"n\",\"secret_value\":\"\"}", "secret_value");
	parse_rejected("{\"display_name\":\"\",\"secret_value\":\"v\"}", "display_name");
}

Test(vault, wipe_body_overwrites_the_value)
{
	cJSON *b = cJSON_Parse("{\"display_name\":\"n\",\"secret_value\":\"" VALUE "\"}");
	const cJSON *v;

	cr_assert(not(eq(ptr, b, NULL)));
	vault_wipe_body(b);
	v = cJSON_GetObjectItemCaseSensitive(b, "secret_value");
	for (size_t i = 0; i < strlen(VALUE); i++)
		cr_assert(eq(chr, v->valuestring[i], '\0'));
	cr_assert(eq(str, cJSON_GetObjectItemCaseSensitive(b, "display_name")->valuestring, "n"));
	vault_wipe_body(NULL);
	cJSON_Delete(b);
}
