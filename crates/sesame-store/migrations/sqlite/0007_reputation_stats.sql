-- Hourly reputation counters per (account, region, configuration set), attributed to the send
-- time of the mail (spec G-73..G-75, DECISIONS Q-240, Q-241). '' is mail sent without a
-- configuration set. Folded from the events in the transactions that append them, like
-- send_stats; mailbox-simulator recipients are counted apart (E-82).
CREATE TABLE reputation_stats (
    account_id           TEXT NOT NULL,
    region               TEXT NOT NULL,
    configuration_set    TEXT NOT NULL,
    bucket_start         INTEGER NOT NULL,
    sends                INTEGER NOT NULL,
    bounces              INTEGER NOT NULL,
    complaints           INTEGER NOT NULL,
    simulator_sends      INTEGER NOT NULL,
    simulator_bounces    INTEGER NOT NULL,
    simulator_complaints INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, configuration_set, bucket_start)
);
