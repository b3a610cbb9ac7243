//! Plotly figures built from a [`Table`] and the user's choices: kmviz's twelve plot types and
//! its map, with colour, size, symbol, facets, marginals, an OLS trendline, templates, titles,
//! legends and log axes. A figure is Plotly's JSON (`{"data": [...], "layout": {...}}`); every
//! point carries its row in `customdata`, so that a selection in the figure names table rows.
//!
//! kmviz 0.8's presets (`presets.toml`: `[plot.NAME]`, `[map.NAME]`, `[defaults]`) are read into
//! [`PlotSpec`] and [`MapSpec`]; the keys of theirs we do not draw (animation frames, pattern
//! shapes, line dashes, …) are left out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::table::{self, Table};
use crate::api::Presets;
use crate::model::session::{ColumnKind, Value};
use crate::model::table::{HAS_METADATA, ID};

mod cartesian;
mod dimensions;
mod map;

pub use cartesian::ols;
use cartesian::{Cartesian, Facets};
use dimensions::{parallel, scatter_matrix};
pub use map::{map, with_coordinates};

/// Why a figure cannot be drawn, said to the user ("choose a column for X").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FigureError(pub String);

impl From<String> for FigureError {
    fn from(message: String) -> FigureError {
        FigureError(message)
    }
}

impl From<&str> for FigureError {
    fn from(message: &str) -> FigureError {
        FigureError(message.to_owned())
    }
}

/// Above this many points, scatters are drawn with WebGL.
pub const WEBGL_FROM: usize = 1000;
/// Most distinct values a facet column may have.
pub const MAX_FACETS: usize = 24;

