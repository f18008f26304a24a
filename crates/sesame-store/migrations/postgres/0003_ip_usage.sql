-- Dedicated IP warm-up (spec F-20, SH-4; DECISIONS Q-132): messages sent per scope, source
-- address and UTC day (days since the Unix epoch). add_ip_sends checks the day's cap and
-- increments in one upsert, so nodes sharing the database never together exceed it. Rows a
-- week older than the day being written are pruned when a (scope, ip) starts a new day.
-- Key columns are COLLATE "C", as in 0001.
CREATE TABLE ip_usage (
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    ip          TEXT COLLATE "C" NOT NULL,
    day         BIGINT NOT NULL,
    sent        BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, ip, day)
);
