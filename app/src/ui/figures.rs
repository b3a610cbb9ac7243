//! The Plot and Map tabs: controls for a [`PlotSpec`] or [`MapSpec`], the figure (built by
//! [`crate::view::figure`], drawn by Plotly), its downloads, and box/lasso selection, which
//! narrows the table. Both draw the rows the table's filters keep.

use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use wasm_bindgen::closure::Closure;

use super::browser;
use super::table::Filtered;
use crate::api::Presets;
use crate::model::session::Geodata;
use crate::view::figure::{
    self, COLOR_SCALES, FigureError, Marginal, PROJECTIONS, PlotKind, PlotSpec, TEMPLATES,
};
use crate::view::table::Table;

type Selection = RwSignal<Option<Arc<HashSet<usize>>>>;

#[component]
pub fn PlotTab(
    table: Arc<Table>,
    #[prop(into)] rows: Signal<Filtered>,
    selection: Selection,
    presets: Option<Presets>,
    name: String,
) -> impl IntoView {
    let preset = presets.as_ref().and_then(|p| {
        let name = p.default_for("plot")?;
        p.plot(name).ok()
    });
    let spec = RwSignal::new(preset.unwrap_or_else(|| PlotSpec {
        x: Some("CovXK".into()),
        y: Some("CovXB".into()),
        ..PlotSpec::default()
    }));
    let figure = Signal::derive({
        let table = table.clone();
        move || {
            rows.with(|kept| figure::plot(&table, &kept.rows, &spec.get()).map(|f| f.to_string()))
        }
    });
    let columns: Vec<String> = table.columns.iter().map(|(n, _)| n.clone()).collect();
    let column = |label: &'static str,
                  get: fn(&PlotSpec) -> &Option<String>,
                  set: fn(&mut PlotSpec, Option<String>)| {
        column_select(spec, label, columns.clone(), get, set)
    };
    let kinds = PlotKind::ALL
        .map(|k| (k.name().to_owned(), k.name().to_owned()))
        .to_vec();
    let marginals: Vec<(String, String)> = std::iter::once((String::new(), "none".to_owned()))
        .chain(Marginal::ALL.map(|m| (m.name().to_owned(), m.name().to_owned())))
        .collect();
    let marginal_of = |m: Option<Marginal>| m.map_or(String::new(), |m| m.name().to_owned());
    let marginal_named = |name: String| Marginal::ALL.into_iter().find(|m| m.name() == name);
    let dimension_options = columns.clone();
    view! {
        <div class="figure-controls plot-controls">
            {preset_select(presets.clone(), "plot", spec, Presets::plot)}
            {kind_select(spec, kinds, table.clone())}
            {column("X", |s| &s.x, |s, v| s.x = v)}
            {column("Y", |s| &s.y, |s, v| s.y = v)}
            {column("Colour", |s| &s.color, |s, v| s.color = v)}
            {column("Size", |s| &s.size, |s, v| s.size = v)}
            {column("Symbol", |s| &s.symbol, |s, v| s.symbol = v)}
            {column("Facet row", |s| &s.facet_row, |s, v| s.facet_row = v)}
            {column("Facet column", |s| &s.facet_col, |s, v| s.facet_col = v)}
            <label class="control dimensions">"Dimensions"
                <select multiple=true on:change=move |ev| {
                    let chosen = selected_options(&ev);
                    spec.update(|s| s.dimensions = chosen)
                }>
                    {dimension_options.into_iter().map(|c| {
                        let selected = { let c = c.clone(); move || spec.with(|s| s.dimensions.contains(&c)) };
                        view! { <option value=c.clone() prop:selected=selected>{c.clone()}</option> }
                    }).collect_view()}
                </select>
            </label>
            {select(spec, "Marginal X", "marginal-x", marginals.clone(), move |s| marginal_of(s.marginal_x), move |s, v| s.marginal_x = marginal_named(v))}
            {select(spec, "Marginal Y", "marginal-y", marginals, move |s| marginal_of(s.marginal_y), move |s, v| s.marginal_y = marginal_named(v))}
            <label class="control">"Bins"
                <input type="number" min="1" max="1000" prop:value=move || spec.with(|s| s.nbins.map(|n| n.to_string()).unwrap_or_default())
                    on:change=move |ev| { let n = event_target_value(&ev).parse().ok(); spec.update(|s| s.nbins = n) } />
            </label>
            {toggle(spec, "trendline (OLS)", "trendline", |s| s.trendline, |s, v| s.trendline = v)}
            {toggle(spec, "log X", "log-x", |s| s.log_x, |s, v| s.log_x = v)}
            {toggle(spec, "log Y", "log-y", |s| s.log_y, |s, v| s.log_y = v)}
            {look_controls(spec, |s| &s.look, |s| &mut s.look)}
        </div>
        {narrowed(rows, table.rows.len())}
        <FigureView figure=figure selection=selection name=name />
    }
}

