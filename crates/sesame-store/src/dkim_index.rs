//! The Easy DKIM key index `dkim_selectors` (maintained by the identity writes of
//! `resources.rs`) and the operator's DKIM keys `operator_dkim_keys` (migration 0008;
//! DECISIONS Q-65 (a), Q-72).

use sesame_model::{DkimSelector, OperatorDkimKey, StoreError};

use crate::error::map_err;
use crate::rows::Columns;
use crate::SqlStore;

impl SqlStore {
    /// One primary-key lookup (the token is the key's first column).
    pub(crate) async fn find_dkim_selector_row(
        &self,
        token: &str,
    ) -> Result<Option<DkimSelector>, StoreError> {
        const SQL: &str = "SELECT token, account_id, region, identity, public_key \
            FROM dkim_selectors WHERE token = $1 \
            ORDER BY account_id, region, identity LIMIT 1";
        with_pool!(self, pool => {
            let row = sqlx::query(SQL)
                .bind(token)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            row.as_ref().map(selector).transpose()
        })
    }

    pub(crate) async fn get_operator_dkim_key_row(
        &self,
        selector: &str,
    ) -> Result<Option<OperatorDkimKey>, StoreError> {
        const SQL: &str = "SELECT selector, private_key_sealed, public_key, bits, created_at \
            FROM operator_dkim_keys WHERE selector = $1";
        with_pool!(self, pool => {
            let row = sqlx::query(SQL)
                .bind(selector)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            row.as_ref().map(operator_key).transpose()
        })
    }

    /// Insert-if-absent, then read back: whoever inserted first, every caller gets that key.
    pub(crate) async fn insert_operator_dkim_key_row(
        &self,
        key: &OperatorDkimKey,
    ) -> Result<OperatorDkimKey, StoreError> {
        const SQL: &str = "INSERT INTO operator_dkim_keys \
            (selector, private_key_sealed, public_key, bits, created_at) \
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (selector) DO NOTHING";
        with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(&key.selector)
                .bind(&key.private_key_sealed)
                .bind(&key.public_key)
                .bind(key.bits)
                .bind(key.created_at)
                .execute(pool)
                .await
                .map_err(map_err)?;
        });
        self.get_operator_dkim_key_row(&key.selector)
            .await?
            .ok_or_else(|| StoreError::Backend("operator DKIM key vanished after insert".into()))
    }
}

fn selector(row: &impl Columns) -> Result<DkimSelector, StoreError> {
    Ok(DkimSelector {
        token: row.text("token")?,
        scope: crate::rows::scope(row)?,
        identity: row.text("identity")?,
        public_key: row.text("public_key")?,
    })
}

fn operator_key(row: &impl Columns) -> Result<OperatorDkimKey, StoreError> {
    Ok(OperatorDkimKey {
        selector: row.text("selector")?,
        private_key_sealed: row.text("private_key_sealed")?,
        public_key: row.text("public_key")?,
        bits: row.int("bits")?,
        created_at: row.int("created_at")?,
    })
}
