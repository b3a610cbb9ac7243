//! The session store: sessions survive restarts and are found again by id. [`SessionStore`] is
//! the contract (small, so that a PostgreSQL store can serve many replicas); [`SqliteStore`]
//! keeps them in an embedded SQLite file of the data folder, one row per session and one per
//! (query, database) pair, so that a finished pair is written alone.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use app::model::session::{Pair, PairState, Session, Status};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};

use crate::provider::BoxFuture;

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("session store: {0}")]
pub struct StoreError(pub String);

pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Stores a new session, with its pairs.
    fn create<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Replaces pair `position` of session `id`. Shared, not borrowed: it is encoded on the
    /// blocking pool, and the caller gets it back whole (`Arc::unwrap_or_clone`) once saved.
    fn save_pair<'a>(
        &'a self,
        id: &'a str,
        position: usize,
        pair: Arc<Pair>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn set_status<'a>(
        &'a self,
        id: &'a str,
        status: Status,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>>;
    /// Deletes sessions created before `created_before` (seconds since the epoch); returns how
    /// many.
    fn purge(&self, created_before: u64) -> BoxFuture<'_, Result<usize, StoreError>>;
    /// Marks sessions left running by a previous process as interrupted, their unfinished pairs
    /// failed; returns how many.
    fn interrupt_running(&self) -> BoxFuture<'_, Result<usize, StoreError>>;
    /// Whether the store takes writes now (for readiness checks; writes nothing).
    fn writable(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The store's size on disk, in bytes.
    fn bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
}

/// Sessions in an SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    connection: Arc<Mutex<Connection>>,
}

/// What a session row holds besides id, time and status.
#[derive(serde::Serialize, serde::Deserialize)]
struct Request {
    queries: Vec<app::model::query::Query>,
    databases: Vec<app::model::session::DatabaseRun>,
}

/// Copies the write-ahead log into the database every second from a connection of its own,
/// for as long as the store lives. SQLite's automatic checkpoint runs inside the commit that
/// crosses its threshold, with the store locked: under load one request in thirty waited for
/// a 4 MB copy and its sync.
fn checkpoint_in_background(path: PathBuf, store: Weak<Mutex<Connection>>) {
    let run = move || {
        let connection = match Connection::open(&path) {
            Ok(connection) => connection,
            Err(e) => return tracing::error!("{}: no checkpoints: {e}", path.display()),
        };
        while store.strong_count() > 0 {
            std::thread::sleep(Duration::from_secs(1));
            // PASSIVE: copies what no reader needs, never waits for the store's writes.
            if let Err(e) = connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                tracing::warn!("{}: checkpoint: {e}", path.display());
            }
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("sessions-checkpoint".into())
        .spawn(run)
    {
        tracing::error!("no checkpoint thread: {e}");
    }
}

fn status_of(name: &str) -> Status {
    match name {
        "running" => Status::Running,
        "done" => Status::Done,
        "cancelled" => Status::Cancelled,
        _ => Status::Interrupted,
    }
}

impl SqliteStore {
    /// Opens (creating if needed) `sessions.sqlite` in `data_dir`.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError(format!("{}: {e}", data_dir.display()));
        std::fs::create_dir_all(data_dir).map_err(|e| fail(&e))?;
        let connection =
            Connection::open(data_dir.join("sessions.sqlite")).map_err(|e| fail(&e))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 -- In WAL mode, NORMAL survives a crash of the process; only a power cut may
                 -- lose the last writes. A sync per finished pair would cap throughput.
                 PRAGMA synchronous = NORMAL;
                 -- Checkpoints run on their own thread (below); this one only if that falls
                 -- far behind.
                 PRAGMA wal_autocheckpoint = 16384;
                 PRAGMA foreign_keys = ON;
                 CREATE TABLE IF NOT EXISTS sessions (
                     id TEXT PRIMARY KEY,
                     created INTEGER NOT NULL,
                     status TEXT NOT NULL,
                     -- deflated JSON (plain JSON text in stores made before)
                     request BLOB NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS pairs (
                     session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                     position INTEGER NOT NULL,
                     body BLOB NOT NULL,
                     PRIMARY KEY (session, position)
                 );
                 CREATE INDEX IF NOT EXISTS sessions_created ON sessions(created);",
            )
            .map_err(|e| fail(&e))?;
        let connection = Arc::new(Mutex::new(connection));
        checkpoint_in_background(
            data_dir.join("sessions.sqlite"),
            Arc::downgrade(&connection),
        );
        Ok(SqliteStore { connection })
    }

    /// Runs `work` on the connection, on the blocking pool.
    fn with<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        self.encode_then(|| Ok(()), move |connection, ()| work(connection))
    }

    /// Runs `encode` on the blocking pool, then `work` with its output on the connection:
    /// encoding holds neither an async worker nor the connection.
    fn encode_then<E: Send + 'static, T: Send + 'static>(
        &self,
        encode: impl FnOnce() -> Result<E, StoreError> + Send + 'static,
        work: impl FnOnce(&mut Connection, E) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let connection = Arc::clone(&self.connection);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let encoded = encode()?;
                work(&mut connection.lock().expect("not poisoned"), encoded)
            })
            .await
            .map_err(|e| StoreError(e.to_string()))?
        })
    }
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError(e.to_string())
}

