-- The sent-message log: a copy of every queue row at the moment it leaves the queue
-- (finish_message, same transaction), so feedback that arrives later (DSNs, ARF complaints, at
-- the VERP address <message_id>@<mail_from_domain>, Q-67) still finds the message's scope,
-- envelope and meta (MailInfo, configuration set). Pruned by age (prune_message_log).
-- Same columns as `queue` minus the lease, plus `finished_at` (unix ms). Key columns are
-- COLLATE "C", as in 0001.
CREATE TABLE message_log (
    message_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    mail_from   TEXT   NOT NULL,
    recipients  TEXT   NOT NULL,  -- JSON array of strings (the queue row's, as it left)
    meta        TEXT   NOT NULL,  -- JSON value
    created_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);

-- prune_message_log: oldest first.
CREATE INDEX message_log_by_finished ON message_log (finished_at);
