//! The HTTP API. Each resource has its module and its `router()`; handlers only extract,
//! call the domain and map the result.
//!
//! - [`kmindex`]: kmindex-server's API over a local index (for kmindex clients);
//! - `/api/...`: kmviz's JSON API ([`info`], [`databases`], [`query`], [`sessions`]), described
//!   by [`openapi`]; what plugins add ([`plugins`]: tabs, assets).

pub mod databases;
pub mod edge;
pub mod error;
pub mod info;
pub mod kmindex;
pub mod openapi;
pub mod ops;
pub mod plugins;
pub mod query;
pub mod rate;
pub mod sessions;

use std::collections::BTreeMap;
use std::sync::Arc;

use app::model::query::InputLimits;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
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
fn compression() -> CompressionLayer<impl Predicate> {
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

/// Puts `router` behind HTTP basic authentication with `users` (name → password).
pub fn require_basic_auth(router: Router, users: BTreeMap<String, String>) -> Router {
    let users = Arc::new(users);
    let failures = Arc::new(AuthFailures::default());
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let (users, failures) = (Arc::clone(&users), Arc::clone(&failures));
            async move {
                let client = request
                    .extensions()
                    .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                    .map(|info| info.0.ip());
                if authorized(&request, &users) {
                    failures.forget(client);
                    return next.run(request).await;
                }
                if request.headers().contains_key(header::AUTHORIZATION) {
                    // A wrong password: logged, and answered late so that guessing is slow
                    // (the delay holds no worker).
                    let (count, delay) = failures.count(client);
                    tracing::warn!(
                        "authentication failed for {} from {} ({count} in a row; answered in {delay:?})",
                        request.uri().path(),
                        client.map_or("an unknown client".to_owned(), |ip| ip.to_string()),
                    );
                    tokio::time::sleep(delay).await;
                }
                unauthorized()
            }
        },
    ))
}

/// Failed authentications per client address: each one in a row doubles the delay of the
/// answer, from [`FIRST_DELAY`] up to [`MOST_DELAY`]; a success, or [`FAILURES_KEPT`] of
/// quiet, starts over.
#[derive(Default)]
struct AuthFailures(
    std::sync::Mutex<
        std::collections::HashMap<Option<std::net::IpAddr>, (u32, std::time::Instant)>,
    >,
);

const FIRST_DELAY: std::time::Duration = std::time::Duration::from_millis(500);
const MOST_DELAY: std::time::Duration = std::time::Duration::from_secs(8);
const FAILURES_KEPT: std::time::Duration = std::time::Duration::from_secs(600);

impl AuthFailures {
    /// Counts a failure of `client`: how many in a row, and how late to answer it.
    fn count(&self, client: Option<std::net::IpAddr>) -> (u32, std::time::Duration) {
        let now = std::time::Instant::now();
        let mut failures = self.0.lock().expect("not poisoned");
        if failures.len() >= 100_000 {
            // Many addresses (a botnet, IPv6): keep the recent ones.
            failures.retain(|_, (_, last)| now.duration_since(*last) < FAILURES_KEPT);
        }
        let (count, last) = failures.entry(client).or_insert((0, now));
        if now.duration_since(*last) >= FAILURES_KEPT {
            *count = 0;
        }
        *count += 1;
        *last = now;
        let delay = FIRST_DELAY
            .saturating_mul(1 << (*count - 1).min(4))
            .min(MOST_DELAY);
        (*count, delay)
    }

    fn forget(&self, client: Option<std::net::IpAddr>) {
        let mut failures = self.0.lock().expect("not poisoned");
        if !failures.is_empty() {
            failures.remove(&client);
        }
    }
}

fn authorized(request: &Request, users: &BTreeMap<String, String>) -> bool {
    let Some((user, password)) = basic_credentials(request.headers()) else {
        return false;
    };
    users
        .get(&user)
        .is_some_and(|expected| same_bytes(expected.as_bytes(), password.as_bytes()))
}

/// The user and password of a request's HTTP basic authentication, if it has one.
pub fn basic_credentials(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        // RFC 7235: the scheme is case-insensitive.
        .and_then(|(scheme, v)| scheme.eq_ignore_ascii_case("basic").then_some(v))
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
        .and_then(|v| String::from_utf8(v).ok())?;
    let (user, password) = credentials.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Compares without stopping at the first difference, so timing does not reveal the prefix.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized() -> Response {
    let mut response =
        error::ApiError::new(StatusCode::UNAUTHORIZED, "authentication required").into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"kmviz\""),
    );
    response
}
