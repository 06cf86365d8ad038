-- 002: agents (GPU hosts that dial the gateway) and the replicas placed on them.
-- gatewayd writes both; the management and discovery programs read them.

CREATE TABLE agents (
	id TEXT PRIMARY KEY,
	team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
	agent_name TEXT NOT NULL,            -- API.md's agent_id: ^[a-z0-9][a-z0-9._-]{0,62}$
	credential_id TEXT REFERENCES credentials(id) ON DELETE SET NULL,
	agent_status TEXT NOT NULL DEFAULT 'offline' CHECK (agent_status IN ('online', 'offline')),
	agent_labels TEXT NOT NULL DEFAULT '[]',
	gpu_capacity INTEGER NOT NULL DEFAULT 0,
	gpu_devices TEXT NOT NULL DEFAULT '[]',
	platform_arch TEXT NOT NULL DEFAULT '',
	agent_version TEXT NOT NULL DEFAULT '',
	connected_at INTEGER,
	last_heartbeat INTEGER,
	created_at INTEGER NOT NULL,
	UNIQUE (team_id, agent_name)
);

CREATE TABLE replicas (
	id TEXT PRIMARY KEY,
	service_id TEXT NOT NULL REFERENCES container_services(id) ON DELETE CASCADE,
	agent_id TEXT REFERENCES agents(id) ON DELETE SET NULL,
	replica_state TEXT NOT NULL CHECK (replica_state IN ('pending', 'pulling', 'starting',
		'healthy', 'unhealthy', 'stopping', 'stopped', 'failed', 'lost')),
	replica_detail TEXT NOT NULL DEFAULT '',
	container_id TEXT,
	host_port INTEGER,
	gpu_ids TEXT NOT NULL DEFAULT '[]',
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE INDEX replicas_service ON replicas(service_id);
CREATE INDEX replicas_agent ON replicas(agent_id);
