//! The browser app (Leptos, client-side rendered): a sidebar to choose databases, give queries
//! and set options, live progress, and the results of the chosen (query, database) pair.
//!
//! The URL names the session (`/s/{id}`): reloading or sharing it shows the same results.

mod api;
mod options;
mod sequence;
mod sidebar;
mod table;

use leptos::prelude::*;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::model::session::{PairState, Session, Status};

#[wasm_bindgen(start)]
pub fn start() {
    leptos::mount::mount_to_body(App);
}

/// The session named by the URL, if any.
fn session_in_url() -> Option<String> {
    let path = window().location().pathname().ok()?;
    path.strip_prefix("/s/")
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

fn show_session_in_url(id: &str) {
    if let Ok(history) = window().history() {
        let _ = history.push_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("/s/{id}")),
        );
    }
}

#[component]
fn App() -> impl IntoView {
    let info = LocalResource::new(api::info);
    let session: RwSignal<Option<Session>> = RwSignal::new(None);
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    // Follows a session until its job ends, then keeps its results.
    let follow = move |id: String| {
        show_session_in_url(&id);
        api::follow(id, move |update| match update {
            Ok(s) => session.set(Some(s)),
            Err(e) => error.set(Some(e)),
        });
    };
    if let Some(id) = session_in_url() {
        follow(id);
    }
    view! {
        <div class="layout">
            <Suspense fallback=|| view! { <aside class="sidebar">"Loading…"</aside> }>
                {move || {
                    info.get()
                        .map(|loaded| match loaded {
                            Ok(info) => {
                                view! { <sidebar::Sidebar info=info on_session=follow /> }.into_any()
                            }
                            Err(e) => view! { <aside class="sidebar error">{e}</aside> }.into_any(),
                        })
                }}
            </Suspense>
            <main class="results">
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                {move || match session.get() {
                    None => view! { <p class="hint">"Choose databases, give queries, submit."</p> }.into_any(),
                    Some(s) => view! { <Results session=s /> }.into_any(),
                }}
            </main>
        </div>
    }
}

/// Progress, the pair chooser, and the chosen pair's Table and Sequence tabs (clicking a row in
/// the table opens its sample in Sequence).
#[component]
fn Results(session: Session) -> impl IntoView {
    let progress = session.progress();
    let queries: Vec<String> = session.queries.iter().map(|q| q.name.clone()).collect();
    let databases: Vec<String> = session.databases.iter().map(|d| d.name.clone()).collect();
    let query = RwSignal::new(queries.first().cloned().unwrap_or_default());
    let database = RwSignal::new(databases.first().cloned().unwrap_or_default());
    let status = match session.status {
        Status::Running => "running",
        Status::Done => "done",
        Status::Cancelled => "cancelled",
        Status::Interrupted => "interrupted",
    };
    let id = session.id.clone();
    let running = session.status == Status::Running;
    let pairs = session.pairs.clone();
    let chosen = move || {
        pairs
            .iter()
            .find(|p| p.query == query.get() && p.database == database.get())
            .cloned()
    };
    let sequences: Vec<(String, String)> = session
        .queries
        .iter()
        .map(|q| (q.name.clone(), q.seq.clone()))
        .collect();
    // The sample shown in Sequence: (sub-index, id).
    let sample: RwSignal<Option<(String, String)>> = RwSignal::new(None);
    let tab = RwSignal::new("table");
    Effect::new(move |_| {
        // A new pair starts on its table.
        let _ = (query.get(), database.get());
        sample.set(None);
        tab.set("table");
    });
    let open = move |index: String, id: String| {
        sample.set(Some((index, id)));
        tab.set("sequence");
    };
    view! {
        <section class="progress" data-status=status>
            <span class="count">{format!("{}/{} done", progress.finished, progress.total)}</span>
            {(progress.failed > 0).then(|| view! { <span class="failed">{format!(", {} failed", progress.failed)}</span> })}
            <span class="status">{format!(" — {status}")}</span>
            {running.then(|| {
                let id = id.clone();
                view! { <button class="cancel" on:click=move |_| api::cancel(id.clone())>"Cancel"</button> }
            })}
            <a class="download" href=format!("/api/sessions/{}/download", session.id)>"Download ZIP"</a>
        </section>
        <nav class="chooser">
            <label>"Query "
                <select class="query" on:change=move |ev| query.set(event_target_value(&ev))>
                    {queries.into_iter().map(|q| view! { <option value=q.clone()>{q.clone()}</option> }).collect_view()}
                </select>
            </label>
            <label>" Database "
                <select class="database" on:change=move |ev| database.set(event_target_value(&ev))>
                    {databases.into_iter().map(|d| view! { <option value=d.clone()>{d.clone()}</option> }).collect_view()}
                </select>
            </label>
        </nav>
        <nav class="tabs">
            <button class="tab" data-tab="table" aria-pressed=move || (tab.get() == "table").to_string()
                on:click=move |_| tab.set("table")>"Table"</button>
            <button class="tab" data-tab="sequence" aria-pressed=move || (tab.get() == "sequence").to_string()
                on:click=move |_| tab.set("sequence")>"Sequence"</button>
        </nav>
        {move || match chosen() {
            None => view! { <p class="hint">"No such pair."</p> }.into_any(),
            Some(pair) => match (pair.state, pair.result) {
                (PairState::Done, Some(result)) if tab.get() == "sequence" => {
                    let seq = sequences
                        .iter()
                        .find(|(name, _)| *name == pair.query)
                        .map(|(_, s)| s.clone())
                        .unwrap_or_default();
                    let found = sample.get().and_then(|(index, id)| {
                        result.hits.iter().find(|h| h.index == index && h.id == id).cloned()
                    });
                    match found {
                        Some(hit) => {
                            let abundance = result
                                .indexes
                                .iter()
                                .any(|i| i.name == hit.index && i.abundance);
                            view! { <sequence::SequenceView hit=hit query=seq abundance=abundance /> }.into_any()
                        }
                        None => view! { <p class="hint">"Click a sample in the table to see it here."</p> }.into_any(),
                    }
                }
                (PairState::Done, Some(result)) => view! { <table::ResultTable result=result on_open=open /> }.into_any(),
                (PairState::Failed, _) => view! { <p class="error" role="alert">{pair.error.unwrap_or_default()}</p> }.into_any(),
                (PairState::Cancelled, _) => view! { <p class="hint">"Cancelled."</p> }.into_any(),
                _ => view! { <p class="hint">"Running…"</p> }.into_any(),
            },
        }}
    }
}