/// Says when the table's filters keep fewer than all `total` rows: the figures draw those.
fn narrowed(rows: Signal<Filtered>, total: usize) -> impl IntoView {
    move || {
        let kept = rows.with(|kept| kept.rows.len());
        (kept < total).then(|| {
            view! { <p class="hint narrowed">{format!("{kept} of {total} samples (the table's filters)")}</p> }
        })
    }
}

#[component]
pub fn MapTab(
    table: Arc<Table>,
    #[prop(into)] rows: Signal<Filtered>,
    selection: Selection,
    geodata: Option<Geodata>,
    presets: Option<Presets>,
    name: String,
) -> impl IntoView {
    let Some(geodata) = geodata else {
        return view! { <p class="hint">"This database's metadata has no latitude and longitude."</p> }
            .into_any();
    };
    let preset = presets
        .as_ref()
        .and_then(|p| p.map(p.default_for("map")?).ok());
    let spec = RwSignal::new(preset.unwrap_or_default());
    let placed = {
        let table = table.clone();
        let geodata = geodata.clone();
        move || {
            let (lat, lon) = (
                table.column(&geodata.latitude)?,
                table.column(&geodata.longitude)?,
            );
            let missing = rows.with(|kept| {
                kept.rows.len() - figure::with_coordinates(&table, &kept.rows, lat, lon).len()
            });
            (missing > 0)
                .then(|| format!("{missing} samples without coordinates are not on the map."))
        }
    };
    let figure = Signal::derive({
        let table = table.clone();
        move || {
            rows.with(|kept| {
                figure::map(
                    &table,
                    &kept.rows,
                    &geodata.latitude,
                    &geodata.longitude,
                    &spec.get(),
                )
                .map(|f| f.to_string())
            })
        }
    });
    let columns: Vec<String> = table.columns.iter().map(|(n, _)| n.clone()).collect();
    let projections = PROJECTIONS.map(|p| (p.to_owned(), p.to_owned())).to_vec();
    let scales = COLOR_SCALES.map(|p| (p.to_owned(), p.to_owned())).to_vec();
    view! {
        <div class="figure-controls map-controls">
            {preset_select(presets.clone(), "map", spec, Presets::map)}
            {column_select(spec, "Colour", columns.clone(), |s| &s.color, |s, v| s.color = v)}
            {select(spec, "Colour scale", "color-scale", scales, |s| s.color_scale.clone(), |s, v| s.color_scale = v)}
            {column_select(spec, "Size", columns.clone(), |s| &s.size, |s, v| s.size = v)}
            {column_select(spec, "Symbol", columns.clone(), |s| &s.symbol, |s, v| s.symbol = v)}
            {column_select(spec, "Label", columns, |s| &s.label, |s, v| s.label = v)}
            {select(spec, "Projection", "projection", projections, |s| s.projection.clone(), |s, v| s.projection = v)}
            <label class="control opacity">"Opacity"
                <input type="range" min="0.1" max="1" step="0.1"
                    prop:value=move || spec.with(|s| s.look.opacity.unwrap_or(1.0).to_string())
                    on:input=move |ev| {
                        let v = event_target_value(&ev).parse().ok();
                        spec.update(|s| s.look.opacity = v)
                    } />
            </label>
            {look_controls(spec, |s| &s.look, |s| &mut s.look)}
        </div>
        {narrowed(rows, table.rows.len())}
        <p class="hint">{placed}</p>
        <FigureView figure=figure selection=selection name=name />
    }
    .into_any()
}

