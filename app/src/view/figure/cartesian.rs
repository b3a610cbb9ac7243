//! Plots drawn on X/Y axes (scatter, line, bar, histogram, box, violin, …): facets, marginals
//! and the OLS trendline.

use serde_json::{Value as Json, json};

use super::*;

/// An ordinary least squares fit `y = slope * x + intercept` and its R², over the points
/// with both values; `None` under two distinct x.
pub fn ols(points: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let n = points.len() as f64;
    let mean = |f: fn(&(f64, f64)) -> f64| points.iter().map(f).sum::<f64>() / n;
    let (mx, my) = (mean(|p| p.0), mean(|p| p.1));
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    if points.len() < 2 || sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let r2 = if syy == 0.0 {
        1.0
    } else {
        sxy * sxy / (sxx * syy)
    };
    Some((slope, my - slope * mx, r2))
}

/// Facet rows and columns: the categories of up to two columns, one subplot per pair.
pub(super) struct Facets {
    row: Option<(usize, Vec<String>)>,
    col: Option<(usize, Vec<String>)>,
}

impl Facets {
    pub(super) fn of(
        table: &Table,
        rows: &[usize],
        row: Option<usize>,
        col: Option<usize>,
    ) -> Result<Facets, FigureError> {
        let split = |column: Option<usize>| -> Result<Option<(usize, Vec<String>)>, FigureError> {
            let Some(column) = column else {
                return Ok(None);
            };
            let names = categories(table, rows, column);
            if names.len() > MAX_FACETS {
                return Err(format!(
                    "'{}' has {} values, more than the {MAX_FACETS} facets drawn",
                    table.columns[column].0,
                    names.len()
                )
                .into());
            }
            Ok(Some((column, names)))
        };
        Ok(Facets {
            row: split(row)?,
            col: split(col)?,
        })
    }

    pub(super) fn size(facet: &Option<(usize, Vec<String>)>) -> usize {
        facet.as_ref().map_or(1, |(_, names)| names.len().max(1))
    }

    pub(super) fn cells(&self) -> usize {
        Facets::size(&self.row) * Facets::size(&self.col)
    }

    /// The subplot (0-based, row-major) of row `r`.
    pub(super) fn cell(&self, table: &Table, r: usize) -> usize {
        let at = |facet: &Option<(usize, Vec<String>)>| {
            facet.as_ref().map_or(0, |(column, names)| {
                let shown = table::show(&table.rows[r][*column]);
                names.iter().position(|n| *n == shown).unwrap_or(0)
            })
        };
        at(&self.row) * Facets::size(&self.col) + at(&self.col)
    }

    /// Plotly's axis names of subplot `cell`: `x`, `x2`, …
    pub(super) fn axes(cell: usize) -> (String, String) {
        let n = if cell == 0 {
            String::new()
        } else {
            (cell + 1).to_string()
        };
        (format!("x{n}"), format!("y{n}"))
    }

    pub(super) fn lay_out(&self, table: &Table, layout: &mut Json, spec: &PlotSpec) {
        let (rows, cols) = (Facets::size(&self.row), Facets::size(&self.col));
        if rows * cols > 1 {
            layout["grid"] = json!({"rows": rows, "columns": cols, "pattern": "independent", "roworder": "top to bottom"});
        }
        let mut annotations = Vec::new();
        for cell in 0..rows * cols {
            let (xa, ya) = Facets::axes(cell);
            let axis = |name: &str| format!("{}axis{}", &name[..1], &name[1..]);
            let label = |facet: &Option<(usize, Vec<String>)>, i: usize| {
                facet
                    .as_ref()
                    .map(|(c, names)| format!("{}={}", table.columns[*c].0, names[i]))
            };
            let title: Vec<String> = [label(&self.row, cell / cols), label(&self.col, cell % cols)]
                .into_iter()
                .flatten()
                .collect();
            if !title.is_empty() {
                annotations.push(json!({
                    "text": title.join(", "), "showarrow": false, "font": {"size": 11},
                    "xref": format!("{xa} domain"), "yref": format!("{ya} domain"),
                    "x": 0.5, "y": 1.0, "yanchor": "bottom",
                }));
            }
            let named = |column: &Option<String>| column.clone().unwrap_or_default();
            // A histogram's bars count rows, or sum Y.
            let y_title = match (spec.kind, &spec.y) {
                (PlotKind::Histogram, None) => "count".to_owned(),
                (PlotKind::Histogram, Some(y)) => format!("sum of {y}"),
                _ => named(&spec.y),
            };
            layout[axis(&xa)]["title"] = json!({"text": named(&spec.x)});
            layout[axis(&ya)]["title"] = json!({"text": y_title});
            if spec.log_x {
                layout[axis(&xa)]["type"] = json!("log");
            }
            if spec.log_y {
                layout[axis(&ya)]["type"] = json!("log");
            }
        }
        if !annotations.is_empty() {
            layout["annotations"] = json!(annotations);
        }
    }
}

