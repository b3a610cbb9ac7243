//! What plugins add: `GET /api/sessions/{id}/tabs/{plugin}?query=Q&database=D` (a tab's
//! content for one result) and `GET /plugins/{plugin}/{path}` (instance plugins' assets).
//! The tabs and the branding are listed by `/api/info`.

use app::api::ErrorBody;
use app::model::plugins::TabContent;
use app::model::session::Session;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::openapi::PLUGINS;
use super::sessions::readable;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tab))
        .routes(routes!(asset))
}

/// One result of the session.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Pair {
    query: String,
    database: String,
}

/// A plugin tab's content for one (query, database) of the session
#[utoipa::path(get, path = "/api/sessions/{id}/tabs/{plugin}", tag = PLUGINS,
    params(
        ("id" = String, Path, description = "the session"),
        ("plugin" = String, Path, description = "a tab plugin listed in /api/info `tabs`"),
        Pair,
    ),
    responses(
        (status = 200, description = "sanitised HTML, text, or why the plugin could not render it", body = TabContent),
        (status = 400, description = "a malformed query parameter", body = ErrorBody),
        (status = 404, description = "unknown session, pair or tab plugin", body = ErrorBody)
))]
async fn tab(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, plugin)): Path<(String, String)>,
    Query(pair): Query<Pair>,
) -> Result<Json<TabContent>, ApiError> {
    let session = readable(&state, &caller, &id).await?;
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
        owner: None,
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

/// An instance plugin's asset (stylesheets and images of its pages)
#[utoipa::path(get, path = "/plugins/{plugin}/{*path}", tag = PLUGINS,
    params(
        ("plugin" = String, Path, description = "the plugin"),
        ("path" = String, Path, description = "the asset's path among the plugin's assets"),
    ),
    responses(
        (status = 200, description = "the file, with its MIME type"),
        (status = 404, description = "no such asset", body = ErrorBody)
))]
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
