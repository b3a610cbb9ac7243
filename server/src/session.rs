//! The session store: sessions survive restarts and are found again by id. [`SessionStore`] is
//! the contract; [`SqliteStore`] keeps them in an embedded SQLite file of the data folder, one
//! row per session and one per (query, database) pair, so that a finished pair is written
//! alone. [`PgStore`] keeps them in PostgreSQL for several replicas, with the job [`Queue`]
//! they share.

mod postgres;
pub use postgres::PgStore;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak, mpsc};
use std::time::Duration;

use app::api::SessionSummary;
use app::model::query::Query;
use app::model::session::{DatabaseRun, Pair, PairState, Session, Status};
use lz4_flex::block::{CompressTable, compress_into_with_table, get_maximum_output_size};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension, params};

use crate::future::BoxFuture;
use crate::token::Token;

/// Why the store failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("session store: {0}")]
pub struct StoreError(pub String);

pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Stores a new session, with its pairs, and where to mail when its job ends.
    fn create<'a>(
        &'a self,
        session: &'a Session,
        notify: Option<String>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
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
    /// Whether the store takes writes now (for readiness checks; writes nothing).
    fn writable(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The store's size on disk, in bytes.
    fn bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// The sessions `owner` made, newest first, at most `limit`.
    fn sessions_of(
        &self,
        owner: String,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<SessionSummary>, StoreError>>;
    /// Deletes session `id` with its pairs; whether it was there.
    fn delete(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>>;
    fn add_token(&self, token: Token) -> BoxFuture<'_, Result<(), StoreError>>;
    fn token(&self, id: String) -> BoxFuture<'_, Result<Option<Token>, StoreError>>;
    /// Every token, oldest first.
    fn tokens(&self) -> BoxFuture<'_, Result<Vec<Token>, StoreError>>;
    /// Forgets token `id` (it opens nothing from then on); whether it was there.
    fn revoke_token(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>>;
}

/// A pair a replica claimed from a [`Queue`]: what to run, and for which session.
#[derive(Debug, Clone)]
pub struct Claim {
    pub session: String,
    pub position: usize,
    pub query: Query,
    pub run: DatabaseRun,
    /// Where the session's submitter asked to be mailed.
    pub notify: Option<String>,
}

/// What became of a claimed pair once finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Stored; the session runs on.
    Saved,
    /// Stored, and it was the session's last pair: the session is done.
    Ended,
    /// Not stored: the claim was lost (the session was cancelled, or the lease expired and
    /// another replica took the pair).
    Lost,
}

/// News from a [`Queue`], whichever replica made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Pairs are waiting to be claimed.
    Work,
    /// A pair of session `id` changed.
    Pair { id: String, position: usize },
    /// Session `id` ended (done or cancelled).
    Ended { id: String },
    /// News may have been missed (the store was out of reach): watchers read sessions again.
    Missed,
}

/// The job queue of a store that several replicas share: every pair of a running session is
/// claimed by one replica at a time, for a lease it renews while it runs the pair. A replica
/// that dies leaves its pairs to the others once their leases expire; a pair's outcome is
/// stored once, by the replica that holds its claim.
pub trait Queue: Send + Sync + std::fmt::Debug {
    /// Claims up to `most` of the next pairs no live replica holds (oldest session first).
    fn claim(&self, most: usize) -> BoxFuture<'_, Result<Vec<Claim>, StoreError>>;
    /// Extends the leases of every pair this replica holds.
    fn renew(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// Stores the outcome of a claimed pair, unless the claim was lost.
    fn finish<'a>(
        &'a self,
        claim: &'a Claim,
        pair: Arc<Pair>,
    ) -> BoxFuture<'a, Result<Finished, StoreError>>;
    /// Gives back the pairs this replica holds (for a stop): others claim them at once.
    fn release(&self) -> BoxFuture<'_, Result<usize, StoreError>>;
    /// Cancels session `id`: its unfinished pairs are cancelled, their claims lost. Whether it
    /// was running.
    fn cancel(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>>;
    /// Pair `position` of session `id`, as stored.
    fn pair(&self, id: String, position: usize) -> BoxFuture<'_, Result<Option<Pair>, StoreError>>;
    /// The status of each of `ids` still stored.
    fn statuses(
        &self,
        ids: Vec<String>,
    ) -> BoxFuture<'_, Result<Vec<(String, Status)>, StoreError>>;
    /// How long a claim holds without a renewal.
    fn lease(&self) -> Duration;
    /// The news of every replica from now on.
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Change>;
}

/// Where an instance keeps its sessions.
#[derive(Debug, Clone)]
pub enum Place {
    /// `sessions.sqlite` in a folder, for one process.
    Folder(PathBuf),
    /// A PostgreSQL database, for replicas: claims on pairs hold for `lease`.
    Postgres { url: String, lease: Duration },
}

/// A store, opened.
#[derive(Debug)]
pub enum Opened {
    Local(SqliteStore),
    Shared(PgStore),
}

impl Place {
    pub async fn open(&self) -> Result<Opened, StoreError> {
        Ok(match self {
            Place::Folder(dir) => Opened::Local(SqliteStore::open(dir)?),
            Place::Postgres { url, lease } => Opened::Shared(PgStore::open(url, *lease).await?),
        })
    }
}

impl std::fmt::Display for Place {
    /// Where, without a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Folder(dir) => write!(f, "in {}", dir.display()),
            Place::Postgres { .. } => f.write_str("PostgreSQL, sessions.url"),
        }
    }
}

