//! Jobs: a submitted session runs in the background, every (query, database) pair as its own
//! task, at most `engine.concurrency` pairs at once over all sessions, and at most half of them
//! on one database when there are several (see [`database_share`]). Each finished pair is
//! stored at once and announced to watchers; a job can be cancelled.
//!
//! On a store several replicas share, a job is a queue of pairs any replica claims instead
//! ([`shared`]); this replica only follows the sessions its clients watch.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use app::model::query::Query;
use app::model::session::{DatabaseRun, Pair, PairResult, PairState, Session, Status};
use lettre::message::Mailbox;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{AbortHandle, JoinSet};

use crate::engine::Engine;
use crate::notify::Notifier;
use crate::session::{Queue, SessionStore, StoreError, Stored};

mod shared;

/// The running sessions, and where finished ones are kept.
#[derive(Debug)]
pub struct Jobs {
    engine: Arc<Engine>,
    store: Arc<dyn SessionStore>,
    limiter: Arc<Semaphore>,
    /// Each database's share of the limiter's slots.
    shares: HashMap<String, Arc<Semaphore>>,
    running: Mutex<HashMap<String, Running>>,
    /// Sessions that ended lately, as they ended: the client that watched one end, and asks
    /// for it next, is answered without reading it back from the store.
    ended: Mutex<VecDeque<Arc<Session>>>,
    /// Sends a mail when a job ends, when asked and configured.
    notifier: Option<Arc<Notifier>>,
    /// Mails on their way: a stop waits for them a little.
    mails: Mutex<JoinSet<()>>,
    /// With a store several replicas share: its queue, and the sessions this replica follows.
    shared: Option<shared::Shared>,
}

/// Who submits a session: its owner, and where to mail when its job ends.
#[derive(Debug, Clone, Default)]
pub struct Submitter {
    pub owner: Option<String>,
    pub notify: Option<Mailbox>,
}

/// The slots one database may hold when the instance has `databases`: half of them when there
/// are several, so that a stalled one (a remote server that does not answer) cannot take all
/// and starve the others.
fn database_share(concurrency: usize, databases: usize) -> usize {
    if databases > 1 {
        (concurrency / 2).max(1)
    } else {
        concurrency
    }
}

/// Why a pair has no result when the server stopped before it finished.
pub const INTERRUPTED: &str = "the server stopped before this pair finished";

/// How long a stop waits for the mails of the jobs that ended.
const MAILS_GRACE: Duration = Duration::from_secs(10);

/// How many ended sessions are kept in memory, and the most hits one may have to be kept.
const ENDED_KEPT: usize = 16;
const ENDED_MAX_HITS: usize = 50_000;

/// A running session: its current state, shared with watchers. Readers share it (`Arc`), and
/// a change copies it only while one of them holds it.
#[derive(Debug)]
struct Running {
    session: watch::Sender<Arc<Session>>,
    task: AbortHandle,
    notify: Option<Mailbox>,
}

/// What a watcher sees of a session: its state now, and (while it runs) its updates.
#[derive(Debug)]
pub enum Watch {
    Running(watch::Receiver<Arc<Session>>),
    Finished(Arc<Session>),
}

impl Watch {
    /// The session as it is now.
    pub fn now(&self) -> Arc<Session> {
        match self {
            Watch::Running(receiver) => Arc::clone(&receiver.borrow()),
            Watch::Finished(session) => Arc::clone(session),
        }
    }
}

