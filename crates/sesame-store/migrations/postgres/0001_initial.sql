-- Accounts, access keys and resource documents (see sesame_model::ports).
-- Every key and name column is COLLATE "C": ordering and the range scans used for prefix
-- matching are then byte order, identical to SQLite, whatever the database's locale is.

CREATE TABLE accounts (
    account_id  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    name        TEXT,
    status      TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE access_keys (
    access_key_id     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    account_id        TEXT COLLATE "C" NOT NULL REFERENCES accounts (account_id),
    user_name         TEXT   NOT NULL,
    secret_ciphertext BYTEA  NOT NULL,
    status            TEXT   NOT NULL,
    created_at        BIGINT NOT NULL
);

-- list_access_keys: by account, ordered by creation time then id.
CREATE INDEX access_keys_by_account ON access_keys (account_id, created_at, access_key_id);

-- data is serialized JSON kept as TEXT rather than JSONB: JSONB reorders object keys, and the
-- documents must round-trip exactly as written (serde_json preserve_order). Nothing queries
-- inside documents; fields that need querying get real columns in a later migration.
CREATE TABLE resources (
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    kind        TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    data        TEXT   NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (account_id, region, kind, name)
);
