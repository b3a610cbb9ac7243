//! CPU-bound work off the async workers, as many pieces at once as there are cores.

use std::sync::LazyLock;

use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinError;

/// One slot per core: the rest waits its turn, first come first served.
static SLOTS: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// Runs `work` on the blocking pool once a slot is free. Work that may wait on anything but
/// the CPU (a client, the disk, a lock) does not belong here. The blocking pool alone ran
/// every request's work at once: the system shared the cores among dozens of threads, the
/// async workers that read requests and send answers got a sliver each, and the slowest
/// requests took three times as long as the median.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, JoinError> {
    let slot = SLOTS.acquire().await.expect("the slots are never closed");
    // Held by the work itself: it runs on even when the caller stops waiting.
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        work()
    })
    .await
}

/// A slot held by work that runs on a blocking thread of its own (see [`slot`]).
#[derive(Debug)]
pub struct Slot(Option<SemaphorePermit<'static>>);

/// Waits for a slot, for work that sometimes waits on something else: it lends the slot
/// meanwhile ([`Slot::lend`]).
pub async fn slot() -> Slot {
    Slot(Some(
        SLOTS.acquire().await.expect("the slots are never closed"),
    ))
}

impl Slot {
    /// Gives the slot up while `wait` blocks (on a slow client, say), then waits for one
    /// again. Only on a blocking thread.
    pub fn lend<T>(&mut self, wait: impl FnOnce() -> T) -> T {
        self.0 = None;
        let waited = wait();
        let again = tokio::runtime::Handle::current().block_on(SLOTS.acquire());
        self.0 = Some(again.expect("the slots are never closed"));
        waited
    }
}
