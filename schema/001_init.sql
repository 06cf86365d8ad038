-- 001: accounts, credentials, service definitions, vault secrets, audit.
-- Times are INTEGER Unix seconds (UTC); ids are UUIDv7 text. JSON columns hold arrays as text.

CREATE TABLE teams (
	id TEXT PRIMARY KEY,
	team_name TEXT NOT NULL UNIQUE,
	created_at INTEGER NOT NULL
);

CREATE TABLE users (
	id TEXT PRIMARY KEY,
	email_address TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT,                 -- argon2id; NULL: cannot log in with a password
	created_at INTEGER NOT NULL
);

CREATE TABLE memberships (
	team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	role TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member', 'viewer')),
	created_at INTEGER NOT NULL,
	PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user ON memberships(user_id);
CREATE UNIQUE INDEX memberships_one_owner ON memberships(team_id) WHERE role = 'owner';

CREATE TABLE credentials (
	id TEXT PRIMARY KEY,
	kind TEXT NOT NULL CHECK (kind IN ('integration', 'device', 'agent')),
	team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
	user_id TEXT REFERENCES users(id) ON DELETE CASCADE,   -- device credentials only
	display_name TEXT NOT NULL,
	key_prefix TEXT NOT NULL,            -- first 12 characters of the raw key
	key_hash TEXT NOT NULL UNIQUE,       -- SHA-256 of the raw key, hex
	created_at INTEGER NOT NULL,
	expires_at INTEGER,                  -- NULL: does not expire
	revoked_at INTEGER,
	last_used_at INTEGER,
	CHECK ((kind = 'device') = (user_id IS NOT NULL))
);
CREATE INDEX credentials_prefix ON credentials(key_prefix);
CREATE INDEX credentials_team ON credentials(team_id, id);

CREATE TABLE refresh_tokens (
	jti TEXT PRIMARY KEY,
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	family_id TEXT NOT NULL,             -- every token rotated from one login
	expires_at INTEGER NOT NULL,
	used_at INTEGER,
	revoked_at INTEGER,
	created_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE vault_secrets (
	id TEXT PRIMARY KEY,
	team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
	display_name TEXT NOT NULL,
	nonce BLOB NOT NULL,
	ciphertext BLOB NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX vault_secrets_team ON vault_secrets(team_id, id);

CREATE TABLE container_services (
	id TEXT PRIMARY KEY,
	team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
	service_slug TEXT NOT NULL,
	display_name TEXT NOT NULL,
	service_desc TEXT NOT NULL DEFAULT '',
	service_type TEXT NOT NULL CHECK (service_type IN ('deployed', 'external')),
	docker_image TEXT,
	external_url TEXT,
	external_auth_credential_id TEXT REFERENCES vault_secrets(id) ON DELETE RESTRICT,
	exposed_port INTEGER NOT NULL,
	health_path TEXT NOT NULL,
	env_config TEXT NOT NULL DEFAULT '[]',
	volume_config TEXT NOT NULL DEFAULT '[]',
	required_labels TEXT NOT NULL DEFAULT '[]',
	gpu_count INTEGER NOT NULL DEFAULT 0,
	replica_count INTEGER NOT NULL DEFAULT 1,
	usage_prompt TEXT NOT NULL DEFAULT '',
	openapi_url TEXT NOT NULL DEFAULT '',
	service_status TEXT NOT NULL CHECK (service_status IN
		('created', 'deploying', 'running', 'stopping', 'stopped', 'failed')),
	status_detail TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	UNIQUE (team_id, service_slug)
);

CREATE TABLE audit_log (
	id TEXT PRIMARY KEY,                 -- UUIDv7: sorts by time
	team_id TEXT,
	actor_kind TEXT NOT NULL,            -- user, integration, device, agent, operator
	actor_id TEXT NOT NULL,              -- user id, credential id, or "berthctl"
	action TEXT NOT NULL,                -- service.create, credential.revoke, ...
	resource_type TEXT NOT NULL,
	resource_id TEXT NOT NULL,
	request_id TEXT NOT NULL DEFAULT '',
	detail TEXT NOT NULL DEFAULT '{}',   -- JSON; never a secret
	created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_team ON audit_log(team_id, id);
