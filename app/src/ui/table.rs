//! A table view: virtualised (only the rows in view are in the page), sortable by any column,
//! filtered per column by type, by a `WHERE`-style expression (evaluated here, see
//! [`crate::view::filter`]), by hiding rows with missing values, and by a selection made in a
//! figure; exported as TSV or CSV.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::browser;
use crate::model::session::{ColumnKind, Value};
use crate::view::filter::{Filter, FilterError};
use crate::view::table::{ColumnFilter, Table, show};

/// Pixels per row: rows have one fixed height so that the rows in view follow from the scroll.
const ROW_HEIGHT: f64 = 28.0;
/// Rows drawn above and below those in view.
const OVERSCAN: usize = 10;
/// A pause in typing a filter after which it applies.
const TYPING_PAUSE: Duration = Duration::from_millis(300);

/// What the user filtered, sorted and selected. Shared by the tabs that show a pair: the
/// table's filters drive the figures, a figure's selection narrows the table.
#[derive(Clone, Copy)]
pub struct TableState {
    pub filter_text: RwSignal<String>,
    pub complete_only: RwSignal<bool>,
    pub columns: RwSignal<Vec<ColumnFilter>>,
    /// (column, descending)
    pub sort: RwSignal<Option<(usize, bool)>>,
    /// Rows selected in a figure, if any.
    pub selection: RwSignal<Option<Arc<HashSet<usize>>>>,
}

impl TableState {
    pub fn new() -> TableState {
        TableState {
            filter_text: RwSignal::new(String::new()),
            complete_only: RwSignal::new(false),
            columns: RwSignal::new(Vec::new()),
            sort: RwSignal::new(None),
            selection: RwSignal::new(None),
        }
    }

    /// The rows that pass the filters (not the selection), in table order: a memo. A `WHERE`
    /// filter that cannot be read keeps the last one that could (and says why), so that a
    /// half-typed expression does not empty the table.
    pub fn kept(self, table: Arc<Table>) -> Memo<Filtered> {
        Memo::new(move |previous: Option<&Filtered>| {
            let text = self.filter_text.get();
            match self.passing(&table, &text) {
                Ok(rows) => Filtered {
                    rows,
                    applied: text,
                    error: None,
                },
                Err(error) => {
                    let applied = previous.map(|p| p.applied.clone()).unwrap_or_default();
                    let rows = self.passing(&table, &applied).unwrap_or_default();
                    Filtered {
                        rows,
                        applied,
                        error: Some(error),
                    }
                }
            }
        })
    }

    /// The rows that pass the `WHERE` filter `text` and the others.
    fn passing(&self, table: &Table, text: &str) -> Result<Vec<usize>, FilterError> {
        let filter = if text.trim().is_empty() {
            None
        } else {
            Some(Filter::parse(text, &table.columns)?)
        };
        let complete_only = self.complete_only.get();
        self.columns.with(|columns| {
            Ok((0..table.rows.len())
                .filter(|&r| {
                    let row = &table.rows[r];
                    filter.as_ref().is_none_or(|f| f.matches(row))
                        && (!complete_only || table.complete(r))
                        && columns.iter().zip(row).all(|(f, v)| f.matches(v))
                })
                .collect())
        })
    }

    /// Whether any filter is set.
    fn any(&self) -> bool {
        !self.filter_text.with(|t| t.trim().is_empty())
            || self.complete_only.get()
            || self.columns.with(|c| c.iter().any(ColumnFilter::is_set))
    }

    fn clear(&self) {
        self.filter_text.set(String::new());
        self.complete_only.set(false);
        self.columns.set(Vec::new());
    }
}

/// The rows a table's filters keep.
#[derive(Debug, Clone, PartialEq)]
pub struct Filtered {
    pub rows: Vec<usize>,
    /// The `WHERE` text that applies: the last that could be read.
    applied: String,
    /// Why the `WHERE` text typed last could not be read.
    pub error: Option<FilterError>,
}

