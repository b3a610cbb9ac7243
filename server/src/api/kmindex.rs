//! kmindex-server's API, on the native engine: `GET /kmindex/infos` and
//! `POST /kmindex/query`, with kmindex-server's bodies, status codes and deflate encoding, so
//! existing kmindex clients work unchanged. Queries run on the blocking pool, many at once.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::openapi::KMINDEX;
use crate::future::StopOnDrop;
use kmindex::Index;
use kmindex::request::{Request, RequestError};

/// What one kmindex-compatible server allows.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request body, in bytes (larger get 413).
    pub max_body: usize,
    /// Queries looked up at once; more wait their turn.
    pub concurrency: usize,
}

impl Default for Limits {
    /// The JSON API's default body limit, and one query per core.
    fn default() -> Limits {
        Limits {
            max_body: crate::config::ApiConfig::default().max_body_size,
            concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// kmindex-server's query body (read by [`Request::parse`], in kmindex-server's order and
/// wording).
#[derive(ToSchema)]
#[allow(dead_code)] // Described for clients.
struct KmindexQuery {
    /// Sub-indexes to query.
    index: Vec<String>,
    /// The query's name.
    id: String,
    /// Sequences, all one query (or `fastx`).
    seq: Option<Vec<String>>,
    /// FASTA/FASTQ text whose records are all one query (or `seq`).
    fastx: Option<String>,
    /// Consecutive s-mers (k = s + z) that must be present.
    z: usize,
    /// Least share of k-mers found for a sample to be reported (default 0).
    r: Option<f64>,
    /// `json` (the default), `json_vec` or `tsv`.
    format: Option<String>,
}

#[derive(Clone)]
struct Served {
    index: Arc<Index>,
    turns: Arc<Semaphore>,
}

fn routes() -> OpenApiRouter<Served> {
    OpenApiRouter::new()
        .routes(routes!(infos))
        .routes(routes!(query))
}

/// The routes' description.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The kmindex-compatible routes over `index`.
pub fn router(index: Arc<Index>, limits: Limits) -> Router {
    let (router, _) = routes().split_for_parts();
    router
        .layer(DefaultBodyLimit::max(limits.max_body))
        .with_state(Served {
            index,
            turns: Arc::new(Semaphore::new(limits.concurrency.max(1))),
        })
}

/// The index: its sub-indexes and their layout, as kmindex-server answers
#[utoipa::path(get, path = "/kmindex/infos", tag = KMINDEX, responses(
    (status = 200, description = "kmindex's description of the index (deflated when accepted)", body = serde_json::Value)
))]
async fn infos(State(served): State<Served>, headers: HeaderMap) -> Response {
    answer(served.index.infos().pretty(), &headers)
}

/// Query sub-indexes with one query, as kmindex-server does
#[utoipa::path(post, path = "/kmindex/query", tag = KMINDEX,
    request_body = KmindexQuery,
    responses(
        (status = 200, description = "kmindex's answer: JSON for `json` and `json_vec`, CSV text for `tsv` (deflated when accepted)", content(
            (serde_json::Value = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "a refused request, worded as kmindex-server words it", body = app::api::ErrorBody)
))]
async fn query(State(served): State<Served>, headers: HeaderMap, body: Bytes) -> Response {
    let _turn = served.turns.acquire().await.expect("never closed");
    // A client that leaves drops this future: its lookups stop.
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_when_dropped = StopOnDrop(Arc::clone(&stop));
    let solved = tokio::task::spawn_blocking(move || {
        let request = Request::parse(&body)?;
        tracing::info!(id = %request.id, indexes = ?request.indexes, "kmindex query");
        request.answer(&served.index, &stop)
    })
    .await;
    match solved {
        Ok(Ok(text)) => answer(text, &headers),
        Ok(Err(refused)) => refuse(&refused),
        Err(panic) => {
            tracing::error!("kmindex query failed: {panic}");
            let body = r#"{"error":"Internal server error"}"#;
            (StatusCode::INTERNAL_SERVER_ERROR, json_type(), body).into_response()
        }
    }
}

fn refuse(refused: &RequestError) -> Response {
    tracing::info!("bad client request -> {refused}");
    (StatusCode::BAD_REQUEST, json_type(), refused.body()).into_response()
}

fn json_type() -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    )]
}

/// A 200 as kmindex-server sends it: JSON when the text is an object, else `text/csv`;
/// zlib-deflated when the client accepts `deflate`.
fn answer(text: String, headers: &HeaderMap) -> Response {
    let content_type = if text.starts_with('{') {
        "application/json"
    } else {
        "text/csv"
    };
    let accepts_deflate = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| v.contains("deflate")));
    let mut response = if accepts_deflate {
        let mut encoder =
            flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).expect("write to memory");
        let body = encoder.finish().expect("finish in memory");
        let mut response = body.into_response();
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            HeaderValue::from_static("deflate"),
        );
        response
    } else {
        text.into_response()
    };
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
