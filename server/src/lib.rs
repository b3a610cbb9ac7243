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

use tokio::net::TcpListener;

/// Serves `router` on `listener` until ctrl-c (or forever in tests, where the task is dropped).
pub async fn serve(listener: TcpListener, router: axum::Router) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without it, small answers wait for the peer's delayed ACK (40 ms on Linux).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!("TCP_NODELAY: {e}");
        }
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}

/// Binds `address`, logs where the server listens and returns the listener.
pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(address).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    Ok(listener)
}
