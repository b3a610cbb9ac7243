//! The table of one (query, database) pair as the app shows it: one row per sample found, the
//! coverage columns first, then the metadata; how cells are shown and ordered; per-column
//! filters; TSV/CSV export.

use std::cmp::Ordering;

use crate::model::session::{Column, ColumnKind, Hit, PairResult, Session, Value};
use crate::model::table::{ABUNDANCE_ONLY, HIT_COLUMNS};

/// The columns of [`Table::overview`].
pub const OVERVIEW_COLUMNS: [(&str, ColumnKind); 6] = [
    ("query", ColumnKind::Text),
    ("database", ColumnKind::Text),
    ("state", ColumnKind::Text),
    ("samples", ColumnKind::Integer),
    ("best CovXK", ColumnKind::Float),
    ("best sample", ColumnKind::Text),
];

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<(String, ColumnKind)>,
    pub rows: Vec<Vec<Value>>,
}

impl Table {
    pub fn of(result: &PairResult) -> Table {
        let mut columns: Vec<(String, ColumnKind)> =
            HIT_COLUMNS.map(|(n, k)| (n.to_owned(), k)).to_vec();
        columns.extend(result.columns.iter().map(|c| (c.name.clone(), c.kind)));
        Table {
            columns,
            rows: result.hits.iter().map(cells).collect(),
        }
    }

    /// A session's overview: one row per (query, database) pair, in the session's order, with
    /// its state, how many samples were found, and the best of them by `CovXK`.
    pub fn overview(session: &Session) -> Table {
        let columns = OVERVIEW_COLUMNS
            .map(|(name, kind)| (name.to_owned(), kind))
            .to_vec();
        let rows = session
            .pairs
            .iter()
            .map(|pair| {
                let result = pair.result.as_ref();
                let best = result.and_then(|r| {
                    r.hits
                        .iter()
                        .max_by(|a, b| a.coverage.cov_xk.total_cmp(&b.coverage.cov_xk))
                });
                vec![
                    Value::Text(pair.query.clone()),
                    Value::Text(pair.database.clone()),
                    Value::Text(pair.state.as_str().to_owned()),
                    result.map_or(Value::Null, |r| Value::Integer(r.hits.len() as i64)),
                    best.map_or(Value::Null, |h| Value::Float(h.coverage.cov_xk)),
                    best.map_or(Value::Null, |h| Value::Text(h.id.clone())),
                ]
            })
            .collect();
        Table { columns, rows }
    }

    /// A metadata table as the API pages it (`ID` first).
    pub fn of_metadata(columns: Vec<Column>, rows: Vec<Vec<Value>>) -> Table {
        Table {
            columns: columns.into_iter().map(|c| (c.name, c.kind)).collect(),
            rows,
        }
    }

    /// The position of column `name` (exact, then without regard to case).
    pub fn column(&self, name: &str) -> Option<usize> {
        let names = || self.columns.iter().map(|(n, _)| n);
        names()
            .position(|n| n == name)
            .or_else(|| names().position(|n| n.eq_ignore_ascii_case(name)))
    }

    /// Whether row `row` has every value (CovYK/CovYB aside).
    pub fn complete(&self, row: usize) -> bool {
        self.rows[row]
            .iter()
            .enumerate()
            .all(|(i, v)| ABUNDANCE_ONLY.contains(&i) || *v != Value::Null)
    }

    /// Row positions `rows` ordered by `column`, descending or not (stable).
    pub fn sort(&self, rows: &mut [usize], column: usize, descending: bool) {
        rows.sort_by(|&a, &b| {
            let (x, y) = (&self.rows[a][column], &self.rows[b][column]);
            match (x, y) {
                // Missing values last, whichever the direction.
                (Value::Null, _) | (_, Value::Null) => compare(x, y),
                _ if descending => compare(x, y).reverse(),
                _ => compare(x, y),
            }
        });
    }

