//! The one mapping from sqlx errors to the port's [`StoreError`].

use sesame_model::StoreError;

/// Unique (and primary key) violations become `AlreadyExists`; everything else is `Backend`,
/// which callers treat as temporary.
pub(crate) fn map_err(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::AlreadyExists,
        _ => StoreError::Backend(err.to_string()),
    }
}

/// A row or value the store itself cannot interpret (e.g. a corrupt document).
pub(crate) fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("corrupt {what}: {detail}"))
}
