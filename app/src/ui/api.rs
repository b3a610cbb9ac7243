//! The one HTTP client of the app: kmviz's JSON API.

use std::collections::BTreeMap;

use gloo_net::http::Request;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::model::figure::Presets;
use crate::model::options::{OptionSpec, OptionValues};
use crate::model::plugins::{Branding, PluginTab, TabContent};
use crate::model::query::InputLimits;
use crate::model::session::{Column, Geodata, Hit, Session, Value};

/// What the app reads of `GET /api/info`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Info {
    pub databases: Vec<DatabaseInfo>,
    pub default: Preselection,
    pub input: InputLimits,
    #[serde(default)]
    pub ui: Tabs,
    /// Plugins' analysis tabs.
    #[serde(default)]
    pub tabs: Vec<PluginTab>,
    /// Instance plugins' home page, help and styles.
    #[serde(default)]
    pub branding: Option<Branding>,
}

/// Which tabs the instance shows (kmviz 0.8's `ui.with_*_tab`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Tabs {
    pub with_index_tab: bool,
    pub with_plot_tab: bool,
    pub with_map_tab: bool,
    pub with_sequence_tab: bool,
    pub with_help_tab: bool,
}

impl Default for Tabs {
    fn default() -> Tabs {
        Tabs {
            with_index_tab: true,
            with_plot_tab: true,
            with_map_tab: true,
            with_sequence_tab: true,
            with_help_tab: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DatabaseInfo {
    pub name: String,
    pub provider: String,
    #[serde(default)]
    pub error: Option<String>,
    pub options: Vec<OptionSpec>,
    #[serde(default)]
    pub indexes: Vec<IndexInfo>,
    pub metadata: MetadataInfo,
    #[serde(default)]
    pub presets: Option<Presets>,
}

/// One sub-index, as the server describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct IndexInfo {
    pub name: String,
    pub smer_size: usize,
    pub abundance: bool,
    pub samples: usize,
    #[serde(default)]
    pub minimizer_size: Option<usize>,
    #[serde(default)]
    pub partitions: Option<usize>,
    #[serde(default)]
    pub bloom_size: Option<u64>,
    #[serde(default)]
    pub bits_per_cell: Option<usize>,
    #[serde(default)]
    pub occupancy: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MetadataInfo {
    pub rows: Option<usize>,
    pub columns: Vec<Column>,
    pub geodata: Option<Geodata>,
    /// Column → link template (`{}` stands for the value).
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    #[serde(default)]
    pub error: Option<String>,
}

/// A page of a database's metadata table.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MetadataPage {
    pub total: usize,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Preselection {
    #[serde(default)]
    pub database: Vec<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

#[derive(Deserialize)]
struct Submitted {
    session: String,
}

async fn read<T: serde::de::DeserializeOwned>(
    response: Result<gloo_net::http::Response, gloo_net::Error>,
) -> Result<T, String> {
    let response = response.map_err(|e| format!("the server cannot be reached: {e}"))?;
    if response.ok() {
        response.json().await.map_err(|e| e.to_string())
    } else {
        match response.json::<ErrorBody>().await {
            Ok(body) => Err(body.error),
            Err(_) => Err(format!("the server answered {}", response.status())),
        }
    }
}

pub async fn info() -> Result<Info, String> {
    read(Request::get("/api/info").send().await).await
}

/// Submits `fastx` to `databases` (name, options); returns the session id.
pub async fn submit(
    fastx: String,
    databases: Vec<(String, OptionValues)>,
) -> Result<String, String> {
    let body = serde_json::json!({
        "fastx": fastx,
        "databases": databases
            .into_iter()
            .map(|(name, options)| serde_json::json!({"name": name, "options": options}))
            .collect::<Vec<_>>(),
    });
    let request = Request::post("/api/query")
        .json(&body)
        .map_err(|e| e.to_string())?;
    let submitted: Submitted = read(request.send().await).await?;
    Ok(submitted.session)
}

/// The whole metadata table of `database`, read page by page.
pub async fn metadata(database: &str) -> Result<MetadataPage, String> {
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

pub async fn session(id: &str) -> Result<Session, String> {
    read(Request::get(&format!("/api/sessions/{id}")).send().await).await
}

/// One hit of session `id` with its per-k-mer values.
pub async fn hit(
    id: &str,
    query: &str,
    database: &str,
    index: &str,
    sample: &str,
) -> Result<Hit, String> {
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
        .unwrap_or_else(TabContent::Error)
}

pub fn cancel(id: String) {
    leptos::task::spawn_local(async move {
        let _ = Request::delete(&format!("/api/sessions/{id}")).send().await;
    });
}

/// Calls `update` with session `id` now, on every progress event while its job runs, and once
/// more when it ends.
pub fn follow(id: String, update: impl Fn(Result<Session, String>) + Clone + 'static) {
    let fetch = {
        let (id, update) = (id.clone(), update.clone());
        move || {
            let (id, update) = (id.clone(), update.clone());
            leptos::task::spawn_local(async move { update(session(&id).await) });
        }
    };
    fetch();
    let Ok(events) = web_sys::EventSource::new(&format!("/api/sessions/{id}/events")) else {
        return;
    };
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
}