/// A stored value: its JSON, deflated (a pair's hits shrink about sixfold, and so does the
/// disk traffic that made requests wait on the file system).
fn pack<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    // Whole, then compressed in one call: the compressor pays a fixed cost per write, and
    // serde writes in tiny pieces.
    let json = serde_json::to_vec(value).map_err(|e| StoreError(e.to_string()))?;
    let mut out = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    out.write_all(&json)
        .and_then(|()| out.finish())
        .map_err(|e| StoreError(e.to_string()))
}

/// A value as [`pack`] stores it, or as plain JSON text (how stores made before kept it).
fn unpack<T: serde::de::DeserializeOwned>(stored: ValueRef) -> Result<T, StoreError> {
    let fail = |e: &dyn std::fmt::Display| StoreError(format!("a stored session: {e}"));
    match stored {
        ValueRef::Text(json) => serde_json::from_slice(json).map_err(|e| fail(&e)),
        ValueRef::Blob(packed) => {
            serde_json::from_reader(flate2::read::DeflateDecoder::new(packed)).map_err(|e| fail(&e))
        }
        other => Err(fail(&format!("a {:?} value", other.data_type()))),
    }
}

fn load(connection: &Connection, id: &str) -> Result<Option<Session>, StoreError> {
    let row = connection
        .query_row(
            "SELECT created, status, request FROM sessions WHERE id = ?1",
            [id],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    unpack::<Request>(row.get_ref(2)?),
                ))
            },
        )
        .optional()
        .map_err(sql)?;
    let Some((created, status, request)) = row else {
        return Ok(None);
    };
    let request = request?;
    let mut statement = connection
        .prepare_cached("SELECT body FROM pairs WHERE session = ?1 ORDER BY position")
        .map_err(sql)?;
    let mut rows = statement.query([id]).map_err(sql)?;
    let mut pairs = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        pairs.push(unpack::<Pair>(row.get_ref(0).map_err(sql)?)?);
    }
    Ok(Some(Session {
        id: id.to_owned(),
        created: created as u64,
        status: status_of(&status),
        queries: request.queries,
        databases: request.databases,
        pairs,
    }))
}

impl SessionStore for SqliteStore {
    fn create<'a>(&'a self, session: &'a Session) -> BoxFuture<'a, Result<(), StoreError>> {
        let session = session.clone();
        self.with(move |connection| {
            let request = pack(&Request {
                queries: session.queries.clone(),
                databases: session.databases.clone(),
            })?;
            let tx = connection.transaction().map_err(sql)?;
            tx.execute(
                "INSERT INTO sessions (id, created, status, request) VALUES (?1, ?2, ?3, ?4)",
                params![
                    session.id,
                    session.created as i64,
                    session.status.as_str(),
                    request
                ],
            )
            .map_err(sql)?;
            for (position, pair) in session.pairs.iter().enumerate() {
                tx.execute(
                    "INSERT INTO pairs (session, position, body) VALUES (?1, ?2, ?3)",
                    params![session.id, position as i64, pack(pair)?],
                )
                .map_err(sql)?;
            }
            tx.commit().map_err(sql)
        })
    }

