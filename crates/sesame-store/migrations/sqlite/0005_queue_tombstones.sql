-- `sesame queue delete` (issue 4 item 7): the operator removes a queued message with one
-- transaction that deletes its queue row and inserts its tombstone here. The message body lives
-- in the spool, which only the running server may touch (it holds the spool's lock), so the
-- server's sweeper reads the tombstones, removes the bodies and then the tombstones.
-- created_at is the message's own (so the sweeper can wait until a body still being written by
-- the accept that raced the delete has surely landed); deleted_at is for the log.
CREATE TABLE queue_tombstones (
    message_id  TEXT    NOT NULL PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    deleted_at  INTEGER NOT NULL
);

CREATE INDEX queue_tombstones_by_created ON queue_tombstones (created_at);
