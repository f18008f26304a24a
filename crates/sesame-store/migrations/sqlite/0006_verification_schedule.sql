-- DNS verification schedule (spec D-39, D-99; DECISIONS Q-81): one row per identity that has
-- something to check (domain TXT token, DKIM, custom MAIL FROM). `due_at` is when the next check
-- is due; a node claims due rows by setting a lease (`lease_owner`, `lease_until`), so several
-- nodes sharing the database never check the same identity at the same time. A row whose lease
-- has expired (its node died mid-check) is claimable again. Unix milliseconds.
CREATE TABLE verification_schedule (
    account_id   TEXT    NOT NULL,
    region       TEXT    NOT NULL,
    identity     TEXT    NOT NULL,
    due_at       INTEGER NOT NULL,
    lease_owner  TEXT,
    lease_until  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, region, identity)
);
CREATE INDEX verification_schedule_due ON verification_schedule (due_at);
