#include "berth.h"
#include "vault.h"
#include "clock.h"
#include "json.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

_Static_assert(VAULT_KEY_LEN == crypto_secretbox_KEYBYTES, "the vault key is a secretbox key");

/* A plaintext is "<team_id>/<id>" followed by the value: secretbox has no associated data, so
 * the row's identity travels inside the box and is checked on opening. */
#define VAULT_BIND_LEN (2 * UUID_STR_LEN + 1)
#define VAULT_PLAIN_MAX (VAULT_BIND_LEN + VAULT_SECRET_MAX)
#define VAULT_CIPHER_MAX (crypto_secretbox_MACBYTES + VAULT_PLAIN_MAX)
#define VAULT_KEY_HEX ((size_t)2 * VAULT_KEY_LEN)

int vault_key_load(struct vault_key *k, const char *path, struct berr *e)
{
	char hex[VAULT_KEY_HEX + 4];
	const char *end = NULL;
	size_t n, got = 0;
	FILE *f = fopen(path, "r");
	int rc = B_OK;

	if (!f)
		return berr_set(e, B_EIO, "", "cannot read the vault key %s: %s (berthctl init makes it)",
				path, strerror(errno));
	n = fread(hex, 1, sizeof(hex), f);
	fclose(f);
	if (n && hex[n - 1] == '\n')
		n--;
	if (n != VAULT_KEY_HEX ||
	    sodium_hex2bin(k->bytes, sizeof(k->bytes), hex, n, NULL, &got, &end) != 0 ||
	    got != VAULT_KEY_LEN || end != hex + n)
		rc = berr_set(e, B_EIO, "", "the vault key %s must hold %d hex digits (%d bytes) and"
			      " a newline, nothing else", path, 2 * VAULT_KEY_LEN, VAULT_KEY_LEN);
	sodium_memzero(hex, sizeof(hex));
	if (rc)
		vault_key_wipe(k);
	return rc;
}

void vault_key_wipe(struct vault_key *k)
{
	sodium_memzero(k->bytes, sizeof(k->bytes));
}

int vault_check_name(const char *name, struct berr *e)
{
	if (!name || !*name)
		return berr_set(e, B_EINVAL, "display_name", "display_name must not be empty");
	if (!json_utf8_valid(name, strlen(name)))
		return berr_set(e, B_EINVAL, "display_name", "display_name must be valid UTF-8");
	if (json_utf8_len(name) > VAULT_NAME_MAX)
		return berr_set(e, B_EINVAL, "display_name", "display_name must be at most %d characters",
				VAULT_NAME_MAX);
	return B_OK;
}

int vault_check_value(const char *value, struct berr *e)
{
	size_t n = value ? strlen(value) : 0;

	if (n == 0)
		return berr_set(e, B_EINVAL, "secret_value", "secret_value must not be empty");
	if (n > VAULT_SECRET_MAX)
		return berr_set(e, B_EINVAL, "secret_value", "secret_value must be at most %d bytes",
				VAULT_SECRET_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return berr_set(e, B_EINVAL, "secret_value", "secret_value must not hold control"
					" characters: it is sent as an HTTP header value");
	}
	return B_OK;
}

int vault_parse_create(const cJSON *body, struct vault_input *in, struct berr *e)
{
	static const char *const fields[] = {"display_name", "secret_value", NULL};
	int rc;

	memset(in, 0, sizeof(*in));
	if ((rc = json_only_keys(body, fields, "", e)) ||
	    (rc = json_get_string(body, "display_name", "display_name", true, 0, SIZE_MAX,
				  &in->display_name, e)) ||
	    (rc = json_get_string(body, "secret_value", "secret_value", true, 0, SIZE_MAX,
				  &in->secret_value, e)) ||
	    (rc = vault_check_name(in->display_name, e)))
		return rc;
	return vault_check_value(in->secret_value, e);
}

void vault_wipe_body(cJSON *body)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "secret_value");

	if (cJSON_IsString(v) && v->valuestring)
		sodium_memzero(v->valuestring, strlen(v->valuestring));
}

static void vault_binding(const char *team_id, const char *id, char out[VAULT_BIND_LEN + 1])
{
	memcpy(out, team_id, UUID_STR_LEN);
	out[UUID_STR_LEN] = '/';
	memcpy(out + UUID_STR_LEN + 1, id, UUID_STR_LEN);
	out[VAULT_BIND_LEN] = '\0';
}

/* Seals binding + value[0..n) under a fresh random nonce into ct
 * (crypto_secretbox_MACBYTES + VAULT_BIND_LEN + n bytes). */