/// A Plotly figure, redrawn when it changes, with its downloads; its box/lasso selection sets
/// `selection`.
#[component]
pub(super) fn FigureView(
    #[prop(into)] figure: Signal<Result<String, FigureError>>,
    /// Set by a box or lasso selection, when the figure's points are table rows.
    #[prop(optional)]
    selection: Option<Selection>,
    name: String,
) -> impl IntoView {
    let div = NodeRef::<leptos::html::Div>::new();
    let error: RwSignal<Option<String>> = RwSignal::new(None);
    let on_select = Rc::new(Closure::<dyn FnMut(Option<Vec<u32>>)>::new(
        move |rows: Option<Vec<u32>>| {
            if let Some(selection) = selection {
                selection
                    .set(rows.map(|rows| Arc::new(rows.into_iter().map(|r| r as usize).collect())))
            }
        },
    ));
    Effect::new(move |_| {
        let figure = figure.get();
        let Some(element) = div.get() else { return };
        match figure {
            Ok(json) => {
                error.set(None);
                let on_select = on_select.clone();
                leptos::task::spawn_local(async move {
                    if let Err(e) = browser::draw(&element, &json, &on_select).await {
                        error.set(Some(browser::message(e)));
                    }
                });
            }
            Err(e) => {
                browser::purge(&element);
                error.set(Some(e.to_string()));
            }
        }
    });
    let json_name = format!("{name}.json");
    let image = move |format: &'static str| {
        let name = name.clone();
        move |_| {
            let Some(element) = div.get_untracked() else {
                return;
            };
            let name = name.clone();
            leptos::task::spawn_local(async move {
                if let Err(e) = browser::download_image(&element, format, &name).await {
                    error.set(Some(browser::message(e)));
                }
            });
        }
    };
    view! {
        <div class="downloads">
            "Download "
            <button data-format="png" on:click=image("png")>"PNG"</button>
            <button data-format="svg" on:click=image("svg")>"SVG"</button>
            <button data-format="jpeg" on:click=image("jpeg")>"JPEG"</button>
            <button data-format="json" on:click=move |_| {
                if let Ok(json) = figure.get_untracked() {
                    browser::save(&json_name, &json, "application/json")
                }
            }>"JSON"</button>
        </div>
        {move || error.get().map(|e| view! { <p class="error figure-error" role="alert">{e}</p> })}
        <div class="figure" node_ref=div></div>
    }
}

/// The values chosen in a `<select multiple>`.
fn selected_options(ev: &leptos::ev::Event) -> Vec<String> {
    let select = event_target::<web_sys::HtmlSelectElement>(ev);
    let options = select.selected_options();
    (0..options.length())
        .filter_map(|i| options.item(i))
        .filter_map(|o| o.get_attribute("value"))
        .collect()
}

