//! Plumbing that providers, MetaDBs and plugins share: boxed futures (so that they can be
//! trait objects) and stopping work on other threads when the future waiting for it is
//! dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A boxed future, so that providers and MetaDBs can be trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sets its flag when dropped: held by the future of a request whose lookups run on another
/// thread, so that a request timed out, cancelled or left by its client stops them.
#[derive(Debug)]
pub struct StopOnDrop(pub Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
