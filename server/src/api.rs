//! The HTTP API. Each resource has its module and its `router()`; handlers only extract,
//! call the domain and map the result.
//!
//! - [`kmindex`]: kmindex-server's API over a local index (for kmindex clients);
//! - `/api/...`: kmviz's JSON API ([`info`], [`databases`], [`query`], [`sessions`]), described
//!   by [`openapi`]; what plugins add ([`plugins`]: tabs, assets).

pub mod auth;
pub mod databases;
pub mod edge;
pub mod error;
pub mod info;
pub mod kmindex;
pub mod mcp;
pub mod openapi;
pub mod ops;
pub mod plugins;
pub mod query;
pub mod rate;
pub mod sessions;

use std::sync::Arc;

use app::model::query::InputLimits;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use utoipa_axum::router::OpenApiRouter;

use crate::export::ExportError;
use crate::jobs::Jobs;

/// What the API handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub jobs: Arc<Jobs>,
    pub settings: Arc<Settings>,
    /// Plugins' tabs and branding.
    pub pages: Arc<crate::plugin::page::Pages>,
    pub rates: Arc<rate::RateLimits>,
}

/// The instance's settings the API applies.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Limits of JSON query requests (the app's).
    pub input: InputLimits,
    /// Limits of requests in kmviz 0.8's API form.
    pub api_limits: InputLimits,
    pub default: app::api::Preselection,
    pub ui: app::api::Tabs,
    /// Example queries (FASTA) the app offers.
    pub example: Option<String>,
    pub max_body_size: usize,
    /// Anyone may read a session by its id (a shared link); else only its owner, when it
    /// has one.
    pub shared_links: bool,
    /// Set when the instance mails as jobs end (`[notif]`).
    pub notify: Option<app::api::Notify>,
}

/// kmviz's JSON API: each route with its description ([`openapi`] gathers them).
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(info::routes())
        .merge(databases::routes())
        .merge(query::routes())
        .merge(sessions::routes())
        .merge(plugins::routes())
        .merge(openapi::routes())
}

/// kmviz's JSON API, served.
pub fn router(state: AppState) -> Router {
    let max_body = state.settings.max_body_size;
    let (router, _) = routes().split_for_parts();
    router
        .route("/api/{*rest}", axum::routing::any(edge::unknown_api_path))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate::count_request,
        ))
        .layer(axum::middleware::map_response(edge::json_errors))
        .layer(DefaultBodyLimit::max(max_body))
        .layer(compression())
        .with_state(state)
}

/// gzip for clients that accept it (a session's JSON shrinks about tenfold), at the fastest
/// level: the answers are small and CPU is what a busy instance runs out of. ZIP files are
/// compressed already; events must not wait for a compressor's buffer.
pub(crate) fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(DefaultPredicate::new().and(NotForContentType::const_new("application/zip")))
}

/// Runs CPU-bound `work` (a plugin's input, say) in a CPU slot ([`crate::cpu::run`]), so that
/// the async workers keep answering other requests meanwhile.
pub async fn off_runtime<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, error::ApiError> {
    crate::cpu::run(work)
        .await
        .map_err(|e| error::ApiError::internal(e.to_string()))?
        .map_err(|e| error::ApiError::internal(e.to_string()))
}

/// A response of `content_type` whose body `write` produces on the blocking pool in a CPU slot
/// ([`crate::cpu`]), sent as it is written: a large session is never whole in memory, and
/// encoding it holds no async worker. A failure after the first bytes ends the body early
/// (and is logged).
pub fn streamed(
    content_type: &'static str,
    extra: Option<(header::HeaderName, String)>,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<(), ExportError> + Send + 'static,
) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        let slot = crate::cpu::slot().await;
        tokio::task::spawn_blocking(move || {
            let mut out = ChunkWriter {
                chunk: Vec::with_capacity(ChunkWriter::SIZE),
                sender,
                slot,
            };
            let written = write(&mut out).and_then(|()| Ok(out.send()?));
            if let Err(e) = written {
                tracing::warn!("a {content_type} answer stopped: {e}");
                let ChunkWriter {
                    sender, mut slot, ..
                } = out;
                let _ = slot.lend(|| sender.blocking_send(Err(std::io::Error::other(e))));
            }
        });
    });
    // Fused: the compressor polls once more after the end.
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    })
    .fuse();
    let mut response = axum::body::Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some((name, value)) = extra
        && let Ok(value) = HeaderValue::from_str(&value)
    {
        headers.insert(name, value);
    }
    response
}

/// Gathers writes into chunks for a streamed body, holding a CPU slot except while the client
/// is behind.
struct ChunkWriter {
    chunk: Vec<u8>,
    sender: tokio::sync::mpsc::Sender<std::io::Result<axum::body::Bytes>>,
    slot: crate::cpu::Slot,
}

impl ChunkWriter {
    const SIZE: usize = 64 * 1024;

    fn send(&mut self) -> std::io::Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        use tokio::sync::mpsc::error::TrySendError;
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(Self::SIZE));
        let sent = match self.sender.try_send(Ok(chunk.into())) {
            Err(TrySendError::Full(chunk)) => {
                let sender = &self.sender;
                self.slot.lend(|| sender.blocking_send(chunk)).is_ok()
            }
            sent => sent.is_ok(),
        };
        sent.then_some(())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client left"))
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.chunk.extend_from_slice(bytes);
        if self.chunk.len() >= Self::SIZE {
            self.send()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