impl Opened {
    pub fn store(self) -> Arc<dyn SessionStore> {
        match self {
            Opened::Local(store) => Arc::new(store),
            Opened::Shared(store) => Arc::new(store),
        }
    }
}

/// Sessions in an SQLite file. Writes go to one thread that commits whatever has queued up
/// meanwhile in one transaction (a group commit): under load, requests no longer take turns
/// at a shared connection one commit each, and only that thread waits on the disk. Reads have
/// a connection of their own, beside the writes (WAL).
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writes: mpsc::Sender<Write>,
    reader: Arc<Mutex<Connection>>,
}

/// A write for the writer thread: it runs in the group's transaction (or is told why there is
/// none) and hands back what to do once the group is committed (or not).
type Write = Box<dyn FnOnce(Result<&Connection, StoreError>) -> Committed + Send>;
type Committed = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// Most writes in one transaction: a group holds the next ones back until it is committed.
const GROUP: usize = 64;

/// What a session row holds besides id, time and status.
#[derive(serde::Serialize, serde::Deserialize)]
struct Request {
    queries: Vec<app::model::query::Query>,
    databases: Vec<app::model::session::DatabaseRun>,
    /// Where to mail when the job ends (never answered to clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notify: Option<String>,
}

impl Request {
    /// The session of this request, as a store read it back.
    fn into_stored(
        self,
        id: String,
        created: i64,
        status: &str,
        owner: Option<String>,
        pairs: Vec<Pair>,
    ) -> Stored {
        Stored {
            session: Session {
                id,
                created: created as u64,
                status: status_of(status),
                owner,
                queries: self.queries,
                databases: self.databases,
                pairs,
            },
            notify: self.notify,
        }
    }

    /// What a listing of sessions says of this one.
    fn summary(self, id: String, created: i64, status: &str) -> SessionSummary {
        SessionSummary {
            id,
            created: created as u64,
            status: status_of(status),
            queries: self.queries.len(),
            databases: self.databases.into_iter().map(|d| d.name).collect(),
        }
    }
}

/// Runs `work` (encoding, decoding) off the async workers ([`crate::cpu::run`]).
async fn on_cpu<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    crate::cpu::run(work)
        .await
        .map_err(|e| StoreError(e.to_string()))?
}

/// A session as stored, with where its submitter asked to be mailed.
#[derive(Debug)]
pub struct Stored {
    pub session: Session,
    pub notify: Option<String>,
}

