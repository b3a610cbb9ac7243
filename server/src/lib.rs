//! kmviz's server: the kmindex engine ([`kmindex`]), the providers that answer queries
//! ([`provider`]), the MetaDBs that hold sample metadata ([`metadb`]), the query [`engine`]
//! (checking, running, joining), [`jobs`] and the [`session`] store, file exports ([`export`]),
//! the [`config`]uration, the HTTP API ([`api`]), the browser app's files ([`web`]), the
//! [`instance`] that ties them, the embedded [`demo`] and the command line ([`cli`]).
//!
//! The domain modules know nothing of HTTP; [`api`] maps requests onto them.

pub mod api;
pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod export;
pub mod instance;
pub mod jobs;
pub mod kmindex;
pub mod metadb;
pub mod plugin;
pub mod provider;
pub mod session;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// At most this many connections are served at once; more wait in the listen queue.
const MAX_CONNECTIONS: usize = 512;
/// A client has this long to send a request's headers, and between two pieces of its body.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` on `listener` until ctrl-c (or forever in tests, where the task is dropped).
/// Slow clients are dropped: headers not complete within [`READ_TIMEOUT`], bodies that stall
/// as long; connections are capped at [`MAX_CONNECTIONS`] so that the descriptors last.
pub async fn serve(listener: TcpListener, router: axum::Router) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt as _;

    let router = api::edge::guard(router).layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        READ_TIMEOUT,
    ));
    let connections = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        let permit = Arc::clone(&connections)
            .acquire_owned()
            .await
            .expect("never closed");
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors, say: the connection is lost, the server goes on.
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut ctrl_c => break,
        };
        // Without it, small answers wait for the peer's delayed ACK (40 ms on Linux).
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("TCP_NODELAY: {e}");
        }
        let service = TowerToHyperService::new(router.clone().map_request(
            |request: axum::http::Request<hyper::body::Incoming>| {
                request.map(axum::body::Body::new)
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
    // Answers under way are finished; idle connections are closed.
    let _ = stop.send(true);
    let _ = connections.acquire_many(MAX_CONNECTIONS as u32).await;
    Ok(())
}

/// Binds `address`, logs where the server listens and returns the listener.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(address).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    Ok(listener)
}
