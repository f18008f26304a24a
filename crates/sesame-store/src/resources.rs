//! Queries on `resources`: JSON documents keyed by `(account, region, kind, name)` with a
//! version for optimistic concurrency.

//!
//! Writes of a resource of kind [`DKIM_INDEX_KIND`] (identities) also rewrite that identity's
//! rows of the Easy DKIM key index `dkim_selectors` (migration 0008) in the **same
//! transaction**, from the document being written ([`dkim_selectors_of`]): a committed
//! identity and its index rows always agree, on every node, whichever engine path (create,
//! rotation, BYODKIM switch, delete) wrote it. The zone responder reads the index by token
//! (`find_dkim_selector_row`, `dkim_index.rs`).
//!
//! Deleting a resource of kind [`CONTACT_LIST_KIND`] deletes the list's contacts (`contacts`,
//! migration 0011) in the same transaction (DECISIONS Q-273).

use sesame_model::{
    dkim_selectors_of, Resource, ResourceKey, Scope, StoreError, CONTACT_LIST_KIND, DKIM_INDEX_KIND,
};
use sqlx::{Executor, Row};

use crate::connect::{now_ms, Pool};
use crate::contacts::DELETE_LIST_CONTACTS;
use crate::error::{corrupt, map_err};
use crate::{rows, SqlStore};

/// The key columns, always bound as `$1..$4` in this order.
const KEY_MATCH: &str = "account_id = $1 AND region = $2 AND kind = $3 AND name = $4";

/// Names per `IN (…)` list of [`SqlStore::get_resources_named_rows`] (3 other parameters).
const NAMES_CHUNK: usize = 500;

const INDEX_DELETE_OWNER: &str =
    "DELETE FROM dkim_selectors WHERE account_id = $1 AND region = $2 AND identity = $3";
const INDEX_INSERT: &str = "INSERT INTO dkim_selectors \
    (token, account_id, region, identity, public_key) VALUES ($1, $2, $3, $4, $5) \
    ON CONFLICT DO NOTHING";

/// Begins a write transaction bound to `$tx` and runs `$body`, which must commit (returning
/// early drops `$tx`, which rolls back). SQLite: `BEGIN IMMEDIATE` (take the write lock up
/// front, as every write transaction of this crate does).
macro_rules! resource_tx {
    ($store:expr, $tx:ident => $body:block) => {
        match &$store.pool {
            Pool::Sqlite(pool) => {
                let _turn = $store.sqlite_write_turn().await?;
                let mut $tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
                $body
            }
            Pool::Postgres(pool) => {
                let mut $tx = pool.begin().await.map_err(map_err)?;
                $body
            }
        }
    };
}

/// Replaces the index rows of the resource `$key` with those derived from `$data`
/// (`Option<&Value>`; `None` after a delete). A no-op for other kinds.
macro_rules! reindex {
    ($tx:ident, $key:expr, $data:expr) => {
        if $key.kind == DKIM_INDEX_KIND {
            (&mut *$tx)
                .execute(
                    sqlx::query(INDEX_DELETE_OWNER)
                        .bind($key.scope.account.as_str())
                        .bind($key.scope.region.as_str())
                        .bind($key.name.as_str()),
                )
                .await
                .map_err(map_err)?;
            let data: Option<&serde_json::Value> = $data;
            for (token, public_key) in data.map(dkim_selectors_of).unwrap_or_default() {
                (&mut *$tx)
                    .execute(
                        sqlx::query(INDEX_INSERT)
                            .bind(token)
                            .bind($key.scope.account.as_str())
                            .bind($key.scope.region.as_str())
                            .bind($key.name.as_str())
                            .bind(public_key),
                    )
                    .await
                    .map_err(map_err)?;
            }
        }
    };
}