/// Copies the write-ahead log into the database four times a second, from a connection of
/// its own, for as long as the store lives: apart from the writer, whose commits would wait
/// for the copy and its syncs, and often, so that each sync has little to write. Under
/// steady writes the log is never wholly copied at the moment a write begins, so it would
/// only grow: past [`RESTART_AT`], a checkpoint holds the writes back (while it copies the
/// last frames and syncs) so that the next write starts the log over from its beginning.
fn checkpoint_in_background(path: PathBuf, store: Weak<Mutex<Connection>>) {
    let run = move || {
        // A restart holds the writes back while it waits for readers to leave the log: waits
        // of a millisecond (not SQLite's backoff, which sleeps 53 ms within 6 tries), 50 at
        // most; a restart that finds readers still there is tried again at the next turn.
        let waiting = |connection: Connection| {
            connection.busy_handler(Some(|tries| {
                std::thread::sleep(Duration::from_millis(1));
                tries < 50
            }))?;
            Ok(connection)
        };
        let connection = match connect(&path).and_then(waiting) {
            Ok(connection) => connection,
            Err(e) => return tracing::error!("{}: no checkpoints: {e}", path.display()),
        };
        let checkpoint = |mode: &str| {
            connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
                row.get::<_, i64>(1)
            })
        };
        while store.strong_count() > 0 {
            std::thread::sleep(Duration::from_millis(250));
            // PASSIVE: copies what no reader needs, never waits for the store's writes.
            let outcome = checkpoint("PASSIVE").and_then(|frames| {
                if frames > RESTART_AT {
                    checkpoint("RESTART")
                } else {
                    Ok(frames)
                }
            });
            if let Err(e) = outcome {
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

/// Frames (pages of 4 KB) of write-ahead log past which it is started over: 192 MB. A restart
/// holds the writes back for its syncs (60–75 ms here at that size, 25 ms at 64 MB), so
/// seldom: every 3 s under the heaviest load, when the stall reaches under 1% of requests.
const RESTART_AT: i64 = 49_152;

/// The writer thread: takes the writes that have queued up, runs each in a savepoint of one
/// transaction and commits them together, until every [`SqliteStore`] is dropped.
fn write_in_groups(connection: Connection, writes: mpsc::Receiver<Write>) {
    while let Ok(first) = writes.recv() {
        let group: Vec<Write> = std::iter::once(first)
            .chain(writes.try_iter().take(GROUP - 1))
            .collect();
        if let Err(e) = connection.execute_batch("BEGIN IMMEDIATE") {
            // A read-only or locked store: no write of the group can be made.
            let e = sql(e);
            for write in group {
                write(Err(e.clone()))(Ok(()));
            }
            continue;
        }
        let committed: Vec<Committed> = group.into_iter().map(|w| w(Ok(&connection))).collect();
        let outcome = connection.execute_batch("COMMIT").map_err(sql);
        if outcome.is_err() {
            let _ = connection.execute_batch("ROLLBACK");
        }
        for done in committed {
            done(outcome.clone());
        }
    }
}

/// Runs `work` in a savepoint: a failed write leaves the others of its group untouched.
fn in_savepoint<T>(
    connection: &Connection,
    work: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    connection.execute_batch("SAVEPOINT write").map_err(sql)?;
    let outcome = work(connection);
    let end = match outcome {
        Ok(_) => "RELEASE write",
        Err(_) => "ROLLBACK TO write; RELEASE write",
    };
    connection.execute_batch(end).map_err(sql)?;
    outcome
}

/// Runs a cached statement.
fn execute(
    connection: &Connection,
    sql_text: &str,
    values: impl rusqlite::Params,
) -> Result<usize, StoreError> {
    connection
        .prepare_cached(sql_text)
        .and_then(|mut statement| statement.execute(values))
        .map_err(sql)
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
        let connection = connect(&data_dir.join("sessions.sqlite")).map_err(|e| fail(&e))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 -- In WAL mode, NORMAL survives a crash of the process; only a power cut may
                 -- lose the last writes. A sync per finished pair would cap throughput.
                 PRAGMA synchronous = NORMAL;
                 -- Checkpoints run on their own thread (below), which also starts the log
                 -- over. The writer's own (which would hold every write queued behind its
                 -- syncs, ~40 ms here) is a fallback: at 256 MB. A log grown past that
                 -- is trimmed when it starts over (which took ~150 ms more).
                 PRAGMA wal_autocheckpoint = 65536;
                 PRAGMA journal_size_limit = 268435456;
                 PRAGMA foreign_keys = ON;
                 CREATE TABLE IF NOT EXISTS sessions (
                     id TEXT PRIMARY KEY,
                     created INTEGER NOT NULL,
                     status TEXT NOT NULL,
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
        migrate(&connection).map_err(|e| fail(&e))?;
        let path = data_dir.join("sessions.sqlite");
        let reader = Arc::new(Mutex::new(connect(&path).map_err(|e| fail(&e))?));
        let (writes, queued) = mpsc::channel();
        std::thread::Builder::new()
            .name("sessions-writer".into())
            .spawn(move || write_in_groups(connection, queued))
            .map_err(|e| fail(&e))?;
        checkpoint_in_background(path, Arc::downgrade(&reader));
        Ok(SqliteStore { writes, reader })
    }

    /// Marks sessions left running by a previous process as interrupted, their unfinished
    /// pairs failed; returns them so (with where to mail). Only for a store one process uses.
    pub fn interrupt_running(&self) -> BoxFuture<'static, Result<Vec<Stored>, StoreError>> {
        self.write(|connection| {
            let ids: Vec<String> = connection
                .prepare("SELECT id FROM sessions WHERE status = 'running'")
                .map_err(sql)?
                .query_map([], |row| row.get(0))
                .map_err(sql)?
                .collect::<Result<_, _>>()
                .map_err(sql)?;
            let mut interrupted = Vec::with_capacity(ids.len());
            for id in &ids {
                let Some(mut left) = load(connection, id)? else {
                    continue;
                };
                for (position, pair) in left.session.pairs.iter_mut().enumerate() {
                    if pair.state == PairState::Pending {
                        pair.state = PairState::Failed;
                        pair.error = Some(crate::jobs::INTERRUPTED.into());
                        update_pair(connection, id, position, pack(&*pair)?)?;
                    }
                }
                execute(
                    connection,
                    "UPDATE sessions SET status = 'interrupted' WHERE id = ?1",
                    [id],
                )?;
                left.session.status = Status::Interrupted;
                interrupted.push(left);
            }
            Ok(interrupted)
        })
    }

    /// Runs `read` on the reading connection, on the blocking pool.
    fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let reader = Arc::clone(&self.reader);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || read(&reader.lock().expect("not poisoned")))
                .await
                .map_err(|e| StoreError(e.to_string()))?
        })
    }

    /// Queues `work` for the writer; answers once its group is committed.
    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let queued = self
            .writes
            .send(Box::new(move |connection: Result<&Connection, _>| {
                let outcome = connection.and_then(|connection| in_savepoint(connection, work));
                Box::new(move |committed| {
                    let _ = answer.send(committed.and(outcome));
                })
            }));
        Box::pin(async move {
            queued.map_err(|_| StoreError("the writer has stopped".into()))?;
            answered
                .await
                .map_err(|_| StoreError("the writer has stopped".into()))?
        })
    }

    /// Encodes with `encode` on the blocking pool, then writes with `work`: the writer
    /// thread only writes.
    fn encode_then_write<E: Send + 'static, T: Send + 'static>(
        &self,
        encode: impl FnOnce() -> Result<E, StoreError> + Send + 'static,
        work: impl FnOnce(&Connection, E) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let store = self.clone();
        Box::pin(async move {
            // Queued from the blocking pool as soon as it is encoded.
            let written = on_cpu(move || {
                let encoded = encode()?;
                Ok(store.write(move |connection| work(connection, encoded)))
            })
            .await?;
            written.await
        })
    }
}

