//! [`SqlStore`]: opening a pool on SQLite or PostgreSQL with the settings durability needs.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sesame_model::StoreError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::map_err;

/// A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
const PG_CHECK_IDLE_AFTER: Duration = Duration::from_secs(5);

/// How long a SQLite connection waits for another writer before failing with `SQLITE_BUSY`.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The [`sesame_model::Store`] implementation for SQLite and PostgreSQL.
///
/// Cloning is cheap and shares the pool (sqlx pools are reference counted).
#[derive(Clone, Debug)]
pub struct SqlStore {
    pub(crate) pool: Pool,
    /// Group commit of `accept_messages` (see `group_commit.rs`).
    pub(crate) group: crate::group_commit::GroupCommit,
    /// SQLite allows one writer at a time: this process's write transactions take turns here
    /// (see [`SqlStore::sqlite_write_turn`]).
    pub(crate) sqlite_writer: Arc<tokio::sync::Mutex<()>>,
    /// SQLite file databases: the connection of bookkeeping transactions (see
    /// [`SqlStore::bookkeeping_connection`]).
    pub(crate) bookkeeping: Option<Arc<Bookkeeping>>,
}

/// A SQLite connection with `synchronous = NORMAL`, opened on first use, for the delivery
/// bookkeeping transactions (claims, finishing, retries, event dispatch) whose loss in a power
/// failure only makes work happen again (see `bookkeeping_tx!` in `sending.rs`).
#[derive(Debug)]
pub(crate) struct Bookkeeping {
    options: SqliteConnectOptions,
    conn: tokio::sync::Mutex<Option<sqlx::SqliteConnection>>,
}

/// The concrete pool. An enum rather than `sqlx::Any` so each backend keeps its native types
/// (BLOB/BYTEA, BIGINT) and error codes.
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl SqlStore {
    /// Opens a pool for `url`:
    /// - `sqlite:///abs/path/sesame.db` or `sqlite:relative.db`: the file is created if missing;
    ///   WAL journal, `synchronous=FULL` (a committed transaction is fsynced before the call
    ///   returns, so an acknowledged write survives kill -9 and power loss), busy timeout 5 s,
    ///   foreign keys on.
    /// - `postgres://…` or `postgresql://…`: the server's own durability settings apply.
    ///
    /// Does not touch the schema; call [`SqlStore::migrate`] next.
    pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(map_err)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(SQLITE_BUSY_TIMEOUT)
                .foreign_keys(true);
            // Every connection to `:memory:` is a database of its own: keep exactly one.
            let memory = url.contains(":memory:");
            let max = if memory { 1 } else { 8 };
            let bookkeeping = (!memory).then(|| {
                Arc::new(Bookkeeping {
                    options: options.clone().synchronous(SqliteSynchronous::Normal),
                    conn: tokio::sync::Mutex::new(None),
                })
            });
            let pool = SqlitePoolOptions::new()
                .max_connections(max)
                // A local file has no link to test: sqlx's ping before each acquire is a round
                // trip to the connection's worker thread (two thread switches) per query.
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .map_err(map_err)?;
            Ok(SqlStore {
                pool: Pool::Sqlite(pool),
                group: Default::default(),
                sqlite_writer: Default::default(),
                bookkeeping,
            })
        } else if is_postgres_url(url) {
            let options = PgConnectOptions::from_str(url).map_err(map_err)?;
            Self::connect_postgres(options).await
        } else {
            Err(StoreError::Backend(format!(
                "unsupported database URL scheme (want sqlite:, postgres: or postgresql:): {}",
                scheme_of(url)
            )))
        }
    }

    /// Opens a PostgreSQL pool whose connections use `schema` as their only `search_path`, so
    /// every table the store creates and reads lives in that schema. The schema must exist.
    ///
    /// Meant for tests (each test gets a fresh schema, so parallel runs never collide) and for
    /// operators who want Sesame in a dedicated schema of a shared database. `schema` must be a
    /// plain identifier: `[a-z_][a-z0-9_]*`, at most 63 bytes.
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<SqlStore, StoreError> {
        if !is_postgres_url(url) {
            return Err(StoreError::Backend(
                "connect_with_schema needs a postgres:// or postgresql:// URL".to_string(),
            ));
        }
        if !is_plain_identifier(schema) {
            return Err(StoreError::Backend(format!(
                "schema name must match [a-z_][a-z0-9_]{{0,62}}, got {schema:?}"
            )));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(map_err)?
            .options([("search_path", schema)]);
        Self::connect_postgres(options).await
    }

    async fn connect_postgres(options: PgConnectOptions) -> Result<SqlStore, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            // A ping before every acquire costs a round trip to the server per query; only a
            // connection idle for a while (when a server restart or a dropped link is likely)
            // is checked, and replaced when the check fails.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > PG_CHECK_IDLE_AFTER {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(map_err)?;
        Ok(SqlStore {
            pool: Pool::Postgres(pool),
            group: Default::default(),
            sqlite_writer: Default::default(),
            bookkeeping: None,
        })
    }

    /// Waits for this process's turn to open a SQLite write transaction (`BEGIN IMMEDIATE`),
    /// held until the returned guard drops. Without it, concurrent writers of one process (the
    /// accept and finish committers, claims, the event dispatcher) would meet at SQLite's write
    /// lock, where the loser sleeps in SQLite's busy handler (1, 2, 5, 10 … ms) instead of
    /// starting the moment the lock is free. Other processes (operator commands) still meet
    /// SQLite's lock and its busy timeout. Waiting longer than that timeout is an error, as a
    /// busy database is.
    pub(crate) async fn sqlite_write_turn(
        &self,
    ) -> Result<tokio::sync::OwnedMutexGuard<()>, StoreError> {
        tokio::time::timeout(SQLITE_BUSY_TIMEOUT, self.sqlite_writer.clone().lock_owned())
            .await
            .map_err(|_| {
                StoreError::Backend(format!(
                    "database is busy: no write turn within {} s",
                    SQLITE_BUSY_TIMEOUT.as_secs()
                ))
            })
    }

    /// The SQLite bookkeeping connection (`synchronous = NORMAL`), opened on first use; `None`
    /// for PostgreSQL and in-memory databases (their bookkeeping uses the pool). Hold the
    /// guard for the whole transaction; take the write turn first.
    pub(crate) async fn bookkeeping_connection(
        &self,
    ) -> Result<Option<tokio::sync::MappedMutexGuard<'_, sqlx::SqliteConnection>>, StoreError> {
        let Some(b) = &self.bookkeeping else {
            return Ok(None);
        };
        if matches!(&self.pool, Pool::Sqlite(p) if p.is_closed()) {
            return Err(StoreError::Backend("the store is closed".into()));
        }
        let mut guard = b.conn.lock().await;
        if guard.is_none() {
            use sqlx::ConnectOptions;
            *guard = Some(b.options.connect().await.map_err(map_err)?);
        }
        Ok(Some(tokio::sync::MutexGuard::map(guard, |c| {
            c.as_mut().expect("opened above")
        })))
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match self.pool {
            Pool::Sqlite(_) => "sqlite",
            Pool::Postgres(_) => "postgres",
        }
    }

    /// Runs one raw SQL statement. For tests of the schema itself (e.g. re-applying a
    /// migration to check its backfill); nothing in Sesame calls it.
    #[doc(hidden)]
    pub async fn execute_raw_for_tests(&self, sql: &str) -> Result<u64, StoreError> {
        with_pool!(self, pool => {
            Ok(sqlx::query(sql).execute(pool).await.map_err(map_err)?.rows_affected())
        })
    }

    /// Waits for checked-out connections to come back, then closes every connection. Later
    /// calls on this store (or its clones) fail with `Backend`.
    pub async fn close(&self) {
        if let Some(b) = &self.bookkeeping {
            if let Some(conn) = b.conn.lock().await.take() {
                let _ = sqlx::Connection::close(conn).await;
            }
        }
        with_pool!(self, pool => pool.close().await)
    }
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// The scheme only: URLs can carry passwords, which must not end up in error messages.
fn scheme_of(url: &str) -> &str {
    url.split_once(':').map_or("(none)", |(scheme, _)| scheme)
}

