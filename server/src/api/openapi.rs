//! `GET /api/openapi.json`: the OpenAPI 3.1 description of kmviz's HTTP API, made from the
//! routes' own descriptions (`#[utoipa::path]` beside each handler) and the bodies' types
//! ([`app::api`], [`app::model`]): a route is served only where it is described.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// The document's tags: kmviz's JSON API, what operators probe, what plugins add, and
/// kmindex-server's API.
pub const KMVIZ: &str = "kmviz";
pub const OPERATIONS: &str = "operations";
pub const PLUGINS: &str = "plugins";
pub const KMINDEX: &str = "kmindex";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kmviz",
        description = "Query sequence indexes, join the samples found with their metadata, keep the results as sessions. Every error of the JSON API answers `{\"error\": message}`."
    ),
    tags(
        (name = KMVIZ, description = "kmviz's JSON API: the instance, queries, sessions"),
        (name = OPERATIONS, description = "For operators: health, readiness, metrics"),
        (name = PLUGINS, description = "What plugins add: analysis tabs and assets"),
        (name = KMINDEX, description = "kmindex-server's API over a local index, for kmindex clients: served by `kmviz index serve` and by `kmviz demo`"),
    ),
    // Sent inside event streams, which the routes cannot name as bodies.
    components(schemas(app::api::ProgressEvent, app::api::ErrorBody))
)]
struct Document;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document
#[utoipa::path(get, path = "/api/openapi.json", tag = KMVIZ, responses(
    (status = 200, description = "OpenAPI 3.1", body = serde_json::Value)
))]
async fn openapi_json() -> impl IntoResponse {
    static TEXT: LazyLock<String> =
        LazyLock::new(|| document().to_json().expect("a document is serialisable"));
    ([(header::CONTENT_TYPE, "application/json")], TEXT.as_str())
}

/// The document: every route kmviz serves, as described where it is routed.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut document = Document::openapi();
    document.merge(super::routes().into_openapi());
    document.merge(super::ops::routes(true).into_openapi());
    document.merge(super::ops::health_routes().into_openapi());
    document.merge(super::kmindex::openapi());
    // axum's catch-all segment `{*name}` is OpenAPI's `{name}`.
    let paths = std::mem::take(&mut document.paths.paths);
    document.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
    add_common_answers(&mut document);
    add_security(&mut document);
    document
}

/// How callers authenticate: `[auth]`'s users (basic) or an API token (bearer). Optional on
/// an instance without users (an empty requirement), where a token only says who calls.
fn add_security(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
    );
    let mut bearer = Http::new(HttpAuthScheme::Bearer);
    bearer.description = Some("an API token (`kmviz token create NAME`)".into());
    components.add_security_scheme("token", SecurityScheme::Http(bearer));
    document.security = Some(vec![
        SecurityRequirement::new("basic", Vec::<String>::new()),
        SecurityRequirement::new("token", Vec::<String>::new()),
        SecurityRequirement::default(),
    ]);
}

/// What the layers around the routes may answer ([`super::auth`],
/// [`super::edge`], [`super::error`], [`super::rate`]), added to the routes they guard.
fn add_common_answers(document: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        let body = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build();
        ResponseBuilder::new()
            .description(description)
            .content("application/json", body)
            .build()
            .into()
    };
    for (path, item) in &mut document.paths.paths {
        let operations = [
            (false, &mut item.get),
            (true, &mut item.post),
            (true, &mut item.delete),
        ];
        for (changes_state, operation) in operations {
            let Some(operation) = operation else {
                continue;
            };
            let answers = &mut operation.responses.responses;
            if path != "/healthz" {
                answers.entry("401".into()).or_insert_with(|| {
                    error(
                        "authentication required (the instance has users): no or wrong credentials, or a wrong or revoked token",
                    )
                });
            }
            if changes_state {
                answers
                    .entry("403".into())
                    .or_insert_with(|| error("a cross-site request from a browser, refused"));
            }
            if path.starts_with("/api/") {
                answers
                    .entry("500".into())
                    .or_insert_with(|| error("internal error (details are in the server's log)"));
                answers.entry("429".into()).or_insert_with(|| {
                    error("the client is over its quota per minute (`[rate_limits]`); `Retry-After` says when to try again")
                });
            }
        }
    }
}
