-- Easy DKIM key index (DECISIONS Q-65 (a)): the instance zone answers `<token>.dkim.<sd>` TXT
-- by looking the token up here instead of scanning every identity document. The store keeps
-- it in step with the `identity` resources in the same transaction as every write of one
-- (insert, compare-and-set update, upsert, delete): the rows are derived from the document
-- (`sesame_model::ports::dkim_selectors_of`: the keys of `dkim` when its origin is `AWS_SES`),
-- so no engine path that creates, rotates, replaces or deletes a key can forget it.
-- Tokens are random (Q-94); the key includes the owner so that even a collision could not make
-- one identity's write remove another identity's row.
CREATE TABLE dkim_selectors (
    token       TEXT NOT NULL,
    account_id  TEXT NOT NULL,
    region      TEXT NOT NULL,
    identity    TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    PRIMARY KEY (token, account_id, region, identity)
);
-- Rewriting or deleting one identity's rows.
CREATE INDEX dkim_selectors_by_identity ON dkim_selectors (account_id, region, identity);

-- Backfill from the identities stored before this migration.
INSERT OR IGNORE INTO dkim_selectors (token, account_id, region, identity, public_key)
SELECT json_extract(k.value, '$.selector'), r.account_id, r.region, r.name,
       json_extract(k.value, '$.public_key')
FROM resources r, json_each(r.data, '$.dkim.keys') k
WHERE r.kind = 'identity'
  AND json_extract(r.data, '$.dkim.origin') = 'AWS_SES'
  AND json_extract(k.value, '$.selector') IS NOT NULL
  AND json_extract(k.value, '$.public_key') IS NOT NULL;

-- The operator's DKIM keys (DECISIONS Q-72: `d=<service_domain>`, `s=<operator_selector>`),
-- one per selector, generated once by the first node that needs it (insert-if-absent, then
-- every node reads the winner), the private key sealed with the instance key.
CREATE TABLE operator_dkim_keys (
    selector            TEXT    NOT NULL PRIMARY KEY,
    private_key_sealed  TEXT    NOT NULL,
    public_key          TEXT    NOT NULL,
    bits                INTEGER NOT NULL,
    created_at          INTEGER NOT NULL
);