impl SqlStore {
    pub(crate) async fn insert_resource_row(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError> {
        const SQL: &str = "INSERT INTO resources \
            (account_id, region, kind, name, data, version, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, 1, $6, $6)";
        let text = to_text(data)?;
        let now = now_ms();
        resource_tx!(self, tx => {
            (&mut *tx)
                .execute(
                    sqlx::query(SQL)
                        .bind(key.scope.account.as_str())
                        .bind(key.scope.region.as_str())
                        .bind(&key.kind)
                        .bind(&key.name)
                        .bind(&text)
                        .bind(now),
                )
                .await
                .map_err(map_err)?;
            reindex!(tx, key, Some(data));
            tx.commit().await.map_err(map_err)?;
        });
        Ok(Resource {
            key: key.clone(),
            data: data.clone(),
            version: 1,
            created_at: now,
            updated_at: now,
        })
    }

    pub(crate) async fn get_resource_row(
        &self,
        key: &ResourceKey,
    ) -> Result<Option<Resource>, StoreError> {
        let sql = format!(
            "SELECT name, data, version, created_at, updated_at FROM resources WHERE {KEY_MATCH}"
        );
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(key.scope.account.as_str())
                .bind(key.scope.region.as_str())
                .bind(&key.kind)
                .bind(&key.name)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            row.as_ref()
                .map(|r| rows::resource(r, &key.scope, &key.kind))
                .transpose()
        })
    }

    /// `Store::get_resources_named`: one `IN (…)` query per [`NAMES_CHUNK`] names.
    pub(crate) async fn get_resources_named_rows(
        &self,
        scope: &Scope,
        kind: &str,
        names: &[String],
    ) -> Result<Vec<Resource>, StoreError> {
        let mut out = Vec::new();
        for chunk in names.chunks(NAMES_CHUNK) {
            let sql = format!(
                "SELECT name, data, version, created_at, updated_at FROM resources \
                 WHERE account_id = $1 AND region = $2 AND kind = $3 AND name IN ({})",
                crate::sending::placeholders(4, chunk.len())
            );
            with_pool!(self, pool => {
                let mut q = sqlx::query(&sql)
                    .bind(scope.account.as_str())
                    .bind(scope.region.as_str())
                    .bind(kind);
                for name in chunk {
                    q = q.bind(name);
                }
                for row in q.fetch_all(pool).await.map_err(map_err)? {
                    out.push(rows::resource(&row, scope, kind)?);
                }
            });
        }
        Ok(out)
    }

    /// Compare-and-set in one statement: the `version = $6` condition and the increment happen
    /// in the same UPDATE, so of N concurrent callers holding the same version exactly one
    /// matches a row. Only when nothing matched do we look again, to tell the two failures apart.
    pub(crate) async fn update_resource_row(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<Resource, StoreError> {
        let sql = format!(
            "UPDATE resources SET data = $5, version = version + 1, updated_at = $7 \
             WHERE {KEY_MATCH} AND version = $6 \
             RETURNING version, created_at, updated_at"
        );
        let text = to_text(data)?;
        let now = now_ms();
        let updated = resource_tx!(self, tx => {
            let row = (&mut *tx)
                .fetch_optional(
                    sqlx::query(&sql)
                        .bind(key.scope.account.as_str())
                        .bind(key.scope.region.as_str())
                        .bind(&key.kind)
                        .bind(&key.name)
                        .bind(&text)
                        .bind(expected_version)
                        .bind(now),
                )
                .await
                .map_err(map_err)?;
            let stamped = row.map(|r| stamps(&r)).transpose()?;
            if stamped.is_some() {
                reindex!(tx, key, Some(data));
                tx.commit().await.map_err(map_err)?;
            }
            stamped
        });
        match updated {
            Some((version, created_at, updated_at)) => Ok(Resource {
                key: key.clone(),
                data: data.clone(),
                version,
                created_at,
                updated_at,
            }),
            None if self.resource_exists(key).await? => Err(StoreError::Conflict),
            None => Err(StoreError::NotFound),
        }
    }

    async fn resource_exists(&self, key: &ResourceKey) -> Result<bool, StoreError> {
        let sql = format!("SELECT version FROM resources WHERE {KEY_MATCH}");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(key.scope.account.as_str())
                .bind(key.scope.region.as_str())
                .bind(&key.kind)
                .bind(&key.name)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            Ok(row.is_some())
        })
    }

    pub(crate) async fn upsert_resource_row(
        &self,
        key: &ResourceKey,
        data: &serde_json::Value,
    ) -> Result<Resource, StoreError> {
        const SQL: &str = "INSERT INTO resources \
            (account_id, region, kind, name, data, version, created_at, updated_at) \
            VALUES ($1, $2, $3, $4, $5, 1, $6, $6) \
            ON CONFLICT (account_id, region, kind, name) DO UPDATE SET \
            data = excluded.data, \
            version = resources.version + 1, \
            updated_at = excluded.updated_at \
            RETURNING version, created_at, updated_at";
        let text = to_text(data)?;
        let now = now_ms();
        let (version, created_at, updated_at) = resource_tx!(self, tx => {
            let row = (&mut *tx)
                .fetch_one(
                    sqlx::query(SQL)
                        .bind(key.scope.account.as_str())
                        .bind(key.scope.region.as_str())
                        .bind(&key.kind)
                        .bind(&key.name)
                        .bind(&text)
                        .bind(now),
                )
                .await
                .map_err(map_err)?;
            let stamped = stamps(&row)?;
            reindex!(tx, key, Some(data));
            tx.commit().await.map_err(map_err)?;
            stamped
        });
        Ok(Resource {
            key: key.clone(),
            data: data.clone(),
            version,
            created_at,
            updated_at,
        })
    }

    pub(crate) async fn delete_resource_row(&self, key: &ResourceKey) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM resources WHERE {KEY_MATCH}");
        let affected = resource_tx!(self, tx => {
            let affected = (&mut *tx)
                .execute(
                    sqlx::query(&sql)
                        .bind(key.scope.account.as_str())
                        .bind(key.scope.region.as_str())
                        .bind(&key.kind)
                        .bind(&key.name),
                )
                .await
                .map_err(map_err)?
                .rows_affected();
            reindex!(tx, key, None);
            if key.kind == CONTACT_LIST_KIND {
                // a list's contacts go with it, in the same transaction.
                (&mut *tx)
                    .execute(
                        sqlx::query(DELETE_LIST_CONTACTS)
                            .bind(key.scope.account.as_str())
                            .bind(key.scope.region.as_str())
                            .bind(&key.name),
                    )
                    .await
                    .map_err(map_err)?;
            }
            tx.commit().await.map_err(map_err)?;
            affected
        });
        Ok(affected > 0)
    }

    pub(crate) async fn delete_resource_rows_by_prefix(
        &self,
        scope: &Scope,
        kind: &str,
        name_prefix: &str,
    ) -> Result<u64, StoreError> {
        let range = NameRange::new(name_prefix, None);
        let sql = format!(
            "DELETE FROM resources WHERE account_id = $1 AND region = $2 AND kind = $3{}",
            range.condition(4)
        );
        // The index rows of the deleted identities (same name range, column `identity`).
        let index_sql = format!(
            "DELETE FROM dkim_selectors WHERE account_id = $1 AND region = $2{}",
            range.condition(3).replace(" name ", " identity ")
        );
        let contacts_sql = format!(
            "DELETE FROM contacts WHERE account_id = $1 AND region = $2{}",
            range.condition(3).replace(" name ", " contact_list ")
        );
        let affected = resource_tx!(self, tx => {
            let q = sqlx::query(&sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(kind)
                .bind(range.lower);
            let q = match &range.upper {
                Some(upper) => q.bind(upper.as_str()),
                None => q,
            };
            let affected = (&mut *tx).execute(q).await.map_err(map_err)?.rows_affected();
            if kind == DKIM_INDEX_KIND {
                let q = sqlx::query(&index_sql)
                    .bind(scope.account.as_str())
                    .bind(scope.region.as_str())
                    .bind(range.lower);
                let q = match &range.upper {
                    Some(upper) => q.bind(upper.as_str()),
                    None => q,
                };
                (&mut *tx).execute(q).await.map_err(map_err)?;
            }
            if kind == CONTACT_LIST_KIND {
                // The contacts of the deleted lists (same name range, column `contact_list`).
                let q = sqlx::query(&contacts_sql)
                    .bind(scope.account.as_str())
                    .bind(scope.region.as_str())
                    .bind(range.lower);
                let q = match &range.upper {
                    Some(upper) => q.bind(upper.as_str()),
                    None => q,
                };
                (&mut *tx).execute(q).await.map_err(map_err)?;
            }
            tx.commit().await.map_err(map_err)?;
            affected
        });
        Ok(affected)
    }

    pub(crate) async fn list_resource_rows(
        &self,
        scope: &Scope,
        kind: &str,
        name_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Resource>, StoreError> {
        let range = NameRange::new(name_prefix, after);
        let limit_param = if range.upper.is_some() { 6 } else { 5 };
        let sql = format!(
            "SELECT name, data, version, created_at, updated_at FROM resources \
             WHERE account_id = $1 AND region = $2 AND kind = $3{} \
             ORDER BY name LIMIT ${limit_param}",
            range.condition(4)
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        with_pool!(self, pool => {
            let q = sqlx::query(&sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(kind)
                .bind(range.lower);
            let q = match &range.upper {
                Some(upper) => q.bind(upper.as_str()),
                None => q,
            };
            let found = q.bind(limit).fetch_all(pool).await.map_err(map_err)?;
            found.iter().map(|r| rows::resource(r, scope, kind)).collect()
        })
    }

    pub(crate) async fn count_resource_rows(
        &self,
        scope: &Scope,
        kind: &str,
    ) -> Result<u64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) AS n FROM resources \
            WHERE account_id = $1 AND region = $2 AND kind = $3";
        let n: i64 = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(kind)
                .fetch_one(pool)
                .await
                .and_then(|r| r.try_get("n"))
                .map_err(map_err)?
        });
        u64::try_from(n).map_err(|e| corrupt("count", e))
    }
}

