//! What plugins add: `GET /api/sessions/{id}/tabs/{plugin}?query=Q&database=D` (a tab's
//! content for one result) and `GET /plugins/{plugin}/{path}` (instance plugins' assets).
//! The tabs and the branding are listed by `/api/info`.

use app::model::plugins::TabContent;
use app::model::session::Session;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use super::sessions::unknown;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/sessions/{id}/tabs/{plugin}", get(tab))
        .route("/plugins/{plugin}/{*path}", get(asset))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pair {
    query: String,
    database: String,
}

async fn tab(
    State(state): State<AppState>,
    Path((id, plugin)): Path<(String, String)>,
    Query(pair): Query<Pair>,
) -> Result<Json<TabContent>, ApiError> {
    let session = state.jobs.get(&id).await?.ok_or_else(|| unknown(&id))?;
    let result = session
        .pairs
        .iter()
        .find(|p| p.query == pair.query && p.database == pair.database)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "session '{id}' has no query '{}' on database '{}'",
                pair.query, pair.database
            ))
        })?;
    if result.result.is_none() {
        return Ok(Json(TabContent::Error(format!(
            "query '{}' on database '{}' has no result to show",
            pair.query, pair.database
        ))));
    }
    let one = Session {
        id: session.id.clone(),
        created: session.created,
        status: session.status,
        queries: session.queries.clone(),
        databases: session.databases.clone(),
        pairs: vec![result.clone()],
    };
    let stream = super::off_runtime(move || {
        let mut stream = Vec::new();
        crate::export::arrow_stream(&one, &mut stream).map(|()| stream)
    })
    .await?;
    state
        .pages
        .render(&plugin, stream)
        .await
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no tab plugin '{plugin}'")))
}

async fn asset(
    State(state): State<AppState>,
    Path((plugin, path)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let asset = state
        .pages
        .asset(&plugin, &path)
        .ok_or_else(|| ApiError::not_found(format!("plugin '{plugin}' has no asset '{path}'")))?;
    Ok((
        [
            (header::CONTENT_TYPE, asset.mime.clone()),
            // Opened on its own, an HTML or SVG asset is a sandboxed document of no origin
            // that runs no script and loads nothing from elsewhere (as an image or a
            // stylesheet of the app, it is not a document and this does not apply).
            (header::CONTENT_SECURITY_POLICY, ASSET_POLICY.to_owned()),
        ],
        asset.bytes.clone(),
    )
        .into_response())
}

const ASSET_POLICY: &str =
    "sandbox; default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";
