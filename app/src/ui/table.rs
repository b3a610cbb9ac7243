//! The table of one (query, database) pair: one row per sample found, sortable by any column,
//! filtered by a `WHERE`-style expression (evaluated here, see [`crate::model::filter`]) and by
//! hiding rows with missing values.

use std::cmp::Ordering;

use leptos::prelude::*;

use crate::model::filter::Filter;
use crate::model::session::{ColumnKind, Hit, PairResult, Value};

/// A cell, for display and for sorting.
fn cells(hit: &Hit) -> Vec<Value> {
    let c = &hit.coverage;
    let mut row = vec![
        Value::Text(hit.id.clone()),
        Value::Text(hit.index.clone()),
        Value::Float(c.cov_xk),
        Value::Float(c.cov_xb),
        c.cov_yk.map_or(Value::Null, Value::Float),
        c.cov_yb.map_or(Value::Null, Value::Float),
    ];
    row.extend(hit.metadata.iter().cloned());
    row
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => format!("{f:.3}"),
        Value::Text(t) => t.clone(),
    }
}

/// Nulls last; numbers by value; text by text.
fn compare(a: &Value, b: &Value) -> Ordering {
    let number = |v: &Value| match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Boolean(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            _ => show(a).cmp(&show(b)),
        },
    }
}

/// `on_open(sub-index, id)` is called when a row is clicked.
#[component]
pub fn ResultTable(
    result: PairResult,
    on_open: impl Fn(String, String) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let mut columns: Vec<(String, ColumnKind)> = [
        ("ID", ColumnKind::Text),
        ("index", ColumnKind::Text),
        ("CovXK", ColumnKind::Float),
        ("CovXB", ColumnKind::Float),
        ("CovYK", ColumnKind::Float),
        ("CovYB", ColumnKind::Float),
    ]
    .map(|(n, k)| (n.to_owned(), k))
    .to_vec();
    columns.extend(result.columns.iter().map(|c| (c.name.clone(), c.kind)));
    let headers: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
    let rows: Vec<Vec<Value>> = result.hits.iter().map(cells).collect();
    // (column, descending)
    let sort: RwSignal<Option<(usize, bool)>> = RwSignal::new(None);
    let filter_text = RwSignal::new(String::new());
    let complete_only = RwSignal::new(false);
    let filter = Memo::new(move |_| {
        let text = filter_text.get();
        if text.trim().is_empty() {
            Ok(None)
        } else {
            Filter::parse(&text, &columns)
                .map(Some)
                .map_err(|e| e.to_string())
        }
    });
    let sorted = move || {
        let mut rows = rows.clone();
        if let Ok(Some(filter)) = filter.get() {
            rows.retain(|r| filter.matches(r));
        }
        if complete_only.get() {
            // CovYK and CovYB are missing by nature for presence/absence indexes.
            rows.retain(|r| {
                r.iter()
                    .enumerate()
                    .all(|(i, v)| i == 4 || i == 5 || *v != Value::Null)
            });
        }
        if let Some((column, descending)) = sort.get() {
            rows.sort_by(|a, b| {
                let order = compare(&a[column], &b[column]);
                if descending { order.reverse() } else { order }
            });
        }
        rows
    };
    let not_shown = result.not_shown;
    let count = result.hits.len();
    let shown = Memo::new(move |_| sorted());
    view! {
        <div class="filters">
            <input
                class="where"
                type="text"
                placeholder="filter: Temp > 26 AND Biome = 'Trades'"
                on:change=move |ev| filter_text.set(event_target_value(&ev))
            />
            <label class="complete">
                <input type="checkbox" on:change=move |ev| complete_only.set(event_target_checked(&ev)) />
                " hide rows with missing values"
            </label>
            {move || filter.get().err().map(|e| view! { <p class="error filter-error" role="alert">{e}</p> })}
        </div>
        <p class="count">
            {move || format!("{} of {count} samples", shown.get().len())}
            {(not_shown > 0).then(|| format!(" ({not_shown} more not shown)"))}
        </p>
        <table class="hits">
            <thead>
                <tr>
                    {headers
                        .into_iter()
                        .enumerate()
                        .map(|(i, h)| {
                            let arrow = move || match sort.get() {
                                Some((c, false)) if c == i => " ▲",
                                Some((c, true)) if c == i => " ▼",
                                _ => "",
                            };
                            view! {
                                <th data-column=h.clone() on:click=move |_| sort.update(|s| {
                                    *s = match *s {
                                        Some((c, false)) if c == i => Some((i, true)),
                                        _ => Some((i, false)),
                                    }
                                })>{h.clone()}{arrow}</th>
                            }
                        })
                        .collect_view()}
                </tr>
            </thead>
            <tbody>
                {move || {
                    shown
                        .get()
                        .into_iter()
                        .map(|row| {
                            let (index, id) = (show(&row[1]), show(&row[0]));
                            let on_open = on_open.clone();
                            view! {
                                <tr on:click=move |_| on_open(index.clone(), id.clone())>
                                    {row.iter().map(|v| view! { <td>{show(v)}</td> }).collect_view()}
                                </tr>
                            }
                        })
                        .collect_view()
                }}
            </tbody>
        </table>
    }
}