impl Jobs {
    /// Jobs on `store`; with a `queue` (a store replicas share), they run wherever a replica
    /// has room (see [`shared`]).
    pub fn new(
        engine: Arc<Engine>,
        store: Arc<dyn SessionStore>,
        queue: Option<Arc<dyn Queue>>,
        notifier: Option<Arc<Notifier>>,
    ) -> Arc<Jobs> {
        let concurrency = engine.settings().concurrency.max(1);
        let share = database_share(concurrency, engine.databases().count());
        let shares = engine
            .databases()
            .map(|d| (d.name.clone(), Arc::new(Semaphore::new(share))))
            .collect();
        let jobs = Arc::new(Jobs {
            engine,
            store,
            limiter: Arc::new(Semaphore::new(concurrency)),
            shares,
            running: Mutex::new(HashMap::new()),
            ended: Mutex::new(VecDeque::with_capacity(ENDED_KEPT)),
            notifier,
            mails: Mutex::new(JoinSet::new()),
            shared: queue.map(shared::Shared::new),
        });
        if jobs.shared.is_some() {
            jobs.start_shared();
        }
        jobs
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// Whether mails are sent when jobs end (`[notif]`).
    pub fn notifies(&self) -> bool {
        self.notifier.is_some()
    }

    /// Stores a new session of `submitter` for `queries` × `databases` and starts its job;
    /// returns the session as stored (all pairs pending).
    pub async fn submit(
        self: &Arc<Self>,
        queries: Vec<Query>,
        databases: Vec<DatabaseRun>,
        submitter: Submitter,
    ) -> Result<Session, StoreError> {
        let pairs = queries
            .iter()
            .flat_map(|q| {
                databases.iter().map(|d| Pair {
                    query: q.name.clone(),
                    database: d.name.clone(),
                    state: PairState::Pending,
                    error: None,
                    result: None,
                })
            })
            .collect();
        let session = Session {
            id: new_id(),
            created: now(),
            status: Status::Running,
            owner: submitter.owner,
            queries,
            databases,
            pairs,
        };
        let notify = submitter.notify.as_ref().map(Mailbox::to_string);
        self.store.create(&session, notify).await?;
        tracing::info!(
            "session {}: {} queries × {} databases",
            session.id,
            session.queries.len(),
            session.databases.len()
        );
        if let Some(shared) = &self.shared {
            // Queued: a replica with room claims its pairs.
            shared.wake();
            return Ok(session);
        }
        metrics::gauge!("kmviz_sessions_running").increment(1);
        let (sender, _) = watch::channel(Arc::new(session.clone()));
        let mut running = self.running.lock().expect("not poisoned");
        // In the submitting request's span: the job's log lines name that request.
        let job = tracing::Instrument::in_current_span(Arc::clone(self).run(session.clone()));
        let task = tokio::spawn(job);
        running.insert(
            session.id.clone(),
            Running {
                session: sender,
                task: task.abort_handle(),
                notify: submitter.notify,
            },
        );
        Ok(session)
    }

    async fn run(self: Arc<Self>, session: Session) {
        let mut tasks = JoinSet::new();
        // Pairs are queries × databases, queries outer (see `submit`).
        let per_query = session.databases.len();
        for position in 0..session.pairs.len() {
            let query = session.queries[position / per_query].clone();
            let run = session.databases[position % per_query].clone();
            let engine = Arc::clone(&self.engine);
            let limiter = Arc::clone(&self.limiter);
            let share = self.shares.get(&run.name).cloned();
            tasks.spawn(async move {
                // The database's share first: waiting for it holds no slot of the others'.
                let _share = take_share(share).await;
                let _permit = limiter.acquire_owned().await.expect("never closed");
                (position, engine.run(&query, &run).await)
            });
        }
        while let Some(finished) = tasks.join_next().await {
            let (position, outcome) = match finished {
                Ok(done) => done,
                Err(e) => {
                    tracing::error!("session {}: a pair's task failed: {e}", session.id);
                    continue;
                }
            };
            let mut pair = session.pairs[position].clone();
            settle(&session.id, &mut pair, outcome);
            let pair = Arc::new(pair);
            if let Err(e) = self
                .store
                .save_pair(&session.id, position, Arc::clone(&pair))
                .await
            {
                tracing::error!("session {}: {e}", session.id);
            }
            self.update(&session.id, |s| {
                s.pairs[position] = Arc::unwrap_or_clone(pair)
            });
        }
        self.finish(&session.id, Status::Done).await;
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut Session)) {
        if let Some(running) = self.running.lock().expect("not poisoned").get(id) {
            // A cancelled session keeps what it had when cancelled.
            running.session.send_if_modified(|session| {
                let open = session.status == Status::Running;
                if open {
                    change(Arc::make_mut(session));
                }
                open
            });
        }
    }

