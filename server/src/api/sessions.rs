//! Sessions: `GET /api/sessions` (the caller's), `GET /api/sessions/{id}` (JSON without the
//! per-k-mer values unless `?vectors=true`, or Arrow IPC, complete, when asked with
//! `Accept: application/vnd.apache.arrow.stream`), `DELETE` (by its owner),
//! `POST /api/sessions/{id}/cancel` (stops the job),
//! `GET /api/sessions/{id}/hit?query=&database=&index=&id=` (one hit with its values),
//! `GET /api/sessions/{id}/pairs?positions=` (some pairs, as a progress event names them),
//! `GET /api/sessions/{id}/events` (progress as server-sent events) and
//! `GET /api/sessions/{id}/download` (ZIP).

use std::convert::Infallible;
use std::sync::Arc;

use app::api::{
    ErrorBody, PairProgress, PositionedPair, ProgressEvent, SessionSummary, parse_positions,
};
use app::model::session::{Hit, PairResult, PairState, Session, Status};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::Caller;
use super::error::ApiError;
use super::openapi::KMVIZ;
use super::{AppState, streamed};
use crate::export::{Archive, ExportError};
use crate::jobs::Watch;

pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(session, delete))
        .routes(routes!(cancel))
        .routes(routes!(hit))
        .routes(routes!(pairs))
        .routes(routes!(events))
        .routes(routes!(download))
}

/// The answer for a session id the store does not hold (or that the caller may not read).
pub(super) fn unknown(id: &str) -> ApiError {
    ApiError::not_found(format!("no session '{id}'"))
}

/// Whether `caller` may read `session`: anyone may, by its id (a shared link), unless the
/// operator keeps sessions to their owners (`sessions.shared_links = false`).
fn may_read(state: &AppState, caller: &Caller, session: &Session) -> bool {
    state.settings.shared_links || session.owner.is_none() || session.owner == caller.owner()
}

/// Session `id` as it is now, if `caller` may read it.
pub(crate) async fn readable(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Arc<Session>, ApiError> {
    let session = state.jobs.get(id).await?.ok_or_else(|| unknown(id))?;
    if may_read(state, caller, &session) {
        Ok(session)
    } else {
        Err(unknown(id))
    }
}

/// Session `id`, if `caller` may change it: its owner, or anyone when it has none.
async fn changeable(state: &AppState, caller: &Caller, id: &str) -> Result<Arc<Session>, ApiError> {
    let session = readable(state, caller, id).await?;
    match &session.owner {
        Some(owner) if caller.owner().as_ref() != Some(owner) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("session '{id}' is not yours: only {owner} may change it"),
        )),
        _ => Ok(session),
    }
}

/// Who `caller` is, as an owner; 401 saying `why` one is needed when it is no one.
fn named(caller: &Caller, why: &str) -> Result<String, ApiError> {
    caller.owner().ok_or_else(|| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!("{why}: this request names no user or API token (`Authorization: Bearer`)"),
        )
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The most sessions to list (newest first).
    #[serde(default = "default_list_limit")]
    #[param(default = 100, maximum = 1000)]
    limit: usize,
}

fn default_list_limit() -> usize {
    100
}

/// The caller's sessions (a user's or a token's), newest first
#[utoipa::path(get, path = "/api/sessions", tag = KMVIZ,
    params(ListQuery),
    responses(
        (status = 200, description = "the sessions", body = Vec<SessionSummary>),
        (status = 400, description = "a malformed query parameter", body = ErrorBody),
        (status = 401, description = "the request names no user or token", body = ErrorBody)
))]
async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(asked): Query<ListQuery>,
) -> Result<Json<Vec<SessionSummary>>, ApiError> {
    let owner = named(&caller, "sessions are listed for their owner")?;
    let limit = asked.limit.min(1000);
    Ok(Json(state.jobs.store().sessions_of(owner, limit).await?))
}

/// Delete a session and its results (its job is stopped first): only its owner may
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = KMVIZ,
    params(("id" = String, Path, description = "the session")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, description = "the request names no user or token", body = ErrorBody),
        (status = 403, description = "the session is not the caller's (sessions made by no one are kept until they expire)", body = ErrorBody),
        (status = 404, description = "unknown session", body = ErrorBody)
))]
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    named(&caller, "only a session's owner may delete it")?;
    let session = changeable(&state, &caller, &id).await?;
    if session.owner.is_none() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("session '{id}' belongs to no one: it is kept until it expires"),
        ));
    }
    state.jobs.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SessionQuery {
    /// Add each hit's `kmers`: `[value, count]` runs of its per-k-mer values.
    #[serde(default)]
    vectors: bool,
}

