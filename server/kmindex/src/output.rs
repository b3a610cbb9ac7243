//! kmindex's output formats, byte for byte: `json`, `json_vec` (with per-k-mer vectors) and
//! `tsv` (kmindex's `matrix`).

use std::str::FromStr;

use super::json::Json;
use super::number;
use super::result::QueryResult;
use super::sub_index::SubIndex;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Per sample: the ratio (presence/absence) or mean abundance class.
    Json,
    /// Per sample: `R` ratio, `P` per-k-mer vector, and `C` mean class for abundance indexes.
    JsonVec,
    /// A matrix: one column per sample, one row per query.
    Tsv,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "json_vec" => Ok(Format::JsonVec),
            "tsv" | "matrix" => Ok(Format::Tsv),
            other => Err(format!(
                "unknown format '{other}': use json, json_vec or tsv"
            )),
        }
    }
}

impl Format {
    /// Whether answers need per-k-mer vectors.
    pub fn needs_positions(self) -> bool {
        self == Format::JsonVec
    }
}

/// What `kmindex query` writes into `<output>/<sub-index>.<ext>` when each record is its own
/// query (one thread, one batch): `names[i]` is the query name of `results[i]`.
pub fn records(
    index: &SubIndex,
    names: &[&str],
    results: &[QueryResult],
    format: Format,
    threshold: f64,
) -> String {
    match format {
        Format::Json | Format::JsonVec => {
            let mut doc = Json::object();
            for (name, result) in names.iter().zip(results) {
                // Same-named records overwrite each other, as in kmindex's JSON map.
                *doc.entry(index.name()).entry(name) =
                    samples_object(index, result, format, threshold);
            }
            doc.pretty()
        }
        Format::Tsv => {
            let mut out = tsv_header(index);
            for (name, result) in names.iter().zip(results) {
                out.push_str(&format!(
                    "{}:{name}\t{}\n",
                    index.name(),
                    tsv_values(index, result)
                ));
            }
            out
        }
    }
}

/// kmindex-server's answer for one sub-index when all `results` make one query: the object
/// under `{index: {id: …}}`.
pub fn merged_samples(
    index: &SubIndex,
    results: &[QueryResult],
    format: Format,
    threshold: f64,
) -> Json {
    if let [single] = results {
        return samples_object(index, single, format, threshold);
    }
    let with_vectors = format == Format::JsonVec;
    let vectors =
        |sample: usize| Json::Array(results.iter().map(|r| positions_json(r, sample)).collect());
    let mut object = Json::object();
    let merged = Merged::of(results, index.samples().len());
    for (sample, name) in index.samples().iter().enumerate() {
        if index.bw() == 1 {
            let ratio = merged.ratio(sample);
            if ratio >= threshold {
                *object.entry(name) = if with_vectors {
                    json_members([("P", vectors(sample)), ("R", Json::Float(ratio))])
                } else {
                    Json::Float(ratio)
                };
            }
        } else {
            let ratio = merged.mean_ratio(sample);
            if ratio >= threshold {
                let class = Json::UInt(merged.mean_count(sample));
                *object.entry(name) = if with_vectors {
                    json_members([
                        ("C", class),
                        ("P", vectors(sample)),
                        ("R", Json::Float(ratio)),
                    ])
                } else {
                    class
                };
            }
        }
    }
    object
}

/// kmindex-server's TSV answer for one sub-index when all `results` make one query named `id`.
pub fn merged_tsv(index: &SubIndex, id: &str, results: &[QueryResult]) -> String {
    let merged = Merged::of(results, index.samples().len());
    let samples = 0..index.samples().len();
    let mut out = tsv_header(index);
    if index.bw() == 1 {
        let ratios: Vec<String> = samples.map(|s| number::fmt(merged.ratio(s))).collect();
        out.push_str(&format!("{id}\t{}\n", ratios.join("\t")));
    } else {
        let counts: Vec<String> = samples.map(|s| merged.mean_count(s).to_string()).collect();
        out.push_str(&format!("{}:{id}\t{}\n", index.name(), counts.join("\t")));
    }
    out
}

/// Sums over the results of one multi-sequence query (kmindex's `aggregate`/`aggregate_c`).
struct Merged {
    kmers: usize,
    queries: usize,
    counts: Vec<u32>,
    ratios: Vec<f64>,
}

impl Merged {
    fn of(results: &[QueryResult], nb_samples: usize) -> Merged {
        let mut merged = Merged {
            kmers: 0,
            queries: results.len(),
            counts: vec![0; nb_samples],
            ratios: vec![0.0; nb_samples],
        };
        for result in results {
            merged.kmers += result.nb_kmers;
            for sample in 0..nb_samples {
                merged.counts[sample] = merged.counts[sample].wrapping_add(result.counts[sample]);
                merged.ratios[sample] += result.ratios[sample];
            }
        }
        merged
    }

    /// Presence/absence: k-mers present over all k-mers (NaN without any query, as in kmindex).
    fn ratio(&self, sample: usize) -> f64 {
        f64::from(self.counts[sample]) / self.kmers as f64
    }

    /// Abundance: the mean of the queries' ratios.
    fn mean_ratio(&self, sample: usize) -> f64 {
        self.ratios[sample] / self.queries as f64
    }

    /// Abundance: the mean of the queries' classes, rounded down (0 without any query, where
    /// kmindex divides by zero).
    fn mean_count(&self, sample: usize) -> u64 {
        u64::from(self.counts[sample])
            .checked_div(self.queries as u64)
            .unwrap_or(0)
    }
}

/// kmindex's per-record object: the samples whose ratio reaches `threshold`.
fn samples_object(index: &SubIndex, result: &QueryResult, format: Format, threshold: f64) -> Json {
    let mut object = Json::object();
    for (sample, name) in index.samples().iter().enumerate() {
        let ratio = result.ratios[sample];
        if ratio < threshold || ratio.is_nan() {
            continue;
        }
        let count = Json::from(result.counts[sample]);
        *object.entry(name) = match (format, index.bw() == 1) {
            (Format::JsonVec, true) => json_members([
                ("P", positions_json(result, sample)),
                ("R", Json::Float(ratio)),
            ]),
            (Format::JsonVec, false) => json_members([
                ("C", count),
                ("P", positions_json(result, sample)),
                ("R", Json::Float(ratio)),
            ]),
            (_, true) => Json::Float(ratio),
            (_, false) => count,
        };
    }
    object
}

fn positions_json(result: &QueryResult, sample: usize) -> Json {
    let positions = result
        .positions
        .as_ref()
        .expect("json_vec answers are computed with positions");
    let mut values = Vec::new();
    for &[value, count] in positions.runs(sample) {
        values.extend(std::iter::repeat_n(
            Json::UInt(value.into()),
            count as usize,
        ));
    }
    Json::Array(values)
}

fn json_members<const N: usize>(members: [(&str, Json); N]) -> Json {
    Json::Object(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

fn tsv_header(index: &SubIndex) -> String {
    format!("{}\t{}\n", index.name(), index.samples().join("\t"))
}

/// A record's TSV cells: ratios for presence/absence, mean classes for abundance.
fn tsv_values(index: &SubIndex, result: &QueryResult) -> String {
    let cells: Vec<String> = if index.bw() == 1 {
        result.ratios.iter().map(|&r| number::fmt(r)).collect()
    } else {
        result.counts.iter().map(u32::to_string).collect()
    };
    cells.join("\t")
}
