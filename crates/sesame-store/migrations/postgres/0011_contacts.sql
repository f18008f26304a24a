-- Contacts of contact lists (spec F-166..F-178; DECISIONS Q-196, Q-199, Q-273): one row per
-- (account, region, list, address). The list itself is a resource document of kind
-- `contact-list` (few per account); its contacts can be many, so they get this table, scanned
-- by the primary key for `ListContacts` (byte order of the address) and read by key on every
-- list-managed delivery. `data` is the engine's ContactRecord as JSON text (TEXT, not JSONB,
-- as in 0001: documents round-trip exactly); `version` gives the compare-and-set of
-- unsubscribe updates. Deleting the list's resource deletes its rows in the same transaction
-- (resources.rs), and a row is only inserted in a transaction that holds a share lock on the
-- list's resource row (contacts.rs). Unix milliseconds. Key columns are COLLATE "C", as in 0001.
CREATE TABLE contacts (
    account_id    TEXT COLLATE "C" NOT NULL,
    region        TEXT COLLATE "C" NOT NULL,
    contact_list  TEXT COLLATE "C" NOT NULL,
    email         TEXT COLLATE "C" NOT NULL,
    data          TEXT   NOT NULL,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, contact_list, email)
);
