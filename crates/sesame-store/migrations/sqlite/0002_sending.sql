-- The sending path (see sesame_model::mail): queue, events outbox, quota and rate state,
-- GetSendStatistics buckets and the dev inbox. Timestamps are unix milliseconds from Rust.
-- JSON columns are TEXT written by serde_json, read back by Rust; SQL never looks inside.

-- Accepted messages waiting for delivery. A row leaves the queue when the node holding its
-- lease finishes it. lease_owner/lease_until are NULL when nobody holds the message.
CREATE TABLE queue (
    message_id      TEXT    NOT NULL PRIMARY KEY,
    account_id      TEXT    NOT NULL,
    region          TEXT    NOT NULL,
    mail_from       TEXT    NOT NULL,
    recipients      TEXT    NOT NULL,  -- JSON array of strings
    meta            TEXT    NOT NULL,  -- JSON value
    created_at      INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER
);

-- claim_messages: ready messages, oldest due first.
CREATE INDEX queue_by_next_attempt ON queue (next_attempt_at);

-- The durable outbox: publishers read it in seq order. AUTOINCREMENT so a seq is never reused,
-- even after the newest rows are deleted (a publisher's "last seen seq" stays meaningful).
CREATE TABLE events (
    seq         INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    event_id    TEXT    NOT NULL UNIQUE,
    account_id  TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    message_id  TEXT    NOT NULL,
    event_type  TEXT    NOT NULL,
    timestamp   INTEGER NOT NULL,
    data        TEXT    NOT NULL   -- the event's SES JSON object
);

-- message_events.
CREATE INDEX events_by_message ON events (account_id, region, message_id);

-- Rolling 24 h quota: recipients counted per scope and minute (minute_bucket = start of the
-- minute, unix ms). Buckets older than the window are pruned as new minutes are written.
CREATE TABLE quota_usage (
    account_id    TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    minute_bucket INTEGER NOT NULL,
    recipients    INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, minute_bucket)
);

-- Per-second token bucket of each scope: tokens as of updated_at (refilled lazily on use).
CREATE TABLE rate_buckets (
    account_id  TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    tokens      REAL    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, region)
);

-- GetSendStatistics: one row per scope and 15-minute bucket (bucket_start, unix ms).
CREATE TABLE send_stats (
    account_id        TEXT    NOT NULL,
    region            TEXT    NOT NULL,
    bucket_start      INTEGER NOT NULL,
    delivery_attempts INTEGER NOT NULL,
    bounces           INTEGER NOT NULL,
    complaints        INTEGER NOT NULL,
    rejects           INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, bucket_start)
);

-- The dev inbox (delivery.mode = capture).
CREATE TABLE captured (
    message_id  TEXT    NOT NULL PRIMARY KEY,
    account_id  TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    mail_from   TEXT    NOT NULL,
    recipients  TEXT    NOT NULL,  -- JSON array of strings
    raw         BLOB    NOT NULL,
    captured_at INTEGER NOT NULL
);

-- captured_messages: newest first, across scopes or within one.
CREATE INDEX captured_by_time ON captured (captured_at);
CREATE INDEX captured_by_scope ON captured (account_id, region, captured_at);
