//! kmviz's server, on the kmindex engine (the [`kmindex`] crate beside this one, optimised
//! even in a quick build): the providers that answer queries ([`provider`]), the MetaDBs that
//! hold sample metadata ([`metadb`]), the query [`engine`] (checking, running, joining),
//! [`jobs`] and the [`session`] store, file exports ([`export`]), the [`config`]uration, the
//! HTTP API ([`api`]), the browser app's files ([`web`]), the [`instance`] that ties them into
//! an [`App`] (the one way a server starts: the command line, the demo, the tests and the
//! benches), the embedded [`demo`] and the command line ([`cli`]).
//!
//! The domain modules know nothing of HTTP; [`api`] maps requests onto them.

// The app's page (rendered by [`web`]) has view types nested deeper than the default limit.
#![recursion_limit = "256"]

pub mod api;
pub mod cli;
pub mod config;
pub mod cpu;
pub mod demo;
pub mod engine;
pub mod export;
pub mod future;
pub mod instance;
pub mod jobs;
pub mod metadb;
pub mod metrics;
pub mod notify;
pub mod plugin;
pub mod provider;
pub mod registry;
pub mod session;
pub mod token;
pub mod web;

pub use instance::{App, Instance};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// At most this many connections are served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 512;
/// A client has this long to send a request's headers, and between two pieces of its body.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long answers under way may take to end once the server stops (after `wind_down`).
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// Resolves on ctrl-c or SIGTERM (what `docker stop` and service managers send).
pub async fn stop_signal() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
}

/// Serves `router` on `listener` until `stop` resolves; then stops accepting, runs
/// `wind_down` (running jobs finish or are interrupted) while the answers under way end, and
/// returns once they have (or after [`DRAIN_TIME`] more).
/// Slow clients are dropped: headers not complete within [`READ_TIMEOUT`], bodies that stall
/// as long; connections are capped at [`MAX_CONNECTIONS`] so that the descriptors last.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    stop: impl Future<Output = ()>,
    wind_down: impl Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt as _;

    let router = api::edge::guard(router).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        READ_TIMEOUT,
    ));
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut stopping = std::pin::pin!(stop);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    loop {
        let permit = Arc::clone(&connections)
            .acquire_owned()
            .await
            .expect("never closed");
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors, say: the connection is lost, the server goes on.
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stopping => break,
        };
        // Without it, small answers wait for the peer's delayed ACK (40 ms on Linux).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("TCP_NODELAY: {e}");
        }
        let service = TowerToHyperService::new(router.clone().map_request(
            move |request: axum::http::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                // Who is asking (per-client slowdowns of failed authentications).
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT);
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopped.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(permit);
        });
    }
    tracing::info!("stopping: no new connections");
    drop(listener);
    // Answers under way are finished; idle connections are closed.
    let _ = stop.send(true);
    wind_down.await;
    let drained =
        tokio::time::timeout(DRAIN_TIME, connections.acquire_many(MAX_CONNECTIONS as u32)).await;
    if drained.is_err() {
        tracing::warn!("answers still under way after {DRAIN_TIME:?} were cut");
    }
    Ok(())
}

/// `bytes` random bytes, in hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    getrandom::fill(&mut random).expect("the system has a random source");
    hex(&random)
}

/// `bytes` in lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Binds `address`, logs where the server listens and returns the listener.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(address).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    Ok(listener)
}
