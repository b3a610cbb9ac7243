//! A session's results: progress, the options it ran with, the (query, database) chooser, the
//! Overview of every pair, and the chosen pair's tabs — Index, Table, Plot, Map, Sequence, the
//! plugins' tabs, Help. The pair's table filters drive its figures, a figure's selection narrows
//! its table, and clicking a sample opens it in Sequence.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use leptos::prelude::*;

use super::api;
use super::figures::{MapTab, PlotTab};
use super::help::HelpTab;
use super::index::IndexTab;
use super::sequence::SequenceTab;
use super::table::{TableState, TableView};
use crate::api::{DatabaseInfo, Info};
use crate::model::options::{OptionValue, summary};
use crate::model::plugins::{PluginTab, TabContent};
use crate::model::session::{Pair, PairState, Session, Status};
use crate::view::table::Table;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Every (query, database) pair of the session at once.
    Overview,
    Index,
    Table,
    Plot,
    Map,
    Sequence,
    /// A plugin's tab: its place in `Info::tabs`.
    Plugin(usize),
    Help,
}

impl Tab {
    fn name(self, info: &Info) -> String {
        match self {
            Tab::Overview => "Overview".into(),
            Tab::Index => "Index".into(),
            Tab::Table => "Table".into(),
            Tab::Plot => "Plot".into(),
            Tab::Map => "Map".into(),
            Tab::Sequence => "Sequence".into(),
            Tab::Plugin(i) => info.tabs[i].name.clone(),
            Tab::Help => "Help".into(),
        }
    }

    /// Its `data-tab` (and `data-page`) name.
    fn key(self, info: &Info) -> String {
        match self {
            Tab::Plugin(i) => format!("plugin-{}", info.tabs[i].plugin),
            _ => self.name(info).to_lowercase(),
        }
    }

    /// The tabs the instance shows: the built-in ones, the plugins' (in their order), Help.
    fn shown(info: &Info) -> Vec<Tab> {
        let ui = &info.ui;
        let built_in = [
            (Tab::Overview, true),
            (Tab::Index, ui.with_index_tab),
            (Tab::Table, true),
            (Tab::Plot, ui.with_plot_tab),
            (Tab::Map, ui.with_map_tab),
            (Tab::Sequence, ui.with_sequence_tab),
        ];
        let plugins = (0..info.tabs.len()).map(|i| (Tab::Plugin(i), true));
        built_in
            .into_iter()
            .chain(plugins)
            .chain([(Tab::Help, ui.with_help_tab)])
            .filter_map(|(tab, shown)| shown.then_some(tab))
            .collect()
    }
}

/// What the user is looking at: it outlives the redraws of a session while its job runs.
#[derive(Clone, Copy)]
pub struct Choice {
    pub query: RwSignal<String>,
    pub database: RwSignal<String>,
    pub tab: RwSignal<Tab>,
    tables: StoredValue<Tables>,
}

/// The session's table states (filters and sort) per database: a database's tables have the
/// same columns, so its filters outlive a switch of query, and the redraws of a running job.
struct Tables {
    session: String,
    /// Owns the states' signals, which a redraw of the results would otherwise dispose of.
    owner: Owner,
    states: HashMap<String, TableState>,
}

impl Choice {
    pub fn new() -> Choice {
        Choice {
            query: RwSignal::new(String::new()),
            database: RwSignal::new(String::new()),
            tab: RwSignal::new(Tab::Table),
            tables: StoredValue::new(Tables {
                session: String::new(),
                owner: Owner::new(),
                states: HashMap::new(),
            }),
        }
    }

    /// The table state of `database` in `session`; another session starts with fresh ones.
    fn table(&self, session: &str, database: &str) -> TableState {
        self.tables
            .try_update_value(|tables| {
                if tables.session != session {
                    tables.owner.cleanup();
                    tables.states.clear();
                    tables.session = session.to_owned();
                }
                let owner = &tables.owner;
                *tables
                    .states
                    .entry(database.to_owned())
                    .or_insert_with(|| owner.with(TableState::new))
            })
            .unwrap_or_else(TableState::new)
    }
}

