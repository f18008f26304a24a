-- The sending path (see sesame_model::mail): queue, events outbox, quota and rate state,
-- GetSendStatistics buckets and the dev inbox. Timestamps are unix milliseconds from Rust.
-- JSON columns are TEXT written by serde_json (not JSONB, which reorders keys), read back by
-- Rust; SQL never looks inside. Key columns are COLLATE "C", as in 0001.

-- Accepted messages waiting for delivery. A row leaves the queue when the node holding its
-- lease finishes it. lease_owner/lease_until are NULL when nobody holds the message.
CREATE TABLE queue (
    message_id      TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account_id      TEXT COLLATE "C" NOT NULL,
    region          TEXT COLLATE "C" NOT NULL,
    mail_from       TEXT   NOT NULL,
    recipients      TEXT   NOT NULL,  -- JSON array of strings
    meta            TEXT   NOT NULL,  -- JSON value
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts        BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT
);

-- claim_messages: ready messages, oldest due first.
CREATE INDEX queue_by_next_attempt ON queue (next_attempt_at);

-- The durable outbox: publishers read it in seq order. Note that a bigserial is allocated at
-- insert, not at commit: a reader must tolerate a lower seq becoming visible after a higher one
-- (concurrent transactions), e.g. by re-reading a short window behind its position.
CREATE TABLE events (
    seq         BIGSERIAL PRIMARY KEY,
    event_id    TEXT COLLATE "C" NOT NULL UNIQUE,
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    message_id  TEXT COLLATE "C" NOT NULL,
    event_type  TEXT   NOT NULL,
    timestamp   BIGINT NOT NULL,
    data        TEXT   NOT NULL   -- the event's SES JSON object
);

-- message_events.
CREATE INDEX events_by_message ON events (account_id, region, message_id);

-- Rolling 24 h quota: recipients counted per scope and minute (minute_bucket = start of the
-- minute, unix ms). Buckets older than the window are pruned as new minutes are written.
CREATE TABLE quota_usage (
    account_id    TEXT COLLATE "C" NOT NULL,
    region        TEXT COLLATE "C" NOT NULL,
    minute_bucket BIGINT NOT NULL,
    recipients    BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, minute_bucket)
);

-- Per-second token bucket of each scope: tokens as of updated_at (refilled lazily on use).
CREATE TABLE rate_buckets (
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    tokens      DOUBLE PRECISION NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, region)
);

-- GetSendStatistics: one row per scope and 15-minute bucket (bucket_start, unix ms).
CREATE TABLE send_stats (
    account_id        TEXT COLLATE "C" NOT NULL,
    region            TEXT COLLATE "C" NOT NULL,
    bucket_start      BIGINT NOT NULL,
    delivery_attempts BIGINT NOT NULL,
    bounces           BIGINT NOT NULL,
    complaints        BIGINT NOT NULL,
    rejects           BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, bucket_start)
);

-- The dev inbox (delivery.mode = capture).
CREATE TABLE captured (
    message_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    mail_from   TEXT   NOT NULL,
    recipients  TEXT   NOT NULL,  -- JSON array of strings
    raw         BYTEA  NOT NULL,
    captured_at BIGINT NOT NULL
);

-- captured_messages: newest first, across scopes or within one.
CREATE INDEX captured_by_time ON captured (captured_at);
CREATE INDEX captured_by_scope ON captured (account_id, region, captured_at);
