-- Dedicated IP warm-up (spec F-20, SH-4; DECISIONS Q-132): messages sent per scope, source
-- address and UTC day (days since the Unix epoch). add_ip_sends checks the day's cap and
-- increments in one upsert, so nodes sharing the database never together exceed it. Rows a
-- week older than the day being written are pruned when a (scope, ip) starts a new day.
CREATE TABLE ip_usage (
    account_id  TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    ip          TEXT    NOT NULL,
    day         INTEGER NOT NULL,
    sent        INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, ip, day)
);