/// `uploaded`: the session comes from a `session.json` file, not from this server. `session`
/// is its latest state: a running job's progress updates the page in place (the chosen pair's
/// tabs are drawn again only when that pair changes). Long because it holds the page's state
/// across pairs (the query and database picked, the tab shown).
#[component]
pub fn Results(
    session: Signal<Arc<Session>>,
    info: Info,
    uploaded: bool,
    choice: Choice,
) -> impl IntoView {
    // What a job does not change: its id, queries, databases and their options.
    let first = session.get_untracked();
    let queries: Vec<String> = first.queries.iter().map(|q| q.name.clone()).collect();
    let databases: Vec<String> = first.databases.iter().map(|d| d.name.clone()).collect();
    let Choice {
        query,
        database,
        tab,
        ..
    } = choice;
    // A session other than the last one shown starts on its first pair.
    for (chosen, names) in [(query, &queries), (database, &databases)] {
        if !names.contains(&chosen.get_untracked()) {
            chosen.set(names.first().cloned().unwrap_or_default());
        }
    }
    let status = move || match session.with(|s| s.status) {
        Status::Running => "running",
        Status::Done => "done",
        Status::Cancelled => "cancelled",
        Status::Interrupted => "interrupted",
    };
    let id = first.id.clone();
    let download = format!("/api/sessions/{id}/download");
    let running = move || session.with(|s| s.status == Status::Running) && !uploaded;
    let tabs: Vec<(Tab, String, String)> = Tab::shown(&info)
        .into_iter()
        .map(|t| (t, t.key(&info), t.name(&info)))
        .collect();
    let plugin_tabs = info.tabs.clone();
    // What each database ran with, stated: the sidebar shows what the next search will use.
    let options = first
        .databases
        .iter()
        .map(|run| {
            let set = summary(&run.options);
            let set = if set.is_empty() {
                "default options".to_owned()
            } else {
                set
            };
            view! { <li data-database=run.name.clone()><b>{run.name.clone()}</b>": "{set}</li> }
        })
        .collect_view();
    // Made when first shown, then with each update.
    let overview_seen = seen(tab, Tab::Overview);
    let overview = move || {
        overview_seen
            .get()
            .then(|| overview(&session.get(), choice))
    };
    let info = Arc::new(info);
    let chosen = Memo::new(move |_| {
        let (q, d) = (query.get(), database.get());
        session.with(|session| {
            let pair = session
                .pairs
                .iter()
                .find(|p| p.query == q && p.database == d)?
                .clone();
            let seq = session
                .queries
                .iter()
                .find(|s| s.name == q)
                .map(|s| s.seq.clone());
            let run = session.databases.iter().find(|r| r.name == d);
            let described = info.databases.iter().find(|i| i.name == d).cloned();
            // The z used: the session's, else the provider's default.
            let z = run
                .and_then(|r| r.options.get("z").cloned())
                .or_else(|| {
                    let spec = described.as_ref()?.options.iter().find(|o| o.name == "z")?;
                    Some(spec.initial_value())
                })
                .and_then(|z| match z {
                    OptionValue::Number(z) => Some(z as u32),
                    _ => None,
                });
            Some((pair, seq.unwrap_or_default(), described, z))
        })
    });
    view! {
        <section class="progress" data-status=status>
            {if uploaded {
                view! { <span class="status">"opened from a session file"</span> }.into_any()
            } else {
                let id = id.clone();
                view! {
                    {move || {
                        let progress = session.with(|s| s.progress());
                        view! {
                            <span class="count">{format!("{}/{} done", progress.done(), progress.total)}</span>
                            {(progress.failed > 0).then(|| view! { <span class="failed">{format!(", {} failed", progress.failed)}</span> })}
                            {(progress.cancelled > 0).then(|| view! { <span class="cancelled">{format!(", {} cancelled", progress.cancelled)}</span> })}
                        }
                    }}
                    <span class="status">{move || format!(" — {}", status())}</span>
                    {move || running().then(|| {
                        let id = id.clone();
                        view! { <button class="cancel" on:click=move |_| api::cancel(id.clone())>"Cancel"</button> }
                    })}
                    <a class="download" href=download>"Download ZIP"</a>
                }.into_any()
            }}
        </section>
        <ul class="options" aria-label="Options of the search">{options}</ul>
        <nav class="chooser">
            <QueryPicker queries=queries query=query />
            <label>" Database " {chooser("database", databases, database)}</label>
        </nav>
        <nav class="tabs">
            {tabs.into_iter().map(|(t, key, name)| view! {
                <button class="tab" data-tab=key aria-pressed=move || (tab.get() == t).to_string()
                    on:click=move |_| tab.set(t)>{name}</button>
            }).collect_view()}
        </nav>
        {overview}
        {move || match chosen.get() {
            None => view! { <p class="hint">"No such pair."</p> }.into_any(),
            Some((pair, seq, described, z)) => {
                let state = choice.table(&id, &pair.database);
                // A figure's selection names rows of the pair it was made in.
                state.selection.update_untracked(|s| *s = None);
                view! {
                    <PairView pair=pair query_seq=seq database=described z=z tab=tab session=id.clone() uploaded=uploaded plugin_tabs=plugin_tabs.clone() state=state />
                }.into_any()
            }
        }}
    }
}

