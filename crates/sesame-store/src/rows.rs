//! Decoding rows of either backend into the model's records.
//!
//! [`Columns`] is the small set of column types the schema uses, implemented for every sqlx row
//! type that can decode them, so each record decoder is written once for both backends.

use sesame_model::StoreError;
use sesame_model::{
    AccessKeyRecord, AccountId, AccountRecord, CapturedMessage, EventRecord, QueuedMessage,
    Resource, ResourceKey, Scope,
};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::error::{corrupt, map_err};

pub(crate) trait Columns {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError>;
}

impl<R> Columns for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.try_get(col).map_err(map_err)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.try_get(col).map_err(map_err)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.try_get(col).map_err(map_err)
    }
    fn bytes(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        self.try_get(col).map_err(map_err)
    }
}

fn account_id(row: &impl Columns) -> Result<AccountId, StoreError> {
    let raw = row.text("account_id")?;
    raw.parse().map_err(|e| corrupt("account id", e))
}

pub(crate) fn account(row: &impl Columns) -> Result<AccountRecord, StoreError> {
    Ok(AccountRecord {
        account_id: account_id(row)?,
        name: row.opt_text("name")?,
        created_at: row.int("created_at")?,
        status: row.text("status")?,
    })
}

pub(crate) fn access_key(row: &impl Columns) -> Result<AccessKeyRecord, StoreError> {
    Ok(AccessKeyRecord {
        access_key_id: row.text("access_key_id")?,
        account_id: account_id(row)?,
        user_name: row.text("user_name")?,
        secret_ciphertext: row.bytes("secret_ciphertext")?,
        status: row.text("status")?,
        created_at: row.int("created_at")?,
    })
}

/// A resource row of a query already restricted to one `(scope, kind)`, which the caller passes
/// instead of re-reading and re-validating those columns for every row.
pub(crate) fn resource(
    row: &impl Columns,
    scope: &Scope,
    kind: &str,
) -> Result<Resource, StoreError> {
    let name = row.text("name")?;
    let data = row.text("data")?;
    let data = serde_json::from_str(&data).map_err(|e| corrupt("resource document", e))?;
    Ok(Resource {
        key: ResourceKey::new(scope, kind, &name),
        data,
        version: row.int("version")?,
        created_at: row.int("created_at")?,
        updated_at: row.int("updated_at")?,
    })
}

/// A resource row that carries its own `account_id` and `region` columns.
/// `(account_id, region)` columns of a row that carries its own scope.
pub(crate) fn scope(row: &impl Columns) -> Result<Scope, StoreError> {
    let region = row.text("region")?;
    let region = region.parse().map_err(|e| corrupt("region", e))?;
    Ok(Scope::new(account_id(row)?, region))
}

fn json_column<T: serde::de::DeserializeOwned>(
    row: &impl Columns,
    col: &str,
) -> Result<T, StoreError> {
    let text = row.text(col)?;
    serde_json::from_str(&text).map_err(|e| corrupt(col, e))
}

pub(crate) fn queued_message(row: &impl Columns) -> Result<QueuedMessage, StoreError> {
    Ok(QueuedMessage {
        message_id: row.text("message_id")?,
        scope: scope(row)?,
        mail_from: row.text("mail_from")?,
        recipients: json_column(row, "recipients")?,
        meta: json_column(row, "meta")?,
        created_at: row.int("created_at")?,
        next_attempt_at: row.int("next_attempt_at")?,
        attempts: row.int("attempts")?,
    })
}

/// An event row of a query already restricted to one scope.
pub(crate) fn event(row: &impl Columns, scope: &Scope) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        event_id: row.text("event_id")?,
        scope: scope.clone(),
        message_id: row.text("message_id")?,
        event_type: row.text("event_type")?,
        timestamp: row.int("timestamp")?,
        data: json_column(row, "data")?,
    })
}

pub(crate) fn captured(row: &impl Columns) -> Result<CapturedMessage, StoreError> {
    Ok(CapturedMessage {
        message_id: row.text("message_id")?,
        scope: scope(row)?,
        mail_from: row.text("mail_from")?,
        recipients: json_column(row, "recipients")?,
        raw: row.bytes("raw")?,
        captured_at: row.int("captured_at")?,
    })
}
