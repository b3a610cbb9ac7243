//! `GET /api/databases/{db}/metadata?offset=&limit=`: a page of a database's metadata table.

use app::api::MetadataPage;
use app::model::session::Column;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use crate::metadb::{columns, value};

/// Most rows in one page.
pub const MAX_PAGE: usize = 10_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/databases/{db}/metadata", get(metadata))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Page {
    #[serde(default)]
    offset: usize,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

async fn metadata(
    State(state): State<AppState>,
    Path(db): Path<String>,
    page: Result<Query<Page>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<MetadataPage>, ApiError> {
    let Query(page) = page.map_err(|e| ApiError::bad_request(e.body_text()))?;
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
    let rows = (0..batch.num_rows())
        .map(|r| {
            batch
                .columns()
                .iter()
                .map(|c| value(c.as_ref(), r))
                .collect()
        })
        .collect();
    Ok(Json(MetadataPage {
        offset: page.offset,
        limit: page.limit,
        total,
        columns: all,
        rows,
    }))
}
