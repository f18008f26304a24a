-- Hourly reputation counters per (account, region, configuration set), attributed to the send
-- time of the mail (spec G-73..G-75, DECISIONS Q-240, Q-241). '' is mail sent without a
-- configuration set. Folded from the events in the transactions that append them, like
-- send_stats; mailbox-simulator recipients are counted apart (E-82).
CREATE TABLE reputation_stats (
    account_id           TEXT COLLATE "C" NOT NULL,
    region               TEXT COLLATE "C" NOT NULL,
    configuration_set    TEXT COLLATE "C" NOT NULL,
    bucket_start         BIGINT NOT NULL,
    sends                BIGINT NOT NULL,
    bounces              BIGINT NOT NULL,
    complaints           BIGINT NOT NULL,
    simulator_sends      BIGINT NOT NULL,
    simulator_bounces    BIGINT NOT NULL,
    simulator_complaints BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, configuration_set, bucket_start)
);