/// A session: status, pairs with their state and results (hits without their per-k-mer values unless `vectors=true`)
#[utoipa::path(get, path = "/api/sessions/{id}", tag = KMVIZ,
    params(("id" = String, Path, description = "the session"), SessionQuery),
    responses(
        (status = 200, description = "the session; as Arrow IPC when asked by `Accept`: one row per hit (query, database, ID, index, CovXK, CovXB, CovYK, CovYB, has_metadata, the metadata columns, then kmers and bases)", content(
            (Session = "application/json"),
            ("application/vnd.apache.arrow.stream"),
        )),
        (status = 400, description = "a malformed query parameter", body = ErrorBody),
        (status = 404, description = "unknown session", body = ErrorBody)
))]
async fn session(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(asked): Query<SessionQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = readable(&state, &caller, &id).await?;
    let wants_arrow = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(ARROW_STREAM));
    if wants_arrow {
        return Ok(streamed(ARROW_STREAM, None, move |out| {
            crate::export::arrow_stream(&session, out)
        }));
    }
    Ok(session_json(session, asked.vectors, accepts_gzip(&headers)))
}

/// `session` as JSON, with the per-k-mer values or without.
fn session_json(session: Arc<Session>, vectors: bool, gzip: bool) -> Response {
    streamed("application/json", gzipped(gzip), move |out| {
        if vectors {
            write_json(out, gzip, &*session)
        } else {
            write_json(out, gzip, &Arc::unwrap_or_clone(session).without_vectors())
        }
    })
}

/// The `Content-Encoding` of an answer written by [`write_json`].
fn gzipped(gzip: bool) -> Option<(header::HeaderName, String)> {
    gzip.then(|| (header::CONTENT_ENCODING, "gzip".to_owned()))
}

/// Writes `value` as JSON, gzipped (fastest level) when `gzip`: compressing as it is written,
/// off the async workers (see [`streamed`]).
fn write_json(
    out: &mut dyn std::io::Write,
    gzip: bool,
    value: &impl serde::Serialize,
) -> Result<(), ExportError> {
    if gzip {
        // In large pieces: the compressor pays a fixed cost per write.
        let out = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
        serde_json::to_writer(&mut out, value)?;
        out.into_inner().map_err(|e| e.into_error())?.finish()?;
    } else {
        serde_json::to_writer(out, value)?;
    }
    Ok(())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PairsQuery {
    /// Positions in the session's `pairs`, runs as `a-b`: `0-3,7`.
    positions: String,
}

/// Some pairs of a session by position, with their results (hits without their per-k-mer values): what a progress event said changed
#[utoipa::path(get, path = "/api/sessions/{id}/pairs", tag = KMVIZ,
    params(("id" = String, Path, description = "the session"), PairsQuery),
    responses(
        (status = 200, description = "the pairs, in the order asked", body = Vec<PositionedPair>),
        (status = 400, description = "a malformed position, or one the session does not have", body = ErrorBody),
        (status = 404, description = "unknown session", body = ErrorBody)
))]
async fn pairs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(asked): Query<PairsQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let positions = parse_positions(&asked.positions)
        .map_err(|e| ApiError::bad_request(format!("positions: {e}")))?;
    let session = readable(&state, &caller, &id).await?;
    let count = session.pairs.len();
    if let Some(beyond) = positions.iter().find(|&&p| p >= count) {
        return Err(ApiError::bad_request(format!(
            "positions: session '{id}' has {count} pairs, numbered from 0; there is no {beyond}"
        )));
    }
    let gzip = accepts_gzip(&headers);
    Ok(streamed("application/json", gzipped(gzip), move |out| {
        let pairs: Vec<PositionedPair> = positions
            .into_iter()
            .map(|position| PositionedPair {
                position,
                pair: session.pairs[position].clone().without_vectors(),
            })
            .collect();
        write_json(out, gzip, &pairs)
    }))
}

/// Whether `Accept-Encoding` takes gzip (`gzip` or `*`, not at `q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// Names one hit of a session.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct HitKey {
    pub(super) query: String,
    pub(super) database: String,
    pub(super) index: String,
    pub(super) id: String,
}

/// The hit `key` names in `session`, with the result it is part of.
pub(super) fn find_hit<'a>(
    session: &'a Session,
    key: &HitKey,
) -> Result<(&'a PairResult, &'a Hit), ApiError> {
    session
        .pairs
        .iter()
        .filter(|p| p.query == key.query && p.database == key.database)
        .filter_map(|p| p.result.as_ref())
        .find_map(|r| {
            let hit = r
                .hits
                .iter()
                .find(|h| h.index == key.index && h.id == key.id)?;
            Some((r, hit))
        })
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "session '{}' has no hit '{}' in index '{}' for query '{}' on database '{}'",
                session.id, key.id, key.index, key.query, key.database
            ))
        })
}

/// One hit of a session with its per-k-mer values (`kmers`, `[value, count]` runs): what the Sequence tab draws
#[utoipa::path(get, path = "/api/sessions/{id}/hit", tag = KMVIZ,
    params(("id" = String, Path, description = "the session"), HitKey),
    responses(
        (status = 200, description = "the hit", body = Hit),
        (status = 400, description = "a malformed query parameter", body = ErrorBody),
        (status = 404, description = "unknown session, or no such hit", body = ErrorBody)
))]
async fn hit(
    State(state): State<AppState>,
    caller: Caller,
    Path(session_id): Path<String>,
    Query(key): Query<HitKey>,
) -> Result<Json<Hit>, ApiError> {
    let session = readable(&state, &caller, &session_id).await?;
    let (_, hit) = find_hit(&session, &key)?;
    Ok(Json(hit.clone()))
}

