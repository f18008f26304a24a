-- Managed dedicated IP pools (spec F-37..F-48, SH-4; DECISIONS Q-133): recipients per scope,
-- pool, source address ('' = the shared pool: spillover, or a pool without IPs), ISP label
-- (SH-5) and hour (hours since the Unix epoch). `sent` of a pool IP is charged against its
-- per-ISP rolling 24-hour allowance by a conditional upsert (add_pool_usage), so nodes sharing
-- the database never together exceed it; `delivered` and `throttled` feed the adaptive
-- warm-up, `deferred` counts recipients held back for lack of capacity. Rows older than nine
-- days are pruned by the managed-pool job.
CREATE TABLE managed_pool_usage (
    account_id  TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    pool        TEXT    NOT NULL,
    isp         TEXT    NOT NULL,
    hour        INTEGER NOT NULL,
    ip          TEXT    NOT NULL,
    sent        INTEGER NOT NULL,
    delivered   INTEGER NOT NULL,
    throttled   INTEGER NOT NULL,
    deferred    INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, pool, isp, hour, ip)
);
CREATE INDEX managed_pool_usage_hour ON managed_pool_usage (hour);
