//! The map: points at their coordinates, coloured, sized and labelled by columns.

use serde_json::{Value as Json, json};

use super::*;

/// The map of `rows` that have both coordinates, from columns `latitude` and `longitude`.
pub fn map(
    table: &Table,
    rows: &[usize],
    latitude: &str,
    longitude: &str,
    spec: &MapSpec,
) -> Result<Json, FigureError> {
    let column = |name: &str| {
        table
            .column(name)
            .ok_or(format!("there is no column '{name}'"))
    };
    let (lat, lon) = (column(latitude)?, column(longitude)?);
    let find = |name: &Option<String>| {
        name.as_deref()
            .filter(|n| !n.is_empty())
            .map(column)
            .transpose()
    };
    let (color, size) = (find(&spec.color)?, find(&spec.size)?);
    let (symbol, label) = (find(&spec.symbol)?, find(&spec.label)?);
    let placed = with_coordinates(table, rows, lat, lon);
    let mut layout = json!({});
    let mut data = Vec::new();
    for group in groups(table, &placed, color, symbol) {
        let mut trace = json!({
            "type": "scattergeo",
            "mode": if label.is_some() { "markers+text" } else { "markers" },
            "lat": values(table, &group.rows, lat),
            "lon": values(table, &group.rows, lon),
            "name": group.name,
            "showlegend": !group.name.is_empty(),
        });
        if let Some(label) = label {
            let texts: Vec<String> = group
                .rows
                .iter()
                .map(|&r| table::show(&table.rows[r][label]))
                .collect();
            trace["text"] = json!(texts);
            trace["textposition"] = json!("top center");
        }
        points(&mut trace, table, &group, size, color, &mut layout);
        if let Some(opacity) = spec.look.opacity {
            trace["marker"]["opacity"] = json!(opacity);
        }
        data.push(trace);
    }
    if layout.get("coloraxis").is_some() {
        layout["coloraxis"]["colorscale"] = json!(spec.color_scale);
    }
    layout["geo"] = json!({
        "projection": {"type": spec.projection},
        "showland": true,
        "landcolor": "#e8e8e8",
        "showocean": true,
        "oceancolor": "#f4f8fb",
        "showcountries": true,
        "countrycolor": "#bbbbbb",
        "showcoastlines": true,
    });
    layout["title"] = json!({"text": spec.look.title});
    layout["showlegend"] = json!(spec.look.legend);
    layout["dragmode"] = json!("select");
    layout["margin"] = json!({"l": 0, "r": 0, "t": 40, "b": 0});
    apply_template(&mut layout, &spec.look.template);
    Ok(json!({"data": data, "layout": layout}))
}

/// The rows of `rows` with a number in both columns `lat` and `lon`: those a map shows.
pub fn with_coordinates(table: &Table, rows: &[usize], lat: usize, lon: usize) -> Vec<usize> {
    rows.iter()
        .copied()
        .filter(|&r| {
            [lat, lon]
                .iter()
                .all(|&c| table::number(&table.rows[r][c]).is_some())
        })
        .collect()
}
