-- Event publishing outbox (spec G-38, DECISIONS Q-160): one row per committed event, written in
-- the same transaction as the `events` row, deleted once the event has been handed to every
-- destination it matches (SNS topics today; the row is the hand-off point for other kinds).
-- A node claims rows with a lease (`lease_owner`, `lease_until`, FOR UPDATE SKIP LOCKED) so
-- several nodes never dispatch one event at the same time; a row whose node died mid-dispatch
-- becomes claimable when its lease runs out (at-least-once). Order per message: only the
-- lowest pending `seq` of a message is claimable, so a message's events are handed on in the
-- order they were committed. `due_at` delays a retry after a failed hand-off. Unix ms.
CREATE TABLE event_dispatch (
    seq          BIGSERIAL PRIMARY KEY,
    event_id     TEXT COLLATE "C" NOT NULL UNIQUE,
    account_id   TEXT COLLATE "C" NOT NULL,
    region       TEXT COLLATE "C" NOT NULL,
    message_id   TEXT COLLATE "C" NOT NULL,
    due_at       BIGINT NOT NULL DEFAULT 0,
    attempts     BIGINT NOT NULL DEFAULT 0,
    lease_owner  TEXT,
    lease_until  BIGINT NOT NULL DEFAULT 0
);
-- "Is there an earlier pending event of this message?"
CREATE INDEX event_dispatch_by_message ON event_dispatch (account_id, region, message_id, seq);