static int vault_seal(const struct vault_key *k, const struct vault_secret *v, const char *value,
		      size_t n, unsigned char nonce[crypto_secretbox_NONCEBYTES],
		      unsigned char ct[VAULT_CIPHER_MAX], struct berr *e)
{
	unsigned char m[VAULT_PLAIN_MAX];
	char bind[VAULT_BIND_LEN + 1];
	int rc;

	vault_binding(v->team_id, v->id, bind);
	memcpy(m, bind, VAULT_BIND_LEN);
	memcpy(m + VAULT_BIND_LEN, value, n);
	randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
	rc = crypto_secretbox_easy(ct, m, VAULT_BIND_LEN + n, nonce, k->bytes);
	sodium_memzero(m, sizeof(m));
	if (rc != 0)
		return berr_set(e, B_EINTERNAL, "", "the secret could not be encrypted");
	return B_OK;
}

static int vault_insert(struct store *s, const struct vault_secret *v, const unsigned char *nonce,
			const unsigned char *ct, size_t ctlen, struct berr *e)
{
	static const char sql[] = "INSERT INTO vault_secrets (id, team_id, display_name, nonce,"
				  " ciphertext, created_at) VALUES (?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st = store_stmt(s, sql, e);

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, v->id);
	store_bind_text(st, 2, v->team_id);
	store_bind_text(st, 3, v->display_name);
	sqlite3_bind_blob(st, 4, nonce, crypto_secretbox_NONCEBYTES, SQLITE_TRANSIENT);
	sqlite3_bind_blob(st, 5, ct, (int)ctlen, SQLITE_TRANSIENT);
	store_bind_int(st, 6, v->created_at);
	return store_exec_stmt(s, st, e);
}

int vault_secret_create(struct store *s, const struct vault_key *k, const char *team_id,
			const char *display_name, const char *value, struct vault_secret *out,
			struct berr *e)
{
	unsigned char nonce[crypto_secretbox_NONCEBYTES], ct[VAULT_CIPHER_MAX];
	size_t n;
	int rc;

	if (!team_id || !uuid_valid(team_id))
		return berr_set(e, B_EINVAL, "team_id", "team_id must be a team id (a UUID)");
	if ((rc = vault_check_name(display_name, e)) || (rc = vault_check_value(value, e)))
		return rc;
	memset(out, 0, sizeof(*out));
	uuid_v7(out->id);
	memcpy(out->team_id, team_id, UUID_STR_LEN + 1);
	snprintf(out->display_name, sizeof(out->display_name), "%s", display_name);
	out->created_at = clock_now();
	n = strlen(value);
	if ((rc = vault_seal(k, out, value, n, nonce, ct, e)))
		return rc;
	return vault_insert(s, out, nonce, ct, crypto_secretbox_MACBYTES + VAULT_BIND_LEN + n, e);
}

/* Columns id, team_id, display_name, created_at of the current row. */
static void vault_row(sqlite3_stmt *st, struct vault_secret *v)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", store_col_text(st, 0));
	snprintf(v->team_id, sizeof(v->team_id), "%s", store_col_text(st, 1));
	snprintf(v->display_name, sizeof(v->display_name), "%s", store_col_text(st, 2));
	v->created_at = sqlite3_column_int64(st, 3);
}

static int vault_count(struct store *s, const char *team_id, long *total, struct berr *e)
{
	static const char sql[] = "SELECT count(*) FROM vault_secrets WHERE team_id = ?";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	rc = store_step(s, st, e);
	*total = rc == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

int vault_secret_list(struct store *s, const char *team_id, long page, long per_page,
		      vault_each_fn fn, void *arg, long *total, struct berr *e)
{
	static const char sql[] = "SELECT id, team_id, display_name, created_at FROM vault_secrets"
				  " WHERE team_id = ? ORDER BY id LIMIT ? OFFSET ?";
	struct vault_secret v;
	sqlite3_stmt *st;
	int rc;

	if (page < 1 || per_page < 1)
		return berr_set(e, B_EINVAL, "", "pages start at 1 and hold at least one item");
	if ((rc = vault_count(s, team_id, total, e)))
		return rc;
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, team_id);
	store_bind_int(st, 2, per_page);
	store_bind_int(st, 3, (int64_t)(page - 1) * per_page);
	while ((rc = store_step(s, st, e)) == SQLITE_ROW) {
		vault_row(st, &v);
		if ((rc = fn(&v, arg)))
			break;
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? B_OK : rc;
}

static int vault_not_found(const char *id, struct berr *e)
{
	return berr_set(e, B_ENOTFOUND, "", "no vault secret %.*s in this team", UUID_STR_LEN + 1,
			id);
}

int vault_secret_get(struct store *s, const char *team_id, const char *id,
		     struct vault_secret *out, struct berr *e)
{
	static const char sql[] = "SELECT id, team_id, display_name, created_at FROM vault_secrets"
				  " WHERE id = ? AND team_id = ?";
	sqlite3_stmt *st;
	int rc;

	if (!uuid_valid(id))
		return vault_not_found(id, e);
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, team_id);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW)
		vault_row(st, out);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return vault_not_found(id, e);
	return rc < 0 ? rc : B_OK;
}