/// A select bound to one field of `spec`; `options` are (value, label).
fn select<T: Send + Sync + 'static>(
    spec: RwSignal<T>,
    label: &'static str,
    class: &'static str,
    options: Vec<(String, String)>,
    get: impl Fn(&T) -> String + Copy + Send + Sync + 'static,
    set: impl Fn(&mut T, String) + Copy + 'static,
) -> impl IntoView {
    view! {
        <label class=format!("control {class}")>{label}
            <select on:change=move |ev| { let v = event_target_value(&ev); spec.update(|s| set(s, v)) }>
                {options.into_iter().map(|(value, text)| {
                    let selected = { let value = value.clone(); move || spec.with(|s| get(s) == value) };
                    view! { <option value=value prop:selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// The plot type: switching it keeps what still makes sense (see [`PlotSpec::switched_to`]).
fn kind_select(
    spec: RwSignal<PlotSpec>,
    kinds: Vec<(String, String)>,
    table: Arc<Table>,
) -> impl IntoView {
    view! {
        <label class="control kind">"Type"
            <select on:change=move |ev| {
                let kind = PlotKind::of_name(&event_target_value(&ev)).unwrap_or_default();
                spec.update(|s| *s = s.clone().switched_to(kind, &table));
            }>
                {kinds.into_iter().map(|(value, text)| {
                    let selected = { let value = value.clone(); move || spec.with(|s| s.kind.name() == value) };
                    view! { <option value=value prop:selected=selected>{text}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// A column choice (or none) bound to one field of `spec`.
fn column_select<T: Send + Sync + 'static>(
    spec: RwSignal<T>,
    label: &'static str,
    columns: Vec<String>,
    get: fn(&T) -> &Option<String>,
    set: fn(&mut T, Option<String>),
) -> impl IntoView {
    let class = label.to_lowercase().replace(' ', "-");
    let options = std::iter::once((String::new(), "—".to_owned()))
        .chain(columns.into_iter().map(|c| (c.clone(), c)))
        .collect();
    view! {
        <span class=format!("column-{class}")>
            {select(spec, label, "column", options,
                move |s| get(s).clone().unwrap_or_default(),
                move |s, v| set(s, Some(v).filter(|v| !v.is_empty())))}
        </span>
    }
}

fn toggle<T: Send + Sync + 'static>(
    spec: RwSignal<T>,
    label: &'static str,
    class: &'static str,
    get: fn(&T) -> bool,
    set: fn(&mut T, bool),
) -> impl IntoView {
    view! {
        <label class=format!("control toggle {class}")>
            <input type="checkbox" prop:checked=move || spec.with(get)
                on:change=move |ev| { let v = event_target_checked(&ev); spec.update(|s| set(s, v)) } />
            {label}
        </label>
    }
}

/// Template, title and legend.
fn look_controls<T: Send + Sync + 'static>(
    spec: RwSignal<T>,
    look: fn(&T) -> &figure::Look,
    look_mut: fn(&mut T) -> &mut figure::Look,
) -> impl IntoView {
    let templates = TEMPLATES.map(|t| (t.to_owned(), t.to_owned())).to_vec();
    view! {
        {select(spec, "Template", "template", templates, move |s| look(s).template.clone(), move |s, v| look_mut(s).template = v)}
        <label class="control title">"Title"
            <input type="text" prop:value=move || spec.with(|s| look(s).title.clone())
                on:change=move |ev| { let v = event_target_value(&ev); spec.update(|s| look_mut(s).title = v) } />
        </label>
        <label class="control toggle legend">
            <input type="checkbox" prop:checked=move || spec.with(|s| look(s).legend)
                on:change=move |ev| { let v = event_target_checked(&ev); spec.update(|s| look_mut(s).legend = v) } />
            "legend"
        </label>
    }
}

/// The database's presets of kind `what` (`plot` or `map`), when it has some.
fn preset_select<S: Clone + PartialEq + Send + Sync + 'static>(
    presets: Option<Presets>,
    what: &'static str,
    spec: RwSignal<S>,
    read: fn(&Presets, &str) -> Result<S, FigureError>,
) -> Option<impl IntoView> {
    let presets = presets?;
    let names: Vec<String> = match what {
        "plot" => presets.plot.keys().cloned().collect(),
        _ => presets.map.keys().cloned().collect(),
    };
    if names.is_empty() {
        return None;
    }
    // The preset applied and what it set: once the figure is edited, no preset is named.
    let initial = presets.default_for(what).and_then(|name| {
        let preset = read(&presets, name).ok()?;
        spec.with_untracked(|s| *s == preset)
            .then(|| (name.to_owned(), preset))
    });
    let applied: RwSignal<Option<(String, S)>> = RwSignal::new(initial);
    let shown = move || {
        applied.with(|a| match a {
            Some((name, preset)) if spec.with(|s| s == preset) => name.clone(),
            _ => String::new(),
        })
    };
    let apply = move |ev: leptos::ev::Event| {
        let name = event_target_value(&ev);
        match read(&presets, &name) {
            Ok(preset) => {
                spec.set(preset.clone());
                applied.set(Some((name, preset)));
            }
            Err(_) => applied.set(None),
        }
    };
    Some(view! {
        <label class="control preset">"Preset"
            <select prop:value=shown on:change=apply>
                <option value="">"—"</option>
                {names.into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
            </select>
        </label>
    })
}
