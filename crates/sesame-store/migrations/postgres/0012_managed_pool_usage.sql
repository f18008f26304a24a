-- Managed dedicated IP pools (spec F-37..F-48, SH-4; DECISIONS Q-133): recipients per scope,
-- pool, source address ('' = the shared pool: spillover, or a pool without IPs), ISP label
-- (SH-5) and hour (hours since the Unix epoch). `sent` of a pool IP is charged against its
-- per-ISP rolling 24-hour allowance by a conditional upsert (add_pool_usage), so nodes sharing
-- the database never together exceed it; `delivered` and `throttled` feed the adaptive
-- warm-up, `deferred` counts recipients held back for lack of capacity. Rows older than nine
-- days are pruned by the managed-pool job. Key columns are COLLATE "C", as in 0001.
CREATE TABLE managed_pool_usage (
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    pool        TEXT COLLATE "C" NOT NULL,
    isp         TEXT COLLATE "C" NOT NULL,
    hour        BIGINT NOT NULL,
    ip          TEXT COLLATE "C" NOT NULL,
    sent        BIGINT NOT NULL,
    delivered   BIGINT NOT NULL,
    throttled   BIGINT NOT NULL,
    deferred    BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, pool, isp, hour, ip)
);
CREATE INDEX managed_pool_usage_hour ON managed_pool_usage (hour);