/// `(version, created_at, updated_at)` from a `RETURNING` clause.
fn stamps(row: &impl rows::Columns) -> Result<(i64, i64, i64), StoreError> {
    Ok((
        row.int("version")?,
        row.int("created_at")?,
        row.int("updated_at")?,
    ))
}

fn to_text(data: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(data).map_err(|e| StoreError::Backend(format!("serialize: {e}")))
}

/// The names a prefix (and an optional `after` cursor) select, as a half-open byte-order range.
/// Comparisons rather than `LIKE`: `%` and `_` stay literal, and both backends use the primary
/// key index for the scan.
#[derive(Debug, PartialEq)]
struct NameRange<'a> {
    /// Inclusive lower bound, or exclusive when `exclusive_lower` (it is the `after` cursor).
    lower: &'a str,
    exclusive_lower: bool,
    /// Exclusive upper bound; `None` when every name from `lower` on qualifies.
    upper: Option<String>,
}

impl<'a> NameRange<'a> {
    fn new(prefix: &'a str, after: Option<&'a str>) -> Self {
        // Names starting with `prefix` are all >= `prefix`, so a cursor below the prefix adds
        // nothing; a cursor at or above it is the tighter bound.
        let (lower, exclusive_lower) = match after {
            Some(after) if after >= prefix => (after, true),
            _ => (prefix, false),
        };
        NameRange {
            lower,
            exclusive_lower,
            upper: prefix_successor(prefix),
        }
    }