/// `on_open(row)` is called when a row is clicked; `name` names exported files; `links` maps
/// column names to link templates for their cells. Long because it owns the shown rows and the
/// scrolled window of them (the head, the filter bar and each row are apart).
#[component]
pub fn TableView(
    table: Arc<Table>,
    state: TableState,
    #[prop(into)] filtered: Signal<Filtered>,
    name: String,
    #[prop(optional)] links: BTreeMap<String, String>,
    #[prop(optional)] on_open: Option<Callback<usize>>,
    #[prop(optional)] note: Option<String>,
) -> impl IntoView {
    let total = table.rows.len();
    let shown = Memo::new({
        let table = table.clone();
        move |_| {
            let mut rows = filtered.with(|f| f.rows.clone());
            if let Some(selected) = state.selection.get() {
                rows.retain(|r| selected.contains(r));
            }
            if let Some((column, descending)) = state.sort.get() {
                table.sort(&mut rows, column, descending);
            }
            rows
        }
    });
    let scroll_top = RwSignal::new(0.0);
    let viewport = RwSignal::new(600.0);
    let window = Memo::new(move |_| {
        let first = (scroll_top.get() / ROW_HEIGHT) as usize;
        let start = first.saturating_sub(OVERSCAN);
        let count = (viewport.get() / ROW_HEIGHT) as usize + 2 * OVERSCAN;
        let len = shown.with(Vec::len);
        (start.min(len), (start + count).min(len))
    });
    let export = Callback::new({
        let table = table.clone();
        move |separator: char| {
            let (extension, mime) = match separator {
                ',' => ("csv", "text/csv"),
                _ => ("tsv", "text/tab-separated-values"),
            };
            let text = table.delimited(&shown.get_untracked(), separator);
            browser::save(&format!("{name}.{extension}"), &text, mime);
        }
    });
    let headers = table.columns.clone();
    let links: Arc<Vec<Option<String>>> = Arc::new(
        headers
            .iter()
            .map(|(column, _)| links.get(column).cloned())
            .collect(),
    );
    let body_table = table.clone();
    view! {
        <FilterBar state=state filtered=filtered export=export />
        <p class="count" aria-live="polite">
            {move || format!("{} of {total} samples", shown.with(Vec::len))}
            {note}
            {move || state.selection.get().map(|s| view! {
                <span class="selection">
                    {format!(" — {} selected in a figure ", s.len())}
                    <button class="clear-selection" on:click=move |_| state.selection.set(None)>"clear"</button>
                </span>
            })}
        </p>
        <div
            class="table-scroll"
            on:scroll=move |ev| {
                let element = event_target::<web_sys::Element>(&ev);
                scroll_top.set(f64::from(element.scroll_top()));
                viewport.set(f64::from(element.client_height()));
            }
        >
            <table class="hits">
                <TableHead headers=headers state=state />
                <tbody>
                    {move || {
                        let (start, end) = window.get();
                        let len = shown.with(Vec::len);
                        let rows = shown.with(|rows| rows[start..end].to_vec());
                        let table = body_table.clone();
                        let links = links.clone();
                        view! {
                            <tr class="spacer" style=format!("height:{}px", start as f64 * ROW_HEIGHT)></tr>
                            {rows.into_iter().map(|r| row(&table, r, &links, on_open)).collect_view()}
                            <tr class="spacer" style=format!("height:{}px", (len - end) as f64 * ROW_HEIGHT)></tr>
                        }
                    }}
                </tbody>
            </table>
        </div>
    }
}

/// The table's WHERE filter (and its error), the missing-values switch, and the exports of the
/// rows shown (`export` gets the separator).
#[component]
fn FilterBar(
    state: TableState,
    filtered: Signal<Filtered>,
    export: Callback<char>,
) -> impl IntoView {
    let set_text = move |text: String| {
        if state.filter_text.with_untracked(|t| *t != text) {
            state.filter_text.set(text);
        }
    };

    view! {
        <div class="filters">
            <input
                class="where"
                type="text"
                aria-label="Filter rows"
                placeholder="filter: Temp > 26 AND Biome = 'Trades'"
                prop:value=move || state.filter_text.get()
                on:input=while_typing(set_text)
                on:change=move |ev| set_text(event_target_value(&ev))
            />
            <label class="complete">
                <input type="checkbox" prop:checked=move || state.complete_only.get()
                    on:change=move |ev| state.complete_only.set(event_target_checked(&ev)) />
                " hide rows with missing values"
            </label>
            <button class="export" data-format="tsv" on:click=move |_| export.run('\t')>"TSV"</button>
            <button class="export" data-format="csv" on:click=move |_| export.run(',')>"CSV"</button>
            {move || state.any().then(|| view! {
                <button class="clear-filters" on:click=move |_| state.clear()>"Clear all filters"</button>
            })}
            {move || filtered.with(|f| f.error.clone()).map(|e| view! {
                <p class="error filter-error" role="alert">{format!("{e} (the rows of the last filter that could be read are shown)")}</p>
            })}
        </div>
    }
}

/// The column names (a click sorts by the column, again reverses) and the per-column filters.
#[component]
fn TableHead(headers: Vec<(String, ColumnKind)>, state: TableState) -> impl IntoView {
    view! {
        <thead>
            <tr>
                {headers.iter().enumerate().map(|(i, (h, _))| {
                    let arrow = move || match state.sort.get() {
                        Some((c, false)) if c == i => " ▲",
                        Some((c, true)) if c == i => " ▼",
                        _ => "",
                    };
                    let sort = move || state.sort.update(|s| {
                        *s = match *s {
                            Some((c, false)) if c == i => Some((i, true)),
                            _ => Some((i, false)),
                        }
                    });
                    let order = move || match state.sort.get() {
                        Some((c, false)) if c == i => "ascending",
                        Some((c, true)) if c == i => "descending",
                        _ => "none",
                    };
                    view! {
                        <th data-column=h.clone() tabindex="0" aria-sort=order
                            on:click=move |_| sort()
                            on:keydown=move |ev| if pressed(&ev) { ev.prevent_default(); sort() }
                        >{h.clone()}{arrow}</th>
                    }
                }).collect_view()}
            </tr>
            <tr class="column-filters">
                {headers.iter().enumerate().map(|(i, (h, kind))| {
                    view! { <th><ColumnFilterInput column=i name=h.clone() kind=*kind state=state /></th> }
                }).collect_view()}
            </tr>
        </thead>
    }
}