    /// Ends a running session with `status`: unfinished pairs become cancelled. Returns false
    /// when it was not running (any more). Watchers see the end once the store has it.
    async fn finish(&self, id: &str, status: Status) -> bool {
        let mut cancelled = Vec::new();
        {
            let running = self.running.lock().expect("not poisoned");
            let Some(job) = running.get(id) else {
                return false;
            };
            if job.session.borrow().status != Status::Running {
                return false; // another call is finishing it
            }
            if status != Status::Done {
                // Not from the job itself: stop it (its pairs' tasks go with its JoinSet).
                job.task.abort();
            }
            job.session.send_modify(|session| {
                let session = Arc::make_mut(session);
                for (position, pair) in session.pairs.iter_mut().enumerate() {
                    if pair.state == PairState::Pending {
                        if status == Status::Interrupted {
                            pair.state = PairState::Failed;
                            pair.error = Some(INTERRUPTED.to_owned());
                        } else {
                            pair.state = PairState::Cancelled;
                        }
                        cancelled.push((position, Arc::new(pair.clone())));
                    }
                }
                session.status = status;
            });
        }
        metrics::gauge!("kmviz_sessions_running").decrement(1);
        metrics::counter!("kmviz_sessions_total", "status" => status.as_str()).increment(1);
        for (position, pair) in &cancelled {
            metrics::counter!("kmviz_pairs_total", "state" => pair.state.as_str()).increment(1);
            if let Err(e) = self.store.save_pair(id, *position, Arc::clone(pair)).await {
                tracing::error!("session {id}: {e}");
            }
        }
        if let Err(e) = self.store.set_status(id, status).await {
            tracing::error!("session {id}: {e}");
        }
        // Dropping the sender ends the watchers' streams.
        let job = self.running.lock().expect("not poisoned").remove(id);
        if let Some(job) = job {
            let session = Arc::clone(&job.session.borrow());
            if let Some(to) = job.notify
                && status != Status::Cancelled
            {
                self.mail(Arc::clone(&session), to);
            }
            let hits: usize = session
                .pairs
                .iter()
                .filter_map(|p| p.result.as_ref())
                .map(|r| r.hits.len())
                .sum();
            if hits <= ENDED_MAX_HITS {
                let mut ended = self.ended.lock().expect("not poisoned");
                if ended.len() == ENDED_KEPT {
                    ended.pop_front();
                }
                ended.push_back(session);
            }
        }
        true
    }

    /// Mails the submitters of sessions a previous process left running (`interrupted`, as
    /// the store marked them at start), when they asked to be.
    pub fn mail_interrupted(&self, interrupted: Vec<Stored>) {
        for Stored { session, notify } in interrupted {
            if let Some(to) = notify.and_then(|n| Notifier::recipient(&n).ok()) {
                self.mail(Arc::new(session), to);
            }
        }
    }

    /// Sends the mail of `session`, ended, to `to` in the background (when the instance mails).
    fn mail(&self, session: Arc<Session>, to: Mailbox) {
        let Some(notifier) = &self.notifier else {
            return;
        };
        let notifier = Arc::clone(notifier);
        let mut mails = self.mails.lock().expect("not poisoned");
        // Those sent are forgotten.
        while mails.try_join_next().is_some() {}
        mails.spawn(async move { notifier.send(&session, to).await });
    }

    /// For a stop: lets the running jobs finish for up to `grace`, then interrupts the others
    /// (their unfinished pairs fail, as when a stopped server starts again).
    pub async fn wind_down(&self, grace: Duration) {
        match self.shared {
            Some(_) => self.wind_down_shared(grace).await,
            None => self.end_jobs(grace).await,
        }
        // The mails of the jobs that ended: sent, or given up on, before the process goes.
        let mut mails = std::mem::take(&mut *self.mails.lock().expect("not poisoned"));
        if !mails.is_empty() {
            let sent = async { while mails.join_next().await.is_some() {} };
            if tokio::time::timeout(MAILS_GRACE, sent).await.is_err() {
                tracing::warn!("{} mails not sent before the stop", mails.len());
            }
        }
    }

    async fn end_jobs(&self, grace: Duration) {
        let watched: Vec<_> = {
            let running = self.running.lock().expect("not poisoned");
            running.values().map(|r| r.session.subscribe()).collect()
        };
        if watched.is_empty() {
            return;
        }
        tracing::info!(
            "waiting up to {grace:?} for {} running sessions",
            watched.len()
        );
        let ended = watched.into_iter().map(|mut receiver| async move {
            // The sender is dropped when the job ends.
            while receiver.changed().await.is_ok() {}
        });
        let all = futures_util::future::join_all(ended);
        if tokio::time::timeout(grace, all).await.is_ok() {
            return;
        }
        let ids: Vec<String> = self
            .running
            .lock()
            .expect("not poisoned")
            .keys()
            .cloned()
            .collect();
        for id in &ids {
            self.finish(id, Status::Interrupted).await;
        }
        tracing::warn!("{} sessions interrupted by the stop", ids.len());
    }

