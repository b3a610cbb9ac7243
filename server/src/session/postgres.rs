//! Sessions and their job queue in PostgreSQL, for several replicas of one instance: any
//! replica answers any session, and runs any pair. Each pair is claimed by one replica with
//! `FOR UPDATE SKIP LOCKED` (as many at once as it has room for), for a lease that replica
//! renews; news goes to every replica by `NOTIFY`. Bodies are packed as in SQLite ([`pack`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use app::api::SessionSummary;
use app::model::session::{Pair, PairState, Session, Status};
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::StreamExt;
use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

use super::{
    Change, Claim, Finished, Queue, Request, SessionStore, StoreError, on_cpu, pack, status_of,
    unpack_packed,
};
use crate::future::BoxFuture;
use crate::token::Token;

/// The `NOTIFY` channel of the store's news.
const CHANNEL: &str = "kmviz";

/// Takes turns at migrations and purges across replicas (`pg_advisory_xact_lock`).
const MIGRATION_LOCK: i64 = 0x6b6d_7669_7a00;
const PURGE_LOCK: i64 = 0x6b6d_7669_7a01;

/// A purge by any replica within this long makes the others' purges skip.
const PURGE_EVERY: Duration = Duration::from_secs(50 * 60);

/// Requests kept decoded for claims (a claim needs its query and database run).
const REQUESTS_KEPT: usize = 64;

/// Sessions in PostgreSQL, shared by the replicas of one instance.
#[derive(Clone)]
pub struct PgStore {
    pool: Pool,
    /// This process, as it signs its claims.
    replica: String,
    /// How long a claim holds without a renewal.
    lease: Duration,
    news: Arc<broadcast::Sender<Change>>,
    requests: Arc<Mutex<HashMap<String, Arc<Request>>>>,
    /// The address, without its password, to name in errors.
    place: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("place", &self.place)
            .field("replica", &self.replica)
            .finish()
    }
}