const PALETTE: [&str; 10] = [
    "#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880",
    "#FF97FF", "#FECB52",
];
const SYMBOLS: [&str; 10] = [
    "circle",
    "diamond",
    "square",
    "x",
    "cross",
    "triangle-up",
    "triangle-down",
    "star",
    "pentagon",
    "hexagon",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PlotKind {
    #[default]
    Scatter,
    Line,
    Area,
    Bar,
    #[serde(rename = "Parallel categories")]
    ParallelCategories,
    #[serde(rename = "Parallel coordinates")]
    ParallelCoordinates,
    #[serde(rename = "Scatter matrix")]
    ScatterMatrix,
    #[serde(rename = "Density heatmap")]
    DensityHeatmap,
    #[serde(rename = "Density contour")]
    DensityContour,
    Violin,
    Box,
    Histogram,
}

impl PlotKind {
    pub const ALL: [PlotKind; 12] = [
        PlotKind::Scatter,
        PlotKind::Line,
        PlotKind::Area,
        PlotKind::Bar,
        PlotKind::ParallelCategories,
        PlotKind::ParallelCoordinates,
        PlotKind::ScatterMatrix,
        PlotKind::DensityHeatmap,
        PlotKind::DensityContour,
        PlotKind::Violin,
        PlotKind::Box,
        PlotKind::Histogram,
    ];

    /// kmviz's name for it.
    pub fn name(self) -> &'static str {
        match self {
            PlotKind::Scatter => "Scatter",
            PlotKind::Line => "Line",
            PlotKind::Area => "Area",
            PlotKind::Bar => "Bar",
            PlotKind::ParallelCategories => "Parallel categories",
            PlotKind::ParallelCoordinates => "Parallel coordinates",
            PlotKind::ScatterMatrix => "Scatter matrix",
            PlotKind::DensityHeatmap => "Density heatmap",
            PlotKind::DensityContour => "Density contour",
            PlotKind::Violin => "Violin",
            PlotKind::Box => "Box",
            PlotKind::Histogram => "Histogram",
        }
    }

    pub fn of_name(name: &str) -> Option<PlotKind> {
        PlotKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether it draws columns picked as dimensions rather than X and Y.
    pub fn uses_dimensions(self) -> bool {
        matches!(
            self,
            PlotKind::ParallelCategories | PlotKind::ParallelCoordinates | PlotKind::ScatterMatrix
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Marginal {
    Histogram,
    Box,
    Violin,
}

impl Marginal {
    pub const ALL: [Marginal; 3] = [Marginal::Histogram, Marginal::Box, Marginal::Violin];

    pub fn name(self) -> &'static str {
        match self {
            Marginal::Histogram => "histogram",
            Marginal::Box => "box",
            Marginal::Violin => "violin",
        }
    }
}

/// Templates named as in Plotly's Python library (kmviz's presets name them).
pub const TEMPLATES: [&str; 7] = [
    "plotly",
    "plotly_white",
    "plotly_dark",
    "ggplot2",
    "seaborn",
    "simple_white",
    "none",
];

pub const PROJECTIONS: [&str; 12] = [
    "natural earth",
    "equirectangular",
    "mercator",
    "orthographic",
    "robinson",
    "miller",
    "kavrayskiy7",
    "winkel tripel",
    "mollweide",
    "azimuthal equal area",
    "stereographic",
    "sinusoidal",
];

/// What both plots and maps have: template, title, legend, opacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Look {
    pub template: String,
    pub title: String,
    pub legend: bool,
    pub opacity: Option<f64>,
}

impl Default for Look {
    fn default() -> Look {
        Look {
            template: "plotly_white".into(),
            title: String::new(),
            legend: true,
            opacity: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PlotSpec {
    pub kind: PlotKind,
    pub x: Option<String>,
    pub y: Option<String>,
    pub color: Option<String>,
    pub size: Option<String>,
    pub symbol: Option<String>,
    /// For parallel categories/coordinates and scatter matrices; empty: every suitable column.
    pub dimensions: Vec<String>,
    pub facet_row: Option<String>,
    pub facet_col: Option<String>,
    pub marginal_x: Option<Marginal>,
    pub marginal_y: Option<Marginal>,
    /// An ordinary least squares line per colour group (scatters with numeric X and Y).
    pub trendline: bool,
    pub nbins: Option<u32>,
    pub log_x: bool,
    pub log_y: bool,
    pub look: Look,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapSpec {
    pub color: Option<String>,
    /// The scale of a numeric colour (one of [`COLOR_SCALES`]).
    pub color_scale: String,
    pub size: Option<String>,
    pub symbol: Option<String>,
    /// A column whose values label the points.
    pub label: Option<String>,
    pub projection: String,
    pub look: Look,
}

impl Default for MapSpec {
    fn default() -> MapSpec {
        MapSpec {
            color: None,
            color_scale: COLOR_SCALES[0].into(),
            size: None,
            symbol: None,
            label: None,
            projection: PROJECTIONS[0].into(),
            look: Look::default(),
        }
    }
}

/// Plotly's colour scales offered for a numeric colour.
pub const COLOR_SCALES: [&str; 8] = [
    "Viridis", "Cividis", "Plasma", "Inferno", "Blues", "Reds", "RdBu", "Portland",
];

impl Presets {
    /// The name of the default preset for `what` (`"plot"` or `"map"`).
    pub fn default_for(&self, what: &str) -> Option<&str> {
        self.defaults.as_ref()?.get(what).map(String::as_str)
    }

    pub fn plot(&self, name: &str) -> Result<PlotSpec, FigureError> {
        let preset = self
            .plot
            .get(name)
            .ok_or(format!("no plot preset '{name}'"))?;
        let text = |key: &str| preset.get(key).and_then(Json::as_str).map(str::to_owned);
        let first = |key: &str| {
            preset
                .get(key)
                .and_then(|v| v.get(0).or(Some(v)))
                .and_then(Json::as_str)
                .map(str::to_owned)
        };
        let kind_name = text("type").unwrap_or_default();
        let kind = PlotKind::of_name(&kind_name)
            .ok_or(format!("plot preset '{name}': unknown type '{kind_name}'"))?;
        let marginal =
            |key: &str| text(key).and_then(|m| Marginal::ALL.into_iter().find(|k| k.name() == m));
        Ok(PlotSpec {
            kind,
            x: first("X"),
            y: first("Y"),
            color: text("color"),
            size: text("size"),
            symbol: text("symbol"),
            dimensions: preset
                .get("dimensions")
                .and_then(Json::as_array)
                .map(|d| {
                    d.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            facet_row: text("facet_row"),
            facet_col: text("facet_col"),
            marginal_x: marginal("marginal_x"),
            marginal_y: marginal("marginal_y"),
            trendline: text("trendline").as_deref() == Some("ols"),
            nbins: preset.get("nbins").and_then(Json::as_u64).map(|n| n as u32),
            log_x: false,
            log_y: false,
            look: look_of(preset),
        })
    }

    pub fn map(&self, name: &str) -> Result<MapSpec, FigureError> {
        let preset = self
            .map
            .get(name)
            .ok_or(format!("no map preset '{name}'"))?;
        let text = |key: &str| preset.get(key).and_then(Json::as_str).map(str::to_owned);
        // kmviz 0.8's keys are Plotly Express's: `text` labels, `color_continuous_scale`.
        let default = MapSpec::default();
        Ok(MapSpec {
            color: text("color"),
            color_scale: text("color_continuous_scale")
                .filter(|s| COLOR_SCALES.contains(&s.as_str()))
                .unwrap_or(default.color_scale),
            size: text("size"),
            symbol: text("symbol"),
            label: text("text"),
            projection: text("projection").unwrap_or(default.projection),
            look: look_of(preset),
        })
    }
}

fn look_of(preset: &Json) -> Look {
    let default = Look::default();
    Look {
        template: preset
            .get("template")
            .and_then(Json::as_str)
            .map_or(default.template, str::to_owned),
        title: preset
            .pointer("/title/title_text")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned(),
        legend: true,
        opacity: preset.get("opacity").and_then(Json::as_f64),
    }
}

/// The figure for `rows` of `table` (positions in `table.rows`).
pub fn plot(table: &Table, rows: &[usize], spec: &PlotSpec) -> Result<Json, FigureError> {
    let find = |name: &Option<String>| -> Result<Option<usize>, FigureError> {
        name.as_deref()
            .filter(|n| !n.is_empty())
            .map(|n| {
                table
                    .column(n)
                    .ok_or(format!("there is no column '{n}'").into())
            })
            .transpose()
    };
    let (x, y) = (find(&spec.x)?, find(&spec.y)?);
    let color = find(&spec.color)?;
    let size = find(&spec.size)?;
    let symbol = find(&spec.symbol)?;
    let facet_row = find(&spec.facet_row)?;
    let facet_col = find(&spec.facet_col)?;
    let mut layout = json!({});
    let data = match spec.kind {
        PlotKind::ParallelCoordinates => vec![parallel(table, rows, spec, color, false)?],
        PlotKind::ParallelCategories => vec![parallel(table, rows, spec, color, true)?],
        PlotKind::ScatterMatrix => scatter_matrix(table, rows, spec, color, symbol)?,
        kind => {
            let needs_y = !matches!(kind, PlotKind::Histogram);
            let x = x.ok_or("choose a column for X")?;
            if needs_y && y.is_none() && !matches!(kind, PlotKind::Box | PlotKind::Violin) {
                return Err(
                    format!("choose a column for Y ({} plots need both)", kind.name()).into(),
                );
            }
            let facets = Facets::of(table, rows, facet_row, facet_col)?;
            let marginals = spec.marginal_x.is_some() || spec.marginal_y.is_some();
            if marginals && kind != PlotKind::Scatter {
                return Err("marginals are drawn on scatter plots only".into());
            }
            if marginals && facets.cells() > 1 {
                return Err("marginals cannot be combined with facets".into());
            }
            let cartesian = Cartesian {
                table,
                spec,
                x,
                y,
                color,
                size,
                symbol,
            };
            let data = cartesian.traces(rows, &facets, &mut layout)?;
            facets.lay_out(table, &mut layout, spec);
            data
        }
    };
    layout["title"] = json!({"text": spec.look.title});
    layout["showlegend"] = json!(spec.look.legend);
    layout["dragmode"] = json!(if spec.kind.uses_dimensions() {
        "zoom"
    } else {
        "select"
    });
    apply_template(&mut layout, &spec.look.template);
    Ok(json!({"data": data, "layout": layout}))
}

impl PlotSpec {
    /// This spec drawn as `kind`. A box or violin summarises Y per category of X: a numeric X
    /// (one sliver per value) moves to Y when Y is free, and X becomes the colour's column when
    /// it is a category, else the table's first category column (past `ID`).
    pub fn switched_to(mut self, kind: PlotKind, table: &Table) -> PlotSpec {
        let summarised = |k: PlotKind| matches!(k, PlotKind::Box | PlotKind::Violin);
        let category = |name: &Option<String>| {
            name.as_deref()
                .and_then(|n| table.column(n))
                .filter(|&c| categorical(table, c))
        };
        let numeric_x = self.x.is_some() && category(&self.x).is_none();
        if summarised(kind) && !summarised(self.kind) && numeric_x {
            if self.y.is_none() {
                self.y = self.x.clone();
            }
            let first_category = (0..table.columns.len())
                .find(|&c| c != ID && categorical(table, c))
                .map(|c| table.columns[c].0.clone());
            self.x = category(&self.color)
                .map(|_| self.color.clone())
                .unwrap_or(first_category)
                .or(self.x);
        }
        self.kind = kind;
        self
    }
}

/// Rows drawn alike: one colour category and one symbol (empty name without either).
struct Group {
    name: String,
    rows: Vec<usize>,
    color: Option<usize>,
    symbol: Option<usize>,
}

fn categorical(table: &Table, column: usize) -> bool {
    matches!(
        table.columns[column].1,
        ColumnKind::Text | ColumnKind::Boolean
    )
}

/// The distinct shown values of `column` over `rows`, ordered.
fn categories(table: &Table, rows: &[usize], column: usize) -> Vec<String> {
    let mut values: Vec<&Value> = rows.iter().map(|&r| &table.rows[r][column]).collect();
    values.sort_by(|a, b| table::compare(a, b));
    let mut names: Vec<String> = values.into_iter().map(table::show).collect();
    names.dedup();
    names
}

/// `rows` split by the categories of `color` (when categorical) and `symbol`.
fn groups(
    table: &Table,
    rows: &[usize],
    color: Option<usize>,
    symbol: Option<usize>,
) -> Vec<Group> {
    let color = color.filter(|&c| categorical(table, c));
    let keys: Vec<usize> = [color, symbol].into_iter().flatten().collect();
    if keys.is_empty() {
        return vec![Group {
            name: String::new(),
            rows: rows.to_vec(),
            color: None,
            symbol: None,
        }];
    }
    let by: Vec<Vec<String>> = keys.iter().map(|&k| categories(table, rows, k)).collect();
    let mut groups: BTreeMap<Vec<usize>, Vec<usize>> = BTreeMap::new();
    for &r in rows {
        let key = keys
            .iter()
            .zip(&by)
            .map(|(&k, names)| {
                names
                    .iter()
                    .position(|n| *n == table::show(&table.rows[r][k]))
                    .unwrap_or(0)
            })
            .collect();
        groups.entry(key).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|(key, rows)| {
            let name = key
                .iter()
                .zip(&keys)
                .zip(&by)
                .map(|((&i, &k), names)| format!("{}={}", table.columns[k].0, names[i]))
                .collect::<Vec<_>>()
                .join(", ");
            let mut at = key.into_iter();
            Group {
                name,
                rows,
                color: color.and_then(|_| at.next()),
                symbol: symbol.and_then(|_| at.next()),
            }
        })
        .collect()
}

fn json_of(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => json!(b.to_string()),
        Value::Integer(i) => json!(i),
        Value::Float(f) if f.is_finite() => json!(f),
        Value::Float(_) => Json::Null,
        Value::Text(t) => json!(t),
    }
}

fn values(table: &Table, rows: &[usize], column: usize) -> Vec<Json> {
    rows.iter()
        .map(|&r| json_of(&table.rows[r][column]))
        .collect()
}

/// Marker settings shared by every point trace: the row in `customdata`, the ID on hover,
/// colour (a palette entry per category, or a colour scale), size (scaled to 6-30 px) and
/// symbol.
fn points(
    trace: &mut Json,
    table: &Table,
    group: &Group,
    size: Option<usize>,
    color: Option<usize>,
    layout: &mut Json,
) {
    trace["customdata"] = json!(group.rows);
    // The sample, and the values its colour and size stand for.
    let shown: Vec<usize> = [color, size].into_iter().flatten().collect();
    let hover: Vec<String> = group
        .rows
        .iter()
        .map(|&r| {
            let row = &table.rows[r];
            let mut text = table::show(&row[ID]);
            for &c in &shown {
                text.push_str(&format!(
                    "<br>{}: {}",
                    table.columns[c].0,
                    table::show(&row[c])
                ));
            }
            text
        })
        .collect();
    trace["hovertext"] = json!(hover);
    let mut marker = json!({});
    match (group.color, color) {
        (Some(category), _) => marker["color"] = json!(PALETTE[category % PALETTE.len()]),
        (None, Some(column)) => {
            marker["color"] = json!(values(table, &group.rows, column));
            marker["coloraxis"] = json!("coloraxis");
            layout["coloraxis"] = json!({
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": table.columns[column].0}},
            });
        }
        (None, None) => {}
    }
    if let Some(symbol) = group.symbol {
        marker["symbol"] = json!(SYMBOLS[symbol % SYMBOLS.len()]);
    }
    if let Some(column) = size {
        let numbers: Vec<Option<f64>> = table
            .rows
            .iter()
            .map(|r| table::number(&r[column]))
            .collect();
        let (lo, hi) = numbers
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let scaled: Vec<f64> = group
            .rows
            .iter()
            .map(|&r| match numbers[r] {
                Some(v) if hi > lo => 6.0 + 24.0 * (v - lo) / (hi - lo),
                Some(_) => 12.0,
                None => 4.0,
            })
            .collect();
        marker["size"] = json!(scaled);
    }
    trace["marker"] = marker;
}

/// Plotly's Python templates, reduced to the colours that make them recognisable.
fn apply_template(layout: &mut Json, name: &str) {
    let (paper, plot, grid, font, line) = match name {
        "plotly" => ("#ffffff", "#E5ECF6", "#ffffff", "#2a3f5f", None),
        "plotly_dark" => ("#111111", "#111111", "#283442", "#f2f5fa", None),
        "ggplot2" => ("#ffffff", "#EBEBEB", "#ffffff", "#333333", None),
        "seaborn" => ("#ffffff", "#EAEAF2", "#ffffff", "#333333", None),
        "simple_white" => ("#ffffff", "#ffffff", "#ffffff", "#333333", Some("#333333")),
        "none" => return,
        _ => ("#ffffff", "#ffffff", "#EBF0F8", "#2a3f5f", None),
    };
    layout["paper_bgcolor"] = json!(paper);
    layout["plot_bgcolor"] = json!(plot);
    layout["font"] = json!({"color": font});
    if name == "ggplot2" {
        layout["colorway"] = json!(["#F8766D", "#A3A500", "#00BF7D", "#00B0F6", "#E76BF3"]);
    }
    let axes: Vec<String> = layout
        .as_object()
        .map(|l| {
            l.keys()
                .filter(|k| k.starts_with("xaxis") || k.starts_with("yaxis"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for axis in axes.into_iter().chain(["xaxis".into(), "yaxis".into()]) {
        layout[&axis]["gridcolor"] = json!(grid);
        layout[&axis]["zerolinecolor"] = json!(grid);
        if let Some(colour) = line {
            layout[&axis]["showline"] = json!(true);
            layout[&axis]["linecolor"] = json!(colour);
            layout[&axis]["showgrid"] = json!(false);
        }
    }
    if layout.get("geo").is_some() {
        layout["geo"]["bgcolor"] = json!(paper);
        if name == "plotly_dark" {
            layout["geo"]["landcolor"] = json!("#3a3a3a");
            layout["geo"]["oceancolor"] = json!("#1b1b2b");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::results::Coverage;
    use crate::model::session::{Column, Hit, PairResult};

    /// Six samples: Temp rises with CovXK (Temp = 10 CovXK + 2), two biomes, one sample without
    /// coordinates.
    fn table() -> Table {
        let hit = |i: usize| Hit {
            index: "pa".into(),
            id: format!("S{i}"),
            has_metadata: true,
            coverage: Coverage {
                cov_xk: i as f64 / 10.0,
                cov_xb: i as f64 / 10.0,
                cov_yk: None,
                cov_yb: None,
            },
            kmers: Default::default(),
            metadata: vec![
                Value::Float(i as f64 + 2.0),
                Value::Text(
                    if i.is_multiple_of(2) {
                        "Trades"
                    } else {
                        "Polar"
                    }
                    .into(),
                ),
                if i == 5 {
                    Value::Null
                } else {
                    Value::Float(10.0 * i as f64)
                },
                Value::Float(-20.0),
            ],
        };
        let column = |name: &str, kind| Column {
            name: name.into(),
            kind,
        };
        Table::of(&PairResult {
            query_length: 30,
            indexes: vec![],
            columns: vec![
                column("Temp", ColumnKind::Float),
                column("Biome", ColumnKind::Text),
                column("lat", ColumnKind::Float),
                column("long", ColumnKind::Float),
            ],
            geodata: None,
            hits: (0..6).map(hit).collect(),
            not_shown: 0,
        })
    }

    fn spec(kind: PlotKind) -> PlotSpec {
        PlotSpec {
            kind,
            x: Some("CovXK".into()),
            y: Some("Temp".into()),
            ..PlotSpec::default()
        }
    }

    const ALL_ROWS: [usize; 6] = [0, 1, 2, 3, 4, 5];

    #[test]
    fn every_kind_draws_its_plotly_trace() {
        let t = table();
        let types: Vec<String> = PlotKind::ALL
            .into_iter()
            .map(|kind| {
                let figure = plot(&t, &ALL_ROWS, &spec(kind)).unwrap();
                figure["data"][0]["type"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(
            types,
            [
                "scatter",
                "scatter",
                "scatter",
                "bar",
                "parcats",
                "parcoords",
                "splom",
                "histogram2d",
                "histogram2dcontour",
                "violin",
                "box",
                "histogram"
            ]
        );
        let area = plot(&t, &ALL_ROWS, &spec(PlotKind::Area)).unwrap();
        assert_eq!(area["data"][0]["stackgroup"], "s0");
        // Parallel coordinates take every numeric column, categories every text one but the ID
        // and has_metadata.
        let pc = plot(&t, &ALL_ROWS, &spec(PlotKind::ParallelCoordinates)).unwrap();
        assert_eq!(pc["data"][0]["dimensions"].as_array().unwrap().len(), 7);
        let cats = plot(&t, &ALL_ROWS, &spec(PlotKind::ParallelCategories)).unwrap();
        let labels: Vec<&str> = cats["data"][0]["dimensions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["index", "Biome"]);
    }

    #[test]
    fn points_carry_their_rows_and_colour_splits_categories() {
        let t = table();
        let mut s = spec(PlotKind::Scatter);
        s.color = Some("biome".into());
        let figure = plot(&t, &[1, 2, 3, 4], &s).unwrap();
        let data = figure["data"].as_array().unwrap();
        assert_eq!(data.len(), 2);
        assert_eq!(data[0]["name"], "Biome=Polar");
        assert_eq!(data[0]["customdata"], json!([1, 3]));
        assert_eq!(
            data[0]["hovertext"],
            json!(["S1<br>Biome: Polar", "S3<br>Biome: Polar"])
        );
        assert_eq!(data[1]["customdata"], json!([2, 4]));
        assert_ne!(data[0]["marker"]["color"], data[1]["marker"]["color"]);
        // A numeric colour is a scale, not groups.
        s.color = Some("Temp".into());
        let figure = plot(&t, &ALL_ROWS, &s).unwrap();
        assert_eq!(figure["data"].as_array().unwrap().len(), 1);
        assert_eq!(
            figure["data"][0]["marker"]["color"],
            json!([2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
        );
        assert_eq!(
            figure["layout"]["coloraxis"]["colorbar"]["title"]["text"],
            "Temp"
        );
    }

    #[test]
    fn switching_to_a_box_groups_by_a_category() {
        let t = table();
        // A scatter of two numbers, coloured by biome: boxes of Y per biome.
        let mut s = spec(PlotKind::Scatter);
        s.color = Some("Biome".into());
        let boxes = s.clone().switched_to(PlotKind::Box, &t);
        assert_eq!(
            (boxes.x.as_deref(), boxes.y.as_deref()),
            (Some("Biome"), Some("Temp"))
        );
        assert_eq!(boxes.kind, PlotKind::Box);
        // A histogram of one number: its boxes per the first category column.
        let mut s = spec(PlotKind::Histogram);
        s.y = None;
        let violins = s.switched_to(PlotKind::Violin, &t);
        assert_eq!(
            (violins.x.as_deref(), violins.y.as_deref()),
            (Some("index"), Some("CovXK"))
        );
        assert!(plot(&t, &ALL_ROWS, &violins).is_ok());
        // A category on X stays; other switches change only the type.
        let mut s = spec(PlotKind::Bar);
        s.x = Some("Biome".into());
        assert_eq!(s.clone().switched_to(PlotKind::Box, &t).x, s.x);
        let line = spec(PlotKind::Scatter).switched_to(PlotKind::Line, &t);
        assert_eq!((line.x, line.kind), (Some("CovXK".into()), PlotKind::Line));
    }

    #[test]
    fn histograms_name_their_count_axis() {
        let t = table();
        let mut s = spec(PlotKind::Histogram);
        s.y = None;
        let figure = plot(&t, &ALL_ROWS, &s).unwrap();
        assert_eq!(figure["layout"]["yaxis"]["title"]["text"], "count");
        s.y = Some("Temp".into());
        let figure = plot(&t, &ALL_ROWS, &s).unwrap();
        assert_eq!(figure["layout"]["yaxis"]["title"]["text"], "sum of Temp");
        // A density's colour counts rows.
        let figure = plot(&t, &ALL_ROWS, &spec(PlotKind::DensityHeatmap)).unwrap();
        assert_eq!(
            figure["layout"]["coloraxis"]["colorbar"]["title"]["text"],
            "count"
        );
    }

    #[test]
    fn large_scatters_use_webgl() {
        let mut t = table();
        let row = t.rows[0].clone();
        t.rows = vec![row; WEBGL_FROM + 1];
        let rows: Vec<usize> = (0..t.rows.len()).collect();
        let figure = plot(&t, &rows, &spec(PlotKind::Scatter)).unwrap();
        assert_eq!(figure["data"][0]["type"], "scattergl");
    }

    #[test]
    fn facets_make_one_subplot_per_value() {
        let t = table();
        let mut s = spec(PlotKind::Scatter);
        s.facet_col = Some("Biome".into());
        s.log_y = true;
        let figure = plot(&t, &ALL_ROWS, &s).unwrap();
        assert_eq!(figure["layout"]["grid"]["columns"], 2);
        let axes: Vec<(&str, &str)> = figure["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["xaxis"].as_str().unwrap(), d["yaxis"].as_str().unwrap()))
            .collect();
        assert_eq!(axes, [("x", "y"), ("x2", "y2")]);
        assert_eq!(figure["layout"]["yaxis2"]["type"], "log");
        assert_eq!(figure["layout"]["annotations"][1]["text"], "Biome=Trades");
        s.marginal_x = Some(Marginal::Histogram);
        assert_eq!(
            plot(&t, &ALL_ROWS, &s).unwrap_err().0,
            "marginals cannot be combined with facets"
        );
    }

    #[test]
    fn trendlines_are_least_squares_fits() {
        let (slope, intercept, r2) = ols(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap();
        assert!(
            (slope - 2.0).abs() < 1e-12
                && (intercept - 1.0).abs() < 1e-12
                && (r2 - 1.0).abs() < 1e-12
        );
        let (slope, _, r2) = ols(&[(0.0, 0.0), (1.0, 1.0), (2.0, 0.0), (3.0, 1.0)]).unwrap();
        assert!((slope - 0.2).abs() < 1e-12 && (r2 - 0.2).abs() < 1e-12);
        assert_eq!(ols(&[(1.0, 1.0), (1.0, 2.0)]), None);
        let mut s = spec(PlotKind::Scatter);
        s.trendline = true;
        let figure = plot(&table(), &ALL_ROWS, &s).unwrap();
        let line = &figure["data"][0];
        assert_eq!(line["name"], "OLS");
        // Temp = 10 CovXK + 2 exactly.
        assert_eq!(line["x"], json!([0.0, 0.5]));
        assert_eq!(line["y"], json!([2.0, 7.0]));
    }

    #[test]
    fn marginals_sit_beside_the_scatter() {
        let mut s = spec(PlotKind::Scatter);
        s.marginal_x = Some(Marginal::Box);
        s.marginal_y = Some(Marginal::Histogram);
        let figure = plot(&table(), &ALL_ROWS, &s).unwrap();
        let kinds: Vec<(&str, &str, &str)> = figure["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["type"].as_str().unwrap(),
                    d["xaxis"].as_str().unwrap(),
                    d["yaxis"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("scatter", "x", "y"),
                ("box", "x", "y2"),
                ("histogram", "x2", "y")
            ]
        );
        assert_eq!(figure["layout"]["yaxis2"]["domain"], json!([0.8, 1.0]));
        s.kind = PlotKind::Bar;
        assert!(plot(&table(), &ALL_ROWS, &s).is_err());
    }

    #[test]
    fn bad_choices_are_named() {
        let t = table();
        let mut s = spec(PlotKind::Scatter);
        s.y = Some("Tmp".into());
        assert_eq!(
            plot(&t, &ALL_ROWS, &s).unwrap_err().0,
            "there is no column 'Tmp'"
        );
        s.y = None;
        assert_eq!(
            plot(&t, &ALL_ROWS, &s).unwrap_err().0,
            "choose a column for Y (Scatter plots need both)"
        );
        s.x = None;
        s.kind = PlotKind::Histogram;
        assert_eq!(
            plot(&t, &ALL_ROWS, &s).unwrap_err().0,
            "choose a column for X"
        );
        s.x = Some("Biome".into());
        s.y = Some("Temp".into());
        s.kind = PlotKind::Scatter;
        s.trendline = true;
        assert_eq!(
            plot(&t, &ALL_ROWS, &s).unwrap_err().0,
            "a trendline needs numeric X and Y"
        );
    }

    #[test]
    fn maps_place_samples_with_coordinates() {
        let t = table();
        let spec = MapSpec {
            color: Some("Biome".into()),
            size: Some("Temp".into()),
            projection: "orthographic".into(),
            look: Look {
                template: "plotly_dark".into(),
                ..Look::default()
            },
            ..MapSpec::default()
        };
        let figure = map(&t, &ALL_ROWS, "lat", "long", &spec).unwrap();
        let data = figure["data"].as_array().unwrap();
        let placed: Vec<&Json> = data.iter().map(|d| &d["customdata"]).collect();
        // S5 has no latitude.
        assert_eq!(placed, [&json!([1, 3]), &json!([0, 2, 4])]);
        assert_eq!(data[0]["type"], "scattergeo");
        assert_eq!(data[0]["lat"], json!([10.0, 30.0]));
        // Sizes span 6-30 px over the column's range (Temp 2..7).
        assert_eq!(data[1]["marker"]["size"], json!([6.0, 15.6, 25.2]));
        assert_eq!(
            figure["layout"]["geo"]["projection"]["type"],
            "orthographic"
        );
        assert_eq!(figure["layout"]["paper_bgcolor"], "#111111");
        // Hover says what colour and size stand for.
        assert_eq!(data[0]["hovertext"][0], "S1<br>Biome: Polar<br>Temp: 3.000");
        assert!(map(&t, &ALL_ROWS, "latitude", "long", &spec).is_err());
    }

    #[test]
    fn maps_label_mark_and_scale_their_points() {
        let t = table();
        let spec = MapSpec {
            color: Some("Temp".into()),
            color_scale: "Plasma".into(),
            symbol: Some("Biome".into()),
            label: Some("ID".into()),
            look: Look {
                opacity: Some(0.4),
                ..Look::default()
            },
            ..MapSpec::default()
        };
        let figure = map(&t, &ALL_ROWS, "lat", "long", &spec).unwrap();
        let data = figure["data"].as_array().unwrap();
        // A trace per biome, each with its own symbol; labels above the points.
        assert_eq!(data.len(), 2);
        assert_ne!(data[0]["marker"]["symbol"], data[1]["marker"]["symbol"]);
        assert_eq!(data[0]["mode"], "markers+text");
        assert_eq!(data[0]["text"], json!(["S1", "S3"]));
        assert_eq!(data[0]["marker"]["opacity"], 0.4);
        assert_eq!(figure["layout"]["coloraxis"]["colorscale"], "Plasma");
    }

    #[test]
    fn kmviz_presets_become_specs() {
        let presets: Presets = serde_json::from_value(json!({
            "priority": true,
            "map": {"name_1": {"color": "CovXK", "template": "ggplot2",
                "title": {"title_text": "TEST", "title_x": 0.5},
                "text": "ID", "symbol": "Biome", "color_continuous_scale": "Blues"}},
            "plot": {"name_1": {"type": "Scatter", "X": ["CovXK"], "Y": ["CovXB"],
                "marginal_x": "violin", "trendline": "ols"},
                "odd": {"type": "Pie"}},
            "defaults": {"map": "name_1", "plot": "name_1"},
        }))
        .unwrap();
        assert_eq!(presets.default_for("plot"), Some("name_1"));
        let plot = presets.plot("name_1").unwrap();
        assert_eq!(
            (plot.kind, plot.x.as_deref(), plot.y.as_deref()),
            (PlotKind::Scatter, Some("CovXK"), Some("CovXB"))
        );
        assert_eq!(
            (plot.marginal_x, plot.trendline),
            (Some(Marginal::Violin), true)
        );
        let map = presets.map("name_1").unwrap();
        assert_eq!(
            (
                map.color.as_deref(),
                map.look.template.as_str(),
                map.look.title.as_str()
            ),
            (Some("CovXK"), "ggplot2", "TEST")
        );
        assert_eq!(
            (
                map.label.as_deref(),
                map.symbol.as_deref(),
                map.color_scale.as_str()
            ),
            (Some("ID"), Some("Biome"), "Blues")
        );
        assert_eq!(
            presets.plot("odd").unwrap_err().0,
            "plot preset 'odd': unknown type 'Pie'"
        );
        assert_eq!(presets.plot("nope").unwrap_err().0, "no plot preset 'nope'");
    }
}
