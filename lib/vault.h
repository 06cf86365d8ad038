/* vault.h: team secrets at rest: the vault key file, libsodium secretbox with a fresh nonce
 * per secret and the ciphertext bound to its row, and the vault_secrets rows. Who may call and
 * the HTTP shape belong to cgi-bin/vault.c. Only vault_secret_reveal ever hands out a value. */
#ifndef BERTH_VAULT_H
#define BERTH_VAULT_H

#include "berth.h"
#include "berth_limits.h"
#include "err.h"
#include "store.h"
#include "uuid.h"

#include <cjson/cJSON.h>

#define VAULT_KEY_LEN 32 /* crypto_secretbox_KEYBYTES */

struct vault_key {
	unsigned char bytes[VAULT_KEY_LEN];
};

/* A secret's metadata: everything but the value. display_name holds up to VAULT_NAME_MAX
 * characters of UTF-8. */
struct vault_secret {
	char id[UUID_STR_LEN + 1];
	char team_id[UUID_STR_LEN + 1];
	char display_name[4 * VAULT_NAME_MAX + 1];
	int64_t created_at;
};

/* What a create body holds; both strings point into the caller's cJSON tree. */
struct vault_input {
	const char *display_name;
	const char *secret_value;
};

/* Reads the key file: 2 * VAULT_KEY_LEN hex digits and an optional newline, nothing else.
 * B_EIO naming the path when the file is missing, unreadable or malformed. */
int vault_key_load(struct vault_key *k, const char *path, struct berr *e) B_MUST_CHECK;
/* Overwrites the key in memory. */
void vault_key_wipe(struct vault_key *k);

/* display_name: 1..VAULT_NAME_MAX characters. */
int vault_check_name(const char *name, struct berr *e) B_MUST_CHECK;
/* secret_value: 1..VAULT_SECRET_MAX bytes with no control characters but tab, because the
 * agent sends it as an HTTP header value (CR/LF would inject headers). Never echoes it. */
int vault_check_value(const char *value, struct berr *e) B_MUST_CHECK;
/* A create body: exactly {display_name, secret_value}, both strings, both checked. */
int vault_parse_create(const cJSON *body, struct vault_input *in, struct berr *e) B_MUST_CHECK;
/* Overwrites secret_value in a parsed body, so the value does not outlive the request in
 * freed memory. */
void vault_wipe_body(cJSON *body);

/* Encrypts value under k with a fresh nonce and inserts it for team_id; out gets the new
 * row's metadata. The caller owns value and wipes it when it wants to. */
int vault_secret_create(struct store *s, const struct vault_key *k, const char *team_id,
			const char *display_name, const char *value, struct vault_secret *out,
			struct berr *e) B_MUST_CHECK;
/* The team's secrets ordered by id, per_page of them starting at page (1-based); fn is
 * called for each; *total gets the team's count. fn returning non-zero stops with that rc. */
typedef int (*vault_each_fn)(const struct vault_secret *v, void *arg);
int vault_secret_list(struct store *s, const char *team_id, long page, long per_page,
		      vault_each_fn fn, void *arg, long *total, struct berr *e) B_MUST_CHECK;
/* One secret's metadata. 404 for an unknown id, another team's id and a non-UUID alike. */
int vault_secret_get(struct store *s, const char *team_id, const char *id,
		     struct vault_secret *out, struct berr *e) B_MUST_CHECK;
/* Deletes a secret: 404 as vault_secret_get, 409 while a service still names it in
 * external_auth_credential_id. */
int vault_secret_delete(struct store *s, const char *team_id, const char *id,
			struct berr *e) B_MUST_CHECK;
/* Decrypts a secret into out (NUL-terminated) for the egress path. 404 as vault_secret_get;
 * B_EINTERNAL when the row does not open under k as this team's secret with this id (wrong
 * key, tampering, a ciphertext copied from another row). The caller wipes out
 * (sodium_memzero) when done. */
int vault_secret_reveal(struct store *s, const struct vault_key *k, const char *team_id,
			const char *id, char out[VAULT_SECRET_MAX + 1], struct berr *e) B_MUST_CHECK;

#endif
