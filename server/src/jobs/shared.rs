//! Jobs on a store several replicas share (PostgreSQL): a submitted session is only stored;
//! every replica claims its pairs from the [`Queue`] one by one, as slots free up, and follows
//! the sessions its clients watch from the store's news, whichever replica runs them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use app::model::session::{Pair, PairState, Session, Status};
use tokio::sync::{Notify, OwnedSemaphorePermit, broadcast, watch};
use tokio::task::{AbortHandle, JoinSet};

use super::{Jobs, Watch};
use crate::notify::Notifier;
use crate::session::{Change, Claim, Finished, Queue, StoreError};

/// How often a replica with nothing to do looks for pairs whose lease expired, and how often
/// followed sessions are checked for an end whose news was missed.
const POLL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(super) struct Shared {
    queue: Arc<dyn Queue>,
    /// The sessions this replica's watchers follow, as last read.
    followed: Mutex<HashMap<String, watch::Sender<Arc<Session>>>>,
    /// The pairs this replica runs, by session.
    claimed: Mutex<HashMap<(String, usize), AbortHandle>>,
    tasks: Mutex<JoinSet<()>>,
    /// Wakes the claiming loop: work was announced, or a slot freed.
    work: Notify,
    stopping: AtomicBool,
}

impl Shared {
    pub(super) fn new(queue: Arc<dyn Queue>) -> Shared {
        Shared {
            queue,
            followed: Mutex::default(),
            claimed: Mutex::default(),
            tasks: Mutex::new(JoinSet::new()),
            work: Notify::new(),
            stopping: AtomicBool::new(false),
        }
    }

    /// Work was stored: claim it now rather than at the next poll.
    pub(super) fn wake(&self) {
        self.work.notify_one();
    }

    /// Stops this replica's claims of the pairs of session `id` (it was cancelled or deleted).
    fn abort(&self, id: &str) {
        self.claimed
            .lock()
            .expect("not poisoned")
            .retain(|(session, _), task| {
                let keep = session != id;
                if !keep {
                    task.abort();
                }
                keep
            });
    }
}

impl Jobs {
    fn shared(&self) -> &Shared {
        self.shared.as_ref().expect("a shared store")
    }

    /// Starts the replica's loops: claiming pairs, renewing their leases, reading the news.
    pub(super) fn start_shared(self: &Arc<Self>) {
        tokio::spawn(Arc::clone(self).claim_pairs());
        tokio::spawn(renew_leases(Arc::downgrade(self)));
        let news = self.shared().queue.changes();
        tokio::spawn(read_news(Arc::downgrade(self), news));
    }