/// A drop-down list of `names` bound to `chosen`.
fn chooser(class: &'static str, names: Vec<String>, chosen: RwSignal<String>) -> impl IntoView {
    view! {
        <select class=class prop:value=move || chosen.get() on:change=move |ev| chosen.set(event_target_value(&ev))>
            {names.into_iter().map(|name| {
                let selected = chosen.get_untracked() == name;
                view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
            }).collect_view()}
        </select>
    }
}

/// Up to this many queries are offered in a drop-down list; more, in a list searched by name.
const QUERIES_LISTED: usize = 50;

/// The query chooser: a drop-down list, or for a batch a search box over the query names.
#[component]
fn QueryPicker(queries: Vec<String>, query: RwSignal<String>) -> impl IntoView {
    if queries.len() <= QUERIES_LISTED {
        return view! { <label>"Query " {chooser("query", queries, query)}</label> }.into_any();
    }
    let count = queries.len();
    let known: HashSet<String> = queries.iter().cloned().collect();
    let choose = move |ev: leptos::ev::Event| {
        let name = event_target_value(&ev);
        if known.contains(&name) {
            query.set(name);
        }
    };
    view! {
        <label>"Query "
            <input type="search" class="query-search" list="query-names" prop:value=move || query.get()
                placeholder=format!("one of {count} queries: type its name") on:change=choose />
        </label>
        <datalist id="query-names">
            {queries.into_iter().map(|q| view! { <option value=q></option> }).collect_view()}
        </datalist>
    }
    .into_any()
}

/// The table state of the session's overview, kept beside its databases' (no database is
/// named by the empty string).
const OVERVIEW: &str = "";

/// The Overview tab: every pair of `session`, filtered, sorted and exported as a table; a
/// click on a pair shows it in the Table tab.
fn overview(session: &Session, choice: Choice) -> impl IntoView + use<> {
    let table = Arc::new(Table::overview(session));
    let pairs: Vec<(String, String)> = session
        .pairs
        .iter()
        .map(|p| (p.query.clone(), p.database.clone()))
        .collect();
    let state = choice.table(&session.id, OVERVIEW);
    let filtered = state.kept(table.clone());
    let open = Callback::new(move |row: usize| {
        let (q, d) = pairs[row].clone();
        choice.query.set(q);
        choice.database.set(d);
        choice.tab.set(Tab::Table);
    });
    view! {
        <div class="tab-page" data-page="overview" hidden=hidden(choice.tab, Tab::Overview)>
            <TableView table=table state=state filtered=filtered name="kmviz-overview".to_owned() on_open=open />
        </div>
    }
}