    /// `rows` as TSV (`'\t'`) or CSV (`','`), with a header line. CSV fields are quoted when
    /// they hold the separator, a quote or a line break; TSV fields have those replaced by
    /// spaces, as TSV cannot quote.
    pub fn delimited(&self, rows: &[usize], separator: char) -> String {
        let field = |text: String| -> String {
            let special = |c: char| c == separator || c == '"' || c == '\n' || c == '\r';
            match separator {
                ',' if text.contains(special) => format!("\"{}\"", text.replace('"', "\"\"")),
                ',' => text,
                _ => text.replace(['\t', '\n', '\r'], " "),
            }
        };
        let line = |cells: Vec<String>| {
            let mut line = cells.join(&separator.to_string());
            line.push('\n');
            line
        };
        let mut out = line(self.columns.iter().map(|(n, _)| field(n.clone())).collect());
        for &row in rows {
            out.push_str(&line(
                self.rows[row].iter().map(|v| field(export(v))).collect(),
            ));
        }
        out
    }
}

fn cells(hit: &Hit) -> Vec<Value> {
    let c = &hit.coverage;
    let mut row = vec![
        Value::Text(hit.id.clone()),
        Value::Text(hit.index.clone()),
        Value::Float(c.cov_xk),
        Value::Float(c.cov_xb),
        c.cov_yk.map_or(Value::Null, Value::Float),
        c.cov_yb.map_or(Value::Null, Value::Float),
        Value::Boolean(hit.has_metadata),
    ];
    row.extend(hit.metadata.iter().cloned());
    row
}

/// A cell as the table shows it (floats to 3 decimals).
pub fn show(value: &Value) -> String {
    match value {
        Value::Float(f) => format!("{f:.3}"),
        other => export(other),
    }
}

/// A cell in full, for export.
fn export(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Text(t) => t.clone(),
    }
}