/// A connection to the store at `path`. It does not checkpoint when it closes: that takes an
/// exclusive lock, and in SQLite 3.51.1 an exclusive lock taken while another connection of the
/// process closes can deadlock both in the unix VFS (a lock-order inversion, seen in the tests,
/// which open and close many stores in one process). The checkpoint thread keeps the log short.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open(path)?;
    connection.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )?;
    Ok(connection)
}

fn sql(e: rusqlite::Error) -> StoreError {
    StoreError(e.to_string())
}

/// Brings a store made by an earlier kmviz to this one's schema (`user_version`).
fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    let version: i64 = connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version < 1 {
        // Version 1: each request and pair says how its body is encoded.
        connection.execute_batch(&format!(
            "BEGIN;
             ALTER TABLE sessions ADD COLUMN format INTEGER NOT NULL DEFAULT {JSON};
             ALTER TABLE pairs ADD COLUMN format INTEGER NOT NULL DEFAULT {JSON};
             PRAGMA user_version = 1;
             COMMIT;"
        ))?;
    }
    if version < 2 {
        // Version 2: sessions have owners; API tokens.
        connection.execute_batch(
            "BEGIN;
             ALTER TABLE sessions ADD COLUMN owner TEXT;
             CREATE INDEX sessions_owner ON sessions(owner, created);
             CREATE TABLE tokens (
                 id TEXT PRIMARY KEY,
                 name TEXT NOT NULL,
                 created INTEGER NOT NULL,
                 secret_hash TEXT NOT NULL
             );
             PRAGMA user_version = 2;
             COMMIT;",
        )?;
    }
    Ok(())
}