/// One pair's tabs, sharing `state` (the database's filters and sort, the pair's selection);
/// its open sample lives as long as the pair is shown. Long because it wires that state into
/// its tabs (components of their own).
#[component]
fn PairView(
    pair: Pair,
    query_seq: String,
    database: Option<DatabaseInfo>,
    z: Option<u32>,
    tab: RwSignal<Tab>,
    /// The session's id on this server.
    session: String,
    /// The session comes from a `session.json` file (its hits carry their values).
    uploaded: bool,
    plugin_tabs: Vec<PluginTab>,
    state: TableState,
) -> impl IntoView {
    let name = format!("{}-{}", pair.query, pair.database)
        .replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "_");
    // Tabs stay in the page while hidden, so that figures and scroll positions survive a
    // switch; the Index, Plot and Map tabs are made when first shown.
    let seen = |t: Tab| seen(tab, t);
    let hidden = move |t: Tab| hidden(tab, t);
    let index_seen = seen(Tab::Index);
    let index_tab = {
        let database = database.clone();
        move || {
            let db = database.clone().filter(|_| index_seen.get())?;
            Some(view! { <IndexTab database=db z=z /> })
        }
    };
    let result = match (pair.state, pair.result) {
        (PairState::Done, Some(result)) => result,
        (state, _) => {
            let message = match state {
                PairState::Failed => {
                    view! { <p class="error" role="alert">{pair.error.unwrap_or_default()}</p> }
                        .into_any()
                }
                PairState::Cancelled => view! { <p class="hint">"Cancelled."</p> }.into_any(),
                _ => view! { <p class="hint">"Running…"</p> }.into_any(),
            };
            return view! {
                <div class="tab-page" data-page="index" hidden=hidden(Tab::Index)>{index_tab}</div>
                <div class="tab-page" data-page="help" hidden=hidden(Tab::Help)><HelpTab /></div>
                <div hidden=move || matches!(tab.get(), Tab::Overview | Tab::Index | Tab::Help)>{message}</div>
            }
            .into_any();
        }
    };
    let table = Arc::new(Table::of(&result));
    let filtered = state.kept(table.clone());
    // The samples shown in Sequence: rows of the table. Opening one from the table shows it alone.
    let samples: RwSignal<Vec<usize>> = RwSignal::new(Vec::new());
    let open = Callback::new(move |row: usize| {
        samples.set(vec![row]);
        tab.set(Tab::Sequence);
    });
    let presets = database.as_ref().and_then(|d| d.presets.clone());
    let links = database
        .as_ref()
        .map(|d| d.metadata.links.clone())
        .unwrap_or_default();
    let not_shown =
        (result.not_shown > 0).then(|| format!(" ({} more not shown)", result.not_shown));
    let result = Arc::new(result);
    let sequence = view! {
        <SequenceTab result=result.clone() samples=samples query=pair.query.clone()
            database=pair.database.clone() query_seq=query_seq session=session.clone() uploaded=uploaded />
    };
    let plugin_pages = view! {
        <PluginPages plugin_tabs=plugin_tabs tab=tab session=session.clone()
            query=pair.query.clone() database=pair.database.clone() />
    };
    let plot_seen = seen(Tab::Plot);
    let map_seen = seen(Tab::Map);
    let plot = {
        let (table, presets, name) = (table.clone(), presets.clone(), name.clone());
        move || {
            plot_seen.get().then(|| view! {
            <PlotTab table=table.clone() rows=filtered selection=state.selection presets=presets.clone() name=name.clone() />
        })
        }
    };
    let map = {
        let (table, geodata) = (table.clone(), result.geodata.clone());
        move || {
            map_seen.get().then(|| view! {
            <MapTab table=table.clone() rows=filtered selection=state.selection geodata=geodata.clone() presets=presets.clone() name=format!("{name}-map") />
        })
        }
    };
    view! {
        <div class="tab-page" data-page="index" hidden=hidden(Tab::Index)>{index_tab}</div>
        <div class="tab-page" data-page="table" hidden=hidden(Tab::Table)>
            <TableView table=table.clone() state=state filtered=filtered name=format!("kmviz-{}", pair.query) links=links on_open=open note=not_shown.unwrap_or_default() />
        </div>
        <div class="tab-page" data-page="plot" hidden=hidden(Tab::Plot)>{plot}</div>
        <div class="tab-page" data-page="map" hidden=hidden(Tab::Map)>{map}</div>
        <div class="tab-page" data-page="sequence" hidden=hidden(Tab::Sequence)>{sequence}</div>
        {plugin_pages}
        <div class="tab-page" data-page="help" hidden=hidden(Tab::Help)><HelpTab /></div>
    }
    .into_any()
}

/// A flag set once `tab` first shows `t`: the heavier tabs are made then, and kept.
fn seen(tab: RwSignal<Tab>, t: Tab) -> RwSignal<bool> {
    let seen = RwSignal::new(false);
    Effect::new(move |_| {
        if tab.get() == t {
            seen.set(true)
        }
    });
    seen
}

/// Whether `tab` shows another tab than `t`.
fn hidden(tab: RwSignal<Tab>, t: Tab) -> impl Fn() -> bool + Copy + Send + Sync + 'static {
    move || tab.get() != t
}

/// The plugins' tabs for one pair, each asked of the server when first shown.
#[component]
fn PluginPages(
    plugin_tabs: Vec<PluginTab>,
    tab: RwSignal<Tab>,
    session: String,
    query: String,
    database: String,
) -> impl IntoView {
    plugin_tabs
        .into_iter()
        .enumerate()
        .map(|(i, plugin_tab)| {
            let t = Tab::Plugin(i);
            let shown = seen(tab, t);
            let (session, query, database) = (session.clone(), query.clone(), database.clone());
            let page = format!("plugin-{}", plugin_tab.plugin);
            view! {
                <div class="tab-page plugin-tab" data-page=page hidden=hidden(tab, t)>
                    {move || shown.get().then(|| view! {
                        <PluginTabView session=session.clone() plugin=plugin_tab.plugin.clone() query=query.clone() database=database.clone() />
                    })}
                </div>
            }
        })
        .collect_view()
}

/// A plugin's tab for one result, asked of the server when first shown.
#[component]
fn PluginTabView(
    session: String,
    plugin: String,
    query: String,
    database: String,
) -> impl IntoView {
    let content = LocalResource::new(move || {
        let (session, plugin, query, database) = (
            session.clone(),
            plugin.clone(),
            query.clone(),
            database.clone(),
        );
        async move { api::tab(&session, &plugin, &query, &database).await }
    });
    move || match content.get() {
        None => view! { <p class="hint">"Loading…"</p> }.into_any(),
        // Sanitised by the server.
        Some(TabContent::Html(html)) => {
            view! { <div class="plugin-html" inner_html=html></div> }.into_any()
        }
        Some(TabContent::Text(text)) => view! { <pre class="plugin-text">{text}</pre> }.into_any(),
        Some(TabContent::Error(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
    }
}
