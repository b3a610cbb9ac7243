//! One database's option widgets, rendered from its provider's option schema: numeric input,
//! slider, select, multi-select, text, toggle. Hidden options are not shown (the instance fixes
//! them).

use std::collections::BTreeMap;

use leptos::prelude::*;

use crate::api::DatabaseInfo;
use crate::model::options::{OptionKind, OptionSpec, OptionValue, OptionValues};

#[component]
pub fn OptionsPanel(
    database: DatabaseInfo,
    values: RwSignal<BTreeMap<String, OptionValues>>,
) -> impl IntoView {
    let db = database.name.clone();
    view! {
        <fieldset class="options" data-database=db.clone()>
            <legend>{format!("{} options", database.name)}</legend>
            {database
                .options
                .into_iter()
                .filter(|spec| !spec.hidden)
                .map(|spec| view! { <Widget database=db.clone() spec=spec values=values /> })
                .collect_view()}
        </fieldset>
    }
}

/// One option's widget. Long by design: one arm per option kind, so that the widgets read like
/// the schema they render.
#[component]
fn Widget(
    database: String,
    spec: OptionSpec,
    values: RwSignal<BTreeMap<String, OptionValues>>,
) -> impl IntoView {
    let name = spec.name.clone();
    let current = {
        let (database, name, spec) = (database.clone(), name.clone(), spec.clone());
        move || {
            values
                .get()
                .get(&database)
                .and_then(|v| v.get(&name).cloned())
                .unwrap_or_else(|| spec.initial_value())
        }
    };
    let set = {
        let (database, name) = (database.clone(), name.clone());
        move |value: OptionValue| {
            values.update(|all| {
                all.entry(database.clone())
                    .or_default()
                    .insert(name.clone(), value);
            })
        }
    };
    let number = {
        let current = current.clone();
        move || match current() {
            OptionValue::Number(n) => n.to_string(),
            _ => String::new(),
        }
    };
    let input = match spec.kind.clone() {
        OptionKind::Numeric { min, max, step, .. } | OptionKind::Range { min, max, step, .. } => {
            let kind = if matches!(spec.kind, OptionKind::Range { .. }) {
                "range"
            } else {
                "number"
            };
            let set = set.clone();
            view! {
                <input type=kind name=name.clone() aria-label=name.clone() min=min max=max step=step
                    prop:value=number.clone()
                    on:input=move |ev| {
                        if let Ok(n) = event_target_value(&ev).parse() {
                            set(OptionValue::Number(n))
                        }
                    } />
                <output>{number}</output>
            }
            .into_any()
        }
        OptionKind::Choice { choices, .. } => {
            let set = set.clone();
            let current = current.clone();
            view! {
                <select name=name.clone() aria-label=name.clone() on:change=move |ev| set(OptionValue::Text(event_target_value(&ev)))>
                    {choices.into_iter().map(|c| {
                        let selected = { let (c, current) = (c.clone(), current.clone()); move || current() == OptionValue::Text(c.clone()) };
                        view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                    }).collect_view()}
                </select>
            }
            .into_any()
        }
        OptionKind::MultiChoice { choices, .. } => {
            checkboxes(choices, current.clone(), set.clone()).into_any()
        }
        OptionKind::Text { placeholder, .. } => {
            let (set, current) = (set.clone(), current.clone());
            view! {
                <input type="text" name=name.clone() aria-label=name.clone() placeholder=placeholder
                    prop:value=move || match current() { OptionValue::Text(t) => t, _ => String::new() }
                    on:input=move |ev| set(OptionValue::Text(event_target_value(&ev))) />
            }
            .into_any()
        }
        OptionKind::Toggle { .. } => {
            let (set, current) = (set.clone(), current.clone());
            view! {
                <input type="checkbox" name=name.clone() aria-label=name.clone()
                    prop:checked=move || current() == OptionValue::Bool(true)
                    on:change=move |ev| set(OptionValue::Bool(event_target_checked(&ev))) />
            }
            .into_any()
        }
    };
    view! {
        <div class="option" data-option=spec.name.clone() title=spec.help.clone()>
            <span class="name">{spec.name.clone()}</span>
            {input}
        </div>
    }
}

/// One checkbox per choice of a multi-choice option; `current` reads its value, `set` sets it.
fn checkboxes(
    choices: Vec<String>,
    current: impl Fn() -> OptionValue + Clone + Send + Sync + 'static,
    set: impl Fn(OptionValue) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    choices
        .into_iter()
        .map(|c| {
            let (set, current) = (set.clone(), current.clone());
            let checked = {
                let (c, current) = (c.clone(), current.clone());
                move || matches!(current(), OptionValue::List(l) if l.contains(&c))
            };
            let toggle = {
                let c = c.clone();
                move |_| {
                    let mut list = match current() {
                        OptionValue::List(l) => l,
                        _ => Vec::new(),
                    };
                    if let Some(i) = list.iter().position(|x| *x == c) {
                        list.remove(i);
                    } else {
                        list.push(c.clone());
                    }
                    set(OptionValue::List(list))
                }
            };
            view! { <label class="choice"><input type="checkbox" value=c.clone() prop:checked=checked on:change=toggle />{c.clone()}</label> }
        })
        .collect_view()
}
