//! The sidebar: databases, queries (typed, pasted or uploaded), per-database options, submit;
//! or a session to open, by id or from a `session.json` file. Queries are checked here with the
//! server's own parser and limits before anything is sent. The last databases and options are
//! remembered in the browser.

use std::collections::BTreeMap;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use serde::{Deserialize, Serialize};

use super::api;
use super::browser;
use super::options::OptionsPanel;
use crate::api::{DatabaseInfo, Info};
use crate::model::options::OptionValues;
use crate::model::query::{parse_queries, warnings};
use crate::model::session::DatabaseRun;
use crate::model::session::Session;

const PREFERENCES: &str = "kmviz.preferences";
const EMAIL: &str = "kmviz.email";

/// What the browser remembers between visits.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Preferences {
    databases: Vec<String>,
    options: BTreeMap<String, OptionValues>,
}

impl Preferences {
    /// The remembered choices that still apply to this instance.
    fn recall(info: &Info) -> Preferences {
        let stored: Preferences = browser::recall(PREFERENCES)
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        stored.applying(info)
    }

    /// The choices a session ran with.
    fn ran(runs: &[DatabaseRun], info: &Info) -> Preferences {
        Preferences {
            databases: runs.iter().map(|r| r.name.clone()).collect(),
            options: runs
                .iter()
                .map(|r| (r.name.clone(), r.options.clone()))
                .collect(),
        }
        .applying(info)
    }

    /// These choices as far as they apply to this instance: its databases (else its default
    /// ones), and their options shown to users.
    fn applying(self, info: &Info) -> Preferences {
        let stored = self;
        let known = |name: &String| info.databases.iter().any(|d| d.name == *name);
        let options = stored
            .options
            .into_iter()
            .filter_map(|(db, mut values)| {
                let described = info.databases.iter().find(|d| d.name == db)?;
                values.retain(|name, _| {
                    described
                        .options
                        .iter()
                        .any(|o| o.name == *name && !o.hidden)
                });
                Some((db, values))
            })
            .collect();
        let databases: Vec<String> = stored.databases.into_iter().filter(known).collect();
        Preferences {
            databases: if databases.is_empty() {
                info.default.database.clone()
            } else {
                databases
            },
            options,
        }
    }
}

/// Reads the file an `<input type="file">` was given, as bytes: `(name, bytes)`.
async fn read_chosen_file(ev: leptos::ev::Event) -> Option<(String, Result<Vec<u8>, String>)> {
    let input = ev.target()?.dyn_into::<web_sys::HtmlInputElement>().ok()?;
    let file = input.files()?.get(0)?;
    let name = file.name();
    let bytes = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map(|buffer| js_sys::Uint8Array::new(&buffer).to_vec())
        .map_err(|_| format!("{name}: cannot be read"));
    Some((name, bytes))
}

