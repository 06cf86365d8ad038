-- 004: MCP sessions (POST /api/v1/mcp, Streamable HTTP). A session is made by initialize and
-- named by the Mcp-Session-Id header after it; it belongs to the sk- credential that made it
-- (another credential naming it finds nothing) and ends with DELETE, a day unused, or its
-- credential (revoked: its requests are 401; deleted: the rows go). Rows of ended sessions
-- go at the next initialize of any key.
CREATE TABLE mcp_sessions (
	id TEXT PRIMARY KEY,                 -- 32 random hex digits
	credential_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
	protocol_version TEXT NOT NULL,      -- as agreed at initialize
	created_at INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL
);
CREATE INDEX mcp_sessions_credential ON mcp_sessions(credential_id, last_used_at);
