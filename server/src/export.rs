//! A session in files: one TSV per (query, database), the ZIP download (TSVs, `session.json`,
//! a README), and an Arrow IPC stream of every hit.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use app::model::options::summary;
use app::model::results::per_base;
use app::model::session::{ColumnKind, Hit, PairResult, PairState, Session, Value};
use app::model::table::HIT_COLUMNS;
use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder, UInt32Builder,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

/// The TSV of one pair: the columns every result starts with ([`HIT_COLUMNS`]), then the
/// metadata.
pub fn tsv(result: &PairResult) -> String {
    use std::fmt::Write as _;
    let mut header: Vec<&str> = HIT_COLUMNS.iter().map(|(name, _)| *name).collect();
    header.extend(result.columns.iter().map(|c| c.name.as_str()));
    let mut out = header.join("\t");
    out.push('\n');
    for hit in &result.hits {
        let c = &hit.coverage;
        push_clean(&mut out, &hit.id);
        out.push('\t');
        push_clean(&mut out, &hit.index);
        out.push('\t');
        push_float(&mut out, c.cov_xk);
        out.push('\t');
        push_float(&mut out, c.cov_xb);
        // Empty for presence/absence indexes.
        for value in [c.cov_yk, c.cov_yb] {
            out.push('\t');
            if let Some(v) = value {
                push_float(&mut out, v);
            }
        }
        out.push_str(if hit.has_metadata {
            "\ttrue"
        } else {
            "\tfalse"
        });
        for value in &hit.metadata {
            out.push('\t');
            let _ = match value {
                Value::Null => Ok(()),
                Value::Boolean(b) => write!(out, "{b}"),
                Value::Integer(i) => write!(out, "{i}"),
                Value::Float(f) => {
                    push_float(&mut out, *f);
                    Ok(())
                }
                Value::Text(t) => {
                    push_clean(&mut out, t);
                    Ok(())
                }
            };
        }
        out.push('\n');
    }
    out
}

/// Appends `value` as `{}` prints it — the shortest digits that read back the same, never an
/// exponent — from zmij's digits (serde_json's, too): std's formatting was a tenth of the ZIP
/// route's time. Where two shortest forms exist, zmij may pick the other one.
fn push_float(out: &mut String, value: f64) {
    use std::fmt::Write as _;
    if !value.is_finite() || value == 0.0 {
        let _ = write!(out, "{value}");
        return;
    }
    let mut buffer = zmij::Buffer::new();
    let printed = buffer.format_finite(value);
    let (sign, printed) = match printed.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", printed),
    };
    // Bytes, not chars: this runs for every number of a table.
    let (mantissa, exponent) = match printed.bytes().position(|b| b == b'e') {
        Some(e) => (
            &printed[..e],
            printed[e + 1..]
                .parse::<i32>()
                .expect("zmij prints a decimal exponent"),
        ),
        None => (printed, 0),
    };
    let (whole, fraction) = match mantissa.bytes().position(|b| b == b'.') {
        Some(dot) => (&mantissa[..dot], &mantissa[dot + 1..]),
        None => (mantissa, ""),
    };
    // The value is 0.DIGITS × 10^point.
    let mut digits = [0u8; 40];
    let mut len = 0;
    for &d in whole.as_bytes().iter().chain(fraction.as_bytes()) {
        digits[len] = d;
        len += 1;
    }
    let mut point = whole.len() as i32 + exponent;
    let leading = digits[..len].iter().take_while(|&&d| d == b'0').count();
    let digits = &digits[leading..len];
    point -= leading as i32;
    let digits = &digits[..digits.len() - digits.iter().rev().take_while(|&&d| d == b'0').count()];
    let digits = std::str::from_utf8(digits).expect("ASCII digits");
    out.push_str(sign);
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(digits);
    } else if point as usize >= digits.len() {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        out.push_str(whole);
        out.push('.');
        out.push_str(fraction);
    }
}

/// Appends `text` with its tabs and line breaks made spaces: they would break the TSV's rows.
fn push_clean(out: &mut String, text: &str) {
    out.extend(text.chars().map(|c| match c {
        '\t' | '\n' | '\r' => ' ',
        c => c,
    }));
}