/// The query form. Long because it owns the submission's state and checks; the database
/// picker, the options and opening a session are components of their own.
#[component]
pub fn Sidebar(
    info: Info,
    /// The session shown (its id) and what it ran with: the form takes its databases and
    /// options, to change and submit again.
    #[prop(into)]
    ran_with: Signal<Option<(String, Vec<DatabaseRun>)>>,
    on_session: impl Fn(String) + Clone + Send + Sync + 'static,
    on_file: impl Fn(Session) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    // The page is first drawn as the server drew it: with the session's choices, else the
    // instance's defaults; the browser's remembered ones apply once it is the app's.
    let first = match ran_with.get_untracked() {
        Some((_, runs)) => Preferences::ran(&runs, &info),
        None => Preferences::default().applying(&info),
    };
    let chosen: RwSignal<Vec<String>> = RwSignal::new(first.databases);
    let fastx = RwSignal::new(String::new());
    let values: RwSignal<BTreeMap<String, OptionValues>> = RwSignal::new(first.options);
    // Where to mail when the job ends (instances that mail): remembered in this browser.
    let email = RwSignal::new(String::new());
    let described = info.clone();
    // In the browser: at first the remembered choices (unless a session is shown), then those
    // of each session shown.
    Effect::new(move |earlier: Option<()>| {
        let first_run = earlier.is_none();
        if first_run {
            email.set(browser::recall(EMAIL).unwrap_or_default());
        }
        let choices = match ran_with.get() {
            Some((_, runs)) => Preferences::ran(&runs, &described),
            None if first_run => Preferences::recall(&described),
            None => return,
        };
        chosen.set(choices.databases);
        values.set(choices.options);
    });
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let notify = info.notify.clone();
    let limits = info.input;
    let databases = info.databases.clone();
    let example = info.example.clone();
    // The box read once per change, by the server's own parser: its error is said on Submit,
    // its warnings while typing (the server says the same in its answer).
    let parsed = Memo::new(move |_| {
        fastx.with(|text| parse_queries(text.as_bytes(), &limits).map_err(|e| e.to_string()))
    });
    let described = databases.clone();
    let said = Memo::new(move |_| {
        let kmer_sizes: Vec<(String, usize)> = chosen.with(|names| {
            values.with(|values| {
                let none = OptionValues::new();
                names
                    .iter()
                    .filter_map(|name| {
                        let database = described.iter().find(|d| &d.name == name)?;
                        let options = values.get(name).unwrap_or(&none);
                        Some((name.clone(), database.kmer_size(options)?))
                    })
                    .collect()
            })
        });
        parsed.with(|queries| match queries {
            Ok(queries) => warnings(queries, &limits, &kmer_sizes),
            Err(_) => Vec::new(),
        })
    });

    let open_by_id = on_session.clone();
    let submit = move |_| {
        error.set(None);
        if let Some(e) = parsed.with(|p| p.as_ref().err().cloned()) {
            error.set(Some(e));
            return;
        }
        let text = fastx.get();
        let names = chosen.get();
        if names.is_empty() {
            error.set(Some("choose at least one database".into()));
            return;
        }
        let all = values.get();
        let preferences = Preferences {
            databases: names.clone(),
            options: all.clone(),
        };
        if let Ok(text) = serde_json::to_string(&preferences) {
            browser::remember(PREFERENCES, &text);
        }
        let selection = names
            .into_iter()
            .map(|n| {
                let options = all.get(&n).cloned().unwrap_or_default();
                (n, options)
            })
            .collect();
        let address = Some(email.get().trim().to_owned()).filter(|a| !a.is_empty());
        browser::remember(EMAIL, address.as_deref().unwrap_or_default());
        let on_session = on_session.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::submit(text, selection, address).await {
                Ok(id) => on_session(id),
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };

    let upload = move |ev: leptos::ev::Event| {
        leptos::task::spawn_local(async move {
            let Some((name, bytes)) = read_chosen_file(ev).await else {
                return;
            };
            // Bytes, not text: gzip files are read by the shared parser.
            let queries = bytes.and_then(|bytes| {
                parse_queries(&bytes, &limits).map_err(|e| format!("{name}: {e}"))
            });
            match queries {
                Ok(queries) => {
                    error.set(None);
                    fastx.set(
                        queries
                            .iter()
                            .map(|q| format!(">{}\n{}\n", q.name, q.seq))
                            .collect(),
                    );
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };

    view! {
        <aside class="sidebar">
            <h1>"kmviz"</h1>
            <DatabasePicker databases=databases.clone() chosen=chosen />
            <label class="input">
                "Queries (FASTA, FASTQ or a sequence)"
                <textarea
                    rows="8"
                    prop:value=move || fastx.get()
                    on:input=move |ev| fastx.set(event_target_value(&ev))
                ></textarea>
            </label>
            <label class="upload">"or a file " <input type="file" on:change=upload /></label>
            {move || {
                let lines = said.get();
                (!lines.is_empty()).then(|| view! {
                    <ul class="warnings" role="status">
                        {lines.into_iter().map(|line| view! { <li>{line}</li> }).collect_view()}
                    </ul>
                })
            }}
            {example.map(|example| {
                let try_it = move |_| {
                    error.set(None);
                    fastx.set(example.clone());
                };
                view! { <button class="example" on:click=try_it>"Try the example"</button> }
            })}
            {move || {
                chosen
                    .get()
                    .into_iter()
                    .filter_map(|name| databases.iter().find(|d| d.name == name).cloned())
                    .map(|db| view! { <OptionsPanel database=db values=values /> })
                    .collect_view()
            }}
            {notify.map(|notify| view! {
                <label class="email">
                    "E-mail me when it ends (optional)"
                    <input
                        type="email"
                        autocomplete="email"
                        prop:value=move || email.get()
                        on:input=move |ev| email.set(event_target_value(&ev))
                    />
                    {notify.message.map(|m| view! { <small>{m}</small> })}
                </label>
            })}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button class="submit" on:click=submit disabled=move || busy.get()>"Submit"</button>
            <OpenSession on_session=open_by_id on_file=on_file error=error />
        </aside>
    }
}

/// The databases to query, as checkboxes.
#[component]
fn DatabasePicker(databases: Vec<DatabaseInfo>, chosen: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <fieldset class="databases">
            <legend>"Databases"</legend>
            {databases
                .iter()
                .map(|db| {
                    let name = db.name.clone();
                    let checked = {
                        let name = name.clone();
                        move || chosen.get().contains(&name)
                    };
                    let toggle = {
                        let name = name.clone();
                        move |_| {
                            chosen.update(|c| {
                                if let Some(i) = c.iter().position(|n| *n == name) {
                                    c.remove(i);
                                } else {
                                    c.push(name.clone());
                                }
                            })
                        }
                    };
                    view! {
                        <label class="database">
                            <input type="checkbox" value=name.clone() prop:checked=checked on:change=toggle />
                            {format!("{} ({})", db.name, db.provider)}
                            {db.error.clone().map(|e| view! { <span class="warning" title=e>" ⚠"</span> })}
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

/// Opening a stored session, by id or from a downloaded `session.json`; what goes wrong is set
/// in `error`.
#[component]
fn OpenSession(
    on_session: impl Fn(String) + Clone + Send + Sync + 'static,
    on_file: impl Fn(Session) + Clone + Send + Sync + 'static,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let session_id = RwSignal::new(String::new());
    let open_file = move |ev: leptos::ev::Event| {
        let on_file = on_file.clone();
        leptos::task::spawn_local(async move {
            let Some((name, bytes)) = read_chosen_file(ev).await else {
                return;
            };
            let session = bytes.and_then(|bytes| {
                serde_json::from_slice::<Session>(&bytes)
                    .map_err(|e| format!("{name}: not a kmviz session.json ({e})"))
            });
            match session {
                Ok(session) => {
                    error.set(None);
                    on_file(session);
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };

    let open_id = move |_| {
        let id = session_id.get().trim().to_owned();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            error.set(Some(format!("'{id}' is not a session id")));
        } else {
            error.set(None);
            on_session(id);
        }
    };

    view! {
        <fieldset class="open-session">
            <legend>"Or open a session"</legend>
            <label class="session-id">"by id "
                <input type="text" prop:value=move || session_id.get()
                    on:input=move |ev| session_id.set(event_target_value(&ev)) />
                <button class="open-id" on:click=open_id>"Open"</button>
            </label>
            <label class="session-file">"from a session.json " <input type="file" accept=".json,application/json" on:change=open_file /></label>
        </fieldset>
    }
}
