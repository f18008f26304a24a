//! Queries on `accounts` and `access_keys`.

use sesame_model::{AccessKeyRecord, AccountId, AccountRecord, StoreError};

use crate::error::map_err;
use crate::{rows, SqlStore};

const ACCOUNT_COLUMNS: &str = "account_id, name, status, created_at";
const KEY_COLUMNS: &str =
    "access_key_id, account_id, user_name, secret_ciphertext, status, created_at";

impl SqlStore {
    pub(crate) async fn create_account_row(&self, a: &AccountRecord) -> Result<(), StoreError> {
        const SQL: &str =
            "INSERT INTO accounts (account_id, name, status, created_at) VALUES ($1, $2, $3, $4)";
        with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(a.account_id.as_str())
                .bind(a.name.as_deref())
                .bind(&a.status)
                .bind(a.created_at)
                .execute(pool)
                .await
                .map_err(map_err)?;
        });
        Ok(())
    }

    pub(crate) async fn get_account_row(
        &self,
        id: &AccountId,
    ) -> Result<Option<AccountRecord>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE account_id = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            row.as_ref().map(rows::account).transpose()
        })
    }

    pub(crate) async fn list_account_rows(&self) -> Result<Vec<AccountRecord>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY account_id");
        with_pool!(self, pool => {
            let found = sqlx::query(&sql).fetch_all(pool).await.map_err(map_err)?;
            found.iter().map(rows::account).collect()
        })
    }

    pub(crate) async fn update_account_row(&self, a: &AccountRecord) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE accounts SET name = $1, status = $2 WHERE account_id = $3";
        let affected = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(a.name.as_deref())
                .bind(&a.status)
                .bind(a.account_id.as_str())
                .execute(pool)
                .await
                .map_err(map_err)?
                .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub(crate) async fn create_key_row(&self, k: &AccessKeyRecord) -> Result<(), StoreError> {
        let sql =
            format!("INSERT INTO access_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        with_pool!(self, pool => {
            sqlx::query(&sql)
                .bind(&k.access_key_id)
                .bind(k.account_id.as_str())
                .bind(&k.user_name)
                .bind(&k.secret_ciphertext)
                .bind(&k.status)
                .bind(k.created_at)
                .execute(pool)
                .await
                .map_err(map_err)?;
        });
        Ok(())
    }

    pub(crate) async fn get_key_row(
        &self,
        access_key_id: &str,
    ) -> Result<Option<AccessKeyRecord>, StoreError> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM access_keys WHERE access_key_id = $1");
        with_pool!(self, pool => {
            let row = sqlx::query(&sql)
                .bind(access_key_id)
                .fetch_optional(pool)
                .await
                .map_err(map_err)?;
            row.as_ref().map(rows::access_key).transpose()
        })
    }

    pub(crate) async fn list_key_rows(
        &self,
        account: &AccountId,
    ) -> Result<Vec<AccessKeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM access_keys WHERE account_id = $1 \
             ORDER BY created_at, access_key_id"
        );
        with_pool!(self, pool => {
            let found = sqlx::query(&sql)
                .bind(account.as_str())
                .fetch_all(pool)
                .await
                .map_err(map_err)?;
            found.iter().map(rows::access_key).collect()
        })
    }

    pub(crate) async fn delete_key_row(
        &self,
        account: &AccountId,
        access_key_id: &str,
    ) -> Result<bool, StoreError> {
        // The account condition is what stops one account deleting another's key by id.
        const SQL: &str = "DELETE FROM access_keys WHERE account_id = $1 AND access_key_id = $2";
        let affected = with_pool!(self, pool => {
            sqlx::query(SQL)
                .bind(account.as_str())
                .bind(access_key_id)
                .execute(pool)
                .await
                .map_err(map_err)?
                .rows_affected()
        });
        Ok(affected > 0)
    }
}
