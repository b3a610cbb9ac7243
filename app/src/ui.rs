//! The browser app (Leptos, client-side rendered): a sidebar to choose databases, give queries
//! and set options, live progress, and the results of the chosen (query, database) pair.
//!
//! The URL names the session (`/s/{id}`): reloading or sharing it shows the same results.

mod api;
mod options;
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

/// Progress, the pair chooser and the table of the chosen pair.
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
        {move || match chosen() {
            None => view! { <p class="hint">"No such pair."</p> }.into_any(),
            Some(pair) => match (pair.state, pair.result) {
                (PairState::Done, Some(result)) => view! { <table::ResultTable result=result /> }.into_any(),
                (PairState::Failed, _) => view! { <p class="error" role="alert">{pair.error.unwrap_or_default()}</p> }.into_any(),
                (PairState::Cancelled, _) => view! { <p class="hint">"Cancelled."</p> }.into_any(),
                _ => view! { <p class="hint">"Running…"</p> }.into_any(),
            },
        }}
    }
}
