//! Sessions: `GET /api/sessions/{id}` (JSON, or Arrow IPC when asked with
//! `Accept: application/vnd.apache.arrow.stream`), `DELETE` (cancels the job),
//! `GET /api/sessions/{id}/events` (progress as server-sent events) and
//! `GET /api/sessions/{id}/download` (ZIP).

use std::convert::Infallible;

use app::model::session::{PairState, Progress, Session, Status};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use serde::Serialize;

use super::AppState;
use super::error::ApiError;
use crate::jobs::Watch;

pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sessions/{id}", get(session).delete(cancel))
        .route("/api/sessions/{id}/events", get(events))
        .route("/api/sessions/{id}/download", get(download))
}

/// The answer for a session id the store does not hold.
pub(super) fn unknown(id: &str) -> ApiError {
    ApiError::not_found(format!("no session '{id}'"))
}

async fn session(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = state.jobs.get(&id).await?.ok_or_else(|| unknown(&id))?;
    let wants_arrow = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains(ARROW_STREAM));
    if wants_arrow {
        let stream = crate::export::arrow_stream(&session).map_err(ApiError::internal)?;
        return Ok(([(header::CONTENT_TYPE, ARROW_STREAM)], stream).into_response());
    }
    Ok(Json(session).into_response())
}

async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Session>, ApiError> {
    Ok(Json(
        state.jobs.cancel(&id).await?.ok_or_else(|| unknown(&id))?,
    ))
}

/// One progress event: the session's status, counts, and each pair's state.
#[derive(Serialize)]
struct ProgressEvent<'a> {
    status: Status,
    progress: Progress,
    pairs: Vec<PairProgress<'a>>,
}

#[derive(Serialize)]
struct PairProgress<'a> {
    query: &'a str,
    database: &'a str,
    state: PairState,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hits: Option<usize>,
}

fn progress_event(session: &Session) -> Event {
    let event = ProgressEvent {
        status: session.status,
        progress: session.progress(),
        pairs: session
            .pairs
            .iter()
            .map(|p| PairProgress {
                query: &p.query,
                database: &p.database,
                state: p.state,
                error: p.error.as_deref(),
                hits: p.result.as_ref().map(|r| r.hits.len()),
            })
            .collect(),
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

async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let watch = state.jobs.watch(&id).await?.ok_or_else(|| unknown(&id))?;
    let jobs = state.jobs.clone();
    // Each step sends the state as it is now; after the job ends, one last `end` event.
    let stream = futures_util::stream::unfold(Some(watch), move |step| {
        let jobs = jobs.clone();
        let id = id.clone();
        async move {
            match step? {
                Watch::Finished(session) => Some((Ok(progress_event(&session)), None)),
                Watch::Running(mut receiver) => {
                    let now = receiver.borrow_and_update().clone();
                    let event = progress_event(&now);
                    if now.status != Status::Running {
                        return Some((Ok(event), None));
                    }
                    let next = if receiver.changed().await.is_ok() {
                        Some(Watch::Running(receiver))
                    } else {
                        // The job ended: its final state is in the store.
                        match jobs.get(&id).await {
                            Ok(Some(session)) => Some(Watch::Finished(session)),
                            _ => None,
                        }
                    };
                    Some((Ok(event), next))
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

async fn download(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let session = state.jobs.get(&id).await?.ok_or_else(|| unknown(&id))?;
    let zip = crate::export::zip(&session).map_err(ApiError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"kmviz-{id}.zip\""),
            ),
        ],
        zip,
    )
        .into_response())
}
