//! The app (Leptos): a sidebar to choose databases, give queries and set options, live
//! progress, and the results of the chosen (query, database) pair.
//!
//! The server renders the page ([`page`], with the `ssr` feature) from what it knows
//! ([`Initial`]: the instance, and on a session's link the session), and the browser app
//! (`hydrate`) takes that page over from the same data, which the page carries as JSON.
//!
//! The URL names the session (`/s/{id}`): reloading or sharing it shows the same results, and
//! Back and Forward go through the sessions shown.

mod api;
mod browser;
mod figures;
mod help;
mod index;
mod options;
mod results;
mod sequence;
mod sidebar;
mod table;

use std::sync::Arc;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::api::Info;
use crate::model::query::Query;
use crate::model::session::{Pair, Session};

/// What the page is rendered from, on the server and again in the browser: the instance, and
/// on a session's link the session (as much of it as the page first shows).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Initial {
    pub info: Info,
    pub session: Option<Session>,
}

impl Initial {
    pub fn new(info: Info, session: Option<&Session>) -> Initial {
        Initial {
            info,
            session: session.map(first_view),
        }
    }
}

/// What of `session` the page shows first: every pair's state and its first pair's results (the
/// app reads the rest once it runs), so that a link to a large batch stays a small page.
fn first_view(session: &Session) -> Session {
    let first = (session.queries.first(), session.databases.first());
    let is_first = |pair: &Pair| {
        first.0.is_some_and(|q| q.name == pair.query)
            && first.1.is_some_and(|d| d.name == pair.database)
    };
    Session {
        queries: (session.queries.iter().enumerate())
            .map(|(i, query)| Query {
                name: query.name.clone(),
                seq: if i == 0 {
                    query.seq.clone()
                } else {
                    String::new()
                },
            })
            .collect(),
        pairs: (session.pairs.iter())
            .map(|pair| Pair {
                query: pair.query.clone(),
                database: pair.database.clone(),
                state: pair.state,
                error: pair.error.clone(),
                result: pair.result.clone().filter(|_| is_first(pair)),
            })
            .collect(),
        id: session.id.clone(),
        created: session.created,
        status: session.status,
        owner: session.owner.clone(),
        databases: session.databases.clone(),
    }
}

/// What the home page says to a browser without JavaScript.
const NO_SCRIPT: &str = "<p>Searching needs JavaScript. A session's link (<code>/s/…</code>) \
     shows its results without it.</p>";

/// The `id` of the page's JSON copy of its [`Initial`].
const INITIAL: &str = "kmviz-initial";

/// The whole page, as the server sends it: the app rendered, and the data it was rendered
/// from for the browser app to take it over.
#[cfg(feature = "ssr")]
pub fn page(initial: Initial) -> impl IntoView {
    // In a <script> element nothing is unescaped: `<` must not end it.
    let data = serde_json::to_string(&initial)
        .unwrap_or_default()
        .replace('<', "\\u003c");
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <title>"kmviz"</title>
                <link rel="stylesheet" href="/kmviz.css" />
                // No icon of its own: the browser asks for none.
                <link rel="icon" href="data:," />
                <link rel="modulepreload" href="/pkg/app.js" />
                <script type="application/json" id=INITIAL inner_html=data></script>
                <script type="module" src="/start.js"></script>
            </head>
            <body>
                <App initial=initial />
            </body>
        </html>
    }
}

/// Takes over the server's page, from the data it was rendered from.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    let initial = document()
        .get_element_by_id(INITIAL)
        .and_then(|data| data.text_content())
        .and_then(|text| serde_json::from_str::<Initial>(&text).ok());
    match initial {
        Some(initial) => leptos::mount::hydrate_body(move || view! { <App initial=initial /> }),
        None => leptos::mount::mount_to_body(|| {
            view! { <p class="error" role="alert">"This page lacks its data: reload it."</p> }
        }),
    }
}

/// The session named by the URL, if any.
fn session_in_url() -> Option<String> {
    let path = window().location().pathname().ok()?;
    path.strip_prefix("/s/")
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

/// A new history entry for `path`, unless the address is already there (a session opened by
/// its URL, or reached by Back).
fn show_in_url(path: &str) {
    if window().location().pathname().ok().as_deref() == Some(path) {
        return;
    }
    if let Ok(history) = window().history() {
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(path));
    }
}

/// The session shown (its latest state): one from this server, or one opened from a
/// `session.json` file (`uploaded`). `showing` tells one showing from the next: the same
/// session followed again, or another file, is drawn anew; a followed job's progress is not.
#[derive(Clone)]
struct Shown {
    session: Arc<Session>,
    uploaded: bool,
    showing: u64,
}