    /// Claims pairs while this replica has slots (as many at once as are free), and runs each
    /// on a task of its own.
    async fn claim_pairs(self: Arc<Self>) {
        let shared = self.shared();
        while !shared.stopping.load(Ordering::Relaxed) {
            let first = Arc::clone(&self.limiter)
                .acquire_owned()
                .await
                .expect("never closed");
            let mut permits = vec![first];
            while let Ok(more) = Arc::clone(&self.limiter).try_acquire_owned() {
                permits.push(more);
            }
            match shared.queue.claim(permits.len()).await {
                Ok(claims) if !claims.is_empty() => {
                    for (claim, permit) in claims.into_iter().zip(permits.drain(..)) {
                        let key = (claim.session.clone(), claim.position);
                        let run = Arc::clone(&self).run_claim(claim, permit);
                        let mut tasks = shared.tasks.lock().expect("not poisoned");
                        // Those ended are forgotten (a JoinSet keeps them until joined).
                        while tasks.try_join_next().is_some() {}
                        let task = tasks.spawn(run);
                        drop(tasks);
                        shared
                            .claimed
                            .lock()
                            .expect("not poisoned")
                            .insert(key, task);
                    }
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::error!("claiming pairs: {e}"),
            }
            drop(permits);
            let _ = tokio::time::timeout(POLL, shared.work.notified()).await;
        }
    }

    async fn run_claim(self: Arc<Self>, claim: Claim, permit: OwnedSemaphorePermit) {
        let _share = super::take_share(self.shares.get(&claim.run.name).cloned()).await;
        let outcome = self.engine.run(&claim.query, &claim.run).await;
        let mut pair = Pair {
            query: claim.query.name.clone(),
            database: claim.run.name.clone(),
            state: PairState::Pending,
            error: None,
            result: None,
        };
        super::settle(&claim.session, &mut pair, outcome);
        let finished = self.shared().queue.finish(&claim, Arc::new(pair)).await;
        let key = (claim.session.clone(), claim.position);
        self.shared()
            .claimed
            .lock()
            .expect("not poisoned")
            .remove(&key);
        drop(permit);
        self.shared().wake();
        match finished {
            Ok(Finished::Saved) => {}
            Ok(Finished::Ended) => {
                metrics::counter!("kmviz_sessions_total", "status" => Status::Done.as_str())
                    .increment(1);
                let to = claim.notify.and_then(|n| Notifier::recipient(&n).ok());
                if let Some(to) = to {
                    match self.store.load(&claim.session).await {
                        Ok(Some(session)) => self.mail(Arc::new(session), to),
                        Ok(None) => {}
                        Err(e) => tracing::error!("session {}: {e}", claim.session),
                    }
                }
            }
            Ok(Finished::Lost) => tracing::info!(
                "session {}: pair {} was cancelled or taken over; its outcome is dropped",
                claim.session,
                claim.position
            ),
            Err(e) => tracing::error!("session {}: {e}", claim.session),
        }
    }

    /// Session `id` as this replica's watchers see it: followed from the store's news while it
    /// runs.
    pub(super) async fn follow(&self, id: &str) -> Result<Option<Watch>, StoreError> {
        let shared = self.shared();
        if let Some(followed) = shared.followed.lock().expect("not poisoned").get(id) {
            return Ok(Some(Watch::Running(followed.subscribe())));
        }
        let Some(session) = self.store.load(id).await? else {
            return Ok(None);
        };
        let session = Arc::new(session);
        if session.status != Status::Running {
            return Ok(Some(Watch::Finished(session)));
        }
        let receiver = {
            let mut followed = shared.followed.lock().expect("not poisoned");
            let sender = followed
                .entry(id.to_owned())
                .or_insert_with(|| watch::channel(session).0);
            sender.subscribe()
        };
        // An end announced between the read and now was not applied to it.
        self.reread_ended(vec![id.to_owned()]).await?;
        Ok(Some(Watch::Running(receiver)))
    }

    /// Cancels session `id` for every replica.
    pub(super) async fn cancel_shared(&self, id: &str) -> Result<bool, StoreError> {
        let cancelled = self.shared().queue.cancel(id.to_owned()).await?;
        self.shared().abort(id);
        if cancelled {
            metrics::counter!("kmviz_sessions_total", "status" => Status::Cancelled.as_str())
                .increment(1);
        }
        Ok(cancelled)
    }

    /// For a stop: claims no more; lets the pairs this replica runs finish for up to `grace`,
    /// then gives the others back to the queue (another replica runs them, or this instance
    /// when it starts again).
    pub(super) async fn wind_down_shared(&self, grace: Duration) {
        let shared = self.shared();
        shared.stopping.store(true, Ordering::Relaxed);
        shared.work.notify_one();
        let mut tasks = std::mem::take(&mut *shared.tasks.lock().expect("not poisoned"));
        if !tasks.is_empty() {
            tracing::info!("waiting up to {grace:?} for {} running pairs", tasks.len());
            let all = async { while tasks.join_next().await.is_some() {} };
            if tokio::time::timeout(grace, all).await.is_err() {
                tasks.shutdown().await;
            }
        }
        match shared.queue.release().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!("{n} pairs given back to the queue by the stop"),
            Err(e) => tracing::error!("giving pairs back to the queue: {e}"),
        }
    }