/// A stored body in JSON: plain text, or deflated in a BLOB (how earlier stores kept them).
const JSON: i64 = 1;
/// A stored body in MessagePack, LZ4-compressed: no number is printed or parsed, and the
/// compression runs at memory speed (JSON and deflate took a quarter of the server's time).
const MSGPACK_LZ4: i64 = 2;

/// A value as the store keeps it ([`MSGPACK_LZ4`]): the size, then the compressed block.
/// Fields are named: optional ones may be left out.
fn pack<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    thread_local! {
        /// Reused: a zeroed output buffer and a compressor table per call cost as much as the
        /// compression itself.
        static BUFFERS: RefCell<(Vec<u8>, Vec<u8>, CompressTable)> = RefCell::default();
    }
    /// What a thread keeps between calls; more (one huge pair) is let go.
    const KEEP: usize = 4 << 20;
    let fail = |e: &dyn std::fmt::Display| StoreError(format!("encoding a session: {e}"));
    BUFFERS.with_borrow_mut(|(encoded, compressed, table)| {
        encoded.clear();
        rmp_serde::encode::write_named(encoded, value).map_err(|e| fail(&e))?;
        let size = u32::try_from(encoded.len()).map_err(|e| fail(&e))?;
        compressed.resize(
            compressed.len().max(get_maximum_output_size(encoded.len())),
            0,
        );
        let written = compress_into_with_table(encoded, compressed, table).map_err(|e| fail(&e))?;
        let mut packed = Vec::with_capacity(4 + written);
        packed.extend_from_slice(&size.to_le_bytes());
        packed.extend_from_slice(&compressed[..written]);
        if encoded.capacity() > KEEP {
            (*encoded, *compressed) = (Vec::new(), Vec::new());
        }
        Ok(packed)
    })
}

/// A value stored in `format`.
fn unpack<T: serde::de::DeserializeOwned>(format: i64, stored: ValueRef) -> Result<T, StoreError> {
    let fail = |e: &dyn std::fmt::Display| StoreError(format!("a stored session: {e}"));
    match (format, stored) {
        (MSGPACK_LZ4, ValueRef::Blob(packed)) => unpack_packed(packed),
        (JSON, ValueRef::Text(json)) => serde_json::from_slice(json).map_err(|e| fail(&e)),
        (JSON, ValueRef::Blob(deflated)) => {
            serde_json::from_reader(flate2::read::DeflateDecoder::new(deflated))
                .map_err(|e| fail(&e))
        }
        (format, other) => Err(fail(&format!(
            "a {:?} value in format {format}",
            other.data_type()
        ))),
    }
}

/// A value [`pack`] made.
fn unpack_packed<T: serde::de::DeserializeOwned>(packed: &[u8]) -> Result<T, StoreError> {
    let fail = |e: &dyn std::fmt::Display| StoreError(format!("a stored session: {e}"));
    let encoded = lz4_flex::decompress_size_prepended(packed).map_err(|e| fail(&e))?;
    rmp_serde::from_slice(&encoded).map_err(|e| fail(&e))
}