#[component]
fn App(initial: Initial) -> impl IntoView {
    let Initial { info, session } = initial;
    provide_context(info.clone());
    // The server's session: the page shows it as rendered, then follows it (`showing` 0).
    let shown: RwSignal<Option<Shown>> = RwSignal::new(session.map(|session| Shown {
        session: Arc::new(session),
        uploaded: false,
        showing: 0,
    }));
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let drawer_open = RwSignal::new(false);
    let choice = results::Choice::new();
    // Changes with the session shown, not with its progress.
    let ran_with = Memo::new(move |_| {
        shown.with(|s| {
            s.as_ref()
                .map(|s| (s.session.id.clone(), s.session.databases.clone()))
        })
    });
    // Another showing draws the results anew; a followed job's progress only updates them
    // (`latest`).
    let showing = Memo::new(move |_| shown.with(|s| s.as_ref().map(|s| (s.showing, s.uploaded))));
    let latest = Memo::new_with_compare(
        move |last: Option<&Option<Arc<Session>>>| {
            shown.with(|s| match s {
                Some(s) => Some(Arc::clone(&s.session)),
                // The results are about to go: they keep what they show.
                None => last.cloned().flatten(),
            })
        },
        |last, now| !matches!((last, now), (Some(Some(a)), Some(Some(b))) if Arc::ptr_eq(a, b)),
    );
    let showings = StoredValue::new(0u64);
    let next_showing = move || {
        showings.update_value(|n| *n += 1);
        showings.get_value()
    };
    // The session followed, and its progress stream: another one shown stops it.
    let following: RwSignal<Option<String>> = RwSignal::new(None);
    let stream = StoredValue::new_local(None::<web_sys::EventSource>);
    let stop_following = move || {
        following.set(None);
        if let Some(events) = stream.get_value() {
            events.close();
        }
    };
    // Follows a session until its job ends, then keeps its results; `showing` tells whether
    // it is drawn anew.
    let follow_as = move |id: String, showing: u64| {
        stop_following();
        show_in_url(&format!("/s/{id}"));
        error.set(None);
        drawer_open.set(false);
        following.set(Some(id.clone()));
        let current = id.clone();
        let events = api::follow(id, move |update| {
            // A late answer for a session no longer shown.
            if following.get_untracked().as_deref() != Some(current.as_str()) {
                return;
            }
            match update {
                Ok(s) => shown.set(Some(Shown {
                    session: Arc::new(s),
                    uploaded: false,
                    showing,
                })),
                Err(e) => error.set(Some(e.to_string())),
            }
        });
        stream.set_value(events);
    };
    let follow = move |id: String| follow_as(id, next_showing());
    let open_file = move |session: Session| {
        stop_following();
        show_in_url("/");
        error.set(None);
        drawer_open.set(false);
        shown.set(Some(Shown {
            session: Arc::new(session),
            uploaded: true,
            showing: next_showing(),
        }));
    };
    // Once the page is the app's (in the browser only): Back and Forward show the session of
    // the address they reach, or the home page; the address's session is followed, in place
    // of the server's copy.
    Effect::new(move |_| {
        let on_history = Closure::<dyn FnMut()>::new(move || match session_in_url() {
            Some(id) => follow(id),
            None => {
                stop_following();
                error.set(None);
                shown.set(None);
            }
        });
        let _ = window()
            .add_event_listener_with_callback("popstate", on_history.as_ref().unchecked_ref());
        // Lives as long as the page.
        on_history.forget();
        // Said for those who wait for it (the browser tests).
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-app", "live");
        }
        if let Some(id) = session_in_url() {
            let rendered = shown.with_untracked(|s| s.as_ref().map(|s| s.session.id == id));
            match rendered {
                Some(true) => follow_as(id, 0),
                _ => follow(id),
            }
        }
    });
    // Escape closes the drawer, as a click outside it does.
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            drawer_open.set(false);
        }
    });
    on_cleanup(move || on_key.remove());
    let branding = info.branding.clone().unwrap_or_default();
    let styles = branding
        .styles
        .iter()
        .map(|href| view! { <link rel="stylesheet" href=href.clone() /> })
        .collect_view();
    let home = branding.home;
    let results_info = info.clone();
    view! {
        {styles}
        <div class="layout" data-drawer=move || drawer_open.get().to_string()>
            <button class="drawer-toggle" aria-label="Show or hide the query panel"
                on:click=move |_| drawer_open.update(|o| *o = !*o)>"☰ Query"</button>
            <div class="backdrop" on:click=move |_| drawer_open.set(false)></div>
            <sidebar::Sidebar info=info ran_with=ran_with on_session=follow on_file=open_file />
            <main class="results">
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                {move || match showing.get() {
                    None => view! {
                        // Sanitised by the server.
                        <div class="home" inner_html=home.clone()></div>
                        <p class="hint">"Choose databases, give queries, submit."</p>
                        <noscript inner_html=NO_SCRIPT></noscript>
                    }.into_any(),
                    Some((_, uploaded)) => {
                        let session = Signal::derive(move || latest.get().expect("a session is shown"));
                        view! { <results::Results session=session info=results_info.clone() uploaded=uploaded choice=choice /> }.into_any()
                    }
                }}
            </main>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_view_keeps_the_first_pairs_results_and_every_pairs_state() {
        let result = serde_json::json!({
            "query_length": 30, "indexes": [], "columns": [], "hits": [], "not_shown": 0
        });
        let pair = |query: &str, database: &str| {
            serde_json::json!({
                "query": query, "database": database, "state": "done", "result": result
            })
        };
        let session: Session = serde_json::from_value(serde_json::json!({
            "id": "s", "created": 0, "status": "done",
            "queries": [{"name": "q1", "seq": "ACGT"}, {"name": "q2", "seq": "TTTT"}],
            "databases": [{"name": "a", "options": {}}, {"name": "b", "options": {}}],
            "pairs": [pair("q1", "a"), pair("q1", "b"), pair("q2", "a"), pair("q2", "b")],
        }))
        .unwrap();
        let first = first_view(&session);
        let with_results: Vec<bool> = first.pairs.iter().map(|p| p.result.is_some()).collect();
        assert_eq!(with_results, [true, false, false, false]);
        assert!(
            first
                .pairs
                .iter()
                .zip(&session.pairs)
                .all(|(a, b)| a.state == b.state)
        );
        assert_eq!(
            (first.queries[0].seq.as_str(), first.queries[1].seq.as_str()),
            ("ACGT", "")
        );
        assert_eq!(
            (first.queries[1].name.as_str(), first.databases.len()),
            ("q2", 2)
        );
    }
}
