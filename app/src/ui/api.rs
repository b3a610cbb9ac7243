//! The one HTTP client of the app: kmviz's JSON API.

use gloo_net::http::Request;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::api::{Chosen, ErrorBody, Info, MetadataPage, QueryRequest, Submitted};
use crate::model::options::OptionValues;
use crate::model::plugins::TabContent;
use crate::model::session::{Hit, Session};

/// Why the API did not give what the app asked for (shown to the user as it reads).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiFailure {
    #[error("the server cannot be reached: {0}")]
    Unreachable(String),
    /// The API's error body: what is wrong with the request.
    #[error("{0}")]
    Refused(String),
    #[error("the server answered {0}")]
    Status(u16),
    #[error("{0}")]
    Unreadable(String),
}

async fn read<T: serde::de::DeserializeOwned>(
    response: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<T, ApiFailure> {
    let response = response.map_err(|e| ApiFailure::Unreachable(e.to_string()))?;
    if response.ok() {
        response
            .json()
            .await
            .map_err(|e| ApiFailure::Unreadable(e.to_string()))
    } else {
        match response.json::<ErrorBody>().await {
            Ok(body) => Err(ApiFailure::Refused(body.error)),
            Err(_) => Err(ApiFailure::Status(response.status())),
        }
    }
}

pub async fn info() -> Result<Info, ApiFailure> {
    read(Request::get("/api/info").send().await).await
}

/// Submits `fastx` to `databases` (name, options); returns the session id.
pub async fn submit(
    fastx: String,
    databases: Vec<(String, OptionValues)>,
) -> Result<String, ApiFailure> {
    let body = QueryRequest {
        fastx,
        databases: databases
            .into_iter()
            .map(|(name, options)| Chosen::WithOptions { name, options })
            .collect(),
    };
    let request = Request::post("/api/query")
        .json(&body)
        .map_err(|e| ApiFailure::Unreadable(e.to_string()))?;
    let submitted: Submitted = read(request.send().await).await?;
    Ok(submitted.session)
}

/// The whole metadata table of `database`, read page by page.
pub async fn metadata(database: &str) -> Result<MetadataPage, ApiFailure> {
    const PAGE: usize = 10_000;
    let mut all: Option<MetadataPage> = None;
    loop {
        let offset = all.as_ref().map_or(0, |a| a.rows.len());
        let url = format!("/api/databases/{database}/metadata?offset={offset}&limit={PAGE}");
        let page: MetadataPage = read(Request::get(&url).send().await).await?;
        let last = page.rows.len() < PAGE;
        match &mut all {
            Some(all) => all.rows.extend(page.rows),
            None => all = Some(page),
        }
        if last {
            break Ok(all.expect("one page read"));
        }
    }
}

pub async fn session(id: &str) -> Result<Session, ApiFailure> {
    read(Request::get(&format!("/api/sessions/{id}")).send().await).await
}

/// One hit of session `id` with its per-k-mer values.
pub async fn hit(
    id: &str,
    query: &str,
    database: &str,
    index: &str,
    sample: &str,
) -> Result<Hit, ApiFailure> {
    let request = Request::get(&format!("/api/sessions/{id}/hit")).query([
        ("query", query),
        ("database", database),
        ("index", index),
        ("id", sample),
    ]);
    read(request.send().await).await
}

/// Plugin tab `plugin`'s content for query `query` on database `database` of session `id`.
pub async fn tab(id: &str, plugin: &str, query: &str, database: &str) -> TabContent {
    let url = format!("/api/sessions/{id}/tabs/{plugin}");
    let request = Request::get(&url).query([("query", query), ("database", database)]);
    read(request.send().await)
        .await
        .unwrap_or_else(|e| TabContent::Error(e.to_string()))
}

pub fn cancel(id: String) {
    leptos::task::spawn_local(async move {
        let _ = Request::delete(&format!("/api/sessions/{id}")).send().await;
    });
}

/// Calls `update` with session `id` now, on every progress event while its job runs, and once
/// more when it ends. Closing the returned stream stops following.
pub fn follow(
    id: String,
    update: impl Fn(Result<Session, ApiFailure>) + Clone + 'static,
) -> Option<web_sys::EventSource> {
    let fetch = {
        let (id, update) = (id.clone(), update.clone());
        move || {
            let (id, update) = (id.clone(), update.clone());
            leptos::task::spawn_local(async move { update(session(&id).await) });
        }
    };
    fetch();
    let events = web_sys::EventSource::new(&format!("/api/sessions/{id}/events")).ok()?;
    let on_progress = {
        let fetch = fetch.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| fetch())
    };
    let on_end = {
        let events = events.clone();
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |_| {
            events.close();
            fetch();
        })
    };
    let _ =
        events.add_event_listener_with_callback("progress", on_progress.as_ref().unchecked_ref());
    let _ = events.add_event_listener_with_callback("end", on_end.as_ref().unchecked_ref());
    // The listeners live as long as the page.
    on_progress.forget();
    on_end.forget();
    Some(events)
}
