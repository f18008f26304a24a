-- The sent-message log: a copy of every queue row at the moment it leaves the queue
-- (finish_message, same transaction), so feedback that arrives later (DSNs, ARF complaints, at
-- the VERP address <message_id>@<mail_from_domain>, Q-67) still finds the message's scope,
-- envelope and meta (MailInfo, configuration set). Pruned by age (prune_message_log).
-- Same columns as `queue` minus the lease, plus `finished_at` (unix ms).
CREATE TABLE message_log (
    message_id  TEXT    NOT NULL PRIMARY KEY,
    account_id  TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    mail_from   TEXT    NOT NULL,
    recipients  TEXT    NOT NULL,  -- JSON array of strings (the queue row's, as it left)
    meta        TEXT    NOT NULL,  -- JSON value
    created_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    finished_at INTEGER NOT NULL
);

-- prune_message_log: oldest first.
CREATE INDEX message_log_by_finished ON message_log (finished_at);