/// Session `id`, with where to mail when its job ends.
fn load(connection: &Connection, id: &str) -> Result<Option<Stored>, StoreError> {
    let row = connection
        .query_row(
            "SELECT created, status, format, request, owner FROM sessions WHERE id = ?1",
            [id],
            |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, String>(1)?,
                    unpack::<Request>(row.get(2)?, row.get_ref(3)?),
                    row.get::<_, Option<String>>(4)?,
                ))
            },
        )
        .optional()
        .map_err(sql)?;
    let Some((created, status, request, owner)) = row else {
        return Ok(None);
    };
    let request = request?;
    let mut statement = connection
        .prepare_cached("SELECT format, body FROM pairs WHERE session = ?1 ORDER BY position")
        .map_err(sql)?;
    let mut rows = statement.query([id]).map_err(sql)?;
    let mut pairs = Vec::new();
    while let Some(row) = rows.next().map_err(sql)? {
        let format = row.get(0).map_err(sql)?;
        pairs.push(unpack::<Pair>(format, row.get_ref(1).map_err(sql)?)?);
    }
    Ok(Some(request.into_stored(
        id.to_owned(),
        created,
        &status,
        owner,
        pairs,
    )))
}

impl SessionStore for SqliteStore {
    fn create<'a>(
        &'a self,
        session: &'a Session,
        notify: Option<String>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let session = session.clone();
        let encode = move || {
            let request = pack(&Request {
                queries: session.queries.clone(),
                databases: session.databases.clone(),
                notify,
            })?;
            let pairs = session
                .pairs
                .iter()
                .map(pack)
                .collect::<Result<Vec<_>, _>>()?;
            Ok((session, request, pairs))
        };
        self.encode_then_write(encode, |connection, (session, request, pairs)| {
            execute(
                connection,
                "INSERT INTO sessions (id, created, status, format, request, owner)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    session.id,
                    session.created as i64,
                    session.status.as_str(),
                    MSGPACK_LZ4,
                    request,
                    session.owner,
                ],
            )?;
            for (position, body) in pairs.into_iter().enumerate() {
                execute(
                    connection,
                    "INSERT INTO pairs (session, position, format, body) VALUES (?1, ?2, ?3, ?4)",
                    params![session.id, position as i64, MSGPACK_LZ4, body],
                )?;
            }
            Ok(())
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
        self.encode_then_write(encode, move |connection, body| {
            update_pair(connection, &id, position, body)
        })
    }