    fn save_pair<'a>(
        &'a self,
        id: &'a str,
        position: usize,
        pair: Arc<Pair>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let id = id.to_owned();
        // Dropped once encoded: the caller takes it back without a copy.
        let encode = move || pack(&*pair);
        self.encode_then(encode, move |connection, body| {
            connection
                .execute(
                    "UPDATE pairs SET body = ?3 WHERE session = ?1 AND position = ?2",
                    params![id, position as i64, body],
                )
                .map_err(sql)?;
            Ok(())
        })
    }

    fn set_status<'a>(
        &'a self,
        id: &'a str,
        status: Status,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let id = id.to_owned();
        self.with(move |connection| {
            connection
                .execute(
                    "UPDATE sessions SET status = ?2 WHERE id = ?1",
                    params![id, status.as_str()],
                )
                .map_err(sql)?;
            Ok(())
        })
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        let id = id.to_owned();
        self.with(move |connection| load(connection, &id))
    }

    fn purge(&self, created_before: u64) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.with(move |connection| {
            connection
                .execute(
                    "DELETE FROM sessions WHERE created < ?1",
                    [created_before as i64],
                )
                .map_err(sql)
        })
    }

    fn interrupt_running(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.with(|connection| {
            let ids: Vec<String> = connection
                .prepare("SELECT id FROM sessions WHERE status = 'running'")
                .map_err(sql)?
                .query_map([], |row| row.get(0))
                .map_err(sql)?
                .collect::<Result<_, _>>()
                .map_err(sql)?;
            let tx = connection.transaction().map_err(sql)?;
            for id in &ids {
                let Some(session) = load(&tx, id)? else {
                    continue;
                };
                for (position, mut pair) in session.pairs.into_iter().enumerate() {
                    if pair.state == PairState::Pending {
                        pair.state = PairState::Failed;
                        pair.error = Some(crate::jobs::INTERRUPTED.into());
                        tx.execute(
                            "UPDATE pairs SET body = ?3 WHERE session = ?1 AND position = ?2",
                            params![id, position as i64, pack(&pair)?],
                        )
                        .map_err(sql)?;
                    }
                }
                tx.execute(
                    "UPDATE sessions SET status = 'interrupted' WHERE id = ?1",
                    [id],
                )
                .map_err(sql)?;
            }
            tx.commit().map_err(sql)?;
            Ok(ids.len())
        })
    }

    fn writable(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        // Takes the write lock (a read-only or full disk fails here), then lets it go.
        self.with(|connection| {
            connection
                .execute_batch("BEGIN IMMEDIATE; ROLLBACK;")
                .map_err(sql)
        })
    }

    fn bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.with(|connection| {
            let pages: i64 = connection
                .query_row(
                    "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                    [],
                    |row| row.get(0),
                )
                .map_err(sql)?;
            // The write-ahead log is part of it until checkpointed.
            let log = connection
                .path()
                .and_then(|p| std::fs::metadata(format!("{p}-wal")).ok())
                .map_or(0, |m| m.len());
            Ok(pages as u64 + log)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::session::DatabaseRun;

    fn session(id: &str, created: u64, status: Status) -> Session {
        Session {
            id: id.into(),
            created,
            status,
            queries: vec![app::model::query::Query {
                name: "q".into(),
                seq: "ACGT".into(),
            }],
            databases: vec![DatabaseRun {
                name: "db".into(),
                options: Default::default(),
            }],
            pairs: vec![Pair {
                query: "q".into(),
                database: "db".into(),
                state: PairState::Pending,
                error: None,
                result: None,
            }],
        }
    }

    #[tokio::test]
    async fn purges_by_age_and_interrupts_what_was_running() {
        let dir = std::env::temp_dir().join(format!("kmviz-store-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SqliteStore::open(&dir).unwrap();
        store
            .create(&session("old", 1_000, Status::Done))
            .await
            .unwrap();
        store
            .create(&session("new", 5_000, Status::Running))
            .await
            .unwrap();
        assert_eq!(store.purge(2_000).await.unwrap(), 1);
        assert_eq!(store.load("old").await.unwrap(), None);
        // A second process opening the same folder finds the running session interrupted.
        let reopened = SqliteStore::open(&dir).unwrap();
        assert_eq!(reopened.interrupt_running().await.unwrap(), 1);
        let new = reopened.load("new").await.unwrap().unwrap();
        assert_eq!(new.status, Status::Interrupted);
        assert_eq!(new.pairs[0].state, PairState::Failed);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn reads_sessions_stored_as_plain_json_and_stores_them_packed() {
        let dir = std::env::temp_dir().join(format!("kmviz-store-json-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = SqliteStore::open(&dir).unwrap();
        let old = session("old", 1_000, Status::Done);
        // As the store wrote sessions before it deflated them.
        {
            let connection = store.connection.lock().unwrap();
            connection
                .execute(
                    "INSERT INTO sessions (id, created, status, request) VALUES ('old', 1000, 'done', ?1)",
                    [serde_json::to_string(&Request {
                        queries: old.queries.clone(),
                        databases: old.databases.clone(),
                    })
                    .unwrap()],
                )
                .unwrap();
            connection
                .execute(
                    "INSERT INTO pairs (session, position, body) VALUES ('old', 0, ?1)",
                    [serde_json::to_string(&old.pairs[0]).unwrap()],
                )
                .unwrap();
        }
        assert_eq!(store.load("old").await.unwrap(), Some(old.clone()));
        let mut done = old.pairs[0].clone();
        done.state = PairState::Done;
        store
            .save_pair("old", 0, Arc::new(done.clone()))
            .await
            .unwrap();
        let kind: String = store
            .connection
            .lock()
            .unwrap()
            .query_row("SELECT typeof(body) FROM pairs", [], |row| row.get(0))
            .unwrap();
        assert_eq!(kind, "blob");
        assert_eq!(store.load("old").await.unwrap().unwrap().pairs, vec![done]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