    /// Applies `change` to the sessions this replica follows.
    async fn apply(&self, change: Change) -> Result<(), StoreError> {
        let shared = self.shared();
        let followed = |id: &str| {
            let followed = shared.followed.lock().expect("not poisoned");
            followed.get(id).is_some_and(|f| f.receiver_count() > 0)
        };
        match change {
            Change::Work => shared.wake(),
            Change::Pair { id, position } if followed(&id) => {
                let Some(pair) = shared.queue.pair(id.clone(), position).await? else {
                    return Ok(());
                };
                if let Some(sender) = shared.followed.lock().expect("not poisoned").get(&id) {
                    sender.send_if_modified(|session| {
                        let changed = session.pairs.get(position) != Some(&pair);
                        if changed {
                            Arc::make_mut(session).pairs[position] = pair;
                        }
                        changed
                    });
                }
            }
            Change::Pair { .. } => {}
            Change::Ended { id } => {
                shared.abort(&id);
                self.reread(&id).await?;
            }
            Change::Missed => {
                shared.wake();
                let ids: Vec<String> = {
                    let followed = shared.followed.lock().expect("not poisoned");
                    followed.keys().cloned().collect()
                };
                for id in ids {
                    self.reread(&id).await?;
                }
            }
        }
        Ok(())
    }

    /// Reads followed session `id` again from the store; it is no longer followed once ended.
    async fn reread(&self, id: &str) -> Result<(), StoreError> {
        let shared = self.shared();
        if !shared
            .followed
            .lock()
            .expect("not poisoned")
            .contains_key(id)
        {
            return Ok(());
        }
        let session = self.store.load(id).await?;
        let mut followed = shared.followed.lock().expect("not poisoned");
        let running = session
            .as_ref()
            .is_some_and(|s| s.status == Status::Running);
        if let (Some(session), Some(sender)) = (session, followed.get(id)) {
            sender.send_replace(Arc::new(session));
        }
        if !running {
            // Dropping the sender ends the watchers' streams.
            followed.remove(id);
        }
        Ok(())
    }

    /// Stops following sessions nobody watches, and catches ends whose news was missed.
    async fn check_followed(&self) -> Result<(), StoreError> {
        let shared = self.shared();
        let ids: Vec<String> = {
            let mut followed = shared.followed.lock().expect("not poisoned");
            followed.retain(|_, sender| sender.receiver_count() > 0);
            followed.keys().cloned().collect()
        };
        if ids.is_empty() {
            return Ok(());
        }
        self.reread_ended(ids).await
    }

    /// Reads again those of followed sessions `ids` that are no longer running in the store.
    async fn reread_ended(&self, ids: Vec<String>) -> Result<(), StoreError> {
        let statuses: HashMap<String, Status> = self
            .shared()
            .queue
            .statuses(ids.clone())
            .await?
            .into_iter()
            .collect();
        for id in ids {
            if statuses.get(&id) != Some(&Status::Running) {
                self.reread(&id).await?;
            }
        }
        Ok(())
    }
}

/// Renews this replica's leases three times per lease, for as long as its jobs live.
async fn renew_leases(jobs: Weak<Jobs>) {
    let every = match jobs.upgrade() {
        Some(jobs) => jobs.shared().queue.lease() / 3,
        None => return,
    };
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let Some(jobs) = jobs.upgrade() else {
            return;
        };
        if let Err(e) = jobs.shared().queue.renew().await {
            tracing::error!("renewing leases: {e}");
        }
    }
}

/// Reads the store's news for as long as the jobs live; checks the followed sessions now and
/// then.
async fn read_news(jobs: Weak<Jobs>, mut news: broadcast::Receiver<Change>) {
    let mut checks = tokio::time::interval(POLL);
    loop {
        let change = tokio::select! {
            change = news.recv() => match change {
                Ok(change) => Some(change),
                Err(broadcast::error::RecvError::Lagged(_)) => Some(Change::Missed),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = checks.tick() => None,
        };
        let Some(jobs) = jobs.upgrade() else {
            return;
        };
        let done = match change {
            Some(change) => jobs.apply(change).await,
            None => jobs.check_followed().await,
        };
        if let Err(e) = done {
            tracing::warn!("following sessions: {e}");
        }
    }
}
