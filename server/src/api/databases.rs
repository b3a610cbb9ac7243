//! `GET /api/databases/{db}/metadata?offset=&limit=`: a page of a database's metadata table.

use app::api::{ErrorBody, MetadataPage};
use app::model::session::Column;
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::openapi::KMVIZ;
use crate::metadb::{Rows, columns};

/// Most rows in one page.
pub const MAX_PAGE: usize = 10_000;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(metadata))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Page {
    /// Rows skipped.
    #[serde(default)]
    offset: usize,
    /// Rows in the page (at most 10,000).
    #[serde(default = "default_limit")]
    #[param(default = 100)]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// A page of a database's metadata table (ID first)
#[utoipa::path(get, path = "/api/databases/{db}/metadata", tag = KMVIZ,
    params(("db" = String, Path, description = "the database"), Page),
    responses(
        (status = 200, description = "the page", body = MetadataPage),
        (status = 400, description = "bad paging", body = ErrorBody),
        (status = 404, description = "unknown database", body = ErrorBody)
))]
async fn metadata(
    State(state): State<AppState>,
    Path(db): Path<String>,
    Query(page): Query<Page>,
) -> Result<Json<MetadataPage>, ApiError> {
    if page.limit > MAX_PAGE {
        return Err(ApiError::bad_request(format!(
            "limit {} is above the largest page, {MAX_PAGE}",
            page.limit
        )));
    }
    let database = state.jobs.engine().database(&db)?;
    let failed =
        |e: crate::metadb::MetaDbError| ApiError::internal(format!("database '{db}': {e}"));
    let total = database.metadb.count().await.map_err(failed)?;
    let batch = database
        .metadb
        .page(page.offset, page.limit)
        .await
        .map_err(failed)?;
    let schema = batch.schema();
    let mut all = vec![Column {
        name: crate::metadb::ID.into(),
        kind: app::model::session::ColumnKind::Text,
    }];
    all.extend(columns(&schema));
    let reader = Rows::new(batch.columns());
    let rows = (0..batch.num_rows()).map(|r| reader.row(r)).collect();
    Ok(Json(MetadataPage {
        offset: page.offset,
        limit: page.limit,
        total,
        columns: all,
        rows,
    }))
}
