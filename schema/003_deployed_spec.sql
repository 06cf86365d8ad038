-- 003: what a deploy runs, and whether an agent can run anything.
-- A definition changed by PUT takes effect on the next deploy (API.md): the scheduler works
-- from the copy taken at deploy time, not from the live row.
ALTER TABLE container_services ADD COLUMN deployed_spec TEXT;
-- An agent without a reachable Docker engine stays online but gets no replicas.
ALTER TABLE agents ADD COLUMN runtime_ok INTEGER NOT NULL DEFAULT 1;
ALTER TABLE agents ADD COLUMN runtime_detail TEXT NOT NULL DEFAULT '';