    fn set_status<'a>(
        &'a self,
        id: &'a str,
        status: Status,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        let id = id.to_owned();
        self.write(move |connection| {
            execute(
                connection,
                "UPDATE sessions SET status = ?2 WHERE id = ?1",
                params![id, status.as_str()],
            )
            .map(drop)
        })
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        let id = id.to_owned();
        self.read(move |connection| Ok(load(connection, &id)?.map(|stored| stored.session)))
    }

    fn purge(&self, created_before: u64) -> BoxFuture<'_, Result<usize, StoreError>> {
        self.write(move |connection| {
            execute(
                connection,
                "DELETE FROM sessions WHERE created < ?1",
                [created_before as i64],
            )
        })
    }

    fn writable(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        // Answered once a group's transaction (which takes the write lock: a read-only or full
        // disk fails there) is committed; writes nothing.
        self.write(|_| Ok(()))
    }

    fn bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.read(|connection| {
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

    fn sessions_of(
        &self,
        owner: String,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<SessionSummary>, StoreError>> {
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT id, created, status, format, request FROM sessions
                     WHERE owner = ?1 ORDER BY created DESC, id LIMIT ?2",
                )
                .map_err(sql)?;
            let mut rows = statement.query(params![owner, limit as i64]).map_err(sql)?;
            let mut sessions = Vec::new();
            while let Some(row) = rows.next().map_err(sql)? {
                let request: Request =
                    unpack(row.get(3).map_err(sql)?, row.get_ref(4).map_err(sql)?)?;
                sessions.push(request.summary(
                    row.get(0).map_err(sql)?,
                    row.get(1).map_err(sql)?,
                    &row.get::<_, String>(2).map_err(sql)?,
                ));
            }
            Ok(sessions)
        })
    }

    fn delete(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.write(move |connection| {
            Ok(execute(connection, "DELETE FROM sessions WHERE id = ?1", [id])? > 0)
        })
    }

    fn add_token(&self, token: Token) -> BoxFuture<'_, Result<(), StoreError>> {
        self.write(move |connection| {
            execute(
                connection,
                "INSERT INTO tokens (id, name, created, secret_hash) VALUES (?1, ?2, ?3, ?4)",
                params![
                    token.id,
                    token.name,
                    token.created as i64,
                    token.secret_hash
                ],
            )
            .map(drop)
        })
    }

    fn token(&self, id: String) -> BoxFuture<'_, Result<Option<Token>, StoreError>> {
        self.read(move |connection| {
            connection
                .prepare_cached(&format!("{TOKENS} WHERE id = ?1"))
                .and_then(|mut s| s.query_row([id], token_of).optional())
                .map_err(sql)
        })
    }

    fn tokens(&self) -> BoxFuture<'_, Result<Vec<Token>, StoreError>> {
        self.read(|connection| {
            let all = format!("{TOKENS} ORDER BY created, id");
            let mut statement = connection.prepare(&all).map_err(sql)?;
            let tokens = statement.query_map([], token_of).map_err(sql)?;
            tokens.collect::<Result<_, _>>().map_err(sql)
        })
    }

    fn revoke_token(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        self.write(move |connection| {
            Ok(execute(connection, "DELETE FROM tokens WHERE id = ?1", [id])? > 0)
        })
    }
}

const TOKENS: &str = "SELECT id, name, created, secret_hash FROM tokens";

fn token_of(row: &rusqlite::Row) -> rusqlite::Result<Token> {
    Ok(Token {
        id: row.get(0)?,
        name: row.get(1)?,
        created: row.get::<_, i64>(2)? as u64,
        secret_hash: row.get(3)?,
    })
}