/// Cancel the session's job (pairs not finished become cancelled); answers the session as it ended, as `GET` does (without the per-k-mer values)
#[utoipa::path(post, path = "/api/sessions/{id}/cancel", tag = KMVIZ,
    params(("id" = String, Path, description = "the session")),
    responses(
        (status = 200, description = "the session as it ended", body = Session),
        (status = 403, description = "the session is another's", body = ErrorBody),
        (status = 404, description = "unknown session", body = ErrorBody)
))]
async fn cancel(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    changeable(&state, &caller, &id).await?;
    let session = state.jobs.cancel(&id).await?.ok_or_else(|| unknown(&id))?;
    Ok(session_json(session, false, false))
}

/// The event for `session` now; `sent` holds each pair's state as the stream last sent it
/// (`None`: not yet), and is brought up to date.
fn progress_event(session: &Session, sent: &mut Vec<Option<PairState>>) -> Event {
    sent.resize(session.pairs.len(), None);
    let pairs = session
        .pairs
        .iter()
        .zip(sent.iter_mut())
        .enumerate()
        .filter(|(_, (pair, sent))| **sent != Some(pair.state))
        .map(|(position, (p, sent))| {
            *sent = Some(p.state);
            PairProgress {
                position,
                query: p.query.clone(),
                database: p.database.clone(),
                state: p.state,
                error: p.error.clone(),
                hits: p.result.as_ref().map(|r| r.hits.len()),
            }
        })
        .collect();
    let event = ProgressEvent {
        status: session.status,
        progress: session.progress(),
        pairs,
    };
    let name = if session.status == Status::Running {
        "progress"
    } else {
        "end"
    };
    Event::default()
        .event(name)
        .json_data(event)
        .expect("serialisable")
}

/// Progress as server-sent events: `progress` while running, then one `end`
///
/// Each event's data is a `ProgressEvent`: the status, the counts and the pairs changed since the previous event (all of them in the first), by `position`.
#[utoipa::path(get, path = "/api/sessions/{id}/events", tag = KMVIZ,
    params(("id" = String, Path, description = "the session")),
    responses(
        (status = 200, description = "the event stream; each event's data is a ProgressEvent", content_type = "text/event-stream"),
        (status = 404, description = "unknown session", body = ErrorBody)
))]
async fn events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let watch = state.jobs.watch(&id).await?.ok_or_else(|| unknown(&id))?;
    if !may_read(&state, &caller, &watch.now()) {
        return Err(unknown(&id));
    }
    let jobs = state.jobs.clone();
    // Each step sends what changed since the last (at once: the next change is awaited after
    // the event is out); after the job ends, one last `end` event.
    let stream = futures_util::stream::unfold(
        (Some(watch), Vec::new(), false),
        move |(step, mut sent, wait)| {
            let jobs = jobs.clone();
            let id = id.clone();
            async move {
                let mut receiver = match step? {
                    Watch::Finished(session) => {
                        let event = progress_event(&session, &mut sent);
                        return Some((Ok(event), (None, sent, false)));
                    }
                    Watch::Running(receiver) => receiver,
                };
                if wait && receiver.changed().await.is_err() {
                    // The job ended: its final state is in the store.
                    let session = jobs.get(&id).await.ok().flatten()?;
                    return Some((Ok(progress_event(&session, &mut sent)), (None, sent, false)));
                }
                // Read in place: a session may hold many hits.
                let (event, running) = {
                    let now = receiver.borrow_and_update();
                    (
                        progress_event(&now, &mut sent),
                        now.status == Status::Running,
                    )
                };
                let next = running.then_some(Watch::Running(receiver));
                Some((Ok(event), (next, sent, true)))
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// ZIP: one TSV per (query, database), session.json, README.md
#[utoipa::path(get, path = "/api/sessions/{id}/download", tag = KMVIZ,
    params(("id" = String, Path, description = "the session")),
    responses(
        (status = 200, description = "the ZIP", content_type = "application/zip"),
        (status = 404, description = "unknown session", body = ErrorBody)
))]
async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let session = readable(&state, &caller, &id).await?;
    Ok(zip_download(session, Archive::Session))
}

/// The ZIP of `session`, written as it is sent.
pub(super) fn zip_download(session: Arc<Session>, archive: Archive) -> Response {
    let disposition = format!("attachment; filename=\"kmviz-{}.zip\"", session.id);
    streamed(
        "application/zip",
        Some((header::CONTENT_DISPOSITION, disposition)),
        move |out| crate::export::zip(&session, archive, out),
    )
}
