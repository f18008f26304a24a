-- Contacts of contact lists (spec F-166..F-178; DECISIONS Q-196, Q-199, Q-273): one row per
-- (account, region, list, address). The list itself is a resource document of kind
-- `contact-list` (few per account); its contacts can be many, so they get this table, scanned
-- by the primary key for `ListContacts` (byte order of the address) and read by key on every
-- list-managed delivery. `data` is the engine's ContactRecord as JSON text (topic preferences,
-- UnsubscribeAll, AttributesData); `version` gives the compare-and-set of unsubscribe updates.
-- Deleting the list's resource deletes its rows in the same transaction (resources.rs), and a
-- row is only inserted in a transaction that finds the list (contacts.rs). Unix milliseconds.
CREATE TABLE contacts (
    account_id    TEXT    NOT NULL,
    region        TEXT    NOT NULL,
    contact_list  TEXT    NOT NULL,
    email         TEXT    NOT NULL,
    data          TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, contact_list, email)
);