    /// Cancels session `id`'s job; returns the session as it ended, or `None` if unknown.
    pub async fn cancel(&self, id: &str) -> Result<Option<Arc<Session>>, StoreError> {
        match self.shared {
            Some(_) => drop(self.cancel_shared(id).await?),
            None => drop(self.finish(id, Status::Cancelled).await),
        }
        Ok(self.store.load(id).await?.map(Arc::new))
    }

    /// Deletes session `id` (its job cancelled first if it runs); whether it was there.
    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        match self.shared {
            Some(_) => drop(self.cancel_shared(id).await?),
            None => drop(self.finish(id, Status::Cancelled).await),
        }
        self.ended
            .lock()
            .expect("not poisoned")
            .retain(|s| s.id != id);
        self.store.delete(id.to_owned()).await
    }

    /// Session `id` as it is now.
    pub async fn get(&self, id: &str) -> Result<Option<Arc<Session>>, StoreError> {
        Ok(self.watch(id).await?.map(|watch| watch.now()))
    }

    /// Watches session `id`.
    pub async fn watch(&self, id: &str) -> Result<Option<Watch>, StoreError> {
        if self.shared.is_some() {
            return self.follow(id).await;
        }
        if let Some(running) = self.running.lock().expect("not poisoned").get(id) {
            return Ok(Some(Watch::Running(running.session.subscribe())));
        }
        let ended = {
            let ended = self.ended.lock().expect("not poisoned");
            ended.iter().find(|s| s.id == id).map(Arc::clone)
        };
        if let Some(session) = ended {
            return Ok(Some(Watch::Finished(session)));
        }
        Ok(self
            .store
            .load(id)
            .await?
            .map(|s| Watch::Finished(Arc::new(s))))
    }

    /// Session `id` once its job has ended.
    pub async fn finished(&self, id: &str) -> Result<Option<Arc<Session>>, StoreError> {
        match self.watch(id).await? {
            Some(Watch::Running(mut receiver)) => {
                // The sender is dropped when the job ends (or is cancelled).
                while receiver.changed().await.is_ok() {}
                let last = Arc::clone(&receiver.borrow());
                if last.status == Status::Running {
                    return Ok(self.store.load(id).await?.map(Arc::new));
                }
                Ok(Some(last))
            }
            Some(Watch::Finished(session)) => Ok(Some(session)),
            None => Ok(None),
        }
    }

    /// Deletes sessions older than `retention`, now and then every hour.
    pub fn keep_for(self: &Arc<Self>, retention: Duration) {
        let jobs = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(3600));
            loop {
                every.tick().await;
                let before = now().saturating_sub(retention.as_secs());
                jobs.ended
                    .lock()
                    .expect("not poisoned")
                    .retain(|s| s.created >= before);
                match jobs.store.purge(before).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!("deleted {n} sessions older than {retention:?}"),
                    Err(e) => tracing::error!("{e}"),
                }
            }
        });
    }
}

/// A slot of a database's share (`None`: the database has none).
async fn take_share(share: Option<Arc<Semaphore>>) -> Option<OwnedSemaphorePermit> {
    Some(share?.acquire_owned().await.expect("never closed"))
}

/// Sets `pair` from its run's `outcome` (and logs a failure), as a job of session `id`.
fn settle(id: &str, pair: &mut Pair, outcome: Result<PairResult, crate::engine::PairError>) {
    match outcome {
        Ok(result) => {
            pair.state = PairState::Done;
            pair.result = Some(result);
        }
        Err(error) => {
            tracing::warn!(
                "session {id}: query '{}' on database '{}': {error}",
                pair.query,
                pair.database
            );
            pair.state = PairState::Failed;
            pair.error = Some(error.to_string());
        }
    }
    metrics::counter!("kmviz_pairs_total", "state" => pair.state.as_str()).increment(1);
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 128 random bits: session ids are shared as links, so they must not be guessable.
fn new_id() -> String {
    crate::random_hex(16)
}