/// Row `r` of `table`, its cells linked where the column has a link template; a click opens it.
fn row(
    table: &Table,
    r: usize,
    links: &[Option<String>],
    on_open: Option<Callback<usize>>,
) -> impl IntoView + use<> {
    let cells = table.rows[r]
        .iter()
        .zip(links)
        .map(|(v, link)| {
            let text = show(v);
            match link {
                Some(template) if *v != Value::Null => {
                    let href = template.replace("{}", &encode_uri_component(&text));
                    view! { <td><a href=href target="_blank" rel="noopener noreferrer"
                    on:click=|ev| ev.stop_propagation()>{text}</a></td> }
                    .into_any()
                }
                _ => view! { <td>{text}</td> }.into_any(),
            }
        })
        .collect_view();
    let open = move || {
        if let Some(open) = on_open {
            open.run(r)
        }
    };
    view! {
        <tr data-row=r tabindex="0" on:click=move |_| open()
            on:keydown=move |ev| if pressed(&ev) { ev.prevent_default(); open() }>{cells}</tr>
    }
}

/// Enter or Space: a focused header or row acts as clicked.
fn pressed(ev: &leptos::ev::KeyboardEvent) -> bool {
    matches!(ev.key().as_str(), "Enter" | " ")
}

/// One column's filter: a range for numbers, a substring for text, a value for booleans.
#[component]
fn ColumnFilterInput(
    column: usize,
    name: String,
    kind: ColumnKind,
    state: TableState,
) -> impl IntoView {
    let update = move |change: &dyn Fn(&mut ColumnFilter)| {
        let current = state
            .columns
            .with_untracked(|all| all.get(column).cloned().unwrap_or_default());
        let mut changed = current.clone();
        change(&mut changed);
        if changed != current {
            state.columns.update(|all| {
                if all.len() <= column {
                    all.resize(column + 1, ColumnFilter::default());
                }
                all[column] = changed;
            })
        }
    };
    let bound = |text: String| text.trim().parse::<f64>().ok();
    let min = move |text: String| update(&|f| f.min = bound(text.clone()));
    let max = move |text: String| update(&|f| f.max = bound(text.clone()));
    let contains = move |text: String| update(&|f| f.contains = text.clone());
    // Applied after a pause in typing (`while_typing`), and at once on Enter or leaving a box.
    // The boxes show the filter that applies (it outlives a switch of query).
    let shown = move |read: fn(&ColumnFilter) -> String| {
        move || {
            state
                .columns
                .with(|all| all.get(column).map(read).unwrap_or_default())
        }
    };
    fn number(v: Option<f64>) -> String {
        v.map(|v| v.to_string()).unwrap_or_default()
    }
    match kind {
        ColumnKind::Integer | ColumnKind::Float => view! {
            <span class="range">
                <input type="number" step="any" placeholder="min" aria-label=format!("{name} at least")
                    prop:value=shown(|f| number(f.min))
                    on:input=while_typing(min)
                    on:change=move |ev| min(event_target_value(&ev)) />
                <input type="number" step="any" placeholder="max" aria-label=format!("{name} at most")
                    prop:value=shown(|f| number(f.max))
                    on:input=while_typing(max)
                    on:change=move |ev| max(event_target_value(&ev)) />
            </span>
        }
        .into_any(),
        ColumnKind::Boolean => view! {
            <select aria-label=format!("{name} is")
                prop:value=shown(|f| f.boolean.map(|b| b.to_string()).unwrap_or_default())
                on:change=move |ev| {
                let v = match event_target_value(&ev).as_str() { "true" => Some(true), "false" => Some(false), _ => None };
                update(&|f| f.boolean = v)
            }>
                <option value="">"any"</option>
                <option value="true">"true"</option>
                <option value="false">"false"</option>
            </select>
        }
        .into_any(),
        ColumnKind::Text => view! {
            <input type="search" placeholder="contains" aria-label=format!("{name} contains")
                prop:value=shown(|f| f.contains.clone())
                on:input=while_typing(contains)
                on:change=move |ev| contains(event_target_value(&ev)) />
        }
        .into_any(),
    }
}

/// An `input` handler that calls `set` with the box's text once typing pauses.
fn while_typing(set: impl Fn(String) + 'static) -> impl FnMut(leptos::ev::Event) + 'static {
    let mut typed = debounce(TYPING_PAUSE, set);
    move |ev| typed(event_target_value(&ev))
}

/// What JavaScript's `encodeURIComponent` leaves as it is: letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `text` made safe inside a URL, as `encodeURIComponent` does (the server renders links too).
fn encode_uri_component(text: &str) -> String {
    utf8_percent_encode(text, URI_COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cells_are_linked_as_encode_uri_component_would() {
        assert_eq!(
            super::encode_uri_component("TARA_018 a/b?c=é (x)!"),
            "TARA_018%20a%2Fb%3Fc%3D%C3%A9%20(x)!"
        );
    }
}