fn update_pair(
    connection: &Connection,
    id: &str,
    position: usize,
    body: Vec<u8>,
) -> Result<(), StoreError> {
    execute(
        connection,
        "UPDATE pairs SET format = ?3, body = ?4 WHERE session = ?1 AND position = ?2",
        params![id, position as i64, MSGPACK_LZ4, body],
    )
    .map(drop)
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
            owner: None,
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
            .create(&session("old", 1_000, Status::Done), None)
            .await
            .unwrap();
        store
            .create(
                &session("new", 5_000, Status::Running),
                Some("a@example.org".into()),
            )
            .await
            .unwrap();
        assert_eq!(store.purge(2_000).await.unwrap(), 1);
        assert_eq!(store.load("old").await.unwrap(), None);
        // A second process opening the same folder finds the running session interrupted.
        let reopened = SqliteStore::open(&dir).unwrap();
        let interrupted = reopened.interrupt_running().await.unwrap();
        assert_eq!(interrupted.len(), 1);
        assert_eq!(interrupted[0].notify.as_deref(), Some("a@example.org"));
        assert_eq!(interrupted[0].session.status, Status::Interrupted);
        assert_eq!(interrupted[0].session.pairs[0].state, PairState::Failed);
        let new = reopened.load("new").await.unwrap().unwrap();
        assert_eq!(new.status, Status::Interrupted);
        assert_eq!(new.pairs[0].state, PairState::Failed);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Stores made by earlier kmviz: no `format` column, bodies in JSON, plain (TEXT) or
    /// deflated (BLOB). They are read as they are, and what is written again is packed.
    #[tokio::test]
    async fn reads_stores_of_earlier_versions_and_rewrites_what_changes_packed() {
        use std::io::Write as _;
        let dir = std::env::temp_dir().join(format!("kmviz-store-json-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let deflated = |json: String| {
            let mut out =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            out.write_all(json.as_bytes()).unwrap();
            rusqlite::types::Value::Blob(out.finish().unwrap())
        };
        let plain = |json: String| rusqlite::types::Value::Text(json);
        let (text, blob) = (
            session("text", 1_000, Status::Done),
            session("blob", 1_000, Status::Done),
        );
        {
            let earlier = Connection::open(dir.join("sessions.sqlite")).unwrap();
            earlier
                .execute_batch(
                    "CREATE TABLE sessions (id TEXT PRIMARY KEY, created INTEGER NOT NULL,
                         status TEXT NOT NULL, request BLOB NOT NULL);
                     CREATE TABLE pairs (session TEXT NOT NULL REFERENCES sessions(id)
                         ON DELETE CASCADE, position INTEGER NOT NULL, body BLOB NOT NULL,
                         PRIMARY KEY (session, position));",
                )
                .unwrap();
            for (old, encode) in [(&text, &plain as &dyn Fn(String) -> _), (&blob, &deflated)] {
                let request = Request {
                    queries: old.queries.clone(),
                    databases: old.databases.clone(),
                    notify: None,
                };
                earlier
                    .execute(
                        "INSERT INTO sessions VALUES (?1, 1000, 'done', ?2)",
                        params![old.id, encode(serde_json::to_string(&request).unwrap())],
                    )
                    .unwrap();
                earlier
                    .execute(
                        "INSERT INTO pairs VALUES (?1, 0, ?2)",
                        params![
                            old.id,
                            encode(serde_json::to_string(&old.pairs[0]).unwrap())
                        ],
                    )
                    .unwrap();
            }
        }
        let store = SqliteStore::open(&dir).unwrap();
        for old in [&text, &blob] {
            assert_eq!(store.load(&old.id).await.unwrap().as_ref(), Some(old));
            let mut done = old.pairs[0].clone();
            done.state = PairState::Done;
            store
                .save_pair(&old.id, 0, Arc::new(done.clone()))
                .await
                .unwrap();
            let format: i64 = store
                .reader
                .lock()
                .unwrap()
                .query_row(
                    "SELECT format FROM pairs WHERE session = ?1",
                    [&old.id],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(format, MSGPACK_LZ4);
            assert_eq!(
                store.load(&old.id).await.unwrap().unwrap().pairs,
                vec![done]
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Every kind of value and optional field comes back as it was stored.
    #[test]
    fn packs_results_whole() {
        use app::model::results::{Coverage, Kmers};
        use app::model::session::{Column, ColumnKind, Hit, IndexAnswer, PairResult, Value};
        let hit = |id: &str, kmers: Kmers, metadata| Hit {
            index: "pa".into(),
            id: id.into(),
            has_metadata: true,
            coverage: Coverage {
                cov_xk: 0.25,
                cov_xb: 1.0 / 3.0,
                cov_yk: Some(7.5),
                cov_yb: None,
            },
            kmers,
            metadata,
        };
        let pair = Pair {
            query: "q".into(),
            database: "db".into(),
            state: PairState::Done,
            error: Some("partly".into()),
            result: Some(PairResult {
                query_length: 30,
                indexes: vec![IndexAnswer {
                    name: "pa".into(),
                    kmer_size: 25,
                    abundance: true,
                }],
                columns: vec![Column {
                    name: "depth".into(),
                    kind: ColumnKind::Float,
                }],
                geodata: None,
                hits: vec![
                    hit(
                        "s1",
                        Kmers::from_values([0, 0, 3, 70_000, 1, 1]),
                        vec![
                            Value::Null,
                            Value::Boolean(false),
                            Value::Integer(-4),
                            Value::Integer(i64::MAX),
                            Value::Float(1.0),
                            Value::Float(-2.5e-300),
                            Value::Text("naïve\ttab".into()),
                        ],
                    ),
                    hit("s2", Kmers::default(), vec![]),
                ],
                not_shown: 3,
            }),
        };
        let packed = pack(&pair).unwrap();
        let unpacked: Pair = unpack(MSGPACK_LZ4, ValueRef::Blob(&packed)).unwrap();
        assert_eq!(unpacked, pair);
        assert!(matches!(
            unpack::<Pair>(7, ValueRef::Blob(&packed)),
            Err(StoreError(e)) if e.contains("format 7")
        ));
    }
}
