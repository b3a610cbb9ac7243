//! An analysis tab: the distribution of coverage (CovXK, the fraction of the query's k-mers
//! found) among the samples of each group — by default the `Biome` metadata column — as a
//! histogram table with a bar per group for its mean.
//!
//! Plugin parameters (the configuration's `plugins.<name>.params`): `group` (the column to
//! group by, default `Biome`), `bins` (histogram bins over [0, 1], default 5).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::io::Cursor;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use serde::Deserialize;

wit_bindgen::generate!({
    path: "../../plugins-wit",
    world: "tab-plugin",
});

use exports::kmviz::plugin::tab::{Content, Guest, TabInfo};

struct CoverageTab;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Params {
    #[serde(default = "default_group")]
    group: String,
    #[serde(default = "default_bins")]
    bins: usize,
}

fn default_group() -> String {
    "Biome".into()
}
fn default_bins() -> usize {
    5
}

impl Guest for CoverageTab {
    fn info() -> TabInfo {
        TabInfo {
            name: "Coverage by group".into(),
            icon: "bar-chart".into(),
            position: 0,
        }
    }

    fn render(params: String, results: Vec<u8>) -> Result<Content, String> {
        let params: Params = serde_json::from_str(&params).map_err(|e| format!("params: {e}"))?;
        if !(1..=100).contains(&params.bins) {
            return Err(format!("params.bins: {} is not in 1..=100", params.bins));
        }
        let groups = coverage_by_group(&results, &params.group)?;
        Ok(if groups.is_empty() {
            Content::Text("No sample holds the query.".into())
        } else {
            Content::Html(table(&groups, params.bins, &params.group))
        })
    }
}

/// CovXK of every hit, by the value of column `group` ("(none)" where it is missing).
fn coverage_by_group(results: &[u8], group: &str) -> Result<BTreeMap<String, Vec<f64>>, String> {
    let reader = arrow_ipc::reader::StreamReader::try_new(Cursor::new(results), None)
        .map_err(|e| format!("the results are not an Arrow stream: {e}"))?;
    let mut groups: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for batch in reader {
        let batch: RecordBatch = batch.map_err(|e| e.to_string())?;
        let coverage = batch
            .column_by_name("CovXK")
            .and_then(|c| c.as_primitive_opt::<Float64Type>())
            .ok_or("the results have no CovXK column")?;
        let labels = batch.column_by_name(group).ok_or_else(|| {
            let names: Vec<_> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            format!(
                "no column '{group}' to group by; the columns are: {}",
                names.join(", ")
            )
        })?;
        let formatter = cell_text(labels.as_ref());
        for row in 0..batch.num_rows() {
            let label = if labels.is_null(row) {
                "(none)".to_owned()
            } else {
                formatter(row)
            };
            groups.entry(label).or_default().push(coverage.value(row));
        }
    }
    Ok(groups)
}

/// A cell's text for the column types kmviz sends (text, integers, floats, booleans).
fn cell_text(column: &dyn Array) -> Box<dyn Fn(usize) -> String + '_> {
    use arrow_array::types::Int64Type;
    if let Some(text) = column.as_string_opt::<i32>() {
        Box::new(move |row| text.value(row).to_owned())
    } else if let Some(ints) = column.as_primitive_opt::<Int64Type>() {
        Box::new(move |row| ints.value(row).to_string())
    } else if let Some(floats) = column.as_primitive_opt::<Float64Type>() {
        Box::new(move |row| floats.value(row).to_string())
    } else if let Some(booleans) = column.as_boolean_opt() {
        Box::new(move |row| booleans.value(row).to_string())
    } else {
        Box::new(|_| "(other)".to_owned())
    }
}

/// One row per group: its samples, a count per coverage bin, and its mean as a bar.
fn table(groups: &BTreeMap<String, Vec<f64>>, bins: usize, group: &str) -> String {
    let mut html = String::from("<table class=\"coverage-by-group\"><thead><tr>");
    let _ = write!(html, "<th>{}</th><th>samples</th>", escape(group));
    for bin in 0..bins {
        let (low, high) = (bin as f64 / bins as f64, (bin + 1) as f64 / bins as f64);
        let close = if bin + 1 == bins { ']' } else { ')' };
        let _ = write!(html, "<th>[{low:.2}, {high:.2}{close}</th>");
    }
    html.push_str("<th>mean CovXK</th></tr></thead><tbody>");
    for (label, values) in groups {
        let mut counts = vec![0usize; bins];
        for value in values {
            // 1.0 belongs to the last bin.
            let bin = ((value.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
            counts[bin] += 1;
        }
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td>",
            escape(label),
            values.len()
        );
        for count in counts {
            let _ = write!(html, "<td>{count}</td>");
        }
        let _ = write!(
            html,
            "<td><progress value=\"{mean:.4}\" max=\"1\"></progress> {mean:.3}</td></tr>"
        );
    }
    html.push_str("</tbody></table>");
    html
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

export!(CoverageTab);