/// A file name from `text`: letters, digits, `.`, `-` and `_` kept, the rest `_`.
fn file_name_part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What a ZIP holds besides the TSVs and the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archive {
    /// `session.json` too: the session download, which kmviz opens again.
    Session,
    /// Only the tables, as kmviz 0.8's query-and-download answers: the session stays stored.
    Tables,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Zip(#[from] zip::result::ZipError),
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// Writes the ZIP of `session` to `out`, as a stream (sizes after each file's data).
pub fn zip(session: &Session, archive: Archive, out: impl Write) -> Result<(), ExportError> {
    let mut writer = zip::ZipWriter::new_stream(out);
    // The fastest level: most of a download's time went to the compressor at the default
    // (6), for files a few percent smaller.
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    let mut names = HashSet::new();
    let mut listing = String::new();
    for pair in &session.pairs {
        let stem = format!(
            "{}__{}",
            file_name_part(&pair.query),
            file_name_part(&pair.database)
        );
        let mut name = format!("{stem}.tsv");
        let mut n = 2;
        while !names.insert(name.clone()) {
            name = format!("{stem}-{n}.tsv");
            n += 1;
        }
        match (&pair.state, &pair.result) {
            (PairState::Done, Some(result)) => {
                writer.start_file(name.as_str(), options)?;
                writer.write_all(tsv(result).as_bytes())?;
                let hidden = if result.not_shown > 0 {
                    format!(" ({} more not shown)", result.not_shown)
                } else {
                    String::new()
                };
                listing.push_str(&format!(
                    "- `{name}`: query `{}` in database `{}`: {} samples{hidden}\n",
                    pair.query,
                    pair.database,
                    result.hits.len()
                ));
            }
            (state, _) => listing.push_str(&format!(
                "- query `{}` in database `{}`: no file ({state:?}{})\n",
                pair.query,
                pair.database,
                pair.error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            )),
        }
    }
    if archive == Archive::Session {
        writer.start_file("session.json", options)?;
        // One write: the compressor pays a fixed cost per write, and serde writes in tiny pieces.
        let json = serde_json::to_vec(session)?;
        writer.write_all(&json)?;
    }
    writer.start_file("README.md", options)?;
    writer.write_all(readme(session, archive, &listing).as_bytes())?;
    writer.finish()?.into_inner().flush()?;
    Ok(())
}

fn readme(session: &Session, archive: Archive, listing: &str) -> String {
    let whole = match archive {
        Archive::Session => "`session.json` holds everything, the per-k-mer values included (as \
                             `[value, count]`\nruns); kmviz reloads it.\n"
            .to_owned(),
        Archive::Tables => format!(
            "The server keeps the session: `GET /api/sessions/{}/download` answers these files\n\
             with `session.json`, which holds everything (the per-k-mer values included) and\n\
             which kmviz reloads.\n",
            session.id
        ),
    };
    format!(
        "# kmviz session {id}\n\n\
         One tab-separated file per (query, database): the samples found, best first, with\n\
         `ID`, `index` (the sub-index), `CovXK` (fraction of the query's k-mers found), `CovXB`\n\
         (fraction of its bases covered by a found k-mer), `CovYK` (mean abundance per k-mer)\n\
         and `CovYB` (mean abundance per base; both empty for presence/absence indexes),\n\
         `has_metadata` (false: the sample has no metadata row), then the sample's metadata,\n\
         in the order of kmviz's table.\n\n\
         ## Options\n\n{options}\n\
         ## Files\n\n{listing}\n\
         ## Session\n\n{whole}",
        id = session.id,
        options = session
            .databases
            .iter()
            .map(|run| format!("- `{}`: {}\n", run.name, summary(&run.options)))
            .collect::<String>()
    )
}

/// One hit with its query, database and result.
type Row<'a> = (&'a str, &'a str, &'a Hit, &'a PairResult);

/// Every hit of `session` as one Arrow IPC stream: `query`, `database`, the columns every
/// result starts with ([`HIT_COLUMNS`]), the union of the databases' metadata columns (text
/// where two databases disagree on a column's type), then the per-k-mer and per-base vectors
/// (`kmers`, `bases`).
pub fn arrow_stream(session: &Session, out: impl Write) -> Result<(), ExportError> {
    let results: Vec<(&str, &str, &PairResult)> = session
        .pairs
        .iter()
        .filter_map(|p| Some((p.query.as_str(), p.database.as_str(), p.result.as_ref()?)))
        .collect();
    let metadata = metadata_union(results.iter().map(|(_, _, r)| *r));
    let rows: Vec<Row> = results
        .iter()
        .flat_map(|(q, d, r)| r.hits.iter().map(move |h| (*q, *d, h, *r)))
        .collect();
    let text = |f: &dyn Fn(&Row) -> String| -> ArrayRef {
        let mut b = StringBuilder::new();
        rows.iter().for_each(|r| b.append_value(f(r)));
        Arc::new(b.finish())
    };
    let float = |f: &dyn Fn(&Hit) -> Option<f64>| -> ArrayRef {
        let mut b = Float64Builder::new();
        rows.iter().for_each(|r| b.append_option(f(r.2)));
        Arc::new(b.finish())
    };
    let mut has_metadata = BooleanBuilder::new();
    rows.iter()
        .for_each(|r| has_metadata.append_value(r.2.has_metadata));
    let mut fields = vec![
        Field::new("query", DataType::Utf8, false),
        Field::new("database", DataType::Utf8, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![text(&|r| r.0.to_owned()), text(&|r| r.1.to_owned())];
    // In the order of `HIT_COLUMNS`.
    let hit_columns: [ArrayRef; 7] = [
        text(&|r| r.2.id.clone()),
        text(&|r| r.2.index.clone()),
        float(&|h| Some(h.coverage.cov_xk)),
        float(&|h| Some(h.coverage.cov_xb)),
        float(&|h| h.coverage.cov_yk),
        float(&|h| h.coverage.cov_yb),
        Arc::new(has_metadata.finish()),
    ];
    for ((name, kind), column) in HIT_COLUMNS.iter().zip(hit_columns) {
        let nullable = *kind == ColumnKind::Float;
        fields.push(Field::new(*name, column.data_type().clone(), nullable));
        columns.push(column);
    }
    for (name, kind) in &metadata {
        fields.push(Field::new(name, crate::metadb::data_type(*kind), true));
        columns.push(metadata_column(&rows, name, *kind));
    }
    let (kmers, bases) = vector_columns(&rows);
    fields.push(Field::new("kmers", kmers.data_type().clone(), false));
    fields.push(Field::new("bases", bases.data_type().clone(), false));
    columns.push(kmers);
    columns.push(bases);
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
    let mut writer = arrow_ipc::writer::StreamWriter::try_new(out, &schema)?;
    writer.write(&batch)?;
    writer.finish()?;
    writer.into_inner()?.flush()?;
    Ok(())
}

/// The metadata columns of `results`, each once, in order of appearance: text where two
/// results disagree on a column's type.
fn metadata_union<'a>(results: impl Iterator<Item = &'a PairResult>) -> Vec<(String, ColumnKind)> {
    let mut union: Vec<(String, ColumnKind)> = Vec::new();
    for column in results.flat_map(|r| &r.columns) {
        match union.iter_mut().find(|(n, _)| *n == column.name) {
            Some((_, kind)) if *kind != column.kind => *kind = ColumnKind::Text,
            Some(_) => {}
            None => union.push((column.name.clone(), column.kind)),
        }
    }
    union
}

/// Metadata column `name` of every row, as `kind` (null where a row's result lacks it).
fn metadata_column(rows: &[Row], name: &str, kind: ColumnKind) -> ArrayRef {
    let cell = |hit: &Hit, result: &PairResult| -> Value {
        result
            .columns
            .iter()
            .position(|c| c.name == name)
            .map_or(Value::Null, |i| hit.metadata[i].clone())
    };
    match kind {
        ColumnKind::Integer => {
            let mut b = Int64Builder::new();
            for r in rows {
                b.append_option(match cell(r.2, r.3) {
                    Value::Integer(i) => Some(i),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        ColumnKind::Float => {
            let mut b = Float64Builder::new();
            for r in rows {
                b.append_option(match cell(r.2, r.3) {
                    Value::Float(f) => Some(f),
                    Value::Integer(i) => Some(i as f64),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        ColumnKind::Boolean => {
            let mut b = BooleanBuilder::new();
            for r in rows {
                b.append_option(match cell(r.2, r.3) {
                    Value::Boolean(v) => Some(v),
                    _ => None,
                });
            }
            Arc::new(b.finish())
        }
        ColumnKind::Text => {
            let mut b = StringBuilder::new();
            for r in rows {
                b.append_option(match cell(r.2, r.3) {
                    Value::Null => None,
                    Value::Text(t) => Some(t),
                    Value::Integer(i) => Some(i.to_string()),
                    Value::Float(f) => Some(f.to_string()),
                    Value::Boolean(v) => Some(v.to_string()),
                });
            }
            Arc::new(b.finish())
        }
    }
}

/// The `kmers` and `bases` vectors of every row.
fn vector_columns(rows: &[Row]) -> (ArrayRef, ArrayRef) {
    let mut kmers = ListBuilder::new(UInt32Builder::new());
    let mut bases = ListBuilder::new(Float64Builder::new());
    for (_, _, hit, result) in rows {
        let values = hit.kmers.values();
        let answer = result.indexes.iter().find(|i| i.name == hit.index);
        let per_base =
            answer.and_then(|i| per_base(&values, i.kmer_size, result.query_length, i.abundance));
        kmers.values().append_slice(&values);
        kmers.append(true);
        bases
            .values()
            .append_slice(per_base.as_deref().unwrap_or_default());
        bases.append(true);
    }
    (Arc::new(kmers.finish()), Arc::new(bases.finish()))
}

#[cfg(test)]
mod tests {
    use super::push_float;

    /// As std prints them: the same notation and as many digits, read back as the same value;
    /// the same text for the short decimals metadata hold.
    #[test]
    fn floats_print_as_std_prints_them() {
        let mut random = vec![0u8; 8 * 200_000];
        getrandom::fill(&mut random).unwrap();
        let bits = random
            .chunks(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()));
        // Random bit patterns cover every exponent; short decimals are what metadata holds.
        let short = (0..20_000).map(|i| (i as f64 - 10_000.0) / 1_000.0);
        let edges = [
            0.0,
            -0.0,
            1.0,
            0.1,
            1e21,
            1e22,
            1e-7,
            123_456.0,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        for value in bits.map(f64::from_bits).chain(edges) {
            let mut out = String::new();
            push_float(&mut out, value);
            let std = format!("{value}");
            assert_eq!(out.len(), std.len(), "{out} against {std}");
            let back: f64 = out.parse().unwrap();
            assert!(
                back.to_bits() == value.to_bits() || value.is_nan(),
                "{out} for {std}"
            );
        }
        for value in short {
            let mut out = String::new();
            push_float(&mut out, value);
            assert_eq!(out, format!("{value}"));
        }
    }
}
