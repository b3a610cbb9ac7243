//! The Sequence tab's coverage along a query, for one or more samples: a Plotly step chart with
//! a position axis, hover values and a range slider, and the query's letters in lines of fixed
//! width, shaded by one sample's coverage.
//!
//! Coverage is piecewise constant, so long queries are drawn by runs of equal values: a 100 kb
//! query with a few thousand changes is a few thousand points and elements, not 100,000.

use serde_json::{Value as Json, json};

/// Letters per line of the sequence.
pub const LINE_WIDTH: usize = 60;

/// Up to this many positions a track has a point per position (hover says each value); beyond,
/// a point per run of equal values.
pub const EVERY_POSITION_UP_TO: usize = 20_000;

/// One sample's values along the query: per base, or per k-mer (by start position).
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub name: String,
    pub values: Vec<f64>,
}

/// Runs of equal values: `(start, end, value)`, 0-based, end excluded.
pub fn runs(values: &[f64]) -> Vec<(usize, usize, f64)> {
    let mut runs: Vec<(usize, usize, f64)> = Vec::new();
    for (i, &v) in values.iter().enumerate() {
        match runs.last_mut() {
            Some((_, end, value)) if *value == v => *end = i + 1,
            _ => runs.push((i, i + 1, v)),
        }
    }
    runs
}

/// The chart of `tracks` (positions from 1): a step line per sample, `x unified` hover, a range
/// slider to zoom along the query. `per_kmer`: the values stand for k-mers by start position.
pub fn coverage_chart(tracks: &[Track], per_kmer: bool, measure: &str) -> Json {
    let data: Vec<Json> = tracks
        .iter()
        .map(|track| {
            let (x, y): (Vec<usize>, Vec<f64>) = if track.values.len() <= EVERY_POSITION_UP_TO {
                track
                    .values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i + 1, *v))
                    .unzip()
            } else {
                // Each run's first position, and the last one to close the last step.
                let runs = runs(&track.values);
                let last = runs.last().map(|&(_, end, v)| (end, v));
                runs.iter()
                    .map(|&(start, _, v)| (start + 1, v))
                    .chain(last)
                    .unzip()
            };
            json!({
                "type": "scatter",
                "mode": "lines",
                "name": track.name,
                "x": x,
                "y": y,
                "line": {"shape": "hv", "width": 1.5},
                "hovertemplate": "%{y}<extra>%{fullData.name}</extra>",
            })
        })
        .collect();
    let axis = if per_kmer {
        "k-mer start in the query"
    } else {
        "position in the query"
    };
    json!({
        "data": data,
        "layout": {
            "height": 340,
            "margin": {"l": 60, "r": 20, "t": 20, "b": 40},
            "hovermode": "x unified",
            "showlegend": tracks.len() > 1,
            "legend": {"orientation": "h", "y": 1.15},
            "xaxis": {
                "title": {"text": axis},
                "rangeslider": {"visible": true, "thickness": 0.12},
            },
            "yaxis": {"title": {"text": measure}, "fixedrange": true, "rangemode": "tozero"},
        },
    })
}

/// One line of the shaded sequence: its first position (from 1) and its stretches of letters
/// of equal shade (0 to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub start: usize,
    pub stretches: Vec<(String, f64)>,
}

/// `sequence` in lines of [`LINE_WIDTH`] letters, shaded by `values` per base scaled to their
/// top (missing values count as 0).
pub fn shaded_lines(sequence: &str, values: &[f64]) -> Vec<Line> {
    let top = values.iter().copied().fold(0.0_f64, f64::max).max(1.0);
    let letters: Vec<char> = sequence.chars().collect();
    let shade = |i: usize| values.get(i).copied().unwrap_or(0.0) / top;
    letters
        .chunks(LINE_WIDTH)
        .enumerate()
        .map(|(n, line)| {
            let offset = n * LINE_WIDTH;
            let shades: Vec<f64> = (0..line.len()).map(|i| shade(offset + i)).collect();
            let stretches = runs(&shades)
                .into_iter()
                .map(|(start, end, v)| (line[start..end].iter().collect(), v))
                .collect();
            Line {
                start: offset + 1,
                stretches,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_join_equal_neighbours() {
        assert_eq!(
            runs(&[0.0, 0.0, 1.0, 1.0, 1.0, 0.5]),
            [(0, 2, 0.0), (2, 5, 1.0), (5, 6, 0.5)]
        );
        assert!(runs(&[]).is_empty());
    }

    #[test]
    fn a_short_query_has_a_point_per_position_a_long_one_per_run() {
        let short = Track {
            name: "A".into(),
            values: vec![0.0, 1.0, 1.0],
        };
        let chart = coverage_chart(std::slice::from_ref(&short), false, "covered");
        assert_eq!(chart["data"][0]["x"], json!([1, 2, 3]));
        assert_eq!(chart["data"][0]["y"], json!([0.0, 1.0, 1.0]));
        assert_eq!(
            chart["layout"]["xaxis"]["title"]["text"],
            "position in the query"
        );
        assert_eq!(chart["layout"]["xaxis"]["rangeslider"]["visible"], true);
        assert_eq!(chart["layout"]["showlegend"], false);

        // 100 kb: covered in its middle third only.
        let n = 100_000;
        let values: Vec<f64> = (0..n)
            .map(|i| f64::from(u8::from((n / 3..2 * n / 3).contains(&i))))
            .collect();
        let long = Track {
            name: "B".into(),
            values,
        };
        let chart = coverage_chart(&[short, long], true, "found");
        let trace = &chart["data"][1];
        assert_eq!(trace["x"], json!([1, n / 3 + 1, 2 * n / 3 + 1, n]));
        assert_eq!(trace["y"], json!([0.0, 1.0, 0.0, 0.0]));
        assert_eq!(trace["line"]["shape"], "hv");
        assert_eq!(chart["layout"]["showlegend"], true);
        assert_eq!(
            chart["layout"]["xaxis"]["title"]["text"],
            "k-mer start in the query"
        );
    }

    #[test]
    fn lines_have_fixed_width_coordinates_and_shaded_stretches() {
        let sequence = "ACGT".repeat(40); // 160 letters: lines of 60, 60, 40
        let mut values = vec![0.0; 160];
        values[58..62].fill(2.0);
        let lines = shaded_lines(&sequence, &values);
        assert_eq!(
            lines.iter().map(|l| l.start).collect::<Vec<_>>(),
            [1, 61, 121]
        );
        let text = |l: &Line| {
            l.stretches
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<String>()
        };
        assert_eq!(lines.iter().map(text).collect::<String>(), sequence);
        assert_eq!(
            lines[0].stretches,
            [
                (sequence[..58].to_owned(), 0.0),
                (sequence[58..60].to_owned(), 1.0)
            ]
        );
        assert_eq!(lines[1].stretches[0], (sequence[60..62].to_owned(), 1.0));
        assert_eq!(lines[2].stretches.len(), 1);
    }
}
