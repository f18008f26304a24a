-- Accounts, access keys and resource documents (see sesame_model::ports).
-- Text columns use SQLite's default BINARY collation, i.e. byte order (memcmp of UTF-8), which
-- is the order the Store trait promises for names and ids.

CREATE TABLE accounts (
    account_id  TEXT    NOT NULL PRIMARY KEY,
    name        TEXT,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE access_keys (
    access_key_id     TEXT    NOT NULL PRIMARY KEY,
    account_id        TEXT    NOT NULL REFERENCES accounts (account_id),
    user_name         TEXT    NOT NULL,
    secret_ciphertext BLOB    NOT NULL,
    status            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL
);

-- list_access_keys: by account, ordered by creation time then id.
CREATE INDEX access_keys_by_account ON access_keys (account_id, created_at, access_key_id);

-- data is serialized JSON kept as TEXT, so documents round-trip byte for byte (key order too).
CREATE TABLE resources (
    account_id  TEXT    NOT NULL,
    region      TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    data        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, kind, name)
);