    /// ` AND name >= $n [AND name < $n+1]`: binds `lower`, then `upper` if present.
    fn condition(&self, first_param: usize) -> String {
        let op = if self.exclusive_lower { ">" } else { ">=" };
        let mut sql = format!(" AND name {op} ${first_param}");
        if self.upper.is_some() {
            sql.push_str(&format!(" AND name < ${}", first_param + 1));
        }
        sql
    }
}

/// The smallest string greater than every string that starts with `prefix`, or `None` if there
/// is none (empty prefix, or only `char::MAX`). UTF-8 byte order is code point order, so bumping
/// the last code point that can be bumped (and dropping the ones after it) gives the bound in
/// byte order as both backends compare.
fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'), // skip the surrogate gap
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_bounds_the_prefix() {
        for (prefix, expected) in [
            ("", None),
            ("a", Some("b")),
            ("set/", Some("set0")),
            ("a%", Some("a&")),
            ("a_", Some("a`")),
            ("z\u{10FFFF}", Some("{")),
            ("\u{10FFFF}", None),
            ("x\u{D7FF}", Some("x\u{E000}")),
            ("é", Some("ê")),
        ] {
            assert_eq!(prefix_successor(prefix).as_deref(), expected, "{prefix:?}");
        }
    }

    #[test]
    fn range_matches_starts_with() {
        let names = [
            "",
            "a",
            "a%",
            "a%b",
            "a_",
            "a_b",
            "ab",
            "a/",
            "a/b",
            "A",
            "b",
            "set/",
            "set/x",
            "set0",
            "sets",
            "é",
            "éa",
            "z\u{10FFFF}",
            "\u{10FFFF}",
        ];
        for prefix in names {
            let range = NameRange::new(prefix, None);
            for name in names {
                let in_range =
                    name >= range.lower && range.upper.as_deref().is_none_or(|u| name < u);
                assert_eq!(in_range, name.starts_with(prefix), "{prefix:?} {name:?}");
            }
        }
    }

    #[test]
    fn after_cursor_tightens_the_lower_bound() {
        for (prefix, after, lower, exclusive) in [
            ("set/", None, "set/", false),
            ("set/", Some("a"), "set/", false),
            ("set/", Some("set/"), "set/", true),
            ("set/", Some("set/b"), "set/b", true),
            ("", Some("m"), "m", true),
        ] {
            let r = NameRange::new(prefix, after);
            assert_eq!(
                (r.lower, r.exclusive_lower),
                (lower, exclusive),
                "{prefix} {after:?}"
            );
        }
        assert_eq!(
            NameRange::new("a", Some("b")).condition(4),
            " AND name > $4 AND name < $5"
        );
        assert_eq!(NameRange::new("", None).condition(4), " AND name >= $4");
    }
}
