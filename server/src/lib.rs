//! kmviz's server: the kmindex engine ([`kmindex`]), the HTTP API ([`api`]), the providers that
//! answer queries ([`provider`]), the embedded [`demo`] and the command line ([`cli`]).
//!
//! The domain modules know nothing of HTTP; [`api`] maps requests onto them.

pub mod api;
pub mod cli;
pub mod demo;
pub mod kmindex;
pub mod provider;

use std::net::SocketAddr;

use tokio::net::TcpListener;

/// Serves `router` on `listener` until ctrl-c (or forever in tests, where the task is dropped).
pub async fn serve(listener: TcpListener, router: axum::Router) -> std::io::Result<()> {
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