/// A driver's error, with the server's own message when it has one ("db error" alone says
/// nothing).
fn pg(e: tokio_postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError(format!("postgres: {}: {}", db.severity(), db.message())),
        None => StoreError(format!("postgres: {e}")),
    }
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`), brings its tables
    /// to this kmviz's schema and starts listening for the other replicas' news. Claims hold
    /// for `lease` without a renewal.
    pub async fn open(url: &str, lease: Duration) -> Result<PgStore, StoreError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e| StoreError(format!("sessions.url: {e}")))?;
        let place = format!(
            "{}/{}",
            config
                .get_hosts()
                .iter()
                .map(|h| match h {
                    tokio_postgres::config::Host::Tcp(host) => host.clone(),
                    tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            config.get_dbname().unwrap_or_default()
        );
        let fail = |e: &dyn std::fmt::Display| StoreError(format!("postgres at {place}: {e}"));
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| fail(&e))?;
        let mut client = pool.get().await.map_err(|e| fail(&e))?;
        migrate(&mut client).await.map_err(|e| fail(&e))?;
        drop(client);
        let (news, _) = broadcast::channel(1024);
        let news = Arc::new(news);
        // Open once listening: news sent from then on reaches this replica.
        let (listening, listens) = tokio::sync::oneshot::channel();
        listen(config, Arc::downgrade(&news), listening);
        tokio::time::timeout(Duration::from_secs(10), listens)
            .await
            .map_err(|_| fail(&"no LISTEN connection within 10 s"))?
            .map_err(|_| fail(&"no LISTEN connection"))?;
        Ok(PgStore {
            pool,
            replica: crate::random_hex(8),
            lease,
            news,
            requests: Arc::default(),
            place,
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|e| StoreError(format!("postgres at {}: {e}", self.place)))
    }

    /// The request of session `id`, decoded once for all its claims.
    async fn request(&self, id: &str) -> Result<Arc<Request>, StoreError> {
        if let Some(request) = self.requests.lock().expect("not poisoned").get(id) {
            return Ok(Arc::clone(request));
        }
        let client = self.client().await?;
        let row = client
            .query_one("SELECT request FROM kmviz_sessions WHERE id = $1", &[&id])
            .await
            .map_err(pg)?;
        let packed: Vec<u8> = row.get(0);
        let request: Arc<Request> = Arc::new(on_cpu(move || unpack_packed(&packed)).await?);
        self.keep_request(id, Arc::clone(&request));
        Ok(request)
    }

    fn keep_request(&self, id: &str, request: Arc<Request>) {
        let mut requests = self.requests.lock().expect("not poisoned");
        if requests.len() >= REQUESTS_KEPT {
            requests.clear();
        }
        requests.insert(id.to_owned(), request);
    }

    fn lease_seconds(&self) -> f64 {
        self.lease.as_secs_f64()
    }
}

/// Brings the tables to this kmviz's schema, one replica at a time.
async fn migrate(client: &mut deadpool_postgres::Object) -> Result<(), tokio_postgres::Error> {
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    transaction
        .batch_execute("CREATE TABLE IF NOT EXISTS kmviz_schema (version INTEGER NOT NULL)")
        .await?;
    let version: i32 = transaction
        .query_opt("SELECT version FROM kmviz_schema", &[])
        .await?
        .map_or(0, |row| row.get(0));
    if version < 1 {
        transaction
            .batch_execute(
                "CREATE TABLE kmviz_sessions (
                     id TEXT PRIMARY KEY,
                     created BIGINT NOT NULL,
                     status TEXT NOT NULL,
                     owner TEXT,
                     request BYTEA NOT NULL
                 );
                 CREATE INDEX kmviz_sessions_created ON kmviz_sessions (created);
                 CREATE INDEX kmviz_sessions_owner ON kmviz_sessions (owner, created);
                 -- state: pending, running (claimed), done, failed or cancelled.
                 CREATE TABLE kmviz_pairs (
                     session TEXT NOT NULL REFERENCES kmviz_sessions (id) ON DELETE CASCADE,
                     position INTEGER NOT NULL,
                     state TEXT NOT NULL,
                     body BYTEA NOT NULL,
                     claimed_by TEXT,
                     lease_until TIMESTAMPTZ,
                     PRIMARY KEY (session, position)
                 );
                 -- The queue: only pairs still to run are indexed.
                 CREATE INDEX kmviz_pairs_open ON kmviz_pairs (session, position)
                     WHERE state IN ('pending', 'running');
                 CREATE TABLE kmviz_tokens (
                     id TEXT PRIMARY KEY,
                     name TEXT NOT NULL,
                     created BIGINT NOT NULL,
                     secret_hash TEXT NOT NULL
                 );
                 CREATE TABLE kmviz_purges (last BIGINT NOT NULL);
                 INSERT INTO kmviz_purges VALUES (0);
                 INSERT INTO kmviz_schema VALUES (1);",
            )
            .await?;
    }
    transaction.commit().await
}

/// Listens for the store's news on a connection of its own, for as long as the store lives,
/// and tells `news`; says when it first listens. A lost connection is made again (and
/// `Missed` told).
fn listen(
    config: tokio_postgres::Config,
    news: Weak<broadcast::Sender<Change>>,
    listening: tokio::sync::oneshot::Sender<()>,
) {
    let mut first_listen = Some(listening);
    tokio::spawn(async move {
        while news.strong_count() > 0 {
            match config.connect(NoTls).await {
                Ok((client, mut connection)) => {
                    let mut messages =
                        futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
                    // The connection runs while its messages are read.
                    let listen = format!("LISTEN {CHANNEL}");
                    let listening = client.batch_execute(&listen);
                    let mut listening = std::pin::pin!(listening);
                    let mut listens = false;
                    // Listened before: news may have come meanwhile.
                    if first_listen.is_none()
                        && let Some(news) = news.upgrade()
                    {
                        let _ = news.send(Change::Missed);
                    }
                    loop {
                        tokio::select! {
                            done = &mut listening, if !listens => {
                                if let Err(e) = done {
                                    tracing::warn!("postgres: LISTEN: {e}");
                                    break;
                                }
                                listens = true;
                                if let Some(first) = first_listen.take() {
                                    let _ = first.send(());
                                }
                            }
                            message = messages.next() => match message {
                                Some(Ok(AsyncMessage::Notification(note))) => {
                                    let (Some(news), Some(change)) =
                                        (news.upgrade(), change_of(note.payload()))
                                    else {
                                        continue;
                                    };
                                    let _ = news.send(change);
                                }
                                Some(Ok(_)) => {}
                                Some(Err(e)) => {
                                    tracing::warn!("postgres: the news connection: {e}");
                                    break;
                                }
                                None => break,
                            },
                            // Now and then: whether the store is still there.
                            _ = tokio::time::sleep(Duration::from_secs(5)) => {
                                if news.strong_count() == 0 {
                                    return;
                                }
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!("postgres: no news: {e}"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}

/// The payload of a `NOTIFY` for `change`.
fn payload(change: &Change) -> String {
    match change {
        Change::Work => "work".into(),
        Change::Pair { id, position } => format!("pair {id} {position}"),
        Change::Ended { id } => format!("ended {id}"),
        Change::Missed => "missed".into(),
    }
}

fn change_of(payload: &str) -> Option<Change> {
    let mut words = payload.split(' ');
    Some(match (words.next()?, words.next(), words.next()) {
        ("work", None, None) => Change::Work,
        ("pair", Some(id), Some(position)) => Change::Pair {
            id: id.to_owned(),
            position: position.parse().ok()?,
        },
        ("ended", Some(id), None) => Change::Ended { id: id.to_owned() },
        _ => return None,
    })
}

/// Tells every replica `change` (when the transaction commits).
async fn notify(
    client: &impl deadpool_postgres::GenericClient,
    change: &Change,
) -> Result<(), StoreError> {
    client
        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &payload(change)])
        .await
        .map(drop)
        .map_err(pg)
}

impl SessionStore for PgStore {
    fn create<'a>(
        &'a self,
        session: &'a Session,
        notify_to: Option<String>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let request = Arc::new(Request {
                queries: session.queries.clone(),
                databases: session.databases.clone(),
                notify: notify_to,
            });
            let pairs = Arc::new(session.pairs.clone());
            let request_kept = Arc::clone(&request);
            let (request, bodies) = on_cpu(move || {
                let pairs = pairs.iter().map(pack).collect::<Result<Vec<_>, _>>()?;
                Ok((pack(&*request)?, pairs))
            })
            .await?;
            let positions: Vec<i32> = (0..bodies.len() as i32).collect();
            let states: Vec<&str> = session.pairs.iter().map(|p| p.state.as_str()).collect();
            let running = session.status == Status::Running;
            // One statement (one round trip, one transaction): the session, its pairs, and
            // news of work when it runs.
            let client = self.client().await?;
            client
                .execute(
                    "WITH session AS (
                         INSERT INTO kmviz_sessions (id, created, status, owner, request)
                         VALUES ($1, $2, $3, $4, $5)
                     ), pairs AS (
                         INSERT INTO kmviz_pairs (session, position, state, body)
                         SELECT $1, * FROM unnest($6::INTEGER[], $7::TEXT[], $8::BYTEA[])
                     )
                     SELECT pg_notify($9, $10) WHERE $11",
                    &[
                        &session.id,
                        &(session.created as i64),
                        &session.status.as_str(),
                        &session.owner,
                        &request,
                        &positions,
                        &states,
                        &bodies,
                        &CHANNEL,
                        &payload(&Change::Work),
                        &running,
                    ],
                )
                .await
                .map_err(pg)?;
            // Its claims here need not read it back.
            self.keep_request(&session.id, request_kept);
            Ok(())
        })
    }

    fn save_pair<'a>(
        &'a self,
        id: &'a str,
        position: usize,
        pair: Arc<Pair>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let state = pair.state.as_str();
            let body = on_cpu(move || pack(&*pair)).await?;
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE kmviz_pairs SET state = $3, body = $4, claimed_by = NULL,
                         lease_until = NULL
                     WHERE session = $1 AND position = $2",
                    &[&id, &(position as i32), &state, &body],
                )
                .await
                .map_err(pg)?;
            notify(
                &client,
                &Change::Pair {
                    id: id.to_owned(),
                    position,
                },
            )
            .await
        })
    }

    fn set_status<'a>(
        &'a self,
        id: &'a str,
        status: Status,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE kmviz_sessions SET status = $2 WHERE id = $1",
                    &[&id, &status.as_str()],
                )
                .await
                .map_err(pg)?;
            if status != Status::Running {
                notify(&client, &Change::Ended { id: id.to_owned() }).await?;
            }
            Ok(())
        })
    }

    fn load<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Session>, StoreError>> {
        Box::pin(async move {
            // One statement: one snapshot of the session and its pairs, one round trip.
            let client = self.client().await?;
            let statement = client
                .prepare_cached(
                    "SELECT created, status, owner, request, ARRAY(
                         SELECT body FROM kmviz_pairs WHERE session = $1 ORDER BY position)
                     FROM kmviz_sessions WHERE id = $1",
                )
                .await
                .map_err(pg)?;
            let Some(row) = client.query_opt(&statement, &[&id]).await.map_err(pg)? else {
                return Ok(None);
            };
            drop(client);
            let (created, status, owner, request, bodies): (
                i64,
                String,
                Option<String>,
                Vec<u8>,
                Vec<Vec<u8>>,
            ) = (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
            let id = id.to_owned();
            let stored = on_cpu(move || {
                let request: Request = unpack_packed(&request)?;
                let pairs = bodies
                    .iter()
                    .map(|body| unpack_packed(body))
                    .collect::<Result<Vec<Pair>, _>>()?;
                Ok(request.into_stored(id, created, &status, owner, pairs))
            })
            .await?;
            Ok(Some(stored.session))
        })
    }

    /// Purges at most once per [`PURGE_EVERY`] over all replicas: the first to come does it.
    fn purge(&self, created_before: u64) -> BoxFuture<'_, Result<usize, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let transaction = client.transaction().await.map_err(pg)?;
            let turn: bool = transaction
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&PURGE_LOCK])
                .await
                .map_err(pg)?
                .get(0);
            let now = crate::jobs::now() as i64;
            let due = PURGE_EVERY.as_secs() as i64;
            let mine = turn
                && transaction
                    .execute(
                        "UPDATE kmviz_purges SET last = $1::BIGINT WHERE last <= $1::BIGINT - $2::BIGINT",
                        &[&now, &due],
                    )
                    .await
                    .map_err(pg)?
                    > 0;
            if !mine {
                return Ok(0);
            }
            let deleted = transaction
                .execute(
                    "DELETE FROM kmviz_sessions WHERE created < $1",
                    &[&(created_before as i64)],
                )
                .await
                .map_err(pg)?;
            transaction.commit().await.map_err(pg)?;
            Ok(deleted as usize)
        })
    }

    fn writable(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let read_only: String = client
                .query_one("SHOW transaction_read_only", &[])
                .await
                .map_err(pg)?
                .get(0);
            match read_only.as_str() {
                "off" => Ok(()),
                _ => Err(StoreError(
                    "postgres: the database is read-only (a standby?)".into(),
                )),
            }
        })
    }

    fn bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "SELECT (pg_total_relation_size('kmviz_sessions')
                           + pg_total_relation_size('kmviz_pairs'))::BIGINT",
                    &[],
                )
                .await
                .map_err(pg)?;
            Ok(row.get::<_, i64>(0) as u64)
        })
    }

    fn sessions_of(
        &self,
        owner: String,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<SessionSummary>, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, created, status, request FROM kmviz_sessions
                     WHERE owner = $1 ORDER BY created DESC, id LIMIT $2",
                    &[&owner, &(limit as i64)],
                )
                .await
                .map_err(pg)?;
            let listed: Vec<(String, i64, String, Vec<u8>)> = rows
                .iter()
                .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
                .collect();
            // Decoded in one trip off the async workers, as SQLite's listing is.
            on_cpu(move || {
                listed
                    .into_iter()
                    .map(|(id, created, status, packed)| {
                        let request: Request = unpack_packed(&packed)?;
                        Ok(request.summary(id, created, &status))
                    })
                    .collect()
            })
            .await
        })
    }

    fn delete(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let deleted = client
                .execute("DELETE FROM kmviz_sessions WHERE id = $1", &[&id])
                .await
                .map_err(pg)?;
            self.requests.lock().expect("not poisoned").remove(&id);
            if deleted > 0 {
                notify(&client, &Change::Ended { id }).await?;
            }
            Ok(deleted > 0)
        })
    }

    fn add_token(&self, token: Token) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO kmviz_tokens (id, name, created, secret_hash)
                     VALUES ($1, $2, $3, $4)",
                    &[
                        &token.id,
                        &token.name,
                        &(token.created as i64),
                        &token.secret_hash,
                    ],
                )
                .await
                .map(drop)
                .map_err(pg)
        })
    }

    fn token(&self, id: String) -> BoxFuture<'_, Result<Option<Token>, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let statement = client
                .prepare_cached(&format!("{TOKENS} WHERE id = $1"))
                .await
                .map_err(pg)?;
            let row = client.query_opt(&statement, &[&id]).await.map_err(pg)?;
            Ok(row.map(|row| token_of(&row)))
        })
    }

    fn tokens(&self) -> BoxFuture<'_, Result<Vec<Token>, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(&format!("{TOKENS} ORDER BY created, id"), &[])
                .await
                .map_err(pg)?;
            Ok(rows.iter().map(token_of).collect())
        })
    }

    fn revoke_token(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let deleted = client
                .execute("DELETE FROM kmviz_tokens WHERE id = $1", &[&id])
                .await
                .map_err(pg)?;
            Ok(deleted > 0)
        })
    }
}

const TOKENS: &str = "SELECT id, name, created, secret_hash FROM kmviz_tokens";

fn token_of(row: &tokio_postgres::Row) -> Token {
    Token {
        id: row.get(0),
        name: row.get(1),
        created: row.get::<_, i64>(2) as u64,
        secret_hash: row.get(3),
    }
}

impl Queue for PgStore {
    fn claim(&self, most: usize) -> BoxFuture<'_, Result<Vec<Claim>, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            // Pending pairs, or pairs whose replica stopped renewing its lease.
            let statement = client
                .prepare_cached(
                    "UPDATE kmviz_pairs SET state = 'running', claimed_by = $1,
                         lease_until = now() + make_interval(secs => $2)
                     WHERE (session, position) IN (
                         SELECT p.session, p.position
                         FROM kmviz_pairs p JOIN kmviz_sessions s ON s.id = p.session
                         WHERE s.status = 'running'
                           AND (p.state = 'pending'
                                OR (p.state = 'running' AND p.lease_until < now()))
                         ORDER BY s.created, p.session, p.position
                         LIMIT $3
                         FOR UPDATE OF p SKIP LOCKED)
                     RETURNING session, position",
                )
                .await
                .map_err(pg)?;
            let rows = client
                .query(
                    &statement,
                    &[&self.replica, &self.lease_seconds(), &(most as i64)],
                )
                .await
                .map_err(pg)?;
            drop(client);
            let mut claims = Vec::with_capacity(rows.len());
            for row in rows {
                let (session, position): (String, i32) = (row.get(0), row.get(1));
                let position = position as usize;
                let request = self.request(&session).await?;
                let per_query = request.databases.len();
                claims.push(Claim {
                    query: request.queries[position / per_query].clone(),
                    run: request.databases[position % per_query].clone(),
                    notify: request.notify.clone(),
                    session,
                    position,
                });
            }
            // By session and position (the update returns them in any order).
            claims.sort_by(|a, b| (&a.session, a.position).cmp(&(&b.session, b.position)));
            Ok(claims)
        })
    }

    fn renew(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE kmviz_pairs SET lease_until = now() + make_interval(secs => $2)
                     WHERE claimed_by = $1 AND state = 'running'",
                    &[&self.replica, &self.lease_seconds()],
                )
                .await
                .map(drop)
                .map_err(pg)
        })
    }

    fn finish<'a>(
        &'a self,
        claim: &'a Claim,
        pair: Arc<Pair>,
    ) -> BoxFuture<'a, Result<Finished, StoreError>> {
        Box::pin(async move {
            let state = pair.state.as_str();
            let body = on_cpu(move || pack(&*pair)).await?;
            let mut client = self.client().await?;
            let transaction = client.transaction().await.map_err(pg)?;
            let (id, position) = (&claim.session, claim.position as i32);
            // Sent together (pipelined), run in order. The session's row is locked first: the
            // replicas finishing its last pairs take turns, so that exactly one of them sees
            // none left. The pair is stored only under this replica's claim.
            let (lock, save, end) = futures_util::try_join!(
                transaction.prepare_cached("SELECT 1 FROM kmviz_sessions WHERE id = $1 FOR UPDATE"),
                transaction.prepare_cached(
                    "WITH saved AS (
                         UPDATE kmviz_pairs SET state = $4, body = $5, claimed_by = NULL,
                             lease_until = NULL
                         WHERE session = $1 AND position = $2 AND claimed_by = $3
                           AND state = 'running'
                         RETURNING position)
                     SELECT pg_notify($6, $7) FROM saved"
                ),
                transaction.prepare_cached(
                    "WITH ended AS (
                         UPDATE kmviz_sessions SET status = 'done'
                         WHERE id = $1 AND status = 'running' AND NOT EXISTS (
                             SELECT 1 FROM kmviz_pairs
                             WHERE session = $1 AND state IN ('pending', 'running'))
                         RETURNING id)
                     SELECT pg_notify($2, $3) FROM ended"
                ),
            )
            .map_err(pg)?;
            let saved_news = payload(&Change::Pair {
                id: id.clone(),
                position: claim.position,
            });
            let ended_news = payload(&Change::Ended { id: id.clone() });
            let lock_values: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [id];
            let save_values: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
                id,
                &position,
                &self.replica,
                &state,
                &body,
                &CHANNEL,
                &saved_news,
            ];
            let end_values: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
                [id, &CHANNEL, &ended_news];
            let (_, saved, ended) = futures_util::try_join!(
                transaction.query(&lock, &lock_values),
                transaction.query(&save, &save_values),
                transaction.query(&end, &end_values),
            )
            .map_err(pg)?;
            transaction.commit().await.map_err(pg)?;
            if saved.is_empty() {
                return Ok(Finished::Lost);
            }
            if ended.is_empty() {
                return Ok(Finished::Saved);
            }
            self.requests.lock().expect("not poisoned").remove(id);
            Ok(Finished::Ended)
        })
    }

    fn release(&self) -> BoxFuture<'_, Result<usize, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let transaction = client.transaction().await.map_err(pg)?;
            let released = transaction
                .execute(
                    "UPDATE kmviz_pairs SET state = 'pending', claimed_by = NULL,
                         lease_until = NULL
                     WHERE claimed_by = $1 AND state = 'running'",
                    &[&self.replica],
                )
                .await
                .map_err(pg)?;
            if released > 0 {
                notify(&transaction, &Change::Work).await?;
            }
            transaction.commit().await.map_err(pg)?;
            Ok(released as usize)
        })
    }

    fn cancel(&self, id: String) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let mut client = self.client().await?;
            let transaction = client.transaction().await.map_err(pg)?;
            let cancelled = transaction
                .execute(
                    "UPDATE kmviz_sessions SET status = 'cancelled'
                     WHERE id = $1 AND status = 'running'",
                    &[&id],
                )
                .await
                .map_err(pg)?
                > 0;
            if !cancelled {
                return Ok(false);
            }
            let open = transaction
                .query(
                    "SELECT position, body FROM kmviz_pairs
                     WHERE session = $1 AND state IN ('pending', 'running')",
                    &[&id],
                )
                .await
                .map_err(pg)?;
            let (positions, bodies): (Vec<i32>, Vec<Vec<u8>>) = open
                .iter()
                .map(|row| (row.get::<_, i32>(0), row.get::<_, Vec<u8>>(1)))
                .unzip();
            let bodies = on_cpu(move || {
                bodies
                    .iter()
                    .map(|body| {
                        let mut pair: Pair = unpack_packed(body)?;
                        pair.state = PairState::Cancelled;
                        pack(&pair)
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
            transaction
                .execute(
                    "UPDATE kmviz_pairs p SET state = 'cancelled', body = c.body,
                         claimed_by = NULL, lease_until = NULL
                     FROM unnest($2::INTEGER[], $3::BYTEA[]) AS c (position, body)
                     WHERE p.session = $1 AND p.position = c.position",
                    &[&id, &positions, &bodies],
                )
                .await
                .map_err(pg)?;
            notify(&transaction, &Change::Ended { id: id.clone() }).await?;
            transaction.commit().await.map_err(pg)?;
            self.requests.lock().expect("not poisoned").remove(&id);
            Ok(true)
        })
    }

    fn pair(&self, id: String, position: usize) -> BoxFuture<'_, Result<Option<Pair>, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT body FROM kmviz_pairs WHERE session = $1 AND position = $2",
                    &[&id, &(position as i32)],
                )
                .await
                .map_err(pg)?;
            drop(client);
            let Some(row) = row else {
                return Ok(None);
            };
            let packed: Vec<u8> = row.get(0);
            Ok(Some(on_cpu(move || unpack_packed(&packed)).await?))
        })
    }

    fn statuses(
        &self,
        ids: Vec<String>,
    ) -> BoxFuture<'_, Result<Vec<(String, Status)>, StoreError>> {
        Box::pin(async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT id, status FROM kmviz_sessions WHERE id = ANY($1)",
                    &[&ids],
                )
                .await
                .map_err(pg)?;
            Ok(rows
                .iter()
                .map(|row| (row.get(0), status_of(row.get(1))))
                .collect())
        })
    }

    fn lease(&self) -> Duration {
        self.lease
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.news.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_reads_back_as_written() {
        for change in [
            Change::Work,
            Change::Pair {
                id: "ab12".into(),
                position: 7,
            },
            Change::Ended { id: "cd34".into() },
        ] {
            assert_eq!(change_of(&payload(&change)), Some(change));
        }
        assert_eq!(change_of("pair ab12"), None);
        assert_eq!(change_of("pair ab12 x"), None);
        assert_eq!(change_of("other"), None);
    }
}
