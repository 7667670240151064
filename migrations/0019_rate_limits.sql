-- 0019: API rate limits (issue 16, point 3). A token bucket per API key and per user
-- signed in with a session: `rate_per_minute` tokens flow in per minute, up to
-- `rate_burst`. NULL inherits: a key's limit from its user's role, a role's from crmd's
-- defaults (--rate-limit, --rate-burst). Set with crmctl role limit / key limit.
ALTER TABLE roles ADD COLUMN rate_per_minute INTEGER CHECK (rate_per_minute > 0);
ALTER TABLE roles ADD COLUMN rate_burst INTEGER CHECK (rate_burst > 0);
ALTER TABLE api_keys ADD COLUMN rate_per_minute INTEGER CHECK (rate_per_minute > 0);
ALTER TABLE api_keys ADD COLUMN rate_burst INTEGER CHECK (rate_burst > 0);