/* 409 naming how many of the team's services use the secret, and one of them: as their
 * external_auth_credential_id, or in what is deployed of them (a PUT changes the definition,
 * not the running deployment, until the next deploy). */
static int vault_in_use(struct store *s, const char *team_id, const char *id, struct berr *e)
{
	static const char sql[] = "SELECT count(*), min(service_slug) FROM container_services"
				  " WHERE team_id = ?2 AND (external_auth_credential_id = ?1 OR"
				  " (service_status IN ('deploying', 'running') AND json_extract("
				  "deployed_spec, '$.external_auth_credential_id') = ?1))";
	sqlite3_stmt *st = store_stmt(s, sql, e);
	long n = 0;
	int rc;

	if (!st)
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, team_id);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW && (n = (long)sqlite3_column_int64(st, 0)) > 0)
		rc = berr_set(e, B_ECONFLICT, "", "the secret is the external_auth_credential_id of %ld"
			      " service%s (%s%s), or of what is deployed of %s; point %s elsewhere"
			      " (and deploy again) or undeploy or delete %s first", n,
			      n == 1 ? "" : "s", store_col_text(st, 1), n == 1 ? "" : ", ...",
			      n == 1 ? "it" : "them", n == 1 ? "it" : "them", n == 1 ? "it" : "them");
	sqlite3_reset(st);
	return rc < 0 ? rc : B_OK;
}

int vault_secret_delete(struct store *s, const char *team_id, const char *id, struct berr *e)
{
	static const char sql[] = "DELETE FROM vault_secrets WHERE id = ? AND team_id = ?";
	sqlite3_stmt *st;
	int rc;

	if (!uuid_valid(id))
		return vault_not_found(id, e);
	if ((rc = vault_in_use(s, team_id, id, e)))
		return rc;
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, team_id);
	if ((rc = store_exec_stmt(s, st, e)))
		return rc;
	return store_changes(s) == 0 ? vault_not_found(id, e) : B_OK;
}

static int vault_unreadable(const char *id, struct berr *e)
{
	return berr_set(e, B_EINTERNAL, "", "vault secret %s does not open: a wrong vault key or a"
			" damaged row", id);
}

/* Opens a row's box and checks that it was sealed for this team and id. */
static int vault_open(const struct vault_key *k, const char *team_id, const char *id,
		      const unsigned char *nonce, size_t nlen, const unsigned char *ct, size_t clen,
		      char out[VAULT_SECRET_MAX + 1], struct berr *e)
{
	unsigned char m[VAULT_PLAIN_MAX];
	char bind[VAULT_BIND_LEN + 1];
	size_t n;
	int rc = B_OK;

	if (!nonce || !ct || nlen != crypto_secretbox_NONCEBYTES ||
	    clen <= crypto_secretbox_MACBYTES + VAULT_BIND_LEN || clen > VAULT_CIPHER_MAX)
		return vault_unreadable(id, e);
	vault_binding(team_id, id, bind);
	n = clen - crypto_secretbox_MACBYTES - VAULT_BIND_LEN;
	if (crypto_secretbox_open_easy(m, ct, clen, nonce, k->bytes) != 0 ||
	    sodium_memcmp(m, bind, VAULT_BIND_LEN) != 0) {
		rc = vault_unreadable(id, e);
	} else {
		memcpy(out, m + VAULT_BIND_LEN, n);
		out[n] = '\0';
	}
	sodium_memzero(m, sizeof(m));
	return rc;
}

int vault_secret_reveal(struct store *s, const struct vault_key *k, const char *team_id,
			const char *id, char out[VAULT_SECRET_MAX + 1], struct berr *e)
{
	static const char sql[] = "SELECT nonce, ciphertext FROM vault_secrets"
				  " WHERE id = ? AND team_id = ?";
	const unsigned char *nonce, *ct;
	sqlite3_stmt *st;
	int rc;

	out[0] = '\0';
	if (!uuid_valid(id) || !uuid_valid(team_id))
		return vault_not_found(id, e);
	if (!(st = store_stmt(s, sql, e)))
		return B_ESTORE;
	store_bind_text(st, 1, id);
	store_bind_text(st, 2, team_id);
	rc = store_step(s, st, e);
	if (rc == SQLITE_ROW) {
		nonce = sqlite3_column_blob(st, 0);
		ct = sqlite3_column_blob(st, 1);
		rc = vault_open(k, team_id, id, nonce, (size_t)sqlite3_column_bytes(st, 0), ct,
				(size_t)sqlite3_column_bytes(st, 1), out, e);
	} else if (rc == SQLITE_DONE) {
		rc = vault_not_found(id, e);
	}
	sqlite3_reset(st);
	return rc;
}