/// Plots drawn on X/Y axes.
pub(super) struct Cartesian<'a> {
    pub(super) table: &'a Table,
    pub(super) spec: &'a PlotSpec,
    pub(super) x: usize,
    pub(super) y: Option<usize>,
    pub(super) color: Option<usize>,
    pub(super) size: Option<usize>,
    pub(super) symbol: Option<usize>,
}

impl Cartesian<'_> {
    pub(super) fn traces(
        &self,
        rows: &[usize],
        facets: &Facets,
        layout: &mut Json,
    ) -> Result<Vec<Json>, FigureError> {
        let (table, spec) = (self.table, self.spec);
        let kind = spec.kind;
        let mut data = Vec::new();
        let webgl = rows.len() > WEBGL_FROM;
        for group in groups(table, rows, self.color, self.symbol) {
            let mut by_cell: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
            for &r in &group.rows {
                by_cell.entry(facets.cell(table, r)).or_default().push(r);
            }
            for (i, (cell, mut cell_rows)) in by_cell.into_iter().enumerate() {
                if matches!(kind, PlotKind::Line | PlotKind::Area) {
                    cell_rows.sort_by(|&a, &b| {
                        table::compare(&table.rows[a][self.x], &table.rows[b][self.x])
                    });
                }
                let (xa, ya) = Facets::axes(cell);
                let cell_group = Group {
                    rows: cell_rows,
                    name: group.name.clone(),
                    ..group
                };
                let mut trace = json!({
                    "name": group.name,
                    "legendgroup": group.name,
                    "showlegend": i == 0 && !group.name.is_empty(),
                    "x": values(table, &cell_group.rows, self.x),
                    "xaxis": xa,
                    "yaxis": ya,
                });
                if let Some(y) = self.y {
                    trace["y"] = json!(values(table, &cell_group.rows, y));
                }
                let (type_, extra) = self.trace_type(cell, webgl, group.name.is_empty());
                trace["type"] = json!(type_);
                for (k, v) in extra.as_object().into_iter().flatten() {
                    if !v.is_null() {
                        trace[k] = v.clone();
                    }
                }
                if matches!(kind, PlotKind::Box | PlotKind::Violin) && self.y.is_none() {
                    // One column given: its distribution, drawn vertically.
                    trace["y"] = trace["x"].take();
                    trace.as_object_mut().map(|t| t.remove("x"));
                }
                let color = if matches!(kind, PlotKind::DensityHeatmap | PlotKind::DensityContour) {
                    None
                } else {
                    self.color
                };
                points(&mut trace, table, &cell_group, self.size, color, layout);
                if let Some(category) = cell_group.color {
                    let colour = PALETTE[category % PALETTE.len()];
                    trace["line"] = json!({"color": colour});
                    if matches!(kind, PlotKind::DensityContour) {
                        trace["contours"]["coloring"] = json!("lines");
                    }
                }
                if let Some(opacity) = spec.look.opacity {
                    trace["opacity"] = json!(opacity);
                }
                if matches!(kind, PlotKind::DensityHeatmap | PlotKind::DensityContour) {
                    trace.as_object_mut().map(|t| t.remove("marker"));
                    layout["coloraxis"] =
                        json!({"colorscale": "Viridis", "colorbar": {"title": {"text": "count"}}});
                }
                if spec.trendline && kind == PlotKind::Scatter {
                    data.extend(self.trendline(&cell_group, &xa, &ya)?);
                }
                data.push(trace);
            }
            if let Some(m) = spec.marginal_x {
                data.push(self.marginal(&group, m, true));
            }
            if let Some(m) = spec.marginal_y {
                data.push(self.marginal(&group, m, false));
            }
        }
        self.arrange(layout);
        Ok(data)
    }

    /// Plotly's trace type for this plot kind and its settings; `cell` names an area plot's
    /// stack, `ungrouped` fills a contour that no colour tells apart.
    fn trace_type(&self, cell: usize, webgl: bool, ungrouped: bool) -> (&'static str, Json) {
        match self.spec.kind {
            PlotKind::Scatter => (
                if webgl { "scattergl" } else { "scatter" },
                json!({"mode": "markers"}),
            ),
            PlotKind::Line => ("scatter", json!({"mode": "lines"})),
            PlotKind::Area => (
                "scatter",
                json!({"mode": "lines", "stackgroup": format!("s{cell}")}),
            ),
            PlotKind::Bar => ("bar", json!({})),
            PlotKind::Histogram => (
                "histogram",
                json!({"nbinsx": self.spec.nbins, "histfunc": if self.y.is_some() { "sum" } else { "count" }}),
            ),
            PlotKind::Box => ("box", json!({"boxpoints": "outliers"})),
            PlotKind::Violin => (
                "violin",
                json!({"box": {"visible": true}, "meanline": {"visible": true}}),
            ),
            PlotKind::DensityHeatmap => (
                "histogram2d",
                json!({"nbinsx": self.spec.nbins, "nbinsy": self.spec.nbins, "coloraxis": "coloraxis"}),
            ),
            _ => (
                "histogram2dcontour",
                json!({"nbinsx": self.spec.nbins, "nbinsy": self.spec.nbins, "contours": {"coloring": if ungrouped { "fill" } else { "lines" }}}),
            ),
        }
    }

    /// The layout's bar, box and violin modes and the room for marginals.
    fn arrange(&self, layout: &mut Json) {
        match self.spec.kind {
            PlotKind::Bar | PlotKind::Histogram => layout["barmode"] = json!("relative"),
            PlotKind::Box => layout["boxmode"] = json!("group"),
            PlotKind::Violin => layout["violinmode"] = json!("group"),
            _ => {}
        }
        if self.spec.marginal_x.is_some() {
            layout["yaxis"]["domain"] = json!([0.0, 0.78]);
            layout["yaxis2"] = json!({"domain": [0.8, 1.0], "showticklabels": false});
        }
        if self.spec.marginal_y.is_some() {
            layout["xaxis"]["domain"] = json!([0.0, 0.78]);
            layout["xaxis2"] = json!({"domain": [0.8, 1.0], "showticklabels": false});
        }
    }

    pub(super) fn trendline(
        &self,
        group: &Group,
        xa: &str,
        ya: &str,
    ) -> Result<Option<Json>, FigureError> {
        let table = self.table;
        let y = self.y.ok_or("a trendline needs Y")?;
        let numeric = |c: usize| !categorical(table, c);
        if !numeric(self.x) || !numeric(y) {
            return Err("a trendline needs numeric X and Y".into());
        }
        let pairs: Vec<(f64, f64)> = group
            .rows
            .iter()
            .filter_map(|&r| {
                Some((
                    table::number(&table.rows[r][self.x])?,
                    table::number(&table.rows[r][y])?,
                ))
            })
            .collect();
        let Some((slope, intercept, r2)) = ols(&pairs) else {
            return Ok(None);
        };
        let (lo, hi) = pairs
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.0), hi.max(p.0))
            });
        let name = format!("OLS {}", group.name).trim_end().to_owned();
        Ok(Some(json!({
            "type": "scatter", "mode": "lines", "name": name, "legendgroup": group.name,
            "showlegend": false, "xaxis": xa, "yaxis": ya,
            "x": [lo, hi], "y": [slope * lo + intercept, slope * hi + intercept],
            "line": {"color": group.color.map_or("#444444", |c| PALETTE[c % PALETTE.len()])},
            "hovertext": format!("y = {slope:.4} x + {intercept:.4}, R² = {r2:.3}"),
            "hoverinfo": "text",
        })))
    }

    pub(super) fn marginal(&self, group: &Group, marginal: Marginal, along_x: bool) -> Json {
        let column = if along_x {
            self.x
        } else {
            self.y.unwrap_or(self.x)
        };
        let values = values(self.table, &group.rows, column);
        let colour = group
            .color
            .map_or(PALETTE[0], |c| PALETTE[c % PALETTE.len()]);
        let data = if along_x { "x" } else { "y" };
        let mut trace = json!({
            "type": marginal.name(), "name": group.name, "legendgroup": group.name,
            "showlegend": false, "marker": {"color": colour},
            "xaxis": if along_x { "x" } else { "x2" }, "yaxis": if along_x { "y2" } else { "y" },
        });
        trace[data] = json!(values);
        if marginal != Marginal::Histogram {
            trace["orientation"] = json!(if along_x { "h" } else { "v" });
        }
        trace
    }
}
