//! The browser app (Leptos, client-side rendered): a sidebar to choose databases, give queries
//! and set options, live progress, and the results of the chosen (query, database) pair.
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
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::{Closure, wasm_bindgen};

use crate::model::session::Session;

#[wasm_bindgen(start)]
pub fn start() {
    // The server's summary of a shared session, shown until now: the app takes over.
    let summary = document().get_element_by_id("first-paint");
    if let Some(summary) = summary {
        summary.remove();
    }
    leptos::mount::mount_to_body(App);
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
fn App() -> impl IntoView {
    let info = LocalResource::new(api::info);
    provide_context(info);
    let shown: RwSignal<Option<Shown>> = RwSignal::new(None);
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
    // Follows a session until its job ends, then keeps its results.
    let follow = move |id: String| {
        stop_following();
        show_in_url(&format!("/s/{id}"));
        error.set(None);
        drawer_open.set(false);
        following.set(Some(id.clone()));
        let current = id.clone();
        let showing = next_showing();
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
    // Back and Forward show the session of the address they reach, or the home page.
    let on_history = Closure::<dyn FnMut()>::new(move || match session_in_url() {
        Some(id) => follow(id),
        None => {
            stop_following();
            error.set(None);
            shown.set(None);
        }
    });
    let _ =
        window().add_event_listener_with_callback("popstate", on_history.as_ref().unchecked_ref());
    // Lives as long as the page.
    on_history.forget();
    if let Some(id) = session_in_url() {
        follow(id);
    }
    // Escape closes the drawer, as a click outside it does.
    let on_key = window_event_listener(leptos::ev::keydown, move |ev| {
        if ev.key() == "Escape" {
            drawer_open.set(false);
        }
    });
    on_cleanup(move || on_key.remove());
    view! {
        <Suspense fallback=|| view! { <p class="hint">"Loading…"</p> }>
            {move || {
                info.get().map(|loaded| match loaded {
                    Ok(info) => {
                        let results_info = info.clone();
                        let branding = info.branding.clone().unwrap_or_default();
                        let styles = branding.styles.iter().map(|href| {
                            view! { <link rel="stylesheet" href=href.clone() /> }
                        }).collect_view();
                        let home = branding.home;
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
                                        }.into_any(),
                                        Some((_, uploaded)) => {
                                            let session = Signal::derive(move || latest.get().expect("a session is shown"));
                                            view! { <results::Results session=session info=results_info.clone() uploaded=uploaded choice=choice /> }.into_any()
                                        }
                                    }}
                                </main>
                            </div>
                        }
                        .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                })
            }}
        </Suspense>
    }
}
