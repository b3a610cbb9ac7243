//! Plots of many dimensions at once: parallel coordinates and categories, scatter matrices.

use serde_json::{Value as Json, json};

use super::*;

/// The dimensions drawn: the chosen ones, or every numeric (`text`: text) column but the
/// bookkeeping ones (`ID`, `has_metadata`).
fn dimensions(table: &Table, spec: &PlotSpec, text: bool) -> Result<Vec<usize>, FigureError> {
    if spec.dimensions.is_empty() {
        let chosen: Vec<usize> = (0..table.columns.len())
            .filter(|&c| c != ID && c != HAS_METADATA && categorical(table, c) == text)
            .collect();
        if chosen.is_empty() {
            return Err(format!(
                "no {} column to draw",
                if text { "text" } else { "numeric" }
            )
            .into());
        }
        return Ok(chosen);
    }
    spec.dimensions
        .iter()
        .map(|n| {
            table
                .column(n)
                .ok_or(format!("there is no column '{n}'").into())
        })
        .collect()
}

pub(super) fn parallel(
    table: &Table,
    rows: &[usize],
    spec: &PlotSpec,
    color: Option<usize>,
    text: bool,
) -> Result<Json, FigureError> {
    let dims: Vec<Json> = dimensions(table, spec, text)?
        .into_iter()
        .map(|c| {
            let label = table.columns[c].0.clone();
            if text {
                let shown: Vec<String> = rows
                    .iter()
                    .map(|&r| table::show(&table.rows[r][c]))
                    .collect();
                json!({"label": label, "values": shown})
            } else {
                json!({"label": label, "values": values(table, rows, c)})
            }
        })
        .collect();
    let mut line = json!({});
    if let Some(c) = color {
        if categorical(table, c) {
            let names = categories(table, rows, c);
            let at: Vec<usize> = rows
                .iter()
                .map(|&r| {
                    names
                        .iter()
                        .position(|n| *n == table::show(&table.rows[r][c]))
                        .unwrap_or(0)
                })
                .collect();
            let scale: Vec<Json> = (0..names.len().max(2))
                .map(|i| {
                    json!([
                        i as f64 / (names.len().max(2) - 1) as f64,
                        PALETTE[i % PALETTE.len()]
                    ])
                })
                .collect();
            line = json!({"color": at, "colorscale": scale});
        } else {
            line = json!({"color": values(table, rows, c), "colorscale": "Viridis", "showscale": true,
                "colorbar": {"title": {"text": table.columns[c].0}}});
        }
    }
    let type_ = if text { "parcats" } else { "parcoords" };
    Ok(json!({"type": type_, "dimensions": dims, "line": line}))
}

pub(super) fn scatter_matrix(
    table: &Table,
    rows: &[usize],
    spec: &PlotSpec,
    color: Option<usize>,
    symbol: Option<usize>,
) -> Result<Vec<Json>, FigureError> {
    let dims = dimensions(table, spec, false)?;
    let mut layout_unused = json!({});
    Ok(groups(table, rows, color, symbol)
        .into_iter()
        .map(|group| {
            let mut trace = json!({
                "type": "splom",
                "name": group.name,
                "showlegend": !group.name.is_empty(),
                "dimensions": dims.iter().map(|&c| json!({"label": table.columns[c].0, "values": values(table, &group.rows, c)})).collect::<Vec<_>>(),
            });
            points(&mut trace, table, &group, None, color.filter(|&c| !categorical(table, c)), &mut layout_unused);
            trace
        })
        .collect())
}