fn is_plain_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && s.len() <= 63
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// Unix milliseconds, the unit of every timestamp column.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for (input, ok) in [
            ("sesame", true),
            ("sesame_test_0af3", true),
            ("_x", true),
            ("", false),
            ("9lives", false),
            ("Upper", false),
            ("a-b", false),
            ("a;drop", false),
            ("a\"b", false),
        ] {
            assert_eq!(is_plain_identifier(input), ok, "{input}");
        }
        assert!(is_plain_identifier(&"a".repeat(63)));
        assert!(!is_plain_identifier(&"a".repeat(64)));
    }

    #[test]
    fn errors_never_echo_the_url() {
        assert_eq!(scheme_of("mysql://root:hunter2@db/x"), "mysql");
        assert_eq!(scheme_of("nonsense"), "(none)");
    }

    /// The durability settings are what the connection actually reports, not just what we asked.
    #[tokio::test]
    async fn sqlite_connections_are_durable() {
        let dir = std::env::temp_dir().join(format!("sesame-store-unit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/sesame.db", dir.display());
        let store = SqlStore::connect(&url).await.unwrap();
        let Pool::Sqlite(pool) = &store.pool else {
            panic!("not sqlite")
        };
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(sync, 2, "synchronous=FULL");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(fk, 1);
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(pool)
            .await
            .unwrap();
        assert_eq!(busy, 5000);
        // The bookkeeping connection (claims, finishing, retries; `bookkeeping_tx!`): the same
        // file and settings, except that its commits are not flushed one by one.
        {
            let mut conn = store.bookkeeping_connection().await.unwrap().unwrap();
            let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(sync, 1, "synchronous=NORMAL");
            let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(mode, "wal");
            let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(busy, 5000);
        }
        store.close().await;
        assert!(
            store.bookkeeping_connection().await.is_err(),
            "a closed store does not reopen its bookkeeping connection"
        );
        assert!(dir.join("sesame.db").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn unknown_schemes_are_refused() {
        let err = SqlStore::connect("mysql://root:hunter2@db/x")
            .await
            .unwrap_err();
        assert!(matches!(&err, StoreError::Backend(m) if !m.contains("hunter2")));
        let err = SqlStore::connect_with_schema("sqlite:x.db", "s")
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Backend(_)));
    }
}
