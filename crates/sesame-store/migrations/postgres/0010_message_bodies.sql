-- Message bodies (the spool) in the database: written by the group-committed body writer before
-- a send is acknowledged (together with the queue row's own commit), read by delivery, and
-- deleted in the transaction that finishes the message. One row per queued message; no file,
-- no inode per message, and every node sharing the database can read every body. Bodies of
-- queue rows that never committed (a send that failed after its body was written) are swept
-- by age. `created_at` is unix milliseconds.
CREATE TABLE message_bodies (
    message_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    created_at  BIGINT NOT NULL,
    body        BYTEA  NOT NULL
);
