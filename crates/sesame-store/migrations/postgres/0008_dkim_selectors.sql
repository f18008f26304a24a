-- Easy DKIM key index (DECISIONS Q-65 (a)): the instance zone answers `<token>.dkim.<sd>` TXT
-- by looking the token up here instead of scanning every identity document. The store keeps
-- it in step with the `identity` resources in the same transaction as every write of one
-- (insert, compare-and-set update, upsert, delete): the rows are derived from the document
-- (`sesame_model::ports::dkim_selectors_of`: the keys of `dkim` when its origin is `AWS_SES`),
-- so no engine path that creates, rotates, replaces or deletes a key can forget it.
-- Tokens are random (Q-94); the key includes the owner so that even a collision could not make
-- one identity's write remove another identity's row. Key columns are COLLATE "C", as in 0001.
CREATE TABLE dkim_selectors (
    token       TEXT COLLATE "C" NOT NULL,
    account_id  TEXT COLLATE "C" NOT NULL,
    region      TEXT COLLATE "C" NOT NULL,
    identity    TEXT COLLATE "C" NOT NULL,
    public_key  TEXT NOT NULL,
    PRIMARY KEY (token, account_id, region, identity)
);
-- Rewriting or deleting one identity's rows.
CREATE INDEX dkim_selectors_by_identity ON dkim_selectors (account_id, region, identity);

-- Backfill from the identities stored before this migration.
INSERT INTO dkim_selectors (token, account_id, region, identity, public_key)
SELECT k->>'selector', r.account_id, r.region, r.name, k->>'public_key'
FROM resources r,
     jsonb_array_elements(CASE WHEN jsonb_typeof(r.data::jsonb -> 'dkim' -> 'keys') = 'array'
                               THEN r.data::jsonb -> 'dkim' -> 'keys'
                               ELSE '[]'::jsonb END) k
WHERE r.kind = 'identity'
  AND r.data::jsonb -> 'dkim' ->> 'origin' = 'AWS_SES'
  AND k->>'selector' IS NOT NULL
  AND k->>'public_key' IS NOT NULL
ON CONFLICT DO NOTHING;

-- The operator's DKIM keys (DECISIONS Q-72: `d=<service_domain>`, `s=<operator_selector>`),
-- one per selector, generated once by the first node that needs it (insert-if-absent, then
-- every node reads the winner), the private key sealed with the instance key.
CREATE TABLE operator_dkim_keys (
    selector            TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    private_key_sealed  TEXT   NOT NULL,
    public_key          TEXT   NOT NULL,
    bits                BIGINT NOT NULL,
    created_at          BIGINT NOT NULL
);
