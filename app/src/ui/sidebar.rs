//! The sidebar: databases, queries (typed, pasted or uploaded), per-database options, submit.
//! Queries are checked here with the server's own parser and limits before anything is sent.

use std::collections::BTreeMap;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::api::{self, Info};
use super::options::OptionsPanel;
use crate::model::options::OptionValues;
use crate::model::query::parse_queries;

#[component]
pub fn Sidebar(
    info: Info,
    on_session: impl Fn(String) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let chosen: RwSignal<Vec<String>> = RwSignal::new(info.default.database.clone());
    let fastx = RwSignal::new(String::new());
    let values: RwSignal<BTreeMap<String, OptionValues>> = RwSignal::new(BTreeMap::new());
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let busy = RwSignal::new(false);
    let limits = info.input;
    let databases = info.databases.clone();

    let submit = move |_| {
        error.set(None);
        let text = fastx.get();
        if let Err(e) = parse_queries(text.as_bytes(), &limits) {
            error.set(Some(e.to_string()));
            return;
        }
        let names = chosen.get();
        if names.is_empty() {
            error.set(Some("choose at least one database".into()));
            return;
        }
        let all = values.get();
        let selection = names
            .into_iter()
            .map(|n| {
                let options = all.get(&n).cloned().unwrap_or_default();
                (n, options)
            })
            .collect();
        let on_session = on_session.clone();
        busy.set(true);
        leptos::task::spawn_local(async move {
            match api::submit(text, selection).await {
                Ok(id) => on_session(id),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };

    let upload = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        leptos::task::spawn_local(async move {
            // Bytes, not text: gzip files are read by the shared parser.
            let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
            match buffer {
                Ok(buffer) => {
                    let bytes = js_sys_bytes(&buffer);
                    match parse_queries(&bytes, &limits) {
                        Ok(queries) => {
                            error.set(None);
                            fastx.set(
                                queries
                                    .iter()
                                    .map(|q| format!(">{}\n{}\n", q.name, q.seq))
                                    .collect(),
                            );
                        }
                        Err(e) => error.set(Some(format!("{}: {e}", file.name()))),
                    }
                }
                Err(_) => error.set(Some(format!("{}: cannot be read", file.name()))),
            }
        });
    };

    view! {
        <aside class="sidebar">
            <h1>"kmviz"</h1>
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
                chosen
                    .get()
                    .into_iter()
                    .filter_map(|name| databases.iter().find(|d| d.name == name).cloned())
                    .map(|db| view! { <OptionsPanel database=db values=values /> })
                    .collect_view()
            }}
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button class="submit" on:click=submit disabled=move || busy.get()>"Submit"</button>
        </aside>
    }
}

/// The bytes of an `ArrayBuffer`.
fn js_sys_bytes(buffer: &wasm_bindgen::JsValue) -> Vec<u8> {
    js_sys::Uint8Array::new(buffer).to_vec()
}
