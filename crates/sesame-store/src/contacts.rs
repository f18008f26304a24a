//! Queries on `contacts` (migration 0011): the contacts of contact lists (spec F-166..F-178),
//! one row per `(account, region, list, email)` with a JSON document and a version for
//! compare-and-set, like `resources`.
//!
//! A contact only exists inside an existing list: [`SqlStore::insert_contact_rows`] checks the
//! list's resource row in the transaction that inserts (SQLite: `BEGIN IMMEDIATE` serialises
//! it with the delete; PostgreSQL: `FOR SHARE` on the resource row makes a concurrent delete of
//! the list wait for this commit, after which its `DELETE FROM contacts` sees the new rows).
//! The delete side is in `resources.rs` (the cascade of a `contact-list` resource).

use sesame_model::{ContactRow, Scope, StoreError, CONTACT_LIST_KIND};
use sqlx::Executor;

use crate::connect::{now_ms, Pool};
use crate::error::{corrupt, map_err};
use crate::rows::Columns;
use crate::SqlStore;

/// The key columns, always bound as `$1..$4` in this order.
const KEY_MATCH: &str = "account_id = $1 AND region = $2 AND contact_list = $3 AND email = $4";

const COLUMNS: &str = "contact_list, email, data, version, created_at, updated_at";

/// The list's resource row; `$3` is the list name.
const LIST_EXISTS: &str = "SELECT version FROM resources \
    WHERE account_id = $1 AND region = $2 AND kind = $4 AND name = $3";

const INSERT: &str = "INSERT INTO contacts \
    (account_id, region, contact_list, email, data, version, created_at, updated_at) \
    VALUES ($1, $2, $3, $4, $5, 1, $6, $6)";

/// `DELETE` of every contact of a list (`$3`), for the cascade in `resources.rs`.
pub(crate) const DELETE_LIST_CONTACTS: &str =
    "DELETE FROM contacts WHERE account_id = $1 AND region = $2 AND contact_list = $3";

fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn contact(row: &impl Columns) -> Result<ContactRow, StoreError> {
    let data = row.text("data")?;
    Ok(ContactRow {
        contact_list: row.text("contact_list")?,
        email: row.text("email")?,
        data: serde_json::from_str(&data).map_err(|e| corrupt("contact document", e))?,
        version: row.int("version")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

fn to_text(data: &serde_json::Value) -> Result<String, StoreError> {
    serde_json::to_string(data).map_err(|e| StoreError::Backend(format!("serialize: {e}")))
}

/// Inserts inside an open transaction `$tx` after the list check; evaluates to the count.
macro_rules! insert_all {
    ($tx:ident, $scope:expr, $list:expr, $texts:expr, $skip:expr, $now:expr) => {{
        let sql = if $skip {
            format!("{INSERT} ON CONFLICT DO NOTHING")
        } else {
            INSERT.to_string()
        };
        let mut inserted = 0u64;
        for (email, text) in $texts {
            inserted += (&mut *$tx)
                .execute(
                    sqlx::query(&sql)
                        .bind($scope.account.as_str())
                        .bind($scope.region.as_str())
                        .bind($list)
                        .bind(email.as_str())
                        .bind(text.as_str())
                        .bind($now),
                )
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        inserted
    }};
}

impl SqlStore {
    pub(crate) async fn insert_contact_rows(
        &self,
        scope: &Scope,
        list: &str,
        contacts: &[(String, serde_json::Value)],
        skip_existing: bool,
    ) -> Result<u64, StoreError> {
        let texts = contacts
            .iter()
            .map(|(e, d)| Ok((e.clone(), to_text(d)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let now = now_ms();
        match &self.pool {
            Pool::Sqlite(pool) => {
                let _turn = self.sqlite_write_turn().await?;
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(map_err)?;
                let found = (&mut *tx)
                    .fetch_optional(
                        sqlx::query(LIST_EXISTS)
                            .bind(scope.account.as_str())
                            .bind(scope.region.as_str())
                            .bind(list)
                            .bind(CONTACT_LIST_KIND),
                    )
                    .await
                    .map_err(map_err)?;
                if found.is_none() {
                    return Err(StoreError::NotFound);
                }
                let n = insert_all!(tx, scope, list, &texts, skip_existing, now);
                tx.commit().await.map_err(map_err)?;
                Ok(n)
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.map_err(map_err)?;
                let found = (&mut *tx)
                    .fetch_optional(
                        sqlx::query(&format!("{LIST_EXISTS} FOR SHARE"))
                            .bind(scope.account.as_str())
                            .bind(scope.region.as_str())
                            .bind(list)
                            .bind(CONTACT_LIST_KIND),
                    )
                    .await
                    .map_err(map_err)?;
                if found.is_none() {
                    return Err(StoreError::NotFound);
                }
                let n = insert_all!(tx, scope, list, &texts, skip_existing, now);
                tx.commit().await.map_err(map_err)?;
                Ok(n)
            }
        }
    }

    pub(crate) async fn get_contact_row(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<Option<ContactRow>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM contacts WHERE {KEY_MATCH}");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(list)
                .bind(email)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            row.as_ref().map(contact).transpose()
        })
    }

    /// Compare-and-set in one statement, as `update_resource_row`.
    pub(crate) async fn update_contact_row(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
        data: &serde_json::Value,
        expected_version: i64,
    ) -> Result<ContactRow, StoreError> {
        let sql = format!(
            "UPDATE contacts SET data = $5, version = version + 1, updated_at = $7 \
             WHERE {KEY_MATCH} AND version = $6 RETURNING {COLUMNS}"
        );
        let text = to_text(data)?;
        let now = now_ms();
        let updated = with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(list)
                .bind(email)
                .bind(&text)
                .bind(expected_version)
                .bind(now)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            row.as_ref().map(contact).transpose()?
        });
        match updated {
            Some(c) => Ok(c),
            None if self.get_contact_row(scope, list, email).await?.is_some() => {
                Err(StoreError::Conflict)
            }
            None => Err(StoreError::NotFound),
        }
    }

    pub(crate) async fn delete_contact_row(
        &self,
        scope: &Scope,
        list: &str,
        email: &str,
    ) -> Result<bool, StoreError> {
        let sql = format!("DELETE FROM contacts WHERE {KEY_MATCH}");
        let n = with_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(list)
                .bind(email)
                .execute(pool)
                .await
                .map_err(map_err)?
                .rows_affected()
        });
        Ok(n > 0)
    }

    pub(crate) async fn list_contact_rows(
        &self,
        scope: &Scope,
        list: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ContactRow>, StoreError> {
        // `email > ''` selects every row (addresses are never empty), so one statement serves
        // both the first page and the next ones.
        let sql = format!(
            "SELECT {COLUMNS} FROM contacts \
             WHERE account_id = $1 AND region = $2 AND contact_list = $3 AND email > $4 \
             ORDER BY email LIMIT $5"
        );
        with_pool!(self, pool => {
            let found = sqlx::query(&sql)
                .bind(scope.account.as_str())
                .bind(scope.region.as_str())
                .bind(list)
                .bind(after.unwrap_or(""))
                .bind(limit_param(limit))
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
            found.iter().map(contact).collect()
        })
    }
}