/// A cell as a number, if it is one (booleans as 0 and 1).
pub fn number(value: &Value) -> Option<f64> {
    match value {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        Value::Boolean(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// Nulls last; numbers by value; text by text.
pub fn compare(a: &Value, b: &Value) -> Ordering {
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

/// A filter on one column, by its type: a range for numbers, a substring for text, a value for
/// booleans. Missing values never match a filter that is set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnFilter {
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Matched without regard to case.
    pub contains: String,
    pub boolean: Option<bool>,
}

impl ColumnFilter {
    pub fn is_set(&self) -> bool {
        self.min.is_some()
            || self.max.is_some()
            || !self.contains.is_empty()
            || self.boolean.is_some()
    }

    pub fn matches(&self, value: &Value) -> bool {
        if !self.is_set() {
            return true;
        }
        match value {
            Value::Null => false,
            Value::Boolean(b) => self.boolean.is_none_or(|want| want == *b),
            Value::Text(t) => t.to_lowercase().contains(&self.contains.to_lowercase()),
            number => {
                let x = self::number(number).unwrap_or(f64::NAN);
                self.min.is_none_or(|min| x >= min) && self.max.is_none_or(|max| x <= max)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::results::Coverage;

    #[test]
    fn the_overview_has_a_row_per_pair_with_its_best_sample() {
        let hit = |id: &str, cov: f64| serde_json::json!({"index": "pa", "ID": id, "has_metadata": true, "CovXK": cov, "CovXB": cov, "metadata": []});
        let session: Session = serde_json::from_value(serde_json::json!({
            "id": "s", "created": 0, "status": "done",
            "queries": [{"name": "q1", "seq": "ACGT"}, {"name": "q2", "seq": "ACGT"}],
            "databases": [{"name": "d", "options": {}}],
            "pairs": [
                {"query": "q1", "database": "d", "state": "done", "result": {
                    "query_length": 4, "indexes": [], "columns": [], "geodata": null, "not_shown": 0,
                    "hits": [hit("A", 0.2), hit("B", 0.9), hit("C", 0.5)]}},
                {"query": "q2", "database": "d", "state": "failed", "error": "down"},
            ],
        }))
        .unwrap();
        let overview = Table::overview(&session);
        assert_eq!(overview.columns[0], ("query".to_owned(), ColumnKind::Text));
        assert_eq!(
            overview.rows,
            [
                vec![
                    Value::Text("q1".into()),
                    Value::Text("d".into()),
                    Value::Text("done".into()),
                    Value::Integer(3),
                    Value::Float(0.9),
                    Value::Text("B".into()),
                ],
                vec![
                    Value::Text("q2".into()),
                    Value::Text("d".into()),
                    Value::Text("failed".into()),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ],
            ]
        );
    }

    fn table() -> Table {
        let hit = |id: &str, cov: f64, temp: Value, note: &str| Hit {
            index: "pa".into(),
            id: id.into(),
            has_metadata: true,
            coverage: Coverage {
                cov_xk: cov,
                cov_xb: cov,
                cov_yk: None,
                cov_yb: None,
            },
            kmers: Default::default(),
            metadata: vec![temp, Value::Text(note.into())],
        };
        Table::of(&PairResult {
            query_length: 30,
            indexes: vec![],
            columns: vec![
                Column {
                    name: "Temp".into(),
                    kind: ColumnKind::Float,
                },
                Column {
                    name: "note".into(),
                    kind: ColumnKind::Text,
                },
            ],
            geodata: None,
            hits: vec![
                hit("S1", 0.5, Value::Float(21.5), "plain"),
                hit("S2", 0.9, Value::Null, "tab\there, \"quoted\""),
                hit("S3", 0.7, Value::Float(-2.0), "a,b"),
            ],
            not_shown: 0,
        })
    }

    #[test]
    fn columns_start_with_the_coverage_and_are_found_by_name() {
        let t = table();
        assert_eq!(t.columns.len(), 9);
        assert_eq!(t.column("has_metadata"), Some(6));
        assert_eq!(t.column("temp"), Some(7));
        assert_eq!(t.column("CovXK"), Some(2));
        assert_eq!(t.column("nope"), None);
        assert!(t.complete(0));
        assert!(!t.complete(1));
    }

    #[test]
    fn sorting_puts_missing_values_last_either_way() {
        let t = table();
        let mut rows = vec![0, 1, 2];
        t.sort(&mut rows, 7, false);
        assert_eq!(rows, [2, 0, 1]);
        t.sort(&mut rows, 7, true);
        assert_eq!(rows, [0, 2, 1]);
        t.sort(&mut rows, 2, true);
        assert_eq!(rows, [1, 2, 0]);
    }

    #[test]
    fn exports_quote_csv_and_flatten_tsv() {
        let t = table();
        let csv = t.delimited(&[1, 2], ',');
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("ID,index,CovXK,CovXB,CovYK,CovYB,has_metadata,Temp,note")
        );
        assert_eq!(
            lines.next(),
            Some("S2,pa,0.9,0.9,,,true,,\"tab\there, \"\"quoted\"\"\"")
        );
        assert_eq!(lines.next(), Some("S3,pa,0.7,0.7,,,true,-2,\"a,b\""));
        let tsv = t.delimited(&[1], '\t');
        assert_eq!(
            tsv.lines().nth(1),
            Some("S2\tpa\t0.9\t0.9\t\t\ttrue\t\ttab here, \"quoted\"")
        );
    }

    #[test]
    fn column_filters_follow_the_type_and_drop_missing_values() {
        let range = ColumnFilter {
            min: Some(0.0),
            max: Some(25.0),
            ..Default::default()
        };
        assert!(range.matches(&Value::Float(21.5)));
        assert!(!range.matches(&Value::Float(-2.0)));
        assert!(!range.matches(&Value::Null));
        assert!(range.matches(&Value::Integer(25)));
        let text = ColumnFilter {
            contains: "PL".into(),
            ..Default::default()
        };
        assert!(text.matches(&Value::Text("plain".into())));
        assert!(!text.matches(&Value::Text("a,b".into())));
        let yes = ColumnFilter {
            boolean: Some(true),
            ..Default::default()
        };
        assert!(yes.matches(&Value::Boolean(true)));
        assert!(!yes.matches(&Value::Boolean(false)));
        assert!(ColumnFilter::default().matches(&Value::Null));
    }
}
